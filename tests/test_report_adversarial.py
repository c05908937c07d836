"""Adversarial tests of the report writers and the redaction's second line (issue 15 follow-up).

Three kinds:

* canaries: a remembered secret, planted in hostile shapes (dict keys, tuples, sets, bytes, very long
  strings, non-ASCII, split by characters a writer drops or joins), reaches no byte of any output --
  results.json, results.pretty.json, report.html, report.md, results.sarif, junit.xml, manifest.json and
  the terminal summary -- in its plain, JSON-escaped, HTML-escaped or XML-escaped form;
* fidelity: every finding and verdict reaches results.json, the compact and the pretty copy parse to the
  same document, a results.json cut short is never read back (``--baseline``, ``claims --results``), the
  summarised report.html names every finding that is not a plain PASS or NOT_APPLICABLE, and every
  format counts what results.json counts;
* hostile text: markup, ``]]>``, control and non-XML characters, RTL overrides, lone surrogates and very
  long lines break no format (junit.xml parsed by an XML parser, results.sarif validated against the
  vendored OASIS schema, report.html parsed for injected elements).
"""

from __future__ import annotations

import copy
import html
import json
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance_checks import redaction
from compliance_checks.checks.base import Params
from compliance_checks.cli import DEFAULT_FORMATS, main, print_summary, write_reports
from compliance_checks.engine import EXIT_ERROR, EXIT_OK, EXIT_VIOLATION, AuditResult
from compliance_checks.errors import InputError
from compliance_checks.findings import Evidence, Finding, Verdict, Waiver
from compliance_checks.inventory import SECRET, Inventory
from compliance_checks.report.html import SUMMARY_THRESHOLD, render_html
from compliance_checks.report.junit import XML_DECLARATION, render_junit
from compliance_checks.report.manifest import PRETTY_RESULTS_NAME
from compliance_checks.report.markdown import render_markdown
from compliance_checks.report.results import build_results, read_results, results_json_chunks
from compliance_checks.report.sarif import render_sarif
from compliance_checks.report.validation import validate_results, validate_sarif
from tests.conftest import missing_prerequisite

FIXTURES = Path(__file__).parent / "fixtures"
PREVIEW = FIXTURES / "sources" / "pulumi-preview.json"
SAMPLE = FIXTURES / "results" / "sample.json"
NOW = datetime(2026, 1, 1, tzinfo=UTC)

Doc = dict[str, Any]


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh memory of secrets: the ones these tests remember must not scrub other tests' reports."""
    monkeypatch.setattr(redaction, "_SEEN", redaction._Seen())


def _result(findings: list[Finding], *, document: tuple[Finding, ...] = ()) -> AuditResult:
    return AuditResult(
        inventory=Inventory([]),
        checks={},
        findings=tuple(findings),
        claims=(),
        document=document,
        params=Params(),
        started_at=NOW,
        finished_at=NOW,
    )


def _build(findings: list[Finding]) -> Doc:
    return build_results(_result(findings), source="probe", stack=None, versions={"python": "3.12"})


def _forms(secret: str) -> set[str]:
    """Every way a writer could spell ``secret``: as is, JSON-escaped (ASCII or not), HTML-/XML-escaped."""
    xml_attribute = html.escape(secret).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#09;")
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
        xml_attribute,
    }


def _all_outputs(results: Doc, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, bytes]:
    """Every file an audit writes (all default formats, --pretty, the manifest) and the terminal summary."""
    paths = write_reports(results, DEFAULT_FORMATS, out, pretty=True)
    outputs = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    capsys.readouterr()
    print_summary(results, paths)
    captured = capsys.readouterr()
    outputs["stdout"] = captured.out.encode("utf-8", "surrogateescape")
    outputs["stderr"] = captured.err.encode("utf-8", "surrogateescape")
    assert {"results.json", PRETTY_RESULTS_NAME, "report.html", "report.md", "results.sarif", "junit.xml"} <= set(
        outputs
    )
    return outputs


def _leaks(outputs: dict[str, bytes], secret: str) -> list[str]:
    found = []
    for name, data in outputs.items():
        for form in _forms(secret):
            if form.encode("utf-8", "surrogatepass") in data:
                found.append(f"{name}: {form!r}")
    return found


# --- canaries: writers that drop or join characters -------------------------------------------------


@pytest.mark.usefixtures("seen")
@pytest.mark.parametrize("secret", ["canary-split-0d5f3c9e", 'pa&s<s"w>rd-split-7'])
@pytest.mark.parametrize("dropped", ["\x00", "\x08", "\ufffe", "\uffff", "\ud800", "\x1b"])
def test_a_secret_split_by_a_character_xml_cannot_carry_is_not_joined_in_junit(dropped: str, secret: str) -> None:
    # junit.xml drops the characters XML 1.0 cannot carry: that must not join the two halves of a secret,
    # neither as written nor as escaped in an attribute ("&amp;", "&lt;", "&quot;").
    redaction.remember_secret(secret)
    split = secret[:7] + dropped + secret[7:]
    finding = Finding("c", Verdict.FAIL, f"/r/{split}", "T", split, (Evidence("p", split, split),), warnings=(split,))
    text = render_junit(_build([finding]))
    root = ET.fromstring(text.removeprefix(XML_DECLARATION))  # still XML
    assert root.find(".//failure") is not None
    assert not [form for form in _forms(secret) if form in text]


@pytest.mark.usefixtures("seen")
def test_a_secret_split_by_a_line_break_is_not_joined_in_markdown() -> None:
    # report.md joins a cell's lines with a space: a passphrase broken over two lines must not come back whole.
    secret = "correct horse battery staple"
    redaction.remember_secret(secret)
    broken = "correct horse\nbattery staple"
    finding = Finding("c", Verdict.FAIL, "/r/x", "T", f"value {broken} seen", (Evidence("p", broken, "x"),))
    text = render_markdown(_build([finding]))
    assert "value [secret] seen" in text  # the finding is there, the joined secret scrubbed
    assert secret not in text


# --- canaries: hostile shapes through build_results and every writer ----------------------------------


SECRETS = (
    "canary-ascii-0d5f3c9e",
    "kennwört-€-geheim-7",
    'quote"and\\backslash<&>-42',
    "line\nbreak-and-tab\t-secret",
    "😀astral-secret-😀",
)


def _shapes(secret: str) -> list[Any]:
    """Observed values that hold ``secret`` somewhere a quick look would miss it."""
    return [
        {secret: "as a key"},
        {"k": {"deeper": [(1, secret)]}},
        (secret,),
        [[[[secret]]]],
        {"set": frozenset([secret])},
        {secret},
        secret.encode("utf-8"),
        {"bytes": [secret.encode("utf-8")]},
        "x" * 100_000 + secret + "y" * 100_000,
        {"a": 1, "b": 2.5, "c": True, "d": None, "e": f"prefix {secret} suffix"},
        {("tuple", "key"): secret},
        {7: secret},
    ]


@pytest.mark.usefixtures("seen")
@pytest.mark.parametrize("secret", SECRETS)
def test_a_remembered_secret_in_any_shape_reaches_no_output(
    secret: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    redaction.remember_secret(secret)
    findings = [
        Finding(
            f"check_{n:02d}",
            verdict,
            f"/subscriptions/s/resourceGroups/rg/providers/x/r{n}",
            "T",
            f"message with {secret} inside",
            (Evidence("p", shape, f"not {secret}"),),
            warnings=(f"warn {secret}",),
            waiver=Waiver("c", "r", f"because {secret}", "2030-01-01", secret) if n % 4 == 0 else None,
        )
        for n, shape in enumerate(_shapes(secret))
        for verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.PASS)
    ]
    results = _build(findings)
    validate_results(results)
    outputs = _all_outputs(results, tmp_path / "out", capsys)
    assert not _leaks(outputs, secret)
    # The findings are all there (a canary dropped with its finding proves nothing).
    written = json.loads(outputs["results.json"])
    assert len(written["findings"]) == len(findings)
    assert b"[secret]" in outputs["report.html"] and b"[secret]" in outputs["junit.xml"]


@pytest.mark.usefixtures("seen")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12), st.just("<CANARY>")),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.tuples(children, children),
            st.dictionaries(st.one_of(st.text(max_size=6), st.just("<CANARY>")), children, max_size=4),
        ),
        max_leaves=20,
    ),
    glue=st.sampled_from(["", " ", "\n", "\x00", "é", "\u202e"]),
)
def test_property_a_canary_anywhere_in_evidence_is_scrubbed_from_every_writer(data: Any, glue: str) -> None:
    secret = "hyp-canary-7f3e2d1c"
    redaction.remember_secret(secret)

    def plant(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("<CANARY>", glue + secret + glue)
        if isinstance(value, dict):
            return {plant(k): plant(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(plant(v) for v in value)
        return value

    observed = plant(data)
    finding = Finding("c", Verdict.FAIL, "/r/x", "T", "m", (Evidence("p", observed, "x"),))
    results = _build([finding])
    texts = {
        "json": "".join(results_json_chunks(results)),
        "html": render_html(results),
        "md": render_markdown(results),
        "junit": render_junit(results),
        "sarif": json.dumps(render_sarif(results)),
    }
    for name, text in texts.items():
        assert not [form for form in _forms(secret) if form in text], name


def test_a_secret_that_is_a_number_or_a_boolean_is_hidden_at_its_path() -> None:
    # Only strings can be remembered (a number occurs by chance anywhere), so a secret path hides any value.
    for value in (12345678, 1234.5678, True, ["a-list", 12345678]):
        evidence = Evidence("properties.administratorLoginPassword", value, "a password")
        assert evidence.observed is SECRET
        document = _build([Finding("c", Verdict.FAIL, "/r/x", "T", "m", (evidence,))])
        assert document["findings"][0]["evidence"][0]["observed"] == {"$secret": True}


@pytest.mark.usefixtures("seen")
def test_a_pulumi_secret_copied_in_plain_elsewhere_is_scrubbed() -> None:
    # `pulumi stack export --show-secrets` writes the plaintext JSON-encoded ("\"value\""): the value
    # itself, not its JSON spelling, is what a copy elsewhere (a message, a tag) holds.
    secret = "pulumi-plain-5c2a9b"
    marked = {redaction.PULUMI_SECRET_KEY: redaction.PULUMI_SECRET_SIG, "plaintext": json.dumps(secret)}
    body = redaction.redact_body("Microsoft.Web/sites", "app", {"properties": {"x": marked}})
    assert body["properties"]["x"] is SECRET
    assert redaction.scrub_text(f"copied {secret} here") == "copied [secret] here"
    structured = {redaction.PULUMI_SECRET_KEY: redaction.PULUMI_SECRET_SIG, "plaintext": json.dumps({"n": secret})}
    redaction.redact_body("Microsoft.Web/sites", "app", {"properties": {"y": structured}})
    assert redaction.scrub_text("no names scrubbed: n") == "no names scrubbed: n"


# --- fidelity -------------------------------------------------------------------------------------------


def _audit(out: Path, *extra: str) -> int:
    return main(["audit", "--source", "pulumi-preview", "--input", str(PREVIEW), "--out", str(out), "-q", *extra])


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adversarial") / "report"
    assert _audit(out, "--pretty") in (EXIT_OK, EXIT_VIOLATION, EXIT_ERROR)
    return out


def test_the_compact_and_the_pretty_results_are_the_same_document(audited: Path) -> None:
    compact = json.loads((audited / "results.json").read_text(encoding="utf-8"))
    pretty = json.loads((audited / PRETTY_RESULTS_NAME).read_text(encoding="utf-8"))
    assert compact == pretty
    assert read_results(audited / "results.json") == compact


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=5),
        st.one_of(
            st.lists(st.dictionaries(st.text(max_size=3), st.one_of(st.integers(), st.text())), max_size=2500),
            st.dictionaries(st.text(max_size=3), st.lists(st.integers(), max_size=1200)),
            st.text(),
            st.none(),
        ),
        max_size=4,
    )
)
def test_property_the_streamed_compact_and_the_pretty_writer_parse_alike(document: dict[str, Any]) -> None:
    compact = "".join(results_json_chunks(document))
    assert json.loads(compact) == document
    assert compact == json.dumps(document, separators=(",", ":")) + "\n"


def _cuts(size: int) -> Iterator[int]:
    """Where a write can stop: the first and last bytes densely, the middle sampled."""
    chosen = set(range(0, min(size, 300))) | set(range(max(0, size - 300), size))
    rng = random.Random(15)
    chosen |= {rng.randrange(size) for _ in range(300)}
    yield from sorted(chosen)


def test_a_results_json_cut_short_anywhere_is_never_read_back(audited: Path, tmp_path: Path) -> None:
    data = (audited / "results.json").read_bytes()
    assert data.endswith(b"}\n")
    cut_file = tmp_path / "results.json"
    for cut in _cuts(len(data) - 1):  # everything before the final "}" (with it, the document is whole)
        cut_file.write_bytes(data[:cut])
        with pytest.raises(InputError):
            read_results(cut_file)
    cut_file.write_bytes(data[:-1])  # without the final newline only: complete
    assert read_results(cut_file)["findings"]


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.999])
def test_the_cli_refuses_a_results_json_cut_short(
    audited: Path, tmp_path: Path, fraction: float, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (audited / "results.json").read_bytes()
    cut = tmp_path / "results.json"
    cut.write_bytes(data[: int(len(data) * fraction)])
    capsys.readouterr()
    assert main(["claims", "--results", str(cut)]) == EXIT_ERROR
    assert main(["audit", "--source", "pulumi-preview", "--input", str(PREVIEW), "--out", str(tmp_path / "o"),
                 "-q", "--format", "json", "--baseline", str(cut)]) == EXIT_ERROR  # fmt: skip
    err = capsys.readouterr().err
    assert str(cut) in err and "Traceback" not in err
    assert not (tmp_path / "o" / "results.json").exists()


def test_every_finding_reaches_results_json_with_its_verdict() -> None:
    verdicts = [Verdict.PASS, Verdict.FAIL, Verdict.ERROR, Verdict.MANUAL, Verdict.NOT_APPLICABLE]
    rng = random.Random(7)
    findings = [
        Finding(f"c{n % 7}", rng.choice(verdicts), f"/r/{n}", "T", f"m{n}", (Evidence("p", n, "x"),))
        for n in range(3000)
    ]
    document = _build(findings)
    written = json.loads("".join(results_json_chunks(document)))
    assert [(f["checkId"], f["resourceId"], f["verdict"]) for f in written["findings"]] == [
        (f.check_id, f.resource_id, f.verdict.value) for f in findings
    ]
    assert written["summary"]["findings"] == {v.value: sum(f.verdict == v for f in findings) for v in Verdict}


def _scattered(total: int, seed: int) -> tuple[Doc, dict[str, str]]:
    """sample.json with ``total`` findings, the non-PASS ones at random places; returns the names to find."""
    document: Doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    templates: dict[str, Doc] = {}
    for finding in document["findings"]:
        templates.setdefault(finding["verdict"], finding)
    unclaimed = copy.deepcopy(templates["FAIL"]) | {"checkId": "CKV_AZURE_999", "claims": []}
    rng = random.Random(seed)
    kinds = ["FAIL", "ERROR", "MANUAL", "WARN", "NA-WARN", "WAIVED", "EXCLUDED", "CHECKOV"]
    slots = set(rng.sample(range(total), 40 * len(kinds)))
    findings, expected = [], {}
    for n in range(total):
        kind = kinds[n % len(kinds)] if n in slots else rng.choice(["PASS", "PASS", "NOT_APPLICABLE"])
        base = {"WARN": "PASS", "NA-WARN": "NOT_APPLICABLE", "WAIVED": "FAIL", "EXCLUDED": "ERROR"}.get(kind, kind)
        finding = copy.deepcopy(unclaimed if kind == "CHECKOV" else templates["FAIL" if base == "CHECKOV" else base])
        name = f"{kind.lower()}-{n:06d}"
        finding |= {"id": f"{finding['checkId']}/{n:06d}", "resourceId": f"/subscriptions/s/providers/x/{name}"}
        finding["warnings"] = [f"caution {name}"] if kind.endswith("WARN") else []
        finding["waiver"] = (
            {"justification": "accepted", "expires": "2030-01-01", "owner": "o"} if kind == "WAIVED" else None
        )
        finding["excluded"] = "another estate's host" if kind == "EXCLUDED" else None
        findings.append(finding)
        if kind not in ("PASS", "NOT_APPLICABLE"):
            expected[name] = kind
    document["findings"] = findings
    return document, expected


@pytest.mark.parametrize(("total", "seed"), [(SUMMARY_THRESHOLD + 1, 1), (9000, 2)])
def test_the_summarised_html_names_every_finding_that_is_not_a_plain_pass(total: int, seed: int) -> None:
    document, expected = _scattered(total, seed)
    validate_results(document)
    text = render_html(document)
    assert 'id="per-check"' in text  # summarised
    named = set(re.findall(r"/providers/x/([a-z-]+-\d{6})", text))
    missing = sorted(set(expected) - named)
    assert not missing, missing[:10]
    assert not [n for n in named if n.startswith(("pass-", "not_applicable-"))]
    for name, kind in expected.items():
        if kind.endswith("WARN"):
            assert f"caution {name}" in text


def _junit_kind(finding: Doc) -> str | None:
    """The outcome element junit.xml must give a finding (the table in report/junit.py)."""
    verdict = finding["verdict"]
    if finding.get("excluded") or verdict in ("MANUAL", "NOT_APPLICABLE") or (verdict == "FAIL" and finding["waiver"]):
        return "skipped"
    return {"FAIL": "failure", "ERROR": "error"}.get(verdict)


def test_every_format_counts_what_results_json_counts() -> None:
    document, _ = _scattered(3000, 3)
    findings = document["findings"]
    expected = {(f["checkId"], f["resourceId"]): _junit_kind(f) for f in findings}
    root = ET.fromstring(render_junit(document).removeprefix(XML_DECLARATION))
    seen_cases: dict[tuple[str | None, str | None], str | None] = {}
    for case in root.iter("testcase"):
        if case.get("classname") in ("attestation", "policy_text_consistency"):
            continue
        outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), None)
        seen_cases[(case.get("classname"), case.get("name"))] = outcome
    assert seen_cases == expected  # every finding a testcase, each with its verdict's outcome
    for element in (root, *root.iter("testsuite")):  # and the counts on every suite agree with the cases
        cases = list(element.iter("testcase"))
        assert int(element.get("tests", "-1")) == len(cases)
        for kind, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert int(element.get(attribute, "-1")) == sum(1 for c in cases if c.find(kind) is not None)
    sarif = render_sarif(document)
    validate_sarif(sarif)
    expected_results = sum(1 for f in findings if f["verdict"] in ("FAIL", "ERROR", "MANUAL") or f.get("warnings"))
    expected_results += sum(1 for d in document["document"] if d["verdict"] in ("FAIL", "ERROR", "MANUAL"))
    assert len(sarif["runs"][0]["results"]) == expected_results
    assert sarif["runs"][0]["invocations"][0]["exitCode"] == document["summary"]["exitCode"]
    md = render_markdown(document)
    problems = sum(1 for f in findings if f["verdict"] in ("FAIL", "ERROR") and not f["waiver"])
    assert f"Findings to fix ({problems})" in md


@pytest.mark.parametrize(
    ("verdicts", "exit_code"),
    [
        ([Verdict.PASS, Verdict.NOT_APPLICABLE, Verdict.MANUAL], EXIT_OK),
        ([Verdict.PASS, Verdict.FAIL], EXIT_VIOLATION),
        ([Verdict.FAIL, Verdict.ERROR, Verdict.PASS], EXIT_ERROR),
        ([Verdict.ERROR], EXIT_ERROR),
    ],
)
def test_the_exit_code_in_every_format_follows_the_worst_verdict(verdicts: list[Verdict], exit_code: int) -> None:
    findings = [Finding("c", v, f"/r/{n}", "T", "m") for n, v in enumerate(verdicts)]
    result = _result(findings)
    assert result.exit_code == exit_code
    document = _build(findings)
    assert document["summary"]["exitCode"] == exit_code
    assert render_sarif(document)["runs"][0]["invocations"][0]["exitCode"] == exit_code
    assert render_html(document).count('id="exit"') == 1


# --- hostile text ---------------------------------------------------------------------------------------


HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "]]><![CDATA[",
    "</testcase><testcase name='forged'/>",
    "\x00\x01\x08\x0b\x0c\x1b[31mred\x7f",
    "\ufffe\uffff",
    "\u202eFAIL\u202c PASS",
    "lone \ud800 surrogate",
    "line\r\nbreak\n## INJECTED HEADING\n| forged | row |",
    "`` code ` span ``",
    "[link](https://evil.example/track.png) ![img](https://evil.example/x.png)",
    "x" * 200_000,
]


def _hostile_document() -> Doc:
    document: Doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for n, text in enumerate(HOSTILE):
        finding = copy.deepcopy(document["findings"][1 + n % 2])  # a FAIL, an ERROR
        finding["id"] = f"{finding['checkId']}/{900 + n}"
        finding["resourceId"] = f"/subscriptions/s/providers/x/hostile-{n}/{text[:300]}"
        finding["message"] = f"hostile-{n}: {text}"
        finding["warnings"] = [f"hostile-{n} warning {text}"]
        finding["evidence"] = [{"path": f"p.{text[:50]}", "observed": {text[:60]: [text]}, "expected": text}]
        document["findings"].append(finding)
    document["findings"][7]["waiver"] = {"justification": HOSTILE[8], "expires": "2030-01-01", "owner": HOSTILE[0]}
    return document


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def test_hostile_text_injects_no_html() -> None:
    text = render_html(_hostile_document())
    parser = _Elements()
    parser.feed(text)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert not parser.handlers
    assert not re.search("[\ud800-\udfff]", text)  # a lone surrogate cannot be written as UTF-8
    text.encode("utf-8")
    assert "hostile-0: &lt;script&gt;" in text


def test_hostile_text_keeps_junit_xml_and_its_values() -> None:
    document = _hostile_document()
    text = render_junit(document)
    root = ET.fromstring(text.removeprefix(XML_DECLARATION))
    names = [c.get("name") for c in root.iter("testcase")]
    assert "forged" not in names
    messages = {f.get("message") for f in root.iter("failure")} | {e.get("message") for e in root.iter("error")}
    assert "hostile-2: ]]><![CDATA[" in messages
    assert "hostile-3: </testcase><testcase name='forged'/>" in messages
    assert "hostile-6: \u202eFAIL\u202c PASS" in messages
    text.encode("utf-8")


def test_hostile_text_keeps_sarif_valid() -> None:
    log = render_sarif(_hostile_document())
    validate_sarif(log)
    again = json.loads(json.dumps(log, separators=(",", ":")))
    assert again == log


def test_hostile_text_adds_no_markdown_structure() -> None:
    text = render_markdown(_hostile_document(), max_findings=100)
    text.encode("utf-8")
    lines = text.splitlines()
    assert "## INJECTED HEADING" not in [line.strip() for line in lines]
    assert not [line for line in lines if line.startswith("| forged")]
    outside_code = re.sub(r"(`+) .*? \1|`[^`]*`", "", text)  # a code span shows HTML as text (CommonMark 6.1)
    assert "<script>" not in outside_code and "<img" not in outside_code
    assert "hostile-0: &lt;script>" in text
    # Every line of a table (it starts with "|") has as many unescaped cell separators as its header.
    for line in lines:
        if line.startswith("|") and "hostile-" in line:
            assert len(re.findall(r"(?<!\\)\|", line)) in (5, 6), line[:200]


def test_a_report_of_an_input_whose_name_is_not_utf8_is_written(tmp_path: Path) -> None:
    # A file name that is not UTF-8 reaches Python as lone surrogates (PEP 383): every report must still
    # be written (it was a UnicodeEncodeError in report.html and manifest.json).
    name = Path(bytes(tmp_path / "prev").decode() + "\udcff.json")
    try:
        name.write_bytes(PREVIEW.read_bytes())
    except (OSError, UnicodeEncodeError):  # pragma: no cover - a file system that refuses the name
        missing_prerequisite("the file system refuses a file name that is not UTF-8", "a POSIX file system")
    out = tmp_path / "out"
    code = main(["audit", "--source", "pulumi-preview", "--input", str(name), "--out", str(out), "-q"])
    assert code in (EXIT_OK, EXIT_VIOLATION, EXIT_ERROR)
    assert (out / "report.html").is_file() and (out / "manifest.json").is_file()
    assert main(["verify-report", str(out)]) == EXIT_OK
    written = read_results(out / "results.json")
    assert written["run"]["inputs"][0]["path"] == str(name)


def test_a_finding_that_did_not_run_or_has_an_unknown_verdict_is_no_passing_testcase() -> None:
    # The results schema allows NOT_RUN on a finding; junit.xml showed it (and any verdict it did not know)
    # as a passing testcase, which a CI gate reads as verified.
    document: Doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    first, second = document["findings"][0], document["findings"][3]
    first["verdict"], second["verdict"] = "NOT_RUN", "SOMETHING_NEW"
    root = ET.fromstring(render_junit(document).removeprefix(XML_DECLARATION))
    outcomes: dict[tuple[str | None, str | None], list[str]] = {}
    for case in root.iter("testcase"):
        outcomes.setdefault((case.get("classname"), case.get("name")), []).extend(child.tag for child in case)
    assert "skipped" in outcomes[(first["checkId"], first["resourceId"])]
    assert "error" in outcomes[(second["checkId"], second["resourceId"])]
