"""The personal-data database has no public endpoint at all."""

from compliance_checks.checks.base import CheckMeta, Equals, PropertyCheck, Rule
from compliance_checks.findings import Severity

CHECK = PropertyCheck(
    meta=CheckMeta(
        id="postgres_public_access_disabled",
        title="Database has public network access disabled",
        severity=Severity.CRITICAL,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale=(
            "A public endpoint would make the database reachable from the internet, guarded only by firewall rules, not 'only via a single IP through VPN'."
        ),
        remediation="Deploy the server VNet-integrated with network.publicNetworkAccess=Disabled.",
        references=("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-private",),
    ),
    resource_type="Microsoft.DBforPostgreSQL/flexibleServers",
    rules=(Rule("properties.network.publicNetworkAccess", Equals("Disabled")),),
)
