"""The live stand-in's estate: well-formed ARM bodies that cover the synthesized ``dev`` stack."""

from __future__ import annotations

from typing import Any

import pytest

from compliance_checks.inventory import Inventory
from compliance_checks.sources.synth import inventory_from_synthesis
from infra import well_known
from infra.watched_operations import WATCHED_OPERATIONS
from tests.conftest import synth_cached
from tests.live import estate as live
from tests.live.model import Estate

SCOPED_CHILDREN = (
    "/providers/microsoft.insights/diagnosticsettings/",
    "/providers/microsoft.authorization/roleassignments/",
)


@pytest.fixture(scope="module")
def dev_inventory() -> Inventory:
    return inventory_from_synthesis(synth_cached("dev"))


@pytest.fixture(scope="module")
def estate() -> Estate:
    return live.dev_estate()


def parent_id(resource_id: str) -> str | None:
    """The resource an ID sits under: the scope of an extension resource, else the ID minus its last type/name."""
    lowered = resource_id.lower()
    for marker in SCOPED_CHILDREN:
        if marker in lowered:
            return resource_id[: lowered.index(marker)]
    head = resource_id.rsplit("/", 2)[0]
    parts = head.split("/")
    if len(parts) <= 3:  # "/subscriptions/{id}": the resource group's parent is not an ARM body
        return None
    if parts[-2].lower() == "providers":  # a top-level resource sits in its resource group
        return "/".join(parts[:-2])
    return head


def accepted_names(resource_id: str, body: dict[str, Any]) -> set[str]:
    """The last ID segment, plus the names the providers really answer for a few child types."""
    last = resource_id.rsplit("/", 1)[1]
    names = {last}
    arm_type = str(body["type"])
    parent = parent_id(resource_id) or ""
    if arm_type == "Microsoft.Web/sites/hostNameBindings":
        names.add(f"{parent.rsplit('/', 1)[1]}/{last}")
    if arm_type == "Microsoft.Web/sites/config" and last == "web":
        names.add(parent.rsplit("/", 1)[1])
    if arm_type == "Microsoft.DBforPostgreSQL/flexibleServers/administrators":
        names.add(str(body["properties"]["principalName"]))
    return names


def normalised_location(location: str) -> str:
    return location.replace(" ", "").lower()


def test_every_entry_is_a_resource_under_its_key(estate: Estate) -> None:
    for key, body in estate.arm.items():
        assert body["id"].lower() == key.lower(), key
        assert body["type"] and isinstance(body["type"], str), key
        assert body["name"] in accepted_names(key, body), key
        assert isinstance(body.get("properties"), dict), key


def test_children_sit_under_an_existing_parent(estate: Estate) -> None:
    keys = {key.lower() for key in estate.arm}
    for key in estate.arm:
        parent = parent_id(key)
        if parent is not None:
            assert parent.lower() in keys, f"{key}: no parent {parent}"


def test_every_synth_resource_is_deployed_at_the_same_id_and_location(dev_inventory: Inventory, estate: Estate) -> None:
    for resource in dev_inventory:
        if resource.type == "Microsoft.Resources/deployments":
            continue  # its inner certificate and SNI binding appear as resources of their own
        if resource.type == "Microsoft.Graph/appRoleAssignments":
            # Graph has no top-level collection of assignments: they are read under their resource's principal.
            resource_id, assignment_id = resource.get("resourceId"), resource.id.rsplit("/", 1)[1]
            assert f"servicePrincipals/{resource_id}/appRoleAssignedTo/{assignment_id}" in estate.graph, resource.id
            continue
        if resource.id.startswith("graph:/"):
            assert resource.id.removeprefix("graph:/") in estate.graph, resource.id
            continue
        body = estate.find(resource.id)
        if resource.location is not None:
            assert normalised_location(str(body["location"])) == normalised_location(resource.location), resource.id


def test_site_reads_like_azure(estate: Estate) -> None:
    site = estate.find(live.SITE_ID)["properties"]
    config = estate.find(f"{live.SITE_ID}/config/web")["properties"]
    assert site["siteConfig"]["minTlsVersion"] is None and site["siteConfig"]["scmIpSecurityRestrictions"] is None
    assert config["minTlsVersion"] == "1.2" and config["ftpsState"] == "Disabled" and config["http20Enabled"]
    assert config["scmIpSecurityRestrictionsDefaultAction"] == "Deny"
    assert [rule["ipAddress"] for rule in config["scmIpSecurityRestrictions"]] == [f"{live.ALLOWED_IP}/32", "Any"]
    binding = estate.find(f"{live.SITE_ID}/hostNameBindings/{live.CUSTOM_DOMAIN}")["properties"]
    assert binding["sslState"] == "SniEnabled"
    assert binding["thumbprint"] == estate.find(live.CERT_ID)["properties"]["thumbprint"]


def test_subnets_are_nested_and_standalone(estate: Estate) -> None:
    nested = {subnet["id"]: subnet for subnet in estate.find(live.VNET_ID)["properties"]["subnets"]}
    for subnet_id, subnet in nested.items():
        assert estate.find(subnet_id) == subnet


def test_app_settings_hold_no_secret_or_insights(estate: Estate) -> None:
    settings = estate.app_settings[live.SITE_ID]
    assert not [name for name in settings if name.startswith(("APPINSIGHTS_", "APPLICATIONINSIGHTS_"))]
    assert settings["SESSION_SECRET"].startswith("@Microsoft.KeyVault(SecretUri=https://")


def test_postgres_configurations_need_paging(estate: Estate) -> None:
    configurations = estate.of_type("Microsoft.DBforPostgreSQL/flexibleServers/configurations")
    assert len(configurations) > 5
    values = {body["name"]: body["properties"]["value"] for body in configurations}
    assert values["require_secure_transport"] == "on" and values["ssl_min_protocol_version"] == "TLSv1.2"
    assert not estate.of_type("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules")


def test_mutations_change_a_copy(estate: Estate) -> None:
    before = live.dev_estate()
    with_rule = live.with_firewall_rule(estate)
    (rule,) = with_rule.of_type("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules")
    assert rule["properties"] == {"startIpAddress": "203.0.113.10", "endIpAddress": "203.0.113.10"}
    assert rule["id"].startswith(f"{live.SERVER_ID}/firewallRules/")
    tls = live.with_site_min_tls(estate, "1.0")
    assert tls.find(f"{live.SITE_ID}/config/web")["properties"]["minTlsVersion"] == "1.0"
    report_only = live.with_ca_report_only(estate)
    policy = report_only.graph[f"identity/conditionalAccess/policies/{live.MFA_POLICY_ID}"]
    assert policy["state"] == "enabledForReportingButNotEnforced"
    assert live.with_client_affinity(estate).find(live.SITE_ID)["properties"]["clientAffinityEnabled"] is True
    assert estate == before


def test_helpers_for_site_to_site_tests() -> None:
    gateway = live.local_network_gateway()
    connection = live.connection(gateway["id"])
    assert connection["properties"]["localNetworkGateway2"]["id"] == gateway["id"]
    assert "sharedKey" not in connection["properties"]


def test_the_vpn_audience_is_the_estates_own_app_assigned_to_the_developers_only(estate: Estate) -> None:
    gateway = estate.find(live.GATEWAY_ID)["properties"]["vpnClientConfiguration"]
    assert gateway["aadAudience"] == live.VPN_CLIENT_ID != live.MICROSOFT_VPN_CLIENT_APP_ID
    application = estate.graph[f"applications/{live.VPN_APP_OBJECT_ID}"]
    assert application["appId"] == live.VPN_CLIENT_ID and application["signInAudience"] == "AzureADMyOrg"
    assert application["identifierUris"] == [f"api://{live.VPN_CLIENT_ID}"]
    [scope] = application["api"]["oauth2PermissionScopes"]
    assert application["api"]["preAuthorizedApplications"] == [
        {"appId": live.MICROSOFT_VPN_CLIENT_APP_ID, "delegatedPermissionIds": [scope["id"]]}
    ]
    principal = estate.graph[f"servicePrincipals/{live.VPN_PRINCIPAL_ID}"]
    assert principal["appId"] == live.VPN_CLIENT_ID and principal["appRoleAssignmentRequired"] is True
    assignments = [v for k, v in estate.graph.items() if k.startswith(f"servicePrincipals/{live.VPN_PRINCIPAL_ID}/")]
    assert [(a["principalId"], a["principalType"], a["appRoleId"]) for a in assignments] == [
        (live.GROUP_ID, "Group", "00000000-0000-0000-0000-000000000000")
    ]
    applications = {
        key: estate.graph[f"identity/conditionalAccess/policies/{key}"]["conditions"]["applications"]
        for key in (live.MFA_POLICY_ID, live.VPN_MFA_POLICY_ID, live.VPN_POLICY_ID)
    }
    assert applications[live.MFA_POLICY_ID]["includeApplications"] == [live.AZURE_MANAGEMENT_APP_ID]
    assert applications[live.VPN_MFA_POLICY_ID]["includeApplications"] == [live.VPN_CLIENT_ID]
    assert applications[live.VPN_POLICY_ID]["includeApplications"] == [live.VPN_CLIENT_ID]


def test_developers_hold_reader_and_the_custom_deployer_role(estate: Estate) -> None:
    roles = {
        body["properties"]["roleDefinitionId"].rsplit("/", 1)[1]
        for body in estate.of_type("Microsoft.Authorization/roleAssignments")
        if body["properties"]["principalId"] == live.GROUP_ID
    }
    assert roles == {well_known.role_id("Reader"), live.DEPLOYER_ROLE}
    deployer = estate.find(live.DEPLOYER_ROLE_ID)["properties"]
    assert deployer["type"] == "CustomRole" and deployer["assignableScopes"] == [live.RG_ID]
    assert deployer["permissions"][0]["actions"] == [
        "Microsoft.Web/sites/publish/Action",
        "Microsoft.Web/sites/restart/Action",
    ]


def test_the_alert_watches_the_subscription_for_every_watched_operation(estate: Estate) -> None:
    alert = estate.find(live.ALERT_ID)["properties"]
    assert alert["scopes"] == [f"/subscriptions/{live.SUBSCRIPTION_ID}"]
    [category, operations] = alert["condition"]["allOf"]
    assert category["equals"] == "Administrative"
    assert [leaf["equals"] for leaf in operations["anyOf"]] == list(WATCHED_OPERATIONS)


def test_vpn_mutations_change_a_copy(estate: Estate) -> None:
    before = live.dev_estate()
    old = live.with_old_vpn_audience(estate)
    assert old.find(live.GATEWAY_ID)["properties"]["vpnClientConfiguration"]["aadAudience"] == (
        live.MICROSOFT_VPN_CLIENT_APP_ID
    )
    [principal] = [v for k, v in old.graph.items() if k.startswith("servicePrincipals/")]
    assert principal["appId"] == live.MICROSOFT_VPN_CLIENT_APP_ID and principal["appRoleAssignmentRequired"] is False
    assert not [k for k in live.with_old_vpn_audience(estate, principal=False).graph if "servicePrincipals" in k]
    required = live.with_assignment_not_required(estate).graph[f"servicePrincipals/{live.VPN_PRINCIPAL_ID}"]
    assert required["appRoleAssignmentRequired"] is False
    for mutated, kind in (
        (live.with_user_assigned(estate), "User"),
        (live.with_second_group_assigned(estate), "Group"),
    ):
        added = [v for k, v in mutated.graph.items() if "appRoleAssignedTo" in k and v["id"] != live.VPN_ASSIGNMENT_ID]
        assert [a["principalType"] for a in added] == [kind]
    assert estate == before
