"""Collect 10,000 resources from the local ARM / Resource Graph / Graph stand-in with 100 ms added to every answer.

    .venv/bin/python benchmarks/live_collect.py                # 10,000 resources, 100 ms
    .venv/bin/python benchmarks/live_collect.py --resources 2000 --latency 0.05

The estate is the deployed dev stack (tests/live/estate.py) plus virtual
networks up to the requested count, so the details the collector reads per
site, server and diagnosed resource are the dev stack's. Target (issue 5):
the collection finishes in at most 5 s. Printed: wall time, the requests
made (every attempt, as the server saw them), the minimum the estate needs
(Resource Graph pages of 1,000 rows plus one request per list page or
single read) and their ratio, and the time 100 ms latency alone would cost
if every request ran one after another.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 5.0

from infra import well_known  # noqa: E402 - after the path is set
from tests.live.model import Estate  # noqa: E402 - after the path is set


def build_estate(total: int) -> Estate:
    from tests.live.estate import dev_estate, plain_virtual_network, resource_group

    estate = dev_estate()
    top_level = [k for k in estate.arm if len(k.strip("/").split("/")) == 8]
    rg = f"/subscriptions/{estate.subscription_id}/resourceGroups/rg-bulk"
    estate.arm[rg] = resource_group(rg, tags=None)
    for n in range(max(total - len(top_level), 0)):
        vnet = plain_virtual_network(rg, n)
        estate.arm[vnet["id"]] = vnet
    return estate


def minimum_requests(estate: Estate, page_size: int, graph_page_size: int) -> int:
    """What the estate needs at least: pages of every list, one request per single read."""
    from compliance_checks.checks.diagnostic_settings_enabled import TARGETS

    arm, graph, members = estate.arm, estate.graph, estate.members

    def pages(count: int, size: int) -> int:
        return max(1, math.ceil(count / size))

    def children(parent: str, segment: str) -> int:
        prefix = f"{parent}/{segment}/".lower()
        return sum(1 for k in arm if k.lower().startswith(prefix) and "/" not in k[len(prefix) :])

    def of_type(kind: str) -> list[str]:
        return [k for k, body in arm.items() if str(body.get("type", "")).lower() == kind.lower()]

    top = [k for k in arm if len(k.strip("/").split("/")) == 8]
    needed = pages(len(top), 1000) + pages(len(of_type("Microsoft.Resources/resourceGroups")), 1000)
    needed += pages(len(of_type("Microsoft.Authorization/roleAssignments")), page_size)
    for site in [k for k in top if str(arm[k]["type"]).lower() == "microsoft.web/sites"]:
        needed += 2 + 1  # config/web, config/authsettingsV2, app setting names
        needed += pages(children(site, "basicPublishingCredentialsPolicies"), page_size)
        needed += pages(children(site, "hostNameBindings"), page_size)
    for server in [k for k in top if str(arm[k]["type"]).lower() == "microsoft.dbforpostgresql/flexibleservers"]:
        needed += pages(children(server, "firewallRules"), page_size) + pages(
            children(server, "configurations"), page_size
        )
    diagnosed = {t.lower() for t in TARGETS}
    needed += sum(1 for k in top if str(arm[k]["type"]).lower() in diagnosed)
    for collection in ("identity/conditionalAccess/policies", "identity/conditionalAccess/namedLocations"):
        needed += pages(sum(1 for key in graph if key.rsplit("/", 1)[0] == collection), graph_page_size)
    groups = [key for key in graph if key.startswith("groups/")]
    needed += sum(1 + pages(len(members.get(key.split("/", 1)[1], [])), graph_page_size) for key in groups)
    # The VPN audience: one lookup per Entra point-to-site gateway, then the pages of who is assigned.
    for gateway in of_type("Microsoft.Network/virtualNetworkGateways"):
        client = arm[gateway].get("properties", {}).get("vpnClientConfiguration") or {}
        if "aad" not in {str(t).lower() for t in client.get("vpnAuthenticationTypes") or []}:
            continue
        needed += 1
        audience = str(client.get("aadAudience", "")).lower()
        for key, body in graph.items():
            if (
                key.count("/") == 1
                and key.startswith("servicePrincipals/")
                and str(body.get("appId")).lower() == audience
            ):
                assigned = sum(1 for k in graph if k.startswith(f"{key}/appRoleAssignedTo/"))
                needed += pages(assigned, graph_page_size)
    # One read per assigned role that is not a well-known built-in role (custom roles).
    roles = {
        str(arm[k]["properties"]["roleDefinitionId"]).rsplit("/", 1)[-1]
        for k in of_type("Microsoft.Authorization/roleAssignments")
    }
    needed += sum(1 for role in roles if well_known.lookup(role) is None)
    return needed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every answer (default 0.1)")
    args = parser.parse_args()

    from compliance_checks.live.collect import Collector
    from compliance_checks.live.settings import LiveSettings
    from compliance_checks.sources.live import load_live
    from tests.live.credential import StaticToken
    from tests.live.server import FakeAzure
    from tests.support.pki import server_pem

    estate = build_estate(args.resources)
    ca, cert, key = server_pem(Path(tempfile.mkdtemp(prefix="bench-pki-")))
    with FakeAzure(estate, cert, key, latency=args.latency) as fake:
        settings = LiveSettings(
            (estate.subscription_id,),
            arm_endpoint=fake.url,
            graph_endpoint=fake.url,
            ca_bundle=ca,
        )
        started = time.perf_counter()
        collection = Collector(settings, StaticToken()).collect()
        collected = time.perf_counter() - started
        inventory = load_live(collection)
        normalised = time.perf_counter() - started - collected
        made = len(fake.requests)
        minimum = minimum_requests(estate, fake.page_size, fake.graph_page_size)
    rows = sum(1 for r in inventory.resources if r.source == "live")
    print(f"resources in the estate: {args.resources:,} top-level ARM rows; inventory after normalising: {rows:,}")
    print(f"latency per answer: {args.latency * 1000:.0f} ms; concurrency {settings.concurrency}")
    print(f"collection: {collected:.2f} s (target <= {TARGET_SECONDS:g} s), normalising: {normalised:.2f} s")
    print(f"requests made: {made}; minimum for this estate: {minimum}; ratio made/minimum: {made / minimum:.2f}")
    print(f"the same requests one after another would take >= {made * args.latency:.1f} s of latency alone")
    print(f"gaps: {len(collection.gaps)}")
    ok = collected <= TARGET_SECONDS and not collection.gaps
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
