"""The portal and its SCM (Kudu) site refuse TLS below the configured floor (default 1.2)."""

from compliance_checks.checks import domains
from compliance_checks.checks.base import CheckMeta, PropertyCheck, Rule, VersionAtLeast
from compliance_checks.findings import Severity

CHECK = PropertyCheck(
    meta=CheckMeta(
        id="webapp_min_tls_version",
        title="Portal and SCM site require TLS 1.2 or higher",
        severity=Severity.HIGH,
        claims=("SEC-TLS",),
        rationale=(
            "TLS 1.0 and 1.1 are deprecated and vulnerable; the policy promises SSL/TLS protection for every transfer."
        ),
        remediation="Set siteConfig.minTlsVersion and scmMinTlsVersion to 1.2 or 1.3.",
        references=("https://learn.microsoft.com/azure/app-service/overview-tls",),
    ),
    resource_type="Microsoft.Web/sites",
    also_types=("Microsoft.Web/sites/slots",),  # every deployment slot is judged like its site
    rules=(
        # App Service spells versions "1.2" (SupportedTlsVersions); "TLSv1.2" is PostgreSQL's spelling and ERROR here.
        Rule(
            "properties.siteConfig.minTlsVersion",
            lambda p: VersionAtLeast(p.min_tls_version),
            domain=domains.SITE_TLS_VERSION,
        ),
        Rule(
            "properties.siteConfig.scmMinTlsVersion",
            lambda p: VersionAtLeast(p.min_tls_version),
            domain=domains.SITE_TLS_VERSION,
        ),
    ),
)
