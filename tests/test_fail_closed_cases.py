"""The concrete inputs the fail-closed issue found, each on the synthesized dev stack: never PASS again.

The generic mutation test (test_fail_closed.py) covers every declared read;
these are the cases as they were reported, with the verdict each must give now.
"""

from __future__ import annotations

from typing import Any

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import VersionAtLeast
from compliance_checks.findings import Verdict
from compliance_checks.inventory import SECRET, UNKNOWN, Inventory
from compliance_checks.sources.synth import inventory_from_synthesis
from tests.conftest import synth_cached
from tests.test_fail_closed import mutated, verdict

CHECKS = load_checks()


@pytest.fixture(scope="module")
def dev() -> Inventory:
    return inventory_from_synthesis(synth_cached("dev"))


def first(inventory: Inventory, kind: str) -> Any:
    return next(r for r in inventory.resources if r.type_key == kind.lower())


def judged(check_id: str, inventory: Inventory) -> Verdict:
    return verdict(CHECKS[check_id], inventory)


@pytest.mark.parametrize("value", [None, 42, SECRET, UNKNOWN], ids=["null", "number", "secret", "unknown"])
def test_a_resource_with_a_broken_location_is_not_left_out_of_the_region_check(dev: Inventory, value: Any) -> None:
    assert judged("location_in_allowed_regions", dev) == Verdict.PASS
    vault = first(dev, "Microsoft.KeyVault/vaults")
    assert judged("location_in_allowed_regions", mutated(dev, vault, ("location",), value)) == Verdict.ERROR


@pytest.mark.parametrize("field", ["access", "direction"])
@pytest.mark.parametrize("value", [UNKNOWN, None, "Permit"], ids=["unknown", "null", "undefined-enum"])
def test_an_nsg_rule_of_unknown_access_or_direction_is_no_deny_and_no_pass(
    dev: Inventory, field: str, value: Any
) -> None:
    group = next(r for r in dev.resources if r.type_key == "microsoft.network/networksecuritygroups")
    broken = mutated(dev, group, ("properties", "securityrules", 0, field), value)
    for check_id in ("nsg_deny_all_inbound", "nsg_database_port_two_sources"):
        assert judged(check_id, broken) in (Verdict.ERROR, Verdict.FAIL), check_id


def test_a_role_assignment_of_an_unresolved_role_is_an_error(dev: Inventory) -> None:
    assignment = first(dev, "Microsoft.Authorization/roleAssignments")
    for value in (UNKNOWN, "[parameters('role')]"):
        broken = mutated(dev, assignment, ("properties", "roledefinitionid"), value)
        assert judged("rbac_developers_least_privilege", broken) == Verdict.ERROR, value


@pytest.mark.parametrize("value", ["my-workspace", 7, SECRET], ids=["name", "number", "secret"])
def test_a_diagnostic_setting_whose_workspace_is_no_resource_id_does_not_count(dev: Inventory, value: Any) -> None:
    settings = [r for r in dev.resources if r.type_key == "microsoft.insights/diagnosticsettings"]
    broken = dev
    for setting in settings:
        target = next(r for r in broken.resources if r.id_key == setting.id_key)
        broken = mutated(broken, target, ("properties", "workspaceid"), value)
    assert judged("diagnostic_settings_enabled", broken) in (Verdict.ERROR, Verdict.FAIL)


@pytest.mark.parametrize("text", ["12", "1.2,1.0", "TLSv99", "TLS 9.9", "1.2.3", "", "v1.3x"])
def test_a_version_that_is_no_tls_version_never_meets_the_floor(text: str) -> None:
    assert not VersionAtLeast("1.2").test(text)


@pytest.mark.parametrize("text", ["1.2", "1.3", "TLS1_2", "TLSv1.2", "tlsv1_3", "TLSv1.3"])
def test_the_spellings_azure_uses_are_understood(text: str) -> None:
    assert VersionAtLeast("1.2").test(text)


@pytest.mark.parametrize("value", [-1, 0, 731, 90.5, float("-inf")], ids=["-1", "0", "731", "fraction", "-inf"])
def test_a_retention_outside_what_log_analytics_accepts_is_an_error(dev: Inventory, value: Any) -> None:
    workspace = first(dev, "Microsoft.OperationalInsights/workspaces")
    broken = mutated(dev, workspace, ("properties", "retentionindays"), value)
    # Above the 90-day maximum the promise is broken whatever else: FAIL outranks ERROR.
    expected = Verdict.FAIL if value > 90 else Verdict.ERROR
    assert judged("log_retention_at_most_90_days", broken) == expected


def test_a_gateway_naming_entra_only_by_its_aad_fields_is_judged_not_skipped(dev: Inventory) -> None:
    gateway = first(dev, "Microsoft.Network/virtualNetworkGateways")
    older = mutated(dev, gateway, ("properties", "vpnclientconfiguration", "vpnauthenticationtypes"), None)
    for check_id in ("entra_vpn_token_developers_only", "entra_ca_vpn_allowed_ip_only"):
        assert judged(check_id, older) != Verdict.NOT_APPLICABLE, check_id


def test_an_alert_that_notifies_nobody_is_no_alert(dev: Inventory) -> None:
    alert = first(dev, "Microsoft.Insights/activityLogAlerts")
    silent = mutated(dev, alert, ("properties", "actions", "actiongroups"), [])
    assert judged("activity_log_alert_network_changes", silent) == Verdict.FAIL


@pytest.mark.parametrize("tag", ["AzureCloud", "Storage.WestEurope", "Sql"])
def test_an_inbound_allow_from_a_whole_service_tag_is_broad(dev: Inventory, tag: str) -> None:
    """Every service tag is address ranges shared far beyond the estate (service-tags-overview.md)."""
    group = next(r for r in dev.resources if r.type_key == "microsoft.network/networksecuritygroups")
    rules = group.get("properties.securityRules")
    allow = {
        "name": "from-tag",
        "access": "Allow",
        "direction": "Inbound",
        "protocol": "Tcp",
        "priority": 150,
        "sourceAddressPrefix": tag,
        "destinationPortRange": "443",
    }
    broken = mutated(dev, group, ("properties", "securityrules"), [*rules, allow])
    assert judged("nsg_deny_all_inbound", broken) == Verdict.FAIL


@pytest.mark.parametrize(
    ("check_id", "value", "expected"),
    [
        # App Service spells TLS versions "1.2" (SupportedTlsVersions); PostgreSQL "TLSv1.2" (its parameter's values).
        ("webapp_min_tls_version", "1.2", [Verdict.PASS]),
        ("webapp_min_tls_version", "TLSv1.2", [Verdict.ERROR]),
        ("webapp_min_tls_version", " 1.2", [Verdict.ERROR]),
        ("webapp_min_tls_version", "1.20", [Verdict.ERROR, Verdict.FAIL]),
        ("postgres_min_tls_version", "TLSv1.2", [Verdict.PASS]),
        # The setting (the guard) and the server it decides (the check) are both ERROR.
        ("postgres_min_tls_version", "1.2", [Verdict.ERROR, Verdict.ERROR]),
    ],
)
def test_tls_versions_are_read_in_each_service_s_own_spelling_and_nothing_else(
    check_id: str, value: str, expected: list[Verdict]
) -> None:
    """A value outside the property's own enumeration is ERROR, and no PASS is left standing beside it."""
    from compliance_checks.checks.base import Params
    from compliance_checks.inventory import Resource

    if check_id == "webapp_min_tls_version":
        subject = Resource.create(
            id="/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/a",
            type="Microsoft.Web/sites",
            name="a",
            body={"properties": {"siteConfig": {"minTlsVersion": value, "scmMinTlsVersion": "1.2"}}},
            source="test",
            origin="test",
        )
        resources = [subject]
    else:
        server = "/subscriptions/s/resourceGroups/r/providers/Microsoft.DBforPostgreSQL/flexibleServers/db"
        resources = [
            Resource.create(
                id=server, type="Microsoft.DBforPostgreSQL/flexibleServers", name="db", body={}, source="t", origin="t"
            ),
            Resource.create(
                id=f"{server}/configurations/ssl_min_protocol_version",
                type="Microsoft.DBforPostgreSQL/flexibleServers/configurations",
                name="ssl_min_protocol_version",
                body={"properties": {"value": value}},
                source="test",
                origin="test",
            ),
        ]
    findings = load_checks()[check_id].evaluate(Inventory(resources), Params())
    assert sorted(f.verdict for f in findings) == sorted(expected), [f.message for f in findings]


@pytest.mark.parametrize(
    "check_id", ["entra_ca_mfa_for_developers", "entra_ca_vpn_allowed_ip_only", "entra_vpn_token_developers_only"]
)
def test_policies_naming_todays_members_instead_of_the_group_keep_no_promise(check_id: str) -> None:
    """The group lists its one member; every policy names that user instead of the group. Tomorrow's developer
    is covered by nothing: not a PASS (membership changes without a deployment)."""
    import copy

    from compliance_checks.checks.base import Params

    member = "11111111-1111-4111-8111-111111111111"
    resources = []
    for resource in inventory_from_synthesis(synth_cached("dev")):
        body = copy.deepcopy(dict(resource.body))
        if resource.type == "Microsoft.Graph/groups":
            body["members"] = [{"@odata.type": "#microsoft.graph.user", "id": member}]
        elif resource.type == "Microsoft.Graph/conditionalAccessPolicies":
            users = body.get("conditions", {}).get("users", {})
            if users.get("includeGroups"):
                users["includeGroups"], users["includeUsers"] = [], [member]
        resources.append(resource.with_body(body))
    findings = load_checks()[check_id].evaluate(Inventory(resources), Params())
    assert findings and all(f.verdict in (Verdict.FAIL, Verdict.ERROR) for f in findings), [
        (f.verdict, f.message) for f in findings
    ]
