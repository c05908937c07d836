"""Render a stack offline: what `pulumi up` would create, resource by resource.

Runs the real program under Pulumi's mock runtime (no Pulumi CLI, no Azure
account). Secrets print as ``[secret]``.

    python -m infra.render --stack dev
    python -m infra.render --stack prod --details
    python -m infra.render --stack dev --json > dev.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from infra.config import ConfigError
from infra.synth import STACKS_DIR, RecordedResource, Secret, Synthesis, synthesize, walk

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_USAGE = 64

# "Stack names may only contain alphanumeric characters, hyphens, underscores, or periods."
# (Pulumi docs, Concepts > Stacks: https://www.pulumi.com/docs/iac/concepts/stacks/). Anything else, a
# "/" above all, would name a file outside infra/stacks/.
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def valid_stack_name(name: str) -> bool:
    """Whether ``name`` is a Pulumi stack name (and so names a file inside infra/stacks/)."""
    return bool(_STACK_NAME.fullmatch(name)) and name not in (".", "..")


def _one_line(text: str) -> str:
    """For messages: control characters, line breaks and unpaired surrogates escaped, so the error is one safe line."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text
    )


def _error(prefix: str, message: str) -> None:
    print(f"{prefix}{_one_line(' '.join(message.splitlines()) or 'no detail')}", file=sys.stderr)


def _config_problem(path: Path) -> str | None:
    """Why ``--config FILE`` cannot be read, checked before synthesis (a loop or a directory is no config)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "file not found"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        return f"cannot read the file ({exc.strerror or exc})"
    except ValueError:
        return "not a usable file name"
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def _short_token(token: str) -> str:
    package, _, rest = token.partition(":")
    module, _, kind = rest.partition(":")
    if package == "azure-native":
        return f"{module}:{kind}"
    return f"{package}:{kind}" if package != "smartportal" else f"[{kind}]"


def _display_name(resource: RecordedResource) -> str:
    if resource.arm is not None:
        return resource.arm.name
    for key in ("displayName", "name"):
        value = resource.inputs.get(key)
        if isinstance(value, str):
            return value
    return resource.name


def _ordered(synthesis: Synthesis) -> list[tuple[int, RecordedResource]]:
    children: dict[str | None, list[RecordedResource]] = defaultdict(list)
    urns = {r.urn for r in synthesis.resources}
    for resource in synthesis.resources:
        parent = resource.parent if resource.parent in urns else None
        children[parent].append(resource)
    ordered: list[tuple[int, RecordedResource]] = []

    def visit(parent: str | None, depth: int) -> None:
        # Plain resources first, then components, each alphabetically: stable output.
        for resource in sorted(children[parent], key=lambda r: (not r.custom, r.token, r.name)):
            ordered.append((depth, resource))
            visit(resource.urn, depth + 1)

    visit(None, 0)
    return ordered


def _jsonable(value: Any) -> Any:
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def render_text(synthesis: Synthesis, out: TextIO, *, details: bool = False) -> None:
    custom = [r for r in synthesis.resources if r.custom]
    cfg = synthesis.config
    out.write(
        f"Smart Portal, stack {synthesis.stack} ({cfg.location}, VPN {cfg.vpn.mode}): "
        f"{len(custom)} resources in {len(synthesis.resources) - len(custom)} components would be created\n\n"
    )
    rows = _ordered(synthesis)
    width = max(len("  " * d + _short_token(r.token)) for d, r in rows) + 2
    for depth, resource in rows:
        label = "  " * depth + ("+ " if resource.custom else "") + _short_token(resource.token)
        where = resource.location or ""
        out.write(f"{label:<{width + 2}}{_display_name(resource)}  {where}".rstrip() + "\n")
        if details and resource.custom:
            for path, value in walk(_jsonable(dict(resource.inputs))):
                out.write(f"{'':<{width + 6}}{path} = {json.dumps(value)}\n")
    out.write("\nOutputs:\n")
    for key, value in sorted(synthesis.outputs.items()):
        out.write(f"  {key:<28}{json.dumps(_jsonable(value), sort_keys=True)}\n")


def render_json(synthesis: Synthesis) -> dict[str, Any]:
    return {
        "project": synthesis.project,
        "stack": synthesis.stack,
        "resources": [
            {
                "type": r.token,
                "name": r.name,
                "custom": r.custom,
                "parent": r.parent,
                "armId": r.arm.id if r.arm else None,
                "armType": r.arm.type if r.arm else None,
                "inputs": _jsonable(dict(r.inputs)),
            }
            for _, r in _ordered(synthesis)
        ],
        "outputs": _jsonable(dict(synthesis.outputs)),
    }


def _stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS_DIR.glob("Pulumi.*.yaml"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.render",
        description="Render a Pulumi stack offline and print what would be deployed, resource by resource.",
    )
    parser.add_argument(
        "--stack", default="dev", help=f"stack to render (default: dev; available: {', '.join(_stacks())})"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="read the stack's config from FILE instead of infra/stacks/Pulumi.<stack>.yaml",
    )
    parser.add_argument("--details", action="store_true", help="also print every input of every resource")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of text")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    if not valid_stack_name(args.stack):
        _error("usage error: ", f"--stack: {args.stack!r} is not a stack name (letters, digits, '-', '_', '.')")
        return EXIT_USAGE
    if args.config is not None:
        problem = _config_problem(args.config)
        if problem is not None:
            _error("error: ", f"{args.config}: {problem}")
            return EXIT_ERROR

    started = time.perf_counter()
    if not args.json:
        print(f"Rendering stack {args.stack} offline (Pulumi mock runtime)...", file=sys.stderr)
    try:
        synthesis = synthesize(args.stack, stack_file=args.config)
    except ConfigError as exc:
        _error("error: ", str(exc))
        return EXIT_ERROR
    except RecursionError:
        _error("error: ", f"{args.config or args.stack}: the configuration is nested too deeply")
        return EXIT_ERROR
    except Exception as exc:  # the command's boundary: one line and exit 2, never a traceback
        detail = " ".join(str(exc).split())[:300]
        _error("error: ", f"{args.config or args.stack}: unexpected {type(exc).__name__}: {detail}")
        return EXIT_ERROR
    try:
        if args.json:
            json.dump(render_json(synthesis), sys.stdout, indent=2, sort_keys=True)
            sys.stdout.write("\n")
        else:
            render_text(synthesis, sys.stdout, details=args.details)
        sys.stdout.flush()
    except BrokenPipeError:
        # Reader went away (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    if not args.json:
        print(f"\nRendered in {time.perf_counter() - started:.1f} s.", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
