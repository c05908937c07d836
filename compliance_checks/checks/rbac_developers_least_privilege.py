"""Group role assignments stay below Owner/Contributor and never span the subscription."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Params
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import Inventory

PRIVILEGED = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}


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
        for assignment in assignments:
            role = str(assignment.get("properties.roleDefinitionId")).rsplit("/", 1)[-1].lower()
            scope = str(
                assignment.get("properties.scope") or assignment.id.split("/providers/Microsoft.Authorization")[0]
            )
            evidence = (
                Evidence("properties.roleDefinitionId", role, "not Owner/Contributor/UAA/RBAC Admin"),
                Evidence("properties.scope", scope, "a resource group or narrower"),
            )
            if role in PRIVILEGED:
                yield self.finding(assignment, Verdict.FAIL, f"Privileged role {PRIVILEGED[role]} assigned.", *evidence)
            elif scope.rstrip("/").count("/") <= 2:
                yield self.finding(assignment, Verdict.FAIL, f"Assigned at subscription scope {scope}.", *evidence)
            else:
                yield self.finding(
                    assignment, Verdict.PASS, f"Role {role} at {scope.rsplit('/', maxsplit=1)[-1]}.", *evidence
                )


CHECK = DevelopersLeastPrivilege()
