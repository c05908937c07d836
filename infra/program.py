"""The Smart Portal estate: wires the components together from one validated config."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import authorization, resources

from infra.components.database import PASSWORD_SECRET_NAME, Database, DatabaseArgs
from infra.components.developer_access import DeveloperAccess, DeveloperAccessArgs
from infra.components.key_vault import KeyVault, KeyVaultArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.network import Network, NetworkArgs
from infra.components.portal import Portal, PortalArgs
from infra.components.tls_endpoint import TlsEndpoint, TlsEndpointArgs
from infra.components.vpn_gateway import VpnGateway, VpnGatewayArgs
from infra.config import PROJECT, ConfigError, StackConfig, parse_config
from infra.naming import Naming


def stack_file(stack: str) -> str:
    return f"infra/stacks/Pulumi.{stack}.yaml"


def _project_config() -> dict[str, object]:
    # pulumi.Config only answers for keys you already know; to reject typos we
    # need every key of our namespace, which the runtime keeps here.
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{PROJECT}:"
    return {key[len(prefix) :]: value for key, value in merged.items() if key.startswith(prefix)}


def read_stack_config() -> StackConfig:
    stack = pulumi.get_stack()
    return parse_config(_project_config(), stack=stack, where=stack_file(stack))


def _relative_id(resource_id: str) -> str:
    """Drop the subscription: ``resourceGroups/<rg>/providers/...`` is the same in every subscription."""
    parts = resource_id.split("/")
    return "/".join(parts[3:]) if len(parts) > 3 and parts[1].lower() == "subscriptions" else resource_id


def build(cfg: StackConfig) -> dict[str, Any]:
    """Declare every resource of the estate; return the stack outputs."""
    naming = Naming(cfg.stack, cfg.region_short)
    tags = dict(cfg.tags)
    client = authorization.get_client_config_output()
    tenant_id: pulumi.Input[str] = cfg.access.tenant_id or client.tenant_id

    group = resources.ResourceGroup(
        "resource-group", resource_group_name=naming.name("rg"), location=cfg.location, tags=tags
    )
    network = Network(
        "network",
        NetworkArgs(
            resource_group_name=group.name,
            location=cfg.location,
            layout=cfg.network,
            vpn_source_prefix=cfg.vpn_source_prefix,
            database_high_availability=cfg.database.high_availability,
            naming=naming,
            tags=tags,
        ),
    )
    access = DeveloperAccess(
        "developer-access",
        DeveloperAccessArgs(
            settings=cfg.access,
            stack=cfg.stack,
            vpn_mode=cfg.vpn.mode,
            vpn_client_app_id=cfg.vpn.client_app_id,
            allowed_ip=str(cfg.allowed_ip),
            subscription_id=client.subscription_id,
            resource_group_id=group.id,
            naming=naming,
        ),
    )
    vault = KeyVault(
        "key-vault",
        KeyVaultArgs(
            resource_group_name=group.name,
            location=cfg.location,
            tenant_id=tenant_id,
            vnet_id=network.vnet.id,
            endpoints_subnet_id=network.endpoints_subnet.id,
            naming=naming,
            tags=tags,
        ),
    )
    database = Database(
        "database",
        DatabaseArgs(
            resource_group_name=group.name,
            location=cfg.location,
            settings=cfg.database,
            min_tls_version=cfg.portal.min_tls_version,
            tenant_id=tenant_id,
            vnet_id=network.vnet.id,
            database_subnet_id=network.database_subnet.id,
            admin_group_object_id=access.group_object_id,
            admin_group_name=access.group_name,
            key_vault_name=vault.vault_name,
            naming=naming,
            tags=tags,
        ),
    )

    app_settings: dict[str, pulumi.Input[str]] = {
        "DATABASE_HOST": database.fqdn,
        "DATABASE_SSLMODE": "verify-full",
        "DATABASE_AUTH": "password" if cfg.database.password_auth else "entra",
    }
    if cfg.database.password_auth:
        app_settings["DATABASE_PASSWORD"] = vault.secret_reference(PASSWORD_SECRET_NAME)
    portal = Portal(
        "portal",
        PortalArgs(
            resource_group_name=group.name,
            location=cfg.location,
            settings=cfg.portal,
            subscription_id=client.subscription_id,
            portal_subnet_id=network.portal_subnet.id,
            allowed_ip=str(cfg.allowed_ip),
            app_settings=app_settings,
            key_vault_id=vault.vault.id,
            naming=naming,
            tags=tags,
        ),
    )
    tls = TlsEndpoint(
        "tls",
        TlsEndpointArgs(
            resource_group_name=group.name,
            location=cfg.location,
            site_name=portal.app.name,
            server_farm_id=portal.plan.id,
            host_name=cfg.custom_domain,
            naming=naming,
            tags=tags,
        ),
    )
    vpn = VpnGateway(
        "vpn",
        VpnGatewayArgs(
            resource_group_name=group.name,
            location=cfg.location,
            gateway_subnet_id=network.gateway_subnet.id,
            settings=cfg.vpn,
            audience=access.vpn_audience.client_id if access.vpn_audience else None,
            tenant_id=tenant_id,
            allowed_ip=str(cfg.allowed_ip),
            naming=naming,
            tags=tags,
        ),
    )
    Monitoring(
        "monitoring",
        MonitoringArgs(
            resource_group_name=group.name,
            subscription_id=client.subscription_id,
            location=cfg.location,
            retention_days=cfg.log_retention_days,
            alert_email=cfg.alert_email,
            targets={
                "portal": portal.app.id,
                "database": database.server.id,
                "vpn-gateway": vpn.gateway.id,
                "key-vault": vault.vault.id,
            },
            naming=naming,
            tags=tags,
        ),
    )

    ids = {
        "resourceGroup": group.id,
        "portal": portal.app.id,
        "database": database.server.id,
        "vpnGateway": vpn.gateway.id,
        "keyVault": vault.vault.id,
    }
    return {
        "location": cfg.location,
        "resourceGroupName": group.name,
        "portalUrl": tls.url,
        "portalHostname": tls.host_name,
        "portalDefaultHostname": portal.default_host_name,
        "customDomainVerificationId": portal.app.custom_domain_verification_id,
        "databaseFqdn": database.fqdn,
        "vpnMode": cfg.vpn.mode,
        "vpnGatewayPublicIp": vpn.public_ip.ip_address,
        "allowedIp": str(cfg.allowed_ip),
        "keyVaultName": vault.vault_name,
        "developerGroupObjectId": access.group_object_id,
        "resourceIds": {key: pulumi.Output.from_input(value).apply(_relative_id) for key, value in ids.items()},
    }


def main() -> None:
    try:
        cfg = read_stack_config()
    except ConfigError as exc:
        # RunError ends the program with the message alone, without a traceback.
        raise pulumi.RunError(str(exc)) from None
    for name, value in build(cfg).items():
        pulumi.export(name, value)
