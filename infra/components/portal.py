"""The Smart Portal: Linux App Service plan and web app.

Privacy policy: "This portal does not use cookies ... No analytics tools are
used." and "Data transmitted through the Smart Portal is protected by SSL."
Hence HTTPS only with a TLS floor (also for the SCM site), no ARR affinity
cookie, App Service Authentication explicitly off (its session cookie), no
Application Insights (no browser instrumentation), no FTP and no basic
publishing credentials. Outbound traffic is routed through the VNet so the
private database and Key Vault are reached privately.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, web

from infra import well_known
from infra.config import PortalSettings
from infra.naming import Naming


@dataclass(frozen=True)
class PortalArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    settings: PortalSettings
    subscription_id: pulumi.Input[str]
    portal_subnet_id: pulumi.Input[str]
    allowed_ip: str
    app_settings: dict[str, pulumi.Input[str]]
    key_vault_id: pulumi.Input[str]
    naming: Naming
    tags: dict[str, str]


class Portal(pulumi.ComponentResource):
    """App Service plan, web app, publishing-credential policies and auth settings."""

    def __init__(self, name: str, args: PortalArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("smartportal:web:Portal", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings

        self.plan = web.AppServicePlan(
            f"{name}-plan",
            name=args.naming.name("asp"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="linux",
            reserved=True,
            sku={"name": settings.sku, "capacity": settings.capacity},
            zone_redundant=settings.zone_redundant,
            tags=args.tags,
            opts=child,
        )

        self.app = web.WebApp(
            f"{name}-app",
            name=args.naming.name("app"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="app,linux",
            server_farm_id=self.plan.id,
            https_only=True,
            client_affinity_enabled=False,
            client_cert_enabled=False,
            identity={"type": "SystemAssigned"},
            key_vault_reference_identity="SystemAssigned",
            virtual_network_subnet_id=args.portal_subnet_id,
            outbound_vnet_routing={"all_traffic": True},
            public_network_access="Enabled",
            site_config={
                "linux_fx_version": settings.runtime,
                "always_on": True,
                "http20_enabled": True,
                "min_tls_version": settings.min_tls_version,
                "scm_min_tls_version": settings.min_tls_version,
                "ftps_state": "Disabled",
                "remote_debugging_enabled": False,
                "vnet_route_all_enabled": True,
                # Kudu/SCM is a developer door: only the allowed IP may knock.
                "scm_ip_security_restrictions_use_main": False,
                "scm_ip_security_restrictions_default_action": "Deny",
                "scm_ip_security_restrictions": [
                    {
                        "name": "allowed-ip",
                        "ip_address": f"{args.allowed_ip}/32",
                        "action": "Allow",
                        "priority": 100,
                        "description": "The one developer address named in the privacy policy.",
                    }
                ],
                "app_settings": [{"name": k, "value": v} for k, v in sorted(args.app_settings.items())],
            },
            tags=args.tags,
            opts=child,
        )

        for policy_cls, label in ((web.WebAppFtpAllowed, "ftp"), (web.WebAppScmAllowed, "scm")):
            policy_cls(
                f"{name}-{label}-basic-auth",
                name=self.app.name,
                resource_group_name=args.resource_group_name,
                allow=False,
                opts=child,
            )

        # Declared (not merely omitted) so that `pulumi up` switches it back off:
        # Easy Auth would set its AppServiceAuthSession cookie.
        web.WebAppAuthSettingsV2(
            f"{name}-auth-settings",
            name=self.app.name,
            resource_group_name=args.resource_group_name,
            platform={"enabled": False},
            global_validation={"require_authentication": False},
            opts=child,
        )

        authorization.RoleAssignment(
            f"{name}-kv-secrets-user",
            role_assignment_name=args.naming.guid(f"{name}-kv-secrets-user"),
            scope=args.key_vault_id,
            principal_id=self.app.identity.apply(lambda i: i.principal_id if i else ""),
            principal_type="ServicePrincipal",
            role_definition_id=pulumi.Output.concat(
                "/subscriptions/",
                args.subscription_id,
                "/providers/Microsoft.Authorization/roleDefinitions/",
                # Read secret values, nothing else.
                well_known.role_id("Key Vault Secrets User"),
            ),
            description="The portal resolves its Key Vault references with its managed identity.",
            opts=child,
        )

        self.default_host_name = self.app.default_host_name
        self.register_outputs({"appId": self.app.id, "defaultHostName": self.default_host_name})
