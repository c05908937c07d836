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

TECHNICAL_CHECKS: dict[str, tuple[str, ...]] = {
    "SEC-DATA-PROTECTION": (
        "keyvault_rbac_purge_protection",
        "keyvault_public_access_disabled",
        "log_retention_at_most_90_days",
        "diagnostic_settings_enabled",
        "activity_log_alert_network_changes",
    ),
    "SEC-HOSTING-AZURE": ("location_in_allowed_regions", "postgres_geo_backup_in_eu_pair"),
    "SEC-DEV-MFA": (
        "entra_ca_mfa_for_developers",
        "entra_vpn_token_developers_only",
        "rbac_developers_least_privilege",
        "webapp_basic_auth_disabled",
        "webapp_scm_ip_restricted",
    ),
    "SEC-DB-SINGLE-IP-VPN": (
        "postgres_public_access_disabled",
        "postgres_no_firewall_rules",
        "postgres_vnet_integrated",
        "nsg_database_port_two_sources",
        "nsg_deny_all_inbound",
        "vpn_gateway_single_ip_or_entra",
        "entra_vpn_token_developers_only",
        "entra_ca_vpn_allowed_ip_only",
        "probe_database_port_unreachable",
    ),
    "SEC-TLS": (
        "webapp_https_only",
        "webapp_min_tls_version",
        "webapp_ftps_disabled",
        "webapp_custom_domain_sni",
        "postgres_require_secure_transport",
        "postgres_min_tls_version",
        "probe_tls_protocols",
        "probe_http_hsts_redirect",
    ),
    "PRIV-NO-COOKIES": (
        "webapp_client_affinity_disabled",
        "webapp_easy_auth_disabled",
        "probe_browser_no_cookies",
        "probe_http_no_set_cookie",
    ),
    "PRIV-LOCAL-STORAGE": ("probe_browser_local_storage",),
    "PRIV-NO-ANALYTICS": (
        "webapp_no_application_insights",
        "probe_browser_no_trackers",
        "probe_http_csp_no_analytics",
    ),
}
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
    assert [claim.id for claim in catalog.claims] == [*TECHNICAL_CHECKS, *ORGANISATIONAL]


def test_technical_claims_carry_the_agreed_checks(catalog: Catalog) -> None:
    for claim_id, checks in TECHNICAL_CHECKS.items():
        claim = catalog.claim(claim_id)
        assert claim.kind == "technical"
        assert claim.checks == checks, claim_id
        assert not claim.attestation_required, claim_id


def test_organisational_claims_are_attested(catalog: Catalog) -> None:
    for claim_id in ORGANISATIONAL:
        claim = catalog.claim(claim_id)
        assert claim.kind == "organisational"
        assert claim.checks == ()
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


def test_every_referenced_check_exists(catalog: Catalog) -> None:
    from compliance_checks.checks import load_checks

    registered = load_checks()
    missing = [f"{claim.id}: {check}" for claim in catalog.claims for check in claim.checks if check not in registered]
    assert missing == []


def test_check_metadata_and_catalogue_agree(catalog: Catalog) -> None:
    from compliance_checks.checks import load_checks

    registered = load_checks()
    unused = sorted(set(registered) - set(catalog.check_ids()))
    assert unused == [], "checks that verify no claim"
    for check_id, check in registered.items():
        expected = sorted(claim.id for claim in catalog.claims_for_check(check_id))
        assert sorted(check.meta.claims) == expected, check_id


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
    assert len(load_catalog(copy_dir).claims) == len(TECHNICAL_CHECKS) + len(ORGANISATIONAL)


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


def _attested_without_checks(document: dict[str, Any]) -> None:
    document["claims"][0]["checks"] = []
    document["claims"][0]["attestation"]["required"] = True


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
            _set(("claims", 0, "checks"), []),
            "claims.yaml: claims[0]: claim SEC-DATA-PROTECTION has no check",
        ),
        (
            "claims.yaml",
            _attested_without_checks,
            "claims.yaml: claims[0].checks: technical claim SEC-DATA-PROTECTION needs",
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
        ("claims.yaml", _set(("claims", 0, "checks", 0), "Bad-Check"), "claims.yaml: claims[0].checks[0]"),
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
