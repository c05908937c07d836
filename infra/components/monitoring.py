"""Monitoring: Log Analytics, diagnostic settings and an alert on promise-bearing changes.

Logs hold visitors' IP addresses (personal data), so retention is capped at 90
days. Any change made outside Pulumi to a setting a promise rests on raises an
alert: NSGs and their rules, subnets, the database's firewall rules and server
parameters, the web app's configuration (TLS floor, client affinity, SCM access)
and that of any slot. The "single IP" and "TLS" promises are only as good as the
knowledge that nobody widened them. The alert watches the whole subscription in
the Administrative category, so a change is seen whichever resource group holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor, operationalinsights

from infra.naming import Naming
from infra.watched_operations import WATCHED_OPERATIONS

# The operations the alert watches live in infra/watched_operations.py (no Pulumi import there: the checks
# and the published policy pack read them without the SDKs).


@dataclass(frozen=True)
class MonitoringArgs:
    resource_group_name: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    location: str
    retention_days: int
    alert_email: str
    # Diagnostic targets: short label -> resource ID.
    targets: Mapping[str, pulumi.Input[str]]
    naming: Naming
    tags: dict[str, str]


class Monitoring(pulumi.ComponentResource):
    """Workspace, diagnostic settings per target, action group and activity-log alert."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("smartportal:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.workspace = operationalinsights.Workspace(
            f"{name}-log",
            workspace_name=args.naming.name("log"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": "PerGB2018"},
            retention_in_days=args.retention_days,
            tags=args.tags,
            opts=child,
        )

        self.diagnostics = {
            label: monitor.DiagnosticSetting(
                f"{name}-diag-{label}",
                name=f"diag-{label}",
                resource_uri=target,
                workspace_id=self.workspace.id,
                logs=[{"category_group": "allLogs", "enabled": True}],
                metrics=[{"category": "AllMetrics", "enabled": True}],
                opts=child,
            )
            for label, target in sorted(args.targets.items())
        }

        action_group = monitor.ActionGroup(
            f"{name}-ag",
            action_group_name=args.naming.name("ag"),
            resource_group_name=args.resource_group_name,
            location="global",
            group_short_name=args.naming.action_group_short(),
            enabled=True,
            email_receivers=[
                {"name": "operations", "email_address": args.alert_email, "use_common_alert_schema": True}
            ],
            tags=args.tags,
            opts=child,
        )
        self.alert = monitor.ActivityLogAlert(
            f"{name}-alert-firewall",
            activity_log_alert_name=args.naming.name("alert-firewall"),
            resource_group_name=args.resource_group_name,
            location="global",
            scopes=[pulumi.Output.concat("/subscriptions/", args.subscription_id)],
            enabled=True,
            description=(
                "A network security group, subnet, database firewall rule or parameter, or web app configuration"
                " was changed or deleted."
            ),
            condition={
                "all_of": [
                    {"field": "category", "equals": "Administrative"},
                    {"any_of": [{"field": "operationName", "equals": op} for op in WATCHED_OPERATIONS]},
                ]
            },
            actions={"action_groups": [{"action_group_id": action_group.id}]},
            tags=args.tags,
            opts=child,
        )

        self.register_outputs({"workspaceId": self.workspace.id})
