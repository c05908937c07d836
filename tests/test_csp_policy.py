"""CSP Level 3 parsing and matching (compliance_checks/probes/csp.py) and the CSP check judged by effect.

Spec examples are quoted from the W3C Working Draft "Content Security Policy
Level 3" (https://www.w3.org/TR/CSP3/) with the section they come from; the
hostile cases are policies the old check passed or failed wrongly (issue 13).
The HTTP probe test serves pages on 127.0.0.1 only.
"""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from compliance_checks.checks.base import Params
from compliance_checks.checks.probe_http_csp_no_analytics import CHECK
from compliance_checks.findings import Verdict
from compliance_checks.inventory import Resource
from compliance_checks.probes.csp import (
    REPORT,
    Origin,
    allowed_hosts,
    meta_policies_in_html,
    parse_meta_policy,
    parse_policy,
    parse_policy_list,
    policy_allows,
    url_matches_expression,
    url_matches_source_list,
)
from compliance_checks.probes.http import probe_http
from compliance_checks.trackers import builtin_list

PORTAL = Origin.of("https://portal.example.org/")
GA = "www.google-analytics.com"


# ---------------------------------------------------------------------------
# Parsing


def test_parse_splits_directives_lowercases_names_and_keeps_the_first_duplicate() -> None:
    # §2.2.1 step 2.5: "If policy's directive set contains a directive whose name is directive name, ...
    # continue" -- the first one wins.
    policy = parse_policy("Script-Src 'self';; script-src *; img-src  https://a.example\t'self' ")
    assert dict(policy.directives) == {"script-src": ("'self'",), "img-src": ("https://a.example", "'self'")}
    assert policy.ignored == ("script-src (repeated)",)


def test_a_header_value_is_a_comma_separated_list_of_policies() -> None:
    # §2.2.2: each serialized policy of the list is its own policy; an empty one is dropped.
    policies = parse_policy_list("script-src 'self', connect-src 'none', ")
    assert [dict(p.directives) for p in policies] == [{"script-src": ("'self'",)}, {"connect-src": ("'none'",)}]


def test_meta_policy_loses_report_uri_frame_ancestors_and_sandbox() -> None:
    # §3.3: these directives are not supported in a <meta> element.
    [policy] = parse_meta_policy("default-src 'self'; frame-ancestors 'none'; report-uri /r; sandbox")
    assert dict(policy.directives) == {"default-src": ("'self'",)}
    assert policy.source == "meta"
    assert len(policy.ignored) == 3


def test_meta_policies_count_only_in_head_and_never_report_only() -> None:
    html = """<!doctype html><html><head>
      <meta http-equiv="Content-Security-Policy" content="default-src 'self'">
      <meta http-equiv="content-security-policy-report-only" content="default-src 'none'">
      </head><body><meta http-equiv="Content-Security-Policy" content="script-src *"></body></html>"""
    enforced, ignored = meta_policies_in_html(html)
    assert enforced == ["default-src 'self'"]
    assert sorted(ignored) == ["default-src 'none'", "script-src *"]


# ---------------------------------------------------------------------------
# Matching: the spec's own examples


def test_spec_example_cdn_scripts_only() -> None:
    # §1.2.1 "Control Execution": script-src https://cdn.example.com/scripts/; object-src 'none'
    [policy] = parse_policy_list("script-src https://cdn.example.com/scripts/; object-src 'none'")
    assert policy_allows(policy, "script", "https://cdn.example.com/scripts/app.js", PORTAL).allowed
    assert not policy_allows(policy, "script", "https://cdn.example.com/other.js", PORTAL).allowed
    assert not policy_allows(policy, "script", "https://evil.example/x.js", PORTAL).allowed
    # No connect-src and no default-src: connections are not restricted at all (§6.8.3 fallback list).
    assert policy_allows(policy, "connect", f"https://{GA}/g/collect", PORTAL).allowed


def test_spec_example_insecure_expressions_match_their_secure_upgrade() -> None:
    # §1.3 item 3: "http://example.com:80 will match both http://example.com:80 and https://example.com:443".
    assert url_matches_expression("http://example.com:80/", "http://example.com:80", PORTAL)
    assert url_matches_expression("https://example.com:443/", "http://example.com:80", PORTAL)
    # §6.7.2.9: ws matches wss, http and https; wss matches https; https does not match http.
    assert url_matches_expression("https://any.example/", "ws:", PORTAL)
    assert url_matches_expression("https://any.example/", "wss:", PORTAL)
    assert not url_matches_expression("http://any.example/", "https:", PORTAL)


def test_spec_example_wildcard_host_matches_subdomains_only() -> None:
    # §6.7.2.10 note: "*.example.com host-part matches www.example.com", not example.com itself.
    assert url_matches_expression("https://www.example.com/", "*.example.com", PORTAL)
    assert not url_matches_expression("https://example.com/", "*.example.com", PORTAL)


def test_spec_example_path_part() -> None:
    # §6.7.2.12: "/subdirectory/" path-part matches "/subdirectory/file"; an exact path matches only itself.
    assert url_matches_expression("https://a.example/subdirectory/file", "https://a.example/subdirectory/", PORTAL)
    assert not url_matches_expression("https://a.example/subdirectory/file", "https://a.example/subdirectory", PORTAL)


def test_spec_example_none_only_alone_matches_nothing() -> None:
    # §6.7.2.7 note: « 'none' » matches no URL; « 'none', https://example.com » matches https://example.com/.
    assert url_matches_source_list("https://example.com/", ["'none'"], PORTAL) == []
    assert url_matches_source_list("https://example.com/", ["'none'", "https://example.com"], PORTAL)
    assert url_matches_source_list("https://example.com/", [], PORTAL) == []


def test_self_star_and_keywords() -> None:
    assert url_matches_expression("https://portal.example.org/app.js", "'self'", PORTAL)
    assert url_matches_expression("wss://portal.example.org/socket", "'self'", PORTAL)
    assert not url_matches_expression("https://other.example.org/", "'self'", PORTAL)
    # §6.7.2.8 step 1: * matches every HTTP(S) URL, not data: on an https page.
    assert url_matches_expression(f"https://{GA}/", "*", PORTAL)
    assert not url_matches_expression("data:text/javascript,1", "*", PORTAL)
    for keyword in ("'unsafe-inline'", "'nonce-abc123'", "'sha256-AAAA'", "data:", "blob:"):
        assert not url_matches_expression(f"https://{GA}/", keyword, PORTAL), keyword


# ---------------------------------------------------------------------------
# The question asked: does any enforced policy let a tracker in?


def _allowed(header: str, kind: str, hosts: tuple[str, ...] = (GA,)) -> list[str]:
    listed = builtin_list().is_tracker_host
    return [d.host for d in allowed_hosts(parse_policy_list(header), kind, hosts, PORTAL, listed)]


@pytest.mark.parametrize(
    ("header", "kind", "allowed"),
    [
        ("default-src 'self'", "script", False),
        ("default-src 'self'", "connect", False),
        ("default-src https:", "script", True),  # a scheme source admits every https host
        ("script-src 'self' https:", "script", True),
        ("connect-src 'self' wss:", "connect", True),  # wss: matches https (§6.7.2.9)
        ("img-src 'self'", "script", True),  # no script-src-elem/script-src/default-src: allowed
        ("img-src 'self'", "connect", True),
        ("default-src 'self'; script-src *.com", "script", True),  # a wildcard top-level domain
        ("default-src 'self'; connect-src *", "connect", True),
        ("default-src 'self'; script-src 'nonce-r4nd0m' 'strict-dynamic'", "script", True),
        ("default-src 'self'; script-src 'self' 'nonce-r4nd0m' 'unsafe-inline'", "script", False),
        ("default-src 'self'; connect-src https://www.google-analytics.com:8443", "connect", True),  # any port
        ("default-src 'self'; script-src https://www.google-analytics.com/analytics.js", "script", True),  # a path
        ("default-src 'self'; script-src-elem 'self'; script-src *", "script", False),  # script-src-elem first
        ("default-src 'none'; script-src 'self'; script-src *", "script", False),  # the duplicate is ignored
        ("default-src 'self' data: blob:", "script", False),
    ],
)
def test_tracker_allowed_or_blocked(header: str, kind: str, allowed: bool) -> None:
    assert (_allowed(header, kind) != []) is allowed


def test_wildcard_of_a_tracker_domain_admits_its_subdomains() -> None:
    # *.google-analytics.com does not match the listed google-analytics.com itself, but its subdomains.
    hosts = _allowed("default-src 'self' *.google-analytics.com", "script", ("google-analytics.com",))
    assert hosts and all(h.endswith(".google-analytics.com") for h in hosts)


def test_two_policies_must_both_allow() -> None:
    # §4.2 / §2.2.2: each enforced policy is checked; a request passes only if every one allows it.
    both = "default-src 'self' https:, default-src 'self'"
    assert _allowed(both, "script") == []
    overlap = f"default-src 'self' https://{GA}, default-src 'self' *.google-analytics.com"
    assert _allowed(overlap, "script") == [GA]
    disjoint = f"default-src 'self' https://{GA}, default-src 'self' https://static.hotjar.com"
    assert _allowed(disjoint, "script", (GA, "static.hotjar.com")) == []


def test_report_only_policies_block_nothing() -> None:
    policies = parse_policy_list("default-src 'none'", disposition=REPORT)
    decisions = allowed_hosts(policies, "script", (GA,), PORTAL, builtin_list().is_tracker_host)
    assert [d.host for d in decisions] == [GA]


# ---------------------------------------------------------------------------
# The check


def _judge(**fields: Any) -> tuple[Verdict, str]:
    body = {"url": "https://portal.example.org/", **fields}
    probe = Resource.create(id="probe:http/portal", type="Probe/http", name="portal", body=body, source="probe")
    verdict, message, evidence = CHECK.judge(probe, Params())
    lists = next(e for e in evidence if e.path == "trackerLists").observed
    assert lists and all(set(item) == {"name", "version", "sha256", "source"} for item in lists)
    return verdict, message


STRICT = "default-src 'self'; object-src 'none'"


@pytest.mark.parametrize(
    ("fields", "verdict", "says"),
    [
        ({"contentSecurityPolicy": STRICT}, Verdict.PASS, "blocks scripts from and connections to all"),
        ({"contentSecurityPolicy": "default-src https:"}, Verdict.FAIL, "default-src: https:"),
        ({"contentSecurityPolicy": "img-src 'self'"}, Verdict.FAIL, "no script-src-elem/script-src/default-src"),
        ({"contentSecurityPolicy": "default-src 'self'; script-src *.com"}, Verdict.FAIL, "script-src: *.com"),
        ({"contentSecurityPolicy": None, "contentSecurityPolicyMeta": [STRICT]}, Verdict.PASS, "all"),
        ({"contentSecurityPolicy": None, "contentSecurityPolicyReportOnly": STRICT}, Verdict.FAIL, "Report-Only"),
        ({"contentSecurityPolicy": STRICT, "contentSecurityPolicyReportOnly": "default-src *"}, Verdict.PASS, "report"),
        ({"contentSecurityPolicy": None}, Verdict.FAIL, "No enforced Content-Security-Policy"),
        ({"contentSecurityPolicy": "default-src https:", "contentSecurityPolicyMeta": [STRICT]}, Verdict.PASS, "2"),
        ({"contentSecurityPolicy": "default-src 'self'; connect-src https:"}, Verdict.FAIL, "a connection"),
        ({"contentSecurityPolicy": ["default-src 'self'"]}, Verdict.ERROR, "not text"),
        ({"contentSecurityPolicy": STRICT, "contentSecurityPolicyMeta": "x"}, Verdict.ERROR, "not a list"),
    ],
)
def test_csp_check_judges_the_effect(fields: dict[str, Any], verdict: Verdict, says: str) -> None:
    got, message = _judge(**fields)
    assert got == verdict, message
    assert says in message


def test_csp_check_names_the_meta_tracker_facebook_pixel_host() -> None:
    verdict, message = _judge(contentSecurityPolicy="default-src 'self'; connect-src 'self' https://www.facebook.com")
    assert verdict == Verdict.FAIL and "www.facebook.com" in message


# ---------------------------------------------------------------------------
# The HTTP probe records header, report-only header and <meta> policies (127.0.0.1 only)


class _Page(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[list[tuple[str, str]], str]]] = {
        "/": ([("Content-Security-Policy-Report-Only", "default-src 'none'")], "<head>{meta}</head><body>hi</body>"),
        "/header": ([("Content-Security-Policy", STRICT)], "<head></head><body>hi</body>"),
    }

    def do_GET(self) -> None:
        headers, html = self.pages.get(self.path, ([], "<p>missing</p>"))
        content = html.format(meta=f'<meta http-equiv="Content-Security-Policy" content="{STRICT}">').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Redirect(_Page):
    def do_GET(self) -> None:
        self.send_response(301)
        self.send_header("Location", "https://127.0.0.1/")
        self.end_headers()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    directory = tmp_path_factory.mktemp("csp-tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    secure = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True) for s in (secure, plain)
    ]
    for thread in threads:
        thread.start()
    try:
        yield f"https://127.0.0.1:{secure.server_port}/", f"http://127.0.0.1:{plain.server_port}/", cert
    finally:
        for server in (secure, plain):
            server.shutdown()
            server.server_close()


def test_http_probe_records_meta_and_report_only_policies(portal: tuple[str, str, Path]) -> None:
    url, plain, cert = portal
    record = probe_http(url, ca_file=cert, http_url=plain, extra_paths=("/header",), timeout=5)
    assert not record.get("error"), record.get("error")
    assert record.get("contentSecurityPolicy") is None
    assert record.get("contentSecurityPolicyReportOnly") == "default-src 'none'"
    assert record.get("contentSecurityPolicyMeta") == [STRICT]
    assert record.get("pages[1].contentSecurityPolicy") == STRICT
    verdict, message, _ = CHECK.judge(record, Params())
    assert verdict == Verdict.PASS, message  # the <meta> policy is enforced; the report-only one is not counted
