"""A finding's size does not grow with the estate: output stays proportional to the number of findings (issue 15).

The dev stack is replicated into more and more resource groups of one subscription (benchmarks/evaluate.py's
generator: the same mix, IDs rewritten). A finding about a resource that exists in the small estate, with the
same verdict, must say the same amount in the large one: lists in messages and evidence are bounded
(checks.base.listed/bounded, SHOWN_CELLS rows, named locations in a cell description), never "every alert" or
"every group" of the estate.
"""

from __future__ import annotations

import functools
import json

from benchmarks.evaluate import generate
from compliance_checks.catalog import load_catalog
from compliance_checks.checks import load_checks
from compliance_checks.engine import evaluate
from compliance_checks.inventory import Inventory, Resource
from compliance_checks.render_values import jsonable

COPY = 60  # resources in one copy of the dev stack, about
SLACK = 64  # characters: counts printed in a bounded list ("... and 7 more" against "... and 97 more")
LARGEST = 16_000  # characters one finding may take, whatever the estate


@functools.cache
def sizes(copies: int) -> dict[tuple[str, str, str], int]:
    documents = generate(COPY * copies)
    inventory = Inventory(
        Resource.create(id=d["id"], type=d["type"], name=d["name"], body=d["body"], location=d["location"])
        for d in documents
    )
    result = evaluate(inventory, catalog=load_catalog(), checks=load_checks())
    found: dict[tuple[str, str, str], int] = {}
    for f in result.findings:
        evidence = [(e.path, jsonable(e.observed), e.expected) for e in f.evidence]
        key = (f.check_id, f.resource_id.lower(), f.verdict.value)
        found[key] = max(found.get(key, 0), len(f.message) + len(json.dumps(evidence, default=str)))
    return found


def test_the_same_finding_says_the_same_amount_in_a_larger_estate() -> None:
    # Both estates are past every bound (more groups, alerts and gateways than any list shows, 20 table rows):
    # from there on, nothing a finding says grows.
    small, large = sizes(24), sizes(40)
    shared = [k for k in small if k in large]
    assert len(shared) > 40  # most of the small estate's findings reappear unchanged in verdict
    grown = {k: (small[k], large[k]) for k in shared if large[k] > small[k] + SLACK}
    assert grown == {}


def test_no_finding_is_larger_than_a_bound() -> None:
    large = sizes(40)
    assert max(large.values()) <= LARGEST, max(large.items(), key=lambda item: item[1])
