"""Microsoft Entra Conditional Access, evaluated over the whole space of sign-ins.

A sign-in is a point: who (user ID, group memberships, directory roles, guest or
member kind, home tenant), to what (the resource application), how (client app
type, device platform, device filter outcome, authentication flow), from where
(IP address, country by IP or by GPS, MFA trusted IPs) and at which risk (sign-in,
user, insider). Entra ID applies to a sign-in every ``enabled`` policy whose
conditions all match it (each condition: included and not excluded; an unset
condition matches everything) and the sign-in must satisfy the grant of every
applicable policy: ``block`` wins, and MFA is required exactly when some applicable
policy cannot be satisfied without it (``AND`` of its controls naming MFA, or ``OR``
whose every alternative is MFA). ``disabled`` and report-only
(``enabledForReportingButNotEnforced``) policies enforce nothing.

Sources (Graph v1.0 and Microsoft Learn, at the commits read):

* microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/resources/
  conditionalaccessconditionset.md (0713c450496046d1f357f9afae7a914ac6ab4277),
  conditionalaccessusers.md (015a1549ebade0c9d8abd35519b8b2a299b12e31),
  conditionalaccessapplications.md (00a4ab245c988b42ebca85ee2c0b880e8cdb66f9),
  conditionalaccessgrantcontrols.md (0f601cdc001dcd8ed481f945c6919969f4b92293),
  conditionalaccesslocations.md (00e146a92755a19260d07a735eee6e9df034f45f),
  conditionalaccessplatforms.md (0713c450496046d1f357f9afae7a914ac6ab4277),
  conditionalaccessguestsorexternalusers.md (181510bc448267261ab9a0496f79bf3c6b50934b),
  authenticationstrengthpolicy.md (09455a65abde17103c17fc70605c4c8553f01978);
  api-reference/v1.0/api/authenticationstrengthroot-list-policies.md
  (028b8e354879f1054adbd96bfa8d16fff4330811): the built-in strengths and their combinations.
* MicrosoftDocs/entra-docs docs/identity/conditional-access/
  concept-conditional-access-cloud-apps.md (031fba827ae45a7a8ecce71c694b00481ff8704d),
  concept-conditional-access-conditions.md (0358995965b03e866d4b22a25625f4c558f121b9),
  concept-assignment-network.md (0d3e3957286513482d6f4ba298e1a9972140f84d).

The space is infinite, but the policies only distinguish finitely many classes of
sign-ins: every distinct value they name per dimension, plus "any other". The
evaluator refines that partition lazily (a dimension is split only where a policy
that could decide the question is still undecided), and decides each cell. Every
value that could matter and cannot be known (unknown, secret, malformed, a named
location or a strength that is not in the inventory) makes the cells it touches
UNKNOWN, never good. ``brute_force`` decides every single point of a small
universe with a separate, direct reading of the policies: the property test
compares the two.
"""

from __future__ import annotations

import enum
import ipaddress
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue, fold
from infra import well_known

# --- the values of the space (with their sources) ------------------------------------------------------------------

# The app ID is kept once, with its source, in infra/data/well_known_ids.json.
AZURE_MANAGEMENT = well_known.app_id("Windows Azure Service Management API")
# Learn "Target resources" (concept-conditional-access-cloud-apps.md): the Windows Azure Service Management API
# covers Azure Resource Manager, the Azure portal, ...; Microsoft Admin Portals covers the Azure portal too. A sign-in
# to Azure management is therefore either through the portal (also an admin portal) or through another of its
# services (ARM from the CLI, PowerShell, ...): two values of the app dimension.
AZURE_MANAGEMENT_PORTAL = AZURE_MANAGEMENT + "#azure-portal"
OTHER = "(other)"
# Client app types a sign-in has (conditionalaccessconditionset.md: clientAppTypes; easSupported is a subset of
# exchangeActiveSync restricted to supported platforms, which the model does not split: it matches EAS "maybe").
CLIENT_APPS = ("browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other")
# conditionalaccessplatforms.md; a platform Conditional Access does not recognise is "other" (Learn conditions page:
# "configure a policy ... that includes any device and excludes supported device platforms" to reach those).
PLATFORMS = ("android", "iOS", "windows", "windowsPhone", "macOS", "linux", OTHER)
# riskLevel (conditionalaccessconditionset.md): low, medium, high, hidden, none.
RISK_LEVELS = ("none", "low", "medium", "high", "hidden")
INSIDER_RISK_LEVELS = ("none", "minor", "moderate", "elevated")
TRANSFER_METHODS = ("none", "deviceCodeFlow", "authenticationTransfer")
# conditionalaccessguestsorexternalusers.md: guestOrExternalUserTypes; "member" is the tenant's own member user.
GUEST_KINDS = (
    "internalGuest",
    "b2bCollaborationGuest",
    "b2bCollaborationMember",
    "b2bDirectConnectUser",
    "otherExternalUser",
    "serviceProvider",
)
USER_KINDS = ("member", *GUEST_KINDS)
BUILT_IN_CONTROLS_NOT_MFA = frozenset(
    c.lower()
    for c in ("compliantDevice", "domainJoinedDevice", "approvedApplication", "compliantApplication", "passwordChange")
)
# The built-in authentication strengths, every one requirementsSatisfied "mfa" (kept once, with their source, in
# infra/data/well_known_ids.json).
BUILT_IN_MFA_STRENGTHS = well_known.built_in_authentication_strength_ids()
# The combinations of the built-in "Multifactor authentication" strength (same example): what Entra counts as MFA.
MFA_COMBINATIONS = frozenset(
    ",".join(sorted(part.strip().lower() for part in combo.split(",")))
    for combo in (
        "windowsHelloForBusiness",
        "fido2",
        "x509CertificateMultiFactor",
        "deviceBasedPush",
        "temporaryAccessPassOneTime",
        "temporaryAccessPassMultiUse",
        "password,microsoftAuthenticatorPush",
        "password,softwareOath",
        "password,hardwareOath",
        "password,x509CertificateSingleFactor",
        "password,x509CertificateMultiFactor",
        "password,sms",
        "password,voice",
        "federatedMultiFactor",
        "microsoftAuthenticatorPush,federatedSingleFactor",
        "softwareOath,federatedSingleFactor",
        "hardwareOath,federatedSingleFactor",
        "sms,federatedSingleFactor",
        "voice,federatedSingleFactor",
    )
)
# Condition keys of conditionalAccessConditionSet the model knows ("times" and "deviceStates" are retired shapes that
# Graph still echoes as null; anything else set is a condition the model cannot judge: UNKNOWN).
_KNOWN_CONDITIONS = frozenset(
    {
        "users",
        "applications",
        "clientapplications",
        "clientapptypes",
        "devices",
        "locations",
        "platforms",
        "signinrisklevels",
        "userrisklevels",
        "serviceprincipalrisklevels",
        "insiderrisklevels",
        "authenticationflows",
        "times",
        "devicestates",
        "@odata.type",
    }
)

_SHOWN_LOCATIONS = 5  # named locations a cell description names at most
_SHOWN_PARTS = 8  # conditions a cell description names at most


def _first(items: list[str], separator: str) -> str:
    """The first _SHOWN_LOCATIONS items joined, and how many more there are."""
    shown = separator.join(items[:_SHOWN_LOCATIONS])
    return shown + (f"{separator}and {len(items) - _SHOWN_LOCATIONS} more" if len(items) > _SHOWN_LOCATIONS else "")


class Outcome(enum.StrEnum):
    """What the applicable policies demand of a sign-in."""

    BLOCK = "blocked"
    MFA = "MFA required"
    NONE = "no MFA"


class Status(enum.StrEnum):
    GOOD = "good"
    BAD = "bad"
    UNKNOWN = "unknown"


# --- formulas over the dimensions -----------------------------------------------------------------------------------
# ("in", dim, values) | ("and", items) | ("or", items) | ("not", item) | ("const", truth, reason)
# truth: True, False or None (cannot be known).
Formula = tuple[Any, ...]
TRUE: Formula = ("const", True, "")
FALSE: Formula = ("const", False, "")

_T, _F, _SPLIT, _UNK = 1, 0, 2, 3


def _unknown(reason: str) -> Formula:
    return ("const", None, reason)


def _in(dim: str, values: Iterable[Any]) -> Formula:
    return ("in", dim, frozenset(values))


def _and(*items: Formula) -> Formula:
    kept = [i for i in items if i != TRUE]
    if any(i == FALSE for i in kept):
        return FALSE
    return kept[0] if len(kept) == 1 else (("and", tuple(kept)) if kept else TRUE)


def _or(*items: Formula) -> Formula:
    kept = [i for i in items if i != FALSE]
    if any(i == TRUE for i in kept):
        return TRUE
    return kept[0] if len(kept) == 1 else (("or", tuple(kept)) if kept else FALSE)


def _not(item: Formula) -> Formula:
    if item[0] == "const":
        return item if item[1] is None else (FALSE if item[1] else TRUE)
    return ("not", item)


Cell = dict[str, frozenset[Any]]


def _eval(formula: Formula, cell: Cell, domains: Mapping[str, frozenset[Any]], split: list[Formula] | None) -> int:
    """True/False/undecided-until-split/unknowable of ``formula`` on every point of ``cell``."""
    kind = formula[0]
    if kind == "in":
        allowed = cell.get(formula[1])
        if allowed is None:
            allowed = domains[formula[1]]
        values = formula[2]
        if allowed <= values:
            return _T
        if allowed.isdisjoint(values):
            return _F
        if split is not None:
            split.append(formula)
        return _SPLIT
    if kind == "const":
        return _UNK if formula[1] is None else (_T if formula[1] else _F)
    if kind == "not":
        inner = _eval(formula[1], cell, domains, split)
        return _F if inner == _T else _T if inner == _F else inner
    # Every item is evaluated (no short cut): the atoms an undecided item offers for splitting are collected even
    # where a sibling decides, and the partition depends on them (``_eval_policy`` may stop early: see there).
    absorbing, neutral = (_F, _T) if kind == "and" else (_T, _F)
    absorbed = False
    result = neutral
    for item in formula[1]:
        value = _eval(item, cell, domains, split)
        if value == absorbing:
            absorbed = True
        elif value == _SPLIT:
            result = _SPLIT
        elif value != neutral and result == neutral:
            result = _UNK
    return absorbing if absorbed else result


def _eval_policy(formula: Formula, cell: Cell, domains: Mapping[str, frozenset[Any]], split: list[Formula]) -> int:
    """``_eval`` of a policy's whole condition. At the top, the atoms matter only if the answer is "split"; an item
    that decides the whole (false in an ``and``, true in an ``or``) ends the evaluation: same answer, less work."""
    kind = formula[0]
    if kind not in ("and", "or"):
        return _eval(formula, cell, domains, split)
    absorbing, neutral = (_F, _T) if kind == "and" else (_T, _F)
    result = neutral
    for item in formula[1]:
        value = _eval(item, cell, domains, split)
        if value == absorbing:
            return absorbing
        if value == _SPLIT:
            result = _SPLIT
        elif value != neutral and result == neutral:
            result = _UNK
    return result


def _reasons(formula: Formula) -> Iterator[str]:
    if formula[0] == "const" and formula[1] is None:
        yield formula[2]
    elif formula[0] in ("and", "or"):
        for item in formula[1]:
            yield from _reasons(item)
    elif formula[0] == "not":
        yield from _reasons(formula[1])


# --- reading values fail-closed -------------------------------------------------------------------------------------


class Unreadable(Exception):
    """A value the model cannot reason about (unknown, secret, malformed)."""


def _known(value: Any, what: str) -> Any:
    if value is UNKNOWN or isinstance(value, SecretValue):
        raise Unreadable(f"{what} is unknown")
    return value


def _absent(value: Any) -> bool:
    return value is MISSING or value is None or value in ([], "", {})


def _strings(value: Any, what: str) -> list[str]:
    """A list of strings; absent or null is the empty list."""
    value = _known(value, what)
    if value is MISSING or value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unreadable(f"{what} is not a list of strings ({value!r})")
    return [v.strip() for v in value]


def _flags(value: Any, what: str) -> list[str]:
    """A Graph multi-valued enum: a comma-separated string (also accepted as a list)."""
    value = _known(value, what)
    if value is MISSING or value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return _strings(value, what)


def _enum(values: Iterable[str], domain: Sequence[str], what: str, ignore: Iterable[str] = ()) -> set[str]:
    by_lower = {d.lower(): d for d in domain}
    skipped = {i.lower() for i in ignore}
    found: set[str] = set()
    for value in values:
        low = value.lower()
        if low in skipped:
            continue
        if low not in by_lower:
            raise Unreadable(f"{what}: {value!r} is not one of {', '.join(domain)}")
        found.add(by_lower[low])
    return found


def _get(body: Any, *keys: str) -> Any:
    """A folded body's value at lower-case keys: MISSING when absent, the blocking value when not an object."""
    current = body
    for key in keys:
        if current is UNKNOWN or isinstance(current, SecretValue):
            return current
        if current is MISSING or current is None:
            return MISSING
        if not isinstance(current, Mapping):
            return UNKNOWN
        current = current.get(key, MISSING)
    return current


# The properties of the objects the model reads (Graph v1.0 conditionalaccessusers.md, conditionalaccessapplications.md,
# conditionalaccessplatforms.md, conditionalaccesslocations.md, conditionalaccessgrantcontrols.md), lower case. Any
# other property set is one the model cannot judge -- an exclusion it would miss, or an alternative to MFA -- so it
# makes the object unknown. Pulumi's azuread provider writes some under its own names (its ConditionalAccessPolicy
# inputs: applications.filter, grantControls.authenticationStrengthPolicyId, termsOfUses): those are read as Graph's
# where the meaning is the same and are unknown otherwise.
_USERS_KEYS = frozenset(
    f"{side}{what}" for side in ("include", "exclude") for what in ("users", "groups", "roles", "guestsorexternalusers")
)
_APPLICATIONS_KEYS = frozenset(
    {
        "includeapplications",
        "excludeapplications",
        "applicationfilter",
        "includeuseractions",
        "includeauthenticationcontextclassreferences",
    }
)
_PLATFORMS_KEYS = frozenset({"includeplatforms", "excludeplatforms"})
# conditionalaccessguestsorexternalusers.md, conditionalaccessexternaltenants.md
_GUESTS_KEYS = frozenset({"guestorexternalusertypes", "externaltenants"})
_TENANTS_KEYS = frozenset({"membershipkind", "members"})
_LOCATIONS_KEYS = frozenset({"includelocations", "excludelocations"})
_GRANT_KEYS = frozenset(
    {
        "operator",
        "builtincontrols",
        "customauthenticationfactors",
        "termsofuse",
        "authenticationstrength",
        "termsofuses",
        "authenticationstrengthpolicyid",
    }
)


def _only(body: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    """Refuse a property the model does not know (OData annotations, which carry no meaning, aside)."""
    for key, value in body.items():
        if key not in known and "@" not in key and not _absent(value):
            raise Unreadable(f"{what}.{key} is not modelled")


# --- the tenant facts the policies refer to --------------------------------------------------------------------------


@dataclass(frozen=True)
class IpAtom:
    """A maximal set of addresses that lies in exactly the same IP named locations."""

    locations: frozenset[str]
    intervals: tuple[tuple[int, int, int], ...]  # (version, first, last)

    @property
    def size(self) -> int:
        return sum(last - first + 1 for _, first, last in self.intervals)

    def single_address(self) -> str | None:
        if self.size != 1:
            return None
        version, first, _ = self.intervals[0]
        return str(ipaddress.ip_address(first) if version == 4 else ipaddress.IPv6Address(first))


@dataclass
class NamedLocations:
    """IP and country named locations, and the IP atoms their ranges induce."""

    names: dict[str, str] = field(default_factory=dict)
    ip_ranges: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    countries: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)  # id -> (dimension, countries)
    trusted: dict[str, bool | None] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    atoms: list[IpAtom] = field(default_factory=list)

    @staticmethod
    def build(locations: Mapping[str, Mapping[str, Any]]) -> NamedLocations:
        found = NamedLocations()
        for raw_id, raw_body in locations.items():
            key = raw_id.lower()
            body = fold(raw_body)
            name = body.get("displayname")
            found.names[key] = name if isinstance(name, str) and name else raw_id
            try:
                found._read(key, body)
            except Unreadable as exc:
                found.unreadable[key] = f"named location {found.names[key]}: {exc}"
        found.atoms = _ip_atoms(found.ip_ranges)
        return found

    def _read(self, key: str, body: Mapping[str, Any]) -> None:
        ranges = _known(body.get("ipranges", MISSING), "its IP ranges")
        countries = _known(body.get("countriesandregions", MISSING), "its countries")
        if ranges is not MISSING:
            if not isinstance(ranges, list) or not ranges:
                raise Unreadable(f"its IP ranges are not a non-empty list ({ranges!r})")
            parsed: list[tuple[int, int, int]] = []
            for item in ranges:
                cidr = _known(_get(item, "cidraddress"), "an IP range")
                try:
                    network = ipaddress.ip_network(cidr, strict=False) if isinstance(cidr, str) else None
                except ValueError:
                    network = None
                if network is None:
                    raise Unreadable(f"IP range {cidr!r} is not a CIDR range")
                parsed.append((network.version, int(network.network_address), int(network.broadcast_address)))
            self.ip_ranges[key] = parsed
            trusted = body.get("istrusted", MISSING)
            # ipNamedLocation.isTrusted; absent says nothing either way: where trust matters, it is unknown.
            self.trusted[key] = trusted if isinstance(trusted, bool) else None
        elif countries is not MISSING:
            listed = _strings(countries, "its countries")
            method = _known(body.get("countrylookupmethod", MISSING), "its country lookup method")
            if method not in (MISSING, None, "clientIpAddress", "authenticatorAppGps"):
                raise Unreadable(f"country lookup method {method!r} is not clientIpAddress or authenticatorAppGps")
            dim = "gps" if method == "authenticatorAppGps" else "country"
            unknown = _known(
                body.get("includeunknowncountriesandregions", MISSING), "includeUnknownCountriesAndRegions"
            )
            if unknown not in (MISSING, None, True, False):
                raise Unreadable(f"includeUnknownCountriesAndRegions is {unknown!r}")
            values = {c.upper() for c in listed} | ({"(unknown)"} if unknown is True else set())
            self.countries[key] = (dim, frozenset(values))
        else:
            raise Unreadable("it has neither IP ranges nor countries")


def _ip_atoms(ranges: Mapping[str, list[tuple[int, int, int]]]) -> list[IpAtom]:
    """Sweep the ranges of every location, per IP version: the elementary intervals grouped by the set of
    locations that contain them."""
    by_signature: dict[frozenset[str], list[tuple[int, int, int]]] = {}
    for version, top in ((4, 2**32 - 1), (6, 2**128 - 1)):
        edges = {0, top + 1}
        for spans in ranges.values():
            for v, first, last in spans:
                if v == version:
                    edges.update((first, last + 1))
        points = sorted(edges)
        for first, nxt in itertools.pairwise(points):
            inside = frozenset(
                loc for loc, spans in ranges.items() if any(v == version and a <= first <= b for v, a, b in spans)
            )
            by_signature.setdefault(inside, []).append((version, first, nxt - 1))
    return [IpAtom(sig, tuple(spans)) for sig, spans in sorted(by_signature.items(), key=lambda kv: sorted(kv[0]))]


# --- the policies, compiled --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    name: str
    state: str  # enabled | off | unknown
    applies: Formula
    outcomes: frozenset[Outcome]  # what the grant may demand (one value when known)
    grant_note: str = ""


@dataclass
class Universe:
    """The finite domain of every dimension the policies (and the question) name."""

    domains: dict[str, frozenset[Any]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def add(self, dim: str, values: Iterable[Any]) -> None:
        self.domains[dim] = self.domains.get(dim, frozenset()) | frozenset(values)


@dataclass
class Model:
    """The policies of a tenant, compiled against its named locations and groups."""

    policies: list[Policy]
    raw: list[tuple[str, Mapping[str, Any]]]
    universe: Universe
    locations: NamedLocations
    members: dict[str, frozenset[str] | None]
    app_values: dict[str, tuple[str, ...]]

    # -- the partition --------------------------------------------------------------------------------------

    def cells(self, query: Cell, good: frozenset[Outcome]) -> list[CellResult]:
        """The partition of the sign-ins of ``query`` into cells of one status for ``good``, lazily refined."""
        candidates = [p for p in self.policies if p.state != "off" and p.outcomes & good]
        results: list[CellResult] = []
        self._refine(dict(query), candidates, good, results)
        return results

    def _refine(self, cell: Cell, candidates: list[Policy], good: frozenset[Outcome], out: list[CellResult]) -> None:
        domains = self.universe.domains
        open_: list[tuple[Policy, int, list[Formula]]] = []
        for policy in candidates:
            atoms: list[Formula] = []
            value = _eval_policy(policy.applies, cell, domains, atoms)
            if value == _F:
                continue
            if value == _T and policy.outcomes <= good and policy.state == "enabled":
                out.append(CellResult(cell, Status.GOOD, (policy.name,)))
                return
            open_.append((policy, value, atoms))
        if not open_:
            out.append(CellResult(cell, Status.BAD, ()))
            return
        splittable = [(p, atoms) for p, value, atoms in open_ if value == _SPLIT]
        if not splittable:
            reasons = []
            for policy, _value, _atoms in open_:
                why = (
                    sorted(set(_reasons(policy.applies)))
                    + ([policy.grant_note] if policy.grant_note else [])
                    + (["its state is unknown"] if policy.state == "unknown" else [])
                )
                reasons.append(f"{policy.name}: " + ("; ".join(why) or "may apply"))
            out.append(CellResult(cell, Status.UNKNOWN, tuple(reasons)))
            return
        counts = Counter(atom[1] for _p, atoms in splittable for atom in atoms)
        dim = max(counts, key=lambda d: (counts[d], d))
        sets = {atom[2] for _p, atoms in splittable for atom in atoms if atom[1] == dim}
        allowed = cell.get(dim, domains[dim])
        blocks: dict[tuple[bool, ...], set[Any]] = {}
        ordered = sorted(sets, key=lambda s: sorted(map(str, s)))
        for value in allowed:
            blocks.setdefault(tuple(value in s for s in ordered), set()).add(value)
        remaining = [p for p, _value, _atoms in open_]
        for block in sorted(blocks.values(), key=lambda b: sorted(map(str, b))):
            child = dict(cell)
            child[dim] = frozenset(block)
            self._refine(child, remaining, good, out)

    # -- the reference: every point, read directly from the policies ----------------------------------------

    def points(self, query: Cell) -> Iterator[dict[str, Any]]:
        dims = sorted(self.universe.domains)
        choices = [sorted(query.get(d, self.universe.domains[d]), key=str) for d in dims]
        for combo in itertools.product(*choices):
            yield dict(zip(dims, combo, strict=True))

    def brute_force(self, query: Cell, good: frozenset[Outcome]) -> list[tuple[dict[str, Any], Status]]:
        return [(point, self.point_status(point, good)) for point in self.points(query)]

    def point_status(self, point: Mapping[str, Any], good: frozenset[Outcome]) -> Status:
        maybe = False
        for name, body in self.raw:
            verdict = _reference_applies(name, body, point, self)
            if verdict is False:
                continue
            outcomes = _reference_outcomes(body)
            state = _reference_state(body)
            if state == "off" or not outcomes & good:
                continue
            if verdict is True and outcomes <= good and state == "enabled":
                return Status.GOOD
            maybe = True
        return Status.UNKNOWN if maybe else Status.BAD

    # -- words --------------------------------------------------------------------------------------------

    def describe(self, cell: Cell, query: Cell) -> str:
        parts = []
        for dim in sorted(cell):
            allowed = cell[dim]
            full = query.get(dim, self.universe.domains[dim])
            if allowed >= full:
                continue
            parts.append(self._describe_dim(dim, allowed, full))
        # Bounded like every evidence text: a cell of a large tenant may be cut by many groups and locations.
        if len(parts) > _SHOWN_PARTS:
            parts = [*parts[:_SHOWN_PARTS], f"and {len(parts) - _SHOWN_PARTS} more conditions"]
        return ", ".join(parts) or "every sign-in"

    def _describe_dim(self, dim: str, allowed: frozenset[Any], full: frozenset[Any]) -> str:
        label = self.universe.labels.get(dim, dim)
        if dim.startswith(("group:", "role:", "device:")) or dim == "mfaTrustedIp":
            return (label if True in allowed else "not " + label) if len(allowed) == 1 else label
        if dim == "ip":
            inside = [self._atom(i) for i in sorted(allowed)]
            outside = [self._atom(i) for i in sorted(full - allowed)]
            if len(outside) < len(inside):
                return "IP not " + _first(outside, " / ")
            return "IP " + _first(inside, " / ")
        shown = sorted(map(self._value, allowed))
        rest = sorted(map(self._value, full - allowed))
        if len(rest) < len(shown):
            return f"{label} not " + _first([repr(v) for v in rest], ", ")
        return f"{label} " + _first([repr(v) for v in shown], ", ")

    @staticmethod
    def _value(value: Any) -> str:
        if value == AZURE_MANAGEMENT:
            return "Azure management (ARM, CLI, PowerShell, ...)"
        if value == AZURE_MANAGEMENT_PORTAL:
            return "Azure management (Azure portal)"
        return str(value)

    def _atom(self, index: int) -> str:
        atom = self.locations.atoms[index]
        if not atom.locations:
            return "in no IP named location"
        names = [self.locations.names.get(loc, loc) for loc in sorted(atom.locations)]
        # Bounded: a description must not grow with the number of named locations in the tenant.
        shown = " and ".join(names[:_SHOWN_LOCATIONS])
        return f"in {shown}" + (f" and {len(names) - _SHOWN_LOCATIONS} more" if len(names) > _SHOWN_LOCATIONS else "")


@dataclass(frozen=True)
class CellResult:
    cell: Cell
    status: Status
    notes: tuple[str, ...]  # GOOD: the deciding policy; UNKNOWN: why each undecided policy cannot be judged


# --- compiling one policy -----------------------------------------------------------------------------------------


def _undisclosed(key: str) -> tuple[str, ...]:
    """The sentinel ``unknownFutureValue`` a platform list may hold, ignored only where that errs on the safe side.

    Graph returns an evolvable enum's members after the sentinel as ``unknownFutureValue`` unless asked with
    ``Prefer: include-unknown-enum-members`` (microsoft-graph-docs-contrib concepts/best-practices-concept.md,
    "Evolvable enums"); ``linux`` is such a member of conditionalAccessDevicePlatform (6 is the sentinel, 7 linux).
    In ``includePlatforms`` ignoring it narrows where the policy applies, which never makes a cell good; in
    ``excludePlatforms`` it would widen it: an exclusion of an undisclosed platform is unknown, not absent."""
    return ("unknownFutureValue",) if key.lower().startswith("include") else ()


class _Compiler:
    def __init__(
        self,
        locations: NamedLocations,
        members: Mapping[str, frozenset[str] | None],
        app_values: Mapping[str, tuple[str, ...]],
        universe: Universe,
    ) -> None:
        self.locations = locations
        self.members = members
        self.app_values = app_values
        self.universe = universe

    def policy(self, name: str, body: Mapping[str, Any]) -> Policy:
        state = _reference_state(body)
        conditions = body.get("conditions", MISSING)
        try:
            applies = self.conditions(conditions)
        except Unreadable as exc:
            applies = _unknown(str(exc))
        outcomes, note = _grant(body.get("grantcontrols", MISSING))
        return Policy(name, state, applies, outcomes, note)

    def conditions(self, conditions: Any) -> Formula:
        conditions = _known(conditions, "its conditions")
        if not isinstance(conditions, Mapping):
            raise Unreadable(f"its conditions are not an object ({conditions!r})")
        parts = []
        for key, value in conditions.items():
            if key not in _KNOWN_CONDITIONS and not _absent(value):
                parts.append(_unknown(f"condition {key} is not modelled"))
        for key, reader in (
            ("users", self.users),
            ("applications", self.applications),
            ("clientapptypes", self.client_apps),
            ("platforms", self.platforms),
            ("locations", self.location_condition),
            ("devices", self.devices),
            ("signinrisklevels", lambda v: self.risk("signInRisk", v, RISK_LEVELS)),
            ("userrisklevels", lambda v: self.risk("userRisk", v, RISK_LEVELS)),
            ("insiderrisklevels", lambda v: self.risk("insiderRisk", v, INSIDER_RISK_LEVELS)),
            ("authenticationflows", self.flows),
            ("serviceprincipalrisklevels", self.workload_only),
            ("times", self.retired),
            ("devicestates", self.retired),
        ):
            try:
                parts.append(reader(conditions.get(key, MISSING)))
            except Unreadable as exc:
                parts.append(_unknown(f"{key}: {exc}"))
        if _absent(conditions.get("users", MISSING)):
            # "Either users or clientApplications is required": without users it targets workload identities.
            client = conditions.get("clientapplications", MISSING)
            parts.append(FALSE if not _absent(client) else _unknown("it names neither users nor client applications"))
        elif not _absent(conditions.get("clientapplications", MISSING)):
            parts.append(_unknown("it names both users and client applications (workload identities)"))
        return _and(*parts)

    # users ----------------------------------------------------------------------------------------------------

    def users(self, value: Any) -> Formula:
        value = _known(value, "users")
        if _absent(value):
            return TRUE  # judged with clientApplications in ``conditions``
        if not isinstance(value, Mapping):
            raise Unreadable(f"not an object ({value!r})")
        _only(value, _USERS_KEYS, "users")
        include = self._principals(value, "include")
        exclude = self._principals(value, "exclude")
        return _and(include, _not(exclude))

    def _principals(self, users: Mapping[str, Any], side: str) -> Formula:
        parts: list[Formula] = []
        ids: set[str] = set()
        for item in _strings(users.get(f"{side}users", MISSING), f"{side}Users"):
            low = item.lower()
            if low == "all" and side == "include":
                parts.append(TRUE)
            elif low == "none" and side == "include":
                continue
            elif low == "guestsorexternalusers":
                self.universe.add("kind", USER_KINDS)
                parts.append(_in("kind", GUEST_KINDS))
            elif low in ("all", "none"):
                parts.append(_unknown(f"{side}Users names {item!r}"))
            else:
                ids.add(low)
        if ids:
            self.universe.add("user", ids)
            parts.append(_in("user", ids))
        for group in _strings(users.get(f"{side}groups", MISSING), f"{side}Groups"):
            parts.append(self.member_of(group.lower()))
        for role in _strings(users.get(f"{side}roles", MISSING), f"{side}Roles"):
            dim = "role:" + role.lower()
            self.universe.add(dim, (True, False))
            self.universe.labels[dim] = f"holding role {role.lower()}"
            parts.append(_in(dim, (True,)))
        guests = users.get(f"{side}guestsorexternalusers", MISSING)
        if not _absent(guests):
            try:
                parts.append(self.guests(guests, f"{side}GuestsOrExternalUsers"))
            except Unreadable as exc:
                parts.append(_unknown(str(exc)))
        return _or(*parts)

    def member_of(self, group: str) -> Formula:
        known = self.members.get(group)
        if known is not None:
            self.universe.add("user", known)
            return _in("user", known)
        dim = "group:" + group
        self.universe.add(dim, (True, False))
        self.universe.labels[dim] = f"member of group {group}"
        return _in(dim, (True,))

    def guests(self, value: Any, what: str) -> Formula:
        value = _known(value, what)
        if not isinstance(value, Mapping):
            raise Unreadable(f"{what} is not an object ({value!r})")
        _only(value, _GUESTS_KEYS, what)
        kinds = _enum(
            _flags(value.get("guestorexternalusertypes", MISSING), f"{what}.guestOrExternalUserTypes"),
            GUEST_KINDS,
            f"{what}.guestOrExternalUserTypes",
            ignore=("none",),
        )
        tenants = _known(value.get("externaltenants", MISSING), f"{what}.externalTenants")
        if _absent(tenants):
            tenant_rule = TRUE
        elif isinstance(tenants, Mapping):
            _only(tenants, _TENANTS_KEYS, f"{what}.externalTenants")
            kind = _known(tenants.get("membershipkind", MISSING), "externalTenants.membershipKind")
            if kind == "all":
                tenant_rule = TRUE
            elif kind == "enumerated":
                listed = {t.lower() for t in _strings(tenants.get("members", MISSING), "externalTenants.members")}
                self.universe.add("tenant", (OTHER, *listed))
                tenant_rule = _in("tenant", listed)
            else:
                raise Unreadable(f"externalTenants.membershipKind is {kind!r}")
        else:
            raise Unreadable(f"externalTenants is not an object ({tenants!r})")
        self.universe.add("kind", USER_KINDS)
        # An internal guest belongs to this tenant: external tenants do not narrow it.
        internal = _in("kind", kinds & {"internalGuest"})
        external = _and(_in("kind", kinds - {"internalGuest"}), tenant_rule)
        return _or(internal if kinds & {"internalGuest"} else FALSE, external if kinds - {"internalGuest"} else FALSE)

    # applications ---------------------------------------------------------------------------------------------

    def applications(self, value: Any) -> Formula:
        value = _known(value, "applications")
        if _absent(value):
            raise Unreadable("applications is required and absent")
        if not isinstance(value, Mapping):
            raise Unreadable(f"not an object ({value!r})")
        _only(value, _APPLICATIONS_KEYS, "applications")
        include = self._apps(_strings(value.get("includeapplications", MISSING), "includeApplications"), "include")
        exclude = self._apps(_strings(value.get("excludeapplications", MISSING), "excludeApplications"), "exclude")
        app_filter = value.get("applicationfilter", MISSING)
        if not _absent(app_filter):
            # A filter on custom security attributes of apps: the inventory does not hold those attributes.
            mode = _get(app_filter, "mode")
            guess = _unknown("its application filter reads app attributes the inventory does not hold")
            # conditionalaccessfilter.md: mode is include or exclude; any other value may be an exclusion.
            if mode != "include":
                exclude = _or(exclude, guess)
            if mode != "exclude":
                include = _or(include, guess)
        return _and(include, _not(exclude))

    def _apps(self, names: list[str], side: str) -> Formula:
        values: set[str] = set()
        office = FALSE
        for name in names:
            low = name.lower()
            if low == "all" and side == "include":
                return TRUE
            if low == "none":
                continue
            if low == "office365":
                # The Office 365 suite (Exchange, SharePoint, Teams, ...; Learn "Target resources") is a separate
                # grouping from the Windows Azure Service Management API; which other apps it holds is a list the
                # model does not keep: for any other app, membership is unknown.
                others = self.universe.domains.get("app", frozenset()) - {AZURE_MANAGEMENT, AZURE_MANAGEMENT_PORTAL}
                office = _and(_in("app", others), _unknown("whether the app is in the Office 365 suite is not known"))
                continue
            if low == "microsoftadminportals":
                values.add(AZURE_MANAGEMENT_PORTAL)  # "the Azure portal" is one of the admin portals (same page)
                continue
            values.update(self.app_values.get(low, (low,)))
        values &= self.universe.domains.get("app", frozenset())
        return _or(_in("app", values) if values else FALSE, office)

    # the narrowing conditions ---------------------------------------------------------------------------------

    def client_apps(self, value: Any) -> Formula:
        names = _strings(value, "clientAppTypes")
        lowered = {n.lower() for n in names}
        if not names or "all" in lowered:
            return TRUE  # "applies to all client app types even if the client apps condition isn't configured"
        found = _enum([n for n in names if n.lower() != "eassupported"], CLIENT_APPS, "clientAppTypes")
        self.universe.add("client", CLIENT_APPS)
        formula = _in("client", found)
        if "eassupported" in lowered:
            formula = _or(
                formula,
                _and(_in("client", ("exchangeActiveSync",)), _unknown("easSupported covers only some EAS platforms")),
            )
        return formula

    def platforms(self, value: Any) -> Formula:
        value = _known(value, "platforms")
        if _absent(value):
            return TRUE  # "The default is to apply to all device platforms."
        if not isinstance(value, Mapping):
            raise Unreadable(f"not an object ({value!r})")
        _only(value, _PLATFORMS_KEYS, "platforms")
        domain = [p for p in PLATFORMS if p != OTHER]

        def side(key: str, default_all: bool) -> frozenset[str]:
            names = _strings(value.get(key, MISSING), key)
            if not names:
                return frozenset(PLATFORMS) if default_all else frozenset()
            if any(n.lower() == "all" for n in names):
                return frozenset(PLATFORMS)
            return frozenset(_enum(names, domain, key, ignore=_undisclosed(key)))

        self.universe.add("platform", PLATFORMS)
        included = side("includeplatforms", True)
        excluded = side("excludeplatforms", False)
        if excluded and not _strings(value.get("includeplatforms", MISSING), "includePlatforms"):
            # conditionalaccessplatforms.md gives no default for an empty includePlatforms: beside exclusions,
            # "all" and "none" are both readings (like locations, see there).
            raise Unreadable("it excludes platforms but includes none")
        return _in("platform", included - excluded)

    def location_condition(self, value: Any) -> Formula:
        value = _known(value, "locations")
        if _absent(value):
            return TRUE  # "Conditional Access policies apply to all locations by default."
        if not isinstance(value, Mapping):
            raise Unreadable(f"not an object ({value!r})")
        _only(value, _LOCATIONS_KEYS, "locations")
        include_names = _strings(value.get("includelocations", MISSING), "includeLocations")
        exclude_names = _strings(value.get("excludelocations", MISSING), "excludeLocations")
        if not include_names and exclude_names:
            # conditionalaccesslocations.md does not say whether no included location beside exclusions means
            # "All" or nothing (every published policy names "All"): the two readings differ on every sign-in.
            raise Unreadable("it excludes locations but includes none")
        include = _or(*(self.location(n, "include") for n in include_names)) if include_names else TRUE
        exclude = _or(*(self.location(n, "exclude") for n in exclude_names))
        return _and(include, _not(exclude))

    def location(self, name: str, side: str) -> Formula:
        low = name.lower()
        if low == "all" and side == "include":
            return TRUE  # "any IP address on the internet"
        if low == "alltrusted":
            return self.trusted()
        if low in self.locations.unreadable:
            return _unknown(self.locations.unreadable[low])
        if low in self.locations.ip_ranges:
            self.universe.add("ip", range(len(self.locations.atoms)))
            return _in("ip", (i for i, atom in enumerate(self.locations.atoms) if low in atom.locations))
        if low in self.locations.countries:
            dim, countries = self.locations.countries[low]
            self.universe.add(dim, (OTHER, "(unknown)", *countries))
            return _in(dim, countries)
        return _unknown(f"named location {name} is not in the inventory")

    def trusted(self) -> Formula:
        """ "All trusted networks and locations": every location marked trusted, and the MFA trusted IPs if
        configured (concept-assignment-network.md) -- which the inventory does not hold: any address may be one."""
        self.universe.add("mfaTrustedIp", (True, False))
        self.universe.labels["mfaTrustedIp"] = "from an MFA trusted IP"
        parts = [_in("mfaTrustedIp", (True,))]
        if self.locations.trusted:
            self.universe.add("ip", range(len(self.locations.atoms)))
        for loc, flag in self.locations.trusted.items():
            atoms = [i for i, atom in enumerate(self.locations.atoms) if loc in atom.locations]
            if flag is True:
                parts.append(_in("ip", atoms))
            elif flag is None:
                parts.append(
                    _and(_in("ip", atoms), _unknown(f"whether {self.locations.names[loc]} is trusted is unknown"))
                )
        parts.extend(_unknown(why) for why in self.locations.unreadable.values())
        return _or(*parts)

    def devices(self, value: Any) -> Formula:
        value = _known(value, "devices")
        if _absent(value):
            return TRUE
        if not isinstance(value, Mapping):
            raise Unreadable(f"not an object ({value!r})")
        device_filter = _known(value.get("devicefilter", MISSING), "deviceFilter")
        if _absent(device_filter):
            if any(not _absent(v) for k, v in value.items() if k != "@odata.type"):
                raise Unreadable("only deviceFilter is modelled")
            return TRUE
        mode = _known(_get(device_filter, "mode"), "deviceFilter.mode")
        rule = _known(_get(device_filter, "rule"), "deviceFilter.rule")
        if mode not in ("include", "exclude") or not isinstance(rule, str) or not rule.strip():
            raise Unreadable(f"deviceFilter is not a mode and a rule ({device_filter!r})")
        # Whether a device matches a rule depends on the device: each distinct rule is a free yes/no of the sign-in.
        # The rule as written (outer blanks aside): whitespace inside a quoted value is part of the value, so two
        # rules that differ only there are different rules; rules that differ only in layout merely stay apart.
        dim = "device:" + rule.strip()
        self.universe.add(dim, (True, False))
        self.universe.labels[dim] = f"device matching {rule.strip()!r}"
        return _in(dim, (mode == "include",))

    def risk(self, dim: str, value: Any, domain: Sequence[str]) -> Formula:
        names = _flags(value, dim)
        if not names:
            return TRUE
        self.universe.add(dim, domain)
        return _in(dim, _enum(names, domain, dim, ignore=("unknownFutureValue",)))

    def flows(self, value: Any) -> Formula:
        value = _known(value, "authenticationFlows")
        if _absent(value):
            return TRUE
        methods = _flags(_get(value, "transfermethods"), "authenticationFlows.transferMethods")
        if not methods:
            return TRUE
        self.universe.add("flow", TRANSFER_METHODS)
        return _in("flow", _enum(methods, TRANSFER_METHODS, "transferMethods", ignore=("none", "unknownFutureValue")))

    def workload_only(self, value: Any) -> Formula:
        if _absent(_known(value, "servicePrincipalRiskLevels")):
            return TRUE
        raise Unreadable("service principal risk applies to workload identities, which the model does not judge")

    def retired(self, value: Any) -> Formula:
        if _absent(_known(value, "a retired condition")):
            return TRUE
        raise Unreadable(f"a retired condition is set ({value!r})")


def _grant(grant: Any) -> tuple[frozenset[Outcome], str]:
    """What a policy's grant controls may demand: one outcome when known, several when not (with the reason)."""
    everything = frozenset(Outcome)
    try:
        grant = _known(grant, "grantControls")
        if _absent(grant):
            return frozenset({Outcome.NONE}), ""  # session controls only: nothing to satisfy
        if not isinstance(grant, Mapping):
            raise Unreadable(f"grantControls is not an object ({grant!r})")
        _only(grant, _GRANT_KEYS, "grantControls")
        controls = [c.lower() for c in _strings(grant.get("builtincontrols", MISSING), "builtInControls")]
        operator = _known(grant.get("operator", MISSING), "operator")
        elements: list[frozenset[Outcome]] = []
        for control in controls:
            if control == "block":
                continue
            if control == "mfa":
                elements.append(frozenset({Outcome.MFA}))
            elif control in BUILT_IN_CONTROLS_NOT_MFA:
                elements.append(frozenset({Outcome.NONE}))
            else:
                elements.append(frozenset({Outcome.MFA, Outcome.NONE}))  # a control the model does not know
        for key in ("customauthenticationfactors", "termsofuse", "termsofuses"):
            elements.extend(frozenset({Outcome.NONE}) for _ in _strings(grant.get(key, MISSING), key))
        strength = grant.get("authenticationstrength", MISSING)
        if not _absent(strength):
            elements.append(_strength(strength))
        strength_id = _known(grant.get("authenticationstrengthpolicyid", MISSING), "authenticationStrengthPolicyId")
        if not _absent(strength_id):
            # azuread names the strength by its ID only: what the ID stands for is read like Graph's {"id": ...}.
            elements.append(_strength({"id": strength_id}))
        if "block" in controls:
            if not elements or str(operator).upper() == "AND":
                return frozenset({Outcome.BLOCK}), ""
            return everything, "block offered as one alternative among others"
        if not elements:
            return frozenset({Outcome.NONE}), ""
        if len(elements) == 1:
            return elements[0], ("" if len(elements[0]) == 1 else "a grant control it cannot judge")
        op = str(operator).upper() if isinstance(operator, str) else ""
        if op == "AND":
            if any(e == {Outcome.MFA} for e in elements):
                return frozenset({Outcome.MFA}), ""
            return frozenset().union(*elements), ""
        if op == "OR":
            if all(e == {Outcome.MFA} for e in elements):
                return frozenset({Outcome.MFA}), ""
            if any(e == {Outcome.NONE} for e in elements):
                return frozenset({Outcome.NONE}), ""
            return frozenset({Outcome.MFA, Outcome.NONE}), "a grant control it cannot judge"
        if all(e == {Outcome.MFA} for e in elements):
            return frozenset({Outcome.MFA}), ""
        return frozenset({Outcome.MFA, Outcome.NONE}), f"grant operator {operator!r} is not AND or OR"
    except Unreadable as exc:
        return everything, str(exc)


def _strength(value: Any) -> frozenset[Outcome]:
    """An authentication strength counts as MFA only if every combination it allows is multi-factor."""
    value = _known(value, "authenticationStrength")
    if not isinstance(value, Mapping):
        raise Unreadable(f"authenticationStrength is not an object ({value!r})")
    satisfied = value.get("requirementssatisfied", MISSING)
    combos = value.get("allowedcombinations", MISSING)
    # A combination outside MFA_COMBINATIONS lets a sign-in through without MFA whatever requirementsSatisfied
    # claims: the combinations are read first, so a body that says "mfa" beside a password-only combination is not
    # taken at its word.
    if isinstance(combos, list) and combos and all(isinstance(c, str) for c in combos):
        normal = {",".join(sorted(p.strip().lower() for p in c.split(","))) for c in combos}
        if not normal <= MFA_COMBINATIONS:
            return frozenset({Outcome.NONE})
        if not (isinstance(satisfied, str) and satisfied.lower() == "none"):
            return frozenset({Outcome.MFA})
    if isinstance(satisfied, str) and satisfied.lower() in ("mfa", "none"):
        # authenticationstrengthpolicy.md: "whether this authentication strength grants the MFA claim".
        return frozenset({Outcome.MFA if satisfied.lower() == "mfa" else Outcome.NONE})
    ident = value.get("id", MISSING)
    if isinstance(ident, str) and ident.lower() in BUILT_IN_MFA_STRENGTHS:
        return frozenset({Outcome.MFA})
    return frozenset({Outcome.MFA, Outcome.NONE})


def _reference_state(body: Mapping[str, Any]) -> str:
    state = body.get("state", MISSING)
    if not isinstance(state, str):
        return "unknown"
    low = state.lower()
    if low == "enabled":
        return "enabled"
    if low in ("disabled", "enabledforreportingbutnotenforced"):
        return "off"  # report-only evaluates but does not enforce (Learn concept-conditional-access-report-only)
    return "unknown"


def _reference_outcomes(body: Mapping[str, Any]) -> frozenset[Outcome]:
    return _grant(body.get("grantcontrols", MISSING))[0]


# --- the reference reading: one sign-in, straight from the policy body ----------------------------------------------
# Written apart from the compiler on purpose: the property test compares the partition with this, point by point.


def _reference_applies(name: str, body: Mapping[str, Any], point: Mapping[str, Any], model: Model) -> bool | None:
    """Whether the policy applies to one sign-in: True, False, or None when that cannot be known."""
    try:
        conditions = _known(body.get("conditions", MISSING), "conditions")
        if not isinstance(conditions, Mapping):
            return None
        verdicts: list[bool | None] = []
        for key, value in conditions.items():
            if key not in _KNOWN_CONDITIONS and not _absent(value):
                verdicts.append(None)
        users = conditions.get("users", MISSING)
        if _absent(users):
            verdicts.append(False if not _absent(conditions.get("clientapplications", MISSING)) else None)
        else:
            if not _absent(conditions.get("clientapplications", MISSING)):
                verdicts.append(None)
            verdicts.append(_safe(lambda: _ref_users(users, point, model)))
        verdicts.append(_safe(lambda: _ref_apps(conditions.get("applications", MISSING), point, model)))
        verdicts.append(_safe(lambda: _ref_clients(conditions.get("clientapptypes", MISSING), point)))
        verdicts.append(_safe(lambda: _ref_platforms(conditions.get("platforms", MISSING), point)))
        verdicts.append(_safe(lambda: _ref_locations(conditions.get("locations", MISSING), point, model)))
        verdicts.append(_safe(lambda: _ref_devices(conditions.get("devices", MISSING), point)))
        for key, dim, domain in (
            ("signinrisklevels", "signInRisk", RISK_LEVELS),
            ("userrisklevels", "userRisk", RISK_LEVELS),
            ("insiderrisklevels", "insiderRisk", INSIDER_RISK_LEVELS),
        ):
            verdicts.append(_ref_levels(conditions.get(key, MISSING), dim, domain, point))
        verdicts.append(_safe(lambda: _ref_flows(conditions.get("authenticationflows", MISSING), point)))
        for key in ("serviceprincipalrisklevels", "times", "devicestates"):
            value = conditions.get(key, MISSING)
            verdicts.append(True if _absent(value) else None)
    except Unreadable:
        return None
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _safe(read: Any) -> bool | None:
    try:
        result: bool | None = read()
    except Unreadable:
        return None
    return result


def _or3(values: Iterable[bool | None]) -> bool | None:
    seen = list(values)
    return True if True in seen else (None if None in seen else False)


def _ref_users(users: Any, point: Mapping[str, Any], model: Model) -> bool | None:
    users = _known(users, "users")
    if not isinstance(users, Mapping):
        return None
    _only(users, _USERS_KEYS, "users")

    def matches(side: str) -> bool | None:
        found: list[bool | None] = []
        for item in _strings(users.get(f"{side}users", MISSING), "users"):
            low = item.lower()
            if low == "all":
                found.append(True if side == "include" else None)
            elif low == "none":
                found.append(False if side == "include" else None)
            elif low == "guestsorexternalusers":
                found.append(point.get("kind", "member") != "member")
            else:
                found.append(point.get("user", OTHER) == low)
        for group in _strings(users.get(f"{side}groups", MISSING), "groups"):
            known = model.members.get(group.lower())
            if known is not None:
                found.append(point.get("user", OTHER) in known)
            else:
                found.append(point.get("group:" + group.lower(), False) is True)
        for role in _strings(users.get(f"{side}roles", MISSING), "roles"):
            found.append(point.get("role:" + role.lower(), False) is True)
        guests = users.get(f"{side}guestsorexternalusers", MISSING)
        if not _absent(guests):
            found.append(_safe(lambda: _ref_guest(guests, point)))
        return _or3(found)

    include, exclude = matches("include"), matches("exclude")
    if include is False or exclude is True:
        return False
    return True if include is True and exclude is False else None


def _ref_guest(value: Any, point: Mapping[str, Any]) -> bool:
    if not isinstance(value, Mapping):
        raise Unreadable("guests")
    _only(value, _GUESTS_KEYS, "guests")
    tenants_body = value.get("externaltenants", MISSING)
    if isinstance(tenants_body, Mapping):
        _only(tenants_body, _TENANTS_KEYS, "externalTenants")
    kinds = _enum(
        _flags(value.get("guestorexternalusertypes", MISSING), "types"), GUEST_KINDS, "types", ignore=("none",)
    )
    kind = point.get("kind", "member")
    if kind not in kinds:
        return False
    if kind == "internalGuest":
        return True
    tenants = value.get("externaltenants", MISSING)
    if _absent(tenants):
        return True
    if not isinstance(tenants, Mapping):
        raise Unreadable("tenants")
    membership = tenants.get("membershipkind", MISSING)
    if membership == "all":
        return True
    if membership == "enumerated":
        return point.get("tenant", OTHER) in {t.lower() for t in _strings(tenants.get("members", MISSING), "members")}
    raise Unreadable("membershipKind")


def _ref_apps(value: Any, point: Mapping[str, Any], model: Model) -> bool | None:
    value = _known(value, "applications")
    if not isinstance(value, Mapping):
        return None
    _only(value, _APPLICATIONS_KEYS, "applications")
    app = point.get("app", OTHER)

    def named(names: list[str], side: str) -> bool | None:
        found: list[bool | None] = []
        for name in names:
            low = name.lower()
            if low == "all":
                found.append(side == "include")
            elif low == "microsoftadminportals":
                found.append(app == AZURE_MANAGEMENT_PORTAL)
            elif low == "office365":
                found.append(False if app in (AZURE_MANAGEMENT, AZURE_MANAGEMENT_PORTAL) else None)
            elif low != "none":
                found.append(app in model.app_values.get(low, (low,)))
        return _or3(found)

    include = named(_strings(value.get("includeapplications", MISSING), "include"), "include")
    exclude = named(_strings(value.get("excludeapplications", MISSING), "exclude"), "exclude")
    app_filter = value.get("applicationfilter", MISSING)
    if not _absent(app_filter):
        mode = _get(app_filter, "mode")
        if mode != "include":
            exclude = _or3([exclude, None])
        if mode != "exclude":
            include = _or3([include, None])
    if include is False or exclude is True:
        return False
    return True if include is True and exclude is False else None


def _ref_clients(value: Any, point: Mapping[str, Any]) -> bool | None:
    names = [n.lower() for n in _strings(value, "clientAppTypes")]
    client = point.get("client")
    if not names or "all" in names:
        return True
    if client is None:
        return None
    if client.lower() in names:
        _enum([n for n in names if n != "eassupported"], CLIENT_APPS, "clientAppTypes")
        return True
    _enum([n for n in names if n != "eassupported"], CLIENT_APPS, "clientAppTypes")
    return None if ("eassupported" in names and client == "exchangeActiveSync") else False


def _ref_platforms(value: Any, point: Mapping[str, Any]) -> bool:
    value = _known(value, "platforms")
    if _absent(value):
        return True
    if not isinstance(value, Mapping):
        raise Unreadable("platforms")
    _only(value, _PLATFORMS_KEYS, "platforms")
    platform = point.get("platform")
    domain = [p for p in PLATFORMS if p != OTHER]

    def listed(key: str, empty_means_all: bool) -> bool:
        names = _strings(value.get(key, MISSING), key)
        if not names:
            return empty_means_all
        if any(n.lower() == "all" for n in names):
            return True
        return platform in _enum(names, domain, key, ignore=_undisclosed(key))

    if _strings(value.get("excludeplatforms", MISSING), "exclude") and not _strings(
        value.get("includeplatforms", MISSING), "include"
    ):
        raise Unreadable("it excludes platforms but includes none")
    return listed("includeplatforms", True) and not listed("excludeplatforms", False)


def _ref_locations(value: Any, point: Mapping[str, Any], model: Model) -> bool | None:
    value = _known(value, "locations")
    if _absent(value):
        return True
    if not isinstance(value, Mapping):
        return None
    _only(value, _LOCATIONS_KEYS, "locations")
    locations = model.locations
    atom = locations.atoms[point["ip"]] if "ip" in point else None

    def at(name: str, side: str) -> bool | None:
        low = name.lower()
        if low == "all":
            return True if side == "include" else None
        if low == "alltrusted":
            votes: list[bool | None] = [point.get("mfaTrustedIp") is True]
            for loc, flag in locations.trusted.items():
                inside = atom is not None and loc in atom.locations
                votes.append(inside if flag is True else (False if not inside or flag is False else None))
            votes.extend(None for _ in locations.unreadable)
            return _or3(votes)
        if low in locations.unreadable:
            return None
        if low in locations.ip_ranges:
            return atom is not None and low in atom.locations
        if low in locations.countries:
            dim, countries = locations.countries[low]
            return point.get(dim, OTHER) in countries
        return None

    names = _strings(value.get("includelocations", MISSING), "include")
    excluded = _strings(value.get("excludelocations", MISSING), "exclude")
    if not names and excluded:
        return None
    include = _or3(at(n, "include") for n in names) if names else True
    exclude = _or3(at(n, "exclude") for n in excluded)
    if include is False or exclude is True:
        return False
    return True if include is True and exclude is False else None


def _ref_devices(value: Any, point: Mapping[str, Any]) -> bool | None:
    value = _known(value, "devices")
    if _absent(value):
        return True
    if not isinstance(value, Mapping):
        return None
    device_filter = value.get("devicefilter", MISSING)
    if _absent(device_filter):
        return None if any(not _absent(v) for k, v in value.items() if k != "@odata.type") else True
    mode, rule = _get(device_filter, "mode"), _get(device_filter, "rule")
    if mode not in ("include", "exclude") or not isinstance(rule, str) or not rule.strip():
        return None
    matched = point.get("device:" + rule.strip())
    return matched is (mode == "include")


def _ref_levels(value: Any, dim: str, domain: Sequence[str], point: Mapping[str, Any]) -> bool | None:
    try:
        names = _flags(value, dim)
        if not names:
            return True
        return point.get(dim, "none") in _enum(names, domain, dim, ignore=("unknownFutureValue",))
    except Unreadable:
        return None


def _ref_flows(value: Any, point: Mapping[str, Any]) -> bool:
    value = _known(value, "authenticationFlows")
    if _absent(value):
        return True
    methods = _flags(_get(value, "transfermethods"), "transferMethods")
    if not methods:
        return True
    return point.get("flow", "none") in _enum(methods, TRANSFER_METHODS, "flow", ignore=("none", "unknownFutureValue"))


# --- building a model -----------------------------------------------------------------------------------------------


def app_values(app_id: str) -> tuple[str, ...]:
    """The values of the app dimension a sign-in to ``app_id`` takes."""
    low = app_id.lower()
    return (AZURE_MANAGEMENT, AZURE_MANAGEMENT_PORTAL) if low == AZURE_MANAGEMENT else (low,)


def build(
    policies: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    locations: Mapping[str, Mapping[str, Any]] | None = None,
    members: Mapping[str, Iterable[str] | None] | None = None,
    apps: Iterable[str] = (),
    users: Iterable[str] = (),
) -> Model:
    """Compile ``policies`` (name, Graph body) for sign-ins to ``apps``.

    ``locations``: named locations by ID (Graph bodies). ``members``: the user IDs of a group by group ID, where
    the inventory knows them all (None or absent: any user may be a member). ``users``: user IDs the question
    names (they get their own cell).
    """
    named = NamedLocations.build(locations or {})
    group_members = {
        g.lower(): (frozenset(m.lower() for m in ids) if ids is not None else None)
        for g, ids in (members or {}).items()
    }
    targets = {a.lower(): app_values(a) for a in apps}
    universe = Universe()
    # A dimension exists once a policy (or the question) names it: the others cannot tell sign-ins apart.
    universe.add("user", (OTHER, *(u.lower() for u in users)))
    universe.add("app", (OTHER, *(v for values in targets.values() for v in values)))
    universe.labels.update(
        {
            "user": "user",
            "app": "app",
            "kind": "user type",
            "tenant": "home tenant",
            "client": "client app",
            "platform": "platform",
            "country": "country (by IP)",
            "gps": "country (by GPS)",
            "signInRisk": "sign-in risk",
            "userRisk": "user risk",
            "insiderRisk": "insider risk",
            "flow": "authentication flow",
        }
    )
    compiler = _Compiler(named, group_members, targets, universe)
    folded = [(name, fold(body)) for name, body in policies]
    compiled = [compiler.policy(name, body) for name, body in folded]
    return Model(compiled, folded, universe, named, dict(group_members), targets)


def query(model: Model, *, app: str, group: str | None = None, user: str | None = None) -> Cell:
    """The sign-ins to ``app`` by the members of ``group`` (or by ``user``)."""
    cell: Cell = {"app": frozenset(model.app_values.get(app.lower(), app_values(app)))}
    if user is not None:
        cell["user"] = frozenset({user.lower()})
    if group is not None:
        known = model.members.get(group.lower())
        if known is not None:
            cell["user"] = cell.get("user", known) & known
        else:
            dim = "group:" + group.lower()
            model.universe.add(dim, (True, False))
            model.universe.labels.setdefault(dim, f"member of group {group.lower()}")
            cell[dim] = frozenset({True})
    return cell


# --- from an inventory ----------------------------------------------------------------------------------------------

POLICY_TYPE = "Microsoft.Graph/conditionalAccessPolicies"
LOCATION_TYPE = "Microsoft.Graph/namedLocations"
GROUP_TYPE = "Microsoft.Graph/groups"


def group_members(group: Resource) -> frozenset[str] | None:
    """The user IDs of a group when the inventory lists every member as a user; None when it does not (then any
    user may be a member: Entra groups change without a deployment, and nested groups are not expanded here)."""
    members = group.get("members")
    if not isinstance(members, list):
        return None
    found = set()
    for member in members:
        ident = member.get("id") if isinstance(member, Mapping) else None
        kind = member.get("@odata.type", "") if isinstance(member, Mapping) else ""
        if not isinstance(ident, str) or not ident or (isinstance(kind, str) and "user" not in kind.lower() and kind):
            return None
        found.add(ident.lower())
    return frozenset(found)


def from_inventory(inventory: Inventory, apps: Iterable[str], users: Iterable[str] = ()) -> Model:
    """The tenant's policies, named locations and groups as the inventory holds them."""
    policies = [(p.name, p.folded) for p in inventory.of_type(POLICY_TYPE)]
    locations = {str(loc.get("id")).lower(): loc.folded for loc in inventory.of_type(LOCATION_TYPE)}
    members = {str(g.get("id")).lower(): group_members(g) for g in inventory.of_type(GROUP_TYPE)}
    return build(policies, locations=locations, members=members, apps=apps, users=users)
