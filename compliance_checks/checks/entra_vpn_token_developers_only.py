"""Only the developers' group can obtain a token for the point-to-site VPN's Entra audience.

An Entra-authenticated P2S gateway lets in whoever holds a token for its
audience app. By default Entra ID issues that token to *every* user of the
tenant; Conditional Access that covers only the developers then restricts no
one else. The promise "only the development team, with two-step sign-in" holds
for the VPN only if one of these closes every other path:

* **assignment required** on the audience's service principal, with the
  developers' group the only principal assigned (Microsoft's documented way:
  learn.microsoft.com/azure/vpn-gateway/point-to-site-entra-users-access), and
  that group under an enforced MFA policy for the audience; or
* an enabled Conditional Access policy that **blocks** the audience app for all
  users except the developers' group, with no other exclusion and no condition
  that narrows where the block applies.

Anything the inventory cannot tell (an unknown audience, assignment flag,
principal or policy field) is ERROR; no service principal for the audience means
Entra's default applies, which is "not required", so the path is open (FAIL).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.checks.entra_ca_mfa_for_developers import covers_group
from compliance_checks.checks.network_helpers import entra_gateways
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue

# Conditions that, when set, narrow where a blocking policy applies (Graph conditionalAccessConditionSet).
NARROWING_CONDITIONS = domains.NARROWING_CONDITIONS
USER_EXCLUSIONS = ("excludeUsers", "excludeRoles", "excludeGuestsOrExternalUsers")


class Unknowable(Exception):
    """A value that decides the verdict is unknown: the answer is ERROR."""


def _known(value: Any, what: str) -> Any:
    if value is UNKNOWN or isinstance(value, SecretValue):
        raise Unknowable(f"{what} is unknown")
    return value


def _ids(value: Any, what: str) -> set[str]:
    value = _known(value, what)
    if value is None or value is MISSING:
        return set()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unknowable(f"{what} is not a list of IDs ({value!r})")
    return {v.lower() for v in value}


def _empty(value: Any) -> bool:
    """Absent, null or empty (Graph writes an unused condition as null or an empty list)."""
    if value is MISSING or value is None:
        return True
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return value in ([], "")


@dataclass
class Paths:
    """What the audit found for one audience: the closed path (if any) and every open one."""

    closed_by: str = ""
    open_paths: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _strict_mfa(policy: Resource) -> bool:
    """The grant demands MFA of everyone it applies to (not MFA *or* some other control)."""
    controls = _ids(policy.get("grantControls.builtInControls"), f"policy {policy.name}: grant controls")
    strength = _known(policy.get("grantControls.authenticationStrength"), f"policy {policy.name}: strength")
    operator = str(_known(policy.get("grantControls.operator"), f"policy {policy.name}: operator") or "").lower()
    demands = "mfa" in controls or not _empty(strength)
    alternatives = len(controls | ({"strength"} if not _empty(strength) else set())) > 1
    return demands and (operator == "and" or not alternatives)


def _members(groups: dict[str, Resource], group: str) -> set[str] | None:
    """Member IDs of a group, or None when the inventory does not know them."""
    resource = groups.get(group)
    members = resource.get("members") if resource is not None else MISSING
    if not isinstance(members, list):
        return None
    return {str(m.get("id")).lower() for m in members if isinstance(m, dict)}


def _mfa_exemptions(policy: Resource, audience: str) -> set[str] | None:
    """The users ``policy`` exempts when it makes every sign-in to ``audience`` pass MFA; None when it does not."""
    what = f"policy {policy.name}"
    if str(_known(policy.get("state"), f"{what}: state")).lower() != "enabled" or not _strict_mfa(policy):
        return None
    apps = _ids(policy.get("conditions.applications.includeApplications"), f"{what}: applications")
    excluded_apps = _ids(policy.get("conditions.applications.excludeApplications"), f"{what}: excluded apps")
    if not apps & {audience, "all"} or audience in excluded_apps:
        return None
    if any(not _empty(_known(policy.get(f"conditions.{c}"), c)) for c in NARROWING_CONDITIONS):
        return None
    client_apps = _ids(policy.get("conditions.clientAppTypes"), f"{what}: client app types")
    if client_apps and client_apps != {"all"}:
        return None
    if any(
        not _empty(_known(policy.get(f"conditions.users.{k}"), k))
        for k in ("excludeRoles", "excludeGuestsOrExternalUsers")
    ):
        return None
    return _ids(policy.get("conditions.users.excludeUsers"), f"{what}: excluded users")


Memo = dict[tuple[str, str], tuple[object, Any]]


def _covering(policies: list[Resource], candidates: set[str], memo: Memo | None) -> list[Resource]:
    """The policies that may cover one of ``candidates`` (a superset of what ``covers_group`` accepts),
    from an index by included group built once per list of policies."""
    key = ("", f"covering:{id(policies)}")
    cached = memo.get(key) if memo is not None else None
    if cached is not None and cached[0] is policies:
        index: dict[str, list[int]] = cached[1]
    else:
        index = {}
        for position, policy in enumerate(policies):
            users = policy.get("conditions.users")
            if not isinstance(users, dict):
                continue
            targets = {str(g).lower() for g in users.get("includegroups") or [] if isinstance(g, str)}
            if any(isinstance(u, str) and u.lower() == "all" for u in users.get("includeusers") or []):
                targets.add("*")
            for target in targets:
                index.setdefault(target, []).append(position)
        if memo is not None:
            memo[key] = (policies, index)
    positions = sorted({p for group in (*candidates, "*") for p in index.get(group, [])})
    return [policies[p] for p in positions]


def enforced_mfa_groups(
    policies: list[Resource],
    audience: str,
    candidates: set[str],
    groups: dict[str, Resource],
    memo: Memo | None = None,
) -> set[str]:
    """Of ``candidates``, the groups whose every member an enabled policy makes pass MFA on every sign-in to
    ``audience``: the app not excluded, no condition that narrows where it applies, no member exempted.

    ``memo`` keeps what each policy means for an audience across calls of one run (a tenant's policies
    are judged once per audience, not once per assignment and gateway).
    """
    covered: set[str] = set()
    for policy in _covering(policies, candidates, memo):
        key = (policy.id_key, audience)
        cached = memo.get(key) if memo is not None else None
        if cached is not None and cached[0] is policy:
            excluded_users = cached[1]
        else:
            excluded_users = _mfa_exemptions(policy, audience)
            if memo is not None:
                memo[key] = (policy, excluded_users)
        if excluded_users is None:
            continue
        what = f"policy {policy.name}"
        for group in candidates:
            if not covers_group(policy, group):
                continue
            if excluded_users:
                members = _members(groups, group)
                if members is None:
                    raise Unknowable(
                        f"{what} exempts users {sorted(excluded_users)}; whether they are members of"
                        f" group {group} is unknown"
                    )
                if members & excluded_users:
                    continue
            covered.add(group)
    return covered


def _label(sp: Resource) -> str:
    name = sp.get("displayName")
    return (
        f"service principal {name!r}"
        if isinstance(name, str) and name
        else f"the service principal of app {sp.get('appId')}"
    )


def _assigned_to(assignments: list[Resource], memo: Memo | None) -> dict[str, list[Resource]]:
    """Assignments by the service principal they assign to (built once per run)."""
    key = ("", f"assigned-to:{id(assignments)}")
    cached = memo.get(key) if memo is not None else None
    if cached is not None and cached[0] is assignments:
        found: dict[str, list[Resource]] = cached[1]
        return found
    index: dict[str, list[Resource]] = {}
    for assignment in assignments:
        target = str(_known(assignment.get("resourceId"), f"{assignment.name}: resourceId")).lower()
        index.setdefault(target, []).append(assignment)
    if memo is not None:
        memo[key] = (assignments, index)
    return index


def _assignment_path(
    sp: Resource,
    *,
    assignments: list[Resource],
    policies: list[Resource],
    group_resources: dict[str, Resource],
    audience: str,
    paths: Paths,
    memo: Memo | None = None,
) -> None:
    required = _known(sp.get("appRoleAssignmentRequired"), f"{sp.name}: appRoleAssignmentRequired")
    if required is not True:
        paths.open_paths.append(
            f"{_label(sp)} has appRoleAssignmentRequired={required!r}: Entra issues a token to any user of the tenant"
        )
        return
    sp_id = str(_known(sp.get("id"), f"{sp.name}: id")).lower()
    mine = _assigned_to(assignments, memo).get(sp_id, [])
    groups: set[str] = set()
    for assignment in mine:
        principal = str(_known(assignment.get("principalId"), f"{assignment.name}: principalId")).lower()
        kind_value = assignment.get("principalType")
        if isinstance(kind_value, str) and kind_value:
            kind = kind_value
        elif principal in group_resources:
            kind = "Group"  # Entra computes principalType; before apply the principal is known as a group
        else:
            raise Unknowable(f"{assignment.name}: the type of principal {principal} is unknown")
        if kind.lower() != "group":
            paths.open_paths.append(f"{kind} {principal} is assigned to the VPN app directly, outside the group")
        else:
            groups.add(principal)
    if len(groups) > 1:
        paths.open_paths.append(f"{len(groups)} groups are assigned to the VPN app ({', '.join(sorted(groups))})")
    without_mfa = groups - enforced_mfa_groups(policies, audience, groups, group_resources, memo)
    for group in sorted(without_mfa):
        paths.open_paths.append(f"assigned group {group} is not under an enforced MFA policy for the VPN app")
    if not paths.open_paths:
        paths.closed_by = (
            f"assignment required on {_label(sp)}; assigned: "
            + (", ".join(f"group {g}" for g in sorted(groups)) or "nobody")
            + " (with enforced MFA)"
        )


def _block_path(
    policies: list[Resource],
    audience: str,
    group_resources: dict[str, Resource],
    paths: Paths,
    memo: Memo | None = None,
) -> None:
    for policy in policies:
        try:
            if str(_known(policy.get("state"), "state")).lower() != "enabled":
                continue
            if "block" not in _ids(policy.get("grantControls.builtInControls"), "grant controls"):
                continue
            if not _ids(policy.get("conditions.applications.includeApplications"), "applications") & {audience, "all"}:
                continue
            if audience in _ids(policy.get("conditions.applications.excludeApplications"), "excluded apps"):
                continue
            if "all" not in _ids(policy.get("conditions.users.includeUsers"), "included users"):
                continue
            narrowing = [c for c in NARROWING_CONDITIONS if not _empty(_known(policy.get(f"conditions.{c}"), c))]
            client_apps = _ids(policy.get("conditions.clientAppTypes"), "client app types")
            if client_apps and client_apps != {"all"}:
                narrowing.append("clientAppTypes")
            excluded_users = [k for k in USER_EXCLUSIONS if not _empty(_known(policy.get(f"conditions.users.{k}"), k))]
            excluded_groups = _ids(policy.get("conditions.users.excludeGroups"), "excluded groups")
            unprotected = excluded_groups - enforced_mfa_groups(
                policies, audience, excluded_groups, group_resources, memo
            )
        except Unknowable as exc:
            paths.unknown.append(f"policy {policy.name}: {exc}")
            continue
        problems = (
            [f"{c} narrows where it applies" for c in narrowing]
            + [f"it also exempts {k}" for k in excluded_users]
            + [f"exempted group {g} is not under enforced MFA for the app" for g in sorted(unprotected)]
            + (["it exempts more than one group"] if len(excluded_groups) > 1 else [])
        )
        if problems:
            paths.open_paths.append(f"blocking policy {policy.name} leaves a path: {'; '.join(problems)}")
        else:
            paths.closed_by = f"policy {policy.name} blocks the VPN app for everyone but {', '.join(excluded_groups)}"
            return


def _paths(
    audience: str,
    *,
    principals: list[Resource],
    assignments: list[Resource],
    policies: list[Resource],
    group_resources: dict[str, Resource],
    memo: Memo | None,
) -> Paths:
    """Every way a user can get a token for ``audience``, and what closes them."""
    paths = Paths()
    try:
        matching = [p for p in principals if str(_known(p.get("appId"), f"{p.name}: appId")).lower() == audience]
        if not matching:
            paths.open_paths.append(
                f"no service principal for audience {audience} requires assignment: Entra issues a token to any"
                " user of the tenant"
            )
        for sp in matching:
            _assignment_path(
                sp,
                assignments=assignments,
                policies=policies,
                group_resources=group_resources,
                audience=audience,
                paths=paths,
                memo=memo,
            )
    except Unknowable as exc:
        paths.unknown.append(str(exc))
    if not paths.closed_by:
        try:
            _block_path(policies, audience, group_resources, paths, memo)
        except Unknowable as exc:
            paths.unknown.append(str(exc))
    return paths


class VpnTokenDevelopersOnly(Check):
    meta = CheckMeta(
        id="entra_vpn_token_developers_only",
        title="Only the developers' group can obtain a token for the point-to-site VPN",
        severity=Severity.CRITICAL,
        claims=("SEC-DEV-MFA", "SEC-DB-SINGLE-IP-VPN"),
        rationale=(
            "Entra ID issues a token for the VPN's audience to every user of the tenant unless assignment is"
            " required or a policy blocks everyone else; Conditional Access on the developers alone then"
            " leaves every other user a tunnel into the client pool the database admits, without MFA."
        ),
        remediation=(
            "Use a custom audience app for the gateway, set 'Assignment required' on its service principal and"
            " assign only the developers' group (under enforced MFA); or block the app for all users but that group."
        ),
        references=(
            "https://learn.microsoft.com/azure/vpn-gateway/point-to-site-entra-users-access",
            "https://learn.microsoft.com/azure/vpn-gateway/point-to-site-entra-register-custom-app",
            "https://learn.microsoft.com/entra/identity/enterprise-apps/application-properties",
        ),
    )

    READS = (
        *domains.ENTRA_GATEWAY_READS,
        Read("Microsoft.Graph/servicePrincipals", "appId"),
        Read("Microsoft.Graph/servicePrincipals", "appRoleAssignmentRequired"),
        Read("Microsoft.Graph/appRoleAssignments", "principalId", domain=domains.TEXT, required=True),
        # Read-only in Graph: a desired state (Pulumi inputs) lacks it; the principal is then looked up.
        Read(
            "Microsoft.Graph/appRoleAssignments",
            "principalType",
            absent_ok=True,
            domain=domains.APP_ROLE_PRINCIPAL_TYPE,
        ),
        Read("Microsoft.Graph/appRoleAssignments", "resourceId", domain=domains.GUID, required=True),
        *domains.MFA_PREDICATE_READS,
        # Needed only when a policy exempts users (then a missing member list is ERROR in the check).
        Read("Microsoft.Graph/groups", "members", absent_ok=True, domain=domains.ListOf(domains.OBJECT)),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        gateways, errors = entra_gateways(self, inventory)
        yield from errors
        if not gateways:
            yield self.finding(None, Verdict.NOT_APPLICABLE, "No Entra-authenticated point-to-site gateway.")
            return
        principals = inventory.of_type("Microsoft.Graph/servicePrincipals")
        assignments = inventory.of_type("Microsoft.Graph/appRoleAssignments")
        policies = inventory.of_type("Microsoft.Graph/conditionalAccessPolicies")
        groups = {str(g.get("id")).lower(): g for g in inventory.of_type("Microsoft.Graph/groups")}
        memo: Memo = {}
        for gateway in gateways:
            yield self._judge(gateway, principals, assignments, policies, groups, memo=memo)

    def _judge(
        self,
        gateway: Resource,
        principals: list[Resource],
        assignments: list[Resource],
        policies: list[Resource],
        group_resources: dict[str, Resource],
        *,
        memo: Memo | None = None,
    ) -> Finding:
        audience_value = gateway.get("properties.vpnClientConfiguration.aadAudience")
        expected = "assignment required with only the developers' group assigned, or a block for everyone else"
        if not isinstance(audience_value, str) or not audience_value:
            return self.finding(
                gateway,
                Verdict.ERROR,
                "Cannot verify: the gateway's Entra audience is unknown.",
                Evidence("properties.vpnClientConfiguration.aadAudience", audience_value, "an application ID"),
            )
        audience = audience_value.lower()
        # Tenant-wide: every gateway with this audience has the same paths (worked out once per run).
        key = ("", "paths:" + audience)
        cached = memo.get(key) if memo is not None else None
        if cached is not None and isinstance(cached[1], Paths):
            paths = cached[1]
        else:
            paths = _paths(
                audience,
                principals=principals,
                assignments=assignments,
                policies=policies,
                group_resources=group_resources,
                memo=memo,
            )
            if memo is not None:
                memo[key] = (gateway, paths)
        evidence = [
            Evidence("properties.vpnClientConfiguration.aadAudience", audience, "the VPN's own audience app"),
            Evidence("openPaths", paths.open_paths, expected),
        ]
        if paths.closed_by:
            return self.finding(
                gateway, Verdict.PASS, f"Only developers can get a VPN token: {paths.closed_by}.", *evidence
            )
        if paths.unknown:
            return self.finding(
                gateway,
                Verdict.ERROR,
                "Cannot verify who can get a VPN token: " + "; ".join(paths.unknown) + ".",
                *evidence,
                Evidence("unknown", paths.unknown, "known"),
            )
        return self.finding(
            gateway,
            Verdict.FAIL,
            "Users outside the developers' group can get a VPN token: " + "; ".join(paths.open_paths) + ".",
            *evidence,
        )


CHECK = VpnTokenDevelopersOnly()
