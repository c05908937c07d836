"""``compliance-checks``: audit the Smart Portal's privacy promises and write auditor-grade reports.

Exit codes: 0 all verifiable promises kept, 1 a promise is broken, 2 something
could not be verified (error, unknown value, bad input), 64 wrong usage.

Every error ends in one line on standard error (``error: FILE: PLACE: problem``
or ``usage error: ...``) with control characters escaped; :func:`main` is the
boundary that turns anything unexpected into such a line too. Text taken from
input files is printed literally, never as console markup.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from compliance_checks import __version__
from compliance_checks.engine import EXIT_ERROR, EXIT_OK, EXIT_USAGE, EXIT_VIOLATION, AuditResult, evaluate
from compliance_checks.errors import ComplianceError, InputError, UsageError
from compliance_checks.findings import Severity
from compliance_checks.inventory import Inventory
from compliance_checks.live.settings import CLOUDS
from compliance_checks.progress import progress_bars, step_bar
from compliance_checks.report.templating import DEFAULT_LANGUAGE, LANGUAGES
from compliance_checks.sources import DEFAULT_SOURCE, SourceRequest
from compliance_checks.sources import OFFLINE_SOURCES as _OFFLINE
from compliance_checks.sources import SOURCES as _REGISTRY
from infra.render import valid_stack_name

# The choices follow the one table of sources (compliance_checks/sources/__init__.py).
SOURCES = tuple(_REGISTRY)
OFFLINE_SOURCES = _OFFLINE
FORMATS = ("json", "html", "md", "sarif", "junit", "pdf")
# `all` (the default) is every format but the PDF: printing it needs Chromium, and the default job
# (`make run`) must run without a browser. `--format all,pdf` or `--format html,pdf` adds it.
DEFAULT_FORMATS = ("json", "html", "md", "sarif", "junit")
FILE_NAMES = {
    "json": "results.json",
    "html": "report.html",
    "md": "report.md",
    "sarif": "results.sarif",
    "junit": "junit.xml",
    "pdf": "report.pdf",
}
VERDICT_STYLE = {
    "PASS": "green",
    "FAIL": "bold red",
    "ERROR": "yellow",
    "MANUAL": "blue",
    "NOT_APPLICABLE": "dim",
    "NOT_RUN": "dim",
}
EXIT_MEANING = {
    EXIT_OK: "every promise verified by the layers that ran is kept",
    EXIT_VIOLATION: "a promise is broken",
    EXIT_ERROR: "something could not be verified",
}


def terminal_safe(text: str) -> str:
    """``text`` with every control character, line break and unpaired surrogate escaped: one line, no escapes."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text
    )


def _literal(text: object) -> str:
    """Text from an input for a rich console: terminal-safe and with markup escaped, so it shows as written."""
    from rich.markup import escape

    return escape(terminal_safe(str(text)))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit 2, which means "error" here
        raise UsageError(f"{self.prog}: {message}")


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    # NO_COLOR (no-color.org): no colour and no other escape sequences either.
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, highlight=False, soft_wrap=True, color_system=None if plain else "auto")


_QUIET = {"on": False}  # --quiet: no progress messages either (set per command by main and cmd_audit)


def _progress(message: str) -> AbstractContextManager[Any]:
    """Show ``message`` (plain text, never markup) while the block runs."""
    console = _console(stderr=True)
    message = _literal(message)
    if _QUIET["on"]:
        return nullcontext()
    if not console.is_terminal:
        console.print(message, style="dim")
        return nullcontext()
    status: AbstractContextManager[Any] = console.status(message)
    return status


def _input_file(option: str, value: str | None) -> Path | None:
    """The file an option names, checked before any reader opens it: one-line errors, no traceback.

    A symbolic link loop, a directory, a pipe or device, a missing or
    unreadable file is an InputError naming it (the readers, through
    compliance_checks/input_files.py, check again when they open it).
    """
    if value is None:
        return None
    if not value:
        raise UsageError(f"{option}: expected a file name, got an empty string")
    path = Path(value)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(value, "", "file not found") from None
    except PermissionError:
        raise InputError(value, "", "permission denied") from None
    except OSError as exc:  # a symbolic link loop, a name too long, an I/O error
        raise InputError(value, "", f"cannot read the file ({exc.strerror or exc})") from None
    except ValueError:  # a NUL byte in the name
        raise InputError(value, "", "not a usable file name") from None
    if stat.S_ISDIR(mode):
        raise InputError(value, "", "is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise InputError(value, "", "is not a regular file (a pipe, socket or device)")
    if not os.access(path, os.R_OK):
        raise InputError(value, "", "permission denied")
    return path


def _source_request_usage(args: argparse.Namespace) -> None:
    """The source's options against the table of sources: usage errors (exit 64), before any file is read."""
    source = _REGISTRY[args.source]
    if source.needs_input and not args.input:
        raise UsageError(f"--source {source.name} needs --input FILE")
    if args.input and not source.accepts_input:
        raise UsageError(f"--source {source.name} reads no --input file")
    if getattr(args, "parameters", None) and not source.accepts_parameters:
        raise UsageError(f"--parameters is for --source arm, not --source {source.name}")
    if not valid_stack_name(args.stack):
        raise UsageError(f"--stack: {args.stack!r} is not a stack name (letters, digits, '-', '_', '.')")


def _source_request(args: argparse.Namespace, progress: Any = None) -> SourceRequest:
    """The request for the chosen source: its options checked, then its files (InputError, exit 2)."""
    _source_request_usage(args)
    return SourceRequest(
        stack=args.stack,
        input=_input_file("--input", args.input),
        parameters=_input_file("--parameters", getattr(args, "parameters", None)),
        options=args,
        progress=progress,
    )


def load_source(
    args: argparse.Namespace, progress: Any = None
) -> tuple[Inventory, list[dict[str, str]], str | None, dict[str, Any] | None]:
    """The inventory, the inputs (path + SHA-256), the stack it came from and (live) the collection section."""
    from compliance_checks.report.results import sha256_file

    request = _source_request(args, progress)
    source = _REGISTRY[args.source]
    with (
        _progress(source.activity.format(input=request.input, stack=request.stack)) if source.offline else nullcontext()
    ):
        loaded = source.load(request)
    inputs = []
    for shown, path in loaded.inputs:
        try:
            inputs.append({"path": shown, "sha256": sha256_file(path)})
        except OSError as exc:  # removed or made unreadable since it was read
            raise InputError(shown, "", f"cannot read the file ({exc.strerror or exc})") from None
    collection = dict(loaded.collection) if loaded.collection is not None else None
    return loaded.inventory, inputs, loaded.stack, collection


def run_audit(args: argparse.Namespace, today: dt.date) -> tuple[AuditResult, dict[str, Any]]:
    from compliance_checks.attestations import load_attestations
    from compliance_checks.catalog import load_catalog
    from compliance_checks.checks import load_checks
    from compliance_checks.policy_text import lint_translations
    from compliance_checks.report.results import build_results
    from compliance_checks.scope import foreign_probe_reason, probe_hosts, stack_host_names
    from compliance_checks.waivers import load_document_waivers, load_waivers

    catalog = load_catalog()
    checks = load_checks()
    waivers_file = _input_file("--waivers", args.waivers)
    waivers = load_waivers(waivers_file, checks) if waivers_file else []
    document_waivers = load_document_waivers(waivers_file, [c.id for c in catalog.claims]) if waivers_file else []
    baseline = _input_file("--baseline", getattr(args, "baseline", None))  # read when the results are built
    attestations_file = _input_file("--attestations", args.attestations)
    attestations = load_attestations(attestations_file, catalog.claims, today) if attestations_file else {}
    drift: dict[str, Any] | None = None
    if _REGISTRY[args.source].offline:
        inventory, inputs, stack, collection = load_source(args)
    if not _REGISTRY[args.source].offline or args.probe:
        with progress_bars(_console(stderr=True)) as progress:  # a bar per collector and per probe
            if not _REGISTRY[args.source].offline:
                inventory, inputs, stack, collection = load_source(args, progress)
                if args.drift_from:
                    drift = _drift(args, inventory, checks.values())
            if args.probe:
                inventory = _with_probes(args, inventory, step_bar(progress))
    extra: tuple[list[Any], dict[str, Any]] = ([], {})
    if getattr(args, "checkov", False):  # checkov on the stack exported as ARM: compliance_checks/checkov_bridge.py
        from compliance_checks.checkov_bridge import checkov_audit

        with _progress("Running checkov on the inventory exported as an ARM template…"):
            extra = checkov_audit(inventory, stack, today=today)
    layer = args.layer or _REGISTRY[args.source].layer
    probed = probe_hosts([args.probe, *(f"https://{e}" for e in args.probe_tls or ())]) if args.probe else []
    # A probe is evidence for this stack only when it probed one of the stack's host names (compliance_checks/scope.py).
    excluded = "" if args.probe_of_stack else foreign_probe_reason(probed, stack_host_names(inventory))
    with _progress(f"Evaluating {len(checks)} checks over {len(inventory)} resources…"):
        result = evaluate(
            inventory,
            catalog=catalog,
            checks=checks,
            waivers=waivers,
            attestations=attestations,
            disagreements=lint_translations(catalog),
            today=today,
            fail_on=Severity(args.fail_on),
            context={"catalog": catalog},
            extra_findings=extra[0],
            extra_checks=extra[1],
            layer=layer,
            fail_on_document=args.fail_on_document,
            document_waivers=document_waivers,
            observed_excluded=excluded,
        )
    scope = _scope(args, result, stack=stack, probed=probed, layer=layer, excluded=excluded)
    return result, build_results(
        result,
        source=args.source,
        stack=stack,
        inputs=inputs,
        collection=collection,
        drift=drift,
        baseline=baseline,
        scope=scope,
    )


def _scope(
    args: argparse.Namespace, result: AuditResult, *, stack: str | None, probed: list[str], layer: str, excluded: str
) -> dict[str, Any]:
    from compliance_checks.scope import scope_section

    placeholders = []
    if args.source == "synth":  # the offline synthesis runs under a mock subscription (infra/synth.py)
        from infra.synth import MOCK_SUBSCRIPTION_ID

        placeholders.append(f"subscription {MOCK_SUBSCRIPTION_ID} (the offline synthesis's mock subscription)")
    extra_sources = (["probe"] if args.probe else []) + (["checkov"] if getattr(args, "checkov", False) else [])
    return scope_section(
        sources=[args.source, *extra_sources],
        stack=stack,
        inventory=result.inventory,
        probed=probed,
        probes_count=bool(probed) and not excluded,
        probe_of_stack=bool(args.probe_of_stack),
        layer=layer,
        started_at=result.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        finished_at=result.finished_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        tool_version=__version__,
        placeholders=placeholders,
    )


def _drift(args: argparse.Namespace, live: Inventory, checks: Iterable[Any]) -> dict[str, Any]:
    """The desired state (``synth``: the --stack synthesized; else a Pulumi state export) against live."""
    from compliance_checks.drift import compare, drift_section

    if args.drift_from == "synth":
        from compliance_checks.sources.synth import load_synth

        desired, _ = load_synth(args.stack)
        name = f"synth (stack {args.stack})"
    else:
        from compliance_checks.sources.pulumi_state import load_pulumi_state

        drift_file = _input_file("--drift-from", args.drift_from)
        assert drift_file is not None  # args.drift_from is set here
        desired, name = load_pulumi_state(drift_file), str(args.drift_from)
    return drift_section(name, compare(desired, live, checks))


def _with_probes(args: argparse.Namespace, inventory: Inventory, step: Callable[[str], Any]) -> Inventory:
    from compliance_checks.probes.run import ProbeTarget, parse_endpoint, run_probes

    target = ProbeTarget(
        url=args.probe,
        http_url=args.probe_http_url,
        ca_file=Path(args.probe_ca) if args.probe_ca else None,
        paths=tuple(args.probe_path or ()),
        database=parse_endpoint(args.database) if args.database else None,
        vantage_is_allowed=args.vantage_is_allowed_ip,
        host_resolver_rules=args.host_resolver_rules,
        tls_endpoints=tuple(parse_endpoint(e, "--probe-tls") for e in args.probe_tls or ()),
        crawl=_crawl(args),
        evidence_dir=_evidence_dir(args),
        chromium=Path(args.chromium) if args.chromium else None,
    )
    records = run_probes(target, step)
    return Inventory([*inventory.resources, *records], sources=[*inventory.sources, "probe"], gaps=inventory.gaps)


def _crawl(args: argparse.Namespace) -> Any:
    """The browser probe's bounds from --probe-depth/--probe-max-pages/--probe-time-budget/--probe-settle."""
    from compliance_checks.probes.browser import Crawl

    for option, value in (("--probe-depth", args.probe_depth), ("--probe-max-pages", args.probe_max_pages)):
        if value < 0 or (option == "--probe-max-pages" and value < 1):
            raise UsageError(f"{option}: expected a positive number, got {value}")
    for option, seconds in (("--probe-time-budget", args.probe_time_budget), ("--probe-settle", args.probe_settle)):
        if not 0 <= seconds <= 3600:
            raise UsageError(f"{option}: expected seconds from 0 to 3600, got {seconds:g}")
    return Crawl(
        max_depth=args.probe_depth,
        max_pages=args.probe_max_pages,
        time_budget_s=args.probe_time_budget,
        settle_s=args.probe_settle,
    )


def _evidence_dir(args: argparse.Namespace) -> Path:
    """A private directory for the probes' HAR and screenshots; write_reports moves it into the report."""
    from compliance_checks.report.manifest import EVIDENCE_DIR

    args.probe_evidence = Path(tempfile.mkdtemp(prefix="compliance-evidence-")) / EVIDENCE_DIR
    return Path(args.probe_evidence)


def write_reports(
    results: dict[str, Any],
    formats: Sequence[str],
    out: Path,
    evidence: Path | None = None,
    *,
    sign_key: Any = None,
    lang: str = "en",
    chromium: Path | None = None,
    pretty: bool = False,
) -> list[Path]:
    """Write into a fresh directory, then move it into place: no half-written report survives an error.

    With ``sign_key`` (report/signing.py SigningKey) the manifest names the key and ``manifest.sig`` signs it.

    The HTML, Markdown and PDF reports are written in ``lang``; the PDF is printed by ``chromium``
    (default: the probes' choice, compliance_checks/probes/browser.py).

    results.json is compact and streamed to its file (report/results.py write_results_json); ``pretty``
    adds the same document indented, as results.pretty.json, listed in the manifest like every file.
    """
    from compliance_checks.report.manifest import PRETTY_RESULTS_NAME, SIGNATURE_NAME, write_manifest
    from compliance_checks.report.results import collection_paused, write_results_json

    writers: dict[str, Callable[[dict[str, Any], Path], Any]] = {"json": write_results_json}
    if "html" in formats:
        from compliance_checks.report.html import render_html

        writers["html"] = lambda r, p: p.write_text(render_html(r, lang=lang), encoding="utf-8")
    if "md" in formats:
        from compliance_checks.report.markdown import render_markdown

        writers["md"] = lambda r, p: p.write_text(render_markdown(r, lang=lang), encoding="utf-8")
    if "sarif" in formats:
        from compliance_checks.report.sarif import write_sarif

        writers["sarif"] = write_sarif
    if "junit" in formats:
        from compliance_checks.report.junit import write_junit

        writers["junit"] = write_junit
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    except OSError as exc:
        raise InputError(str(out), "", f"cannot create the report directory ({exc.strerror or exc})") from None
    try:
        written = []
        with collection_paused():  # millions of short-lived objects at scale, none in a cycle (results.py)
            for fmt in ("json", *[f for f in FORMATS if f in formats and f not in ("json", "pdf")]):
                path = staging / FILE_NAMES[fmt]
                writers[fmt](results, path)
                written.append(path)
            if pretty:
                write_results_json(results, staging / PRETTY_RESULTS_NAME, pretty=True)
                written.append(staging / PRETTY_RESULTS_NAME)
        if "pdf" in formats:  # bytes, printed by Chromium from the same HTML (report/pdf.py)
            from compliance_checks.report.pdf import render_pdf

            path = staging / FILE_NAMES["pdf"]
            path.write_bytes(render_pdf(results, lang=lang, executable=chromium))
            written.append(path)
        if evidence is not None and evidence.is_dir():  # the browser's HAR and screenshots, listed like the rest
            shutil.copytree(evidence, staging / evidence.name)
            written.extend(sorted(p for p in (staging / evidence.name).rglob("*") if p.is_file()))
        write_manifest(staging, written, results=results, signature=None if sign_key is None else sign_key.record())
        if sign_key is not None:
            from compliance_checks.report.signing import sign_manifest

            sign_manifest(staging, sign_key)
        if out.is_dir() and not out.is_symlink():
            shutil.rmtree(out)
        staging.rename(out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(str(out), "", f"cannot write the report ({exc.strerror or exc})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    signed = [out / SIGNATURE_NAME] if sign_key is not None else []
    return [out / p.name for p in written] + [out / "manifest.json", *signed]


def _check_out(out: Path) -> None:
    """Refuse an output directory an audit must not replace: only a former report (or nothing) is replaced.

    The new report replaces ``out`` as a whole, so ``--out`` naming a file, a
    symbolic link or a directory with anything but a report in it (``--out .``)
    is an InputError before anything is read.
    """
    from compliance_checks.report.manifest import (
        CHECKSUM_NAME,
        EVIDENCE_DIR,
        INVALID_NAME,
        MANIFEST_NAME,
        PRETTY_RESULTS_NAME,
        REPORT_FILES,
        SIGNATURE_NAME,
    )

    source = str(out)
    try:
        if out.is_symlink():
            raise InputError(source, "", "--out is a symbolic link; give the report directory itself")
        if not out.exists():
            return
        if not out.is_dir():
            raise InputError(source, "", "--out names a file, not a report directory")
        names = {entry.name for entry in out.iterdir()}
    except OSError as exc:
        raise InputError(source, "", f"cannot use as the report directory ({exc.strerror or exc})") from None
    if names and not names & {MANIFEST_NAME, INVALID_NAME}:
        raise InputError(source, "", "--out is a directory that holds no report; not replacing it (choose another)")
    written = {MANIFEST_NAME, CHECKSUM_NAME, SIGNATURE_NAME, INVALID_NAME, EVIDENCE_DIR, PRETTY_RESULTS_NAME}
    unexpected = names - {*written, *REPORT_FILES}
    if unexpected:
        first = sorted(unexpected)[0]
        raise InputError(source, "", f"holds {first!r}, which no audit writes; not replacing it (remove it first)")


def _invalidate(out: Path, reason: str) -> None:
    """Mark the report directory as holding no valid report (manifest.invalidate), or fail with a one-line error."""
    from compliance_checks.report.manifest import invalidate

    try:
        invalidate(out, reason)
    except OSError as exc:
        raise InputError(str(out), "", f"cannot remove the previous report ({exc.strerror or exc})") from None


def print_summary(results: dict[str, Any], paths: Sequence[Path]) -> None:
    from rich.table import Table
    from rich.text import Text

    console = _console()
    summary = results["summary"]
    # The policy text is its own subject: its disagreements come first, with the decision they need.
    if results["document"]:
        gate = "fail this run (--fail-on-document)" if summary.get("failOnDocument") else "do not fail this run"
        console.print(
            f"[bold]Policy text[/]: {len(results['document'])} disagreement(s) between German and English ({gate}):"
        )
    for item in results["document"]:
        message = item["message"].removeprefix(f"{item['claimId']}: ")
        decided = " [dim](decided: waiver)[/]" if item.get("waiver") else ""
        console.print(f"  [bold red]POLICY TEXT[/] {_literal(item['claimId'])}: {_literal(message)}{decided}")
        suggestion = item.get("suggestion") or {}
        if suggestion.get("de") and suggestion.get("en"):  # the corrected sentences, for the organisation to decide
            console.print(f"    suggested (de): {_literal(suggestion['de'])}")
            console.print(f"    suggested (en): {_literal(suggestion['en'])}")
    table = Table(title="Privacy-policy claims", show_lines=False)
    table.add_column("Claim", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Layers (what ran, what did not)")
    for claim in results["claims"]:
        verdict = claim["verdict"]
        layers = "; ".join(layer["summary"] for layer in claim.get("layers", ()))
        table.add_row(
            Text(terminal_safe(claim["id"])),
            Text(terminal_safe(verdict), style=VERDICT_STYLE.get(verdict, "")),
            Text(terminal_safe(layers or claim["title"])),
        )
    console.print(table)
    # Resource IDs and messages carry text from the input files: shown literally, never as markup.
    problems = [
        f
        for f in results["findings"]
        if f["verdict"] in ("FAIL", "ERROR") and not f["waiver"] and not f.get("excluded")
    ]
    for finding in problems[:15]:
        console.print(
            f"  [{VERDICT_STYLE[finding['verdict']]}]{finding['verdict']}[/] {_literal(finding['checkId'])}: "
            f"{_literal(finding['resourceId'].rsplit('/', 1)[-1])}: {_literal(finding['message'])}"
        )
    if len(problems) > 15:
        console.print(f"  … {len(problems) - 15} more in the report")
    excluded = [f for f in results["findings"] if f.get("excluded")]
    if excluded:
        console.print(f"  [dim]{len(excluded)} probe finding(s) not counted: {_literal(excluded[0]['excluded'])}[/]")
    scope = results.get("scope") or {}
    if scope:
        probed = ", ".join(scope.get("probedHosts") or []) or "none"
        console.print(
            f"\nAudited: {_literal(', '.join(scope.get('sources') or []))}"
            f"{' stack ' + _literal(scope['stack']) if scope.get('stack') else ''} as the {_literal(scope.get('layer'))}"
            f" state; probed hosts: {_literal(probed)}"
            + (" [dim](IDs are placeholders of the offline synthesis)[/]" if scope.get("placeholderIds") else "")
        )
    counts = ", ".join(f"{n} {v}" for v, n in summary["claims"].items() if n)
    console.print(f"\nClaims: {counts}. Exit {summary['exitCode']}: {EXIT_MEANING[summary['exitCode']]}.")
    if "comparison" in results:  # audit --baseline FILE
        from compliance_checks.report.baseline import summary_line

        console.print(_literal(summary_line(results["comparison"])))
    for path in paths:
        console.print(f"  wrote {_literal(path)}")


def _check_audit_usage(args: argparse.Namespace) -> tuple[list[str], dt.date]:
    """Everything about the command line that can be wrong (exit 64) before any file is touched."""
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if formats == ["all"]:
        formats = list(DEFAULT_FORMATS)
    elif "all" in formats:  # e.g. all,pdf
        formats = [*DEFAULT_FORMATS, *(f for f in formats if f != "all" and f not in DEFAULT_FORMATS)]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise UsageError(f"--format: unknown format {', '.join(unknown)} (choose from {', '.join(FORMATS)} or all)")
    if not formats:
        raise UsageError(f"--format: no format given (choose from {', '.join(FORMATS)} or all)")
    if args.drift_from and _REGISTRY[args.source].offline:
        raise UsageError("--drift-from compares with the live estate: it needs --source live")
    if args.out is not None and not args.out:
        raise UsageError("--out: expected a directory name, got an empty string")
    try:
        today = dt.date.fromisoformat(args.today) if args.today else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise UsageError(f"--today: {args.today!r} is not a date like 2027-01-31") from None
    _source_request_usage(args)
    return formats, today


def cmd_audit(args: argparse.Namespace) -> int:
    _QUIET["on"] = bool(args.quiet)
    formats, today = _check_audit_usage(args)
    out = (
        Path(args.out)
        if args.out
        else Path("reports") / (f"{args.source}-{args.stack}" if args.source == "synth" else args.source)
    )
    _check_out(out)
    # From here on the previous report is gone: an audit that fails (bad input, interrupted, a crash)
    # leaves INVALID with the reason, never a report that looks finished (docs/compliance-checks.md).
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _invalidate(out, f"An audit started at {started} has not finished; this directory holds no valid report.")
    try:
        result, results = run_audit(args, today)
        with _progress(f"Writing {', '.join(formats)} to {out}…"):
            paths = write_reports(
                results,
                formats,
                out,
                getattr(args, "probe_evidence", None),
                sign_key=getattr(args, "sign_key", None),
                lang=args.lang,
                chromium=Path(args.chromium) if getattr(args, "chromium", None) else None,
                pretty=bool(getattr(args, "pretty", False)),
            )
    except BaseException as exc:
        reason = terminal_safe(str(exc)) if isinstance(exc, ComplianceError) else type(exc).__name__
        with contextlib.suppress(ComplianceError):  # the audit's own error is the one to report
            _invalidate(out, f"The audit started at {started} failed ({reason}); this directory holds no valid report.")
        raise
    finally:  # the probes' evidence was copied into the report (or the audit failed): its staging goes
        if getattr(args, "probe_evidence", None) is not None:
            shutil.rmtree(args.probe_evidence.parent, ignore_errors=True)
    if not args.quiet:
        print_summary(results, paths)
    return result.exit_code


def cmd_claims(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from compliance_checks.catalog import load_catalog

    catalog = load_catalog()
    verdicts: dict[str, str] = {}
    results_file = _input_file("--results", args.results)
    if results_file is not None:
        from compliance_checks.report.results import read_results

        document = read_results(results_file)  # schema-valid: each claim has a string id and a known verdict
        verdicts = {c["id"]: c["verdict"] for c in document["claims"]}
    console = _console()
    table = Table(title="Claims of the privacy policy")
    table.add_column("Claim", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Checks / attestation", overflow="fold", ratio=1)
    table.add_column("English text", ratio=2)
    for claim in sorted(catalog.claims, key=lambda c: c.id):
        status = verdicts.get(claim.id, "not audited")
        style = VERDICT_STYLE.get(status, "dim")
        evidence = ", ".join(claim.checks) + (" + attestation" if claim.attestation_required else "")
        kind = "tech" if claim.kind == "technical" else "org"
        # Text objects are printed as written: a status from the file can carry no markup or escape sequence.
        table.add_row(
            claim.id, kind, Text(terminal_safe(status), style=style), evidence.strip(" +"), " ".join(claim.text_en)
        )
    console.print(table)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    import inspect

    from compliance_checks.catalog import load_catalog
    from compliance_checks.checks import load_checks

    checks = load_checks()
    check = checks.get(args.check_id)
    if check is None:
        close = [c for c in checks if args.check_id.lower() in c]
        hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
        raise UsageError(
            f"explain: unknown check {args.check_id!r}{hint}; `compliance-checks explain --list` lists them"
        )
    meta = check.meta
    # The module docstring is the check's user documentation.
    doc = inspect.getdoc(sys.modules.get(f"compliance_checks.checks.{meta.id}")) or ""
    console = _console()
    console.print(f"[bold]{meta.id}[/]: {meta.title}")
    console.print(f"Severity: {meta.severity.value}")
    for claim in load_catalog().claims_for_check(meta.id):
        console.print(f"Claim {claim.id}: {' '.join(claim.text_en)}")
    console.print(f"\n{doc}\n\nWhy: {meta.rationale}\nFix: {meta.remediation}")
    for reference in meta.references:
        console.print(f"See: {reference}")
    return EXIT_OK


def cmd_list_checks() -> int:
    from compliance_checks.checks import load_checks

    for check in load_checks().values():
        print(f"{check.meta.id:40} {check.meta.severity.value:9} {check.meta.title}")
    return EXIT_OK


def cmd_export_arm(args: argparse.Namespace) -> int:
    from compliance_checks.export_arm import export_template

    if args.out is not None and not args.out:
        raise UsageError("--out: expected a file name or -, got an empty string")
    inventory, _, _, _ = load_source(args)
    text = json.dumps(export_template(inventory), indent=2) + "\n"
    if args.out in (None, "-"):
        sys.stdout.write(text)
        return EXIT_OK
    from compliance_checks.input_files import write_atomically

    write_atomically(args.out, text, "the template")  # a failure never leaves half a template
    _console(stderr=True).print(f"wrote {_literal(args.out)}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from compliance_checks.report.manifest import check_report_directory, verify_manifest

    directory = Path(args.directory)
    if not args.directory:
        raise UsageError("verify-report: expected a report directory, got an empty string")
    check_report_directory(directory)  # not a report directory at all: an input error (exit 2), not tampering
    console = _console()
    pinned = getattr(args, "public_key", None)  # report/signing.py PublicKey, loaded by the parser
    signed: bytes | None = None
    if pinned is not None:  # the signature first: hashes in a manifest that is not authentic prove nothing
        from compliance_checks.report.signing import verify_signature

        refused, signed = verify_signature(directory, pinned)
        for problem in refused:
            console.print(f"[bold red]NOT AUTHENTIC[/] {_literal(problem)}")
        if refused:
            return EXIT_VIOLATION
    problems = verify_manifest(directory, manifest_bytes=signed)
    if problems:
        for problem in problems:
            console.print(f"[bold red]TAMPERED[/] {_literal(problem)}")
        return EXIT_VIOLATION
    manifest = _literal(directory / "manifest.json")
    if pinned is not None:
        console.print(
            f"[green]OK[/] {manifest} is signed by the pinned key {pinned.fingerprint} "
            f"({_literal(pinned.source)}) and every file it lists is intact."
        )
        return EXIT_OK
    console.print(f"[green]OK[/] every file listed in {manifest} is intact.")
    console.print(
        "Integrity only, not authenticity: anyone who can write the directory can re-seal it; "
        "give the signer's public key with --public-key to check manifest.sig."
    )
    return EXIT_OK


def _signing(name: str) -> Callable[[Any], Any]:
    """A function of report/signing.py, imported when first called (cryptography loads only for keys)."""

    def call(value: Any) -> Any:
        from compliance_checks.report import signing

        return getattr(signing, name)(value)

    return call


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="compliance-checks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    audit = commands.add_parser(
        "audit",
        help="audit a source and write reports (default: the dev stack, offline)",
        description="Audit the privacy promises against a source and write reports.",
    )
    audit.add_argument("--stack", default="dev", help="stack for --source synth (default: dev)")
    audit.add_argument(
        "--source",
        choices=SOURCES,
        default=DEFAULT_SOURCE,
        help=f"where the configuration comes from (default: {DEFAULT_SOURCE}): "
        + "; ".join(f"{s.name}: {s.description.replace('`', '')}" for s in _REGISTRY.values()),
    )
    audit.add_argument(
        "--input", metavar="FILE", help="input file: stack config (synth), stack export, preview JSON or ARM template"
    )
    audit.add_argument("--parameters", metavar="FILE", help="ARM parameters file (with --source arm)")
    audit.add_argument(
        "--format",
        default="all",
        help=f"comma-separated: {', '.join(FORMATS)}, or all (default: every one but pdf, which needs Chromium)",
    )
    audit.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=DEFAULT_LANGUAGE,
        help=f"language of report.html, report.md and report.pdf (default: {DEFAULT_LANGUAGE})",
    )
    audit.add_argument("--out", metavar="DIR", help="report directory (default: reports/<source>[-<stack>])")
    audit.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        default="low",
        help="lowest severity of a FAIL that makes the exit code 1 (default: low)",
    )
    audit.add_argument(
        "--layer",
        choices=("declared", "deployed"),
        help="what the source holds (default: declared for synth, pulumi-preview and arm templates; deployed for"
        " pulumi-state and live); --layer deployed for an ARM export (az group export)",
    )
    audit.add_argument(
        "--fail-on-document",
        action="store_true",
        help="exit 1 when the German and English policy texts disagree, unless a 'document' waiver records the"
        " decision (default: reported on top, not failing)",
    )
    audit.add_argument("--waivers", metavar="FILE", help="YAML file of waivers (and 'document' decisions)")
    audit.add_argument("--attestations", metavar="FILE", help="YAML file of attestations for organisational claims")
    audit.add_argument("--baseline", metavar="FILE", help="results.json of an earlier audit: list new and fixed ones")
    audit.add_argument(
        "--checkov",
        action="store_true",
        help="also run checkov (make checkov-env) on the inventory exported as ARM; suppressions: policies/checkov/suppressions.yaml",
    )
    audit.add_argument(
        "--probe", metavar="URL", help="also probe the running portal at this https URL (TLS, headers, browser)"
    )
    audit.add_argument(
        "--probe-http-url", metavar="URL", help="the portal's plain-HTTP address (default http://<host>/)"
    )
    audit.add_argument(
        "--probe-ca", metavar="FILE", help="CA bundle to trust for the probes instead of the system store"
    )
    audit.add_argument(
        "--probe-path",
        metavar="PATH",
        action="append",
        help="page to visit (repeatable; default: the --probe URL's path)",
    )
    audit.add_argument(
        "--probe-tls",
        metavar="HOST:PORT",
        action="append",
        help="with --probe: another public TLS endpoint to scan, e.g. the SCM site (repeatable)",
    )
    audit.add_argument(
        "--probe-depth",
        type=int,
        default=2,
        metavar="N",
        help="with --probe: link hops the browser follows (default: 2)",
    )
    audit.add_argument(
        "--probe-max-pages",
        type=int,
        default=25,
        metavar="N",
        help="with --probe: pages the browser visits (default: 25)",
    )
    audit.add_argument(
        "--probe-time-budget",
        type=float,
        default=180,
        metavar="SECONDS",
        help="with --probe: no new page after this long in the browser (default: 180)",
    )
    audit.add_argument(
        "--probe-settle",
        type=float,
        default=1.5,
        metavar="SECONDS",
        help="with --probe: wait after network idle on each page, for delayed scripts (default: 1.5)",
    )
    audit.add_argument("--database", metavar="HOST:PORT", help="with --probe: try the database port from here")
    audit.add_argument(
        "--probe-of-stack",
        action="store_true",
        help="with --probe: the target serves the audited stack although it is not one of its host names"
        " (e.g. a staging address); without it such probes are reported but do not count",
    )
    audit.add_argument(
        "--chromium",
        metavar="PATH",
        help="with --probe: the Chromium to launch (default: $COMPLIANCE_CHROMIUM, else /usr/bin/chromium)",
    )
    audit.add_argument(
        "--vantage-is-allowed-ip",
        action="store_true",
        help="this machine is the allowed IP itself (the database port may answer)",
    )
    live = audit.add_argument_group(
        "live collection (--source live)",
        "Reads ARM, Resource Graph and Microsoft Graph with DefaultAzureCredential; needs Reader on the"
        " subscriptions and Graph Policy.Read.All + GroupMember.Read.All (docs/live-audit.md).",
    )
    live.add_argument(
        "--subscription",
        metavar="ID",
        action="append",
        help="subscription to read (repeatable; default: $AZURE_SUBSCRIPTION_ID)",
    )
    live.add_argument(
        "--cloud", choices=sorted(CLOUDS), default="AzureCloud", help="endpoints of this cloud (default: AzureCloud)"
    )
    live.add_argument("--arm-endpoint", metavar="URL", help="ARM endpoint (or $COMPLIANCE_ARM_ENDPOINT)")
    live.add_argument(
        "--graph-endpoint", metavar="URL", help="Microsoft Graph endpoint (or $COMPLIANCE_GRAPH_ENDPOINT)"
    )
    live.add_argument("--arm-scope", metavar="SCOPE", help="token scope for ARM (default: <arm endpoint>/.default)")
    live.add_argument(
        "--graph-scope", metavar="SCOPE", help="token scope for Graph (default: <graph endpoint>/.default)"
    )
    live.add_argument(
        "--ca-bundle", metavar="FILE", help="CA bundle to trust for ARM and Graph (or $COMPLIANCE_CA_BUNDLE)"
    )
    live.add_argument("--concurrency", type=int, metavar="N", help="parallel requests (default: 16)")
    live.add_argument(
        "--deadline", type=float, metavar="SECONDS", help="end the collection after this long (default: 900)"
    )
    live.add_argument(
        "--drift-from",
        metavar="synth|FILE",
        help="compare live with the desired state: the synthesized --stack, or a `pulumi stack export` file",
    )
    audit.add_argument("--host-resolver-rules", help=argparse.SUPPRESS)
    audit.add_argument("--today", metavar="DATE", help=argparse.SUPPRESS)
    audit.add_argument(
        "--no-cache",
        action="store_true",
        help="synth: run the program even if a cached synthesis of the same program, config and lock exists",
    )
    audit.add_argument("-q", "--quiet", action="store_true", help="no progress messages and no terminal summary")
    audit.add_argument(
        "--pretty",
        action="store_true",
        help="also write results.pretty.json, results.json indented for reading (results.json itself is compact)",
    )
    audit.add_argument(
        "--sign-key",
        metavar="FILE",
        type=_signing("load_signing_key"),
        default=os.environ.get("COMPLIANCE_SIGN_KEY") or None,
        help="Ed25519 private key (PEM PKCS#8) to sign manifest.json with, into manifest.sig ($COMPLIANCE_SIGN_KEY)",
    )
    audit.set_defaults(handler=cmd_audit)

    claims = commands.add_parser("claims", help="list the claims of the privacy policy and their status")
    claims.add_argument("--results", metavar="FILE", help="results.json of an audit to take the status from")
    claims.set_defaults(handler=cmd_claims)

    explain = commands.add_parser("explain", help="explain a check: what, why, how to fix")
    explain.add_argument("check_id", nargs="?", metavar="CHECK_ID")
    explain.add_argument("--list", action="store_true", help="list every check")
    explain.set_defaults(handler=lambda a: cmd_list_checks() if a.list or not a.check_id else cmd_explain(a))

    export = commands.add_parser(
        "export-arm",
        help="write a stack (or another source) as an ARM template, e.g. for checkov",
        description="Export the inventory as an ARM deployment template (secrets as a secure parameter).",
    )
    export.add_argument("--stack", default="dev", help="stack for --source synth (default: dev)")
    export.add_argument(
        "--source",
        choices=OFFLINE_SOURCES,
        default=DEFAULT_SOURCE,
        help=f"where the configuration comes from (default: {DEFAULT_SOURCE})",
    )
    export.add_argument("--input", metavar="FILE", help="input file for sources other than synth")
    export.add_argument("--parameters", metavar="FILE", help="ARM parameters file (with --source arm)")
    export.add_argument("--out", metavar="FILE", help="template file (default: standard output)")
    export.set_defaults(handler=cmd_export_arm)

    verify = commands.add_parser("verify-report", help="verify a report directory against its manifest")
    verify.add_argument("directory", metavar="DIR")
    verify.add_argument(
        "--public-key",
        metavar="FILE",
        type=_signing("load_public_key"),
        help="the signer's Ed25519 public key (PEM), pinned: manifest.sig must hold with it (checked first)",
    )
    verify.set_defaults(handler=cmd_verify)

    keygen = commands.add_parser("keygen", help="write an Ed25519 key pair to sign reports with (audit --sign-key)")
    keygen.add_argument(
        "--out", metavar="FILE", required=True, help="private key file (mode 0600); the public key goes to FILE.pub"
    )
    keygen.set_defaults(handler=_signing("cmd_keygen"))

    from compliance_checks.trackers import add_cli as add_trackers_cli  # `trackers update|show`, owned there

    add_trackers_cli(commands)
    from compliance_checks.attestations import add_cli as add_attestations_cli  # `attestations template`
    from compliance_checks.policy_text import add_cli as add_policy_text_cli  # `policy-text`

    add_attestations_cli(commands)
    add_policy_text_cli(commands)
    return parser


def _error_line(prefix: str, message: str) -> None:
    """One line on standard error, whatever the message holds (file names with line breaks, escape sequences)."""
    line = terminal_safe(message or "no detail")
    with contextlib.suppress(OSError, ValueError):  # standard error itself is gone: the exit code still says it
        print(f"{prefix}{line}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the boundary where every failure becomes an exit code and at most one line on stderr."""
    _QUIET["on"] = False
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["audit", *(argv or [])])
        code: int = args.handler(args)
        return code
    except UsageError as exc:
        _error_line("usage error: ", str(exc))
        return EXIT_USAGE
    except ComplianceError as exc:
        _error_line("error: ", str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _error_line("error: ", "interrupted; no report was written")
        return EXIT_ERROR
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except RecursionError:
        _error_line("error: ", "an input is nested too deeply to process; no report was written")
        return EXIT_ERROR
    except Exception as exc:  # the documented boundary: no traceback, exit 2 ("could not verify")
        detail = " ".join(str(exc).split())[:300]
        _error_line(
            "error: ", f"unexpected {type(exc).__name__}: {detail} (a bug in compliance-checks; please report it)"
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
