"""The live collector against a hostile or broken stand-in: it trusts no page, leaks no token, and ends at --deadline.

Each case ends in a gap naming what could not be trusted, ERROR for exactly the
checks that needed it (never PASS), exit code 2, and no bearer token in any
output. The deadline tests run the real CLI as a separate process, because what
they assert is when the process ends, worker threads included.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.cli import main
from compliance_checks.inventory import IncompleteInventory
from compliance_checks.live.collect import Collection, Collector
from compliance_checks.live.rest import _same_origin, redact
from compliance_checks.live.settings import LiveSettings
from compliance_checks.sources.live import load_live
from tests.conftest import missing_prerequisite
from tests.live import estate as live
from tests.live.credential import StaticToken
from tests.live.hostile import SilentServer
from tests.live.model import Estate
from tests.live.server import FakeAzure, Fault, _graph_row
from tests.support.pki import server_pem

REPO = Path(__file__).resolve().parents[1]
OPAQUE_TOKEN = "opaque-secret-token-7d1f0c55"  # recognisable only because the process obtained it
JWT_TOKEN = (  # header {"alg":"RS256","typ":"JWT"}, a made-up payload, no real signature
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2lnbmF0dXJlLW5vdC1yZWFs"
)
RG_POST = "POST /providers/Microsoft.ResourceGraph/resources"
SITES = "Microsoft.Web/sites"
NSGS = "Microsoft.Network/networkSecurityGroups"
Results = dict[str, Any]


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return server_pem(tmp_path_factory.mktemp("pki"))


def settings_for(url: str, ca: Path, **overrides: Any) -> LiveSettings:
    base: dict[str, Any] = {
        "subscriptions": (live.SUBSCRIPTION_ID,),
        "arm_endpoint": url,
        "graph_endpoint": url,
        "arm_scope": "https://management.example/.default",
        "graph_scope": "https://graph.example/.default",
        "ca_bundle": ca,
        "backoff_factor": 0.01,
        "max_retry_after": 0.2,
        "read_timeout": 2.0,
        "retries": 1,
        "deadline": 20.0,
    }
    return LiveSettings(**(base | overrides))


def collect(
    estate: Estate, pem: tuple[Path, Path, Path], *, token: str = OPAQUE_TOKEN, **server: Any
) -> tuple[Collection, FakeAzure]:
    ca, cert, key = pem
    with FakeAzure(estate, cert, key, **server) as fake:
        collection = Collector(settings_for(fake.url, ca), StaticToken(token)).collect()
    assert fake.writes() == []
    return collection, fake


def site_row(estate: Estate, **changes: Any) -> dict[str, Any]:
    """The web site as Resource Graph returns it, with ``properties`` changed."""
    row = _graph_row(copy.deepcopy(estate.find(live.SITE_ID)))
    row["properties"].update(changes)
    return row


# --- the same resource twice ---------------------------------------------------------------------------------


def test_a_resource_returned_twice_with_different_values_is_dropped_and_a_gap(pem: tuple[Path, Path, Path]) -> None:
    estate = live.dev_estate()
    flipped = site_row(estate, httpsOnly=False)  # appended: a later page than the original (5 rows a page)
    collection, fake = collect(estate, pem, extra_rows=[flipped], rg_page_cap=5)
    pages = [r for r in fake.requests if isinstance(r.body, dict) and r.body["query"].startswith("resources")]
    assert len(pages) > 2
    [gap] = collection.gaps
    assert gap.reason == "returned twice with different values" and gap.scope == live.SITE_ID
    assert gap.covers(SITES) and gap.located
    inventory = load_live(collection)
    with pytest.raises(IncompleteInventory, match="returned twice with different values"):
        inventory.of_type(SITES)
    assert [r.id for r in inventory.of_type("Microsoft.DBforPostgreSQL/flexibleServers")] == [live.SERVER_ID]
    # The site's own reads started from the first page; none of what they returned is kept for a dropped site.
    assert not [b for b in collection.arm if str(b["id"]).lower().startswith(f"{live.SITE_ID.lower()}/")]


def test_an_identical_copy_is_one_resource(pem: tuple[Path, Path, Path]) -> None:
    estate = live.dev_estate()
    collection, _ = collect(estate, pem, extra_rows=[site_row(estate)], rg_page_cap=5)
    assert collection.gaps == []
    assert [r.id for r in load_live(collection).of_type(SITES)] == [live.SITE_ID]


def test_a_graph_object_listed_twice_with_different_values_is_a_gap(pem: tuple[Path, Path, Path]) -> None:
    estate = live.dev_estate()
    policy = copy.deepcopy(estate.graph[f"identity/conditionalAccess/policies/{live.MFA_POLICY_ID}"])
    policy["state"] = "disabled"
    estate.graph["identity/conditionalAccess/policies/zzzz-second-copy"] = policy  # same id, listed last
    collection, _ = collect(estate, pem)
    [gap, groups] = collection.gaps
    assert groups.reason == "not known which to read: returned twice with different values"  # the policies name them
    assert gap.types == ("Microsoft.Graph/conditionalAccessPolicies",)
    assert gap.reason == "returned twice with different values" and live.MFA_POLICY_ID in gap.scope
    with pytest.raises(IncompleteInventory):
        load_live(collection).of_type("Microsoft.Graph/conditionalAccessPolicies")


# --- Resource Graph's own bookkeeping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("total-mismatch", "Resource Graph reported totalRecords 18 but 17 rows arrived"),
        ("count-mismatch", "Resource Graph page says count 6 but holds 5 rows"),
    ],
)
def test_rows_that_do_not_add_up_are_a_gap_for_every_arm_type(
    pem: tuple[Path, Path, Path], kind: str, reason: str
) -> None:
    fault = Fault(RG_POST, kind, times=None)  # type: ignore[arg-type]
    collection, _ = collect(live.dev_estate(), pem, faults=[fault], rg_page_cap=5)
    [gap] = [g for g in collection.gaps if "*" in g.types]
    assert reason in gap.reason and gap.located, gap.reason
    inventory = load_live(collection)
    for kind_ in (SITES, NSGS):
        with pytest.raises(IncompleteInventory, match=r"totalRecords|count"):
            inventory.of_type(kind_)
    with pytest.raises(IncompleteInventory):
        inventory.all()


# --- malformed rows --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "covers", "problem"),
    [
        ({"id": 42, "type": "microsoft.web/sites", "properties": {}}, SITES, "'id' is not a non-empty string"),
        ({"id": live.SITE_ID + "x", "properties": {}}, SITES, "'type' is missing"),
        ({"name": "no-id-no-type"}, "Microsoft.KeyVault/vaults", "'id' is missing"),  # "*": every ARM type
        ({"id": live.NSG_PORTAL_ID + "x", "type": NSGS.lower(), "properties": "[]"}, NSGS, "'properties' is a str"),
        ({"id": live.NSG_PORTAL_ID + "y", "type": NSGS.lower(), "tags": ["a"]}, NSGS, "'tags' is a list"),
    ],
    ids=["non-string id", "no type", "neither id nor type", "properties a string", "tags a list"],
)
def test_a_malformed_row_is_a_gap_for_its_type_not_a_row_dropped(
    pem: tuple[Path, Path, Path], row: dict[str, Any], covers: str, problem: str
) -> None:
    collection, _ = collect(live.dev_estate(), pem, extra_rows=[row])
    [gap] = [g for g in collection.gaps if g.reason.startswith("malformed answer")]  # (others follow from it)
    assert gap.covers(covers) and problem in gap.reason and gap.reason.startswith("malformed answer"), gap
    with pytest.raises(IncompleteInventory, match="malformed answer"):
        load_live(collection).of_type(covers)


def test_a_malformed_item_of_a_service_list_is_a_gap_for_that_list(pem: tuple[Path, Path, Path]) -> None:
    estate = live.dev_estate()
    estate.arm[f"{live.SERVER_ID}/firewallRules/zz-bad"] = {"id": 7, "type": "Microsoft.DBforPostgreSQL/x"}
    collection, _ = collect(estate, pem)
    [gap] = collection.gaps
    assert gap.types == ("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",) and "'id'" in gap.reason


# --- what is not a 2xx answer, where a next link may go --------------------------------------------------------


def test_a_redirect_is_neither_followed_nor_read(pem: tuple[Path, Path, Path]) -> None:
    fault = Fault("GET .*/firewallRules$", "redirect", times=None)
    collection, fake = collect(live.dev_estate(), pem, faults=[fault])
    [gap] = collection.gaps
    assert gap.types == ("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",)
    assert gap.reason.startswith("HTTP 302: a redirect is not followed")
    assert len([r for r in fake.requests if r.path.endswith("/firewallRules")]) == 1  # not retried, not followed


@pytest.mark.parametrize(
    "other",
    [
        lambda url: url.replace("127.0.0.1", "localhost"),
        lambda url: url.replace("https://", "http://"),
        lambda url: url.rsplit(":", 1)[0] + ":" + str(int(url.rsplit(":", 1)[1]) + 1),
    ],
    ids=["another host", "another scheme", "another port"],
)
def test_a_next_link_to_another_origin_is_refused(pem: tuple[Path, Path, Path], other: Callable[[str], str]) -> None:
    ca, cert, key = pem
    estate = live.dev_estate()
    with FakeAzure(estate, cert, key, page_size=1) as fake:
        fake.link_base = other(fake.url)
        collection = Collector(settings_for(fake.url, ca), StaticToken()).collect()
    paged = {g.types for g in collection.gaps if "points outside" in g.reason}
    assert ("Microsoft.DBforPostgreSQL/flexibleServers/configurations",) in paged
    assert not [r for r in fake.requests if "$skiptoken" in r.query]  # no second page was asked for anywhere


def test_the_default_port_written_out_is_the_same_origin() -> None:
    assert _same_origin("https://management.azure.com:443/x?$skiptoken=1", "https://management.azure.com")
    assert _same_origin("https://Management.Azure.com/x", "https://management.azure.com:443")
    assert not _same_origin("https://management.azure.com:8443/x", "https://management.azure.com")
    assert not _same_origin("http://management.azure.com:443/x", "https://management.azure.com")
    assert not _same_origin("https://management.azure.com.evil.example/x", "https://management.azure.com")
    assert not _same_origin("https://management.azure.com:notaport/x", "https://management.azure.com")


def test_a_next_link_with_an_explicit_443_is_followed(pem: tuple[Path, Path, Path]) -> None:
    ca, cert, key = pem
    try:
        fake = FakeAzure(live.dev_estate(), cert, key, page_size=1, port=443)
        fake.__enter__()
    except OSError as exc:  # needs the privilege to listen on 443; the unit test above still runs
        missing_prerequisite(f"cannot listen on 127.0.0.1:443 ({exc})", "run as root, as CI does")
    try:
        assert fake.url == "https://127.0.0.1:443"  # the links it writes name the port
        collection = Collector(settings_for("https://127.0.0.1", ca), StaticToken()).collect()
    finally:
        fake.__exit__(None, None, None)
    assert collection.gaps == []
    assert any("$skiptoken" in r.query for r in fake.requests)
    assert len(load_live(collection).of_type("Microsoft.DBforPostgreSQL/flexibleServers/configurations")) > 1


# --- tokens ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [OPAQUE_TOKEN, JWT_TOKEN], ids=["opaque", "jwt"])
def test_a_server_that_echoes_the_token_gets_it_cut_out(pem: tuple[Path, Path, Path], token: str) -> None:
    fault = Fault("GET .*/firewallRules$", "echo-token", times=None)
    collection, _ = collect(live.dev_estate(), pem, faults=[fault], token=token)
    [gap] = collection.gaps
    assert gap.reason.startswith(
        "HTTP 400 InvalidAuthenticationToken: Invalid authentication header 'Bearer [redacted]'"
    )
    assert token not in gap.reason and "token [redacted] rejected" in gap.reason


def test_redact_cuts_bearer_values_and_jwts_it_has_never_seen() -> None:
    other = JWT_TOKEN.replace("c2lnbmF0dXJl", "b3RoZXJzaWdu")
    assert redact(f"header was Bearer abc.def-ghi, then {other}!") == "header was Bearer [redacted], then [redacted]!"
    assert redact("nothing to hide") == "nothing to hide"


# --- end to end: ERROR, the reason, exit 2, no token anywhere --------------------------------------------------

E2E_CASES: list[tuple[str, Callable[[Estate], dict[str, Any]], set[str], str]] = [
    (
        "conflicting duplicate",
        lambda e: {"extra_rows": [site_row(e, httpsOnly=False)], "rg_page_cap": 5},
        {"webapp_https_only", "webapp_min_tls_version"},
        "returned twice with different values",
    ),
    (
        "totalRecords mismatch",
        lambda e: {"faults": [Fault(RG_POST, "total-mismatch", times=None)]},
        {"webapp_https_only", "nsg_deny_all_inbound", "postgres_no_firewall_rules"},
        "reported totalRecords",
    ),
    (
        "malformed row",
        lambda e: {"extra_rows": [{"id": 42, "type": NSGS.lower(), "properties": {}}]},
        {"nsg_deny_all_inbound"},
        "malformed answer: an entry whose 'id' is not a non-empty string",
    ),
    (
        "redirect",
        lambda e: {"faults": [Fault("GET .*/firewallRules$", "redirect", times=None)]},
        {"postgres_no_firewall_rules"},
        "HTTP 302: a redirect is not followed",
    ),
    (
        "token echoed",
        lambda e: {"faults": [Fault("GET .*/firewallRules$", "echo-token", times=None)]},
        {"postgres_no_firewall_rules"},
        "Invalid authentication header 'Bearer [redacted]'",
    ),
]


@pytest.fixture
def audit(
    pem: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., tuple[int, Results, str]]]:
    """Runs the CLI in process; returns the exit code, results.json, and every output as one text."""
    ca, cert, key = pem

    def run(estate: Estate, token: str, **server: Any) -> tuple[int, Results, str]:
        monkeypatch.setattr("compliance_checks.live.credentials.make_credential", lambda settings: StaticToken(token))
        out = tmp_path / "report"
        with FakeAzure(estate, cert, key, **server) as fake:
            code = main([
                "audit", "--source", "live", "--subscription", estate.subscription_id, "--arm-endpoint", fake.url,
                "--graph-endpoint", fake.url, "--ca-bundle", str(ca), "--out", str(out),
            ])  # fmt: skip
        assert fake.writes() == []
        captured = capsys.readouterr()
        files = sorted(p for p in out.rglob("*") if p.is_file())
        assert {"results.json", "report.md", "report.html"} <= {p.name for p in files}
        everything = "\n".join([captured.out, captured.err, *(p.read_text(errors="replace") for p in files)])
        return code, json.loads((out / "results.json").read_text(encoding="utf-8")), everything

    yield run


def verdicts(results: Results) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in results["findings"]:
        found.setdefault(finding["checkId"], set()).add(finding["verdict"])
    return found


@pytest.mark.parametrize("case", E2E_CASES, ids=[c[0] for c in E2E_CASES])
@pytest.mark.parametrize("token", [OPAQUE_TOKEN, JWT_TOKEN], ids=["opaque", "jwt"])
def test_an_untrusted_answer_makes_the_checks_that_need_it_error_and_exit_2(
    audit: Any, case: tuple[str, Callable[[Estate], dict[str, Any]], set[str], str], token: str
) -> None:
    _, server, checks, reason = case
    estate = live.dev_estate()
    code, results, everything = audit(estate, token, **server(estate))
    assert code == 2 and results["summary"]["exitCode"] == 2
    assert any(reason in gap["reason"] for gap in results["run"]["collection"]["gaps"]), results["run"]["collection"]
    found = verdicts(results)
    for check in checks:
        assert found.get(check) == {"ERROR"}, (check, found.get(check))
    assert token not in everything
    assert "Traceback" not in everything


def test_the_same_estate_read_cleanly_passes_those_checks(audit: Any) -> None:
    """The ERRORs above come from the hostile answers, not from the estate."""
    _, results, everything = audit(live.dev_estate(), OPAQUE_TOKEN)
    assert results["run"]["collection"]["gaps"] == []
    found = verdicts(results)
    for check in set().union(*(c[2] for c in E2E_CASES)):
        assert found.get(check) == {"PASS"}, (check, found.get(check))
    assert OPAQUE_TOKEN not in everything


# --- the credential --------------------------------------------------------------------------------------------


class Raising(StaticToken):
    """Raises what no Azure credential documents: at sign-in, or only once the pipelines ask."""

    def __init__(self, at_sign_in: bool) -> None:
        super().__init__(OPAQUE_TOKEN)
        self.at_sign_in = at_sign_in

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        if self.at_sign_in or len(self.scopes) >= 2:  # sign-in asks once for ARM, once for Graph
            raise RuntimeError(f"token cache corrupt near {OPAQUE_TOKEN}")
        return super().get_token(*scopes, **kwargs)


@pytest.mark.parametrize("at_sign_in", [True, False], ids=["at sign-in", "after sign-in"])
def test_a_non_azure_exception_from_the_credential_is_one_line_and_exit_2(
    pem: tuple[Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    at_sign_in: bool,
) -> None:
    ca, cert, key = pem
    monkeypatch.setattr("compliance_checks.live.credentials.make_credential", lambda s: Raising(at_sign_in))
    with FakeAzure(live.dev_estate(), cert, key) as fake:
        code = main([
            "audit", "--quiet", "--source", "live", "--subscription", live.SUBSCRIPTION_ID,
            "--arm-endpoint", fake.url, "--graph-endpoint", fake.url, "--ca-bundle", str(ca),
            "--out", str(tmp_path / "out"),
        ])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2 and "Traceback" not in captured.err and OPAQUE_TOKEN not in captured.err + captured.out
    if at_sign_in:
        assert fake.requests == []
        [line] = captured.err.strip().splitlines()
        assert line.startswith("error: cannot get a token for https://") and "RuntimeError" in line
        assert "[redacted]" in line
    else:
        results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
        gaps = results["run"]["collection"]["gaps"]
        assert gaps and all("credential failed: RuntimeError" in g["reason"] for g in gaps)
        assert OPAQUE_TOKEN not in json.dumps(results)


class Stuck(StaticToken):
    """A credential that never comes back (an identity endpoint that does not answer)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        time.sleep(30)
        return super().get_token(*scopes, **kwargs)


def test_a_credential_that_never_answers_ends_at_the_deadline(pem: tuple[Path, Path, Path]) -> None:
    from compliance_checks.live.collect import SignInError

    ca, _, _ = pem
    started = time.monotonic()
    with pytest.raises(SignInError, match=r"no token within the 0.5 s deadline"):
        Collector(settings_for("https://127.0.0.1:9", ca, deadline=0.5), Stuck()).collect()
    assert time.monotonic() - started < 2


# --- the deadline: the process ends, whatever the server does -------------------------------------------------


@pytest.mark.parametrize("deadline", [0.0, -1.0, float("nan")])
def test_a_deadline_that_is_not_a_positive_time_is_a_usage_error(deadline: float) -> None:
    from compliance_checks.errors import UsageError

    with pytest.raises(UsageError, match="--deadline"):
        LiveSettings((live.SUBSCRIPTION_ID,), deadline=deadline).validate()


DEADLINE = 2.0
# From the first request the server sees to the end of the process: the collector's deadline began a few
# milliseconds earlier (sign-in), so this is the deadline plus writing the reports and ending the interpreter.
MARGIN = 2.0
STARTUP = 15.0  # bounds the whole run generously (imports, catalogue) so a hang fails, not a slow machine


def run_cli_process(url: str, ca: Path, out: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Runs the CLI to its end; returns the time.monotonic() at which it ended, and what it did."""
    argv = [
        sys.executable, "-m", "tests.live.cli", "audit", "--quiet", "--source", "live",
        "--subscription", live.SUBSCRIPTION_ID, "--arm-endpoint", url, "--graph-endpoint", url,
        "--ca-bundle", str(ca), "--deadline", str(DEADLINE), "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "LIVE_TEST_TOKEN": OPAQUE_TOKEN}
    started = time.monotonic()
    # The timeout only keeps a regression from hanging the suite; the assertions are the test.
    done = subprocess.run(argv, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=DEADLINE + 60)
    ended = time.monotonic()
    assert ended - started < DEADLINE + STARTUP, (ended - started, done.stderr)
    return ended, done


def test_the_process_ends_at_the_deadline_when_the_server_never_answers(
    pem: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    ca, _, _ = pem
    with SilentServer() as silent:
        ended, done = run_cli_process(silent.url, ca, tmp_path / "out")
        assert silent.accepted > 0 and silent.first_contact is not None  # it did connect, and got nothing back
    assert ended - silent.first_contact < DEADLINE + MARGIN, (ended - silent.first_contact, done.stderr)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and OPAQUE_TOKEN not in done.stderr + done.stdout
    gaps = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["run"]["collection"]["gaps"]
    # A read gives up at the deadline, or just before it when its socket timeout (cut to what remains) fires first;
    # what depends on an unread answer is unknown in turn.
    assert ["*"] in [g["types"] for g in gaps]
    assert all(
        re.search(r"deadline|[Tt]imeout|not known which to read|VPN audience unknown", g["reason"]) for g in gaps
    )


def test_the_process_ends_at_the_deadline_when_the_server_trickles(
    pem: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    ca, cert, key = pem
    trickle = Fault(RG_POST, "trickle", times=None, delay=120.0)  # one byte every 0.2 s: no socket timeout fires
    with FakeAzure(live.dev_estate(), cert, key, faults=[trickle]) as fake:
        ended, done = run_cli_process(fake.url, ca, tmp_path / "out")
    assert trickle.hits > 0
    first_contact = min(r.at for r in fake.requests)
    assert ended - first_contact < DEADLINE + MARGIN, (ended - first_contact, done.stderr)
    assert done.returncode == 2, done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    [gap] = [g for g in results["run"]["collection"]["gaps"] if g["types"] == ["*"]]
    assert re.search(r"deadline|[Tt]imeout", gap["reason"]), gap
    assert verdicts(results).get("webapp_https_only") == {"ERROR"}


# --- bounded -----------------------------------------------------------------------------------------------------


def test_more_resources_than_an_audit_reads_is_a_gap_not_a_partial_read(
    pem: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live source has the bound every source has (MAX_RESOURCES); here lowered so the dev estate exceeds it."""
    monkeypatch.setattr("compliance_checks.live.resource_graph.MAX_RESOURCES", 5)
    collection, _ = collect(live.dev_estate(), pem)
    [gap] = [g for g in collection.gaps if "*" in g.types]
    assert "more than the 5 an audit reads" in gap.reason and gap.located, gap.reason
    with pytest.raises(IncompleteInventory):
        load_live(collection).all()


@pytest.mark.parametrize("token", [OPAQUE_TOKEN, JWT_TOKEN], ids=["opaque", "jwt"])
def test_a_token_echoed_inside_the_data_of_a_200_answer_reaches_no_output(audit: Any, token: str) -> None:
    """A hostile server puts the token into a value the evidence shows (an NSG rule's description)."""
    estate = live.dev_estate()
    nsg = estate.arm[next(i for i in estate.arm if i.lower() == live.NSG_PORTAL_ID.lower())]
    nsg["properties"]["securityRules"][0]["properties"]["description"] = f"copied {token} here"
    _, results, everything = audit(estate, token)
    shown = json.dumps(results)
    assert "copied [secret] here" in shown or "copied" not in shown  # scrubbed where shown
    assert token not in everything
