"""The policy text: vendored copy, sentences, coverage by the catalogue, and the DE/EN lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance_checks import policy_text
from compliance_checks.catalog import CATALOG_DIR, Catalog, load_catalog
from compliance_checks.errors import InputError
from compliance_checks.policy_text import (
    PolicyText,
    classify,
    compare_texts,
    conflicts,
    coverage,
    default_policy_path,
    extract_facts,
    is_heading,
    lint_claim,
    lint_translations,
    load_policy,
    missing_fragments,
    normalize,
    split_sentences,
    stale_non_promises,
)

from .conftest import missing_prerequisite

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared" / "privacy-policy.txt"
VENDORED = CATALOG_DIR / "privacy-policy.txt"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module", params=["default", "vendored"])
def policy(request: pytest.FixtureRequest) -> PolicyText:
    return load_policy() if request.param == "default" else load_policy(VENDORED)


# --- the vendored copy -----------------------------------------------------------------------


def test_vendored_copy_equals_the_shared_policy_byte_for_byte() -> None:
    if not SHARED.is_file():
        missing_prerequisite(f"{SHARED} is missing", "CI runs with shared/ beside the checkout")
    assert VENDORED.read_bytes() == SHARED.read_bytes(), "update compliance_checks/catalog/privacy-policy.txt"


def test_default_path_prefers_the_shared_file() -> None:
    assert default_policy_path() == (SHARED if SHARED.is_file() else VENDORED)


# --- splitting -------------------------------------------------------------------------------


def test_policy_has_both_parts(policy: PolicyText) -> None:
    assert policy.sentences_de[1] == "Der Schutz Ihrer persönlichen Daten ist uns ein besonderes Anliegen."
    assert policy.sentences_en[0] == "Data Security of the Smart Portal"
    assert "English:" not in policy.german + policy.english
    assert policy.sentences("de") == policy.sentences_de
    assert len(policy.sentences_de) == 36
    assert len(policy.sentences_en) == 36


def test_abbreviations_stay_inside_their_sentences(policy: PolicyText) -> None:
    de, en = policy.sentences_de, policy.sentences_en
    assert any(s.startswith("Da wir uns als Genossenschaft") and s.endswith("PkmG e.V. eingesehen.") for s in de)
    assert any(s.startswith("As a cooperative,") and s.endswith("Prüfungsverband PkmG e.V.") for s in en)
    assert any("Krankenkassen, Knappschaften etc. verschlüsselt via die Software Stotax weiter." in s for s in de)
    assert any(s.startswith("Wir melden") and s.endswith("Stotax weiter.") for s in de)
    assert any(s.startswith("Encrypted data") and s.endswith("etc., via the software Stotax.") for s in en)


def test_urls_and_mail_addresses_do_not_split(policy: PolicyText) -> None:
    assert "Die Adresse der Website lautet: https://portal.smartde.coop." in policy.sentences_de
    assert "https://portal.smartde.coop/" in policy.sentences_de
    assert any(s.endswith("kontaktiert werden.") and "info@smartde.coop" in s for s in policy.sentences_de)
    assert policy.sentences_en[6] == "The website address is: https://portal.smartde.coop."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Eins. Zwei! Drei? vier", ["Eins.", "Zwei!", "Drei? vier"]),
        ("Wir nutzen z. B. Azure. Das ist gut.", ["Wir nutzen z. B. Azure.", "Das ist gut."]),
        (
            "Der Verein PkmG e.V. Berlin prüft. Danach etc. Ende.",
            ["Der Verein PkmG e.V. Berlin prüft.", "Danach etc. Ende."],
        ),
        ("Siehe https://example.org/a.b. Dann mehr.", ["Siehe https://example.org/a.b.", "Dann mehr."]),
        ("Mail an a.b@example.de. Danke.", ["Mail an a.b@example.de.", "Danke."]),
        ("Am 1. Januar beginnt es. Gut.", ["Am 1. Januar beginnt es.", "Gut."]),
        ("Titel\n\nErster Satz\nüber zwei Zeilen. Zweiter.", ["Titel", "Erster Satz über zwei Zeilen.", "Zweiter."]),
        ('Click "Yes." Then go.', ['Click "Yes."', "Then go."]),
        ("e.g. this stays. One\u00a0more.", ["e.g. this stays.", "One more."]),
        ("\u00a0\n\nHeading:\n\u00a0\nBody text.", ["Heading:", "Body text."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_normalize_collapses_every_kind_of_whitespace() -> None:
    assert normalize("  a\u00a0 b\n\tc\r\n d ") == "a b c d"


def test_headings() -> None:
    assert is_heading("Ihre Rechte")
    assert is_heading("Your rights:")
    assert is_heading("https://portal.smartde.coop/")
    assert not is_heading("No analytics tools are used.")
    assert not is_heading('Click "Yes."')


# --- coverage --------------------------------------------------------------------------------


def test_every_claim_fragment_occurs_verbatim(catalog: Catalog, policy: PolicyText) -> None:
    assert missing_fragments(catalog, policy) == []


def test_every_sentence_is_a_claim_or_a_listed_non_promise(catalog: Catalog, policy: PolicyText) -> None:
    assert coverage(catalog, policy) == []
    assert stale_non_promises(catalog, policy) == []


def test_nothing_is_both_a_claim_and_a_non_promise(catalog: Catalog, policy: PolicyText) -> None:
    assert conflicts(catalog, policy) == []
    for status in classify(catalog, policy):
        assert not (status.non_promise and status.claims), status.sentence


def test_sentences_holding_two_claims_are_split(catalog: Catalog, policy: PolicyText) -> None:
    shared = [status for status in classify(catalog, policy) if len(status.claims) > 1]
    assert {status.language for status in shared} == {"de", "en"}
    for status in shared:
        assert status.claims == ("SEC-HOSTING-AZURE", "SEC-DEV-MFA")
        assert status.covered


def test_coverage_reports_what_is_missing(catalog: Catalog, tmp_path: Path) -> None:
    text = VENDORED.read_text(encoding="utf-8")
    extra = text.replace(
        "Dieses Portal verwendet keine Cookies.", "Dieses Portal verwendet keine Cookies. Wir verkaufen nichts."
    )
    path = tmp_path / "policy.txt"
    path.write_text(extra, encoding="utf-8")
    assert coverage(catalog, load_policy(path)) == ["Wir verkaufen nichts."]


def test_partial_coverage_is_not_coverage(catalog: Catalog, tmp_path: Path) -> None:
    text = VENDORED.read_text(encoding="utf-8")
    changed = text.replace(
        "Es werden keine Analytics\nTools verwendet.", "Es werden keine Analytics\nTools verwendet, außer Matomo."
    )
    path = tmp_path / "policy.txt"
    path.write_text(changed, encoding="utf-8")
    policy = load_policy(path)
    assert coverage(catalog, policy) == ["Es werden keine Analytics Tools verwendet, außer Matomo."]
    assert missing_fragments(catalog, policy) == ["PRIV-NO-ANALYTICS [de]: Es werden keine Analytics Tools verwendet."]


# --- loading errors --------------------------------------------------------------------------


def _load_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_policy(path)
    assert "\n" not in str(info.value)
    assert info.value.source == str(path)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    assert _load_error(tmp_path / "nope.txt").problem == "file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert "directory" in _load_error(tmp_path).problem


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Datenschutzerklärung\nEnglish:\nPrivacy\n".encode("latin-1"))
    error = _load_error(path)
    assert error.place == "byte 15"
    assert error.problem == "not valid UTF-8"


@pytest.mark.parametrize(
    ("text", "place", "problem"),
    [
        ("Nur Deutsch.\n", "", "no line 'English:'"),
        ("Deutsch.\nEnglish:\nEnglish.\nEnglish:\nMore.\n", "line 4", "a second line 'English:'"),
        ("\u00a0\nEnglish:\nEnglish.\n", "line 2", "no German text"),
        ("Deutsch.\nEnglish:\n\n", "line 2", "no English text"),
    ],
)
def test_wrong_structure(tmp_path: Path, text: str, place: str, problem: str) -> None:
    path = tmp_path / "policy.txt"
    path.write_text(text, encoding="utf-8")
    error = _load_error(path)
    assert error.place == place
    assert error.problem.startswith(problem)


# --- translation lint ------------------------------------------------------------------------


def test_lint_finds_the_country_and_the_frequency(catalog: Catalog) -> None:
    found = {(d.claim_id, d.aspect): d for d in lint_translations(catalog)}
    country = found[("RIGHTS-COMPLAINT", "country")]
    assert (country.de, country.en) == ("Deutschland", "Austria")
    frequency = found[("REC-COOPERATIVE-AUDIT", "frequency")]
    assert (frequency.de, frequency.en) == ("regelmäßig", "annual")
    for disagreement in found.values():
        assert disagreement.message.startswith(disagreement.claim_id + ": ")
        assert "\n" not in disagreement.message


AGREEING = (
    "SEC-DATA-PROTECTION",
    "SEC-HOSTING-AZURE",
    "SEC-DEV-MFA",
    "SEC-DB-SINGLE-IP-VPN",
    "SEC-TLS",
    "PRIV-NO-COOKIES",
    "PRIV-LOCAL-STORAGE",
    "PRIV-NO-ANALYTICS",
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
    "NEWS-SUBSCRIPTION",
    "NEWS-UNSUBSCRIBE",
    "RIGHTS-CONTACT",
)


@pytest.mark.parametrize("claim_id", AGREEING)
def test_lint_is_quiet_where_the_versions_agree(catalog: Catalog, claim_id: str) -> None:
    assert lint_claim(catalog.claim(claim_id)) == []


def test_lint_on_the_current_text_is_exactly_this(catalog: Catalog) -> None:
    assert sorted((d.claim_id, d.aspect, d.de, d.en) for d in lint_translations(catalog)) == [
        ("REC-COOPERATIVE-AUDIT", "frequency", "regelmäßig", "annual"),
        ("RIGHTS-COMPLAINT", "country", "Deutschland", "Austria"),
        ("RIGHTS-DATA-SUBJECT", "qualifier", "grundsätzlich", ""),
    ]


def test_rights_lists_are_compared_item_by_item(catalog: Catalog) -> None:
    claim = catalog.claim("RIGHTS-DATA-SUBJECT")
    de = {fact.value for fact in extract_facts(" ".join(claim.text_de), "de") if fact.aspect == "rights"}
    en = {fact.value for fact in extract_facts(" ".join(claim.text_en), "en") if fact.aspect == "rights"}
    expected = {
        "access",
        "rectification",
        "erasure",
        "restriction",
        "portability",
        "withdrawal of consent",
        "objection",
    }
    assert de == en == expected
    shorter = claim.text_en[0].replace(" data portability,", "")
    (missing,) = [d for d in compare_texts("X", claim.text_de[0], shorter) if d.aspect == "rights"]
    assert (missing.aspect, missing.de, missing.en) == ("rights", "Datenübertragbarkeit", "")


@pytest.mark.parametrize(
    ("de", "en", "aspect", "de_fact", "en_fact"),
    [
        ("Wir prüfen monatlich.", "We check weekly.", "frequency", "monatlich", "weekly"),
        ("Die Daten liegen in Irland.", "The data is stored in Sweden.", "country", "Irland", "Sweden"),
        ("Logs werden 30 Tage gespeichert.", "Logs are kept for 90 days.", "number", "30", "90"),
        ("Zugang über drei Schritte.", "Access through two steps.", "number", "drei", "two"),
        (
            "Schreiben Sie an info@example.de.",
            "Write to help@example.de.",
            "contact",
            "info@example.de",
            "help@example.de",
        ),
        ("Wir verwenden Cookies.", "We do not use cookies.", "negation", "", "not"),
        ("Zugriff per VPN.", "Access through a tunnel.", "entity", "VPN", ""),
        ("Wir speichern nur Namen.", "We store names.", "exclusivity", "nur", ""),
        ("Wir prüfen jährlich.", "We check biennially.", "frequency", "jährlich", "biennial"),
    ],
)
def test_lint_compares_facts_generically(de: str, en: str, aspect: str, de_fact: str, en_fact: str) -> None:
    (disagreement,) = compare_texts("X-TEST", de, en)
    assert (disagreement.aspect, disagreement.de, disagreement.en) == (aspect, de_fact, en_fact)


@pytest.mark.parametrize(
    ("de", "en"),
    [
        ("Wir prüfen jährlich.", "We check annually."),
        ("In Österreich ist das die Datenschutzbehörde.", "In Austria, this is the Datenschutzbehörde."),
        ("Keine Cookies, nur Local Storage.", "No cookies, only Local Storage."),
        ("Daten halbjährlich prüfen.", "Check data semi-annually."),
        ("Nicht erreichbare Server.", "Unreachable servers."),
        ("Rechte auf Auskunft und Löschung.", "Rights to access and erasure."),
    ],
)
def test_lint_accepts_faithful_translations(de: str, en: str) -> None:
    assert compare_texts("X-TEST", de, en) == []


def test_lint_knows_no_claim_by_name() -> None:
    source = Path(policy_text.__file__).read_text(encoding="utf-8")
    for claim_id in ("RIGHTS-COMPLAINT", "REC-COOPERATIVE-AUDIT", "RIGHTS-DATA-SUBJECT"):
        assert claim_id not in source


def test_extract_facts_rejects_unknown_language() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        extract_facts("Bonjour.", "fr")
