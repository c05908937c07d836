"""Evaluate: run every check over the inventory, apply waivers, roll findings up into layered claims.

Each claim is judged per layer (compliance_checks/layers.py): declared or
deployed (the configuration the source holds), observed (probes), attested
(organisational claims). A check whose layer this audit cannot run (a probe
check without ``--probe``) does not run: its layer is NOT_RUN.

Exit codes follow the layers that ran: 2 when anything could not be verified
(an unwaived ERROR), 1 when a promise is broken (an unwaived FAIL at or above
the ``fail_on`` severity, or an expired attestation), 0 otherwise. NOT_RUN,
MANUAL (an organisational claim waiting for its attestation) and
NOT_APPLICABLE never fail a run. Disagreements between the German and English
policy text are findings on the document: reported on top, and failing the run
only with ``fail_on_document`` (a document waiver records the organisation's decision).
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
from compliance_checks.layers import ATTESTED, DECLARED, LayerResult, NotRun, layer_of, layer_results, rollup
from compliance_checks.waivers import DocumentWaiver, WaiverRule, apply_document_waivers, apply_waivers

if TYPE_CHECKING:
    from compliance_checks.catalog import Catalog, Claim
    from compliance_checks.policy_text import Disagreement

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 64
DOCUMENT_CHECK_ID = "policy_text_consistency"
DOCUMENT_SEVERITY = Severity.MEDIUM
SUGGESTION_DE, SUGGESTION_EN = "suggested correction (de)", "suggested correction (en)"


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    verdict: Verdict
    findings: tuple[Finding, ...]
    attestation: Attestation | None = None
    attestation_status: str | None = None  # valid | expired | missing | None (not required)
    layers: tuple[LayerResult, ...] = ()

    def describe_layers(self) -> str:
        """``declared PASS (6 checks); observed NOT RUN — add --probe URL``."""
        return "; ".join(layer.describe() for layer in self.layers)

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
    layer: str = DECLARED
    """The layer the configuration checks judged: declared or deployed, as the source decides."""
    not_run: Mapping[str, NotRun] = field(default_factory=dict)
    """The checks this audit did not run (a probe check without --probe), by ID."""
    fail_on_document: bool = False

    def check_verdict(self, check_id: str) -> Verdict:
        if check_id in self.not_run:
            return Verdict.NOT_RUN
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
        # Only the layers that ran speak: a check that did not run left no finding; a probe of another
        # estate's host is reported but excluded; the document counts when its own gate is on.
        document = self.document if self.fail_on_document else ()
        counted = [f for f in (*self.findings, *document) if f.counts]
        if any(f.verdict == Verdict.ERROR for f in counted):
            return EXIT_ERROR
        if any(f.verdict == Verdict.FAIL and self.severity_of(f).rank >= self.fail_on.rank for f in counted):
            return EXIT_VIOLATION
        if any(c.verdict == Verdict.FAIL and c.attestation_status == "expired" for c in self.claims):
            return EXIT_VIOLATION
        return EXIT_OK


_ATTESTED_VERDICT = {"valid": Verdict.PASS, "expired": Verdict.FAIL, "missing": Verdict.MANUAL}
_ATTESTED_HINT = {"missing": "add an attestation (--attestations FILE)", "expired": "the attestation has expired"}


def _claim_result(
    claim: Claim,
    *,
    by_check: Mapping[str, Sequence[Finding]],
    attestations: Mapping[str, Attestation],
    today: dt.date,
    layer_by_check: Mapping[str, str],
    not_run: Mapping[str, NotRun],
    default_layer: str,
) -> ClaimResult:
    """The claim's layers and its verdict: the worst of the layers that ran, NOT_RUN when none did.

    The policy text's own disagreements are findings on the document (``AuditResult.document``), not on
    the claim: the claim says whether the estate keeps the promise.
    """
    mine = tuple(f for check_id in claim.checks for f in by_check.get(check_id, ()))
    layers = layer_results(claim.checks, layer_by_check, by_check, not_run, default_layer)
    attestation = attestations.get(claim.id)
    status: str | None = None
    if claim.attestation_required:
        status = "missing" if attestation is None else attestation.status(today)
        layers.append(LayerResult(ATTESTED, _ATTESTED_VERDICT[status], (), (), _ATTESTED_HINT.get(status, "")))
    if not layers:  # a claim nothing judges (the catalogue forbids it): nothing was verified
        return ClaimResult(claim, Verdict.ERROR, mine, attestation, status, ())
    return ClaimResult(claim, rollup(layers), mine, attestation, status, tuple(layers))


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
                # The corrected sentences, when one can be derived safely, and what the organisation must decide.
                Evidence(SUGGESTION_DE, d.suggestion_de, d.suggestion_note),
                Evidence(SUGGESTION_EN, d.suggestion_en, d.suggestion_note),
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


def _run_checks(
    inventory: Inventory, checks: Mapping[str, Check], params: Params, not_run: dict[str, str] | None = None
) -> list[Finding]:
    """Every check's findings; a check whose layer this audit cannot run is left out, its hint put in ``not_run``."""
    findings: list[Finding] = []
    for check in checks.values():
        try:
            hint = check.not_run(inventory)
        except IncompleteInventory:  # a listing failed: the check runs and says so (an ERROR below)
            hint = ""
        if hint:  # its layer did not run in this audit (a probe check without --probe): no verdict at all
            if not_run is not None:
                not_run[check.id] = hint
            continue
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
    layer: str = DECLARED,
    fail_on_document: bool = False,
    document_waivers: Sequence[DocumentWaiver] = (),
    observed_excluded: str = "",
) -> AuditResult:
    """Run ``checks`` over ``inventory`` and roll up.

    ``layer`` is what the configuration checks judge (``declared`` or
    ``deployed``: the source decides). ``observed_excluded`` says why the
    probes' findings do not count for the audited estate (the probed host is
    not one of its host names): they are kept, but excluded.

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
        layer_by_check = {check_id: layer_of(check.layer, layer) for check_id, check in checks.items()}
        hints: dict[str, str] = {}
        findings = _run_checks(inventory, checks, params, hints)
        skipped = {check_id: NotRun(check_id, layer_by_check[check_id], hint) for check_id, hint in hints.items()}
        if observed_excluded:
            findings = [
                replace(f, excluded=observed_excluded) if checks[f.check_id].layer != "configuration" else f
                for f in findings
            ]
        findings.extend(extra_findings)
        findings.sort(key=lambda f: (f.check_id, f.resource_id.lower(), f.message))
        findings, expired = apply_waivers(findings, list(waivers), today)
        by_check: dict[str, list[Finding]] = {}
        for finding in findings:
            by_check.setdefault(finding.check_id, []).append(finding)
        document = tuple(
            apply_document_waivers(
                [f.with_context("policy-text", stamp) for f in document_findings(disagreements, policy_name)],
                document_waivers,
                today,
            )
        )
        claims = tuple(
            _claim_result(
                claim,
                by_check=by_check,
                attestations=attestations or {},
                today=today,
                layer_by_check=layer_by_check,
                not_run=skipped,
                default_layer=layer,
            )
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
        layer=layer,
        not_run=dict(sorted(skipped.items())),
        fail_on_document=fail_on_document,
    )
