"""Ed25519 signatures over a report's manifest: evidence that cannot be re-sealed without the private key.

The SHA-256 manifest (:mod:`.manifest`) shows accidental damage, but anyone who
can write the report directory can edit ``results.json``, recompute the hashes
and write a new manifest. A signature closes that: ``audit --sign-key FILE``
(or ``$COMPLIANCE_SIGN_KEY``) signs the exact bytes of ``manifest.json`` with
the user's Ed25519 private key and writes the 64 raw signature bytes to
``manifest.sig`` beside it. The manifest names the key that signs it
(``signature.publicKeySha256``: the SHA-256 of the 32 raw public-key bytes), so
a reader can tell which key to ask for. ``verify-report --public-key FILE``
checks the signature with a public key the verifier pinned (got from the signer
by another channel), before any hash: a manifest whose signature does not hold
is not trusted for the hashes either.

The raw signature over the raw file is what ``openssl pkeyutl -verify -pubin
-inkey key.pub -rawin -in manifest.json -sigfile manifest.sig`` checks, so a
verifier does not need this tool.

Keys are PEM: the private key unencrypted PKCS#8 (``-----BEGIN PRIVATE
KEY-----``), the public key SubjectPublicKeyInfo (``-----BEGIN PUBLIC
KEY-----``); ``keygen`` writes both. A key file that cannot be read or is not
such a key is an InputError naming the file (exit 2); the key's bytes never
appear in a message or a report.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from compliance_checks.errors import InputError, UsageError
from compliance_checks.input_files import read_input_bytes
from compliance_checks.report.manifest import MANIFEST_NAME, SIGNATURE_NAME

ALGORITHM = "Ed25519"
SIGN_KEY_ENV = "COMPLIANCE_SIGN_KEY"
"""Names the private key file when ``--sign-key`` is not given (a CI secret mounted as a file, say)."""
SIGNATURE_BYTES = 64
"""An Ed25519 signature is 64 bytes (RFC 8032, section 5.1.6)."""
_MAX_KEY_BYTES = 64 * 1024
"""A PEM Ed25519 key is about 120 bytes; anything far larger is not one."""


def fingerprint(public: Ed25519PublicKey) -> str:
    """The SHA-256 of the 32 raw public-key bytes, lower-case hex: how the manifest and messages name a key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class SigningKey:
    """A private key loaded from ``source``; its repr shows the file and the public fingerprint only."""

    source: str
    key: Ed25519PrivateKey = field(repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key.public_key())

    def record(self) -> dict[str, str]:
        """What ``manifest.json`` records about its signature (written before the signature, so it is signed too)."""
        return {"algorithm": ALGORITHM, "publicKeySha256": self.fingerprint, "file": SIGNATURE_NAME}

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


@dataclass(frozen=True)
class PublicKey:
    """A pinned public key loaded from ``source``."""

    source: str
    key: Ed25519PublicKey = field(compare=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


# --- loading keys (argparse ``type=`` callables: an InputError passes through argparse to main, exit 2) ----------


def _key_bytes(value: str, option: str) -> bytes:
    if not value:
        raise UsageError(f"{option}: expected a key file, got an empty string")
    try:
        return read_input_bytes(value, _MAX_KEY_BYTES)
    except InputError as error:  # say which key: the file may have come from $COMPLIANCE_SIGN_KEY, not the command line
        origin = f"{option} or ${SIGN_KEY_ENV}" if option == "--sign-key" else option
        raise InputError(value, "", f"{error.problem} (the key file of {origin})") from None


def load_signing_key(value: str) -> SigningKey:
    """The Ed25519 private key in the PEM PKCS#8 file ``value`` (``--sign-key`` or ``$COMPLIANCE_SIGN_KEY``)."""
    data = _key_bytes(value, "--sign-key")
    if b"PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        raise InputError(value, "", "holds a public key; --sign-key needs the private key (keygen writes both)")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # cryptography: "Password was not given but private key is encrypted"
        raise InputError(value, "", "the private key is encrypted; give an unencrypted PEM PKCS#8 key") from None
    except (ValueError, UnsupportedAlgorithm):  # its messages are generic; never echo the key's bytes
        raise InputError(value, "", "not a PEM PKCS#8 private key (-----BEGIN PRIVATE KEY-----)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(value, "", f"a {type(key).__name__.removesuffix('PrivateKey')} key, not an Ed25519 key")
    return SigningKey(value, key)


def load_public_key(value: str) -> PublicKey:
    """The Ed25519 public key in the PEM file ``value`` (``verify-report --public-key``)."""
    data = _key_bytes(value, "--public-key")
    if b"PRIVATE KEY-----" in data:
        # Verifiers need only the public half; the private key stays with the signer.
        raise InputError(value, "", "holds a private key; give the public key (the .pub file keygen wrote)")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise InputError(value, "", "not a PEM public key (-----BEGIN PUBLIC KEY-----)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(value, "", f"a {type(key).__name__.removesuffix('PublicKey')} key, not an Ed25519 key")
    return PublicKey(value, key)


# --- signing and verifying --------------------------------------------------------------------------------------


def sign_manifest(out_dir: Path, key: SigningKey) -> Path:
    """Sign ``out_dir/manifest.json`` as it is on disk; write the raw signature to ``out_dir/manifest.sig``."""
    data = (out_dir / MANIFEST_NAME).read_bytes()
    path = out_dir / SIGNATURE_NAME
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(key.sign(data))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _read_own_file(path: Path) -> tuple[bytes | None, str | None]:
    """The bytes of a regular file that is not a symbolic link, or the one-line problem with it."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        if path.is_symlink():
            return None, f"{path.name}: a symbolic link, not the report's own file"
        return None, f"{path.name}: missing"
    except OSError as error:
        if error.errno == errno.ELOOP or path.is_symlink():  # O_NOFOLLOW on a link
            return None, f"{path.name}: a symbolic link, not the report's own file"
        raise InputError(str(path), "", f"cannot read the file ({error.strerror or error})") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None, f"{path.name}: not a regular file"
        return handle.read(), None


def verify_signature(out_dir: Path, pinned: PublicKey) -> tuple[list[str], bytes | None]:
    """Check ``manifest.sig`` over ``manifest.json`` with the pinned key.

    Returns the problems (one line each; empty when the signature holds) and the
    manifest's bytes that were verified, to check the hashes against exactly those.
    """
    manifest, problem = _read_own_file(out_dir / MANIFEST_NAME)
    if manifest is None:
        return [f"{problem}; there is nothing signed to verify"], None
    signature, problem = _read_own_file(out_dir / SIGNATURE_NAME)
    if signature is None:
        return [
            f"{problem}: the report is not signed, but {pinned.source} was pinned "
            "(an unsigned report, or one whose signature was removed)"
        ], None
    if len(signature) != SIGNATURE_BYTES:
        return [
            f"{SIGNATURE_NAME}: malformed, {len(signature)} bytes, not a {SIGNATURE_BYTES}-byte Ed25519 signature"
        ], None
    try:
        pinned.key.verify(signature, manifest)
    except InvalidSignature:
        named = _named_key(manifest)
        if named is not None and named != pinned.fingerprint:
            return [
                f"{MANIFEST_NAME}: signed with another key (the manifest names key {named}, "
                f"the pinned key {pinned.source} is {pinned.fingerprint})"
            ], None
        return [
            f"{MANIFEST_NAME}: the signature does not hold with the pinned key {pinned.fingerprint}: "
            "the manifest was edited or re-sealed after signing, or another key signed it"
        ], None
    named = _named_key(manifest)
    if named != pinned.fingerprint:  # signed by the key holder, yet naming another key: do not guess which is meant
        return [f"{MANIFEST_NAME}: signed by the pinned key but names key {named!r} as its signer"], None
    return [], manifest


def _named_key(manifest: bytes) -> str | None:
    """The ``signature.publicKeySha256`` a manifest claims (unverified; only to word the message)."""
    try:
        document = json.loads(manifest.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    signature = document.get("signature") if isinstance(document, dict) else None
    named = signature.get("publicKeySha256") if isinstance(signature, dict) else None
    # Written by whoever wrote the manifest: shown in a message, so cut to a fingerprint's length.
    return named[:64] if isinstance(named, str) else None


# --- keygen ------------------------------------------------------------------------------------------------------


def generate_key_pair(out: Path) -> tuple[Path, Path, str]:
    """Write a new private key to ``out`` (mode 0600, never over an existing file) and its public key to ``out.pub``."""
    public_path = out.with_name(out.name + ".pub")
    for path in (out, public_path):
        if path.exists() or path.is_symlink():
            raise InputError(str(path), "", "already exists; not overwriting a key (choose another --out)")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_new(out, private_pem, 0o600)  # created 0600: never readable by others, not even for a moment
    try:
        _write_new(public_path, public_pem, 0o644)
    except InputError:
        out.unlink(missing_ok=True)
        raise
    return out, public_path, fingerprint(key.public_key())


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    except FileExistsError:
        raise InputError(str(path), "", "already exists; not overwriting a key (choose another --out)") from None
    except OSError as error:
        raise InputError(str(path), "", f"cannot write the key ({error.strerror or error})") from None
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), mode)  # the umask may have narrowed it; 0600 stays 0600
        handle.write(data)


def cmd_keygen(args: argparse.Namespace) -> int:
    """``compliance-checks keygen --out FILE``: a key pair to sign reports with."""
    from compliance_checks.cli import terminal_safe  # file names are printed as one line, escapes escaped

    if not args.out:
        raise UsageError("keygen --out: expected a file name, got an empty string")
    private, public, digest = generate_key_pair(Path(args.out))
    shown_private, shown_public = terminal_safe(str(private)), terminal_safe(str(public))
    print(f"wrote {shown_private} (private key, mode 0600: keep it secret; audit --sign-key {shown_private})")
    print(f"wrote {shown_public} (public key: give it to verifiers; verify-report --public-key {shown_public})")
    print(f"key fingerprint (SHA-256 of the raw public key): {digest}")
    return 0
