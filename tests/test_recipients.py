"""Undisclosed recipients (compliance_checks/probes/recipients.py) and the catalogue's recipients.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from compliance_checks.catalog import load_catalog
from compliance_checks.errors import InputError
from compliance_checks.probes.recipients import (
    Recipient,
    Recipients,
    load_recipients,
    parse_recipients,
    undisclosed_recipients,
)

NONE_DISCLOSED = Recipients(own_hosts=(), recipients=())
CDN_DISCLOSED = Recipients(
    own_hosts=("portal.example",),
    recipients=(Recipient("Font CDN", "REC-BANKING", ("fonts.cdn.example", "*.img.example")),),
)


def test_every_third_party_host_is_an_undisclosed_recipient() -> None:
    hosts = ["portal.example", "fonts.googleapis.com", "fonts.gstatic.com", "cdn.jsdelivr.net", "fonts.googleapis.com"]
    assert undisclosed_recipients(hosts, ["https://portal.example/"], NONE_DISCLOSED) == [
        "cdn.jsdelivr.net",
        "fonts.googleapis.com",
        "fonts.gstatic.com",
    ]


def test_own_origins_are_exact_hosts_not_sites() -> None:
    # Another app under the same shared suffix (or a sibling subdomain) is somebody else's host.
    own = ["https://portal.azurewebsites.net"]
    hosts = ["portal.azurewebsites.net", "evil.azurewebsites.net", "api.portal.azurewebsites.net"]
    assert undisclosed_recipients(hosts, own, NONE_DISCLOSED) == [
        "api.portal.azurewebsites.net",
        "evil.azurewebsites.net",
    ]


def test_hosts_are_compared_normalised() -> None:
    hosts = ["PORTAL.example.", "portal.example:8443", "https://Fonts.CDN.example/x.woff2", "a.img.example"]
    assert undisclosed_recipients(hosts, ["portal.example"], CDN_DISCLOSED) == []
    assert undisclosed_recipients(["img.example"], [], CDN_DISCLOSED) == ["img.example"]  # *.x is not x itself


def test_an_unnamed_host_is_not_disclosed_either() -> None:
    assert undisclosed_recipients([""], ["portal.example"], NONE_DISCLOSED) == [""]


def test_the_catalogue_discloses_no_web_host_and_names_real_claims() -> None:
    catalogue = load_recipients()
    claims = {claim.id for claim in load_catalog().claims}
    assert catalogue.own_hosts == (
        "portal.smartde.coop",
    )  # "Die Adresse der Website lautet: https://portal.smartde.coop."
    assert catalogue.recipients and all(r.claim in claims and r.claim.startswith("REC-") for r in catalogue.recipients)
    assert all(r.hosts == () for r in catalogue.recipients)
    assert undisclosed_recipients(["portal.smartde.coop", "fonts.gstatic.com"], []) == ["fonts.gstatic.com"]


@pytest.mark.parametrize(
    ("document", "place"),
    [
        ([], "top level"),
        ({"recipients": {}}, "recipients"),
        ({"recipients": [{"name": "x", "claim": "REC-NOPE", "hosts": []}]}, r"recipients\[0\].claim"),
        ({"recipients": [{"name": "", "claim": "REC-BANKING", "hosts": []}]}, r"recipients\[0\].name"),
        ({"recipients": [{"name": "x", "claim": "REC-BANKING", "hosts": [1]}]}, r"recipients\[0\].hosts"),
        ({"recipients": [{"name": "x", "claim": "REC-BANKING"}]}, r"recipients\[0\]"),
        ({"own_hosts": "portal", "recipients": []}, "own_hosts"),
    ],
)
def test_a_malformed_recipients_file_names_the_place(document: Any, place: str) -> None:
    with pytest.raises(InputError, match=f"recipients.yaml: {place}"):
        parse_recipients(document, ["REC-BANKING"])


# -- the check over a browser record (the browser itself: tests/test_browser_visit.py) -------------------------


def _record(body: dict[str, Any]) -> Any:
    from compliance_checks.inventory import Resource

    return Resource.create(id="probe:browser/portal.example", type="Probe/browser", name="x", body=body, source="probe")


def _judge(body: dict[str, Any], catalogue: Recipients | None = NONE_DISCLOSED) -> tuple[Any, dict[str, Any]]:
    from compliance_checks.checks.base import Params
    from compliance_checks.checks.probe_browser_recipients_disclosed import BrowserRecipientsDisclosed
    from compliance_checks.inventory import Inventory

    (finding,) = BrowserRecipientsDisclosed(catalogue).evaluate(Inventory([_record(body)]), Params())
    return finding, {e.path: e.observed for e in finding.evidence}


def _request(url: str, **extra: Any) -> dict[str, Any]:
    from urllib.parse import urlsplit

    return {"url": url, "host": urlsplit(url).hostname or "", "resourceType": "script", "page": PAGE, **extra}


PAGE = "https://portal.example/"


def test_the_check_names_the_claims_recipients_yaml_discloses_under() -> None:
    from compliance_checks.checks.probe_browser_recipients_disclosed import CHECK

    assert set(CHECK.meta.claims) == {recipient.claim for recipient in load_recipients().recipients}


def test_own_hosts_pass_and_every_other_host_fails_with_what_was_loaded() -> None:
    from compliance_checks.findings import Verdict

    own = [_request("https://portal.example/app.js"), _request("wss://portal.example/live")]
    finding, _ = _judge({"url": PAGE, "requests": own})
    assert finding.verdict is Verdict.PASS
    loads = [
        *own,
        _request("https://cdn.jsdelivr.net/npm/x.js", initiator={"type": "parser", "url": PAGE}),
        *[_request(f"https://img.example/{n}.png", resourceType="image") for n in range(12)],
        _request("https://frame.example/pixel.gif", frame="https://video.example/embed", phase="scroll"),
    ]
    finding, shown = _judge({"url": PAGE, "requests": loads})
    assert finding.verdict is Verdict.FAIL
    listed = shown["undisclosedRecipients"]
    assert listed["cdn.jsdelivr.net"] == [
        f"script https://cdn.jsdelivr.net/npm/x.js (initiator parser {PAGE}, on {PAGE})"
    ]
    assert len(listed["img.example"]) == 11 and listed["img.example"][-1] == "... 2 more"
    assert listed["frame.example"] == [
        f"script https://frame.example/pixel.gif (frame https://video.example/embed, on {PAGE} (scroll))"
    ]
    assert "cdn.jsdelivr.net (1 request(s))" in finding.message and "img.example (12 request(s))" in finding.message


def test_disclosed_hosts_pass_and_are_named() -> None:
    from compliance_checks.findings import Verdict

    loads = [_request("https://fonts.cdn.example/a.woff2"), _request("https://x.img.example/b.png")]
    finding, shown = _judge({"url": PAGE, "requests": loads}, CDN_DISCLOSED)
    assert finding.verdict is Verdict.PASS and shown["undisclosedRecipients"] == {}
    assert shown["disclosedRecipientsContacted"] == [
        "fonts.cdn.example: Font CDN (REC-BANKING)",
        "x.img.example: Font CDN (REC-BANKING)",
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"url": PAGE, "requests": None},
        {"url": PAGE, "requests": ["https://cdn.example/x.js"]},
        {"requests": [_request("https://cdn.example/x.js")]},
        {"url": "not a url", "requests": []},
    ],
    ids=["requests-missing", "requests-malformed", "url-missing", "url-malformed"],
)
def test_what_cannot_be_judged_is_an_error(body: dict[str, Any]) -> None:
    from compliance_checks.findings import Verdict

    finding, _ = _judge(body)
    assert finding.verdict is Verdict.ERROR and finding.message.startswith("Cannot verify:")


def test_an_unreadable_recipients_file_is_an_error(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from compliance_checks.findings import Verdict
    from compliance_checks.probes import recipients

    broken = tmp_path / "recipients.yaml"
    broken.write_text("version: 1\nrecipients: {}\n", encoding="utf-8")
    monkeypatch.setattr(
        "compliance_checks.checks.probe_browser_recipients_disclosed.load_recipients",
        lambda: recipients.load_recipients(broken),
    )
    finding, _ = _judge({"url": PAGE, "requests": []}, None)
    assert finding.verdict is Verdict.ERROR and "recipients.yaml: recipients: expected a list" in finding.message
