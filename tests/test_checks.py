"""Every check passes on the real stacks and fails on a targeted break of them.

The estates are the synthesized dev (point-to-site) and prod (site-to-site)
stacks; each case changes one property of one resource, or adds or removes a
resource, and asserts the verdict of exactly the check that guards it.
"""

from __future__ import annotations

import copy
import functools
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.findings import Verdict, worst
from compliance_checks.inventory import UNKNOWN, Inventory, Resource
from compliance_checks.sources.synth import load_synth
from infra import well_known

CHECKS = load_checks()


@functools.cache
def estate(stack: str) -> Inventory:
    return load_synth(stack)[0]


def verdict_of(check_id: str, inventory: Inventory, params: Params | None = None) -> Verdict:
    findings = CHECKS[check_id].evaluate(inventory, params or Params())
    relevant = [f.verdict for f in findings if f.verdict != Verdict.NOT_APPLICABLE]
    return worst(relevant) if relevant else Verdict.NOT_APPLICABLE


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    target: Any = body
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
    if value is _DELETE:
        target.pop(keys[-1], None)
    elif isinstance(target, list):
        target[int(keys[-1])] = value
    else:
        target[keys[-1]] = value


_DELETE = object()


def change(inventory: Inventory, kind: str, path: str, value: Any, name: str | None = None) -> Inventory:
    """A copy of the inventory with ``path`` of the matching resources set (or deleted with _DELETE)."""
    changed = []
    hit = 0
    for resource in inventory:
        if resource.type.lower() == kind.lower() and (name is None or resource.name == name):
            body = copy.deepcopy(dict(resource.body))
            if callable(value) and value is not _DELETE:
                _set(body, path, value(resource.get(re.sub(r"\.(\d+)", r"[\1]", path))))
            else:
                _set(body, path, value)
            resource = Resource.create(  # noqa: PLW2901 - the changed copy replaces the original
                id=resource.id,
                type=resource.type,
                name=resource.name,
                body=body,
                location=body.get("location", resource.location),
                source=resource.source,
                origin=resource.origin,
            )
            hit += 1
        changed.append(resource)
    assert hit, f"no {kind} {name or ''} to change"
    return Inventory(changed)


def without(inventory: Inventory, predicate: Callable[[Resource], bool]) -> Inventory:
    kept = [r for r in inventory if not predicate(r)]
    assert len(kept) < len(inventory), "nothing removed"
    return Inventory(kept)


def plus(inventory: Inventory, resource: Resource) -> Inventory:
    return Inventory([*inventory, resource])


def child(inventory: Inventory, kind: str, suffix: str, body: dict[str, Any]) -> Resource:
    parent = inventory.of_type(kind)[0]
    child_type, name = suffix.rsplit("/", 1)
    return Resource.create(id=f"{parent.id}/{suffix}", type=f"{parent.type}/{child_type}", name=name, body=body)


def rules_plus(extra: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda rules: [*copy.deepcopy(rules), extra]


def allow_5432(source: str, port: str = "5432") -> dict[str, Any]:
    return {
        "name": "Sneaky",
        "priority": 200,
        "direction": "Inbound",
        "access": "Allow",
        "protocol": "Tcp",
        "sourceAddressPrefix": source,
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "destinationPortRange": port,
    }


SITE = "Microsoft.Web/sites"
SERVER = "Microsoft.DBforPostgreSQL/flexibleServers"
NSG_DB = "nsg-database-smartportal-dev-gwc"
CA = "Microsoft.Graph/conditionalAccessPolicies"
MFA_POLICY = "smart-portal-dev: require MFA for developers"
VPN_POLICY = "smart-portal-dev: VPN only from the allowed IP"

BREAKS: list[tuple[str, str, Callable[[], Inventory], Verdict]] = [
    ("webapp_https_only", "off", lambda: change(estate("dev"), SITE, "properties.httpsOnly", False), Verdict.FAIL),
    (
        "webapp_https_only",
        "unknown",
        lambda: change(estate("dev"), SITE, "properties.httpsOnly", UNKNOWN),
        Verdict.ERROR,
    ),
    (
        "webapp_https_only",
        "missing",
        lambda: change(estate("dev"), SITE, "properties.httpsOnly", _DELETE),
        Verdict.FAIL,
    ),
    (
        "webapp_min_tls_version",
        "TLS 1.0",
        lambda: change(estate("dev"), SITE, "properties.siteConfig.minTlsVersion", "1.0"),
        Verdict.FAIL,
    ),
    (
        "webapp_min_tls_version",
        "SCM TLS 1.1",
        lambda: change(estate("dev"), SITE, "properties.siteConfig.scmMinTlsVersion", "1.1"),
        Verdict.FAIL,
    ),
    (
        "webapp_ftps_disabled",
        "FTP on",
        lambda: change(estate("dev"), SITE, "properties.siteConfig.ftpsState", "AllAllowed"),
        Verdict.FAIL,
    ),
    (
        "webapp_client_affinity_disabled",
        "affinity on",
        lambda: change(estate("dev"), SITE, "properties.clientAffinityEnabled", True),
        Verdict.FAIL,
    ),
    (
        "webapp_easy_auth_disabled",
        "Easy Auth on",
        lambda: change(estate("dev"), "Microsoft.Web/sites/config", "properties.platform.enabled", True),
        Verdict.FAIL,
    ),
    (
        "webapp_easy_auth_disabled",
        "undeclared",
        lambda: without(estate("dev"), lambda r: r.type == "Microsoft.Web/sites/config"),
        Verdict.FAIL,
    ),
    (
        "webapp_basic_auth_disabled",
        "FTP basic auth on",
        lambda: change(
            estate("dev"),
            "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
            "properties.allow",
            True,
            name="ftp",
        ),
        Verdict.FAIL,
    ),
    (
        "webapp_basic_auth_disabled",
        "SCM policy undeclared",
        lambda: without(estate("dev"), lambda r: r.name == "scm"),
        Verdict.FAIL,
    ),
    (
        "webapp_scm_ip_restricted",
        "default allow",
        lambda: change(estate("dev"), SITE, "properties.siteConfig.scmIpSecurityRestrictionsDefaultAction", "Allow"),
        Verdict.FAIL,
    ),
    (
        "webapp_scm_ip_restricted",
        "range allowed",
        lambda: change(
            estate("dev"), SITE, "properties.siteConfig.scmIpSecurityRestrictions.0.ipAddress", "93.184.0.0/16"
        ),
        Verdict.FAIL,
    ),
    (
        "webapp_no_application_insights",
        "instrumentation setting",
        lambda: change(
            estate("dev"),
            SITE,
            "properties.siteConfig.appSettings",
            lambda s: [*s, {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "value": "InstrumentationKey=x"}],
        ),
        Verdict.FAIL,
    ),
    (
        "webapp_no_application_insights",
        "component",
        lambda: plus(
            estate("dev"),
            Resource.create(
                id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/components/ai",
                type="Microsoft.Insights/components",
                name="ai",
                body={},
            ),
        ),
        Verdict.FAIL,
    ),
    (
        "webapp_no_application_insights",
        "settings unknown",
        lambda: change(estate("dev"), SITE, "properties.siteConfig.appSettings", UNKNOWN),
        Verdict.ERROR,
    ),
    (
        "webapp_custom_domain_sni",
        "binding without TLS",
        lambda: change(estate("dev"), "Microsoft.Web/sites/hostNameBindings", "properties.sslState", "Disabled"),
        Verdict.FAIL,
    ),
    (
        "webapp_custom_domain_sni",
        "no custom domain",
        lambda: without(estate("dev"), lambda r: r.type == "Microsoft.Web/sites/hostNameBindings"),
        Verdict.FAIL,
    ),
    (
        "postgres_public_access_disabled",
        "public",
        lambda: change(estate("dev"), SERVER, "properties.network.publicNetworkAccess", "Enabled"),
        Verdict.FAIL,
    ),
    (
        "postgres_vnet_integrated",
        "no subnet",
        lambda: change(estate("dev"), SERVER, "properties.network.delegatedSubnetResourceId", _DELETE),
        Verdict.FAIL,
    ),
    (
        "postgres_no_firewall_rules",
        "a firewall rule",
        lambda: plus(
            estate("dev"),
            child(
                estate("dev"),
                SERVER,
                "firewallRules/office",
                {"properties": {"startIpAddress": "1.2.3.4", "endIpAddress": "1.2.3.4"}},
            ),
        ),
        Verdict.FAIL,
    ),
    (
        "postgres_require_secure_transport",
        "off",
        lambda: change(
            estate("dev"),
            "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
            "properties.value",
            "off",
            name="require_secure_transport",
        ),
        Verdict.FAIL,
    ),
    (
        "postgres_require_secure_transport",
        "undeclared",
        lambda: without(estate("dev"), lambda r: r.name == "require_secure_transport"),
        Verdict.FAIL,
    ),
    (
        "postgres_min_tls_version",
        "TLS 1.1",
        lambda: change(
            estate("dev"),
            "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
            "properties.value",
            "TLSv1.1",
            name="ssl_min_protocol_version",
        ),
        Verdict.FAIL,
    ),
    (
        "postgres_geo_backup_in_eu_pair",
        "no geo backup",
        lambda: change(estate("dev"), SERVER, "properties.backup.geoRedundantBackup", "Disabled"),
        Verdict.FAIL,
    ),
    (
        "postgres_geo_backup_in_eu_pair",
        "non-EU region",
        lambda: change(estate("dev"), SERVER, "location", "eastus"),
        Verdict.FAIL,
    ),
    (
        "keyvault_rbac_purge_protection",
        "no purge protection",
        lambda: change(estate("dev"), "Microsoft.KeyVault/vaults", "properties.enablePurgeProtection", False),
        Verdict.FAIL,
    ),
    (
        "keyvault_public_access_disabled",
        "public",
        lambda: change(estate("dev"), "Microsoft.KeyVault/vaults", "properties.publicNetworkAccess", "Enabled"),
        Verdict.FAIL,
    ),
    (
        "keyvault_private_endpoint_reachability",
        "endpoints subnet's NSG not applied to private endpoints",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/virtualNetworks/subnets",
            "properties.privateEndpointNetworkPolicies",
            "Disabled",
            name="snet-endpoints",
        ),
        Verdict.FAIL,
    ),
    (
        "log_retention_at_most_90_days",
        "365 days",
        lambda: change(estate("dev"), "Microsoft.OperationalInsights/workspaces", "properties.retentionInDays", 365),
        Verdict.FAIL,
    ),
    (
        "location_in_allowed_regions",
        "VNet in eastus",
        lambda: change(estate("dev"), "Microsoft.Network/virtualNetworks", "location", "eastus"),
        Verdict.FAIL,
    ),
    (
        "location_in_allowed_regions",
        "global-only type in a region",
        lambda: change(estate("dev"), "Microsoft.Insights/actionGroups", "location", "westeurope"),
        Verdict.FAIL,
    ),
    (
        "nsg_deny_all_inbound",
        "deny-all removed",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/networkSecurityGroups",
            "properties.securityRules",
            lambda rules: [r for r in rules if r["name"] != "DenyAllInbound"],
            name=NSG_DB,
        ),
        Verdict.FAIL,
    ),
    (
        "nsg_deny_all_inbound",
        "allow from the internet",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/networkSecurityGroups",
            "properties.securityRules",
            rules_plus(allow_5432("Internet", "443")),
            name="nsg-endpoints-smartportal-dev-gwc",
        ),
        Verdict.FAIL,
    ),
    (
        "nsg_database_port_two_sources",
        "0.0.0.0/0",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/networkSecurityGroups",
            "properties.securityRules",
            rules_plus(allow_5432("0.0.0.0/0")),
            name=NSG_DB,
        ),
        Verdict.FAIL,
    ),
    (
        "nsg_database_port_two_sources",
        "a second IP",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/networkSecurityGroups",
            "properties.securityRules",
            rules_plus(allow_5432("198.51.100.20/32")),
            name=NSG_DB,
        ),
        Verdict.FAIL,
    ),
    (
        "nsg_database_port_two_sources",
        "a port range covering 5432",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/networkSecurityGroups",
            "properties.securityRules",
            rules_plus(allow_5432("10.0.0.0/8", "5000-6000")),
            name=NSG_DB,
        ),
        Verdict.FAIL,
    ),
    (
        "nsg_database_port_two_sources",
        "VirtualNetwork tag",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/networkSecurityGroups",
            "properties.securityRules",
            rules_plus(allow_5432("VirtualNetwork", "*")),
            name=NSG_DB,
        ),
        Verdict.FAIL,
    ),
    (
        "nsg_database_port_two_sources",
        "database subnet without NSG",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/virtualNetworks/subnets",
            "properties.networkSecurityGroup",
            _DELETE,
            name="snet-database",
        ),
        Verdict.FAIL,
    ),
    (
        "nsg_database_port_two_sources",
        "no deny-all",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/networkSecurityGroups",
            "properties.securityRules",
            lambda rules: [r for r in rules if r["name"] != "DenyAllInbound"],
            name=NSG_DB,
        ),
        Verdict.FAIL,
    ),
    (
        "vpn_gateway_single_ip_or_entra",
        "certificate auth",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/virtualNetworkGateways",
            "properties.vpnClientConfiguration.vpnAuthenticationTypes",
            ["Certificate"],
        ),
        Verdict.FAIL,
    ),
    (
        "vpn_gateway_single_ip_or_entra",
        "IKEv2 besides OpenVPN",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/virtualNetworkGateways",
            "properties.vpnClientConfiguration.vpnClientProtocols",
            ["OpenVPN", "IkeV2"],
        ),
        Verdict.FAIL,
    ),
    (
        "vpn_gateway_single_ip_or_entra",
        "office range instead of one address",
        lambda: change(
            estate("prod"),
            "Microsoft.Network/localNetworkGateways",
            "properties.localNetworkAddressSpace.addressPrefixes",
            ["93.184.216.0/24"],
        ),
        Verdict.FAIL,
    ),
    (
        "vpn_gateway_single_ip_or_entra",
        "weak DH group",
        lambda: change(
            estate("prod"), "Microsoft.Network/connections", "properties.ipsecPolicies.0.dhGroup", "DHGroup2"
        ),
        Verdict.FAIL,
    ),
    (
        "vpn_gateway_single_ip_or_entra",
        "default IPsec policy",
        lambda: change(estate("prod"), "Microsoft.Network/connections", "properties.ipsecPolicies", []),
        Verdict.FAIL,
    ),
    (
        "entra_ca_vpn_allowed_ip_only",
        "report-only",
        lambda: change(estate("dev"), CA, "state", "enabledForReportingButNotEnforced", name=VPN_POLICY),
        Verdict.FAIL,
    ),
    (
        "entra_ca_vpn_allowed_ip_only",
        "second range in the named location",
        lambda: change(
            estate("dev"),
            "Microsoft.Graph/namedLocations",
            "ipRanges",
            lambda r: [*r, {"cidrAddress": "198.51.100.9/32"}],
        ),
        Verdict.FAIL,
    ),
    (
        "entra_ca_vpn_allowed_ip_only",
        "gateway configuration unknown",
        lambda: change(
            estate("dev"), "Microsoft.Network/virtualNetworkGateways", "properties.vpnClientConfiguration", UNKNOWN
        ),
        Verdict.ERROR,
    ),
    (
        "entra_ca_mfa_for_developers",
        "report-only",
        lambda: change(estate("dev"), CA, "state", "enabledForReportingButNotEnforced", name=MFA_POLICY),
        Verdict.FAIL,
    ),
    (
        "entra_ca_mfa_for_developers",
        "VPN app not covered",
        lambda: without(estate("dev"), lambda r: r.name == "smart-portal-dev: require MFA for the VPN"),
        Verdict.FAIL,
    ),
    (
        # Named but not enforced everywhere: MFA only outside trusted locations leaves sign-ins without it.
        "entra_ca_mfa_for_developers",
        "VPN MFA narrowed to untrusted locations",
        lambda: change(
            estate("dev"),
            CA,
            "conditions.locations",
            {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]},
            name="smart-portal-dev: require MFA for the VPN",
        ),
        Verdict.FAIL,
    ),
    (
        "entra_ca_mfa_for_developers",
        "no MFA grant",
        lambda: change(estate("prod"), CA, "grantControls.builtInControls", ["compliantDevice"]),
        Verdict.FAIL,
    ),
    (
        "entra_ca_mfa_for_developers",
        "no developers' group",
        lambda: without(estate("dev"), lambda r: r.type == "Microsoft.Graph/groups"),
        Verdict.ERROR,
    ),
    (
        "rbac_developers_least_privilege",
        "Owner",
        lambda: change(
            estate("dev"),
            "Microsoft.Authorization/roleAssignments",
            "properties.roleDefinitionId",
            "/providers/Microsoft.Authorization/roleDefinitions/" + well_known.role_id("Owner"),
            name="29db8f38-339a-5a4e-9bcc-da5d087e9e3c",
        ),
        Verdict.FAIL,
    ),
    (
        "rbac_developers_least_privilege",
        "Website Contributor (its sites/* covers sites/config/write)",
        lambda: change(
            estate("dev"),
            "Microsoft.Authorization/roleAssignments",
            "properties.roleDefinitionId",
            "/providers/Microsoft.Authorization/roleDefinitions/" + well_known.role_id("Website Contributor"),
            name="29db8f38-339a-5a4e-9bcc-da5d087e9e3c",
        ),
        Verdict.FAIL,
    ),
    (
        # notActions that exclude config/write still leave sites/write, which carries siteConfig too.
        "rbac_developers_least_privilege",
        "custom role with sites/* minus config/write",
        lambda: change(
            estate("dev"),
            "Microsoft.Authorization/roleDefinitions",
            "properties.permissions",
            [{"actions": ["microsoft.web/SITES/*"], "notActions": ["Microsoft.Web/sites/config/write"]}],
        ),
        Verdict.FAIL,
    ),
    (
        "rbac_developers_least_privilege",
        "custom role with a wildcard over NSG rules",
        lambda: change(
            estate("dev"),
            "Microsoft.Authorization/roleDefinitions",
            "properties.permissions",
            [{"actions": ["Microsoft.Network/*/securityRules/*"], "notActions": []}],
        ),
        Verdict.FAIL,
    ),
    (
        "rbac_developers_least_privilege",
        "custom role's permissions unknown",
        lambda: change(estate("dev"), "Microsoft.Authorization/roleDefinitions", "properties.permissions", UNKNOWN),
        Verdict.ERROR,
    ),
    (
        "rbac_developers_least_privilege",
        "a role nobody can look up",
        lambda: change(
            estate("dev"),
            "Microsoft.Authorization/roleAssignments",
            "properties.roleDefinitionId",
            # Made at run time: a role ID that is deliberately in no data file.
            "/providers/Microsoft.Authorization/roleDefinitions/" + str(uuid.uuid5(uuid.NAMESPACE_URL, "no-such-role")),
            name="29db8f38-339a-5a4e-9bcc-da5d087e9e3c",
        ),
        Verdict.ERROR,
    ),
    (
        "rbac_developers_least_privilege",
        "Reader at subscription scope",
        lambda: change(
            estate("dev"),
            "Microsoft.Authorization/roleAssignments",
            "properties.scope",
            "/subscriptions/6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21",
            name="29db8f38-339a-5a4e-9bcc-da5d087e9e3c",
        ),
        Verdict.FAIL,
    ),
    (
        "diagnostic_settings_enabled",
        "vault without logs",
        lambda: without(estate("dev"), lambda r: r.name == "diag-key-vault"),
        Verdict.FAIL,
    ),
    (
        "activity_log_alert_network_changes",
        "firewall writes not watched",
        lambda: change(
            estate("dev"),
            "Microsoft.Insights/activityLogAlerts",
            "properties.condition.allOf.1.anyOf",
            lambda ops: [o for o in ops if "firewallRules" not in o["equals"]],
        ),
        Verdict.FAIL,
    ),
    (
        "activity_log_alert_network_changes",
        "disabled",
        lambda: change(estate("dev"), "Microsoft.Insights/activityLogAlerts", "properties.enabled", False),
        Verdict.FAIL,
    ),
    (
        "activity_log_alert_network_changes",
        "site config writes not watched",
        lambda: change(
            estate("dev"),
            "Microsoft.Insights/activityLogAlerts",
            "properties.condition.allOf.1.anyOf",
            lambda ops: [o for o in ops if o["equals"] != "Microsoft.Web/sites/config/write"],
        ),
        Verdict.FAIL,
    ),
    (
        # Two operationName leaves under allOf: no event has both names, the alert never fires.
        "activity_log_alert_network_changes",
        "operations ANDed instead of ORed",
        lambda: change(
            estate("dev"),
            "Microsoft.Insights/activityLogAlerts",
            "properties.condition.allOf",
            lambda items: [items[0], *items[1]["anyof"]],
        ),
        Verdict.FAIL,
    ),
    (
        "activity_log_alert_network_changes",
        "category Security never sees an Administrative event",
        lambda: change(
            estate("dev"), "Microsoft.Insights/activityLogAlerts", "properties.condition.allOf.0.equals", "Security"
        ),
        Verdict.FAIL,
    ),
    (
        "activity_log_alert_network_changes",
        "narrowed to one caller",
        lambda: change(
            estate("dev"),
            "Microsoft.Insights/activityLogAlerts",
            "properties.condition.allOf",
            lambda items: [*items, {"field": "caller", "equals": "someone@example.org"}],
        ),
        Verdict.FAIL,
    ),
    (
        "activity_log_alert_network_changes",
        "scoped to another subscription",
        lambda: change(
            estate("dev"),
            "Microsoft.Insights/activityLogAlerts",
            "properties.scopes",
            ["/subscriptions/11111111-2222-4333-8444-555555555555"],
        ),
        Verdict.FAIL,
    ),
    (
        # Written as the REST API example writes it (no leading slash): the same subscription.
        "activity_log_alert_network_changes",
        "subscription scope without a leading slash",
        lambda: change(
            estate("dev"),
            "Microsoft.Insights/activityLogAlerts",
            "properties.scopes",
            lambda scopes: [scope.lstrip("/") for scope in scopes],
        ),
        Verdict.PASS,
    ),
    (
        "activity_log_alert_network_changes",
        "scope unknown",
        lambda: change(estate("dev"), "Microsoft.Insights/activityLogAlerts", "properties.scopes", UNKNOWN),
        Verdict.ERROR,
    ),
    (
        # The design before issue 9: the Microsoft-registered app as audience, nothing requires assignment.
        "entra_vpn_token_developers_only",
        "Microsoft-registered audience, no assignment required",
        lambda: change(
            without(estate("dev"), lambda r: r.type == "Microsoft.Graph/servicePrincipals"),
            "Microsoft.Network/virtualNetworkGateways",
            "properties.vpnClientConfiguration.aadAudience",
            well_known.azure_vpn_client_app_ids()["AzureCloud"],
        ),
        Verdict.FAIL,
    ),
    (
        "entra_vpn_token_developers_only",
        "assignment not required",
        lambda: change(estate("dev"), "Microsoft.Graph/servicePrincipals", "appRoleAssignmentRequired", False),
        Verdict.FAIL,
    ),
    (
        "entra_vpn_token_developers_only",
        "assignment flag unknown",
        lambda: change(estate("dev"), "Microsoft.Graph/servicePrincipals", "appRoleAssignmentRequired", UNKNOWN),
        Verdict.ERROR,
    ),
    (
        "entra_vpn_token_developers_only",
        "a user assigned directly",
        lambda: plus(estate("dev"), _assignment(estate("dev"), "User", "5f1d2c3b-4a59-4e6f-8d7c-9b0a1f2e3d4c")),
        Verdict.FAIL,
    ),
    (
        "entra_vpn_token_developers_only",
        "a second group assigned",
        lambda: plus(estate("dev"), _assignment(estate("dev"), "Group", "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d")),
        Verdict.FAIL,
    ),
    (
        "entra_vpn_token_developers_only",
        "the assigned group's MFA policy is report-only",
        lambda: change(
            estate("dev"),
            "Microsoft.Graph/conditionalAccessPolicies",
            "state",
            "enabledForReportingButNotEnforced",
            name="smart-portal-dev: require MFA for the VPN",
        ),
        Verdict.FAIL,
    ),
    (
        "entra_vpn_token_developers_only",
        "audience unknown",
        lambda: change(
            estate("dev"),
            "Microsoft.Network/virtualNetworkGateways",
            "properties.vpnClientConfiguration.aadAudience",
            UNKNOWN,
        ),
        Verdict.ERROR,
    ),
]


def _assignment(inventory: Inventory, principal_type: str, principal_id: str) -> Resource:
    """One more app role assignment to the VPN audience's service principal."""
    sp = inventory.of_type("Microsoft.Graph/servicePrincipals")[0]
    return Resource.create(
        id=f"graph:/servicePrincipals/{sp.get('id')}/appRoleAssignedTo/extra-{principal_id}",
        type="Microsoft.Graph/appRoleAssignments",
        name=f"extra {principal_type}",
        body={
            "appRoleId": well_known.graph_default_app_role_id(),
            "principalId": principal_id,
            "principalType": principal_type,
            "resourceId": sp.get("id"),
        },
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_stacks_pass_every_configuration_check(stack: str) -> None:
    inventory = estate(stack)
    for check_id in CHECKS:
        verdict = verdict_of(check_id, inventory)
        if check_id.startswith("probe_"):
            assert verdict == Verdict.MANUAL, check_id
        elif check_id in ("entra_ca_vpn_allowed_ip_only", "entra_vpn_token_developers_only") and stack == "prod":
            assert verdict == Verdict.NOT_APPLICABLE
        else:
            assert verdict == Verdict.PASS, check_id


@pytest.mark.parametrize(("check_id", "case", "build", "expected"), BREAKS, ids=[f"{c}-{n}" for c, n, _, _ in BREAKS])
def test_a_break_is_caught(check_id: str, case: str, build: Callable[[], Inventory], expected: Verdict) -> None:
    assert verdict_of(check_id, build()) == expected


def test_every_configuration_check_has_a_break() -> None:
    covered = {c for c, _, _, _ in BREAKS}
    missing = sorted(c for c in CHECKS if not c.startswith("probe_") and c not in covered)
    assert missing == []


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_nothing_to_look_at_never_passes(check_id: str) -> None:
    findings = CHECKS[check_id].evaluate(Inventory([]), Params())
    assert findings
    assert all(f.verdict != Verdict.PASS for f in findings)


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_metadata_is_complete(check_id: str) -> None:
    meta = CHECKS[check_id].meta
    assert meta.id == check_id
    assert meta.title and meta.rationale and meta.remediation
    # Probe checks may also name organisational recipients claims (REC-*): their observed layer.
    families = {"SEC", "PRIV", "REC"} if check_id.startswith("probe_") else {"SEC", "PRIV"}
    assert meta.claims and all(c.split("-")[0] in families for c in meta.claims)
    assert all(r.startswith("https://") for r in meta.references)


def test_parameters_change_the_judgement() -> None:
    strict = Params(min_tls_version="1.3", max_log_retention_days=20)
    assert verdict_of("webapp_min_tls_version", estate("dev"), strict) == Verdict.FAIL
    assert verdict_of("webapp_min_tls_version", estate("prod"), strict) == Verdict.PASS
    assert verdict_of("log_retention_at_most_90_days", estate("dev"), strict) == Verdict.FAIL
    narrow = Params(allowed_locations=frozenset({"westeurope"}))
    assert verdict_of("location_in_allowed_regions", estate("dev"), narrow) == Verdict.FAIL


def _probe(kind: str, body: dict[str, Any]) -> Resource:
    return Resource.create(id=f"probe:{kind}/portal", type=f"Probe/{kind}", name="portal", body=body, source="probe")


GOOD_HTTP = {
    "httpRedirect": {"status": 301, "location": "https://portal.example.org/"},
    "hsts": {"maxAge": 31536000},
    "setCookie": [],
    "contentSecurityPolicy": "default-src 'self'; script-src 'self'; connect-src 'self'",
}
GOOD_BROWSER = {
    "url": "https://portal.example.org/",
    "cookies": [],
    "localStorage": {"https://portal.example.org": ["auth", "lang"]},
    "requests": [{"url": "https://portal.example.org/app.js", "host": "portal.example.org"}],
}
PROBES: list[tuple[str, str, dict[str, Any], Verdict]] = [
    (
        "probe_tls_protocols",
        "tls",
        {
            "acceptedProtocols": ["TLSv1.2", "TLSv1.3"],
            "certificate": {"chainValid": True, "hostnameMatches": True, "daysToExpiry": 80},
        },
        Verdict.PASS,
    ),
    (
        "probe_tls_protocols",
        "tls",
        {
            "acceptedProtocols": ["TLSv1.0", "TLSv1.2"],
            "certificate": {"chainValid": True, "hostnameMatches": True, "daysToExpiry": 80},
        },
        Verdict.FAIL,
    ),
    (
        "probe_tls_protocols",
        "tls",
        {
            "acceptedProtocols": ["TLSv1.2"],
            "certificate": {"chainValid": True, "hostnameMatches": True, "daysToExpiry": -2},
        },
        Verdict.FAIL,
    ),
    (
        "probe_tls_protocols",
        "tls",
        {
            "acceptedProtocols": ["TLSv1.2"],
            "certificate": {"chainValid": False, "hostnameMatches": True, "daysToExpiry": 20},
        },
        Verdict.FAIL,
    ),
    ("probe_tls_protocols", "tls", {"error": "connection refused"}, Verdict.ERROR),
    ("probe_http_hsts_redirect", "http", GOOD_HTTP, Verdict.PASS),
    (
        "probe_http_hsts_redirect",
        "http",
        {**GOOD_HTTP, "httpRedirect": {"status": 302, "location": "https://x/"}},
        Verdict.FAIL,
    ),
    ("probe_http_hsts_redirect", "http", {**GOOD_HTTP, "hsts": None}, Verdict.FAIL),
    ("probe_http_no_set_cookie", "http", GOOD_HTTP, Verdict.PASS),
    ("probe_http_no_set_cookie", "http", {**GOOD_HTTP, "setCookie": ["ARRAffinity=abc; Path=/"]}, Verdict.FAIL),
    ("probe_http_csp_no_analytics", "http", GOOD_HTTP, Verdict.PASS),
    (
        "probe_http_csp_no_analytics",
        "http",
        {**GOOD_HTTP, "contentSecurityPolicy": "script-src 'self' https://www.googletagmanager.com"},
        Verdict.FAIL,
    ),
    ("probe_http_csp_no_analytics", "http", {**GOOD_HTTP, "contentSecurityPolicy": None}, Verdict.FAIL),
    ("probe_http_csp_no_analytics", "http", {**GOOD_HTTP, "contentSecurityPolicy": "script-src *"}, Verdict.FAIL),
    ("probe_browser_no_cookies", "browser", GOOD_BROWSER, Verdict.PASS),
    (
        "probe_browser_no_cookies",
        "browser",
        {**GOOD_BROWSER, "cookies": [{"name": "_ga", "domain": "x"}]},
        Verdict.FAIL,
    ),
    ("probe_browser_local_storage", "browser", GOOD_BROWSER, Verdict.PASS),
    ("probe_browser_local_storage", "browser", {**GOOD_BROWSER, "localStorage": {}}, Verdict.MANUAL),
    # Which origin is the portal's own cannot be told without the visited URL.
    ("probe_browser_local_storage", "browser", {k: v for k, v in GOOD_BROWSER.items() if k != "url"}, Verdict.ERROR),
    ("probe_browser_no_trackers", "browser", GOOD_BROWSER, Verdict.PASS),
    (
        "probe_browser_no_trackers",
        "browser",
        {
            **GOOD_BROWSER,
            "requests": [
                {"url": "https://region1.google-analytics.com/g/collect", "host": "region1.google-analytics.com"}
            ],
        },
        Verdict.FAIL,
    ),
    ("probe_browser_no_trackers", "browser", {**GOOD_BROWSER, "requests": None}, Verdict.ERROR),
    (
        "probe_database_port_unreachable",
        "reachability",
        {"host": "db", "port": 5432, "result": "timeout", "vantageIsAllowed": False},
        Verdict.PASS,
    ),
    (
        "probe_database_port_unreachable",
        "reachability",
        {"host": "db", "port": 5432, "result": "open", "vantageIsAllowed": False},
        Verdict.FAIL,
    ),
]


@pytest.mark.parametrize(("check_id", "kind", "body", "expected"), PROBES)
def test_probe_checks_judge_probe_records(check_id: str, kind: str, body: dict[str, Any], expected: Verdict) -> None:
    assert verdict_of(check_id, Inventory([_probe(kind, body)])) == expected


def test_a_crashing_check_is_an_error_not_a_pass() -> None:
    from compliance_checks.engine import evaluate

    class Broken(type(CHECKS["webapp_https_only"])):  # type: ignore[misc]
        def run(self, inventory: Inventory, params: Params) -> Any:
            raise RuntimeError("boom")

    broken = Broken(**{f: getattr(CHECKS["webapp_https_only"], f) for f in ("meta", "resource_type", "rules")})
    from compliance_checks.catalog import load_catalog

    result = evaluate(estate("dev"), catalog=load_catalog(), checks={"webapp_https_only": broken})
    (finding,) = result.findings
    assert finding.verdict == Verdict.ERROR and "boom" in finding.message
    assert result.exit_code == 2


@pytest.mark.parametrize("check_id", sorted(c.id for c in load_checks().values() if c.subject))
def test_a_check_with_a_subject_errors_on_an_inventory_without_one(check_id: str) -> None:
    check = load_checks()[check_id]
    [finding] = check.evaluate(Inventory([]), Params())
    assert finding.verdict == Verdict.ERROR
    assert finding.message == f"Nothing to verify: no {check.subject} in the inventory."
