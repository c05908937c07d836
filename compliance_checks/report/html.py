"""The auditor's report: one self-contained HTML file (no scripts, no external assets).

Per claim: the German and English sentence, the verdict, the controls, the
evidence (resource IDs, observed and expected values, source, time); on top a
claim × verdict matrix and a diagram of the audited estate drawn from the
inventory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from compliance_checks.render_values import MAX_TABLE_ROWS, as_table, show_json

COLOURS = {
    "PASS": "#1a7f37",
    "FAIL": "#cf222e",
    "ERROR": "#bc4c00",
    "MANUAL": "#0969da",
    "NOT_APPLICABLE": "#6e7781",
    "NOT_RUN": "#6e7781",
}
VERDICTS = ("FAIL", "ERROR", "MANUAL", "PASS", "NOT_APPLICABLE")
MAX_PASS_ROWS = 25
SHORT = {"NOT_APPLICABLE": "N/A"}
MAX_DIAGRAM_NODES = 60

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:16px;margin:0}
.meta{color:#59636e}.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px;margin:12px 0}
.badge{display:inline-block;color:#fff;border-radius:12px;padding:1px 10px;font-weight:600;font-size:12px}
.counts{display:flex;gap:12px;flex-wrap:wrap}.count{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:8px 14px}
.count b{font-size:22px;display:block}
blockquote{margin:6px 0;padding:4px 12px;border-left:4px solid #d0d7de;background:#f6f8fa}
blockquote .lang{font-weight:700;color:#59636e;margin-right:6px}
table{border-collapse:collapse;width:100%;font-size:12.5px;table-layout:fixed}td{overflow-wrap:anywhere}th,td{border:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.id{font-family:ui-monospace,monospace;word-break:break-all;max-width:340px}
code{font-family:ui-monospace,monospace;font-size:12px}.small{font-size:12px;color:#59636e}
.warn{color:#9a6700;font-weight:600}.waived{opacity:.75}.exit{font-size:16px;font-weight:600}
table.reasoning{font-size:11.5px;table-layout:auto;margin:0}table.reasoning th,table.reasoning td{padding:2px 4px}
"""


def _badge(verdict: str, suffix: str = "") -> str:
    return f'<span class="badge" style="background:{COLOURS[verdict]}">{escape(verdict)}{escape(suffix)}</span>'


WARN_COLOUR = "#9a6700"


def _warnings_of(finding: Mapping[str, Any]) -> list[str]:
    """A finding's WARN cautions (absent in results written before the field existed)."""
    return list(finding.get("warnings") or [])


def _warn_badge() -> str:
    return f'<span class="badge" style="background:{WARN_COLOUR}">WARN</span>'


def _warnings_section(findings: Sequence[Mapping[str, Any]]) -> str:
    """Every WARN of the audit in one list near the top: a PASS that is about to stop being one is seen."""
    items = [
        f"<li>{_warn_badge()} <code>{escape(f['checkId'])}</code> on <code>{escape(f['resourceId'])}</code> "
        f"({escape(f['verdict'])}): {escape(text)}</li>"
        for f in findings
        for text in _warnings_of(f)
    ]
    if not items:
        return ""
    return f'<h2 id="warnings">Warnings ({len(items)})</h2><div class="card"><ul>{"".join(items)}</ul></div>'


MAX_OBSERVED = 280


def _clip(text: str) -> str:
    """Long observed values (whole rule lists) are cut here; results.json keeps them whole."""
    return text if len(text) <= MAX_OBSERVED else text[: MAX_OBSERVED - 1] + "… (full value in results.json)"


def _resource_cell(resource_id: str) -> str:
    name = resource_id.rstrip("/").rsplit("/", 1)[-1]
    return f'<b>{escape(name)}</b><br><span class="small">{escape(resource_id)}</span>'


def _observed(value: Any) -> str:
    return show_json(value)


def _observed_cell(value: Any) -> str:
    """An observed value for a table cell: an evaluator's rows as a small table, anything else as clipped text."""
    table = as_table(value)
    if table is None:
        return escape(_clip(_observed(value)))
    columns, rows = table
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_clip(cell))}</td>" for cell in row) + "</tr>" for row in rows[:MAX_TABLE_ROWS]
    )
    more = len(rows) - MAX_TABLE_ROWS
    tail = f'<div class="small">… and {more} more rows in results.json.</div>' if more > 0 else ""
    return f'<table class="reasoning"><tr>{head}</tr>{body}</table>{tail}'


def claim_matrix_svg(
    claims: Sequence[Mapping[str, Any]],
    findings: Sequence[Mapping[str, Any]],
    document: Sequence[Mapping[str, Any]] = (),
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
    parts = [
        f'<svg id="claim-matrix" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="Claims by verdict" font-family="system-ui,sans-serif" font-size="12">'
    ]
    for i, verdict in enumerate(VERDICTS):
        x = label_w + i * col_w + col_w / 2
        parts.append(
            f'<text x="{x}" y="18" text-anchor="middle" font-weight="700" fill="{COLOURS[verdict]}">'
            f"{SHORT.get(verdict, verdict)}</text>"
        )
    parts.append(f'<text x="{label_w + len(VERDICTS) * col_w + 10}" y="18" font-weight="700">claim verdict</text>')
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
            f'<rect x="{x}" y="{y + 3}" width="100" height="{row_h - 6}" rx="8" fill="{COLOURS[claim["verdict"]]}"/>'
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


def estate_svg(inventory: Mapping[str, Any]) -> str:
    """The audited estate: resources in columns by category, lines for the references between them."""
    resources = [
        r for r in inventory["resources"] if not r["type"].lower().startswith(("probe/", "microsoft.resources/"))
    ]
    aggregated = len(resources) > MAX_DIAGRAM_NODES
    if aggregated:
        by_type: dict[str, int] = defaultdict(int)
        for r in resources:
            by_type[r["type"]] += 1
        nodes = [{"id": t, "label": f"{t.split('/', 1)[-1]} ×{n}", "type": t} for t, n in sorted(by_type.items())]
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
        body.append(f'<text x="{index * col_w + 8}" y="20" font-weight="700">{title}</text>')
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
    note = "Resources aggregated by type." if aggregated else f"{len(nodes)} resources, {len(lines)} references."
    return (
        f'<svg id="estate" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Audited estate" font-family="system-ui,sans-serif" font-size="12">{"".join(lines)}'
        f'{"".join(body)}</svg><p class="small">{note}</p>'
    )


def _evidence_rows(findings: Sequence[Mapping[str, Any]]) -> str:
    # A PASS with a WARN is shown with the problems: the row cap on passes must not hide it.
    problems = [f for f in findings if f["verdict"] != "PASS" or _warnings_of(f)]
    passes = [f for f in findings if f["verdict"] == "PASS" and not _warnings_of(f)]
    shown = problems + passes[:MAX_PASS_ROWS]
    rows = []
    for finding in shown:
        waived = finding["waiver"]
        evidence = finding["evidence"] or [{"path": "", "observed": {"$missing": True}, "expected": ""}]
        for index, item in enumerate(evidence):
            lead = ""
            if index == 0:
                span = f' rowspan="{len(evidence)}"'
                suffix = " (waived)" if waived else ""
                note = (
                    f'<div class="small">Waived until {escape(waived["expires"])}: {escape(waived["justification"])}</div>'
                    if waived
                    else ""
                )
                warned = "".join(f'<div class="warn">WARN: {escape(text)}</div>' for text in _warnings_of(finding))
                badges = _badge(finding["verdict"], suffix) + (" " + _warn_badge() if warned else "")
                lead = (
                    f"<td{span}>{badges}</td><td{span}><code>{escape(finding['checkId'])}</code></td>"
                    f'<td{span} class="id">{_resource_cell(finding["resourceId"])}</td>'
                    f"<td{span}>{escape(finding['message'])}{warned}{note}</td>"
                )
            rows.append(
                f'<tr class="{"waived" if waived else ""}">{lead}<td><code>{escape(item["path"])}</code></td>'
                f"<td>{_observed_cell(item['observed'])}</td><td>{escape(item['expected'])}</td>"
                + (
                    f'<td{span}>{escape(finding["source"])}<br><span class="small">{escape(finding["observedAt"])}</span></td>'
                    if index == 0
                    else ""
                )
                + "</tr>"
            )
    more = len(passes) - MAX_PASS_ROWS
    tail = f'<p class="small">… and {more} more PASS findings in results.json.</p>' if more > 0 else ""
    head = (
        '<colgroup><col style="width:8%"><col style="width:13%"><col style="width:19%"><col style="width:17%">'
        '<col style="width:11%"><col style="width:14%"><col style="width:9%"><col style="width:9%"></colgroup>'
        "<tr><th>Verdict</th><th>Check</th><th>Resource</th><th>Finding</th><th>Property</th>"
        "<th>Observed</th><th>Expected</th><th>Source, time</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>{tail}" if rows else '<p class="small">No findings.</p>'


def _claim_section(claim: Mapping[str, Any], findings: Sequence[Mapping[str, Any]], checks: Mapping[str, Any]) -> str:
    texts = "".join(
        f'<blockquote lang="de"><span class="lang">DE</span>{escape(t)}</blockquote>' for t in claim["text"]["de"]
    )
    texts += "".join(
        f'<blockquote lang="en"><span class="lang">EN</span>{escape(t)}</blockquote>' for t in claim["text"]["en"]
    )
    controls = ", ".join(f"<code>{escape(c['id'])}</code> {escape(c['title'])}" for c in claim["controls"]) or "none"
    mappings = "; ".join(f"{escape(k)}: {escape(', '.join(v))}" for k, v in claim["mappings"].items() if v)
    check_list = "".join(
        f"<li>{_badge(checks[c]['verdict'])} <code>{escape(c)}</code> {escape(checks[c]['title'])}</li>"
        for c in claim["checks"]
        if c in checks
    )
    attestation = ""
    if claim["attestation"]:
        a = claim["attestation"]
        attestation = (
            f"<p><b>Attestation</b> ({escape(a['status'])}): "
            + (
                f"{escape(a['document'])}, by {escape(a['owner'])}, {escape(a['date'])}, valid until {escape(a['expires'])}"
                if a["status"] != "missing"
                else "none on file"
            )
            + "</p>"
        )
    mine = [f for f in findings if claim["id"] in f["claims"]]
    return (
        f'<section class="card" id="claim-{escape(claim["id"])}"><h3>{_badge(claim["verdict"])} '
        f'<code>{escape(claim["id"])}</code> {escape(claim["title"])} <span class="small">({escape(claim["kind"])})</span></h3>'
        f"{texts}<p><b>Controls:</b> {controls}</p>"
        + (f'<p class="small">{mappings}</p>' if mappings else "")
        + (f"<ul>{check_list}</ul>" if check_list else "")
        + attestation
        + (_evidence_rows(mine) if claim["checks"] else "")
        + "</section>"
    )


def _unclaimed_section(results: Mapping[str, Any]) -> str:
    """Findings of checks that verify no claim (checkov's), with their waivers and justifications."""
    claimed = {check_id for claim in results["claims"] for check_id in claim["checks"]}
    findings = [f for f in results["findings"] if f["checkId"] not in claimed]
    if not findings:
        return ""
    return (
        '<h2 id="checkov">Other checks (checkov)</h2><div class="card"><p class="small">Built-in and custom checkov '
        "checks on the stack exported as an ARM template. Suppressed failures are shown as waived, with the "
        "justification and the claim it rests on.</p>" + _evidence_rows(findings) + "</div>"
    )


def _drift_section(results: Mapping[str, Any]) -> str:
    drift = results.get("drift")
    if drift is None:
        return ""
    items = drift["items"]
    head = f'<h2 id="drift">Drift: {escape(drift["desired"])} against live ({len(items)})</h2><div class="card">'
    if not items:
        return head + "<p>Every security-relevant property is live as desired.</p></div>"
    rows = "".join(
        f"<tr><td>{escape(d['kind'])}</td><td>{_resource_cell(d['resourceId'])}</td><td><code>{escape(d['path'] or '-')}</code></td>"
        f"<td>{escape(_observed(d['desired']))}</td><td>{escape(_observed(d['live']))}</td></tr>"
        for d in items
    )
    return (
        head
        + f"<table><tr><th>Kind</th><th>Resource</th><th>Property</th><th>Desired</th><th>Live</th></tr>{rows}</table></div>"
    )


def _collection_section(run: Mapping[str, Any]) -> str:
    collection = run.get("collection")
    if collection is None:
        return ""
    requests = ", ".join(f"{escape(api)}: {n}" for api, n in collection["requests"].items()) or "none"
    gaps = "".join(
        f"<tr><td><code>{escape(', '.join(g['types']))}</code></td><td>{_resource_cell(g['scope'])}</td><td>{escape(g['reason'])}</td></tr>"
        for g in collection["gaps"]
    )
    table = (
        f"<table><tr><th>Not read</th><th>Scope</th><th>Why</th></tr>{gaps}</table>"
        if gaps
        else "<p>Everything was read.</p>"
    )
    return (
        '<h2 id="collection">Live collection</h2><div class="card"><p class="small">Subscriptions '
        + escape(", ".join(collection["subscriptions"]))
        + "; ARM "
        + escape(collection["endpoints"]["arm"])
        + ", Graph "
        + escape(collection["endpoints"]["graph"])
        + "; requests "
        + requests
        + "; finished "
        + escape(collection["finishedAt"])
        + ".</p>"
        + table
        + "</div>"
    )


def render_html(results: Mapping[str, Any]) -> str:
    run, summary = results["run"], results["summary"]
    checks = {c["id"]: c for c in results["checks"]}
    exit_text = {
        0: "All verifiable promises kept (exit 0)",
        1: "Promises broken (exit 1)",
        2: "Not everything could be verified (exit 2)",
    }[summary["exitCode"]]
    counts = "".join(
        f'<div class="count" style="border-color:{COLOURS[v]}"><b style="color:{COLOURS[v]}">{n}</b>claims {v.replace("_", " ")}</div>'
        for v, n in summary["claims"].items()
    )
    document = ""
    if results["document"]:
        rows = "".join(
            f'<tr><td><code>{escape(d["claimId"])}</code></td><td>{escape(d["aspect"])}</td><td lang="de">{escape(d["de"])}</td>'
            f'<td lang="en">{escape(d["en"])}</td><td>{escape(d["message"])}</td></tr>'
            for d in results["document"]
        )
        document = (
            '<h2 id="document">The policy text: German and English disagree</h2><div class="card"><table>'
            f"<tr><th>Claim</th><th>Aspect</th><th>German</th><th>English</th><th>Finding</th></tr>{rows}</table></div>"
        )
    sections = "".join(_claim_section(c, results["findings"], checks) for c in results["claims"])
    inputs = ", ".join(f"<code>{escape(i['path'])}</code>" for i in run["inputs"]) or "none"
    # Kept out of the template: the formatter rewrites nested f-strings into Python 3.12-only syntax.
    stack = ", stack <b>" + escape(run["stack"]) + "</b>" if run["stack"] else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Smart Portal privacy-policy audit</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><main>
<h1>Smart Portal: privacy-policy audit</h1>
<p class="meta">Source <b>{escape(run["source"])}</b>{stack};
started {escape(run["startedAt"])}, finished {escape(run["finishedAt"])}; {escape(results["tool"]["name"])} {escape(results["tool"]["version"])}.
Inputs: {inputs}.</p>
<p class="exit" id="exit">{escape(exit_text)}</p>
<h2 id="summary">Summary</h2><div class="counts">{counts}</div>
<p class="small">{summary["findings"]["FAIL"]} failed, {summary["findings"]["ERROR"]} unverifiable,
{summary["findings"]["MANUAL"]} manual, {summary["findings"]["PASS"]} passed findings; {summary["waived"]} waived;
{summary["documentFindings"]} disagreements in the policy text.</p>
{_warnings_section(results["findings"])}
<div class="card">{claim_matrix_svg(results["claims"], results["findings"], results["document"])}</div>
{document}
<h2 id="claims">Claims</h2>{sections}
{_unclaimed_section(results)}
{_collection_section(run)}
{_drift_section(results)}
<h2 id="estate-diagram">The audited estate</h2><div class="card" style="overflow-x:auto">{estate_svg(results["inventory"])}</div>
<p class="small">The canonical results are in results.json; manifest.json lists the SHA-256 of every file of this report.</p>
</main></body></html>
"""
