"""Source ``pulumi-state``: the JSON of ``pulumi stack export`` as the normalised inventory.

The export is ``{"version": 3, "deployment": {"manifest": ..., "secrets_providers":
..., "resources": [...]}}``; each resource has ``urn``, ``custom``, ``type``,
``id``, ``inputs``, ``outputs``, ``parent`` (and more this source ignores).
The deployed state is the resource's ``outputs``; ``inputs`` stand in only
when there are no outputs. Secrets appear as
``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
"ciphertext": ...}`` (or ``"plaintext"`` with ``--show-secrets``) and become
SECRET: their content is never kept.

Skipped: the stack (``pulumi:pulumi:Stack``), providers (``pulumi:providers:*``),
component resources (``custom: false``), ``random:*``, other providers'
resources and resources ``pendingReplacement`` (deleted by a delete-before-replace,
not yet recreated: they no longer exist). An azure-native token missing from
``infra.azure_types.ARM_ID_TEMPLATES`` is an InputError. Versioned azure-native
tokens (``azure-native:network/v20240301:VirtualNetwork``) map like the default version.

The Pulumi state format (``DeploymentV3`` and ``ResourceV3`` in pulumi/pulumi
sdk/go/common/apitype/core.go) decides the rest. A resource ``delete: true``
"should be deleted during the next update": the old copy of a replaced resource
whose deletion failed or was interrupted. It still exists, so it is kept (its
origin says "pending deletion"), unless a live entry has the same ARM ID (then
the live entry is that resource's newer state). More than one live entry for one
URN is refused, as Pulumi's own integrity check refuses it ("duplicate resource
(not marked for deletion)", ``Snapshot.VerifyIntegrity`` in
pkg/resource/deploy/snapshot.go). An export with ``pending_operations`` (an
update was interrupted: a resource being created may exist and be in no entry)
or with ``metadata.integrity_error`` is refused: it does not describe the estate.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from compliance_checks.errors import InputError
from compliance_checks.inventory import SECRET, UNKNOWN, Inventory, Resource
from compliance_checks.sources.arm_expressions import ZERO_SUBSCRIPTION
from compliance_checks.sources.azure_native import (
    SECRET_SIGNATURE,
    SECRET_SIGNATURE_KEY,
    UNKNOWN_SENTINEL,
    clean,
    to_resource,
)
from compliance_checks.sources.json_stream import JsonStream
from compliance_checks.sources.loading import (
    STREAM_MAX_BYTES,
    check_count,
    expect_list,
    expect_object,
    fold_nested_deployments,
    join,
    kind,
    one_line,
    show,
)
from compliance_checks.sources.webapp import normalise_webapps, order_unknown
from infra.azure_types import UnmappedTypeError, arm_identity

SOURCE: Final = "pulumi-state"
SUPPORTED_VERSIONS: Final = (3, 4)

_TOKEN: Final = re.compile(r"[A-Za-z0-9_.-]+:[A-Za-z0-9_./-]*:[A-Za-z0-9_.-]+")
_VERSIONED_MODULE: Final = re.compile(r"^(azure-native:[A-Za-z0-9]+)/v[0-9a-z]+(:.*)$")
_SUBSCRIPTION: Final = re.compile(r"^/subscriptions/([^/]+)/", re.IGNORECASE)


def canonical_token(token: str) -> str:
    """``azure-native:network/v20240301:VirtualNetwork`` -> ``azure-native:network:VirtualNetwork``."""
    match = _VERSIONED_MODULE.match(token)
    return f"{match.group(1)}{match.group(2)}" if match else token


def skipped(token: str, custom: bool) -> bool:
    """What no inventory holds: the stack, providers, components and random values."""
    return (
        not custom
        or token == "pulumi:pulumi:Stack"
        or token.startswith("pulumi:providers:")
        or token.startswith("random:")
        or not (token.startswith("azure-native:") or token.startswith("azuread:"))
    )


def infer_subscription(entries: Iterable[Mapping[str, Any]]) -> str:
    """The subscription of the first ARM resource ID among the resources (for IDs built from inputs)."""
    for entry in entries:
        candidates = [entry.get("id")]
        for section in ("outputs", "inputs"):
            values = entry.get(section)
            if isinstance(values, Mapping):
                candidates.append(values.get("id"))
        for candidate in candidates:
            match = _SUBSCRIPTION.match(candidate) if isinstance(candidate, str) else None
            if match:
                return match.group(1)
    return ZERO_SUBSCRIPTION


def _usable_id(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip("/") or value == UNKNOWN_SENTINEL:
        return None
    return value


def _sections(source: str, place: str, entry: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for section in ("inputs", "outputs"):
        value = entry.get(section)
        if value is None:
            found.append({})
        elif isinstance(value, dict):  # the place is spelled out only for an error: 100k entries, 2 sections each
            found.append(value)
        else:
            found.append(expect_object(source, join(place, section), value))
    return found[0], found[1]


def convert(
    source: str,
    entry: Mapping[str, Any],
    *,
    source_name: str,
    place: str,
    subscription_id: str,
    is_secret: Callable[[Any], bool] | None = None,
) -> Resource | None:
    """One engine resource state (``ResourceV3``: a state entry or a preview step's ``newState``) as a resource."""
    urn = entry.get("urn")
    if not isinstance(urn, str) or not urn:
        problem = "missing" if urn is None else f"expected a string, got {kind(urn)}"
        raise InputError(source, join(place, "urn"), f"resource URN {problem}")
    urn = one_line(urn)
    token = entry.get("type")
    if not isinstance(token, str) or not token:
        problem = "missing" if token is None else f"expected a string, got {kind(token)}"
        raise InputError(source, join(place, "type"), f"{urn}: resource type {problem}")
    if not _TOKEN.fullmatch(token):
        raise InputError(source, join(place, "type"), f"{urn}: {show(token)} is not a Pulumi type token")
    custom = entry.get("custom", True)
    if not isinstance(custom, bool):
        raise InputError(source, join(place, "custom"), f"{urn}: expected a boolean, got {kind(custom)}")
    raw_id = entry.get("id")
    if raw_id is not None and not isinstance(raw_id, str):
        raise InputError(source, join(place, "id"), f"{urn}: expected a string, got {kind(raw_id)}")
    inputs, outputs = _sections(source, place, entry)
    token = canonical_token(token)
    if skipped(token, custom):
        return None

    # The deployed state is the outputs; the inputs are cleaned only when they are used (no outputs, or an ID to
    # build from path inputs): cleaning both doubled the cost of reading a large state. A secret-wrapped inputs
    # map is refused either way, as cleaning it would.
    cleaned_inputs: dict[str, Any] | None = None
    if outputs:
        values = _cleaned(source, (place, "outputs"), urn, outputs, is_secret)
        if inputs.get(SECRET_SIGNATURE_KEY) == SECRET_SIGNATURE:
            _cleaned(source, (place, "inputs"), urn, inputs, is_secret)
        else:
            _remember_shown_secrets(inputs)
    else:
        cleaned_inputs = _cleaned(source, (place, "inputs"), urn, inputs, is_secret)
        values = dict(cleaned_inputs)
    resource_id = _usable_id(raw_id)
    if token.startswith("azuread:"):
        object_id = values.get("objectId") or resource_id
        values["objectId"] = object_id if isinstance(object_id, str) else None
    named_location_ranges = _detach_unknown_ranges(token, values)
    try:
        if not token.startswith("azuread:") and (resource_id is None or not resource_id.startswith("/")):
            if cleaned_inputs is None:
                cleaned_inputs = _cleaned(source, (place, "inputs"), urn, inputs, is_secret)
            resource_id = _identity_from(token, {**cleaned_inputs, **values}, subscription_id)
        resource = to_resource(
            token, values, source=source_name, origin=urn, subscription_id=subscription_id, resource_id=resource_id
        )
    except UnmappedTypeError:
        raise InputError(
            source, join(place, "type"), f"{urn}: no ARM mapping for {token}; add it to infra/azure_types.py"
        ) from None
    if resource is not None and named_location_ranges is not None:
        body = {**resource.body, "ipRanges": named_location_ranges}
        resource = resource.with_body(body)
    return resource


_SIGNATURE_BYTES: Final = SECRET_SIGNATURE_KEY.encode("ascii")


def _remember_shown_secrets(values: dict[str, Any]) -> None:
    """Inputs left uncleaned (the outputs are the state) may hold a secret that only inputs have: Azure never
    returns the administrator password. With ``--show-secrets`` its plaintext is there, and the redaction must
    still learn it, or a plain copy of the value elsewhere reaches the reports. marshal writes every string of a
    decoded document, keys too, as its UTF-8 bytes, so finding the signature key is one pass in C; only inputs
    that hold it are walked (``clean`` remembers each wrapper's plaintext; its result is not needed)."""
    if _SIGNATURE_BYTES in marshal.dumps(values):
        clean(values)


def _cleaned(
    source: str,
    place: tuple[str, str],
    urn: str,
    values: Mapping[str, Any],
    is_secret: Callable[[Any], bool] | None,
) -> dict[str, Any]:
    """Secrets -> SECRET, unknowns -> UNKNOWN; the property map itself must stay a map (``place``: entry, section)."""
    cleaned = clean(values, is_secret)
    if not isinstance(cleaned, dict):
        raise InputError(source, join(*place), f"{urn}: expected an object of properties, got {cleaned!r}")
    return cleaned


def _identity_from(token: str, values: Mapping[str, Any], subscription_id: str) -> str | None:
    """The ARM ID built from path inputs, when the engine has not reported one (a create in a preview)."""
    if not token.startswith("azure-native:"):
        return None
    try:
        return arm_identity(token, values, subscription_id).id
    except UnmappedTypeError:
        raise
    except KeyError:
        return None


def _detach_unknown_ranges(token: str, values: dict[str, Any]) -> Any:
    """A named location whose IP ranges are not a list (unknown, secret): shaped without them, set back afterwards."""
    if not token.endswith(":NamedLocation"):
        return None
    ip = values.get("ip")
    if not isinstance(ip, Mapping) or "ipRanges" not in ip or isinstance(ip.get("ipRanges"), list):
        return None
    ranges = ip["ipRanges"]
    values["ip"] = {k: v for k, v in ip.items() if k != "ipRanges"}
    return ranges if ranges is UNKNOWN or ranges is SECRET else UNKNOWN


def build_inventory(resources: Iterable[Resource], source_name: str) -> Inventory:
    return Inventory(normalise_webapps(fold_nested_deployments(resources), order=order_unknown), sources=[source_name])


def load_pulumi_state(path: Path, *, max_bytes: int = STREAM_MAX_BYTES) -> Inventory:
    """Load the JSON written by ``pulumi stack export``. Bad input raises InputError (file, JSON pointer, reason).

    The resources are read one at a time (sources/json_stream.py): an export of 100,000 resources is never
    held as text and as parsed objects at once. Entries are converted as they come, except that entries
    before the first one with an ARM ID wait for it: their IDs may have to be built with its subscription.
    """
    source = str(path)
    stream = JsonStream(
        path, ("deployment", "resources"), max_bytes=max_bytes, expected="the JSON of `pulumi stack export`"
    )
    resources: list[Resource] = []
    waiting: list[tuple[str, dict[str, Any]]] = []
    subscription: str | None = None
    count = 0
    seen = _Seen()
    try:
        for place, raw in stream.items():
            count += 1
            check_count(source, "/deployment/resources", count)
            entry = expect_object(source, place, raw, "a resource object")
            if subscription is None:
                waiting.append((place, entry))
                found = infer_subscription([entry])
                if found == ZERO_SUBSCRIPTION:
                    continue
                subscription = found
                entries, waiting = waiting, []
            else:
                entries = [(place, entry)]
            _convert_all(source, entries, subscription, resources, seen)
        _check_top(source, stream.skeleton)
        _convert_all(source, waiting, subscription or ZERO_SUBSCRIPTION, resources, seen)
    except RecursionError:
        raise InputError(source, "", "values nested too deeply") from None
    if seen.pending_deletion:  # rare (a failed or interrupted replacement): the live copy of an ID wins
        live = {r.id_key for r in resources}
        for resource in seen.pending_deletion:
            if resource.id_key not in live:
                live.add(resource.id_key)
                resources.append(resource)
    return build_inventory(resources, SOURCE)


class _Seen:
    """What one export has shown so far: the URNs of live entries and the resources pending deletion."""

    __slots__ = ("live_urns", "pending_deletion")

    def __init__(self) -> None:
        self.live_urns: set[str] = set()
        self.pending_deletion: list[Resource] = []


def _flag(source: str, place: str, entry: Mapping[str, Any], name: str) -> bool:
    """A ResourceV3 boolean (``delete``, ``pendingReplacement``): absent is false, anything but a boolean is refused."""
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise InputError(source, join(place, name), f"expected a boolean, got {kind(value)}")
    return value


def _convert_all(
    source: str, entries: list[tuple[str, dict[str, Any]]], subscription: str, into: list[Resource], seen: _Seen
) -> None:
    for place, entry in entries:
        pending_deletion = _flag(source, place, entry, "delete")
        if _flag(source, place, entry, "pendingReplacement"):
            continue  # deleted by a delete-before-replace and not yet recreated: it does not exist
        urn = entry.get("urn")
        if not pending_deletion and isinstance(urn, str):
            if urn in seen.live_urns:
                raise InputError(
                    source, join(place, "urn"), f"{one_line(urn)}: a second live entry for this URN (Pulumi refuses it)"
                )
            seen.live_urns.add(urn)
        resource = convert(source, entry, source_name=SOURCE, place=place, subscription_id=subscription)
        if resource is None:
            continue
        if pending_deletion:
            seen.pending_deletion.append(
                resource.with_body(resource.body, origin=f"{resource.origin} (pending deletion)")
            )
        else:
            into.append(resource)


def _check_top(source: str, document: Any) -> None:
    """The export's envelope: a version this reader knows and a deployment object whose resources are a list."""
    top = expect_object(source, "", document, "the JSON of `pulumi stack export` (an object)")
    version = top.get("version")
    if version is None:
        raise InputError(source, "/version", "missing; expected the JSON of `pulumi stack export`")
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        raise InputError(source, "/version", f"unsupported deployment version {show(version)}; expected 3")
    deployment = expect_object(source, "/deployment", top.get("deployment"), "the deployment object")
    raw = deployment.get("resources")
    if raw is not None:
        expect_list(source, "/deployment/resources", raw)
    pending = deployment.get("pending_operations")
    if pending is not None and expect_list(source, "/deployment/pending_operations", pending):
        operation = pending[0]
        described = operation.get("type") if isinstance(operation, Mapping) else None
        target = operation.get("resource") if isinstance(operation, Mapping) else None
        urn = target.get("urn") if isinstance(target, Mapping) else None
        what = f"{show(described)} {one_line(urn)}" if isinstance(urn, str) else show(described)
        raise InputError(
            source,
            "/deployment/pending_operations/0",
            f"an interrupted update left {len(pending)} operation(s) pending ({what}): the state may not describe"
            " the estate; run `pulumi refresh` and export again",
        )
    metadata = deployment.get("metadata")
    if metadata is not None:
        problem = expect_object(source, "/deployment/metadata", metadata).get("integrity_error")
        if problem is not None:
            raise InputError(
                source, "/deployment/metadata/integrity_error", "Pulumi recorded an integrity error in this state"
            )


__all__ = ["SOURCE", "build_inventory", "canonical_token", "convert", "load_pulumi_state"]
