"""``entra_vpn_token_developers_only`` against Microsoft's published Graph v1.0 examples, through the live normaliser.

Every body below starts as an example from microsoftgraph/microsoft-graph-docs-contrib
(``tests/fixtures/graph/*.json``: the example's text verbatim, with the
repository path and commit it was read at). A case changes only what its name
says (``retarget`` points an example at the VPN's audience, the developers'
group or a service principal, because the published IDs are Contoso's) and
states the verdict the documented semantics give, with the documentation
that decides it:

* ``servicePrincipal.appRoleAssignmentRequired``: "whether users ... need to be
  granted an app role assignment ... before users can sign in or apps can get
  tokens. The default value is false" (resources/serviceprincipal.md);
* ``appRoleAssignment``: "If an app role is assigned to a group, direct members
  of the group are also considered to have been assigned" (resources/approleassignment.md);
* ``conditionalAccessUsers.includeGroups``: "in scope of policy unless explicitly
  excluded"; ``excludeUsers``: "User IDs excluded from scope of policy and/or
  GuestsOrExternalUsers" (resources/conditionalaccessusers.md);
* ``conditionalAccessApplications.includeApplications``: "the policy applies to,
  unless explicitly excluded (in excludeApplications)" (resources/conditionalaccessapplications.md);
* ``conditionalAccessPolicy.state``: ``enabled``, ``disabled``,
  ``enabledForReportingButNotEnforced`` (resources/conditionalaccesspolicy.md);
* ``conditionalAccessConditionSet``: "the rules that must be met for the policy
  to apply": client app types, locations, platforms, risk levels
  (resources/conditionalaccessconditionset.md).

The check judges every class of users who can get a token with the Conditional
Access evaluator: a FAIL names the open path in its message, or lists the
sign-in cells left open as rows of its ``cellsOpen`` table (who, sign-in,
outcome), and the cases name a fragment of either.

The bodies go through the same path as a live read: Graph's answer with the
collector's ``$select`` applied, then ``compliance_checks.sources.live.load_live``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.checks.base import Params
from compliance_checks.checks.entra_vpn_token_developers_only import CHECK
from compliance_checks.findings import Finding, Verdict, worst
from compliance_checks.live.collect import Collection
from compliance_checks.live.graph import (
    APP_ROLE_ASSIGNED_TO,
    ASSIGNMENT_FIELDS,
    GROUPS,
    POLICIES,
    SERVICE_PRINCIPAL_FIELDS,
    SERVICE_PRINCIPALS,
)
from compliance_checks.sources.live import load_live
from tests.live import estate as live

FIXTURES = Path(__file__).parent / "fixtures" / "graph"
DOCS_REPO = "microsoftgraph/microsoft-graph-docs-contrib"

AUDIENCE = live.VPN_CLIENT_ID  # the gateway's Entra audience in every case
DEVELOPERS = "33ad69f9-da99-4bed-acd0-3f24235cb296"  # the group of serviceprincipal-post-approleassignedto.md
DEVELOPER = "cdb555e3-b33e-4fd5-a427-17fadacbdfa7"  # a user of serviceprincipal-list-approleassignedto.md


def example(name: str) -> Any:
    """The published body of ``tests/fixtures/graph/{name}.json``, parsed (a fresh copy each time)."""
    document = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return json.loads(document["text"])


def listed(name: str) -> list[dict[str, Any]]:
    items = example(name)["value"]
    assert isinstance(items, list)
    return items


# --- the tenant a case describes, read as the live collector reads it ---------------------------------------------


@dataclass
class Tenant:
    principals: list[dict[str, Any]] = field(default_factory=list)  # servicePrincipal bodies with appRoleAssignedTo
    policies: list[dict[str, Any]] = field(default_factory=list)
    groups: list[str] = field(default_factory=lambda: [DEVELOPERS])  # group IDs the policies/assignments name
    members: dict[str, list[str]] = field(default_factory=dict)  # group ID -> member user IDs


def _selected(body: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """What Graph answers to the collector's ``$select``: the selected properties the object has."""
    return {key: body[key] for key in fields if key in body}


def _group(group_id: str, members: list[str]) -> dict[str, Any]:
    group = {key: value for key, value in live.developers_group().items() if key != "securityIdentifier"}
    group.update(id=group_id, displayName=f"group {group_id[:8]}")
    group["members"] = [{"@odata.type": "#microsoft.graph.user", "id": member} for member in members]
    return group


def audit(tenant: Tenant) -> Finding:
    collection = Collection((live.SUBSCRIPTION_ID,))
    gateway = live.virtual_network_gateway()
    gateway["properties"]["vpnClientConfiguration"]["aadAudience"] = AUDIENCE
    collection.arm.append(gateway)
    collection.graph.extend((POLICIES, policy) for policy in tenant.policies)
    collection.graph.extend((GROUPS, _group(g, tenant.members.get(g, []))) for g in tenant.groups)
    for principal in tenant.principals:
        read = _selected(principal, SERVICE_PRINCIPAL_FIELDS)
        read[APP_ROLE_ASSIGNED_TO] = [_selected(a, ASSIGNMENT_FIELDS) for a in principal.get(APP_ROLE_ASSIGNED_TO, [])]
        collection.graph.append((SERVICE_PRINCIPALS, read))
    findings = CHECK.evaluate(load_live(collection), Params())
    # One verdict on the gateway; the guard of Check.evaluate may add ERRORs for values outside their domain.
    [finding] = [f for f in findings if f.resource_type == "Microsoft.Network/virtualNetworkGateways"]
    guarded = [f for f in findings if f is not finding]
    if guarded:
        verdict = worst([finding.verdict, *(f.verdict for f in guarded)])
        message = " ".join([finding.message, *(f.message for f in guarded)])
        finding = replace(finding, verdict=verdict, message=message)
    return finding


# --- building blocks: published examples, pointed at this tenant --------------------------------------------------


def principal_2019(app_id: str = AUDIENCE) -> dict[str, Any]:
    """serviceprincipal-list.md (2019): ``appRoleAssignmentRequired: false``; its appId replaced by ``app_id``."""
    [principal] = listed("serviceprincipal-list-2019")
    principal["appId"] = app_id
    return principal


def principal_requiring_assignment(*assignments: dict[str, Any]) -> dict[str, Any]:
    """serviceprincipal-get.md example 1 (``appRoleAssignmentRequired: true``), appId := the audience.

    Its ``id`` becomes the ``resourceId`` the assignments name (the examples' service principals differ).
    """
    principal: dict[str, Any] = example("serviceprincipal-get-example1")
    principal["appId"] = AUDIENCE
    principal["id"] = "9028d19c-26a9-4809-8e3f-20ff73e2d75e"  # the resource of serviceprincipal-post-approleassignedto
    principal[APP_ROLE_ASSIGNED_TO] = [dict(a, resourceId=principal["id"]) for a in assignments]
    return principal


def developers_assigned() -> dict[str, Any]:
    """serviceprincipal-post-approleassignedto.md response: a group assigned (its principalId is DEVELOPERS)."""
    assignment = example("serviceprincipal-post-approleassignedto")
    assignment.pop("@odata.context")
    return dict(assignment)


def user_assigned() -> dict[str, Any]:
    """serviceprincipal-list-approleassignedto.md: a user (principalType User) assigned directly."""
    [assignment] = listed("serviceprincipal-list-approleassignedto")
    return assignment


def other_group_assigned() -> dict[str, Any]:
    """group-list-approleassignments.md: another group's assignment."""
    [assignment] = listed("group-list-approleassignments")
    return assignment


def retarget(policy: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A published policy with dotted paths changed (``conditions.users.includeGroups=[...]``); None deletes a key."""
    policy = copy.deepcopy(policy)
    policy.pop("@odata.context", None)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = policy
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return policy


def mfa_for_developers(**changes: Any) -> dict[str, Any]:
    """Example 4 (grant ``mfa``, no location, platform or client-app condition), for the VPN app and DEVELOPERS."""
    defaults: dict[str, Any] = {
        "conditions__applications__includeApplications": [AUDIENCE],
        "conditions__users__includeGroups": [DEVELOPERS],
    }
    return retarget(example("conditionalaccesspolicy-post-example4"), **(defaults | changes))


def block_all_but_developers(**changes: Any) -> dict[str, Any]:
    """Example 2 (grant ``block``) for the VPN app and every user but DEVELOPERS, its location condition removed."""
    defaults: dict[str, Any] = {
        "conditions__applications__includeApplications": [AUDIENCE],
        "conditions__users__includeUsers": ["All"],
        "conditions__users__includeGroups": [],
        "conditions__users__excludeGroups": [DEVELOPERS],
        "conditions__locations": None,
    }
    return retarget(example("conditionalaccesspolicy-post-example2"), **(defaults | changes))


DEMO = "conditionalaccesspolicy-post-example3"  # every condition and control, state disabled


@dataclass(frozen=True)
class Case:
    name: str
    tenant: Callable[[], Tenant]
    verdict: Verdict
    reason: str
    open_path: str = ""  # a fragment the FAIL evidence must name


ASSIGNED_WITH_MFA = (principal_requiring_assignment(developers_assigned()),)

CASES = [
    # --- service principals as published ---------------------------------------------------------------------------
    Case(
        "the 2019 list example is another app: no principal for the audience",
        lambda: Tenant(principals=[principal_2019("65415bb1-9267-4313-bbf5-ae259732ee12")]),
        Verdict.FAIL,
        "no service principal means Entra's default, appRoleAssignmentRequired false: any user gets a token",
        "no service principal for audience",
    ),
    Case(
        "the 2019 list example as the audience's principal: assignment not required",
        lambda: Tenant(principals=[principal_2019()]),
        Verdict.FAIL,
        "appRoleAssignmentRequired false: users need no assignment to get a token",
        "appRoleAssignmentRequired=False",
    ),
    Case(
        "the truncated list example 1: no appId, no assignment flag",
        lambda: Tenant(principals=listed("serviceprincipal-list-example1")),
        Verdict.ERROR,
        "whose principal it is and whether it requires assignment are unknown",
    ),
    Case(
        "the get example (assignment required), nobody assigned",
        lambda: Tenant(principals=[principal_requiring_assignment()]),
        Verdict.PASS,
        "assignment required and no assignment: nobody gets a token",
    ),
    Case(
        "assignment required, the developers' group assigned, under an enforced MFA policy",
        lambda: Tenant(principals=list(copy.deepcopy(ASSIGNED_WITH_MFA)), policies=[mfa_for_developers()]),
        Verdict.PASS,
        "only members of the assigned group get a token, and they pass MFA",
    ),
    Case(
        "assigned group, the MFA policy report-only",
        lambda: Tenant(
            principals=list(copy.deepcopy(ASSIGNED_WITH_MFA)),
            policies=[mfa_for_developers(state="enabledForReportingButNotEnforced")],
        ),
        Verdict.FAIL,
        "enabledForReportingButNotEnforced does not enforce MFA",
        "not under an enforced MFA policy",
    ),
    Case(
        "assigned group, the MFA policy disabled",
        lambda: Tenant(
            principals=list(copy.deepcopy(ASSIGNED_WITH_MFA)), policies=[mfa_for_developers(state="disabled")]
        ),
        Verdict.FAIL,
        "a disabled policy enforces nothing",
        "not under an enforced MFA policy",
    ),
    Case(
        "assigned group, no MFA policy",
        lambda: Tenant(principals=list(copy.deepcopy(ASSIGNED_WITH_MFA))),
        Verdict.FAIL,
        "the group's members get a token without MFA",
        "not under an enforced MFA policy",
    ),
    Case(
        "a user assigned directly (the appRoleAssignedTo example)",
        lambda: Tenant(
            principals=[principal_requiring_assignment(developers_assigned(), user_assigned())],
            policies=[mfa_for_developers()],
        ),
        Verdict.FAIL,
        "a direct user assignment admits someone outside the group",
        f"User {DEVELOPER} is assigned to the VPN app directly",
    ),
    Case(
        "a second group assigned (the group appRoleAssignments example)",
        lambda: Tenant(
            principals=[principal_requiring_assignment(developers_assigned(), other_group_assigned())],
            policies=[mfa_for_developers()],
            groups=[DEVELOPERS, "7679d9a4-2323-44cd-b5c2-673ec88d8b12"],
        ),
        Verdict.FAIL,
        "members of a second group get a token",
        "2 groups are assigned",
    ),
    # --- a field unknown ---------------------------------------------------------------------------------------------
    Case(
        "the get example without appRoleAssignmentRequired",
        lambda: Tenant(principals=[retarget(principal_requiring_assignment(), appRoleAssignmentRequired=None)]),
        Verdict.ERROR,
        "whether assignment is required is unknown",
    ),
    Case(
        "an assignment without principalType, its principal no known group",
        lambda: Tenant(
            principals=[principal_requiring_assignment(retarget(user_assigned(), principalType=None))],
            policies=[mfa_for_developers()],
        ),
        Verdict.ERROR,
        "a user or a group: unknown",
    ),
    Case(
        "an assignment without principalType, its principal the known group",
        lambda: Tenant(
            principals=[principal_requiring_assignment(retarget(developers_assigned(), principalType=None))],
            policies=[mfa_for_developers()],
        ),
        # Graph returns principalType on every appRoleAssignment (read-only, approleassignment.md): an answer
        # without it is malformed, and the live source makes a selected field it lacks UNKNOWN.
        Verdict.ERROR,
        "principaltype not a valid value",
    ),
    Case(
        "an assignment without principalId",
        lambda: Tenant(
            principals=[principal_requiring_assignment(retarget(developers_assigned(), principalId=None))],
            policies=[mfa_for_developers()],
        ),
        Verdict.ERROR,
        "who is assigned is unknown",
    ),
    Case(
        "an assignment without resourceId",
        lambda: Tenant(
            principals=[
                dict(
                    principal_requiring_assignment(),
                    appRoleAssignedTo=[retarget(user_assigned(), resourceId=None)],
                )
            ],
            policies=[mfa_for_developers()],
        ),
        Verdict.ERROR,
        "an assignment read under the principal that does not say its resource: unknown, never ignored",
    ),
    # --- the MFA that makes an assigned group acceptable --------------------------------------------------------------
    Case(
        "the assigned group's MFA only outside trusted locations, for two client app types (example 1)",
        lambda: Tenant(
            principals=list(copy.deepcopy(ASSIGNED_WITH_MFA)),
            policies=[
                retarget(
                    example("conditionalaccesspolicy-post-example1"),
                    conditions__applications__includeApplications=[AUDIENCE],
                    conditions__users__includeGroups=[DEVELOPERS],
                )
            ],
        ),
        Verdict.FAIL,
        "the conditions must be met for the policy to apply: from a trusted location, or from another client app"
        " type, a developer gets the VPN token without MFA",
        "not under an enforced MFA policy",
    ),
    Case(
        "the assigned group's MFA policy excludes one of its members",
        lambda: Tenant(
            principals=list(copy.deepcopy(ASSIGNED_WITH_MFA)),
            policies=[mfa_for_developers(conditions__users__excludeUsers=[DEVELOPER])],
            members={DEVELOPERS: [DEVELOPER]},
        ),
        Verdict.FAIL,
        "includeGroups is in scope 'unless explicitly excluded': the excluded member gets a token without MFA",
        "not under an enforced MFA policy",
    ),
    Case(
        "the MFA policy covers All apps but excludes the VPN app",
        lambda: Tenant(
            principals=list(copy.deepcopy(ASSIGNED_WITH_MFA)),
            policies=[
                mfa_for_developers(
                    conditions__applications__includeApplications=["All"],
                    conditions__applications__excludeApplications=[AUDIENCE],
                )
            ],
        ),
        Verdict.FAIL,
        "includeApplications applies 'unless explicitly excluded (in excludeApplications)': no MFA for the VPN app",
        "not under an enforced MFA policy",
    ),
    # --- blocking policies (the principal does not require assignment) -------------------------------------------------
    Case(
        "example 2 as published blocks Exchange Online for a group, not the VPN app",
        lambda: Tenant(principals=[principal_2019()], policies=[example("conditionalaccesspolicy-post-example2")]),
        Verdict.FAIL,
        "nothing blocks the VPN app",
        "appRoleAssignmentRequired=False",
    ),
    Case(
        "example 2 retargeted: block the VPN app for all users but the developers (under MFA)",
        lambda: Tenant(principals=[principal_2019()], policies=[block_all_but_developers(), mfa_for_developers()]),
        Verdict.PASS,
        "everyone else is blocked; the developers pass MFA",
    ),
    Case(
        "the block, its named-location condition kept (example 2)",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                block_all_but_developers(
                    conditions__locations={"includeLocations": ["198ad66e-87b3-4157-85a3-8a7b51794ee9"]}
                ),
                mfa_for_developers(),
            ],
        ),
        # The named location is not in the tenant's inventory: where the block applies cannot be known (it might
        # be every address), so the evaluator cannot tell who is blocked.
        Verdict.ERROR,
        "blocked only inside a named location whose ranges are unknown: who is blocked is unknown",
    ),
    Case(
        "the block for two client app types only (example 1's)",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                block_all_but_developers(conditions__clientAppTypes=["mobileAppsAndDesktopClients", "browser"]),
                mfa_for_developers(),
            ],
        ),
        Verdict.FAIL,
        "other client app types are not blocked",
        "client app 'exchangeActiveSync', 'other'",
    ),
    Case(
        "the block with example 3's platforms",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                block_all_but_developers(conditions__platforms=example(DEMO)["conditions"]["platforms"]),
                mfa_for_developers(),
            ],
        ),
        Verdict.FAIL,
        "iOS and Windows Phone are excluded from the block",
        "platform 'iOS', 'windowsPhone'",
    ),
    Case(
        "the block with example 3's sign-in risk levels",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                block_all_but_developers(conditions__signInRiskLevels=["high", "medium"]),
                mfa_for_developers(),
            ],
        ),
        Verdict.FAIL,
        "only risky sign-ins are blocked",
        "sign-in risk not 'high', 'medium'",
    ),
    Case(
        "the block excludes example 3's user and GuestsOrExternalUsers",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                block_all_but_developers(
                    conditions__users__excludeUsers=example(DEMO)["conditions"]["users"]["excludeUsers"]
                ),
                mfa_for_developers(),
            ],
        ),
        Verdict.FAIL,
        "the excluded user and every guest get a token",
        "user '124c5b6a-ffa5-483a-9b88-04c3fce5574a'",
    ),
    Case(
        "the block excludes example 3's directory role",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                block_all_but_developers(
                    conditions__users__excludeRoles=example(DEMO)["conditions"]["users"]["excludeRoles"]
                ),
                mfa_for_developers(),
            ],
        ),
        Verdict.FAIL,
        "holders of the excluded role get a token",
        "holding role " + example(DEMO)["conditions"]["users"]["excludeRoles"][0],
    ),
    Case(
        "the block report-only",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[block_all_but_developers(state="enabledForReportingButNotEnforced"), mfa_for_developers()],
        ),
        Verdict.FAIL,
        "enabledForReportingButNotEnforced blocks nobody",
        "appRoleAssignmentRequired=False",
    ),
    Case(
        "the block disabled",
        lambda: Tenant(
            principals=[principal_2019()], policies=[block_all_but_developers(state="disabled"), mfa_for_developers()]
        ),
        Verdict.FAIL,
        "a disabled policy blocks nobody",
        "appRoleAssignmentRequired=False",
    ),
    Case(
        "the block exempts a second group",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                block_all_but_developers(
                    conditions__users__excludeGroups=[DEVELOPERS, "7679d9a4-2323-44cd-b5c2-673ec88d8b12"]
                ),
                mfa_for_developers(),
            ],
            groups=[DEVELOPERS, "7679d9a4-2323-44cd-b5c2-673ec88d8b12"],
        ),
        Verdict.FAIL,
        "the second group's members get a token",
        "member of group 7679d9a4-2323-44cd-b5c2-673ec88d8b12",
    ),
    Case(
        "the block exempts the developers, who have no enforced MFA",
        lambda: Tenant(principals=[principal_2019()], policies=[block_all_but_developers()]),
        Verdict.FAIL,
        "the exempted developers get a token without MFA",
        "is not under enforced MFA for the VPN app",
    ),
    Case(
        "example 3 made a block (enabled, All users): its conditions and exclusions stay",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                retarget(
                    example(DEMO),
                    state="enabled",
                    grantControls__builtInControls=["block"],
                    conditions__users__includeUsers=["All"],
                )
            ],
        ),
        Verdict.FAIL,
        "risk levels, client app types, platforms and locations narrow it; users and a role are excluded",
        "sign-in risk not 'high', 'medium'",
    ),
    Case(
        "example 3 made a clean block of All apps, but its excludeApplications lists the VPN app",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                retarget(
                    example(DEMO),
                    state="enabled",
                    grantControls__builtInControls=["block"],
                    conditions__users__includeUsers=["All"],
                    conditions__users__excludeUsers=[],
                    conditions__users__excludeRoles=[],
                    conditions__users__excludeGroups=[DEVELOPERS],
                    conditions__signInRiskLevels=[],
                    conditions__clientAppTypes=["all"],
                    conditions__platforms=None,
                    conditions__locations=None,
                    conditions__applications__excludeApplications=[
                        *example(DEMO)["conditions"]["applications"]["excludeApplications"],
                        AUDIENCE,
                    ],
                ),
                mfa_for_developers(),
            ],
        ),
        Verdict.FAIL,
        "includeApplications applies 'unless explicitly excluded (in excludeApplications)': the VPN app is not blocked",
        "appRoleAssignmentRequired=False",
    ),
    # --- every non-developer class blocked in every cell (issue 12: judged by the Conditional Access evaluator) ------
    Case(
        "a user assigned directly, and example 2 retargeted blocks that user on the VPN app",
        lambda: Tenant(
            principals=[principal_requiring_assignment(developers_assigned(), user_assigned())],
            policies=[
                mfa_for_developers(),
                block_all_but_developers(
                    conditions__users__includeUsers=[DEVELOPER], conditions__users__excludeGroups=[]
                ),
            ],
        ),
        Verdict.PASS,
        "the directly assigned user gets no token in any sign-in: every one is blocked",
    ),
    Case(
        "a second group assigned, and example 2 as published blocks that group (for Exchange Online only)",
        lambda: Tenant(
            principals=[principal_requiring_assignment(developers_assigned(), other_group_assigned())],
            policies=[
                mfa_for_developers(),
                retarget(example("conditionalaccesspolicy-post-example2"), conditions__locations=None),
            ],
            groups=[DEVELOPERS, "7679d9a4-2323-44cd-b5c2-673ec88d8b12"],
        ),
        Verdict.FAIL,
        "example 2 blocks Exchange Online, not the VPN app: the second group's members get a token",
        "2 groups are assigned",
    ),
    Case(
        "the block split over two policies by client app type (example 1's types, then the rest)",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                block_all_but_developers(conditions__clientAppTypes=["mobileAppsAndDesktopClients", "browser"]),
                block_all_but_developers(id="second", conditions__clientAppTypes=["exchangeActiveSync", "other"]),
                mfa_for_developers(),
            ],
        ),
        Verdict.PASS,
        "every client app type is blocked by one of the two enabled policies: together they cover every cell",
    ),
    Case(
        "the block split over two policies, the second report-only",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                block_all_but_developers(conditions__clientAppTypes=["mobileAppsAndDesktopClients", "browser"]),
                block_all_but_developers(
                    id="second",
                    state="enabledForReportingButNotEnforced",
                    conditions__clientAppTypes=["exchangeActiveSync", "other"],
                ),
                mfa_for_developers(),
            ],
        ),
        Verdict.FAIL,
        "a report-only policy blocks nobody: the other client app types are open",
        "client app 'exchangeActiveSync', 'other'",
    ),
    Case(
        "the list example's SimplePolicy1 (block, no apps, no users, disabled)",
        lambda: Tenant(principals=[principal_2019()], policies=listed("conditionalaccessroot-list-policies")),
        Verdict.FAIL,
        "it applies to no app and no user",
        "appRoleAssignmentRequired=False",
    ),
    Case(
        "SimplePolicy1 enabled for the VPN app but includeUsers None",
        lambda: Tenant(
            principals=[principal_2019()],
            policies=[
                retarget(
                    listed("conditionalaccessroot-list-policies")[0],
                    state="enabled",
                    conditions__applications__includeApplications=[AUDIENCE],
                )
            ],
        ),
        Verdict.FAIL,
        "includeUsers None blocks nobody",
        "appRoleAssignmentRequired=False",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_check_gives_the_documented_verdict(case: Case) -> None:
    finding = audit(case.tenant())
    assert finding.verdict == case.verdict, f"{case.reason}; the check says: {finding.message}"
    if case.verdict == Verdict.FAIL:
        # The open path is named in the message, or the cells left open are rows of the evidence table.
        [rows] = [e.observed for e in finding.evidence if e.path == "cellsOpen"]
        shown = finding.message + json.dumps(rows)
        assert case.open_path and case.open_path in shown, shown
        assert isinstance(rows, list) and all(set(row) == {"who", "sign-in", "outcome"} for row in rows)


# --- the corpus itself -------------------------------------------------------------------------------------------


def test_every_example_is_cited_and_published_json() -> None:
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) >= 11
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        source = document["source"]
        assert set(source) == {"repo", "path", "commit"}, path.name
        assert source["repo"] == DOCS_REPO and source["path"].startswith("api-reference/v1.0/"), path.name
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), path.name
        assert document["example"] and document["resource"], path.name
        assert isinstance(json.loads(document["text"]), dict), path.name


def test_the_corpus_covers_what_the_check_reads() -> None:
    resources = {json.loads(p.read_text(encoding="utf-8"))["resource"] for p in FIXTURES.glob("*.json")}
    assert resources >= {
        "servicePrincipal",
        "servicePrincipal collection",
        "appRoleAssignment",
        "appRoleAssignment collection",
        "conditionalAccessPolicy",
        "conditionalAccessPolicy collection",
    }
    blocking = [
        p.name
        for p in FIXTURES.glob("conditionalaccess*.json")
        if '"block"' in json.loads(p.read_text(encoding="utf-8"))["text"]
    ]
    assert len(blocking) >= 2
