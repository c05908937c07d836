"""The SCM (Kudu) site, the developers' door into the portal, admits single addresses only."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Params
from compliance_checks.checks.network_helpers import single_address
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory


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

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for site in self.subjects(inventory):
            default = site.get("properties.siteConfig.scmIpSecurityRestrictionsDefaultAction")
            rules = site.get("properties.siteConfig.scmIpSecurityRestrictions")
            evidence = [
                Evidence("properties.siteConfig.scmIpSecurityRestrictionsDefaultAction", default, "equals 'Deny'"),
                Evidence("properties.siteConfig.scmIpSecurityRestrictions", rules, "Allow rules for single addresses"),
            ]
            if UNKNOWN in (default, rules):
                yield self.finding(site, Verdict.ERROR, "Cannot verify: SCM restrictions unknown.", *evidence)
                continue
            problems = []
            if not (isinstance(default, str) and default.lower() == "deny"):
                problems.append(f"default action is {default if default is not MISSING else 'not set'}")
            allowed = (
                [r for r in rules if str(r.get("action", "")).lower() == "allow"] if isinstance(rules, list) else []
            )
            wide = [str(r.get("ipaddress")) for r in allowed if not single_address(str(r.get("ipaddress", "")))]
            if wide:
                problems.append(f"allows ranges {', '.join(wide)}")
            if not allowed and not problems:
                problems.append("no address is allowed at all (developers cannot deploy)")
            if problems:
                yield self.finding(site, Verdict.FAIL, "SCM site: " + "; ".join(problems) + ".", *evidence)
            else:
                addresses = ", ".join(str(r.get("ipaddress")) for r in allowed)
                yield self.finding(site, Verdict.PASS, f"SCM site denies by default, allows {addresses}.", *evidence)


CHECK = ScmIpRestricted()
