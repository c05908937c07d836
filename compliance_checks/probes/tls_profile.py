"""The TLS profile the ``probe_tls_*`` checks judge a server against, named in their evidence.

Profile ``BSI TR-02102-2 (2024-01), baseline``. The sources:

- BSI TR-02102-2 "Cryptographic Mechanisms: Recommendations and Key Lengths, Part 2 -- Use of Transport
  Layer Security (TLS)", edition 2024-01
  (https://www.bsi.bund.de/SharedDocs/Downloads/EN/BSI/Publications/TechGuidelines/TG02102/BSI-TR-02102-2.pdf):
  section 3.2 (TLS 1.2 and 1.3 only), section 3.3.1 (the recommended TLS 1.2 cipher suites: every one with
  forward secrecy -- ECDHE or DHE -- and AES in GCM, CCM or CBC mode with SHA-256/384; none with RSA key
  transport, NULL, anonymous, export, RC4, 3DES or a SHA-1 MAC), section 3.3.2 / 3.4 (the TLS 1.3 suites,
  AES-GCM and AES-CCM), section 3.6 (key lengths: RSA and finite-field DH at least 3000 bits recommended
  from 2023 on; ECC at least 250 bits) and the named groups of section 3.6 (ffdhe3072/4096, secp256r1,
  secp384r1, secp521r1, brainpool). The section numbers are those of the 2024-01 edition as the project
  read it; the text itself was not available in this repository's reference corpus, so re-check them
  against the edition in force when you cite them.
- Where this profile is looser than the TR (each a documented deviation, not an oversight):
  RSA and DH keys of 2048 to 2999 bits are a WARN, not a FAIL (the TR's transition from 2000 to 3000 bits;
  Azure App Service managed certificates are RSA 2048); CBC suites with SHA-256/384 (listed by the TR) are a
  WARN because they are not AEAD; ChaCha20-Poly1305 and the X25519/X448 groups, which the TR does not list,
  pass as RFC 9325 section 4.2 recommends them.
- Below the floor is a FAIL: RSA or DH under 2048 bits (RFC 9325 section 4.1; the 1024-bit group of
  RFC 2409 is breakable, weakdh.org), elliptic curves under 250 bits, certificate signatures with SHA-1 or
  MD5 (RFC 9155 forbids them in TLS 1.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROFILE = "BSI TR-02102-2 (2024-01), baseline"
PROFILE_SUMMARY = (
    f"{PROFILE}: TLS 1.2 suites with forward secrecy (ECDHE/DHE) and AEAD; no NULL, anonymous, export, RC4, "
    "DES/3DES or SHA-1/MD5-MAC suites; DH and RSA >= 2048 bits (< 3000 is a WARN), curves >= 250 bits"
)

RSA_FLOOR = 2048  # below: FAIL (RFC 9325 section 4.1)
RSA_RECOMMENDED = 3000  # TR-02102-2 section 3.6 from 2023 on; below it (and above the floor): WARN
DH_FLOOR = 2048
DH_RECOMMENDED = 3000
EC_FLOOR = 250  # TR-02102-2 section 3.6 / TR-02102-1: elliptic curves of at least 250 bits
WEAK_SIGNATURE_HASHES = frozenset({"md5", "sha1"})

# IANA names (RFC 8446 B.4, the TLS cipher suite registry) of the AEAD bulk ciphers.
_AEAD = re.compile(r"_(GCM|CCM|CCM_8|CHACHA20_POLY1305)(_|$)")
_TLS13 = re.compile(r"^TLS_(AES_(128|256)_(GCM|CCM|CCM_8)|CHACHA20_POLY1305)_SHA(256|384)$")
# Curve sizes in bits for names without the size in them (RFC 7748).
_CURVE_BITS = {"x25519": 253, "x448": 448, "prime256v1": 256, "prime192v1": 192, "prime239v1": 239}


@dataclass(frozen=True)
class SuiteVerdict:
    """What the profile says about one accepted cipher suite: the reasons it fails, and its cautions."""

    problems: tuple[str, ...]
    cautions: tuple[str, ...]


def judge_suite(name: str, anonymous: bool) -> SuiteVerdict:
    """One cipher suite by its IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256)."""
    upper = name.upper()
    if _TLS13.match(upper):
        return SuiteVerdict((), ())  # TLS 1.3 suites: (EC)DHE always, AEAD always (RFC 8446 section 9.1, B.4)
    exchange, found, bulk = upper.removeprefix("TLS_").removeprefix("SSL_").partition("_WITH_")
    if not found:
        return SuiteVerdict(("not a cipher suite name this profile knows",), ())
    problems: list[str] = []
    cautions: list[str] = []
    if anonymous or "ANON" in exchange:
        problems.append("anonymous (no server authentication)")
    if bulk.startswith("NULL") or exchange.startswith("NULL"):
        problems.append("NULL encryption")
    if "EXPORT" in exchange or "EXPORT" in bulk:
        problems.append("export-grade")
    if bulk.startswith(("RC4", "RC2")):
        problems.append("RC4/RC2")
    if bulk.startswith(("DES", "3DES", "DES40", "IDEA", "SEED")):
        problems.append("DES/3DES/IDEA/SEED")
    if not exchange.startswith(("ECDHE_", "DHE_")) and not anonymous and "ANON" not in exchange:
        problems.append("no forward secrecy")
    if not _AEAD.search(bulk):
        mac = bulk.rsplit("_", 1)[-1]
        mode = "CBC with " if "_CBC" in bulk else ""
        if mac in ("SHA", "MD5"):
            problems.append(f"{mode}{'SHA-1' if mac == 'SHA' else 'MD5'} MAC")
        elif mac not in ("SHA256", "SHA384"):
            problems.append("not AEAD")
        elif not problems:
            cautions.append("CBC (not AEAD), listed by TR-02102-2 only with encrypt-then-MAC")
    return SuiteVerdict(tuple(problems), tuple(cautions))


def curve_bits(name: str) -> int | None:
    """The size of a named elliptic curve in bits (secp256r1 -> 256, X25519 -> 253); None if unknown."""
    lowered = name.lower()
    if lowered in _CURVE_BITS:
        return _CURVE_BITS[lowered]
    found = re.search(r"(?:secp|sect|brainpoolp)(\d{3})", lowered)
    return int(found.group(1)) if found else None
