"""Source ``synth``: run the infra program offline and normalise what it declares."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compliance_checks.errors import InputError
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.sources.azure_native import to_resource
from infra.config import ConfigError
from infra.synth import MOCK_SUBSCRIPTION_ID, Secret, Synthesis, synthesize

SOURCE = "synth"


def _is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def _merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _apply_nested_deployments(resources: list[Resource]) -> list[Resource]:
    """Fold the resources a nested ARM deployment writes into the resources they update.

    The TLS endpoint switches its host-name binding to SNI this way; without the
    fold the inventory would show the binding's pre-certificate state.
    """
    by_type_name = {(r.type.lower(), r.id.split("/providers/", 1)[-1].lower()): i for i, r in enumerate(resources)}
    result = list(resources)
    for deployment in resources:
        if deployment.type.lower() != "microsoft.resources/deployments":
            continue
        template = deployment.body.get("properties", {}).get("template", {})
        for item in template.get("resources", []) if isinstance(template, Mapping) else []:
            kind, name = str(item.get("type", "")), str(item.get("name", ""))
            namespace, *types = kind.split("/")
            names = name.split("/")
            if len(types) != len(names):
                continue
            path = "/".join([namespace, *(f"{t}/{n}" for t, n in zip(types, names, strict=True))])
            index = by_type_name.get((kind.lower(), path.lower()))
            if index is None:
                continue
            target = result[index]
            body = _merge(target.body, {"properties": item.get("properties", {})})
            result[index] = Resource.create(
                id=target.id,
                type=target.type,
                name=target.name,
                body=body,
                location=target.location,
                source=target.source,
                origin=f"{target.origin} (updated by {deployment.name})",
            )
    return result


def inventory_from_synthesis(synthesis: Synthesis) -> Inventory:
    resources: list[Resource] = []
    for recorded in synthesis.resources:
        if not recorded.custom:
            continue
        values = dict(recorded.inputs)
        if recorded.token.startswith("azuread:"):
            values.setdefault("objectId", recorded.outputs.get("objectId") or recorded.outputs.get("id"))
        resource = to_resource(
            recorded.token,
            _clean(values),
            source=SOURCE,
            origin=recorded.urn,
            subscription_id=MOCK_SUBSCRIPTION_ID,
            resource_id=recorded.arm.id if recorded.arm else str(recorded.outputs.get("id") or ""),
        )
        if resource is not None:
            resources.append(resource)
    return Inventory(_apply_nested_deployments(resources), sources=[SOURCE])


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    from compliance_checks.sources.azure_native import clean

    cleaned = clean(values, _is_secret)
    assert isinstance(cleaned, dict)
    return cleaned


def load_synth(
    stack: str = "dev", *, stack_file: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> tuple[Inventory, Synthesis]:
    try:
        synthesis = synthesize(stack, stack_file=stack_file, overrides=overrides)
    except ConfigError as exc:
        source, _, problem = str(exc).partition(": ")
        raise InputError(source, "", problem) from None
    return inventory_from_synthesis(synthesis), synthesis
