"""``keyvault_private_endpoint_reachability``: who reaches the Key Vault that holds the database password.

The project's dev and prod stacks pass; mutations of them fail or err; and a corpus built from published
example bodies of the Azure REST API specifications (``tests/corpus/keyvault_reachability/published.json``
for the Key Vault and private endpoint examples, ``tests/corpus/reachability/published.json`` for the NSG,
subnet and gateway examples; each cited there by repository path and commit) gives the verdicts the
documentation decides:

* keyvault.json (specification/keyvault/resource-manager/Microsoft.KeyVault/stable/2024-11-01, commit
  315e54b7359504c9af7e9783946a6b62f4434eb0): ``publicNetworkAccess`` "If set to 'disabled' all traffic except
  private endpoint traffic and that that originates from trusted services will be blocked. This will override
  the set firewall rules", default ``enabled``; ``networkAcls.bypass`` "If not specified the default is
  'AzureServices'".
* "Manage network policies for private endpoints" (MicrosoftDocs/azure-docs
  articles/private-link/disable-private-endpoint-network-policy.md, commit 027faf67ae0df84208dd3480869a3a26de8caf49):
  "By default, network policies are disabled for a subnet ... network policy support must be enabled for the
  subnet"; the values Disabled, NetworkSecurityGroupEnabled, RouteTableEnabled, Enabled.
* network-security-groups-overview.md (commit 0088bfa77543e07f8a41771de8db977ddfc62e1d): AllowVNetInBound
  admits the VirtualNetwork tag; "All network traffic is allowed through a subnet ... if [it doesn't] have a
  network security group associated" (network-security-group-how-it-works.md).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.evaluate import nsg
from compliance_checks.findings import Finding, Verdict, worst
from compliance_checks.inventory import UNKNOWN, Inventory, Resource
from compliance_checks.sources.arm_template import flatten
from compliance_checks.sources.synth import inventory_from_synthesis
from tests.conftest import synth_cached

CHECK = load_checks()["keyvault_private_endpoint_reachability"]
CORPUS = Path(__file__).parent / "corpus"
KV_PUBLISHED = json.loads((CORPUS / "keyvault_reachability" / "published.json").read_text(encoding="utf-8"))
NET_PUBLISHED = json.loads((CORPUS / "reachability" / "published.json").read_text(encoding="utf-8"))
WHAT = "port 443/Tcp"


def published(key: str) -> dict[str, Any]:
    entry = KV_PUBLISHED.get(key) or NET_PUBLISHED[key]
    assert entry["repo"] == "Azure/azure-rest-api-specs" and entry["path"] and len(entry["commit"]) == 40
    body: dict[str, Any] = copy.deepcopy(entry["body"])
    return body


def stack(name: str) -> Inventory:
    return inventory_from_synthesis(synth_cached(name))


def judge(inventory: Inventory) -> Verdict:
    findings = CHECK.evaluate(inventory, Params())
    return worst([f.verdict for f in findings])


def _one(inventory: Inventory, kind: str, name_part: str = "") -> Resource:
    [found] = [r for r in inventory.of_type(kind) if name_part in r.name]
    return found


def replaced(inventory: Inventory, old: Resource, body: dict[str, Any] | None) -> Inventory:
    """The inventory with ``old``'s body replaced (its ID kept: the others still point at it); None drops it."""
    out = [r for r in inventory if r.id_key != old.id_key]
    if body is not None:
        out.append(old.with_body(body))
    return Inventory(out)


def added(inventory: Inventory, *resources: Resource) -> Inventory:
    return Inventory([*inventory, *resources])


def changed(inventory: Inventory, kind: str, name_part: str, change: Callable[[dict[str, Any]], None]) -> Inventory:
    resource = _one(inventory, kind, name_part)
    body = copy.deepcopy(dict(resource.body))
    change(body)
    return replaced(inventory, resource, body)


def vault(inventory: Inventory) -> Resource:
    return _one(inventory, "Microsoft.KeyVault/vaults")


def endpoints_subnet(inventory: Inventory) -> Resource:
    return _one(inventory, nsg.SUBNET, "snet-endpoints")


def arm_body(body: dict[str, Any]) -> dict[str, Any]:
    """A published body as the sources shape it: sub-resources inside ``properties`` flattened."""
    kept = {k: v for k, v in body.items() if k in ("location", "tags", "sku")}
    return {**kept, "properties": flatten(body["properties"])}


# --- the project's stacks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_stacks_pass_with_the_table_as_evidence(name: str) -> None:
    inventory = stack(name)
    findings = CHECK.evaluate(inventory, Params())
    assert [f.verdict for f in findings] == [Verdict.PASS, Verdict.PASS], [f.message for f in findings]
    [endpoint] = [f for f in findings if f.resource_type == nsg.PRIVATE_ENDPOINT]
    table = endpoint.evidence[0].observed
    portal = endpoints_subnet(inventory).get("properties.addressPrefix")
    assert isinstance(table, list) and {row["to"] for row in table} == {WHAT}
    assert [row["decided by"].split(" (")[0] for row in table] == [
        "rule AllowHttpsFromPortal",
        "rule AllowHttpsFromVpn",
    ]
    assert table[0]["from"] != portal  # the portal's subnet, not the endpoints' own


def _open_443_to_everyone(body: dict[str, Any]) -> None:
    rules = body["properties"]["securityRules"]
    rules.append(dict(rules[0], name="AllowHttpsFromAnywhere", priority=105, sourceAddressPrefix="0.0.0.0/0"))


def _subnet(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        if value is None:
            body["properties"].pop(key, None)
        else:
            body["properties"][key] = value

    return change


def _vault(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        node = body["properties"]
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return change


def _rule_source(source: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["properties"]["securityRules"][0]["sourceAddressPrefix"] = source

    return change


STACK_MUTATIONS: list[tuple[str, str, str, Callable[[dict[str, Any]], None], Verdict]] = [
    ("an NSG rule opens 443 from 0.0.0.0/0", nsg.NSG_TYPE, "nsg-endpoints", _open_443_to_everyone, Verdict.FAIL),
    ("network policies disabled", nsg.SUBNET, "snet-endpoints", _subnet("privateEndpointNetworkPolicies", "Disabled"),
     Verdict.FAIL),
    ("network policies absent (default Disabled)", nsg.SUBNET, "snet-endpoints",
     _subnet("privateEndpointNetworkPolicies", None), Verdict.FAIL),
    ("network policies for route tables only", nsg.SUBNET, "snet-endpoints",
     _subnet("privateEndpointNetworkPolicies", "RouteTableEnabled"), Verdict.FAIL),
    ("network policies for NSGs only", nsg.SUBNET, "snet-endpoints",
     _subnet("privateEndpointNetworkPolicies", "NetworkSecurityGroupEnabled"), Verdict.PASS),
    ("network policies unknown", nsg.SUBNET, "snet-endpoints", _subnet("privateEndpointNetworkPolicies", UNKNOWN),
     Verdict.ERROR),
    ("network policies not a documented value", nsg.SUBNET, "snet-endpoints",
     _subnet("privateEndpointNetworkPolicies", "Sometimes"), Verdict.ERROR),
    ("no NSG on the endpoints subnet", nsg.SUBNET, "snet-endpoints", _subnet("networkSecurityGroup", None),
     Verdict.FAIL),
    ("publicNetworkAccess Enabled", "Microsoft.KeyVault/vaults", "", _vault("publicNetworkAccess", "Enabled"),
     Verdict.FAIL),
    ("publicNetworkAccess absent (default enabled)", "Microsoft.KeyVault/vaults", "",
     _vault("publicNetworkAccess", None), Verdict.FAIL),
    ("publicNetworkAccess unknown", "Microsoft.KeyVault/vaults", "", _vault("publicNetworkAccess", UNKNOWN),
     Verdict.ERROR),
    ("bypass for trusted Azure services", "Microsoft.KeyVault/vaults", "",
     _vault("networkAcls.bypass", "AzureServices"), Verdict.FAIL),
    ("bypass absent (default AzureServices)", "Microsoft.KeyVault/vaults", "", _vault("networkAcls.bypass", None),
     Verdict.FAIL),
    ("a rule from an unknown service tag", nsg.NSG_TYPE, "nsg-endpoints", _rule_source("Storage.WestEurope"),
     Verdict.ERROR),
    ("a rule from the VirtualNetwork tag", nsg.NSG_TYPE, "nsg-endpoints", _rule_source("VirtualNetwork"),
     Verdict.FAIL),
    ("a rule from the Internet tag", nsg.NSG_TYPE, "nsg-endpoints", _rule_source("Internet"), Verdict.FAIL),
]  # fmt: skip


Mutation = tuple[str, str, str, Callable[[dict[str, Any]], None], Verdict]


@pytest.mark.parametrize("name", ["dev", "prod"])
@pytest.mark.parametrize("mutation", [pytest.param(m, id=m[0]) for m in STACK_MUTATIONS])
def test_mutations_of_the_stacks(name: str, mutation: Mutation) -> None:
    what, kind, part, change, expected = mutation
    findings = CHECK.evaluate(changed(stack(name), kind, part, change), Params())
    assert worst([f.verdict for f in findings]) == expected, (what, [f.message for f in findings])
    if expected == Verdict.FAIL:
        # The evidence is a table that names the offending sources.
        tables = [e.observed for f in findings if f.verdict == Verdict.FAIL for e in f.evidence]
        assert tables and all(t is not None for t in tables)


def test_an_endpoint_the_vault_lists_but_the_inventory_lacks_is_an_error() -> None:
    inventory = stack("dev")
    other = "/subscriptions/x/resourceGroups/elsewhere/providers/Microsoft.Network/privateEndpoints/theirs"
    mutated = changed(
        inventory,
        "Microsoft.KeyVault/vaults",
        "",
        _vault("privateEndpointConnections", [{"privateEndpoint": {"id": other}}]),
    )
    findings = CHECK.evaluate(mutated, Params())
    assert worst([f.verdict for f in findings]) == Verdict.ERROR
    assert any("not in the inventory" in f.message for f in findings)


def test_a_second_endpoint_in_an_unfiltered_subnet_fails() -> None:
    inventory = stack("dev")
    subnet = endpoints_subnet(inventory)
    second_id = subnet.id.rsplit("/", 1)[0] + "/snet-other"
    second = Resource.create(id=second_id, type=nsg.SUBNET, name="snet-other",
                             body={"properties": {"addressPrefix": "10.20.1.0/24"}})  # fmt: skip
    endpoint = _one(inventory, nsg.PRIVATE_ENDPOINT)
    body = copy.deepcopy(dict(endpoint.body))
    body["properties"]["subnet"] = {"id": second_id}
    twin = Resource.create(id=endpoint.id + "-2", type=nsg.PRIVATE_ENDPOINT, name=endpoint.name + "-2", body=body)
    findings = CHECK.evaluate(added(inventory, second, twin), Params())
    [failed] = [f for f in findings if f.verdict == Verdict.FAIL]
    assert failed.resource_id == twin.id and "has no NSG" in failed.message


# --- the published corpus ------------------------------------------------------------------------------------------


def _with_vault(key: str, **props: Any) -> Callable[[Inventory], Inventory]:
    def build(inventory: Inventory) -> Inventory:
        body = arm_body(published(key))
        for path, value in props.items():
            _vault(path.replace("__", "."), value)(body)
        return replaced(inventory, vault(inventory), body)

    return build


def _with_endpoint(key: str, *, drop_addresses: bool = False) -> Callable[[Inventory], Inventory]:
    """The stack's endpoint replaced by a published one, pointed at the stack's vault and endpoints subnet."""

    def build(inventory: Inventory) -> Inventory:
        body = arm_body(published(key))
        body["properties"]["privateLinkServiceConnections"][0]["privateLinkServiceId"] = vault(inventory).id
        body["properties"]["subnet"] = {"id": endpoints_subnet(inventory).id}
        if drop_addresses:
            body["properties"].pop("ipConfigurations", None)
        return replaced(inventory, _one(inventory, nsg.PRIVATE_ENDPOINT), body)

    return build


def _with_nsg(key: str, port: str | None = None) -> Callable[[Inventory], Inventory]:
    """The endpoints NSG's rules replaced by a published NSG's (optionally its rule1 moved to ``port``)."""

    def build(inventory: Inventory) -> Inventory:
        rules = flatten(published(key)["properties"]["securityRules"])
        if port is not None:
            rules[0]["destinationPortRange"] = port
        group = _one(inventory, nsg.NSG_TYPE, "nsg-endpoints")
        body = copy.deepcopy(dict(group.body))
        body["properties"]["securityRules"] = rules
        return replaced(inventory, group, body)

    return build


def _with_subnet(key: str, **extra: Any) -> Callable[[Inventory], Inventory]:
    """The endpoints subnet's body replaced by a published subnet's (plus ``extra`` properties)."""

    def build(inventory: Inventory) -> Inventory:
        body = arm_body(published(key))
        body["properties"].update(extra)
        return replaced(inventory, endpoints_subnet(inventory), body)

    return build


def _asg_rule(inventory: Inventory) -> Inventory:
    """The published endpoint with its ASG; the endpoints NSG admits 443 from that ASG, whose members are unread."""
    inventory = _with_endpoint("private-endpoint-create-with-asg")(inventory)
    asg = published("private-endpoint-create-with-asg")["properties"]["applicationSecurityGroups"][0]["id"]

    def change(body: dict[str, Any]) -> None:
        rule = body["properties"]["securityRules"][0]
        rule.pop("sourceAddressPrefix")
        rule["sourceApplicationSecurityGroups"] = [{"id": asg}]

    return changed(inventory, nsg.NSG_TYPE, "nsg-endpoints", change)


def _with_nat_gateway(inventory: Inventory) -> Inventory:
    """The published gateway (with NAT rules) in the stack's GatewaySubnet, the endpoints' network policies off."""
    body = arm_body(published("gateway-get"))
    gateway_subnet = _one(inventory, nsg.SUBNET, "GatewaySubnet")
    body["properties"]["ipConfigurations"][0]["subnet"] = {"id": gateway_subnet.id}
    gateway = _one(inventory, nsg.GATEWAY)
    inventory = replaced(inventory, gateway, body)
    return changed(inventory, nsg.SUBNET, "snet-endpoints", _subnet("privateEndpointNetworkPolicies", "Disabled"))


def _nat_gateway_vnet_rule(inventory: Inventory) -> Inventory:
    inventory = replaced(inventory, _one(inventory, nsg.GATEWAY), _gateway_body(inventory))
    return changed(inventory, nsg.NSG_TYPE, "nsg-endpoints", _rule_source("VirtualNetwork"))


def _gateway_body(inventory: Inventory) -> dict[str, Any]:
    body = arm_body(published("gateway-get"))
    body["properties"]["ipConfigurations"][0]["subnet"] = {"id": _one(inventory, nsg.SUBNET, "GatewaySubnet").id}
    return body


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Inventory], Inventory]
    verdict: Verdict
    reason: str


CASES = [
    Case("createVaultWithNetworkAcls as published", _with_vault("vault-create-with-network-acls"), Verdict.FAIL,
         "no publicNetworkAccess: the default 'enabled'; the vault accepts public traffic its firewall admits"),
    Case("getVault as published", _with_vault("vault-get"), Verdict.FAIL,
         "publicNetworkAccess Enabled: traffic from the public internet"),
    Case("createVaultWithNetworkAcls, public access disabled", _with_vault(
        "vault-create-with-network-acls", publicNetworkAccess="Disabled"), Verdict.FAIL,
         "its bypass AzureServices: traffic 'that originates from trusted services' still passes"),
    Case("createVaultWithNetworkAcls, public access disabled, bypass None", _with_vault(
        "vault-create-with-network-acls", publicNetworkAccess="Disabled", networkAcls__bypass="None"), Verdict.PASS,
         "'This will override the set firewall rules': its ipRules and virtualNetworkRules are not honoured"),
    Case("getVault, public access disabled, no networkAcls", _with_vault("vault-get", publicNetworkAccess="Disabled"),
         Verdict.FAIL, "bypass 'If not specified the default is AzureServices'"),
    Case("getVault, public access 'disabled' in the spec's lower case, bypass None", _with_vault(
        "vault-get", publicNetworkAccess="disabled", networkAcls__bypass="None"), Verdict.PASS,
         "the spec writes 'disabled'; ARM compares enumerations case-insensitively"),
    Case("PrivateEndpointGet in the endpoints subnet", _with_endpoint("private-endpoint-get"), Verdict.PASS,
         "the subnet NSG applies (network policies Enabled) and admits 443 only from the portal and the VPN"),
    Case("PrivateEndpointGet without its ipConfigurations", _with_endpoint("private-endpoint-get",
         drop_addresses=True), Verdict.PASS, "the whole subnet as destination: the same rules decide"),
    Case("PrivateEndpointCreateWithASG, a rule admitting its ASG", _asg_rule, Verdict.ERROR,
         "the ASG's members are not in the inventory: who the rule admits is unknown"),
    Case("NetworkSecurityGroupGet's rules on the endpoints NSG", _with_nsg("nsg-get"), Verdict.FAIL,
         "rule1 admits port 80 only; 443 meets AllowVnetInBound: the whole VirtualNetwork tag reaches the vault"),
    Case("NetworkSecurityGroupCreateWithRule's rule1 moved to 443", _with_nsg("nsg-create-with-rule", "443"),
         Verdict.FAIL, "rule1's source '*': every address reaches 443"),
    Case("NetworkSecurityGroupCreateWithRule's rule1 moved to 443-444", _with_nsg("nsg-create-with-rule", "443-444"),
         Verdict.FAIL, "a range containing 443 is 443"),
    Case("NetworkSecurityGroupCreateWithRule's rule1 on 8443", _with_nsg("nsg-create-with-rule", "8443"),
         Verdict.FAIL, "443 meets AllowVnetInBound (no explicit deny): the VirtualNetwork tag reaches the vault"),
    Case("SubnetGet as the endpoints subnet", _with_subnet("subnet-get"), Verdict.FAIL,
         "no NSG and network policies by default disabled: all traffic allowed, the virtual network reaches it"),
    Case("SubnetGet with the endpoints NSG, policies NetworkSecurityGroupEnabled", lambda inv: _with_subnet(
        "subnet-get", networkSecurityGroup={"id": _one(inv, nsg.NSG_TYPE, "nsg-endpoints").id},
        privateEndpointNetworkPolicies="NetworkSecurityGroupEnabled")(inv), Verdict.PASS,
         "NetworkSecurityGroupEnabled: the NSG applies to private endpoints"),
    Case("SubnetGet with the endpoints NSG, policies RouteTableEnabled", lambda inv: _with_subnet(
        "subnet-get", networkSecurityGroup={"id": _one(inv, nsg.NSG_TYPE, "nsg-endpoints").id},
        privateEndpointNetworkPolicies="RouteTableEnabled")(inv), Verdict.FAIL,
         "RouteTableEnabled enables route tables only: the NSG does not apply to private endpoints"),
    Case("VirtualNetworkGatewayGet (NAT rules) and network policies disabled", _with_nat_gateway, Verdict.FAIL,
         "the VirtualNetwork tag is unknown (NAT), but the virtual network's own space certainly reaches it"),
    Case("VirtualNetworkGatewayGet (NAT rules) and a rule from VirtualNetwork", _nat_gateway_vnet_rule,
         Verdict.ERROR, "the rule admits the VirtualNetwork tag, whose addresses the NAT rules make unknown"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_published_corpus(case: Case) -> None:
    findings: list[Finding] = CHECK.evaluate(case.build(stack("dev")), Params())
    verdict = worst([f.verdict for f in findings])
    assert verdict == case.verdict, (case.reason, [f.message for f in findings])


def test_the_corpus_is_cited() -> None:
    assert len(CASES) >= 10
    for key, entry in KV_PUBLISHED.items():
        if key.startswith("_"):
            continue
        assert entry["repo"] == "Azure/azure-rest-api-specs" and "/examples/" in entry["path"], key
        assert len(entry["commit"]) == 40 and entry["at"] and entry["body"], key
