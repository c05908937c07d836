"""The check registry: one module per check, its ID is its file name.

``load_checks()`` imports every module of this package except ``base`` and
collects its ``CHECK``. Nothing is imported or registered before it is called.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from compliance_checks.checks.base import Check
from compliance_checks.errors import CatalogError

_NOT_CHECKS = frozenset({"base", "ca_model", "domains", "network_helpers", "postgres_parameter", "probe_base"})


@functools.cache
def load_checks() -> dict[str, Check]:
    """All checks by ID, sorted by ID."""
    found: dict[str, Check] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name in _NOT_CHECKS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        check = getattr(module, "CHECK", None)
        if not isinstance(check, Check):
            raise CatalogError(f"compliance_checks/checks/{info.name}.py: defines no CHECK")
        if check.id != info.name:
            raise CatalogError(
                f"compliance_checks/checks/{info.name}.py: CHECK id {check.id!r} differs from the file name"
            )
        found[check.id] = check
    return found
