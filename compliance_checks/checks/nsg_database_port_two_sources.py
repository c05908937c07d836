"""Only two sources may reach the database port: the portal's subnet and the VPN source of the one IP.

The allowed sources are derived from the inventory itself: the subnet the web
app integrates with, and the VPN side (the site-to-site office address, or the
point-to-site client pool). With a zone-redundant server its own delegated
subnet (primary and standby) is allowed too. Any other source on an inbound
allow rule that covers the database port fails, and so does a database subnet
without an NSG or without a deny-all rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.checks.network_helpers import (
    RULE_READS,
    is_inbound_allow,
    normalise_prefix,
    port_covered,
    sources,
)
from compliance_checks.checks.nsg_deny_all_inbound import is_deny_all_inbound
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import UNKNOWN, Inventory, Resource


def subnet_prefixes(subnet: Resource) -> set[str]:
    found = [subnet.get("properties.addressPrefix"), *(subnet.get("properties.addressPrefixes") or [])]
    return {normalise_prefix(str(p)) for p in found if isinstance(p, str) and p}


def vpn_sources(inventory: Inventory) -> set[str]:
    allowed: set[str] = set()
    for gateway in inventory.of_type("Microsoft.Network/virtualNetworkGateways"):
        pool = gateway.get("properties.vpnClientConfiguration.vpnClientAddressPool.addressPrefixes")
        if isinstance(pool, list):
            allowed |= {normalise_prefix(str(p)) for p in pool}
    for local in inventory.of_type("Microsoft.Network/localNetworkGateways"):
        space = local.get("properties.localNetworkAddressSpace.addressPrefixes")
        if isinstance(space, list):
            allowed |= {normalise_prefix(str(p)) for p in space}
    return allowed


def portal_sources(inventory: Inventory) -> set[str]:
    allowed: set[str] = set()
    for site in inventory.of_type("Microsoft.Web/sites"):
        subnet_id = site.get("properties.virtualNetworkSubnetId")
        subnet = inventory.get(subnet_id) if isinstance(subnet_id, str) else None
        if subnet is not None:
            allowed |= subnet_prefixes(subnet)
    return allowed


class DatabasePortTwoSources(Check):
    meta = CheckMeta(
        id="nsg_database_port_two_sources",
        title="Database port is open only to the portal subnet and the VPN source of the single IP",
        severity=Severity.CRITICAL,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale=(
            "The policy promises the personal-data database is reachable only via a single IP address through"
            " VPN. Besides the portal itself, nothing else may open the database port."
        ),
        remediation=(
            "On the database subnet's NSG, allow the database port only from the portal's integration subnet and"
            " the VPN source, then deny all other inbound traffic."
        ),
        references=("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-private",),
    )

    READS = (
        Read("Microsoft.DBforPostgreSQL/flexibleServers", "properties.network.delegatedSubnetResourceId"),
        # Only the database subnet's NSG decides; a missing one there FAILs (others may have none).
        Read(
            "Microsoft.Network/virtualNetworks/subnets",
            "properties.networkSecurityGroup.id",
            absent_ok=True,
            domain=domains.ArmId("Microsoft.Network/networkSecurityGroups"),
        ),
        # A subnet without a prefix adds no allowed source (a narrower allowance can only FAIL).
        Read(
            "Microsoft.Network/virtualNetworks/subnets", "properties.addressPrefix", absent_ok=True, domain=domains.CIDR
        ),
        *RULE_READS,
        Read("Microsoft.Web/sites", "properties.virtualNetworkSubnetId"),
        Read(
            "Microsoft.Network/virtualNetworkGateways",
            "properties.vpnClientConfiguration.vpnClientAddressPool.addressPrefixes",
        ),
        Read("Microsoft.Network/localNetworkGateways", "properties.localNetworkAddressSpace.addressPrefixes"),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        servers = inventory.of_type("Microsoft.DBforPostgreSQL/flexibleServers")
        if not servers:
            yield self.error_nothing_found("no Microsoft.DBforPostgreSQL/flexibleServers in the inventory")
            return
        base_allowed = portal_sources(inventory) | vpn_sources(inventory)
        for server in servers:
            subnet_id = server.get("properties.network.delegatedSubnetResourceId")
            if subnet_id is UNKNOWN:
                yield self.finding(
                    server,
                    Verdict.ERROR,
                    "Cannot verify: database subnet unknown.",
                    Evidence("properties.network.delegatedSubnetResourceId", subnet_id, "a subnet"),
                )
                continue
            subnet = inventory.get(subnet_id) if isinstance(subnet_id, str) else None
            if subnet is None:
                verdict = Verdict.FAIL if not isinstance(subnet_id, str) else Verdict.ERROR
                yield self.finding(
                    server,
                    verdict,
                    "The database is in no subnet of the inventory: its sources cannot be limited.",
                    Evidence("properties.network.delegatedSubnetResourceId", subnet_id, "a subnet in the inventory"),
                )
                continue
            yield from self._judge_subnet(inventory, server, subnet, base_allowed, params)

    def _judge_subnet(
        self, inventory: Inventory, server: Resource, subnet: Resource, base_allowed: set[str], params: Params
    ) -> Iterable[Finding]:
        allowed = set(base_allowed)
        if str(server.get("properties.highAvailability.mode")).lower() in ("zoneredundant", "samezone"):
            allowed |= subnet_prefixes(subnet)
        group_id = subnet.get("properties.networkSecurityGroup.id")
        group = inventory.get(group_id) if isinstance(group_id, str) else None
        expected = "only from " + (", ".join(sorted(allowed)) or "(no source could be derived)")
        if group_id is UNKNOWN or (isinstance(group_id, str) and group is None):
            yield self.finding(
                server,
                Verdict.ERROR,
                "Cannot verify: the database subnet's NSG is unknown.",
                Evidence("subnet.networkSecurityGroup", group_id, "an NSG in the inventory"),
            )
            return
        if group is None:
            yield self.finding(
                server,
                Verdict.FAIL,
                f"Subnet {subnet.name} has no NSG: the whole VNet reaches port {params.database_port}.",
                Evidence("subnet.networkSecurityGroup", group_id, "an NSG"),
            )
            return
        rules = group.get("properties.securityRules")
        if rules is UNKNOWN:
            yield self.finding(
                group,
                Verdict.ERROR,
                "Cannot verify: rules unknown.",
                Evidence("properties.securityRules", rules, expected),
            )
            return
        rules = rules if isinstance(rules, list) else []
        observed: set[str] = set()
        offending: list[str] = []
        for rule in rules:
            if is_inbound_allow(rule) and port_covered(rule, params.database_port):
                for source in sources(rule):
                    observed.add(source)
                    if normalise_prefix(source) not in allowed:
                        offending.append(f"{source} (rule {rule.get('name')})")
        evidence = Evidence(f"sources allowed to port {params.database_port}", sorted(observed), expected)
        if offending:
            yield self.finding(
                group, Verdict.FAIL, f"Port {params.database_port} is also open to {', '.join(offending)}.", evidence
            )
        elif not any(is_deny_all_inbound(r) for r in rules):
            yield self.finding(
                group,
                Verdict.FAIL,
                "No deny-all inbound rule: AllowVnetInBound opens the port to the whole VNet and VPN.",
                evidence,
            )
        else:
            yield self.finding(
                group, Verdict.PASS, f"Port {params.database_port} only from {', '.join(sorted(observed))}.", evidence
            )


CHECK = DatabasePortTwoSources()
