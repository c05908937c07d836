"""A private DNS zone linked to the VNet: how private endpoints and VNet-integrated services resolve.

A helper, not a component: the zone belongs to the component that needs it
(database, Key Vault), so it is created with that component as parent.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import privatedns


def linked_private_zone(
    name: str,
    *,
    zone_name: str,
    resource_group_name: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> tuple[privatedns.PrivateZone, privatedns.VirtualNetworkLink]:
    """``<name>-dns`` (zone, location global) and ``<name>-dns-link`` (link without auto-registration)."""
    child = pulumi.ResourceOptions(parent=parent)
    zone = privatedns.PrivateZone(
        f"{name}-dns",
        private_zone_name=zone_name,
        resource_group_name=resource_group_name,
        location="global",
        tags=tags,
        opts=child,
    )
    link = privatedns.VirtualNetworkLink(
        f"{name}-dns-link",
        private_zone_name=zone.name,
        virtual_network_link_name="link-vnet",
        resource_group_name=resource_group_name,
        location="global",
        registration_enabled=False,
        virtual_network={"id": vnet_id},
        tags=tags,
        opts=child,
    )
    return zone, link
