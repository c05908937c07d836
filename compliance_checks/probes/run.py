"""Run every probe against one portal (and optionally its database endpoint), side by side.

The probes (TLS of each endpoint, HTTP, the browser, the database port) run at
the same time (:func:`run_concurrently`): each waits on the network, so the wall
time is the slowest probe's, not the sum. Each probe runs under a total time
budget (:class:`Budgets`), counted from the common start, on top of its own
per-connection and per-page timeouts: a server that accepts connections and
then trickles or never answers, or a crawl whose pages each just stay within
their timeouts, would otherwise hold the audit for as long as it likes. A probe
that is still running when its budget is spent is abandoned (its thread is a
daemon and ends with the process) and its record carries ``error``, so its
checks give ERROR, never PASS; the other probes go on. A probe that raises
gets such a record too, naming the fault; the others' records are kept.
"""

from __future__ import annotations

import functools
import importlib.util
import queue
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from compliance_checks.errors import ComplianceError, UsageError
from compliance_checks.inventory import Resource
from compliance_checks.probes.browser import Crawl, chromium_executable, require_chromium

# The distributions `--probe` imports, by module: the `probes` extra of pyproject.toml.
PROBE_MODULES = {"sslyze": "sslyze", "playwright": "playwright"}
PROBES_EXTRA = "smart-portal-compliance[probes]"


@dataclass(frozen=True)
class Budgets:
    """Seconds each probe may take in total before its record becomes an ERROR."""

    tls_s: float = 180.0  # per endpoint: sslyze tries every cipher suite of every protocol (hundreds of handshakes)
    http_s: float = 60.0  # the plain-HTTP entry, the redirects and the extra paths
    browser_s: float | None = None  # None: the crawl's time_budget_s (else 60 s) plus BROWSER_GRACE_S
    reachability_s: float = 30.0  # every address of the database host

    def browser(self, crawl: Crawl | None) -> float:
        if self.browser_s is not None:
            return self.browser_s
        # The crawl starts no page after its own budget; the grace covers launching Chromium, the page that
        # was started last (navigation, settle, scroll, screenshot) and writing the HAR.
        return (crawl.time_budget_s if crawl is not None else 60.0) + BROWSER_GRACE_S


BROWSER_GRACE_S = 120.0


@dataclass(frozen=True)
class ProbeTarget:
    url: str  # the portal's https URL
    http_url: str | None = None  # its plain-HTTP address (default http://<host>/)
    ca_file: Path | None = None  # an extra trust anchor instead of the system store
    paths: tuple[str, ...] = ()  # pages to visit; default: the URL's own path
    database: tuple[str, int] | None = None  # host, port
    vantage_is_allowed: bool = False  # the audit runs from the allowed IP itself
    host_resolver_rules: str | None = None
    tls_endpoints: tuple[tuple[str, int], ...] = ()  # other public TLS endpoints (SCM site, API host, ...)
    crawl: Crawl | None = None  # the browser's crawl bounds (None: only ``paths``)
    evidence_dir: Path | None = None  # where the browser writes its HAR and screenshots
    chromium: Path | None = None  # the browser to launch (None: $COMPLIANCE_CHROMIUM, else Debian's)
    budgets: Budgets = field(default_factory=Budgets)


def _timed_out(id: str, type: str, name: str, body: dict[str, Any]) -> Callable[[str], Resource]:
    def record(message: str) -> Resource:
        return Resource.create(id=id, type=type, name=name, body={**body, "error": message}, source="probe")

    return record


def parse_endpoint(text: str, option: str = "--database") -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"{option}: expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def require_probe_setup(target: ProbeTarget) -> Path:
    """The Chromium to launch, once the probes' packages and the browser are known to be here.

    Checked before the first probe: without them no probe could give a verdict,
    and the fault is this machine's setup (one line, exit 2), not the portal's.
    """
    missing = sorted(name for name, module in PROBE_MODULES.items() if importlib.util.find_spec(module) is None)
    if missing:
        raise ComplianceError(f"--probe needs {', '.join(missing)} (not installed): pip install '{PROBES_EXTRA}'")
    return require_chromium(target.chromium if target.chromium is not None else chromium_executable())


@dataclass(frozen=True)
class ProbeJob:
    """One probe of :func:`run_concurrently`: what it is called, its budget, the call and its ERROR record."""

    label: str  # the progress message ("Probing TLS of host:443…"), also the key of its timing
    budget_s: float
    probe: Callable[[], Resource]
    error_record: Callable[[str], Resource]  # its record, with ``error``, when the budget is spent or it faulted


def run_concurrently(
    jobs: Sequence[ProbeJob],
    progress: Callable[[str], AbstractContextManager[object]],
    timings: dict[str, float] | None = None,
) -> list[Resource]:
    """Every job's record, in the order of ``jobs``, the jobs running at the same time, each within its budget.

    The probes wait on the network (sslyze's handshakes, Chromium's pages), so running them side by side
    makes the wall time that of the slowest, not the sum. Each job runs in a daemon thread started at the
    same moment, and each budget counts from that moment: a job still running when its own budget is spent
    gets ``error_record``'s record (its thread, a daemon, is abandoned: a thread cannot be stopped from
    outside; the probe's own timeouts end it later, and the process does not wait for it), while the others go
    on. A job that raises an ``Exception`` gets ``error_record``'s record with the fault named: this is the
    boundary between the audit and code that drives remote systems, and one probe's fault must neither hide
    the others' records nor pass for a verdict. Anything else (``SystemExit``, ``KeyboardInterrupt``) is
    raised once every job has ended or been abandoned. Each job's progress bar ends when the job does.
    ``timings`` receives each job's wall time in seconds, by label (until its budget, for one abandoned).
    """
    finished: queue.SimpleQueue[int] = queue.SimpleQueue()
    outcomes: list[dict[str, Any]] = [{} for _ in jobs]

    def work(index: int) -> None:
        outcome = outcomes[index]
        try:
            outcome["record"] = jobs[index].probe()
        except BaseException as exc:  # judged in the caller's thread (below), whatever it is
            outcome["error"] = exc
        outcome["ended"] = time.monotonic()
        finished.put(index)

    records: dict[int, Resource] = {}
    raised: list[BaseException] = []
    bars: dict[int, AbstractContextManager[object]] = {}
    pending = set(range(len(jobs)))

    def end(index: int, seconds: float) -> None:
        pending.discard(index)
        bars.pop(index).__exit__(None, None, None)
        if timings is not None:
            timings[jobs[index].label.rstrip("…")] = seconds

    started = time.monotonic()
    try:
        for index, job in enumerate(jobs):
            bars[index] = progress(job.label)
            bars[index].__enter__()
            threading.Thread(target=work, args=(index,), name=f"probe-{index}", daemon=True).start()
        while pending:
            deadline = min(started + jobs[i].budget_s for i in pending)
            try:
                index = finished.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                now = time.monotonic()
                # One that ended just now is taken from the queue next, as within its budget.
                for i in sorted(i for i in pending if now >= started + jobs[i].budget_s and "ended" not in outcomes[i]):
                    records[i] = jobs[i].error_record(
                        f"did not finish within its time budget of {jobs[i].budget_s:g} s"
                        f" (stopped waiting after {now - started:.1f} s)"
                    )
                    end(i, now - started)
                continue
            if index not in pending:  # it ended after its budget: its ERROR record stands
                continue
            outcome = outcomes[index]
            if "record" in outcome:
                records[index] = outcome["record"]
            elif isinstance(outcome["error"], Exception):
                records[index] = jobs[index].error_record(f"the probe failed: {_one_line(outcome['error'])}")
            else:
                raised.append(outcome["error"])
            end(index, outcome["ended"] - started)
    finally:
        for bar in bars.values():  # interrupted: the bars still open end too
            bar.__exit__(None, None, None)
    if raised:
        raise raised[0]
    return [records[i] for i in range(len(jobs))]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_probes(
    target: ProbeTarget,
    progress: Callable[[str], AbstractContextManager[object]],
    timings: dict[str, float] | None = None,
) -> list[Resource]:
    """Every probe's record: TLS of each endpoint, HTTP, the browser, the database port; run side by side.

    ``timings`` (optional) receives each probe's wall time in seconds, keyed by its progress message.
    """
    from compliance_checks.probes.browser import probe_browser
    from compliance_checks.probes.http import probe_http
    from compliance_checks.probes.reachability import probe_port
    from compliance_checks.probes.tls import probe_tls

    parts = urlsplit(target.url)
    if parts.scheme != "https" or not parts.hostname:
        raise UsageError(f"--probe: expected the portal's https:// URL, got {target.url!r}")
    host, port = parts.hostname, parts.port or 443
    chromium = require_probe_setup(target)
    paths = target.paths or (parts.path or "/",)
    budgets = target.budgets
    jobs = [
        ProbeJob(
            f"Probing TLS of {tls_host}:{tls_port}…",
            budgets.tls_s,
            functools.partial(probe_tls, tls_host, tls_port, ca_file=target.ca_file),
            _timed_out(
                f"probe:tls/{tls_host}:{tls_port}",
                "Probe/tls",
                f"{tls_host}:{tls_port}",
                {"host": tls_host, "port": tls_port, "serverName": tls_host},
            ),
        )
        for tls_host, tls_port in ((host, port), *target.tls_endpoints)
    ]
    jobs.append(
        ProbeJob(
            f"Probing HTTP headers of {target.url}…",
            budgets.http_s,
            lambda: probe_http(target.url, ca_file=target.ca_file, http_url=target.http_url, extra_paths=paths[1:]),
            _timed_out(f"probe:http/{host}", "Probe/http", host, {"url": target.url}),
        )
    )
    jobs.append(
        ProbeJob(
            f"Visiting {target.url} in headless Chromium…",
            budgets.browser(target.crawl),
            # The TLS probe judges the certificate; with a private CA the browser only observes.
            lambda: probe_browser(
                target.url,
                paths=paths,
                ignore_https_errors=target.ca_file is not None,
                host_resolver_rules=target.host_resolver_rules,
                crawl=target.crawl,
                http_url=target.http_url,
                evidence_dir=target.evidence_dir,
                executable=chromium,
            ),
            _timed_out(f"probe:browser/{host}", "Probe/browser", host, {"url": target.url}),
        )
    )
    if target.database is not None:
        db_host, db_port = target.database
        jobs.append(
            ProbeJob(
                f"Trying {db_host}:{db_port} from here…",
                budgets.reachability_s,
                lambda: probe_port(db_host, db_port, vantage_is_allowed=target.vantage_is_allowed),
                _timed_out(
                    f"probe:reachability/{db_host}:{db_port}",
                    "Probe/reachability",
                    f"{db_host}:{db_port}",
                    {"host": db_host, "port": db_port},
                ),
            )
        )
    return run_concurrently(jobs, progress, timings)
