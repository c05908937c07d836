"""The rest of the promise chain against published example bodies (issue 12).

Each file of ``tests/corpus/promise_chain/`` holds published example bodies
of the Azure REST API specifications (each with its repository path and the
commit it was read at), context resources the examples name but do not
publish, and cases: a list of changes to the example, the verdict Azure's
documented semantics give, and the documentation that decides it. Every case
runs through the real check, over an :class:`Inventory` built the way the
sources build one (``Resource.create``; web app configuration folded by the
one web app model).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance_checks.checks import domains
from compliance_checks.checks.activity_log_alert_network_changes import CHECK as ALERT_CHECK
from compliance_checks.checks.base import Check, Params
from compliance_checks.checks.rbac_developers_least_privilege import CHECK as RBAC_CHECK
from compliance_checks.checks.vpn_gateway_single_ip_or_entra import CHECK as VPN_CHECK
from compliance_checks.checks.webapp_scm_ip_restricted import CHECK as SCM_CHECK
from compliance_checks.findings import Finding, Verdict, worst
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.sources.webapp import child_applied_last, normalise_webapps
from infra.watched_operations import WATCHED_OPERATIONS

CORPUS = Path(__file__).parent / "corpus" / "promise_chain"
FILES: dict[str, Check] = {
    "activity_log_alerts.json": ALERT_CHECK,
    "ipsec_policies.json": VPN_CHECK,
    "role_assignments.json": RBAC_CHECK,
    "webapp_scm.json": SCM_CHECK,
}
_PLACEHOLDERS: dict[str, Any] = {
    "$WATCHED_LEAVES": [{"field": "operationName", "equals": op} for op in WATCHED_OPERATIONS],
    "$WATCHED_NAMES": list(WATCHED_OPERATIONS),
    "$WATCHED_NAMES_UPPER": [op.upper() for op in WATCHED_OPERATIONS],
    "$WATCHED_NAMES_NO_DELETES": [op for op in WATCHED_OPERATIONS if not op.endswith("/delete")],
}


def corpus(name: str) -> dict[str, Any]:
    document = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def expand(value: Any) -> Any:
    if isinstance(value, str) and value in _PLACEHOLDERS:
        return copy.deepcopy(_PLACEHOLDERS[value])
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def _walk(body: Any, path: list[Any]) -> Any:
    for step in path:
        body = body[step]
    return body


def bodies(document: dict[str, Any], case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's example body and context bodies, with its changes applied (fresh copies)."""
    main = copy.deepcopy(document["examples"][case["example"]]["body"])
    context = copy.deepcopy(document.get("context", {}).get("resources", []))
    for change in case["patch"]:
        target = change.get("target", "main")
        body = main if target == "main" else context[int(target.split(":")[1])]
        *parent_path, last = change["path"]
        parent = _walk(body, parent_path)
        if change["op"] == "set":
            parent[last] = expand(change["value"])
        elif change["op"] == "append":
            parent[last].append(expand(change["value"]))
        elif change["op"] == "delete":
            del parent[last]
        else:
            raise AssertionError(f"unknown op {change['op']!r} in case {case['name']!r}")
    for other in context:  # a slot stated as configured like the example's config
        if other.get("properties", {}).get("siteConfig") == "$SAME_AS_MAIN":
            other["properties"]["siteConfig"] = copy.deepcopy(main["properties"])
    return [main, *context]


def inventory(found: list[dict[str, Any]]) -> Inventory:
    resources = [
        Resource.create(
            id=body["id"],
            type=body["type"],
            name=body["name"],
            body=body,
            location=body.get("location"),
            source="corpus",
        )
        for body in found
    ]
    # The web app model folds config/web into its site (live order: what was read from config/web is deployed).
    return Inventory(normalise_webapps(resources, order=child_applied_last), sources=("corpus",))


def judged(check: Check, found: Inventory) -> tuple[Verdict, list[Finding]]:
    findings = check.evaluate(found, Params())
    verdicts = [f.verdict for f in findings if f.verdict != Verdict.NOT_APPLICABLE]
    return (worst(verdicts) if verdicts else Verdict.NOT_APPLICABLE), findings


def cases() -> Iterator[Any]:
    for name in FILES:
        for case in corpus(name)["cases"]:
            yield pytest.param(name, case, id=f"{name.removesuffix('.json')}: {case['name']}")


@pytest.mark.parametrize(("name", "case"), list(cases()))
def test_published_example_case(name: str, case: dict[str, Any]) -> None:
    document = corpus(name)
    verdict, findings = judged(FILES[name], inventory(bodies(document, case)))
    shown = "; ".join(f"{f.verdict}: {f.message}" for f in findings)
    assert verdict == Verdict(case["expected"]), f"{case['name']} ({case['reason']}): {shown}"


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_example_is_cited_and_every_case_has_its_reason(name: str) -> None:
    document = corpus(name)
    for key, example in document["examples"].items():
        assert example["repo"] == "Azure/azure-rest-api-specs", key
        assert re.fullmatch(r"[0-9a-f]{40}", example["commit"]), key
        assert "/examples/" in example["path"] and example["path"].endswith(".json"), key
    seen = {case["expected"] for case in document["cases"]}
    assert {"PASS", "FAIL", "ERROR"} <= seen, f"{name}: a corpus must show a PASS, a FAIL and an ERROR"
    for case in document["cases"]:
        assert case["reason"].strip() and case["example"] in document["examples"], case["name"]
    names = [case["name"] for case in document["cases"]]
    assert len(names) == len(set(names)), f"{name}: duplicate case names"


def test_published_examples_unchanged_fail_closed() -> None:
    """No published example passes as it is: none was written for these promises."""
    for name, check in FILES.items():
        document = corpus(name)
        for key in document["examples"]:
            case = {"name": "as published", "example": key, "patch": []}
            verdict, _ = judged(check, inventory(bodies(document, case)))
            assert verdict != Verdict.PASS, (name, key)


# --- activity-log alerts beyond one alert -------------------------------------------------------------------------


def _alert_inventory(conditions: list[list[dict[str, Any]]]) -> Inventory:
    document = corpus("activity_log_alerts.json")
    base = document["examples"]["create"]["body"]
    found = copy.deepcopy(document["context"]["resources"])
    for number, all_of in enumerate(conditions):
        alert = copy.deepcopy(base)
        alert["id"] = base["id"].rsplit("/", 1)[0] + f"/alert{number}"
        alert["name"] = f"alert{number}"
        alert["properties"]["condition"] = {"allOf": all_of}
        found.append(alert)
    return inventory(found)


def _ops(ops: list[str]) -> list[dict[str, Any]]:
    return [{"field": "category", "equals": "Administrative"}, {"field": "operationName", "containsAny": ops}]


def test_alerts_are_judged_together() -> None:
    """Each alert fires on its own: two alerts that split the watched operations catch every change."""
    half = len(WATCHED_OPERATIONS) // 2
    split = _alert_inventory([_ops(list(WATCHED_OPERATIONS[:half])), _ops(list(WATCHED_OPERATIONS[half:]))])
    assert judged(ALERT_CHECK, split)[0] == Verdict.PASS
    one_half = _alert_inventory([_ops(list(WATCHED_OPERATIONS[:half]))])
    assert judged(ALERT_CHECK, one_half)[0] == Verdict.FAIL


def test_an_unknown_alert_does_not_hide_a_complete_one_nor_stand_in_for_one() -> None:
    complete = _ops(list(WATCHED_OPERATIONS))
    malformed = [{"field": "operationName", "notEquals": "x"}]
    assert judged(ALERT_CHECK, _alert_inventory([complete, malformed]))[0] == Verdict.PASS
    half = list(WATCHED_OPERATIONS[:1])
    assert judged(ALERT_CHECK, _alert_inventory([_ops(half), malformed]))[0] == Verdict.ERROR


@pytest.mark.parametrize("count", [10, 200])
def test_alert_evidence_does_not_grow_with_the_number_of_alerts(count: int) -> None:
    """One finding with evidence of bounded size, however many unrelated alerts there are."""
    unrelated = [[{"field": "category", "equals": "ServiceHealth"}]] * count
    _, findings = judged(ALERT_CHECK, _alert_inventory(unrelated))
    assert len(findings) == 1
    size = len(findings[0].message) + sum(len(repr(e.observed)) for e in findings[0].evidence)
    assert size < 3000, size


def _groups_with_alerts(groups: int, scoped: list[int | None]) -> Inventory:
    """``groups`` resource groups, each with the example's NSG; one alert per entry of ``scoped``: the group it is
    scoped to (``None``: the whole subscription), each catching every watched operation."""
    document = corpus("activity_log_alerts.json")
    base, context = document["examples"]["create"]["body"], document["context"]["resources"]
    nsg = next(r for r in context if r["type"] == "Microsoft.Network/networkSecurityGroups")
    subscription = nsg["id"].split("/resourceGroups/")[0]
    found = [r for r in context if r is not nsg]
    for number in range(groups):
        copied = copy.deepcopy(nsg)
        copied["id"] = copied["id"].replace("/resourceGroups/MyResourceGroup/", f"/resourceGroups/rg{number}/")
        found.append(copied)
    for number, target in enumerate(scoped):
        alert = copy.deepcopy(base)
        alert["id"] = base["id"].rsplit("/", 1)[0] + f"/alert{number}"
        alert["name"] = f"alert{number}"
        alert["properties"]["condition"] = {"allOf": _ops(list(WATCHED_OPERATIONS))}
        scope = subscription if target is None else f"{subscription}/resourceGroups/rg{target}"
        alert["properties"]["scopes"] = [scope.lstrip("/") if number % 2 else scope]  # both spellings the API takes
        found.append(alert)
    return inventory(found)


def test_alerts_scoped_to_resource_groups_each_cover_only_their_own() -> None:
    """Many groups, each with its own group-scoped alert: every change is caught; one group without: FAIL."""
    assert judged(ALERT_CHECK, _groups_with_alerts(60, list(range(60))))[0] == Verdict.PASS
    verdict, findings = judged(ALERT_CHECK, _groups_with_alerts(60, [g for g in range(60) if g != 37]))
    assert verdict == Verdict.FAIL, [f.message for f in findings]
    assert judged(ALERT_CHECK, _groups_with_alerts(60, [None]))[0] == Verdict.PASS
    assert judged(ALERT_CHECK, _groups_with_alerts(3, [0, 0, 1]))[0] == Verdict.FAIL


@settings(max_examples=300, deadline=None)
@given(
    groups=st.lists(st.sampled_from(["/subscriptions/s1/resourcegroups/a", "/subscriptions/s1/resourcegroups/ab",
                                     "/subscriptions/s2/resourcegroups/a", "/subscriptions/s1/resourcegroups/a/x"]),
                    min_size=1, unique=True),
    scopes=st.lists(st.sampled_from(["/subscriptions/s1", "subscriptions/s1/", "/subscriptions/s1/resourcegroups/a",
                                     "/subscriptions/s1/resourcegroups", "/subscriptions/s", "/", "/SUBSCRIPTIONS/S2",
                                     "/subscriptions/s1/resourcegroups/a/x/"]), min_size=1),
)  # fmt: skip
def test_the_scope_index_covers_exactly_the_groups_at_or_below_a_scope(groups: list[str], scopes: list[str]) -> None:
    from compliance_checks.checks.activity_log_alert_network_changes import _covering, _normal_scope, group_prefixes

    by_prefix = group_prefixes(groups)
    covered = {group for key in _covering(scopes, by_prefix) for group in by_prefix[key]}
    normal = [_normal_scope(scope) for scope in scopes]
    assert covered == {g for g in groups if any(g == s or g.startswith(s + "/") for s in normal)}


# --- sourced enumerations ----------------------------------------------------------------------------------------


def test_ipsec_enums_are_microsofts_sdk_enums() -> None:
    from azure.mgmt.network import models

    pairs = {
        "DhGroup": domains.DH_GROUP,
        "PfsGroup": domains.PFS_GROUP,
        "IkeEncryption": domains.IKE_ENCRYPTION,
        "IkeIntegrity": domains.IKE_INTEGRITY,
        "IpsecEncryption": domains.IPSEC_ENCRYPTION,
        "IpsecIntegrity": domains.IPSEC_INTEGRITY,
    }
    for sdk_name, domain in pairs.items():
        assert {m.value for m in getattr(models, sdk_name)} == set(domain.values), sdk_name
    assert set(domains.DH_GROUP_NUMBER) == {v.lower() for v in domains.DH_GROUP.values}
    assert set(domains.PFS_GROUP_NUMBER) == {v.lower() for v in domains.PFS_GROUP.values}


def test_access_restriction_enums_are_microsofts_sdk_enums() -> None:
    from azure.mgmt.web import models

    assert {m.value for m in models.IpFilterTag} == set(domains.IP_FILTER_TAG.values)
    assert {m.value for m in models.DefaultAction} == set(domains.SITE_DEFAULT_ACTION.values)
