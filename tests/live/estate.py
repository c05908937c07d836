"""The deployed ``dev`` stack as the Azure REST APIs and Microsoft Graph v1.0 would answer for it.

Values are transcribed from the offline synthesis of ``infra/stacks/Pulumi.dev.yaml``
(``compliance_checks.sources.synth.load_synth("dev")``); shapes follow the public
REST API specification examples named above each builder (repository
``Azure/azure-rest-api-specs`` unless stated otherwise). Everything is
deterministic: GUIDs are ``uuid5`` of a fixed namespace, times are fixed.

Shape facts worth knowing when reading these bodies (all deliberate):

* ``Microsoft.Web`` returns display-name locations (``"Germany West Central"``),
  Monitor returns ``"Global"``, the others the canonical ``germanywestcentral``.
* Some providers return IDs in another case than the one they were created with:
  the Log Analytics workspace and the diagnostic settings answer lower-cased IDs,
  Monitor answers ``.../providers/microsoft.insights/...`` and the types
  ``Microsoft.Insights/ActionGroups`` / ``Microsoft.Insights/ActivityLogAlerts``.
  ``Estate.arm`` keys keep the synth's casing; compare IDs case-insensitively.
* ``GET {site}`` carries a sparse ``siteConfig`` (nearly all null); the real
  settings are only in ``GET {site}/config/web``.
* Names that are not the last ID segment: ``hostNameBindings`` are named
  ``{site}/{host}``, ``config/web`` is named after the site, and PostgreSQL
  ``administrators`` after the principal (``principalName``).
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from infra import well_known
from infra.watched_operations import WATCHED_OPERATIONS
from tests.live.model import Estate

SUBSCRIPTION_ID = "6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21"
TENANT_ID = "3b2c7f0e-5d41-4e3a-8a6f-1c9d2e4b7a80"
RESOURCE_GROUP = "rg-smartportal-dev-gwc"
LOCATION = "germanywestcentral"
WEB_LOCATION = "Germany West Central"
DEPLOYER_OBJECT_ID = "0d9f3e5c-8b7a-4c21-9e6d-5a4b3c2d1e0f"

RG_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
_P = f"{RG_ID}/providers"
VNET_ID = f"{_P}/Microsoft.Network/virtualNetworks/vnet-smartportal-dev-gwc"
GATEWAY_SUBNET_ID = f"{VNET_ID}/subnets/GatewaySubnet"
PORTAL_SUBNET_ID = f"{VNET_ID}/subnets/snet-portal"
DATABASE_SUBNET_ID = f"{VNET_ID}/subnets/snet-database"
ENDPOINTS_SUBNET_ID = f"{VNET_ID}/subnets/snet-endpoints"
NSG_PORTAL_ID = f"{_P}/Microsoft.Network/networkSecurityGroups/nsg-portal-smartportal-dev-gwc"
NSG_DATABASE_ID = f"{_P}/Microsoft.Network/networkSecurityGroups/nsg-database-smartportal-dev-gwc"
NSG_ENDPOINTS_ID = f"{_P}/Microsoft.Network/networkSecurityGroups/nsg-endpoints-smartportal-dev-gwc"
PIP_ID = f"{_P}/Microsoft.Network/publicIPAddresses/pip-vgw-smartportal-dev-gwc"
GATEWAY_ID = f"{_P}/Microsoft.Network/virtualNetworkGateways/vgw-smartportal-dev-gwc"
PE_ID = f"{_P}/Microsoft.Network/privateEndpoints/pe-kv-smartportal-dev-gwc"
KV_ZONE_ID = f"{_P}/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
DB_ZONE_ID = f"{_P}/Microsoft.Network/privateDnsZones/psql-smartportal-dev-gwc.private.postgres.database.azure.com"
PLAN_ID = f"{_P}/Microsoft.Web/serverfarms/asp-smartportal-dev-gwc"
SITE_NAME = "app-smartportal-dev-gwc"
SITE_ID = f"{_P}/Microsoft.Web/sites/{SITE_NAME}"
CERT_ID = f"{_P}/Microsoft.Web/certificates/cert-smartportal-dev-gwc"
VAULT_NAME = "kv-smartportal-dev-gwc"
VAULT_ID = f"{_P}/Microsoft.KeyVault/vaults/{VAULT_NAME}"
WORKSPACE_ID = f"{_P}/Microsoft.OperationalInsights/workspaces/log-smartportal-dev-gwc"
ACTION_GROUP_ID = f"{_P}/Microsoft.Insights/actionGroups/ag-smartportal-dev-gwc"
ALERT_ID = f"{_P}/Microsoft.Insights/activityLogAlerts/alert-firewall-smartportal-dev-gwc"
SERVER_NAME = "psql-smartportal-dev-gwc"
SERVER_ID = f"{_P}/Microsoft.DBforPostgreSQL/flexibleServers/{SERVER_NAME}"

GROUP_ID = "e02c56d0-ba57-4332-a980-79074f45e700"
GROUP_NAME = "smart-portal-developers-dev"
MFA_POLICY_ID = "220beacfa5b4e08d3a5c161b989838c9"
VPN_MFA_POLICY_ID = "13b6a35657c0ae80bae894d43cdaa488"
VPN_POLICY_ID = "7f7bafe92d9c0a9a053e7c4c869bdf03"
NAMED_LOCATION_ID = "d2c2df3e0fff88afbe10e3aaa0ef27f9"
SITE_PRINCIPAL_ID = "d91674e0-6d7e-4d85-a667-6c63c07cd2c0"
# Microsoft's apps, by name from infra/data/well_known_ids.json.
MICROSOFT_VPN_CLIENT_APP_ID = well_known.azure_vpn_client_app_ids()["AzureCloud"]
AZURE_MANAGEMENT_APP_ID = well_known.app_id("Windows Azure Service Management API")
DEFAULT_APP_ROLE_ID = well_known.graph_default_app_role_id()
# The VPN's own audience (infra/components/vpn_audience.py): Entra assigns these at deployment; the values are the
# synthesis's (tenant-specific, so not in the well-known data file).
VPN_APP_OBJECT_ID = "e496aa32-191d-4a82-a1d6-64c3a28b7c75"
VPN_CLIENT_ID = "21ba904d-a7ce-4525-a09e-b2fbae79956b"
VPN_SCOPE_ID = "7de6f7a1-7881-4a55-a4b6-6a1bc0d04ae7"
VPN_PRINCIPAL_ID = "b720a1aa-c6c3-494d-ae83-dc5753cf1cc1"
VPN_ASSIGNMENT_ID = "6e291a258e442d7b01fe8fe1ba8e84b9"
VPN_APP_NAME = "smart-portal-dev P2S VPN"

ALLOWED_IP = "93.184.216.34"
VPN_CLIENT_POOL = "172.16.201.0/28"
PORTAL_PREFIX = "10.20.0.64/26"
CUSTOM_DOMAIN = "dev.portal.smartde.coop"
DEFAULT_HOST = f"{SITE_NAME}.azurewebsites.net"
CERT_THUMBPRINT = "0211CBF1107E32B9BA4347F1B5FD9537DC464B8C"
CUSTOM_DOMAIN_VERIFICATION_ID = "D91674E06D7ECD8506676C63C07CD2C064C2670AB43D2FDFE3E06CA59A936BD8"
GATEWAY_PUBLIC_IP = "198.51.100.57"

TAGS = {"managed-by": "pulumi", "environment": "dev", "project": "smart-portal"}
PERSONAL_DATA_TAGS = {**TAGS, "data-classification": "personal"}

CREATED = "2025-03-04T09:15:27.4417913Z"
MODIFIED = "2025-03-04T09:58:02.1183306Z"

_NAMESPACE = uuid.UUID("8e0b1f6a-4c2d-4b7e-9f3a-5d6c7b8a9e01")


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _etag(resource_id: str) -> str:
    return f'W/"{_guid("etag", resource_id)}"'


def _name(resource_id: str) -> str:
    return resource_id.rsplit("/", 1)[1]


def _arm(
    resource_id: str,
    arm_type: str,
    properties: dict[str, Any],
    *,
    location: str | None = None,
    tags: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A GET body: ``id``, ``name``, ``type`` [, ``location``, ``tags``], extras, ``properties``."""
    body: dict[str, Any] = {"id": resource_id, "name": _name(resource_id), "type": arm_type}
    if location is not None:
        body["location"] = location
    if tags is not None:
        body["tags"] = dict(tags)
    body.update(extra)
    body["properties"] = properties
    return body


def _net(resource_id: str, arm_type: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A Microsoft.Network body: etag, and provisioningState first in properties."""
    return _arm(
        resource_id,
        arm_type,
        {"provisioningState": "Succeeded", **properties},
        etag=_etag(resource_id),
        **extra,
    )


def _ref(resource_id: str) -> dict[str, str]:
    return {"id": resource_id}


# --- resource group -------------------------------------------------------------
# resources.json#/definitions/ResourceGroup (Microsoft.Resources/stable/2024-03-01; the spec has no GET example)
def resource_group(rg_id: str = RG_ID, tags: dict[str, str] | None = TAGS) -> dict[str, Any]:
    return _arm(
        rg_id, "Microsoft.Resources/resourceGroups", {"provisioningState": "Succeeded"}, location=LOCATION, tags=tags
    )


# .../Microsoft.Network/stable/2024-03-01/examples/VirtualNetworkGet.json, reduced: bulk estates (tests, benchmark)
def plain_virtual_network(rg_id: str, number: int, *, with_subnet: bool = False) -> dict[str, Any]:
    vnet_id = f"{rg_id}/providers/Microsoft.Network/virtualNetworks/vnet-{number:05d}"
    prefix = f"10.{number // 256 % 256}.{number % 256}.0/24"
    subnets = [
        _net(f"{vnet_id}/subnets/default", "Microsoft.Network/virtualNetworks/subnets", {"addressPrefix": prefix})
    ]
    return _net(
        vnet_id,
        "Microsoft.Network/virtualNetworks",
        {"addressSpace": {"addressPrefixes": [prefix]}, "subnets": subnets if with_subnet else []},
        location=LOCATION,
    )


# --- network security groups ----------------------------------------------------
# specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/examples/NetworkSecurityGroupGet.json
class Rule(NamedTuple):
    name: str
    description: str
    source: str
    port: str
    access: str
    priority: int
    protocol: str = "Tcp"
    direction: str = "Inbound"
    destination: str = "*"


_VNET, _LB = "VirtualNetwork", "AzureLoadBalancer"
_DEFAULT_RULES = (
    Rule(
        "AllowVnetInBound",
        "Allow inbound traffic from all VMs in VNET",
        _VNET,
        "*",
        "Allow",
        65000,
        "*",
        "Inbound",
        _VNET,
    ),
    Rule(
        "AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer", _LB, "*", "Allow", 65001, "*"
    ),
    Rule("DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", 65500, "*"),
    Rule(
        "AllowVnetOutBound",
        "Allow outbound traffic from all VMs to all VMs in VNET",
        _VNET,
        "*",
        "Allow",
        65000,
        "*",
        "Outbound",
        _VNET,
    ),
    Rule(
        "AllowInternetOutBound",
        "Allow outbound traffic from all VMs to Internet",
        "*",
        "*",
        "Allow",
        65001,
        "*",
        "Outbound",
        "Internet",
    ),
    Rule("DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", 65500, "*", "Outbound"),
)
_DENY_ALL = Rule(
    "DenyAllInbound",
    "Deny by default: overrides the implicit AllowVnetInBound and AllowAzureLoadBalancerInBound.",
    "*",
    "*",
    "Deny",
    4096,
    "*",
)


def _rule(nsg_id: str, collection: str, rule: Rule) -> dict[str, Any]:
    return _net(
        f"{nsg_id}/{collection}/{rule.name}",
        f"Microsoft.Network/networkSecurityGroups/{collection}",
        {
            "description": rule.description,
            "protocol": rule.protocol,
            "sourcePortRange": "*",
            "destinationPortRange": rule.port,
            "sourceAddressPrefix": rule.source,
            "destinationAddressPrefix": rule.destination,
            "access": rule.access,
            "priority": rule.priority,
            "direction": rule.direction,
            "sourcePortRanges": [],
            "destinationPortRanges": [],
            "sourceAddressPrefixes": [],
            "destinationAddressPrefixes": [],
        },
    )


def network_security_group(nsg_id: str, rules: list[Rule], subnet_id: str) -> dict[str, Any]:
    return _net(
        nsg_id,
        "Microsoft.Network/networkSecurityGroups",
        {
            "resourceGuid": _guid("guid", nsg_id),
            "securityRules": [_rule(nsg_id, "securityRules", rule) for rule in rules],
            "defaultSecurityRules": [_rule(nsg_id, "defaultSecurityRules", rule) for rule in _DEFAULT_RULES],
            "subnets": [_ref(subnet_id)],
        },
        location=LOCATION,
        tags=TAGS,
    )


def _nsgs() -> list[dict[str, Any]]:
    db_portal = Rule(
        "AllowPostgresFromPortal",
        "The portal reaches its database through VNet integration.",
        PORTAL_PREFIX,
        "5432",
        "Allow",
        100,
    )
    db_vpn = Rule(
        "AllowPostgresFromVpn",
        "The one allowed IP address, arriving through the VPN gateway.",
        VPN_CLIENT_POOL,
        "5432",
        "Allow",
        110,
    )
    kv_portal = Rule(
        "AllowHttpsFromPortal", "The portal reads its secrets from Key Vault.", PORTAL_PREFIX, "443", "Allow", 100
    )
    kv_vpn = Rule(
        "AllowHttpsFromVpn", "Developers manage secrets through the VPN.", VPN_CLIENT_POOL, "443", "Allow", 110
    )
    return [
        network_security_group(NSG_PORTAL_ID, [_DENY_ALL], PORTAL_SUBNET_ID),
        network_security_group(NSG_DATABASE_ID, [db_portal, db_vpn, _DENY_ALL], DATABASE_SUBNET_ID),
        network_security_group(NSG_ENDPOINTS_ID, [kv_portal, kv_vpn, _DENY_ALL], ENDPOINTS_SUBNET_ID),
    ]


# --- virtual network and subnets -------------------------------------------------
# .../Microsoft.Network/stable/2024-03-01/examples/VirtualNetworkGet.json (no 2024-05-01 copy is indexed),
# subnets: .../stable/2024-05-01/examples/SubnetGet.json and .../stable/2024-03-01/examples/SubnetGetWithDelegation.json
def _delegation(subnet_id: str, name: str, service: str, action: str) -> dict[str, Any]:
    return _net(
        f"{subnet_id}/delegations/{name}",
        "Microsoft.Network/virtualNetworks/subnets/delegations",
        {"serviceName": service, "actions": [action]},
    )


def _subnet(
    subnet_id: str,
    prefix: str,
    *,
    nsg_id: str | None = None,
    delegations: list[dict[str, Any]] | None = None,
    endpoint_policies: str = "Disabled",
    default_outbound: bool | None = False,
    **links: list[dict[str, Any]],
) -> dict[str, Any]:
    properties: dict[str, Any] = {"addressPrefix": prefix}
    if nsg_id:
        properties["networkSecurityGroup"] = _ref(nsg_id)
    properties.update(links)
    properties["delegations"] = delegations or []
    properties["privateEndpointNetworkPolicies"] = endpoint_policies
    properties["privateLinkServiceNetworkPolicies"] = "Enabled"
    if default_outbound is not None:
        properties["defaultOutboundAccess"] = default_outbound
    return _net(subnet_id, "Microsoft.Network/virtualNetworks/subnets", properties)


def subnets() -> list[dict[str, Any]]:
    app_link = _arm(
        f"{PORTAL_SUBNET_ID}/serviceAssociationLinks/AppServiceLink",
        "Microsoft.Network/virtualNetworks/subnets/serviceAssociationLinks",
        {
            "provisioningState": "Succeeded",
            "linkedResourceType": "Microsoft.Web/serverfarms",
            "link": PLAN_ID,
            "enabledForArmDeployments": False,
            "allowDelete": False,
            "locations": [],
        },
        location=None,
        etag=_etag(f"{PORTAL_SUBNET_ID}/serviceAssociationLinks/AppServiceLink"),
    )
    return [
        _subnet(
            GATEWAY_SUBNET_ID,
            "10.20.0.0/26",
            default_outbound=None,
            ipConfigurations=[_ref(f"{GATEWAY_ID}/ipConfigurations/default")],
        ),
        _subnet(
            PORTAL_SUBNET_ID,
            PORTAL_PREFIX,
            nsg_id=NSG_PORTAL_ID,
            delegations=[
                _delegation(
                    PORTAL_SUBNET_ID,
                    "app-service",
                    "Microsoft.Web/serverFarms",
                    "Microsoft.Network/virtualNetworks/subnets/action",
                )
            ],
            serviceAssociationLinks=[app_link],
        ),
        _subnet(
            DATABASE_SUBNET_ID,
            "10.20.0.128/26",
            nsg_id=NSG_DATABASE_ID,
            delegations=[
                _delegation(
                    DATABASE_SUBNET_ID,
                    "postgres",
                    "Microsoft.DBforPostgreSQL/flexibleServers",
                    "Microsoft.Network/virtualNetworks/subnets/join/action",
                )
            ],
        ),
        _subnet(
            ENDPOINTS_SUBNET_ID,
            "10.20.0.192/26",
            nsg_id=NSG_ENDPOINTS_ID,
            endpoint_policies="Enabled",
            privateEndpoints=[_ref(PE_ID)],
        ),
    ]


def virtual_network(subnet_bodies: list[dict[str, Any]]) -> dict[str, Any]:
    return _net(
        VNET_ID,
        "Microsoft.Network/virtualNetworks",
        {
            "resourceGuid": _guid("guid", VNET_ID),
            "addressSpace": {"addressPrefixes": ["10.20.0.0/24"]},
            "subnets": subnet_bodies,
            "virtualNetworkPeerings": [],
            "enableDdosProtection": False,
        },
        location=LOCATION,
        tags=TAGS,
    )


# --- public IP and VPN gateway ---------------------------------------------------
# .../Microsoft.Network/stable/2024-05-01/examples/PublicIpAddressGet.json
def public_ip() -> dict[str, Any]:
    return _net(
        PIP_ID,
        "Microsoft.Network/publicIPAddresses",
        {
            "resourceGuid": _guid("guid", PIP_ID),
            "ipAddress": GATEWAY_PUBLIC_IP,
            "publicIPAddressVersion": "IPv4",
            "publicIPAllocationMethod": "Static",
            "idleTimeoutInMinutes": 4,
            "ipTags": [],
            "ipConfiguration": _ref(f"{GATEWAY_ID}/ipConfigurations/default"),
            "ddosSettings": {"protectionMode": "VirtualNetworkInherited"},
        },
        location=LOCATION,
        tags=TAGS,
        sku={"name": "Standard", "tier": "Regional"},
        zones=["1", "2", "3"],
    )


# .../Microsoft.Network/stable/2024-05-01/examples/VirtualNetworkGatewayGet.json
def virtual_network_gateway() -> dict[str, Any]:
    ip_config_id = f"{GATEWAY_ID}/ipConfigurations/default"
    return _net(
        GATEWAY_ID,
        "Microsoft.Network/virtualNetworkGateways",
        {
            "resourceGuid": _guid("guid", GATEWAY_ID),
            "ipConfigurations": [
                _net(
                    ip_config_id,
                    "Microsoft.Network/virtualNetworkGateways/ipConfigurations",
                    {
                        "privateIPAllocationMethod": "Dynamic",
                        "publicIPAddress": _ref(PIP_ID),
                        "subnet": _ref(GATEWAY_SUBNET_ID),
                    },
                )
            ],
            "natRules": [],
            "enableBgpRouteTranslationForNat": False,
            "sku": {"name": "VpnGw1AZ", "tier": "VpnGw1AZ", "capacity": 2},
            "gatewayType": "Vpn",
            "vpnType": "RouteBased",
            "vpnGatewayGeneration": "Generation1",
            "enableBgp": False,
            "enablePrivateIpAddress": False,
            "activeActive": False,
            "disableIPSecReplayProtection": False,
            "vpnClientConfiguration": {
                "vpnClientAddressPool": {"addressPrefixes": [VPN_CLIENT_POOL]},
                "vpnClientProtocols": ["OpenVPN"],
                "vpnAuthenticationTypes": ["AAD"],
                "vpnClientRootCertificates": [],
                "vpnClientRevokedCertificates": [],
                "vpnClientIpsecPolicies": [],
                "radiusServers": [],
                "aadTenant": f"https://login.microsoftonline.com/{TENANT_ID}/",
                "aadAudience": VPN_CLIENT_ID,
                "aadIssuer": f"https://sts.windows.net/{TENANT_ID}/",
            },
            "bgpSettings": {
                "asn": 65515,
                "bgpPeeringAddress": "10.20.0.62",
                "peerWeight": 0,
                "bgpPeeringAddresses": [
                    {
                        "ipconfigurationId": ip_config_id,
                        "defaultBgpIpAddresses": ["10.20.0.62"],
                        "customBgpIpAddresses": [],
                        "tunnelIpAddresses": [GATEWAY_PUBLIC_IP],
                    }
                ],
            },
            "allowVirtualWanTraffic": False,
            "allowRemoteVnetTraffic": False,
        },
        location=LOCATION,
        tags=TAGS,
    )


# .../Microsoft.Network/stable/2024-05-01/examples/LocalNetworkGatewayGet.json (not deployed in dev: p2s)
def local_network_gateway(
    name: str = "lgw-office-smartportal-dev-gwc",
    gateway_ip: str = ALLOWED_IP,
    address_prefixes: list[str] | None = None,
) -> dict[str, Any]:
    resource_id = f"{_P}/Microsoft.Network/localNetworkGateways/{name}"
    return _net(
        resource_id,
        "Microsoft.Network/localNetworkGateways",
        {
            "resourceGuid": _guid("guid", resource_id),
            "localNetworkAddressSpace": {"addressPrefixes": address_prefixes or [f"{gateway_ip}/32"]},
            "gatewayIpAddress": gateway_ip,
        },
        location=LOCATION,
        tags=TAGS,
    )


STRONG_IPSEC_POLICY = {
    "saLifeTimeSeconds": 27000,
    "saDataSizeKilobytes": 102400000,
    "ipsecEncryption": "GCMAES256",
    "ipsecIntegrity": "GCMAES256",
    "ikeEncryption": "GCMAES256",
    "ikeIntegrity": "SHA384",
    "dhGroup": "ECP384",
    "pfsGroup": "ECP384",
}


# .../Microsoft.Network/stable/2024-05-01/examples/VirtualNetworkGatewayConnectionGet.json (not deployed in dev).
# The example echoes sharedKey; a GET does not return it (GET .../sharedkey does), so it is left out.
def connection(
    local_gateway_id: str,
    name: str = "cn-office-smartportal-dev-gwc",
    ipsec_policies: list[dict[str, Any]] | None = None,
    status: str = "Connected",
) -> dict[str, Any]:
    resource_id = f"{_P}/Microsoft.Network/connections/{name}"
    return _net(
        resource_id,
        "Microsoft.Network/connections",
        {
            "resourceGuid": _guid("guid", resource_id),
            "virtualNetworkGateway1": {"id": GATEWAY_ID, "properties": {}},
            "localNetworkGateway2": {"id": local_gateway_id, "properties": {}},
            "connectionType": "IPsec",
            "connectionProtocol": "IKEv2",
            "routingWeight": 0,
            "dpdTimeoutSeconds": 45,
            "enableBgp": False,
            "useLocalAzureIpAddress": False,
            "usePolicyBasedTrafficSelectors": False,
            "ipsecPolicies": [dict(STRONG_IPSEC_POLICY)] if ipsec_policies is None else ipsec_policies,
            "trafficSelectorPolicies": [],
            "connectionStatus": status,
            "ingressBytesTransferred": 0,
            "egressBytesTransferred": 0,
            "connectionMode": "Default",
        },
        location=LOCATION,
        tags=TAGS,
    )


# --- private endpoint and private DNS ------------------------------------------------
# .../Microsoft.Network/stable/2024-05-01/examples/PrivateEndpointGet.json
def private_endpoint() -> dict[str, Any]:
    connection_id = f"{PE_ID}/privateLinkServiceConnections/vault"
    return _net(
        PE_ID,
        "Microsoft.Network/privateEndpoints",
        {
            "resourceGuid": _guid("guid", PE_ID),
            "privateLinkServiceConnections": [
                _net(
                    connection_id,
                    "Microsoft.Network/privateEndpoints/privateLinkServiceConnections",
                    {
                        "privateLinkServiceId": VAULT_ID,
                        "groupIds": ["vault"],
                        "privateLinkServiceConnectionState": {
                            "status": "Approved",
                            "description": "Auto-Approved",
                            "actionsRequired": "None",
                        },
                    },
                )
            ],
            "manualPrivateLinkServiceConnections": [],
            "subnet": _ref(ENDPOINTS_SUBNET_ID),
            "networkInterfaces": [
                _ref(f"{_P}/Microsoft.Network/networkInterfaces/pe-kv-smartportal-dev-gwc.nic.{_guid('nic', PE_ID)}")
            ],
            "customDnsConfigs": [],
            "ipConfigurations": [],
            "customNetworkInterfaceName": "",
        },
        location=LOCATION,
        tags=TAGS,
    )


# .../Microsoft.Network/stable/2024-05-01/examples/PrivateEndpointDnsZoneGroupGet.json
def private_dns_zone_group() -> dict[str, Any]:
    return _net(
        f"{PE_ID}/privateDnsZoneGroups/default",
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        {
            "privateDnsZoneConfigs": [
                {
                    "name": "vault",
                    "properties": {
                        "privateDnsZoneId": KV_ZONE_ID,
                        "recordSets": [
                            {
                                "recordType": "A",
                                "recordSetName": VAULT_NAME,
                                "fqdn": f"{VAULT_NAME}.privatelink.vaultcore.azure.net",
                                "ttl": 10,
                                "provisioningState": "Succeeded",
                                "ipAddresses": ["10.20.0.196"],
                            }
                        ],
                    },
                }
            ]
        },
    )


# specification/privatedns/resource-manager/Microsoft.Network/stable/2024-06-01/examples/PrivateZoneGet.json
def private_dns_zone(zone_id: str, tags: dict[str, str]) -> dict[str, Any]:
    return _arm(
        zone_id,
        "Microsoft.Network/privateDnsZones",
        {
            "maxNumberOfRecordSets": 25000,
            "numberOfRecordSets": 2,
            "maxNumberOfVirtualNetworkLinks": 1000,
            "numberOfVirtualNetworkLinks": 1,
            "maxNumberOfVirtualNetworkLinksWithRegistration": 100,
            "numberOfVirtualNetworkLinksWithRegistration": 0,
            "provisioningState": "Succeeded",
        },
        location="global",
        tags=tags,
        etag=_guid("etag", zone_id),
    )


# specification/privatedns/resource-manager/Microsoft.Network/stable/2024-06-01/examples/VirtualNetworkLinkGet.json
def virtual_network_link(zone_id: str, tags: dict[str, str]) -> dict[str, Any]:
    link_id = f"{zone_id}/virtualNetworkLinks/link-vnet"
    return _arm(
        link_id,
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
        {
            "virtualNetwork": _ref(VNET_ID),
            "registrationEnabled": False,
            "virtualNetworkLinkState": "Completed",
            "provisioningState": "Succeeded",
        },
        location="global",
        tags=tags,
        etag=_guid("etag", link_id),
    )


# --- App Service -------------------------------------------------------------------
# specification/web/resource-manager/Microsoft.Web/stable/2024-04-01/examples/GetAppServicePlan.json
def app_service_plan() -> dict[str, Any]:
    return _arm(
        PLAN_ID,
        "Microsoft.Web/serverfarms",
        {
            "status": "Ready",
            "maximumNumberOfWorkers": 3,
            "numberOfWorkers": 1,
            "geoRegion": WEB_LOCATION,
            "numberOfSites": 1,
            "isSpot": False,
            "reserved": True,
            "isXenon": False,
            "hyperV": False,
            "targetWorkerCount": 0,
            "targetWorkerSizeId": 0,
            "zoneRedundant": False,
            "provisioningState": "Succeeded",
        },
        location=WEB_LOCATION,
        tags=TAGS,
        kind="linux",
        sku={"name": "B1", "tier": "Basic", "size": "B1", "family": "B", "capacity": 1},
    )


# .../Microsoft.Web/stable/2024-04-01/examples/GetCertificate.json (an App Service managed certificate)
def certificate() -> dict[str, Any]:
    return _arm(
        CERT_ID,
        "Microsoft.Web/certificates",
        {
            "friendlyName": "",
            "subjectName": CUSTOM_DOMAIN,
            "hostNames": [CUSTOM_DOMAIN],
            "issuer": "GeoTrust Global TLS RSA4096 SHA256 2022 CA1",
            "issueDate": "2025-03-04T00:00:00+00:00",
            "expirationDate": "2025-09-04T23:59:59+00:00",
            "thumbprint": CERT_THUMBPRINT,
            "canonicalName": CUSTOM_DOMAIN,
            "serverFarmId": PLAN_ID,
        },
        location=WEB_LOCATION,
        tags=TAGS,
    )


# Every SiteConfig property (Microsoft.Web/stable/2024-04-01/CommonDefinitions.json#/definitions/SiteConfig).
_SITE_CONFIG_NAMES = (
    "numberOfWorkers defaultDocuments netFrameworkVersion phpVersion pythonVersion nodeVersion powerShellVersion "
    "linuxFxVersion windowsFxVersion requestTracingEnabled remoteDebuggingEnabled remoteDebuggingVersion "
    "httpLoggingEnabled acrUseManagedIdentityCreds acrUserManagedIdentityID logsDirectorySizeLimit "
    "detailedErrorLoggingEnabled publishingUsername appSettings metadata connectionStrings machineKey "
    "handlerMappings documentRoot scmType use32BitWorkerProcess webSocketsEnabled alwaysOn javaVersion "
    "javaContainer javaContainerVersion appCommandLine managedPipelineMode virtualApplications loadBalancing "
    "experiments limits autoHealEnabled autoHealRules tracingOptions vnetName vnetRouteAllEnabled "
    "vnetPrivatePortsCount cors push apiDefinition apiManagementConfig autoSwapSlotName localMySqlEnabled "
    "managedServiceIdentityId xManagedServiceIdentityId keyVaultReferenceIdentity ipSecurityRestrictions "
    "ipSecurityRestrictionsDefaultAction scmIpSecurityRestrictions scmIpSecurityRestrictionsDefaultAction "
    "scmIpSecurityRestrictionsUseMain http20Enabled minTlsVersion minTlsCipherSuite scmMinTlsVersion ftpsState "
    "preWarmedInstanceCount functionAppScaleLimit elasticWebAppScaleLimit healthCheckPath "
    "functionsRuntimeScaleMonitoringEnabled websiteTimeZone minimumElasticInstanceCount azureStorageAccounts "
    "publicNetworkAccess"
)
_SITE_CONFIG_KEYS = _SITE_CONFIG_NAMES.split()


def _sparse_site_config() -> dict[str, Any]:
    """``properties.siteConfig`` of ``GET {site}``: almost everything null (see the module docstring).

    Field list from the spec; the null pattern from real responses quoted in
    Azure/azure-rest-api-specs#25013 and Azure/azure-powershell#14862 (the
    GetWebApp example itself shows a filled siteConfig, which GET does not return).
    """
    sparse: dict[str, Any] = dict.fromkeys(_SITE_CONFIG_KEYS)
    sparse.update(
        numberOfWorkers=1,
        linuxFxVersion="NODE|22-lts",
        acrUseManagedIdentityCreds=False,
        alwaysOn=False,
        http20Enabled=False,
        functionAppScaleLimit=0,
        minimumElasticInstanceCount=0,
    )
    return sparse


def _ip_rule(ip: str, action: str, priority: int, name: str, *, description: str, tag: str | None) -> dict[str, Any]:
    rule: dict[str, Any] = {"ipAddress": ip, "action": action}
    if tag:
        rule["tag"] = tag
    rule.update(priority=priority, name=name, description=description)
    return rule


# .../Microsoft.Web/stable/2024-04-01/examples/GetSiteConfig.json. Deviations from the example, from real
# responses: the body is named after the site and carries location/tags (Azure/azure-powershell#10162), and
# App Service lists its implicit last rules ("Allow all" / "Deny all", priority 2147483647).
_DEVELOPER_RULE_DESCRIPTION = "The one developer address named in the privacy policy."


def site_config_web() -> dict[str, Any]:
    config_id = f"{SITE_ID}/config/web"
    allow_all = _ip_rule("Any", "Allow", 2147483647, "Allow all", description="Allow all access", tag=None)
    deny_all = _ip_rule("Any", "Deny", 2147483647, "Deny all", description="Deny all access", tag=None)
    developer = _ip_rule(
        f"{ALLOWED_IP}/32", "Allow", 100, "allowed-ip", description=_DEVELOPER_RULE_DESCRIPTION, tag="Default"
    )
    properties: dict[str, Any] = dict.fromkeys(_SITE_CONFIG_KEYS)
    properties.update(
        numberOfWorkers=1,
        defaultDocuments=[
            "Default.htm",
            "Default.html",
            "Default.asp",
            "index.htm",
            "index.html",
            "iisstart.htm",
            "default.aspx",
            "index.php",
            "hostingstart.html",
        ],
        netFrameworkVersion="v4.0",
        phpVersion="",
        pythonVersion="",
        nodeVersion="",
        powerShellVersion="",
        linuxFxVersion="NODE|22-lts",
        requestTracingEnabled=False,
        remoteDebuggingEnabled=False,
        httpLoggingEnabled=False,
        acrUseManagedIdentityCreds=False,
        logsDirectorySizeLimit=35,
        detailedErrorLoggingEnabled=False,
        publishingUsername=f"${SITE_NAME}",
        scmType="None",
        use32BitWorkerProcess=True,
        webSocketsEnabled=False,
        alwaysOn=True,
        appCommandLine="",
        managedPipelineMode="Integrated",
        virtualApplications=[{"virtualPath": "/", "physicalPath": "site\\wwwroot", "preloadEnabled": True}],
        loadBalancing="LeastRequests",
        experiments={"rampUpRules": []},
        autoHealEnabled=False,
        vnetName="",
        vnetRouteAllEnabled=True,
        vnetPrivatePortsCount=0,
        localMySqlEnabled=False,
        ipSecurityRestrictions=[allow_all],
        ipSecurityRestrictionsDefaultAction="Allow",
        scmIpSecurityRestrictions=[developer, deny_all],
        scmIpSecurityRestrictionsDefaultAction="Deny",
        scmIpSecurityRestrictionsUseMain=False,
        http20Enabled=True,
        minTlsVersion="1.2",
        scmMinTlsVersion="1.2",
        ftpsState="Disabled",
        preWarmedInstanceCount=0,
        functionAppScaleLimit=0,
        functionsRuntimeScaleMonitoringEnabled=False,
        minimumElasticInstanceCount=0,
        azureStorageAccounts={},
        publicNetworkAccess="Enabled",
    )
    body = _arm(config_id, "Microsoft.Web/sites/config", properties, location=WEB_LOCATION, tags=TAGS)
    body["name"] = SITE_NAME
    return body


# .../Microsoft.Web/stable/2024-04-01/examples/GetWebApp.json (siteConfig: see _sparse_site_config)
def site() -> dict[str, Any]:
    scm_host = f"{SITE_NAME}.scm.azurewebsites.net"
    return _arm(
        SITE_ID,
        "Microsoft.Web/sites",
        {
            "name": SITE_NAME,
            "state": "Running",
            "hostNames": [CUSTOM_DOMAIN, DEFAULT_HOST],
            "repositorySiteName": SITE_NAME,
            "usageState": "Normal",
            "enabled": True,
            "enabledHostNames": [CUSTOM_DOMAIN, DEFAULT_HOST, scm_host],
            "availabilityState": "Normal",
            "hostNameSslStates": [
                {
                    "name": CUSTOM_DOMAIN,
                    "sslState": "SniEnabled",
                    "thumbprint": CERT_THUMBPRINT,
                    "hostType": "Standard",
                },
                {"name": DEFAULT_HOST, "sslState": "Disabled", "hostType": "Standard"},
                {"name": scm_host, "sslState": "Disabled", "hostType": "Repository"},
            ],
            "serverFarmId": PLAN_ID,
            "reserved": True,
            "isXenon": False,
            "hyperV": False,
            "lastModifiedTimeUtc": "2025-03-04T09:41:18.6033333",
            "vnetRouteAllEnabled": True,
            "vnetImagePullEnabled": False,
            "vnetContentShareEnabled": False,
            "outboundVnetRouting": {"allTraffic": True},
            "siteConfig": _sparse_site_config(),
            "scmSiteAlsoStopped": False,
            "clientAffinityEnabled": False,
            "clientCertEnabled": False,
            "clientCertMode": "Required",
            "hostNamesDisabled": False,
            "customDomainVerificationId": CUSTOM_DOMAIN_VERIFICATION_ID,
            "outboundIpAddresses": "20.79.107.4,20.79.107.5",
            "possibleOutboundIpAddresses": "20.79.107.4,20.79.107.5,20.79.107.6,20.79.107.7",
            "containerSize": 0,
            "dailyMemoryTimeQuota": 0,
            "resourceGroup": RESOURCE_GROUP,
            "defaultHostName": DEFAULT_HOST,
            "httpsOnly": True,
            "redundancyMode": "None",
            "storageAccountRequired": False,
            "keyVaultReferenceIdentity": "SystemAssigned",
            "virtualNetworkSubnetId": PORTAL_SUBNET_ID,
            "publicNetworkAccess": "Enabled",
        },
        location=WEB_LOCATION,
        tags=TAGS,
        kind="app,linux",
        identity={"type": "SystemAssigned", "tenantId": TENANT_ID, "principalId": SITE_PRINCIPAL_ID},
    )


# .../Microsoft.Web/stable/2024-04-01/examples/GetPublishingCredentialsPolicy.json (the example omits name and
# type; real responses carry both)
def publishing_credentials_policy(kind: str) -> dict[str, Any]:
    return _arm(
        f"{SITE_ID}/basicPublishingCredentialsPolicies/{kind}",
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
        {"allow": False},
        location=WEB_LOCATION,
    )


# .../Microsoft.Web/stable/2024-04-01/examples/ListAuthSettingsV2.json; its name/type ("authsettingsv2",
# "Microsoft.Web/sites/authsettingsv2") differ from real GETs, which answer {"name": "authsettingsV2",
# "type": "Microsoft.Web/sites/config", "location": ..., "properties": {"platform": {"enabled": false}}}
# (Azure/azure-cli#30322).
def auth_settings_v2() -> dict[str, Any]:
    return _arm(
        f"{SITE_ID}/config/authsettingsV2",
        "Microsoft.Web/sites/config",
        {"platform": {"enabled": False}, "globalValidation": {"requireAuthentication": False}},
        location=WEB_LOCATION,
    )


# HostNameBinding (Microsoft.Web/stable/2024-04-01/WebApps.json; no GET example is indexed): named
# "{site}/{host}" (azure-cli's list_hostnames strips the prefix), location is a display name.
def host_name_binding(host: str, thumbprint: str | None) -> dict[str, Any]:
    body = _arm(
        f"{SITE_ID}/hostNameBindings/{host}",
        "Microsoft.Web/sites/hostNameBindings",
        {
            "siteName": SITE_NAME,
            "domainId": None,
            "azureResourceName": SITE_NAME,
            "azureResourceType": "Website",
            "customHostNameDnsRecordType": "CName" if thumbprint else None,
            "hostNameType": "Verified",
            "sslState": "SniEnabled" if thumbprint else "Disabled",
            "thumbprint": thumbprint,
            "virtualIP": None,
        },
        location=WEB_LOCATION,
    )
    body["name"] = f"{SITE_NAME}/{host}"
    return body


def _vault_reference(secret: str) -> str:
    return f"@Microsoft.KeyVault(SecretUri=https://{VAULT_NAME}.vault.azure.net/secrets/{secret}/)"


# POST {site}/config/appsettings/list -> properties (.../Microsoft.Web/stable/2024-04-01/examples/ListAppSettings.json)
APP_SETTINGS: dict[str, str] = {
    "DATABASE_AUTH": "entra",
    "DATABASE_HOST": f"{SERVER_NAME}.postgres.database.azure.com",
    "DATABASE_SSLMODE": "verify-full",
    "SESSION_SECRET": _vault_reference("session-secret"),
    "SCM_DO_BUILD_DURING_DEPLOYMENT": "false",
    "WEBSITE_RUN_FROM_PACKAGE": "1",
    "WEBSITES_ENABLE_APP_SERVICE_STORAGE": "false",
}


# --- Key Vault and Log Analytics ------------------------------------------------------
# specification/keyvault/resource-manager/Microsoft.KeyVault/stable/2024-11-01/examples/getVault.json
def key_vault() -> dict[str, Any]:
    return _arm(
        VAULT_ID,
        "Microsoft.KeyVault/vaults",
        {
            "sku": {"family": "A", "name": "standard"},
            "tenantId": TENANT_ID,
            "networkAcls": {"bypass": "None", "defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []},
            "accessPolicies": [],
            "enabledForDeployment": False,
            "enabledForDiskEncryption": False,
            "enabledForTemplateDeployment": False,
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": 90,
            "enableRbacAuthorization": True,
            "enablePurgeProtection": True,
            "vaultUri": f"https://{VAULT_NAME}.vault.azure.net/",
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Disabled",
        },
        location=LOCATION,
        tags=TAGS,
        systemData={
            "createdBy": DEPLOYER_OBJECT_ID,
            "createdByType": "Application",
            "createdAt": CREATED,
            "lastModifiedBy": DEPLOYER_OBJECT_ID,
            "lastModifiedByType": "Application",
            "lastModifiedAt": MODIFIED,
        },
    )


# specification/operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/examples/
# WorkspacesGet.json: the service answers a lower-cased ID.
def workspace() -> dict[str, Any]:
    body = _arm(
        WORKSPACE_ID,
        "Microsoft.OperationalInsights/workspaces",
        {
            "customerId": _guid("customer", WORKSPACE_ID),
            "provisioningState": "Succeeded",
            "sku": {"name": "PerGB2018", "lastSkuUpdate": CREATED},
            "retentionInDays": 30,
            "features": {"legacy": 0, "searchVersion": 1, "enableLogAccessUsingOnlyResourcePermissions": True},
            "workspaceCapping": {"dailyQuotaGb": -1.0, "dataIngestionStatus": "RespectQuota"},
            "publicNetworkAccessForIngestion": "Enabled",
            "publicNetworkAccessForQuery": "Enabled",
            "createdDate": CREATED,
            "modifiedDate": MODIFIED,
        },
        location=LOCATION,
        tags=TAGS,
    )
    body["id"] = WORKSPACE_ID.lower()
    return body


# --- Monitor -------------------------------------------------------------------------
def _monitor_id(resource_id: str) -> str:
    return resource_id.replace("/providers/Microsoft.Insights/", "/providers/microsoft.insights/")


_OTHER_RECEIVERS = (
    "smsReceivers webhookReceivers itsmReceivers azureAppPushReceivers automationRunbookReceivers "
    "voiceReceivers logicAppReceivers azureFunctionReceivers armRoleReceivers eventHubReceivers"
)


# specification/monitor/resource-manager/Microsoft.Insights/stable/2023-01-01/examples/getActionGroup.json
def action_group() -> dict[str, Any]:
    other_receivers = _OTHER_RECEIVERS.split()
    email = {
        "name": "operations",
        "emailAddress": "it-security@smartde.coop",
        "status": "Enabled",
        "useCommonAlertSchema": True,
    }
    return _arm(
        _monitor_id(ACTION_GROUP_ID),
        "Microsoft.Insights/ActionGroups",
        {"groupShortName": "spdev", "enabled": True, "emailReceivers": [email], **{key: [] for key in other_receivers}},
        location="Global",
        tags=TAGS,
    )


# .../Microsoft.Insights/stable/2020-10-01/examples/ActivityLogAlertRule_Get.json and
# ActivityLogAlertRule_CreateOrUpdateRuleWithAnyOfCondition.json (every leaf and anyOf carries "odata.type": null;
# the service answers the scopes as they were written, commit 171f860dc67fd18e701e34bc3c288da8b40c9eb6: Pulumi writes
# "/subscriptions/{id}").
def activity_log_alert() -> dict[str, Any]:
    def leaf(field: str, equals: str) -> dict[str, Any]:
        return {"field": field, "equals": equals, "odata.type": None}

    return _arm(
        _monitor_id(ALERT_ID),
        "Microsoft.Insights/ActivityLogAlerts",
        {
            "scopes": [f"/subscriptions/{SUBSCRIPTION_ID}"],
            "condition": {
                "allOf": [
                    leaf("category", "Administrative"),
                    {"anyOf": [leaf("operationName", op) for op in WATCHED_OPERATIONS], "odata.type": None},
                ]
            },
            "actions": {"actionGroups": [{"actionGroupId": ACTION_GROUP_ID, "webhookProperties": {}}]},
            "enabled": True,
            "description": (
                "A network security group, subnet, database firewall rule or parameter, or web app configuration"
                " was changed or deleted."
            ),
        },
        location="Global",
        tags=TAGS,
    )


# .../Microsoft.Insights/preview/2021-05-01-preview/examples/getDiagnosticSetting.json: the ID comes back
# lower-cased (but for "diagnosticSettings"); logs chosen by categoryGroup have "category": null.
def diagnostic_setting(target_id: str, name: str) -> dict[str, Any]:
    retention = {"enabled": False, "days": 0}
    return {
        "id": f"{target_id.lower()}/providers/microsoft.insights/diagnosticSettings/{name}",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": name,
        "location": None,
        "properties": {
            "storageAccountId": None,
            "serviceBusRuleId": None,
            "workspaceId": WORKSPACE_ID,
            "eventHubAuthorizationRuleId": None,
            "eventHubName": None,
            "metrics": [{"category": "AllMetrics", "enabled": True, "retentionPolicy": dict(retention)}],
            "logs": [
                {"category": None, "categoryGroup": "allLogs", "enabled": True, "retentionPolicy": dict(retention)}
            ],
            "logAnalyticsDestinationType": None,
        },
    }


_DIAGNOSTIC_TARGETS = {
    "diag-key-vault": VAULT_ID,
    "diag-vpn-gateway": GATEWAY_ID,
    "diag-database": SERVER_ID,
    "diag-portal": SITE_ID,
}


# --- role assignments ------------------------------------------------------------------
# specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/examples/
# RoleAssignments_Get.json (+ the 2022-04-01 RoleAssignmentProperties read-only fields)
def role_assignment(
    scope: str, name: str, role_definition: str, principal_id: str, *, principal_type: str, description: str
) -> dict[str, Any]:
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
        "properties": {
            "roleDefinitionId": f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{role_definition}",
            "principalId": principal_id,
            "principalType": principal_type,
            "scope": scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": CREATED,
            "updatedOn": CREATED,
            "createdBy": DEPLOYER_OBJECT_ID,
            "updatedBy": DEPLOYER_OBJECT_ID,
            "delegatedManagedIdentityResourceId": None,
            "description": description,
        },
    }


READER = well_known.role_id("Reader")
KEY_VAULT_SECRETS_USER = well_known.role_id("Key Vault Secrets User")
DEPLOYER_ROLE = "12518b8c-6453-5302-bbb0-2ff72556d1c1"  # the synthesis's naming.guid of the custom role
DEPLOYER_ROLE_ID = f"{RG_ID}/providers/Microsoft.Authorization/roleDefinitions/{DEPLOYER_ROLE}"


# The custom role, read at the resource group it was created at (its ID keeps that scope: Azure/azure-rest-api-specs
# #9389). Shape: MicrosoftDocs/azure-docs articles/role-based-access-control/custom-roles-rest.md, commit
# 24733d55a9a4b331204a2cce1c3ab882f1734b76 (a GET of a custom role, API 2022-04-01; the spec's
# GetRoleDefinitionByName.json, commit 4a84214385428e125ba8e5b439b8bc5876531321, has the same properties but the dates).
def deployer_role_definition() -> dict[str, Any]:
    return {
        "properties": {
            "roleName": "smart-portal-dev deployer",
            "type": "CustomRole",
            "description": "Deploy and restart the Smart Portal web app; nothing else (see docs/runbook.md).",
            "assignableScopes": [RG_ID],
            "permissions": [
                {
                    "actions": ["Microsoft.Web/sites/publish/Action", "Microsoft.Web/sites/restart/Action"],
                    "notActions": [],
                    "dataActions": [],
                    "notDataActions": [],
                }
            ],
            "createdOn": CREATED,
            "updatedOn": CREATED,
            "createdBy": DEPLOYER_OBJECT_ID,
            "updatedBy": DEPLOYER_OBJECT_ID,
        },
        "id": DEPLOYER_ROLE_ID,
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": DEPLOYER_ROLE,
    }


def _role_assignments() -> list[dict[str, Any]]:
    developers = "Developers: {} on the Smart Portal resource group."
    return [
        role_assignment(
            RG_ID,
            "29db8f38-339a-5a4e-9bcc-da5d087e9e3c",
            READER,
            GROUP_ID,
            principal_type="Group",
            description=developers.format("reader"),
        ),
        role_assignment(
            RG_ID,
            "eb804626-8e90-5f92-9354-ec001d1871a6",
            DEPLOYER_ROLE,
            GROUP_ID,
            principal_type="Group",
            description=developers.format("deployer"),
        ),
        role_assignment(
            VAULT_ID,
            "c8fa168a-a637-59f7-8534-621b525aa540",
            KEY_VAULT_SECRETS_USER,
            SITE_PRINCIPAL_ID,
            principal_type="ServicePrincipal",
            description="The portal resolves its Key Vault references with its managed identity.",
        ),
    ]


# --- PostgreSQL flexible server ----------------------------------------------------------
# specification/postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2024-08-01/examples/ServerGetWithVnet.json
def postgres_server() -> dict[str, Any]:
    return _arm(
        SERVER_ID,
        "Microsoft.DBforPostgreSQL/flexibleServers",
        {
            "replica": {"role": "Primary", "capacity": 5},
            "storage": {"type": "", "iops": 120, "tier": "P4", "storageSizeGB": 32, "autoGrow": "Enabled"},
            "network": {
                "publicNetworkAccess": "Disabled",
                "delegatedSubnetResourceId": DATABASE_SUBNET_ID,
                "privateDnsZoneArmResourceId": DB_ZONE_ID,
            },
            "dataEncryption": {"type": "SystemManaged"},
            "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "tenantId": TENANT_ID},
            "fullyQualifiedDomainName": f"{SERVER_NAME}.postgres.database.azure.com",
            "version": "16",
            "minorVersion": "8",
            "administratorLogin": None,
            "state": "Ready",
            "availabilityZone": "1",
            "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Enabled", "earliestRestoreDate": MODIFIED},
            "highAvailability": {"mode": "Disabled", "state": "NotEnabled"},
            "maintenanceWindow": {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0},
            "replicationRole": "Primary",
            "replicaCapacity": 5,
        },
        location=LOCATION,
        tags=PERSONAL_DATA_TAGS,
        sku={"name": "Standard_B1ms", "tier": "Burstable"},
        systemData={"createdAt": CREATED},
    )


# .../Microsoft.DBforPostgreSQL/stable/2024-08-01/examples/FirewallRuleGet.json (dev has none; for tests)
def firewall_rule(server_id: str, name: str, start_ip: str, end_ip: str) -> dict[str, Any]:
    return _arm(
        f"{server_id}/firewallRules/{name}",
        "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",
        {"startIpAddress": start_ip, "endIpAddress": end_ip},
        location=None,
    )


_PG_DOCS = "https://www.postgresql.org/docs/16/"


def _pg(
    value: str,
    description: str,
    data_type: str,
    allowed: str,
    doc: str,
    *,
    default: str | None = None,
    source: str = "system-default",
    dynamic: bool = True,
    unit: str | None = None,
) -> dict[str, Any]:
    """The ``properties`` of one server parameter, in the order the service lists them."""
    properties: dict[str, Any] = {
        "value": value,
        "description": description,
        "defaultValue": value if default is None else default,
        "dataType": data_type,
        "allowedValues": allowed,
        "source": source,
        "isDynamicConfig": dynamic,
        "isReadOnly": False,
        "isConfigPendingRestart": False,
    }
    if unit:
        properties["unit"] = unit
    properties["documentationLink"] = doc if doc.startswith("https://") else f"{_PG_DOCS}{doc}"
    return properties


_BOOL = "on,off"
_PG_CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "require_secure_transport": _pg(
        "on",
        "Whether client connections to the server are required to use some form of secure transport.",
        "Boolean",
        _BOOL,
        "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-ssl-tls",
        source="user-override",
    ),
    "ssl_min_protocol_version": _pg(
        "TLSv1.2",
        "Sets the minimum SSL/TLS protocol version to use.",
        "Enumeration",
        "TLSv1,TLSv1.1,TLSv1.2,TLSv1.3",
        "runtime-config-connection.html#GUC-SSL-MIN-PROTOCOL-VERSION",
        source="user-override",
    ),
    "log_connections": _pg(
        "on",
        "Logs each successful connection.",
        "Boolean",
        _BOOL,
        "runtime-config-logging.html#GUC-LOG-CONNECTIONS",
        dynamic=False,
    ),
    "log_disconnections": _pg(
        "off",
        "Logs end of a session, including duration.",
        "Boolean",
        _BOOL,
        "runtime-config-logging.html#GUC-LOG-DISCONNECTIONS",
    ),
    "log_checkpoints": _pg(
        "on", "Logs each checkpoint.", "Boolean", _BOOL, "runtime-config-logging.html#GUC-LOG-CHECKPOINTS"
    ),
    "max_connections": _pg(
        "50",
        "Sets the maximum number of concurrent connections.",
        "Integer",
        "25-5000",
        "runtime-config-connection.html#GUC-MAX-CONNECTIONS",
        dynamic=False,
    ),
    "password_encryption": _pg(
        "scram-sha-256",
        "Chooses the algorithm for encrypting passwords.",
        "Enumeration",
        "md5,scram-sha-256",
        "runtime-config-connection.html#GUC-PASSWORD-ENCRYPTION",
    ),
    "idle_in_transaction_session_timeout": _pg(
        "0",
        "Sets the maximum allowed idle time between queries, when in a transaction.",
        "Integer",
        "0-2147483647",
        "runtime-config-client.html#GUC-IDLE-IN-TRANSACTION-SESSION-TIMEOUT",
        unit="milliseconds",
    ),
}


# .../Microsoft.DBforPostgreSQL/stable/2024-08-01/examples/ConfigurationListByServer.json (the single
# ConfigurationGet.json example leaves out isDynamicConfig, isReadOnly, ...; a GET returns them)
def postgres_configuration(name: str) -> dict[str, Any]:
    return _arm(
        f"{SERVER_ID}/configurations/{name}",
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
        dict(_PG_CONFIGURATIONS[name]),
    )


# .../Microsoft.DBforPostgreSQL/stable/2024-08-01/examples/AdministratorGet.json: named after the principal
def postgres_administrator() -> dict[str, Any]:
    body = _arm(
        f"{SERVER_ID}/administrators/{GROUP_ID}",
        "Microsoft.DBforPostgreSQL/flexibleServers/administrators",
        {"principalType": "Group", "principalName": GROUP_NAME, "objectId": GROUP_ID, "tenantId": TENANT_ID},
        location=None,
    )
    body["name"] = GROUP_NAME
    return body


# --- Microsoft Graph -----------------------------------------------------------------------
# microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/api/group-get.md (default properties)
def developers_group() -> dict[str, Any]:
    return {
        "id": GROUP_ID,
        "deletedDateTime": None,
        "classification": None,
        "createdDateTime": "2025-03-04T09:14:51Z",
        "creationOptions": [],
        "description": "Henck GmbH software development team: the only people with access to the Smart Portal estate.",
        "displayName": GROUP_NAME,
        "expirationDateTime": None,
        "groupTypes": [],
        "isAssignableToRole": None,
        "mail": None,
        "mailEnabled": False,
        "mailNickname": _guid("mailNickname", GROUP_ID),
        "membershipRule": None,
        "membershipRuleProcessingState": None,
        "onPremisesDomainName": None,
        "onPremisesLastSyncDateTime": None,
        "onPremisesNetBiosName": None,
        "onPremisesSamAccountName": None,
        "onPremisesSecurityIdentifier": None,
        "onPremisesSyncEnabled": None,
        "preferredDataLocation": None,
        "preferredLanguage": None,
        "proxyAddresses": [],
        "renewedDateTime": "2025-03-04T09:14:51Z",
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": [],
        "securityEnabled": True,
        "securityIdentifier": "S-1-12-1-3761002192-1127397975-125403305-15156559",
        "theme": None,
        "visibility": None,
        "onPremisesProvisioningErrors": [],
        "serviceProvisioningErrors": [],
    }


# .../api-reference/v1.0/api/group-list-members.md (directoryObject collection; users carry their defaults)
def _user(given: str, surname: str) -> dict[str, Any]:
    upn = f"{given.lower()}.{surname.lower()}@smartde.coop"
    return {
        "@odata.type": "#microsoft.graph.user",
        "id": _guid("user", upn),
        "businessPhones": [],
        "displayName": f"{given} {surname}",
        "givenName": given,
        "jobTitle": "Software Developer",
        "mail": upn,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "de-DE",
        "surname": surname,
        "userPrincipalName": upn,
    }


DEVELOPERS = (_user("Anna", "Becker"), _user("Jonas", "Hoffmann"))


# .../api-reference/v1.0/api/namedlocation-get.md
def named_location() -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": NAMED_LOCATION_ID,
        "displayName": "smart-portal-dev: allowed developer IP",
        "modifiedDateTime": CREATED,
        "createdDateTime": CREATED,
        "isTrusted": True,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": f"{ALLOWED_IP}/32"}],
    }


# .../api-reference/v1.0/api/conditionalaccesspolicy-get.md, completed with the conditionalAccessPolicy,
# conditionalAccessConditionSet and conditionalAccessGrantControls v1.0 properties a GET returns.
def conditional_access_policy(
    policy_id: str,
    display_name: str,
    applications: list[str],
    control: str,
    locations: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    return {
        "id": policy_id,
        "templateId": None,
        "displayName": display_name,
        "createdDateTime": CREATED,
        "modifiedDateTime": None,
        "state": "enabled",
        "sessionControls": None,
        "conditions": {
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "clientAppTypes": ["all"],
            "servicePrincipalRiskLevels": [],
            "platforms": None,
            "locations": locations,
            "devices": None,
            "clientApplications": None,
            "applications": {
                "includeApplications": applications,
                "excludeApplications": [],
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": None,
            },
            "users": {
                "includeUsers": [],
                "excludeUsers": [],
                "includeGroups": [GROUP_ID],
                "excludeGroups": [],
                "includeRoles": [],
                "excludeRoles": [],
                "includeGuestsOrExternalUsers": None,
                "excludeGuestsOrExternalUsers": None,
            },
        },
        "grantControls": {
            "operator": "OR",
            "builtInControls": [control],
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength": None,
        },
    }


# .../api-reference/v1.0/api/application-get.md, commit 58328433460bb4ed1975a6f858d30548c9557a39; the API scope as a
# permissionScope (serviceprincipal-get.md example 2, commit 7c633dae63ade460235d756d100a0ea2d57e235e) and the
# pre-authorized client as a preAuthorizedApplication (resources/preauthorizedapplication.md, commit
# f5425fb1ee203bc0004289f39c3f5e1e647c8433). Served, not collected: no check reads the application.
def vpn_application() -> dict[str, Any]:
    return {
        "id": VPN_APP_OBJECT_ID,
        "deletedDateTime": None,
        "isFallbackPublicClient": None,
        "appId": VPN_CLIENT_ID,
        "applicationTemplateId": None,
        "identifierUris": [f"api://{VPN_CLIENT_ID}"],
        "createdDateTime": CREATED,
        "disabledByMicrosoftStatus": None,
        "displayName": VPN_APP_NAME,
        "isDeviceOnlyAuthSupported": None,
        "groupMembershipClaims": None,
        "optionalClaims": None,
        "addIns": [],
        "publisherDomain": "smartde.coop",
        "signInAudience": "AzureADMyOrg",
        "tags": [],
        "tokenEncryptionKeyId": None,
        "api": {
            "requestedAccessTokenVersion": None,
            "acceptMappedClaims": None,
            "knownClientApplications": [],
            "oauth2PermissionScopes": [_vpn_scope()],
            "preAuthorizedApplications": [
                {"appId": MICROSOFT_VPN_CLIENT_APP_ID, "delegatedPermissionIds": [VPN_SCOPE_ID]}
            ],
        },
        "appRoles": [],
        "publicClient": {"redirectUris": []},
        "info": {
            "termsOfServiceUrl": None,
            "supportUrl": None,
            "privacyStatementUrl": None,
            "marketingUrl": None,
            "logoUrl": None,
        },
        "keyCredentials": [],
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": [],
        "requiredResourceAccess": [],
        "web": {
            "redirectUris": [],
            "homePageUrl": None,
            "logoutUrl": None,
            "implicitGrantSettings": {"enableIdTokenIssuance": False, "enableAccessTokenIssuance": False},
        },
    }


def _vpn_scope() -> dict[str, Any]:
    return {
        "adminConsentDescription": "Connect to the Smart Portal point-to-site VPN.",
        "adminConsentDisplayName": "smart-portal-dev VPN users",
        "id": VPN_SCOPE_ID,
        "isEnabled": True,
        "type": "Admin",
        "userConsentDescription": None,
        "userConsentDisplayName": None,
        "value": "p2s-vpn",
    }


# .../api-reference/v1.0/api/serviceprincipal-get.md example 1, commit 7c633dae63ade460235d756d100a0ea2d57e235e
def service_principal(
    principal_id: str,
    app_id: str,
    display_name: str,
    *,
    assignment_required: bool,
    owner_tenant: str | None,
    scopes: list[dict[str, Any]],
    names: list[str],
) -> dict[str, Any]:
    return {
        "accountEnabled": True,
        "addIns": [],
        "alternativeNames": [],
        "appDisplayName": display_name,
        "appId": app_id,
        "appOwnerOrganizationId": owner_tenant,
        "appRoleAssignmentRequired": assignment_required,
        "appRoles": [],
        "disabledByMicrosoftStatus": None,
        "displayName": display_name,
        "endpoints": [],
        "homepage": None,
        "id": principal_id,
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        "info": {
            "termsOfServiceUrl": None,
            "supportUrl": None,
            "privacyStatementUrl": None,
            "marketingUrl": None,
            "logoUrl": None,
        },
        "keyCredentials": [],
        "logoutUrl": None,
        "oauth2PermissionScopes": scopes,
        "passwordCredentials": [],
        "publisherName": None,
        "replyUrls": [],
        "resourceSpecificApplicationPermissions": [],
        "servicePrincipalNames": names,
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMyOrg",
        "tags": [],
        "tokenEncryptionKeyId": None,
    }


def vpn_service_principal() -> dict[str, Any]:
    return service_principal(
        VPN_PRINCIPAL_ID,
        VPN_CLIENT_ID,
        VPN_APP_NAME,
        assignment_required=True,
        owner_tenant=TENANT_ID,
        scopes=[_vpn_scope()],
        names=[f"api://{VPN_CLIENT_ID}", VPN_CLIENT_ID],
    )


# .../api-reference/v1.0/api/serviceprincipal-list-approleassignedto.md, commit
# 09a024454e4f07a488bfd4e3d7f96696598ca10f (principalDisplayName is served, as Graph does; the collector does not keep it)
def app_role_assignment(
    assignment_id: str, principal_id: str, principal_type: str, principal_name: str, *, resource_id: str
) -> dict[str, Any]:
    return {
        "id": assignment_id,
        "deletedDateTime": None,
        "appRoleId": DEFAULT_APP_ROLE_ID,
        "createdDateTime": CREATED,
        "principalDisplayName": principal_name,
        "principalId": principal_id,
        "principalType": principal_type,
        "resourceDisplayName": VPN_APP_NAME if resource_id == VPN_PRINCIPAL_ID else None,
        "resourceId": resource_id,
    }


def _assignment_key(resource_id: str, assignment_id: str) -> str:
    return f"servicePrincipals/{resource_id}/appRoleAssignedTo/{assignment_id}"


def _graph() -> dict[str, dict[str, Any]]:
    policies = [
        conditional_access_policy(
            MFA_POLICY_ID, "smart-portal-dev: require MFA for developers", [AZURE_MANAGEMENT_APP_ID], "mfa"
        ),
        conditional_access_policy(
            VPN_MFA_POLICY_ID, "smart-portal-dev: require MFA for the VPN", [VPN_CLIENT_ID], "mfa"
        ),
        conditional_access_policy(
            VPN_POLICY_ID,
            "smart-portal-dev: VPN only from the allowed IP",
            [VPN_CLIENT_ID],
            "block",
            {"includeLocations": ["All"], "excludeLocations": [NAMED_LOCATION_ID]},
        ),
    ]
    graph = {f"groups/{GROUP_ID}": developers_group()}
    graph.update({f"identity/conditionalAccess/policies/{p['id']}": p for p in policies})
    graph[f"identity/conditionalAccess/namedLocations/{NAMED_LOCATION_ID}"] = named_location()
    graph[f"applications/{VPN_APP_OBJECT_ID}"] = vpn_application()
    graph[f"servicePrincipals/{VPN_PRINCIPAL_ID}"] = vpn_service_principal()
    graph[_assignment_key(VPN_PRINCIPAL_ID, VPN_ASSIGNMENT_ID)] = app_role_assignment(
        VPN_ASSIGNMENT_ID, GROUP_ID, "Group", GROUP_NAME, resource_id=VPN_PRINCIPAL_ID
    )
    return graph


# --- the estate ------------------------------------------------------------------------------
def dev_estate() -> Estate:
    """The ``dev`` stack as deployed: every ARM GET body keyed by its (synth-cased) ID, plus Graph."""
    subnet_bodies = subnets()
    bodies = [
        resource_group(),
        virtual_network(subnet_bodies),
        *subnet_bodies,
        *_nsgs(),
        public_ip(),
        virtual_network_gateway(),
        private_endpoint(),
        private_dns_zone_group(),
        private_dns_zone(KV_ZONE_ID, TAGS),
        private_dns_zone(DB_ZONE_ID, PERSONAL_DATA_TAGS),
        virtual_network_link(KV_ZONE_ID, TAGS),
        virtual_network_link(DB_ZONE_ID, PERSONAL_DATA_TAGS),
        app_service_plan(),
        site(),
        site_config_web(),
        auth_settings_v2(),
        publishing_credentials_policy("ftp"),
        publishing_credentials_policy("scm"),
        host_name_binding(CUSTOM_DOMAIN, CERT_THUMBPRINT),
        host_name_binding(DEFAULT_HOST, None),
        certificate(),
        key_vault(),
        postgres_server(),
        *(postgres_configuration(name) for name in _PG_CONFIGURATIONS),
        postgres_administrator(),
        *_role_assignments(),
        deployer_role_definition(),
    ]
    arm = {body["id"]: body for body in bodies}
    # These services answer IDs in another case; the keys keep the synth's.
    arm[WORKSPACE_ID] = workspace()
    arm[ACTION_GROUP_ID] = action_group()
    arm[ALERT_ID] = activity_log_alert()
    for name, target in _DIAGNOSTIC_TARGETS.items():
        arm[f"{target}/providers/Microsoft.Insights/diagnosticSettings/{name}"] = diagnostic_setting(target, name)
    return Estate(
        subscription_id=SUBSCRIPTION_ID,
        tenant_id=TENANT_ID,
        arm=arm,
        graph=_graph(),
        members={GROUP_ID: [dict(user) for user in DEVELOPERS]},
        app_settings={SITE_ID: dict(APP_SETTINGS)},
    )


# --- mutations for tests (each returns a changed copy) ------------------------------------------
def with_firewall_rule(
    estate: Estate, name: str = "allow-office", start: str = "203.0.113.10", end: str = "203.0.113.10"
) -> Estate:
    changed = estate.copy()
    rule = firewall_rule(SERVER_ID, name, start, end)
    changed.arm[rule["id"]] = rule
    return changed


def with_site_min_tls(estate: Estate, version: str) -> Estate:
    changed = estate.copy()
    changed.arm[f"{SITE_ID}/config/web"]["properties"]["minTlsVersion"] = version
    return changed


def with_ca_report_only(estate: Estate, policy_id: str = MFA_POLICY_ID) -> Estate:
    changed = estate.copy()
    changed.graph[f"identity/conditionalAccess/policies/{policy_id}"]["state"] = "enabledForReportingButNotEnforced"
    return changed


def with_client_affinity(estate: Estate) -> Estate:
    changed = estate.copy()
    changed.arm[SITE_ID]["properties"]["clientAffinityEnabled"] = True
    return changed


def with_old_vpn_audience(estate: Estate, *, principal: bool = True) -> Estate:
    """The design before the VPN's own audience app: the gateway and the VPN policies name Microsoft's Azure VPN Client.

    With ``principal``, the tenant holds that app's service principal as Entra creates it on first consent
    (assignment not required, the default: resources/serviceprincipal.md); without, it holds none.
    """
    changed = estate.copy()
    old = MICROSOFT_VPN_CLIENT_APP_ID
    changed.arm[GATEWAY_ID]["properties"]["vpnClientConfiguration"]["aadAudience"] = old
    for key in (VPN_MFA_POLICY_ID, VPN_POLICY_ID):
        applications = changed.graph[f"identity/conditionalAccess/policies/{key}"]["conditions"]["applications"]
        applications["includeApplications"] = [
            old if a == VPN_CLIENT_ID else a for a in applications["includeApplications"]
        ]
    for key in [k for k in changed.graph if VPN_APP_OBJECT_ID in k or VPN_PRINCIPAL_ID in k]:
        del changed.graph[key]
    if principal:
        principal_id = _guid("servicePrincipal", old)
        changed.graph[f"servicePrincipals/{principal_id}"] = service_principal(
            principal_id,
            old,
            "Azure VPN Client",
            assignment_required=False,
            owner_tenant=None,  # Microsoft's tenant; no check reads it and no source here names it
            scopes=[],
            names=[old],
        )
    return changed


def with_assignment_not_required(estate: Estate) -> Estate:
    changed = estate.copy()
    changed.graph[f"servicePrincipals/{VPN_PRINCIPAL_ID}"]["appRoleAssignmentRequired"] = False
    return changed


def with_user_assigned(estate: Estate) -> Estate:
    """A developer assigned to the VPN app directly, beside the group."""
    changed = estate.copy()
    user = DEVELOPERS[0]
    assignment_id = _guid("assignment", str(user["id"]))
    changed.graph[_assignment_key(VPN_PRINCIPAL_ID, assignment_id)] = app_role_assignment(
        assignment_id, str(user["id"]), "User", str(user["displayName"]), resource_id=VPN_PRINCIPAL_ID
    )
    return changed


OTHER_GROUP_ID = _guid("group", "smart-portal-all-staff")


def with_second_group_assigned(estate: Estate) -> Estate:
    changed = estate.copy()
    assignment_id = _guid("assignment", OTHER_GROUP_ID)
    changed.graph[_assignment_key(VPN_PRINCIPAL_ID, assignment_id)] = app_role_assignment(
        assignment_id, OTHER_GROUP_ID, "Group", "smart-portal all staff", resource_id=VPN_PRINCIPAL_ID
    )
    return changed


# --- at scale ------------------------------------------------------------------------------------
def realistic_estate(total: int) -> Estate:
    """``total`` Resource Graph ``resources`` rows with the dev stack's mix: whole copies of the dev resource group.

    Copy ``n`` is the dev stack with its resource group renamed ``{RESOURCE_GROUP}-{n:04d}`` in every ID and
    reference (sites with their config, publishing policies and bindings, a PostgreSQL server with its parameters,
    NSGs, role assignments, diagnostic settings ...); the tenant's Microsoft Graph objects are shared, as one tenant's
    are. What whole copies leave short of ``total`` is made up with plain virtual networks in ``rg-bulk``.
    """
    import json

    dev = dev_estate()
    rows = [k for k, b in dev.arm.items() if len(k.strip("/").split("/")) == 8 and not _authorization_type(b)]
    copies = total // len(rows)
    text = json.dumps({"arm": dev.arm, "app_settings": dev.app_settings})
    arm: dict[str, dict[str, Any]] = {}
    app_settings: dict[str, dict[str, str]] = {}
    for n in range(copies):
        # The group name ends every ID prefix it is in ("/resourceGroups/rg-...-gwc/" or a closing quote).
        copy = json.loads(
            text.replace(f"/{RESOURCE_GROUP}/", f"/{RESOURCE_GROUP}-{n:04d}/")
            .replace(f'/{RESOURCE_GROUP}"', f'/{RESOURCE_GROUP}-{n:04d}"')
            .replace(f'"{RESOURCE_GROUP}"', f'"{RESOURCE_GROUP}-{n:04d}"')
        )
        arm.update(copy["arm"])
        app_settings.update(copy["app_settings"])
    rest = total - copies * len(rows)
    if rest:
        rg = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-bulk"
        arm[rg] = resource_group(rg, tags=None)
        for n in range(rest):
            vnet = plain_virtual_network(rg, n)
            arm[vnet["id"]] = vnet
    return Estate(
        subscription_id=SUBSCRIPTION_ID,
        tenant_id=TENANT_ID,
        arm=arm,
        graph=dev.graph,
        members=dev.members,
        app_settings=app_settings,
    )


def _authorization_type(body: dict[str, Any]) -> bool:
    return str(body.get("type", "")).lower().startswith("microsoft.authorization/")
