"""The GitHub Actions workflows are valid, run only what the project has, and log in to Azure without secrets.

* every workflow validates against the GitHub workflow schema (shipped offline with
  check-jsonschema), and a deliberately broken copy does not, so the check can fail;
* every ``make`` target exists in the Makefile, every ``compliance-checks`` subcommand and
  option exists in the CLI's own ``--help``, every stack has its config file, every file a
  step consumes is either committed or produced by an earlier step of the same job;
* Azure is reached by OIDC only: no client secret anywhere, ``id-token: write`` wherever
  a job logs in or attests, and write permissions only in the jobs that use them;
* every report bundle an audit writes is attested (``actions/attest-build-provenance``,
  keyless) after the audit that writes it, in a job allowed to do so;
* the prod deployment runs behind the ``production`` environment, one at a time;
* docs/ci-workflows.md names every workflow, variable and secret the workflows use.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance_checks.cli import FILE_NAMES
from infra.synth import REPO_ROOT, STACKS_DIR

WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.y*ml"))
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
MAKEFILE = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
GUIDE = REPO_ROOT / "docs" / "ci-workflows.md"

# Shell words that end one simple command and may start the next.
OPERATORS = {"&&", "||", ";", "|", "&", "(", ")", ">", ">>", "<", "2>", "&>"}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = workflow["jobs"]
    assert isinstance(found, dict)
    return found


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found = job.get("steps", [])
    assert isinstance(found, list)
    return found


def uses(step: dict[str, Any]) -> str:
    return str(step.get("uses", ""))


def azure_login_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in steps(job) if uses(step).lower().startswith("azure/login@")]


ATTEST_ACTION = "actions/attest-build-provenance"


def attest_steps(job: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(index, step) for index, step in enumerate(steps(job)) if uses(step).split("@")[0] == ATTEST_ACTION]


def all_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in WORKFLOWS:
        for name, job in jobs(load(path)).items():
            yield path.name, name, job


@dataclass(frozen=True)
class Command:
    workflow: str
    job: str
    step: int
    words: tuple[str, ...]
    redirect: str | None  # the file stdout goes to, if any


def commands(script: str) -> Iterator[tuple[tuple[str, ...], str | None]]:
    """The simple commands of a bash script: their words and stdout redirection target."""
    script = script.replace("\\\n", " ")
    for line in script.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        redirect: str | None = None
        tokens = list(lexer)
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token in {">", ">>"}:
                redirect = tokens[index + 1] if index + 1 < len(tokens) else None
                index += 2
                continue
            if token in OPERATORS:
                if words:
                    yield tuple(words), redirect
                words, redirect = [], None
            else:
                words.append(token)
            index += 1
        if words:
            yield tuple(words), redirect


def run_commands() -> list[Command]:
    found: list[Command] = []
    for workflow, job_name, job in all_jobs():
        for index, step in enumerate(steps(job)):
            if "run" in step:
                for words, redirect in commands(str(step["run"])):
                    found.append(Command(workflow, job_name, index, words, redirect))
    return found


def after_sudo(words: tuple[str, ...]) -> tuple[str, ...]:
    return words[1:] if words and words[0] == "sudo" else words


def options(words: tuple[str, ...]) -> dict[str, str | None]:
    """``--option value`` / ``--option=value`` pairs (value None for a flag at the end)."""
    found: dict[str, str | None] = {}
    for index, word in enumerate(words):
        if word.startswith("--"):
            name, _, value = word.partition("=")
            if not value and index + 1 < len(words) and not words[index + 1].startswith("-"):
                value = words[index + 1]
            found[name] = value or None
    return found


@functools.cache
def cli_help(subcommand: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compliance_checks", subcommand, "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        check=False,
    )


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


# --- the workflows are valid -------------------------------------------------------------------


def test_the_three_workflows_exist() -> None:
    assert {path.name for path in WORKFLOWS} == {"pull-request.yml", "deploy.yml", "nightly-drift.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_validates_against_the_github_schema(path: Path) -> None:
    assert CHECK_JSONSCHEMA.exists(), f"{CHECK_JSONSCHEMA} missing: make setup installs check-jsonschema"
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def _misspell_on(text: str) -> str:
    broken = re.sub(r"^on:", "onn:", text, count=1, flags=re.MULTILINE)
    assert broken != text
    return broken


def _drop_runs_on(text: str) -> str:
    broken = re.sub(r"^\s+runs-on:.*\n", "", text, flags=re.MULTILINE)
    assert broken != text
    return broken


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
@pytest.mark.parametrize("breakage", [_misspell_on, _drop_runs_on], ids=["on-misspelled", "job-without-runs-on"])
def test_a_broken_copy_fails_validation(path: Path, breakage: Any, tmp_path: Path) -> None:
    broken = tmp_path / path.name
    broken.write_text(breakage(path.read_text(encoding="utf-8")), encoding="utf-8")
    result = validate(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Schema validation errors" in result.stdout + result.stderr


def test_every_action_is_pinned_to_a_major_version() -> None:
    for workflow, job_name, job in all_jobs():
        for step in steps(job):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+", uses(step)), (workflow, job_name, uses(step))


# --- the workflows run only what the project has -----------------------------------------------


def test_every_make_target_exists_in_the_makefile() -> None:
    targets: set[str] = set()
    for command in run_commands():
        words = after_sudo(command.words)
        if words and words[0] == "make":
            named = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
            assert named, f"{command.workflow}/{command.job}: bare `make`"
            targets.update(named)
    assert {"test", "setup", "browser"} <= targets  # the test is not vacuous
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", MAKEFILE, re.MULTILINE), f"make {target}: no such target"


def _compliance_checks_commands() -> list[Command]:
    return [c for c in run_commands() if c.words and c.words[0].endswith("compliance-checks")]


def test_every_compliance_checks_subcommand_and_option_exists() -> None:
    found = _compliance_checks_commands()
    assert len(found) >= 4, found  # offline, preview, post-deploy and nightly audits
    for command in found:
        assert command.words[0] == ".venv/bin/compliance-checks", command  # the console script `make setup` installs
        subcommand = command.words[1]
        result = cli_help(subcommand)
        assert result.returncode == 0, f"compliance-checks {subcommand}: {result.stderr}"
        for option in options(command.words):
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", result.stdout), (
                f"{command.workflow}/{command.job}: compliance-checks {subcommand} has no {option}"
            )


def test_compliance_checks_values_are_ones_the_cli_accepts() -> None:
    for command in _compliance_checks_commands():
        given = options(command.words)
        help_text = cli_help(command.words[1]).stdout
        if "--source" in given:
            choices = re.search(r"--source \{([^}]*)\}", help_text)
            assert choices is not None and given["--source"] in choices.group(1).split(","), command
        if "--stack" in given:
            assert (STACKS_DIR / f"Pulumi.{given['--stack']}.yaml").exists(), command


def test_the_script_named_in_run_steps_is_installed() -> None:
    for command in run_commands():
        first = after_sudo(command.words)[0]
        if first.startswith(".venv/bin/"):
            assert (REPO_ROOT / first).exists(), f"{first}: not in the virtualenv (pyproject.toml [project.scripts])"


def test_every_pulumi_stack_has_its_config_and_the_policy_pack_is_policies() -> None:
    stacks: set[str] = set()
    for command in run_commands():
        if command.words[0] != "pulumi" or command.words[1] == "login":
            continue
        given = options(command.words)
        assert given.get("--stack"), f"{command.workflow}/{command.job}: `pulumi {command.words[1]}` without --stack"
        stacks.add(str(given["--stack"]))
        if command.words[1] in {"preview", "up"}:
            # The pack is another part of the project; the path is the contract.
            assert given.get("--policy-pack") == "policies", command
    assert stacks == {"dev", "prod"}
    for stack in stacks:
        assert (STACKS_DIR / f"Pulumi.{stack}.yaml").exists(), stack
    assert (REPO_ROOT / "Pulumi.yaml").exists()


def test_a_preview_for_the_audit_lists_unchanged_resources() -> None:
    """`pulumi preview --json` writes a step for an unchanged resource only with --show-sames (pulumi/pulumi
    pkg/backend/display/json.go, ``shouldShow``); the pulumi-preview source refuses a preview without them."""
    previews = [c for c in run_commands() if c.words[:2] == ("pulumi", "preview") and "--json" in c.words]
    assert previews, "no `pulumi preview --json` in the workflows"
    for command in previews:
        assert "--show-sames" in command.words, f"{command.workflow}/{command.job}: {' '.join(command.words)}"


def test_every_input_file_is_produced_earlier_in_the_same_job() -> None:
    produced: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for command in run_commands():
        if command.redirect:
            produced.setdefault((command.workflow, command.job), []).append((command.step, command.redirect))
    for command in _compliance_checks_commands():
        source_input = options(command.words).get("--input")
        if source_input is None:
            continue
        earlier = {name for step, name in produced.get((command.workflow, command.job), []) if step < command.step}
        assert source_input in earlier, f"{command.workflow}/{command.job}: --input {source_input} is never written"


def _report_dirs(workflow: str, job: str) -> set[str]:
    return {
        str(options(c.words)["--out"])
        for c in _compliance_checks_commands()
        if (c.workflow, c.job) == (workflow, job) and "--out" in options(c.words)
    }


def test_every_report_a_step_publishes_is_one_the_audit_writes() -> None:
    published = 0
    for workflow, job_name, job in all_jobs():
        outs = _report_dirs(workflow, job_name)
        files: list[str] = []
        for step in steps(job):
            with_ = step.get("with", {})
            if uses(step).startswith("actions/upload-artifact@"):
                assert with_["path"] in outs, (workflow, job_name, with_["path"], outs)
                published += 1
            if uses(step).startswith("github/codeql-action/upload-sarif@"):
                files.append(with_["sarif_file"])
                assert with_["sarif_file"].endswith(FILE_NAMES["sarif"])
        for command in run_commands():
            if (command.workflow, command.job) == (workflow, job_name) and command.words[:3] == ("gh", "pr", "comment"):
                body = options(command.words)["--body-file"]
                assert body is not None and body.endswith(FILE_NAMES["md"]), command
                files.append(body)
        for file in files:
            directory, _, name = file.rpartition("/")
            assert directory in outs and name in FILE_NAMES.values(), (workflow, job_name, file)
            published += 1
    assert published >= 6


def test_every_report_bundle_is_attested_after_the_audit_writes_it() -> None:
    """Keyless signing: each --out directory gets an attestation step, after its audit, guarded like its upload."""
    attested = 0
    for workflow, job_name, job in all_jobs():
        audits = {
            str(options(c.words)["--out"]): c.step
            for c in _compliance_checks_commands()
            if (c.workflow, c.job) == (workflow, job_name) and c.words[1] == "audit" and "--out" in options(c.words)
        }
        attestations = attest_steps(job)
        subjects: dict[str, int] = {}
        for index, step in attestations:
            subject = str(step.get("with", {}).get("subject-path", ""))
            directory = subject.removesuffix("/manifest.json")
            # The documented input (github.com/actions/attest-build-provenance, README "Inputs") naming the manifest,
            # which holds every file's SHA-256: verify-report checks the files against it.
            assert subject == f"{directory}/manifest.json" and directory in audits, (
                workflow,
                job_name,
                subject,
                audits,
            )
            assert set(step["with"]) == {"subject-path"}, (workflow, job_name, step["with"])
            subjects[directory] = index
            assert index > audits[directory], f"{workflow}/{job_name}: {subject} attested before the audit writes it"
            condition = str(step.get("if", ""))
            # The audit exits 1 or 2 on findings: the report still gets attested, but never an absent one.
            assert "!cancelled()" in condition and f"hashFiles('{directory}/manifest.json') != ''" in condition
            if workflow == "pull-request.yml" and job_name == "audit":
                # Pull requests from forks get no OIDC token: the step would fail, not attest.
                assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
        assert set(subjects) == set(audits), (workflow, job_name, subjects, audits)
        attested += len(subjects)
    assert attested == 5  # offline audit, preview, post-deploy state, nightly state and live


def test_every_pre_existing_file_a_step_needs_is_committed() -> None:
    for workflow, job_name, job in all_jobs():
        for step in steps(job):
            dependency = step.get("with", {}).get("cache-dependency-path")
            if dependency:
                assert (REPO_ROOT / dependency).exists(), (workflow, job_name, dependency)
    for needed in ("Makefile", "requirements.lock", "pyproject.toml", "Pulumi.yaml"):
        assert (REPO_ROOT / needed).exists(), needed


# --- Azure by OIDC only, least privilege -------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_long_lived_azure_secret(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for forbidden in ("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "client-secret", "clientSecret", "AZURE_CREDENTIALS"):
        assert forbidden.lower() not in text.lower(), f"{path.name}: {forbidden}"
    for _, job in jobs(load(path)).items():
        for step in azure_login_steps(job):
            with_ = step.get("with", {})
            assert "creds" not in with_, path.name
            for key, variable in (
                ("client-id", "AZURE_CLIENT_ID"),
                ("tenant-id", "AZURE_TENANT_ID"),
                ("subscription-id", "AZURE_SUBSCRIPTION_ID"),
            ):
                assert with_.get(key) == f"${{{{ vars.{variable} }}}}", (path.name, key)


def test_every_job_that_logs_in_to_azure_may_request_an_oidc_token() -> None:
    logging_in = 0
    for workflow, job_name, job in all_jobs():
        oidc = bool(azure_login_steps(job)) or job.get("env", {}).get("ARM_USE_OIDC") == "true"
        granted = job.get("permissions", {})
        logging_in += oidc
        # The attestation's Sigstore certificate is issued for the job's OIDC token too.
        if oidc or attest_steps(job):
            assert granted.get("id-token") == "write", (workflow, job_name)
        else:
            assert "id-token" not in granted, (workflow, job_name)
    assert logging_in == 4  # preview, deploy, post-deploy audit, nightly audit


def test_permissions_are_least_privilege() -> None:
    for path in WORKFLOWS:
        assert load(path)["permissions"] == {"contents": "read"}, path.name
    for workflow, job_name, job in all_jobs():
        granted = job.get("permissions", {})
        runs = " ".join(str(step.get("run", "")) for step in steps(job))
        actions = {uses(step).split("@")[0] for step in steps(job)}
        assert granted.get("contents", "read") == "read", (workflow, job_name)
        assert (granted.get("security-events") == "write") == ("github/codeql-action/upload-sarif" in actions)
        assert (granted.get("pull-requests") == "write") == ("gh pr comment" in runs), (workflow, job_name)
        assert (granted.get("attestations") == "write") == (ATTEST_ACTION in actions), (workflow, job_name)
        assert set(granted) <= {"contents", "id-token", "security-events", "pull-requests", "attestations"}, (
            workflow,
            job_name,
        )


def test_no_secret_is_expanded_into_a_script() -> None:
    for workflow, job_name, job in all_jobs():
        for step in steps(job):
            assert "secrets." not in str(step.get("run", "")), (workflow, job_name, step.get("name"))
            assert "set -x" not in str(step.get("run", "")), (workflow, job_name, step.get("name"))


# --- triggers, environment, concurrency ---------------------------------------------------------


def test_triggers() -> None:
    assert set(load(WORKFLOWS_DIR / "pull-request.yml")["on"]) == {"pull_request"}
    assert load(WORKFLOWS_DIR / "deploy.yml")["on"] == {"push": {"branches": ["main"]}}
    nightly = load(WORKFLOWS_DIR / "nightly-drift.yml")["on"]
    assert set(nightly) == {"schedule", "workflow_dispatch"} and nightly["schedule"][0]["cron"]


def test_the_deploy_job_runs_behind_the_production_environment() -> None:
    deploying = [c for c in run_commands() if c.words[:2] == ("pulumi", "up")]
    assert [(c.workflow, c.job) for c in deploying] == [("deploy.yml", "deploy")]
    assert options(deploying[0].words).get("--stack") == "prod" and "--yes" in deploying[0].words
    deploy = jobs(load(WORKFLOWS_DIR / "deploy.yml"))["deploy"]
    environment = deploy["environment"]
    assert (environment if isinstance(environment, str) else environment["name"]) == "production"
    workflow = load(WORKFLOWS_DIR / "deploy.yml")
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["concurrency"]["group"] != load(WORKFLOWS_DIR / "nightly-drift.yml")["concurrency"]["group"]


def test_only_the_deploy_job_changes_the_estate() -> None:
    for command in run_commands():
        if command.words[0] == "pulumi":
            assert command.words[1] in {"login", "preview", "stack", "up"}, command
            if command.words[1] == "stack":
                assert command.words[2] == "export", command


# --- the guide ----------------------------------------------------------------------------------


def test_the_guide_names_every_workflow_variable_and_secret() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for path in WORKFLOWS:
        assert f".github/workflows/{path.name}" in guide, path.name
        for kind, name in re.findall(r"\$\{\{\s*(vars|secrets)\.(\w+)\s*\}\}", path.read_text(encoding="utf-8")):
            assert f"`{name}`" in guide, f"{kind}.{name} undocumented"
    for subject in ("environment:production", ":pull_request", "ref:refs/heads/main"):
        assert subject in guide, subject
    assert "docs/runbook.md" in guide or "runbook.md" in guide


# --- CI prepares what .ci/run prepares; the Pulumi CLI; the wheel; the guide's claims (issue 14) ------


CI_RUN = REPO_ROOT / ".ci" / "run"
PULUMI_ACTION = "pulumi/actions"


def _make_targets(words_list: list[tuple[str, ...]]) -> list[str]:
    return [w for words in words_list if words[:1] == ("make",) for w in words[1:] if not w.startswith("-")]


def test_the_test_job_prepares_what_ci_run_prepares_in_its_order() -> None:
    local = _make_targets([words for words, _ in commands(CI_RUN.read_text(encoding="utf-8"))])
    assert local[-1] == "test" and {"browser", "tls-tools", "checkov-env"} <= set(local)  # not vacuous
    test_job = [c.words for c in run_commands() if (c.workflow, c.job) == ("pull-request.yml", "test")]
    assert _make_targets(test_job) == local
    job = jobs(load(WORKFLOWS_DIR / "pull-request.yml"))["test"]
    assert job["env"]["CI"] == "true" and job["container"].startswith("python:3.11-")  # root, Debian, like .ci/run


def test_the_wheel_test_runs_once_in_its_own_job_under_ci() -> None:
    workflow = jobs(load(WORKFLOWS_DIR / "pull-request.yml"))
    wheel = workflow["wheel"]
    assert wheel["env"]["CI"] == "true"  # tests/test_wheel_install.py fails instead of skipping
    assert wheel["container"] == workflow["test"]["container"]
    ran = [c.words for c in run_commands() if (c.workflow, c.job) == ("pull-request.yml", "wheel")]
    assert _make_targets(ran) == ["browser", "tls-tools", "setup"]  # Chromium and openssl, then pytest's venv
    assert ran[-1] == (".venv/bin/python", "-m", "pytest", "tests/test_wheel_install.py")
    assert (REPO_ROOT / ran[-1][-1]).is_file()
    (make_test,) = [s for s in steps(workflow["test"]) if s.get("run") == "make test"]
    assert make_test["env"]["PYTEST_ADDOPTS"] == "--ignore=tests/test_wheel_install.py"  # not twice


def _lock_pin(name: str) -> str:
    pinned = re.search(rf"^{re.escape(name)}==([^\s;\\]+)", (REPO_ROOT / "requirements.lock").read_text(), re.MULTILINE)
    assert pinned is not None, name
    return pinned[1]


def test_the_pulumi_cli_comes_from_pulumi_actions_at_the_sdk_s_version() -> None:
    installing = 0
    for workflow, job_name, job in all_jobs():
        assert not any("setup-pulumi" in uses(step) for step in steps(job)), (workflow, job_name)  # deprecated
        runs_pulumi = [
            c.step for c in run_commands() if (c.workflow, c.job) == (workflow, job_name) and c.words[0] == "pulumi"
        ]
        installs = [(i, s) for i, s in enumerate(steps(job)) if uses(s).split("@")[0] == PULUMI_ACTION]
        assert bool(runs_pulumi) == bool(installs), (workflow, job_name)
        for index, step in installs:
            installing += 1
            assert index < min(runs_pulumi), (workflow, job_name)
            # Without `command` the action only installs the CLI (pulumi/actions src/config.ts installationConfig).
            assert step.get("with") == {"pulumi-version": _lock_pin("pulumi")}, (workflow, job_name, step.get("with"))
    assert installing == 4  # preview, deploy, post-deploy audit, nightly audit


def _documented_subjects(guide: str) -> set[str]:
    return set(re.findall(r'"subject":\s*"repo:<org>/<repo>:([^"]+)"', guide))


def _presented_subject(workflow: dict[str, Any], job: dict[str, Any]) -> str:
    """The OIDC subject a job presents (GitHub's subject claim: environment, else pull_request, else the ref)."""
    environment = job.get("environment")
    if environment is not None:
        return f"environment:{environment if isinstance(environment, str) else environment['name']}"
    if "pull_request" in workflow["on"]:
        return "pull_request"
    # push to main; schedule runs on the default branch (main); workflow_dispatch is run from main too.
    return "ref:refs/heads/main"


def test_the_guide_s_federated_credentials_are_the_subjects_the_logging_in_jobs_present() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    presented = set()
    for path in WORKFLOWS:
        workflow = load(path)
        for job in jobs(workflow).values():
            if azure_login_steps(job) or job.get("env", {}).get("ARM_USE_OIDC") == "true":
                presented.add(_presented_subject(workflow, job))
    assert presented == _documented_subjects(guide) == {"environment:production", "pull_request", "ref:refs/heads/main"}


def test_the_guide_s_secrets_are_exactly_those_the_workflows_read() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    table = guide.split("Repository **secrets**", 1)[1].split("\n\n", 2)[1]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    used = {
        name
        for path in WORKFLOWS
        for name in re.findall(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", path.read_text(encoding="utf-8"))
    }
    assert documented == used == {"PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"}


def test_the_guide_names_every_action_at_the_version_used() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    used = {uses(step) for _, _, job in all_jobs() for step in steps(job) if "uses" in step}
    assert f"{PULUMI_ACTION}@v6" in used
    for action in used:
        assert f"`{action}`" in guide, f"{action}: not in docs/ci-workflows.md"
    assert "setup-pulumi@" not in guide  # named only as the deprecated action it replaces


def test_every_container_job_lets_git_read_its_checkout_first() -> None:
    containers = 0
    for workflow, job_name, job in all_jobs():
        if "container" not in job:
            continue
        containers += 1
        ran = [c for c in run_commands() if (c.workflow, c.job) == (workflow, job_name)]
        assert ran[0].words == ("git", "config", "--global", "--add", "safe.directory", "$GITHUB_WORKSPACE"), ran[0]
        assert uses(steps(job)[ran[0].step - 1]).startswith("actions/checkout@"), (workflow, job_name)
    assert containers == 2  # test, wheel
