"""The browser sends no request to a known analytics or tracking host.

Probe/browser record: ``requests`` (list of {url, host}); hosts are matched
against ``compliance_checks/data/trackers.txt`` here, not in the probe.
"""

from __future__ import annotations

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource
from compliance_checks.trackers import is_tracker


class BrowserNoTrackers(ProbeCheck):
    probe_type = "Probe/browser"
    meta = CheckMeta(
        id="probe_browser_no_trackers",
        title="Live: no request goes to an analytics or tracking host",
        severity=Severity.HIGH,
        claims=("PRIV-NO-ANALYTICS",),
        rationale="'No analytics tools are used' is only true if no page contacts one.",
        remediation="Remove the script or pixel that contacts the tracker.",
        references=("https://playwright.dev/python/docs/network",),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        requests = probe.get("requests")
        hosts = (
            sorted({str(r.get("host", "")) for r in requests if isinstance(r, dict)})
            if isinstance(requests, list)
            else None
        )
        trackers = [h for h in hosts or [] if is_tracker(h)]
        evidence = [Evidence("requests[*].host", hosts, "no known tracker host")]
        if hosts is None:
            return Verdict.ERROR, "Cannot verify: requests not recorded.", evidence
        if trackers:
            return Verdict.FAIL, f"Requests to trackers: {', '.join(trackers)}.", evidence
        return Verdict.PASS, f"{len(hosts)} host(s) contacted, none a tracker.", evidence


CHECK = BrowserNoTrackers()
