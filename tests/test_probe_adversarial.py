"""Portals that break the privacy promise while trying to earn a PASS from the probe checks.

Every server here is started by the tests on 127.0.0.1 (ephemeral ports). Each
case is an evasion a hostile or careless portal could serve; the test names
what the probe must see (a FAIL) or what the check must not claim (a PASS
whose message says more than the probe observed).
"""

from __future__ import annotations

import threading
import time
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
        if self.path.startswith("/login"):  # only the front page redirects: the login form is served plain
            self.answer(200, body=PAGE)
        elif self.path.startswith("/cookie-on-redirect"):
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


def test_extra_path_served_over_plain_http_fails(hostile: Hostile) -> None:
    """http://portal/ redirects, http://portal/login answers 200 in plain text: the redirect check must see it."""
    record = probe_http(
        hostile.url("/"), timeout=5, ca_file=hostile.cert, extra_paths=("/login",), http_url=hostile.plain_url("/")
    )
    assert "error" not in record.body, record.body
    result = finding(record, "probe_http_hsts_redirect")
    assert result.verdict is Verdict.FAIL, result.message
    assert "/login" in result.message
    assert [r["status"] for r in record.body["httpRedirects"]] == [301, 200]


def test_every_plain_http_path_redirecting_passes(hostile: Hostile) -> None:
    record = probe_http(
        hostile.url("/"), timeout=5, ca_file=hostile.cert, extra_paths=("/other",), http_url=hostile.plain_url("/")
    )
    assert finding(record, "probe_http_hsts_redirect").verdict is Verdict.PASS
    assert [r["status"] for r in record.body["httpRedirects"]] == [301, 301]


# -- browser probe -------------------------------------------------------------------------

LATE_PAGES = {
    # A visitor who reads the page for a few seconds gets these cookies; the settle bound (0.5 s here,
    # 1.5 s by default) would end the probe's wait long before.
    "/late-cookie": "setTimeout(() => { document.cookie = 'late=secret-late; path=/'; }, 8000);",
    "/late-chain": "setTimeout(() => setTimeout(() => { document.cookie = 'chain=secret-chain; path=/'; }, 9000), 9000);",
    "/late-interval": "setInterval(() => { document.cookie = 'tick=secret-tick; path=/'; }, 20000);",
    "/late-string": "setTimeout(\"document.cookie = 'str=secret-str; path=/'\", 7000);",
}


# Cookies written and deleted again before the probe reads the jar: the visitor's browser stored them
# (and a beacon may have carried them); the jar at the end of the page is empty.
FLEETING_PAGES = {
    "/fleeting-cookie": "document.cookie = 'gone=secret-gone; path=/';"
    " setTimeout(() => { document.cookie = 'gone=; max-age=0; path=/'; }, 50);",
    "/fleeting-store": "cookieStore.set('cs', 'secret-cs').then(() => cookieStore.delete('cs'));",
    "/fleeting-expires": "document.cookie = 'ex=secret-ex; path=/';"
    " document.cookie = 'ex=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/';",
}
# An analytics identifier and a sessionStorage key written and removed before the probe reads storage.
FLEETING_STORAGE = (
    "localStorage.setItem('_ga', 'secret-ga'); sessionStorage.setItem('s', 'secret-s');"
    " setTimeout(() => { localStorage.removeItem('_ga'); sessionStorage.removeItem('s'); }, 50);"
)
# Clearing a cookie that was never set stores nothing: a PASS.
CLEAR_ONLY = "document.cookie = 'legacy=; max-age=0; path=/'; cookieStore.delete('old');"
LATE_PAGES.update(FLEETING_PAGES)


class LatePortal(_Handler):
    def do_GET(self) -> None:
        script = {**LATE_PAGES, "/clear-only": CLEAR_ONLY, "/fleeting-storage": FLEETING_STORAGE}.get(self.path)
        if script is None:
            self.answer(404, body="not found")
            return
        self.answer(200, body=PAGE.replace("</body>", f"<script>{script}</script></body>"))


@pytest.fixture(scope="module")
def late_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import ssl

    cert, key = make_cert(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = TLSServer(LatePortal, context)
    thread = serve(server)
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from tests.conftest import CHROMIUM, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    from compliance_checks.probes.browser import LAUNCH_ARGS

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(LAUNCH_ARGS))
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.parametrize("path", sorted(set(LATE_PAGES) - set(FLEETING_PAGES)))
def test_cookie_set_by_a_timer_beyond_the_settle_bound_fails(late_portal: str, chromium: Any, path: str) -> None:
    from compliance_checks.probes.browser import Crawl, probe_browser

    crawl = Crawl(max_pages=1, settle_s=0.5, sitemap=False, not_found=False, plain_http=False, interact=False)
    started = time.monotonic()
    record = probe_browser(late_portal + path, crawl=crawl, ignore_https_errors=True, timeout_s=15, browser=chromium)
    elapsed = time.monotonic() - started
    assert "error" not in record.body, record.body
    result = finding(record, "probe_browser_no_cookies")
    assert result.verdict is Verdict.FAIL, result.message
    assert elapsed < 5, elapsed  # the late timers are run early, not waited for
    assert record.body["pagesVisited"][0]["lateTimersRun"] >= 1
    assert "secret" not in str(record.body)


# -- what the tracker check can claim ------------------------------------------------------


def _browser_record(requests: list[dict[str, Any]]) -> Resource:
    body = {"url": "https://portal.example/", "cookies": [], "localStorage": {}, "requests": requests}
    return Resource.create(id="probe:browser/portal.example", type="Probe/browser", name="portal.example", body=body)


def test_tracker_pass_states_that_a_first_party_proxy_is_not_seen() -> None:
    """Analytics proxied through the portal's own origin under an unlisted path (GA via /metrics/x) looks
    like the portal's own request: the PASS says which lists it matched and that such a proxy is out of reach."""
    record = _browser_record(
        [
            {"url": "https://portal.example/", "host": "portal.example", "thirdParty": False},
            {"url": "https://portal.example/metrics/x", "host": "portal.example", "thirdParty": False},
        ]
    )
    result = finding(record, "probe_browser_no_trackers")
    assert result.verdict is Verdict.PASS
    assert "none on the tracker lists" in result.message
    assert "own origin" in result.message and "none a tracker" not in result.message


def test_a_visit_that_recorded_no_request_is_error() -> None:
    """Not even the page's own navigation was recorded: nothing was observed, so nothing can pass."""
    result = finding(_browser_record([]), "probe_browser_no_trackers")
    assert result.verdict is Verdict.ERROR, result.message


def _visit_one(late_portal: str, chromium: Any, path: str) -> Resource:
    from compliance_checks.probes.browser import Crawl, probe_browser

    crawl = Crawl(max_pages=1, settle_s=0.5, sitemap=False, not_found=False, plain_http=False, interact=False)
    record = probe_browser(late_portal + path, crawl=crawl, ignore_https_errors=True, timeout_s=15, browser=chromium)
    assert "error" not in record.body, record.body
    return record


@pytest.mark.parametrize("path", sorted(FLEETING_PAGES))
def test_cookie_deleted_before_the_jar_is_read_fails(late_portal: str, chromium: Any, path: str) -> None:
    record = _visit_one(late_portal, chromium, path)
    result = finding(record, "probe_browser_no_cookies")
    assert result.verdict is Verdict.FAIL, result.message
    assert "deleted again" in result.message
    assert "secret" not in str(record.body)


def test_clearing_cookies_that_were_never_set_passes(late_portal: str, chromium: Any) -> None:
    record = _visit_one(late_portal, chromium, "/clear-only")
    assert finding(record, "probe_browser_no_cookies").verdict is Verdict.PASS


def test_tls_pass_names_the_server_name_it_was_measured_for() -> None:
    """sslyze sends one SNI name; a server may enable TLS 1.0 for another name or for clients without SNI.
    The PASS must say which name it measured, not claim the endpoint as a whole."""
    body = {
        "host": "203.0.113.7",
        "port": 443,
        "serverName": "portal.example",
        "acceptedProtocols": ["TLSv1.2", "TLSv1.3"],
        "certificate": {"chainValid": True, "hostnameMatches": True, "daysToExpiry": 200},
    }
    record = Resource.create(id="probe:tls/portal.example", type="Probe/tls", name="portal.example", body=body)
    result = finding(record, "probe_tls_protocols")
    assert result.verdict is Verdict.PASS
    assert "server name portal.example" in result.message
    assert "without SNI" in result.message


def test_storage_written_and_removed_before_it_is_read_fails(late_portal: str, chromium: Any) -> None:
    record = _visit_one(late_portal, chromium, "/fleeting-storage")
    trackers = finding(record, "probe_browser_no_trackers")
    assert trackers.verdict is Verdict.FAIL, trackers.message
    assert "_ga" in trackers.message
    storage = finding(record, "probe_browser_local_storage")
    assert storage.verdict is Verdict.FAIL, storage.message
    assert "sessionStorage" in storage.message
    assert "secret" not in str(record.body)
