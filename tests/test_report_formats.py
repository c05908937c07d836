"""The machine-readable reports: results schema, SARIF 2.1.0, JUnit XML and the tamper-evident manifest."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from compliance_checks.report.junit import render_junit, show_observed
from compliance_checks.report.manifest import CHECKSUM_NAME, MANIFEST_NAME, verify_manifest, write_manifest
from compliance_checks.report.sarif import (
    DEFAULT_POLICY_URI,
    DOCUMENT_RULE_ID,
    FINGERPRINT_KEY,
    SECURITY_SEVERITY,
    render_sarif,
)
from compliance_checks.report.validation import load_schema, results_errors, validate_results, validate_sarif

FIXTURES = Path(__file__).parent / "fixtures" / "results"
SCHEMAS = Path(__file__).parents[1] / "compliance_checks" / "report" / "schemas"
# The vendored OASIS schema must stay byte-for-byte what schemas/README.md says it is.
SARIF_SCHEMA_SHA256 = "80cd7ffb9b62a4162d541aa9170862dd264f6cce0f04c57f1ac9f2337b808958"
VERDICTS = ("PASS", "FAIL", "ERROR", "MANUAL", "NOT_APPLICABLE")
LEVELS = {"FAIL": "error", "ERROR": "warning", "MANUAL": "note"}

Doc = dict[str, Any]


@pytest.fixture
def sample() -> Doc:
    document: Doc = json.loads((FIXTURES / "sample.json").read_text(encoding="utf-8"))
    return document


def by_id(items: list[Doc], item_id: str, key: str = "id") -> Doc:
    return next(item for item in items if item[key] == item_id)


# --- the results schema -------------------------------------------------------------------------


def test_results_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema("results-1.0")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert load_schema("results-1.0.json") == schema
    with pytest.raises(ValueError, match="unknown schema"):
        load_schema("results-9.9")


def test_sample_fixture_is_valid_results(sample: Doc) -> None:
    validate_results(sample)
    assert results_errors(sample) == []


def test_sample_fixture_covers_every_case_the_renderers_handle(sample: Doc) -> None:
    findings = sample["findings"]
    assert {f["verdict"] for f in findings} == set(VERDICTS)
    assert [f["verdict"] for f in findings if f["waiver"]] == ["FAIL"]
    assert len(sample["document"]) == 1
    organisational = [c for c in sample["claims"] if c["kind"] == "organisational"]
    assert {c["attestation"]["status"] for c in organisational} == {"valid", "expired", "missing"}
    observed = json.dumps([e["observed"] for f in findings for e in f["evidence"]])
    for tag in ("$missing", "$unknown", "$secret"):
        assert tag in observed
    assert any(f["location"] is None for f in findings if f["verdict"] in LEVELS)
    assert any(f["location"] and f["location"]["line"] for f in findings)
    assert any(not c["references"] for c in sample["checks"])
    # The summary agrees with the lists it summarises.
    summary = sample["summary"]
    assert summary["findings"] == {v: sum(f["verdict"] == v for f in findings) for v in VERDICTS}
    assert summary["claims"] == {v: sum(c["verdict"] == v for c in sample["claims"]) for v in VERDICTS}


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    """A mutation: set a value at a dotted path whose list steps are ``[id]`` lookups."""

    def mutate(doc: Doc) -> None:
        target: Any = doc
        steps = path.split(".")
        for step in steps[:-1]:
            if step.startswith("["):
                target = by_id(target, step[1:-1]) if not step[1:-1].isdigit() else target[int(step[1:-1])]
            else:
                target = target[step]
        target[steps[-1]] = value

    return mutate


def _delete(path: str, key: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for step in path.split(".") if path else []:
            target = by_id(target, step[1:-1]) if step.startswith("[") else target[step]
        del target[key]

    return mutate


BROKEN: dict[str, Callable[[Doc], None]] = {
    "a top-level key is missing": _delete("", "inventory"),
    "an unknown top-level key": _set("extra", {}),
    "another schema version": _set("schemaVersion", "2.0"),
    "an unknown verdict": _set("findings.[webapp_https_only/0001].verdict", "OK"),
    "an unknown severity": _set("checks.[webapp_https_only].severity", "urgent"),
    "an unknown claim kind": _set("claims.[SEC-TLS].kind", "legal"),
    "an unknown source": _set("run.source", "terraform"),
    "an extra key in a finding": _set("findings.[webapp_https_only/0001].note", "x"),
    "a finding without evidence": _delete("findings.[webapp_https_only/0001]", "evidence"),
    "a timestamp without a zone": _set("run.startedAt", "2026-11-24 20:50:00"),
    "an observedAt that is a date": _set("findings.[webapp_https_only/0001].observedAt", "2026-11-24"),
    "an input hash that is not SHA-256": _set("run.inputs.[0].sha256", "abc123"),
    "a verdict count is missing": _delete("summary.claims", "MANUAL"),
    "a negative count": _set("summary.waived", -1),
    "an exit code of 3": _set("summary.exitCode", 3),
    "a tagged value set to false": _set(
        "findings.[webapp_min_tls_version/0001].evidence.[0].observed", {"$missing": False}
    ),
    "a secret that carries its value": _set(
        "findings.[webapp_no_application_insights/0001].evidence.[0].observed", {"$secret": True, "value": "hunter2"}
    ),
    "a valid attestation without dates": _set("claims.[RIGHTS-COMPLAINT].attestation.date", ""),
    "an unknown attestation status": _set("claims.[RIGHTS-COMPLAINT].attestation.status", "pending"),
    "a waiver without justification": _set("findings.[log_retention_at_most_90_days/0001].waiver.justification", ""),
    "a location on line 0": _set("findings.[webapp_min_tls_version/0001].location.line", 0),
    "a check reference that is not a URL": _set("checks.[webapp_https_only].references", ["see the wiki"]),
    "a lower-case claim ID": _set("document.[0].claimId", "rights-complaint"),
    "an unknown mapping framework": _set("claims.[SEC-TLS].mappings.nist", ["AC-1"]),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_a_broken_copy_of_the_fixture_is_rejected(sample: Doc, breakage: str) -> None:
    broken = copy.deepcopy(sample)
    BROKEN[breakage](broken)
    assert broken != sample
    with pytest.raises(jsonschema.ValidationError):
        validate_results(broken)
    assert results_errors(broken)


def test_observed_values_may_be_any_json(sample: Doc) -> None:
    evidence = by_id(sample["findings"], "webapp_https_only/0001")["evidence"]
    for value in (None, 0, 1.5, "", [], [1, {"$missing": True}], {"$schema": "https://x", "a": [None]}, {}):
        evidence[0]["observed"] = value
        validate_results(sample)


# --- SARIF -------------------------------------------------------------------------------------------


def test_vendored_sarif_schema_is_the_recorded_official_file() -> None:
    raw = (SCHEMAS / "sarif-2.1.0.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SARIF_SCHEMA_SHA256
    schema = load_schema("sarif-2.1.0")
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    Draft7Validator.check_schema(schema)
    assert SARIF_SCHEMA_SHA256 in (SCHEMAS / "README.md").read_text(encoding="utf-8")


def test_sarif_validates_against_the_official_schema(sample: Doc) -> None:
    log = render_sarif(sample)
    validator = Draft7Validator(load_schema("sarif-2.1.0"), format_checker=Draft7Validator.FORMAT_CHECKER)
    assert [error.message for error in validator.iter_errors(log)] == []
    validate_sarif(log)
    assert json.loads(json.dumps(log)) == log
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1


def test_sarif_results_are_exactly_the_fail_error_and_manual_findings(sample: Doc) -> None:
    results = render_sarif(sample)["runs"][0]["results"]
    from_findings = [r for r in results if r["ruleId"] != DOCUMENT_RULE_ID]
    expected = [f for f in sample["findings"] if f["verdict"] in LEVELS]
    assert [r["properties"]["findingId"] for r in from_findings] == [f["id"] for f in expected]
    assert [r["level"] for r in from_findings] == [LEVELS[f["verdict"]] for f in expected]
    assert [r["level"] for r in from_findings] == ["error", "warning", "note", "warning", "error"]
    assert all("kind" not in r for r in results)  # the default "fail": SARIF requires level none for the others
    assert len(results) == len(expected) + len(sample["document"])


def test_sarif_waived_finding_carries_an_accepted_external_suppression(sample: Doc) -> None:
    results = render_sarif(sample)["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [r["properties"]["findingId"] for r in suppressed] == ["log_retention_at_most_90_days/0001"]
    waiver = by_id(sample["findings"], "log_retention_at_most_90_days/0001")["waiver"]
    assert suppressed[0]["suppressions"] == [
        {
            "kind": "external",
            "state": "accepted",
            "justification": waiver["justification"],
            "properties": {"owner": waiver["owner"], "expires": waiver["expires"]},
        }
    ]
    assert suppressed[0]["level"] == "error"


def test_sarif_rules_are_all_checks_then_the_policy_text_rule(sample: Doc) -> None:
    run = render_sarif(sample)["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "compliance-checks"
    assert driver["version"] == "0.1.0"
    assert "informationUri" not in driver
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [c["id"] for c in sample["checks"]] + [DOCUMENT_RULE_ID]
    for check, rule in zip(sample["checks"], rules, strict=False):
        assert rule["shortDescription"] == {"text": check["title"]}
        assert rule["fullDescription"] == {"text": check["rationale"]}
        assert rule["help"] == {"text": check["remediation"]}
        assert rule.get("helpUri") == (check["references"][0] if check["references"] else None)
        assert rule["properties"]["severity"] == check["severity"]
        assert rule["properties"]["claims"] == check["claims"]
        assert rule["properties"]["security-severity"] == SECURITY_SEVERITY[check["severity"]]
        assert "security" in rule["properties"]["tags"]
    assert by_id(rules, "postgres_public_access_disabled")["properties"]["security-severity"] == "9.5"
    assert by_id(rules, "log_retention_at_most_90_days")["properties"]["security-severity"] == "5.5"
    assert by_id(rules, "webapp_https_only")["name"] == "WebappHttpsOnly"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_locations_are_the_source_file_or_the_first_input(sample: Doc) -> None:
    results = render_sarif(sample)["runs"][0]["results"]
    by_finding = {r["properties"]["findingId"]: r for r in results if r["ruleId"] != DOCUMENT_RULE_ID}

    with_line = by_finding["webapp_min_tls_version/0001"]["locations"][0]
    assert with_line["physicalLocation"] == {
        "artifactLocation": {"uri": "infra/components/portal.py"},
        "region": {"startLine": 57},
    }
    finding = by_id(sample["findings"], "webapp_min_tls_version/0001")
    assert with_line["logicalLocations"] == [
        {
            "name": "app-smartportal-dev",
            "fullyQualifiedName": finding["resourceId"],
            "kind": "resource",
            "properties": {"resourceType": "Microsoft.Web/sites"},
        }
    ]

    without_location = by_finding["postgres_min_tls_version/0001"]["locations"][0]
    assert without_location["physicalLocation"] == {"artifactLocation": {"uri": sample["run"]["inputs"][0]["path"]}}

    without_line = by_finding["entra_ca_mfa_for_developers/0001"]["locations"][0]
    assert "region" not in without_line["physicalLocation"]


def test_sarif_message_is_the_finding_message_with_its_claims(sample: Doc) -> None:
    results = render_sarif(sample)["runs"][0]["results"]
    first = results[0]
    finding = by_id(sample["findings"], first["properties"]["findingId"])
    assert first["message"]["text"] == f"{finding['message']} (claim: SEC-TLS)"


def test_sarif_document_findings_point_at_the_policy(sample: Doc) -> None:
    results = render_sarif(sample)["runs"][0]["results"]
    (document,) = [r for r in results if r["ruleId"] == DOCUMENT_RULE_ID]
    assert document["level"] == "error"
    assert document["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == DEFAULT_POLICY_URI
    assert "Deutschland" in document["message"]["text"]
    assert "Austria" in document["message"]["text"]
    assert "RIGHTS-COMPLAINT" in document["message"]["text"]

    other = render_sarif(sample, policy_uri="docs/Datenschutzerklärung 2026.txt")
    (moved,) = [r for r in other["runs"][0]["results"] if r["ruleId"] == DOCUMENT_RULE_ID]
    assert moved["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "docs/Datenschutzerkl%C3%A4rung%202026.txt"
    )
    validate_sarif(other)


def test_sarif_fingerprints_depend_on_check_and_resource_only(sample: Doc) -> None:
    def fingerprints(doc: Doc) -> dict[tuple[str, str], str]:
        return {
            (r["ruleId"], r["properties"]["resourceId"].lower()): r["partialFingerprints"][FINGERPRINT_KEY]
            for r in render_sarif(doc)["runs"][0]["results"]
            if r["ruleId"] != DOCUMENT_RULE_ID
        }

    reference = fingerprints(sample)
    assert len(set(reference.values())) == len(reference)

    reordered = copy.deepcopy(sample)
    random.Random(7).shuffle(reordered["findings"])
    for number, finding in enumerate(reordered["findings"], start=1):
        finding["id"] = f"{finding['checkId']}/{number:04d}"
        finding["resourceId"] = finding["resourceId"].upper()  # ARM IDs are case-insensitive
        finding["message"] += " Reworded."
    assert fingerprints(reordered) == reference


def test_sarif_is_deterministic(sample: Doc) -> None:
    assert json.dumps(render_sarif(sample)) == json.dumps(render_sarif(copy.deepcopy(sample)))


def test_sarif_of_a_clean_run_without_inputs_is_valid(sample: Doc) -> None:
    clean = copy.deepcopy(sample)
    clean["findings"] = [f for f in clean["findings"] if f["verdict"] not in LEVELS]
    clean["document"] = []
    clean["run"]["inputs"] = []
    log = render_sarif(clean)
    validate_sarif(log)
    assert log["runs"][0]["results"] == []
    assert "artifacts" not in log["runs"][0]

    unlocated = copy.deepcopy(sample)
    unlocated["run"]["inputs"] = []
    for finding in unlocated["findings"]:
        finding["location"] = None
    log = render_sarif(unlocated)
    validate_sarif(log)
    assert all("physicalLocation" not in r["locations"][0] for r in log["runs"][0]["results"][:-1])


def test_sarif_run_records_invocation_and_inputs(sample: Doc) -> None:
    run = render_sarif(sample)["runs"][0]
    (invocation,) = run["invocations"]
    assert invocation["startTimeUtc"] == "2026-11-24T20:50:00Z"
    assert invocation["exitCode"] == 2
    (artifact,) = run["artifacts"]
    assert artifact["hashes"] == {"sha-256": sample["run"]["inputs"][0]["sha256"]}
    assert run["automationDetails"]["id"] == "compliance-checks/dev/synth/"
    assert run["properties"]["summary"] == sample["summary"]


# --- JUnit ---------------------------------------------------------------------------------------------


def parse_junit(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def counts(element: ET.Element) -> tuple[int, int, int, int]:
    return (
        int(element.attrib["tests"]),
        int(element.attrib["failures"]),
        int(element.attrib["errors"]),
        int(element.attrib["skipped"]),
    )


def suite_named(root: ET.Element, prefix: str) -> ET.Element:
    (suite,) = [s for s in root.findall("testsuite") if s.attrib["name"].startswith(prefix)]
    return suite


def test_junit_counts_agree_with_the_testcases_on_every_suite_and_the_root(sample: Doc) -> None:
    root = parse_junit(render_junit(sample))
    assert root.tag == "testsuites"
    totals = [0, 0, 0, 0]
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        actual = (
            len(cases),
            sum(len(c.findall("failure")) for c in cases),
            sum(len(c.findall("error")) for c in cases),
            sum(len(c.findall("skipped")) for c in cases),
        )
        assert counts(suite) == actual, suite.attrib["name"]
        assert all(len(list(c)) <= 1 for c in cases)
        totals = [t + a for t, a in zip(totals, actual, strict=True)]
    assert counts(root) == tuple(totals)


def test_junit_sample_has_the_expected_suites_and_counts(sample: Doc) -> None:
    root = parse_junit(render_junit(sample))
    names = [s.attrib["name"] for s in root.findall("testsuite")]
    assert names == [f"{c['id']}: {c['title']}" for c in sample["claims"]] + ["policy-text"]
    assert counts(root) == (14, 3, 2, 4)
    assert counts(suite_named(root, "SEC-TLS:")) == (3, 1, 1, 0)
    assert counts(suite_named(root, "SEC-HOSTING-AZURE:")) == (2, 0, 0, 0)
    assert counts(suite_named(root, "policy-text")) == (1, 1, 0, 0)


def test_junit_testcases_follow_the_verdicts(sample: Doc) -> None:
    root = parse_junit(render_junit(sample))
    cases = {
        (c.attrib["classname"], c.attrib["name"]): c for s in root.findall("testsuite") for c in s.findall("testcase")
    }
    outcome: dict[str, tuple[str, dict[str, str]]] = {}
    for finding in sample["findings"]:
        case = cases[(finding["checkId"], finding["resourceId"])]
        children = list(case)
        outcome[finding["id"]] = (children[0].tag, children[0].attrib) if children else ("pass", {})

    assert outcome["webapp_https_only/0001"][0] == "pass"
    tag, attrib = outcome["webapp_min_tls_version/0001"]
    assert (tag, attrib["type"]) == ("failure", "high")
    assert attrib["message"] == by_id(sample["findings"], "webapp_min_tls_version/0001")["message"]
    assert outcome["postgres_min_tls_version/0001"][0] == "error"
    assert outcome["webapp_no_application_insights/0001"][0] == "error"
    assert outcome["entra_ca_mfa_for_developers/0001"][0] == "skipped"
    assert outcome["probe_browser_no_cookies/0001"][0] == "skipped"
    tag, attrib = outcome["log_retention_at_most_90_days/0001"]
    assert tag == "skipped"
    assert attrib["message"].startswith("waived: Logs are kept for the investigation")


def test_junit_evidence_shows_missing_unknown_and_secret_values(sample: Doc) -> None:
    root = parse_junit(render_junit(sample))
    texts = " ".join(e.text or "" for e in root.iter() if e.tag in ("failure", "error"))
    assert "observed (not set)" in texts
    assert "observed (unknown)" in texts
    assert "observed [secret]" in texts
    assert "Remediation: Set siteConfig.minTlsVersion" in texts


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({"$missing": True}, "(not set)"),
        ({"$unknown": True}, "(unknown)"),
        ({"$secret": True}, "[secret]"),
        ({"$missing": False}, '{"$missing": false}'),
        ("germanywestcentral", "germanywestcentral"),
        (True, "true"),
        ({"b": 1, "a": None}, '{"a": null, "b": 1}'),
    ],
)
def test_observed_values_are_shown_like_every_other_report(value: Any, shown: str) -> None:
    assert show_observed(value) == shown


def test_junit_claims_without_findings_report_their_attestation(sample: Doc) -> None:
    root = parse_junit(render_junit(sample))

    (valid,) = suite_named(root, "RIGHTS-COMPLAINT:").findall("testcase")
    assert (valid.attrib["classname"], list(valid)) == ("attestation", [])

    (expired,) = suite_named(root, "ORG-LAWFUL-BASIS:").findall("testcase")
    (failure,) = list(expired)
    assert failure.tag == "failure"
    assert failure.attrib["message"] == "attestation expired on 2026-01-31"
    assert "attestations/2025-01-lawful-basis-and-dpa.pdf" in (failure.text or "")

    (missing,) = suite_named(root, "ORG-DATA-MINIMISATION:").findall("testcase")
    assert [c.tag for c in missing] == ["skipped"]
    assert "missing" in missing[0].attrib["message"]


def test_junit_policy_text_suite_holds_the_document_findings(sample: Doc) -> None:
    suite = suite_named(parse_junit(render_junit(sample)), "policy-text")
    (case,) = suite.findall("testcase")
    assert (case.attrib["classname"], case.attrib["name"]) == ("policy_text_consistency", "RIGHTS-COMPLAINT/country")
    (failure,) = list(case)
    assert failure.tag == "failure"
    assert "German: Deutschland" in (failure.text or "")
    assert "English: Austria" in (failure.text or "")


def test_junit_timestamps_come_from_the_run(sample: Doc) -> None:
    root = parse_junit(render_junit(sample))
    assert root.attrib["timestamp"] == "2026-11-24T20:50:00"
    assert root.attrib["time"] == "7.000"
    assert {s.attrib["timestamp"] for s in root.findall("testsuite")} == {"2026-11-24T20:50:00"}


def test_junit_survives_hostile_text(sample: Doc) -> None:
    finding = by_id(sample["findings"], "webapp_min_tls_version/0001")
    finding["message"] = "Bad <script>alert(\"x\")</script> & 'quotes'\x00\x1b[31m\nsecond line"
    finding["evidence"][0]["observed"] = "]]></failure><x>"
    root = parse_junit(render_junit(sample))
    failure = next(e for e in root.iter("failure") if "script" in e.attrib["message"])
    assert failure.attrib["message"] == "Bad <script>alert(\"x\")</script> & 'quotes'[31m\nsecond line"
    assert "]]></failure><x>" in (failure.text or "")


def test_junit_is_deterministic_and_utf8(sample: Doc) -> None:
    assert render_junit(sample) == render_junit(copy.deepcopy(sample))
    by_id(sample["claims"], "RIGHTS-COMPLAINT")["title"] = "Beschwerderecht bei der Aufsichtsbehörde"
    text = render_junit(sample)
    assert "Aufsichtsbehörde".encode() in text.encode("utf-8")
    suite = suite_named(parse_junit(text), "RIGHTS-COMPLAINT:")
    assert suite.attrib["name"] == "RIGHTS-COMPLAINT: Beschwerderecht bei der Aufsichtsbehörde"


# --- the manifest ---------------------------------------------------------------------------------------


@pytest.fixture
def report_dir(tmp_path: Path, sample: Doc) -> Path:
    out = tmp_path / "report"
    (out / "assets").mkdir(parents=True)
    (out / "results.json").write_text(json.dumps(sample, indent=2) + "\n", encoding="utf-8")
    (out / "results.sarif").write_text(json.dumps(render_sarif(sample), indent=2) + "\n", encoding="utf-8")
    (out / "junit.xml").write_text(render_junit(sample), encoding="utf-8")
    (out / "assets" / "report.css").write_text("body { font-family: sans-serif; }\n", encoding="utf-8")
    artefacts = [out / "results.json", out / "results.sarif", out / "junit.xml", out / "assets" / "report.css"]
    assert write_manifest(out, artefacts, results=sample) == out / MANIFEST_NAME
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_round_trip(report_dir: Path, sample: Doc) -> None:
    assert verify_manifest(report_dir) == []
    manifest = json.loads((report_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["schemaVersion"] == "1.0"
    assert manifest["tool"] == sample["tool"]
    assert manifest["run"] == {"source": "synth", "stack": "dev", "startedAt": "2026-11-24T20:50:00Z"}
    assert manifest["inputs"] == sample["run"]["inputs"]
    assert manifest["versions"] == sample["run"]["versions"]
    assert manifest["artefacts"] == [
        {"path": name, "size": (report_dir / name).stat().st_size, "sha256": sha256(report_dir / name)}
        for name in ("assets/report.css", "junit.xml", "results.json", "results.sarif")
    ]
    checksum = (report_dir / CHECKSUM_NAME).read_text(encoding="utf-8")
    assert checksum == f"{sha256(report_dir / MANIFEST_NAME)}  {MANIFEST_NAME}\n"


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils sha256sum is not installed")
def test_manifest_checksum_is_in_sha256sum_format(report_dir: Path) -> None:
    sha256sum = shutil.which("sha256sum")
    assert sha256sum is not None
    subprocess.run([sha256sum, "--check", "--quiet", CHECKSUM_NAME], cwd=report_dir, check=True)


def test_manifest_is_deterministic(report_dir: Path, sample: Doc) -> None:
    first = (report_dir / MANIFEST_NAME).read_bytes()
    write_manifest(
        report_dir,
        [Path("results.sarif"), Path("results.json"), Path("junit.xml"), Path("assets/report.css"), Path("junit.xml")],
        results=sample,
    )
    assert (report_dir / MANIFEST_NAME).read_bytes() == first
    assert sorted(p.name for p in report_dir.iterdir()) == [
        "assets",
        "junit.xml",
        MANIFEST_NAME,
        CHECKSUM_NAME,
        "results.json",
        "results.sarif",
    ]


def test_manifest_accepts_paths_relative_to_the_working_directory(
    report_dir: Path, sample: Doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(report_dir.parent)
    write_manifest(Path("report"), [Path("report/results.json")], results=sample)
    assert [a["path"] for a in json.loads((report_dir / MANIFEST_NAME).read_text())["artefacts"]] == ["results.json"]


def test_manifest_refuses_files_outside_the_directory_and_itself(report_dir: Path, sample: Doc, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="not a file inside"):
        write_manifest(report_dir, [outside], results=sample)
    with pytest.raises(ValueError, match="not a file inside"):
        write_manifest(report_dir, [Path("../elsewhere.txt")], results=sample)
    with pytest.raises(ValueError, match="not a file inside"):
        write_manifest(report_dir, [report_dir / "nope.json"], results=sample)
    with pytest.raises(ValueError, match="cannot list itself"):
        write_manifest(report_dir, [report_dir / MANIFEST_NAME], results=sample)


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_manifest_entry(out: Path) -> None:
    """The careful forger: changes an artefact and its manifest entry, but cannot fix manifest.sha256."""
    (out / "junit.xml").write_text("<testsuites/>\n", encoding="utf-8")
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    entry = by_id(manifest["artefacts"], "junit.xml", key="path")
    entry.update(size=(out / "junit.xml").stat().st_size, sha256=sha256(out / "junit.xml"))
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _rewrite_manifest(text: str) -> Callable[[Path], None]:
    """Replace manifest.json and re-hash it, so only the content itself can be the problem."""

    def tamper(out: Path) -> None:
        (out / MANIFEST_NAME).write_text(text, encoding="utf-8")
        (out / CHECKSUM_NAME).write_text(f"{sha256(out / MANIFEST_NAME)}  {MANIFEST_NAME}\n", encoding="utf-8")

    return tamper


def _escape_the_directory(out: Path) -> None:
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["artefacts"][0]["path"] = "../../etc/passwd"
    _rewrite_manifest(json.dumps(manifest))(out)


TAMPERING: dict[str, tuple[Callable[[Path], object], str, str]] = {
    # name: (tampering, file the message must name, what it must say)
    "artefact edited, same size": (lambda out: _flip_a_byte(out / "results.sarif"), "results.sarif", "content changed"),
    "artefact grown": (
        lambda out: (out / "results.json").write_text("{}\n" * 1000, encoding="utf-8"),
        "results.json",
        "size changed",
    ),
    "artefact deleted": (lambda out: (out / "junit.xml").unlink(), "junit.xml", "missing"),
    "nested artefact deleted": (lambda out: (out / "assets" / "report.css").unlink(), "assets/report.css", "missing"),
    "file added": (lambda out: (out / "notes.txt").write_text("x", encoding="utf-8"), "notes.txt", "unexpected"),
    "file added in a subdirectory": (
        lambda out: (out / "assets" / "tracker.js").write_text("x", encoding="utf-8"),
        "assets/tracker.js",
        "unexpected",
    ),
    "manifest edited": (_edit_manifest_entry, MANIFEST_NAME, "changed"),
    "manifest deleted": (lambda out: (out / MANIFEST_NAME).unlink(), MANIFEST_NAME, "missing"),
    "manifest not JSON": (_rewrite_manifest("{not json"), MANIFEST_NAME, "malformed"),
    "manifest of the wrong shape": (
        _rewrite_manifest('{"manifestVersion": "1.0", "artefacts": {}}'),
        MANIFEST_NAME,
        "malformed",
    ),
    "manifest path escapes the directory": (_escape_the_directory, MANIFEST_NAME, "malformed"),
    "checksum deleted": (lambda out: (out / CHECKSUM_NAME).unlink(), CHECKSUM_NAME, "missing"),
    "checksum garbled": (
        lambda out: (out / CHECKSUM_NAME).write_text("deadbeef manifest.json\n", encoding="utf-8"),
        CHECKSUM_NAME,
        "malformed",
    ),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_manifest_detects_tampering(report_dir: Path, tampering: str) -> None:
    tamper, name, says = TAMPERING[tampering]
    tamper(report_dir)
    problems = verify_manifest(report_dir)
    assert problems, "tampering went unnoticed"
    assert all("\n" not in p for p in problems)
    assert any(p.startswith(f"{name}: ") and says in p for p in problems), problems


def test_manifest_reports_every_problem_at_once(report_dir: Path) -> None:
    _flip_a_byte(report_dir / "results.sarif")
    (report_dir / "junit.xml").unlink()
    (report_dir / "extra.html").write_text("<p>hi</p>", encoding="utf-8")
    assert verify_manifest(report_dir) == [
        "junit.xml: missing",
        "results.sarif: content changed (SHA-256 differs from the manifest)",
        "extra.html: unexpected file, not in the manifest",
    ]


def test_manifest_verifies_the_audited_inputs_on_request(tmp_path: Path, sample: Doc) -> None:
    repository = tmp_path / "repo"
    stack = repository / "infra" / "stacks" / "Pulumi.dev.yaml"
    stack.parent.mkdir(parents=True)
    stack.write_text("config:\n  smartportal:location: germanywestcentral\n", encoding="utf-8")
    sample["run"]["inputs"] = [{"path": "infra/stacks/Pulumi.dev.yaml", "sha256": sha256(stack)}]
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(sample), encoding="utf-8")
    write_manifest(out, [out / "results.json"], results=sample)

    assert verify_manifest(out, inputs_root=repository) == []
    stack.write_text("config:\n  smartportal:location: eastus\n", encoding="utf-8")
    assert verify_manifest(out) == []
    assert verify_manifest(out, inputs_root=repository) == [
        "input infra/stacks/Pulumi.dev.yaml: changed since the audit (SHA-256 differs from the manifest)"
    ]
    stack.unlink()
    assert verify_manifest(out, inputs_root=repository) == ["input infra/stacks/Pulumi.dev.yaml: missing"]


def test_verify_of_something_that_is_not_a_report(tmp_path: Path) -> None:
    assert verify_manifest(tmp_path / "absent") == [f"{tmp_path / 'absent'}: not a directory"]
    assert verify_manifest(tmp_path) == [f"{MANIFEST_NAME}: missing, nothing can be verified"]
