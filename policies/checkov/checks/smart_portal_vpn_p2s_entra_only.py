"""CKV_SMART_6: a point-to-site VPN authenticates with Entra ID only (claim SEC-DB-SINGLE-IP-VPN).

Developers reach the database through the VPN, signed in with Entra ID so that
Conditional Access enforces MFA and the single allowed address. When a VPN
gateway declares ``vpnClientConfiguration`` (point-to-site), its
``vpnAuthenticationTypes`` must be exactly ``["AAD"]`` with ``aadTenant``,
``aadAudience`` and ``aadIssuer`` set, and no root certificate or RADIUS
server may open another way in. A gateway without a client configuration has
no point-to-site access (site-to-site is judged by the repository's own check
``vpn_gateway_single_ip_or_entra``); a gateway without ``properties`` is a FAIL.
"""

# checkov lives in its own virtualenv (.venv-checkov), not in the project's; mypy cannot see it.
# mypy: disable-error-code="import-not-found,misc"

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

AAD_SETTINGS = ("aadTenant", "aadAudience", "aadIssuer")
OTHER_WAYS_IN = ("vpnClientRootCertificates", "radiusServerAddress", "radiusServers", "radiusServerSecret")


class VpnPointToSiteEntraOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a point-to-site VPN gateway authenticates with Entra ID (AAD) only [SEC-DB-SINGLE-IP-VPN]",
            id="CKV_SMART_6",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.Network/virtualNetworkGateways",),
            guideline="https://learn.microsoft.com/azure/vpn-gateway/openvpn-azure-ad-tenant",
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/vpnClientConfiguration"]
        properties = conf.get("properties")
        if not isinstance(properties, dict):
            return CheckResult.FAILED
        client = properties.get("vpnClientConfiguration")
        if client is None:
            return CheckResult.PASSED  # no point-to-site access at all
        if not isinstance(client, dict):
            return CheckResult.FAILED
        types = client.get("vpnAuthenticationTypes")
        if not isinstance(types, list) or [str(t).strip().lower() for t in types] != ["aad"]:
            return CheckResult.FAILED
        if not all(isinstance(client.get(k), str) and client[k].strip() for k in AAD_SETTINGS):
            return CheckResult.FAILED
        if any(client.get(k) for k in OTHER_WAYS_IN):
            return CheckResult.FAILED
        return CheckResult.PASSED


check = VpnPointToSiteEntraOnly()
