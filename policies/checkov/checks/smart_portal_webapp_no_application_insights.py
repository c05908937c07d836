"""CKV_SMART_3: no Application Insights setting on the portal (claim PRIV-NO-ANALYTICS).

Application Insights' agent injects its JavaScript SDK, which records page
views and user telemetry: analytics the privacy policy rules out. No app
setting of a site (``properties.siteConfig.appSettings``, or a
``Microsoft.Web/sites/config`` resource named ``appsettings``) may start with
an instrumentation prefix. The same prefixes as the repository's own check
``webapp_no_application_insights``. A site without app settings has none; a
settings list that cannot be read (an expression, an item without a name)
is a FAIL.
"""

# checkov lives in its own virtualenv (.venv-checkov), not in the project's; mypy cannot see it.
# mypy: disable-error-code="import-not-found,misc"

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

INSTRUMENTATION_PREFIXES = (
    "appinsights_",
    "applicationinsights_",
    "applicationinsightsagent_",
    "xdt_microsoftapplicationinsights_",
    "instrumentationengine_",
    "diagnosticservices_",
)


def _instrumented(names: list[Any]) -> bool:
    return any(not isinstance(n, str) or n.strip().lower().startswith(INSTRUMENTATION_PREFIXES) for n in names)


class WebAppNoApplicationInsights(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the web app has no Application Insights app setting (no browser instrumentation) [PRIV-NO-ANALYTICS]",
            id="CKV_SMART_3",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("Microsoft.Web/sites", "Microsoft.Web/sites/slots", "Microsoft.Web/sites/config"),
            guideline="https://learn.microsoft.com/azure/azure-monitor/app/javascript-sdk",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("properties")
        if self.entity_type == "Microsoft.Web/sites/config":
            name = conf.get("name")
            if not isinstance(name, str) or "[" in name:
                return CheckResult.FAILED
            if name.rsplit("/", 1)[-1].strip().lower() != "appsettings":
                return CheckResult.UNKNOWN
            self.evaluated_keys = ["properties"]
            if not isinstance(properties, dict):
                return CheckResult.FAILED
            return CheckResult.FAILED if _instrumented(list(properties)) else CheckResult.PASSED
        self.evaluated_keys = ["properties/siteConfig/appSettings"]
        if not isinstance(properties, dict):
            return CheckResult.FAILED
        site_config = properties.get("siteConfig")
        if site_config is None:
            return CheckResult.PASSED
        if not isinstance(site_config, dict):
            return CheckResult.FAILED
        settings = site_config.get("appSettings")
        if settings is None:
            return CheckResult.PASSED
        if not isinstance(settings, list) or not all(isinstance(s, dict) for s in settings):
            return CheckResult.FAILED
        return CheckResult.FAILED if _instrumented([s.get("name") for s in settings]) else CheckResult.PASSED


check = WebAppNoApplicationInsights()
