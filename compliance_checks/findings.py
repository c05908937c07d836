"""Verdicts, severities, evidence and findings."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any


class Verdict(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    MANUAL = "MANUAL"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    # A claim's layer (or the whole claim) that this audit did not run: never a finding's verdict,
    # never a PASS, never a failure (compliance_checks/layers.py).
    NOT_RUN = "NOT_RUN"

    @property
    def rank(self) -> int:
        """Worst first when sorted descending: FAIL > ERROR > MANUAL > PASS > NOT_RUN > NOT_APPLICABLE."""
        return _RANK[self]


_RANK = {
    Verdict.NOT_APPLICABLE: 0,
    Verdict.NOT_RUN: 1,
    Verdict.PASS: 2,
    Verdict.MANUAL: 3,
    Verdict.ERROR: 4,
    Verdict.FAIL: 5,
}


def worst(verdicts: Sequence[Verdict]) -> Verdict:
    """Roll several verdicts into one. No verdict at all is an ERROR: nothing was verified."""
    if not verdicts:
        return Verdict.ERROR
    return max(verdicts, key=lambda v: v.rank)


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"low": 1, "medium": 2, "high": 3, "critical": 4}[self.value]


@dataclass(frozen=True)
class Evidence:
    """What was looked at: the property path, what was observed and what was expected."""

    path: str
    observed: Any
    expected: str

    def __post_init__(self) -> None:
        # The report boundary: no evidence carries a secret, whoever built it (compliance_checks/redaction.py).
        from compliance_checks.redaction import redact_evidence, scrub_text

        object.__setattr__(self, "observed", redact_evidence(self.path, self.observed))
        object.__setattr__(self, "expected", scrub_text(self.expected))

    def observed_text(self) -> str:
        from compliance_checks.render_values import show

        return show(self.observed)


@dataclass(frozen=True)
class Waiver:
    check: str
    resource: str
    justification: str
    expires: str
    owner: str = ""


@dataclass(frozen=True)
class Finding:
    check_id: str
    verdict: Verdict
    resource_id: str
    resource_type: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    source: str = ""
    observed_at: str = ""
    waiver: Waiver | None = field(default=None, compare=False)
    # Cautions that leave the verdict as it is but must be seen (a certificate that expires within 30 days):
    # every report format shows them beside the verdict as WARN.
    warnings: tuple[str, ...] = ()
    # Why this finding does not count for the audited estate (a probe of a host that is not one of the
    # stack's): it stays in every report, but neither the claims nor the exit code take it.
    excluded: str = ""

    def __post_init__(self) -> None:
        # Checks interpolate observed values into messages: no message carries a secret either.
        from compliance_checks.redaction import scrub_text

        object.__setattr__(self, "message", scrub_text(self.message))
        object.__setattr__(self, "warnings", tuple(scrub_text(w) for w in self.warnings))

    @property
    def waived(self) -> bool:
        return self.waiver is not None

    @property
    def counts(self) -> bool:
        """True when the finding counts towards the exit code: neither waived nor about another estate."""
        return self.waiver is None and not self.excluded

    def with_waiver(self, waiver: Waiver) -> Finding:
        return replace(self, waiver=waiver)

    def with_context(self, source: str, observed_at: str) -> Finding:
        return replace(self, source=self.source or source, observed_at=self.observed_at or observed_at)
