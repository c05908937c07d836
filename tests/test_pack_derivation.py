"""The policy pack's list of policies is derived from the checks' metadata, not restated.

``policies.pack.GROUPS`` only groups configuration checks into gates; the claim
of each policy comes from the checks' ``CheckMeta.claims``, and a configuration
check that no group names becomes a gate of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Check, CheckMeta, Params
from compliance_checks.errors import CatalogError
from compliance_checks.findings import Finding, Severity
from compliance_checks.inventory import Inventory
from policies.pack import GROUPS, SPECS, PolicyGroup, is_gated, policy_specs


class _NewCheck(Check):
    """A stand-in for a check someone adds for an existing claim."""

    def __init__(self, check_id: str, claims: tuple[str, ...]) -> None:
        self.meta = CheckMeta(check_id, "portal does a new thing", Severity.HIGH, claims, "why", "fix")

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        return ()


def test_the_pack_gates_every_configuration_check_once() -> None:
    checks = load_checks()
    gated = [c for spec in SPECS for c in spec.checks]
    assert sorted(gated) == sorted(c for c, check in checks.items() if is_gated(check))
    assert not any(c.startswith("probe_") for c in gated)


def test_each_policys_claim_is_named_by_all_its_checks() -> None:
    checks = load_checks()
    for spec in SPECS:
        assert all(spec.claim in checks[c].meta.claims for c in spec.checks), spec.name


def test_a_new_check_for_an_existing_claim_becomes_a_gate_without_a_pack_edit() -> None:
    checks = {**load_checks(), "webapp_new_thing": _NewCheck("webapp_new_thing", ("SEC-TLS", "PRIV-NO-COOKIES"))}
    specs = {spec.name: spec for spec in policy_specs(checks)}
    new = specs["webapp-new-thing"]
    assert (new.claim, new.checks, new.scope) == ("SEC-TLS", ("webapp_new_thing",), "stack")
    assert new.description == "Portal does a new thing."
    assert [s.name for s in SPECS] == list(specs)[: len(SPECS)]


def test_the_claim_shared_by_a_groups_checks_is_its_claim() -> None:
    # entra_vpn_token_developers_only verifies SEC-DEV-MFA and SEC-DB-SINGLE-IP-VPN;
    # grouped with the MFA check, the policy stands for the claim both name.
    spec = {s.name: s for s in SPECS}["developers-mfa"]
    assert spec.claim == "SEC-DEV-MFA"
    alone = policy_specs(load_checks(), [PolicyGroup("vpn", "d", ("entra_vpn_token_developers_only",), "stack")])
    assert alone[0].claim == "SEC-DEV-MFA"  # its first claim, in its own order


def _group(name: str, *checks: str, scope: str = "stack") -> PolicyGroup:
    return PolicyGroup(name, "description", checks, scope)


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ([_group("g", "no_such_check")], "policies/pack.py: GROUPS: g: unknown check 'no_such_check'"),
        ([_group("g", "probe_tls_protocols")], "policies/pack.py: GROUPS: g: probe_tls_protocols is a live probe"),
        (
            [_group("a", "webapp_https_only"), _group("b", "webapp_https_only")],
            "policies/pack.py: GROUPS: b: webapp_https_only is already in policy a",
        ),
        (
            [_group("g", "webapp_https_only", "location_in_allowed_regions")],
            "policies/pack.py: GROUPS: g: its checks name no claim in common",
        ),
        ([_group("g", "webapp_https_only", scope="subscription")], "policies/pack.py: GROUPS: g: scope 'subscription'"),
        ([_group("g")], "policies/pack.py: GROUPS: g: names no check"),
        ([_group("webapp-https-only", "webapp_ftps_disabled")], "the policy of check webapp_https_only would be named"),
    ],
    ids=["unknown", "probe", "twice", "no-common-claim", "scope", "empty", "name-taken"],
)
def test_a_group_that_does_not_fit_the_checks_is_a_one_line_error(groups: list[PolicyGroup], expected: str) -> None:
    with pytest.raises(CatalogError) as info:
        policy_specs(load_checks(), groups)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_a_check_without_a_claim_is_an_error_not_an_ungated_check() -> None:
    checks = {**load_checks(), "webapp_new_thing": _NewCheck("webapp_new_thing", ())}
    with pytest.raises(CatalogError, match=r"webapp_new_thing\.py: CheckMeta\.claims: names no claim"):
        policy_specs(checks)


def test_groups_name_only_registered_configuration_checks() -> None:
    checks = load_checks()
    assert all(is_gated(checks[c]) for group in GROUPS for c in group.checks)
    # The meta the pack reads is the check's own: changing a check's claims changes the policy's claim.
    https = checks["webapp_https_only"]
    moved = _NewCheck("webapp_https_only", ("PRIV-NO-COOKIES",))
    moved.meta = replace(https.meta, claims=("PRIV-NO-COOKIES",))
    spec = policy_specs({**checks, "webapp_https_only": moved}, [_group("g", "webapp_https_only")])[0]
    assert spec.claim == "PRIV-NO-COOKIES"
