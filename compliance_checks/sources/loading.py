"""Shared helpers for the offline sources: read one JSON document safely, name places in it.

Every problem becomes an :class:`~compliance_checks.errors.InputError` whose
message is one line: the file as given, the place (a JSON pointer such as
``/resources/3/type``, or ``line 4, column 17`` for a syntax error) and the
reason. Nothing here raises any other exception type for bad input.
"""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from compliance_checks.errors import InputError
from compliance_checks.input_files import read_input_bytes
from compliance_checks.inventory import UNKNOWN, Resource, SecretValue

DEFAULT_MAX_BYTES: Final = 256 * 1024 * 1024
"""Files larger than this are refused before they are read, when the document is decoded whole (an ARM
template and its parameters, a ``pulumi preview --json``; every loader takes ``max_bytes``). An ARM template of
100,000 resources of the dev stack's mix is about 75 MiB."""

STREAM_MAX_BYTES: Final = 1024 * 1024 * 1024
"""The same for a document whose resources are read one at a time (``pulumi stack export``, sources/json_stream.py):
its text is never held whole, so it may be larger. Pulumi's indented export of 100,000 resources of the dev
stack's mix is about 270 MiB; real exports carry more outputs per resource."""

MAX_DEPTH: Final = 128
"""Deeper nesting than this is refused: no real template, state or preview comes close."""

MAX_VALUES: Final = 10_000_000
"""JSON values a document decoded whole (or one value of a streamed document) may hold, estimated before parsing
(commas plus opening brackets: never fewer than the real count, since each value but the first in a container
follows a comma), so that a small file of ``[[],[],...]`` cannot cost gigabytes of Python objects. An ARM
template of 100,000 resources of the dev stack's mix holds about 2,000,000."""

STREAM_MAX_VALUES: Final = 40_000_000
"""The same estimate over a whole streamed document, counted as it is read: it bounds the time of a read, while
:data:`MAX_VALUES` bounds what is held at once. Pulumi's export of 100,000 resources holds about 3,700,000."""

MAX_RESOURCES: Final = 200_000
"""Resources one source may yield (synth, pulumi-state, pulumi-preview, arm and the live collector alike),
checked as soon as the count is known (a streamed state: as each one is read), before any more is converted.
An audit of this many resources stays within seconds and about a GiB (benchmarks/end_to_end.py prints what
100,000 take). ARM itself deploys at most 800 resources per template, copies included (Microsoft Learn, "ARM
template best practices", Template limits:
https://learn.microsoft.com/azure/azure-resource-manager/templates/best-practices#template-limits), but an
export of a whole subscription's resource groups, or a Pulumi stack, has no such bound."""

_MAX_NUMBER_LENGTH: Final = 400


class _Refused:
    """Stands in for a value the decoder accepted but JSON (or this reader) does not; reported with its place."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


class _Duplicated(dict[str, Any]):
    """An object that repeated a key: reported with its place once parsing is done."""

    duplicate: str = ""


class _Decoder:
    """Hooks for ``json.loads`` that keep what JSON (or this reader) refuses, to be reported with its place."""

    def __init__(self) -> None:
        self.problems: list[Any] = []

    def _refuse(self, problem: str) -> _Refused:
        refused = _Refused(problem)
        self.problems.append(refused)
        return refused

    def constant(self, name: str) -> Any:
        return self._refuse(f"{name} is not a JSON value")

    def integer(self, text: str) -> Any:
        if len(text) > _MAX_NUMBER_LENGTH:
            return self._refuse(f"a number with {len(text)} digits is too long")
        return int(text)

    def real(self, text: str) -> Any:
        if len(text) > _MAX_NUMBER_LENGTH:
            return self._refuse(f"a number of {len(text)} characters is too long")
        value = float(text)
        if not math.isfinite(value):  # 1e400 overflows to inf: it would be written back as Infinity, not JSON
            return self._refuse(f"the number {text[:40]} is out of range (not a finite double)")
        return value

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) == len(pairs):
            return result
        marked = _Duplicated(pairs)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                marked.duplicate = key
                break
            seen.add(key)
        self.problems.append(marked)
        return marked


def one_line(text: str) -> str:
    """User-supplied text for a message: control characters and line breaks escaped."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) for the given path; control characters are escaped to keep it one line."""
    out: list[str] = []
    for part in parts:
        out.append(one_line(str(part).replace("~", "~0").replace("/", "~1")))
    return "".join(f"/{text}" for text in out)


def join(base: str, *parts: str | int) -> str:
    """Extend a JSON pointer."""
    return base + pointer(*parts)


def kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def show(value: Any, limit: int = 80) -> str:
    """A user-supplied value, quoted as JSON on one line (ASCII only) and cut to ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=True, default=repr)
    except (TypeError, ValueError):
        text = repr(value).encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _too_deep(document: Any) -> Any:
    """A container nested deeper than MAX_DEPTH, or None: level by level, iterative, without paths."""
    level: list[Any] = [document] if isinstance(document, (dict, list)) else []
    for _ in range(MAX_DEPTH):
        below: list[Any] = []
        extend = below.extend
        for value in level:
            extend([c for c in (value.values() if isinstance(value, dict) else value) if isinstance(c, (dict, list))])
        if not below:
            return None
        level = below
    return level[0]


def _path_to(document: Any, target: Any) -> tuple[str | int, ...]:
    """The path of ``target`` (by identity) in the document, at most MAX_DEPTH + 1 steps long."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if value is target or len(path) > MAX_DEPTH:
            if value is target:
                return path
            continue
        if isinstance(value, dict):
            stack.extend(
                (item, (*path, key)) for key, item in value.items() if isinstance(item, (dict, list, _Refused))
            )
        elif isinstance(value, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(value) if isinstance(item, (dict, list, _Refused)))
    return ()


def _check_document(document: Any, problems: list[Any]) -> tuple[str, str] | None:
    """Where the document holds a refused value or repeats a key, or nests deeper than MAX_DEPTH, and why."""
    found = problems[0] if problems else _too_deep(document)
    if found is None:
        return None
    path = _path_to(document, found)
    if isinstance(found, _Refused):
        return pointer(*path), f"invalid JSON: {found.problem}"
    if isinstance(found, _Duplicated):
        return pointer(*path, found.duplicate), "duplicate key: an object names it more than once"
    return pointer(*path[:MAX_DEPTH]), f"nested deeper than {MAX_DEPTH} levels"


def read_json(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, expected: str = "a JSON document") -> Any:
    """Read and decode one JSON file, or raise InputError naming the file, the place and the reason.

    Strict where Python's decoder is lenient: ``NaN``, ``Infinity`` and numbers that overflow a double are
    refused, as are repeated keys (which the decoder would resolve silently, last one wins).
    """
    source = str(path)
    data = read_input_bytes(path, max_bytes, source=source)
    values = data.count(b",") + data.count(b"[") + data.count(b"{")
    if values > MAX_VALUES:
        raise InputError(source, "", f"holds about {values} JSON values, over the limit of {MAX_VALUES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # The "utf-8-sig" decoder counts from after a BOM: the place is the offending byte in the whole file.
        bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        raise InputError(source, f"byte {bom + exc.start}", "not UTF-8 text") from None
    del data
    if not text.strip():
        raise InputError(source, "", f"file is empty; expected {expected}")
    try:
        decoder = _Decoder()
        document = json.loads(
            text,
            parse_constant=decoder.constant,
            parse_int=decoder.integer,
            parse_float=decoder.real,
            object_pairs_hook=decoder.object,
        )
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip())
        problem = "invalid JSON: the document ends early (truncated?)" if truncated else f"invalid JSON: {exc.msg}"
        raise InputError(source, f"line {exc.lineno}, column {exc.colno}", problem) from None
    except RecursionError:
        raise InputError(source, "", f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer beyond Python's conversion limit
        raise InputError(source, "", f"invalid JSON: {show(str(exc))}") from None
    found = _check_document(document, decoder.problems)
    if found is not None:
        raise InputError(source, *found)
    return document


def check_count(source: str, place: str, count: int, what: str = "resources", *, limit: int = MAX_RESOURCES) -> None:
    """Refuse more than ``limit`` (by default MAX_RESOURCES) resources, before any is converted."""
    if count > limit:
        raise InputError(source, place, f"{count} {what}, over the limit of {limit}")


def expect_object(source: str, place: str, value: Any, what: str = "an object") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(source, place, f"expected {what}, got {kind(value)}")
    return value


def expect_list(source: str, place: str, value: Any, what: str = "an array") -> list[Any]:
    if not isinstance(value, list):
        raise InputError(source, place, f"expected {what}, got {kind(value)}")
    return value


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two bodies: objects merge key by key, anything else in ``update`` wins."""
    merged = dict(base)
    for key, value in update.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


def fold_nested_deployments(resources: Iterable[Resource]) -> list[Resource]:
    """Fold what an inline nested ARM deployment writes into the resources it updates.

    The same fold the synth source applies (the TLS endpoint switches its
    host-name binding to SNI through a ``Microsoft.Resources/deployments``),
    written to survive any shape: unknown or secret templates, non-object
    items and unresolved names are skipped.
    """
    result = list(resources)
    by_type_name: dict[tuple[str, str], int] = {}
    for index, resource in enumerate(result):
        by_type_name.setdefault((resource.type_key, resource.id.split("/providers/", 1)[-1].lower()), index)
    for deployment in list(result):
        if deployment.type_key != "microsoft.resources/deployments":
            continue
        properties = deployment.body.get("properties")
        template = properties.get("template") if isinstance(properties, Mapping) else None
        items = template.get("resources") if isinstance(template, Mapping) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                continue
            kind_, name = item.get("type"), item.get("name")
            update = item.get("properties", {})
            if not isinstance(kind_, str) or not isinstance(name, str) or not isinstance(update, Mapping):
                continue
            if name.startswith("[") or not update:
                continue
            namespace, *types = kind_.split("/")
            names = name.split("/")
            if not types or len(types) != len(names):
                continue
            path = "/".join([namespace, *(f"{t}/{n}" for t, n in zip(types, names, strict=True))])
            found = by_type_name.get((kind_.lower(), path.lower()))
            if found is None:
                continue
            target = result[found]
            base = target.body.get("properties")
            body = dict(target.body)
            body["properties"] = merge(base if isinstance(base, Mapping) else {}, update)
            result[found] = target.with_body(body, origin=f"{target.origin} (updated by {deployment.name})")
    return result


def is_opaque(value: Any) -> bool:
    """UNKNOWN or SECRET: a value whose content cannot be used."""
    return value is UNKNOWN or isinstance(value, SecretValue)


__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_RESOURCES",
    "MAX_VALUES",
    "STREAM_MAX_BYTES",
    "STREAM_MAX_VALUES",
    "check_count",
    "expect_list",
    "expect_object",
    "fold_nested_deployments",
    "is_opaque",
    "join",
    "kind",
    "merge",
    "one_line",
    "pointer",
    "read_json",
    "show",
]
