"""Every probe has a total time budget: a server that accepts connections and never answers turns into ERROR.

The hanging server listens on 127.0.0.1, accepts every connection and sends
nothing (no TLS handshake, no HTTP response): the probes' own per-connection
timeouts (10 s for TLS and HTTP, 30 s per page for the browser) are longer
than the budgets given here, so only the budget can end each probe in time.
The probes run side by side, so the whole ends at the longest budget.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Params
from compliance_checks.findings import Verdict
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.probes import run as run_module
from compliance_checks.probes.run import Budgets, ProbeJob, ProbeTarget, run_concurrently, run_probes
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
    # The probes run side by side: the audit waits for the longest budget, not for their sum (7 s).
    longest = max(budgets.tls_s, budgets.http_s, budgets.browser(None), budgets.reachability_s)
    assert elapsed < longest + SLACK_S, elapsed
    assert [r.type for r in records] == ["Probe/tls", "Probe/http", "Probe/browser", "Probe/reachability"]
    for record, seconds in zip(records, (1.5, 1, 4, 0.5), strict=True):
        assert record.body["error"].startswith(f"did not finish within its time budget of {seconds:g} s"), record
        assert _verdicts(record) == {Verdict.ERROR}, record.type
    assert records[0].id == f"probe:tls/127.0.0.1:{hanging_port}" and records[2].id == "probe:browser/127.0.0.1"


def _job(label: str, budget_s: float, probe: Callable[[], Resource]) -> ProbeJob:
    def error_record(message: str) -> Resource:
        return Resource.create(
            id=f"probe:{label}", type="Probe/http", name=label, body={"error": message}, source="probe"
        )

    return ProbeJob(label, budget_s, probe, error_record)


def _record(label: str) -> Resource:
    return Resource.create(id=f"probe:{label}", type="Probe/http", name=label, body={"url": label}, source="probe")


def test_concurrent_probes_keep_every_record_in_order_whatever_one_of_them_does() -> None:
    """One probe raising and one overrunning neither hide nor delay the others' records."""
    release = threading.Event()

    def slow() -> Resource:
        time.sleep(0.6)
        return _record("slow")

    def broken() -> Resource:
        raise RuntimeError("the driver\nwent away")

    def hanging() -> Resource:
        release.wait(10)
        return _record("hanging")

    opened: list[str] = []
    closed: list[str] = []

    @contextmanager
    def progress(label: str) -> Iterator[None]:
        opened.append(label)
        try:
            yield
        finally:
            closed.append(label)

    timings: dict[str, float] = {}
    jobs = [
        _job("slow", 5, slow),
        _job("broken", 5, broken),
        _job("hanging", 1.0, hanging),
        _job("fast", 5, lambda: _record("fast")),
    ]
    started = time.monotonic()
    try:
        records = run_concurrently(jobs, progress, timings)
    finally:
        release.set()
    elapsed = time.monotonic() - started
    assert elapsed < 1.0 + SLACK_S and elapsed >= 1.0, elapsed  # the hanging probe's budget, not a sum
    assert [r.name for r in records] == ["slow", "broken", "hanging", "fast"]
    assert records[0].body == {"url": "slow"} and records[3].body == {"url": "fast"}
    assert records[1].body["error"] == "the probe failed: RuntimeError: the driver went away"
    assert records[2].body["error"].startswith("did not finish within its time budget of 1 s")
    for record in records[1:3]:
        assert _verdicts(record) == {Verdict.ERROR}
    # Every bar opened at the start; each closed when its probe ended (the fast ones first).
    assert opened == ["slow", "broken", "hanging", "fast"] and sorted(closed) == sorted(opened)
    assert closed.index("hanging") == 3 and closed.index("slow") == 2
    assert set(timings) == set(opened) and timings["slow"] >= 0.6 and timings["hanging"] >= 1.0


def test_an_interrupt_inside_a_probe_is_raised_after_the_others_end() -> None:
    def interrupted() -> Resource:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_concurrently([_job("a", 5, interrupted), _job("b", 5, lambda: _record("b"))], _no_progress)


def test_the_browser_budget_follows_the_crawl() -> None:
    from compliance_checks.probes.browser import Crawl

    assert Budgets().browser(None) == 60 + run_module.BROWSER_GRACE_S
    assert Budgets().browser(Crawl(time_budget_s=300)) == 300 + run_module.BROWSER_GRACE_S
    assert Budgets(browser_s=10).browser(Crawl(time_budget_s=300)) == 10
