"""Evaluate: run every check over the inventory, apply waivers, roll findings up into claims.

Exit codes follow from the result: 2 when anything could not be verified
(an unwaived ERROR), 1 when a promise is broken (an unwaived FAIL at or above
the ``fail_on`` severity, or a disagreement in the policy text), 0 otherwise.
MANUAL (needs a probe or an attestation) and NOT_APPLICABLE do not fail a run.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from compliance_checks.attestations import Attestation
from compliance_checks.checks.base import Check, CheckMeta, Params
from compliance_checks.findings import Evidence, Finding, Severity, Verdict, worst
from compliance_checks.inventory import IncompleteInventory, Inventory
from compliance_checks.waivers import WaiverRule, apply_waivers

if TYPE_CHECKING:
    from compliance_checks.catalog import Catalog, Claim
    from compliance_checks.policy_text import Disagreement

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 64
DOCUMENT_CHECK_ID = "policy_text_consistency"
DOCUMENT_SEVERITY = Severity.MEDIUM


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
    # Checks of other tools (checkov) whose findings came in through ``evaluate(extra_findings=...)``.
    extra_checks: Mapping[str, CheckMeta] = field(default_factory=dict)

    def check_verdict(self, check_id: str) -> Verdict:
        return (
            worst([f.verdict for f in self.findings if f.check_id == check_id and f.verdict != Verdict.NOT_APPLICABLE])
            if any(f.check_id == check_id and f.verdict != Verdict.NOT_APPLICABLE for f in self.findings)
            else Verdict.NOT_APPLICABLE
        )

    def severity_of(self, finding: Finding) -> Severity:
        if finding.check_id == DOCUMENT_CHECK_ID:
            return DOCUMENT_SEVERITY
        check = self.checks.get(finding.check_id)
        if check is not None:
            return check.meta.severity
        extra = self.extra_checks.get(finding.check_id)
        return extra.severity if extra is not None else Severity.MEDIUM

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


def _claim_result(
    claim: Claim,
    by_check: Mapping[str, Sequence[Finding]],
    attestations: Mapping[str, Attestation],
    today: dt.date,
    document: Sequence[Finding] = (),
) -> ClaimResult:
    # A claim whose German and English texts disagree is broken as written, whatever the estate does.
    text_findings = tuple(f for f in document if f.resource_id.endswith(f"#{claim.id}"))
    mine = tuple(f for check_id in claim.checks for f in by_check.get(check_id, ())) + text_findings
    verdicts: list[Verdict] = [f.verdict for f in mine if f.verdict != Verdict.NOT_APPLICABLE]
    if claim.checks and len(mine) == len(text_findings):
        verdicts.append(Verdict.ERROR)  # referenced checks produced nothing
    attestation = attestations.get(claim.id)
    status: str | None = None
    if claim.attestation_required:
        status = "missing" if attestation is None else attestation.status(today)
        verdicts.append({"valid": Verdict.PASS, "expired": Verdict.FAIL, "missing": Verdict.MANUAL}[status])
    # Nothing to judge: all findings not applicable (fine), or none at all (nothing verified).
    verdict = worst(verdicts) if verdicts else (Verdict.NOT_APPLICABLE if mine else Verdict.ERROR)
    return ClaimResult(claim, verdict, mine, attestation, status)


def document_findings(disagreements: Sequence[Disagreement], policy_name: str) -> list[Finding]:
    return [
        Finding(
            check_id=DOCUMENT_CHECK_ID,
            verdict=Verdict.FAIL,
            resource_id=f"{policy_name}#{d.claim_id}",
            resource_type="Document/privacyPolicy",
            message=d.message,
            evidence=(
                Evidence(f"{d.aspect} (de)", d.de, f"the same {d.aspect} as the English text"),
                Evidence(f"{d.aspect} (en)", d.en, f"the same {d.aspect} as the German text"),
            ),
            source="policy-text",
        )
        for d in disagreements
    ]


def _explained(findings: list[Finding], inventory: Inventory) -> list[Finding]:
    """An ERROR on a resource whose details could not be read says why (the collection's gap)."""
    reasons: dict[str, list[str]] = {}
    for gap in inventory.gaps:
        reasons.setdefault(gap.scope.lower(), []).append(f"{', '.join(gap.types)}: {gap.reason}")
    return [
        replace(f, message=f"{f.message} Not read: {'; '.join(reasons[f.resource_id.lower()])}.")
        if f.verdict == Verdict.ERROR and f.resource_id.lower() in reasons
        else f
        for f in findings
    ]


def _run_checks(inventory: Inventory, checks: Mapping[str, Check], params: Params) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks.values():
        try:
            produced = check.evaluate(inventory, params)
        except IncompleteInventory as gap:
            produced = [check.finding(None, Verdict.ERROR, f"Cannot verify: {gap}.")]
        except Exception as exc:  # a broken check must surface as ERROR, not stop the audit
            produced = [check.finding(None, Verdict.ERROR, f"The check itself failed: {exc.__class__.__name__}: {exc}")]
        findings.extend(produced)
    return _explained(findings, inventory) if inventory.gaps else findings


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
    extra_findings: Sequence[Finding] = (),
    extra_checks: Mapping[str, CheckMeta] | None = None,
) -> AuditResult:
    """Run ``checks`` over ``inventory`` and roll up.

    ``extra_findings`` come from other tools (checkov): they join the findings
    before sorting and waivers and count towards the exit code (a waiver they
    already carry is kept), but no claim refers to them. ``extra_checks``
    describes their check IDs (title, severity); an ID described nowhere counts as medium.
    """
    params = params or Params()
    started = now or dt.datetime.now(dt.UTC)
    today = today or started.date()
    stamp = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Checks allocate one finding per resource and no reference cycles; with a
    # large inventory alive, the cyclic collector would rescan it again and
    # again (100k resources: 2.3 s instead of 1.2 s). Pause it for the loop.
    collecting = gc.isenabled()
    gc.disable()
    try:
        findings = _run_checks(inventory, checks, params)
        findings.extend(extra_findings)
        findings.sort(key=lambda f: (f.check_id, f.resource_id.lower(), f.message))
        findings, expired = apply_waivers(findings, list(waivers), today)
        by_check: dict[str, list[Finding]] = {}
        for finding in findings:
            by_check.setdefault(finding.check_id, []).append(finding)
        document = tuple(f.with_context("policy-text", stamp) for f in document_findings(disagreements, policy_name))
        claims = tuple(
            _claim_result(claim, by_check, attestations or {}, today, document)
            for claim in sorted(catalog.claims, key=lambda c: c.id)
        )
    finally:
        if collecting:
            gc.enable()
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
        extra_checks=dict(sorted((extra_checks or {}).items())),
    )
