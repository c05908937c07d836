"""Microsoft Graph v1.0: Conditional Access policies, named locations, and the groups they name.

Permissions: ``Policy.Read.All`` (policies, named locations) and
``GroupMember.Read.All`` (groups, members). Members are kept as IDs only:
their names are personal data an audit report does not need.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from compliance_checks.live.rest import RestClient

POLICIES: Final = "identity/conditionalAccess/policies"
NAMED_LOCATIONS: Final = "identity/conditionalAccess/namedLocations"
GROUPS: Final = "groups"
GROUP_FIELDS: Final = "id,displayName,description,securityEnabled,mailEnabled,groupTypes,isAssignableToRole"

Body = dict[str, Any]


def _all(rest: RestClient, path: str, params: dict[str, str] | None = None) -> list[Body]:
    return [item for page in rest.pages(f"/v1.0/{path}", params, next_key="@odata.nextLink") for item in page]


def conditional_access_policies(rest: RestClient) -> list[Body]:
    return _all(rest, POLICIES)


def named_locations(rest: RestClient) -> list[Body]:
    return _all(rest, NAMED_LOCATIONS)


def group_with_members(rest: RestClient, group_id: str) -> Body:
    group = rest.get(f"/v1.0/{GROUPS}/{group_id}", {"$select": GROUP_FIELDS})
    members = _all(rest, f"{GROUPS}/{group_id}/members", {"$select": "id"})
    group["members"] = [{"@odata.type": m.get("@odata.type"), "id": m.get("id")} for m in members]
    return group


def referenced_groups(policies: Iterable[Body], role_assignments: Iterable[Body]) -> list[str]:
    """Group IDs that Conditional Access policies include/exclude, or that hold an Azure role."""
    found: dict[str, None] = {}
    for policy in policies:
        users = (policy.get("conditions") or {}).get("users") or {}
        for key in ("includeGroups", "excludeGroups"):
            for group_id in users.get(key) or []:
                if isinstance(group_id, str) and group_id:
                    found.setdefault(group_id.lower())
    for assignment in role_assignments:
        properties = assignment.get("properties") or {}
        if str(properties.get("principalType", "")).lower() == "group" and isinstance(
            properties.get("principalId"), str
        ):
            found.setdefault(properties["principalId"].lower())
    return list(found)
