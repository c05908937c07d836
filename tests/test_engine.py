"""Claims roll-up, waivers, attestations and exit codes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from compliance_checks.attestations import load_attestations
from compliance_checks.catalog import load_catalog
from compliance_checks.checks import load_checks
from compliance_checks.engine import AuditResult, evaluate
from compliance_checks.errors import InputError
from compliance_checks.findings import Severity, Verdict
from compliance_checks.inventory import Inventory
from compliance_checks.waivers import load_waivers

from .test_checks import SITE, change, estate

TODAY = dt.date(2026, 11, 24)
CATALOG = load_catalog()
CHECKS = load_checks()
ORGANISATIONAL = [c.id for c in CATALOG.claims if c.kind == "organisational"]


def audit(inventory: Inventory, **kwargs: object) -> AuditResult:
    kwargs.setdefault("today", TODAY)
    return evaluate(inventory, catalog=CATALOG, checks=CHECKS, **kwargs)  # type: ignore[arg-type]


def claim(result: AuditResult, claim_id: str) -> Verdict:
    return next(c.verdict for c in result.claims if c.claim.id == claim_id)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_offline_audit_of_the_dev_stack() -> None:
    result = audit(estate("dev"))
    technical_config_only = {"SEC-DATA-PROTECTION", "SEC-HOSTING-AZURE", "SEC-DEV-MFA"}
    for claim_id in technical_config_only:
        assert claim(result, claim_id) == Verdict.PASS, claim_id
    # Offline, the observed layer does not run: it is NOT_RUN, never a PASS and never a failure.
    for claim_id in ("PRIV-NO-COOKIES", "PRIV-NO-ANALYTICS", "SEC-TLS", "SEC-DB-SINGLE-IP-VPN"):
        layers = layers_of(result, claim_id)
        assert layers["declared"] == Verdict.PASS and layers["observed"] == Verdict.NOT_RUN, claim_id
    # Only probes judge the localStorage promise: nothing ran for it.
    assert claim(result, "PRIV-LOCAL-STORAGE") == Verdict.NOT_RUN
    for claim_id in ORGANISATIONAL:
        assert claim(result, claim_id) == Verdict.MANUAL, claim_id
    assert result.exit_code == 0


def layers_of(result: AuditResult, claim_id: str) -> dict[str, Verdict]:
    found = next(c for c in result.claims if c.claim.id == claim_id)
    return {layer.layer: layer.verdict for layer in found.layers}


def test_a_broken_promise_fails_its_claim_and_the_run() -> None:
    result = audit(change(estate("dev"), SITE, "properties.clientAffinityEnabled", True))
    assert claim(result, "PRIV-NO-COOKIES") == Verdict.FAIL
    assert result.exit_code == 1


def test_fail_on_threshold() -> None:
    broken = change(estate("dev"), SITE, "properties.siteConfig.ftpsState", "AllAllowed")  # medium severity
    assert audit(broken, fail_on=Severity.LOW).exit_code == 1
    assert audit(broken, fail_on=Severity.HIGH).exit_code == 0


def test_unknown_value_is_an_error_exit() -> None:
    from compliance_checks.inventory import UNKNOWN

    result = audit(change(estate("dev"), SITE, "properties.httpsOnly", UNKNOWN))
    assert claim(result, "SEC-TLS") == Verdict.ERROR
    assert result.exit_code == 2


def test_waiver_applies_until_it_expires(tmp_path: Path) -> None:
    broken = change(estate("dev"), SITE, "properties.siteConfig.ftpsState", "AllAllowed")
    path = write(
        tmp_path,
        "waivers.yaml",
        """
waivers:
  - check: webapp_ftps_disabled
    resource: "*/microsoft.web/sites/app-smartportal-dev-*"
    justification: "Legacy deployment tool until 2027, ticket SEC-42"
    expires: 2026-12-31
    owner: IT security
  - check: webapp_https_only
    resource: "*"
    justification: "Expired exception"
    expires: 2026-01-01
""",
    )
    rules = load_waivers(path, CHECKS)
    result = audit(broken, waivers=rules)
    waived = [f for f in result.findings if f.waived]
    assert len(waived) == 1 and waived[0].verdict == Verdict.FAIL  # stays visible as FAIL
    assert waived[0].waiver is not None and waived[0].waiver.justification.startswith("Legacy")
    assert result.exit_code == 0
    assert [w.check for w in result.expired_waivers] == ["webapp_https_only"]
    later = evaluate(broken, catalog=CATALOG, checks=CHECKS, today=dt.date(2027, 1, 1), waivers=rules)
    assert not any(f.waived for f in later.findings) and later.exit_code == 1


@pytest.mark.parametrize(
    ("text", "place"),
    [
        (
            "waivers:\n  - check: webapp_https_only\n    resource: '*'\n    expires: 2027-01-01\n",
            "waivers[0].justification",
        ),
        (
            "waivers:\n  - check: nope\n    resource: '*'\n    justification: x\n    expires: 2027-01-01\n",
            "waivers[0].check",
        ),
        (
            "waivers:\n  - check: webapp_https_only\n    resource: '*'\n    justification: x\n    expires: soon\n",
            "waivers[0].expires",
        ),
        ("waivers: {a: 1}\n", "waivers"),
        ("waivers:\n  - [1, 2]\n", "waivers[0]"),
        ("waivers: [\n", "line 2, column 1"),
    ],
)
def test_bad_waiver_files(tmp_path: Path, text: str, place: str) -> None:
    with pytest.raises(InputError) as caught:
        load_waivers(write(tmp_path, "w.yaml", text), CHECKS)
    assert caught.value.place == place
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)


def test_attestations_missing_expired_valid(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "attestations.yaml",
        """
attestations:
  - claim: REC-TAX-ADVISORS
    owner: Data protection officer
    date: 2026-03-01
    document: DPA with the tax advisors, ref. DPA-2026-014
    sha256: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    expires: 2027-03-01
  - claim: REC-STOTAX
    owner: Payroll
    date: 2025-01-10
    document: Stotax encryption confirmation
    sha256: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    expires: 2026-01-10
""",
    )
    attestations = load_attestations(path, CATALOG.claims, TODAY)
    result = audit(estate("dev"), attestations=attestations)
    assert claim(result, "REC-TAX-ADVISORS") == Verdict.PASS
    assert claim(result, "REC-STOTAX") == Verdict.FAIL
    assert claim(result, "REC-BANKING") == Verdict.MANUAL
    assert result.exit_code == 1  # an expired attestation is a broken promise


@pytest.mark.parametrize(
    ("item", "place"),
    [
        (
            "claim: NOPE\n    owner: a\n    date: 2026-01-01\n    document: d\n    expires: 2027-01-01",
            "attestations[0].claim",
        ),
        (
            "claim: REC-BANKING\n    owner: a\n    date: 2030-01-01\n    document: d\n    expires: 2031-01-01",
            "attestations[0].date",
        ),
        ("claim: REC-BANKING\n    date: 2026-01-01\n    document: d\n    expires: 2027-01-01", "attestations[0].owner"),
        (
            "claim: REC-BANKING\n    owner: a\n    date: 2026-01-01\n    document: d\n    expires: 2025-01-01",
            "attestations[0].expires",
        ),
    ],
)
def test_bad_attestations(tmp_path: Path, item: str, place: str) -> None:
    path = write(tmp_path, "a.yaml", f"attestations:\n  - {item}\n")
    with pytest.raises(InputError) as caught:
        load_attestations(path, CATALOG.claims, TODAY)
    assert caught.value.place == place


def test_claims_without_findings_are_errors_not_passes() -> None:
    result = evaluate(estate("dev"), catalog=CATALOG, checks={}, today=TODAY)
    for claim_result in result.claims:
        if claim_result.claim.checks:
            assert claim_result.verdict == Verdict.ERROR


def test_policy_text_disagreements_are_findings_on_the_document_with_their_own_gate(tmp_path: Path) -> None:
    from compliance_checks.policy_text import lint_translations
    from compliance_checks.waivers import load_document_waivers

    disagreements = lint_translations(CATALOG)
    result = audit(estate("dev"), disagreements=disagreements)
    # The claims say whether the estate keeps the promise; the text's own defect is reported apart.
    assert claim(result, "RIGHTS-COMPLAINT") == claim(result, "REC-COOPERATIVE-AUDIT") == Verdict.MANUAL
    assert {f.resource_id.rsplit("#", 1)[-1] for f in result.document} >= {"RIGHTS-COMPLAINT", "REC-COOPERATIVE-AUDIT"}
    assert result.exit_code == 0  # not gated by default
    assert audit(estate("dev"), disagreements=disagreements, fail_on_document=True).exit_code == 1
    # The organisation's decision, recorded with a justification and expiry, settles each disagreement.
    entries = "".join(
        f"  - claim: {f.resource_id.rsplit('#', 1)[-1]}\n    justification: decided\n    expires: 2027-01-31\n"
        for f in result.document
    )
    path = write(tmp_path, "w.yaml", "document:\n" + entries)
    decided = load_document_waivers(path, [c.id for c in CATALOG.claims])
    settled = audit(estate("dev"), disagreements=disagreements, fail_on_document=True, document_waivers=decided)
    assert settled.exit_code == 0 and all(f.waived for f in settled.document)
    # An expired decision no longer settles anything.
    late = audit(
        estate("dev"), disagreements=disagreements, fail_on_document=True, document_waivers=decided,
        today=dt.date(2027, 2, 1),
    )  # fmt: skip
    assert late.exit_code == 1


def test_document_waivers_name_known_claims(tmp_path: Path) -> None:
    from compliance_checks.waivers import load_document_waivers

    path = write(tmp_path, "w.yaml", "document:\n  - claim: NOPE-X\n    justification: x\n    expires: 2027-01-01\n")
    with pytest.raises(InputError) as caught:
        load_document_waivers(path, [c.id for c in CATALOG.claims])
    assert caught.value.place == "document[0].claim"
    with pytest.raises(InputError) as caught:
        load_waivers(write(tmp_path, "x.yaml", "waivers: []\nextra: 1\n"), CHECKS)
    assert caught.value.place == "extra"
