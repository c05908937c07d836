"""Collect the live estate: Resource Graph first, then the service APIs it does not cover, in bounded parallel.

Every read that fails becomes a :class:`~compliance_checks.inventory.Gap`
naming the types it would have delivered; nothing is ever treated as
"there is none". The whole collection ends within ``settings.deadline``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from azure.core.credentials import TokenCredential

from compliance_checks.checks.diagnostic_settings_enabled import TARGETS as DIAGNOSED_TYPES
from compliance_checks.errors import ComplianceError
from compliance_checks.inventory import Gap
from compliance_checks.live import arm, graph, resource_graph
from compliance_checks.live.rest import CollectionError, RestClient, Stats
from compliance_checks.live.settings import LiveSettings
from infra import well_known

Body = dict[str, Any]
SITES = "microsoft.web/sites"
SERVERS = "microsoft.dbforpostgresql/flexibleservers"
GATEWAYS = "Microsoft.Network/virtualNetworkGateways"
ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITIONS = "Microsoft.Authorization/roleDefinitions"
# What one read of a VPN audience delivers; a failure leaves exactly these unread.
AUDIENCE_TYPES = ("Microsoft.Graph/servicePrincipals", "Microsoft.Graph/appRoleAssignments")


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
        self.credential = credential
        self.progress = progress or NoProgress()
        self.clock = clock

    def sign_in(self) -> None:
        """One token per API before anything else: a credential problem is one clear error, not a gap per read."""
        scopes = [self.settings.arm_scope] + ([self.settings.graph_scope] if self.settings.include_graph else [])
        for scope in scopes:
            try:
                self.credential.get_token(scope)
            except Exception as exc:  # azure-identity raises several kinds; all mean "cannot sign in"
                detail = " ".join(str(exc).split())[:300]
                raise SignInError(f"cannot get a token for {scope}: {type(exc).__name__}: {detail}") from None

    def collect(self) -> Collection:
        self.sign_in()
        settings, result = self.settings, Collection(self.settings.subscriptions)
        arm_rest, graph_rest = (
            RestClient(api, endpoint, scope=scope, credential=self.credential, settings=settings, stats=result.stats)
            for api, endpoint, scope in (
                ("arm", settings.arm_endpoint, settings.arm_scope),
                ("graph", settings.graph_endpoint, settings.graph_scope),
            )
        )
        deadline = self.clock() + settings.deadline
        pool = futures.ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="collect")
        try:
            inventory_bar = self.progress.add_task("Resource Graph (rows)", total=None)
            details_bar = self.progress.add_task("ARM service APIs", total=None)
            graph_bar = self.progress.add_task("Microsoft Graph", total=None) if settings.include_graph else None

            def rows(query: str) -> list[Body]:
                def page(count: int) -> None:
                    self.progress.update(inventory_bar, advance=count)

                return list(
                    resource_graph.query(
                        arm_rest, list(settings.subscriptions), query, stats=result.stats, on_page=page
                    )
                )

            subs = ", ".join(settings.subscriptions)
            first = [
                Task(
                    "Resource Graph: resources",
                    ("*",),
                    f"subscriptions {subs}",
                    lambda: rows(resource_graph.RESOURCES_QUERY),
                    True,
                ),
                Task(
                    "Resource Graph: resource groups",
                    ("Microsoft.Resources/resourceGroups",),
                    f"subscriptions {subs}",
                    lambda: rows(resource_graph.RESOURCE_GROUPS_QUERY),
                    True,
                ),
                *(
                    Task(
                        f"role assignments of {sub}",
                        ("Microsoft.Authorization/roleAssignments",),
                        f"/subscriptions/{sub}",
                        partial(arm.role_assignments, arm_rest, sub),
                    )
                    for sub in settings.subscriptions
                ),
            ]
            graph_first = (
                [
                    Task(
                        "Conditional Access policies",
                        ("Microsoft.Graph/conditionalAccessPolicies",),
                        "graph:/" + graph.POLICIES,
                        partial(graph.conditional_access_policies, graph_rest),
                    ),
                    Task(
                        "named locations",
                        ("Microsoft.Graph/namedLocations",),
                        "graph:/" + graph.NAMED_LOCATIONS,
                        partial(graph.named_locations, graph_rest),
                    ),
                ]
                if settings.include_graph
                else []
            )
            self.progress.update(details_bar, total=len(first) - 2)
            if graph_bar is not None:
                self.progress.update(graph_bar, total=len(graph_first))
            done = self._run(
                pool,
                [(t, details_bar if "role" in t.label else inventory_bar) for t in first]
                + [(t, graph_bar) for t in graph_first],
                result,
                deadline,
            )
            arm_bodies = [body for task in first for body in done.get(task.label, [])]
            result.arm.extend(arm_bodies)
            policies = done.get("Conditional Access policies", [])
            result.graph.extend((graph.POLICIES, p) for p in policies)
            result.graph.extend((graph.NAMED_LOCATIONS, n) for n in done.get("named locations", []))

            second = self._detail_tasks(arm_rest, arm_bodies)
            roles = [
                b for b in arm_bodies if str(b.get("type", "")).lower() == "microsoft.authorization/roleassignments"
            ]
            # The groups worth reading are the ones the policies and role assignments name.
            unnamed = [
                g
                for g in result.gaps
                if g.covers("Microsoft.Graph/conditionalAccessPolicies")
                or g.covers("Microsoft.Authorization/roleAssignments")
            ]
            if settings.include_graph and unnamed:
                result.gaps.append(
                    Gap(("Microsoft.Graph/groups",), "graph:/groups", f"not known which to read: {unnamed[0].reason}")
                )
            graph_second = (
                [
                    Task(
                        f"group {group_id}",
                        ("Microsoft.Graph/groups",),
                        f"graph:/groups/{group_id}",
                        partial(_one, graph.group_with_members, graph_rest, group_id),
                    )
                    for group_id in graph.referenced_groups(policies, roles)
                ]
                if settings.include_graph and not unnamed
                else []
            )
            if settings.include_graph:
                graph_second += self._audience_tasks(graph_rest, arm_bodies, result)
            second += self._role_definition_tasks(arm_rest, roles, result)
            self.progress.update(details_bar, total=len(first) - 2 + len(second))
            if graph_bar is not None:
                self.progress.update(graph_bar, total=len(graph_first) + len(graph_second))
            done = self._run(
                pool, [(t, details_bar) for t in second] + [(t, graph_bar) for t in graph_second], result, deadline
            )
            for task in second:
                result.arm.extend(done.get(task.label, []))
            for task in graph_second:
                path = graph.SERVICE_PRINCIPALS if task.types == AUDIENCE_TYPES else graph.GROUPS
                result.graph.extend((path, g) for g in done.get(task.label, []))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            arm_rest.close()
            graph_rest.close()
        result.finished_at = dt.datetime.now(dt.UTC)
        return result

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

    def _detail_tasks(self, rest: RestClient, bodies: Sequence[Body]) -> list[Task]:
        tasks: list[Task] = []
        diagnosed = {t.lower() for t in DIAGNOSED_TYPES}
        for body in bodies:
            kind, rid = str(body.get("type", "")).lower(), str(body.get("id", ""))
            name = rid.rsplit("/", 1)[-1]
            if kind == SITES:
                tasks += [
                    Task(
                        f"site config of {name}",
                        ("Microsoft.Web/sites/config",),
                        rid,
                        partial(arm.site_config, rest, rid),
                    ),
                    Task(
                        f"publishing and bindings of {name}",
                        (
                            "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
                            "Microsoft.Web/sites/hostNameBindings",
                        ),
                        rid,
                        partial(arm.site_publishing, rest, rid),
                    ),
                    Task(
                        f"app setting names of {name}",
                        ("Microsoft.Web/sites/config/appsettings",),
                        rid,
                        partial(arm.site_app_setting_names, rest, rid),
                    ),
                ]
            elif kind == SERVERS:
                tasks += [
                    Task(
                        f"firewall rules of {name}",
                        ("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",),
                        rid,
                        partial(arm.postgres_firewall_rules, rest, rid),
                    ),
                    Task(
                        f"server parameters of {name}",
                        ("Microsoft.DBforPostgreSQL/flexibleServers/configurations",),
                        rid,
                        partial(arm.postgres_configurations, rest, rid),
                    ),
                ]
            if kind in diagnosed:
                tasks.append(
                    Task(
                        f"diagnostic settings of {name}",
                        ("Microsoft.Insights/diagnosticSettings",),
                        rid,
                        partial(arm.diagnostic_settings, rest, rid),
                    )
                )
        return tasks

    def _run(
        self, pool: futures.ThreadPoolExecutor, tasks: Sequence[tuple[Task, Any]], result: Collection, deadline: float
    ) -> dict[str, list[Body]]:
        """Run tasks in the pool; failures and overruns become gaps. Returns each finished task's bodies by label."""
        pending = {pool.submit(task.run): (task, bar) for task, bar in tasks}
        done: dict[str, list[Body]] = {}
        while pending:
            remaining = deadline - self.clock()
            finished, _ = futures.wait(pending, timeout=max(remaining, 0), return_when=futures.FIRST_COMPLETED)
            if not finished:
                for future, (task, _bar) in pending.items():
                    future.cancel()
                    result.gaps.append(
                        Gap(
                            task.types,
                            task.scope,
                            f"not finished within the {self.settings.deadline:g} s deadline",
                            task.located,
                        )
                    )
                break
            for future in finished:
                task, bar = pending.pop(future)
                try:
                    done[task.label] = future.result()
                except CollectionError as exc:
                    result.gaps.append(Gap(task.types, task.scope, str(exc), task.located))
                if bar is not None:
                    self.progress.update(bar, advance=1)
        return done


def _one(read: Callable[[RestClient, str], Body], rest: RestClient, key: str) -> list[Body]:
    return [read(rest, key)]
