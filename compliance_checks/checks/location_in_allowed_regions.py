"""Every resource of the estate is in an allowed EU region (global-only resource types excepted)."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, Inventory

# Types Azure only offers as global resources.
GLOBAL_TYPES = frozenset(
    {
        "microsoft.network/privatednszones",
        "microsoft.network/privatednszones/virtualnetworklinks",
        "microsoft.network/dnszones",
        "microsoft.insights/actiongroups",
        "microsoft.insights/activitylogalerts",
        "microsoft.network/frontdoors",
        "microsoft.cdn/profiles",
    }
)


class LocationInAllowedRegions(Check):
    meta = CheckMeta(
        id="location_in_allowed_regions",
        title="All resources are in an allowed EU region",
        severity=Severity.HIGH,
        claims=("SEC-HOSTING-AZURE",),
        rationale=(
            "The portal and its data are stored in Azure; for GDPR they stay in EU regions whose backup pair is"
            " in the EU as well."
        ),
        remediation="Deploy every resource to the configured EU region (smart-portal:location).",
        references=("https://learn.microsoft.com/azure/reliability/cross-region-replication-azure",),
    )

    # Every resource that states a location (a missing one inherits its resource group's, which is judged too).
    READS = (Read("*", "location", required=True, domain=domains.LOCATION),)

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        # The body's value, not a source's reading of it: null, a number or a secret must not drop out.
        located = [r for r in inventory.all() if r.get("location") is not MISSING]
        if not located:
            yield self.error_nothing_found("no resource with a location")
            return
        allowed = {loc.lower() for loc in params.allowed_locations}
        for resource in located:
            raw = resource.get("location")
            if not isinstance(raw, str) or not raw.strip():
                continue  # unknown, secret, null or not a text: the guard of Check.evaluate reports it (ERROR)
            # ARM accepts display names ("Germany West Central") as well as names ("germanywestcentral").
            where = raw.replace(" ", "").lower()
            expected = "global" if resource.type_key in GLOBAL_TYPES else "one of " + ", ".join(sorted(allowed))
            evidence = Evidence("location", where, expected)
            if resource.type_key in GLOBAL_TYPES:
                ok = where == "global"
                yield self.finding(
                    resource,
                    Verdict.PASS if ok else Verdict.FAIL,
                    f"Location {where}" + ("." if ok else " for a global-only type."),
                    evidence,
                )
            elif where in allowed:
                yield self.finding(resource, Verdict.PASS, f"Location {where}.", evidence)
            else:
                yield self.finding(resource, Verdict.FAIL, f"Location {where} is not an allowed EU region.", evidence)


CHECK = LocationInAllowedRegions()
