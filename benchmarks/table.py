"""Issue 15's benchmarks in one table: offline end to end, checkov side by side, live collection, make run, probes.

    .venv/bin/python benchmarks/table.py                    # what `make benchmark` prints first
    .venv/bin/python benchmarks/table.py --sizes 1000,10000 --runs 3 --skip probes

Runs each benchmark as its own process (its own output goes to standard error as it runs), reads the figures
each writes with ``--json``, and prints one table with every target of issue 15 and whether it was met. Nothing
here is measured twice or estimated: every figure is one the benchmark it comes from printed in this run.

- end_to_end.py: ``compliance-checks audit`` as a process, all report formats, per source (arm, pulumi-state,
  pulumi-preview) and size; wall median of --runs, peak RSS; checkov on the same ARM file, same run;
- live_collect.py: 10,000 resources of the dev stack's mix at 100 ms per answer, 16 requests in flight,
  requests against the lower bound of the documented APIs;
- make_run.py: ``make run`` with an empty cache (cold) and a warm one;
- probes.py: the full probe set on the local reference portal (needs Debian's Chromium).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TARGETS = {"wall_100k": 5.0, "rss_100k_mb": 1024.0, "exponent": 1.05, "checkov_ratio": 50.0, "live_s": 5.0}


def _run(argv: list[str]) -> int:
    """A benchmark's own output to standard error, as it runs; its exit code (1 = a target missed)."""
    print(f"$ {' '.join(argv)}", file=sys.stderr, flush=True)
    return subprocess.run(argv, cwd=ROOT, stdout=sys.stderr, check=False).returncode


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT MET")


def offline_rows(figures: dict[str, Any]) -> list[str]:
    lines = [
        "offline end to end: `compliance-checks audit` as a process, every report format "
        f"(wall: median of {figures['runs']} runs; peak RSS: the largest)",
        f"{'source':<15}{'resources':>10}{'input MB':>10}{'wall s':>9}{'peak MB':>9}{'results MB':>11}  exit",
    ]
    for row in figures["rows"]:
        refused = f"  refused: {row['refused']}" if row["refused"] else ""
        lines.append(
            f"{row['source']:<15}{row['size']:>10,}{row['input_mb']:>10.1f}{row['wall']:>9.2f}{row['peak_mb']:>9.0f}"
            f"{row['results_mb']:>11.1f}  {row['exit']}{refused}"
        )
    return lines


def exponents(figures: dict[str, Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    for source in sorted({r["source"] for r in figures["rows"]}):
        done = {r["size"]: r for r in figures["rows"] if r["source"] == source and not r["refused"]}
        if 10_000 in done and 100_000 in done:
            found[source] = math.log(done[100_000]["wall"] / done[10_000]["wall"]) / math.log(10)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3, help="runs per size and source (median; default 3)")
    parser.add_argument("--skip", default="", help="comma-separated: offline, live, make-run, probes")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-table-") as scratch:
        out = Path(scratch)
        if "offline" not in skip:
            checkov = "10000" if "10000" in args.sizes.split(",") else "0"  # side by side with our 10k ARM audit
            _run([PYTHON, "benchmarks/end_to_end.py", "--sizes", args.sizes, "--runs", str(args.runs),
                  "--checkov-size", checkov, "--json", str(out / "offline.json")])  # fmt: skip
        if "live" not in skip:
            _run([PYTHON, "benchmarks/live_collect.py", "--json", str(out / "live.json")])
        if "make-run" not in skip:
            _run([PYTHON, "benchmarks/make_run.py", "--runs", str(max(3, args.runs)), "--json", str(out / "run.json")])
        probe_seconds = None
        if "probes" not in skip:
            completed = subprocess.run(
                [PYTHON, "benchmarks/probes.py"], cwd=ROOT, capture_output=True, text=True, check=False
            )
            sys.stderr.write(completed.stdout + completed.stderr)
            last = completed.stdout.strip().splitlines()[-1:] if completed.returncode in (0, 1) else []
            try:
                probe_seconds = float(json.loads(last[0])["seconds"]) if last else None
            except (ValueError, KeyError, TypeError):
                probe_seconds = None
        offline, live, run = _json(out / "offline.json"), _json(out / "live.json"), _json(out / "run.json")

    lines = [f"issue 15 benchmarks: {os.cpu_count()} CPUs, load average at start {load[0]:.2f}", ""]
    verdicts: list[tuple[str, bool | None]] = []
    if offline:
        lines += offline_rows(offline)
        grown = exponents(offline)
        for source, exponent in grown.items():
            lines.append(f"growth exponent {source} 10k -> 100k: {exponent:.2f}")
            verdicts.append((f"growth exponent <= {TARGETS['exponent']} ({source})", exponent <= TARGETS["exponent"]))
        for row in offline["rows"]:
            if row["size"] == 100_000 and not row["refused"]:
                verdicts.append((f"100k {row['source']} <= 5 s", row["wall"] <= TARGETS["wall_100k"]))
                verdicts.append((f"100k {row['source']} <= 1 GB peak RSS", row["peak_mb"] <= TARGETS["rss_100k_mb"]))
            elif row["size"] == 100_000:
                verdicts.append((f"100k {row['source']} accepted", False))
        checkov, size = offline.get("checkov"), offline.get("checkovSize")
        ours = next((r for r in offline["rows"] if r["source"] == "arm" and r["size"] == size), None)
        if checkov and ours and not ours["refused"]:
            wall_ratio, rss_ratio = checkov["wall"] / ours["wall"], checkov["peak_mb"] / ours["peak_mb"]
            lines.append(
                f"checkov on the same ARM file ({size:,}): wall {checkov['wall']:.2f} s, peak {checkov['peak_mb']:.0f} MB;"
                f" checkov / ours: wall {wall_ratio:.1f}x, peak RSS {rss_ratio:.1f}x"
            )
            verdicts.append((f">= {TARGETS['checkov_ratio']:.0f}x faster than checkov at {size:,}", wall_ratio >= 50))
        elif size:
            lines.append("checkov: not measured (make checkov-env, or the ARM size was refused)")
        lines.append("")
    if live:
        lines.append(
            f"live: {live['resources']:,} resources ({live['mix']} mix), {live['latencySeconds'] * 1000:.0f} ms per"
            f" answer, {live['concurrency']} in flight: {live['seconds']:.2f} s; {live['requests']:,} requests,"
            f" lower bound {live['lowerBound']:,} (ratio {live['requests'] / live['lowerBound']:.2f});"
            f" the bound alone takes >= {live['floorSeconds']:.1f} s"
        )
        verdicts.append(("live requests <= 1.2 x lower bound", live["requests"] <= 1.2 * live["lowerBound"]))
        verdicts.append(("live collection <= 5 s", live["seconds"] <= TARGETS["live_s"]))
    if run:
        cold, warm = statistics.median(run["cold"]["walls"]), statistics.median(run["warm"]["walls"] or [math.inf])
        lines.append(f"make run: cold {cold:.2f} s, warm {warm:.2f} s (medians; load average {run['loadAverage']:.2f})")
        verdicts.append(("make run (warm) <= 1.5 s", warm <= 1.5))
    if "probes" not in skip:
        shown = f"{probe_seconds:.1f} s" if probe_seconds is not None else "not measured (Chromium?)"
        lines.append(f"probes: the full set on the local reference portal: {shown}")
        verdicts.append(("probe set <= 5 s", None if probe_seconds is None else probe_seconds <= 5.0))
    lines += ["", "targets (issue 15):"]
    lines += [f"  {name:<52} {_verdict(ok)}" for name, ok in verdicts]
    print("\n".join(lines))
    return 0 if all(ok is not False for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
