"""``audit --baseline FILE``: this run's findings against an earlier results.json (report/baseline.py).

End to end with real audits: the clean synthesized dev stack, and the same stack as an ARM template
that switches the ARR affinity cookie on (tests/support/baseline_estates.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.report.baseline import compare
from compliance_checks.report.validation import results_errors
from tests.support.baseline_estates import BROKEN_CHECK, Audit, audit, broken_template, clean_synth, webapp_id
from tests.support.cli import run_cli

PROBLEMS = {"FAIL", "ERROR"}
SAMPLE = Path(__file__).parent / "fixtures" / "results" / "sample.json"


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Audit]:
    base = tmp_path_factory.mktemp("baseline")
    synth = clean_synth(base / "synth")
    template = broken_template(base, synth.document)
    return {
        "synth": synth,
        # The broken estate against the clean one: what broke.
        "broken": audit(
            base / "broken", "--source", "arm", "--input", str(template), "--baseline", str(synth.results_file)
        ),
        # The clean estate against the broken one: what the fix fixed.
        "fixed": audit(base / "fixed", "--stack", "dev", "--baseline", str(base / "broken" / "results.json")),
    }


def keys(document: dict[str, Any], verdicts: set[str] | None = None) -> dict[tuple[str, str], str]:
    """(checkId, resourceId lower-cased) -> verdict, for the findings with one of ``verdicts`` (all when None)."""
    return {
        (f["checkId"], f["resourceId"].lower()): f["verdict"]
        for f in document["findings"]
        if verdicts is None or f["verdict"] in verdicts
    }


def test_the_broken_estate_shows_its_new_problems(audits: dict[str, Audit]) -> None:
    synth, broken = audits["synth"].document, audits["broken"].document
    assert not keys(synth, PROBLEMS), "the clean stack must have no FAIL or ERROR for this test to mean anything"
    comparison = broken["comparison"]
    new = {(k["checkId"], k["resourceId"].lower()): k["verdict"] for k in comparison["new"]}
    # The cookie switched on, on the web app, and the checks an ARM template cannot answer (no Entra objects).
    assert new[(BROKEN_CHECK, webapp_id(synth).lower())] == "FAIL"
    assert new == keys(broken, PROBLEMS)  # the baseline had no problem at all: every problem is new
    assert comparison["fixed"] == []
    # Both audits name resources alike (same subscription and group): most findings are matched, not new.
    both = set(keys(broken)) & set(keys(synth))
    assert comparison["unchanged"] == len(both - set(new)) > 40
    assert comparison["baseline"]["file"] == str(audits["synth"].results_file)
    assert comparison["baseline"]["startedAt"] == synth["run"]["startedAt"]
    assert comparison["baseline"]["sha256"] == hashlib.sha256(audits["synth"].results_file.read_bytes()).hexdigest()


def test_the_fix_shows_as_fixed(audits: dict[str, Audit]) -> None:
    broken, fixed = audits["broken"].document, audits["fixed"].document
    comparison = fixed["comparison"]
    assert comparison["new"] == []
    gone = {(k["checkId"], k["resourceId"].lower()): k["verdict"] for k in comparison["fixed"]}
    assert gone == keys(broken, PROBLEMS)  # verdicts are the baseline's
    assert gone[(BROKEN_CHECK, webapp_id(fixed).lower())] == "FAIL"


def test_the_terminal_says_it_in_one_line(audits: dict[str, Audit]) -> None:
    for name in ("broken", "fixed"):
        comparison = audits[name].document["comparison"]
        line = (
            f"Compared with {comparison['baseline']['file']}: {len(comparison['new'])} new, "
            f"{len(comparison['fixed'])} fixed, {comparison['unchanged']} unchanged"
        )
        assert [x for x in audits[name].run.stdout.splitlines() if x.startswith("Compared with")] == [line]


def test_without_a_baseline_there_is_no_comparison(audits: dict[str, Audit]) -> None:
    assert "comparison" not in audits["synth"].document
    assert "Compared with" not in audits["synth"].run.stdout


def test_comparisons_follow_the_schema(audits: dict[str, Audit]) -> None:
    for name in ("broken", "fixed"):
        assert results_errors(audits[name].document) == []
    document = audits["broken"].document
    document["comparison"]["new"][0]["verdict"] = "BROKEN"
    del document["comparison"]["baseline"]["sha256"]
    errors = results_errors(document)
    assert any(e.startswith("$.comparison.new[0].verdict") for e in errors), errors
    assert any(e.startswith("$.comparison.baseline") and "sha256" in e for e in errors), errors


def _bad_baselines(tmp_path: Path) -> list[tuple[Path, str]]:
    """(file, what its one error line must name) for baselines that are no results document."""
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    wrong_verdict = json.loads(json.dumps(sample))
    wrong_verdict["findings"][1]["verdict"] = "MAYBE"
    cases = {
        "not-json.json": ("{not json", ""),
        "a-list.json": ("[1, 2]", ""),
        "no-findings.json": (json.dumps({k: v for k, v in sample.items() if k != "findings"}), "findings"),
        "wrong-verdict.json": (json.dumps(wrong_verdict), "$.findings[1].verdict"),
    }
    made = []
    for name, (text, place) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        made.append((path, place))
    made.append((tmp_path / "absent.json", "file not found"))
    made.append((tmp_path, "is a directory"))
    return made


def test_a_bad_baseline_is_one_line_exit_2(tmp_path: Path) -> None:
    assert results_errors(json.loads(SAMPLE.read_text(encoding="utf-8"))) == []  # the fixture itself is valid
    for number, (path, place) in enumerate(_bad_baselines(tmp_path)):
        out = tmp_path / f"out{number}"
        run = run_cli("audit", "--stack", "dev", "--format", "json", "--out", str(out), "--baseline", str(path))
        assert run.returncode == 2, (path, run.stderr)
        assert "Traceback" not in run.stderr
        errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
        assert errors == [run.stderr.strip().splitlines()[-1]] and errors[0].startswith(f"error: {path}"), run.stderr
        assert place in errors[0], (place, errors[0])
        assert not (out / "results.json").exists()  # no report that looks finished


def _finding(check: str, resource: str, verdict: str) -> dict[str, str]:
    return {"checkId": check, "resourceId": resource, "verdict": verdict}


def _baseline(*findings: dict[str, str]) -> dict[str, Any]:
    return {"run": {"startedAt": "2026-01-01T00:00:00Z"}, "findings": list(findings)}


def test_matching_rules() -> None:
    app = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Web/sites/app"
    db = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/db"
    before = _baseline(
        _finding("a", app, "FAIL"),  # same resource, other case, still failing: unchanged
        _finding("b", app, "FAIL"),  # now MANUAL: not verified fixed, so not fixed
        _finding("c", app, "ERROR"),  # now NOT_APPLICABLE: fixed
        _finding("d", app, "FAIL"),  # gone: fixed
        _finding("e", db, "PASS"),  # now FAIL: new
        _finding("f", db, "PASS"),  # two findings now, one FAIL: the key is FAIL, new
    )
    now = [
        _finding("a", app.lower(), "FAIL"),
        _finding("b", app, "MANUAL"),
        _finding("c", app, "NOT_APPLICABLE"),
        _finding("e", db, "FAIL"),
        _finding("f", db, "PASS"),
        _finding("f", db, "FAIL"),
        _finding("g", db, "ERROR"),  # not in the baseline at all: new
        _finding("h", db, "PASS"),  # new but no problem: not listed, not counted
    ]
    result = compare(now, before, file="b.json", sha256="0" * 64)
    assert [(k["checkId"], k["verdict"]) for k in result["new"]] == [("e", "FAIL"), ("f", "FAIL"), ("g", "ERROR")]
    assert [(k["checkId"], k["verdict"]) for k in result["fixed"]] == [("c", "ERROR"), ("d", "FAIL")]
    assert result["unchanged"] == 2  # a and b
    assert result["baseline"] == {"file": "b.json", "sha256": "0" * 64, "startedAt": "2026-01-01T00:00:00Z"}


def test_findings_about_another_estate_are_left_out() -> None:
    host = "https://example.org/"
    other = {**_finding("probe_http_no_set_cookie", host, "FAIL"), "excluded": "not a host of the stack"}
    assert compare([other], _baseline(), file="b.json", sha256="0" * 64)["new"] == []
    assert compare([], _baseline(other), file="b.json", sha256="0" * 64)["fixed"] == []
    counted = {**other, "excluded": None}  # the key as results.py writes it for a finding that counts
    assert [k["checkId"] for k in compare([counted], _baseline(), file="b.json", sha256="0" * 64)["new"]] == [
        "probe_http_no_set_cookie"
    ]
