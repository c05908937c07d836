"""An inventory as an ARM deployment template, so that tools that read ARM (checkov) can scan a Pulumi stack.

checkov cannot read Pulumi programs; it reads ARM templates. The synthesized
stack is exported with each resource's ARM type, the API version its SDK
resource uses, its name path (``parent/child``) and its body. The inventory's
flattened sub-resources get their ``properties`` wrapper back, as ARM writes
them. Secrets become a secure parameter reference (never a value); values
unknown before deployment are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue
from infra.azure_types import api_version_of_type

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
# Arrays of sub-resources whose items ARM writes as {name, properties: {...}}.
SUB_RESOURCE_ARRAYS = frozenset(
    {
        "securityRules",
        "delegations",
        "ipConfigurations",
        "privateLinkServiceConnections",
        "manualPrivateLinkServiceConnections",
        "privateDnsZoneConfigs",
        "subnets",
    }
)
SUB_RESOURCE_KEYS = frozenset({"name", "id", "etag", "type"})
SECRET_PARAMETER = "exportedSecret"


def _value(value: Any) -> Any:
    if isinstance(value, SecretValue):
        return f"[parameters('{SECRET_PARAMETER}')]"
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if item is UNKNOWN or item is MISSING:
                continue
            if key in SUB_RESOURCE_ARRAYS and isinstance(item, list):
                out[key] = [_sub_resource(x) for x in item if x is not UNKNOWN]
            else:
                out[key] = _value(item)
        return out
    if isinstance(value, list):
        return [_value(v) for v in value if v is not UNKNOWN]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _sub_resource(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return _value(item)
    head = {k: _value(v) for k, v in item.items() if k in SUB_RESOURCE_KEYS}
    properties = {k: v for k, v in item.items() if k not in SUB_RESOURCE_KEYS}
    return {**head, "properties": _value(properties)} if properties else head


def _name_path(resource: Resource) -> str:
    """``vnet/subnet`` for a child resource, from its ID."""
    if "/providers/" not in resource.id:
        return resource.name
    tail = resource.id.rsplit("/providers/", 1)[1].split("/")[1:]
    return "/".join(tail[1::2])


def exportable(resource: Resource) -> bool:
    return (
        resource.id.startswith("/subscriptions/")
        and resource.type_key != "microsoft.resources/resourcegroups"
        and "/providers/" in resource.id
        and api_version_of_type(resource.type) is not None
    )


def export_template(inventory: Inventory) -> dict[str, Any]:
    resources = []
    secrets = False
    for resource in sorted(inventory, key=lambda r: r.id.lower()):
        if not exportable(resource):
            continue
        body = _value(resource.body)
        secrets = secrets or f"[parameters('{SECRET_PARAMETER}')]" in repr(body)
        item: dict[str, Any] = {
            "type": resource.type,
            "apiVersion": api_version_of_type(resource.type),
            "name": _name_path(resource),
        }
        if resource.location:
            item["location"] = resource.location
        item.update(body)
        resources.append(item)
    template: dict[str, Any] = {"$schema": SCHEMA, "contentVersion": "1.0.0.0"}
    if secrets:
        template["parameters"] = {SECRET_PARAMETER: {"type": "securestring"}}
    template["resources"] = resources
    return template
