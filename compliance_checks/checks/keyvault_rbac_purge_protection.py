"""Key Vault uses RBAC and cannot be purged: secrets survive mistakes and attacks."""

from compliance_checks.checks.base import CheckMeta, Equals, PropertyCheck, Rule
from compliance_checks.findings import Severity

CHECK = PropertyCheck(
    meta=CheckMeta(
        id="keyvault_rbac_purge_protection",
        title="Key Vault uses RBAC, soft delete and purge protection",
        severity=Severity.MEDIUM,
        claims=("SEC-DATA-PROTECTION",),
        rationale=(
            "Access policies bypass Azure RBAC and its audit; without purge protection a deleted vault and its secrets are gone for good."
        ),
        remediation="Set enableRbacAuthorization, enableSoftDelete and enablePurgeProtection to true.",
        references=("https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview",),
    ),
    resource_type="Microsoft.KeyVault/vaults",
    rules=(
        Rule("properties.enableRbacAuthorization", Equals(True)),
        Rule("properties.enableSoftDelete", Equals(True)),
        Rule("properties.enablePurgeProtection", Equals(True)),
    ),
)
