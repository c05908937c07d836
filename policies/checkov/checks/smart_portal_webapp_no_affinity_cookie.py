"""CKV_SMART_1: the portal sets no ARR affinity cookie (claim PRIV-NO-COOKIES).

With ``clientAffinityEnabled`` App Service's front end sets the ``ARRAffinity``
and ``ARRAffinitySameSite`` cookies on every response. The privacy policy says
the portal sets no cookies, so the property must be declared and false: a
missing value is a FAIL (App Service's default is true).
"""

# checkov lives in its own virtualenv (.venv-checkov), not in the project's; mypy cannot see it.
# mypy: disable-error-code="import-not-found,misc"

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class WebAppNoAffinityCookie(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the web app sets no ARR affinity cookie (clientAffinityEnabled false) [PRIV-NO-COOKIES]",
            id="CKV_SMART_1",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("Microsoft.Web/sites", "Microsoft.Web/sites/slots"),
            guideline="https://learn.microsoft.com/azure/app-service/configure-common#configure-general-settings",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/clientAffinityEnabled"]
        properties = conf.get("properties")
        value = properties.get("clientAffinityEnabled") if isinstance(properties, dict) else None
        if value is False or (isinstance(value, str) and value.strip().lower() == "false"):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = WebAppNoAffinityCookie()
