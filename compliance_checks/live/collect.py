"""Collect the live estate: Resource Graph first, then the service APIs it does not cover, in bounded parallel.

Every read that fails becomes a :class:`~compliance_checks.inventory.Gap`
naming the types it would have delivered; nothing is ever treated as
"there is none". The whole collection ends within ``settings.deadline``.

What a read returns is screened before anything keeps it: a body without a
string ``id`` and ``type`` (or with a top-level field of the wrong JSON type)
is a gap for its type, not a row silently dropped later; the same resource
returned twice with different values is dropped and a gap for its type, so
no verdict depends on which page came first (identical copies are one).

The workers are daemon threads (:class:`_DaemonPool`), not a
``ThreadPoolExecutor``, whose workers the interpreter joins at exit: a server
that accepts and never answers, or trickles a byte at a time, must not keep
the process alive past ``--deadline``.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError

from compliance_checks.checks.diagnostic_settings_enabled import TARGETS as DIAGNOSED_TYPES
from compliance_checks.errors import ComplianceError
from compliance_checks.inventory import Gap, type_of_id
from compliance_checks.live import arm, graph, resource_graph
from compliance_checks.live.rest import CollectionError, GuardedCredential, RestClient, Stats, redact
from compliance_checks.live.settings import LiveSettings
from infra import well_known

Body = dict[str, Any]
SITES = "microsoft.web/sites"
SITE_CONFIG = "Microsoft.Web/sites/config"
RESOURCES = "Resource Graph: resources"
SITE_CONFIGS = "Resource Graph: site configuration"
POLICIES_LABEL = "Conditional Access policies"
GROUPS_LABEL = "Resource Graph: resource groups"
SERVERS = "microsoft.dbforpostgresql/flexibleservers"
GATEWAYS = "Microsoft.Network/virtualNetworkGateways"
ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITIONS = "Microsoft.Authorization/roleDefinitions"
SLOTS = "microsoft.web/sites/slots"
# What the collector never reads of a deployment slot (it reads these per site only): each slot leaves them unread,
# so the checks that judge a slot's bindings, publishing policies or configuration say ERROR, never "none".
SLOT_CHILD_TYPES = (
    "Microsoft.Web/sites/slots/config",
    "Microsoft.Web/sites/slots/hostNameBindings",
    "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies",
)
# What one read of a VPN audience delivers; a failure leaves exactly these unread.
AUDIENCE_TYPES = ("Microsoft.Graph/servicePrincipals", "Microsoft.Graph/appRoleAssignments")
CONFLICTING = "returned twice with different values"
# Top-level fields of an ARM body or Resource Graph row and the JSON types they may have (null: not returned).
# Shapes: the ARM resource envelope of azure-rest-api-specs specification/common-types/resource-management
# (id, name, type strings; location string; tags object; properties object).
_ARM_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "location": (str,),
    "tags": (dict,),
    "properties": (dict,),
}


# Given the bodies of the tasks that succeeded and the labels of all that ended, the tasks that may start now.
Follow = Callable[[dict[str, list[Body]], set[str]], list[tuple["Task", Any]]]


class SignInError(ComplianceError):
    """The credential could not get a token (exit code 2, one line)."""


class Progress(Protocol):
    """The part of ``rich.progress.Progress`` the collector uses: one bar per collector."""

    def add_task(
        self, description: str, start: bool = True, total: float | None = 100.0, completed: int = 0
    ) -> Any: ...

    def update(self, task_id: Any, *, total: float | None = None, advance: float | None = None) -> None: ...


class NoProgress:
    def add_task(self, description: str, start: bool = True, total: float | None = 100.0, completed: int = 0) -> Any:
        return 0

    def update(self, task_id: Any, *, total: float | None = None, advance: float | None = None) -> None:
        return None


@dataclass(frozen=True)
class Task:
    label: str
    types: tuple[str, ...]  # what stays unread if this fails
    scope: str
    run: Callable[[], list[Body]]
    located: bool = False
    api: str = "arm"  # "graph": Microsoft Graph objects (an id, no ARM type)
    # A read of one resource's details: every body it returns must be under this resource ID (any case), or it is
    # another resource's (server B's firewall rules answered as A's would leave B without rules: a false PASS).
    owner: str = ""


@dataclass
class Collection:
    """Raw REST bodies as read, and what could not be read."""

    subscriptions: tuple[str, ...]
    arm: list[Body] = field(default_factory=list)
    graph: list[tuple[str, Body]] = field(default_factory=list)  # (collection path, object)
    gaps: list[Gap] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None


class Collector:
    def __init__(
        self,
        settings: LiveSettings,
        credential: TokenCredential,
        *,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings.validate()
        self.credential = GuardedCredential(credential)
        self.progress = progress or NoProgress()
        self.clock = clock

    def sign_in(self) -> None:
        """One token per API before anything else: a credential problem is one clear error, not a gap per read."""
        scopes = [self.settings.arm_scope] + ([self.settings.graph_scope] if self.settings.include_graph else [])
        for scope in scopes:
            try:
                self.credential.get_token(scope)
            except AzureError as exc:  # GuardedCredential turns whatever the credential raises into one
                detail = redact(" ".join(str(exc.message or exc).split()))[:300]
                raise SignInError(f"cannot get a token for {scope}: {detail}") from None

    def collect(self) -> Collection:
        settings, result = self.settings, Collection(self.settings.subscriptions)
        deadline = self.clock() + settings.deadline
        pool = _DaemonPool(settings.concurrency, "collect")
        signing_in = pool.submit(self.sign_in)
        if not futures.wait([signing_in], timeout=max(deadline - self.clock(), 0)).done:
            pool.shutdown()
            raise SignInError(f"no token within the {settings.deadline:g} s deadline")
        try:
            signing_in.result()
        except SignInError:
            pool.shutdown()
            raise
        arm_rest, graph_rest = (
            RestClient(api, endpoint, scope=scope, credential=self.credential, settings=settings, stats=result.stats)
            for api, endpoint, scope in (
                ("arm", settings.arm_endpoint, settings.arm_scope),
                ("graph", settings.graph_endpoint, settings.graph_scope),
            )
        )
        # The clients' clock is time.monotonic (socket timeouts are real time), whatever self.clock is.
        arm_rest.deadline = graph_rest.deadline = time.monotonic() + max(deadline - self.clock(), 0)
        try:
            self._collect(pool, arm_rest, graph_rest, result, deadline)
        finally:
            pool.shutdown()
            arm_rest.close()
            graph_rest.close()
        result.finished_at = dt.datetime.now(dt.UTC)
        return result

    def _collect(
        self, pool: _DaemonPool, arm_rest: RestClient, graph_rest: RestClient, result: Collection, deadline: float
    ) -> None:
        """Bulk reads first; each follow-up starts as soon as what it depends on has finished, not a phase later.

        The per-resource reads need only the Resource Graph rows (and the site configurations it returns); role
        definitions need only the role assignments; groups need the policies and the assignments. Waiting for
        every first read before any follow-up would put the longest paging chain (role assignments, page after
        page) in front of thousands of independent reads.
        """
        settings = self.settings
        inventory_bar = self.progress.add_task("Resource Graph (rows)", total=None)
        details_bar = self.progress.add_task("ARM service APIs", total=None)
        graph_bar = self.progress.add_task("Microsoft Graph", total=None) if settings.include_graph else None
        totals: dict[Any, int] = {}

        def counted(tasks: list[Task], bar: Any) -> list[tuple[Task, Any]]:
            if bar is not None and tasks:
                totals[bar] = totals.get(bar, 0) + len(tasks)
                self.progress.update(bar, total=totals[bar])
            return [(task, bar) for task in tasks]

        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()  # finished reads, and pages of rows as they arrive
        streamed: set[str] = set()  # resources whose per-resource reads have started
        detail_scope: dict[str, str] = {}  # per-resource read -> the resource it belongs to

        def rows(query: str, stream: bool = False) -> list[Body]:
            """Every row of ``query``; with ``stream``, each page is also handed on as it arrives.

            The per-resource reads of a page's rows start while the next page is on its way (Resource Graph pages
            are sequential: ``$skipToken``). Nothing they return is kept unless the whole query ends well and the
            resource is among its rows (see the end of ``_collect``).
            """
            buffer: list[Body] = []

            def page(count: int) -> None:
                self.progress.update(inventory_bar, advance=count)
                if stream:
                    inbox.put(partial(page_arrived, list(buffer)))
                    buffer.clear()

            found: list[Body] = []
            for row in resource_graph.query(
                arm_rest, list(settings.subscriptions), query, stats=result.stats, on_page=page
            ):
                found.append(row)
                buffer.append(row)
            return found

        def page_arrived(page: list[Body]) -> list[tuple[Task, Any]]:
            fresh = []
            for row in page:
                if _arm_problem(row) is None and str(row["id"]).lower() not in streamed:
                    streamed.add(str(row["id"]).lower())
                    fresh.append(row)
            return follow_ups(self._detail_tasks(arm_rest, fresh))

        def follow_ups(details: list[Task]) -> list[tuple[Task, Any]]:
            arm_labels.update(task.label for task in details)
            detail_scope.update((task.label, task.scope.lower()) for task in details)
            return counted(details, details_bar)

        subs = ", ".join(settings.subscriptions)
        where = f"subscriptions {subs}"
        bulk = [
            Task(RESOURCES, ("*",), where, partial(rows, resource_graph.RESOURCES_QUERY, True), True),
            Task(
                GROUPS_LABEL,
                ("Microsoft.Resources/resourceGroups",),
                where,
                partial(rows, resource_graph.RESOURCE_GROUPS_QUERY),
                True,
            ),
            Task(SITE_CONFIGS, (SITE_CONFIG,), where, partial(rows, resource_graph.SITE_CONFIG_QUERY)),
        ]
        roles = [
            Task(
                f"role assignments of {sub}",
                (ROLE_ASSIGNMENTS,),
                f"/subscriptions/{sub}",
                partial(arm.role_assignments, arm_rest, sub),
            )
            for sub in settings.subscriptions
        ]
        graph_first = (
            [
                Task(
                    POLICIES_LABEL,
                    ("Microsoft.Graph/conditionalAccessPolicies",),
                    "graph:/" + graph.POLICIES,
                    partial(graph.conditional_access_policies, graph_rest),
                    api="graph",
                ),
                Task(
                    "named locations",
                    ("Microsoft.Graph/namedLocations",),
                    "graph:/" + graph.NAMED_LOCATIONS,
                    partial(graph.named_locations, graph_rest),
                    api="graph",
                ),
            ]
            if settings.include_graph
            else []
        )
        kept: list[Body] = []  # the bulk reads' bodies, each deduplicated where it was read
        site_configs: list[Body] = []  # config/web rows, kept for the sites the inventory holds
        started: set[str] = set()
        arm_labels: set[str] = set()  # follow-up ARM reads whose bodies join the inventory
        graph_paths: dict[str, str] = {}  # follow-up Graph reads: the collection each one's objects belong to
        role_labels = {task.label for task in roles}

        def follow(done: dict[str, list[Body]], finished: set[str]) -> list[tuple[Task, Any]]:
            more: list[tuple[Task, Any]] = []
            if "groups rows" not in started and GROUPS_LABEL in finished:
                started.add("groups rows")
                kept.extend(_unique(done.get(GROUPS_LABEL, []), result))
            if "details" not in started and {RESOURCES, SITE_CONFIGS} <= finished:
                started.add("details")
                resources = _unique(done.get(RESOURCES, []), result)
                kept.extend(resources)
                # Every page was handed on before the query ended; this only catches what was not.
                more += page_arrived(resources)
                # Failed, or an answer that is not what was asked: its gap stands for every site, nothing is read
                # again per site.
                usable = _site_config_rows(done[SITE_CONFIGS], result, where) if SITE_CONFIGS in done else None
                if usable is not None:
                    configs, answered = usable
                    site_configs.extend(configs)
                    lagging = [
                        b
                        for b in resources
                        if str(b.get("type", "")).lower() == SITES and str(b["id"]).lower() not in answered
                    ]
                    more += follow_ups(self._web_config_tasks(arm_rest, lagging))
                if settings.include_graph:
                    audiences = self._audience_tasks(graph_rest, resources, result)
                    graph_paths.update((task.label, graph.SERVICE_PRINCIPALS) for task in audiences)
                    more += counted(audiences, graph_bar)
            if "roles" not in started and role_labels <= finished:
                started.add("roles")
                assignments = _unique([b for label in sorted(role_labels) for b in done.get(label, [])], result)
                kept.extend(assignments)
                definitions = self._role_definition_tasks(arm_rest, assignments, result)
                arm_labels.update(task.label for task in definitions)
                more += counted(definitions, details_bar)
            wanted = role_labels | ({POLICIES_LABEL} if settings.include_graph else set())
            if "groups" not in started and wanted <= finished:
                started.add("groups")
                if settings.include_graph:
                    groups = self._group_tasks(graph_rest, done, role_labels, result)
                    graph_paths.update((task.label, graph.GROUPS) for task in groups)
                    more += counted(groups, graph_bar)
            return more

        done = self._run(
            pool,
            counted(bulk, inventory_bar) + counted(roles, details_bar) + counted(graph_first, graph_bar),
            result,
            deadline,
            follow=follow,
            inbox=inbox,
        )
        result.arm.extend(kept)
        result.gaps.extend(
            Gap(SLOT_CHILD_TYPES, str(b["id"]), "not read: the live collector does not read deployment slots' children")
            for b in kept
            if str(b.get("type", "")).lower() == SLOTS
        )
        # A per-resource read counts only for a resource the inventory holds: not for a row of a query that failed
        # later, nor for a resource dropped as returned twice with different values.
        held = {str(body["id"]).lower() for body in kept} | {""}  # "": a read of no one resource (role definitions)
        result.arm.extend(c for c in site_configs if str(c["id"]).lower().removesuffix("/config/web") in held)
        for label, bodies in done.items():
            if label in arm_labels and detail_scope.get(label, "") in held:
                result.arm.extend(bodies)
        result.arm[:] = _unique(result.arm, result)  # a detail read may repeat what another returned
        result.graph.extend((graph.POLICIES, p) for p in done.get(POLICIES_LABEL, []))
        result.graph.extend((graph.NAMED_LOCATIONS, n) for n in done.get("named locations", []))
        for label, bodies in done.items():
            path = graph_paths.get(label)
            if path is not None:
                result.graph.extend((path, body) for body in bodies)

    def _group_tasks(
        self, rest: RestClient, done: dict[str, list[Body]], role_labels: set[str], result: Collection
    ) -> list[Task]:
        """The groups the policies and role assignments name; unknown which if either could not be read."""
        unnamed = [
            g
            for g in result.gaps
            if g.covers("Microsoft.Graph/conditionalAccessPolicies") or g.covers(ROLE_ASSIGNMENTS)
        ]
        if unnamed:
            result.gaps.append(
                Gap(("Microsoft.Graph/groups",), "graph:/groups", f"not known which to read: {unnamed[0].reason}")
            )
            return []
        assignments = [b for label in sorted(role_labels) for b in done.get(label, [])]
        tasks = [
            Task(
                f"group {group_id}",
                ("Microsoft.Graph/groups",),
                f"graph:/groups/{group_id}",
                partial(_one, graph.group_with_members, rest, group_id),
                api="graph",
            )
            for group_id in graph.referenced_groups(done.get(POLICIES_LABEL, []), assignments)
        ]
        return tasks

    def _audience_tasks(self, rest: RestClient, bodies: Sequence[Body], result: Collection) -> list[Task]:
        """One read per Entra audience of a point-to-site gateway: its service principals and their assignments.

        An audience that cannot be known (the gateways were not read, or one
        has no readable audience) leaves both types a gap, never "none".
        """
        unread = next((g for g in result.gaps if g.covers(GATEWAYS)), None)
        if unread is not None:
            result.gaps.append(
                Gap(AUDIENCE_TYPES, "graph:/" + graph.SERVICE_PRINCIPALS, f"VPN audience unknown: {unread.reason}")
            )
            return []
        audiences, unknown = graph.vpn_audiences(bodies)
        for gateway in unknown:
            result.gaps.append(
                Gap(
                    AUDIENCE_TYPES,
                    gateway,
                    "VPN audience unknown: the gateway's Entra client configuration is unreadable",
                )
            )
        return [
            Task(
                f"service principals of VPN audience {audience}",
                AUDIENCE_TYPES,
                f"graph:/{graph.SERVICE_PRINCIPALS}?$filter=appId eq '{audience}'",
                partial(graph.audience_principals, rest, audience),
                api="graph",
            )
            for audience in audiences
        ]

    def _role_definition_tasks(self, rest: RestClient, roles: Sequence[Body], result: Collection) -> list[Task]:
        """The definitions of the assigned roles that are not well-known built-in roles (custom roles).

        What a built-in role may do is in ``infra/data/well_known_ids.json``; a custom role's only in Azure.
        If the role assignments could not be read, which definitions matter is unknown: a gap.
        """
        unread = next((g for g in result.gaps if g.covers(ROLE_ASSIGNMENTS)), None)
        if unread is not None:
            result.gaps.append(
                Gap((ROLE_DEFINITIONS,), "role definitions", f"not known which to read: {unread.reason}")
            )
            return []
        wanted: dict[str, str] = {}
        for assignment in roles:
            properties = assignment.get("properties") or {}
            definition = str(properties.get("roleDefinitionId") or "")
            role = definition.rsplit("/", 1)[-1].lower()
            entry = well_known.lookup(role) if role else None
            if not role or (entry is not None and entry.kind == well_known.BUILT_IN_ROLE):
                continue
            scope = str(
                properties.get("scope") or str(assignment.get("id", "")).split("/providers/Microsoft.Authorization/")[0]
            )
            wanted.setdefault(role, scope)
        return [
            Task(
                f"role definition {role}",
                (ROLE_DEFINITIONS,),
                f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{role}",
                partial(arm.role_definition, rest, scope, role),
            )
            for role, scope in wanted.items()
        ]

    def _web_config_tasks(self, rest: RestClient, sites: Sequence[Body]) -> list[Task]:
        """``config/web`` of each site Resource Graph returned no configuration row for (its table may lag)."""
        return [
            Task(
                f"site web config of {site['id']}",
                (SITE_CONFIG,),
                str(site["id"]),
                partial(arm.site_config, rest, str(site["id"]), web=True, auth=False),
                owner=str(site["id"]),
            )
            for site in sites
        ]

    def _detail_tasks(self, rest: RestClient, bodies: Sequence[Body]) -> list[Task]:
        """What Resource Graph does not carry, read per resource (``config/web`` comes in bulk: ``_collect``)."""
        tasks: list[Task] = []
        diagnosed = {t.lower() for t in DIAGNOSED_TYPES}
        for body in bodies:
            kind, rid = str(body.get("type", "")).lower(), str(body.get("id", ""))
            if kind == SITES:
                tasks += [
                    Task(
                        f"site config of {rid}",
                        (SITE_CONFIG,),
                        rid,
                        partial(arm.site_config, rest, rid, web=False),
                        owner=rid,
                    ),
                    Task(
                        f"publishing and bindings of {rid}",
                        (
                            "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
                            "Microsoft.Web/sites/hostNameBindings",
                        ),
                        rid,
                        partial(arm.site_publishing, rest, rid),
                        owner=rid,
                    ),
                    Task(
                        f"app setting names of {rid}",
                        ("Microsoft.Web/sites/config/appsettings",),
                        rid,
                        partial(arm.site_app_setting_names, rest, rid),
                        owner=rid,
                    ),
                ]
            elif kind == SERVERS:
                tasks += [
                    Task(
                        f"firewall rules of {rid}",
                        ("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",),
                        rid,
                        partial(arm.postgres_firewall_rules, rest, rid),
                        owner=rid,
                    ),
                    Task(
                        f"server parameters of {rid}",
                        ("Microsoft.DBforPostgreSQL/flexibleServers/configurations",),
                        rid,
                        partial(arm.postgres_configurations, rest, rid),
                        owner=rid,
                    ),
                ]
            if kind in diagnosed:
                tasks.append(
                    Task(
                        f"diagnostic settings of {rid}",
                        ("Microsoft.Insights/diagnosticSettings",),
                        rid,
                        partial(arm.diagnostic_settings, rest, rid),
                        owner=rid,
                    )
                )
        return tasks

    def _run(
        self,
        pool: _DaemonPool,
        tasks: Sequence[tuple[Task, Any]],
        result: Collection,
        deadline: float,
        *,
        follow: Follow | None = None,
        inbox: queue.SimpleQueue[Any] | None = None,
    ) -> dict[str, list[Body]]:
        """Run tasks in the pool; failures and overruns become gaps. Returns each finished task's screened bodies.

        ``follow(done, finished)`` is asked after every finished task (``finished``: labels that succeeded or
        failed) for the tasks that may start now. Follow-ups the deadline leaves unasked are asked for at the end
        with every label finished, so each still records why it could not run (an overrun gap), never nothing.
        ``inbox`` also carries events from running reads (a page of rows): callables returning tasks to start.
        """
        done: dict[str, list[Body]] = {}
        finished_labels: set[str] = set()
        labels = {task.label for task, _bar in tasks}
        if deadline - self.clock() <= 0:  # nothing is started that could only overrun
            result.gaps.extend(self._overrun(task) for task, _bar in tasks)
            if follow is not None:
                result.gaps.extend(self._overrun(task) for task, _bar in follow(done, labels))
            return done
        # Finished futures arrive on a queue: ``futures.wait`` over thousands of pending reads would register and
        # remove a waiter on every one of them for each read that ends (quadratic, under the GIL).
        arrived: queue.SimpleQueue[Any] = queue.SimpleQueue() if inbox is None else inbox
        pending: dict[futures.Future[Any], tuple[Task, Any]] = {}

        def submit(task: Task, bar: Any) -> None:
            future = pool.submit(task.run)
            pending[future] = (task, bar)
            future.add_done_callback(arrived.put)

        for task, bar in tasks:
            submit(task, bar)
        while pending:
            try:
                future = arrived.get(timeout=max(deadline - self.clock(), 0))
            except queue.Empty:
                for late, (task, _bar) in pending.items():
                    late.cancel()
                    result.gaps.append(self._overrun(task))
                    finished_labels.add(task.label)
                if follow is not None:
                    everything = finished_labels | labels
                    while more := follow(done, everything):  # a follow-up's own follow-ups are overrun too
                        result.gaps.extend(self._overrun(task) for task, _bar in more)
                break
            if not isinstance(future, futures.Future):  # an event: what a running read lets start now
                for task, bar in future():
                    labels.add(task.label)
                    submit(task, bar)
                continue
            if future not in pending:
                continue  # cancelled at the deadline: already a gap
            task, bar = pending.pop(future)
            finished_labels.add(task.label)
            try:
                bodies = future.result()
            except CollectionError as exc:
                result.gaps.append(Gap(task.types, task.scope, str(exc), task.located))
            else:
                done[task.label] = _screened(task, bodies, result)
            if bar is not None:
                self.progress.update(bar, advance=1)
            if follow is not None:
                for task, bar in follow(done, finished_labels):
                    labels.add(task.label)
                    submit(task, bar)
        return done

    def _overrun(self, task: Task) -> Gap:
        return Gap(
            task.types, task.scope, f"not finished within the {self.settings.deadline:g} s deadline", task.located
        )


class _DaemonPool:
    """``concurrency`` daemon worker threads: the process may exit while one still waits on a socket.

    ``concurrent.futures.ThreadPoolExecutor`` joins its workers when the
    interpreter exits, so one request stuck on a silent server would hold the
    process for its full timeouts and retries, long past ``--deadline``.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[futures.Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True) for n in range(max(workers, 1))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, run: Callable[[], Any]) -> futures.Future[Any]:
        future: futures.Future[Any] = futures.Future()
        self._queue.put((future, run))
        return future

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, run = item
            if not future.set_running_or_notify_cancel():
                continue  # cancelled at the deadline before it started
            try:
                value = run()
            except BaseException as exc:  # handed to the waiting thread, which decides (as ThreadPoolExecutor does)
                future.set_exception(exc)
            else:
                future.set_result(value)

    def shutdown(self) -> None:
        """Idle workers end; a busy one ends with its request, or with the process."""
        for _ in self._threads:
            self._queue.put(None)


def _arm_problem(body: Any) -> str | None:
    """Why an ARM body or Resource Graph row cannot be placed or judged; None if its envelope is well-formed."""
    if not isinstance(body, dict):
        return "an entry that is not an object"
    for key in ("id", "type"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            return f"an entry whose '{key}' is {'missing' if body.get(key) is None else 'not a non-empty string'}"
    for key, kinds in _ARM_FIELDS.items():
        if body.get(key) is not None and not isinstance(body[key], kinds):
            return f"an entry whose '{key}' is a {type(body[key]).__name__}"
    return None


def _graph_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "an object that is not an object"
    if not isinstance(body.get("id"), str) or not body["id"].strip():
        return "an object without a string 'id'"
    return None


def _screened(task: Task, bodies: Sequence[Any], result: Collection) -> list[Body]:
    """The well-formed bodies of a finished task; each malformed one is a gap (Graph: duplicates too)."""
    kept: list[Body] = []
    owner = task.owner.lower() + "/"
    for body in bodies:
        problem = (_graph_problem if task.api == "graph" else _arm_problem)(body)
        if problem is None and task.owner and not str(body["id"]).lower().startswith(owner):
            # Another resource's item: dropped, and the list it came in is incomplete for its type.
            problem = f"an entry not under the resource read ({body['id']})"
            result.gaps.append(Gap(task.types, task.scope, f"malformed answer: {redact(problem)} ({task.label})"))
            continue
        if problem is None:
            kept.append(body)
            continue
        raw_id = body.get("id") if isinstance(body, dict) else None
        raw_type = body.get("type") if isinstance(body, dict) else None
        types = task.types
        if types == ("*",):  # a row of the bulk query: narrow the gap to its type when the row names one
            named = type_of_id(raw_id) if isinstance(raw_id, str) else ""
            named = named or (raw_type if isinstance(raw_type, str) and raw_type.strip() else "")
            types = (named,) if named else types
        scope = raw_id if isinstance(raw_id, str) and raw_id.strip() else task.scope
        result.gaps.append(Gap(types, redact(scope), f"malformed answer: {problem} ({task.label})", task.located))
    if task.api != "graph":
        return kept
    by_id: dict[str, list[Body]] = {}
    for body in kept:
        by_id.setdefault(str(body["id"]).lower(), []).append(body)
    unique: list[Body] = []
    for key, copies in by_id.items():
        if all(copy == copies[0] for copy in copies[1:]):
            unique.append(copies[0])
        else:
            result.gaps.append(Gap(task.types, f"{task.scope}/{key}", CONFLICTING, task.located))
    return unique


def _site_config_rows(rows: Sequence[Body], result: Collection, scope: str) -> tuple[list[Body], set[str]] | None:
    """The ``appserviceresources`` rows the collector may join to sites: (usable rows, sites a row answered for).

    Each row must be a site's ``config/web``: type ``microsoft.web/sites/config`` and an ID that names that type and
    ends in ``/config/web`` (the query asks for nothing else; a slot's configuration, ``microsoft.web/sites/slots/
    config``, is another type). A row that is not makes the whole answer untrustworthy: None, and a gap for every
    site's configuration. Rows join their site by ID, case-insensitively, nothing else.

    Two different rows for one site: dropped and a gap (:func:`_unique`); the site counts as answered, so its
    configuration is UNKNOWN, not quietly read again. A row without a field the checks judge
    (:func:`arm.complete_site_config`) is not used and its site is read per site, as a site without a row is.
    """
    for row in rows:
        rid, kind = str(row["id"]), str(row["type"])
        if (
            kind.lower() != SITE_CONFIG.lower()
            or type_of_id(rid).lower() != kind.lower()
            or not rid.lower().endswith("/config/web")
        ):
            shown = redact(f"{rid}, type {kind}")
            problem = f"malformed answer: a row that is not a site's config/web ({shown}) ({SITE_CONFIGS})"
            result.gaps.append(Gap((SITE_CONFIG,), scope, problem))
            return None
    answered = {str(row["id"]).lower().removesuffix("/config/web") for row in rows}
    usable: list[Body] = []
    for row in _unique(rows, result):
        if arm.complete_site_config(row):
            usable.append(row)
        else:
            answered.discard(str(row["id"]).lower().removesuffix("/config/web"))
    return usable, answered


def _unique(bodies: Sequence[Body], result: Collection) -> list[Body]:
    """One body per ARM ID (any case): identical copies are one; copies that differ are dropped and a gap.

    Which copy is true cannot be known, and keeping either would make the
    verdict depend on page order. The gap covers the resource's type (every
    type its copies claim) at its ID; it is ``located`` if a copy has a
    location, so checks over all resources cannot conclude either.
    """
    by_id: dict[str, list[Body]] = {}
    for body in bodies:
        by_id.setdefault(str(body["id"]).lower(), []).append(body)
    unique: list[Body] = []
    for copies in by_id.values():
        if all(copy == copies[0] for copy in copies[1:]):
            unique.append(copies[0])
            continue
        types = tuple(sorted({str(copy["type"]) for copy in copies}, key=str.lower))
        located = any(copy.get("location") for copy in copies)
        result.gaps.append(Gap(types, str(copies[0]["id"]), CONFLICTING, located))
    return unique


def _one(read: Callable[[RestClient, str], Body], rest: RestClient, key: str) -> list[Body]:
    return [read(rest, key)]
