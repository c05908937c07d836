"""Attestations: evidence for organisational claims, which no configuration can show.

    attestations:
      - claim: REC-TAX-ADVISORS
        owner: "Data protection officer"
        date: 2026-03-01
        document: "evidence/dpa-2026-014.pdf"
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        expires: 2027-03-01

``document`` is the evidence reference: a file (a path relative to the
attestations file, or absolute) or a reference to a record kept elsewhere
(a contract number, a URL). ``sha256`` is the SHA-256 of the evidence as it was
signed. When ``document`` names a local file, the file is hashed on every run
and must still match, so evidence changed after the attestation cannot pass
unnoticed; a reference that looks like a path (no spaces, a ``/`` or a file
extension) but names no file is an error, not a reference to skip.

Only claims that require an attestation (the organisational ones) may be
attested. An attestation for a technical claim, which checks verify, is an
error rather than ignored: it would look like evidence that counts while it
does not. An unknown claim, a missing or empty field, an unknown key, a
malformed hash, the template's placeholders left in, an attestation dated in
the future or expiring before its date: each is a one-line
:class:`~compliance_checks.errors.InputError` naming the file and the key.

A claim without an attestation is MANUAL, one whose attestation has expired is
FAIL (:func:`compliance_checks.engine._claim_result`); neither is ever PASS.

:func:`render_template` writes the file to fill in, one entry per claim that
requires an attestation, from the catalogue (``compliance-checks attestations
template``; the copy in ``docs/attestations.example.yaml`` is tested to match).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from compliance_checks.errors import InputError
from compliance_checks.yaml_input import date_field, load_yaml_list, text_field

if TYPE_CHECKING:
    from compliance_checks.catalog import Catalog, Claim

FIELDS: Final = ("claim", "owner", "date", "document", "sha256", "expires")
"""Every entry needs each of these; ``note`` is the only other key allowed."""
OPTIONAL_FIELDS: Final = ("note",)
PLACEHOLDER: Final = "FILL-IN"
"""Values of the template start with this; a file that still holds one is refused."""
MAX_EVIDENCE_BYTES: Final = 1 << 30
"""An evidence file is a signed PDF or a scan; anything past 1 GiB is refused before it is hashed."""

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# A reference without spaces ending in ".pdf", ".docx", ".eml"...: a file name. "v1.2" is not (a digit follows the dot).
_FILE_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")


@dataclass(frozen=True)
class Attestation:
    claim: str
    owner: str
    date: dt.date
    document: str
    expires: dt.date
    sha256: str = ""
    # The local file ``document`` names, whose hash was checked against ``sha256``; None for an external reference.
    evidence_file: Path | None = None

    def status(self, today: dt.date) -> str:
        return "valid" if self.expires >= today else "expired"


def looks_like_path(reference: str) -> bool:
    """Whether an evidence reference names a file: no spaces, no URL scheme, and a ``/`` or a file extension."""
    if any(c.isspace() for c in reference) or _SCHEME.match(reference):
        return False
    return "/" in reference or "\\" in reference or bool(_FILE_EXTENSION.search(reference))


def _evidence_path(base: Path, reference: str) -> Path | None:
    """The local file an evidence reference names, or None when it names none (an external reference)."""
    candidate = Path(reference)
    with contextlib.suppress(RuntimeError):  # "~someone" with no such user: the name as written
        candidate = candidate.expanduser()
    candidate = candidate if candidate.is_absolute() else base / candidate
    try:
        os.stat(candidate)  # lstat would treat a link to the evidence as not the evidence
    except (OSError, ValueError):
        # Missing, unreadable, a name too long or with a NUL: a reference that reads as a path must be the
        # evidence (_hash_file says what is wrong with it); free text such as a contract number is not a file.
        return candidate if looks_like_path(reference) else None
    return candidate


def _hash_file(path: Path, source: str, place: str) -> str:
    """The SHA-256 of a regular file, streamed (a FIFO or a device is refused, never read)."""

    def refuse(problem: str) -> InputError:
        return InputError(source, place, f"the evidence file {str(path)!r} {problem}")

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise refuse("is not a regular file")
        if info.st_size > MAX_EVIDENCE_BYTES:
            raise refuse(f"is {info.st_size} bytes, over the limit of {MAX_EVIDENCE_BYTES} bytes")
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        digest, read = hashlib.sha256(), 0
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped for a FIFO since the stat
                raise refuse("is not a regular file")
            while block := handle.read(1 << 20):
                read += len(block)
                if read > MAX_EVIDENCE_BYTES:
                    raise refuse(f"is over the limit of {MAX_EVIDENCE_BYTES} bytes")
                digest.update(block)
    except FileNotFoundError:
        raise refuse("does not exist (a reference that looks like a path must name the evidence file)") from None
    except PermissionError:
        raise refuse("cannot be read (permission denied)") from None
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    except ValueError:  # a NUL byte in the name
        raise refuse("is not a usable file name") from None
    return digest.hexdigest()


def _sha256_field(source: str, place: str, item: dict[str, Any]) -> str:
    value = item.get("sha256")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(source, f"{place}.sha256", "is required and must not be empty")
    if not isinstance(value, str):  # YAML reads an unquoted all-digit hash as a number: leading zeros would be lost
        raise InputError(source, f"{place}.sha256", f"expected the hash as quoted text, got {type(value).__name__}")
    text = value.strip()
    if not _SHA256.fullmatch(text.lower()):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise InputError(source, f"{place}.sha256", f"{shown!r} is not a SHA-256 hash (64 hexadecimal digits)")
    return text.lower()


def _refuse_placeholders(source: str, place: str, item: dict[str, Any]) -> None:
    for key in FIELDS:
        value = item.get(key)
        if isinstance(value, str) and value.strip().startswith(PLACEHOLDER):
            raise InputError(
                source, f"{place}.{key}", f"still the template's placeholder {value.strip()!r}; fill it in"
            )


def load_attestations(path: Path, claims: Iterable[Claim], today: dt.date) -> dict[str, Attestation]:
    """The attestations of a YAML file, one per claim (the most recent when a claim has several).

    ``claims`` are the catalogue's claims: an attestation may name only one
    that requires an attestation.
    """
    source = str(path)
    base = Path(path).parent
    by_id = {claim.id: claim for claim in claims}
    found: dict[str, Attestation] = {}
    for index, item in enumerate(load_yaml_list(path, "attestations")):
        place = f"attestations[{index}]"
        unknown = sorted(str(key) for key in item if str(key) not in FIELDS + OPTIONAL_FIELDS)
        if unknown:
            raise InputError(
                source, f"{place}.{unknown[0]}", f"unknown key (expected {', '.join(FIELDS + OPTIONAL_FIELDS)})"
            )
        _refuse_placeholders(source, place, item)
        claim_id = text_field(source, place, item, "claim")
        claim = by_id.get(claim_id)
        if claim is None:
            raise InputError(source, f"{place}.claim", f"unknown claim {claim_id!r}")
        if not claim.attestation_required:
            raise InputError(
                source,
                f"{place}.claim",
                f"{claim_id} is a {claim.kind} claim that checks verify ({', '.join(claim.checks) or 'none'});"
                " an attestation cannot count for it, remove the entry",
            )
        attestation = Attestation(
            claim=claim_id,
            owner=text_field(source, place, item, "owner"),
            date=date_field(source, place, item, "date"),
            document=text_field(source, place, item, "document"),
            expires=date_field(source, place, item, "expires"),
        )
        if attestation.date > today:
            raise InputError(source, f"{place}.date", f"{attestation.date} is in the future")
        if attestation.expires < attestation.date:
            raise InputError(source, f"{place}.expires", "is before the attestation's date")
        attestation = replace(attestation, sha256=_sha256_field(source, place, item))
        evidence = _evidence_path(base, attestation.document)
        if evidence is not None:
            actual = _hash_file(evidence, source, f"{place}.document")
            if actual != attestation.sha256:
                raise InputError(
                    source,
                    f"{place}.sha256",
                    f"does not match the evidence file {str(evidence)!r}, whose SHA-256 is {actual}"
                    " (the evidence changed since it was attested, or the hash is wrong)",
                )
            attestation = replace(attestation, evidence_file=evidence)
        previous = found.get(claim_id)
        if previous is None or attestation.date > previous.date:
            found[claim_id] = attestation
    return found


# ---------------------------------------------------------------------------
# The template


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())


def render_template(catalog: Catalog) -> str:
    """The attestations file to fill in: one entry per claim that requires an attestation, in catalogue order."""
    lines = [
        "# Attestations for the organisational claims of the privacy policy (compliance-checks audit --attestations FILE).",
        "# Generated by `compliance-checks attestations template` from compliance_checks/catalog/claims.yaml:",
        "# one entry per claim that no configuration can show. Fill in every FILL-IN value; an entry that still",
        "# holds one is refused. Delete the entry of a claim you cannot attest yet: that claim stays MANUAL.",
        "#",
        "#   owner     who signs the statement (a role, e.g. Data protection officer)",
        "#   date      the day it was attested (not in the future)",
        "#   document  the evidence: a file (path relative to this file, or absolute) or a reference to a record",
        "#             kept elsewhere (contract number, URL). A file is hashed on every audit and must match sha256.",
        "#   sha256    SHA-256 of the evidence as signed, 64 hex digits in quotes (sha256sum FILE)",
        "#   expires   after this day the claim is FAIL (expired) until it is attested again",
        "#   note      optional free text",
        "#",
        "# An attestation for a technical claim (checks verify those) is an error, as is an unknown claim.",
        "attestations:",
    ]
    for claim in catalog.claims:
        if not claim.attestation_required:
            continue
        lines += [
            f"  # {claim.id}: {_comment(claim.title)}",
            f"  # Must show: {_comment(claim.attestation_evidence) or '(the catalogue says nothing more)'}",
            f"  - claim: {claim.id}",
            f"    owner: {_quoted(PLACEHOLDER + ': who signs')}",
            f"    date: {_quoted(PLACEHOLDER + ': YYYY-MM-DD')}",
            f"    document: {_quoted(PLACEHOLDER + ': evidence file or reference')}",
            f"    sha256: {_quoted(PLACEHOLDER + ': SHA-256 of the evidence')}",
            f"    expires: {_quoted(PLACEHOLDER + ': YYYY-MM-DD')}",
        ]
    return "\n".join(lines) + "\n"


def cmd_attestations(args: argparse.Namespace) -> int:
    from compliance_checks.catalog import load_catalog

    # The only action so far; argparse refuses any other.
    sys.stdout.write(render_template(load_catalog()))
    return 0


def add_cli(commands: Any) -> None:
    """Register ``attestations template`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "attestations",
        help="print the attestations file to fill in (one entry per organisational claim)",
        description=(
            "template: print a YAML file with one entry per claim that requires an attestation, generated from"
            " the claims catalogue; fill it in and pass it to `audit --attestations FILE`."
        ),
    )
    parser.add_argument("action", choices=("template",))
    parser.set_defaults(handler=cmd_attestations)


__all__ = [
    "FIELDS",
    "PLACEHOLDER",
    "Attestation",
    "add_cli",
    "load_attestations",
    "looks_like_path",
    "render_template",
]
