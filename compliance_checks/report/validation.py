"""The JSON Schemas shipped with the reports, and validation against them.

``results-1.0`` describes the canonical results document (JSON Schema draft
2020-12); ``sarif-2.1.0`` is the OASIS SARIF 2.1.0 schema, vendored unchanged
(draft-07; provenance in ``schemas/README.md``). Both are read from the package
with :mod:`importlib.resources`, so they work from a wheel as from the tree.

No optional format checker (``rfc3339-validator``, ``rfc3987``) is installed,
so the results schema backs each ``format`` with a ``pattern``: dates and
timestamps are checked whatever is installed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

SCHEMAS = ("results-1.0", "sarif-2.1.0")


@functools.cache
def _schema_text(name: str) -> str:
    stem = name.removesuffix(".json")
    if stem not in SCHEMAS:
        raise ValueError(f"unknown schema {name!r}: expected one of {', '.join(SCHEMAS)}")
    return resources.files("compliance_checks.report").joinpath("schemas", f"{stem}.json").read_text(encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """A fresh copy of a shipped schema, by name (``results-1.0`` or ``sarif-2.1.0``, ``.json`` optional)."""
    schema = json.loads(_schema_text(name))
    if not isinstance(schema, dict):  # pragma: no cover - the shipped files are objects
        raise ValueError(f"schema {name!r} is not a JSON object")
    return schema


@functools.cache
def _validator(name: str) -> Validator:
    schema = load_schema(name)
    cls: type[Validator] = Draft202012Validator if name == "results-1.0" else Draft7Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _validate(name: str, document: Any) -> None:
    error = best_match(_validator(name).iter_errors(document))
    if error is not None:
        raise error


def validate_results(doc: Mapping[str, Any]) -> None:
    """Raise :class:`jsonschema.ValidationError` (the most relevant error) if ``doc`` is not canonical results 1.0."""
    _validate("results-1.0", doc)


def validate_sarif(log: Mapping[str, Any]) -> None:
    """Raise :class:`jsonschema.ValidationError` if ``log`` does not validate against the OASIS SARIF 2.1.0 schema."""
    _validate("sarif-2.1.0", log)


def results_errors(doc: Mapping[str, Any]) -> list[str]:
    """Every schema violation in ``doc``, one line each (``path: message``), in document order."""
    errors = sorted(_validator("results-1.0").iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{e.json_path}: {e.message}" for e in errors]
