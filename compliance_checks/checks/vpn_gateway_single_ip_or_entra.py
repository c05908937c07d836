"""The VPN gateway authenticates like the promise needs.

Point-to-site: OpenVPN only, Microsoft Entra ID only (so Conditional Access and
MFA apply). Site-to-site: IKEv2 to a local network gateway whose peer and whole
address space is one address, with an explicit IPsec policy of strong
algorithms only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.checks.network_helpers import normalise_prefix, single_address
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import UNKNOWN, Inventory, Resource

# Algorithms judged strong. Diffie-Hellman groups are compared by the group a name stands for, so the
# equivalent names are equal (DHGroup14 = DHGroup2048 = PFS2048: group 14, 2048-bit MODP; domains.DH_GROUP_NUMBER
# cites the Microsoft Learn table). Groups 1 and 2 (768/1024-bit) and "None" (no PFS) are weak.
STRONG_GROUPS = frozenset({14, 19, 20, 24})
STRONG = {
    "ikeencryption": {"aes256", "gcmaes256", "gcmaes128", "aes192"},
    "ikeintegrity": {"sha256", "sha384", "gcmaes256", "gcmaes128"},
    "ipsecencryption": {"gcmaes256", "gcmaes192", "gcmaes128", "aes256", "aes192"},
    "ipsecintegrity": {"gcmaes256", "gcmaes192", "gcmaes128", "sha256"},
}
# Every property of an IpsecPolicy is required by the spec (network.json IpsecPolicy "required"); the algorithm
# ones with their enums (domains.py).
POLICY_FIELDS = {
    "ikeEncryption": domains.IKE_ENCRYPTION,
    "ikeIntegrity": domains.IKE_INTEGRITY,
    "dhGroup": domains.DH_GROUP,
    "ipsecEncryption": domains.IPSEC_ENCRYPTION,
    "ipsecIntegrity": domains.IPSEC_INTEGRITY,
    "pfsGroup": domains.PFS_GROUP,
}


def policy_problems(name: str, policy: Any) -> tuple[list[str], list[str]]:
    """(weaknesses, what cannot be judged) of one IPsec policy."""
    if not isinstance(policy, dict):
        return [], [f"{name}: IPsec policy {policy!r} unreadable"]
    weak: list[str] = []
    unknown: list[str] = []
    values: dict[str, str] = {}
    for field, domain in POLICY_FIELDS.items():
        value = policy.get(field.lower())
        if not domain.accepts(value):
            unknown.append(f"{name}: {field} {value!r} is not a value Azure defines")
        else:
            values[field.lower()] = str(value).lower()
    if unknown:
        return weak, unknown
    for field, table in (("dhgroup", domains.DH_GROUP_NUMBER), ("pfsgroup", domains.PFS_GROUP_NUMBER)):
        group = table[values[field]]
        if group == domains.MAIN_MODE_GROUP:
            group = domains.DH_GROUP_NUMBER[values["dhgroup"]]  # PFSMM: quick mode uses the main mode's group
        if group is None:
            unknown.append(f"{name}: {field} {values[field]} stands for no documented Diffie-Hellman group")
        elif group not in STRONG_GROUPS:
            weak.append(f"{name}: {field} {values[field]} (group {group}) is not strong")
    for field, strong in STRONG.items():
        if values[field] not in strong:
            weak.append(f"{name}: {field} {values[field]} is not strong")
    # "If GCMAES is used as for IPsec Encryption algorithm, you must select the same GCMAES algorithm and key
    # length for IPsec Integrity" (includes/vpn-gateway-ipsec-ike-requirements-include.md, MicrosoftDocs/azure-docs
    # commit 02d00dc8728a58aaf3d8af94e7223857d9a6155f): Azure runs no such policy, so what it runs is unknown.
    encryption, integrity = values["ipsecencryption"], values["ipsecintegrity"]
    if (encryption.startswith("gcm") or integrity.startswith("gcm")) and encryption != integrity:
        unknown.append(f"{name}: IPsec encryption {encryption} with integrity {integrity} is no valid policy")
    return weak, unknown


def _lower_set(value: Any) -> set[str]:
    return {str(v).lower() for v in value} if isinstance(value, list) else set()


def p2s_problems(client: dict[str, Any]) -> list[str]:
    problems = []
    if _lower_set(client.get("vpnclientprotocols")) != {"openvpn"}:
        problems.append(f"P2S protocols {client.get('vpnclientprotocols')} (expected OpenVPN only)")
    if _lower_set(client.get("vpnauthenticationtypes")) != {"aad"}:
        problems.append(f"P2S authentication {client.get('vpnauthenticationtypes')} (expected AAD only)")
    for key in ("aadtenant", "aadaudience", "aadissuer"):
        if not client.get(key):
            problems.append(f"P2S {key} not set")
    return problems


def s2s_problems(inventory: Inventory, connection: Resource) -> tuple[list[str], list[str]]:
    """(what breaks the promise, what cannot be judged) of one site-to-site connection."""
    problems: list[str] = []
    unknowns: list[str] = []
    if str(connection.get("properties.connectionType")).lower() != "ipsec":
        problems.append(f"{connection.name}: type {connection.get('properties.connectionType')}")
    if str(connection.get("properties.connectionProtocol")).lower() != "ikev2":
        problems.append(
            f"{connection.name}: protocol {connection.get('properties.connectionProtocol')} (expected IKEv2)"
        )
    local_id = connection.get("properties.localNetworkGateway2.id")
    local = inventory.get(local_id) if isinstance(local_id, str) else None
    if local is None:
        problems.append(f"{connection.name}: its local network gateway is not in the inventory")
    else:
        space = local.get("properties.localNetworkAddressSpace.addressPrefixes")
        peer = local.get("properties.gatewayIpAddress")
        prefixes = [normalise_prefix(str(p)) for p in space] if isinstance(space, list) else []
        if len(prefixes) != 1 or not single_address(prefixes[0]):
            problems.append(f"{local.name}: address space {prefixes} is not one single address")
        elif not isinstance(peer, str) or normalise_prefix(peer) != prefixes[0]:
            problems.append(f"{local.name}: peer {peer} differs from its address space {prefixes[0]}")
    policies = connection.get("properties.ipsecPolicies")
    if not isinstance(policies, list) or not policies:
        problems.append(f"{connection.name}: no custom IPsec policy (Azure defaults include weak algorithms)")
    else:
        for policy in policies:
            weak, unknown = policy_problems(connection.name, policy)
            problems += weak
            unknowns += unknown
    return problems, unknowns


class VpnGatewayAuthentication(Check):
    meta = CheckMeta(
        id="vpn_gateway_single_ip_or_entra",
        title="VPN gateway: Entra ID point-to-site, or site-to-site to one address with strong IPsec",
        severity=Severity.CRITICAL,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale="The database is reachable only through the VPN; the VPN in turn must admit only the one address, with MFA for people.",
        remediation="Configure P2S with OpenVPN + AAD, or S2S IKEv2 with a /32 local network gateway and a custom IPsec policy.",
        references=(
            "https://learn.microsoft.com/azure/vpn-gateway/openvpn-azure-ad-tenant",
            "https://learn.microsoft.com/azure/vpn-gateway/ipsec-ike-policy-howto",
        ),
    )

    READS = (
        Read("Microsoft.Network/virtualNetworkGateways", "properties.vpnClientConfiguration.vpnClientProtocols"),
        Read("Microsoft.Network/virtualNetworkGateways", "properties.vpnClientConfiguration.vpnAuthenticationTypes"),
        Read("Microsoft.Network/connections", "properties.connectionType"),
        Read("Microsoft.Network/connections", "properties.connectionProtocol"),
        Read("Microsoft.Network/connections", "properties.localNetworkGateway2.id"),
        Read("Microsoft.Network/connections", "properties.ipsecPolicies"),
        *(
            Read("Microsoft.Network/connections", f"properties.ipsecPolicies[*].{field}", domain=domain, required=True)
            for field, domain in POLICY_FIELDS.items()
        ),
        Read("Microsoft.Network/localNetworkGateways", "properties.gatewayIpAddress"),
        Read("Microsoft.Network/localNetworkGateways", "properties.localNetworkAddressSpace.addressPrefixes"),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        gateways = inventory.of_type("Microsoft.Network/virtualNetworkGateways")
        if not gateways:
            yield self.error_nothing_found("no VPN gateway in the inventory")
            return
        connections = inventory.of_type("Microsoft.Network/connections")
        for gateway in gateways:
            client = gateway.get("properties.vpnClientConfiguration")
            mine = [
                c for c in connections if str(c.get("properties.virtualNetworkGateway1.id")).lower() == gateway.id_key
            ]
            evidence = [
                Evidence("properties.vpnClientConfiguration", client, "OpenVPN + AAD, or absent"),
                Evidence("connections", [c.name for c in mine], "IKEv2 to one address"),
            ]
            if client is UNKNOWN:
                yield self.finding(gateway, Verdict.ERROR, "Cannot verify: client configuration unknown.", *evidence)
                continue
            problems: list[str] = []
            unknowns: list[str] = []
            if isinstance(client, dict) and client:
                problems += p2s_problems(client)
            for connection in mine:
                weak, unknown = s2s_problems(inventory, connection)
                problems += weak
                unknowns += unknown
            if not (isinstance(client, dict) and client) and not mine:
                problems.append("neither point-to-site nor a site-to-site connection is configured")
            if problems:
                yield self.finding(gateway, Verdict.FAIL, "; ".join(problems) + ".", *evidence)
            elif unknowns:
                yield self.finding(gateway, Verdict.ERROR, "Cannot verify: " + "; ".join(unknowns) + ".", *evidence)
            else:
                modes = ["P2S OpenVPN/Entra ID"] * bool(client) + [f"S2S to {len(mine)} single address(es)"] * bool(
                    mine
                )
                yield self.finding(gateway, Verdict.PASS, " and ".join(modes) + ".", *evidence)


CHECK = VpnGatewayAuthentication()
