"""The ARM export that lets checkov read a Pulumi stack."""

from __future__ import annotations

import json

from compliance_checks.cli import main
from compliance_checks.export_arm import SECRET_PARAMETER, export_template
from compliance_checks.sources.synth import load_synth
from infra.azure_types import API_VERSIONS


def test_dev_stack_exports_as_an_arm_template() -> None:
    inventory, _ = load_synth("dev")
    template = export_template(inventory)
    assert template["$schema"].endswith("deploymentTemplate.json#")
    by_type: dict[str, list[dict[str, object]]] = {}
    for item in template["resources"]:
        by_type.setdefault(str(item["type"]), []).append(item)
    (site,) = by_type["Microsoft.Web/sites"]
    assert site["name"] == "app-smartportal-dev-gwc" and site["apiVersion"] == API_VERSIONS["azure-native:web:WebApp"]
    assert site["properties"]["httpsOnly"] is True  # type: ignore[index]
    names = {str(s["name"]) for s in by_type["Microsoft.Network/virtualNetworks/subnets"]}
    assert names == {
        f"vnet-smartportal-dev-gwc/{n}" for n in ("GatewaySubnet", "snet-portal", "snet-database", "snet-endpoints")
    }
    nsg = next(n for n in by_type["Microsoft.Network/networkSecurityGroups"] if "database" in str(n["name"]))
    rule = nsg["properties"]["securityRules"][0]  # type: ignore[index]
    assert set(rule) == {"name", "properties"} and rule["properties"]["access"] == "Allow"
    assert not [t for t in by_type if t.startswith("Microsoft.Graph")]  # Entra objects are not ARM


def test_secrets_are_parameters_not_values() -> None:
    inventory, synthesis = load_synth("dev", overrides={"dbPasswordAuth": True})
    text = json.dumps(export_template(inventory))
    password = (
        next(r for r in synthesis.resources if r.token == "azure-native:dbforpostgresql:Server")
        .inputs["administratorLoginPassword"]
        .reveal()
    )
    assert password not in text
    assert f"[parameters('{SECRET_PARAMETER}')]" in text
    assert json.loads(text)["parameters"][SECRET_PARAMETER]["type"] == "securestring"


def test_cli_writes_the_template(tmp_path: object) -> None:
    from pathlib import Path

    out = Path(str(tmp_path)) / "t.json"
    assert main(["export-arm", "--stack", "prod", "--out", str(out)]) == 0
    assert any(r["type"] == "Microsoft.Network/connections" for r in json.loads(out.read_text())["resources"])
