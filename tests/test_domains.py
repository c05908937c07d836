"""The value domains the checks' guard enforces agree with their sources, and mean what they say."""

from __future__ import annotations

from enum import Enum as PyEnum

import pytest
from pulumi_azure_native import authorization, network, web

from compliance_checks.checks import domains
from compliance_checks.checks.base import Enum


def values(enum: type[PyEnum]) -> set[str]:
    return {str(member.value) for member in enum}


@pytest.mark.parametrize(
    ("domain", "generated"),
    [
        (domains.RULE_PROTOCOL, network.SecurityRuleProtocol),
        (domains.RULE_ACCESS, network.SecurityRuleAccess),
        (domains.RULE_DIRECTION, network.SecurityRuleDirection),
        (domains.ROLE_PRINCIPAL_TYPE, authorization.PrincipalType),
        (domains.SITE_TLS_VERSION, web.SupportedTlsVersions),
    ],
    ids=["protocol", "access", "direction", "principal type", "site TLS"],
)
def test_enumerations_match_the_sdk_generated_from_the_specs(domain: Enum, generated: type[PyEnum]) -> None:
    """azure-native is generated from the REST API specs: the same enumeration, value for value."""
    assert set(domain.values) == values(generated)


@pytest.mark.parametrize("text", ["*", "10.0.0.0/24", "203.0.113.7", "::/0", "Internet", "VirtualNetwork", "Storage"])
def test_address_prefixes_azure_accepts(text: str) -> None:
    assert domains.ADDRESS_PREFIX.accepts(text)


@pytest.mark.parametrize("text", ["", "10.0.0.0/33", "everywhere", "TLSv99", "10.0.0.0/24,10.0.1.0/24"])
def test_address_prefixes_azure_does_not_define(text: str) -> None:
    assert not domains.ADDRESS_PREFIX.accepts(text)


@pytest.mark.parametrize(("text", "ok"), [("*", True), ("5432", True), ("0-65535", True), ("65536", False),
                                          ("10-5", False), ("5432,443", False), ("", False)])  # fmt: skip
def test_port_ranges(text: str, ok: bool) -> None:
    assert domains.PORT_RANGE.accepts(text) is ok


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", True),
        (
            "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
            True,
        ),
        ("acdd72a7-3385-48ef-bd42-f606fba81ae7", False),
        ("[parameters('role')]", False),
        ("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/reader", False),
    ],
)
def test_role_definition_ids(text: str, ok: bool) -> None:
    assert domains.ROLE_DEFINITION_ID.accepts(text) is ok


def test_retention_days_follow_log_analytics_and_accept_pulumis_doubles() -> None:
    accepted = [4, 30, 90, 730, 90.0]
    refused = [3, 731, -1, 90.5, float("inf"), float("nan"), "90", True]
    assert all(domains.WORKSPACE_RETENTION_DAYS.accepts(v) for v in accepted)
    assert not any(domains.WORKSPACE_RETENTION_DAYS.accepts(v) for v in refused)
