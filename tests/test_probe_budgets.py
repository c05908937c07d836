"""Every probe has a total time budget: a server that accepts connections and never answers turns into ERROR.

The hanging server listens on 127.0.0.1, accepts every connection and sends
nothing (no TLS handshake, no HTTP response): the probes' own per-connection
timeouts (10 s for TLS and HTTP, 30 s per page for the browser) are longer
than the budgets given here, so only the budget can end each probe in time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.findings import Verdict
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.probes import run as run_module
from compliance_checks.probes.run import Budgets, ProbeTarget, run_probes, within_budget
from tests.conftest import CHROMIUM, require_chromium

SLACK_S = 3.0  # thread start, Chromium's launch, a probe noticing nothing more


@pytest.fixture(scope="module")
def hanging_port() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)  # kept open, never read from, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        server.close()


def _no_progress(label: str) -> nullcontext[None]:
    return nullcontext()


def _verdicts(record: Resource) -> set[Verdict]:
    checks = [c for c in load_checks().values() if getattr(c, "probe_type", None) == record.type]
    assert checks, record.type
    return {finding.verdict for check in checks for finding in check.evaluate(Inventory([record]), Params())}


def test_each_probe_of_a_hanging_portal_ends_at_its_budget_as_an_error(
    hanging_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_chromium()

    def unanswered_port(host: str, port: int, *, vantage_is_allowed: bool, timeout: float = 5) -> Resource:
        time.sleep(30)  # a database host whose every address stays silent, at every retry
        raise AssertionError("not reached within the test")

    monkeypatch.setattr("compliance_checks.probes.reachability.probe_port", unanswered_port)
    budgets = Budgets(tls_s=1.5, http_s=1.0, browser_s=4.0, reachability_s=0.5)
    target = ProbeTarget(
        url=f"https://127.0.0.1:{hanging_port}/",
        http_url=f"http://127.0.0.1:{hanging_port}/",
        database=("127.0.0.1", hanging_port),
        chromium=CHROMIUM,
        budgets=budgets,
    )
    started = time.monotonic()
    records = run_probes(target, _no_progress)
    elapsed = time.monotonic() - started
    total = budgets.tls_s + budgets.http_s + budgets.browser(None) + budgets.reachability_s
    assert elapsed < total + SLACK_S, elapsed
    assert [r.type for r in records] == ["Probe/tls", "Probe/http", "Probe/browser", "Probe/reachability"]
    for record, seconds in zip(records, (1.5, 1, 4, 0.5), strict=True):
        assert record.body["error"].startswith(f"did not finish within its time budget of {seconds:g} s"), record
        assert _verdicts(record) == {Verdict.ERROR}, record.type
    assert records[0].id == f"probe:tls/127.0.0.1:{hanging_port}" and records[2].id == "probe:browser/127.0.0.1"


def test_a_probe_within_its_budget_is_returned_unchanged_and_its_exceptions_are_raised() -> None:
    done = Resource.create(id="probe:x", type="Probe/http", name="x", body={"url": "u"}, source="probe")
    assert within_budget(5, lambda: done, pytest.fail) is done

    def broken() -> Resource:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        within_budget(5, broken, pytest.fail)


def test_the_browser_budget_follows_the_crawl() -> None:
    from compliance_checks.probes.browser import Crawl

    assert Budgets().browser(None) == 60 + run_module.BROWSER_GRACE_S
    assert Budgets().browser(Crawl(time_budget_s=300)) == 300 + run_module.BROWSER_GRACE_S
    assert Budgets(browser_s=10).browser(Crawl(time_budget_s=300)) == 10
