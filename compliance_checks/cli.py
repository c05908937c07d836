"""``compliance-checks``: audit the Smart Portal's privacy promises and write auditor-grade reports.

Exit codes: 0 all verifiable promises kept, 1 a promise is broken, 2 something
could not be verified (error, unknown value, bad input), 64 wrong usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from compliance_checks import __version__
from compliance_checks.engine import EXIT_ERROR, EXIT_OK, EXIT_USAGE, EXIT_VIOLATION, AuditResult, evaluate
from compliance_checks.errors import ComplianceError, UsageError
from compliance_checks.findings import Severity
from compliance_checks.inventory import Inventory
from compliance_checks.live.settings import CLOUDS
from compliance_checks.progress import progress_bars, step_bar

OFFLINE_SOURCES = ("synth", "pulumi-state", "pulumi-preview", "arm")
SOURCES = (*OFFLINE_SOURCES, "live")
FORMATS = ("json", "html", "md", "sarif", "junit")
FILE_NAMES = {
    "json": "results.json",
    "html": "report.html",
    "md": "report.md",
    "sarif": "results.sarif",
    "junit": "junit.xml",
}
VERDICT_STYLE = {"PASS": "green", "FAIL": "bold red", "ERROR": "yellow", "MANUAL": "blue", "NOT_APPLICABLE": "dim"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit 2, which means "error" here
        raise UsageError(f"{self.prog}: {message}")


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    # NO_COLOR (no-color.org): no colour and no other escape sequences either.
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, highlight=False, soft_wrap=True, color_system=None if plain else "auto")


def _progress(message: str) -> AbstractContextManager[Any]:
    console = _console(stderr=True)
    if not console.is_terminal:
        console.print(message, style="dim")
        return nullcontext()
    status: AbstractContextManager[Any] = console.status(message)
    return status


def load_source(args: argparse.Namespace) -> tuple[Inventory, list[dict[str, str]], str | None]:
    """The inventory, the inputs (path + SHA-256) and the stack it came from."""
    from compliance_checks.report.results import sha256_file

    def described(path: Path) -> dict[str, str]:
        return {"path": str(path), "sha256": sha256_file(path)}

    if args.source == "synth":
        from compliance_checks.sources.synth import load_synth
        from infra.synth import REPO_ROOT, stack_path

        stack_file = Path(args.input) if args.input else stack_path(args.stack)
        with _progress(f"Running the infra program for stack {args.stack} under Pulumi's mock runtime…"):
            inventory, _ = load_synth(args.stack, stack_file=stack_file if args.input else None)
        shown = (
            stack_file.resolve().relative_to(REPO_ROOT)
            if stack_file.resolve().is_relative_to(REPO_ROOT)
            else stack_file
        )
        return inventory, [{"path": str(shown), "sha256": sha256_file(stack_file)}], args.stack
    if not args.input:
        raise UsageError(f"--source {args.source} needs --input FILE")
    path = Path(args.input)
    inputs = [described(path)] if path.is_file() else []
    with _progress(f"Reading {path}…"):
        if args.source == "pulumi-state":
            from compliance_checks.sources.pulumi_state import load_pulumi_state

            inventory = load_pulumi_state(path)
        elif args.source == "pulumi-preview":
            from compliance_checks.sources.pulumi_preview import load_pulumi_preview

            inventory = load_pulumi_preview(path)
        else:
            from compliance_checks.sources.arm_template import load_arm_template

            parameters = Path(args.parameters) if args.parameters else None
            inventory = load_arm_template(path, parameters=parameters)
            if parameters is not None and parameters.is_file():
                inputs.append(described(parameters))
    return inventory, inputs, None


def run_audit(args: argparse.Namespace, today: dt.date) -> tuple[AuditResult, dict[str, Any]]:
    from compliance_checks.attestations import load_attestations
    from compliance_checks.catalog import load_catalog
    from compliance_checks.checks import load_checks
    from compliance_checks.policy_text import lint_translations
    from compliance_checks.report.results import build_results
    from compliance_checks.waivers import load_waivers

    catalog = load_catalog()
    checks = load_checks()
    waivers = load_waivers(Path(args.waivers), checks) if args.waivers else []
    attestations = (
        load_attestations(Path(args.attestations), [c.id for c in catalog.claims], today) if args.attestations else {}
    )
    collection: dict[str, Any] | None = None
    drift: dict[str, Any] | None = None
    inputs: list[dict[str, str]] = []
    stack: str | None = None
    if args.drift_from and args.source != "live":
        raise UsageError("--drift-from compares with the live estate: it needs --source live")
    if args.source != "live":
        inventory, inputs, stack = load_source(args)
    if args.source == "live" or args.probe:
        with progress_bars(_console(stderr=True)) as progress:  # a bar per collector and per probe
            if args.source == "live":
                from compliance_checks.live.audit import collect_live, collection_section, settings_from_args

                settings = settings_from_args(args)
                inventory, collected = collect_live(settings, progress)
                collection = collection_section(settings, collected)
                if args.drift_from:
                    drift = _drift(args, inventory, checks.values())
            if args.probe:
                inventory = _with_probes(args, inventory, step_bar(progress))
    extra: tuple[list[Any], dict[str, Any]] = ([], {})
    if getattr(args, "checkov", False):  # checkov on the stack exported as ARM: compliance_checks/checkov_bridge.py
        from compliance_checks.checkov_bridge import checkov_audit

        with _progress("Running checkov on the inventory exported as an ARM template…"):
            extra = checkov_audit(inventory, stack, today=today)
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
        )
    return result, build_results(
        result, source=args.source, stack=stack, inputs=inputs, collection=collection, drift=drift
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

        desired, name = load_pulumi_state(Path(args.drift_from)), str(args.drift_from)
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
    )
    records = run_probes(target, step)
    return Inventory([*inventory.resources, *records], sources=[*inventory.sources, "probe"], gaps=inventory.gaps)


def write_reports(results: dict[str, Any], formats: Sequence[str], out: Path) -> list[Path]:
    """Write into a fresh directory, then move it into place: no half-written report survives an error."""
    from compliance_checks.report.manifest import write_manifest

    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "json": lambda r: json.dumps(r, indent=2, sort_keys=False) + "\n"
    }
    if "html" in formats:
        from compliance_checks.report.html import render_html

        renderers["html"] = render_html
    if "md" in formats:
        from compliance_checks.report.markdown import render_markdown

        renderers["md"] = render_markdown
    if "sarif" in formats:
        from compliance_checks.report.sarif import render_sarif

        renderers["sarif"] = lambda r: json.dumps(render_sarif(r), indent=2) + "\n"
    if "junit" in formats:
        from compliance_checks.report.junit import render_junit

        renderers["junit"] = render_junit
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        written = []
        for fmt in ("json", *[f for f in FORMATS if f in formats and f != "json"]):
            path = staging / FILE_NAMES[fmt]
            path.write_text(renderers[fmt](results), encoding="utf-8")
            written.append(path)
        write_manifest(staging, written, results=results)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / p.name for p in written] + [out / "manifest.json"]


def print_summary(results: dict[str, Any], paths: Sequence[Path]) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="Privacy-policy claims", show_lines=False)
    table.add_column("Claim", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Title")
    for claim in results["claims"]:
        table.add_row(claim["id"], f"[{VERDICT_STYLE[claim['verdict']]}]{claim['verdict']}[/]", claim["title"])
    console.print(table)
    problems = [f for f in results["findings"] if f["verdict"] in ("FAIL", "ERROR") and not f["waiver"]]
    for finding in problems[:15]:
        console.print(
            f"  [{VERDICT_STYLE[finding['verdict']]}]{finding['verdict']}[/] {finding['checkId']}: "
            f"{finding['resourceId'].rsplit('/', 1)[-1]}: {finding['message']}"
        )
    if len(problems) > 15:
        console.print(f"  … {len(problems) - 15} more in the report")
    for item in results["document"]:
        message = item["message"].removeprefix(f"{item['claimId']}: ")
        console.print(f"  [bold red]POLICY TEXT[/] {item['claimId']}: {message}")
    summary = results["summary"]
    counts = ", ".join(f"{n} {v}" for v, n in summary["claims"].items() if n)
    meaning = {0: "all verifiable promises kept", 1: "promises broken", 2: "not everything could be verified"}
    console.print(f"\nClaims: {counts}. Exit {summary['exitCode']}: {meaning[summary['exitCode']]}.")
    for path in paths:
        console.print(f"  wrote {path}")


def cmd_audit(args: argparse.Namespace) -> int:
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if formats == ["all"]:
        formats = list(FORMATS)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise UsageError(f"--format: unknown format {', '.join(unknown)} (choose from {', '.join(FORMATS)} or all)")
    today = dt.date.fromisoformat(args.today) if args.today else dt.datetime.now(dt.UTC).date()
    result, results = run_audit(args, today)
    out = (
        Path(args.out)
        if args.out
        else Path("reports") / (f"{args.source}-{args.stack}" if args.source == "synth" else args.source)
    )
    with _progress(f"Writing {', '.join(formats)} to {out}…"):
        paths = write_reports(results, formats, out)
    if not args.quiet:
        print_summary(results, paths)
    return result.exit_code


def cmd_claims(args: argparse.Namespace) -> int:
    from compliance_checks.catalog import load_catalog

    catalog = load_catalog()
    verdicts: dict[str, str] = {}
    if args.results:
        document = json.loads(Path(args.results).read_text(encoding="utf-8"))
        verdicts = {c["id"]: c["verdict"] for c in document.get("claims", [])}
    console = _console()
    from rich.table import Table

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
        table.add_row(claim.id, kind, f"[{style}]{status}[/]", evidence.strip(" +"), " ".join(claim.text_en))
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

    inventory, _, _ = load_source(args)
    text = json.dumps(export_template(inventory), indent=2) + "\n"
    if args.out in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        _console(stderr=True).print(f"wrote {args.out}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from compliance_checks.report.manifest import verify_manifest

    problems = verify_manifest(Path(args.directory))
    console = _console()
    if problems:
        for problem in problems:
            console.print(f"[bold red]TAMPERED[/] {problem}")
        return EXIT_VIOLATION
    console.print(f"[green]OK[/] every file listed in {Path(args.directory) / 'manifest.json'} is intact.")
    return EXIT_OK


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
        "--source", choices=SOURCES, default="synth", help="where the configuration comes from (default: synth)"
    )
    audit.add_argument(
        "--input", metavar="FILE", help="input file: stack config (synth), stack export, preview JSON or ARM template"
    )
    audit.add_argument("--parameters", metavar="FILE", help="ARM parameters file (with --source arm)")
    audit.add_argument("--format", default="all", help=f"comma-separated: {', '.join(FORMATS)}, or all (default)")
    audit.add_argument("--out", metavar="DIR", help="report directory (default: reports/<source>[-<stack>])")
    audit.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        default="low",
        help="lowest severity of a FAIL that makes the exit code 1 (default: low)",
    )
    audit.add_argument("--waivers", metavar="FILE", help="YAML file of waivers")
    audit.add_argument("--attestations", metavar="FILE", help="YAML file of attestations for organisational claims")
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
    audit.add_argument("--database", metavar="HOST:PORT", help="with --probe: try the database port from here")
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
    audit.add_argument("-q", "--quiet", action="store_true", help="no terminal summary")
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
    export.add_argument("--source", choices=OFFLINE_SOURCES, default="synth", help="where the configuration comes from")
    export.add_argument("--input", metavar="FILE", help="input file for sources other than synth")
    export.add_argument("--parameters", metavar="FILE", help="ARM parameters file (with --source arm)")
    export.add_argument("--out", metavar="FILE", help="template file (default: standard output)")
    export.set_defaults(handler=cmd_export_arm)

    verify = commands.add_parser("verify-report", help="verify a report directory against its manifest")
    verify.add_argument("directory", metavar="DIR")
    verify.set_defaults(handler=cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["audit", *(argv or [])])
        code: int = args.handler(args)
        return code
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ComplianceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
