"""Every host a visitor's browser contacts is the portal's own or a recipient the privacy policy discloses.

A request hands the visitor's IP address (and usually the page as referrer) to
the host it goes to, so every host outside the portal's own origins that the
browser contacted is a recipient of personal data (Art. 4(9) GDPR) that the
policy must name (Art. 13(1)(e) GDPR; LG München I, 3 O 17493/20, 20 January
2022: Google Fonts loaded from Google's servers). Fonts, scripts and images from
CDNs count like any other request.

Probe/browser record: ``url`` (the portal's own origin) and ``requests`` (every
request of every page, frame, worker and service worker, and every WebSocket:
``{url, host, resourceType, frame, page, phase, initiator}``, see
compliance_checks/probes/browser.py). The disclosed recipients and further own
hosts come from ``compliance_checks/catalog/recipients.yaml``
(compliance_checks/probes/recipients.py).

FAIL: a contacted host that is neither own nor disclosed; the evidence lists
each such host with what was loaded from it (type, URL, frame, initiator,
page). ERROR: requests or the portal's URL not recorded, or recipients.yaml
unreadable. PASS otherwise, naming the disclosed recipients that were contacted.

The recipients claims are organisational (the attestation says what is shared
in the back office); this check is their observed layer: what a visitor's
browser shares with whom.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.errors import InputError
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource
from compliance_checks.probes.browser import evidence_files
from compliance_checks.probes.recipients import Recipients, load_recipients, normalise_host, undisclosed_recipients

# The claims recipients.yaml discloses recipients under (tests/test_recipients.py keeps the two equal).
RECIPIENT_CLAIMS = (
    "REC-EMPLOYMENT-CONTRACTS",
    "REC-TAX-ADVISORS",
    "REC-STOTAX",
    "REC-BANKING",
    "REC-AKV-COLLECTION",
    "REC-COOPERATIVE-AUDIT",
)
# Loads listed per undisclosed host; the rest are counted (the HAR holds them all).
PER_HOST = 10


def describe(request: dict[str, Any]) -> str:
    """``font https://fonts.gstatic.com/s/x.woff2 (frame ..., initiator parser https://..., on https://...)``."""
    details: list[str] = []
    frame, page, phase = request.get("frame"), request.get("page"), request.get("phase")
    if frame and frame not in ("top", page):  # a subframe's, a worker's or a service worker's request
        details.append(f"frame {frame}")
    initiator = request.get("initiator")
    if isinstance(initiator, dict):
        kind, where = initiator.get("type"), initiator.get("url")
        details.append(f"initiator {' '.join(str(x) for x in (kind, where) if x)}")
    if page:
        details.append(f"on {page}" + (f" ({phase})" if phase and phase != "load" else ""))
    suffix = f" ({', '.join(details)})" if details else ""
    return f"{request.get('resourceType') or 'request'} {request.get('url')}{suffix}"


class BrowserRecipientsDisclosed(ProbeCheck):
    probe_type = "Probe/browser"
    meta = CheckMeta(
        id="probe_browser_recipients_disclosed",
        title="Live: the visitor's browser contacts no host the privacy policy does not name as a recipient",
        severity=Severity.HIGH,
        claims=RECIPIENT_CLAIMS,
        rationale="Each request gives the visitor's IP address to the host it goes to; a third-party host the "
        "policy does not list is an undisclosed recipient (Art. 13(1)(e) GDPR; LG München I, 3 O 17493/20).",
        remediation="Serve fonts, scripts, images and styles from the portal's own origin, or name the host's "
        "operator as a recipient in the privacy policy and in compliance_checks/catalog/recipients.yaml.",
        references=(
            "https://eur-lex.europa.eu/eli/reg/2016/679/oj",
            "https://playwright.dev/python/docs/network",
        ),
    )

    def __init__(self, recipients: Recipients | None = None) -> None:
        # None: the catalogue's recipients.yaml, read when judged (so a bad file is an ERROR finding).
        self._recipients = recipients

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        body = probe.body
        requests, url = body.get("requests"), body.get("url")
        valid = isinstance(requests, list) and all(isinstance(r, dict) for r in requests)
        own = normalise_host(url) if isinstance(url, str) and urlsplit(url).hostname else None
        hosts = sorted({str(r.get("host") or "") for r in requests}) if valid else None  # type: ignore[union-attr]
        evidence = [Evidence("requests[*].host", hosts, "the portal's own hosts or disclosed recipients")]
        if hosts is None or own is None:
            missing = "requests" if hosts is None else "the portal's URL"
            return Verdict.ERROR, f"Cannot verify: {missing} not recorded.", [*evidence, *evidence_files(body)]
        try:
            catalogue = self._recipients if self._recipients is not None else load_recipients()
        except InputError as exc:
            return Verdict.ERROR, f"Cannot verify: {exc}.", [*evidence, *evidence_files(body)]
        undisclosed = undisclosed_recipients(hosts, [own], catalogue)
        evidence.append(Evidence("ownHosts", sorted({own, *catalogue.own_hosts}), "the portal's own origins"))
        disclosed = sorted(
            {
                f"{host}: {recipient.name} ({recipient.claim})"
                for host in hosts
                if host not in undisclosed and (recipient := catalogue.disclosed_by(host)) is not None
            }
        )
        evidence.append(Evidence("disclosedRecipientsContacted", disclosed, "recipients the policy names"))
        loads: dict[str, list[str]] = {host: [] for host in undisclosed}
        for request in requests:  # type: ignore[union-attr]
            host = normalise_host(str(request.get("host") or ""))
            if host in loads:
                loads[host].append(describe(request))
        listed = {
            host or "(no host)": items[:PER_HOST]
            + ([f"... {len(items) - PER_HOST} more"] if len(items) > PER_HOST else [])
            for host, items in loads.items()
        }
        evidence.append(Evidence("undisclosedRecipients", listed, "none"))
        evidence.extend(evidence_files(body))
        if undisclosed:
            named = ", ".join(f"{host or '(no host)'} ({len(loads[host])} request(s))" for host in undisclosed)
            return Verdict.FAIL, f"Undisclosed recipients of visitors' IP addresses: {named}.", evidence
        note = f"; disclosed recipients contacted: {len(disclosed)}" if disclosed else ""
        return (
            Verdict.PASS,
            f"{len(hosts)} host(s) contacted, each the portal's own or a disclosed recipient{note}.",
            evidence,
        )


CHECK = BrowserRecipientsDisclosed()
