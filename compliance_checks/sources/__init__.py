"""Source adapters: each turns one kind of input into an Inventory.

:data:`SOURCES` is the one table of them. The command line's ``--source``
choices (``audit``; ``export-arm`` takes the offline ones), its dispatch, the
guide's Sources table (docs/compliance-checks.md) and the ``source`` enum of
the results schema (report/schemas/results-1.0.json, together with
:data:`OTHER_ORIGINS`) all follow it; tests/test_entry_points.py fails when the
guide or the schema disagree.

A loader takes a :class:`SourceRequest` and returns a :class:`Loaded`; bad
input raises :class:`~compliance_checks.errors.ComplianceError` (an
``InputError`` naming the file and the place), never anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from compliance_checks.errors import ComplianceError
from compliance_checks.inventory import Inventory


@dataclass(frozen=True)
class SourceRequest:
    """What the command line asks of a source."""

    stack: str
    input: Path | None = None
    parameters: Path | None = None
    options: Any = None
    """The parsed command line, for options only one source reads (``--subscription`` ... for ``live``)."""
    progress: Any = None
    """Where a long-running collector reports progress (``live``)."""


@dataclass(frozen=True)
class Loaded:
    inventory: Inventory
    inputs: list[tuple[str, Path]]
    """The files read, as shown in the report and as opened (the CLI records their SHA-256)."""
    stack: str | None = None
    collection: Mapping[str, Any] | None = None
    """``live`` only: where the collector read and what it could not read (``run.collection``)."""


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    """What the source reads: the "input" column of the guide's Sources table, word for word."""
    needs_input: bool
    offline: bool
    load: Callable[[SourceRequest], Loaded] = field(repr=False)
    accepts_input: bool = True
    accepts_parameters: bool = False
    activity: str = "Reading {input}…"
    """The progress message while loading; ``{input}`` and ``{stack}`` are filled in."""
    layer: str = "deployed"
    """The layer of evidence the source holds (compliance_checks/layers.py): ``declared`` (what a program or
    template asks for) or ``deployed`` (what exists); ``audit --layer`` overrides it (an ARM export)."""


def _load_synth(request: SourceRequest) -> Loaded:
    from compliance_checks.sources.synth import load_synth_inventory
    from infra.synth import REPO_ROOT, stack_path

    stack_file = request.input or stack_path(request.stack)
    # Reused from the synthesis cache unless --no-cache (compliance_checks/sources/synth_cache.py).
    cache = not getattr(request.options, "no_cache", False)
    inventory = load_synth_inventory(request.stack, stack_file=request.input, cache=cache)
    absolute = stack_file.absolute()
    shown = absolute.relative_to(REPO_ROOT) if absolute.is_relative_to(REPO_ROOT) else stack_file
    return Loaded(inventory, [(str(shown), stack_file)], request.stack)


def _needs(request: SourceRequest) -> Path:
    if request.input is None:  # the CLI checks this first; a loader called directly still fails closed
        raise ComplianceError("this source needs an input file")
    return request.input


def _load_pulumi_state(request: SourceRequest) -> Loaded:
    from compliance_checks.sources.pulumi_state import load_pulumi_state

    path = _needs(request)
    return Loaded(load_pulumi_state(path), [(str(path), path)])


def _load_pulumi_preview(request: SourceRequest) -> Loaded:
    from compliance_checks.sources.pulumi_preview import load_pulumi_preview

    path = _needs(request)
    return Loaded(load_pulumi_preview(path), [(str(path), path)])


def _load_arm(request: SourceRequest) -> Loaded:
    from compliance_checks.sources.arm_template import load_arm_template

    path = _needs(request)
    inventory = load_arm_template(path, parameters=request.parameters)
    inputs = [(str(path), path)]
    if request.parameters is not None:
        inputs.append((str(request.parameters), request.parameters))
    return Loaded(inventory, inputs)


def _load_live(request: SourceRequest) -> Loaded:
    from compliance_checks.live.audit import collect_live, collection_section, settings_from_args

    settings = settings_from_args(request.options)
    try:
        inventory, collected = collect_live(settings, request.progress)
    except ComplianceError:
        raise
    except Exception as exc:  # boundary: the credential chain and HTTP stack may raise anything
        # A failure to sign in or to reach the endpoints is "could not verify" (exit 2), one line, no report.
        detail = " ".join(str(exc).split()) or "no detail"
        raise ComplianceError(f"live collection failed: {type(exc).__name__}: {detail[:300]}") from None
    return Loaded(inventory, [], None, collection_section(settings, collected))


_TABLE = (
    Source(
        "synth",
        "`infra/stacks/Pulumi.<stack>.yaml` (or `--input FILE`)",
        needs_input=False,
        offline=True,
        load=_load_synth,
        activity="Running the infra program for stack {stack} under Pulumi's mock runtime…",
        layer="declared",
    ),
    Source("pulumi-state", "JSON of `pulumi stack export`", needs_input=True, offline=True, load=_load_pulumi_state),
    Source(
        "pulumi-preview",
        "JSON of `pulumi preview --json --show-sames`",
        needs_input=True,
        offline=True,
        load=_load_pulumi_preview,
        layer="declared",
    ),
    Source(
        "arm",
        "ARM template or `az group export`",
        needs_input=True,
        offline=True,
        load=_load_arm,
        accepts_parameters=True,
        # A template is a desired state; an export (`az group export`) is a copy of the deployed one: --layer deployed.
        layer="declared",
    ),
    Source(
        "live",
        "the running estate: Resource Graph, ARM, Microsoft Graph (`--subscription`, docs/live-audit.md)",
        needs_input=False,
        offline=False,
        load=_load_live,
        accepts_input=False,
        activity="Collecting the live estate…",
    ),
)

SOURCES: Mapping[str, Source] = MappingProxyType({source.name: source for source in _TABLE})
"""Every source ``--source`` accepts, by name, in the order the help and the guide list them."""

OFFLINE_SOURCES: tuple[str, ...] = tuple(name for name, source in SOURCES.items() if source.offline)
DEFAULT_SOURCE = "synth"

OTHER_ORIGINS: Mapping[str, str] = MappingProxyType(
    {
        "probe": "active probes of the running portal (compliance_checks/probes/)",
        "checkov": "checkov's findings on the inventory exported as ARM (compliance_checks/checkov_bridge.py)",
        "policy-text": "disagreements between the German and English policy text (compliance_checks/policy_text.py)",
    }
)
"""Where else a resource or finding can come from: not a ``--source``, but a value of ``source`` in results.json."""

__all__ = ["DEFAULT_SOURCE", "OFFLINE_SOURCES", "OTHER_ORIGINS", "SOURCES", "Loaded", "Source", "SourceRequest"]
