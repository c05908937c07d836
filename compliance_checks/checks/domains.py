"""The values Azure and Microsoft Graph define for the properties checks decide on (not a check itself).

Each domain is data with its source beside it. A value outside its domain is
not something a check may reason about: ``Check.evaluate`` makes it an ERROR
(see ``Read`` in base.py).
"""

from __future__ import annotations

import ipaddress
import re

from compliance_checks.checks.base import ArmId, Boolean, Domain, Enum, Integer, ListOf, Matches, Object, Read, Text

__all__ = ["ArmId", "Enum", "Integer", "ListOf", "Matches", "Object", "Read", "Text"]
from infra import well_known

_NSG_SPEC = (
    "Azure/azure-rest-api-specs specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/"
    "networkSecurityGroup.json (commit c93887028b4d26ea3c19a1c5be394b4f69e636c3), SecurityRulePropertiesFormat"
)
_GRAPH_POLICY = (
    "microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/resources/conditionalaccesspolicy.md"
    " (commit 073a3963b21637213e5f1e568a46929928f02ddf)"
)
_GRAPH_GRANT = (
    "microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/resources/conditionalaccessgrantcontrols.md"
    " (commit 0f601cdc001dcd8ed481f945c6919969f4b92293)"
)

# NSG security rules: protocol, access, priority and direction are required by the spec.
RULE_PROTOCOL = Enum(("Tcp", "Udp", "Icmp", "Esp", "*", "Ah"), _NSG_SPEC)
RULE_ACCESS = Enum(("Allow", "Deny"), _NSG_SPEC + " -> network.json SecurityRuleAccess")
RULE_DIRECTION = Enum(("Inbound", "Outbound"), _NSG_SPEC + " -> network.json SecurityRuleDirection")
RULE_PRIORITY = Integer(100, 4096)  # "The value can be between 100 and 4096." (same definition)


def _address_prefix(text: str) -> bool:
    """ "The CIDR or source IP range. Asterisk '*' ... Default tags such as 'VirtualNetwork'..." (same definition)."""
    if text == "*":
        return True
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        # A service tag, possibly regional ("Storage.WestEurope"): judged by its base name.
        return text.split(".", 1)[0].lower() in {t.lower() for t in well_known.service_tags()}
    return True


def _port_range(text: str) -> bool:
    """ "Integer or range between 0 and 65535. Asterisk '*' can also be used to match all ports." (same definition)."""
    if text == "*":
        return True
    found = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", text)
    if found is None:
        return False
    low, high = int(found.group(1)), int(found.group(2) or found.group(1))
    return 0 <= low <= high <= 65535


ADDRESS_PREFIX = Matches(_address_prefix, "an IP address, CIDR range, '*' or service tag")
ADDRESS_PREFIXES = ListOf(ADDRESS_PREFIX)
PORT_RANGE = Matches(_port_range, "a port, a port range (0-65535) or '*'")
PORT_RANGES = ListOf(PORT_RANGE)
CIDR = Matches(lambda text: _address_prefix(text) and text != "*" and "/" in text, "a CIDR range")


def _guid(text: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", text) is not None


GUID = Matches(_guid, "a GUID")


def _role_definition_id(text: str) -> bool:
    """A role definition's ID at any scope: tenant (built-in), subscription, resource group or management group."""
    head, _, last = text.rpartition("/")
    return (
        text.startswith("/")
        and _guid(last)
        and head.lower().endswith("/providers/microsoft.authorization/roledefinitions")
    )


def _scope(text: str) -> bool:
    """An ARM scope: the root, a management group, a subscription, a resource group or a resource."""
    parts = text.split("/")
    return (
        text.startswith("/")
        and (text == "/" or parts[1].lower() in ("subscriptions", "providers"))
        and "" not in parts[1:]
    )


SCOPE = Matches(_scope, "an ARM scope (/subscriptions/...)")
ROLE_DEFINITION_ID = Matches(_role_definition_id, "the ID of a role definition")

# Role assignments (azure-native 3.29.0 authorization.PrincipalType, generated from the Authorization specs).
ROLE_PRINCIPAL_TYPE = Enum(
    ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device", "AgentUser", "AgentServicePrincipal"),
    "pulumi_azure_native.authorization.PrincipalType",
)
# Graph appRoleAssignment.principalType: "This can either be User, Group, or ServicePrincipal."
# (microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/resources/approleassignment.md)
APP_ROLE_PRINCIPAL_TYPE = Enum(("User", "Group", "ServicePrincipal"), "Graph v1.0 appRoleAssignment")

# Conditional Access (Graph v1.0).
POLICY_STATE = Enum(("enabled", "disabled", "enabledForReportingButNotEnforced"), _GRAPH_POLICY)
GRANT_OPERATOR = Enum(("AND", "OR"), _GRAPH_GRANT)
IDS = ListOf(Text())  # object IDs, app IDs and the keywords "All"/"None"/"AllTrusted"
OBJECT = Object()
# authenticationStrengthPolicy: a strength is named by its id (Graph v1.0 authenticationstrengthpolicy.md).
STRENGTH = Object(("id",))
# PostgreSQL's own values of ssl_min_protocol_version (postgresql.org/docs/current/runtime-config-connection.html).
PG_TLS_VERSION = Enum(("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"), "PostgreSQL ssl_min_protocol_version")
# App Service siteConfig.minTlsVersion (azure-native web.SupportedTlsVersions, generated from the Web specs).
SITE_TLS_VERSION = Enum(("1.0", "1.1", "1.2", "1.3"), "pulumi_azure_native.web.SupportedTlsVersions")

# Log Analytics: interactive retention "up to two years", and down to 4 days through the API
# (https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure).
WORKSPACE_RETENTION_DAYS = Integer(4, 730)

WORKSPACE_ID = ArmId("Microsoft.OperationalInsights/workspaces")
LOCATION = Text()
TEXT = Text()


# --- what the Conditional Access checks read, declared once -----------------------------------------------

CA_POLICY = "Microsoft.Graph/conditionalAccessPolicies"
GATEWAY = "Microsoft.Network/virtualNetworkGateways"
# Graph returns state on every policy; every other field may be absent or null, meaning "none"
# (no group excluded, no control, no condition) -- which each check's logic judges.
_CA_FIELDS: dict[str, tuple[Domain, bool]] = {
    "state": (POLICY_STATE, True),
    "conditions.users.includeUsers": (IDS, False),
    "conditions.users.includeGroups": (IDS, False),
    "conditions.users.excludeGroups": (IDS, False),
    "conditions.users.excludeUsers": (IDS, False),
    "conditions.users.excludeRoles": (IDS, False),
    # Shapes of Graph v1.0 conditionalAccessConditionSet and its members (microsoft-graph-docs-contrib
    # api-reference/v1.0/resources/conditionalaccess*.md): risk levels are lists of riskLevel values, the
    # others objects of their own fields.
    "conditions.users.excludeGuestsOrExternalUsers": (
        Object(any_of=("guestOrExternalUserTypes", "externalTenants")),
        False,
    ),
    "conditions.platforms": (Object(any_of=("includePlatforms", "excludePlatforms")), False),
    "conditions.devices": (Object(any_of=("deviceFilter",)), False),
    "conditions.clientApplications": (
        Object(any_of=("includeServicePrincipals", "excludeServicePrincipals", "servicePrincipalFilter")),
        False,
    ),
    "conditions.userRiskLevels": (IDS, False),
    "conditions.signInRiskLevels": (IDS, False),
    "conditions.servicePrincipalRiskLevels": (IDS, False),
    "conditions.insiderRiskLevels": (Text(), False),
    "conditions.applications.includeApplications": (IDS, False),
    "conditions.applications.excludeApplications": (IDS, False),
    "conditions.clientAppTypes": (IDS, False),
    "conditions.locations.includeLocations": (IDS, False),
    "conditions.locations.excludeLocations": (IDS, False),
    "grantControls.operator": (GRANT_OPERATOR, False),
    "grantControls.builtInControls": (IDS, False),
    "grantControls.authenticationStrength": (STRENGTH, False),
    # Read by the Conditional Access evaluator (compliance_checks/evaluate/conditional_access.py), same Graph pages:
    # conditionalaccessusers.md (includeRoles, includeGuestsOrExternalUsers), conditionalaccessgrantcontrols.md
    # (customAuthenticationFactors, termsOfUse: ID collections).
    "conditions.users.includeRoles": (IDS, False),
    "conditions.users.includeGuestsOrExternalUsers": (
        Object(any_of=("guestOrExternalUserTypes", "externalTenants")),
        False,
    ),
    "conditions.authenticationFlows": (Object(any_of=("transferMethods",)), False),
    "grantControls.customAuthenticationFactors": (IDS, False),
    "grantControls.termsOfUse": (IDS, False),
}
# Conditions that narrow where a policy applies (any set one means "not every sign-in").
NARROWING_CONDITIONS = (
    "locations",
    "platforms",
    "devices",
    "clientApplications",
    "userRiskLevels",
    "signInRiskLevels",
    "servicePrincipalRiskLevels",
    "insiderRiskLevels",
)


def ca_policy_reads(*paths: str) -> tuple[Read, ...]:
    """The reads of these Conditional Access policy fields, with their domains."""
    reads = []
    for path in paths:
        # Fields not in the table (the narrowing conditions: objects, lists or flag strings) only need to be known.
        domain, required = _CA_FIELDS.get(path, (Domain(), False))
        reads.append(Read(CA_POLICY, path, absent_ok=not required, domain=domain, required=required))
    return tuple(reads)


# Everything the shared "MFA on every sign-in" predicate (entra_vpn_token_developers_only.enforced_mfa_groups) reads.
MFA_PREDICATE_READS = ca_policy_reads(
    "state",
    "conditions.users.includeUsers",
    "conditions.users.includeGroups",
    "conditions.users.excludeGroups",
    "conditions.users.excludeUsers",
    "conditions.users.excludeRoles",
    "conditions.users.excludeGuestsOrExternalUsers",
    "conditions.applications.includeApplications",
    "conditions.applications.excludeApplications",
    "conditions.clientAppTypes",
    *(f"conditions.{condition}" for condition in NARROWING_CONDITIONS if condition != "locations"),
    "conditions.locations.includeLocations",
    "conditions.locations.excludeLocations",
    "grantControls.operator",
    "grantControls.builtInControls",
    "grantControls.authenticationStrength",
)
# Whether a gateway signs clients in with Entra ID, and for which app (network_helpers.entra_p2s).
ENTRA_GATEWAY_READS = (
    Read(
        GATEWAY,
        "properties.vpnClientConfiguration.vpnAuthenticationTypes",
        absent_ok=True,
        domain=ListOf(Text()),
    ),
    Read(GATEWAY, "properties.vpnClientConfiguration.aadAudience", absent_ok=True, domain=Text()),
)

# Everything the Conditional Access evaluator reads (compliance_checks/evaluate/conditional_access.py): every policy
# field above, the named locations (Graph ipNamedLocation / countryNamedLocation: an IP range's cidrAddress is
# required; isTrusted, the countries and the lookup method may be absent) and the groups' member lists.
CA_EVALUATOR_READS = (
    *ca_policy_reads(*_CA_FIELDS),
    Read("Microsoft.Graph/namedLocations", "ipRanges[*].cidrAddress", required=True, domain=CIDR),
    Read("Microsoft.Graph/namedLocations", "isTrusted", absent_ok=True, domain=Boolean()),
    Read("Microsoft.Graph/namedLocations", "countriesAndRegions", absent_ok=True, domain=ListOf(Text())),
    Read("Microsoft.Graph/namedLocations", "includeUnknownCountriesAndRegions", absent_ok=True, domain=Boolean()),
    Read(
        "Microsoft.Graph/namedLocations",
        "countryLookupMethod",
        absent_ok=True,
        domain=Enum(("clientIpAddress", "authenticatorAppGps"), "Graph v1.0 countryNamedLocation"),
    ),
    # No group member lists: the checks leave membership open (compliance_checks/checks/ca_model.py).
)


# --- activity-log alerts, IPsec policies, App Service access restrictions (issue 12) --------------------------

# AlertRuleLeafCondition.field: "The possible values for this field are (case-insensitive): 'resourceId',
# 'category', 'caller', 'level', 'operationName', 'resourceGroup', 'resourceProvider', 'status', 'subStatus',
# 'resourceType', or anything beginning with 'properties'." (Azure/azure-rest-api-specs
# specification/monitor/resource-manager/Microsoft.Insights/Insights/ActivityLogAlertsApi/models.tsp,
# commit 0dd75f4927be9e37dd766c1530bb63cbe92d9cb0). Lower-cased; "properties*" is matched by prefix.
ACTIVITY_LOG_FIELDS = frozenset(
    f.lower()
    for f in (
        "resourceId",
        "category",
        "caller",
        "level",
        "operationName",
        "resourceGroup",
        "resourceProvider",
        "status",
        "subStatus",
        "resourceType",
    )
)

# IpsecPolicy (Azure/azure-rest-api-specs specification/network/resource-manager/Microsoft.Network/stable/
# 2024-05-01/network.json IpsecPolicy; the same enums in Microsoft's SDK, azure-mgmt-network 33.1.0
# azure.mgmt.network.models DhGroup, PfsGroup, IkeEncryption, IkeIntegrity, IpsecEncryption, IpsecIntegrity;
# tests/test_promise_chain.py compares them value for value).
_IPSEC_SOURCE = "azure-mgmt-network 33.1.0 models (network.json IpsecPolicy)"
DH_GROUP = Enum(
    ("None", "DHGroup1", "DHGroup2", "DHGroup14", "DHGroup2048", "ECP256", "ECP384", "DHGroup24"), _IPSEC_SOURCE
)
PFS_GROUP = Enum(("None", "PFS1", "PFS2", "PFS2048", "ECP256", "ECP384", "PFS24", "PFS14", "PFSMM"), _IPSEC_SOURCE)
IKE_ENCRYPTION = Enum(("DES", "DES3", "AES128", "AES192", "AES256", "GCMAES256", "GCMAES128"), _IPSEC_SOURCE)
IKE_INTEGRITY = Enum(("MD5", "SHA1", "SHA256", "SHA384", "GCMAES256", "GCMAES128"), _IPSEC_SOURCE)
IPSEC_ENCRYPTION = Enum(
    ("None", "DES", "DES3", "AES128", "AES192", "AES256", "GCMAES128", "GCMAES192", "GCMAES256"), _IPSEC_SOURCE
)
IPSEC_INTEGRITY = Enum(("MD5", "SHA1", "SHA256", "GCMAES128", "GCMAES192", "GCMAES256"), _IPSEC_SOURCE)
# The Diffie-Hellman group each name stands for: "| 14 | DHGroup14<br>DHGroup2048 | PFS2048 | 2048-bit MODP |"
# (MicrosoftDocs/azure-docs includes/vpn-gateway-ipsec-ike-diffie-hellman-include.md, commit
# 0b8729eaf7eb0aabc6390cb17348d19761285f12, included by articles/vpn-gateway/ipsec-ike-policy-howto.md).
# PFS14 and PFSMM are in Azure's PfsGroup enum but in no Azure table. Azure's names are those of Microsoft's
# IPsec API enumeration IPSEC_PFS_GROUP (learn.microsoft.com/windows/win32/api/ipsectypes/ne-ipsectypes-ipsec_pfs_group):
# "IPSEC_PFS_2048 Specifies Diffie Hellman group 14. IPSEC_PFS_14 Specifies Diffie Hellman group 14. This group was
# called Diffie Hellman group 2048 when it was introduced." and "IPSEC_PFS_MM Use the same Diffie Hellman as the main
# mode that contains this quick mode" (MAIN_MODE here: the policy's dhGroup decides).
DH_GROUP_NUMBER: dict[str, int | None] = {
    "none": 0,
    "dhgroup1": 1,
    "dhgroup2": 2,
    "dhgroup14": 14,
    "dhgroup2048": 14,
    "ecp256": 19,
    "ecp384": 20,
    "dhgroup24": 24,
}
PFS_GROUP_NUMBER: dict[str, int | None] = {
    "none": 0,
    "pfs1": 1,
    "pfs2": 2,
    "pfs2048": 14,
    "ecp256": 19,
    "ecp384": 20,
    "pfs24": 24,
    "pfs14": 14,
    "pfsmm": -1,  # MAIN_MODE_GROUP: the same group as the policy's IKE (main mode) dhGroup
}
MAIN_MODE_GROUP = -1

# App Service access restrictions (Azure/azure-rest-api-specs specification/web/resource-manager/Microsoft.Web/
# stable/2024-04-01/CommonDefinitions.json IpSecurityRestriction, SiteConfig; azure-mgmt-web 11.0.1
# azure.mgmt.web.models IpFilterTag, DefaultAction).
_WEB_SOURCE = "azure-mgmt-web 11.0.1 models (CommonDefinitions.json IpSecurityRestriction)"
IP_FILTER_TAG = Enum(("Default", "XffProxy", "ServiceTag"), _WEB_SOURCE)
SITE_DEFAULT_ACTION = Enum(("Allow", "Deny"), _WEB_SOURCE)


def vpn_reach_reads() -> tuple[Read, ...]:
    """Who can get a token for the VPN app: its service principal and its app role assignments (the checks that
    ask it: entra_ca_vpn_allowed_ip_only, entra_vpn_token_developers_only)."""
    return (
        Read("Microsoft.Graph/servicePrincipals", "appId", domain=TEXT, required=True),
        Read("Microsoft.Graph/servicePrincipals", "appRoleAssignmentRequired"),
        Read("Microsoft.Graph/appRoleAssignments", "principalId", domain=TEXT, required=True),
        # Read-only in Graph: a desired state (Pulumi inputs) lacks it; the principal is then looked up.
        Read("Microsoft.Graph/appRoleAssignments", "principalType", absent_ok=True, domain=APP_ROLE_PRINCIPAL_TYPE),
        Read("Microsoft.Graph/appRoleAssignments", "resourceId", domain=GUID, required=True),
    )
