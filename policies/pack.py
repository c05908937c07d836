"""The CrossGuard policies: each one runs compliance checks over what Pulumi is about to deploy.

There is no second implementation of any rule here, and no second list of
which check verifies which claim. ``GROUPS`` only says which configuration
checks are judged together as one gate (name, description, scope); the claim a
policy stands for is the one its checks name in their ``CheckMeta.claims``.
Every configuration check (not a live probe) that no group names becomes a gate
of its own, so a new check for an existing claim is enforced without an edit
here. A policy's validator turns the resources under validation into the same
inventory every other source produces and reports each FAIL (or "nothing to
verify" ERROR) as a violation naming the resource and the claim.

Values unknown until apply (IDs of resources not yet created) cannot be judged
at preview. They are never passed silently: the ``unknown-values-at-preview``
policy reports every one of them (advisory by default, so that a first
deployment is possible; set it to mandatory to forbid any unverified value).
Stack policies link resources by ID (a diagnostic setting to its resource, a
server parameter to its server): a resource whose ID the engine does not send
known (a first preview) makes every check that asks for its type "unknown until
apply"; after apply the engine sends outputs, whose ``id`` resolves the links.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from compliance_checks.checks import load_checks
from compliance_checks.checks.base import EU_LOCATIONS, Check, Params, PropertyCheck, sentence
from compliance_checks.checks.probe_base import ProbeCheck
from compliance_checks.errors import CatalogError
from compliance_checks.findings import Evidence, Finding, Verdict
from compliance_checks.inventory import (
    UNKNOWN,
    Gap,
    IncompleteInventory,
    Inventory,
    Resource,
    is_arm_id,
)
from compliance_checks.render_values import as_table
from compliance_checks.sources.azure_native import GRAPH_TYPES, clean, to_resource
from compliance_checks.sources.loading import fold_nested_deployments
from infra import well_known
from infra.azure_types import ARM_ID_TEMPLATES, UnmappedTypeError, arm_identity
from policies.preview_links import Node, PreviewLinks

PACK_NAME = "smart-portal-privacy"
SOURCE = "policy-pack"
# At preview the subscription is not known to the pack; IDs only need to be consistent within one run.
PREVIEW_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "allowedLocations": {"type": "array", "items": {"type": "string"}, "default": sorted(EU_LOCATIONS)},
        "minTlsVersion": {"type": "string", "enum": ["1.2", "1.3"], "default": "1.2"},
        "maxLogRetentionDays": {"type": "integer", "minimum": 1, "maximum": 730, "default": 90},
    }
)


@dataclass(frozen=True)
class PolicyGroup:
    """Configuration checks judged together as one gate."""

    name: str
    description: str
    checks: tuple[str, ...]
    scope: str  # "resource" when one resource decides, "stack" when several do


@dataclass(frozen=True)
class PolicySpec:
    """One policy of the pack, with the claim derived from its checks' metadata."""

    name: str
    claim: str
    description: str
    checks: tuple[str, ...]
    scope: str  # "resource" when one resource decides, "stack" when several do


SCOPES = ("resource", "stack")

GROUPS: tuple[PolicyGroup, ...] = (
    PolicyGroup(
        "portal-https-tls-floor",
        "The portal is HTTPS only, TLS 1.2+ (also SCM), no FTP.",
        ("webapp_https_only", "webapp_min_tls_version", "webapp_ftps_disabled"),
        "resource",
    ),
    PolicyGroup(
        "portal-custom-domain-tls",
        "The portal's custom domain is bound with a certificate.",
        ("webapp_custom_domain_sni",),
        "stack",
    ),
    PolicyGroup(
        "database-tls-required",
        "The database requires TLS 1.2+ for every connection.",
        ("postgres_require_secure_transport", "postgres_min_tls_version"),
        "stack",
    ),
    PolicyGroup(
        "portal-no-affinity-cookie",
        "No ARRAffinity cookie.",
        ("webapp_client_affinity_disabled",),
        "resource",
    ),
    PolicyGroup(
        "portal-no-app-service-auth",
        "No App Service Authentication session cookie.",
        ("webapp_easy_auth_disabled",),
        "stack",
    ),
    PolicyGroup(
        "portal-no-analytics",
        "No Application Insights, no browser instrumentation.",
        ("webapp_no_application_insights",),
        "stack",
    ),
    PolicyGroup(
        "database-private",
        "The database has no public access and lives in its subnet.",
        ("postgres_public_access_disabled", "postgres_vnet_integrated"),
        "resource",
    ),
    PolicyGroup(
        "database-no-firewall-rules",
        "The database has no firewall rules.",
        ("postgres_no_firewall_rules",),
        "stack",
    ),
    PolicyGroup(
        "database-single-ip-path",
        "Only the portal subnet and the VPN source of the single IP reach the database port.",
        ("nsg_database_port_two_sources", "nsg_deny_all_inbound"),
        "stack",
    ),
    PolicyGroup(
        "vpn-gateway-authentication",
        "The VPN admits Entra ID (MFA) point-to-site from the allowed IP, or one office address by IPsec.",
        ("vpn_gateway_single_ip_or_entra", "entra_ca_vpn_allowed_ip_only"),
        "stack",
    ),
    PolicyGroup(
        "developers-mfa",
        "Conditional Access enforces MFA for the developers; only their group can get a VPN token.",
        ("entra_ca_mfa_for_developers", "entra_vpn_token_developers_only"),
        "stack",
    ),
    PolicyGroup(
        "developers-least-privilege",
        "Developers hold least privilege; no basic-auth publishing; SCM only from the allowed IP.",
        ("rbac_developers_least_privilege", "webapp_basic_auth_disabled", "webapp_scm_ip_restricted"),
        "stack",
    ),
    PolicyGroup(
        "eu-only-locations",
        "Every resource is in an allowed EU region.",
        ("location_in_allowed_regions",),
        "resource",
    ),
    PolicyGroup(
        "database-backup-eu-pair",
        "Geo-redundant backups stay in the EU pair.",
        ("postgres_geo_backup_in_eu_pair",),
        "resource",
    ),
    PolicyGroup(
        "key-vault-hardening",
        "Key Vault: RBAC, purge protection, private only.",
        ("keyvault_rbac_purge_protection", "keyvault_public_access_disabled"),
        "resource",
    ),
    PolicyGroup(
        "log-retention",
        "Logs with IP addresses are kept at most 90 days.",
        ("log_retention_at_most_90_days",),
        "resource",
    ),
    PolicyGroup(
        "logging-and-alerts",
        "Diagnostics on; changes to NSGs, database firewall and parameters, and site configuration alert.",
        ("diagnostic_settings_enabled", "activity_log_alert_network_changes"),
        "stack",
    ),
)

UNKNOWN_VALUES_POLICY = "unknown-values-at-preview"
UNMAPPED_TYPES_POLICY = "unmapped-resource-types"


def is_gated(check: Check) -> bool:
    """A configuration check: it judges what is declared. Live probes judge the running portal, not a preview."""
    return not isinstance(check, ProbeCheck)


def policy_specs(checks: Mapping[str, Check], groups: Sequence[PolicyGroup] = GROUPS) -> tuple[PolicySpec, ...]:
    """The pack's policies: each group, then one policy per configuration check no group names.

    The claim of a policy is the first claim (in its first check's order) that
    every one of its checks names in ``CheckMeta.claims``. A group naming an
    unknown check, a probe, a check another group has, or checks that share no
    claim is a one-line error naming the group.
    """
    specs: list[PolicySpec] = []
    owner: dict[str, str] = {}
    for group in groups:
        where = f"policies/pack.py: GROUPS: {group.name}"
        if group.scope not in SCOPES:
            raise CatalogError(f"{where}: scope {group.scope!r} is not one of {', '.join(SCOPES)}")
        if not group.checks:
            raise CatalogError(f"{where}: names no check")
        for check_id in group.checks:
            check = checks.get(check_id)
            if check is None:
                raise CatalogError(f"{where}: unknown check {check_id!r}")
            if not is_gated(check):
                raise CatalogError(f"{where}: {check_id} is a live probe; a preview cannot judge it")
            if check_id in owner:
                raise CatalogError(f"{where}: {check_id} is already in policy {owner[check_id]}")
            owner[check_id] = group.name
        first, *rest = (checks[c].meta.claims for c in group.checks)
        shared = [claim for claim in first if all(claim in other for other in rest)]
        if not shared:
            raise CatalogError(f"{where}: its checks name no claim in common (CheckMeta.claims)")
        specs.append(PolicySpec(group.name, shared[0], group.description, group.checks, group.scope))
    names = {spec.name for spec in specs} | {UNKNOWN_VALUES_POLICY, UNMAPPED_TYPES_POLICY}
    for check_id in sorted(checks):
        check = checks[check_id]
        if check_id in owner or not is_gated(check):
            continue
        if not check.meta.claims:
            raise CatalogError(f"compliance_checks/checks/{check_id}.py: CheckMeta.claims: names no claim")
        name = check_id.replace("_", "-")
        if name in names:
            raise CatalogError(f"policies/pack.py: the policy of check {check_id} would be named {name}, taken")
        names.add(name)
        scope = "resource" if isinstance(check, PropertyCheck) else "stack"
        specs.append(PolicySpec(name, check.meta.claims[0], sentence(check.meta.title), (check_id,), scope))
    return tuple(specs)


SPECS: tuple[PolicySpec, ...] = policy_specs(load_checks())


def _unwrap(value: Any) -> Any:
    """pulumi_policy wraps props in proxies that raise on unknowns; take the raw values."""
    if isinstance(value, Mapping):
        try:
            target = value["__target"]
        except (KeyError, TypeError):
            target = value
        return {str(k): _unwrap(v) for k, v in dict(target).items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        try:
            target = value["__target"]  # type: ignore[call-overload]
        except (KeyError, TypeError, IndexError):
            target = value
        return [_unwrap(v) for v in target]
    # Pulumi's unknown-value sentinels, one per type (pulumi_policy/proxy.py; infra/data/well_known_ids.json).
    if isinstance(value, str) and value in well_known.pulumi_unknown_sentinels():
        return UNKNOWN
    return value


_SUBSCRIPTION_SCOPE = re.compile(r"^/subscriptions/([0-9a-fA-F-]{36})(?:/|$)")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def subscriptions_named(values: Iterable[Any]) -> list[str]:
    """Every subscription the values name (resource IDs and bare ``/subscriptions/<id>`` scopes), first seen first."""
    found: dict[str, None] = {}
    for value in values:
        for text in _strings(value):
            match = _SUBSCRIPTION_SCOPE.match(text)
            if match:
                found.setdefault(match.group(1).lower(), None)
    return list(found)


def subscription_of(values: Iterable[Any]) -> str:
    """The subscription the resources' references name (IDs built here must match them)."""
    named = subscriptions_named(values)
    return named[0] if named else PREVIEW_SUBSCRIPTION


def inventory_resource(
    resource_type: str, props: Mapping[str, Any], urn: str, subscription: str | None = None
) -> Resource | None:
    values = clean(_unwrap(props))
    subscription = subscription or subscription_of([values])
    return to_resource(resource_type, values, source=SOURCE, origin=urn, subscription_id=subscription)


# Why an identity is not known: the engine sent neither a known ``id`` nor known path parameters.
UNKNOWN_IDENTITY = "ID unknown until apply (not created yet, or built from values computed at apply)"


def _known_identity(resource_type: str, values: Mapping[str, Any], subscription: str) -> tuple[str | None, bool]:
    """The ARM ID the engine's values name (``id`` output first, else path parameters) and whether it is known.

    After apply the engine sends outputs: azure-native outputs carry the ARM
    ``id`` but none of the path parameters (``resourceGroupName``,
    ``resourceUri``, ``scope``...). At a preview it sends inputs: the path
    parameters, unknown when they flow from resources not yet created.
    Microsoft Graph objects are named by ``objectId`` (or ``id``), unknown
    until created.
    """
    if resource_type in GRAPH_TYPES:
        object_id = values.get("objectId")
        return None, isinstance(object_id, str) and bool(object_id)
    if resource_type not in ARM_ID_TEMPLATES:
        return None, True  # not Azure (components, random...), or unmapped: nothing links to it by ID
    resource_id = values.get("id")
    if is_arm_id(resource_id):
        return str(resource_id), True
    try:
        arm_identity(resource_type, values, subscription)
    except KeyError:
        return None, False
    return None, True


def params_from(config: Mapping[str, Any] | None) -> Params:
    config = config or {}
    return Params(
        allowed_locations=frozenset(str(x).lower() for x in config.get("allowedLocations", sorted(EU_LOCATIONS))),
        min_tls_version=str(config.get("minTlsVersion", "1.2")),
        max_log_retention_days=int(config.get("maxLogRetentionDays", 90)),
    )


def is_unknown_finding(finding: Finding) -> bool:
    return finding.verdict == Verdict.ERROR and any(e.observed is UNKNOWN for e in finding.evidence)


# An evaluator's reasoning shown under a violation: enough rows to see why, the rest in the audit's report.
MAX_REASONING_ROWS = 10


def reasoning_lines(finding: Finding) -> list[str]:
    """The evaluator's rows behind a finding (reachability, Conditional Access cells), one line each."""
    lines: list[str] = []
    for evidence in finding.evidence:
        table = as_table(evidence.observed)
        if table is None:
            continue
        columns, rows = table
        lines.append(f"  {evidence.path} (expected: {evidence.expected}):")
        lines += [
            "    " + "; ".join(f"{c}: {v}" for c, v in zip(columns, row, strict=True))
            for row in rows[:MAX_REASONING_ROWS]
        ]
        if len(rows) > MAX_REASONING_ROWS:
            lines.append(f"    ... {len(rows) - MAX_REASONING_ROWS} more (compliance-checks audit shows all)")
    return lines


def violation_message(spec: PolicySpec, check: Check, finding: Finding, name: str) -> str:
    """One line naming claim, check, resource and why; then the evaluator's reasoning, if it gave rows."""
    return "\n".join([f"[{spec.claim}] {check.meta.title}: {name}: {finding.message}", *reasoning_lines(finding)])


def unknown_identity_finding(check: Check, gap: Gap) -> Finding:
    """A check that asked for resources one of whose IDs is unknown: unknown until apply, neither PASS nor FAIL.

    A link (a diagnostic setting to its resource, a setting to its site, a
    role assignment to its scope) is rebuilt from IDs; with one ID unknown an
    absent link may only be one not resolvable yet.
    """
    return Finding(
        check_id=check.meta.id,
        verdict=Verdict.ERROR,
        resource_id=gap.scope,
        resource_type=gap.types[0],
        message=f"Cannot verify: {gap.reason}; what links to it cannot be resolved.",
        evidence=(Evidence("id", UNKNOWN, "a known resource ID"),),
        source=SOURCE,
    )


def evaluate_check(check: Check, inventory: Inventory, params: Params) -> list[Finding]:
    try:
        return check.evaluate(inventory, params)
    except IncompleteInventory as incomplete:
        return [unknown_identity_finding(check, incomplete.gap)]


def _judge(
    spec: PolicySpec, checks: Sequence[Check], inventory: Inventory, params: Params, *, single: bool
) -> Iterable[tuple[Check, Finding]]:
    for check in checks:
        if single and isinstance(check, PropertyCheck):
            only = inventory.resources[0]
            if only.type_key not in {kind.lower() for kind in check.resource_types}:
                continue
        for finding in evaluate_check(check, inventory, params):
            if single and finding.resource_id == "(inventory)":
                continue  # this resource is not what the check looks at
            if finding.verdict == Verdict.FAIL or (
                finding.verdict == Verdict.ERROR and not is_unknown_finding(finding)
            ):
                yield check, finding


def _resource_validator(
    spec: PolicySpec, checks: Sequence[Check]
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        try:
            resource = inventory_resource(args.resource_type, args.props, args.urn)
        except UnmappedTypeError:
            return  # reported once, by the unmapped-resource-types policy
        if resource is None:
            return
        for check, finding in _judge(spec, checks, Inventory([resource]), params_from(args.get_config()), single=True):
            report(violation_message(spec, check, finding, args.name), args.urn)

    return validate


def _graph_named(token: str, values: dict[str, Any]) -> dict[str, Any]:
    if token in GRAPH_TYPES and not values.get("objectId"):
        # Resources without an ``objectId`` output (named locations, CA policies) are named by ``id``,
        # which is what references to them hold (as the synth and state sources read them).
        return {**values, "objectId": values.get("id")}
    return values


@dataclass(frozen=True)
class StackView:
    """The stack as one inventory, each resource under the identity the engine's values give it."""

    inventory: Inventory
    names: Mapping[str, tuple[str, str]]  # resource ID (lower case) -> (URN, name)


def stack_view(args: StackValidationArgs, *, infer_links: bool = False) -> StackView:
    """The stack as one inventory; with ``infer_links``, unknown references filled from property dependencies.

    Without inference a resource whose ID is unknown (a first preview) cannot
    be linked to: it becomes a :class:`Gap` of its type, so a check that asks
    for resources of that type (children, a type listing, an ID lookup) is
    "unknown until apply", never a FAIL ("no diagnostic setting") nor a PASS.
    With inference (``policies/preview_links.py``) each unknown ID, name or
    reference that flows from exactly one fitting resource takes that
    resource's placeholder identity; only what still cannot be resolved is a gap.
    """
    cleaned = {item.urn: _graph_named(item.resource_type, clean(_unwrap(item.props))) for item in args.resources}
    named = subscriptions_named(cleaned.values())
    subscription = named[0] if named else PREVIEW_SUBSCRIPTION
    links = None
    if infer_links:
        nodes = [
            Node(
                urn=item.urn,
                token=item.resource_type,
                values=cleaned[item.urn],
                property_dependencies={k: [d.urn for d in v] for k, v in item.property_dependencies.items()},
            )
            for item in args.resources
        ]
        links = PreviewLinks(nodes, subscription)
        cleaned = {node.urn: links.fill(node) for node in nodes}
    resources = []
    gaps = []
    names: dict[str, tuple[str, str]] = {}
    for item in args.resources:
        values = cleaned[item.urn]
        if links is not None:
            identity = links.identity(item.urn)
            resource_id, known = (identity if identity and identity.startswith("/") else None), identity is not None
            if item.resource_type not in GRAPH_TYPES and item.resource_type not in ARM_ID_TEMPLATES:
                known = True
        else:
            resource_id, known = _known_identity(item.resource_type, values, subscription)
        try:
            resource = to_resource(
                item.resource_type,
                values,
                source=SOURCE,
                origin=item.urn,
                subscription_id=subscription,
                resource_id=resource_id,
            )
        except UnmappedTypeError:
            continue  # reported once per resource, by the unmapped-resource-types policy
        if resource is None:
            continue
        resources.append(resource)
        names[resource.id_key] = (item.urn, item.name)
        if not known:
            gaps.append(Gap((resource.type,), resource.id, f"the {resource.type} {item.name}: {UNKNOWN_IDENTITY}"))
    return StackView(Inventory(fold_nested_deployments(resources), sources=[SOURCE], gaps=gaps), names)


def stack_inventory(args: StackValidationArgs) -> tuple[Inventory, dict[str, tuple[str, str]]]:
    """The stack without inferred links (the view whose unknowns are reported): inventory and names by ID."""
    view = stack_view(args)
    return view.inventory, dict(view.names)


def stack_violations(
    spec: PolicySpec, checks: Sequence[Check], args: StackValidationArgs
) -> Iterable[tuple[Check, Finding, Mapping[str, tuple[str, str]]]]:
    """What a stack policy reports: never a PASS that rests on an inferred link.

    The plain view's FAILs and errors are definite. At a first preview some
    links are unknown there; the view with links inferred from property
    dependencies then adds its FAILs only (a FAIL there is a break whatever
    the values turn out to be, up to the documented limits of the inference;
    its PASSes and its errors are not taken, the plain view reports those
    links as unknown until apply).
    """
    params = params_from(args.get_config())
    plain = stack_view(args)
    seen: set[tuple[str, str, str]] = set()
    for check, finding in _judge(spec, checks, plain.inventory, params, single=False):
        seen.add((check.meta.id, finding.resource_id.lower(), finding.message))
        yield check, finding, plain.names
    if not plain.inventory.gaps:
        return  # every identity is known: nothing to infer
    if len(subscriptions_named(_unwrap(item.props) for item in args.resources)) > 1:
        return  # the resources' own subscription is not known at preview and they name several: nothing to infer
    inferred = stack_view(args, infer_links=True)
    for check, finding in _judge(spec, checks, inferred.inventory, params, single=False):
        key = (check.meta.id, finding.resource_id.lower(), finding.message)
        if finding.verdict == Verdict.FAIL and key not in seen:
            seen.add(key)
            yield check, finding, inferred.names


def _stack_validator(
    spec: PolicySpec, checks: Sequence[Check]
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for check, finding, names in stack_violations(spec, checks, args):
            urn, name = names.get(finding.resource_id.lower(), (None, finding.resource_id))
            report(violation_message(spec, check, finding, name), urn)

    return validate


def _unknown_values(args: StackValidationArgs, report: ReportViolation) -> None:
    inventory, names = stack_inventory(args)
    params = params_from(args.get_config())
    for check in load_checks().values():
        for finding in evaluate_check(check, inventory, params):
            if is_unknown_finding(finding):
                urn, name = names.get(finding.resource_id.lower(), (None, finding.resource_id))
                claims = ", ".join(check.meta.claims)
                report(
                    f"[{claims}] {check.meta.title}: {name}: value unknown until apply, not verified: "
                    f"{finding.message}",
                    urn,
                )


def _unmapped_type(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A type the checks cannot read is named, not a crash: no policy of the pack has judged that resource."""
    try:
        inventory_resource(args.resource_type, args.props, args.urn)
    except UnmappedTypeError as error:
        report(f"{args.name}: resource type {args.resource_type} not judged by any policy: {error}", args.urn)


def build_policies(checks: Mapping[str, Check] | None = None) -> list[Policy]:
    """The pack's policies over the registered checks (or over ``checks``, to see what a new check would add)."""
    specs = SPECS if checks is None else policy_specs(checks)
    checks = load_checks() if checks is None else checks
    policies: list[Policy] = []
    for spec in specs:
        mine = [checks[c] for c in spec.checks]
        description = f"{spec.description} (claim {spec.claim}; checks: {', '.join(spec.checks)})"
        if spec.scope == "resource":
            policies.append(
                ResourceValidationPolicy(
                    name=spec.name,
                    description=description,
                    validate=_resource_validator(spec, mine),
                    enforcement_level=EnforcementLevel.MANDATORY,
                    config_schema=CONFIG_SCHEMA,
                )
            )
        else:
            policies.append(
                StackValidationPolicy(
                    name=spec.name,
                    description=description,
                    validate=_stack_validator(spec, mine),
                    enforcement_level=EnforcementLevel.MANDATORY,
                    config_schema=CONFIG_SCHEMA,
                )
            )
    policies.append(
        StackValidationPolicy(
            name=UNKNOWN_VALUES_POLICY,
            description="Reports every value the checks could not judge because it is unknown until apply.",
            validate=_unknown_values,
            enforcement_level=EnforcementLevel.ADVISORY,
            config_schema=CONFIG_SCHEMA,
        )
    )
    policies.append(
        ResourceValidationPolicy(
            name=UNMAPPED_TYPES_POLICY,
            description="Names every Azure resource type the checks cannot read, so no policy judged it.",
            validate=_unmapped_type,
            enforcement_level=EnforcementLevel.ADVISORY,
        )
    )
    return policies
