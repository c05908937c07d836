"""TLS like testssl.sh: cipher suites, key exchange groups, certificate keys and signatures, expiry WARN.

One TLS server on 127.0.0.1 per case (Python's ``ssl`` on Debian's OpenSSL, weak cases at
``@SECLEVEL=0``), certificates made here with ``cryptography``, each scanned once by the real probe and
judged by the real checks. The DH groups are published ones, not generated: the 1024-bit MODP group is
Oakley group 2 (RFC 2409 section 6.2), the 2048-bit one ffdhe2048 (RFC 7919 appendix A.1).

``test_testssl_agrees`` runs Debian's ``testssl`` on every case, restricted to the checks the case needs
(``-s`` cipher categories, ``-S`` server defaults incl. the certificate, ``-J`` LOGJAM/common primes), and
asserts it flags exactly the cases this project fails (or WARNs, for expiry). Required in CI
(``make tls-tools`` installs it).
"""

from __future__ import annotations

import json
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dh, ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.findings import Finding, Verdict
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.probes.tls import probe_tls
from compliance_checks.probes.tls_profile import PROFILE, SuiteVerdict, curve_bits, judge_suite
from tests.conftest import missing_prerequisite
from tests.support.pki import NOW, Issued, make_ca, name_of

LOCALHOST = "127.0.0.1"

# RFC 2409 section 6.2, "Second Oakley Group": the 1024-bit MODP prime, generator 2.
OAKLEY_GROUP_2 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)
# RFC 7919 appendix A.1, ffdhe2048, generator 2 (equal to OpenSSL 3.0's built-in group "ffdhe2048").
FFDHE2048 = int(
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B423861285C97FFFFFFFFFFFFFFFF",
    16,
)


# --- certificates --------------------------------------------------------------------------------------------


def _leaf(
    ca: Issued, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, *, days: int = 90, digest: Any = None
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(name_of("localhost"))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .sign(ca.key, digest or hashes.SHA256())
    )


def _write(directory: Path, name: str, cert: x509.Certificate, key: Any) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _sha1_leaf(directory: Path, ca: Issued, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    """A leaf signed with ecdsa-with-SHA1: cryptography refuses to make one, Debian's openssl CLI does not."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing_prerequisite("the openssl command (Debian package openssl) not installed", "make tls-tools")
    template = _leaf(ca, key)  # the same leaf, re-signed below
    ca_cert, ca_key = _write(directory, "sha1-ca", ca.cert, ca.key)
    cert_path, key_path = _write(directory, "sha1", template, key)
    csr = directory / "sha1.csr"
    extensions = directory / "sha1.ext"
    extensions.write_text(
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n"
    )
    for command in (
        [openssl, "req", "-new", "-key", str(key_path), "-subj", "/CN=localhost", "-out", str(csr)],
        [
            openssl,
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca_cert),
            "-CAkey",
            str(ca_key),
            "-set_serial",
            "4242",
            "-sha1",
            "-days",
            "90",
            "-extfile",
            str(extensions),
            "-out",
            str(cert_path),
        ],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    return cert_path, key_path


def _dh_pem(directory: Path, name: str, prime: int) -> Path:
    path = directory / f"{name}.pem"
    parameters = dh.DHParameterNumbers(prime, 2).parameters()
    path.write_bytes(parameters.parameter_bytes(serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3))
    return path


# --- servers ---------------------------------------------------------------------------------------------------


class _Handler(socketserver.BaseRequestHandler):
    server: _TlsServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(3)
        try:
            with self.server.context.wrap_socket(sock, server_side=True) as tls:
                tls.recv(1024)  # scanners need the handshake only
        except OSError:  # refused suite or protocol, reset, timeout
            pass


class _TlsServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__((LOCALHOST, 0), _Handler)
        self.context = context

    def handle_error(self, request: object, client_address: object) -> None:
        """Scanners' odd handshakes are expected."""


@dataclass(frozen=True)
class Case:
    ciphers: str  # OpenSSL cipher string for TLS 1.2 (TLS 1.3 keeps OpenSSL's defaults)
    leaf: str  # which certificate: "ec", "rsa2048", "rsa1024", "sha1", "expiring"
    dh: str | None = None  # "oakley2" or "ffdhe2048"
    # expected verdicts (and whether a WARN is expected) per check
    expect: tuple[tuple[str, Verdict, bool], ...] = ()
    testssl: tuple[str, ...] = ()  # the testssl options that cover this case
    flagged: bool = False  # whether testssl (and this project: FAIL, or WARN for expiry) flags it


CIPHERS, CERTIFICATE, PROTOCOLS = "probe_tls_cipher_suites", "probe_tls_certificate", "probe_tls_protocols"

CASES: dict[str, Case] = {
    "good": Case(
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
        "ec",
        expect=((CIPHERS, Verdict.PASS, False), (CERTIFICATE, Verdict.PASS, False), (PROTOCOLS, Verdict.PASS, False)),
        testssl=("-s", "-S", "-J"),
    ),
    "cbc_sha1_no_fs": Case(
        "AES128-SHA:@SECLEVEL=0",
        "rsa2048",
        expect=((CIPHERS, Verdict.FAIL, False), (CERTIFICATE, Verdict.PASS, True)),
        testssl=("-s",),
        flagged=True,
    ),
    "null": Case(
        "NULL-SHA256:@SECLEVEL=0", "rsa2048", expect=((CIPHERS, Verdict.FAIL, False),), testssl=("-s",), flagged=True
    ),
    "anonymous_dh": Case(
        "ADH-AES128-GCM-SHA256:AECDH-AES128-SHA:@SECLEVEL=0",
        "rsa2048",
        dh="ffdhe2048",
        expect=((CIPHERS, Verdict.FAIL, True),),  # the WARN: its DH group has 2048 bits, not 3000
        testssl=("-s",),
        flagged=True,
    ),
    "dh_1024": Case(
        "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
        "rsa2048",
        dh="oakley2",
        expect=((CIPHERS, Verdict.FAIL, False),),
        testssl=("-J",),
        flagged=True,
    ),
    "dh_2048": Case(
        "DHE-RSA-AES128-GCM-SHA256",
        "rsa2048",
        dh="ffdhe2048",
        expect=((CIPHERS, Verdict.PASS, True),),
        testssl=("-J",),
    ),
    "rsa_1024": Case(
        "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
        "rsa1024",
        expect=((CIPHERS, Verdict.PASS, False), (CERTIFICATE, Verdict.FAIL, False)),
        testssl=("-S",),
        flagged=True,
    ),
    "sha1_signature": Case(
        "ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0",
        "sha1",
        expect=((CERTIFICATE, Verdict.FAIL, False),),
        testssl=("-S",),
        flagged=True,
    ),
    "expires_in_10_days": Case(
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "expiring",
        expect=((PROTOCOLS, Verdict.PASS, True), (CERTIFICATE, Verdict.PASS, False)),
        testssl=("-S",),
        flagged=True,
    ),
}


@dataclass
class Lab:
    ca_file: Path
    ports: dict[str, int]
    records: dict[str, Resource]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("tls-lab")
    ca = make_ca()
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    leaves = {
        "ec": _write(directory, "ec", _leaf(ca, ec_key), ec_key),
        "rsa2048": _write(directory, "rsa2048", _leaf(ca, rsa2048), rsa2048),
        "rsa1024": _write(directory, "rsa1024", _leaf(ca, rsa1024), rsa1024),
        "sha1": _sha1_leaf(directory, ca, ec_key),
        "expiring": _write(directory, "expiring", _leaf(ca, ec_key, days=10), ec_key),
    }
    groups = {
        "oakley2": _dh_pem(directory, "oakley2", OAKLEY_GROUP_2),
        "ffdhe2048": _dh_pem(directory, "ffdhe2048", FFDHE2048),
    }
    servers: list[_TlsServer] = []
    threads: list[threading.Thread] = []
    try:
        ports: dict[str, int] = {}
        for name, case in CASES.items():
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers(case.ciphers)
            if case.dh is not None:
                context.load_dh_params(str(groups[case.dh]))
            context.load_cert_chain(*leaves[case.leaf])
            server = _TlsServer(context)
            servers.append(server)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            threads.append(thread)
            ports[name] = server.server_address[1]
        records = {
            name: probe_tls(LOCALHOST, port, server_name="localhost", ca_file=ca_file, timeout=5)
            for name, port in ports.items()
        }
        yield Lab(ca_file, ports, records)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)


def _finding(check_id: str, record: Resource) -> Finding:
    findings = load_checks()[check_id].evaluate(Inventory([record]), Params())
    assert len(findings) == 1, findings
    return findings[0]


# --- the published groups are what they claim to be --------------------------------------------------------------


def test_the_published_dh_groups_have_their_sizes() -> None:
    assert OAKLEY_GROUP_2.bit_length() == 1024
    assert FFDHE2048.bit_length() == 2048
    # Both are safe primes p = 2q + 1; a Fermat test of p and q is enough to catch a typo.
    for prime in (OAKLEY_GROUP_2, FFDHE2048):
        assert pow(3, prime - 1, prime) == 1
        assert pow(3, (prime - 1) // 2 - 1, (prime - 1) // 2) == 1


# --- each case, its verdicts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_verdicts(lab: Lab, name: str) -> None:
    record = lab.records[name]
    assert not record.get("error"), record.get("error")
    for check_id, verdict, warned in CASES[name].expect:
        finding = _finding(check_id, record)
        assert finding.verdict is verdict, (check_id, finding.message)
        assert bool(finding.warnings) is warned, (check_id, finding.warnings)
        profile = [e for e in finding.evidence if e.path == "profile"]
        if check_id != PROTOCOLS:
            assert profile, "the profile is named in the evidence"
            assert profile[0].observed == PROFILE


def test_good_server_records_suites_groups_and_certificate(lab: Lab) -> None:
    record = lab.records["good"]
    suites = record.get("cipherSuites")
    assert {s["name"] for s in suites if s["protocol"] == "TLSv1.2"} == {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    }
    assert any(s["protocol"] == "TLSv1.3" for s in suites)
    assert all(s["keyexchange"]["type"] == "ECDH" for s in suites)
    assert record.get("ellipticCurves.supportsEcdh") is True
    assert "secp256r1" in record.get("ellipticCurves.accepted")
    assert record.get("certificate.publicKey") == {"type": "EC", "size": 256, "curve": "secp256r1"}
    assert record.get("certificate.signatureAlgorithm") == "ecdsa-with-SHA256"
    assert record.get("certificate.ocspStapling") is False
    assert [s["hash"] for s in record.get("certificate.signatures")] == ["sha256"]


def test_cbc_sha1_without_forward_secrecy_is_named(lab: Lab) -> None:
    finding = _finding(CIPHERS, lab.records["cbc_sha1_no_fs"])
    assert finding.message.startswith("No forward secrecy: TLS_RSA_WITH_AES_128_CBC_SHA (TLSv1.2)")
    assert "CBC with SHA-1 MAC: TLS_RSA_WITH_AES_128_CBC_SHA (TLSv1.2)" in finding.message
    cert = _finding(CERTIFICATE, lab.records["cbc_sha1_no_fs"])
    assert "RSA key of 2048 bits" in cert.warnings[0]
    assert "3000" in cert.warnings[0]


def test_null_and_anonymous_suites_are_named(lab: Lab) -> None:
    assert "NULL encryption: TLS_RSA_WITH_NULL_SHA256 (TLSv1.2)" in _finding(CIPHERS, lab.records["null"]).message
    anonymous = _finding(CIPHERS, lab.records["anonymous_dh"]).message
    assert anonymous.startswith("Anonymous (no server authentication): ")
    assert "TLS_DH_anon_WITH_AES_128_GCM_SHA256" in anonymous
    assert "TLS_ECDH_anon_WITH_AES_128_CBC_SHA" in anonymous


def test_dh_group_sizes(lab: Lab) -> None:
    weak = lab.records["dh_1024"]
    assert {s["keyexchange"]["size"] for s in weak.get("cipherSuites") if s["protocol"] == "TLSv1.2"} == {1024}
    assert "DH group under 2048 bits: 1024 bits" in _finding(CIPHERS, weak).message
    fair = _finding(CIPHERS, lab.records["dh_2048"])
    assert "DH group of 2048 bits" in fair.warnings[0]


def test_rsa_1024_and_sha1_signature_fail_the_certificate_check(lab: Lab) -> None:
    assert lab.records["rsa_1024"].get("certificate.publicKey") == {"type": "RSA", "size": 1024}
    assert "RSA key of 1024 bits (under 2048)" in _finding(CERTIFICATE, lab.records["rsa_1024"]).message
    sha1 = lab.records["sha1_signature"]
    assert sha1.get("certificate.signatureAlgorithm") == "ecdsa-with-SHA1"
    assert "signed with ecdsa-with-SHA1" in _finding(CERTIFICATE, sha1).message
    # A SHA-1 signature does not validate either: the protocols check fails the chain.
    assert _finding(PROTOCOLS, sha1).verdict is Verdict.FAIL


def test_expiry_under_30_days_is_a_visible_warn(lab: Lab) -> None:
    finding = _finding(PROTOCOLS, lab.records["expires_in_10_days"])
    assert finding.verdict is Verdict.PASS
    assert len(finding.warnings) == 1
    assert finding.warnings[0].startswith("Certificate expires in 10 days")
    assert not _finding(PROTOCOLS, lab.records["good"]).warnings


# --- the judging rules on their own --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None),
        ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", None),
        ("TLS_DHE_RSA_WITH_AES_256_CCM", None),
        ("TLS_AES_128_GCM_SHA256", None),
        ("TLS_RSA_WITH_AES_128_GCM_SHA256", "no forward secrecy"),
        ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "CBC with SHA-1 MAC"),
        ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", "RC4/RC2"),
        ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "DES/3DES/IDEA/SEED"),
        ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "export-grade"),
        ("TLS_ECDHE_RSA_WITH_NULL_SHA", "NULL encryption"),
        ("TLS_DH_anon_WITH_AES_256_GCM_SHA384", "anonymous (no server authentication)"),
        ("TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_MD5", "CBC with MD5 MAC"),
        ("NOT_A_SUITE", "not a cipher suite name this profile knows"),
    ],
)
def test_suite_rules(name: str, problem: str | None) -> None:
    verdict = judge_suite(name, anonymous=False)
    assert (problem in verdict.problems) if problem else verdict.problems == ()


def test_cbc_sha256_with_forward_secrecy_is_a_caution_not_a_failure() -> None:
    verdict = judge_suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", anonymous=False)
    assert verdict.problems == ()
    assert verdict.cautions


def test_tls13_suites_outside_the_tr_table_are_cautions() -> None:
    # TR-02102-2 (2024-01) Tabelle 12 lists AES-128-GCM, AES-256-GCM and AES-128-CCM for TLS 1.3.
    for listed in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_AES_128_CCM_SHA256"):
        assert judge_suite(listed, anonymous=False) == SuiteVerdict((), ())
    ccm8 = judge_suite("TLS_AES_128_CCM_8_SHA256", anonymous=False)
    assert ccm8.problems == () and ccm8.cautions == (
        "AES-CCM with an 8-byte tag, not listed by TR-02102-2 (Tabelle 12)",
    )


def test_static_dh_suites_of_the_tr_fail_for_personal_data() -> None:
    # Tabelle 3 allows them until 2026 where forward secrecy is impossible; this profile does not (footnote 2).
    verdict = judge_suite("TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", anonymous=False)
    assert "no forward secrecy" in verdict.problems


@pytest.mark.parametrize(
    ("curve", "bits"),
    [("X25519", 253), ("x448", 448), ("secp256r1", 256), ("prime256v1", 256), ("sect163k1", 163), ("weird", None)],
)
def test_curve_sizes(curve: str, bits: int | None) -> None:
    assert curve_bits(curve) == bits


def _record(**body: Any) -> Resource:
    return Resource.create(id="probe:tls/x:443", type="Probe/tls", name="x:443", body=body, source="probe")


def test_a_weak_curve_fails_and_an_unknown_one_is_an_error() -> None:
    good_suites = [
        {"protocol": "TLSv1.3", "name": "TLS_AES_128_GCM_SHA256", "keyExchange": {"type": "ECDH", "size": 253}}
    ]
    weak = _record(cipherSuites=good_suites, ellipticCurves={"accepted": ["secp192r1", "X25519"]})
    assert _finding(CIPHERS, weak).verdict is Verdict.FAIL
    unknown = _record(cipherSuites=good_suites, ellipticCurves={"accepted": ["mystery"]})
    assert _finding(CIPHERS, unknown).verdict is Verdict.ERROR


def test_a_dhe_suite_without_its_group_is_never_a_pass() -> None:
    suites = [{"protocol": "TLSv1.2", "name": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "keyExchange": None}]
    record = _record(cipherSuites=suites, ellipticCurves={"accepted": []})
    assert _finding(CIPHERS, record).verdict is Verdict.ERROR


@pytest.mark.parametrize("check_id", [CIPHERS, CERTIFICATE])
def test_an_empty_record_is_an_error(check_id: str) -> None:
    assert _finding(check_id, _record(acceptedProtocols=["TLSv1.2"])).verdict is Verdict.ERROR


def test_an_unknown_key_or_signature_is_never_a_pass() -> None:
    record = _record(certificate={"publicKey": {"type": "RSA", "size": None}, "signatures": []})
    assert _finding(CERTIFICATE, record).verdict is Verdict.ERROR
    unsigned = _record(certificate={"publicKey": {"type": "EC", "size": 256}, "signatures": [{"algorithm": "x"}]})
    assert _finding(CERTIFICATE, unsigned).verdict is Verdict.ERROR


# --- testssl.sh agrees ----------------------------------------------------------------------------------------------

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
FLAGGING = frozenset({"LOW", "MEDIUM", "HIGH", "CRITICAL"})
# The testssl finding IDs that speak to each option's concern (testssl 3.0 JSON output).
CONCERNS: dict[str, Callable[[str], bool]] = {
    "-s": lambda i: i.startswith("cipherlist_"),
    "-J": lambda i: i.startswith("LOGJAM"),
    "-S": lambda i: i in ("cert_keySize", "cert_signatureAlgorithm", "cert_expirationStatus"),
}


def _testssl(port: int, options: tuple[str, ...], out: Path) -> list[dict[str, Any]]:
    assert TESTSSL is not None
    command = [TESTSSL, "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none", "--jsonfile", str(out)]
    command += [*options, "--ip", LOCALHOST, f"localhost:{port}"]
    subprocess.run(command, capture_output=True, timeout=170, check=False)  # exit code = number of findings
    findings: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))
    return findings


def test_testssl_agrees(lab: Lab, tmp_path: Path) -> None:
    if TESTSSL is None:
        missing_prerequisite("testssl.sh (Debian package testssl.sh) not installed", "make tls-tools")
    names = sorted(CASES)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda n: _testssl(lab.ports[n], CASES[n].testssl, tmp_path / f"{n}.json"), names))
    disagreements = []
    for name, findings in zip(names, results, strict=True):
        case = CASES[name]
        relevant = [f for f in findings if any(CONCERNS[o](f["id"]) for o in case.testssl)]
        assert relevant, f"{name}: testssl reported nothing for {case.testssl}"
        flagged = sorted(f"{f['id']}={f['severity']}: {f['finding']}" for f in relevant if f["severity"] in FLAGGING)
        ours = [_finding(check_id, lab.records[name]) for check_id, _, _ in case.expect]
        we_flag = any(f.verdict is Verdict.FAIL for f in ours) or (
            name == "expires_in_10_days" and any(f.warnings for f in ours)
        )
        if bool(flagged) != case.flagged or we_flag != case.flagged:
            disagreements.append((name, flagged, [(f.check_id, f.verdict.value, f.warnings) for f in ours]))
    assert not disagreements, disagreements
