"""The tracker lists (compliance_checks/trackers.py): each named service matches, path and storage rules,
the filter-list reader and ``compliance-checks trackers update`` (local files and 127.0.0.1 only)."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from compliance_checks import trackers
from compliance_checks.checks.base import Params
from compliance_checks.checks.probe_http_csp_no_analytics import CHECK as CSP_CHECK
from compliance_checks.cli import main
from compliance_checks.errors import InputError
from compliance_checks.inventory import Resource
from compliance_checks.trackers import builtin_list, parse_filter_list


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test sees an empty user cache of its own, never the developer's."""
    monkeypatch.setenv(trackers.CACHE_ENV, str(tmp_path / "cache"))
    trackers.reset()
    yield tmp_path / "cache"
    trackers.reset()


# The services issue 13 names, each with a request its vendor documents.
SERVICES = {
    "PostHog": "https://eu.i.posthog.com/e/",
    "etracker": "https://code.etracker.com/code/e.js",
    "Fathom": "https://cdn.usefathom.com/script.js",
    "Umami": "https://cloud.umami.is/script.js",
    "Simple Analytics": "https://scripts.simpleanalyticscdn.com/latest.js",
    "GoatCounter": "https://gc.zgo.at/count.js",
    "Adobe": "https://assets.adobedtm.com/launch-abc.min.js",
    "RudderStack": "https://cdn.rudderlabs.com/v3/modern/rsa.min.js",
    "LogRocket": "https://r.lr-ingest.io/i",
    "Contentsquare": "https://t.contentsquare.net/uxa/abc.js",
    "Datadog RUM": "https://browser-intake-datadoghq.eu/api/v2/rum",
    "New Relic": "https://bam.eu01.nr-data.net/1/abc",
    "HubSpot": "https://js.hs-scripts.com/123.js",
    "Meta Pixel": "https://www.facebook.com/tr?id=1&ev=PageView",
    "X (Twitter)": "https://t.co/i/adsct?txn_id=1",
    "Pinterest": "https://s.pinimg.com/ct/core.js",
    "Snap": "https://tr.snapchat.com/p",
    "Reddit": "https://www.redditstatic.com/ads/pixel.js",
    "Klaviyo": "https://static.klaviyo.com/onsite/js/klaviyo.js",
    "Google Analytics": "https://www.google-analytics.com/g/collect",
    "Hotjar": "https://static.hotjar.com/c/hotjar-1.js",
    "Application Insights": "https://js.monitor.azure.com/scripts/b/ai.3.gbl.min.js",
}


@pytest.mark.parametrize(("service", "url"), SERVICES.items())
def test_each_named_service_is_matched_with_its_documented_source(service: str, url: str) -> None:
    match = builtin_list().match_url(url)
    assert match is not None, url
    assert service.split(maxsplit=1)[0].lower() in match.service.lower()
    assert match.source.startswith("https://")


def test_every_built_in_entry_names_its_source_and_the_list_names_its_version() -> None:
    listed = builtin_list()
    assert all(source.startswith("https://") for _, source in listed.hosts.values())
    [info] = listed.lists
    raw = (Path(trackers.__file__).parent / trackers.BUILTIN).read_bytes()
    assert info.sha256 == hashlib.sha256(raw).hexdigest()
    assert info.version and info.name and info.source == "built-in"


def test_a_path_rule_matches_only_its_path() -> None:
    listed = builtin_list()
    assert listed.match_url("https://www.facebook.com/tr/") is not None
    assert listed.match_url("https://www.facebook.com/smartde") is None
    assert listed.match_url("https://t.co/abc") is None
    assert not trackers.is_tracker("www.facebook.com")  # the host alone is no tracker
    assert trackers.is_tracker("sub.www.google-analytics.com") and not trackers.is_tracker("google.com")


@pytest.mark.parametrize(
    ("paths", "service"),
    [
        (["/matomo.php"], "Matomo"),
        (["/stats/piwik.php"], "Matomo"),
        (["/analytics/matomo.js"], "Matomo"),
        (["/js/script.js", "/api/event"], "Plausible"),
        (["/js/script.outbound-links.js", "/api/event"], "Plausible"),
        (["/script.js", "/api/send"], "Umami"),
    ],
)
def test_self_hosted_analytics_on_first_party_paths(paths: list[str], service: str) -> None:
    assert [m.service.split()[0] for m in builtin_list().match_first_party(paths)] == [service]


@pytest.mark.parametrize("paths", [["/js/script.js"], ["/api/send"], ["/api/event"], ["/app.js", "/api/login"]])
def test_ordinary_application_paths_are_no_tracker(paths: list[str]) -> None:
    assert builtin_list().match_first_party(paths) == []


def test_requested_paths_keeps_only_the_portals_own_hosts() -> None:
    urls = ["https://portal.example/matomo.php", "https://cdn.example/matomo.php", "https://PORTAL.example/a"]
    assert trackers.requested_paths(urls, ["portal.example"]) == ["/matomo.php", "/a"]


@pytest.mark.parametrize(
    ("key", "service"),
    [
        ("_ga", "Google"),
        ("_ga_ABC123", "Google"),
        ("_gid", "Google"),
        ("ajs_anonymous_id", "Segment"),
        ("ajs_user_id", "Segment"),
        ("_pk_id.1.1fff", "Matomo"),
        ("mp_0123abcd_mixpanel", "Mixpanel"),
        ("amplitude_id_abc", "Amplitude"),
        ("ph_phc_abc_posthog", "PostHog"),
        ("_hjSessionUser_1", "Hotjar"),
        ("ai_user", "Azure"),
    ],
)
def test_analytics_identifiers_in_storage(key: str, service: str) -> None:
    match = builtin_list().match_storage_key(key)
    assert match is not None and match.service.startswith(service), key


@pytest.mark.parametrize("key", ["lang", "language", "token", "auth.session", "login", "ga", "gid"])
def test_application_keys_are_no_analytics_identifier(key: str) -> None:
    assert builtin_list().match_storage_key(key) is None


FILTER_LIST = b"""[Adblock Plus 2.0]
! Version: 202611301200
! Title: EasyPrivacy
! Last modified: 30 Nov 2026 12:00 UTC
! License: https://easylist.to/pages/licence.html
||tracker-one.example^
||tracker-two.example^$third-party
||site-only.example^$domain=news.example
||pixel.example/collect^
||allowed-again.example^
@@||allowed-again.example^
/piwik.js
example.com##.ad
"""


def test_filter_list_reader_takes_host_rules_and_names_the_version() -> None:
    parsed = parse_filter_list(FILTER_LIST, "easyprivacy.txt")
    assert sorted(parsed.hosts) == ["tracker-one.example", "tracker-two.example"]
    assert [(h, p) for h, p, _, _ in parsed.host_paths] == [("pixel.example", "/collect")]
    assert parsed.skipped_rules == 3  # $domain=, a generic path, an element hiding rule
    [info] = parsed.lists
    assert (info.name, info.version) == ("EasyPrivacy", "202611301200")
    assert info.sha256 == hashlib.sha256(FILTER_LIST).hexdigest()
    assert parsed.match_url("https://pixel.example/collect?x=1") is not None


@pytest.mark.parametrize(
    ("raw", "says"),
    [(b"||a.example^\n", "no '! Title:'"), (b"! Title: Empty\n/path.js\n", "no host rule"), (b"\xff\xfe", "UTF-8")],
)
def test_a_file_that_is_no_filter_list_is_refused(raw: bytes, says: str) -> None:
    with pytest.raises(InputError, match=says):
        parse_filter_list(raw, "list.txt")


def _csp_evidence() -> list[dict[str, str]]:
    body = {"url": "https://portal.example/", "contentSecurityPolicy": "default-src 'self'"}
    probe = Resource.create(id="probe:http/p", type="Probe/http", name="p", body=body, source="probe")
    _, _, evidence = CSP_CHECK.judge(probe, Params())
    observed: list[dict[str, str]] = next(e for e in evidence if e.path == "trackerLists").observed
    return observed


def test_update_from_a_file_stores_the_list_and_every_finding_names_it(
    tmp_path: Path, isolated_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "easyprivacy.txt"
    source.write_bytes(FILTER_LIST)
    assert main(["trackers", "update", "--from", str(source)]) == 0
    assert "EasyPrivacy 202611301200" in capsys.readouterr().out
    record = json.loads((isolated_cache / trackers.CACHE_META).read_text(encoding="utf-8"))
    assert record["sha256"] == hashlib.sha256(FILTER_LIST).hexdigest()
    assert trackers.is_tracker("cdn.tracker-one.example")
    names = [item["name"] for item in _csp_evidence()]
    assert names == [builtin_list().lists[0].name, "EasyPrivacy"]
    assert main(["trackers", "show"]) == 0
    assert "EasyPrivacy\t202611301200" in capsys.readouterr().out


def test_a_tampered_cache_is_an_error_not_a_silent_list(tmp_path: Path, isolated_cache: Path) -> None:
    source = tmp_path / "easyprivacy.txt"
    source.write_bytes(FILTER_LIST)
    trackers.update(str(source))
    (isolated_cache / trackers.CACHE_LIST).write_bytes(FILTER_LIST + b"||added.example^\n")
    trackers.reset()
    with pytest.raises(InputError, match="sha256 differs"):
        trackers.is_tracker("added.example")


def test_update_refuses_a_file_that_is_no_list_with_one_line(
    tmp_path: Path, isolated_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html>captive portal</html>", encoding="utf-8")
    assert main(["trackers", "update", "--from", str(page)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "page.html" in error and "Title" in error
    assert not (isolated_cache / trackers.CACHE_LIST).exists()
    assert main(["trackers", "update", "--from", "ftp://example.org/list.txt"]) == 64


class _ListHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if urlsplit(self.path).path == "/easyprivacy.txt" else 404)
        self.send_header("Content-Length", str(len(FILTER_LIST)))
        self.end_headers()
        self.wfile.write(FILTER_LIST)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_update_downloads_from_a_url(isolated_cache: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ListHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/easyprivacy.txt"
        parsed = trackers.update(url)
        assert parsed.lists[0].source == url
        assert [item["source"] for item in trackers.list_evidence()] == ["built-in", url]
        with pytest.raises(InputError, match="cannot download"):
            trackers.update(f"http://127.0.0.1:{server.server_port}/missing.txt")
    finally:
        server.shutdown()
        server.server_close()
