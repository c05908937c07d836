"""The database refuses TLS below the configured floor (server parameter ``ssl_min_protocol_version``)."""

from __future__ import annotations

from compliance_checks.checks import domains
from compliance_checks.checks.base import CheckMeta, VersionAtLeast
from compliance_checks.checks.postgres_parameter import ServerParameterCheck
from compliance_checks.findings import Severity

CHECK = ServerParameterCheck(
    meta=CheckMeta(
        id="postgres_min_tls_version",
        title="Database requires TLS 1.2 or higher",
        severity=Severity.HIGH,
        claims=("SEC-TLS",),
        rationale="TLS 1.0 and 1.1 are deprecated; the database must not negotiate them.",
        remediation="Set the server parameter ssl_min_protocol_version to TLSv1.2 or TLSv1.3.",
        references=("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-ssl-tls",),
    ),
    parameter="ssl_min_protocol_version",
    expect=lambda params: VersionAtLeast(params.min_tls_version),
    domain=domains.PG_TLS_VERSION,
)
