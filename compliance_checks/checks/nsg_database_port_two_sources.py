"""Only two sources may reach the database port: the portal's subnet and the VPN path.

The sources that reach the port are *computed*, the way Azure evaluates network security groups
(compliance_checks/evaluate/nsg.py: priority order, first match, allow and deny, ports and prefixes singular
and plural, source ports, service tags, application security groups, the default rules): for the PostgreSQL
flexible server's delegated subnet, or the private endpoint(s) in front of it, the exact set of source
addresses from which a TCP packet can reach the database port. The promise holds only if that set is within
the allowed sources derived from the inventory itself: the subnet the web app integrates with, and the VPN
path (the point-to-site client pool, the site-to-site local network gateway prefixes); with a zone-redundant or
same-zone standby also the server's own subnet (primary and standby replicate over it). Anything the
evaluation cannot resolve where it matters is an ERROR, never a PASS. The evidence is the computed table
("from X to port 5432/Tcp: allowed by rule R").

Out of scope here, judged by their own checks: the server's public endpoint (``publicNetworkAccess``:
postgres_public_access_disabled) and its firewall rules (postgres_no_firewall_rules), which only apply to
that endpoint; and whether the VPN path itself admits only the allowed IP or developers with MFA
(vpn_gateway_single_ip_or_entra, entra_* checks). Not modelled: Azure Virtual Network Manager security admin
rules, which no source of this project reads.
"""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks import domains
from compliance_checks.checks.base import Boolean, Check, CheckMeta, Params, Read, bounded, listed
from compliance_checks.checks.nsg_deny_all_inbound import NSG_RULE_READS
from compliance_checks.evaluate import nsg
from compliance_checks.evaluate.addresses import AddressSet, PortSet
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, canonical_id

SERVER = "Microsoft.DBforPostgreSQL/flexibleServers"
_PE_LINKS = ("properties.privateLinkServiceConnections", "properties.manualPrivateLinkServiceConnections")
# highAvailability.mode: HighAvailabilityMode of the PostgreSQL flexible server specs (Disabled, ZoneRedundant,
# SameZone), as azure-native's dbforpostgresql.HighAvailabilityMode generates it.
_HA_MODE = domains.Enum(
    ("Disabled", "ZoneRedundant", "SameZone"), "pulumi_azure_native.dbforpostgresql.HighAvailabilityMode"
)
_PREFIX_LIST = domains.ListOf(domains.CIDR)


def subnet_prefixes(subnet: Resource) -> AddressSet:
    """A subnet's addresses; unreadable ones add nothing (an allowance can only narrow, and so only FAIL)."""
    found = nsg.subnet_addresses(subnet)
    return found if isinstance(found, AddressSet) else AddressSet.empty()


def _known(found: nsg.Resolved) -> AddressSet:
    return found if isinstance(found, AddressSet) else AddressSet.empty()


def vpn_sources(inventory: Inventory) -> AddressSet:
    allowed = AddressSet.empty()
    for gateway in inventory.of_type(nsg.GATEWAY):
        pool = gateway.get("properties.vpnClientConfiguration.vpnClientAddressPool.addressPrefixes")
        allowed = allowed | _known(nsg.prefixes(pool, gateway.name))
    for local in inventory.of_type(nsg.LOCAL_GATEWAY):
        space = local.get("properties.localNetworkAddressSpace.addressPrefixes")
        allowed = allowed | _known(nsg.prefixes(space, local.name))
    return allowed


def portal_sources(inventory: Inventory) -> AddressSet:
    allowed = AddressSet.empty()
    for site in inventory.of_type("Microsoft.Web/sites"):
        subnet_id = site.get("properties.virtualNetworkSubnetId")
        subnet = inventory.get(subnet_id) if isinstance(subnet_id, str) else None
        if subnet is not None:
            allowed = allowed | subnet_prefixes(subnet)
    return allowed


_UNPLACED = "?"  # the key of the endpoints whose target is not known: each may connect to any server or vault


def endpoints_of(inventory: Inventory, server: Resource) -> list[Resource]:
    """The private endpoints whose connections name this server (once per connection that names it)."""
    return inventory.derived("endpoints_by_target", lambda: _endpoints_by_target(inventory)).get(server.id_key, [])


def unplaced_endpoints(inventory: Inventory) -> list[Resource]:
    """The private endpoints of which it is not known what they connect to (a list of connections or a target
    unknown, secret, or no plain ID): any of them may be in front of any server or vault."""
    return inventory.derived("endpoints_by_target", lambda: _endpoints_by_target(inventory)).get(_UNPLACED, [])


def unplaced_error(check: Check, resource: Resource, unplaced: list[Resource], what: str, may: str) -> Finding:
    """ERROR on ``resource``: endpoints of unknown target (``unplaced_endpoints``) ``may`` serve it, so who
    reaches ``what`` is not known. Shared by the database and the Key Vault reachability checks."""
    return check.finding(
        resource,
        Verdict.ERROR,
        f"Cannot verify who reaches {what}: what private endpoint(s) {listed([e.name for e in unplaced])}"
        f" connect to is not known ({may}).",
        Evidence("privateLinkServiceConnections", bounded([e.id for e in unplaced]), "known targets"),
    )


def _endpoints_by_target(inventory: Inventory) -> dict[str, list[Resource]]:
    """Every private-link target (lower-case ID) with the endpoints that connect to it: one pass, not one per target.

    An endpoint whose connections cannot be read goes under ``_UNPLACED`` (once), never nowhere: skipped, it left a
    vault "behind no private endpoint" while an endpoint of unknown target might connect to it.
    """
    found: dict[str, list[Resource]] = {}
    for endpoint in inventory.of_type(nsg.PRIVATE_ENDPOINT):
        unplaced = False
        for path in _PE_LINKS:
            links = endpoint.get(path)
            if links is MISSING or links is None:
                continue
            if not isinstance(links, list):
                unplaced = True
                continue
            for link in links:
                target = link.get("privatelinkserviceid") if isinstance(link, dict) else UNKNOWN
                key = canonical_id(target)
                if key is None:
                    unplaced = True
                else:
                    found.setdefault(key, []).append(endpoint)
        if unplaced:
            found.setdefault(_UNPLACED, []).append(endpoint)
    return found


class DatabasePortTwoSources(Check):
    meta = CheckMeta(
        id="nsg_database_port_two_sources",
        title="Database port is open only to the portal subnet and the VPN source of the single IP",
        severity=Severity.CRITICAL,
        claims=("SEC-DB-SINGLE-IP-VPN",),
        rationale=(
            "The policy promises the personal-data database is reachable only via a single IP address through"
            " VPN. Besides the portal itself, nothing else may open the database port."
        ),
        remediation=(
            "On the database subnet's NSG, allow the database port only from the portal's integration subnet and"
            " the VPN source, then deny all other inbound traffic."
        ),
        references=(
            "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-private",
            "https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview",
            "https://learn.microsoft.com/azure/virtual-network/network-security-group-how-it-works",
            "https://learn.microsoft.com/azure/virtual-network/service-tags-overview",
        ),
    )

    READS = (
        Read(SERVER, "properties.network.delegatedSubnetResourceId", absent_ok=True, domain=domains.ArmId(nsg.SUBNET)),
        Read(SERVER, "properties.highAvailability.mode", absent_ok=True, domain=_HA_MODE),
        # A subnet without an NSG is judged (everything reaches it); one naming an unknown NSG is an ERROR.
        Read(nsg.SUBNET, "properties.networkSecurityGroup.id", absent_ok=True, domain=domains.ArmId(nsg.NSG_TYPE)),
        # A subnet without a prefix adds no allowed source (a narrower allowance can only FAIL).
        Read(nsg.SUBNET, "properties.addressPrefix", absent_ok=True, domain=domains.CIDR),
        Read(nsg.SUBNET, "properties.addressPrefixes", absent_ok=True, domain=_PREFIX_LIST),
        Read(nsg.SUBNET, "properties.routeTable.id", absent_ok=True, domain=domains.ArmId(nsg.ROUTE_TABLE)),
        Read(
            nsg.SUBNET,
            "properties.privateEndpointNetworkPolicies",
            absent_ok=True,
            domain=domains.Enum(nsg.ENDPOINT_POLICIES, "private-link/disable-private-endpoint-network-policy.md"),
        ),
        *NSG_RULE_READS,
        Read("Microsoft.Web/sites", "properties.virtualNetworkSubnetId"),
        Read(nsg.GATEWAY, "properties.vpnClientConfiguration.vpnClientAddressPool.addressPrefixes", domain=_PREFIX_LIST),
        Read(nsg.LOCAL_GATEWAY, "properties.localNetworkAddressSpace.addressPrefixes", domain=_PREFIX_LIST),
        # What the VirtualNetwork tag stands for (read only when a rule using it is reached).
        Read(nsg.VNET, "properties.addressSpace.addressPrefixes", absent_ok=True, domain=_PREFIX_LIST),
        Read(nsg.VNET, "properties.virtualNetworkPeerings", absent_ok=True, domain=domains.ListOf(domains.OBJECT)),
        Read(nsg.GATEWAY, "properties.natRules", absent_ok=True, domain=domains.ListOf(domains.OBJECT)),
        Read(nsg.GATEWAY, "properties.ipConfigurations[*].subnet.id", absent_ok=True, domain=domains.ArmId(nsg.SUBNET)),
        Read(nsg.CONNECTION, "properties.virtualNetworkGateway1.id", absent_ok=True, domain=domains.ArmId(nsg.GATEWAY)),
        Read(nsg.CONNECTION, "properties.localNetworkGateway2.id", absent_ok=True, domain=domains.ArmId(nsg.LOCAL_GATEWAY)),
        Read(nsg.CONNECTION, "properties.enableBgp", absent_ok=True, domain=Boolean()),
        Read(nsg.ROUTE_TABLE, "properties.routes", absent_ok=True, domain=domains.ListOf(domains.OBJECT)),
        # Private endpoints in front of a server, and the members of application security groups.
        *(Read(nsg.PRIVATE_ENDPOINT, f"{path}[*].privateLinkServiceId", absent_ok=True, domain=domains.ArmId()) for path in _PE_LINKS),
        Read(nsg.PRIVATE_ENDPOINT, "properties.subnet.id", absent_ok=True, domain=domains.ArmId(nsg.SUBNET)),
        Read(nsg.PRIVATE_ENDPOINT, "properties.ipConfigurations", absent_ok=True, domain=domains.ListOf(domains.OBJECT)),
        Read(nsg.PRIVATE_ENDPOINT, "properties.applicationSecurityGroups", absent_ok=True, domain=domains.ListOf(domains.OBJECT)),
        Read(nsg.NIC, "properties.ipConfigurations", absent_ok=True, domain=domains.ListOf(domains.OBJECT)),
    )  # fmt: skip

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        servers = inventory.of_type(SERVER)
        if not servers:
            yield self.error_nothing_found(f"no {SERVER} in the inventory")
            return
        base_allowed = portal_sources(inventory) | vpn_sources(inventory)
        for server in servers:
            subnet_id = server.get("properties.network.delegatedSubnetResourceId")
            if subnet_id is UNKNOWN:
                yield self.finding(
                    server,
                    Verdict.ERROR,
                    "Cannot verify: database subnet unknown.",
                    Evidence("properties.network.delegatedSubnetResourceId", subnet_id, "a subnet"),
                )
                continue
            if isinstance(subnet_id, str):
                subnet = inventory.get(subnet_id)
                if subnet is None:
                    yield self.finding(
                        server,
                        Verdict.ERROR,
                        "Cannot verify: the database's subnet is not in the inventory.",
                        Evidence(
                            "properties.network.delegatedSubnetResourceId", subnet_id, "a subnet in the inventory"
                        ),
                    )
                    continue
                yield from self._judge(inventory, server, subnet, base_allowed, params, endpoint=None)
                continue
            endpoints = endpoints_of(inventory, server)
            unplaced = [e for e in unplaced_endpoints(inventory) if e not in endpoints]
            if unplaced:
                yield unplaced_error(self, server, unplaced, "the database", "any may be in front of this server")
            if not endpoints and not unplaced:
                yield self.finding(
                    server,
                    Verdict.FAIL,
                    "The database is in no subnet and behind no private endpoint of the inventory: its sources "
                    "cannot be limited by any network security group.",
                    Evidence("properties.network.delegatedSubnetResourceId", subnet_id, "a subnet in the inventory"),
                )
                continue
            for endpoint in endpoints:
                yield from self._judge_endpoint(inventory, server, endpoint, base_allowed, params)

    def _judge_endpoint(
        self, inventory: Inventory, server: Resource, endpoint: Resource, base_allowed: AddressSet, params: Params
    ) -> Iterable[Finding]:
        subnet_id = endpoint.get("properties.subnet.id")
        subnet = inventory.get(subnet_id) if isinstance(subnet_id, str) else None
        if subnet is None:
            yield self.finding(
                endpoint,
                Verdict.ERROR,
                "Cannot verify: the private endpoint's subnet is unknown or not in the inventory.",
                Evidence("properties.subnet.id", subnet_id, "a subnet in the inventory"),
            )
            return
        yield from self._judge(inventory, server, subnet, base_allowed, params, endpoint=endpoint)

    def _judge(
        self,
        inventory: Inventory,
        server: Resource,
        subnet: Resource,
        base_allowed: AddressSet,
        params: Params,
        *,
        endpoint: Resource | None,
    ) -> Iterable[Finding]:
        port = params.database_port
        what = f"port {port}/Tcp"
        allowed = base_allowed
        if str(server.get("properties.highAvailability.mode")).lower() in ("zoneredundant", "samezone"):
            allowed = allowed | subnet_prefixes(subnet)
        expected = "only from " + (allowed.describe() if allowed else "(no source could be derived)")
        target: Resource = endpoint or server
        destinations = self._destinations(subnet, endpoint)
        if isinstance(destinations, nsg.Unresolved):
            yield self.finding(
                target,
                Verdict.ERROR,
                f"Cannot verify: {destinations.reason}.",
                Evidence(what, destinations.reason, expected),
            )
            return
        tags = nsg.tags_for(inventory, inventory.parent(subnet))
        group = nsg.subnet_group(inventory, subnet, tags)
        if isinstance(group, nsg.Unresolved):
            yield self.finding(
                target,
                Verdict.ERROR,
                f"Cannot verify: {group.reason}.",
                Evidence("subnet.networkSecurityGroup", group.reason, expected),
            )
            return
        note = ""
        if endpoint is not None and group is not None:
            applies = nsg.nsg_applies_to_endpoints(subnet)
            if applies is None:
                yield self.finding(
                    target,
                    Verdict.ERROR,
                    f"Cannot verify: subnet {subnet.name}'s privateEndpointNetworkPolicies is not readable.",
                    Evidence(
                        "subnet.privateEndpointNetworkPolicies",
                        subnet.get("properties.privateEndpointNetworkPolicies"),
                        "Enabled",
                    ),
                )
                return
            if not applies:
                group, note = (
                    None,
                    f" (network policies for private endpoints are disabled on {subnet.name}: its NSG does not apply)",
                )
        if group is None and not note:
            note = f" (subnet {subnet.name} has no NSG)"
        if group is not None:
            # The finding names what decides (and what to fix): the NSG.
            target = inventory.get(str(subnet.get("properties.networkSecurityGroup.id"))) or target
        result = nsg.reach(
            [group] if group is not None else [], nsg.Query(destinations, "Tcp", PortSet.of([(port, port)]))
        )
        evidence = Evidence(f"sources reaching {what}", result.table(what), expected)
        if not result.known:
            yield self.finding(
                target, Verdict.ERROR, f"Cannot verify who reaches {what}: {'; '.join(result.unknown)}.", evidence
            )
            return
        extra = result.allowed - allowed
        if extra:
            culprits = sorted(
                {
                    label + (f" (source {written})" if (written := result.written.get(label)) is not None else "")
                    for piece in result.pieces
                    if piece.sources & extra
                    for label in piece.rules
                }
            )
            because = f", allowed by {'; '.join(culprits)}" if culprits else ""
            yield self.finding(
                target,
                Verdict.FAIL,
                f"Port {port}/Tcp is also reachable from {extra.describe()}{because}{note}.",
                evidence,
            )
        else:
            shown = result.allowed.describe() if result.allowed else "nowhere"
            yield self.finding(target, Verdict.PASS, f"Port {port}/Tcp is reachable only from {shown}.", evidence)

    @staticmethod
    def _destinations(subnet: Resource, endpoint: Resource | None) -> AddressSet | nsg.Unresolved:
        """The server's delegated subnet (the server and its standby may take any of its addresses), or the
        private endpoint's own addresses when known, else its whole subnet (a superset: a PASS stays sound)."""
        whole = nsg.subnet_addresses(subnet)
        if isinstance(whole, AddressSet) and not whole:
            return nsg.Unresolved(f"subnet {subnet.name} has no address prefix")
        if endpoint is None:
            return whole
        configs = endpoint.get("properties.ipConfigurations")
        if configs is MISSING or configs is None:
            return whole
        own = nsg.prefixes(
            # a configuration that is no object has an address not known: None makes the whole answer unresolved
            [c.get("privateipaddress") if isinstance(c, dict) else None for c in configs]
            if isinstance(configs, list)
            else configs,
            f"private endpoint {endpoint.name}",
        )
        return own if isinstance(own, AddressSet) and own else whole


CHECK = DatabasePortTwoSources()
