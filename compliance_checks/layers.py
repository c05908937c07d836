"""Layered verdicts: a claim is judged on what was declared, what is deployed and what a visitor observes.

Every check belongs to one layer of evidence:

* ``declared``: the desired state (the Pulumi program under the mock runtime,
  a ``pulumi preview``, an ARM template);
* ``deployed``: the configuration that exists (a ``pulumi stack export``, the
  live tenant, an ARM export audited with ``--layer deployed``);
* ``observed``: active probes of the running portal (TLS, HTTP, a browser,
  port reachability);
* ``attested``: organisational claims, which people attest (attestations file).

Configuration checks judge the declared or the deployed layer depending on
the source they read (``Source.layer``); probe checks always judge the
observed layer. A layer that did not run is NOT_RUN and says how to run it;
it never fails a run, and it never counts as a PASS either: the claim's
verdict is the worst of the layers that ran, shown together with the layers
that did not (``SEC-TLS: declared PASS (6 checks); observed NOT RUN``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from compliance_checks.findings import Finding, Verdict, worst

DECLARED, DEPLOYED, OBSERVED, ATTESTED = "declared", "deployed", "observed", "attested"
CONFIGURATION_LAYERS = (DECLARED, DEPLOYED)
LAYERS = (DECLARED, DEPLOYED, OBSERVED, ATTESTED)
"""In report order: what was meant, what exists, what a visitor sees, what people attest."""

CONFIGURATION = "configuration"
"""The layer a configuration check declares: declared or deployed, as the audited source decides."""


@dataclass(frozen=True)
class NotRun:
    """A check the audit did not run, and what would run it."""

    check_id: str
    layer: str
    hint: str


@dataclass(frozen=True)
class LayerResult:
    """One layer of one claim: its verdict over the checks of that layer that ran."""

    layer: str
    verdict: Verdict
    checks: tuple[str, ...]
    """The checks of this layer that ran."""
    not_run: tuple[NotRun, ...] = ()
    """The checks of this layer that did not run (the layer is partial when some ran)."""
    hint: str = ""

    @property
    def ran(self) -> bool:
        return self.verdict != Verdict.NOT_RUN

    def describe(self) -> str:
        """``declared PASS (6 checks)`` or ``observed NOT RUN — add --probe URL``."""
        if not self.ran:
            return f"{self.layer} NOT RUN" + (f" — {self.hint}" if self.hint else "")
        if self.layer == ATTESTED:
            return f"{self.layer} {self.verdict.value}" + (f" — {self.hint}" if self.hint else "")
        count = f"{len(self.checks)} check{'s' if len(self.checks) != 1 else ''}"
        partial = f"; {len(self.not_run)} not run — {self.hint}" if self.not_run else ""
        return f"{self.layer} {self.verdict.value} ({count}{partial})"


def layer_of(check_layer: str, configuration_layer: str) -> str:
    """The layer a check judges in this audit: probes observe; configuration checks follow the source."""
    return configuration_layer if check_layer == CONFIGURATION else check_layer


def rollup(layers: Sequence[LayerResult]) -> Verdict:
    """A claim's verdict: the worst of the layers that ran; NOT_RUN when none ran.

    All findings "not applicable" in every layer that ran stays NOT_APPLICABLE.
    """
    ran = [layer.verdict for layer in layers if layer.ran]
    return worst(ran) if ran else Verdict.NOT_RUN


def layer_results(
    check_ids: Iterable[str],
    layer_by_check: Mapping[str, str],
    by_check: Mapping[str, Sequence[Finding]],
    not_run: Mapping[str, NotRun],
    default_layer: str = DECLARED,
) -> list[LayerResult]:
    """The configuration and observed layers of one claim's checks, in report order.

    A check that ran but produced no finding verified nothing (ERROR); findings
    a probe made of a host outside the audited stack (``Finding.excluded``) do
    not count for the claim. A check the registry does not know judges ``default_layer`` (and, having
    produced nothing, is an ERROR).
    """
    grouped: dict[str, list[str]] = {}
    for check_id in check_ids:
        grouped.setdefault(layer_by_check.get(check_id, default_layer), []).append(check_id)
    results = []
    for layer in LAYERS:
        if layer not in grouped:
            continue
        ran = [c for c in grouped[layer] if c not in not_run]
        skipped = tuple(not_run[c] for c in grouped[layer] if c in not_run)
        hint = "; ".join(dict.fromkeys(n.hint for n in skipped if n.hint))
        if not ran:
            results.append(LayerResult(layer, Verdict.NOT_RUN, (), skipped, hint))
            continue
        findings = [f for c in ran for f in by_check.get(c, ())]
        counted = [f for f in findings if not f.excluded]
        if findings and not counted:  # every finding was about somebody else's host: this layer did not run here
            reasons = "; ".join(dict.fromkeys(f.excluded for f in findings))
            results.append(LayerResult(layer, Verdict.NOT_RUN, (), skipped, reasons))
            continue
        verdicts = [f.verdict for f in counted if f.verdict != Verdict.NOT_APPLICABLE]
        empty = [c for c in ran if not by_check.get(c)]
        if empty:
            verdicts.append(Verdict.ERROR)  # a check that ran and produced nothing verified nothing
        verdict = worst(verdicts) if verdicts else Verdict.NOT_APPLICABLE
        results.append(LayerResult(layer, verdict, tuple(ran), skipped, hint))
    return results
