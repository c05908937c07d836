"""Login and language live in localStorage, and nothing in cookies.

Probe/browser record: ``cookies`` and ``localStorage`` ({origin: [keys]}).
PASS needs no cookie and at least one localStorage key; with no key observed
the probe did not exercise login or language, so the verdict is MANUAL.
"""

from __future__ import annotations

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource


class BrowserLocalStorage(ProbeCheck):
    probe_type = "Probe/browser"
    meta = CheckMeta(
        id="probe_browser_local_storage",
        title="Live: login and language state is kept in localStorage, not cookies",
        severity=Severity.MEDIUM,
        claims=("PRIV-LOCAL-STORAGE",),
        rationale="The policy names localStorage as the only terminal storage used (TDDDG § 25: strictly necessary).",
        remediation="Keep session and language in localStorage; remove cookie-based state.",
        references=("https://html.spec.whatwg.org/multipage/webstorage.html",),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        storage, cookies = probe.get("localStorage"), probe.get("cookies")
        keys = (
            sorted({f"{origin}: {key}" for origin, items in storage.items() for key in items or []})
            if isinstance(storage, dict)
            else None
        )
        evidence = [Evidence("localStorage", keys, "login/language keys"), Evidence("cookies", cookies, "none")]
        if keys is None or not isinstance(cookies, list):
            return Verdict.ERROR, "Cannot verify: storage not recorded.", evidence
        if cookies:
            return Verdict.FAIL, "State is (also) kept in cookies.", evidence
        if not keys:
            return (
                Verdict.MANUAL,
                "No localStorage key observed: log in and pick a language during the probe.",
                evidence,
            )
        return Verdict.PASS, f"localStorage keys: {', '.join(keys)}; no cookies.", evidence


CHECK = BrowserLocalStorage()
