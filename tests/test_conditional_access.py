"""The Conditional Access evaluator: a corpus of published policies with mutations, and the partition against
a brute-force enumeration of every sign-in of small random tenants."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from compliance_checks.evaluate import conditional_access as ca
from compliance_checks.inventory import UNKNOWN

CORPUS = json.loads((Path(__file__).parent / "corpus" / "conditional_access" / "corpus.json").read_text())
MFA_OR_BLOCK = frozenset({ca.Outcome.MFA, ca.Outcome.BLOCK})
BLOCKED = frozenset({ca.Outcome.BLOCK})


def _mutate(body: dict[str, Any], op: Mapping[str, Any]) -> None:
    *head, last = op["path"].split(".")
    target = body
    for key in head:
        target = target.setdefault(key, {})
    if op["op"] == "delete":
        target.pop(last, None)
    else:
        target[last] = UNKNOWN if op["value"] == "<unknown>" else copy.deepcopy(op["value"])


def _policies(case: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for index, spec in enumerate(case["policies"]):
        body = copy.deepcopy(CORPUS["bases"][spec["base"]]["body"])
        for op in spec["mutations"]:
            _mutate(body, op)
        found.append((f"{index}:{body.get('displayName')}", body))
    return found


def verdict(model: ca.Model, question: ca.Cell, goal: str) -> tuple[str, list[str]]:
    """FAIL when some cell is bad, else ERROR when some is unknown, else PASS (as the checks roll up)."""
    results = model.cells(question, MFA_OR_BLOCK if goal == "mfa" else BLOCKED)
    bad: list[str] = []
    addresses: set[str] = set()
    for result in results:
        if result.status != ca.Status.BAD:
            continue
        if goal == "block":  # not blocked is fine only from one single address (the VPN check's reading)
            atoms = result.cell.get("ip", frozenset(range(len(model.locations.atoms))))
            single = {model.locations.atoms[i].single_address() for i in atoms}
            if None not in single:
                addresses |= {a for a in single if a is not None}
                continue
        bad.append(model.describe(result.cell, question))
    if len(addresses) > 1:
        bad.append(f"{len(addresses)} addresses")
    if bad:
        return "FAIL", bad
    if any(r.status == ca.Status.UNKNOWN for r in results):
        return "ERROR", [n for r in results for n in r.notes if r.status == ca.Status.UNKNOWN]
    return "PASS", []


def _run(case: Mapping[str, Any]) -> tuple[str, list[str]]:
    q = case["question"]
    locations = {
        CORPUS["locations"][name]["body"]["id"]: CORPUS["locations"][name]["body"] for name in case.get("locations", [])
    }
    model = ca.build(
        _policies(case),
        locations=locations,
        members=case.get("members"),
        apps=[q["app"]],
        users=[q["user"]] if "user" in q else [],
    )
    cell = ca.query(model, app=q["app"], group=q.get("group"), user=q.get("user"))
    if "holding" in q:  # a directory role the user holds
        dim = "role:" + q["holding"]
        model.universe.add(dim, (True, False))
        cell[dim] = frozenset({True})
    return verdict(model, cell, q["goal"])


def test_the_corpus_cites_every_base_and_has_enough_cases() -> None:
    for entry in (*CORPUS["bases"].values(), *CORPUS["locations"].values()):
        source = entry["source"]
        assert set(source) == {"repo", "path", "commit"} and len(source["commit"]) == 40, entry
    assert len(CORPUS["cases"]) >= 40
    expected = {c["expected"] for c in CORPUS["cases"]}
    assert expected == {"PASS", "FAIL", "ERROR"}
    assert all(c["reason"] for c in CORPUS["cases"])


@pytest.mark.parametrize("case", CORPUS["cases"], ids=[c["name"] for c in CORPUS["cases"]])
def test_corpus_case(case: Mapping[str, Any]) -> None:
    seen, detail = _run(case)
    assert seen == case["expected"], (case["reason"], detail)


def test_a_failing_cell_names_what_lets_it_through() -> None:
    case = next(c for c in CORPUS["cases"] if c["name"] == "modern clients only")
    seen, detail = _run(case)
    assert seen == "FAIL"
    assert detail == ["client app 'exchangeActiveSync', 'other'"]


def test_ip_atoms_split_overlapping_ranges_and_both_versions() -> None:
    named = ca.NamedLocations.build(
        {
            "a": {"ipRanges": [{"cidrAddress": "10.0.0.0/24"}, {"cidrAddress": "2001:db8::/127"}]},
            "b": {"ipRanges": [{"cidrAddress": "10.0.0.128/25"}, {"cidrAddress": "10.0.0.7/32"}]},
        }
    )
    by = {atom.locations: atom for atom in named.atoms}
    assert by[frozenset({"a"})].size == 128 - 1 + 2  # 10.0.0.0/25 without .7, and the two IPv6 addresses
    assert by[frozenset({"a", "b"})].size == 129
    assert by[frozenset()].size == 2**32 - 256 + 2**128 - 2
    only = ca.NamedLocations.build({"c": {"ipRanges": [{"cidrAddress": "198.51.100.9/32"}]}})
    assert [a.single_address() for a in only.atoms if a.locations] == ["198.51.100.9"]


@pytest.mark.parametrize(
    ("strength", "expected"),
    [
        ({"id": "00000000-0000-0000-0000-000000000003"}, {ca.Outcome.MFA}),
        ({"allowedCombinations": ["fido2", "password,sms"]}, {ca.Outcome.MFA}),
        ({"allowedCombinations": ["fido2", "password"]}, {ca.Outcome.NONE}),
        ({"requirementsSatisfied": "none", "allowedCombinations": ["fido2"]}, {ca.Outcome.NONE}),
        ({"id": "custom"}, {ca.Outcome.MFA, ca.Outcome.NONE}),
    ],
)
def test_an_authentication_strength_is_mfa_only_if_all_its_combinations_are(
    strength: dict[str, Any], expected: set[ca.Outcome]
) -> None:
    body = {"state": "enabled", "conditions": {}, "grantControls": {"authenticationStrength": strength}}
    assert ca.build([("p", body)]).policies[0].outcomes == expected


# --- the partition against every single sign-in --------------------------------------------------------------------

APP = ca.AZURE_MANAGEMENT
OTHER_APP = "21ba904d-a7ce-4525-a09e-b2fbae79956b"  # the dev estate's VPN audience app
LOCATIONS: dict[str, dict[str, Any]] = {
    "l-trusted": {"displayName": "office", "isTrusted": True, "ipRanges": [{"cidrAddress": "10.0.0.0/24"}]},
    "l-one": {"displayName": "one", "ipRanges": [{"cidrAddress": "10.0.0.5/32"}]},
    "l-country": {"displayName": "de", "countriesAndRegions": ["DE"], "includeUnknownCountriesAndRegions": True},
}
_user_items = st.sampled_from(["All", "None", "u1", "u2", "GuestsOrExternalUsers"])
_users = st.fixed_dictionaries(
    {},
    optional={
        "includeUsers": st.lists(_user_items, max_size=2),
        "excludeUsers": st.lists(st.sampled_from(["u1", "u2", "GuestsOrExternalUsers"]), max_size=2),
        "includeGroups": st.lists(st.sampled_from(["g1", "g2"]), max_size=2),
        "excludeGroups": st.lists(st.sampled_from(["g1", "g2"]), max_size=1),
        "includeRoles": st.lists(st.just("r1"), max_size=1),
        "excludeRoles": st.lists(st.just("r1"), max_size=1),
        "excludeGuestsOrExternalUsers": st.sampled_from(
            [
                {"guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest"},
                {
                    "guestOrExternalUserTypes": "b2bDirectConnectUser",
                    "externalTenants": {"membershipKind": "enumerated", "members": ["t1"]},
                },
            ]
        ),
    },
)
_apps = st.fixed_dictionaries(
    {
        "includeApplications": st.lists(
            st.sampled_from(["All", APP, OTHER_APP, "MicrosoftAdminPortals", "Office365"]), min_size=1, max_size=2
        )
    },
    optional={
        "excludeApplications": st.lists(st.sampled_from([APP, "MicrosoftAdminPortals", "Office365"]), max_size=1)
    },
)
_narrowing = st.fixed_dictionaries(
    {},
    optional={
        "clientAppTypes": st.lists(
            st.sampled_from(["all", "browser", "exchangeActiveSync", "other", "easSupported"]), max_size=2
        ),
        "platforms": st.fixed_dictionaries(
            {"includePlatforms": st.lists(st.sampled_from(["all", "linux", "iOS"]), min_size=1, max_size=2)},
            optional={"excludePlatforms": st.lists(st.sampled_from(["iOS", "windows"]), max_size=1)},
        ),
        "locations": st.fixed_dictionaries(
            {
                "includeLocations": st.lists(
                    st.sampled_from(["All", "AllTrusted", "l-one", "l-country", "l-gone"]), min_size=1, max_size=2
                )
            },
            optional={"excludeLocations": st.lists(st.sampled_from(["AllTrusted", "l-trusted", "l-one"]), max_size=1)},
        ),
        "signInRiskLevels": st.lists(st.sampled_from(["high", "low", "none"]), max_size=2),
        "devices": st.sampled_from(
            [
                {"deviceFilter": {"mode": "include", "rule": "device.isCompliant -eq True"}},
                {"deviceFilter": {"mode": "exclude", "rule": "device.isCompliant -eq True"}},
            ]
        ),
        "users": _users,
    },
)
_grant = st.sampled_from(
    [
        {"operator": "OR", "builtInControls": ["block"]},
        {"operator": "OR", "builtInControls": ["mfa"]},
        {"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]},
        {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]},
        {"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "custom"}},
        {"operator": "OR", "builtInControls": ["compliantDevice"]},
        UNKNOWN,
    ]
)
_policy = st.builds(
    lambda state, users, apps, narrowing, grant: {
        "state": state,
        "conditions": {"users": users, "applications": apps, **narrowing},
        "grantControls": grant,
    },
    st.sampled_from(["enabled", "enabled", "disabled", "enabledForReportingButNotEnforced", UNKNOWN]),
    _users,
    _apps,
    _narrowing,
    _grant,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    policies=st.lists(_policy, min_size=1, max_size=3),
    members_known=st.booleans(),
    question=st.sampled_from(["group", "user", "everyone"]),
    goal=st.sampled_from(["mfa", "block"]),
)
def test_partition_agrees_with_every_single_sign_in(
    policies: list[dict[str, Any]], members_known: bool, question: str, goal: str
) -> None:
    members = {"g1": ["u1"] if members_known else None, "g2": None}
    model = ca.build(
        [(f"p{i}", p) for i, p in enumerate(policies)],
        locations=LOCATIONS,
        members=members,
        apps=[APP],
        users=["u1", "u2"],
    )
    cell = ca.query(
        model, app=APP, group="g2" if question == "group" else None, user="u2" if question == "user" else None
    )
    size = 1
    for dim, domain in model.universe.domains.items():
        size *= len(cell.get(dim, domain))
    assume(size <= 6000)
    good = MFA_OR_BLOCK if goal == "mfa" else BLOCKED
    cells = model.cells(cell, good)
    for point, status in model.brute_force(cell, good):
        holders = [c for c in cells if all(point[d] in allowed for d, allowed in c.cell.items())]
        assert len(holders) == 1, (point, [c.cell for c in holders])  # the cells partition the question
        assert holders[0].status == status, (point, holders[0])
