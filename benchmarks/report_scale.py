"""The report stage at scale (issue 15, "output proportional to findings"): ~90,000 findings.

    .venv/bin/python benchmarks/report_scale.py                  # 10 copies of a 10k-resource audit, 3 runs
    .venv/bin/python benchmarks/report_scale.py --copies 1 --runs 5 --no-browser

A 10,000-resource Pulumi state (benchmarks/end_to_end.py's generator: the synthesized dev stack replicated into
resource groups) is audited in this process, as `compliance-checks audit --source pulumi-state` does; its
AuditResult is then replicated --copies times (resources and findings under renamed resource groups), so the
report stage sees what a 100,000-resource audit gives it without the sources' resource cap. Timed, median of
--runs: build_results (the canonical document, redaction's second line included), each format written to a
file on its own, and write_reports with the default formats (what `audit` runs, manifest included). Printed:
each file's size, the peak of Python allocations during one write_reports (tracemalloc, a run of its own), and
the time headless Chromium takes to the load event of report.html (Playwright, median of --runs).
Targets: build_results + write_reports well under 1.5 s (the report stage of a 5 s end-to-end budget at 100k
resources); report.html loaded in under 2 s. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

STAGE_BUDGET_S = 1.5
LOAD_BUDGET_S = 2.0
RG_PREFIX = "rg-bench-"  # benchmarks/end_to_end.py names the replicated resource groups so


def _median(function: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median wall-clock seconds of ``runs`` calls (and the last value); the CPU seconds go to _CPU."""
    times, cpu, value = [], [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        value = function()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    _CPU.append(statistics.median(cpu))
    return statistics.median(times), value


_CPU: list[float] = []
"""The median CPU seconds of each measurement, in order: on a busy machine they vary less than wall clock."""


def audit_result(workdir: Path, size: int) -> tuple[Any, dict[str, Any]]:
    """The AuditResult of `audit --source pulumi-state` on a generated state, and build_results' other arguments."""
    import end_to_end

    from compliance_checks import cli
    from compliance_checks.report import results as results_module

    state = workdir / f"state-{size}.json"
    if not state.is_file():
        end_to_end.write_state(state, size)
    captured: dict[str, Any] = {}
    real = results_module.build_results

    def capture(result: Any, **kwargs: Any) -> dict[str, Any]:
        captured.update(kwargs, result=result)
        return {}

    # run_audit imports build_results when it runs: the capture sees exactly what the CLI would pass.
    results_module.build_results = capture  # type: ignore[assignment]
    try:
        args = cli.build_parser().parse_args(
            ["audit", "--source", "pulumi-state", "--input", str(state), "--out", str(workdir / "unused"), "-q"]
        )
        cli.run_audit(args, dt.datetime.now(dt.UTC).date())  # as the CLI: today decides certificate expiry
    finally:
        results_module.build_results = real
    result = captured.pop("result")
    return result, captured


def replicated(result: Any, copies: int) -> Any:
    """``result`` with its resources and findings copied into ``copies`` sets of renamed resource groups."""
    from compliance_checks.inventory import Inventory

    if copies <= 1:
        return result

    def renamed(text: str, copy: int) -> str:
        return text.replace(RG_PREFIX, f"{RG_PREFIX}x{copy}-") if copy else text

    resources = [
        dataclasses.replace(r, id=renamed(r.id, copy), id_key=renamed(r.id, copy).lower())
        for copy in range(copies)
        for r in result.inventory
    ]
    findings = [
        dataclasses.replace(f, resource_id=renamed(f.resource_id, copy))
        for copy in range(copies)
        for f in result.findings
    ]
    inventory = Inventory(resources, sources=result.inventory.sources, gaps=result.inventory.gaps)
    return dataclasses.replace(result, inventory=inventory, findings=tuple(findings))


def _writers(lang: str) -> dict[str, Callable[[dict[str, Any], Path], None]]:
    """Each default format written to a file by the same code write_reports runs."""
    from compliance_checks.report.html import render_html
    from compliance_checks.report.junit import write_junit
    from compliance_checks.report.markdown import render_markdown
    from compliance_checks.report.results import write_results_json
    from compliance_checks.report.sarif import write_sarif

    return {
        "json": write_results_json,
        "json --pretty": lambda r, p: write_results_json(r, p, pretty=True),
        "html": lambda r, p: p.write_text(render_html(r, lang=lang), encoding="utf-8") and None,
        "md": lambda r, p: p.write_text(render_markdown(r, lang=lang), encoding="utf-8") and None,
        "sarif": write_sarif,
        "junit": write_junit,
    }


def load_time(html: Path, runs: int) -> float | None:
    """Median seconds from navigation start to the load event of ``html`` in headless Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("  (Playwright is not installed: no browser timing)")
        return None
    from compliance_checks.probes.browser import CHROMIUM, LAUNCH_ARGS

    if not CHROMIUM.is_file():
        print(f"  (no Chromium at {CHROMIUM}: no browser timing)")
        return None
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(LAUNCH_ARGS))
        try:
            for _ in range(runs):
                page = browser.new_page()
                page.goto(html.as_uri(), wait_until="load", timeout=120_000)
                # Navigation Timing 2: loadEventEnd is relative to the navigation's start (ms).
                ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                times.append(float(ms) / 1000)
                page.close()
        finally:
            browser.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000, help="resources of the audited state (default 10000)")
    parser.add_argument("--copies", type=int, default=10, help="copies of the audit result (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement, median printed (default 3)")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "report-scale")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium load time")
    parser.add_argument("--keep", action="store_true", help="keep the written report in WORKDIR/report")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    from compliance_checks.cli import DEFAULT_FORMATS, write_reports
    from compliance_checks.report.results import build_results

    started = time.perf_counter()
    base, arguments = audit_result(args.workdir, args.size)
    result = replicated(base, args.copies)
    print(
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs (timings are wall clock)"
    )
    print(
        f"input: {len(result.inventory)} resources, {len(result.findings)} findings "
        f"({args.size} resources audited x {args.copies} copies; set up in {time.perf_counter() - started:.1f} s)"
    )

    build_s, results = _median(lambda: build_results(result, **arguments), args.runs)
    print(f"build_results                 {build_s:7.3f} s  (CPU {_CPU[-1]:.3f} s)")

    out = args.workdir / "formats"
    out.mkdir(exist_ok=True)
    sizes: dict[str, int] = {}
    from compliance_checks.report.results import collection_paused

    for name, writer in _writers(args.lang).items():
        path = out / name.replace(" --", "-")
        with collection_paused():  # as write_reports runs them
            seconds, _ = _median(lambda w=writer, p=path: w(results, p), args.runs)  # type: ignore[misc]
        sizes[name] = path.stat().st_size
        print(f"  {name:<27} {seconds:7.3f} s  (CPU {_CPU[-1]:.3f} s)  {sizes[name] / 1e6:8.2f} MB")

    report = args.workdir / "report"

    def stage() -> None:
        write_reports(results, DEFAULT_FORMATS, report, lang=args.lang)

    write_s, _ = _median(stage, args.runs)
    print(f"write_reports (default)       {write_s:7.3f} s  (CPU {_CPU[-1]:.3f} s)")
    total = build_s + write_s
    print(
        f"report stage (build + write)  {total:7.3f} s  (CPU {_CPU[0] + _CPU[-1]:.3f} s)  "
        f"{'within' if total <= STAGE_BUDGET_S else 'OVER'} the {STAGE_BUDGET_S} s target"
    )
    for path in sorted(report.iterdir()):
        print(f"  {path.name:<27} {path.stat().st_size / 1e6:8.2f} MB")

    tracemalloc.start()
    stage()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak Python allocations during write_reports: {peak / 1e6:.0f} MB (tracemalloc, a run of its own)")

    if not args.no_browser:
        seconds = load_time(report / "report.html", args.runs)
        if seconds is not None:
            print(
                f"report.html to the load event in Chromium: {seconds:.2f} s  "
                f"{'within' if seconds <= LOAD_BUDGET_S else 'OVER'} the {LOAD_BUDGET_S} s target"
            )


if __name__ == "__main__":
    main()
