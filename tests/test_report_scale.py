"""Output proportional to findings (issue 15): results.json compact and streamed, ``--pretty`` for an
indented copy, the HTML report summarised above a number of findings, junit.xml written without an
element tree, and the redaction's second line decided in one pass over a document.

Timings are not asserted here (benchmarks/report_scale.py measures them); these tests pin what the
faster code must still do.
"""

from __future__ import annotations

import copy
import enum
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance_checks import redaction
from compliance_checks.cli import main
from compliance_checks.report.html import MAX_DETAILED_PROBLEMS, SUMMARY_THRESHOLD, render_html
from compliance_checks.report.junit import XML_DECLARATION, render_junit
from compliance_checks.report.manifest import MANIFEST_NAME, verify_manifest
from compliance_checks.report.manifest import PRETTY_RESULTS_NAME as PRETTY_NAME
from compliance_checks.report.results import read_results, results_json_chunks, write_results_json

FIXTURES = Path(__file__).parent / "fixtures"
PREVIEW = FIXTURES / "sources" / "pulumi-preview.json"
SAMPLE = FIXTURES / "results" / "sample.json"
FAILING_CHECK = "webapp_min_tls_version"  # the check of the sample's first FAIL finding


def _audit(out: Path, *extra: str) -> int:
    return main(["audit", "--source", "pulumi-preview", "--input", str(PREVIEW), "--out", str(out), "-q", *extra])


def _artefacts(out: Path) -> list[str]:
    return [a["path"] for a in json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))["artefacts"]]


# --- results.json ----------------------------------------------------------------------------------


def test_results_json_is_compact_and_the_pretty_copy_is_written_only_on_request(tmp_path: Path) -> None:
    plain, pretty = tmp_path / "plain", tmp_path / "pretty"
    assert _audit(plain) in (0, 1, 2)
    text = (plain / "results.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert text == json.dumps(document, separators=(",", ":")) + "\n"  # one line, no indentation
    assert not (plain / PRETTY_NAME).exists()
    assert PRETTY_NAME not in _artefacts(plain)

    assert _audit(pretty, "--pretty") in (0, 1, 2)
    indented = (pretty / PRETTY_NAME).read_text(encoding="utf-8")
    again = json.loads((pretty / "results.json").read_text(encoding="utf-8"))
    assert indented == json.dumps(again, indent=2) + "\n"
    assert PRETTY_NAME in _artefacts(pretty) and "results.json" in _artefacts(pretty)
    assert verify_manifest(pretty) == []
    assert read_results(pretty / "results.json")["findings"] == again["findings"]  # what --baseline and claims read

    # A report directory with the pretty copy is a report: the next audit replaces it, and without
    # --pretty the copy is gone rather than left behind unlisted.
    assert _audit(pretty) in (0, 1, 2)
    assert not (pretty / PRETTY_NAME).exists()
    assert verify_manifest(pretty) == []


def _documents() -> Iterator[Any]:
    long_list = [{"id": f"f/{n:05d}", "text": 'ä"\\\n\u2028😀' * (n % 3), "n": n, "x": None} for n in range(2501)]
    yield {"findings": long_list, "inventory": {"resources": long_list[:1000], "relations": long_list[:1001]}}
    yield {"findings": [], "inventory": {}, "summary": {"a": {"b": [1.5, True, None]}}, "e": {}}
    yield {"findings": long_list[:2000], "nested": {"deeper": {"list": long_list}}}


@pytest.mark.parametrize("document", list(_documents()))
def test_the_streamed_results_json_is_exactly_one_compact_dump(document: Any, tmp_path: Path) -> None:
    expected = json.dumps(document, separators=(",", ":")) + "\n"
    assert "".join(results_json_chunks(document)) == expected
    write_results_json(document, tmp_path / "results.json")
    assert (tmp_path / "results.json").read_text(encoding="utf-8") == expected
    write_results_json(document, tmp_path / PRETTY_NAME, pretty=True)
    assert (tmp_path / PRETTY_NAME).read_text(encoding="utf-8") == json.dumps(document, indent=2) + "\n"


# --- the redaction's second line -------------------------------------------------------------------


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh memory of secrets: the ones these tests remember must not scrub other tests' reports."""
    monkeypatch.setattr(redaction, "_SEEN", redaction._Seen())


CANARIES = (
    "canary-ascii-0d5f3c9e",
    "kennwört-€-geheim-7",
    'quote"and\\backslash-42',
    "line\nbreak-and-tab\t-secret",
    "lone-\ud800-surrogate-secret",
)


class _Label(enum.StrEnum):
    SECRET = "prefix canary-ascii-0d5f3c9e suffix"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


@pytest.mark.usefixtures("seen")
@pytest.mark.parametrize("canary", CANARIES)
def test_a_remembered_secret_survives_nowhere_in_a_document(canary: str) -> None:
    redaction.remember_secret(canary)
    document = {
        "findings": [{"message": f"ok {n}", "evidence": [{"observed": n}]} for n in range(3000)]
        + [{"message": f"x{canary}y", "evidence": [{"observed": ("t", [canary])}]}],
        f"key {canary}": {"inner": [1, 2.5, None, True, canary * 2]},
    }
    scrubbed = redaction.scrub_document(document)
    assert not [s for s in _strings(scrubbed) if canary in s]
    assert "x[secret]y" in set(_strings(scrubbed))
    assert scrubbed["findings"][0] == {"message": "ok 0", "evidence": [{"observed": 0}]}  # the rest unchanged


@pytest.mark.usefixtures("seen")
def test_a_secret_inside_a_value_marshal_cannot_write_is_still_scrubbed() -> None:
    redaction.remember_secret("canary-ascii-0d5f3c9e")
    scrubbed = redaction.scrub_document({"verdict": [_Label.SECRET]})  # a str subclass: walked, not marshalled
    assert scrubbed == {"verdict": ["prefix [secret] suffix"]}


@pytest.mark.usefixtures("seen")
def test_many_secrets_are_found_by_one_pattern() -> None:
    secrets = [f"many-secrets-{n:03d}-{'x' * (n % 7)}" for n in range(60)]
    for secret in secrets:
        redaction.remember_secret(secret)
    for secret in (secrets[0], secrets[37], secrets[-1]):
        scrubbed = redaction.scrub_document({"a": [f"<{secret}>", "plain text here"]})
        assert scrubbed == {"a": ["<[secret]>", "plain text here"]}


@pytest.mark.usefixtures("seen")
def test_a_document_without_secrets_is_not_copied() -> None:
    redaction.remember_secret("canary-ascii-0d5f3c9e")
    document = {"findings": [{"message": "nothing secret", "n": n} for n in range(100)]}
    assert redaction.scrub_document(document) is document


# --- report.html above the threshold -----------------------------------------------------------------


def _many_findings(passes: int, fails: int, errors: int, warned: int) -> dict[str, Any]:
    """sample.json with its findings replaced by many, on distinct resources, spread over its checks."""
    document: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    templates: dict[str, Any] = {}
    for finding in document["findings"]:  # the first of each verdict (the sample's first FAIL is not waived)
        templates.setdefault(finding["verdict"], finding)
    findings = []
    plan = [("PASS", passes), ("FAIL", fails), ("ERROR", errors), ("WARN", warned)]
    for verdict, count in plan:
        for n in range(count):
            finding = copy.deepcopy(templates["PASS" if verdict == "WARN" else verdict])
            finding["id"] = f"{finding['checkId']}/{verdict}{n:05d}"
            finding["resourceId"] = f"/subscriptions/s/resourceGroups/rg/providers/x/{verdict.lower()}-{n:05d}"
            finding["warnings"] = (
                [f"certificate of {verdict.lower()}-{n:05d} expires soon"] if verdict == "WARN" else []
            )
            findings.append(finding)
    document["findings"] = findings
    return document


def test_the_summarised_html_names_every_fail_error_and_warn_and_only_counts_passes() -> None:
    document = _many_findings(passes=SUMMARY_THRESHOLD, fails=180, errors=70, warned=12)
    html = render_html(document)
    assert 'id="per-check"' in html
    named = set(re.findall(r"/providers/x/((?:fail|error|warn|pass)-\d{5})", html))
    assert {f"fail-{n:05d}" for n in range(180)} <= named
    assert {f"error-{n:05d}" for n in range(70)} <= named
    assert {f"warn-{n:05d}" for n in range(12)} <= named
    assert not any(name.startswith("pass-") for name in named)
    assert f"{SUMMARY_THRESHOLD} PASS or NOT APPLICABLE findings, listed in results.json" in html
    # The first problems of a table keep their evidence; the rest are one line each.
    assert 'class="compact"' in html and html.count('class="evidence"') >= 1
    assert MAX_DETAILED_PROBLEMS < 180
    german = render_html(document, lang="de")
    assert "Befunde je Prüfung" in german and "fail-00179" in german


def test_below_the_threshold_the_report_is_the_full_one() -> None:
    document = _many_findings(passes=30, fails=3, errors=1, warned=1)
    html = render_html(document)
    assert 'id="per-check"' not in html and 'class="compact"' not in html
    shown_passes = set(re.findall(r"/providers/x/(pass-\d{5})", html))
    assert len(shown_passes) == 25  # the pass rows are capped as before, the rest counted
    assert "… and 5 more PASS findings in results.json." in html


# --- junit.xml ---------------------------------------------------------------------------------------


def test_junit_is_what_an_indented_element_tree_would_write() -> None:
    document = _many_findings(passes=40, fails=5, errors=3, warned=2)
    document["findings"][40]["message"] = 'a <b> & "c"\nnext\tline \x00 ]]> 😀'
    document["findings"][41]["resourceId"] = 'r"<&>\n\t'
    document["claims"][0]["title"] = 'title with "quotes" & <angles>\nand a line'
    text = render_junit(document)
    assert text.startswith(XML_DECLARATION) and text.endswith("</testsuites>\n")
    root = ET.fromstring(text.removeprefix(XML_DECLARATION))
    ET.indent(root, space="  ")
    assert XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n" == text
    cases = [c for c in root.iter("testcase")]
    assert any(c.get("name") == 'r"<&>\n\t' for c in cases)
    failures = [f for c in cases if (f := c.find("failure")) is not None and c.get("classname") == FAILING_CHECK]
    assert len(failures) == 5  # one per FAIL finding of the check
    assert 'a <b> & "c"\nnext\tline  ]]> 😀' in {f.get("message") for f in failures}  # \x00 cannot be XML
