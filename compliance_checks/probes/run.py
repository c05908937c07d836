"""Run every probe against one portal (and optionally its database endpoint).

Each probe runs under a total time budget (:class:`Budgets`), on top of its
own per-connection and per-page timeouts: a server that accepts connections and
then trickles or never answers, or a crawl whose pages each just stay within
their timeouts, would otherwise hold the audit for as long as it likes. A probe
that is still running when its budget is spent is abandoned (its thread is a
daemon and ends with the process) and its record carries ``error``, so its
checks give ERROR, never PASS, and the next probe starts.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
import time
from collections.abc import Callable
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


def within_budget(seconds: float, probe: Callable[[], Resource], on_timeout: Callable[[str], Resource]) -> Resource:
    """``probe()``'s record, or ``on_timeout(message)``'s when it has not finished after ``seconds``.

    The probe runs in a daemon thread (a thread cannot be stopped from outside; the probes' own timeouts end
    it later, and the process does not wait for it). What it raises is raised here, as if called directly.
    """
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["record"] = probe()
        except BaseException as exc:  # handed to the caller's thread unchanged, whatever it is
            outcome["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=work, name="probe", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        waited = time.monotonic() - started
        return on_timeout(
            f"did not finish within its time budget of {seconds:g} s (stopped waiting after {waited:.1f} s)"
        )
    if "error" in outcome:
        raise outcome["error"]
    record: Resource = outcome["record"]
    return record


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


def run_probes(target: ProbeTarget, progress: Callable[[str], AbstractContextManager[object]]) -> list[Resource]:
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
    records = []
    for tls_host, tls_port in ((host, port), *target.tls_endpoints):
        with progress(f"Probing TLS of {tls_host}:{tls_port}…"):
            records.append(
                within_budget(
                    budgets.tls_s,
                    functools.partial(probe_tls, tls_host, tls_port, ca_file=target.ca_file),
                    _timed_out(
                        f"probe:tls/{tls_host}:{tls_port}",
                        "Probe/tls",
                        f"{tls_host}:{tls_port}",
                        {"host": tls_host, "port": tls_port, "serverName": tls_host},
                    ),
                )
            )
    with progress(f"Probing HTTP headers of {target.url}…"):
        records.append(
            within_budget(
                budgets.http_s,
                lambda: probe_http(target.url, ca_file=target.ca_file, http_url=target.http_url, extra_paths=paths[1:]),
                _timed_out(f"probe:http/{host}", "Probe/http", host, {"url": target.url}),
            )
        )
    with progress(f"Visiting {target.url} in headless Chromium…"):
        # The TLS probe judges the certificate; with a private CA the browser only observes.
        records.append(
            within_budget(
                budgets.browser(target.crawl),
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
        with progress(f"Trying {db_host}:{db_port} from here…"):
            records.append(
                within_budget(
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
    return records
