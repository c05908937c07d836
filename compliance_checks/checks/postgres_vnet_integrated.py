"""The database lives in a delegated subnet with a private DNS zone (private access)."""

from compliance_checks.checks import domains
from compliance_checks.checks.base import CheckMeta, IsSet, PropertyCheck, Rule
from compliance_checks.findings import Severity

CHECK = PropertyCheck(
    meta=CheckMeta(
        id="postgres_vnet_integrated",
        title="Database is VNet-integrated",
        severity=Severity.HIGH,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale=(
            "Only a VNet-integrated server is reachable exclusively through the network paths the NSG controls."
        ),
        remediation="Create the server with network.delegatedSubnetResourceId and network.privateDnsZoneArmResourceId.",
        references=("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-private",),
    ),
    resource_type="Microsoft.DBforPostgreSQL/flexibleServers",
    rules=(
        Rule(
            "properties.network.delegatedSubnetResourceId",
            IsSet(),
            domain=domains.ArmId("Microsoft.Network/virtualNetworks/subnets"),
        ),
        Rule(
            "properties.network.privateDnsZoneArmResourceId",
            IsSet(),
            domain=domains.ArmId("Microsoft.Network/privateDnsZones"),
        ),
    ),
)
