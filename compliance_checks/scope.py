"""What an audit covered: the estate's host names (which probes count for it) and the scope block of the report.

A probe tells what a visitor of *that* host experiences. It is evidence for the
audited stack only when the host is one of the stack's: a web app's
``defaultHostName``, ``hostNames``, ``enabledHostNames`` or
``hostNameSslStates[].name``, or the name of a ``hostNameBindings`` child
(property names from the Azure REST API specs, Microsoft.Web 2024-11-01,
``examples/CreateOrUpdateWebApp.json`` at commit e94c4a58e81735a7947339f69c26f28cd8562955).
A probe of any other host is reported as such and does not count
(``--probe-of-stack`` records the operator's word that it serves the stack,
e.g. a staging address, and the report says so).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from compliance_checks.inventory import Inventory

_SITE_TYPES = ("Microsoft.Web/sites", "Microsoft.Web/sites/slots")
_BINDING_TYPES = ("Microsoft.Web/sites/hostNameBindings", "Microsoft.Web/sites/slots/hostNameBindings")
_HOST_LISTS = ("hostNames", "enabledHostNames")


def _host(value: object) -> str | None:
    return value.strip().rstrip(".").lower() if isinstance(value, str) and value.strip() else None


def stack_host_names(inventory: Inventory) -> set[str]:
    """Every host name the inventory says the estate answers on (only values it knows: an unknown is none)."""
    hosts: set[str] = set()
    for resource in inventory:
        if resource.type in _SITE_TYPES:
            body = resource.body.get("properties")
            properties = body if isinstance(body, Mapping) else {}
            candidates: list[object] = [properties.get("defaultHostName")]
            for key in _HOST_LISTS:
                values = properties.get(key)
                if isinstance(values, list):
                    candidates.extend(values)
            states = properties.get("hostNameSslStates")
            if isinstance(states, list):
                candidates.extend(s.get("name") for s in states if isinstance(s, Mapping))
            hosts.update(h for h in map(_host, candidates) if h)
        elif resource.type in _BINDING_TYPES and (host := _host(resource.name)):
            hosts.add(host)
    return hosts


def probe_hosts(urls: Iterable[str]) -> list[str]:
    """The host names of the probe targets, lower-case, in order, once each."""
    return list(dict.fromkeys(h for u in urls if (h := (urlsplit(u).hostname or "").lower())))


def foreign_probe_reason(targets: Sequence[str], stack_hosts: set[str]) -> str:
    """Why probes of ``targets`` do not count for the stack; empty when every target is one of its hosts."""
    foreign = [h for h in targets if h not in stack_hosts]
    if not foreign:
        return ""
    known = ", ".join(sorted(stack_hosts)) or "none known to this source"
    return (
        f"probe target {', '.join(foreign)} is not a host name of the audited stack ({known}); "
        "add --probe-of-stack if it serves this stack"
    )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _commit(root: Path) -> str | None:
    """The repository commit the audit ran from: $GITHUB_SHA in Actions, else `git rev-parse HEAD`, else none."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def _ci_run_url() -> str | None:
    """The GitHub Actions run (documented default variables GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID)."""
    parts = [os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


def _run_by() -> str:
    actor = os.environ.get("GITHUB_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "unknown"


def scope_section(
    *,
    sources: Sequence[str],
    stack: str | None,
    inventory: Inventory,
    probed: Sequence[str],
    probes_count: bool,
    probe_of_stack: bool,
    layer: str,
    started_at: str,
    finished_at: str,
    tool_version: str,
    placeholders: Sequence[str] = (),
) -> dict[str, Any]:
    """The report's scope block: what was audited, from which commit and texts, by whom, where and when."""
    from compliance_checks.catalog import CATALOG_DIR, CLAIMS_FILE, POLICY_FILE

    root = CATALOG_DIR.parent.parent
    subscriptions = sorted(
        {
            r.id.split("/")[2].lower()
            for r in inventory
            if r.id.lower().startswith("/subscriptions/") and r.id.count("/") >= 2
        }
    )
    return {
        "sources": list(sources),
        "layer": layer,
        "stack": stack,
        "subscriptions": subscriptions,
        "stackHosts": sorted(stack_host_names(inventory)),
        "probedHosts": list(probed),
        "probesCount": probes_count,
        "probeOfStackAsserted": probe_of_stack,
        "commit": _commit(root),
        "policySha256": sha256_of(CATALOG_DIR / POLICY_FILE),
        "catalogSha256": sha256_of(CATALOG_DIR / CLAIMS_FILE),
        "toolVersion": tool_version,
        "runBy": _run_by(),
        "host": platform.node() or "unknown",
        "ciRunUrl": _ci_run_url(),
        "startedAt": started_at,
        "finishedAt": finished_at,
        # Values the offline synthesis invented (its mock subscription): they name nothing in Azure.
        "placeholderIds": bool(placeholders),
        "placeholders": list(placeholders),
    }
