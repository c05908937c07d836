"""No Application Insights: no component, and no instrumentation setting on the portal.

Application Insights' JavaScript SDK (browser instrumentation) is an analytics
tool; its server-side agent can inject it. Neither may be present.
"""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Params
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, SecretValue

INSTRUMENTATION_PREFIXES = (
    "appinsights_",
    "applicationinsights_",
    "applicationinsightsagent_",
    "xdt_microsoftapplicationinsights_",
    "instrumentationengine_",
    "diagnosticservices_",
)


class NoApplicationInsights(Check):
    meta = CheckMeta(
        id="webapp_no_application_insights",
        title="Portal has no Application Insights (no browser instrumentation)",
        severity=Severity.HIGH,
        claims=("PRIV-NO-ANALYTICS",),
        rationale="The policy says no analytics tools are used; Application Insights collects page views and user telemetry.",
        remediation="Remove Application Insights components and every APPINSIGHTS_*/APPLICATIONINSIGHTS_* app setting.",
        references=("https://learn.microsoft.com/azure/azure-monitor/app/javascript-sdk",),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for component in inventory.of_type("Microsoft.Insights/components"):
            yield self.finding(
                component,
                Verdict.FAIL,
                "An Application Insights component exists.",
                Evidence("type", component.type, "no Microsoft.Insights/components"),
            )
        sites = inventory.of_type("Microsoft.Web/sites")
        if not sites:
            yield self.error_nothing_found("no Microsoft.Web/sites in the inventory")
            return
        for site in sites:
            settings = site.get("properties.siteConfig.appSettings")
            evidence = Evidence("properties.siteConfig.appSettings", settings, "no Application Insights setting")
            if settings is UNKNOWN or isinstance(settings, SecretValue):
                yield self.finding(site, Verdict.ERROR, "Cannot verify: app settings unknown.", evidence)
                continue
            items = settings if isinstance(settings, list) else [] if settings is MISSING else None
            if items is None:
                yield self.finding(site, Verdict.ERROR, "Cannot verify: app settings unreadable.", evidence)
                continue
            names = [str(item.get("name", "")) for item in items if isinstance(item, dict)]
            found = [n for n in names if n.lower().startswith(INSTRUMENTATION_PREFIXES)]
            shown = Evidence("properties.siteConfig.appSettings[*].name", found, "no Application Insights setting")
            if found:
                yield self.finding(site, Verdict.FAIL, f"Instrumentation settings present: {', '.join(found)}.", shown)
            else:
                yield self.finding(site, Verdict.PASS, f"None of {len(names)} app settings instruments the app.", shown)


CHECK = NoApplicationInsights()
