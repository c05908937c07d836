"""Waivers: an accepted exception for one check on matching resources, justified and dated.

    waivers:
      - check: webapp_min_tls_version
        resource: "*/Microsoft.Web/sites/app-legacy"   # glob on the resource ID, case-insensitive
        justification: "Legacy client until migration, ticket SEC-123"
        expires: 2027-01-31
        owner: "IT security"

A waived finding keeps its verdict and stays visible in every report; it only
stops counting towards the exit code. An expired waiver no longer applies.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from compliance_checks.errors import InputError
from compliance_checks.findings import Finding, Verdict, Waiver
from compliance_checks.yaml_input import date_field, load_yaml_list, text_field


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


def load_waivers(path: Path, known_checks: Iterable[str]) -> list[WaiverRule]:
    source, known = str(path), set(known_checks)
    rules = []
    for index, item in enumerate(load_yaml_list(path, "waivers")):
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
