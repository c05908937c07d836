"""AnalyzeStack as the Pulumi engine sends it: stack policies link resources by the identity the engine gives.

First preview: IDs and path parameters flowing from resources not yet created
are unknown. What cannot be verified is "unknown until apply" (advisory); the
property dependencies the engine sends still say which resource each unknown
reference flows from, so a break is a mandatory FAIL already then, and a clean
stack has none. After apply the engine sends outputs (the ARM ``id``, no path
parameters): every link resolves and a clean stack has no finding.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from policies.pack import UNKNOWN_VALUES_POLICY

from .conftest import synth_cached
from .support import analyzer
from .test_gates import broken, deployed


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[analyzer.PolicyPackProcess]:
    running = analyzer.start_pack(workdir=tmp_path_factory.mktemp("pack-stack"))
    try:
        yield running
    finally:
        code = running.close()
        assert code == 0, f"the pack did not shut down cleanly (exit {code}): {running.stderr()[-2000:]}"


def described(response: object) -> list[tuple[str, str, str]]:
    return [(d.policyName, d.urn.rsplit("::", 1)[-1], d.message) for d in analyzer.mandatory(response)]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_clean_stack_at_first_preview_is_not_failed_and_its_unknowns_are_named(
    pack: analyzer.PolicyPackProcess, stack: str
) -> None:
    response = pack.analyze_stack(analyzer.analyze_stack_request(synth_cached(stack), first_preview=True))
    assert described(response) == []
    unknown = [d for d in analyzer.advisory(response) if d.policyName == UNKNOWN_VALUES_POLICY]
    # The links the stack policies need are reported as not verifiable, naming the resource whose ID is unknown.
    messages = "\n".join(d.message for d in unknown)
    for name in ("portal-app", "database-server", "monitoring-alert-firewall"):
        assert any(d.urn.endswith(f"::{name}") for d in unknown), name
    assert "ID unknown until apply" in messages


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_clean_stack_after_apply_resolves_every_link(pack: analyzer.PolicyPackProcess, stack: str) -> None:
    response = pack.analyze_stack(analyzer.analyze_stack_request(synth_cached(stack), first_preview=False))
    assert described(response) == []
    # Outputs carry the ARM `id` (and Graph object IDs): nothing is left unknown, so nothing passed unverified.
    assert [d.message for d in response.diagnostics if d.policyName == UNKNOWN_VALUES_POLICY] == []


# Variants of tests/test_gates.py judged by stack policies: (policy, resource the diagnostic names, claim, text).
STACK_BREAKS = {
    "db-port-open-to-internet": (
        "database-single-ip-path",
        "network-nsg-database",
        "SEC-DB-SINGLE-IP-VPN",
        "0.0.0.0/0",
    ),
    "second-allowed-ip": (
        "database-single-ip-path",
        "network-nsg-database",
        "SEC-DB-SINGLE-IP-VPN",
        "198.51.100.23/32",
    ),
    "ca-report-only": ("developers-mfa", "developer-access-group", "SEC-DEV-MFA", "MFA is not enforced"),
    # The two below are found only through a link (a site's auth settings, a server's parameter) resolved by `id`.
    "app-service-auth-on": ("portal-no-app-service-auth", "portal-app", "PRIV-NO-COOKIES", "platform.enabled is true"),
    "db-tls-not-required": ("database-tls-required", "database-server", "SEC-TLS", "require_secure_transport is off"),
}


@pytest.mark.parametrize("variant", sorted(STACK_BREAKS))
def test_a_broken_stack_after_apply_is_a_mandatory_diagnostic_naming_it(
    pack: analyzer.PolicyPackProcess, variant: str
) -> None:
    policy, name, claim, text = STACK_BREAKS[variant]
    response = pack.analyze_stack(analyzer.analyze_stack_request(deployed(variant), first_preview=False))
    found = described(response)
    assert found, f"{variant}: no mandatory diagnostic"
    for found_policy, found_name, message in found:
        assert (found_policy, found_name) == (policy, name)
        assert f"[{claim}] " in message
    assert any(text in message for _, _, message in found)


@pytest.mark.parametrize("variant", sorted(STACK_BREAKS))
def test_a_broken_stack_at_first_preview_is_a_mandatory_diagnostic_naming_it(
    pack: analyzer.PolicyPackProcess, variant: str
) -> None:
    """Links resolved through property dependencies: the break is found before anything exists."""
    policy, name, claim, text = STACK_BREAKS[variant]
    response = pack.analyze_stack(analyzer.analyze_stack_request(broken(variant), first_preview=True))
    found = described(response)
    assert found, f"{variant}: no mandatory diagnostic at a first preview"
    for found_policy, found_name, message in found:
        assert (found_policy, found_name) == (policy, name)
        assert f"[{claim}] " in message
    assert any(text in message for _, _, message in found)
    # What the inference could not establish is still reported as unverified, not passed.
    assert any(d.policyName == UNKNOWN_VALUES_POLICY for d in analyzer.advisory(response))


def test_without_property_dependencies_a_first_preview_break_is_unknown_not_passed(
    pack: analyzer.PolicyPackProcess,
) -> None:
    """An engine request without property dependencies (older engines): the link stays unknown, never a PASS."""
    request = analyzer.analyze_stack_request(broken("db-port-open-to-internet"), first_preview=True)
    for resource in request.resources:
        resource.ClearField("propertyDependencies")
    response = pack.analyze_stack(request)
    assert described(response) == []
    unknown = [d for d in analyzer.advisory(response) if d.policyName == UNKNOWN_VALUES_POLICY]
    assert any("\n[SEC-DB-SINGLE-IP-VPN] " in d.message or "[SEC-DB-SINGLE-IP-VPN]" in d.message for d in unknown)


def test_a_preview_that_opens_the_database_says_why_with_the_audits_evidence(pack: analyzer.PolicyPackProcess) -> None:
    """The pack runs the reachability evaluator the audit runs: the diagnostic carries its computed rows."""
    response = pack.analyze_stack(
        analyzer.analyze_stack_request(broken("db-port-open-to-internet"), first_preview=True)
    )
    messages = [d.message for d in analyzer.mandatory(response) if "Database port is open only" in d.message]
    assert len(messages) == 1
    lines = messages[0].splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("[SEC-DB-SINGLE-IP-VPN] ")) :]
    assert lines[1].strip().startswith("sources reaching port 5432/Tcp (expected: only from ")
    assert any(
        line.strip().startswith("from: ") and "decided by: rule AllowPostgresExtra (priority 105)" in line
        for line in lines[2:]
    )
