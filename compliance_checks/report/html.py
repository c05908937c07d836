"""The auditor's report: one self-contained HTML file (no scripts, no external assets), in English or German.

Rendered from ``templates/report.html.j2`` with the texts of
``templates/messages.<lang>.yaml`` (templating.py), autoescaped. On top the
scope of the audit and the policy text's own findings; then the claim ×
verdict matrix, the comparison with a baseline, the views per framework, and
per claim its German and English sentence, the verdict of each layer, the
controls and the evidence (resource IDs, observed and expected values,
source, time, remediation); last a diagram of the audited estate drawn from
the inventory. The same HTML printed on A4 (``@page`` with page numbers) is
report.pdf (pdf.py).
"""

from __future__ import annotations

import functools
import string
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from compliance_checks.render_values import MAX_TABLE_ROWS, as_table, show_json
from compliance_checks.report.templating import (
    DEFAULT_LANGUAGE,
    environment,
    finished,
    messages,
    suggestion_of,
    translator,
)

COLOURS = {
    "PASS": "#1a7f37",
    "FAIL": "#cf222e",
    "ERROR": "#bc4c00",
    "MANUAL": "#0969da",
    "NOT_APPLICABLE": "#6e7781",
    "NOT_RUN": "#8c959f",
}
OTHER_COLOUR = "#57606a"
"""A verdict this renderer does not know yet (a newer results document) is still shown, in grey."""
VERDICTS = ("FAIL", "ERROR", "MANUAL", "PASS", "NOT_APPLICABLE")
MAX_PASS_ROWS = 25
SUMMARY_THRESHOLD = 2000
"""Above this many findings report.html is summarised, so that it stays a page a browser opens at once
(90,000 findings at 100,000 resources): a table of findings per check and verdict, every FAIL, ERROR and
WARN finding still named (and MANUAL ones; the first :data:`MAX_DETAILED_PROBLEMS` of each table with their
evidence, the rest one line each), PASS and NOT_APPLICABLE findings only counted, with a pointer to
results.json, which holds them all."""
MAX_DETAILED_PROBLEMS = 20
_COUNTED_ONLY = frozenset({"PASS", "NOT_APPLICABLE"})
"""Verdicts the summarised report counts without naming each finding (unless it carries a WARN)."""
SHORT = {"NOT_APPLICABLE": "N/A"}
MAX_DIAGRAM_NODES = 60


WARN_COLOUR = "#9a6700"
MAX_OBSERVED = 280


def colour(verdict: str) -> str:
    return COLOURS.get(verdict, COLOURS.get(verdict.replace(" ", "_"), OTHER_COLOUR))


def _clip(text: str, more: str = "… (full value in results.json)") -> str:
    """Long observed values (whole rule lists) are cut here; results.json keeps them whole."""
    return text if len(text) <= MAX_OBSERVED else text[: MAX_OBSERVED - 1] + more


def _css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string for a ``<style>`` element, where HTML escapes do not apply."""
    # Every character that could end the string or the element is a CSS escape (CSS Syntax 3, 4.3.7).
    escaped = "".join(c if c.isalnum() or c in " .,:;()-–—" else f"\\{ord(c):06x}" for c in text)
    return Markup(f'"{escaped}"')


def _page_counter(template: str) -> Markup:
    """The translated "Page {page} of {pages}" as CSS ``content``: strings around counter(page) and counter(pages)."""
    parts: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(str(_css_string(literal)))
        if field is not None:
            parts.append(f"counter({'pages' if field == 'pages' else 'page'})")
    return Markup(" ".join(parts) or '""')


def claim_matrix_svg(
    claims: Sequence[Mapping[str, Any]],
    findings: Sequence[Mapping[str, Any]],
    document: Sequence[Mapping[str, Any]] = (),
    *,
    label: str = "Claims by verdict",
    verdict_heading: str = "claim verdict",
) -> str:
    """Rows: claims; columns: verdicts; a cell counts the claim's findings (incl. policy-text ones) with that verdict."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for finding in findings:
        for claim_id in finding["claims"]:
            counts[claim_id][finding["verdict"]] += 1
    for item in document:
        counts[item["claimId"]][item["verdict"]] += 1
    row_h, label_w, col_w, head = 22, 230, 96, 30
    width, height = label_w + col_w * len(VERDICTS) + 120, head + row_h * len(claims) + 8
    # The viewBox lets the diagram shrink to the width of an A4 page when printed.
    parts = [
        f'<svg id="claim-matrix" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        'font-family="system-ui,sans-serif" font-size="12">'
    ]
    for i, verdict in enumerate(VERDICTS):
        x = label_w + i * col_w + col_w / 2
        parts.append(
            f'<text x="{x}" y="18" text-anchor="middle" font-weight="700" fill="{COLOURS[verdict]}">'
            f"{SHORT.get(verdict, verdict)}</text>"
        )
    parts.append(
        f'<text x="{label_w + len(VERDICTS) * col_w + 10}" y="18" font-weight="700">{escape(verdict_heading)}</text>'
    )
    for row, claim in enumerate(claims):
        y = head + row * row_h
        parts.append(f'<text x="4" y="{y + 15}">{escape(claim["id"])}</text>')
        for i, verdict in enumerate(VERDICTS):
            n = counts[claim["id"]][verdict]
            opacity = 0 if n == 0 else min(1.0, 0.35 + n / 10)
            x = label_w + i * col_w
            parts.append(
                f'<rect x="{x + 2}" y="{y + 2}" width="{col_w - 4}" height="{row_h - 4}" rx="3" '
                f'fill="{COLOURS[verdict]}" fill-opacity="{opacity:.2f}" stroke="#d0d7de"/>'
            )
            if n:
                parts.append(
                    f'<text x="{x + col_w / 2}" y="{y + 15}" text-anchor="middle" fill="#fff" '
                    f'font-weight="700">{n}</text>'
                )
        x = label_w + len(VERDICTS) * col_w + 10
        parts.append(
            f'<rect x="{x}" y="{y + 3}" width="100" height="{row_h - 6}" rx="8" fill="{colour(claim["verdict"])}"/>'
            f'<text x="{x + 50}" y="{y + 15}" text-anchor="middle" fill="#fff" font-weight="700">'
            f"{escape(claim['verdict'].replace('_', ' '))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


_CATEGORIES = (
    ("Identity", ("microsoft.graph/", "microsoft.authorization/")),
    ("Network", ("microsoft.network/",)),
    ("Portal", ("microsoft.web/",)),
    ("Data", ("microsoft.dbforpostgresql/", "microsoft.keyvault/")),
    ("Monitoring", ("microsoft.insights/", "microsoft.operationalinsights/")),
)


def _category(kind: str) -> int:
    lowered = kind.lower()
    for index, (_, prefixes) in enumerate(_CATEGORIES):
        if lowered.startswith(prefixes):
            return index
    return len(_CATEGORIES) - 1


def estate_svg(inventory: Mapping[str, Any], t: Callable[..., str] | None = None) -> str:
    """The audited estate: resources in columns by category, lines for the references between them."""
    t = t or translator(DEFAULT_LANGUAGE)
    resources = [
        r for r in inventory["resources"] if not r["type"].lower().startswith(("probe/", "microsoft.resources/"))
    ]
    aggregated = len(resources) > MAX_DIAGRAM_NODES
    if aggregated:
        by_type: dict[str, int] = defaultdict(int)
        for r in resources:
            by_type[r["type"]] += 1
        nodes = [{"id": t_, "label": f"{t_.split('/', 1)[-1]} ×{n}", "type": t_} for t_, n in sorted(by_type.items())]
        index_of = {r["id"]: r["type"] for r in resources}
        edges = {(index_of.get(e["from"]), index_of.get(e["to"])) for e in inventory["relations"]}
    else:
        nodes = [{"id": r["id"], "label": f"{r['name']}", "type": r["type"]} for r in resources]
        edges = {(e["from"], e["to"]) for e in inventory["relations"]}
    columns: dict[int, list[dict[str, str]]] = defaultdict(list)
    for node in sorted(nodes, key=lambda n: (n["type"], n["label"])):
        columns[_category(node["type"])].append(node)
    col_w, row_h, top = 228, 34, 36
    positions: dict[str, tuple[float, float]] = {}
    height = top + row_h * max((len(c) for c in columns.values()), default=1) + 10
    width = col_w * len(_CATEGORIES)
    body: list[str] = []
    for index, (title, _) in enumerate(_CATEGORIES):
        heading = t(f"category_{title.lower()}")
        body.append(f'<text x="{index * col_w + 8}" y="20" font-weight="700">{escape(heading)}</text>')
        for row, node in enumerate(columns.get(index, [])):
            x, y = index * col_w + 8, top + row * row_h
            positions[node["id"]] = (x, y)
            label = node["label"] if len(node["label"]) <= 30 else node["label"][:29] + "…"
            body.append(
                f"<g><title>{escape(node['type'])}: {escape(node['id'])}</title>"
                f'<rect x="{x}" y="{y}" width="{col_w - 24}" height="{row_h - 8}" rx="5" fill="#fff" stroke="#8c959f"/>'
                f'<text x="{x + 6}" y="{y + 12}" font-size="10.5">{escape(label)}</text>'
                f'<text x="{x + 6}" y="{y + 23}" font-size="9" fill="#59636e">{escape(node["type"].split("/", 1)[-1][:38])}</text></g>'
            )
    lines = []
    for source, target in sorted(e for e in edges if e[0] and e[1] and e[0] != e[1]):
        if source in positions and target in positions:
            (x1, y1), (x2, y2) = positions[source], positions[target]
            if x1 == x2:  # same column: an arc beside the boxes, not a line hidden along their edge
                right = x1 + col_w - 24
                bulge = right + 12 + min(abs(y2 - y1) / 8, 40)
                lines.append(
                    f'<path d="M{right},{y1 + 13} C{bulge},{y1 + 13} {bulge},{y2 + 13} {right},{y2 + 13}" '
                    'fill="none" stroke="#0969da" stroke-opacity=".35"/>'
                )
                continue
            x1 += col_w - 24 if x2 > x1 else 0
            x2 += col_w - 24 if x1 > x2 else 0
            lines.append(
                f'<line x1="{x1}" y1="{y1 + 13}" x2="{x2}" y2="{y2 + 13}" stroke="#0969da" stroke-opacity=".35"/>'
            )
    note = t("estate_aggregated") if aggregated else t("estate_counts", resources=len(nodes), references=len(lines))
    return (
        f'<svg id="estate" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(t("estate"))}" '
        f'font-family="system-ui,sans-serif" font-size="12">{"".join(lines)}'
        f'{"".join(body)}</svg><p class="small">{escape(note)}</p>'
    )


@functools.cache
def _environment() -> Environment:
    env = environment(autoescape=True)
    env.filters.update(
        colour=colour,
        leaf=lambda resource_id: str(resource_id).rstrip("/").rsplit("/", 1)[-1],
        as_table=as_table,
        show_json=show_json,
        css_string=_css_string,
    )
    return env


def _finding_view(finding: Mapping[str, Any]) -> dict[str, Any]:
    """A finding with the fields the template reads, whichever of the optional ones its document has."""
    warnings = list(finding.get("warnings") or [])
    return {
        **finding,
        "warnings": warnings,
        "remediation": finding.get("remediation") or None,
        # A PASS with a WARN is shown with the problems: the row cap on passes must not hide it.
        "shown_as_problem": _is_problem(finding),
    }


def _is_problem(finding: Mapping[str, Any]) -> bool:
    return finding["verdict"] != "PASS" or bool(finding.get("warnings"))


def _evidence_group(findings: Sequence[Mapping[str, Any]], *, summarised: bool) -> dict[str, Any]:
    """What one evidence table shows, split here rather than by template filters over every finding.

    Full report: every problem (not PASS, or with a WARN) with its evidence, then at most
    :data:`MAX_PASS_ROWS` passes. Summarised: the first :data:`MAX_DETAILED_PROBLEMS` FAIL, ERROR, MANUAL
    and WARN findings with their evidence, the others one line each (``compact``); PASS and
    NOT_APPLICABLE findings only counted (``more_passes``).
    """
    if summarised:
        listed = [f for f in findings if f["verdict"] not in _COUNTED_ONLY or f.get("warnings")]
        counted = len(findings) - len(listed)
        return {
            "problems": [_finding_view(f) for f in listed[:MAX_DETAILED_PROBLEMS]],
            "passes": [],
            "compact": [_finding_view(f) for f in listed[MAX_DETAILED_PROBLEMS:]],
            "more_passes": counted,
        }
    problems = [f for f in findings if _is_problem(f)]
    passes = [f for f in findings if not _is_problem(f)]
    return {
        "problems": [_finding_view(f) for f in problems],
        "passes": [_finding_view(f) for f in passes[:MAX_PASS_ROWS]],
        "compact": [],
        "more_passes": max(0, len(passes) - MAX_PASS_ROWS),
    }


def _per_check(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Findings per check and verdict (and WARN cautions), in the order of the document's checks."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    warned: dict[str, int] = defaultdict(int)
    for finding in results["findings"]:
        counts[finding["checkId"]][finding["verdict"]] += 1
        if finding.get("warnings"):
            warned[finding["checkId"]] += 1
    titles = {c["id"]: c["title"] for c in results["checks"]}
    ordered = [*titles, *(c for c in counts if c not in titles)]
    return [{"id": c, "title": titles.get(c, ""), "counts": counts[c], "warned": warned[c]} for c in ordered]


def _claim_view(claim: Mapping[str, Any]) -> dict[str, Any]:
    layers = [
        {"layer": str(layer["layer"]), "verdict": str(layer["verdict"]), "checks": list(layer.get("checks") or [])}
        | {"hint": layer.get("hint") or ""}
        for layer in claim.get("layers") or []
    ]
    return {**claim, "layers": layers}


def _scope_view(scope: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if scope is None:
        return None
    return {
        **scope,
        "placeholders": list(scope.get("placeholders") or []),
        "stackHosts": list(scope.get("stackHosts") or []),
    }


def render_html(results: Mapping[str, Any], *, lang: str = DEFAULT_LANGUAGE) -> str:
    """The report in ``lang`` ("en" or "de"), from the results document only; summarised above
    :data:`SUMMARY_THRESHOLD` findings."""
    t = translator(lang)
    summarised = len(results["findings"]) > SUMMARY_THRESHOLD
    claims = [_claim_view(c) for c in results["claims"]]
    findings_of: dict[str, list[Mapping[str, Any]]] = {c["id"]: [] for c in claims}
    for finding in results["findings"]:
        for claim_id in finding["claims"]:
            findings_of.setdefault(claim_id, []).append(finding)
    claimed = {check_id for claim in claims for check_id in claim["checks"]}
    document = [{**d, "suggestion": suggestion_of(d), "waiver": d.get("waiver")} for d in results["document"]]
    matrix = claim_matrix_svg(
        results["claims"],
        results["findings"],
        results["document"],
        label=t("matrix_label"),
        verdict_heading=t("matrix_claim_verdict"),
    )
    unclaimed = [f for f in results["findings"] if f["checkId"] not in claimed]
    # The claim's sentence in the report's language first, then the other one: both are the policy.
    text_order = (lang, *(other for other in ("de", "en") if other != lang))
    template = _environment().get_template("report.html.j2")
    return finished(
        template.render(
            lang=lang,
            t=t,
            messages=messages(lang),
            run=results["run"],
            tool=results["tool"],
            summary=results["summary"],
            scope=_scope_view(results.get("scope")),
            document=document,
            has_suggestions=any(d["suggestion"] for d in document),
            warned=[(f, text) for f in results["findings"] for text in f.get("warnings") or []],
            matrix=Markup(matrix),
            comparison=results.get("comparison"),
            frameworks=results.get("frameworks") or [],
            claims=claims,
            checks={c["id"]: c for c in results["checks"]},
            groups={claim_id: _evidence_group(found, summarised=summarised) for claim_id, found in findings_of.items()},
            unclaimed=_evidence_group(unclaimed, summarised=summarised) if unclaimed else None,
            summarised=summarised,
            finding_count=len(results["findings"]),
            summary_threshold=SUMMARY_THRESHOLD,
            per_check=_per_check(results) if summarised else [],
            verdicts=VERDICTS,
            drift=results.get("drift"),
            collection=results["run"].get("collection"),
            estate=Markup(estate_svg(results["inventory"], t)),
            text_order=text_order,
            max_table_rows=MAX_TABLE_ROWS,
            warn_colour=WARN_COLOUR,
            page_counter=_page_counter(messages(lang)["page"]),
            clip=lambda text: _clip(text, t("full_value")),
        )
    )
