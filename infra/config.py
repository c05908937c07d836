"""Stack configuration: read once, validated once, typed.

Every promise of the privacy policy that depends on a configured value (the EU
region, the one allowed IP address, the developers' group) is validated here,
before a single resource is declared. A bad value stops the program with one
line that names the file, the key and the reason.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from infra import well_known

PROJECT = "smart-portal"

# Regions whose geo-redundant backup pair is in the EU as well: geo-redundant
# database backups must never leave the EU, so a region only qualifies together
# with its pair. Norway and Switzerland are left out on purpose (not EU).
EU_REGION_PAIRS: Mapping[str, str] = {
    "germanywestcentral": "germanynorth",
    "germanynorth": "germanywestcentral",
    "westeurope": "northeurope",
    "northeurope": "westeurope",
    "francecentral": "francesouth",
    "francesouth": "francecentral",
    "swedencentral": "swedensouth",
    "swedensouth": "swedencentral",
}

REGION_SHORT_NAMES: Mapping[str, str] = {
    "germanywestcentral": "gwc",
    "germanynorth": "gno",
    "westeurope": "weu",
    "northeurope": "neu",
    "francecentral": "frc",
    "francesouth": "frs",
    "swedencentral": "sdc",
    "swedensouth": "sds",
}

# The P2S gateway's audience is the estate's own app (infra/components/vpn_audience.py);
# the Microsoft-registered Azure VPN Client app of the cloud is pre-authorized on it.
DEFAULT_VPN_CLIENT_CLOUD = "AzureCloud"

VpnMode = Literal["p2s", "s2s"]
_HOSTNAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@([a-z0-9-]+\.)+[a-z]{2,63}$", re.IGNORECASE)


# --- what Azure accepts ---------------------------------------------------------------
# Every enumerated value is checked against infra/data/azure_offerings.json, which
# keeps each fact once with its source and the API version it applies to. The
# choices below only narrow those facts by this program's own policy.

OFFERINGS_FILE = "data/azure_offerings.json"


def _load_offerings() -> Mapping[str, Mapping[str, Any]]:
    document = json.loads(resources.files("infra").joinpath(OFFERINGS_FILE).read_text(encoding="utf-8"))
    groups = document["groups"]
    assert isinstance(groups, dict), OFFERINGS_FILE
    return groups


OFFERINGS = _load_offerings()


def _strings(values: object, where: str) -> tuple[str, ...]:
    assert isinstance(values, list) and all(isinstance(v, str) for v in values), where
    return tuple(values)


def _texts(group: str, key: str = "values") -> tuple[str, ...]:
    return _strings(OFFERINGS[group][key], f"{group}.{key}")


def _table(group: str) -> dict[str, tuple[str, ...]]:
    table = OFFERINGS[group]["values"]
    assert isinstance(table, dict), group
    return {name: _strings(values, f"{group}.{name}") for name, values in table.items()}


def _numbers(group: str, key: str) -> tuple[int, ...]:
    values = OFFERINGS[group][key]
    assert isinstance(values, list) and all(type(v) is int for v in values), (group, key)
    return tuple(values)


def _range(group: str) -> tuple[int, int]:
    low, high = _numbers(group, "range")
    assert low <= high, group
    return low, high


def _counts(group: str) -> dict[str, int]:
    table = OFFERINGS[group]["values"]
    assert isinstance(table, dict) and all(type(v) is int for v in table.values()), group
    return dict(table)


# VPN gateway: the zone-redundant (AZ) VPN SKUs of the API's enum, in enum order.
VPN_SKUS_BY_GENERATION = _table("vpn_gateway.skus_by_generation")
VPN_GATEWAY_SKUS = tuple(
    sku
    for sku in _texts("vpn_gateway.sku_name")
    if sku.endswith("AZ")
    and sku in _texts("vpn_gateway.sku_tier")
    and any(sku in skus for skus in VPN_SKUS_BY_GENERATION.values())
)


def vpn_gateway_generation(sku: str) -> str:
    """The gateway generation to deploy ``sku`` in: the newest one the SKU is offered in.

    Generation2 where a SKU comes in both (the higher throughput of the two per
    the SKU table), Generation1 where it comes in Generation1 only (VpnGw1AZ).
    """
    offered = [g for g in _texts("vpn_gateway.generation") if sku in VPN_SKUS_BY_GENERATION.get(g, ())]
    if not offered:
        raise KeyError(f"{sku} is not offered in any VPN gateway generation")
    return offered[-1]


# PostgreSQL flexible server.
DB_TIERS = _texts("postgresql.sku_tier")
_DB_SKU_PREFIX = OFFERINGS["postgresql.sku_name_prefix"]["value"]
DB_COMPUTE_SIZES: Mapping[str, tuple[str, ...]] = {
    tier: tuple(f"{_DB_SKU_PREFIX}{size}" for size in sizes)
    for tier, sizes in _table("postgresql.compute_sizes").items()
}
DB_HA_TIERS = _texts("postgresql.high_availability_tiers")
DB_STORAGE_SIZES_GB = _numbers("postgresql.storage_size_gib", "values")
DB_BACKUP_RETENTION_DAYS = _range("postgresql.backup_retention_days")

# App Service plan: Linux SKUs of the tiers that offer VNet integration.
_APP_TIERS_WITH_VNET = _texts("app_service.vnet_integration_tiers")
APP_SERVICE_SKUS: Mapping[str, tuple[str, ...]] = {
    tier: skus for tier, skus in _table("app_service.sku_names").items() if tier in _APP_TIERS_WITH_VNET
}
APP_SERVICE_TIER_OF = {sku: tier for tier, skus in APP_SERVICE_SKUS.items() for sku in skus}
APP_SERVICE_MAX_INSTANCES = _counts("app_service.max_instances")
ZONE_REDUNDANT_TIERS = tuple(t for t in _texts("app_service.zone_redundancy", "tiers") if t in APP_SERVICE_SKUS)
ZONE_REDUNDANT_MIN_INSTANCES: int = OFFERINGS["app_service.zone_redundancy"]["min_instances"]

# One minimum TLS version serves the portal (App Service) and the database (server parameter).
TLS_VERSIONS = tuple(v for v in _texts("app_service.tls_versions") if v in _texts("postgresql.tls_versions"))

# Log Analytics: logs hold visitors' IP addresses, so policy keeps them 30 to 90
# days; Azure's own range must contain that.
LOG_RETENTION_POLICY_DAYS = (30, 90)
_LOG_RETENTION_AZURE_DAYS = _range("log_analytics.retention_days")
LOG_RETENTION_DAYS = (
    max(LOG_RETENTION_POLICY_DAYS[0], _LOG_RETENTION_AZURE_DAYS[0]),
    min(LOG_RETENTION_POLICY_DAYS[1], _LOG_RETENTION_AZURE_DAYS[1]),
)


class ConfigError(ValueError):
    """A stack configuration value is missing or breaks a promise. The message is one line."""


@dataclass(frozen=True)
class _Key:
    name: str
    required: bool = False
    help: str = ""


# Every key the program understands; anything else in our namespace is a typo.
KEYS: tuple[_Key, ...] = (
    _Key("allowedIp", True, "the one public IPv4 address allowed to reach the database through the VPN"),
    _Key("customDomain", True, "the portal's public host name, e.g. portal.smartde.coop"),
    _Key("alertEmail", True, "who is told when a firewall rule or NSG changes"),
    _Key("location", help="Azure region (EU allow-list)"),
    _Key("vpnMode", help="p2s (OpenVPN with Entra ID) or s2s (IPsec to the allowed IP)"),
    _Key("vpnClientAddressPool", help="p2s client address pool (private, /24 to /29)"),
    _Key("vpnGatewaySku", help="zone-redundant VPN gateway SKU"),
    _Key("vpnClientAppId", help="Microsoft-registered Azure VPN Client app ID of your cloud (default: Azure public)"),
    _Key("vnetAddressSpace", help="private /24 (or larger) for the virtual network"),
    _Key("tenantId", help="Entra tenant ID (default: the deployer's tenant)"),
    _Key("developerGroupName", help="display name of the developers' Entra group"),
    _Key("breakGlassObjectIds", help="Entra object IDs excluded from Conditional Access"),
    _Key("appServiceSku", help="App Service plan SKU"),
    _Key("appServiceCapacity", help="number of App Service instances"),
    _Key("zoneRedundant", help="spread the App Service plan over availability zones"),
    _Key("appRuntime", help="Linux runtime stack, e.g. NODE|22-lts"),
    _Key("minTlsVersion", help="minimum TLS version for the portal and database"),
    _Key("dbSkuName", help="PostgreSQL compute SKU"),
    _Key("dbSkuTier", help=" or ".join(DB_TIERS)),
    _Key("dbStorageGb", help="PostgreSQL storage in GiB"),
    _Key("dbHighAvailability", help="zone-redundant standby server"),
    _Key("dbBackupRetentionDays", help="{} to {} days".format(*DB_BACKUP_RETENTION_DAYS)),
    _Key("dbPasswordAuth", help="keep password authentication besides Entra ID"),
    _Key("logRetentionDays", help="Log Analytics retention, {} to {} days".format(*LOG_RETENTION_DAYS)),
)
KEY_NAMES = frozenset(k.name for k in KEYS)


@dataclass(frozen=True)
class NetworkLayout:
    vnet: ipaddress.IPv4Network
    gateway_subnet: ipaddress.IPv4Network
    portal_subnet: ipaddress.IPv4Network
    database_subnet: ipaddress.IPv4Network
    endpoints_subnet: ipaddress.IPv4Network


@dataclass(frozen=True)
class VpnSettings:
    mode: VpnMode
    client_address_pool: ipaddress.IPv4Network | None
    gateway_sku: str
    # Decided from the SKU (vpn_gateway_generation): the generations a SKU is offered in are data.
    generation: str
    # The Microsoft-registered Azure VPN Client app the gateway's own audience app pre-authorizes.
    client_app_id: str


@dataclass(frozen=True)
class PortalSettings:
    sku: str
    capacity: int
    zone_redundant: bool
    runtime: str
    min_tls_version: str


@dataclass(frozen=True)
class DatabaseSettings:
    sku_name: str
    sku_tier: str
    storage_gb: int
    high_availability: bool
    backup_retention_days: int
    password_auth: bool
    version: str = "16"


@dataclass(frozen=True)
class AccessSettings:
    developer_group_name: str
    break_glass_object_ids: tuple[str, ...]
    tenant_id: str | None


@dataclass(frozen=True)
class StackConfig:
    stack: str
    location: str
    allowed_ip: ipaddress.IPv4Address
    custom_domain: str
    alert_email: str
    network: NetworkLayout
    vpn: VpnSettings
    portal: PortalSettings
    database: DatabaseSettings
    access: AccessSettings
    log_retention_days: int
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def paired_location(self) -> str:
        return EU_REGION_PAIRS[self.location]

    @property
    def region_short(self) -> str:
        return REGION_SHORT_NAMES[self.location]

    @property
    def allowed_ip_cidr(self) -> str:
        return f"{self.allowed_ip}/32"

    @property
    def vpn_source_prefix(self) -> str:
        """The one source through which traffic from the VPN reaches the database.

        Site-to-site: the office's single address, tunnelled. Point-to-site: the
        client pool; Conditional Access only lets the VPN client sign in from
        the allowed IP, so the pool is reachable from that one address only.
        """
        if self.vpn.mode == "s2s":
            return self.allowed_ip_cidr
        assert self.vpn.client_address_pool is not None
        return str(self.vpn.client_address_pool)


class _Reader:
    """Reads raw values (strings as Pulumi passes them, or native YAML values)."""

    def __init__(self, raw: Mapping[str, object], where: str) -> None:
        self.raw = raw
        self.where = where

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.where}: {PROJECT}:{key}: {reason}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw.get(key)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            if default is None:
                spec = next(k for k in KEYS if k.name == key)
                raise self.fail(key, f"required key is missing ({spec.help})")
            return default
        if isinstance(value, (dict, list, bool)):
            raise self.fail(key, f"expected a text value, got {type(value).__name__}")
        return str(value).strip()

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise self.fail(key, f"expected true or false, got {value!r}")

    def integer(self, key: str, default: int, low: int, high: int, why: str = "") -> int:
        number = self._whole_number(key, default)
        if not low <= number <= high:
            raise self.fail(key, f"{number} is outside the allowed range {low} to {high}{why}")
        return number

    def number_choice(self, key: str, default: int, choices: tuple[int, ...], what: str) -> int:
        number = self._whole_number(key, default)
        if number not in choices:
            raise self.fail(key, f"{number} is not {what}; accepted: {', '.join(map(str, choices))}")
        return number

    def _whole_number(self, key: str, default: int) -> int:
        value = self.raw.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            raise self.fail(key, f"expected a whole number, got {value!r}")
        try:
            return int(str(value).strip())
        except ValueError:
            raise self.fail(key, f"expected a whole number, got {value!r}") from None

    def text_list(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except json.JSONDecodeError:
                raise self.fail(key, 'expected a list, e.g. ["<object id>"]') from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "expected a list of strings")
        return tuple(v.strip() for v in value)

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.fail(key, f"{value!r} is not one of {', '.join(choices)}")
        return value


def parse_allowed_ip(text: str) -> ipaddress.IPv4Address:
    """One public IPv4 address, written plain or as /32. Raises ValueError with the reason."""
    candidate = text.strip()
    if candidate in ("*", "any", "Any", "Internet", "internet"):
        raise ValueError(f"{candidate!r} means every address; exactly one public IPv4 address is allowed")
    try:
        network = ipaddress.ip_network(candidate, strict=False)
    except ValueError:
        raise ValueError(f"{candidate!r} is not an IP address") from None
    if network.version != 4:
        raise ValueError(f"{candidate} is not an IPv4 address")
    if network.prefixlen != 32:
        raise ValueError(
            f"{candidate} is a range of {network.num_addresses} addresses; exactly one address (/32) is allowed"
        )
    address = network.network_address
    assert isinstance(address, ipaddress.IPv4Address)
    for test, label in (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private or reserved address"),
        (address in ipaddress.ip_network("100.64.0.0/10"), "a carrier-grade NAT (shared) address"),
        (not address.is_global, "not a public address"),
    ):
        if test:
            raise ValueError(f"{candidate} is {label}; it must be one public IPv4 address")
    return address


def _private_network(reader: _Reader, key: str, default: str, low: int, high: int) -> ipaddress.IPv4Network:
    text = reader.text(key, default)
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise reader.fail(key, f"{text!r} is not a network in CIDR form ({exc})") from None
    if network.version != 4 or not network.is_private:
        raise reader.fail(key, f"{text} must be a private IPv4 range")
    if not low <= network.prefixlen <= high:
        raise reader.fail(key, f"{text} must have a prefix length from /{low} to /{high}")
    assert isinstance(network, ipaddress.IPv4Network)
    return network


def _layout(vnet: ipaddress.IPv4Network) -> NetworkLayout:
    # Four /26 subnets carved from the front of the address space: large enough
    # for the gateway (needs /27 or more), the App Service integration, the
    # delegated PostgreSQL subnet and the private endpoints.
    quarters = list(vnet.subnets(new_prefix=26))[:4]
    return NetworkLayout(vnet, *quarters)


def _guid(reader: _Reader, key: str, value: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise reader.fail(key, f"{value!r} is not a GUID") from None
    if parsed.int == 0:
        raise reader.fail(key, "the all-zero GUID is a placeholder, not a real ID")
    return str(parsed)


def _vpn_client_app_id(reader: _Reader) -> str:
    clients = well_known.azure_vpn_client_app_ids()
    value = _guid(reader, "vpnClientAppId", reader.text("vpnClientAppId", clients[DEFAULT_VPN_CLIENT_CLOUD]))
    if value not in clients.values():
        listed = ", ".join(f"{app} ({cloud})" for cloud, app in sorted(clients.items()))
        raise reader.fail("vpnClientAppId", f"{value} is not a Microsoft-registered Azure VPN Client app ({listed})")
    return value


def parse_config(raw: Mapping[str, object], *, stack: str, where: str) -> StackConfig:
    """Validate raw stack configuration (keys without the project namespace).

    ``where`` names the source (usually the stack file) in error messages.
    """
    reader = _Reader(raw, where)
    if "vpnAudience" in raw:
        raise reader.fail(
            "vpnAudience",
            "removed: the program registers the VPN's own audience app (only developers are assigned);"
            " set vpnClientAppId only for a cloud other than Azure public",
        )
    unknown = sorted(set(raw) - KEY_NAMES)
    if unknown:
        key = unknown[0]
        near = [k for k in sorted(KEY_NAMES) if k.lower() == key.lower()]
        hint = f"; did you mean {near[0]}?" if near else f"; known keys: {', '.join(sorted(KEY_NAMES))}"
        raise reader.fail(key, f"unknown key{hint}")

    location = reader.text("location", "germanywestcentral").lower()
    if location not in EU_REGION_PAIRS:
        raise reader.fail(
            "location",
            f"{location!r} is not an allowed EU region with an EU backup pair "
            f"(allowed: {', '.join(sorted(EU_REGION_PAIRS))})",
        )

    try:
        allowed_ip = parse_allowed_ip(reader.text("allowedIp"))
    except ValueError as exc:
        raise reader.fail("allowedIp", str(exc)) from None

    domain = reader.text("customDomain").lower().rstrip(".")
    if not _HOSTNAME.match(domain) or domain.endswith(".azurewebsites.net"):
        raise reader.fail("customDomain", f"{domain!r} is not a custom DNS host name")

    email = reader.text("alertEmail")
    if not _EMAIL.match(email):
        raise reader.fail("alertEmail", f"{email!r} is not an e-mail address")

    vnet = _private_network(reader, "vnetAddressSpace", "10.20.0.0/24", 8, 24)
    mode = reader.choice("vpnMode", "p2s", ("p2s", "s2s"))
    pool: ipaddress.IPv4Network | None = None
    if mode == "p2s":
        pool = _private_network(reader, "vpnClientAddressPool", "172.16.201.0/28", 24, 29)
        if pool.overlaps(vnet):
            raise reader.fail("vpnClientAddressPool", f"{pool} overlaps the virtual network {vnet}")
    elif "vpnClientAddressPool" in raw:
        raise reader.fail("vpnClientAddressPool", "only applies to vpnMode p2s")
    gateway_sku = reader.choice("vpnGatewaySku", "VpnGw1AZ", VPN_GATEWAY_SKUS)
    vpn = VpnSettings(
        mode="p2s" if mode == "p2s" else "s2s",
        client_address_pool=pool,
        gateway_sku=gateway_sku,
        generation=vpn_gateway_generation(gateway_sku),
        client_app_id=_vpn_client_app_id(reader),
    )

    tenant_text = raw.get("tenantId")
    tenant = _guid(reader, "tenantId", reader.text("tenantId")) if tenant_text not in (None, "") else None
    break_glass = tuple(_guid(reader, "breakGlassObjectIds", v) for v in reader.text_list("breakGlassObjectIds"))
    group = reader.text("developerGroupName", f"{PROJECT}-developers-{stack}")
    if not 3 <= len(group) <= 120:
        raise reader.fail("developerGroupName", "must be 3 to 120 characters long")

    sku = reader.text("appServiceSku", "B1")
    if sku not in APP_SERVICE_TIER_OF:
        raise reader.fail(
            "appServiceSku",
            f"{sku!r} is not a Linux App Service SKU with VNet integration; accepted: {', '.join(APP_SERVICE_TIER_OF)}",
        )
    app_tier = APP_SERVICE_TIER_OF[sku]
    most = APP_SERVICE_MAX_INSTANCES[app_tier]
    capacity = reader.integer("appServiceCapacity", 1, 1, most, f" (a {app_tier} plan, {sku}, has at most {most})")
    zone_redundant = reader.boolean("zoneRedundant", False)
    if zone_redundant and app_tier not in ZONE_REDUNDANT_TIERS:
        zone_skus = [s for t in ZONE_REDUNDANT_TIERS for s in APP_SERVICE_SKUS[t]]
        raise reader.fail(
            "zoneRedundant",
            f"zone redundancy is offered for {' and '.join(ZONE_REDUNDANT_TIERS)} only, appServiceSku {sku} is "
            f"{app_tier}; accepted: {', '.join(zone_skus)}",
        )
    if zone_redundant and capacity < ZONE_REDUNDANT_MIN_INSTANCES:
        raise reader.fail(
            "appServiceCapacity", f"zone redundancy needs at least {ZONE_REDUNDANT_MIN_INSTANCES} instances"
        )
    min_tls = reader.choice("minTlsVersion", "1.2", TLS_VERSIONS)
    portal = PortalSettings(
        sku=sku,
        capacity=capacity,
        zone_redundant=zone_redundant,
        runtime=reader.text("appRuntime", "NODE|22-lts"),
        min_tls_version=min_tls,
    )

    tier = reader.choice("dbSkuTier", "Burstable", DB_TIERS)
    db_sku = reader.text("dbSkuName", "Standard_B1ms")
    if db_sku not in DB_COMPUTE_SIZES[tier]:
        other = next((t for t, sizes in DB_COMPUTE_SIZES.items() if db_sku in sizes), None)
        what = f"is a {other} compute size, dbSkuTier is {tier}" if other else "is not a compute size"
        raise reader.fail("dbSkuName", f"{db_sku!r} {what}; accepted for {tier}: {', '.join(DB_COMPUTE_SIZES[tier])}")
    ha = reader.boolean("dbHighAvailability", False)
    if ha and tier not in DB_HA_TIERS:
        raise reader.fail(
            "dbHighAvailability",
            f"high availability is not offered for the {tier} tier; accepted: {', '.join(DB_HA_TIERS)}",
        )
    database = DatabaseSettings(
        sku_name=db_sku,
        sku_tier=tier,
        storage_gb=reader.number_choice("dbStorageGb", 32, DB_STORAGE_SIZES_GB, "an offered storage size in GiB"),
        high_availability=ha,
        backup_retention_days=reader.integer("dbBackupRetentionDays", 7, *DB_BACKUP_RETENTION_DAYS),
        password_auth=reader.boolean("dbPasswordAuth", False),
    )

    return StackConfig(
        stack=stack,
        location=location,
        allowed_ip=allowed_ip,
        custom_domain=domain,
        alert_email=email,
        network=_layout(vnet),
        vpn=vpn,
        portal=portal,
        database=database,
        access=AccessSettings(group, break_glass, tenant),
        log_retention_days=reader.integer("logRetentionDays", 30, *LOG_RETENTION_DAYS),
        tags={"project": PROJECT, "environment": stack, "managed-by": "pulumi"},
    )
