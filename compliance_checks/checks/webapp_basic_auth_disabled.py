"""FTP and SCM basic-auth publishing credentials are off: deployment needs Entra ID (with MFA)."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Equals, Params, Read, Rule, judge
from compliance_checks.findings import Evidence, Finding, Severity, Verdict, worst
from compliance_checks.inventory import MISSING, Inventory


class BasicAuthDisabled(Check):
    meta = CheckMeta(
        id="webapp_basic_auth_disabled",
        title="Portal has basic-auth publishing credentials disabled (FTP and SCM)",
        severity=Severity.HIGH,
        claims=("SEC-DEV-MFA",),
        rationale=(
            "Basic publishing credentials are a username and password that bypass Entra ID and therefore the"
            " two-step sign-in the policy promises."
        ),
        remediation="Declare basicPublishingCredentialsPolicies ftp and scm with allow=false.",
        references=("https://learn.microsoft.com/azure/app-service/configure-basic-auth-disable",),
    )

    subject = "Microsoft.Web/sites"
    # Each deployment slot has its own policies and is judged like its site.
    READS = (
        Read("Microsoft.Web/sites/basicPublishingCredentialsPolicies", "properties.allow"),
        Read("Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies", "properties.allow"),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for site in inventory.of_type("Microsoft.Web/sites", "Microsoft.Web/sites/slots"):
            results = []
            for kind in ("ftp", "scm"):
                policy = inventory.get(f"{site.id}/basicPublishingCredentialsPolicies/{kind}")
                if policy is None:
                    results.append(
                        (
                            Verdict.FAIL,
                            Evidence(
                                f"basicPublishingCredentialsPolicies/{kind}", MISSING, "declared with allow = false"
                            ),
                        )
                    )
                else:
                    verdict, evidence = judge(policy, Rule("properties.allow", Equals(False)), params)
                    results.append(
                        (
                            verdict,
                            Evidence(
                                f"basicPublishingCredentialsPolicies/{kind}.allow", evidence.observed, evidence.expected
                            ),
                        )
                    )
            verdict = worst([v for v, _ in results])
            bad = [e.path for v, e in results if v != Verdict.PASS]
            message = "FTP and SCM basic auth are off." if verdict == Verdict.PASS else f"Not off: {', '.join(bad)}."
            yield self.finding(site, verdict, message, *(e for _, e in results))


CHECK = BasicAuthDisabled()
