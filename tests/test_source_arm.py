"""Source ``arm``: ARM templates and ``az group export`` output become the canonical inventory."""

from __future__ import annotations

import copy
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance_checks.errors import InputError
from compliance_checks.inventory import SECRET, UNKNOWN, Inventory, Resource, compile_path, fold, lookup
from compliance_checks.sources.arm_expressions import (
    Environment,
    ExpressionError,
    evaluate_string,
    parse,
)
from compliance_checks.sources.arm_template import load_arm_template
from compliance_checks.sources.azure_native import UNKNOWN_SENTINEL
from compliance_checks.sources.synth import inventory_from_synthesis
from infra import well_known
from infra.synth import MOCK_SUBSCRIPTION_ID
from tests.conftest import synth_cached

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
DEV_TEMPLATE = FIXTURES / "arm-dev-estate.json"
DEV_PARAMETERS = FIXTURES / "arm-dev-estate.parameters.json"
EXPORT = FIXTURES / "arm-az-group-export.json"
RG = "rg-smartportal-dev-gwc"
PREFIX = f"/subscriptions/{MOCK_SUBSCRIPTION_ID}/resourceGroups/{RG}/providers"


def arm_id(path: str) -> str:
    return f"{PREFIX}/{path}"


@pytest.fixture(scope="module")
def dev_arm() -> Inventory:
    return load_arm_template(
        DEV_TEMPLATE,
        parameters=DEV_PARAMETERS,
        subscription_id=MOCK_SUBSCRIPTION_ID,
        resource_group=RG,
        location="germanywestcentral",
    )


@pytest.fixture(scope="module")
def exported() -> Inventory:
    return load_arm_template(EXPORT, subscription_id=MOCK_SUBSCRIPTION_ID, resource_group=RG)


def one(inventory: Inventory, resource_id: str) -> Resource:
    found = inventory.get(resource_id)
    assert found is not None, f"{resource_id} not in {sorted(r.id for r in inventory)}"
    return found


def write(tmp_path: Path, document: Any, name: str = "template.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def template(*resources: Any, **sections: Any) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        **sections,
        "resources": list(resources),
    }


def assert_one_line(error: InputError) -> None:
    text = str(error)
    assert text and len(text.splitlines()) == 1, text


def check_bad(
    loader: Callable[[Path], Inventory], tmp_path: Path, cases: list[Any], *, place_prefix: bool = False
) -> None:
    """Each bad file: InputError naming the file, the JSON pointer (or its start) and the problem, on one line."""
    for number, (content, place, problem) in enumerate(cases):
        path = tmp_path / f"case-{number}.json"
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            loader(path)
        error = caught.value
        assert error.source == str(path)
        assert error.place.startswith(place) if place_prefix else error.place == place, (content, error)
        assert problem in error.problem, (content, error)
        assert_one_line(error)


# --- the dev estate as an ARM template ----------------------------------------------


def test_dev_template_types(dev_arm: Inventory) -> None:
    counts = Counter(r.type for r in dev_arm)
    assert counts == {
        "Microsoft.Network/networkSecurityGroups": 3,
        "Microsoft.Network/virtualNetworks": 1,
        "Microsoft.Network/virtualNetworks/subnets": 4,
        "Microsoft.Web/serverfarms": 1,
        "Microsoft.Web/sites": 1,
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies": 2,
        "Microsoft.Web/sites/hostNameBindings": 1,
        "Microsoft.Resources/deployments": 1,
        "Microsoft.Network/privateDnsZones": 1,
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks": 1,
        "Microsoft.DBforPostgreSQL/flexibleServers": 1,
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations": 2,
        "Microsoft.KeyVault/vaults": 1,
        "Microsoft.KeyVault/vaults/secrets": 1,
        "Microsoft.Network/privateEndpoints": 1,
        "Microsoft.OperationalInsights/workspaces": 1,
        "Microsoft.Insights/diagnosticSettings": 2,
        "Microsoft.Insights/activityLogAlerts": 2,
        "Microsoft.Authorization/roleAssignments": 1,
        "Microsoft.Network/publicIPAddresses": 1,
        "Microsoft.Insights/actionGroups": 1,
    }
    assert dev_arm.sources == ("arm",)
    assert all(r.source == "arm" for r in dev_arm)


def test_dev_template_ids_are_the_ids_arm_gives(dev_arm: Inventory) -> None:
    for path in [
        "Microsoft.Network/networkSecurityGroups/nsg-portal-smartportal-dev-gwc",
        "Microsoft.Network/virtualNetworks/vnet-smartportal-dev-gwc/subnets/snet-database",
        "Microsoft.Web/sites/app-smartportal-dev-gwc/hostNameBindings/dev.portal.smartde.coop",
        "Microsoft.Web/sites/app-smartportal-dev-gwc/basicPublishingCredentialsPolicies/ftp",
        "Microsoft.DBforPostgreSQL/flexibleServers/psql-smartportal-dev-gwc/configurations/require_secure_transport",
        "Microsoft.KeyVault/vaults/kv-smartportal-dev-gwc/secrets/portal-session-key",
        "Microsoft.Network/privateDnsZones/psql-smartportal-dev-gwc.private.postgres.database.azure.com"
        "/virtualNetworkLinks/link-vnet",
    ]:
        resource = one(dev_arm, arm_id(path))
        assert resource.name == path.rsplit("/", 1)[1]
    # Extension resources: through "scope" and through the older nested "providers" form.
    kv_diag = one(
        dev_arm,
        arm_id(
            "Microsoft.KeyVault/vaults/kv-smartportal-dev-gwc/providers/Microsoft.Insights/diagnosticSettings/diag-key-vault"
        ),
    )
    db_diag = one(
        dev_arm,
        arm_id(
            "Microsoft.DBforPostgreSQL/flexibleServers/psql-smartportal-dev-gwc"
            "/providers/Microsoft.Insights/diagnosticSettings/diag-database"
        ),
    )
    assert kv_diag.type == db_diag.type == "Microsoft.Insights/diagnosticSettings"
    assert dev_arm.parent(db_diag) is one(
        dev_arm, arm_id("Microsoft.DBforPostgreSQL/flexibleServers/psql-smartportal-dev-gwc")
    )


def test_dev_template_agrees_with_synth_on_shared_resources(dev_arm: Inventory) -> None:
    synth = inventory_from_synthesis(synth_cached("dev"))
    checks = {
        "Microsoft.Web/sites": [
            "properties.httpsOnly",
            "properties.publicNetworkAccess",
            "properties.siteConfig.minTlsVersion",
            "properties.siteConfig.ftpsState",
            "properties.siteConfig.scmIpSecurityRestrictions[0].ipAddress",
            "properties.siteConfig.scmIpSecurityRestrictionsDefaultAction",
            "properties.virtualNetworkSubnetId",
            "properties.serverFarmId",
            "identity.type",
        ],
        "Microsoft.DBforPostgreSQL/flexibleServers": [
            "properties.network.publicNetworkAccess",
            "properties.network.delegatedSubnetResourceId",
            "properties.authConfig.passwordAuth",
            "sku.name",
        ],
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations": ["properties.value"],
        "Microsoft.KeyVault/vaults": ["properties.publicNetworkAccess", "properties.networkAcls.defaultAction"],
        "Microsoft.Network/virtualNetworks/subnets": [
            "properties.addressPrefix",
            "properties.networkSecurityGroup.id",
            "properties.delegations[0].serviceName",
        ],
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies": ["properties.allow"],
        "Microsoft.Web/sites/hostNameBindings": ["properties.sslState", "properties.thumbprint"],
        "Microsoft.Network/privateEndpoints": ["properties.privateLinkServiceConnections[0].privateLinkServiceId"],
    }
    compared = 0
    for kind, paths in checks.items():
        assert synth.of_type(kind), kind
        for expected in synth.of_type(kind):
            actual = one(dev_arm, expected.id)
            for path in paths:
                assert actual.get(path) == expected.get(path), (expected.id, path)
                compared += 1
    # Every NSG rule: same names, access, priority, sources and ports, in the same order.
    for nsg in synth.of_type("Microsoft.Network/networkSecurityGroups"):
        rules = one(dev_arm, nsg.id).get("properties.securityRules")
        expected_rules = nsg.get("properties.securityRules")
        fields = ["name", "access", "direction", "priority", "sourceaddressprefix", "destinationportrange"]
        assert [[r[f] for f in fields] for r in fold(rules)] == [[r[f] for f in fields] for r in expected_rules]
    assert compared > 30


def test_flattened_sub_resources(dev_arm: Inventory) -> None:
    nsg = one(dev_arm, arm_id("Microsoft.Network/networkSecurityGroups/nsg-portal-smartportal-dev-gwc"))
    assert nsg.get("properties.securityRules[0].access") == "Deny"
    assert nsg.get("properties.securityRules[0].properties") is not UNKNOWN
    assert "properties" not in nsg.body["properties"]["securityRules"][0]
    # A property copy loop plus a child rule resource.
    endpoints = one(dev_arm, arm_id("Microsoft.Network/networkSecurityGroups/nsg-endpoints-smartportal-dev-gwc"))
    assert [(r["name"], r["priority"]) for r in endpoints.body["properties"]["securityRules"]] == [
        ("AllowHttpsFromPortal", 100),
        ("AllowHttpsFromVpn", 110),
        ("DenyAllInbound", 4096),
    ]
    assert endpoints.get("properties.securityRules[1].sourceAddressPrefix") == "172.16.201.0/28"
    subnet = one(dev_arm, arm_id("Microsoft.Network/virtualNetworks/vnet-smartportal-dev-gwc/subnets/snet-portal"))
    assert subnet.get("properties.delegations[0].serviceName") == "Microsoft.Web/serverFarms"
    endpoint = one(dev_arm, arm_id("Microsoft.Network/privateEndpoints/pe-kv-smartportal-dev-gwc"))
    assert endpoint.get("properties.privateLinkServiceConnections[0].groupIds[0]") == "vault"
    # The VNet keeps its inline subnets, flattened too.
    vnet = one(dev_arm, arm_id("Microsoft.Network/virtualNetworks/vnet-smartportal-dev-gwc"))
    assert vnet.get("properties.subnets[1].networkSecurityGroup.id") == arm_id(
        "Microsoft.Network/networkSecurityGroups/nsg-portal-smartportal-dev-gwc"
    )
    # No security-rule resources remain: they live inside their NSG.
    assert not dev_arm.of_type("Microsoft.Network/networkSecurityGroups/securityRules")


def test_references_resolve_to_inventory_resources(dev_arm: Inventory) -> None:
    for subnet, nsg in [
        ("snet-portal", "nsg-portal"),
        ("snet-database", "nsg-database"),
        ("snet-endpoints", "nsg-endpoints"),
    ]:
        resource = one(dev_arm, arm_id(f"Microsoft.Network/virtualNetworks/vnet-smartportal-dev-gwc/subnets/{subnet}"))
        assert [r.name for r in dev_arm.refs_from(resource)] == [f"{nsg}-smartportal-dev-gwc"]
    app = one(dev_arm, arm_id("Microsoft.Web/sites/app-smartportal-dev-gwc"))
    assert {r.type for r in dev_arm.refs_from(app)} == {
        "Microsoft.Web/serverfarms",
        "Microsoft.Network/virtualNetworks/subnets",
    }
    server = one(dev_arm, arm_id("Microsoft.DBforPostgreSQL/flexibleServers/psql-smartportal-dev-gwc"))
    assert {r.type for r in dev_arm.refs_from(server)} == {
        "Microsoft.Network/virtualNetworks/subnets",
        "Microsoft.Network/privateDnsZones",
    }
    vault = one(dev_arm, arm_id("Microsoft.KeyVault/vaults/kv-smartportal-dev-gwc"))
    assert {r.type for r in dev_arm.refs_to(vault)} == {"Microsoft.Network/privateEndpoints"}
    assert [r.type for r in dev_arm.children(server)] == [
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
        "Microsoft.Insights/diagnosticSettings",
    ]


def test_conditions_copy_loops_and_unknowns(dev_arm: Inventory) -> None:
    assert not dev_arm.of_type("Microsoft.Network/localNetworkGateways")  # condition false
    pip = one(dev_arm, arm_id("Microsoft.Network/publicIPAddresses/pip-vgw-smartportal-dev-gwc"))
    assert pip.get("condition") is not UNKNOWN  # condition true (parameters file)
    assert pip.get("zones") == ["1", "2", "3"]
    group = one(dev_arm, arm_id("Microsoft.Insights/actionGroups/ag-smartportal-dev-gwc"))
    assert group.get("condition") is UNKNOWN  # no value for alertEmail: maybe deployed
    assert group.get("properties.emailReceivers[0].emailAddress") is UNKNOWN
    alerts = sorted(dev_arm.of_type("Microsoft.Insights/activityLogAlerts"), key=lambda r: r.name)
    assert [a.name for a in alerts] == ["alert-firewall-smartportal-dev-gwc", "alert-nsg-smartportal-dev-gwc"]
    assert [a.get("properties.description") for a in alerts] == ["Alert 1 of 2", "Alert 2 of 2"]
    assert alerts[0].get("properties.scopes[0]") == f"/subscriptions/{MOCK_SUBSCRIPTION_ID}/resourceGroups/{RG}"
    (assignment,) = dev_arm.of_type("Microsoft.Authorization/roleAssignments")
    assert assignment.id.endswith("#unknown-id")  # guid() is never guessed
    assert assignment.get("properties.principalId") is UNKNOWN
    assert assignment.get("properties.roleDefinitionId") == (
        f"/subscriptions/{MOCK_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/"
        + well_known.role_id("Reader")
    )
    vault = one(dev_arm, arm_id("Microsoft.KeyVault/vaults/kv-smartportal-dev-gwc"))
    assert vault.get("properties.tenantId") is UNKNOWN  # subscription().tenantId
    app = one(dev_arm, arm_id("Microsoft.Web/sites/app-smartportal-dev-gwc"))
    settings_ = {s["name"]: s["value"] for s in app.body["properties"]["siteConfig"]["appSettings"]}
    assert settings_["DATABASE_HOST"] is UNKNOWN  # reference()
    assert settings_["DATABASE_AUTH"] is SECRET  # app-setting values are secret wholesale (redaction.py)
    assert settings_["SESSION_KEY"] is SECRET  # a Key Vault reference in the parameters file
    secret = one(dev_arm, arm_id("Microsoft.KeyVault/vaults/kv-smartportal-dev-gwc/secrets/portal-session-key"))
    assert secret.get("properties.value") is SECRET
    server = one(dev_arm, arm_id("Microsoft.DBforPostgreSQL/flexibleServers/psql-smartportal-dev-gwc"))
    assert server.get("tags.data-classification") == "personal"
    assert server.location == "germanywestcentral"


def test_nested_deployment_updates_the_binding_and_keeps_its_template(dev_arm: Inventory) -> None:
    binding = one(
        dev_arm, arm_id("Microsoft.Web/sites/app-smartportal-dev-gwc/hostNameBindings/dev.portal.smartde.coop")
    )
    assert binding.get("properties.sslState") == "SniEnabled"
    assert binding.get("properties.thumbprint") == "0211CBF1107E32B9BA4347F1B5FD9537DC464B8C"
    assert "updated by deploy-sni-smartportal-dev-gwc" in binding.origin
    (deployment,) = dev_arm.of_type("Microsoft.Resources/deployments")
    inner = deployment.body["properties"]["template"]["resources"][0]
    assert inner["properties"]["sslState"] == "SniEnabled"  # not flattened inside the template
    assert inner["name"] == "app-smartportal-dev-gwc/dev.portal.smartde.coop"


def test_without_parameters_file_the_unknowns_stay_unknown() -> None:
    inventory = load_arm_template(DEV_TEMPLATE, subscription_id=MOCK_SUBSCRIPTION_ID, resource_group=RG)
    pip = one(inventory, arm_id("Microsoft.Network/publicIPAddresses/pip-vgw-smartportal-dev-gwc"))
    assert pip.get("condition") is UNKNOWN
    assert pip.get("location") is UNKNOWN  # resourceGroup().location was not given
    assert pip.location is None
    binding = one(
        inventory, arm_id("Microsoft.Web/sites/app-smartportal-dev-gwc/hostNameBindings/dev.portal.smartde.coop")
    )
    assert binding.get("properties.thumbprint") is UNKNOWN
    app = one(inventory, arm_id("Microsoft.Web/sites/app-smartportal-dev-gwc"))
    assert app.get("properties.siteConfig.appSettings[3].value") is SECRET  # securestring without a value


def test_default_subscription_and_resource_group() -> None:
    inventory = load_arm_template(DEV_TEMPLATE, parameters=DEV_PARAMETERS)
    assert inventory.get(
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/exported/providers/"
        "Microsoft.Web/sites/app-smartportal-dev-gwc"
    )


# --- az group export ----------------------------------------------------------------


def test_az_group_export(exported: Inventory) -> None:
    counts = Counter(r.type for r in exported)
    assert counts["Microsoft.Network/virtualNetworks/subnets"] == 2  # inline and separate: merged
    assert counts["Microsoft.Network/networkSecurityGroups"] == 1
    assert "Microsoft.Network/networkSecurityGroups/securityRules" not in counts
    nsg = one(exported, arm_id("Microsoft.Network/networkSecurityGroups/nsg-portal-smartportal-dev-gwc"))
    assert [r["name"] for r in nsg.body["properties"]["securityRules"]] == ["DenyAllInbound"]
    assert nsg.get("properties.securityRules[0].access") == "Deny"
    subnet = one(exported, arm_id("Microsoft.Network/virtualNetworks/vnet-smartportal-dev-gwc/subnets/snet-portal"))
    assert [r.id for r in exported.refs_from(subnet)] == [nsg.id]
    assert subnet.get("properties.delegations[0].serviceName") == "Microsoft.Web/serverFarms"
    site = one(exported, arm_id("Microsoft.Web/sites/app-smartportal-dev-gwc"))
    assert site.location == "germanywestcentral"  # "Germany West Central" in the export
    assert site.get("properties.httpsOnly") is True
    assert site.get("properties.hostNameSslStates[1].name") == "app-smartportal-dev-gwc.azurewebsites.net"
    # The config/web child is folded into the site (sources/webapp.py); it depends on the site, so it wins.
    assert exported.peek(arm_id("Microsoft.Web/sites/app-smartportal-dev-gwc/config/web")) is None
    assert site.get("properties.siteConfig.minTlsVersion") == "1.2"
    assert site.get("properties.siteConfig.scmIpSecurityRestrictions[0].ipAddress") == "93.184.216.34/32"
    server = one(exported, arm_id("Microsoft.DBforPostgreSQL/flexibleServers/psql-smartportal-dev-gwc"))
    assert server.get("properties.network.publicNetworkAccess") == "Disabled"
    assert [r.type for r in exported.refs_from(server)] == ["Microsoft.Network/virtualNetworks/subnets"]
    assert server.get("properties.network.privateDnsZoneArmResourceId").endswith(
        "/resourceGroups/rg-smartportal-dns/providers/Microsoft.Network/privateDnsZones/"
        "psql-smartportal-dev-gwc.private.postgres.database.azure.com"
    )
    assert len(exported.children(server)) == 2
    certificate = one(exported, arm_id("Microsoft.Web/certificates/cert-smartportal-dev-gwc"))
    assert certificate.get("properties.password") is SECRET
    assert certificate.get("properties.keyVaultId") is UNKNOWN  # an *_externalid parameter without default
    assert "hunter2" not in repr([r.body for r in exported])


def test_export_result_wrapper(tmp_path: Path, exported: Inventory) -> None:
    document = {"template": json.loads(EXPORT.read_text(encoding="utf-8")), "error": None}
    inventory = load_arm_template(write(tmp_path, document), subscription_id=MOCK_SUBSCRIPTION_ID, resource_group=RG)
    assert sorted(r.id for r in inventory) == sorted(r.id for r in exported)
    document["template"]["resources"][2]["type"] = "Network Security Group"
    with pytest.raises(InputError) as caught:
        load_arm_template(write(tmp_path, document))
    assert caught.value.place == "/template/resources/2/type"


# --- template features ---------------------------------------------------------------


def test_symbolic_name_resources_language_version_2(tmp_path: Path) -> None:
    document = {
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "parameters": {"name": {"type": "string", "defaultValue": "kv-one"}},
        "resources": {
            "existingVnet": {"type": "Microsoft.Network/virtualNetworks", "name": "shared", "existing": True},
            "vault": {
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-07-01",
                "name": "[parameters('name')]",
                "location": "westeurope",
                "properties": {"publicNetworkAccess": "Disabled"},
            },
            "diag": {
                "type": "Microsoft.Insights/diagnosticSettings",
                "name": "to-log",
                "scope": "[resourceId('Microsoft.KeyVault/vaults', parameters('name'))]",
                "dependsOn": ["vault"],
                "properties": {"workspaceId": "[reference('workspace').id]"},
            },
        },
    }
    inventory = load_arm_template(write(tmp_path, document))
    vault_id = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/exported/providers/"
        "Microsoft.KeyVault/vaults/kv-one"
    )
    assert sorted(r.id for r in inventory) == [
        vault_id,
        f"{vault_id}/providers/Microsoft.Insights/diagnosticSettings/to-log",
    ]
    assert inventory.get(vault_id) is not None
    assert inventory.resources[0].origin.endswith("#/resources/vault")


def test_copy_with_unknown_count_keeps_one_marked_resource(tmp_path: Path) -> None:
    document = template(
        {
            "type": "Microsoft.Network/publicIPAddresses",
            "name": "[concat('pip-', copyIndex())]",
            "copy": {"name": "ips", "count": "[parameters('count')]"},
            "properties": {"publicIPAllocationMethod": "Static", "index": "[copyIndex('ips')]"},
        },
        {
            "type": "Microsoft.Network/publicIPAddresses",
            "name": "[concat('fixed-', copyIndex(1))]",
            "copy": {"name": "fixed", "count": 2},
            "properties": {},
        },
        {
            "type": "Microsoft.Network/publicIPAddresses",
            "name": "never",
            "copy": {"name": "none", "count": 0},
        },
        parameters={"count": {"type": "int"}},
    )
    inventory = load_arm_template(write(tmp_path, document))
    unknown = [r for r in inventory if r.id.endswith("#unknown-id")]
    assert len(unknown) == 1
    assert unknown[0].get("copy") is UNKNOWN
    assert unknown[0].get("properties.index") is UNKNOWN
    assert sorted(r.name for r in inventory if not r.id.endswith("#unknown-id")) == ["fixed-1", "fixed-2"]


def test_children_of_copied_parents(tmp_path: Path) -> None:
    document = template(
        {
            "type": "Microsoft.Network/networkSecurityGroups",
            "name": "[concat('nsg-', copyIndex())]",
            "copy": {"name": "nsgs", "count": 2},
            "resources": [
                {
                    "type": "securityRules",
                    "name": "[concat('rule-', copyIndex('nsgs'))]",
                    "properties": {"access": "Deny", "priority": "[add(100, copyIndex())]"},
                },
                {"type": "Microsoft.Insights/diagnosticSettings", "name": "[uniqueString('x')]", "scope": "x"},
            ],
        }
    )
    inventory = load_arm_template(write(tmp_path, document))
    nsgs = inventory.of_type("Microsoft.Network/networkSecurityGroups")
    assert [n.name for n in nsgs] == ["nsg-0", "nsg-1"]
    assert [n.body["properties"]["securityRules"] for n in nsgs] == [
        [{"name": "rule-0", "access": "Deny", "priority": 100}],
        [{"name": "rule-1", "access": "Deny", "priority": 101}],
    ]
    unknown = sorted(r.origin for r in inventory if r.id.endswith("#unknown-id"))
    assert [origin.split("#", 1)[1] for origin in unknown] == [
        "/resources/0[0]/resources/1",
        "/resources/0[1]/resources/1",
    ]


def test_inner_scope_nested_template_is_left_alone(tmp_path: Path) -> None:
    document = template(
        {
            "type": "Microsoft.Resources/deployments",
            "name": "inner",
            "properties": {
                "mode": "Incremental",
                "expressionEvaluationOptions": {"scope": "inner"},
                "template": {"resources": [{"type": "Microsoft.Web/sites", "name": "[parameters('own')]"}]},
            },
        }
    )
    deployment, site = load_arm_template(write(tmp_path, document))
    assert deployment.body["properties"]["template"]["resources"][0]["name"] == "[parameters('own')]"
    # What it deploys is seen too (tests/test_webapp_model.py): here a site whose name nobody knows.
    assert site.type == "Microsoft.Web/sites" and site.id.endswith("#unknown-id")


def test_secure_parameters_never_keep_their_value(tmp_path: Path) -> None:
    document = template(
        {
            "type": "Microsoft.DBforPostgreSQL/flexibleServers",
            "name": "psql",
            "properties": {
                "administratorLoginPassword": "[parameters('password')]",
                "connection": "[concat('Password=', parameters('password'))]",
                "isSet": "[not(empty(parameters('password')))]",
                "plain": "[parameters('settings').key]",
            },
        },
        {
            "type": "Microsoft.Network/connections",
            "name": "cn",
            "properties": {"sharedKey": "literal-psk-hunter2"},
        },
        parameters={"password": {"type": "securestring"}, "settings": {"type": "secureObject"}},
    )
    parameters = write(
        tmp_path,
        {"parameters": {"password": {"value": "hunter2-pw"}, "settings": {"value": {"key": "hunter2-obj"}}}},
        "parameters.json",
    )
    inventory = load_arm_template(write(tmp_path, document), parameters=parameters)
    server, connection = inventory.resources
    assert server.get("properties.administratorLoginPassword") is SECRET
    assert server.get("properties.connection") is SECRET
    assert server.get("properties.isSet") is UNKNOWN
    assert server.get("properties.plain") is SECRET
    assert connection.get("properties.sharedKey") is SECRET
    assert "hunter2" not in repr([(r.body, r.folded, r.name, r.id) for r in inventory])


def test_parameters_file_without_wrapper_and_variable_cycles(tmp_path: Path) -> None:
    document = template(
        {"type": "Microsoft.Web/sites", "name": "[variables('a')]", "properties": {"b": "[variables('b')]"}},
        parameters={"app": {"type": "string"}},
        variables={"a": "[parameters('APP')]", "b": "[variables('c')]", "c": "[variables('b')]"},
    )
    parameters = write(tmp_path, {"app": {"value": "app-one"}}, "parameters.json")
    (site,) = load_arm_template(write(tmp_path, document), parameters=parameters)
    assert site.name == "app-one"
    assert site.get("properties.b") is UNKNOWN


# --- expressions -----------------------------------------------------------------------

ENV = Environment(
    subscription_id="sub-1",
    resource_group="rg-1",
    location="germanywestcentral",
    parameter={
        "name": "Portal",
        "count": 3,
        "flag": True,
        "list": ["a", "b"],
        "obj": {"Inner": {"value": 7}, "keys": ["x"]},
        "secret": SECRET,
    }.get,
    variable={"prefix": "app-"}.get,
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("plain text", "plain text"),
        ("[[not an expression]", "[not an expression]"),
        ("[[ ]", "[ ]"),  # "[ ]" itself is an empty expression, which ARM refuses (test_arm_adversarial.py)
        ("['it''s']", "it's"),
        ("[parameters('name')]", "Portal"),
        ("[PARAMETERS('name')]", "Portal"),
        ("[variables('prefix')]", "app-"),
        ("[concat(variables('prefix'), toLower(parameters('name')), '-', parameters('count'))]", "app-portal-3"),
        ("[concat(parameters('list'), createArray('c'))]", ["a", "b", "c"]),
        ("[format('{0}/{1}-{{x}}', 'a', 2)]", "a/2-{x}"),
        ("[format('{0}', true())]", "True"),
        ("[toUpper('abc')]", "ABC"),
        ("[replace('a-b-c', '-', '')]", "abc"),
        ("[substring('hello', 1, 3)]", "ell"),
        ("[substring('hello', 2)]", "llo"),
        ("[resourceGroup().location]", "germanywestcentral"),
        ("[resourceGroup().name]", "rg-1"),
        ("[resourceGroup().id]", "/subscriptions/sub-1/resourceGroups/rg-1"),
        ("[subscription().subscriptionId]", "sub-1"),
        ("[subscription().id]", "/subscriptions/sub-1"),
        (
            "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'snet')]",
            "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet",
        ),
        (
            "[resourceId('rg-2', 'Microsoft.Web/sites', 'app')]",
            "/subscriptions/sub-1/resourceGroups/rg-2/providers/Microsoft.Web/sites/app",
        ),
        (
            "[resourceId('sub-2', 'rg-2', 'Microsoft.Web/sites', 'app')]",
            "/subscriptions/sub-2/resourceGroups/rg-2/providers/Microsoft.Web/sites/app",
        ),
        ("[resourceId('Microsoft.Web/sites', 'a', 'b')]", UNKNOWN),
        (
            "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'r')]",
            "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/r",
        ),
        (
            "[extensionResourceId(resourceGroup().id, 'Microsoft.Authorization/locks', 'l')]",
            "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Authorization/locks/l",
        ),
        ("[if(parameters('flag'), 'yes', reference('x'))]", "yes"),
        ("[if(reference('x').ok, 'yes', 'no')]", UNKNOWN),
        ("[equals(parameters('count'), 3)]", True),
        ("[equals('A', 'a')]", False),
        ("[equals(createArray(1, 2), createArray(1, 2))]", True),
        ("[not(equals(1, 2))]", True),
        ("[and(true(), false())]", False),
        ("[and(true(), reference('x').ok)]", UNKNOWN),
        ("[and(false(), reference('x').ok)]", False),
        ("[or(reference('x').ok, true())]", True),
        ("[empty('')]", True),
        ("[empty(createArray())]", True),
        ("[empty(createObject())]", True),
        ("[empty(parameters('list'))]", False),
        ("[string(5)]", "5"),
        ("[string(true())]", "True"),
        ("[string(createObject('a', 1))]", '{"a":1}'),
        ("[int('42')]", 42),
        ("[int('forty')]", UNKNOWN),
        ("[bool('TRUE')]", True),
        ("[bool(0)]", False),
        ("[createObject('a', createArray(1, 2)).a[1]]", 2),
        ("[parameters('obj').inner.VALUE]", 7),
        ("[parameters('obj')['keys'][0]]", "x"),
        ("[parameters('list')[5]]", UNKNOWN),
        ("[parameters('obj').missing]", UNKNOWN),
        ("[length(parameters('list'))]", 2),
        ("[length('four')]", 4),
        ("[length(parameters('obj'))]", 2),
        ("[union(createObject('a', 1), createObject('b', 2))]", {"a": 1, "b": 2}),
        (
            "[union(createObject('n', createObject('x', 1)), createObject('n', createObject('y', 2)))]",
            {"n": {"x": 1, "y": 2}},
        ),
        ("[union(createArray(1, 2), createArray(2, 3))]", [1, 2, 3]),
        ("[contains('OneTwo', 'Two')]", True),
        ("[contains('OneTwo', 'two')]", False),
        ("[contains(parameters('list'), 'b')]", True),
        ("[contains(parameters('obj'), 'INNER')]", True),
        ("[coalesce(null(), 'x')]", "x"),
        ("[first(parameters('list'))]", "a"),
        ("[last('abc')]", "c"),
        ("[startsWith('Portal', 'port')]", True),
        ("[split('a,b', ',')]", ["a", "b"]),
        ("[join(createArray('a', 'b'), '-')]", "a-b"),
        ("[add(1, 2)]", 3),
        ("[div(-7, 2)]", -3),
        ("[mod(-7, 2)]", -1),
        ("[div(1, 0)]", UNKNOWN),
        ("[greater(2, 1)]", True),
        ("[range(1, 3)]", [1, 2, 3]),
        ("[max(createArray(1, 5, 2))]", 5),
        ("[json('{\"a\": [1]}').a[0]]", 1),
        # Repeated keys and overflowing numbers are refused as in the file readers, never "last one wins".
        ('[json(\'{"a": 1, "a": 2}\')]', UNKNOWN),
        ("[json('[-1e400]')]", UNKNOWN),
        ("[copyIndex()]", UNKNOWN),
        ("[reference('x')]", UNKNOWN),
        ("[listKeys('x', '2020-01-01').keys[0].value]", UNKNOWN),
        ("[uniqueString(resourceGroup().id)]", UNKNOWN),
        ("[guid('a')]", UNKNOWN),
        ("[newGuid()]", UNKNOWN),
        ("[utcNow()]", UNKNOWN),
        ("[deployment().name]", UNKNOWN),
        ("[environment().name]", UNKNOWN),
        ("[contoso.helper('a')]", UNKNOWN),
        ("[noSuchFunction()]", UNKNOWN),
        ("[concat('a', reference('x').y)]", UNKNOWN),
        ("[parameters('undeclared')]", None),
        ("[concat('pw=', parameters('secret'))]", SECRET),
        ("[toLower(parameters('secret'))]", SECRET),
        ("[equals(parameters('secret'), 'x')]", UNKNOWN),
        ("[length(parameters('secret'))]", UNKNOWN),
        ("[true]", True),
    ],
)
def test_expression(expression: str, expected: Any) -> None:
    result = evaluate_string(expression, ENV)
    if expected is UNKNOWN or expected is SECRET:
        assert result is expected
    else:
        assert result == expected
        assert type(result) is type(expected)


@pytest.mark.parametrize(
    "expression",
    ["[concat(]", "['open]", "[foo bar]", "[a.b]", "[1 2]", "[@]", "[f(,)]", "[f(1]", "[f(1))]", "[x.(1)]", "[f()[]]"],
)
def test_expression_syntax_errors(expression: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate_string(expression, ENV)
    assert len(str(caught.value).splitlines()) == 1


def test_expression_nesting_limit() -> None:
    deep = "concat(" * 100 + "'x'" + ")" * 100
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse(deep)


EXPRESSION_TEXT = st.text(alphabet="abcfnoprst(),.[]' 0123456789-_", max_size=60)


@given(EXPRESSION_TEXT)
def test_expressions_parse_or_raise_expression_error(text: str) -> None:
    try:
        evaluate_string(f"[{text}]", ENV)  # any value will do: only the exception type matters
    except ExpressionError as error:
        assert len(str(error).splitlines()) == 1


FUNCTION_NAMES = sorted(
    {"concat", "format", "union", "contains", "equals", "length", "if", "and", "or", "not", "empty", "string"}
    | {"int", "bool", "createArray", "createObject", "replace", "substring", "toLower", "resourceId", "first"}
    | {"split", "join", "coalesce", "add", "json", "copyIndex", "range", "max"}
)
ARGUMENTS = ["'a'", "1", "parameters('list')", "parameters('obj')", "reference('x')", "parameters('secret')"]


@given(
    st.recursive(
        st.sampled_from(ARGUMENTS),
        lambda inner: st.builds(
            "{}({})".format, st.sampled_from(FUNCTION_NAMES), st.lists(inner, max_size=4).map(", ".join)
        ),
        max_leaves=12,
    )
)
def test_well_formed_expressions_never_raise(text: str) -> None:
    evaluate_string(f"[{text}]", ENV)


# --- bad input -------------------------------------------------------------------------


def test_bad_files(tmp_path: Path) -> None:
    cases: list[tuple[str | bytes | None, str, str]] = [
        (None, "", "file not found"),
        ("", "", "file is empty"),
        ("  \n", "", "file is empty"),
        ('{"resources": [', "line 1, column 16", "truncated"),
        ('{"resources": [}\n', "line 1, column 16", "invalid JSON"),
        ('{\n  "resources": [],\n  "x": NaN\n}', "", "NaN is not a JSON value"),
        (b"\xff\xfe{}", "byte 0", "not UTF-8"),
        (b"\xef\xbb\xbf{\xff}", "byte 4", "not UTF-8"),  # the place counts the BOM
        ("[]", "", "expected an ARM template"),
        ('{"parameters": {}}', "/resources", "missing"),
        ('{"resources": {"a": 1}}', "/resources/a", "expected a resource object"),
        ('{"resources": 5}', "/resources", "expected an array"),
        ('{"resources": [{"name": "x"}]}', "/resources/0/type", "missing"),
        ('{"resources": [{"type": 7, "name": "x"}]}', "/resources/0/type", "expected a string"),
        ('{"resources": [{"type": "NotAType", "name": "x"}]}', "/resources/0/type", "not an ARM resource type"),
        ('{"resources": [{"type": "Microsoft.Web/sites"}]}', "/resources/0/name", "missing"),
        ('{"resources": [{"type": "Microsoft.Web/sites", "name": "a/b"}]}', "/resources/0/name", "2 segment(s)"),
        ('{"resources": [{"type": "Microsoft.Web/sites", "name": 3}]}', "/resources/0/name", "expected a string"),
        (
            '{"resources": [{"type": "Microsoft.Web/sites", "name": "a", "properties": {"x": "[concat(]"}}]}',
            "/resources/0/properties/x",
            "end of the expression",
        ),
        ('{"variables": {"v": "[f(]"}, "resources": []}', "/variables/v", "expected"),
        (
            '{"resources": [{"type": "Microsoft.Web/sites", "name": "a", "copy": {"name": "c", "count": 5000}}]}',
            "/resources/0/copy/count",
            "from 0 to 800",
        ),
        ('{"resources": [{"type": "Microsoft.Web/sites", "name": "a", "condition": 3}]}', "/resources/0/condition", ""),
        (
            '{"resources": [{"type": "Microsoft.Web/sites", "name": "a", "properties": 3}]}',
            "/resources/0/properties",
            "",
        ),
        (
            '{"resources": [{"type": "Microsoft.Web/sites", "name": "a", "resources": {"type": "x"}}]}',
            "/resources/0/resources",
            "expected an array",
        ),
        (
            '{"resources": [{"type": "Microsoft.Web/sites", "name": "a", '
            '"resources": [{"type": "b c", "name": "x"}]}]}',
            "/resources/0/resources/0/type",
            "not a child resource type",
        ),
        ('{"parameters": [], "resources": []}', "/parameters", "expected an object"),
        ('{"parameters": {"p": 1}, "resources": []}', "/parameters/p", "parameter definition"),
        ("[" * 5000 + "]" * 5000, "", "nested deeper"),
        (json.dumps({"resources": [], "x": json.loads("[" * 200 + "]" * 200)}), "", "nested deeper"),
    ]
    check_bad(load_arm_template, tmp_path, cases, place_prefix=True)


def test_size_limit_and_directory(tmp_path: Path) -> None:
    path = write(tmp_path, template())
    with pytest.raises(InputError, match="over the limit of 10 bytes"):
        load_arm_template(path, max_bytes=10)
    with pytest.raises(InputError, match="directory"):
        load_arm_template(tmp_path)


def test_bad_parameters_files(tmp_path: Path) -> None:
    document = write(tmp_path, template())
    for content, place in [
        (None, ""),
        ("[]", ""),
        ('{"parameters": []}', "/parameters"),
        ('{"parameters": {"a": 1}}', "/parameters/a"),
        ('{"parameters": {"a": {"default": 1}}}', "/parameters/a"),
    ]:
        parameters = tmp_path / "parameters.json"
        parameters.unlink(missing_ok=True)
        if content is not None:
            parameters.write_text(content, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            load_arm_template(document, parameters=parameters)
        assert caught.value.source == str(parameters)
        assert caught.value.place == place
        assert_one_line(caught.value)


# --- property-based: any input is an Inventory or an InputError -------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "[concat(",
            "[parameters('p')]",
            "[variables('v')]",
            "[reference('x').y]",
            "[copyIndex()]",
            "[resourceId('Microsoft.Web/sites', 'a')]",
            "Microsoft.Web/sites",
            "Microsoft.Network/virtualNetworks/subnets",
            "a/b",
            "/",
            "[secret]",
            UNKNOWN_SENTINEL,
            "azure-native:network:Subnet",
            "azure-native:nothing:Here",
            "pulumi:pulumi:Stack",
        ]
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def json_paths(document: Any) -> list[tuple[str | int, ...]]:
    """Every path in a JSON document (iteratively)."""
    found: list[tuple[str | int, ...]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        found.append(path)
        if isinstance(value, dict):
            stack.extend((item, (*path, key)) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
    return found


@st.composite
def mutations(draw: st.DrawFn, document: Any) -> Any:
    """A valid document with one to three random edits: a value replaced, a key or item removed."""
    mutated = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in json_paths(mutated) if p]
        if not paths:
            return draw(JSON_VALUES)
        path = draw(st.sampled_from(paths))
        parent = mutated
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()):
            parent[path[-1]] = draw(JSON_VALUES)
        else:
            del parent[path[-1]]
    return mutated


def outcome(loader: Callable[[Path], Inventory], content: bytes) -> Inventory | InputError:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "input.json"
        path.write_bytes(content)
        try:
            return loader(path)
        except InputError as error:
            assert_one_line(error)
            assert error.source == str(path)
            return error


PROPERTY_SETTINGS = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
ARM_DOCUMENTS = [json.loads(DEV_TEMPLATE.read_text(encoding="utf-8")), json.loads(EXPORT.read_text(encoding="utf-8"))]


def arm_loader(path: Path) -> Inventory:
    return load_arm_template(path, location="westeurope")


@PROPERTY_SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes(content: bytes) -> None:
    outcome(arm_loader, content)


@PROPERTY_SETTINGS
@given(JSON_VALUES)
def test_arbitrary_json(document: Any) -> None:
    outcome(arm_loader, json.dumps(document).encode())


@PROPERTY_SETTINGS
@given(st.sampled_from(ARM_DOCUMENTS).flatmap(mutations))
def test_mutated_templates(document: Any) -> None:
    result = outcome(arm_loader, json.dumps(document).encode())
    if isinstance(result, Inventory):
        for resource in result:
            assert isinstance(resource.body.get("properties"), dict)


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["Microsoft.Web/sites", "Microsoft.Network/virtualNetworks"]),
                "name": JSON_VALUES,
            },
            optional={
                "properties": JSON_VALUES,
                "condition": JSON_VALUES,
                "copy": JSON_VALUES,
                "resources": JSON_VALUES,
            },
        ),
        max_size=4,
    )
)
def test_arbitrary_resources(resources: list[Any]) -> None:
    outcome(arm_loader, json.dumps(template(*resources)).encode())


def leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every leaf of a folded body with its compiled path (for comparing sources)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def test_leaves_helper() -> None:
    body = fold({"properties": {"A": [1, {"b": 2}]}})
    assert list(leaves(body)) == [(("properties", "a", 0), 1), (("properties", "a", 1, "b"), 2)]
    assert lookup(body, compile_path("properties.A[1].B")) == 2
