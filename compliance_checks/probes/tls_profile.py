"""The TLS profile the ``probe_tls_*`` checks judge a server against, named in their evidence.

Profile ``BSI TR-02102-2 (2024-01), baseline``. The source is BSI TR-02102-2 "Kryptographische Verfahren:
Empfehlungen und Schlüssellängen, Teil 2 -- Verwendung von Transport Layer Security (TLS)", Version 2024-01
of 29.02.2024 (https://www.bsi.bund.de/SharedDocs/Downloads/DE/BSI/Publikationen/TechnischeRichtlinien/
TR02102/BSI-TR-02102-2.pdf; English: .../EN/BSI/Publications/TechGuidelines/TG02102/BSI-TR-02102-2.pdf).
Checked against the German text of that edition, read as a word diff against 2021-01
(``BSI-TR-02102-2_2024_01_DE.txt``, in the reference corpus searched for this project; its repository is
not named there). The German edition numbers sections and tables as follows (the English translation was
not available to compare):

- 3.1.2: the security level is 120 bits (raised from 100).
- 3.2: TLS 1.2 and TLS 1.3 are recommended; TLS 1.0, 1.1 (RFC 8996), SSL v2 and v3 are not.
- 3.3.1.1, Tabelle 2 (TLS 1.2 with Perfect Forward Secrecy): TLS_ECDHE_ECDSA_WITH_AES_128/256 in CBC
  (SHA256/SHA384), GCM and CCM, and TLS_ECDHE_RSA_WITH_AES_128/256 in CBC and GCM, until 2030+;
  TLS_DHE_DSS/TLS_DHE_RSA_WITH_AES_128/256 in CBC and GCM (DHE_RSA also CCM) only until 2029. CBC is
  recommended only with the Encrypt-then-MAC extension (3.3.4.4, 3.3.4.5). Footnote 2: for personal data
  Perfect Forward Secrecy is recommended in principle.
- 3.3.1.2, Tabelle 3: static (EC)DH suites without forward secrecy (TLS_ECDH_*, TLS_DH_*) until 2026, "if
  the suites of 3.3.1.1 are not possible". Suites with RSA key transport (TLS_RSA_WITH_*), NULL, anonymous,
  export, RC4, (3)DES or a SHA-1/MD5 MAC are listed nowhere.
- 3.3.2, Tabelle 5 (TLS 1.2 groups): secp256r1, secp384r1, secp521r1, brainpoolP256r1/384r1/512r1 (2030+),
  ffdhe3072 and ffdhe4096 (2029); ffdhe2048 is no longer listed.
- 3.3.3, Tabelle 6: signatures rsa (PKCS #1 v1.5) only until 2025, dsa until 2029, ecdsa 2030+; Tabelle 7:
  with sha256, sha384 or sha512.
- 3.4.2, Tabelle 9 (TLS 1.3 groups): secp256r1/384r1/521r1, brainpoolP256r1tls13/384/512, ffdhe3072,
  ffdhe4096. 3.4.4, Tabelle 12 (TLS 1.3 suites): TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
  TLS_AES_128_CCM_SHA256.
- 3.6.1, Tabelle 13 (minimum key lengths in the handshake): ECDSA and ECDH 250 bits; RSA, DSS and DH
  3000 bits from 2023 on. 3.6.2: brainpool curves, else secp256r1/384r1/521r1.

Where this profile differs from the TR (each a documented choice, not an oversight):

- Looser: RSA and DH keys of 2048 to 2999 bits are a WARN, not a FAIL (the TR asks 3000 bits since 2023;
  Azure App Service managed certificates are RSA 2048); CBC suites with SHA-256/384 (Tabelle 2) are a WARN
  because they are not AEAD and whether Encrypt-then-MAC is negotiated is not observed; ChaCha20-Poly1305
  and the X25519/X448 groups, which the TR does not list, pass as RFC 9325 section 4.2 recommends them;
  TLS_AES_128_CCM_8_SHA256 (not in Tabelle 12) is a WARN; DHE suites pass although the TR ends them in 2029.
- Stricter: a suite without forward secrecy fails, the static (EC)DH suites of Tabelle 3 included (the
  portal handles personal data: footnote 2).
- Below the floor is a FAIL: RSA or DH under 2048 bits (RFC 9325 section 4.1; the 1024-bit group of
  RFC 2409 is breakable, weakdh.org), elliptic curves under 250 bits (Tabelle 13), certificate signatures
  with SHA-1 or MD5 (RFC 9155 forbids them in TLS 1.2).
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
RSA_RECOMMENDED = 3000  # TR-02102-2 (2024-01) 3.6.1, Tabelle 13, from 2023 on; below it (above the floor): WARN
DH_FLOOR = 2048  # below: FAIL (RFC 9325 section 4.1)
DH_RECOMMENDED = 3000  # TR-02102-2 (2024-01) 3.6.1, Tabelle 13 (ffdhe3072 is the smallest group of Tabellen 5, 9)
EC_FLOOR = 250  # TR-02102-2 (2024-01) 3.6.1, Tabelle 13: ECDSA and ECDH keys of at least 250 bits
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
        # TLS 1.3 suites: (EC)DHE always, AEAD always (RFC 8446 section 9.1, B.4). CCM_8's 64-bit tag is not in
        # TR-02102-2 (2024-01) Tabelle 12.
        if upper.endswith("_CCM_8_SHA256"):
            return SuiteVerdict((), ("AES-CCM with an 8-byte tag, not listed by TR-02102-2 (Tabelle 12)",))
        return SuiteVerdict((), ())
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
