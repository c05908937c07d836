"""From the auditor's vantage point the database port is refused or times out, unless it is the allowed IP.

Probe/reachability record: ``host``, ``port``, ``result`` ("open", "refused",
"timeout"), ``vantageIsAllowed`` (whether the probe ran from the allowed IP).
"""

from __future__ import annotations

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource


class DatabasePortUnreachable(ProbeCheck):
    probe_type = "Probe/reachability"
    meta = CheckMeta(
        id="probe_database_port_unreachable",
        title="Live: the database port cannot be reached from elsewhere",
        severity=Severity.CRITICAL,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale="Configuration can be wrong in ways no check models; a connection attempt cannot.",
        remediation="Find the path that exposes the port (public access, firewall rule, NSG) and close it.",
        references=("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking",),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        result, allowed = probe.get("result"), probe.get("vantageIsAllowed")
        evidence = [Evidence("result", result, "refused or timeout"), Evidence("vantageIsAllowed", allowed, "false")]
        if result not in ("open", "refused", "timeout") or not isinstance(allowed, bool):
            return Verdict.ERROR, "Cannot verify: probe result incomplete.", evidence
        if allowed:
            return Verdict.NOT_APPLICABLE, "The probe ran from the allowed IP itself.", evidence
        if result == "open":
            return (
                Verdict.FAIL,
                f"Port {probe.get('port')} of {probe.get('host')} is open from a non-allowed address.",
                evidence,
            )
        return Verdict.PASS, f"Port {probe.get('port')} {result} from a non-allowed address.", evidence


CHECK = DatabasePortUnreachable()
