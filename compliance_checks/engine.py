"""Evaluate: run every check over the inventory, apply waivers, roll findings up into claims.

Exit codes follow from the result: 2 when anything could not be verified
(an unwaived ERROR), 1 when a promise is broken (an unwaived FAIL at or above
the ``fail_on`` severity, or a disagreement in the policy text), 0 otherwise.
MANUAL (needs a probe or an attestation) and NOT_APPLICABLE do not fail a run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from compliance_checks.attestations import Attestation
from compliance_checks.checks.base import Check, Params
from compliance_checks.findings import Evidence, Finding, Severity, Verdict, worst
from compliance_checks.inventory import Inventory
from compliance_checks.waivers import WaiverRule, apply_waivers

if TYPE_CHECKING:
    from compliance_checks.catalog import Catalog, Claim

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 64
DOCUMENT_CHECK_ID = "policy_text_consistency"
DOCUMENT_SEVERITY = Severity.MEDIUM


class Disagreement(Protocol):
    claim_id: str
    aspect: str
    de: str
    en: str
    message: str


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    verdict: Verdict
    findings: tuple[Finding, ...]
    attestation: Attestation | None = None
    attestation_status: str | None = None  # valid | expired | missing | None (not required)

    @property
    def waived(self) -> bool:
        fails = [f for f in self.findings if f.verdict == Verdict.FAIL]
        return bool(fails) and all(f.waived for f in fails)


@dataclass(frozen=True)
class AuditResult:
    inventory: Inventory
    checks: Mapping[str, Check]
    findings: tuple[Finding, ...]
    claims: tuple[ClaimResult, ...]
    document: tuple[Finding, ...]
    params: Params
    started_at: dt.datetime
    finished_at: dt.datetime
    expired_waivers: tuple[WaiverRule, ...] = ()
    fail_on: Severity = Severity.LOW
    context: Mapping[str, object] = field(default_factory=dict)

    def check_verdict(self, check_id: str) -> Verdict:
        return worst([f.verdict for f in self.findings if f.check_id == check_id and f.verdict != Verdict.NOT_APPLICABLE]) \
            if any(f.check_id == check_id and f.verdict != Verdict.NOT_APPLICABLE for f in self.findings) \
            else Verdict.NOT_APPLICABLE

    def severity_of(self, finding: Finding) -> Severity:
        if finding.check_id == DOCUMENT_CHECK_ID:
            return DOCUMENT_SEVERITY
        return self.checks[finding.check_id].meta.severity

    @property
    def exit_code(self) -> int:
        counted = [f for f in (*self.findings, *self.document) if not f.waived]
        if any(f.verdict == Verdict.ERROR for f in counted):
            return EXIT_ERROR
        if any(f.verdict == Verdict.FAIL and self.severity_of(f).rank >= self.fail_on.rank for f in counted):
            return EXIT_VIOLATION
        if any(c.verdict == Verdict.FAIL and c.attestation_status == "expired" for c in self.claims):
            return EXIT_VIOLATION
        return EXIT_OK


def _claim_result(claim: Claim, findings: Sequence[Finding], attestations: Mapping[str, Attestation],
                  today: dt.date) -> ClaimResult:
    mine = tuple(f for f in findings if f.check_id in claim.checks)
    verdicts = [f.verdict for f in mine if f.verdict != Verdict.NOT_APPLICABLE]
    if claim.checks and not mine:
        verdicts.append(Verdict.ERROR)  # referenced checks produced nothing
    attestation = attestations.get(claim.id)
    status: str | None = None
    if claim.attestation_required:
        status = "missing" if attestation is None else attestation.status(today)
        verdicts.append({"valid": Verdict.PASS, "expired": Verdict.FAIL, "missing": Verdict.MANUAL}[status])
    if not verdicts:
        verdict = Verdict.NOT_APPLICABLE if mine else Verdict.ERROR
    else:
        verdict = worst(verdicts)
    return ClaimResult(claim, verdict, mine, attestation, status)


def document_findings(disagreements: Sequence[Disagreement], policy_name: str) -> list[Finding]:
    return [
        Finding(
            check_id=DOCUMENT_CHECK_ID,
            verdict=Verdict.FAIL,
            resource_id=f"{policy_name}#{d.claim_id}",
            resource_type="Document/privacyPolicy",
            message=d.message,
            evidence=(Evidence(f"{d.aspect} (de)", d.de, f"the same {d.aspect} as the English text"),
                      Evidence(f"{d.aspect} (en)", d.en, f"the same {d.aspect} as the German text")),
            source="policy-text",
        )
        for d in disagreements
    ]


def evaluate(
    inventory: Inventory,
    *,
    catalog: Catalog,
    checks: Mapping[str, Check],
    params: Params | None = None,
    waivers: Sequence[WaiverRule] = (),
    attestations: Mapping[str, Attestation] | None = None,
    disagreements: Sequence[Disagreement] = (),
    policy_name: str = "privacy-policy.txt",
    today: dt.date | None = None,
    fail_on: Severity = Severity.LOW,
    now: dt.datetime | None = None,
    context: Mapping[str, object] | None = None,
) -> AuditResult:
    params = params or Params()
    started = now or dt.datetime.now(dt.UTC)
    today = today or started.date()
    stamp = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    findings: list[Finding] = []
    for check in checks.values():
        try:
            produced = check.evaluate(inventory, params)
        except Exception as exc:  # noqa: BLE001 - a broken check must surface as ERROR, not stop the audit
            produced = [check.finding(None, Verdict.ERROR, f"The check itself failed: {exc.__class__.__name__}: {exc}")]
        source = ",".join(inventory.sources)
        findings.extend(f.with_context(source, stamp) for f in produced)
    findings.sort(key=lambda f: (f.check_id, f.resource_id.lower(), f.message))
    findings, expired = apply_waivers(findings, list(waivers), today)
    claims = tuple(
        _claim_result(claim, findings, attestations or {}, today) for claim in sorted(catalog.claims, key=lambda c: c.id)
    )
    document = tuple(f.with_context("policy-text", stamp) for f in document_findings(disagreements, policy_name))
    return AuditResult(
        inventory=inventory,
        checks=dict(sorted(checks.items())),
        findings=tuple(findings),
        claims=claims,
        document=document,
        params=params,
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC) if now is None else now,
        expired_waivers=tuple(expired),
        fail_on=fail_on,
        context=dict(context or {}),
    )
