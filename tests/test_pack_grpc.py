"""The policy pack as the Pulumi engine runs it: a separate process, spoken to over gRPC.

tests/support/analyzer.py launches ``policies/`` the way the Pulumi CLI
launches a Python policy pack and builds the engine's requests from the
synthesized stacks (first preview: values computed at create are Pulumi's
unknown sentinel; secrets in their wire form).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from infra.synth import Secret
from policies.pack import SPECS, UNKNOWN_VALUES_POLICY, UNMAPPED_TYPES_POLICY

from .conftest import synth_cached
from .support import analyzer
from .test_gates import broken

PACK_POLICIES = {spec.name for spec in SPECS} | {UNKNOWN_VALUES_POLICY, UNMAPPED_TYPES_POLICY}


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[analyzer.PolicyPackProcess]:
    running = analyzer.start_pack(workdir=tmp_path_factory.mktemp("pack"))
    print(f"policy pack started (port printed, dialled) in {running.startup_seconds:.2f} s")
    try:
        yield running
    finally:
        code = running.close()
        assert code == 0, f"the pack did not shut down cleanly (exit {code}): {running.stderr()[-2000:]}"


def test_the_pack_lists_its_policies(pack: analyzer.PolicyPackProcess) -> None:
    info = pack.info()
    assert info.name == "smart-portal-privacy"
    assert {p.name for p in info.policies} == PACK_POLICIES


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_clean_stacks_at_first_preview_have_no_mandatory_diagnostic(
    pack: analyzer.PolicyPackProcess, stack: str
) -> None:
    synthesis = synth_cached(stack)
    resources = analyzer.custom_resources(synthesis)
    assert len(resources) > 20
    requests = [analyzer.analyze_request(synthesis, r) for r in resources]
    # The requests carry what a first preview carries: values computed at create are unknown.
    assert any(UNKNOWN_STRING_VALUE in str(r.properties) for r in requests)
    started = time.monotonic()
    first = pack.analyze(requests[0])
    print(f"{stack}: one Analyze ({requests[0].type}) took {(time.monotonic() - started) * 1000:.1f} ms")
    found = [(r.urn, d.policyName, d.message) for r, d in ((requests[0], d) for d in analyzer.mandatory(first))]
    for request in requests[1:]:
        found += [(request.urn, d.policyName, d.message) for d in analyzer.mandatory(pack.analyze(request))]
    assert found == []


# Variants of tests/test_gates.py that one resource decides (resource-scope policies), with the
# resource that carries the break and the policy and claim the diagnostic names.
BREAKS = {
    "https-only-off": ("azure-native:web:WebApp", "portal-https-tls-floor", "SEC-TLS"),
    "tls-1-0": ("azure-native:web:WebApp", "portal-https-tls-floor", "SEC-TLS"),
    "affinity-cookie-on": ("azure-native:web:WebApp", "portal-no-affinity-cookie", "PRIV-NO-COOKIES"),
    "db-public-access": ("azure-native:dbforpostgresql:Server", "database-private", None),
    "non-eu-region": ("azure-native:web:WebApp", "eu-only-locations", None),
    "log-retention-365": ("azure-native:operationalinsights:Workspace", "log-retention", None),
}


@pytest.mark.parametrize("variant", sorted(BREAKS))
def test_a_broken_resource_is_a_mandatory_diagnostic_naming_it(pack: analyzer.PolicyPackProcess, variant: str) -> None:
    token, policy, claim = BREAKS[variant]
    synthesis = broken(variant)
    diagnostics = []
    for resource in analyzer.custom_resources(synthesis):
        response = pack.analyze(analyzer.analyze_request(synthesis, resource))
        diagnostics += [(resource, d) for d in analyzer.mandatory(response)]
    assert diagnostics, f"{variant}: no mandatory diagnostic"
    for resource, diagnostic in diagnostics:
        assert resource.token == token
        assert diagnostic.urn == resource.urn
        assert diagnostic.policyName == policy
        spec = next(s for s in SPECS if s.name == policy)
        assert f"[{claim or spec.claim}] " in diagnostic.message


def test_a_secret_in_wire_form_is_judged(pack: analyzer.PolicyPackProcess) -> None:
    synthesis = synth_cached("dev")
    webapp = synthesis.one("azure-native:web:WebApp")
    inputs = {**dict(webapp.inputs), "httpsOnly": Secret(False)}
    request = analyzer.analyze_request(synthesis, dataclasses.replace(webapp, inputs=inputs))
    assert request.properties["httpsOnly"][analyzer.SIG_KEY] == analyzer.SECRET_SIG
    found = analyzer.mandatory(pack.analyze(request))
    assert [(d.policyName, d.urn) for d in found] == [("portal-https-tls-floor", webapp.urn)]


def test_an_unknown_resource_type_is_one_advisory_diagnostic_naming_it(pack: analyzer.PolicyPackProcess) -> None:
    synthesis = synth_cached("dev")
    group = synthesis.one("azure-native:resources:ResourceGroup")
    token = "azure-native:foo/v1:Bar"
    urn = group.urn.rsplit("::", 2)[0] + f"::{token}::bar"
    unknown = dataclasses.replace(
        group, token=token, name="bar", urn=urn, inputs={"location": "germanywestcentral", "barName": "bar"}
    )
    response = pack.analyze(analyzer.analyze_request(synthesis, unknown))  # a crash would be an RpcError here
    assert analyzer.mandatory(response) == []
    [diagnostic] = response.diagnostics
    assert diagnostic in analyzer.advisory(response)
    assert diagnostic.policyName == UNMAPPED_TYPES_POLICY
    assert diagnostic.urn == urn
    assert token in diagnostic.message


def test_a_stack_with_an_unknown_type_is_analyzed_not_aborted(pack: analyzer.PolicyPackProcess) -> None:
    """Only that AnalyzeStack answers: what the stack policies report on it is other work (not asserted here)."""
    synthesis = synth_cached("dev")
    group = synthesis.one("azure-native:resources:ResourceGroup")
    unknown = dataclasses.replace(group, token="azure-native:foo/v1:Bar", name="bar", urn=group.urn + "-bar")
    with_unknown = dataclasses.replace(synthesis, resources=(*synthesis.resources, unknown))
    response = pack.analyze_stack(analyzer.analyze_stack_request(with_unknown, first_preview=False))
    assert all("foo/v1:Bar" not in d.message for d in response.diagnostics)
