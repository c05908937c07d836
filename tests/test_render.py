"""The offline renderer: what a newcomer sees from `make run`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pytest

from infra.render import main, render_json, render_text
from infra.synth import REPO_ROOT, Secret, walk

from .conftest import synth_cached


def test_text_lists_every_resource_and_output() -> None:
    s = synth_cached("dev")
    out = io.StringIO()
    render_text(s, out)
    text = out.getvalue()
    custom = [r for r in s.resources if r.custom]
    components = [r for r in s.resources if not r.custom and r.token != "pulumi:pulumi:Stack"]
    assert len(components) == 9  # eight top-level components and the VPN audience inside developer access
    assert text.splitlines()[0] == (
        f"Smart Portal, stack dev (germanywestcentral, VPN p2s): {len(custom)} resources "
        f"in {len(components)} components would be created"
    )
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith("+ ")) == len(custom)
    for resource in custom:
        if resource.arm is not None:
            assert resource.arm.name in text
    for key in s.outputs:
        assert f"  {key}" in text


def test_rendering_is_deterministic() -> None:
    first, second = io.StringIO(), io.StringIO()
    render_text(synth_cached("prod"), first, details=True)
    render_text(synth_cached("prod"), second, details=True)
    assert first.getvalue() == second.getvalue()


def _secret_values(value: Any) -> list[str]:
    found: list[str] = []
    for _, leaf in walk(value):
        if isinstance(leaf, Secret):
            found.extend(str(v) for _, v in walk(leaf.reveal()))
    return found


@pytest.mark.parametrize("overrides", [{"dbPasswordAuth": True}, {"vpnMode": "s2s", "vpnClientAddressPool": None}])
def test_secrets_never_print(overrides: dict[str, Any]) -> None:
    s = synth_cached("dev", overrides)
    secrets = [v for r in s.resources for v in _secret_values(dict(r.inputs)) + _secret_values(dict(r.outputs))]
    assert secrets, "the variant must declare at least one secret"
    text = io.StringIO()
    render_text(s, text, details=True)
    document = json.dumps(render_json(s))
    for value in secrets:
        if len(value) >= 12:
            assert value not in text.getvalue() and value not in document
    assert "[secret]" in text.getvalue() and "[secret]" in document


def test_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "prod", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["stack"] == "prod"
    types = {r["armType"] for r in document["resources"] if r["armType"]}
    assert "Microsoft.DBforPostgreSQL/flexibleServers" in types
    assert document["outputs"]["vpnMode"] == "s2s"


def test_cli_usage_errors_and_help() -> None:
    assert main(["--no-such-flag"]) == 64
    assert main(["--help"]) == 0
    assert main(["--stack", "does-not-exist"]) == 2


def test_make_run_command_works_end_to_end() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra.render"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "stack dev" in result.stdout and "Outputs:" in result.stdout
    assert "Traceback" not in result.stderr
