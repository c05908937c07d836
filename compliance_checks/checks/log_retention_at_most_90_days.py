"""Logs with visitors' IP addresses are kept no longer than the configured maximum (default 90 days)."""

from compliance_checks.checks import domains
from compliance_checks.checks.base import AtMost, CheckMeta, PropertyCheck, Rule
from compliance_checks.findings import Severity

CHECK = PropertyCheck(
    meta=CheckMeta(
        id="log_retention_at_most_90_days",
        title="Log Analytics keeps logs at most 90 days",
        severity=Severity.MEDIUM,
        claims=("SEC-DATA-PROTECTION",),
        rationale=(
            "IP addresses in logs are personal data; storage limitation (GDPR Art. 5(1)(e)) caps how long they are kept."
        ),
        remediation="Set retentionInDays to 90 or less.",
        references=("https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure",),
    ),
    resource_type="Microsoft.OperationalInsights/workspaces",
    rules=(
        Rule(
            "properties.retentionInDays",
            lambda p: AtMost(p.max_log_retention_days),
            domain=domains.WORKSPACE_RETENTION_DAYS,
        ),
    ),
)
