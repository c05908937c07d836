"""A real browser visiting the portal ends up with no cookie at all (header- or script-set).

Probe/browser record: ``cookies`` (list of {name, domain, source}).
"""

from __future__ import annotations

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource


class BrowserNoCookies(ProbeCheck):
    probe_type = "Probe/browser"
    meta = CheckMeta(
        id="probe_browser_no_cookies",
        title="Live: the browser holds no cookie after visiting the portal",
        severity=Severity.HIGH,
        claims=("PRIV-NO-COOKIES",),
        rationale="Scripts can set cookies that no header shows; only the browser's jar tells the truth.",
        remediation="Find the script or response that sets the cookie and remove it.",
        references=("https://playwright.dev/python/docs/api/class-browsercontext#browser-context-cookies",),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        cookies = probe.get("cookies")
        names = (
            [f"{c.get('name')}@{c.get('domain')}" for c in cookies if isinstance(c, dict)]
            if isinstance(cookies, list)
            else None
        )
        evidence = [Evidence("cookies", names, "none")]
        if names is None:
            return Verdict.ERROR, "Cannot verify: cookies not recorded.", evidence
        if names:
            return Verdict.FAIL, f"Cookies set: {', '.join(names)}.", evidence
        return Verdict.PASS, "No cookie in the browser.", evidence


CHECK = BrowserNoCookies()
