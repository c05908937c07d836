"""Microsoft Graph v1.0: Conditional Access policies, named locations, the groups they name, and the VPN audience.

Permissions: ``Policy.Read.All`` (policies, named locations),
``GroupMember.Read.All`` (groups, members) and ``Application.Read.All`` (the
service principals of a point-to-site gateway's Entra audience and who is
assigned to them). Members and assigned principals are kept as IDs only:
their names are personal data an audit report does not need.

Service principals and assignments (microsoft-graph-docs-contrib, v1.0):
``GET /servicePrincipals?$filter=appId eq '{appId}'`` (``appId`` supports
``eq`` by default, ``includes/filter-directory-objects.md``) and
``GET /servicePrincipals/{id}/appRoleAssignedTo``
(``api-reference/v1.0/api/serviceprincipal-list-approleassignedto.md``), both
least-privileged ``Application.Read.All``
(``api-reference/v1.0/includes/permissions/serviceprincipal-list-permissions.md``,
``...-list-approleassignedto-permissions.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from compliance_checks.live.rest import CollectionError, RestClient

POLICIES: Final = "identity/conditionalAccess/policies"
NAMED_LOCATIONS: Final = "identity/conditionalAccess/namedLocations"
GROUPS: Final = "groups"
GROUP_FIELDS: Final = "id,displayName,description,securityEnabled,mailEnabled,groupTypes,isAssignableToRole"
SERVICE_PRINCIPALS: Final = "servicePrincipals"
APP_ROLE_ASSIGNED_TO: Final = "appRoleAssignedTo"
# What entra_vpn_token_developers_only reads of a servicePrincipal and an appRoleAssignment, and nothing more:
# no principalDisplayName (a user's name), no resourceDisplayName.
SERVICE_PRINCIPAL_FIELDS: Final = ("id", "appId", "appRoleAssignmentRequired", "accountEnabled", "displayName")
ASSIGNMENT_FIELDS: Final = ("id", "appRoleId", "principalId", "principalType", "resourceId")
_GUID: Final = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

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
    if not all(isinstance(m.get("id"), str) and m["id"] for m in members):
        # A member that cannot be named cannot be judged: the group's membership is unknown, not smaller.
        raise CollectionError("GET", rest.url(f"/v1.0/{GROUPS}/{group_id}/members"), "a member without a string id")
    group["members"] = [{"@odata.type": m.get("@odata.type"), "id": m.get("id")} for m in members]
    return group


def _only(item: Body, fields: Iterable[str]) -> Body:
    """The selected fields of an answer (Graph may ignore ``$select``; what is not needed is never kept)."""
    return {key: item[key] for key in fields if key in item}


def audience_principals(rest: RestClient, app_id: str) -> list[Body]:
    """The service principals of application ``app_id``, each with ``appRoleAssignedTo``: who is assigned to it.

    Graph documents that query parameters may fail silently: answers whose
    ``appId`` is another application are dropped; an answer without an
    ``appId`` cannot be placed and fails the read.
    """
    path = f"/v1.0/{SERVICE_PRINCIPALS}"
    if not _GUID.match(app_id):
        # Never spliced into an OData string literal unless it is an application (client) ID.
        raise CollectionError("GET", rest.url(path), f"audience {app_id!r} is not an application (client) ID")
    params = {"$filter": f"appId eq '{app_id}'", "$select": ",".join(SERVICE_PRINCIPAL_FIELDS)}
    found: list[Body] = []
    for item in (i for page in rest.pages(path, params, next_key="@odata.nextLink") for i in page):
        if not isinstance(item.get("appId"), str) or not isinstance(item.get("id"), str):
            raise CollectionError("GET", rest.url(path), "a service principal in the answer has no appId or id")
        if item["appId"].lower() == app_id.lower():
            found.append(_only(item, SERVICE_PRINCIPAL_FIELDS))
    for principal in found:
        principal[APP_ROLE_ASSIGNED_TO] = app_role_assigned_to(rest, principal["id"])
    return found


def app_role_assigned_to(rest: RestClient, principal_id: str) -> list[Body]:
    """Every app role assignment granted for service principal ``principal_id`` (users, groups, service principals)."""
    path = f"{SERVICE_PRINCIPALS}/{principal_id}/{APP_ROLE_ASSIGNED_TO}"
    if not _GUID.match(principal_id):
        raise CollectionError("GET", rest.url(f"/v1.0/{path}"), f"service principal id {principal_id!r} is not a GUID")
    url = rest.url(f"/v1.0/{path}")
    found: dict[str, Body] = {}
    for item in _all(rest, path, {"$select": ",".join(ASSIGNMENT_FIELDS)}):
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise CollectionError("GET", url, "an assignment without a string id")
        kept = _only(item, ASSIGNMENT_FIELDS)
        earlier = found.setdefault(item["id"].lower(), kept)
        if earlier != kept:  # which copy is true cannot be known; page order must not decide
            raise CollectionError("GET", url, f"assignment {item['id']} returned twice with different values")
    return list(found.values())


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


def vpn_audiences(bodies: Iterable[Body]) -> tuple[list[str], list[str]]:
    """Entra audiences of the point-to-site gateways among ARM ``bodies``, and gateways whose audience is unknown.

    A gateway without readable properties, or Entra-authenticated without an
    ``aadAudience``, is unknown: the caller must not read its audience as "none".
    """
    audiences: dict[str, None] = {}
    unknown: list[str] = []
    for body in bodies:
        if str(body.get("type", "")).lower() != "microsoft.network/virtualnetworkgateways":
            continue
        properties = body.get("properties")
        client = properties.get("vpnClientConfiguration") if isinstance(properties, dict) else None
        if not isinstance(properties, dict) or (client is not None and not isinstance(client, dict)):
            unknown.append(str(body.get("id")))
            continue
        if client is None:
            continue  # no point-to-site configuration: no audience
        types = client.get("vpnAuthenticationTypes")
        if types is not None and not isinstance(types, list):
            unknown.append(str(body.get("id")))
            continue
        if "aad" not in {str(t).lower() for t in types or []}:
            continue
        audience = client.get("aadAudience")
        if isinstance(audience, str) and audience.strip():
            audiences.setdefault(audience.strip().lower())
        else:
            unknown.append(str(body.get("id")))
    return list(audiences), unknown
