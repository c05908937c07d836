"""The audit seen per framework: each requirement of GDPR, TDDDG, ISO/IEC 27001, BSI C5 and CIS Azure.

An auditor signs off against a framework, not against the privacy policy's
claims. Each claim of the catalogue names where it sits in each framework
(``mappings`` in ``compliance_checks/catalog/claims.yaml``); turned around, a
requirement is backed by every claim that names it, and through them by the
claims' checks. Its verdict is the worst of those claims' verdicts, as the
results document reports them (``claims[].verdict``): one broken claim breaks
the requirement, and a requirement some of whose claims could not be verified
or were not run is not a PASS.

Built from the document's own ``claims`` section, so the views can never
disagree with the claims shown beside them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from compliance_checks.catalog import FRAMEWORKS

# Worst first: FAIL (a promise broken), ERROR (could not verify), MANUAL (waits for a
# person), NOT_RUN (nothing that verifies it ran this time), PASS, NOT_APPLICABLE. Verdict.rank
# (findings.py) has the same order but for one pair: it ranks NOT_RUN below PASS, so that a claim
# layer not run does not spoil a claim another layer verified. A requirement is different: it
# is only as verified as each claim behind it, so one claim not run keeps it from PASS (fail
# closed). tests/test_report_frameworks.py keeps the two orders in step otherwise.
ORDER = ("FAIL", "ERROR", "MANUAL", "NOT_RUN", "PASS", "NOT_APPLICABLE")
_RANK = {verdict: len(ORDER) - index for index, verdict in enumerate(ORDER)}


def worst_verdict(verdicts: Iterable[str]) -> str:
    """The worst of claim verdicts (strings of the results document); none at all is ERROR: nothing verified."""
    seen = list(verdicts)
    if not seen:
        return "ERROR"
    unknown = sorted(set(seen) - set(ORDER))
    if unknown:
        # The document is ours: a verdict this module does not rank is a bug, never silently a pass.
        raise ValueError(f"unknown claim verdict {unknown[0]!r} (expected one of {', '.join(ORDER)})")
    return max(seen, key=_RANK.__getitem__)


def _natural(text: str) -> list[tuple[int, Any]]:
    """Sort key that puts "Art. 5" before "Art. 13" and "A.8.2" before "A.8.10"."""
    return [(0, int(part)) if part.isdigit() else (1, part.lower()) for part in re.split(r"(\d+)", text) if part]


def framework_views(claims: Iterable[Mapping[str, Any]], titles: Mapping[str, str]) -> list[dict[str, Any]]:
    """``frameworks`` of the results document from its ``claims`` section and each framework's edition.

    Every framework of the catalogue is listed, in the catalogue's order, even one
    no claim maps to; within each, every requirement any claim names, once.
    """
    claims = list(claims)
    views = []
    for framework in FRAMEWORKS:
        backing: dict[str, list[Mapping[str, Any]]] = {}
        for claim in claims:
            for requirement in claim.get("mappings", {}).get(framework, ()):
                backing.setdefault(requirement, []).append(claim)
        views.append(
            {
                "id": framework,
                "title": titles.get(framework, framework),
                "requirements": [
                    {
                        "id": requirement,
                        "claims": sorted(str(c["id"]) for c in backing[requirement]),
                        "checks": sorted({str(check) for c in backing[requirement] for check in c["checks"]}),
                        "verdict": worst_verdict(str(c["verdict"]) for c in backing[requirement]),
                    }
                    for requirement in sorted(backing, key=_natural)
                ],
            }
        )
    return views


__all__ = ["ORDER", "framework_views", "worst_verdict"]
