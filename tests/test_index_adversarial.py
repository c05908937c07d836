"""The per-inventory indexes (issue 15) answer what the plain scans they replaced answer -- and never less.

Each index is checked against its naive definition (the per-pair scan of the code before the index, written out
below) on generated inventories whose keys are hostile: the same ID in other case, padded with blanks, with a
trailing "/" or an empty segment, names that are a prefix of another by characters (``v1``/``v10``), unknown and
secret values. ARM compares IDs case-insensitively ("Resource and resource group names are case-insensitive ...
Always perform a case-insensitive comparison of names": MicrosoftDocs/azure-docs articles/azure-resource-manager/
management/resource-name-rules.md), so case never separates two keys; any other irregular spelling names no
resource Azure would resolve for certain, so it is filed as unplaced: it may be any, and the answers it could
change are unresolved (ERROR), never smaller (a false PASS).

Then each attack end to end, through the check that consults the index, on the dev stack.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance_checks.checks import load_checks
from compliance_checks.checks import rbac_developers_least_privilege as rbac
from compliance_checks.checks.activity_log_alert_network_changes import estate_groups, unplaced_watched
from compliance_checks.checks.base import Params
from compliance_checks.checks.nsg_database_port_two_sources import endpoints_of, unplaced_endpoints
from compliance_checks.evaluate import nsg
from compliance_checks.evaluate.addresses import AddressSet
from compliance_checks.findings import Finding, Verdict, worst
from compliance_checks.inventory import SECRET, UNKNOWN, Inventory, Resource, canonical_id
from compliance_checks.sources.synth import load_synth
from infra import well_known

CHECKS = load_checks()
SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
NET = f"{SUB}/resourceGroups/rg/providers/Microsoft.Network"

settings.register_profile("index", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def dev() -> Inventory:
    return load_synth("dev")[0]


def _case(draw: st.DrawFn, text: str) -> str:
    """``text`` with a drawn mix of upper and lower case."""
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if f else c.lower() for c, f in zip(text, flips, strict=True))


@st.composite
def hostile_id(draw: st.DrawFn, base: str) -> Any:
    """An ID as another resource may write it: any case, or padded, trailing-slashed, doubled, unknown, secret."""
    spelled = _case(draw, base)
    return draw(
        st.sampled_from(
            [
                spelled,
                spelled,
                spelled,
                f" {spelled}",
                f"{spelled} ",
                f"{spelled}/",
                spelled.replace("/", "//", 1) if spelled.count("/") > 1 else spelled,
                UNKNOWN,
                SECRET,
                None,
            ]
        )
    )


def _unplaced_text(value: Any) -> bool:
    """What the indexes must file as unplaced: anything but absent or an ID spelled plainly (any case)."""
    return value is not None and canonical_id(value) is None


# --- canonical_id ---------------------------------------------------------------------------------------------------


@given(st.text(alphabet="/ aAbB-", max_size=12))
def test_canonical_id_is_lower_case_or_none_and_ignores_only_case(text: str) -> None:
    key = canonical_id(text)
    if key is not None:
        assert key == text.lower() and canonical_id(text.upper()) == key
        assert text.startswith("/") and not text.endswith("/") and "//" not in text and text == text.strip()


# --- gateways by network ------------------------------------------------------------------------------------------

VNETS = [f"{NET}/virtualNetworks/v1", f"{NET}/virtualNetworks/v10", f"{NET}/virtualNetworks/v1/subnets/x"]


def _naive_gateways(inventory: Inventory, vnet: Resource) -> tuple[list[Resource], list[Resource]]:
    """The scan the index replaced (every gateway with a configuration whose subnet ID starts with the network's ID +
    "/subnets/", compared in lower case), and the gateways of no known place (which make every tag unresolved)."""
    placed, unplaced = [], []
    for gateway in inventory.of_type(nsg.GATEWAY):
        configs = gateway.get("properties.ipConfigurations")
        ids = [c.get("subnet", {}).get("id") if isinstance(c.get("subnet"), dict) else c.get("subnet") for c in configs]
        if any(_unplaced_text(i) for i in ids):
            unplaced.append(gateway)
        if any(canonical_id(i) and i.lower().startswith(vnet.id_key + "/subnets/") for i in ids):
            placed.append(gateway)
    return placed, unplaced


@st.composite
def gateway_inventories(draw: st.DrawFn) -> Inventory:
    vnets = [
        Resource.create(id=v, type=nsg.VNET, name=v.rsplit("/", 1)[-1], body={"properties": {}}) for v in VNETS[:2]
    ]
    gateways = []
    for number in range(draw(st.integers(0, 4))):
        subnets = draw(st.lists(st.sampled_from([*VNETS, f"{NET}/virtualNetworks/v"]), max_size=3))
        configs = [{"subnet": {"id": draw(hostile_id(v + "/subnets/GatewaySubnet"))}} for v in subnets]
        gateways.append(
            Resource.create(
                id=f"{NET}/virtualNetworkGateways/g{number}",
                type=nsg.GATEWAY,
                name=f"g{number}",
                body={"properties": {"ipConfigurations": configs}},
            )
        )
    return Inventory([*vnets, *gateways])


@settings(settings.get_profile("index"))
@given(gateway_inventories())
def test_the_gateway_index_answers_the_plain_scan(inventory: Inventory) -> None:
    index = nsg._gateways_by_network(inventory)
    for vnet in inventory.of_type(nsg.VNET):
        placed, unplaced = _naive_gateways(inventory, vnet)
        assert index.get(vnet.id_key, []) == placed
        assert index.get(nsg._UNPLACED, []) == unplaced


@pytest.mark.parametrize("spelling", [" {id}", "{id} ", "{id}/", "{vnet}//subnets/GatewaySubnet"])
def test_a_gateway_subnet_id_of_no_plain_spelling_leaves_every_tag_unresolved(dev: Inventory, spelling: str) -> None:
    """Before: `` /subscriptions/...`` was filed under a key no network has, so the gateway -- its client pool, its
    connections (BGP: unresolved) -- silently dropped out of the VirtualNetwork tag."""
    [gateway] = dev.of_type(nsg.GATEWAY)
    subnet = gateway.body["properties"]["ipConfigurations"][0]["subnet"]["id"]
    written = spelling.format(id=subnet, vnet=subnet.rsplit("/subnets/", 1)[0])
    body = copy.deepcopy(dict(gateway.body))
    body["properties"]["ipConfigurations"][0]["subnet"]["id"] = written
    mutated = Inventory([r if r is not gateway else gateway.with_body(body) for r in dev])
    for vnet in mutated.of_type(nsg.VNET):
        assert isinstance(nsg.virtual_network_addresses(mutated, vnet), nsg.Unresolved), written


def _connection(gateway_id: Any, **extra: Any) -> Resource:
    return Resource.create(
        id=f"{NET}/connections/c1",
        type=nsg.CONNECTION,
        name="c1",
        body={"properties": {"virtualNetworkGateway1": {"id": gateway_id}, **extra}},
    )


@pytest.mark.parametrize("spelling", ["upper", "padded", "slash", UNKNOWN, SECRET])
def test_a_connection_of_unknown_gateway_leaves_the_tag_unresolved(dev: Inventory, spelling: Any) -> None:
    """A BGP connection makes its gateway's network tag unresolved; one whose gateway reference is spelled in
    another case belongs to it (ARM IDs are case-insensitive); one of unknown or irregular reference may belong to
    it. Before: only an exact lower-case match counted, anything else was skipped (a resolved, smaller tag)."""
    [gateway] = dev.of_type(nsg.GATEWAY)
    written = {"upper": gateway.id.upper(), "padded": f" {gateway.id}", "slash": f"{gateway.id}/"}.get(
        spelling if isinstance(spelling, str) else "", spelling
    )
    mutated = Inventory([*dev, _connection(written, enableBgp=True)])
    [vnet] = mutated.of_type(nsg.VNET)
    assert isinstance(nsg.virtual_network_addresses(dev, vnet), AddressSet)
    assert isinstance(nsg.virtual_network_addresses(mutated, vnet), nsg.Unresolved)


def test_a_connection_of_another_gateway_leaves_the_tag_alone(dev: Inventory) -> None:
    mutated = Inventory([*dev, _connection(f"{NET}/virtualNetworkGateways/elsewhere", enableBgp=True)])
    [vnet] = mutated.of_type(nsg.VNET)
    assert nsg.virtual_network_addresses(mutated, vnet) == nsg.virtual_network_addresses(dev, vnet)


@pytest.mark.parametrize("element", [UNKNOWN, SECRET, 10])
def test_an_unknown_prefix_in_a_list_is_no_smaller_set(element: Any) -> None:
    """nsg.prefixes skipped non-text elements: a virtual network of ["10.0.0.0/16", <unknown>] had a tag of
    10.0.0.0/16 alone (a preview's computed prefix is some block, not none)."""
    assert isinstance(nsg.prefixes(["10.0.0.0/16", element], "x"), nsg.Unresolved)
    assert nsg.prefixes(["10.0.0.0/16"], "x") == AddressSet.parse("10.0.0.0/16")


# --- application security group members ---------------------------------------------------------------------------

ASGS = [f"{NET}/applicationSecurityGroups/a1", f"{NET}/applicationSecurityGroups/a10"]


def _naive_members(inventory: Inventory, asg: Resource) -> nsg.Resolved:
    """The scan the index replaced: for one group, every NIC configuration and private endpoint naming it (IDs in
    lower case); any member whose groups are not known (unknown, or no plain spelling) makes it unresolved."""
    parts: list[nsg.Resolved] = []
    for nic in inventory.of_type(nsg.NIC):
        for config in nic.get("properties.ipConfigurations"):
            refs = [r.get("id") for r in config.get("applicationsecuritygroups", [])]
            if any(canonical_id(r) is None for r in refs):
                return nsg.Unresolved("unplaced")
            if asg.id_key in [r.lower() for r in refs]:
                parts.append(nsg.prefixes([config["privateipaddress"]], "x"))
    return nsg._union(parts)


@st.composite
def asg_inventories(draw: st.DrawFn) -> Inventory:
    asgs = [Resource.create(id=a, type=nsg.ASG, name=a.rsplit("/", 1)[-1], body={"properties": {}}) for a in ASGS]
    nics = []
    for number in range(draw(st.integers(0, 4))):
        configs = [
            {
                "privateIPAddress": f"10.0.{number}.{index + 4}",
                "applicationSecurityGroups": [
                    {"id": draw(hostile_id(a))}
                    for a in draw(st.lists(st.sampled_from([*ASGS, f"{NET}/applicationSecurityGroups/a"]), max_size=2))
                ],
            }
            for index in range(draw(st.integers(1, 2)))
        ]
        nics.append(
            Resource.create(
                id=f"{NET}/networkInterfaces/n{number}",
                type=nsg.NIC,
                name=f"n{number}",
                body={"properties": {"ipConfigurations": configs}},
            )
        )
    return Inventory([*asgs, *nics])


@settings(settings.get_profile("index"))
@given(asg_inventories())
def test_the_member_index_answers_the_plain_scan(inventory: Inventory) -> None:
    index = nsg._asg_members(inventory)
    for asg in inventory.of_type(nsg.ASG):
        naive, indexed = _naive_members(inventory, asg), index[asg.id_key]
        assert isinstance(naive, nsg.Unresolved) == isinstance(indexed, nsg.Unresolved)
        if isinstance(naive, AddressSet):
            assert indexed == naive


@pytest.mark.parametrize("spelling", ["{id}/", " {id}", "{upper}"])
def test_a_member_reference_of_irregular_spelling_is_never_left_out(spelling: str) -> None:
    """Before: a NIC naming ``.../a1/`` counted for no group (the rule naming a1 saw one source fewer)."""
    written = spelling.format(id=ASGS[0], upper=ASGS[0].upper())
    nic = Resource.create(
        id=f"{NET}/networkInterfaces/n",
        type=nsg.NIC,
        name="n",
        body={"properties": {"ipConfigurations": [
            {"privateIPAddress": "10.0.9.9", "applicationSecurityGroups": [{"id": written}]}]}},
    )  # fmt: skip
    asg = Resource.create(id=ASGS[0], type=nsg.ASG, name="a1", body={"properties": {}})
    members = nsg._asg_members(Inventory([asg, nic]))[asg.id_key]
    assert members == AddressSet.parse("10.0.9.9/32") if spelling == "{upper}" else isinstance(members, nsg.Unresolved)


# --- private endpoints by target -----------------------------------------------------------------------------------

TARGETS = [
    f"{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
    f"{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1",
]


def _naive_endpoints(inventory: Inventory, target: Resource) -> list[Resource]:
    """The scan the index replaced: every endpoint, once per connection whose target is the resource's ID (lower)."""
    found = []
    for endpoint in inventory.of_type(nsg.PRIVATE_ENDPOINT):
        for path in ("properties.privateLinkServiceConnections", "properties.manualPrivateLinkServiceConnections"):
            for link in endpoint.get(path) or []:
                value = link.get("privatelinkserviceid")
                if canonical_id(value) == target.id_key:
                    found.append(endpoint)
    return found


def _naive_unplaced(inventory: Inventory) -> list[Resource]:
    return [
        endpoint
        for endpoint in inventory.of_type(nsg.PRIVATE_ENDPOINT)
        if any(
            canonical_id(link.get("privatelinkserviceid")) is None
            for path in ("properties.privateLinkServiceConnections", "properties.manualPrivateLinkServiceConnections")
            for link in endpoint.get(path) or []
        )
    ]


@st.composite
def endpoint_inventories(draw: st.DrawFn) -> Inventory:
    vaults = [
        Resource.create(id=t, type="Microsoft.KeyVault/vaults", name="v", body={"properties": {}}) for t in TARGETS
    ]
    endpoints = []
    for number in range(draw(st.integers(0, 4))):
        links = [
            {"privateLinkServiceId": draw(hostile_id(t))} for t in draw(st.lists(st.sampled_from(TARGETS), max_size=2))
        ]
        manual = [
            {"privateLinkServiceId": draw(hostile_id(t))} for t in draw(st.lists(st.sampled_from(TARGETS), max_size=1))
        ]
        endpoints.append(
            Resource.create(
                id=f"{NET}/privateEndpoints/e{number}",
                type=nsg.PRIVATE_ENDPOINT,
                name=f"e{number}",
                body={
                    "properties": {
                        "privateLinkServiceConnections": links,
                        "manualPrivateLinkServiceConnections": manual,
                    }
                },
            )
        )
    return Inventory([*vaults, *endpoints])


@settings(settings.get_profile("index"))
@given(endpoint_inventories())
def test_the_endpoint_index_answers_the_plain_scan(inventory: Inventory) -> None:
    for vault in inventory.of_type("Microsoft.KeyVault/vaults"):
        assert endpoints_of(inventory, vault) == _naive_endpoints(inventory, vault)
    assert unplaced_endpoints(inventory) == _naive_unplaced(inventory)


def _vault_findings(inventory: Inventory) -> list[Finding]:
    return [
        f
        for f in CHECKS["keyvault_private_endpoint_reachability"].evaluate(inventory, Params())
        if f.resource_type == "Microsoft.KeyVault/vaults"
    ]


@pytest.mark.parametrize("target", ["{id}/", " {id}", UNKNOWN, SECRET])
def test_an_endpoint_of_unknown_target_is_no_absent_endpoint(dev: Inventory, target: Any) -> None:
    """A second endpoint, in a subnet without NSG, whose target is the vault spelled with a trailing "/" (a valid
    ARM ID to the guard's domain) or unknown. Before: filed under a key no vault has, so the vault's findings were
    all PASS while an unfiltered endpoint might reach it."""
    [vault] = dev.of_type("Microsoft.KeyVault/vaults")
    [endpoint] = dev.of_type(nsg.PRIVATE_ENDPOINT)
    subnet_id = f"{NET}/virtualNetworks/elsewhere/subnets/open"
    subnet = Resource.create(
        id=subnet_id, type=nsg.SUBNET, name="open", body={"properties": {"addressPrefix": "10.99.0.0/24"}}
    )
    body = copy.deepcopy(dict(endpoint.body))
    written = target.format(id=vault.id) if isinstance(target, str) else target
    body["properties"]["privateLinkServiceConnections"] = [{"privateLinkServiceId": written, "groupIds": ["vault"]}]
    body["properties"]["subnet"] = {"id": subnet_id}
    body["properties"].pop("ipConfigurations", None)
    twin = Resource.create(id=f"{NET}/privateEndpoints/twin", type=nsg.PRIVATE_ENDPOINT, name="twin", body=body)
    assert {f.verdict for f in _vault_findings(dev)} == {Verdict.PASS}
    found = _vault_findings(Inventory([*dev, subnet, twin]))
    assert Verdict.ERROR in [f.verdict for f in found], [f.message for f in found]
    assert any("twin" in f.message for f in found)


# --- role definitions by GUID and the developers' groups -------------------------------------------------------------

OWNER = well_known.role_id("Owner")
GUIDS = ["12518b8c-6453-5302-bbb0-2ff72556d1c1", "acdd72a7-3385-48ef-bd42-f606fba81ae7"]
SCOPES = ["", SUB, f"{SUB}/resourceGroups/rg"]


@st.composite
def definition_inventories(draw: st.DrawFn) -> Inventory:
    found = []
    for number in range(draw(st.integers(0, 5))):
        guid = draw(st.sampled_from(GUIDS))
        scope = draw(st.sampled_from(SCOPES))
        written = draw(hostile_id(f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}"))
        found.append(
            Resource.create(
                id=written if isinstance(written, str) else f"urn:pulumi:dev::p::role{number}#unknown-id",
                type="Microsoft.Authorization/roleDefinitions",
                name=f"role{number}",
                body={"properties": {"roleName": f"role{number}", "permissions": [{"actions": [f"a{number}"]}]}},
            )
        )
    return Inventory(found)


def _naive_definitions(inventory: Inventory, guid: str) -> list[Resource]:
    """The scan the index replaced, without stopping at the first: every definition whose ID ends in the GUID."""
    return [
        d
        for d in inventory.of_type("Microsoft.Authorization/roleDefinitions")
        if canonical_id(d.id) is not None and d.id_key.rsplit("/", 1)[-1] == guid
    ]


@settings(settings.get_profile("index"))
@given(definition_inventories(), st.sampled_from(GUIDS), st.booleans())
def test_the_definition_index_answers_the_plain_scan(inventory: Inventory, guid: str, upper: bool) -> None:
    index = rbac._definitions_by_guid(inventory)
    assert index.get(guid, []) == _naive_definitions(inventory, guid)
    unplaced = [d for d in inventory.of_type("Microsoft.Authorization/roleDefinitions") if canonical_id(d.id) is None]
    assert index.get(rbac._UNPLACED, []) == unplaced
    _, permissions = rbac._role_permissions(inventory, (guid.upper() if upper else guid).lower())
    naive = _naive_definitions(inventory, guid)
    if unplaced:
        assert isinstance(permissions, rbac.UnknownRole)
    elif naive:  # every copy's blocks: what any of them grants counts
        assert permissions == [b for d in naive for b in d.get("properties.permissions")]


def _rbac(inventory: Inventory) -> list[Finding]:
    return CHECKS["rbac_developers_least_privilege"].evaluate(inventory, Params())


def _custom_role(dev: Inventory) -> Resource:
    [definition] = dev.of_type("Microsoft.Authorization/roleDefinitions")
    return definition


@pytest.mark.parametrize("order", ["after", "before"])
@pytest.mark.parametrize("scope", ["", SUB.upper()])
def test_a_second_definition_of_the_assigned_guid_counts(dev: Inventory, order: str, scope: str) -> None:
    """The deployer role read again at the tenant (or another subscription spelling) with ``*``. Before: the first
    definition of the inventory's order decided, so the benign copy earned a PASS when it came first."""
    assert worst([f.verdict for f in _rbac(dev)]) == Verdict.PASS
    custom = _custom_role(dev)
    guid = custom.id.rsplit("/", 1)[-1]
    body = copy.deepcopy(dict(custom.body))
    body["properties"]["permissions"] = [{"actions": ["*"]}]
    twin = Resource.create(
        id=f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid.upper()}",
        type="Microsoft.Authorization/roleDefinitions",
        name=guid,
        body=body,
    )
    resources = [*dev, twin] if order == "after" else [twin, *dev]
    deployer = [f for f in _rbac(Inventory(resources)) if guid in str(f.evidence[0].observed if f.evidence else "")]
    assert deployer and all(f.verdict == Verdict.FAIL for f in deployer), [f.message for f in deployer]


def test_a_definition_of_unknown_id_may_be_the_assigned_role(dev: Inventory) -> None:
    """A preview's new custom role whose ID is not known (``<urn>#unknown-id``) with ``*``: it may be the role an
    assignment names, so no non-privileged assignment passes."""
    custom = _custom_role(dev)
    body = copy.deepcopy(dict(custom.body))
    body["properties"]["permissions"] = [{"actions": ["*"]}]
    unknown = Resource.create(
        id="urn:pulumi:dev::smartportal::azure-native:authorization:RoleDefinition::new#unknown-id",
        type="Microsoft.Authorization/roleDefinitions",
        name="new",
        body=body,
    )
    verdicts = [f.verdict for f in _rbac(Inventory([*dev, unknown]))]
    assert Verdict.PASS not in verdicts and Verdict.ERROR in verdicts, verdicts


@pytest.mark.parametrize("group_id", [UNKNOWN, SECRET, None])
def test_an_assignment_to_a_group_of_unknown_id_is_judged(dev: Inventory, group_id: Any) -> None:
    """principalType is optional: the principal is looked up among the Entra groups. A group whose ID is not known
    (stringified, it was "<unknown>") made every such assignment "no group": skipped, and the check PASSed on the
    others while this one assigns a ``*`` role."""
    [group] = dev.of_type("Microsoft.Graph/groups")
    principal = group.get("id")
    group_body = copy.deepcopy(dict(group.body))
    group_body["id"] = group_id
    [assignment, *_] = dev.of_type("Microsoft.Authorization/roleAssignments")
    body = copy.deepcopy(dict(assignment.body))
    body["properties"].pop("principalType", None)
    body["properties"]["principalId"] = principal
    body["properties"]["roleDefinitionId"] = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"
    extra = Resource.create(id=assignment.id[:-4] + "beef", type=assignment.type, name="extra", body=body)
    before = Inventory([*dev, extra])
    assert [f.verdict for f in _rbac(before) if f.resource_id == extra.id] == [Verdict.FAIL]  # the group is known
    mutated = [r.with_body(group_body) if r is group else r for r in before]
    findings = [f for f in _rbac(Inventory(mutated)) if f.resource_id == extra.id]
    assert findings and all(f.verdict == Verdict.ERROR for f in findings), [f.message for f in findings]


# --- activity-log alerts: the estate's resource groups ------------------------------------------------------------


def test_a_watched_resource_of_unknown_group_is_not_left_out(dev: Inventory) -> None:
    """A network security group whose ID is not known before deployment (``<urn>#unknown-id``: its resource group
    name is computed). Before: estate_groups skipped it, and the alert watching the known groups earned a PASS."""
    check = CHECKS["activity_log_alert_network_changes"]
    assert worst([f.verdict for f in check.evaluate(dev, Params())]) == Verdict.PASS
    [nsg_resource, *_] = dev.of_type(nsg.NSG_TYPE)
    unknown = Resource.create(
        id="urn:pulumi:dev::smartportal::azure-native:network:NetworkSecurityGroup::nsg-new#unknown-id",
        type=nsg.NSG_TYPE,
        name="nsg-new",
        body=dict(nsg_resource.body),
    )
    mutated = Inventory([*dev, unknown])
    assert estate_groups(mutated) == estate_groups(dev) and unplaced_watched(mutated) == [unknown]
    findings = check.evaluate(mutated, Params())
    assert [f.verdict for f in findings] == [Verdict.ERROR], [f.message for f in findings]
    assert "nsg-new" in findings[0].message


@given(
    st.lists(
        st.sampled_from([f"{SUB}/resourceGroups/RG1", f"{SUB}/resourcegroups/rg10", f"{SUB}/resourceGroups/rg1"]),
        max_size=4,
    ),
    st.data(),
)
def test_estate_groups_are_the_plain_parse_and_nothing_is_dropped(groups: list[str], data: st.DataObject) -> None:
    resources = []
    for number, group in enumerate(groups):
        written = data.draw(hostile_id(f"{group}/providers/Microsoft.Network/networkSecurityGroups/n{number}"))
        resources.append(
            Resource.create(
                id=written if isinstance(written, str) else f"urn:x::n{number}#unknown-id",
                type=nsg.NSG_TYPE,
                name=f"n{number}",
                body={"properties": {}},
            )
        )
    inventory = Inventory(resources)
    placed = [r for r in resources if canonical_id(r.id) is not None]
    assert estate_groups(inventory) == sorted({"/".join(r.id_key.split("/")[:5]) for r in placed})
    assert unplaced_watched(inventory) == [r for r in resources if canonical_id(r.id) is None]


# --- the guard's memo ---------------------------------------------------------------------------------------------


def _fresh(inventory: Inventory) -> Inventory:
    """The same resources in a new inventory: no memo shared with any check run before."""
    return Inventory(inventory.resources, sources=inventory.sources, gaps=inventory.gaps)


_GUARDED = ["nsg_database_port_two_sources", "keyvault_private_endpoint_reachability", "rbac_developers_least_privilege",
            "activity_log_alert_network_changes"]  # fmt: skip


def _key(findings: Iterable[Finding]) -> list[tuple[str, str, str]]:
    return sorted((f.resource_id, f.verdict.value, f.message) for f in findings)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    picks=st.lists(st.integers(0, 200), min_size=1, max_size=6),
    value=st.sampled_from([UNKNOWN, SECRET, "not an id", 7, None, "/subscriptions/x/resourceGroups/rg"]),
    duplicate_first=st.booleans(),
)
def test_the_guard_memo_answers_what_each_check_alone_answers(
    dev: Inventory, picks: list[int], value: Any, duplicate_first: bool
) -> None:
    """Each check's guard run on an inventory whose memo other checks filled equals it run on a fresh inventory; the
    resources include copies of one ID, one with a value outside its domain, before or after the valid one."""
    resources = list(dev)
    for pick in picks:
        original = resources[pick % len(dev)]
        body = copy.deepcopy(dict(original.body))
        properties = body.setdefault("properties", {})
        if isinstance(properties, dict) and properties:
            properties[sorted(properties)[pick % len(properties)]] = value
        resources.insert(0 if duplicate_first else len(resources), original.with_body(body))
    shared = Inventory(resources)
    for check_id in _GUARDED + sorted(CHECKS):
        check = CHECKS[check_id]
        assert _key(check.guard(shared)) == _key(check.guard(_fresh(shared))), check_id


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("{group_upper}/", Verdict.PASS),  # the estate's group in another case, trailing "/": the same scope
        ("{sub_upper}", Verdict.PASS),
        ("{group_cut}", Verdict.FAIL),  # a prefix of the group's name by characters, not by segment
        ("{group}0", Verdict.FAIL),  # another group whose name starts with the estate's
        ("/providers/Microsoft.Management/managementGroups/mg", Verdict.FAIL),  # holds no group of the estate here
        ("/subscriptions/00000000-0000-0000-0000-000000000009", Verdict.FAIL),
    ],
)
def test_the_alert_scope_index_counts_only_scopes_at_or_above_the_group(
    dev: Inventory, scope: str, expected: Verdict
) -> None:
    check = CHECKS["activity_log_alert_network_changes"]
    [alert] = dev.of_type("Microsoft.Insights/activityLogAlerts")
    [group] = estate_groups(dev)
    sub = "/".join(group.split("/")[:3])
    written = scope.format(group=group, group_upper=group.upper(), sub_upper=sub.upper(), group_cut=group[:-3])
    body = copy.deepcopy(dict(alert.body))
    body["properties"]["scopes"] = [written]
    mutated = Inventory([r.with_body(body) if r is alert else r for r in dev])
    assert worst([f.verdict for f in check.evaluate(mutated, Params())]) == expected, written
