"""One azure-core pipeline per API (ARM, Microsoft Graph): read-only guard, credential, tuned retries, timeouts, paging.

Why a plain :class:`~azure.core.PipelineClient` and not ``ARMPipelineClient``:
the latter adds automatic resource-provider registration, which answers a
409 by POSTing ``/register`` (a write). The collector must only read.

Retry tuning over azure-core's defaults:

* the two POSTs it sends are reads (a Resource Graph query, listing app
  setting names), so they are retried like GETs; azure-core would not retry
  a 429 on POST that carries no ``Retry-After``;
* a server's ``Retry-After`` is honoured but capped (``max_retry_after``), and
  every operation, retries included, ends within ``operation_timeout``.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import requests
from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    HTTPPolicy,
    RequestIdPolicy,
    RetryPolicy,
    SansIOHTTPPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest

from compliance_checks.live.settings import LiveSettings

USER_AGENT: Final = "smart-portal-compliance-checks"
# The only POSTs the collector may send; both are reads (Reader's */read covers the first).
READ_ONLY_POSTS: Final = (
    re.compile(r"/providers/Microsoft\.ResourceGraph/resources$", re.IGNORECASE),
    re.compile(r"/providers/Microsoft\.Web/sites/[^/]+/config/appsettings/list$", re.IGNORECASE),
)
_RETRIED_METHODS: Final = frozenset({"GET", "HEAD", "POST"})


class CollectionError(Exception):
    """A request that did not yield a usable answer; the message is one line and names the request."""

    def __init__(self, method: str, url: str, problem: str, *, status: int | None = None, code: str | None = None):
        self.method, self.path, self.status, self.code = method, urlsplit(url).path, status, code
        self.problem = problem
        super().__init__(f"{problem} ({method} {self.path})")


def _read_only(method: str, path: str) -> bool:
    return method == "GET" or (method == "POST" and any(p.search(path) for p in READ_ONLY_POSTS))


class ReadOnlyPolicy(SansIOHTTPPolicy[Any, Any]):
    """Refuses, before it is sent, every request that is not a read."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        path = urlsplit(http.url).path
        if not _read_only(http.method.upper(), path):
            raise CollectionError(http.method, http.url, "refused: the collector only reads")


class BoundedRetryPolicy(RetryPolicy[Any, Any]):
    def __init__(self, *, max_retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_retry_after = max_retry_after

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().configure_retries(options)
        settings["methods"] = _RETRIED_METHODS  # only reads pass ReadOnlyPolicy, POSTs included
        return settings

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(max(value, 0.0), self.max_retry_after)


@dataclass
class Stats:
    """What went over the wire (every attempt, retries included)."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    throttled_waits: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, api: str, status: int | None) -> None:
        with self._lock:
            self.requests[api] += 1
            if status is not None:
                self.statuses[status] += 1

    def waited(self, seconds: float) -> None:
        with self._lock:
            self.throttled_waits += seconds

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class CountingPolicy(HTTPPolicy[Any, Any]):
    def __init__(self, api: str, stats: Stats) -> None:
        super().__init__()
        self.api, self.stats = api, stats

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        try:
            response = self.next.send(request)
        except Exception:
            self.stats.record(self.api, None)
            raise
        self.stats.record(self.api, response.http_response.status_code)
        return response


@dataclass(frozen=True)
class Reply:
    body: dict[str, Any]
    headers: Mapping[str, str]


class RestClient:
    """JSON over one API. ``api`` names it in statistics and errors (``arm``, ``graph``)."""

    def __init__(
        self,
        api: str,
        base_url: str,
        *,
        scope: str,
        credential: TokenCredential,
        settings: LiveSettings,
        stats: Stats,
    ) -> None:
        self.api, self.base_url, self.settings = api, base_url.rstrip("/"), settings
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=settings.concurrency + 4)
        session.mount("https://", adapter)
        self._session = session
        transport = RequestsTransport(
            session=session,
            session_owner=False,
            connection_verify=str(settings.ca_bundle) if settings.ca_bundle else True,
            connection_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        )
        policies: list[Any] = [
            ReadOnlyPolicy(),
            RequestIdPolicy(),
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy(base_user_agent=USER_AGENT),
            BoundedRetryPolicy(
                retry_total=settings.retries,
                retry_connect=settings.retries,
                retry_read=settings.retries,
                retry_status=settings.retries,
                retry_backoff_factor=settings.backoff_factor,
                retry_backoff_max=settings.backoff_max,
                timeout=settings.operation_timeout,
                max_retry_after=settings.max_retry_after,
            ),
            BearerTokenCredentialPolicy(credential, scope),
            CountingPolicy(api, stats),
        ]
        self._client: PipelineClient[Any, Any] = PipelineClient(self.base_url, policies=policies, transport=transport)

    def close(self) -> None:
        self._client.close()
        self._session.close()

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else self.base_url + path

    def send(self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None) -> Reply:
        url = self.url(path)
        request = HttpRequest(method, url, params=dict(params or {}), json=body)
        try:
            response = self._client.send_request(request)
        except CollectionError:
            raise
        except AzureError as exc:
            raise CollectionError(method, url, _describe(exc)) from None
        status = response.status_code
        text = response.text()
        if status >= 400:
            code, message = _error_of(text)
            raise CollectionError(
                method, url, f"HTTP {status} {code}: {message}".rstrip(": "), status=status, code=code
            )
        try:
            document = json.loads(text) if text else None
        except ValueError:
            raise CollectionError(method, url, f"HTTP {status} with a malformed JSON body", status=status) from None
        if not isinstance(document, dict):
            raise CollectionError(method, url, f"HTTP {status} without a JSON object", status=status)
        return Reply(document, dict(response.headers))

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self.send("GET", path, params=params).body

    def pages(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        next_key: str = "nextLink",
        max_pages: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's ``value`` array, following ``next_key`` links; a link seen twice is an error, not a loop."""
        limit = max_pages or self.settings.max_pages
        seen: set[str] = set()
        url: str | None = path
        current_params: Mapping[str, str] | None = params
        for _ in range(limit):
            assert url is not None
            body = self.get(url, current_params)
            value = body.get("value")
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                raise CollectionError("GET", self.url(url), "answer has no 'value' array of objects")
            yield value
            link = body.get(next_key)
            if not link:
                return
            if not isinstance(link, str) or not _same_origin(link, self.base_url):
                # A next link elsewhere would carry the bearer token to another host.
                raise CollectionError("GET", self.url(url), f"{next_key} points outside {self.base_url}")
            if link in seen:
                raise CollectionError("GET", link, f"{next_key} repeats an earlier page (a paging loop)")
            seen.add(link)
            url, current_params = link, None
        raise CollectionError("GET", self.url(path), f"more than {limit} pages")


def _same_origin(link: str, base: str) -> bool:
    a, b = urlsplit(link), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def _error_of(text: str) -> tuple[str, str]:
    """ARM and Graph both answer ``{"error": {"code", "message"}}``; anything else is shown shortened."""
    try:
        document = json.loads(text)
    except ValueError:
        return "", " ".join(text.split())[:160]
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or ""), " ".join(str(error.get("message") or "").split())[:240]
    return "", " ".join(text.split())[:160]


def _describe(exc: AzureError) -> str:
    kind = type(exc).__name__
    message = " ".join(str(exc.message if hasattr(exc, "message") else exc).split())
    # Exception texts of the transport can be long; the first clause says enough.
    return f"{kind}: {message[:200]}"
