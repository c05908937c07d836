"""How long the policy pack takes as the Pulumi engine drives it (issue 11).

    .venv/bin/python benchmarks/policy_pack.py [--runs N]

Starts ``policies/`` exactly as the Pulumi CLI starts a Python policy pack
(tests/support/analyzer.py) N times and prints the median time until it
prints its port; then, against one running pack, the median of N ``Analyze``
rounds over every custom resource of the dev stack and of N ``AnalyzeStack``
requests, at a first preview (inputs, unknowns, property dependencies) and in
the deployed-stack view (outputs). Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _median(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions per measurement (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    from infra.synth import synthesize
    from tests.support import analyzer

    synthesis = synthesize("dev")
    custom = analyzer.custom_resources(synthesis)
    with tempfile.TemporaryDirectory() as workdir:
        startups = []
        for _ in range(args.runs):
            pack = analyzer.start_pack(workdir=Path(workdir))
            startups.append(pack.startup_seconds)
            pack.close()
        print(
            f"pack start-up (process to port)   median {statistics.median(startups) * 1000:8.1f} ms  ({args.runs} runs)"
        )
        pack = analyzer.start_pack(workdir=Path(workdir))
        try:
            for label, first_preview in (("first preview", True), ("deployed", False)):
                requests = [analyzer.analyze_request(synthesis, r, first_preview=first_preview) for r in custom]
                stack = analyzer.analyze_stack_request(synthesis, first_preview=first_preview)

                def analyze_all(batch: list[object] = requests) -> None:
                    for request in batch:
                        pack.analyze(request)  # type: ignore[arg-type]

                per_resource = _median(analyze_all, args.runs)
                whole = _median(lambda request=stack: pack.analyze_stack(request), args.runs)
                print(
                    f"{label:<14} Analyze x {len(requests):3d}          median {per_resource * 1000:8.1f} ms"
                    f"  ({per_resource / len(requests) * 1000:.2f} ms per resource)"
                )
                print(f"{label:<14} AnalyzeStack ({len(synthesis.resources)} res.) median {whole * 1000:8.1f} ms")
        finally:
            pack.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
