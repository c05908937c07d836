"""Point-to-site VPN: Conditional Access blocks the VPN client everywhere except the allowed IP.

This is what makes "a single IP address" true for point-to-site: the tunnel can
only be opened from the one named location. Not applicable without an
Entra-authenticated point-to-site gateway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.checks.network_helpers import entra_gateways, single_address
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import Inventory, Resource


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def single_ip_locations(inventory: Inventory) -> dict[str, Resource]:
    found = {}
    for location in inventory.of_type("Microsoft.Graph/namedLocations"):
        ranges = [r.get("cidraddress") for r in location.get("ipRanges") or [] if isinstance(r, dict)]
        if len(ranges) == 1 and isinstance(ranges[0], str) and single_address(ranges[0]):
            found[str(location.get("id")).lower()] = location
    return found


class VpnAllowedIpOnly(Check):
    meta = CheckMeta(
        id="entra_ca_vpn_allowed_ip_only",
        title="VPN sign-in is blocked everywhere except the single allowed IP",
        severity=Severity.HIGH,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale="Point-to-site clients get pool addresses; only a location condition ties the tunnel to one public IP.",
        remediation=(
            "Create a named location with the allowed IP (/32) and an enabled Conditional Access policy that blocks"
            " the Azure VPN app for the developers from all locations except that one."
        ),
        references=("https://learn.microsoft.com/entra/identity/conditional-access/concept-assignment-network",),
    )

    READS = (
        Read("Microsoft.Graph/namedLocations", "ipRanges[*].cidrAddress"),
        *domains.ca_policy_reads(
            "state",
            "conditions.locations.includeLocations",
            "conditions.locations.excludeLocations",
            "conditions.applications.includeApplications",
            "grantControls.builtInControls",
        ),
        *domains.ENTRA_GATEWAY_READS,
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        gateways, errors = entra_gateways(self, inventory)
        yield from errors
        if not gateways:
            yield self.finding(None, Verdict.NOT_APPLICABLE, "No Entra-authenticated point-to-site gateway.")
            return
        locations = single_ip_locations(inventory)
        policies = inventory.of_type("Microsoft.Graph/conditionalAccessPolicies")
        # Conditional Access is tenant-wide: decide per policy once, then per gateway by its audience.
        by_app: dict[str, list[Resource]] = {}
        for policy in policies:
            excluded = {loc.lower() for loc in _list(policy.get("conditions.locations.excludeLocations"))}
            if (
                str(policy.get("state")).lower() == "enabled"
                and "block" in {c.lower() for c in _list(policy.get("grantControls.builtInControls"))}
                and "all" in {loc.lower() for loc in _list(policy.get("conditions.locations.includeLocations"))}
                and excluded
                and excluded <= set(locations)
            ):
                for app in {a.lower() for a in _list(policy.get("conditions.applications.includeApplications"))}:
                    by_app.setdefault(app, []).append(policy)
        for gateway in gateways:
            audience = str(gateway.get("properties.vpnClientConfiguration.aadAudience")).lower()
            good = by_app.get(audience, []) + by_app.get("all", [])
            expected = f"an enabled policy blocking app {audience} outside one single-IP named location"
            if good:
                policy = good[0]
                ips = sorted(
                    str(r.get("cidraddress"))
                    for loc in _list(policy.get("conditions.locations.excludeLocations"))
                    for r in locations[loc.lower()].get("ipRanges") or []
                )
                yield self.finding(
                    gateway,
                    Verdict.PASS,
                    f"VPN sign-in only from {', '.join(ips)} ({policy.name}).",
                    Evidence("conditionalAccessPolicies", policy.name, expected),
                )
            else:
                yield self.finding(
                    gateway,
                    Verdict.FAIL,
                    "No enabled policy restricts VPN sign-in to one allowed IP.",
                    Evidence("conditionalAccessPolicies", [], expected),
                )


CHECK = VpnAllowedIpOnly()
