"""`compliance-checks audit --probe`: the offline audit plus probes of a running portal (local servers)."""

from __future__ import annotations

import json
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.cli import main

from .conftest import require_chromium
from .test_probes_http_browser import (
    RESOLVER_RULES,
    Portal,
    QuietServer,
    Redirector,
    Site,
    TLSServer,
    closed_port,  # noqa: F401 - fixture
    serve,
)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The probe tests' portal, served with a leaf certificate issued by a test CA (as a real portal is)."""
    d = tmp_path_factory.mktemp("ca")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.pem"),
        "-subj",
        "/CN=Smart Portal test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    _openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        str(d / "leaf.key"),
        "-out",
        str(d / "leaf.csr"),
        "-subj",
        "/CN=127.0.0.1",
    )
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
        encoding="utf-8",
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(d / "leaf.csr"),
        "-CA",
        str(d / "ca.pem"),
        "-CAkey",
        str(d / "ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        str(d / "leaf.pem"),
        "-extfile",
        str(d / "ext.cnf"),
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(d / "leaf.pem", d / "leaf.key")
    seen: list[str] = []

    class HttpsPortal(Portal):
        seen_hosts = seen

    https = TLSServer(HttpsPortal, context)
    HttpsPortal.port = https.server_address[1]

    class Redirect(Redirector):
        target_port = https.server_address[1]

    redirect = QuietServer(("127.0.0.1", 0), Redirect)
    threads = [serve(https), serve(redirect)]
    try:
        yield Site(https.server_address[1], 0, redirect.server_address[1], d / "ca.pem", seen)
    finally:
        for server, thread in zip((https, redirect), threads, strict=True):
            server.shutdown()
            server.server_close()
            thread.join(5)


PROBE_CHECKS = (
    "probe_tls_protocols",
    "probe_http_hsts_redirect",
    "probe_http_no_set_cookie",
    "probe_http_csp_no_analytics",
    "probe_browser_no_cookies",
    "probe_browser_local_storage",
    "probe_browser_no_trackers",
    "probe_database_port_unreachable",
)


def audit(site: Site, page: str, database_port: int, out: Path, *extra: str, of_stack: bool = True) -> dict[str, Any]:
    require_chromium()
    # The loopback stand-in serves the audited stack's portal: --probe-of-stack says so (its host names are elsewhere).
    extra = (*extra, "--probe-of-stack") if of_stack else extra
    code = main([
        "audit", "--quiet", "--format", "json", "--out", str(out),
        "--probe", site.url(page), "--probe-http-url", site.redirect_url(page), "--probe-ca", str(site.cert),
        "--database", f"127.0.0.1:{database_port}", "--host-resolver-rules", RESOLVER_RULES, *extra,
    ])  # fmt: skip
    results: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["exitCode"] == code
    return results


def verdicts(results: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for finding in results["findings"]:
        if finding["checkId"] in PROBE_CHECKS:
            assert finding["source"] == "probe"
            found[finding["checkId"]] = finding["verdict"]
    return found


def test_a_clean_portal_passes_every_probe(site: Site, closed_port: int, tmp_path: Path) -> None:  # noqa: F811 - fixture
    results = audit(site, "/clean", closed_port, tmp_path / "clean")
    assert verdicts(results) == dict.fromkeys(PROBE_CHECKS, "PASS")
    claims = {c["id"]: c["verdict"] for c in results["claims"]}
    # With the probes, the promises that need a visitor's view become verifiable.
    assert claims["PRIV-NO-COOKIES"] == claims["PRIV-NO-ANALYTICS"] == claims["PRIV-LOCAL-STORAGE"] == "PASS"
    assert claims["SEC-TLS"] == claims["SEC-DB-SINGLE-IP-VPN"] == "PASS"


def test_a_tracker_and_an_open_database_port_fail_their_claims(site: Site, tmp_path: Path) -> None:
    import socket

    with socket.socket() as listener:  # the "database" answers from a non-allowed vantage point
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        results = audit(site, "/tracker", listener.getsockname()[1], tmp_path / "tracker")
    found = verdicts(results)
    assert found["probe_browser_no_trackers"] == "FAIL"
    assert found["probe_http_csp_no_analytics"] == "FAIL"
    assert found["probe_database_port_unreachable"] == "FAIL"
    claims = {c["id"]: c["verdict"] for c in results["claims"]}
    assert claims["PRIV-NO-ANALYTICS"] == claims["SEC-DB-SINGLE-IP-VPN"] == "FAIL"
    assert results["summary"]["exitCode"] == 1


def test_probes_of_a_host_that_is_not_the_stacks_are_reported_but_do_not_count(site: Site, tmp_path: Path) -> None:
    import socket

    with socket.socket() as listener:  # an open "database" port and a tracker: broken, but on somebody else's host
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        results = audit(site, "/tracker", listener.getsockname()[1], tmp_path / "foreign", of_stack=False)
    found = verdicts(results)
    assert found["probe_browser_no_trackers"] == "FAIL"  # still reported, with why it does not count
    excluded = [f for f in results["findings"] if f["checkId"] in PROBE_CHECKS]
    assert excluded and all("not a host name of the audited stack" in (f["excluded"] or "") for f in excluded)
    claims = {c["id"]: c for c in results["claims"]}
    observed = next(layer for layer in claims["PRIV-NO-ANALYTICS"]["layers"] if layer["layer"] == "observed")
    assert observed["verdict"] == "NOT_RUN" and "127.0.0.1" in observed["hint"]
    assert results["scope"]["probedHosts"] == ["127.0.0.1"] and results["scope"]["probesCount"] is False
    assert results["summary"]["exitCode"] == 0


def test_every_other_tls_endpoint_is_scanned_and_judged(site: Site, closed_port: int, tmp_path: Path) -> None:  # noqa: F811 - fixture
    results = audit(site, "/clean", closed_port, tmp_path / "tls", "--probe-tls", f"127.0.0.1:{closed_port}")
    tls = {f["resourceId"]: f["verdict"] for f in results["findings"] if f["checkId"] == "probe_tls_protocols"}
    assert sorted(tls.values()) == ["ERROR", "PASS"]  # the portal, and an endpoint that does not answer
    assert any(str(closed_port) in resource and verdict == "ERROR" for resource, verdict in tls.items())
    assert results["summary"]["exitCode"] == 2


def test_probe_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--probe", "http://portal.example/", "--format", "json"]) == 64
    assert "https:// URL" in capsys.readouterr().err
    assert main(["audit", "--probe", "https://portal.example/", "--database", "nope", "--format", "json"]) == 64
    assert main(["audit", "--probe", "https://portal.example/", "--probe-tls", "nope", "--format", "json"]) == 64
    assert "--probe-tls" in capsys.readouterr().err
