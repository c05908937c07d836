"""The list of known analytics and tracking hosts (``data/trackers.txt``)."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def tracker_hosts() -> frozenset[str]:
    text = resources.files("compliance_checks").joinpath("data/trackers.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_tracker(host: str) -> bool:
    """True for a listed host or any subdomain of one."""
    host = host.strip().lower().rstrip(".")
    hosts = tracker_hosts()
    parts = host.split(".")
    return any(".".join(parts[i:]) in hosts for i in range(len(parts) - 1))
