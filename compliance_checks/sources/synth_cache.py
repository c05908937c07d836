"""A content-addressed cache of the ``synth`` source's inventory, so that `make run` does not re-run the program.

Running the Pulumi program under the mock runtime takes seconds (importing the
providers' SDKs alone is most of it); its result only changes when its inputs
do. The key is a SHA-256 over everything the inventory is computed from:

* every file of the Pulumi program: ``infra/**`` (code, ``infra/data``, every
  stack file) and ``Pulumi.yaml``;
* the stack's name and the stack config file read (``--input`` or
  ``infra/stacks/Pulumi.<stack>.yaml``), by content;
* ``requirements.lock`` and the versions of the Pulumi SDKs actually installed
  (:data:`DISTRIBUTIONS`), the Python version, the ``PULUMI_CONFIG*`` variables
  of the environment (the SDK reads config from them, pulumi/runtime/config.py);
* the code and data that turn the synthesis into the inventory
  (``compliance_checks/**/*.py`` and ``compliance_checks/data/**``: the
  normaliser, the redaction and its ``secret_paths.json``);
* :data:`FORMAT_VERSION`.

Any change to any of them is another key, so an entry is never stale; old
entries are pruned (:data:`KEEP_ENTRIES`).

An entry is one file: a header line (format, version, key, size and SHA-256 of
the payload) and the payload, the inventory as JSON with the sentinels tagged
(never pickle). Nothing in an entry is trusted: a missing, truncated, corrupt,
foreign or differently keyed entry, or one whose payload does not decode to an
inventory exactly, is a miss and is rebuilt. Writes go to a temporary file that
replaces the entry atomically; a cache that cannot be read or written never
fails an audit, it only costs the synthesis. The checksum proves an entry is
whole, not who wrote it: an entry or a cache directory that another user owns
or could write is neither read nor written.

Secrets: the inventory holds no secret value (``Resource.create`` replaces each
by ``SECRET``, stored as a tag). An inventory is cached only if it survives the
round trip exactly and none of the strings the redaction remembered
(``compliance_checks/redaction.py``) occurs anywhere in it, so the cache file
holds no secret in plaintext and a hit yields the very inventory a cold run
would. The remembered strings themselves are not stored: on a hit, the
redaction's second line (``scrub_text``) knows none of the synthesis's strings.

Where: ``$COMPLIANCE_CHECKS_CACHE_DIR`` if set; else
``$XDG_CACHE_HOME/compliance-checks``; else ``.cache/compliance-checks/`` in
the checkout (``Pulumi.yaml`` beside ``infra/``); else
``~/.cache/compliance-checks`` (an installed wheel). ``audit --no-cache``
neither reads nor writes it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from compliance_checks.inventory import MISSING, SECRET, UNKNOWN, Gap, Inventory, Resource, SecretValue

FORMAT: Final = "compliance-checks/synth-cache"
FORMAT_VERSION: Final = 1
"""Raise it when the entry layout or the meaning of the payload changes: every older entry becomes a miss."""

DISTRIBUTIONS: Final = ("pulumi", "pulumi-azure-native", "pulumi-azuread", "pulumi-random")
"""The SDKs the program imports (infra/): their installed versions are part of the key."""

KEEP_ENTRIES: Final = 16
"""Entries kept after a write (the newest by modification time); one per stack and edit is plenty."""

MAX_ENTRY_BYTES: Final = 64 * 1024 * 1024
"""An entry larger than this is not read (an entry of the dev stack is about 40 KiB)."""

STALE_TEMPORARY_S: Final = 3600
"""A temporary file older than this is a writer's that died: pruned."""

ENV_DIR: Final = "COMPLIANCE_CHECKS_CACHE_DIR"
_ENTRY_PREFIX: Final = "synth-"
_ENTRY_SUFFIX: Final = ".json"
_TAG: Final = "$"  # the key of a tagged value in the payload; a real mapping with this key is wrapped


class Uncacheable(Exception):
    """This inventory (or this key) cannot be cached faithfully: run without the cache."""


class CorruptEntry(Exception):
    """The entry is not one this version wrote for this key: a miss."""


# --- where -------------------------------------------------------------------------------


def default_dir(root: Path) -> Path:
    """The cache directory (module docstring: the environment, then the checkout, then the home)."""
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG base directory spec: a relative value is invalid, ignore it
        return Path(xdg) / "compliance-checks"
    if (root / "Pulumi.yaml").is_file() and (root / "infra").is_dir():
        return root / ".cache" / "compliance-checks"
    return Path.home() / ".cache" / "compliance-checks"


# --- the key -----------------------------------------------------------------------------


def _walk_files(top: Path, keep: Callable[[str], bool]) -> Iterator[Path]:
    """Files under ``top`` (bytecode caches skipped). A symbolic link to a directory is Uncacheable: what it
    points at could change without anything under ``top`` changing (os.walk would not enter it)."""
    for folder, dirs, files in os.walk(top, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in dirs:
            if os.path.islink(os.path.join(folder, name)):
                raise Uncacheable(f"{os.path.join(folder, name)}: a symbolic link to a directory")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")) and keep(name):
                yield Path(folder) / name


def key_files(root: Path) -> list[Path]:
    """Every file of the repository whose content is part of the key (the stack file is added by :func:`cache_key`)."""
    files = [*_walk_files(root / "infra", lambda _name: True), root / "Pulumi.yaml", root / "requirements.lock"]
    package = root / "compliance_checks"
    files.extend(
        p for p in _walk_files(package, lambda name: name.endswith(".py")) if (package / "data") not in p.parents
    )
    files.extend(_walk_files(package / "data", lambda _name: True))
    return files


def _file_digest(path: Path) -> str:
    """SHA-256 of a regular file's content; "absent" if there is none. Never blocks on a pipe or a device."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return "absent"
    except OSError as exc:  # unreadable: the synthesis reports it; the cache never guesses a content
        raise Uncacheable(f"{path}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Uncacheable(f"{path}: not a regular file")
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    except OSError as exc:
        raise Uncacheable(f"{path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _installed(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def cache_key(stack: str, stack_file: Path, *, root: Path) -> str:
    """The SHA-256 (hex) that names the entry of ``stack`` synthesized from ``stack_file`` by the program in ``root``."""
    lines = [
        f"format {FORMAT} {FORMAT_VERSION}",
        f"python {sys.implementation.name} {sys.version}",
        *(f"dist {name} {_installed(name)}" for name in DISTRIBUTIONS),
        *(f"env {k} {v}" for k, v in sorted(os.environ.items()) if k.startswith("PULUMI_CONFIG")),
        f"stack {stack}",
        f"stack-file {_file_digest(stack_file)}",
    ]
    for path in key_files(root):
        lines.append(f"file {path.relative_to(root).as_posix()} {_file_digest(path)}")
    return hashlib.sha256(json.dumps(lines).encode()).hexdigest()


# --- the payload -------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Uncacheable("a non-finite number")
        return value
    if isinstance(value, SecretValue):
        return {_TAG: "secret"}  # the fact that a secret is set; its value was never kept
    if value is UNKNOWN:
        return {_TAG: "unknown"}
    if value is MISSING:
        return {_TAG: "missing"}
    if type(value) is list:
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise Uncacheable("a mapping with a key that is not a string")
        encoded = {k: _encode(v) for k, v in value.items()}
        return {_TAG: "map", "value": encoded} if _TAG in encoded else encoded
    raise Uncacheable(f"a value of type {type(value).__name__}")


_TAGGED: Final[Mapping[str, Any]] = {"secret": SECRET, "unknown": UNKNOWN, "missing": MISSING}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if _TAG not in value:
            return {k: _decode(v) for k, v in value.items()}
        tag = value[_TAG]
        if isinstance(tag, str) and tag in _TAGGED and len(value) == 1:
            return _TAGGED[tag]
        if tag == "map" and set(value) == {_TAG, "value"} and isinstance(value["value"], dict):
            return {k: _decode(v) for k, v in value["value"].items()}
        raise CorruptEntry("an unknown tag")
    if isinstance(value, float) and not math.isfinite(value):
        raise CorruptEntry("a non-finite number")
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (1 == 1.0 == True and [] == () are not the same here)."""
    if isinstance(a, SecretValue) or isinstance(b, SecretValue):
        return isinstance(a, SecretValue) and isinstance(b, SecretValue)
    if type(a) is not type(b):
        return False
    if isinstance(a, Mapping):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a is b or a == b)


_RESOURCE_TEXT: Final = ("id", "type", "name", "source", "origin", "observed_at")


def encode_inventory(inventory: Inventory) -> dict[str, Any]:
    resources = []
    for resource in inventory.resources:
        record: dict[str, Any] = {field: getattr(resource, field) for field in _RESOURCE_TEXT}
        record["location"] = resource.location
        record["body"] = _encode(resource.body)
        resources.append(record)
    gaps = [
        {"types": list(g.types), "scope": g.scope, "reason": g.reason, "located": g.located, "absent": g.absent}
        for g in inventory.gaps
    ]
    return {"resources": resources, "sources": list(inventory.sources), "gaps": gaps}


def _text(record: Mapping[str, Any], field: str) -> str:
    value = record.get(field)
    if not isinstance(value, str):
        raise CorruptEntry(f"{field}: expected a string")
    return value


def _texts(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CorruptEntry(f"{what}: expected a list of strings")
    return value


def decode_inventory(payload: Any) -> Inventory:
    if not isinstance(payload, dict) or set(payload) != {"resources", "sources", "gaps"}:
        raise CorruptEntry("not an inventory")
    records = payload["resources"]
    if not isinstance(records, list):
        raise CorruptEntry("resources: expected a list")
    resources = []
    for record in records:
        if not isinstance(record, dict) or set(record) != {*_RESOURCE_TEXT, "location", "body"}:
            raise CorruptEntry("a resource with other fields")
        location = record["location"]
        body = _decode(record["body"])
        if not (location is None or isinstance(location, str)) or not isinstance(body, dict):
            raise CorruptEntry("a resource's location or body")
        resources.append(
            Resource.create(
                id=_text(record, "id"),
                type=_text(record, "type"),
                name=_text(record, "name"),
                body=body,
                location=location,
                source=_text(record, "source"),
                origin=_text(record, "origin"),
                observed_at=_text(record, "observed_at"),
            )
        )
    gaps = []
    if not isinstance(payload["gaps"], list):
        raise CorruptEntry("gaps: expected a list")
    for gap in payload["gaps"]:
        if not isinstance(gap, dict) or set(gap) != {"types", "scope", "reason", "located", "absent"}:
            raise CorruptEntry("a gap with other fields")
        if not isinstance(gap["located"], bool) or not isinstance(gap["absent"], bool):
            raise CorruptEntry("a gap's flags")
        gaps.append(
            Gap(
                tuple(_texts(gap["types"], "gap types")),
                _text(gap, "scope"),
                _text(gap, "reason"),
                gap["located"],
                gap["absent"],
            )
        )
    return Inventory(resources, sources=_texts(payload["sources"], "sources"), gaps=gaps)


def same_inventory(a: Inventory, b: Inventory) -> bool:
    """Everything a check, a report or an export can see of the two inventories is the same."""
    if a.sources != b.sources or a.gaps != b.gaps or len(a.resources) != len(b.resources):
        return False
    for x, y in zip(a.resources, b.resources, strict=True):
        if x.location != y.location or any(getattr(x, f) != getattr(y, f) for f in _RESOURCE_TEXT):
            return False
        if not (_same(x.body, y.body) and _same(x.folded, y.folded)):
            return False
    return True


def _holds_remembered_secret(payload: Any) -> bool:
    """Whether a string the redaction remembered as secret occurs anywhere in the payload (keys too)."""
    from compliance_checks.redaction import scrub_document

    return not _same(scrub_document(payload), payload)


# --- entries -----------------------------------------------------------------------------


def entry_path(directory: Path, key: str) -> Path:
    return directory / f"{_ENTRY_PREFIX}{key}{_ENTRY_SUFFIX}"


def _private(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else: the checksum inside an entry proves it is whole, not
    who wrote it, so an entry (or a directory) someone else could write is never read or written."""
    mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return mine and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def private_dir(directory: Path) -> bool:
    """Whether ``directory`` may hold entries: absent (it is created private) or a private directory."""
    try:
        info = directory.lstat()
    except (FileNotFoundError, NotADirectoryError):  # created private on the first write (or never, if it cannot be)
        return True
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and _private(info)


def _read_bounded(path: Path) -> bytes:
    """The entry's bytes: a private regular file (never through a symbolic link), at most MAX_ENTRY_BYTES."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
            raise CorruptEntry("not a regular file of a sensible size")
        if not _private(info):
            raise CorruptEntry("another user could have written it")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_entry(directory: Path, key: str) -> Inventory:
    """The inventory the entry for ``key`` holds; CorruptEntry (or OSError) when there is none to trust."""
    data = _read_bounded(entry_path(directory, key))
    header_bytes, newline, body = data.partition(b"\n")
    if not newline:
        raise CorruptEntry("no header line")
    try:
        header = json.loads(header_bytes)
    except ValueError:
        raise CorruptEntry("the header is not JSON") from None
    expected = {"format": FORMAT, "version": FORMAT_VERSION, "key": key, "size": len(body)}
    if not isinstance(header, dict) or set(header) != {*expected, "sha256"}:
        raise CorruptEntry("a foreign header")
    if any(header[k] != v or type(header[k]) is not type(v) for k, v in expected.items()):
        raise CorruptEntry("another format, version, key or size")
    if header["sha256"] != hashlib.sha256(body).hexdigest():
        raise CorruptEntry("the checksum does not match")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise CorruptEntry("the payload is not JSON") from None
    try:
        return decode_inventory(payload)
    except RecursionError:
        raise CorruptEntry("the payload is nested too deeply") from None


def write_entry(directory: Path, key: str, inventory: Inventory) -> Path:
    """Store ``inventory`` under ``key`` atomically. Uncacheable if it would not come back exactly or holds a secret."""
    payload = encode_inventory(inventory)
    if _holds_remembered_secret(payload):
        raise Uncacheable("a string the redaction remembered as secret occurs in the inventory")
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if not same_inventory(decode_inventory(json.loads(body)), inventory):
        raise Uncacheable("the inventory does not survive the round trip exactly")
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "key": key,
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = entry_path(directory, key)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed unless it replaced the entry
        "wb", dir=directory, prefix=f".{_ENTRY_PREFIX}", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(json.dumps(header, separators=(",", ":")).encode() + b"\n" + body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)  # atomic: a reader sees the old entry or the new one, never half of one
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    prune(directory, keep=KEEP_ENTRIES)
    return target


def entries(directory: Path) -> list[Path]:
    try:
        return [
            p
            for p in directory.iterdir()
            if p.name.startswith(_ENTRY_PREFIX) and p.name.endswith(_ENTRY_SUFFIX) and p.is_file()
        ]
    except OSError:
        return []


def prune(directory: Path, *, keep: int) -> None:
    """Remove all but the ``keep`` newest entries (best effort: another process may be pruning too)."""

    def age(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    for old in sorted(entries(directory), key=age, reverse=True)[keep:]:
        old.unlink(missing_ok=True)
    # A writer killed between creating its temporary file and the rename leaves it behind.
    try:
        leftovers = [
            p for p in directory.iterdir() if p.name.startswith(f".{_ENTRY_PREFIX}") and p.name.endswith(".tmp")
        ]
    except OSError:
        return
    for leftover in leftovers:
        if age(leftover) < time.time() - STALE_TEMPORARY_S:
            leftover.unlink(missing_ok=True)


def cached(
    directory: Path,
    key: Callable[[], str],
    build: Callable[[], Inventory],
    *,
    on_event: Callable[[str], None] | None = None,
) -> Inventory:
    """The inventory for ``key()``: from a trusted entry, else built by ``build`` and stored for next time.

    ``key()`` is computed again after a build and the result is stored only if it did not change: a file edited
    while the program ran may have been read either way, so that inventory belongs to no key.
    ``on_event`` hears ``hit``, ``miss``, ``rebuild`` (an entry not trusted), ``stored`` or ``not-stored``, or
    ``not-private`` (a directory another user could write: neither read nor written).
    """
    note = on_event or (lambda _event: None)
    if not private_dir(directory):
        note("not-private")
        return build()
    try:
        before = key()
    except Uncacheable:  # a file of the program cannot be read: the build reports it, nothing is cached
        note("not-stored")
        return build()
    try:
        inventory = read_entry(directory, before)
    except FileNotFoundError:
        note("miss")
    except (OSError, CorruptEntry):  # unreadable or untrustworthy: rebuilt and overwritten below
        note("rebuild")
    else:
        note("hit")
        return inventory
    inventory = build()
    try:
        if key() != before:
            raise Uncacheable("an input changed while the program ran")
        write_entry(directory, before, inventory)
    except (OSError, Uncacheable):  # a read-only or full disk, an input that moved, an inventory it cannot hold
        note("not-stored")
    else:
        note("stored")
    return inventory
