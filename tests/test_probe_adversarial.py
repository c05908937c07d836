"""Portals that break the privacy promise while trying to earn a PASS from the probe checks.

Every server here is started by the tests on 127.0.0.1 (ephemeral ports). Each
case is an evasion a hostile or careless portal could serve; the test names
what the probe must see (a FAIL) or what the check must not claim (a PASS
whose message says more than the probe observed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.findings import Finding, Verdict
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.probes.http import probe_http
from tests.test_probes_http_browser import QuietServer, TLSServer, make_cert, serve

HSTS = "max-age=31536000; includeSubDomains"
PAGE = "<!doctype html><html><head><title>Portal</title></head><body>Portal</body></html>"


class _Handler(BaseHTTPRequestHandler):
    timeout = 5
    https_port: ClassVar[int] = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, status: int, headers: tuple[tuple[str, str], ...] = (), body: str = "") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class PlainEntry(_Handler):
    """Port 80 of the hostile portal: a permanent redirect to HTTPS that sets a cookie on the way."""

    def do_GET(self) -> None:
        location = ("Location", f"https://127.0.0.1:{self.https_port}{self.path}")
        if self.path.startswith("/cookie-on-redirect"):
            self.answer(301, (location, ("Set-Cookie", "tracking=secret-plain-id; Path=/")))
        else:
            self.answer(301, (location,))


class SecurePortal(_Handler):
    """The HTTPS portal; ``/hop-elsewhere`` redirects to another origin (same machine) that sets a cookie."""

    def do_GET(self) -> None:
        secure = (("Strict-Transport-Security", HSTS), ("Content-Security-Policy", "default-src 'self'"))
        if self.path == "/hop-elsewhere":
            # localhost is another origin than 127.0.0.1 (RFC 6454 §4: the host is compared as a string).
            self.answer(302, (*secure, ("Location", f"https://localhost:{self.https_port}/set-cookie")))
        elif self.path == "/set-cookie":
            self.answer(200, (*secure, ("Set-Cookie", "sid=secret-offsite-id; Path=/")), PAGE)
        else:
            self.answer(200, secure, PAGE)


@dataclass
class Hostile:
    https: int
    plain: int
    cert: Path

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.https}{path}"

    def plain_url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.plain}{path}"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    import ssl

    cert, key = make_cert(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    class Secure(SecurePortal):
        pass

    class Plain(PlainEntry):
        pass

    servers = [TLSServer(Secure, context), QuietServer(("127.0.0.1", 0), Plain)]
    https_port = servers[0].server_address[1]
    Secure.https_port = Plain.https_port = https_port
    threads: list[threading.Thread] = [serve(s) for s in servers]
    try:
        yield Hostile(https_port, servers[1].server_address[1], cert)
    finally:
        for server, thread in zip(servers, threads, strict=True):
            server.shutdown()
            server.server_close()
            thread.join(5)


def finding(record: Resource, check_id: str) -> Finding:
    findings = load_checks()[check_id].evaluate(Inventory([record]), Params())
    assert len(findings) == 1, findings
    return findings[0]


# -- HTTP probe ----------------------------------------------------------------------------


def test_cookie_set_by_the_plain_http_redirect_fails(hostile: Hostile) -> None:
    """The visitor's first request (http://) gets a cookie with the 301: the header check must see it."""
    record = probe_http(
        hostile.url("/"), timeout=5, ca_file=hostile.cert, http_url=hostile.plain_url("/cookie-on-redirect")
    )
    assert "error" not in record.body, record.body
    result = finding(record, "probe_http_no_set_cookie")
    assert result.verdict is Verdict.FAIL, result.message
    assert "tracking" in result.message
    assert "secret" not in str(record.body)


def test_clean_plain_http_redirect_still_passes(hostile: Hostile) -> None:
    record = probe_http(hostile.url("/"), timeout=5, ca_file=hostile.cert, http_url=hostile.plain_url("/"))
    assert finding(record, "probe_http_no_set_cookie").verdict is Verdict.PASS
    assert finding(record, "probe_http_hsts_redirect").verdict is Verdict.PASS


def test_cookie_set_after_a_redirect_to_another_origin_fails(hostile: Hostile) -> None:
    """The portal's page sends the visitor to another origin that sets a cookie: the chain is followed."""
    record = probe_http(hostile.url("/hop-elsewhere"), timeout=5, ca_file=hostile.cert, http_url=hostile.plain_url("/"))
    assert "error" not in record.body, record.body
    result = finding(record, "probe_http_no_set_cookie")
    assert result.verdict is Verdict.FAIL, result.message
    assert "sid" in result.message
    assert "secret" not in str(record.body)
