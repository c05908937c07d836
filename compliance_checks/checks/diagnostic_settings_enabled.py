"""Portal, database, VPN gateway and Key Vault send their logs to Log Analytics."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks import domains
from compliance_checks.checks.base import Boolean, Check, CheckMeta, Params, Read, Text
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import Inventory, is_arm_id

TARGETS = (
    "Microsoft.Web/sites",
    "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.Network/virtualNetworkGateways",
    "Microsoft.KeyVault/vaults",
)


class DiagnosticSettingsEnabled(Check):
    meta = CheckMeta(
        id="diagnostic_settings_enabled",
        title="Diagnostic logs of portal, database, VPN gateway and Key Vault go to Log Analytics",
        severity=Severity.MEDIUM,
        claims=("SEC-DATA-PROTECTION",),
        rationale="Without logs, access to personal data and changes to its protection cannot be reconstructed (GDPR Art. 5(2), 32).",
        remediation="Add a diagnostic setting with the allLogs category group and a Log Analytics workspace.",
        references=("https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings",),
    )

    READS = (
        Read("Microsoft.Insights/diagnosticSettings", "properties.workspaceId", domain=domains.WORKSPACE_ID),
        Read("Microsoft.Insights/diagnosticSettings", "properties.logs[*].enabled", domain=Boolean(), required=True),
        # A log entry names a category or a category group: either may be absent.
        Read(
            "Microsoft.Insights/diagnosticSettings", "properties.logs[*].categoryGroup", absent_ok=True, domain=Text()
        ),
        Read("Microsoft.Insights/diagnosticSettings", "properties.logs[*].category", absent_ok=True, domain=Text()),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        targets = inventory.of_type(*TARGETS)
        if not targets:
            yield self.error_nothing_found("none of " + ", ".join(TARGETS))
            return
        for target in targets:
            mine = inventory.children(target, "Microsoft.Insights/diagnosticSettings")
            good = [
                s
                for s in mine
                if is_arm_id(s.get("properties.workspaceId"))
                and any(
                    isinstance(log, dict)
                    and log.get("enabled") is True
                    and (str(log.get("categorygroup", "")).lower() in ("alllogs", "audit") or log.get("category"))
                    for log in s.get("properties.logs") or []
                )
            ]
            evidence = Evidence("diagnosticSettings", [s.name for s in mine], "a setting with logs to a workspace")
            if good:
                yield self.finding(target, Verdict.PASS, f"Logs go to Log Analytics ({good[0].name}).", evidence)
            else:
                yield self.finding(target, Verdict.FAIL, "No diagnostic setting sends logs to a workspace.", evidence)


CHECK = DiagnosticSettingsEnabled()
