"""CKV_SMART_4: Log Analytics keeps logs at most 90 days (claim SEC-DATA-PROTECTION).

Logs hold visitors' IP addresses, which are personal data; storage limitation
(GDPR Art. 5(1)(e)) caps how long they are kept. ``retentionInDays`` must be
declared as a whole number from 1 to 90: a missing value, an expression or
anything longer is a FAIL.
"""

# checkov lives in its own virtualenv (.venv-checkov), not in the project's; mypy cannot see it.
# mypy: disable-error-code="import-not-found,misc"

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

MAX_RETENTION_DAYS = 90


class LogRetentionAtMost90Days(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Log Analytics keeps logs at most 90 days (retentionInDays 1 to 90) [SEC-DATA-PROTECTION]",
            id="CKV_SMART_4",
            categories=(CheckCategories.LOGGING,),
            supported_resources=("Microsoft.OperationalInsights/workspaces",),
            guideline="https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/retentionInDays"]
        properties = conf.get("properties")
        value = properties.get("retentionInDays") if isinstance(properties, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_RETENTION_DAYS:
            return CheckResult.PASSED
        return CheckResult.FAILED


check = LogRetentionAtMost90Days()
