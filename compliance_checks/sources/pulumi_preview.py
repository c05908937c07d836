"""Source ``pulumi-preview``: the JSON of ``pulumi preview --json`` as the normalised inventory.

The document is the engine's preview digest: ``{"config": ..., "steps": [...],
"diagnostics": [...], "duration": ..., "changeSummary": ...}``. Each step has
``op``, ``urn`` and ``newState`` (a resource state: ``type``, ``inputs``,
``outputs``, ``id``, ``custom``, ``parent``); the inventory is the estate as
it would be after the update, so steps that remove a resource (``delete``,
``discard``) drop it, steps that remove the old copy of a replaced resource
(``delete-replaced``, ...) are skipped and, when a URN has several steps (a
replacement, a refresh before the update), the last one decides. An operation
Pulumi does not define is refused, as is a step whose URN differs from its new
state's.

Refused as incomplete, because the steps then do not describe the whole estate
after the update: a preview that failed (a diagnostic of severity ``error``:
the program stopped part-way), one Pulumi marks ``maybeCorrupt``, and one that
leaves out unchanged resources. ``pulumi preview --json`` writes a ``same``
step only with ``--show-sames`` (``shouldShow`` in pulumi/pulumi
pkg/backend/display/json.go), while its ``changeSummary`` counts every one
(``planActions.OnResourceStepPost`` in pkg/engine/plan.go): a summary with more
``same`` resources than the document has ``same`` steps lost them, and steps
without a summary (Pulumi omits it only when it is empty) cannot tell.

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
    one_line,
    show,
)
from compliance_checks.sources.pulumi_state import build_inventory, convert, infer_subscription

SOURCE: Final = "pulumi-preview"
SECRET_PLACEHOLDER: Final = "[secret]"
# The step operations Pulumi defines (``StepOps`` in pulumi/pulumi pkg/resource/deploy/step.go; ``OpReadDiscard``
# is spelled "discard"). Any other op is refused: what it does to the resource is not known.
# Steps after which the resource no longer exists ...
REMOVING_OPS: Final = frozenset({"delete", "discard"})
# ... steps that remove only the old copy of a resource being replaced (the new copy has its own step) ...
OLD_COPY_OPS: Final = frozenset({"delete-replaced", "discard-replaced", "remove-pending-replace"})
# ... and steps whose new state is the resource after the step. A refresh without a new state leaves the
# resource's state to a later step; "diff" (``DiffStep``) is internal to the engine and never a display step.
STATE_OPS: Final = frozenset(
    {"same", "create", "update", "replace", "create-replacement", "read", "read-replacement", "refresh"}
    | {"import", "import-replacement"}
)
# Severity of a diagnostic that failed the preview (``diag.Error`` in pulumi/pulumi sdk/go/common/diag).
_ERROR_SEVERITY: Final = "error"


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
    unresolved: dict[str, str] = {}  # URN -> place of a refresh step without a new state, until a later step decides
    same_steps = steps = 0
    nameless: tuple[str, str] | None = None  # the first removing step without a URN
    for index, (place, raw) in enumerate(stream.items()):
        steps = index + 1
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
        if op in OLD_COPY_OPS:
            continue
        if op in REMOVING_OPS or (op == "refresh" and step.get("newState") is None):
            if not urn:  # which resource it removes is not known: none can be trusted to exist (refused below)
                nameless = nameless or (join(place, "urn"), op)
                continue
            latest.pop(urn, None)
            if op == "refresh":
                unresolved[urn] = place
            continue
        if op not in STATE_OPS:
            raise InputError(source, join(place, "op"), f"unknown step operation {show(op)}")
        same_steps += op == "same"
        state = expect_object(source, join(place, "newState"), step.get("newState"), "the resource's new state")
        state_urn = state.get("urn")
        if urn and state_urn is None:
            state = {**state, "urn": urn}
        elif urn and state_urn != urn:  # two steps could otherwise claim one resource and hide the other
            raise InputError(
                source, join(place, "newState", "urn"), f"{show(state_urn)} differs from the step's URN {show(urn)}"
            )
        key = state.get("urn") if isinstance(state.get("urn"), str) else urn
        latest.pop(str(key), None)  # re-insert: the last step for a URN decides, in step order
        latest[str(key)] = (join(place, "newState"), state)
        unresolved.pop(str(key), None)
    top = expect_object(source, "", stream.skeleton, "the JSON of `pulumi preview --json` (an object)")
    if "steps" not in top:
        raise InputError(source, "/steps", "missing; expected the JSON of `pulumi preview --json`")
    if top["steps"] is not None:
        expect_list(source, "/steps", top["steps"])
    _check_complete(source, top, same_steps, steps)
    if nameless is not None:
        raise InputError(source, nameless[0], f"a {show(nameless[1])} step names no resource URN")
    if unresolved:
        urn, place = next(iter(unresolved.items()))
        raise InputError(source, place, f"{one_line(urn)}: refreshed without a new state and no later step gives one")
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


def _check_complete(source: str, top: dict[str, Any], same_steps: int, steps: int) -> None:
    """Refuse a preview whose steps are not the whole estate after the update (the module's docstring says why)."""
    diagnostics = top.get("diagnostics")
    if diagnostics is not None:
        for index, diagnostic in enumerate(expect_list(source, "/diagnostics", diagnostics)):
            item = expect_object(source, join("/diagnostics", index), diagnostic, "a diagnostic object")
            if item.get("severity") == _ERROR_SEVERITY:
                # The message is not echoed: a program's error text may quote a value that is secret.
                urn = item.get("urn")
                about = f" ({one_line(urn)})" if isinstance(urn, str) and urn else ""
                raise InputError(
                    source, join("/diagnostics", index), f"the preview failed{about}; its steps may be incomplete"
                )
    corrupt = top.get("maybeCorrupt")
    if corrupt is not None and corrupt is not False:
        problem = (
            "Pulumi marks the preview as maybe corrupt"
            if corrupt is True
            else f"expected a boolean, got {kind(corrupt)}"
        )
        raise InputError(source, "/maybeCorrupt", problem)
    summary = top.get("changeSummary")
    if summary is None:
        # Pulumi omits the summary only when it is empty (``ChangeSummary ... json:"changeSummary,omitempty"`` in
        # the PreviewDigest, pkg/backend/display/json.go), that is when no step was counted. Steps without it are
        # not what Pulumi writes, and whether unchanged resources were left out could not be told.
        if steps:
            raise InputError(
                source,
                "/changeSummary",
                f"missing beside {steps} steps: whether unchanged resources are left out cannot be told;"
                " expected the JSON of `pulumi preview --json --show-sames`",
            )
        return
    counts = expect_object(source, "/changeSummary", summary, "an object of step counts")
    sames = counts.get("same", 0)
    if isinstance(sames, bool) or not isinstance(sames, int) or sames < 0:
        raise InputError(source, "/changeSummary/same", f"expected a count, got {show(sames)}")
    if sames > same_steps:
        raise InputError(
            source,
            "/changeSummary/same",
            f"{sames} unchanged resources, but {same_steps} 'same' steps: the unchanged resources are left out;"
            " run `pulumi preview --json --show-sames`",
        )


__all__ = ["SOURCE", "load_pulumi_preview"]
