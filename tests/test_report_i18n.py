"""The HTML and Markdown reports in English and German, rendered from the templates, with issue 14's sections.

The documents are real audits' results (tests/support/report_documents.py):
the scope statement, the layered claim verdicts, the views per framework, the
remediation of each failing finding, the comparison with a baseline and the
policy text's findings on top, each in both languages; input values never
become markup.
"""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.cli import DEFAULT_FORMATS, FILE_NAMES, FORMATS, main
from compliance_checks.errors import CatalogError
from compliance_checks.report.html import _css_string, _page_counter, render_html
from compliance_checks.report.manifest import REPORT_FILES
from compliance_checks.report.markdown import render_markdown
from compliance_checks.report.templating import LANGUAGES, TEMPLATES, messages, placeholders
from tests.support.report_documents import real_documents

Doc = dict[str, Any]
SAMPLE = Path(__file__).parent / "fixtures" / "results" / "sample.json"
HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"|x'


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> tuple[Doc, Doc, Doc]:
    return real_documents(tmp_path_factory.mktemp("audits"))


class Page(HTMLParser):
    """Text per element ID (with everything inside it), every tag and attribute seen."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, list[str]] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._open: list[tuple[str, str | None]] = []
        self.feed(html)

    VOID = frozenset({"br", "meta", "img", "col", "hr", "input", "link", "rect", "line", "path"})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.VOID:
            return
        element_id = dict(attrs).get("id")
        if element_id is not None:
            self.texts[element_id] = []
        self._open.append((tag, element_id))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            if element_id is not None:
                self.texts[element_id].append(data)

    def text(self, element_id: str) -> str:
        return " ".join("".join(self.texts[element_id]).split())


# --- the catalogues ------------------------------------------------------------------------------


def test_every_language_has_every_message_with_the_same_fields() -> None:
    english = messages("en")
    for lang in LANGUAGES:
        catalogue = messages(lang)
        assert set(catalogue) == set(english), lang
        for key, text in catalogue.items():
            assert placeholders(text) == placeholders(english[key]), (lang, key)
    assert messages("de")["scope"] != english["scope"]  # translated, not copied


def test_every_message_the_templates_name_exists() -> None:
    english = messages("en")
    named: set[str] = set()
    for template in TEMPLATES.glob("report.*.j2"):
        named |= set(re.findall(r'\bt\("([a-z_0-9]+)"\s*[,)]', template.read_text(encoding="utf-8")))
    assert named and named <= set(english), sorted(named - set(english))
    # Keys the templates build: exit_<code>, layer_<layer>, category_<column> (html.py).
    for key in ("exit_0", "exit_1", "exit_2", "exit_short_0", "exit_short_2", "layer_declared", "layer_observed"):
        assert key in english


def test_a_translation_missing_a_key_is_a_catalog_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from compliance_checks.report import templating

    for name in ("messages.en.yaml", "messages.de.yaml"):
        (tmp_path / name).write_text((TEMPLATES / name).read_text(encoding="utf-8"), encoding="utf-8")
    german = tmp_path / "messages.de.yaml"
    german.write_text(german.read_text(encoding="utf-8").replace("\nscope:", "\nscope_typo:"), encoding="utf-8")
    monkeypatch.setattr(templating, "TEMPLATES", tmp_path)
    templating.messages.cache_clear()
    try:
        with pytest.raises(CatalogError, match=r"keys differ.*scope"):
            templating.messages("de")
        german.write_text(
            (TEMPLATES / "messages.de.yaml").read_text(encoding="utf-8").replace("{count} Prüfungen", "{n} Prüfungen"),
            encoding="utf-8",
        )
        templating.messages.cache_clear()
        with pytest.raises(CatalogError, match="checks_many: placeholders differ"):
            templating.messages("de")
    finally:
        templating.messages.cache_clear()


def test_css_strings_cannot_leave_the_style_element() -> None:
    quoted = str(_css_string('Seite "1" </style><script>x</script> \\'))
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    assert '"' not in inner and "<" not in inner and ">" not in inner
    assert inner.count("\\") == inner.count("\\0000")  # every backslash starts a six-digit escape
    assert str(_page_counter("Seite {page} von {pages}")) == '"Seite " counter(page) " von " counter(pages)'


# --- the HTML report -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "own", "other"),
    [
        ("en", ("Scope of this audit", "Views per framework", "Claims"), ("Umfang dieser Prüfung", "Aussagen")),
        ("de", ("Umfang dieser Prüfung", "Sicht je Regelwerk", "Aussagen"), ("Scope of this audit", "Claims")),
    ],
)
def test_the_html_report_speaks_one_language(
    documents: tuple[Doc, Doc, Doc], lang: str, own: tuple[str, ...], other: tuple[str, ...]
) -> None:
    html = render_html(documents[0], lang=lang)
    page = Page(html)
    assert ("html", {"lang": lang}) in page.tags
    headings = page.text("scope") + " " + page.text("frameworks") + " " + page.text("claims")
    for text in own:
        assert text in headings
    for text in other:
        assert text not in headings
    # The claim's sentence in the report's language comes first; the other language follows (both are the policy).
    claim = documents[0]["claims"][0]
    section = html.split(f'id="claim-{claim["id"]}"', 1)[1]
    first, second = (claim["text"]["de"][0], claim["text"]["en"][0])
    if lang == "en":
        first, second = second, first
    assert section.index(first) < section.index(second)


def test_the_scope_block_is_on_top_and_marks_placeholder_ids(documents: tuple[Doc, Doc, Doc]) -> None:
    dev, export, _ = documents
    scope = dev["scope"]
    html = render_html(dev)
    page = Page(html)
    text = page.text("scope")
    for value in (scope["commit"] or "not recorded", scope["policySha256"], scope["catalogSha256"], scope["runBy"]):
        assert value in text
    assert scope["toolVersion"] in text and scope["startedAt"] in text and scope["finishedAt"] in text
    assert html.index('id="scope"') < html.index('id="exit"') < html.index('id="claims"')
    assert scope["placeholderIds"] is True  # the offline synthesis invents IDs
    assert "placeholder-ids" in page.texts and "Placeholder IDs" in page.text("placeholder-ids")
    assert export["scope"]["placeholderIds"] is False
    assert "placeholder-ids" not in Page(render_html(export)).texts
    german = Page(render_html(dev, lang="de"))
    assert "Platzhalter-IDs" in german.text("placeholder-ids")


def test_a_document_without_scope_says_so() -> None:
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    assert "no scope statement" in Page(render_html(sample)).text("scope")


def test_layered_verdicts_per_claim(documents: tuple[Doc, Doc, Doc]) -> None:
    dev = documents[0]
    layered = [c for c in dev["claims"] if c["kind"] == "technical" and len(c["layers"]) > 1]
    assert layered, "the dev audit judges technical claims on more than one layer"
    for lang in LANGUAGES:
        page = Page(render_html(dev, lang=lang))
        for claim in layered:
            text = page.text(f"claim-{claim['id']}")
            for layer in claim["layers"]:
                name = messages(lang)[f"layer_{layer['layer']}"]
                shown = f"{name} {layer['verdict'].replace('_', ' ')}"
                assert shown in text, (claim["id"], shown)
                if layer["checks"]:
                    n = len(layer["checks"])
                    count = messages(lang)["checks_one"] if n == 1 else messages(lang)["checks_many"].format(count=n)
                    assert f"{shown} ({count})" in text
                if layer["verdict"] == "NOT_RUN":
                    assert f"— {layer['hint']}" in text
    tls = next(c for c in dev["claims"] if c["id"] == "SEC-TLS")
    line = " ".join(Page(render_html(dev)).text("claim-SEC-TLS").split())
    declared = next(layer for layer in tls["layers"] if layer["layer"] == "declared")
    assert f"declared {declared['verdict']} ({len(declared['checks'])} checks)" in line
    assert re.search(r"observed NOT RUN( \(\d+ checks?\))? — [^;]*--probe", line), line


def test_framework_views(documents: tuple[Doc, Doc, Doc]) -> None:
    dev = documents[0]
    assert {f["id"] for f in dev["frameworks"]} >= {"gdpr", "iso27001"}
    html = render_html(dev, lang="de")
    page = Page(html)
    for framework in dev["frameworks"]:
        text = page.text(f"framework-{framework['id']}")
        assert framework["title"] in text
        for requirement in framework["requirements"]:
            assert requirement["id"] in text
    gdpr = next(f for f in dev["frameworks"] if f["id"] == "gdpr")
    requirement = next(r for r in gdpr["requirements"] if r["claims"])
    row = html.split(f"<td>{requirement['id']}</td>", 1)[1].split("</tr>", 1)[0]
    assert f'href="#claim-{requirement["claims"][0]}"' in row and requirement["verdict"] in row


def test_remediation_per_failing_finding(documents: tuple[Doc, Doc, Doc]) -> None:
    export = documents[1]
    failing = [f for f in export["findings"] if f["verdict"] in ("FAIL", "ERROR") and f["remediation"]]
    assert failing
    html = render_html(export)
    for finding in failing:
        assert f"Remediation:</b> {_escaped(finding['remediation'])}" in html
    passing = {f["checkId"] for f in export["findings"]} - {f["checkId"] for f in failing}
    remedies = {c["id"]: c["remediation"] for c in export["checks"]}
    for check_id in passing:  # a check with no failing finding shows no fix
        if remedies.get(check_id):
            assert f"Remediation:</b> {_escaped(remedies[check_id])}" not in html
    assert "Behebung:</b>" in render_html(export, lang="de")


def _escaped(text: str) -> str:
    from markupsafe import escape  # what the template's autoescape writes

    return str(escape(text))


def test_comparison_with_a_baseline(documents: tuple[Doc, Doc, Doc]) -> None:
    _, export, dev_again = documents
    assert export["comparison"]["new"] and dev_again["comparison"]["fixed"]
    for document, table in ((export, "comparison-new_findings"), (dev_again, "comparison-fixed_findings")):
        comparison = document["comparison"]
        page = Page(render_html(document))
        text = page.text("comparison")
        assert comparison["baseline"]["sha256"] in text
        n_new, n_fixed = len(comparison["new"]), len(comparison["fixed"])
        assert f"{n_new} new, {n_fixed} fixed, {comparison['unchanged']} unchanged findings." in text
        rows = comparison["new"] if table.endswith("new_findings") else comparison["fixed"]
        listed = page.text(table)
        assert all(key["checkId"] in listed for key in rows)
    assert "neue, " in Page(render_html(export, lang="de")).text("comparison")
    assert "comparison" not in Page(render_html(documents[0])).texts  # no --baseline, no section


def test_the_policy_text_findings_come_first_with_the_suggested_sentences(documents: tuple[Doc, Doc, Doc]) -> None:
    dev = documents[0]
    assert dev["document"]
    html = render_html(dev)
    assert html.index('id="document"') < html.index('id="summary"') < html.index('id="claims"')
    text = Page(html).text("document")
    for item in dev["document"]:
        assert item["claimId"] in text
    assert "Suggested correction" in text
    for item in dev["document"]:  # the audit's own suggestions (or, before it wrote them, SUGGESTION)
        suggestion = item["suggestion"]
        assert suggestion["de"] in text and suggestion["en"] in text
        assert " ".join(suggestion.get("note", "").split()) in text
    plain = copy.deepcopy(dev)
    for item in plain["document"]:
        item.pop("suggestion")
    assert "Suggested correction" not in render_html(plain)


def test_values_from_the_results_never_become_markup(documents: tuple[Doc, Doc, Doc]) -> None:
    export = copy.deepcopy(documents[1])
    export["scope"]["runBy"] = HOSTILE
    export["scope"]["placeholderIds"] = True
    export["scope"]["placeholders"] = [HOSTILE]
    export["frameworks"][0]["title"] = HOSTILE
    export["frameworks"][0]["requirements"][0]["id"] = HOSTILE
    failing = next(f for f in export["findings"] if f["verdict"] == "FAIL")
    failing["remediation"] = HOSTILE
    claim = next(c for c in export["claims"] if c["layers"])
    claim["layers"][0]["hint"] = HOSTILE
    claim["layers"][0]["verdict"] = "NOT_RUN"
    export["comparison"]["baseline"]["file"] = HOSTILE
    export["document"] = [
        {"claimId": "X", "verdict": "FAIL", "aspect": "a", "message": "m", "de": "d", "en": "e"}
        | {"suggestion": {"de": HOSTILE, "en": HOSTILE}}
    ]
    for lang in LANGUAGES:
        html = render_html(export, lang=lang)
        page = Page(html)
        assert not [t for t, _ in page.tags if t in ("script", "img")]
        assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]
        assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8
        text = render_markdown(export, lang=lang)
        assert '"\\|x' in text and '"|x' not in text  # table cells keep escaping "|"


# --- the Markdown summary -------------------------------------------------------------------------


def test_the_markdown_summary_in_both_languages(documents: tuple[Doc, Doc, Doc]) -> None:
    _, export, _ = documents
    english, german = render_markdown(export), render_markdown(export, lang="de")
    assert "### Findings to fix" in english and "### Zu behebende Befunde" in german
    assert "### Comparison with the previous run" in english and "### Vergleich mit dem vorigen Lauf" in german
    assert "### Views per framework" in english and "### Sicht je Regelwerk" in german
    scope = export["scope"]
    assert scope["policySha256"] in english and scope["policySha256"] in german
    fix_table = english.split("### Findings to fix", 1)[1].split("\n\n")[1].splitlines()
    assert fix_table[0].endswith("| Remediation |")
    assert {line.replace("\\|", "").count("|") for line in fix_table} == {6}
    tls = next(c for c in export["claims"] if c["id"] == "SEC-TLS")
    row = next(line for line in english.splitlines() if line.startswith("| `SEC-TLS`"))
    for layer in tls["layers"]:
        assert f"{layer['layer']} {layer['verdict'].replace('_', ' ')}" in row
    assert re.search(r"observed NOT RUN( \(\d+ checks\))? — ", row)
    assert re.search(r"beobachtet NOT RUN( \(\d+ Prüfungen\))? — ", german)


# --- the command line -----------------------------------------------------------------------------


def test_pdf_is_a_format_but_not_part_of_all() -> None:
    assert "pdf" in FORMATS and FILE_NAMES["pdf"] == "report.pdf" and "report.pdf" in REPORT_FILES
    assert "pdf" not in DEFAULT_FORMATS and set(DEFAULT_FORMATS) == set(FORMATS) - {"pdf"}


def test_audit_lang_de_writes_german_reports(tmp_path: Path) -> None:
    out = tmp_path / "de"
    assert main(["audit", "--lang", "de", "--format", "html,md", "--out", str(out), "--quiet"]) in (0, 1)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="de">' in html and "Umfang dieser Prüfung" in html
    assert "## Prüfung der Datenschutzerklärung" in (out / "report.md").read_text(encoding="utf-8")
    assert not (out / "report.pdf").exists()


def test_unknown_language_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--lang", "fr"]) == 64
    assert capsys.readouterr().err.startswith("usage error:")


def test_suggestions_in_either_shape_with_the_note(documents: tuple[Doc, Doc, Doc]) -> None:
    dev = copy.deepcopy(documents[0])
    item = dev["document"][0]
    item.pop("suggestion")
    item |= {"suggestionDe": "Deutscher Satz.", "suggestionEn": None, "suggestionNote": "The organisation decides."}
    for other in dev["document"][1:]:
        other.pop("suggestion")
    text = Page(render_html(dev, lang="de")).text("document")
    assert "Vorgeschlagene Korrektur" in text and "Deutscher Satz." in text and "The organisation decides." in text
    markdown = render_markdown(dev)
    assert "Suggested correction: German *Deutscher Satz.*, English **." in markdown
    assert "  The organisation decides." in markdown


def test_a_policy_text_finding_without_a_value_or_with_a_decision(documents: tuple[Doc, Doc, Doc]) -> None:
    dev = copy.deepcopy(documents[0])
    item = dev["document"][0]
    item |= {"de": None, "en": None, "suggestion": None}
    item["waiver"] = {"justification": "Board decision 2027-01 | kept", "expires": "2027-12-31", "owner": "dpo"}
    html = render_html(dev)
    text = Page(html).text("document")
    assert "None" not in text
    assert "Waived until 2027-12-31: Board decision 2027-01 | kept" in text
    line = next(line for line in render_markdown(dev).splitlines() if line.startswith(f"- `{item['claimId']}`"))
    assert "German *(nothing)*, English *(nothing)*." in line and "Board decision 2027-01 \\| kept" in line


def test_markdown_emphasis_survives_an_asterisk_in_the_text(documents: tuple[Doc, Doc, Doc]) -> None:
    dev = copy.deepcopy(documents[0])
    item = dev["document"][0]
    item["suggestion"] = {"de": "von der Prüfer*in | geprüft", "en": "by the auditor", "note": ""}
    text = render_markdown(dev, lang="de")
    assert "Deutsch *von der Prüfer\\*in \\| geprüft*, Englisch *by the auditor*." in text
