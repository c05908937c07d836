"""One model of a web app (compliance_checks/sources/webapp.py), whichever shape a source wrote it in.

The same site, written inline, as ``config/web`` and ``config/appsettings``
children (top-level or nested), inside nested deployments (inner and outer
scope) and as Pulumi resources, gives the same model and the same verdicts;
slots are judged like sites; values only a config child holds are judged;
what cannot be known (a linked template, a child that may not be deployed, an
unordered conflict) is never a PASS.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.engine import _run_checks
from compliance_checks.findings import Verdict, worst
from compliance_checks.inventory import MISSING, SECRET, UNKNOWN, Inventory
from compliance_checks.sources.arm_expressions import ZERO_SUBSCRIPTION
from compliance_checks.sources.arm_template import load_arm_template
from compliance_checks.sources.pulumi_state import load_pulumi_state
from compliance_checks.sources.synth import inventory_from_synthesis
from compliance_checks.sources.webapp import settings_list, webapp_model
from infra.azure_types import arm_identity
from infra.synth import MOCK_SUBSCRIPTION_ID, RecordedResource
from tests.conftest import synth_cached

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
RG = "exported"
SITE_ID = f"/subscriptions/{ZERO_SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Web/sites/app"
SLOT_ID = f"{SITE_ID}/slots/staging"
WEBAPP_CHECKS = {i: c for i, c in load_checks().items() if i.startswith("webapp_")}
SITE_REF = "[resourceId('Microsoft.Web/sites', 'app')]"

SITE_CONFIG: dict[str, Any] = {
    "minTlsVersion": "1.2",
    "scmMinTlsVersion": "1.2",
    "ftpsState": "Disabled",
    "scmIpSecurityRestrictionsDefaultAction": "Deny",
    "scmIpSecurityRestrictions": [{"ipAddress": "93.184.216.34/32", "action": "Allow", "name": "dev"}],
}
SETTINGS_LIST = [{"name": "WEBSITE_RUN_FROM_PACKAGE", "value": "1"}, {"name": "DATABASE_AUTH", "value": "entra"}]
SETTINGS_OBJECT = {"DATABASE_AUTH": "entra", "WEBSITE_RUN_FROM_PACKAGE": "1"}
SITE_PROPERTIES: dict[str, Any] = {"httpsOnly": True, "clientAffinityEnabled": False}


def site(name: str = "app", *, config: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    properties: dict[str, Any] = dict(SITE_PROPERTIES)
    if config is not None:
        properties["siteConfig"] = config
    return {
        "type": "Microsoft.Web/sites",
        "apiVersion": "2024-04-01",
        "name": name,
        "location": "germanywestcentral",
        "properties": properties,
        **extra,
    }


def config_child(name: str, properties: Any, *, nested: bool = False, depends: bool = True) -> dict[str, Any]:
    child: dict[str, Any] = {
        "type": "config" if nested else "Microsoft.Web/sites/config",
        "apiVersion": "2024-04-01",
        "name": name if nested else f"app/{name}",
        "properties": properties,
    }
    if depends:
        child["dependsOn"] = [SITE_REF]
    return child


def template(*resources: Any, **sections: Any) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        **sections,
        "resources": list(resources),
    }


def load(tmp_path: Path, document: dict[str, Any], name: str = "template.json") -> Inventory:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return load_arm_template(path, resource_group=RG)


def verdicts(inventory: Inventory, checks: dict[str, Any] | None = None) -> dict[str, Verdict]:
    found = _run_checks(inventory, checks or WEBAPP_CHECKS, Params())
    by_check: dict[str, list[Verdict]] = {}
    for finding in found:
        by_check.setdefault(finding.check_id, []).append(finding.verdict)
    return {check_id: worst(v) for check_id, v in sorted(by_check.items())}


def per_resource(inventory: Inventory, check_id: str) -> dict[str, Verdict]:
    return {f.resource_id.lower(): f.verdict for f in WEBAPP_CHECKS[check_id].evaluate(inventory, Params())}


# --- shapes of one web app ---------------------------------------------------------------------------------------

INLINE = template(site(config={**SITE_CONFIG, "appSettings": SETTINGS_LIST}))

SHAPES: dict[str, dict[str, Any]] = {
    "inline siteConfig, app settings as a list": INLINE,
    "config/web and appsettings as top-level children": template(
        site(), config_child("web", SITE_CONFIG), config_child("appsettings", SETTINGS_OBJECT)
    ),
    "children nested in the site": template(
        site(
            resources=[
                config_child("web", SITE_CONFIG, nested=True),
                config_child("appsettings", SETTINGS_OBJECT, nested=True),
            ]
        )
    ),
    "app settings in config/web as an object-shaped child after an inline list": template(
        site(config={**SITE_CONFIG, "appSettings": list(reversed(SETTINGS_LIST))}),
        config_child("appsettings", SETTINGS_OBJECT),
    ),
    "nested deployment, inner scope, values passed as parameters": template(
        {
            "type": "Microsoft.Resources/deployments",
            "apiVersion": "2022-09-01",
            "name": "inner-deployment",
            "properties": {
                "mode": "Incremental",
                "expressionEvaluationOptions": {"scope": "inner"},
                "parameters": {"tls": {"value": "[parameters('tls')]"}, "siteName": {"value": "app"}},
                "template": template(
                    site(
                        "[parameters('siteName')]",
                        config={
                            **SITE_CONFIG,
                            "minTlsVersion": "[parameters('tls')]",
                            "scmMinTlsVersion": "[parameters('tls')]",
                            "appSettings": SETTINGS_LIST,
                        },
                    ),
                    parameters={"tls": {"type": "string"}, "siteName": {"type": "string"}},
                ),
            },
        },
        parameters={"tls": {"type": "string", "defaultValue": "1.2"}},
    ),
    "nested deployment, outer scope, parent's variables": template(
        {
            "type": "Microsoft.Resources/deployments",
            "apiVersion": "2022-09-01",
            "name": "outer-deployment",
            "properties": {
                "mode": "Incremental",
                "expressionEvaluationOptions": {"scope": "outer"},
                "template": template(
                    site(
                        "[variables('siteName')]",
                        config={**SITE_CONFIG, "minTlsVersion": "[variables('tls')]", "appSettings": SETTINGS_LIST},
                    )
                ),
            },
        },
        variables={"tls": "1.2", "siteName": "app"},
    ),
}


def site_model(inventory: Inventory) -> dict[str, Any]:
    return webapp_model(inventory.resources)[SITE_ID.lower()]


def test_settings_have_one_shape() -> None:
    assert (
        settings_list(SETTINGS_OBJECT) == settings_list(SETTINGS_LIST) == sorted(SETTINGS_LIST, key=lambda s: s["name"])
    )
    assert settings_list({"$value": SECRET}) is SECRET
    assert settings_list([UNKNOWN, {"name": "B", "value": 1}]) == [{"name": "B", "value": 1}, UNKNOWN]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_gives_the_same_model_and_verdicts(shape: str, tmp_path: Path) -> None:
    expected = load(tmp_path, INLINE, "inline.json")
    inventory = load(tmp_path, SHAPES[shape])
    assert site_model(inventory) == site_model(expected)
    assert site_model(inventory)["properties"]["siteconfig"]["minTlsVersion".lower()] == "1.2"
    assert verdicts(inventory) == verdicts(expected)
    assert verdicts(expected)["webapp_min_tls_version"] == Verdict.PASS
    assert verdicts(expected)["webapp_no_application_insights"] == Verdict.PASS
    # The folded children are gone: their content is in the site.
    assert not [r for r in inventory if r.type == "Microsoft.Web/sites/config"]


def test_the_pulumi_state_shape_gives_the_same_model(tmp_path: Path) -> None:
    """WebApp plus WebAppApplicationSettings (an object of settings) as `pulumi stack export` writes them."""
    common = {"resourceGroupName": RG, "name": "app"}
    state = {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": "urn:pulumi:dev::p::azure-native:web:WebApp::app",
                    "type": "azure-native:web:WebApp",
                    "custom": True,
                    "id": SITE_ID,
                    "inputs": {
                        **common,
                        "location": "germanywestcentral",
                        **SITE_PROPERTIES,
                        "siteConfig": SITE_CONFIG,
                    },
                },
                {
                    "urn": "urn:pulumi:dev::p::azure-native:web:WebAppApplicationSettings::settings",
                    "type": "azure-native:web:WebAppApplicationSettings",
                    "custom": True,
                    "id": f"{SITE_ID}/config/appsettings",
                    "inputs": {**common, "properties": SETTINGS_OBJECT},
                },
            ]
        },
    }
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    inventory = load_pulumi_state(path)
    arm = load(tmp_path, INLINE)
    assert site_model(inventory) == site_model(arm)
    assert verdicts(inventory) == verdicts(arm)


# --- config children are judged -----------------------------------------------------------------------------------


def test_values_only_in_config_children_are_judged() -> None:
    inventory = load_arm_template(FIXTURES / "arm-webapp-config-children.json", resource_group=RG)
    site_id = SITE_ID.replace("/sites/app", "/sites/app-config-children").lower()
    tls = per_resource(inventory, "webapp_min_tls_version")
    assert tls == {site_id: Verdict.FAIL, f"{site_id}/slots/staging": Verdict.FAIL}  # 1.0 in config/web, both
    assert per_resource(inventory, "webapp_ftps_disabled")[site_id] == Verdict.FAIL  # AllAllowed in config/web
    insights = WEBAPP_CHECKS["webapp_no_application_insights"].evaluate(inventory, Params())
    [on_site] = [f for f in insights if f.resource_id.lower() == site_id]
    assert on_site.verdict == Verdict.FAIL and "APPLICATIONINSIGHTS_CONNECTION_STRING" in on_site.message


def test_az_group_export_has_no_false_fails_for_its_config_children() -> None:
    """The export's site has a sparse siteConfig; TLS, FTP and SCM values are only in its config/web child.

    webapp_easy_auth_disabled still FAILs, rightly: the export holds no config/authsettingsV2, and the
    check requires Easy Auth to be declared off (an undeclared setting does not show it off).
    webapp_no_application_insights is ERROR: `az group export` writes no app settings (they are read by a
    separate POST .../config/appsettings/list), so "no analytics key" cannot be seen in it.
    """
    inventory = load_arm_template(FIXTURES / "arm-az-group-export.json")
    seen = verdicts(inventory)
    assert {k: v for k, v in seen.items() if v != Verdict.PASS} == {
        "webapp_easy_auth_disabled": Verdict.FAIL,
        "webapp_no_application_insights": Verdict.ERROR,
    }
    for check_id in ("webapp_min_tls_version", "webapp_ftps_disabled", "webapp_scm_ip_restricted"):
        assert seen[check_id] == Verdict.PASS


def test_config_child_without_dependency_conflicting_is_unknown(tmp_path: Path) -> None:
    """No dependsOn: ARM deploys the two in parallel, so neither 1.2 nor 1.0 is known to win."""
    document = template(site(config=SITE_CONFIG), config_child("web", {"minTlsVersion": "1.0"}, depends=False))
    inventory = load(tmp_path, document)
    assert inventory.get(SITE_ID).get("properties.siteConfig.minTlsVersion") is UNKNOWN  # type: ignore[union-attr]
    assert verdicts(inventory)["webapp_min_tls_version"] == Verdict.ERROR
    # The same value twice is known, order or not; the better value never wins a conflict.
    agreeing = load(
        tmp_path, template(site(config=SITE_CONFIG), config_child("web", {"minTlsVersion": "1.2"}, depends=False))
    )
    assert verdicts(agreeing)["webapp_min_tls_version"] == Verdict.PASS
    better = template(
        site(config={**SITE_CONFIG, "minTlsVersion": "1.0"}), config_child("web", SITE_CONFIG, depends=False)
    )
    assert verdicts(load(tmp_path, better))["webapp_min_tls_version"] == Verdict.ERROR


def test_a_conditional_config_child_makes_what_it_sets_unknown(tmp_path: Path) -> None:
    document = template(
        site(config=SITE_CONFIG),
        {**config_child("web", {"minTlsVersion": "1.0", "ftpsState": "Disabled"}), "condition": "[parameters('on')]"},
        parameters={"on": {"type": "bool"}},
    )
    inventory = load(tmp_path, document)
    app = inventory.get(SITE_ID)
    assert app is not None
    assert app.get("properties.siteConfig.minTlsVersion") is UNKNOWN  # 1.2 or 1.0
    assert app.get("properties.siteConfig.ftpsState") == "Disabled"  # the same either way
    seen = verdicts(inventory)
    assert seen["webapp_min_tls_version"] == Verdict.ERROR
    assert seen["webapp_ftps_disabled"] == Verdict.PASS


def test_a_child_with_unknown_properties_makes_the_site_config_unknown(tmp_path: Path) -> None:
    document = template(site(config=SITE_CONFIG), config_child("web", "[parameters('config')]"))
    inventory = load(tmp_path, {**document, "parameters": {"config": {"type": "object"}}})
    assert inventory.get(SITE_ID).get("properties.siteConfig") is UNKNOWN  # type: ignore[union-attr]
    assert verdicts(inventory)["webapp_min_tls_version"] == Verdict.ERROR


def test_pulumi_app_settings_in_two_places_that_disagree_are_unknown(tmp_path: Path) -> None:
    """Pulumi records no order between a WebApp and its WebAppApplicationSettings: a difference is UNKNOWN."""
    resources = [
        {
            "urn": "urn:pulumi:dev::p::azure-native:web:WebApp::app",
            "type": "azure-native:web:WebApp",
            "id": SITE_ID,
            "inputs": {"resourceGroupName": RG, "name": "app", "siteConfig": {"appSettings": SETTINGS_LIST}},
        },
        {
            "urn": "urn:pulumi:dev::p::azure-native:web:WebAppApplicationSettings::s",
            "type": "azure-native:web:WebAppApplicationSettings",
            "id": f"{SITE_ID}/config/appsettings",
            "inputs": {"resourceGroupName": RG, "name": "app", "properties": {"APPINSIGHTS_INSTRUMENTATIONKEY": "k"}},
        },
    ]
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"resources": resources}}), encoding="utf-8")
    inventory = load_pulumi_state(path)
    assert inventory.get(SITE_ID).get("properties.siteConfig.appSettings") is UNKNOWN  # type: ignore[union-attr]
    assert verdicts(inventory)["webapp_no_application_insights"] == Verdict.ERROR


# --- nested and linked deployments ---------------------------------------------------------------------------------


def test_a_linked_template_is_a_gap_every_check_errors_on() -> None:
    inventory = load_arm_template(FIXTURES / "arm-webapp-linked-template.json")
    [gap] = [g for g in inventory.gaps if "*" in g.types]
    assert "more-web-apps" in gap.reason and "/resources/1/properties/templateLink" in gap.reason
    every = verdicts(inventory, dict(load_checks()))
    webapp = {k: v for k, v in every.items() if k.startswith("webapp_")}
    assert set(webapp.values()) == {Verdict.ERROR}
    assert every["keyvault_public_access_disabled"] == Verdict.ERROR  # what it deploys could be anything
    assert Verdict.PASS not in {v for k, v in every.items() if not k.startswith("probe_")}


@pytest.mark.parametrize(
    ("problem", "properties"),
    [
        ("no template at all", {"mode": "Incremental"}),
        ("a template that is an unknown expression", {"mode": "Incremental", "template": "[parameters('t')]"}),
        (
            "a linked parameters file",
            {
                "mode": "Incremental",
                "expressionEvaluationOptions": {"scope": "inner"},
                "parametersLink": {"uri": "https://example.invalid/p.json"},
                "template": template(),
            },
        ),
    ],
)
def test_an_unreadable_nested_deployment_is_a_gap(problem: str, properties: dict[str, Any], tmp_path: Path) -> None:
    document = template(
        site(config=SITE_CONFIG),
        {"type": "Microsoft.Resources/deployments", "name": "d", "properties": properties},
        parameters={"t": {"type": "object"}},
    )
    inventory = load(tmp_path, document)
    assert any("*" in g.types for g in inventory.gaps), problem
    assert set(verdicts(inventory).values()) == {Verdict.ERROR}


def test_a_nested_deployment_to_another_resource_group_places_its_site_there(tmp_path: Path) -> None:
    document = template(
        {
            "type": "Microsoft.Resources/deployments",
            "name": "elsewhere",
            "resourceGroup": "rg-other",
            "properties": {"mode": "Incremental", "template": template(site(config=SITE_CONFIG))},
        }
    )
    inventory = load(tmp_path, document)
    [app] = inventory.of_type("Microsoft.Web/sites")
    assert app.id == SITE_ID.replace(f"/resourceGroups/{RG}/", "/resourceGroups/rg-other/")
    assert app.get("properties.siteConfig.minTlsVersion") == "1.2"


def test_a_conditional_nested_deployment_marks_what_it_deploys(tmp_path: Path) -> None:
    document = template(
        {
            "type": "Microsoft.Resources/deployments",
            "name": "maybe",
            "condition": "[parameters('on')]",
            "properties": {"mode": "Incremental", "template": template(site(config=SITE_CONFIG))},
        },
        parameters={"on": {"type": "bool"}},
    )
    inventory = load(tmp_path, document)
    app = inventory.get(SITE_ID)
    assert app is not None and app.get("condition") is UNKNOWN
    assert set(verdicts(inventory).values()) <= {Verdict.ERROR, Verdict.NOT_APPLICABLE}


# --- deployment slots ----------------------------------------------------------------------------------------------


def _slot(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Microsoft.Web/sites/slots",
        "apiVersion": "2024-04-01",
        "name": "app/staging",
        "location": "germanywestcentral",
        "dependsOn": [SITE_REF],
        "properties": {**SITE_PROPERTIES, "siteConfig": config},
    }


def test_a_slot_is_modelled_and_judged_like_its_site(tmp_path: Path) -> None:
    inline = load(tmp_path, template(site(config=SITE_CONFIG), _slot(SITE_CONFIG)), "inline.json")
    slot_ref = "[resourceId('Microsoft.Web/sites/slots', 'app', 'staging')]"
    child = {
        "type": "Microsoft.Web/sites/slots/config",
        "name": "app/staging/web",
        "dependsOn": [slot_ref],
        "properties": {"minTlsVersion": "1.2"},
    }
    as_child = load(tmp_path, template(site(config=SITE_CONFIG), _slot({**SITE_CONFIG, "minTlsVersion": "1.0"}), child))
    assert webapp_model(inline.resources)[SLOT_ID.lower()] == webapp_model(as_child.resources)[SLOT_ID.lower()]
    assert per_resource(inline, "webapp_min_tls_version") == {
        SITE_ID.lower(): Verdict.PASS,
        SLOT_ID.lower(): Verdict.PASS,
    }
    weak = load(tmp_path, template(site(config=SITE_CONFIG), _slot({**SITE_CONFIG, "minTlsVersion": "1.0"})))
    assert per_resource(weak, "webapp_min_tls_version")[SLOT_ID.lower()] == Verdict.FAIL
    for check_id in ("webapp_scm_ip_restricted", "webapp_no_application_insights", "webapp_easy_auth_disabled"):
        assert SLOT_ID.lower() in per_resource(inline, check_id), check_id


def test_a_slot_with_tls_1_0_fails_on_synth_input() -> None:
    """The synthesized dev stack plus a WebAppSlot as the mock runtime records it."""
    synthesis = synth_cached("dev")
    [app] = [r for r in synthesis.resources if r.token == "azure-native:web:WebApp"]
    inputs = {
        "resourceGroupName": app.inputs["resourceGroupName"],
        "name": app.inputs["name"],
        "slot": "staging",
        "location": app.inputs["location"],
        "httpsOnly": True,
        "clientAffinityEnabled": False,
        "siteConfig": {**copy.deepcopy(dict(app.inputs["siteConfig"])), "minTlsVersion": "1.0"},
    }
    token = "azure-native:web:WebAppSlot"
    slot = RecordedResource(
        urn=app.urn.replace("WebApp::", "WebAppSlot::") + "-staging",
        token=token,
        name="staging",
        custom=True,
        parent=app.parent,
        dependencies=(app.urn,),
        inputs=inputs,
        outputs={},
        arm=arm_identity(token, inputs, MOCK_SUBSCRIPTION_ID),
    )
    inventory = inventory_from_synthesis(dataclasses.replace(synthesis, resources=(*synthesis.resources, slot)))
    seen = per_resource(inventory, "webapp_min_tls_version")
    assert seen[slot.arm.id.lower()] == Verdict.FAIL  # type: ignore[union-attr]
    assert seen[app.arm.id.lower()] == Verdict.PASS  # type: ignore[union-attr]
    assert Verdict.FAIL not in per_resource(inventory_from_synthesis(synthesis), "webapp_min_tls_version").values()


def test_a_slot_without_a_custom_domain_is_not_applicable_but_a_bad_binding_fails(tmp_path: Path) -> None:
    slot_binding: Callable[[str], dict[str, Any]] = lambda state: {  # noqa: E731
        "type": "Microsoft.Web/sites/slots/hostNameBindings",
        "name": "app/staging/staging.example.org",
        "properties": {"sslState": state, "thumbprint": "AB" * 20},
    }
    bare = per_resource(
        load(tmp_path, template(site(config=SITE_CONFIG), _slot(SITE_CONFIG))), "webapp_custom_domain_sni"
    )
    assert bare[SLOT_ID.lower()] == Verdict.NOT_APPLICABLE
    bad = load(tmp_path, template(site(config=SITE_CONFIG), _slot(SITE_CONFIG), slot_binding("Disabled")))
    binding_id = f"{SLOT_ID}/hostNameBindings/staging.example.org".lower()
    assert per_resource(bad, "webapp_custom_domain_sni")[binding_id] == Verdict.FAIL
    good = load(tmp_path, template(site(config=SITE_CONFIG), _slot(SITE_CONFIG), slot_binding("SniEnabled")))
    assert per_resource(good, "webapp_custom_domain_sni")[binding_id] == Verdict.PASS
    unreadable = load(tmp_path, template(site(config=SITE_CONFIG), _slot(SITE_CONFIG), slot_binding("SNI please")))
    assert per_resource(unreadable, "webapp_custom_domain_sni")[binding_id] == Verdict.ERROR


# --- the checks' reads --------------------------------------------------------------------------------------------


def test_unreadable_setting_names_and_scm_rules_are_never_a_pass(tmp_path: Path) -> None:
    config = {
        **SITE_CONFIG,
        "appSettings": [{"name": "[parameters('name')]", "value": "x"}],
        "scmIpSecurityRestrictions": [*SITE_CONFIG["scmIpSecurityRestrictions"], {"action": "[parameters('name')]"}],
    }
    inventory = load(tmp_path, template(site(config=config), parameters={"name": {"type": "string"}}))
    seen = verdicts(inventory)
    assert seen["webapp_no_application_insights"] == Verdict.ERROR
    assert seen["webapp_scm_ip_restricted"] == Verdict.ERROR
    # Not a name App Service accepts (letters, digits, periods, underscores): it cannot be told apart.
    odd = load(
        tmp_path, template(site(config={**SITE_CONFIG, "appSettings": [{"name": "APPINSIGHTS-KEY", "value": 1}]}))
    )
    assert verdicts(odd)["webapp_no_application_insights"] == Verdict.ERROR
    use_main = load(tmp_path, template(site(config={**SITE_CONFIG, "scmIpSecurityRestrictionsUseMain": True})))
    assert verdicts(use_main)["webapp_scm_ip_restricted"] == Verdict.FAIL
    assert inventory.get(SITE_ID).get("properties.siteConfig.scmIpSecurityRestrictionsUseMain") is MISSING  # type: ignore[union-attr]


def test_every_custom_webapp_check_declares_slot_reads() -> None:
    for check_id in (
        "webapp_basic_auth_disabled",
        "webapp_custom_domain_sni",
        "webapp_easy_auth_disabled",
        "webapp_no_application_insights",
        "webapp_scm_ip_restricted",
    ):
        kinds = {read.type for read in WEBAPP_CHECKS[check_id].reads()}
        assert any("/slots" in kind for kind in kinds), check_id
    for check_id in ("webapp_min_tls_version", "webapp_ftps_disabled", "webapp_https_only"):
        assert "Microsoft.Web/sites/slots" in {read.type for read in WEBAPP_CHECKS[check_id].reads()}
