"""Known analytics and tracking services: hosts, paths and storage keys, from a list whose name and version are evidence.

Two lists can be in use, and the evidence of every finding that relied on them
names each one (name, version, sha256 of the exact bytes read):

- the **built-in list**, ``compliance_checks/data/trackers.json``: curated by the
  project under its own licence (Apache-2.0) from each vendor's documentation,
  whose URL stands beside every entry. It holds
  ``services`` (a host matches itself and every subdomain; a ``paths`` rule
  ``host/prefix`` matches that host with that path prefix only, e.g. the Meta
  pixel's ``www.facebook.com/tr``), ``firstParty`` (paths of self-hosted
  analytics on the portal's own hosts: Matomo's ``matomo.php``; Plausible's
  and Umami's script *and* event endpoint together, since a lone
  ``/script.js`` or ``/api/send`` is an ordinary application path) and
  ``storage`` (key names or ``fnmatch`` patterns analytics libraries write
  into cookies and Web Storage);
- a **maintained filter list** the user fetched with ``compliance-checks
  trackers update --from URL|FILE`` (EasyPrivacy, https://easylist.to/easylist/easyprivacy.txt,
  or any list in Adblock Plus syntax). EasyPrivacy is published under GPLv3 or
  CC BY-SA 3.0 (https://easylist.to/pages/licence.html); that is why the
  project never ships it: it is read into the user's cache
  (:func:`cache_dir`) at run time. Only its ``||host^`` rules (with options
  that do not restrict the rule to some sites) and ``||host/path`` rules are
  used; exception rules remove hosts again; every other rule is counted as
  skipped.

The functions that existed before (:func:`tracker_hosts`, :func:`is_tracker`)
keep their meaning over the union of both lists.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import tempfile
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from compliance_checks.errors import InputError, UsageError

BUILTIN = "data/trackers.json"
EASYPRIVACY_URL = "https://easylist.to/easylist/easyprivacy.txt"
CACHE_ENV = "COMPLIANCE_CHECKS_CACHE_DIR"
CACHE_LIST = "filter-list.txt"
CACHE_META = "filter-list.json"
MAX_LIST_BYTES = 32 << 20  # EasyPrivacy is ~2 MB; a bound keeps a wrong URL from filling the disk


@dataclass(frozen=True)
class ListInfo:
    """Which list a decision rested on: the evidence every tracker finding carries."""

    name: str
    version: str
    sha256: str
    source: str  # "built-in" or the URL/file it was read from

    def as_evidence(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "source": self.source}


@dataclass(frozen=True)
class FirstPartyRule:
    service: str
    source: str
    any_of: tuple[str, ...] = ()  # one path matching one of these is enough
    all_of: tuple[str, ...] = ()  # each needs a matching path (a script and its event endpoint)
    variants: tuple[str, ...] = ()  # alternative spellings of all_of[0] (e.g. script.outbound-links.js)


@dataclass(frozen=True)
class TrackerMatch:
    """One request or storage key that a list rule matched."""

    service: str
    rule: str  # the host, host/path, path pattern or key pattern that matched
    what: str  # the host, URL or key observed
    source: str  # the vendor documentation URL, or the list's name for a filter-list rule


@dataclass(frozen=True)
class TrackerList:
    lists: tuple[ListInfo, ...]
    hosts: Mapping[str, tuple[str, str]] = field(hash=False)  # host -> (service, source)
    host_paths: tuple[tuple[str, str, str, str], ...] = ()  # (host, path prefix, service, source)
    first_party: tuple[FirstPartyRule, ...] = ()
    storage: tuple[tuple[str, str, str], ...] = ()  # (key pattern, service, source)
    skipped_rules: int = 0

    def evidence(self) -> list[dict[str, str]]:
        return [info.as_evidence() for info in self.lists]

    def describe(self) -> str:
        return " + ".join(f"{info.name} {info.version} (sha256 {info.sha256[:12]}…)" for info in self.lists)

    # -- hosts -------------------------------------------------------------

    def host_entry(self, host: str) -> tuple[str, tuple[str, str]] | None:
        """The listed host ``host`` is or lies under, with its (service, source)."""
        host = host.strip().lower().rstrip(".")
        parts = host.split(".")
        for index in range(len(parts)):
            candidate = ".".join(parts[index:])
            if candidate in self.hosts:
                return candidate, self.hosts[candidate]
        return None

    def is_tracker_host(self, host: str) -> bool:
        return self.host_entry(host) is not None

    def match_url(self, url: str) -> TrackerMatch | None:
        """A request URL to a listed host, or to a listed host + path prefix (``www.facebook.com/tr``)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        entry = self.host_entry(host)
        if entry is not None:
            listed, (service, source) = entry
            return TrackerMatch(service, listed, host, source)
        path = parts.path or "/"
        for rule_host, prefix, service, source in self.host_paths:
            if host == rule_host and (path == prefix.rstrip("/") or path.startswith(prefix)):
                return TrackerMatch(service, f"{rule_host}{prefix}", f"{host}{path}", source)
        return None

    def third_party_hosts(self) -> list[str]:
        """Every host a rule names (listed hosts and the hosts of host/path rules), for the CSP check."""
        return sorted({*self.hosts, *(rule[0] for rule in self.host_paths)})

    # -- first-party paths -------------------------------------------------

    def match_first_party(self, paths: Iterable[str]) -> list[TrackerMatch]:
        """Self-hosted analytics among the paths requested from the portal's own hosts."""
        seen = sorted({path or "/" for path in paths})
        found: list[TrackerMatch] = []
        for rule in self.first_party:
            for pattern in rule.any_of:
                hits = [path for path in seen if fnmatchcase(path, pattern)]
                if hits:
                    found.append(TrackerMatch(rule.service, pattern, hits[0], rule.source))
            if rule.all_of:
                first = (rule.all_of[0], *rule.variants)
                hits_per = [[p for p in seen if any(fnmatchcase(p, pat) for pat in first)]] + [
                    [p for p in seen if fnmatchcase(p, pattern)] for pattern in rule.all_of[1:]
                ]
                if all(hits_per):
                    found.append(
                        TrackerMatch(
                            rule.service, " + ".join(rule.all_of), " + ".join(h[0] for h in hits_per), rule.source
                        )
                    )
        return found

    # -- storage -----------------------------------------------------------

    def match_storage_key(self, key: str) -> TrackerMatch | None:
        """An analytics identifier among cookie names or Web Storage keys (``_ga``, ``ajs_anonymous_id``...)."""
        for pattern, service, source in self.storage:
            if fnmatchcase(key, pattern):
                return TrackerMatch(service, pattern, key, source)
        return None


# ---------------------------------------------------------------------------
# The built-in list


def _fail(where: str, problem: str) -> InputError:
    source, _, place = where.partition(": ")
    return InputError(source, place, problem)


def _texts(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(where, "expected a list of non-empty strings")
    return tuple(v.strip() for v in value)


def parse_builtin(raw: bytes, where: str = BUILTIN) -> TrackerList:
    """Read a list in the built-in JSON form; a malformed one is an :class:`InputError` naming the key path."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(where, f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _fail(where, "expected an object")
    for key in ("name", "version", "services"):
        if key not in doc:
            raise _fail(where, f"missing key {key!r}")
    hosts: dict[str, tuple[str, str]] = {}
    host_paths: list[tuple[str, str, str, str]] = []
    for index, entry in enumerate(doc["services"] if isinstance(doc["services"], list) else []):
        place = f"{where}: services[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("service"), str) or not entry.get("source"):
            raise _fail(place, "expected an object with service, source, hosts and paths")
        service, source = entry["service"], str(entry["source"])
        for number, host in enumerate(_texts(entry.get("hosts", []), f"{place}.hosts")):
            if host.lower() in hosts:
                raise _fail(f"{place}.hosts[{number}]", f"{host!r} is listed twice")
            hosts[host.lower()] = (service, source)
        for number, rule in enumerate(_texts(entry.get("paths", []), f"{place}.paths")):
            host, slash, path = rule.partition("/")
            if not slash or not host:
                raise _fail(f"{place}.paths[{number}]", f"{rule!r} is not host/path")
            host_paths.append((host.lower(), "/" + path, service, source))
    first_party = []
    for index, entry in enumerate(doc.get("firstParty", [])):
        place = f"{where}: firstParty[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("service"), str):
            raise _fail(place, "expected an object with service, source and any or all")
        first_party.append(
            FirstPartyRule(
                service=entry["service"],
                source=str(entry.get("source", "")),
                any_of=_texts(entry.get("any", []), f"{place}.any"),
                all_of=_texts(entry.get("all", []), f"{place}.all"),
                variants=_texts(entry.get("variants", []), f"{place}.variants"),
            )
        )
    storage = []
    for index, entry in enumerate(doc.get("storage", [])):
        place = f"{where}: storage[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("service"), str):
            raise _fail(place, "expected an object with service, source and keys")
        for key in _texts(entry.get("keys", []), f"{place}.keys"):
            storage.append((key, entry["service"], str(entry.get("source", ""))))
    info = ListInfo(str(doc["name"]), str(doc["version"]), hashlib.sha256(raw).hexdigest(), "built-in")
    return TrackerList((info,), MappingProxyType(hosts), tuple(host_paths), tuple(first_party), tuple(storage))


@functools.cache
def builtin_list() -> TrackerList:
    raw = resources.files("compliance_checks").joinpath(BUILTIN).read_bytes()
    return parse_builtin(raw)


# ---------------------------------------------------------------------------
# Filter lists in Adblock Plus syntax (EasyPrivacy)

# Options that keep a rule about the host itself; $domain=... restricts it to some sites, so it is skipped.
_NEUTRAL_OPTIONS = frozenset(
    {
        "third-party",
        "3p",
        "script",
        "image",
        "xmlhttprequest",
        "xhr",
        "ping",
        "beacon",
        "websocket",
        "subdocument",
        "other",
        "important",
        "all",
    }
)
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)+$")
_HEADER = re.compile(r"^!\s*(?P<key>[A-Za-z][A-Za-z \-]*?)\s*:\s*(?P<value>.*)$")


def parse_filter_list(raw: bytes, source: str) -> TrackerList:
    """The host rules of an Adblock Plus list; its ``! Title:`` and ``! Version:`` (or ``Last modified``) name it."""
    where = source
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(where, f"byte {exc.start}: not valid UTF-8") from None
    headers: dict[str, str] = {}
    hosts: dict[str, tuple[str, str]] = {}
    host_paths: list[tuple[str, str, str, str]] = []
    exceptions: set[str] = set()
    skipped = 0
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("["):
            continue
        if line.startswith("!"):
            header = _HEADER.match(line)
            if header and header["key"].lower() not in headers:
                headers[header["key"].lower()] = header["value"].strip()
            continue
        exception = line.startswith("@@")
        body = line[2:] if exception else line
        rule, _, options = body.partition("$")
        if not rule.startswith("||") or "##" in line or "#@#" in line:
            skipped += 1
            continue
        option_names = {option.strip().lstrip("~").lower() for option in options.split(",") if option.strip()}
        if options and not option_names <= _NEUTRAL_OPTIONS:
            skipped += 1
            continue
        target = rule[2:]
        host, slash, path = target.partition("/")
        host = host.rstrip("^").lower()
        if not _HOST.match(host) or "*" in path or "^" in path.rstrip("^"):
            skipped += 1
            continue
        if exception:
            if not slash:
                exceptions.add(host)
            continue
        if slash:
            host_paths.append((host, "/" + path.rstrip("^|"), "", ""))
        else:
            hosts[host] = ("", "")
    name = headers.get("title", "")
    if not name:
        raise _fail(where, "no '! Title:' header: not a filter list in Adblock Plus syntax")
    if not hosts and not host_paths:
        raise _fail(where, f"{name}: no host rule (||host^) found")
    version = headers.get("version") or headers.get("last modified") or "unversioned"
    for host in exceptions:
        hosts.pop(host, None)
    named = {host: (f"{name} rule ||{host}^", where) for host in hosts}
    paths = tuple((h, p, f"{name} rule ||{h}{p}", where) for h, p, _, _ in host_paths)
    info = ListInfo(name, version, hashlib.sha256(raw).hexdigest(), source)
    return TrackerList((info,), MappingProxyType(named), paths, skipped_rules=skipped)


def merge(first: TrackerList, second: TrackerList) -> TrackerList:
    """Both lists' rules; on a host both name, the first list's service and source stand."""
    return TrackerList(
        lists=first.lists + second.lists,
        hosts=MappingProxyType({**second.hosts, **first.hosts}),
        host_paths=first.host_paths + second.host_paths,
        first_party=first.first_party + second.first_party,
        storage=first.storage + second.storage,
        skipped_rules=first.skipped_rules + second.skipped_rules,
    )


# ---------------------------------------------------------------------------
# The user's cache and the list in use


def cache_dir() -> Path:
    """``$COMPLIANCE_CHECKS_CACHE_DIR``, else ``$XDG_CACHE_HOME/compliance-checks``, else ``~/.cache/compliance-checks``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "compliance-checks"


def load_cached(directory: Path | None = None) -> TrackerList | None:
    """The filter list stored by ``trackers update``, checked against its recorded sha256; None when there is none."""
    folder = directory or cache_dir()
    list_file, meta_file = folder / CACHE_LIST, folder / CACHE_META
    if not list_file.exists():
        return None
    try:
        raw = list_file.read_bytes()
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(str(meta_file), f"cannot read the cached list's record: {exc}") from None
    if not isinstance(meta, dict) or hashlib.sha256(raw).hexdigest() != meta.get("sha256"):
        # The bytes are not what was fetched: a decision on them could not be traced to a list version.
        raise _fail(str(list_file), "sha256 differs from the one recorded at download; run 'trackers update' again")
    return parse_filter_list(raw, str(meta.get("source") or list_file))


@functools.cache
def active_list() -> TrackerList:
    """The built-in list, merged with the user's cached filter list when there is one."""
    cached = load_cached()
    return builtin_list() if cached is None else merge(builtin_list(), cached)


def reset() -> None:
    """Forget the lists read so far (after an update, or a test that changes the cache directory)."""
    active_list.cache_clear()
    builtin_list.cache_clear()


def tracker_hosts() -> frozenset[str]:
    """Every listed host (each also stands for its subdomains)."""
    return frozenset(active_list().hosts)


def is_tracker(host: str) -> bool:
    """True for a listed host or any subdomain of one."""
    return active_list().is_tracker_host(host)


def list_evidence() -> list[dict[str, str]]:
    """Name, version, sha256 and source of each list in use: put it in the evidence of every tracker finding."""
    return active_list().evidence()


# ---------------------------------------------------------------------------
# compliance-checks trackers update|show


def fetch(location: str, *, timeout: float = 60) -> bytes:
    """The bytes at an http(s) URL or in a local file, at most :data:`MAX_LIST_BYTES`."""
    scheme = urlsplit(location).scheme.lower()
    if scheme in ("http", "https"):
        request = urllib.request.Request(location, headers={"User-Agent": "compliance-checks trackers update"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw: bytes = response.read(MAX_LIST_BYTES + 1)
        except OSError as exc:  # URLError, HTTPError, timeouts and TLS failures are OSErrors
            raise _fail(location, f"cannot download: {exc}") from None
    elif scheme in ("", "file"):
        path = Path(urlsplit(location).path if scheme == "file" else location)
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_LIST_BYTES + 1)
        except OSError as exc:
            raise _fail(location, f"cannot read: {exc.strerror or exc}") from None
    else:
        raise UsageError(f"trackers update --from: expected an http(s) URL or a file, got {location!r}")
    if len(raw) > MAX_LIST_BYTES:
        raise _fail(location, f"larger than {MAX_LIST_BYTES} bytes: not a filter list")
    return raw


def update(location: str, directory: Path | None = None) -> TrackerList:
    """Read a filter list, check it parses, and store it with its name, version, source and sha256."""
    raw = fetch(location)
    parsed = parse_filter_list(raw, location)
    folder = directory or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    info = parsed.lists[0]
    record = {**info.as_evidence(), "fetchedAt": datetime.now(UTC).replace(microsecond=0).isoformat()}
    for name, data in ((CACHE_LIST, raw), (CACHE_META, (json.dumps(record, indent=1) + "\n").encode())):
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, folder / name)  # atomic: a reader sees the old list or the new one
    reset()
    return parsed


def cmd_trackers(args: argparse.Namespace) -> int:
    directory = Path(args.cache_dir) if args.cache_dir else None
    if args.action == "update":
        parsed = update(args.source, directory)
        info = parsed.lists[0]
        print(
            f"Stored {info.name} {info.version} (sha256 {info.sha256}): {len(parsed.hosts)} host rules, "
            f"{len(parsed.host_paths)} host/path rules, {parsed.skipped_rules} other rules not used; "
            f"in {directory or cache_dir()}"
        )
        return 0
    cached = load_cached(directory)
    current = builtin_list() if cached is None else merge(builtin_list(), cached)
    for info in current.lists:
        print(f"{info.name}\t{info.version}\tsha256 {info.sha256}\t{info.source}")
    return 0


def add_cli(commands: Any) -> None:
    """Register ``trackers update --from URL|FILE`` and ``trackers show`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "trackers",
        help="update or show the tracker lists the probes match against",
        description=(
            "Store a maintained filter list (e.g. EasyPrivacy, " + EASYPRIVACY_URL + ") in the user cache, "
            "or show which lists are in use. The built-in list is always used too."
        ),
    )
    parser.add_argument("action", choices=("update", "show"))
    parser.add_argument("--from", dest="source", metavar="URL|FILE", default=EASYPRIVACY_URL)
    parser.add_argument("--cache-dir", metavar="DIR", help=f"default: ${CACHE_ENV} or ~/.cache/compliance-checks")
    parser.set_defaults(handler=cmd_trackers)


def requested_paths(urls: Sequence[str], own_hosts: Iterable[str]) -> list[str]:
    """The paths of the URLs whose host is one of ``own_hosts`` (input of :meth:`TrackerList.match_first_party`)."""
    own = {host.lower().rstrip(".") for host in own_hosts}
    return [urlsplit(url).path or "/" for url in urls if (urlsplit(url).hostname or "").lower() in own]


__all__ = [
    "ListInfo",
    "TrackerList",
    "TrackerMatch",
    "active_list",
    "add_cli",
    "builtin_list",
    "cache_dir",
    "is_tracker",
    "list_evidence",
    "load_cached",
    "merge",
    "parse_builtin",
    "parse_filter_list",
    "requested_paths",
    "reset",
    "tracker_hosts",
    "update",
]
