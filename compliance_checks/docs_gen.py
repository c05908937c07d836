"""Regenerate the tables of the docs from the one source of each fact.

The catalogue (claims, controls, mappings, non-promises), the checks' own
metadata (ID, severity, title, the claims they verify, what they read) and the
policy pack's policies are data; the docs show them as tables. A table is
written only between its markers, everything around it is hand-written prose::

    <!-- generated: checks — edit the sources, then run `make docs` -->
    | check | severity | ... |
    <!-- /generated -->

``python -m compliance_checks.docs_gen`` (``make docs``) rewrites the blocks in
place; ``--check`` changes nothing and exits 1 naming the stale files
(tests/test_docs_generated.py does the same). A doc whose markers are broken,
a block name this module does not know, or a block a doc must hold but does
not, is one line naming the file and the line, exit 2.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from compliance_checks.errors import CatalogError

if TYPE_CHECKING:
    from compliance_checks.catalog import Catalog
    from compliance_checks.checks.base import Check
    from compliance_checks.inventory import Inventory
    from policies.pack import PolicySpec

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMAND = "make docs"
BEGIN = re.compile(r"^<!-- generated: (?P<name>[a-z0-9-]+)\b.*-->$")
END = "<!-- /generated -->"


class DocsError(Exception):
    """A doc's markers do not fit: one line naming the file and the line."""


@dataclass(frozen=True)
class PolicyRow:
    name: str
    claim: str
    scope: str
    enforcement: str
    checks: str


@dataclass(frozen=True)
class Sources:
    """Everything the tables show, loaded once."""

    catalog: Catalog
    checks: Mapping[str, Check]
    specs: Sequence[PolicySpec]
    policies: Sequence[PolicyRow]


def load_sources(checks: Mapping[str, Check] | None = None) -> Sources:
    """The registered checks, the catalogue and the pack; ``checks`` instead of the registered ones."""
    # The pack imports pulumi_policy; only the generator needs it here, not the checker.
    from pulumi_policy import StackValidationPolicy

    from compliance_checks.catalog import load_catalog
    from compliance_checks.checks import load_checks
    from policies.pack import build_policies, policy_specs

    if checks is None:
        checks = load_checks()
        catalog = load_catalog()
    else:
        catalog = load_catalog(check_claims={check_id: check.meta.claims for check_id, check in checks.items()})
    specs = policy_specs(checks)
    by_name = {spec.name: spec for spec in specs}
    rows = []
    for policy in build_policies(checks):
        level = policy.enforcement_level.value if policy.enforcement_level is not None else "mandatory"
        spec = by_name.get(policy.name)
        if spec is None:  # a policy over every check (stack) or every resource, not a gate of one claim
            scope = "stack" if isinstance(policy, StackValidationPolicy) else "resource"
            over = "every check" if scope == "stack" else "every resource"
            rows.append(PolicyRow(policy.name, "(all)", scope, level, f"{over}: {policy.description}"))
        else:
            rows.append(PolicyRow(spec.name, spec.claim, spec.scope, level, _codes(spec.checks)))
    return Sources(catalog, checks, specs, rows)


# --- tables ----------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Table-safe: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", r"\|")


def _codes(items: Iterable[str]) -> str:
    return ", ".join(f"`{item}`" for item in items)


def _quoted(fragments: Sequence[str]) -> str:
    return "<br>".join(f"“{_cell(fragment)}”" for fragment in fragments)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: Sequence[str] | None = None) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align or ["---"] * len(header)) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def claims_table(sources: Sources) -> str:
    rows = []
    for claim in sources.catalog.claims:
        verified = [_codes(claim.checks)] if claim.checks else []
        if claim.attestation_required:
            evidence = _cell(claim.attestation_evidence)
            verified.append(f"attestation: {evidence}" if evidence else "attestation")
        rows.append(
            (
                f"`{claim.id}`",
                claim.kind,
                _quoted(claim.text_de),
                _quoted(claim.text_en),
                "; ".join(verified),
                ", ".join(claim.controls),
            )
        )
    return _table(("ID", "kind", "German (verbatim)", "English (verbatim)", "verified by", "controls"), rows)


MAPPING_HEADINGS = {
    "gdpr": "GDPR",
    "tdddg": "TDDDG",
    "iso27001": "ISO/IEC 27001:2022",
    "bsi_c5": "BSI C5:2020",
    "cis_azure": "CIS Azure v2.1.0",
}
# Frameworks whose entries are "<identifier> <title>": the table shows the identifier, claims.yaml the title.
IDENTIFIER_FIRST = frozenset({"iso27001", "bsi_c5", "cis_azure"})


def mappings_table(sources: Sources) -> str:
    from compliance_checks.catalog import FRAMEWORKS

    def entries(framework: str, items: Sequence[str]) -> str:
        shown = [item.split(" ", 1)[0] if framework in IDENTIFIER_FIRST else item for item in items]
        return _cell(", ".join(shown)) if shown else "–"

    rows = [
        (f"`{claim.id}`", *(entries(key, claim.mappings[key]) for key in FRAMEWORKS))
        for claim in sources.catalog.claims
    ]
    return _table(("ID", *(MAPPING_HEADINGS[key] for key in FRAMEWORKS)), rows)


def controls_table(sources: Sources) -> str:
    from compliance_checks.catalog import PROCESS_PREFIX

    def where(item: str) -> str:
        return _cell(item) if item.startswith(PROCESS_PREFIX) else f"`{item}`"

    rows = [
        (f"`{control.id}`", _cell(control.title), "; ".join(where(item) for item in control.implemented_by))
        for control in sources.catalog.controls.values()
    ]
    return _table(("ID", "title", "implemented by"), rows)


def non_promises_table(sources: Sources) -> str:
    rows = [
        (str(number), item.language, f"“{_cell(item.text)}”", item.kind, _cell(item.reason))
        for number, item in enumerate(sources.catalog.non_promises, start=1)
    ]
    return _table(("#", "lang", "sentence", "kind", "reason"), rows)


def _gate_of(sources: Sources) -> dict[str, str]:
    return {check_id: spec.name for spec in sources.specs for check_id in spec.checks}


def checks_table(sources: Sources) -> str:
    gates = _gate_of(sources)
    rows = []
    for check_id, check in sources.checks.items():
        gate = f"`{gates[check_id]}`" if check_id in gates else "live only (a probe)"
        meta = check.meta
        rows.append((f"`{check_id}`", meta.severity.value, ", ".join(meta.claims), gate, _cell(meta.title)))
    return _table(("check", "severity", "claims", "policy (gate)", "title"), rows)


def reads_table(sources: Sources) -> str:
    rows = []
    undeclared = []
    for check_id, check in sources.checks.items():
        reads = check.reads()
        if not reads:
            undeclared.append(check_id)
        for read in reads:
            # ``name`` narrows a read to one resource of the type (a server parameter); not every Read has it yet.
            name = getattr(read, "name", "")
            kind = "every type that has it" if read.type == "*" else f"`{read.type}`"
            rows.append(
                (
                    f"`{check_id}`",
                    kind + (f" named `{name}`" if name else ""),
                    f"`{read.path}`",
                    "absent is the good state" if read.absent_ok else "absent is never a PASS",
                )
            )
    table = _table(("check", "resource type", "property", "missing or null"), rows)
    if undeclared:
        table += f"\n\nNot declared yet ({len(undeclared)} of {len(sources.checks)}): {_codes(undeclared)}."
    return table


def policies_table(sources: Sources) -> str:
    rows = [(f"`{p.name}`", p.claim, p.scope, p.enforcement, _cell(p.checks)) for p in sources.policies]
    return _table(("policy", "claim", "scope", "enforcement", "checks"), rows)


# Checks whose evidence is a reachability table (sources that reach a port): shown per stack in architecture.md.
REACHABILITY_CHECKS = ("nsg_database_port_two_sources", "keyvault_private_endpoint_reachability")
STACKS = ("dev", "prod")


@functools.cache
def _synthesized(stack: str) -> Inventory:
    """A stack's offline synthesis, once per process (the program and its config do not change under us)."""
    from compliance_checks.sources.synth import load_synth

    return load_synth(stack)[0]


def reachability_tables(sources: Sources) -> str:
    """Who reaches the database (and the Key Vault) on each stack, as the checks compute it from the program.

    The rows are the evidence the checks themselves give (compliance_checks/evaluate/nsg.py), evaluated on
    the offline synthesis of each stack: the same computation the audit, the policy pack and drift use.
    """
    from compliance_checks.checks.base import Params
    from compliance_checks.render_values import as_table

    parts: list[str] = []
    for stack in STACKS:
        inventory = _synthesized(stack)
        for check_id in REACHABILITY_CHECKS:
            check = sources.checks.get(check_id)
            if check is None:
                continue
            for finding in check.evaluate(inventory, Params()):
                for evidence in finding.evidence:
                    table = as_table(evidence.observed)
                    if table is None:
                        continue
                    columns, rows = table
                    where = finding.resource_id.rstrip("/").rsplit("/", 1)[-1]
                    parts.append(
                        f"**{stack}**, `{check_id}` on `{where}`: {finding.verdict.value}. "
                        f"{_cell(evidence.path)} (expected: {_cell(evidence.expected)})\n\n"
                        + _table([_cell(c) for c in columns], [[_cell(v) for v in row] for row in rows])
                    )
    return "\n\n".join(parts)


Renderer = Callable[[Sources], str]

# Which blocks each doc holds, and what renders them.
BLOCKS: dict[str, dict[str, Renderer]] = {
    "docs/claims.md": {
        "claims": claims_table,
        "mappings": mappings_table,
        "controls": controls_table,
        "non-promises": non_promises_table,
    },
    "docs/policy-pack.md": {"policies": policies_table},
    "docs/compliance-checks.md": {"checks": checks_table, "check-reads": reads_table},
    "docs/architecture.md": {"reachability": reachability_tables},
}


# --- blocks ----------------------------------------------------------------------------------------


def rewrite(text: str, renderers: Mapping[str, Callable[[], str]], file: str) -> str:
    """``text`` with the body of every generated block replaced; the prose around it untouched."""
    lines = text.split("\n")
    out: list[str] = []
    seen: set[str] = set()
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        if line.strip() == END:
            raise DocsError(f"{file}: line {index}: {END} without a block to end")
        match = BEGIN.match(line.strip())
        if match is None:
            continue
        name, start = match["name"], index
        if name not in renderers:
            known = ", ".join(sorted(renderers)) or "none"
            raise DocsError(f"{file}: line {start}: unknown generated block {name!r} (this file holds: {known})")
        if name in seen:
            raise DocsError(f"{file}: line {start}: generated block {name!r} appears twice")
        seen.add(name)
        while index < len(lines) and lines[index].strip() != END:
            if BEGIN.match(lines[index].strip()):
                raise DocsError(f"{file}: line {index + 1}: block {name!r} (line {start}) is not ended by {END}")
            index += 1
        if index == len(lines):
            raise DocsError(f"{file}: line {start}: block {name!r} is not ended by {END}")
        out.extend(renderers[name]().split("\n"))
        out.append(lines[index])
        index += 1
    missing = sorted(set(renderers) - seen)
    if missing:
        raise DocsError(f"{file}: generated block {missing[0]!r} is missing (add its markers where it belongs)")
    return "\n".join(out)


def generate(root: Path = REPO_ROOT, sources: Sources | None = None) -> dict[Path, tuple[str, str]]:
    """Each doc: (current text, generated text)."""
    sources = sources or load_sources()
    result: dict[Path, tuple[str, str]] = {}
    for relative, blocks in BLOCKS.items():
        path = root / relative
        try:
            current = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DocsError(f"{relative}: cannot read: {exc.strerror or exc}") from None
        renderers = {name: (lambda render=render: render(sources)) for name, render in blocks.items()}
        result[path] = (current, rewrite(current, renderers, relative))
    return result


def stale(root: Path = REPO_ROOT) -> list[str]:
    """The docs (relative paths) whose generated blocks differ from what the sources give."""
    return [str(path.relative_to(root)) for path, (old, new) in generate(root).items() if old != new]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance_checks.docs_gen", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a doc is stale")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        docs = generate(args.root)
    except (DocsError, CatalogError) as exc:
        print(f"docs_gen: {exc}", file=sys.stderr)
        return 2
    changed = [path for path, (old, new) in docs.items() if old != new]
    for path in changed:
        relative = path.relative_to(args.root)
        if args.check:
            print(f"{relative}: stale generated tables; run `{COMMAND}`", file=sys.stderr)
        else:
            path.write_text(docs[path][1], encoding="utf-8")
            print(f"rewrote {relative}")
    if args.check:
        return 1 if changed else 0
    if not changed:
        print("docs are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
