"""Enabled activity-log alerts, taken together, fire on every change to a setting the promises rest on.

The condition tree is evaluated the way Azure Monitor defines it (Azure REST API
specs, specification/monitor/resource-manager/Microsoft.Insights/Insights/ActivityLogAlertsApi/models.tsp,
commit 0dd75f4927be9e37dd766c1530bb63cbe92d9cb0):

* ``AlertRuleAllOfCondition``: "met when all its member conditions are met";
* each member is either a leaf ("must contain 'field' and either 'equals' or
  'containsAny'") or an anyOf ("must contain only 'anyOf' (which is an array of
  Leaf Conditions)"): "Properties from different types CANNOT exist in one
  condition";
* a leaf compares "the value of the event's field" to ``equals`` or to the
  values of ``containsAny``, "case-insensitive"; the fields are "'resourceId',
  'category', 'caller', 'level', 'operationName', 'resourceGroup',
  'resourceProvider', 'status', 'subStatus', 'resourceType', or anything
  beginning with 'properties'";
* ``scopes``: "resource IDs that will be used as prefixes. The alert will only
  apply to Activity Log events with resource IDs that fall under one of these
  prefixes";
* ``enabled``: "If an Activity Log Alert rule is not enabled, then none of its
  actions will be activated" (default true).

The events that must raise an alert are, for every watched operation
(``infra.watched_operations.WATCHED_OPERATIONS``: writes *and* deletes) and
every resource group that holds a watched resource: category Administrative,
that operation name, its resource provider and type, that resource group,
status Succeeded (the event of a change that took effect). Any resource ID,
caller, level, sub-status or ``properties.*`` value is possible, so a leaf on
one of those narrows the alert to some changes: it does not fire for every
change. An alert counts only with an enabled action group that the inventory
holds (``useCommonAlertSchema`` and receivers' formats do not matter). The
alerts are judged together: the promise holds when every event is caught by
some counting alert. A part of an alert that cannot be evaluated (an unknown
field or operator, a malformed condition) makes that alert unknown; the
verdict is then ERROR unless the other alerts catch every event anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import Boolean, Check, CheckMeta, ListOf, Object, Params, Read, Text, listed
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue, canonical_id
from infra.watched_operations import WATCHED_OPERATIONS

ALERT = "Microsoft.Insights/activityLogAlerts"
ACTION_GROUP = "Microsoft.Insights/actionGroups"
REQUIRED_OPERATIONS = tuple(op.lower() for op in WATCHED_OPERATIONS)
CATEGORY = "administrative"
# The event of a change that took effect (activity log event schema: status "Succeeded").
SUCCEEDED = "succeeded"
# Resource types whose changes the alert must see: its scope must hold their resource groups.
WATCHED_TYPES = (
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/virtualNetworks",
    "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.Web/sites",
)
# Fields whose value in a watched event is not fixed: a leaf on them narrows the alert.
FREE_FIELDS = frozenset({"resourceid", "caller", "level", "substatus"})
# Keys a leaf or anyOf member may carry besides the condition itself: the service answers "odata.type": null.
_IGNORED_KEYS = frozenset({"odata.type"})
_SHOWN = 5  # alerts named in a FAIL or ERROR message at most (evidence stays proportional)


class Unknown(Exception):
    """A part of the alert that decides whether it fires cannot be evaluated."""


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or value is UNKNOWN or isinstance(value, SecretValue):
        raise Unknown(f"{what} {value!r} is not a known text")
    return value


def _leaf_matches(leaf: Any, event: Mapping[str, str]) -> bool:
    """Whether one leaf condition matches the event (a field the event does not fix never matches every event)."""
    if not isinstance(leaf, Mapping):
        raise Unknown(f"condition {leaf!r} is unknown or malformed")
    keys = {str(k).lower() for k in leaf} - _IGNORED_KEYS
    operators = keys & {"equals", "containsany"}
    if "field" not in keys or len(operators) != 1 or keys - {"field", "equals", "containsany"}:
        raise Unknown(f"condition {dict(leaf)!r} is not a leaf of field and exactly one of equals/containsAny")
    field = _text(leaf.get("field"), "condition field").lower()
    if field not in domains.ACTIVITY_LOG_FIELDS and not field.startswith("properties"):
        raise Unknown(f"condition field {field!r} is not one Azure Monitor evaluates")
    if "equals" in operators:
        wanted = {_text(leaf.get("equals"), f"the value of condition {field}").lower()}
    else:
        values = leaf.get("containsany")
        if not isinstance(values, list):
            raise Unknown(f"containsAny of condition {field} is not a list")
        wanted = {_text(v, f"a value of condition {field}").lower() for v in values}
    value = event.get(field)
    return value is not None and value in wanted


def fires_for(condition: Any, event: Mapping[str, str]) -> bool:
    """Azure Monitor's semantics: every ``allOf`` member matches; an ``anyOf`` member needs one of its leaves."""
    if not isinstance(condition, Mapping):
        raise Unknown("the condition is unknown")
    items = condition.get("allof")
    if not isinstance(items, list) or not items:
        raise Unknown("the condition has no known allOf list")
    for item in items:
        if not isinstance(item, Mapping):
            raise Unknown(f"condition item {item!r} is malformed")
        if "anyof" in item:
            if {str(k).lower() for k in item} - _IGNORED_KEYS != {"anyof"}:
                raise Unknown("an anyOf condition carries leaf properties too")
            any_of = item.get("anyof")
            if not isinstance(any_of, list) or not any_of:
                raise Unknown("an anyOf list is unknown or empty")
            matched = [_leaf_matches(leaf, event) for leaf in any_of]  # every leaf evaluated: malformed is ERROR
            if not any(matched):
                return False
        elif not _leaf_matches(item, event):
            return False
    return True


def _normal_scope(scope: str) -> str:
    # The REST API's own examples write scopes with and without the leading slash (ActivityLogAlertRule_Get.json).
    return "/" + scope.strip().strip("/").lower()


def _covering(scopes: Any, by_prefix: Mapping[str, list[str]]) -> list[str]:
    """The alert's scopes that cover resource groups of the estate (every resource in them, present or future).

    A scope covers a group when the group's ID is the scope or lies below it, that is when the scope is one of
    the group's segment prefixes: the keys of ``by_prefix``. An alert is judged per scope it names, not per
    group of the estate, so an estate of many groups, each with its own alert, stays linear.
    """
    if not isinstance(scopes, list) or not scopes:
        raise Unknown("the alert's scopes are unknown")
    keys = dict.fromkeys(_normal_scope(_text(scope, "a scope")) for scope in scopes)
    return [key for key in keys if key in by_prefix]


def group_prefixes(groups: list[str]) -> dict[str, list[str]]:
    """Every segment prefix of each group ID (``/subscriptions/s``, ``/subscriptions/s/resourcegroups/g``, ...)."""
    by_prefix: dict[str, list[str]] = {}
    for group in groups:
        parts = group.split("/")
        for end in range(2, len(parts) + 1):
            by_prefix.setdefault("/".join(parts[:end]), []).append(group)
    return by_prefix


def estate_groups(inventory: Inventory) -> list[str]:
    """The resource groups (lower-cased IDs) that hold the watched resources."""
    return _placed(inventory)[0]


def unplaced_watched(inventory: Inventory) -> list[Resource]:
    """The watched resources whose resource group is not known (an ID unknown before deployment, or no plain ID):
    no alert can be shown to watch them, and none of them may be left out of the estate's groups unnoticed."""
    return _placed(inventory)[1]


def _placed(inventory: Inventory) -> tuple[list[str], list[Resource]]:
    groups: set[str] = set()
    unplaced: list[Resource] = []
    for resource in inventory.of_type(*WATCHED_TYPES):
        key = canonical_id(resource.id)
        parts = key.split("/") if key is not None else []
        if len(parts) > 4 and parts[1] == "subscriptions" and parts[3] == "resourcegroups":
            groups.add("/".join(parts[:5]))
        else:
            unplaced.append(resource)
    return sorted(groups), unplaced


def _tests_field(condition: Any, field: str) -> bool:
    """Whether any leaf of ``condition`` may test ``field``: True as well when a field name is not known text."""
    if isinstance(condition, Mapping):
        for key, value in condition.items():
            if str(key).lower() == "field" and (not isinstance(value, str) or value.lower() == field):
                return True
            if _tests_field(value, field):
                return True
    elif isinstance(condition, list):
        return any(_tests_field(item, field) for item in condition)
    return False


def _event(operation: str, group: str) -> dict[str, str]:
    provider, _, rest = operation.partition("/")
    return {
        "category": CATEGORY,
        "operationname": operation,
        "resourceprovider": provider,
        "resourcetype": f"{provider}/{rest.rsplit('/', 1)[0]}",
        "resourcegroup": group.rsplit("/", 1)[-1],
        "status": SUCCEEDED,
    }


@dataclass(frozen=True)
class Judged:
    alert: Resource
    # (operation, scope) events it raises: the scope, a key of group_prefixes(), stands for every group under it
    catches: frozenset[tuple[str, str]]
    why_not: str = ""  # why it raises none, if so
    unknown: str = ""  # what could not be evaluated


def _notifies(alert: Resource, inventory: Inventory) -> str:
    """'' when the alert has an enabled action group the inventory holds, else why not."""
    groups = alert.get("properties.actions.actionGroups")
    if not isinstance(groups, list) or not groups:
        return "no action group (nobody would be notified)"
    seen = []
    for entry in groups:
        group_id = entry.get("actiongroupid") if isinstance(entry, Mapping) else None
        group = inventory.get(group_id) if isinstance(group_id, str) else None
        if group is None:
            seen.append(f"action group {group_id} is not in the inventory")
            continue
        enabled = group.get("properties.enabled")
        if enabled is True:
            return ""
        if enabled is not False:
            raise Unknown(f"whether action group {group.name} is enabled is unknown")
        seen.append(f"action group {group.name} is disabled")
    missing = [s for s in seen if s.endswith("not in the inventory")]
    if missing:
        raise Unknown("; ".join(missing))
    return "; ".join(seen)


def judge_alert(
    alert: Resource, inventory: Inventory, groups: list[str], by_prefix: Mapping[str, list[str]] | None = None
) -> Judged:
    try:
        enabled = alert.get("properties.enabled")
        if enabled is False:
            return Judged(alert, frozenset(), why_not="disabled")
        if enabled is not True and enabled is not MISSING:  # absent: the default, true (models.tsp)
            raise Unknown("enabled is unknown")
        silent = _notifies(alert, inventory)
        if silent:
            return Judged(alert, frozenset(), why_not=silent)
        scopes, condition = alert.get("properties.scopes"), alert.get("properties.condition")
        # The event differs between resource groups only in its resourceGroup field: a condition that does not
        # test that field answers the same for every group, so it is evaluated once per operation, not per group.
        by_prefix = group_prefixes(groups) if by_prefix is None else by_prefix
        keys = _covering(scopes, by_prefix)
        if _tests_field(condition, "resourcegroup"):
            covered = dict.fromkeys(group for key in keys for group in by_prefix[key])
            catches = frozenset(
                (op, group)
                for group in covered
                for op in REQUIRED_OPERATIONS
                if fires_for(condition, _event(op, group))
            )
        else:
            some = by_prefix[keys[0]][0] if keys else ""  # any covered group: the condition does not look at it
            firing = [op for op in REQUIRED_OPERATIONS if fires_for(condition, _event(op, some))] if keys else []
            catches = frozenset((op, key) for key in keys for op in firing)
    except Unknown as exc:
        return Judged(alert, frozenset(), unknown=str(exc))
    return Judged(alert, catches, why_not="" if catches else "its scope or condition catches no watched change")


class NetworkChangeAlert(Check):
    meta = CheckMeta(
        id="activity_log_alert_network_changes",
        title="Changes to NSGs, database firewall and parameters, and web app configuration raise an alert",
        severity=Severity.MEDIUM,
        claims=("SEC-DATA-PROTECTION",),
        rationale=(
            "Whoever widens the path to the database or weakens the portal outside Pulumi must not go unnoticed;"
            " an alert that cannot fire for one of those operations, or watches another scope, is no alert."
        ),
        remediation=(
            "Create an enabled activity-log alert scoped to the estate's subscription, category Administrative, with"
            " an anyOf over every watched operation (infra/watched_operations.py) and an enabled action group."
        ),
        references=(
            "https://learn.microsoft.com/azure/azure-monitor/alerts/activity-log-alerts",
            "https://learn.microsoft.com/rest/api/monitor/activity-log-alerts/create-or-update",
        ),
    )

    # Shapes from the spec (models.tsp above): AlertRuleAllOfCondition, AlertRuleAnyOfOrLeafCondition, ActionList;
    # ActionGroup.enabled is required (ActionGroups spec: "enabled" in "required").
    READS = (
        Read(ALERT, "properties.enabled", absent_ok=True, domain=Boolean()),
        Read(ALERT, "properties.scopes", domain=ListOf(Text()), required=True),
        Read(ALERT, "properties.condition.allOf", domain=ListOf(Object()), required=True),
        Read(ALERT, "properties.condition.allOf[*].field", absent_ok=True, domain=Text()),
        Read(ALERT, "properties.condition.allOf[*].equals", absent_ok=True, domain=Text()),
        Read(ALERT, "properties.condition.allOf[*].containsAny", absent_ok=True, domain=ListOf(Text())),
        Read(ALERT, "properties.condition.allOf[*].anyOf", absent_ok=True, domain=ListOf(Object())),
        Read(ALERT, "properties.condition.allOf[*].anyOf[*].field", domain=Text(), required=True),
        Read(ALERT, "properties.condition.allOf[*].anyOf[*].equals", absent_ok=True, domain=Text()),
        Read(ALERT, "properties.condition.allOf[*].anyOf[*].containsAny", absent_ok=True, domain=ListOf(Text())),
        Read(ALERT, "properties.actions.actionGroups", domain=ListOf(Object(("actionGroupId",)))),
        Read(ACTION_GROUP, "properties.enabled", domain=Boolean(), required=True),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        alerts = inventory.of_type(ALERT)
        groups = estate_groups(inventory)
        if not groups:
            yield self.error_nothing_found("none of the watched resources, so the estate's scope is unknown")
            return
        expected = (
            f"every watched operation ({len(REQUIRED_OPERATIONS)}) in "
            + listed(groups)
            + " caught by an enabled alert with an enabled action group"
        )
        by_prefix = group_prefixes(groups)
        judged = [judge_alert(alert, inventory, groups, by_prefix) for alert in alerts]
        wanted = {(op, group) for op in REQUIRED_OPERATIONS for group in groups}
        scoped: set[tuple[str, str]] = set()
        for item in judged:
            scoped |= item.catches
        caught = {(op, group) for op, key in scoped for group in by_prefix[key]}  # each (operation, scope) once
        missed = sorted(wanted - caught)
        counting = [item.alert for item in judged if item.catches]
        unplaced = unplaced_watched(inventory)
        if not missed and unplaced:
            # Every placed group is watched; the groups of these are not known, so neither is whether they are.
            names = listed([r.name for r in unplaced])
            yield self.finding(
                unplaced[0],
                Verdict.ERROR,
                f"Cannot verify that changes to {names} raise an alert: their resource group is not known.",
                Evidence("resource group", [r.id for r in unplaced[:_SHOWN]], "a known resource group"),
            )
            return
        if not missed:
            by = ", ".join(a.name for a in counting[:_SHOWN]) + (" ..." if len(counting) > _SHOWN else "")
            yield self.finding(
                counting[0],
                Verdict.PASS,
                f"Every watched change ({len(REQUIRED_OPERATIONS)} operations in {len(groups)} resource group(s))"
                f" raises an alert ({by}).",
                Evidence("caught", len(wanted), expected),
            )
            return
        missed_ops = sorted({op for op, _ in missed})
        unknown = [item for item in judged if item.unknown]
        subject = unknown[0].alert if unknown else (alerts[0] if alerts else None)
        evidence = Evidence("missed", missed_ops, "none")
        if unknown:
            shown = "; ".join(f"{i.alert.name}: {i.unknown}" for i in unknown[:_SHOWN])
            more = f" (and {len(unknown) - _SHOWN} more)" if len(unknown) > _SHOWN else ""
            yield self.finding(
                subject,
                Verdict.ERROR,
                f"Cannot verify that {len(missed_ops)} watched operation(s) raise an alert: {shown}{more}.",
                evidence,
            )
            return
        reasons = "; ".join(f"{i.alert.name}: {i.why_not or 'catches only part of them'}" for i in judged[:_SHOWN]) + (
            f" (and {len(judged) - _SHOWN} more alerts)" if len(judged) > _SHOWN else ""
        )
        yield self.finding(
            subject,
            Verdict.FAIL,
            f"No enabled alert fires on {len(missed_ops)} watched operation(s)"
            + (f" ({reasons})." if reasons else " (no activity-log alert)."),
            evidence,
        )


CHECK = NetworkChangeAlert()
