"""The live probes for TLS and port reachability, against servers the tests start on 127.0.0.1.

A throwaway CA is made here; four TLS servers use it: ``good`` (TLS 1.2+,
leaf for "localhost" signed by the CA, 90 days), ``old`` (also TLS 1.0 and
1.1, at OpenSSL security level 0), ``expired`` (the CA's leaf expired ten days
ago) and ``selfsigned`` (a leaf for "localhost" the CA never signed). Each
server is scanned once per module; the records are judged by the real checks.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.findings import Finding, Verdict
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.probes.reachability import probe_port
from compliance_checks.probes.tls import probe_tls
from tests.support.pki import NOW, make_ca, make_leaf, write_pem

LOCALHOST = "127.0.0.1"

# --- a throwaway PKI ------------------------------------------------------------------------------------------


# --- TLS servers in threads -----------------------------------------------------------------------------------


class _Handler(socketserver.BaseRequestHandler):
    server: _TlsServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(3)
        try:
            with self.server.context.wrap_socket(sock, server_side=True) as tls:
                tls.recv(1024)  # until the client hangs up (or the timeout): scanners only need the handshake
        except OSError:  # ssl.SSLError is an OSError: refused protocol, unknown cipher, reset, timeout
            pass


class _TlsServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__((LOCALHOST, 0), _Handler)
        self.context = context

    def handle_error(self, request: object, client_address: object) -> None:
        """A scanner's odd handshakes are expected; nothing to report."""


@dataclass
class Pki:
    ca_file: Path
    servers: dict[str, int]
    records: dict[str, Resource]


def _context(cert: Path, key: Path, *, old: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if old:
        # Debian's OpenSSL refuses TLS 1.0/1.1 at security level 2: this server deliberately does not.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "ssl.TLSVersion.TLSv1 is deprecated", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    directory = tmp_path_factory.mktemp("pki")
    ca = make_ca()
    ca_file, _ = write_pem(directory, "ca", ca)
    leaves = {
        "good": (make_leaf(ca, NOW - timedelta(days=1), NOW + timedelta(days=90)), False),
        "old": (make_leaf(ca, NOW - timedelta(days=1), NOW + timedelta(days=90)), True),
        "expired": (make_leaf(ca, NOW - timedelta(days=100), NOW - timedelta(days=10)), False),
        "selfsigned": (make_leaf(None, NOW - timedelta(days=1), NOW + timedelta(days=90)), False),
    }
    servers: list[_TlsServer] = []
    threads: list[threading.Thread] = []
    ports: dict[str, int] = {}
    try:
        for name, (leaf, old) in leaves.items():
            cert, key = write_pem(directory, name, leaf)
            server = _TlsServer(_context(cert, key, old=old))
            servers.append(server)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            threads.append(thread)
            ports[name] = server.server_address[1]
        records = {
            name: probe_tls(LOCALHOST, port, server_name="localhost", ca_file=ca_file, timeout=5)
            for name, port in ports.items()
        }
        yield Pki(ca_file, ports, records)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)


def _closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
    return port


def _verdict(check_id: str, record: Resource) -> Finding:
    findings = load_checks()[check_id].evaluate(Inventory([record]), Params())
    assert len(findings) == 1, findings
    return findings[0]


# --- TLS --------------------------------------------------------------------------------------------------------


def test_good_server_passes(pki: Pki) -> None:
    record = pki.records["good"]
    assert record.id == f"probe:tls/{LOCALHOST}:{pki.servers['good']}"
    assert record.type == "Probe/tls"
    assert record.source == "probe"
    assert not record.get("error"), record.get("error")
    assert record.get("acceptedProtocols") == ["TLSv1.2", "TLSv1.3"]
    assert record.get("testedProtocols") == ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert record.get("certificate.chainValid") is True
    assert record.get("certificate.hostnameMatches") is True
    assert record.get("certificate.daysToExpiry") == 90
    assert record.get("certificate.subject") == "CN=localhost"
    assert record.get("certificate.issuer") == "CN=Smart Portal test CA"
    assert datetime.fromisoformat(record.get("certificate.notAfter")) > NOW + timedelta(days=89)
    finding = _verdict("probe_tls_protocols", record)
    assert finding.verdict is Verdict.PASS, finding.message
    assert "renew soon" not in finding.message


def test_old_protocol_server_fails(pki: Pki) -> None:
    record = pki.records["old"]
    assert not record.get("error"), record.get("error")
    accepted = record.get("acceptedProtocols")
    assert "TLSv1.0" in accepted
    assert "TLSv1.2" in accepted
    assert record.get("certificate.chainValid") is True
    finding = _verdict("probe_tls_protocols", record)
    assert finding.verdict is Verdict.FAIL
    assert "tlsv1.0" in finding.message.lower()


def test_expired_certificate_fails(pki: Pki) -> None:
    record = pki.records["expired"]
    assert not record.get("error"), record.get("error")
    assert record.get("acceptedProtocols") == ["TLSv1.2", "TLSv1.3"]
    assert record.get("certificate.daysToExpiry") == -10
    assert record.get("certificate.hostnameMatches") is True
    finding = _verdict("probe_tls_protocols", record)
    assert finding.verdict is Verdict.FAIL
    assert "expired" in finding.message


def test_self_signed_certificate_fails(pki: Pki) -> None:
    record = pki.records["selfsigned"]
    assert not record.get("error"), record.get("error")
    assert record.get("certificate.chainValid") is False
    assert record.get("certificate.chainError")
    assert record.get("certificate.hostnameMatches") is True
    assert record.get("certificate.daysToExpiry") == 90
    finding = _verdict("probe_tls_protocols", record)
    assert finding.verdict is Verdict.FAIL
    assert "chain is not valid" in finding.message
    assert "expired" not in finding.message


def test_certificate_expiring_soon_passes_with_a_warning(pki: Pki) -> None:
    # The good server's certificate, seen 75 days from now: 15 days left.
    record = probe_tls(
        LOCALHOST, pki.servers["good"], server_name="localhost", ca_file=pki.ca_file, now=NOW + timedelta(days=75)
    )
    assert record.get("certificate.daysToExpiry") == 15
    finding = _verdict("probe_tls_protocols", record)
    assert finding.verdict is Verdict.PASS, finding.message
    assert "expires in 15 days" in finding.message


def test_wrong_host_name_fails(pki: Pki) -> None:
    record = probe_tls(LOCALHOST, pki.servers["good"], server_name="portal.example.invalid", ca_file=pki.ca_file)
    assert record.get("certificate.hostnameMatches") is False
    assert record.get("certificate.chainValid") is True
    finding = _verdict("probe_tls_protocols", record)
    assert finding.verdict is Verdict.FAIL
    assert "does not match the host name" in finding.message


def test_closed_port_is_an_error_not_a_pass() -> None:
    port = _closed_port()
    record = probe_tls(LOCALHOST, port, server_name="localhost", timeout=2)
    error = record.get("error")
    assert isinstance(error, str)
    assert error
    assert "\n" not in error
    assert record.id == f"probe:tls/{LOCALHOST}:{port}"
    assert _verdict("probe_tls_protocols", record).verdict is Verdict.ERROR


class _HangUp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        """Accept, say nothing, close: a port that is open but speaks no TLS."""


def test_port_without_tls_is_an_error() -> None:
    with socketserver.ThreadingTCPServer((LOCALHOST, 0), _HangUp) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            record = probe_tls(LOCALHOST, server.server_address[1], server_name="localhost", timeout=2)
        finally:
            server.shutdown()
            thread.join(timeout=5)
    assert record.get("error")
    assert "\n" not in record.get("error")
    assert _verdict("probe_tls_protocols", record).verdict is Verdict.ERROR


# --- reachability -------------------------------------------------------------------------------------------------


def test_listening_port_is_open_and_fails_from_elsewhere() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOCALHOST, 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        record = probe_port(LOCALHOST, port, vantage_is_allowed=False, timeout=2)
    assert record.id == f"probe:reachability/{LOCALHOST}:{port}"
    assert record.type == "Probe/reachability"
    assert record.get("result") == "open"
    assert record.get("host") == LOCALHOST
    assert record.get("port") == port
    assert record.get("vantageIsAllowed") is False
    assert isinstance(record.get("elapsedMs"), int)
    finding = _verdict("probe_database_port_unreachable", record)
    assert finding.verdict is Verdict.FAIL
    assert str(port) in finding.message


def test_closed_port_is_refused_and_passes() -> None:
    port = _closed_port()
    record = probe_port(LOCALHOST, port, vantage_is_allowed=False, timeout=2)
    assert record.get("result") == "refused"
    assert not record.get("error")
    assert _verdict("probe_database_port_unreachable", record).verdict is Verdict.PASS


def test_allowed_vantage_is_not_applicable() -> None:
    record = probe_port(LOCALHOST, _closed_port(), vantage_is_allowed=True, timeout=2)
    assert record.get("vantageIsAllowed") is True
    assert _verdict("probe_database_port_unreachable", record).verdict is Verdict.NOT_APPLICABLE


def test_silent_port_is_a_timeout_and_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    def silent(self: socket.socket, address: object) -> None:
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket.socket, "connect", silent)
    record = probe_port(LOCALHOST, _closed_port(), vantage_is_allowed=False, timeout=0.1)
    assert record.get("result") == "timeout"
    assert _verdict("probe_database_port_unreachable", record).verdict is Verdict.PASS


def test_unresolvable_host_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The resolver is replaced: no query leaves this machine.
    def unknown(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    record = probe_port("db.example.invalid", 5432, vantage_is_allowed=False, timeout=1)
    assert "cannot resolve db.example.invalid" in record.get("error")
    assert record.get("result") is not None
    assert _verdict("probe_database_port_unreachable", record).verdict is Verdict.ERROR
