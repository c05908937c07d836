"""App Service Authentication ("Easy Auth") is off: it would set its own session cookie."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Equals, Params, Read, Rule, judge
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, Inventory


class EasyAuthDisabled(Check):
    meta = CheckMeta(
        id="webapp_easy_auth_disabled",
        title="Portal does not use App Service Authentication",
        severity=Severity.HIGH,
        claims=("PRIV-NO-COOKIES",),
        rationale=(
            "App Service Authentication keeps its session in the AppServiceAuthSession cookie. The portal keeps"
            " login state in localStorage instead, as the policy says."
        ),
        remediation="Declare authsettingsV2 with platform.enabled=false (infra/components/portal.py).",
        references=("https://learn.microsoft.com/azure/app-service/overview-authentication-authorization",),
    )

    subject = "Microsoft.Web/sites"
    # A slot has its own config/authsettingsV2 and is judged like its site.
    READS = (
        Read("Microsoft.Web/sites/config", "properties.platform.enabled"),
        Read("Microsoft.Web/sites/slots/config", "properties.platform.enabled"),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for site in inventory.of_type("Microsoft.Web/sites", "Microsoft.Web/sites/slots"):
            settings = inventory.get(f"{site.id}/config/authsettingsV2")
            if settings is None:
                yield self.finding(
                    site,
                    Verdict.FAIL,
                    "authsettingsV2 is not declared: whether Easy Auth is on cannot be verified.",
                    Evidence("config/authsettingsV2", MISSING, "declared with platform.enabled = false"),
                )
                continue
            verdict, evidence = judge(settings, Rule("properties.platform.enabled", Equals(False)), params)
            message = (
                "Easy Auth is off."
                if verdict == Verdict.PASS
                else (f"platform.enabled is {evidence.observed_text()}, expected false.")
            )
            yield self.finding(site, verdict, message, evidence)


CHECK = EasyAuthDisabled()
