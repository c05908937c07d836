"""The Content-Security-Policy allows no known analytics host to run or receive data.

Probe/http record: ``contentSecurityPolicy`` (the header value, or null).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource
from compliance_checks.trackers import is_tracker

DIRECTIVES = ("default-src", "script-src", "script-src-elem", "connect-src", "img-src", "frame-src")


def allowed_hosts(policy: str) -> dict[str, list[str]]:
    hosts: dict[str, list[str]] = {}
    for part in policy.split(";"):
        tokens = part.split()
        if tokens and tokens[0].lower() in DIRECTIVES:
            for source in tokens[1:]:
                if source.startswith("'") or source.endswith(":"):
                    continue
                host = urlsplit(source if "//" in source else f"//{source}").hostname or ""
                hosts.setdefault(tokens[0].lower(), []).append(host.lstrip("*."))
    return hosts


class CspNoAnalytics(ProbeCheck):
    probe_type = "Probe/http"
    meta = CheckMeta(
        id="probe_http_csp_no_analytics",
        title="Live: Content-Security-Policy allows no analytics host",
        severity=Severity.MEDIUM,
        claims=("PRIV-NO-ANALYTICS",),
        rationale="A CSP that admits only the portal's own origins keeps analytics out even if a dependency tries to load it.",
        remediation="Send a Content-Security-Policy whose script-src/connect-src list no third-party analytics host.",
        references=("https://www.w3.org/TR/CSP3/",),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        policy = probe.get("contentSecurityPolicy")
        evidence = [Evidence("contentSecurityPolicy", policy, "present, no analytics host")]
        if not isinstance(policy, str) or not policy.strip():
            return Verdict.FAIL, "No Content-Security-Policy header.", evidence
        offending = sorted({f"{d}: {h}" for d, hosts in allowed_hosts(policy).items() for h in hosts if is_tracker(h)})
        wildcard = [
            d
            for d, hosts in allowed_hosts(policy).items()
            if "" in hosts or "*" in policy.split(d, 1)[-1].split(";")[0].split()
        ]
        if offending:
            return Verdict.FAIL, f"CSP allows analytics hosts: {', '.join(offending)}.", evidence
        if wildcard:
            return Verdict.FAIL, f"CSP allows any host in {', '.join(sorted(set(wildcard)))}.", evidence
        return Verdict.PASS, "CSP allows no analytics host.", evidence


CHECK = CspNoAnalytics()
