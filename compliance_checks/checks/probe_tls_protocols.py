"""The portal's TLS endpoints refuse SSL 3, TLS 1.0 and 1.1 and present a valid, matching certificate.

Probe/tls record: ``acceptedProtocols`` (list such as ["TLSv1.2", "TLSv1.3"]),
``certificate.chainValid``, ``certificate.hostnameMatches``,
``certificate.daysToExpiry``. A certificate that expires in fewer than 30 days
still passes, with a WARN every report shows. Cipher suites and key exchange
groups are judged by probe_tls_cipher_suites, the certificate's key and
signature by probe_tls_certificate, HSTS by probe_http_hsts_redirect.
"""

from __future__ import annotations

from compliance_checks.checks.base import CheckMeta, Params, sentence, version_tuple
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource

EXPIRY_WARNING_DAYS = 30


class TlsProtocols(ProbeCheck):
    probe_type = "Probe/tls"
    meta = CheckMeta(
        id="probe_tls_protocols",
        title="Live: TLS endpoints accept only TLS 1.2+ with a valid certificate",
        severity=Severity.HIGH,
        claims=("SEC-TLS",),
        rationale="What the configuration says is verified at the wire: old protocols refused, certificate valid.",
        remediation="Raise minTlsVersion; renew or rebind the certificate.",
        references=("https://learn.microsoft.com/azure/app-service/overview-tls",),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        accepted = probe.get("acceptedProtocols")
        floor = version_tuple(params.min_tls_version) or (1, 2)
        weak = (
            [p for p in accepted if "ssl" in str(p).lower() or (version_tuple(str(p)) or (0,)) < floor]
            if isinstance(accepted, list)
            else None
        )
        chain, match, days = (
            probe.get("certificate.chainValid"),
            probe.get("certificate.hostnameMatches"),
            probe.get("certificate.daysToExpiry"),
        )
        evidence = [
            Evidence("acceptedProtocols", accepted, f"TLS {params.min_tls_version} or higher only"),
            Evidence("certificate.chainValid", chain, "true"),
            Evidence("certificate.hostnameMatches", match, "true"),
            Evidence("certificate.daysToExpiry", days, "> 0"),
        ]
        if weak is None or not isinstance(days, int):
            return Verdict.ERROR, "Cannot verify: probe record incomplete.", evidence
        problems = []
        if weak:
            problems.append(f"accepts {', '.join(map(str, weak))}")
        if chain is not True:
            problems.append("certificate chain is not valid")
        if match is not True:
            problems.append("certificate does not match the host name")
        if days <= 0:
            problems.append("certificate has expired")
        if problems:
            return Verdict.FAIL, sentence("; ".join(problems)), evidence
        note = f" Certificate expires in {days} days: renew soon." if days < EXPIRY_WARNING_DAYS else ""
        # sslyze offers one SNI name per scan: a server may answer another name, or a client sending none,
        # with another configuration; the PASS is for the name measured.
        name = probe.get("serverName")
        scope = (
            f" (measured for server name {name}; other names and clients without SNI were not tested)"
            if isinstance(name, str) and name
            else ""
        )
        return Verdict.PASS, f"Only {', '.join(map(str, accepted))}; certificate valid{scope}.{note}", evidence

    def warnings(self, probe: Resource, params: Params) -> tuple[str, ...]:
        days, not_after = probe.get("certificate.daysToExpiry"), probe.get("certificate.notAfter")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 < days < EXPIRY_WARNING_DAYS:
            return ()  # expired (<= 0) is a FAIL already; unknown is the judge's ERROR
        return (f"Certificate expires in {days} days (notAfter {not_after}): renew it before it lapses.",)


CHECK = TlsProtocols()
