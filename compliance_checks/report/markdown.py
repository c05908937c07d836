"""Short Markdown summary for a pull-request comment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compliance_checks.render_values import as_table, show_json

ICON = {"PASS": "✅", "FAIL": "❌", "ERROR": "⚠️", "MANUAL": "📝", "NOT_APPLICABLE": "➖", "NOT_RUN": "⏸️"}
WARN_ICON = "🔶"
EXIT_MEANING = {0: "all verifiable promises kept", 1: "promises broken", 2: "not everything could be verified"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _reasoning(findings: list[Mapping[str, Any]], max_rows: int = 20) -> list[str]:
    """The evaluators' tables behind the findings to fix (reachability, Conditional Access cells)."""
    lines: list[str] = []
    for finding in findings:
        for item in finding["evidence"]:
            table = as_table(item["observed"])
            if table is None:
                continue
            columns, rows = table
            resource = finding["resourceId"].rsplit("/", 1)[-1]
            lines += [
                "",
                f"**`{finding['checkId']}` on `{_cell(resource)}`: {_cell(item['path'])}** "
                f"(expected: {_cell(item['expected'])})",
                "",
                "| " + " | ".join(_cell(c) for c in columns) + " |",
                "|" + "---|" * len(columns),
            ]
            lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows[:max_rows]]
            if len(rows) > max_rows:
                note = f"… {len(rows) - max_rows} more rows in results.json"
                lines.append("| " + " | ".join([*[""] * (len(columns) - 1), note]) + " |")
    if lines:
        lines = ["", "#### Why", *lines]
    return lines


def render_markdown(results: Mapping[str, Any], *, max_findings: int = 20) -> str:
    run, summary = results["run"], results["summary"]
    exit_code = summary["exitCode"]
    lines = [
        f"## Privacy-policy audit: {ICON['PASS'] if exit_code == 0 else ICON['FAIL'] if exit_code == 1 else ICON['ERROR']}"
        f" {EXIT_MEANING.get(exit_code, '')}",
        "",
        f"Source `{run['source']}`"
        + (f", stack `{run['stack']}`" if run.get("stack") else "")
        + f", {run['startedAt']}.",
        "",
        "| Claims | " + " | ".join(f"{ICON[v]} {v}" for v in summary["claims"]) + " |",
        "|---|" + "---|" * len(summary["claims"]),
        "| count | " + " | ".join(str(n) for n in summary["claims"].values()) + " |",
        "",
        "| Claim | Verdict | Title |",
        "|---|---|---|",
    ]
    for claim in results["claims"]:
        lines.append(f"| `{claim['id']}` | {ICON[claim['verdict']]} {claim['verdict']} | {_cell(claim['title'])} |")
    problems = [f for f in results["findings"] if f["verdict"] in ("FAIL", "ERROR") and not f["waiver"]]
    if problems:
        lines += [
            "",
            f"### Findings to fix ({len(problems)})",
            "",
            "| Check | Verdict | Resource | Message |",
            "|---|---|---|---|",
        ]
        for finding in problems[:max_findings]:
            resource = finding["resourceId"].rsplit("/", 1)[-1]
            lines.append(
                f"| `{finding['checkId']}` | {ICON[finding['verdict']]} {finding['verdict']} | `{_cell(resource)}` "
                f"| {_cell(finding['message'])} |"
            )
        if len(problems) > max_findings:
            lines.append(f"| … | | | {len(problems) - max_findings} more in the full report |")
        lines += _reasoning(problems[:max_findings])
    # WARN: cautions that leave the verdict (often PASS) unchanged, listed whatever the verdict.
    warned = [(f, text) for f in results["findings"] for text in f.get("warnings") or []]
    if warned:
        lines += ["", f"### Warnings ({len(warned)})", ""]
        lines += [
            f"- {WARN_ICON} WARN `{f['checkId']}` on `{_cell(f['resourceId'].rsplit('/', 1)[-1])}` "
            f"({f['verdict']}): {_cell(text)}"
            for f, text in warned[:max_findings]
        ]
        if len(warned) > max_findings:
            lines.append(f"- … {len(warned) - max_findings} more in results.json")
    waived = [f for f in results["findings"] if f["waiver"]]
    if waived:
        lines += ["", f"### Waived ({len(waived)})", ""]
        lines += [
            f"- `{f['checkId']}` on `{f['resourceId'].rsplit('/', 1)[-1]}`: {_cell(f['waiver']['justification'])}"
            f" (until {f['waiver']['expires']})"
            for f in waived
        ]
    if results["document"]:
        lines += ["", "### The policy text disagrees with itself", ""]
        lines += [
            f"- `{d['claimId']}` ({d['aspect']}): German *{_cell(d['de'])}*, English *{_cell(d['en'])}*."
            for d in results["document"]
        ]
    drift = results.get("drift")
    if drift is not None:
        items = drift["items"]
        lines += ["", f"### Drift: {drift['desired']} against live ({len(items)})", ""]
        if items:
            lines += ["| Kind | Resource | Property | Desired | Live |", "| --- | --- | --- | --- | --- |"]
            lines += [
                f"| {d['kind']} | `{d['resourceId'].rsplit('/', 1)[-1]}` | `{d['path'] or '-'}` |"
                f" {_cell(show_json(d['desired']))} | {_cell(show_json(d['live']))} |"
                for d in items[:max_findings]
            ]
            if len(items) > max_findings:
                lines.append(f"| … | | | | {len(items) - max_findings} more in results.json |")
        else:
            lines.append("Every security-relevant property is live as desired.")
    return "\n".join(lines) + "\n"
