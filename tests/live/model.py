"""What the local Azure stand-in serves: ARM resources and Microsoft Graph objects, as the REST APIs return them."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Estate:
    """A deployed-looking tenant.

    ``arm`` maps each ARM resource ID (cased as ARM returns it) to the body of
    ``GET {id}``: ``id``, ``name``, ``type``, ``location`` ... and nested
    ``properties`` exactly as the REST API answers (sub-resources such as
    subnets and security rules carry their own ``id``/``name``/``type``/``etag``
    and ``properties``). Child resources (``.../firewallRules/x``, ``.../config/web``,
    ``.../providers/Microsoft.Insights/diagnosticSettings/x``,
    ``.../providers/Microsoft.Authorization/roleAssignments/x``) are entries
    of their own; the server lists them under their parent.

    ``graph`` maps a Microsoft Graph v1.0 path without the version
    (``identity/conditionalAccess/policies/{id}``, ``groups/{id}``,
    ``identity/conditionalAccess/namedLocations/{id}``, ``applications/{id}``,
    ``servicePrincipals/{id}``, ``servicePrincipals/{id}/appRoleAssignedTo/{id}``)
    to the object Graph returns.
    ``members`` maps a group ID to its ``directoryObject`` members.
    ``app_settings`` maps a site ID to the ``properties`` of
    ``POST {site}/config/appsettings/list`` (a name -> value object).
    """

    subscription_id: str
    tenant_id: str
    arm: dict[str, dict[str, Any]] = field(default_factory=dict)
    graph: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    app_settings: dict[str, dict[str, str]] = field(default_factory=dict)

    def copy(self) -> Estate:
        return copy.deepcopy(self)

    def find(self, resource_id: str) -> dict[str, Any]:
        """The body of one ARM resource (case-insensitive ID)."""
        wanted = resource_id.lower()
        for key, body in self.arm.items():
            if key.lower() == wanted:
                return body
        raise KeyError(resource_id)

    def of_type(self, arm_type: str) -> list[dict[str, Any]]:
        return [body for body in self.arm.values() if str(body.get("type", "")).lower() == arm_type.lower()]
