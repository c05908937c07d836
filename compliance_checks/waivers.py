"""Waivers: an accepted exception for one check on matching resources, justified and dated.

    waivers:
      - check: webapp_min_tls_version
        resource: "*/Microsoft.Web/sites/app-legacy"   # glob on the resource ID, case-insensitive
        justification: "Legacy client until migration, ticket SEC-123"
        expires: 2027-01-31
        owner: "IT security"

A waived finding keeps its verdict and stays visible in every report; it only
stops counting towards the exit code. An expired waiver no longer applies.

The same file records the organisation's decisions on the policy text: a
disagreement between the German and English texts is a finding on the document
(it fails the run with ``--fail-on-document``), and a ``document`` entry waives
it with the decision taken, until it expires:

    document:
      - claim: RIGHTS-COMPLAINT
        aspect: country            # optional: only this disagreement of the claim
        justification: "The German text is binding; the English text is corrected in the next edition."
        expires: 2027-03-31
        owner: "Data protection officer"

Either list may be absent, not both.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance_checks.errors import InputError
from compliance_checks.findings import Finding, Verdict, Waiver
from compliance_checks.yaml_input import date_field, mapping_items, read_yaml, text_field


@dataclass(frozen=True)
class WaiverRule:
    check: str
    resource: str
    justification: str
    expires: dt.date
    owner: str

    def matches(self, finding: Finding) -> bool:
        return finding.check_id == self.check and fnmatch.fnmatch(finding.resource_id.lower(), self.resource.lower())

    def as_waiver(self) -> Waiver:
        return Waiver(self.check, self.resource, self.justification, self.expires.isoformat(), self.owner)


@dataclass(frozen=True)
class DocumentWaiver:
    """The organisation's decision on a disagreement in the policy text (claim, optionally one aspect)."""

    claim: str
    aspect: str
    justification: str
    expires: dt.date
    owner: str

    def matches(self, finding: Finding) -> bool:
        if not finding.resource_id.endswith(f"#{self.claim}"):
            return False
        aspect = finding.evidence[0].path.removesuffix(" (de)") if finding.evidence else ""
        return not self.aspect or aspect == self.aspect

    def as_waiver(self) -> Waiver:
        scope = f"{self.claim}/{self.aspect}" if self.aspect else self.claim
        return Waiver("policy_text_consistency", scope, self.justification, self.expires.isoformat(), self.owner)


def _items(source: str, document: object, key: str) -> list[dict[str, Any]]:
    return mapping_items(source, document.get(key), key) if isinstance(document, dict) else []


def _read(path: Path) -> object:
    source = str(path)
    document = read_yaml(path)
    if document is None:
        raise InputError(source, "", "the file is empty; expected a 'waivers:' or 'document:' list")
    if not isinstance(document, dict) or not ({"waivers", "document"} & set(document)):
        raise InputError(source, "", "expected a mapping with a 'waivers:' or 'document:' list at the top level")
    unknown = sorted(str(k) for k in document if k not in ("waivers", "document"))
    if unknown:
        raise InputError(source, unknown[0], "unknown key (expected waivers or document)")
    return document


def load_waivers(path: Path, known_checks: Iterable[str]) -> list[WaiverRule]:
    source, known = str(path), set(known_checks)
    rules = []
    for index, item in enumerate(_items(source, _read(path), "waivers")):
        place = f"waivers[{index}]"
        check = text_field(source, place, item, "check")
        if check not in known:
            raise InputError(source, f"{place}.check", f"unknown check {check!r}")
        rules.append(
            WaiverRule(
                check=check,
                resource=text_field(source, place, item, "resource"),
                justification=text_field(source, place, item, "justification"),
                expires=date_field(source, place, item, "expires"),
                owner=text_field(source, place, item, "owner", required=False),
            )
        )
    return rules


def load_document_waivers(path: Path, known_claims: Iterable[str]) -> list[DocumentWaiver]:
    """The ``document`` section: decisions on disagreements between the German and English policy text."""
    source, known = str(path), set(known_claims)
    rules = []
    for index, item in enumerate(_items(source, _read(path), "document")):
        place = f"document[{index}]"
        claim = text_field(source, place, item, "claim")
        if claim not in known:
            raise InputError(source, f"{place}.claim", f"unknown claim {claim!r}")
        rules.append(
            DocumentWaiver(
                claim=claim,
                aspect=text_field(source, place, item, "aspect", required=False),
                justification=text_field(source, place, item, "justification"),
                expires=date_field(source, place, item, "expires"),
                owner=text_field(source, place, item, "owner", required=False),
            )
        )
    return rules


def apply_document_waivers(findings: list[Finding], rules: Iterable[DocumentWaiver], today: dt.date) -> list[Finding]:
    """Attach the first active decision that matches each document finding; an expired one no longer applies."""
    active = [r for r in rules if r.expires >= today]
    result = []
    for finding in findings:
        rule = next((r for r in active if r.matches(finding)), None)
        result.append(finding.with_waiver(rule.as_waiver()) if rule else finding)
    return result


def apply_waivers(
    findings: list[Finding], rules: list[WaiverRule], today: dt.date
) -> tuple[list[Finding], list[WaiverRule]]:
    """Attach active waivers to FAIL findings; return the findings and the expired rules."""
    active = [r for r in rules if r.expires >= today]
    expired = [r for r in rules if r.expires < today]
    result = []
    for finding in findings:
        rule = next((r for r in active if r.matches(finding)), None) if finding.verdict == Verdict.FAIL else None
        result.append(finding.with_waiver(rule.as_waiver()) if rule else finding)
    return result, expired
