"""The German and English reports in a real Chromium: on screen, in print, and as report.pdf on A4 with page numbers.

Needs Debian's Chromium (`make browser`): skipped without it, failed in CI
(tests/conftest.py). The documents are real audits' results
(tests/support/report_documents.py). The PDF's text is read back with pypdf:
the page size, "Page N of M" on every page, the scope block on the first page
and the framework view. The screenshots (PNG) are kept in
``$REPORT_SCREENSHOTS`` when set, to be looked at.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.cli import main
from compliance_checks.report.html import render_html
from compliance_checks.report.pdf import render_pdf
from compliance_checks.report.templating import messages
from tests.conftest import CHROMIUM, require_chromium
from tests.support.report_documents import real_documents

Doc = dict[str, Any]
A4_POINTS = (595.28, 841.89)  # 210 mm x 297 mm at 72 points per inch
A4_CSS_WIDTH = 794  # 210 mm at 96 CSS pixels per inch
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> tuple[Doc, Doc, Doc]:
    require_chromium()
    return real_documents(tmp_path_factory.mktemp("audits"))


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kept = os.environ.get("REPORT_SCREENSHOTS")
    directory = Path(kept) if kept else tmp_path_factory.mktemp("shots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A browser for one test: Playwright's sync API runs one at a time per thread, and render_pdf starts its own."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()


def _png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 10_000, path


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_report_on_screen_and_in_print(
    documents: tuple[Doc, Doc, Doc], shots: Path, tmp_path: Path, lang: str
) -> None:
    document = documents[1]  # the stack export against a baseline: FAILs, remediation, a comparison
    t = messages(lang)
    report = tmp_path / f"report-{lang}.html"
    report.write_text(render_html(document, lang=lang), encoding="utf-8")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(report.as_uri())
        scope = page.locator("#scope")
        box = scope.bounding_box()
        assert box is not None and box["y"] < 250 and box["height"] > 200  # on top, and a real table
        text = scope.inner_text()
        assert t["scope"] in text and document["scope"]["policySha256"] in text
        assert document["scope"]["catalogSha256"] in text and t["scope_commit"] in text
        frameworks = page.locator("#frameworks table.framework")
        assert frameworks.count() == len(document["frameworks"]) >= 5
        assert page.locator("#frameworks").inner_text().startswith(t["frameworks"])
        assert page.locator("#comparison").is_visible()
        page.screenshot(path=str(shots / f"screen-top-{lang}.png"))
        page.evaluate("document.getElementById('frameworks').scrollIntoView()")
        page.screenshot(path=str(shots / f"screen-frameworks-{lang}.png"))
        failing = page.locator("section.card .fix").first
        failing.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"screen-finding-{lang}.png"))
        # Print: A4 width, the diagrams shrink to the page instead of running off its edge.
        page.set_viewport_size({"width": A4_CSS_WIDTH, "height": 1123})
        page.emulate_media(media="print")
        page.evaluate("window.scrollTo(0, 0)")
        for diagram in ("#claim-matrix", "#estate"):
            drawn = page.locator(diagram).bounding_box()
            assert drawn is not None and drawn["x"] + drawn["width"] <= A4_CSS_WIDTH, diagram
        page.screenshot(path=str(shots / f"print-top-{lang}.png"))
    for name in ("screen-top", "screen-frameworks", "screen-finding", "print-top"):
        _png(shots / f"{name}-{lang}.png")


@pytest.mark.parametrize(("lang", "page_word", "of_word"), [("en", "Page", "of"), ("de", "Seite", "von")])
def test_the_pdf_is_a4_with_page_numbers_scope_and_frameworks(
    documents: tuple[Doc, Doc, Doc], shots: Path, lang: str, page_word: str, of_word: str
) -> None:
    from pypdf import PdfReader

    document = documents[0]  # the dev stack: placeholder IDs, layered verdicts, the policy text's findings
    data = render_pdf(document, lang=lang, executable=CHROMIUM)
    assert data.startswith(b"%PDF-")
    (shots / f"report-{lang}.pdf").write_bytes(data)
    reader = PdfReader(io.BytesIO(data))
    pages = [p.extract_text() for p in reader.pages]
    total = len(pages)
    assert total > 3
    for box in (p.mediabox for p in reader.pages):
        assert abs(float(box.width) - A4_POINTS[0]) < 1.5 and abs(float(box.height) - A4_POINTS[1]) < 1.5
    for number, text in enumerate(pages, start=1):
        assert f"{page_word} {number} {of_word} {total}" in text, (number, text[:80])
    t = messages(lang)
    first = " ".join(pages[0].split())
    assert t["scope"] in first and document["scope"]["policySha256"] in first
    assert (document["scope"]["commit"] or t["not_recorded"]) in first
    assert t["placeholder_ids"].split(":")[0] in first
    whole = " ".join(" ".join(pages).split())
    assert t["frameworks"] in whole
    for framework in document["frameworks"]:
        assert framework["title"].split(" (")[0] in whole
    tls = next(c for c in document["claims"] if c["id"] == "SEC-TLS")
    observed = next(layer for layer in tls["layers"] if layer["layer"] == "observed")
    assert f"{t['layer_observed']} {observed['verdict'].replace('_', ' ')}" in whole


def test_audit_format_pdf_writes_a_verified_report(tmp_path: Path) -> None:
    require_chromium()
    out = tmp_path / "report"
    code = main(
        ["audit", "--format", "html,pdf", "--lang", "de", "--chromium", str(CHROMIUM), "--out", str(out), "--quiet"]
    )
    assert code in (0, 1)
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "report.pdf" in json.dumps(manifest)
    assert main(["verify-report", str(out)]) == 0


def test_a_missing_chromium_for_the_pdf_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    missing = tmp_path / "no-chromium"
    assert main(["audit", "--format", "pdf", "--chromium", str(missing), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: Chromium not found at") and str(missing) in err[-1]
    assert not (out / "report.pdf").exists()
