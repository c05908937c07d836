"""Adversarial ARM templates: what ARM would deploy must never earn a PASS it does not deserve.

Rules of the template language used here, and where they come from:

* A string is an expression when it starts with ``[`` and ends with ``]``; ``[[`` escapes a literal
  ``[`` only then ("[[test value]" -> "[test value]", "[test] value" stays as it is): Microsoft Learn,
  "Syntax and expressions in ARM templates", Escape characters
  (https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions#escape-characters).
  ARM's own test is exactly first == '[' and last == ']' (no trimming of whitespace), and ``[[`` is
  checked only after it: ``ExpressionParser.IsLanguageExpression`` / ``ParseLanguageExpression`` of the
  deployment engine's expression library, as vendored in Azure/bicep (src/Arm.Expression/Parsers/ExpressionParser.cs).
  The ARM Tools extension for VS Code agrees (" []" and "[] " are no expressions:
  microsoft/vscode-azurearmtools src/language/expressions/isTleExpression.ts and its TLE tests).
* Template keywords of a resource (``type``, ``name``, ``condition``, ``copy``, ``resources``,
  ``existing``) are matched case-insensitively: ARM reads templates with Newtonsoft.Json, whose typed
  deserialisation ignores case, and Microsoft's own ARM -> Bicep decompiler reads them with
  ``StringComparison.OrdinalIgnoreCase`` (Azure/bicep src/Bicep.Decompiler/ArmHelpers/TemplateHelpers.cs,
  ``GetProperty``). The same decompiler gives a nested child the ``condition`` and ``copy`` of its parent
  (``FlattenAndNormalizeResource``): a child of a resource that may not exist may not exist either.
* Published templates: Azure/azure-quickstart-templates is not in the reference index, and the REST API
  specs' examples are request bodies, not templates; the templates below are written from the documented
  syntax (resource declaration, copy, condition, child resources, nested deployments on Microsoft Learn).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.errors import InputError
from compliance_checks.findings import Verdict, worst
from compliance_checks.inventory import SECRET, UNKNOWN, IncompleteInventory, Inventory, SecretValue
from compliance_checks.sources import arm_expressions
from compliance_checks.sources.arm_expressions import Environment, evaluate_string, evaluate_value
from compliance_checks.sources.arm_template import load_arm_template

CHECKS = load_checks()
ROOT = Path(__file__).resolve().parents[1]
NSG = "Microsoft.Network/networkSecurityGroups"
SERVER = "Microsoft.DBforPostgreSQL/flexibleServers"
LOCATION = "germanywestcentral"

DENY_ALL = {
    "access": "Deny",
    "direction": "Inbound",
    "priority": 4096,
    "protocol": "*",
    "sourceAddressPrefix": "*",
    "sourcePortRange": "*",
    "destinationAddressPrefix": "*",
    "destinationPortRange": "*",
}
ALLOW_DB_FROM_ANYWHERE = {**DENY_ALL, "access": "Allow", "priority": 100, "destinationPortRange": "5432"}
OPEN_FIREWALL = {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}


def template(*resources: Any, **sections: Any) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        **sections,
        "resources": list(resources),
    }


def nsg(*rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": NSG,
        "apiVersion": "2023-09-01",
        "name": "nsg",
        "location": LOCATION,
        "properties": {"securityRules": list(rules)},
        **extra,
    }


def rule_resource(name: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": f"{NSG}/securityRules",
        "apiVersion": "2023-09-01",
        "name": name,
        "properties": properties,
        **extra,
    }


def server(**extra: Any) -> dict[str, Any]:
    return {"type": SERVER, "apiVersion": "2022-12-01", "name": "psql", "location": LOCATION, "properties": {}, **extra}


def firewall_rule(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"{SERVER}/firewallRules",
        "apiVersion": "2022-12-01",
        "name": name,
        "properties": OPEN_FIREWALL,
        **extra,
    }


def load(tmp_path: Path, document: Any, name: str = "template.json") -> Inventory:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return load_arm_template(path)


def verdict(check_id: str, inventory: Inventory) -> Verdict:
    try:
        findings = CHECKS[check_id].evaluate(inventory, Params())
    except IncompleteInventory:  # what the engine makes of it (engine._run_checks): the check's ERROR
        return Verdict.ERROR
    relevant = [f.verdict for f in findings if f.verdict != Verdict.NOT_APPLICABLE]
    return worst(relevant) if relevant else Verdict.NOT_APPLICABLE


# --- the templates these tests start from are judged as expected ----------------------------------------


def test_baselines(tmp_path: Path) -> None:
    assert verdict("nsg_deny_all_inbound", load(tmp_path, template(nsg({"name": "deny", **DENY_ALL})))) == Verdict.PASS
    assert verdict("nsg_deny_all_inbound", load(tmp_path, template(nsg()))) == Verdict.FAIL
    assert verdict("postgres_no_firewall_rules", load(tmp_path, template(server()))) == Verdict.PASS
    opened = template(server(), firewall_rule("psql/all"))
    assert verdict("postgres_no_firewall_rules", load(tmp_path, opened)) == Verdict.FAIL


# --- template keywords in any case (ARM reads them case-insensitively) -----------------------------------


def test_child_resources_under_a_capitalised_key_are_not_dropped(tmp_path: Path) -> None:
    child = {"type": "firewallRules", "apiVersion": "2022-12-01", "name": "all", "properties": OPEN_FIREWALL}
    inventory = load(tmp_path, template(server(Resources=[child])))
    assert inventory.get(
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/exported/providers/"
        f"{SERVER}/psql/firewallRules/all"
    )
    assert verdict("postgres_no_firewall_rules", inventory) == Verdict.FAIL


@pytest.mark.parametrize(
    "extra",
    [
        {"Condition": False},
        {"CONDITION": "[equals(1, 2)]"},
        {"Copy": {"name": "rules", "count": 0}},
    ],
)
def test_capitalised_condition_and_copy_are_obeyed(tmp_path: Path, extra: dict[str, Any]) -> None:
    """A deny rule ARM never deploys (condition false, zero copies) must not make the NSG pass."""
    inventory = load(tmp_path, template(nsg(), rule_resource("nsg/deny", DENY_ALL, **extra)))
    (group,) = inventory.of_type(NSG)
    assert group.get("properties.securityRules") == []
    assert verdict("nsg_deny_all_inbound", inventory) == Verdict.FAIL


def test_capitalised_type_name_and_existing(tmp_path: Path) -> None:
    declared = {"Type": NSG, "ApiVersion": "2023-09-01", "Name": "nsg", "location": LOCATION, "properties": {}}
    referenced = {"type": NSG, "apiVersion": "2023-09-01", "name": "other", "Existing": True}
    inventory = load(tmp_path, template(declared, referenced))
    assert [r.name for r in inventory.of_type(NSG)] == ["nsg"]


def test_a_type_that_is_an_expression_is_refused(tmp_path: Path) -> None:
    """ "The type and apiVersion of a resource" must be compile-time literals (Microsoft Learn, "Syntax and
    expressions in ARM templates", Compile-time constraints): ARM refuses the template, and so does the source."""
    dynamic = {**nsg(), "type": "[format('{0}/{1}', 'Microsoft.Network', 'networkSecurityGroups')]"}
    with pytest.raises(InputError) as caught:
        load(tmp_path, template(dynamic))
    assert caught.value.place == "/resources/0/type"


def test_keywords_repeated_in_another_case_are_refused(tmp_path: Path) -> None:
    twice = rule_resource("nsg/deny", DENY_ALL, condition=True, Condition=False)
    with pytest.raises(InputError) as caught:
        load(tmp_path, template(nsg(), twice))
    assert caught.value.place == "/resources/1" and "case" in caught.value.problem


def test_a_securestring_declared_with_a_capitalised_type_stays_secret(tmp_path: Path) -> None:
    site = {
        "type": "Microsoft.Web/sites",
        "apiVersion": "2022-09-01",
        "name": "app",
        "location": LOCATION,
        "tags": {"token": "[parameters('token')]"},
        "properties": {},
    }
    secured = {"token": {"Type": "SecureString", "DefaultValue": "hunter2"}}
    inventory = load(tmp_path, template(site, parameters=secured))
    (app,) = inventory.of_type("Microsoft.Web/sites")
    assert app.tags()["token"] is SECRET
    assert "hunter2" not in repr(app.body)


# --- what may not exist is not counted as deployed ---------------------------------------------------------


def test_a_rule_under_an_undecidable_condition_makes_the_rules_unknown(tmp_path: Path) -> None:
    maybe = rule_resource("nsg/deny", DENY_ALL, condition="[parameters('deny')]")
    inventory = load(tmp_path, template(nsg(), maybe, parameters={"deny": {"type": "bool"}}))
    (group,) = inventory.of_type(NSG)
    assert group.get("properties.securityRules") is UNKNOWN
    assert verdict("nsg_deny_all_inbound", inventory) == Verdict.ERROR


def test_children_inherit_the_parents_undecidable_condition(tmp_path: Path) -> None:
    child = {"type": "securityRules", "apiVersion": "2023-09-01", "name": "deny", "properties": DENY_ALL}
    parent = nsg(condition="[parameters('deploy')]", resources=[child])
    parent["properties"] = {}
    inventory = load(tmp_path, template(parent, parameters={"deploy": {"type": "bool"}}))
    (group,) = inventory.of_type(NSG)
    assert group.get("condition") is UNKNOWN
    assert group.get("properties.securityRules") is UNKNOWN
    assert verdict("nsg_deny_all_inbound", inventory) == Verdict.ERROR


def test_subnets_of_a_network_that_may_not_exist_may_not_exist(tmp_path: Path) -> None:
    vnet = {
        "type": "Microsoft.Network/virtualNetworks",
        "apiVersion": "2023-09-01",
        "name": "vnet",
        "location": LOCATION,
        "condition": "[parameters('deploy')]",
        "properties": {"subnets": [{"name": "a", "properties": {"addressPrefix": "10.0.0.0/24"}}]},
    }
    inventory = load(tmp_path, template(vnet, parameters={"deploy": {"type": "bool"}}))
    (subnet,) = inventory.of_type("Microsoft.Network/virtualNetworks/subnets")
    assert subnet.get("condition") is UNKNOWN


def test_subnets_of_a_network_of_unknown_name_are_a_gap(tmp_path: Path) -> None:
    vnet = {
        "type": "Microsoft.Network/virtualNetworks",
        "apiVersion": "2023-09-01",
        "name": "[parameters('vnet')]",
        "location": LOCATION,
        "properties": {"subnets": [{"name": "open", "properties": {"addressPrefix": "10.0.0.0/24"}}]},
    }
    inventory = load(tmp_path, template(vnet, parameters={"vnet": {"type": "string"}}))
    with pytest.raises(IncompleteInventory):
        inventory.of_type("Microsoft.Network/virtualNetworks/subnets")


def test_children_of_an_existing_resource_are_a_gap(tmp_path: Path) -> None:
    child = {"type": "firewallRules", "apiVersion": "2022-12-01", "name": "all", "properties": OPEN_FIREWALL}
    document = template(server(), {**server(name="other", resources=[child]), "existing": True})
    inventory = load(tmp_path, document)
    with pytest.raises(IncompleteInventory):
        inventory.of_type(f"{SERVER}/firewallRules")
    assert verdict("postgres_no_firewall_rules", inventory) == Verdict.ERROR


def test_a_rule_of_unknown_name_does_not_vanish(tmp_path: Path) -> None:
    """An allow rule whose name is a parameter without a value: which NSG it joins cannot be known."""
    hidden = rule_resource("[concat('nsg/', parameters('rule'))]", ALLOW_DB_FROM_ANYWHERE)
    inventory = load(
        tmp_path, template(nsg({"name": "deny", **DENY_ALL}), hidden, parameters={"rule": {"type": "string"}})
    )
    with pytest.raises(IncompleteInventory):
        inventory.of_type(NSG)
    assert verdict("nsg_deny_all_inbound", inventory) == Verdict.ERROR


def test_firewall_rules_in_a_copy_loop_of_unknown_count(tmp_path: Path) -> None:
    """End to end: firewall rules created by a copy loop whose count is a parameter without a value."""
    looped = firewall_rule("[concat('psql/rule', copyIndex())]", copy={"name": "rules", "count": "[parameters('n')]"})
    document = template(server(), looped, parameters={"n": {"type": "int"}})
    assert verdict("postgres_no_firewall_rules", load(tmp_path, document)) == Verdict.ERROR


def test_a_firewall_rule_child_of_unknown_name(tmp_path: Path) -> None:
    child = {
        "type": "firewallRules",
        "apiVersion": "2022-12-01",
        "name": "[parameters('r')]",
        "properties": OPEN_FIREWALL,
    }
    document = template(server(resources=[child]), parameters={"r": {"type": "string"}})
    assert verdict("postgres_no_firewall_rules", load(tmp_path, document)) == Verdict.ERROR


def test_nsg_rule_source_from_a_parameter_without_value(tmp_path: Path) -> None:
    """End to end: the rule's source is unknown, so neither check of the database port may pass."""
    rule = {**ALLOW_DB_FROM_ANYWHERE, "sourceAddressPrefix": "[parameters('source')]"}
    document = template(
        nsg({"name": "db", **rule}, {"name": "deny", **DENY_ALL}), parameters={"source": {"type": "string"}}
    )
    inventory = load(tmp_path, document)
    (group,) = inventory.of_type(NSG)
    assert group.get("properties.securityRules[0].sourceAddressPrefix") is UNKNOWN
    assert verdict("nsg_deny_all_inbound", inventory) == Verdict.ERROR
    assert verdict("nsg_database_port_two_sources", inventory) not in (Verdict.PASS, Verdict.NOT_APPLICABLE)


@pytest.mark.parametrize(
    "source",
    [
        "[reference('publicIp').ipAddress]",
        "[listKeys('x', '2020-01-01').keys[0].value]",
        "[noSuchFunction()]",
        "[contoso.helper()]",
        "[parameters('secret')]",
    ],
)
def test_runtime_unknown_and_secret_values_never_pass(tmp_path: Path, source: str) -> None:
    rule = {**ALLOW_DB_FROM_ANYWHERE, "sourceAddressPrefix": source}
    document = template(
        nsg({"name": "db", **rule}, {"name": "deny", **DENY_ALL}), parameters={"secret": {"type": "securestring"}}
    )
    inventory = load(tmp_path, document)
    (group,) = inventory.of_type(NSG)
    value = group.get("properties.securityRules[0].sourceAddressPrefix")
    assert value is UNKNOWN or isinstance(value, SecretValue)
    assert verdict("nsg_deny_all_inbound", inventory) == Verdict.ERROR


# --- property names that are expressions --------------------------------------------------------------------


def test_a_property_name_nobody_knows_makes_its_object_unknown(tmp_path: Path) -> None:
    """``"[parameters('k')]": "Allow"`` may well be ``access``: the rule is unknown, not a deny."""
    rule = {"name": "deny", "properties": {**DENY_ALL, "[parameters('k')]": "Allow"}}
    inventory = load(tmp_path, template(nsg(rule), parameters={"k": {"type": "string"}}))
    (group,) = inventory.of_type(NSG)
    assert group.get("properties.securityRules[0]") is UNKNOWN
    assert verdict("nsg_deny_all_inbound", inventory) == Verdict.ERROR


def test_a_property_name_that_collides_after_evaluation_makes_its_object_unknown(tmp_path: Path) -> None:
    rule = {"name": "deny", "properties": {**DENY_ALL, "[concat('Acc', 'ess')]": "Allow"}}
    inventory = load(tmp_path, template(nsg(rule)))
    (group,) = inventory.of_type(NSG)
    assert group.get("properties.securityRules[0]") is UNKNOWN


def test_known_property_names_are_evaluated() -> None:
    assert evaluate_value({"[concat('a', 'b')]": 1, "[[c]": 2, "d": 3}, Environment()) == {"ab": 1, "[c]": 2, "d": 3}


@pytest.mark.parametrize("key", ["Copy", "COPY"])
def test_a_property_copy_loop_in_another_case_is_unknown(key: str) -> None:
    loops = [{"name": "securityRules", "count": 1, "input": {"name": "allow", "properties": ALLOW_DB_FROM_ANYWHERE}}]
    assert evaluate_value({"securityRules": [], key: loops}, Environment()) is UNKNOWN
    members = [{"Name": "securityRules", "Count": 1, "Input": {}}]
    assert evaluate_value({"copy": members}, Environment()) is UNKNOWN


# --- literal or expression: the leaf fast path agrees with the full walk ------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[test value]", "[test value]"),  # Microsoft Learn's own example
        ("[test] value", "[test] value"),  # Microsoft Learn's own example
        (" [parameters('p')]", " [parameters('p')]"),  # no trimming: not an expression
        ("[parameters('p')] ", "[parameters('p')] "),
        ("[[", "[["),  # does not end with ']': no expression, no unescaping
        ("[[]", "[]"),
        ("[[x", "[[x"),
        ("[", "["),
        ("]", "]"),
        ("[parameters('p')]", "P"),
        ("[\nparameters('p')\n]", "P"),  # whitespace inside the brackets is the scanner's
    ],
)
def test_what_is_an_expression(text: str, expected: Any) -> None:
    env = Environment(parameter={"p": "P"}.get)
    assert evaluate_string(text, env) == expected
    assert evaluate_value([text], env) == [expected]
    assert evaluate_value({"k": text}, env) == {"k": expected}


@pytest.mark.parametrize("text", ["[]", "[ ]", "[\n]"])
def test_an_empty_expression_is_a_syntax_error(text: str) -> None:
    """ARM's parser expects a function name after '[': an empty expression fails the deployment."""
    with pytest.raises(arm_expressions.ExpressionError):
        evaluate_string(text, Environment())
    with pytest.raises(arm_expressions.ExpressionError):
        evaluate_value({"k": [text]}, Environment())
    assert evaluate_string("[" + text, Environment()) == text  # escaped, it is the literal


_PIECES = st.sampled_from(
    [
        "[",
        "]",
        "[[",
        " ",
        "\n",
        "a",
        "'",
        "parameters('p')",
        "variables('v')",
        "concat('x', 'y')",
        "reference('r').id",
        "copyIndex()",
        "[parameters('p')]",
    ]
)
_TEXT = st.lists(_PIECES, max_size=5).map("".join)
_KEY = st.one_of(st.sampled_from(["a", "b", "copy", "Copy", "name", "input", "count"]), _TEXT)
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False), _TEXT),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEY, inner, max_size=4),
    max_leaves=20,
)


def _outcome(value: Any, env: Environment) -> Any:
    try:
        return ("value", evaluate_value(value, env))
    except arm_expressions.TemplateError as exc:
        return ("error", type(exc).__name__, exc.problem, exc.path)


def _never_literal(value: Any) -> bool:
    return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_the_literal_fast_path_changes_nothing(value: Any) -> None:
    """Differential: evaluating with the leaf fast path and without it gives the same result or error."""
    env = Environment(parameter={"p": "P"}.get, variable={"v": ["x"]}.get)
    fast = _outcome(value, env)
    original = arm_expressions._literal
    arm_expressions._literal = _never_literal  # every leaf through evaluate_value itself
    try:
        slow = _outcome(value, Environment(parameter={"p": "P"}.get, variable={"v": ["x"]}.get))
    finally:
        arm_expressions._literal = original
    assert repr(fast) == repr(slow)


def _literals_kept(value: Any, result: Any) -> None:
    """Every string ARM would not evaluate (not '[' ... ']') is in the result as written, at its place.

    Only an object may turn UNKNOWN as a whole (a property name nobody knows, two names for one property, a
    property loop in another case); a literal leaf never does.
    """
    if isinstance(value, str):
        if not (value[:1] == "[" and value[-1:] == "]"):
            assert result == value
    elif isinstance(value, list):
        assert isinstance(result, list) and len(result) == len(value)
        for item, out in zip(value, result, strict=True):
            _literals_kept(item, out)
    elif isinstance(value, dict):
        if result is UNKNOWN:
            return
        assert isinstance(result, dict)
        for key, item in value.items():
            if key.lower() == "copy" or key[:1] == "[":
                continue  # a loop's output, or a name that was evaluated
            assert key in result
            if not any(k.lower() == "copy" for k in value):  # a loop may write the same name
                _literals_kept(item, result[key])
    else:
        assert result == value  # numbers, booleans and null as written (no NaN is generated)


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_literal_strings_come_out_unchanged(value: Any) -> None:
    try:
        result = evaluate_value(value, Environment(parameter={"p": "P"}.get))
    except arm_expressions.TemplateError:
        return  # a syntax error: ARM refuses the template, and so does the loader
    _literals_kept(value, result)


# --- nested deployments ---------------------------------------------------------------------------------------


def _deployment(inner: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "nested",
        "properties": {"mode": "Incremental", "template": inner, **properties},
    }


@pytest.mark.parametrize("scope", ["outer", "inner", "Inner"])
def test_resources_of_an_inline_nested_deployment_are_seen(tmp_path: Path, scope: str) -> None:
    inner = template(server(), firewall_rule("psql/all"))
    document = template(_deployment(inner, expressionEvaluationOptions={"scope": scope}))
    assert verdict("postgres_no_firewall_rules", load(tmp_path, document)) == Verdict.FAIL


def test_an_inner_scope_template_in_another_case_is_kept_as_written(tmp_path: Path) -> None:
    """The deployment's own body keeps its inner-scope template unevaluated, whatever the case of its keys."""
    inner = template(server(name="[parameters('name')]"), parameters={"name": {"type": "string"}})
    deployment = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "nested",
        "Properties": {
            "mode": "Incremental",
            "ExpressionEvaluationOptions": {"Scope": "inner"},
            "Parameters": {"name": {"value": "psql-inner"}},
            "Template": inner,
        },
    }
    inventory = load(tmp_path, template(deployment, parameters={"name": {"type": "string", "defaultValue": "outer"}}))
    (nested,) = inventory.of_type("Microsoft.Resources/deployments")
    assert nested.body["properties"]["template"]["resources"][0]["name"] == "[parameters('name')]"
    assert [r.name for r in inventory.of_type(SERVER)] == ["psql-inner"]


def test_a_linked_deployment_is_a_gap(tmp_path: Path) -> None:
    linked = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "linked",
        "properties": {"mode": "Incremental", "templateLink": {"uri": "https://example.invalid/t.json"}},
    }
    inventory = load(tmp_path, template(server(), linked))
    assert verdict("postgres_no_firewall_rules", inventory) == Verdict.ERROR


def test_inner_scope_parameters_without_value_stay_unknown(tmp_path: Path) -> None:
    inner = template(
        nsg(
            {"name": "db", **ALLOW_DB_FROM_ANYWHERE, "sourceAddressPrefix": "[parameters('source')]"},
            {"name": "d", **DENY_ALL},
        ),
        parameters={"source": {"type": "string"}},
    )
    outer = template(
        _deployment(
            inner,
            expressionEvaluationOptions={"scope": "inner"},
            parameters={"source": {"value": "[parameters('given')]"}},
        ),
        parameters={"given": {"type": "string"}},
    )
    inventory = load(tmp_path, outer)
    (group,) = inventory.of_type(NSG)
    assert group.get("properties.securityRules[0].sourceAddressPrefix") is UNKNOWN
    assert verdict("nsg_deny_all_inbound", inventory) == Verdict.ERROR


def test_a_conditional_nested_deployment_marks_what_it_deploys(tmp_path: Path) -> None:
    inner = template(nsg({"name": "deny", **DENY_ALL}))
    deployment = {**_deployment(inner), "condition": "[parameters('deploy')]"}
    inventory = load(tmp_path, template(deployment, parameters={"deploy": {"type": "bool"}}))
    assert verdict("nsg_deny_all_inbound", inventory) == Verdict.ERROR


# --- the command line on malformed templates: exit 2, one line, no traceback -------------------------------------


MALFORMED = [
    "{",
    "[]",
    '{"resources": {"a": 1}}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups"}]}',
    '{"resources": [{"type": "nope", "name": "x"}]}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "[concat(]"}]}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "n", "copy": {"count": 100000}}]}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "n", "condition": "yes"}]}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "n", "properties": 5}]}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "n", "Name": "m"}]}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "n", "resources": 3}]}',
    '{"parameters": {"p": 3}, "resources": []}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "a/b"}]}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "[]"}]}',
    '{"resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "n", "tags": {"[]": "x"}}]}',
]


@pytest.mark.parametrize("content", MALFORMED)
def test_cli_exits_2_without_traceback_on_malformed_templates(tmp_path: Path, content: str) -> None:
    source = tmp_path / "bad.json"
    source.write_text(content, encoding="utf-8")
    command = [sys.executable, "-m", "compliance_checks", "audit", "--source", "arm", "--input", str(source)]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / "out"), "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, (content, done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and str(source) in lines[-1], done.stderr
