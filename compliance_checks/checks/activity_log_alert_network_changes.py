"""An enabled activity-log alert fires on every change to a setting the promises rest on.

The alert must fire for *each* watched operation: an Administrative event with
that operation name anywhere in the estate's subscription. The condition is
evaluated the way Azure Monitor does (an ``allOf`` of leaf or ``anyOf``
conditions; a leaf matches with ``equals`` or ``containsAny``), not matched as a
shape: two ``operationName`` leaves under ``allOf`` never fire, a category of
``Security`` never sees an Administrative event, a leaf on another field
(``resourceGroup``, ``status``, ``caller``…) narrows the alert, and a scope that
does not hold the estate watches nothing of it.

The watched operations are the infra program's own list
(``infra.components.monitoring.WATCHED_OPERATIONS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compliance_checks.checks.base import Boolean, Check, CheckMeta, ListOf, Object, Params, Read, Text
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue
from infra.components.monitoring import WATCHED_OPERATIONS

ALERT = "Microsoft.Insights/activityLogAlerts"
REQUIRED_OPERATIONS = tuple(op.lower() for op in WATCHED_OPERATIONS)
CATEGORY = "administrative"
# Resource types whose changes the alert must see: its scope must hold them.
WATCHED_TYPES = (
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.Web/sites",
)


class Unknown(Exception):
    """A part of the alert that decides whether it fires is unknown."""


def _leaf_matches(leaf: Any, event: dict[str, str]) -> bool:
    """Whether one leaf condition matches the event. A field the event does not fix narrows: False."""
    if leaf is UNKNOWN or isinstance(leaf, SecretValue) or not isinstance(leaf, dict):
        raise Unknown(f"condition {leaf!r} is unknown or malformed")
    field = leaf.get("field")
    if not isinstance(field, str):
        raise Unknown(f"condition field {field!r} is unknown")
    equals, contains_any = leaf.get("equals", MISSING), leaf.get("containsany", MISSING)
    if equals is UNKNOWN or contains_any is UNKNOWN:
        raise Unknown(f"the value of condition {field} is unknown")
    value = event.get(field.lower())
    if value is None:
        return False  # narrows to events the audit does not assume (a resource group, a caller, a status…)
    if isinstance(equals, str) and equals.lower() == value:
        return True
    return isinstance(contains_any, list) and value in {str(v).lower() for v in contains_any}


def fires_for(condition: Any, event: dict[str, str]) -> bool:
    """Azure Monitor's activity-log alert semantics: every ``allOf`` item matches; an ``anyOf`` needs one leaf."""
    if condition is UNKNOWN or not isinstance(condition, dict):
        raise Unknown("the condition is unknown")
    items = condition.get("allof")
    if items is UNKNOWN or not isinstance(items, list) or not items:
        raise Unknown("the condition has no known allOf list")
    for item in items:
        if not isinstance(item, dict):
            raise Unknown(f"condition item {item!r} is malformed")
        any_of = item.get("anyof")
        if any_of is UNKNOWN:
            raise Unknown("an anyOf list is unknown")
        if isinstance(any_of, list) and any_of:
            if "field" in item:
                raise Unknown("a condition has both a field and anyOf")
            if not any(_leaf_matches(leaf, event) for leaf in any_of):
                return False
        elif not _leaf_matches(item, event):
            return False
    return True


def _estate_scopes(inventory: Inventory) -> set[str]:
    """Subscriptions and resource groups that hold the watched resources."""
    scopes: set[str] = set()
    for resource in inventory.of_type(*WATCHED_TYPES):
        parts = resource.id_key.split("/")
        if len(parts) > 4 and parts[1] == "subscriptions" and parts[3] == "resourcegroups":
            scopes.add("/".join(parts[:3]))
    return scopes


def _covers_estate(scopes: Any, subscriptions: set[str]) -> bool:
    if scopes is UNKNOWN or not isinstance(scopes, list):
        raise Unknown("the alert's scopes are unknown")
    # The REST API's own examples write scopes with and without the leading slash (ActivityLogAlertRule_Get.json).
    known = {"/" + s.strip("/").lower() for s in scopes if isinstance(s, str)}
    if len(known) != len(scopes):
        raise Unknown("a scope of the alert is unknown")
    return bool(subscriptions) and subscriptions <= known


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
            " an anyOf over every watched operation (infra/components/monitoring.py)."
        ),
        references=(
            "https://learn.microsoft.com/azure/azure-monitor/alerts/activity-log-alerts",
            "https://learn.microsoft.com/rest/api/monitor/activity-log-alerts/create-or-update",
        ),
    )

    # Shapes from the REST spec (monitor ActivityLogAlerts: AlertRuleAllOfCondition, AlertRuleAnyOfOrLeafCondition,
    # ActionList); an item of allOf is a leaf (field + equals/containsAny) or an anyOf of leaves.
    READS = (
        Read(ALERT, "properties.enabled", domain=Boolean()),
        Read(ALERT, "properties.scopes", domain=ListOf(Text()), required=True),
        Read(ALERT, "properties.condition.allOf", domain=ListOf(Object()), required=True),
        Read(ALERT, "properties.condition.allOf[*].field", absent_ok=True, domain=Text()),
        Read(ALERT, "properties.condition.allOf[*].equals", absent_ok=True, domain=Text()),
        Read(ALERT, "properties.condition.allOf[*].containsAny", absent_ok=True, domain=ListOf(Text())),
        Read(ALERT, "properties.condition.allOf[*].anyOf", absent_ok=True, domain=ListOf(Object())),
        Read(ALERT, "properties.condition.allOf[*].anyOf[*].field", domain=Text(), required=True),
        Read(ALERT, "properties.condition.allOf[*].anyOf[*].equals", absent_ok=True, domain=Text()),
        Read(ALERT, "properties.actions.actionGroups", domain=ListOf(Object(("actionGroupId",)))),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        alerts = inventory.of_type("Microsoft.Insights/activityLogAlerts")
        subscriptions = _estate_scopes(inventory)
        expected = (
            "enabled, scoped to "
            + (", ".join(sorted(subscriptions)) or "the estate's subscription")
            + ", firing for Administrative events of every watched operation"
        )
        missing_best: list[str] | None = None
        unknown: list[str] = []
        for alert in alerts:
            try:
                enabled = alert.get("properties.enabled")
                if enabled is UNKNOWN:
                    raise Unknown("enabled is unknown")
                if enabled is not True:
                    continue
                groups = alert.get("properties.actions.actionGroups")
                if not isinstance(groups, list) or not groups:
                    missing = ["an action group (nobody would be notified)"]
                elif not _covers_estate(alert.get("properties.scopes"), subscriptions):
                    missing = [f"scope {alert.get('properties.scopes')} does not hold the estate"]
                else:
                    condition = alert.get("properties.condition")
                    missing = [
                        op
                        for op in REQUIRED_OPERATIONS
                        if not fires_for(condition, {"category": CATEGORY, "operationname": op})
                    ]
            except Unknown as exc:
                unknown.append(f"{alert.name}: {exc}")
                continue
            if not missing:
                yield self.finding(
                    alert,
                    Verdict.PASS,
                    f"Fires on all {len(REQUIRED_OPERATIONS)} watched operations in the estate's subscription.",
                    Evidence("properties.condition", alert.get("properties.condition"), expected),
                )
                return
            if missing_best is None or len(missing) < len(missing_best):
                missing_best = missing
        subject = _first(alerts)
        if unknown:
            yield self.finding(
                subject,
                Verdict.ERROR,
                "Cannot verify the alert: " + "; ".join(unknown) + ".",
                Evidence("activityLogAlerts", [a.name for a in alerts], expected),
            )
            return
        yield self.finding(
            subject,
            Verdict.FAIL,
            "No enabled alert fires on every watched change"
            + (f"; the closest misses {', '.join(missing_best)}." if missing_best else "."),
            Evidence("activityLogAlerts", [a.name for a in alerts], expected),
            Evidence("missing", missing_best or list(REQUIRED_OPERATIONS), "none"),
        )


def _first(resources: list[Resource]) -> Resource | None:
    return resources[0] if resources else None


CHECK = NetworkChangeAlert()
