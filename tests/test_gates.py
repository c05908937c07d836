"""The gate matrix: deliberately broken variants of the dev stack against every gate.

Each variant changes the resource inputs the real program registered, the way
a careless change to ``infra/`` would. Three gates judge the same broken stack:

* the CrossGuard policy pack, run as the Pulumi CLI runs it: one ``policies/``
  process per module (tests/support/analyzer.py), spoken to over gRPC with an
  ``Analyze`` request for every custom resource and one ``AnalyzeStack`` request,
  in two views: a first preview (inputs, values computed at apply unknown,
  property dependencies as the engine sends them) and the deployed stack (every
  value known, ``AnalyzeStack`` carrying the outputs, as after apply);
  mandatory diagnostics only;
* checkov on the stack exported as an ARM template (built-in and custom checks,
  unsuppressed failures only);
* the offline audit (any unwaived FAIL).

A variant that no gate catches fails the test. ``docs/gates.md`` is generated
from this matrix: run ``UPDATE_GATES_DOC=1 pytest tests/test_gates.py`` after
changing a gate, and the test fails while the committed document is stale.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.proto import analyzer_pb2

from compliance_checks.catalog import load_catalog
from compliance_checks.checks import load_checks
from compliance_checks.engine import evaluate
from compliance_checks.export_arm import export_template
from compliance_checks.findings import Verdict
from compliance_checks.inventory import Inventory
from compliance_checks.sources.synth import inventory_from_synthesis
from infra.synth import REPO_ROOT, RecordedResource, Synthesis
from policies.pack import UNKNOWN_VALUES_POLICY

from .conftest import missing_prerequisite, synth_cached
from .support import analyzer

DOC = REPO_ROOT / "docs" / "gates.md"
Change = Callable[[RecordedResource, dict[str, Any]], None]


def edit(token: str, name: str | None, mutate: Callable[[dict[str, Any]], None]) -> Change:
    def change(recorded: RecordedResource, inputs: dict[str, Any]) -> None:
        if recorded.token == token and (name is None or recorded.name == name):
            mutate(inputs)

    return change


def setting(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(inputs: dict[str, Any]) -> None:
        keys = path.split(".")
        target: Any = inputs
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return mutate


def add_db_rule(source: str) -> Callable[[dict[str, Any]], None]:
    def mutate(inputs: dict[str, Any]) -> None:
        inputs["securityRules"].insert(
            0,
            {
                "name": "AllowPostgresExtra",
                "priority": 105,
                "direction": "Inbound",
                "access": "Allow",
                "protocol": "Tcp",
                "sourceAddressPrefix": source,
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRange": "5432",
            },
        )

    return mutate


def add_app_setting(name: str, value: str) -> Callable[[dict[str, Any]], None]:
    def mutate(inputs: dict[str, Any]) -> None:
        inputs["siteConfig"]["appSettings"].append({"name": name, "value": value})

    return mutate


GATES = ("pack, first preview", "pack, deployed", "checkov", "offline audit")
WEBAPP = "azure-native:web:WebApp"
VARIANTS: dict[str, tuple[str, Change]] = {
    "db-port-open-to-internet": (
        "database port 5432 allowed from 0.0.0.0/0",
        edit("azure-native:network:NetworkSecurityGroup", "network-nsg-database", add_db_rule("0.0.0.0/0")),
    ),
    "second-allowed-ip": (
        "a second IP address allowed to the database",
        edit("azure-native:network:NetworkSecurityGroup", "network-nsg-database", add_db_rule("198.51.100.23/32")),
    ),
    "https-only-off": ("httpsOnly=false", edit(WEBAPP, None, setting("httpsOnly", False))),
    "tls-1-0": ("minimum TLS 1.0 on the portal", edit(WEBAPP, None, setting("siteConfig.minTlsVersion", "1.0"))),
    "affinity-cookie-on": ("ARR affinity cookie on", edit(WEBAPP, None, setting("clientAffinityEnabled", True))),
    "app-service-auth-on": (
        "App Service Authentication on",
        edit("azure-native:web:WebAppAuthSettingsV2", None, setting("platform.enabled", True)),
    ),
    "db-public-access": (
        "public network access on the database",
        edit("azure-native:dbforpostgresql:Server", None, setting("network.publicNetworkAccess", "Enabled")),
    ),
    "db-tls-not-required": (
        "require_secure_transport=off",
        edit(
            "azure-native:dbforpostgresql:Configuration", "database-require-secure-transport", setting("value", "off")
        ),
    ),
    "ca-report-only": (
        "MFA Conditional Access policy in report-only mode",
        edit(
            "azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy",
            "developer-access-ca-mfa",
            setting("state", "enabledForReportingButNotEnforced"),
        ),
    ),
    "non-eu-region": ("the portal deployed to eastus", edit(WEBAPP, None, setting("location", "eastus"))),
    "app-insights-browser": (
        "Application Insights connection string (browser instrumentation)",
        edit(WEBAPP, None, add_app_setting("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=00000000")),
    ),
    "log-retention-365": (
        "Log Analytics retention 365 days",
        edit("azure-native:operationalinsights:Workspace", None, setting("retentionInDays", 365)),
    ),
}


def broken(name: str) -> Synthesis:
    """The dev stack with one variant's change applied to the recorded inputs."""
    base = synth_cached("dev")
    change = VARIANTS[name][1]
    resources = []
    for recorded in base.resources:
        inputs = copy.deepcopy(dict(recorded.inputs))
        change(recorded, inputs)
        resources.append(dataclasses.replace(recorded, inputs=inputs))
    return dataclasses.replace(base, resources=tuple(resources))


def deployed(name: str | None) -> Synthesis:
    """The dev stack as deployed with one variant's change: applied to the inputs and to the outputs.

    The stack policies read what ``AnalyzeStack`` carries after apply, the
    outputs; a break in the inputs alone would never reach them.
    """
    base = synth_cached("dev")
    if name is None:
        return base
    change = VARIANTS[name][1]
    resources = []
    for recorded in base.resources:
        inputs, outputs = copy.deepcopy(dict(recorded.inputs)), copy.deepcopy(dict(recorded.outputs))
        change(recorded, inputs)
        change(recorded, outputs)
        resources.append(dataclasses.replace(recorded, inputs=inputs, outputs=outputs))
    return dataclasses.replace(base, resources=tuple(resources))


@dataclasses.dataclass(frozen=True)
class PackVerdict:
    mandatory: list[str]  # policies with a mandatory diagnostic: what the CLI would refuse the update for
    unknown: list[str]  # unknown-values diagnostics: anything the pack could not judge in a view where all is known


def pack_gate(pack: analyzer.PolicyPackProcess, synthesis: Synthesis, *, first_preview: bool) -> PackVerdict:
    """Every custom resource through ``Analyze`` and the stack through ``AnalyzeStack``, in one view."""
    diagnostics = []
    for resource in analyzer.custom_resources(synthesis):
        request = analyzer.analyze_request(synthesis, resource, first_preview=first_preview)
        diagnostics += pack.analyze(request).diagnostics
    diagnostics += pack.analyze_stack(
        analyzer.analyze_stack_request(synthesis, first_preview=first_preview)
    ).diagnostics
    mandatory = {d.policyName for d in diagnostics if d.enforcementLevel == analyzer_pb2.MANDATORY}
    unknown = [d.message for d in diagnostics if d.policyName == UNKNOWN_VALUES_POLICY]
    return PackVerdict(sorted(mandatory), unknown)


def audit_gate(inventory: Inventory) -> list[str]:
    result = evaluate(inventory, catalog=load_catalog(), checks=load_checks())
    return sorted({f.check_id for f in result.findings if f.verdict == Verdict.FAIL and not f.waived})


def checkov_gate(inventory: Inventory, workdir: Path) -> list[str]:
    from compliance_checks.checkov_bridge import checkov_findings, load_suppressions, run_checkov

    template = workdir / "template.json"
    template.write_text(json.dumps(export_template(inventory), indent=2), encoding="utf-8")
    suppressions = load_suppressions(REPO_ROOT / "policies" / "checkov" / "suppressions.yaml")
    findings = checkov_findings(run_checkov(template), suppressions, "dev")
    return sorted({f.check_id for f in findings if f.verdict == Verdict.FAIL and not f.waived})


@functools.cache
def checkov_available() -> bool:
    try:
        from compliance_checks.checkov_bridge import find_checkov

        find_checkov()
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[analyzer.PolicyPackProcess]:
    """One pack process for the whole matrix: start-up is the slow part, each request is milliseconds."""
    running = analyzer.start_pack(workdir=tmp_path_factory.mktemp("gates-pack"), dry_run=True)
    try:
        yield running
    finally:
        code = running.close()
        assert code == 0, f"the pack did not shut down cleanly (exit {code}): {running.stderr()[-2000:]}"


@pytest.fixture(scope="module")
def pack_unknowns() -> dict[str, list[str]]:
    return {}


@pytest.fixture(scope="module")
def matrix(
    tmp_path_factory: pytest.TempPathFactory, pack: analyzer.PolicyPackProcess, pack_unknowns: dict[str, list[str]]
) -> dict[str, dict[str, list[str]]]:
    if not checkov_available():
        missing_prerequisite("checkov not installed", "make checkov-env")
    rows: dict[str, dict[str, list[str]]] = {}
    for name in [None, *VARIANTS]:
        synthesis = synth_cached("dev") if name is None else broken(name)
        inventory = inventory_from_synthesis(synthesis)
        verdict = pack_gate(pack, deployed(name), first_preview=False)
        pack_unknowns[name or "baseline"] = verdict.unknown
        rows[name or "baseline"] = {
            "pack, first preview": pack_gate(pack, synthesis, first_preview=True).mandatory,
            "pack, deployed": verdict.mandatory,
            "checkov": checkov_gate(inventory, tmp_path_factory.mktemp(name or "baseline")),
            "offline audit": audit_gate(inventory),
        }
    return rows


def test_the_unbroken_stack_passes_every_gate(matrix: dict[str, dict[str, list[str]]]) -> None:
    assert matrix["baseline"] == {gate: [] for gate in GATES}


def test_the_pack_judged_every_row_for_real(
    matrix: dict[str, dict[str, list[str]]], pack_unknowns: dict[str, list[str]]
) -> None:
    """In the deployed-stack view every value is known: a pack reporting something unknown passed it unjudged."""
    assert set(pack_unknowns) == set(matrix)
    assert {row: messages for row, messages in pack_unknowns.items() if messages} == {}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_is_caught(matrix: dict[str, dict[str, list[str]]], variant: str) -> None:
    caught = {gate: hits for gate, hits in matrix[variant].items() if hits}
    assert caught, f"no gate catches {variant}"
    # The policy pack and the offline audit share their predicates: they agree, at a first preview too.
    assert bool(matrix[variant]["pack, deployed"]) == bool(matrix[variant]["offline audit"]), matrix[variant]
    assert matrix[variant]["pack, first preview"] == matrix[variant]["pack, deployed"], matrix[variant]


def render_doc(matrix: dict[str, dict[str, list[str]]]) -> str:
    gates = GATES
    lines = [
        "# The gate matrix",
        "",
        "Generated by `tests/test_gates.py` (`UPDATE_GATES_DOC=1 pytest tests/test_gates.py`); do not edit by hand.",
        "",
        "Each row is the dev stack with one deliberate break; each cell names what caught it",
        "(mandatory CrossGuard policies, unsuppressed checkov checks, failing audit checks), or ✗ if that gate missed it.",
        "The test fails when a variant is caught by no gate.",
        "",
        "The policy pack columns come from the pack run as the Pulumi CLI runs it (a separate process spoken to",
        "over gRPC, `tests/support/analyzer.py`): an `Analyze` request for every custom resource and one",
        "`AnalyzeStack` request. *First preview*: inputs, with the values computed at apply unknown and the",
        "property dependencies the engine sends (the stack policies link resources through them, and take only",
        "the FAILs of that inferred view; what they could not verify is reported as unknown until apply).",
        "*Deployed*: every value known, `AnalyzeStack` carrying the resources' outputs, as after apply.",
        "",
        "| variant | what is broken | " + " | ".join(gates) + " |",
        "|---|---|" + "---|" * len(gates),
    ]
    for name, (description, _) in VARIANTS.items():
        cells = [", ".join(f"`{hit}`" for hit in matrix[name][gate]) or "✗" for gate in gates]
        lines.append(f"| {name} | {description} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def test_gates_doc_is_generated_from_this_matrix(matrix: dict[str, dict[str, list[str]]]) -> None:
    expected = render_doc(matrix)
    if os.environ.get("UPDATE_GATES_DOC") == "1":
        DOC.write_text(expected, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/gates.md is stale: UPDATE_GATES_DOC=1 pytest tests/test_gates.py"
    )
