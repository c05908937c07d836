"""The SCM (Kudu) site, the developers' door into the portal, admits single addresses only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.checks.network_helpers import single_address
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue

WEB_APPS = ("Microsoft.Web/sites", "Microsoft.Web/sites/slots")
_CONFIG = "properties.siteConfig"
DEFAULT_ACTION = f"{_CONFIG}.scmIpSecurityRestrictionsDefaultAction"
USE_MAIN = f"{_CONFIG}.scmIpSecurityRestrictionsUseMain"
RULES = f"{_CONFIG}.scmIpSecurityRestrictions"
# IpSecurityRestriction.action is "Allow" or "Deny"; ipAddress an IPv4/IPv6 address or CIDR, or "Any"
# (Azure REST API specs, Microsoft.Web/stable/2024-04-01/CommonDefinitions.json, IpSecurityRestriction;
# https://learn.microsoft.com/azure/app-service/app-service-ip-restrictions).
ACTIONS = frozenset({"allow", "deny"})


def _opaque(value: Any) -> bool:
    return value is UNKNOWN or isinstance(value, SecretValue)


def _address_known(value: Any) -> bool:
    """An ipAddress that can be read: absent (a service tag or subnet rule), "Any", or an address or range."""
    if value is MISSING or value is None:
        return True
    if not isinstance(value, str):
        return False
    if value.lower() == "any":
        return True
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


class ScmIpRestricted(Check):
    meta = CheckMeta(
        id="webapp_scm_ip_restricted",
        title="Portal's SCM site denies by default and allows single addresses only",
        severity=Severity.MEDIUM,
        claims=("SEC-DEV-MFA",),
        rationale=(
            "Kudu gives shell and deployment access to the app. Only the developers may reach it, so it denies"
            " by default and allows the one developer address."
        ),
        remediation=(
            "Set siteConfig.scmIpSecurityRestrictionsDefaultAction=Deny, scmIpSecurityRestrictionsUseMain=false"
            " and one Allow rule for the allowed IP (/32)."
        ),
        references=("https://learn.microsoft.com/azure/app-service/app-service-ip-restrictions",),
    )

    subject = "Microsoft.Web/sites"
    # Every site and slot. UseMain absent is false (its default), so absent is fine there; a rule's
    # address may be absent (a service-tag or subnet rule: never a single address when it allows).
    READS = tuple(
        read
        for kind in WEB_APPS
        for read in (
            Read(kind, DEFAULT_ACTION),
            Read(kind, USE_MAIN, absent_ok=True),
            Read(kind, RULES),
            Read(kind, f"{RULES}[*].action"),
            Read(kind, f"{RULES}[*].ipAddress", absent_ok=True),
        )
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for site in inventory.of_type(*WEB_APPS):
            yield self._judge(site)

    def _judge(self, site: Resource) -> Finding:
        default, use_main, rules = site.get(DEFAULT_ACTION), site.get(USE_MAIN), site.get(RULES)
        evidence = [
            Evidence(DEFAULT_ACTION, default, "equals 'Deny'"),
            Evidence(USE_MAIN, use_main, "false or not set"),
            Evidence(RULES, rules, "Allow rules for single addresses"),
        ]
        unreadable = [
            name
            for name, value, fine in (
                ("the default action", default, isinstance(default, str) or default is MISSING),
                (
                    "scmIpSecurityRestrictionsUseMain",
                    use_main,
                    use_main in (MISSING, None) or isinstance(use_main, bool),
                ),
                ("the rules", rules, rules in (MISSING, None) or isinstance(rules, list)),
            )
            if _opaque(value) or not fine
        ]
        items: list[Any] = rules if isinstance(rules, list) else []
        for number, rule in enumerate(items):
            if not isinstance(rule, Mapping):
                unreadable.append(f"rule {number}")
                continue
            action = rule.get("action", MISSING)
            if not (isinstance(action, str) and action.lower() in ACTIONS):
                unreadable.append(f"the action of rule {number}")
            if not _address_known(rule.get("ipaddress", MISSING)):
                unreadable.append(f"the address of rule {number}")
        if unreadable:
            return self.finding(site, Verdict.ERROR, f"Cannot verify: {', '.join(unreadable)} unknown.", *evidence)
        problems = []
        if not (isinstance(default, str) and default.lower() == "deny"):
            problems.append(f"default action is {default if default is not MISSING else 'not set'}")
        if use_main is True:
            problems.append("it uses the main site's rules instead of its own")
        allowed = [r for r in items if str(r["action"]).lower() == "allow"]
        wide = [str(r.get("ipaddress", r.get("tag", "a rule without an address"))) for r in allowed]
        wide = [w for w, r in zip(wide, allowed, strict=True) if not single_address(str(r.get("ipaddress", "")))]
        if wide:
            problems.append(f"allows ranges {', '.join(wide)}")
        if not allowed and not problems:
            problems.append("no address is allowed at all (developers cannot deploy)")
        if problems:
            return self.finding(site, Verdict.FAIL, "SCM site: " + "; ".join(problems) + ".", *evidence)
        addresses = ", ".join(str(r.get("ipaddress")) for r in allowed)
        return self.finding(site, Verdict.PASS, f"SCM site denies by default, allows {addresses}.", *evidence)


CHECK = ScmIpRestricted()
