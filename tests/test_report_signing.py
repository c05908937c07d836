"""Signed report bundles: a pinned Ed25519 key makes an edited and re-sealed report fail verification.

Every case runs the real CLI (``compliance_checks.cli.main``) on a copy of one
real signed audit of the dev stack (``audit --source synth --stack dev
--sign-key``), made once for the module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from compliance_checks.cli import main
from compliance_checks.report.manifest import CHECKSUM_NAME, MANIFEST_NAME, SIGNATURE_NAME
from tests.support.cli import run_cli


@dataclass(frozen=True)
class Keys:
    private: Path
    public: Path
    other_private: Path
    other_public: Path


@dataclass(frozen=True)
class Signed:
    report: Path
    keys: Keys
    audit_output: str


def _keygen(out: Path) -> None:
    assert main(["keygen", "--out", str(out)]) == 0


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    base = tmp_path_factory.mktemp("signing")
    keys = Keys(base / "key", base / "key.pub", base / "other", base / "other.pub")
    _keygen(keys.private)
    _keygen(keys.other_private)
    report = base / "report"
    # A fresh process, as a user runs it: its terminal output is checked by the canary too.
    run = run_cli("audit", "--source", "synth", "--stack", "dev", "--out", str(report), "--sign-key", str(keys.private))
    output = run.stdout + run.stderr
    assert run.returncode in (0, 1), output  # the verdicts are another test's business; the report must be complete
    assert (report / SIGNATURE_NAME).is_file()
    return Signed(report, keys, output)


@pytest.fixture
def bundle(signed: Signed, tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(signed.report, copy, symlinks=True)
    return copy


def verify(directory: Path, public_key: Path | None, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    argv = ["verify-report", str(directory)] + ([] if public_key is None else ["--public-key", str(public_key)])
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str, path: Path) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}: "), lines[0]
    assert "Traceback" not in err
    return lines[0]


def reseal(directory: Path) -> None:
    """What a forger without the private key does: new hashes for every file, a new manifest and checksum."""
    manifest_path = directory / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["artefacts"]:
        data = (directory / entry["path"]).read_bytes()
        entry["size"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    body = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    manifest_path.write_bytes(body)
    (directory / CHECKSUM_NAME).write_text(f"{hashlib.sha256(body).hexdigest()}  {MANIFEST_NAME}\n", encoding="utf-8")


def edit_results(directory: Path) -> None:
    """A forger's edit: every claim kept, exit code 0, a finding's message rewritten."""
    results = directory / "results.json"
    before = results.read_bytes()
    document = json.loads(before)
    assert document["findings"] and document["claims"], "nothing to forge"
    for claim in document["claims"]:
        claim["verdict"] = "PASS"
    document["summary"]["exitCode"] = 0
    document["findings"][0]["message"] = "forged: " + document["findings"][0]["message"]
    results.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    assert results.read_bytes() != before


def public_fingerprint(public_pem: Path) -> str:
    key = serialization.load_pem_public_key(public_pem.read_bytes())
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


# --- the signed report verifies -------------------------------------------------------------------------------


def test_untouched_report_verifies_with_the_pinned_key(
    bundle: Path, signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = verify(bundle, signed.keys.public, capsys)
    assert code == 0, out + err
    fingerprint = public_fingerprint(signed.keys.public)
    assert out.startswith("OK ") and f"signed by the pinned key {fingerprint}" in out
    # The manifest names the key that signed it: the SHA-256 of the raw public key.
    manifest = json.loads((bundle / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["signature"] == {"algorithm": "Ed25519", "publicKeySha256": fingerprint, "file": SIGNATURE_NAME}
    # The detached signature is over the exact bytes of manifest.json.
    key = serialization.load_pem_public_key(signed.keys.public.read_bytes())
    key.verify((bundle / SIGNATURE_NAME).read_bytes(), (bundle / MANIFEST_NAME).read_bytes())  # type: ignore[call-arg, union-attr]


def test_without_a_pinned_key_only_integrity_is_claimed(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = verify(bundle, None, capsys)
    assert code == 0
    assert "Integrity only, not authenticity" in out and "--public-key" in out
    assert "signed by" not in out


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_the_signature_without_this_tool(bundle: Path, signed: Signed) -> None:
    """The documented independent check: the raw Ed25519 signature over the raw manifest bytes."""
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(signed.keys.public), "-rawin"]
    command += ["-in", str(bundle / MANIFEST_NAME), "-sigfile", str(bundle / SIGNATURE_NAME)]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    edit_results(bundle)
    reseal(bundle)
    assert subprocess.run(command, capture_output=True, check=False).returncode != 0


# --- what a pinned key refuses ----------------------------------------------------------------------------------


def test_edited_and_resealed_report_fails(bundle: Path, signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    edit_results(bundle)
    reseal(bundle)
    # The hashes alone cannot tell: that is the hole the signature closes.
    assert verify(bundle, None, capsys)[0] == 0
    code, out, err = verify(bundle, signed.keys.public, capsys)
    assert code == 1 and not err
    assert out.splitlines() == [out.strip()] and out.startswith(f"NOT AUTHENTIC {MANIFEST_NAME}: ")
    assert "edited or re-sealed" in out


def test_resealed_and_signed_with_another_key_fails(
    bundle: Path, signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_results(bundle)
    other = serialization.load_pem_private_key(signed.keys.other_private.read_bytes(), password=None)
    assert isinstance(other, Ed25519PrivateKey)
    manifest = json.loads((bundle / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["signature"]["publicKeySha256"] = public_fingerprint(signed.keys.other_public)
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    reseal(bundle)
    (bundle / SIGNATURE_NAME).write_bytes(other.sign((bundle / MANIFEST_NAME).read_bytes()))
    assert verify(bundle, signed.keys.other_public, capsys)[0] == 0  # a consistent forgery under the forger's key
    code, out, _ = verify(bundle, signed.keys.public, capsys)
    assert code == 1 and "signed with another key" in out and public_fingerprint(signed.keys.public) in out


def test_wrong_pinned_key_fails(bundle: Path, signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = verify(bundle, signed.keys.other_public, capsys)
    assert code == 1
    assert out.startswith("NOT AUTHENTIC") and "signed with another key" in out
    assert public_fingerprint(signed.keys.other_public) in out


def test_removed_signature_fails_when_a_key_is_pinned(
    bundle: Path, signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    (bundle / SIGNATURE_NAME).unlink()
    code, out, _ = verify(bundle, signed.keys.public, capsys)
    assert code == 1 and out.startswith(f"NOT AUTHENTIC {SIGNATURE_NAME}: missing") and "not signed" in out
    assert verify(bundle, None, capsys)[0] == 0  # unpinned, an unsigned report is only checked for integrity


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda sig: sig[:-1] + bytes([sig[-1] ^ 1]), "does not hold"),
        (lambda sig: sig[:10], "malformed"),
        (lambda sig: b"", "malformed"),
    ],
    ids=["one-bit-flipped", "truncated", "empty"],
)
def test_damaged_signature_fails(
    bundle: Path, signed: Signed, capsys: pytest.CaptureFixture[str], damage: object, expected: str
) -> None:
    path = bundle / SIGNATURE_NAME
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    code, out, _ = verify(bundle, signed.keys.public, capsys)
    assert code == 1 and expected in out


def test_edited_report_without_reseal_fails_on_the_hashes(
    bundle: Path, signed: Signed, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_results(bundle)
    code, out, _ = verify(bundle, signed.keys.public, capsys)
    assert code == 1 and out.startswith("TAMPERED results.json: ")


def _outside_copy(bundle: Path, name: str) -> Path:
    outside = bundle.parent / f"outside-{name}"
    shutil.copyfile(bundle / name, outside)
    return outside


@pytest.mark.parametrize("name", ["results.json", MANIFEST_NAME, SIGNATURE_NAME])
@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "unpinned"])
def test_symlinked_file_fails(
    bundle: Path, signed: Signed, capsys: pytest.CaptureFixture[str], name: str, pinned: bool
) -> None:
    """A link to identical bytes still fails: what it points at can change after the check."""
    outside = _outside_copy(bundle, name)
    (bundle / name).unlink()
    (bundle / name).symlink_to(outside)
    code, out, err = verify(bundle, signed.keys.public if pinned else None, capsys)
    if name == SIGNATURE_NAME and not pinned:
        assert code == 1 and f"{name}: a symbolic link" in out  # even unread, a linked signature is not the report's
        return
    assert code == 1, out + err
    assert f"{name}: a symbolic link" in out and not err


def test_symlinked_evidence_folder_fails(bundle: Path, signed: Signed, capsys: pytest.CaptureFixture[str]) -> None:
    # A bundle with probe evidence (evidence/...) listed in the manifest, its folder replaced by a link.
    real = bundle.parent / "real-evidence"
    real.mkdir()
    (real / "page-01.png").write_bytes(b"png")
    (bundle / "evidence").symlink_to(real)
    manifest = json.loads((bundle / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["artefacts"].append(
        {"path": "evidence/page-01.png", "size": 3, "sha256": hashlib.sha256(b"png").hexdigest()}
    )
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    reseal(bundle)
    code, out, _ = verify(bundle, None, capsys)
    assert code == 1 and "evidence/page-01.png: a symbolic link (or inside one)" in out


# --- bad keys: one line naming the file, exit 2 ------------------------------------------------------------------


def _rsa_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _encrypted_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )


BAD_PRIVATE = {
    "empty": (b"", "not a PEM PKCS#8 private key"),
    "garbage": (
        b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
        "not a PEM PKCS#8 private key",
    ),
    "rsa": (_rsa_private_pem(), "not an Ed25519 key"),
    "encrypted": (_encrypted_pem(), "encrypted"),
}


@pytest.mark.parametrize("case", sorted(BAD_PRIVATE))
def test_bad_signing_key_is_one_line_exit_2_and_no_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    content, expected = BAD_PRIVATE[case]
    key = tmp_path / "bad.pem"
    key.write_bytes(content)
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["audit", "--out", str(out), "--quiet", "--sign-key", str(key)]) == 2
    assert expected in one_error_line(capsys.readouterr().err, key)
    assert not out.exists()  # refused before anything was written


def test_public_key_given_as_signing_key(signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["audit", "--out", str(tmp_path / "o"), "--quiet", "--sign-key", str(signed.keys.public)]) == 2
    assert "holds a public key" in one_error_line(capsys.readouterr().err, signed.keys.public)


def test_missing_key_from_the_environment_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-key"
    monkeypatch.setenv("COMPLIANCE_SIGN_KEY", str(missing))
    capsys.readouterr()
    assert main(["audit", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    line = one_error_line(capsys.readouterr().err, missing)
    assert "file not found" in line and "$COMPLIANCE_SIGN_KEY" in line


def test_signing_key_from_the_environment_signs(
    signed: Signed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMPLIANCE_SIGN_KEY", str(signed.keys.other_private))
    out = tmp_path / "o"
    assert main(["audit", "--out", str(out), "--quiet", "--format", "json"]) in (0, 1)
    assert verify(out, signed.keys.other_public, capsys)[0] == 0
    assert verify(out, signed.keys.public, capsys)[0] == 1


@pytest.mark.parametrize("case", ["missing", "directory", "private-key", "rsa-public", "garbage"])
def test_bad_public_key_is_one_line_exit_2(
    bundle: Path, signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    path = tmp_path / case
    if case == "directory":
        path.mkdir()
    elif case == "private-key":
        path = signed.keys.private
    elif case == "rsa-public":
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
        path.write_bytes(
            rsa_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    elif case == "garbage":
        path.write_bytes(b"\x00\xff not a key")
    code, out, err = verify(bundle, path, capsys)
    assert code == 2 and not out
    line = one_error_line(err, path)
    if case == "private-key":
        assert "holds a private key" in line


# --- the private key never leaks ---------------------------------------------------------------------------------


def test_canary_private_key_never_appears_in_the_report(signed: Signed) -> None:
    pem = signed.keys.private.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    der = base64.b64decode(body)
    canaries = {
        "pem body": body,
        "der": der,
        "seed": seed,
        "seed hex": seed.hex().encode(),
        "seed base64": base64.b64encode(seed).rstrip(b"="),
        "seed base64url": base64.urlsafe_b64encode(seed).rstrip(b"="),
    }
    files = [path for path in signed.report.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {"results.json", "report.html", MANIFEST_NAME, SIGNATURE_NAME}
    for path in files:
        data = path.read_bytes()
        for name, canary in canaries.items():
            assert canary not in data, f"{path.name} holds the private key ({name})"
    for name, canary in canaries.items():
        assert canary.decode("latin-1") not in signed.audit_output, name


# --- keygen and replacing a signed report ------------------------------------------------------------------------


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private = tmp_path / "k"
    capsys.readouterr()
    assert main(["keygen", "--out", str(private)]) == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    public = tmp_path / "k.pub"
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert public_fingerprint(public) in out
    before = private.read_bytes()
    assert main(["keygen", "--out", str(private)]) == 2  # never over an existing key
    assert "already exists" in one_error_line(capsys.readouterr().err, private)
    assert private.read_bytes() == before


def test_an_unsigned_audit_replaces_a_signed_report_without_its_signature(
    signed: Signed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "again"
    shutil.copytree(signed.report, out)
    assert main(["audit", "--out", str(out), "--quiet", "--format", "json"]) in (0, 1)  # manifest.sig is a report file
    assert not (out / SIGNATURE_NAME).exists()  # a stale signature never survives beside a new manifest
    assert "signature" not in json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    code, output, _ = verify(out, signed.keys.public, capsys)
    assert code == 1 and "not signed" in output
