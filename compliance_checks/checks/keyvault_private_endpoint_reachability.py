"""Only the portal's subnet and the VPN path reach the Key Vault that holds the database password.

The Key Vault holds the portal's secrets, the database password among them: whoever reaches the vault's
endpoint is one authorisation away from the credential. The sources that reach it are *computed* with the
reachability evaluator (compliance_checks/evaluate/nsg.py), the same way as for the database port
(nsg_database_port_two_sources, whose allowed sources this check reuses: the web app's integration subnet and
the VPN path):

* **The public endpoint.** ``publicNetworkAccess``: "Property to specify whether the vault will accept traffic
  from public internet. If set to 'disabled' all traffic except private endpoint traffic and that that
  originates from trusted services will be blocked. This will override the set firewall rules", default
  ``enabled``; ``networkAcls.bypass``: "Tells what traffic can bypass network rules. This can be
  'AzureServices' or 'None'. If not specified the default is 'AzureServices'." (Azure/azure-rest-api-specs
  specification/keyvault/resource-manager/Microsoft.KeyVault/stable/2024-11-01/keyvault.json, VaultProperties
  and NetworkRuleSet, commit 315e54b7359504c9af7e9783946a6b62f4434eb0). Anything but ``Disabled`` is a public
  path (FAIL), whatever ``networkAcls`` says; with ``Disabled``, a bypass for trusted Azure services is still a
  path from outside the two sources (FAIL). Unknown: ERROR.
* **The private endpoints** whose connections name the vault (``privateLinkServiceConnections`` or
  ``manualPrivateLinkServiceConnections``), and every endpoint the vault's own ``privateEndpointConnections``
  names (read-only, in the same spec: an endpoint outside the inventory is someone else's network reaching the
  vault: ERROR). For each: the sources reaching TCP 443 (the vault's data plane is HTTPS) on the endpoint's
  addresses through its subnet's NSG. An NSG applies to a private endpoint only when the subnet's
  ``privateEndpointNetworkPolicies`` is ``Enabled`` or ``NetworkSecurityGroupEnabled``: "By default, network
  policies are disabled for a subnet in a virtual network. To use network policies like user-defined routes and
  network security group support, network policy support must be enabled for the subnet." (Microsoft Learn,
  "Manage network policies for private endpoints", MicrosoftDocs/azure-docs
  articles/private-link/disable-private-endpoint-network-policy.md, commit
  027faf67ae0df84208dd3480869a3a26de8caf49). Otherwise -- and without an NSG -- nothing filters: every address
  that routes to the endpoint reaches it, i.e. the VirtualNetwork service tag (the virtual network, its peers,
  what its gateway connects).

PASS only if every computed source lies within the portal's integration subnet plus the VPN path. The evidence
is the reachability table (``Reachability.table()``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.checks.nsg_database_port_two_sources import (
    SERVER,
    DatabasePortTwoSources,
    endpoints_of,
    portal_sources,
    unplaced_endpoints,
    unplaced_error,
    vpn_sources,
)
from compliance_checks.evaluate import nsg
from compliance_checks.evaluate.addresses import AddressSet, PortSet
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue

VAULT = "Microsoft.KeyVault/vaults"
HTTPS = 443  # the vault's data plane (https://<name>.vault.azure.net)
WHAT = f"port {HTTPS}/Tcp"
# NetworkRuleBypassOptions of keyvault.json (commit above).
_BYPASS = domains.Enum(("AzureServices", "None"), "keyvault.json 2024-11-01 NetworkRuleBypassOptions")
_CONNECTIONS = "properties.privateEndpointConnections"


def _bad(value: Any) -> bool:
    return value is UNKNOWN or isinstance(value, SecretValue)


class KeyVaultEndpointReachability(Check):
    meta = CheckMeta(
        id="keyvault_private_endpoint_reachability",
        title="Key Vault is reachable only from the portal subnet and the VPN path",
        severity=Severity.HIGH,
        # The vault protects the secrets (the database password): data protection, like the other Key Vault
        # checks (CTL-KEYVAULT). Not SEC-DB-SINGLE-IP-VPN: reaching the vault does not reach the database,
        # whose own path nsg_database_port_two_sources judges.
        claims=("SEC-DATA-PROTECTION",),
        rationale=(
            "The Key Vault holds the database password. Anyone who can reach its endpoint -- publicly, or"
            " through a private endpoint whose subnet does not filter -- is one authorisation away from it."
        ),
        remediation=(
            "Set publicNetworkAccess=Disabled and networkAcls.bypass=None; put the private endpoint in a subnet"
            " with privateEndpointNetworkPolicies=Enabled whose NSG allows 443/Tcp only from the portal's"
            " integration subnet and the VPN source, then denies all inbound traffic."
        ),
        references=(
            "https://learn.microsoft.com/azure/key-vault/general/network-security",
            "https://learn.microsoft.com/azure/private-link/disable-private-endpoint-network-policy",
            "https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview",
        ),
    )

    READS = (
        # Absent is the default, enabled (publicNetworkAccess) and AzureServices (bypass): a FAIL, never a PASS.
        Read(VAULT, "properties.publicNetworkAccess", domain=domains.Enum(
            ("Enabled", "Disabled"), "keyvault.json 2024-11-01 VaultProperties.publicNetworkAccess")),
        Read(VAULT, "properties.networkAcls.bypass", domain=_BYPASS),
        Read(VAULT, f"{_CONNECTIONS}[*].privateEndpoint.id", absent_ok=True, domain=domains.ArmId(nsg.PRIVATE_ENDPOINT)),
        # What the database check reads to compute who reaches a private endpoint, and the allowed sources.
        *(r for r in DatabasePortTwoSources.READS if r.type != SERVER),
    )  # fmt: skip

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        vaults = inventory.of_type(VAULT)
        if not vaults:
            yield self.error_nothing_found(f"no {VAULT} in the inventory")
            return
        allowed = portal_sources(inventory) | vpn_sources(inventory)
        expected = "only from " + (allowed.describe() if allowed else "(no source could be derived)")
        for vault in vaults:
            yield self._public(vault, expected)
            endpoints = {e.id_key: e for e in endpoints_of(inventory, vault)}
            yield from self._listed_endpoints(inventory, vault, endpoints, expected)
            unplaced = [e for e in unplaced_endpoints(inventory) if e.id_key not in endpoints]
            if unplaced:
                yield unplaced_error(self, vault, unplaced, WHAT, "any may connect to this vault")
            elif not endpoints:
                yield self.finding(
                    vault,
                    Verdict.PASS,
                    f"No private endpoint connects to the vault: nothing reaches {WHAT} privately.",
                    Evidence(
                        f"sources reaching {WHAT}",
                        [{"from": "(nothing)", "to": WHAT, "decided by": "no private endpoint"}],
                        expected,
                    ),
                )
            for endpoint in endpoints.values():
                yield self._judge_endpoint(inventory, endpoint, allowed, expected)

    def _public(self, vault: Resource, expected: str) -> Finding:
        access = vault.get("properties.publicNetworkAccess")
        bypass = vault.get("properties.networkAcls.bypass")
        evidence = (
            Evidence("properties.publicNetworkAccess", access, "Disabled"),
            Evidence("properties.networkAcls.bypass", bypass, "None"),
        )
        if _bad(access) or (access is not MISSING and access is not None and not isinstance(access, str)):
            return self.finding(vault, Verdict.ERROR, "Cannot verify: publicNetworkAccess is unknown.", *evidence)
        if not isinstance(access, str) or access.lower() != "disabled":
            shown = "absent (the default is enabled)" if not isinstance(access, str) else repr(access)
            return self.finding(
                vault,
                Verdict.FAIL,
                f"The vault accepts traffic from the public internet: publicNetworkAccess is {shown}"
                f" (its firewall rules decide, not the two allowed sources; {expected}).",
                *evidence,
            )
        if _bad(bypass):
            return self.finding(vault, Verdict.ERROR, "Cannot verify: networkAcls.bypass is unknown.", *evidence)
        if not isinstance(bypass, str) or bypass.lower() != "none":
            shown = "absent (the default is AzureServices)" if not isinstance(bypass, str) else repr(bypass)
            return self.finding(
                vault,
                Verdict.FAIL,
                f"Trusted Azure services reach the vault past the disabled public access: networkAcls.bypass is"
                f" {shown}.",
                *evidence,
            )
        return self.finding(
            vault, Verdict.PASS, "No public path: public network access disabled, no bypass.", *evidence
        )

    def _listed_endpoints(
        self, inventory: Inventory, vault: Resource, endpoints: dict[str, Resource], expected: str
    ) -> Iterable[Finding]:
        """The endpoints the vault itself lists (live reads): each must be in the inventory to be judged."""
        connections = vault.get(_CONNECTIONS)
        if connections is MISSING or connections is None:
            return
        if _bad(connections) or not isinstance(connections, list):
            yield self.finding(
                vault,
                Verdict.ERROR,
                "Cannot verify: the vault's private endpoint connections are unknown.",
                Evidence(_CONNECTIONS, connections, "a list"),
            )
            return
        for index, connection in enumerate(connections):
            endpoint = connection.get("privateendpoint") if isinstance(connection, dict) else None
            ref = endpoint.get("id") if isinstance(endpoint, dict) else None
            found = inventory.get(ref) if isinstance(ref, str) else None
            if found is None:
                yield self.finding(
                    vault,
                    Verdict.ERROR,
                    f"Cannot verify who reaches {WHAT}: the vault's private endpoint connection {index} names an"
                    " endpoint that is not in the inventory (another network may reach the vault through it).",
                    Evidence(f"{_CONNECTIONS}[{index}].privateEndpoint.id", ref, "an endpoint in the inventory"),
                )
            else:
                endpoints.setdefault(found.id_key, found)

    def _judge_endpoint(self, inventory: Inventory, endpoint: Resource, allowed: AddressSet, expected: str) -> Finding:
        subnet_id = endpoint.get("properties.subnet.id")
        subnet = inventory.get(subnet_id) if isinstance(subnet_id, str) else None
        if subnet is None:
            return self.finding(
                endpoint,
                Verdict.ERROR,
                "Cannot verify: the private endpoint's subnet is unknown or not in the inventory.",
                Evidence("properties.subnet.id", subnet_id, "a subnet in the inventory"),
            )
        destinations = _destinations(subnet, endpoint)
        if isinstance(destinations, nsg.Unresolved):
            return self.finding(
                endpoint,
                Verdict.ERROR,
                f"Cannot verify: {destinations.reason}.",
                Evidence(WHAT, destinations.reason, expected),
            )
        vnet = inventory.parent(subnet)
        tags = nsg.tags_for(inventory, vnet)
        group = nsg.subnet_group(inventory, subnet, tags)
        if isinstance(group, nsg.Unresolved):
            return self.finding(
                endpoint,
                Verdict.ERROR,
                f"Cannot verify: {group.reason}.",
                Evidence("subnet.networkSecurityGroup", group.reason, expected),
            )
        policies = subnet.get("properties.privateEndpointNetworkPolicies")
        applies = nsg.nsg_applies_to_endpoints(subnet)
        if applies is None:
            return self.finding(
                endpoint,
                Verdict.ERROR,
                f"Cannot verify: subnet {subnet.name}'s privateEndpointNetworkPolicies is not readable.",
                Evidence("subnet.privateEndpointNetworkPolicies", policies, "Enabled or NetworkSecurityGroupEnabled"),
            )
        if group is None or not applies:
            why = (
                f"subnet {subnet.name} has no NSG"
                if group is None
                else f"privateEndpointNetworkPolicies is {policies if isinstance(policies, str) else 'absent'}"
                f" (default Disabled) on subnet {subnet.name}: its NSG does not apply to private endpoints"
            )
            return self._unfiltered(endpoint, vnet, tags, allowed=allowed, expected=expected, why=why)
        result = nsg.reach([group], nsg.Query(destinations, "Tcp", PortSet.of([(HTTPS, HTTPS)])))
        evidence = Evidence(f"sources reaching {WHAT}", result.table(WHAT), expected)
        if not result.known:
            return self.finding(
                endpoint, Verdict.ERROR, f"Cannot verify who reaches {WHAT}: {'; '.join(result.unknown)}.", evidence
            )
        extra = result.allowed - allowed
        if extra:
            rules = sorted({label for piece in result.pieces if piece.sources & extra for label in piece.rules})
            because = f", allowed by {'; '.join(rules)}" if rules else ""
            return self.finding(
                endpoint,
                Verdict.FAIL,
                f"The vault's {WHAT} is also reachable from {extra.describe()}{because}.",
                evidence,
            )
        shown = result.allowed.describe() if result.allowed else "nowhere"
        return self.finding(endpoint, Verdict.PASS, f"The vault's {WHAT} is reachable only from {shown}.", evidence)

    def _unfiltered(
        self, endpoint: Resource, vnet: Resource | None, tags: nsg.Tags, *, allowed: AddressSet, expected: str, why: str
    ) -> Finding:
        """Nothing filters: whatever routes to the endpoint reaches it -- the VirtualNetwork tag's addresses. When
        those cannot be resolved, the virtual network's own address space is a part of them for certain."""
        everything = tags.virtual_network()
        sources: nsg.Resolved = everything
        if isinstance(everything, nsg.Unresolved) and vnet is not None:
            sources = nsg.prefixes(vnet.get("properties.addressSpace.addressPrefixes"), f"virtual network {vnet.name}")
        if isinstance(sources, nsg.Unresolved) or (isinstance(everything, nsg.Unresolved) and not sources - allowed):
            reason = everything.reason if isinstance(everything, nsg.Unresolved) else "the network is not resolved"
            table = [{"from": "(unknown)", "to": WHAT, "decided by": f"no NSG applies ({why}); {reason}"}]
            return self.finding(
                endpoint,
                Verdict.ERROR,
                f"Cannot verify who reaches {WHAT}: {why}; {reason}.",
                Evidence(f"sources reaching {WHAT}", table, expected),
            )
        at_least = " (at least)" if isinstance(everything, nsg.Unresolved) else ""
        table = [{"from": sources.describe() + at_least, "to": WHAT, "decided by": f"no NSG applies: {why}"}]
        evidence = Evidence(f"sources reaching {WHAT}", table, expected)
        extra = sources - allowed
        if extra:
            return self.finding(
                endpoint,
                Verdict.FAIL,
                f"The vault's {WHAT} is reachable from {extra.describe()}{at_least}: {why}.",
                evidence,
            )
        return self.finding(
            endpoint, Verdict.PASS, f"The vault's {WHAT} is reachable only from {sources.describe()} ({why}).", evidence
        )


def _destinations(subnet: Resource, endpoint: Resource) -> AddressSet | nsg.Unresolved:
    """The endpoint's own addresses when known, else its whole subnet (a superset: a PASS stays sound)."""
    whole = nsg.subnet_addresses(subnet)
    if isinstance(whole, AddressSet) and not whole:
        return nsg.Unresolved(f"subnet {subnet.name} has no address prefix")
    configs = endpoint.get("properties.ipConfigurations")
    if not isinstance(configs, list) or not configs:
        return whole
    own = nsg.prefixes(  # a configuration that is no object has an address not known (None: unresolved)
        [c.get("privateipaddress") if isinstance(c, dict) else None for c in configs],
        f"private endpoint {endpoint.name}",
    )
    return own if isinstance(own, AddressSet) and own else whole


CHECK = KeyVaultEndpointReachability()
