"""Conditional Access configurations Microsoft Graph accepts under which a developer could sign in without MFA, or
reach the VPN from another IP, judged end to end through the checks' verdicts on the synthesized dev estate.

Each case changes one policy (or adds a named location) of the dev stack, whose checks PASS unchanged, and asserts
the verdict the check must give: never PASS. Sources for every value and semantic relied on (Graph v1.0,
microsoftgraph/microsoft-graph-docs-contrib):

* conditionalaccesspolicy.md: ``state`` enabled | disabled | enabledForReportingButNotEnforced.
* conditionalaccessgrantcontrols.md: ``operator`` AND | OR; builtInControls block, mfa, compliantDevice,
  domainJoinedDevice, approvedApplication, compliantApplication, passwordChange, unknownFutureValue;
  termsOfUse; customAuthenticationFactors; authenticationStrength.
* authenticationstrengthpolicy.md (09455a65abde17103c17fc70605c4c8553f01978): allowedCombinations,
  requirementsSatisfied ("whether this authentication strength grants the MFA claim").
* conditionalaccessusers.md: include/excludeUsers ("All", "None", "GuestsOrExternalUsers"), include/excludeGroups,
  include/excludeRoles, include/excludeGuestsOrExternalUsers.
* conditionalaccessplatforms.md (0713c450496046d1f357f9afae7a914ac6ab4277): android, iOS, windows, windowsPhone,
  macOS, linux, all, unknownFutureValue. In the enum's CSDL ``linux`` (7) comes after the sentinel
  ``unknownFutureValue`` (6).
* concepts/best-practices-concept.md (085de411fa5782dbe9db4657b90ae672f9cd898f), "Evolvable enums": members after
  ``unknownFutureValue`` "are not returned by Microsoft Graph" unless the client sends
  ``Prefer: include-unknown-enum-members`` -- so a listed ``unknownFutureValue`` stands for a member not disclosed.
* conditionalaccesslocations.md, ipnamedlocation.md (isTrusted, ipRanges), countrynamedlocation.md.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.evaluate import conditional_access as ca
from compliance_checks.findings import Verdict, worst
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.sources.synth import load_synth

CHECKS = load_checks()
CA_TYPE = "Microsoft.Graph/conditionalAccessPolicies"
LOCATION_TYPE = "Microsoft.Graph/namedLocations"
MFA_POLICY = "smart-portal-dev: require MFA for developers"  # Azure management
VPN_MFA_POLICY = "smart-portal-dev: require MFA for the VPN"
VPN_BLOCK_POLICY = "smart-portal-dev: VPN only from the allowed IP"
MFA_CHECK = "entra_ca_mfa_for_developers"
VPN_CHECK = "entra_ca_vpn_allowed_ip_only"
TOKEN_CHECK = "entra_vpn_token_developers_only"

Edit = Callable[[dict[str, Any]], None]


@functools.cache
def _dev() -> Inventory:
    return load_synth("dev")[0]


def verdict_of(check_id: str, inventory: Inventory) -> Verdict:
    findings = CHECKS[check_id].evaluate(inventory, Params())
    relevant = [f.verdict for f in findings if f.verdict != Verdict.NOT_APPLICABLE]
    return worst(relevant) if relevant else Verdict.NOT_APPLICABLE


def edited(names: tuple[str, ...], edit: Edit, extra: tuple[Resource, ...] = ()) -> Inventory:
    """The dev estate with ``edit`` applied to the body of every named policy (and ``extra`` resources added)."""
    changed = []
    hit = 0
    for resource in _dev():
        if resource.type == CA_TYPE and resource.name in names:
            body = copy.deepcopy(dict(resource.body))
            edit(body)
            resource = resource.with_body(body)  # noqa: PLW2901 - the edited copy replaces the original
            hit += 1
        changed.append(resource)
    assert hit == len(names), f"not every policy of {names} is in the estate"
    return Inventory([*changed, *extra])


def _setter(path: str, value: Any) -> Edit:
    def edit(body: dict[str, Any]) -> None:
        *head, last = path.split(".")
        target = body
        for key in head:
            target = target.setdefault(key, {})
        target[last] = copy.deepcopy(value)

    return edit


def _location(ident: str, body: dict[str, Any]) -> Resource:
    return Resource.create(
        id=f"/namedLocations/{ident}",
        type=LOCATION_TYPE,
        name=f"location {ident}",
        body={"id": ident, "displayName": f"location {ident}", **body},
    )


ALL_MFA = (MFA_POLICY, VPN_MFA_POLICY)
AZURE_MANAGEMENT = ca.AZURE_MANAGEMENT
VPN_APP = "21ba904d-a7ce-4525-a09e-b2fbae79956b"  # the dev gateway's aadAudience


def test_the_dev_estate_passes_unchanged() -> None:
    """The baseline every case below breaks: without it, a FAIL below could be the estate's, not the case's."""
    for check in (MFA_CHECK, VPN_CHECK, TOKEN_CHECK):
        assert verdict_of(check, _dev()) == Verdict.PASS, check


# --- MFA for developers ---------------------------------------------------------------------------------------------

MFA_CASES: list[tuple[str, Edit, Verdict]] = [
    # A linux device is excluded, but Graph (without the Prefer header) returns that member as the sentinel: the
    # exclusion of an undisclosed platform cannot be ignored.
    (
        "exclude platform unknownFutureValue",
        _setter("conditions.platforms", {"includePlatforms": ["all"], "excludePlatforms": ["unknownFutureValue"]}),
        Verdict.ERROR,
    ),
    (
        "exclude platform linux",
        _setter("conditions.platforms", {"includePlatforms": ["all"], "excludePlatforms": ["linux"]}),
        Verdict.FAIL,
    ),
    ("report-only", _setter("state", "enabledForReportingButNotEnforced"), Verdict.FAIL),
    ("disabled", _setter("state", "disabled"), Verdict.FAIL),
    ("state not a known value", _setter("state", "enabledButNotReally"), Verdict.ERROR),
    (
        "mfa OR compliant device",
        _setter("grantControls", {"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}),
        Verdict.FAIL,
    ),
    (
        "mfa OR approved application",
        _setter("grantControls", {"operator": "OR", "builtInControls": ["mfa", "approvedApplication"]}),
        Verdict.FAIL,
    ),
    (
        "mfa OR terms of use",
        _setter(
            "grantControls",
            {"operator": "OR", "builtInControls": ["mfa"], "termsOfUse": ["c2ad3b39-0d36-4e94-b5a6-2cfd2e5a7b37"]},
        ),
        Verdict.FAIL,
    ),
    (
        "mfa OR a custom factor",
        _setter(
            "grantControls", {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": ["duo"]}
        ),
        Verdict.FAIL,
    ),
    (
        "mfa OR a new control",
        _setter("grantControls", {"operator": "OR", "builtInControls": ["mfa", "unknownFutureValue"]}),
        Verdict.ERROR,
    ),
    (
        "only terms of use",
        _setter(
            "grantControls",
            {"operator": "AND", "builtInControls": [], "termsOfUse": ["c2ad3b39-0d36-4e94-b5a6-2cfd2e5a7b37"]},
        ),
        Verdict.FAIL,
    ),
    (
        "a strength allowing password alone",
        _setter(
            "grantControls",
            {
                "operator": "OR",
                "authenticationStrength": {
                    "id": "5f4ed3a1-8a8b-4d71-9ad4-6d5bd5b1a6a1",
                    "allowedCombinations": ["password", "password,sms"],
                },
            },
        ),
        Verdict.FAIL,
    ),
    # requirementsSatisfied is what Graph computes; a body that claims "mfa" while it lists a single-factor
    # combination is contradictory: the combination that lets a password alone through decides.
    (
        "a strength claiming mfa while allowing password alone",
        _setter(
            "grantControls",
            {
                "operator": "OR",
                "authenticationStrength": {
                    "id": "5f4ed3a1-8a8b-4d71-9ad4-6d5bd5b1a6a1",
                    "requirementsSatisfied": "mfa",
                    "allowedCombinations": ["password"],
                },
            },
        ),
        Verdict.FAIL,
    ),
    (
        "a strength allowing email OTP",
        _setter(
            "grantControls",
            {
                "operator": "OR",
                "authenticationStrength": {
                    "id": "5f4ed3a1-8a8b-4d71-9ad4-6d5bd5b1a6a1",
                    "allowedCombinations": ["email"],
                },
            },
        ),
        Verdict.FAIL,
    ),
    (
        "a custom strength named only by id",
        _setter(
            "grantControls",
            {"operator": "OR", "authenticationStrength": {"id": "5f4ed3a1-8a8b-4d71-9ad4-6d5bd5b1a6a1"}},
        ),
        Verdict.ERROR,
    ),
    (
        "a strength requirement unknownFutureValue",
        _setter(
            "grantControls",
            {
                "operator": "OR",
                "authenticationStrength": {
                    "id": "5f4ed3a1-8a8b-4d71-9ad4-6d5bd5b1a6a1",
                    "requirementsSatisfied": "unknownFutureValue",
                },
            },
        ),
        Verdict.ERROR,
    ),
    (
        "operator missing with two controls",
        _setter("grantControls", {"builtInControls": ["mfa", "compliantDevice"]}),
        Verdict.ERROR,
    ),
    (
        "guests and external users excluded",
        _setter("conditions.users.excludeUsers", ["GuestsOrExternalUsers"]),
        Verdict.FAIL,
    ),
    (
        "b2b members excluded",
        _setter(
            "conditions.users.excludeGuestsOrExternalUsers",
            {"guestOrExternalUserTypes": "b2bCollaborationMember", "externalTenants": {"membershipKind": "all"}},
        ),
        Verdict.FAIL,
    ),
    (
        "a new guest kind excluded",
        _setter(
            "conditions.users.excludeGuestsOrExternalUsers",
            {"guestOrExternalUserTypes": "unknownFutureValue", "externalTenants": {"membershipKind": "all"}},
        ),
        Verdict.ERROR,
    ),
    (
        "another group excluded (a developer may be in it)",
        _setter("conditions.users.excludeGroups", ["0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"]),
        Verdict.FAIL,
    ),
    (
        "a role excluded",
        _setter("conditions.users.excludeRoles", ["62e90394-69f5-4237-9190-012177145e10"]),
        Verdict.FAIL,
    ),
    (
        "a role included instead of the group",
        _setter("conditions.users", {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}),
        Verdict.FAIL,
    ),
    (
        "one user excluded",
        _setter("conditions.users.excludeUsers", ["9a8b7c6d-0000-4000-8000-000000000001"]),
        Verdict.FAIL,
    ),
    (
        "modern clients only",
        _setter("conditions.clientAppTypes", ["browser", "mobileAppsAndDesktopClients"]),
        Verdict.FAIL,
    ),
    ("a new client app type", _setter("conditions.clientAppTypes", ["unknownFutureValue"]), Verdict.ERROR),
    ("easSupported only", _setter("conditions.clientAppTypes", ["easSupported"]), Verdict.FAIL),
    (
        "devices excluded by a filter",
        _setter("conditions.devices", {"deviceFilter": {"mode": "exclude", "rule": 'device.trustType -eq "ServerAD"'}}),
        Verdict.FAIL,
    ),
    ("only at high sign-in risk", _setter("conditions.signInRiskLevels", ["high"]), Verdict.FAIL),
    ("only at elevated insider risk", _setter("conditions.insiderRiskLevels", "elevated"), Verdict.FAIL),
    (
        "only for device code flow",
        _setter("conditions.authenticationFlows", {"transferMethods": "deviceCodeFlow"}),
        Verdict.FAIL,
    ),
    (
        "trusted locations excluded",
        _setter("conditions.locations", {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
        Verdict.FAIL,
    ),
    (
        "a location not in the inventory excluded",
        _setter(
            "conditions.locations",
            {"includeLocations": ["All"], "excludeLocations": ["3c1c3f0e-aaaa-4bbb-8ccc-0123456789ab"]},
        ),
        Verdict.ERROR,
    ),
    (
        "admin portals only",
        _setter("conditions.applications", {"includeApplications": ["MicrosoftAdminPortals"]}),
        Verdict.FAIL,
    ),
    (
        "all apps but Office 365",
        _setter("conditions.applications", {"includeApplications": ["All"], "excludeApplications": ["Office365"]}),
        Verdict.ERROR,
    ),
    (
        "all apps with an app filter excluding some",
        _setter(
            "conditions.applications",
            {
                "includeApplications": ["All"],
                "applicationFilter": {"mode": "exclude", "rule": 'CustomSecurityAttribute.Team -eq "x"'},
            },
        ),
        Verdict.ERROR,
    ),
    # Properties the model does not know inside the objects it reads are not ignored: each may widen where the
    # policy applies (an exclusion) or add a weaker alternative to the grant. Pulumi's azuread provider writes some
    # of them under its own names (applications.filter, grantControls.authenticationStrengthPolicyId, termsOfUses).
    ("an unknown grant property", _setter("grantControls.someFutureControl", ["x"]), Verdict.ERROR),
    (
        "azuread's strength id of a custom strength",
        _setter("grantControls.authenticationStrengthPolicyId", "5f4ed3a1-8a8b-4d71-9ad4-6d5bd5b1a6a1"),
        Verdict.ERROR,
    ),
    (
        "azuread's terms of use OR mfa",
        _setter("grantControls.termsOfUses", ["c2ad3b39-0d36-4e94-b5a6-2cfd2e5a7b37"]),
        Verdict.FAIL,
    ),
    (
        "azuread's application filter",
        _setter("conditions.applications.filter", {"mode": "exclude", "rule": 'CustomSecurityAttribute.Team -eq "x"'}),
        Verdict.ERROR,
    ),
    ("an unknown users property", _setter("conditions.users.excludeSomethingNew", ["x"]), Verdict.ERROR),
    (
        "an unknown platforms property",
        _setter("conditions.platforms", {"includePlatforms": ["all"], "excludeSomethingNew": ["x"]}),
        Verdict.ERROR,
    ),
    (
        "an unknown locations property",
        _setter("conditions.locations", {"includeLocations": ["All"], "excludeSomethingNew": ["x"]}),
        Verdict.ERROR,
    ),
    ("state written twice, differing in case", _setter("State", "enabledForReportingButNotEnforced"), Verdict.ERROR),
    ("a condition the model does not know", _setter("conditions.someFutureCondition", {"x": ["y"]}), Verdict.ERROR),
]


@pytest.mark.parametrize(("edit", "expected"), [c[1:] for c in MFA_CASES], ids=[c[0] for c in MFA_CASES])
def test_mfa_for_developers_is_never_passed_by(edit: Edit, expected: Verdict) -> None:
    assert verdict_of(MFA_CHECK, edited(ALL_MFA, edit)) == expected


def test_annotations_and_a_built_in_strength_named_by_azuread_still_pass() -> None:
    """Graph annotates an expanded strength (``authenticationStrength@odata.context``) and azuread names it by
    ``authenticationStrengthPolicyId``: the built-in "Multifactor authentication" strength is MFA either way."""
    mfa_strength = "00000000-0000-0000-0000-000000000002"  # infra/data/well_known_ids.json, built-in strengths

    def edit(body: dict[str, Any]) -> None:
        body["grantControls"] = {
            "operator": "OR",
            "authenticationStrengthPolicyId": mfa_strength,
            "authenticationStrength@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x",
            "@odata.type": "#microsoft.graph.conditionalAccessGrantControls",
        }

    assert verdict_of(MFA_CHECK, edited(ALL_MFA, edit)) == Verdict.PASS


def test_device_filter_rules_differing_inside_a_quoted_value_are_different_rules() -> None:
    """One policy demands MFA of devices named "a  b" (two spaces), the other of every device but those named "a b":
    a device named "a b" matches neither (conditionalaccessfilter.md: mode include/exclude and a rule; the rule
    compares the device's attribute with the quoted value). Folding the whitespace made them one rule: PASS."""
    both = {"includeApplications": [AZURE_MANAGEMENT, VPN_APP]}

    def edit(body: dict[str, Any]) -> None:
        body["conditions"]["applications"] = copy.deepcopy(both)
        two_spaces = body["displayName"] == MFA_POLICY
        body["conditions"]["devices"] = {
            "deviceFilter": {
                "mode": "include" if two_spaces else "exclude",
                "rule": 'device.displayName -eq "a  b"' if two_spaces else 'device.displayName -eq "a b"',
            }
        }

    assert verdict_of(MFA_CHECK, edited(ALL_MFA, edit)) == Verdict.FAIL


def test_excluded_platforms_beside_no_included_one_are_unknown() -> None:
    """conditionalaccessplatforms.md gives no default for an empty includePlatforms: beside exclusions, "all" and
    "none" are both readings. Here the second policy covers the excluded platform, so only reading it as "all" PASSes."""
    both = {"includeApplications": [AZURE_MANAGEMENT, VPN_APP]}

    def edit(body: dict[str, Any]) -> None:
        body["conditions"]["applications"] = copy.deepcopy(both)
        first = body["displayName"] == MFA_POLICY
        body["conditions"]["platforms"] = (
            {"excludePlatforms": ["windowsPhone"]} if first else {"includePlatforms": ["windowsPhone"]}
        )

    assert verdict_of(MFA_CHECK, edited(ALL_MFA, edit)) == Verdict.ERROR


@pytest.mark.parametrize("mode", ["unknownFutureValue", "Exclude ", None])
def test_an_application_filter_of_unknown_mode_may_exclude(mode: str | None) -> None:
    """conditionalaccessfilter.md: mode is include or exclude. Any other value may be an exclusion of the very app."""

    def edit(body: dict[str, Any]) -> None:
        body["conditions"]["applications"]["applicationFilter"] = {
            "mode": mode,
            "rule": 'CustomSecurityAttribute.Team -eq "x"',
        }

    assert verdict_of(MFA_CHECK, edited(ALL_MFA, edit)) == Verdict.ERROR


def test_an_unknown_property_of_the_excluded_guests_is_not_ignored() -> None:
    """conditionalaccessguestsorexternalusers.md: guestOrExternalUserTypes and externalTenants (membershipKind,
    members). Another property may widen the exclusion to the developers."""

    def edit(body: dict[str, Any]) -> None:
        body["conditions"]["users"]["excludeGuestsOrExternalUsers"] = {
            "guestOrExternalUserTypes": "none",
            "someFutureFilter": ["x"],
        }

    assert verdict_of(MFA_CHECK, edited(ALL_MFA, edit)) == Verdict.ERROR


def test_excluding_a_platform_graph_did_not_disclose_is_not_ignored_by_the_evaluator() -> None:
    """The partition and the reference reading agree that the exclusion of ``unknownFutureValue`` is unknown."""
    body = {
        "state": "enabled",
        "conditions": {
            "users": {"includeUsers": ["All"]},
            "applications": {"includeApplications": ["All"]},
            "platforms": {"includePlatforms": ["all"], "excludePlatforms": ["unknownFutureValue"]},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }
    model = ca.build([("p", body)], apps=["app"])
    question = ca.query(model, app="app")
    statuses = {r.status for r in model.cells(question, frozenset({ca.Outcome.MFA}))}
    assert statuses == {ca.Status.UNKNOWN}
    assert {s for _, s in model.brute_force(question, frozenset({ca.Outcome.MFA}))} == {ca.Status.UNKNOWN}


# --- the VPN from the allowed IP only -------------------------------------------------------------------------------

EVERYWHERE_V4 = "0a0a0a0a-0000-4000-8000-00000000e4e4"
EVERYWHERE_V6 = "0a0a0a0a-0000-4000-8000-00000000e6e6"
COUNTRY = "0a0a0a0a-0000-4000-8000-00000000c0c0"


VPN_CASES: list[tuple[str, Edit, tuple[Resource, ...], Verdict]] = [
    ("report-only block", _setter("state", "enabledForReportingButNotEnforced"), (), Verdict.FAIL),
    (
        "block OR mfa",
        _setter("grantControls", {"operator": "OR", "builtInControls": ["block", "mfa"]}),
        (),
        Verdict.ERROR,
    ),
    (
        "block only outside trusted locations",
        _setter("conditions.locations", {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
        (),
        Verdict.FAIL,
    ),
    (
        "block only from IPv4 everywhere (IPv6 left open)",
        _setter(
            "conditions.locations",
            {"includeLocations": [EVERYWHERE_V4], "excludeLocations": ["d2c2df3e0fff88afbe10e3aaa0ef27f9"]},
        ),
        (_location(EVERYWHERE_V4, {"isTrusted": False, "ipRanges": [{"cidrAddress": "0.0.0.0/0"}]}),),
        Verdict.FAIL,
    ),
    (
        "block from IPv4 and IPv6 everywhere but the allowed IP",
        _setter(
            "conditions.locations",
            {
                "includeLocations": [EVERYWHERE_V4, EVERYWHERE_V6],
                "excludeLocations": ["d2c2df3e0fff88afbe10e3aaa0ef27f9"],
            },
        ),
        (
            _location(EVERYWHERE_V4, {"ipRanges": [{"cidrAddress": "0.0.0.0/0"}]}),
            _location(EVERYWHERE_V6, {"ipRanges": [{"cidrAddress": "::/0"}]}),
        ),
        Verdict.PASS,
    ),
    (
        "a trusted location covering IPv6 everywhere excluded as trusted",
        _setter("conditions.locations", {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
        (_location(EVERYWHERE_V6, {"isTrusted": True, "ipRanges": [{"cidrAddress": "::/0"}]}),),
        Verdict.FAIL,
    ),
    (
        "a country excluded",
        _setter(
            "conditions.locations",
            {"includeLocations": ["All"], "excludeLocations": ["d2c2df3e0fff88afbe10e3aaa0ef27f9", COUNTRY]},
        ),
        (_location(COUNTRY, {"countriesAndRegions": ["DE"], "includeUnknownCountriesAndRegions": False}),),
        Verdict.FAIL,
    ),
    # conditionalaccesslocations.md says what includeLocations holds ("Location IDs in scope of policy unless
    # explicitly excluded, All, or AllTrusted") but not what an empty one means beside exclusions: every published
    # policy names "All". Read as "All", the block covers everywhere but the allowed IP; read as nothing, it blocks
    # nothing. Which one Entra applies is not documented: unknown.
    (
        "exclusions without any included location",
        _setter("conditions.locations", {"excludeLocations": ["d2c2df3e0fff88afbe10e3aaa0ef27f9"]}),
        (),
        Verdict.ERROR,
    ),
    (
        "exclusions beside an empty included list",
        _setter(
            "conditions.locations", {"includeLocations": [], "excludeLocations": ["d2c2df3e0fff88afbe10e3aaa0ef27f9"]}
        ),
        (),
        Verdict.ERROR,
    ),
    (
        "a platform the sentinel hides excluded",
        _setter("conditions.platforms", {"includePlatforms": ["all"], "excludePlatforms": ["unknownFutureValue"]}),
        (),
        Verdict.ERROR,
    ),
    ("block only for browsers", _setter("conditions.clientAppTypes", ["browser"]), (), Verdict.FAIL),
    (
        "compliant devices exempt from the block",
        _setter("conditions.devices", {"deviceFilter": {"mode": "exclude", "rule": "device.isCompliant -eq True"}}),
        (),
        Verdict.FAIL,
    ),
    (
        "guests exempt from the block",
        _setter("conditions.users.excludeUsers", ["GuestsOrExternalUsers"]),
        (),
        Verdict.FAIL,
    ),
]


@pytest.mark.parametrize(("edit", "extra", "expected"), [c[1:] for c in VPN_CASES], ids=[c[0] for c in VPN_CASES])
def test_vpn_only_from_the_allowed_ip_is_never_passed_by(
    edit: Edit, extra: tuple[Resource, ...], expected: Verdict
) -> None:
    assert verdict_of(VPN_CHECK, edited((VPN_BLOCK_POLICY,), edit, extra)) == expected


@pytest.mark.parametrize(("cidr", "trusted"), [("0.0.0.0/0", True), ("::/0", True), ("93.184.216.35/32", False)])
def test_a_second_range_in_the_allowed_location_opens_the_vpn(cidr: str, trusted: bool) -> None:
    """The location the block excludes also covers the internet (IPv4 or IPv6), or one more address: FAIL."""
    changed = []
    for resource in _dev():
        if resource.type == LOCATION_TYPE:
            body = copy.deepcopy(dict(resource.body))
            body["ipRanges"] = [*body["ipRanges"], {"cidrAddress": cidr}]
            body["isTrusted"] = trusted
            resource = resource.with_body(body)  # noqa: PLW2901 - the edited copy replaces the original
        changed.append(resource)
    assert verdict_of(VPN_CHECK, Inventory(changed)) == Verdict.FAIL
