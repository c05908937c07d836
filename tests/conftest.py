from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

from infra.synth import RecordedResource, Synthesis, synthesize

_CACHE: dict[str, Synthesis] = {}
CHROMIUM = Path("/usr/bin/chromium")


def missing_prerequisite(reason: str, install: str) -> NoReturn:
    """A test needs something absent here: fail under CI (where .ci/run must install it), skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: required in CI ({install})")
    pytest.skip(f"{reason} ({install}); skipped outside CI only")


def require_chromium() -> None:
    if not CHROMIUM.is_file():
        missing_prerequisite("Debian Chromium not installed", "make browser")


# The estates every property test runs on: both stacks as committed, plus each
# stack with the other VPN mode and with password authentication kept on.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev": ("dev", {}),
    "prod": ("prod", {}),
    "dev-s2s": ("dev", {"vpnMode": "s2s", "vpnClientAddressPool": None}),
    "prod-p2s": ("prod", {"vpnMode": "p2s"}),
    "dev-password-auth": ("dev", {"dbPasswordAuth": True}),
}


def synth_cached(stack: str, overrides: dict[str, Any] | None = None) -> Synthesis:
    key = json.dumps([stack, overrides or {}], sort_keys=True)
    if key not in _CACHE:
        _CACHE[key] = synthesize(stack, overrides=overrides)
    return _CACHE[key]


@pytest.fixture(params=sorted(VARIANTS))
def estate(request: pytest.FixtureRequest) -> Synthesis:
    stack, overrides = VARIANTS[request.param]
    return synth_cached(stack, overrides)


@pytest.fixture
def dev() -> Synthesis:
    return synth_cached("dev")


@pytest.fixture
def prod() -> Synthesis:
    return synth_cached("prod")


@pytest.fixture
def write_stack(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "Pulumi.test.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def child_of(synthesis: Synthesis, resource: RecordedResource, component_token: str) -> bool:
    """Whether ``resource`` was declared inside a component of the given type."""
    parent = resource.parent
    while parent:
        try:
            owner = synthesis.by_urn(parent)
        except LookupError:
            return False
        if owner.token == component_token:
            return True
        parent = owner.parent
    return False
