"""FTP deployment is off: FTP would move files, and credentials, unencrypted or outside TLS policy."""

from compliance_checks.checks.base import CheckMeta, Equals, PropertyCheck, Rule
from compliance_checks.findings import Severity

CHECK = PropertyCheck(
    meta=CheckMeta(
        id="webapp_ftps_disabled",
        title="Portal has FTP/FTPS deployment disabled",
        severity=Severity.MEDIUM,
        claims=("SEC-TLS",),
        rationale=("Plain FTP transfers data and credentials in clear text; the portal is deployed without FTP."),
        remediation="Set siteConfig.ftpsState to Disabled.",
        references=("https://learn.microsoft.com/azure/app-service/deploy-ftp#enforce-ftps",),
    ),
    resource_type="Microsoft.Web/sites",
    also_types=("Microsoft.Web/sites/slots",),  # every deployment slot is judged like its site
    rules=(Rule("properties.siteConfig.ftpsState", Equals("Disabled")),),
)
