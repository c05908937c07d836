"""The estate's promises, asserted on the resource inputs the engine records.

Every test reads `Synthesis.resources`: what the real program registered under
Pulumi's mock runtime, after serialisation. Nothing here looks at the Python
objects the program built.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

from compliance_checks.checks.rbac_developers_least_privilege import privileged
from infra import well_known
from infra.components.developer_access import DEPLOYER_ACTIONS
from infra.synth import RecordedResource, Secret, Synthesis
from infra.watched_operations import WATCHED_OPERATIONS

from .conftest import VARIANTS, synth_cached

MANAGEMENT_APP = well_known.app_id("Windows Azure Service Management API")

NSG = "azure-native:network:NetworkSecurityGroup"
SUBNET = "azure-native:network:Subnet"
SERVER = "azure-native:dbforpostgresql:Server"
WEBAPP = "azure-native:web:WebApp"
CA_POLICY = "azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
APP_ROLE_ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"
GLOBAL_TYPES = {
    "Microsoft.Network/privateDnsZones",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    "Microsoft.Insights/actionGroups",
    "Microsoft.Insights/activityLogAlerts",
}


def subnet(s: Synthesis, name: str) -> RecordedResource:
    return next(r for r in s.of_type(SUBNET) if r.inputs["subnetName"] == name)


def nsg_id_of(s: Synthesis, subnet_name: str) -> str | None:
    group = subnet(s, subnet_name).inputs.get("networkSecurityGroup")
    return group["id"] if group else None


def nsg(s: Synthesis, subnet_name: str) -> RecordedResource:
    wanted = nsg_id_of(s, subnet_name)
    return next(r for r in s.of_type(NSG) if r.outputs["id"] == wanted)


def port_covered(rule: dict[str, Any], port: int) -> bool:
    ranges = [rule.get("destinationPortRange"), *(rule.get("destinationPortRanges") or [])]
    for text in filter(None, ranges):
        if text == "*":
            return True
        low, _, high = str(text).partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def sources(rule: dict[str, Any]) -> set[str]:
    return {x for x in [rule.get("sourceAddressPrefix"), *(rule.get("sourceAddressPrefixes") or [])] if x}


def vpn_audience(s: Synthesis) -> str:
    """Client ID of the estate's own VPN audience app."""
    client_id = s.one("azuread:index/application:Application").outputs["clientId"]
    assert isinstance(client_id, str)
    return client_id


def app_settings(s: Synthesis) -> dict[str, str]:
    return {item["name"]: item["value"] for item in s.one(WEBAPP).inputs["siteConfig"]["appSettings"]}


# --- location and tags ---------------------------------------------------------------


def test_every_resource_is_in_the_allowed_region(estate: Synthesis) -> None:
    located = [r for r in estate.resources if r.location is not None]
    assert len(located) >= 15
    for resource in located:
        assert resource.arm is not None, resource.token
        expected = {"global"} if resource.arm.type in GLOBAL_TYPES else {estate.config.location}
        assert resource.location in expected, (resource.name, resource.location)


def test_another_eu_region_moves_everything() -> None:
    s = synth_cached("dev", {"location": "westeurope"})
    regional = [r for r in s.resources if r.location not in (None, "global")]
    assert regional and {r.location for r in regional} == {"westeurope"}
    assert s.outputs["location"] == "westeurope"


def test_every_taggable_resource_is_tagged(estate: Synthesis) -> None:
    for resource in estate.resources:
        if resource.location is not None:
            tags = resource.inputs.get("tags")
            assert tags and tags["project"] == "smart-portal" and tags["environment"] == estate.stack, resource.name


# --- network ---------------------------------------------------------------------------


def test_vnet_and_subnets(estate: Synthesis) -> None:
    layout = estate.config.network
    vnet = estate.one("azure-native:network:VirtualNetwork")
    assert vnet.inputs["addressSpace"]["addressPrefixes"] == [str(layout.vnet)]
    expected = {
        "GatewaySubnet": (layout.gateway_subnet, None),
        "snet-portal": (layout.portal_subnet, "Microsoft.Web/serverFarms"),
        "snet-database": (layout.database_subnet, "Microsoft.DBforPostgreSQL/flexibleServers"),
        "snet-endpoints": (layout.endpoints_subnet, None),
    }
    assert {r.inputs["subnetName"] for r in estate.of_type(SUBNET)} == set(expected)
    for name, (prefix, delegation) in expected.items():
        inputs = subnet(estate, name).inputs
        assert inputs["addressPrefix"] == str(prefix)
        assert inputs["virtualNetworkName"] == vnet.arm.name if vnet.arm else None
        delegated = [d["serviceName"] for d in inputs.get("delegations", [])]
        assert delegated == ([delegation] if delegation else [])
    # Azure does not support an NSG on the gateway subnet; every other subnet has one.
    assert nsg_id_of(estate, "GatewaySubnet") is None
    for name in ("snet-portal", "snet-database", "snet-endpoints"):
        assert nsg_id_of(estate, name) is not None
    assert subnet(estate, "snet-endpoints").inputs["privateEndpointNetworkPolicies"] == "Enabled"


def test_every_nsg_denies_by_default(estate: Synthesis) -> None:
    groups = estate.of_type(NSG)
    assert len(groups) == 3
    for group in groups:
        rules = group.inputs["securityRules"]
        last = max(rules, key=lambda r: r["priority"])
        assert (last["access"], last["direction"], last["sourceAddressPrefix"], last["destinationPortRange"]) == (
            "Deny",
            "Inbound",
            "*",
            "*",
        ), group.name
        for rule in rules:
            if rule["access"] == "Allow":
                assert not sources(rule) & {"*", "Internet", "Any", "0.0.0.0/0"}, (group.name, rule["name"])


def test_database_port_is_open_only_to_the_two_sources(estate: Synthesis) -> None:
    cfg = estate.config
    allowed = {str(cfg.network.portal_subnet), cfg.vpn_source_prefix}
    if cfg.database.high_availability:
        allowed.add(str(cfg.network.database_subnet))  # primary <-> standby, inside the delegated subnet
    seen: set[str] = set()
    for group in estate.of_type(NSG):
        for rule in group.inputs["securityRules"]:
            if rule["access"] == "Allow" and rule["direction"] == "Inbound" and port_covered(rule, 5432):
                assert sources(rule) <= allowed, (group.name, rule["name"], sources(rule))
                seen |= sources(rule)
    assert seen == allowed
    database_rules = nsg(estate, "snet-database").inputs["securityRules"]
    opened = {src for r in database_rules if r["access"] == "Allow" for src in sources(r)}
    assert {str(cfg.network.portal_subnet), cfg.vpn_source_prefix} <= opened


def test_vpn_source_is_the_single_ip_in_site_to_site_mode() -> None:
    s = synth_cached("prod")
    assert s.config.vpn.mode == "s2s"
    assert s.config.vpn_source_prefix == f"{s.config.allowed_ip}/32"
    network = ipaddress.ip_network(s.config.vpn_source_prefix)
    assert network.num_addresses == 1


# --- VPN gateway -----------------------------------------------------------------------


def test_gateway_is_route_based_behind_a_static_standard_ip(estate: Synthesis) -> None:
    pip = estate.one("azure-native:network:PublicIPAddress")
    assert pip.inputs["sku"]["name"] == "Standard"
    assert pip.inputs["publicIPAllocationMethod"] == "Static"
    assert pip.inputs["zones"] == ["1", "2", "3"]
    gateway = estate.one("azure-native:network:VirtualNetworkGateway")
    assert gateway.inputs["gatewayType"] == "Vpn"
    assert gateway.inputs["vpnType"] == "RouteBased"
    assert gateway.inputs["sku"]["name"].endswith("AZ")
    config = gateway.inputs["ipConfigurations"][0]
    assert config["publicIPAddress"]["id"] == pip.outputs["id"]
    assert config["subnet"]["id"] == subnet(estate, "GatewaySubnet").outputs["id"]
    # ~45 minutes to create: the default timeouts would abandon it.
    for key in ("create", "update"):
        assert int(gateway.custom_timeouts[key].rstrip("m")) >= 60


def test_point_to_site_uses_openvpn_with_entra_id() -> None:
    s = synth_cached("dev")
    assert s.config.vpn.mode == "p2s"
    client = s.one("azure-native:network:VirtualNetworkGateway").inputs["vpnClientConfiguration"]
    assert client["vpnClientProtocols"] == ["OpenVPN"]
    assert client["vpnAuthenticationTypes"] == ["AAD"]
    # The estate's own audience app (only the developers are assigned), not a Microsoft app every user can use.
    assert client["aadAudience"] == vpn_audience(s)
    assert well_known.lookup(client["aadAudience"]) is None
    assert re.fullmatch(r"https://login\.microsoftonline\.com/[0-9a-f-]{36}/", client["aadTenant"])
    assert re.fullmatch(r"https://sts\.windows\.net/[0-9a-f-]{36}/", client["aadIssuer"])
    assert client["vpnClientAddressPool"]["addressPrefixes"] == [str(s.config.vpn.client_address_pool)]
    assert not s.of_type("azure-native:network:LocalNetworkGateway")
    assert not s.of_type("azure-native:network:VirtualNetworkGatewayConnection")


def test_site_to_site_reaches_one_office_address_with_strong_ipsec() -> None:
    s = synth_cached("prod")
    assert s.config.vpn.mode == "s2s"
    assert "vpnClientConfiguration" not in s.one("azure-native:network:VirtualNetworkGateway").inputs
    office = s.one("azure-native:network:LocalNetworkGateway")
    assert office.inputs["gatewayIpAddress"] == str(s.config.allowed_ip)
    assert office.inputs["localNetworkAddressSpace"]["addressPrefixes"] == [f"{s.config.allowed_ip}/32"]
    connection = s.one("azure-native:network:VirtualNetworkGatewayConnection")
    assert connection.inputs["connectionType"] == "IPsec"
    assert connection.inputs["connectionProtocol"] == "IKEv2"
    assert connection.inputs["localNetworkGateway2"]["id"] == office.outputs["id"]
    assert isinstance(connection.inputs["sharedKey"], Secret)
    (policy,) = connection.inputs["ipsecPolicies"]
    weak = {"DES", "DES3", "AES128", "SHA1", "MD5", "DHGroup1", "DHGroup2", "DHGroup14", "PFS1", "PFS2", "None"}
    assert not set(map(str, policy.values())) & weak
    assert policy["ikeEncryption"] == "GCMAES256" and policy["dhGroup"] == "ECP384"


# --- database ----------------------------------------------------------------------------


def test_database_is_private_entra_authenticated_and_backed_up_in_the_eu(estate: Synthesis) -> None:
    cfg = estate.config
    server = estate.one(SERVER).inputs
    assert server["version"] == "16"
    assert server["network"]["publicNetworkAccess"] == "Disabled"
    assert server["network"]["delegatedSubnetResourceId"] == subnet(estate, "snet-database").outputs["id"]
    zone = next(
        r
        for r in estate.of_type("azure-native:privatedns:PrivateZone")
        if r.outputs["id"] == server["network"]["privateDnsZoneArmResourceId"]
    )
    assert zone.inputs["privateZoneName"].endswith(".private.postgres.database.azure.com")
    assert server["authConfig"]["activeDirectoryAuth"] == "Enabled"
    assert server["authConfig"]["passwordAuth"] == ("Enabled" if cfg.database.password_auth else "Disabled")
    assert server["backup"]["geoRedundantBackup"] == "Enabled"
    assert server["backup"]["backupRetentionDays"] == cfg.database.backup_retention_days
    assert server["highAvailability"]["mode"] == ("ZoneRedundant" if cfg.database.high_availability else "Disabled")
    # The geo-backup pair of the region is an EU region too.
    assert cfg.paired_location in {
        "germanynorth",
        "germanywestcentral",
        "westeurope",
        "northeurope",
        "francesouth",
        "francecentral",
        "swedensouth",
        "swedencentral",
    }


def test_no_firewall_rule_on_the_database(estate: Synthesis) -> None:
    assert estate.of_type("azure-native:dbforpostgresql:FirewallRule") == []


def test_database_requires_tls_1_2_or_higher(estate: Synthesis) -> None:
    values = {
        r.inputs["configurationName"]: r.inputs["value"]
        for r in estate.of_type("azure-native:dbforpostgresql:Configuration")
    }
    assert values["require_secure_transport"] == "on"
    assert values["ssl_min_protocol_version"] in ("TLSv1.2", "TLSv1.3")
    expected = "TLSv1.3" if estate.config.portal.min_tls_version == "1.3" else "TLSv1.2"
    assert values["ssl_min_protocol_version"] == expected


def test_developers_group_administers_the_database(estate: Synthesis) -> None:
    admin = estate.one("azure-native:dbforpostgresql:Administrator").inputs
    group = estate.one("azuread:index/group:Group")
    assert admin["principalType"] == "Group"
    assert admin["objectId"] == group.outputs["objectId"]
    assert admin["principalName"] == estate.config.access.developer_group_name


def test_stack_sizing() -> None:
    dev, prod = synth_cached("dev"), synth_cached("prod")
    assert dev.one(SERVER).inputs["sku"]["tier"] == "Burstable"
    assert prod.one(SERVER).inputs["sku"]["tier"] == "GeneralPurpose"
    assert (
        prod.one(SERVER).inputs["backup"]["backupRetentionDays"]
        > dev.one(SERVER).inputs["backup"]["backupRetentionDays"]
    )
    assert prod.one(SERVER).inputs["highAvailability"]["mode"] == "ZoneRedundant"
    assert prod.one("azure-native:web:AppServicePlan").inputs["zoneRedundant"] is True
    assert prod.one("azure-native:web:AppServicePlan").inputs["sku"]["capacity"] >= 2
    assert dev.one("azure-native:web:AppServicePlan").inputs["zoneRedundant"] is False


# --- secrets -------------------------------------------------------------------------------


def test_password_auth_keeps_the_password_secret_and_in_key_vault() -> None:
    s = synth_cached("dev", {"dbPasswordAuth": True})
    server = s.one(SERVER).inputs
    assert isinstance(server["administratorLoginPassword"], Secret)
    password = server["administratorLoginPassword"].reveal()
    generator = next(r for r in s.of_type("random:index/randomPassword:RandomPassword") if "database" in r.name)
    assert isinstance(generator.outputs["result"], Secret)
    assert generator.outputs["result"].reveal() == password
    secret = s.one("azure-native:keyvault:Secret")
    assert secret.inputs["vaultName"] == s.one("azure-native:keyvault:Vault").inputs["vaultName"]
    assert isinstance(secret.inputs["properties"], Secret)
    assert secret.inputs["properties"].reveal()["value"] == password
    assert app_settings(s)["DATABASE_PASSWORD"].startswith("@Microsoft.KeyVault(")
    # The plaintext appears nowhere outside a secret wrapper.
    assert password not in repr([(r.inputs, r.outputs) for r in s.resources]) + repr(s.outputs)


def test_entra_only_database_has_no_password_anywhere(dev: Synthesis) -> None:
    server = dev.one(SERVER).inputs
    assert "administratorLoginPassword" not in server and "administratorLogin" not in server
    assert not [r for r in dev.of_type("random:index/randomPassword:RandomPassword") if "database" in r.name]
    assert "DATABASE_PASSWORD" not in app_settings(dev)


def test_app_settings_hold_no_secret_values(estate: Synthesis) -> None:
    for name, value in app_settings(estate).items():
        if re.search(r"PASSWORD|SECRET|KEY|TOKEN|CONNECTION", name):
            assert value.startswith("@Microsoft.KeyVault("), name


# --- portal --------------------------------------------------------------------------------


def test_portal_is_https_only_with_a_tls_floor(estate: Synthesis) -> None:
    app = estate.one(WEBAPP).inputs
    assert app["httpsOnly"] is True
    site = app["siteConfig"]
    assert site["minTlsVersion"] in ("1.2", "1.3")
    assert site["scmMinTlsVersion"] in ("1.2", "1.3")
    assert site["minTlsVersion"] == estate.config.portal.min_tls_version
    assert site["ftpsState"] == "Disabled"
    assert site["http20Enabled"] is True


def test_portal_sets_no_cookie_and_loads_no_analytics(estate: Synthesis) -> None:
    app = estate.one(WEBAPP).inputs
    assert app["clientAffinityEnabled"] is False  # ARRAffinity cookie
    auth = estate.one("azure-native:web:WebAppAuthSettingsV2").inputs
    assert auth["platform"]["enabled"] is False  # AppServiceAuthSession cookie
    assert auth["name"] == app["name"]
    assert estate.of_type("azure-native:applicationinsights:Component") == []
    for name in app_settings(estate):
        assert not name.startswith(("APPINSIGHTS_", "APPLICATIONINSIGHTS_", "ApplicationInsightsAgent", "XDT_")), name


def test_portal_publishing_is_locked_down(estate: Synthesis) -> None:
    site_name = estate.one(WEBAPP).inputs["name"]
    for token in ("azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"):
        policy = estate.one(token).inputs
        assert policy["allow"] is False and policy["name"] == site_name
    site = estate.one(WEBAPP).inputs["siteConfig"]
    assert site["scmIpSecurityRestrictionsDefaultAction"] == "Deny"
    assert [r["ipAddress"] for r in site["scmIpSecurityRestrictions"]] == [f"{estate.config.allowed_ip}/32"]
    assert site["remoteDebuggingEnabled"] is False


def test_portal_identity_and_vnet_routing(estate: Synthesis) -> None:
    app = estate.one(WEBAPP).inputs
    assert app["identity"]["type"] == "SystemAssigned"
    assert app["virtualNetworkSubnetId"] == subnet(estate, "snet-portal").outputs["id"]
    assert app["outboundVnetRouting"]["allTraffic"] is True
    assert app["siteConfig"]["vnetRouteAllEnabled"] is True
    plan = estate.one("azure-native:web:AppServicePlan").inputs
    assert plan["kind"] == "linux" and plan["reserved"] is True
    assert app["serverFarmId"] == estate.one("azure-native:web:AppServicePlan").outputs["id"]


# --- TLS endpoint ----------------------------------------------------------------------------


def test_custom_domain_gets_a_managed_certificate_bound_with_sni(estate: Synthesis) -> None:
    domain = estate.config.custom_domain
    binding = estate.one("azure-native:web:WebAppHostNameBinding")
    assert binding.inputs["hostName"] == domain
    assert set(binding.ignore_changes) == {"sslState", "thumbprint"}
    certificate = estate.one("azure-native:web:Certificate")
    assert certificate.inputs["canonicalName"] == domain
    assert "pfxBlob" not in certificate.inputs and "password" not in certificate.inputs  # managed
    assert binding.urn in certificate.dependencies
    deployment = estate.one("azure-native:resources:Deployment")
    assert certificate.urn in deployment.dependencies
    (update,) = deployment.inputs["properties"]["template"]["resources"]
    assert update["type"] == "Microsoft.Web/sites/hostNameBindings"
    assert update["name"] == f"{estate.one(WEBAPP).inputs['name']}/{domain}"
    assert update["properties"]["sslState"] == "SniEnabled"
    assert update["properties"]["thumbprint"] == certificate.outputs["thumbprint"]
    assert estate.outputs["portalUrl"] == f"https://{domain}"


# --- Key Vault ---------------------------------------------------------------------------------


def test_key_vault_is_hardened_and_private(estate: Synthesis) -> None:
    vault = estate.one("azure-native:keyvault:Vault")
    props = vault.inputs["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"]["defaultAction"] == "Deny"
    assert "accessPolicies" not in props
    endpoint = estate.one("azure-native:network:PrivateEndpoint").inputs
    assert endpoint["subnet"]["id"] == subnet(estate, "snet-endpoints").outputs["id"]
    (connection,) = endpoint["privateLinkServiceConnections"]
    assert connection["privateLinkServiceId"] == vault.outputs["id"]
    assert connection["groupIds"] == ["vault"]
    zones = {r.inputs["privateZoneName"] for r in estate.of_type("azure-native:privatedns:PrivateZone")}
    assert "privatelink.vaultcore.azure.net" in zones


def test_portal_reads_secrets_with_its_identity_only(estate: Synthesis) -> None:
    vault_id = estate.one("azure-native:keyvault:Vault").outputs["id"]
    on_vault = [r for r in estate.of_type(ROLE_ASSIGNMENT) if r.inputs["scope"] == vault_id]
    (assignment,) = on_vault
    assert assignment.inputs["roleDefinitionId"].endswith("/" + well_known.role_id("Key Vault Secrets User"))
    assert assignment.inputs["principalId"] == estate.one(WEBAPP).outputs["identity"]["principalId"]


# --- developer access ------------------------------------------------------------------------


def _vpn_app_ids(s: Synthesis) -> list[str]:
    return [a.outputs["clientId"] for a in s.of_type(APPLICATION)]


def test_conditional_access_requires_mfa_for_developers(estate: Synthesis) -> None:
    group = estate.one("azuread:index/group:Group")
    assert group.inputs["securityEnabled"] is True
    mfa = [p for p in estate.of_type(CA_POLICY) if "mfa" in p.inputs["grantControls"]["builtInControls"]]
    covered: set[str] = set()
    for policy in mfa:
        assert policy.inputs["state"] == "enabled"  # not enabledForReportingButNotEnforced
        assert policy.inputs["grantControls"]["builtInControls"] == ["mfa"]
        conditions = policy.inputs["conditions"]
        assert conditions["users"]["includedGroups"] == [group.outputs["objectId"]]
        assert conditions["clientAppTypes"] == ["all"]
        covered |= set(conditions["applications"]["includedApplications"])
    # Azure management always; the VPN's audience app where there is a point-to-site VPN.
    assert covered == {MANAGEMENT_APP, *_vpn_app_ids(estate)}
    for policy in estate.of_type(CA_POLICY):
        assert policy.inputs["state"] == "enabled"


def test_point_to_site_vpn_only_from_the_allowed_ip() -> None:
    s = synth_cached("dev")
    location = s.one("azuread:index/namedLocation:NamedLocation")
    assert location.inputs["ip"]["ipRanges"] == [f"{s.config.allowed_ip}/32"]
    block = next(p for p in s.of_type(CA_POLICY) if p.inputs["grantControls"]["builtInControls"] == ["block"])
    conditions = block.inputs["conditions"]
    assert conditions["applications"]["includedApplications"] == _vpn_app_ids(s)
    assert conditions["locations"]["includedLocations"] == ["All"]
    assert conditions["locations"]["excludedLocations"] == [location.outputs["id"]]
    assert synth_cached("prod").of_type("azuread:index/namedLocation:NamedLocation") == []


def _admits(s: Synthesis, subnet_name: str, prefix: str) -> bool:
    return any(prefix in sources(rule) for rule in nsg(s, subnet_name).inputs["securityRules"])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_only_the_developers_group_can_get_a_vpn_token(variant: str) -> None:
    """Point-to-site: the audience app requires assignment, the group is its only assignee, and only then do the
    database and Key Vault NSGs admit the client pool. Site-to-site: no audience app, no pool admitted."""
    stack, overrides = VARIANTS[variant]
    s = synth_cached(stack, overrides)
    if s.config.vpn.mode == "s2s":
        assert s.of_type(APPLICATION) == [] and s.of_type(SERVICE_PRINCIPAL) == []
        return
    app = s.one(APPLICATION)
    assert app.inputs["signInAudience"] == "AzureADMyOrg"
    scope = app.inputs["api"]["oauth2PermissionScopes"][0]
    assert scope["enabled"] is True and scope["type"] == "Admin"
    pre = s.one("azuread:index/applicationPreAuthorized:ApplicationPreAuthorized").inputs
    assert pre["applicationId"] == app.outputs["id"]
    assert pre["authorizedClientId"] == well_known.azure_vpn_client_app_ids()["AzureCloud"]
    assert pre["permissionIds"] == [scope["id"]]
    uri = s.one("azuread:index/applicationIdentifierUri:ApplicationIdentifierUri").inputs
    assert uri["identifierUri"] == f"api://{app.outputs['clientId']}"
    sp = s.one(SERVICE_PRINCIPAL)
    assert sp.inputs["clientId"] == app.outputs["clientId"]
    assert sp.inputs["appRoleAssignmentRequired"] is True
    group = s.one("azuread:index/group:Group").outputs["objectId"]
    assignments = s.of_type(APP_ROLE_ASSIGNMENT)
    assert [(a.inputs["principalObjectId"], a.inputs["resourceObjectId"]) for a in assignments] == [
        (group, sp.outputs["objectId"])
    ]
    assert assignments[0].inputs["appRoleId"] == well_known.graph_default_app_role_id()
    pool = str(s.config.vpn.client_address_pool)
    assert _admits(s, "snet-database", pool) and _admits(s, "snet-endpoints", pool)


def test_break_glass_accounts_are_exempt_from_management_mfa_only() -> None:
    ids = ["2f0c6a8e-1b7d-4c3e-9a5f-6d8e7c9b0a1f", "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"]
    s = synth_cached("dev", {"breakGlassObjectIds": ids})
    vpn_apps = set(_vpn_app_ids(s))
    for policy in s.of_type(CA_POLICY):
        conditions = policy.inputs["conditions"]
        apps = set(conditions["applications"]["includedApplications"])
        if apps == {MANAGEMENT_APP}:
            assert conditions["users"]["excludedUsers"] == ids
        else:
            # A VPN policy exempts no one: an exempt member of the group would tunnel in without MFA.
            assert apps == vpn_apps
            assert "excludedUsers" not in conditions["users"]
    assert s.of_type(APP_ROLE_ASSIGNMENT)[0].inputs["principalObjectId"] not in ids


def test_developers_get_least_privilege_on_the_resource_group(estate: Synthesis) -> None:
    group_id = estate.one("azuread:index/group:Group").outputs["objectId"]
    rg_id = estate.one("azure-native:resources:ResourceGroup").outputs["id"]
    deployer = estate.one("azure-native:authorization:RoleDefinition")
    mine = [r for r in estate.of_type(ROLE_ASSIGNMENT) if r.inputs["principalId"] == group_id]
    roles = {r.inputs["roleDefinitionId"].rsplit("/", 1)[1] for r in mine}
    assert roles == {well_known.role_id("Reader"), deployer.inputs["roleDefinitionId"]}
    for assignment in mine:
        assert assignment.inputs["scope"] == rg_id
        assert assignment.inputs["principalType"] == "Group"
        # The custom role exists before anything is assigned to it.
        assert deployer.urn in assignment.dependencies
    # The custom role: deploy and restart, nothing that changes configuration, only in this resource group.
    assert deployer.inputs["permissions"] == [{"actions": list(DEPLOYER_ACTIONS), "notActions": []}]
    assert deployer.inputs["assignableScopes"] == [rg_id] and deployer.inputs["scope"] == rg_id
    assert not any(a.endswith("/write") or "*" in a for a in DEPLOYER_ACTIONS)
    # Website Contributor's Microsoft.Web/sites/* includes sites/config/write: not for developers either.
    owner_like = {*privileged(), well_known.role_id("Website Contributor")}
    for assignment in estate.of_type(ROLE_ASSIGNMENT):
        assert assignment.inputs["roleDefinitionId"].rsplit("/", 1)[1] not in owner_like


# --- monitoring -------------------------------------------------------------------------------


def test_log_retention_is_at_most_90_days(estate: Synthesis) -> None:
    workspace = estate.one("azure-native:operationalinsights:Workspace").inputs
    assert workspace["retentionInDays"] == estate.config.log_retention_days <= 90


def test_diagnostics_cover_portal_database_gateway_and_vault(estate: Synthesis) -> None:
    workspace_id = estate.one("azure-native:operationalinsights:Workspace").outputs["id"]
    targets = {
        estate.one(t).outputs["id"]
        for t in (WEBAPP, SERVER, "azure-native:network:VirtualNetworkGateway", "azure-native:keyvault:Vault")
    }
    settings = estate.of_type("azure-native:monitor:DiagnosticSetting")
    assert {s.inputs["resourceUri"] for s in settings} == targets
    for setting in settings:
        assert setting.inputs["workspaceId"] == workspace_id
        assert {"categoryGroup": "allLogs", "enabled": True} in setting.inputs["logs"]


def test_promise_bearing_changes_raise_an_alert(estate: Synthesis) -> None:
    alert = estate.one("azure-native:monitor:ActivityLogAlert").inputs
    assert alert["enabled"] is True
    # The whole subscription: a change is seen whichever resource group it is made in.
    assert alert["scopes"] == [f"/subscriptions/{_subscription(estate)}"]
    assert alert["condition"]["allOf"][0] == {"field": "category", "equals": "Administrative"}
    any_of = next(c["anyOf"] for c in alert["condition"]["allOf"] if "anyOf" in c)
    watched = {c["equals"] for c in any_of if c["field"] == "operationName"}
    assert watched == set(WATCHED_OPERATIONS)
    for operation in (
        "Microsoft.Web/sites/config/write",
        "Microsoft.Web/sites/slots/config/write",
        "Microsoft.Network/networkSecurityGroups/securityRules/delete",
        "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/write",
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations/write",
    ):
        assert operation in watched
    group_id = alert["actions"]["actionGroups"][0]["actionGroupId"]
    group = estate.one("azure-native:monitor:ActionGroup")
    assert group.outputs["id"] == group_id
    assert group.inputs["emailReceivers"][0]["emailAddress"] == estate.config.alert_email


def _subscription(s: Synthesis) -> str:
    return str(s.one("azure-native:resources:ResourceGroup").outputs["id"]).split("/")[2]


# --- outputs ------------------------------------------------------------------------------------


def test_stack_outputs_for_checks_and_probes(estate: Synthesis) -> None:
    out = estate.outputs
    cfg = estate.config
    assert out["portalUrl"] == f"https://{cfg.custom_domain}"
    assert out["portalHostname"] == cfg.custom_domain
    assert out["databaseFqdn"] == estate.one(SERVER).outputs["fullyQualifiedDomainName"]
    assert out["vpnGatewayPublicIp"] == estate.one("azure-native:network:PublicIPAddress").outputs["ipAddress"]
    assert out["allowedIp"] == str(cfg.allowed_ip)
    assert out["resourceGroupName"] == estate.one("azure-native:resources:ResourceGroup").inputs["resourceGroupName"]
    for key, value in out["resourceIds"].items():
        assert value.startswith("resourceGroups/") and "subscriptions" not in value.lower(), key
