"""One azure-core pipeline per API (ARM, Microsoft Graph): read-only guard, credential, tuned retries, timeouts, paging.

Why a plain :class:`~azure.core.PipelineClient` and not ``ARMPipelineClient``:
the latter adds automatic resource-provider registration, which answers a
409 by POSTing ``/register`` (a write). The collector must only read.

Retry tuning over azure-core's defaults:

* the two POSTs it sends are reads (a Resource Graph query, listing app
  setting names), so they are retried like GETs; azure-core would not retry
  a 429 on POST that carries no ``Retry-After``;
* a server's ``Retry-After`` is honoured but capped (``max_retry_after``), and
  every operation, retries included, ends within ``operation_timeout``, and
  never after the collection's deadline (:attr:`RestClient.deadline`): the
  socket timeouts of each request are cut to the time that remains.

What comes back is not trusted: only a 2xx body is data (a redirect is neither
followed nor read), a next link must stay on the endpoint's origin, and no
text a server sends reaches a message before the bearer token and anything
token-like is cut out of it (:func:`redact`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import requests
from azure.core import PipelineClient
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError
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
from compliance_checks.redaction import remember_secret

USER_AGENT: Final = "smart-portal-compliance-checks"
# The only POSTs the collector may send; both are reads (Reader's */read covers the first).
READ_ONLY_POSTS: Final = (
    re.compile(r"/providers/Microsoft\.ResourceGraph/resources$", re.IGNORECASE),
    re.compile(r"/providers/Microsoft\.Web/sites/[^/]+/config/appsettings/list$", re.IGNORECASE),
)
_RETRIED_METHODS: Final = frozenset({"GET", "HEAD", "POST"})
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}

# What a server may echo back of a request: an Authorization header value, or a bare JWT
# (three base64url parts, the first a JSON header, hence "eyJ").
_BEARER: Final = re.compile(r"Bearer\s+[^\s\"',;]+", re.IGNORECASE)
_JWT: Final = re.compile(r"eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}")
# Every access token this process obtained; no message may carry one (a token shorter than this is not
# cut out verbatim, it would match ordinary words).
_TOKENS: set[str] = set()
_TOKENS_LOCK: Final = threading.Lock()
_MIN_TOKEN_LENGTH: Final = 8


def remember_token(token: str) -> None:
    if len(token) >= _MIN_TOKEN_LENGTH:
        with _TOKENS_LOCK:
            _TOKENS.add(token)
        # A server may also echo it inside the data of a 200 answer: every output is scrubbed of it too.
        remember_secret(token)


def redact(text: str) -> str:
    """``text`` without any token this process obtained, ``Bearer ...`` value or JWT-looking string."""
    with _TOKENS_LOCK:
        known = sorted(_TOKENS, key=len, reverse=True)
    for token in known:
        text = text.replace(token, "[redacted]")
    return _JWT.sub("[redacted]", _BEARER.sub("Bearer [redacted]", text))


class CollectionError(Exception):
    """A request that did not yield a usable answer; the message is one line, names the request, carries no token."""

    def __init__(self, method: str, url: str, problem: str, *, status: int | None = None, code: str | None = None):
        self.method, self.path, self.status, self.code = method, redact(urlsplit(url).path), status, code
        self.problem = redact(" ".join(problem.split()))
        super().__init__(f"{self.problem} ({method} {self.path})")


class GuardedCredential:
    """The credential as the pipelines see it: remembers each token (for :func:`redact`) and fails as azure-core expects.

    A credential is third-party code that may raise anything (a ``ValueError``
    from a malformed environment, an ``OSError`` from a token cache). Any
    exception that is not an ``AzureError`` becomes a ``ClientAuthenticationError``
    with a one-line, redacted message, which azure-core does not retry and the
    collector turns into a gap; it never escapes as a traceback.
    """

    def __init__(self, credential: TokenCredential) -> None:
        self.credential = credential

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        try:
            token = self.credential.get_token(*scopes, **kwargs)
        except AzureError as exc:
            raise ClientAuthenticationError(message=_one_line(exc)) from None
        except Exception as exc:  # the documented boundary above: whatever the credential raises
            raise ClientAuthenticationError(
                message=f"credential failed: {type(exc).__name__}: {_one_line(exc)}"
            ) from None
        remember_token(str(token.token))
        return token


def _one_line(exc: BaseException) -> str:
    message = exc.message if isinstance(exc, AzureError) and exc.message else str(exc)
    return _short(str(message), 300)


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
        # time.monotonic() after which no request is sent and none waits longer (None: only the per-request limits)
        self.deadline: float | None = None
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
            BearerTokenCredentialPolicy(
                credential if isinstance(credential, GuardedCredential) else GuardedCredential(credential), scope
            ),
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
            response = self._client.send_request(request, **self._limits(method, url))
            status = response.status_code
            text = response.text()
        except CollectionError:
            raise
        except AzureError as exc:
            raise CollectionError(method, url, _describe(exc)) from None
        if 300 <= status < 400:
            # Never followed (it would carry the token wherever it points) and never data: a redirect's body is
            # whatever the server chose to put there.
            raise CollectionError(method, url, f"HTTP {status}: a redirect is not followed", status=status)
        if not 200 <= status < 300:
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

    def _limits(self, method: str, url: str) -> dict[str, Any]:
        """Per-call timeouts: the configured ones, cut to what remains before the deadline."""
        if self.deadline is None:
            return {}
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CollectionError(method, url, "not sent: the collection deadline has passed")
        settings = self.settings
        return {
            "timeout": min(settings.operation_timeout, remaining),  # RetryPolicy: the whole operation
            "connection_timeout": min(settings.connect_timeout, remaining),
            "read_timeout": min(settings.read_timeout, remaining),
        }

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


def _origin(url: str) -> tuple[str, str | None, int | None] | None:
    """(scheme, host, port) with the scheme's default port made explicit; None if the port is not a number."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return None
    return scheme, parts.hostname, port if port is not None else _DEFAULT_PORTS.get(scheme)


def _same_origin(link: str, base: str) -> bool:
    """``https://host/`` and ``https://host:443/`` are one origin; another scheme, host or port is not."""
    a, b = _origin(link), _origin(base)
    return a is not None and a == b and a[1] is not None


def _error_of(text: str) -> tuple[str, str]:
    """ARM and Graph both answer ``{"error": {"code", "message"}}``; anything else is shown shortened.

    Redacted before it is shortened: a token cut in half would no longer be recognised.
    """
    try:
        document = json.loads(text)
    except ValueError:
        return "", _short(text, 160)
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        return _short(str(error.get("code") or ""), 80), _short(str(error.get("message") or ""), 240)
    return "", _short(text, 160)


def _short(text: str, limit: int) -> str:
    return redact(" ".join(text.split()))[:limit]


def _describe(exc: AzureError) -> str:
    kind = type(exc).__name__
    # Exception texts of the transport can be long; the first clause says enough.
    return f"{kind}: {_short(str(exc.message if hasattr(exc, 'message') else exc), 200)}"
