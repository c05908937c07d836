"""Fail closed, over every check and every source: no declared read can be broken into a PASS.

Each check declares what it decides on (``Check.reads()``: resource type and
property path). For every source the audit reads (the synthesized stacks, the
stack as an ARM template, the deployed estate as the live collector reads it),
every check that PASSes there, and every declared path of every resource it
reads, the value is set to: missing, null, unknown, secret, a value of the
wrong type and an out-of-range value. The check's verdict over the whole
inventory must then be FAIL or ERROR -- never PASS, never "not applicable"
(which a claim would count as kept). ``absent_ok`` reads (where "not set" is
the good state, such as no analytics key) may PASS when missing or null.

The numbers of mutations tried are printed (run pytest with ``-s`` or see the
captured output of a failure).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Check, Params, Text
from compliance_checks.export_arm import export_template
from compliance_checks.findings import Verdict, worst
from compliance_checks.inventory import MISSING, SECRET, UNKNOWN, Inventory, Resource, compile_path, lookup
from compliance_checks.sources.arm_template import load_arm_template
from compliance_checks.sources.live import load_live
from compliance_checks.sources.pulumi_preview import load_pulumi_preview
from compliance_checks.sources.pulumi_state import load_pulumi_state
from compliance_checks.sources.synth import inventory_from_synthesis
from infra.synth import REPO_ROOT
from tests.conftest import synth_cached

_DELETE = object()  # the mutation "missing": the key is removed
_CHECKS = load_checks()
_PARAMS = Params()
_CACHE: dict[str, Inventory] = {}


def _synth(stack: str) -> Callable[[Path], Inventory]:
    return lambda _tmp: inventory_from_synthesis(synth_cached(stack))


def _arm(stack: str) -> Callable[[Path], Inventory]:
    def load(tmp: Path) -> Inventory:
        import json

        path = tmp / f"{stack}.json"
        path.write_text(json.dumps(export_template(inventory_from_synthesis(synth_cached(stack)))), encoding="utf-8")
        return load_arm_template(path)

    return load


def _live(tmp: Path) -> Inventory:
    from tests.live import estate as live
    from tests.support.pki import server_pem
    from tests.test_live_collect import collect

    estate = live.dev_estate()
    collection, _fake = collect(estate, server_pem(tmp), subscriptions=(estate.subscription_id,))
    return load_live(collection)


def _fixture(loader: Callable[[Path], Inventory], name: str) -> Callable[[Path], Inventory]:
    return lambda _tmp: loader(REPO_ROOT / "tests" / "fixtures" / "sources" / name)


SOURCES: dict[str, Callable[[Path], Inventory]] = {
    "synth-dev": _synth("dev"),
    "synth-prod": _synth("prod"),
    "arm-dev": _arm("dev"),
    "live-dev": _live,
    # Published shapes of `pulumi stack export` and `pulumi preview --json` (small stacks, some checks PASS there).
    "pulumi-state": _fixture(load_pulumi_state, "pulumi-stack-export.json"),
    "pulumi-preview": _fixture(load_pulumi_preview, "pulumi-preview.json"),
}


def baseline(name: str, tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    if name not in _CACHE:
        _CACHE[name] = SOURCES[name](tmp_path_factory.mktemp(name))
    return _CACHE[name]


# --- mutations ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    label: str
    value: Any
    absent: bool  # a "not set" mutation: allowed to PASS on an ``absent_ok`` read


def mutations(original: Any) -> Iterator[Mutation]:
    """The values a declared path is set to, given the value the baseline has there."""
    yield Mutation("missing", _DELETE, True)
    yield Mutation("null", None, True)
    yield Mutation("unknown", UNKNOWN, False)
    yield Mutation("secret", SECRET, False)
    if isinstance(original, bool):
        yield Mutation("wrong type (string)", "yes", False)
    elif isinstance(original, (int, float)):
        yield Mutation("wrong type (string)", str(original), False)
        yield Mutation("out of range (negative)", -1, False)
        yield Mutation("out of range (huge)", 2**63, False)
    elif isinstance(original, str):
        yield Mutation("wrong type (number)", 12345, False)
        yield Mutation("out of range (unrecognised text)", "TLSv99-\u2603-unrecognised", False)
    elif isinstance(original, list):
        yield Mutation("wrong type (object)", {"unexpected": original[:1]}, False)
    elif isinstance(original, Mapping):
        yield Mutation("wrong type (string)", "unexpected", False)
    elif original is MISSING:
        yield Mutation("wrong type (object)", {"unexpected": True}, False)


def concrete_paths(resource: Resource, path: str) -> Iterator[tuple[str | int, ...]]:
    """Expand ``[*]`` to every index the resource has; paths whose parent is absent are skipped."""
    compiled = compile_path(path)

    def expand(prefix: tuple[str | int, ...], rest: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
        if not rest:
            yield prefix
            return
        head, tail = rest[0], rest[1:]
        if head == -1:
            items = lookup(resource.folded, prefix)
            if isinstance(items, list):
                for index in range(len(items)):
                    yield from expand((*prefix, index), tail)
            return
        yield from expand((*prefix, head), tail)

    for concrete in expand((), compiled):
        parent = lookup(resource.folded, concrete[:-1])
        if isinstance(parent, (Mapping, list)):
            yield concrete


def _set(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of ``body`` with ``path`` (folded keys, matched case-insensitively) set, or removed for _DELETE."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(body)
        if rest or value is not _DELETE:
            items[head] = _set(items[head], rest, value)
        else:
            del items[head]
        return items
    mapping = dict(body)
    key = next((k for k in mapping if str(k).lower() == head), str(head))
    if rest:
        mapping[key] = _set(mapping[key], rest, value)
    elif value is _DELETE:
        mapping.pop(key, None)
    else:
        mapping[key] = value
    return mapping


def mutated(inventory: Inventory, resource: Resource, path: tuple[str | int, ...], value: Any) -> Inventory:
    body = _set(copy.deepcopy(dict(resource.body)), path, value)
    location = resource.location
    if path == ("location",):
        location = value if isinstance(value, str) else None
    changed = Resource.create(
        id=resource.id,
        type=resource.type,
        name=resource.name,
        body=body,
        location=location,
        source=resource.source,
        origin=resource.origin,
        observed_at=resource.observed_at,
    )
    return Inventory(
        [changed if r is resource else r for r in inventory.resources], sources=inventory.sources, gaps=inventory.gaps
    )


def verdict(check: Check, inventory: Inventory) -> Verdict:
    from compliance_checks.engine import _run_checks

    findings = _run_checks(inventory, {check.id: check}, _PARAMS)
    judged = [f.verdict for f in findings if f.verdict != Verdict.NOT_APPLICABLE]
    return worst(judged) if judged else Verdict.NOT_APPLICABLE


# --- the tests ----------------------------------------------------------------------------------------------------

CONFIG_CHECKS = sorted(i for i, c in _CHECKS.items() if not i.startswith("probe_"))


def test_every_configuration_check_declares_what_it_reads() -> None:
    undeclared = [check_id for check_id in CONFIG_CHECKS if not _CHECKS[check_id].reads()]
    assert undeclared == []


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_no_declared_read_can_be_broken_into_a_pass(source: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    inventory = baseline(source, tmp_path_factory)
    tried = 0
    judged: list[str] = []
    problems: list[str] = []
    for check_id in CONFIG_CHECKS:
        check = _CHECKS[check_id]
        if verdict(check, inventory) != Verdict.PASS:
            continue  # a check that does not PASS here cannot be broken into a PASS here
        judged.append(check_id)
        for read in check.reads():
            for resource in read.subjects(inventory):
                for path in concrete_paths(resource, read.path):
                    original = lookup(resource.folded, path)
                    for mutation in mutations(original):
                        if mutation.label.startswith("out of range") and read.domain == Text(free=True):
                            continue  # every text is a legitimate value here (Text(free=True))
                        if mutation.value is _DELETE and (original is MISSING or read.type == "*"):
                            continue  # nothing to remove, or (type "*") removing the path removes the subject
                        tried += 1
                        seen = verdict(check, mutated(inventory, resource, path, mutation.value))
                        if seen in (Verdict.FAIL, Verdict.ERROR):
                            continue
                        if mutation.absent and read.absent_ok:
                            continue
                        shown = ".".join(str(p) for p in path)
                        problems.append(
                            f"{check_id}: {resource.type} {resource.name}: {shown} {mutation.label} -> {seen}"
                        )
    print(f"\n{source}: {tried} mutations over {len(judged)} passing checks")
    assert judged, f"no check passes on {source}: the baseline is broken"
    assert tried > 0
    assert problems == [], f"{len(problems)} of {tried} mutations still pass:\n" + "\n".join(problems[:80])


def test_drift_watches_every_declared_read() -> None:
    """Drift compares exactly what the checks decide on: every declared read is in its table."""
    from compliance_checks.drift import watched_paths

    table = watched_paths(_CHECKS.values())
    for check in _CHECKS.values():
        for read in check.reads():
            if read.type == "*":
                assert read.path == "location" and all(paths[0] == "location" for paths in table.values())
                continue
            head = read.path.split("[*]", 1)[0]
            assert read.type.lower() in table, (check.id, read)
            assert head.lower() == "id" or head in table[read.type.lower()], (check.id, read)
