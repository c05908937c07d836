"""How long an offline render takes (issue: "a few seconds at most").

    .venv/bin/python benchmarks/render.py

Prints, measured in this one run: the cost of importing the SDKs, of the
first synthesis per stack and of a repeat, and the ratio of each to a 3-second
budget. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUDGET_S = 3.0


def main() -> None:
    started = time.perf_counter()
    import pulumi_azure_native.web  # noqa: F401  (the heaviest import, counted here)

    from infra.synth import synthesize

    imported = time.perf_counter() - started
    print(f"import SDKs             {imported:6.2f} s")
    for stack in ("dev", "prod"):
        for attempt in ("first", "repeat"):
            t0 = time.perf_counter()
            result = synthesize(stack)
            elapsed = time.perf_counter() - t0
            print(
                f"synthesize {stack:<4} {attempt:<6} {elapsed:6.2f} s  {len(result.resources):3d} resources  "
                f"{elapsed / BUDGET_S:5.2f} of the {BUDGET_S:.0f} s budget"
            )
    total = time.perf_counter() - started
    print(f"total                   {total:6.2f} s")


if __name__ == "__main__":
    main()
