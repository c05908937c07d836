"""The live collector against the local ARM / Resource Graph / Graph stand-in: paging, retries, faults, read-only.

Every fault ends in either the correct inventory (after a retry) or a gap
that names what could not be read; never in data silently missing. Each
test's wall time is bounded by the settings it runs with.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.inventory import UNKNOWN, IncompleteInventory, Inventory
from compliance_checks.live.collect import Collection, Collector
from compliance_checks.live.rest import CollectionError, RestClient, Stats
from compliance_checks.live.settings import LiveSettings
from compliance_checks.sources.live import load_live
from tests.live import estate as live
from tests.live.credential import StaticToken
from tests.live.estate import plain_virtual_network, resource_group
from tests.live.model import Estate
from tests.live.server import FakeAzure, Fault
from tests.support.pki import server_pem

SUB = "11111111-2222-3333-4444-555555555555"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-test"
SERVER = f"{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-test"


def small_estate(vnets: int = 5, configurations: int = 7) -> Estate:
    estate = Estate(SUB, "00000000-0000-0000-0000-000000000001")
    estate.arm[RG] = resource_group(RG, tags=None)
    for n in range(vnets):
        vnet = plain_virtual_network(RG, n, with_subnet=True)
        estate.arm[vnet["id"]] = vnet
    estate.arm[SERVER] = {
        "id": SERVER,
        "name": "psql-test",
        "type": "Microsoft.DBforPostgreSQL/flexibleServers",
        "location": "germanywestcentral",
        "properties": {"network": {"publicNetworkAccess": "Disabled"}, "state": "Ready"},
    }
    for n in range(configurations):
        cid = f"{SERVER}/configurations/setting_{n}"
        estate.arm[cid] = {
            "id": cid,
            "name": f"setting_{n}",
            "type": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
            "properties": {"value": "on", "source": "system-default"},
        }
    return estate


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return server_pem(tmp_path_factory.mktemp("pki"))


def settings_for(fake: FakeAzure, ca: Path, **overrides: Any) -> LiveSettings:
    base: dict[str, Any] = {
        "subscriptions": (SUB,),
        "arm_endpoint": fake.url,
        "graph_endpoint": fake.url,
        "arm_scope": "https://management.example/.default",
        "graph_scope": "https://graph.example/.default",
        "ca_bundle": ca,
        "backoff_factor": 0.01,
        "max_retry_after": 0.2,
        "read_timeout": 2.0,
        "operation_timeout": 10.0,
        "deadline": 30.0,
    }
    return LiveSettings(**(base | overrides))


def collect(
    estate: Estate, pem: tuple[Path, Path, Path], *, faults: list[Fault] | None = None, **options: Any
) -> tuple[Collection, FakeAzure]:
    ca, cert, key = pem
    server_options = {
        k: options.pop(k)
        for k in (
            "page_size",
            "quota",
            "latency",
            "graph_page_size",
            "ignore_graph_query",
            "rg_page_cap",
            "unindexed_site_configs",
        )
        if k in options
    }
    with FakeAzure(estate, cert, key, faults=faults or [], **server_options) as fake:
        collection = Collector(settings_for(fake, ca, **options), StaticToken()).collect()
    return collection, fake


def ids(inventory: Inventory, kind: str) -> list[str]:
    return sorted(r.id for r in inventory.of_type(kind))


# --- paging -----------------------------------------------------------------------------------------------------


def test_resource_graph_pages_with_skip_token_and_the_service_lists_with_next_link(
    pem: tuple[Path, Path, Path],
) -> None:
    collection, fake = collect(small_estate(vnets=2_500, configurations=7), pem, page_size=3)
    inventory = load_live(collection)
    assert collection.gaps == []
    assert len(inventory.of_type("Microsoft.Network/virtualNetworks")) == 2_500
    assert len(inventory.of_type("Microsoft.Network/virtualNetworks/subnets")) == 2_500  # split out of their VNets
    posts = [r for r in fake.requests if isinstance(r.body, dict) and r.body["query"].startswith("resources")]
    assert len(posts) == 3  # 2,501 rows in pages of 1,000
    assert [p.body["options"]["$top"] for p in posts] == [1000, 1000, 1000]
    assert "$skipToken" not in posts[0].body["options"] and posts[1].body["options"]["$skipToken"]
    config_pages = [r for r in fake.requests if r.path.endswith("/configurations")]
    assert len(config_pages) == 3  # 7 configurations in pages of 3, following nextLink
    assert len(ids(inventory, "Microsoft.DBforPostgreSQL/flexibleServers/configurations")) == 7
    assert inventory.of_type("Microsoft.Network/virtualNetworks")[0].type == "Microsoft.Network/virtualNetworks"


def test_findings_carry_the_source_and_the_time_of_reading(pem: tuple[Path, Path, Path]) -> None:
    collection, _ = collect(small_estate(), pem)
    server = load_live(collection).of_type("Microsoft.DBforPostgreSQL/flexibleServers")[0]
    assert server.source == "live"
    assert server.observed_at.endswith("Z") and server.observed_at[:4].isdigit()


def test_credential_scopes_are_the_configured_ones(pem: tuple[Path, Path, Path]) -> None:
    ca, cert, key = pem
    token = StaticToken()
    with FakeAzure(small_estate(), cert, key) as fake:
        Collector(settings_for(fake, ca), token).collect()
    assert {s for scopes in token.scopes for s in scopes} == {
        "https://management.example/.default",
        "https://graph.example/.default",
    }
    assert all(r.status != 401 for r in fake.requests)  # every request carried the bearer token


# --- faults: retried to the right answer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [
        ("GET .*/configurations$", "throttle"),
        ("POST /providers/Microsoft.ResourceGraph/resources", "throttle-no-retry-after"),
        ("GET .*/configurations$", "error500"),
        ("POST /providers/Microsoft.ResourceGraph/resources", "error503"),
        ("GET .*/firewallRules$", "reset"),
        ("GET .*/configurations$", "truncate"),
        ("GET .*/roleAssignments$", "slow"),
    ],
)
def test_a_transient_fault_is_retried_to_the_correct_result(
    pem: tuple[Path, Path, Path], pattern: str, kind: str
) -> None:
    fault = Fault(pattern, kind, times=1, delay=3.0)  # type: ignore[arg-type]
    started = time.monotonic()
    collection, fake = collect(small_estate(), pem, faults=[fault], read_timeout=0.5)
    assert fault.hits == 1
    assert collection.gaps == []
    inventory = load_live(collection)
    assert len(ids(inventory, "Microsoft.DBforPostgreSQL/flexibleServers/configurations")) == 7
    assert len(ids(inventory, "Microsoft.Network/virtualNetworks")) == 5
    hits = [
        r
        for r in fake.requests
        if f"{r.method} {r.path}".endswith(pattern.split(" ", 1)[1].strip("$").replace(".*", ""))
    ]
    assert len(hits) >= 2  # the failed attempt and the retry
    assert time.monotonic() - started < 10


def test_retry_after_is_honoured_but_capped(pem: tuple[Path, Path, Path]) -> None:
    fault = Fault("GET .*/configurations$", "throttle", times=1, retry_after="3600")
    started = time.monotonic()
    collection, _ = collect(small_estate(), pem, faults=[fault], max_retry_after=0.3)
    assert collection.gaps == [] and fault.hits == 1
    assert time.monotonic() - started < 5


# --- faults that persist: a gap, bounded time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("throttle-no-retry-after", "HTTP 429 TooManyRequests"),
        ("error503", "HTTP 503"),
        ("malformed", "malformed JSON"),
        ("loop", "paging loop"),
        ("forbidden", "HTTP 403 AuthorizationFailed"),
        ("slow", "ServiceResponseTimeoutError"),
        ("reset", "ServiceResponseError"),
    ],
)
def test_a_persistent_fault_on_one_list_is_a_gap_for_exactly_that_type(
    pem: tuple[Path, Path, Path], kind: str, reason: str
) -> None:
    fault = Fault("GET .*/configurations$", kind, times=None, delay=2.0)  # type: ignore[arg-type]
    started = time.monotonic()
    collection, _ = collect(small_estate(), pem, faults=[fault], page_size=3, read_timeout=0.3, retries=2)
    assert time.monotonic() - started < 15
    assert [g.types for g in collection.gaps] == [("Microsoft.DBforPostgreSQL/flexibleServers/configurations",)]
    gap = collection.gaps[0]
    assert gap.scope == SERVER and reason in gap.reason, gap.reason
    inventory = load_live(collection)
    with pytest.raises(IncompleteInventory, match="configurations"):
        inventory.of_type("Microsoft.DBforPostgreSQL/flexibleServers/configurations")
    with pytest.raises(IncompleteInventory):  # a parameter the check looks up is unread, not absent
        inventory.get(f"{SERVER}/configurations/require_secure_transport")
    assert len(inventory.of_type("Microsoft.Network/virtualNetworks")) == 5  # the rest is intact


def test_a_resource_graph_skip_token_loop_leaves_every_arm_type_unread(pem: tuple[Path, Path, Path]) -> None:
    fault = Fault("POST /providers/Microsoft.ResourceGraph/resources", "loop", times=None)
    collection, _ = collect(small_estate(vnets=1_200), pem, faults=[fault])
    located = [g for g in collection.gaps if g.located]
    assert any("$skipToken repeats" in g.reason for g in located)
    inventory = load_live(collection)
    with pytest.raises(IncompleteInventory):
        inventory.all()
    with pytest.raises(IncompleteInventory):
        inventory.of_type("Microsoft.Web/sites")
    inventory.of_type("Microsoft.Graph/conditionalAccessPolicies")  # Graph was read


def test_the_deadline_bounds_the_whole_collection(pem: tuple[Path, Path, Path]) -> None:
    fault = Fault("GET .*/configurations$", "slow", times=None, delay=3.0)
    started = time.monotonic()
    collection, _ = collect(small_estate(), pem, faults=[fault], deadline=1.0, read_timeout=5.0)
    assert time.monotonic() - started < 8  # the server thread finishes its sleep; the collector does not wait
    assert any("deadline" in g.reason for g in collection.gaps)


def test_resource_graph_quota_headers_make_the_collector_wait_not_fail(pem: tuple[Path, Path, Path]) -> None:
    # quota=1: every answer says no quota remains, so the resources query (4 pages) waits before each next page
    # whatever order its pages and the concurrent appserviceresources query reach the stand-in (with a larger
    # quota the shared counter could run out on a query's last page only: a wait the run never needs).
    collection, fake = collect(small_estate(vnets=3_500), pem, quota=1)
    assert collection.gaps == []
    assert collection.stats.throttled_waits > 0
    assert not [r for r in fake.requests if r.status == 429]


# --- read-only ---------------------------------------------------------------------------------------------------


def test_the_collector_only_reads(pem: tuple[Path, Path, Path]) -> None:
    _, fake = collect(small_estate(), pem)
    assert fake.requests and fake.writes() == []
    assert {r.method for r in fake.requests} <= {"GET", "POST"}


def test_a_write_is_refused_before_it_leaves_the_process(pem: tuple[Path, Path, Path]) -> None:
    ca, cert, key = pem
    with FakeAzure(small_estate(), cert, key) as fake:
        settings = settings_for(fake, ca)
        rest = RestClient(
            "arm", fake.url, scope=settings.arm_scope, credential=StaticToken(), settings=settings, stats=Stats()
        )
        try:
            for method, path in [("PUT", SERVER), ("DELETE", SERVER), ("PATCH", SERVER), ("POST", f"{SERVER}/restart")]:
                with pytest.raises(CollectionError, match="only reads"):
                    rest.send(method, path, params={"api-version": "2024-08-01"}, body={})
        finally:
            rest.close()
    assert fake.requests == []


def test_a_next_link_to_another_host_is_not_followed(pem: tuple[Path, Path, Path]) -> None:
    ca, cert, key = pem
    with FakeAzure(small_estate(), cert, key, page_size=3) as fake:
        settings = settings_for(fake, ca)
        rest = RestClient(
            "arm", fake.url, scope=settings.arm_scope, credential=StaticToken(), settings=settings, stats=Stats()
        )
        try:
            other = fake.url.replace("127.0.0.1", "localhost")
            pages = rest.pages(f"{SERVER}/configurations", {"api-version": "2024-08-01"})
            rest.base_url = other  # the first page's link now points at a different origin
            with pytest.raises(CollectionError, match="outside"):
                list(pages)
        finally:
            rest.close()


def test_settings_reject_plain_http_and_bad_subscriptions(tmp_path: Path) -> None:
    from compliance_checks.errors import UsageError

    with pytest.raises(UsageError, match="https"):
        LiveSettings((SUB,), arm_endpoint="http://127.0.0.1:1").validate()
    with pytest.raises(UsageError, match="GUID"):
        LiveSettings(("not-a-subscription",)).validate()
    with pytest.raises(UsageError, match="at least one"):
        LiveSettings(()).validate()
    with pytest.raises(UsageError, match="no such file"):
        LiveSettings((SUB,), ca_bundle=tmp_path / "missing.pem").validate()


def test_groups_are_a_gap_when_the_policies_naming_them_are_unread(pem: tuple[Path, Path, Path]) -> None:
    fault = Fault("GET /v1.0/identity/conditionalAccess/policies", "forbidden", times=None)
    collection, fake = collect(small_estate(), pem, faults=[fault])
    covered = {t for g in collection.gaps for t in g.types}
    assert covered == {"Microsoft.Graph/conditionalAccessPolicies", "Microsoft.Graph/groups"}
    assert not [r for r in fake.requests if r.path.startswith("/v1.0/groups")]
    with pytest.raises(IncompleteInventory, match="not known which to read"):
        load_live(collection).of_type("Microsoft.Graph/groups")


def test_options_win_over_the_environment_which_wins_over_the_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    from compliance_checks.cli import build_parser
    from compliance_checks.live.audit import settings_from_args
    from compliance_checks.live.credentials import make_credential

    monkeypatch.setenv("COMPLIANCE_ARM_ENDPOINT", "https://arm.env.example")
    monkeypatch.setenv("COMPLIANCE_GRAPH_ENDPOINT", "https://graph.env.example")
    argv = ["audit", "--source", "live", "--subscription", SUB, "--cloud", "AzureChinaCloud"]
    args = build_parser().parse_args([*argv, "--graph-endpoint", "https://graph.cli.example", "--concurrency", "4"])
    settings = settings_from_args(args)
    assert settings.arm_endpoint == "https://arm.env.example"
    assert settings.arm_scope == "https://arm.env.example/.default"
    assert settings.graph_endpoint == "https://graph.cli.example"
    assert settings.graph_scope == "https://graph.cli.example/.default"
    assert settings.authority_host == "https://login.chinacloudapi.cn"
    assert settings.concurrency == 4
    monkeypatch.delenv("COMPLIANCE_ARM_ENDPOINT")
    monkeypatch.delenv("COMPLIANCE_GRAPH_ENDPOINT")
    public = settings_from_args(build_parser().parse_args(["audit", "--source", "live", "--subscription", SUB]))
    assert (public.arm_scope, public.graph_scope) == (
        "https://management.azure.com/.default",
        "https://graph.microsoft.com/.default",
    )
    assert type(make_credential(public)).__name__ == "DefaultAzureCredential"


def test_a_row_without_readable_properties_is_unknown_not_empty() -> None:
    collection = Collection((SUB,))
    collection.arm.append(
        {"id": SERVER, "name": "psql-test", "type": "microsoft.dbforpostgresql/flexibleservers", "properties": None}
    )
    server = load_live(collection).of_type("Microsoft.DBforPostgreSQL/flexibleServers")[0]
    assert server.get("properties.network.publicNetworkAccess") is UNKNOWN


# --- the VPN audience: service principals and who is assigned ---------------------------------------------------

AUDIENCE_TYPES = ["Microsoft.Graph/servicePrincipals", "Microsoft.Graph/appRoleAssignments"]


def collect_dev(estate: Estate, pem: tuple[Path, Path, Path], **options: Any) -> tuple[Collection, FakeAzure]:
    return collect(estate, pem, subscriptions=(live.SUBSCRIPTION_ID,), **options)


def audience_reads(fake: FakeAzure) -> list[Any]:
    return [r for r in fake.requests if r.path.startswith("/v1.0/servicePrincipals")]


def with_assignments(count: int) -> Estate:
    """The dev estate with ``count`` more groups assigned to the VPN app (paging material)."""
    estate = live.dev_estate()
    for n in range(count):
        group = f"00000000-0000-4000-8000-{n:012d}"
        assignment = live.app_role_assignment(
            f"assignment-{n:03d}", group, "Group", f"group {n}", resource_id=live.VPN_PRINCIPAL_ID
        )
        estate.graph[f"servicePrincipals/{live.VPN_PRINCIPAL_ID}/appRoleAssignedTo/{assignment['id']}"] = assignment
    return estate


def test_the_audiences_principal_is_found_by_filter_and_its_assignments_follow_every_page(
    pem: tuple[Path, Path, Path],
) -> None:
    collection, fake = collect_dev(with_assignments(6), pem, graph_page_size=2)
    assert collection.gaps == []
    lists = [r for r in audience_reads(fake) if r.path == "/v1.0/servicePrincipals"]
    assert [r.query["$filter"] for r in lists] == [[f"appId eq '{live.VPN_CLIENT_ID}'"]]
    pages = [r for r in audience_reads(fake) if r.path.endswith("/appRoleAssignedTo")]
    assert len(pages) == 4  # 7 assignments in pages of 2, following @odata.nextLink
    assert all(r.path == f"/v1.0/servicePrincipals/{live.VPN_PRINCIPAL_ID}/appRoleAssignedTo" for r in pages)
    assert "$skiptoken" not in pages[0].query and all("$skiptoken" in r.query for r in pages[1:])
    assert all(r.query["$select"] == ["id,appRoleId,principalId,principalType,resourceId"] for r in pages)
    inventory = load_live(collection)
    [principal] = inventory.of_type("Microsoft.Graph/servicePrincipals")
    assert principal.id == f"graph:/servicePrincipals/{live.VPN_PRINCIPAL_ID}"
    assert principal.body == {
        "id": live.VPN_PRINCIPAL_ID,
        "appId": live.VPN_CLIENT_ID,
        "appRoleAssignmentRequired": True,
        "accountEnabled": True,
        "displayName": live.VPN_APP_NAME,
    }
    assignments = inventory.of_type("Microsoft.Graph/appRoleAssignments")
    assert len(assignments) == 7
    mine = inventory.get(f"graph:/appRoleAssignments/{live.VPN_ASSIGNMENT_ID}")
    assert mine is not None and mine.body == {
        "id": live.VPN_ASSIGNMENT_ID,
        "appRoleId": "00000000-0000-0000-0000-000000000000",
        "principalId": live.GROUP_ID,
        "principalType": "Group",
        "resourceId": live.VPN_PRINCIPAL_ID,
    }


def test_the_live_shape_is_the_synth_shape(pem: tuple[Path, Path, Path]) -> None:
    from compliance_checks.sources.synth import inventory_from_synthesis
    from tests.conftest import synth_cached

    desired = inventory_from_synthesis(synth_cached("dev"))
    inventory = load_live(collect_dev(live.dev_estate(), pem)[0])
    for kind in AUDIENCE_TYPES:
        [synth], [read] = desired.of_type(kind), inventory.of_type(kind)
        assert synth.id == read.id
        assert {k: v for k, v in read.body.items() if k in synth.body} == synth.body
        assert set(read.body) - set(synth.body) <= {"displayName"}


def test_what_graph_answers_beyond_the_selected_fields_is_never_kept(pem: tuple[Path, Path, Path]) -> None:
    """Graph may ignore $filter and $select: other apps' principals are dropped, and no user's name is kept."""
    estate = live.with_user_assigned(live.dev_estate())
    other = live.service_principal(
        "0a0a0a0a-0000-4000-8000-000000000001",
        live.MICROSOFT_VPN_CLIENT_APP_ID,
        "Azure VPN Client",
        assignment_required=False,
        owner_tenant=None,
        scopes=[],
        names=[],
    )
    estate.graph[f"servicePrincipals/{other['id']}"] = other
    collection, fake = collect_dev(estate, pem, ignore_graph_query=True)
    assert collection.gaps == []
    assert not [r for r in audience_reads(fake) if other["id"] in r.path]  # its assignments are not read either
    text = repr(collection.graph)
    assert "principalDisplayName" not in text and live.DEVELOPERS[0]["displayName"] not in text
    assert "resourceDisplayName" not in text and "servicePrincipalNames" not in text
    inventory = load_live(collection)
    assert [p.get("appId") for p in inventory.of_type("Microsoft.Graph/servicePrincipals")] == [live.VPN_CLIENT_ID]
    kinds = sorted(a.get("principalType") for a in inventory.of_type("Microsoft.Graph/appRoleAssignments"))
    assert kinds == ["Group", "User"]


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [
        ("GET /v1.0/servicePrincipals$", "forbidden"),
        ("GET /v1.0/servicePrincipals/.*/appRoleAssignedTo$", "forbidden"),
        ("GET /v1.0/servicePrincipals/.*/appRoleAssignedTo$", "loop"),
        ("GET /v1.0/servicePrincipals$", "malformed"),
    ],
)
def test_a_failed_audience_read_is_a_gap_for_exactly_principals_and_assignments(
    pem: tuple[Path, Path, Path], pattern: str, kind: str
) -> None:
    fault = Fault(pattern, kind, times=None)  # type: ignore[arg-type]
    collection, _ = collect_dev(with_assignments(4), pem, faults=[fault], retries=1)
    assert fault.hits > 0
    [gap] = collection.gaps
    assert list(gap.types) == AUDIENCE_TYPES
    assert gap.scope == f"graph:/servicePrincipals?$filter=appId eq '{live.VPN_CLIENT_ID}'"
    inventory = load_live(collection)
    for kind_ in AUDIENCE_TYPES:
        with pytest.raises(IncompleteInventory, match="servicePrincipals"):
            inventory.of_type(kind_)
    policies = [k for k in live.dev_estate().graph if k.startswith("identity/conditionalAccess/policies/")]
    assert len(inventory.of_type("Microsoft.Graph/conditionalAccessPolicies")) == len(policies)  # the rest is intact
    assert len(inventory.of_type("Microsoft.Graph/groups")) == 1


def test_a_403_on_service_principals_reads_no_assignment(pem: tuple[Path, Path, Path]) -> None:
    fault = Fault("GET /v1.0/servicePrincipals$", "forbidden", times=None)
    collection, fake = collect_dev(live.dev_estate(), pem, faults=[fault])
    [gap] = collection.gaps
    assert "HTTP 403 AuthorizationFailed" in gap.reason
    assert not [r for r in audience_reads(fake) if r.path.endswith("/appRoleAssignedTo")]


def test_an_unreadable_gateway_leaves_the_audience_unknown_never_empty(pem: tuple[Path, Path, Path]) -> None:
    fault = Fault("POST /providers/Microsoft.ResourceGraph/resources", "error500", times=None)
    collection, fake = collect_dev(live.dev_estate(), pem, faults=[fault], retries=1)
    audience_gaps = [g for g in collection.gaps if g.covers("Microsoft.Graph/servicePrincipals")]
    [gap] = audience_gaps
    assert list(gap.types) == AUDIENCE_TYPES and gap.reason.startswith("VPN audience unknown: HTTP 500")
    assert audience_reads(fake) == []
    with pytest.raises(IncompleteInventory, match="VPN audience unknown"):
        load_live(collection).of_type("Microsoft.Graph/appRoleAssignments")


@pytest.mark.parametrize(
    "client_configuration",
    [
        {"vpnAuthenticationTypes": ["AAD"], "aadTenant": "https://login.microsoftonline.com/x/"},  # no audience
        {"vpnAuthenticationTypes": ["AAD"], "aadAudience": ""},
        "not an object",
    ],
    ids=["no aadAudience", "empty aadAudience", "malformed"],
)
def test_an_entra_gateway_without_a_readable_audience_is_a_gap(
    pem: tuple[Path, Path, Path], client_configuration: Any
) -> None:
    estate = live.dev_estate()
    estate.arm[live.GATEWAY_ID]["properties"]["vpnClientConfiguration"] = client_configuration
    collection, fake = collect_dev(estate, pem)
    [gap] = collection.gaps
    assert list(gap.types) == AUDIENCE_TYPES and gap.scope == live.GATEWAY_ID
    assert audience_reads(fake) == []


def test_an_audience_that_is_not_an_application_id_is_not_put_into_a_filter(pem: tuple[Path, Path, Path]) -> None:
    estate = live.dev_estate()
    estate.arm[live.GATEWAY_ID]["properties"]["vpnClientConfiguration"]["aadAudience"] = "x' or appId ne '"
    collection, fake = collect_dev(estate, pem)
    [gap] = collection.gaps
    assert list(gap.types) == AUDIENCE_TYPES and "not an application (client) ID" in gap.reason
    assert audience_reads(fake) == []


def test_without_an_entra_gateway_there_is_no_audience_to_read(pem: tuple[Path, Path, Path]) -> None:
    estate = live.dev_estate()
    estate.arm[live.GATEWAY_ID]["properties"]["vpnClientConfiguration"] = None  # site-to-site
    collection, fake = collect_dev(estate, pem)
    assert collection.gaps == [] and audience_reads(fake) == []
    inventory = load_live(collection)
    assert inventory.of_type(*AUDIENCE_TYPES) == []  # known to be none: nothing asks for a token audience


def test_a_principal_answer_without_the_selected_fields_is_unknown_not_absent() -> None:
    collection = Collection((live.SUBSCRIPTION_ID,))
    collection.graph.append(
        (
            "servicePrincipals",
            {"id": live.VPN_PRINCIPAL_ID, "appId": live.VPN_CLIENT_ID, "appRoleAssignedTo": [{"id": "a"}]},
        )
    )
    inventory = load_live(collection)
    [principal] = inventory.of_type("Microsoft.Graph/servicePrincipals")
    assert principal.get("appRoleAssignmentRequired") is UNKNOWN
    [assignment] = inventory.of_type("Microsoft.Graph/appRoleAssignments")
    assert assignment.get("principalType") is UNKNOWN and assignment.get("resourceId") is UNKNOWN


# --- custom role definitions -----------------------------------------------------------------------------------


def test_only_custom_role_definitions_are_read_at_the_scope_of_their_assignment(pem: tuple[Path, Path, Path]) -> None:
    collection, fake = collect_dev(live.dev_estate(), pem)
    assert collection.gaps == []
    assert [r.path for r in fake.requests if "/roleDefinitions" in r.path] == [live.DEPLOYER_ROLE_ID]
    [definition] = load_live(collection).of_type("Microsoft.Authorization/roleDefinitions")
    assert definition.id == live.DEPLOYER_ROLE_ID
    assert definition.get("properties.roleName") == "smart-portal-dev deployer"


def test_unread_role_assignments_leave_the_role_definitions_unknown(pem: tuple[Path, Path, Path]) -> None:
    fault = Fault("GET .*/roleAssignments$", "forbidden", times=None)
    collection, fake = collect_dev(live.dev_estate(), pem, faults=[fault])
    covered = {t for g in collection.gaps for t in g.types}
    assert {"Microsoft.Authorization/roleAssignments", "Microsoft.Authorization/roleDefinitions"} <= covered
    assert not [r for r in fake.requests if "/roleDefinitions" in r.path]
    with pytest.raises(IncompleteInventory, match="not known which to read"):
        load_live(collection).of_type("Microsoft.Authorization/roleDefinitions")


# --- bulk reads: each site's config/web from Resource Graph's appserviceresources -------------------------------


def site_configs(fake: FakeAzure) -> list[Any]:
    return [r for r in fake.requests if isinstance(r.body, dict) and r.body["query"].startswith("appserviceresources")]


def sites_of(estate: Estate) -> list[str]:
    return sorted(k for k, b in estate.arm.items() if str(b["type"]).lower() == "microsoft.web/sites")


def test_site_configuration_comes_from_resource_graph_in_pages_not_one_get_per_site(
    pem: tuple[Path, Path, Path],
) -> None:
    estate = live.realistic_estate(3 * 17)  # three copies of the dev stack: three sites
    collection, fake = collect_dev(estate, pem, rg_page_cap=2)  # Resource Graph returns 2 rows a page
    assert collection.gaps == []
    pages = site_configs(fake)
    assert len(pages) == 2 and pages[1].body["options"]["$skipToken"]  # 3 rows in pages of 2, by $skipToken
    assert not [r for r in fake.requests if r.path.lower().endswith("/config/web")]  # no per-site read
    inventory = load_live(collection)
    sites = inventory.of_type("Microsoft.Web/sites")
    assert sorted(s.id.lower() for s in sites) == [k.lower() for k in sites_of(estate)]
    for site in sites:  # the row's properties became the site's siteConfig, as a GET config/web does
        assert site.get("properties.siteConfig.minTlsVersion") == "1.2"
        assert site.get("properties.siteConfig.ftpsState") == "Disabled"


def test_a_site_resource_graph_has_no_configuration_row_for_is_read_per_site(pem: tuple[Path, Path, Path]) -> None:
    estate = live.realistic_estate(2 * 17)
    lagging, indexed = sites_of(estate)
    collection, fake = collect_dev(estate, pem, unindexed_site_configs=[lagging])
    assert collection.gaps == []
    reads = [r.path.lower() for r in fake.requests if r.path.lower().endswith("/config/web")]
    assert reads == [f"{lagging}/config/web".lower()]
    assert f"{indexed}/config/web".lower() not in reads
    for site in load_live(collection).of_type("Microsoft.Web/sites"):
        assert site.get("properties.siteConfig.minTlsVersion") == "1.2"


@pytest.mark.parametrize("kind", ["error500", "total-mismatch", "count-mismatch", "loop"])
def test_a_failed_or_incomplete_site_configuration_read_is_a_gap_never_a_pass(
    pem: tuple[Path, Path, Path], kind: Any
) -> None:
    fault = Fault("POST /providers/Microsoft.ResourceGraph/resources appserviceresources", kind, times=None)
    estate = live.realistic_estate(2 * 17)
    collection, fake = collect_dev(estate, pem, faults=[fault], retries=1, rg_page_cap=1)
    [gap] = collection.gaps
    assert gap.types == ("Microsoft.Web/sites/config",) and gap.scope == f"subscriptions {live.SUBSCRIPTION_ID}"
    # No per-site fallback: the bulk read's gap stands for every site.
    assert not [r for r in fake.requests if r.path.lower().endswith("/config/web")]
    inventory = load_live(collection)
    assert len(inventory.of_type("Microsoft.Web/sites")) == 2  # the rest of the estate is read
    with pytest.raises(IncompleteInventory):
        inventory.of_type("Microsoft.Web/sites/config")


def test_a_throttled_site_configuration_page_is_retried_after_retry_after(pem: tuple[Path, Path, Path]) -> None:
    fault = Fault("POST /providers/Microsoft.ResourceGraph/resources appserviceresources", "throttle", retry_after="0")
    estate = live.realistic_estate(2 * 17)
    collection, fake = collect_dev(estate, pem, faults=[fault])
    assert collection.gaps == []
    assert [r.status for r in site_configs(fake)] == [429, 200]
    assert all(
        s.get("properties.siteConfig.minTlsVersion") == "1.2"
        for s in load_live(collection).of_type("Microsoft.Web/sites")
    )


def test_follow_up_reads_start_before_the_role_assignment_paging_ends(pem: tuple[Path, Path, Path]) -> None:
    """Per-resource reads depend on Resource Graph only, not on the slowest first read (role assignments' pages)."""
    estate = live.realistic_estate(4 * 17)  # 12 role assignments: 12 pages of one
    collection, fake = collect_dev(estate, pem, page_size=1, latency=0.05)
    assert collection.gaps == []
    role_pages = [r.at for r in fake.requests if r.path.lower().endswith("/roleassignments")]
    diagnostics = [r.at for r in fake.requests if "/diagnosticsettings" in r.path.lower()]
    assert len(role_pages) == 12
    assert min(diagnostics) < max(role_pages)


def test_resources_of_the_same_name_in_different_groups_each_keep_their_details(pem: tuple[Path, Path, Path]) -> None:
    """Follow-up reads are told apart by resource ID: the second copy's answers never overwrite the first's."""
    estate = live.realistic_estate(2 * 17)
    first, second = sorted(
        k for k, b in estate.arm.items() if str(b["type"]).lower() == "microsoft.dbforpostgresql/flexibleservers"
    )
    rule = live.firewall_rule(first, "allow-office", "203.0.113.10", "203.0.113.10")
    estate.arm[rule["id"]] = rule
    collection, _ = collect_dev(estate, pem)
    assert collection.gaps == []
    inventory = load_live(collection)
    assert ids(inventory, "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules") == [rule["id"]]
    configurations = ids(inventory, "Microsoft.DBforPostgreSQL/flexibleServers/configurations")
    assert {c.lower().split("/configurations/")[0] for c in configurations} == {first.lower(), second.lower()}
    settings = ids(inventory, "Microsoft.Insights/diagnosticSettings")
    assert len(settings) == 8  # four diagnosed resources in each copy


def test_per_resource_reads_start_while_resource_graph_is_still_paging(pem: tuple[Path, Path, Path]) -> None:
    estate = live.realistic_estate(4 * 17)
    collection, fake = collect_dev(estate, pem, rg_page_cap=17, latency=0.05)  # four sequential pages
    assert collection.gaps == []
    pages = [r.at for r in fake.requests if isinstance(r.body, dict) and r.body["query"].startswith("resources")]
    diagnostics = [r.at for r in fake.requests if "/diagnosticsettings" in r.path.lower()]
    assert len(pages) == 4 and len(diagnostics) == 16
    assert min(diagnostics) < max(pages)


def test_reads_started_from_the_pages_of_a_query_that_fails_later_are_not_kept(pem: tuple[Path, Path, Path]) -> None:
    """The rows of an incomplete answer are not kept, so neither is anything read because of them."""
    fault = Fault("POST /providers/Microsoft.ResourceGraph/resources resources$", "total-mismatch", times=None)
    estate = live.realistic_estate(2 * 17)
    collection, fake = collect_dev(estate, pem, faults=[fault], rg_page_cap=17)
    assert [r for r in fake.requests if "/diagnosticsettings" in r.path.lower()]  # they were started ...
    assert not [b for b in collection.arm if "/diagnosticsettings/" in str(b["id"]).lower()]  # ... and dropped
    assert not [
        b
        for b in collection.arm
        if "/firewallrules/" in str(b["id"]).lower() or "/configurations/" in str(b["id"]).lower()
    ]
    [everything] = [g for g in collection.gaps if g.types == ("*",)]
    assert "totalRecords" in everything.reason and everything.located
    with pytest.raises(IncompleteInventory):
        load_live(collection).of_type("Microsoft.Insights/diagnosticSettings")


def test_the_requests_made_are_the_lower_bound_of_the_documented_apis(pem: tuple[Path, Path, Path]) -> None:
    """Per API, the collector asks no more than the bound benchmarks/live_collect.py derives (docs/live-audit.md)."""
    from benchmarks.live_collect import classify, lower_bound

    estate = live.realistic_estate(3 * 17 + 2)  # three copies of the dev stack and two plain VNets
    collection, fake = collect_dev(estate, pem)
    assert collection.gaps == []
    made: dict[str, int] = {}
    for seen in fake.requests:
        made[classify(seen.method, seen.path)] = made.get(classify(seen.method, seen.path), 0) + 1
    assert made == lower_bound(estate, fake.page_size, fake.graph_page_size)
