"""The live collector's request plan, attacked: the joins, the paging and the early per-resource reads.

Each case is run end to end through ``compliance-checks audit --source live``
against the local stand-in (tests/live/server.py) and asserts the exit code and
the verdicts of the findings the hostile or broken answer touches: never PASS
for what was not read, ERROR and exit 2 for what could not be verified.

The stand-in is not edited: a case changes what it serves either by adding rows
to its tables once it has started (``setup``), or by rewriting an answer on its
way out (``rewrite``, a wrapper around the handler's router).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.cli import main
from compliance_checks.inventory import UNKNOWN
from compliance_checks.live.collect import Collector
from compliance_checks.live.settings import LiveSettings
from compliance_checks.sources.live import load_live
from infra import well_known
from tests.live import estate as live
from tests.live import server as stand_in
from tests.live.credential import StaticToken
from tests.live.model import Estate
from tests.live.server import FakeAzure, Fault, _graph_row
from tests.support.pki import server_pem

Results = dict[str, Any]
Answer = tuple[int, Any, dict[str, str]]
# (method, path, query, request body, the answer the stand-in would give) -> the answer to send instead
Rewrite = Callable[[str, str, dict[str, list[str]], Any, Answer], Answer]
TOKEN = "adversarial-token-5f0c3e91"
RG_PATH = "/providers/microsoft.resourcegraph/resources"
SITE_CONFIG_ID = f"{live.SITE_ID}/config/web"


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return server_pem(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def rewrite(monkeypatch: pytest.MonkeyPatch) -> Callable[[Rewrite], None]:
    """Installs a rewrite of the stand-in's answers (every server started in this test)."""

    def install(change: Rewrite) -> None:
        original = stand_in._Handler._route

        def routed(  # noqa: PLR0917 - the signature of the router it wraps
            handler: Any, method: str, path: str, query: dict[str, list[str]], body: Any, fault: Fault | None
        ) -> Answer:
            return change(method, path, query, body, original(handler, method, path, query, body, fault))

        monkeypatch.setattr(stand_in._Handler, "_route", routed)

    return install


@pytest.fixture
def audit(
    pem: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., tuple[int, Results, FakeAzure]]]:
    """``compliance-checks audit --source live`` in process against the stand-in; exit code, results.json, server."""
    ca, cert, key = pem
    monkeypatch.setattr("compliance_checks.live.credentials.make_credential", lambda settings: StaticToken(TOKEN))

    def run(
        estate: Estate, *, setup: Callable[[FakeAzure], None] = lambda fake: None, **server: Any
    ) -> tuple[int, Results, FakeAzure]:
        out = tmp_path / "report"
        with FakeAzure(estate, cert, key, **server) as fake:
            setup(fake)
            code = main([
                "audit", "--quiet", "--source", "live", "--subscription", estate.subscription_id,
                "--arm-endpoint", fake.url, "--graph-endpoint", fake.url, "--ca-bundle", str(ca),
                "--out", str(out),
            ])  # fmt: skip
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err, captured.err
        results: Results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        assert results["summary"]["exitCode"] == code
        assert fake.writes() == []
        assert TOKEN not in json.dumps(results) + captured.out + captured.err
        return code, results, fake

    yield run


def verdicts(results: Results, check: str) -> dict[str, str]:
    """Resource ID (lower case) -> verdict, for one check's findings."""
    return {f["resourceId"].lower(): f["verdict"] for f in results["findings"] if f["checkId"] == check}


def gap_reasons(results: Results) -> list[str]:
    return [g["reason"] for g in results["run"]["collection"]["gaps"]]


def config_row(fake: FakeAzure, site_id: str = live.SITE_ID) -> dict[str, Any]:
    """The ``appserviceresources`` row the stand-in serves for a site's ``config/web``."""
    wanted = f"{site_id}/config/web".lower()
    row = next(r for r in fake.site_config_rows if str(r["id"]).lower() == wanted)
    # The stand-in's row shares its properties with the body GET config/web answers: edit a copy.
    row["properties"] = copy.deepcopy(row["properties"])
    return row


def config_reads(fake: FakeAzure) -> list[str]:
    return [r.path.lower() for r in fake.requests if r.method == "GET" and r.path.lower().endswith("/config/web")]


def test_the_dev_estate_read_cleanly_passes_every_check_these_cases_touch(audit: Any) -> None:
    """The ERRORs and FAILs below come from the hostile answers, not from the estate."""
    code, results, fake = audit(live.dev_estate())
    assert code == 0 and gap_reasons(results) == []
    for check in (
        "webapp_min_tls_version",
        "webapp_ftps_disabled",
        "webapp_scm_ip_restricted",
        "webapp_easy_auth_disabled",
        "webapp_custom_domain_sni",
        "postgres_no_firewall_rules",
        "diagnostic_settings_enabled",
        "rbac_developers_least_privilege",
    ):
        assert set(verdicts(results, check).values()) == {"PASS"}, (check, verdicts(results, check))
    assert config_reads(fake) == []  # config/web came from Resource Graph


# --- 1. joining appserviceresources config/web rows to their sites -----------------------------------------------


def test_a_config_row_whose_id_differs_in_case_is_the_sites_own(audit: Any) -> None:
    """ARM resource IDs are case-insensitive ("Resource names are case-insensitive unless noted", Microsoft Learn
    azure-resource-manager/management/resource-name-rules; the estate's own providers answer lower-cased IDs)."""
    estate = live.with_site_min_tls(live.dev_estate(), "1.0")

    def setup(fake: FakeAzure) -> None:
        row = config_row(fake)
        row["id"] = row["id"].upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")

    code, results, fake = audit(estate, setup=setup)
    assert config_reads(fake) == []  # joined, not read again
    assert verdicts(results, "webapp_min_tls_version") == {live.SITE_ID.lower(): "FAIL"} and code == 1


def test_two_config_rows_for_one_site_that_differ_are_an_error_not_first_wins_nor_a_second_read(audit: Any) -> None:
    """The same site's config/web twice, once with TLS 1.0: which is true cannot be known; page order must not decide,
    and neither may a quiet per-site re-read that hides the contradiction."""

    def setup(fake: FakeAzure) -> None:
        twin = copy.deepcopy(config_row(fake))
        twin["properties"]["minTlsVersion"] = "1.0"
        fake.site_config_rows.append(twin)

    code, results, fake = audit(live.dev_estate(), setup=setup)
    assert code == 2
    assert any("returned twice with different values" in r for r in gap_reasons(results))
    for check in ("webapp_min_tls_version", "webapp_ftps_disabled", "webapp_scm_ip_restricted"):
        assert verdicts(results, check) == {live.SITE_ID.lower(): "ERROR"}, check
    assert config_reads(fake) == []


def test_identical_twin_config_rows_are_one(audit: Any) -> None:
    def setup(fake: FakeAzure) -> None:
        fake.site_config_rows.append(copy.deepcopy(config_row(fake)))

    code, results, _ = audit(live.dev_estate(), setup=setup)
    assert code == 0 and gap_reasons(results) == []


@pytest.mark.parametrize(
    "shape",
    ["slot type, site id", "slot id, site type", "slot row", "site row without /config/web"],
)
def test_a_config_row_that_is_not_a_sites_config_web_never_stands_in_for_the_site(audit: Any, shape: str) -> None:
    """The query asks for ``microsoft.web/sites/config`` rows named ``web``; a slot's config
    (``microsoft.web/sites/slots/config``, a table of its own: MicrosoftDocs/azure-docs
    articles/governance/resource-graph/reference/supported-tables-resources.md, commit
    00ec1e2ffaf3dae643b5ccfe48e613c9e21f1aae) or any other row is not an answer to it. The site's real
    configuration (TLS 1.0) must never be replaced by it: ERROR, or the site's own value, never PASS."""
    estate = live.with_site_min_tls(live.dev_estate(), "1.0")
    slot = f"{live.SITE_ID}/slots/staging"

    def setup(fake: FakeAzure) -> None:
        row = config_row(fake)
        good = copy.deepcopy(row)
        good["properties"]["minTlsVersion"] = "1.2"
        if shape == "slot type, site id":
            good["type"] = "microsoft.web/sites/slots/config"
        elif shape == "slot id, site type":
            good["id"] = f"{slot}/config/web"
        elif shape == "slot row":
            good.update(id=f"{slot}/config/web", type="microsoft.web/sites/slots/config")
        else:
            good["id"] = f"{live.SITE_ID}/config/webx"
        fake.site_config_rows[fake.site_config_rows.index(row)] = good

    code, results, _ = audit(estate, setup=setup)
    assert verdicts(results, "webapp_min_tls_version")[live.SITE_ID.lower()] in ("ERROR", "FAIL")
    assert code in (1, 2)


def test_a_config_row_for_a_site_not_listed_is_attached_to_no_other_site(audit: Any) -> None:
    """Resource Graph lacks the site's row and has one for a site ``resources`` did not return: the listed site is
    read per site (TLS 1.0: FAIL), the stray row is attached to nothing."""
    estate = live.with_site_min_tls(live.dev_estate(), "1.0")
    stray_site = f"{live.SITE_ID}-gone"

    def setup(fake: FakeAzure) -> None:
        row = config_row(fake)
        stray = copy.deepcopy(row)
        stray["id"] = f"{stray_site}/config/web"
        stray["properties"]["minTlsVersion"] = "1.2"
        fake.site_config_rows[fake.site_config_rows.index(row)] = stray

    code, results, fake = audit(estate, setup=setup)
    assert config_reads(fake) == [SITE_CONFIG_ID.lower()]
    assert verdicts(results, "webapp_min_tls_version") == {live.SITE_ID.lower(): "FAIL"} and code == 1


def scm_open_estate() -> Estate:
    """The SCM site's real configuration: default action Allow, one Allow rule. App Service admits every address
    that no rule matches when the default action is Allow (Microsoft Learn app-service/app-service-ip-restrictions,
    "unmatched rule action"), so the check must FAIL."""
    estate = live.dev_estate()
    properties = estate.find(SITE_CONFIG_ID)["properties"]
    properties["scmIpSecurityRestrictions"] = properties["scmIpSecurityRestrictions"][:1]
    properties["scmIpSecurityRestrictionsDefaultAction"] = "Allow"
    return estate


def test_the_scm_estate_is_open_when_read_whole(audit: Any) -> None:
    code, results, _ = audit(scm_open_estate())
    assert verdicts(results, "webapp_scm_ip_restricted") == {live.SITE_ID.lower(): "FAIL"} and code == 1


@pytest.mark.parametrize("field", ["scmIpSecurityRestrictionsDefaultAction", "minTlsVersion", "ftpsState"])
def test_a_config_row_without_a_field_the_checks_read_is_not_taken_for_the_default(audit: Any, field: str) -> None:
    """A row that lacks a field (a snapshot of another API version, a partial projection) says nothing about it.
    Without scmIpSecurityRestrictionsDefaultAction the SCM rules read as "implicit deny" and PASS, while the site
    allows every address. The site is read per site instead (its GET config/web, API 2024-04-01, carries every
    SiteConfig field: Microsoft.Web/stable/2024-04-01/CommonDefinitions.json#/definitions/SiteConfig)."""
    estate = scm_open_estate()
    estate.find(SITE_CONFIG_ID)["properties"].update(minTlsVersion="1.0", ftpsState="AllAllowed")

    def setup(fake: FakeAzure) -> None:
        del config_row(fake)["properties"][field]

    code, results, fake = audit(estate, setup=setup)
    for check in ("webapp_scm_ip_restricted", "webapp_min_tls_version", "webapp_ftps_disabled"):
        assert verdicts(results, check) == {live.SITE_ID.lower(): "FAIL"}, check
    assert config_reads(fake) == [SITE_CONFIG_ID.lower()] and code == 1


@pytest.mark.parametrize("properties", [None, "absent"])
def test_a_config_row_without_properties_is_read_per_site(audit: Any, properties: Any) -> None:
    estate = live.with_site_min_tls(live.dev_estate(), "1.0")

    def setup(fake: FakeAzure) -> None:
        row = config_row(fake)
        if properties == "absent":
            del row["properties"]
        else:
            row["properties"] = properties

    code, results, fake = audit(estate, setup=setup)
    assert verdicts(results, "webapp_min_tls_version") == {live.SITE_ID.lower(): "FAIL"} and code == 1
    assert config_reads(fake) == [SITE_CONFIG_ID.lower()]


@pytest.mark.parametrize("field", ["scmIpSecurityRestrictionsDefaultAction", "minTlsVersion", "ftpsState"])
def test_a_config_web_answer_without_a_field_the_checks_read_leaves_it_unknown(audit: Any, field: str) -> None:
    """The per-site GET is the last word: a field it does not carry is UNKNOWN (ERROR), never the default."""
    estate = scm_open_estate()
    del estate.find(SITE_CONFIG_ID)["properties"][field]
    check = {
        "scmIpSecurityRestrictionsDefaultAction": "webapp_scm_ip_restricted",
        "minTlsVersion": "webapp_min_tls_version",
        "ftpsState": "webapp_ftps_disabled",
    }[field]
    code, results, fake = audit(estate, unindexed_site_configs=[live.SITE_ID])
    assert config_reads(fake) == [SITE_CONFIG_ID.lower()]
    assert verdicts(results, check) == {live.SITE_ID.lower(): "ERROR"} and code == 2


def test_every_site_config_field_a_check_reads_is_required_of_a_live_answer() -> None:
    """Differential guard: the live source's list of required SiteConfig fields covers every siteConfig path the
    catalogue's checks read of a site (a new check reading a new field must not fall back to a default)."""
    from compliance_checks.checks import load_checks
    from compliance_checks.live.arm import SITE_CONFIG_FIELDS

    read: set[str] = set()
    for check in load_checks().values():
        for item in check.reads():
            prefix = "properties.siteconfig."
            if item.type.lower() in (
                "microsoft.web/sites",
                "microsoft.web/sites/slots",
            ) and item.path.lower().startswith(prefix):
                read.add(item.path[len(prefix) :].split(".")[0].split("[")[0].lower())
    read.discard("appsettings")  # the collector fills it from the app setting names it lists
    assert read and read <= {f.lower() for f in SITE_CONFIG_FIELDS}, read - {f.lower() for f in SITE_CONFIG_FIELDS}


# --- 2. Resource Graph paging: every way an answer can be partial --------------------------------------------------


def resource_graph_pages(rewrite: Callable[[Rewrite], None], change: Callable[[int, dict[str, Any]], None]) -> None:
    """Rewrites the ``resources`` query's pages; ``change(page number, answer)`` edits each in place."""
    pages: dict[str, int] = {}

    def edit(method: str, path: str, query: dict[str, list[str]], body: Any, answer: Answer) -> Answer:
        status, document, headers = answer
        if method == "POST" and path.lower() == RG_PATH and body["query"].startswith("resources") and status == 200:
            number = pages[body["query"]] = pages.get(body["query"], 0) + 1
            document = copy.deepcopy(document)
            change(number, document)
        return status, document, headers

    rewrite(edit)


def _token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


PAGING_CASES: dict[str, Callable[[int, dict[str, Any]], None]] = {
    # resultTruncated is required, "true" or "false" (QueryResponse, Azure/azure-rest-api-specs
    # specification/resourcegraph/resource-manager/Microsoft.ResourceGraph/stable/2022-10-01/resourcegraph.json,
    # commit c977e6dcfe8081e7fd68b2531bf3d82c112e6761). "When resultTruncated is true, the $skipToken property
    # isn't set" (Microsoft Learn governance/resource-graph/concepts/paging-results): a truncated page that also
    # carries a token is not an answer to trust, whatever the later pages say.
    "resultTruncated true with a token": lambda n, d: d.update(resultTruncated="true") if n == 1 else None,
    "resultTruncated true (boolean) on the last page": lambda n, d: (
        d.update(resultTruncated=True) if "$skipToken" not in d else None
    ),
    "resultTruncated missing": lambda n, d: d.pop("resultTruncated"),
    "resultTruncated not an enum value": lambda n, d: d.update(resultTruncated="partial"),
    # The same $skipToken twice, after another one in between: A, B, A.
    "skipToken A B A": lambda n, d: d.update({"$skipToken": _token(5 if n == 2 else 0)}) if n <= 3 else None,
    # totalRecords larger than the rows received, with no token on the last page.
    "totalRecords above the rows": lambda n, d: d.update(totalRecords=d["totalRecords"] + 3),
    # count that is not the page's rows.
    "count below the rows": lambda n, d: d.update(count=d["count"] - 1),
    "count a string": lambda n, d: d.update(count=str(d["count"])),
    # The last page still carries a token; what it leads to repeats rows already received.
    "last page with a token to more rows": lambda n, d: (
        d.update({"$skipToken": _token(0)}) if "$skipToken" not in d and n < 6 else None
    ),
    # Rows beyond totalRecords arrive on a middle page (more rows than the service says match).
    "totalRecords below the rows": lambda n, d: d.update(totalRecords=d["totalRecords"] - 2),
}


@pytest.mark.parametrize("case", sorted(PAGING_CASES))
def test_a_partial_resource_graph_answer_is_a_gap_for_every_arm_check(
    audit: Any, rewrite: Callable[[Rewrite], None], case: str
) -> None:
    resource_graph_pages(rewrite, PAGING_CASES[case])
    code, results, _ = audit(live.dev_estate(), rg_page_cap=5)
    assert code == 2, gap_reasons(results)
    gaps = results["run"]["collection"]["gaps"]
    assert ["*"] in [g["types"] for g in gaps], gaps
    for check in ("webapp_min_tls_version", "postgres_no_firewall_rules", "diagnostic_settings_enabled"):
        assert set(verdicts(results, check).values()) == {"ERROR"}, (check, verdicts(results, check))
    # Nothing read because of the rows of the failed query survives it.
    assert not [
        f for f in results["findings"] if f["verdict"] == "PASS" and f["resourceId"].startswith("/subscriptions")
    ]


# --- 3. per-resource reads: failures, answers for another resource, next links ------------------------------------


def test_reads_started_from_early_pages_are_dropped_when_a_later_page_fails(
    audit: Any, rewrite: Callable[[Rewrite], None]
) -> None:
    """docs/live-audit.md: the per-resource reads of a page start while the next page is on its way, "though nothing
    they return is kept unless the whole query ends well". The last ``resources`` page fails for good (503, retried
    at once by Retry-After 0): the reads of the earlier pages were made, and no ARM check may PASS on them."""

    def last_page_fails(method: str, path: str, query: dict[str, list[str]], body: Any, answer: Answer) -> Answer:
        token = (body or {}).get("options", {}).get("$skipToken") if isinstance(body, dict) else None
        if path.lower() == RG_PATH and body["query"].startswith("resources") and token == _token(15):
            return 503, {"error": {"code": "ServiceUnavailable", "message": "try later"}}, {"Retry-After": "0"}
        return answer

    rewrite(last_page_fails)
    code, results, fake = audit(live.dev_estate(), rg_page_cap=5)  # 17 rows: pages at 0, 5, 10, 15
    started = [r for r in fake.requests if r.path.lower().endswith(("/firewallrules", "/diagnosticsettings"))]
    assert started, "the early pages' per-resource reads should have started"
    assert code == 2
    assert any("503" in r for r in gap_reasons(results)), gap_reasons(results)
    arm_passes = [
        f for f in results["findings"] if f["verdict"] == "PASS" and f["resourceId"].startswith("/subscriptions")
    ]
    assert arm_passes == []
    for check in ("postgres_no_firewall_rules", "diagnostic_settings_enabled", "webapp_min_tls_version"):
        assert set(verdicts(results, check).values()) == {"ERROR"}, (check, verdicts(results, check))


PER_RESOURCE_CASES = [
    # (fault pattern, kind, checks that must be ERROR for the resource)
    ("GET .*/config/authsettingsV2$", "not-found", {"webapp_easy_auth_disabled"}),
    ("GET .*/config/authsettingsV2$", "forbidden", {"webapp_easy_auth_disabled"}),
    ("GET .*/hostNameBindings$", "throttle", {"webapp_custom_domain_sni"}),
    ("GET .*/basicPublishingCredentialsPolicies$", "error503", {"webapp_basic_auth_disabled"}),
    ("GET .*/firewallRules$", "error500", {"postgres_no_firewall_rules"}),
    ("GET .*/configurations$", "not-found", {"postgres_require_secure_transport"}),
    ("GET .*/diagnosticSettings$", "throttle", {"diagnostic_settings_enabled"}),
]


@pytest.mark.parametrize(
    ("pattern", "kind", "checks"), PER_RESOURCE_CASES, ids=[f"{c[1]} {c[0]}" for c in PER_RESOURCE_CASES]
)
def test_a_per_resource_read_that_fails_is_never_a_pass(
    audit: Any, rewrite: Callable[[Rewrite], None], pattern: str, kind: str, checks: set[str]
) -> None:
    """404 (deleted between the list and the read), 403, 429 with Retry-After that does not end, 5xx."""
    faults = []
    if kind == "not-found":
        # The resource is gone: ARM answers 404 ResourceNotFound for it and everything under it.
        import re

        def gone(method: str, path: str, query: dict[str, list[str]], body: Any, answer: Answer) -> Answer:
            if re.search(pattern, f"{method} {path}", re.IGNORECASE):
                return (
                    404,
                    {"error": {"code": "ResourceNotFound", "message": f"The Resource '{path}' was not found."}},
                    {},
                )
            return answer

        rewrite(gone)
    else:
        faults = [Fault(pattern, kind, times=None, retry_after="0")]  # type: ignore[arg-type]
    code, results, _ = audit(live.dev_estate(), faults=faults)
    assert code == 2
    for check in checks:
        assert "PASS" not in set(verdicts(results, check).values()), (check, verdicts(results, check))
        assert "ERROR" in set(verdicts(results, check).values()), (check, verdicts(results, check))


def test_a_list_that_answers_with_another_resources_children_is_a_gap(
    audit: Any, rewrite: Callable[[Rewrite], None]
) -> None:
    """Server B's firewall rules answered with IDs under server A: A would gain a rule and B, whose rule it is,
    would PASS with none. An item that is not under the resource read is not that resource's."""
    estate = live.realistic_estate(2 * 17)
    first, second = sorted(
        k for k, b in estate.arm.items() if str(b["type"]).lower() == "microsoft.dbforpostgresql/flexibleservers"
    )
    rule = live.firewall_rule(second, "allow-office", "203.0.113.10", "203.0.113.10")
    estate.arm[rule["id"]] = rule

    def misplaced(method: str, path: str, query: dict[str, list[str]], body: Any, answer: Answer) -> Answer:
        status, document, headers = answer
        if path.lower() == f"{second}/firewallRules".lower() and status == 200:
            document = copy.deepcopy(document)
            for item in document["value"]:
                item["id"] = item["id"].replace(second, first)
        return status, document, headers

    rewrite(misplaced)
    code, results, _ = audit(estate)
    found = verdicts(results, "postgres_no_firewall_rules")
    assert found.get(second.lower()) != "PASS", found
    assert code == 2 and any("not under" in r for r in gap_reasons(results)), gap_reasons(results)


def test_a_next_link_to_another_host_never_gets_the_token(pem: tuple[Path, Path, Path]) -> None:
    """A second stand-in plays the other host: it must see no request at all (the token would be in it)."""
    ca, cert, key = pem
    estate = live.dev_estate()
    with FakeAzure(estate, cert, key) as other, FakeAzure(estate, cert, key, page_size=1) as fake:
        fake.link_base = other.url
        settings = LiveSettings(
            (live.SUBSCRIPTION_ID,),
            arm_endpoint=fake.url,
            graph_endpoint=fake.url,
            arm_scope="https://management.example/.default",
            graph_scope="https://graph.example/.default",
            ca_bundle=ca,
            backoff_factor=0.01,
            retries=1,
            deadline=20.0,
        )
        collection = Collector(settings, StaticToken(TOKEN)).collect()
    assert other.requests == []
    assert any("points outside" in g.reason for g in collection.gaps)
    inventory = load_live(collection)
    assert inventory.gaps  # and every list that was cut short is a gap, not a shorter list


# --- 4. role assignments above and below the subscription; Graph paging loops -------------------------------------

MANAGEMENT_GROUP = "/providers/Microsoft.Management/managementGroups/mg-smartde"


def with_extra_assignments(rewrite: Callable[[Rewrite], None], extra: list[dict[str, Any]]) -> None:
    """The subscription's role assignment list also returns ``extra`` (on its first page), as Azure lists the
    assignments that apply to the subscription (RoleAssignments_ListForSubscription, "List all role assignments
    that apply to a subscription", Azure/azure-rest-api-specs specification/authorization/resource-manager/
    Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json, commit
    65ee5e20b40a1cdce2af21ef7605ee4de10dd78f)."""

    def add(method: str, path: str, query: dict[str, list[str]], body: Any, answer: Answer) -> Answer:
        status, document, headers = answer
        if path.lower().endswith("/providers/microsoft.authorization/roleassignments") and "$skiptoken" not in query:
            document = {**document, "value": [*document["value"], *extra]}
        return status, document, headers

    rewrite(add)


def test_an_assignment_above_the_subscription_is_judged(audit: Any, rewrite: Callable[[Rewrite], None]) -> None:
    owner = live.role_assignment(
        MANAGEMENT_GROUP,
        "6d9f4b1e-3a52-4f0e-9a41-0b6e2c7d8f10",
        well_known.role_id("Owner"),
        live.GROUP_ID,
        principal_type="Group",
        description="inherited from the management group",
    )
    with_extra_assignments(rewrite, [owner])
    code, results, fake = audit(live.dev_estate())
    assert verdicts(results, "rbac_developers_least_privilege")[owner["id"].lower()] == "FAIL" and code == 1
    listed = [r for r in fake.requests if r.path.lower().endswith("/roleassignments")]
    # No $filter: atScope() would leave out the assignments below the subscription ($filter description, same file).
    assert listed and all("$filter" not in r.query for r in listed)


def test_an_assignment_below_the_subscription_is_judged(audit: Any, rewrite: Callable[[Rewrite], None]) -> None:
    contributor = live.role_assignment(
        live.SITE_ID,
        "0f2b7c4d-9e1a-4b3c-8d5e-6f7a8b9c0d1e",
        well_known.role_id("Website Contributor"),
        live.GROUP_ID,
        principal_type="Group",
        description="on the site itself",
    )
    with_extra_assignments(rewrite, [contributor])
    code, results, _ = audit(live.dev_estate())
    assert verdicts(results, "rbac_developers_least_privilege")[contributor["id"].lower()] == "FAIL" and code == 1


@pytest.mark.parametrize(
    ("pattern", "check"),
    [
        ("GET .*/providers/Microsoft.Authorization/roleAssignments$", "rbac_developers_least_privilege"),
        ("GET /v1.0/identity/conditionalAccess/policies$", "entra_ca_mfa_for_developers"),
        ("GET /v1.0/groups/[^/]+/members$", "entra_ca_mfa_for_developers"),
        ("GET .*/firewallRules$", "postgres_no_firewall_rules"),
        ("GET .*/hostNameBindings$", "webapp_custom_domain_sni"),
    ],
    ids=["role assignments", "CA policies", "group members", "firewall rules", "host name bindings"],
)
def test_a_looping_next_link_is_a_gap_and_an_error(audit: Any, pattern: str, check: str) -> None:
    code, results, _ = audit(live.dev_estate(), faults=[Fault(pattern, "loop", times=None)], page_size=1)
    assert code == 2 and any("paging loop" in r for r in gap_reasons(results)), gap_reasons(results)
    assert "ERROR" in set(verdicts(results, check).values()) and "PASS" not in set(verdicts(results, check).values())


def test_unknown_is_what_an_unread_config_field_becomes() -> None:
    """Unit guard for the normaliser: a config/web answer without the field -> UNKNOWN, with it -> the value."""
    from compliance_checks.live.collect import Collection

    site = _graph_row(copy.deepcopy(live.site()))
    config = copy.deepcopy(live.site_config_web())
    del config["properties"]["ftpsState"]
    collection = Collection((live.SUBSCRIPTION_ID,), arm=[site, config])
    [resource] = load_live(collection).of_type("Microsoft.Web/sites")
    assert resource.get("properties.siteConfig.ftpsState") is UNKNOWN
    assert resource.get("properties.siteConfig.minTlsVersion") == "1.2"


# --- deployment slots: what the collector does not read is a gap, never "none" -----------------------------------


def test_a_slots_unread_bindings_policies_and_auth_settings_are_errors_not_absent(audit: Any) -> None:
    """The collector reads no slot's children (config/web, authsettingsV2, hostNameBindings, publishing policies).
    A slot (a ``microsoft.web/sites/slots`` row of the ``resources`` table, shaped on the site's row) must then be
    ERROR for every check that judges those children: "no custom domain bound" (NOT_APPLICABLE) or "Easy Auth not
    declared" (FAIL) would be claims about data never read."""
    estate = live.dev_estate()
    slot = _graph_row(copy.deepcopy(estate.find(live.SITE_ID)))
    slot.update(id=f"{live.SITE_ID}/slots/staging", name=f"{live.SITE_NAME}/staging", type="microsoft.web/sites/slots")
    code, results, fake = audit(estate, extra_rows=[slot])
    assert code == 2
    assert not [r for r in fake.requests if "/slots/" in r.path.lower()]  # none of its children was read
    for check in (
        "webapp_custom_domain_sni",
        "webapp_easy_auth_disabled",
        "webapp_basic_auth_disabled",
        "webapp_min_tls_version",
        "webapp_scm_ip_restricted",
        "webapp_no_application_insights",
    ):
        found = {f["verdict"] for f in results["findings"] if f["checkId"] == check}
        assert "ERROR" in found and found <= {"ERROR", "PASS"}, (check, found)
        slot_verdicts = {
            f["verdict"] for f in results["findings"] if f["checkId"] == check and "/slots/" in f["resourceId"].lower()
        }
        assert slot_verdicts <= {"ERROR"}, (check, slot_verdicts)
