"""The published form of the policy pack (policies/publish.py, ``make policy-pack``).

The slow test does what happens to a published pack: the directory is archived
as ``pulumi policy publish`` archives it, extracted as the CLI extracts it where
the pack is enforced, given a FRESH virtualenv installed the way the CLI's
Python toolchain installs one (``python3 -m venv venv``; ``pip install --upgrade
pip setuptools wheel``; ``pip install -r requirements.txt`` in the pack
directory; sources in policies/publish.py's docstring), and started the way the
CLI starts a Python pack (tests/support/analyzer.py) to answer GetAnalyzerInfo
and an Analyze exactly as the in-repo pack does.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format  # type: ignore[import-untyped]  # protobuf ships no stubs for it

from infra.synth import REPO_ROOT
from policies import publish

from .conftest import missing_prerequisite, synth_cached
from .support import analyzer

PYPROJECT = REPO_ROOT / "pyproject.toml"
LOCK = REPO_ROOT / "requirements.lock"


def project_version() -> str:
    version = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    assert isinstance(version, str)
    return version


def run_publish(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policies.publish", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("publish") / "policy-pack"
    result = run_publish("--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def requirement_blocks(text: str) -> dict[str, tuple[str, list[str]]]:
    """``name -> (requirement line, hashes)`` of a hashed requirements file; options and comments skipped."""
    blocks: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line.startswith("--"):
            continue
        if not line[0].isspace():
            requirement = line.rstrip(" \\")
            current = publish.normalize(requirement.split("==", 1)[0])
            assert current not in blocks, f"{current} twice"
            blocks[current] = (requirement, [])
        else:
            blocks[current][1].append(line.strip().rstrip(" \\").removeprefix("--hash="))
    return blocks


# --- the in-repo pack ---------------------------------------------------------------


def test_the_in_repo_pack_declares_the_project_version() -> None:
    local = yaml.safe_load((REPO_ROOT / "policies" / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert local["version"] == project_version()
    # Local use is unchanged: the pack runs from the project's .venv.
    assert local["runtime"] == {"name": "python", "options": {"virtualenv": "../.venv"}}


# --- the built directory ------------------------------------------------------------


def test_the_built_pack_declares_the_project_version_and_its_own_virtualenv(built: Path) -> None:
    project = yaml.safe_load((built / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert project["version"] == project_version()
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    main = (built / "__main__.py").read_text(encoding="utf-8")
    assert "import sys" not in main and "sys.path.insert" not in main  # no path manipulation
    assert "from policies.pack import" in main
    # Everything the pack imports of the project is inside the directory, build tooling is not.
    for module in ("policies/pack.py", "compliance_checks/checks/base.py", "infra/azure_types.py"):
        assert (built / module).is_file(), module
    assert not (built / "policies" / "publish.py").exists()
    assert not (built / "policies" / "checkov").exists()
    assert (built / "compliance_checks" / "catalog").is_dir()


def test_requirements_are_the_lock_s_own_pins_and_hashes(built: Path) -> None:
    pinned = requirement_blocks((built / "requirements.txt").read_text(encoding="utf-8"))
    locked = requirement_blocks(LOCK.read_text(encoding="utf-8"))
    assert "--require-hashes" in (built / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert {"pulumi", "pulumi-policy", "pyyaml", "grpcio", "protobuf"} <= set(pinned)
    for name, (requirement, hashes) in pinned.items():
        assert name in locked, name
        assert requirement == locked[name][0]
        assert hashes == locked[name][1] and hashes
    # Only the pack's closure: the audit CLI's and the tests' dependencies stay out.
    for absent in ("sslyze", "azure-identity", "rich", "pytest", "mypy", "playwright", "pulumi-azuread"):
        assert absent in locked and absent not in pinned, absent


def test_the_closure_covers_every_distribution_the_pack_imports(built: Path) -> None:
    # What the pack really imports when it builds its policies, mapped to distributions.
    probe = (
        "import json, sys, importlib.metadata as md\n"
        "import policies.pack as pack\n"
        "pack.build_policies()\n"
        "names = md.packages_distributions()\n"
        "tops = {m.split('.')[0] for m in list(sys.modules)}\n"
        "print(json.dumps(sorted({d for t in tops if t not in sys.stdlib_module_names for d in names.get(t, [])})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    imported = {publish.normalize(d) for d in json.loads(result.stdout)} - {publish.PROJECT_NAME}
    pinned = set(requirement_blocks((built / "requirements.txt").read_text(encoding="utf-8")))
    assert {"pulumi", "pulumi-policy"} <= imported
    assert imported <= pinned, f"imported but not in requirements.txt: {sorted(imported - pinned)}"


def test_building_twice_gives_the_same_directory(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert run_publish("--out", str(again)).returncode == 0
    assert run_publish("--out", str(again)).returncode == 0  # replaces its own previous build

    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert tree(again) == tree(built)


# --- bad input ----------------------------------------------------------------------


def test_help() -> None:
    result = run_publish("--help")
    assert result.returncode == 0
    assert "requirements.lock" in result.stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_missing_lock_is_one_line_naming_it(tmp_path: Path) -> None:
    line = one_line_error(run_publish("--out", str(tmp_path / "out"), "--lock", str(tmp_path / "nope.lock")))
    assert "nope.lock: cannot read" in line
    assert not (tmp_path / "out").exists()


def test_a_lock_entry_without_hashes_is_refused_naming_the_line(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    text = LOCK.read_text(encoding="utf-8")
    # pyyaml's pin with its hashes removed
    lock.write_text(re.sub(r"(?m)^(pyyaml==\S+) \\\n(?:    --hash=\S+(?: \\)?\n)+", r"\1\n", text), encoding="utf-8")
    number = next(i for i, line in enumerate(lock.read_text().splitlines(), 1) if line.startswith("pyyaml=="))
    line = one_line_error(run_publish("--out", str(tmp_path / "out"), "--lock", str(lock)))
    assert f"requirements.lock:{number}: pyyaml==" in line and "no --hash" in line


def test_a_pack_dependency_missing_from_the_lock_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    text = LOCK.read_text(encoding="utf-8")
    lock.write_text(re.sub(r"(?m)^pulumi-policy==\S+ \\\n(?:    .*\n)+", "", text), encoding="utf-8")
    line = one_line_error(run_publish("--out", str(tmp_path / "out"), "--lock", str(lock)))
    assert "pulumi-policy: not pinned" in line


def test_a_pyproject_without_a_version_is_refused(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        re.sub(r'(?m)^version = ".*"\n', 'dynamic = ["version"]\n', PYPROJECT.read_text(encoding="utf-8")),
        encoding="utf-8",
    )
    line = one_line_error(run_publish("--out", str(tmp_path / "out"), "--pyproject", str(pyproject)))
    assert "pyproject.toml: project.version: not set" in line


def test_a_directory_it_did_not_build_is_never_replaced(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    line = one_line_error(run_publish("--out", str(foreign)))
    assert "refusing to replace it" in line
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"


# --- published, installed and started as the CLI does --------------------------------


def cli_archive(pack_dir: Path) -> bytes:
    """``archive.TGZ(pack_dir, "package", true)`` (sdk/go/common/util/archive/archive.go, commit a8ea363df970).

    Every regular file, symlinks followed, under ``package/``; ``.git`` and
    what a ``.gitignore`` excludes are left out. Only the ``.gitignore`` forms
    the generator writes (``name/``: that directory anywhere) are emulated; any
    other form fails the test rather than being guessed at.
    """
    ignored_dirs: set[str] = {".git"}
    for gitignore in pack_dir.rglob(".gitignore"):
        assert gitignore.parent == pack_dir, f"{gitignore}: nested .gitignore not emulated"
        for line in gitignore.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            assert re.fullmatch(r"[A-Za-z0-9_.-]+/", line), f".gitignore pattern {line!r} not emulated"
            ignored_dirs.add(line.rstrip("/"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(pack_dir.rglob("*")):
            relative = path.relative_to(pack_dir)
            if any(part in ignored_dirs for part in relative.parts[:-1]) or not path.is_file():
                continue
            tar.add(path.resolve(), arcname=f"package/{relative.as_posix()}", recursive=False)
    return buffer.getvalue()


def comparable(message: Any) -> Any:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def test_the_archive_holds_the_pack_and_leaves_a_local_venv_out(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pack"
    shutil.copytree(built, copy)
    (copy / "venv" / "bin").mkdir(parents=True)
    (copy / "venv" / "bin" / "python").write_text("not uploaded", encoding="utf-8")
    (copy / "policies" / "__pycache__").mkdir()
    (copy / "policies" / "__pycache__" / "pack.cpython-311.pyc").write_bytes(b"x")
    with tarfile.open(fileobj=io.BytesIO(cli_archive(copy)), mode="r:gz") as tar:
        names = set(tar.getnames())
    assert {"package/PulumiPolicy.yaml", "package/__main__.py", "package/requirements.txt"} <= names
    assert "package/policies/pack.py" in names
    assert not any("/venv/" in n or "__pycache__" in n for n in names)


def test_the_published_pack_installs_in_a_fresh_virtualenv_and_starts(built: Path, tmp_path: Path) -> None:
    python3 = shutil.which("python3")  # the CLI runs `python3 -m venv` (toolchain/pip.go CommandPath)
    if python3 is None:
        missing_prerequisite("python3 is not on PATH", "install Python 3.11+")
    check = subprocess.run(
        [python3, "-c", "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"], check=False
    )
    if check.returncode != 0:
        missing_prerequisite(f"{python3} is older than 3.11 or has no venv/ensurepip", "install python3-venv 3.11+")

    archive = tmp_path / "pack.tgz"
    archive.write_bytes(cli_archive(built))
    installed = tmp_path / "installed"
    with tarfile.open(archive, mode="r:gz") as tar:
        tar.extractall(installed, filter="data")
    pack_dir = installed / "package"
    project = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    venv = pack_dir / project["runtime"]["options"]["virtualenv"]
    print(f"archive: {archive.stat().st_size / 1e6:.1f} MB")

    timings: dict[str, float] = {}

    def step(name: str, args: list[str]) -> None:
        started = time.monotonic()
        result = subprocess.run(args, cwd=pack_dir, capture_output=True, text=True, timeout=1800, check=False)
        timings[name] = time.monotonic() - started
        assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"

    step("venv", [python3, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    step("pip, setuptools, wheel", [*pip, "--upgrade", "pip", "setuptools", "wheel"])
    step("requirements.txt", [*pip, "-r", "requirements.txt"])
    print("fresh install: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))

    published = analyzer.start_pack(workdir=tmp_path, pack_dir=pack_dir)
    local_dir = tmp_path / "local"
    local_dir.mkdir()
    local = analyzer.start_pack(workdir=local_dir)
    try:
        print(f"published pack started in {published.startup_seconds:.2f} s")
        info = published.info()
        assert info.name == "smart-portal-privacy"
        assert comparable(info) == comparable(local.info())

        synthesis = synth_cached("dev")
        webapp = synthesis.one("azure-native:web:WebApp")
        broken = dataclasses.replace(webapp, inputs={**dict(webapp.inputs), "httpsOnly": False})
        request = analyzer.analyze_request(synthesis, broken)
        answer = published.analyze(request)
        assert [(d.policyName, d.urn) for d in analyzer.mandatory(answer)] == [("portal-https-tls-floor", webapp.urn)]
        assert comparable(answer) == comparable(local.analyze(request))
    finally:
        codes = (published.close(), local.close())
        shutil.rmtree(venv)  # ~440 MB; pytest keeps the temporary directories of recent runs
    assert codes == (0, 0), published.stderr()[-2000:]
