"""PostgreSQL flexible server holding the personal data of users, members and customers.

VNet-integrated (delegated subnet, private DNS zone), no public network access
and therefore no firewall rules at all; Entra ID authentication with the
developers' group as administrator; TLS 1.2 or higher required for every
connection; geo-redundant backups kept within the EU region pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_azure_native import dbforpostgresql, keyvault

from infra.components.private_dns import linked_private_zone
from infra.config import DatabaseSettings
from infra.naming import Naming

ADMIN_LOGIN = "smartadmin"
PASSWORD_SECRET_NAME = "db-admin-password"


@dataclass(frozen=True)
class DatabaseArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    settings: DatabaseSettings
    min_tls_version: str
    tenant_id: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    database_subnet_id: pulumi.Input[str]
    admin_group_object_id: pulumi.Input[str]
    admin_group_name: pulumi.Input[str]
    key_vault_name: pulumi.Input[str]
    naming: Naming
    tags: dict[str, str]


class Database(pulumi.ComponentResource):
    """Server, private DNS, Entra administrator and hardened server parameters."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("smartportal:data:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        server_name = args.naming.name("psql")
        tags = {**args.tags, "data-classification": "personal"}

        zone, link = linked_private_zone(
            name,
            zone_name=f"{server_name}.private.postgres.database.azure.com",
            resource_group_name=args.resource_group_name,
            vnet_id=args.vnet_id,
            tags=tags,
            parent=self,
        )

        password: pulumi.Output[str] | None = None
        if settings.password_auth:
            generated = random.RandomPassword(
                f"{name}-admin-password",
                length=40,
                min_lower=4,
                min_upper=4,
                min_numeric=4,
                min_special=2,
                override_special="-_.",
                opts=child,
            )
            password = generated.result
            # The value goes to Key Vault through ARM; the portal only ever sees a reference.
            self.password_secret: keyvault.Secret | None = keyvault.Secret(
                f"{name}-admin-password-secret",
                secret_name=PASSWORD_SECRET_NAME,
                vault_name=args.key_vault_name,
                resource_group_name=args.resource_group_name,
                properties={"value": password, "content_type": "text/plain"},
                tags=tags,
                opts=child,
            )
        else:
            self.password_secret = None

        self.server = dbforpostgresql.Server(
            f"{name}-server",
            server_name=server_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            version=settings.version,
            sku={"name": settings.sku_name, "tier": settings.sku_tier},
            storage={"storage_size_gb": settings.storage_gb, "auto_grow": "Enabled"},
            backup={
                "backup_retention_days": settings.backup_retention_days,
                "geo_redundant_backup": "Enabled",
            },
            high_availability={"mode": "ZoneRedundant" if settings.high_availability else "Disabled"},
            network={
                "delegated_subnet_resource_id": args.database_subnet_id,
                "private_dns_zone_arm_resource_id": zone.id,
                "public_network_access": "Disabled",
            },
            auth_config={
                "active_directory_auth": "Enabled",
                "password_auth": "Enabled" if settings.password_auth else "Disabled",
                "tenant_id": args.tenant_id,
            },
            administrator_login=ADMIN_LOGIN if settings.password_auth else None,
            administrator_login_password=password,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[link]),
        )

        self.administrator = dbforpostgresql.Administrator(
            f"{name}-entra-admin",
            server_name=self.server.name,
            resource_group_name=args.resource_group_name,
            object_id=args.admin_group_object_id,
            principal_name=args.admin_group_name,
            principal_type="Group",
            tenant_id=args.tenant_id,
            opts=child,
        )

        # Server parameters are written one after the other: the service rejects
        # concurrent configuration updates.
        tls_floor = "TLSv1.3" if args.min_tls_version == "1.3" else "TLSv1.2"
        previous: pulumi.Resource = self.administrator
        self.parameters: dict[str, dbforpostgresql.Configuration] = {}
        for parameter, value in (("require_secure_transport", "on"), ("ssl_min_protocol_version", tls_floor)):
            previous = self.parameters[parameter] = dbforpostgresql.Configuration(
                f"{name}-{parameter.replace('_', '-')}",
                configuration_name=parameter,
                server_name=self.server.name,
                resource_group_name=args.resource_group_name,
                value=value,
                source="user-override",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )

        self.fqdn = self.server.fully_qualified_domain_name
        self.register_outputs({"serverId": self.server.id, "fqdn": self.fqdn})
