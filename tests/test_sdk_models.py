"""Every property a check reads on a network, web or PostgreSQL resource exists in Microsoft's own SDK model.

The checks declare what they read (``Check.reads()``); a path that no Azure
API has (a typo, a property of another resource, a casing of our own) would
read as "absent" on every real resource and could never be judged. Microsoft
publishes the models of these APIs as Python packages generated from the REST
API specifications: ``azure-mgmt-network`` (API 2026-03-01 in 33.1.0),
``azure-mgmt-web`` (2025-05-01 in 11.0.1) and
``azure-mgmt-postgresqlflexibleservers`` (2026-10-01 in 3.0.0), pinned in
requirements.lock. The estate deploys network 2024-05-01 and PostgreSQL
2025-08-01 (infra/azure_types.py): these packages model newer versions of the
same APIs, whose property names are a superset of the older ones for every
path checked here (a removed property would fail this test, not pass it).

The inventory flattens nested sub-resources (``securityRules[*].access``, not
``securityRules[*].properties.access``; compliance_checks/inventory.py): a
segment a nested model does not have is looked up under its ``properties``.
Each Enum domain a read declares is also compared with the SDK's enumeration
for that property.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from enum import Enum
from types import ModuleType
from typing import Any

import pytest
from azure.mgmt.network import models as network
from azure.mgmt.postgresqlflexibleservers import models as postgres
from azure.mgmt.web import models as web

from compliance_checks.checks import domains, load_checks
from compliance_checks.checks.base import Read

# ARM type -> the SDK model(s) of its body; ``sites/config`` is one of several documents by name.
MODELS: dict[str, tuple[tuple[ModuleType, str], ...]] = {
    "Microsoft.Network/networkSecurityGroups": ((network, "NetworkSecurityGroup"),),
    "Microsoft.Network/virtualNetworks": ((network, "VirtualNetwork"),),
    "Microsoft.Network/virtualNetworks/subnets": ((network, "Subnet"),),
    "Microsoft.Network/virtualNetworkGateways": ((network, "VirtualNetworkGateway"),),
    "Microsoft.Network/localNetworkGateways": ((network, "LocalNetworkGateway"),),
    "Microsoft.Network/connections": ((network, "VirtualNetworkGatewayConnection"),),
    "Microsoft.Network/routeTables": ((network, "RouteTable"),),
    "Microsoft.Network/privateEndpoints": ((network, "PrivateEndpoint"),),
    "Microsoft.Network/networkInterfaces": ((network, "NetworkInterface"),),
    "Microsoft.Network/applicationSecurityGroups": ((network, "ApplicationSecurityGroup"),),
    "Microsoft.Web/sites": ((web, "Site"),),
    "Microsoft.Web/sites/slots": ((web, "Site"),),
    "Microsoft.Web/sites/config": ((web, "SiteConfigResource"), (web, "SiteAuthSettingsV2"), (web, "StringDictionary")),
    "Microsoft.Web/sites/slots/config": (
        (web, "SiteConfigResource"),
        (web, "SiteAuthSettingsV2"),
        (web, "StringDictionary"),
    ),
    "Microsoft.Web/sites/hostNameBindings": ((web, "HostNameBinding"),),
    "Microsoft.Web/sites/slots/hostNameBindings": ((web, "HostNameBinding"),),
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": ((web, "CsmPublishingCredentialsPoliciesEntity"),),
    "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies": ((web, "CsmPublishingCredentialsPoliciesEntity"),),
    "Microsoft.DBforPostgreSQL/flexibleServers": ((postgres, "Server"),),
    "Microsoft.DBforPostgreSQL/flexibleServers/configurations": ((postgres, "Configuration"),),
    "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules": ((postgres, "FirewallRule"),),
}
PROVIDERS = ("Microsoft.Network/", "Microsoft.Web/", "Microsoft.DBforPostgreSQL/")


@functools.cache
def fields(model: type) -> dict[str, tuple[str, str]]:
    """JSON name (lower case) -> (attribute, annotation text) of a generated model."""
    model({})  # the generated models build their field table on first use
    table: dict[str, tuple[str, str]] = {}
    annotations: dict[str, Any] = {}
    for klass in reversed(model.__mro__):
        annotations.update(getattr(klass, "__annotations__", {}))
    for attribute, field in model._attr_to_rest_field.items():  # type: ignore[attr-defined]
        table[str(field._rest_name).lower()] = (attribute, str(annotations.get(attribute, "")))
    return table


def segments(path: str) -> list[str]:
    parts: list[str] = []
    for part in path.split("."):
        name, star, _ = part.partition("[*]")
        parts.append(name)
        if star:
            parts.append("[*]")
    return parts


def walk(module: ModuleType, model: type, path: list[str], nested: bool) -> str | None:
    """None when ``path`` exists in ``model``; otherwise where it stops."""
    if not path:
        return None
    table = fields(model)
    head, rest = path[0].lower(), path[1:]
    if head not in table:
        # A nested sub-resource is flattened in the inventory: its `properties` are read in place.
        if nested and "properties" in table:
            inner = _models(module, table["properties"][1])
            if inner:
                return walk(module, inner[0], path, nested=False)
        return f"{model.__name__} has no property {path[0]!r}"
    annotation = table[head][1]
    if rest and rest[0] == "[*]":
        if "list[" not in annotation.lower():
            return f"{model.__name__}.{path[0]} is not a list ({annotation})"
        rest = rest[1:]
    elif rest and "list[" in annotation.lower():
        return f"{model.__name__}.{path[0]} is a list: read its items with [*]"
    if not rest:
        return None
    if "dict[" in annotation.lower() and "list[" not in annotation.lower():
        rest = rest[1:]  # any key of a dictionary
        if not rest:
            return None
    inner = _models(module, annotation)
    if not inner:
        return f"{model.__name__}.{path[0]} is a {annotation}, it has no {'.'.join(rest)!r}"
    return walk(module, inner[0], rest, nested=True)


def _models(module: ModuleType, annotation: str) -> list[type]:
    found = []
    for name in re.findall(r"_models\.(\w+)", annotation):
        candidate = getattr(module, name, None)
        if isinstance(candidate, type) and not issubclass(candidate, Enum):
            found.append(candidate)
    return found


def _enum(module: ModuleType, annotation: str) -> type[Enum] | None:
    for name in re.findall(r"_models\.(\w+)", annotation):
        candidate = getattr(module, name, None)
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def declared_reads() -> Iterator[tuple[str, Read]]:
    seen: set[tuple[str, str]] = set()
    for check_id, check in sorted(load_checks().items()):
        for read in check.reads():
            if read.type.startswith(PROVIDERS) and (read.type, read.path) not in seen:
                seen.add((read.type, read.path))
                yield check_id, read


READS = list(declared_reads())


def test_every_provider_type_a_check_reads_has_a_model_here() -> None:
    assert {read.type for _, read in READS} <= set(MODELS)
    assert len(READS) > 40  # the checks read these APIs a lot: an empty list would prove nothing


@pytest.mark.parametrize(("check_id", "read"), READS, ids=[f"{c}:{r.type}:{r.path}" for c, r in READS])
def test_each_read_path_exists_in_the_sdk_model(check_id: str, read: Read) -> None:
    failures = []
    for module, name in MODELS[read.type]:
        where = walk(module, getattr(module, name), segments(read.path), nested=False)
        if where is None:
            return
        failures.append(where)
    pytest.fail(f"{check_id}: {read.type} {read.path}: " + "; ".join(failures))


def _leaf(module: ModuleType, model: type, path: list[str]) -> tuple[type, str] | None:
    """The model and JSON name holding the last segment of an existing path."""
    table = fields(model)
    head, rest = path[0].lower(), path[1:]
    if head not in table:
        inner = _models(module, table["properties"][1]) if "properties" in table else []
        return _leaf(module, inner[0], path) if inner else None
    rest = rest[1:] if rest and rest[0] == "[*]" else rest
    if not rest:
        return model, head
    inner = _models(module, table[head][1])
    return _leaf(module, inner[0], rest) if inner else None


ENUM_READS = [(c, r) for c, r in READS if isinstance(r.domain, domains.Enum)]


@pytest.mark.parametrize(("check_id", "read"), ENUM_READS, ids=[f"{c}:{r.path}" for c, r in ENUM_READS])
def test_each_enumeration_a_check_accepts_is_the_sdks(check_id: str, read: Read) -> None:
    """A value Azure accepts is never out of the domain, and the domain names nothing Azure does not know."""
    assert isinstance(read.domain, domains.Enum)
    for module, name in MODELS[read.type]:
        leaf = _leaf(module, getattr(module, name), segments(read.path))
        if leaf is None:
            continue
        model, json_name = leaf
        enum = _enum(module, fields(model)[json_name][1])
        if enum is None:
            continue  # a plain string in the SDK: the domain's own source decides
        sdk = {str(member.value).lower() for member in enum}
        ours = {str(value).lower() for value in read.domain.values}
        assert sdk <= ours, f"{check_id}: {read.path}: Azure accepts {sorted(sdk - ours)}, the domain does not"
        assert ours <= sdk, f"{check_id}: {read.path}: the domain accepts {sorted(ours - sdk)}, unknown to the SDK"
        return
