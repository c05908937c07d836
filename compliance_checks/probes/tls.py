"""Probe a TLS endpoint the way a visitor's client meets it: protocol versions and certificate.

``probe_tls`` asks sslyze which protocol versions the endpoint accepts (SSL 3.0,
TLS 1.0, 1.1, 1.2, 1.3: sslyze ships its own OpenSSL builds, so old protocols
are tested even where the system OpenSSL refuses them), fetches the
certificate chain the server presents for the requested server name, and
judges that chain itself with ``cryptography``:

- ``certificate.chainValid``: the chain leads to an anchor of the trust store
  (``ca_file`` if given, else the system bundle, else sslyze's Mozilla store)
  and every certificate is valid *now*; the host name is judged separately;
- ``certificate.hostnameMatches``: the leaf's subjectAltName covers
  ``server_name`` (or ``host``), wildcards in the left-most label only;
- ``certificate.daysToExpiry``: whole days left, positive while the leaf is
  valid, zero or negative once it has expired;
- ``certificate.publicKey`` (``type``, ``size`` in bits), ``certificate.signatureAlgorithm``
  and ``certificate.signatures`` (the hash every received certificate but a
  self-issued root is signed with), ``certificate.ocspStapling`` (the server
  stapled an OCSP response) and ``certificate.mustStaple``.

Like testssl.sh's ``-E`` and ``-f``, it also records every cipher suite each
protocol version accepts (``cipherSuites``: a list of
``{protocol, name, anonymous, keySize, keyExchange}``, ``keyExchange`` being the
ephemeral key sslyze negotiated: ``{type: DH|ECDH, size, curve}``, or null)
and the elliptic curves the server accepts (``ellipticCurves``).

The record (type ``Probe/tls``) is judged by the ``probe_tls_protocols``,
``probe_tls_cipher_suites`` and ``probe_tls_certificate`` checks.
A network fault (refused, timeout, DNS, no handshake on any version) gives a
record with ``error`` set, never an exception: an ERROR finding, never a PASS.
"""

from __future__ import annotations

import ipaddress
import math
import re
import ssl
import warnings
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtensionOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from compliance_checks.inventory import Resource

# sslyze's scan command for each protocol version, in ascending order, with the record's names.
_PROTOCOLS: tuple[tuple[str, str], ...] = (
    ("ssl_3_0_cipher_suites", "SSLv3"),
    ("tls_1_0_cipher_suites", "TLSv1.0"),
    ("tls_1_1_cipher_suites", "TLSv1.1"),
    ("tls_1_2_cipher_suites", "TLSv1.2"),
    ("tls_1_3_cipher_suites", "TLSv1.3"),
)
_SSLYZE_MESSAGE = re.compile(r'^\S+ -> "(.*)"\.?$')


def probe_tls(
    host: str,
    port: int = 443,
    *,
    server_name: str | None = None,
    ca_file: Path | None = None,
    timeout: float = 10,
    now: datetime | None = None,
) -> Resource:
    """Scan ``host:port`` and return one ``Probe/tls`` record (``error`` set when it could not be observed)."""
    name = server_name or host
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    body: dict[str, Any] = {
        "host": host,
        "port": port,
        "serverName": name,
        "probedAt": moment.isoformat(),
    }
    try:
        from sslyze.__version__ import __version__ as sslyze_version
        from sslyze.errors import ServerHostnameCouldNotBeResolved
        from sslyze.plugins.scan_commands import ScanCommand
        from sslyze.scanner.models import ServerConnectivityStatusEnum, ServerScanRequest
        from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
        from sslyze.scanner.scanner import Scanner
        from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation
    except ImportError as exc:  # pragma: no cover - sslyze is a declared dependency
        return _record(host, port, {**body, "error": f"sslyze is not installed ({exc})"})
    body["scanner"] = f"sslyze {sslyze_version}"

    try:
        location = ServerNetworkLocation(hostname=host, port=port)
    except (ServerHostnameCouldNotBeResolved, UnicodeError, ValueError):
        return _record(host, port, {**body, "error": f"cannot resolve {host}"})
    network = ServerNetworkConfiguration(
        tls_server_name_indication=name,
        network_timeout=max(1, math.ceil(timeout)),
        network_max_retries=1,
    )
    commands = {ScanCommand(command) for command, _ in _PROTOCOLS} | {
        ScanCommand.CERTIFICATE_INFO,
        ScanCommand.ELLIPTIC_CURVES,
    }
    request = ServerScanRequest(server_location=location, network_configuration=network, scan_commands=commands)

    scanner = Scanner(per_server_concurrent_connections_limit=5, concurrent_server_scans_limit=1)
    with warnings.catch_warnings():
        # sslyze loads its bundled trust stores, some of whose roots cryptography warns about; they are not ours.
        warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"sslyze\.")
        scanner.queue_scans([request])
        results = list(scanner.get_results())

    if len(results) != 1:
        return _record(host, port, {**body, "error": "the scanner returned no result"})
    result = results[0]
    if result.connectivity_status != ServerConnectivityStatusEnum.COMPLETED or result.scan_result is None:
        trace = result.connectivity_error_trace
        reason = _one_line(trace) if trace is not None else "no TLS handshake was possible"
        return _record(host, port, {**body, "error": f"cannot connect to {host}:{port}: {reason}"})

    accepted: list[str] = []
    tested: list[str] = []
    suites: list[dict[str, Any]] = []
    for command, label in _PROTOCOLS:
        attempt = getattr(result.scan_result, command)
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
            reason = _one_line(attempt.error_trace) if attempt.error_trace is not None else str(attempt.error_reason)
            return _record(host, port, {**body, "error": f"cannot test {label}: {reason}"})
        tested.append(label)
        if attempt.result.accepted_cipher_suites:
            accepted.append(label)
            suites += [_suite(label, s) for s in attempt.result.accepted_cipher_suites]
    body["testedProtocols"] = tested
    body["acceptedProtocols"] = accepted
    body["cipherSuites"] = suites
    curves = result.scan_result.elliptic_curves
    if curves.status != ScanCommandAttemptStatusEnum.COMPLETED or curves.result is None:
        reason = _one_line(curves.error_trace) if curves.error_trace is not None else str(curves.error_reason)
        return _record(host, port, {**body, "error": f"cannot test the elliptic curves: {reason}"})
    body["ellipticCurves"] = {
        "supportsEcdh": bool(curves.result.supports_ecdh_key_exchange),
        "accepted": sorted(c.name for c in curves.result.supported_curves or []),
    }
    if not accepted:
        return _record(host, port, {**body, "error": "no protocol version completed a handshake"})

    cert_attempt = result.scan_result.certificate_info
    if cert_attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or cert_attempt.result is None:
        trace = cert_attempt.error_trace
        reason = _one_line(trace) if trace is not None else str(cert_attempt.error_reason)
        return _record(host, port, {**body, "error": f"cannot retrieve the certificate: {reason}"})
    deployments = cert_attempt.result.certificate_deployments
    if not deployments or not deployments[0].received_certificate_chain:
        return _record(host, port, {**body, "error": "the server presented no certificate"})
    judged = [
        {
            **_judge_chain(d.received_certificate_chain, name, ca_file, moment),
            "ocspStapling": d.ocsp_response is not None,
            "mustStaple": bool(d.leaf_certificate_has_must_staple_extension),
        }
        for d in deployments
    ]
    body["certificate"] = judged[0]
    if len(judged) > 1:
        # Servers may present other leaves to other clients (RSA versus ECDSA); each must be as good,
        # so "certificate" is the worst of them and every one is kept.
        body["otherCertificates"] = judged[1:]
        worst = min(
            [body["certificate"], *body["otherCertificates"]],
            key=lambda c: (c["chainValid"], c["hostnameMatches"], c["daysToExpiry"]),
        )
        body["certificate"] = worst
    return _record(host, port, body)


def _suite(protocol: str, accepted: Any) -> dict[str, Any]:
    """One accepted cipher suite (sslyze's CipherSuiteAcceptedByServer) as record data."""
    suite = accepted.cipher_suite
    key = accepted.ephemeral_key
    exchange: dict[str, Any] | None = None
    if key is not None:
        # nassl's EphemeralKeyInfo: type_name "DH" or "ECDH", size in bits, curve_name for ECDH only.
        exchange = {
            "type": str(key.type_name),
            "size": int(key.size),
            "curve": getattr(key, "curve_name", None),
        }
    return {
        "protocol": protocol,
        "name": suite.name,  # the IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
        "openSslName": suite.openssl_name,
        "anonymous": bool(suite.is_anonymous),
        "keySize": int(suite.key_size),
        "keyExchange": exchange,
    }


def _record(host: str, port: int, body: dict[str, Any]) -> Resource:
    return Resource.create(
        id=f"probe:tls/{host}:{port}", type="Probe/tls", name=f"{host}:{port}", body=body, source="probe"
    )


def _one_line(error: object) -> str:
    """An exception or a traceback of one as one line: its type and message (without sslyze's "host:port ->")."""
    text = " ".join(str(error).split())
    quoted = _SSLYZE_MESSAGE.match(text)
    if quoted:
        text = quoted.group(1)
    kind = getattr(error, "exc_type", None) or (type(error) if isinstance(error, BaseException) else None)
    name = getattr(kind, "__name__", "")
    if name:
        return f"{name}: {text}" if text else name
    return text


def _judge_chain(chain: list[x509.Certificate], name: str, ca_file: Path | None, now: datetime) -> dict[str, Any]:
    leaf = chain[0]
    not_after = leaf.not_valid_after_utc
    days = (not_after - now).total_seconds() / 86400
    names = _subject_alt_names(leaf)
    matches = _hostname_matches(name, names)
    chain_valid, chain_error, store_name = _verify_chain(chain, name if matches else None, names, ca_file, now)
    return {
        "subject": leaf.subject.rfc4514_string(),
        "issuer": leaf.issuer.rfc4514_string(),
        "serialNumber": format(leaf.serial_number, "x"),
        "subjectAltNames": names,
        "notBefore": leaf.not_valid_before_utc.isoformat(),
        "notAfter": not_after.isoformat(),
        "daysToExpiry": math.ceil(days),
        "chainValid": chain_valid,
        "chainError": chain_error,
        "trustStore": store_name,
        "hostnameMatches": matches,
        "chainLength": len(chain),
        "publicKey": _public_key(leaf),
        "signatureAlgorithm": _signature_name(leaf),
        "signatures": [
            {"subject": cert.subject.rfc4514_string(), "algorithm": _signature_name(cert), "hash": _hash_name(cert)}
            for cert in chain
            # A self-issued certificate is a trust anchor: its own signature is never checked (RFC 5280, 6.1).
            if cert.subject != cert.issuer
        ],
    }


def _public_key(cert: x509.Certificate) -> dict[str, Any]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return {"type": "RSA", "size": key.key_size}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"type": "EC", "size": key.curve.key_size, "curve": key.curve.name}
    if isinstance(key, dsa.DSAPublicKey):
        return {"type": "DSA", "size": key.key_size}
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"type": "Ed25519", "size": 256}
    if isinstance(key, ed448.Ed448PublicKey):
        return {"type": "Ed448", "size": 456}
    return {"type": type(key).__name__, "size": None}


def _hash_name(cert: x509.Certificate) -> str | None:
    """The signature's hash (sha256, sha1, md5); None for Ed25519/Ed448 or a hash cryptography does not know."""
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    return algorithm.name if algorithm is not None else None


def _signature_name(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    return str(getattr(oid, "_name", None) or oid.dotted_string)


def _subject_alt_names(leaf: x509.Certificate) -> list[str]:
    try:
        extension = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return []
    if not isinstance(extension, x509.SubjectAlternativeName):  # pragma: no cover - guaranteed by the OID
        return []
    dns = [str(n) for n in extension.get_values_for_type(x509.DNSName)]
    ips = [str(a) for a in extension.get_values_for_type(x509.IPAddress)]
    return dns + ips


def _as_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _hostname_matches(name: str, alt_names: Iterable[str]) -> bool:
    """RFC 6125: exact match, or a wildcard that stands for exactly the left-most label. No CN fallback."""
    ip = _as_ip(name)
    if ip is not None:
        return any(_as_ip(candidate) == ip for candidate in alt_names)
    wanted = name.rstrip(".").lower().encode("idna").decode("ascii").split(".")
    for candidate in alt_names:
        pattern = candidate.rstrip(".").lower().split(".")
        if len(pattern) != len(wanted) or _as_ip(candidate) is not None:
            continue
        if pattern == wanted:
            return True
        if pattern[0] == "*" and len(pattern) >= 3 and pattern[1:] == wanted[1:] and wanted[0]:
            return True
    return False


def _trust_store(ca_file: Path | None) -> tuple[Path | None, str]:
    if ca_file is not None:
        return ca_file, f"supplied CA file {ca_file}"
    system = ssl.get_default_verify_paths().cafile
    if system and Path(system).is_file():
        return Path(system), f"system bundle {system}"
    try:
        from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
            mozilla = TrustStoresRepository.get_default().get_main_store().path
        return mozilla, f"sslyze Mozilla store {mozilla}"
    except ImportError:  # pragma: no cover - sslyze is a declared dependency
        return None, "none"


def _verify_chain(
    chain: list[x509.Certificate], matched_name: str | None, alt_names: list[str], ca_file: Path | None, now: datetime
) -> tuple[bool, str | None, str]:
    """Path validation at ``now``. The host name is judged elsewhere: without a match, the leaf's own name is used."""
    path, store_name = _trust_store(ca_file)
    if path is None:
        return False, "no trust store available", store_name
    subject_text = matched_name or (alt_names[0] if alt_names else None)
    if subject_text is None:
        return False, "the leaf certificate has no subjectAltName", store_name
    ip = _as_ip(subject_text)
    subject: x509.DNSName | x509.IPAddress = x509.IPAddress(ip) if ip is not None else x509.DNSName(subject_text)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
            store = Store(x509.load_pem_x509_certificates(path.read_bytes()))
        verifier = PolicyBuilder().store(store).time(now).build_server_verifier(subject)
        verifier.verify(chain[0], chain[1:])
    except VerificationError as exc:
        return False, " ".join(str(exc.args[0] if exc.args else exc).split()), store_name
    except (OSError, ValueError) as exc:
        return False, f"cannot use the trust store: {_one_line(exc)}", store_name
    return True, None, store_name
