"""CKV_SMART_2: App Service Authentication ("Easy Auth") is off (claim PRIV-NO-COOKIES).

Easy Auth keeps its session in the ``AppServiceAuthSession`` cookie. The
portal signs users in itself and keeps its state in localStorage, so the
``authsettingsV2`` configuration must declare ``platform.enabled: false`` (and
the legacy ``authsettings`` one ``enabled: false``). A missing value is a FAIL;
other ``Microsoft.Web/sites/config`` resources (``web``, ``appsettings``, ...)
are not this check's business. checkov's own CKV_AZURE_13 wants the opposite.
"""

# checkov lives in its own virtualenv (.venv-checkov), not in the project's; mypy cannot see it.
# mypy: disable-error-code="import-not-found,misc"

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


class WebAppNoAppServiceAuthentication(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure App Service Authentication is disabled: it sets the AppServiceAuthSession cookie [PRIV-NO-COOKIES]",
            id="CKV_SMART_2",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("Microsoft.Web/sites/config", "Microsoft.Web/sites/slots/config"),
            guideline="https://learn.microsoft.com/azure/app-service/overview-authentication-authorization",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        name = conf.get("name")
        if not isinstance(name, str) or "[" in name:
            return CheckResult.FAILED  # an unresolved name might be the auth settings: cannot tell, fail closed
        leaf = name.rsplit("/", 1)[-1].strip().lower()
        properties = conf.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        if leaf == "authsettingsv2":
            self.evaluated_keys = ["properties/platform/enabled"]
            platform = properties.get("platform")
            enabled = platform.get("enabled") if isinstance(platform, dict) else None
            return CheckResult.PASSED if _is_false(enabled) else CheckResult.FAILED
        if leaf == "authsettings":
            self.evaluated_keys = ["properties/enabled"]
            return CheckResult.PASSED if _is_false(properties.get("enabled")) else CheckResult.FAILED
        return CheckResult.UNKNOWN


check = WebAppNoAppServiceAuthentication()
