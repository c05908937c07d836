"""What a check is, and the declarative base most checks need.

A check is a pure function of the inventory and the audit parameters: it reads
nothing else, writes nothing and returns findings. Each lives in its own file
under ``compliance_checks/checks/``; its ID is the file name and its metadata
sits beside the logic.

Fail closed: a value that is missing or unknown never passes, and a check that
finds nothing to look at says ERROR ("nothing verified"), not PASS.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from compliance_checks.findings import Evidence, Finding, Severity, Verdict, worst
from compliance_checks.inventory import (
    MISSING,
    UNKNOWN,
    Inventory,
    Resource,
    SecretValue,
    compile_path,
    is_arm_id,
    lookup,
    member,
    type_of_id,
)
from infra.config import EU_REGION_PAIRS

# The EU regions whose backup pair is in the EU too: one table, shared with the infra config.
EU_LOCATIONS = frozenset(EU_REGION_PAIRS)


@dataclass(frozen=True)
class Params:
    """Audit parameters. The defaults are the privacy policy's; the policy pack may override them."""

    allowed_locations: frozenset[str] = EU_LOCATIONS
    min_tls_version: str = "1.2"
    max_log_retention_days: int = 90
    database_port: int = 5432


class Domain:
    """The values a declared read may take in a valid Azure configuration.

    The base accepts any known, non-secret value; subclasses narrow it. A value
    outside its domain -- unknown, secret, of the wrong type, an enumeration
    member Azure does not define -- is not something a check can reason about:
    the generic guard of ``Check.evaluate`` turns it into an ERROR finding.
    """

    def accepts(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return "a known value"


@dataclass(frozen=True)
class Text(Domain):
    """A non-empty string. ``free``: every text is a meaningful value the check judges (an app setting's
    name), so an unrecognised text is no out-of-range value (the mutation test does not treat it as one)."""

    free: bool = False

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value.strip() != ""

    def describe(self) -> str:
        return "a text"


@dataclass(frozen=True)
class Enum(Domain):
    """One of the values an API defines (compared case-insensitively, as ARM does)."""

    values: tuple[str, ...]
    source: str = ""  # where the enumeration is defined

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value.lower() in {v.lower() for v in self.values}

    def describe(self) -> str:
        return "one of " + ", ".join(self.values)


@dataclass(frozen=True)
class Integer(Domain):
    low: int
    high: int

    def accepts(self, value: Any) -> bool:
        if isinstance(value, float) and value.is_integer():  # Pulumi's wire format has only doubles: 90.0
            value = int(value)
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high

    def describe(self) -> str:
        return f"an integer from {self.low} to {self.high}"


@dataclass(frozen=True)
class Boolean(Domain):
    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class ListOf(Domain):
    """A list whose every element is in ``item``."""

    item: Domain = field(default_factory=Domain)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) and all(_known(v) and self.item.accepts(v) for v in value)

    def describe(self) -> str:
        return f"a list of {self.item.describe()}"


@dataclass(frozen=True)
class ArmId(Domain):
    """An ARM resource ID (of ``kind`` when given)."""

    kind: str = ""

    def accepts(self, value: Any) -> bool:
        if not is_arm_id(value):
            return False
        return not self.kind or type_of_id(value).lower() == self.kind.lower()

    def describe(self) -> str:
        return f"the ID of a {self.kind}" if self.kind else "an ARM resource ID"


@dataclass(frozen=True)
class Object(Domain):
    """A JSON object (with these keys set, when given)."""

    keys: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()  # at least one of these (the object's own fields) is present

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, Mapping):
            return False
        if not all(_known(value.get(k.lower())) and value.get(k.lower()) for k in self.keys):
            return False
        return not self.any_of or any(k.lower() in value for k in self.any_of)

    def describe(self) -> str:
        if self.any_of:
            return "an object with " + " or ".join(self.any_of)
        return "an object" + (f" with {', '.join(self.keys)}" if self.keys else "")


@dataclass(frozen=True)
class Matches(Domain):
    """A text matching a predicate (an address prefix, a port range, a GUID)."""

    test: Callable[[str], bool]
    what: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and self.test(value)

    def describe(self) -> str:
        return self.what


def _known(value: Any) -> bool:
    return value is not UNKNOWN and not isinstance(value, SecretValue)


@dataclass(frozen=True)
class Read:
    """One property a check decides on: ``path`` of every resource of ``type``.

    The declaration is data, not documentation: drift watches these paths, the
    policy pack reports them when unknown at preview, ``Check.evaluate`` gives
    ERROR for a value outside ``domain`` (unknown and secret always are), and the
    generic mutation test (tests/test_fail_closed.py) sets each to missing,
    null, unknown, secret, a wrong type and an out-of-range value and asserts
    the check never answers PASS for it. ``[*]`` stands for every element of a
    list. ``absent_ok``: missing or null is a valid, meaningful state (nothing
    excluded, no analytics key); otherwise the check itself must not PASS on it.
    ``required``: the API always returns the value (a Graph policy's ``state``,
    an NSG rule's ``access``), so missing or null is malformed input: ERROR.
    ``name``: only the resource of that name (one server parameter among many).
    ``type`` ``*``: every resource that has the path (``location``).
    """

    type: str
    path: str
    absent_ok: bool = False
    name: str = ""
    domain: Domain = field(default_factory=Domain)
    required: bool = False
    # Hashed once: the guard keys its memo by (read, resource), hundreds of thousands of times in a large estate.
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.type, self.path, self.absent_ok, self.name, self.domain, self.required)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def subjects(self, inventory: Inventory) -> list[Resource]:
        if self.type == "*":
            return [r for r in inventory.all() if r.get(self.path) is not MISSING]
        found = inventory.of_type(self.type)
        if self.name:
            found = [r for r in found if r.id_key.rsplit("/", 1)[-1] == self.name.lower()]
        return found

    def values(self, resource: Resource) -> list[tuple[str, Any]]:
        """Every (concrete path, value) the read covers on one resource (``[*]`` expanded)."""
        compiled = compile_path(self.path)
        if -1 not in compiled:
            return [(self.path, self._single(resource.folded, compiled))]
        out: list[tuple[str, Any]] = []

        def walk(value: Any, rest: tuple[str | int, ...], shown: str) -> None:
            if not rest or value is UNKNOWN or isinstance(value, SecretValue):
                out.append((shown, value))
                return
            head, tail = rest[0], rest[1:]
            if head == -1:
                if isinstance(value, list):
                    for index, item in enumerate(value):
                        walk(item, tail, f"{shown}[{index}]")
                elif value is not MISSING and value is not None:
                    out.append((shown, value))  # not a list: outside any domain
                return
            if isinstance(head, int):
                walk(lookup(value, (head,)), tail, f"{shown}[{head}]")
                return
            if value is MISSING or value is None:
                out.append((shown, MISSING))
                return
            if not isinstance(value, Mapping):
                out.append((shown, value))  # a scalar where an object belongs
                return
            walk(member(value, head), tail, f"{shown}.{head}" if shown else head)

        walk(resource.folded, compile_path(self.path), "")
        return out

    @staticmethod
    def _single(body: Any, compiled: tuple[str | int, ...]) -> Any:
        """The value at a path without ``[*]``: what blocks the way (unknown, secret, a scalar where an
        object belongs) is the value; an absent or null step is MISSING. (The fast case of ``values``.)"""
        current = body
        for part in compiled:
            if current is UNKNOWN or isinstance(current, SecretValue):
                return current
            if current is MISSING or current is None:
                return MISSING
            if isinstance(part, int):
                if not isinstance(current, list):
                    return current
                current = current[part] if 0 <= part < len(current) else MISSING
            elif isinstance(current, Mapping):
                current = member(current, part)
            else:
                return current
        return current

    def any_invalid(self, resource: Resource) -> bool:
        """Whether one of ``values(resource)`` is ``invalid``: the same walk, without building the paths.

        The guard asks this of every read of every subject; the paths are only needed for the few that fail.
        """
        compiled = compile_path(self.path)
        if -1 not in compiled:
            return self.invalid(self._single(resource.folded, compiled))
        invalid, end = self.invalid, len(compiled)

        def walk(value: Any, at: int) -> bool:
            if at == end or value is UNKNOWN or isinstance(value, SecretValue):
                return invalid(value)
            head = compiled[at]
            if head == -1:
                if isinstance(value, list):
                    return any(walk(item, at + 1) for item in value)
                return value is not MISSING and value is not None and invalid(value)
            if isinstance(head, int):
                return walk(lookup(value, (head,)), at + 1)
            if value is MISSING or value is None:
                return invalid(MISSING)
            if not isinstance(value, Mapping):
                return invalid(value)
            return walk(member(value, head), at + 1)

        return walk(resource.folded, 0)

    def invalid(self, value: Any) -> bool:
        """Whether a value found at the path cannot be reasoned about."""
        if value is MISSING or value is None:
            return self.required  # otherwise absence is the check's business (absent_ok, or FAIL)
        if not _known(value):
            return True
        return not self.domain.accepts(value)


@dataclass(frozen=True)
class CheckMeta:
    id: str
    title: str
    severity: Severity
    claims: tuple[str, ...]
    rationale: str
    remediation: str
    references: tuple[str, ...] = ()


SHOWN_ITEMS = 10
"""Names a message or an evidence value lists at most: a finding's size must not grow with the estate."""


def listed(items: Sequence[str], limit: int = SHOWN_ITEMS) -> str:
    """``a, b, c`` or, past ``limit``, the first ``limit`` and ``... and N more``: bounded, and says what it left out."""
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" ... and {len(items) - limit} more"


def bounded(items: Sequence[Any], limit: int = SHOWN_ITEMS) -> list[Any]:
    """At most ``limit`` items of a list shown as evidence, then one entry saying how many more there are."""
    return list(items) if len(items) <= limit else [*items[:limit], f"... and {len(items) - limit} more"]


def sentence(text: str) -> str:
    """First letter upper-case, the rest untouched (str.capitalize would turn "TLSv1.0" into "tlsv1.0")."""
    return (text[:1].upper() + text[1:] + ".") if text else text


class Check(ABC):
    """A check: metadata plus ``evaluate``. Subclasses implement ``run``."""

    meta: CheckMeta
    # The type a check judges resource by resource; none in the inventory is an ERROR, not a PASS.
    subject: ClassVar[str | None] = None

    # What the check decides on (see Read); checks written as code list them here.
    READS: ClassVar[tuple[Read, ...]] = ()

    # The layer of evidence the check judges (compliance_checks/layers.py): a configuration check judges the
    # declared or the deployed state, whichever the audited source holds; probe checks judge the observed one.
    layer: ClassVar[str] = "configuration"

    @property
    def id(self) -> str:
        return self.meta.id

    def reads(self) -> tuple[Read, ...]:
        """Every (type, path) this check decides on."""
        return self.READS

    def not_run(self, inventory: Inventory) -> str:
        """Why this audit cannot run the check and what would run it; empty when it can run.

        A configuration check always runs on a configuration source (no resource of its kind is its own
        ERROR); a probe check needs the probe's records (ProbeCheck).
        """
        return ""

    def evaluate(self, inventory: Inventory, params: Params) -> list[Finding]:
        findings = list(self.run(inventory, params))
        if not findings:
            # A check that produced nothing verified nothing.
            what = f"no {self.subject} in the inventory" if self.subject else "no finding was produced"
            findings = [self.error_nothing_found(what)]
        # The check may have said "cannot verify" for that resource itself: one ERROR per resource is enough.
        errored = {f.resource_id.lower() for f in findings if f.verdict == Verdict.ERROR}
        guarded = self.guard(inventory)
        # A PASS (or "not applicable") drawn from a value outside what Azure accepts is no verdict at all: the
        # guard's ERROR replaces it. A FAIL stays (the resource is broken whatever that value means).
        invalid = {g.resource_id.lower() for g in guarded}
        findings = [
            f
            for f in findings
            if not (f.verdict in (Verdict.PASS, Verdict.NOT_APPLICABLE) and f.resource_id.lower() in invalid)
        ]
        findings.extend(g for g in guarded if g.resource_id.lower() not in errored)
        return [_unless_maybe(finding, inventory) for finding in findings]

    def guard(self, inventory: Inventory) -> list[Finding]:
        """ERROR for every declared read whose value is unknown, secret or outside its domain.

        This is what makes failing closed a property of the design: a check's
        own logic never sees a value it could misread as good.
        """
        found: list[Finding] = []
        # Checks share reads (317 declared, 195 distinct): each (read, resource) is judged once per inventory.
        # Keyed by the resource object, not its ID: an input may hold two resources of one ID (each is judged),
        # and the inventory keeps every resource alive, so no object's id() is reused while the memo lives.
        judged: dict[tuple[Read, int], bool] = inventory.derived("guard.any_invalid", dict)
        for read in self.reads():
            for resource in read.subjects(inventory):
                key = (read, id(resource))
                some = judged.get(key)
                if some is None:
                    some = judged[key] = read.any_invalid(resource)
                if not some:
                    continue
                bad = [(path, value) for path, value in read.values(resource) if read.invalid(value)]
                if bad:
                    evidence = tuple(Evidence(path, value, read.domain.describe()) for path, value in bad)
                    shown = ", ".join(path for path, _ in bad)
                    found.append(
                        self.finding(resource, Verdict.ERROR, f"Cannot verify: {shown} not a valid value.", *evidence)
                    )
        return found

    def subjects(self, inventory: Inventory) -> list[Resource]:
        """The resources of ``subject`` (an empty list becomes the ERROR of ``evaluate``)."""
        if self.subject is None:
            raise TypeError(f"{self.meta.id}: subjects() needs a subject type")
        return inventory.of_type(self.subject)

    @abstractmethod
    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]: ...

    # -- helpers for subclasses -----------------------------------------------------------

    def finding(self, resource: Resource | None, verdict: Verdict, message: str, *evidence: Evidence) -> Finding:
        return Finding(
            check_id=self.meta.id,
            verdict=verdict,
            resource_id=resource.id if resource else "(inventory)",
            resource_type=resource.type if resource else "",
            message=message,
            evidence=tuple(evidence),
            source=resource.source if resource else "",
            observed_at=resource.observed_at if resource else "",
        )

    def error_nothing_found(self, what: str) -> Finding:
        return self.finding(None, Verdict.ERROR, f"Nothing to verify: {what}.")


def may_exist(resource: Resource) -> str:
    """Why a resource may or may not be deployed ('' when it is certain).

    An ARM resource under a ``condition`` that cannot be evaluated, or a copy
    loop of unknown count, carries an UNKNOWN marker in its body (sources/arm_template.py).
    """
    reasons = [key for key in ("condition", "copy") if resource.folded.get(key) is UNKNOWN]
    return " and ".join(f"its {key} cannot be evaluated" for key in reasons)


def _unless_maybe(finding: Finding, inventory: Inventory) -> Finding:
    """A verdict on a resource that may not exist is not a verdict: PASS and FAIL become ERROR."""
    if finding.verdict not in (Verdict.PASS, Verdict.FAIL) or not finding.resource_type:
        return finding
    resource = inventory.peek(finding.resource_id)
    why = may_exist(resource) if resource is not None else ""
    if not why:
        return finding
    return replace(
        finding,
        verdict=Verdict.ERROR,
        message=f"Cannot verify: the resource may or may not be deployed ({why}); it would be {finding.verdict}: "
        f"{finding.message}",
    )


# --- expectations ----------------------------------------------------------------------------


class Expect(ABC):
    """A condition on one observed value. ``describe`` is what reports show as 'expected'."""

    @abstractmethod
    def test(self, value: Any) -> bool: ...

    @abstractmethod
    def describe(self) -> str: ...


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


@dataclass(frozen=True)
class Equals(Expect):
    expected: Any

    def test(self, value: Any) -> bool:
        return _same(value, self.expected)

    def describe(self) -> str:
        return f"equals {self.expected!r}".replace("True", "true").replace("False", "false")


@dataclass(frozen=True)
class OneOf(Expect):
    options: tuple[Any, ...]

    def test(self, value: Any) -> bool:
        return any(_same(value, option) for option in self.options)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


# The TLS versions there are, in the spellings Azure's APIs use: "1.2" (App Service), "TLS1_2" (Key Vault,
# Storage), "TLSv1.2" (PostgreSQL), "TLSv1_2". Anything else -- "12", "1.2,1.0", "TLSv99" -- is no version.
_TLS_VERSION = re.compile(r"^\s*(?:tls\s*v?)?1(?:[._]([0-3]))?\s*$", re.IGNORECASE)


def version_tuple(text: str) -> tuple[int, ...] | None:
    """(1, minor) of a TLS version, or None for text that is not one."""
    found = _TLS_VERSION.match(text)
    if found is None:
        return None
    return (1, int(found.group(1) or 0))


@dataclass(frozen=True)
class VersionAtLeast(Expect):
    """A TLS version such as "1.2", "TLSv1.2" or "TLS1_2" at least as high as the floor."""

    floor: str

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        seen, floor = version_tuple(value), version_tuple(self.floor)
        return seen is not None and floor is not None and seen >= floor

    def describe(self) -> str:
        return f"TLS version {self.floor} or higher"


@dataclass(frozen=True)
class AtMost(Expect):
    limit: float

    def test(self, value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value <= self.limit

    def describe(self) -> str:
        return f"at most {self.limit:g}"


@dataclass(frozen=True)
class EmptyOrMissing(Expect):
    """Nothing configured (used where absence is the good state, e.g. no analytics key)."""

    def test(self, value: Any) -> bool:
        return value is MISSING or value in (None, "", [], {})

    def describe(self) -> str:
        return "not set"


# --- the declarative check ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    path: str
    expect: Expect | Callable[[Params], Expect]
    domain: Domain = field(default_factory=Domain)  # the values Azure accepts there (ERROR outside)

    def expectation(self, params: Params) -> Expect:
        return self.expect if isinstance(self.expect, Expect) else self.expect(params)


def judge(resource: Resource, rule: Rule, params: Params) -> tuple[Verdict, Evidence]:
    """One rule on one resource. Unknown -> ERROR; missing -> FAIL (unless the rule wants it absent)."""
    expect = rule.expectation(params)
    value = resource.get(compile_path(rule.path))
    evidence = Evidence(rule.path, value, expect.describe())
    if value is UNKNOWN:
        return Verdict.ERROR, evidence
    if isinstance(value, SecretValue):
        return Verdict.ERROR, evidence
    if value is MISSING and not isinstance(expect, EmptyOrMissing):
        return Verdict.FAIL, evidence
    return (Verdict.PASS if expect.test(value) else Verdict.FAIL), evidence


@dataclass(frozen=True)
class PropertyCheck(Check):
    """Every resource of ``resource_type`` must satisfy every rule ("property must equal / be one of").

    ``applies`` narrows the resources (others are NOT_APPLICABLE); with
    ``required`` (the default) an inventory without any such resource is an
    ERROR, because the promise then rests on nothing that was verified.
    """

    meta: CheckMeta
    resource_type: str
    rules: Sequence[Rule]
    required: bool = True
    applies: Callable[[Resource], bool] | None = field(default=None)
    # Types judged exactly like ``resource_type`` (deployment slots like their site).
    also_types: tuple[str, ...] = ()

    @property
    def resource_types(self) -> tuple[str, ...]:
        return (self.resource_type, *self.also_types)

    def reads(self) -> tuple[Read, ...]:
        return (
            tuple(
                Read(kind, rule.path, absent_ok=isinstance(rule.expect, EmptyOrMissing), domain=rule.domain)
                for kind in self.resource_types
                for rule in self.rules
            )
            + self.READS
        )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        resources = inventory.of_type(*self.resource_types)
        if not resources:
            if self.required:
                yield self.error_nothing_found(f"no {self.resource_type} in the inventory")
            else:
                yield self.finding(None, Verdict.NOT_APPLICABLE, f"No {self.resource_type} in the inventory.")
            return
        for resource in resources:
            if self.applies is not None and not self.applies(resource):
                yield self.finding(resource, Verdict.NOT_APPLICABLE, "Not in scope of this check.")
                continue
            results = [judge(resource, rule, params) for rule in self.rules]
            verdict = worst([v for v, _ in results])
            yield self.finding(resource, verdict, _message(verdict, results), *(e for _, e in results))


def _message(verdict: Verdict, results: list[tuple[Verdict, Evidence]]) -> str:
    if verdict == Verdict.PASS:
        return "All properties as required."
    bad = [e for v, e in results if v == verdict]
    from compliance_checks.render_values import show

    parts = [f"{e.path} is {show(e.observed)}, expected {e.expected}" for e in bad]
    prefix = "Cannot verify: " if verdict == Verdict.ERROR else ""
    return prefix + "; ".join(parts) + "."


@dataclass(frozen=True)
class IsSet(Expect):
    """Any non-empty value."""

    def test(self, value: Any) -> bool:
        return value is not MISSING and value not in (None, "", [], {})

    def describe(self) -> str:
        return "set"
