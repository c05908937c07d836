"""Drift: the desired state (synth or Pulumi state) against the live estate, on every security-relevant property.

Which properties are security-relevant is derived, not restated: every
path a check declares it reads (``Check.reads()``). A resource of a watched type that is
desired but not live is ``missing``; live but not desired, ``unexpected``
(a second firewall rule is exactly that); a watched property whose live
value does not match, ``changed``. Live may add fields ARM fills in
(provisioning state, etags): a desired object matches when every key it
sets has the same value live; lists must match element for element.
Desired values unknown at synthesis (UNKNOWN, secrets) are not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from compliance_checks.checks.base import Check
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue, compile_path, lookup

# Live always has these, declared or not: every server parameter, the default *.azurewebsites.net binding.
_ALWAYS_LIVE: Final = frozenset({"microsoft.dbforpostgresql/flexibleservers/configurations"})
_DEFAULT_HOST_SUFFIX: Final = ".azurewebsites.net"
# App Service lists its implicit last rule ("Allow all" / "Deny all") among the configured ones.
_IMPLICIT_PRIORITY: Final = 2147483647
# Graph objects made offline have no real IDs: they are matched by display name.
_BY_NAME: Final = frozenset(
    {"microsoft.graph/conditionalaccesspolicies", "microsoft.graph/namedlocations", "microsoft.graph/groups"}
)


@dataclass(frozen=True)
class Drift:
    kind: str  # missing | unexpected | changed
    resource_id: str
    resource_type: str
    path: str
    desired: Any
    live: Any


def watched_paths(checks: Iterable[Check]) -> dict[str, tuple[str, ...]]:
    """Type (lower case) -> the properties compared, with ``location`` for every type.

    Derived from what the checks declare they read (``Check.reads()``), so a
    property a check decides on cannot be left out of drift. A path into list
    elements (``securityRules[*].access``) watches the whole list; a read of a
    resource's ``id`` watches only its existence (missing or unexpected).
    """
    table: dict[str, list[str]] = {}
    for check in checks:
        for read in check.reads():
            if read.type == "*":
                continue  # location: compared for every type below
            paths = table.setdefault(read.type.lower(), [])
            path = read.path.split("[*]", 1)[0]
            if path.lower() != "id" and path not in paths:
                paths.append(path)
    return {kind: ("location", *paths) for kind, paths in sorted(table.items())}


def _comparable(value: Any) -> bool:
    if value is UNKNOWN or isinstance(value, SecretValue):
        return False
    if isinstance(value, Mapping):
        return all(_comparable(v) for v in value.values())
    if isinstance(value, list):
        return all(_comparable(v) for v in value)
    return True


def matches(desired: Any, live: Any) -> bool:
    """Live satisfies desired: same scalars (strings case-insensitively), desired keys present, lists pairwise."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(matches(v, live.get(k, MISSING)) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return False
        unmatched = list(live)
        for item in desired:
            found = next((i for i, candidate in enumerate(unmatched) if matches(item, candidate)), None)
            if found is None:
                return False
            unmatched.pop(found)
        return True
    if isinstance(desired, str) and isinstance(live, str):
        return desired.lower() == live.lower()
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return float(desired) == float(live)
    return bool(desired == live)


def _key(resource: Resource) -> str:
    if resource.type_key in _BY_NAME:
        return f"{resource.type_key}#{resource.name.lower()}"
    return resource.id_key


def _value(resource: Resource, path: str) -> Any:
    if path == "location":
        return resource.location if resource.location is not None else MISSING
    value = lookup(resource.folded, compile_path(path))
    if path.endswith("IpSecurityRestrictions") and isinstance(value, list):
        value = [r for r in value if not (isinstance(r, Mapping) and r.get("priority") == _IMPLICIT_PRIORITY)]
    return value


def _expected_extra(resource: Resource) -> bool:
    return resource.type_key in _ALWAYS_LIVE or (
        resource.type_key == "microsoft.web/sites/hostnamebindings"
        and resource.name.lower().endswith(_DEFAULT_HOST_SUFFIX)
    )


def compare(desired: Inventory, live: Inventory, checks: Iterable[Check]) -> list[Drift]:
    """Every difference on watched types and properties, sorted by resource and path."""
    watched = watched_paths(checks)
    wanted = {_key(r): r for r in desired.resources if r.type_key in watched}
    seen = {_key(r): r for r in live.resources if r.type_key in watched}
    drift: list[Drift] = []
    for key, resource in wanted.items():
        other = seen.get(key)
        if other is None:
            if not any(g.covers(resource.type) for g in live.gaps):  # unread is not missing
                drift.append(Drift("missing", resource.id, resource.type, "", "present", MISSING))
            continue
        for path in watched[resource.type_key]:
            want, got = _value(resource, path), _value(other, path)
            if want is MISSING or not _comparable(want):
                continue
            if not matches(want, got):
                drift.append(Drift("changed", other.id, other.type, path, want, got))
    for key, resource in seen.items():
        if key not in wanted and not _expected_extra(resource):
            drift.append(Drift("unexpected", resource.id, resource.type, "", MISSING, "present"))
    return sorted(drift, key=lambda d: (d.resource_id.lower(), d.path, d.kind))


def drift_section(desired_name: str, items: Iterable[Drift]) -> dict[str, Any]:
    """``drift`` of results.json."""
    from compliance_checks.render_values import jsonable

    return {
        "desired": desired_name,
        "items": [
            {
                "kind": d.kind,
                "resourceId": d.resource_id,
                "resourceType": d.resource_type,
                "path": d.path,
                "desired": jsonable(d.desired),
                "live": jsonable(d.live),
            }
            for d in items
        ],
    }
