"""The package as a user installs it: the built wheel, in a fresh virtualenv, runs the main job and a probe.

What this proves, and how:

* **Every file the packages read ships in the wheel.** The wheel is built from a
  copy of the work tree's files (tracked and new, not ignored: what a clean
  checkout holds, so a stale ``build/`` cannot hide a missing package-data
  glob), and its listing is compared with the tree: every file under
  ``compliance_checks/``, ``infra/`` and ``policies/`` is in it, but the few
  :data:`NOT_SHIPPED` ones, each with its reason.
* **The wheel declares every import it makes.** Every third-party module the
  shipped code imports (at module level or inside a function; not the ones
  only type checkers read) belongs to a distribution the wheel's metadata
  requires, directly: base dependencies or the ``probes`` extra.
* **It runs from the virtualenv alone.** The virtualenv has no system site
  packages and gets only the runtime closure of the wheel's declared
  requirements (base + ``probes``), cut from requirements.lock with every hash
  (``--require-hashes``; pip takes the files from its cache or the registry),
  then the wheel itself with ``--no-deps``; ``pip check`` finds nothing
  missing. The installed ``compliance-checks`` then runs from a directory
  outside the repository, with no ``PYTHONPATH``: ``audit --source synth
  --stack dev`` (the main job: the Pulumi program and the dev stack's config
  are package data) gives the same claims and findings as the repository's
  own run, and one ``--probe`` of a local TLS portal, with ``--chromium``,
  passes every probe check.

Under ``CI=true`` nothing here skips: a missing Chromium fails the test.
"""

from __future__ import annotations

import ast
import email
import functools
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from infra.synth import REPO_ROOT
from policies.publish import closure, normalize, parse_lock, render_requirements

from .conftest import CHROMIUM, require_chromium
from .test_cli_probes import PROBE_CHECKS, site  # noqa: F401 - fixture
from .test_probes_http_browser import RESOLVER_RULES, Site, closed_port  # noqa: F401 - fixture

PACKAGES = ("compliance_checks", "infra", "policies")
PROJECT = "smart-portal-compliance"
RUNTIME_EXTRAS = ("probes",)
# The locked distributions' files, kept between runs (build/ is ignored by git): this machine's pip keeps no
# HTTP cache of them, and a fresh checkout (CI) fetches them once. Every install checks the lock's hashes.
WHEELHOUSE = REPO_ROOT / "build" / "wheelhouse"

# Files under the packages that nothing reads at run time, so the wheel leaves them out.
NOT_SHIPPED: Mapping[str, str] = {
    "compliance_checks/report/schemas/README.md": "documents the schemas for people; nothing reads it",
    "policies/PulumiPolicy.yaml": "the in-repository pack's manifest for the Pulumi CLI (make policy-pack builds the published one)",
    "policies/checkov/requirements.in": "the separate checkov virtualenv's input (make checkov-env), not the package's",
    "policies/checkov/requirements.lock": "the separate checkov virtualenv's pins (make checkov-env), not the package's",
}
# Modules the shipped code imports that the package itself never loads: checkov loads the custom checks
# in policies/checkov/checks from its own virtualenv (compliance_checks/checkov_bridge.py).
FOREIGN_IMPORTS: Mapping[str, str] = {"checkov": "policies/checkov/checks/"}


def _run(args: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600) -> Any:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _ok(result: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


@functools.cache
def _tree_files() -> tuple[str, ...]:
    """The work tree's files as a clean checkout would hold them: tracked, plus new files not ignored."""
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.fail("the wheel is built from the repository's files: needs git and a checkout")
    listed = _ok(
        _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT), "git ls-files"
    )
    return tuple(sorted(f for f in listed.stdout.split("\0") if f and (REPO_ROOT / f).is_file()))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in _tree_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    # No build isolation: setuptools comes from the project's own virtualenv (pinned in requirements.lock).
    _ok(
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                str(dist),
                ".",
            ],
            cwd=source,
        ),
        "pip wheel",
    )
    (built,) = dist.glob("*.whl")
    return built


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def runtime_requirements(wheel: Path) -> list[str]:
    """The distributions the wheel requires at run time: its base requirements and those of the runtime extras."""
    names = []
    for requirement in _metadata(wheel).get_all("Requires-Dist") or []:
        name, _, marker = requirement.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if extra is not None and extra[1] not in RUNTIME_EXTRAS:
            continue
        distribution = normalize(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", name)[1])  # type: ignore[index]
        if distribution != PROJECT:
            names.append(distribution)
    return sorted(set(names))


def _clean_env(venv: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # A synthesis cache of the test's own, empty at first: the installed package runs the Pulumi program
    # itself, never reuses an inventory an earlier run left in ~/.cache (sources/synth_cache.py).
    env["COMPLIANCE_CHECKS_CACHE_DIR"] = str(cache)
    env.update(NO_COLOR="1", COLUMNS="200")
    return env


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv holding the wheel and the locked runtime closure of what it declares, nothing else."""
    work = tmp_path_factory.mktemp("venv")
    venv = work / "venv"
    started = time.monotonic()
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work), "python -m venv")
    lock = REPO_ROOT / "requirements.lock"
    requirements = work / "runtime-requirements.txt"
    requirements.write_text(
        render_requirements(closure(parse_lock(lock), runtime_requirements(wheel), lock), lock.name), encoding="utf-8"
    )
    # The project's pip installs into the new environment (`--python`): the virtualenv itself needs no pip.
    # No byte-compiling at install: Python compiles what it imports; compiling all of pulumi-azure-native
    # would double the install time.
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    install = [*pip, "install", "--quiet", "--no-compile", "--no-index"]
    closure_install = [*install, "--find-links", str(WHEELHOUSE), "--require-hashes", "-r", str(requirements)]
    if _run(closure_install, cwd=work).returncode != 0:  # a file missing here: fetch the lock's files once
        fetch = [sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes", "-r", str(requirements)]
        _ok(_run([*fetch, "--dest", str(WHEELHOUSE)], cwd=work), "pip download of the runtime closure")
        _ok(_run(closure_install, cwd=work), "the runtime closure")
    _ok(_run([*install, "--no-deps", str(wheel)], cwd=work), "the wheel")
    _ok(_run([*pip, "check"], cwd=work), "pip check")
    print(f"fresh virtualenv with the wheel: {time.monotonic() - started:.1f} s")
    try:
        yield venv
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # hundreds of MB; pytest keeps recent temporary directories


# --- what the wheel holds and declares -----------------------------------------------------------


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {n for n in archive.namelist() if not n.endswith("/")}


def test_the_wheel_ships_every_file_the_packages_read(wheel: Path) -> None:
    shipped = _wheel_names(wheel)
    under_packages = [f for f in _tree_files() if f.split("/", 1)[0] in PACKAGES]
    expected = {f for f in under_packages if f not in NOT_SHIPPED}
    assert expected - shipped == set(), "not in the wheel (pyproject.toml [tool.setuptools.package-data])"
    assert {f for f in shipped if f.split("/", 1)[0] in PACKAGES} - expected == set()  # nothing from elsewhere
    for name in NOT_SHIPPED:  # the exceptions name files that exist and stay out
        assert name in under_packages and name not in shipped, name
    # The data the issue names, and the program's stack configs `--source synth` needs.
    assert {
        "compliance_checks/data/trackers.json",
        "compliance_checks/catalog/claims.yaml",
        "compliance_checks/report/schemas/results-1.0.json",
        "infra/data/well_known_ids.json",
        "infra/stacks/Pulumi.dev.yaml",
        "infra/stacks/Pulumi.prod.yaml",
    } <= shipped


def _runtime_imports(source: str) -> Iterator[str]:
    """Absolute imports of a module's code, but those under ``if TYPE_CHECKING:`` (only type checkers read them)."""
    tree = ast.parse(source)
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@functools.cache
def _owners() -> dict[str, set[str]]:
    """Module prefix (``a`` and ``a.b``) -> the distributions that install files under it, in this environment."""
    owners: dict[str, set[str]] = {}
    for distribution in importlib.metadata.distributions():
        name = normalize(distribution.metadata["Name"])
        for file in distribution.files or ():
            parts = PurePosixPath(str(file)).with_suffix("").parts
            if not parts or parts[0].endswith((".dist-info", ".data")) or parts[0] in {"..", "__pycache__"}:
                continue
            for depth in (1, 2):
                if len(parts) >= depth and ".pth" not in parts[depth - 1]:
                    owners.setdefault(".".join(parts[:depth]), set()).add(name)
    return owners


def _distribution_of(module: str) -> set[str]:
    parts = module.split(".")
    top = _owners().get(parts[0], set())
    if len(top) <= 1 or len(parts) == 1:
        return top
    return _owners().get(".".join(parts[:2]), top)  # a namespace package (azure.*): the sub-package decides


def test_the_wheel_declares_every_third_party_module_it_imports(wheel: Path) -> None:
    declared = set(runtime_requirements(wheel))
    assert {"playwright", "sslyze", "pulumi", "jsonschema"} <= declared  # the probes extra counts; not vacuous
    undeclared: dict[str, set[str]] = {}
    seen: set[str] = set()
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.endswith(".py"):
                continue
            for module in _runtime_imports(archive.read(name).decode("utf-8")):
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in PACKAGES or top == "__future__":
                    continue
                if top in FOREIGN_IMPORTS and name.startswith(FOREIGN_IMPORTS[top]):
                    continue
                owners = _distribution_of(module)
                assert owners, f"{name}: imports {module}, which no installed distribution provides"
                seen |= owners
                if not owners & declared:
                    undeclared.setdefault(f"{module} ({', '.join(sorted(owners))})", set()).add(name)
    assert not undeclared, f"imported but not required by the wheel (pyproject.toml dependencies): {undeclared}"
    assert {"pulumi-azure-native", "rich", "pyyaml", "azure-core"} <= seen


# --- what the installed package does ------------------------------------------------------------


def _audit(
    command: list[str], out: Path, *, cwd: Path, env: Mapping[str, str], extra: tuple[str, ...] = ()
) -> tuple[int, dict[str, Any]]:
    result = _run(
        [*command, "audit", "--source", "synth", "--stack", "dev", "--out", str(out), "--quiet", *extra],
        cwd=cwd,
        env=env,
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert (out / "results.json").is_file(), f"exit {result.returncode}, no report:\n{result.stderr[-3000:]}"
    results: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["exitCode"] == result.returncode
    return result.returncode, results


def _outcome(results: Mapping[str, Any]) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    claims = {c["id"]: c["verdict"] for c in results["claims"]}
    findings = sorted((f["checkId"], f["resourceId"], f["verdict"]) for f in results["findings"])
    return claims, findings


def test_the_installed_package_runs_the_main_job_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _clean_env(installed, tmp_path / "synth-cache")
    where = _ok(
        _run(
            [
                str(installed / "bin" / "python"),
                "-c",
                "import compliance_checks, infra; print(compliance_checks.__file__)",
            ],
            cwd=elsewhere,
            env=env,
        ),
        "import",
    )
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout  # the wheel's copy, not the checkout

    assert not (tmp_path / "synth-cache").exists()  # a cold run: the program itself is synthesized
    code, results = _audit(
        [str(installed / "bin" / "compliance-checks")], elsewhere / "reports", cwd=elsewhere, env=env
    )
    for name in ("results.json", "results.sarif", "report.md", "report.html", "manifest.json"):
        assert (elsewhere / "reports" / name).is_file(), name
    assert code in (0, 1), results["summary"]  # 2 would mean something could not be verified: a missing file, say
    repo_env = {**os.environ, "NO_COLOR": "1"}
    repo_code, repo_results = _audit(
        [sys.executable, "-m", "compliance_checks"], tmp_path / "repo-reports", cwd=REPO_ROOT, env=repo_env
    )
    assert (code, _outcome(results)) == (repo_code, _outcome(repo_results))

    rendered = _run([str(installed / "bin" / "smart-portal-render"), "--stack", "dev"], cwd=elsewhere, env=env)
    assert rendered.returncode == 0 and "resources" in rendered.stdout, rendered.stderr[-2000:]


def test_the_installed_package_probes_a_local_portal(
    installed: Path,
    site: Site,  # noqa: F811 - fixture
    closed_port: int,  # noqa: F811 - fixture
    tmp_path: Path,
) -> None:
    require_chromium()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _clean_env(installed, tmp_path / "synth-cache")
    env.pop("COMPLIANCE_CHROMIUM", None)
    probe = (
        "--format", "json",
        "--probe", site.url("/clean"), "--probe-http-url", site.redirect_url("/clean"), "--probe-ca", str(site.cert),
        "--database", f"127.0.0.1:{closed_port}", "--host-resolver-rules", RESOLVER_RULES,
        "--chromium", str(CHROMIUM), "--probe-depth", "0", "--probe-max-pages", "3", "--probe-settle", "0.5",
    )  # fmt: skip
    code, results = _audit(
        [str(installed / "bin" / "compliance-checks")], elsewhere / "probed", cwd=elsewhere, env=env, extra=probe
    )
    found = {f["checkId"]: f["verdict"] for f in results["findings"] if f["checkId"] in PROBE_CHECKS}
    assert found == dict.fromkeys(PROBE_CHECKS, "PASS"), found
    assert code in (0, 1), results["summary"]
