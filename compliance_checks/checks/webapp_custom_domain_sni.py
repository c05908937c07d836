"""The portal's custom domain is bound with a certificate (SNI), so browsers get a valid TLS endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterable

from compliance_checks.checks.base import Check, CheckMeta, Params, Read
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, Inventory, Resource

BINDING = "Microsoft.Web/sites/hostNameBindings"
SLOT_BINDING = "Microsoft.Web/sites/slots/hostNameBindings"
# HostNameBinding.sslState: Disabled, SniEnabled, IpBasedEnabled (Azure REST API specs,
# specification/web/resource-manager/Microsoft.Web/stable/2024-04-01/CommonDefinitions.json, SslState).
SSL_STATES = frozenset({"disabled", "snienabled", "ipbasedenabled"})
TLS_STATES = frozenset({"snienabled", "ipbasedenabled"})
# A certificate thumbprint is its SHA-1 hash in hexadecimal, 40 digits
# (https://learn.microsoft.com/dotnet/api/system.security.cryptography.x509certificates.x509certificate2.thumbprint).
THUMBPRINT = re.compile(r"[0-9A-Fa-f]{40}")


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
    # Every binding's values must be readable; absent is fine on the platform's own
    # *.azurewebsites.net binding (a custom-domain binding without them FAILs).
    READS = (
        Read(BINDING, "properties.sslState", absent_ok=True),
        Read(BINDING, "properties.thumbprint", absent_ok=True),
        Read(SLOT_BINDING, "properties.sslState", absent_ok=True),
        Read(SLOT_BINDING, "properties.thumbprint", absent_ok=True),
    )

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for site in inventory.of_type("Microsoft.Web/sites", "Microsoft.Web/sites/slots"):
            slot = site.type_key == "microsoft.web/sites/slots"
            bindings = inventory.children(site, SLOT_BINDING if slot else BINDING)
            for binding in bindings:
                problem = _unreadable(binding)
                if problem:
                    yield self.finding(
                        binding,
                        Verdict.ERROR,
                        f"Cannot verify the binding of {binding.name}: {problem}.",
                        *_shown(binding),
                    )
            custom = [b for b in bindings if not b.name.lower().endswith(".azurewebsites.net")]
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
                if _unreadable(binding):
                    continue  # an ERROR above
                state, thumbprint = binding.get("properties.sslState"), binding.get("properties.thumbprint")
                if (
                    isinstance(state, str)
                    and state.lower() in TLS_STATES
                    and isinstance(thumbprint, str)
                    and thumbprint
                ):
                    message = f"{binding.name} is bound with TLS ({state})."
                    yield self.finding(binding, Verdict.PASS, message, *_shown(binding))
                else:
                    message = f"{binding.name} has no TLS binding (sslState {state})."
                    yield self.finding(binding, Verdict.FAIL, message, *_shown(binding))


def _shown(binding: Resource) -> tuple[Evidence, Evidence]:
    return (
        Evidence("properties.sslState", binding.get("properties.sslState"), "SniEnabled"),
        Evidence("properties.thumbprint", binding.get("properties.thumbprint"), "a certificate thumbprint"),
    )


def _unreadable(binding: Resource) -> str:
    """Why a binding's TLS values cannot be read ('' when they can: a known state, a thumbprint or none)."""
    state, thumbprint = binding.get("properties.sslState"), binding.get("properties.thumbprint")
    problems = []
    if not (state is MISSING or state is None or (isinstance(state, str) and state.lower() in SSL_STATES)):
        problems.append("sslState is not a known state")
    if not (thumbprint in (MISSING, None, "") or (isinstance(thumbprint, str) and THUMBPRINT.fullmatch(thumbprint))):
        problems.append("thumbprint is not a certificate thumbprint")
    return " and ".join(problems)


CHECK = CustomDomainSni()
