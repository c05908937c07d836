"""The NSG evaluator's fast paths give the general evaluation's answers, exactly.

``nsg.reach`` and ``nsg.reaching_defaults`` answer from the rules' bodies when everything a question could reach
is resolved, and fall back to the general cell-by-cell evaluation (``_reach_rules``, ``_reaching_defaults_rules``)
otherwise. On random rule sets -- unusual spellings, unresolvable tags, unknown ASGs, malformed ports, shared
priorities, IPv6, one or two NSGs -- both must give the same pieces (sources, deciding rules, order), the same
unknowns and the same written sources. The general evaluation is itself checked against a per-packet brute force
(tests/test_reachability.py).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance_checks.evaluate import nsg
from compliance_checks.evaluate.addresses import AddressSet, PortSet
from compliance_checks.inventory import UNKNOWN, fold

VNET = ["10.20.0.0/24", "172.16.201.0/28"]
ASG = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/applicationSecurityGroups/members"
ADDRESSES = ["*", "10.20.0.0/24", "10.20.0.128/26", "10.20.0.130", "0.0.0.0/1", "128.0.0.0/1", "VirtualNetwork",
             "Internet", "AzureLoadBalancer", "2001:db8::/32", "::/0", "any", "168.63.129.16"]  # fmt: skip
ODD_ADDRESSES = ["Storage", " 10.0.0.0/8", "010.1.2.3", "10.0.0.0/33", "", "10.0.0.0/008"]
PORTS = ["*", "5432", "5431-5433", "0-65535", "22", "80-90", "1024-65535"]
ODD_PORTS = ["70000", "x", " 5432", "9-1", ""]

words = st.sampled_from(ADDRESSES)
ports = st.sampled_from(PORTS)
# One rule in eight gets one odd value (so that about half the rule sets take the fast path, and the rest the other):
# field -> the odd values it may take.
ODD: dict[str, list[Any]] = {
    "priority": ["x", 100, 100.0, 4097],
    "direction": ["inbound", "sideways", None],
    "access": ["allow", "Maybe"],
    "protocol": ["tcp", "TCP", "Gre", 6],
    "sourceAddressPrefix": [*ODD_ADDRESSES, UNKNOWN],
    "sourceAddressPrefixes": [[text] for text in ODD_ADDRESSES] + [["10.0.0.0/8", 7], []],
    "sourceApplicationSecurityGroups": [[{"id": ASG + "-unread"}], [{"name": "no id"}]],
    "destinationPortRange": ODD_PORTS,
    "destinationPortRanges": [[text] for text in ODD_PORTS] + [[]],
}


@st.composite
def rule(draw: st.DrawFn, index: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"r{index}",
        "priority": 100 + 10 * index,
        "direction": draw(st.sampled_from(["Inbound"] * 6 + ["Outbound"])),
        "access": draw(st.sampled_from(["Allow", "Deny"])),
        "protocol": draw(st.sampled_from(["*", "Tcp", "Udp", "Icmp", "Ah", "Esp"])),
    }
    source = draw(st.integers(0, 9))
    if source < 5:
        body["sourceAddressPrefix"] = draw(words)
    elif source < 9:
        body["sourceAddressPrefixes"] = draw(st.lists(words, min_size=1, max_size=3))
    else:
        body["sourceApplicationSecurityGroups"] = [{"id": ASG}]
    if draw(st.booleans()):
        body["destinationAddressPrefix"] = draw(st.sampled_from(["*", "*", "10.20.0.128/27", "VirtualNetwork"]))
    else:
        body["destinationAddressPrefixes"] = draw(st.lists(st.sampled_from(["10.20.0.160/27", "2001:db8::/64"]), min_size=1, max_size=2))  # fmt: skip
    if draw(st.booleans()):
        body["destinationPortRange"] = draw(ports)
    else:
        body["destinationPortRanges"] = draw(st.lists(ports, min_size=1, max_size=3))
    body["sourcePortRange"] = draw(st.sampled_from(["*", "*", "1024-65535", "0-1023"]))
    if draw(st.integers(0, 7)) == 0:
        key = draw(st.sampled_from(sorted(ODD)))
        for other in ("sourceAddressPrefix", "sourceAddressPrefixes", "sourceApplicationSecurityGroups"):
            if key.startswith("source") and other != key:
                body.pop(other, None)
        body[key] = draw(st.sampled_from(ODD[key]))
    return body


@st.composite
def rule_set(draw: st.DrawFn, max_size: int) -> list[dict[str, Any]]:
    return [draw(rule(index)) for index in range(draw(st.integers(0, max_size)))]


def _tags(vnet_known: bool) -> nsg.Tags:
    return nsg.Tags(
        virtual_network=(lambda: AddressSet.parse_all(VNET) | nsg.HOST_VIP)
        if vnet_known
        else (lambda: nsg.Unresolved("the virtual network was not read")),
        asg_members={ASG.lower(): AddressSet.parse_all(["10.20.0.130", "2001:db8::5"])},
    )


def _shape(result: nsg.Reachability) -> tuple[Any, ...]:
    pieces = [((p.sources.v4.spans, p.sources.v6.spans), p.rules) for p in result.pieces]
    return result.unknown, pieces, dict(result.written)


QUERIES = [
    ("10.20.0.128/26", "Tcp", "5432"),
    ("10.20.0.128/26", "Udp", "5431-5433"),
    ("10.20.0.0/16", "Tcp", "*"),
    ("2001:db8::/64", "Tcp", "5432"),
    ("*", "Icmp", "5432"),
]
TAKEN = {"reach": 0, "defaults": 0, "cases": 0}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_set(9), rule_set(4), st.booleans(), st.integers(0, 9))
def test_fast_paths_answer_as_the_general_evaluation(
    subnet_rules: list[dict[str, Any]], nic_rules: list[dict[str, Any]], two: bool, vnet_roll: int
) -> None:
    tags = _tags(vnet_roll > 0)
    subnet = nsg.read_group("subnet-nsg", fold(subnet_rules), tags)
    nic = nsg.read_group("nic-nsg", fold(nic_rules), tags)
    groups = [subnet, nic] if two else [subnet]
    TAKEN["cases"] += 1
    for destinations, protocol, port in QUERIES:
        query = nsg.Query(AddressSet.parse(destinations), protocol, PortSet.parse(port))
        answer = nsg.reach(groups, query)
        if any(group.problem for group in groups):
            assert not answer.known
            continue
        assert _shape(answer) == _shape(nsg._reach_rules(groups, query))
        TAKEN["reach"] += nsg._reach_fast(groups, query, protocol.lower()) is not None
    assert _shape(nsg.reaching_defaults(subnet)) == _shape(nsg._reaching_defaults_rules(subnet))
    TAKEN["defaults"] += nsg._reaching_defaults_fast(subnet) is not None


def test_the_fast_paths_were_taken() -> None:
    """The comparison above means something only if the fast paths answered a good share of the cases."""
    if not TAKEN["cases"]:
        test_fast_paths_answer_as_the_general_evaluation()
    assert TAKEN["reach"] >= TAKEN["cases"], TAKEN  # of five queries a case
    assert TAKEN["defaults"] >= TAKEN["cases"] // 5, TAKEN


def test_a_large_nsg_takes_the_fast_path_and_agrees() -> None:
    """200 plain rules (the benchmark's shape): the fast answer, and the same answer from the general path."""
    import random

    rng = random.Random(12)
    rules = []
    for index, priority in enumerate(rng.sample(range(100, 4096), 200)):
        rules.append(
            {
                "name": f"r{index}",
                "priority": priority,
                "direction": "Inbound" if rng.random() < 0.9 else "Outbound",
                "access": rng.choice(["Allow", "Deny"]),
                "protocol": rng.choice(["*", "Tcp", "Udp"]),
                "sourceAddressPrefixes": [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.0.0/{rng.randint(8, 16)}"],
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRange": rng.choice(["*", "5432", "22", "5000-6000"]),
            }
        )
    group = nsg.read_group("big", fold(rules), _tags(True))
    query = nsg.Query(AddressSet.parse("10.20.0.128/26"), "Tcp", PortSet.parse("5432"))
    assert nsg._reach_fast([group], query, "tcp") is not None
    assert nsg._reaching_defaults_fast(group) is not None
    assert _shape(nsg.reach([group], query)) == _shape(nsg._reach_rules([group], query))
    assert _shape(nsg.reaching_defaults(group)) == _shape(nsg._reaching_defaults_rules(group))
