"""Content Security Policy Level 3, as far as it decides which hosts a page may load script from or talk to.

The algorithms follow the W3C Working Draft "Content Security Policy Level 3"
(https://www.w3.org/TR/CSP3/, editor's draft https://w3c.github.io/webappsec-csp/);
each function names the section it implements:

- :func:`parse_policy`: §2.2.1 "Parse a serialized CSP" (#parse-serialized-policy):
  split on ``;``, the directive name is the first token lower-cased, a repeated
  directive is ignored (the first wins), the value is the remaining tokens;
- :func:`parse_policy_list`: §2.2.2 "Parse a response's Content Security
  Policies": a header value is a comma-separated list of policies, each
  enforced on its own; a policy without directives is dropped;
- :func:`parse_meta_policy`: §3.3 "The ``<meta>`` element" (#meta-element) and the
  HTML Standard's "Content security policy state"
  (https://html.spec.whatwg.org/multipage/semantics.html#attr-meta-http-equiv-content-security-policy):
  only ``http-equiv="Content-Security-Policy"`` in ``<head>`` counts, and
  ``report-uri``, ``frame-ancestors`` and ``sandbox`` are removed from it; a
  meta policy can never be report-only;
- :data:`FALLBACK`: §6.8.3 "Get fetch directive fallback list" (#directive-fallback-list):
  a script element's request is governed by ``script-src-elem``, then
  ``script-src``, then ``default-src``; fetch/XHR/beacon/WebSocket by
  ``connect-src``, then ``default-src``. No directive in the list: allowed;
- :func:`url_matches_source_list`: §6.7.2.7 "Does url match source list in
  origin with redirect count?" (#match-url-to-source-list): an empty list and
  the list ``'none'`` match nothing;
- :func:`url_matches_expression`: §6.7.2.8 "Does url match expression in origin
  with redirect count?" (#match-url-to-source-expression) with the scheme-part,
  host-part, port-part and path-part matches of §6.7.2.9-§6.7.2.12
  (``*`` matches every HTTP(S) URL; ``http:`` also matches https, ``ws:`` matches
  ws/wss/http/https, ``wss:`` matches https; ``*.example.com`` matches every
  subdomain but not ``example.com``);
- ``'strict-dynamic'`` (§8.2 "Usage of 'strict-dynamic'", #strict-dynamic-usage):
  a script that a nonce- or hash-trusted script inserts runs whatever its URL,
  so a script list with it admits every host.

§4.2 (#multiple-policies): several enforced policies each have to allow a
request, so a URL is allowed only when every enforced policy allows it. A
report-only policy (``Content-Security-Policy-Report-Only``, §3.2) enforces
nothing: it never blocks.

Nonce and hash sources (§2.3.1) let the page's own marked script elements load
from any URL; they say nothing about hosts, so they neither allow nor block a
tracker host here (what the page actually loads is the browser probe's
business).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

ENFORCE = "enforce"
REPORT = "report"

# §6.8.3 "Get fetch directive fallback list" (#directive-fallback-list), the two requests the checks ask about.
FALLBACK: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "script": ("script-src-elem", "script-src", "default-src"),
        "connect": ("connect-src", "default-src"),
    }
)
WHAT = {"script": "a script from", "connect": "a connection (fetch/XHR/beacon/WebSocket) to"}

# §3.3 (#meta-element): "the following directives are not supported in a meta element".
META_UNSUPPORTED = frozenset({"report-uri", "frame-ancestors", "sandbox"})

# §2.3.1 source-expression grammar.
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_SCHEME_SOURCE = re.compile(rf"^(?P<scheme>{_SCHEME}):$")
_HOST_SOURCE = re.compile(
    rf"^(?:(?P<scheme>{_SCHEME})://)?"
    r"(?P<host>\*|(?:\*\.)?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.?)"
    r"(?::(?P<port>[0-9]+|\*))?"
    r"(?P<path>/[^;,]*)?$"
)
_NONCE_OR_HASH = re.compile(r"^'(?:nonce|sha256|sha384|sha512)-[A-Za-z0-9+/\-_]+={0,2}'$", re.IGNORECASE)
_ASCII_WHITESPACE = "\t\n\f\r "
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}


@dataclass(frozen=True)
class Policy:
    """One parsed policy: directive name -> source list, how it was delivered and whether it is enforced."""

    directives: Mapping[str, tuple[str, ...]] = field(hash=False)
    disposition: str  # ENFORCE | REPORT
    source: str  # "header" | "meta"
    raw: str
    ignored: tuple[str, ...] = ()  # directives dropped: repeated, or not allowed in <meta>

    @property
    def label(self) -> str:
        kind = {"header": "header", "meta": "<meta>"}.get(self.source, self.source)
        return f"{kind} policy {self.raw!r}"


def _split_ascii_whitespace(text: str) -> list[str]:
    return [token for token in re.split(f"[{re.escape(_ASCII_WHITESPACE)}]+", text) if token]


def parse_policy(text: str, *, source: str = "header", disposition: str = ENFORCE) -> Policy:
    """§2.2.1 "Parse a serialized CSP" (plus §3.3's removals for ``source="meta"``)."""
    directives: dict[str, tuple[str, ...]] = {}
    ignored: list[str] = []
    for part in text.split(";"):
        token = part.strip(_ASCII_WHITESPACE)
        if not token or not token.isascii():  # step 2.2: skip empty and non-ASCII tokens
            continue
        name, *value = _split_ascii_whitespace(token)
        name = name.lower()
        if name in directives:  # step 2.5: a duplicate directive is ignored (the first one wins)
            ignored.append(f"{name} (repeated)")
            continue
        if source == "meta" and name in META_UNSUPPORTED:
            ignored.append(f"{name} (not allowed in <meta>)")
            continue
        directives[name] = tuple(value)
    return Policy(MappingProxyType(directives), disposition, source, text.strip(), tuple(ignored))


def parse_policy_list(value: str | None, *, source: str = "header", disposition: str = ENFORCE) -> list[Policy]:
    """§2.2.2: every comma-separated policy of a header value (several headers joined by ", " are the same)."""
    if value is None:
        return []
    policies = [parse_policy(part, source=source, disposition=disposition) for part in value.split(",")]
    return [policy for policy in policies if policy.directives]


def parse_meta_policy(content: str) -> list[Policy]:
    """A ``<meta http-equiv="Content-Security-Policy" content=...>`` policy: always enforced, §3.3's removals."""
    return [policy for policy in [parse_policy(content, source="meta")] if policy.directives]


class _MetaFinder(HTMLParser):
    """Collects the content of every CSP ``<meta http-equiv>`` that is a child of ``<head>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.enforced: list[str] = []
        self.ignored: list[str] = []  # report-only metas and metas outside <head>: the browser ignores them
        self._in_head = False
        self._head_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head" and not self._head_done:
            self._in_head = True
        elif tag == "body":
            self._in_head, self._head_done = False, True
        elif tag == "meta":
            values = {name.lower(): value or "" for name, value in attrs}
            equiv = values.get("http-equiv", "").strip().lower()
            if equiv == "content-security-policy" and "content" in values:
                (self.enforced if self._in_head else self.ignored).append(values["content"])
            elif equiv == "content-security-policy-report-only":
                # The HTML Standard defines no such pragma: a report-only policy cannot be delivered by <meta>.
                self.ignored.append(values.get("content", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head, self._head_done = False, True


def meta_policies_in_html(html: str) -> tuple[list[str], list[str]]:
    """(the CSP meta contents a browser applies, the ones it ignores) of an HTML document."""
    finder = _MetaFinder()
    finder.feed(html)
    finder.close()
    return finder.enforced, finder.ignored


# ---------------------------------------------------------------------------
# Matching (§6.7.2)


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int | None = None

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        return cls(parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)


def _port(scheme: str, port: int | None) -> int | None:
    return port if port is not None else DEFAULT_PORTS.get(scheme)


def scheme_part_matches(a: str, b: str) -> bool:
    """§6.7.2.9 (#scheme-part-match): insecure schemes match their secure upgrades."""
    a, b = a.lower(), b.lower()
    return (
        a == b
        or (a == "http" and b == "https")
        or (a == "ws" and b in ("wss", "http", "https"))
        or (a == "wss" and b == "https")
    )


def host_part_matches(pattern: str, host: str) -> bool:
    """§6.7.2.10 (#host-part-match); IP addresses never match (step 1: the host must be a domain)."""
    host = host.lower()
    if not host or re.fullmatch(r"[0-9.]+|\[.*\]|.*:.*", host):
        return False
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:].lower())
    return pattern.lower() == host


def port_part_matches(port_part: str | None, scheme: str, port: int | None) -> bool:
    """§6.7.2.11 (#port-part-matches): no port-part means the scheme's default port."""
    if port_part == "*":
        return True
    wanted = int(port_part) if port_part else None
    if wanted == port:
        return True
    effective = port if port is not None else DEFAULT_PORTS.get(scheme)
    if wanted == 80 and effective == 443 and scheme in ("https", "wss"):
        # §1.3 item 3: "http://example.com:80 will match both http://example.com:80 and https://example.com:443"
        # (the upgrade Chromium's CSPSource implements as kMatchingUpgrade).
        return True
    return port is None and wanted == DEFAULT_PORTS.get(scheme)


def path_part_matches(a: str, b: str) -> bool:
    """§6.7.2.12 (#path-part-match)."""
    if not a or (a == "/" and not b):
        return True
    exact = not a.endswith("/")
    list_a, list_b = a.split("/"), b.split("/")
    if len(list_a) > len(list_b) or (exact and len(list_a) != len(list_b)):
        return False
    if not exact:
        list_a = list_a[:-1]
    return all(unquote(x) == unquote(y) for x, y in zip(list_a, list_b, strict=False))


def url_matches_expression(url: str, expression: str, origin: Origin, redirect_count: int = 0) -> bool:
    """§6.7.2.8 "Does url match expression in origin with redirect count?"."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if expression == "*":
        return scheme in ("http", "https") or scheme == origin.scheme
    scheme_source = _SCHEME_SOURCE.match(expression)
    if scheme_source:
        return scheme_part_matches(scheme_source["scheme"], scheme)
    host_source = _HOST_SOURCE.match(expression)
    if host_source:
        if host_source["scheme"] and not scheme_part_matches(host_source["scheme"], scheme):
            return False
        if not host:
            return False
        if not host_source["scheme"] and not scheme_part_matches(origin.scheme, scheme):
            return False
        if not host_part_matches(host_source["host"].rstrip("."), host):
            return False
        if not port_part_matches(host_source["port"], scheme, port):
            return False
        path = host_source["path"]
        return not (path and redirect_count == 0 and not path_part_matches(path, parts.path or "/"))
    if expression.lower() == "'self'":
        if (origin.scheme, origin.host, _port(origin.scheme, origin.port)) == (scheme, host, _port(scheme, port)):
            return True
        defaults = origin.port in (None, DEFAULT_PORTS.get(origin.scheme)) and port in (None, DEFAULT_PORTS.get(scheme))
        if origin.host == host and (origin.port == port or defaults):
            return scheme in ("https", "wss") or (origin.scheme == "http" and scheme in ("http", "ws"))
    return False


def url_matches_source_list(url: str, sources: Sequence[str], origin: Origin) -> list[str]:
    """§6.7.2.7: the expressions of ``sources`` that match ``url`` (empty: does not match)."""
    if not sources or (len(sources) == 1 and sources[0].lower() == "'none'"):
        return []
    return [expression for expression in sources if url_matches_expression(url, expression, origin)]


# ---------------------------------------------------------------------------
# The question the checks ask: would a request to this host be allowed?


@dataclass(frozen=True)
class Allowance:
    """How one enforced policy treats a request of ``kind`` to a URL: allowed or not, and by what."""

    allowed: bool
    because: str  # "no script-src-elem/script-src/default-src", "script-src: https:", "script-src: 'strict-dynamic'"


def effective_directive(policy: Policy, kind: str) -> tuple[str, tuple[str, ...]] | None:
    """The first directive of ``kind``'s fallback list the policy has, with its source list (None: none)."""
    for name in FALLBACK[kind]:
        if name in policy.directives:
            return name, policy.directives[name]
    return None


def policy_allows(policy: Policy, kind: str, url: str, origin: Origin) -> Allowance:
    """Would ``policy`` let the page make a request of ``kind`` (``script``/``connect``) to ``url``?"""
    found = effective_directive(policy, kind)
    if found is None:
        return Allowance(True, f"no {'/'.join(FALLBACK[kind])}")
    name, sources = found
    if kind == "script" and any(s.lower() == "'strict-dynamic'" for s in sources):
        return Allowance(True, f"{name}: 'strict-dynamic' (a trusted script may load script from any host)")
    matching = url_matches_source_list(url, sources, origin)
    if matching:
        return Allowance(True, f"{name}: {' '.join(matching)}")
    return Allowance(False, f"{name}: {' '.join(sources) or '(empty)'}")


@dataclass(frozen=True)
class HostDecision:
    kind: str
    host: str
    url: str  # the URL on that host the policies allow
    because: tuple[str, ...]  # per enforced policy, what allows it


def _candidate_hosts(policies: Sequence[Policy], hosts: Iterable[str], is_listed: Callable[[str], bool]) -> list[str]:
    """The listed hosts, plus the listed hosts the policies name, plus one listed subdomain per wildcard."""
    candidates = {host.lower().rstrip(".") for host in hosts}
    for policy in policies:
        for sources in policy.directives.values():
            for expression in sources:
                match = _HOST_SOURCE.match(expression)
                if not match or match["host"] == "*":
                    continue
                named = match["host"].lower().rstrip(".")
                probe = "tracker-probe" + named[1:] if named.startswith("*.") else named
                if is_listed(probe):
                    candidates.add(probe)
    return sorted(candidates)


def _candidate_urls(policies: Sequence[Policy], host: str) -> list[str]:
    """URLs on ``host`` worth asking about: the default HTTPS and HTTP URLs and every port/path the policies name.

    A source narrowed to a port or a path still lets the page contact that host
    there; asking about exactly those URLs keeps the matching the spec's own.
    """
    urls = {f"https://{host}/", f"http://{host}/"}
    for policy in policies:
        for sources in policy.directives.values():
            for expression in sources:
                match = _HOST_SOURCE.match(expression)
                if not match or (not match["port"] and not match["path"]):
                    continue
                port = "" if match["port"] in (None, "*") else f":{match['port']}"
                for scheme in ("https", "http"):
                    urls.add(f"{scheme}://{host}{port}{match['path'] or '/'}")
    return sorted(urls)


def allowed_hosts(
    policies: Sequence[Policy],
    kind: str,
    hosts: Iterable[str],
    origin: Origin,
    is_listed: Callable[[str], bool],
) -> list[HostDecision]:
    """Every host of ``hosts`` (or a listed subdomain a wildcard admits) to which every enforced policy lets a
    request of ``kind`` through. With no enforced policy every host is allowed."""
    enforced = [policy for policy in policies if policy.disposition == ENFORCE]
    decisions: list[HostDecision] = []
    for host in _candidate_hosts(enforced, hosts, is_listed):
        for url in _candidate_urls(enforced, host):
            answers = [policy_allows(policy, kind, url, origin) for policy in enforced]
            if all(answer.allowed for answer in answers):
                because = tuple(
                    f"{policy.source} policy {index + 1}: {answer.because}"
                    for index, (policy, answer) in enumerate(zip(enforced, answers, strict=True))
                ) or ("no enforced policy",)
                decisions.append(HostDecision(kind, host, url, because))
                break
    return decisions


__all__ = [
    "ENFORCE",
    "FALLBACK",
    "REPORT",
    "Allowance",
    "HostDecision",
    "Origin",
    "Policy",
    "allowed_hosts",
    "meta_policies_in_html",
    "parse_meta_policy",
    "parse_policy",
    "parse_policy_list",
    "policy_allows",
    "url_matches_expression",
    "url_matches_source_list",
]
