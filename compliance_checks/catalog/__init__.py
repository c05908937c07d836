"""The claims catalogue: the privacy policy's promises as data.

``claims.yaml`` splits the policy into atomic claims (verbatim German and
English fragments, the controls that keep each claim true, whether an
attestation verifies it, and its place in GDPR, TDDDG, ISO/IEC 27001, BSI C5
and the CIS Azure benchmark); ``controls.yaml`` describes the controls. This
module reads and validates both. Nothing is read at import time; the default
catalogue is loaded once and cached.

Which checks verify a claim is declared once, beside each check: its
``CheckMeta.claims`` (``compliance_checks/checks/<id>.py``). The loader derives
``Claim.checks`` from the registered checks, so adding a check for an existing
claim touches the check and nothing here. A technical claim that no check names,
a check that names an unknown claim or none, and a ``checks:`` list in
``claims.yaml`` (a second declaration that could disagree) are errors.

An organisational claim rests on an attestation (what people do, which no
configuration shows). A probe check (``probe_*``, a check over what the running
portal shows a visitor) may name it too: the attestation and that observed
layer together decide the claim (a visitor's browser sending the IP address to
a host the policy does not list breaks the recipients claims whatever the back
office attests). Any other check naming an organisational claim is an error: a
configuration of the estate says nothing about what people do.

Every problem is a :class:`~compliance_checks.errors.CatalogError` whose message
is one line naming the file and the place, e.g.
``claims.yaml: claims[3].controls[1]: unknown control 'CTL-NOPE'``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from compliance_checks.errors import CatalogError, InputError
from compliance_checks.yaml_input import parse_yaml

CATALOG_DIR = Path(__file__).resolve().parent
CLAIMS_FILE = "claims.yaml"
CONTROLS_FILE = "controls.yaml"
POLICY_FILE = "privacy-policy.txt"

KINDS = ("technical", "organisational")
# Checks over what the running portal shows a visitor (compliance_checks/checks/probe_base.py) are named so.
PROBE_CHECK_PREFIX = "probe_"
LANGUAGES = ("de", "en")
FRAMEWORKS = ("gdpr", "tdddg", "iso27001", "bsi_c5", "cis_azure")
NON_PROMISE_KINDS = ("heading", "introduction", "scope", "identification", "link")
PROCESS_PREFIX = "process:"

_CLAIM_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")
_CONTROL_ID = re.compile(r"^CTL(?:-[A-Z0-9]+)+$")
_CHECK_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Control:
    """A measure that keeps one or more claims true."""

    id: str
    title: str
    description: str
    implemented_by: tuple[str, ...]

    @property
    def is_process(self) -> bool:
        """True when people, not repository code, implement the control."""
        return all(item.startswith(PROCESS_PREFIX) for item in self.implemented_by)

    @property
    def paths(self) -> tuple[str, ...]:
        """The repository paths among ``implemented_by``."""
        return tuple(item for item in self.implemented_by if not item.startswith(PROCESS_PREFIX))


@dataclass(frozen=True)
class Claim:
    """One atomic promise of the privacy policy."""

    id: str
    title: str
    kind: str  # "technical" | "organisational"
    text_de: tuple[str, ...]
    text_en: tuple[str, ...]
    controls: tuple[str, ...]
    # Derived from the checks' CheckMeta.claims (sorted by check ID), never read from claims.yaml.
    checks: tuple[str, ...]
    attestation_required: bool
    mappings: Mapping[str, tuple[str, ...]] = field(hash=False)
    attestation_evidence: str = ""

    def text(self, language: str) -> tuple[str, ...]:
        """The fragments in ``language`` ("de" or "en")."""
        if language == "de":
            return self.text_de
        if language == "en":
            return self.text_en
        raise ValueError(f"unknown language {language!r} (expected one of {', '.join(LANGUAGES)})")


@dataclass(frozen=True)
class NonPromise:
    """A sentence of the policy that makes no promise, and why."""

    language: str
    text: str
    kind: str
    reason: str


@dataclass(frozen=True)
class Catalog:
    claims: tuple[Claim, ...]
    controls: Mapping[str, Control] = field(hash=False)
    non_promises: tuple[NonPromise, ...]
    frameworks: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    directory: Path = CATALOG_DIR

    def claim(self, claim_id: str) -> Claim:
        for claim in self.claims:
            if claim.id == claim_id:
                return claim
        raise KeyError(f"unknown claim {claim_id!r}")

    def claims_for_check(self, check_id: str) -> list[Claim]:
        return [claim for claim in self.claims if check_id in claim.checks]

    def check_ids(self) -> list[str]:
        """Every check that verifies some claim, sorted."""
        return sorted({check for claim in self.claims for check in claim.checks})

    @property
    def policy_path(self) -> Path:
        """The vendored copy of the privacy policy next to the catalogue."""
        return self.directory / POLICY_FILE


def load_catalog(directory: Path | None = None, *, check_claims: Mapping[str, Sequence[str]] | None = None) -> Catalog:
    """Read and validate ``claims.yaml`` and ``controls.yaml`` from ``directory``.

    ``check_claims`` maps each check ID to the claims it names; by default the
    ``CheckMeta.claims`` of every registered check. Without ``directory`` and
    ``check_claims`` the catalogue shipped with this package is loaded (once;
    later calls return the same object).
    """
    if directory is None and check_claims is None:
        return _load_default()
    return _load(Path(directory) if directory is not None else CATALOG_DIR, check_claims)


@functools.cache
def _load_default() -> Catalog:
    return _load(CATALOG_DIR, None)


def registered_check_claims() -> dict[str, tuple[str, ...]]:
    """Check ID -> the claims its ``CheckMeta.claims`` names, for every registered check."""
    # Imported here: the check registry imports every check module, which the
    # catalogue's own users (policy text lint, attestations) do not need at import.
    from compliance_checks.checks import load_checks

    return {check_id: tuple(check.meta.claims) for check_id, check in load_checks().items()}


# ---------------------------------------------------------------------------
# Reading


def _read_yaml(path: Path) -> Any:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(f"{name}: file not found ({path})") from None
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{name}: byte {exc.start}: not valid UTF-8") from None
    except OSError as exc:
        raise CatalogError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        return parse_yaml(text, name)  # the shared reader: bounded depth and aliases, no duplicate keys
    except InputError as exc:
        raise CatalogError(str(exc)) from None


class _Reader:
    """Typed access to one parsed YAML document with one-line, located errors."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, place: str, problem: str) -> CatalogError:
        return CatalogError(f"{self.file}: {place}: {problem}" if place else f"{self.file}: {problem}")

    def mapping(
        self, value: Any, place: str, *, required: AbstractSet[str], optional: AbstractSet[str] = frozenset()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(place or "top level", f"expected a mapping, got {_type_name(value)}")
        keys = {str(key) for key in value}
        missing = sorted(required - keys)
        if missing:
            raise self.fail(place or "top level", f"missing key {missing[0]!r}")
        unknown = sorted(keys - required - optional)
        if unknown:
            where = f"{place}.{unknown[0]}" if place else unknown[0]
            raise self.fail(where, "unknown key")
        return {str(key): item for key, item in value.items()}

    def text(self, value: Any, place: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(place, f"expected a non-empty string, got {_type_name(value)}")
        return value.strip()

    def boolean(self, value: Any, place: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(place, f"expected true or false, got {_type_name(value)}")
        return value

    def texts(self, value: Any, place: str, *, allow_empty: bool = True, single_ok: bool = False) -> tuple[str, ...]:
        if single_ok and isinstance(value, str):
            value = [value]
        if value is None and allow_empty:
            return ()
        if not isinstance(value, list):
            raise self.fail(place, f"expected a list, got {_type_name(value)}")
        if not value and not allow_empty:
            raise self.fail(place, "expected at least one entry")
        items = tuple(self.text(item, f"{place}[{index}]") for index, item in enumerate(value))
        for index, item in enumerate(items):
            if item in items[:index]:
                raise self.fail(f"{place}[{index}]", f"duplicate entry {item!r}")
        return items


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _load(directory: Path, check_claims: Mapping[str, Sequence[str]] | None) -> Catalog:
    controls = _parse_controls(_read_yaml(directory / CONTROLS_FILE))
    claims, frameworks, non_promises = _parse_claims(_read_yaml(directory / CLAIMS_FILE), controls)
    by_claim = _checks_by_claim(
        registered_check_claims() if check_claims is None else check_claims, {claim.id for claim in claims}
    )
    claims = _with_checks(claims, by_claim)
    return Catalog(
        claims=claims,
        controls=MappingProxyType(controls),
        non_promises=non_promises,
        frameworks=MappingProxyType(frameworks),
        directory=directory,
    )


def _parse_controls(document: Any) -> dict[str, Control]:
    reader = _Reader(CONTROLS_FILE)
    top = reader.mapping(document, "", required={"controls"}, optional={"version"})
    entries = top["controls"]
    if not isinstance(entries, list) or not entries:
        raise reader.fail("controls", f"expected a non-empty list, got {_type_name(entries)}")
    controls: dict[str, Control] = {}
    for index, entry in enumerate(entries):
        place = f"controls[{index}]"
        item = reader.mapping(entry, place, required={"id", "title", "description", "implemented_by"})
        control_id = reader.text(item["id"], f"{place}.id")
        if not _CONTROL_ID.match(control_id):
            raise reader.fail(f"{place}.id", f"{control_id!r} is not a control ID like CTL-EU-REGION")
        if control_id in controls:
            raise reader.fail(f"{place}.id", f"duplicate control ID {control_id!r}")
        implemented_by = reader.texts(item["implemented_by"], f"{place}.implemented_by", allow_empty=False)
        for number, where in enumerate(implemented_by):
            if where.startswith(PROCESS_PREFIX):
                if not where[len(PROCESS_PREFIX) :].strip():
                    raise reader.fail(f"{place}.implemented_by[{number}]", "process without a description")
            elif where.startswith("/") or ".." in Path(where).parts or " " in where:
                raise reader.fail(
                    f"{place}.implemented_by[{number}]",
                    f"{where!r} is neither a repository-relative path nor 'process: ...'",
                )
        controls[control_id] = Control(
            id=control_id,
            title=reader.text(item["title"], f"{place}.title"),
            description=" ".join(reader.text(item["description"], f"{place}.description").split()),
            implemented_by=implemented_by,
        )
    return controls


def _check_file(check_id: str) -> str:
    return f"compliance_checks/checks/{check_id}.py"


def _checks_by_claim(check_claims: Mapping[str, Sequence[str]], claim_ids: AbstractSet[str]) -> dict[str, list[str]]:
    """Claim ID -> the IDs of the checks that name it, sorted; every name checked against the catalogue."""
    by_claim: dict[str, list[str]] = {}
    for check_id in sorted(check_claims):
        where = f"{_check_file(check_id)}: CheckMeta.claims"
        if not _CHECK_ID.match(check_id):
            raise CatalogError(f"{_check_file(check_id)}: {check_id!r} is not a check ID like webapp_https_only")
        named = tuple(check_claims[check_id])
        if not named:
            raise CatalogError(f"{where}: names no claim, so the check would verify nothing")
        for number, claim_id in enumerate(named):
            if claim_id not in claim_ids:
                raise CatalogError(f"{where}[{number}]: unknown claim {claim_id!r} (not in {CLAIMS_FILE})")
            if claim_id in named[:number]:
                raise CatalogError(f"{where}[{number}]: claim {claim_id!r} named twice")
            by_claim.setdefault(claim_id, []).append(check_id)
    return by_claim


def _with_checks(claims: Sequence[Claim], by_claim: Mapping[str, Sequence[str]]) -> tuple[Claim, ...]:
    """Each claim with the checks that name it.

    A technical claim needs a check; an organisational one needs an attestation
    (``_parse_claim``), so no claim is left that nothing would verify. Only probe
    checks may name an organisational claim (module docstring).
    """
    reader = _Reader(CLAIMS_FILE)
    result: list[Claim] = []
    for index, claim in enumerate(claims):
        checks = tuple(by_claim.get(claim.id, ()))
        place = f"claims[{index}]"
        if claim.kind == "organisational":
            for check_id in checks:
                if not check_id.startswith(PROBE_CHECK_PREFIX):
                    raise CatalogError(
                        f"{_check_file(check_id)}: CheckMeta.claims: organisational claim {claim.id} may be named "
                        f"only by a probe check ({PROBE_CHECK_PREFIX}*, what the running portal shows); its "
                        "attestation verifies it"
                    )
        if claim.kind == "technical" and not checks:
            raise reader.fail(
                place,
                f"technical claim {claim.id} is verified by no check "
                "(no check names it in its CheckMeta.claims, compliance_checks/checks/<id>.py)",
            )
        result.append(replace(claim, checks=checks))
    return tuple(result)


def _parse_claims(
    document: Any, controls: Mapping[str, Control]
) -> tuple[tuple[Claim, ...], dict[str, str], tuple[NonPromise, ...]]:
    reader = _Reader(CLAIMS_FILE)
    top = reader.mapping(
        document, "", required={"claims", "frameworks"}, optional={"version", "policy", "non_promises"}
    )

    frameworks_doc = reader.mapping(top["frameworks"], "frameworks", required=set(FRAMEWORKS))
    frameworks = {key: reader.text(frameworks_doc[key], f"frameworks.{key}") for key in FRAMEWORKS}

    entries = top["claims"]
    if not isinstance(entries, list) or not entries:
        raise reader.fail("claims", f"expected a non-empty list, got {_type_name(entries)}")
    claims: list[Claim] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        claim = _parse_claim(reader, entry, f"claims[{index}]", controls)
        if claim.id in seen:
            raise reader.fail(f"claims[{index}].id", f"duplicate claim ID {claim.id!r}")
        seen.add(claim.id)
        claims.append(claim)

    non_promises: list[NonPromise] = []
    raw = top.get("non_promises")
    if raw is not None and not isinstance(raw, list):
        raise reader.fail("non_promises", f"expected a list, got {_type_name(raw)}")
    for index, entry in enumerate(raw or []):
        place = f"non_promises[{index}]"
        item = reader.mapping(entry, place, required={"language", "text", "kind", "reason"})
        language = reader.text(item["language"], f"{place}.language")
        if language not in LANGUAGES:
            raise reader.fail(f"{place}.language", f"unknown language {language!r} (expected de or en)")
        kind = reader.text(item["kind"], f"{place}.kind")
        if kind not in NON_PROMISE_KINDS:
            raise reader.fail(
                f"{place}.kind", f"unknown kind {kind!r} (expected one of {', '.join(NON_PROMISE_KINDS)})"
            )
        non_promise = NonPromise(
            language=language,
            text=" ".join(reader.text(item["text"], f"{place}.text").split()),
            kind=kind,
            reason=reader.text(item["reason"], f"{place}.reason"),
        )
        if any(other.language == language and other.text == non_promise.text for other in non_promises):
            raise reader.fail(f"{place}.text", "listed twice")
        non_promises.append(non_promise)
    return tuple(claims), frameworks, tuple(non_promises)


def _parse_claim(reader: _Reader, entry: Any, place: str, controls: Mapping[str, Control]) -> Claim:
    if isinstance(entry, dict) and "checks" in entry:
        # The link claim -> check is declared once, by the check; a list here could disagree with it.
        raise reader.fail(
            f"{place}.checks",
            "checks are not listed in the catalogue: each check names its claims in its CheckMeta.claims "
            "(compliance_checks/checks/<id>.py)",
        )
    item = reader.mapping(
        entry,
        place,
        required={"id", "title", "kind", "text", "controls", "attestation", "mappings"},
    )
    claim_id = reader.text(item["id"], f"{place}.id")
    if not _CLAIM_ID.match(claim_id):
        raise reader.fail(f"{place}.id", f"{claim_id!r} is not a claim ID like SEC-TLS")
    kind = reader.text(item["kind"], f"{place}.kind")
    if kind not in KINDS:
        raise reader.fail(f"{place}.kind", f"unknown kind {kind!r} (expected technical or organisational)")

    text = reader.mapping(item["text"], f"{place}.text", required=set(LANGUAGES))
    text_de = reader.texts(text["de"], f"{place}.text.de", allow_empty=False, single_ok=True)
    text_en = reader.texts(text["en"], f"{place}.text.en", allow_empty=False, single_ok=True)

    claim_controls = reader.texts(item["controls"], f"{place}.controls")
    for number, control_id in enumerate(claim_controls):
        if control_id not in controls:
            raise reader.fail(f"{place}.controls[{number}]", f"unknown control {control_id!r} (not in {CONTROLS_FILE})")

    attestation = reader.mapping(
        item["attestation"], f"{place}.attestation", required={"required"}, optional={"evidence"}
    )
    required = reader.boolean(attestation["required"], f"{place}.attestation.required")
    evidence = attestation.get("evidence")
    evidence_text = reader.text(evidence, f"{place}.attestation.evidence") if evidence is not None else ""

    if kind == "organisational" and not required:
        raise reader.fail(
            f"{place}.attestation.required", f"organisational claim {claim_id} must require an attestation"
        )

    mappings_doc = reader.mapping(item["mappings"], f"{place}.mappings", required=set(FRAMEWORKS))
    mappings = {key: reader.texts(mappings_doc[key], f"{place}.mappings.{key}") for key in FRAMEWORKS}

    return Claim(
        id=claim_id,
        title=reader.text(item["title"], f"{place}.title"),
        kind=kind,
        text_de=text_de,
        text_en=text_en,
        controls=claim_controls,
        checks=(),  # filled in by _with_checks from the checks' own metadata
        attestation_required=required,
        mappings=MappingProxyType(mappings),
        attestation_evidence=evidence_text,
    )


__all__ = [
    "CATALOG_DIR",
    "FRAMEWORKS",
    "KINDS",
    "LANGUAGES",
    "Catalog",
    "Claim",
    "Control",
    "NonPromise",
    "load_catalog",
    "registered_check_claims",
]
