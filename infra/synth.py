"""Run the real program offline under Pulumi's mock runtime and record what it declares.

No Pulumi CLI, no cloud: `pulumi.runtime.set_mocks` stands in for the engine.
The recorder sees each resource exactly as the engine would (type token,
inputs after serialisation, parent, dependencies, secrecy) and emulates the
few outputs Azure computes (IDs, host names, addresses) so that dependent
resources receive realistic values. Each synthesis runs in a fresh
``contextvars.Context`` because the Pulumi runtime keeps its state there.
"""

from __future__ import annotations

import atexit
import contextvars
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compliance_checks.errors import InputError
from compliance_checks.input_files import FILE_NOT_FOUND
from compliance_checks.yaml_input import parse_yaml, read_yaml_text
from infra.azure_types import ArmIdentity, arm_identity, is_azure_native
from infra.config import PROJECT, ConfigError, StackConfig, parse_config

# asyncio comes with the mock runtime (pulumi imports it): a cached synthesis, or the CLI importing this module
# for its names, needs neither.
if TYPE_CHECKING:
    import asyncio

REPO_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = REPO_ROOT / "infra" / "stacks"
ENTRY_POINT = REPO_ROOT / "infra" / "__main__.py"
MOCK_SUBSCRIPTION_ID = "6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21"
MOCK_TENANT_ID = "3b2c7f0e-5d41-4e3a-8a6f-1c9d2e4b7a80"
MOCK_DEPLOYER_OBJECT_ID = "0d9f3e5c-8b7a-4c21-9e6d-5a4b3c2d1e0f"


# The mock monitor's worker threads each open an event loop and keep it for
# later runs. Left to the garbage collector at interpreter exit they raise
# "Exception ignored in BaseEventLoop.__del__"; closing them in an atexit hook,
# while their sockets still exist, keeps the exit quiet.
_WORKER_LOOPS: set[asyncio.AbstractEventLoop] = set()


@atexit.register
def _close_worker_loops() -> None:
    for loop in _WORKER_LOOPS:
        if not loop.is_closed() and not loop.is_running():
            loop.close()


class Secret:
    """A value the engine marks secret. Prints as ``[secret]``; ``.reveal()`` only for tests."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value

    def reveal(self) -> Any:
        return self._value

    def __repr__(self) -> str:
        return "[secret]"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("secret", repr(self._value)))


@dataclass(frozen=True)
class RecordedResource:
    urn: str
    token: str
    name: str
    custom: bool
    parent: str | None
    dependencies: tuple[str, ...]
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    arm: ArmIdentity | None
    custom_timeouts: Mapping[str, str] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    # Input key -> the URNs its value flows from, as the SDK sends them in RegisterResource
    # (``propertyDependencies``); the engine passes the same map to policy packs.
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def location(self) -> str | None:
        value = self.inputs.get("location")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Synthesis:
    project: str
    stack: str
    config: StackConfig
    resources: tuple[RecordedResource, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def of_type(self, token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.token == token]

    def one(self, token: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.of_type(token) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {token}{' named ' + name if name else ''}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(urn)


# --- stack files -----------------------------------------------------------------


def stack_path(stack: str) -> Path:
    return STACKS_DIR / f"Pulumi.{stack}.yaml"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except (ValueError, OSError, RuntimeError):  # outside the repository, or a symlink loop (RuntimeError on 3.11)
        return str(path)


def load_stack_file(path: Path) -> tuple[dict[str, Any], set[str]]:
    """Return the stack file's config (namespaced keys, as written) and its secure keys."""
    where = _display(path)
    # The shared YAML reader: regular files only, bounded size, depth and aliases (no alias bomb), no duplicate keys.
    try:
        text = read_yaml_text(path, source=where)
    except InputError as exc:
        if exc.problem == FILE_NOT_FOUND:
            known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS_DIR.glob("Pulumi.*.yaml"))
            raise ConfigError(f"{where}: stack file not found (stacks: {', '.join(known) or 'none'})") from None
        place = f"{exc.place}: " if exc.place else ""
        raise ConfigError(f"{where}: {place}cannot read stack file ({exc.problem})") from None
    try:
        document = parse_yaml(text, where)
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    if document is None:
        raise ConfigError(f"{where}: the file is empty; expected a 'config:' mapping")
    if not isinstance(document, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level, got {type(document).__name__}")
    config = document.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: config: expected a mapping of keys to values")
    secure: set[str] = set()
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            raise ConfigError(f"{where}: config key {key!r} must be namespaced, e.g. {PROJECT}:{key}")
        if isinstance(value, dict) and set(value) == {"secure"}:
            secure.add(key)
    return dict(config), secure


def _engine_text(value: Any) -> str:
    """Config values the way the engine hands them to a program: text, JSON for structures."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# --- the mock engine ---------------------------------------------------------------


def _is_rpc_secret(value: Any) -> bool:
    from pulumi.runtime import rpc

    return bool(rpc.is_rpc_secret(value))


def _mark_secrets(value: Any) -> Any:
    if _is_rpc_secret(value):
        from pulumi.runtime import rpc

        return Secret(_strip_secrets(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {k: _mark_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_secrets(v) for v in value]
    return value


def _strip_secrets(value: Any) -> Any:
    if _is_rpc_secret(value):
        from pulumi.runtime import rpc

        return _strip_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(v) for v in value]
    return value


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _computed_outputs(token: str, name: str, inputs: Mapping[str, Any], arm: ArmIdentity | None) -> dict[str, Any]:
    """The outputs Azure (or Entra, or the random provider) would compute."""
    seed = _digest(token, name)
    guid = f"{seed[:8]}-{seed[8:12]}-4{seed[13:16]}-a{seed[17:20]}-{seed[20:32]}"
    arm_name = arm.name if arm else name
    out: dict[str, Any] = {}
    if token == "azure-native:web:WebApp":
        out["defaultHostName"] = f"{arm_name}.azurewebsites.net"
        out["customDomainVerificationId"] = seed[:64].upper()
        out["identity"] = {**dict(inputs.get("identity") or {}), "principalId": guid, "tenantId": MOCK_TENANT_ID}
    elif token == "azure-native:dbforpostgresql:Server":
        out["fullyQualifiedDomainName"] = f"{arm_name}.postgres.database.azure.com"
    elif token == "azure-native:network:PublicIPAddress":
        # Documentation range (RFC 5737): never a real address.
        out["ipAddress"] = f"198.51.100.{int(seed[:2], 16) % 250 + 1}"
    elif token == "azure-native:keyvault:Vault":
        out["properties"] = {**dict(inputs.get("properties") or {}), "vaultUri": f"https://{arm_name}.vault.azure.net/"}
    elif token == "azure-native:web:Certificate":
        out["thumbprint"] = seed[:40].upper()
    elif token in ("azuread:index/group:Group", "azuread:index/servicePrincipal:ServicePrincipal"):
        out["objectId"] = guid
    elif token == "azuread:index/application:Application":
        # Entra assigns both: the object ID (the resource's ID) and the application (client) ID.
        out["objectId"] = guid
        client = _digest(token, name, "client")
        out["clientId"] = f"{client[:8]}-{client[8:12]}-4{client[13:16]}-a{client[17:20]}-{client[20:32]}"
        out["id"] = f"/applications/{guid}"
    elif token == "azuread:index/appRoleAssignment:AppRoleAssignment":
        out["principalType"] = "Group"
    elif token == "random:index/randomUuid:RandomUuid":
        out["result"] = guid
    elif token == "random:index/randomPassword:RandomPassword":
        length = int(inputs.get("length", 32))
        out["result"] = ("Mock-" + seed)[:length]
        out["bcryptHash"] = "$2a$10$" + seed[:53]
    return out


def _make_recorder(
    subscription_id: str, thread_loops: set[Any] | None = None
) -> tuple[Any, list[RecordedResource], dict[str, Any]]:
    import pulumi
    from pulumi.runtime import mocks, rpc
    from pulumi.runtime.sync_await import _ensure_event_loop

    # The mock monitor runs in executor threads and gives each its own event
    # loop; they are collected here so the caller can close them.
    loops = thread_loops if thread_loops is not None else set()

    recorded: list[RecordedResource] = []
    stack_outputs: dict[str, Any] = {}
    pending: dict[str, tuple[str | None, Mapping[str, Any], ArmIdentity | None]] = {}
    # The engine, not the SDK, marks outputs secret; the mock monitor hands the
    # request's additionalSecretOutputs to new_resource through this (per thread).
    registering = threading.local()

    class Engine(mocks.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            plain = _strip_secrets(args.inputs)
            arm = arm_identity(args.typ, plain, subscription_id) if is_azure_native(args.typ) else None
            state = {**plain, **_computed_outputs(args.typ, args.name, plain, arm)}
            if arm is not None:
                state.update({"id": arm.id, "name": arm.name, "type": arm.type})
                resource_id: str | None = arm.id
            elif args.custom:
                resource_id = state.get("id") or state.get("objectId") or _digest(args.typ, args.name)[:32]
            else:
                resource_id = None
            secret_keys = set(getattr(registering, "secret_outputs", ())) | {
                key for key, value in args.inputs.items() if _is_rpc_secret(value)
            }
            engine_state = {
                key: rpc.wrap_rpc_secret(value) if key in secret_keys else value for key, value in state.items()
            }
            pending[f"{args.typ}::{args.name}"] = (resource_id, _mark_secrets(engine_state), arm)
            return resource_id, engine_state

        def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
            if args.token == "azure-native:authorization:getClientConfig":
                return {
                    "subscriptionId": subscription_id,
                    "tenantId": MOCK_TENANT_ID,
                    "objectId": MOCK_DEPLOYER_OBJECT_ID,
                    "clientId": MOCK_DEPLOYER_OBJECT_ID,
                }
            raise NotImplementedError(f"the offline engine does not emulate invoke {args.token}")

    engine = Engine()

    class Monitor(mocks.MockMonitor):
        def Invoke(self, request: Any) -> Any:
            loops.add(_ensure_event_loop())  # type: ignore[no-untyped-call]
            return super().Invoke(request)  # type: ignore[no-untyped-call]

        def RegisterResource(self, request: Any) -> Any:
            loops.add(_ensure_event_loop())  # type: ignore[no-untyped-call]
            registering.secret_outputs = tuple(request.additionalSecretOutputs)
            response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
            if request.type != "pulumi:pulumi:Stack":
                inputs = _mark_secrets(rpc.deserialize_properties(request.object))
                key = f"{request.type}::{request.name}"
                resource_id, state, arm = pending.pop(key, (None, {}, None))
                recorded.append(
                    RecordedResource(
                        urn=response.urn,
                        token=request.type,
                        name=request.name,
                        custom=bool(request.custom),
                        parent=request.parent or None,
                        dependencies=tuple(request.dependencies),
                        inputs=inputs,
                        outputs={"id": resource_id, **state} if resource_id else dict(state),
                        arm=arm,
                        custom_timeouts={
                            key: value
                            for key in ("create", "update", "delete")
                            if (value := getattr(request.customTimeouts, key, ""))
                        },
                        ignore_changes=tuple(request.ignoreChanges),
                        property_dependencies={
                            key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()
                        },
                    )
                )
            return response

        def RegisterResourceOutputs(self, request: Any) -> Any:
            if "::pulumi:pulumi:Stack::" in request.urn:
                stack_outputs.update(_mark_secrets(rpc.deserialize_properties(request.outputs)))
            return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    return Monitor(engine), recorded, stack_outputs


def _run(
    stack: str, config: StackConfig, cfg_values: dict[str, str], secret_keys: set[str], subscription_id: str
) -> Synthesis:
    import runpy

    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    thread_loops: set[asyncio.AbstractEventLoop] = set()
    monitor, recorded, stack_outputs = _make_recorder(subscription_id, thread_loops)
    pulumi.runtime.set_all_config(cfg_values, sorted(secret_keys))
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    # set_mocks installs a finished root stack; the program needs a live one to export into.
    settings.ROOT.set(None)

    def program() -> None:
        # The very entry point `pulumi up` runs, not a test double of it.
        runpy.run_path(str(ENTRY_POINT), run_name="__main__")

    try:
        _sync_await(run_in_stack(program))
    finally:
        _WORKER_LOOPS.update(thread_loops)
    return Synthesis(PROJECT, stack, config, tuple(recorded), dict(stack_outputs))


def synthesize(
    stack: str = "dev",
    *,
    overrides: Mapping[str, Any] | None = None,
    stack_file: Path | None = None,
    subscription_id: str = MOCK_SUBSCRIPTION_ID,
) -> Synthesis:
    """Run the program for ``stack`` offline. ``overrides`` replace (or, with None, remove) keys.

    Configuration errors raise ConfigError naming the stack file and key; they
    are found before the program declares anything.
    """
    path = stack_file or stack_path(stack)
    raw, secure = load_stack_file(path)
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = value
    # Validate once here, with the file name, so the error is raised before the runtime starts.
    project_raw = {k.split(":", 1)[1]: _engine_text(v) for k, v in raw.items() if k.startswith(f"{PROJECT}:")}
    for key in secure:
        if key.startswith(f"{PROJECT}:"):
            raise ConfigError(f"{_display(path)}: {key}: encrypted values cannot be read offline")
    config = parse_config(project_raw, stack=stack, where=_display(path))

    cfg_values = {k: _engine_text(v) for k, v in raw.items() if k not in secure}
    return contextvars.Context().run(_run, stack, config, cfg_values, set(secure), subscription_id)


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a nested input structure with its dotted path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value
