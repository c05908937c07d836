"""``Read.any_invalid`` (the guard's fast question) answers exactly what ``Read.values`` + ``invalid`` answer."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance_checks.checks.base import Boolean, ListOf, Read, Text
from compliance_checks.inventory import SECRET, UNKNOWN, Resource

leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3), st.just(UNKNOWN), st.just(SECRET))
bodies = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    max_leaves=15,
)
paths = st.sampled_from(["a", "a.b", "a[*]", "a[*].b", "a[0].b", "a.b[*].c", "a[*][*]", "a[*].b[*].c", "c[1]"])
domains = st.sampled_from([Text(), Boolean(), ListOf(Text())])


@settings(max_examples=400, deadline=None)
@given(body=st.dictionaries(st.sampled_from(["a", "b", "c"]), bodies, max_size=3), path=paths, domain=domains,
       absent_ok=st.booleans(), required=st.booleans())  # fmt: skip
def test_any_invalid_agrees_with_values(
    body: dict[str, Any], path: str, domain: Any, absent_ok: bool, required: bool
) -> None:
    resource = Resource.create(id="/subscriptions/s/resourceGroups/g/providers/X/y/n", type="X/y", name="n", body=body)
    read = Read("X/y", path, absent_ok=absent_ok, domain=domain, required=required)
    assert read.any_invalid(resource) == any(read.invalid(value) for _, value in read.values(resource))


def test_two_resources_of_one_id_are_each_guarded() -> None:
    """The guard's memo is per resource object: a second resource with the same ID and an unknown value is an
    ERROR even when the first, valid one was judged before it (an input may repeat an ID)."""
    from compliance_checks.checks import load_checks
    from compliance_checks.checks.base import Params
    from compliance_checks.findings import Verdict
    from compliance_checks.inventory import Inventory

    site = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Web/sites/app"
    good = Resource.create(id=site, type="Microsoft.Web/sites", name="app", body={"properties": {"httpsOnly": True}})
    unknown = Resource.create(
        id=site, type="Microsoft.Web/sites", name="app", body={"properties": {"httpsOnly": UNKNOWN}}
    )
    check = load_checks()["webapp_https_only"]
    for order in ([good, unknown], [unknown, good]):
        findings = check.evaluate(Inventory(order), Params())
        assert Verdict.ERROR in {f.verdict for f in findings}, [(f.verdict, f.message) for f in findings]
        assert Verdict.PASS not in {f.verdict for f in findings}
