"""No visited page answers with a ``Set-Cookie`` header.

Probe/http record: ``setCookie`` (the Set-Cookie header values seen on every visited page).
"""

from __future__ import annotations

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource


class NoSetCookie(ProbeCheck):
    probe_type = "Probe/http"
    meta = CheckMeta(
        id="probe_http_no_set_cookie",
        title="Live: no page sets a cookie by header",
        severity=Severity.HIGH,
        claims=("PRIV-NO-COOKIES",),
        rationale="The policy says the portal uses no cookies; any Set-Cookie header contradicts it (TDDDG § 25).",
        remediation="Remove the cookie at its origin (app code, affinity, Easy Auth, a proxy).",
        references=("https://www.rfc-editor.org/rfc/rfc6265",),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        cookies = probe.get("setCookie")
        names = [str(c).split("=", 1)[0] for c in cookies] if isinstance(cookies, list) else None
        evidence = [Evidence("setCookie", names, "none")]
        if names is None:
            return Verdict.ERROR, "Cannot verify: Set-Cookie headers not recorded.", evidence
        if names:
            return Verdict.FAIL, f"Set-Cookie for {', '.join(names)}.", evidence
        return Verdict.PASS, "No Set-Cookie header.", evidence


CHECK = NoSetCookie()
