"""The ARM export that lets checkov read a Pulumi stack."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.cli import main
from compliance_checks.errors import InputError
from compliance_checks.export_arm import SECRET_PARAMETER, export_template, parse_id
from compliance_checks.findings import Verdict
from compliance_checks.inventory import (
    MISSING,
    UNKNOWN,
    IncompleteInventory,
    Inventory,
    Resource,
    referenced_ids,
)
from compliance_checks.sources.arm_expressions import Environment, evaluate_string
from compliance_checks.sources.arm_template import NOT_EXPORTED, load_arm_template
from compliance_checks.sources.synth import inventory_from_synthesis, load_synth
from infra.azure_types import API_VERSIONS
from infra.synth import MOCK_SUBSCRIPTION_ID
from tests.conftest import synth_cached

EXTENSION_TYPES = ("Microsoft.Insights/diagnosticSettings", "Microsoft.Authorization/roleAssignments")


def stack_inventory(stack: str) -> Inventory:
    return inventory_from_synthesis(synth_cached(stack))


def resource_group(inventory: Inventory) -> str:
    (group,) = inventory.of_type("Microsoft.Resources/resourceGroups")
    return group.name


def deployed_id(item: Mapping[str, Any], env: Environment) -> str:
    """The ID ARM gives a template resource: under its ``scope`` if it has one, else under the resource group."""
    scope = evaluate_string(item["scope"], env) if "scope" in item else env.resource_group_id
    assert isinstance(scope, str), f"scope of {item['name']} does not resolve: {item.get('scope')!r}"
    namespace, *types = str(item["type"]).split("/")
    names = str(item["name"]).split("/")
    path = "/".join(f"{kind}/{name}" for kind, name in zip(types, names, strict=True))
    return f"{scope}/providers/{namespace}/{path}"


def extension_ids(template: Mapping[str, Any], env: Environment) -> set[str]:
    return {deployed_id(i, env) for i in template["resources"] if i["type"] in EXTENSION_TYPES}


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


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_extension_resources_are_scoped_to_exactly_their_target(stack: str) -> None:
    inventory = stack_inventory(stack)
    env = Environment(subscription_id=MOCK_SUBSCRIPTION_ID, resource_group=resource_group(inventory))
    template = export_template(inventory)
    expected = {r.id for r in inventory if r.type in EXTENSION_TYPES}
    assert extension_ids(template, env) == expected
    # Not vacuous: four diagnostic settings on resources, and the Key Vault role assignment on the vault.
    scoped = [i for i in template["resources"] if "scope" in i]
    assert sum(i["type"] == "Microsoft.Insights/diagnosticSettings" for i in scoped) == 4
    (vault_role,) = [i for i in scoped if i["type"] == "Microsoft.Authorization/roleAssignments"]
    assert evaluate_string(vault_role["scope"], env) == next(
        r.id for r in inventory if r.type == "Microsoft.KeyVault/vaults"
    )
    # Every resource lands where the stack puts it, not just the extension resources.
    assert {deployed_id(i, env) for i in template["resources"]} <= {r.id for r in inventory}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_dropped_scope_is_caught(stack: str) -> None:
    """Mutation: without its scope, each extension resource lands on the resource group, and the check above fails."""
    inventory = stack_inventory(stack)
    env = Environment(subscription_id=MOCK_SUBSCRIPTION_ID, resource_group=resource_group(inventory))
    template = export_template(inventory)
    expected = {r.id for r in inventory if r.type in EXTENSION_TYPES}
    scoped = [n for n, item in enumerate(template["resources"]) if "scope" in item]
    assert scoped
    for number in scoped:
        mutant = copy.deepcopy(template)
        del mutant["resources"][number]["scope"]
        widened = deployed_id(mutant["resources"][number], env)
        assert widened.startswith(env.resource_group_id + "/providers/")  # the whole resource group
        assert extension_ids(mutant, env) != expected


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_references_name_the_resources_of_the_deployment(tmp_path: Path, stack: str) -> None:
    """No placeholder IDs: every ID is an expression that resolves where the template is deployed."""
    inventory = stack_inventory(stack)
    template = export_template(inventory)
    assert MOCK_SUBSCRIPTION_ID not in json.dumps(template)
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    group = resource_group(inventory)
    loaded = load_arm_template(path, subscription_id=MOCK_SUBSCRIPTION_ID, resource_group=group)
    exported = {deployed_id(i, Environment(MOCK_SUBSCRIPTION_ID, group)).lower() for i in template["resources"]}
    compared = 0
    for resource in inventory:
        if resource.id_key not in exported:
            continue
        found = loaded.peek(resource.id)
        assert found is not None, resource.id
        assert {i.lower() for i in referenced_ids(found.body)} == {i.lower() for i in referenced_ids(resource.body)}
        compared += 1
    assert compared == len(template["resources"])
    # Deployed elsewhere, the same template names the resources there.
    elsewhere = load_arm_template(path)
    database = next(r for r in elsewhere if r.type == "Microsoft.DBforPostgreSQL/flexibleServers")
    subnet = elsewhere.get(str(database.get("properties.network.delegatedSubnetResourceId")))
    assert subnet is not None and subnet.type == "Microsoft.Network/virtualNetworks/subnets"


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


def _with_body(inventory: Inventory, kind: str, change: Any) -> Inventory:
    def changed(resource: Resource) -> Resource:
        if resource.type != kind:
            return resource
        body = copy.deepcopy(dict(resource.body))
        change(body)
        return Resource.create(
            id=resource.id,
            type=resource.type,
            name=resource.name,
            body=body,
            location=resource.location,
            source=resource.source,
        )

    return Inventory([changed(r) for r in inventory], sources=["synth"])


def _round_trip(tmp_path: Path, inventory: Inventory) -> Inventory:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(export_template(inventory)), encoding="utf-8")
    return load_arm_template(path, subscription_id=MOCK_SUBSCRIPTION_ID, resource_group=resource_group(inventory))


def test_unknown_values_are_left_out_and_read_back_as_unknown(tmp_path: Path) -> None:
    def unknowns(body: dict[str, Any]) -> None:
        body["properties"]["httpsOnly"] = UNKNOWN
        body["properties"]["siteConfig"]["minTlsVersion"] = UNKNOWN
        body["properties"]["siteConfig"]["ipSecurityRestrictions"] = [UNKNOWN]
        body["tags"] = UNKNOWN

    inventory = _with_body(stack_inventory("dev"), "Microsoft.Web/sites", unknowns)
    template = export_template(inventory)
    (site,) = [i for i in template["resources"] if i["type"] == "Microsoft.Web/sites"]
    assert "httpsOnly" not in site["properties"] and "tags" not in site  # left out, not guessed
    assert "<unknown>" not in json.dumps(template)
    loaded = _round_trip(tmp_path, inventory)
    (app,) = loaded.of_type("Microsoft.Web/sites")
    for path in (
        "properties.httpsOnly",
        "properties.siteConfig.minTlsVersion",
        "properties.siteConfig.ipSecurityRestrictions",
        "tags",
    ):
        assert app.get(path) is UNKNOWN, path
    assert app.get("properties.siteConfig.ftpsState") not in (UNKNOWN, MISSING)  # the rest stays known
    # Never a PASS: the check that reads httpsOnly cannot conclude.
    findings = load_checks()["webapp_https_only"].evaluate(loaded, Params())
    assert {f.verdict for f in findings} == {Verdict.ERROR}


def test_literal_brackets_stay_literal(tmp_path: Path) -> None:
    def tag(body: dict[str, Any]) -> None:
        body["tags"] = {**body["tags"], "note": "[not an expression]", "[key]": "x"}

    inventory = _with_body(stack_inventory("dev"), "Microsoft.Web/sites", tag)
    (app,) = _round_trip(tmp_path, inventory).of_type("Microsoft.Web/sites")
    assert app.tags()["note"] == "[not an expression]" and app.tags()["[key]"] == "x"


def test_resources_the_template_cannot_place_become_a_gap(tmp_path: Path) -> None:
    """A resource outside the resource group (here: at subscription scope) is left out and listed, never dropped."""
    base = stack_inventory("dev")
    outside = Resource.create(
        id=f"/subscriptions/{MOCK_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleAssignments/0000-wide",
        type="Microsoft.Authorization/roleAssignments",
        name="0000-wide",
        body={"properties": {"principalType": "Group", "roleDefinitionId": "x"}},
        source="synth",
    )
    inventory = Inventory([*base, outside], sources=["synth"])
    template = export_template(inventory)
    (left_out,) = template["metadata"][NOT_EXPORTED]
    assert left_out["id"] == outside.id and "resource group" in left_out["reason"]
    assert not any(i["name"] == "0000-wide" for i in template["resources"])
    loaded = _round_trip(tmp_path, inventory)
    with pytest.raises(IncompleteInventory, match="left out 1 resource"):
        loaded.of_type("Microsoft.Authorization/roleAssignments")
    assert loaded.of_type("Microsoft.Web/sites")  # other types are whole


def test_every_arm_inventory_says_it_has_no_entra_objects() -> None:
    export = Path(__file__).parent / "fixtures" / "sources" / "arm-az-group-export.json"
    inventory = load_arm_template(export)
    with pytest.raises(IncompleteInventory) as caught:
        inventory.of_type("Microsoft.Graph/conditionalAccessPolicies")
    assert str(caught.value) == (
        f"Microsoft.Graph/* is not in {export}: an ARM template carries no Microsoft Entra objects"
        " (Conditional Access, groups, applications)"
    )
    assert inventory.of_type("Microsoft.Network/networkSecurityGroups")  # ARM types are not covered
    assert inventory.all()


@pytest.mark.parametrize(
    ("metadata", "where", "problem"),
    [
        ({"unknownBeforeDeployment": "properties.x"}, "/resources/0/metadata/unknownBeforeDeployment", "array"),
        ({"unknownBeforeDeployment": [[0, "x"]]}, "/resources/0/metadata/unknownBeforeDeployment/0", "a path"),
        ({"unknownBeforeDeployment": [[]]}, "/resources/0/metadata/unknownBeforeDeployment/0", "a path"),
    ],
)
def test_unknown_markers_are_validated(tmp_path: Path, metadata: Any, where: str, problem: str) -> None:
    path = tmp_path / "t.json"
    item = {"type": "Microsoft.Web/sites", "name": "app", "metadata": metadata, "properties": {"httpsOnly": True}}
    path.write_text(json.dumps({"resources": [item]}), encoding="utf-8")
    with pytest.raises(InputError, match=problem) as caught:
        load_arm_template(path)
    assert caught.value.place == where


def test_left_out_markers_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"metadata": {NOT_EXPORTED: [{"id": "x"}]}, "resources": []}), encoding="utf-8")
    with pytest.raises(InputError, match="resource type") as caught:
        load_arm_template(path)
    assert caught.value.place == f"/metadata/{NOT_EXPORTED}/0/type"


def test_id_parsing() -> None:
    kv = "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv"
    role = parse_id(f"{kv}/providers/Microsoft.Authorization/roleAssignments/r")
    assert role is not None and role.type == "Microsoft.Authorization/roleAssignments"
    assert role.scope == parse_id(kv)
    assert parse_id("/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks") is None
    assert parse_id("graph:/groups/x") is None


def test_cli_writes_the_template(tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    assert main(["export-arm", "--stack", "prod", "--out", str(out)]) == 0
    assert any(r["type"] == "Microsoft.Network/connections" for r in json.loads(out.read_text())["resources"])
