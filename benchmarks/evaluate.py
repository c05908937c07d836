"""Evaluate every check over 1k, 10k and 100k resources; compare with checkov on the same estate.

    .venv/bin/python benchmarks/evaluate.py                 # all sizes, plus checkov if installed
    .venv/bin/python benchmarks/evaluate.py --sizes 1000 --no-checkov

The inventory is the synthesized dev stack replicated into many resource
groups (IDs and references rewritten), with violations sprinkled in: every
tenth web app without httpsOnly, every seventh database NSG open to the
internet. Each size runs in its own process so that its peak memory is its own.
Target (issue 3): 100k resources in at most 2 s and 1 GB, cost linear in size.
checkov runs on the same resources exported as a pretty-printed ARM template.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
RG = "rg-smartportal-dev-gwc"


def estate_documents() -> list[dict[str, Any]]:
    from compliance_checks.sources.synth import load_synth

    inventory, _ = load_synth("dev")
    return [{"id": r.id, "type": r.type, "name": r.name, "location": r.location, "body": r.body} for r in inventory]


def generate(size: int, tenant: str = "once") -> list[dict[str, Any]]:
    """``size`` resources: the dev stack copied into resource groups, violations sprinkled in.

    ``tenant``: ``once`` keeps the tenant's Entra objects (groups, apps, Conditional Access policies, named
    locations) once, as in a real estate of many resource groups in one tenant (benchmarks/end_to_end.py does
    the same); ``per-copy`` gives every copy its own, which at 100k is 1,600 developers' groups under 6,400
    Conditional Access policies: the CA checks judge every group against every policy (membership is left open,
    so any policy may apply to a developer), and that estate measures groups x policies.
    """
    estate = estate_documents()
    if tenant == "once":
        entra = [d for d in estate if d["id"].startswith("graph:")]
        estate = [d for d in estate if not d["id"].startswith("graph:")]
    template = json.dumps(estate, default=str)
    # Entra object IDs are not scoped by resource group: with per-copy, every copy gets its own.
    object_ids = sorted({d["id"].rsplit("/", 1)[1] for d in estate if d["id"].startswith("graph:")})
    documents: list[dict[str, Any]] = list(entra) if tenant == "once" else []
    copy = 0
    while len(documents) < size:
        text = template.replace(RG, f"rg-bench-{copy}")
        for object_id in object_ids:
            text = text.replace(object_id, f"{object_id}-{copy}")
        group = json.loads(text)
        for item in group:
            if item["type"] == "Microsoft.Web/sites" and copy % 10 == 0:
                item["body"]["properties"]["httpsOnly"] = False
            if (
                item["type"] == "Microsoft.Network/networkSecurityGroups"
                and "database" in item["name"]
                and copy % 7 == 0
            ):
                item["body"]["properties"]["securityRules"].insert(
                    0,
                    {
                        "name": "Open",
                        "priority": 100,
                        "direction": "Inbound",
                        "access": "Allow",
                        "protocol": "Tcp",
                        "sourceAddressPrefix": "0.0.0.0/0",
                        "sourcePortRange": "*",
                        "destinationAddressPrefix": "*",
                        "destinationPortRange": "5432",
                    },
                )
        documents.extend(group)
        copy += 1
    return documents[:size]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_ours(size: int, tenant: str = "once") -> dict[str, float]:
    from compliance_checks.catalog import load_catalog
    from compliance_checks.checks import load_checks
    from compliance_checks.checks.base import Params
    from compliance_checks.engine import evaluate
    from compliance_checks.inventory import Inventory, Resource

    documents = generate(size, tenant)
    inventory = Inventory(
        Resource.create(id=d["id"], type=d["type"], name=d["name"], body=d["body"], location=d["location"])
        for d in documents
    )
    checks, catalog = load_checks(), load_catalog()
    started = time.perf_counter()
    result = evaluate(inventory, catalog=catalog, checks=checks, params=Params())
    elapsed = time.perf_counter() - started
    return {"size": size, "seconds": elapsed, "findings": len(result.findings), "peak_mb": peak_mb()}


def arm_template(documents: list[dict[str, Any]]) -> dict[str, Any]:
    from infra.azure_types import ARM_ID_TEMPLATES  # noqa: F401  (the same estate, as people write ARM)

    resources = []
    for d in documents:
        if d["type"].startswith("Microsoft.Graph") or "/providers/" not in d["id"]:
            continue
        path = d["id"].split("/providers/", 1)[1].split("/")
        name = "/".join(path[2::2])
        body = {k: v for k, v in d["body"].items()}
        resources.append(
            {
                "type": d["type"],
                "apiVersion": "2024-04-01",
                "name": name,
                **({"location": d["location"]} if d["location"] else {}),
                **body,
            }
        )
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": resources,
    }


def measure_checkov(size: int) -> dict[str, float] | None:
    if not CHECKOV.exists():
        return None
    workdir = Path(tempfile.mkdtemp(prefix="bench-checkov-"))
    try:
        template = workdir / "template.json"
        template.write_text(json.dumps(arm_template(generate(size)), indent=2, default=str), encoding="utf-8")
        started = time.perf_counter()
        result = (
            subprocess.run(
                [
                    "/usr/bin/time",
                    "-f",
                    "%M",
                    str(CHECKOV),
                    "-f",
                    str(template),
                    "--framework",
                    "arm",
                    "--quiet",
                    "--compact",
                    "-o",
                    "json",
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=3600,
            )
            if Path("/usr/bin/time").exists()
            else subprocess.run(
                [str(CHECKOV), "-f", str(template), "--framework", "arm", "--quiet", "--compact", "-o", "json"],
                capture_output=True,
                text=True,
                check=False,
                timeout=3600,
            )
        )
        elapsed = time.perf_counter() - started
        memory = (
            float(result.stderr.strip().splitlines()[-1]) / 1024 if Path("/usr/bin/time").exists() else float("nan")
        )
        return {"size": size, "seconds": elapsed, "peak_mb": memory}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def in_subprocess(kind: str, size: int, tenant: str = "once") -> dict[str, float] | None:
    out = (
        subprocess.run(
            [sys.executable, __file__, "--one", kind, str(size), "--tenant", tenant],
            capture_output=True,
            text=True,
            check=True,
            timeout=7200,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return json.loads(out)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--checkov-sizes", default="1000,10000")
    parser.add_argument("--no-checkov", action="store_true")
    parser.add_argument(
        "--tenant",
        choices=("once", "per-copy"),
        default="once",
        help="the tenant's Entra objects once (default) or copied with every resource group (see generate())",
    )
    parser.add_argument("--one", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, size = args.one[0], int(args.one[1])
        print(json.dumps(measure_ours(size, args.tenant) if kind == "ours" else measure_checkov(size)))
        return
    print(f"Entra objects: {args.tenant}")
    ours = {size: in_subprocess("ours", size, args.tenant) for size in map(int, args.sizes.split(","))}
    print(f"{'resources':>10} {'seconds':>8} {'µs/resource':>12} {'findings':>9} {'peak MB':>8}")
    for size, row in ours.items():
        assert row is not None
        print(
            f"{size:>10} {row['seconds']:8.3f} {row['seconds'] / size * 1e6:12.2f} {int(row['findings']):>9} {row['peak_mb']:8.0f}"
        )
    sizes = sorted(ours)
    if len(sizes) > 1:
        first, last = ours[sizes[0]], ours[sizes[-1]]
        assert first and last
        print(
            f"growth: {sizes[-1] // sizes[0]}x resources -> {last['seconds'] / first['seconds']:.1f}x time "
            f"(linear = {sizes[-1] // sizes[0]}x)"
        )
    if sizes[-1] >= 100000 and ours[sizes[-1]]:
        row = ours[sizes[-1]]
        assert row
        print(
            f"target 100k: {row['seconds']:.2f} s of 2 s ({row['seconds'] / 2:.2f}), {row['peak_mb']:.0f} MB of 1024 "
            f"({row['peak_mb'] / 1024:.2f}) peak for generation and evaluation together"
        )
    if args.no_checkov:
        return
    if not CHECKOV.exists():
        print(f"checkov not found at {CHECKOV} (make checkov-env): comparison skipped")
        return
    for size in map(int, args.checkov_sizes.split(",")):
        theirs = in_subprocess("checkov", size)
        mine = ours.get(size) or in_subprocess("ours", size)
        assert theirs and mine
        print(
            f"checkov {size:>7} resources: {theirs['seconds']:8.2f} s, peak {theirs['peak_mb']:.0f} MB; "
            f"ours {mine['seconds']:.3f} s, peak {mine['peak_mb']:.0f} MB; ratio {theirs['seconds'] / mine['seconds']:.0f}x"
        )


if __name__ == "__main__":
    main()
