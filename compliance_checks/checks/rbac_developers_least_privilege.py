"""Group role assignments stay below Owner/Contributor and never span the subscription."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Params
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import Inventory
from infra import well_known

# Built-in roles that can change anything or hand out access; their IDs come from infra/data/well_known_ids.json.
PRIVILEGED_ROLES = ("Owner", "Contributor", "User Access Administrator", "Role Based Access Control Administrator")


def privileged() -> dict[str, str]:
    """Role definition ID (lower case) -> role name, for the privileged built-in roles."""
    return {well_known.role_id(name): name for name in PRIVILEGED_ROLES}


class DevelopersLeastPrivilege(Check):
    meta = CheckMeta(
        id="rbac_developers_least_privilege",
        title="Developers' role assignments are least-privilege and scoped to the resource group",
        severity=Severity.HIGH,
        claims=("SEC-DEV-MFA",),
        rationale="Owner-like roles could remove the NSG rules, firewall settings and Conditional Access the promises rest on.",
        remediation="Assign Reader and Website Contributor at the resource group; nothing privileged, nothing subscription-wide.",
        references=("https://learn.microsoft.com/azure/role-based-access-control/best-practices",),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        group_ids = {str(g.get("id")).lower() for g in inventory.of_type("Microsoft.Graph/groups")}
        assignments = [
            a
            for a in inventory.of_type("Microsoft.Authorization/roleAssignments")
            if str(a.get("properties.principalType")).lower() == "group"
            or str(a.get("properties.principalId")).lower() in group_ids
        ]
        if not assignments:
            yield self.finding(None, Verdict.NOT_APPLICABLE, "No role assignment to a group.")
            return
        privileged_roles = privileged()
        for assignment in assignments:
            role = str(assignment.get("properties.roleDefinitionId")).rsplit("/", 1)[-1].lower()
            scope = str(
                assignment.get("properties.scope") or assignment.id.split("/providers/Microsoft.Authorization")[0]
            )
            evidence = (
                Evidence("properties.roleDefinitionId", role, "not Owner/Contributor/UAA/RBAC Admin"),
                Evidence("properties.scope", scope, "a resource group or narrower"),
            )
            if role in privileged_roles:
                yield self.finding(
                    assignment, Verdict.FAIL, f"Privileged role {privileged_roles[role]} assigned.", *evidence
                )
            elif scope.rstrip("/").count("/") <= 2:
                yield self.finding(assignment, Verdict.FAIL, f"Assigned at subscription scope {scope}.", *evidence)
            else:
                yield self.finding(
                    assignment, Verdict.PASS, f"Role {role} at {scope.rsplit('/', maxsplit=1)[-1]}.", *evidence
                )


CHECK = DevelopersLeastPrivilege()
