"""Reachability: 1,000 NSGs of 200 rules each, evaluated exactly, against a naive per-address evaluation.

    .venv/bin/python benchmarks/reachability.py              # 1000 NSGs x 200 rules
    .venv/bin/python benchmarks/reachability.py --nsgs 100   # smaller

Each NSG is random (seeded): inbound and outbound rules, allow and deny, protocols *, Tcp and Udp, single
prefixes and lists, service tags (VirtualNetwork, Internet, AzureLoadBalancer), destination ports as single
ports, ranges and lists, a few source-port ranges and destination prefixes, and a deny-all at 4096 in half
of them. The question is the database check's: which sources reach port 5432/Tcp of a /26 subnet. The
timed part reads every NSG's rules (compliance_checks.evaluate.nsg.read_group) and evaluates it (reach).

The naive evaluation decides each source address alone (first match over the same rules, ``ipaddress``
membership). Deciding all 2^32 IPv4 sources that way is out of reach, so it runs on a sample of addresses
and NSGs in the same run and is extrapolated to 2^32 addresses x the NSG count; the output says so.
Target (issue 12): the exact evaluation of 1,000 NSGs x 200 rules in under one second.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance_checks.evaluate import nsg
from compliance_checks.evaluate.addresses import AddressSet, PortSet
from compliance_checks.inventory import fold

SUBNET = "10.20.0.128/26"
VNET = ["10.20.0.0/24", "172.16.201.0/28"]
TAGS = ["VirtualNetwork", "Internet", "AzureLoadBalancer"]


def _prefix(rng: random.Random) -> str:
    base = rng.choice([10 << 24, 172 << 24 | 16 << 16, rng.getrandbits(32)])
    length = rng.randint(8, 32)
    return str(ipaddress.ip_network(((base | rng.getrandbits(24)) & 0xFFFFFFFF, length), strict=False))


def _port(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return "*"
    low = rng.choice([22, 80, 443, 1433, 3389, 5432, rng.randint(0, 65000)])
    return str(low) if roll < 0.7 else f"{low}-{min(65535, low + rng.randint(1, 2000))}"


def generate(count: int, size: int, seed: int = 12) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    groups = []
    for index in range(count):
        priorities = rng.sample(range(100, 4096), size)
        rules: list[dict[str, Any]] = []
        for number, priority in enumerate(priorities):
            rule: dict[str, Any] = {
                "name": f"r{number}",
                "priority": priority,
                "direction": "Inbound" if rng.random() < 0.9 else "Outbound",
                "access": rng.choice(["Allow", "Deny"]),
                "protocol": rng.choice(["*", "Tcp", "Tcp", "Udp"]),
                "sourcePortRange": "*"
                if rng.random() < 0.97
                else f"{rng.randint(1024, 2000)}-{rng.randint(2001, 65535)}",
                "destinationAddressPrefix": "*" if rng.random() < 0.95 else SUBNET.replace("/26", "/27"),
            }
            roll = rng.random()
            if roll < 0.1:
                rule["sourceAddressPrefix"] = rng.choice(TAGS)
            elif roll < 0.6:
                rule["sourceAddressPrefix"] = _prefix(rng)
            else:
                rule["sourceAddressPrefixes"] = [_prefix(rng) for _ in range(rng.randint(2, 6))]
            if rng.random() < 0.7:
                rule["destinationPortRange"] = _port(rng)
            else:
                rule["destinationPortRanges"] = [_port(rng) for _ in range(rng.randint(2, 4))]
            rules.append(rule)
        if index % 2 == 0:
            rules[-1] = {**rules[-1], "priority": 4096, "access": "Deny", "protocol": "*", "direction": "Inbound",
                         "sourceAddressPrefix": "*", "destinationPortRange": "*", "sourcePortRange": "*",
                         "destinationAddressPrefix": "*"}  # fmt: skip
            rules[-1].pop("sourceAddressPrefixes", None)
            rules[-1].pop("destinationPortRanges", None)
        groups.append([fold(r) for r in rules])
    return groups


def tags() -> nsg.Tags:
    return nsg.Tags(virtual_network=lambda: AddressSet.parse_all(VNET) | nsg.HOST_VIP)


def exact(groups: list[list[dict[str, Any]]]) -> tuple[float, float, int]:
    """Seconds (wall) to read every NSG's rules, and to evaluate them all; the number of allowed pieces."""
    query = nsg.Query(AddressSet.parse(SUBNET), "Tcp", PortSet.parse("5432"))
    context = tags()
    started = time.perf_counter()
    read = [nsg.read_group(f"nsg{index}", rules, context) for index, rules in enumerate(groups)]
    reading = time.perf_counter() - started
    started = time.perf_counter()
    pieces = 0
    for group in read:
        result = nsg.reach([group], query)
        assert result.known, result.unknown
        pieces += len(result.pieces)
    return reading, time.perf_counter() - started, pieces


# --- the naive evaluation: one address at a time -----------------------------------------------------------------


def _naive_words(rule: dict[str, Any]) -> list[Any]:
    words = [rule["sourceaddressprefix"]] if "sourceaddressprefix" in rule else rule["sourceaddressprefixes"]
    vnet = [ipaddress.ip_network(p) for p in [*VNET, "168.63.129.16/32"]]
    out: list[Any] = []
    for word in words:
        if word == "*":
            out.append(("any",))
        elif word == "VirtualNetwork":
            out.append(("in", vnet))
        elif word == "Internet":
            out.append(("out", vnet))
        elif word == "AzureLoadBalancer":
            out.append(("in", [ipaddress.ip_network("168.63.129.16/32")]))
        else:
            out.append(("in", [ipaddress.ip_network(word)]))
    return out


def _naive_ports(rule: dict[str, Any], port: int) -> bool:
    texts = [rule["destinationportrange"]] if "destinationportrange" in rule else rule["destinationportranges"]
    for text in texts:
        if text == "*":
            return True
        low, _, high = text.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def naive_allowed(rules: list[dict[str, Any]], address: ipaddress.IPv4Address) -> bool:
    """First match for one source address to the subnet's first address, port 5432/Tcp, source port 1024."""
    ordered = sorted((r for r in rules if r["direction"] == "Inbound"), key=lambda r: r["priority"])
    destination = ipaddress.ip_address(SUBNET.split("/", maxsplit=1)[0])
    for rule in ordered:
        if rule["protocol"] not in ("*", "Tcp") or not _naive_ports(rule, 5432):
            continue
        sport = rule["sourceportrange"]
        if sport != "*" and not int(sport.split("-")[0]) <= 1024 <= int(sport.split("-")[1]):
            continue
        if rule["destinationaddressprefix"] != "*" and destination not in ipaddress.ip_network(
            rule["destinationaddressprefix"]
        ):
            continue
        for word in _naive_words(rule):
            hit = word[0] == "any" or (
                (address in word[1][0] or any(address in n for n in word[1])) == (word[0] == "in")
            )
            if hit:
                return bool(rule["access"] == "Allow")
    return any(address in ipaddress.ip_network(p) for p in [*VNET, "168.63.129.16/32"])


def naive(groups: list[list[dict[str, Any]]], addresses: int) -> tuple[float, int]:
    rng = random.Random(7)
    sample = [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(addresses)]
    started = time.perf_counter()
    for rules in groups:
        for address in sample:
            naive_allowed(rules, address)
    return time.perf_counter() - started, len(groups) * addresses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsgs", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--naive-nsgs", type=int, default=5)
    parser.add_argument("--naive-addresses", type=int, default=200)
    args = parser.parse_args(argv)
    groups = generate(args.nsgs, args.rules)
    reading, evaluating, pieces = exact(groups)
    seconds = reading + evaluating
    print(f"exact: {args.nsgs} NSGs x {args.rules} rules read in {reading:.3f} s and evaluated in {evaluating:.3f} s"
          f" = {seconds:.3f} s ({pieces} allowed pieces; target < 1 s: {'met' if seconds < 1 else 'NOT met'};"
          f" {os.getloadavg()[0]:.1f} load average while measuring)")  # fmt: skip
    naive_seconds, decided = naive(groups[: args.naive_nsgs], args.naive_addresses)
    per_address = naive_seconds / decided
    extrapolated = per_address * (2**32) * args.nsgs
    print(f"naive: measured {decided} per-address decisions ({args.naive_nsgs} NSGs x {args.naive_addresses} sampled "
          f"addresses) in {naive_seconds:.3f} s = {per_address * 1e6:.1f} us each; extrapolated to all 2^32 IPv4 "
          f"sources x {args.nsgs} NSGs: {extrapolated:.3g} s")  # fmt: skip
    print(f"ratio naive (extrapolated) / exact (measured): {extrapolated / seconds:.3g}x")
    return 0 if seconds < 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
