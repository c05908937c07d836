"""Run ``python -m compliance_checks`` as a user would: a fresh process in the repository root."""

from __future__ import annotations

import os
import subprocess
import sys

from infra.synth import REPO_ROOT


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compliance_checks", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )
