"""The reachability and Conditional Access evaluations of one estate, timed together, against naive evaluations.

    .venv/bin/python benchmarks/evaluators.py                       # 1000 NSGs x 200 rules, 300 policies, 5 runs
    .venv/bin/python benchmarks/evaluators.py --nsgs 100 --runs 3   # smaller

The estate: 1,000 random NSGs of 200 rules each (benchmarks/reachability.py: inbound and outbound, allow and
deny, protocols, prefixes and lists, service tags, port ranges and lists, a few source-port ranges and destination
prefixes, a deny-all in half of them) and a tenant of 300 Conditional Access policies
(benchmarks/conditional_access.py). Each run times:

* reachability -- the database check's question (compliance_checks/checks/nsg_database_port_two_sources.py):
  read each NSG's rules (``nsg.read_group``) and compute which sources reach port 5432/Tcp of a /26 (``nsg.reach``);
* Conditional Access -- the MFA-for-developers question (entra_ca_mfa_for_developers.py): compile the policies
  (``ca.build``) and partition the developers' sign-ins to Azure management and to the VPN app (``Model.cells``);
* the deny-all question of nsg_deny_all_inbound.py (``nsg.reaching_defaults`` of every NSG), apart: that check asks
  it of every NSG, the database check does not (issue 12's target names the reachability and CA evaluations).

Target (issue 12): reachability + Conditional Access in under 1 s. The machine is shared: every run starts after
``gc.collect()`` (a clean collector, as any timing), the median of the runs is printed with wall and CPU time, and
the load average before and after.

The naive evaluations run in the same process, on samples, and are extrapolated (the output says so): per-address
reachability decides one source address at a time (first match with ``ipaddress``, benchmarks/reachability.py) for
sampled addresses of a few NSGs, extrapolated to all 2^32 IPv4 sources of every NSG; brute-force Conditional Access
decides single sign-ins (``Model.point_status``, every policy read directly) for sampled points of the same 300-policy
tenant, extrapolated to every point of the space the policies name.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import conditional_access as ca_bench  # noqa: E402  (benchmarks/conditional_access.py)
import reachability as nsg_bench  # noqa: E402  (benchmarks/reachability.py)

from compliance_checks.evaluate import conditional_access as ca  # noqa: E402
from compliance_checks.evaluate import nsg  # noqa: E402
from compliance_checks.evaluate.addresses import AddressSet, PortSet  # noqa: E402

MFA_OR_BLOCK = frozenset({ca.Outcome.MFA, ca.Outcome.BLOCK})


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def reachability(groups: list[list[dict[str, Any]]]) -> tuple[tuple[float, float], int]:
    """Read and evaluate every NSG for the database question; (wall, cpu) seconds and the pieces found."""
    start = _clock()
    tags = nsg_bench.tags()
    query = nsg.Query(AddressSet.parse(nsg_bench.SUBNET), "Tcp", PortSet.parse("5432"))
    pieces = 0
    for index, rules in enumerate(groups):
        result = nsg.reach([nsg.read_group(f"nsg{index}", rules, tags)], query)
        assert result.known, result.unknown
        pieces += len(result.pieces)
    return _since(start), pieces


def deny_all(groups: list[list[dict[str, Any]]]) -> tuple[tuple[float, float], int]:
    """Read every NSG and ask what its own rules leave to the default rules; (wall, cpu) and the NSGs that leave some."""
    start = _clock()
    tags = nsg_bench.tags()
    leaving = 0
    for index, rules in enumerate(groups):
        result = nsg.reaching_defaults(nsg.read_group(f"nsg{index}", rules, tags))
        assert result.known, result.unknown
        leaving += bool(result.pieces)
    return _since(start), leaving


def conditional_access(policies: list[tuple[str, dict[str, Any]]]) -> tuple[tuple[float, float], int, ca.Model]:
    """Compile the tenant and partition the developers' sign-ins to both apps; (wall, cpu), cells, the model."""
    start = _clock()
    model = ca.build(policies, locations=ca_bench.LOCATIONS, apps=ca_bench.APPS)
    cells = 0
    for app in ca_bench.APPS:
        cells += len(model.cells(ca.query(model, app=app, group=ca_bench.DEVELOPERS), MFA_OR_BLOCK))
    return _since(start), cells, model


def brute_force(model: ca.Model, samples: int, rng: random.Random) -> tuple[float, int, int]:
    """Seconds for ``samples`` single sign-ins decided directly, how many, and the size of the whole space."""
    total = 0
    start = time.perf_counter()
    for app in ca_bench.APPS:
        question = ca.query(model, app=app, group=ca_bench.DEVELOPERS)
        choices = {dim: sorted(question.get(dim, values), key=str) for dim, values in model.universe.domains.items()}
        total += math.prod(len(values) for values in choices.values())
        for _ in range(samples // len(ca_bench.APPS)):
            model.point_status({dim: rng.choice(values) for dim, values in choices.items()}, MFA_OR_BLOCK)
    return time.perf_counter() - start, samples // len(ca_bench.APPS) * len(ca_bench.APPS), total


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsgs", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--policies", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7, help="the Conditional Access tenant's seed")
    parser.add_argument("--naive-nsgs", type=int, default=5)
    parser.add_argument("--naive-addresses", type=int, default=200)
    parser.add_argument("--naive-sign-ins", type=int, default=2000)
    args = parser.parse_args(argv)

    groups = nsg_bench.generate(args.nsgs, args.rules)
    inbound = sum(1 for rules in groups for rule in rules if rule["direction"] == "Inbound")
    policies = ca_bench.tenant(args.policies, random.Random(args.seed))
    before = os.getloadavg()
    reach_wall, reach_cpu, ca_wall, ca_cpu, totals, total_cpus, deny_wall, deny_cpu = ([] for _ in range(8))
    pieces = cells = leaving = 0
    model: ca.Model | None = None
    for _ in range(args.runs):
        gc.collect()
        (wall, cpu), pieces = reachability(groups)
        reach_wall.append(wall)
        reach_cpu.append(cpu)
        (wall, cpu), cells, model = conditional_access(policies)
        ca_wall.append(wall)
        ca_cpu.append(cpu)
        totals.append(reach_wall[-1] + ca_wall[-1])
        total_cpus.append(reach_cpu[-1] + ca_cpu[-1])
        gc.collect()
        (wall, cpu), leaving = deny_all(groups)
        deny_wall.append(wall)
        deny_cpu.append(cpu)
    after = os.getloadavg()
    total = _median(totals)
    print(f"estate: {args.nsgs} NSGs x {args.rules} rules ({inbound} inbound), {args.policies} Conditional Access "
          f"policies; {args.runs} runs, medians; load average {before[0]:.2f} before, {after[0]:.2f} after "
          f"({os.cpu_count()} CPUs)")  # fmt: skip
    print(f"reachability (read every NSG, sources reaching 5432/Tcp of a /26): {_median(reach_wall):.3f} s wall, "
          f"{_median(reach_cpu):.3f} s CPU ({pieces} allowed pieces; runs: {_runs(reach_wall)})")  # fmt: skip
    print(f"conditional access (compile {args.policies} policies, developers' sign-ins to 2 apps): "
          f"{_median(ca_wall):.3f} s wall, {_median(ca_cpu):.3f} s CPU ({cells} cells; runs: {_runs(ca_wall)})")  # fmt: skip
    print(f"reachability + conditional access: {total:.3f} s wall, {_median(total_cpus):.3f} s CPU; "
          f"target < 1 s: {'met' if total < 1 else 'NOT met'}")  # fmt: skip
    print(f"deny-all question (read every NSG, what its rules leave to the default rules), apart: "
          f"{_median(deny_wall):.3f} s wall, {_median(deny_cpu):.3f} s CPU ({leaving} NSGs leave some)")  # fmt: skip

    naive_seconds, decided = nsg_bench.naive(groups[: args.naive_nsgs], args.naive_addresses)
    per_address = naive_seconds / decided
    naive_all = per_address * (2**32) * args.nsgs
    print(f"naive reachability: measured {decided} per-address decisions ({args.naive_nsgs} NSGs x "
          f"{args.naive_addresses} sampled addresses) in {naive_seconds:.3f} s = {per_address * 1e6:.1f} us each; "
          f"extrapolated to all 2^32 IPv4 sources x {args.nsgs} NSGs: {naive_all:.3g} s; "
          f"ratio to the exact reachability: {naive_all / _median(reach_wall):.3g}x")  # fmt: skip
    assert model is not None
    brute_seconds, points, space = brute_force(model, args.naive_sign_ins, random.Random(args.seed))
    per_point = brute_seconds / points
    brute_all = per_point * space
    print(f"brute-force conditional access: measured {points} sampled sign-ins in {brute_seconds:.3f} s = "
          f"{per_point * 1e6:.1f} us each; extrapolated to all {space:.3g} sign-ins the policies distinguish: "
          f"{brute_all:.3g} s; ratio to the partition: {brute_all / _median(ca_wall):.3g}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
