"""Source ``synth``: run the infra program offline and normalise what it declares."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compliance_checks.errors import InputError
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.sources.azure_native import to_resource
from compliance_checks.sources.loading import check_count, fold_nested_deployments
from compliance_checks.sources.webapp import normalise_webapps, order_unknown
from infra.config import ConfigError
from infra.synth import MOCK_SUBSCRIPTION_ID, Secret, Synthesis, stack_path, synthesize

SOURCE = "synth"


def _is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def inventory_from_synthesis(synthesis: Synthesis) -> Inventory:
    resources: list[Resource] = []
    for recorded in synthesis.resources:
        if not recorded.custom:
            continue
        values = dict(recorded.inputs)
        if recorded.token.startswith("azuread:"):
            # Entra computes what links these objects (object IDs, an application's client ID, the
            # principal type of an assignment): take it from the state, as Pulumi would record it.
            values = {**recorded.outputs, **values}
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
    return Inventory(normalise_webapps(fold_nested_deployments(resources), order=order_unknown), sources=[SOURCE])


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
    where = str(stack_file or stack_path(stack))  # the config decides how many resources the program declares
    check_count(where, "", len(synthesis.resources), "resources declared by the program")
    return inventory_from_synthesis(synthesis), synthesis


def load_synth_inventory(stack: str = "dev", *, stack_file: Path | None = None, cache: bool = True) -> Inventory:
    """The inventory of ``load_synth``, from the synthesis cache when nothing it depends on changed.

    ``cache=False`` (``audit --no-cache``) neither reads nor writes the cache
    (compliance_checks/sources/synth_cache.py: the key, where it lives, what is never stored).
    """
    import infra.synth as program

    # A synthesizer substituted in-process (tests replace this module's ``synthesize``) computes what the key
    # cannot see: its inventory is neither taken from the cache nor stored in it.
    if not cache or synthesize is not program.synthesize:
        return load_synth(stack, stack_file=stack_file)[0]
    from compliance_checks.sources import synth_cache
    from infra.synth import REPO_ROOT

    path = stack_file or stack_path(stack)
    return synth_cache.cached(
        synth_cache.default_dir(REPO_ROOT),
        lambda: synth_cache.cache_key(stack, path, root=REPO_ROOT),
        lambda: load_synth(stack, stack_file=stack_file)[0],
    )
