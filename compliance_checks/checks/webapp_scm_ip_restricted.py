"""The SCM (Kudu) site of every web app and slot is reachable from single addresses only.

Judged on each site's and slot's effective configuration (the one web app model,
``compliance_checks/sources/webapp.py``: ``config/web`` folded into
``properties.siteConfig``), the way App Service evaluates access restrictions
(MicrosoftDocs/azure-docs articles/app-service/overview-access-restrictions.md,
commit 1b54dc862cfa16bc76553a520886c03472a9aca5):

* "Access restriction rules are evaluated in priority order. If some rules have
  the same priority, they're evaluated in the order they're listed": the first
  rule that matches decides;
* the unmatched rule: "If the setting isn't configured ... If there are no
  rules, the unmatched rule behavior is to allow all access, but if one or more
  rules exists it implicitly changes to deny all access";
* "The advanced tools site ... has an individual rules collection ... A setting
  allows you to use the rules configured for the main site":
  ``scmIpSecurityRestrictionsUseMain`` true means the main site's
  ``ipSecurityRestrictions`` and its default action guard SCM too;
* a rule's source is an address or CIDR (``ipAddress``, a pure address needs
  ``subnetMask``; "Any"; up to eight comma-separated ranges), service tags
  (``tag`` ServiceTag), a subnet (``vnetSubnetResourceId``; "AnyVnets"), or a
  proxy (``tag`` XffProxy: what it matches is not documented, so ERROR); HTTP header filters narrow a rule to
  requests carrying those headers, which any client can send or omit.

The set of addresses that reach SCM is computed exactly as intervals: a header
filter never narrows who can get in (an attacker picks the headers), so a Deny
with headers denies nobody for sure, and an Allow with headers admits its range.
The promise holds when that set is a non-empty list of single addresses and no
subnet, service tag or forwarded address is admitted. What cannot be computed
(an unreadable rule, rules whose order is unknown, an undocumented forwarding
rule, a deny whose reach is unknown before a broad allow) is ERROR, never PASS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compliance_checks.checks import domains
from compliance_checks.checks.base import (
    Boolean,
    Check,
    CheckMeta,
    Domain,
    Integer,
    ListOf,
    Object,
    Params,
    Read,
    Text,
)
from compliance_checks.findings import Evidence, Finding, Severity, Verdict
from compliance_checks.inventory import MISSING, Inventory, Resource
from compliance_checks.sources.webapp import WEB_APP_TYPES
from infra import well_known

WEB_APPS = WEB_APP_TYPES
_CONFIG = "properties.siteConfig"
DEFAULT_ACTION = f"{_CONFIG}.scmIpSecurityRestrictionsDefaultAction"
USE_MAIN = f"{_CONFIG}.scmIpSecurityRestrictionsUseMain"
RULES = f"{_CONFIG}.scmIpSecurityRestrictions"
MAIN_DEFAULT_ACTION = f"{_CONFIG}.ipSecurityRestrictionsDefaultAction"
MAIN_RULES = f"{_CONFIG}.ipSecurityRestrictions"
# IpSecurityRestriction.action: "Allow or Deny access for this IP range." (azure-mgmt-web 11.0.1 models).
ACTION = domains.Enum(("Allow", "Deny"), "azure-mgmt-web 11.0.1 IpSecurityRestriction.action")
PRIORITY = Integer(0, 2**31 - 1)  # an int32 in the spec; the implicit unmatched rule is 2147483647
# "The following lists the supported http headers: X-Forwarded-For, X-Forwarded-Host, X-Azure-FDID,
# X-FD-HealthProbe ... Each header can have up to eight values per rule." (overview-access-restrictions.md)
SUPPORTED_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-host", "x-azure-fdid", "x-fd-healthprobe"})


@dataclass(frozen=True)
class Headers(Domain):
    """IpSecurityRestriction.headers: supported header name -> list of texts."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, Mapping) and all(
            str(name).lower() in SUPPORTED_HEADERS
            and isinstance(values, list)
            and all(isinstance(v, str) for v in values)
            for name, values in value.items()
        )

    def describe(self) -> str:
        return "an object of supported header -> list of values"


HEADERS = Headers()


def _source_text(text: str) -> bool:
    """An ipAddress: up to eight comma-separated addresses/CIDRs, "Any", "AnyVnets" or service tags."""
    parts = [p.strip() for p in text.split(",")]
    if not 1 <= len(parts) <= 8:
        return False
    for part in parts:
        if part.lower() in ("any", "anyvnets"):
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            if part.split(".", 1)[0].lower() not in {t.lower() for t in well_known.service_tags()}:
                return False
    return True


SOURCE = domains.Matches(_source_text, "addresses, CIDR ranges, Any, AnyVnets or service tags")
_FAMILIES = {4: (1 << 32) - 1, 6: (1 << 128) - 1}

Intervals = dict[int, list[tuple[int, int]]]  # IP version -> sorted, disjoint, inclusive integer intervals


def _norm(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def _minus(spans: list[tuple[int, int]], cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for low, high in spans:
        pieces = [(low, high)]
        for c_low, c_high in cut:
            pieces = [
                part
                for p_low, p_high in pieces
                for part in ((p_low, min(p_high, c_low - 1)), (max(p_low, c_high + 1), p_high))
                if part[0] <= part[1]
            ]
        out.extend(pieces)
    return _norm(out)


def _intersect(spans: list[tuple[int, int]], other: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return _norm([(max(a, c), min(b, d)) for a, b in spans for c, d in other if max(a, c) <= min(b, d)])


def everything() -> Intervals:
    return {version: [(0, top)] for version, top in _FAMILIES.items()}


class Unreadable(Exception):
    pass


def _network(text: str, mask: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """One source range: CIDR, or a pure address with its subnetMask (the spec requires the mask then)."""
    if "/" in text:
        if mask not in (MISSING, None, ""):
            raise Unreadable(f'{text} with a subnetMask ("For CIDR, SubnetMask property must not be specified")')
        return ipaddress.ip_network(text, strict=False)
    if not isinstance(mask, str) or not mask:
        raise Unreadable(f"pure address {text} without its subnetMask")
    return ipaddress.ip_network(f"{text}/{mask}", strict=False)


def parse_sources(rule: Mapping[str, Any]) -> tuple[str, Intervals | list[str]]:
    """('ip', intervals) for address rules; ('opaque', labels) for service tags, subnets, forwarded addresses."""
    tag = rule.get("tag", MISSING)
    tag = "default" if tag in (MISSING, None) else str(tag).lower()
    subnet = rule.get("vnetsubnetresourceid", MISSING)
    address = rule.get("ipaddress", MISSING)
    if subnet not in (MISSING, None, ""):
        if address not in (MISSING, None, ""):
            raise Unreadable("a rule with both a subnet and an address")
        return "opaque", [f"subnet {subnet}"]
    if not isinstance(address, str) or not address.strip():
        raise Unreadable("a rule without an address, service tag or subnet")
    parts = [p.strip() for p in address.split(",")]
    if tag == "servicetag":
        return "opaque", [f"service tag {p}" for p in parts]
    if tag == "xffproxy":
        # IpFilterTag XffProxy: "to support IP filtering on proxies" -- which address it then compares (the
        # connection's or a forwarded one a client can write) is not documented.
        raise Unreadable(f"an XffProxy rule for {address} (what it matches is not documented)")
    if tag != "default":
        raise Unreadable(f"tag {tag!r}")
    spans: Intervals = {4: [], 6: []}
    for part in parts:
        if part.lower() == "any":
            return "ip", everything()
        if part.lower() == "anyvnets":
            return "opaque", ["AnyVnets (every service-endpoint subnet)"]
        try:
            network = _network(part, rule.get("subnetmask", MISSING))
        except ValueError:
            raise Unreadable(f"address {part!r}") from None
        spans[network.version].append((int(network.network_address), int(network.broadcast_address)))
    return "ip", {version: _norm(found) for version, found in spans.items()}


@dataclass
class Reach:
    """Who reaches SCM: exact address intervals, plus what is admitted that is not an address."""

    allowed: Intervals = field(default_factory=lambda: {4: [], 6: []})
    opaque: list[str] = field(default_factory=list)  # admitted sources that are no address list
    uncertain: list[str] = field(default_factory=list)  # denies whose reach is unknown

    def singles(self) -> list[str] | None:
        """The admitted addresses if every interval is one address, else None."""
        out = []
        for version, spans in self.allowed.items():
            for low, high in spans:
                if low != high:
                    return None
                out.append(str(ipaddress.ip_address(low) if version == 4 else ipaddress.IPv6Address(low)))
        return out

    def ranges(self) -> list[str]:
        shown: list[str] = []
        for version, spans in self.allowed.items():
            make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
            for low, high in spans:
                if low != high:
                    shown.extend(str(n) for n in ipaddress.summarize_address_range(make(low), make(high)))
        return shown


def evaluate(rules: list[Mapping[str, Any]], default: str | None) -> Reach:
    """First match in priority order, then the unmatched rule; ``default`` lower-cased or None (not set)."""
    if len(rules) > 1 and any(not PRIORITY.accepts(r.get("priority")) for r in rules):
        raise Unreadable("rules without a priority: their order is unknown")
    ordered = sorted(enumerate(rules), key=lambda item: (item[1].get("priority", 0), item[0]))
    reach = Reach()
    undecided = everything()
    for _, rule in ordered:
        action = str(rule.get("action")).lower()
        headers = rule.get("headers", MISSING)
        filtered = isinstance(headers, Mapping) and any(headers.values())
        kind, sources = parse_sources(rule)
        name = str(rule.get("name") or rule.get("ipaddress") or "a rule")
        if kind == "opaque":
            assert isinstance(sources, list)
            if any(undecided.values()):
                if action == "allow":
                    reach.opaque.extend(sources)
                elif not filtered:
                    reach.uncertain.append(f"{name} ({', '.join(sources)})")
            continue
        assert isinstance(sources, dict)
        for version in _FAMILIES:
            here = _intersect(undecided[version], sources[version])
            if action == "allow":
                reach.allowed[version] = _norm(reach.allowed[version] + here)
            if not filtered:  # a header filter lets requests without the headers fall through
                undecided[version] = _minus(undecided[version], here)
    if default is None:
        default = "deny" if rules else "allow"
    if default == "allow":
        for version in _FAMILIES:
            reach.allowed[version] = _norm(reach.allowed[version] + undecided[version])
    return reach


class ScmIpRestricted(Check):
    meta = CheckMeta(
        id="webapp_scm_ip_restricted",
        title="Portal's SCM site (every app and slot) is reachable from single addresses only",
        severity=Severity.MEDIUM,
        claims=("SEC-DEV-MFA",),
        rationale=(
            "Kudu gives shell and deployment access to the app. Only the developers may reach it: the rules it"
            " is guarded by (its own, or the main site's when it uses them) admit the one developer address."
        ),
        remediation=(
            "Set siteConfig.scmIpSecurityRestrictionsDefaultAction=Deny, scmIpSecurityRestrictionsUseMain=false"
            " and one Allow rule for the allowed IP (/32), on the site and on every slot."
        ),
        references=(
            "https://learn.microsoft.com/azure/app-service/overview-access-restrictions",
            "https://learn.microsoft.com/azure/app-service/app-service-ip-restrictions",
        ),
    )

    subject = "Microsoft.Web/sites"
    # Every site and slot; every setting may be absent (its documented default applies, see the module).
    READS = tuple(
        read
        for kind in WEB_APPS
        for collection, default in ((RULES, DEFAULT_ACTION), (MAIN_RULES, MAIN_DEFAULT_ACTION))
        for read in (
            Read(kind, default, absent_ok=True, domain=domains.SITE_DEFAULT_ACTION),
            Read(kind, collection, absent_ok=True, domain=ListOf(Object())),
            Read(kind, f"{collection}[*].action", domain=ACTION, required=True),
            Read(kind, f"{collection}[*].priority", absent_ok=True, domain=PRIORITY),
            Read(kind, f"{collection}[*].ipAddress", absent_ok=True, domain=SOURCE),
            Read(kind, f"{collection}[*].subnetMask", absent_ok=True, domain=Text()),
            Read(kind, f"{collection}[*].tag", absent_ok=True, domain=domains.IP_FILTER_TAG),
            Read(kind, f"{collection}[*].vnetSubnetResourceId", absent_ok=True, domain=domains.ArmId()),
            Read(kind, f"{collection}[*].headers", absent_ok=True, domain=HEADERS),
        )
    ) + tuple(Read(kind, USE_MAIN, absent_ok=True, domain=Boolean()) for kind in WEB_APPS)

    def run(self, inventory: Inventory, params: Params) -> Iterable[Finding]:
        for site in inventory.of_type(*WEB_APPS):
            yield self._judge(site)

    def _judge(self, site: Resource) -> Finding:
        use_main = site.get(USE_MAIN)
        main = use_main is True
        rules_path, default_path = (MAIN_RULES, MAIN_DEFAULT_ACTION) if main else (RULES, DEFAULT_ACTION)
        rules, default = site.get(rules_path), site.get(default_path)
        guarded_by = "the main site's rules (scmIpSecurityRestrictionsUseMain)" if main else "its own rules"
        evidence = [
            Evidence(USE_MAIN, use_main, "false or not set, or main rules that admit single addresses"),
            Evidence(default_path, default, "'Deny' (or not set with rules)"),
            Evidence(rules_path, rules, "Allow rules for single addresses"),
        ]
        try:
            if use_main not in (MISSING, None) and not isinstance(use_main, bool):
                raise Unreadable("scmIpSecurityRestrictionsUseMain")
            if rules in (MISSING, None):
                rules = []
            if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules):
                raise Unreadable("the rules")
            if default in (MISSING, None):
                chosen = None
            elif isinstance(default, str) and domains.SITE_DEFAULT_ACTION.accepts(default):
                chosen = default.lower()
            else:
                raise Unreadable("the unmatched rule's action")
            for number, rule in enumerate(rules):
                if not ACTION.accepts(rule.get("action")):
                    raise Unreadable(f"the action of rule {number}")
                if rule.get("priority", 0) is not None and not PRIORITY.accepts(rule.get("priority", 0)):
                    raise Unreadable(f"the priority of rule {number}")
                if rule.get("headers") is not None and not HEADERS.accepts(rule.get("headers", {})):
                    raise Unreadable(f"the headers of rule {number}")
            reach = evaluate(rules, chosen)
        except Unreadable as exc:
            return self.finding(site, Verdict.ERROR, f"Cannot verify the SCM site ({guarded_by}): {exc}.", *evidence)
        singles = reach.singles()
        if reach.opaque:
            if reach.uncertain:
                return self.finding(
                    site,
                    Verdict.ERROR,
                    f"Cannot verify: SCM admits {', '.join(reach.opaque)} after deny rules whose reach is unknown"
                    f" ({', '.join(reach.uncertain)}).",
                    *evidence,
                )
            return self.finding(
                site, Verdict.FAIL, f"SCM site ({guarded_by}) admits {', '.join(reach.opaque)}.", *evidence
            )
        if singles is None:
            shown = ", ".join(reach.ranges()[:8])
            if reach.uncertain:
                return self.finding(
                    site,
                    Verdict.ERROR,
                    f"Cannot verify: SCM would admit {shown} unless deny rules of unknown reach"
                    f" ({', '.join(reach.uncertain)}) cover them.",
                    *evidence,
                )
            return self.finding(site, Verdict.FAIL, f"SCM site ({guarded_by}) admits ranges {shown}.", *evidence)
        if not singles:
            return self.finding(
                site, Verdict.FAIL, "SCM site admits no address at all (developers cannot deploy).", *evidence
            )
        return self.finding(site, Verdict.PASS, f"SCM site ({guarded_by}) admits only {', '.join(singles)}.", *evidence)


CHECK = ScmIpRestricted()
