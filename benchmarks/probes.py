"""Wall time of the full probe set (TLS, HTTP, browser crawl, database port) on the local reference portal.

    .venv/bin/python benchmarks/probes.py              # the CLI's default crawl bounds
    .venv/bin/python benchmarks/probes.py --settle 0.5 # a shorter settle time per page

Starts the clean reference portal of tests/test_browser_visit.py on 127.0.0.1 (its pages, a sitemap, a
language switch, a login form, the plain-HTTP entry; third-party names mapped by Chromium's host-resolver
rules), runs ``compliance-checks audit --probe`` with every probe against it and prints the wall time of
the whole audit, the pages the browser visited and the evidence files written. Needs Debian's Chromium.
The bounds that matter: the browser stops starting pages after ``--probe-time-budget`` (default 180 s)
and after ``--probe-max-pages`` (25), and every probe has a total time budget (``Budgets`` in
compliance_checks/probes/run.py) after which its record is an ERROR; the sum of those budgets is printed
as the bound the run stays under.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance_checks.probes.browser import Crawl
from compliance_checks.probes.run import Budgets
from tests.test_browser_visit import run_audit, serve_portal


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=None, help="--probe-settle (default: the CLI's)")
    args = parser.parse_args()
    bounds = ("--probe-settle", str(args.settle)) if args.settle is not None else ()
    with tempfile.TemporaryDirectory() as directory, serve_portal(Path(directory)) as site:
        out = Path(directory) / "report"
        started = time.perf_counter()
        code, results = run_audit(site, out, *bounds)
        elapsed = time.perf_counter() - started
    browser = next(r for r in results["findings"] if r["checkId"] == "probe_browser_no_cookies")
    shots = next(e["observed"] for e in browser["evidence"] if e["path"] == "evidence.screenshots")
    print(f"full probe set on the local reference portal: {elapsed:.1f} s wall time (exit {code})")
    print(f"browser: {len(shots)} page(s) visited, one screenshot each, plus a HAR")
    # One TLS endpoint, HTTP, the browser with the CLI's default crawl budget, the database port.
    budgets = Budgets()
    bound = budgets.tls_s + budgets.http_s + budgets.browser(Crawl()) + budgets.reachability_s
    print(f"bound: the probes' time budgets sum to {bound:.0f} s")
    print(json.dumps({"seconds": round(elapsed, 1), "exitCode": code, "pages": len(shots), "boundSeconds": bound}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
