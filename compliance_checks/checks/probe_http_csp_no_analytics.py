"""The enforced Content-Security-Policy blocks scripts from, and connections to, every known tracker host.

Probe/http record: ``contentSecurityPolicy`` (the Content-Security-Policy
headers, joined with ", "), ``contentSecurityPolicyReportOnly`` (the
Content-Security-Policy-Report-Only headers) and ``contentSecurityPolicyMeta``
(the ``<meta http-equiv>`` policies in ``<head>``). Records of an older probe
lack the last two: they count as absent.

Judged by effect, per CSP Level 3 (compliance_checks/probes/csp.py): for each
host of the tracker list in use (compliance_checks/trackers.py), would the
enforced policies -- all of them, each must allow -- let the page load a script
from it (``script-src-elem`` -> ``script-src`` -> ``default-src``) or connect
to it (``connect-src`` -> ``default-src``)? A missing directive, ``*``, a
scheme source (``https:``), a wildcard such as ``*.com`` and
``'strict-dynamic'`` all allow. PASS only when both are blocked for every
host; a report-only policy blocks nothing, so it alone is a FAIL that says so.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from compliance_checks.checks.base import CheckMeta, Params
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import MISSING, Resource
from compliance_checks.probes.csp import (
    REPORT,
    WHAT,
    HostDecision,
    Origin,
    Policy,
    allowed_hosts,
    parse_meta_policy,
    parse_policy_list,
)
from compliance_checks.trackers import active_list

KINDS = ("script", "connect")
SHOWN = 5  # hosts named per cause in the message; the evidence has them all


def _policies(probe: Resource) -> tuple[list[Policy], list[Policy]] | str:
    """(enforced, report-only) policies of the record, or the reason it cannot be read."""
    # Absent (an older probe's record) and null both mean no such policy; anything else must be text.
    header, report_only, meta = (
        None if value is MISSING else value
        for value in (
            probe.get("contentSecurityPolicy"),
            probe.get("contentSecurityPolicyReportOnly"),
            probe.get("contentSecurityPolicyMeta"),
        )
    )
    for name, value in (("contentSecurityPolicy", header), ("contentSecurityPolicyReportOnly", report_only)):
        if value is not None and not isinstance(value, str):
            return f"{name} is not text"
    if meta is not None and not (isinstance(meta, list) and all(isinstance(m, str) for m in meta)):
        return "contentSecurityPolicyMeta is not a list of texts"
    enforced = parse_policy_list(header if isinstance(header, str) else None)
    for content in meta or []:
        enforced.extend(parse_meta_policy(content))
    reported = parse_policy_list(report_only if isinstance(report_only, str) else None, disposition=REPORT)
    return enforced, reported


def _summary(decisions: list[HostDecision]) -> list[str]:
    by_cause: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for decision in decisions:
        by_cause[(decision.kind, decision.because)].append(decision.host)
    parts = []
    for (kind, because), hosts in sorted(by_cause.items()):
        named = ", ".join(hosts[:SHOWN]) + (f" and {len(hosts) - SHOWN} more" if len(hosts) > SHOWN else "")
        parts.append(f"{WHAT[kind]} {named} ({'; '.join(because)})")
    return parts


class CspNoAnalytics(ProbeCheck):
    probe_type = "Probe/http"
    meta = CheckMeta(
        id="probe_http_csp_no_analytics",
        title="Live: Content-Security-Policy blocks scripts from and connections to every analytics host",
        severity=Severity.MEDIUM,
        claims=("PRIV-NO-ANALYTICS",),
        rationale=(
            "An enforced CSP that admits only the portal's own origins keeps analytics out even if a dependency "
            "tries to load it; a report-only policy, a scheme source such as https: or a wildcard does not."
        ),
        remediation=(
            "Send an enforced Content-Security-Policy header whose script-src and connect-src (or default-src) "
            "list only the portal's own origins: no *, no scheme sources, no wildcard domains, no 'strict-dynamic'."
        ),
        references=(
            "https://www.w3.org/TR/CSP3/#directive-fallback-list",
            "https://www.w3.org/TR/CSP3/#match-url-to-source-expression",
            "https://www.w3.org/TR/CSP3/#meta-element",
            "https://www.w3.org/TR/CSP3/#cspro-header",
        ),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        trackers = active_list()
        observed: dict[str, Any] = {
            key: None if value is MISSING else value
            for key, value in (
                ("header", probe.get("contentSecurityPolicy")),
                ("reportOnly", probe.get("contentSecurityPolicyReportOnly")),
                ("meta", probe.get("contentSecurityPolicyMeta")),
            )
        }
        evidence = [
            Evidence("contentSecurityPolicy*", observed, "an enforced policy (header or <meta>)"),
            Evidence("trackerLists", trackers.evidence(), "the lists the hosts were taken from"),
        ]
        read = _policies(probe)
        if isinstance(read, str):
            return Verdict.ERROR, f"Cannot verify: {read}.", evidence
        enforced, reported = read
        if not enforced:
            if reported:
                return (
                    Verdict.FAIL,
                    "Only a Content-Security-Policy-Report-Only policy: it reports violations and blocks nothing, "
                    "so any analytics script would load.",
                    evidence,
                )
            return Verdict.FAIL, "No enforced Content-Security-Policy (neither header nor <meta>).", evidence
        url = probe.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            # The HTTP probe asks https://<name>/ (compliance_checks/probes/http.py); without a URL that is the origin.
            url = f"https://{probe.name}/"
        origin = Origin.of(url)
        if not origin.host:
            return Verdict.ERROR, "Cannot verify: the probed origin (the policy's 'self') is not recorded.", evidence
        hosts = trackers.third_party_hosts()
        decisions = [
            decision
            for kind in KINDS
            for decision in allowed_hosts(enforced, kind, hosts, origin, trackers.is_tracker_host)
        ]
        evidence.append(
            Evidence(
                "allowedTrackerRequests",
                [f"{d.kind} {d.url}: {'; '.join(d.because)}" for d in decisions],
                f"none of {len(hosts)} tracker hosts reachable by script or connection",
            )
        )
        ignored = [f"{policy.label}: {', '.join(policy.ignored)}" for policy in enforced if policy.ignored]
        if ignored:
            evidence.append(Evidence("ignoredDirectives", ignored, "none"))
        if decisions:
            return Verdict.FAIL, "The enforced CSP allows " + "; ".join(_summary(decisions)) + ".", evidence
        note = " (the report-only policy enforces nothing and was not counted)" if reported else ""
        return (
            Verdict.PASS,
            f"The enforced CSP ({len(enforced)} polic{'y' if len(enforced) == 1 else 'ies'}) blocks scripts from and "
            f"connections to all {len(hosts)} tracker hosts of {trackers.describe()}{note}.",
            evidence,
        )


CHECK = CspNoAnalytics()
