"""Route-based VPN gateway: the only way in for developers.

Two modes, chosen by ``vpnMode``:

* ``p2s``: point-to-site OpenVPN with Microsoft Entra ID authentication, so the
  Conditional Access policies (MFA, allowed IP only) apply to every tunnel.
* ``s2s``: site-to-site IPsec/IKEv2 to one office address; the local network
  gateway carries that single address as both peer and address space, and the
  connection uses a custom IPsec policy with strong algorithms only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_azure_native import network

from infra.config import VpnSettings
from infra.naming import Naming

# Creating or resizing a VPN gateway takes 30 to 45 minutes; the defaults are too short.
GATEWAY_TIMEOUTS = pulumi.CustomTimeouts(create="75m", update="75m", delete="60m")

STRONG_IPSEC_POLICY = {
    "ike_encryption": "GCMAES256",
    "ike_integrity": "SHA384",
    "dh_group": "ECP384",
    "ipsec_encryption": "GCMAES256",
    "ipsec_integrity": "GCMAES256",
    "pfs_group": "ECP384",
    "sa_life_time_seconds": 27000,
    "sa_data_size_kilobytes": 102400000,
}


@dataclass(frozen=True)
class VpnGatewayArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    gateway_subnet_id: pulumi.Input[str]
    settings: VpnSettings
    # Point-to-site: the client ID of the VPN's own audience app (``VpnAudience``), assigned to developers only.
    audience: pulumi.Input[str] | None
    tenant_id: pulumi.Input[str]
    allowed_ip: str
    naming: Naming
    tags: dict[str, str]


class VpnGateway(pulumi.ComponentResource):
    """Public IP, virtual network gateway and, for s2s, the office side and its connection."""

    def __init__(self, name: str, args: VpnGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("smartportal:network:VpnGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        common = {"resource_group_name": args.resource_group_name, "location": args.location, "tags": args.tags}
        settings = args.settings

        self.public_ip = network.PublicIPAddress(
            f"{name}-pip",
            public_ip_address_name=args.naming.name("pip-vgw"),
            sku={"name": "Standard", "tier": "Regional"},
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            zones=["1", "2", "3"],
            **common,
            opts=child,
        )

        client_configuration = None
        if settings.mode == "p2s":
            assert settings.client_address_pool is not None
            if args.audience is None:
                raise ValueError("point-to-site needs the VPN audience app (VpnAudience)")
            client_configuration = {
                "vpn_client_address_pool": {"address_prefixes": [str(settings.client_address_pool)]},
                "vpn_client_protocols": ["OpenVPN"],
                "vpn_authentication_types": ["AAD"],
                "aad_tenant": pulumi.Output.concat("https://login.microsoftonline.com/", args.tenant_id, "/"),
                "aad_issuer": pulumi.Output.concat("https://sts.windows.net/", args.tenant_id, "/"),
                "aad_audience": args.audience,
            }

        self.gateway = network.VirtualNetworkGateway(
            f"{name}-vgw",
            virtual_network_gateway_name=args.naming.name("vgw"),
            gateway_type="Vpn",
            vpn_type="RouteBased",
            vpn_gateway_generation=settings.generation,
            sku={"name": settings.gateway_sku, "tier": settings.gateway_sku},
            active_active=False,
            enable_bgp=False,
            ip_configurations=[
                {
                    "name": "default",
                    "private_ip_allocation_method": "Dynamic",
                    "public_ip_address": {"id": self.public_ip.id},
                    "subnet": {"id": args.gateway_subnet_id},
                }
            ],
            vpn_client_configuration=client_configuration,
            **common,
            opts=pulumi.ResourceOptions(parent=self, custom_timeouts=GATEWAY_TIMEOUTS),
        )

        self.local_gateway: network.LocalNetworkGateway | None = None
        self.connection: network.VirtualNetworkGatewayConnection | None = None
        if settings.mode == "s2s":
            single = f"{args.allowed_ip}/32"
            self.local_gateway = network.LocalNetworkGateway(
                f"{name}-lgw",
                local_network_gateway_name=args.naming.name("lgw-office"),
                gateway_ip_address=args.allowed_ip,
                local_network_address_space={"address_prefixes": [single]},
                **common,
                opts=child,
            )
            shared_key = random.RandomPassword(f"{name}-psk", length=48, special=False, opts=child)
            self.connection = network.VirtualNetworkGatewayConnection(
                f"{name}-cn",
                virtual_network_gateway_connection_name=args.naming.name("cn-office"),
                connection_type="IPsec",
                connection_protocol="IKEv2",
                virtual_network_gateway1={"id": self.gateway.id},
                local_network_gateway2={"id": self.local_gateway.id},
                shared_key=shared_key.result,
                ipsec_policies=[STRONG_IPSEC_POLICY],
                use_policy_based_traffic_selectors=False,
                enable_bgp=False,
                dpd_timeout_seconds=45,
                **common,
                opts=child,
            )

        self.register_outputs({"gatewayId": self.gateway.id, "publicIp": self.public_ip.ip_address})
