"""Two property names equal but for case are ambiguous: the value is UNKNOWN, never whichever came last.

Azure Resource Manager reads property names without regard to case: Azure/bicep#785 (a Microsoft engineer:
"property checking is case sensitive, ARM is not"), Azure/bicep#11457 (merged 2023-08-03: property names "are also
case-insensitive in ARM"), and Bicep's error BCP353 ("The ARM deployments engine is not case sensitive and will
not be able to distinguish between them"). JSON still lets an object carry ``"access"`` and ``"Access"`` side by
side. Which of the two Azure would apply is written nowhere, so a rule that reads as Deny with one and Allow
with the other must not let a check PASS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from compliance_checks.cli import main
from compliance_checks.inventory import UNKNOWN, fold


def test_names_equal_but_for_case_fold_to_unknown_at_any_depth() -> None:
    assert fold({"access": "Allow", "Access": "Deny", "priority": 200}) == {"access": UNKNOWN, "priority": 200}
    nested = fold({"properties": {"rules": [{"Name": "a", "name": "b"}]}})
    assert nested == {"properties": {"rules": [{"name": UNKNOWN}]}}


@given(st.dictionaries(st.text(max_size=4), st.integers(), max_size=6))
def test_fold_keeps_every_value_of_names_distinct_without_case(value: dict[str, Any]) -> None:
    folded = fold(value)
    for key, item in value.items():
        twins = [k for k in value if k.lower() == key.lower()]
        assert folded[key.lower()] == (item if len(twins) == 1 else UNKNOWN)
    assert set(folded) == {k.lower() for k in value}


def test_an_nsg_rule_with_access_written_twice_is_never_a_pass(tmp_path: Path) -> None:
    template = tmp_path / "dev.json"
    assert main(["export-arm", "--out", str(template)]) == 0
    document: dict[str, Any] = json.loads(template.read_text(encoding="utf-8"))
    nsg = next(r for r in document["resources"] if r["name"].startswith("nsg-database"))
    portal = next(r for r in nsg["properties"]["securityRules"] if r["name"] == "AllowPostgresFromPortal")
    opened = {k: v for k, v in portal["properties"].items() if not k.startswith("sourceA")}
    # From anywhere to the database port: Allow or Deny, depending on which spelling Azure takes.
    opened.update(priority=200, sourceAddressPrefix="*", access="Allow", Access="Deny")
    nsg["properties"]["securityRules"].append({"name": "Ambiguous", "properties": opened})
    template.write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "out"
    main(["audit", "--source", "arm", "--input", str(template), "--out", str(out), "-q"])
    findings = json.loads((out / "results.json").read_text(encoding="utf-8"))["findings"]
    on_nsg = {f["checkId"]: f["verdict"] for f in findings if f["resourceId"] == nsg_id(findings, nsg["name"])}
    assert on_nsg["nsg_database_port_two_sources"] == "ERROR"
    assert on_nsg["nsg_deny_all_inbound"] == "ERROR"


def nsg_id(findings: list[dict[str, Any]], name: str) -> str:
    return str(next(f["resourceId"] for f in findings if f["resourceId"].endswith(f"/networkSecurityGroups/{name}")))
