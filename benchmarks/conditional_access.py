"""Conditional Access evaluation of 300 policies: the partition evaluator's time, and its ratio to a brute-force
enumeration of every sign-in measured in the same run on a smaller tenant.

    .venv/bin/python benchmarks/conditional_access.py [--policies 300] [--sample 3] [--seed 7]

The tenant is generated from the shapes of Microsoft's published policies (MFA for a group or for all users
with exclusions, legacy-authentication blocks, location and platform narrowing, risk policies, report-only
and disabled copies). The question is the checks' own: does every developer sign-in to Azure management and
to the VPN app require MFA or get blocked (compliance_checks/checks/entra_ca_mfa_for_developers.py)?
Target (issue 12): 300 policies well under a second.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance_checks.evaluate import conditional_access as ca

DEVELOPERS = "e02c56d0-ba57-4332-a980-79074f45e700"
VPN = "21ba904d-a7ce-4525-a09e-b2fbae79956b"
APPS = (ca.AZURE_MANAGEMENT, VPN)
GROUPS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(40)]
LOCATIONS = {
    f"loc-{i}": {"displayName": f"site {i}", "isTrusted": i % 3 == 0, "ipRanges": [{"cidrAddress": f"203.0.{i}.0/24"}]}
    for i in range(20)
}
LOCATIONS["countries"] = {"displayName": "blocked countries", "countriesAndRegions": ["KP", "IR"]}


def tenant(count: int, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    policies = []
    for i in range(count):
        users: dict[str, Any] = (
            {"includeUsers": ["All"], "excludeGroups": rng.sample(GROUPS, 1)}
            if rng.random() < 0.3
            else {"includeGroups": rng.sample([*GROUPS, DEVELOPERS], 2)}
        )
        conditions: dict[str, Any] = {
            "users": users,
            "applications": {"includeApplications": rng.choice([["All"], [rng.choice(APPS)], ["Office365"]])},
            "clientAppTypes": rng.choice(
                [["all"], ["browser", "mobileAppsAndDesktopClients"], ["exchangeActiveSync", "other"]]
            ),
        }
        if rng.random() < 0.3:
            conditions["locations"] = {"includeLocations": ["All"], "excludeLocations": [rng.choice(list(LOCATIONS))]}
        if rng.random() < 0.2:
            conditions["platforms"] = {"includePlatforms": ["all"], "excludePlatforms": [rng.choice(["iOS", "linux"])]}
        if rng.random() < 0.15:
            conditions["signInRiskLevels"] = ["high", "medium"]
        grant = rng.choice(
            [
                {"operator": "OR", "builtInControls": ["mfa"]},
                {"operator": "OR", "builtInControls": ["block"]},
                {"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]},
                {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]},
                {"operator": "OR", "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}},
            ]
        )
        state = rng.choice(["enabled", "enabled", "enabled", "enabledForReportingButNotEnforced", "disabled"])
        policies.append((f"policy {i}", {"state": state, "conditions": conditions, "grantControls": grant}))
    return policies


def partition(policies: list[tuple[str, dict[str, Any]]]) -> tuple[float, int, ca.Model]:
    start = time.perf_counter()
    model = ca.build(policies, locations=LOCATIONS, apps=APPS)
    cells = 0
    for app in APPS:
        cells += len(
            model.cells(ca.query(model, app=app, group=DEVELOPERS), frozenset({ca.Outcome.MFA, ca.Outcome.BLOCK}))
        )
    return time.perf_counter() - start, cells, model


def brute_force(model: ca.Model) -> tuple[float, int]:
    start = time.perf_counter()
    points = 0
    for app in APPS:
        found = model.brute_force(
            ca.query(model, app=app, group=DEVELOPERS), frozenset({ca.Outcome.MFA, ca.Outcome.BLOCK})
        )
        points += len(found)
    return time.perf_counter() - start, points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=300)
    parser.add_argument("--sample", type=int, default=3, help="policies in the tenant both methods evaluate")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    full, cells, _ = partition(tenant(args.policies, rng))
    print(f"partition, {args.policies} policies: {full * 1000:.1f} ms ({cells} cells)")
    small = tenant(args.sample, random.Random(args.seed + 1))
    part_small, small_cells, model = partition(small)
    brute, points = brute_force(model)
    print(f"partition, {args.sample} policies: {part_small * 1000:.2f} ms ({small_cells} cells)")
    print(f"brute force, {args.sample} policies: {brute * 1000:.1f} ms ({points} sign-ins)")
    print(f"ratio brute force / partition on the sample: {brute / part_small:.0f}x")
    print(f"target: {args.policies} policies under 1 s: {'met' if full < 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
