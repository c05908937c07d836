"""The streamed reader (sources/json_stream.py) decodes exactly what ``json.loads`` decodes, wherever chunks cut.

A chunk boundary may fall inside a string, a number, an escape, a multi-byte UTF-8 character or between a key
and its colon: every element must come out whole and equal, the rest of the document must be kept, and every
refusal of ``read_json`` must be a refusal here too, with the place in the whole file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance_checks.errors import InputError
from compliance_checks.sources import json_stream
from compliance_checks.sources.json_stream import JsonStream
from compliance_checks.sources.loading import MAX_DEPTH, read_json

PATH = ("deployment", "resources")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def _stream(path: Path, chunk: int = json_stream.CHUNK) -> tuple[list[tuple[str, Any]], JsonStream]:
    stream = JsonStream(path, PATH, max_bytes=1 << 30, expected="a test document", chunk=chunk)
    return list(stream.items()), stream


@settings(max_examples=150, deadline=None)
@given(
    elements=st.lists(values, max_size=8),
    before=st.dictionaries(st.sampled_from(["manifest", "version", "x"]), values, max_size=3),
    chunk=st.integers(min_value=1, max_value=64),
    indent=st.sampled_from([None, 0, 2, 4]),
)
def test_elements_and_the_rest_equal_json_loads_at_any_chunk_size(
    tmp_path_factory: pytest.TempPathFactory,
    elements: list[Any],
    before: dict[str, Any],
    chunk: int,
    indent: int | None,
) -> None:
    document = {**before, "deployment": {"manifest": {"time": "t"}, "resources": elements, "after": [1, "ü"]}}
    path = tmp_path_factory.mktemp("stream") / "doc.json"
    path.write_text(json.dumps(document, indent=indent, ensure_ascii=False), encoding="utf-8")
    items, stream = _stream(path, chunk)
    assert [value for _, value in items] == elements
    assert [place for place, _ in items] == [f"/deployment/resources/{i}" for i in range(len(elements))]
    assert stream.streamed
    expected = json.loads(path.read_text(encoding="utf-8"))
    expected["deployment"]["resources"] = []
    assert stream.skeleton == expected


def test_a_large_export_is_streamed_across_many_chunks(tmp_path: Path) -> None:
    elements = [{"urn": f"urn:{i}", "outputs": {"n": i, "s": "é" * (i % 7), "f": i / 3}} for i in range(3000)]
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"resources": elements}}, indent=4), encoding="utf-8")
    items, stream = _stream(path, 4096)
    assert [value for _, value in items] == elements
    assert stream.skeleton == {"version": 3, "deployment": {"resources": []}}


@pytest.mark.parametrize(
    ("text", "place", "problem"),
    [
        ('{"deployment": {"resources": [{"a": NaN}]}}', "/deployment/resources/0/a", "NaN is not a JSON value"),
        ('{"deployment": {"resources": [{"a": 1e400}]}}', "/deployment/resources/0/a", "out of range"),
        ('{"deployment": {"resources": [{"a": 1, "a": 2}]}}', "/deployment/resources/0/a", "duplicate key"),
        ('{"deployment": {"resources": [], "resources": []}}', "/deployment/resources", "duplicate key"),
        ('{"deployment": {"resources": [1 2]}}', "line 1, column 33", "Expecting ',' delimiter"),
        ('{"deployment": {"resources": [1, 2', "line 1, column 35", "ends early"),
        ('{"version": 3}\n{"x": 1}', "line 2, column 1", "Extra data"),
        ("   \n ", "", "file is empty"),
        ('{"deployment": {"resources": [' + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "]}}", "", "nested"),
    ],
)
def test_what_read_json_refuses_is_refused_with_its_place(tmp_path: Path, text: str, place: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        _stream(path, 7)  # cut everywhere
    assert caught.value.source == str(path)
    assert caught.value.place.startswith(place)
    assert problem in str(caught.value)
    if "resources" in text and "Extra" not in problem:  # the whole-document reader refuses it too
        with pytest.raises(InputError):
            read_json(path)


def test_invalid_utf8_is_named_by_its_byte(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"deployment": {"resources": ["\xff"]}}')
    with pytest.raises(InputError, match="not UTF-8") as caught:
        _stream(path)
    assert caught.value.place == "byte 31"


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text('{"deployment": {"resources": []}}', encoding="utf-8")
    with pytest.raises(InputError, match="over the limit of 10 bytes"):
        list(JsonStream(path, PATH, max_bytes=10, expected="x").items())


def test_a_value_of_another_kind_on_the_path_is_kept_for_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text('{"deployment": {"resources": {"not": "a list"}}}', encoding="utf-8")
    items, stream = _stream(path)
    assert items == []
    assert not stream.streamed
    assert stream.skeleton == {"deployment": {"resources": {"not": "a list"}}}
