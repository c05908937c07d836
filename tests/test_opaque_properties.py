"""A resource whose whole ``properties`` is unknown or secret is unknown in every property, never absent.

The sources keep such a ``properties`` as ``{"$value": <unknown>}`` (an ARM ``"properties":
"[parameters('p')]"`` with no value, a Pulumi preview's unknown or secret object). Every read under it must
then be that unknown or secret value -- ERROR -- never MISSING: a check that takes absence for a default
would otherwise say FAIL ("not set") for a setting that may well be set, or PASS where absence is fine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.checks.base import Read
from compliance_checks.cli import main
from compliance_checks.inventory import MISSING, SECRET, UNKNOWN, Resource

SITE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Web/sites/app"


@pytest.mark.parametrize("opaque", [UNKNOWN, SECRET, "not an object"])
def test_every_read_under_an_opaque_properties_is_that_value(opaque: Any) -> None:
    # Other keys may sit beside it (the web app source merges child config resources in).
    body = {"properties": {"$value": opaque, "siteConfig": {"appSettings": []}}}
    resource = Resource.create(id=SITE, type="Microsoft.Web/sites", name="app", body=body)
    expected = SECRET if opaque is SECRET else UNKNOWN
    assert resource.get("properties.httpsOnly") is expected
    assert resource.get("properties.siteConfig.minTlsVersion") is MISSING  # a known object's own absence
    assert resource.get("properties.siteConfig.appSettings") == []
    assert resource.get("location") is MISSING  # outside the opaque object nothing changes
    reads = [Read("Microsoft.Web/sites", "properties.httpsOnly"), Read("Microsoft.Web/sites", "properties.x[*].y")]
    for read in reads:
        assert [value for _, value in read.values(resource)] == [expected]
        assert read.any_invalid(resource)


def test_keys_beside_dollar_value_are_read_and_the_rest_is_unknown() -> None:
    resource = Resource.create(
        id=SITE, type="Microsoft.Web/sites", name="app", body={"properties": {"$value": 1, "httpsOnly": True}}
    )
    assert resource.get("properties.httpsOnly") is True
    assert resource.get("properties.clientAffinityEnabled") is UNKNOWN  # beside $value: not known to be absent


def test_an_arm_site_of_unknown_properties_is_error_in_every_check_that_reads_them(tmp_path: Path) -> None:
    template = tmp_path / "dev.json"
    assert main(["export-arm", "--out", str(template)]) == 0
    document: dict[str, Any] = json.loads(template.read_text(encoding="utf-8"))
    document["parameters"]["siteProperties"] = {"type": "object"}  # no value given: unknown until deployment
    sites = [r for r in document["resources"] if r["type"] == "Microsoft.Web/sites"]
    assert sites
    for site in sites:
        site["properties"] = "[parameters('siteProperties')]"
    template.write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "out"
    main(["audit", "--source", "arm", "--input", str(template), "--out", str(out), "-q"])
    findings = json.loads((out / "results.json").read_text(encoding="utf-8"))["findings"]
    on_sites = {
        f["checkId"]: f["verdict"]
        for f in findings
        if f["resourceType"].lower() == "microsoft.web/sites" and f["checkId"].startswith("webapp_")
    }
    # Each of these reads the site's own properties (httpsOnly, siteConfig.*, clientAffinityEnabled).
    for check in (
        "webapp_https_only",
        "webapp_min_tls_version",
        "webapp_ftps_disabled",
        "webapp_scm_ip_restricted",
        "webapp_client_affinity_disabled",
        "webapp_no_application_insights",
    ):
        assert on_sites.get(check) == "ERROR", (check, on_sites.get(check))
