"""Group role assignments grant no operation that could break a promise, and never span the subscription.

Judged by what a role *can do*, not by its name: each assigned role's
control-plane permissions (a custom role definition from the inventory, or a
built-in role's as Microsoft's reference lists them, kept in
``infra/data/well_known_ids.json``) are evaluated against every promise-bearing
operation, with Azure's wildcard matching of ``actions`` minus ``notActions``.
Website Contributor fails (its ``Microsoft.Web/sites/*`` covers
``sites/config/write``); Reader and the estate's deployer role pass. A role whose
permissions cannot be read is ERROR, never PASS.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import UNKNOWN, Inventory, Resource, SecretValue, canonical_id
from infra import well_known
from infra.watched_operations import WATCHED_OPERATIONS

# Built-in roles that can change anything or hand out access; their IDs come from infra/data/well_known_ids.json.
PRIVILEGED_ROLES = ("Owner", "Contributor", "User Access Administrator", "Role Based Access Control Administrator")

# Operations with which a holder could break a promise outside Pulumi: the alert's watched
# operations, plus writes of the resources those settings live in and of access itself
# (operation names: learn.microsoft.com/azure/role-based-access-control/permissions/web-and-mobile,
# .../networking, .../databases, .../security, .../management-and-governance).
PROMISE_BEARING = (
    *WATCHED_OPERATIONS,
    "Microsoft.Web/sites/write",
    "Microsoft.Web/sites/slots/write",
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies/write",
    "Microsoft.Network/virtualNetworks/write",
    "Microsoft.Network/virtualNetworkGateways/write",
    "Microsoft.DBforPostgreSQL/flexibleServers/write",
    "Microsoft.KeyVault/vaults/write",
    "Microsoft.Authorization/roleAssignments/write",
)


# Data-plane operations with which a holder could change what the portal runs: its DATABASE_PASSWORD app
# setting is a Key Vault reference (infra/program.py), so writing a secret rewrites its configuration outside
# Pulumi (operation name: learn.microsoft.com/azure/role-based-access-control/permissions/security,
# Microsoft.KeyVault "DataAction ... vaults/secrets/setSecret/action").
PROMISE_BEARING_DATA = ("Microsoft.KeyVault/vaults/secrets/setSecret/action",)


def privileged() -> dict[str, str]:
    """Role definition ID (lower case) -> role name, for the privileged built-in roles."""
    return {well_known.role_id(name): name for name in PRIVILEGED_ROLES}


@functools.lru_cache(maxsize=512)
def _pattern(action: str) -> re.Pattern[str]:
    # Azure RBAC: '*' matches any characters; operation names compare case-insensitively.
    return re.compile("^" + ".*".join(re.escape(part) for part in action.split("*")) + "$", re.IGNORECASE)


def allows(actions: Iterable[str], not_actions: Iterable[str], operation: str) -> bool:
    """Whether ``actions`` minus ``not_actions`` grants ``operation``."""
    return any(_pattern(a).match(operation) for a in actions) and not any(
        _pattern(n).match(operation) for n in not_actions
    )


class UnknownPermissions(Exception):
    pass


def _names(value: Any, what: str) -> list[str]:
    if value is UNKNOWN or isinstance(value, SecretValue):
        raise UnknownPermissions(f"{what} unknown")
    if value in (None, []) or not value:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UnknownPermissions(f"{what} is not a list of operations ({value!r})")
    return list(value)


def _granted(permissions: Any) -> list[str]:
    """Promise-bearing operations a role definition's ``permissions`` grant."""
    if permissions is UNKNOWN or not isinstance(permissions, list) or not permissions:
        raise UnknownPermissions("permissions unknown")
    granted: set[str] = set()
    for block in permissions:
        if not isinstance(block, dict):
            raise UnknownPermissions(f"permission block {block!r} unreadable")
        actions = _names(block.get("actions"), "actions")
        not_actions = _names(block.get("notactions"), "notActions")
        granted |= {op for op in PROMISE_BEARING if allows(actions, not_actions, op)}
        # Permission.dataActions/notDataActions: the same wildcard semantics, over data-plane operations.
        data = _names(block.get("dataactions"), "dataActions")
        not_data = _names(block.get("notdataactions"), "notDataActions")
        granted |= {op for op in PROMISE_BEARING_DATA if allows(data, not_data, op)}
    return sorted(granted)


def assignment_scope(assignment: Resource) -> str:
    """The assignment's scope: ``properties.scope``, else its ID up to the (case-insensitive) provider segment."""
    scope = assignment.get("properties.scope")
    if isinstance(scope, str) and scope:
        return scope
    at = assignment.id.lower().rfind("/providers/microsoft.authorization/roleassignments/")
    return assignment.id[:at] if at > 0 else "/"


def broader_than_estate(scope: str) -> str:
    """Why a scope covers more than the estate's resource groups ('' when it does not).

    Azure RBAC scopes nest: management group > subscription > resource group > resource, and "permissions
    are inherited ... to all child scopes" (learn.microsoft.com/azure/role-based-access-control/scope-overview).
    So the tenant root, a management group and a subscription hold other resources than the estate.
    """
    parts = [p.lower() for p in scope.strip().strip("/").split("/") if p]
    if not parts:
        return "the tenant root"
    if parts[0] == "providers" and len(parts) >= 4 and parts[1] == "microsoft.management":
        return f"management group {parts[3]}"
    if parts[0] == "subscriptions" and len(parts) <= 2:
        return "a whole subscription"
    return ""


_UNPLACED = "?"  # the key of the role definitions whose GUID is not known: each may be any role


def _definitions_by_guid(inventory: Inventory) -> dict[str, list[Resource]]:
    """The role definitions by the GUID their ID ends in (lower case), every one of a GUID in the inventory's order:
    built once, since every assignment asks and an estate has thousands of them.

    A role definition's name "Must be a globally unique identifier (GUID)" unique in the tenant (MicrosoftDocs/
    azure-docs articles/azure-resource-manager/management/resource-name-rules.md, Microsoft.Authorization
    roleDefinitions), so the same GUID at the tenant, a subscription or a resource group is one role; IDs compare
    case-insensitively (same page). A definition whose ID is no plain ID (unknown before deployment: ``<urn>#unknown-id``,
    padded, a trailing "/") goes under ``_UNPLACED``: it may be the role any assignment names.
    """
    found: dict[str, list[Resource]] = {}
    for definition in inventory.of_type("Microsoft.Authorization/roleDefinitions"):
        key = canonical_id(definition.id)  # a plain ID ending in no GUID names no role an assignment can name
        found.setdefault(key.rsplit("/", 1)[-1] if key is not None else _UNPLACED, []).append(definition)
    return found


def _role_permissions(inventory: Inventory, role: str) -> tuple[str, Any]:
    """(role label, permissions in ARM's folded shape) for a role definition GUID.

    Several definitions of one GUID (the same role read at two scopes, or copies that disagree): their permission
    blocks together, so that what any of them grants counts and any unreadable one leaves the role unknown. Once
    per GUID: an estate's thousands of assignments name a few roles, each of which may be read at many scopes.
    """
    answers: dict[str, tuple[str, Any]] = inventory.derived("rbac.permissions_by_guid", dict)
    found = answers.get(role)
    if found is None:
        found = answers[role] = _role_permissions_once(inventory, role)
    return found


def _role_grants(inventory: Inventory, role: str) -> tuple[str, list[str] | None, str]:
    """(role label, the promise-bearing operations it grants or None, why that is unknown), once per GUID."""
    answers: dict[str, tuple[str, list[str] | None, str]] = inventory.derived("rbac.grants_by_guid", dict)
    found = answers.get(role)
    if found is None:
        label, permissions = _role_permissions(inventory, role)
        try:
            if isinstance(permissions, UnknownRole):
                raise UnknownPermissions(permissions.reason)
            found = (label, _granted(permissions), "")
        except UnknownPermissions as exc:
            found = (label, None, str(exc))
        answers[role] = found
    return found


def _role_permissions_once(inventory: Inventory, role: str) -> tuple[str, Any]:
    index = inventory.derived("rbac.definitions_by_guid", lambda: _definitions_by_guid(inventory))
    unplaced = index.get(_UNPLACED, [])
    if unplaced:
        names = ", ".join(d.name for d in unplaced[:3])
        return role, UnknownRole(f"role definition(s) {names} of unknown GUID may be this role")
    definitions = index.get(role, [])
    if definitions:
        label = definitions[0].get("properties.roleName")
        blocks: list[Any] = []
        for definition in definitions:
            permissions = definition.get("properties.permissions")
            if not isinstance(permissions, list) or not permissions:
                return (str(label) if isinstance(label, str) else role), permissions
            blocks.extend(permissions)
        return (str(label) if isinstance(label, str) else role), blocks
    entry = well_known.lookup(role)
    if entry is not None and entry.permissions is not None:
        return entry.name, [
            {"actions": list(entry.permissions.actions), "notactions": list(entry.permissions.not_actions)}
        ]
    return (entry.name if entry else role), UNKNOWN


class UnknownRole:
    """Permissions that cannot be looked up, and why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _is_group(assignment: Resource, inventory: Inventory) -> bool | None:
    """Whether the assignment's principal is a group; None when that cannot be known."""
    kind = assignment.get("properties.principalType")
    if isinstance(kind, str):
        return kind.lower() == "group"
    # principalType is optional in a role assignment body: fall back to the Entra groups (a gap there is ERROR).
    known, unknown = inventory.derived("rbac.group_ids", lambda: _group_ids(inventory))
    principal = assignment.get("properties.principalId")
    if not isinstance(principal, str):
        return None  # whose assignment it is is not known
    if principal.strip().lower() in known:
        return True
    # A group whose ID is not known (a preview's new group) may be this principal: it is not "no group".
    return None if unknown else False


def _group_ids(inventory: Inventory) -> tuple[frozenset[str], bool]:
    """The Entra groups' IDs (lower case), and whether some group's ID is not a known text."""
    known: set[str] = set()
    unknown = False
    for group in inventory.of_type("Microsoft.Graph/groups"):
        value = group.get("id")
        if isinstance(value, str) and value.strip():
            known.add(value.strip().lower())
        else:
            unknown = True
    return frozenset(known), unknown


class DevelopersLeastPrivilege(Check):
    meta = CheckMeta(
        id="rbac_developers_least_privilege",
        title="Developers' roles cannot change promise-bearing settings and are scoped to the resource group",
        severity=Severity.HIGH,
        claims=("SEC-DEV-MFA",),
        rationale=(
            "A role that can write site configuration, NSG rules, database firewall rules or role assignments lets"
            " its holder break the TLS, no-cookie, single-IP and developers-only promises outside Pulumi."
        ),
        remediation=(
            "Assign Reader plus a custom role with only the actions developers need (deploy, restart) at the"
            " resource group; nothing privileged, nothing subscription-wide."
        ),
        references=(
            "https://learn.microsoft.com/azure/role-based-access-control/best-practices",
            "https://learn.microsoft.com/azure/role-based-access-control/role-definitions",
        ),
    )

    READS = (
        Read(
            "Microsoft.Authorization/roleAssignments",
            "properties.roleDefinitionId",
            domain=domains.ROLE_DEFINITION_ID,
            required=True,
        ),
        Read("Microsoft.Authorization/roleAssignments", "properties.principalId", domain=domains.GUID, required=True),
        # Optional in a request body: without it the principal is looked up among the Entra groups.
        Read(
            "Microsoft.Authorization/roleAssignments",
            "properties.principalType",
            absent_ok=True,
            domain=domains.ROLE_PRINCIPAL_TYPE,
        ),
        # Read-only in ARM: without it the scope is taken from the assignment's ID.
        Read("Microsoft.Authorization/roleAssignments", "properties.scope", absent_ok=True, domain=domains.SCOPE),
        # All four optional in the spec's Permission: none grants nothing, none removes nothing.
        Read(
            "Microsoft.Authorization/roleDefinitions",
            "properties.permissions[*].actions",
            absent_ok=True,
            domain=domains.ListOf(domains.TEXT),
        ),
        Read(
            "Microsoft.Authorization/roleDefinitions",
            "properties.permissions[*].notActions",
            absent_ok=True,
            domain=domains.ListOf(domains.TEXT),
        ),
        Read(
            "Microsoft.Authorization/roleDefinitions",
            "properties.permissions[*].dataActions",
            absent_ok=True,
            domain=domains.ListOf(domains.TEXT),
        ),
        Read(
            "Microsoft.Authorization/roleDefinitions",
            "properties.permissions[*].notDataActions",
            absent_ok=True,
            domain=domains.ListOf(domains.TEXT),
        ),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        assignments: list[Resource] = []
        for candidate in inventory.of_type("Microsoft.Authorization/roleAssignments"):
            is_group = _is_group(candidate, inventory)
            if is_group is None:
                yield self.finding(
                    candidate,
                    Verdict.ERROR,
                    "Cannot verify: whether the principal is a group is not known (no principalType, and its ID or"
                    " a group's ID is unknown).",
                    Evidence("properties.principalId", candidate.get("properties.principalId"), "a known principal"),
                )
            elif is_group:
                assignments.append(candidate)
        if not assignments:
            yield self.finding(None, Verdict.NOT_APPLICABLE, "No role assignment to a group.")
            return
        privileged_roles = privileged()
        for assignment in assignments:
            role_value = assignment.get("properties.roleDefinitionId")
            scope = assignment_scope(assignment)
            if not isinstance(role_value, str):
                yield self.finding(
                    assignment,
                    Verdict.ERROR,
                    "Cannot verify: the assigned role is unknown.",
                    Evidence("properties.roleDefinitionId", role_value, "a role definition ID"),
                )
                continue
            role = role_value.rsplit("/", 1)[-1].strip().lower()  # as well_known.lookup reads it: blanks ignored
            label, granted, unknown = _role_grants(inventory, role)
            evidence = (
                Evidence("properties.roleDefinitionId", f"{label} ({role})", "no promise-bearing operation"),
                Evidence("grants", granted, "none of " + ", ".join((*PROMISE_BEARING, *PROMISE_BEARING_DATA))),
                Evidence("properties.scope", scope, "a resource group or narrower"),
            )
            if role in privileged_roles:
                yield self.finding(
                    assignment, Verdict.FAIL, f"Privileged role {privileged_roles[role]} assigned.", *evidence
                )
            elif broad := broader_than_estate(scope):
                yield self.finding(
                    assignment, Verdict.FAIL, f"Assigned at {broad} ({scope}): more than the estate.", *evidence
                )
            elif granted is None:
                yield self.finding(
                    assignment, Verdict.ERROR, f"Cannot verify what role {label} can do: {unknown}.", *evidence
                )
            elif granted:
                yield self.finding(assignment, Verdict.FAIL, f"Role {label} can {', '.join(granted)}.", *evidence)
            else:
                yield self.finding(
                    assignment,
                    Verdict.PASS,
                    f"Role {label} at {scope.rsplit('/', maxsplit=1)[-1]}: no promise-bearing operation.",
                    *evidence,
                )


CHECK = DevelopersLeastPrivilege()
