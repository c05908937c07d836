"""NSG rule arithmetic shared by the network checks (not a check itself)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, Read
from compliance_checks.findings import Evidence, Finding, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue
from infra import well_known

NSG = "Microsoft.Network/networkSecurityGroups"
_RULES = "properties.securityRules[*]"
# What every rule-reading check decides on; protocol, access, priority and direction are required by the API.
RULE_READS = (
    Read(NSG, f"{_RULES}.access", domain=domains.RULE_ACCESS, required=True),
    Read(NSG, f"{_RULES}.direction", domain=domains.RULE_DIRECTION, required=True),
    Read(NSG, f"{_RULES}.protocol", domain=domains.RULE_PROTOCOL, required=True),
    Read(NSG, f"{_RULES}.priority", domain=domains.RULE_PRIORITY, required=True),
    Read(NSG, f"{_RULES}.sourceAddressPrefix", absent_ok=True, domain=domains.ADDRESS_PREFIX),
    Read(NSG, f"{_RULES}.sourceAddressPrefixes", absent_ok=True, domain=domains.ADDRESS_PREFIXES),
    Read(NSG, f"{_RULES}.destinationPortRange", absent_ok=True, domain=domains.PORT_RANGE),
    Read(NSG, f"{_RULES}.destinationPortRanges", absent_ok=True, domain=domains.PORT_RANGES),
)

BROAD_SOURCES = frozenset({"*", "any", "internet", "0.0.0.0/0", "virtualnetwork", "azureloadbalancer", "::/0"})


def entra_p2s(gateway: Resource) -> bool | None:
    """Whether a gateway signs point-to-site clients in with Microsoft Entra ID; None when that is unknowable.

    ``vpnAuthenticationTypes`` says so since API version 2019-x; before it, the gateway used Entra ID
    whenever ``aadTenant``/``aadAudience``/``aadIssuer`` were set, and ARM still accepts that shape.
    Either sign makes the gateway one to judge (fail closed: a gateway that might admit Entra
    tokens is never "not applicable").
    """
    client = gateway.get("properties.vpnClientConfiguration")
    if client is MISSING or client is None:
        return False
    if not isinstance(client, Mapping):
        return None
    types = client.get("vpnauthenticationtypes", MISSING)
    if isinstance(types, list) and any(isinstance(t, str) and t.lower() == "aad" for t in types):
        return True
    aad = [client.get(key, MISSING) for key in ("aadtenant", "aadaudience", "aadissuer")]
    if any(value is UNKNOWN or isinstance(value, SecretValue) for value in (*aad, types)):
        return None
    if any(isinstance(value, str) and value.strip() for value in aad):
        return True
    if types is MISSING or types is None or isinstance(types, list):
        return False
    return None  # not a list: malformed


def entra_gateways(check: Check, inventory: Inventory) -> tuple[list[Resource], list[Finding]]:
    """The Entra point-to-site gateways, and an ERROR for each whose client configuration is unknowable
    (whether it admits Entra tokens is itself unknown: never "not applicable")."""
    found: list[Resource] = []
    errors: list[Finding] = []
    for gateway in inventory.of_type("Microsoft.Network/virtualNetworkGateways"):
        entra = entra_p2s(gateway)
        if entra is None:
            client = gateway.get("properties.vpnClientConfiguration")
            errors.append(
                check.finding(
                    gateway,
                    Verdict.ERROR,
                    "Cannot verify: the gateway's client configuration is unknown.",
                    Evidence("properties.vpnClientConfiguration", client, "known"),
                )
            )
        elif entra:
            found.append(gateway)
    return found, errors


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
    """Everywhere, or a whole service tag: every tag stands for address ranges shared far beyond this
    estate (AzureCloud is every Azure datacenter's public address, Storage every storage account's)."""
    text = source.strip().lower()
    return text in BROAD_SOURCES or text.split(".", 1)[0] in {t.lower() for t in well_known.service_tags()}


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
