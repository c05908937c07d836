"""The one redaction: secrets never reach a check, a report, a log or an export.

Where secrets are comes from ``compliance_checks/data/secret_paths.json``
(the REST specs' ``x-ms-secret`` flags and secret descriptions, with their
source), not from a list kept in code:

* ``paths``: (ARM type, property path) pairs, e.g. the PostgreSQL
  ``properties.administratorLoginPassword``, the VPN gateway's RADIUS secrets;
* ``names``: property names that hold a credential wherever they appear (in
  nested deployments, types not listed, evidence built outside the inventory);
* ``containers``: app settings and connection strings, secret wholesale with
  their names kept, as a list of ``{name, value}`` or as an object.

Besides, whatever a source marks as secret is secret: Pulumi's secret
signature object (``4dabf18193072939515e22adb298388d``), ``@Microsoft.KeyVault(...)``
references. ARM ``securestring``/``secureObject`` parameters, parameter-file
Key Vault references and ``reference()``/``list*()`` results are already
SECRET or UNKNOWN when the ARM source evaluates them.

Applied by construction: :meth:`Resource.create` passes every body through
:func:`redact_body`, so no check, drift comparison or export ever holds a
secret value. As a second line, every string redacted is remembered (only
strings of at least :data:`MIN_SCRUB_LENGTH` characters) and
:func:`scrub_text` / :func:`scrub_document` replace it wherever it would
still be written: finding messages and evidence (``findings.py``), the
canonical results document every report renders, ``export-arm``.
"""

from __future__ import annotations

import functools
import json
import marshal
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from compliance_checks.inventory import MISSING, SECRET, UNKNOWN, SecretValue

DATA_FILE: Final = Path(__file__).parent / "data" / "secret_paths.json"
PLACEHOLDER: Final = "[secret]"
# Pulumi's secret signature (sdk/go/common/resource/sig): {"4dabf...": "1b47...", "ciphertext"|"plaintext": ...}.
PULUMI_SECRET_KEY: Final = "4dabf18193072939515e22adb298388d"
PULUMI_SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"
# An App Service Key Vault reference (learn.microsoft.com/azure/app-service/app-service-key-vault-references:
# "@Microsoft.KeyVault(SecretUri=...)" or "@Microsoft.KeyVault(VaultName=...;SecretName=...)").
KEY_VAULT_REFERENCE: Final = "@microsoft.keyvault("
# Shorter strings are too likely to occur by chance in a message (e.g. "true"); Azure's own
# minimum for the passwords here is 8 (PostgreSQL administratorLoginPassword).
MIN_SCRUB_LENGTH: Final = 8

_LIST: Final = "[*]"
_ANY: Final = "*"
_TOKEN: Final = re.compile(r"^[A-Za-z0-9_$@-]+$")


class SecretPathsError(ValueError):
    """The data file is malformed (a bug of the project, not of the user's input)."""


@dataclass(frozen=True)
class Rules:
    """The parsed data file. Keys are lower case (ARM names are case-insensitive)."""

    by_type: Mapping[str, tuple[tuple[str, ...], ...]]
    by_type_name: Mapping[tuple[str, str], tuple[tuple[str, ...], ...]]
    names: frozenset[str]
    containers: Mapping[str, frozenset[str]]


def parse_path(text: str) -> tuple[str, ...]:
    """``properties.radiusServers[*].radiusServerSecret`` -> ('properties', 'radiusservers', '[*]', 'radiusserversecret')."""
    steps: list[str] = []
    for part in text.split("."):
        listed = part.endswith(_LIST)
        name = part.removesuffix(_LIST)
        if name != _ANY and not _TOKEN.match(name):
            raise SecretPathsError(f"{DATA_FILE.name}: bad path {text!r}")
        steps.append(name.lower())
        if listed:
            steps.append(_LIST)
    return tuple(steps)


def _load(document: Any) -> Rules:
    if not isinstance(document, dict):
        raise SecretPathsError(f"{DATA_FILE.name}: expected an object")
    sources = document.get("sources")
    if not isinstance(sources, dict):
        raise SecretPathsError(f"{DATA_FILE.name}: /sources missing")
    by_type: dict[str, list[tuple[str, ...]]] = {}
    by_type_name: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for number, entry in enumerate(document.get("paths", [])):
        if not isinstance(entry, dict) or entry.get("source") not in sources:
            raise SecretPathsError(f"{DATA_FILE.name}: /paths/{number}: needs type, path and a known source")
        kind, path, name = entry.get("type"), entry.get("path"), entry.get("name")
        if not isinstance(kind, str) or not isinstance(path, str):
            raise SecretPathsError(f"{DATA_FILE.name}: /paths/{number}: type and path must be strings")
        steps = parse_path(path)
        if isinstance(name, str):
            by_type_name.setdefault((kind.lower(), name.lower()), []).append(steps)
        else:
            by_type.setdefault(kind.lower(), []).append(steps)
    names: set[str] = set()
    for number, entry in enumerate(document.get("names", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or entry.get("source") not in sources:
            raise SecretPathsError(f"{DATA_FILE.name}: /names/{number}: needs name and a known source")
        names.add(entry["name"].lower())
    containers: dict[str, frozenset[str]] = {}
    for number, entry in enumerate(document.get("containers", [])):
        keep = entry.get("keep") if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(keep, list)
            or entry.get("source") not in sources
        ):
            raise SecretPathsError(f"{DATA_FILE.name}: /containers/{number}: needs name, keep and a known source")
        containers[entry["name"].lower()] = frozenset(str(k).lower() for k in keep)
    return Rules(
        by_type={k: tuple(v) for k, v in by_type.items()},
        by_type_name={k: tuple(v) for k, v in by_type_name.items()},
        names=frozenset(names),
        containers=containers,
    )


@functools.cache
def rules() -> Rules:
    return _load(json.loads(DATA_FILE.read_text(encoding="utf-8")))


# --- what was redacted, for the second line -------------------------------------------------


class _Seen:
    """Strings that were secret (process-wide), and the matchers that find them."""

    def __init__(self) -> None:
        self.strings: set[str] = set()
        self.pattern: re.Pattern[str] | None = None
        self.finder: _BytesFinder | None = None
        self.lock = threading.Lock()

    def add(self, value: Any) -> None:
        found: list[str] = []
        _strings(value, found)
        fresh = [s for s in found if len(s) >= MIN_SCRUB_LENGTH and s not in self.strings]
        if fresh:
            with self.lock:
                self.strings.update(fresh)
                self.pattern = None
                self.finder = None

    def compiled(self) -> re.Pattern[str] | None:
        # Read without the lock first: scrub_text runs for every string of a report, and an attribute
        # read is atomic; the lock only guards building the pattern after a new secret was added.
        pattern = self.pattern
        if pattern is not None or not self.strings:
            return pattern
        with self.lock:
            if self.pattern is None:
                self.pattern = re.compile(_trie_pattern(self.strings))
            return self.pattern

    def bytes_finder(self) -> _BytesFinder | None:
        """What finds a secret's UTF-8 bytes in a marshalled document (None: no secret was ever seen)."""
        finder = self.finder
        if finder is not None or not self.strings:
            return finder
        with self.lock:
            if self.finder is None:
                self.finder = _BytesFinder(self.strings)
            return self.finder


class _BytesFinder:
    """Whether any secret occurs in a byte string: ``in`` per secret when they are few (each a fast C
    search over the bytes), else one compiled prefix tree (a pass per secret would cost more)."""

    FEW = 16

    def __init__(self, strings: set[str]) -> None:
        # surrogatepass: how marshal writes a string that holds a lone surrogate (see _marshal_keeps_text).
        self.needles = tuple(sorted(s.encode("utf-8", "surrogatepass") for s in strings))
        self.pattern: re.Pattern[bytes] | None = None
        if len(self.needles) > self.FEW:
            self.pattern = re.compile(_trie_pattern({n.decode("latin-1") for n in self.needles}).encode("latin-1"))

    def found_in(self, data: bytes) -> bool:
        if self.pattern is not None:
            return self.pattern.search(data) is not None
        return any(needle in data for needle in self.needles)


def _trie_pattern(strings: set[str]) -> str:
    """One regular expression for many literals, as a prefix tree: each position is tried once per
    branching character, not once per secret (an alternation of thousands of literals would be), and the
    longest secret wins (a secret containing another is replaced whole)."""
    root: dict[str, Any] = {}
    for text in strings:
        node = root
        for char in text:
            node = node.setdefault(char, {})
        node[""] = {}  # the end of a literal

    def build(node: dict[str, Any]) -> str:
        branches: list[str] = []
        for char in sorted(k for k in node if k):
            chain, child = re.escape(char), node[char]
            while len(child) == 1 and "" not in child:  # an unbranched run: no nesting, no recursion
                (step,) = child
                chain, child = chain + re.escape(step), child[step]
            branches.append(chain + build(child))
        if not branches:
            return ""
        group = "(?:" + "|".join(branches) + ")"
        return group + "?" if "" in node else group

    return build(root)


_SEEN: Final = _Seen()


def remember_secret(value: str) -> None:
    """A secret met outside any resource body (an access token): scrubbed from every output from now on."""
    _remember(value)


def remember_pulumi_secret(wrapper: Mapping[str, Any]) -> None:
    """A Pulumi secret wrapper that a source hides itself (sources/azure_native.py ``clean``), before any redaction
    walks it: its ``--show-secrets`` plaintext is remembered all the same, so that a copy of the value written
    plainly elsewhere is still scrubbed from every output."""
    _remember_plaintext(wrapper.get("plaintext"))


def _remember(value: Any) -> None:
    """Keep strings that were secret, so that a copy of one elsewhere can still be scrubbed."""
    _SEEN.add(value)


def _remember_plaintext(plaintext: Any) -> None:
    """The value of a Pulumi secret shown with ``--show-secrets`` (github.com/pulumi/pulumi/pull/4046): its
    plaintext is the value JSON-encoded, a string secret the JSON string ``"value"`` with its quotes (as
    tests/test_source_pulumi.py's ``plaintext`` writes it). The decoded string is what a copy elsewhere holds, not its JSON spelling; of a
    structured secret only the strings under secret names are remembered (its other strings are names as
    often as secrets, see _hidden). Text that is not JSON is remembered as it is."""
    if not isinstance(plaintext, str):
        return
    try:
        decoded = json.loads(plaintext)
    except (ValueError, RecursionError):  # not JSON after all: the text itself is the secret
        _remember(plaintext)
        return
    if isinstance(decoded, str):
        _remember(decoded)
    elif isinstance(decoded, (dict, list)):
        redact_value(decoded)  # remembers what a secret name or container holds


def _strings(value: Any, into: list[str]) -> None:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _strings(item, into)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _strings(item, into)


def _compiled() -> re.Pattern[str] | None:
    return _SEEN.compiled()


def scrub_text(text: str) -> str:
    """``text`` with every string ever redacted replaced by ``[secret]``."""
    pattern = _compiled()
    if pattern is None or len(text) < MIN_SCRUB_LENGTH:  # every remembered secret is at least that long
        return text
    return pattern.sub(PLACEHOLDER, text)


def scrub_document(value: Any) -> Any:
    """Every string of a JSON-like document (keys too) passed through :func:`scrub_text`.

    A document of 90,000 findings holds millions of strings, and (the common case) none holds a
    secret: that is decided first at C speed, by searching the document as ``marshal`` writes it
    for each secret's UTF-8 bytes (marshal writes every string whole, in UTF-8, so a string that
    contains a secret contains its bytes there too; _marshal_keeps_text checks this of the running
    Python once). Only a document in which some secret's bytes occur, or that marshal cannot write
    (an object other than dict, list, tuple, str, number, bool or None, a subclass of str), is walked
    string by string, as before, each distinct string scrubbed once.
    """
    if _compiled() is None:
        return value
    if not _may_hold_secret(value):
        return value
    cache: dict[str, str] = {}
    return _scrub(value, cache)


def _may_hold_secret(value: Any) -> bool:
    """False only when it is certain that no string of ``value`` (keys too) contains a remembered secret."""
    finder = _SEEN.bytes_finder()
    if finder is None:
        return False
    if not _marshal_keeps_text():
        return True
    try:
        data = marshal.dumps(value)
    except (ValueError, RecursionError):  # a type marshal does not write (or too deep): walk it instead
        return True
    return finder.found_in(data)


@functools.cache
def _marshal_keeps_text() -> bool:
    """Whether this Python's marshal writes each string as its contiguous UTF-8 bytes (surrogates passed),
    as CPython's does; if not, scrub_document walks every document (slower, never weaker)."""
    probes = ("secret-ascii-probe", "geheimnis-ä€-probe-😀", "lone-\ud800-surrogate")
    for probe in probes:
        data = marshal.dumps({"key": ["x" + probe + "y", ("t", probe + "!")], probe * 2: 1})
        if probe.encode("utf-8", "surrogatepass") not in data:
            return False
    return True


def _scrub(value: Any, cache: dict[str, str]) -> Any:
    if isinstance(value, str):
        if len(value) < MIN_SCRUB_LENGTH:
            return value
        done = cache.get(value)
        if done is None:
            done = cache[value] = scrub_text(value)
        return done
    if isinstance(value, Mapping):
        return {_scrub(k, cache) if isinstance(k, str) else k: _scrub(v, cache) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, cache) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub(v, cache) for v in value)
    if isinstance(value, (set, frozenset)):  # marshal writes both, so the fast path may send one here
        return type(value)(_scrub(v, cache) for v in value)
    if isinstance(value, (bytes, bytearray)):
        # A secret's UTF-8 bytes inside bytes (a probe's raw body): scrubbed as text, other bytes kept as they were.
        text = bytes(value).decode("utf-8", "surrogateescape")
        scrubbed = _scrub(text, cache)
        return value if scrubbed == text else type(value)(scrubbed.encode("utf-8", "surrogateescape"))
    return value


# --- the redaction ------------------------------------------------------------------------


def _hidden(value: Any) -> Any:
    """SECRET for a value that is set; the sentinels, None and "" stay (whether it is set is not secret)."""
    if value is None or value is UNKNOWN or value is MISSING or isinstance(value, SecretValue) or value == "":
        return value
    if isinstance(value, str):
        # Only a secret string itself is remembered: the strings inside a malformed value (an app settings
        # object where a list belongs) are names as often as secrets, and scrubbing a name everywhere
        # would corrupt every report and template that mentions it.
        _remember(value)
    return SECRET


def _container(value: Any, keep: frozenset[str]) -> Any:
    """App settings or connection strings: names stay, every value is secret."""
    if isinstance(value, list):
        return [
            {k: (v if str(k).lower() in keep else _hidden(v)) for k, v in item.items()}
            if isinstance(item, Mapping)
            else _hidden(item)
            for item in value
        ]
    if isinstance(value, Mapping):
        return {k: _hidden(v) for k, v in value.items()}
    return _hidden(value)


def redact_value(value: Any) -> Any:
    """Hide what is secret anywhere, whatever the type: secret names, containers, source markers."""
    current = rules()
    return _walk(value, current.names, current.containers)


def _walk(value: Any, names: frozenset[str], containers: Mapping[str, frozenset[str]]) -> Any:
    """``value`` with its secrets hidden; the very same object when it holds none (no copy, for speed)."""
    if isinstance(value, str):
        if value[:1] == "@" and value[: len(KEY_VAULT_REFERENCE)].lower() == KEY_VAULT_REFERENCE:
            return SECRET  # a reference is not the secret, but it names where one is: never shown
        return value
    if isinstance(value, (dict, Mapping)):
        if value.get(PULUMI_SECRET_KEY) == PULUMI_SECRET_SIG:
            _remember_plaintext(value.get("plaintext"))
            return SECRET
        out: dict[Any, Any] | None = None
        for key, item in value.items():
            lowered = key.lower() if isinstance(key, str) else key
            if lowered in names:
                new = _hidden(item)
            elif lowered in containers:
                new = _container(item, containers[lowered])
            elif isinstance(item, str):
                if item[:1] != "@":
                    continue
                new = _walk(item, names, containers)
            elif isinstance(item, (dict, list, tuple, Mapping)):
                new = _walk(item, names, containers)
            else:
                continue  # a number, a boolean, a sentinel, a plain string: nothing to hide
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out
    if isinstance(value, (list, tuple)):
        items: list[Any] | None = None
        for index, item in enumerate(value):
            new = _walk(item, names, containers)
            if new is not item:
                if items is None:
                    items = list(value)
                items[index] = new
        if items is None:
            return value
        return tuple(items) if isinstance(value, tuple) else items
    return value


def _apply(value: Any, steps: tuple[str, ...]) -> Any:
    """Hide the value(s) at ``steps`` (case-insensitive names, ``[*]`` list elements, ``*`` object values)."""
    if not steps:
        return _hidden(value)
    step, rest = steps[0], steps[1:]
    if step == _LIST:
        return [_apply(item, rest) for item in value] if isinstance(value, list) else value
    if not isinstance(value, Mapping):
        return value
    if step == _ANY:
        return {key: _apply(item, rest) for key, item in value.items()}
    return {
        key: (_apply(item, rest) if isinstance(key, str) and key.lower() == step else item)
        for key, item in value.items()
    }


def redact_body(kind: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A resource body with every secret of its type (and every secret anywhere) replaced by SECRET."""
    current = rules()
    out: Any = _walk(body, current.names, current.containers)
    for steps in current.by_type.get(kind.lower(), ()):
        out = _apply(out, steps)
    for steps in current.by_type_name.get((kind.lower(), name.lower()), ()):
        out = _apply(out, steps)
    return dict(out) if isinstance(out, Mapping) else {"$value": out}


def redact_evidence(path: str, observed: Any) -> Any:
    """An observed value as evidence may show it: secret if its path ends in a secret name, else redacted within."""
    current = rules()
    leaf = path.rsplit(".", 1)[-1].split("[", 1)[0].strip().lower()
    if leaf in current.names:
        return _hidden(observed)
    if leaf in current.containers:
        return _container(observed, current.containers[leaf])
    redacted = _walk(observed, current.names, current.containers)
    return scrub_document(redacted)
