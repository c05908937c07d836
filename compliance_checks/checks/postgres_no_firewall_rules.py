"""The database has no firewall rules: with private access, any rule would be drift or a second door."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import Inventory

SERVER = "Microsoft.DBforPostgreSQL/flexibleServers"
RULE = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"


class NoFirewallRules(Check):
    meta = CheckMeta(
        id="postgres_no_firewall_rules",
        title="Database has no firewall rules",
        severity=Severity.CRITICAL,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale=(
            "Firewall rules open the public endpoint to address ranges. The promise allows one path only: the"
            " single IP through the VPN, enforced by the subnet's NSG."
        ),
        remediation="Delete every firewall rule and keep public network access disabled.",
        references=("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-firewall-rules",),
    )

    READS = (
        Read("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", "properties.startIpAddress"),
        Read("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", "properties.endIpAddress"),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        servers = inventory.of_type(SERVER)
        if not servers:
            yield self.error_nothing_found(f"no {SERVER} in the inventory")
            return
        for server in servers:
            mine = inventory.children(server, RULE)
            observed = [
                f"{r.name}: {r.get('properties.startIpAddress')}-{r.get('properties.endIpAddress')}" for r in mine
            ]
            evidence = Evidence("firewallRules", observed, "none")
            if mine:
                yield self.finding(
                    server, Verdict.FAIL, f"{len(mine)} firewall rule(s): {'; '.join(observed)}.", evidence
                )
            else:
                yield self.finding(server, Verdict.PASS, "No firewall rules.", evidence)


CHECK = NoFirewallRules()
