"""ARR affinity is off, so App Service sets no ``ARRAffinity``/``ARRAffinitySameSite`` cookie."""

from compliance_checks.checks.base import CheckMeta, Equals, PropertyCheck, Rule
from compliance_checks.findings import Severity

CHECK = PropertyCheck(
    meta=CheckMeta(
        id="webapp_client_affinity_disabled",
        title="Portal sets no ARR affinity cookie",
        severity=Severity.HIGH,
        claims=("PRIV-NO-COOKIES",),
        rationale=(
            "With client affinity on, the platform sets the ARRAffinity cookie on every response, breaking 'this portal does not use cookies'."
        ),
        remediation="Set clientAffinityEnabled=false on the web app.",
        references=("https://learn.microsoft.com/azure/app-service/configure-common#configure-general-settings",),
    ),
    resource_type="Microsoft.Web/sites",
    also_types=("Microsoft.Web/sites/slots",),  # every deployment slot is judged like its site
    rules=(Rule("properties.clientAffinityEnabled", Equals(False)),),
)
