"""`compliance-checks policy-text`: the data-security section from the verified claims; suggested corrections."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.catalog import load_catalog
from compliance_checks.cli import main
from compliance_checks.policy_text import (
    SECTION_HEADINGS,
    compare_texts,
    lint_translations,
    load_policy,
    normalize,
    render_section,
    section_claims,
    section_paragraphs,
)

CATALOG = load_catalog()
POLICY = load_policy(CATALOG.policy_path)
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "results" / "sample.json"
SECTION = ["SEC-HOSTING-AZURE", "SEC-DEV-MFA", "SEC-DB-SINGLE-IP-VPN", "SEC-TLS"]


def fragments(claim_id: str, language: str) -> list[str]:
    return [normalize(text) for text in CATALOG.claim(claim_id).text(language)]


def results(tmp_path: Path, verdicts: dict[str, str], *, drop: tuple[str, ...] = ()) -> Path:
    """The sample results with the section's claims as in the catalogue and the given verdicts."""
    document: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    claims = {c["id"]: c for c in document["claims"]}
    template = claims["SEC-TLS"]
    for claim_id in SECTION:
        claim = claims.setdefault(claim_id, copy.deepcopy(template))
        mine = CATALOG.claim(claim_id)
        claim.update(id=claim_id, title=mine.title, text={"de": list(mine.text_de), "en": list(mine.text_en)})
        claim["verdict"] = verdicts.get(claim_id, "PASS")
    document["claims"] = [c for c in claims.values() if c["id"] not in drop]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["policy-text", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the section -----------------------------------------------------------------------------


def test_the_section_holds_the_four_security_claims() -> None:
    assert section_claims(CATALOG, POLICY) == SECTION


def test_without_results_the_section_is_the_policy_verbatim_and_says_nothing_was_verified(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys)
    assert code == 0
    assert "nothing was verified" in err
    for language in ("de", "en"):
        assert SECTION_HEADINGS[language] in out
        for block in section_paragraphs(CATALOG, POLICY, language):
            assert " ".join(block) in out  # every sentence of the section, as the policy writes it
        for claim_id in SECTION:
            assert all(fragment in out for fragment in fragments(claim_id, language)), (claim_id, language)
    assert out.index(SECTION_HEADINGS["de"]) < out.index(SECTION_HEADINGS["en"])


@pytest.mark.parametrize(("lang", "absent"), [("de", "en"), ("en", "de")])
def test_one_language(capsys: pytest.CaptureFixture[str], lang: str, absent: str) -> None:
    code, out, _ = run(capsys, "--lang", lang)
    assert code == 0
    assert fragments("SEC-TLS", lang)[0] in out and fragments("SEC-TLS", absent)[0] not in out
    assert SECTION_HEADINGS[absent] not in out


def test_a_failing_tls_claim_is_not_printed_as_a_promise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = results(tmp_path, {"SEC-TLS": "FAIL"})
    code, out, err = run(capsys, "--results", str(path))
    assert code == 1  # a promise is broken
    for language in ("de", "en"):
        assert not any(fragment in out for fragment in fragments("SEC-TLS", language))
        assert "SSL" not in out
        for claim_id in ("SEC-HOSTING-AZURE", "SEC-DEV-MFA", "SEC-DB-SINGLE-IP-VPN"):
            assert all(fragment in out for fragment in fragments(claim_id, language)), (claim_id, language)
    withheld = [line for line in err.splitlines() if line.startswith("withheld ")]
    assert len(withheld) == 1 and withheld[0].startswith("withheld SEC-TLS (FAIL): FAIL in ")
    assert "webapp_min_tls_version FAIL" in withheld[0]  # the reason comes from the results' findings
    assert "nothing was verified" not in err


def test_everything_passing_prints_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--results", str(results(tmp_path, {})))
    assert (code, err) == (0, "")
    assert out == render_section(CATALOG, POLICY, None).text()


@pytest.mark.parametrize("verdict", ["ERROR", "MANUAL", "NOT_APPLICABLE"])
def test_only_pass_is_a_promise(tmp_path: Path, capsys: pytest.CaptureFixture[str], verdict: str) -> None:
    code, out, err = run(capsys, "--results", str(results(tmp_path, {"SEC-DB-SINGLE-IP-VPN": verdict})))
    assert code == 2  # could not verify
    assert not any(f in out for language in ("de", "en") for f in fragments("SEC-DB-SINGLE-IP-VPN", language))
    assert f"withheld SEC-DB-SINGLE-IP-VPN ({verdict})" in err


def test_a_withheld_claim_keeps_a_fragment_that_stands_alone_and_drops_one_that_cannot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "Das Smart Portal ist ... gespeichert und ist dem ... Team ... zugänglich ...": one sentence, two claims.
    code, out, err = run(capsys, "--results", str(results(tmp_path, {"SEC-DEV-MFA": "FAIL"})))
    assert code == 1
    assert "Das Smart Portal ist in der Azure Infrastruktur gespeichert." in out
    assert "The Smart Portal is stored in the Azure infrastructure." in out
    assert "Henck" not in out and "two-step" not in out
    code, out, err = run(capsys, "--results", str(results(tmp_path, {"SEC-HOSTING-AZURE": "FAIL"})))
    assert code == 1
    assert "Azure" not in out and "Henck" not in out  # the MFA fragment has no subject of its own
    assert "withheld SEC-DEV-MFA (PASS): verified, but its words do not form a sentence" in err
    assert "withheld SEC-HOSTING-AZURE (FAIL)" in err


def test_a_claim_missing_from_the_results_is_withheld(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--results", str(results(tmp_path, {}, drop=("SEC-TLS",))))
    assert code == 2
    assert "SSL" not in out
    assert "withheld SEC-TLS (NOT_AUDITED)" in err


def test_a_claim_verified_with_other_words_is_withheld(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = results(tmp_path, {})
    document = json.loads(path.read_text(encoding="utf-8"))
    for claim in document["claims"]:
        if claim["id"] == "SEC-TLS":
            claim["text"]["en"] = ["Data transmitted through the Smart Portal is protected by TLS 1.0."]
    path.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = run(capsys, "--results", str(path))
    assert code == 2 and "SSL" not in out
    assert "withheld SEC-TLS (TEXT_CHANGED)" in err


def test_out_writes_the_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "deep" / "section.txt"
    code, out, _ = run(capsys, "--results", str(results(tmp_path, {"SEC-TLS": "FAIL"})), "--out", str(target))
    assert (code, out) == (1, "")
    text = target.read_text(encoding="utf-8")
    assert SECTION_HEADINGS["de"] in text and SECTION_HEADINGS["en"] in text and "SSL" not in text


@pytest.mark.parametrize("content", [b"{", b"[]", b'{"schemaVersion": "1.0"}'])
def test_a_bad_results_file_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(content)
    code, out, err = run(capsys, "--results", str(path))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}")


def test_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--lang", "fr")
    assert code == 64 and err.startswith("usage error: ")


# --- suggested corrections -------------------------------------------------------------------

DISAGREEMENTS = lint_translations(CATALOG)


def test_the_shipped_policy_has_disagreements() -> None:
    assert {d.claim_id for d in DISAGREEMENTS} == {"REC-COOPERATIVE-AUDIT", "RIGHTS-DATA-SUBJECT", "RIGHTS-COMPLAINT"}


@pytest.mark.parametrize("disagreement", DISAGREEMENTS, ids=lambda d: f"{d.claim_id}-{d.aspect}")
def test_each_shipped_disagreement_has_a_suggestion_that_resolves_it(disagreement: Any) -> None:
    de, en = disagreement.suggestion_de, disagreement.suggestion_en
    assert de and en and disagreement.suggestion_note
    claim = CATALOG.claim(disagreement.claim_id)
    # The suggestion changes the text, and the two suggested sentences agree on the aspect.
    assert (de, en) != (" ".join(claim.text_de), " ".join(claim.text_en))
    assert not [d for d in compare_texts(claim.id, de, en) if d.aspect == disagreement.aspect]


def test_the_shipped_suggestions() -> None:
    by_claim = {d.claim_id: d for d in DISAGREEMENTS}
    audit = by_claim["REC-COOPERATIVE-AUDIT"]  # the German (original) value is kept; the English follows it
    assert audit.suggestion_de == normalize(CATALOG.claim("REC-COOPERATIVE-AUDIT").text_de[0])
    assert audit.suggestion_en is not None and audit.suggestion_en.startswith(
        "As a cooperative, we undergo a regular audit"
    )
    assert "jährlichen Prüfung" in audit.suggestion_note  # the other choice, for the organisation
    complaint = by_claim["RIGHTS-COMPLAINT"]
    assert complaint.suggestion_de == "In Deutschland ist dies die Datenschutzbehörde."
    assert complaint.suggestion_en == "In Germany, this is the Datenschutzbehörde (Data Protection Authority)."
    rights = by_claim["RIGHTS-DATA-SUBJECT"]  # a hedge only one text has is dropped
    assert rights.suggestion_de is not None and "grundsätzlich" not in rights.suggestion_de
    assert rights.suggestion_de.startswith("Ihnen stehen die Rechte auf Auskunft")
    assert rights.suggestion_en == normalize(CATALOG.claim("RIGHTS-DATA-SUBJECT").text_en[0])


@pytest.mark.parametrize(
    ("german", "english", "expected_en"),
    [
        ("Wir prüfen jährlich.", "We check monthly.", "We check annually."),  # an adverb stays one
        ("Eine regelmäßige Prüfung.", "An annual audit.", "A regular audit."),  # the article follows
        ("Kontakt: a@example.org", "Contact: b@example.org", "Contact: a@example.org"),
        ("Drei Tage.", "Two days.", "Three days."),
        ("Sie haben Rechte.", "You have, in principle, rights.", "You have rights."),
        ("Sie haben Rechte.", "Generally, you have rights.", "You have rights."),
    ],
)
def test_derived_suggestions(german: str, english: str, expected_en: str) -> None:
    (found,) = compare_texts("X-TEST", german, english)
    assert found.suggestion_en == expected_en
    assert not compare_texts("X-TEST", found.suggestion_de or "", found.suggestion_en or "")


@pytest.mark.parametrize(
    ("german", "english"),
    [
        ("Wir nutzen kein X.", "We use X."),  # a negation: which is right cannot be derived
        ("Grundsätzlich stehen Ihnen Rechte zu.", "You have rights."),  # dropping it would make a question
        ("Die Henck GmbH prüft.", "The team checks."),  # a name only one text has
        ("In Deutschland und Österreich.", "In France."),  # several values differ
    ],
)
def test_no_suggestion_is_invented(german: str, english: str) -> None:
    (found,) = compare_texts("X-TEST", german, english)
    assert found.suggestion_de is None and found.suggestion_en is None
    assert found.suggestion_note.startswith("No safe suggestion: ")


def test_a_printed_claim_says_which_of_its_layers_did_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The default offline audit: SEC-TLS passes on the declared layer only; the observed one did not run.
    out = tmp_path / "audit"
    assert main(["audit", "--quiet", "--format", "json", "--out", str(out)]) == 0
    capsys.readouterr()
    code, printed, notes = run(capsys, "--lang", "en", "--results", str(out / "results.json"))
    assert code == 0 and "protected by SSL" in printed
    assert "printed SEC-TLS, verified on the layers that ran; observed NOT RUN — add --probe URL" in notes
    # A claim whose every layer ran says nothing more.
    assert "printed SEC-HOSTING-AZURE" not in notes
