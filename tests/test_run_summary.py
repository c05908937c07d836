"""The main job's terminal summary, as a newcomer sees it after `make run`: a snapshot.

The snapshot pins what the default offline audit says about every claim (its layers, what did not run and how
to run it), the policy text's disagreements on top, the scope line and the exit code. When the estate, the
catalogue or the wording changes on purpose, regenerate it with
``UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_run_summary.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = REPO / "tests" / "snapshots" / "make_run_summary.txt"


def make_run_argv() -> list[str]:
    """The arguments of the Makefile's audit recipe (`make run`), so the test follows the README's command."""
    recipe = re.search(r"^audit:.*\n\t\$\(BIN\)/compliance-checks (.+)$", (REPO / "Makefile").read_text(), re.M)
    assert recipe, "the Makefile's audit recipe runs compliance-checks"
    return recipe.group(1).replace("$(STACK)", "dev").split()


def test_make_run_summary_matches_the_snapshot(tmp_path: Path) -> None:
    argv = make_run_argv()
    assert argv[:3] == ["audit", "--stack", "dev"]
    out = argv.index("--out")
    argv[out + 1] = str(tmp_path / "synth-dev")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "110", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-m", "compliance_checks", *argv],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr  # the default job is green when the estate keeps its promises
    shown = done.stdout.replace(str(tmp_path), "<out>")
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(shown, encoding="utf-8")
    assert shown == SNAPSHOT.read_text(encoding="utf-8")
    # What the snapshot must say, whatever else changes in it.
    assert "observed NOT RUN — add --probe URL" in shown
    assert "Exit 0: every promise verified by the layers that ran is kept." in shown
    assert "Policy text: 3 disagreement(s) between German and English (do not fail this run)" in shown
