"""This audit against an earlier one (``audit --baseline FILE``): what broke, what was fixed, what stayed.

A finding is identified across runs by its check and its resource, the resource
ID compared case-insensitively (ARM resource IDs are case-insensitive:
https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
A problem is a FAIL or an ERROR: both stand between the estate and a signed-off report.

- ``new``: a problem now that was no problem in the baseline (or not there at all);
- ``fixed``: a problem in the baseline that is now PASS or NOT_APPLICABLE, or gone;
- ``unchanged``: how many findings of this run were in the baseline and are neither
  (still a problem, still none, or a problem that is now MANUAL: not fixed until verified).

Several findings of one check on one resource count as one, with the worst verdict. A finding
marked ``excluded`` (about another estate than the audited one: a probe of a host that is not the
stack's) is left out on both sides, as it is left out of the claims and the exit code.
The baseline is read with :func:`~compliance_checks.report.results.read_results`:
anything but a valid results document is an InputError naming the file and the place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from compliance_checks.errors import InputError
from compliance_checks.report.frameworks import ORDER

PROBLEMS = frozenset({"FAIL", "ERROR"})
RESOLVED = frozenset({"PASS", "NOT_APPLICABLE"})
_RANK = {verdict: len(ORDER) - index for index, verdict in enumerate(ORDER)}

Key = tuple[str, str]


def _by_key(findings: Iterable[Mapping[str, Any]]) -> dict[Key, dict[str, str]]:
    """(checkId, resourceId lower-cased) -> the finding key with the worst verdict among its findings."""
    keyed: dict[Key, dict[str, str]] = {}
    for finding in findings:
        if finding.get("excluded"):
            continue
        key = (str(finding["checkId"]), str(finding["resourceId"]).lower())
        entry = {
            "checkId": str(finding["checkId"]),
            "resourceId": str(finding["resourceId"]),
            "verdict": str(finding["verdict"]),
        }
        known = keyed.get(key)
        # A verdict outside ORDER cannot pass the schema; ranked lowest here rather than trusted as a problem.
        if known is None or _RANK.get(entry["verdict"], -1) > _RANK.get(known["verdict"], -1):
            keyed[key] = entry
    return keyed


def compare(
    findings: Iterable[Mapping[str, Any]], baseline: Mapping[str, Any], *, file: str, sha256: str
) -> dict[str, Any]:
    """The ``comparison`` section: this run's ``findings`` against the ``baseline`` results document."""
    now = _by_key(findings)
    before = _by_key(baseline["findings"])
    new = [entry for key, entry in now.items() if entry["verdict"] in PROBLEMS and _was_fine(before.get(key))]
    fixed = [
        entry
        for key, entry in before.items()
        if entry["verdict"] in PROBLEMS and (key not in now or now[key]["verdict"] in RESOLVED)
    ]
    counted = {(e["checkId"], e["resourceId"].lower()) for e in (*new, *fixed)}
    unchanged = sum(1 for key in now if key in before and key not in counted)
    return {
        "baseline": {"file": file, "sha256": sha256, "startedAt": str(baseline["run"]["startedAt"])},
        "new": sorted(new, key=_order),
        "fixed": sorted(fixed, key=_order),
        "unchanged": unchanged,
    }


def _was_fine(entry: Mapping[str, str] | None) -> bool:
    return entry is None or entry["verdict"] not in PROBLEMS


def _order(entry: Mapping[str, str]) -> tuple[str, str]:
    return (entry["checkId"], entry["resourceId"].lower())


def compare_with_file(findings: Iterable[Mapping[str, Any]], path: Path) -> dict[str, Any]:
    """Read the baseline results.json at ``path`` (InputError when it is none) and compare."""
    from compliance_checks.report.results import read_results, sha256_file

    document = read_results(path)
    try:
        digest = sha256_file(path)
    except OSError as exc:  # removed or made unreadable since it was read
        raise InputError(str(path), "", f"cannot read the file ({exc.strerror or exc})") from None
    return compare(findings, document, file=str(path), sha256=digest)


def summary_line(comparison: Mapping[str, Any]) -> str:
    """One line for the terminal: ``Compared with FILE: N new, M fixed, K unchanged``."""
    return (
        f"Compared with {comparison['baseline']['file']}: {len(comparison['new'])} new, "
        f"{len(comparison['fixed'])} fixed, {comparison['unchanged']} unchanged"
    )


__all__ = ["PROBLEMS", "RESOLVED", "compare", "compare_with_file", "summary_line"]
