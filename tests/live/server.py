"""A local HTTPS stand-in for ARM, Azure Resource Graph and Microsoft Graph, on 127.0.0.1 with a test CA.

It serves an :class:`~tests.live.model.Estate` the way the public REST APIs
do (shapes from the azure-rest-api-specs examples and the Graph v1.0 docs):

* ARM ``GET {id}?api-version=`` returns one resource; ``GET {parent}/{collection}``
  returns ``{"value": [...], "nextLink": ...}`` pages; role assignments are
  listed for a whole subscription; errors are ``{"error": {"code", "message"}}``.
* ``POST /providers/Microsoft.ResourceGraph/resources`` answers the
  collector's own three queries (``resources``, resource groups, and the
  ``appserviceresources`` rows of every site's ``config/web``) with
  ``totalRecords/count/data/facets/resultTruncated/$skipToken``, ``$top`` at
  most 1000, and the per-user quota headers.
* Microsoft Graph ``/v1.0/...`` lists with ``@odata.nextLink``;
  ``servicePrincipals`` takes ``$filter=appId eq '...'`` (any other filter is
  400 ``Request_UnsupportedQuery``, as Graph answers an unsupported query) and
  ``servicePrincipals/{id}/appRoleAssignedTo`` lists the assignments stored
  under that path; both honour ``$select``.
* Role assignments and role definitions are not in the ``resources`` table
  (Resource Graph keeps them in ``authorizationresources``); ARM lists them.
* Every write is refused (403 ``AuthorizationFailed``, as for a Reader) and recorded.

Faults are injected per request pattern (see :class:`Fault`); ``latency``
delays every answer. ``requests`` records what arrived.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from compliance_checks.live.resource_graph import RESOURCE_GROUPS_QUERY, RESOURCES_QUERY, SITE_CONFIG_QUERY
from tests.live.model import Estate

FaultKind = Literal[
    "throttle",  # 429 with Retry-After
    "throttle-no-retry-after",  # 429 without it
    "error500",
    "error503",
    "slow",  # answers after `delay` seconds
    "reset",  # closes the connection (RST) without answering
    "truncate",  # promises the whole body, sends half, closes
    "malformed",  # a complete 200 whose body is not JSON
    "loop",  # the next link points back at the first page
    "forbidden",  # 403 AuthorizationFailed
    # Hostile answers: the collector must not trust them.
    "redirect",  # 302 to the same path, with the real answer as its body
    "echo-token",  # 400 whose error message repeats the Authorization header and the bare token
    "total-mismatch",  # Resource Graph: totalRecords one more than the rows it delivers
    "count-mismatch",  # Resource Graph: a page's count one more than its rows
    "hang",  # accepts the request, never answers (for `delay` seconds)
    "trickle",  # headers promising the whole answer, then one byte every 0.2 s for `delay` seconds
]


@dataclass
class Fault:
    """Inject ``kind`` into requests whose ``METHOD path`` matches ``pattern`` (a regex), ``times`` times (None: always).

    A Resource Graph query's line ends with its table (``POST /providers/Microsoft.ResourceGraph/resources
    appserviceresources``), so a fault can hit one query and spare the others.
    """

    pattern: str
    kind: FaultKind
    times: int | None = 1
    delay: float = 5.0
    retry_after: str = "1"
    hits: int = 0

    def take(self, line: str) -> bool:
        if not re.search(self.pattern, line, re.IGNORECASE):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class FakeAzure:
    estate: Estate
    cert: Path
    key: Path
    page_size: int = 50  # service list pages; Resource Graph uses the client's $top
    graph_page_size: int = 2
    latency: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    quota: int | None = None  # Resource Graph queries per window (None: no quota headers)
    # Graph documents that query parameters may fail silently: True answers servicePrincipals as if $filter and
    # $select were not there.
    ignore_graph_query: bool = False
    # Hostile content: rows Resource Graph appends to the `resources` table after the estate's (a second,
    # different copy of a resource; a row with a non-string id ...), and a cap on its page size (it may return
    # fewer rows than $top), so an appended copy lands on a later page than the original.
    extra_rows: list[dict[str, Any]] = field(default_factory=list)
    rg_page_cap: int | None = None
    # Sites whose config/web row Resource Graph does not (yet) hold: its table lags behind ARM.
    unindexed_site_configs: list[str] = field(default_factory=list)
    port: int = 0  # 0: any free port
    # Where next links point (None: this server). Another host, scheme or port must not be followed.
    link_base: str | None = None
    requests: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _quota_used: int = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def writes(self) -> list[Seen]:
        """Requests that were not reads: anything but GET and the two read-only POSTs."""
        reads = re.compile(r"^/providers/microsoft\.resourcegraph/resources$|/config/appsettings/list$", re.IGNORECASE)
        return [r for r in self.requests if r.method != "GET" and not (r.method == "POST" and reads.search(r.path))]

    def _index(self) -> None:
        """Look-up tables over the estate, made once when the server starts."""
        arm = self.estate.arm
        self.by_id = {key.lower(): body for key, body in arm.items()}
        self.children: dict[str, list[dict[str, Any]]] = {}
        for key in sorted(arm, key=str.lower):
            self.children.setdefault(key.lower().rsplit("/", 1)[0], []).append(arm[key])
        self.rows = sorted(
            (_graph_row(r) for r in arm.values() if _top_level(r) and not _authorization(r)),
            key=lambda row: str(row["id"]).lower(),
        ) + list(self.extra_rows)
        # appserviceresources: a site's config/web as its row, type lower-cased like every Resource Graph row
        # (the table: MicrosoftDocs/azure-docs .../resource-graph/reference/supported-tables-resources.md, commit
        # 00ec1e2ffaf3dae643b5ccfe48e613c9e21f1aae).
        lagging = {site.lower() for site in self.unindexed_site_configs}
        self.site_config_rows = [
            {key: row[key] for key in ("id", "name", "type", "location", "properties")}
            for row in (_graph_row(r) for r in sorted(arm.values(), key=lambda r: str(r["id"]).lower()))
            if str(row["id"]).lower().endswith("/config/web")
            and row["type"] == "microsoft.web/sites/config"
            and str(row["id"]).lower().removesuffix("/config/web") not in lagging
        ]
        self.group_rows = [
            {**_graph_row(r), "type": "microsoft.resources/subscriptions/resourcegroups"}
            for r in sorted(arm.values(), key=lambda r: str(r["id"]).lower())
            if str(r.get("type", "")).lower() == "microsoft.resources/resourcegroups"
        ]

    def __enter__(self) -> FakeAzure:
        self._index()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        fake = self

        class Handler(_Handler):
            azure = fake

        server = _Server(("127.0.0.1", self.port), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- helpers for the handler -----------------------------------------------------------------------------

    def fault_for(self, line: str) -> Fault | None:
        with self._lock:
            return next((f for f in self.faults if f.take(line)), None)

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def quota_headers(self) -> dict[str, str]:
        if self.quota is None:
            return {}
        with self._lock:
            self._quota_used += 1
            remaining = max(self.quota - self._quota_used, 0)
            if remaining == 0:
                self._quota_used = 0  # the window "resets" once the client has waited
        return {"x-ms-user-quota-remaining": str(remaining), "x-ms-user-quota-resets-after": "00:00:01"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and timeouts are part of the tests

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        # Headers and body go out as separate writes; without TCP_NODELAY the body waits for the client's delayed
        # ACK (Nagle), adding ~40 ms to every answer on a kept-alive connection: an artefact of this stand-in, not
        # of Azure, which would otherwise dominate the measured latency.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _encode_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int | None:
    try:
        value = json.loads(base64.b64decode(token.encode(), validate=True)).get("offset")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value >= 0 else None


class _Handler(BaseHTTPRequestHandler):
    azure: FakeAzure
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing ------------------------------------------------------------------------------------------

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None, fault: Fault | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", "00000000-0000-0000-0000-000000000000")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if fault is not None and fault.kind == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if fault is not None and fault.kind == "trickle":
            ends = time.monotonic() + fault.delay
            for byte in data:
                if time.monotonic() > ends:
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
            self.close_connection = True
            return
        self.wfile.write(data)

    def _reset(self) -> None:
        # SO_LINGER 0: the close sends RST, as a dropped connection does.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        seen = Seen(method, parts.path, query, body)
        self.azure.record(seen)
        if self.azure.latency:
            time.sleep(self.azure.latency)
        line = f"{method} {parts.path}"
        if isinstance(body, dict) and isinstance(body.get("query"), str) and body["query"].split():
            line += (
                f" {body['query'].split()[0]}"  # a fault may pick one Resource Graph table ("... appserviceresources")
            )
        fault = self.azure.fault_for(line)
        status, answer, headers = self._route(method, parts.path, query, body, fault)
        seen.status = status
        if fault is not None:
            if fault.kind == "reset":
                seen.status = -1
                self._reset()
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "hang":
                time.sleep(fault.delay)
                self.close_connection = True
                return
            elif fault.kind == "redirect":
                seen.status = 302
                self._reply(302, answer, {"Location": f"{self.azure.url}{self.path}"})
                return
            elif fault.kind == "echo-token":
                seen.status = 400
                sent = self.headers.get("Authorization", "")
                message = f"Invalid authentication header '{sent}'; token {sent.removeprefix('Bearer ')} rejected."
                self._reply(400, _error("InvalidAuthenticationToken", message))
                return
            elif fault.kind == "malformed" and status == 200:
                self._reply(200, b'{"value": [ {"id": ')
                return
            elif fault.kind in ("throttle", "throttle-no-retry-after"):
                seen.status = 429
                extra = {"Retry-After": fault.retry_after} if fault.kind == "throttle" else {}
                self._reply(429, _error("TooManyRequests", "Too many requests; please retry later."), extra)
                return
            elif fault.kind in ("error500", "error503"):
                seen.status = int(fault.kind[-3:])
                self._reply(seen.status, _error("InternalServerError", "Encountered internal server error."))
                return
            elif fault.kind == "forbidden":
                seen.status = 403
                self._reply(
                    403,
                    _error("AuthorizationFailed", f"The client does not have authorization to read '{parts.path}'."),
                )
                return
        self._reply(status, answer, headers, fault)

    # -- routing ---------------------------------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, fault: Fault | None
    ) -> tuple[int, Any, dict[str, str]]:
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return (
                401,
                _error("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
                {},
            )
        if method == "POST" and path.lower() == "/providers/microsoft.resourcegraph/resources":
            return self._resource_graph(body, fault)
        if method == "POST" and path.lower().endswith("/config/appsettings/list"):
            return self._app_settings(path[: -len("/config/appsettings/list")])
        if method != "GET":
            return (
                403,
                _error(
                    "AuthorizationFailed",
                    f"The client does not have authorization to perform action '{method}' over scope '{path}'.",
                ),
                {},
            )
        if path.startswith("/v1.0/"):
            return self._graph(path[len("/v1.0/") :], query, fault)
        if "api-version" not in query:
            return (
                400,
                _error(
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                ),
                {},
            )
        return self._arm(path, query, fault)

    def _page(
        self,
        items: list[dict[str, Any]],
        path: str,
        query: dict[str, list[str]],
        *,
        size: int,
        link_key: str,
        fault: Fault | None,
    ) -> tuple[int, Any, dict[str, str]]:
        offset = int(query.get("$skiptoken", ["0"])[0] or 0)
        page = items[offset : offset + size]
        answer: dict[str, Any] = {"value": page}
        if offset + size < len(items) or (fault is not None and fault.kind == "loop"):
            params = {k: v[0] for k, v in query.items() if k != "$skiptoken"}
            following = 0 if fault is not None and fault.kind == "loop" else offset + size
            params["$skiptoken"] = str(following)
            answer[link_key] = f"{self.azure.link_base or self.azure.url}{path}?{urlencode(params)}"
        return 200, answer, {}

    def _arm(self, path: str, query: dict[str, list[str]], fault: Fault | None) -> tuple[int, Any, dict[str, str]]:
        azure, wanted = self.azure, path.rstrip("/").lower()
        if wanted in azure.by_id:
            return 200, azure.by_id[wanted], {}
        if re.fullmatch(r"/subscriptions/[^/]+/providers/microsoft\.authorization/roleassignments", wanted):
            prefix = wanted.split("/providers/")[0] + "/"
            items = [
                r for k, r in sorted(azure.by_id.items())
                if k.startswith(prefix) and str(r.get("type", "")).lower() == "microsoft.authorization/roleassignments"
            ]  # fmt: skip
            return self._page(items, path, query, size=azure.page_size, link_key="nextLink", fault=fault)
        parent = wanted.rsplit("/", 1)[0]
        if parent.endswith("/providers/microsoft.insights"):
            parent = parent[: -len("/providers/microsoft.insights")]
        if parent in azure.by_id:
            return self._page(
                azure.children.get(wanted, []), path, query, size=azure.page_size, link_key="nextLink", fault=fault
            )
        return 404, _error("ResourceNotFound", f"The Resource '{path}' was not found."), {}

    def _app_settings(self, site: str) -> tuple[int, Any, dict[str, str]]:
        for key, settings in self.azure.estate.app_settings.items():
            if key.lower() == site.lower():
                return (
                    200,
                    {
                        "id": f"{key}/config/appsettings",
                        "name": "appsettings",
                        "type": "Microsoft.Web/sites/config",
                        "location": "Germany West Central",
                        "properties": settings,
                    },
                    {},
                )
        return 404, _error("ResourceNotFound", f"The Resource '{site}' was not found."), {}

    def _resource_graph(self, body: Any, fault: Fault | None) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return (
                400,
                _error("BadRequest", "Please provide below info when asking for support: ... query is required."),
                {},
            )
        options = body.get("options") or {}
        top = int(options.get("$top", 100))
        if not 1 <= top <= 1000:
            return 400, _error("InvalidQuery", "$top must be between 1 and 1000."), {}
        top = min(top, self.azure.rg_page_cap or top)
        subscriptions = {str(s).lower() for s in body.get("subscriptions") or []}
        if body["query"] == RESOURCES_QUERY:
            table = self.azure.rows
        elif body["query"] == RESOURCE_GROUPS_QUERY:
            table = self.azure.group_rows
        elif body["query"] == SITE_CONFIG_QUERY:
            table = self.azure.site_config_rows
        else:
            return (
                400,
                _error(
                    "InvalidQuery",
                    "Query is invalid. Please refer to the documentation for the Azure Resource Graph service.",
                ),
                {},
            )
        # A hostile row without a readable id is served to every query of the table.
        rows = [
            row
            for row in table
            if not isinstance(row.get("id"), str)
            or row["id"].count("/") < 3
            or _subscription(row["id"]) in subscriptions
        ]
        token = options.get("$skipToken")
        offset = _decode_token(token) if token else 0
        if offset is None:
            return 400, _error("InvalidSkipToken", "The skip token is invalid."), {}
        page = rows[offset : offset + top]
        mismatch = fault is not None and fault.kind == "total-mismatch"
        answer: dict[str, Any] = {
            "totalRecords": len(rows) + (1 if mismatch else 0),
            "count": len(page) + (1 if fault is not None and fault.kind == "count-mismatch" else 0),
            "resultTruncated": "false",
            "facets": [],
            "data": page,
        }
        if offset + top < len(rows):
            answer["$skipToken"] = _encode_token(0 if fault is not None and fault.kind == "loop" else offset + top)
        return 200, answer, self.azure.quota_headers()

    def _graph(self, path: str, query: dict[str, list[str]], fault: Fault | None) -> tuple[int, Any, dict[str, str]]:
        estate = self.azure.estate
        if path == SERVICE_PRINCIPALS or re.fullmatch(rf"{SERVICE_PRINCIPALS}/[^/]+/appRoleAssignedTo", path):
            return self._service_principals(path, query, fault)
        match = re.fullmatch(r"groups/([^/]+)/members", path)
        if match:
            members = estate.members.get(match.group(1))
            if members is None:
                return 404, _error("Request_ResourceNotFound", f"Resource '{match.group(1)}' does not exist."), {}
            return self._page(
                members,
                f"/v1.0/{path}",
                query,
                size=self.azure.graph_page_size,
                link_key="@odata.nextLink",
                fault=fault,
            )
        if path in estate.graph:
            return (
                200,
                {
                    "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{path.split('/')[-2]}/$entity",
                    **estate.graph[path],
                },
                {},
            )
        items = [obj for key, obj in sorted(estate.graph.items()) if key.rsplit("/", 1)[0] == path]
        if items or path in ("identity/conditionalAccess/policies", "identity/conditionalAccess/namedLocations"):
            status, answer, headers = self._page(
                items, f"/v1.0/{path}", query, size=self.azure.graph_page_size, link_key="@odata.nextLink", fault=fault
            )
            return status, {"@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{path}", **answer}, headers
        return 404, _error("Request_ResourceNotFound", f"Resource '{path}' does not exist."), {}

    def _service_principals(
        self, path: str, query: dict[str, list[str]], fault: Fault | None
    ) -> tuple[int, Any, dict[str, str]]:
        graph = self.azure.estate.graph
        if path == SERVICE_PRINCIPALS:
            items = [obj for key, obj in sorted(graph.items()) if key.rsplit("/", 1)[0] == SERVICE_PRINCIPALS]
            wanted = None if self.azure.ignore_graph_query else query.get("$filter", [None])[0]
            if wanted is not None:
                match = re.fullmatch(r"appId eq '([^']*)'", wanted)
                if match is None:
                    return 400, _error("Request_UnsupportedQuery", "Unsupported Query."), {}
                items = [obj for obj in items if str(obj.get("appId", "")).lower() == match.group(1).lower()]
            context = f"https://graph.microsoft.com/v1.0/$metadata#{SERVICE_PRINCIPALS}"
        else:
            principal = path.split("/")[1]
            if f"{SERVICE_PRINCIPALS}/{principal}" not in graph:
                return 404, _error("Request_ResourceNotFound", f"Resource '{principal}' does not exist."), {}
            items = [obj for key, obj in sorted(graph.items()) if key.rsplit("/", 1)[0] == path]
            context = (
                f"https://graph.microsoft.com/v1.0/$metadata#{SERVICE_PRINCIPALS}('{principal}')/appRoleAssignedTo"
            )
        selected = "" if self.azure.ignore_graph_query else query.get("$select", [""])[0]
        if selected:
            fields = selected.split(",")
            items = [{k: obj[k] for k in fields if k in obj} for obj in items]
        status, answer, headers = self._page(
            items, f"/v1.0/{path}", query, size=self.azure.graph_page_size, link_key="@odata.nextLink", fault=fault
        )
        return status, {"@odata.context": context, **answer}, headers


SERVICE_PRINCIPALS = "servicePrincipals"


def _authorization(resource: dict[str, Any]) -> bool:
    return str(resource.get("type", "")).lower().startswith("microsoft.authorization/")


def _top_level(resource: dict[str, Any]) -> bool:
    parts = str(resource["id"]).strip("/").split("/")
    return len(parts) == 8 and parts[4].lower() == "providers"


def _subscription(resource_id: str) -> str:
    return resource_id.split("/")[2].lower()


def _graph_row(resource: dict[str, Any]) -> dict[str, Any]:
    """A Resource Graph row: the ARM body with a lower-cased type, as ``resources`` projects it."""
    keys = (
        "id",
        "name",
        "type",
        "location",
        "kind",
        "sku",
        "identity",
        "tags",
        "zones",
        "plan",
        "extendedLocation",
        "properties",
    )
    row = {key: resource.get(key) for key in keys}
    row["type"] = str(resource.get("type", "")).lower()
    return row
