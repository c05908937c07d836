"""Layered verdicts: each layer combination gives the claim verdict and exit code the design promises.

A layer that did not run is NOT_RUN and never fails a run nor passes a claim on its own; a probe of a host
that is not the audited stack's is reported and excluded; the attested layer keeps MANUAL for organisational
claims only (compliance_checks/layers.py, compliance_checks/engine.py, compliance_checks/scope.py).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.attestations import Attestation
from compliance_checks.catalog import load_catalog
from compliance_checks.checks import load_checks
from compliance_checks.engine import EXIT_ERROR, EXIT_OK, EXIT_VIOLATION, AuditResult, evaluate
from compliance_checks.findings import Verdict
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.layers import LayerResult, rollup
from compliance_checks.scope import foreign_probe_reason, probe_hosts, stack_host_names

from .test_checks import SITE, change, estate

TODAY = dt.date(2026, 11, 30)
CATALOG = load_catalog()
CHECKS = load_checks()
DEV = estate("dev")


def audit(inventory: Inventory, **kwargs: Any) -> AuditResult:
    return evaluate(inventory, catalog=CATALOG, checks=CHECKS, today=TODAY, **kwargs)


def layers(result: AuditResult, claim_id: str) -> dict[str, Verdict]:
    found = next(c for c in result.claims if c.claim.id == claim_id)
    return {layer.layer: layer.verdict for layer in found.layers}


def verdict(result: AuditResult, claim_id: str) -> Verdict:
    return next(c.verdict for c in result.claims if c.claim.id == claim_id)


def probe(kind: str, name: str = "portal", **body: Any) -> Resource:
    return Resource.create(id=f"probe://{kind}/{name}", type=f"Probe/{kind}", name=name, body=body, source="probe")


def with_records(inventory: Inventory, *records: Resource) -> Inventory:
    return Inventory([*inventory.resources, *records], sources=[*inventory.sources, "probe"], gaps=inventory.gaps)


def test_declared_only_runs_the_configuration_layer_and_keeps_the_default_job_green() -> None:
    result = audit(DEV)
    assert layers(result, "SEC-TLS") == {"declared": Verdict.PASS, "observed": Verdict.NOT_RUN}
    assert verdict(result, "SEC-TLS") == Verdict.PASS
    assert verdict(result, "PRIV-LOCAL-STORAGE") == Verdict.NOT_RUN  # only probes judge it: nothing ran
    tls = next(c for c in result.claims if c.claim.id == "SEC-TLS")
    assert (
        tls.describe_layers().startswith("declared PASS (")
        and "observed NOT RUN — add --probe URL" in tls.describe_layers()
    )
    # The probe checks did not run: no finding, no MANUAL placeholder, a NOT_RUN check verdict.
    assert not [f for f in result.findings if f.check_id.startswith("probe_")]
    assert result.check_verdict("probe_tls_protocols") == Verdict.NOT_RUN
    assert result.exit_code == EXIT_OK


def test_a_broken_declared_layer_fails_the_claim_whatever_did_not_run() -> None:
    result = audit(change(DEV, SITE, "properties.clientAffinityEnabled", True))
    assert layers(result, "PRIV-NO-COOKIES") == {"declared": Verdict.FAIL, "observed": Verdict.NOT_RUN}
    assert verdict(result, "PRIV-NO-COOKIES") == Verdict.FAIL
    assert result.exit_code == EXIT_VIOLATION


def test_the_source_decides_declared_or_deployed() -> None:
    result = audit(DEV, layer="deployed")
    assert layers(result, "SEC-TLS") == {"deployed": Verdict.PASS, "observed": Verdict.NOT_RUN}
    assert "declared" not in layers(result, "SEC-HOSTING-AZURE")


def test_a_probe_fault_is_an_error_of_the_observed_layer() -> None:
    result = audit(with_records(DEV, probe("tls", error="connection reset")))
    assert layers(result, "SEC-TLS")["observed"] == Verdict.ERROR
    assert verdict(result, "SEC-TLS") == Verdict.ERROR
    assert result.exit_code == EXIT_ERROR


def test_a_layer_that_ran_in_part_names_what_did_not() -> None:
    result = audit(with_records(DEV, probe("tls", error="timeout")))
    # The TLS probe ran; the database port was not tried (no --database): the DB claim's observed layer is NOT RUN.
    vpn = next(c for c in result.claims if c.claim.id == "SEC-DB-SINGLE-IP-VPN")
    observed = next(layer for layer in vpn.layers if layer.layer == "observed")
    assert observed.verdict == Verdict.NOT_RUN and observed.hint == "add --probe URL --database HOST:PORT"


def test_probes_of_another_host_are_reported_but_do_not_count() -> None:
    reason = foreign_probe_reason(["staging.example.org"], stack_host_names(DEV))
    assert "staging.example.org" in reason and "dev.portal.smartde.coop" in reason
    result = audit(with_records(DEV, probe("tls", error="timeout")), observed_excluded=reason)
    finding = next(f for f in result.findings if f.check_id == "probe_tls_protocols")
    assert finding.verdict == Verdict.ERROR and finding.excluded == reason and not finding.counts
    tls = next(c for c in result.claims if c.claim.id == "SEC-TLS")
    observed = next(layer for layer in tls.layers if layer.layer == "observed")
    assert observed.verdict == Verdict.NOT_RUN and observed.hint == reason
    assert result.exit_code == EXIT_OK


def test_attested_layer_for_organisational_claims() -> None:
    def attested(expires: dt.date) -> AuditResult:
        record = Attestation("RIGHTS-CONTACT", "DPO", dt.date(2026, 1, 1), "ref", expires)
        return audit(DEV, attestations={"RIGHTS-CONTACT": record})

    assert layers(audit(DEV), "RIGHTS-CONTACT") == {"attested": Verdict.MANUAL}
    assert verdict(attested(dt.date(2027, 1, 1)), "RIGHTS-CONTACT") == Verdict.PASS
    expired = attested(dt.date(2026, 6, 1))
    assert verdict(expired, "RIGHTS-CONTACT") == Verdict.FAIL and expired.exit_code == EXIT_VIOLATION


@pytest.mark.parametrize(
    ("ran", "expected"),
    [
        ([], Verdict.NOT_RUN),
        ([Verdict.PASS], Verdict.PASS),
        ([Verdict.PASS, Verdict.NOT_APPLICABLE], Verdict.PASS),
        ([Verdict.NOT_APPLICABLE], Verdict.NOT_APPLICABLE),
        ([Verdict.PASS, Verdict.ERROR], Verdict.ERROR),
        ([Verdict.ERROR, Verdict.FAIL], Verdict.FAIL),
    ],
)
def test_rollup_is_the_worst_layer_that_ran(ran: list[Verdict], expected: Verdict) -> None:
    results = [LayerResult(f"l{i}", v, ("c",)) for i, v in enumerate(ran)]
    results.append(LayerResult("observed", Verdict.NOT_RUN, (), (), "add --probe URL"))  # never counts
    assert rollup(results) == expected


def test_stack_host_names_from_a_published_site_body() -> None:
    # specification/web/resource-manager/Microsoft.Web/AppService/stable/2024-11-01/examples/CreateOrUpdateWebApp.json
    # (Azure/azure-rest-api-specs at e94c4a58e81735a7947339f69c26f28cd8562955), response body, trimmed.
    properties = {
        "hostNames": ["sitef6141.azurewebsites.net"],
        "enabledHostNames": ["sitef6141.azurewebsites.net", "sitef6141.scm.azurewebsites.net"],
        "hostNameSslStates": [{"name": "sitef6141.azurewebsites.net", "sslState": "Disabled", "hostType": "Standard"}],
        "defaultHostName": "sitef6141.azurewebsites.net",
    }
    site = Resource.create(
        id="/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/testrg123/providers/Microsoft.Web/sites/sitef6141",
        type="Microsoft.Web/sites",
        name="sitef6141",
        body={"properties": properties},
    )
    hosts = stack_host_names(Inventory([site]))
    assert hosts == {"sitef6141.azurewebsites.net", "sitef6141.scm.azurewebsites.net"}
    assert foreign_probe_reason(probe_hosts(["https://SiteF6141.azurewebsites.net/x"]), hosts) == ""
    # A look-alike host of the same platform domain is somebody else's app.
    assert foreign_probe_reason(["evil.azurewebsites.net"], hosts)


def test_the_offline_stack_knows_its_custom_domain() -> None:
    assert "dev.portal.smartde.coop" in stack_host_names(DEV)


def test_results_document_carries_layers_and_scope(tmp_path: Path) -> None:
    from compliance_checks.cli import main

    out = tmp_path / "r"
    assert main(["audit", "--quiet", "--format", "json", "--out", str(out)]) == EXIT_OK
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    tls = next(c for c in document["claims"] if c["id"] == "SEC-TLS")
    assert [layer["layer"] for layer in tls["layers"]] == ["declared", "observed"]
    assert tls["layers"][1] == {
        "layer": "observed",
        "verdict": "NOT_RUN",
        "checks": [],
        "notRun": [
            "probe_http_hsts_redirect",
            "probe_tls_certificate",
            "probe_tls_cipher_suites",
            "probe_tls_protocols",
        ],
        "hint": "add --probe URL",
        "summary": "observed NOT RUN — add --probe URL",
    }
    scope = document["scope"]
    assert scope["sources"] == ["synth"] and scope["stack"] == "dev" and scope["layer"] == "declared"
    assert scope["placeholderIds"] and "6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21" in scope["placeholders"][0]
    import hashlib

    from compliance_checks.catalog import CATALOG_DIR

    assert scope["policySha256"] == hashlib.sha256((CATALOG_DIR / "privacy-policy.txt").read_bytes()).hexdigest()
    assert scope["catalogSha256"] == hashlib.sha256((CATALOG_DIR / "claims.yaml").read_bytes()).hexdigest()
    assert document["summary"]["exitCode"] == 0 and document["summary"]["documentFindings"] >= 1
    # Each disagreement of the shipped policy comes with corrected sentences in both languages (policy_text._suggest).
    for item in document["document"]:
        suggestion = item["suggestion"]
        assert suggestion["de"] and suggestion["en"] and suggestion["note"], item["claimId"]
        assert suggestion["de"] != suggestion["en"]
