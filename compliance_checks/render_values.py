"""How observed values are shown to people: one formatting for every report."""

from __future__ import annotations

import json
from typing import Any

from compliance_checks.inventory import MISSING, UNKNOWN, SecretValue
from compliance_checks.redaction import redact_value, scrub_text


def show(value: Any) -> str:
    """A value as text for people; whatever is secret in it shows as ``[secret]``."""
    return scrub_text(_show(redact_value(value)))


def _show(value: Any) -> str:
    if value is MISSING:
        return "(not set)"
    if value is UNKNOWN:
        return "(unknown)"
    if isinstance(value, SecretValue):
        return "[secret]"
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def jsonable(value: Any) -> Any:
    """Observed values as they go into the canonical JSON (sentinels become tagged strings)."""
    if value is MISSING:
        return {"$missing": True}
    if value is UNKNOWN:
        return {"$unknown": True}
    if isinstance(value, SecretValue):
        return {"$secret": True}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def show_json(value: Any) -> str:
    """A value of the canonical JSON (tagged sentinels included) for a report cell."""
    if isinstance(value, dict) and len(value) == 1:
        tag = next(iter(value))
        if tag in ("$missing", "$unknown", "$secret"):
            return {"$missing": "(not set)", "$unknown": "(unknown)", "$secret": "[secret]"}[tag]
    return show(value)


MAX_TABLE_ROWS = 50


def as_table(value: Any) -> tuple[list[str], list[list[str]]] | None:
    """An evaluator's reasoning as a table: a list of records that all have the same keys.

    The reachability and Conditional Access evaluators give their evidence as
    rows ("from X to port 5432: allowed by rule R"); every report shows those as
    a table (at most ``MAX_TABLE_ROWS`` rows, the rest in results.json). Any
    other value is not a table (``None``) and is shown as text.
    """
    if not isinstance(value, list | tuple) or not value:
        return None
    first = value[0]
    if not isinstance(first, dict) or not first:
        return None
    columns = [str(k) for k in first]
    rows = []
    for item in value:
        if not isinstance(item, dict) or [str(k) for k in item] != columns:
            return None
        rows.append([show_json(item[k]) if isinstance(item[k], dict) else show(item[k]) for k in item])
    return columns, rows
