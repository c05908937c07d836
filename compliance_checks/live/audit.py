"""``audit --source live``: settings from the command line, the collection, and what the report says about it."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from compliance_checks.inventory import Inventory
from compliance_checks.live.collect import Collection, Collector, Progress
from compliance_checks.live.settings import CLOUDS, LiveSettings, settings_from_environment


def settings_from_args(args: Any) -> LiveSettings:
    """Options win over ``COMPLIANCE_*`` variables, which win over the cloud's defaults."""
    subscriptions = tuple(args.subscription or ())
    if not subscriptions and os.environ.get("AZURE_SUBSCRIPTION_ID"):
        subscriptions = (os.environ["AZURE_SUBSCRIPTION_ID"],)
    settings = LiveSettings(subscriptions=subscriptions).with_cloud(CLOUDS[args.cloud])
    overrides: dict[str, Any] = dict(settings_from_environment())
    for key in ("arm_endpoint", "graph_endpoint", "arm_scope", "graph_scope", "ca_bundle"):
        value = getattr(args, key, None)
        if value:
            overrides[key] = value
    for api in ("arm", "graph"):  # a scope follows its endpoint unless given
        if f"{api}_endpoint" in overrides and f"{api}_scope" not in overrides:
            overrides[f"{api}_scope"] = str(overrides[f"{api}_endpoint"]).rstrip("/") + "/.default"
    if "ca_bundle" in overrides:
        overrides["ca_bundle"] = Path(overrides["ca_bundle"])
    if args.concurrency is not None:
        overrides["concurrency"] = args.concurrency
    if args.deadline is not None:
        overrides["deadline"] = args.deadline
    return replace(settings, **overrides).validate()


def collect_live(settings: LiveSettings, progress: Progress) -> tuple[Inventory, Collection]:
    from compliance_checks.live.credentials import make_credential
    from compliance_checks.sources.live import load_live

    # azure-core logs each retried download as a warning; the report lists what failed for good.
    logging.getLogger("azure").setLevel(logging.ERROR)
    collection = Collector(settings, make_credential(settings), progress=progress).collect()
    return load_live(collection), collection


def collection_section(settings: LiveSettings, collection: Collection) -> dict[str, Any]:
    """``run.collection`` of results.json: where the collector read, how much, and what it could not read."""
    return {
        "subscriptions": list(collection.subscriptions),
        "endpoints": {"arm": settings.arm_endpoint, "graph": settings.graph_endpoint},
        "finishedAt": (collection.finished_at or collection.started_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "requests": dict(sorted(collection.stats.requests.items())),
        "gaps": [{"types": list(g.types), "scope": g.scope, "reason": g.reason} for g in collection.gaps],
    }
