"""Collect 10,000 resources from the local ARM / Resource Graph / Graph stand-in with 100 ms added to every answer.

    .venv/bin/python benchmarks/live_collect.py                # 10,000 rows of the dev stack's mix, 100 ms
    .venv/bin/python benchmarks/live_collect.py --resources 2000 --latency 0.05
    .venv/bin/python benchmarks/live_collect.py --mix vnets    # the dev stack plus plain virtual networks

The realistic estate is whole copies of the deployed dev stack (tests/live/estate.py, ``realistic_estate``):
sites with their configuration, PostgreSQL servers with parameters, NSGs, role assignments, diagnostic settings,
the tenant's Conditional Access policies. Target (issue 15): collection in at most 5 s with at most 16 requests in
flight, and at most 1.2 times the requests of the lower bound. Printed: wall time, the requests the server
received per API against the lower bound of the documented APIs (``lower_bound``; derivation and sources in
docs/live-audit.md, "Lower bound") and their ratio, and the time the bound alone takes at this concurrency and
latency.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 5.0

from infra import well_known  # noqa: E402 - after the path is set
from tests.live.model import Estate  # noqa: E402 - after the path is set


def build_estate(total: int, mix: str = "realistic") -> Estate:
    from tests.live.estate import dev_estate, plain_virtual_network, realistic_estate, resource_group

    if mix == "realistic":
        return realistic_estate(total)

    estate = dev_estate()
    top_level = [k for k in estate.arm if len(k.strip("/").split("/")) == 8]
    rg = f"/subscriptions/{estate.subscription_id}/resourceGroups/rg-bulk"
    estate.arm[rg] = resource_group(rg, tags=None)
    for n in range(max(total - len(top_level), 0)):
        vnet = plain_virtual_network(rg, n)
        estate.arm[vnet["id"]] = vnet
    return estate


def lower_bound(estate: Estate, page_size: int, graph_page_size: int) -> dict[str, int]:
    """The fewest requests the documented APIs allow for this estate, per API (docs/live-audit.md, "Lower bound").

    A list costs its pages at the page size the service chooses (``page_size``, ``graph_page_size``: what the
    stand-in answers); Resource Graph pages hold at most 1,000 rows (``$top``); every read that has no bulk form
    costs one request per resource.
    """
    from compliance_checks.checks.diagnostic_settings_enabled import TARGETS

    arm, graph, members = estate.arm, estate.graph, estate.members
    parents: dict[str, dict[str, int]] = {}
    for key in arm:
        parent, _, _name = key.lower().rpartition("/")
        owner, _, segment = parent.rpartition("/")
        parents.setdefault(owner, {}).setdefault(segment, 0)
        parents[owner][segment] += 1

    def pages(count: int, size: int) -> int:
        return max(1, math.ceil(count / size))

    def children(parent: str, segment: str) -> int:
        return parents.get(parent.lower(), {}).get(segment.lower(), 0)

    def of_type(kind: str) -> list[str]:
        return [k for k, body in arm.items() if str(body.get("type", "")).lower() == kind.lower()]

    top = [k for k, b in arm.items() if len(k.strip("/").split("/")) == 8 and not _authorization(b)]
    sites = [k for k in top if str(arm[k]["type"]).lower() == "microsoft.web/sites"]
    servers = [k for k in top if str(arm[k]["type"]).lower() == "microsoft.dbforpostgresql/flexibleservers"]
    configs = [k for k in arm if k.lower().endswith("/config/web")]
    bound = {
        "Resource Graph": pages(len(top), 1000)
        + pages(len(of_type("Microsoft.Resources/resourceGroups")), 1000)
        + pages(len(configs), 1000),
        "role assignments": pages(len(of_type("Microsoft.Authorization/roleAssignments")), page_size),
        # authsettingsV2 (one GET), app setting names (one POST), two lists.
        "sites": sum(
            2
            + pages(children(site, "basicPublishingCredentialsPolicies"), page_size)
            + pages(children(site, "hostNameBindings"), page_size)
            for site in sites
        ),
        "PostgreSQL": sum(
            pages(children(server, "firewallRules"), page_size) + pages(children(server, "configurations"), page_size)
            for server in servers
        ),
        # DiagnosticSettings_List is one answer (x-ms-pageable nextLinkName null).
        "diagnostic settings": sum(1 for k in top if str(arm[k]["type"]).lower() in {t.lower() for t in TARGETS}),
    }
    needed = 0
    for collection in ("identity/conditionalAccess/policies", "identity/conditionalAccess/namedLocations"):
        needed += pages(sum(1 for key in graph if key.rsplit("/", 1)[0] == collection), graph_page_size)
    groups = [key for key in graph if key.startswith("groups/")]
    needed += sum(1 + pages(len(members.get(key.split("/", 1)[1], [])), graph_page_size) for key in groups)
    # The VPN audience: one lookup per distinct audience of an Entra point-to-site gateway, then who is assigned.
    audiences: set[str] = set()
    for gateway in of_type("Microsoft.Network/virtualNetworkGateways"):
        client = arm[gateway].get("properties", {}).get("vpnClientConfiguration") or {}
        if "aad" in {str(t).lower() for t in client.get("vpnAuthenticationTypes") or []}:
            audiences.add(str(client.get("aadAudience", "")).lower())
    for audience in audiences:
        needed += 1
        for key, body in graph.items():
            if (
                key.count("/") == 1
                and key.startswith("servicePrincipals/")
                and str(body.get("appId")).lower() == audience
            ):
                assigned = sum(1 for k in graph if k.startswith(f"{key}/appRoleAssignedTo/"))
                needed += pages(assigned, graph_page_size)
    bound["Microsoft Graph"] = needed
    # One read per assigned role that is not a well-known built-in role (custom roles).
    roles = {
        str(arm[k]["properties"]["roleDefinitionId"]).rsplit("/", 1)[-1]
        for k in of_type("Microsoft.Authorization/roleAssignments")
    }
    bound["role definitions"] = sum(1 for role in roles if well_known.lookup(role) is None)
    return bound


def sequential(estate: Estate, page_size: int) -> int:
    """The longest chain of requests that cannot overlap: Resource Graph's pages of the resources table (``$skipToken``),
    or the role assignment pages followed by a custom role's definition."""
    arm = estate.arm
    rows = sum(1 for k, b in arm.items() if len(k.strip("/").split("/")) == 8 and not _authorization(b))
    assignments = [
        b for b in arm.values() if str(b.get("type", "")).lower() == "microsoft.authorization/roleassignments"
    ]
    custom = any(
        well_known.lookup(str(b["properties"]["roleDefinitionId"]).rsplit("/", 1)[-1]) is None for b in assignments
    )
    return max(1, math.ceil(rows / 1000), max(1, math.ceil(len(assignments) / page_size)) + int(custom))


def classify(method: str, path: str) -> str:
    """Which row of the lower bound a request the stand-in received belongs to."""
    lowered = path.lower()
    if lowered.startswith("/v1.0/"):
        return "Microsoft Graph"
    if lowered.endswith("/providers/microsoft.resourcegraph/resources"):
        return "Resource Graph"
    if "/providers/microsoft.insights/diagnosticsettings" in lowered:
        return "diagnostic settings"
    if lowered.endswith("/microsoft.authorization/roleassignments"):
        return "role assignments"
    if "/microsoft.authorization/roledefinitions/" in lowered:
        return "role definitions"
    if "/microsoft.web/sites/" in lowered:
        return "sites"
    if "/microsoft.dbforpostgresql/" in lowered:
        return "PostgreSQL"
    return f"other ({method} {path})"


def _authorization(body: dict[str, object]) -> bool:
    return str(body.get("type", "")).lower().startswith("microsoft.authorization/")


def _serve(pipe: Connection, estate: Estate, cert: Path, key: Path, latency: float) -> None:
    """The stand-in's process: serve until told to stop, then hand back what it received (method, path)."""
    from tests.live.server import FakeAzure

    with FakeAzure(estate, cert, key, latency=latency) as fake:
        pipe.send((fake.url, fake.page_size, fake.graph_page_size))
        pipe.recv()
        pipe.send([(seen.method, seen.path) for seen in fake.requests])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument(
        "--mix",
        choices=("realistic", "vnets"),
        default="realistic",
        help="realistic: copies of the dev stack (default); vnets: the dev stack plus plain virtual networks",
    )
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every answer (default 0.1)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON (benchmarks/table.py reads it)")
    args = parser.parse_args()

    from compliance_checks.live.collect import Collector
    from compliance_checks.live.settings import LiveSettings
    from compliance_checks.sources.live import load_live
    from tests.live.credential import StaticToken
    from tests.support.pki import server_pem

    estate = build_estate(args.resources, args.mix)
    ca, cert, key = server_pem(Path(tempfile.mkdtemp(prefix="bench-pki-")))
    # The stand-in serves from a process of its own (forked, sharing the estate): in this one it would compete for
    # the interpreter lock with the collector it is measuring. Answers cost `latency`, not the stand-in's own CPU.
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(child, estate, cert, key, args.latency), daemon=True)
    server.start()
    url, page_size, graph_page_size = parent.recv()
    settings = LiveSettings((estate.subscription_id,), arm_endpoint=url, graph_endpoint=url, ca_bundle=ca)
    started = time.perf_counter()
    collection = Collector(settings, StaticToken()).collect()
    collected = time.perf_counter() - started
    inventory = load_live(collection)
    normalised = time.perf_counter() - started - collected
    parent.send("stop")
    received: list[tuple[str, str]] = parent.recv()
    server.join(timeout=10)
    made = len(received)
    per_api: dict[str, int] = {}
    for method, path in received:
        api = classify(method, path)
        per_api[api] = per_api.get(api, 0) + 1
    bound = lower_bound(estate, page_size, graph_page_size)
    minimum = sum(bound.values())
    # With at most `concurrency` requests in flight and `latency` per answer, the bound alone takes this long; and no
    # less than its longest chain of requests that must follow one another (pages of one list, then what needs it).
    chain = sequential(estate, page_size)
    floor = max(math.ceil(minimum / settings.concurrency), chain) * args.latency
    rows = sum(1 for r in inventory.resources if r.source == "live")
    print(f"resources in the estate: {args.resources:,} Resource Graph rows ({args.mix} mix); inventory: {rows:,}")
    print(f"latency per answer: {args.latency * 1000:.0f} ms; concurrency {settings.concurrency}")
    print(f"collection: {collected:.2f} s (target <= {TARGET_SECONDS:g} s), normalising: {normalised:.2f} s")
    print(f"{'API':<22}{'requests':>10}{'lower bound':>13}{'ratio':>8}")
    for api in sorted(set(bound) | set(per_api)):
        got, least = per_api.get(api, 0), bound.get(api, 0)
        print(f"{api:<22}{got:>10}{least:>13}{(got / least if least else float('inf')):>8.2f}")
    print(f"{'total':<22}{made:>10}{minimum:>13}{made / minimum:>8.2f}")
    print(
        f"the lower bound at {settings.concurrency} in flight and {args.latency * 1000:.0f} ms an answer takes "
        f">= {floor:.1f} s (longest sequential chain: {chain} requests); measured/floor: {collected / floor:.2f}"
    )
    print(f"gaps: {len(collection.gaps)}")
    in_time, in_count = collected <= TARGET_SECONDS, made <= 1.2 * minimum
    print(f"requests <= 1.2 x lower bound: {'PASS' if in_count else 'FAIL'}")
    reachable = "" if floor <= TARGET_SECONDS else f"; not reachable: the bound alone takes {floor:.1f} s"
    print(f"collection <= {TARGET_SECONDS:g} s: {'PASS' if in_time else 'FAIL'}{reachable}")
    ok = in_time and in_count and not collection.gaps
    print("PASS" if ok else "FAIL")
    if args.json:
        figures = {
            "resources": args.resources,
            "mix": args.mix,
            "latencySeconds": args.latency,
            "concurrency": settings.concurrency,
            "seconds": collected,
            "requests": made,
            "lowerBound": minimum,
            "floorSeconds": floor,
            "gaps": len(collection.gaps),
        }
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
