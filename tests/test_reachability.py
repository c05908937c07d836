"""The reachability evaluator: interval arithmetic and NSG evaluation, each against an independent model.

* Property tests: the interval sets against Python sets over a small universe; address and port parsing
  against ``ipaddress``; the NSG evaluation against a brute-force per-address first-match model on random rule
  sets (sources confined to a /26 plus one address of every other region, destinations to a /30, ports to a
  few values: small enough to enumerate every packet).
* A corpus (tests/corpus/reachability/) of published example bodies of the Azure REST API specifications,
  each cited by repository path and commit, with mutations, the expected answer and the documented reason.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.evaluate import nsg
from compliance_checks.evaluate.addresses import PORT_TOP, V4_TOP, AddressSet, IntervalSet, PortSet
from compliance_checks.findings import Verdict, worst
from compliance_checks.inventory import Inventory, Resource, fold
from compliance_checks.sources.arm_template import flatten

CORPUS = Path(__file__).parent / "corpus" / "reachability"
PUBLISHED: dict[str, Any] = json.loads((CORPUS / "published.json").read_text(encoding="utf-8"))
CASES: dict[str, Any] = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))

# --- interval arithmetic against Python sets ---------------------------------------------------------------------

TOP = 63
spans = st.lists(st.tuples(st.integers(0, TOP), st.integers(0, TOP)).map(lambda t: (min(t), max(t))), max_size=6)


def as_set(value: IntervalSet) -> set[int]:
    return {n for low, high in value.spans for n in range(low, high + 1)}


@given(spans, spans)
def test_interval_operations_agree_with_sets(a_spans: list[tuple[int, int]], b_spans: list[tuple[int, int]]) -> None:
    a, b = IntervalSet.of(a_spans, TOP), IntervalSet.of(b_spans, TOP)
    sa, sb = as_set(a), as_set(b)
    assert sa == {n for low, high in a_spans for n in range(low, high + 1)}
    assert as_set(a | b) == sa | sb
    assert as_set(a & b) == sa & sb
    assert as_set(a - b) == sa - sb
    assert as_set(a.complement()) == set(range(TOP + 1)) - sa
    assert a.split(b) == (a & b, a - b)
    assert a.overlaps(b) == bool(sa & sb)
    assert (a <= b) == (sa <= sb)
    assert bool(a) == bool(sa)
    assert (a == b) == (sa == sb)  # canonical: equal sets have equal spans
    assert a.is_everything() == (sa == set(range(TOP + 1)))
    assert a.size() == len(sa)
    assert all((n in a) == (n in sa) for n in range(TOP + 1))


@given(spans)
def test_spans_are_sorted_disjoint_and_not_adjacent(raw: list[tuple[int, int]]) -> None:
    value = IntervalSet.of(raw, TOP)
    for (_, high), (low, _) in zip(value.spans, value.spans[1:], strict=False):
        assert high + 1 < low


prefix_v4 = st.tuples(st.integers(0, V4_TOP), st.integers(0, 32)).map(
    lambda t: str(ipaddress.ip_network((t[0], t[1]), strict=False))
)
prefix_v6 = st.tuples(st.integers(0, (1 << 128) - 1), st.integers(0, 128)).map(
    lambda t: str(ipaddress.ip_network((t[0], t[1]), strict=False))
)


@given(st.lists(st.one_of(prefix_v4, prefix_v6), max_size=5), st.one_of(prefix_v4, prefix_v6))
def test_address_sets_agree_with_ipaddress(texts: list[str], probe_prefix: str) -> None:
    found = AddressSet.parse_all(texts)
    networks = [ipaddress.ip_network(t) for t in texts]
    probe = ipaddress.ip_network(probe_prefix)
    for address in (probe.network_address, probe.broadcast_address):
        assert (str(address) in found) == any(address in n for n in networks if n.version == address.version)
    # cidrs() is the same set again, and describes it exactly.
    assert AddressSet.parse_all(found.cidrs()) == found


def test_boundaries() -> None:
    everything_v4 = AddressSet.parse("0.0.0.0/0")
    assert AddressSet.parse_all(["0.0.0.0/1", "128.0.0.0/1"]) == everything_v4
    assert AddressSet.parse_all(["::/1", "8000::/1"]) == AddressSet.parse("::/0")
    assert AddressSet.parse("*").is_everything()
    assert (everything_v4 - AddressSet.parse("255.255.255.255")).cidrs()[-1] == "255.255.255.254/32"
    assert "255.255.255.255" in everything_v4 and "0.0.0.0" in everything_v4
    assert AddressSet.parse("10.0.0.0/8").complement() & AddressSet.parse("10.0.0.0/8") == AddressSet.empty()
    assert AddressSet.parse_all(["10.0.0.0/25", "10.0.0.128/25"]) == AddressSet.parse("10.0.0.0/24")
    assert AddressSet.range("10.0.0.0", "10.0.0.255") == AddressSet.parse("10.0.0.0/24")
    assert PortSet.parse("0-65535") == PortSet.everything() == PortSet.parse("*")
    assert PortSet.parse_all(["0-1023", "1024", "1025-65535"]).is_everything()
    assert not PortSet.parse_all(["0-1023", "1025-65535"]).is_everything()
    assert 65535 in PortSet.parse("65535") and 0 in PortSet.parse("0")
    assert PortSet.parse("5432").describe() == "5432"
    for bad in ("65536", "1-0", "-1", "80-", "a", "", "1.5", "00000080"):
        with pytest.raises(ValueError):
            PortSet.parse(bad)
    for bad in ("10.0.0.256", "10.0.0.0/33", "Storage", "", "1.2.3", "01.2.3.4"):
        with pytest.raises(ValueError):
            AddressSet.parse(bad)
    with pytest.raises(ValueError):
        AddressSet.range("10.0.0.2", "10.0.0.1")


@given(st.integers(0, PORT_TOP), st.integers(0, PORT_TOP))
def test_port_ranges_agree_with_arithmetic(a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    ports = PortSet.parse(f"{low}-{high}")
    assert ports.ints.size() == high - low + 1
    assert (low - 1 in ports, low in ports, high in ports, high + 1 in ports) == (False, True, True, False)


# --- NSG evaluation against a brute-force per-packet model -------------------------------------------------------

SOURCE_NET = ipaddress.ip_network("10.0.0.0/26")
DEST_NET = ipaddress.ip_network("10.1.0.0/30")
VNET = ["10.0.0.0/27", "172.16.0.0/28"]
ASG_ID = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/applicationSecurityGroups/asg1"
ASG_MEMBERS = ["10.0.0.5", "10.0.0.40/30"]
# One address of every region the rules can tell apart outside the /26, plus its neighbours.
OUTSIDE = ["0.0.0.0", "9.255.255.255", "10.0.0.64", "10.1.0.1", "168.63.129.15", "168.63.129.16", "168.63.129.17",
           "172.16.0.0", "172.16.0.15", "172.16.0.16", "203.0.113.9", "255.255.255.255"]  # fmt: skip
SOURCES = [str(a) for a in SOURCE_NET] + OUTSIDE
DST_PORTS = [5430, 5431, 5432, 5433]  # the query covers 5431-5432; rules cut anywhere in 5429-5434
SRC_PORTS = [0, 1, 2, 3, 4, 5, 6]  # rules use source ports 0-5 or '*': 6 stands for every other port

prefix_in_net = st.tuples(st.integers(0, 63), st.integers(26, 32)).map(
    lambda t: str(ipaddress.ip_network((int(SOURCE_NET.network_address) + t[0], t[1]), strict=False))
)
address_word = st.one_of(
    prefix_in_net, st.sampled_from(["*", "VirtualNetwork", "Internet", "AzureLoadBalancer", "0.0.0.0/0"])
)
port_text = st.one_of(
    st.just("*"), st.tuples(st.integers(5429, 5434), st.integers(0, 3)).map(lambda t: f"{t[0]}-{t[0] + t[1]}")
)
source_port_text = st.one_of(
    st.just("*"), st.tuples(st.integers(0, 5), st.integers(0, 2)).map(lambda t: f"{t[0]}-{min(5, t[0] + t[1])}")
)
dest_text = st.one_of(
    st.just("*"),
    st.tuples(st.integers(0, 3), st.integers(30, 32)).map(
        lambda t: str(ipaddress.ip_network((int(DEST_NET.network_address) + t[0], t[1]), strict=False))
    ),
)


@st.composite
def rule_sets(draw: st.DrawFn, prefix: str) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 6))
    priorities = draw(st.lists(st.integers(100, 4096), min_size=count, max_size=count, unique=True))
    rules = []
    for index, priority in enumerate(priorities):
        rule: dict[str, Any] = {
            "name": f"{prefix}{index}",
            "priority": priority,
            "direction": draw(st.sampled_from(["Inbound", "Inbound", "Inbound", "Outbound"])),
            "access": draw(st.sampled_from(["Allow", "Deny"])),
            "protocol": draw(st.sampled_from(["*", "Tcp", "Udp"])),
        }
        if draw(st.booleans()):
            rule["sourceAddressPrefix"] = draw(address_word)
        else:
            rule["sourceAddressPrefixes"] = draw(st.lists(prefix_in_net, min_size=1, max_size=3))
        if draw(st.integers(0, 5)) == 0:
            rule["sourceApplicationSecurityGroups"] = [{"id": ASG_ID}]
        if draw(st.integers(0, 9)) == 0:
            rule["sourceAddressPrefix"] = "Storage"  # unknown membership
        if draw(st.booleans()):
            rule["destinationPortRange"] = draw(port_text)
        else:
            rule["destinationPortRanges"] = draw(st.lists(port_text, min_size=1, max_size=2))
        rule["sourcePortRange"] = draw(source_port_text)
        rule["destinationAddressPrefix"] = draw(dest_text)
        rules.append(rule)
    return rules


def _in(address: str, words: list[str]) -> bool | None:
    """Whether an address is in any of the words; None when a word's membership is unknown."""
    ip = ipaddress.ip_address(address)
    vnet = [ipaddress.ip_network(p) for p in [*VNET, "168.63.129.16/32"]]
    for word in words:
        lowered = word.lower()
        if lowered == "*":
            return True
        if lowered == "virtualnetwork":
            hit = any(ip in n for n in vnet)
        elif lowered == "internet":
            hit = not any(ip in n for n in vnet)
        elif lowered == "azureloadbalancer":
            hit = address == "168.63.129.16"
        elif lowered == "storage":
            return None
        else:
            network = ipaddress.ip_network(word)
            hit = ip.version == network.version and ip in network
        if hit:
            return True
    return False


def _port_in(port: int, texts: list[str]) -> bool:
    for text in texts:
        if text == "*":
            return True
        low, _, high = text.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def brute_decide(rules: list[dict[str, Any]], src: str, dst: str, dport: int, sport: int) -> str | None:
    """First match for one packet (TCP): the deciding allow rule's name, '' for a deny, None for unknown."""
    own = sorted((r for r in rules if r["direction"] == "Inbound"), key=lambda r: r["priority"])
    for rule in own:
        if rule["protocol"] not in ("*", "Tcp"):
            continue
        dports = [rule["destinationPortRange"]] if "destinationPortRange" in rule else rule["destinationPortRanges"]
        if not _port_in(dport, dports) or not _port_in(sport, [rule["sourcePortRange"]]):
            continue
        if not _in(dst, [rule["destinationAddressPrefix"]]):
            continue
        words = [rule["sourceAddressPrefix"]] if "sourceAddressPrefix" in rule else list(rule["sourceAddressPrefixes"])
        if "sourceApplicationSecurityGroups" in rule:
            words += ASG_MEMBERS
        hit = _in(src, words)
        if hit is None:
            return None
        if hit:
            return rule["name"] if rule["access"] == "Allow" else ""
    if _in(src, ["VirtualNetwork"]) and _in(dst, ["VirtualNetwork"]):
        return "AllowVnetInBound"
    if src == "168.63.129.16":
        return "AllowAzureLoadBalancerInBound"
    return ""


def _tags() -> nsg.Tags:
    return nsg.Tags(
        virtual_network=lambda: AddressSet.parse_all(VNET) | nsg.HOST_VIP,
        asg_members={ASG_ID.lower(): AddressSet.parse_all(ASG_MEMBERS)},
    )


def _name(label: str) -> str:
    return label.split(" (priority", 1)[0].rsplit(" ", 1)[-1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_sets("s"), st.one_of(st.none(), rule_sets("n")))
def test_nsg_evaluation_agrees_with_brute_force(subnet_rules: list[dict[str, Any]], nic_rules: Any) -> None:
    groups = [nsg.read_group("subnet-nsg", fold(subnet_rules), _tags())]
    if nic_rules is not None:
        groups.append(nsg.read_group("nic-nsg", fold(nic_rules), _tags()))
    query = nsg.Query(AddressSet.parse(str(DEST_NET)), "Tcp", PortSet.parse("5431-5432"))
    result = nsg.reach(groups, query)
    expected: dict[str, set[tuple[str, ...]]] = {}
    unknown = False
    for src in SOURCES:
        for dst in (str(a) for a in DEST_NET):
            for dport in (5431, 5432):
                for sport in SRC_PORTS:
                    decided = [brute_decide(subnet_rules, src, dst, dport, sport)]
                    if nic_rules is not None and decided[0]:
                        decided.append(brute_decide(nic_rules, src, dst, dport, sport))
                    if None in decided:
                        unknown = True
                    elif all(decided):
                        expected.setdefault(src, set()).add(tuple(d for d in decided if d))
    if unknown:
        assert not result.known
        return
    assert result.known, result.unknown
    for src in SOURCES:
        seen = {tuple(_name(label) for label in piece.rules) for piece in result.pieces if src in piece.sources}
        assert seen == expected.get(src, set()), src


# --- the corpus -------------------------------------------------------------------------------------------------


def published(key: str) -> dict[str, Any]:
    entry = PUBLISHED[key]
    assert entry["repo"] and entry["path"] and len(entry["commit"]) == 40  # every body is cited
    body: dict[str, Any] = copy.deepcopy(entry["body"])
    return body


def arm_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """A resource body as the sources shape it: sub-resources inside ``properties`` flattened."""
    return {**{k: v for k, v in body.items() if k != "properties"}, "properties": flatten(body["properties"])}


def mutate_rules(rules: list[dict[str, Any]], mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = copy.deepcopy(rules)
    for mutation in mutations:
        if "add" in mutation:
            out.append(copy.deepcopy(mutation["add"]))
        elif "drop" in mutation:
            out = [r for r in out if r["name"] != mutation["drop"]]
        else:
            name, key, value = mutation["set"]
            for rule in out:
                if rule["name"] == name:
                    if value is None:
                        rule.pop(key, None)
                    else:
                        rule[key] = value
    return out


def flat_rules(body: Mapping[str, Any], key: str = "securityRules") -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = flatten(body["properties"].get(key, []))
    return rules


def expected_set(expect: Mapping[str, Any], family_of: AddressSet) -> AddressSet:
    if "allowed" in expect:
        return AddressSet.parse_all(expect["allowed"])
    every, none = AddressSet.everything(), AddressSet.empty()
    universe = AddressSet(every.v4 if family_of.v4 else none.v4, every.v6 if family_of.v6 else none.v6)
    return universe - AddressSet.parse_all(expect["allowed_complement"])


def case_ids(kind: str) -> list[Any]:
    return [pytest.param(c, id=c["id"]) for c in CASES["cases"] if c["kind"] == kind]


def test_the_corpus_is_large_and_every_case_has_a_documented_reason() -> None:
    assert len(CASES["cases"]) >= 40
    for case in CASES["cases"]:
        doc = CASES["docs"][case["reason"]["doc"]]
        assert doc["path"] and len(doc["commit"]) == 40 and case["reason"]["quote"], case["id"]


@pytest.mark.parametrize("case", case_ids("nsg"))
def test_nsg_corpus(case: dict[str, Any]) -> None:
    base = published(case["base"])
    members: dict[str, nsg.Resolved] = {}
    for asg, source in case.get("asgs", {}).items():
        nic = Resource.create(id=published(source)["id"], type=nsg.NIC, name="nic", body=arm_body(published(source)))
        members[asg.lower()] = nsg._addresses_of_configs(nic.get("properties.ipConfigurations"), "nic")
    tags = nsg.Tags(virtual_network=lambda: AddressSet.parse_all(case["vnet"]) | nsg.HOST_VIP, asg_members=members)
    groups = [] if case.get("no_nsg") else [
        nsg.read_group("testnsg", fold(mutate_rules(flat_rules(base), case["mutations"])), tags)
    ]  # fmt: skip
    if "nic" in case:
        nic_rules = mutate_rules(flat_rules(published(case["nic"])), case.get("nic_mutations", []))
        groups.append(nsg.read_group("nic-nsg", fold(nic_rules), tags))
    query = case["query"]
    destinations = AddressSet.parse_all(query["destinations"])
    result = nsg.reach(groups, nsg.Query(destinations, query["protocol"], PortSet.parse(query["ports"])))
    if case["expect"] == "unknown":
        assert not result.known
        assert result.rows("x")[0].startswith("unknown: ")
        return
    assert result.known, result.unknown
    assert result.allowed == expected_set(case["expect"], destinations), result.rows("the port")
    for address, rule in case["expect"].get("deciding", {}).items():
        labels = [" and ".join(p.rules) for p in result.pieces if address in p.sources]
        assert any(label.startswith(rule) for label in labels), (address, labels)


@pytest.mark.parametrize("case", case_ids("defaults"))
def test_the_published_default_rules_are_the_evaluators(case: dict[str, Any]) -> None:
    published_defaults = {r["name"].lower(): r for r in flat_rules(published(case["base"]), "defaultSecurityRules")}
    tags = nsg.Tags(virtual_network=lambda: AddressSet.parse("10.0.0.0/16") | nsg.HOST_VIP)
    for rule in nsg.default_rules("testnsg", tags):
        shown = published_defaults[rule.name.lower()]
        assert shown["priority"] == rule.priority
        assert (shown["access"] == "Allow") == rule.allow
        assert shown["protocol"] == "*" and rule.protocols == nsg.PROTOCOLS
        assert nsg._force(rule.sources) == tags.resolve(shown["sourceAddressPrefix"])
        assert nsg._force(rule.destinations) == tags.resolve(shown["destinationAddressPrefix"])


def _estate(case: dict[str, Any]) -> Inventory:
    vnet_id = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1"
    gateway = published(case["gateway"])
    for mutation in case["mutations"]:
        *head, last = mutation["path"].split(".")
        target = gateway
        for key in head:
            target = target.setdefault(key, {})
        if mutation["value"] is None:
            target.pop(last, None)
        else:
            target[last] = mutation["value"]
    resources = [
        Resource.create(id=vnet_id, type=nsg.VNET, name="vnet1",
                        body={"properties": {"addressSpace": {"addressPrefixes": ["10.20.0.0/24"]}}}),
        Resource.create(id=gateway["id"], type=nsg.GATEWAY, name="vpngw", body=arm_body(gateway)),
    ]  # fmt: skip
    if "local" in case:
        local = published(case["local"])
        resources.append(Resource.create(id=local["id"], type=nsg.LOCAL_GATEWAY, name="localgw", body=arm_body(local)))
        connection = {
            "properties": {
                "virtualNetworkGateway1": {"id": gateway["id"]},
                "localNetworkGateway2": {"id": local["id"]},
                "connectionType": "IPsec",
                "enableBgp": bool(case.get("bgp")),
            }
        }
        resources.append(
            Resource.create(id=vnet_id.replace("virtualNetworks/vnet1", "connections/cn1"), type=nsg.CONNECTION,
                            name="cn1", body=connection)
        )  # fmt: skip
    return Inventory(resources)


@pytest.mark.parametrize("case", case_ids("vnet-tag"))
def test_virtual_network_tag_corpus(case: dict[str, Any]) -> None:
    inventory = _estate(case)
    vnet = inventory.of_type(nsg.VNET)[0]
    # The published gateway sits in vnet1's GatewaySubnet (its ipConfigurations[0].subnet.id).
    found = nsg.virtual_network_addresses(inventory, vnet)
    if case["expect"] == "unknown":
        assert isinstance(found, nsg.Unresolved)
    else:
        assert found == AddressSet.parse_all(case["expect"]["allowed"])


@pytest.mark.parametrize("case", case_ids("firewall"))
def test_firewall_rule_corpus(case: dict[str, Any]) -> None:
    body = published(case["base"])["properties"] | case["mutations"]
    if case["expect"] == "unknown":
        with pytest.raises(ValueError):
            AddressSet.range(body["startIpAddress"], body["endIpAddress"])
    else:
        assert AddressSet.range(body["startIpAddress"], body["endIpAddress"]) == AddressSet.parse_all(
            case["expect"]["allowed"]
        )


def _server_estate(mutations: list[dict[str, Any]]) -> Inventory:
    server = published("postgres-server-vnet")
    subnet_id = server["properties"]["network"]["delegatedSubnetResourceId"]
    vnet_id = subnet_id.rsplit("/subnets/", 1)[0]
    group = published("nsg-get")
    group_id = vnet_id.replace("virtualNetworks/examplevirtualnetwork", "networkSecurityGroups/testnsg")
    subnet = published("subnet-get")
    subnet["properties"]["networkSecurityGroup"] = {"id": group_id}
    group_body = {"properties": {"securityRules": mutate_rules(flat_rules(group), mutations)}}
    return Inventory(
        [
            Resource.create(id=server["id"], type=server["type"], name=server["name"], body=server),
            Resource.create(id=subnet_id, type=nsg.SUBNET, name="examplesubnet", body=subnet),
            Resource.create(id=vnet_id, type=nsg.VNET, name="examplevirtualnetwork",
                            body={"properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}),
            Resource.create(id=group_id, type=nsg.NSG_TYPE, name="testnsg", body=group_body),
        ]
    )  # fmt: skip


@pytest.mark.parametrize("case", case_ids("check"))
def test_database_check_corpus(case: dict[str, Any]) -> None:
    """The published zone-redundant server in the published subnet (its own subnet may reach it: replication)."""
    check = load_checks()["nsg_database_port_two_sources"]
    findings = check.evaluate(_server_estate(case["mutations"]), Params())
    assert worst([f.verdict for f in findings]) == Verdict(case["expect"]), [f.message for f in findings]
    assert all(e.observed for f in findings for e in f.evidence)  # the computed table is the evidence


# --- the checks on the project's own stacks ---------------------------------------------------------------------


def _rules_changed(inventory: Inventory, name: str, change: Callable[[list[Any]], list[Any]]) -> Inventory:
    out = []
    for resource in inventory:
        if resource.name == name:
            body = copy.deepcopy(dict(resource.body))
            body["properties"]["securityRules"] = change(body["properties"]["securityRules"])
            resource = resource.with_body(body)  # noqa: PLW2901 - the changed copy replaces the original
        out.append(resource)
    return Inventory(out)


def test_evidence_is_the_computed_table_on_the_dev_stack() -> None:
    from compliance_checks.sources.synth import load_synth

    dev = load_synth("dev")[0]
    findings = load_checks()["nsg_database_port_two_sources"].evaluate(dev, Params())
    assert [f.verdict for f in findings] == [Verdict.PASS]
    assert findings[0].evidence[0].observed == [
        {
            "from": "10.20.0.64/26",
            "to": "port 5432/Tcp",
            "decided by": "rule AllowPostgresFromPortal (priority 100) of nsg-database-smartportal-dev-gwc",
        },
        {
            "from": "172.16.201.0/28",
            "to": "port 5432/Tcp",
            "decided by": "rule AllowPostgresFromVpn (priority 110) of nsg-database-smartportal-dev-gwc",
        },
    ]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # A deny-all limited to one source port leaves every other source port to the default rules.
        ({"sourcePortRange": "1024"}, Verdict.FAIL),
        # Limited to one destination: the rest of the subnet is left to AllowVnetInBound.
        ({"destinationAddressPrefix": "10.20.0.192/27"}, Verdict.FAIL),
        ({"protocol": "Tcp"}, Verdict.FAIL),
        # Two halves of the address space are the whole of it (with IPv6's)...
        ({"sourceAddressPrefix": None, "sourceAddressPrefixes": ["0.0.0.0/1", "128.0.0.0/1", "::/0"]}, Verdict.PASS),
        # ... but all of IPv4 alone leaves IPv6 traffic to the default rules.
        ({"sourceAddressPrefix": None, "sourceAddressPrefixes": ["0.0.0.0/1", "128.0.0.0/1"]}, Verdict.FAIL),
        ({"destinationPortRange": "0-65535"}, Verdict.PASS),
    ],
)
def test_deny_all_is_evaluated_not_pattern_matched(rule: dict[str, Any], expected: Verdict) -> None:
    from compliance_checks.sources.synth import load_synth

    def narrowed(rules: list[Any]) -> list[Any]:
        for item in rules:
            if item["name"] == "DenyAllInbound":
                for key, value in rule.items():
                    if value is None:
                        item.pop(key, None)
                    else:
                        item[key] = value
        return rules

    dev = _rules_changed(load_synth("dev")[0], "nsg-endpoints-smartportal-dev-gwc", narrowed)
    findings = load_checks()["nsg_deny_all_inbound"].evaluate(dev, Params())
    group = [f for f in findings if f.resource_id.endswith("nsg-endpoints-smartportal-dev-gwc")]
    assert [f.verdict for f in group] == [expected], [f.message for f in group]
