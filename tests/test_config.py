"""Bad stack configuration stops the program before any resource, with one line naming file and key."""

from __future__ import annotations

import contextvars
import enum
import importlib
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.azure_types import api_version_of_type
from infra.config import (
    APP_SERVICE_MAX_INSTANCES,
    APP_SERVICE_SKUS,
    DB_COMPUTE_SIZES,
    DB_STORAGE_SIZES_GB,
    LOG_RETENTION_POLICY_DAYS,
    OFFERINGS,
    VPN_GATEWAY_SKUS,
    ConfigError,
    parse_allowed_ip,
    parse_config,
)
from infra.synth import REPO_ROOT, STACKS_DIR, load_stack_file, synthesize

GOOD: dict[str, Any] = {
    "allowedIp": "93.184.216.34",
    "customDomain": "portal.example.org",
    "alertEmail": "ops@example.org",
}
WHERE = "infra/stacks/Pulumi.test.yaml"


def parse(**changes: Any) -> Any:
    raw = {**GOOD, **changes}
    return parse_config({k: v for k, v in raw.items() if v is not None}, stack="test", where=WHERE)


def assert_one_line(error: ConfigError, key: str, *fragments: str) -> None:
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{WHERE}: smart-portal:{key}: "), message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("0.0.0.0/0", "range of 4294967296 addresses"),
        ("93.184.216.0/24", "range of 256 addresses"),
        ("93.184.216.34/31", "range of 2 addresses"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.10/32", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.10.10", "link-local"),
        ("224.0.0.5", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.1.1", "carrier-grade NAT"),
        ("198.51.100.7", "private or reserved"),
        ("240.0.0.1", "reserved"),
        ("2001:db8::1", "not an IPv4 address"),
        ("*", "every address"),
        ("Internet", "every address"),
        ("not-an-ip", "not an IP address"),
        ("1.2.3.4.5", "not an IP address"),
    ],
)
def test_allowed_ip_must_be_one_public_ipv4_address(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(allowedIp=value)
    assert_one_line(caught.value, "allowedIp", repr(value) if fragment == "not an IP address" else value, fragment)


@pytest.mark.parametrize("value", ["93.184.216.34", "93.184.216.34/32", " 20.52.1.9 "])
def test_allowed_ip_accepts_one_public_address(value: str) -> None:
    cfg = parse(allowedIp=value)
    assert str(cfg.allowed_ip) == value.strip().removesuffix("/32")
    assert cfg.allowed_ip_cidr == f"{cfg.allowed_ip}/32"
    assert parse_allowed_ip(value) == cfg.allowed_ip


@pytest.mark.parametrize("region", ["eastus", "switzerlandnorth", "norwayeast", "uksouth", "polandcentral", "global"])
def test_location_must_be_an_eu_region_with_an_eu_pair(region: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(location=region)
    assert_one_line(caught.value, "location", region, "not an allowed EU region", "germanywestcentral")


@pytest.mark.parametrize("key", ["allowedIp", "customDomain", "alertEmail"])
def test_required_keys(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(**{key: None})
    assert_one_line(caught.value, key, "required key is missing")


@pytest.mark.parametrize(
    ("changes", "key", "fragment"),
    [
        ({"allowedIP": "93.184.216.34"}, "allowedIP", "did you mean allowedIp?"),
        ({"colour": "blue"}, "colour", "unknown key; known keys:"),
        ({"vpnMode": "l2tp"}, "vpnMode", "not one of p2s, s2s"),
        ({"vpnClientAddressPool": "10.20.0.0/28"}, "vpnClientAddressPool", "overlaps the virtual network"),
        ({"vpnClientAddressPool": "8.8.8.0/28"}, "vpnClientAddressPool", "private IPv4 range"),
        ({"vpnMode": "s2s", "vpnClientAddressPool": "172.16.0.0/28"}, "vpnClientAddressPool", "only applies to"),
        ({"vnetAddressSpace": "10.0.0.0/28"}, "vnetAddressSpace", "prefix length"),
        ({"vnetAddressSpace": "10.0.0.1/24"}, "vnetAddressSpace", "not a network in CIDR form"),
        ({"zoneRedundant": "maybe"}, "zoneRedundant", "expected true or false"),
        ({"zoneRedundant": True}, "zoneRedundant", "zone redundancy is offered for PremiumV2 and PremiumV3 only"),
        ({"appServiceSku": "P1v3", "zoneRedundant": True}, "appServiceCapacity", "at least 2 instances"),
        ({"appServiceSku": "F1"}, "appServiceSku", "not a Linux App Service SKU with VNet integration"),
        ({"dbHighAvailability": True}, "dbHighAvailability", "Burstable"),
        ({"dbBackupRetentionDays": "90"}, "dbBackupRetentionDays", "outside the allowed range 7 to 35"),
        ({"dbBackupRetentionDays": "a week"}, "dbBackupRetentionDays", "whole number"),
        ({"logRetentionDays": 365}, "logRetentionDays", "outside the allowed range 30 to 90"),
        ({"minTlsVersion": "1.0"}, "minTlsVersion", "not one of 1.2, 1.3"),
        ({"customDomain": "app.azurewebsites.net"}, "customDomain", "not a custom DNS host name"),
        ({"customDomain": "no_underscores.example"}, "customDomain", "not a custom DNS host name"),
        ({"alertEmail": "nobody"}, "alertEmail", "not an e-mail address"),
        ({"tenantId": "tenant"}, "tenantId", "not a GUID"),
        ({"tenantId": "00000000-0000-0000-0000-000000000000"}, "tenantId", "placeholder"),
        ({"breakGlassObjectIds": '["x"]'}, "breakGlassObjectIds", "not a GUID"),
        ({"breakGlassObjectIds": "not json"}, "breakGlassObjectIds", "expected a list"),
        ({"breakGlassObjectIds": '{"a": 1}'}, "breakGlassObjectIds", "list of strings"),
        ({"customDomain": ["a", "b"]}, "customDomain", "expected a text value"),
    ],
)
def test_invalid_values(changes: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(**changes)
    assert_one_line(caught.value, key, fragment)


def test_defaults_fill_a_minimal_config() -> None:
    cfg = parse()
    assert cfg.location == "germanywestcentral" and cfg.paired_location == "germanynorth"
    assert cfg.vpn.mode == "p2s" and str(cfg.vpn.client_address_pool) == "172.16.201.0/28"
    assert cfg.portal.min_tls_version == "1.2"
    assert cfg.database.password_auth is False
    assert cfg.log_retention_days == 30
    assert cfg.access.developer_group_name == "smart-portal-developers-test"


# --- through the stack file and the runtime -----------------------------------------------


def test_bad_stack_file_values_name_the_file(write_stack: Callable[[str], Path]) -> None:
    path = write_stack(
        "config:\n  smart-portal:allowedIp: 0.0.0.0/0\n  smart-portal:customDomain: a.example.org\n"
        "  smart-portal:alertEmail: a@example.org\n"
    )
    with pytest.raises(ConfigError) as caught:
        synthesize("test", stack_file=path)
    assert str(caught.value).startswith(f"{path}: smart-portal:allowedIp: 0.0.0.0/0 is a range")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("config: [1, 2\n", "line 2, column 1: expected ',' or ']'"),
        ("- just\n- a list\n", "expected a mapping at the top level, got list"),
        ("config: 42\n", "config: expected a mapping"),
        ("config:\n  allowedIp: 1.2.3.4\n", "must be namespaced, e.g. smart-portal:allowedIp"),
        ("config:\n  smart-portal:allowedIp:\n    secure: AAAbase64\n", "encrypted values cannot be read offline"),
        ("\xff\xfe", "cannot read stack file"),
    ],
)
def test_malformed_stack_files(write_stack: Callable[[str], Path], text: str, fragment: str) -> None:
    path = write_stack(text)
    if text == "\xff\xfe":
        path.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(ConfigError) as caught:
        synthesize("test", stack_file=path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)) and fragment in message, message


def run_program(config: Mapping[str, str]) -> tuple[str, int]:
    """Run infra.program.main as `pulumi up` would (stack dev); return the RunError and the resources declared."""
    from infra.program import main
    from infra.synth import _make_recorder

    def run() -> tuple[str, int]:
        monitor, recorded, _ = _make_recorder("sub")
        pulumi.runtime.set_all_config(dict(config))
        pulumi.runtime.set_mocks(monitor.mocks, project="smart-portal", stack="dev", monitor=monitor)
        with pytest.raises(pulumi.RunError) as caught:
            main()
        return str(caught.value), len(recorded)

    return contextvars.Context().run(run)


PROGRAM_GOOD = {
    "smart-portal:allowedIp": "93.184.216.34",
    "smart-portal:customDomain": "a.b.org",
    "smart-portal:alertEmail": "a@b.org",
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"smart-portal:allowedIp": "10.0.0.1"},
            "smart-portal:allowedIp: 10.0.0.1 is a private or reserved address; it must be one public IPv4 address",
        ),
        (
            {"smart-portal:dbStorageGb": "100"},
            "smart-portal:dbStorageGb: 100 is not an offered storage size in GiB; accepted: "
            + ", ".join(map(str, DB_STORAGE_SIZES_GB)),
        ),
        (
            {"smart-portal:vpnGatewaySku": "VpnGw1"},
            "smart-portal:vpnGatewaySku: 'VpnGw1' is not one of " + ", ".join(VPN_GATEWAY_SKUS),
        ),
    ],
)
def test_the_program_itself_refuses_bad_config_before_declaring_anything(
    changes: dict[str, str], expected: str
) -> None:
    """`pulumi up` path: infra.program.main turns ConfigError into a RunError (no traceback)."""
    message, declared = run_program({**PROGRAM_GOOD, **changes})
    assert message == f"infra/stacks/Pulumi.dev.yaml: {expected}"
    assert declared == 0


def test_render_cli_reports_bad_config_in_one_line(write_stack: Callable[[str], Path]) -> None:
    path = write_stack("config:\n  smart-portal:location: eastus\n")
    result = subprocess.run(
        [sys.executable, "-m", "infra.render", "--stack", "test", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {path}: smart-portal:location: 'eastus' is not an allowed "
        "EU region with an EU backup pair (allowed: francecentral, francesouth, germanynorth, germanywestcentral, "
        "northeurope, swedencentral, swedensouth, westeurope)"
    ]
    assert "Traceback" not in result.stderr


# --- only values Azure accepts (infra/data/azure_offerings.json) ----------------------------

BURSTABLE = ", ".join(DB_COMPUTE_SIZES["Burstable"])


@pytest.mark.parametrize(
    ("changes", "key", "fragments"),
    [
        ({"dbStorageGb": 100}, "dbStorageGb", ["100 is not an offered storage size in GiB", "accepted: 32, 64, 128"]),
        ({"dbStorageGb": "16"}, "dbStorageGb", ["16 is not an offered storage size", "16384, 32767"]),
        ({"dbStorageGb": 32768}, "dbStorageGb", ["32768 is not an offered storage size"]),
        ({"dbSkuTier": "Basic"}, "dbSkuTier", ["'Basic' is not one of Burstable, GeneralPurpose, MemoryOptimized"]),
        (
            {"dbSkuName": "Standard_D2ds_v5"},
            "dbSkuName",
            ["is a GeneralPurpose compute size, dbSkuTier is Burstable", f"accepted for Burstable: {BURSTABLE}"],
        ),
        (
            {"dbSkuName": "Standard_E2ds_v5", "dbSkuTier": "GeneralPurpose"},
            "dbSkuName",
            ["is a MemoryOptimized compute size, dbSkuTier is GeneralPurpose", "Standard_D2s_v3"],
        ),
        (
            {"dbSkuName": "Standard_D32ads_v5", "dbSkuTier": "MemoryOptimized"},
            "dbSkuName",
            ["is a GeneralPurpose compute size", "Standard_E32ads_v5"],
        ),
        ({"dbSkuName": "Standard_B1s"}, "dbSkuName", ["'Standard_B1s' is not a compute size", BURSTABLE]),
        ({"dbSkuName": "B1ms"}, "dbSkuName", ["'B1ms' is not a compute size"]),
        ({"dbSkuName": "Standard_E64ads_v4", "dbSkuTier": "MemoryOptimized"}, "dbSkuName", ["not a compute size"]),
        (
            {"dbHighAvailability": True},
            "dbHighAvailability",
            ["not offered for the Burstable tier; accepted: GeneralPurpose, MemoryOptimized"],
        ),
        ({"dbBackupRetentionDays": 6}, "dbBackupRetentionDays", ["6 is outside the allowed range 7 to 35"]),
        ({"dbBackupRetentionDays": 36}, "dbBackupRetentionDays", ["36 is outside the allowed range 7 to 35"]),
        ({"vpnGatewaySku": "VpnGw1"}, "vpnGatewaySku", ["'VpnGw1' is not one of VpnGw1AZ, VpnGw2AZ"]),
        ({"vpnGatewaySku": "ErGw1AZ"}, "vpnGatewaySku", ["'ErGw1AZ' is not one of", "VpnGw5AZ"]),
        ({"vpnGatewaySku": "Basic"}, "vpnGatewaySku", ["'Basic' is not one of"]),
        ({"vpnGatewaySku": "VpnGw6AZ"}, "vpnGatewaySku", ["'VpnGw6AZ' is not one of"]),
        ({"appServiceSku": "P0v2"}, "appServiceSku", ["'P0v2' is not a Linux App Service SKU", "P1v2, P2v2, P3v2"]),
        ({"appServiceSku": "P1v4"}, "appServiceSku", ["'P1v4' is not", "accepted: B1, B2, B3, S1, S2, S3"]),
        ({"appServiceSku": "P1"}, "appServiceSku", ["'P1' is not", "P0v3, P1v3"]),
        ({"appServiceSku": "P6mv3"}, "appServiceSku", ["'P6mv3' is not", "P5mv3"]),
        (
            {"appServiceSku": "B1", "appServiceCapacity": 4},
            "appServiceCapacity",
            ["4 is outside the allowed range 1 to 3 (a Basic plan, B1, has at most 3)"],
        ),
        ({"appServiceSku": "S2", "appServiceCapacity": 11}, "appServiceCapacity", ["range 1 to 10 (a Standard plan"]),
        ({"appServiceSku": "P1v3", "appServiceCapacity": 31}, "appServiceCapacity", ["range 1 to 30 (a PremiumV3"]),
        (
            {"appServiceSku": "S1", "appServiceCapacity": 2, "zoneRedundant": True},
            "zoneRedundant",
            ["appServiceSku S1 is Standard", "accepted: P1v2, P2v2, P3v2, P0v3"],
        ),
        ({"appServiceSku": "P0v3", "zoneRedundant": True}, "appServiceCapacity", ["at least 2 instances"]),
        ({"minTlsVersion": "1.1"}, "minTlsVersion", ["'1.1' is not one of 1.2, 1.3"]),
        ({"minTlsVersion": "1.4"}, "minTlsVersion", ["'1.4' is not one of 1.2, 1.3"]),
        ({"logRetentionDays": 29}, "logRetentionDays", ["29 is outside the allowed range 30 to 90"]),
        ({"logRetentionDays": 91}, "logRetentionDays", ["91 is outside the allowed range 30 to 90"]),
    ],
)
def test_values_azure_refuses_stop_with_the_accepted_ones(
    changes: dict[str, Any], key: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(**changes)
    assert_one_line(caught.value, key, *fragments)


@pytest.mark.parametrize(("tier", "sku"), [(t, s) for t, skus in DB_COMPUTE_SIZES.items() for s in skus])
def test_every_documented_compute_size_is_accepted_with_its_tier(tier: str, sku: str) -> None:
    cfg = parse(dbSkuName=sku, dbSkuTier=tier)
    assert (cfg.database.sku_name, cfg.database.sku_tier) == (sku, tier)


@pytest.mark.parametrize("size", DB_STORAGE_SIZES_GB)
def test_every_offered_storage_size_is_accepted(size: int) -> None:
    assert parse(dbStorageGb=str(size)).database.storage_gb == size


@pytest.mark.parametrize(("tier", "sku"), [(t, s) for t, skus in APP_SERVICE_SKUS.items() for s in skus])
def test_every_app_service_sku_is_accepted_up_to_its_tier_s_instance_limit(tier: str, sku: str) -> None:
    most = APP_SERVICE_MAX_INSTANCES[tier]
    cfg = parse(appServiceSku=sku, appServiceCapacity=most, zoneRedundant=tier.startswith("Premium"))
    assert (cfg.portal.sku, cfg.portal.capacity, cfg.portal.zone_redundant) == (sku, most, tier.startswith("Premium"))


@pytest.mark.parametrize(
    ("sku", "generation"),
    [
        ("VpnGw1AZ", "Generation1"),  # offered in Generation1 only
        ("VpnGw2AZ", "Generation2"),  # offered in both: the newer
        ("VpnGw3AZ", "Generation2"),
        ("VpnGw4AZ", "Generation2"),  # offered in Generation2 only
        ("VpnGw5AZ", "Generation2"),
    ],
)
def test_the_vpn_gateway_generation_is_the_newest_the_sku_comes_in(sku: str, generation: str) -> None:
    assert VPN_GATEWAY_SKUS == ("VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ")
    assert parse(vpnGatewaySku=sku).vpn.generation == generation


@pytest.mark.parametrize(("stack", "generation"), [("dev", "Generation1"), ("prod", "Generation2")])
def test_both_stacks_validate(stack: str, generation: str) -> None:
    path = STACKS_DIR / f"Pulumi.{stack}.yaml"
    raw, _ = load_stack_file(path)
    project = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("smart-portal:")}
    cfg = parse_config(project, stack=stack, where=str(path))
    assert cfg.vpn.generation == generation
    assert cfg.database.storage_gb in DB_STORAGE_SIZES_GB


# --- the data file itself ---------------------------------------------------------------------


def _sources(group: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    source = group.get("source")
    return source if isinstance(source, list) else [source] if isinstance(source, dict) else []


@pytest.mark.parametrize("name", sorted(OFFERINGS))
def test_every_group_of_the_data_file_names_a_source_and_its_api_version(name: str) -> None:
    group = OFFERINGS[name]
    sources = _sources(group)
    assert sources, f"{name}: no source"
    for source in sources:
        url = source.get("url", "")
        in_repo = {"repo", "path", "commit"} <= set(source)
        assert url.startswith("https://learn.microsoft.com/") or in_repo, f"{name}: {source}"
        if "repo" in source:
            assert in_repo and re.fullmatch(r"[0-9a-f]{40}", source["commit"]), f"{name}: {source}"
    # The API version is the one the program deploys that type with (kept in step with the SDK).
    assert group["api_version"] == api_version_of_type(group["applies_to"]), name


SDK_ENUM_GROUPS = sorted(name for name, group in OFFERINGS.items() if "sdk_enum" in group)


@pytest.mark.parametrize("name", SDK_ENUM_GROUPS)
def test_spec_enums_in_the_data_file_match_the_installed_sdk(name: str) -> None:
    module, _, enum_name = OFFERINGS[name]["sdk_enum"].rpartition(".")
    sdk_enum = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), enum_name)
    assert issubclass(sdk_enum, enum.Enum)
    values = OFFERINGS[name]["values"]
    assert len(set(values)) == len(values)
    assert set(values) == {member.value for member in sdk_enum}


def test_the_data_file_is_consistent_with_itself() -> None:
    assert {"vpn_gateway.sku_name", "vpn_gateway.generation", "postgresql.sku_tier"} <= set(SDK_ENUM_GROUPS)
    tiers = OFFERINGS["postgresql.sku_tier"]["values"]
    sizes = OFFERINGS["postgresql.compute_sizes"]
    assert list(sizes["values"]) == tiers and list(sizes["series"]) == tiers
    seen: set[str] = set()
    for tier, names in sizes["values"].items():
        assert all(n.startswith(sizes["series"][tier]) for n in names), tier
        assert not seen & set(names), tier
        seen |= set(names)
    assert set(OFFERINGS["postgresql.high_availability_tiers"]["values"]) < set(tiers)
    # The modes infra/components/database.py writes.
    assert {"Disabled", "ZoneRedundant"} <= set(OFFERINGS["postgresql.high_availability_mode"]["values"])
    by_generation = OFFERINGS["vpn_gateway.skus_by_generation"]["values"]
    assert set(by_generation) < set(OFFERINGS["vpn_gateway.generation"]["values"])
    assert {s for skus in by_generation.values() for s in skus} <= set(OFFERINGS["vpn_gateway.sku_name"]["values"])
    app = OFFERINGS["app_service.sku_names"]["values"]
    assert set(app) == set(OFFERINGS["app_service.max_instances"]["values"])
    assert set(app) <= set(OFFERINGS["app_service.vnet_integration_tiers"]["values"])
    low, high = OFFERINGS["log_analytics.retention_days"]["range"]
    assert low <= LOG_RETENTION_POLICY_DAYS[0] <= LOG_RETENTION_POLICY_DAYS[1] <= high
    storage = OFFERINGS["postgresql.storage_size_gib"]["values"]
    assert sorted(storage) == storage
