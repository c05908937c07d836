"""Developer access: the developers' Entra group, Conditional Access and least privilege.

Privacy policy: "only accessible to the software development team ... through a
two-step authorization process". One Conditional Access policy, enabled (not
report-only), requires MFA for the group on Azure management and on the Azure
VPN client. In point-to-site mode a second one blocks the VPN client from
anywhere but the allowed IP address, which makes that address the single way to
the database. Break-glass accounts are excluded so a broken MFA setup cannot
lock the tenant out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread
from pulumi_azure_native import authorization

from infra.config import AZURE_MANAGEMENT_APP_ID, AccessSettings
from infra.naming import Naming

# Least privilege at the resource group: read everything, manage the web app.
# Nothing here can change networks, the database or Key Vault access.
ROLE_READER = "acdd72a7-3385-48ef-bd42-f6fba2bd64bf"
ROLE_WEBSITE_CONTRIBUTOR = "de139f84-1756-47ae-9be6-808fbbe84772"
DEVELOPER_ROLES = {"reader": ROLE_READER, "website-contributor": ROLE_WEBSITE_CONTRIBUTOR}


@dataclass(frozen=True)
class DeveloperAccessArgs:
    settings: AccessSettings
    stack: str
    vpn_mode: str
    vpn_app_id: str
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

        users = {
            "included_groups": [self.group.object_id],
            "excluded_users": list(settings.break_glass_object_ids),
        }
        self.mfa_policy = azuread.ConditionalAccessPolicy(
            f"{name}-ca-mfa",
            display_name=f"smart-portal-{args.stack}: require MFA for developers",
            state="enabled",
            conditions={
                "client_app_types": ["all"],
                "applications": {"included_applications": [AZURE_MANAGEMENT_APP_ID, args.vpn_app_id]},
                "users": users,
            },
            grant_controls={"operator": "OR", "built_in_controls": ["mfa"]},
            opts=child,
        )

        self.allowed_location: azuread.NamedLocation | None = None
        self.location_policy: azuread.ConditionalAccessPolicy | None = None
        if args.vpn_mode == "p2s":
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
                    "applications": {"included_applications": [args.vpn_app_id]},
                    "users": users,
                    "locations": {
                        "included_locations": ["All"],
                        "excluded_locations": [self.allowed_location.id],
                    },
                },
                grant_controls={"operator": "OR", "built_in_controls": ["block"]},
                opts=child,
            )

        self.role_assignments = [
            authorization.RoleAssignment(
                f"{name}-{label}",
                role_assignment_name=args.naming.guid(f"{name}-{label}"),
                scope=args.resource_group_id,
                principal_id=self.group.object_id,
                principal_type="Group",
                role_definition_id=pulumi.Output.concat(
                    "/subscriptions/",
                    args.subscription_id,
                    "/providers/Microsoft.Authorization/roleDefinitions/",
                    role_id,
                ),
                description=f"Developers: {label} on the Smart Portal resource group.",
                opts=child,
            )
            for label, role_id in DEVELOPER_ROLES.items()
        ]

        self.group_object_id = self.group.object_id
        self.group_name = self.group.display_name
        self.register_outputs({"groupObjectId": self.group.object_id, "mfaPolicyId": self.mfa_policy.id})
