"""How long `make run` takes, cold (no cached synthesis) and warm (the cache hits); issue 15: "≤ 1.5 s".

    .venv/bin/python benchmarks/make_run.py [--runs N]

Runs `make run` itself in a subprocess, as a user does, after checking that
`make setup` has nothing left to do (else it would time the installation).
Each cold run gets an empty cache directory of its own; the warm runs share
one that a first, uncounted run filled ($COMPLIANCE_CHECKS_CACHE_DIR, so the
user's cache is not touched; compliance_checks/sources/synth_cache.py). A warm
run that rewrote the entry was a miss (a file of the program or the tool
changed meanwhile) and is reported as such, not counted as warm.

Prints one table: wall time (median and range of N runs) and CPU time of the
process tree (user + system), with the machine's CPU count and load average,
since wall time on a busy machine is not the program's own cost. Not a test:
timings depend on the machine. `make run` writes reports/synth-dev as usual.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compliance_checks.sources.synth_cache import ENV_DIR, entries  # noqa: E402  (after the path is set)

BUDGET_S = 1.5


@dataclass
class Series:
    name: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    misses: int = 0

    def row(self) -> str:
        if not self.walls:
            return f"{self.name:<26} {0:>4}  {'-':>11}  {'-':>15}  {'-':>10}  {'-':>8}"
        wall = statistics.median(self.walls)
        spread = f"{min(self.walls):.2f}-{max(self.walls):.2f} s"
        return (
            f"{self.name:<26} {len(self.walls):>4}  {wall:>9.2f} s  {spread:>15}  "
            f"{statistics.median(self.cpus):>8.2f} s  {wall / BUDGET_S:>8.2f}"
        )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def make_run(cache: Path) -> tuple[float, float]:
    """One `make run` with ``cache`` as the cache directory: (wall seconds, CPU seconds of the process tree)."""
    env = {**os.environ, ENV_DIR: str(cache), "NO_COLOR": "1"}
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(["make", "run"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"make run exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return wall, _children_cpu() - cpu


def _entry_state(cache: Path) -> list[tuple[str, int, int]]:
    return sorted((p.name, p.stat().st_ino, p.stat().st_mtime_ns) for p in entries(cache))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each kind (default: 5; at least 3)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON (benchmarks/table.py reads it)")
    args = parser.parse_args()
    runs = max(3, args.runs)
    if subprocess.run(["make", "-q", "setup"], cwd=ROOT, capture_output=True, check=False).returncode != 0:
        sys.exit("the virtualenv is not set up or out of date: run `make setup` first (it is not timed here)")
    load = os.getloadavg()
    cold, warm = Series("cold (empty cache)"), Series("warm (cache hit)")
    with tempfile.TemporaryDirectory(prefix="make-run-bench-") as scratch:
        for number in range(runs):
            wall, cpu = make_run(Path(scratch) / f"cold-{number}")
            cold.walls.append(wall)
            cold.cpus.append(cpu)
        shared = Path(scratch) / "warm"
        make_run(shared)  # fills the cache; not counted
        for _ in range(runs):
            before = _entry_state(shared)
            wall, cpu = make_run(shared)
            if _entry_state(shared) != before or not before:  # rewritten: that run synthesized (a miss)
                warm.misses += 1
                continue
            warm.walls.append(wall)
            warm.cpus.append(cpu)
    print(f"make run (stack dev), {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'':<26} {'runs':>4}  {'median wall':>11}  {'wall range':>15}  {'median CPU':>10}  {'/ 1.5 s':>8}")
    for series in (cold, warm):
        print(series.row())
    if warm.misses:
        print(f"{warm.misses} warm run(s) missed the cache (an input changed during the benchmark): not counted")
    if args.json:
        figures = {
            "loadAverage": load[0],
            "cold": {"walls": cold.walls, "cpus": cold.cpus},
            "warm": {"walls": warm.walls, "cpus": warm.cpus, "misses": warm.misses},
        }
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
