"""CKV_SMART_5: the database has public network access disabled (claim SEC-DB-SINGLE-IP-VPN).

The privacy policy says the personal-data database is reachable from one IP
address through a VPN. A PostgreSQL flexible server must therefore declare
``network.publicNetworkAccess: Disabled`` (VNet integration); a missing value
is a FAIL.
"""

# checkov lives in its own virtualenv (.venv-checkov), not in the project's; mypy cannot see it.
# mypy: disable-error-code="import-not-found,misc"

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class PostgresPublicAccessDisabled(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the PostgreSQL flexible server has public network access disabled [SEC-DB-SINGLE-IP-VPN]",
            id="CKV_SMART_5",
            categories=(CheckCategories.NETWORKING,),
            supported_resources=("Microsoft.DBforPostgreSQL/flexibleServers",),
            guideline="https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-private",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/network/publicNetworkAccess"]
        properties = conf.get("properties")
        network = properties.get("network") if isinstance(properties, dict) else None
        value = network.get("publicNetworkAccess") if isinstance(network, dict) else None
        if isinstance(value, str) and value.strip().lower() == "disabled":
            return CheckResult.PASSED
        return CheckResult.FAILED


check = PostgresPublicAccessDisabled()
