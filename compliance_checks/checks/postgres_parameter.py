"""Base for checks of one PostgreSQL server parameter (not a check itself)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from compliance_checks.checks.base import Check, CheckMeta, Domain, Expect, Params, Read, Rule, judge
from compliance_checks.findings import Evidence, Finding, Verdict
from compliance_checks.inventory import MISSING, Inventory
from compliance_checks.render_values import show

SERVER = "Microsoft.DBforPostgreSQL/flexibleServers"
CONFIGURATION = f"{SERVER}/configurations"


@dataclass(frozen=True)
class ServerParameterCheck(Check):
    """Each server's ``configurations/<parameter>`` child must hold an acceptable value.

    An undeclared parameter fails: the server default cannot be seen here, and
    a promise must not rest on a default.
    """

    meta: CheckMeta
    parameter: str
    expect: Callable[[Params], Expect]
    domain: Domain = field(default_factory=Domain)  # the values the parameter takes (ERROR outside)

    def reads(self) -> tuple[Read, ...]:
        return (Read(CONFIGURATION, "properties.value", name=self.parameter, domain=self.domain, required=True),)

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        servers = inventory.of_type(SERVER)
        if not servers:
            yield self.error_nothing_found(f"no {SERVER} in the inventory")
            return
        for server in servers:
            setting = inventory.get(f"{server.id}/configurations/{self.parameter}")
            if setting is None:
                evidence = Evidence(f"configurations/{self.parameter}", MISSING, self.expect(params).describe())
                yield self.finding(
                    server, Verdict.FAIL, f"Server parameter {self.parameter} is not set explicitly.", evidence
                )
                continue
            value = setting.get("properties.value")
            if not self.domain.accepts(value):
                # Outside what the parameter takes (another service's spelling, a typo): the server's verdict
                # cannot rest on it; the guard's ERROR names the setting, this one the server it decides.
                yield self.finding(
                    server,
                    Verdict.ERROR,
                    f"Cannot verify: {self.parameter} is {show(value)!r}, not a value the parameter takes.",
                    Evidence(f"configurations/{self.parameter}", value, self.domain.describe()),
                )
                continue
            verdict, evidence = judge(setting, Rule("properties.value", self.expect), params)
            message = (
                f"{self.parameter} = {setting.get('properties.value')}."
                if verdict == Verdict.PASS
                else f"{self.parameter} is {evidence.observed_text()}, expected {evidence.expected}."
            )
            yield self.finding(server, verdict, message, evidence)
