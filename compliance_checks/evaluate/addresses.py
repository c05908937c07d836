"""Exact sets of IP addresses and ports, as normalised sorted disjoint intervals.

Every set is immutable and canonical: two sets are equal exactly when they hold the same
addresses, so ``0.0.0.0/1`` + ``128.0.0.0/1`` *is* ``0.0.0.0/0`` and ``0-65535`` *is* every
port. No operation approximates; a text that is no address or port raises ``ValueError``
(the caller decides what an unreadable value means -- never "everything is fine").
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

V4_TOP: Final = (1 << 32) - 1
V6_TOP: Final = (1 << 128) - 1
PORT_TOP: Final = 65535

Interval = tuple[int, int]  # inclusive bounds


def _end(span: Interval) -> int:
    return span[1]


def _normalise(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, disjoint and non-adjacent: the one canonical form of a set."""
    ordered = sorted(intervals)
    out: list[Interval] = []
    for low, high in ordered:
        if out and low <= out[-1][1] + 1:
            if high > out[-1][1]:
                out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return tuple(out)


def _intersect(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        low = max(a[i][0], b[j][0])
        high = min(a[i][1], b[j][1])
        if low <= high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _complement(a: tuple[Interval, ...], top: int) -> tuple[Interval, ...]:
    out: list[Interval] = []
    nxt = 0
    for low, high in a:
        if low > nxt:
            out.append((nxt, low - 1))
        nxt = high + 1
    if nxt <= top:
        out.append((nxt, top))
    return tuple(out)


def _difference(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    if not a or not b:
        return a
    out: list[Interval] = []
    j = 0
    for low, high in a:
        start = low
        while j < len(b) and b[j][1] < start:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= high:
            if b[k][0] > start:
                out.append((start, b[k][0] - 1))
            start = max(start, b[k][1] + 1)
            if start > high:
                break
            k += 1
        if start <= high:
            out.append((start, high))
    return tuple(out)


def split_spans(
    spans: tuple[Interval, ...], other: tuple[Interval, ...]
) -> tuple[tuple[Interval, ...], tuple[Interval, ...]]:
    """``(spans & other, spans - other)`` of two canonical span tuples, both canonical. Each range of ``other``
    takes two bisections and slices, so a many-span ``spans`` split by a few ranges (first-match evaluation: the
    undecided sources split by each rule's prefixes) costs no Python-level loop over its spans."""
    if not other or not spans:
        return (), spans
    inside: list[Interval] = []
    for low, high in other:
        first = bisect.bisect_right(spans, (low, _BEYOND))  # spans[:first] start at or before ``low``
        if first and spans[first - 1][1] >= low:
            first -= 1  # the span holding ``low``
        last = bisect.bisect_right(spans, (high, _BEYOND))  # spans[:last] start at or before ``high``
        if first >= last:
            continue
        a = spans[first][0]
        d = spans[last - 1][1]
        if a >= low and d <= high:
            inside.extend(spans[first:last])
            spans = spans[:first] + spans[last:]
            continue
        middle = list(spans[first:last])
        cut: list[Interval] = []
        if a < low:
            cut.append((a, low - 1))
            middle[0] = (low, middle[0][1])
        if d > high:
            cut.append((high + 1, d))
            middle[-1] = (middle[-1][0], high)
        inside.extend(middle)
        spans = spans[:first] + tuple(cut) + spans[last:]
    return tuple(inside), spans


_BEYOND: Final = 1 << 129  # greater than any bound (IPv6 addresses are below 2^128)


# The span-level operations, for evaluators whose inner loops work on plain tuples (addresses.py's sets wrap them).
normalise_spans: Final = _normalise
intersect_spans: Final = _intersect
complement_spans: Final = _complement


@dataclass(frozen=True, slots=True)
class IntervalSet:
    """A set of integers in ``[0, top]``; ``spans`` is canonical (see ``_normalise``)."""

    spans: tuple[Interval, ...]
    top: int

    @staticmethod
    def of(intervals: Iterable[Interval], top: int) -> IntervalSet:
        spans = _normalise(intervals)
        if spans and (spans[0][0] < 0 or spans[-1][1] > top):
            raise ValueError(f"interval outside 0..{top}")
        return IntervalSet(spans, top)

    @staticmethod
    def union_of(sets: Iterable[IntervalSet], top: int) -> IntervalSet:
        """The union of many sets of one universe, normalised once."""
        return IntervalSet(_normalise(span for one in sets for span in one.spans), top)

    def _same_universe(self, other: IntervalSet) -> None:
        if self.top != other.top:
            raise ValueError("sets of different universes")

    def __or__(self, other: IntervalSet) -> IntervalSet:
        self._same_universe(other)
        if not other.spans:
            return self
        if not self.spans:
            return other
        return IntervalSet(_normalise(self.spans + other.spans), self.top)

    def __and__(self, other: IntervalSet) -> IntervalSet:
        self._same_universe(other)
        return IntervalSet(_intersect(self.spans, other.spans), self.top)

    def __sub__(self, other: IntervalSet) -> IntervalSet:
        self._same_universe(other)
        return IntervalSet(_difference(self.spans, other.spans), self.top)

    def complement(self) -> IntervalSet:
        return IntervalSet(_complement(self.spans, self.top), self.top)

    def __le__(self, other: IntervalSet) -> bool:
        return not (self - other).spans

    def split(self, other: IntervalSet) -> tuple[IntervalSet, IntervalSet]:
        """``(self & other, self - other)`` in one pass that only touches the spans ``other`` overlaps
        (first-match evaluation splits a many-span remainder by small rule sets, hundreds of times)."""
        inside, outside = split_spans(self.spans, other.spans)
        return IntervalSet(inside, self.top), IntervalSet(outside, self.top)

    def overlaps(self, other: IntervalSet) -> bool:
        """Whether the sets share a value (``bool(a & b)`` without building the intersection)."""
        i = j = 0
        mine, theirs = self.spans, other.spans
        while i < len(mine) and j < len(theirs):
            if mine[i][1] < theirs[j][0]:
                i += 1
            elif theirs[j][1] < mine[i][0]:
                j += 1
            else:
                return True
        return False

    def __bool__(self) -> bool:
        return bool(self.spans)

    def __contains__(self, value: int) -> bool:
        return any(low <= value <= high for low, high in self.spans)

    def is_everything(self) -> bool:
        return self.spans == ((0, self.top),)

    def size(self) -> int:
        return sum(high - low + 1 for low, high in self.spans)

    def boundaries(self) -> Iterator[int]:
        """Where membership changes: each span's first value and the value after its last."""
        for low, high in self.spans:
            yield low
            yield high + 1


# --- ports ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortSet:
    """Ports 0-65535. Rule text: ``*``, ``80``, ``10000-10005`` (networkSecurityGroup.json SecurityRule
    ``destinationPortRange``: "Integer or range between 0 and 65535. Asterisk '*' can also be used to match all
    ports.")."""

    ints: IntervalSet

    @staticmethod
    def of(intervals: Iterable[Interval]) -> PortSet:
        return PortSet(IntervalSet.of(intervals, PORT_TOP))

    @staticmethod
    def everything() -> PortSet:
        return _ALL_PORTS

    @staticmethod
    def empty() -> PortSet:
        return _NO_PORTS

    @staticmethod
    def parse(text: str) -> PortSet:
        return _parse_port(text)

    @staticmethod
    def parse_all(texts: Iterable[str]) -> PortSet:
        parsed = [_parse_port(text) for text in texts]
        if len(parsed) == 1:
            return parsed[0]
        return PortSet(IntervalSet(_normalise(span for one in parsed for span in one.ints.spans), PORT_TOP))

    def __or__(self, other: PortSet) -> PortSet:
        return PortSet(self.ints | other.ints)

    def __and__(self, other: PortSet) -> PortSet:
        return PortSet(self.ints & other.ints)

    def __sub__(self, other: PortSet) -> PortSet:
        return PortSet(self.ints - other.ints)

    def complement(self) -> PortSet:
        return PortSet(self.ints.complement())

    def __le__(self, other: PortSet) -> bool:
        return self.ints <= other.ints

    def __bool__(self) -> bool:
        return bool(self.ints)

    def __contains__(self, port: int) -> bool:
        return port in self.ints

    def is_everything(self) -> bool:
        return self.ints.is_everything()

    def describe(self) -> str:
        if self.is_everything():
            return "0-65535"
        if not self.ints:
            return "(none)"
        return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in self.ints.spans)


_ALL_PORTS: Final = PortSet(IntervalSet(((0, PORT_TOP),), PORT_TOP))
_NO_PORTS: Final = PortSet(IntervalSet((), PORT_TOP))


@functools.lru_cache(maxsize=65536)
def _parse_port(text: str) -> PortSet:
    return PortSet(IntervalSet(_port_spans(text), PORT_TOP))


def _port_spans(text: str) -> tuple[Interval, ...]:
    stripped = text.strip()
    if stripped == "*":
        return _ALL_PORTS.ints.spans
    low_text, dash, high_text = stripped.partition("-")
    if not low_text.isdigit() or (dash and not high_text.isdigit()) or len(low_text) > 5 or len(high_text) > 5:
        raise ValueError(f"not a port or port range: {text!r}")
    low, high = int(low_text), int(high_text) if dash else int(low_text)
    if not 0 <= low <= high <= PORT_TOP:
        raise ValueError(f"not a port range between 0 and 65535: {text!r}")
    return ((low, high),)


PORT_SPANS_SEEN: dict[str, tuple[Interval, ...]] = {}  # text -> spans, for the common texts (``port_spans``)
_KEPT: Final = 4096  # texts remembered: the common ones; a cache of every distinct text would only feed the collector


def port_spans(text: str) -> tuple[Interval, ...]:
    """A port rule text's spans (``PortSet.parse`` as plain tuples, for the evaluators' inner loops)."""
    found = PORT_SPANS_SEEN.get(text)
    if found is None:
        found = _port_spans(text)
        if len(PORT_SPANS_SEEN) < _KEPT:
            PORT_SPANS_SEEN[text] = found
    return found


# --- addresses ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddressSet:
    """IPv4 and IPv6 addresses, each family its own interval set (a v4 rule never matches v6 traffic)."""

    v4: IntervalSet
    v6: IntervalSet

    @staticmethod
    def empty() -> AddressSet:
        return _NO_ADDRESSES

    @staticmethod
    def everything() -> AddressSet:
        return _ALL_ADDRESSES

    @staticmethod
    def of(v4: Iterable[Interval] = (), v6: Iterable[Interval] = ()) -> AddressSet:
        return AddressSet(IntervalSet.of(v4, V4_TOP), IntervalSet.of(v6, V6_TOP))

    @staticmethod
    def parse(text: str) -> AddressSet:
        """An address, a CIDR block, or ``*``; a service tag is no address (ValueError)."""
        return _parse_address(text)

    @staticmethod
    def parse_all(texts: Iterable[str]) -> AddressSet:
        return AddressSet.union_of(_parse_address(text) for text in texts)

    @staticmethod
    def union_of(sets: Iterable[AddressSet]) -> AddressSet:
        """The union of many sets, normalised once (not pairwise)."""
        v4: list[Interval] = []
        v6: list[Interval] = []
        for one in sets:
            v4.extend(one.v4.spans)
            v6.extend(one.v6.spans)
        return AddressSet(IntervalSet(_normalise(v4), V4_TOP), IntervalSet(_normalise(v6), V6_TOP))

    @staticmethod
    def range(first: str, last: str) -> AddressSet:
        """``first``-``last`` inclusive (a PostgreSQL firewall rule's startIpAddress/endIpAddress)."""
        low, high = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
        if low.version != high.version or int(low) > int(high):
            raise ValueError(f"not an address range: {first!r}-{last!r}")
        span = ((int(low), int(high)),)
        return AddressSet.of(v4=span) if low.version == 4 else AddressSet.of(v6=span)

    def __or__(self, other: AddressSet) -> AddressSet:
        return AddressSet(self.v4 | other.v4, self.v6 | other.v6)

    def __and__(self, other: AddressSet) -> AddressSet:
        return AddressSet(self.v4 & other.v4, self.v6 & other.v6)

    def __sub__(self, other: AddressSet) -> AddressSet:
        return AddressSet(self.v4 - other.v4, self.v6 - other.v6)

    def complement(self) -> AddressSet:
        return AddressSet(self.v4.complement(), self.v6.complement())

    def __le__(self, other: AddressSet) -> bool:
        return self.v4 <= other.v4 and self.v6 <= other.v6

    def __bool__(self) -> bool:
        return bool(self.v4) or bool(self.v6)

    def __contains__(self, address: str) -> bool:
        parsed = ipaddress.ip_address(address)
        return int(parsed) in (self.v4 if parsed.version == 4 else self.v6)

    def is_everything(self) -> bool:
        return self.v4.is_everything() and self.v6.is_everything()

    def cidrs(self) -> list[str]:
        """The smallest list of CIDR blocks that is exactly this set."""
        out: list[str] = []
        for spans, cls in ((self.v4.spans, ipaddress.IPv4Address), (self.v6.spans, ipaddress.IPv6Address)):
            for low, high in spans:
                out.extend(str(n) for n in ipaddress.summarize_address_range(cls(low), cls(high)))
        return out

    def describe(self, limit: int = 8) -> str:
        """Human text for evidence: CIDR blocks, or ranges when the blocks are many."""
        if not self:
            return "(no address)"
        if self.is_everything():
            return "any address (0.0.0.0/0, ::/0)"
        if self.v4.is_everything() and not self.v6:
            return "any IPv4 address (0.0.0.0/0)"
        blocks = self.cidrs()
        if len(blocks) <= limit:
            return ", ".join(blocks)
        ranges = [
            f"{cls(low)}-{cls(high)}"
            for spans, cls in ((self.v4.spans, ipaddress.IPv4Address), (self.v6.spans, ipaddress.IPv6Address))
            for low, high in spans
        ]
        shown = ", ".join(ranges[:limit])
        return shown + (f" and {len(ranges) - limit} more ranges" if len(ranges) > limit else "")


_NO_ADDRESSES: Final = AddressSet(IntervalSet((), V4_TOP), IntervalSet((), V6_TOP))
_ALL_ADDRESSES: Final = AddressSet(IntervalSet(((0, V4_TOP),), V4_TOP), IntervalSet(((0, V6_TOP),), V6_TOP))


def _v4_int(text: str) -> int | None:
    """Dotted quad to int, fast (the common case in NSG rules); None when not plain IPv4."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not part.isdigit() or len(part) > 3 or (len(part) > 1 and part[0] == "0"):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = (value << 8) | octet
    return value


_OCTET: Final = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # 0-255 without leading zeros, as ``_v4_int``
_V4_PREFIX: Final = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/([0-9][0-9]?))?").fullmatch


def v4_prefix_span(text: str) -> Interval | None:
    """A plain IPv4 address or CIDR text (ASCII, no blanks) as ``AddressSet.parse`` reads it, as one span without
    building sets (a large estate's rules hold many distinct prefixes); None for any other text (parse that in
    full: it may still be an address)."""
    match = _V4_PREFIX(text)
    if match is None:
        return None
    a, b, c, d, length_text = match.groups()
    base = int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)
    if length_text is None:
        return (base, base)
    length = int(length_text)
    if length > 32:
        return None
    size = 1 << (32 - length)
    low = base & -size  # host bits set ("10.0.0.5/24") are ignored, as Azure normalises them
    return (low, low + size - 1)


@functools.lru_cache(maxsize=65536)
def _parse_address(text: str) -> AddressSet:
    stripped = text.strip()
    # "*" (and "0.0.0.0/0" in the default rules) is every address: networkSecurityGroup.json
    # sourceAddressPrefix "Asterisk '*' can also be used to match all source IPs."
    if stripped == "*":
        return _ALL_ADDRESSES
    address, slash, length_text = stripped.partition("/")
    base = _v4_int(address)
    if base is not None:
        if slash and (not length_text.isdigit() or int(length_text) > 32):
            raise ValueError(f"not an IPv4 prefix: {text!r}")
        length = int(length_text) if slash else 32
        size = 1 << (32 - length)
        low = base & ~(size - 1) & V4_TOP  # host bits set ("10.0.0.5/24") are ignored, as Azure normalises them
        return AddressSet(IntervalSet(((low, low + size - 1),), V4_TOP), _NO_ADDRESSES.v6)
    try:
        network = ipaddress.ip_network(stripped, strict=False)
    except ValueError:
        raise ValueError(f"not an IP address or CIDR block: {text!r}") from None
    span = ((int(network.network_address), int(network.broadcast_address)),)
    if network.version == 4:
        return AddressSet(IntervalSet(span, V4_TOP), _NO_ADDRESSES.v6)
    return AddressSet(_NO_ADDRESSES.v4, IntervalSet(span, V6_TOP))
