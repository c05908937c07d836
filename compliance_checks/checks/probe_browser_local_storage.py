"""Login and language live in localStorage, and nothing else is stored in the visitor's browser.

Probe/browser record: ``cookies`` and ``localStorage`` ({origin: [keys]}); a
crawling visit (the record has ``crawl``) also carries ``sessionStorage``,
``indexedDB``, ``cacheStorage``, ``serviceWorkers`` and ``storageErrors``.

FAIL: any cookie; a localStorage key that a tracker list names as an analytics
identifier (``_ga``, ``ajs_anonymous_id``: compliance_checks/trackers.py);
localStorage of another origin than the portal's; any other storage API in use
(the policy names localStorage as the only terminal storage). ERROR: storage
not recorded, or a frame's storage could not be read. MANUAL: no localStorage
key at all (the probe did not exercise login or language). PASS otherwise.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from compliance_checks.checks.base import CheckMeta, Params, sentence
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource
from compliance_checks.probes.browser import evidence_files, registrable_host
from compliance_checks.trackers import active_list, list_evidence

OTHER_STORAGE = ("sessionStorage", "indexedDB", "cacheStorage", "serviceWorkers")


def storage_names(value: Any) -> list[str] | None:
    """``{origin: [names]}`` as sorted ``origin: name`` lines, or None when it is not that shape."""
    if not isinstance(value, dict) or not all(isinstance(items, list) for items in value.values()):
        return None
    return sorted({f"{origin}: {name}" for origin, items in value.items() for name in items})


class BrowserLocalStorage(ProbeCheck):
    probe_type = "Probe/browser"
    meta = CheckMeta(
        id="probe_browser_local_storage",
        title="Live: login and language state is kept in localStorage, not cookies",
        severity=Severity.MEDIUM,
        claims=("PRIV-LOCAL-STORAGE",),
        rationale="The policy names localStorage as the only terminal storage used (TDDDG § 25: strictly necessary).",
        remediation="Keep session and language in localStorage; remove cookie-based state, analytics identifiers "
        "and every other storage.",
        references=("https://html.spec.whatwg.org/multipage/webstorage.html",),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        body = probe.body
        storage, cookies = body.get("localStorage"), body.get("cookies")
        keys = storage_names(storage)
        evidence = [Evidence("localStorage", keys, "login/language keys"), Evidence("cookies", cookies, "none")]
        if keys is None or not isinstance(cookies, list):
            return Verdict.ERROR, "Cannot verify: storage not recorded.", [*evidence, *evidence_files(body)]
        problems: list[str] = []
        if cookies:
            problems.append("state is (also) kept in cookies")
        tracker_list = active_list()
        identifiers = []
        for line in keys:
            match = tracker_list.match_storage_key(line.rsplit(": ", 1)[-1])
            if match is not None:
                identifiers.append(f"{line} ({match.service})")
        if identifiers:
            problems.append(f"analytics identifiers in localStorage: {', '.join(identifiers)}")
            evidence.append(Evidence("trackerLists", list_evidence(), "the lists the keys were matched against"))
        portal = registrable_host(urlsplit(str(body.get("url", ""))).hostname or "")
        if not portal:
            # Without the visited URL no origin can be told the portal's own: nothing to judge the keys against.
            return Verdict.ERROR, "Cannot verify: the visited URL is not recorded.", [*evidence, *evidence_files(body)]
        foreign = [
            line for line in keys if registrable_host(urlsplit(line.rsplit(": ", 1)[0]).hostname or "") != portal
        ]
        if foreign:
            problems.append(f"localStorage of other sites: {', '.join(foreign)}")
        unreadable: list[str] = []
        if "crawl" in body:  # a crawling visit records every storage API: each must be there
            for api in OTHER_STORAGE:
                names = storage_names(body.get(api))
                evidence.append(Evidence(api, names, "none"))
                if names is None:
                    unreadable.append(f"{api} not recorded")
                elif names:
                    problems.append(f"{api} in use: {', '.join(names)}")
            errors = body.get("storageErrors")
            if not isinstance(errors, list):
                unreadable.append("storageErrors not recorded")
            elif errors:
                unreadable.extend(str(e) for e in errors)
                evidence.append(Evidence("storageErrors", errors, "none"))
        evidence.extend(evidence_files(body))
        if problems:
            return Verdict.FAIL, sentence("; ".join(problems)), evidence
        if unreadable:
            return Verdict.ERROR, f"Cannot verify: {'; '.join(unreadable)}.", evidence
        if not keys:
            return (
                Verdict.MANUAL,
                "No localStorage key observed: log in and pick a language during the probe.",
                evidence,
            )
        return Verdict.PASS, f"localStorage keys: {', '.join(keys)}; nothing else stored.", evidence


CHECK = BrowserLocalStorage()
