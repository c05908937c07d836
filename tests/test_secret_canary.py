"""Canary: a unique value planted in every secret-bearing field of every source never comes out.

Each test plants ``CANARY`` (a fresh uuid4 hex) in the secret fields of
compliance_checks/data/secret_paths.json -- the PostgreSQL admin password,
the VPN gateway's RADIUS secrets (single and per server), a connection's
shared and authorization keys, a Key Vault secret's value, a certificate's
password and PFX, app settings as a list and as an object, connection
strings, a sites/config ``appsettings`` resource, a Pulumi secret signature
object with its plaintext -- runs the audit with every report format and
``export-arm``, and greps report.html, report.md, results.json,
results.sarif, junit.xml, manifest.json, standard output, standard error and
the exported template. The audits must also have read the planted resources
(their IDs are in results.json): a canary dropped with its resource proves nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.cli import main
from compliance_checks.inventory import Inventory, SecretValue

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SUB = "6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21"
RG = "rg-smartportal-dev-gwc"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}"
REPORT_FILES = ("report.html", "report.md", "results.json", "results.sarif", "junit.xml", "manifest.json")


@pytest.fixture
def canary() -> str:
    return uuid.uuid4().hex


def _sig(value: str) -> dict[str, str]:
    """Pulumi's secret signature object as `pulumi stack export --show-secrets` writes it."""
    return {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": json.dumps(value)}


def _pulumi_values(canary: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(token, name, ARM ID, SDK-shaped outputs) of resources with every secret field set to the canary."""
    net = f"{RG_ID}/providers/Microsoft.Network"
    web = f"{RG_ID}/providers/Microsoft.Web"
    return [
        (
            "azure-native:dbforpostgresql:Server",
            "psql-canary",
            f"{RG_ID}/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-canary",
            {"location": "germanywestcentral", "administratorLogin": "admin", "administratorLoginPassword": canary},
        ),
        (
            "azure-native:network:VirtualNetworkGateway",
            "vgw-canary",
            f"{net}/virtualNetworkGateways/vgw-canary",
            {
                "location": "germanywestcentral",
                "vpnClientConfiguration": {
                    "vpnClientProtocols": ["OpenVPN"],
                    "vpnAuthenticationTypes": ["Radius"],
                    "radiusServerAddress": "10.0.0.4",
                    "radiusServerSecret": canary,
                    "radiusServers": [
                        {"radiusServerAddress": "10.0.0.5", "radiusServerScore": 1, "radiusServerSecret": canary}
                    ],
                },
            },
        ),
        (
            "azure-native:network:VirtualNetworkGatewayConnection",
            "cn-canary",
            f"{net}/connections/cn-canary",
            {
                "location": "germanywestcentral",
                "connectionType": "IPsec",
                "virtualNetworkGateway1": {"id": f"{net}/virtualNetworkGateways/vgw-canary"},
                "sharedKey": canary,
                "authorizationKey": _sig(canary),
            },
        ),
        (
            "azure-native:keyvault:Secret",
            "kv-canary/secret-canary",
            f"{RG_ID}/providers/Microsoft.KeyVault/vaults/kv-canary/secrets/secret-canary",
            {"properties": {"value": canary, "contentType": "text/plain"}},
        ),
        (
            "azure-native:web:Certificate",
            "cert-canary",
            f"{web}/certificates/cert-canary",
            {"location": "germanywestcentral", "password": canary, "pfxBlob": canary},
        ),
        (
            "azure-native:web:WebApp",
            "app-canary-list",
            f"{web}/sites/app-canary-list",
            {
                "location": "germanywestcentral",
                "httpsOnly": True,
                "siteConfig": {
                    "appSettings": [{"name": "CANARY_SETTING", "value": canary}],
                    "connectionStrings": [{"name": "CANARY_DB", "connectionString": canary, "type": "Custom"}],
                },
            },
        ),
        (
            "azure-native:web:WebApp",
            "app-canary-object",
            f"{web}/sites/app-canary-object",
            {
                "location": "germanywestcentral",
                "httpsOnly": True,
                "siteConfig": {
                    "appSettings": {"CANARY_SETTING": canary, "APPINSIGHTS_INSTRUMENTATIONKEY": canary},
                    "connectionStrings": {"CANARY_DB": {"value": canary, "type": "Custom"}},
                },
                "tags": {"note": _sig(canary)},
            },
        ),
    ]


def _state(canary: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "pulumi-stack-export.json").read_text())
    for token, name, arm_id, outputs in _pulumi_values(canary):
        document["deployment"]["resources"].append(
            {
                "urn": f"urn:pulumi:dev::smart-portal::{token}::{name.replace('/', '-')}",
                "custom": True,
                "type": token,
                "id": arm_id,
                "inputs": {"resourceGroupName": RG, **copy.deepcopy(outputs)},
                "outputs": {"id": arm_id, "name": name.rsplit("/", 1)[-1], **copy.deepcopy(outputs)},
            }
        )
    return document


def _preview(canary: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "pulumi-preview.json").read_text())
    for token, name, arm_id, outputs in _pulumi_values(canary):
        urn = f"urn:pulumi:dev::smart-portal::{token}::{name.replace('/', '-')}"
        state = {
            "urn": urn,
            "custom": True,
            "type": token,
            "id": arm_id,
            "inputs": {"resourceGroupName": RG, **copy.deepcopy(outputs)},
            "outputs": {"id": arm_id, **copy.deepcopy(outputs)},
        }
        document["steps"].append({"op": "update", "urn": urn, "newState": state})
    return document


def _arm_resources(canary: str) -> list[dict[str, Any]]:
    """Template resources with every secret field set: literally, and through a plain parameter."""
    return [
        {
            "type": "Microsoft.DBforPostgreSQL/flexibleServers",
            "apiVersion": "2024-08-01",
            "name": "psql-canary",
            "location": "germanywestcentral",
            "properties": {"administratorLogin": "admin", "administratorLoginPassword": canary},
        },
        {
            "type": "Microsoft.Network/virtualNetworkGateways",
            "apiVersion": "2024-05-01",
            "name": "vgw-canary",
            "location": "germanywestcentral",
            "properties": {
                "vpnClientConfiguration": {
                    "vpnClientProtocols": ["OpenVPN"],
                    "radiusServerSecret": "[parameters('canaryPlain')]",
                    "radiusServers": [{"radiusServerAddress": "10.0.0.5", "radiusServerSecret": canary}],
                }
            },
        },
        {
            "type": "Microsoft.Network/connections",
            "apiVersion": "2024-05-01",
            "name": "cn-canary",
            "location": "germanywestcentral",
            "properties": {"connectionType": "IPsec", "sharedKey": canary, "authorizationKey": canary},
        },
        {
            "type": "Microsoft.KeyVault/vaults/secrets",
            "apiVersion": "2024-11-01",
            "name": "kv-canary/secret-canary",
            "properties": {"value": canary},
        },
        {
            "type": "Microsoft.Web/certificates",
            "apiVersion": "2024-11-01",
            "name": "cert-canary",
            "location": "germanywestcentral",
            "properties": {"password": canary, "pfxBlob": canary},
        },
        {
            "type": "Microsoft.Web/sites",
            "apiVersion": "2024-11-01",
            "name": "app-canary-list",
            "location": "germanywestcentral",
            "properties": {
                "siteConfig": {
                    "appSettings": [{"name": "CANARY_SETTING", "value": canary}],
                    "connectionStrings": [{"name": "CANARY_DB", "connectionString": canary, "type": "Custom"}],
                }
            },
        },
        {
            "type": "Microsoft.Web/sites",
            "apiVersion": "2024-11-01",
            "name": "app-canary-object",
            "location": "germanywestcentral",
            "properties": {"siteConfig": {"appSettings": {"CANARY_SETTING": canary}}},
        },
        {
            "type": "Microsoft.Web/sites/config",
            "apiVersion": "2024-11-01",
            "name": "app-canary-list/appsettings",
            "properties": {"CANARY_SETTING": canary},
        },
    ]


def _template(base: dict[str, Any], canary: str) -> dict[str, Any]:
    template = base.get("template", base) if "resources" not in base else base
    template.setdefault("parameters", {})["canaryPlain"] = {"type": "string", "defaultValue": canary}
    resources = template["resources"]
    for number, item in enumerate(_arm_resources(canary)):
        if isinstance(resources, dict):
            resources[f"canary{number}"] = item
        else:
            resources.append(item)
    return base


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _outputs(out: Path) -> Iterator[tuple[str, str]]:
    for name in REPORT_FILES:
        path = out / name
        assert path.exists(), f"{name} was not written"
        yield name, path.read_text(encoding="utf-8")


def _assert_clean(canary: str, texts: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> None:
    leaked = [name for name, text in texts if canary in text]
    assert not leaked, f"the canary leaked into {leaked}"


PLANTED = ("psql-canary", "vgw-canary", "cn-canary", "secret-canary", "cert-canary", "app-canary-list")


def _audit_and_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], canary: str, source: str, files: list[str]
) -> None:
    out = tmp_path / "report"
    code, stdout, stderr = _run(["audit", "--source", source, *files, "--out", str(out), "--format", "all"], capsys)
    assert code in (0, 1, 2), stderr
    texts = [*_outputs(out), ("stdout", stdout), ("stderr", stderr)]
    results = json.loads((out / "results.json").read_text())
    read = {r["name"] for r in results["inventory"]["resources"]}
    assert set(PLANTED) <= read, f"planted resources not read: {set(PLANTED) - read}"
    export = tmp_path / "export.json"
    code, stdout2, stderr2 = _run(["export-arm", "--source", source, *files, "--out", str(export)], capsys)
    assert code == 0, stderr2
    code, stdout3, stderr3 = _run(["export-arm", "--source", source, *files], capsys)
    assert code == 0, stderr3
    assert '"resources"' in stdout3
    texts += [("export-arm file", export.read_text()), ("export-arm stdout", stdout3)]
    texts += [("export-arm stderr", stderr2 + stderr3), ("export-arm stdout (file)", stdout2)]
    _assert_clean(canary, texts)
    assert "[parameters('exportedSecret')]" in export.read_text()  # the secrets are there, as a secure parameter


def test_pulumi_state(tmp_path: Path, capsys: pytest.CaptureFixture[str], canary: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(_state(canary)))
    _audit_and_export(tmp_path, capsys, canary, "pulumi-state", ["--input", str(path)])


def test_pulumi_preview(tmp_path: Path, capsys: pytest.CaptureFixture[str], canary: str) -> None:
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(_preview(canary)))
    _audit_and_export(tmp_path, capsys, canary, "pulumi-preview", ["--input", str(path)])


def test_arm_template_with_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str], canary: str) -> None:
    template = _template(json.loads((FIXTURES / "arm-dev-estate.json").read_text()), canary)
    parameters = json.loads((FIXTURES / "arm-dev-estate.parameters.json").read_text())
    parameters["parameters"]["canaryPlain"] = {"value": canary}  # a plain (not secure) parameter's value
    (tmp_path / "t.json").write_text(json.dumps(template))
    (tmp_path / "p.json").write_text(json.dumps(parameters))
    files = ["--input", str(tmp_path / "t.json"), "--parameters", str(tmp_path / "p.json")]
    _audit_and_export(tmp_path, capsys, canary, "arm", files)


def test_az_group_export(tmp_path: Path, capsys: pytest.CaptureFixture[str], canary: str) -> None:
    document = json.loads((FIXTURES / "arm-az-group-export.json").read_text())
    _template(document, canary)
    (tmp_path / "export-input.json").write_text(json.dumps(document))
    _audit_and_export(tmp_path, capsys, canary, "arm", ["--input", str(tmp_path / "export-input.json")])


def test_synth_generated_passwords(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Synth: the stack's generated passwords (database admin, S2S shared key) are the canaries."""
    from infra.synth import Secret, synthesize

    overrides: dict[str, Any] = {"dbPasswordAuth": True, "vpnMode": "s2s", "vpnClientAddressPool": None}
    synthesis = synthesize("dev", overrides=overrides)
    secrets = [
        str(r.outputs["result"].reveal() if isinstance(r.outputs["result"], Secret) else r.outputs["result"])
        for r in synthesis.resources
        if r.token == "random:index/randomPassword:RandomPassword"
    ]
    assert all(len(s) >= 16 and s != "[secret]" for s in secrets)
    assert len(secrets) >= 2, "the stack generates the database password and the shared key"
    stack_file = tmp_path / "Pulumi.canary.yaml"
    original = (Path(__file__).parent.parent / "infra" / "stacks" / "Pulumi.dev.yaml").read_text()
    assert "smart-portal:vpnMode: p2s" in original
    stack_file.write_text(
        original.replace("smart-portal:vpnMode: p2s", "smart-portal:vpnMode: s2s").replace(
            "  smart-portal:vpnClientAddressPool: 172.16.201.0/28\n", ""
        )
        + "\n  smart-portal:dbPasswordAuth: true\n"
    )
    out = tmp_path / "report"
    code, stdout, stderr = _run(["audit", "--source", "synth", "--input", str(stack_file), "--out", str(out)], capsys)
    assert code in (0, 1, 2), stderr
    texts = [*_outputs(out), ("stdout", stdout), ("stderr", stderr)]
    code, export, stderr2 = _run(["export-arm", "--source", "synth", "--input", str(stack_file)], capsys)
    assert code == 0, stderr2
    texts += [("export-arm", export), ("export-arm stderr", stderr2)]
    for secret in secrets:
        _assert_clean(secret, texts)


def _live_bodies(canary: str) -> list[dict[str, Any]]:
    """REST bodies as ARM returns them (``properties`` nested), with the canary in every secret field."""
    bodies: list[dict[str, Any]] = []
    for item in _arm_resources(canary):
        kind, name = item["type"], item["name"]
        parts = name.split("/")
        types = kind.split("/")[1:]
        rid = f"{RG_ID}/providers/{kind.split('/')[0]}/" + "/".join(
            f"{t}/{n}" for t, n in zip(types, parts, strict=True)
        )
        properties = json.loads(json.dumps(item["properties"]).replace("[parameters('canaryPlain')]", canary))
        bodies.append(
            {"id": rid, "type": kind, "name": parts[-1], "location": item.get("location"), "properties": properties}
        )
    site = f"{RG_ID}/providers/Microsoft.Web/sites/app-canary-list"
    bodies.append(
        {
            "id": f"{site}/config/web",
            "type": "Microsoft.Web/sites/config",
            "name": "web",
            "properties": {"appSettings": [{"name": "CANARY_SETTING", "value": canary}], "ftpsState": "Disabled"},
        }
    )
    return bodies


def test_live_collection(tmp_path: Path, capsys: pytest.CaptureFixture[str], canary: str) -> None:
    """The live source's shaping of REST bodies, rendered by every report writer (no HTTP: the bodies are given)."""
    from compliance_checks.catalog import load_catalog
    from compliance_checks.checks import load_checks
    from compliance_checks.cli import print_summary, write_reports
    from compliance_checks.engine import evaluate
    from compliance_checks.export_arm import export_template
    from compliance_checks.live.collect import Collection
    from compliance_checks.report.results import build_results
    from compliance_checks.sources.live import load_live

    collection = Collection(subscriptions=(SUB,), arm=_live_bodies(canary))
    collection.finished_at = dt.datetime.now(dt.UTC)
    inventory: Inventory = load_live(collection)
    gateway = next(r for r in inventory if r.name == "vgw-canary")
    assert isinstance(gateway.get("properties.vpnClientConfiguration.radiusServerSecret"), SecretValue)
    result = evaluate(inventory, catalog=load_catalog(), checks=load_checks())
    results = build_results(result, source="live", stack=None)
    out = tmp_path / "report"
    paths = write_reports(results, ["json", "html", "md", "sarif", "junit"], out)
    print_summary(results, paths)
    captured = capsys.readouterr()
    template = json.dumps(export_template(inventory))
    _assert_clean(
        canary,
        [*_outputs(out), ("stdout", captured.out), ("stderr", captured.err), ("export", template)],
    )
