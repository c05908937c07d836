"""Plain HTTP redirects permanently to HTTPS, and HTTPS answers carry HSTS for at least a year.

Probe/http record: ``httpRedirect.status``, ``httpRedirect.location``, ``hsts.maxAge``, and
``httpRedirects`` (the same for every extra path asked over plain HTTP).
"""

from __future__ import annotations

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource

ONE_YEAR = 31536000


class HstsRedirect(ProbeCheck):
    probe_type = "Probe/http"
    meta = CheckMeta(
        id="probe_http_hsts_redirect",
        title="Live: HTTP redirects to HTTPS (301/308) and HSTS max-age is at least one year",
        severity=Severity.MEDIUM,
        claims=("SEC-TLS",),
        rationale="Without HSTS a first visit over http:// can be downgraded; without a redirect it stays plain HTTP.",
        remediation="Keep httpsOnly on; send Strict-Transport-Security: max-age=31536000; includeSubDomains from the app.",
        references=("https://www.rfc-editor.org/rfc/rfc6797",),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        status, location, max_age = (
            probe.get("httpRedirect.status"),
            probe.get("httpRedirect.location"),
            probe.get("hsts.maxAge"),
        )
        evidence = [
            Evidence("httpRedirect.status", status, "301 or 308"),
            Evidence("httpRedirect.location", location, "https://…"),
            Evidence("hsts.maxAge", max_age, f">= {ONE_YEAR}"),
        ]
        problems = []
        if status not in (301, 308):
            problems.append(f"http:// answers {status}")
        if not (isinstance(location, str) and location.lower().startswith("https://")):
            problems.append("redirect does not lead to https://")
        # Every other path asked over plain HTTP (--probe-path) must redirect too: a proxy may redirect "/"
        # only. Records without the list (older probes) are judged on the root alone.
        hops = probe.get("httpRedirects")
        others = hops[1:] if isinstance(hops, list) else []
        for hop in others:
            if not isinstance(hop, dict):
                problems.append("a plain-HTTP answer was not recorded")
                continue
            hop_location = hop.get("location")
            if hop.get("status") not in (301, 308) or not (
                isinstance(hop_location, str) and hop_location.lower().startswith("https://")
            ):
                problems.append(
                    f"{hop.get('url')} answers {hop.get('status')} without a permanent redirect to https://"
                )
        if others:
            evidence.append(
                Evidence(
                    "httpRedirects[*].status", [h.get("status") for h in others if isinstance(h, dict)], "301 or 308"
                )
            )
        if not isinstance(max_age, int) or max_age < ONE_YEAR:
            problems.append(f"HSTS max-age is {max_age if isinstance(max_age, int) else 'absent'}")
        if problems:
            return Verdict.FAIL, "; ".join(problems) + ".", evidence
        return Verdict.PASS, f"Redirect {status} to HTTPS; HSTS max-age {max_age}.", evidence


CHECK = HstsRedirect()
