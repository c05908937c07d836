"""The docs' tables are generated from the catalogue, the checks and the policy pack, and kept current.

A stale table fails here naming the command that regenerates it. The generator
rewrites only what lies between its markers; the prose around them is kept
byte for byte.
"""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from compliance_checks import docs_gen
from compliance_checks.checks import load_checks
from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.docs_gen import BLOCKS, COMMAND, DocsError, generate, load_sources, main, rewrite
from compliance_checks.findings import Finding, Severity
from compliance_checks.inventory import Inventory
from infra.synth import REPO_ROOT


def test_generated_docs_are_current() -> None:
    stale = {str(path.relative_to(REPO_ROOT)): (old, new) for path, (old, new) in generate().items() if old != new}
    diff = "".join(
        line
        for name, (old, new) in stale.items()
        for line in list(difflib.unified_diff(old.splitlines(True), new.splitlines(True), name, "generated", n=0))[:12]
    )
    assert not stale, f"stale generated tables in {', '.join(stale)}: run `{COMMAND}`\n{diff}"


def test_every_doc_holds_its_blocks_once() -> None:
    for relative, blocks in BLOCKS.items():
        text = (REPO_ROOT / relative).read_text(encoding="utf-8")
        for name in blocks:
            assert text.count(f"<!-- generated: {name} ") == 1, (relative, name)
        assert text.count(docs_gen.END) == len(blocks), relative


# --- the block rewriter ----------------------------------------------------------------------------

PAGE = """# Title

Prose before, with a | pipe.

<!-- generated: table — run `make docs` -->
| old | table |
<!-- /generated -->

Prose after.
"""


def test_only_the_block_is_rewritten() -> None:
    new = rewrite(PAGE, {"table": lambda: "| new |\n| --- |"}, "page.md")
    assert new == PAGE.replace("| old | table |", "| new |\n| --- |")
    assert rewrite(new, {"table": lambda: "| new |\n| --- |"}, "page.md") == new  # idempotent


def _const(value: str) -> Callable[[], str]:
    return lambda: value


@pytest.mark.parametrize(
    ("text", "renderers", "expected"),
    [
        (PAGE, {"other": "x"}, "page.md: line 5: unknown generated block 'table' (this file holds: other)"),
        (PAGE.replace("<!-- /generated -->\n", ""), {"table": "x"}, "page.md: line 5: block 'table' is not ended"),
        (PAGE + PAGE.split("\n", 3)[3], {"table": "x"}, "page.md: line 11: generated block 'table' appears twice"),
        ("text\n<!-- /generated -->\n", {}, "page.md: line 2: <!-- /generated --> without a block to end"),
        ("only prose\n", {"table": "x"}, "page.md: generated block 'table' is missing"),
        (
            PAGE.replace("| old | table |", "<!-- generated: inner -->"),
            {"table": "x", "inner": "y"},
            "page.md: line 6: block 'table' (line 5) is not ended",
        ),
    ],
    ids=["unknown", "unterminated", "twice", "stray-end", "missing", "nested"],
)
def test_broken_markers_are_one_located_line(text: str, renderers: dict[str, str], expected: str) -> None:
    with pytest.raises(DocsError) as info:
        rewrite(text, {name: _const(value) for name, value in renderers.items()}, "page.md")
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


# --- the command -------------------------------------------------------------------------------------


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    for relative in BLOCKS:
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / relative, target)
    return tmp_path


def test_check_reports_a_stale_doc_and_the_command_fixes_it(
    docs_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guide = docs_copy / "docs" / "compliance-checks.md"
    assert main(["--root", str(docs_copy)]) == 0  # current, whatever the checks say today
    original = guide.read_text(encoding="utf-8")
    row = "| `webapp_https_only` | high |"
    assert row in original
    guide.write_text(original.replace(row, "| `webapp_https_only` | low |"), encoding="utf-8")

    assert main(["--check", "--root", str(docs_copy)]) == 1
    assert "docs/compliance-checks.md: stale generated tables; run `make docs`" in capsys.readouterr().err
    assert row not in guide.read_text(encoding="utf-8")  # --check changes nothing

    assert main(["--root", str(docs_copy)]) == 0
    assert guide.read_text(encoding="utf-8") == original
    assert main(["--check", "--root", str(docs_copy)]) == 0


def test_hand_edits_outside_the_blocks_survive(docs_copy: Path) -> None:
    claims = docs_copy / "docs" / "claims.md"
    edited = claims.read_text(encoding="utf-8").replace("## The claims\n", "## The claims\n\nA hand-written note.\n")
    claims.write_text(edited, encoding="utf-8")
    assert main(["--root", str(docs_copy)]) == 0
    assert claims.read_text(encoding="utf-8") == edited


def test_broken_markers_exit_2_with_one_line(docs_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = docs_copy / "docs" / "policy-pack.md"
    pack.write_text(pack.read_text(encoding="utf-8").replace(docs_gen.END, ""), encoding="utf-8")
    assert main(["--root", str(docs_copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("docs_gen: docs/policy-pack.md: line ") and "'policies' is not ended" in err
    assert err.count("\n") == 1


def test_a_missing_doc_is_named(docs_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (docs_copy / "docs" / "claims.md").unlink()
    assert main(["--check", "--root", str(docs_copy)]) == 2
    assert capsys.readouterr().err.startswith("docs_gen: docs/claims.md: cannot read")


# --- one declaration, everywhere ---------------------------------------------------------------------


class _NewCheck(Check):
    """What a developer adds for an existing claim: the check, with its metadata and reads."""

    READS = (Read("Microsoft.Web/sites", "properties.newThing"),)

    def __init__(self) -> None:
        self.meta = CheckMeta(
            "webapp_new_thing", "Portal does the new thing", Severity.HIGH, ("PRIV-NO-COOKIES",), "why", "fix"
        )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        return ()


def test_a_new_check_reaches_every_table_from_its_metadata_alone() -> None:
    checks = {**load_checks(), "webapp_new_thing": _NewCheck()}
    sources = load_sources(checks)
    claims = docs_gen.claims_table(sources)
    cookies = next(line for line in claims.split("\n") if line.startswith("| `PRIV-NO-COOKIES` |"))
    assert "`webapp_new_thing`" in cookies
    assert (
        "| `webapp_new_thing` | high | PRIV-NO-COOKIES | `webapp-new-thing` | Portal does the new thing |"
        in docs_gen.checks_table(sources)
    )
    assert "| `webapp_new_thing` | `Microsoft.Web/sites` | `properties.newThing` | absent is never a PASS |" in (
        docs_gen.reads_table(sources)
    )
    assert "| `webapp-new-thing` | PRIV-NO-COOKIES | stack | mandatory | `webapp_new_thing` |" in (
        docs_gen.policies_table(sources)
    )


def test_tables_show_what_the_sources_hold() -> None:
    sources = load_sources()
    table = docs_gen.claims_table(sources)
    for claim in sources.catalog.claims:
        assert f"| `{claim.id}` | {claim.kind} |" in table
    assert "| `ORG-LAWFUL-BASIS` | organisational |" in table and "attestation: The record" in table
    policies = docs_gen.policies_table(sources)
    assert "| `unknown-values-at-preview` | (all) | stack | advisory |" in policies
    assert "| `developers-mfa` | SEC-DEV-MFA | stack | mandatory |" in policies
    checks = docs_gen.checks_table(sources)
    assert "| `probe_tls_protocols` | high | SEC-TLS | live only (a probe) |" in checks
    assert docs_gen._cell("a | b\nc") == r"a \| b c"


def test_the_reachability_tables_are_what_the_check_computes_on_each_stack() -> None:
    """The architecture doc's table moves with the program: a changed NSG rule changes the generated rows."""
    from compliance_checks.docs_gen import load_sources, reachability_tables
    from tests.conftest import synth_cached

    text = reachability_tables(load_sources())
    for stack in ("dev", "prod"):
        synthesis = synth_cached(stack)
        nsg = next(r for r in synthesis.resources if r.name == "network-nsg-database")
        portal = next(rule for rule in nsg.inputs["securityRules"] if rule["name"] == "AllowPostgresFromPortal")
        assert f"| {portal['sourceAddressPrefix']} | port 5432/Tcp | rule AllowPostgresFromPortal" in text
        assert f"**{stack}**, `nsg_database_port_two_sources`" in text
