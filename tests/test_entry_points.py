"""Every entry point fails closed on hostile input: one terminal-safe error line, the right exit code, no report.

Entry points: ``compliance-checks audit`` (each ``--source``, ``--input``,
``--parameters``, ``--waivers``, ``--attestations``), ``claims --results``,
``verify-report``, ``explain``, ``export-arm`` and ``python -m infra.render``.
They run in-process through their ``main`` (output captured, ``SystemExit``
caught) so that hypothesis can try many inputs quickly. The property for every
run:

* no exception leaves ``main`` (no traceback) and the code is 0, 1 or 2 (64 for
  a wrong command line);
* an error is exactly one printable line on standard error that names the file
  (terminal-safe) and is not the boundary's "unexpected" net;
* after an error no report is left: the output directory holds at most
  ``INVALID``; after a run without an error the report verifies.

The number of examples each property tried is printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance_checks import cli
from compliance_checks.cli import main, terminal_safe
from compliance_checks.report.manifest import INVALID_NAME, REPORT_FILES
from compliance_checks.report.validation import load_schema
from compliance_checks.sources import DEFAULT_SOURCE, OFFLINE_SOURCES, OTHER_ORIGINS, SOURCES
from infra import render
from infra.synth import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"
STATE = FIXTURES / "sources" / "pulumi-stack-export.json"
PREVIEW = FIXTURES / "sources" / "pulumi-preview.json"
ARM = FIXTURES / "sources" / "arm-dev-estate.json"
ARM_PARAMETERS = FIXTURES / "sources" / "arm-dev-estate.parameters.json"
ARM_EXPORT = FIXTURES / "sources" / "arm-az-group-export.json"
SAMPLE_RESULTS = FIXTURES / "results" / "sample.json"
DEV_STACK = REPO_ROOT / "infra" / "stacks" / "Pulumi.dev.yaml"

EXAMPLES = int(os.environ.get("ENTRY_POINT_EXAMPLES", "25"))  # raise it to hunt for more (e.g. 500)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
TRIED: dict[str, int] = {}


def _count(name: str) -> None:
    TRIED[name] = TRIED.get(name, 0) + 1


@pytest.fixture(autouse=True, scope="module")
def _print_counts() -> Iterator[None]:
    yield
    for name, count in sorted(TRIED.items()):
        print(f"{name}: {count} examples tried")


# --- running an entry point in-process ---------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        """Standard error without the progress messages (each one line ending in an ellipsis)."""
        lines = self.err.splitlines()
        return [
            line for line in lines if line.startswith(("error: ", "usage error: ")) or not line.endswith(("…", "..."))
        ]


def _call(entry: Callable[[Sequence[str]], int], argv: Sequence[str]) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = entry(list(argv))
        except SystemExit as exc:  # argparse's --help and --version only
            code = int(exc.code or 0)
    return Run(code, out.getvalue(), err.getvalue())


def run_cli(*argv: str) -> Run:
    return _call(main, argv)


def run_render(*argv: str) -> Run:
    return _call(render.main, argv)


def assert_one_error_line(run: Run, names: str | Path | None = None, *, usage: bool = False) -> str:
    """The run failed with exactly one printable error line (naming ``names``), not the boundary's net."""
    lines = run.error_lines
    assert len(lines) == 1, run.err
    line = lines[0]
    assert line.startswith("usage error: " if usage else "error: "), line
    assert line.isprintable(), repr(line)
    assert "Traceback" not in run.err and not line.startswith("error: unexpected "), line
    if names is not None:
        assert terminal_safe(str(names)) in line, (line, str(names))
    return line


def assert_no_report(out: Path) -> None:
    """Nothing that looks like a report: the directory is absent or holds INVALID only."""
    if out.exists():
        left = {p.name for p in out.iterdir()}
        assert left <= {INVALID_NAME}, left
        assert not left & (REPORT_FILES | {"manifest.json", "manifest.sha256"})


def assert_outcome(run: Run, out: Path, names: str | Path) -> None:
    """The property of one audit: an input error with no report, or a finished report that verifies."""
    assert run.code in (0, 1, 2), run.err
    if run.error_lines:
        assert run.code == 2, run.err
        assert_one_error_line(run, names)
        assert_no_report(out)
    else:
        assert (out / "results.json").is_file() and not (out / INVALID_NAME).exists()
        assert run_cli("verify-report", str(out)).code == 0


# --- hostile contents ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _paths(document: Any) -> list[tuple[str | int, ...]]:
    """Every place in a JSON document (breadth-first, the first 2000)."""
    found: list[tuple[str | int, ...]] = []
    queue: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while queue and len(found) < 2000:
        value, path = queue.pop(0)
        found.append(path)
        if isinstance(value, dict):
            queue.extend((item, (*path, key)) for key, item in value.items())
        elif isinstance(value, list):
            queue.extend((item, (*path, index)) for index, item in enumerate(value))
    return found


def _keys(document: Any) -> list[str]:
    return sorted({str(path[-1]) for path in _paths(document) if path and isinstance(path[-1], str)})


def _retype_everywhere(document: Any, key: str, value: Any) -> None:
    """Every value under ``key`` (``properties``, ``outputs``, ...) becomes ``value``: a shape no reader expects."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if key in node:
                node[key] = copy.deepcopy(value)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


@st.composite
def mutations(draw: st.DrawFn, original: Any) -> str:
    """The fixture with one to three places replaced by a wrongly typed value, removed or emptied.

    Or with every value of one key name replaced at once, e.g. each ``properties`` a string.
    """
    document = copy.deepcopy(original)
    if draw(st.booleans()):
        key = draw(st.sampled_from(_keys(document)))
        _retype_everywhere(document, key, draw(st.sampled_from(["a string", 7, [], [1], {}, None, True, {"x": 1}])))
        return json.dumps(document)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        if not path:
            document = draw(json_values)
            continue
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "string", "empty"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "string":
            parent[path[-1]] = draw(st.sampled_from(["", "x", "[bold]y[/]", "\x1b[31mz", "[[", "2027-02-30"]))
        elif action == "empty":
            parent[path[-1]] = draw(st.sampled_from([{}, [], None, 0, True]))
        else:
            parent[path[-1]] = draw(json_values)
    return json.dumps(document)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def contents(original: Any | None = None) -> st.SearchStrategy[bytes]:
    """Random bytes, random JSON, random YAML and (given a fixture) its mutations."""
    options = [
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        json_values.map(lambda v: yaml.safe_dump(v).encode()),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ]
    if original is not None:
        options += [mutations(original).map(str.encode)] * 3
    return st.one_of(options)


# Names a file can have on Linux: anything but "/" and NUL; these carry escapes, markup and line breaks.
file_names = st.one_of(
    st.sampled_from(["a.json", "[bold]x.json", "[red]", "\x1b[2J\x1b[31mred", "two\nlines", "tab\there", "ü.json"]),
    st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"]), min_size=1, max_size=30).filter(
        lambda name: name not in (".", "..")
    ),
)


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="entry-points-") as name:
        yield Path(name)


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


# --- fuzzing each entry point ------------------------------------------------------------------------

STATE_DOC, PREVIEW_DOC, ARM_DOC, RESULTS_DOC = _load(STATE), _load(PREVIEW), _load(ARM), _load(SAMPLE_RESULTS)
INPUT_FIXTURES = {"pulumi-state": STATE_DOC, "pulumi-preview": PREVIEW_DOC, "arm": ARM_DOC}


@pytest.mark.parametrize("source", ["pulumi-state", "pulumi-preview", "arm"])
@FUZZ
@given(data=st.data())
def test_fuzz_audit_input(source: str, data: st.DataObject) -> None:
    content = data.draw(contents(INPUT_FIXTURES[source]), label="content")
    name = data.draw(file_names, label="name")
    _count(f"audit --source {source} --input")
    with workdir() as tmp:
        path, out = write(tmp, name, content), tmp / "out"
        run = run_cli("audit", "--source", source, "--input", str(path), "--out", str(out), "--format", "json", "-q")
        assert_outcome(run, out, path)


@FUZZ
@given(data=st.data())
def test_fuzz_arm_parameters(data: st.DataObject) -> None:
    content = data.draw(contents(_load(ARM_PARAMETERS)), label="content")
    name = data.draw(file_names, label="name")
    _count("audit --source arm --parameters")
    with workdir() as tmp:
        path, out = write(tmp, name, content), tmp / "out"
        run = run_cli(
            "audit", "--source", "arm", "--input", str(ARM), "--parameters", str(path), "--out", str(out), "-q",
            "--format", "json",
        )  # fmt: skip
        # A parameter of the wrong type is reported where the template uses it (the template is named then).
        assert_outcome(run, out, path if str(ARM) not in run.err else ARM)


WAIVERS = {
    "waivers": [
        {
            "check": "webapp_https_only",
            "resource": "*/Microsoft.Web/sites/*",
            "justification": "ticket SEC-1",
            "expires": "2027-01-31",
            "owner": "IT security",
        }
    ]
}
ATTESTATIONS = {
    "attestations": [
        {
            "claim": "REC-TAX-ADVISORS",
            "owner": "DPO",
            "date": "2026-03-01",
            "document": "DPA-2026-014",
            "sha256": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
            "expires": "2027-03-01",
        }
    ]
}


@pytest.mark.parametrize(("option", "original"), [("--waivers", WAIVERS), ("--attestations", ATTESTATIONS)])
@FUZZ
@given(data=st.data())
def test_fuzz_waivers_and_attestations(option: str, original: Any, data: st.DataObject) -> None:
    content = data.draw(
        st.one_of(contents(original), mutations(original).map(lambda t: yaml.safe_dump(json.loads(t)).encode())),
        label="content",
    )
    name = data.draw(file_names, label="name")
    _count(f"audit {option}")
    with workdir() as tmp:
        path, out = write(tmp, name, content), tmp / "out"
        run = run_cli(
            "audit", "--source", "pulumi-state", "--input", str(STATE), option, str(path), "--out", str(out), "-q",
            "--format", "json", "--today", "2026-06-01",
        )  # fmt: skip
        assert_outcome(run, out, path)


@settings(FUZZ, max_examples=max(8, EXAMPLES // 3))
@given(data=st.data())
def test_fuzz_synth_stack_config(data: st.DataObject) -> None:
    """The stack config of ``--source synth`` (a valid one runs the program: about a second, so fewer examples)."""
    original = yaml.safe_load(DEV_STACK.read_text(encoding="utf-8"))
    content = data.draw(
        st.one_of(contents(), mutations(original).map(lambda t: yaml.safe_dump(json.loads(t)).encode())),
        label="content",
    )
    name = data.draw(file_names, label="name")
    _count("audit --source synth --input")
    with workdir() as tmp:
        path, out = write(tmp, name, content), tmp / "out"
        run = run_cli("audit", "--input", str(path), "--out", str(out), "--format", "json", "-q")
        assert_outcome(run, out, path)


@settings(FUZZ, max_examples=max(8, EXAMPLES // 3))
@given(data=st.data())
def test_fuzz_render_config(data: st.DataObject) -> None:
    original = yaml.safe_load(DEV_STACK.read_text(encoding="utf-8"))
    content = data.draw(
        st.one_of(contents(), mutations(original).map(lambda t: yaml.safe_dump(json.loads(t)).encode())),
        label="content",
    )
    name = data.draw(file_names, label="name")
    _count("python -m infra.render --config")
    with workdir() as tmp:
        path = write(tmp, name, content)
        run = run_render("--stack", "dev", "--config", str(path), "--json")
        assert run.code in (0, 2), run.err
        if run.code == 2:
            assert_one_error_line(run)  # the file is named relative to the repository when inside it
            assert run.out == ""


@FUZZ
@given(data=st.data())
def test_fuzz_claims_results(data: st.DataObject) -> None:
    content = data.draw(contents(RESULTS_DOC), label="content")
    name = data.draw(file_names, label="name")
    _count("claims --results")
    with workdir() as tmp:
        path = write(tmp, name, content)
        run = run_cli("claims", "--results", str(path))
        assert run.code in (0, 2), run.err
        if run.code == 2:
            assert_one_error_line(run, path)
        else:
            assert "\x1b" not in run.out and not run.err


@FUZZ
@given(data=st.data())
def test_fuzz_verify_report(data: st.DataObject, report_dir: Path) -> None:
    """A real report with its manifest (or checksum) replaced by hostile content, under a hostile name."""
    target = data.draw(st.sampled_from(["manifest.json", "manifest.sha256", "results.json"]), label="target")
    manifest = _load(report_dir / "manifest.json")
    content = data.draw(contents(manifest), label="content")
    name = data.draw(file_names, label="name")
    _count("verify-report")
    with workdir() as tmp:
        copy_dir = tmp / name
        _copy_tree(report_dir, copy_dir)
        (copy_dir / target).write_bytes(content)
        run = run_cli("verify-report", str(copy_dir))
        assert run.code in (1, 2), run.err
        if run.code == 2:
            assert_one_error_line(run, copy_dir)
        else:
            assert run.out.startswith("TAMPERED") and "\x1b" not in run.out


@FUZZ
@given(data=st.data())
def test_fuzz_export_arm(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(["pulumi-state", "pulumi-preview", "arm"]), label="source")
    content = data.draw(contents(INPUT_FIXTURES[source]), label="content")
    name = data.draw(file_names, label="name")
    _count("export-arm")
    with workdir() as tmp:
        path, out = write(tmp, name, content), tmp / "template.json"
        run = run_cli("export-arm", "--source", source, "--input", str(path), "--out", str(out))
        assert run.code in (0, 2), run.err
        if run.code == 2:
            assert_one_error_line(run, path)
            assert not out.exists()
        else:
            assert isinstance(_load(out), dict)


@FUZZ
@given(
    argv=st.lists(st.text(max_size=12) | st.sampled_from(["--source", "--input", "--out", "-q", "audit"]), max_size=5)
)
def test_fuzz_command_lines(argv: list[str]) -> None:
    """Random words after each command: a usage error (64) or a one-line input error (2), never a traceback."""
    _count("command lines")
    with workdir() as tmp, contextlib.chdir(tmp):
        for command in (["explain"], ["claims"], ["verify-report"], ["audit", "--source", "arm"], ["export-arm"]):
            run = run_cli(*command, *argv)
            assert run.code in (0, 1, 2, 64), run.err
            if run.code in (2, 64) and run.error_lines:
                assert_one_error_line(run, usage=run.code == 64)
        assert not (tmp / "reports").exists() or all(
            (p / "results.json").is_file() or set(os.listdir(p)) <= {INVALID_NAME} for p in (tmp / "reports").iterdir()
        )


# --- the defects, one by one -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "state"
    run = run_cli("audit", "--source", "pulumi-state", "--input", str(STATE), "--out", str(out), "-q")
    assert run.code in (0, 1, 2) and not run.error_lines, run.err
    return out


def _copy_tree(source: Path, target: Path) -> None:
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())


def test_claims_results_bad_json_and_shape(tmp_path: Path) -> None:
    for content, place in (("{", "line 1, column 2"), ('{"claims": 5}', "$"), ("[]", "")):
        path = write(tmp_path, "results.json", content.encode())
        run = run_cli("claims", "--results", str(path))
        assert run.code == 2
        line = assert_one_error_line(run, path)
        assert place in line


def test_claims_results_shows_strings_literally(tmp_path: Path) -> None:
    document = _load(SAMPLE_RESULTS)
    document["claims"][0]["verdict"] = "[bold red]PASS\x1b[2J"
    path = write(tmp_path, "results.json", json.dumps(document).encode())
    run = run_cli("claims", "--results", str(path))
    assert run.code == 2  # not a verdict: refused before anything is shown
    line = assert_one_error_line(run, path)
    assert "$.claims[0].verdict" in line and "\x1b" not in line and "\\x1b" in line

    valid = run_cli("claims", "--results", str(SAMPLE_RESULTS))
    assert valid.code == 0 and not valid.err
    verdicts = {c["id"]: c["verdict"] for c in _load(SAMPLE_RESULTS)["claims"]}
    row = next(line for line in valid.out.splitlines() if "RIGHTS-COMPLAINT" in line)
    assert verdicts["RIGHTS-COMPLAINT"] in row


def test_claims_results_file_name_is_terminal_safe(tmp_path: Path) -> None:
    path = write(tmp_path, "[red]\x1b[2J\nx.json", b"{")
    run = run_cli("claims", "--results", str(path))
    assert run.code == 2
    line = assert_one_error_line(run, path)
    assert "[red]\\x1b[2J\\nx.json" in line


@pytest.mark.parametrize(("option", "document", "place"), [
    ("--waivers", {"waivers": [{**WAIVERS["waivers"][0], "expires": "2027-02-30"}]}, "waivers[0].expires"),
    ("--attestations", {"attestations": [{**ATTESTATIONS["attestations"][0], "date": "2027-02-30"}]}, "attestations[0].date"),
])  # fmt: skip
@pytest.mark.parametrize("quoted", [False, True])
def test_impossible_date(tmp_path: Path, option: str, document: dict[str, Any], place: str, quoted: bool) -> None:
    text = yaml.safe_dump(document)
    if not quoted:  # unquoted, YAML itself takes 2027-02-30 for a timestamp
        text = text.replace("'2027-02-30'", "2027-02-30")
    path, out = write(tmp_path, "input.yaml", text.encode()), tmp_path / "out"
    run = run_cli("audit", "--source", "pulumi-state", "--input", str(STATE), option, str(path), "--out", str(out))
    assert run.code == 2
    line = assert_one_error_line(run, path)
    assert "2027-02-30" in line and (place in line or "line " in line)
    assert_no_report(out)


FILE_OPTIONS = [
    ["audit", "--source", "pulumi-state", "--input"],
    ["audit", "--source", "pulumi-preview", "--input"],
    ["audit", "--source", "arm", "--input"],
    ["audit", "--input"],  # synth's stack config
    ["audit", "--source", "arm", "--input", str(ARM), "--parameters"],
    ["audit", "--source", "pulumi-state", "--input", str(STATE), "--waivers"],
    ["audit", "--source", "pulumi-state", "--input", str(STATE), "--attestations"],
    ["claims", "--results"],
    ["export-arm", "--source", "arm", "--input"],
]


@pytest.mark.parametrize("argv", FILE_OPTIONS, ids=lambda a: " ".join(x for x in a if not x.startswith("/")))
@pytest.mark.parametrize("kind", ["loop", "missing", "directory", "through-a-file", "fifo"])
def test_unreadable_files(tmp_path: Path, argv: list[str], kind: str) -> None:
    path = tmp_path / "bad"
    if kind == "loop":
        path.symlink_to(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "through-a-file":
        (tmp_path / "file").write_text("{}")
        path = tmp_path / "file" / "bad"
    elif kind == "fifo":
        os.mkfifo(path)
    out = tmp_path / "out"
    extra = ["--out", str(out)] if argv[0] == "audit" else []
    run = run_cli(*argv, str(path), *extra)
    assert run.code == 2, run.err
    assert_one_error_line(run, path)
    assert_no_report(out)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_permission(tmp_path: Path) -> None:
    path = write(tmp_path, "state.json", STATE.read_bytes())
    path.chmod(0)
    run = run_cli("audit", "--source", "pulumi-state", "--input", str(path), "--out", str(tmp_path / "out"))
    assert run.code == 2
    assert "permission denied" in assert_one_error_line(run, path)


def _properties_as_string_state() -> Any:
    document = copy.deepcopy(STATE_DOC)
    for entry in document["deployment"]["resources"]:
        for section in ("inputs", "outputs"):
            if isinstance(entry.get(section), dict) and entry.get("custom"):
                entry[section]["properties"] = "a string"
    return document


def _properties_as_string_preview() -> Any:
    document = copy.deepcopy(PREVIEW_DOC)
    for step in document["steps"]:
        state = step.get("newState")
        for section in ("inputs", "outputs"):
            if isinstance(state, dict) and isinstance(state.get(section), dict):
                state[section]["properties"] = "a string"
    return document


def _properties_as_string_arm() -> Any:
    document = copy.deepcopy(ARM_DOC)
    for resource in document["resources"]:
        resource["properties"] = "a string"
    return document


@pytest.mark.parametrize(
    ("source", "build"),
    [
        ("pulumi-state", _properties_as_string_state),
        ("pulumi-preview", _properties_as_string_preview),
        ("arm", _properties_as_string_arm),
    ],
)
def test_properties_a_string_never_passes(tmp_path: Path, source: str, build: Callable[[], Any]) -> None:
    """``properties`` a string: an input error naming the place, or an audit whose checks are not PASS on it."""
    path, out = write(tmp_path, "input.json", json.dumps(build()).encode()), tmp_path / "out"
    run = run_cli("audit", "--source", source, "--input", str(path), "--out", str(out), "--format", "json", "-q")
    assert run.code == 2, run.err
    if run.error_lines:
        assert "properties" in assert_one_error_line(run, path)
        assert_no_report(out)
    else:
        results = _load(out / "results.json")
        assert results["summary"]["findings"]["ERROR"] > 0


def test_live_credential_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the credential raises (not an Azure error), the CLI says so in one line, exit 2, no report."""

    class Broken:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise RuntimeError("token cache corrupt\nsecond line \x1b[31m")

        def get_token_info(self, *scopes: str, **kwargs: Any) -> Any:
            raise RuntimeError("token cache corrupt\nsecond line \x1b[31m")

    monkeypatch.setattr("compliance_checks.live.credentials.make_credential", lambda settings: Broken())
    out = tmp_path / "out"
    run = run_cli(
        "audit", "--source", "live", "--subscription", "00000000-0000-0000-0000-000000000001",
        "--arm-endpoint", "https://127.0.0.1:9", "--graph-endpoint", "https://127.0.0.1:9",
        "--deadline", "5", "--out", str(out), "-q",
    )  # fmt: skip
    assert run.code == 2, run.err
    if run.error_lines:  # the collector may end the audit ...
        assert "RuntimeError" in assert_one_error_line(run)
        assert_no_report(out)
    else:  # ... or record every read as a gap: ERROR, never PASS
        assert _load(out / "results.json")["summary"]["claims"]["PASS"] == 0


def test_live_collector_crash_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(settings: Any, progress: Any) -> Any:
        raise KeyError("properties\n")

    monkeypatch.setattr("compliance_checks.live.audit.collect_live", crash)
    out = tmp_path / "out"
    run = run_cli(
        "audit", "--source", "live", "--subscription", "00000000-0000-0000-0000-000000000001", "--out", str(out), "-q"
    )
    assert run.code == 2
    line = assert_one_error_line(run)
    assert line.startswith("error: live collection failed: KeyError")
    assert_no_report(out)


def test_verify_report_input_errors(tmp_path: Path, report_dir: Path) -> None:
    missing = tmp_path / "missing"
    run = run_cli("verify-report", str(missing))
    assert run.code == 2 and "no such directory" in assert_one_error_line(run, missing)
    a_file = write(tmp_path, "file", b"x")
    run = run_cli("verify-report", str(a_file))
    assert run.code == 2 and "not a directory" in assert_one_error_line(run, a_file)
    odd = tmp_path / "odd"
    _copy_tree(report_dir, odd)
    (odd / "manifest.json").unlink()
    (odd / "manifest.json").mkdir()  # a manifest that cannot be read as a file
    run = run_cli("verify-report", str(odd))
    assert run.code == 2
    assert_one_error_line(run, odd / "manifest.json")
    assert_one_error_line(run_cli("verify-report"), usage=True)
    assert run_cli("verify-report").code == 64
    intact = run_cli("verify-report", str(report_dir))
    assert intact.code == 0, intact.out


def test_failed_audit_leaves_no_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_cli("audit", "--source", "pulumi-state", "--input", str(STATE), "--out", str(out), "-q")
    assert not first.error_lines and (out / "results.json").is_file()
    bad = write(tmp_path, "waivers.yaml", b"waivers: 5\n")
    run = run_cli(
        "audit", "--source", "pulumi-state", "--input", str(STATE), "--waivers", str(bad), "--out", str(out), "-q"
    )
    assert run.code == 2
    assert_one_error_line(run, bad)
    assert_no_report(out)
    invalid = (out / INVALID_NAME).read_text(encoding="utf-8")
    assert "failed" in invalid and str(bad) in invalid and invalid.count("\n") == 1
    verify = run_cli("verify-report", str(out))
    assert verify.code == 2 and "holds no valid report" in assert_one_error_line(verify, out)
    again = run_cli("audit", "--source", "pulumi-state", "--input", str(STATE), "--out", str(out), "-q")
    assert not again.error_lines and not (out / INVALID_NAME).exists()
    assert run_cli("verify-report", str(out)).code == 0


def test_interrupted_audit_leaves_no_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert not run_cli("audit", "--source", "arm", "--input", str(ARM), "--out", str(out), "-q").error_lines

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "evaluate", interrupted)
    run = run_cli("audit", "--source", "arm", "--input", str(ARM), "--out", str(out), "-q")
    assert run.code == 2 and "interrupted" in assert_one_error_line(run)
    assert_no_report(out)
    assert "KeyboardInterrupt" in (out / INVALID_NAME).read_text(encoding="utf-8")


def test_usage_error_touches_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert not run_cli("audit", "--source", "arm", "--input", str(ARM), "--out", str(out), "-q").error_lines
    before = sorted(p.name for p in out.iterdir())
    for argv in (
        ["--format", "docx"],
        ["--today", "2027-02-30"],
        ["--source", "arm"],
        ["--source", "pulumi-state", "--input", str(STATE), "--parameters", str(ARM_PARAMETERS)],
        ["--source", "live", "--input", str(STATE)],
        ["--stack", "../../etc/passwd"],
        ["--drift-from", "synth"],
    ):
        run = run_cli("audit", *argv, "--out", str(out), "-q")
        assert run.code == 64, (argv, run.err)
        assert_one_error_line(run, usage=True)
    assert sorted(p.name for p in out.iterdir()) == before


def test_out_that_is_not_a_report_is_never_replaced(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    run = run_cli("audit", "--source", "arm", "--input", str(ARM), "--out", str(precious), "-q")
    assert run.code == 2
    assert_one_error_line(run, precious)
    assert (precious / "thesis.tex").read_text() == "years of work" and len(list(precious.iterdir())) == 1
    a_file = write(tmp_path, "file", b"x")
    run = run_cli("audit", "--source", "arm", "--input", str(ARM), "--out", str(a_file), "-q")
    assert run.code == 2 and a_file.read_bytes() == b"x"
    assert_one_error_line(run, a_file)


def test_file_names_are_terminal_safe(tmp_path: Path) -> None:
    path = write(tmp_path, "evil\n\x1b[31m[bold]name.json", b"[1, 2]")
    out = tmp_path / "out"
    run = run_cli("audit", "--source", "arm", "--input", str(path), "--out", str(out))
    assert run.code == 2
    line = assert_one_error_line(run, path)
    assert "evil\\n\\x1b[31m[bold]name.json" in line
    assert all(line.isprintable() for line in run.err.splitlines())  # the progress line too
    assert_no_report(out)


def test_export_arm_cannot_write(tmp_path: Path) -> None:
    target = tmp_path / "dir"
    target.mkdir()
    run = run_cli("export-arm", "--source", "arm", "--input", str(ARM), "--out", str(target))
    assert run.code == 2
    assert_one_error_line(run, target)


def test_explain_hostile_id() -> None:
    run = run_cli("explain", "\x1b[2J[bold]x\ny")
    assert run.code == 64
    assert_one_error_line(run, usage=True)


def test_render_hostile_stack_and_config(tmp_path: Path) -> None:
    run = run_render("--stack", "../../etc/passwd")
    assert run.code == 64 and run.error_lines[0].startswith("usage error: --stack")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    run = run_render("--config", str(loop))
    assert run.code == 2
    assert_one_error_line(run, loop)
    dated = write(tmp_path, "Pulumi.x.yaml", b"config:\n  smart-portal:location: 2027-02-30\n")
    run = run_render("--config", str(dated))
    assert run.code == 2
    assert "2027-02-30" in assert_one_error_line(run)
    assert run_render("--stack", "nosuchstack").code == 2


# --- one table of sources ----------------------------------------------------------------------------


def test_cli_choices_follow_the_registry() -> None:
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert isinstance(commands, dict)
    choices = {
        name: next(a.choices for a in commands[name]._actions if a.dest == "source") for name in ("audit", "export-arm")
    }
    assert list(choices["audit"] or ()) == list(SOURCES)
    assert list(choices["export-arm"] or ()) == list(OFFLINE_SOURCES)
    assert tuple(n for n, s in SOURCES.items() if s.offline) == OFFLINE_SOURCES


def test_guide_lists_the_registry() -> None:
    guide = (REPO_ROOT / "docs" / "compliance-checks.md").read_text(encoding="utf-8")
    section = guide.split("## Sources\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\| `[a-z][a-z-]*`", line)]
    table = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]
    assert [row[0].split("`")[1] for row in table] == list(SOURCES)
    for row in table:
        name = row[0].split("`")[1]
        assert row[1] == SOURCES[name].description, name
        assert ("(default)" in row[0]) == (name == DEFAULT_SOURCE), name


def test_results_schema_lists_the_registry() -> None:
    schema = load_schema("results-1.0")
    assert schema["$defs"]["source"]["enum"] == [*SOURCES, *OTHER_ORIGINS]


def test_summary_shows_input_text_literally(tmp_path: Path) -> None:
    """Resource names from the input carry markup and escape sequences: the summary prints them as written."""
    document = copy.deepcopy(ARM_DOC)
    document["parameters"]["regionCode"]["defaultValue"] = "x[red]y\x1b[2J"
    path, out = write(tmp_path, "template.json", json.dumps(document).encode()), tmp_path / "out"
    run = run_cli(
        "audit", "--source", "arm", "--input", str(path), "--parameters", str(ARM_PARAMETERS), "--out", str(out),
        "--format", "json",
    )  # fmt: skip
    assert not run.error_lines, run.err
    assert "x[red]y\\x1b[2J" in run.out and "\x1b" not in run.out


def test_invalidate_removes_exactly_what_an_audit_writes() -> None:
    assert set(cli.FILE_NAMES.values()) == REPORT_FILES
