"""The developers' group must pass MFA, enforced (not report-only), for Azure management and the VPN."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import Inventory, Resource
from infra import well_known


def _lower(value: Any) -> set[str]:
    return {str(v).lower() for v in value} if isinstance(value, list) else set()


def requires_mfa(policy: Resource) -> bool:
    return "mfa" in _lower(policy.get("grantControls.builtInControls")) or bool(
        policy.get("grantControls.authenticationStrength")
    )


def covers_group(policy: Resource, group_id: str) -> bool:
    users = policy.get("conditions.users")
    if not isinstance(users, dict):
        return False
    included = group_id in _lower(users.get("includegroups")) or "all" in _lower(users.get("includeusers"))
    excluded = group_id in _lower(users.get("excludegroups"))
    return included and not excluded


class MfaForDevelopers(Check):
    meta = CheckMeta(
        id="entra_ca_mfa_for_developers",
        title="Conditional Access enforces MFA for the developers on Azure management and the VPN",
        severity=Severity.CRITICAL,
        claims=("SEC-DEV-MFA",),
        rationale=(
            "The policy promises access only through two-step authorisation. A report-only policy, or one that"
            " misses the VPN client or Azure management, leaves a door without MFA."
        ),
        remediation="Enable a Conditional Access policy granting 'mfa' for the developers' group on both apps.",
        references=(
            "https://learn.microsoft.com/entra/identity/conditional-access/howto-conditional-access-policy-azure-management",
        ),
    )

    READS = domains.MFA_PREDICATE_READS

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        groups = inventory.of_type("Microsoft.Graph/groups")
        if not groups:
            yield self.error_nothing_found("no Entra group (the developers' group) in the inventory")
            return
        required = {well_known.app_id("Windows Azure Service Management API")}
        for gateway in inventory.of_type("Microsoft.Network/virtualNetworkGateways"):
            audience = gateway.get("properties.vpnClientConfiguration.aadAudience")
            if isinstance(audience, str) and audience:
                required.add(audience.lower())
        all_policies = inventory.of_type("Microsoft.Graph/conditionalAccessPolicies")
        group_map = {str(g.get("id")).lower(): g for g in groups}
        mfa_policies = [p for p in all_policies if requires_mfa(p)]
        by_group: dict[str, list[Resource]] = {}
        everyone = []
        for policy in mfa_policies:
            if "all" in _lower(policy.get("conditions.users.includeUsers")):
                everyone.append(policy)
            for member in _lower(policy.get("conditions.users.includeGroups")):
                by_group.setdefault(member, []).append(policy)
        from compliance_checks.checks.entra_vpn_token_developers_only import Memo

        memo: Memo = {}
        for group in groups:
            group_id = str(group.get("id")).lower()
            candidates = by_group.get(group_id, []) + everyone
            relevant = [p for p in candidates if covers_group(p, group_id)]
            enforced = [p for p in relevant if str(p.get("state")).lower() == "enabled"]
            covered: set[str] = set()
            for policy in enforced:
                covered |= _lower(policy.get("conditions.applications.includeApplications"))
            missing = set() if "all" in covered else required - covered
            # Named is not enforced: an excluded app, a narrowing condition, an alternative grant or an exempt
            # member leaves sign-ins without MFA. One predicate with the VPN token check.
            from compliance_checks.checks.entra_vpn_token_developers_only import Unknowable, enforced_mfa_groups

            try:
                missing |= {
                    app
                    for app in required - missing
                    # Only the policies that cover the group can enforce MFA on it (the rest are skipped there too).
                    if group_id not in enforced_mfa_groups(relevant, app, {group_id}, group_map, memo)
                }
            except Unknowable as exc:
                yield self.finding(group, Verdict.ERROR, f"Cannot verify MFA for the group: {exc}.")
                continue
            evidence = Evidence(
                "conditionalAccessPolicies",
                [f"{p.name} ({p.get('state')})" for p in relevant],
                "state enabled, grant mfa, apps " + ", ".join(sorted(required)),
            )
            if not enforced:
                states = ", ".join(str(p.get("state")) for p in relevant) or "none"
                yield self.finding(
                    group, Verdict.FAIL, f"No enforced MFA policy covers the group (policies: {states}).", evidence
                )
            elif missing:
                yield self.finding(
                    group, Verdict.FAIL, f"MFA is not enforced for app(s) {', '.join(sorted(missing))}.", evidence
                )
            else:
                yield self.finding(
                    group, Verdict.PASS, f"MFA enforced by {', '.join(p.name for p in enforced)}.", evidence
                )


CHECK = MfaForDevelopers()
