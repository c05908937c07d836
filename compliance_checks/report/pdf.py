"""report.pdf: the HTML report printed on A4 by the same Chromium the probes launch.

The page layout is the report's own print CSS (templates/report.html.j2):
``@page { size: A4 }`` with the page number "Page N of M" in the bottom-right
margin box (``@bottom-right { content: counter(page) … counter(pages) }``).
Chromium has drawn @page margin boxes since version 131 (blink-dev "Intent to
Ship: @page margin boxes", September 2024,
https://groups.google.com/a/chromium.org/g/blink-dev/c/XKb6IQZXNks);
``prefer_css_page_size`` makes Playwright's ``page.pdf`` use that size
(https://playwright.dev/python/docs/api/class-page#page-pdf), and
tests/test_report_pdf.py reads the numbers back from the PDF. An auditor who
prints report.html from a browser gets the same pages.

Nothing is fetched while printing: the report has no external assets, and
scripts and network requests are switched off in the page that prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compliance_checks.errors import ComplianceError
from compliance_checks.report.html import render_html
from compliance_checks.report.templating import DEFAULT_LANGUAGE

TIMEOUT_S = 120


def render_pdf(
    results: Mapping[str, Any],
    *,
    lang: str = DEFAULT_LANGUAGE,
    executable: Path | None = None,
    timeout_s: float = TIMEOUT_S,
) -> bytes:
    """The report in ``lang`` as an A4 PDF; a missing or failing Chromium is a one-line ComplianceError (exit 2)."""
    from compliance_checks.probes.browser import LAUNCH_ARGS, chromium_executable, one_line, require_chromium

    chromium = require_chromium(executable or chromium_executable())
    html = render_html(results, lang=lang)
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ComplianceError(f"--format pdf needs Playwright (pip install playwright): {one_line(exc)}") from None
    timeout_ms = timeout_s * 1000
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(chromium), headless=True, args=list(LAUNCH_ARGS), timeout=timeout_ms
            )
            try:
                context = browser.new_context(java_script_enabled=False, offline=True)
                # The report is self-contained: any request while printing would be a defect, never a fetch.
                context.route("**/*", lambda route: route.abort())
                page = context.new_page()
                page.set_default_timeout(timeout_ms)
                page.set_content(html, wait_until="load")
                return page.pdf(prefer_css_page_size=True, print_background=True, outline=True, tagged=True)
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise ComplianceError(
            f"--format pdf: Chromium at {chromium} could not print the report: {one_line(exc)}"
        ) from None
