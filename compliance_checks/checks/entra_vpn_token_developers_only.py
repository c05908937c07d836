"""Only developers can obtain a token for the point-to-site VPN's Entra audience; everyone else is blocked.

An Entra-authenticated P2S gateway lets in whoever holds a token for its
audience app. Entra ID issues that token to *every* user of the tenant unless
the app's service principal requires assignment ("Assignment required?",
learn.microsoft.com/entra/identity/enterprise-apps/application-properties);
then to the users assigned directly and the members of assigned groups
(Graph appRoleAssignment: "If an app role is assigned to a group, direct
members of the group are also considered to have been assigned").

Who is a developer: a member of the developers' group -- with assignment
required, the one group assigned to the app; without it, a group of the
inventory (the groups the tenant's policies and role assignments name) such
that everyone outside it is blocked. A user assigned directly is not a
developer: the assignment outlives their membership of the team.

Each class of users who can get a token is judged by the Conditional Access
evaluator (compliance_checks/evaluate/conditional_access.py) over every sign-in
to the VPN app the policies tell apart. The check PASSes only if every class is
either the developers' group, whose every sign-in requires MFA (or is blocked),
or blocked by an enabled policy in every cell. Anything the inventory cannot
tell is ERROR; a known open path is a FAIL. The evidence names the open paths
and lists the cells that are not blocked (or without MFA) as table rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import SHOWN_ITEMS, Check, CheckMeta, Params, bounded, listed
from compliance_checks.checks.ca_model import open_membership_model
from compliance_checks.checks.entra_ca_mfa_for_developers import MFA_OR_BLOCK
from compliance_checks.checks.entra_ca_vpn_allowed_ip_only import BLOCKED
from compliance_checks.checks.network_helpers import entra_gateways
from compliance_checks.evaluate import conditional_access as ca
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import UNKNOWN, Inventory, Resource, SecretValue

SHOWN_CELLS = 20  # table rows per evidence (the count of the rest is always given)
ANY_USER = "any user of the tenant"


def _known(value: Any) -> bool:
    return value is not UNKNOWN and not isinstance(value, SecretValue)


def _label(sp: Resource) -> str:
    name = sp.get("displayName")
    return (
        f"service principal {name!r}"
        if isinstance(name, str) and name
        else f"the service principal of app {sp.get('appId')}"
    )


@dataclass
class Reach:
    """Who can get a token for the VPN app: everyone (and why), or the assigned groups and users."""

    everyone: str = ""  # why everyone can
    groups: set[str] = field(default_factory=set)
    users: dict[str, str] = field(default_factory=dict)  # user ID -> principal type as Graph wrote it
    unknown: list[str] = field(default_factory=list)
    principals: list[str] = field(default_factory=list)  # labels of the principals requiring assignment


def token_holders(inventory: Inventory, audience: str) -> Reach:
    """Everyone unless a service principal of the app requires assignment; then its assigned principals."""
    reach = Reach()
    matching = []
    for sp in inventory.of_type("Microsoft.Graph/servicePrincipals"):
        app_id = sp.get("appId")
        if not _known(app_id) or not isinstance(app_id, str):
            reach.unknown.append(f"{sp.name}: whose service principal it is (appId) is unknown")
        elif app_id.lower() == audience:
            matching.append(sp)
    if not matching and not reach.unknown:
        reach.everyone = (
            f"no service principal for audience {audience} requires assignment: Entra issues a token to any user"
            " of the tenant"
        )
        return reach
    groups = {str(g.get("id")).lower() for g in inventory.of_type("Microsoft.Graph/groups")}
    assignments = inventory.of_type("Microsoft.Graph/appRoleAssignments")
    for sp in matching:
        required = sp.get("appRoleAssignmentRequired")
        if not _known(required):
            reach.unknown.append(f"{sp.name}: whether it requires assignment is unknown")
            continue
        if required is not True:
            reach.everyone = (
                f"{_label(sp)} has appRoleAssignmentRequired={required!r}: Entra issues a token to any user of"
                " the tenant"
            )
            continue
        reach.principals.append(_label(sp))
        sp_id = str(sp.get("id")).lower()
        for assignment in assignments:
            resource, principal = assignment.get("resourceId"), assignment.get("principalId")
            if not _known(resource) or not _known(principal) or not isinstance(principal, str):
                reach.unknown.append(f"{assignment.name}: its resource or principal is unknown")
                continue
            if str(resource).lower() != sp_id:
                continue
            kind, who = assignment.get("principalType"), principal.lower()
            if isinstance(kind, str) and kind.lower() == "serviceprincipal":
                continue  # an app's own token, not a user's sign-in
            if (isinstance(kind, str) and kind.lower() == "group") or (not isinstance(kind, str) and who in groups):
                reach.groups.add(who)
            elif isinstance(kind, str) and kind:
                reach.users[who] = kind
            else:
                reach.unknown.append(f"{assignment.name}: the type of principal {who} is unknown")
    return reach


@dataclass
class Judged:
    """One class of sign-ins against one set of good outcomes: its cells that are not good, or cannot be told."""

    bad: list[dict[str, str]] = field(default_factory=list)
    unknown: list[dict[str, str]] = field(default_factory=list)
    by: set[str] = field(default_factory=set)

    @property
    def status(self) -> str:
        return "open" if self.bad else ("unknown" if self.unknown else "good")


def judge_cells(model: ca.Model, question: ca.Cell, good: frozenset[ca.Outcome], who: str, failing: str) -> Judged:
    judged = Judged()
    for result in model.cells(question, good):
        sign_in = model.describe(result.cell, question)
        if result.status == ca.Status.BAD:
            judged.bad.append({"who": who, "sign-in": sign_in, "outcome": failing})
        elif result.status == ca.Status.UNKNOWN:
            judged.unknown.append(
                {"who": who, "sign-in": sign_in, "outcome": "cannot tell: " + "; ".join(result.notes)}
            )
        else:
            judged.by.update(result.notes)
    return judged


def outside(model: ca.Model, app: str, group: str) -> ca.Cell:
    """The sign-ins to ``app`` of every user who is not a member of ``group`` (membership is a dimension of the
    model: see ``model_of``)."""
    inside = ca.query(model, app=app, group=group)
    return {"app": inside["app"], "group:" + group.lower(): frozenset({False})}


def model_of(inventory: Inventory, audience: str, users: Iterable[str]) -> ca.Model:
    """The tenant's policies for sign-ins to ``audience``, every group's membership open (checks/ca_model.py)."""
    return open_membership_model(inventory, [audience], users)


@dataclass
class Outcome:
    open_paths: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)  # cells not blocked / without MFA
    unknown_rows: list[dict[str, str]] = field(default_factory=list)
    closed_by: str = ""


def _developers_mfa(model: ca.Model, audience: str, group: str) -> Judged:
    question = ca.query(model, app=audience, group=group)
    return judge_cells(model, question, MFA_OR_BLOCK, f"member of group {group} (developer)", "no MFA")


def _everyone(model: ca.Model, audience: str, reach: Reach, candidates: list[str], out: Outcome) -> None:
    """Everyone gets a token: PASS only if, for some group, everyone outside it is blocked and it passes MFA."""
    tried: list[tuple[str, Judged, Judged]] = []
    for group in candidates:
        others = judge_cells(model, outside(model, audience, group), BLOCKED, f"not a member of group {group}",
                             "not blocked")  # fmt: skip
        mfa = _developers_mfa(model, audience, group) if others.status != "open" else Judged()
        if others.status == "good" and mfa.status == "good":
            out.closed_by = (
                f"everyone outside group {group} is blocked from the VPN app ({', '.join(sorted(others.by))}) and"
                f" the group's members pass MFA ({', '.join(sorted(mfa.by)) or 'blocked'})"
            )
            return
        tried.append((group, others, mfa))
    if not tried:
        anyone = judge_cells(model, ca.query(model, app=audience), BLOCKED, ANY_USER, "not blocked")
        if anyone.status == "good":
            out.closed_by = f"every sign-in to the VPN app is blocked ({', '.join(sorted(anyone.by))})"
            return
        tried.append(("", anyone, Judged()))
    # The candidate that comes closest decides what the evidence shows: blocked outside it, then fewest open cells.
    group, others, mfa = min(tried, key=lambda t: (t[1].status == "open", len(t[1].bad), len(t[2].bad)))
    if others.status == "open":
        out.open_paths.append(reach.everyone)
        out.rows += others.bad
    elif mfa.status == "open":
        out.open_paths.append(f"everyone else is blocked, but group {group} is not under enforced MFA for the VPN app")
        out.rows += mfa.bad
    else:
        out.unknown.append(f"whether everyone outside group {group} is blocked, and the group passes MFA, is unknown")
    out.unknown_rows += others.unknown + mfa.unknown


def _assigned(model: ca.Model, audience: str, reach: Reach, out: Outcome) -> None:
    for user, kind in sorted(reach.users.items()):
        judged = judge_cells(model, ca.query(model, app=audience, user=user), BLOCKED, f"{kind} {user}", "not blocked")
        if judged.status == "open":
            out.open_paths.append(f"{kind} {user} is assigned to the VPN app directly, outside the group")
            out.rows += judged.bad
        elif judged.status == "unknown":
            out.unknown.append(f"whether {kind} {user}, assigned directly, is blocked is unknown")
            out.unknown_rows += judged.unknown
    groups = {
        g: judge_cells(model, ca.query(model, app=audience, group=g), BLOCKED, f"member of group {g}", "not blocked")
        for g in sorted(reach.groups)
    }
    unblocked = [g for g, judged in groups.items() if judged.status != "good"]
    opened = [g for g in unblocked if groups[g].status == "open"]
    if len(opened) > 1:
        out.open_paths.append(f"{len(opened)} groups are assigned to the VPN app ({listed(opened)})")
        out.rows += [row for g in opened for row in groups[g].bad]
        return
    if len(unblocked) > 1:
        out.unknown.append(f"whether all but one of the assigned groups {listed(unblocked)} are blocked is unknown")
        out.unknown_rows += [row for g in unblocked for row in groups[g].unknown]
        return
    developers = unblocked[0] if unblocked else ""
    if developers:
        mfa = _developers_mfa(model, audience, developers)
        if mfa.status == "open":
            out.open_paths.append(f"assigned group {developers} is not under an enforced MFA policy for the VPN app")
            out.rows += mfa.bad
        elif mfa.status == "unknown":
            out.unknown.append(f"whether assigned group {developers} passes MFA on every sign-in is unknown")
            out.unknown_rows += mfa.unknown
    blocked = [g for g in groups if g != developers]
    out.closed_by = (
        f"assignment required on {listed(reach.principals)}; assigned: "
        + (f"group {developers} (with enforced MFA)" if developers else "nobody who is not blocked")
        + (f"; blocked: {listed([f'group {g}' for g in blocked])}" if blocked else "")
    )


def _shown(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    if len(rows) <= SHOWN_CELLS:
        return rows
    more = {key: "" for key in rows[0]} | {"outcome": f"... and {len(rows) - SHOWN_CELLS} more cells"}
    return [*rows[:SHOWN_CELLS], more]


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
        *domains.CA_EVALUATOR_READS,  # no group member lists: membership is left open (ca_model.py)
        *domains.ENTRA_GATEWAY_READS,
        *domains.vpn_reach_reads(),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        gateways, errors = entra_gateways(self, inventory)
        yield from errors
        if not gateways:
            yield self.finding(None, Verdict.NOT_APPLICABLE, "No Entra-authenticated point-to-site gateway.")
            return
        judged: dict[str, tuple[Reach, Outcome]] = {}  # tenant-wide: once per audience
        for gateway in gateways:
            audience = gateway.get("properties.vpnClientConfiguration.aadAudience")
            if not isinstance(audience, str) or not audience.strip():
                yield self.finding(
                    gateway,
                    Verdict.ERROR,
                    "Cannot verify: the gateway's Entra audience is unknown.",
                    Evidence("properties.vpnClientConfiguration.aadAudience", audience, "an application ID"),
                )
                continue
            key = audience.strip().lower()
            if key not in judged:
                judged[key] = self._paths(inventory, key)
            yield self._finding(gateway, key, *judged[key])

    @staticmethod
    def _paths(inventory: Inventory, audience: str) -> tuple[Reach, Outcome]:
        reach = token_holders(inventory, audience)
        out = Outcome(unknown=list(reach.unknown))
        model = model_of(inventory, audience, reach.users)
        if reach.everyone:
            candidates = sorted(str(g.get("id")).lower() for g in inventory.of_type("Microsoft.Graph/groups"))
            _everyone(model, audience, reach, candidates, out)
        else:
            _assigned(model, audience, reach, out)
        return reach, out

    def _finding(self, gateway: Resource, audience: str, reach: Reach, out: Outcome) -> Finding:
        expected = "every user who can get a token is a developer under enforced MFA, or blocked in every sign-in"
        evidence = [
            Evidence("properties.vpnClientConfiguration.aadAudience", audience, "the VPN's own audience app"),
            Evidence("openPaths", bounded(out.open_paths), expected),
            Evidence("cellsOpen", _shown(out.rows), "none: not a developer means blocked; a developer passes MFA"),
            Evidence("cellsUnknown", _shown(out.unknown_rows), "none"),
        ]
        if out.open_paths:
            return self.finding(
                gateway,
                Verdict.FAIL,
                "Users outside the developers' group can get a VPN token: "
                + "; ".join(out.open_paths[:SHOWN_ITEMS])
                + ".",
                *evidence,
            )
        if out.unknown or not out.closed_by:
            return self.finding(
                gateway,
                Verdict.ERROR,
                "Cannot verify who can get a VPN token: "
                + "; ".join(out.unknown[:SHOWN_ITEMS] or ["no path was judged"])
                + ".",
                *evidence,
            )
        return self.finding(gateway, Verdict.PASS, f"Only developers can get a VPN token: {out.closed_by}.", *evidence)


CHECK = VpnTokenDevelopersOnly()
