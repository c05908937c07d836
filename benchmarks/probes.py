"""Wall time of the full probe set (TLS, HTTP, browser crawl, database port) on the local reference portal.

    .venv/bin/python benchmarks/probes.py              # the CLI's default crawl bounds, median of 3 runs
    .venv/bin/python benchmarks/probes.py --runs 5     # more runs
    .venv/bin/python benchmarks/probes.py --settle 0.5 # a shorter settle time per page

Starts the clean reference portal of tests/test_browser_visit.py on 127.0.0.1 (its pages, a sitemap, a
language switch, a login form, the plain-HTTP entry; third-party names mapped by Chromium's host-resolver
rules), runs ``compliance-checks audit --probe`` with every probe against it, ``--runs`` times, and prints
the median wall time of the whole audit and of each probe (the probes run side by side, so the probe set
takes as long as its slowest probe), whether the target (the full probe set within 5 s, issue 15) is met,
the pages the browser visited and the evidence files written; exit 1 when the target is missed. Needs\nDebian's Chromium.
The bounds that matter: the browser stops starting pages after ``--probe-time-budget`` (default 180 s)
and after ``--probe-max-pages`` (25), and every probe has a total time budget (``Budgets`` in
compliance_checks/probes/run.py) after which its record is an ERROR; the probes run at the same time, so
the longest of those budgets is printed as the bound the run stays under.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance_checks.probes import run as run_module
from compliance_checks.probes.browser import Crawl
from compliance_checks.probes.run import Budgets
from tests.test_browser_visit import run_audit, serve_portal

TARGET_S = 5.0  # issue 15: the full probe set on one portal
PROBES = ("TLS", "HTTP", "browser", "reachability")


@contextmanager
def probe_timings() -> Iterator[dict[str, float]]:
    """Each probe's wall time in the audit run inside, by probe kind (run_probes fills it)."""
    by_label: dict[str, float] = {}
    original = run_module.run_probes
    run_module.run_probes = functools.partial(original, timings=by_label)  # the CLI imports it when it runs
    by_kind: dict[str, float] = {}
    try:
        yield by_kind
    finally:
        run_module.run_probes = original
        for label, seconds in by_label.items():
            kind = next(
                k for k, word in zip(PROBES, ("TLS", "HTTP", "Chromium", "Trying"), strict=True) if word in label
            )
            by_kind[kind] = max(by_kind.get(kind, 0.0), seconds)  # several TLS endpoints: the slowest


def one_run(bounds: tuple[str, ...]) -> tuple[float, dict[str, float], int, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as directory, serve_portal(Path(directory)) as site:
        out = Path(directory) / "report"
        with probe_timings() as timings:
            started = time.perf_counter()
            code, results = run_audit(site, out, *bounds)
            elapsed = time.perf_counter() - started
    return elapsed, timings, code, results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=None, help="--probe-settle (default: the CLI's)")
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of (default: 3)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    bounds = ("--probe-settle", str(args.settle)) if args.settle is not None else ()
    walls: list[float] = []
    per_probe: dict[str, list[float]] = {kind: [] for kind in PROBES}
    codes: list[int] = []
    results: dict[str, Any] = {}
    for number in range(1, args.runs + 1):
        elapsed, timings, code, results = one_run(bounds)
        walls.append(elapsed)
        codes.append(code)
        for kind in PROBES:
            per_probe[kind].append(timings.get(kind, float("nan")))
        shown = ", ".join(f"{kind} {timings.get(kind, float('nan')):.2f} s" for kind in PROBES)
        print(f"run {number}: {elapsed:.2f} s wall time (exit {code}); {shown}", file=sys.stderr)
    browser = next(r for r in results["findings"] if r["checkId"] == "probe_browser_no_cookies")
    shots = next(e["observed"] for e in browser["evidence"] if e["path"] == "evidence.screenshots")
    wall = statistics.median(walls)
    medians = {kind: statistics.median(values) for kind, values in per_probe.items()}
    slowest = max(PROBES, key=lambda kind: medians[kind])
    met = wall <= TARGET_S
    print(
        f"full probe set on the local reference portal: {wall:.1f} s wall time, median of {args.runs} run(s)"
        f" (range {min(walls):.1f} to {max(walls):.1f} s; exit {', '.join(map(str, sorted(set(codes))))})"
    )
    print("per probe (median, side by side): " + ", ".join(f"{k} {medians[k]:.2f} s" for k in PROBES))
    print(f"slowest probe: {slowest}")
    print(f"target <= {TARGET_S:g} s: {'met' if met else 'NOT met'}")
    print(f"browser: {len(shots)} page(s) visited, one screenshot each, plus a HAR")
    # The probes run side by side: the longest budget (one TLS endpoint, HTTP, the browser with the CLI's
    # default crawl budget, the database port) bounds the run.
    budgets = Budgets()
    bound = max(budgets.tls_s, budgets.http_s, budgets.browser(Crawl()), budgets.reachability_s)
    print(f"bound: the longest of the probes' time budgets is {bound:.0f} s")
    print(
        json.dumps(
            {
                "seconds": round(wall, 2),
                "runs": args.runs,
                "perProbeSeconds": {k: round(v, 2) for k, v in medians.items()},
                "slowest": slowest,
                "targetSeconds": TARGET_S,
                "targetMet": met,
                "exitCodes": sorted(set(codes)),
                "pages": len(shots),
                "boundSeconds": bound,
            }
        )
    )
    return 0 if met else 1  # like the other benchmarks: a missed target is exit 1 (the figures are printed)


if __name__ == "__main__":
    sys.exit(main())
