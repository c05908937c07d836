"""Run the policy pack the way the Pulumi CLI runs a Python policy pack, and talk to it over gRPC.

How the CLI starts it (pulumi/pulumi, sdk/go/common/resource/plugin/analyzer_plugin.go,
``NewPolicyAnalyzer``, read at commit 687960447a44): for ``runtime: python`` it
runs the ``pulumi-analyzer-policy-python`` plugin with the working directory set
to the policy pack's directory and the arguments ``<engine address> .`` followed
by one ``-<option>=<value>`` per ``runtime.options`` entry of PulumiPolicy.yaml
(here ``-virtualenv=../.venv``); the environment is the CLI's own plus
PULUMI_CONFIG, PULUMI_ORGANIZATION, PULUMI_PROJECT, PULUMI_STACK and
PULUMI_DRY_RUN (``constructEnv``). That plugin script runs
``<virtualenv>/bin/python -u -m pulumi.policy <engine address> <program>``
(pulumi/pulumi, sdk/python/cmd/pulumi-analyzer-policy-python), and
``pulumi.policy`` (pulumi SDK, pulumi/policy/__main__.py) runs the program
directory with runpy. The pack's ``PolicyPack(...)`` (pulumi_policy/policy.py)
serves ``pulumirpc.Analyzer`` on 127.0.0.1, writes the port on stdout as one
line, and the CLI dials it. The CLI then calls ``Handshake`` (Unimplemented is
accepted) and ``ConfigureStack``.

How the engine builds requests (same file, ``Analyze`` / ``AnalyzeStack``): the
properties are marshalled with ``KeepUnknowns`` and ``KeepSecrets``, so unknown
values arrive as Pulumi's unknown sentinel strings and secrets as the signature
object ``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
"value": ...}`` (pulumi_policy/deserialize.py, SPECIAL_SIG_KEY / SPECIAL_SECRET_SIG).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]  # grpcio ships no type stubs
from google.protobuf import empty_pb2, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from infra.synth import REPO_ROOT, RecordedResource, Secret, Synthesis

PACK_DIR = REPO_ROOT / "policies"
# pulumi_policy/deserialize.py: SPECIAL_SIG_KEY and SPECIAL_SECRET_SIG.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
STARTUP_TIMEOUT = 60.0
# Outputs that are the same for every resource of a type (the ARM type, a principal's kind).
CONSTANT_OUTPUTS = frozenset({"type", "principalType"})


class StubEngine(engine_pb2_grpc.EngineServicer):
    """The engine's logging service: the pack may log through it; what it logs is kept for the test."""

    def __init__(self) -> None:
        self.logs: list[tuple[int, str]] = []
        self.root = ""

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.logs.append((int(request.severity), str(request.message)))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=self.root)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        self.root = str(request.urn)
        return engine_pb2.SetRootResourceResponse()


def pack_python(pack_dir: Path) -> Path:
    """The interpreter the plugin script picks: ``<virtualenv>/bin/python``, the option relative to the pack."""
    import yaml

    project = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    runtime = project.get("runtime") if isinstance(project, dict) else None
    options = runtime.get("options") if isinstance(runtime, dict) else None
    virtualenv = options.get("virtualenv") if isinstance(options, dict) else None
    if not isinstance(virtualenv, str) or not virtualenv:
        raise RuntimeError(f"{pack_dir / 'PulumiPolicy.yaml'}: runtime.options.virtualenv: not set")
    return (pack_dir / virtualenv / "bin" / "python").absolute()


@dataclass
class PolicyPackProcess:
    """A running policy pack, its gRPC client, and the stub engine it was given."""

    process: subprocess.Popen[bytes]
    channel: grpc.Channel
    client: analyzer_pb2_grpc.AnalyzerStub
    engine: StubEngine
    engine_server: grpc.Server
    startup_seconds: float
    stderr_path: Path
    closed: bool = field(default=False)

    def info(self) -> Any:
        return self.client.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)

    def analyze(self, request: analyzer_pb2.AnalyzeRequest) -> Any:
        return self.client.Analyze(request, timeout=60)

    def analyze_stack(self, request: analyzer_pb2.AnalyzeStackRequest) -> Any:
        return self.client.AnalyzeStack(request, timeout=120)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def close(self) -> int:
        """Stop the pack; its exit code (0 when it shut down cleanly).

        The server has no shutdown RPC; ``PolicyPack`` stops its server on
        KeyboardInterrupt (pulumi_policy/policy.py), so SIGINT is the clean way
        down, and ``pulumi.policy`` then exits 0. A pack that does not stop in
        10 s is killed (and its negative exit code tells the test).
        """
        if self.closed:
            return int(self.process.returncode or 0)
        self.closed = True
        self.channel.close()
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.engine_server.stop(0)
        return code


def start_pack(
    *, stack: str = "dev", project: str = "smart-portal", dry_run: bool = True, workdir: Path, pack_dir: Path = PACK_DIR
) -> PolicyPackProcess:
    """Launch ``pack_dir`` (policies/) as the CLI launches a Python pack; wait for the port line; dial it."""
    engine = StubEngine()
    engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(engine, engine_server)
    engine_port = engine_server.add_insecure_port("127.0.0.1:0")
    engine_server.start()

    # The CLI passes ``<engine> . -virtualenv=../.venv``; the plugin script consumes the option to pick the
    # interpreter and runs it with the engine address and the program (".").
    args = [str(pack_python(pack_dir)), "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", "."]
    env = {
        **os.environ,
        "PULUMI_CONFIG": json.dumps({}),
        "PULUMI_PROJECT": project,
        "PULUMI_STACK": stack,
        "PULUMI_DRY_RUN": "true" if dry_run else "false",
    }
    stderr_path = workdir / "pack.stderr"
    started = time.monotonic()
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(args, cwd=pack_dir, stdout=subprocess.PIPE, stderr=stderr, env=env)
    assert process.stdout is not None
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = started + STARTUP_TIMEOUT
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                break
            chunk = os.read(process.stdout.fileno(), 1)
            if not chunk:
                break
            line += chunk
    startup = time.monotonic() - started
    text = line.decode(errors="replace").strip()
    if not text.isdigit():
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        engine_server.stop(0)
        raise RuntimeError(
            f"policy pack printed no port (got {text!r}, exit {process.returncode}): "
            f"{stderr_path.read_text(encoding='utf-8', errors='replace')[-2000:]}"
        )
    channel = grpc.insecure_channel(f"127.0.0.1:{text}")
    grpc.channel_ready_future(channel).result(timeout=STARTUP_TIMEOUT)
    client = analyzer_pb2_grpc.AnalyzerStub(channel)
    pack = PolicyPackProcess(process, channel, client, engine, engine_server, startup, stderr_path)
    # The CLI's handshake and stack configuration; the Python server does not implement Handshake.
    try:
        client.Handshake(
            analyzer_pb2.AnalyzerHandshakeRequest(
                engine_address=f"127.0.0.1:{engine_port}",
                root_directory=str(pack_dir),
                program_directory=str(pack_dir),
            ),
            timeout=30,
        )
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.UNIMPLEMENTED:
            pack.close()
            raise
    client.ConfigureStack(
        analyzer_pb2.AnalyzerStackConfigureRequest(stack=stack, project=project, dry_run=dry_run), timeout=30
    )
    return pack


# --- requests ------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, Secret):
        yield from _strings(value.reveal())
    elif isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def computed_values(resource: RecordedResource) -> set[str]:
    """The strings a resource gets only at create: its outputs under keys its inputs do not have.

    At a first preview nothing is created yet, so these are unknown to every
    resource whose inputs flow from them (``id``, ``principalId``, ``objectId``...).
    Top-level keys only: an output key that is also an input echoes the input.
    """
    found: set[str] = set()
    for key, value in resource.outputs.items():
        # A resource's ARM type is a constant: the same string in another input is a literal, not a flow.
        if key not in resource.inputs and key not in CONSTANT_OUTPUTS:
            found.update(s for s in _strings(value) if len(s) >= 8)
    return found


def first_preview_value(value: Any, computed: set[str]) -> Any:
    """``value`` as the engine marshals it at a first preview: flowing computed values unknown, secrets wrapped."""
    if isinstance(value, Secret):
        return {SIG_KEY: SECRET_SIG, "value": first_preview_value(value.reveal(), computed)}
    if isinstance(value, str):
        # An Output built from an unknown value is unknown as a whole (an interpolated ID is too).
        return UNKNOWN_STRING_VALUE if any(c in value for c in computed) else value
    if isinstance(value, Mapping):
        return {str(k): first_preview_value(v, computed) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [first_preview_value(v, computed) for v in value]
    return value


def known_value(value: Any) -> Any:
    """``value`` as marshalled once every value is known (after apply): secrets wrapped."""
    return first_preview_value(value, set())


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def _options(resource: RecordedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    timeouts = analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
        **{k: _seconds(v) for k, v in resource.custom_timeouts.items() if k in ("create", "update", "delete")}
    )
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=False,
        ignoreChanges=list(resource.ignore_changes),
        customTimeouts=timeouts,
        parent=resource.parent or "",
    )


def _seconds(duration: str) -> float:
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    total, number = 0.0, ""
    for char in duration:
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            total, number = total + float(number) * units[char], ""
    return total


def dependency_values(synthesis: Synthesis, urns: Iterator[str] | tuple[str, ...] | list[str]) -> set[str]:
    """The computed values of the resources ``urns`` name (providers and the stack give none)."""
    computed: set[str] = set()
    for urn in urns:
        try:
            computed |= computed_values(synthesis.by_urn(urn))
        except LookupError:
            continue  # the stack resource or a provider: nothing the program reads from it
    return computed


def first_preview_inputs(synthesis: Synthesis, resource: RecordedResource) -> dict[str, Any]:
    """The inputs as the engine sends them at a first preview.

    Each input is unknown where its value flows from a computed output of a
    resource it depends on (its ``propertyDependencies`` entry names those
    resources), so one input's unknowns never leak into another's. An input
    without an entry is judged against all the resource's dependencies and
    its parent (the SDK records an entry for every input it resolved; this
    covers values a program passed without one).
    """
    every = (*resource.dependencies, *([resource.parent] if resource.parent else []))
    props: dict[str, Any] = {}
    for key, value in resource.inputs.items():
        deps = resource.property_dependencies.get(key)
        props[key] = first_preview_value(value, dependency_values(synthesis, deps if deps is not None else every))
    return props


def _property_dependencies(resource: RecordedResource) -> dict[str, analyzer_pb2.AnalyzerPropertyDependencies]:
    return {
        key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
        for key, urns in resource.property_dependencies.items()
        if urns
    }


def analyze_request(
    synthesis: Synthesis, resource: RecordedResource, *, first_preview: bool = True
) -> analyzer_pb2.AnalyzeRequest:
    """The engine's ``Analyze`` request for one resource: its inputs (at preview, goal state inputs)."""
    props = first_preview_inputs(synthesis, resource) if first_preview else known_value(dict(resource.inputs))
    return analyzer_pb2.AnalyzeRequest(
        type=resource.token,
        properties=_struct(props),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
    )


def custom_resources(synthesis: Synthesis) -> list[RecordedResource]:
    """What the engine analyzes per resource: custom resources (components are not sent to Analyze)."""
    return [r for r in synthesis.resources if r.custom]


def analyze_stack_request(synthesis: Synthesis, *, first_preview: bool = True) -> analyzer_pb2.AnalyzeStackRequest:
    """The engine's ``AnalyzeStack`` request: every resource with parent and dependencies.

    At a first preview each resource carries its inputs with computed values
    unknown; with ``first_preview=False`` it carries its outputs (the state
    after apply, every value known).
    """
    resources = []
    for resource in synthesis.resources:
        props = first_preview_inputs(synthesis, resource) if first_preview else known_value(dict(resource.outputs))
        resources.append(
            analyzer_pb2.AnalyzerResource(
                type=resource.token,
                properties=_struct(props),
                urn=resource.urn,
                name=resource.name,
                options=_options(resource),
                parent=resource.parent or "",
                dependencies=list(resource.dependencies),
                propertyDependencies=_property_dependencies(resource),
            )
        )
    return analyzer_pb2.AnalyzeStackRequest(resources=resources)


def mandatory(response: Any) -> list[Any]:
    return [d for d in response.diagnostics if d.enforcementLevel == analyzer_pb2.MANDATORY]


def advisory(response: Any) -> list[Any]:
    return [d for d in response.diagnostics if d.enforcementLevel == analyzer_pb2.ADVISORY]
