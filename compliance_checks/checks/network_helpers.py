"""NSG rule arithmetic shared by the network checks (not a check itself)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

BROAD_SOURCES = frozenset({"*", "any", "internet", "0.0.0.0/0", "virtualnetwork", "azureloadbalancer", "::/0"})


def rule_value(rule: Mapping[str, Any], key: str) -> Any:
    """Rules are folded (lower-case keys) in the inventory."""
    return rule.get(key.lower())


def port_covered(rule: Mapping[str, Any], port: int) -> bool:
    ranges = [rule_value(rule, "destinationPortRange"), *(rule_value(rule, "destinationPortRanges") or [])]
    for raw in ranges:
        if raw is None:
            continue
        text = str(raw).strip()
        if text == "*":
            return True
        low, _, high = text.partition("-")
        try:
            if int(low) <= port <= int(high or low):
                return True
        except ValueError:
            return True  # unreadable range: assume it covers the port (fail closed)
    return False


def sources(rule: Mapping[str, Any]) -> set[str]:
    found = [rule_value(rule, "sourceAddressPrefix"), *(rule_value(rule, "sourceAddressPrefixes") or [])]
    return {str(s) for s in found if s not in (None, "")}


def is_inbound_allow(rule: Mapping[str, Any]) -> bool:
    return (
        str(rule_value(rule, "access")).lower() == "allow" and str(rule_value(rule, "direction")).lower() == "inbound"
    )


def is_broad(source: str) -> bool:
    return source.strip().lower() in BROAD_SOURCES


def single_address(prefix: str) -> bool:
    try:
        return ipaddress.ip_network(prefix, strict=False).num_addresses == 1
    except ValueError:
        return False


def normalise_prefix(prefix: str) -> str:
    try:
        return str(ipaddress.ip_network(prefix, strict=False))
    except ValueError:
        return prefix.strip().lower()
