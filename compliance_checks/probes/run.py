"""Run every probe against one portal (and optionally its database endpoint)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from compliance_checks.errors import ComplianceError, UsageError
from compliance_checks.inventory import Resource
from compliance_checks.probes.browser import Crawl, chromium_executable, require_chromium

# The distributions `--probe` imports, by module: the `probes` extra of pyproject.toml.
PROBE_MODULES = {"sslyze": "sslyze", "playwright": "playwright"}
PROBES_EXTRA = "smart-portal-compliance[probes]"


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
    records = []
    for tls_host, tls_port in ((host, port), *target.tls_endpoints):
        with progress(f"Probing TLS of {tls_host}:{tls_port}…"):
            records.append(probe_tls(tls_host, tls_port, ca_file=target.ca_file))
    with progress(f"Probing HTTP headers of {target.url}…"):
        records.append(probe_http(target.url, ca_file=target.ca_file, http_url=target.http_url, extra_paths=paths[1:]))
    with progress(f"Visiting {target.url} in headless Chromium…"):
        # The TLS probe judges the certificate; with a private CA the browser only observes.
        records.append(
            probe_browser(
                target.url,
                paths=paths,
                ignore_https_errors=target.ca_file is not None,
                host_resolver_rules=target.host_resolver_rules,
                crawl=target.crawl,
                http_url=target.http_url,
                evidence_dir=target.evidence_dir,
                executable=chromium,
            )
        )
    if target.database is not None:
        db_host, db_port = target.database
        with progress(f"Trying {db_host}:{db_port} from here…"):
            records.append(probe_port(db_host, db_port, vantage_is_allowed=target.vantage_is_allowed))
    return records
