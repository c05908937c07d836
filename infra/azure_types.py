"""One table from Pulumi azure-native type tokens to ARM resource IDs and types.

Each entry is the resource's ARM ID template; the placeholders are the
resource's own input names (camelCase, as the engine sees them), so a template
both names the ARM type and builds the ID from recorded inputs. The mock
runtime, the offline renderer and the compliance inventory all use this table;
tests check it against the installed SDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers"

ARM_ID_TEMPLATES: Mapping[str, str] = {
    "azure-native:resources:ResourceGroup": "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
    "azure-native:resources:Deployment": f"{_RG}/Microsoft.Resources/deployments/{{deploymentName}}",
    "azure-native:network:VirtualNetwork": f"{_RG}/Microsoft.Network/virtualNetworks/{{virtualNetworkName}}",
    "azure-native:network:Subnet": f"{_RG}/Microsoft.Network/virtualNetworks/{{virtualNetworkName}}/subnets/{{subnetName}}",
    "azure-native:network:NetworkSecurityGroup": f"{_RG}/Microsoft.Network/networkSecurityGroups/{{networkSecurityGroupName}}",
    "azure-native:network:PublicIPAddress": f"{_RG}/Microsoft.Network/publicIPAddresses/{{publicIpAddressName}}",
    "azure-native:network:VirtualNetworkGateway": f"{_RG}/Microsoft.Network/virtualNetworkGateways/{{virtualNetworkGatewayName}}",
    "azure-native:network:LocalNetworkGateway": f"{_RG}/Microsoft.Network/localNetworkGateways/{{localNetworkGatewayName}}",
    "azure-native:network:VirtualNetworkGatewayConnection": f"{_RG}/Microsoft.Network/connections/{{virtualNetworkGatewayConnectionName}}",
    "azure-native:network:PrivateEndpoint": f"{_RG}/Microsoft.Network/privateEndpoints/{{privateEndpointName}}",
    "azure-native:network:PrivateDnsZoneGroup": f"{_RG}/Microsoft.Network/privateEndpoints/{{privateEndpointName}}/privateDnsZoneGroups/{{privateDnsZoneGroupName}}",
    "azure-native:privatedns:PrivateZone": f"{_RG}/Microsoft.Network/privateDnsZones/{{privateZoneName}}",
    "azure-native:privatedns:VirtualNetworkLink": f"{_RG}/Microsoft.Network/privateDnsZones/{{privateZoneName}}/virtualNetworkLinks/{{virtualNetworkLinkName}}",
    "azure-native:dbforpostgresql:Server": f"{_RG}/Microsoft.DBforPostgreSQL/flexibleServers/{{serverName}}",
    "azure-native:dbforpostgresql:Configuration": f"{_RG}/Microsoft.DBforPostgreSQL/flexibleServers/{{serverName}}/configurations/{{configurationName}}",
    "azure-native:dbforpostgresql:Administrator": f"{_RG}/Microsoft.DBforPostgreSQL/flexibleServers/{{serverName}}/administrators/{{objectId}}",
    "azure-native:dbforpostgresql:FirewallRule": f"{_RG}/Microsoft.DBforPostgreSQL/flexibleServers/{{serverName}}/firewallRules/{{firewallRuleName}}",
    "azure-native:web:AppServicePlan": f"{_RG}/Microsoft.Web/serverfarms/{{name}}",
    "azure-native:web:WebApp": f"{_RG}/Microsoft.Web/sites/{{name}}",
    "azure-native:web:WebAppFtpAllowed": f"{_RG}/Microsoft.Web/sites/{{name}}/basicPublishingCredentialsPolicies/ftp",
    "azure-native:web:WebAppScmAllowed": f"{_RG}/Microsoft.Web/sites/{{name}}/basicPublishingCredentialsPolicies/scm",
    "azure-native:web:WebAppAuthSettingsV2": f"{_RG}/Microsoft.Web/sites/{{name}}/config/authsettingsV2",
    "azure-native:web:WebAppHostNameBinding": f"{_RG}/Microsoft.Web/sites/{{name}}/hostNameBindings/{{hostName}}",
    "azure-native:web:Certificate": f"{_RG}/Microsoft.Web/certificates/{{name}}",
    # Deployment slots and app settings: not declared by infra/, but a state or preview may hold them.
    "azure-native:web:WebAppSlot": f"{_RG}/Microsoft.Web/sites/{{name}}/slots/{{slot}}",
    "azure-native:web:WebAppApplicationSettings": f"{_RG}/Microsoft.Web/sites/{{name}}/config/appsettings",
    "azure-native:web:WebAppApplicationSettingsSlot": f"{_RG}/Microsoft.Web/sites/{{name}}/slots/{{slot}}/config/appsettings",
    "azure-native:web:WebAppFtpAllowedSlot": f"{_RG}/Microsoft.Web/sites/{{name}}/slots/{{slot}}/basicPublishingCredentialsPolicies/ftp",
    "azure-native:web:WebAppScmAllowedSlot": f"{_RG}/Microsoft.Web/sites/{{name}}/slots/{{slot}}/basicPublishingCredentialsPolicies/scm",
    "azure-native:web:WebAppAuthSettingsV2Slot": f"{_RG}/Microsoft.Web/sites/{{name}}/slots/{{slot}}/config/authsettingsV2",
    "azure-native:web:WebAppHostNameBindingSlot": f"{_RG}/Microsoft.Web/sites/{{name}}/slots/{{slot}}/hostNameBindings/{{hostName}}",
    "azure-native:keyvault:Vault": f"{_RG}/Microsoft.KeyVault/vaults/{{vaultName}}",
    "azure-native:keyvault:Secret": f"{_RG}/Microsoft.KeyVault/vaults/{{vaultName}}/secrets/{{secretName}}",
    "azure-native:operationalinsights:Workspace": f"{_RG}/Microsoft.OperationalInsights/workspaces/{{workspaceName}}",
    "azure-native:monitor:ActionGroup": f"{_RG}/Microsoft.Insights/actionGroups/{{actionGroupName}}",
    "azure-native:monitor:ActivityLogAlert": f"{_RG}/Microsoft.Insights/activityLogAlerts/{{activityLogAlertName}}",
    "azure-native:monitor:DiagnosticSetting": "{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}",
    "azure-native:authorization:RoleAssignment": "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
    "azure-native:authorization:RoleDefinition": "{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}",
    "azure-native:applicationinsights:Component": f"{_RG}/Microsoft.Insights/components/{{resourceName}}",
}


# The REST API version each SDK resource uses (from the installed azure-native
# SDK; tests/test_azure_types.py keeps this in step). The ARM export writes it.
API_VERSIONS: Mapping[str, str] = {
    "azure-native:resources:ResourceGroup": "2024-03-01",
    "azure-native:resources:Deployment": "2024-03-01",
    "azure-native:network:VirtualNetwork": "2024-05-01",
    "azure-native:network:Subnet": "2024-05-01",
    "azure-native:network:NetworkSecurityGroup": "2024-05-01",
    "azure-native:network:PublicIPAddress": "2024-05-01",
    "azure-native:network:VirtualNetworkGateway": "2024-05-01",
    "azure-native:network:LocalNetworkGateway": "2024-05-01",
    "azure-native:network:VirtualNetworkGatewayConnection": "2024-05-01",
    "azure-native:network:PrivateEndpoint": "2024-05-01",
    "azure-native:network:PrivateDnsZoneGroup": "2024-05-01",
    "azure-native:privatedns:PrivateZone": "2024-06-01",
    "azure-native:privatedns:VirtualNetworkLink": "2024-06-01",
    "azure-native:dbforpostgresql:Server": "2025-08-01",
    "azure-native:dbforpostgresql:Configuration": "2025-08-01",
    "azure-native:dbforpostgresql:Administrator": "2025-01-01-preview",
    "azure-native:dbforpostgresql:FirewallRule": "2025-08-01",
    "azure-native:web:AppServicePlan": "2025-05-01",
    "azure-native:web:WebApp": "2025-05-01",
    "azure-native:web:WebAppFtpAllowed": "2025-05-01",
    "azure-native:web:WebAppScmAllowed": "2025-05-01",
    "azure-native:web:WebAppAuthSettingsV2": "2021-02-01",
    "azure-native:web:WebAppHostNameBinding": "2025-05-01",
    "azure-native:web:Certificate": "2025-05-01",
    "azure-native:web:WebAppSlot": "2025-05-01",
    "azure-native:web:WebAppApplicationSettings": "2025-05-01",
    "azure-native:web:WebAppApplicationSettingsSlot": "2025-05-01",
    "azure-native:web:WebAppFtpAllowedSlot": "2025-05-01",
    "azure-native:web:WebAppScmAllowedSlot": "2025-05-01",
    "azure-native:web:WebAppAuthSettingsV2Slot": "2021-02-01",
    "azure-native:web:WebAppHostNameBindingSlot": "2025-05-01",
    "azure-native:keyvault:Vault": "2024-11-01",
    "azure-native:keyvault:Secret": "2024-11-01",
    "azure-native:operationalinsights:Workspace": "2023-09-01",
    "azure-native:monitor:ActionGroup": "2024-10-01-preview",
    "azure-native:monitor:ActivityLogAlert": "2020-10-01",
    "azure-native:monitor:DiagnosticSetting": "2021-05-01-preview",
    "azure-native:authorization:RoleAssignment": "2022-04-01",
    "azure-native:authorization:RoleDefinition": "2022-05-01-preview",
    "azure-native:applicationinsights:Component": "2020-02-02",
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class UnmappedTypeError(KeyError):
    """A resource token has no entry in ARM_ID_TEMPLATES."""

    def __str__(self) -> str:
        return f"no ARM mapping for {self.args[0]}; add it to infra/azure_types.py"


@dataclass(frozen=True)
class ArmIdentity:
    id: str
    type: str
    name: str


def is_azure_native(token: str) -> bool:
    return token.startswith("azure-native:")


def placeholders(token: str) -> list[str]:
    return _PLACEHOLDER.findall(_template(token))


def _template(token: str) -> str:
    try:
        return ARM_ID_TEMPLATES[token]
    except KeyError:
        raise UnmappedTypeError(token) from None


def arm_type(token: str) -> str:
    """The ARM resource type, e.g. ``Microsoft.Network/virtualNetworks/subnets``."""
    template = _template(token)
    if "/providers/" not in template:
        return "Microsoft.Resources/resourceGroups"
    segments = template.rsplit("/providers/", 1)[1].split("/")
    namespace, rest = segments[0], segments[1:]
    return "/".join([namespace, *rest[0::2]])


def arm_identity(token: str, inputs: Mapping[str, object], subscription_id: str) -> ArmIdentity:
    """Fill the ID template from a resource's inputs. Missing inputs raise KeyError."""
    values: dict[str, str] = {"subscriptionId": subscription_id}
    for key in placeholders(token):
        if key == "subscriptionId":
            continue
        value = inputs.get(key)
        if not isinstance(value, str) or not value:
            raise KeyError(f"{token}: input {key!r} is needed for the ARM ID but is {value!r}")
        values[key] = value
    resource_id = _template(token).format(**values)
    return ArmIdentity(id=resource_id, type=arm_type(token), name=resource_id.rsplit("/", 1)[1])


def api_version_of_type(kind: str) -> str | None:
    """The API version for an ARM type, taken from the SDK resource that produces it."""
    wanted = kind.lower()
    for token, version in API_VERSIONS.items():
        if arm_type(token).lower() == wanted:
            return version
    return None
