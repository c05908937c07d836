"""Base for checks over active probes of the running portal (not a check itself).

Probes (the live audit) add records to the inventory with types ``Probe/tls``,
``Probe/http``, ``Probe/browser`` and ``Probe/reachability``; the check logic
lives here, once, like every other check. Without a probe record the verdict
is MANUAL: an offline source cannot see what a visitor sees.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import replace

from compliance_checks.checks.base import Check, Params
from compliance_checks.findings import Evidence, Finding, Verdict
from compliance_checks.inventory import Inventory, Resource


class ProbeCheck(Check):
    probe_type: str

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        probes = inventory.of_type(self.probe_type)
        if not probes:
            yield self.finding(
                None,
                Verdict.MANUAL,
                f"Needs a {self.probe_type} probe of the running portal (compliance-checks audit --source live).",
            )
            return
        for probe in probes:
            if probe.get("error"):
                yield self.finding(
                    probe,
                    Verdict.ERROR,
                    f"Probe failed: {probe.get('error')}.",
                    Evidence("error", probe.get("error"), "no error"),
                )
                continue
            verdict, message, evidence = self.judge(probe, params)
            finding = self.finding(probe, verdict, message, *evidence)
            cautions = self.warnings(probe, params)
            yield replace(finding, warnings=cautions) if cautions else finding

    def warnings(self, probe: Resource, params: Params) -> tuple[str, ...]:
        """WARN cautions that leave the verdict as it is (a certificate about to expire); none by default."""
        return ()

    @abstractmethod
    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]: ...
