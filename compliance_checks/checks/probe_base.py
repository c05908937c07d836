"""Base for checks over active probes of the running portal (not a check itself).

Probes (the live audit) add records to the inventory with types ``Probe/tls``,
``Probe/http``, ``Probe/browser`` and ``Probe/reachability``; the check logic
lives here, once, like every other check. Without a probe record the check
does not run: the claim's observed layer is NOT RUN (compliance_checks/layers.py)
and says which option runs it; called directly, the check answers MANUAL.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import replace

from compliance_checks.checks.base import Check, Params
from compliance_checks.findings import Evidence, Finding, Verdict
from compliance_checks.inventory import Inventory, Resource

# What runs each probe (compliance-checks audit --help): the hint a claim shows while its observed layer is NOT RUN.
PROBE_OPTIONS = {
    "Probe/tls": "add --probe URL",
    "Probe/http": "add --probe URL",
    "Probe/browser": "add --probe URL",
    "Probe/reachability": "add --probe URL --database HOST:PORT",
}


class ProbeCheck(Check):
    probe_type: str
    layer = "observed"

    def not_run(self, inventory: Inventory) -> str:
        if inventory.of_type(self.probe_type):
            return ""
        return PROBE_OPTIONS.get(self.probe_type, "add --probe URL")

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
