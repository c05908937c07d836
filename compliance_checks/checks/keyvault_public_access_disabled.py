"""Key Vault is reachable only through its private endpoint."""

from compliance_checks.checks.base import CheckMeta, Equals, PropertyCheck, Rule
from compliance_checks.findings import Severity

CHECK = PropertyCheck(
    meta=CheckMeta(
        id="keyvault_public_access_disabled",
        title="Key Vault has public network access disabled",
        severity=Severity.HIGH,
        claims=("SEC-DATA-PROTECTION",),
        rationale=("The vault holds the portal's secrets; a public endpoint widens who can try to reach them."),
        remediation="Set publicNetworkAccess=Disabled and networkAcls.defaultAction=Deny; use a private endpoint.",
        references=("https://learn.microsoft.com/azure/key-vault/general/private-link-service",),
    ),
    resource_type="Microsoft.KeyVault/vaults",
    rules=(
        Rule("properties.publicNetworkAccess", Equals("Disabled")),
        Rule("properties.networkAcls.defaultAction", Equals("Deny")),
    ),
)
