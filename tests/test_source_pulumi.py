"""Sources ``pulumi-state`` and ``pulumi-preview``: the same estate as the synth source sees it.

The state and preview documents are generated from ``infra.synth.synthesize``
(each recorded resource turned into the shapes ``pulumi stack export`` and
``pulumi preview --json`` write, secrets encoded the Pulumi way), so they stay
in step with the program; two small hand-written fixtures pin the real formats.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance_checks.errors import InputError
from compliance_checks.inventory import MISSING, SECRET, UNKNOWN, Inventory, Resource, lookup
from compliance_checks.sources.azure_native import SECRET_SIGNATURE, SECRET_SIGNATURE_KEY, UNKNOWN_SENTINEL
from compliance_checks.sources.pulumi_preview import load_pulumi_preview
from compliance_checks.sources.pulumi_state import canonical_token, load_pulumi_state
from compliance_checks.sources.synth import inventory_from_synthesis, load_synth
from infra.synth import Secret, Synthesis
from tests.conftest import synth_cached
from tests.test_source_arm import (
    JSON_VALUES,
    PROPERTY_SETTINGS,
    assert_one_line,
    check_bad,
    leaves,
    mutations,
    outcome,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
STATE_FIXTURE = FIXTURES / "pulumi-stack-export.json"
PREVIEW_FIXTURE = FIXTURES / "pulumi-preview.json"
SUBSCRIPTION = "6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21"
PREFIX = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-smartportal-dev-gwc/providers"
SIGNATURE = {SECRET_SIGNATURE_KEY: SECRET_SIGNATURE}


# --- turning a synthesis into the documents the Pulumi CLI writes -------------------------


def ciphertext(value: Any) -> dict[str, Any]:
    """A secret as `pulumi stack export` writes it (the ciphertext here is a stand-in, not the value)."""
    digest = hashlib.sha256(json.dumps(value, default=str).encode()).hexdigest()
    return {**SIGNATURE, "ciphertext": f"v1:{digest[:16]}:{digest[16:48]}"}


def plaintext(value: Any) -> dict[str, Any]:
    """A secret as `pulumi stack export --show-secrets` writes it."""
    return {**SIGNATURE, "plaintext": json.dumps(value)}


def encode(value: Any, secret: Callable[[Any], Any]) -> Any:
    if isinstance(value, Secret):
        return secret(value.reveal())
    if isinstance(value, dict):
        return {key: encode(item, secret) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item, secret) for item in value]
    return value


def stack_urn(synthesis: Synthesis) -> str:
    return (
        f"urn:pulumi:{synthesis.stack}::{synthesis.project}::pulumi:pulumi:Stack::{synthesis.project}-{synthesis.stack}"
    )


def provider_urn(synthesis: Synthesis, token: str) -> str:
    package = token.split(":", 1)[0]
    return f"urn:pulumi:{synthesis.stack}::{synthesis.project}::pulumi:providers:{package}::default"


def state_document(synthesis: Synthesis, secret: Callable[[Any], Any] = ciphertext) -> dict[str, Any]:
    root = stack_urn(synthesis)
    resources: list[dict[str, Any]] = [
        {"urn": root, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": encode(synthesis.outputs, secret)}
    ]
    for package in ("azure-native", "azuread", "random"):
        resources.append(
            {
                "urn": provider_urn(synthesis, f"{package}:x"),
                "custom": True,
                "id": hashlib.md5(package.encode()).hexdigest(),
                "type": f"pulumi:providers:{package}",
                "inputs": {"version": "1.0.0"},
                "outputs": {"version": "1.0.0"},
            }
        )
    for recorded in synthesis.resources:
        entry: dict[str, Any] = {
            "urn": recorded.urn,
            "custom": recorded.custom,
            "type": recorded.token,
            "parent": recorded.parent or root,
            "dependencies": list(recorded.dependencies),
        }
        if recorded.custom:
            entry["id"] = str(recorded.outputs.get("id") or "")
            entry["inputs"] = encode(dict(recorded.inputs), secret)
            entry["outputs"] = encode(dict(recorded.outputs), secret)
            entry["provider"] = f"{provider_urn(synthesis, recorded.token)}::{entry['id'][:8]}"
        resources.append(entry)
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2025-05-06T09:14:27.481093+02:00", "magic": "0" * 64, "version": "v3.171.0"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:AAAA:v1:BBBB:CCCC"}},
            "resources": resources,
        },
    }


def _redacted(value: Any) -> str:
    return "[secret]"


# What the preview document changes relative to the synthesis: these become unknown until apply.
CREATED = "azure-native:dbforpostgresql:Server"
UPDATED = "azure-native:web:WebApp"
REPLACED = "azure-native:web:Certificate"
UNKNOWN_PATHS = {
    CREATED: [("properties", "fullyqualifieddomainname")],
    UPDATED: [("properties", "customdomainverificationid"), ("identity", "principalid")],
    REPLACED: [("properties", "thumbprint")],
}


def preview_document(synthesis: Synthesis) -> dict[str, Any]:
    root = stack_urn(synthesis)
    steps: list[dict[str, Any]] = [
        {"op": "same", "urn": root, "newState": {"urn": root, "custom": False, "type": "pulumi:pulumi:Stack"}}
    ]
    for recorded in synthesis.resources:
        state: dict[str, Any] = {
            "urn": recorded.urn,
            "custom": recorded.custom,
            "type": recorded.token,
            "parent": recorded.parent or root,
            "inputs": encode(dict(recorded.inputs), _redacted),
            "outputs": encode(dict(recorded.outputs), _redacted) if recorded.custom else {},
        }
        if recorded.custom:
            state["id"] = str(recorded.outputs.get("id") or "")
        op = "same"
        if recorded.token == CREATED:
            op = "create"
            del state["id"]
            state["outputs"].update({"id": UNKNOWN_SENTINEL, "fullyQualifiedDomainName": UNKNOWN_SENTINEL})
        elif recorded.token == UPDATED:
            op = "update"
            state["outputs"]["customDomainVerificationId"] = UNKNOWN_SENTINEL
            state["outputs"]["identity"] = {**state["outputs"]["identity"], "principalId": UNKNOWN_SENTINEL}
        elif recorded.token == REPLACED:
            del state["id"]
            state["outputs"]["thumbprint"] = UNKNOWN_SENTINEL
            steps.append({"op": "create-replacement", "urn": recorded.urn, "newState": copy.deepcopy(state)})
            op = "replace"
        steps.append({"op": op, "urn": recorded.urn, "newState": state})
        if recorded.token == REPLACED:
            steps.append({"op": "delete-replaced", "urn": recorded.urn, "oldState": {"urn": recorded.urn}})
    gone = f"urn:pulumi:{synthesis.stack}::{synthesis.project}::azure-native:network:PublicIPAddress::old-pip"
    steps.append(
        {"op": "delete", "urn": gone, "oldState": {"urn": gone, "type": "azure-native:network:PublicIPAddress"}}
    )
    return {
        "config": {"smart-portal:environment": synthesis.stack},
        "steps": steps,
        "duration": 1_000_000_000,
        "changeSummary": {"same": len(steps) - 6, "create": 1, "update": 1, "replace": 1, "delete": 1},
    }


def write(tmp_path: Path, document: Any, name: str = "input.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dev_synth() -> tuple[Inventory, Synthesis]:
    return load_synth("dev")


@pytest.fixture(scope="module")
def state_inventory(dev_synth: tuple[Inventory, Synthesis], tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = write(tmp_path_factory.mktemp("state"), state_document(dev_synth[1]))
    return load_pulumi_state(path)


@pytest.fixture(scope="module")
def preview_inventory(dev_synth: tuple[Inventory, Synthesis], tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = write(tmp_path_factory.mktemp("preview"), preview_document(dev_synth[1]))
    return load_pulumi_preview(path)


def synth_leaves(resource: Resource) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    return leaves(resource.folded)


# --- the same estate through synth, state and preview -------------------------------------


@pytest.mark.parametrize("source", ["state", "preview"])
def test_same_types_and_ids_as_synth(
    source: str, dev_synth: tuple[Inventory, Synthesis], state_inventory: Inventory, preview_inventory: Inventory
) -> None:
    synth = dev_synth[0]
    other = state_inventory if source == "state" else preview_inventory
    assert Counter(r.type for r in other) == Counter(r.type for r in synth)
    assert sorted(r.id for r in other) == sorted(r.id for r in synth)
    assert other.sources == (f"pulumi-{source}",)
    for resource in other:
        assert resource.origin.startswith("urn:pulumi:dev::smart-portal::")
        assert resource.location == synth.get(resource.id).location  # type: ignore[union-attr]


def test_state_keeps_every_value_synth_sees(dev_synth: tuple[Inventory, Synthesis], state_inventory: Inventory) -> None:
    compared = 0
    for expected in dev_synth[0]:
        actual = state_inventory.get(expected.id)
        assert actual is not None
        for path, value in synth_leaves(expected):
            assert lookup(actual.folded, path) == value, (expected.id, path)
            compared += 1
    assert compared > 300


def test_preview_keeps_known_values_and_unknowns_are_unknown(
    dev_synth: tuple[Inventory, Synthesis], preview_inventory: Inventory
) -> None:
    unknown_paths = {
        dev_synth[1].one(token).arm.id: paths  # type: ignore[union-attr]
        for token, paths in UNKNOWN_PATHS.items()
    }
    for expected in dev_synth[0]:
        actual = preview_inventory.get(expected.id)
        assert actual is not None
        for path, value in synth_leaves(expected):
            if path in unknown_paths.get(expected.id, []):
                continue
            assert lookup(actual.folded, path) == value, (expected.id, path)
    for resource_id, paths in unknown_paths.items():
        resource = preview_inventory.get(resource_id)
        assert resource is not None
        for path in paths:
            assert lookup(resource.folded, path) is UNKNOWN, (resource_id, path)


@pytest.mark.parametrize("source", ["state", "preview"])
def test_key_security_properties_agree(
    source: str, dev_synth: tuple[Inventory, Synthesis], state_inventory: Inventory, preview_inventory: Inventory
) -> None:
    synth = dev_synth[0]
    other = state_inventory if source == "state" else preview_inventory
    checks = {
        "Microsoft.Web/sites": [
            "properties.httpsOnly",
            "properties.siteConfig.minTlsVersion",
            "properties.siteConfig.ftpsState",
        ],
        "Microsoft.DBforPostgreSQL/flexibleServers": [
            "properties.network.publicNetworkAccess",
            "properties.authConfig.passwordAuth",
        ],
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations": ["properties.value"],
        "Microsoft.KeyVault/vaults": ["properties.publicNetworkAccess", "properties.networkAcls.defaultAction"],
        "Microsoft.Network/networkSecurityGroups": ["properties.securityRules"],
        "Microsoft.Network/virtualNetworks/subnets": ["properties.networkSecurityGroup.id"],
        "Microsoft.Web/sites/hostNameBindings": ["properties.sslState"],
        "Microsoft.Graph/conditionalAccessPolicies": ["grantControls", "conditions"],
    }
    for kind, paths in checks.items():
        assert synth.of_type(kind), kind
        for expected in synth.of_type(kind):
            actual = other.get(expected.id)
            assert actual is not None and actual.type == expected.type
            for path in paths:
                assert actual.get(path) == expected.get(path), (expected.id, path)
                assert (actual.get(path) is MISSING) == (expected.get(path) is MISSING)
    (app,) = other.of_type("Microsoft.Web/sites")
    assert app.get("properties.httpsOnly") is True
    (server,) = other.of_type("Microsoft.DBforPostgreSQL/flexibleServers")
    assert server.get("properties.network.publicNetworkAccess") == "Disabled"
    # Subnets point at their NSGs in every source.
    for subnet in other.of_type("Microsoft.Network/virtualNetworks/subnets"):
        expected_refs = sorted(r.id for r in synth.refs_from(synth.get(subnet.id)))  # type: ignore[arg-type]
        assert sorted(r.id for r in other.refs_from(subnet)) == expected_refs


@pytest.mark.parametrize("encoding", [ciphertext, plaintext])
def test_state_secrets_are_secret(encoding: Callable[[Any], Any], tmp_path: Path) -> None:
    synthesis = synth_cached("dev", {"dbPasswordAuth": True})
    inventory = load_pulumi_state(write(tmp_path, state_document(synthesis, encoding)))
    (server,) = inventory.of_type("Microsoft.DBforPostgreSQL/flexibleServers")
    assert server.get("properties.administratorLoginPassword") is SECRET
    assert server.get("properties.authConfig.passwordAuth") == "Enabled"
    (secret,) = inventory.of_type("Microsoft.KeyVault/vaults/secrets")
    assert secret.get("properties.$value") is SECRET
    password = synthesis.one("random:index/randomPassword:RandomPassword").outputs["result"].reveal()
    assert password and password not in repr([(r.body, r.folded) for r in inventory])
    synth = inventory_from_synthesis(synthesis)
    assert sorted(r.id for r in inventory) == sorted(r.id for r in synth)


def test_preview_secrets_are_secret(tmp_path: Path) -> None:
    synthesis = synth_cached("dev", {"dbPasswordAuth": True})
    inventory = load_pulumi_preview(write(tmp_path, preview_document(synthesis)))
    (server,) = inventory.of_type("Microsoft.DBforPostgreSQL/flexibleServers")
    assert server.get("properties.administratorLoginPassword") is SECRET
    password = synthesis.one("random:index/randomPassword:RandomPassword").outputs["result"].reveal()
    assert password not in json.dumps(preview_document(synthesis))


# --- the hand-written fixtures (shaped on real CLI output) ---------------------------------


def test_hand_written_stack_export() -> None:
    inventory = load_pulumi_state(STATE_FIXTURE)
    assert Counter(r.type for r in inventory) == {
        "Microsoft.Resources/resourceGroups": 1,
        "Microsoft.Network/networkSecurityGroups": 1,
        "Microsoft.Network/virtualNetworks/subnets": 1,
        "Microsoft.DBforPostgreSQL/flexibleServers": 1,
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations": 1,  # a versioned token
        "Microsoft.Web/sites": 2,  # the copy pending deletion (delete: true) still exists, and is audited
        "Microsoft.Graph/groups": 1,
    }
    server = inventory.get(f"{PREFIX}/Microsoft.DBforPostgreSQL/flexibleServers/psql-smartportal-dev-gwc")
    assert server is not None
    # The deployed state (outputs), not the declared one (inputs): public access drifted to Enabled.
    assert server.get("properties.network.publicNetworkAccess") == "Enabled"
    assert server.get("properties.administratorLoginPassword") is SECRET
    assert server.location == "germanywestcentral"
    assert "ciphertext" not in repr(server.body)
    nsg = inventory.get(f"{PREFIX}/Microsoft.Network/networkSecurityGroups/nsg-database-smartportal-dev-gwc")
    assert nsg is not None
    assert nsg.get("properties.securityRules[1].access") == "Deny"
    assert nsg.get("properties.defaultSecurityRules[0].name") == "AllowVnetInBound"
    (subnet,) = inventory.of_type("Microsoft.Network/virtualNetworks/subnets")
    assert [r.id for r in inventory.refs_from(subnet)] == [nsg.id]
    (group,) = inventory.of_type("Microsoft.Graph/groups")
    assert group.id == "graph:/groups/e02c56d0-ba57-4332-a980-79074f45e700"
    assert group.get("securityEnabled") is True
    assert inventory.sources == ("pulumi-state",)


def test_hand_written_preview() -> None:
    inventory = load_pulumi_preview(PREVIEW_FIXTURE)
    assert sorted(r.type for r in inventory) == [
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "Microsoft.Network/virtualNetworks/subnets",
        "Microsoft.Resources/resourceGroups",
        "Microsoft.Web/certificates",
        "Microsoft.Web/sites",
    ]
    assert not inventory.of_type("Microsoft.Network/publicIPAddresses")  # op "delete"
    server = inventory.get(f"{PREFIX}/Microsoft.DBforPostgreSQL/flexibleServers/psql-smartportal-dev-gwc")
    assert server is not None  # being created: the ID comes from its inputs
    assert server.get("properties.fullyQualifiedDomainName") is UNKNOWN
    assert server.get("properties.network.delegatedSubnetResourceId") is UNKNOWN
    assert server.get("properties.network.publicNetworkAccess") == "Disabled"
    assert server.get("properties.administratorLoginPassword") is SECRET  # "[secret]"
    app = inventory.get(f"{PREFIX}/Microsoft.Web/sites/app-smartportal-dev-gwc")
    assert app is not None
    assert app.get("properties.httpsOnly") is True  # the new state, not the old one
    assert app.get("properties.siteConfig.appSettings[0].value") is SECRET
    assert app.get("properties.outboundIpAddresses") is UNKNOWN
    (certificate,) = inventory.of_type("Microsoft.Web/certificates")
    assert certificate.get("properties.thumbprint") is UNKNOWN  # replaced: the new copy
    (subnet,) = inventory.of_type("Microsoft.Network/virtualNetworks/subnets")
    assert subnet.id.endswith("::network-snet-extra#unknown-id")  # its VNet name is unknown too
    assert subnet.get("properties.addressPrefix") == "10.20.1.0/26"


def test_preview_subscription_can_be_given(tmp_path: Path) -> None:
    document = json.loads(PREVIEW_FIXTURE.read_text(encoding="utf-8"))
    document["steps"] = [s for s in document["steps"] if s["op"] == "create"]
    document["changeSummary"] = {"create": 2}  # no "same" steps are left, and the summary says so
    inventory = load_pulumi_preview(write(tmp_path, document), subscription_id="11111111-2222-3333-4444-555555555555")
    (server,) = inventory.of_type("Microsoft.DBforPostgreSQL/flexibleServers")
    assert server.id.startswith("/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/")
    zeros = load_pulumi_preview(write(tmp_path, document))
    assert zeros.of_type("Microsoft.DBforPostgreSQL/flexibleServers")[0].id.startswith(
        "/subscriptions/00000000-0000-0000-0000-000000000000/"
    )


def test_canonical_token() -> None:
    assert canonical_token("azure-native:network/v20240301:VirtualNetwork") == "azure-native:network:VirtualNetwork"
    assert canonical_token("azure-native:network:VirtualNetwork") == "azure-native:network:VirtualNetwork"
    assert canonical_token("azuread:index/group:Group") == "azuread:index/group:Group"


# --- bad input ---------------------------------------------------------------------------

STATE_RESOURCE = {
    "urn": "urn:pulumi:dev::p::azure-native:network:Subnet::s",
    "custom": True,
    "type": "azure-native:network:Subnet",
    "id": f"{PREFIX}/Microsoft.Network/virtualNetworks/v/subnets/s",
    "outputs": {"addressPrefix": "10.0.0.0/24"},
}


def state_with(*resources: Any) -> str:
    return json.dumps({"version": 3, "deployment": {"resources": list(resources)}})


def preview_with(*steps: Any) -> str:
    """A preview of these steps, with the changeSummary Pulumi writes beside any step (a count per operation)."""
    summary: dict[str, int] = {}
    for item in steps:
        if isinstance(item, dict) and isinstance(item.get("op"), str):
            summary[item["op"]] = summary.get(item["op"], 0) + 1
    return json.dumps({"steps": list(steps), **({"changeSummary": summary} if summary else {})})


def step(**changes: Any) -> dict[str, Any]:
    return {"op": "create", "urn": STATE_RESOURCE["urn"], "newState": {**STATE_RESOURCE, **changes}}


COMMON_BAD_FILES: list[tuple[str | bytes | None, str, str]] = [
    (None, "", "file not found"),
    ("", "", "file is empty"),
    ("\ufeff \n", "", "file is empty"),
    ('{"version": 3, "deployment": {"resources": [', "line 1, column 45", "truncated"),
    ('{"version": 3,,}', "line 1, column 15", "invalid JSON"),
    ('{"a": Infinity}', "/a", "Infinity is not a JSON value"),
    ('{"a": ' + "1" * 500 + "}", "/a", "too long"),
    (b"{\x80}", "byte 1", "not UTF-8"),
    (b"\xef\xbb\xbf{\x80}", "byte 4", "not UTF-8"),  # the place counts the BOM
    ("[]", "", "expected the JSON of"),
    ('"text"', "", "expected the JSON of"),
]

STATE_BAD: list[tuple[str, str, str]] = [
    ('{"deployment": {}}', "/version", "missing"),
    ('{"version": 2, "deployment": {}}', "/version", "unsupported"),
    ('{"version": true, "deployment": {}}', "/version", "unsupported"),
    ('{"version": 3}', "/deployment", "expected the deployment object"),
    ('{"version": 3, "deployment": {"resources": {}}}', "/deployment/resources", "expected an array"),
    (state_with(5), "/deployment/resources/0", "expected a resource object"),
    (state_with({**STATE_RESOURCE, "type": None}), "/deployment/resources/0/type", "missing"),
    (state_with({k: v for k, v in STATE_RESOURCE.items() if k != "urn"}), "/deployment/resources/0/urn", "missing"),
    (state_with({**STATE_RESOURCE, "type": 5}), "/deployment/resources/0/type", "expected a string"),
    (state_with({**STATE_RESOURCE, "type": "Subnet"}), "/deployment/resources/0/type", "not a Pulumi type token"),
    (state_with({**STATE_RESOURCE, "custom": "yes"}), "/deployment/resources/0/custom", "expected a boolean"),
    (state_with({**STATE_RESOURCE, "id": 7}), "/deployment/resources/0/id", "expected a string"),
    (state_with({**STATE_RESOURCE, "outputs": []}), "/deployment/resources/0/outputs", "expected an object"),
    (state_with({**STATE_RESOURCE, "inputs": "x"}), "/deployment/resources/0/inputs", "expected an object"),
    (state_with({**STATE_RESOURCE, "outputs": SIGNATURE}), "/deployment/resources/0/outputs", "got [secret]"),
    (
        state_with(
            {
                **STATE_RESOURCE,
                "urn": "urn:pulumi:dev::p::azure-native:cdn:Profile::cdn",
                "type": "azure-native:cdn:Profile",
            }
        ),
        "/deployment/resources/0/type",
        "urn:pulumi:dev::p::azure-native:cdn:Profile::cdn: no ARM mapping for azure-native:cdn:Profile",
    ),
]

PREVIEW_BAD: list[tuple[str, str, str]] = [
    ("{}", "/steps", "missing"),
    ('{"steps": {}}', "/steps", "expected an array"),
    (preview_with([]), "/steps/0", "expected a step object"),
    (preview_with({"urn": "u", "newState": {}}), "/steps/0/op", "missing"),
    (preview_with({"op": 1, "newState": {}}), "/steps/0/op", "expected a string"),
    (preview_with({"op": "create", "urn": 5}), "/steps/0/urn", "expected a string"),
    (preview_with({"op": "create", "urn": "u"}), "/steps/0/newState", "expected the resource's new state"),
    (preview_with(step(type=None)), "/steps/0/newState/type", "missing"),
    (preview_with(step(outputs=3)), "/steps/0/newState/outputs", "expected an object"),
    (preview_with(step(type="azure-native:nothing:Here")), "/steps/0/newState/type", "no ARM mapping"),
]


def test_bad_state_files(tmp_path: Path) -> None:
    check_bad(load_pulumi_state, tmp_path, [*COMMON_BAD_FILES, *STATE_BAD])


def test_bad_preview_files(tmp_path: Path) -> None:
    check_bad(load_pulumi_preview, tmp_path, [*COMMON_BAD_FILES, *PREVIEW_BAD])


def test_size_limits(tmp_path: Path) -> None:
    path = write(tmp_path, STATE_FIXTURE.read_text(encoding="utf-8"))
    for loader in (load_pulumi_state, load_pulumi_preview):
        with pytest.raises(InputError, match="over the limit of 1000 bytes") as caught:
            loader(path, max_bytes=1000)
        assert_one_line(caught.value)


def test_skipped_and_tolerated_entries(tmp_path: Path) -> None:
    state = state_with(
        {"urn": "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev", "custom": False, "type": "pulumi:pulumi:Stack"},
        {
            "urn": "urn:pulumi:dev::p::pulumi:providers:azure-native::default",
            "custom": True,
            "type": "pulumi:providers:azure-native",
        },
        {"urn": "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b", "custom": True, "type": "aws:s3/bucket:Bucket"},
        {
            "urn": "urn:pulumi:dev::p::random:index/randomId:RandomId::r",
            "custom": True,
            "type": "random:index/randomId:RandomId",
        },
        {"urn": "urn:pulumi:dev::p::my:component:Thing::t", "custom": False, "type": "my:component:Thing"},
        {**STATE_RESOURCE, "inputs": None, "outputs": None},
        {**STATE_RESOURCE, "urn": "urn:pulumi:dev::p::azure-native:network:Subnet::t", "id": "/", "outputs": {}},
    )
    inventory = load_pulumi_state(write(tmp_path, state))
    assert [r.type for r in inventory] == ["Microsoft.Network/virtualNetworks/subnets"] * 2
    assert inventory.resources[1].id.endswith("#unknown-id")  # "/" is no ID, and there are no path inputs
    empty = load_pulumi_state(write(tmp_path, '{"version": 3, "deployment": {"resources": null}}'))
    assert len(empty) == 0
    assert len(load_pulumi_preview(write(tmp_path, '{"steps": null}'))) == 0


def test_named_location_with_unknown_ranges(tmp_path: Path) -> None:
    token = "azuread:index/namedLocation:NamedLocation"
    document = preview_with(
        {
            "op": "create",
            "urn": f"urn:pulumi:dev::p::{token}::loc",
            "newState": {
                "type": token,
                "custom": True,
                "inputs": {"displayName": "allowed", "ip": {"ipRanges": UNKNOWN_SENTINEL, "trusted": True}},
            },
        }
    )
    (location,) = load_pulumi_preview(write(tmp_path, document))
    assert location.type == "Microsoft.Graph/namedLocations"
    assert location.get("ipRanges") is UNKNOWN
    assert location.get("isTrusted") is True


# --- property-based: any input is an Inventory or an InputError ----------------------------

STATE_DOCUMENTS = [json.loads(STATE_FIXTURE.read_text(encoding="utf-8"))]
PREVIEW_DOCUMENTS = [json.loads(PREVIEW_FIXTURE.read_text(encoding="utf-8"))]


@PROPERTY_SETTINGS
@given(st.binary(max_size=200), st.sampled_from([load_pulumi_state, load_pulumi_preview]))
def test_arbitrary_bytes(content: bytes, loader: Callable[[Path], Inventory]) -> None:
    outcome(loader, content)


@PROPERTY_SETTINGS
@given(JSON_VALUES, st.sampled_from([load_pulumi_state, load_pulumi_preview]))
def test_arbitrary_json(document: Any, loader: Callable[[Path], Inventory]) -> None:
    outcome(loader, json.dumps(document).encode())


@PROPERTY_SETTINGS
@given(st.sampled_from(STATE_DOCUMENTS).flatmap(mutations))
def test_mutated_state(document: Any) -> None:
    outcome(load_pulumi_state, json.dumps(document).encode())


@PROPERTY_SETTINGS
@given(st.sampled_from(PREVIEW_DOCUMENTS).flatmap(mutations))
def test_mutated_preview(document: Any) -> None:
    outcome(load_pulumi_preview, json.dumps(document).encode())


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "urn": st.just("urn:pulumi:dev::p::t::n") | st.text(max_size=8),
                "type": st.sampled_from(
                    [
                        "azure-native:network:Subnet",
                        "azure-native:web:WebApp",
                        "azure-native:network/v20240301:NetworkSecurityGroup",
                        "azuread:index/group:Group",
                        "azuread:index/namedLocation:NamedLocation",
                        "azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy",
                        "azure-native:monitor:DiagnosticSetting",
                    ]
                ),
            },
            optional={"custom": JSON_VALUES, "id": JSON_VALUES, "inputs": JSON_VALUES, "outputs": JSON_VALUES},
        ),
        max_size=4,
    ),
    st.booleans(),
)
def test_arbitrary_resources(resources: list[Any], as_preview: bool) -> None:
    if as_preview:
        outcome(load_pulumi_preview, preview_with(*({"op": "create", "newState": r} for r in resources)).encode())
    else:
        outcome(load_pulumi_state, state_with(*resources).encode())


def test_an_indented_export_above_ten_thousand_resources_is_read_whole(
    dev_synth: tuple[Inventory, Synthesis], state_inventory: Inventory, tmp_path: Path
) -> None:
    """`pulumi stack export` indents by 4 spaces; one of more than 10,000 resources (the former cap) is read one
    resource at a time, and every copy's resources come out with their IDs, none lost or merged."""
    document = state_document(dev_synth[1])
    rg = "rg-smartportal-dev-gwc"
    head = [e for e in document["deployment"]["resources"] if not e["type"].startswith("azure-native:")]
    body = json.dumps([e for e in document["deployment"]["resources"] if e["type"].startswith("azure-native:")])
    copies = 10_500 // body.count('"urn"') + 1
    resources = list(head)
    for number in range(copies):
        copied = body.replace(rg, f"rg-copy-{number}").replace("::smart-portal::", f"::smart-portal::c{number}-")
        resources.extend(json.loads(copied))
    document["deployment"]["resources"] = resources
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document, indent=4), encoding="utf-8")
    assert len(resources) > 10_000
    inventory = load_pulumi_state(path)
    original = {r.id_key for r in state_inventory if f"/resourcegroups/{rg}/" in r.id_key}
    assert original
    for number in range(copies):
        ids = {r.id_key for r in inventory if f"/resourcegroups/rg-copy-{number}/" in r.id_key}
        assert ids == {i.replace(rg, f"rg-copy-{number}") for i in original}, number
