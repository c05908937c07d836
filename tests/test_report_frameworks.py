"""The results document per framework (report/frameworks.py) and the remediation of FAIL and ERROR findings.

Against the real catalogue and a real audit: the dev stack as an ARM template with the ARR affinity
cookie switched on, which breaks PRIV-NO-COOKIES (tests/support/baseline_estates.py).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from compliance_checks.catalog import FRAMEWORKS, load_catalog
from compliance_checks.checks import load_checks
from compliance_checks.checks.base import CheckMeta
from compliance_checks.engine import evaluate
from compliance_checks.findings import Finding, Severity, Verdict
from compliance_checks.inventory import Inventory
from compliance_checks.report.frameworks import ORDER, framework_views, worst_verdict
from compliance_checks.report.results import build_results
from compliance_checks.report.validation import results_errors
from tests.support.baseline_estates import BROKEN_CHECK, Audit, audit, broken_template, clean_synth

COOKIE_CLAIMS = ("PRIV-NO-COOKIES", "PRIV-LOCAL-STORAGE", "PRIV-NO-ANALYTICS")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("frameworks")
    synth = clean_synth(base / "synth")
    run: Audit = audit(base / "broken", "--source", "arm", "--input", str(broken_template(base, synth.document)))
    return run.document


def requirements(document: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {f["id"]: {r["id"]: r for r in f["requirements"]} for f in document["frameworks"]}


def test_every_mapping_appears_once_per_framework(broken: dict[str, Any]) -> None:
    catalog = load_catalog()
    assert [f["id"] for f in broken["frameworks"]] == list(FRAMEWORKS)
    for view in broken["frameworks"]:
        framework = view["id"]
        assert view["title"] == catalog.frameworks[framework]
        listed = [r["id"] for r in view["requirements"]]
        assert len(listed) == len(set(listed)), framework
        mapped = {m for claim in catalog.claims for m in claim.mappings[framework]}
        assert set(listed) == mapped, framework
        for requirement in view["requirements"]:
            backing = [c for c in catalog.claims if requirement["id"] in c.mappings[framework]]
            assert requirement["claims"] == sorted(c.id for c in backing)
            assert requirement["checks"] == sorted({check for c in backing for check in c.checks})


def test_a_requirement_is_as_good_as_its_worst_claim(broken: dict[str, Any]) -> None:
    verdicts = {c["id"]: c["verdict"] for c in broken["claims"]}
    assert verdicts["PRIV-NO-COOKIES"] == "FAIL"
    views = requirements(broken)
    # Every requirement PRIV-NO-COOKIES is mapped to fails with it, in law and in the catalogues.
    catalog = load_catalog()
    cookie = catalog.claim("PRIV-NO-COOKIES")
    failing = [(f, r) for f in FRAMEWORKS for r in cookie.mappings[f]]
    assert ("tdddg", "§ 25 Abs. 1 TDDDG") in failing and len(failing) >= 4
    for framework, requirement in failing:
        assert views[framework][requirement]["verdict"] == "FAIL", (framework, requirement)
        assert BROKEN_CHECK in views[framework][requirement]["checks"]
    # No requirement without a failing claim is FAIL; each is the worst of its claims by ORDER.
    for framework, view in views.items():
        for entry in view.values():
            claim_verdicts = {verdicts[c] for c in entry["claims"]}
            assert entry["verdict"] in claim_verdicts
            assert (entry["verdict"] == "FAIL") == ("FAIL" in claim_verdicts), (framework, entry)
            assert ORDER.index(entry["verdict"]) == min(ORDER.index(v) for v in claim_verdicts)


def test_tdddg_section_25_covers_the_storage_claims() -> None:
    # § 25 TDDDG (Schutz der Privatsphäre bei Endeinrichtungen): storing or reading information in the
    # user's terminal equipment -- cookies, Local Storage, analytics scripts -- needs consent (Abs. 1),
    # unless strictly necessary for the service the user asked for (Abs. 2 Nr. 2).
    catalog = load_catalog()
    for claim_id in COOKIE_CLAIMS:
        assert "§ 25 Abs. 1 TDDDG" in catalog.claim(claim_id).mappings["tdddg"], claim_id
    assert "§ 25 Abs. 2 Nr. 2 TDDDG" in catalog.claim("PRIV-LOCAL-STORAGE").mappings["tdddg"]
    (tdddg,) = [v for v in framework_views(_claims(catalog), catalog.frameworks) if v["id"] == "tdddg"]
    section_25 = {r["id"]: r["claims"] for r in tdddg["requirements"]}
    assert set(COOKIE_CLAIMS) <= set(section_25["§ 25 Abs. 1 TDDDG"])


def _claims(catalog: Any, verdict: str = "PASS") -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "verdict": verdict,
            "checks": list(c.checks),
            "mappings": {k: list(v) for k, v in c.mappings.items()},
        }
        for c in catalog.claims
    ]


def test_not_run_keeps_a_requirement_from_pass() -> None:
    catalog = load_catalog()
    claims = _claims(catalog)
    for claim in claims:
        if claim["id"] == "PRIV-LOCAL-STORAGE":
            claim["verdict"] = "NOT_RUN"
    views = {v["id"]: {r["id"]: r["verdict"] for r in v["requirements"]} for v in framework_views(claims, {})}
    assert views["tdddg"]["§ 25 Abs. 1 TDDDG"] == "NOT_RUN"  # PRIV-NO-COOKIES passed, PRIV-LOCAL-STORAGE did not run
    assert views["tdddg"]["§ 25 Abs. 2 Nr. 2 TDDDG"] == "NOT_RUN"
    assert views["bsi_c5"]["PSS-06 Session Management"] == "NOT_RUN"
    assert views["gdpr"]["Art. 15"] == "PASS"
    everything_not_run = framework_views(_claims(catalog, "NOT_RUN"), {})
    assert {r["verdict"] for v in everything_not_run for r in v["requirements"]} == {"NOT_RUN"}


def test_the_order_is_the_verdicts_rank_but_for_not_run() -> None:
    assert set(ORDER) >= {v.value for v in Verdict}
    assert worst_verdict([]) == "ERROR"  # nothing verified
    with pytest.raises(ValueError, match="MAYBE"):
        worst_verdict(["PASS", "MAYBE"])
    for a, b in itertools.combinations(Verdict, 2):
        mine = worst_verdict([a.value, b.value])
        if {a.value, b.value} == {"PASS", "NOT_RUN"}:
            assert mine == "NOT_RUN"  # fail closed: a requirement with a claim not run is no PASS
        else:
            assert mine == max((a, b), key=lambda v: v.rank).value, (a, b)


def test_frameworks_follow_the_schema(broken: dict[str, Any]) -> None:
    assert results_errors(broken) == []
    broken["frameworks"][0]["requirements"][0]["claims"] = []
    broken["frameworks"][1]["id"] = "sox"
    errors = results_errors(broken)
    assert any(e.startswith("$.frameworks[0].requirements[0].claims") for e in errors), errors
    assert any(e.startswith("$.frameworks[1].id") for e in errors), errors


def test_every_fail_and_error_says_how_to_fix_it(broken: dict[str, Any]) -> None:
    checks = load_checks()
    problems = [f for f in broken["findings"] if f["verdict"] in ("FAIL", "ERROR")]
    assert any(f["verdict"] == "FAIL" and f["checkId"] == BROKEN_CHECK for f in problems)
    for finding in problems:
        assert finding["remediation"] == checks[finding["checkId"]].meta.remediation, finding
        assert finding["remediation"].strip()
    others = [f for f in broken["findings"] if f["verdict"] not in ("FAIL", "ERROR")]
    assert others and not any("remediation" in f for f in others)


def test_checkov_findings_carry_a_remediation_only_when_known() -> None:
    guideline = "https://docs.prismacloud.io/en/enterprise-edition/policy-reference/azure-policies/example"
    metas = {
        "CKV_AZURE_1": CheckMeta("CKV_AZURE_1", "Ensure x", Severity.HIGH, (), "checkov built-in check", guideline),
        "CKV_AZURE_2": CheckMeta("CKV_AZURE_2", "Ensure y", Severity.LOW, (), "checkov built-in check", ""),
    }
    findings = [
        Finding(check_id, Verdict.FAIL, "Microsoft.Web/sites.app", "Microsoft.Web/sites", "x", source="checkov")
        for check_id in ("CKV_AZURE_1", "CKV_AZURE_2", "CKV_AZURE_3")
    ]
    result = evaluate(Inventory([]), catalog=load_catalog(), checks={}, extra_findings=findings, extra_checks=metas)
    document = build_results(result, source="synth", stack="dev", versions={"python": "3"})
    remediation = {f["checkId"]: f.get("remediation") for f in document["findings"]}
    assert remediation == {"CKV_AZURE_1": guideline, "CKV_AZURE_2": None, "CKV_AZURE_3": None}
