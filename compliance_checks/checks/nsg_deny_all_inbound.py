"""Every NSG denies inbound traffic by default and allows nothing from everywhere."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Params, sentence
from compliance_checks.checks.network_helpers import RULE_READS, is_broad, is_inbound_allow, rule_value, sources
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import UNKNOWN, Inventory


def is_deny_all_inbound(rule: dict[str, object]) -> bool:
    return (
        str(rule_value(rule, "access")).lower() == "deny"
        and str(rule_value(rule, "direction")).lower() == "inbound"
        and sources(rule) <= {"*"}
        and bool(sources(rule))
        and str(rule_value(rule, "destinationPortRange")) == "*"
        and str(rule_value(rule, "protocol")) == "*"
    )


class NsgDenyAllInbound(Check):
    meta = CheckMeta(
        id="nsg_deny_all_inbound",
        title="Network security groups deny inbound traffic by default",
        severity=Severity.HIGH,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale=(
            "Azure's implicit AllowVnetInBound admits every address of the VNet and of every connected VPN; only an"
            " explicit deny-all rule makes the listed sources the only ones."
        ),
        remediation="End each NSG with an inbound Deny rule for any source, port and protocol (priority 4096).",
        references=(
            "https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#default-security-rules",
        ),
    )

    subject = "Microsoft.Network/networkSecurityGroups"

    READS = (*RULE_READS,)

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for group in self.subjects(inventory):
            rules = group.get("properties.securityRules")
            evidence = Evidence("properties.securityRules", rules, "a deny-all inbound rule; no allow from anywhere")
            if rules is UNKNOWN:
                yield self.finding(group, Verdict.ERROR, "Cannot verify: rules unknown.", evidence)
                continue
            rules = rules if isinstance(rules, list) else []
            broad = [
                str(rule_value(r, "name"))
                for r in rules
                if is_inbound_allow(r) and any(is_broad(s) for s in sources(r))
            ]
            problems = []
            if broad:
                problems.append(f"allows inbound from everywhere or a whole service tag: {', '.join(broad)}")
            if not any(is_deny_all_inbound(r) for r in rules):
                problems.append("no explicit deny-all inbound rule, so AllowVnetInBound applies")
            if problems:
                yield self.finding(group, Verdict.FAIL, sentence("; ".join(problems)), evidence)
            else:
                yield self.finding(group, Verdict.PASS, "Denies by default; no allow from everywhere.", evidence)


CHECK = NsgDenyAllInbound()
