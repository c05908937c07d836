"""Attestations: evidence for organisational claims, which no configuration can show.

    attestations:
      - claim: REC-TAX-ADVISORS
        owner: "Data protection officer"
        date: 2026-03-01
        document: "Data processing agreement with the tax advisors, ref. DPA-2026-014"
        expires: 2027-03-01

A claim without an attestation is MANUAL, one whose attestation has expired is
FAIL; neither is ever PASS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from compliance_checks.errors import InputError
from compliance_checks.yaml_input import date_field, load_yaml_list, text_field


@dataclass(frozen=True)
class Attestation:
    claim: str
    owner: str
    date: dt.date
    document: str
    expires: dt.date

    def status(self, today: dt.date) -> str:
        return "valid" if self.expires >= today else "expired"


def load_attestations(path: Path, known_claims: Iterable[str], today: dt.date) -> dict[str, Attestation]:
    source, known = str(path), set(known_claims)
    found: dict[str, Attestation] = {}
    for index, item in enumerate(load_yaml_list(path, "attestations")):
        place = f"attestations[{index}]"
        claim = text_field(source, place, item, "claim")
        if claim not in known:
            raise InputError(source, f"{place}.claim", f"unknown claim {claim!r}")
        attestation = Attestation(
            claim=claim,
            owner=text_field(source, place, item, "owner"),
            date=date_field(source, place, item, "date"),
            document=text_field(source, place, item, "document"),
            expires=date_field(source, place, item, "expires"),
        )
        if attestation.date > today:
            raise InputError(source, f"{place}.date", f"{attestation.date} is in the future")
        if attestation.expires < attestation.date:
            raise InputError(source, f"{place}.expires", "is before the attestation's date")
        previous = found.get(claim)
        if previous is None or attestation.date > previous.date:
            found[claim] = attestation
    return found
