"""The docs match the code: every check, source and exit code the code knows is documented."""

from __future__ import annotations

from compliance_checks.checks import load_checks
from compliance_checks.cli import SOURCES
from infra.synth import REPO_ROOT

GUIDE = (REPO_ROOT / "docs" / "compliance-checks.md").read_text(encoding="utf-8")
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")


def test_every_check_is_in_the_guide() -> None:
    for check_id, check in load_checks().items():
        assert f"| `{check_id}` | {check.meta.severity.value} |" in GUIDE, check_id


def test_every_source_is_in_the_guide() -> None:
    for source in SOURCES:
        assert f"`{source}`" in GUIDE, source


def test_readme_commands_exist_in_the_makefile() -> None:
    assert "make run " in README and "make test " in README
    for target in ("run:", "test:", "browser:", "render:", "benchmark:", "docs:"):
        assert f"\n{target}" in MAKEFILE, target
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
