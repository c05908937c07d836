"""The certificate a TLS endpoint presents: key type and size, signature algorithm, OCSP stapling.

Probe/tls record (compliance_checks/probes/tls.py): ``certificate.publicKey`` (``type``, ``size``),
``certificate.signatures`` (the hash each received certificate but a self-issued root is signed with),
``certificate.ocspStapling``; the same for every entry of ``otherCertificates`` (servers that present an
RSA and an ECDSA leaf). Judged against the profile of compliance_checks/probes/tls_profile.py, named in the
evidence: FAIL for an RSA or DSA key under 2048 bits, an EC key under 250 bits, or a SHA-1/MD5 signature in
the chain; WARN for an RSA key of 2048-2999 bits. OCSP stapling is reported, not judged (Azure App Service
does not let the customer switch it). Chain validity, host name and expiry are probe_tls_protocols'.
"""

from __future__ import annotations

from typing import Any

from compliance_checks.checks.base import CheckMeta, Params, sentence
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource
from compliance_checks.probes.tls_profile import (
    EC_FLOOR,
    PROFILE,
    RSA_FLOOR,
    RSA_RECOMMENDED,
    WEAK_SIGNATURE_HASHES,
)

_KEY_EXPECTED = f"RSA >= {RSA_FLOOR} bits (< {RSA_RECOMMENDED} is a WARN), EC >= {EC_FLOOR} bits, Ed25519/Ed448"


class TlsCertificate(ProbeCheck):
    probe_type = "Probe/tls"
    meta = CheckMeta(
        id="probe_tls_certificate",
        title="Live: TLS certificates use strong keys (RSA >= 2048 bits) and no SHA-1/MD5 signatures",
        severity=Severity.HIGH,
        claims=("SEC-TLS",),
        rationale=(
            "A 1024-bit RSA key can be factored with public resources and a SHA-1 signature can be forged "
            "(chosen-prefix collisions): either lets someone impersonate the portal despite 'protected by SSL'."
        ),
        remediation="Reissue the certificate with an RSA 3072-bit or ECDSA P-256/P-384 key, signed with SHA-256+.",
        references=(
            "https://www.bsi.bund.de/SharedDocs/Downloads/EN/BSI/Publications/TechGuidelines/TG02102/BSI-TR-02102-2.pdf",
            "https://www.rfc-editor.org/rfc/rfc9155",
            "https://www.rfc-editor.org/rfc/rfc9325",
        ),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        certificates = _certificates(probe)
        evidence = [
            Evidence("profile", PROFILE, _KEY_EXPECTED + "; signatures not SHA-1/MD5"),
            Evidence("certificate.publicKey", [_get(c, "publicKey") for c in certificates], _KEY_EXPECTED),
            Evidence(
                "certificate.signatures",
                [s for c in certificates for s in _list(_get(c, "signatures"))],
                "no SHA-1 or MD5 signature below the trust anchor",
            ),
            Evidence(
                "certificate.ocspStapling", [_get(c, "ocspStapling") for c in certificates], "reported, not judged"
            ),
        ]
        assessment = _assess(certificates)
        if assessment is None:
            return Verdict.ERROR, "Cannot verify: probe record incomplete (no certificate).", evidence
        problems, unknown, _ = assessment
        if problems:
            return Verdict.FAIL, sentence("; ".join(problems)), evidence
        if unknown:
            return Verdict.ERROR, sentence("cannot verify: " + "; ".join(unknown)), evidence
        keys = ", ".join(_key_text(_get(c, "publicKey")) for c in certificates)
        stapled = all(_get(c, "ocspStapling") is True for c in certificates)
        return (
            Verdict.PASS,
            f"Certificate key {keys}, signatures without SHA-1/MD5; OCSP stapling "
            f"{'offered' if stapled else 'not offered'} ({PROFILE}).",
            evidence,
        )

    def warnings(self, probe: Resource, params: Params) -> tuple[str, ...]:
        assessment = _assess(_certificates(probe))
        return tuple(assessment[2]) if assessment is not None else ()


def _get(value: Any, key: str) -> Any:
    """A record's field (the inventory folds keys to lower case)."""
    return value.get(key.lower()) if isinstance(value, dict) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _certificates(probe: Resource) -> list[Any]:
    first = probe.get("certificate")
    if not isinstance(first, dict):
        return []
    return [first, *_list(probe.get("otherCertificates"))]


def _key_text(key: Any) -> str:
    return f"{_get(key, 'type')} {_get(key, 'size')} bits"


def _assess(certificates: list[Any]) -> tuple[list[str], list[str], list[str]] | None:
    """(problems, what could not be verified, cautions); None without a certificate."""
    if not certificates:
        return None
    problems: list[str] = []
    unknown: list[str] = []
    cautions: list[str] = []
    for certificate in certificates:
        subject = _get(certificate, "subject") or "the certificate"
        key = _get(certificate, "publicKey")
        kind, size = _get(key, "type"), _get(key, "size")
        if not isinstance(kind, str) or (kind not in ("Ed25519", "Ed448") and not isinstance(size, int)):
            unknown.append(f"the key of {subject}")
        elif kind in ("RSA", "DSA"):
            if size < RSA_FLOOR:
                problems.append(f"{kind} key of {size} bits (under {RSA_FLOOR}) in {subject}")
            elif size < RSA_RECOMMENDED:
                cautions.append(
                    f"{kind} key of {size} bits in {subject}: TR-02102-2 recommends {RSA_RECOMMENDED} bits or more"
                )
        elif kind == "EC":
            if size < EC_FLOOR:
                problems.append(f"EC key of {size} bits (under {EC_FLOOR}) in {subject}")
        elif kind not in ("Ed25519", "Ed448"):
            unknown.append(f"the key type {kind} of {subject}")
        signatures = _get(certificate, "signatures")
        if not isinstance(signatures, list):
            unknown.append(f"the signatures of {subject}'s chain")
            continue
        for signature in signatures:
            digest, algorithm = _get(signature, "hash"), _get(signature, "algorithm")
            signed = _get(signature, "subject") or "a certificate"
            if isinstance(digest, str) and digest.lower() in WEAK_SIGNATURE_HASHES:
                problems.append(f"{signed} is signed with {algorithm or digest}")
            elif digest is None and str(algorithm).lower() not in ("ed25519", "ed448"):
                unknown.append(f"the signature algorithm {algorithm} of {signed}")
    return problems, unknown, cautions


CHECK = TlsCertificate()
