"""Links inferred at a first preview from property dependencies: filled only where one resource fits the place."""

from __future__ import annotations

import uuid
from typing import Any

from compliance_checks.inventory import UNKNOWN
from policies.preview_links import Node, PreviewLinks, placeholder_object_id, unknown_paths

SUB = "6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21"
RG = "urn:pulumi:dev::p::azure-native:resources:ResourceGroup::rg"
NSG_A = "urn:pulumi:dev::p::azure-native:network:NetworkSecurityGroup::nsg-a"
NSG_B = "urn:pulumi:dev::p::azure-native:network:NetworkSecurityGroup::nsg-b"
VNET = "urn:pulumi:dev::p::azure-native:network:VirtualNetwork::vnet"
SUBNET = "urn:pulumi:dev::p::azure-native:network:Subnet::snet"
SERVER = "urn:pulumi:dev::p::azure-native:dbforpostgresql:Server::db"
GROUP = "urn:pulumi:dev::p::azuread:index/group:Group::devs"
APP = "urn:pulumi:dev::p::azuread:index/application:Application::vpn"
LOCATION = "urn:pulumi:dev::p::azuread:index/namedLocation:NamedLocation::office"
CA = "urn:pulumi:dev::p::azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy::ca"


def node(urn: str, values: dict[str, Any], deps: dict[str, list[str]] | None = None) -> Node:
    token = urn.split("::")[2]
    return Node(urn=urn, token=token, values=values, property_dependencies=deps or {})


def estate(*extra: Node) -> tuple[PreviewLinks, dict[str, Node]]:
    nodes = [
        node(RG, {"resourceGroupName": "rg-portal", "location": "germanywestcentral"}),
        node(NSG_A, {"resourceGroupName": UNKNOWN, "networkSecurityGroupName": "nsg-a"}, {"resourceGroupName": [RG]}),
        node(NSG_B, {"resourceGroupName": UNKNOWN, "networkSecurityGroupName": "nsg-b"}, {"resourceGroupName": [RG]}),
        node(VNET, {"resourceGroupName": UNKNOWN, "virtualNetworkName": "vnet"}, {"resourceGroupName": [RG]}),
        node(SERVER, {"resourceGroupName": UNKNOWN, "serverName": "db"}, {"resourceGroupName": [RG]}),
        node(GROUP, {"displayName": "developers"}),
        node(APP, {"displayName": "vpn"}),
        node(LOCATION, {"displayName": "office"}),
        *extra,
    ]
    return PreviewLinks(nodes, SUB), {n.urn: n for n in nodes}


NSG_A_ID = f"/subscriptions/{SUB}/resourceGroups/rg-portal/providers/Microsoft.Network/networkSecurityGroups/nsg-a"


def test_a_path_parameter_takes_the_name_its_dependency_holds_under_the_same_segment() -> None:
    links, _ = estate()
    assert links.identity(NSG_A) == NSG_A_ID
    subnet = node(
        SUBNET,
        {"resourceGroupName": UNKNOWN, "virtualNetworkName": UNKNOWN, "subnetName": "db"},
        {"resourceGroupName": [RG], "virtualNetworkName": [VNET]},
    )
    links, _ = estate(subnet)
    assert links.identity(SUBNET) == (
        f"/subscriptions/{SUB}/resourceGroups/rg-portal/providers/Microsoft.Network/virtualNetworks/vnet/subnets/db"
    )


def test_a_reference_is_filled_from_the_one_resource_it_flows_from() -> None:
    subnet = node(
        SUBNET,
        {
            "resourceGroupName": UNKNOWN,
            "virtualNetworkName": UNKNOWN,
            "subnetName": "db",
            "networkSecurityGroup": {"id": UNKNOWN},
        },
        {"resourceGroupName": [RG], "virtualNetworkName": [VNET], "networkSecurityGroup": [NSG_A]},
    )
    links, _ = estate(subnet)
    assert links.fill(subnet)["networkSecurityGroup"] == {"id": NSG_A_ID}


def test_a_reference_flowing_from_two_resources_that_both_fit_stays_unknown() -> None:
    """``networkSecurityGroup`` built from either NSG (a conditional in the program): which one is not known."""
    subnet = node(
        SUBNET,
        {"resourceGroupName": "rg-portal", "virtualNetworkName": "vnet", "subnetName": "db", "nsg": {"id": UNKNOWN}},
        {"nsg": [NSG_A, NSG_B]},
    )
    links, _ = estate(subnet)
    assert links.fill(subnet)["nsg"] == {"id": UNKNOWN}


def test_a_value_that_is_not_a_reference_is_never_filled() -> None:
    """A setting's value flowing from the server is its host name or a password, not its ID."""
    site = node(
        "urn:pulumi:dev::p::azure-native:web:WebApp::app",
        {
            "resourceGroupName": "rg-portal",
            "name": "app",
            "siteConfig": {"appSettings": [{"name": "DB_HOST", "value": UNKNOWN}]},
        },
        {"siteConfig": [SERVER]},
    )
    links, _ = estate(site)
    filled = links.fill(site)
    assert list(unknown_paths(filled)) == ["siteConfig.appSettings[0].value"]


def test_a_reference_without_a_property_dependency_stays_unknown() -> None:
    subnet = node(
        SUBNET,
        {
            "resourceGroupName": "rg-portal",
            "virtualNetworkName": "vnet",
            "subnetName": "db",
            "networkSecurityGroup": {"id": UNKNOWN},
        },
    )
    links, _ = estate(subnet)
    assert links.fill(subnet)["networkSecurityGroup"] == {"id": UNKNOWN}


def test_a_path_parameter_that_no_dependency_names_leaves_the_identity_unknown() -> None:
    """The server parameter's server flows from a resource that holds no ``flexibleServers`` segment."""
    parameter = node(
        "urn:pulumi:dev::p::azure-native:dbforpostgresql:Configuration::tls",
        {"resourceGroupName": "rg-portal", "serverName": UNKNOWN, "configurationName": "require_secure_transport"},
        {"serverName": [VNET]},
    )
    links, _ = estate(parameter)
    assert links.identity(parameter.urn) is None


def test_conditional_access_lists_take_the_dependency_of_their_kind() -> None:
    """One ``conditions`` input flows from a group, an application and a named location: each list gets its own."""
    ca = node(
        CA,
        {
            "displayName": "vpn",
            "state": "enabled",
            "conditions": {
                "users": {"includedGroups": [UNKNOWN]},
                "applications": {"includedApplications": [UNKNOWN]},
                "locations": {"includedLocations": ["All"], "excludedLocations": [UNKNOWN]},
            },
        },
        {"conditions": [APP, LOCATION, GROUP]},
    )
    links, _ = estate(ca)
    conditions = links.fill(ca)["conditions"]
    assert conditions["users"]["includedGroups"] == [placeholder_object_id(GROUP)]
    assert conditions["applications"]["includedApplications"] == [placeholder_object_id(APP)]
    assert conditions["locations"]["excludedLocations"] == [placeholder_object_id(LOCATION)]
    # The application is named by the same placeholder it is referred to by.
    assert links.fill(node(APP, {"displayName": "vpn"}))["clientId"] == placeholder_object_id(APP)


def test_placeholders_are_stable_well_formed_and_distinct() -> None:
    first, second = placeholder_object_id(GROUP), placeholder_object_id(APP)
    assert first == placeholder_object_id(GROUP) and first != second
    assert str(uuid.UUID(first)) == first


def test_a_dependency_cycle_resolves_to_nothing_rather_than_recursing() -> None:
    a = node(NSG_A, {"resourceGroupName": UNKNOWN, "networkSecurityGroupName": "a"}, {"resourceGroupName": [NSG_B]})
    b = node(NSG_B, {"resourceGroupName": UNKNOWN, "networkSecurityGroupName": "b"}, {"resourceGroupName": [NSG_A]})
    links = PreviewLinks([a, b], SUB)
    assert links.identity(NSG_A) is None and links.identity(NSG_B) is None


def test_a_violation_carries_the_evaluators_reasoning_rows_capped() -> None:
    from compliance_checks.checks import load_checks
    from compliance_checks.findings import Evidence, Finding, Verdict
    from policies.pack import MAX_REASONING_ROWS, SPECS, violation_message

    check = load_checks()["nsg_database_port_two_sources"]
    spec = next(s for s in SPECS if check.meta.id in s.checks)
    rows = [{"from": f"10.0.{i}.0/24", "to": "5432/Tcp", "decided by": f"rule-{i}"} for i in range(12)]
    finding = Finding(
        check_id=check.meta.id,
        verdict=Verdict.FAIL,
        resource_id="/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg",
        resource_type="Microsoft.Network/networkSecurityGroups",
        message="3 sources beyond the portal and the VPN reach port 5432.",
        evidence=(Evidence("reachability", rows, "the portal subnet and the VPN path only"),),
        source="policy-pack",
    )
    lines = violation_message(spec, check, finding, "nsg").splitlines()
    assert lines[0].startswith(f"[{spec.claim}] ") and lines[0].endswith("reach port 5432.")
    assert lines[1] == "  reachability (expected: the portal subnet and the VPN path only):"
    assert lines[2] == "    from: 10.0.0.0/24; to: 5432/Tcp; decided by: rule-0"
    assert len(lines) == 2 + MAX_REASONING_ROWS + 1
    assert lines[-1].strip().startswith(f"... {12 - MAX_REASONING_ROWS} more")
