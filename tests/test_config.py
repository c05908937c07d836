"""Bad stack configuration stops the program before any resource, with one line naming file and key."""

from __future__ import annotations

import contextvars
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.config import ConfigError, parse_allowed_ip, parse_config
from infra.synth import REPO_ROOT, synthesize

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
        ({"zoneRedundant": True}, "zoneRedundant", "needs a Premium SKU"),
        ({"appServiceSku": "P1v3", "zoneRedundant": True}, "appServiceCapacity", "at least 2 instances"),
        ({"appServiceSku": "F1"}, "appServiceSku", "B1 or above"),
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


def test_the_program_itself_refuses_bad_config_before_declaring_anything() -> None:
    """`pulumi up` path: infra.program.main turns ConfigError into a RunError (no traceback)."""
    from infra.program import main
    from infra.synth import _make_recorder

    def run() -> tuple[str, int]:
        monitor, recorded, _ = _make_recorder("sub")
        pulumi.runtime.set_all_config(
            {
                "smart-portal:allowedIp": "10.0.0.1",
                "smart-portal:customDomain": "a.b.org",
                "smart-portal:alertEmail": "a@b.org",
            }
        )
        pulumi.runtime.set_mocks(monitor.mocks, project="smart-portal", stack="dev", monitor=monitor)
        with pytest.raises(pulumi.RunError) as caught:
            main()
        return str(caught.value), len(recorded)

    message, declared = contextvars.Context().run(run)
    assert message == (
        "infra/stacks/Pulumi.dev.yaml: smart-portal:allowedIp: 10.0.0.1 is a private or reserved address; "
        "it must be one public IPv4 address"
    )
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
