"""Source ``live``: what the collector read from ARM, Resource Graph and Microsoft Graph, as the normalised inventory.

The same canonical shape as every other source (see ``arm_template``):
Resource Graph's lower-cased types get ARM's casing back; nested
sub-resources are flattened; a virtual network's subnets also become subnet
resources; a site's ``config/web`` replaces the sparse ``siteConfig`` that
``GET site`` returns, and its app setting names become
``siteConfig.appSettings`` (values are never kept). A site whose
configuration could not be read gets ``siteConfig`` UNKNOWN, never the
sparse one, and a field the checks judge that the configuration read does not
carry is UNKNOWN (``SITE_CONFIG_FIELDS``), never its default; so does every deployment slot, whose ``config/web`` the collector
does not read. The site and slot model is then the one of
:mod:`compliance_checks.sources.webapp` (app settings sorted by name). A VPN audience's service principal carries the assignments read
with it (``appRoleAssignedTo``); they become ``Microsoft.Graph/appRoleAssignments``
of their own, the shape the synth source gives them. Gaps of the collection
travel with the inventory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from compliance_checks.inventory import SECRET, UNKNOWN, Inventory, Resource, type_of_id
from compliance_checks.live.arm import SITE_CONFIG_FIELDS
from compliance_checks.live.collect import Collection
from compliance_checks.live.graph import (
    APP_ROLE_ASSIGNED_TO,
    ASSIGNMENT_FIELDS,
    GROUPS,
    NAMED_LOCATIONS,
    POLICIES,
    SERVICE_PRINCIPAL_FIELDS,
    SERVICE_PRINCIPALS,
)
from compliance_checks.sources.arm_template import flatten, normalise_location
from compliance_checks.sources.azure_native import TOP_LEVEL_KEYS, graph_id
from compliance_checks.sources.webapp import CONFIG_TYPES, SLOTS, WEB_APP_TYPES, child_applied_last, normalise_webapps
from infra.azure_types import ARM_ID_TEMPLATES, arm_type

SOURCE: Final = "live"
GRAPH_TYPES: Final = {
    POLICIES: "Microsoft.Graph/conditionalAccessPolicies",
    NAMED_LOCATIONS: "Microsoft.Graph/namedLocations",
    GROUPS: "Microsoft.Graph/groups",
    SERVICE_PRINCIPALS: "Microsoft.Graph/servicePrincipals",
}
ASSIGNMENTS: Final = "appRoleAssignments"  # the synth source's collection name for appRoleAssignment objects
_EXTRA_TYPES: Final = (
    "Microsoft.Resources/resourceGroups",
    "Microsoft.Insights/components",
    "Microsoft.Web/sites/config",
    SLOTS,
    "Microsoft.Web/sites/slots/config",
    "Microsoft.Network/connections",
)
_TOP: Final = {key.lower(): key for key in TOP_LEVEL_KEYS}
_SUBNETS: Final = "Microsoft.Network/virtualNetworks/subnets"


def _casing() -> dict[str, str]:
    table = {arm_type(token).lower(): arm_type(token) for token in ARM_ID_TEMPLATES}
    table.update({kind.lower(): kind for kind in _EXTRA_TYPES})
    table["microsoft.resources/subscriptions/resourcegroups"] = "Microsoft.Resources/resourceGroups"
    return table


def canonical_type(kind: str, resource_id: str, casing: Mapping[str, str]) -> str:
    declared = kind or type_of_id(resource_id)
    return casing.get(declared.lower(), declared)


def _resource(body: Mapping[str, Any], casing: Mapping[str, str], stamp: str, **override: Any) -> Resource:
    rid = str(body["id"])
    kind = canonical_type(str(body.get("type") or ""), rid, casing)
    top = {_TOP[k.lower()]: v for k, v in body.items() if k.lower() in _TOP and v is not None}
    properties = body.get("properties")
    # A body without readable properties says nothing about them: UNKNOWN, never "all absent".
    shaped = {**top, "properties": flatten(properties) if isinstance(properties, dict) else UNKNOWN}
    shaped.update(override)
    return Resource.create(
        id=rid,
        type=kind,
        name=str(body.get("name") or rid.rstrip("/").rsplit("/", 1)[-1]),
        body=shaped,
        location=normalise_location(body.get("location")),
        source=SOURCE,
        origin=rid,
        observed_at=stamp,
    )


def _subnets(vnet: Mapping[str, Any], casing: Mapping[str, str], stamp: str) -> Iterator[Resource]:
    subnets = (vnet.get("properties") or {}).get("subnets")
    for subnet in subnets if isinstance(subnets, list) else []:
        if isinstance(subnet, dict) and isinstance(subnet.get("id"), str):
            yield _resource({**subnet, "type": _SUBNETS, "location": None}, casing, stamp)


def _with_site_config(site: Resource, config: Mapping[str, Any] | None, names: Iterable[str] | None) -> Resource:
    if not isinstance(site.body.get("properties"), dict):
        return site  # properties unreadable: every check of the site says so
    properties = dict(site.body["properties"])
    raw = None if config is None else config.get("properties")
    if not isinstance(raw, dict):
        site_config: Any = UNKNOWN  # never judge the sparse siteConfig of GET site, nor an empty one
    else:
        site_config = flatten(raw)
        site_config = dict(site_config) if isinstance(site_config, dict) else UNKNOWN
    if isinstance(site_config, dict):
        # A judged field the answer does not carry is unknown, never its default (SITE_CONFIG_FIELDS); null stays
        # null: the service said it is not set.
        present = {str(key).lower() for key in site_config}
        site_config.update({name: UNKNOWN for name in SITE_CONFIG_FIELDS if name.lower() not in present})
        site_config["appSettings"] = UNKNOWN if names is None else [{"name": n, "value": SECRET} for n in names]
    properties["siteConfig"] = site_config
    return site.with_body({**site.body, "properties": properties})


def load_live(collection: Collection) -> Inventory:
    casing = _casing()
    stamp = (collection.finished_at or collection.started_at).strftime("%Y-%m-%dT%H:%M:%SZ")
    by_id: dict[str, Mapping[str, Any]] = {}
    for raw in collection.arm:
        if isinstance(raw.get("id"), str):
            by_id.setdefault(raw["id"].lower(), raw)  # Resource Graph and a service API may both return one
    resources: list[Resource] = []
    for key, body in by_id.items():
        kind = canonical_type(str(body.get("type") or ""), body["id"], casing)
        if kind in CONFIG_TYPES and key.rsplit("/", 1)[-1] in ("web", "appsettings"):
            continue  # merged into the site (or slot) below
        resource = _resource(body, casing, stamp)
        if kind in WEB_APP_TYPES:  # a slot's configuration is read like its site's, or is UNKNOWN
            config = by_id.get(f"{key}/config/web")
            names = by_id.get(f"{key}/config/appsettings")
            resource = _with_site_config(resource, config, None if names is None else list(names["properties"]))
        resources.append(resource)
        if kind == "Microsoft.Network/virtualNetworks":
            resources.extend(s for s in _subnets(body, casing, stamp) if s.id_key not in by_id)
    for path, item in collection.graph:
        resources.extend(_graph_resources(path, item, stamp))
    return Inventory(normalise_webapps(resources, order=child_applied_last), sources=[SOURCE], gaps=collection.gaps)


def _selected(item: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A Graph object read with ``$select``: a selected field the answer lacks is UNKNOWN, never absent."""
    shaped = {k: v for k, v in item.items() if k not in ("@odata.context", APP_ROLE_ASSIGNED_TO)}
    return {**{field: UNKNOWN for field in fields}, **shaped}


def _graph_resources(path: str, item: Mapping[str, Any], stamp: str) -> Iterator[Resource]:
    object_id = str(item.get("id") or "")
    shaped = _selected(item, SERVICE_PRINCIPAL_FIELDS if path == SERVICE_PRINCIPALS else ())
    yield Resource.create(
        id=graph_id(path, object_id),
        type=GRAPH_TYPES[path],
        name=str(item.get("displayName") or object_id),
        body=shaped,
        source=SOURCE,
        origin=f"graph:/{path}/{object_id}",
        observed_at=stamp,
    )
    if path != SERVICE_PRINCIPALS:
        return
    for assignment in item.get(APP_ROLE_ASSIGNED_TO) or []:
        assignment_id = str(assignment.get("id") or "")
        yield Resource.create(
            id=graph_id(ASSIGNMENTS, assignment_id),
            type="Microsoft.Graph/appRoleAssignments",
            name=assignment_id,
            body=_selected(assignment, ASSIGNMENT_FIELDS),
            source=SOURCE,
            origin=f"graph:/{SERVICE_PRINCIPALS}/{object_id}/{APP_ROLE_ASSIGNED_TO}/{assignment_id}",
            observed_at=stamp,
        )
