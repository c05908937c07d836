"""Which Chromium the probes launch, and what a machine without the probes' setup is told.

``--chromium PATH`` beats ``$COMPLIANCE_CHROMIUM``, which beats Debian's
``/usr/bin/chromium``. A missing or non-executable browser, or a missing
``probes`` extra, stops the audit before the first probe with one line on
standard error that names the path and how to name another, exit 2: a setup
fault of this machine, never a finding about the portal, never a traceback.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from compliance_checks.cli import main
from compliance_checks.errors import ComplianceError
from compliance_checks.probes import run as probe_run
from compliance_checks.probes.browser import (
    CHROMIUM,
    CHROMIUM_VARIABLE,
    chromium_executable,
    probe_browser,
    require_chromium,
)
from compliance_checks.probes.run import ProbeTarget, require_probe_setup


def test_the_option_beats_the_variable_which_beats_debian_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CHROMIUM_VARIABLE, raising=False)
    assert chromium_executable() == CHROMIUM == Path("/usr/bin/chromium")
    assert chromium_executable("") == CHROMIUM  # an empty option is no option
    monkeypatch.setenv(CHROMIUM_VARIABLE, "/opt/chrome/chrome")
    assert chromium_executable() == Path("/opt/chrome/chrome")
    assert chromium_executable("/snap/bin/chromium") == Path("/snap/bin/chromium")
    monkeypatch.setenv(CHROMIUM_VARIABLE, "  ")
    assert chromium_executable() == CHROMIUM


def test_the_browser_probe_launches_the_variable_s_chromium_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CHROMIUM_VARIABLE, str(tmp_path / "from-the-variable"))
    record = probe_browser("https://portal.example/")
    assert record.body["error"] == f"Chromium not found at {tmp_path / 'from-the-variable'}"


def test_require_chromium_accepts_an_executable_and_names_what_is_wrong_otherwise(tmp_path: Path) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n", encoding="utf-8")
    with pytest.raises(ComplianceError, match=r"^Chromium is not executable at .*chromium: install it"):
        require_chromium(browser)
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    assert require_chromium(browser) == browser
    with pytest.raises(ComplianceError) as missing:
        require_chromium(tmp_path / "nowhere")
    assert str(missing.value) == (
        f"Chromium not found at {tmp_path / 'nowhere'}: install it (Debian: `make browser`)"
        " or name it with --chromium PATH or $COMPLIANCE_CHROMIUM"
    )
    with pytest.raises(ComplianceError, match="not found"):
        require_chromium(tmp_path)  # a directory is no browser


def test_a_missing_probes_extra_is_named_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_run, "PROBE_MODULES", {"playwright": "no_such_module_for_this_test"})
    with pytest.raises(ComplianceError) as error:
        require_probe_setup(ProbeTarget(url="https://portal.example/"))
    assert str(error.value) == (
        "--probe needs playwright (not installed): pip install 'smart-portal-compliance[probes]'"
    )


@pytest.mark.parametrize("how", ["option", "variable"])
def test_the_audit_stops_before_any_probe_with_one_line_and_exit_2(
    how: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-chromium-here"
    extra = ["--chromium", str(missing)] if how == "option" else []
    if how == "variable":
        monkeypatch.setenv(CHROMIUM_VARIABLE, str(missing))
    # Port 9 on loopback: if a probe ran before the check, it would record a failure, not stop the audit.
    code = main(
        ["audit", "--format", "json", "--out", str(tmp_path / "out"), "--probe", "https://127.0.0.1:9/", *extra]
    )
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1] == (
        f"error: Chromium not found at {missing}: install it (Debian: `make browser`)"
        " or name it with --chromium PATH or $COMPLIANCE_CHROMIUM"
    )
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "results.json").exists()  # no report that looks finished


def test_the_option_is_in_the_audit_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    assert "--chromium PATH" in capsys.readouterr().out
