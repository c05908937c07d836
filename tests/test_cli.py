"""The command line, end to end: exit codes, reports, tamper detection, bad input, the browser view."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.cli import main
from tests.support.cli import run_cli

from .conftest import CHROMIUM, require_chromium


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("report") / "dev"
    return out, run_cli("audit", "--out", str(out))


def test_default_audit_writes_every_format(report: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, result = report
    # The estate keeps every promise the declared layer can verify: the default job is green. The policy
    # text's own German/English disagreements are reported on top, with their own gate (--fail-on-document).
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert {p.name for p in out.iterdir()} == {
        "results.json",
        "report.html",
        "report.md",
        "results.sarif",
        "junit.xml",
        "manifest.json",
        "manifest.sha256",
    }
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["exitCode"] == 0
    assert {d["claimId"] for d in results["document"]} >= {"RIGHTS-COMPLAINT", "REC-COOPERATIVE-AUDIT"}
    assert all(f["verdict"] != "FAIL" for f in results["findings"])  # the stack itself keeps its promises
    assert "SEC-DB-SINGLE-IP-VPN" in result.stdout and "Exit 0" in result.stdout
    assert result.stdout.index("POLICY TEXT") < result.stdout.index("SEC-DB-SINGLE-IP-VPN")  # the document on top


def test_the_document_has_its_own_gate(tmp_path: Path) -> None:
    out = tmp_path / "gated"
    assert main(["audit", "--quiet", "--format", "json", "--fail-on-document", "--out", str(out)]) == 1
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["failOnDocument"] and results["summary"]["exitCode"] == 1
    # The organisation records its decision on each disagreement: the gate is green until the decision expires.
    decisions = tmp_path / "waivers.yaml"
    decisions.write_text(
        "document:\n"
        + "".join(
            f"  - claim: {d['claimId']}\n    aspect: {d['aspect']}\n    justification: German text binding\n"
            "    expires: 2099-01-01\n    owner: DPO\n"
            for d in results["document"]
        ),
        encoding="utf-8",
    )
    argv = ["audit", "--quiet", "--format", "json", "--fail-on-document", "--waivers", str(decisions)]
    assert main([*argv, "--out", str(tmp_path / "decided")]) == 0
    assert main([*argv, "--today", "2099-01-02", "--out", str(tmp_path / "expired")]) == 1


def test_results_follow_the_schema(report: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    from compliance_checks.report.validation import validate_results

    validate_results(json.loads((report[0] / "results.json").read_text(encoding="utf-8")))


def test_verify_report_detects_tampering(report: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(report[0], copy)
    assert run_cli("verify-report", str(copy)).returncode == 0
    html = copy / "report.html"
    html.write_text(html.read_text(encoding="utf-8").replace("FAIL", "PASS"), encoding="utf-8")
    tampered = run_cli("verify-report", str(copy))
    assert tampered.returncode == 1
    assert "report.html" in tampered.stdout


def test_audit_of_prod_and_formats(tmp_path: Path) -> None:
    assert main(["audit", "--stack", "prod", "--format", "json,md", "--out", str(tmp_path / "p"), "--quiet"]) == 0
    assert {p.name for p in (tmp_path / "p").iterdir()} == {
        "results.json",
        "report.md",
        "manifest.json",
        "manifest.sha256",
    }


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "--source", "arm"],
        ["audit", "--format", "docx"],
        ["audit", "--fail-on", "severe"],
        ["frobnicate"],
        ["explain", "no_such_check"],
    ],
)
def test_usage_errors_exit_64(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 64
    assert capsys.readouterr().err.startswith("usage error:")


@pytest.mark.parametrize(
    ("source", "content"),
    [("pulumi-state", ""), ("pulumi-preview", '{"steps": ['), ("arm", "[1, 2]")],
)
def test_bad_input_is_one_line_exit_2_and_no_report(tmp_path: Path, source: str, content: str) -> None:
    bad = tmp_path / "input.json"
    bad.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("audit", "--source", source, "--input", str(bad), "--out", str(out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: {bad}") and "Traceback" not in result.stderr
    assert not out.exists()


def test_bad_stack_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "Pulumi.x.yaml"
    config.write_text("config:\n  smart-portal:allowedIp: 10.1.1.1\n", encoding="utf-8")
    result = run_cli("audit", "--input", str(config), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {config}: smart-portal:allowedIp: 10.1.1.1 is")


def test_explain_and_claims(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "nsg_database_port_two_sources"]) == 0
    text = capsys.readouterr().out
    assert "SEC-DB-SINGLE-IP-VPN" in text and "critical" in text and "Fix:" in text
    assert main(["explain", "--list"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.strip().splitlines()}
    assert listed == set(load_checks())
    assert main(["claims"]) == 0
    assert "RIGHTS-COMPLAINT" in capsys.readouterr().out


def test_no_color_is_respected(tmp_path: Path) -> None:
    coloured = run_cli("explain", "webapp_https_only", env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"})
    plain = run_cli("explain", "webapp_https_only", env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"})
    assert "\x1b[" in coloured.stdout
    assert "\x1b[" not in plain.stdout and "webapp_https_only" in plain.stdout


def test_html_report_renders_in_a_real_browser(
    report: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    shot = tmp_path / "report.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto((report[0] / "report.html").as_uri())
            matrix = page.locator("#claim-matrix").bounding_box()
            assert matrix is not None and matrix["width"] > 400 and matrix["height"] > 200
            assert page.locator("#exit").inner_text().startswith("All verifiable promises kept")
            assert page.locator("section.card").count() == 24
            assert page.locator("#estate rect").count() >= 30
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
