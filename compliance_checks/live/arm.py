"""ARM service APIs for what Resource Graph does not carry: site configuration, database settings, diagnostics, roles.

Each function reads one resource's details and returns raw REST bodies. Every
failure raises CollectionError and becomes a gap for the types it would have
read, a 404 included: what is read here belongs to a resource Resource Graph
listed (see :func:`site_config`), so "not found" means it went away between the
listing and the read, never "not configured".
"""

from __future__ import annotations

from typing import Any, Final

from compliance_checks.inventory import SECRET
from compliance_checks.live.rest import CollectionError, RestClient

WEB_API: Final = "2024-04-01"
POSTGRES_API: Final = "2024-08-01"
DIAGNOSTICS_API: Final = "2021-05-01-preview"
AUTHORIZATION_API: Final = "2022-04-01"

Body = dict[str, Any]

# The SiteConfig fields the checks judge (webapp_min_tls_version, webapp_ftps_disabled, webapp_scm_ip_restricted).
# A config/web answer, from Resource Graph or from GET, that does not carry one of them says nothing about it: the
# field is never taken as its default. GET config/web (API 2024-04-01) returns every SiteConfig property, null where
# unset (Azure/azure-rest-api-specs specification/web/resource-manager/Microsoft.Web/stable/2024-04-01/
# CommonDefinitions.json#/definitions/SiteConfig; tests/live/estate.py site_config_web); a Resource Graph row may be
# a snapshot of another API version. tests/test_live_adversarial.py checks that this covers every siteConfig path a
# check reads.
SITE_CONFIG_FIELDS: Final = (
    "minTlsVersion",
    "scmMinTlsVersion",
    "ftpsState",
    "ipSecurityRestrictions",
    "ipSecurityRestrictionsDefaultAction",
    "scmIpSecurityRestrictions",
    "scmIpSecurityRestrictionsDefaultAction",
    "scmIpSecurityRestrictionsUseMain",
)
_SITE_CONFIG_KEYS: Final = frozenset(name.lower() for name in SITE_CONFIG_FIELDS)


def complete_site_config(body: Body) -> bool:
    """Whether a ``config/web`` body carries every field the checks judge (property names compare in any case)."""
    properties = body.get("properties")
    return isinstance(properties, dict) and {str(key).lower() for key in properties} >= _SITE_CONFIG_KEYS


def _listed(rest: RestClient, path: str, api_version: str) -> list[Body]:
    return [item for page in rest.pages(path, {"api-version": api_version}) for item in page]


def site_config(rest: RestClient, site_id: str, *, web: bool = True, auth: bool = True) -> list[Body]:
    """``config/web`` (what ``GET site`` leaves null) and ``config/authsettingsV2``, as asked.

    ``config/web`` comes from Resource Graph's ``appserviceresources`` for every site it returns
    (``resource_graph.SITE_CONFIG_QUERY``); the collector reads it here only for a site that table did not return,
    or returned without a field the checks judge. Both are singleton documents of the site in WebApps.json
    (WebApps_GetConfiguration, WebApps_GetAuthSettingsV2WithoutSecrets, API 2024-04-01), and a GET of authsettingsV2
    that was never set still answers a document (``platform.enabled`` false, Azure/azure-cli#30322 as quoted in
    tests/live/estate.py). A 404 therefore says the site went away since it was listed, not what its settings are:
    a gap (ERROR), never "Easy Auth not configured" (which the check would judge as a FAIL it cannot verify).
    """
    return [
        *([rest.get(f"{site_id}/config/web", {"api-version": WEB_API})] if web else []),
        *([rest.get(f"{site_id}/config/authsettingsV2", {"api-version": WEB_API})] if auth else []),
    ]


def site_publishing(rest: RestClient, site_id: str) -> list[Body]:
    """Basic-auth policies (``ftp``, ``scm``) and host-name bindings."""
    return [
        *_listed(rest, f"{site_id}/basicPublishingCredentialsPolicies", WEB_API),
        *_listed(rest, f"{site_id}/hostNameBindings", WEB_API),
    ]


def site_app_setting_names(rest: RestClient, site_id: str) -> list[Body]:
    """App setting *names*; values are dropped here, before anything else sees them.

    Listing needs ``Microsoft.Web/sites/config/list/action``, which Reader lacks
    (docs/live-audit.md); a 403 becomes a gap and the app-settings check an ERROR.
    """
    reply = rest.send("POST", f"{site_id}/config/appsettings/list", params={"api-version": WEB_API})
    properties = reply.body.get("properties")
    if not isinstance(properties, dict):
        raise CollectionError("POST", rest.url(f"{site_id}/config/appsettings/list"), "answer has no properties")
    return [
        {
            "id": f"{site_id}/config/appsettings",
            "name": "appsettings",
            "type": "Microsoft.Web/sites/config",
            "properties": {str(name): SECRET for name in properties},
        }
    ]


def postgres_firewall_rules(rest: RestClient, server_id: str) -> list[Body]:
    return _listed(rest, f"{server_id}/firewallRules", POSTGRES_API)


def postgres_configurations(rest: RestClient, server_id: str) -> list[Body]:
    return _listed(rest, f"{server_id}/configurations", POSTGRES_API)


def diagnostic_settings(rest: RestClient, resource_id: str) -> list[Body]:
    return _listed(rest, f"{resource_id}/providers/Microsoft.Insights/diagnosticSettings", DIAGNOSTICS_API)


def role_assignments(rest: RestClient, subscription_id: str) -> list[Body]:
    """Every role assignment at, above and below the subscription."""
    return _listed(
        rest, f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleAssignments", AUTHORIZATION_API
    )


def role_definition(rest: RestClient, scope: str, role: str) -> list[Body]:
    """A role definition that is not a well-known built-in one, read at the scope of an assignment that uses it.

    ``GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}`` (azure-docs
    role-based-access-control/custom-roles-rest.md, "List a custom role definition by ID"). A custom role
    created at a resource group is found there (its ID keeps that scope). Not found is a gap, never "no role".
    """
    return [
        rest.get(
            f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{role}", {"api-version": AUTHORIZATION_API}
        )
    ]
