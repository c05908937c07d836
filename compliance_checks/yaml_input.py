"""Reading the small YAML inputs (waivers, attestations) with one-line errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from compliance_checks.errors import InputError

MAX_BYTES = 4 * 1024 * 1024


def load_yaml_list(path: Path, key: str) -> list[dict[str, Any]]:
    """The list under ``key`` of a YAML file; each item must be a mapping."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(source, "", f"file is {size} bytes, more than the {MAX_BYTES} allowed")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(source, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(source, "", f"cannot read file ({exc.__class__.__name__}: {exc})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(source, place, str(getattr(exc, "problem", None) or "invalid YAML")) from None
    if document is None:
        raise InputError(source, "", f"the file is empty; expected a '{key}:' list")
    if not isinstance(document, dict) or key not in document:
        raise InputError(source, "", f"expected a mapping with a '{key}:' list at the top level")
    items = document[key]
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError(source, key, f"expected a list, got {type(items).__name__}")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(source, f"{key}[{index}]", f"expected a mapping, got {type(item).__name__}")
    return items


def text_field(source: str, place: str, item: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = item.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(source, f"{place}.{name}", "is required and must not be empty")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise InputError(source, f"{place}.{name}", f"expected text, got {type(value).__name__}")
    return str(value).strip()


def date_field(source: str, place: str, item: dict[str, Any], name: str) -> dt.date:
    value = item.get(name)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(source, f"{place}.{name}", f"expected a date like 2027-01-31, got {value!r}")
