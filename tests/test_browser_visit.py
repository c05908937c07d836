"""A visit like an authority's: the crawling browser probe against local pages that hide cookies and trackers.

Every server is started here on 127.0.0.1 (ephemeral ports): one HTTPS server
for the portal and the "third parties" (a throwaway certificate naming all of
them), and a plain-HTTP entry that redirects to it. Real third-party host names
(www.youtube.com, www.google-analytics.com, ws.hotjar.com) reach that server
through Chromium's ``--host-resolver-rules``; nothing leaves the machine.

Each case is one page of the local portal (``PAGES``) that hides a cookie, a
tracker or storage the way the issue describes, with the verdicts the three
``probe_browser_*`` checks must give; ``/clean/`` is the reference portal that
passes all. Needs Debian's Chromium (skips without it, fails in CI).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.findings import Verdict
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.probes.browser import LAUNCH_ARGS, Crawl, probe_browser
from tests.conftest import CHROMIUM, require_chromium
from tests.test_probes_http_browser import QuietServer, TLSServer, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser

YOUTUBE, TRACKER, WS_TRACKER = "www.youtube.com", "www.google-analytics.com", "ws.hotjar.com"
# Hosts no tracker list names, each still a recipient of the visitor's IP address.
FONTS_CSS, FONTS_FILES, CDN = "fonts.googleapis.com", "fonts.gstatic.com", "cdn.jsdelivr.net"
THIRD_PARTIES = (YOUTUBE, TRACKER, WS_TRACKER, FONTS_CSS, FONTS_FILES, CDN)
RESOLVER_RULES = ", ".join(f"MAP {host} 127.0.0.1" for host in THIRD_PARTIES)
CHECKS = (
    "probe_browser_no_cookies",
    "probe_browser_local_storage",
    "probe_browser_no_trackers",
    "probe_browser_recipients_disclosed",
)
P, F, E, M = Verdict.PASS, Verdict.FAIL, Verdict.ERROR, Verdict.MANUAL
# Short waits: every page here is local. The delayed cookie (400 ms) must still fall inside the settle time.
FAST = Crawl(max_depth=2, max_pages=12, time_budget_s=60, settle_s=0.6)
ONLY_PAGES = Crawl(
    max_depth=2, max_pages=12, time_budget_s=60, settle_s=0.6, sitemap=False, not_found=False, plain_http=False
)
# The CLI's settle time: the settle must wait out delays of about 1 s on a page that is otherwise idle.
LATE = Crawl(max_depth=0, max_pages=1, settle_s=Crawl().settle_s, sitemap=False, not_found=False, plain_http=False)


def page(body: str, script: str = "", head: str = "") -> str:
    return (
        "<!doctype html><html lang='de'><head><meta charset='utf-8'><title>Smart Portal</title>"
        f"{head}</head><body><h1>Smart Portal</h1>{body}<script>{script}</script></body></html>"
    )


# The clean reference portal: language and login state in localStorage, a language switch, a login form
# that refuses empty credentials without storing anything, a second page, an unlinked page in the sitemap.
CLEAN_SCRIPT = """
localStorage.setItem('lang', localStorage.getItem('lang') || 'de');
document.querySelectorAll('[hreflang]').forEach(a => a.addEventListener('click', e => {
  e.preventDefault(); localStorage.setItem('lang', a.getAttribute('hreflang'));
}));
const form = document.querySelector('form');
if (form) form.addEventListener('submit', e => {
  e.preventDefault();
  if (form.user.value && form.password.value) localStorage.setItem('auth', 'token');
  else document.querySelector('#msg').textContent = 'Bitte anmelden';
});
"""
CLEAN_BODY = """<nav><a href="/clean/" hreflang="de">DE</a> <a href="/clean/" hreflang="en">EN</a>
<a href="/clean/about">Über uns</a></nav>
<form action="/clean/login" method="post"><input name="user"><input name="password" type="password" required>
<button type="submit">Anmelden</button></form><p id="msg"></p>"""

PAGES: dict[str, str] = {
    "/": page("<p>Start</p>", "localStorage.setItem('lang', 'de');"),
    "/clean/": page(CLEAN_BODY, CLEAN_SCRIPT),
    "/clean/about": page("<p>About</p><a href='/clean/'>Home</a>", CLEAN_SCRIPT),
    "/clean/contact": page("<p>Contact (only in the sitemap)</p>", CLEAN_SCRIPT),
    # Hidden cookies, one way each.
    "/delay/": page("<p>Later</p>", "setTimeout(() => { document.cookie = 'late=secret-1; path=/'; }, 400);"),
    # Delays of about 1 s (more than a visit of the page takes without them) that the settle must wait for
    # although the network is idle: a timer chain through a fetch, an interval, 60 animation frames, a timer
    # of an about:blank iframe (run by the page's script). Visited with the CLI's settle time (LATE).
    "/chain/": page(
        "<p>chain</p>",
        "setTimeout(() => fetch('/clean/contact').then(r => r.text()).then(() =>"
        " setTimeout(() => { document.cookie = 'chain=secret-13; path=/'; }, 500)), 500);",
    ),
    "/interval/": page(
        "<p>tick</p>",
        "let ticks = 0; const id = setInterval(() => { if (++ticks === 3) {"
        " document.cookie = 'tick=secret-14; path=/'; clearInterval(id); } }, 350);",
    ),
    "/frames/": page(
        "<p>frames</p>",
        "let n = 0; const step = () => { if (++n === 60) document.cookie = 'frame=secret-15; path=/';"
        " else requestAnimationFrame(step); }; requestAnimationFrame(step);",
    ),
    "/blank-frame/": page(
        "<p>blank</p>",
        "const f = document.createElement('iframe'); document.body.append(f);"
        " f.contentWindow.setTimeout(() => { document.cookie = 'blank=secret-16; path=/'; }, 1000);",
    ),
    # Delayed work that is no timer, and a navigation after a delay (the Refresh header: Handler.do_GET).
    "/post-task/": page(
        "<p>task</p>",
        "scheduler.postTask(() => { document.cookie = 'task=secret-19; path=/'; }, {delay: 1000});",
    ),
    "/abort-signal/": page(
        "<p>signal</p>",
        "AbortSignal.timeout(1000).addEventListener('abort', () => { document.cookie = 'signal=secret-20; path=/'; });",
    ),
    "/meta-refresh/": page("<p>moving</p>", head="<meta http-equiv='refresh' content='1; url=/second/inner'>"),
    "/refresh-header/": page("<p>moving</p>"),
    # Quiet but for a timer due long after the settle bound (a fixed wait would not see it either).
    "/far-timer/": page("<p>later</p>", "setTimeout(() => { document.cookie = 'far=secret-17; path=/'; }, 60000);"),
    # Never quiet (an endless interval), with a cookie just before the settle bound.
    "/busy/": page(
        "<p>busy</p>",
        "setInterval(() => {}, 50); setTimeout(() => { document.cookie = 'busy=secret-18; path=/'; }, 800);",
    ),
    "/scroll/": page(
        "<div style='height:6000px'>long</div><p>end</p>",
        "addEventListener('scroll', () => { if (scrollY > 3000) document.cookie = 'scrolled=secret-2; path=/'; });",
    ),
    "/language/": page(
        "<a href='#' hreflang='en' id='en'>EN</a>",
        "document.querySelector('#en').addEventListener('click', e => {"
        " e.preventDefault(); document.cookie = 'lang=en; path=/'; });",
    ),
    "/login/": page(
        "<form><input name='user' required><input name='password' type='password' required>"
        "<button>Login</button></form>",
        "document.querySelector('form').addEventListener('submit', e => {"
        " e.preventDefault(); document.cookie = 'login_attempt=secret-3; path=/'; });",
    ),
    "/second/": page("<a href='/second/inner'>weiter</a>"),
    "/second/inner": page("<p>inner</p>", "document.cookie = 'second=secret-4; path=/';"),
    "/spa/": page(
        "<div id='app'></div>",
        "const route = () => { if (location.pathname === '/spa/home') document.cookie = 'route=secret-5; path=/'; };"
        " setTimeout(() => { history.pushState({}, '', '/spa/home'); route(); }, 100);",
    ),
    "/plainhop/": page("<p>Entered over plain HTTP</p>", "localStorage.setItem('lang', 'de');"),
    "/iframe/": page("<iframe src='https://www.youtube.com:{port}/embed' width=300 height=200></iframe>"),
    "/sw/": page("<p>offline</p>", "navigator.serviceWorker.register('/sw.js');"),
    "/unlisted-start/": page("<p>Nothing linked; the sitemap has more</p>", "localStorage.setItem('lang', 'de');"),
    "/unlinked": page("<p>Only in the sitemap</p>", "document.cookie = 'sitemap=secret-6; path=/';"),
    "/notfound-start/": page("<p>Clean, but the 404 page is not</p>", "localStorage.setItem('lang', 'de');"),
    # Trackers and storage.
    "/analytics-ids/": page(
        "<p>ids</p>",
        "localStorage.setItem('lang', 'de'); localStorage.setItem('ajs_anonymous_id', 'secret-7');"
        " localStorage.setItem('_ga', 'GA1.1.secret');",
    ),
    "/other-storage/": page(
        "<p>storage</p>",
        "localStorage.setItem('lang', 'de'); sessionStorage.setItem('visit', 'secret-8');"
        " indexedDB.open('tracking-db'); caches.open('assets-v1');",
    ),
    "/beacon/": page(
        "<p>bye</p>",
        "localStorage.setItem('lang', 'de'); addEventListener('pagehide', () =>"
        " navigator.sendBeacon('https://www.google-analytics.com:{port}/g/collect?tid=G-SECRET', 'x'));",
    ),
    "/websocket/": page(
        "<p>live</p>",
        "localStorage.setItem('lang', 'de'); try { new WebSocket('wss://ws.hotjar.com:{port}/'); } catch (e) {}",
    ),
    # Recipients: third-party hosts that are no tracker, reached by a stylesheet, a script, an iframe, a worker.
    "/fonts/": page(
        "<p style='font-family: Roboto'>Schrift</p>",
        "localStorage.setItem('lang', 'de');",
        head=f"<link rel='stylesheet' href='https://{FONTS_CSS}:{{port}}/css2?family=Roboto'>",
    ),
    "/cdn/": page(
        "<p>jQuery</p>",
        "localStorage.setItem('lang', 'de');",
        head=f"<script src='https://{CDN}:{{port}}/npm/jquery@3/dist/jquery.min.js'></script>",
    ),
    "/frame-sub/": page(
        f"<iframe src='https://{YOUTUBE}:{{port}}/embed-quiet' width=300 height=200></iframe>",
        "localStorage.setItem('lang', 'de');",
    ),
    "/worker/": page("<p>rechnet</p>", "localStorage.setItem('lang', 'de'); new Worker('/worker.js');"),
    "/worker-socket/": page("<p>live</p>", "localStorage.setItem('lang', 'de'); new Worker('/socket-worker.js');"),
    "/frame-socket/": page(
        f"<iframe src='https://{YOUTUBE}:{{port}}/embed-socket' width=300 height=200></iframe>",
        "localStorage.setItem('lang', 'de');",
    ),
}
FONT_CSS = f"""@font-face {{ font-family: Roboto; src: url(https://{FONTS_FILES}:{{port}}/s/roboto/v1/roboto.woff2)
  format('woff2'); }}"""
# A third-party iframe without cookies whose own subresources go to another host (a CDN image and a fetch).
QUIET_EMBED = page(
    f"<img src='https://{CDN}:{{port}}/gh/poster.png'>", f"fetch('https://{CDN}:{{port}}/npm/data.json');"
)
WORKER_SCRIPT = f"fetch('https://{CDN}:{{port}}/npm/worker-data.json');"
SOCKET = f"try {{ new WebSocket('wss://{WS_TRACKER}:{{port}}/socket'); }} catch (e) {{}}"
SW_SCRIPT = """
self.addEventListener('install', e => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(
  clients.claim().then(() => fetch('/sw-cookie', {credentials: 'include'}))));
"""
EMBED = page(
    "<p>video</p>",
    "document.cookie = '__Host-partitioned=secret-9; Secure; Path=/; SameSite=None; Partitioned';",
)

CASES: dict[str, tuple[str, Crawl, dict[str, Any], tuple[Verdict, Verdict, Verdict, Verdict]]] = {
    # name: (entry path, crawl, site options, verdicts of no_cookies, local_storage, no_trackers, recipients)
    "clean reference portal": ("/clean/", FAST, {"sitemap": ["/clean/", "/clean/contact"]}, (P, P, P, P)),
    "cookie after a delay": ("/delay/", ONLY_PAGES, {}, (F, F, P, P)),
    "cookie on scroll": ("/scroll/", ONLY_PAGES, {}, (F, F, P, P)),
    "cookie after a timer, a fetch and a timer": ("/chain/", LATE, {}, (F, F, P, P)),
    "cookie on an interval's third tick": ("/interval/", LATE, {}, (F, F, P, P)),
    "cookie after animation frames": ("/frames/", LATE, {}, (F, F, P, P)),
    "cookie from an about:blank iframe's timer": ("/blank-frame/", LATE, {}, (F, F, P, P)),
    "cookie from a delayed scheduler task": ("/post-task/", LATE, {}, (F, F, P, P)),
    "cookie when an AbortSignal times out": ("/abort-signal/", LATE, {}, (F, F, P, P)),
    "cookie after a meta refresh": ("/meta-refresh/", LATE, {}, (F, F, P, P)),
    "cookie after a Refresh header": ("/refresh-header/", LATE, {}, (F, F, P, P)),
    "cookie from the language switch": ("/language/", ONLY_PAGES, {}, (F, F, P, P)),
    "cookie from an empty login": ("/login/", ONLY_PAGES, {}, (F, F, P, P)),
    "cookie on a second page": ("/second/", ONLY_PAGES, {}, (F, F, P, P)),
    "cookie after pushState": ("/spa/", ONLY_PAGES, {}, (F, F, P, P)),
    "cookie from the plain-HTTP hop": ("/plainhop/", FAST, {"plain_cookie": True}, (F, F, P, P)),
    "cookie in a third-party iframe": ("/iframe/", ONLY_PAGES, {}, (F, F, P, F)),
    "cookie from a service worker": ("/sw/", ONLY_PAGES, {}, (F, F, P, P)),
    "cookie on a page only the sitemap lists": ("/unlisted-start/", FAST, {"sitemap": ["/unlinked"]}, (F, F, P, P)),
    "tracker only on the 404 page": ("/notfound-start/", FAST, {"notfound_tracker": True}, (P, P, F, F)),
    "analytics ids in localStorage": ("/analytics-ids/", ONLY_PAGES, {}, (P, F, F, P)),
    "storage beyond localStorage": ("/other-storage/", ONLY_PAGES, {}, (P, F, P, P)),
    "beacon on page hide": ("/beacon/", ONLY_PAGES, {}, (P, P, F, F)),
    "websocket to a tracker": ("/websocket/", ONLY_PAGES, {}, (P, P, F, F)),
    "Google Fonts from Google's servers": ("/fonts/", ONLY_PAGES, {}, (P, P, P, F)),
    "a script from a CDN": ("/cdn/", ONLY_PAGES, {}, (P, P, P, F)),
    # This Chromium refuses the third-party frame's storage (SecurityError): unread storage is an ERROR.
    "a third-party iframe's own requests": ("/frame-sub/", ONLY_PAGES, {}, (P, E, P, F)),
    "a worker's request": ("/worker/", ONLY_PAGES, {}, (P, P, P, F)),
    "a worker's WebSocket": ("/worker-socket/", ONLY_PAGES, {}, (P, P, F, F)),
    "a third-party iframe's WebSocket": ("/frame-socket/", ONLY_PAGES, {}, (P, E, F, F)),
}


# -- the servers ----------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    timeout = 5
    port: ClassVar[int] = 0
    options: ClassVar[dict[str, Any]] = {}
    seen: ClassVar[list[str]] = []

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
        data = body.replace("{port}", str(self.port)).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        host = self.headers.get("Host", "").rsplit(":", 1)[0]
        path = self.path.split("?", 1)[0]
        self.seen.append(f"{host}{path}")
        if host == YOUTUBE and path == "/embed":
            cookie = ("Set-Cookie", "VISITOR_INFO1_LIVE=secret-10; Path=/; Secure; SameSite=None")
            self.send(200, EMBED, headers=(cookie,))
        elif host == YOUTUBE and path == "/embed-quiet":
            self.send(200, QUIET_EMBED)
        elif host == YOUTUBE and path == "/embed-socket":
            self.send(200, page("<p>chat</p>", SOCKET))
        elif host == FONTS_CSS:
            self.send(200, FONT_CSS, "text/css", headers=(("Access-Control-Allow-Origin", "*"),))
        elif host == FONTS_FILES:
            self.send(200, "wOF2", "font/woff2", headers=(("Access-Control-Allow-Origin", "*"),))
        elif host in THIRD_PARTIES:
            self.send(200, "window.tracked = true;" if path.endswith(".js") else "", "text/javascript")
        elif path == "/sitemap.xml" and "sitemap" in self.options:
            urls = "".join(f"<url><loc>https://127.0.0.1:{self.port}{p}</loc></url>" for p in self.options["sitemap"])
            xml = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            self.send(200, xml, "application/xml")
        elif path == "/worker.js":
            self.send(200, WORKER_SCRIPT, "text/javascript")
        elif path == "/socket-worker.js":
            self.send(200, SOCKET, "text/javascript")
        elif path == "/sw.js":
            self.send(200, SW_SCRIPT, "text/javascript")
        elif path == "/sw-cookie":
            self.send(204, "", "text/plain", headers=(("Set-Cookie", "swcookie=secret-11; Path=/; Secure"),))
        elif path == "/refresh-header/":
            self.send(200, PAGES[path], headers=(("Refresh", "1; url=/second/inner"),))
        elif path in PAGES:
            self.send(200, PAGES[path])
        elif self.options.get("notfound_tracker"):
            self.send(
                404,
                page("<p>Nicht gefunden</p>", head=f"<script src='https://{TRACKER}:{{port}}/analytics.js'></script>"),
            )
        else:
            self.send(404, page("<p>Nicht gefunden</p>"))


class PlainEntry(BaseHTTPRequestHandler):
    """http://127.0.0.1:<port>/ -> https://127.0.0.1:<https port>/<entry>, setting a cookie first when asked."""

    timeout = 5
    target: ClassVar[str] = ""
    options: ClassVar[dict[str, Any]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(301)
        self.send_header("Location", self.target)
        if self.options.get("plain_cookie"):
            self.send_header("Set-Cookie", "plainhop=secret-12; Path=/")
        self.send_header("Content-Length", "0")
        self.end_headers()


@dataclass
class Site:
    https: int
    plain: int
    options: dict[str, Any]
    cert: Path
    seen: list[str] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.https}{path}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.plain}/"


@contextlib.contextmanager
def serve_portal(directory: Path) -> Iterator[Site]:
    """The local portal and its third parties (HTTPS) plus the plain-HTTP entry; also used by benchmarks/probes.py."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    names = ",".join(f"DNS:{host}" for host in THIRD_PARTIES)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", f"subjectAltName=IP:127.0.0.1,DNS:localhost,{names}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    options: dict[str, Any] = {}
    seen: list[str] = []

    class Portal(Handler):
        pass

    Portal.options, Portal.seen = options, seen
    https = TLSServer(Portal, context)
    Portal.port = https.server_address[1]

    class Entry(PlainEntry):
        pass

    Entry.options, Entry.target = options, f"https://127.0.0.1:{Portal.port}/"
    plain = QuietServer(("127.0.0.1", 0), Entry)
    servers = [https, plain]
    threads = [serve(s) for s in servers]
    try:
        yield Site(Portal.port, plain.server_address[1], options, cert, seen)
    finally:
        for server, thread in zip(servers, threads, strict=True):
            server.shutdown()
            server.server_close()
            thread.join(5)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_portal(tmp_path_factory.mktemp("tls")) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*LAUNCH_ARGS, f"--host-resolver-rules={RESOLVER_RULES}", "--ignore-certificate-errors"],
        )
        try:
            yield launched
        finally:
            launched.close()


def visit(
    site: Site, browser: Browser, entry: str, crawl: Crawl, options: dict[str, Any], *, evidence: Path | None = None
) -> Resource:
    key = json.dumps([entry, repr(crawl), options, str(evidence)], sort_keys=True)
    if key in RECORDS:  # one visit per case: several tests read the same record
        return RECORDS[key]
    site.options.clear()
    site.options.update(options)
    RECORDS[key] = probe_browser(
        site.url(entry),
        crawl=crawl,
        http_url=site.http_url,
        evidence_dir=evidence,
        ignore_https_errors=True,
        timeout_s=15,
        browser=browser,
    )
    return RECORDS[key]


RECORDS: dict[str, Resource] = {}


def verdicts(record: Resource) -> tuple[Verdict, ...]:
    checks, inventory = load_checks(), Inventory([record])
    found = []
    for check_id in CHECKS:
        findings = checks[check_id].evaluate(inventory, Params())
        assert len(findings) == 1, findings
        found.append(findings[0].verdict)
    return tuple(found)


def cookie_names(record: Resource) -> set[str]:
    return {c["name"] for c in record.body["cookies"]}


# -- the cases ------------------------------------------------------------------------------------

EXPECTED_COOKIE = {
    "cookie after a delay": "late",
    "cookie on scroll": "scrolled",
    "cookie after a timer, a fetch and a timer": "chain",
    "cookie on an interval's third tick": "tick",
    "cookie after animation frames": "frame",
    "cookie from an about:blank iframe's timer": "blank",
    "cookie from a delayed scheduler task": "task",
    "cookie when an AbortSignal times out": "signal",
    "cookie after a meta refresh": "second",
    "cookie after a Refresh header": "second",
    "cookie from the language switch": "lang",
    "cookie from an empty login": "login_attempt",
    "cookie on a second page": "second",
    "cookie after pushState": "route",
    "cookie from the plain-HTTP hop": "plainhop",
    "cookie in a third-party iframe": "VISITOR_INFO1_LIVE",
    "cookie from a service worker": "swcookie",
    "cookie on a page only the sitemap lists": "sitemap",
}


@pytest.mark.parametrize("case", list(CASES))
def test_visit_verdicts(site: Site, browser: Browser, case: str) -> None:
    entry, crawl, options, expected = CASES[case]
    record = visit(site, browser, entry, crawl, options)
    assert "error" not in record.body, record.body["error"]
    assert verdicts(record) == expected, json.dumps(record.body, indent=1)[:4000]
    if case in EXPECTED_COOKIE:
        assert EXPECTED_COOKIE[case] in cookie_names(record), record.body["cookies"]
    assert "secret-" not in json.dumps(record.body)  # names only, never values


def test_the_settle_ends_when_nothing_can_act_before_its_bound(site: Site, browser: Browser) -> None:
    """A settle of 4 s on a page whose only timer is due in 60 s: the visit does not sleep through it.

    Two settles (after load, after scrolling) would take 8 s as fixed delays. The cookie the far timer sets
    is in the jar all the same: a timer still pending after the settles is run early (a visitor who stays
    on the page gets that cookie; tests/test_probe_adversarial.py).
    """
    crawl = Crawl(max_pages=1, settle_s=4, sitemap=False, not_found=False, plain_http=False, interact=False)
    started = time.monotonic()
    record = visit(site, browser, "/far-timer/", crawl, {})
    elapsed = time.monotonic() - started
    assert "error" not in record.body and "far" in cookie_names(record), record.body
    assert elapsed < 4, elapsed


def test_a_page_that_never_goes_quiet_is_waited_for_the_whole_settle(site: Site, browser: Browser) -> None:
    crawl = Crawl(max_pages=1, settle_s=1, sitemap=False, not_found=False, plain_http=False, interact=False)
    started = time.monotonic()
    record = visit(site, browser, "/busy/", crawl, {})
    elapsed = time.monotonic() - started
    assert "busy" in cookie_names(record), record.body["cookies"]
    assert elapsed >= 2, elapsed  # the settle after load and the one after scrolling, each its whole bound


def test_clean_portal_visit_covers_every_entry(site: Site, browser: Browser) -> None:
    record = visit(site, browser, "/clean/", FAST, {"sitemap": ["/clean/", "/clean/contact"]})
    kinds = {
        (p["kind"], p["url"].replace(str(site.https), "P").replace(str(site.plain), "H"))
        for p in record.body["pagesVisited"]
    }
    assert ("plain-http", "http://127.0.0.1:H/") in kinds
    assert ("entry", "https://127.0.0.1:P/clean/") in kinds
    assert ("sitemap", "https://127.0.0.1:P/clean/contact") in kinds
    assert ("link", "https://127.0.0.1:P/clean/about") in kinds
    assert any(kind == "not-found" for kind, _ in kinds)
    assert [p["status"] for p in record.body["pagesVisited"] if p["kind"] == "not-found"] == [404]
    crawl = record.body["crawl"]
    assert crawl["sitemap"]["urls"] == 2 and crawl["truncated"] == []
    actions = {a["action"] for a in crawl["interactions"]}
    assert actions == {"language", "login"}, crawl["interactions"]
    assert record.body["localStorage"] == {site.url("").rstrip("/"): ["lang"]}
    assert record.body["cookies"] == []


def test_iframe_cookies_are_third_party_and_partitioned(site: Site, browser: Browser) -> None:
    record = visit(site, browser, "/iframe/", ONLY_PAGES, {})
    cookies = {c["name"]: c for c in record.body["cookies"]}
    assert cookies["VISITOR_INFO1_LIVE"]["thirdParty"] is True
    assert cookies["VISITOR_INFO1_LIVE"]["source"] == "header"
    assert cookies["__Host-partitioned"]["partitionKey"], cookies  # CHIPS: kept apart per top-level site
    assert cookies["__Host-partitioned"]["source"] == "script"
    frames = {r["frame"] for r in record.body["requests"] if r["host"] == YOUTUBE}
    assert frames == {site.url("/iframe/")}  # the iframe's document is requested by the portal's page


def test_requests_carry_frame_page_phase_and_initiator(site: Site, browser: Browser) -> None:
    record = visit(site, browser, "/beacon/", ONLY_PAGES, {})
    beacons = [r for r in record.body["requests"] if r["host"] == TRACKER]
    assert beacons and all(r["phase"] == "pagehide" for r in beacons), beacons
    assert beacons[0]["url"] == f"https://{TRACKER}:{site.https}/g/collect"  # no query string (tid=...)
    assert beacons[0]["page"] == site.url("/beacon/") and beacons[0]["thirdParty"] is True
    record = visit(site, browser, "/websocket/", ONLY_PAGES, {})
    sockets = [r for r in record.body["requests"] if r["resourceType"] == "websocket"]
    assert [(s["host"], s["thirdParty"]) for s in sockets] == [(WS_TRACKER, True)]
    record = visit(site, browser, "/notfound-start/", FAST, {"notfound_tracker": True})
    script = next(r for r in record.body["requests"] if r["host"] == TRACKER)
    assert script["page"].endswith("-not-found") and script["initiator"]["type"] == "parser", script


def test_every_storage_api_is_recorded(site: Site, browser: Browser) -> None:
    record = visit(site, browser, "/other-storage/", ONLY_PAGES, {})
    origin = site.url("").rstrip("/")
    assert record.body["sessionStorage"] == {origin: ["visit"]}
    assert record.body["indexedDB"] == {origin: ["tracking-db"]}
    assert record.body["cacheStorage"] == {origin: ["assets-v1"]}
    record = visit(site, browser, "/sw/", ONLY_PAGES, {})
    assert record.body["serviceWorkers"] == {origin: [site.url("/")]}
    assert any(r["frame"].startswith("service-worker:") for r in record.body["requests"]), record.body["requests"]


def test_bounds_are_kept_and_reported(site: Site, browser: Browser) -> None:
    tight = Crawl(max_depth=0, max_pages=2, time_budget_s=60, settle_s=0, not_found=False)
    record = visit(site, browser, "/clean/", tight, {"sitemap": ["/clean/", "/clean/contact"]})
    assert len(record.body["pagesVisited"]) == 2
    assert record.body["crawl"]["truncated"] and "max_pages 2" in record.body["crawl"]["truncated"][0]
    shallow = Crawl(
        max_depth=0, max_pages=10, time_budget_s=60, settle_s=0, sitemap=False, not_found=False, plain_http=False
    )
    record = visit(site, browser, "/second/", shallow, {})
    assert [p["url"] for p in record.body["pagesVisited"]] == [site.url("/second/")]
    assert verdicts(record)[0] is P  # the second page's cookie is out of bounds: not seen (and so reported)


def test_har_and_screenshots_are_written_and_redacted(site: Site, browser: Browser, tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    record = visit(site, browser, "/plainhop/", FAST, {"plain_cookie": True}, evidence=evidence)
    files = record.body["evidence"]
    assert files["har"] == "evidence/browser-127.0.0.1/visit.har"
    assert len(files["screenshots"]) == len(record.body["pagesVisited"]) >= 3
    for relative in [files["har"], *files["screenshots"]]:
        assert (tmp_path / relative).is_file() and (tmp_path / relative).stat().st_size > 0
    assert (tmp_path / files["screenshots"][0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    har = (tmp_path / files["har"]).read_text(encoding="utf-8")
    assert "plainhop=[redacted]" in har and "secret-12" not in har
    assert len(json.loads(har)["log"]["entries"]) >= 3
    findings = load_checks()["probe_browser_no_cookies"].evaluate(Inventory([record]), Params())
    shown = {e.path: e.observed for e in findings[0].evidence}
    assert shown["evidence.har"] == files["har"] and shown["evidence.screenshots"] == files["screenshots"]


# -- the evidence in the report bundle ------------------------------------------------------------


def _in_fresh_loop(function: Any, *args: Any) -> Any:
    """Call in this thread with an event loop of its own set (a probe may ask for the current loop)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return function(*args)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def run_audit(site: Site, out: Path, *bounds: str) -> tuple[int, dict[str, Any]]:
    """The whole audit with every probe against the clean reference portal (the database port is closed)."""
    import socket

    from compliance_checks.cli import main

    require_chromium()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    site.options.clear()
    site.options["sitemap"] = ["/clean/", "/clean/contact"]
    argv = [
        "audit", "--quiet", "--format", "json,md", "--out", str(out),
        "--probe", site.url("/clean/"), "--probe-http-url", site.http_url, "--probe-ca", str(site.cert),
        "--database", f"127.0.0.1:{closed}", "--host-resolver-rules", RESOLVER_RULES, *bounds,
    ]  # fmt: skip
    with ThreadPoolExecutor(1) as pool:  # its own thread: the module's Playwright may be running in this one
        code = pool.submit(_in_fresh_loop, main, argv).result()
    return code, json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_har_and_screenshots_are_in_the_bundle_and_the_manifest(site: Site, tmp_path: Path) -> None:
    from compliance_checks.report.manifest import invalidate, verify_manifest

    out = tmp_path / "report"
    _, results = run_audit(site, out, "--probe-settle", "0.3", "--probe-max-pages", "6")
    browser_findings = [f for f in results["findings"] if f["checkId"] in CHECKS]
    assert {f["checkId"]: f["verdict"] for f in browser_findings} == dict.fromkeys(CHECKS, "PASS")
    listed = {a["path"] for a in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["artefacts"]}
    for finding in browser_findings:
        shown = {e["path"]: e["observed"] for e in finding["evidence"]}
        har, shots = shown["evidence.har"], shown["evidence.screenshots"]
        assert har == "evidence/browser-127.0.0.1/visit.har" and len(shots) >= 4, shown
        for relative in [har, *shots]:
            assert (out / relative).is_file() and relative in listed  # referenced, present, listed
    assert verify_manifest(out) == []
    (out / "evidence/browser-127.0.0.1/page-01.png").write_bytes(b"edited")
    assert any("page-01.png" in problem for problem in verify_manifest(out))
    # A later audit replaces the report, evidence folder included; an invalidated one keeps none of it.
    run_audit(site, out, "--probe-settle", "0", "--probe-max-pages", "2", "--probe-depth", "0")
    assert verify_manifest(out) == [] and len(list((out / "evidence").rglob("*.png"))) == 2
    invalidate(out, "test")
    assert not (out / "evidence").exists() and (out / "INVALID").is_file()


def test_crawl_bound_options_are_checked() -> None:
    from compliance_checks.cli import main

    for option, value in (("--probe-max-pages", "0"), ("--probe-depth", "-1"), ("--probe-settle", "-2")):
        code = main(["audit", "--format", "json", "--probe", "https://portal.example/", option, value])
        assert code == 64, option


# -- recipients and who made each request ---------------------------------------------------------


def _loads(record: Resource, check: Any = None) -> tuple[Verdict, dict[str, Any]]:
    chosen = check if check is not None else load_checks()["probe_browser_recipients_disclosed"]
    (finding,) = chosen.evaluate(Inventory([record]), Params())
    return finding.verdict, {e.path: e.observed for e in finding.evidence}


def test_undisclosed_recipients_name_what_was_loaded_from_each(site: Site, browser: Browser) -> None:
    verdict, shown = _loads(visit(site, browser, "/fonts/", ONLY_PAGES, {}))
    assert verdict is F and set(shown["undisclosedRecipients"]) == {FONTS_CSS, FONTS_FILES}, shown
    fonts_page = site.url("/fonts/")
    (css,) = shown["undisclosedRecipients"][FONTS_CSS]
    assert css == f"stylesheet https://{FONTS_CSS}:{site.https}/css2 (initiator parser {fonts_page}, on {fonts_page})"
    (font,) = shown["undisclosedRecipients"][FONTS_FILES]
    assert font.startswith(f"font https://{FONTS_FILES}:{site.https}/s/roboto/v1/roboto.woff2 (initiator "), font
    assert shown["ownHosts"] == ["127.0.0.1", "portal.smartde.coop"]
    verdict, shown = _loads(visit(site, browser, "/cdn/", ONLY_PAGES, {}))
    assert verdict is F and list(shown["undisclosedRecipients"]) == [CDN]
    assert shown["undisclosedRecipients"][CDN][0].startswith(f"script https://{CDN}:{site.https}/npm/jquery@3/")


def test_a_recipient_the_policy_discloses_passes(site: Site, browser: Browser, tmp_path: Path) -> None:
    from compliance_checks.checks.probe_browser_recipients_disclosed import BrowserRecipientsDisclosed
    from compliance_checks.probes.recipients import load_recipients

    record = visit(site, browser, "/fonts/", ONLY_PAGES, {})
    disclosed = tmp_path / "recipients.yaml"
    disclosed.write_text(
        "version: 1\nown_hosts: []\nrecipients:\n"
        f"  - {{name: Google Fonts, claim: REC-BANKING, hosts: [{FONTS_CSS}, '*.gstatic.com']}}\n",
        encoding="utf-8",
    )
    verdict, shown = _loads(record, BrowserRecipientsDisclosed(load_recipients(disclosed)))
    assert verdict is P and shown["undisclosedRecipients"] == {}, shown
    assert shown["disclosedRecipientsContacted"] == [
        f"{FONTS_CSS}: Google Fonts (REC-BANKING)",
        f"{FONTS_FILES}: Google Fonts (REC-BANKING)",
    ]
    # Only the stylesheet's host disclosed: the font files' host is still an undisclosed recipient.
    disclosed.write_text(disclosed.read_text(encoding="utf-8").replace(", '*.gstatic.com'", ""), encoding="utf-8")
    load_recipients.cache_clear()
    verdict, shown = _loads(record, BrowserRecipientsDisclosed(load_recipients(disclosed)))
    assert verdict is F and list(shown["undisclosedRecipients"]) == [FONTS_FILES], shown


def test_requests_inside_iframes_workers_and_service_workers_name_who_made_them(site: Site, browser: Browser) -> None:
    record = visit(site, browser, "/frame-sub/", ONLY_PAGES, {})
    embed = f"https://{YOUTUBE}:{site.https}/embed-quiet"
    inside = [r for r in record.body["requests"] if r["host"] == CDN]
    assert {r["resourceType"] for r in inside} == {"image", "fetch"}, inside
    for request in inside:  # the iframe's own document made them, in the portal's page
        assert request["frame"] == embed and request["page"] == site.url("/frame-sub/"), request
        assert request["initiator"]["url"] == embed, request
    record = visit(site, browser, "/worker/", ONLY_PAGES, {})
    (fetched,) = [r for r in record.body["requests"] if r["host"] == CDN]
    assert fetched["page"] == site.url("/worker/") and fetched["thirdParty"] is True, fetched
    assert record.body["workers"] == [{"url": site.url("/worker.js"), "page": site.url("/worker/")}]
    # The DevTools initiator names the worker's script, never the page; it may be missing (the probe's
    # Network.enable can reach the worker after Playwright resumed it: see the module docstring).
    if fetched["initiator"] is not None:
        assert fetched["initiator"]["target"] == {"type": "worker", "url": site.url("/worker.js")}, fetched
    record = visit(site, browser, "/worker-socket/", ONLY_PAGES, {})
    (socket,) = [r for r in record.body["requests"] if r["resourceType"] == "websocket"]
    assert (socket["host"], socket["page"]) == (WS_TRACKER, site.url("/worker-socket/")), socket
    assert socket["frame"] in (site.url("/worker-socket/"), f"worker:{site.url('/socket-worker.js')}"), socket
    record = visit(site, browser, "/frame-socket/", ONLY_PAGES, {})
    (socket,) = [r for r in record.body["requests"] if r["resourceType"] == "websocket"]
    assert socket["host"] == WS_TRACKER and socket["frame"] == f"https://{YOUTUBE}:{site.https}/embed-socket", socket
    record = visit(site, browser, "/sw/", ONLY_PAGES, {})
    (cookie_fetch,) = [r for r in record.body["requests"] if r["url"].endswith("/sw-cookie")]
    assert cookie_fetch["frame"] == f"service-worker:{site.url('/sw.js')}", cookie_fetch
    assert cookie_fetch["initiator"]["url"] == site.url("/sw.js"), cookie_fetch
