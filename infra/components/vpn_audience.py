"""The point-to-site VPN's own Entra audience: only the developers' group can obtain a VPN token.

Why not the Microsoft-registered Azure VPN Client app as the gateway's audience:
every user of the tenant can get a token for it, and Conditional Access here
covers only the developers, so any other user could open a tunnel from anywhere
without MFA and land in the client pool that the database NSG admits.

Microsoft's documented way to restrict P2S access to users and groups is a
custom audience app ("Scenario: Configure P2S access based on users and groups",
learn.microsoft.com/azure/vpn-gateway/point-to-site-entra-users-access; "Create
or modify a custom audience app ID", .../point-to-site-entra-register-custom-app):

1. register a single-tenant application and expose an API scope on it;
2. pre-authorize the Microsoft-registered Azure VPN Client app for that scope;
3. on its enterprise application (service principal) set *Assignment required*
   and assign the users or groups who may connect (direct members only);
4. use the application (client) ID as the gateway's audience.

With assignment required, Entra ID issues no token for this audience to anyone
who is not assigned, whatever Conditional Access says. Break-glass accounts are
deliberately not assigned: they exist to recover the tenant, not to reach the
database.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread
import pulumi_random as random

from infra import well_known

SCOPE_VALUE = "p2s-vpn"


@dataclass(frozen=True)
class VpnAudienceArgs:
    stack: str
    # The Microsoft-registered Azure VPN Client app of the cloud, pre-authorized for the scope.
    vpn_client_app_id: str
    # Object ID of the developers' group: the only principal assigned.
    developer_group_object_id: pulumi.Input[str]


class VpnAudience(pulumi.ComponentResource):
    """Application, its VPN scope, the pre-authorized VPN client, the service principal and the group's assignment."""

    def __init__(self, name: str, args: VpnAudienceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("smartportal:identity:VpnAudience", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        scope_id = random.RandomUuid(f"{name}-scope-id", opts=child)
        self.application = azuread.Application(
            f"{name}-app",
            display_name=f"smart-portal-{args.stack} P2S VPN",
            description="Audience of the Smart Portal point-to-site VPN. Only assigned principals get a token.",
            sign_in_audience="AzureADMyOrg",
            prevent_duplicate_names=True,
            api={
                "oauth2_permission_scopes": [
                    {
                        "id": scope_id.result,
                        "value": SCOPE_VALUE,
                        "type": "Admin",
                        "enabled": True,
                        "admin_consent_display_name": f"smart-portal-{args.stack} VPN users",
                        "admin_consent_description": "Connect to the Smart Portal point-to-site VPN.",
                    }
                ]
            },
            opts=child,
        )
        # The Application ID URI is api://<client id>, which exists only once the app does.
        azuread.ApplicationIdentifierUri(
            f"{name}-uri",
            application_id=self.application.id,
            identifier_uri=pulumi.Output.concat("api://", self.application.client_id),
            opts=child,
        )
        azuread.ApplicationPreAuthorized(
            f"{name}-vpn-client",
            application_id=self.application.id,
            authorized_client_id=args.vpn_client_app_id,
            permission_ids=[scope_id.result],
            opts=child,
        )
        self.service_principal = azuread.ServicePrincipal(
            f"{name}-sp",
            client_id=self.application.client_id,
            app_role_assignment_required=True,
            account_enabled=True,
            opts=child,
        )
        self.assignment = azuread.AppRoleAssignment(
            f"{name}-developers",
            # The app declares no app roles: the default role means "assigned to the app".
            app_role_id=well_known.graph_default_app_role_id(),
            principal_object_id=args.developer_group_object_id,
            resource_object_id=self.service_principal.object_id,
            opts=child,
        )

        self.client_id = self.application.client_id
        self.register_outputs(
            {"clientId": self.application.client_id, "servicePrincipalObjectId": self.service_principal.object_id}
        )
