"""The control-plane operations whose every change must raise an alert (one list, no Pulumi import).

The monitoring component builds the Activity Log alert from it, and the checks
(`activity_log_alert_network_changes`, `rbac_developers_least_privilege`) read it,
also inside the published policy pack, which does not install the Azure SDKs.
"""

from __future__ import annotations

# Operation names from Microsoft's resource provider operations reference
# (learn.microsoft.com/azure/role-based-access-control/permissions/networking, .../databases,
# .../web-and-mobile). The compliance check requires every one of them (one list).
WATCHED_OPERATIONS = (
    "Microsoft.Network/networkSecurityGroups/write",
    "Microsoft.Network/networkSecurityGroups/delete",
    "Microsoft.Network/networkSecurityGroups/securityRules/write",
    "Microsoft.Network/networkSecurityGroups/securityRules/delete",
    "Microsoft.Network/virtualNetworks/subnets/write",
    "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/write",
    "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/delete",
    "Microsoft.DBforPostgreSQL/flexibleServers/configurations/write",
    "Microsoft.Web/sites/config/write",
    "Microsoft.Web/sites/slots/config/write",
)
