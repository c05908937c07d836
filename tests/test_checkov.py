"""checkov as a second opinion (compliance_checks/checkov_bridge.py, policies/checkov/).

checkov runs from its own virtualenv (``make checkov-env``) as a subprocess.
Without it these tests skip, except in CI (``CI=true``), where they fail.
Each checkov run takes a few seconds: the runs are module-scoped and shared.
"""

from __future__ import annotations

import copy
import json
import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.checkov_bridge import (
    EXTERNAL_CHECKS,
    SUPPRESSIONS,
    Suppression,
    checkov_findings,
    find_checkov,
    load_suppressions,
    resource_type_of,
    run_checkov,
    unused_suppressions,
)
from compliance_checks.cli import main
from compliance_checks.errors import ComplianceError, InputError
from compliance_checks.export_arm import export_template
from compliance_checks.findings import Verdict
from compliance_checks.sources.synth import inventory_from_synthesis
from infra.synth import REPO_ROOT
from tests.support.cli import run_cli

from .conftest import missing_prerequisite, synth_cached

STACKS = ("dev", "prod")
IN_CI = os.environ.get("CI", "").strip().lower() == "true"
CUSTOM_IDS = sorted(
    {m for f in EXTERNAL_CHECKS.glob("*.py") for m in re.findall(r'id="(CKV_SMART_[0-9]+)"', f.read_text("utf-8"))}
)
Report = dict[str, Any]


@pytest.fixture(scope="module")
def checkov() -> Path:
    try:
        return find_checkov()
    except ComplianceError as exc:
        missing_prerequisite(str(exc), "make checkov-env")


def export(stack: str) -> dict[str, Any]:
    return export_template(inventory_from_synthesis(synth_cached(stack)))


def scan(template: dict[str, Any], directory: Path, checkov: Path) -> Report:
    path = directory / "template.json"
    path.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    return run_checkov(path, checkov=checkov)


@pytest.fixture(scope="module")
def reports(checkov: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    return {stack: scan(export(stack), tmp_path_factory.mktemp(f"checkov-{stack}"), checkov) for stack in STACKS}


@pytest.fixture(scope="module")
def suppressions() -> list[Suppression]:
    return load_suppressions()


def results(report: Report, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = report["results"][key]
    return items


def test_custom_checks_are_found() -> None:
    assert [f"CKV_SMART_{n}" for n in range(1, 7)] == CUSTOM_IDS


# --- the real stacks --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_failing_builtin_check_is_suppressed_with_a_justification(
    stack: str, reports: dict[str, Report], suppressions: list[Suppression]
) -> None:
    report = reports[stack]
    failed = [i for i in results(report, "failed_checks") if not i["check_id"].startswith("CKV_SMART_")]
    assert failed, "checkov found nothing to complain about: did it scan the template?"
    findings = checkov_findings(report, suppressions, stack)
    unwaived = [(f.check_id, f.resource_id) for f in findings if f.verdict == Verdict.FAIL and not f.waived]
    assert unwaived == [], f"built-in checks failing on {stack} without a suppression in {SUPPRESSIONS.name}"
    for finding in findings:
        if finding.verdict == Verdict.FAIL:
            assert finding.waiver is not None
            assert len(finding.waiver.justification) > 40
            assert re.search(r"\(claim: (none|[A-Z][A-Z0-9-]+)\)$", finding.waiver.justification)
    # No stale suppression: each one for this stack matches a failure.
    assert unused_suppressions(report, suppressions, stack) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_check_passes(stack: str, reports: dict[str, Report]) -> None:
    report = reports[stack]
    assert [i for i in results(report, "failed_checks") if i["check_id"].startswith("CKV_SMART_")] == []
    passed = {i["check_id"] for i in results(report, "passed_checks")}
    assert set(CUSTOM_IDS) <= passed, f"custom checks that produced no result: {set(CUSTOM_IDS) - passed}"


def test_every_resource_is_scanned(reports: dict[str, Report]) -> None:
    for stack, report in reports.items():
        assert report["summary"]["resource_count"] == len(export(stack)["resources"])


def test_suppressions_are_per_stack(reports: dict[str, Report], suppressions: list[Suppression]) -> None:
    # prod's plan is zone redundant: the dev-only suppression is neither needed nor applied there.
    failed_prod = {(i["check_id"], i["resource"]) for i in results(reports["prod"], "failed_checks")}
    assert not any(check == "CKV_AZURE_225" for check, _ in failed_prod)
    zone = [f for f in checkov_findings(reports["dev"], suppressions, "prod") if f.check_id == "CKV_AZURE_225"]
    assert [(f.verdict, f.waived) for f in zone] == [(Verdict.FAIL, False)]
    # Without a stack (--source arm), only suppressions for "*" apply: none here.
    assert not any(f.waived for f in checkov_findings(reports["dev"], suppressions, None))


def test_findings_carry_checkov_ids_names_and_resources(
    reports: dict[str, Report], suppressions: list[Suppression]
) -> None:
    findings = checkov_findings(reports["dev"], suppressions, "dev")
    assert len(findings) == reports["dev"]["summary"]["passed"] + reports["dev"]["summary"]["failed"]
    assert {f.source for f in findings} == {"checkov"}
    auth = next(f for f in findings if f.check_id == "CKV_AZURE_13")
    assert auth.resource_id == "Microsoft.Web/sites/config.app-smartportal-dev-gwc/authsettingsV2"
    assert auth.resource_type == "Microsoft.Web/sites/config"
    assert auth.message == "Ensure App Service Authentication is set on Azure App Service"
    assert auth.waiver is not None and "AppServiceAuthSession" in auth.waiver.justification
    assert auth.waiver.justification.endswith("(claim: PRIV-NO-COOKIES)")
    assert auth.waiver.expires == "9999-12-31"


def test_an_expired_suppression_no_longer_applies(reports: dict[str, Report]) -> None:
    import datetime as dt

    rule = Suppression(
        "CKV_AZURE_17", "Microsoft.Web/sites.*", "SEC-TLS", "Members cannot present client certificates.", ("dev",)
    )
    expired = Suppression(**{**rule.__dict__, "expires": dt.date(2020, 1, 1)})
    for rules, waived in (([rule], True), ([expired], False)):
        finding = next(f for f in checkov_findings(reports["dev"], rules, "dev") if f.check_id == "CKV_AZURE_17")
        assert finding.waived is waived


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("Microsoft.Web/sites/config.app-smartportal-dev-gwc/authsettingsV2", "Microsoft.Web/sites/config"),
        ("Microsoft.DBforPostgreSQL/flexibleServers.psql-x", "Microsoft.DBforPostgreSQL/flexibleServers"),
        ("Microsoft.Network/privateDnsZones.privatelink.vaultcore.azure.net", "Microsoft.Network/privateDnsZones"),
        ("nonsense", "nonsense"),
    ],
)
def test_resource_type_of(resource: str, expected: str) -> None:
    assert resource_type_of(resource) == expected


# --- broken variants: each custom check fails on its resource --------------------------------


def _variant(
    template: dict[str, Any], type_: str, name: str, change: Callable[[dict[str, Any]], None], *, leaf: str = ""
) -> str:
    """Append a copy of the template's first resource of ``type_``, renamed and changed; its checkov resource string."""
    original = next(r for r in template["resources"] if r["type"] == type_ and r["name"].endswith(leaf))
    resource = copy.deepcopy(original)
    resource["name"] = f"{name}/{leaf}" if leaf else name
    change(resource)
    template["resources"].append(resource)
    return f"{type_}.{resource['name']}"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(resource: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = resource
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(resource: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = resource
        for key in parents:
            node = node[key]
        del node[last]

    return change


def _add_setting(name: str) -> Callable[[dict[str, Any]], None]:
    def change(resource: dict[str, Any]) -> None:
        resource["properties"]["siteConfig"]["appSettings"].append({"name": name, "value": "InstrumentationKey=x"})

    return change


SITE, CONFIG = "Microsoft.Web/sites", "Microsoft.Web/sites/config"
WORKSPACE, SERVER = "Microsoft.OperationalInsights/workspaces", "Microsoft.DBforPostgreSQL/flexibleServers"
GATEWAY = "Microsoft.Network/virtualNetworkGateways"
BROKEN: dict[str, tuple[str, str, Callable[[dict[str, Any]], None], str]] = {
    # label: (check, type, change, name leaf)
    "affinity-on": ("CKV_SMART_1", SITE, _set("properties.clientAffinityEnabled", True), ""),
    "affinity-missing": ("CKV_SMART_1", SITE, _drop("properties.clientAffinityEnabled"), ""),
    "easy-auth-on": ("CKV_SMART_2", CONFIG, _set("properties.platform.enabled", True), "authsettingsV2"),
    "easy-auth-missing": ("CKV_SMART_2", CONFIG, _drop("properties.platform"), "authsettingsV2"),
    "app-insights-connection": ("CKV_SMART_3", SITE, _add_setting("APPLICATIONINSIGHTS_CONNECTION_STRING"), ""),
    "app-insights-agent": ("CKV_SMART_3", SITE, _add_setting("ApplicationInsightsAgent_EXTENSION_VERSION"), ""),
    "retention-365": ("CKV_SMART_4", WORKSPACE, _set("properties.retentionInDays", 365), ""),
    "retention-missing": ("CKV_SMART_4", WORKSPACE, _drop("properties.retentionInDays"), ""),
    "db-public": ("CKV_SMART_5", SERVER, _set("properties.network.publicNetworkAccess", "Enabled"), ""),
    "db-network-missing": ("CKV_SMART_5", SERVER, _drop("properties.network"), ""),
    "vpn-certificate": (
        "CKV_SMART_6",
        GATEWAY,
        _set("properties.vpnClientConfiguration.vpnAuthenticationTypes", ["Certificate"]),
        "",
    ),
    "vpn-aad-and-radius": (
        "CKV_SMART_6",
        GATEWAY,
        _set("properties.vpnClientConfiguration.radiusServerAddress", "10.0.0.4"),
        "",
    ),
    "vpn-types-missing": (
        "CKV_SMART_6",
        GATEWAY,
        _drop("properties.vpnClientConfiguration.vpnAuthenticationTypes"),
        "",
    ),
    "vpn-properties-missing": ("CKV_SMART_6", GATEWAY, _drop("properties"), ""),
}


@pytest.fixture(scope="module")
def broken(checkov: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, dict[str, str]]:
    """One checkov run over the dev template plus one broken copy of a resource per variant."""
    template = export("dev")
    resources = {
        label: _variant(template, type_, f"broken-{label}", change, leaf=leaf)
        for label, (_, type_, change, leaf) in BROKEN.items()
    }
    return scan(template, tmp_path_factory.mktemp("checkov-broken"), checkov), resources


@pytest.mark.parametrize("label", sorted(BROKEN))
def test_a_broken_variant_fails_its_custom_check(label: str, broken: tuple[Report, dict[str, str]]) -> None:
    report, resources = broken
    resource = resources[label]
    failed = {i["check_id"] for i in results(report, "failed_checks") if i["resource"] == resource}
    assert {c for c in failed if c.startswith("CKV_SMART_")} == {BROKEN[label][0]}


def test_the_unbroken_originals_still_pass(broken: tuple[Report, dict[str, str]]) -> None:
    report, _ = broken
    failed_custom = {i["resource"] for i in results(report, "failed_checks") if i["check_id"].startswith("CKV_SMART_")}
    assert all(".broken-" in r for r in failed_custom), failed_custom
    assert set(CUSTOM_IDS) <= {i["check_id"] for i in results(report, "passed_checks")}


# --- suppressions.yaml ------------------------------------------------------------------------

GOOD = """\
suppressions:
  - check: CKV_AZURE_225
    resource: "Microsoft.Web/serverfarms.*"
    claim: none
    justification: "The dev plan is a single instance on purpose to keep its cost low."
    stacks: [dev]
"""


def test_the_shipped_suppressions_load(suppressions: list[Suppression]) -> None:
    assert suppressions
    for rule in suppressions:
        assert rule.justification.endswith(".")
        assert rule.stacks and set(rule.stacks) <= {"dev", "prod"}


JUSTIFICATION = '    justification: "The dev plan is a single instance on purpose to keep its cost low."\n'
BAD_SUPPRESSIONS = {
    # label: (text, new text, place named in the error)
    "justification-missing": (JUSTIFICATION, "", "suppressions[0].justification"),
    "justification-empty": (JUSTIFICATION, '    justification: ""\n', "suppressions[0].justification"),
    "justification-no-sentence": (JUSTIFICATION, "    justification: ok\n", "suppressions[0].justification"),
    "claim-unknown": ("claim: none", "claim: PRIV-NO-SUCH-CLAIM", "suppressions[0].claim"),
    "claim-missing": ("    claim: none\n", "", "suppressions[0].claim"),
    "check-custom": ("CKV_AZURE_225", "CKV_SMART_1", "suppressions[0].check"),
    "check-not-checkov": ("CKV_AZURE_225", "webapp_https_only", "suppressions[0].check"),
    "stacks-not-a-list": ("stacks: [dev]", "stacks: dev", "suppressions[0].stacks"),
    "stacks-empty": ("stacks: [dev]", "stacks: []", "suppressions[0].stacks"),
    "expires-not-a-date": ("stacks: [dev]", "stacks: [dev]\n    expires: soon", "suppressions[0].expires"),
    "key-misspelt": ("stacks: [dev]", "stacks: [dev]\n    justfication: typo", "suppressions[0].justfication"),
    "yaml-broken": ("    claim: none", "  claim: none", "line 4, column"),
    "not-a-list": (GOOD, "suppressions: {}\n", "suppressions"),
}


@pytest.mark.parametrize("label", sorted(BAD_SUPPRESSIONS))
def test_a_bad_suppressions_file_is_an_input_error(label: str, tmp_path: Path) -> None:
    old, new, place = BAD_SUPPRESSIONS[label]
    assert old in GOOD
    path = tmp_path / "suppressions.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_suppressions(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {place}"), message
    assert "\n" not in message


def test_a_good_suppressions_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.yaml"
    path.write_text(GOOD, encoding="utf-8")
    (rule,) = load_suppressions(path)
    assert (rule.check, rule.claim, rule.stacks, rule.expires.isoformat()) == (
        "CKV_AZURE_225",
        "none",
        ("dev",),
        "9999-12-31",
    )


# --- running checkov: errors are one line -----------------------------------------------------


def test_a_missing_checkov_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHECKOV", str(tmp_path / "nope" / "checkov"))
    with pytest.raises(ComplianceError, match=r"^checkov not found: run `make checkov-env`"):
        find_checkov()


def _fake_checkov(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "checkov"
    script.write_text(f"#!/bin/sh\n{textwrap.dedent(body)}", encoding="utf-8")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("echo 'this is not json'\n", r"^checkov: output is not JSON \(exit code 0\): "),
        (
            "echo 'Traceback (most recent call last):' >&2\necho 'ValueError: boom' >&2\nexit 2\n",
            r"^checkov crashed \(exit code 2\): ValueError: boom$",
        ),
        (
            'echo \'{"check_type": "arm", "results": {"parsing_errors": ["t.json"]}, "summary": {}}\'\n',
            r"^checkov could not parse t\.json$",
        ),
        (
            "echo '[ERROR]  Cannot load external check broken from x/broken.py' >&2\necho '{}'\n",
            r"^checkov: Cannot load external check broken",
        ),
        ("echo '[1, 2]'\n", r"^checkov: unexpected output"),
        ("echo '{}'\n", r"^checkov: unexpected output: no 'results'"),
    ],
)
def test_a_checkov_failure_is_one_line(body: str, expected: str, tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text('{"resources": []}', encoding="utf-8")
    with pytest.raises(ComplianceError) as caught:
        run_checkov(template, checkov=_fake_checkov(tmp_path, body))
    assert re.search(expected, str(caught.value)), str(caught.value)
    assert "\n" not in str(caught.value)


def test_checkov_runs_offline(tmp_path: Path) -> None:
    dump = tmp_path / "env.txt"
    fake = _fake_checkov(tmp_path, f'echo "$BC_SKIP_MAPPING $*" > {dump}\necho \'{{"passed": 0, "failed": 0}}\'\n')
    template = tmp_path / "template.json"
    template.write_text('{"resources": []}', encoding="utf-8")
    report = run_checkov(template, checkov=fake)
    assert report["results"]["passed_checks"] == [] and report["results"]["failed_checks"] == []
    env, _, args = dump.read_text(encoding="utf-8").strip().partition(" ")
    assert env == "TRUE"
    assert "--framework arm" in args and "-o json" in args and "--skip-download" in args
    assert f"--external-checks-dir {EXTERNAL_CHECKS}" in args


def test_audit_without_checkov_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHECKOV", str(tmp_path / "missing"))
    code = main(["audit", "--checkov", "--quiet", "--format", "json", "--out", str(tmp_path / "out")])
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: checkov not found: run `make checkov-env`")
    assert not (tmp_path / "out").exists()


# --- compliance-checks audit --checkov --------------------------------------------------------


@pytest.fixture(scope="module")
def audits(checkov: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int, dict[str, Any]]]:
    base = tmp_path_factory.mktemp("audit-checkov")
    out: dict[str, tuple[Path, int, dict[str, Any]]] = {}
    for label, extra in (("with", ["--checkov"]), ("without", ["--format", "json"])):
        directory = base / label
        done = run_cli("audit", *extra, "--quiet", "--out", str(directory), env={"CHECKOV": str(checkov)})
        assert "Traceback" not in done.stderr, done.stderr
        document = json.loads((directory / "results.json").read_text(encoding="utf-8"))
        out[label] = (directory, done.returncode, document)
    return out


def test_audit_checkov_adds_checkov_findings(audits: dict[str, tuple[Path, int, dict[str, Any]]]) -> None:
    _, _, document = audits["with"]
    findings = [f for f in document["findings"] if f["source"] == "checkov"]
    assert findings and all(re.match(r"^CKV2?_[A-Z]+_[0-9]+$", f["checkId"]) for f in findings)
    assert {f["checkId"] for f in findings if f["verdict"] == "PASS"} >= set(CUSTOM_IDS)
    # The project's own findings are still there, unchanged in number.
    _, _, baseline = audits["without"]
    assert len(document["findings"]) - len(findings) == len(baseline["findings"])


def test_suppressed_failures_are_waived_with_their_justification(
    audits: dict[str, tuple[Path, int, dict[str, Any]]], suppressions: list[Suppression]
) -> None:
    _, _, document = audits["with"]
    fails = [f for f in document["findings"] if f["source"] == "checkov" and f["verdict"] == "FAIL"]
    assert fails and all(f["waiver"] for f in fails)
    justifications = {f"{s.justification} (claim: {s.claim})" for s in suppressions if "dev" in s.stacks}
    assert {f["waiver"]["justification"] for f in fails} == justifications
    assert document["summary"]["waived"] == len(fails)


def test_suppressed_failures_leave_the_exit_code_alone(audits: dict[str, tuple[Path, int, dict[str, Any]]]) -> None:
    _, code_with, with_checkov = audits["with"]
    _, code_without, without = audits["without"]
    assert code_with == code_without == with_checkov["summary"]["exitCode"] == without["summary"]["exitCode"]
    assert [(c["id"], c["verdict"]) for c in with_checkov["claims"]] == [
        (c["id"], c["verdict"]) for c in without["claims"]
    ]


def test_the_checks_section_lists_the_checkov_checks(audits: dict[str, tuple[Path, int, dict[str, Any]]]) -> None:
    _, _, document = audits["with"]
    checks = {c["id"]: c for c in document["checks"]}
    auth = checks["CKV_AZURE_13"]
    assert auth["title"] == "Ensure App Service Authentication is set on Azure App Service"
    assert (auth["severity"], auth["claims"], auth["rationale"], auth["verdict"]) == (
        "medium",
        [],
        "checkov built-in check",
        "FAIL",
    )
    custom = checks["CKV_SMART_2"]
    assert custom["rationale"] == custom["title"] and "PRIV-NO-COOKIES" in custom["title"]
    assert custom["references"] == [custom["remediation"]] and custom["remediation"].startswith("https://")
    assert {f["checkId"] for f in document["findings"]} <= set(checks) | {"policy_text_consistency"}


def test_the_checkov_report_renders_and_verifies(audits: dict[str, tuple[Path, int, dict[str, Any]]]) -> None:
    from compliance_checks.report.validation import results_errors, validate_sarif

    directory, _, document = audits["with"]
    assert {p.name for p in directory.iterdir()} >= {"report.html", "report.md", "results.sarif", "junit.xml"}
    validate_sarif(json.loads((directory / "results.sarif").read_text(encoding="utf-8")))
    assert "CKV_AZURE_13" in (directory / "report.md").read_text(encoding="utf-8")
    assert run_cli("verify-report", str(directory)).returncode == 0
    assert results_errors(document) == []  # checkov's CKV IDs and source are part of the schema
    html = (directory / "report.html").read_text(encoding="utf-8")
    assert 'id="checkov"' in html and "CKV_AZURE_13" in html and "(waived)" in html
    junit = (directory / "junit.xml").read_text(encoding="utf-8")
    assert '<testsuite name="checkov"' in junit and "CKV_SMART_1" in junit


def test_the_docs_list_every_custom_check_and_suppression(suppressions: list[Suppression]) -> None:
    docs = (REPO_ROOT / "docs" / "checkov.md").read_text(encoding="utf-8")
    for check_id in CUSTOM_IDS:
        assert f"| `{check_id}` |" in docs, check_id
    for rule in suppressions:
        claim = rule.claim if rule.claim == "none" else f"`{rule.claim}`"
        row = f"| `{rule.check}` | `{rule.resource}` | {', '.join(rule.stacks)} | {claim} | "
        assert row + rule.justification.replace("|", r"\|") + " |" in docs, row


def test_extra_findings_join_the_audit_with_their_own_severity() -> None:
    from compliance_checks.catalog import load_catalog
    from compliance_checks.checks.base import CheckMeta
    from compliance_checks.engine import evaluate
    from compliance_checks.findings import Finding, Severity, Waiver
    from compliance_checks.inventory import Inventory
    from compliance_checks.report.results import build_results

    fail = Finding(
        "CKV_AZURE_1", Verdict.FAIL, "Microsoft.Web/sites.app", "Microsoft.Web/sites", "Ensure x", source="checkov"
    )
    unknown = Finding("CKV_AZURE_2", Verdict.PASS, "Microsoft.Web/sites.app", "Microsoft.Web/sites", "Ensure y")
    high = CheckMeta("CKV_AZURE_1", "Ensure x", Severity.HIGH, (), "checkov built-in check", "")

    def run(*findings: Finding, fail_on: Severity = Severity.LOW) -> Any:
        return evaluate(
            Inventory([]),
            catalog=load_catalog(),
            checks={},
            extra_findings=findings,
            extra_checks={"CKV_AZURE_1": high},
            fail_on=fail_on,
        )

    result = run(fail, unknown, fail_on=Severity.HIGH)
    assert [f.check_id for f in result.findings] == ["CKV_AZURE_1", "CKV_AZURE_2"]
    assert result.severity_of(fail) == Severity.HIGH and result.severity_of(unknown) == Severity.MEDIUM
    assert result.exit_code == 1
    assert run(fail, fail_on=Severity.CRITICAL).exit_code == 0
    assert run(fail.with_waiver(Waiver("CKV_AZURE_1", "*", "Not applicable here.", "9999-12-31"))).exit_code == 0
    document = build_results(result, source="synth", stack="dev", versions={})
    # Only described checks are listed; the bridge describes every check checkov reports.
    assert [(c["id"], c["severity"]) for c in document["checks"]] == [("CKV_AZURE_1", "high")]
    assert {f["checkId"]: f["severity"] for f in document["findings"]} == {
        "CKV_AZURE_1": "high",
        "CKV_AZURE_2": "medium",
    }
