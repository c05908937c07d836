"""Developer access: the developers' Entra group, Conditional Access and least privilege.

Privacy policy: "only accessible to the software development team ... through a
two-step authorization process". Conditional Access policies, enabled (not
report-only), require MFA for the group on Azure management and on the VPN's
own audience app (``VpnAudience``: only the group is assigned to it, so nobody
else can get a VPN token at all). In point-to-site mode a third one blocks the
VPN audience from anywhere but the allowed IP address, which makes that address
the single way to the database. Break-glass accounts are exempt from the
management policy only, so a broken MFA setup cannot lock the tenant out; they
are not assigned to the VPN app and no VPN policy exempts anyone.

Azure roles: Reader on the resource group, plus a custom role with exactly the
actions a developer needs to ship the portal (deploy through Kudu with Entra ID,
restart). Neither can change site configuration, authentication, network rules,
the database or Key Vault: the settings the promises rest on stay with Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread
from pulumi_azure_native import authorization

from infra import well_known
from infra.components.vpn_audience import VpnAudience, VpnAudienceArgs
from infra.config import AccessSettings
from infra.naming import Naming

# What developers may do beyond reading, each action justified in docs/runbook.md:
# - publish: deploy the portal through Kudu with Entra ID (learn.microsoft.com/azure/app-service/resources-kudu,
#   "RBAC permissions required to access Kudu");
# - restart: restart the app (learn.microsoft.com/azure/role-based-access-control/role-definitions, Actions).
# Not Website Contributor: its Microsoft.Web/sites/* includes sites/config/write (TLS floor, client
# affinity, SCM access restrictions) and basicPublishingCredentialsPolicies/write.
DEPLOYER_ACTIONS = ("Microsoft.Web/sites/publish/Action", "Microsoft.Web/sites/restart/Action")


@dataclass(frozen=True)
class DeveloperAccessArgs:
    settings: AccessSettings
    stack: str
    vpn_mode: str
    # The Microsoft-registered Azure VPN Client app of the cloud (pre-authorized on the VPN audience app).
    vpn_client_app_id: str
    allowed_ip: str
    subscription_id: pulumi.Input[str]
    resource_group_id: pulumi.Input[str]
    naming: Naming


class DeveloperAccess(pulumi.ComponentResource):
    """Entra group, Conditional Access policies and role assignments."""

    def __init__(self, name: str, args: DeveloperAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("smartportal:identity:DeveloperAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings

        self.group = azuread.Group(
            f"{name}-group",
            display_name=settings.developer_group_name,
            description="Henck GmbH software development team: the only people with access to the Smart Portal estate.",
            security_enabled=True,
            mail_enabled=False,
            prevent_duplicate_names=True,
            opts=child,
        )

        # Point-to-site: the VPN's own audience app, assigned to the group only. Its client ID is what
        # the gateway names as audience and what Conditional Access targets for the VPN.
        self.vpn_audience: VpnAudience | None = None
        if args.vpn_mode == "p2s":
            self.vpn_audience = VpnAudience(
                f"{name}-vpn",
                VpnAudienceArgs(
                    stack=args.stack,
                    vpn_client_app_id=args.vpn_client_app_id,
                    developer_group_object_id=self.group.object_id,
                ),
                opts=child,
            )

        developers = {"included_groups": [self.group.object_id]}
        # Break-glass accounts are exempt from MFA on Azure management only, so a broken MFA setup cannot
        # lock the tenant out. The VPN policies exempt no one: break-glass accounts are not assigned to the
        # VPN app anyway, and an exemption there would let a member of the group tunnel in without MFA.
        self.mfa_policy = azuread.ConditionalAccessPolicy(
            f"{name}-ca-mfa",
            display_name=f"smart-portal-{args.stack}: require MFA for developers",
            state="enabled",
            conditions={
                "client_app_types": ["all"],
                "applications": {"included_applications": [well_known.app_id("Windows Azure Service Management API")]},
                "users": {**developers, "excluded_users": list(settings.break_glass_object_ids)},
            },
            grant_controls={"operator": "OR", "built_in_controls": ["mfa"]},
            opts=child,
        )
        self.vpn_mfa_policy: azuread.ConditionalAccessPolicy | None = None
        if self.vpn_audience is not None:
            self.vpn_mfa_policy = azuread.ConditionalAccessPolicy(
                f"{name}-ca-vpn-mfa",
                display_name=f"smart-portal-{args.stack}: require MFA for the VPN",
                state="enabled",
                conditions={
                    "client_app_types": ["all"],
                    "applications": {"included_applications": [self.vpn_audience.client_id]},
                    "users": developers,
                },
                grant_controls={"operator": "OR", "built_in_controls": ["mfa"]},
                opts=child,
            )

        self.allowed_location: azuread.NamedLocation | None = None
        self.location_policy: azuread.ConditionalAccessPolicy | None = None
        if self.vpn_audience is not None:
            self.allowed_location = azuread.NamedLocation(
                f"{name}-allowed-ip",
                display_name=f"smart-portal-{args.stack}: allowed developer IP",
                ip={"ip_ranges": [f"{args.allowed_ip}/32"], "trusted": True},
                opts=child,
            )
            self.location_policy = azuread.ConditionalAccessPolicy(
                f"{name}-ca-vpn-location",
                display_name=f"smart-portal-{args.stack}: VPN only from the allowed IP",
                state="enabled",
                conditions={
                    "client_app_types": ["all"],
                    "applications": {"included_applications": [self.vpn_audience.client_id]},
                    "users": developers,
                    "locations": {
                        "included_locations": ["All"],
                        "excluded_locations": [self.allowed_location.id],
                    },
                },
                grant_controls={"operator": "OR", "built_in_controls": ["block"]},
                opts=child,
            )

        deployer_guid = args.naming.guid(f"{name}-deployer-role")
        self.deployer_role = authorization.RoleDefinition(
            f"{name}-deployer-role",
            role_definition_id=deployer_guid,
            role_name=f"smart-portal-{args.stack} deployer",
            description="Deploy and restart the Smart Portal web app; nothing else (see docs/runbook.md).",
            scope=args.resource_group_id,
            assignable_scopes=[args.resource_group_id],
            permissions=[{"actions": list(DEPLOYER_ACTIONS), "not_actions": []}],
            opts=child,
        )
        # Role assignments name a role by its subscription-level ID, custom roles included
        # (an ARM template writes subscriptionResourceId('Microsoft.Authorization/roleDefinitions', id)).
        roles = {"reader": well_known.role_id("Reader"), "deployer": deployer_guid}
        self.role_assignments = [
            authorization.RoleAssignment(
                f"{name}-{label}",
                role_assignment_name=args.naming.guid(f"{name}-{label}"),
                scope=args.resource_group_id,
                principal_id=self.group.object_id,
                principal_type="Group",
                role_definition_id=pulumi.Output.concat(
                    "/subscriptions/", args.subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", guid
                ),
                description=f"Developers: {label} on the Smart Portal resource group.",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployer_role]),
            )
            for label, guid in roles.items()
        ]

        self.group_object_id = self.group.object_id
        self.group_name = self.group.display_name
        self.register_outputs({"groupObjectId": self.group.object_id, "mfaPolicyId": self.mfa_policy.id})
