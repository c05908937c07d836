"""Every cipher suite a TLS endpoint accepts, on every protocol version, and its key exchange groups.

Probe/tls record (compliance_checks/probes/tls.py): ``cipherSuites`` (every accepted suite with its
``protocol``, ``name``, ``anonymous`` and ``keyExchange`` ``{type, size, curve}``) and ``ellipticCurves``
(``supportsEcdh``, ``accepted``). Judged against the profile of compliance_checks/probes/tls_profile.py,
named in the evidence: FAIL for a suite without forward secrecy, NULL, anonymous, export, RC4, DES/3DES or
with a SHA-1/MD5 MAC in CBC mode, a DH group under 2048 bits or a curve under 250 bits; a WARN for a
2048-2999-bit DH group or a CBC-SHA256/384 suite; ERROR when a DHE suite's group size could not be read.
"""

from __future__ import annotations

from typing import Any

from compliance_checks.checks.base import CheckMeta, Params, sentence
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.findings import Evidence, Severity, Verdict
from compliance_checks.inventory import Resource
from compliance_checks.probes.tls_profile import (
    DH_FLOOR,
    DH_RECOMMENDED,
    EC_FLOOR,
    PROFILE,
    PROFILE_SUMMARY,
    curve_bits,
    judge_suite,
)


class TlsCipherSuites(ProbeCheck):
    probe_type = "Probe/tls"
    meta = CheckMeta(
        id="probe_tls_cipher_suites",
        title="Live: TLS endpoints accept only forward-secret AEAD cipher suites with strong key exchange groups",
        severity=Severity.HIGH,
        claims=("SEC-TLS",),
        rationale=(
            "A TLS 1.2 suite without forward secrecy lets a later key compromise decrypt recorded traffic; "
            "NULL, anonymous, export, RC4, 3DES and CBC-SHA1 suites and 1024-bit DH groups are breakable or "
            "unauthenticated. 'Protected by SSL' holds only if no client can negotiate one of them. "
            "HSTS is judged by probe_http_hsts_redirect."
        ),
        remediation=(
            "Restrict TLS 1.2 to ECDHE (or DHE with ffdhe3072+) suites with AES-GCM; on App Service set "
            "minTlsCipherSuite / the site's cipher suite order; use DH groups of 3072 bits or more."
        ),
        references=(
            "https://www.bsi.bund.de/SharedDocs/Downloads/EN/BSI/Publications/TechGuidelines/TG02102/BSI-TR-02102-2.pdf",
            "https://www.rfc-editor.org/rfc/rfc9325",
            "https://weakdh.org/",
        ),
    )

    def judge(self, probe: Resource, params: Params) -> tuple[Verdict, str, list[Evidence]]:
        suites, curves = probe.get("cipherSuites"), probe.get("ellipticCurves")
        evidence = [
            Evidence("profile", PROFILE, PROFILE_SUMMARY),
            Evidence("cipherSuites", _names(suites), "forward secrecy and AEAD only"),
            Evidence("keyExchange", _groups(suites), f"DH >= {DH_FLOOR} bits, curves >= {EC_FLOOR} bits"),
            Evidence("ellipticCurves.accepted", _get(curves, "accepted"), f"curves of >= {EC_FLOOR} bits"),
        ]
        assessment = _assess(suites, curves)
        if assessment is None:
            return Verdict.ERROR, "Cannot verify: probe record incomplete (no cipher suites).", evidence
        problems, unknown, _ = assessment
        if problems:
            return Verdict.FAIL, sentence("; ".join(problems)), evidence
        if unknown:
            return Verdict.ERROR, sentence("cannot verify: " + "; ".join(unknown)), evidence
        count = len(suites)
        return Verdict.PASS, f"All {count} accepted cipher suites meet {PROFILE}.", evidence

    def warnings(self, probe: Resource, params: Params) -> tuple[str, ...]:
        assessment = _assess(probe.get("cipherSuites"), probe.get("ellipticCurves"))
        return tuple(assessment[2]) if assessment is not None else ()


def _get(value: Any, key: str) -> Any:
    """A record's field (the inventory folds keys to lower case)."""
    return value.get(key.lower()) if isinstance(value, dict) else None


def _names(suites: Any) -> Any:
    if not isinstance(suites, list):
        return suites
    return [f"{_get(s, 'protocol')} {_get(s, 'name')}" for s in suites]


def _groups(suites: Any) -> list[str]:
    """The distinct key exchange groups negotiated ("DH 1024", "ECDH secp256r1 256"), for the evidence."""
    seen: list[str] = []
    for suite in suites if isinstance(suites, list) else []:
        exchange = _get(suite, "keyExchange")
        if isinstance(exchange, dict):
            text = " ".join(str(exchange[k]) for k in ("type", "curve", "size") if exchange.get(k) is not None)
            if text not in seen:
                seen.append(text)
    return seen


def _assess(suites: Any, curves: Any) -> tuple[list[str], list[str], list[str]] | None:
    """(problems, what could not be verified, cautions); None when the record holds no suites at all."""
    if not isinstance(suites, list) or not suites:
        return None
    problems: dict[str, list[str]] = {}  # reason -> "TLS_RSA_WITH_... (TLSv1.2)" entries
    unknown: list[str] = []
    cautions: dict[str, list[str]] = {}
    for suite in suites:
        name, version = _get(suite, "name"), _get(suite, "protocol")
        if not isinstance(name, str) or not isinstance(version, str):
            unknown.append(f"a suite without a name or protocol: {suite}")
            continue
        verdict = judge_suite(name, _get(suite, "anonymous") is True)
        for reason in verdict.problems:
            problems.setdefault(reason, []).append(f"{name} ({version})")
        for reason in verdict.cautions:
            cautions.setdefault(reason, []).append(f"{name} ({version})")
        _judge_exchange(
            name, version, _get(suite, "keyExchange"), problems=problems, unknown=unknown, cautions=cautions
        )
    accepted = _get(curves, "accepted")
    if not isinstance(accepted, list):
        unknown.append("the accepted elliptic curves were not recorded")
    else:
        for curve in accepted:
            bits = curve_bits(str(curve))
            if bits is None:
                unknown.append(f"the size of curve {curve}")
            elif bits < EC_FLOOR:
                problems.setdefault(f"elliptic curve under {EC_FLOOR} bits", []).append(f"{curve} ({bits} bits)")
    return (
        [f"{reason}: {', '.join(where)}" for reason, where in problems.items()],
        unknown,
        [f"{reason}: {', '.join(where)}" for reason, where in cautions.items()],
    )


def _judge_exchange(
    name: str,
    version: str,
    exchange: Any,
    *,
    problems: dict[str, list[str]],
    unknown: list[str],
    cautions: dict[str, list[str]],
) -> None:
    upper = name.upper()
    ephemeral = "DHE_" in upper or "ECDHE_" in upper or "_ANON_" in upper or upper.startswith("TLS_AES_")
    ephemeral = ephemeral or upper.startswith("TLS_CHACHA20_")
    if not isinstance(exchange, dict):
        if ephemeral:
            # sslyze leaves it out when its client refused the server's group as too weak to use, or could
            # not read it: either way nothing says the group is strong.
            unknown.append(f"the key exchange group of {name} ({version})")
        return
    size, kind = exchange.get("size"), str(exchange.get("type", "")).upper()
    if not isinstance(size, int) or isinstance(size, bool):
        unknown.append(f"the key exchange size of {name} ({version})")
    elif kind == "DH":
        if size < DH_FLOOR:
            problems.setdefault(f"DH group under {DH_FLOOR} bits", []).append(f"{size} bits in {name} ({version})")
        elif size < DH_RECOMMENDED:
            note = f"DH group of {size} bits: TR-02102-2 recommends {DH_RECOMMENDED} or more (ffdhe3072)"
            cautions.setdefault(note, []).append(f"{name} ({version})")
    elif kind == "ECDH":
        if size < EC_FLOOR:
            curve = exchange.get("curve") or "?"
            problems.setdefault(f"elliptic curve under {EC_FLOOR} bits", []).append(f"{curve} ({size} bits)")
    else:
        unknown.append(f"the key exchange type {kind or '?'} of {name} ({version})")


CHECK = TlsCipherSuites()
