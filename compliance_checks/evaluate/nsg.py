"""Which sources Azure's network security groups let reach a destination -- exactly, or "unknown".

How Azure decides, and where this module takes it from:

* Rules are processed "in priority order, with lower numbers processed before higher numbers ... Once
  traffic matches a rule, processing stops." "Security rules are evaluated and applied based on the
  five-tuple information of source, source port, destination, destination port, and protocol." "You can't
  create two security rules with the same priority and direction." (MicrosoftDocs/azure-docs
  articles/virtual-network/network-security-groups-overview.md, commit 0088bfa77543e07f8a41771de8db977ddfc62e1d)
* The default inbound rules AllowVNetInBound (65000, VirtualNetwork -> VirtualNetwork, any port and protocol,
  Allow), AllowAzureLoadBalancerInBound (65001, AzureLoadBalancer -> 0.0.0.0/0, Allow) and DenyAllInbound
  (65500, 0.0.0.0/0 -> 0.0.0.0/0, Deny) -- same page, "Default security rules"; "0.0.0.0/0 ... represents all
  IP addresses". The published bodies carry them as ``defaultSecurityRules`` (azure-rest-api-specs
  .../stable/2024-05-01/examples/NetworkSecurityGroupGet.json, commit ac19a0454128affbd3ec320da4c5f44ac4610d5a).
* "For inbound traffic, Azure processes the rules in a network security group associated to a subnet first,
  if there's one, and then the rules in a network security group associated to the network interface, if
  there's one. This includes intra-subnet traffic as well." ... "All network traffic is allowed through a
  subnet and network interface if they don't have a network security group associated to them."
  (articles/virtual-network/network-security-group-how-it-works.md, commit 0b167e76f7dc8ae9663b3da7293949e31f6c95a3)
* Service tags (articles/virtual-network/service-tags-overview.md, commit 0006b73836f4e566c110ff53fe64e0f90982a47a):
  VirtualNetwork is "The virtual network address space (all IP address ranges defined for the virtual
  network), all connected on-premises address spaces, peered virtual networks, virtual networks connected to a
  virtual network gateway, the virtual IP address of the host, and address prefixes used on user-defined
  routes. This tag might also contain default routes."; AzureLoadBalancer "translates to the virtual IP
  address of the host (168.63.129.16)"; Internet is "The IP address space that's outside the virtual network
  and reachable by the public internet." Every other tag stands for Microsoft-managed ranges this module does
  not hold: a rule using one has unknown membership.
* Rule properties (singular and plural, ASGs) as in networkSecurityGroup.json SecurityRulePropertiesFormat
  (azure-rest-api-specs specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/
  networkSecurityGroup.json, commit c93887028b4d26ea3c19a1c5be394b4f69e636c3).

What the answer means: the exact set of source addresses for which *some* packet (any source port, to some
address of the destination set, on some port of the query) is allowed by every NSG on the way, each piece with
the rule(s) that decided it. Anything that cannot be resolved where it could matter -- a tag whose addresses
are not known, an ASG whose members were not read, an unreadable or secret value, two rules of one priority --
makes the whole answer UNKNOWN, never a smaller set. Not modelled (callers must say so): Azure Virtual Network
Manager security admin rules (evaluated before NSGs, same page), routing (whether a source has a route at all)
and the platform's own exemptions for 168.63.129.16.

Property paths read (for a later comparison with azure-mgmt-network's models): see ``RULE_PATHS`` and the
``inventory`` helpers below; every one is declared as a ``Read`` by the checks that use this module.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

from compliance_checks.evaluate.addresses import (
    PORT_SPANS_SEEN,
    PORT_TOP,
    V4_TOP,
    V6_TOP,
    AddressSet,
    IntervalSet,
    PortSet,
    complement_spans,
    intersect_spans,
    normalise_spans,
    port_spans,
    split_spans,
    v4_prefix_span,
)
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue, canonical_id

# The rule properties read, as the inventory folds them (flattened: no "properties." inside a rule).
RULE_PATHS: Final = (
    "name",
    "priority",
    "access",
    "direction",
    "protocol",
    "sourceAddressPrefix",
    "sourceAddressPrefixes",
    "sourceApplicationSecurityGroups[*].id",
    "sourcePortRange",
    "sourcePortRanges",
    "destinationAddressPrefix",
    "destinationAddressPrefixes",
    "destinationApplicationSecurityGroups[*].id",
    "destinationPortRange",
    "destinationPortRanges",
)

# SecurityRuleProtocol (networkSecurityGroup.json, same commit): Tcp, Udp, Icmp, Esp, "*", Ah.
PROTOCOLS: Final = frozenset({"tcp", "udp", "icmp", "esp", "ah"})
HOST_VIP: Final = AddressSet.parse("168.63.129.16/32")  # service-tags-overview.md, AzureLoadBalancer


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A value whose addresses (or ports) cannot be known here, and why."""

    reason: str


Resolved = AddressSet | Unresolved
Spans = tuple[tuple[int, int], ...]
Family = tuple[Spans, Spans]  # (IPv4 spans, IPv6 spans) of an address set: indexed by the v6 flag


@dataclass(frozen=True)
class Tags:
    """What the address words of rules stand for, for one virtual network.

    ``virtual_network`` is a thunk: computing it may need resources a rule set never reaches, and an
    unresolvable part matters only if a rule using the tag is reached.
    """

    virtual_network: Callable[[], Resolved] = lambda: Unresolved("the VirtualNetwork tag's addresses are unknown")
    asg_members: Mapping[str, Resolved] = field(default_factory=dict)  # lower-case ASG ID -> member addresses
    # text -> what it stands for: a large estate repeats the same prefixes and tags in thousands of rules.
    _resolved: dict[str, Resolved] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "virtual_network", functools.cache(self.virtual_network))

    def resolve(self, text: str) -> Resolved:
        found = self._resolved.get(text)
        if found is None:
            found = self._resolved[text] = self._resolve(text)
        return found

    def _resolve(self, text: str) -> Resolved:
        word = text.strip().lower()
        if word in ("*", "any"):  # "Clients ... can use * or Any for this expression" (overview page)
            return AddressSet.everything()
        if word == "virtualnetwork":
            return self.virtual_network()
        if word == "azureloadbalancer":
            return HOST_VIP
        if word == "internet":
            vnet = self.virtual_network()
            return vnet if isinstance(vnet, Unresolved) else vnet.complement()
        try:
            return AddressSet.parse(text)
        except ValueError:
            return Unresolved(f"{text!r}: a service tag or text whose addresses are not known here")


class Rule(NamedTuple):
    """One inbound rule, resolved (an immutable tuple: NSGs of hundreds of rules are read by the thousand).
    ``problem``: why the rule cannot be evaluated at all."""

    name: str
    group: str
    priority: int
    allow: bool
    protocols: frozenset[str]
    sources: AddressSet | Unresolved | _VnetRef | _Deferred
    source_ports: PortSet | Unresolved
    destinations: AddressSet | Unresolved | _VnetRef | _Deferred
    destination_ports: PortSet | Unresolved
    problem: str = ""
    default: bool = False
    written: Any = None  # the source as the rule writes it (prefix, list, ASG references), for messages

    @property
    def label(self) -> str:
        kind = "default rule" if self.default else "rule"
        return f"{kind} {self.name} (priority {self.priority}) of {self.group}"


class _Header(NamedTuple):
    """What every question needs of a rule (where it stands, what it does, whether it is readable), as
    ``read_rule`` reads it; its ports and addresses are read when a question reaches them."""

    priority: int
    allow: bool
    protocols: frozenset[str]
    problem: str


class Group:
    """The inbound rules of one NSG, in processing order (its own rules, then the defaults).

    ``rules`` are built on first use. A group read by ``read_group`` keeps its rules' bodies in processing order
    (and no object per rule: an estate's NSGs hold hundreds of thousands of rules); the evaluators read from the
    bodies only the ports and addresses a question needs, with the same readings as ``read_rule``."""

    __slots__ = ("_bodies", "_headers", "_priorities", "_rules", "_tags", "_unreadable", "name", "problem")

    def __init__(
        self,
        name: str,
        rules: tuple[Rule, ...] = (),
        problem: str = "",  # the group as a whole cannot be evaluated (duplicate priorities, rules unreadable)
        *,
        bodies: list[Mapping[str, Any]] | None = None,
        priorities: list[int] | None = None,
        headers: dict[int, _Header] | None = None,
        tags: Tags | None = None,
    ) -> None:
        self.name = name
        self.problem = problem
        self._rules: tuple[Rule, ...] | None = rules if bodies is None else None
        self._bodies = bodies
        self._priorities = priorities or []
        self._headers = headers or {}  # position -> header, for the rules read by ``read_rule`` (unusual spellings)
        self._unreadable = any(header.problem for header in self._headers.values())
        self._tags = tags

    @property
    def rules(self) -> tuple[Rule, ...]:
        if self._rules is None:
            assert self._bodies is not None and self._tags is not None
            tags = self._tags
            read = tuple(read_rule(body, self.name, tags) for body in self._bodies)
            self._rules = (*(rule for rule in read if rule is not None), *default_rules(self.name, tags))
        return self._rules

    def __repr__(self) -> str:
        return f"Group({self.name!r}, {len(self.rules)} rules, problem={self.problem!r})"


@dataclass(frozen=True)
class Query:
    destinations: AddressSet
    protocol: str  # one of PROTOCOLS (any case)
    ports: PortSet


@dataclass(frozen=True)
class Piece:
    sources: AddressSet
    rules: tuple[str, ...]  # the deciding rule of each NSG on the way, subnet first

    def reason(self) -> str:
        return "allowed by " + " and ".join(self.rules) if self.rules else "allowed (no NSG on the way)"


@dataclass(frozen=True)
class Reachability:
    """The answer: ``pieces`` (known) or ``unknown`` (the reasons it cannot be known)."""

    pieces: tuple[Piece, ...] = ()
    unknown: tuple[str, ...] = ()
    written: Mapping[str, Any] = field(default_factory=dict)  # deciding rule label -> its source as written

    @property
    def known(self) -> bool:
        return not self.unknown

    @property
    def allowed(self) -> AddressSet:
        found = AddressSet.empty()
        for piece in self.pieces:
            found = found | piece.sources
        return found

    def table(self, what: str) -> list[dict[str, str]]:
        """The evidence as a table the reports render: source addresses, destination, decision."""
        if not self.known:
            return [{"from": "(unknown)", "to": what, "decided by": reason} for reason in self.unknown]
        if not self.pieces:
            return [{"from": "(nothing)", "to": what, "decided by": "no rule allows it"}]
        return [
            {"from": p.sources.describe(), "to": what, "decided by": p.reason().removeprefix("allowed by ")}
            for p in self.pieces
        ]

    def rows(self, what: str) -> list[str]:
        """The evidence table: one line per piece ("from X to port 5432/Tcp: allowed by rule R")."""
        if not self.known:
            return [f"unknown: {reason}" for reason in self.unknown]
        if not self.pieces:
            return [f"nothing reaches {what}"]
        return [f"from {p.sources.describe()} to {what}: {p.reason()}" for p in self.pieces]


# --- reading rules --------------------------------------------------------------------------------------------------


def _field(rule: Mapping[str, Any], key: str) -> Any:
    return rule.get(key.lower(), MISSING)


def _bad(value: Any) -> bool:
    return value is UNKNOWN or isinstance(value, SecretValue)


def _texts(rule: Mapping[str, Any], singular: str, plural: str) -> list[str] | str:
    """Both spellings' values as one list, or why they cannot be read (str)."""
    one, many = _field(rule, singular), _field(rule, plural)
    if _bad(one) or _bad(many):
        return f"{singular}/{plural} unknown or secret"
    found: list[str] = []
    if one is not MISSING and one is not None:
        if not isinstance(one, str):
            return f"{singular} is not a text"
        if one.strip():
            found.append(one)
    if many is not MISSING and many is not None:
        if type(many) is not list or [v for v in many if type(v) is not str]:
            return f"{plural} is not a list of texts"
        found += [v for v in many if v.strip()]
    return found


class _Deferred:
    """A rule side's addresses, resolved the first time a packet could match the rule on every other dimension
    (most rules of a large NSG never are, for a given port): the same answer as resolving at once, later."""

    __slots__ = ("_ids", "_tags", "_texts", "_value")

    def __init__(self, texts: list[str], ids: list[str], tags: Tags) -> None:
        self._texts, self._ids, self._tags = texts, ids, tags
        self._value: Resolved | None = None

    def get(self) -> Resolved:
        if self._value is None:
            self._value = self._resolve()
        return self._value

    def _resolve(self) -> Resolved:
        found: list[AddressSet] = []
        for text in self._texts:
            resolved = self._tags.resolve(text)
            if isinstance(resolved, Unresolved):
                return resolved
            found.append(resolved)
        for ref in self._ids:
            members = self._tags.asg_members.get(ref.lower())
            if members is None:
                return Unresolved(f"application security group {ref.rsplit('/', 1)[-1]}: members not read")
            if isinstance(members, Unresolved):
                return members
            found.append(members)
        return AddressSet.union_of(found)


def _addresses(rule: Mapping[str, Any], side: str, tags: Tags) -> AddressSet | Unresolved | _Deferred:
    texts = _texts(rule, f"{side}AddressPrefix", f"{side}AddressPrefixes")
    if isinstance(texts, str):
        return Unresolved(texts)
    groups = _field(rule, f"{side}ApplicationSecurityGroups")
    ids: list[str] = []
    if _bad(groups):
        return Unresolved(f"{side}ApplicationSecurityGroups unknown or secret")
    if groups is not MISSING and groups is not None:
        if not isinstance(groups, list):
            return Unresolved(f"{side}ApplicationSecurityGroups is not a list")
        for item in groups:
            ref = item.get("id") if isinstance(item, Mapping) else None
            if not isinstance(ref, str):
                return Unresolved(f"an entry of {side}ApplicationSecurityGroups has no readable id")
            ids.append(ref)
    if not texts and not ids:
        return Unresolved(f"no {side} address, prefix or application security group")
    if texts == ["*"] and not ids:
        return AddressSet.everything()
    return _Deferred(texts, ids, tags)


def _ports(rule: Mapping[str, Any], side: str) -> PortSet | Unresolved:
    texts = _texts(rule, f"{side}PortRange", f"{side}PortRanges")
    if isinstance(texts, str):
        return Unresolved(texts)
    if not texts:
        return Unresolved(f"no {side} port range")
    try:
        return PortSet.parse_all(texts)
    except ValueError as error:
        return Unresolved(str(error))


def _priority(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():  # Pulumi's wire format: 100.0
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 4096:
        return value
    return None


def read_rule(rule: Mapping[str, Any], group: str, tags: Tags) -> Rule | None:
    """A folded rule body as a Rule; None for an outbound rule (it never decides inbound traffic)."""
    name = _field(rule, "name")
    shown = name if isinstance(name, str) else "(unnamed)"
    direction, access, protocol = _field(rule, "direction"), _field(rule, "access"), _field(rule, "protocol")
    problems: list[str] = []
    if isinstance(direction, str) and direction.lower() == "outbound":
        return None
    if not (isinstance(direction, str) and direction.lower() == "inbound"):
        problems.append("direction is neither Inbound nor Outbound")
    if not (isinstance(access, str) and access.lower() in ("allow", "deny")):
        problems.append("access is neither Allow nor Deny")
    protocols: frozenset[str] = frozenset()
    if isinstance(protocol, str) and protocol == "*":
        protocols = PROTOCOLS
    elif isinstance(protocol, str) and protocol.lower() in PROTOCOLS:
        protocols = frozenset({protocol.lower()})
    else:
        problems.append("protocol unreadable")
    priority = _priority(_field(rule, "priority"))
    if priority is None:
        problems.append("priority unreadable")
    get = rule.get
    return Rule(
        shown,
        group,
        priority or 0,
        isinstance(access, str) and access.lower() == "allow",
        protocols,
        _fast_addresses(get("sourceaddressprefix"), rule, _SOURCE_OTHERS, tags) or _addresses(rule, "source", tags),
        _fast_ports(get("sourceportrange"), rule, "sourceportranges") or _ports(rule, "source"),
        _fast_addresses(get("destinationaddressprefix"), rule, _DESTINATION_OTHERS, tags)
        or _addresses(rule, "destination", tags),
        _fast_ports(get("destinationportrange"), rule, "destinationportranges") or _ports(rule, "destination"),
        "; ".join(problems),
        False,
        get("sourceaddressprefix") or get("sourceaddressprefixes") or get("sourceapplicationsecuritygroups"),
    )


_SOURCE_OTHERS: Final = ("sourceaddressprefixes", "sourceapplicationsecuritygroups")
_DESTINATION_OTHERS: Final = ("destinationaddressprefixes", "destinationapplicationsecuritygroups")


def _fast_ports(one: Any, rule: Mapping[str, Any], plural: str) -> PortSet | None:
    """The common shape (one readable port text, no list) without the general path's bookkeeping; None: use it."""
    if type(one) is not str or rule.get(plural) is not None:
        return None
    if one == "*":
        return PortSet.everything()
    try:
        return PortSet.parse(one)
    except ValueError:
        return None  # the general path says why


def _fast_addresses(
    one: Any, rule: Mapping[str, Any], others: tuple[str, str], tags: Tags
) -> AddressSet | _Deferred | None:
    if type(one) is not str or not one.strip() or rule.get(others[0]) is not None or rule.get(others[1]) is not None:
        return None
    return AddressSet.everything() if one == "*" else _Deferred([one], [], tags)


def default_rules(group: str, tags: Tags) -> tuple[Rule, ...]:
    """The three inbound default rules, as the overview page's table defines them."""
    every = AddressSet.everything()
    ports = PortSet.everything()
    return (
        Rule("AllowVnetInBound", group, 65000, True, PROTOCOLS, _VnetRef(tags), ports, _VnetRef(tags), ports,
             default=True),
        Rule("AllowAzureLoadBalancerInBound", group, 65001, True, PROTOCOLS, HOST_VIP, ports, every, ports,
             default=True),
        Rule("DenyAllInBound", group, 65500, False, PROTOCOLS, every, ports, every, ports, default=True),
    )  # fmt: skip


@dataclass(frozen=True, slots=True, eq=False)
class _VnetRef:
    """The VirtualNetwork tag of a default rule, resolved only when that rule is reached or cuts cells."""

    tags: Tags


def _force(value: AddressSet | Unresolved | _VnetRef | _Deferred) -> Resolved:
    if isinstance(value, _Deferred):
        return value.get()
    return value.tags.virtual_network() if isinstance(value, _VnetRef) else value


def read_group(name: str, rules: Any, tags: Tags) -> Group:
    """An NSG's ``securityRules`` (folded list) as a Group with its default rules after its own.

    Reads of each rule what every question needs (direction, access, protocol, priority: what decides whether it
    is readable, and where it stands); its ports and addresses are read when a question reaches them (the same
    values ``read_rule`` gives, see ``Group.rules``). The common spellings take a short path; anything else takes
    ``read_rule``'s own checks."""
    if _bad(rules):
        return Group(name, (), problem=f"the rules of {name} are unknown or secret")
    if rules is MISSING or rules is None:
        rules = []
    if not isinstance(rules, list):
        return Group(name, (), problem=f"the rules of {name} are not a list")
    bodies: list[Mapping[str, Any]] = []
    priorities: list[int] = []
    headers: dict[int, _Header] = {}
    fast = _FAST_PROTOCOLS
    for body in rules:
        if type(body) is not dict and not isinstance(body, Mapping):
            return Group(name, (), problem=f"a rule of {name} is not an object")
        get = body.get
        direction, priority, protocol, access = get("direction"), get("priority"), get("protocol"), get("access")
        if (
            direction == "Inbound"
            and type(priority) is int
            and 100 <= priority <= 4096
            and type(protocol) is str
            and protocol in fast
            and access in ("Allow", "Deny")  # a tuple: compared, never hashed (the value may be a list)
        ):
            bodies.append(body)
            priorities.append(priority)
            continue
        if direction == "Outbound":
            continue
        header = _read_header(body)
        if header is not None:
            headers[len(bodies)] = header
            bodies.append(body)
            priorities.append(header.priority)
    readable = [p for i, p in enumerate(priorities) if i not in headers or not headers[i].problem]
    if len(set(readable)) != len(readable):
        seen: dict[int, str] = {}
        for index, body in enumerate(bodies):
            if index in headers and headers[index].problem:
                continue
            shown, priority = _name(body), priorities[index]
            if priority in seen:
                # Azure refuses this ("You can't create two security rules with the same priority and direction"):
                # an input that has it is not a deployed state, so which rule wins is unknowable.
                return Group(name, (), problem=f"{name}: rules {seen[priority]} and {shown} share priority "
                             f"{priority}")  # fmt: skip
            seen[priority] = shown
    # Unreadable rules stay in place by their (unknown) priority: first, so that reaching them is unknown.
    if any(header.problem for header in headers.values()):
        order = sorted(range(len(bodies)), key=lambda i: (not (i in headers and headers[i].problem), priorities[i]))
    else:
        order = sorted(range(len(bodies)), key=priorities.__getitem__)
    if order != list(range(len(bodies))):
        bodies = [bodies[i] for i in order]
        priorities = [priorities[i] for i in order]
        headers = {position: headers[i] for position, i in enumerate(order) if i in headers}
    return Group(name, bodies=bodies, priorities=priorities, headers=headers, tags=tags)


# SecurityRuleProtocol values as written (any case is read: ``read_rule``); "*" is every protocol.
_FAST_PROTOCOLS: Final = {
    "*": PROTOCOLS,
    **{spelling: frozenset({word}) for word in PROTOCOLS for spelling in (word, word.capitalize(), word.upper())},
}


def _name(body: Mapping[str, Any]) -> str:
    name = body.get("name", MISSING)
    return name if isinstance(name, str) else "(unnamed)"


def _read_header(body: Mapping[str, Any]) -> _Header | None:
    """``read_rule``'s reading of the rule header (None: outbound), for the spellings the short path does not take."""
    rule = read_rule(body, "", Tags())
    if rule is None:
        return None
    return _Header(rule.priority, rule.allow, rule.protocols, rule.problem)


# --- evaluation -----------------------------------------------------------------------------------------------------


def _cells(universe: IntervalSet, cutters: Iterable[IntervalSet]) -> list[tuple[int, int]]:
    """``universe`` split where any cutter's membership changes: inside a cell every cutter is all or nothing."""
    points: set[int] = set()
    for cutter in cutters:
        points.update(cutter.boundaries())
    cells: list[tuple[int, int]] = []
    cuts = sorted(points)
    for low, high in universe.spans:
        start = low
        for point in cuts[bisect.bisect_right(cuts, low) :]:
            if point > high:
                break
            cells.append((start, point - 1))
            start = point
        cells.append((start, high))
    return cells


def _member(value: int, spans: tuple[tuple[int, int], ...]) -> bool:
    index = bisect.bisect_right(spans, (value, 1 << 130)) - 1
    return index >= 0 and spans[index][0] <= value <= spans[index][1]


class _Unknown(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _family(value: AddressSet, v6: bool) -> IntervalSet:
    return value.v6 if v6 else value.v4


def _may_match(rule: Rule, protocol: str, ports: PortSet) -> bool:
    if rule.problem or isinstance(rule.destination_ports, Unresolved):
        return True  # reaching it is unknown: keep it
    return protocol in rule.protocols and rule.destination_ports.ints.overlaps(ports.ints)


class _Cell(NamedTuple):
    """One point of the four dimensions other than the source address (each stands for its whole cell)."""

    protocol: str
    dst_port: int
    src_port: int
    dst: int
    v6: bool


def _decide(group: Group, cell: _Cell, start: IntervalSet) -> list[tuple[IntervalSet, str]]:
    """First match over the source addresses ``start`` (of one family), in one cell of the other four
    dimensions. A rule is only reached by the sources no earlier rule decided: one that cannot be resolved
    matters only if some source of ``start`` is still undecided when it is reached."""
    protocol, dst_port, src_port, dst, v6 = cell
    remaining = start
    allowed: list[tuple[IntervalSet, str]] = []
    for rule in group.rules:
        if not remaining:
            break
        if rule.problem:
            raise _Unknown(f"{rule.label}: {rule.problem}")
        if protocol not in rule.protocols:
            continue
        for ports in (rule.destination_ports, rule.source_ports):
            if isinstance(ports, Unresolved):
                raise _Unknown(f"{rule.label}: {ports.reason}")
        assert isinstance(rule.destination_ports, PortSet) and isinstance(rule.source_ports, PortSet)
        if not _member(dst_port, rule.destination_ports.ints.spans):
            continue
        if not _member(src_port, rule.source_ports.ints.spans):
            continue
        destinations = _force(rule.destinations)
        if isinstance(destinations, Unresolved):
            raise _Unknown(f"{rule.label}: {destinations.reason}")
        if not _member(dst, _family(destinations, v6).spans):
            continue
        sources = _force(rule.sources)
        if isinstance(sources, Unresolved):
            raise _Unknown(f"{rule.label}: {sources.reason}")
        hit, rest = remaining.split(_family(sources, v6))
        if hit:
            if rule.allow:
                allowed.append((hit, rule.label))
            remaining = rest
    return allowed


def reach(groups: Sequence[Group], query: Query) -> Reachability:
    """The sources that reach ``query`` through every group (subnet NSG first, then NIC NSG); no group
    at all means nothing filters the traffic ("All network traffic is allowed ... if they don't have a
    network security group associated")."""
    protocol = query.protocol.lower()
    if protocol not in PROTOCOLS:
        return Reachability(unknown=(f"protocol {query.protocol!r} is not one NSG rules know",))
    for group in groups:
        if group.problem:
            return Reachability(unknown=(group.problem,))
    if not groups:
        hit = AddressSet.everything()
        if query.destinations.v4 and not query.destinations.v6:
            hit = AddressSet(hit.v4, AddressSet.empty().v6)
        elif query.destinations.v6 and not query.destinations.v4:
            hit = AddressSet(AddressSet.empty().v4, hit.v6)
        return Reachability(pieces=(Piece(hit, ()),) if query.destinations and query.ports else ())
    fast = _reach_fast(groups, query, protocol)
    return fast if fast is not None else _reach_rules(groups, query)


def _reach_rules(groups: Sequence[Group], query: Query) -> Reachability:
    """``reach`` over the groups' ``Rule``s, cell by cell: the general evaluation (any rule, resolvable or not);
    ``_reach_fast`` gives the same answer faster when every rule it could reach is resolved."""
    protocol = query.protocol.lower()
    # A rule that cannot match any packet of the query (another protocol, no port in common) never decides
    # one: leaving it out changes no first match, and a 200-rule NSG asked about one port keeps a few rules.
    groups = [Group(g.name, tuple(r for r in g.rules if _may_match(r, protocol, query.ports))) for g in groups]
    relevant = [r for g in groups for r in g.rules]
    dst_port_cells = _cells(
        query.ports.ints, (r.destination_ports.ints for r in relevant if isinstance(r.destination_ports, PortSet))
    )
    src_port_cells = _cells(
        PortSet.everything().ints, (r.source_ports.ints for r in relevant if isinstance(r.source_ports, PortSet))
    )
    found: dict[tuple[str, ...], list[IntervalSet]] = {}
    memo: dict[tuple[bool, tuple[tuple[int, ...], ...]], list[tuple[IntervalSet, tuple[str, ...]]]] = {}
    try:
        for v6 in (False, True):
            universe = _family(query.destinations, v6)
            if not universe:
                continue
            cutters: list[IntervalSet] = []
            for rule in relevant:
                destinations = _force(rule.destinations)  # unresolved ones are found out when reached (_decide)
                if isinstance(destinations, AddressSet):
                    cutters.append(_family(destinations, v6))
            dst_cells = _cells(universe, cutters)
            for dst_port, _ in dst_port_cells:
                for src_port, _ in src_port_cells:
                    for dst, _ in dst_cells:
                        cell = _Cell(protocol, dst_port, src_port, dst, v6)
                        key = (v6, tuple(_matching(g, cell) for g in groups))
                        if key not in memo:
                            memo[key] = _combine(groups, cell)
                        for sources, labels in memo[key]:
                            found.setdefault(labels, []).append(sources)
    except _Unknown as unknown:
        return Reachability(unknown=(unknown.reason,))
    pieces: list[Piece] = []
    for labels, parts in found.items():
        v4 = IntervalSet((), V4_TOP)
        v6set = IntervalSet((), V6_TOP)
        for part in parts:
            if part.top == V4_TOP:
                v4 = v4 | part
            else:
                v6set = v6set | part
        pieces.append(Piece(AddressSet(v4, v6set), labels))
    labels_used = {label for piece in pieces for label in piece.rules}
    written = {r.label: r.written for g in groups for r in g.rules if r.written is not None and r.label in labels_used}
    return Reachability(pieces=tuple(pieces), written=written)


# --- the same evaluation, fast: one pass over the rules for all cells at once ---------------------------------------
# ``_reach_rules`` decides every cell of the other four dimensions on its own. Most rules of a large NSG match every
# cell (any source port, any destination), so the cells' first-match runs share long prefixes: ``_reach_fast`` runs
# them together, as classes of cells that have matched the same rules so far (a class splits where a rule matches
# only some of its cells), on plain span tuples. It answers only when every rule the question could reach is
# resolved (else it returns None and the general evaluation gives the answer, with the reason of the unknown), and
# then its answer is the general one: the same cells, the same pieces in the same order (tests/test_reachability.py
# compares the two on random rule sets).

_EVERY_PORT: Final = ((0, PORT_TOP),)
_EVERY: Final = (((0, V4_TOP),), ((0, V6_TOP),))
_SOURCE_KEYS: Final = ("sourceaddressprefix", "sourceaddressprefixes", "sourceapplicationsecuritygroups")
_DESTINATION_KEYS: Final = (
    "destinationaddressprefix",
    "destinationaddressprefixes",
    "destinationapplicationsecuritygroups",
)


def _port_spans(body: Mapping[str, Any], one_key: str, many_key: str, side: str) -> Spans | None:
    """A rule side's ports as ``read_rule`` reads them; None when unresolved."""
    one = body.get(one_key)
    if type(one) is str:
        if body.get(many_key) is None:
            try:
                return port_spans(one)
            except ValueError:
                pass  # the general reading says why
    elif one is None and type(many := body.get(many_key)) is list:
        found: list[tuple[int, int]] = []
        try:
            for text in many:
                if type(text) is not str:
                    break
                if text.strip():
                    found.extend(port_spans(text))
            else:
                if found:
                    return normalise_spans(found)
        except ValueError:
            pass
    ports = _ports(body, side)
    return None if isinstance(ports, Unresolved) else ports.ints.spans


def _text_spans(text: str, tags: Tags) -> Family | None:
    """What one address text of a rule stands for (``Tags.resolve``); None when unresolved. A plain IPv4 prefix is
    read without building sets or remembering it (an estate's rules hold many distinct prefixes)."""
    span = v4_prefix_span(text)
    if span is not None:
        return ((span,), ())
    resolved = tags.resolve(text)
    return (resolved.v4.spans, resolved.v6.spans) if isinstance(resolved, AddressSet) else None


def _address_spans(body: Mapping[str, Any], keys: tuple[str, str, str], side: str, tags: Tags) -> Family | None:
    """A rule side's addresses as ``read_rule`` reads (and ``_force`` resolves) them; None when unresolved."""
    one = body.get(keys[0])
    if type(one) is str:
        if body.get(keys[1]) is None and body.get(keys[2]) is None:
            if one == "*":
                return _EVERY
            if one.strip():
                return _text_spans(one, tags)
    elif one is None and body.get(keys[2]) is None and type(many := body.get(keys[1])) is list:
        listed = _texts_spans(many, tags)
        if listed is not False:
            return listed
    found = _force(_fast_addresses(one, body, (keys[1], keys[2]), tags) or _addresses(body, side, tags))
    return (found.v4.spans, found.v6.spans) if isinstance(found, AddressSet) else None


def _texts_spans(texts: list[Any], tags: Tags) -> Family | Literal[False] | None:
    """A list of address texts (``...AddressPrefixes``) as one family; False when it is no plain list of texts with
    one at least (the general reading says what it is)."""
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    seen = False
    for text in texts:
        if type(text) is not str:
            return False
        span = v4_prefix_span(text)
        if span is not None:
            v4.append(span)
            seen = True
        elif text.strip():
            family = _text_spans(text, tags)
            if family is None:
                return None
            v4.extend(family[0])
            v6.extend(family[1])
            seen = True
    if not seen:
        return False
    return (normalise_spans(v4) if len(v4) > 1 else tuple(v4), normalise_spans(v6) if len(v6) > 1 else tuple(v6))


def _cuts(universe: Spans, cutters: Iterable[Spans]) -> list[tuple[int, int]]:
    """``_cells`` on span tuples."""
    points: set[int] = set()
    for spans in cutters:
        if universe and len(spans) == 1 and spans[0][0] == 0 and spans[0][1] >= universe[-1][1]:
            continue  # a whole line (any port, any address) cuts nothing
        for low, high in spans:
            points.add(low)
            points.add(high + 1)
    cells: list[tuple[int, int]] = []
    cuts = sorted(points)
    for low, high in universe:
        start = low
        for point in cuts[bisect.bisect_right(cuts, low) :]:
            if point > high:
                break
            cells.append((start, point - 1))
            start = point
        cells.append((start, high))
    return cells


class _FastRule(NamedTuple):
    """A rule that may match the query: its ports and destinations read; its sources read when it is reached."""

    group: Group
    position: int  # among the group's bodies; -1, -2, -3: the default rules
    allow: bool
    destination_ports: Spans
    source_ports: Spans
    destinations: Family
    sources: Family | None  # None: not read yet


_DEFAULTS: Final = (("AllowVnetInBound", 65000), ("AllowAzureLoadBalancerInBound", 65001), ("DenyAllInBound", 65500))


def _label(rule: _FastRule) -> str:
    """``Rule.label``."""
    group = rule.group
    if rule.position < 0:
        name, priority = _DEFAULTS[-rule.position - 1]
        return f"default rule {name} (priority {priority}) of {group.name}"
    assert group._bodies is not None
    return f"rule {_name(group._bodies[rule.position])} (priority {group._priorities[rule.position]}) of {group.name}"


def _fast_priority(rule: _FastRule) -> int:
    return _DEFAULTS[-rule.position - 1][1] if rule.position < 0 else rule.group._priorities[rule.position]


def _written(rule: _FastRule) -> Any:
    """``Rule.written``."""
    if rule.position < 0 or rule.group._bodies is None:
        return None
    get = rule.group._bodies[rule.position].get
    return get("sourceaddressprefix") or get("sourceaddressprefixes") or get("sourceapplicationsecuritygroups")


def _sources(rule: _FastRule) -> Family | None:
    if rule.sources is not None:
        return rule.sources
    group = rule.group
    assert group._bodies is not None and group._tags is not None
    return _address_spans(group._bodies[rule.position], _SOURCE_KEYS, "source", group._tags)


def _relevant(group: Group, protocol: str, wanted: Spans) -> list[_FastRule] | None:
    """The group's rules that may match the query (``_may_match``), in order, with the default rules; None when one
    of them cannot be read (ports, destinations) or the group's VirtualNetwork tag is unknown."""
    bodies, tags, headers = group._bodies, group._tags, group._headers
    if bodies is None or tags is None or group._unreadable:
        return None
    vnet = tags.virtual_network()
    if isinstance(vnet, Unresolved):
        return None
    one_range = wanted[0] if len(wanted) == 1 else None
    fast = _FAST_PROTOCOLS
    out: list[_FastRule] = []
    for index, body in enumerate(bodies):
        header = headers.get(index) if headers else None
        if protocol not in (fast[body["protocol"]] if header is None else header.protocols):
            continue
        one = body.get("destinationportrange")
        destination_ports = (
            known  # the common spelling, already read (``_port_spans``'s answer, sooner)
            if type(one) is str
            and (known := PORT_SPANS_SEEN.get(one)) is not None
            and body.get("destinationportranges") is None
            else _port_spans(body, "destinationportrange", "destinationportranges", "destination")
        )
        if destination_ports is None:
            return None
        if one_range is not None:
            low, high = one_range
            for a, b in destination_ports:
                if a <= high and b >= low:
                    break
            else:
                continue
        elif not IntervalSet(destination_ports, PORT_TOP).overlaps(IntervalSet(wanted, PORT_TOP)):
            continue
        source_ports = _port_spans(body, "sourceportrange", "sourceportranges", "source")
        destinations = _address_spans(body, _DESTINATION_KEYS, "destination", tags)
        if source_ports is None or destinations is None:
            return None
        allow = body["access"] == "Allow" if header is None else header.allow
        out.append(_FastRule(group, index, allow, destination_ports, source_ports, destinations, None))
    network = (vnet.v4.spans, vnet.v6.spans)
    out.append(_FastRule(group, -1, True, _EVERY_PORT, _EVERY_PORT, network, network))
    out.append(_FastRule(group, -2, True, _EVERY_PORT, _EVERY_PORT, _EVERY, (HOST_VIP.v4.spans, HOST_VIP.v6.spans)))
    out.append(_FastRule(group, -3, False, _EVERY_PORT, _EVERY_PORT, _EVERY, _EVERY))
    return out


def _stripes(cells: list[tuple[int, int]], spans: Spans, every: Spans) -> list[int] | None:
    """The cells inside ``spans`` (each cell is wholly in or out: the spans cut them); None for all of them."""
    if spans == every:
        return None
    found = [index for index, (low, _) in enumerate(cells) if _member(low, spans)]
    return None if len(found) == len(cells) else found


def _cell_mask(rule: _FastRule, v6: bool, cells: tuple[list[tuple[int, int]], ...], full: int) -> int:
    """The cells a rule matches, as bits: cell (i, j, k) of (destination port, source port, destination) is bit
    (i * source port cells + j) * destination cells + k."""
    port_cells, source_port_cells, dst_cells = cells
    nsp, nd = len(source_port_cells), len(dst_cells)
    found = full
    # One cell of a port dimension lies wholly inside every rule's ports there (each overlaps the query's ports
    # and has no boundary inside them); a single destination cell may lie outside a rule's destinations.
    if len(port_cells) > 1 and (by_port := _stripes(port_cells, rule.destination_ports, _EVERY_PORT)) is not None:
        block = (1 << (nsp * nd)) - 1
        found &= sum(block << (i * nsp * nd) for i in by_port)
    if nsp > 1 and (by_source := _stripes(source_port_cells, rule.source_ports, _EVERY_PORT)) is not None:
        repeat = full // ((1 << (nsp * nd)) - 1)  # bit 0 of every destination-port block
        found &= sum((((1 << nd) - 1) << (j * nd)) * repeat for j in by_source)
    if (by_destination := _stripes(dst_cells, rule.destinations[v6], _EVERY[v6])) is not None:
        repeat = full // ((1 << nd) - 1)  # bit 0 of every (destination port, source port) block
        found &= sum(repeat << k for k in by_destination)
    return found


class _Reached(Exception):
    """A rule whose sources cannot be resolved is reached: the general evaluation says why (UNKNOWN)."""


def _first_match(
    table: list[_FastRule], v6: bool, cells: tuple[list[tuple[int, int]], ...], full: int, labels: dict[str, _FastRule]
) -> list[list[Any]]:
    """First match over the source addresses of one family in every cell at once: the classes of cells
    ``[cells (bits), sources not yet decided, [(allowed sources, rule label), ...]]``. ``labels``: each label used,
    with its rule."""
    top = V6_TOP if v6 else V4_TOP
    classes: list[list[Any]] = [[full, ((0, top),), []]]
    undecided = 1  # classes whose sources are not all decided yet: none left, no later rule is reached
    every_port = len(cells[0]) == 1
    every_source_port = len(cells[1]) == 1
    everywhere = _EVERY[v6]
    for rule in table:
        if (
            (every_port or rule.destination_ports == _EVERY_PORT)
            and (every_source_port or rule.source_ports == _EVERY_PORT)
            and rule.destinations[v6] == everywhere
        ):
            matched = full  # the common rule: any port, any destination (``_cell_mask``'s answer, sooner)
        else:
            matched = _cell_mask(rule, v6, cells, full)
            if not matched:
                continue
        sources: Spans | None = None
        label = ""
        for index in range(len(classes)):
            current = classes[index]
            remaining = current[1]
            if not remaining:
                continue
            both = current[0] & matched
            if not both:
                continue
            if sources is None:
                family = _sources(rule)
                if family is None:
                    raise _Reached
                sources = family[v6]
            if not sources:
                break
            if both != current[0]:
                classes.append([current[0] ^ both, remaining, current[2][:]])
                current[0] = both
                undecided += 1
            hit, rest = split_spans(remaining, sources)
            if hit:
                if rule.allow:
                    if not label:
                        label = _label(rule)
                        labels[label] = rule
                    current[2].append((hit, label))
                current[1] = rest
                if not rest:
                    undecided -= 1
        if not undecided:
            break
    return classes


def _reach_fast(groups: Sequence[Group], query: Query, protocol: str) -> Reachability | None:
    wanted = query.ports.ints.spans
    if not wanted:
        return None
    tables: list[list[_FastRule]] = []
    for group in groups:
        table = _relevant(group, protocol, wanted)
        if table is None:
            return None
        tables.append(table)
    every_rule = [rule for table in tables for rule in table]
    port_cells = _cuts(wanted, (rule.destination_ports for rule in every_rule))
    source_port_cells = _cuts(_EVERY_PORT, (rule.source_ports for rule in every_rule))
    found: dict[tuple[str, ...], list[tuple[bool, Spans]]] = {}
    labels: dict[str, _FastRule] = {}
    for v6 in (False, True):
        universe = _family(query.destinations, v6)
        if not universe:
            continue
        cells = (port_cells, source_port_cells, _cuts(universe.spans, (rule.destinations[v6] for rule in every_rule)))
        count = len(cells[0]) * len(cells[1]) * len(cells[2])
        full = (1 << count) - 1
        owners: list[list[int] | None] = []
        decisions: list[list[list[tuple[Spans, str]]]] = []
        for table in tables:
            try:
                classes = _first_match(table, v6, cells, full, labels)
            except _Reached:
                return None
            owner: list[int] | None = None  # the class of each cell (None: one class holds them all)
            if len(classes) > 1:
                owner = [0] * count
                for index, current in enumerate(classes):
                    bits = current[0]
                    while bits:
                        low = bits & -bits
                        owner[low.bit_length() - 1] = index
                        bits ^= low
            owners.append(owner)
            decisions.append([current[2] for current in classes])
        memo: dict[tuple[int, ...], list[tuple[Spans, tuple[str, ...]]]] = {}
        for cell in range(count):
            key = tuple(0 if owner is None else owner[cell] for owner in owners)
            combined = memo.get(key)
            if combined is None:
                # As ``_combine``: the next NSG sees what the ones before it allowed (deciding a group from every
                # source and intersecting is the same as deciding it from those: first match is per source).
                combined = [(allowed, (label,)) for allowed, label in decisions[0][key[0]]]
                for decided, chosen in zip(decisions[1:], key[1:], strict=True):
                    if not combined:
                        break
                    combined = [
                        (both, (*labels_so_far, label))
                        for sources, labels_so_far in combined
                        for allowed, label in decided[chosen]
                        if (both := intersect_spans(sources, allowed))
                    ]
                memo[key] = combined
            for spans, labels_of in combined:
                found.setdefault(labels_of, []).append((v6, spans))
    pieces: list[Piece] = []
    for labels_of, parts in found.items():
        v4 = normalise_spans(span for v6, part in parts if not v6 for span in part)
        v6_spans = normalise_spans(span for v6, part in parts if v6 for span in part)
        pieces.append(Piece(AddressSet(IntervalSet(v4, V4_TOP), IntervalSet(v6_spans, V6_TOP)), labels_of))
    used = {label for piece in pieces for label in piece.rules}
    # As ``_reach_rules`` builds it: every rule whose label is used, in order (a label names one priority).
    priorities = {_fast_priority(rule) for label, rule in labels.items() if label in used}
    written: dict[str, Any] = {}
    for rule in every_rule:
        if _fast_priority(rule) in priorities and (label := _label(rule)) in used:
            value = _written(rule)
            if value is not None:
                written[label] = value
    return Reachability(pieces=tuple(pieces), written=written)


def _sweep(ranges: list[Spans], top: int) -> set[int]:
    """The distinct sets of rules (bit i: ranges[i]) that hold the points of ``[0, top]``, one per elementary piece
    of the line the ranges cut."""
    toggles: dict[int, int] = {}
    everywhere = 0  # the rules that hold the whole line (most: any port, any destination) are in every set
    whole = ((0, top),)
    for index, spans in enumerate(ranges):
        if spans == whole:
            everywhere |= 1 << index
            continue
        bit = 1 << index
        for low, high in spans:
            toggles[low] = toggles.get(low, 0) ^ bit
            toggles[high + 1] = toggles.get(high + 1, 0) ^ bit
    found: set[int] = set()
    current = previous = 0
    for point in sorted(toggles):
        if point > previous:
            found.add(current | everywhere)
        current ^= toggles[point]
        previous = point
    if previous <= top:
        found.add(current | everywhere)
    return found


def _minimal(sets: Iterable[int]) -> list[int]:
    """The sets (as bits) no other one is inside of: a cell whose matching rules include another cell's leaves
    no more undecided than that one."""
    kept: list[int] = []
    for bits in sorted(set(sets), key=int.bit_count):
        if not any(smaller & bits == smaller for smaller in kept):
            kept.append(bits)
    return kept


def _reaching_defaults_fast(group: Group) -> Reachability | None:
    """``reaching_defaults`` when every rule of the group is resolved (else None). Then the order of the rules does
    not matter: a packet is left to the default rules exactly when no rule matches it, so the sources left over
    for a protocol are those outside the union of the matching rules' sources in at least one cell. That is the
    complement of the intersection, over the cells, of those unions -- and only the cells matched by the fewest
    rules (``_minimal``) can narrow an intersection."""
    bodies, tags, headers = group._bodies, group._tags, group._headers
    if bodies is None or tags is None or group._unreadable or group.problem:
        return None
    fast = _FAST_PROTOCOLS
    protocols: list[frozenset[str]] = []
    port_ranges: list[Spans] = []
    source_port_ranges: list[Spans] = []
    destinations: list[Family] = []
    sources: list[Family] = []
    for index, body in enumerate(bodies):
        header = headers.get(index) if headers else None
        destination_ports = _port_spans(body, "destinationportrange", "destinationportranges", "destination")
        source_ports = _port_spans(body, "sourceportrange", "sourceportranges", "source")
        destination = _address_spans(body, _DESTINATION_KEYS, "destination", tags)
        source = _address_spans(body, _SOURCE_KEYS, "source", tags)
        if destination_ports is None or source_ports is None or destination is None or source is None:
            return None
        protocols.append(fast[body["protocol"]] if header is None else header.protocols)
        port_ranges.append(destination_ports)
        source_port_ranges.append(source_ports)
        destinations.append(destination)
        sources.append(source)
    by_port = _minimal(_sweep(port_ranges, PORT_TOP))
    by_source_port = _minimal(_sweep(source_port_ranges, PORT_TOP))
    by_destination = [
        _minimal(_sweep([destination[v6] for destination in destinations], top))
        for v6, top in ((False, V4_TOP), (True, V6_TOP))
    ]
    catch = f"default rule (none of its rules) (priority 65000) of {group.name}"
    left: dict[int, tuple[Spans, Spans]] = {}
    pieces: list[Piece] = []
    for protocol in sorted(PROTOCOLS):
        chosen = sum(1 << index for index, names in enumerate(protocols) if protocol in names)
        if chosen not in left:
            per_family: list[Spans] = []
            for v6, top in ((False, V4_TOP), (True, V6_TOP)):
                cells = _minimal(
                    a & b & c & chosen for a in by_port for b in by_source_port for c in by_destination[v6]
                )
                covered: Spans = ((0, top),)
                for bits in cells:
                    union = normalise_spans(span for index in _bits(bits) for span in sources[index][v6])
                    covered = intersect_spans(covered, union)
                    if not covered:
                        break
                per_family.append(complement_spans(covered, top))
            left[chosen] = (per_family[0], per_family[1])
        v4, v6_spans = left[chosen]
        if v4 or v6_spans:
            sources_left = AddressSet(IntervalSet(v4, V4_TOP), IntervalSet(v6_spans, V6_TOP))
            pieces.append(Piece(sources_left, (f"{protocol.upper()} {catch}",)))
    return Reachability(pieces=tuple(pieces))


def _bits(bits: int) -> Iterator[int]:
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low


def _matching(group: Group, cell: _Cell) -> tuple[int, ...]:
    """The rules that could apply in this cell, by position (the memo key: cells whose rules are the same are
    decided the same)."""
    protocol, dst_port, src_port, dst, v6 = cell
    out: list[int] = []
    for index, rule in enumerate(group.rules):
        if rule.problem or isinstance(rule.destination_ports, Unresolved) or isinstance(rule.source_ports, Unresolved):
            out.append(index)
            continue
        if protocol not in rule.protocols:
            continue
        if not _member(dst_port, rule.destination_ports.ints.spans) or not _member(
            src_port, rule.source_ports.ints.spans
        ):
            continue
        destinations = _force(rule.destinations)
        if isinstance(destinations, AddressSet) and not _member(dst, _family(destinations, v6).spans):
            continue
        out.append(index)
    return tuple(out)


def _combine(groups: Sequence[Group], cell: _Cell) -> list[tuple[IntervalSet, tuple[str, ...]]]:
    top = V6_TOP if cell.v6 else V4_TOP
    current: list[tuple[IntervalSet, tuple[str, ...]]] = [(IntervalSet(((0, top),), top), ())]
    for group in groups:
        # The next NSG sees only what the ones before it allowed ("If NSG1 has a security rule that allows
        # port 80, the traffic is then processed by NSG2", network-security-group-how-it-works.md).
        reaching = IntervalSet.union_of((sources for sources, _ in current), top)
        decided = _decide(group, cell, reaching)
        current = [
            (both, (*labels, label))
            for sources, labels in current
            for allowed, label in decided
            if (both := sources & allowed)
        ]
        if not current:
            break
    return current


# --- reading the inventory ------------------------------------------------------------------------------------------
# Paths read here (ARM bodies as the inventory folds and flattens them), for a later comparison with the models of
# azure-mgmt-network: Microsoft.Network/virtualNetworks/subnets properties.addressPrefix, properties.addressPrefixes,
# properties.networkSecurityGroup.id, properties.routeTable.id, properties.privateEndpointNetworkPolicies;
# virtualNetworks properties.addressSpace.addressPrefixes, properties.virtualNetworkPeerings[*]
# (remoteAddressSpace.addressPrefixes, useRemoteGateways) and virtualNetworkPeerings children;
# virtualNetworkGateways properties.ipConfigurations[*].subnet.id,
# properties.vpnClientConfiguration.vpnClientAddressPool.addressPrefixes; connections properties.virtualNetworkGateway1.id,
# properties.localNetworkGateway2.id, properties.virtualNetworkGateway2.id, properties.connectionType,
# properties.enableBgp; localNetworkGateways properties.localNetworkAddressSpace.addressPrefixes; routeTables
# properties.routes[*].addressPrefix; applicationSecurityGroups (existence); networkInterfaces
# properties.ipConfigurations[*].applicationSecurityGroups[*].id and .privateIPAddress; privateEndpoints
# properties.applicationSecurityGroups[*].id, properties.ipConfigurations[*].privateIPAddress.

SUBNET: Final = "Microsoft.Network/virtualNetworks/subnets"
VNET: Final = "Microsoft.Network/virtualNetworks"
PEERING: Final = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"
GATEWAY: Final = "Microsoft.Network/virtualNetworkGateways"
CONNECTION: Final = "Microsoft.Network/connections"
LOCAL_GATEWAY: Final = "Microsoft.Network/localNetworkGateways"
ROUTE_TABLE: Final = "Microsoft.Network/routeTables"
ASG: Final = "Microsoft.Network/applicationSecurityGroups"
NIC: Final = "Microsoft.Network/networkInterfaces"
PRIVATE_ENDPOINT: Final = "Microsoft.Network/privateEndpoints"
NSG_TYPE: Final = "Microsoft.Network/networkSecurityGroups"


def prefixes(value: Any, what: str) -> Resolved:
    """A list of CIDR texts as an address set (a missing list is no address; anything unreadable is unknown)."""
    if value is MISSING or value is None:
        return AddressSet.empty()
    if _bad(value) or not isinstance(value, list):
        return Unresolved(f"{what}: not a readable list of prefixes")
    if any(not isinstance(v, str) for v in value):
        # An unknown or secret element (a preview's computed prefix) is some block: skipping it made the set smaller.
        return Unresolved(f"{what}: a prefix is unknown, secret or not a text")
    try:
        return AddressSet.parse_all(value)
    except ValueError as error:
        return Unresolved(f"{what}: {error}")


def subnet_addresses(subnet: Resource) -> Resolved:
    one = subnet.get("properties.addressPrefix")
    if _bad(one):
        return Unresolved(f"subnet {subnet.name}: addressPrefix unknown")
    many = prefixes(subnet.get("properties.addressPrefixes"), f"subnet {subnet.name} addressPrefixes")
    if isinstance(many, Unresolved):
        return many
    if isinstance(one, str):
        try:
            many = many | AddressSet.parse(one)
        except ValueError:
            return Unresolved(f"subnet {subnet.name}: addressPrefix {one!r} is no CIDR block")
    return many


def _union(parts: Iterable[Resolved]) -> Resolved:
    found = AddressSet.empty()
    for part in parts:
        if isinstance(part, Unresolved):
            return part
        found = found | part
    return found


def _gateway_parts(inventory: Inventory, gateway: Resource) -> Iterable[Resolved]:
    """What a gateway of the network connects: its point-to-site client pool and the networks of its connections."""
    nat = gateway.get("properties.natRules")
    if nat not in (MISSING, None, []):
        # NAT rules translate the on-premises (IngressSnat) addresses before the NSGs see them.
        yield Unresolved(f"gateway {gateway.name} has NAT rules: the addresses its traffic arrives from are not read")
    client = gateway.get("properties.vpnClientConfiguration")
    if client is not MISSING and client is not None:
        yield prefixes(
            gateway.get("properties.vpnClientConfiguration.vpnClientAddressPool.addressPrefixes"),
            f"gateway {gateway.name} client pool",
        )
    connections = inventory.derived("nsg.connections_by_gateway", lambda: _connections_by_gateway(inventory))
    for connection in connections.get(_UNPLACED, ()):  # it may be this gateway's: what it brings is not known
        yield Unresolved(f"connection {connection.name}: which gateway it belongs to is not known")
    for connection in connections.get(gateway.id_key, ()):
        bgp = connection.get("properties.enableBgp")
        if bgp is not MISSING and bgp is not None and bgp is not False:
            yield Unresolved(f"connection {connection.name}: BGP may learn prefixes the inventory does not hold")
            continue
        local_id = connection.get("properties.localNetworkGateway2.id")
        if isinstance(local_id, str):
            local = inventory.get(local_id)
            if local is None:
                yield Unresolved(f"connection {connection.name}: its local network gateway is not in the inventory")
                continue
            yield prefixes(
                local.get("properties.localNetworkAddressSpace.addressPrefixes"), f"local network gateway {local.name}"
            )
        else:
            yield Unresolved(f"connection {connection.name}: the network on its other side is not resolved here")


_UNPLACED = "?"  # the key of the gateways (connections) whose network (gateway) is not known: they may be any


def _connections_by_gateway(inventory: Inventory) -> dict[str, list[Resource]]:
    """Each gateway (lower-case ID) with the connections whose ``virtualNetworkGateway1`` names it; under
    ``_UNPLACED`` those whose reference is unknown, secret or no plain ID (it may name any gateway)."""
    found: dict[str, list[Resource]] = {}
    for connection in inventory.of_type(CONNECTION):
        reference = connection.get("properties.virtualNetworkGateway1.id")
        if reference is MISSING or reference is None:
            continue  # names no gateway
        found.setdefault(canonical_id(reference) or _UNPLACED, []).append(connection)
    return found


def _gateways_by_network(inventory: Inventory) -> dict[str, list[Resource]]:
    """Each virtual network (lower-case ID) with the gateways that have an IP configuration in one of its subnets;
    under ``_UNPLACED`` the gateways whose configurations or subnet IDs are unknown, secret or no plain ID.

    A subnet ID is ``<network ID>/subnets/<name>``: every ``/subnets/`` in it is cut, so the index answers exactly
    what "the subnet ID starts with the network's ID + /subnets/" answers for every network, in one pass.
    """
    found: dict[str, list[Resource]] = {}
    for gateway in inventory.of_type(GATEWAY):
        configs = gateway.get("properties.ipConfigurations")
        if _bad(configs) or (configs not in (MISSING, None) and not isinstance(configs, list)):
            found.setdefault(_UNPLACED, []).append(gateway)
            continue
        networks: dict[str, None] = {}
        for config in configs if isinstance(configs, list) else []:
            reference = config.get("subnet") if isinstance(config, Mapping) else UNKNOWN
            subnet_id = reference.get("id") if isinstance(reference, Mapping) else reference
            if subnet_id is MISSING or subnet_id is None:
                continue  # no subnet: in no network
            subnet = canonical_id(subnet_id)
            if subnet is None:  # unknown, secret, or a text of no plain ID (" /subscriptions/...", ".../v//subnets/s")
                networks[_UNPLACED] = None
                continue
            at = subnet.find("/subnets/")
            while at >= 0:
                networks[subnet[:at]] = None
                at = subnet.find("/subnets/", at + 1)
        for network in networks:
            found.setdefault(network, []).append(gateway)
    return found


def virtual_network_addresses(inventory: Inventory, vnet: Resource) -> Resolved:
    """The VirtualNetwork tag as seen from ``vnet`` (service-tags-overview.md, quoted in the module docstring)."""
    parts: list[Resolved] = [HOST_VIP]
    space = vnet.get("properties.addressSpace.addressPrefixes")
    if not isinstance(space, list):
        return Unresolved(f"virtual network {vnet.name}: address space not readable")
    parts.append(prefixes(space, f"virtual network {vnet.name}"))
    inline = vnet.get("properties.virtualNetworkPeerings")
    peerings: list[Any] = list(inline) if isinstance(inline, list) else []
    if _bad(inline):
        return Unresolved(f"virtual network {vnet.name}: peerings unknown")
    peerings.extend(p.folded.get("properties", {}) for p in inventory.children(vnet, PEERING))
    for peering in peerings:
        if not isinstance(peering, Mapping):
            return Unresolved(f"virtual network {vnet.name}: a peering is not readable")
        remote = peering.get("remoteaddressspace")
        remote_prefixes = remote.get("addressprefixes") if isinstance(remote, Mapping) else MISSING
        if not isinstance(remote_prefixes, list):
            return Unresolved(f"virtual network {vnet.name}: a peering's remote address space was not read")
        parts.append(prefixes(remote_prefixes, f"a peering of {vnet.name}"))
        if peering.get("useremotegateways") not in (None, False, MISSING):
            parts.append(Unresolved(f"a peering of {vnet.name} uses remote gateways: their networks are not read"))
    gateways = inventory.derived("nsg.gateways_by_network", lambda: _gateways_by_network(inventory))
    for gateway in gateways.get(vnet.id_key, ()):
        parts.extend(_gateway_parts(inventory, gateway))
    for gateway in gateways.get(_UNPLACED, ()):  # its client pool may be part of this network's tag: not known
        parts.append(Unresolved(f"gateway {gateway.name}: which network its IP configurations sit in is not known"))
    for subnet in inventory.children(vnet, SUBNET):
        table_id = subnet.get("properties.routeTable.id")
        if table_id is MISSING or table_id is None:
            continue
        table = inventory.get(table_id) if isinstance(table_id, str) else None
        if table is None:
            parts.append(Unresolved(f"subnet {subnet.name}: its route table was not read"))
            continue
        routes = table.get("properties.routes")
        for route in routes if isinstance(routes, list) else []:
            prefix = route.get("addressprefix") if isinstance(route, Mapping) else None
            if prefix in ("0.0.0.0/0", "::/0"):
                parts.append(Unresolved(f"route table {table.name} has a default route (the tag 'might also contain "
                                        "default routes')"))  # fmt: skip
            elif isinstance(prefix, str):
                parts.append(prefixes([prefix], f"route table {table.name}"))
            else:
                parts.append(Unresolved(f"route table {table.name}: a route's prefix is not readable"))
    return _union(parts)


def _addresses_of_configs(configs: Any, owner: str) -> Resolved:
    if not isinstance(configs, list):
        return Unresolved(f"{owner}: IP configurations not readable")
    found: list[Resolved] = []
    for config in configs:
        address = config.get("privateipaddress") if isinstance(config, Mapping) else None
        if not isinstance(address, str):
            return Unresolved(f"{owner}: a private IP address is not known (dynamic, or not read)")
        found.append(prefixes([address], owner))
    return _union(found)


def asg_members(inventory: Inventory) -> dict[str, Resolved]:
    """Each application security group of the inventory with its members' addresses (network interfaces and
    private endpoints of the inventory that name it); a member whose address is not known makes it unknown.

    Built once per inventory: every subnet's tags need it, and a scan of every interface per subnet is quadratic.
    """
    return inventory.derived("nsg.asg_members", lambda: _asg_members(inventory))


def _asg_members(inventory: Inventory) -> dict[str, Resolved]:
    members: dict[str, list[Resolved]] = {asg.id_key: [] for asg in inventory.of_type(ASG)}
    if not members:
        return {}
    # A member whose groups are not known (unknown, secret or malformed) may belong to any of them: every
    # group's members are then unresolved, never a smaller set that a rule naming the group would under-count.
    unplaced: list[Resolved] = []
    for nic in inventory.of_type(NIC):
        configs = nic.get("properties.ipConfigurations")
        owner = f"network interface {nic.name}"
        if not _listed(configs):
            unplaced.append(Unresolved(f"{owner}: its IP configurations (and their groups) are not known"))
            continue
        for config in configs if isinstance(configs, list) else []:
            refs = config.get("applicationsecuritygroups") if isinstance(config, Mapping) else UNKNOWN
            if not _listed(refs):
                unplaced.append(
                    Unresolved(f"{owner}: the application security groups of a configuration are not known")
                )
                continue
            for key in _group_keys(refs, owner, unplaced):
                if key in members:
                    members[key].append(_addresses_of_configs([config], owner))
    for endpoint in inventory.of_type(PRIVATE_ENDPOINT):
        refs = endpoint.get("properties.applicationSecurityGroups")
        owner = f"private endpoint {endpoint.name}"
        if not _listed(refs):
            unplaced.append(Unresolved(f"{owner}: its application security groups are not known"))
            continue
        for key in _group_keys(refs, owner, unplaced):
            if key in members:
                members[key].append(_addresses_of_configs(endpoint.get("properties.ipConfigurations"), owner))
    return {key: _union([*parts, *unplaced[:1]]) for key, parts in members.items()}


def _listed(value: Any) -> bool:
    """A list, or absent (nothing there); False for what is unknown, secret or of another type."""
    return value is MISSING or value is None or isinstance(value, list)


def _group_keys(refs: Any, owner: str, unplaced: list[Resolved]) -> list[str]:
    """The lower-case IDs a list of ``{"id": ...}`` references names; an unreadable one is recorded as unplaced."""
    keys = []
    for ref in refs if isinstance(refs, list) else []:
        key = ref.get("id") if isinstance(ref, Mapping) else UNKNOWN
        canonical = canonical_id(key)
        if canonical is None:  # unknown, secret, or padded / trailing-slash text whose group is not known
            unplaced.append(Unresolved(f"{owner}: an application security group reference is not known"))
            continue
        keys.append(canonical)
    return keys


def tags_for(inventory: Inventory, vnet: Resource | None) -> Tags:
    if vnet is None:
        return Tags(asg_members=asg_members(inventory))
    return Tags(virtual_network=lambda: virtual_network_addresses(inventory, vnet), asg_members=asg_members(inventory))


def subnet_group(inventory: Inventory, subnet: Resource, tags: Tags) -> Group | Unresolved | None:
    """The NSG of a subnet as a Group; None when the subnet has none."""
    group_id = subnet.get("properties.networkSecurityGroup.id")
    if group_id is MISSING or group_id is None:
        return None
    group = inventory.get(group_id) if isinstance(group_id, str) else None
    if group is None:
        return Unresolved(f"subnet {subnet.name}: its network security group is unknown or not in the inventory")
    return read_group(group.name, group.get("properties.securityRules"), tags)


# "By default, network policies are disabled for a subnet in a virtual network. To use network policies like
# user-defined routes and network security group support, network policy support must be enabled for the subnet.
# This setting only applies to private endpoints in the subnet" ... "The possible values for
# privateEndpointNetworkPolicies are Disabled, NetworkSecurityGroupEnabled, RouteTableEnabled, and Enabled."
# (MicrosoftDocs/azure-docs articles/private-link/disable-private-endpoint-network-policy.md,
# commit 027faf67ae0df84208dd3480869a3a26de8caf49)
ENDPOINT_POLICIES: Final = ("Disabled", "NetworkSecurityGroupEnabled", "RouteTableEnabled", "Enabled")


def nsg_applies_to_endpoints(subnet: Resource) -> bool | None:
    """Whether the subnet's NSG filters traffic to its private endpoints; None when that is not readable."""
    value = subnet.get("properties.privateEndpointNetworkPolicies")
    if value is MISSING or value is None:
        return False  # the documented default: disabled
    if not isinstance(value, str) or value.lower() not in {v.lower() for v in ENDPOINT_POLICIES}:
        return None
    return value.lower() in ("enabled", "networksecuritygroupenabled")


def reaching_defaults(group: Group) -> Reachability:
    """The traffic no rule of ``group`` decides -- which therefore meets AllowVnetInBound and
    AllowAzureLoadBalancerInBound -- over every protocol, port and destination. Its pieces are that traffic's
    sources; empty means the group's own rules decide everything (an effective deny-all)."""
    fast = _reaching_defaults_fast(group)
    return fast if fast is not None else _reaching_defaults_rules(group)


def _reaching_defaults_rules(group: Group) -> Reachability:
    """``reaching_defaults`` by the general evaluation, protocol by protocol (any rule, resolvable or not)."""
    own = tuple(r for r in group.rules if not r.default)
    every, ports = AddressSet.everything(), PortSet.everything()
    catch = Rule("(none of its rules)", group.name, 65000, True, PROTOCOLS, every, ports, every, ports, default=True)
    probe = Group(group.name, (*own, catch), group.problem)
    pieces: list[Piece] = []
    for protocol in sorted(PROTOCOLS):
        found = reach([probe], Query(every, protocol, ports))
        if not found.known:
            return found
        pieces.extend(
            Piece(p.sources, (f"{protocol.upper()} {p.rules[0]}",)) for p in found.pieces if p.rules == (catch.label,)
        )
    return Reachability(pieces=tuple(pieces))
