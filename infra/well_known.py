"""Well-known Azure and Microsoft Entra IDs, each kept once, with its source.

``infra/data/well_known_ids.json`` lists every built-in Azure role, first-party
(Microsoft) application, Azure VPN Client application, Microsoft Graph app role,
service tag and Pulumi sentinel the project uses, each with the Microsoft Learn
page or repository file (at a commit) it was copied from. Code asks here by
name instead of keeping its own copy of a GUID: a copy is how an invented
Reader role ID went unnoticed. ``tests/test_well_known_ids.py`` scans the
repository for role and app GUIDs that are not in the file, or that a line
pairs with the wrong name.

The file is read once, on first use, and validated as a whole: a malformed
entry, a missing source or a duplicate ID fails every lookup (fail closed).
Unknown names raise :class:`UnknownWellKnownName`, a :class:`LookupError`
that names the file and the known names.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, Literal

DATA_FILE: Final = "infra/data/well_known_ids.json"

BUILT_IN_ROLE: Final = "builtInRole"
FIRST_PARTY_APP: Final = "firstPartyApp"
AZURE_VPN_CLIENT_APP: Final = "azureVpnClientApp"
GRAPH_APP_ROLE: Final = "graphAppRole"
GRAPH_DEFAULT_APP_ROLE: Final = "graphDefaultAppRole"
SERVICE_TAG: Final = "serviceTag"
PULUMI_SENTINEL: Final = "pulumiSentinel"
BUILT_IN_AUTHENTICATION_STRENGTH: Final = "builtInAuthenticationStrength"
KINDS: Final = frozenset(
    {
        BUILT_IN_AUTHENTICATION_STRENGTH,
        BUILT_IN_ROLE,
        FIRST_PARTY_APP,
        AZURE_VPN_CLIENT_APP,
        GRAPH_APP_ROLE,
        GRAPH_DEFAULT_APP_ROLE,
        SERVICE_TAG,
        PULUMI_SENTINEL,
    }
)

Registration = Literal["Microsoft-registered", "Manually registered"]
REGISTRATIONS: Final[tuple[Registration, ...]] = ("Microsoft-registered", "Manually registered")

GUID: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_ENTRY_KEYS = frozenset({"kind", "name", "id", "source", "cloud", "registration", "note", "permissions"})
# A source is a page (url), a repository file at a commit, or a file of an installed package version.
_SOURCE_SHAPES: tuple[frozenset[str], ...] = (
    frozenset({"url"}),
    frozenset({"repo", "path", "commit"}),
    frozenset({"url", "repo", "path", "commit"}),
    frozenset({"package", "version", "path"}),
)


class WellKnownDataError(ValueError):
    """The data file is malformed: nothing in it is trusted."""


class UnknownWellKnownName(LookupError):
    """No entry of the asked kind has that name (deliberately not a KeyError: its message stays readable)."""


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    # Lower-case GUID; None only for service tags, which are names.
    id: str | None
    source: Mapping[str, str]
    # azureVpnClientApp only: project cloud name (Azure CLI spelling) -> the cloud as Microsoft's docs write it.
    cloud: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    registration: str | None = None
    note: str | None = None
    # builtInRole only, where the project judges what a role can do: its control-plane actions and
    # notActions exactly as the source's role definition JSON lists them.
    permissions: Permissions | None = None


@dataclass(frozen=True)
class Permissions:
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]


def _fail(index: int, message: str) -> WellKnownDataError:
    return WellKnownDataError(f"{DATA_FILE}, entry {index}: {message}")


def _text(raw: Mapping[str, Any], key: str, index: int) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise _fail(index, f"{key!r} must be a non-empty string without surrounding blanks")
    return value


def _source(raw: object, index: int) -> Mapping[str, str]:
    if not isinstance(raw, dict) or frozenset(raw) not in _SOURCE_SHAPES:
        shapes = " | ".join("+".join(sorted(shape)) for shape in _SOURCE_SHAPES)
        raise _fail(index, f"'source' must have exactly one of these key sets: {shapes}")
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            raise _fail(index, f"source {key!r} must be a non-empty string")
    if "url" in raw and not raw["url"].startswith("https://"):
        raise _fail(index, "source 'url' must be an https URL")
    if "commit" in raw and not _COMMIT.match(raw["commit"]):
        raise _fail(index, "source 'commit' must be a full 40-digit commit hash")
    return MappingProxyType(dict(raw))


def _entry(raw: object, index: int) -> Entry:
    if not isinstance(raw, dict):
        raise _fail(index, "not an object")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise _fail(index, f"unknown key(s) {', '.join(unknown)}")
    kind = _text(raw, "kind", index)
    if kind not in KINDS:
        raise _fail(index, f"kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
    name = _text(raw, "name", index)
    guid: str | None = None
    if kind == SERVICE_TAG:
        if "id" in raw:
            raise _fail(index, "a service tag is a name and has no 'id'")
    else:
        guid = _text(raw, "id", index)
        if not GUID.match(guid):
            raise _fail(index, f"id {guid!r} is not a lower-case GUID")
    cloud: Mapping[str, str] = MappingProxyType({})
    registration: str | None = None
    if kind == AZURE_VPN_CLIENT_APP:
        registration = _text(raw, "registration", index)
        if registration not in REGISTRATIONS:
            raise _fail(index, f"registration {registration!r} is not one of {', '.join(REGISTRATIONS)}")
        clouds = raw.get("cloud")
        if (
            not isinstance(clouds, dict)
            or not clouds
            or not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in clouds.items())
        ):
            raise _fail(index, "'cloud' must map project cloud names to Microsoft's names")
        cloud = MappingProxyType(dict(clouds))
    elif "cloud" in raw or "registration" in raw:
        raise _fail(index, "'cloud' and 'registration' belong to azureVpnClientApp entries only")
    note = _text(raw, "note", index) if "note" in raw else None
    permissions = _permissions(raw["permissions"], index) if "permissions" in raw else None
    if permissions is not None and kind != BUILT_IN_ROLE:
        raise _fail(index, "'permissions' belong to builtInRole entries only")
    return Entry(kind, name, guid, _source(raw.get("source"), index), cloud, registration, note, permissions)


def _permissions(raw: object, index: int) -> Permissions:
    if not isinstance(raw, dict) or set(raw) != {"actions", "notActions"}:
        raise _fail(index, "'permissions' must have exactly 'actions' and 'notActions'")
    lists = [raw["actions"], raw["notActions"]]
    if not all(isinstance(v, list) and all(isinstance(a, str) and a for a in v) for v in lists):
        raise _fail(index, "'permissions' actions and notActions must be lists of operation names")
    return Permissions(tuple(raw["actions"]), tuple(raw["notActions"]))


def parse(document: object) -> tuple[Entry, ...]:
    """Validate a whole data document (the file's parsed JSON); raises WellKnownDataError."""
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise WellKnownDataError(f"{DATA_FILE}: expected an object with an 'entries' list")
    found = tuple(_entry(raw, index) for index, raw in enumerate(document["entries"]))
    by_id: dict[str, Entry] = {}
    by_name: dict[tuple[str, str, tuple[str, ...]], Entry] = {}
    for index, entry in enumerate(found):
        if entry.id is not None:
            if entry.id in by_id:
                raise _fail(index, f"id {entry.id} already belongs to {by_id[entry.id].kind} {by_id[entry.id].name!r}")
            by_id[entry.id] = entry
        key = (entry.kind, entry.name, tuple(sorted(entry.cloud)))
        if key in by_name:
            raise _fail(index, f"a second {entry.kind} named {entry.name!r}")
        by_name[key] = entry
    clouds = [cloud for entry in found for cloud in entry.cloud if entry.registration == "Microsoft-registered"]
    if len(clouds) != len(set(clouds)):
        raise WellKnownDataError(f"{DATA_FILE}: a cloud has two Microsoft-registered Azure VPN Client apps")
    return found


@functools.cache
def entries() -> tuple[Entry, ...]:
    """All entries, read and validated once."""
    text = resources.files("infra").joinpath("data", "well_known_ids.json").read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise WellKnownDataError(f"{DATA_FILE}: not JSON ({error})") from None
    return parse(document)


@functools.cache
def _by_id() -> Mapping[str, Entry]:
    return MappingProxyType({entry.id: entry for entry in entries() if entry.id is not None})


def lookup(guid: str) -> Entry | None:
    """The entry whose ID this is (any case, surrounding blanks ignored), or None."""
    return _by_id().get(guid.strip().lower())


def _named(kind: str, name: str) -> Entry:
    candidates = [entry for entry in entries() if entry.kind == kind]
    for entry in candidates:
        if entry.name == name:
            return entry
    known = ", ".join(sorted({entry.name for entry in candidates}))
    raise UnknownWellKnownName(f"no {kind} named {name!r} in {DATA_FILE} (known: {known})")


def _guid_of(kind: str, name: str) -> str:
    guid = _named(kind, name).id
    assert guid is not None  # parse() gives every kind but serviceTag an ID
    return guid


def role_id(name: str) -> str:
    """Role definition ID (GUID) of the built-in Azure role, by its exact roleName, e.g. ``"Reader"``."""
    return _guid_of(BUILT_IN_ROLE, name)


def role_permissions(guid: str) -> Permissions | None:
    """Control-plane permissions of a built-in role, if the data file records them (else None)."""
    entry = lookup(guid)
    return entry.permissions if entry is not None and entry.kind == BUILT_IN_ROLE else None


def app_id(name: str) -> str:
    """Application (client) ID of a first-party Microsoft app, e.g. ``"Windows Azure Service Management API"``.

    The Azure VPN Client apps differ per cloud: see :func:`azure_vpn_client_app_ids`.
    """
    return _guid_of(FIRST_PARTY_APP, name)


def azure_vpn_client_app_ids(registration: Registration = "Microsoft-registered") -> Mapping[str, str]:
    """Cloud (``AzureCloud``, ``AzureUSGovernment``, ``AzureChinaCloud``) -> Azure VPN Client app ID.

    By default the Microsoft-registered app; ``"Manually registered"`` gives the previous "Azure VPN" apps.
    """
    if registration not in REGISTRATIONS:
        raise UnknownWellKnownName(f"no Azure VPN Client registration {registration!r} in {DATA_FILE}")
    ids: dict[str, str] = {}
    for entry in entries():
        if entry.kind == AZURE_VPN_CLIENT_APP and entry.registration == registration and entry.id is not None:
            ids.update(dict.fromkeys(entry.cloud, entry.id))
    return MappingProxyType(ids)


def graph_app_role_id(name: str) -> str:
    """ID of a Microsoft Graph application permission (app role), e.g. ``"Policy.Read.All"``."""
    return _guid_of(GRAPH_APP_ROLE, name)


def graph_default_app_role_id() -> str:
    """The appRoleId that assigns a principal to an app that declares no app roles."""
    (entry,) = (entry for entry in entries() if entry.kind == GRAPH_DEFAULT_APP_ROLE)
    assert entry.id is not None
    return entry.id


@functools.cache
def service_tags() -> frozenset[str]:
    """Names of the service tags the project uses, as Azure spells them (``VirtualNetwork``, ...)."""
    return frozenset(entry.name for entry in entries() if entry.kind == SERVICE_TAG)


@functools.cache
def pulumi_unknown_sentinels() -> frozenset[str]:
    """The values Pulumi puts where a value is unknown until apply (one per type)."""
    return frozenset(entry.id for entry in entries() if entry.kind == PULUMI_SENTINEL and entry.id is not None)


def built_in_authentication_strength_ids() -> frozenset[str]:
    """IDs of Entra's built-in authentication strengths (each one satisfies MFA, per its source)."""
    return frozenset(e.id for e in entries() if e.kind == BUILT_IN_AUTHENTICATION_STRENGTH and e.id is not None)
