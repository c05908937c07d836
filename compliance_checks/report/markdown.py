"""Short Markdown summary for a pull-request comment, in English or German.

Rendered from ``templates/report.md.j2`` with the texts of
``templates/messages.<lang>.yaml`` (templating.py). Markdown has no
autoescape: every value from the results that goes into a table cell or an
emphasis passes :func:`_cell` (in an emphasis :func:`_emphasis`), into a code span :func:`_code`, in the
template.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import Environment

from compliance_checks.render_values import as_table, show_json
from compliance_checks.report.templating import (
    DEFAULT_LANGUAGE,
    environment,
    finished,
    messages,
    suggestion_of,
    translator,
)

ICON = {"PASS": "✅", "FAIL": "❌", "ERROR": "⚠️", "MANUAL": "📝", "NOT_APPLICABLE": "➖", "NOT_RUN": "⏸️"}
OTHER_ICON = "❔"
WARN_ICON = "🔶"
EXIT_ICON = {0: ICON["PASS"], 1: ICON["FAIL"]}
FRAMEWORK_VERDICTS = ("FAIL", "ERROR", "MANUAL", "NOT_RUN", "PASS", "NOT_APPLICABLE")


_LINE_BREAK = re.compile(r"\r\n?|\n")  # CommonMark's line endings: a lone CR ends a line (and a table row) too
_BACKTICKS = re.compile(r"`+")


def _cell(text: Any) -> str:
    """Text for a table cell or a list item: one line, "|" escaped, and no raw HTML (GitHub renders some:
    an ``<img>`` from a resource name would load in every reader's browser). ``&`` and ``<`` are written
    as entity references, which Markdown shows as the characters (CommonMark, 6.2 and 6.6)."""
    line = _LINE_BREAK.sub(" ", str(text)).replace("|", "\\|")
    if "&" in line or "<" in line:
        line = line.replace("&", "&amp;").replace("<", "&lt;")
    return line


def _code(text: Any) -> str:
    """Text as an inline code span, whatever backticks it holds: the fence is one backtick longer than its
    longest run, padded with a space that CommonMark strips (6.1), so the text cannot end the span early."""
    line = _LINE_BREAK.sub(" ", str(text)).replace("|", "\\|")
    runs = _BACKTICKS.findall(line)
    if not runs:
        return f"`{line}`"
    fence = "`" * (max(len(run) for run in runs) + 1)
    return f"{fence} {line} {fence}"


def _emphasis(text: Any) -> str:
    """A table-cell-safe value for inside *...*: an asterisk or underscore of its own (Prüfer*in) would end it."""
    return _cell(text).replace("*", "\\*").replace("_", "\\_")


def _icon(verdict: str) -> str:
    return ICON.get(verdict, OTHER_ICON)


@functools.cache
def _environment() -> Environment:
    env = environment(autoescape=False)
    env.filters.update(
        cell=_cell,
        code=_code,
        emphasis=_emphasis,
        leaf=lambda resource_id: str(resource_id).rsplit("/", 1)[-1],
        labelled=lambda verdict: f"{_icon(verdict)} {verdict}",
        show_json=show_json,
    )
    return env


def _reasoning(findings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The evaluators' tables behind the findings to fix (reachability, Conditional Access cells)."""
    tables = []
    for finding in findings:
        for item in finding["evidence"]:
            table = as_table(item["observed"])
            if table is not None:
                columns, rows = table
                tables.append(
                    {
                        "finding": finding,
                        "path": item["path"],
                        "expected": item["expected"],
                        "columns": columns,
                        "rows": rows,
                    }
                )
    return tables


def _scope_what(scope: Mapping[str, Any]) -> str:
    parts = [", ".join(scope.get("sources") or [])]
    if scope.get("stack"):
        parts.append(f"stack {scope['stack']}")
    parts += [*(scope.get("subscriptions") or []), *(scope.get("probedHosts") or [])]
    return "; ".join(p for p in parts if p)


def render_markdown(results: Mapping[str, Any], *, max_findings: int = 20, lang: str = DEFAULT_LANGUAGE) -> str:
    t = translator(lang)
    summary = results["summary"]
    claims = [{**c, "layers": list(c.get("layers") or [])} for c in results["claims"]]
    # Only the findings the summary names are copied (with their optional fields): at 90,000 findings,
    # most of them passes, a copy of each would cost more than the rest of the summary.
    findings = [
        {**f, "remediation": f.get("remediation") or None}
        for f in results["findings"]
        if f["verdict"] in ("FAIL", "ERROR") or f["waiver"] or f.get("warnings")
    ]
    problems = [f for f in findings if f["verdict"] in ("FAIL", "ERROR") and not f["waiver"]]
    frameworks = [
        {**fw, "counts": [sum(1 for r in fw["requirements"] if r["verdict"] == v) for v in FRAMEWORK_VERDICTS]}
        for fw in results.get("frameworks") or []
    ]
    scope = results.get("scope")
    text = (
        _environment()
        .get_template("report.md.j2")
        .render(
            t=t,
            messages=messages(lang),
            icon=_icon,
            exit_icon=EXIT_ICON.get(summary["exitCode"], ICON["ERROR"]),
            warn_icon=WARN_ICON,
            run=results["run"],
            summary=summary,
            scope=scope,
            scope_what=_scope_what(scope) if scope else "",
            document=[{**d, "suggestion": suggestion_of(d), "waiver": d.get("waiver")} for d in results["document"]],
            claims=claims,
            has_layers=any(c["layers"] for c in claims),
            problems=problems,
            has_remediation=any(f["remediation"] for f in problems),
            max_findings=max_findings,
            max_rows=20,
            why=_reasoning(problems[:max_findings]),
            # WARN: cautions that leave the verdict (often PASS) unchanged, listed whatever the verdict.
            warned=[(f, text) for f in findings for text in f.get("warnings") or []],
            waived=[f for f in findings if f["waiver"]],
            comparison=results.get("comparison"),
            frameworks=frameworks,
            framework_verdicts=FRAMEWORK_VERDICTS,
            drift=results.get("drift"),
        )
    )
    return finished(text.rstrip("\n") + "\n")
