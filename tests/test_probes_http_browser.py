"""The HTTP and browser probes against local servers, judged by the real probe checks.

Every server here is started by the tests on 127.0.0.1 (ephemeral ports): an
HTTPS server with a throwaway self-signed certificate, the same pages over plain
HTTP, and an HTTP server that redirects to the HTTPS one. The "third-party"
tracker host www.google-analytics.com is mapped to 127.0.0.1 by Chromium's
``--host-resolver-rules``; nothing leaves the machine.

The browser tests need Debian's Chromium (/usr/bin/chromium): without it they
skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.findings import Verdict
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.probes.browser import LAUNCH_ARGS, probe_browser, registrable_host
from compliance_checks.probes.http import parse_hsts, probe_http, redact_set_cookie
from tests.conftest import CHROMIUM, require_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TRACKER = "www.google-analytics.com"
# Chromium upgrades http:// to google-analytics.com to https:// (it is on the HSTS preload list, so
# a plain-HTTP script from it never loads): the plain-HTTP pages use another listed tracker host.
PLAIN_TRACKER = "static.hotjar.com"
RESOLVER_RULES = f"MAP {TRACKER} 127.0.0.1, MAP {PLAIN_TRACKER} 127.0.0.1"
HTTP_CHECKS = ("probe_http_no_set_cookie", "probe_http_hsts_redirect", "probe_http_csp_no_analytics")
BROWSER_CHECKS = ("probe_browser_no_cookies", "probe_browser_local_storage", "probe_browser_no_trackers")
P, F, E, M = Verdict.PASS, Verdict.FAIL, Verdict.ERROR, Verdict.MANUAL
HSTS = "max-age=31536000; includeSubDomains"
CSP_SELF = "default-src 'self'"


# -- the local portal ---------------------------------------------------------------------


class Portal(BaseHTTPRequestHandler):
    """The test portal's pages; the same on HTTPS and plain HTTP."""

    timeout = 5
    scheme: ClassVar[str] = "https"
    tracker: ClassVar[str] = TRACKER
    port: ClassVar[int] = 0
    seen_hosts: ClassVar[list[str]]

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send(
        self, status: int, body: str, content_type: str = "text/html", headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.seen_hosts.append(self.headers.get("Host", ""))
        path = self.path.split("?", 1)[0]
        tracker_origin = f"{self.scheme}://{self.tracker}:{self.port}"
        secure = (("Strict-Transport-Security", HSTS), ("Content-Security-Policy", CSP_SELF))
        page = "<!doctype html><html><head><title>Smart Portal</title>{}</head><body><h1>Portal</h1></body></html>"
        if path == "/clean":
            self.send(200, page.format('<script src="/app.js"></script>'), headers=secure)
        elif path == "/plain":
            self.send(200, page.format(""), headers=secure)
        elif path == "/header-cookie":
            cookie = ("Set-Cookie", "session=secret-session-value; Path=/; Secure; HttpOnly; SameSite=Lax")
            self.send(200, page.format('<script src="/app.js"></script>'), headers=(*secure, cookie))
        elif path == "/script-cookie":
            self.send(200, page.format('<script src="/cookie.js"></script>'), headers=secure)
        elif path == "/tracker":
            csp = ("Content-Security-Policy", f"default-src 'self'; script-src 'self' {tracker_origin}")
            scripts = f'<script src="/app.js"></script><script src="{tracker_origin}/analytics.js"></script>'
            self.send(200, page.format(scripts), headers=(("Strict-Transport-Security", HSTS), csp))
        elif path == "/no-hsts":
            self.send(200, page.format(""), headers=(("Content-Security-Policy", CSP_SELF),))
        elif path == "/app.js":
            script = "localStorage.setItem('auth', 'secret-token-123'); localStorage.setItem('lang', 'de');"
            self.send(200, script, "text/javascript")
        elif path == "/cookie.js":
            self.send(200, "document.cookie = 'visitor=secret-visitor-id; path=/; max-age=3600';", "text/javascript")
        elif path == "/analytics.js":
            self.send(200, "window.tracked = true;", "text/javascript")
        else:
            self.send(404, "not found", "text/plain")


class Redirector(BaseHTTPRequestHandler):
    """Plain HTTP that redirects to the HTTPS portal: 301, or 302 under /temp."""

    timeout = 5
    target_port: ClassVar[int] = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(302 if self.path.startswith("/temp") else 301)
        self.send_header("Location", f"https://127.0.0.1:{self.target_port}{self.path.removeprefix('/temp')}")
        self.send_header("Content-Length", "0")
        self.end_headers()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that abort (failed TLS verification, timeouts) are expected here


class TLSServer(QuietServer):
    def __init__(self, handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.context = context

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # The handshake happens in the handler's thread, so a stalled client cannot block the server.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


@dataclass
class Site:
    https: int
    plain: int
    redirect: int
    cert: Path
    seen_hosts: list[str] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.https}{path}"

    def plain_url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.plain}{path}"

    def redirect_url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.redirect}{path}"


def make_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", f"subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:{TRACKER}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    cert, key = make_cert(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    seen: list[str] = []

    class HttpsPortal(Portal):
        seen_hosts = seen

    class PlainPortal(Portal):
        seen_hosts = seen
        scheme = "http"
        tracker = PLAIN_TRACKER

    servers: list[ThreadingHTTPServer] = [
        TLSServer(HttpsPortal, context),
        QuietServer(("127.0.0.1", 0), PlainPortal),
    ]
    https_port, plain_port = servers[0].server_address[1], servers[1].server_address[1]
    HttpsPortal.port, PlainPortal.port = https_port, plain_port

    class Redirect(Redirector):
        target_port = https_port

    servers.append(QuietServer(("127.0.0.1", 0), Redirect))
    threads = [serve(s) for s in servers]
    try:
        yield Site(https_port, plain_port, servers[2].server_address[1], cert, seen)
    finally:
        for server, thread in zip(servers, threads, strict=True):
            server.shutdown()
            server.server_close()
            thread.join(5)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def verdicts(record: Resource, check_ids: tuple[str, ...]) -> dict[str, Verdict]:
    checks, inventory = load_checks(), Inventory([record])
    found: dict[str, Verdict] = {}
    for check_id in check_ids:
        findings = checks[check_id].evaluate(inventory, Params())
        assert len(findings) == 1, findings
        assert findings[0].resource_id == record.id
        found[check_id] = findings[0].verdict
    return found


def expect(*values: Verdict, ids: tuple[str, ...]) -> dict[str, Verdict]:
    return dict(zip(ids, values, strict=True))


def assert_no_secret(record: Resource) -> None:
    assert "secret" not in json.dumps(record.body, default=str)


# -- HTTP probe ---------------------------------------------------------------------------

HTTP_CASES = {
    # name: (path, redirect source ("redirect", "temp" or "plain"), extra paths, verdicts)
    "clean": ("/clean", "redirect", (), (P, P, P)),
    "header cookie": ("/header-cookie", "redirect", (), (F, P, P)),
    "cookie on an extra path": ("/clean", "redirect", ("/header-cookie",), (F, P, P)),
    "script cookie is invisible to headers": ("/script-cookie", "redirect", (), (P, P, P)),
    "tracker allowed by CSP": ("/tracker", "redirect", (), (P, P, F)),
    "no HSTS": ("/no-hsts", "redirect", (), (P, F, P)),
    "no CSP and no HSTS": ("/analytics.js", "redirect", (), (P, F, F)),
    "plain HTTP answers 200": ("/clean", "plain", (), (P, F, P)),
    "temporary redirect": ("/clean", "temp", (), (P, F, P)),
}


@pytest.mark.parametrize("case", sorted(HTTP_CASES))
def test_http_probe_verdicts(site: Site, case: str) -> None:
    path, redirect, extra, expected = HTTP_CASES[case]
    http_url = {
        "redirect": site.redirect_url(path),
        "temp": site.redirect_url(f"/temp{path}"),
        "plain": site.plain_url(path),
    }[redirect]
    record = probe_http(site.url(path), timeout=5, ca_file=site.cert, extra_paths=extra, http_url=http_url)
    assert "error" not in record.body, record.body
    assert (record.type, record.id, record.name, record.source) == (
        "Probe/http",
        "probe:http/127.0.0.1",
        "127.0.0.1",
        "probe",
    )
    assert verdicts(record, HTTP_CHECKS) == expect(*expected, ids=HTTP_CHECKS)
    assert len(record.body["pages"]) == 1 + len(extra)
    assert_no_secret(record)


def test_http_probe_records_the_fields_the_checks_read(site: Site) -> None:
    record = probe_http(site.url("/header-cookie"), ca_file=site.cert, http_url=site.redirect_url("/header-cookie"))
    assert record.get("httpRedirect.status") == 301
    assert record.get("httpRedirect.location") == site.url("/header-cookie")
    assert record.get("hsts.maxAge") == 31536000 and record.get("hsts.includeSubDomains") is True
    assert record.get("contentSecurityPolicy") == CSP_SELF
    assert record.body["setCookie"] == ["session=[redacted]; Path=/; Secure; HttpOnly; SameSite=Lax"]
    clean = probe_http(site.url("/no-hsts"), ca_file=site.cert, http_url=site.redirect_url("/no-hsts"))
    assert clean.body["setCookie"] == [] and clean.get("hsts.maxAge") is None
    assert clean.get("hsts.includeSubDomains") is False


def test_http_probe_server_down_is_error(closed_port: int) -> None:
    url = f"https://127.0.0.1:{closed_port}/"
    record = probe_http(url, timeout=2, http_url=f"http://127.0.0.1:{closed_port}/")
    assert "\n" not in record.body["error"] and str(closed_port) in record.body["error"]
    assert verdicts(record, HTTP_CHECKS) == expect(E, E, E, ids=HTTP_CHECKS)


def test_http_probe_https_down_after_redirect_is_error(site: Site, closed_port: int) -> None:
    record = probe_http(f"https://127.0.0.1:{closed_port}/", timeout=2, http_url=site.redirect_url("/clean"))
    assert record.get("httpRedirect.status") == 301  # what was seen stays in the record
    assert verdicts(record, HTTP_CHECKS) == expect(E, E, E, ids=HTTP_CHECKS)


def test_http_probe_untrusted_certificate_is_error(site: Site) -> None:
    record = probe_http(site.url("/clean"), timeout=5, http_url=site.redirect_url("/clean"))
    assert "certificate" in record.body["error"].lower() and "\n" not in record.body["error"]
    assert verdicts(record, HTTP_CHECKS) == expect(E, E, E, ids=HTTP_CHECKS)


def test_http_probe_timeout_is_error() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        record = probe_http(f"https://127.0.0.1:{port}/", timeout=0.5, http_url=f"http://127.0.0.1:{port}/")
    assert "timed out" in record.body["error"]
    assert verdicts(record, HTTP_CHECKS) == expect(E, E, E, ids=HTTP_CHECKS)


def test_http_probe_rejects_a_plain_portal_url(site: Site) -> None:
    record = probe_http(site.plain_url("/clean"))
    assert "https://" in record.body["error"]
    assert verdicts(record, HTTP_CHECKS) == expect(E, E, E, ids=HTTP_CHECKS)


def test_header_helpers() -> None:
    assert parse_hsts('max-age="63072000"; includeSubDomains; preload')["maxAge"] == 63072000
    assert parse_hsts("max-age=abc; includeSubDomains") == {
        "maxAge": None,
        "includeSubDomains": False,
        "raw": "max-age=abc; includeSubDomains",
    }
    assert parse_hsts("max-age=1; max-age=2")["maxAge"] is None
    assert parse_hsts("includeSubDomains")["maxAge"] is None
    assert redact_set_cookie("ARRAffinity=abc123; Path=/;HttpOnly") == "ARRAffinity=[redacted]; Path=/;HttpOnly"
    assert redact_set_cookie("flag") == "flag"
    assert registrable_host("www.google-analytics.com") == "google-analytics.com"
    assert registrable_host("127.0.0.1") == "127.0.0.1"
    assert registrable_host("[::1]") == "::1"
    assert registrable_host("smart-portal.azurewebsites.net") == "smart-portal.azurewebsites.net"
    assert registrable_host("cdn.example.co.uk") == "example.co.uk"


# -- browser probe ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module, with the tracker host mapped to 127.0.0.1."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*LAUNCH_ARGS, f"--host-resolver-rules={RESOLVER_RULES}"]
        )
        try:
            yield launched
        finally:
            launched.close()


def visit(browser: Browser, url: str, *paths: str, actions: Callable[[Page], None] | None = None) -> Resource:
    return probe_browser(url, paths=paths, ignore_https_errors=True, actions=actions, timeout_s=15, browser=browser)


BROWSER_CASES = {
    # name: (path, verdicts of no_cookies, local_storage, no_trackers)
    "clean": ("/clean", (P, P, P)),
    "header cookie": ("/header-cookie", (F, F, P)),
    "script cookie": ("/script-cookie", (F, F, P)),
    "tracker": ("/tracker", (P, P, F)),
    "nothing stored": ("/plain", (P, M, P)),
}


@pytest.mark.parametrize("case", sorted(BROWSER_CASES))
def test_browser_probe_verdicts(site: Site, browser: Browser, case: str) -> None:
    path, expected = BROWSER_CASES[case]
    record = visit(browser, site.url(), path)
    assert "error" not in record.body, record.body
    assert (record.type, record.id, record.source) == ("Probe/browser", "probe:browser/127.0.0.1", "probe")
    assert verdicts(record, BROWSER_CHECKS) == expect(*expected, ids=BROWSER_CHECKS)
    assert record.body["pagesVisited"] == [{"url": site.url(path), "status": 200}]
    assert_no_secret(record)


def test_browser_probe_records_keys_not_values(site: Site, browser: Browser) -> None:
    record = visit(browser, site.url(), "/clean")
    assert record.body["localStorage"] == {f"https://127.0.0.1:{site.https}": ["auth", "lang"]}
    assert record.body["cookies"] == []
    hosts = {(r["host"], r["thirdParty"]) for r in record.body["requests"]}
    assert ("127.0.0.1", False) in hosts and all(not third for _, third in hosts)
    assert {r["url"] for r in record.body["requests"]} >= {site.url("/clean"), site.url("/app.js")}


def test_browser_probe_tells_header_from_script_cookies(site: Site, browser: Browser) -> None:
    record = visit(browser, site.url(), "/header-cookie", "/script-cookie")
    assert sorted((c["name"], c["domain"], c["source"]) for c in record.body["cookies"]) == [
        ("session", "127.0.0.1", "header"),
        ("visitor", "127.0.0.1", "script"),
    ]
    assert len(record.body["pagesVisited"]) == 2


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_browser_probe_sees_the_third_party_tracker(site: Site, browser: Browser, scheme: str) -> None:
    base = site.url() if scheme == "https" else site.plain_url()
    port, host = (site.https, TRACKER) if scheme == "https" else (site.plain, PLAIN_TRACKER)
    before = len(site.seen_hosts)
    record = visit(browser, base, "/tracker")
    assert "error" not in record.body, record.body.get("error")
    tracker = [r for r in record.body["requests"] if r["host"] == host]
    assert [(r["url"], r["thirdParty"]) for r in tracker] == [(f"{scheme}://{host}:{port}/analytics.js", True)]
    assert f"{host}:{port}" in site.seen_hosts[before:]  # the mapped request really reached the test server
    assert verdicts(record, BROWSER_CHECKS)["probe_browser_no_trackers"] is F


def test_browser_probe_actions_fill_local_storage(site: Site, browser: Browser) -> None:
    def choose_language(page: Page) -> None:
        page.evaluate("localStorage.setItem('lang', 'secret-en')")

    record = visit(browser, site.url(), "/plain", actions=choose_language)
    assert record.body["localStorage"] == {f"https://127.0.0.1:{site.https}": ["lang"]}
    assert verdicts(record, BROWSER_CHECKS) == expect(P, P, P, ids=BROWSER_CHECKS)
    assert_no_secret(record)


def test_browser_probe_failing_actions_are_error(site: Site, browser: Browser) -> None:
    def log_in(page: Page) -> None:
        page.click("#no-such-button", timeout=300)

    record = visit(browser, site.url(), "/plain", actions=log_in)
    assert record.body["error"].startswith("actions on") and "\n" not in record.body["error"]
    assert verdicts(record, BROWSER_CHECKS) == expect(E, E, E, ids=BROWSER_CHECKS)


def test_browser_probe_server_down_is_error(browser: Browser, closed_port: int) -> None:
    record = visit(browser, f"https://127.0.0.1:{closed_port}/", "/")
    assert "ERR_CONNECTION_REFUSED" in record.body["error"] and "\n" not in record.body["error"]
    assert verdicts(record, BROWSER_CHECKS) == expect(E, E, E, ids=BROWSER_CHECKS)


def test_browser_probe_without_chromium_is_error(tmp_path: Path) -> None:
    record = probe_browser("https://portal.example/", executable=tmp_path / "no-chromium")
    assert record.body["error"] == f"Chromium not found at {tmp_path / 'no-chromium'}"
    assert verdicts(record, BROWSER_CHECKS) == expect(E, E, E, ids=BROWSER_CHECKS)


def test_browser_probe_chromium_that_cannot_launch_is_error(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    with ThreadPoolExecutor(1) as pool:  # its own thread: the module's Playwright may be running in this one
        record = pool.submit(probe_browser, "https://portal.example/", executable=fake, timeout_s=10).result()
    assert record.body["error"].startswith("Chromium failed to launch") and "\n" not in record.body["error"]
    assert verdicts(record, BROWSER_CHECKS) == expect(E, E, E, ids=BROWSER_CHECKS)


def test_browser_probe_launches_its_own_chromium(site: Site) -> None:
    require_chromium()
    with ThreadPoolExecutor(1) as pool:  # its own thread: the module's Playwright may be running in this one
        record = pool.submit(
            probe_browser,
            site.url(),
            paths=("/clean", "/tracker"),
            host_resolver_rules=RESOLVER_RULES,
            ignore_https_errors=True,
            timeout_s=20,
        ).result()
    assert "error" not in record.body, record.body
    assert [p["url"] for p in record.body["pagesVisited"]] == [site.url("/clean"), site.url("/tracker")]
    assert verdicts(record, BROWSER_CHECKS) == expect(P, P, F, ids=BROWSER_CHECKS)
