"""The portal's public TLS endpoint: custom domain with an App Service managed certificate.

Azure has a circular dependency here (pulumi/pulumi-azure-native#578): the
managed certificate needs the host name bound first, and the SNI binding needs
the certificate's thumbprint. Within one `pulumi up` the order is therefore:

1. bind the host name without TLS;
2. issue the managed certificate for it;
3. switch the same binding to SNI with the thumbprint through a nested ARM
   deployment (the pattern of Microsoft's own quickstart templates).

The first binding ignores later changes to its TLS fields, so a refresh does
not undo step 3. HSTS is not an App Service setting: the portal application
sends ``Strict-Transport-Security``, and the live HTTP probe verifies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import resources, web

from infra.naming import Naming

HOST_NAME_BINDING_API_VERSION = "2024-04-01"


def sni_binding_template(site_name: str, host_name: str, thumbprint: str) -> dict[str, Any]:
    """ARM template that updates the host-name binding to SNI with the given certificate."""
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Web/sites/hostNameBindings",
                "apiVersion": HOST_NAME_BINDING_API_VERSION,
                "name": f"{site_name}/{host_name}",
                "properties": {
                    "siteName": site_name,
                    "hostNameType": "Verified",
                    "customHostNameDnsRecordType": "CName",
                    "sslState": "SniEnabled",
                    "thumbprint": thumbprint,
                },
            }
        ],
    }


@dataclass(frozen=True)
class TlsEndpointArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    site_name: pulumi.Input[str]
    server_farm_id: pulumi.Input[str]
    host_name: str
    naming: Naming
    tags: dict[str, str]


class TlsEndpoint(pulumi.ComponentResource):
    """Host-name binding, managed certificate and the SNI update."""

    def __init__(self, name: str, args: TlsEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("smartportal:web:TlsEndpoint", name, None, opts)

        binding = web.WebAppHostNameBinding(
            f"{name}-binding",
            name=args.site_name,
            host_name=args.host_name,
            resource_group_name=args.resource_group_name,
            host_name_type="Verified",
            custom_host_name_dns_record_type="CName",
            ssl_state="Disabled",
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["sslState", "thumbprint"]),
        )
        self.certificate = web.Certificate(
            f"{name}-certificate",
            name=args.naming.name("cert"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            canonical_name=args.host_name,
            host_names=[args.host_name],
            server_farm_id=args.server_farm_id,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[binding]),
        )
        template = pulumi.Output.all(args.site_name, self.certificate.thumbprint).apply(
            lambda values: sni_binding_template(str(values[0]), args.host_name, str(values[1]))
        )
        self.sni_binding = resources.Deployment(
            f"{name}-sni",
            deployment_name=args.naming.name("deploy-sni"),
            resource_group_name=args.resource_group_name,
            properties={"mode": "Incremental", "template": template},
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.certificate]),
        )

        self.host_name = args.host_name
        self.url = f"https://{args.host_name}"
        self.register_outputs({"url": self.url, "certificateThumbprint": self.certificate.thumbprint})
