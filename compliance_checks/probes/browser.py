"""Browser probe: what a real Chromium holds and contacts after visiting the portal.

``probe_browser`` drives one browser context (Playwright, sync API) through the
portal the way a data-protection authority's tool does (the EDPS Website
Evidence Collector browses, waits, scrolls and follows links). Without
``crawl`` it visits exactly ``paths``; with a :class:`Crawl` it also

- enters through the plain-HTTP address first (``http_url``, default
  ``http://<host>/``), so a cookie set by the hop before the redirect to HTTPS
  is in the jar;
- visits ``/sitemap.xml``'s same-origin URLs, a not-found page (a random path)
  and every same-origin link, breadth first, up to ``max_depth`` link hops,
  ``max_pages`` pages and ``time_budget_s`` seconds (what was cut is recorded
  in ``crawl.truncated``, never silently dropped);
- on each page waits for network idle and then up to ``settle_s`` (scripts
  that set a cookie after a delay; the wait ends early once nothing in any
  frame can act before the bound, see ``_settle``), scrolls to the bottom and
  waits again, then runs at once every timer still pending (due after the
  bound: a cookie set after 8 s; ``_run_late_timers``, at most three rounds,
  counted in ``pagesVisited[].lateTimersRun``) and waits again, and, once per visit, clicks the language switch (links/buttons
  with ``hreflang``/``lang`` or the text DE/EN/Deutsch/English) and submits
  the login form (a form with a password input) empty;
- leaves each page by navigating (the page's ``pagehide`` and
  ``visibilitychange`` fire, so beacons sent then are recorded; when some
  frame listens for them it waits up to 300 ms for those) and ends on
  ``about:blank`` for the same reason.

The record (``Probe/browser``) holds names, never values (they may be tokens):

- ``cookies``: every cookie in the context's jar, any frame, first and third
  party, partitioned (CHIPS) included, as ``{name, domain, path, source,
  thirdParty, partitionKey, firstSeenOn}``; ``source`` is ``"header"`` when
  some response (a redirect included) carried a Set-Cookie of that name, else
  ``"script"`` (``document.cookie``, CookieStore, a service worker); a
  Set-Cookie this Chromium refused (it blocks unpartitioned third-party
  cookies) is listed too, with ``refusedByBrowser: true``, and so is a cookie
  a script stored (``document.cookie``, ``CookieStore.set``; the init script
  records the names) and deleted again before the jar was read, with
  ``deletedBeforeRead: true``;
- ``localStorage`` and ``sessionStorage`` include keys written through
  ``setItem`` and removed again before they were read;
- ``localStorage``, ``sessionStorage``, ``indexedDB`` (database names),
  ``cacheStorage`` (cache names), ``serviceWorkers`` (registration scopes) and
  ``cookieStore`` (cookie names a frame's CookieStore sees): each
  ``{origin: [names]}``, read in every frame of every page (a third-party
  iframe's partitioned storage included); ``storageErrors`` lists what could
  not be read;
- ``requests``: every request and WebSocket of every page, frame (third-party
  iframes included), dedicated worker and service worker, ``{url, host, method,
  resourceType, thirdParty, frame, page, phase, initiator}``; ``url`` without
  query string and fragment; ``frame`` is the document that made it (``top``
  for a page's own navigation, ``service-worker:<script>`` for a service
  worker's; a dedicated worker's requests carry its page's frame, its
  WebSockets ``worker:<script>``); ``phase`` is
  ``load``, ``scroll``, ``late-timers``, ``interaction`` or ``pagehide``; ``initiator`` is the
  Chrome DevTools Protocol's (``Network.requestWillBeSent``) type and URL, with
  ``target`` ({type, url}) when an out-of-process iframe, a worker or a service
  worker made it (:class:`_ChildTargets`); without one, the subframe or
  service worker Playwright attributes it to (``via: playwright``), else
  ``null``. A dedicated worker's first requests can miss their DevTools
  initiator (Playwright may resume the worker before this probe's
  ``Network.enable`` reaches it). WebSockets come from the page's
  ``websocket`` event and from the DevTools sessions of workers and
  out-of-process iframes, whichever reports one first; ``workers`` lists every
  dedicated worker started, ``{url, page}``;
- ``pagesVisited``: ``{url, status, kind, depth, lateTimersRun}``; ``crawl``: the bounds, what
  was truncated, the sitemap, the not-found page, the plain-HTTP entry and the
  interactions done;
- ``evidence``: with ``evidence_dir``, a HAR of the whole visit (cookie and
  Set-Cookie values, Authorization headers, query values and request bodies
  redacted; no response bodies) and one screenshot per page, as paths relative
  to ``evidence_dir``'s parent (the report directory when ``evidence_dir`` is
  its ``evidence`` folder).

The probe decides nothing: the ``probe_browser_*`` checks judge the record.
Chromium missing or failing to launch, the portal that cannot be loaded, or
``actions`` failing: the record carries ``error`` (one line) instead.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from xml.etree import ElementTree

from compliance_checks.inventory import Resource

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, Request, Response, WebSocket, Worker

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (`make browser`); elsewhere --chromium or the variable
CHROMIUM_VARIABLE = "COMPLIANCE_CHROMIUM"
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

# Suffixes under which every label is a separate site (Public Suffix List, the
# part that matters for an Azure-hosted portal and common two-level ccTLDs).
MULTI_LABEL_SUFFIXES = frozenset(
    {
        "azurewebsites.net",
        "scm.azurewebsites.net",
        "azurefd.net",
        "azureedge.net",
        "azurestaticapps.net",
        "cloudapp.net",
        "cloudapp.azure.com",
        "trafficmanager.net",
        "blob.core.windows.net",
        "web.core.windows.net",
        "github.io",
        "co.uk",
        "org.uk",
        "ac.uk",
        "gov.uk",
        "com.au",
        "net.au",
        "co.at",
        "or.at",
        "co.jp",
        "co.nz",
        "com.br",
        "com.tr",
    }
)

# The texts of a language switch when it carries no hreflang/lang attribute (the portal is German/English).
LANGUAGE_TEXTS = ("de", "en", "deutsch", "english")
# HAR headers whose values identify a visitor or carry credentials.
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization", "x-csrf-token"})
REDACTED = "[redacted]"
SITEMAP_LIMIT = 5_000_000  # characters of /sitemap.xml read (the sitemaps.org limit is 50 MB, 50,000 URLs)

# Read in every frame: names only, each API on its own so that one that throws (an opaque origin, an API
# this Chromium lacks) does not hide the others. CookieStore is read too: a frame's own view of its cookies.
_STORAGE_JS = """async () => {
  const out = {origin: self.origin, errors: {}};
  const attempt = async (name, read) => {
    try { out[name] = await read(); } catch (e) { out[name] = null; out.errors[name] = String(e && e.name || e); }
  };
  await attempt("localStorage", () => Object.keys(localStorage));
  await attempt("sessionStorage", () => Object.keys(sessionStorage));
  await attempt("indexedDB", async () => (await indexedDB.databases()).map(d => d.name));
  await attempt("cacheStorage", () => caches.keys());
  await attempt("serviceWorkers", async () =>
    navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).map(r => r.scope) : []);
  await attempt("cookieStore", async () =>
    self.cookieStore ? (await cookieStore.getAll()).map(c => c.name) : []);
  out.storageWrites = self.__probeQuiet && self.__probeQuiet.storageWrites ? Array.from(self.__probeQuiet.storageWrites) : null;
  out.cookieWrites = self.__probeQuiet && self.__probeQuiet.cookieWrites ? Array.from(self.__probeQuiet.cookieWrites) : null;
  return out;
}"""
STORAGE_APIS = ("localStorage", "sessionStorage", "indexedDB", "cacheStorage", "serviceWorkers", "cookieStore")

_SCROLL_JS = """async () => {
  for (let y = 0; y < document.documentElement.scrollHeight; y += Math.max(200, innerHeight / 2)) {
    window.scrollTo(0, y);
    await new Promise(r => setTimeout(r, 30));
  }
  window.scrollTo(0, document.documentElement.scrollHeight);
  window.dispatchEvent(new Event("scroll"));
}"""

_HIDE_JS = """() => {
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
  Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
  document.dispatchEvent(new Event("visibilitychange"));
  window.dispatchEvent(new PageTransitionEvent("pagehide", {persisted: false}));
}"""

_LINKS_JS = "() => Array.from(document.querySelectorAll('a[href], area[href]'), a => a.href)"

# How long the page must stay quiet, looked at twice, before a settle ends early (_settle). It covers the hop
# from a response to the script that consumes it (a task queued behind the response); a script still
# running holds the look itself, which needs the frame's main thread. Playwright's "networkidle" waits
# 500 ms for that because it cannot see timers; this probe sees them.
QUIET_WINDOW_MS = 100
POLL_MS = 25

# Run in every frame before its own scripts (BrowserContext.add_init_script): records each pending timer's
# due time, pending animation-frame and idle callbacks, and whether anything listens for the page being
# hidden or left. Names only, no values; the page's own calls behave as before.
_QUIET_INIT_JS = """(() => {
  if (self.__probeQuiet) return;
  const timers = new Map(), frames = new Set(), idle = new Set();
  const state = {timers, frames, idle, hide: false};
  Object.defineProperty(self, "__probeQuiet", {value: state});
  const call = (fn, self_, args) => typeof fn === "function" ? fn.apply(self_, args) : (0, eval)(String(fn));
  const [st, ct, si, ci] = [self.setTimeout, self.clearTimeout, self.setInterval, self.clearInterval];
  const due = (delay) => performance.now() + Math.max(0, Number(delay) || 0);
  // early: how to run each pending timer now (state.runLate), for timers due after the settle bound.
  const early = new Map(), intervals = new Set();
  const setTimeoutWrapped = function (fn, delay, ...rest) {
    let id;
    id = st.call(self, function (...args) { timers.delete(id); early.delete(id); return call(fn, this, args); },
      delay, ...rest);
    timers.set(id, due(delay));
    early.set(id, () => { ct.call(self, id); timers.delete(id); early.delete(id); setTimeoutWrapped(fn, 0, ...rest); });
    return id;
  };
  self.setTimeout = setTimeoutWrapped;
  self.setInterval = function (fn, delay, ...rest) {
    let id;
    id = si.call(self, function (...args) { timers.set(id, due(delay)); return call(fn, this, args); }, delay, ...rest);
    timers.set(id, due(delay));
    intervals.add(id);
    early.set(id, (first) => { if (first) setTimeoutWrapped(fn, 0, ...rest); });  // once more now; it stays
    return id;
  };
  self.clearTimeout = function (id) { timers.delete(id); early.delete(id); return ct.call(self, id); };
  self.clearInterval = function (id) {
    timers.delete(id); early.delete(id); intervals.delete(id); return ci.call(self, id);
  };
  // Runs every pending timer now; an interval only in the first round (it is always pending).
  state.runLate = (first) => {
    let n = 0;
    for (const [id, run] of Array.from(early)) if (first || !intervals.has(id)) { run(first); n++; }
    return n;
  };
  const wrapCallback = (name, cancel, pending) => {
    const [request, stop] = [self[name], self[cancel]];
    if (typeof request !== "function") return;
    self[name] = function (fn, ...rest) {
      let id;
      id = request.call(self, function (...args) { pending.delete(id); return fn.apply(this, args); }, ...rest);
      pending.add(id);
      return id;
    };
    self[cancel] = function (id) { pending.delete(id); return stop.call(self, id); };
  };
  wrapCallback("requestAnimationFrame", "cancelAnimationFrame", frames);
  wrapCallback("requestIdleCallback", "cancelIdleCallback", idle);
  // Delayed work that is no timer: scheduler.postTask (its delay option) and AbortSignal.timeout.
  let tasks = 0;
  if (self.scheduler && typeof scheduler.postTask === "function") {
    const post = scheduler.postTask;
    scheduler.postTask = function (fn, options, ...rest) {
      const key = `task-${++tasks}`;
      timers.set(key, due(options && options.delay));
      if (options && options.signal) options.signal.addEventListener("abort", () => timers.delete(key));
      return post.call(this, function (...args) { timers.delete(key); return fn.apply(this, args); }, options, ...rest);
    };
  }
  if (typeof AbortSignal === "function" && typeof AbortSignal.timeout === "function") {
    const timeout = AbortSignal.timeout;
    AbortSignal.timeout = function (delay, ...rest) {
      const key = `signal-${++tasks}`, signal = timeout.call(this, delay, ...rest);
      timers.set(key, due(delay));
      signal.addEventListener("abort", () => timers.delete(key));
      return signal;
    };
  }
  // Cookie names a script stores (document.cookie, CookieStore.set), kept even if it deletes them again
  // before the probe reads the jar. A write that only expires a cookie (max-age <= 0, expires in the
  // past) stores nothing and is not recorded. Names only, never values.
  const writes = new Set();
  state.cookieWrites = writes;
  const stores = (text) => {
    const age = /;\\s*max-age\\s*=\\s*(-?\\d+)/i.exec(text);
    if (age) return Number(age[1]) > 0;
    const expires = /;\\s*expires\\s*=([^;]*)/i.exec(text);
    return !(expires && Date.parse(expires[1]) <= Date.now());
  };
  const jar = typeof Document === "function" && Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  if (jar && jar.set) {
    Object.defineProperty(Document.prototype, "cookie", {configurable: true, enumerable: jar.enumerable,
      get() { return jar.get.call(this); },
      set(value) {
        const text = String(value);
        jar.set.call(this, value);  // first: a frame that may not write cookies (sandboxed) throws here
        if (stores(text)) writes.add(text.split(";", 1)[0].split("=", 1)[0].trim());
      }});
  }
  if (typeof CookieStore === "function" && typeof CookieStore.prototype.set === "function") {
    const put = CookieStore.prototype.set;
    CookieStore.prototype.set = function (name, ...rest) {
      const options = name && typeof name === "object" ? name : null;
      const expires = options && options.expires;
      const stored = !(expires !== undefined && expires !== null && Number(expires) <= Date.now());
      return put.call(this, name, ...rest).then((done) => {
        if (stored) writes.add(String(options ? options.name : name));
        return done;
      });
    };
  }
  // Web Storage keys written through setItem, kept even if removed again before the probe reads storage
  // (an identifier used and wiped). Assignment as a property (localStorage.k = v) is not seen here.
  const storageWrites = new Set();
  state.storageWrites = storageWrites;
  if (typeof Storage === "function" && typeof Storage.prototype.setItem === "function") {
    const setItem = Storage.prototype.setItem;
    Storage.prototype.setItem = function (key, ...rest) {
      const done = setItem.call(this, key, ...rest);  // first: a refused write (quota, opaque origin) throws
      try {
        const api = this === self.localStorage ? "localStorage" : this === self.sessionStorage ? "sessionStorage" : null;
        if (api) storageWrites.add(api + "\u0000" + String(key));
      } catch (e) { /* the storage getters throw in an opaque origin: nothing was stored there */ }
      return done;
    };
  }
  const listen = EventTarget.prototype.addEventListener;
  const hiding = ["pagehide", "visibilitychange", "unload", "beforeunload", "freeze"];
  EventTarget.prototype.addEventListener = function (type, ...rest) {
    if (hiding.includes(String(type).toLowerCase())) state.hide = true;
    return listen.call(this, type, ...rest);
  };
})();"""
# Read in every frame by _settle: the next timer (ms from now) and whether anything else is pending.
_QUIET_JS = """() => {
  const s = self.__probeQuiet;
  if (!s) return {busy: true, nextTimerMs: null};
  const now = performance.now();
  let next = null;
  for (const at of s.timers.values()) next = next === null ? at - now : Math.min(next, at - now);
  const media = Array.from(document.querySelectorAll("video, audio")).some(m => !m.paused && !m.ended);
  const moving = document.getAnimations ? document.getAnimations().some(a => a.playState === "running") : true;
  const refresh = !!document.querySelector("meta[http-equiv='refresh' i]");  // a navigation after a delay
  return {busy: s.frames.size > 0 || s.idle.size > 0 || media || moving || refresh, nextTimerMs: next};
}"""
# Whether leaving the frame can run its script: a listener for page hide/leave, or an on... handler.
_HIDE_LISTENERS_JS = """() => {
  const s = self.__probeQuiet;
  return !s || s.hide || !!(self.onpagehide || self.onunload || self.onbeforeunload || self.onfreeze
    || document.onvisibilitychange || document.onfreeze);
}"""

# Candidates for the language switch, most specific first; texts compared case-insensitively and trimmed.
# Both scripts find the same candidates in the same order (the count, then the one clicked by its index).
_LANGUAGE_CANDIDATES = """
  const seen = new Set(), found = [];
  const add = (el) => { if (!seen.has(el)) { seen.add(el); found.push(el); } };
  document.querySelectorAll("a[hreflang], button[hreflang], [role=button][hreflang], a[lang], button[lang], "
    + "option[lang], option[hreflang]").forEach(add);
  document.querySelectorAll("a, button, [role=button]").forEach(el => {
    if (texts.includes((el.textContent || "").trim().toLowerCase())) add(el);
  });
"""
_LANGUAGE_JS = "(texts) => {" + _LANGUAGE_CANDIDATES + "  return found.length;\n}"
_LANGUAGE_CLICK_JS = (
    "([texts, index]) => {"
    + _LANGUAGE_CANDIDATES
    + """
  const el = found[index];
  if (!el) return null;
  if (el.tagName === "OPTION") {
    const select = el.closest("select");
    if (select) { select.value = el.value; select.dispatchEvent(new Event("change", {bubbles: true})); }
  } else { el.click(); }
  return el.getAttribute("hreflang") || el.getAttribute("lang") || (el.textContent || "").trim();
}"""
)
# Submit every form with a password input empty: no credentials, client-side validation bypassed (an empty
# required field would otherwise stop the submit event the portal's script listens to).
_LOGIN_JS = """() => {
  const forms = Array.from(document.querySelectorAll("form")).filter(f => f.querySelector("input[type=password]"));
  for (const form of forms) {
    form.noValidate = true;
    form.querySelectorAll("input:not([type=hidden]):not([type=submit])").forEach(i => { i.value = ""; });
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }
  return forms.length;
}"""


class ProbeFailed(Exception):
    """The probe could not observe; its message is one line."""


@dataclass(frozen=True)
class Crawl:
    """How far the visit goes. Every bound is enforced; what it cut is recorded in ``crawl.truncated``."""

    max_depth: int = 2  # link hops from the entry pages
    max_pages: int = 25  # pages visited, every kind included
    time_budget_s: float = 180.0  # no new page is started after this
    settle_s: float = 1.5  # at most, after network idle, for scripts that act after a delay (see _settle)
    sitemap: bool = True
    not_found: bool = True
    plain_http: bool = True
    interact: bool = True  # language switch and empty login


def one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    # Playwright prefixes its messages with the API call ("Page.goto: net::ERR_...").
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def registrable_host(host: str) -> str:
    """The site a host belongs to: ``www.google-analytics.com`` -> ``google-analytics.com``.

    IP addresses and single-label names are their own site; a host under one of
    :data:`MULTI_LABEL_SUFFIXES` keeps one label more than the suffix.
    """
    host = host.strip().lower().rstrip(".").strip("[]")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) <= 2:
        return host
    for keep in range(len(labels) - 1, 1, -1):
        if ".".join(labels[-keep:]) in MULTI_LABEL_SUFFIXES:
            return ".".join(labels[-(keep + 1) :])
    return ".".join(labels[-2:])


def _strip_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _set_cookie_names(response: Response) -> set[str]:
    names: set[str] = set()
    for header in response.headers_array():
        if header["name"].lower() == "set-cookie":
            # Chromium may fold several Set-Cookie headers into one value separated by newlines.
            for line in header["value"].splitlines():
                name, eq, _ = line.partition(";")[0].partition("=")
                if eq and name.strip():
                    names.add(name.strip())
    return names


def _cookie_domain_host(domain: str) -> str:
    return domain.lstrip(".").lower()


class _Activity:
    """What could still change the page: requests in flight, open WebSockets, and (read in the page) timers.

    Fed by the context's ``request``/``requestfinished``/``requestfailed`` events (Playwright: a redirected
    request is finished and a new one issued) and the page's ``websocket`` events. Every change moves
    ``changed`` on, so a settle can tell whether anything happened between two looks.
    """

    def __init__(self) -> None:
        self.in_flight: set[Request] = set()
        self.sockets: set[WebSocket] = set()
        self.child_sockets = False  # a worker or out-of-process iframe opened one (its closing is not seen)
        self.refresh = False  # a document came with a Refresh header: it navigates after a delay
        self.changed = 0

    def left_page(self) -> None:
        self.child_sockets = self.refresh = False

    def response(self, response: Response) -> None:
        # Response.headers is known without a round trip (the lower-cased headers of the response event).
        if response.request.resource_type == "document" and "refresh" in response.headers:
            self.refresh = True

    def started(self, request: Request) -> None:
        self.in_flight.add(request)
        self.changed += 1

    def ended(self, request: Request) -> None:
        self.in_flight.discard(request)
        self.changed += 1

    def socket(self, socket: WebSocket) -> None:
        self.sockets.add(socket)
        self.changed += 1
        socket.on("close", lambda _: self.sockets.discard(socket))


@dataclass
class _Observed:
    """Everything one visit saw, accumulated across pages."""

    portal_site: str
    cookies: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    header_cookie_names: set[str] = field(default_factory=set)
    # (name, host that sent the Set-Cookie) -> the page it was sent on: what the site tried to store, whether
    # or not this browser kept it (a third-party cookie this Chromium blocks, another browser may keep).
    set_cookie_headers: dict[tuple[str, str], str] = field(default_factory=dict)
    storage: dict[str, dict[str, set[str]]] = field(default_factory=lambda: {api: {} for api in STORAGE_APIS})
    storage_errors: set[str] = field(default_factory=set)
    # (name, host of the frame that wrote it) -> the page: cookies a script stored, even if deleted again.
    cookie_writes: dict[tuple[str, str], str] = field(default_factory=dict)
    requests: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    initiators: dict[str, dict[str, Any]] = field(default_factory=dict)
    workers: list[dict[str, str]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    screenshots: list[str] = field(default_factory=list)
    current_page: str = ""
    phase: str = "load"
    activity: _Activity = field(default_factory=_Activity)

    def third_party(self, host: str) -> bool:
        return registrable_host(host) != self.portal_site

    def add_request(
        self, url: str, method: str, resource_type: str, frame: str, context: dict[str, Any] | None = None
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss"):
            return
        host = (parts.hostname or "").lower()
        stripped = _strip_url(url)
        key = (method, stripped, self.current_page, self.phase)
        if key in self.requests:
            return
        self.requests[key] = {
            "url": stripped,
            "host": host,
            "method": method,
            "resourceType": resource_type,
            "thirdParty": self.third_party(host),
            "frame": frame,
            "page": self.current_page,
            "phase": self.phase,
            # Replaced by the DevTools initiator when one was seen; else the document or service worker that
            # made the request, as Playwright attributes it (``_frame_url``).
            "initiator": context,
        }


def _frame_url(request: Request) -> str:
    from playwright.sync_api import Error as PlaywrightError

    if request.service_worker is not None:
        return f"service-worker:{_strip_url(request.service_worker.url)}"
    try:
        frame = request.frame
        if request.is_navigation_request():
            # A navigation belongs to the document that embeds the frame (the top-level page has none).
            return "top" if frame.parent_frame is None else _strip_url(frame.parent_frame.url)
        return _strip_url(frame.url)
    except PlaywrightError:  # a request without a frame (a worker's, or the frame is gone)
        return ""


def _made_by(request: Request, frame: str) -> dict[str, Any] | None:
    """Who made a request as Playwright attributes it, for when DevTools reported no initiator.

    A service worker, or a subframe's document. ``None`` for the main frame: Playwright attributes a dedicated
    worker's requests to its page's main frame, so naming the page would be wrong for them.
    """
    from playwright.sync_api import Error as PlaywrightError

    if request.service_worker is not None:
        return {"type": "service_worker", "url": frame.removeprefix("service-worker:"), "via": "playwright"}
    try:
        if request.is_navigation_request() or request.frame.parent_frame is None:
            return None
    except PlaywrightError:  # the frame is gone
        return None
    return {"type": "frame", "url": frame, "via": "playwright"}


def _read_storage(page: Page, seen: _Observed) -> None:
    from playwright.sync_api import Error as PlaywrightError

    for frame in page.frames:
        if frame.is_detached() or not frame.url.startswith(("http://", "https://")):
            continue
        try:
            found: dict[str, Any] = frame.evaluate(_STORAGE_JS)
        except PlaywrightError as exc:  # the frame navigated or went away while being read
            seen.storage_errors.add(f"{_strip_url(frame.url)}: {one_line(exc)}")
            continue
        origin = str(found.get("origin") or _origin(frame.url))
        host = (urlsplit(frame.url).hostname or "").lower()
        for name in found.get("cookieWrites") or []:
            seen.cookie_writes.setdefault((str(name), host), seen.current_page)
        for written in found.get("storageWrites") or []:
            api, _, key = str(written).partition("\u0000")
            if api in ("localStorage", "sessionStorage"):
                seen.storage[api].setdefault(origin, set()).add(key)
        for api in STORAGE_APIS:
            names = found.get(api)
            if isinstance(names, list):
                bucket = seen.storage[api].setdefault(origin, set())
                bucket.update(str(n) for n in names)
            elif origin != "null":  # an opaque (sandboxed) origin holds no storage: nothing hidden
                seen.storage_errors.add(f"{origin}: {api}: {found.get('errors', {}).get(api, 'unreadable')}")


def _read_cookies(context: BrowserContext, seen: _Observed) -> None:
    for cookie in context.cookies():
        name, domain, path = cookie.get("name", ""), cookie.get("domain", ""), cookie.get("path", "")
        partition = cookie.get("partitionKey") or ""
        key = (name, domain, path, partition)
        if key not in seen.cookies:
            seen.cookies[key] = {
                "name": name,
                "domain": domain,
                "path": path,
                "source": "script",
                "thirdParty": seen.third_party(_cookie_domain_host(domain)),
                "partitionKey": partition or None,
                "firstSeenOn": seen.current_page,
            }


def _quiet_for(page: Page, activity: _Activity, horizon_ms: float) -> bool:
    """Whether nothing the page holds can act within ``horizon_ms``: the settle may end early.

    False (keep waiting) while a request is in flight, a WebSocket is open (the server may push), a worker or
    service worker runs (their timers are not instrumented), a document asked to be refreshed (a Refresh
    header or meta element), or any frame has a timer (or a delayed ``scheduler.postTask``, an
    ``AbortSignal.timeout``) due within the horizon, a pending animation-frame or idle callback, a running
    animation or playing media, or cannot be read (not instrumented, navigating): what cannot be seen counts
    as busy.
    """
    from playwright.sync_api import Error as PlaywrightError

    if activity.in_flight or activity.sockets or activity.child_sockets or activity.refresh or page.workers:
        return False
    if page.context.service_workers:
        return False
    for frame in page.frames:
        if frame.is_detached():
            continue
        try:
            state: dict[str, Any] | None = frame.evaluate(_QUIET_JS)
        except PlaywrightError:  # navigating, or gone: nothing is known about it
            return False
        if not state or state.get("busy") or (state["nextTimerMs"] is not None and state["nextTimerMs"] <= horizon_ms):
            return False
    return True


# Rounds of running late timers early per page (a timer's callback may set the next timer: a chain).
LATE_TIMER_ROUNDS = 3
_RUN_LATE_JS = "(first) => self.__probeQuiet && self.__probeQuiet.runLate ? self.__probeQuiet.runLate(first) : 0"


def _run_late_timers(page: Page, activity: _Activity, settle_ms: float, idle_ms: float) -> int:
    """Run now every timer still pending after the settle (due after its bound), then settle again.

    A visitor who reads the page longer than the settle bound sees what such a timer does (a cookie set
    after 8 s, a beacon every 20 s); waiting for it would make the visit unbounded, so its callback is
    queued at once instead (a one-shot timer is moved, an interval runs once more), in every frame, for at
    most ``LATE_TIMER_ROUNDS`` rounds (a timer chain). Returns how many timers were run early.
    """
    from playwright.sync_api import Error as PlaywrightError

    total = 0
    for round_ in range(LATE_TIMER_ROUNDS):
        ran = 0
        for frame in page.frames:
            if frame.is_detached():
                continue
            with contextlib.suppress(PlaywrightError):  # a frame navigating away: its timers went with it
                ran += int(frame.evaluate(_RUN_LATE_JS, round_ == 0) or 0)
        if not ran:
            break
        total += ran
        _settle(page, activity, settle_ms, idle_ms)
    return total


def _listens_for_hide(page: Page) -> bool:
    from playwright.sync_api import Error as PlaywrightError

    for frame in page.frames:
        if frame.is_detached():
            continue
        try:
            if frame.evaluate(_HIDE_LISTENERS_JS):
                return True
        except PlaywrightError:
            return True
    return False


def _settle(page: Page, activity: _Activity, settle_ms: float, idle_ms: float) -> None:
    """Wait for network idle (at most ``idle_ms``), then up to ``settle_ms`` for scripts that act after a delay.

    The settle bound keeps its meaning: whatever the page does within ``settle_ms`` after network idle is
    observed. It is not slept through: the page is instrumented (:data:`_QUIET_INIT_JS` wraps the timer and
    callback APIs in every frame), and the wait ends as soon as nothing can act before the bound runs out:
    no request in flight, no timer due before then, nothing else pending (:func:`_quiet_for`), at two looks
    ``QUIET_WINDOW_MS`` apart with no request started or ended in between. A page that never goes idle (long
    polling, a WebSocket heartbeat, a worker, an endless animation) is waited for the whole bound, as with a
    fixed delay, and the bound keeps the visit finite. With ``settle_ms`` 0 the quiet window still applies.
    """
    from playwright.sync_api import Error as PlaywrightError

    try:
        idle_by = time.monotonic() + idle_ms / 1000
        while activity.in_flight and time.monotonic() < idle_by:
            page.wait_for_timeout(POLL_MS)  # (not time.sleep: Playwright delivers its events while it waits)
        settle_by = time.monotonic() + max(settle_ms, QUIET_WINDOW_MS) / 1000
        looked: int | None = None  # ``activity.changed`` when the page was last found quiet
        while (left := settle_by - time.monotonic()) > 0:
            if _quiet_for(page, activity, left * 1000):
                if looked == activity.changed:
                    return
                looked = activity.changed
                page.wait_for_timeout(min(QUIET_WINDOW_MS, left * 1000))
            else:
                looked = None
                page.wait_for_timeout(min(POLL_MS, left * 1000))
    except PlaywrightError:  # the page went away while waiting: there is nothing more to wait for on it
        return


class _ChildTargets:
    """Initiators of the requests made inside out-of-process iframes, workers and service workers.

    The page's CDP session sees only the main frame's ``Network.requestWillBeSent``; a third-party iframe
    (site isolation), a dedicated worker and a service worker are targets of their own. Chrome DevTools
    Protocol, Target domain (https://chromedevtools.github.io/devtools-protocol/tot/Target/):
    ``Target.setAutoAttach`` with ``waitForDebuggerOnStart`` pauses each new related target until
    ``Runtime.runIfWaitingForDebugger``, so ``Network.enable`` is in place before its first request. The
    non-flat mode (``flatten: false``; messages go through ``Target.sendMessageToTarget`` and come back as
    ``Target.receivedMessageFromTarget``) is used because Playwright's CDPSession routes no child sessions;
    the protocol marks that mode for eventual retirement (crbug.com/991325): if Chromium refuses it,
    ``start`` raises and the visit goes on without these initiators (the requests come from Playwright's
    events either way; tests/test_browser_visit.py asserts the initiators are there).
    """

    def __init__(
        self,
        cdp: CDPSession,
        on_request: Callable[[dict[str, Any], dict[str, str]], None],
        on_websocket: Callable[[dict[str, Any], dict[str, str]], None],
    ) -> None:
        self.cdp, self.on_request, self.on_websocket = cdp, on_request, on_websocket
        self.parents: dict[str, str | None] = {}  # session ID -> the session it was attached through
        self.targets: dict[str, dict[str, str]] = {}
        self.next_id = 0

    def start(self) -> None:
        self.cdp.on("Target.attachedToTarget", lambda event: self._attached(event, None))
        self.cdp.on("Target.receivedMessageFromTarget", self._received)
        self.cdp.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False})

    def _send(self, session: str, method: str, params: dict[str, Any] | None = None) -> None:
        from playwright.sync_api import Error as PlaywrightError

        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        parent = self.parents.get(session)
        while parent is not None:  # a nested target is reached through each session above it
            self.next_id += 1
            inner = json.dumps(message)
            message = {
                "id": self.next_id,
                "method": "Target.sendMessageToTarget",
                "params": {"sessionId": session, "message": inner},
            }
            session, parent = parent, self.parents.get(parent)
        with contextlib.suppress(PlaywrightError):  # the target went away: nothing left to observe in it
            self.cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": json.dumps(message)})

    def _attached(self, event: dict[str, Any], parent: str | None) -> None:
        session = str(event.get("sessionId", ""))
        info = event.get("targetInfo") or {}
        self.parents[session] = parent
        target = {"type": str(info.get("type", ""))}
        if info.get("url"):  # an iframe is attached before it navigates: its URL is not known yet
            target["url"] = _strip_url(str(info["url"]))
        self.targets[session] = target
        self._send(session, "Network.enable")
        self._send(
            session, "Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False}
        )
        self._send(session, "Runtime.runIfWaitingForDebugger")

    def _received(self, event: dict[str, Any]) -> None:
        session = str(event.get("sessionId", ""))
        try:
            message = json.loads(str(event.get("message", "")))
        except ValueError:
            return
        method, params = message.get("method"), message.get("params") or {}
        target = self.targets.get(session, {"type": "", "url": ""})
        if method == "Network.requestWillBeSent":
            self.on_request(params, target)
        elif method == "Network.webSocketCreated":
            self.on_websocket(params, target)
        elif method == "Target.attachedToTarget":
            self._attached(params, session)
        elif method == "Target.receivedMessageFromTarget":
            self._received(params)  # a nested target's message, wrapped by the session above it


@dataclass
class _Plan:
    entries: list[tuple[str, str]]  # (url, kind) visited first, at depth 0
    crawl: Crawl | None
    origin: str
    evidence_dir: Path | None


def _session(
    browser: Browser,
    url: str,
    plan: _Plan,
    *,
    ignore_https_errors: bool,
    actions: Callable[[Page], None] | None,
    timeout_ms: float,
) -> dict[str, Any]:
    from playwright.sync_api import Error as PlaywrightError

    seen = _Observed(portal_site=registrable_host(urlsplit(url).hostname or ""))
    responses: list[Response] = []
    crawl = plan.crawl
    settle_ms = crawl.settle_s * 1000 if crawl else 0.0
    started = time.monotonic()
    har_path = plan.evidence_dir / "visit.har" if plan.evidence_dir else None

    def on_request(request: Request) -> None:
        frame = _frame_url(request)
        seen.add_request(request.url, request.method, request.resource_type, frame, _made_by(request, frame))

    def on_worker(worker: Worker) -> None:
        seen.workers.append({"url": _strip_url(worker.url), "page": seen.current_page})

    def on_response(response: Response) -> None:
        responses.append(response)

    def drain() -> None:
        # Raw headers are read while the page that received them is current (later they may be gone).
        while responses:
            response = responses.pop()
            try:
                names = _set_cookie_names(response)
                seen.header_cookie_names |= names
                host = (urlsplit(response.url).hostname or "").lower()
                for name in names:
                    seen.set_cookie_headers.setdefault((name, host), seen.current_page)
            except PlaywrightError:
                continue  # a response whose headers are gone (e.g. an aborted request) set nothing we can see

    def on_websocket(socket: WebSocket) -> None:
        seen.activity.socket(socket)
        seen.add_request(socket.url, "GET", "websocket", _strip_url(seen.current_page))

    def on_cdp_request(event: dict[str, Any], target: dict[str, str] | None = None) -> None:
        initiator = event.get("initiator") or {}
        stack = (initiator.get("stack") or {}).get("callFrames") or []
        where = initiator.get("url") or (stack[0].get("url") if stack else None)
        request_url = (event.get("request") or {}).get("url", "")
        found: dict[str, Any] = {"type": initiator.get("type"), "url": _strip_url(where) if where else None}
        if target is not None:  # made inside an out-of-process iframe, a worker or a service worker
            found["target"] = target
        seen.initiators.setdefault(_strip_url(request_url), found)

    def on_cdp_websocket(event: dict[str, Any], target: dict[str, str] | None = None) -> None:
        # A WebSocket opened in a worker or an out-of-process iframe (the page's "websocket" event need not
        # report it first, or at all). Its frame: the worker (``worker:<script>``), or the iframe's document as
        # the initiator's script names it (an iframe target is attached before it navigates: no URL yet).
        initiator = event.get("initiator") or {}
        stack = (initiator.get("stack") or {}).get("callFrames") or []
        where = initiator.get("url") or (stack[0].get("url") if stack else None)
        if target is None:
            frame = _strip_url(seen.current_page)
        elif target["type"] == "iframe":
            frame = _strip_url(where) if where else "iframe"
        else:
            frame = ":".join(filter(None, (target["type"], target.get("url"))))
        if target is not None:
            seen.activity.child_sockets = True  # open until the page is left, as far as the settle knows
        seen.add_request(str(event.get("url", "")), "GET", "websocket", frame)
        on_cdp_request({"initiator": event.get("initiator"), "request": {"url": event.get("url", "")}}, target)

    options: dict[str, Any] = {"ignore_https_errors": ignore_https_errors, "service_workers": "allow"}
    if har_path is not None:
        plan.evidence_dir.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        options.update(record_har_path=str(har_path), record_har_content="omit")
    context: BrowserContext = browser.new_context(**options)
    truncated: list[str] = []
    interactions: list[dict[str, Any]] = []
    extras: dict[str, Any] = {}
    try:
        context.set_default_timeout(timeout_ms)
        context.set_default_navigation_timeout(timeout_ms)
        context.add_init_script(script=_QUIET_INIT_JS)
        context.on("request", on_request)
        context.on("request", seen.activity.started)
        context.on("requestfinished", seen.activity.ended)
        context.on("requestfailed", seen.activity.ended)
        context.on("response", on_response)
        context.on("response", seen.activity.response)
        page = context.new_page()
        page.on("websocket", on_websocket)
        page.on("worker", on_worker)
        cdp: CDPSession | None = None
        try:
            cdp = context.new_cdp_session(page)
            cdp.on("Network.requestWillBeSent", on_cdp_request)
            cdp.on("Network.webSocketCreated", on_cdp_websocket)
            cdp.send("Network.enable")
            _ChildTargets(cdp, on_cdp_request, on_cdp_websocket).start()
        except PlaywrightError:
            cdp = None  # initiators are extra detail: the requests themselves come from Playwright's events

        queue: list[tuple[str, str, int]] = [(target, kind, 0) for target, kind in plan.entries]
        queued = {_strip_url(target) for target, _ in plan.entries}
        done_interaction = False

        def enqueue(target: str, kind: str, depth: int) -> None:
            stripped = _strip_url(target.split("#", 1)[0])
            if _origin(stripped) != plan.origin or stripped in queued:
                return
            queued.add(stripped)
            queue.append((target.split("#", 1)[0], kind, depth))

        if crawl is not None and crawl.sitemap:
            extras["sitemap"] = _sitemap(context, plan.origin, enqueue)
        while queue:
            target, kind, depth = queue.pop(0)
            if crawl is not None:
                if len(seen.pages) >= crawl.max_pages:
                    truncated.append(f"max_pages {crawl.max_pages}: {len(queue) + 1} page(s) not visited")
                    break
                if time.monotonic() - started > crawl.time_budget_s:
                    truncated.append(f"time_budget_s {crawl.time_budget_s:g}: {len(queue) + 1} page(s) not visited")
                    break
            seen.current_page, seen.phase = _strip_url(target), "load"
            try:
                response = page.goto(target, wait_until="load")
            except PlaywrightError as exc:
                if kind in ("entry", "path"):
                    raise ProbeFailed(f"{target}: {one_line(exc)}") from exc
                seen.pages.append({"url": target, "status": None, "kind": kind, "depth": depth, "error": one_line(exc)})
                continue
            _settle(page, seen.activity, settle_ms, min(timeout_ms, 10_000))
            final = page.url
            entry: dict[str, Any] = {
                "url": target,
                "status": response.status if response is not None else None,
                "kind": kind,
                "depth": depth,
            }
            if crawl is None:
                entry = {"url": target, "status": entry["status"]}
            elif _strip_url(final) != _strip_url(target):
                entry["finalUrl"] = _strip_url(final)
            seen.pages.append(entry)
            if plan.evidence_dir is not None:
                shot = plan.evidence_dir / f"page-{len(seen.pages):02d}.png"
                try:
                    page.screenshot(path=str(shot), timeout=min(timeout_ms, 10_000))
                    seen.screenshots.append(shot.name)
                    entry["screenshot"] = shot.name
                except PlaywrightError as exc:  # the page's evidence is missing, the page is still observed
                    entry["screenshotError"] = one_line(exc)
            if crawl is not None:
                seen.phase = "scroll"
                with contextlib.suppress(PlaywrightError):  # a page that navigates away while scrolling
                    page.evaluate(_SCROLL_JS)
                _settle(page, seen.activity, settle_ms, min(timeout_ms, 10_000))
                seen.phase = "late-timers"
                entry["lateTimersRun"] = _run_late_timers(page, seen.activity, settle_ms, min(timeout_ms, 10_000))
            _read_storage(page, seen)
            _read_cookies(context, seen)
            drain()
            if actions is not None:
                seen.phase = "interaction"
                try:
                    actions(page)
                    page.wait_for_load_state("networkidle")
                except Exception as exc:  # the caller's code: whatever it raises is a failed observation
                    raise ProbeFailed(f"actions on {target} failed: {one_line(exc)}") from exc
                _read_storage(page, seen)
                _read_cookies(context, seen)
            if crawl is not None and _origin(final) == plan.origin:
                if depth < crawl.max_depth and kind != "not-found":
                    links: list[str] = []
                    with contextlib.suppress(PlaywrightError):
                        links = page.evaluate(_LINKS_JS)
                    for link in links:
                        enqueue(str(link), "link", depth + 1)
                if crawl.interact and not done_interaction and kind != "not-found":
                    done = _interact(page, seen, context, settle_ms, timeout_ms)
                    if done:
                        interactions.extend(done)
                        done_interaction = True
            # Leaving the page fires pagehide/visibilitychange: beacons sent then belong to this page. The
            # page is first told it is hidden while it still runs (a beacon sent during unload is not always
            # reported to the context), then really left.
            # When no frame listens for the page being hidden or left, leaving it runs none of its script:
            # nothing to wait for. A frame that cannot be asked counts as listening.
            seen.phase = "pagehide"
            with contextlib.suppress(PlaywrightError):
                hide_wait = min(settle_ms, 300) if _listens_for_hide(page) else 0
                if crawl is not None:
                    page.evaluate(_HIDE_JS)
                    page.wait_for_timeout(hide_wait)
                page.goto("about:blank")
                page.wait_for_timeout(hide_wait)
            seen.activity.left_page()
            _read_cookies(context, seen)
            drain()
        if queue and not truncated and crawl is not None:
            truncated.append(f"{len(queue)} page(s) not visited")
        seen.phase = "pagehide"
        page.close(run_before_unload=True)
        # The page is about:blank by now; what can still act is a service worker or a request in flight.
        if settle_ms and (context.service_workers or seen.activity.in_flight):
            time.sleep(settle_ms / 1000)
        _read_cookies(context, seen)
        drain()
        if cdp is not None:
            with contextlib.suppress(PlaywrightError):
                cdp.detach()
    finally:
        context.close()  # writes the HAR
    for cookie in seen.cookies.values():
        if cookie["name"] in seen.header_cookie_names:
            cookie["source"] = "header"
    for (name, host), where in sorted(seen.set_cookie_headers.items()):
        stored = any(
            c["name"] == name
            and (host == _cookie_domain_host(c["domain"]) or host.endswith("." + _cookie_domain_host(c["domain"])))
            for c in seen.cookies.values()
        )
        if not stored:
            seen.cookies[(name, host, "", "refused")] = {
                "name": name,
                "domain": host,
                "path": "",
                "source": "header",
                "thirdParty": seen.third_party(host),
                "partitionKey": None,
                "firstSeenOn": where,
                "refusedByBrowser": True,
            }
    for (name, host), where in sorted(seen.cookie_writes.items()):
        # A cookie a script stored and deleted again before the jar was read: the visitor's browser held it.
        kept = any(
            c["name"] == name
            and (host == _cookie_domain_host(c["domain"]) or host.endswith("." + _cookie_domain_host(c["domain"])))
            for c in seen.cookies.values()
        )
        if not kept:
            seen.cookies[(name, host, "", "deleted")] = {
                "name": name,
                "domain": host,
                "path": "",
                "source": "script",
                "thirdParty": seen.third_party(host),
                "partitionKey": None,
                "firstSeenOn": where,
                "deletedBeforeRead": True,
            }
    for record in seen.requests.values():
        record["initiator"] = seen.initiators.get(record["url"]) or record["initiator"]
    body: dict[str, Any] = {
        "cookies": [
            _legacy_cookie(c) if crawl is None else c
            for c in sorted(seen.cookies.values(), key=lambda c: (c["domain"], c["name"], c["path"]))
        ],
        "localStorage": {o: sorted(k) for o, k in sorted(seen.storage["localStorage"].items()) if k},
        "requests": list(seen.requests.values()),
        "workers": seen.workers,
        "pagesVisited": seen.pages,
    }
    if crawl is not None:
        for api in STORAGE_APIS[1:]:
            body[api] = {o: sorted(k) for o, k in sorted(seen.storage[api].items()) if k}
        body["storageErrors"] = sorted(seen.storage_errors)
        body["crawl"] = {"bounds": asdict(crawl), "truncated": truncated, "interactions": interactions, **extras}
    if plan.evidence_dir is not None:
        prefix = plan.evidence_dir.relative_to(plan.evidence_dir.parent.parent).as_posix()
        evidence: dict[str, Any] = {"screenshots": [f"{prefix}/{name}" for name in seen.screenshots]}
        if har_path is not None and har_path.is_file():
            redact_har(har_path)
            evidence["har"] = f"{prefix}/{har_path.name}"
        body["evidence"] = evidence
    return body


def _legacy_cookie(cookie: dict[str, Any]) -> dict[str, Any]:
    return {k: cookie[k] for k in ("name", "domain", "path", "source")}


def _sitemap(context: BrowserContext, origin: str, enqueue: Callable[[str, str, int], None]) -> dict[str, Any]:
    """``/sitemap.xml``'s same-origin ``<loc>`` URLs, queued at depth 1 (as if linked from the entry)."""
    from playwright.sync_api import Error as PlaywrightError

    where = f"{origin}/sitemap.xml"
    try:
        response = context.request.get(where, max_redirects=3, fail_on_status_code=False)
        status, text = response.status, response.text() if response.ok else ""
    except PlaywrightError as exc:
        return {"url": where, "status": None, "error": one_line(exc), "urls": 0}
    urls: list[str] = []
    if text:
        try:
            # Expat (>= 2.4.1, bundled with Python) refuses entity-expansion bombs; the size is bounded here.
            root = ElementTree.fromstring(text[:SITEMAP_LIMIT])
        except ElementTree.ParseError as exc:
            return {"url": where, "status": status, "error": f"not XML: {exc}", "urls": 0}
        urls = [el.text.strip() for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "loc" and el.text]
    for found in urls:
        enqueue(found, "sitemap", 1)
    return {"url": where, "status": status, "urls": len(urls)}


def _interact(
    page: Page, seen: _Observed, context: BrowserContext, settle_ms: float, timeout_ms: float
) -> list[dict[str, Any]]:
    """Click the language switch(es) and submit the login form empty; what was done, or [] if nothing found."""
    from playwright.sync_api import Error as PlaywrightError

    done: list[dict[str, Any]] = []
    start = page.url
    seen.phase = "interaction"
    try:
        count = int(page.evaluate(_LANGUAGE_JS, list(LANGUAGE_TEXTS)))
    except PlaywrightError:
        count = 0
    for index in range(min(count, 4)):
        try:
            if _strip_url(page.url) != _strip_url(start):
                page.goto(start, wait_until="load")
                _settle(page, seen.activity, 0, min(timeout_ms, 5_000))
            label = page.evaluate(_LANGUAGE_CLICK_JS, [list(LANGUAGE_TEXTS), index])
        except PlaywrightError as exc:
            done.append({"action": "language", "error": one_line(exc)})
            continue
        _settle(page, seen.activity, settle_ms, min(timeout_ms, 10_000))
        done.append({"action": "language", "choice": label, "url": _strip_url(page.url)})
        _read_storage(page, seen)
        _read_cookies(context, seen)
    try:
        if _strip_url(page.url) != _strip_url(start):
            page.goto(start, wait_until="load")
            _settle(page, seen.activity, 0, min(timeout_ms, 5_000))
        forms = int(page.evaluate(_LOGIN_JS))
    except PlaywrightError as exc:
        forms = 0
        done.append({"action": "login", "error": one_line(exc)})
    if forms:
        _settle(page, seen.activity, settle_ms, min(timeout_ms, 10_000))
        done.append({"action": "login", "forms": forms, "url": _strip_url(page.url)})
        _read_storage(page, seen)
        _read_cookies(context, seen)
    return done


# -- HAR redaction ----------------------------------------------------------------------------------


def _redact_cookie_header(name: str, value: str) -> str:
    if name == "set-cookie":
        lines = []
        for line in value.splitlines():
            first, sep, rest = line.partition(";")
            cookie_name, eq, _ = first.partition("=")
            lines.append(f"{cookie_name}={REDACTED}{sep}{rest}" if eq else line)
        return "\n".join(lines)
    if name == "cookie":
        pairs = [p.strip().partition("=") for p in value.split(";") if p.strip()]
        return "; ".join(f"{k}={REDACTED}" if eq else k for k, eq, _ in pairs)
    return REDACTED


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = urlencode([(k, REDACTED) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="[]")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _redact_message(message: dict[str, Any]) -> None:
    for header in message.get("headers") or []:
        name = str(header.get("name", "")).lower()
        if name in SECRET_HEADERS:
            header["value"] = _redact_cookie_header(name, str(header.get("value", "")))
    for cookie in message.get("cookies") or []:
        cookie["value"] = REDACTED
    for item in message.get("queryString") or []:
        item["value"] = REDACTED
    if "url" in message:
        message["url"] = _redact_url(str(message["url"]))
    if message.get("redirectURL"):
        message["redirectURL"] = _redact_url(str(message["redirectURL"]))
    post = message.get("postData")
    if isinstance(post, dict):
        message["postData"] = {"mimeType": post.get("mimeType", ""), "text": REDACTED, "params": []}


def redact_har(path: Path) -> None:
    """Rewrite a HAR without cookie values, credentials, query values or request bodies (names stay)."""
    har = json.loads(path.read_text(encoding="utf-8"))
    for entry in (har.get("log") or {}).get("entries") or []:
        for part in ("request", "response"):
            if isinstance(entry.get(part), dict):
                _redact_message(entry[part])
    for page in (har.get("log") or {}).get("pages") or []:
        if "title" in page:
            page["title"] = _redact_url(str(page["title"]))
    path.write_text(json.dumps(har, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# -- entry point ------------------------------------------------------------------------------------


def _plan(
    url: str, paths: Sequence[str], crawl: Crawl | None, http_url: str | None, evidence_dir: Path | None
) -> _Plan:
    parts = urlsplit(url)
    origin = _origin(url)
    entries: list[tuple[str, str]] = []
    if crawl is not None and crawl.plain_http:
        host = parts.hostname or ""
        entries.append((http_url or f"http://{f'[{host}]' if ':' in host else host}/", "plain-http"))
    entries.extend((urljoin(url, path), "entry" if crawl is not None else "path") for path in paths)
    if crawl is not None and crawl.not_found:
        entries.append((f"{origin}/{secrets.token_hex(8)}-not-found", "not-found"))
    return _Plan(entries=entries, crawl=crawl, origin=origin, evidence_dir=evidence_dir)


def chromium_executable(option: str | None = None) -> Path:
    """The Chromium the probes launch: ``--chromium PATH``, else ``$COMPLIANCE_CHROMIUM``, else Debian's.

    An empty option or variable counts as unset; the path is not checked here
    (:func:`require_chromium` does, where the browser is about to be needed).
    """
    chosen = option or os.environ.get(CHROMIUM_VARIABLE) or ""
    return Path(chosen) if chosen.strip() else CHROMIUM


def require_chromium(executable: Path) -> Path:
    """``executable`` if it is a file this process may run, else the one-line error that says how to name another.

    The CLI calls this before any probe runs: a missing browser is a setup
    fault of this machine (exit 2), not a finding about the portal.
    """
    from compliance_checks.errors import ComplianceError

    if executable.is_file() and os.access(executable, os.X_OK):
        return executable
    problem = "is not executable" if executable.is_file() else "not found"
    raise ComplianceError(
        f"Chromium {problem} at {executable}: install it (Debian: `make browser`) or name it with"
        f" --chromium PATH or ${CHROMIUM_VARIABLE}"
    )


def probe_browser(
    url: str,
    *,
    paths: Sequence[str] | None = None,
    crawl: Crawl | None = None,
    http_url: str | None = None,
    evidence_dir: Path | None = None,
    executable: Path | None = None,
    host_resolver_rules: str | None = None,
    ignore_https_errors: bool = False,
    actions: Callable[[Page], None] | None = None,
    timeout_s: float = 30,
    browser: Browser | None = None,
) -> Resource:
    """Visit the portal at ``url`` in Chromium and return its ``Probe/browser`` record.

    ``paths`` are the entry pages (default: the URL's own path); ``crawl`` turns the visit into an
    authority's (module docstring); ``http_url`` is the plain-HTTP entry
    (default ``http://<host>/``); ``evidence_dir`` receives the HAR and the
    screenshots (``<evidence_dir>/browser-<host>/``).
    ``host_resolver_rules`` is passed to Chromium as ``--host-resolver-rules``
    (e.g. ``"MAP tracker.example 127.0.0.1"``). ``browser`` reuses an already
    launched Playwright browser (then ``executable`` and ``host_resolver_rules``
    are the caller's business); otherwise the probe launches and closes its own,
    ``executable`` or else :func:`chromium_executable`'s choice.
    """
    host = urlsplit(url).hostname or url
    body: dict[str, Any] = {
        "url": url,
        "observedAt": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "cookies": None,
        "localStorage": None,
        "requests": None,
        "pagesVisited": [],
    }
    timeout_ms = timeout_s * 1000
    try:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ProbeFailed(f"not an http(s) URL: {url!r}")
        where = evidence_dir / f"browser-{host}" if evidence_dir is not None else None
        entries = tuple(paths) if paths is not None else (urlsplit(url).path or "/",)
        plan = _plan(url, entries, crawl, http_url, where)
        if browser is not None:
            from playwright.sync_api import Error as PlaywrightError  # the caller launched it: Playwright is there

            try:
                body.update(
                    _session(
                        browser,
                        url,
                        plan,
                        ignore_https_errors=ignore_https_errors,
                        actions=actions,
                        timeout_ms=timeout_ms,
                    )
                )
            except PlaywrightError as exc:  # the jar, the storage or the context itself failed
                raise ProbeFailed(f"{url}: {one_line(exc)}") from exc
        else:
            body.update(
                _launch_and_probe(
                    url,
                    plan,
                    executable=executable if executable is not None else chromium_executable(),
                    host_resolver_rules=host_resolver_rules,
                    ignore_https_errors=ignore_https_errors,
                    actions=actions,
                    timeout_ms=timeout_ms,
                )
            )
    except ProbeFailed as exc:
        body["error"] = str(exc)
    except OSError as exc:  # the evidence directory or the HAR could not be written: no evidence, no verdict
        body["error"] = f"evidence: {one_line(exc)}"
    return Resource.create(id=f"probe:browser/{host}", type="Probe/browser", name=host, body=body, source="probe")


def _launch_and_probe(
    url: str,
    plan: _Plan,
    *,
    executable: Path,
    host_resolver_rules: str | None,
    ignore_https_errors: bool,
    actions: Callable[[Page], None] | None,
    timeout_ms: float,
) -> dict[str, Any]:
    if not executable.is_file():
        raise ProbeFailed(f"Chromium not found at {executable}")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ProbeFailed(f"Playwright is not installed: {one_line(exc)}") from exc
    args = list(LAUNCH_ARGS)
    if host_resolver_rules:
        args.append(f"--host-resolver-rules={host_resolver_rules}")
    try:
        with sync_playwright() as playwright:
            try:
                browser = playwright.chromium.launch(
                    executable_path=str(executable), headless=True, args=args, timeout=timeout_ms
                )
            except PlaywrightError as exc:
                raise ProbeFailed(f"Chromium failed to launch: {one_line(exc)}") from exc
            try:
                return _session(
                    browser, url, plan, ignore_https_errors=ignore_https_errors, actions=actions, timeout_ms=timeout_ms
                )
            finally:
                browser.close()
    except PlaywrightError as exc:  # the driver itself failed (e.g. it could not start)
        raise ProbeFailed(f"Playwright failed: {one_line(exc)}") from exc


def evidence_files(body: Any) -> list[Any]:
    """The HAR and screenshots of a ``Probe/browser`` record as findings' evidence (empty without them)."""
    from compliance_checks.findings import Evidence

    evidence = body.get("evidence") if isinstance(body, Mapping) else None
    if not isinstance(evidence, Mapping):
        return []
    return [
        Evidence("evidence.har", evidence.get("har"), "HAR of the visit, in the report directory"),
        Evidence("evidence.screenshots", evidence.get("screenshots"), "one screenshot per page visited"),
    ]


__all__ = [
    "Crawl",
    "chromium_executable",
    "evidence_files",
    "probe_browser",
    "redact_har",
    "registrable_host",
    "require_chromium",
]
