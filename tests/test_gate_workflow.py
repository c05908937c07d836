"""The pull-request gate as the workflow runs it: green on the repository as committed, red on every broken variant.

The gate is the ``audit`` job of ``.github/workflows/pull-request.yml``. Its
audit command is read from the workflow (not copied here), then:

* on the unchanged repository its exact argv runs as a process (the console
  script ``make setup`` installs, from a scratch directory so that the
  repository's own ``reports/`` stays untouched): exit 0;
* on each broken variant of the gate matrix (tests/test_gates.py,
  docs/gates.md) the same argv runs through the same entry point
  (``compliance_checks.cli:main``, the script's target in pyproject.toml),
  in this process, with the program's synthesis replaced by the variant's: the
  broken inputs reach the CLI exactly where the Pulumi program's would. Exit 1,
  and the checks that fail are the offline-audit column of the matrix.

A control run through the same replacement with the unbroken synthesis exits 0,
so a red variant is the variant's doing, not the replacement's.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from compliance_checks import cli
from compliance_checks.sources import synth as synth_source
from compliance_checks.sources.synth import inventory_from_synthesis
from infra.synth import REPO_ROOT, Synthesis

from .conftest import synth_cached
from .test_gates import VARIANTS, audit_gate, broken
from .test_workflows import WORKFLOWS_DIR, options, run_commands

GATE = ("pull-request.yml", "audit")


def gate_commands() -> list[tuple[str, ...]]:
    """The compliance-checks commands of the gate job, in order, as the workflow writes them."""
    assert (WORKFLOWS_DIR / GATE[0]).is_file()
    found = [
        c.words for c in run_commands() if (c.workflow, c.job) == GATE and c.words[0].endswith("compliance-checks")
    ]
    assert found, f"{GATE}: no compliance-checks command"
    for words in found:
        assert words[1] == "audit", words
        # Offline: the synthesized program (no --input, no --source or --source synth), so a variant can replace it.
        assert options(words).get("--source", "synth") == "synth" and "--input" not in options(words), words
        assert options(words).get("--out"), words
    return found


def _entry_point(script: str) -> str:
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    return str(scripts[Path(script).name])


def _results(cwd: Path, words: tuple[str, ...]) -> dict[str, Any]:
    out = cwd / str(options(words)["--out"])
    results: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return results


def _failing_checks(results: dict[str, Any]) -> list[str]:
    return sorted({f["checkId"] for f in results["findings"] if f["verdict"] == "FAIL" and not f.get("waived")})


def test_the_gate_is_green_on_the_unchanged_repository(tmp_path: Path) -> None:
    for words in gate_commands():
        script = REPO_ROOT / words[0]
        assert script.is_file(), f"{words[0]}: run `make setup`"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"NO_COLOR": "1"}
        result = subprocess.run(
            [str(script), *words[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert result.returncode == 0, (
            f"{' '.join(words)}: exit {result.returncode}\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
        )
        results = _results(tmp_path, words)
        assert results["summary"]["exitCode"] == 0 and _failing_checks(results) == []


def _run_with(synthesis: Synthesis, words: tuple[str, ...], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    assert _entry_point(words[0]) == "compliance_checks.cli:main"  # the script runs cli.main

    def synthesize(stack: str, *, stack_file: Path | None = None, overrides: Any = None) -> Synthesis:
        assert (stack, stack_file, overrides) == ("dev", None, None), "the gate audits the dev stack as configured"
        return synthesis

    with monkeypatch.context() as patch:
        patch.setattr(synth_source, "synthesize", synthesize)
        patch.chdir(cwd)
        return cli.main(list(words[1:]))


def test_the_replacement_alone_keeps_the_gate_green(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for words in gate_commands():
        assert _run_with(synth_cached("dev"), words, tmp_path, monkeypatch) == 0
        assert _failing_checks(_results(tmp_path, words)) == []


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_gate_is_red_on_every_broken_variant(variant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synthesis = broken(variant)
    expected = audit_gate(inventory_from_synthesis(synthesis))  # the matrix's offline-audit column
    assert expected, f"{variant}: the gate matrix says no audit check catches it"
    for words in gate_commands():
        code = _run_with(synthesis, words, tmp_path, monkeypatch)
        results = _results(tmp_path, words)
        assert code == 1 == results["summary"]["exitCode"], (variant, code, results["summary"])
        assert _failing_checks(results) == expected, variant
