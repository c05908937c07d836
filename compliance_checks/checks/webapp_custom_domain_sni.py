"""The portal's custom domain is bound with a certificate (SNI), so browsers get a valid TLS endpoint."""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import UNKNOWN, Inventory, SecretValue

BINDING = "Microsoft.Web/sites/hostNameBindings"
SLOT_BINDING = "Microsoft.Web/sites/slots/hostNameBindings"
TLS_STATES = {"snienabled", "ipbasedenabled"}


class CustomDomainSni(Check):
    meta = CheckMeta(
        id="webapp_custom_domain_sni",
        title="Portal's custom domain is bound with a TLS certificate",
        severity=Severity.HIGH,
        claims=("SEC-TLS",),
        rationale="Users reach the portal by its own domain; without a TLS binding that name has no valid HTTPS.",
        remediation="Bind the custom domain with sslState=SniEnabled and a (managed) certificate's thumbprint.",
        references=("https://learn.microsoft.com/azure/app-service/configure-ssl-bindings",),
    )

    subject = "Microsoft.Web/sites"
    # Custom-domain bindings only: the *.azurewebsites.net ones carry the platform's certificate.
    READS = (
        Read(BINDING, "properties.sslState"),
        Read(BINDING, "properties.thumbprint"),
        Read(SLOT_BINDING, "properties.sslState"),
        Read(SLOT_BINDING, "properties.thumbprint"),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for site in inventory.of_type("Microsoft.Web/sites", "Microsoft.Web/sites/slots"):
            slot = site.type_key == "microsoft.web/sites/slots"
            kind = SLOT_BINDING if slot else BINDING
            custom = [b for b in inventory.children(site, kind) if not b.name.lower().endswith(".azurewebsites.net")]
            if not custom and slot:
                # Users reach the portal at the site's custom domain; a slot without one is reached
                # only at its own azurewebsites.net name, with the platform's certificate.
                yield self.finding(site, Verdict.NOT_APPLICABLE, "The slot has no custom domain to bind.")
                continue
            if not custom:
                yield self.finding(
                    site,
                    Verdict.FAIL,
                    "No custom domain is bound.",
                    Evidence("hostNameBindings", [], "a custom domain with SniEnabled"),
                )
                continue
            for binding in custom:
                state, thumbprint = binding.get("properties.sslState"), binding.get("properties.thumbprint")
                evidence = (
                    Evidence("properties.sslState", state, "SniEnabled"),
                    Evidence("properties.thumbprint", thumbprint, "set"),
                )
                if any(v is UNKNOWN or isinstance(v, SecretValue) for v in (state, thumbprint)):
                    yield self.finding(
                        binding, Verdict.ERROR, f"Cannot verify the TLS binding of {binding.name}.", *evidence
                    )
                elif (
                    isinstance(state, str)
                    and state.lower() in TLS_STATES
                    and isinstance(thumbprint, str)
                    and thumbprint
                ):
                    yield self.finding(binding, Verdict.PASS, f"{binding.name} is bound with TLS ({state}).", *evidence)
                else:
                    yield self.finding(
                        binding, Verdict.FAIL, f"{binding.name} has no TLS binding (sslState {state}).", *evidence
                    )


CHECK = CustomDomainSni()
