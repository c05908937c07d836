"""Point-to-site VPN: Conditional Access blocks the VPN app everywhere except the single allowed IP.

This is what makes "a single IP address" true for point-to-site: the tunnel can
only be opened from one address. Judged by the Conditional Access evaluator
(compliance_checks/evaluate/conditional_access.py) over every sign-in that can
reach the VPN's audience app -- every user of the tenant, unless the app's
service principal requires assignment, then every assigned user and member of an
assigned group -- on every platform, client app, risk and device: each sign-in
that is not blocked must come from one and the same single address. Not
applicable without an Entra-authenticated point-to-site gateway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params, bounded
from compliance_checks.checks.ca_model import open_membership_model
from compliance_checks.checks.network_helpers import entra_gateways
from compliance_checks.evaluate import conditional_access as ca
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import UNKNOWN, Inventory, Resource, SecretValue

BLOCKED = frozenset({ca.Outcome.BLOCK})
SHOWN_CELLS = 20


@dataclass
class Reach:
    """Who can get a token for the VPN app: everyone, or these groups and users."""

    everyone: bool = False
    groups: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)


def _known(value: object) -> bool:
    return value is not UNKNOWN and not isinstance(value, SecretValue)


def reachers(inventory: Inventory, audience: str) -> Reach:
    """Entra issues a token for an app to any user of the tenant unless its service principal requires assignment
    (learn.microsoft.com/entra/identity/enterprise-apps/application-properties, "Assignment required?")."""
    reach = Reach()
    principals = [
        sp
        for sp in inventory.of_type("Microsoft.Graph/servicePrincipals")
        if not _known(sp.get("appId")) or str(sp.get("appId")).lower() == audience
    ]
    if not principals:
        reach.everyone = True
        reach.why.append("no service principal for the app requires assignment")
        return reach
    groups = {str(g.get("id")).lower() for g in inventory.of_type("Microsoft.Graph/groups")}
    assignments = inventory.of_type("Microsoft.Graph/appRoleAssignments")
    for sp in principals:
        app_id, required = sp.get("appId"), sp.get("appRoleAssignmentRequired")
        if not _known(app_id) or not _known(required):
            reach.unknown.append(f"{sp.name}: whether it is the VPN app's and requires assignment is unknown")
            continue
        if required is not True:
            reach.everyone = True
            reach.why.append(f"{sp.name} has appRoleAssignmentRequired={required!r}")
            continue
        sp_id = str(sp.get("id")).lower()
        for assignment in assignments:
            resource, principal = assignment.get("resourceId"), assignment.get("principalId")
            if not _known(resource) or not _known(principal):
                reach.unknown.append(f"{assignment.name}: its resource or principal is unknown")
                continue
            if str(resource).lower() != sp_id:
                continue
            kind = assignment.get("principalType")
            who = str(principal).lower()
            if isinstance(kind, str) and kind.lower() == "serviceprincipal":
                continue  # an app, not a user sign-in
            if (isinstance(kind, str) and kind.lower() == "group") or (not isinstance(kind, str) and who in groups):
                reach.groups.add(who)
            elif isinstance(kind, str) and kind.lower() == "user":
                reach.users.add(who)
            else:
                reach.unknown.append(f"{assignment.name}: the type of principal {who} is unknown")
    return reach


class VpnAllowedIpOnly(Check):
    meta = CheckMeta(
        id="entra_ca_vpn_allowed_ip_only",
        title="VPN sign-in is blocked everywhere except the single allowed IP",
        severity=Severity.HIGH,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale="Point-to-site clients get pool addresses; only a location condition ties the tunnel to one public IP.",
        remediation=(
            "Create a named location with the allowed IP (/32) and an enabled Conditional Access policy that blocks"
            " the VPN app for everyone who can reach it, from all locations except that one."
        ),
        references=(
            "https://learn.microsoft.com/entra/identity/conditional-access/concept-assignment-network",
            "https://learn.microsoft.com/entra/identity/enterprise-apps/application-properties",
        ),
    )

    READS = (
        *domains.CA_EVALUATOR_READS,
        *domains.ENTRA_GATEWAY_READS,
        *domains.vpn_reach_reads(),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        gateways, errors = entra_gateways(self, inventory)
        yield from errors
        if not gateways:
            yield self.finding(None, Verdict.NOT_APPLICABLE, "No Entra-authenticated point-to-site gateway.")
            return
        # The answer depends on the gateway's Entra audience only (who can get a token for that app, and the
        # policies on it): judged once per audience, not once per gateway (a tenant's gateways share the VPN app).
        by_audience: dict[str, Finding] = {}
        for gateway in gateways:
            audience = gateway.get("properties.vpnClientConfiguration.aadAudience")
            key = audience.strip().lower() if isinstance(audience, str) and audience.strip() else ""
            if not key:
                yield self._judge(inventory, gateway)
                continue
            if key not in by_audience:
                by_audience[key] = self._judge(inventory, gateway)
            judged = by_audience[key]
            yield self.finding(gateway, judged.verdict, judged.message, *judged.evidence)

    def _judge(self, inventory: Inventory, gateway: Resource) -> Finding:
        audience_value = gateway.get("properties.vpnClientConfiguration.aadAudience")
        if not isinstance(audience_value, str) or not audience_value.strip():
            return self.finding(
                gateway,
                Verdict.ERROR,
                "Cannot verify: the gateway's Entra audience is unknown.",
                Evidence("properties.vpnClientConfiguration.aadAudience", audience_value, "an application ID"),
            )
        audience = audience_value.strip().lower()
        reach = reachers(inventory, audience)
        model = open_membership_model(inventory, [audience], users=reach.users)
        questions: list[tuple[str, ca.Cell]] = []
        if reach.everyone:
            questions.append((f"any user ({'; '.join(reach.why)})", ca.query(model, app=audience)))
        else:
            questions += [
                (f"member of group {g}", ca.query(model, app=audience, group=g)) for g in sorted(reach.groups)
            ]
            questions += [(f"user {u}", ca.query(model, app=audience, user=u)) for u in sorted(reach.users)]
        open_cells: list[str] = []
        unknown = list(reach.unknown)
        open_rows: list[dict[str, str]] = []
        unknown_rows = [{"who": "(who can reach the VPN app)", "sign-in": "", "outcome": why} for why in unknown]
        addresses: set[str] = set()
        for who, question in questions:
            for result in model.cells(question, BLOCKED):
                sign_in = model.describe(result.cell, question)
                where = f"{who}, {sign_in}"
                if result.status == ca.Status.UNKNOWN:
                    why = "; ".join(result.notes)
                    unknown.append(f"{where}: cannot tell ({why})")
                    unknown_rows.append({"who": who, "sign-in": sign_in, "outcome": f"cannot tell: {why}"})
                elif result.status == ca.Status.BAD:
                    everywhere = frozenset(range(len(model.locations.atoms)))
                    atoms = result.cell.get("ip", model.universe.domains.get("ip", everywhere))
                    single = {model.locations.atoms[i].single_address() for i in atoms}
                    if None in single:
                        open_cells.append(f"{where}: not blocked")
                        open_rows.append({"who": who, "sign-in": sign_in, "outcome": "not blocked"})
                    else:
                        addresses |= {a for a in single if a is not None}
        if len(addresses) > 1:
            several = f"not blocked from {len(addresses)} addresses: {', '.join(sorted(addresses))}"
            open_cells.append(several)
            open_rows.append({"who": "(together)", "sign-in": "", "outcome": several})
        expected = "every sign-in to the VPN app blocked except from one single IP address"
        evidence = [
            Evidence("vpnApp", audience, "the gateway's Entra audience"),
            Evidence("reachableBy", bounded([q for q, _ in questions]), "who can get a token for the VPN app"),
            Evidence("cellsNotBlocked", _shown(open_rows), expected),
            Evidence("cellsUnknown", _shown(unknown_rows), "none"),
        ]
        if open_cells:
            return self.finding(
                gateway,
                Verdict.FAIL,
                f"VPN sign-in is not blocked outside one address in {len(open_cells)} case(s): {open_cells[0]}.",
                *evidence,
            )
        if unknown:
            return self.finding(
                gateway, Verdict.ERROR, f"Cannot verify where VPN sign-in is blocked: {unknown[0]}.", *evidence
            )
        if not questions:
            return self.finding(gateway, Verdict.PASS, "Nobody is assigned to the VPN app.", *evidence)
        shown = ", ".join(sorted(addresses)) or "nowhere (blocked everywhere)"
        return self.finding(gateway, Verdict.PASS, f"VPN sign-in only from {shown}.", *evidence)


def _shown(cells: list[dict[str, str]]) -> list[dict[str, str]]:
    """The first cells as table rows; one more row says how many are left (the evidence stays bounded)."""
    if len(cells) <= SHOWN_CELLS:
        return cells
    more = {key: "" for key in cells[0]} | {"outcome": f"... and {len(cells) - SHOWN_CELLS} more cells"}
    return [*cells[:SHOWN_CELLS], more]


CHECK = VpnAllowedIpOnly()
