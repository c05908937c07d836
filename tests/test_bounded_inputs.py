"""Hostile inputs are refused early, in bounded time and memory, with one line naming the file and the place.

Each case runs the real command line in a subprocess whose address space is
capped (RLIMIT_AS) and whose run time is capped (timeout): an amplification
that is not refused early dies of the cap instead of passing. Every case must
exit 2 with exactly one ``error:`` line on stderr naming the file (and the
place where there is one), no traceback, and no report written.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from compliance_checks.sources.arm_expressions import MAX_COPY_TOTAL, MAX_ITEMS, MAX_STRING
from compliance_checks.sources.loading import DEFAULT_MAX_BYTES, MAX_RESOURCES, MAX_VALUES, STREAM_MAX_BYTES
from compliance_checks.yaml_input import MAX_BYTES as YAML_MAX_BYTES
from compliance_checks.yaml_input import MAX_DEPTH as YAML_MAX_DEPTH

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "compliance_checks"]
RENDER = [sys.executable, "-m", "infra.render"]
STATE = REPO / "tests" / "fixtures" / "sources" / "pulumi-stack-export.json"
STACK = REPO / "infra" / "stacks" / "Pulumi.dev.yaml"
MEMORY_CAP = 2 * 1024**3  # bytes of address space: a bomb that is expanded dies here
TIME_CAP = 60.0  # seconds: the subprocess is killed past this
FAST = 20.0  # seconds: what a refusal may take at most (it takes about one)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_capped(command: Sequence[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    completed = subprocess.run(
        list(command),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_CAP,
        preexec_fn=_cap_memory,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return completed, time.monotonic() - started


def assert_refused(command: Sequence[str], out: Path | None, named: Path, *fragments: str) -> str:
    """Exit 2, one error line naming ``named`` and holding every fragment, no traceback, no report."""
    completed, elapsed = run_capped(command)
    stderr = completed.stderr
    assert completed.returncode == 2, (completed.returncode, stderr[-2000:])
    assert "Traceback" not in stderr and "MemoryError" not in stderr, stderr[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr[-2000:]
    line = errors[0]
    assert str(named) in line, line
    for fragment in fragments:
        assert fragment in line, line
    assert elapsed < FAST, f"refused only after {elapsed:.1f} s: {line}"
    if out is not None:
        assert not out.exists() or not list(out.rglob("results.json")), list(out.rglob("*"))
    return line


def audit(out: Path, *args: str | Path) -> list[str]:
    return [*CLI, "audit", "--out", str(out), *(str(a) for a in args)]


# --- hostile files ---------------------------------------------------------------------


def yaml_bomb(levels: int = 9, width: int = 10) -> str:
    """The "billion laughs": each level lists the previous one ``width`` times (width**levels leaves)."""
    lines = ["  - &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"  - &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "report"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# --- YAML: every entry point -----------------------------------------------------------


def test_alias_bomb_in_waivers(out: Path, write: Callable[[str, str], Path]) -> None:
    bomb = write("waivers.yaml", "waivers:\n" + yaml_bomb())
    assert_refused(audit(out, "--source", "pulumi-state", "--input", STATE, "--waivers", bomb), out, bomb, "alias")


def test_alias_bomb_in_attestations(out: Path, write: Callable[[str, str], Path]) -> None:
    bomb = write("attestations.yaml", "attestations:\n" + yaml_bomb())
    command = audit(out, "--source", "pulumi-state", "--input", STATE, "--attestations", bomb)
    assert_refused(command, out, bomb, "alias")


def _stack_with(write: Callable[[str, str], Path], extra: str) -> Path:
    """A copy of the dev stack config with one more (hostile) key; the real file is left alone."""
    return write("Pulumi.dev.yaml", STACK.read_text(encoding="utf-8").rstrip("\n") + "\n" + extra)


def test_alias_bomb_in_stack_config_audit(out: Path, write: Callable[[str, str], Path]) -> None:
    stack = _stack_with(write, "  smart-portal:laughs:\n" + yaml_bomb().replace("  - ", "    - "))
    assert_refused(audit(out, "--source", "synth", "--input", stack), out, stack, "alias")


def test_alias_bomb_in_stack_config_render(write: Callable[[str, str], Path]) -> None:
    stack = _stack_with(write, "  smart-portal:laughs:\n" + yaml_bomb().replace("  - ", "    - "))
    assert_refused([*RENDER, "--stack", "dev", "--config", str(stack)], None, stack, "alias")


def test_too_many_aliases(out: Path, write: Callable[[str, str], Path]) -> None:
    many = write("waivers.yaml", "waivers:\n  - &w {}\n" + "  - *w\n" * 500)
    command = audit(out, "--source", "pulumi-state", "--input", STATE, "--waivers", many)
    assert_refused(command, out, many, "line 103", "more than 100 aliases")


def test_recursive_alias(out: Path, write: Callable[[str, str], Path]) -> None:
    cycle = write("attestations.yaml", "attestations: &a\n  - *a\n")
    command = audit(out, "--source", "pulumi-state", "--input", STATE, "--attestations", cycle)
    assert_refused(command, out, cycle, "cycle")


def test_deep_yaml_nesting(out: Path, write: Callable[[str, str], Path]) -> None:
    deep = write("waivers.yaml", "waivers: " + "[" * 20_000 + "]" * 20_000 + "\n")
    command = audit(out, "--source", "pulumi-state", "--input", STATE, "--waivers", deep)
    assert_refused(command, out, deep, "line 1, column", f"nested deeper than {YAML_MAX_DEPTH} levels")


def test_deep_yaml_nesting_in_stack_config(write: Callable[[str, str], Path]) -> None:
    stack = _stack_with(write, "  smart-portal:deep: " + "[" * 20_000 + "]" * 20_000 + "\n")
    assert_refused([*RENDER, "--stack", "dev", "--config", str(stack)], None, stack, "nested deeper")


@pytest.mark.parametrize(
    ("name", "text", "fragments"),
    [
        (
            "attestations",
            "attestations:\n  - claim: REC-TAX-ADVISORS\n    owner: DPO\n    date: 2026-01-01\n"
            "    document: DPA\n    expires: 2027-02-30\n",
            ("attestations[0].expires", "2027-02-30", "not a valid date"),
        ),
        (
            "waivers",
            "waivers:\n  - check: webapp_min_tls_version\n    resource: '*'\n    justification: x\n"
            "    expires: 2027-13-01\n",
            ("waivers[0].expires", "not a valid date"),
        ),
        (
            "waivers",
            "waivers:\n  - check: webapp_min_tls_version\n    check: nsg_deny_all_inbound\n",
            ("waivers[0].check", "duplicate key"),
        ),
        ("waivers", "waivers:\n  - check: .nan\n", ("waivers[0].check", "not a finite number")),
        ("waivers", "waivers:\n  - check: 1" + "0" * 5000 + "\n", ("waivers[0].check", "too long")),
    ],
)
def test_strict_yaml_values(
    out: Path, write: Callable[[str, str], Path], name: str, text: str, fragments: tuple[str, ...]
) -> None:
    path = write(f"{name}.yaml", text)
    command = audit(out, "--source", "pulumi-state", "--input", STATE, f"--{name}", path)
    assert_refused(command, out, path, *fragments)


def test_impossible_date_in_stack_config(write: Callable[[str, str], Path]) -> None:
    stack = _stack_with(write, "  smart-portal:someday: 2027-02-30\n")
    assert_refused([*RENDER, "--stack", "dev", "--config", str(stack)], None, stack, "config.smart-portal:someday")


def test_oversized_yaml_refused_before_reading(out: Path, tmp_path: Path) -> None:
    big = tmp_path / "waivers.yaml"
    with big.open("wb") as handle:  # sparse: no disk is used, and nothing may read it
        handle.truncate(YAML_MAX_BYTES + 1)
    command = audit(out, "--source", "pulumi-state", "--input", STATE, "--waivers", big)
    assert_refused(command, out, big, f"over the limit of {YAML_MAX_BYTES} bytes")


# --- JSON sources -----------------------------------------------------------------------


def test_huge_resource_count_in_a_state(out: Path, write: Callable[[str, str], Path]) -> None:
    body = ",".join(['{"urn":"u","type":"t"}'] * (MAX_RESOURCES + 1))  # refused as the one too many is read
    state = write("state.json", '{"version":3,"deployment":{"resources":[' + body + "]}}")
    command = audit(out, "--source", "pulumi-state", "--input", state)
    assert_refused(command, out, state, "/deployment/resources", f"over the limit of {MAX_RESOURCES}")


def test_huge_step_count_in_a_preview(out: Path, write: Callable[[str, str], Path]) -> None:
    preview = write("preview.json", '{"steps":[' + ",".join(['{"op":"delete"}'] * (4 * MAX_RESOURCES + 1)) + "]}")
    command = audit(out, "--source", "pulumi-preview", "--input", preview)
    assert_refused(command, out, preview, "/steps", "over the limit of")


def test_huge_resource_count_in_a_template(out: Path, write: Callable[[str, str], Path]) -> None:
    item = '{"type":"Microsoft.Network/virtualNetworks","name":"v","condition":false}'
    template = write("template.json", '{"resources":[' + ",".join([item] * (MAX_RESOURCES + 1)) + "]}")
    command = audit(out, "--source", "arm", "--input", template)
    assert_refused(command, out, template, "/resources", f"over the limit of {MAX_RESOURCES}")


@pytest.mark.parametrize("source", ["arm", "pulumi-state"])
def test_many_small_values_refused_before_parsing(out: Path, write: Callable[[str, str], Path], source: str) -> None:
    # 30 MB of empty arrays would be about a gigabyte of Python objects: refused before they are decoded, whether
    # the document is decoded whole (arm) or streamed (pulumi-state: one value may not hold that many either).
    document = write("document.json", "[" + ",".join(["[]"] * (MAX_VALUES + 1)) + "]")
    assert_refused(audit(out, "--source", source, "--input", document), out, document, "JSON values")


@pytest.mark.parametrize(("source", "limit"), [("arm", DEFAULT_MAX_BYTES), ("pulumi-state", STREAM_MAX_BYTES)])
def test_oversized_json_refused_before_reading(out: Path, tmp_path: Path, source: str, limit: int) -> None:
    big = tmp_path / "document.json"
    with big.open("wb") as handle:  # sparse: no disk is used, and nothing may read it
        handle.truncate(limit + 1)
    command = audit(out, "--source", source, "--input", big)
    assert_refused(command, out, big, f"over the limit of {limit} bytes")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            '{"version":3,"deployment":{"resources":[{"urn":"a","urn":"b"}]}}',
            ("/deployment/resources/0/urn", "duplicate key"),
        ),
        ('{"version":3,"deployment":{"resources":[{"x":-1e400}]}}', ("/deployment/resources/0/x", "not a finite")),
        ('{"version":3,"deployment":{"x":NaN}}', ("/deployment/x", "NaN is not a JSON value")),
        ('{"version":3,"deployment":{"x":Infinity}}', ("/deployment/x", "Infinity")),
        ('{"version":3,"x":' + "9" * 5000 + "}", ("/x", "too long")),
        ("[" * 100_000 + "]" * 100_000, ("nested deeper",)),
    ],
)
def test_strict_json(out: Path, write: Callable[[str, str], Path], text: str, fragments: tuple[str, ...]) -> None:
    state = write("state.json", text)
    assert_refused(audit(out, "--source", "pulumi-state", "--input", state), out, state, *fragments)


# --- ARM amplification --------------------------------------------------------------------

VNET = {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "v", "location": "x"}


def _template(write: Callable[[str, str], Path], document: dict[str, object]) -> Path:
    return write("template.json", json.dumps(document))


def test_create_array_amplification(out: Path, write: Callable[[str, str], Path]) -> None:
    variables: dict[str, object] = {"v0": "[range(0, 1000)]"}
    for level in range(1, 8):  # 1,000 x 10**7 elements when expanded
        variables[f"v{level}"] = "[createArray(" + ",".join([f"variables('v{level - 1}')"] * 10) + ")]"
    template = _template(
        write, {"variables": variables, "resources": [{**VNET, "properties": {"x": "[variables('v7')]"}}]}
    )
    command = audit(out, "--source", "arm", "--input", template)
    assert_refused(command, out, template, "/variables/v2", f"more than {MAX_ITEMS} elements")


def test_string_repetition(out: Path, write: Callable[[str, str], Path]) -> None:
    a = "a" * 1000
    template = _template(
        write, {"variables": {"s": f"[replace(replace('{a}', 'a', '{a}'), 'a', '{a}')]"}, "resources": []}
    )
    command = audit(out, "--source", "arm", "--input", template)
    assert_refused(command, out, template, "/variables/s", f"more than {MAX_STRING} characters")


def test_nested_property_copy(out: Path, write: Callable[[str, str], Path]) -> None:
    innermost = {"copy": [{"name": "r", "count": 800, "input": "x"}]}
    middle = {"copy": [{"name": "q", "count": 800, "input": innermost}]}
    properties = {"copy": [{"name": "p", "count": 800, "input": middle}]}
    template = _template(write, {"resources": [{**VNET, "properties": properties}]})
    command = audit(out, "--source", "arm", "--input", template)
    assert_refused(command, out, template, "/resources/0/properties/copy/0/input", str(MAX_COPY_TOTAL))


def test_nested_resource_copy(out: Path, write: Callable[[str, str], Path]) -> None:
    child = {
        "type": "subnets",
        "name": "[string(copyIndex('b'))]",
        "condition": False,
        "copy": {"name": "b", "count": 800},
    }
    parent = {**VNET, "name": "[string(copyIndex())]", "copy": {"name": "a", "count": 800}, "resources": [child]}
    template = _template(write, {"resources": [parent]})
    command = audit(out, "--source", "arm", "--input", template)
    assert_refused(command, out, template, "/resources/0/resources/0/copy/count", str(MAX_COPY_TOTAL))


def test_variable_copy_of_large_arrays(out: Path, write: Callable[[str, str], Path]) -> None:
    loops = [{"name": "big", "count": 800, "input": "[range(0, 100000)]"}]
    template = _template(write, {"variables": {"copy": loops}, "resources": []})
    command = audit(out, "--source", "arm", "--input", template)
    assert_refused(command, out, template, "/variables/copy/0/input", "more than")


# --- not a regular file -------------------------------------------------------------------


def test_fifo_as_input(out: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "state.json"
    os.mkfifo(fifo)  # nobody writes: a reader that opens it blocks forever
    assert_refused(audit(out, "--source", "pulumi-state", "--input", fifo), out, fifo)


def test_fifo_as_waivers(out: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "waivers.yaml"
    os.mkfifo(fifo)
    command = audit(out, "--source", "pulumi-state", "--input", STATE, "--waivers", fifo)
    assert_refused(command, out, fifo, "not a regular file")


def test_fifo_as_stack_config(tmp_path: Path) -> None:
    fifo = tmp_path / "Pulumi.dev.yaml"
    os.mkfifo(fifo)
    assert_refused([*RENDER, "--stack", "dev", "--config", str(fifo)], None, fifo, "FIFO")


def test_device_directory_and_socket(out: Path, tmp_path: Path) -> None:
    assert_refused(audit(out, "--source", "arm", "--input", "/dev/zero"), out, Path("/dev/zero"))
    command = audit(out, "--source", "pulumi-state", "--input", STATE, "--attestations", tmp_path)
    assert_refused(command, out, tmp_path, "directory")
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        command = audit(out, "--source", "pulumi-state", "--input", STATE, "--waivers", path)
        assert_refused(command, out, path, "socket")


def test_symlink_loop(out: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.symlink_to(second)
    second.symlink_to(first)
    command = audit(out, "--source", "pulumi-state", "--input", STATE, "--waivers", first)
    assert_refused(command, out, first, "symbolic links")
    assert_refused([*RENDER, "--stack", "dev", "--config", str(first)], None, first, "symbolic links")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(out: Path, write: Callable[[str, str], Path]) -> None:
    path = write("waivers.yaml", "waivers: []\n")
    path.chmod(0)
    command = audit(out, "--source", "pulumi-state", "--input", STATE, "--waivers", path)
    assert_refused(command, out, path, "permission denied")


def test_copy_loops_inside_nested_deployments_share_the_total(out: Path, write: Callable[[str, str], Path]) -> None:
    inner = {
        "resources": [
            {**VNET, "name": "[string(copyIndex())]", "copy": {"name": "c", "count": 800}, "condition": False}
        ]
    }
    deployment = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "[string(copyIndex())]",
        "copy": {"name": "d", "count": 800},
        "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"}, "template": inner},
    }
    template = _template(write, {"resources": [deployment]})
    command = audit(out, "--source", "arm", "--input", template)
    assert_refused(
        command, out, template, "/resources/0/properties/template/resources/0/copy/count", str(MAX_COPY_TOTAL)
    )
