"""An inventory as an ARM deployment template, so that tools that read ARM (checkov) can scan a Pulumi stack.

checkov cannot read Pulumi programs; it reads ARM templates. The synthesized
stack is exported with each resource's ARM type, the API version its SDK
resource uses, its name path (``parent/child``) and its body. The inventory's
flattened sub-resources get their ``properties`` wrapper back, as ARM writes
them. The template round-trips: ``audit --source arm`` on the export gives the
verdicts of the stack itself (``tests/test_arm_round_trip.py``), except for
Microsoft Entra objects, which no ARM template carries.

The template deploys into one resource group (the one holding most of the
inventory; "home"):

* **Extension resources** (diagnostic settings, role assignments on a Key
  Vault) get the ``scope`` property naming their target resource, a root
  property of the extension resource. Without it ARM applies the extension
  resource at the deployment scope, the resource group: a role assignment
  would widen to the whole group, a diagnostic setting would lose its target.
  (learn.microsoft.com/azure/azure-resource-manager/templates/scope-extension-resources:
  "To apply an extension resource to a resource, use the scope property";
  "To apply an extension resource type at the target deployment scope, you add
  the resource to your template, as would with any resource type.") The scope
  is the target's ID as a ``resourceId(...)`` expression, as Microsoft's own
  ARM examples write it (learn.microsoft.com/azure/cosmos-db/resource-locks:
  ``"scope": "[resourceId('Microsoft.DocumentDB/databaseAccounts', ...)]"``).
* **Resource IDs** in bodies and scopes are written as ``resourceId``,
  ``subscriptionResourceId`` and ``extensionResourceId`` expressions (or
  ``resourceGroup().id``/``subscription().id``), so that they name the
  resources of the subscription and group the template is deployed to, never
  the placeholder subscription of the offline synthesis
  (learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-resource:
  resourceId's subscription and resource group default to the current ones;
  extensionResourceId(baseResourceId, resourceType, resourceName1, ...)
  returns "{scope}/providers/{extensionResourceProviderNamespace}/..."). IDs of
  another subscription stay literal: they already name exactly one resource.
* A literal string that looks like an expression (``[...]``) is escaped as
  ``[[...]``, which ARM reads as the literal
  (learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions#escape-characters:
  "To have a literal string start with a left bracket [ and end with a right
  bracket ], but not have it interpreted as an expression, add an extra
  bracket to start the string with [[").
* **Secrets** become a reference to one ``securestring`` parameter, never a value:
  every body passes through :func:`compliance_checks.redaction.redact_body`
  (app-setting values, passwords, RADIUS secrets, ...) and the template
  through :func:`~compliance_checks.redaction.scrub_document`.
* **Values unknown before deployment** (preview unknowns) are left out; their
  paths are listed in the resource's ``metadata.unknownBeforeDeployment``
  (learn.microsoft.com/azure/azure-resource-manager/templates/syntax#metadata:
  "You can add a metadata object almost anywhere in your template. Resource
  Manager ignores the object"), and the ARM source reads them back as UNKNOWN.
* **Resources the template cannot place** -- outside the home resource group
  (resource groups themselves, other groups, subscription-level resources)
  or of a type without a known API version -- are left out and listed in the
  template's ``metadata.notExported``; the ARM source turns them into a gap,
  so checks that need them give ERROR, never a PASS over their absence.
  (Only nested deployments can deploy to another scope: "The resourceGroup and
  subscription properties are only allowed on nested or linked deployments.")
  The home resource group itself is the deployment target, not a resource of
  the template. Microsoft Entra (Graph) objects are never exported: the ARM
  source always has a gap for them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue
from compliance_checks.redaction import redact_body, scrub_document
from compliance_checks.sources.arm_template import NOT_EXPORTED, UNKNOWN_PATHS
from infra.azure_types import api_version_of_type

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
# Arrays of sub-resources whose items ARM writes as {name, properties: {...}}.
SUB_RESOURCE_ARRAYS = frozenset(
    {
        "securityRules",
        "delegations",
        "ipConfigurations",
        "privateLinkServiceConnections",
        "manualPrivateLinkServiceConnections",
        "privateDnsZoneConfigs",
        "subnets",
    }
)
SUB_RESOURCE_KEYS = frozenset({"name", "id", "etag", "type"})
SECRET_PARAMETER = "exportedSecret"
SECRET_REFERENCE: Final = f"[parameters('{SECRET_PARAMETER}')]"
GENERATOR: Final = "compliance-checks export-arm"

_ID: Final = re.compile(r"^/subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?((?:/providers/.+)?)$", re.IGNORECASE)
_PROVIDERS: Final = re.compile(r"/providers/", re.IGNORECASE)
_DROP: Final = object()  # a value left out of the template


@dataclass(frozen=True)
class Segment:
    """One ``/providers/Namespace/type/name[/type/name...]`` part of a resource ID."""

    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def type(self) -> str:
        return "/".join([self.namespace, *self.types])


@dataclass(frozen=True)
class ArmId:
    """A parsed ARM resource ID: subscription, resource group (None: subscription level), provider segments.

    More than one segment is an extension resource applied to the resource the
    segments before it name (``.../vaults/kv/providers/Microsoft.Authorization/roleAssignments/x``).
    """

    subscription: str
    group: str | None
    segments: tuple[Segment, ...]

    @property
    def type(self) -> str:
        if self.segments:
            return self.segments[-1].type
        return "Microsoft.Resources/resourceGroups" if self.group is not None else "Microsoft.Resources/subscriptions"

    @property
    def scope(self) -> ArmId:
        return ArmId(self.subscription, self.group, self.segments[:-1])


def parse_id(text: str) -> ArmId | None:
    """An ARM ID under a subscription, or None for anything else (Graph IDs, free text, malformed IDs)."""
    match = _ID.match(text)
    if match is None:
        return None
    subscription, group, providers = match.groups()
    segments: list[Segment] = []
    for chunk in _PROVIDERS.split(providers)[1:]:
        parts = chunk.split("/")
        if len(parts) < 3 or len(parts) % 2 == 0 or not all(parts):
            return None
        segments.append(Segment(parts[0], tuple(parts[1::2]), tuple(parts[2::2])))
    return ArmId(subscription, group, tuple(segments))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Home:
    subscription: str
    group: str | None

    def same_subscription(self, arm: ArmId) -> bool:
        return arm.subscription.lower() == self.subscription.lower()

    def same_group(self, arm: ArmId) -> bool:
        return (
            self.same_subscription(arm)
            and arm.group is not None
            and self.group is not None
            and arm.group.lower() == self.group.lower()
        )

    def expression(self, arm: ArmId) -> str | None:
        """The template expression (without brackets) for an ID of the home subscription; None for another one."""
        if not self.same_subscription(arm):
            return None
        if not arm.segments:
            if arm.group is None:
                return "subscription().id"
            if self.same_group(arm):
                return "resourceGroup().id"
            return f"concat(subscription().id, '/resourceGroups/', {_quote(arm.group)})"
        first, *rest = arm.segments
        names = ", ".join(_quote(n) for n in first.names)
        if arm.group is None:
            text = f"subscriptionResourceId({_quote(first.type)}, {names})"
        elif self.same_group(arm):
            text = f"resourceId({_quote(first.type)}, {names})"
        else:
            text = f"resourceId({_quote(arm.group)}, {_quote(first.type)}, {names})"
        for segment in rest:
            text = f"extensionResourceId({text}, {_quote(segment.type)}, {', '.join(_quote(n) for n in segment.names)})"
        return text


def _home(inventory: Inventory) -> _Home | None:
    """The resource group most resources are in (ties: the first by name)."""
    counts: Counter[tuple[str, str]] = Counter()
    spelled: dict[tuple[str, str], tuple[str, str]] = {}
    for resource in inventory:
        arm = parse_id(resource.id)
        if arm is None or arm.group is None:
            continue
        key = (arm.subscription.lower(), arm.group.lower())
        counts[key] += 1
        spelled.setdefault(key, (arm.subscription, arm.group))
    if not counts:
        return None
    best = min(counts, key=lambda k: (-counts[k], k))
    return _Home(*spelled[best])


def escape(text: str) -> str:
    """A literal string as ARM reads it back: ``[x]`` would be an expression, ``[[x]`` is the literal."""
    return "[" + text if len(text) >= 2 and text[0] == "[" and text[-1] == "]" else text


class _Writer:
    def __init__(self, home: _Home | None) -> None:
        self.home = home
        self.secrets = False

    def string(self, text: str) -> str:
        arm = parse_id(text)
        if arm is not None and self.home is not None:
            expression = self.home.expression(arm)
            if expression is not None:
                return f"[{expression}]"
        return escape(text)

    def value(self, value: Any, path: tuple[str | int, ...], unknown: list[tuple[str | int, ...]]) -> Any:
        """The template form of a value, or _DROP; the paths of values left out as unknown go to ``unknown``."""
        if value is UNKNOWN:
            unknown.append(path)
            return _DROP
        if value is MISSING:
            return _DROP
        if isinstance(value, SecretValue):
            self.secrets = True
            return SECRET_REFERENCE
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                here = (*path, key)
                if key in SUB_RESOURCE_ARRAYS and isinstance(item, list):
                    written = self.items(item, here, unknown, sub_resources=True)
                else:
                    written = self.value(item, here, unknown)
                if written is not _DROP:
                    out[escape(str(key))] = written
            return out
        if isinstance(value, list):
            return self.items(value, path, unknown, sub_resources=False)
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def items(
        self,
        values: list[Any],
        path: tuple[str | int, ...],
        unknown: list[tuple[str | int, ...]],
        *,
        sub_resources: bool,
    ) -> Any:
        if any(item is UNKNOWN for item in values):
            unknown.append(path)  # which items exist is unknown: the whole array is
            return _DROP
        out = []
        for index, item in enumerate(values):
            here = (*path, index)
            written = self.sub_resource(item, here, unknown) if sub_resources else self.value(item, here, unknown)
            out.append(written if written is not _DROP else None)
        return out

    def sub_resource(self, item: Any, path: tuple[str | int, ...], unknown: list[tuple[str | int, ...]]) -> Any:
        if not isinstance(item, Mapping) or not ({"name", "id"} & set(item)):
            return self.value(item, path, unknown)  # ARM only unwraps "properties" of named sub-resources
        head = {k: v for k, v in item.items() if k in SUB_RESOURCE_KEYS}
        properties = {k: v for k, v in item.items() if k not in SUB_RESOURCE_KEYS}
        out = self.value(head, path, unknown)
        if properties:
            # Recorded paths stay those of the flattened inventory, as the ARM source reads them back.
            inner = self.value(properties, path, unknown)
            out["properties"] = inner
        return out


def _placement(resource: Resource, home: _Home | None) -> tuple[ArmId | None, str | None]:
    """The resource's parsed ID if the template can deploy it, else why not."""
    if resource.type_key.startswith("microsoft.graph/"):
        return None, None  # never ARM: the ARM source's Entra gap covers it
    arm = parse_id(resource.id)
    if arm is None:
        return None, "not an ARM resource ID"
    if not arm.segments:
        if home is not None and home.same_group(arm):
            return None, None  # the resource group the template is deployed to, not a resource of it
        return None, "a resource group other than the one the template is deployed to"
    if api_version_of_type(resource.type) is None:
        return None, f"no known API version for {resource.type}"
    if home is None or not home.same_group(arm):
        return None, "outside the resource group the template is deployed to (only nested deployments reach further)"
    return arm, None


def export_template(inventory: Inventory) -> dict[str, Any]:
    home = _home(inventory)
    writer = _Writer(home)
    resources: list[dict[str, Any]] = []
    left_out: list[dict[str, Any]] = []
    for resource in sorted(inventory, key=lambda r: r.id.lower()):
        arm, why = _placement(resource, home)
        if arm is None or home is None:
            if why is not None:
                left_out.append(
                    {"id": resource.id, "type": resource.type, "located": resource.location is not None, "reason": why}
                )
            continue
        unknown: list[tuple[str | int, ...]] = []
        # The inventory holds no secret (Resource.create); redacting again keeps the export safe by itself.
        body = writer.value(redact_body(resource.type, resource.name, resource.body), (), unknown)
        item: dict[str, Any] = {
            "type": arm.type,
            "apiVersion": api_version_of_type(resource.type),
            "name": "/".join(arm.segments[-1].names),
        }
        if len(arm.segments) > 1:
            # An extension resource: "scope" names its target (see the module docstring).
            item["scope"] = f"[{home.expression(arm.scope)}]"
        if resource.location:
            item["location"] = resource.location
        item.update(body)
        if unknown:
            item["metadata"] = {UNKNOWN_PATHS: [list(path) for path in unknown]}
        resources.append(item)
    template: dict[str, Any] = {"$schema": SCHEMA, "contentVersion": "1.0.0.0"}
    metadata: dict[str, Any] = {"generator": GENERATOR}
    if left_out:
        metadata[NOT_EXPORTED] = left_out
    template["metadata"] = metadata
    if writer.secrets:
        template["parameters"] = {SECRET_PARAMETER: {"type": "securestring"}}
    template["resources"] = resources
    scrubbed: dict[str, Any] = _literal_safe(template, scrub_document(template))
    return scrubbed


def _literal_safe(before: Any, after: Any) -> Any:
    """Where scrubbing turned a literal into ``[secret]``-like text, escape it: ARM would read it as an expression."""
    if isinstance(after, str):
        was_expression = isinstance(before, str) and escape(before) != before and not before.startswith("[[")
        changed = not isinstance(before, str) or before != after
        return escape(after) if changed and not was_expression else after
    if isinstance(after, dict) and isinstance(before, dict) and len(before) == len(after):
        return {k: _literal_safe(b, a) for (k, a), b in zip(after.items(), before.values(), strict=True)}
    if isinstance(after, list) and isinstance(before, list) and len(before) == len(after):
        return [_literal_safe(b, a) for b, a in zip(before, after, strict=True)]
    return after
