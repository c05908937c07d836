"""HTTP probe: what plain HTTP and HTTPS answers tell a visitor (standard library only).

``probe_http`` asks ``http://<host>/`` once without following redirects, then
GETs the HTTPS URL and every extra path (following redirects, at most five
hops; the headers judged are the last same-origin answer's) and returns one ``Probe/http`` record whose fields are the ones
the checks read:

- ``httpRedirect``: ``{url, status, location, setCookieNames}`` of the plain-HTTP request
  and ``httpRedirects``: the same for it and every extra path over plain HTTP
  (``probe_http_hsts_redirect``);
- ``hsts``: ``{maxAge, includeSubDomains, raw}`` of the first
  Strict-Transport-Security header of the HTTPS URL; ``maxAge`` is null when
  the header is absent or malformed (``probe_http_hsts_redirect``);
- ``contentSecurityPolicy``: the Content-Security-Policy of the HTTPS URL (several
  headers joined with ", "), or null (``probe_http_csp_no_analytics``);
- ``contentSecurityPolicyReportOnly``: its Content-Security-Policy-Report-Only
  headers the same way, or null: reported, never enforced (CSP3 §3.2);
- ``contentSecurityPolicyMeta``: the ``content`` of every
  ``<meta http-equiv="Content-Security-Policy">`` in the page's ``<head>`` (CSP3
  §3.3), and ``contentSecurityPolicyMetaIgnored``: CSP metas a browser ignores
  (outside ``<head>``, or report-only, which ``<meta>`` cannot deliver);
  both null when the answer is not HTML;
- ``setCookie``: every Set-Cookie header seen on the plain-HTTP answer, any
  visited page or redirect hop (a hop to another origin included: the browser
  follows it and keeps what it sets), with the cookie value replaced by ``[redacted]`` (a cookie may be a
  session token; the name and attributes are the evidence)
  (``probe_http_no_set_cookie``);
- ``pages``: per requested URL ``{url, status, redirects, hstsMaxAge,
  contentSecurityPolicy, contentSecurityPolicyReportOnly,
  contentSecurityPolicyMeta, setCookieNames}``, for the report.

A network fault (refused connection, DNS, TLS verification, timeout) never
raises: the record carries ``error`` (one line naming the step), which every
probe check turns into ERROR, never PASS.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from compliance_checks.inventory import Resource
from compliance_checks.probes.csp import meta_policies_in_html

USER_AGENT = "smart-portal-compliance-probe/0.1"
MAX_REDIRECTS = 5
REDACTED = "[redacted]"


class ProbeError(Exception):
    """A network fault while probing; its message is one line naming the step."""


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def redact_set_cookie(value: str) -> str:
    """``sid=abc; Path=/; HttpOnly`` -> ``sid=[redacted]; Path=/; HttpOnly`` (the name stays evidence)."""
    pair, sep, attributes = value.partition(";")
    name, eq, _ = pair.partition("=")
    if not eq:
        return value.strip()
    return f"{name.strip()}={REDACTED}{sep}{attributes}"


def parse_hsts(value: str | None) -> dict[str, Any]:
    """RFC 6797 §6.1: ``max-age`` (required, digits, optionally quoted) and ``includeSubDomains``."""
    result: dict[str, Any] = {"maxAge": None, "includeSubDomains": False, "raw": value}
    if value is None:
        return result
    seen: set[str] = set()
    max_age: int | None = None
    for directive in value.split(";"):
        name, _, raw = directive.strip().partition("=")
        key = name.strip().lower()
        if not key:
            continue
        if key in seen:  # a repeated directive makes the header invalid
            return {**result, "includeSubDomains": False}
        seen.add(key)
        if key == "max-age":
            digits = raw.strip().strip('"')
            max_age = int(digits) if digits.isdigit() else None
        elif key == "includesubdomains":
            result["includeSubDomains"] = True
    if max_age is None:
        result["includeSubDomains"] = False
    result["maxAge"] = max_age
    return result


def _target(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def _request(url: str, *, timeout: float, context: ssl.SSLContext | None) -> tuple[http.client.HTTPResponse, bytes]:
    scheme, host, port, path = _target(url)
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*"})
        response = conn.getresponse()
        # Bounded: the headers and the <head> (for a <meta> CSP) are what matter.
        return response, response.read(1 << 20)
    except (OSError, http.client.HTTPException) as exc:  # socket.timeout, ssl.SSLError, refused, DNS are OSErrors
        raise ProbeError(f"GET {url}: {one_line(exc)}") from exc
    finally:
        conn.close()


def _visit(
    url: str, *, timeout: float, context: ssl.SSLContext
) -> tuple[http.client.HTTPResponse, bytes, list[str], int]:
    """GET an HTTPS URL, following redirects; the final same-origin answer and every Set-Cookie on the way.

    The headers judged (HSTS, CSP) are those of the last answer from the portal's own origin; a redirect
    to another origin is still followed (at most ``MAX_REDIRECTS`` hops in all), because the visitor's
    browser follows it and stores what that hop sets: a cookie set there is a cookie the portal's page
    gave the visitor. A fault on such a hop is a ProbeError like any other (fail closed).
    """
    cookies: list[str] = []
    origin = urlsplit(url)[:2]
    current = url
    own: tuple[http.client.HTTPResponse, bytes, int] | None = None
    left = False  # once the chain left the origin, later answers (even back home) are not the page's own
    for hops in range(MAX_REDIRECTS + 1):
        response, content = _request(current, timeout=timeout, context=context)
        cookies.extend(response.msg.get_all("Set-Cookie") or [])
        left = left or urlsplit(current)[:2] != origin
        if not left:
            own = (response, content, hops)
        location = response.getheader("Location")
        if response.status in (301, 302, 303, 307, 308) and location and hops < MAX_REDIRECTS:
            following = urljoin(current, location)
            if urlsplit(following).scheme in ("http", "https"):
                current = following
                continue
        break
    assert own is not None  # the first request is to ``url`` itself
    return own[0], own[1], cookies, own[2]


def probe_http(
    url: str,
    *,
    timeout: float = 10,
    ca_file: Path | None = None,
    extra_paths: Sequence[str] = (),
    http_url: str | None = None,
) -> Resource:
    """Probe the portal at ``url`` (https://...) and return its ``Probe/http`` record.

    ``http_url`` is the plain-HTTP address whose redirect is checked (default
    ``http://<host>/``); ``extra_paths`` are resolved against ``url``;
    ``ca_file`` adds a trust anchor (e.g. a test CA) instead of the system store.
    """
    host = urlsplit(url).hostname or url
    body: dict[str, Any] = {
        "url": url,
        "observedAt": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "httpRedirect": {"url": None, "status": None, "location": None},
        "hsts": parse_hsts(None),
        "contentSecurityPolicy": None,
        "contentSecurityPolicyReportOnly": None,
        "contentSecurityPolicyMeta": None,
        "contentSecurityPolicyMetaIgnored": None,
        "setCookie": [],
        "pages": [],
    }
    try:
        if urlsplit(url).scheme != "https":
            raise ProbeError(f"{url}: the portal URL must be https://")
        plain = http_url or f"http://{_netloc_host(host)}/"
        body["httpRedirect"]["url"] = plain
        # The root and every extra path over plain HTTP: a proxy may redirect "/" and serve "/login" in
        # plain text. The plain-HTTP answer is the visitor's first contact: a cookie it sets counts.
        body["httpRedirects"] = []
        plain_urls = [plain, *(urljoin(plain, p) for p in extra_paths)]
        for plain_url in dict.fromkeys(plain_urls):
            answer, _ = _request(plain_url, timeout=timeout, context=None)
            plain_cookies = [redact_set_cookie(c) for c in answer.msg.get_all("Set-Cookie") or []]
            hop = {
                "url": plain_url,
                "status": answer.status,
                "location": answer.getheader("Location"),
                "setCookieNames": [c.split("=", 1)[0] for c in plain_cookies],
            }
            body["httpRedirects"].append(hop)
            body["setCookie"].extend(plain_cookies)
        body["httpRedirect"] = body["httpRedirects"][0]

        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        targets = [url, *(urljoin(url, p) for p in extra_paths)]
        for index, target in enumerate(targets):
            response, content, cookies, hops = _visit(target, timeout=timeout, context=context)
            hsts = parse_hsts(response.getheader("Strict-Transport-Security"))
            csp = _joined(response, "Content-Security-Policy")
            csp_report_only = _joined(response, "Content-Security-Policy-Report-Only")
            meta, meta_ignored = _meta_csp(response, content)
            redacted = [redact_set_cookie(c) for c in cookies]
            body["setCookie"].extend(redacted)
            body["pages"].append(
                {
                    "url": target,
                    "status": response.status,
                    "redirects": hops,
                    "hstsMaxAge": hsts["maxAge"],
                    "contentSecurityPolicy": csp,
                    "contentSecurityPolicyReportOnly": csp_report_only,
                    "contentSecurityPolicyMeta": meta,
                    "setCookieNames": [c.split("=", 1)[0] for c in redacted],
                }
            )
            if index == 0:
                body["hsts"] = hsts
                body["contentSecurityPolicy"] = csp
                body["contentSecurityPolicyReportOnly"] = csp_report_only
                body["contentSecurityPolicyMeta"] = meta
                body["contentSecurityPolicyMetaIgnored"] = meta_ignored
    except (ProbeError, ValueError, OSError) as exc:
        body["error"] = str(exc) if isinstance(exc, ProbeError) else one_line(exc)
    return Resource.create(id=f"probe:http/{host}", type="Probe/http", name=host, body=body, source="probe")


def _joined(response: http.client.HTTPResponse, header: str) -> str | None:
    """Every ``header`` of the answer joined with ", " (CSP3 §2.2.2 reads them as one comma-separated list)."""
    values = response.msg.get_all(header) or []
    return ", ".join(v.strip() for v in values) if values else None


def _meta_csp(response: http.client.HTTPResponse, content: bytes) -> tuple[list[str] | None, list[str] | None]:
    """The CSP ``<meta>`` contents a browser applies and ignores; (None, None) for an answer that is not HTML."""
    content_type = (response.getheader("Content-Type") or "").lower()
    if "html" not in content_type:
        return None, None
    charset = response.msg.get_content_charset() or "utf-8"
    try:
        text = content.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name: read it as UTF-8, the HTML default
        text = content.decode("utf-8", errors="replace")
    return meta_policies_in_html(text)


def _netloc_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


__all__ = ["parse_hsts", "probe_http", "redact_set_cookie"]
