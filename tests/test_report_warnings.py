"""WARN: a caution on a finding (a certificate expiring within 30 days) is visible in every report format.

The sample results document gets one PASS finding with a warning; each renderer must show it, and a
document without the field (written before it existed) must still validate and render unchanged.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compliance_checks.checks.base import Params
from compliance_checks.engine import AuditResult
from compliance_checks.findings import Finding, Verdict
from compliance_checks.inventory import Inventory
from compliance_checks.report.html import render_html
from compliance_checks.report.junit import render_junit
from compliance_checks.report.markdown import render_markdown
from compliance_checks.report.results import build_results
from compliance_checks.report.sarif import render_sarif
from compliance_checks.report.validation import validate_results, validate_sarif

FIXTURES = Path(__file__).parent / "fixtures" / "results"
WARNING = "Certificate expires in 12 days (2026-01-01): renew it now."

Doc = dict[str, Any]


@pytest.fixture
def warned() -> tuple[Doc, Doc]:
    """The sample document, and the PASS finding in it that now carries a warning."""
    document: Doc = json.loads((FIXTURES / "sample.json").read_text(encoding="utf-8"))
    finding = next(f for f in document["findings"] if f["verdict"] == "PASS")
    finding["warnings"] = [WARNING]
    return document, finding


def test_results_schema_accepts_warnings_and_documents_without_them(warned: tuple[Doc, Doc]) -> None:
    document, finding = warned
    validate_results(document)
    older = copy.deepcopy(document)
    for item in older["findings"]:
        item.pop("warnings", None)
    validate_results(older)
    for bad in ([""], "text", [1]):
        broken = copy.deepcopy(document)
        next(f for f in broken["findings"] if f["id"] == finding["id"])["warnings"] = bad
        with pytest.raises(jsonschema.ValidationError):
            validate_results(broken)


def test_results_document_carries_the_findings_warnings() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    finding = Finding("probe_tls_protocols", Verdict.PASS, "probe:tls/x:443", "Probe/tls", "ok.", warnings=(WARNING,))
    result = AuditResult(
        inventory=Inventory([]),
        checks={},
        findings=(finding,),
        claims=(),
        document=(),
        params=Params(),
        started_at=now,
        finished_at=now,
    )
    document = build_results(result, source="probe", stack=None, versions={"python": "3.11"})
    assert document["findings"][0]["warnings"] == [WARNING]
    validate_results(document)


def test_html_shows_the_warning_with_the_pass_and_in_a_list(warned: tuple[Doc, Doc]) -> None:
    document, _ = warned
    html = render_html(document)
    assert 'id="warnings"' in html
    assert "Warnings (1)" in html
    assert html.count("WARN: Certificate expires in 12 days") == 1
    assert html.count("Certificate expires in 12 days") == 2  # the list and the finding's row
    plain = render_html(json.loads((FIXTURES / "sample.json").read_text(encoding="utf-8")))
    assert 'id="warnings"' not in plain
    assert "WARN" not in plain


def test_html_shows_a_warned_pass_even_beyond_the_pass_row_cap(warned: tuple[Doc, Doc]) -> None:
    document, finding = warned
    passes = [copy.deepcopy(finding) for _ in range(40)]
    for number, item in enumerate(passes):
        item["id"] = f"{finding['checkId']}/{9000 + number:04d}"
        item["warnings"] = []
    passes[-1]["warnings"] = ["the last of forty passes"]
    document["findings"].extend(passes)
    assert "WARN: the last of forty passes" in render_html(document)


def test_markdown_lists_warnings(warned: tuple[Doc, Doc]) -> None:
    document, finding = warned
    text = render_markdown(document)
    assert "### Warnings (1)" in text
    line = next(line for line in text.splitlines() if "WARN `" in line)
    assert finding["checkId"] in line
    assert "(PASS)" in line
    assert WARNING in line
    plain = json.loads((FIXTURES / "sample.json").read_text(encoding="utf-8"))
    assert "Warnings" not in render_markdown(plain)


def test_sarif_reports_a_warned_pass_as_a_note_with_the_warning(warned: tuple[Doc, Doc]) -> None:
    document, finding = warned
    log = render_sarif(document)
    validate_sarif(log)
    results = [r for r in log["runs"][0]["results"] if r["properties"].get("findingId") == finding["id"]]
    assert len(results) == 1
    result = results[0]
    assert result["level"] == "note"
    assert result["properties"]["verdict"] == "PASS"
    assert result["properties"]["warnings"] == [WARNING]
    assert f"WARN: {WARNING}" in result["message"]["text"]
    plain = render_sarif(json.loads((FIXTURES / "sample.json").read_text(encoding="utf-8")))
    assert all(r["properties"].get("findingId") != finding["id"] for r in plain["runs"][0]["results"])


def test_junit_puts_the_warning_in_system_out_and_the_case_still_passes(warned: tuple[Doc, Doc]) -> None:
    document, finding = warned
    root = ET.fromstring(render_junit(document).encode("utf-8"))
    cases = [
        c
        for c in root.iter("testcase")
        if c.get("classname") == finding["checkId"] and c.get("name") == finding["resourceId"]
    ]
    assert cases
    for case in cases:
        assert [child.tag for child in case] == ["system-out"]
        assert case.findtext("system-out") == f"WARN: {WARNING}"


def test_a_warning_is_scrubbed_like_the_message() -> None:
    from compliance_checks.redaction import PLACEHOLDER, remember_secret

    secret = "warning-canary-7f3a9c1e5b2d4068"
    remember_secret(secret)
    finding = Finding("c", Verdict.PASS, "r", "t", "ok.", warnings=(f"expires soon; key {secret}",))
    assert finding.warnings == (f"expires soon; key {PLACEHOLDER}",)
