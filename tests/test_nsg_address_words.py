"""The address words of NSG rules never shrink on unknown data.

The VirtualNetwork tag counts a gateway's client pool only where the gateway sits; a gateway whose place is not
known (IP configurations or subnet IDs unknown or secret) leaves every network's tag unresolved, never smaller.
An application security group's members likewise: a network interface or private endpoint whose groups are not
known may be in any group, so every group's members are unresolved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from compliance_checks.evaluate import nsg
from compliance_checks.inventory import SECRET, UNKNOWN, Inventory, Resource
from compliance_checks.sources.synth import load_synth


@pytest.fixture(scope="module")
def dev() -> Inventory:
    return load_synth("dev")[0]


def _with_gateway(dev: Inventory, change: Callable[[dict[str, Any]], None]) -> Inventory:
    resources = []
    for resource in dev:
        if resource.type_key != nsg.GATEWAY.lower():
            resources.append(resource)
            continue
        body = dict(resource.body)
        properties = dict(body["properties"])
        change(properties)
        body["properties"] = properties
        resources.append(resource.with_body(body))
    return Inventory(resources, sources=dev.sources)


def _tags(inventory: Inventory) -> list[nsg.Resolved]:
    return [
        nsg.virtual_network_addresses(inventory, vnet)
        for vnet in inventory.of_type("Microsoft.Network/virtualNetworks")
    ]


def test_the_dev_networks_tags_are_resolved_and_one_holds_the_client_pool(dev: Inventory) -> None:
    tags = _tags(dev)
    assert tags and all(not isinstance(tag, nsg.Unresolved) for tag in tags)
    without = _with_gateway(dev, lambda p: p.update(ipConfigurations=[]))
    assert _tags(without) != tags  # the gateway's pool is part of its network's tag


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.update(ipConfigurations=UNKNOWN),
        lambda p: p.update(ipConfigurations=SECRET),
        lambda p: p.update(ipConfigurations=[{**c, "subnet": {"id": UNKNOWN}} for c in p["ipConfigurations"]]),
        lambda p: p.update(ipConfigurations=[{**c, "subnet": UNKNOWN} for c in p["ipConfigurations"]]),
        lambda p: p.update(ipConfigurations="not a list"),
    ],
    ids=["configs unknown", "configs secret", "subnet id unknown", "subnet unknown", "configs malformed"],
)
def test_a_gateway_of_unknown_place_leaves_every_tag_unresolved(
    dev: Inventory, change: Callable[[dict[str, Any]], None]
) -> None:
    assert all(isinstance(tag, nsg.Unresolved) for tag in _tags(_with_gateway(dev, change)))


# --- application security groups ---------------------------------------------------------------------------------

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers"
ASG_ID = f"{SUB}/Microsoft.Network/applicationSecurityGroups/asg-db"


def _nic(name: str, configs: Any) -> Resource:
    return Resource.create(
        id=f"{SUB}/Microsoft.Network/networkInterfaces/{name}",
        type=nsg.NIC,
        name=name,
        body={"properties": {"ipConfigurations": configs}},
    )


def _asg_inventory(*nics: Resource) -> Inventory:
    asg = Resource.create(id=ASG_ID, type=nsg.ASG, name="asg-db", body={"properties": {}})
    return Inventory([asg, *nics])


MEMBER = _nic("db", [{"privateIPAddress": "10.0.1.4", "applicationSecurityGroups": [{"id": ASG_ID}]}])


def test_known_members_resolve() -> None:
    members = nsg.asg_members(_asg_inventory(MEMBER, _nic("other", [{"privateIPAddress": "10.0.2.4"}])))
    assert members[ASG_ID.lower()] == nsg.prefixes(["10.0.1.4"], "x")


@pytest.mark.parametrize(
    "configs",
    [
        UNKNOWN,
        SECRET,
        "not a list",
        [{"privateIPAddress": "10.0.2.4", "applicationSecurityGroups": UNKNOWN}],
        [{"privateIPAddress": "10.0.2.4", "applicationSecurityGroups": [{"id": UNKNOWN}]}],
        [{"privateIPAddress": "10.0.2.4", "applicationSecurityGroups": [{"name": "no id"}]}],
    ],
    ids=["configs unknown", "configs secret", "configs malformed", "groups unknown", "group id unknown", "no id"],
)
def test_a_member_of_unknown_groups_leaves_every_group_unresolved(configs: Any) -> None:
    members = nsg.asg_members(_asg_inventory(MEMBER, _nic("other", configs)))
    assert isinstance(members[ASG_ID.lower()], nsg.Unresolved)
