"""The claims catalogue: stable IDs, consistent references, located errors."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance_checks.catalog import CATALOG_DIR, FRAMEWORKS, Catalog, load_catalog
from compliance_checks.errors import CatalogError

REPO_ROOT = Path(__file__).resolve().parents[1]

# The stable IDs of the claims verified by checks. Which checks verify them is
# not restated here: each check names its claims in CheckMeta.claims.
TECHNICAL = (
    "SEC-DATA-PROTECTION",
    "SEC-HOSTING-AZURE",
    "SEC-DEV-MFA",
    "SEC-DB-SINGLE-IP-VPN",
    "SEC-TLS",
    "PRIV-NO-COOKIES",
    "PRIV-LOCAL-STORAGE",
    "PRIV-NO-ANALYTICS",
)
ORGANISATIONAL = (
    "ORG-LAWFUL-BASIS",
    "ORG-CONTROLLER-CONTACT",
    "ORG-DATA-MINIMISATION",
    "ORG-NEWSLETTER-CONSENT",
    "REC-EMPLOYMENT-CONTRACTS",
    "REC-TAX-ADVISORS",
    "REC-STOTAX",
    "REC-BANKING",
    "REC-AKV-COLLECTION",
    "REC-AKV-CREDIT-INFO",
    "REC-COOPERATIVE-AUDIT",
    "NEWS-SUBSCRIPTION",
    "NEWS-UNSUBSCRIBE",
    "RIGHTS-DATA-SUBJECT",
    "RIGHTS-CONTACT",
    "RIGHTS-COMPLAINT",
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# --- content -------------------------------------------------------------------------------


def test_claim_ids_are_the_stable_ones(catalog: Catalog) -> None:
    assert [claim.id for claim in catalog.claims] == [*TECHNICAL, *ORGANISATIONAL]


def test_technical_claims_are_verified_by_checks_not_attestations(catalog: Catalog) -> None:
    for claim_id in TECHNICAL:
        claim = catalog.claim(claim_id)
        assert claim.kind == "technical"
        assert claim.checks, claim_id
        assert not claim.attestation_required, claim_id


def test_claim_checks_are_derived_from_the_checks_metadata(catalog: Catalog) -> None:
    from compliance_checks.checks import load_checks

    registered = load_checks()
    for claim in catalog.claims:
        expected = tuple(sorted(check_id for check_id, check in registered.items() if claim.id in check.meta.claims))
        assert claim.checks == expected, claim.id
    for check_id, check in registered.items():
        assert sorted(c.id for c in catalog.claims_for_check(check_id)) == sorted(check.meta.claims), check_id


def test_the_catalogue_lists_no_checks() -> None:
    # One declaration of claim -> check: CheckMeta.claims. claims.yaml restating it could disagree.
    document = yaml.safe_load((CATALOG_DIR / "claims.yaml").read_text(encoding="utf-8"))
    assert [claim["id"] for claim in document["claims"] if "checks" in claim] == []


def test_organisational_claims_are_attested(catalog: Catalog) -> None:
    for claim_id in ORGANISATIONAL:
        claim = catalog.claim(claim_id)
        assert claim.kind == "organisational"
        assert all(check.startswith("probe_") for check in claim.checks), claim.checks  # only an observed layer
        assert claim.attestation_required
        assert claim.attestation_evidence, f"{claim_id}: say what the attestation must show"


def test_every_claim_has_a_check_or_an_attestation(catalog: Catalog) -> None:
    for claim in catalog.claims:
        assert claim.checks or claim.attestation_required, claim.id


def test_every_claim_has_text_in_both_languages_and_a_control(catalog: Catalog) -> None:
    for claim in catalog.claims:
        assert claim.text_de and claim.text_en, claim.id
        assert claim.controls, claim.id


def test_every_referenced_control_exists(catalog: Catalog) -> None:
    for claim in catalog.claims:
        for control_id in claim.controls:
            assert control_id in catalog.controls, f"{claim.id}: {control_id}"


def test_every_control_keeps_some_claim_true(catalog: Catalog) -> None:
    used = {control_id for claim in catalog.claims for control_id in claim.controls}
    assert sorted(set(catalog.controls) - used) == []


def test_control_paths_exist_in_the_repository(catalog: Catalog) -> None:
    for control in catalog.controls.values():
        assert control.implemented_by, control.id
        for path in control.paths:
            assert (REPO_ROOT / path).is_file(), f"{control.id}: {path} does not exist"


def test_technical_controls_point_at_the_infra_program(catalog: Catalog) -> None:
    for control_id in ("CTL-EU-REGION", "CTL-DB-NSG", "CTL-VPN-GATEWAY", "CTL-TLS-PORTAL", "CTL-CHANGE-ALERT"):
        assert any(path.startswith("infra/") for path in catalog.controls[control_id].paths), control_id
    assert catalog.controls["CTL-APP-LOCALSTORAGE"].is_process
    assert all(
        catalog.controls[c].is_process
        for c in catalog.controls
        if c.startswith("CTL-PROC-") and c != "CTL-PROC-POLICY-REVIEW"
    )


def test_every_registered_check_verifies_a_claim(catalog: Catalog) -> None:
    from compliance_checks.checks import load_checks

    assert catalog.check_ids() == sorted(load_checks())


def test_mappings_name_every_framework_and_look_right(catalog: Catalog) -> None:
    patterns = {
        "gdpr": re.compile(r"^Art\. \d+(\(\d+\))?(\([a-z]\))?$"),
        "tdddg": re.compile(r"^§ 25 Abs\. \d( Nr\. \d)? TDDDG$"),
        "iso27001": re.compile(r"^A\.[5-8]\.\d{1,2} \S.+$"),
        "bsi_c5": re.compile(r"^(OIS|SP|HR|AM|PS|OPS|IDM|CRY|COS|PI|DEV|SSO|SIM|BCM|COM|INQ|PSS)-\d{2} \S.+$"),
        "cis_azure": re.compile(r"^\d+(\.\d+)+ (Ensure|Enable) .+$"),
    }
    for claim in catalog.claims:
        assert tuple(claim.mappings) == FRAMEWORKS, claim.id
        for framework, entries in claim.mappings.items():
            for entry in entries:
                assert patterns[framework].match(entry), f"{claim.id}: {framework}: {entry!r}"
    assert "v2.1.0" in catalog.frameworks["cis_azure"]
    assert "C5:2020" in catalog.frameworks["bsi_c5"]
    assert "27001:2022" in catalog.frameworks["iso27001"]


def test_terminal_storage_claims_map_to_tdddg(catalog: Catalog) -> None:
    for claim_id in ("PRIV-NO-COOKIES", "PRIV-LOCAL-STORAGE", "PRIV-NO-ANALYTICS"):
        assert any(entry.startswith("§ 25") for entry in catalog.claim(claim_id).mappings["tdddg"]), claim_id
    assert "§ 25 Abs. 2 Nr. 2 TDDDG" in catalog.claim("PRIV-LOCAL-STORAGE").mappings["tdddg"]


def test_lookups(catalog: Catalog) -> None:
    assert catalog.claim("SEC-TLS").title
    with pytest.raises(KeyError):
        catalog.claim("NO-SUCH-CLAIM")
    assert [claim.id for claim in catalog.claims_for_check("webapp_https_only")] == ["SEC-TLS"]
    assert catalog.claims_for_check("no_such_check") == []
    assert catalog.policy_path == CATALOG_DIR / "privacy-policy.txt"


def test_claims_and_controls_are_hashable(catalog: Catalog) -> None:
    assert len(set(catalog.claims)) == len(catalog.claims)
    assert len(set(catalog.controls.values())) == len(catalog.controls)
    assert hash(catalog) == hash(catalog)


def test_default_catalogue_is_loaded_once() -> None:
    assert load_catalog() is load_catalog()
    assert load_catalog(CATALOG_DIR) is not load_catalog()


def test_docs_list_every_claim_and_control(catalog: Catalog) -> None:
    text = (REPO_ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    for claim in catalog.claims:
        assert f"`{claim.id}`" in text, claim.id
    for control_id in catalog.controls:
        assert control_id in text, control_id


# --- errors --------------------------------------------------------------------------------


@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    for name in ("claims.yaml", "controls.yaml"):
        shutil.copyfile(CATALOG_DIR / name, tmp_path / name)
    return tmp_path


def _edit(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / name
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _error(directory: Path) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(directory)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_copy_of_the_catalogue_loads(copy_dir: Path) -> None:
    assert len(load_catalog(copy_dir).claims) == len(TECHNICAL) + len(ORGANISATIONAL)


def _registered() -> dict[str, list[str]]:
    from compliance_checks.checks import load_checks

    return {check_id: list(check.meta.claims) for check_id, check in load_checks().items()}


def test_a_new_check_joins_its_claim_with_no_catalogue_edit(copy_dir: Path) -> None:
    check_claims = {**_registered(), "webapp_new_thing": ["SEC-TLS", "PRIV-NO-COOKIES"]}
    catalog = load_catalog(copy_dir, check_claims=check_claims)
    assert "webapp_new_thing" in catalog.claim("SEC-TLS").checks
    assert "webapp_new_thing" in catalog.claim("PRIV-NO-COOKIES").checks
    assert [c.id for c in catalog.claims_for_check("webapp_new_thing")] == ["SEC-TLS", "PRIV-NO-COOKIES"]
    assert catalog.claim("SEC-TLS").checks == tuple(sorted(catalog.claim("SEC-TLS").checks))


def test_injected_check_claims_do_not_touch_the_cached_default() -> None:
    other = load_catalog(check_claims={**_registered(), "webapp_new_thing": ["SEC-TLS"]})
    assert other is not load_catalog()
    assert "webapp_new_thing" not in load_catalog().claim("SEC-TLS").checks


def _without(claim_id: str) -> dict[str, list[str]]:
    """The registered checks with every mention of ``claim_id`` removed (checks naming only it dropped)."""
    result = {}
    for check_id, claims in _registered().items():
        kept = [c for c in claims if c != claim_id]
        if kept:
            result[check_id] = kept
    return result


@pytest.mark.parametrize(
    ("check_claims", "expected"),
    [
        (
            lambda: _without("SEC-HOSTING-AZURE"),
            "claims.yaml: claims[1]: technical claim SEC-HOSTING-AZURE is verified by no check "
            "(no check names it in its CheckMeta.claims",
        ),
        (
            lambda: {**_registered(), "webapp_https_only": ["SEC-TLS", "SEC-NOPE"]},
            "compliance_checks/checks/webapp_https_only.py: CheckMeta.claims[1]: unknown claim 'SEC-NOPE' "
            "(not in claims.yaml)",
        ),
        (
            lambda: {**_registered(), "webapp_https_only": []},
            "compliance_checks/checks/webapp_https_only.py: CheckMeta.claims: names no claim",
        ),
        (
            lambda: {**_registered(), "webapp_https_only": ["SEC-TLS", "SEC-TLS"]},
            "compliance_checks/checks/webapp_https_only.py: CheckMeta.claims[1]: claim 'SEC-TLS' named twice",
        ),
        (
            lambda: {**_registered(), "Bad-Check": ["SEC-TLS"]},
            "compliance_checks/checks/Bad-Check.py: 'Bad-Check' is not a check ID",
        ),
    ],
    ids=["technical-claim-without-check", "unknown-claim", "no-claim", "claim-twice", "bad-check-id"],
)
def test_check_metadata_that_does_not_fit_the_catalogue_is_a_located_error(
    copy_dir: Path, check_claims: Callable[[], dict[str, list[str]]], expected: str
) -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog(copy_dir, check_claims=check_claims())
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(expected)


def test_the_recipients_claims_have_an_observed_layer(catalog: Catalog) -> None:
    rec = [claim for claim in catalog.claims if claim.id.startswith("REC-") and claim.id != "REC-AKV-CREDIT-INFO"]
    assert rec and all(claim.checks == ("probe_browser_recipients_disclosed",) for claim in rec)
    # Obtaining credit information from the AKV discloses nothing to a visitor's browser.
    assert catalog.claim("REC-AKV-CREDIT-INFO").checks == ()


def test_an_attested_claim_may_also_have_probe_checks_only(copy_dir: Path) -> None:
    def attested(document: dict[str, Any]) -> None:
        document["claims"][0]["kind"] = "organisational"
        document["claims"][0]["attestation"]["required"] = True

    _edit(copy_dir, "claims.yaml", attested)
    # A configuration check naming an organisational claim: the estate's settings say nothing of what people do.
    with pytest.raises(CatalogError) as info:
        load_catalog(copy_dir)
    assert str(info.value).endswith("its attestation verifies it") and "\n" not in str(info.value)
    assert "CheckMeta.claims: organisational claim SEC-DATA-PROTECTION may be named only by a probe check" in str(
        info.value
    )
    # A probe check may: the attestation and what the running portal shows decide the claim together.
    probes_only = {**_without("SEC-DATA-PROTECTION"), "probe_tls_protocols": ["SEC-TLS", "SEC-DATA-PROTECTION"]}
    claim = load_catalog(copy_dir, check_claims=probes_only).claim("SEC-DATA-PROTECTION")
    assert claim.checks == ("probe_tls_protocols",) and claim.attestation_required
    # Organisational and attested, no check names it: still verified (by the attestation).
    assert (
        load_catalog(copy_dir, check_claims=_without("SEC-DATA-PROTECTION")).claim("SEC-DATA-PROTECTION").checks == ()
    )


def test_yaml_syntax_error_names_file_and_line(copy_dir: Path) -> None:
    (copy_dir / "claims.yaml").write_text("claims:\n  - id: [SEC-TLS\n", encoding="utf-8")
    message = _error(copy_dir)
    assert message.startswith("claims.yaml: line ")


def test_yaml_syntax_error_in_controls(copy_dir: Path) -> None:
    (copy_dir / "controls.yaml").write_text("controls:\n\t- id: x\n", encoding="utf-8")
    assert _error(copy_dir).startswith("controls.yaml: line ")


def test_missing_file_is_named(copy_dir: Path) -> None:
    (copy_dir / "controls.yaml").unlink()
    assert _error(copy_dir).startswith("controls.yaml: file not found")


Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[str | int, ...], value: Any) -> Mutation:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _delete(path: tuple[str | int, ...]) -> Mutation:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def _duplicate_first_claim(document: dict[str, Any]) -> None:
    document["claims"].append(dict(document["claims"][0]))


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("claims.yaml", _set(("claims",), {"SEC-TLS": 1}), "claims.yaml: claims: expected a non-empty list"),
        ("claims.yaml", _set(("claims", 0, "kind"), "legal"), "claims.yaml: claims[0].kind: unknown kind 'legal'"),
        (
            "claims.yaml",
            _set(("claims", 4, "controls", 1), "CTL-NOPE"),
            "claims.yaml: claims[4].controls[1]: unknown control",
        ),
        ("claims.yaml", _duplicate_first_claim, "claims.yaml: claims[24].id: duplicate claim ID 'SEC-DATA-PROTECTION'"),
        ("claims.yaml", _set(("claims", 10, "attestation", "required"), False), "claims.yaml: claims[10]"),
        (
            "claims.yaml",
            _set(("claims", 0, "checks"), ["webapp_https_only"]),
            "claims.yaml: claims[0].checks: checks are not listed in the catalogue: each check names its claims "
            "in its CheckMeta.claims",
        ),
        (
            "claims.yaml",
            _set(("claims", 2, "attestation", "required"), "yes"),
            "claims[2].attestation.required: expected true or false",
        ),
        (
            "claims.yaml",
            _set(("claims", 1, "text", "de"), []),
            "claims.yaml: claims[1].text.de: expected at least one entry",
        ),
        (
            "claims.yaml",
            _delete(("claims", 3, "mappings", "bsi_c5")),
            "claims.yaml: claims[3].mappings: missing key 'bsi_c5'",
        ),
        ("claims.yaml", _set(("claims", 3, "colour"), "red"), "claims.yaml: claims[3].colour: unknown key"),
        ("claims.yaml", _set(("claims", 0, "id"), "sec tls"), "claims.yaml: claims[0].id: 'sec tls' is not a claim ID"),
        (
            "claims.yaml",
            _set(("non_promises", 0, "language"), "fr"),
            "claims.yaml: non_promises[0].language: unknown language",
        ),
        ("claims.yaml", _delete(("frameworks",)), "claims.yaml: top level: missing key 'frameworks'"),
        ("controls.yaml", _set(("controls", 0, "implemented_by"), []), "controls.yaml: controls[0].implemented_by"),
        ("controls.yaml", _set(("controls", 1, "id"), "CTL-EU-REGION"), "controls.yaml: controls[1].id: duplicate"),
        (
            "controls.yaml",
            _set(("controls", 0, "implemented_by", 0), "/etc/passwd"),
            "controls.yaml: controls[0].implemented_by[0]",
        ),
        ("controls.yaml", _set(("controls",), "none"), "controls.yaml: controls: expected a non-empty list"),
    ],
)
def test_wrong_shape_gives_one_located_line(copy_dir: Path, name: str, change: Mutation, expected: str) -> None:
    _edit(copy_dir, name, change)
    message = _error(copy_dir)
    assert message.startswith(name)
    assert expected in message


def test_document_that_is_not_a_mapping(copy_dir: Path) -> None:
    (copy_dir / "claims.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    assert _error(copy_dir) == "claims.yaml: top level: expected a mapping, got a list"
