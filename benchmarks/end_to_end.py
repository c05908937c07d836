"""End to end, as a user runs it: `compliance-checks audit` as a process, every report format, per source and size.

    .venv/bin/python benchmarks/end_to_end.py                          # 1k, 10k, 100k; arm, pulumi-state, pulumi-preview
    .venv/bin/python benchmarks/end_to_end.py --sizes 1000,10000 --runs 3 --sources arm

The inputs are the synthesized dev stack (the real mix of resources: sites with config, Postgres with parameters and
firewall rules, NSGs, role assignments, diagnostic settings, Conditional Access policies) replicated into many
resource groups, written the way users produce them: Pulumi's indented `pulumi stack export` (4 spaces), the JSON
of `pulumi preview --json`, an ARM template. Each audit is its own process; wall time is the median of --runs, peak
RSS the child's own (os.wait4). checkov (make checkov-env) runs on the same ARM file at --checkov-size, side by side,
and the ratios are printed. A size a source refuses is printed as refused, with the one-line error.
Targets (issue 15): 100k in <= 5 s and <= 1 GB peak RSS, growth exponent <= 1.05 from 10k to 100k, >= 50x checkov at 10k.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLI = ROOT / ".venv" / "bin" / "compliance-checks"
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
RG = "rg-smartportal-dev-gwc"
SOURCES = ("arm", "pulumi-state", "pulumi-preview")


def _tenant_wide(entry: dict[str, Any]) -> bool:
    """An Entra object (azuread:*): one directory per tenant, however many resource groups the estate spans."""
    token = entry.get("type") or (entry.get("newState") or {}).get("type") or ""
    return str(token).startswith("azuread:")


def _replicated(entries: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """The Azure resources of ``entries`` copied into resource groups rg-bench-N until ``size``, IDs and URNs unique.

    The tenant's Entra objects (groups, apps, service principals, Conditional Access policies, named locations)
    are kept once: a larger estate is more resource groups and subscriptions in the same tenant, not more
    directories. Copying them too would build a tenant with thousands of Conditional Access policies and VPN
    apps, a shape no tenant has, and would measure that shape instead of the estate's size.
    """
    tenant = [e for e in entries if _tenant_wide(e)]
    template = json.dumps([e for e in entries if not _tenant_wide(e)], default=str)
    out: list[dict[str, Any]] = list(tenant)
    copy = 0
    while copy == 0 or len(out) + len(entries) - len(tenant) <= size:
        text = template.replace(RG, f"rg-bench-{copy}").replace("::smart-portal::", f"::smart-portal::c{copy}-")
        out.extend(json.loads(text))
        copy += 1
    # Whole copies only, at most ``size`` (a copy cut in half would dangle references and measure errors, not audits).
    return out


def _synthesis() -> Any:
    from infra.synth import synthesize

    return synthesize("dev")


def write_state(path: Path, size: int) -> None:
    from tests.test_source_pulumi import state_document

    synthesis = _synthesis()
    document = state_document(synthesis)
    head = [r for r in document["deployment"]["resources"] if not r.get("parent") and r["type"].startswith("pulumi:")]
    body = [r for r in document["deployment"]["resources"] if r not in head]
    document["deployment"]["resources"] = head + _replicated(body, size)
    path.write_text(json.dumps(document, indent=4), encoding="utf-8")  # `pulumi stack export` indents by 4


def write_preview(path: Path, size: int) -> None:
    from tests.test_source_pulumi import preview_document

    synthesis = _synthesis()
    document = preview_document(synthesis)
    first, rest = document["steps"][:1], document["steps"][1:]
    document["steps"] = first + _replicated(rest, size)
    # The summary Pulumi writes counts the copies too (the preview source compares its "same" with the steps).
    counted = [s["op"] for s in document["steps"] if s["op"] not in ("create-replacement", "delete-replaced")]
    document["changeSummary"] = {op: counted.count(op) for op in sorted(set(counted))}
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def write_arm(path: Path, size: int) -> None:
    """`az group export` of one resource group holding ``size`` resources: the dev stack as `export-arm` writes it,
    copied with every top-level resource name (and role-assignment GUID) suffixed per copy, references included."""
    from compliance_checks.export_arm import export_template
    from compliance_checks.sources.synth import load_synth

    template = export_template(load_synth("dev")[0])
    resources = template["resources"]
    names = {str(r["name"]).split("/", 1)[0] for r in resources}
    guids = {n for n in names if len(n) == 36 and n.count("-") == 4}
    renamed = sorted((n for n in names if "-" in n and n not in guids and len(n) > 6), key=len, reverse=True)
    text = json.dumps(resources)
    out: list[dict[str, Any]] = []
    copy = 0
    while not out or len(out) + len(resources) <= size:
        copied = text
        for name in renamed:  # longest first: no name is rewritten inside a longer one twice
            copied = copied.replace(name, f"{name}-c{copy}")
        for guid in guids:
            copied = copied.replace(guid, str(uuid.uuid5(uuid.NAMESPACE_URL, f"{guid}/{copy}")))
        out.extend(json.loads(copied))
        copy += 1
    template["resources"] = out
    path.write_text(json.dumps(template, indent=2), encoding="utf-8")


WRITERS = {"arm": write_arm, "pulumi-state": write_state, "pulumi-preview": write_preview}


def run_child(argv: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MiB, exit code and the last line of stderr of one child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    return elapsed, usage.ru_maxrss / 1024, child.returncode, lines[-1] if lines else ""


def write_input(source: str, size: int, path: Path) -> None:
    """In a child process: the benchmark's own memory stays small, so a child's peak RSS is its own."""
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--write", source, str(size), str(path)], check=True)


def measure(source: str, size: int, runs: int, workdir: Path) -> dict[str, Any]:
    path = workdir / f"{source}-{size}.json"
    write_input(source, size, path)
    walls, peaks, code, last = [], [], 0, ""
    for _ in range(runs):
        out = workdir / f"out-{source}-{size}"
        argv = [str(CLI), "audit", "--quiet", "--source", source, "--input", str(path), "--out", str(out)]
        wall, peak, code, last = run_child(argv)
        walls.append(wall)
        peaks.append(peak)
        if code not in (0, 1, 2) or (code == 2 and "error:" in last):
            break
    report = workdir / f"out-{source}-{size}" / "results.json"
    return {
        "source": source,
        "size": size,
        "input_mb": path.stat().st_size / 2**20,
        "wall": statistics.median(walls),
        "walls": walls,
        "peak_mb": max(peaks),
        "exit": code,
        "refused": last if code == 2 and "error:" in last else "",
        "results_mb": report.stat().st_size / 2**20 if report.exists() else 0.0,
    }


def measure_checkov(size: int, workdir: Path) -> dict[str, float] | None:
    if not CHECKOV.exists():
        return None
    path = workdir / f"arm-{size}.json"
    write_input("arm", size, path)
    wall, peak, _, _ = run_child([str(CHECKOV), "-f", str(path), "--framework", "arm", "--quiet", "--compact"])
    return {"wall": wall, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--checkov-size", type=int, default=10000, help="0: no checkov")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON (benchmarks/table.py reads it)")
    parser.add_argument("--write", nargs=3, metavar=("SOURCE", "SIZE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        WRITERS[args.write[0]](Path(args.write[2]), int(args.write[1]))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    try:
        rows = [measure(s, n, args.runs, workdir) for s in args.sources.split(",") for n in sizes]
        print(f"{'source':15} {'size':>7} {'input MB':>9} {'wall s':>8} {'peak MB':>8} {'results MB':>10} exit")
        for row in rows:
            line = (
                f"{row['source']:15} {row['size']:>7} {row['input_mb']:>9.1f} {row['wall']:>8.2f} {row['peak_mb']:>8.0f}"
                f" {row['results_mb']:>10.1f} {row['exit']}"
            )
            print(line + (f"  refused: {row['refused']}" if row["refused"] else ""))
        for source in args.sources.split(","):
            done = {r["size"]: r for r in rows if r["source"] == source and not r["refused"]}
            if 10000 in done and 100000 in done:
                exponent = math.log(done[100000]["wall"] / done[10000]["wall"]) / math.log(10)
                print(f"growth exponent {source} 10k->100k: {exponent:.2f}")
        checkov = None
        if args.checkov_size and "arm" in args.sources:
            checkov = measure_checkov(args.checkov_size, workdir)
            ours = next((r for r in rows if r["source"] == "arm" and r["size"] == args.checkov_size), None)
            if checkov is None:
                print("checkov: not installed (make checkov-env)")
            elif ours is not None and not ours["refused"]:
                print(
                    f"checkov arm {args.checkov_size}: wall {checkov['wall']:.2f} s, peak {checkov['peak_mb']:.0f} MB;"
                    f" ratio wall {checkov['wall'] / ours['wall']:.1f}x, peak RSS {checkov['peak_mb'] / ours['peak_mb']:.1f}x"
                )
        if args.json:
            figures = {"rows": rows, "checkov": checkov, "checkovSize": args.checkov_size, "runs": args.runs}
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
