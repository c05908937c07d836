"""The redaction (compliance_checks/redaction.py) and its data file, checked against the installed Pulumi SDKs."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.findings import Evidence, Finding, Verdict
from compliance_checks.inventory import MISSING, SECRET, UNKNOWN, Resource, SecretValue
from compliance_checks.redaction import (
    DATA_FILE,
    SecretPathsError,
    _load,
    parse_path,
    redact_body,
    redact_evidence,
    rules,
    scrub_document,
    scrub_text,
)
from compliance_checks.render_values import jsonable, show
from compliance_checks.sources.azure_native import GRAPH_TYPES
from infra.azure_types import ARM_ID_TEMPLATES, arm_type

_SECRET_OUTPUTS = re.compile(r"additional_secret_outputs=\[([^\]]*)\]")
_GETTER = re.compile(r'getter\(name="([A-Za-z0-9_]+)"\)')


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return loaded


def _sdk_module(token: str) -> Any:
    """The Python module that defines a Pulumi resource token's class."""
    package, module, name = token.split(":")
    if package == "azuread":
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        return importlib.import_module(f"pulumi_azuread.{snake}")
    root = importlib.import_module(f"pulumi_azure_native.{module}")
    return inspect.getmodule(getattr(root, name))


def secret_outputs(token: str) -> set[str]:
    """The ``additional_secret_outputs`` a resource class of the installed SDK declares."""
    source = inspect.getsource(_sdk_module(token))
    found: set[str] = set()
    for match in _SECRET_OUTPUTS.finditer(source):
        found.update(re.findall(r'"([^"]+)"', match.group(1)))
    return found


def _covered(kind: str) -> set[str]:
    """Lower-case property names secret for an ARM/Graph type: its paths' leaves and every secret name."""
    current = rules()
    leaves = {steps[-1] for steps in current.by_type.get(kind.lower(), ())}
    return leaves | set(current.names) | set(current.containers)


def test_every_entry_names_its_source_and_parses() -> None:
    document = _document()
    sources = document["sources"]
    for entry in [*document["paths"], *document["names"], *document["containers"]]:
        assert entry["source"] in sources, entry
    for entry in document["paths"]:
        assert entry["marker"] in ("x-ms-secret", "description", "policy"), entry
        parse_path(entry["path"])
    assert rules().by_type  # loaded


def test_the_data_file_names_the_issue_defects() -> None:
    """The three fields found leaking are covered by the data file, not by code."""
    current = rules()
    gateway = current.by_type["microsoft.network/virtualnetworkgateways"]
    assert ("properties", "vpnclientconfiguration", "radiusserversecret") in gateway
    assert ("properties", "vpnclientconfiguration", "radiusservers", "[*]", "radiusserversecret") in gateway
    assert ("properties", "administratorloginpassword") in current.by_type["microsoft.dbforpostgresql/flexibleservers"]
    assert {"appsettings", "connectionstrings"} <= set(current.containers)


def test_secret_outputs_extraction_sees_what_the_sdk_declares() -> None:
    # azuread's ApplicationPassword marks its value secret: proof the extraction reads the SDK.
    assert secret_outputs("azuread:index/applicationPassword:ApplicationPassword") == {"value"}


@pytest.mark.parametrize(
    "token", sorted([*ARM_ID_TEMPLATES, *GRAPH_TYPES]), ids=lambda t: t.split(":", 1)[1].replace("/", "-")
)
def test_every_sdk_secret_output_of_the_projects_types_is_covered(token: str) -> None:
    kind = GRAPH_TYPES[token][0] if token in GRAPH_TYPES else arm_type(token)
    missing = {name for name in secret_outputs(token) if name.lower() not in _covered(kind)}
    assert not missing, f"{token} declares secret outputs {sorted(missing)} that secret_paths.json does not cover"


def test_every_path_names_a_property_of_the_installed_sdk() -> None:
    """Each property name of a (type, path) entry exists in the SDK module of that type (spelling check)."""
    by_kind = {arm_type(token).lower(): token for token in ARM_ID_TEMPLATES}
    by_kind["microsoft.network/connections"] = "azure-native:network:VirtualNetworkGatewayConnection"
    checked = 0
    for entry in _document()["paths"]:
        token = by_kind.get(entry["type"].lower())
        if token is None or entry["marker"] == "policy":
            continue
        module = _sdk_module(token)
        package = importlib.import_module(module.__name__.rsplit(".", 1)[0])
        text = inspect.getsource(module) + inspect.getsource(importlib.import_module(f"{package.__name__}._inputs"))
        getters = set(_GETTER.findall(text)) | set(re.findall(r"def ([a-z_]+)\(self\)", text))
        for step in entry["path"].replace("[*]", "").split(".")[1:]:
            assert step in getters, f"{entry['type']}: {step} is no property of {token} in the installed SDK"
        checked += 1
    assert checked >= 6


def test_a_malformed_data_file_is_refused() -> None:
    with pytest.raises(SecretPathsError):
        _load({"sources": {}, "paths": [{"type": "X/y", "path": "properties.a", "source": "nowhere"}]})
    with pytest.raises(SecretPathsError):
        _load({"sources": {"s": "x"}, "paths": [{"type": "X/y", "path": "properties.a b", "source": "s"}]})


def _resource(kind: str, body: dict[str, Any], name: str = "r") -> Resource:
    return Resource.create(
        id=f"/subscriptions/s/resourceGroups/g/providers/{kind}/{name}", type=kind, name=name, body=body
    )


def test_radius_secrets_are_hidden_by_type_path_at_inventory_construction() -> None:
    canary = uuid.uuid4().hex
    gateway = _resource(
        "Microsoft.Network/virtualNetworkGateways",
        {
            "properties": {
                "vpnClientConfiguration": {
                    "RadiusServerSecret": canary,
                    "radiusServers": [{"radiusServerAddress": "10.0.0.5", "radiusServerSecret": canary}],
                    "aadTenant": "https://login.microsoftonline.com/t/",
                }
            }
        },
    )
    client = gateway.get("properties.vpnClientConfiguration")
    assert isinstance(client["radiusserversecret"], SecretValue)
    assert isinstance(gateway.get("properties.vpnClientConfiguration.radiusServers[0].radiusServerSecret"), SecretValue)
    assert gateway.get("properties.vpnClientConfiguration.radiusServers[0].radiusServerAddress") == "10.0.0.5"
    assert gateway.get("properties.vpnClientConfiguration.aadTenant") == "https://login.microsoftonline.com/t/"
    assert canary not in show(client) and canary not in json.dumps(jsonable(gateway.body))


def test_a_type_path_hides_a_field_whose_name_alone_is_not_secret() -> None:
    secret = _resource("Microsoft.KeyVault/vaults/secrets", {"properties": {"value": "hunter2-but-longer"}}, "kv/s")
    other = _resource("Microsoft.Insights/actionGroups", {"properties": {"value": "kept"}})
    assert secret.get("properties.value") is SECRET
    assert other.get("properties.value") == "kept"


@pytest.mark.parametrize(
    "settings",
    [
        [{"name": "API_KEY", "value": "v-123456789", "slotSetting": False}],
        {"API_KEY": "v-123456789"},
    ],
    ids=["list", "object"],
)
def test_app_settings_values_are_secret_names_kept(settings: Any) -> None:
    site = _resource(
        "Microsoft.Web/sites",
        {
            "properties": {
                "siteConfig": {
                    "appSettings": settings,
                    "connectionStrings": [{"name": "DB", "connectionString": "Server=x;Password=p-123456789"}],
                    "minTlsVersion": "1.2",
                }
            }
        },
    )
    shown = show(site.get("properties.siteConfig"))
    assert "api_key" in shown.lower() and "DB" in shown and "1.2" in shown  # folded: object keys lower-cased
    assert "v-123456789" not in shown and "p-123456789" not in shown
    if isinstance(settings, list):
        assert site.get("properties.siteConfig.appSettings[0].slotSetting") is False
        assert site.get("properties.siteConfig.appSettings[0].value") is SECRET
    else:
        assert site.get("properties.siteConfig.appSettings.API_KEY") is SECRET


def test_source_markers_are_secret_anywhere() -> None:
    marked = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": '"plain-123456"'}
    body = redact_body(
        "Microsoft.Unknown/things",
        "n",
        {"properties": {"a": marked, "b": "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/s)"}},
    )
    assert body["properties"]["a"] is SECRET
    assert body["properties"]["b"] is SECRET


def test_unset_and_unknown_secrets_stay_what_they_are() -> None:
    body = redact_body(
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "db",
        {"properties": {"administratorLoginPassword": None, "password": "", "sharedKey": UNKNOWN}},
    )
    assert body["properties"] == {"administratorLoginPassword": None, "password": "", "sharedKey": UNKNOWN}


def test_evidence_and_messages_never_carry_a_redacted_value() -> None:
    canary = uuid.uuid4().hex
    _resource("Microsoft.Network/connections", {"properties": {"sharedKey": canary}})  # seen once, redacted
    evidence = Evidence("properties.sharedKey", canary, f"not {canary}")
    assert evidence.observed is SECRET and canary not in evidence.expected
    nested = Evidence("properties", {"sharedKey": "other-123456", "x": f"copy of {canary}"}, "anything")
    assert nested.observed["sharedKey"] is SECRET
    assert canary not in json.dumps(jsonable(nested.observed))
    finding = Finding("c", Verdict.FAIL, "/r", "T", f"key {canary} is weak", (evidence,))
    assert canary not in finding.message and "[secret]" in finding.message
    assert canary not in json.dumps(scrub_document({"k": [f"x{canary}y"], canary: 1}))
    assert scrub_text("short") == "short"  # nothing else is touched


def test_evidence_path_naming_a_container_keeps_names_only() -> None:
    observed = redact_evidence("properties.siteConfig.appSettings", [{"name": "A", "value": "s-123456789"}])
    assert observed == [{"name": "A", "value": SECRET}]
    assert redact_evidence("properties.x", MISSING) is MISSING


def test_export_arm_writes_no_secret_even_from_a_body_built_without_create(tmp_path: Path) -> None:
    from compliance_checks.export_arm import export_template
    from compliance_checks.inventory import Inventory, fold

    canary = uuid.uuid4().hex
    kind = "Microsoft.DBforPostgreSQL/flexibleServers"
    rid = f"/subscriptions/s/resourceGroups/g/providers/{kind}/db"
    body = {"properties": {"administratorLoginPassword": canary}}
    # Bypasses Resource.create on purpose: export-arm redacts by itself too.
    raw = Resource(rid, kind, "db", body, "germanywestcentral", "t", "o", fold(body), rid.lower(), kind.lower())
    template = json.dumps(export_template(Inventory([raw])))
    assert canary not in template and "[parameters('exportedSecret')]" in template


def test_the_scrub_pattern_finds_every_secret_longest_first() -> None:
    from compliance_checks.redaction import _trie_pattern

    secrets = {uuid.uuid4().hex for _ in range(500)} | {"abcdefgh", "abcdefghij", "Server=x;Password=p"}
    pattern = re.compile(_trie_pattern(secrets))
    one = sorted(secrets)[7]
    text = f"a {one} b abcdefghij c abcdefghX d Server=x;Password=p."
    assert pattern.sub("#", text) == "a # b # c #X d #."


def test_a_literal_scrubbed_in_an_export_stays_a_literal_and_names_are_not_remembered(tmp_path: Path) -> None:
    """A remembered secret that is also the whole of some literal becomes ``[[secret]``, which ARM reads back
    as the text ``[secret]`` (``[secret]`` alone would be an expression); and the strings inside a malformed
    app settings value (names as often as secrets) are hidden but not remembered, so they are not scrubbed
    everywhere else."""
    from compliance_checks.export_arm import export_template
    from compliance_checks.inventory import Inventory
    from compliance_checks.redaction import scrub_text

    canary, name = uuid.uuid4().hex, f"SETTING_{uuid.uuid4().hex[:8].upper()}"
    site = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app"
    malformed = Resource.create(
        id=site,
        type="Microsoft.Web/sites",
        name="app",
        body={"properties": {"siteConfig": {"appSettings": {"odd": [{"name": name, "value": canary}]}}}},
    )
    assert scrub_text(f"x {name} y") == f"x {name} y"
    kind = "Microsoft.DBforPostgreSQL/flexibleServers"
    server = Resource.create(
        id=f"/subscriptions/s/resourceGroups/g/providers/{kind}/db",
        type=kind,
        name="db",
        body={"properties": {"administratorLoginPassword": canary, "administratorLogin": canary}},
    )
    template = export_template(Inventory([malformed, server]))
    [exported] = [r for r in template["resources"] if r["type"] == kind]
    assert exported["properties"]["administratorLogin"] == "[[secret]"
    assert canary not in json.dumps(template)
