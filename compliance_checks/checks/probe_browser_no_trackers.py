"""The browser sends no request to an analytics or tracking service, and no analytics identifier is stored.

Probe/browser record: ``requests`` (list of {url, host, thirdParty, page,
phase}), ``cookies``, ``localStorage`` and (a crawling visit)
``sessionStorage``. Matched here, not in the probe, against the active tracker
lists (compliance_checks/trackers.py: the built-in list, plus a maintained
filter list when the user fetched one; the evidence names each with its
version and SHA-256):

- every request URL and WebSocket against the listed hosts and host/path rules;
- the paths requested from the portal's own hosts against the self-hosted
  analytics rules (Matomo's ``matomo.php``, Plausible, Umami...);
- cookie names and Web Storage keys against the analytics identifiers.

Each hit names the page it was seen on (the not-found page, a beacon on page
hide) and the findings reference the visit's HAR and screenshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource
from compliance_checks.probes.browser import evidence_files
from compliance_checks.trackers import active_list, list_evidence, requested_paths


def _where(request: dict[str, Any]) -> str:
    page, phase = request.get("page"), request.get("phase")
    if not page:
        return ""
    return f" on {page}" + (f" ({phase})" if phase and phase != "load" else "")


def _stored_names(body: Mapping[str, Any]) -> list[str]:
    names = [str(c.get("name")) for c in body.get("cookies") or [] if isinstance(c, dict)]
    for api in ("localStorage", "sessionStorage"):
        value = body.get(api)
        if isinstance(value, dict):
            names.extend(str(key) for items in value.values() if isinstance(items, list) for key in items)
    return sorted(set(names))


class BrowserNoTrackers(ProbeCheck):
    probe_type = "Probe/browser"
    meta = CheckMeta(
        id="probe_browser_no_trackers",
        title="Live: no request goes to an analytics or tracking service",
        severity=Severity.HIGH,
        claims=("PRIV-NO-ANALYTICS",),
        rationale="'No analytics tools are used' is only true if no page contacts one, self-hosted or not.",
        remediation="Remove the script, pixel, beacon or self-hosted analytics endpoint that contacts the tracker.",
        references=("https://playwright.dev/python/docs/network", "https://easylist.to/"),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        body = probe.body
        requests = body.get("requests")
        valid = isinstance(requests, list) and all(isinstance(r, dict) for r in requests)
        hosts = sorted({str(r.get("host", "")) for r in requests}) if valid else None  # type: ignore[union-attr]
        evidence = [
            Evidence("requests[*].host", hosts, "no known tracker host"),
            Evidence("trackerLists", list_evidence(), "the lists the requests were matched against"),
        ]
        if hosts is None or not valid:
            return Verdict.ERROR, "Cannot verify: requests not recorded.", [*evidence, *evidence_files(body)]
        if not requests:  # a visit makes at least its own navigation request: an empty list observed nothing
            return (
                Verdict.ERROR,
                "Cannot verify: the visit recorded no request at all.",
                [
                    *evidence,
                    *evidence_files(body),
                ],
            )
        tracker_list = active_list()
        hits: list[str] = []
        for request in requests:
            match = tracker_list.match_url(str(request.get("url", "")))
            if match is not None:
                hit = f"{match.service}: {request.get('url')}{_where(request)}"
                if hit not in hits:
                    hits.append(hit)
        own = sorted({str(r.get("host", "")) for r in requests if r.get("thirdParty") is False})
        urls = [str(r.get("url", "")) for r in requests]
        for match in tracker_list.match_first_party(requested_paths(urls, own)):
            hits.append(f"{match.service} (self-hosted): {match.what}")
        identifiers = []
        for name in _stored_names(body):
            match = tracker_list.match_storage_key(name)
            if match is not None:
                identifiers.append(f"{name} ({match.service})")
        if identifiers:
            hits.append(f"analytics identifiers stored: {', '.join(identifiers)}")
        evidence.append(Evidence("trackers", hits, "none"))
        evidence.extend(evidence_files(body))
        if hits:
            return Verdict.FAIL, f"Trackers: {'; '.join(hits)}.", evidence
        # What matching can claim: analytics proxied through the portal's own origin under a path no list
        # names (a renamed script, a relayed collect endpoint) is indistinguishable from the portal's own
        # requests here; the message says so instead of "no tracker".
        return (
            Verdict.PASS,
            f"{len(hosts)} host(s) contacted, none on the tracker lists in use; no listed analytics identifier"
            " stored. Not visible to this check: analytics relayed through the portal's own origin under a path"
            " no list names (see the requests in the HAR).",
            evidence,
        )


CHECK = BrowserNoTrackers()
