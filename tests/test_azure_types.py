"""The token -> ARM table agrees with the installed azure-native SDK."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from infra.azure_types import ARM_ID_TEMPLATES, UnmappedTypeError, arm_identity, arm_type, placeholders


def _sdk_class(token: str) -> type:
    _, module, name = token.split(":")
    return getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)  # type: ignore[no-any-return]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("token", sorted(ARM_ID_TEMPLATES))
def test_every_placeholder_is_an_input_of_the_sdk_resource(token: str) -> None:
    cls = _sdk_class(token)
    parameters = set(inspect.signature(cls._internal_init).parameters)  # type: ignore[attr-defined]
    for key in placeholders(token):
        if key == "subscriptionId":
            continue
        assert _snake(key) in parameters, f"{token}: {key} is not an input of {cls.__name__}"


@pytest.mark.parametrize("token", sorted(ARM_ID_TEMPLATES))
def test_sdk_token_matches(token: str) -> None:
    source = inspect.getsource(_sdk_class(token))
    assert f"'{token}'" in source


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("azure-native:resources:ResourceGroup", "Microsoft.Resources/resourceGroups"),
        ("azure-native:network:Subnet", "Microsoft.Network/virtualNetworks/subnets"),
        ("azure-native:web:WebAppFtpAllowed", "Microsoft.Web/sites/basicPublishingCredentialsPolicies"),
        ("azure-native:web:WebAppAuthSettingsV2", "Microsoft.Web/sites/config"),
        ("azure-native:authorization:RoleAssignment", "Microsoft.Authorization/roleAssignments"),
        ("azure-native:monitor:DiagnosticSetting", "Microsoft.Insights/diagnosticSettings"),
    ],
)
def test_arm_type(token: str, expected: str) -> None:
    assert arm_type(token) == expected


def test_arm_identity_builds_ids_from_inputs() -> None:
    identity = arm_identity(
        "azure-native:network:Subnet",
        {"resourceGroupName": "rg", "virtualNetworkName": "vnet", "subnetName": "snet"},
        "sub",
    )
    assert (
        identity.id
        == "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet"
    )
    assert identity.name == "snet"
    scoped = arm_identity(
        "azure-native:authorization:RoleAssignment",
        {"scope": "/subscriptions/sub/resourceGroups/rg", "roleAssignmentName": "guid"},
        "sub",
    )
    assert scoped.id == "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/guid"


def test_missing_input_and_unknown_token_fail_loudly() -> None:
    with pytest.raises(KeyError, match="input 'subnetName' is needed"):
        arm_identity("azure-native:network:Subnet", {"resourceGroupName": "rg", "virtualNetworkName": "v"}, "s")
    with pytest.raises(UnmappedTypeError) as caught:
        arm_type("azure-native:compute:VirtualMachine")
    assert str(caught.value) == "no ARM mapping for azure-native:compute:VirtualMachine; add it to infra/azure_types.py"


@pytest.mark.parametrize("token", sorted(ARM_ID_TEMPLATES))
def test_api_version_matches_the_sdk(token: str) -> None:
    from infra.azure_types import API_VERSIONS

    source = inspect.getsource(_sdk_class(token))
    assert f"Uses Azure REST API version {API_VERSIONS[token]}." in source
