"""Source ``pulumi-preview``: the JSON of ``pulumi preview --json`` as the normalised inventory.

The document is the engine's preview digest: ``{"config": ..., "steps": [...],
"diagnostics": [...], "duration": ..., "changeSummary": ...}``. Each step has
``op``, ``urn`` and ``newState`` (a resource state: ``type``, ``inputs``,
``outputs``, ``id``, ``custom``, ``parent``); the inventory is the estate as
it would be after the update, so steps that remove a resource (``delete``,
``discard``, ``read-discard``) drop it, steps that remove the old copy of a
replaced resource (``delete-replaced``, ...) are skipped and, when a URN has
several steps (a replacement), the last one with a new state wins.

Values not known until apply appear as ``04da6b54-80e4-46f7-96ec-b56ff0331ba9``
and become UNKNOWN. The CLI writes secret values as the string ``[secret]``
(and the engine's signature object may appear too); both become SECRET. A
resource being created has no ID yet: it is built from the path inputs
(``resourceGroupName``, ``virtualNetworkName``, ...) in the subscription named
by the other resources' IDs, or ``<urn>#unknown-id`` when those inputs are
themselves unknown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from compliance_checks.errors import InputError
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.sources.json_stream import JsonStream
from compliance_checks.sources.loading import (
    MAX_RESOURCES,
    STREAM_MAX_BYTES,
    check_count,
    expect_list,
    expect_object,
    join,
    kind,
)
from compliance_checks.sources.pulumi_state import build_inventory, convert, infer_subscription

SOURCE: Final = "pulumi-preview"
SECRET_PLACEHOLDER: Final = "[secret]"
# Steps after which the resource no longer exists (pkg/resource/deploy/step.go) ...
REMOVING_OPS: Final = frozenset({"delete", "discard", "read-discard"})
# ... and steps that remove only the old copy of a resource being replaced (the new copy has its own step).
OLD_COPY_OPS: Final = frozenset({"delete-replaced", "discard-replaced", "remove-pending-replace"})


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value == SECRET_PLACEHOLDER


def load_pulumi_preview(
    path: Path, *, subscription_id: str | None = None, max_bytes: int = STREAM_MAX_BYTES
) -> Inventory:
    """Load the JSON written by ``pulumi preview --json``. Bad input raises InputError (file, JSON pointer, reason).

    ``subscription_id`` is used for IDs of resources being created; by default
    it is taken from the other resources' IDs.
    """
    source = str(path)
    # The steps are read one at a time (sources/json_stream.py): the text is never held whole.
    stream = JsonStream(path, ("steps",), max_bytes=max_bytes, expected="the JSON of `pulumi preview --json`")
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for index, (place, raw) in enumerate(stream.items()):
        # A replacement writes up to four steps for one resource (create-replacement, replace, delete-replaced, ...).
        check_count(source, "/steps", index + 1, "steps", limit=4 * MAX_RESOURCES)
        step = expect_object(source, place, raw, "a step object")
        op = step.get("op")
        if not isinstance(op, str) or not op:
            problem = "missing" if op is None else f"expected a string, got {kind(op)}"
            raise InputError(source, join(place, "op"), f"step operation {problem}")
        urn = step.get("urn")
        if urn is not None and not isinstance(urn, str):
            raise InputError(source, join(place, "urn"), f"expected a string, got {kind(urn)}")
        if op in REMOVING_OPS:
            if urn:
                latest.pop(urn, None)
            continue
        if op in OLD_COPY_OPS:
            continue
        state = expect_object(source, join(place, "newState"), step.get("newState"), "the resource's new state")
        if urn and "urn" not in state:
            state = {**state, "urn": urn}
        key = state.get("urn") if isinstance(state.get("urn"), str) else urn
        latest.pop(str(key), None)  # re-insert: the last step for a URN decides, in step order
        latest[str(key)] = (join(place, "newState"), state)
    top = expect_object(source, "", stream.skeleton, "the JSON of `pulumi preview --json` (an object)")
    if "steps" not in top:
        raise InputError(source, "/steps", "missing; expected the JSON of `pulumi preview --json`")
    if top["steps"] is not None:
        expect_list(source, "/steps", top["steps"])
    check_count(source, "/steps", len(latest), "resources after the update")
    subscription = subscription_id or infer_subscription(state for _, state in latest.values())
    resources: list[Resource] = []
    try:
        for place, state in latest.values():
            resource = convert(
                source, state, source_name=SOURCE, place=place, subscription_id=subscription, is_secret=_is_secret
            )
            if resource is not None:
                resources.append(resource)
    except RecursionError:
        raise InputError(source, "", "values nested too deeply") from None
    return build_inventory(resources, SOURCE)


__all__ = ["SOURCE", "load_pulumi_preview"]
