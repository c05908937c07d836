"""The one normalised inventory every check sees.

A resource is an ARM-shaped body (``properties``, ``sku``, ``identity``,
``tags``, ...) keyed by its ARM type and ID, both case-insensitive as in ARM.
Nested sub-resources are flattened (``securityRules[0].access``, not
``securityRules[0].properties.access``) so that Pulumi inputs, ARM templates
and live ARM responses look the same. Values nobody could know (preview
unknowns, unresolvable template expressions) are :data:`UNKNOWN`; absent
paths are :data:`MISSING`. Neither is ever good enough for a PASS.

A live collection may be incomplete: what it could not read is a :class:`Gap`.
Asking the inventory for data a gap covers (``of_type``, ``children``, a
``get`` that finds nothing, ``all``) raises :class:`IncompleteInventory`,
which the engine turns into an ERROR finding of exactly the asking check.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar, cast

T = TypeVar("T")


class _Sentinel:
    __slots__ = ("_label",)

    def __init__(self, label: str) -> None:
        self._label = label

    def __repr__(self) -> str:
        return self._label

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return self._label.strip("<>").upper()


UNKNOWN: Final = _Sentinel("<unknown>")
"""A value that exists but cannot be known here (computed at apply time, unresolved expression)."""

MISSING: Final = _Sentinel("<missing>")
"""A path that is not present in the resource at all."""


class SecretValue:
    """A value that is secret. Its content is never kept: only the fact that it is set."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "[secret]"


SECRET: Final = SecretValue()

_ARM_ID = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+(/providers/.+)?$", re.IGNORECASE)
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+|\*)\]")


@dataclass(frozen=True)
class Gap:
    """Data a source does not hold. ``types`` are ARM/Graph types (any case).

    ``*`` is every ARM type (not Graph); ``Namespace/*`` every type of that
    namespace (``Microsoft.Graph/*``: every Microsoft Entra object).
    ``located``: resources with a location may be missing (a failed listing),
    so a check over *all* resources cannot conclude either.
    ``absent``: the source cannot hold these types at all (an ARM template has
    no Entra objects), as opposed to a read that failed.
    """

    types: tuple[str, ...]
    scope: str
    reason: str
    located: bool = False
    absent: bool = False

    def covers(self, kind: str) -> bool:
        key = kind.lower()
        for declared in self.types:
            wanted = declared.lower()
            if wanted == key:
                return True
            if wanted == "*" and not key.startswith("microsoft.graph/"):
                return True
            if wanted.endswith("/*") and key.startswith(wanted[:-1]):
                return True
        return False

    def describe(self) -> str:
        what = "every ARM resource" if "*" in self.types else ", ".join(self.types)
        if self.absent and "*" in self.types:
            return f"{self.scope} may deploy resources it does not hold: {self.reason}"
        if self.absent:
            return f"{what} is not in {self.scope}: {self.reason}"
        return f"reading {what} under {self.scope} failed: {self.reason}"


class IncompleteInventory(Exception):
    """A check asked for data the collection could not read."""

    def __init__(self, gap: Gap) -> None:
        self.gap = gap
        super().__init__(gap.describe())


def type_of_id(resource_id: str) -> str:
    """The ARM type an ID names (extension resources: the type after the last ``providers``)."""
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return "Microsoft.Resources/resourceGroups" if len(parts) == 4 and lowered[2] == "resourcegroups" else ""
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    if at + 1 >= len(parts):
        return ""
    return "/".join([parts[at + 1], *parts[at + 2 :: 2]])


def is_arm_id(value: object) -> bool:
    return isinstance(value, str) and _ARM_ID.match(value) is not None


def canonical_id(value: object) -> str | None:
    """The index key of an ID one resource names in another (lower case), or None when the text is no plain ID.

    ARM compares IDs case-insensitively ("Resource and resource group names are case-insensitive ... Always
    perform a case-insensitive comparison of names": MicrosoftDocs/azure-docs articles/azure-resource-manager/
    management/resource-name-rules.md), so case alone never separates two IDs. A text padded with white space, with
    an empty segment ("//") or a trailing "/" names no resource in that spelling: which one Azure would take it
    for is not known here, so an index files it as unplaced (it may be any) rather than under a guessed key.
    """
    if not isinstance(value, str) or value[:1] != "/" or value.endswith("/") or "//" in value:
        return None
    if value != value.strip() or len(value) < 2:
        return None
    return value.lower()


def fold(value: Any) -> Any:
    """Lower-case every mapping key, recursively (ARM property names are case-insensitive)."""
    if isinstance(value, (str, int, float)) or value is None:  # leaves first: cheaper than the ABC check below
        return value
    if isinstance(value, list):
        return [fold(v) for v in value]
    if isinstance(value, (dict, Mapping)):
        folded = {str(k).lower(): fold(v) for k, v in value.items()}
        if len(folded) != len(value):
            # Two names equal but for case ("access": "Allow" beside "Access": "Deny"). ARM reads names without
            # regard to case (Azure/bicep#785, #11457; Bicep's BCP353: "The ARM deployments engine is not case
            # sensitive"), so which one it takes is not known: the name is UNKNOWN, never the last one written.
            counts = Counter(str(k).lower() for k in value)
            folded.update((name, UNKNOWN) for name, count in counts.items() if count > 1)
        return folded
    return value


@functools.lru_cache(maxsize=4096)
def compile_path(path: str) -> tuple[str | int, ...]:
    """``properties.securityRules[0].access`` -> ('properties', 'securityrules', 0, 'access')."""
    parts: list[str | int] = []
    for name, index in _PATH_TOKEN.findall(path):
        if name:
            parts.append(name.lower())
        elif index == "*":
            parts.append(-1)
        else:
            parts.append(int(index))
    return tuple(parts)


OPAQUE_KEY: Final = "$value"
"""Where a source keeps an object it could not read as one: ``properties: {"$value": UNKNOWN}`` for an ARM
``"properties": "[parameters('p')]"`` without a value, a Pulumi preview's unknown or secret object (other keys
may sit beside it, merged in from child resources)."""


def member(mapping: Mapping[str, Any], key: str) -> Any:
    """``mapping[key]``, or MISSING; but in an object a source could not read (it holds ``$value``) a key it
    lacks is that unknown or secret value -- not known to be absent. Absence is a verdict for many checks
    (a default, "not set"); an unreadable object must give ERROR instead."""
    found = mapping.get(key, MISSING)
    if found is MISSING and OPAQUE_KEY in mapping:
        hidden = mapping[OPAQUE_KEY]
        return hidden if isinstance(hidden, SecretValue) else UNKNOWN
    return found


def lookup(body: Any, path: tuple[str | int, ...]) -> Any:
    """Follow a compiled path through a folded body. ``[*]`` (-1) is not allowed here."""
    current = body
    for part in path:
        if current is UNKNOWN:
            return UNKNOWN
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current) or part < 0:
                return MISSING
            current = current[part]
        elif isinstance(current, Mapping):
            current = member(current, part)
            if current is MISSING:
                return MISSING
        else:
            return MISSING
    return current


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource, as any source saw it."""

    id: str
    type: str
    name: str
    body: Mapping[str, Any]
    location: str | None = None
    source: str = ""
    origin: str = ""
    folded: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    id_key: str = field(default="", compare=False, repr=False)
    type_key: str = field(default="", compare=False, repr=False)
    observed_at: str = field(default="", compare=False)  # when a live source read it (ISO 8601, UTC)

    @staticmethod
    def create(
        *,
        id: str,
        type: str,
        name: str,
        body: Mapping[str, Any],
        location: str | None = None,
        source: str = "",
        origin: str = "",
        observed_at: str = "",
    ) -> Resource:
        # Secrets never enter the inventory: no check, drift, report or export can show them.
        from compliance_checks.redaction import redact_body  # imported here: redaction imports this module

        body = redact_body(type, name, body)
        return Resource(
            id, type, name, body, location, source, origin, fold(body), id.lower(), type.lower(), observed_at
        )

    def with_body(self, body: Mapping[str, Any], *, origin: str | None = None) -> Resource:
        """The same resource with another body (redacted and folded again, as by ``create``)."""
        return Resource.create(
            id=self.id,
            type=self.type,
            name=self.name,
            body=body,
            location=self.location,
            source=self.source,
            origin=self.origin if origin is None else origin,
            observed_at=self.observed_at,
        )

    def get(self, path: str | tuple[str | int, ...]) -> Any:
        """Value at an ARM property path (case-insensitive), or MISSING / UNKNOWN."""
        return lookup(self.folded, compile_path(path) if isinstance(path, str) else path)

    def tags(self) -> Mapping[str, Any]:
        tags = self.folded.get("tags")
        return tags if isinstance(tags, Mapping) else {}


def referenced_ids(value: Any) -> Iterator[str]:
    """Every ARM resource ID that appears as a string anywhere in a body (in document order).

    Iterative, and a string is matched only when it starts with "/": this walks every body of the inventory
    once (refs_to), so nested generators and a regex per string were most of an audit's time at 100k resources.
    """
    match = _ARM_ID.match
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item[:1] == "/" and match(item) is not None:
                yield item
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, (dict, Mapping)):
            stack.extend(reversed(list(item.values())))


class Inventory:
    """Resources indexed by type and ID, with relations derived from the IDs they reference."""

    def __init__(self, resources: Iterable[Resource], *, sources: Iterable[str] = (), gaps: Iterable[Gap] = ()) -> None:
        self.resources: tuple[Resource, ...] = tuple(resources)
        self.gaps: tuple[Gap, ...] = tuple(gaps)
        self.sources = tuple(sources) or tuple(sorted({r.source for r in self.resources if r.source}))
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._by_id: dict[str, Resource] = {}
        for resource in self.resources:
            self._by_type[resource.type_key].append(resource)
            self._by_id[resource.id_key] = resource
        self._refs_to: dict[str, list[str]] | None = None
        self._children: dict[str, list[Resource]] | None = None
        self._derived: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.resources)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def require(self, *types: str) -> None:
        """Raise IncompleteInventory if the collection of any of ``types`` has a gap."""
        for kind in types:
            for gap in self.gaps:
                if gap.covers(kind):
                    raise IncompleteInventory(gap)

    def all(self) -> tuple[Resource, ...]:
        """Every resource, for checks that look at all of them: only if no listing failed."""
        for gap in self.gaps:
            if gap.located:
                raise IncompleteInventory(gap)
        return self.resources

    def of_type(self, *types: str) -> list[Resource]:
        if self.gaps:
            self.require(*types)
        if len(types) == 1:
            return self._by_type.get(types[0].lower(), [])
        found: list[Resource] = []
        for kind in types:
            found.extend(self._by_type.get(kind.lower(), []))
        return found

    def types(self) -> list[str]:
        return sorted(self._by_type)

    def derived(self, key: str, build: Callable[[], T]) -> T:
        """``build()`` once per inventory (an index over many resources that many checks or subjects consult).

        The inventory does not change once built, so an index over it stays right. Answering "which gateways
        sit in this network" by scanning every gateway for every network is quadratic in an estate of many
        networks; an index built once is linear. A ``build`` that raises (IncompleteInventory) is not kept.
        """
        if key not in self._derived:
            self._derived[key] = build()
        return cast(T, self._derived[key])

    def get(self, resource_id: str) -> Resource | None:
        if not isinstance(resource_id, str):
            return None
        found = self._by_id.get(resource_id.lower())
        if found is None and self.gaps and (kind := type_of_id(resource_id)):
            self.require(kind)  # absent, or just unread?
        return found

    def peek(self, resource_id: str) -> Resource | None:
        """The resource with this ID if the inventory holds it; never raises (for reports, not for checks)."""
        return self._by_id.get(resource_id.lower())

    def parent(self, resource: Resource) -> Resource | None:
        """The nearest resource whose ID is a prefix of this one's (e.g. the VNet of a subnet)."""
        parts = resource.id.split("/")
        for cut in range(len(parts) - 2, 4, -2):
            found = self._by_id.get("/".join(parts[:cut]).lower())
            if found is not None:
                return found
        return None

    def children(self, resource: Resource, kind: str | None = None) -> list[Resource]:
        """Resources whose nearest parent is this one (subnets of a VNet, settings of a site), optionally of one type."""
        if self.gaps and kind is not None:
            self.require(kind)
        if self._children is None:
            index: dict[str, list[Resource]] = defaultdict(list)
            for item in self.resources:
                owner = self.parent(item)
                if owner is not None:
                    index[owner.id_key].append(item)
            self._children = index
        found = self._children.get(resource.id_key, [])
        return found if kind is None else [r for r in found if r.type_key == kind.lower()]

    def refs_from(self, resource: Resource) -> list[Resource]:
        """Resources this one points at (subnet -> NSG, app -> subnet, endpoint -> vault)."""
        seen: dict[str, Resource] = {}
        for ref in referenced_ids(resource.body):
            target = self.peek(ref)
            if target is not None and target.id_key != resource.id_key:
                seen.setdefault(target.id_key, target)
        return list(seen.values())

    def refs_to(self, resource: Resource) -> list[Resource]:
        """Resources that point at this one."""
        if self._refs_to is None:
            index: dict[str, list[str]] = defaultdict(list)
            for item in self.resources:
                for ref in {r.lower() for r in referenced_ids(item.body)}:
                    if ref != item.id_key:
                        index[ref].append(item.id_key)
            self._refs_to = index
        return [self._by_id[i] for i in self._refs_to.get(resource.id_key, []) if i in self._by_id]
