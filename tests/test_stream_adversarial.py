"""Hostile inputs for the streamed sources: sources/json_stream.py, pulumi-state and pulumi-preview.

Three kinds of test. A differential one: the streamed reader and :func:`read_json` must accept exactly the same
texts (and decode them to the same document) or refuse them both, however the text is cut into chunks, for JSON
built to be hostile (repeated keys, equal only once unescaped; NaN, Infinity and overflowing numbers; lone
surrogates; nesting at the limit; a BOM; bytes that are not UTF-8; trailing data; a file cut short). Then the
Pulumi formats' semantics, each case sourced from Pulumi's own code (cited beside it): nothing that exists
after the update (preview) or in the estate (state) may vanish, and a document that is known to be incomplete is
refused. Last, the CLI: a malformed state or preview exits 2 with a one-line error, never 0, 1 or a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance_checks.errors import InputError
from compliance_checks.sources.json_stream import JsonStream
from compliance_checks.sources.loading import MAX_DEPTH, read_json
from compliance_checks.sources.pulumi_preview import load_pulumi_preview
from compliance_checks.sources.pulumi_state import load_pulumi_state

REPO = Path(__file__).resolve().parent.parent
PATH = ("deployment", "resources")
SUBSCRIPTION = "6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21"
SUBNET_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
SUBNET: dict[str, Any] = {
    "urn": "urn:pulumi:dev::p::azure-native:network:Subnet::s",
    "custom": True,
    "type": "azure-native:network:Subnet",
    "id": SUBNET_ID,
    "outputs": {"addressPrefix": "10.0.0.0/24"},
}
WEBAPP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Web/sites/app"
WEBAPP: dict[str, Any] = {
    "urn": "urn:pulumi:dev::p::azure-native:web:WebApp::app",
    "custom": True,
    "type": "azure-native:web:WebApp",
    "id": WEBAPP_ID,
    "outputs": {"name": "app", "httpsOnly": False},
}


def write(tmp_path: Path, document: Any, name: str = "input.json") -> Path:
    path = tmp_path / name
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


# --- the streamed reader against read_json, on hostile text ----------------------------------------------------------

# Keys from a tiny alphabet, some spelled with escapes, so that objects repeat keys, sometimes only once unescaped.
KEYS = st.sampled_from(['"a"', '"\\u0061"', '"b"', '"\\u0062"', '"resources"', '"deployment"', '"\\u00e9"', '"é"'])
HOSTILE_SCALARS = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1e400",
        "1" * 401,
        "1" * 399,
        "0." + "5" * 398,
        '"\\ud800"',  # a lone surrogate: json.loads accepts it, both readers must agree
        '"\\udc00\\ud800"',
        '"\\ud83d\\ude00"',
        "1E+5",
        "-0",
        "0.5e-3",
        '"\\u0000"',
        '"tab\\there"',
        "tru",  # not JSON
        "01",  # not JSON
        "[1,]",  # not JSON
        '{"a" 1}',  # not JSON
    ]
)
PLAIN_SCALARS = st.one_of(
    st.sampled_from(["null", "true", "false", "0", "-12", "3.25", '""', '"x"', '"ü€😀"']),
    st.integers(-(10**20), 10**20).map(str),
    st.text(st.characters(codec="utf-8"), max_size=6).map(lambda t: json.dumps(t, ensure_ascii=False)),
)
SPACE = st.sampled_from(["", " ", "\n", "\r\n    ", "\t"])


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _object(members: list[tuple[str, str]], space: str) -> str:
    return "{" + ",".join(f"{space}{key}{space}:{space}{value}" for key, value in members) + space + "}"


values = st.recursive(
    st.one_of(PLAIN_SCALARS, HOSTILE_SCALARS, st.integers(MAX_DEPTH - 6, MAX_DEPTH + 2).map(nested)),
    lambda inner: st.one_of(
        st.tuples(st.lists(inner, max_size=4), SPACE).map(lambda t: "[" + ("," + t[1]).join(t[0]) + "]"),
        st.tuples(st.lists(st.tuples(KEYS, inner), max_size=4), SPACE).map(lambda t: _object(*t)),
    ),
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A state-shaped document as bytes, with hostile parts in and around the streamed array."""
    space = draw(SPACE)
    elements = draw(st.lists(values, max_size=5))
    resources = "[" + ("," + space).join(elements) + space + "]"
    if draw(st.booleans()):
        resources = draw(values)  # another kind of value where the array is expected
    inner: list[tuple[str, str]] = draw(st.lists(st.tuples(KEYS, values), max_size=2))
    inner.insert(draw(st.integers(0, len(inner))), ('"resources"', resources))
    if draw(st.integers(0, 5)) == 0:  # the streamed array twice (or once more spelled with an escape)
        inner.append((draw(st.sampled_from(['"resources"', '"re\\u0073ources"'])), "[]"))
    deployment = _object(inner, space)
    outer: list[tuple[str, str]] = draw(st.lists(st.tuples(KEYS, values), max_size=2))
    outer.insert(draw(st.integers(0, len(outer))), ('"deployment"', deployment))
    if draw(st.integers(0, 5)) == 0:
        outer.append((draw(st.sampled_from(['"deployment"', '"\\u0064eployment"'])), "{}"))
    text = _object(outer, space)
    if draw(st.integers(0, 6)) == 0:
        text = draw(st.sampled_from(["", " ", "\n\t"])) + draw(values)  # not even an object
    data = text.encode("utf-8", "surrogatepass")
    damage = draw(st.integers(0, 9))
    if damage == 0:
        data = b"\xef\xbb\xbf" + data  # a BOM: both readers skip it
    elif damage == 1 and data:
        data = data[: draw(st.integers(0, len(data) - 1))]  # cut short
    elif damage == 2:
        at = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80"]))
        data = data[:at] + bad + data[at:]  # invalid or overlong UTF-8, an encoded surrogate, a cut character
    elif damage == 3:
        data += draw(st.sampled_from([b" {}", b"\n\n]", b"x", b" \x00", b"\xef\xbb\xbf"]))  # trailing data
    elif damage == 4:
        data = draw(st.sampled_from([b"", b"   ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n"]))
    return data


def _whole(path: Path) -> tuple[str, Any]:
    try:
        return "ok", read_json(path)
    except InputError as exc:
        return "refused", str(exc)


def _streamed(path: Path, chunk: int) -> tuple[str, Any]:
    stream = JsonStream(path, PATH, max_bytes=1 << 30, expected="a test document", chunk=chunk)
    try:
        items = [value for _, value in stream.items()]
    except InputError as exc:
        return "refused", str(exc)
    document = stream.skeleton
    if stream.streamed:
        document["deployment"]["resources"] = items
    return "ok", document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=documents(), chunk=st.sampled_from([1, 2, 3, 5, 8, 64, 1 << 20]))
def test_the_streamed_reader_accepts_exactly_what_read_json_accepts(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int
) -> None:
    path = tmp_path_factory.mktemp("differential") / "doc.json"
    path.write_bytes(data)
    whole = _whole(path)
    streamed = _streamed(path, chunk)
    assert streamed[0] == whole[0], (whole, streamed)
    if whole[0] == "ok":
        assert streamed[1] == whole[1]
    else:  # one line naming the file
        assert str(streamed[1]).startswith(f"{path}: ")
        assert "\n" not in streamed[1]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(  # the inside of a JSON string: no quote, backslash or control character
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters='"\\'), max_size=40
    ),
    cut=st.integers(0, 200),
    bad=st.sampled_from(
        [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80", b"\xe2\x82\xff"]
    ),
    bom=st.booleans(),
    chunk=st.sampled_from([1, 2, 3, 4, 5, 7, 1 << 20]),
)
def test_bytes_that_are_not_utf8_are_named_by_their_place_in_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory, *, text: str, cut: int, bad: bytes, bom: bool, chunk: int
) -> None:
    """Wherever the chunks cut (inside the bad sequence, after a held-back partial character, after a BOM)."""
    head = (b"\xef\xbb\xbf" if bom else b"") + b'{"deployment": {"resources": ["'
    body = text.encode("utf-8")
    body = body[: min(cut, len(body))]
    while body:  # cut on a character boundary: the only bad bytes are the ones inserted
        try:
            body.decode("utf-8")
            break
        except UnicodeDecodeError:
            body = body[:-1]
    data = head + body + bad + b'"]}}'
    with pytest.raises(UnicodeDecodeError) as reference:
        data.decode("utf-8")  # a BOM is valid UTF-8: the reference counts from the file's first byte
    path = tmp_path_factory.mktemp("utf8") / "doc.json"
    path.write_bytes(data)
    with pytest.raises(InputError, match="not UTF-8 text") as caught:
        list(JsonStream(path, PATH, max_bytes=1 << 20, expected="x", chunk=chunk).items())
    assert caught.value.place == f"byte {reference.value.start}"


@pytest.mark.parametrize(
    ("text", "place"),
    [
        # Keys equal only once unescaped, in the envelope around the streamed array and inside an element.
        ('{"deployment": {"resources": []}, "\\u0064eployment": {}}', "/deployment"),
        ('{"deployment": {"resources": [], "re\\u0073ources": []}}', "/deployment/resources"),
        ('{"deployment": {"resources": [{"a": 1, "\\u0061": 2}]}}', "/deployment/resources/0/a"),
        ('{"version": 3, "version": 3, "deployment": {"resources": []}}', "/version"),
    ],
)
def test_keys_equal_once_unescaped_are_duplicates(tmp_path: Path, text: str, place: str) -> None:
    path = write(tmp_path, text)
    for chunk in (1, 4, 1 << 20):
        with pytest.raises(InputError, match="duplicate key") as caught:
            list(JsonStream(path, PATH, max_bytes=1 << 20, expected="x", chunk=chunk).items())
        assert caught.value.place == place
    with pytest.raises(InputError, match="duplicate key"):
        read_json(path)


def test_nesting_exactly_at_the_limit_is_read_and_one_more_level_is_refused(tmp_path: Path) -> None:
    """The element sits under 3 containers (the document, deployment, resources): it may nest MAX_DEPTH - 3."""
    for depth, accepted in ((MAX_DEPTH - 3, True), (MAX_DEPTH - 2, False)):
        path = write(tmp_path, '{"deployment": {"resources": [' + nested(depth) + "]}}")
        stream = JsonStream(path, PATH, max_bytes=1 << 20, expected="x", chunk=3)
        if accepted:
            assert len(list(stream.items())) == 1
            read_json(path)
        else:
            with pytest.raises(InputError, match="nested deeper"):
                list(stream.items())
            with pytest.raises(InputError, match="nested deeper"):
                read_json(path)


def test_a_truncated_export_is_never_a_shorter_inventory(tmp_path: Path) -> None:
    """Cut anywhere, even right after a whole resource, a state is refused: never fewer resources read as all."""
    document = {"version": 3, "deployment": {"resources": [SUBNET, WEBAPP]}}
    text = json.dumps(document, indent=4)
    full = load_pulumi_state(write(tmp_path, text))
    assert len(full) == 2
    for cut in range(len(text.rstrip())):
        path = write(tmp_path, text[:cut])
        with pytest.raises(InputError) as caught:
            load_pulumi_state(path)
        assert "\n" not in str(caught.value)


# --- pulumi-state: the export's semantics ------------------------------------------------------------------------


def state(*resources: Any, **deployment: Any) -> dict[str, Any]:
    return {"version": 3, "deployment": {"manifest": {}, "resources": list(resources), **deployment}}


def test_a_copy_pending_deletion_still_exists_and_is_audited(tmp_path: Path) -> None:
    """ResourceV3.Delete: "true when the resource should be deleted during the next update" (pulumi/pulumi
    sdk/go/common/apitype/core.go): the old copy of a replacement whose deletion failed is still deployed."""
    old = {**WEBAPP, "urn": WEBAPP["urn"] + "-old", "id": WEBAPP_ID + "-old", "delete": True}
    inventory = load_pulumi_state(write(tmp_path, state(SUBNET, old)))
    (site,) = inventory.of_type("Microsoft.Web/sites")
    assert site.id == WEBAPP_ID + "-old"
    assert site.get("properties.httpsOnly") is False
    assert site.origin.endswith("(pending deletion)")


def test_a_copy_pending_deletion_with_a_live_entry_of_the_same_id_gives_way(tmp_path: Path) -> None:
    """Pulumi allows a URN twice when all but one entry are marked for deletion (Snapshot.VerifyIntegrity,
    pkg/resource/deploy/snapshot.go); the same ARM ID is one Azure resource, whose live entry is its newer state."""
    secure = {**WEBAPP, "outputs": {"name": "app", "httpsOnly": True}}
    for order in ((secure, {**WEBAPP, "delete": True}), ({**WEBAPP, "delete": True}, secure)):
        inventory = load_pulumi_state(write(tmp_path, state(*order)))
        (site,) = inventory.of_type("Microsoft.Web/sites")
        assert site.get("properties.httpsOnly") is True


def test_two_live_entries_for_one_urn_are_refused(tmp_path: Path) -> None:
    second = {**SUBNET, "id": SUBNET_ID + "2"}
    with pytest.raises(InputError, match="a second live entry for this URN") as caught:
        load_pulumi_state(write(tmp_path, state(SUBNET, second)))
    assert caught.value.place == "/deployment/resources/1/urn"


def test_a_resource_pending_replacement_no_longer_exists(tmp_path: Path) -> None:
    """ResourceV3.PendingReplacement: "delete-before-replace resources that have been deleted but not yet
    recreated" (core.go): auditing its last state would credit the estate with a resource it lacks."""
    inventory = load_pulumi_state(write(tmp_path, state(SUBNET, {**WEBAPP, "pendingReplacement": True})))
    assert not inventory.of_type("Microsoft.Web/sites")
    assert len(inventory) == 1


@pytest.mark.parametrize("flag", ["delete", "pendingReplacement"])
def test_a_lifecycle_flag_that_is_not_a_boolean_is_refused(tmp_path: Path, flag: str) -> None:
    with pytest.raises(InputError, match="expected a boolean, got a string") as caught:
        load_pulumi_state(write(tmp_path, state({**WEBAPP, flag: "true"})))
    assert caught.value.place == f"/deployment/resources/0/{flag}"


@pytest.mark.parametrize("operation", ["creating", "updating", "deleting", "reading"])
def test_an_export_with_pending_operations_is_refused(tmp_path: Path, operation: str) -> None:
    """DeploymentV3.PendingOperations: "operations that were known by the engine to be currently executing"
    (core.go). A resource being created may exist in Azure and in no entry of the export."""
    pending = [{"resource": {**WEBAPP, "urn": WEBAPP["urn"] + "2"}, "type": operation}]
    with pytest.raises(InputError, match="operation\\(s\\) pending") as caught:
        load_pulumi_state(write(tmp_path, state(SUBNET, pending_operations=pending)))
    assert caught.value.place == "/deployment/pending_operations/0"
    assert load_pulumi_state(write(tmp_path, state(SUBNET, pending_operations=[])))  # none pending: read


def test_an_export_pulumi_marked_with_an_integrity_error_is_refused(tmp_path: Path) -> None:
    """DeploymentV3.Metadata.IntegrityErrorMetadata: "any integrity error affecting the snapshot" (core.go)."""
    document = state(SUBNET, metadata={"integrity_error": {"error": "child refers to missing parent"}})
    with pytest.raises(InputError, match="integrity error"):
        load_pulumi_state(write(tmp_path, document))
    assert load_pulumi_state(write(tmp_path, state(SUBNET, metadata={})))


def test_entries_before_the_first_id_get_its_subscription(tmp_path: Path) -> None:
    """The pending buffer: a resource without an ARM ID before the first one with it is neither lost nor
    misplaced, and one after a skipped entry with a non-ARM ID (a provider's UUID) is not taken for it."""
    provider = {
        "urn": "urn:pulumi:dev::p::pulumi:providers:azure-native::default",
        "custom": True,
        "type": "pulumi:providers:azure-native",
        "id": "7d3b5f1e-27a4-4b8e-9b1a-52c6d04f8e21",
    }
    no_id = {
        "urn": "urn:pulumi:dev::p::azure-native:network:Subnet::early",
        "custom": True,
        "type": "azure-native:network:Subnet",
        "inputs": {"resourceGroupName": "rg", "virtualNetworkName": "v", "subnetName": "early"},
    }
    inventory = load_pulumi_state(write(tmp_path, state(provider, no_id, SUBNET)))
    assert sorted(r.id for r in inventory) == sorted([SUBNET_ID, SUBNET_ID[: -len("s")] + "early"])


# --- pulumi-preview: the steps' semantics ------------------------------------------------------------------------


def step(op: str, resource: dict[str, Any] = SUBNET, **changes: Any) -> dict[str, Any]:
    return {"op": op, "urn": resource["urn"], "newState": {**resource, **changes}}


def removal(op: str, resource: dict[str, Any] = SUBNET) -> dict[str, Any]:
    return {"op": op, "urn": resource["urn"], "oldState": dict(resource)}


def summary_of(steps: Any) -> dict[str, int]:
    """A changeSummary as Pulumi writes one beside its steps: a count per operation."""
    counts: dict[str, int] = {}
    for item in steps:
        if isinstance(item, dict) and isinstance(item.get("op"), str):
            counts[item["op"]] = counts.get(item["op"], 0) + 1
    return counts


def ids(tmp_path: Path, *steps: Any, **top: Any) -> list[str]:
    document = {"steps": list(steps), "changeSummary": summary_of(steps) or None, **top}
    if document["changeSummary"] is None:
        del document["changeSummary"]
    return sorted(r.id for r in load_pulumi_preview(write(tmp_path, document)))


# Every op of StepOps (pulumi/pulumi pkg/resource/deploy/step.go): what the resource is after it.
STATE_OPS = ["same", "create", "update", "replace", "create-replacement", "read", "read-replacement", "refresh"]
STATE_OPS += ["import", "import-replacement"]


@pytest.mark.parametrize("op", STATE_OPS)
def test_a_step_with_a_new_state_keeps_the_resource(tmp_path: Path, op: str) -> None:
    assert ids(tmp_path, step(op)) == [SUBNET_ID]


@pytest.mark.parametrize("op", ["delete", "discard"])
def test_a_removing_step_drops_the_resource_and_a_later_step_brings_it_back(tmp_path: Path, op: str) -> None:
    assert ids(tmp_path, step("same"), removal(op)) == []
    assert ids(tmp_path, removal(op), step("create")) == [SUBNET_ID]
    assert ids(tmp_path, step("same", WEBAPP), removal(op), step("create")) == sorted([SUBNET_ID, WEBAPP_ID])


@pytest.mark.parametrize("op", ["delete-replaced", "discard-replaced", "remove-pending-replace"])
def test_removing_the_old_copy_keeps_the_new_one(tmp_path: Path, op: str) -> None:
    # create-before-delete, and delete-before-replace (the old copy's step comes first)
    assert ids(tmp_path, step("create-replacement"), step("replace"), removal(op)) == [SUBNET_ID]
    assert ids(tmp_path, removal(op), step("replace"), step("create-replacement")) == [SUBNET_ID]


@pytest.mark.parametrize("op", ["read-discard", "diff", "Delete", "frobnicate", "create "])
def test_an_unknown_op_is_refused(tmp_path: Path, op: str) -> None:
    with pytest.raises(InputError, match="unknown step operation") as caught:
        ids(tmp_path, step(op))
    assert caught.value.place == "/steps/0/op"


def test_a_step_and_its_new_state_must_name_the_same_urn(tmp_path: Path) -> None:
    """Two steps whose new states claim one URN would let the later hide the earlier resource."""
    public = {"op": "create", "urn": "urn:pulumi:dev::p::azure-native:network:Subnet::public", "newState": SUBNET}
    with pytest.raises(InputError, match="differs from the step's URN") as caught:
        ids(tmp_path, public, step("create", outputs={"addressPrefix": "10.0.9.0/24"}))
    assert caught.value.place == "/steps/0/newState/urn"


def test_a_removing_step_without_a_urn_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match='a "delete" step names no resource URN'):
        ids(tmp_path, step("create"), {"op": "delete", "oldState": SUBNET})


def test_a_refresh_without_a_new_state_waits_for_a_later_step(tmp_path: Path) -> None:
    """`pulumi preview --refresh`: a refresh that finds the resource gone has no new state (json.go rewrites it
    as a delete); the program's later step decides. With none, what the resource is after the update is unknown."""
    refresh = {"op": "refresh", "urn": SUBNET["urn"], "oldState": SUBNET}
    assert ids(tmp_path, refresh, step("create")) == [SUBNET_ID]
    with pytest.raises(InputError, match="refreshed without a new state") as caught:
        ids(tmp_path, step("same", WEBAPP), refresh)
    assert caught.value.place == "/steps/1"


def test_a_preview_without_its_unchanged_resources_is_refused(tmp_path: Path) -> None:
    """`pulumi preview --json` writes "same" steps only with --show-sames (shouldShow, pulumi/pulumi
    pkg/backend/display/json.go) but counts them all in changeSummary (planActions.OnResourceStepPost,
    pkg/engine/plan.go): without the flag, every unchanged resource, compliant or not, would be missing."""
    stack = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"
    root = {"op": "same", "urn": stack, "newState": {"urn": stack, "custom": False, "type": "pulumi:pulumi:Stack"}}
    with pytest.raises(InputError, match="--show-sames") as caught:
        ids(tmp_path, root, step("update"), changeSummary={"same": 2, "update": 1})
    assert caught.value.place == "/changeSummary/same"
    full = ids(tmp_path, root, step("same", WEBAPP), step("update"), changeSummary={"same": 2, "update": 1})
    assert full == sorted([SUBNET_ID, WEBAPP_ID])
    for bad in ("2", -1, True, None):
        if bad is not None:
            with pytest.raises(InputError, match="expected a count"):
                ids(tmp_path, step("update"), changeSummary={"same": bad})


def test_steps_without_a_change_summary_are_refused(tmp_path: Path) -> None:
    """PreviewDigest's ``changeSummary`` is ``omitempty``: Pulumi leaves it out only when no step was counted. Beside
    steps its absence means the document was not written by Pulumi as it is, and whether unchanged resources
    were left out (no --show-sames) cannot be told."""
    path = write(tmp_path, {"steps": [step("update")]})
    with pytest.raises(InputError, match="--show-sames") as caught:
        load_pulumi_preview(path)
    assert caught.value.place == "/changeSummary"
    assert ids(tmp_path) == []  # no steps: nothing was counted, nothing can be missing from the steps


def test_a_failed_preview_is_refused(tmp_path: Path) -> None:
    """A program error stops the preview part-way: the digest is still written, with an error diagnostic."""
    diagnostics = [
        {"message": "warning only", "severity": "warning"},
        {"urn": SUBNET["urn"], "message": "TypeError: x is undefined", "severity": "error"},
    ]
    with pytest.raises(InputError, match="the preview failed") as caught:
        ids(tmp_path, step("create"), diagnostics=diagnostics)
    assert caught.value.place == "/diagnostics/1"
    assert ids(tmp_path, step("create"), diagnostics=diagnostics[:1]) == [SUBNET_ID]


def test_a_preview_pulumi_marks_maybe_corrupt_is_refused(tmp_path: Path) -> None:
    """PreviewDigest.MaybeCorrupt: "one or more resources may be corrupt" (pulumi/pulumi display PreviewDigest)."""
    with pytest.raises(InputError, match="maybe corrupt"):
        ids(tmp_path, step("create"), maybeCorrupt=True)
    with pytest.raises(InputError, match="expected a boolean"):
        ids(tmp_path, step("create"), maybeCorrupt="yes")
    assert ids(tmp_path, step("create"), maybeCorrupt=False) == [SUBNET_ID]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C"]),
            st.sampled_from([*STATE_OPS, "delete", "discard", "delete-replaced", "discard-replaced"]),
        ),
        max_size=8,
    )
)
def test_a_resource_exists_after_the_update_exactly_when_its_last_deciding_step_keeps_it(
    tmp_path: Path, plan: list[tuple[str, str]]
) -> None:
    """Against a plain model: per URN, the last step that is neither an old copy's removal nor decides nothing."""
    resources = {
        name: {**SUBNET, "urn": f"urn:pulumi:dev::p::azure-native:network:Subnet::{name}", "id": SUBNET_ID + name}
        for name in "ABC"
    }
    steps: list[dict[str, Any]] = []
    expected: dict[str, bool] = {}
    for name, op in plan:
        if op in ("delete", "discard", "delete-replaced", "discard-replaced"):
            steps.append(removal(op, resources[name]))
            if op in ("delete", "discard"):
                expected[name] = False
        else:
            steps.append(step(op, resources[name]))
            expected[name] = True
    assert ids(tmp_path, *steps) == sorted(SUBNET_ID + name for name, kept in expected.items() if kept)


# --- the CLI: a malformed state or preview exits 2 with one line -------------------------------------------------

CLI_CASES: list[tuple[str, str, bytes]] = [
    ("pulumi-state", "truncated", json.dumps(state(SUBNET, WEBAPP)).encode()[:-7]),
    ("pulumi-state", "empty", b""),
    ("pulumi-state", "deployment twice", b'{"version": 3, "deployment": {}, "deployment": {}}'),
    ("pulumi-state", "resources twice", b'{"version": 3, "deployment": {"resources": [], "resources": []}}'),
    ("pulumi-state", "not UTF-8", b'{"version": 3, "deployment": {"resources": ["\xc0\xaf"]}}'),
    ("pulumi-state", "NaN", b'{"version": 3, "deployment": {"resources": [{"urn": NaN}]}}'),
    ("pulumi-state", "deep", b'{"version": 3, "deployment": {"resources": [' + b"[" * 5000 + b"]" * 5000 + b"]}}"),
    ("pulumi-state", "trailing data", json.dumps(state(SUBNET)).encode() + b"{}"),
    (
        "pulumi-state",
        "pending operations",
        json.dumps(state(SUBNET, pending_operations=[{"type": "creating"}])).encode(),
    ),
    ("pulumi-state", "duplicate URN", json.dumps(state(SUBNET, SUBNET)).encode()),
    ("pulumi-preview", "unknown op", json.dumps({"steps": [step("frobnicate")]}).encode()),
    (
        "pulumi-preview",
        "sames left out",
        json.dumps({"steps": [step("update")], "changeSummary": {"same": 9}}).encode(),
    ),
    ("pulumi-preview", "failed", json.dumps({"steps": [], "diagnostics": [{"severity": "error"}]}).encode()),
    ("pulumi-preview", "steps twice", b'{"steps": [], "steps": []}'),
]


@pytest.mark.parametrize(("source", "label", "content"), CLI_CASES, ids=[c[1] for c in CLI_CASES])
def test_the_cli_exits_2_with_one_line_on_a_malformed_input(
    tmp_path: Path, source: str, label: str, content: bytes
) -> None:
    path = write(tmp_path, content, "input.json")
    command = [sys.executable, "-m", "compliance_checks", "audit", "--source", source, "--input", str(path)]
    command += ["--out", str(tmp_path / "out"), "-q"]
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2, (label, run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert str(path) in lines[0]
