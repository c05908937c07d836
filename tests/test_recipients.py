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
