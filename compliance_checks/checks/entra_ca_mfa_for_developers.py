"""The developers' group must pass MFA, enforced (not report-only), for Azure management and the VPN.

Judged by evaluating the tenant's Conditional Access over every class of sign-in
the policies distinguish (compliance_checks/evaluate/conditional_access.py): a
developer's sign-in to Azure management, or to the VPN's audience app, passes
only if in every cell some enabled policy that applies demands MFA or blocks.
The evidence lists the cells that do not.
"""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params
from compliance_checks.checks.ca_model import open_membership_model
from compliance_checks.checks.network_helpers import entra_gateways
from compliance_checks.evaluate import conditional_access as ca
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import Inventory, Resource
from infra import well_known

MFA_OR_BLOCK = frozenset({ca.Outcome.MFA, ca.Outcome.BLOCK})
SHOWN_CELLS = 20  # evidence lists at most this many cells per kind (the count is always given)


def covers_group(policy: Resource, group_id: str) -> bool:
    """Whether a policy names the group (or all users) among those it includes, and does not exclude the group
    (used by entra_vpn_token_developers_only to index policies; the evaluator decides what they enforce)."""
    users = policy.get("conditions.users")
    if not isinstance(users, dict):
        return False

    def lowered(key: str) -> set[str]:
        value = users.get(key)
        return {str(v).lower() for v in value} if isinstance(value, list) else set()

    included = group_id in lowered("includegroups") or "all" in lowered("includeusers")
    return included and group_id not in lowered("excludegroups")


class MfaForDevelopers(Check):
    meta = CheckMeta(
        id="entra_ca_mfa_for_developers",
        title="Conditional Access enforces MFA for the developers on Azure management and the VPN",
        severity=Severity.CRITICAL,
        claims=("SEC-DEV-MFA",),
        rationale=(
            "The policy promises access only through two-step authorisation. A report-only policy, or one that"
            " misses the VPN client or Azure management, or lets some client app, platform, location or"
            " exempted member through, leaves a door without MFA."
        ),
        remediation="Enable a Conditional Access policy granting 'mfa' for the developers' group on both apps.",
        references=(
            "https://learn.microsoft.com/entra/identity/conditional-access/howto-conditional-access-policy-azure-management",
            "https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-cloud-apps",
        ),
    )

    READS = (*domains.CA_EVALUATOR_READS, *domains.ENTRA_GATEWAY_READS)

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        groups = inventory.of_type("Microsoft.Graph/groups")
        if not groups:
            yield self.error_nothing_found("no Entra group (the developers' group) in the inventory")
            return
        management = well_known.app_id("Windows Azure Service Management API")
        apps = {management: "Azure management"}
        gateways, errors = entra_gateways(self, inventory)
        yield from errors
        for gateway in gateways:
            audience = gateway.get("properties.vpnClientConfiguration.aadAudience")
            if not isinstance(audience, str) or not audience.strip():
                yield self.finding(
                    gateway,
                    Verdict.ERROR,
                    "Cannot verify MFA for the VPN: the gateway's Entra audience is unknown.",
                    Evidence("properties.vpnClientConfiguration.aadAudience", audience, "an application ID"),
                )
                continue
            apps.setdefault(audience.strip().lower(), f"the VPN app {audience.strip().lower()}")
        model = open_membership_model(inventory, apps)
        for group in groups:
            group_id = str(group.get("id")).lower()
            failing: list[str] = []
            unknown: list[str] = []
            failing_rows: list[dict[str, str]] = []
            unknown_rows: list[dict[str, str]] = []
            good: list[str] = []
            for app, label in apps.items():
                question = ca.query(model, app=app, group=group_id)
                for result in model.cells(question, MFA_OR_BLOCK):
                    sign_in = model.describe(result.cell, question)
                    where = f"developer, {label}, {sign_in}"
                    row = {"who": "developer", "application": label, "sign-in": sign_in}
                    if result.status == ca.Status.BAD:
                        failing.append(f"{where}: no MFA")
                        failing_rows.append({**row, "outcome": "no MFA"})
                    elif result.status == ca.Status.UNKNOWN:
                        why = "; ".join(result.notes)
                        unknown.append(f"{where}: cannot tell ({why})")
                        unknown_rows.append({**row, "outcome": f"cannot tell: {why}"})
                    else:
                        good.extend(result.notes)
            evidence = [
                Evidence("cellsWithoutMfa", _shown(failing_rows), "none: every cell requires MFA or is blocked"),
                Evidence("cellsUnknown", _shown(unknown_rows), "none"),
            ]
            if failing:
                yield self.finding(
                    group,
                    Verdict.FAIL,
                    f"MFA is not enforced for {len(failing)} class(es) of developer sign-in: {'; '.join(failing[:3])}"
                    + (" ..." if len(failing) > 3 else "")
                    + ".",
                    *evidence,
                )
            elif unknown:
                yield self.finding(
                    group,
                    Verdict.ERROR,
                    f"Cannot verify MFA for {len(unknown)} class(es) of developer sign-in: {unknown[0]}.",
                    *evidence,
                )
            else:
                by = sorted(set(good))
                yield self.finding(
                    group,
                    Verdict.PASS,
                    f"Every developer sign-in to {', '.join(apps.values())} requires MFA or is blocked"
                    f" ({', '.join(by)}).",
                    *evidence,
                )


def _shown(cells: list[dict[str, str]]) -> list[dict[str, str]]:
    """The first cells as table rows; one more row says how many are left (the evidence stays bounded)."""
    if len(cells) <= SHOWN_CELLS:
        return cells
    more = {key: "" for key in cells[0]} | {"outcome": f"... and {len(cells) - SHOWN_CELLS} more cells"}
    return [*cells[:SHOWN_CELLS], more]


CHECK = MfaForDevelopers()
