"""A real browser visiting the portal ends up with no cookie at all (header- or script-set, any frame).

Probe/browser record: ``cookies`` (list of {name, domain, source, thirdParty,
partitionKey, firstSeenOn, refusedByBrowser}). Every cookie counts: first or
third party, partitioned (CHIPS) or not, set by a header (a plain-HTTP hop
included), a script, a service worker or the CookieStore API. A Set-Cookie this
Chromium refused (a third-party cookie it blocks) counts too: the site asked
the visitor's browser to store it, and another browser keeps it. So does a
cookie a script stored and deleted again before the probe read the jar
(``deletedBeforeRead``): the browser held it meanwhile. The findings
reference the visit's HAR and screenshots.
"""

from __future__ import annotations

from typing import Any

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource
from compliance_checks.probes.browser import evidence_files


def describe_cookie(cookie: dict[str, Any]) -> str:
    notes = [
        note
        for note, present in (
            ("third party", cookie.get("thirdParty") is True),
            ("partitioned", bool(cookie.get("partitionKey"))),
            ("refused by this browser", cookie.get("refusedByBrowser") is True),
            ("deleted again before the jar was read", cookie.get("deletedBeforeRead") is True),
        )
        if present
    ]
    where = cookie.get("firstSeenOn")
    if where:
        notes.append(f"first seen on {where}")
    return f"{cookie.get('name')}@{cookie.get('domain')}" + (f" ({', '.join(notes)})" if notes else "")


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
        cookies = probe.body.get("cookies")
        names = (
            [describe_cookie(c) for c in cookies if isinstance(c, dict)]
            if isinstance(cookies, list) and all(isinstance(c, dict) for c in cookies)
            else None
        )
        evidence = [Evidence("cookies", names, "none"), *evidence_files(probe.body)]
        if names is None:
            return Verdict.ERROR, "Cannot verify: cookies not recorded.", evidence
        if names:
            return Verdict.FAIL, f"Cookies set: {', '.join(names)}.", evidence
        return Verdict.PASS, "No cookie in the browser.", evidence


CHECK = BrowserNoCookies()
