"""Pulumi resources (azure-native, azuread) -> inventory resources.

One mapping for every Pulumi-based source (synth, `pulumi stack export`,
`pulumi preview --json`):

* azure-native: the ARM type and ID come from ``infra.azure_types`` (one
  table). The flat SDK inputs are put back into ARM's shape: path parameters
  drop out, ``location``/``tags``/``sku``/``kind``/``identity``/``zones`` stay
  at the top and everything else goes under ``properties``.
* azuread: Conditional Access policies, named locations, groups, applications,
  service principals and app role assignments become Microsoft Graph-shaped
  resources (``includeGroups``, not ``includedGroups``; ``appId``, not
  ``clientId``), the shape the live Graph collector sees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from compliance_checks.inventory import SECRET, UNKNOWN, Resource
from compliance_checks.redaction import remember_pulumi_secret
from infra.azure_types import ARM_ID_TEMPLATES, UnmappedTypeError, arm_identity, arm_type, placeholders

TOP_LEVEL_KEYS = frozenset({"location", "tags", "sku", "kind", "identity", "zones", "extendedLocation", "plan"})
# Where ARM keeps a key under `properties` although other types keep it at the top.
UNDER_PROPERTIES: Mapping[str, frozenset[str]] = {
    "azure-native:network:VirtualNetworkGateway": frozenset({"sku"}),
    "azure-native:operationalinsights:Workspace": frozenset({"sku"}),
}
# Outputs that are not part of the ARM body.
ENGINE_KEYS = frozenset({"id", "name", "type", "azureApiVersion", "urn"})

GRAPH_TYPES: Mapping[str, tuple[str, str]] = {
    "azuread:index/group:Group": ("Microsoft.Graph/groups", "groups"),
    "azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy": (
        "Microsoft.Graph/conditionalAccessPolicies",
        "identity/conditionalAccess/policies",
    ),
    "azuread:index/namedLocation:NamedLocation": (
        "Microsoft.Graph/namedLocations",
        "identity/conditionalAccess/namedLocations",
    ),
    "azuread:index/application:Application": ("Microsoft.Graph/applications", "applications"),
    "azuread:index/servicePrincipal:ServicePrincipal": ("Microsoft.Graph/servicePrincipals", "servicePrincipals"),
    "azuread:index/appRoleAssignment:AppRoleAssignment": ("Microsoft.Graph/appRoleAssignments", "appRoleAssignments"),
}

# The provider's names -> Microsoft Graph's (application, servicePrincipal, appRoleAssignment resources).
_GRAPH_RENAMES = {
    "trusted": "isTrusted",
    "clientId": "appId",
    "principalObjectId": "principalId",
    "resourceObjectId": "resourceId",
}
_INCLUDED = re.compile(r"^(in|ex)cluded([A-Z].*)$")

# Pulumi marks secrets like this in state and preview documents.
SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def graph_id(path: str, object_id: str) -> str:
    return f"graph:/{path}/{object_id}"


def clean(value: Any, is_secret: Callable[[Any], bool] | None = None) -> Any:
    """Replace secrets by SECRET and Pulumi's unknown sentinel by UNKNOWN, recursively."""
    if is_secret is not None and is_secret(value):
        return SECRET
    if isinstance(value, str):  # the common leaf first: an ABC check per leaf is most of the cost of a large state
        return UNKNOWN if value == UNKNOWN_SENTINEL else value
    if isinstance(value, list):
        return [clean(v, is_secret) for v in value]
    if isinstance(value, (dict, Mapping)):
        if value.get(SECRET_SIGNATURE_KEY) == SECRET_SIGNATURE:
            remember_pulumi_secret(value)  # hidden here, before the redaction's walk would have learnt it
            return SECRET
        return {str(k): clean(v, is_secret) for k, v in value.items()}
    return value


def _graph_shape(value: Any) -> Any:
    if isinstance(value, Mapping):
        shaped: dict[str, Any] = {}
        for key, item in value.items():
            match = _INCLUDED.match(key)
            name = f"{match.group(1)}clude{match.group(2)}" if match else str(_GRAPH_RENAMES.get(str(key), key))
            shaped[name] = _graph_shape(item)
        return shaped
    if isinstance(value, list):
        return [_graph_shape(v) for v in value]
    return value


def _graph_body(token: str, values: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = _graph_shape({k: v for k, v in values.items() if k not in ENGINE_KEYS and k != "objectId"})
    if values.get("objectId"):
        body["id"] = values["objectId"]
    if token.endswith("NamedLocation") and isinstance(body.get("ip"), Mapping):
        ip = body.pop("ip")
        body["@odata.type"] = "#microsoft.graph.ipNamedLocation"
        body["isTrusted"] = ip.get("isTrusted", False)
        ranges = ip.get("ipRanges", [])
        body["ipRanges"] = [{"cidrAddress": cidr} for cidr in ranges] if isinstance(ranges, list) else ranges
    return body


def arm_body(token: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """SDK-shaped inputs or outputs -> ARM-shaped body."""
    path_params = set(placeholders(token))
    under = UNDER_PROPERTIES.get(token, frozenset())
    body: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for key, value in values.items():
        if key in path_params or key in ENGINE_KEYS:
            continue
        if key == "properties" and isinstance(value, Mapping):
            properties.update(value)
        elif key == "properties" and value is not None:
            properties["$value"] = value  # a whole secret or unknown `properties`
        elif key in TOP_LEVEL_KEYS and key not in under:
            body[key] = value
        else:
            properties[key] = value
    body["properties"] = properties
    return body


def to_resource(
    token: str,
    values: Mapping[str, Any],
    *,
    source: str,
    origin: str,
    subscription_id: str,
    resource_id: str | None = None,
) -> Resource | None:
    """One Pulumi resource as an inventory resource; None for what is not Azure or Entra (components, random)."""
    if token in GRAPH_TYPES:
        kind, path = GRAPH_TYPES[token]
        object_id = values.get("objectId") or resource_id or values.get("id") or origin
        body = _graph_body(token, values)
        name = body.get("displayName") if isinstance(body.get("displayName"), str) else origin
        return Resource.create(
            id=graph_id(path, str(object_id)), type=kind, name=str(name), body=body, source=source, origin=origin
        )
    if not token.startswith("azure-native:"):
        return None
    if token not in ARM_ID_TEMPLATES:
        raise UnmappedTypeError(token)
    if resource_id and resource_id.startswith("/"):
        rid, name = resource_id, resource_id.rstrip("/").rsplit("/", 1)[1]
        kind = arm_type(token)
    else:
        try:
            identity = arm_identity(token, values, subscription_id)
            rid, name, kind = identity.id, identity.name, identity.type
        except KeyError:
            # An ID built from values unknown until apply.
            rid, name, kind = f"{origin}#unknown-id", origin, arm_type(token)
    location = values.get("location")
    return Resource.create(
        id=rid,
        type=kind,
        name=name,
        body=arm_body(token, values),
        location=location.lower().replace(" ", "") if isinstance(location, str) else None,
        source=source,
        origin=origin,
    )
