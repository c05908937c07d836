"""Attestations: the template generated from the catalogue, and what the loader refuses."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from compliance_checks.attestations import PLACEHOLDER, load_attestations, looks_like_path, render_template
from compliance_checks.catalog import load_catalog
from compliance_checks.cli import main
from compliance_checks.errors import InputError

CATALOG = load_catalog()
TODAY = dt.date(2026, 11, 24)
ORGANISATIONAL = [c.id for c in CATALOG.claims if c.attestation_required]
TECHNICAL = [c.id for c in CATALOG.claims if not c.attestation_required]
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "attestations.example.yaml"
STATE = Path(__file__).resolve().parent / "fixtures" / "sources" / "pulumi-stack-export.json"


def entry(claim: str, **fields: str) -> str:
    values = {
        "owner": "Data protection officer",
        "date": "2026-03-01",
        "document": "DPA-2026-014",
        "sha256": '"' + "ab" * 32 + '"',
        "expires": "2027-03-01",
        **fields,
    }
    return f"  - claim: {claim}\n" + "".join(f"    {key}: {value}\n" for key, value in values.items() if value != "-")


def attestations_file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "attestations.yaml"
    path.write_text("attestations:\n" + "".join(entries), encoding="utf-8")
    return path


def refused(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        load_attestations(path, CATALOG.claims, TODAY)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return caught.value


# --- the template ----------------------------------------------------------------------------


def test_the_catalogue_has_organisational_and_technical_claims() -> None:
    # The tests below mean something only if both kinds exist.
    assert ORGANISATIONAL and TECHNICAL
    assert all(CATALOG.claim(c).kind == "organisational" for c in ORGANISATIONAL)


def test_template_has_exactly_one_entry_per_organisational_claim() -> None:
    document = yaml.safe_load(render_template(CATALOG))
    claims = [item["claim"] for item in document["attestations"]]
    assert claims == ORGANISATIONAL  # each once, in catalogue order, no technical claim
    for item in document["attestations"]:
        assert set(item) == {"claim", "owner", "date", "document", "sha256", "expires"}
        assert all(str(item[key]).startswith(PLACEHOLDER) for key in item if key != "claim")


def test_template_says_what_each_attestation_must_show() -> None:
    text = render_template(CATALOG)
    for claim_id in ORGANISATIONAL:
        evidence = " ".join(CATALOG.claim(claim_id).attestation_evidence.split())
        assert f"# Must show: {evidence}" in text


def test_the_unfilled_template_is_refused_naming_the_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "attestations.yaml"
    path.write_text(render_template(CATALOG), encoding="utf-8")
    error = refused(path)
    assert error.place == "attestations[0].owner" and "placeholder" in error.problem


def test_the_filled_template_loads_back(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence" / "record.pdf"
    evidence.parent.mkdir()
    evidence.write_bytes(b"%PDF-1.7 signed record of processing activities\n")
    digest = hashlib.sha256(evidence.read_bytes()).hexdigest()
    filled = {
        "owner": '"Data protection officer"',
        "date": '"2026-03-01"',
        "document": '"evidence/record.pdf"',
        "sha256": f'"{digest}"',
        "expires": '"2027-03-01"',
    }
    text = render_template(CATALOG)
    for key, value in filled.items():
        text = re.sub(rf'(?m)^(    {key}: )"{PLACEHOLDER}[^"]*"$', rf"\g<1>{value}", text)
    path = tmp_path / "attestations.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_attestations(path, CATALOG.claims, TODAY)
    assert list(loaded) == ORGANISATIONAL
    assert {a.status(TODAY) for a in loaded.values()} == {"valid"}
    assert {a.evidence_file for a in loaded.values()} == {evidence}
    assert {a.sha256 for a in loaded.values()} == {digest}


def test_the_example_in_docs_is_the_current_template() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render_template(CATALOG), (
        "regenerate: compliance-checks attestations template > docs/attestations.example.yaml"
    )


def test_cli_prints_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attestations", "template"]) == 0
    assert capsys.readouterr().out == render_template(CATALOG)


def test_cli_without_an_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attestations"]) == 64
    assert capsys.readouterr().err.startswith("usage error: ")


# --- what the loader refuses -----------------------------------------------------------------


@pytest.mark.parametrize("claim_id", TECHNICAL)
def test_an_attestation_for_a_technical_claim_is_an_error(tmp_path: Path, claim_id: str) -> None:
    error = refused(attestations_file(tmp_path, entry(claim_id)))
    assert error.place == "attestations[0].claim"
    assert f"{claim_id} is a technical claim" in error.problem


def test_audit_with_a_technical_claim_attestation_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = attestations_file(tmp_path, entry("REC-BANKING"), entry("SEC-TLS"))
    out = tmp_path / "out"
    code = main(
        ["audit", "--source", "pulumi-state", "--input", str(STATE), "--attestations", str(path), "--out", str(out)]
    )
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: attestations[1].claim: "), err
    assert "SEC-TLS is a technical claim" in lines[0] and "Traceback" not in err
    assert not (out / "results.json").exists()


@pytest.mark.parametrize(
    ("fields", "place", "problem"),
    [
        ({"claim": "NOPE-CLAIM"}, "attestations[0].claim", "unknown claim"),
        ({"owner": "-"}, "attestations[0].owner", "is required"),
        ({"document": "-"}, "attestations[0].document", "is required"),
        ({"sha256": "-"}, "attestations[0].sha256", "is required"),
        ({"expires": "-"}, "attestations[0].expires", "expected a date"),
        ({"date": "-"}, "attestations[0].date", "expected a date"),
        ({"sha256": '"abc"'}, "attestations[0].sha256", "not a SHA-256 hash"),
        ({"sha256": '"' + "g" * 64 + '"'}, "attestations[0].sha256", "not a SHA-256 hash"),
        ({"sha256": '"sha256:' + "a" * 64 + '"'}, "attestations[0].sha256", "not a SHA-256 hash"),
        ({"sha256": "1" * 64}, "attestations[0].sha256", "quoted text"),  # YAML reads it as a number
        ({"sha257": '"x"'}, "attestations[0].sha257", "unknown key"),
        ({"date": "2030-01-01", "expires": "2031-01-01"}, "attestations[0].date", "in the future"),
        ({"expires": "2026-02-01"}, "attestations[0].expires", "before the attestation's date"),
        ({"owner": f'"{PLACEHOLDER}: who signs"'}, "attestations[0].owner", "placeholder"),
    ],
)
def test_bad_entries(tmp_path: Path, fields: dict[str, str], place: str, problem: str) -> None:
    claim = fields.pop("claim", "REC-BANKING")
    error = refused(attestations_file(tmp_path, entry(claim, **fields)))
    assert (error.place, problem in error.problem) == (place, True), str(error)


def test_an_expired_attestation_loads_and_is_expired(tmp_path: Path) -> None:
    loaded = load_attestations(
        attestations_file(tmp_path, entry("REC-BANKING", date="2025-01-01", expires="2026-01-01")),
        CATALOG.claims,
        TODAY,
    )
    assert loaded["REC-BANKING"].status(TODAY) == "expired"


# --- the evidence file -----------------------------------------------------------------------


def evidence(tmp_path: Path, name: str = "dpa.pdf", data: bytes = b"signed DPA\n") -> tuple[Path, str]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_a_matching_local_evidence_file_is_accepted(tmp_path: Path) -> None:
    path, digest = evidence(tmp_path, "records/dpa.pdf")
    loaded = load_attestations(
        attestations_file(tmp_path, entry("REC-BANKING", document="records/dpa.pdf", sha256=f'"{digest.upper()}"')),
        CATALOG.claims,
        TODAY,
    )
    assert loaded["REC-BANKING"].evidence_file == path
    assert loaded["REC-BANKING"].sha256 == digest  # stored in lower case


def test_a_hash_mismatch_is_an_error(tmp_path: Path) -> None:
    path, digest = evidence(tmp_path)
    attestations = attestations_file(tmp_path, entry("REC-BANKING", document="dpa.pdf", sha256=f'"{digest}"'))
    assert load_attestations(attestations, CATALOG.claims, TODAY)["REC-BANKING"].sha256 == digest
    path.write_bytes(b"signed DPA, edited afterwards\n")
    error = refused(attestations)
    assert error.place == "attestations[0].sha256"
    assert "does not match the evidence file" in error.problem
    assert hashlib.sha256(path.read_bytes()).hexdigest() in error.problem


def test_the_evidence_path_is_relative_to_the_attestations_file(tmp_path: Path) -> None:
    _, digest = evidence(tmp_path / "audit", "dpa.pdf")
    attestations = attestations_file(tmp_path / "audit", entry("REC-BANKING", document="dpa.pdf", sha256=f'"{digest}"'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    previous = Path.cwd()
    os.chdir(elsewhere)
    try:
        loaded = load_attestations(attestations, CATALOG.claims, TODAY)
    finally:
        os.chdir(previous)
    assert loaded["REC-BANKING"].evidence_file == tmp_path / "audit" / "dpa.pdf"


def test_a_missing_file_that_looks_like_a_path_is_an_error(tmp_path: Path) -> None:
    error = refused(attestations_file(tmp_path, entry("REC-BANKING", document="records/dpa-2026.pdf")))
    assert error.place == "attestations[0].document" and "does not exist" in error.problem


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_evidence_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "evidence.pdf"
    if kind == "directory":
        target.mkdir()
    else:
        os.mkfifo(target)  # would block a reader forever: refused before it is opened
    error = refused(attestations_file(tmp_path, entry("REC-BANKING", document="evidence.pdf")))
    assert error.place == "attestations[0].document" and "not a regular file" in error.problem


@pytest.mark.parametrize(
    ("reference", "path_like"),
    [
        ("records/dpa.pdf", True),
        ("dpa.pdf", True),
        ("/srv/evidence/dpa", True),
        ("DPA-2026-014", False),
        ("Data processing agreement, ref. DPA-2026-014", False),
        ("https://dms.example.org/records/4711", False),
        ("DPA v1.2", False),
        ("v1.2", False),
    ],
)
def test_which_references_name_files(reference: str, path_like: bool) -> None:
    assert looks_like_path(reference) is path_like


def test_an_external_reference_is_kept_without_a_file(tmp_path: Path) -> None:
    loaded = load_attestations(
        attestations_file(tmp_path, entry("REC-BANKING", document='"https://dms.example.org/records/4711"')),
        CATALOG.claims,
        TODAY,
    )
    assert loaded["REC-BANKING"].evidence_file is None
    assert loaded["REC-BANKING"].document == "https://dms.example.org/records/4711"


def test_results_record_the_evidence_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, digest = evidence(tmp_path, "records/dpa.pdf")
    path = attestations_file(
        tmp_path,
        entry("REC-BANKING", document="records/dpa.pdf", sha256=f'"{digest}"'),
        entry("REC-STOTAX", document="DPA-2026-014"),
    )
    out = tmp_path / "out"
    argv = ["audit", "--source", "pulumi-state", "--input", str(STATE), "--attestations", str(path), "--out", str(out)]
    code = main([*argv, "--format", "json", "-q", "--today", TODAY.isoformat()])
    assert code in (0, 1, 2), capsys.readouterr().err
    claims = {c["id"]: c for c in json.loads((out / "results.json").read_text(encoding="utf-8"))["claims"]}
    banking, stotax = claims["REC-BANKING"]["attestation"], claims["REC-STOTAX"]["attestation"]
    assert (banking["sha256"], banking["evidenceChecked"], banking["status"]) == (digest, True, "valid")
    assert (stotax["sha256"], stotax["evidenceChecked"]) == ("ab" * 32, False)
    assert claims["REC-BANKING"]["verdict"] == "PASS"


@pytest.mark.parametrize(
    "reference",
    ["Data processing agreement " + "with a long description " * 20, "~no-such-user-here", "ref. DPA-2026-014"],
)
def test_free_text_references_are_not_files(tmp_path: Path, reference: str) -> None:
    loaded = load_attestations(
        attestations_file(tmp_path, entry("REC-BANKING", document=json.dumps(reference))), CATALOG.claims, TODAY
    )
    assert loaded["REC-BANKING"].evidence_file is None
