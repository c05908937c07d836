"""Key Vault for the portal's secrets, reachable only through a private endpoint.

RBAC authorisation (no access policies), soft delete with purge protection, and
no public network access: secrets are read by the portal's managed identity
over the VNet and never handed around as plaintext settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault, network

from infra.components.private_dns import linked_private_zone
from infra.naming import Naming

KEY_VAULT_DNS_ZONE = "privatelink.vaultcore.azure.net"


@dataclass(frozen=True)
class KeyVaultArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    tenant_id: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    endpoints_subnet_id: pulumi.Input[str]
    naming: Naming
    tags: dict[str, str]


class KeyVault(pulumi.ComponentResource):
    """Vault, private DNS zone and private endpoint."""

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("smartportal:security:KeyVault", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.naming.key_vault(),
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties={
                "tenant_id": args.tenant_id,
                "sku": {"family": "A", "name": "standard"},
                "enable_rbac_authorization": True,
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": 90,
                "enable_purge_protection": True,
                "enabled_for_deployment": False,
                "enabled_for_disk_encryption": False,
                "enabled_for_template_deployment": False,
                "public_network_access": "Disabled",
                "network_acls": {"default_action": "Deny", "bypass": "None"},
            },
            tags=args.tags,
            opts=child,
        )

        zone, _ = linked_private_zone(
            name,
            zone_name=KEY_VAULT_DNS_ZONE,
            resource_group_name=args.resource_group_name,
            vnet_id=args.vnet_id,
            tags=args.tags,
            parent=self,
        )
        self.endpoint = network.PrivateEndpoint(
            f"{name}-pe",
            private_endpoint_name=args.naming.name("pe-kv"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            subnet={"id": args.endpoints_subnet_id},
            private_link_service_connections=[
                {"name": "vault", "group_ids": ["vault"], "private_link_service_id": self.vault.id}
            ],
            tags=args.tags,
            opts=child,
        )
        network.PrivateDnsZoneGroup(
            f"{name}-pe-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=self.endpoint.name,
            resource_group_name=args.resource_group_name,
            private_dns_zone_configs=[{"name": "vault", "private_dns_zone_id": zone.id}],
            opts=child,
        )

        self.vault_name = self.vault.name
        self.vault_uri = self.vault.properties.apply(lambda p: p.vault_uri)
        self.register_outputs({"vaultId": self.vault.id, "vaultUri": self.vault_uri})

    def secret_reference(self, secret_name: str) -> pulumi.Output[str]:
        """An App Service Key Vault reference: the app resolves it, the value never leaves the vault."""
        return pulumi.Output.concat("@Microsoft.KeyVault(VaultName=", self.vault.name, ";SecretName=", secret_name, ")")
