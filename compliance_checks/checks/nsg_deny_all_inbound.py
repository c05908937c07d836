"""Every NSG denies inbound traffic by default and allows nothing from everywhere.

"Denies by default" is evaluated, not pattern-matched: the NSG's own rules, in priority order with first
match, must decide every inbound packet (every protocol, source and destination address and port), so that
none is left to the default rules AllowVNetInBound and AllowAzureLoadBalancerInBound
(compliance_checks/evaluate/nsg.py). A deny-all limited to one source port, one destination or one protocol
is therefore no deny-all, and several narrower denies that together cover everything are one.
"""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params, Read, sentence
from compliance_checks.checks.network_helpers import NSG, RULE_READS, is_broad, is_inbound_allow, rule_value, sources
from compliance_checks.evaluate import nsg
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import UNKNOWN, Inventory, Resource

_RULES = "properties.securityRules[*]"
_ASG_IDS = domains.ListOf(domains.Object(("id",)))
# Everything the evaluator reads of a rule (nsg.RULE_PATHS) beyond the shared RULE_READS. Absent is valid for
# each alone (the singular or the plural spelling is used); a rule with neither is unknown to the evaluator.
NSG_RULE_READS = (
    *RULE_READS,
    Read(NSG, f"{_RULES}.sourcePortRange", absent_ok=True, domain=domains.PORT_RANGE),
    Read(NSG, f"{_RULES}.sourcePortRanges", absent_ok=True, domain=domains.PORT_RANGES),
    Read(NSG, f"{_RULES}.destinationAddressPrefix", absent_ok=True, domain=domains.ADDRESS_PREFIX),
    Read(NSG, f"{_RULES}.destinationAddressPrefixes", absent_ok=True, domain=domains.ADDRESS_PREFIXES),
    Read(NSG, f"{_RULES}.sourceApplicationSecurityGroups", absent_ok=True, domain=_ASG_IDS),
    Read(NSG, f"{_RULES}.destinationApplicationSecurityGroups", absent_ok=True, domain=_ASG_IDS),
)


def group_vnet(inventory: Inventory, group: Resource) -> Resource | None:
    """The one virtual network whose subnets use this NSG (its VirtualNetwork tag), if there is exactly one."""
    vnets = {
        parent.id_key: parent
        for subnet in inventory.refs_to(group)
        if subnet.type_key == nsg.SUBNET.lower() and (parent := inventory.parent(subnet)) is not None
    }
    return next(iter(vnets.values())) if len(vnets) == 1 else None


class NsgDenyAllInbound(Check):
    meta = CheckMeta(
        id="nsg_deny_all_inbound",
        title="Network security groups deny inbound traffic by default",
        severity=Severity.HIGH,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale=(
            "Azure's implicit AllowVnetInBound admits every address of the VNet and of every connected VPN; only"
            " rules that decide every inbound packet themselves make the listed sources the only ones."
        ),
        remediation="End each NSG with an inbound Deny rule for any source, port and protocol (priority 4096).",
        references=(
            "https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#default-security-rules",
        ),
    )

    subject = NSG

    READS = NSG_RULE_READS

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for group in self.subjects(inventory):
            rules = group.get("properties.securityRules")
            expected = "every inbound packet decided by the NSG's own rules; no allow from anywhere"
            if rules is UNKNOWN:
                yield self.finding(
                    group,
                    Verdict.ERROR,
                    "Cannot verify: rules unknown.",
                    Evidence("properties.securityRules", rules, expected),
                )
                continue
            listed = rules if isinstance(rules, list) else []
            broad = [
                str(rule_value(r, "name"))
                for r in listed
                if isinstance(r, dict) and is_inbound_allow(r) and any(is_broad(s) for s in sources(r))
            ]
            vnet = group_vnet(inventory, group)
            tags = nsg.tags_for(inventory, vnet)
            falling = nsg.reaching_defaults(nsg.read_group(group.name, rules, tags))
            evidence = Evidence(
                "inbound traffic left to the default rules", falling.table("the default rules"), expected
            )
            looked_at = Evidence("properties.securityRules", rules, "the rules evaluated")
            problems = []
            if broad:
                problems.append(f"allows inbound from everywhere or a whole service tag: {', '.join(broad)}")
            if falling.known and falling.pieces:
                problems.append(
                    "its rules leave inbound traffic to the default rules (AllowVnetInBound, "
                    f"AllowAzureLoadBalancerInBound), e.g. {falling.rows('the default rules')[0]}"
                )
            if problems:
                yield self.finding(group, Verdict.FAIL, sentence("; ".join(problems)), evidence, looked_at)
            elif not falling.known:
                yield self.finding(
                    group, Verdict.ERROR, f"Cannot verify: {'; '.join(falling.unknown)}.", evidence, looked_at
                )
            else:
                yield self.finding(
                    group, Verdict.PASS, "Denies by default; no allow from everywhere.", evidence, looked_at
                )


CHECK = NsgDenyAllInbound()
