"""An evaluator's reasoning (rows of a table) is shown as a table in the HTML and Markdown reports."""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from compliance_checks.render_values import MAX_TABLE_ROWS, as_table
from compliance_checks.report.html import render_html
from compliance_checks.report.markdown import render_markdown

SAMPLE = Path(__file__).parent / "fixtures" / "results" / "sample.json"
ROWS: list[dict[str, Any]] = [
    {"source": "10.0.1.0/24", "port": "5432", "decided by": "AllowPortalSubnet (priority 100)", "verdict": "allowed"},
    {"source": "0.0.0.0/0", "port": "5432", "decided by": "AllowAny <script>", "verdict": "allowed"},
    {"source": "(everything else)", "port": "5432", "decided by": "DenyAllInBound", "verdict": {"$unknown": True}},
]


def with_reasoning(rows: list[dict[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    finding = next(f for f in document["findings"] if f["verdict"] == "FAIL" and not f["waiver"])
    finding["evidence"] = [{"path": "reachability", "observed": copy.deepcopy(rows), "expected": "only two sources"}]
    return document


class Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.reasoning: list[list[list[str]]] = []
        self._in: list[bool] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            is_reasoning = ("class", "reasoning") in attrs
            self._in.append(is_reasoning)
            if is_reasoning:
                self.reasoning.append([])
        elif tag == "tr" and self._in and self._in[-1]:
            self.reasoning[-1].append([])
        elif tag in ("td", "th") and self._in and self._in[-1]:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._in:
            self._in.pop()
        elif tag in ("td", "th") and self._cell is not None:
            self.reasoning[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_rows_with_the_same_keys_are_a_table_anything_else_is_not() -> None:
    assert as_table(ROWS) is not None
    assert as_table([]) is None
    assert as_table(["a", "b"]) is None
    assert as_table([{"a": 1}, {"b": 2}]) is None  # different columns: not one table
    assert as_table({"a": 1}) is None


def test_the_html_report_shows_the_rows_as_a_table_escaped() -> None:
    html = render_html(with_reasoning(ROWS))
    parser = Tables()
    parser.feed(html)
    assert len(parser.reasoning) == 1
    table = parser.reasoning[0]
    assert table[0] == list(ROWS[0])
    assert table[2] == ["0.0.0.0/0", "5432", "AllowAny <script>", "allowed"]
    assert table[3][-1] == "(unknown)"
    assert "<script>" not in html.split("<body", 1)[-1].replace("&lt;script&gt;", "")


def test_the_html_report_caps_long_tables_and_says_how_many_are_left() -> None:
    rows = [{"source": f"10.0.{i}.0/24", "verdict": "allowed"} for i in range(MAX_TABLE_ROWS + 7)]
    html = render_html(with_reasoning(rows))
    parser = Tables()
    parser.feed(html)
    assert len(parser.reasoning[0]) == MAX_TABLE_ROWS + 1  # the header and the first rows
    assert "… and 7 more rows in results.json." in html


def test_the_markdown_summary_shows_why_a_finding_fails() -> None:
    text = render_markdown(with_reasoning(ROWS))
    why = text.split("#### Why", 1)[1]
    assert "| source | port | decided by | verdict |" in why
    assert "| 0.0.0.0/0 | 5432 | AllowAny &lt;script> | allowed |" in why  # raw HTML as text (markdown.py _cell)
    assert "| (everything else) | 5432 | DenyAllInBound | (unknown) |" in why


def test_the_markdown_summary_caps_long_tables_with_one_well_formed_row() -> None:
    rows = [{"source": f"10.0.{i}.0/24", "verdict": "allowed"} for i in range(25)]
    text = render_markdown(with_reasoning(rows))
    table = [line for line in text.split("#### Why", 1)[1].splitlines() if line.startswith("|")]
    assert len(table) == 2 + 20 + 1
    assert table[-1] == "|  | … 5 more rows in results.json |"
    assert {line.count("|") for line in table} == {3}
