"""Round trip: a stack exported as an ARM template and audited as one gives the stack's own verdicts.

For both stacks, through the CLI as a user runs it:

    compliance-checks export-arm --stack S --out template.json
    compliance-checks audit --stack S
    compliance-checks audit --source arm --input template.json

Per check and resource, the verdicts agree. The exceptions are derived, not
listed: the checks that read Microsoft Entra (Graph) objects -- found by running
every check on the stack with the ARM source's Entra gap -- must be ERROR on the
ARM side, naming the gap's reason, since an ARM template carries no Entra
objects. Findings on the resource group itself are compared apart: a template
is deployed *into* a resource group and does not describe it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.export_arm import parse_id
from compliance_checks.inventory import IncompleteInventory, Inventory
from compliance_checks.report.validation import results_errors
from compliance_checks.sources.arm_template import ENTRA_REASON, entra_gap
from compliance_checks.sources.synth import inventory_from_synthesis
from tests.conftest import synth_cached
from tests.support.cli import run_cli

STACKS = ("dev", "prod")
GROUP = "(the resource group)"


def graph_reading_checks(stack: str) -> set[str]:
    """The checks that ask the inventory for a Microsoft Entra type on this stack (with the ARM source's gap)."""
    inventory = inventory_from_synthesis(synth_cached(stack))
    gap = entra_gap("the template")
    gapped = Inventory(inventory.resources, sources=inventory.sources, gaps=[gap])
    found = set()
    for check_id, check in load_checks().items():
        try:
            check.evaluate(gapped, Params())
        except IncompleteInventory as exc:
            assert exc.gap is gap
            found.add(check_id)
    return found


def resource_key(resource_id: str) -> str:
    """A finding's resource, independent of the subscription and resource group it was audited in."""
    arm = parse_id(resource_id)
    if arm is None:
        return resource_id  # "(inventory)", a Graph object
    if not arm.segments:
        return GROUP if arm.group is not None else "(the subscription)"
    return resource_id[resource_id.lower().index("/providers/") :]


def verdicts(document: Mapping[str, Any]) -> dict[str, Counter[tuple[str, str]]]:
    """Per check: how many findings with each (resource, verdict)."""
    found: dict[str, Counter[tuple[str, str]]] = {}
    for finding in document["findings"]:
        found.setdefault(finding["checkId"], Counter())[(resource_key(finding["resourceId"]), finding["verdict"])] += 1
    return found


@pytest.fixture(scope="module", params=STACKS)
def audits(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    stack = request.param
    out = tmp_path_factory.mktemp(f"round-trip-{stack}")
    template = out / "template.json"
    exported = run_cli("export-arm", "--stack", stack, "--out", str(template))
    assert exported.returncode == 0, exported.stderr
    documents: dict[str, Any] = {"stack": stack, "template": json.loads(template.read_text(encoding="utf-8"))}
    for side, args in (
        ("synth", ["--stack", stack]),
        ("arm", ["--source", "arm", "--input", str(template)]),
    ):
        report = out / side
        run = run_cli("audit", *args, "--format", "json", "--out", str(report), "-q")
        assert run.returncode in (0, 1, 2) and "Traceback" not in run.stderr, run.stderr
        documents[side] = json.loads((report / "results.json").read_text(encoding="utf-8"))
        documents[f"{side}-exit"] = run.returncode
    return documents


def test_the_export_audits_like_the_stack(audits: dict[str, Any]) -> None:
    synth, arm = verdicts(audits["synth"]), verdicts(audits["arm"])
    graph = graph_reading_checks(audits["stack"])
    assert graph, "no check reads Microsoft Entra objects: the gap would be untested"
    assert set(synth) == set(arm)
    differences = {}
    for check_id in sorted(set(synth) - graph):
        mine = Counter({k: n for k, n in synth[check_id].items() if k[0] != GROUP})
        if mine != arm[check_id]:
            differences[check_id] = {"synth": sorted(mine.items()), "arm": sorted(arm[check_id].items())}
    assert differences == {}


def test_checks_that_read_entra_objects_say_why_they_cannot_conclude(audits: dict[str, Any]) -> None:
    graph = graph_reading_checks(audits["stack"])
    for finding in audits["arm"]["findings"]:
        if finding["checkId"] in graph:
            assert finding["verdict"] == "ERROR", finding
            assert ENTRA_REASON in finding["message"] and "failed" not in finding["message"], finding
    # Any check with a finding on an Entra object in the stack is among them (the derivation misses none).
    on_entra = {
        f["checkId"] for f in audits["synth"]["findings"] if str(f["resourceType"]).startswith("Microsoft.Graph")
    }
    assert on_entra <= graph
    assert audits["arm-exit"] == 2  # an ERROR is "could not verify", never a pass
    assert results_errors(audits["arm"]) == []


def test_only_the_resource_group_itself_is_not_in_the_template(audits: dict[str, Any]) -> None:
    """The findings set apart above are about the resource group (a template is deployed into it), nothing else."""
    on_group = [f for f in audits["synth"]["findings"] if resource_key(f["resourceId"]) == GROUP]
    assert {f["resourceType"] for f in on_group} <= {"Microsoft.Resources/resourceGroups"}
    assert not [f for f in audits["arm"]["findings"] if resource_key(f["resourceId"]) == GROUP]
    assert "notExported" not in audits["template"]["metadata"]  # every other resource of the stack is in it
