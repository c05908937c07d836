"""An enabled activity-log alert fires on any change to NSGs, security rules or database firewall rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compliance_checks.checks.base import Check, CheckMeta, Params
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import Inventory

REQUIRED_OPERATIONS = frozenset(
    {
        "microsoft.network/networksecuritygroups/write",
        "microsoft.network/networksecuritygroups/securityrules/write",
        "microsoft.dbforpostgresql/flexibleservers/firewallrules/write",
    }
)


def watched_operations(condition: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(condition, dict):
        if str(condition.get("field", "")).lower() == "operationname" and isinstance(condition.get("equals"), str):
            found.add(condition["equals"].lower())
        for value in condition.values():
            found |= watched_operations(value)
    elif isinstance(condition, list):
        for item in condition:
            found |= watched_operations(item)
    return found


class NetworkChangeAlert(Check):
    meta = CheckMeta(
        id="activity_log_alert_network_changes",
        title="Changes to NSGs and database firewall rules raise an alert",
        severity=Severity.MEDIUM,
        claims=("SEC-DATA-PROTECTION",),
        rationale="Whoever widens the path to the database must not go unnoticed.",
        remediation="Create an enabled activity-log alert on the NSG, security-rule and firewall-rule write operations.",
        references=("https://learn.microsoft.com/azure/azure-monitor/alerts/activity-log-alerts",),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        alerts = inventory.of_type("Microsoft.Insights/activityLogAlerts")
        covering = []
        for alert in alerts:
            watched = watched_operations(alert.get("properties.condition"))
            if alert.get("properties.enabled") is True and watched >= REQUIRED_OPERATIONS:
                covering.append(alert)
        evidence = Evidence(
            "activityLogAlerts", [a.name for a in alerts], "enabled, covering " + ", ".join(sorted(REQUIRED_OPERATIONS))
        )
        if covering:
            for alert in covering:
                yield self.finding(alert, Verdict.PASS, "Alerts on NSG and firewall changes.", evidence)
        else:
            yield self.finding(
                alerts[0] if alerts else None,
                Verdict.FAIL,
                "No enabled alert covers NSG and firewall changes.",
                evidence,
            )


CHECK = NetworkChangeAlert()
