"""Every connection to the database must use TLS (server parameter ``require_secure_transport=on``)."""

from __future__ import annotations

from compliance_checks.checks.base import CheckMeta, Equals
from compliance_checks.checks.postgres_parameter import ServerParameterCheck
from compliance_checks.findings import Severity

CHECK = ServerParameterCheck(
    meta=CheckMeta(
        id="postgres_require_secure_transport",
        title="Database requires TLS for every connection",
        severity=Severity.HIGH,
        claims=("SEC-TLS",),
        rationale="With require_secure_transport off, clients may connect without TLS and personal data crosses the network in clear text.",
        remediation="Set the server parameter require_secure_transport to on.",
        references=("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-ssl-tls",),
    ),
    parameter="require_secure_transport",
    expect=lambda params: Equals("on"),
)
