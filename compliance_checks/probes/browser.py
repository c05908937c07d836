"""Browser probe: what a real Chromium holds and contacts after visiting the portal.

``probe_browser`` visits each path in a fresh browser context (Playwright,
sync API), waits for network idle, optionally runs ``actions`` (log in, pick a
language), waits again and returns one ``Probe/browser`` record:

- ``cookies``: every cookie in the context's jar (any domain) as ``{name,
  domain, path, source}``; ``source`` is ``"header"`` when some response in
  that context carried a Set-Cookie for that name, else ``"script"``. Values
  are never recorded (``probe_browser_no_cookies``, ``probe_browser_local_storage``);
- ``localStorage``: ``{origin: [keys]}``, keys only: values may hold tokens
  (``probe_browser_local_storage``);
- ``requests``: every request the pages made, ``{url, host, method,
  resourceType, thirdParty}``; ``url`` without query string and fragment (they
  may carry tokens); ``thirdParty`` is true when the host's registrable domain
  differs from the portal's (``probe_browser_no_trackers`` matches the hosts
  against the tracker list: the probe decides nothing);
- ``pagesVisited``: ``{url, status}`` per visited path.

Service workers are blocked so that every request is seen by the context.
Chromium missing or failing to launch, a page that cannot be loaded, or
``actions`` failing: the record carries ``error`` (one line) instead.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from compliance_checks.inventory import Resource

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request, Response

CHROMIUM = Path("/usr/bin/chromium")
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


class ProbeFailed(Exception):
    """The probe could not observe; its message is one line."""


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


def _visit(
    browser: Browser,
    url: str,
    portal_site: str,
    *,
    ignore_https_errors: bool,
    actions: Callable[[Page], None] | None,
    timeout_ms: float,
) -> dict[str, Any]:
    from playwright.sync_api import Error as PlaywrightError

    requests: list[Request] = []
    responses: list[Response] = []

    # Playwright tags its handlers with an attribute: plain functions, not builtins like list.append.
    def on_request(request: Request) -> None:
        requests.append(request)

    def on_response(response: Response) -> None:
        responses.append(response)

    context: BrowserContext = browser.new_context(ignore_https_errors=ignore_https_errors, service_workers="block")
    try:
        context.set_default_timeout(timeout_ms)
        context.set_default_navigation_timeout(timeout_ms)
        context.on("request", on_request)
        context.on("response", on_response)
        page = context.new_page()
        try:
            response = page.goto(url, wait_until="networkidle")
        except PlaywrightError as exc:
            raise ProbeFailed(f"{url}: {one_line(exc)}") from exc
        if actions is not None:
            try:
                actions(page)
                page.wait_for_load_state("networkidle")
            except Exception as exc:
                raise ProbeFailed(f"actions on {url} failed: {one_line(exc)}") from exc
        header_names: set[str] = set()
        for item in responses:
            try:
                header_names |= _set_cookie_names(item)
            except PlaywrightError:
                continue  # a response whose headers are gone (e.g. an aborted request) set nothing we can see
        cookies = [
            {
                "name": c.get("name", ""),
                "domain": c.get("domain", ""),
                "path": c.get("path", ""),
                "source": "header" if c.get("name", "") in header_names else "script",
            }
            for c in context.cookies()
        ]
        storage: dict[str, list[str]] = {}
        for origin in context.storage_state().get("origins", []):
            keys = sorted({item["name"] for item in origin.get("localStorage", [])})
            if keys:
                storage[origin["origin"]] = keys
        seen: list[dict[str, Any]] = []
        for request in requests:
            parts = urlsplit(request.url)
            if parts.scheme not in ("http", "https", "ws", "wss"):
                continue
            host = (parts.hostname or "").lower()
            seen.append(
                {
                    "url": _strip_url(request.url),
                    "host": host,
                    "method": request.method,
                    "resourceType": request.resource_type,
                    "thirdParty": registrable_host(host) != portal_site,
                }
            )
        return {
            "page": {"url": url, "status": response.status if response is not None else None},
            "cookies": cookies,
            "localStorage": storage,
            "requests": seen,
        }
    finally:
        context.close()


def _probe(
    browser: Browser,
    url: str,
    paths: Sequence[str],
    *,
    ignore_https_errors: bool,
    actions: Callable[[Page], None] | None,
    timeout_ms: float,
) -> dict[str, Any]:
    from playwright.sync_api import Error as PlaywrightError

    portal_site = registrable_host(urlsplit(url).hostname or "")
    cookies: dict[tuple[str, str, str], dict[str, Any]] = {}
    storage: dict[str, set[str]] = {}
    requests: dict[tuple[str, str], dict[str, Any]] = {}
    pages: list[dict[str, Any]] = []
    for path in paths:
        target = urljoin(url, path)
        try:
            seen = _visit(
                browser,
                target,
                portal_site,
                ignore_https_errors=ignore_https_errors,
                actions=actions,
                timeout_ms=timeout_ms,
            )
        except PlaywrightError as exc:  # the jar, the storage or the context itself failed
            raise ProbeFailed(f"{target}: {one_line(exc)}") from exc
        pages.append(seen["page"])
        for cookie in seen["cookies"]:
            key = (cookie["name"], cookie["domain"], cookie["path"])
            if key not in cookies or cookie["source"] == "header":
                cookies[key] = cookie
        for origin, keys in seen["localStorage"].items():
            storage.setdefault(origin, set()).update(keys)
        for request in seen["requests"]:
            requests.setdefault((request["method"], request["url"]), request)
    return {
        "cookies": list(cookies.values()),
        "localStorage": {origin: sorted(keys) for origin, keys in sorted(storage.items())},
        "requests": list(requests.values()),
        "pagesVisited": pages,
    }


def probe_browser(
    url: str,
    *,
    paths: Sequence[str] = ("/",),
    executable: Path = CHROMIUM,
    host_resolver_rules: str | None = None,
    ignore_https_errors: bool = False,
    actions: Callable[[Page], None] | None = None,
    timeout_s: float = 30,
    browser: Browser | None = None,
) -> Resource:
    """Visit ``paths`` of the portal at ``url`` in Chromium and return its ``Probe/browser`` record.

    ``host_resolver_rules`` is passed to Chromium as ``--host-resolver-rules``
    (e.g. ``"MAP tracker.example 127.0.0.1"``). ``browser`` reuses an already
    launched Playwright browser (then ``executable`` and ``host_resolver_rules``
    are the caller's business); otherwise the probe launches and closes its own.
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
        if browser is not None:
            body.update(
                _probe(
                    browser, url, paths, ignore_https_errors=ignore_https_errors, actions=actions, timeout_ms=timeout_ms
                )
            )
        else:
            body.update(
                _launch_and_probe(
                    url,
                    paths,
                    executable=executable,
                    host_resolver_rules=host_resolver_rules,
                    ignore_https_errors=ignore_https_errors,
                    actions=actions,
                    timeout_ms=timeout_ms,
                )
            )
    except ProbeFailed as exc:
        body["error"] = str(exc)
    return Resource.create(id=f"probe:browser/{host}", type="Probe/browser", name=host, body=body, source="probe")


def _launch_and_probe(
    url: str,
    paths: Sequence[str],
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
                return _probe(
                    browser, url, paths, ignore_https_errors=ignore_https_errors, actions=actions, timeout_ms=timeout_ms
                )
            finally:
                browser.close()
    except PlaywrightError as exc:  # the driver itself failed (e.g. it could not start)
        raise ProbeFailed(f"Playwright failed: {one_line(exc)}") from exc


__all__ = ["probe_browser", "registrable_host"]
