"""Virtual network, subnets and deny-by-default network security groups.

Privacy policy: "The database containing personal data ... can only be accessed
via a single IP address through VPN." The database subnet's NSG admits the
database port from exactly two sources, the portal's integration subnet and the
VPN source of the one allowed IP, and denies everything else explicitly (the
implicit AllowVnetInBound rule would otherwise admit the whole VNet and every
VPN client).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import network

from infra.config import NetworkLayout
from infra.naming import Naming

POSTGRES_PORT = "5432"
HTTPS_PORT = "443"
DENY_ALL_PRIORITY = 4096


def _allow(name: str, priority: int, source: str, port: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "priority": priority,
        "direction": "Inbound",
        "access": "Allow",
        "protocol": "Tcp",
        "source_address_prefix": source,
        "source_port_range": "*",
        "destination_address_prefix": "*",
        "destination_port_range": port,
        "description": description,
    }


def _deny_all_inbound() -> dict[str, Any]:
    return {
        "name": "DenyAllInbound",
        "priority": DENY_ALL_PRIORITY,
        "direction": "Inbound",
        "access": "Deny",
        "protocol": "*",
        "source_address_prefix": "*",
        "source_port_range": "*",
        "destination_address_prefix": "*",
        "destination_port_range": "*",
        "description": "Deny by default: overrides the implicit AllowVnetInBound and AllowAzureLoadBalancerInBound.",
    }


@dataclass(frozen=True)
class NetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    layout: NetworkLayout
    vpn_source_prefix: str
    database_high_availability: bool
    naming: Naming
    tags: dict[str, str]


class Network(pulumi.ComponentResource):
    """VNet with gateway, portal-integration, database and private-endpoint subnets."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("smartportal:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        layout, naming = args.layout, args.naming
        common = {"resource_group_name": args.resource_group_name, "location": args.location, "tags": args.tags}

        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=naming.name("vnet"),
            address_space={"address_prefixes": [str(layout.vnet)]},
            **common,
            opts=child,
        )

        portal_nsg = network.NetworkSecurityGroup(
            f"{name}-nsg-portal",
            network_security_group_name=naming.name("nsg-portal"),
            # The integration subnet only carries the app's outbound traffic.
            security_rules=[_deny_all_inbound()],
            **common,
            opts=child,
        )

        database_rules = [
            _allow(
                "AllowPostgresFromPortal",
                100,
                str(layout.portal_subnet),
                POSTGRES_PORT,
                "The portal reaches its database through VNet integration.",
            ),
            _allow(
                "AllowPostgresFromVpn",
                110,
                args.vpn_source_prefix,
                POSTGRES_PORT,
                "The one allowed IP address, arriving through the VPN gateway.",
            ),
        ]
        if args.database_high_availability:
            # Primary and standby replicate inside the delegated subnet, which
            # can hold nothing but this server.
            database_rules.append(
                _allow(
                    "AllowPostgresReplication",
                    120,
                    str(layout.database_subnet),
                    POSTGRES_PORT,
                    "Replication between the primary and its zone-redundant standby.",
                )
            )
        database_nsg = network.NetworkSecurityGroup(
            f"{name}-nsg-database",
            network_security_group_name=naming.name("nsg-database"),
            security_rules=[*database_rules, _deny_all_inbound()],
            **common,
            opts=child,
        )

        endpoints_nsg = network.NetworkSecurityGroup(
            f"{name}-nsg-endpoints",
            network_security_group_name=naming.name("nsg-endpoints"),
            security_rules=[
                _allow(
                    "AllowHttpsFromPortal",
                    100,
                    str(layout.portal_subnet),
                    HTTPS_PORT,
                    "The portal reads its secrets from Key Vault.",
                ),
                _allow(
                    "AllowHttpsFromVpn",
                    110,
                    args.vpn_source_prefix,
                    HTTPS_PORT,
                    "Developers manage secrets through the VPN.",
                ),
                _deny_all_inbound(),
            ],
            **common,
            opts=child,
        )
        self.security_groups = {"portal": portal_nsg, "database": database_nsg, "endpoints": endpoints_nsg}

        subnet_common = {"resource_group_name": args.resource_group_name, "virtual_network_name": self.vnet.name}
        # Azure rejects concurrent writes to subnets of one VNet: create them in sequence.
        # GatewaySubnet carries no NSG: Azure does not support one there.
        self.gateway_subnet = network.Subnet(
            f"{name}-snet-gateway",
            subnet_name="GatewaySubnet",
            address_prefix=str(layout.gateway_subnet),
            **subnet_common,
            opts=child,
        )
        self.portal_subnet = network.Subnet(
            f"{name}-snet-portal",
            subnet_name="snet-portal",
            address_prefix=str(layout.portal_subnet),
            network_security_group={"id": portal_nsg.id},
            delegations=[{"name": "app-service", "service_name": "Microsoft.Web/serverFarms"}],
            default_outbound_access=False,
            **subnet_common,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.gateway_subnet]),
        )
        self.database_subnet = network.Subnet(
            f"{name}-snet-database",
            subnet_name="snet-database",
            address_prefix=str(layout.database_subnet),
            network_security_group={"id": database_nsg.id},
            delegations=[{"name": "postgres", "service_name": "Microsoft.DBforPostgreSQL/flexibleServers"}],
            default_outbound_access=False,
            **subnet_common,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.portal_subnet]),
        )
        self.endpoints_subnet = network.Subnet(
            f"{name}-snet-endpoints",
            subnet_name="snet-endpoints",
            address_prefix=str(layout.endpoints_subnet),
            network_security_group={"id": endpoints_nsg.id},
            # Let the NSG apply to private endpoints too.
            private_endpoint_network_policies="Enabled",
            default_outbound_access=False,
            **subnet_common,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.database_subnet]),
        )

        self.register_outputs(
            {
                "vnetId": self.vnet.id,
                "gatewaySubnetId": self.gateway_subnet.id,
                "portalSubnetId": self.portal_subnet.id,
                "databaseSubnetId": self.database_subnet.id,
                "endpointsSubnetId": self.endpoints_subnet.id,
            }
        )
