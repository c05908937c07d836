"""Where the collector connects and how patiently: clouds, endpoints, scopes, CA bundle, limits.

Every endpoint is configurable so sovereign clouds and the local test
harness run the same code as the public cloud.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from compliance_checks.errors import UsageError


@dataclass(frozen=True)
class Cloud:
    name: str
    arm_endpoint: str
    graph_endpoint: str
    authority_host: str

    @property
    def arm_scope(self) -> str:
        return self.arm_endpoint.rstrip("/") + "/.default"

    @property
    def graph_scope(self) -> str:
        return self.graph_endpoint.rstrip("/") + "/.default"


CLOUDS: Mapping[str, Cloud] = {
    cloud.name: cloud
    for cloud in (
        Cloud(
            "AzureCloud",
            "https://management.azure.com",
            "https://graph.microsoft.com",
            "https://login.microsoftonline.com",
        ),
        Cloud(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://graph.microsoft.us",
            "https://login.microsoftonline.us",
        ),
        Cloud(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
        ),
    )
}


@dataclass(frozen=True)
class LiveSettings:
    """Everything the collector needs besides the credential.

    Timeouts are per request (connect, read) and per operation including its
    retries (``operation_timeout``); ``deadline`` bounds the whole collection.
    """

    subscriptions: tuple[str, ...]
    arm_endpoint: str = CLOUDS["AzureCloud"].arm_endpoint
    graph_endpoint: str = CLOUDS["AzureCloud"].graph_endpoint
    arm_scope: str = CLOUDS["AzureCloud"].arm_scope
    graph_scope: str = CLOUDS["AzureCloud"].graph_scope
    authority_host: str = CLOUDS["AzureCloud"].authority_host
    ca_bundle: Path | None = None
    concurrency: int = 16
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    operation_timeout: float = 120.0
    deadline: float = 900.0
    retries: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 60.0
    page_size: int = 1000
    max_pages: int = 10_000
    include_graph: bool = True

    def with_cloud(self, cloud: Cloud) -> LiveSettings:
        return replace(
            self,
            arm_endpoint=cloud.arm_endpoint,
            graph_endpoint=cloud.graph_endpoint,
            arm_scope=cloud.arm_scope,
            graph_scope=cloud.graph_scope,
            authority_host=cloud.authority_host,
        )

    def validate(self) -> LiveSettings:
        if not self.subscriptions:
            raise UsageError("--subscription: at least one subscription ID is required for --source live")
        for sub in self.subscriptions:
            if not _is_guid(sub):
                raise UsageError(f"--subscription: {sub!r} is not a subscription ID (a GUID)")
        for option, url in (("--arm-endpoint", self.arm_endpoint), ("--graph-endpoint", self.graph_endpoint)):
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                # Bearer tokens only ever travel over TLS.
                raise UsageError(f"{option}: expected an https:// URL, got {url!r}")
        if self.ca_bundle is not None and not self.ca_bundle.is_file():
            raise UsageError(f"--ca-bundle: {self.ca_bundle}: no such file")
        if not 1 <= self.concurrency <= 256:
            raise UsageError(f"--concurrency: expected 1..256, got {self.concurrency}")
        if not self.deadline > 0:  # also refuses NaN: a collection without an end could outlive any CI job
            raise UsageError(f"--deadline: expected a positive number of seconds, got {self.deadline:g}")
        if not 1 <= self.page_size <= 1000:
            raise UsageError(f"page size: Resource Graph returns at most 1000 rows a page, got {self.page_size}")
        return self


def _is_guid(text: str) -> bool:
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(c in "0123456789abcdefABCDEF" for c in "".join(parts))


def settings_from_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Endpoint overrides from ``COMPLIANCE_*`` variables (the CLI options win)."""
    env = os.environ if env is None else env
    names = {
        "arm_endpoint": "COMPLIANCE_ARM_ENDPOINT",
        "graph_endpoint": "COMPLIANCE_GRAPH_ENDPOINT",
        "arm_scope": "COMPLIANCE_ARM_SCOPE",
        "graph_scope": "COMPLIANCE_GRAPH_SCOPE",
        "ca_bundle": "COMPLIANCE_CA_BUNDLE",
    }
    return {key: env[var] for key, var in names.items() if env.get(var)}
