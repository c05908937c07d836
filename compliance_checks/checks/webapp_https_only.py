"""The portal answers plain HTTP only with a redirect to HTTPS (App Service ``httpsOnly``)."""

from compliance_checks.checks.base import CheckMeta, Equals, PropertyCheck, Rule
from compliance_checks.findings import Severity

CHECK = PropertyCheck(
    meta=CheckMeta(
        id="webapp_https_only",
        title="Portal accepts HTTPS only",
        severity=Severity.HIGH,
        claims=("SEC-TLS",),
        rationale=(
            "Without httpsOnly, App Service serves the portal over plain HTTP too, so data could be sent unprotected."
        ),
        remediation="Set httpsOnly=true on the web app (infra/components/portal.py).",
        references=("https://learn.microsoft.com/azure/app-service/configure-ssl-bindings#enforce-https",),
    ),
    resource_type="Microsoft.Web/sites",
    also_types=("Microsoft.Web/sites/slots",),  # every deployment slot is judged like its site
    rules=(Rule("properties.httpsOnly", Equals(True)),),
)
