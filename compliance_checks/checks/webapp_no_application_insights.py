"""No Application Insights: no component, and no instrumentation setting on the portal.

Application Insights' JavaScript SDK (browser instrumentation) is an analytics
tool; its server-side agent can inject it. Neither may be present.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue

INSTRUMENTATION_PREFIXES = (
    "appinsights_",
    "applicationinsights_",
    "applicationinsightsagent_",
    "xdt_microsoftapplicationinsights_",
    "instrumentationengine_",
    "diagnosticservices_",
)
WEB_APPS = ("Microsoft.Web/sites", "Microsoft.Web/sites/slots")
# "App setting names can contain only letters, numbers (0-9), periods (.), and underscores (_)."
# (https://learn.microsoft.com/azure/app-service/configure-common#configure-app-settings). Another
# name cannot be told apart from an instrumentation setting written differently: not readable.
SETTING_NAME = re.compile(r"[A-Za-z0-9._]+")
SETTINGS = "properties.siteConfig.appSettings"  # one sorted list of {name, value} (sources/webapp.py)


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

    # App settings of every site and slot, wherever the source wrote them (inline, config/appsettings):
    # no settings at all is the good state; a setting whose name cannot be read is not.
    READS = tuple(
        read for kind in WEB_APPS for read in (Read(kind, SETTINGS, absent_ok=True), Read(kind, f"{SETTINGS}[*].name"))
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for component in inventory.of_type("Microsoft.Insights/components"):
            yield self.finding(
                component,
                Verdict.FAIL,
                "An Application Insights component exists.",
                Evidence("type", component.type, "no Microsoft.Insights/components"),
            )
        sites = inventory.of_type(*WEB_APPS)
        if not sites:
            yield self.error_nothing_found("no Microsoft.Web/sites in the inventory")
            return
        for site in sites:
            yield self._judge(site)

    def _judge(self, site: Resource) -> Finding:
        settings = site.get(SETTINGS)
        evidence = Evidence(SETTINGS, settings, "no Application Insights setting")
        if settings is UNKNOWN or isinstance(settings, SecretValue):
            return self.finding(site, Verdict.ERROR, "Cannot verify: app settings unknown.", evidence)
        items = [] if settings is MISSING or settings is None else settings
        if not isinstance(items, list):
            return self.finding(site, Verdict.ERROR, "Cannot verify: app settings unreadable.", evidence)
        names = [item.get("name") if isinstance(item, dict) else UNKNOWN for item in items]
        unreadable = [n for n in names if not isinstance(n, str) or not SETTING_NAME.fullmatch(n)]
        found = [n for n in names if isinstance(n, str) and n.lower().startswith(INSTRUMENTATION_PREFIXES)]
        shown = Evidence(f"{SETTINGS}[*].name", found, "no Application Insights setting")
        if found:
            return self.finding(site, Verdict.FAIL, f"Instrumentation settings present: {', '.join(found)}.", shown)
        if unreadable:
            # A setting whose name is unknown could be APPLICATIONINSIGHTS_CONNECTION_STRING.
            message = f"Cannot verify: {len(unreadable)} app setting name(s) cannot be read."
            return self.finding(site, Verdict.ERROR, message, Evidence(f"{SETTINGS}[*].name", unreadable, "a name"))
        return self.finding(site, Verdict.PASS, f"None of {len(names)} app settings instruments the app.", shown)


CHECK = NoApplicationInsights()
