"""Database backups are geo-redundant and their paired region is in the EU too."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Equals, Params, Read, Rule, judge
from compliance_checks.findings import Evidence, Finding, Severity, Verdict, worst
from compliance_checks.inventory import Inventory
from infra.config import EU_REGION_PAIRS


class GeoBackupInEuPair(Check):
    meta = CheckMeta(
        id="postgres_geo_backup_in_eu_pair",
        title="Database backups are geo-redundant within the EU region pair",
        severity=Severity.MEDIUM,
        claims=("SEC-HOSTING-AZURE",),
        rationale="Geo-redundant backups are copied to the paired region; that region must be in the EU as well.",
        remediation="Enable backup.geoRedundantBackup in a region whose pair is an EU region.",
        references=("https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore",),
    )

    subject = "Microsoft.DBforPostgreSQL/flexibleServers"

    READS = (
        Read("Microsoft.DBforPostgreSQL/flexibleServers", "properties.backup.geoRedundantBackup"),
        Read("Microsoft.DBforPostgreSQL/flexibleServers", "location", domain=domains.LOCATION, required=True),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        servers = self.subjects(inventory)
        allowed = {loc.lower() for loc in params.allowed_locations}
        for server in servers:
            geo, geo_evidence = judge(server, Rule("properties.backup.geoRedundantBackup", Equals("Enabled")), params)
            where = server.get("location")
            pair = EU_REGION_PAIRS.get(where.lower()) if isinstance(where, str) else None
            pair_ok = pair is not None and pair in allowed
            pair_evidence = Evidence("location (backup pair)", f"{server.location} -> {pair}", "an EU pair")
            verdict = worst([geo, Verdict.PASS if pair_ok else Verdict.FAIL])
            message = (
                f"Geo-redundant backups to {pair}."
                if verdict == Verdict.PASS
                else f"geoRedundantBackup is {geo_evidence.observed_text()}; backup pair of {server.location} is {pair or 'unknown'}."
            )
            yield self.finding(server, verdict, message, geo_evidence, pair_evidence)


CHECK = GeoBackupInEuPair()
