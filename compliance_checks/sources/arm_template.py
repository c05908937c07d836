"""Source ``arm``: an ARM template, or the output of ``az group export``, as the normalised inventory.

The template is evaluated offline, for one resource group:

* A resource's keywords (``type``, ``name``, ``condition``, ``copy``,
  ``resources``, ``existing``) are read in any case, as ARM reads them; the
  same keyword twice in different cases is refused.
* ``resources`` as an array, or as the symbolic-name object of
  ``languageVersion`` 2.0 (``existing`` resources are skipped); nested child
  ``resources`` arrays compose their type and name with the parent's; names
  like ``vnet/subnet`` are split into segments. Resources with a ``scope``
  (diagnostic settings, role assignments) and the older
  ``Microsoft.X/y/providers/Microsoft.Insights/diagnosticSettings`` form get
  extension-resource IDs, as ARM gives them.
* Expressions are evaluated by :mod:`compliance_checks.sources.arm_expressions`,
  with parameter values from an optional parameters file, else the
  ``defaultValue``. ``securestring``/``secureObject`` parameters and Key Vault
  references are SECRET; a parameter with no value is UNKNOWN.
* ``copy`` loops are expanded when the count is known (at most 800, as in
  ARM). When it is not, one representative resource is kept with ``copyIndex()``
  UNKNOWN and a top-level ``"copy": UNKNOWN`` marker in its body.
* ``condition``: false skips the resource; true keeps it; a condition that
  cannot be resolved keeps the resource and marks its body with a top-level
  ``"condition": UNKNOWN``, so a check can tell "deployed" from "maybe".
  Nested child resources and a network's inline subnets inherit both markers
  (a child of a resource that may not exist may not exist); an NSG rule child
  resource that carries one makes its NSG's ``securityRules`` UNKNOWN.
* A resource whose name cannot be resolved gets the ID ``<origin>#unknown-id``;
  when it is a child resource (``flexibleServers/firewallRules``,
  ``networkSecurityGroups/securityRules``, ``sites/config``) its type and its
  parents' types become a :class:`~compliance_checks.inventory.Gap`: it may
  belong to any of them, so checks over them cannot conclude.
* A resource's ``metadata.unknownBeforeDeployment`` (paths, as arrays of keys
  and indexes, of values left out because nobody knows them before deployment;
  ``compliance-checks export-arm`` writes it) makes those values UNKNOWN. The
  template's ``metadata.notExported`` (resources an export could not place in
  the template) becomes a :class:`~compliance_checks.inventory.Gap` of their
  types. Both can only take knowledge away, never add it.
* An ARM template carries no Microsoft Entra objects: the inventory always has
  a gap for ``Microsoft.Graph/*``, so checks that read them give ERROR.
* Inline nested deployments (``Microsoft.Resources/deployments`` with a
  ``template``) are walked after the template: ``outer`` scope (the default)
  with the parent's parameters and variables, ``inner`` scope with the
  template's own, valued from the deployment's ``parameters``; their
  resources go to the deployment's ``resourceGroup``/``subscriptionId``, carry
  the deployment's condition/copy markers and merge into what they update. A
  ``templateLink``, ``parametersLink``, a template that cannot be read, a
  target that cannot be evaluated or a subscription-scope deployment is a
  :class:`~compliance_checks.inventory.Gap` of every ARM type naming the
  deployment and its place: what it deploys cannot be known.
* Web apps: ``config/web`` and ``config/appsettings`` children are folded into
  their site or slot by :mod:`compliance_checks.sources.webapp`; a child wins
  a conflict only when its ``dependsOn`` names its site.

The result has the canonical shape every source shares: ``location``,
``tags``, ``sku``, ``kind``, ``identity``, ``zones`` (and ``plan``,
``extendedLocation``) at the top, everything else under ``properties``;
nested sub-resources flattened (``securityRules[0].access``) except inside the
``template`` of a ``Microsoft.Resources/deployments``; a virtual network's
inline ``subnets`` also become ``Microsoft.Network/virtualNetworks/subnets``
resources; ``networkSecurityGroups/securityRules`` child resources are merged
into their NSG's ``properties.securityRules``; duplicates (``az group export``
writes subnets and rules both inline and as resources) are merged. Secret
values (passwords, shared keys, app settings...) are replaced by SECRET where
every source's are: in ``Resource.create``, by the schema-derived paths of
``compliance_checks/redaction.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from compliance_checks.errors import InputError
from compliance_checks.inventory import SECRET, UNKNOWN, Gap, Inventory, Resource
from compliance_checks.sources.arm_expressions import (
    ZERO_SUBSCRIPTION,
    Environment,
    TemplateError,
    build_resource_id,
    copy_count,
    evaluate_value,
)
from compliance_checks.sources.azure_native import TOP_LEVEL_KEYS
from compliance_checks.sources.loading import (
    DEFAULT_MAX_BYTES,
    MAX_RESOURCES,
    check_count,
    expect_list,
    expect_object,
    is_opaque,
    join,
    kind,
    merge,
    read_json,
    show,
)
from compliance_checks.sources.webapp import normalise_webapps

SOURCE: Final = "arm"
UNKNOWN_PATHS: Final = "unknownBeforeDeployment"  # resource metadata: paths of values unknown before deployment
NOT_EXPORTED: Final = "notExported"  # template metadata: resources an export left out
ENTRA_TYPES: Final = "Microsoft.Graph/*"
ENTRA_REASON: Final = "an ARM template carries no Microsoft Entra objects (Conditional Access, groups, applications)"
MAX_NESTING: Final = 16  # nested inline deployments inside each other, at most
_MAX_LOOKUP_DEPTH: Final = 64

# Keys of a template resource that are instructions to ARM, not part of the resource body.
_TEMPLATE_KEYS: Final = frozenset(
    {
        "type",
        "name",
        "apiversion",
        "dependson",
        "copy",
        "condition",
        "resources",
        "comments",
        "metadata",
        "scope",
        "existing",
        "subscriptionid",
        "resourcegroup",
        "import",
        "asserts",
        "id",
    }
)
_TOP_LEVEL: Final = {key.lower(): key for key in TOP_LEVEL_KEYS}
_RESOURCE_TYPE: Final = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)+(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)+")
_CHILD_TYPE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Property names whose literal value is a credential: kept only as the fact that it is set.
_SECURE_TYPES: Final = frozenset({"securestring", "secureobject"})

_MARKERS: Final = ("condition", "copy")  # top-level body markers of a resource that may not exist
_DEPLOYMENTS: Final = "microsoft.resources/deployments"
_VNETS: Final = "microsoft.network/virtualnetworks"
_NSGS: Final = "microsoft.network/networksecuritygroups"
_RULES: Final = "microsoft.network/networksecuritygroups/securityrules"
_KV_SECRETS: Final = "microsoft.keyvault/vaults/secrets"


@dataclass
class _Record:
    id: str
    type: str
    name: str
    body: dict[str, Any]
    origin: str
    known: bool
    depends: frozenset[str] = frozenset()  # evaluated dependsOn entries, lower-cased
    symbol: str = ""  # the symbolic name (languageVersion 2.0)
    via: str = ""  # the nested deployment that writes it


@dataclass(frozen=True)
class _Parent:
    type: str
    names: list[str] | None
    trace: str  # the parent's origin inside the file, copy index included
    markers: Mapping[str, Any] = field(default_factory=dict)  # a child may not exist when its parent may not


def normalise_location(value: Any) -> str | None:
    """``Germany West Central`` -> ``germanywestcentral`` (what ARM itself returns)."""
    return value.lower().replace(" ", "") if isinstance(value, str) else None


def flatten(value: Any) -> Any:
    """Merge each nested sub-resource's ``properties`` into itself (an object with ``properties`` and a name or ID)."""
    if isinstance(value, dict):
        out = {key: flatten(item) for key, item in value.items()}
        inner = out.get("properties")
        if is_opaque(inner) and ("name" in out or "id" in out):
            return inner  # a sub-resource whose properties nobody knows is unknown as a whole (an NSG rule)
        if isinstance(inner, dict) and ("name" in out or "id" in out):
            merged = {key: item for key, item in out.items() if key != "properties"}
            for key, item in inner.items():
                merged.setdefault(key, item)
            return merged
        return out
    if isinstance(value, list):
        return [flatten(item) for item in value]
    return value


class _Template:
    def __init__(
        self,
        source: str,
        template: dict[str, Any],
        *,
        base: str,
        values: Mapping[str, Any],
        subscription_id: str,
        resource_group: str,
        location: str | None,
        depth: int = 0,
    ) -> None:
        self.source = source
        self.template = template
        self.base = base
        self.values = values
        self.depth = depth
        self.gaps: list[Gap] = []
        self.nested: list[Callable[[], None]] = []  # nested deployments, walked after this template
        self.env = Environment(
            subscription_id=subscription_id,
            resource_group=resource_group,
            location=location,
            parameter=self.parameter,
            variable=self.variable,
        )
        self.parameters = self._definitions("parameters")
        self.variables = self._variable_definitions()
        self.cache: dict[tuple[str, str], Any] = {}
        self.active: list[tuple[str, str]] = []
        self.records: list[_Record] = []

    # --- parameters and variables ------------------------------------------------

    def _definitions(self, section: str) -> dict[str, tuple[str, Any]]:
        raw = self.template.get(section)
        if raw is None:
            return {}
        entries = expect_object(self.source, join(self.base, section), raw)
        found: dict[str, tuple[str, Any]] = {}
        for name, definition in entries.items():
            if section == "parameters":
                expect_object(self.source, join(self.base, section, name), definition, "a parameter definition object")
            found[name.lower()] = (name, definition)
        return found

    def _variable_definitions(self) -> dict[str, tuple[str, Any]]:
        found = self._definitions("variables")
        loops = found.pop("copy", None)
        if loops is not None:
            place = join(self.base, "variables", loops[0])
            for index, loop in enumerate(expect_list(self.source, place, loops[1], "an array of copy loops")):
                where = join(place, index)
                spec = expect_object(self.source, where, loop, "a copy loop object")
                name = spec.get("name")
                if not isinstance(name, str) or "input" not in spec:
                    raise InputError(self.source, where, 'a variable copy loop needs "name", "count" and "input"')
                found[name.lower()] = (name, _VariableLoop(spec, where))
        return found

    def _lookup(self, section: str, name: str, resolve: Any) -> Any:
        key = (section, name.lower())
        if key in self.cache:
            return self.cache[key]
        if key in self.active or len(self.active) > _MAX_LOOKUP_DEPTH:
            return UNKNOWN  # a cycle, or a chain too long to follow
        self.active.append(key)
        try:
            value = resolve()
        finally:
            self.active.pop()
        self.cache[key] = value
        return value

    def parameter(self, name: str) -> Any:
        entry = self.parameters.get(name.lower())
        if entry is None:
            return UNKNOWN
        declared, definition = entry

        def resolve() -> Any:
            # ARM reads a parameter's "type" and "defaultValue" in any case: a "Type": "SecureString" is secret.
            fields = {str(k).lower(): k for k in definition}
            kind_ = definition.get(fields.get("type", "type"))
            if isinstance(kind_, str) and kind_.lower() in _SECURE_TYPES:
                return SECRET
            if declared.lower() in self.values:
                return self.values[declared.lower()]
            if "defaultvalue" in fields:
                place = join(self.base, "parameters", declared, fields["defaultvalue"])
                return self._evaluate(definition[fields["defaultvalue"]], self.env, place)
            return UNKNOWN

        return self._lookup("parameters", name, resolve)

    def variable(self, name: str) -> Any:
        entry = self.variables.get(name.lower())
        if entry is None:
            return UNKNOWN
        declared, definition = entry

        def resolve() -> Any:
            if isinstance(definition, _VariableLoop):
                return definition.expand(self)
            return self._evaluate(definition, self.env, join(self.base, "variables", declared))

        return self._lookup("variables", name, resolve)

    def _evaluate(self, value: Any, env: Environment, place: str) -> Any:
        try:
            return evaluate_value(value, env)
        except TemplateError as exc:
            raise InputError(self.source, join(place, *exc.path), exc.problem) from None

    # --- resources ---------------------------------------------------------------

    def load(self) -> list[Resource]:
        records = _merge_rules(_merge_duplicates(_split_subnets(self.walk())))
        self.gaps.extend(_unplaced_gaps(self.source, records))
        resources = [
            Resource.create(
                id=r.id,
                type=r.type,
                name=r.name,
                body=r.body,
                location=normalise_location(r.body.get("location")),
                source=SOURCE,
                origin=r.origin,
            )
            for r in records
        ]
        return normalise_webapps(resources, order=_dependency_order(records), unstated_settings=UNKNOWN)

    def walk(self) -> list[_Record]:
        """Every resource this template deploys, those of its inline nested deployments last."""
        # Evaluate every parameter and variable once, so that a syntax error anywhere is reported.
        for name, _ in self.parameters.values():
            self.parameter(name)
        for name, _ in self.variables.values():
            self.variable(name)
        place = join(self.base, "resources")
        raw = self.template.get("resources")
        if isinstance(raw, list):
            self._walk(list(enumerate(raw)), place, None, self.env)
        elif isinstance(raw, dict):
            self._walk(list(raw.items()), place, None, self.env)
        elif raw is None:
            raise InputError(self.source, place, 'missing; expected an ARM template with a "resources" array')
        else:
            raise InputError(self.source, place, f"expected an array (or an object of symbolic names), got {kind(raw)}")
        while self.nested:
            self.nested.pop(0)()
        return self.records

    def _walk(self, entries: list[tuple[str | int, Any]], place: str, parent: _Parent | None, env: Environment) -> None:
        check_count(self.source, place, len(entries))  # a huge array is refused before any resource is evaluated
        try:
            env.budget.charge(len(entries))  # walking counts too: children are walked once per parent copy
        except TemplateError as exc:
            raise InputError(self.source, place, exc.problem) from None
        for key, item in entries:
            here = join(place, key)
            trace = here if parent is None else join(parent.trace, "resources", key)
            resource = expect_object(self.source, here, item, "a resource object")
            keys = _keywords(self.source, here, resource)
            if resource.get(keys.get("existing", "existing")) is True:
                self._existing_children(resource, keys, here, parent)
                continue  # a reference to a resource deployed elsewhere
            declared = resource.get(keys.get("type", "type"))
            if not isinstance(declared, str):
                problem = "missing" if declared is None else f"expected a string, got {kind(declared)}"
                raise InputError(self.source, join(here, keys.get("type", "type")), f"resource type {problem}")
            full_type = self._full_type(declared, parent, join(here, keys.get("type", "type")))
            copy = resource.get(keys.get("copy", "copy"))
            if copy is None:
                self._expand(
                    resource,
                    here,
                    keys,
                    full_type=full_type,
                    declared=declared,
                    parent=parent,
                    env=env,
                    index=None,
                    trace=trace,
                    symbol=key if isinstance(key, str) else "",
                )
                continue
            spec = expect_object(self.source, join(here, keys["copy"]), copy, "a copy object")
            loop = spec.get("name")
            count_place = join(here, keys["copy"], "count")
            try:
                count = copy_count(self._evaluate(spec.get("count"), env, count_place), (), env)
            except TemplateError as exc:
                raise InputError(self.source, count_place, exc.problem) from None
            for index in [UNKNOWN] if count is UNKNOWN else range(count):
                local = env.with_loop("", index)
                if isinstance(loop, str):
                    local = local.with_loop(loop, index)
                self._expand(
                    resource,
                    here,
                    keys,
                    full_type=full_type,
                    declared=declared,
                    parent=parent,
                    env=local,
                    index=index,
                    trace=trace,
                    symbol=key if isinstance(key, str) else "",
                )

    def _existing_children(
        self, resource: dict[str, Any], keys: dict[str, str], here: str, parent: _Parent | None
    ) -> None:
        """Child resources declared under an ``existing`` resource are not read: a gap of their types, not silence."""
        children = resource.get(keys["resources"]) if "resources" in keys else None
        if not children:
            return
        declared = resource.get(keys.get("type", "type"))
        if not isinstance(declared, str):
            raise InputError(self.source, join(here, keys.get("type", "type")), "resource type missing")
        full_type = self._full_type(declared, parent, join(here, keys.get("type", "type")))
        types = [full_type]
        for child in children if isinstance(children, list) else []:
            kind_ = (
                child.get(next((k for k in child if k.lower() == "type"), "type")) if isinstance(child, dict) else None
            )
            if isinstance(kind_, str):
                types.append(kind_ if "/" in kind_ else f"{full_type}/{kind_}")
        reason = f"the existing resource at {here} declares child resources, which are not read"
        self.gaps.append(Gap(tuple(dict.fromkeys(types)), self.source, reason))

    def _full_type(self, declared: str, parent: _Parent | None, place: str) -> str:
        if parent is not None and "/" not in declared:
            if not _CHILD_TYPE.fullmatch(declared):
                raise InputError(self.source, place, f"{show(declared)} is not a child resource type")
            return f"{parent.type}/{declared}"
        if not _RESOURCE_TYPE.fullmatch(declared):
            problem = f"{show(declared)} is not an ARM resource type (Namespace/type[/child...])"
            raise InputError(self.source, place, problem)
        return declared

    def _expand(
        self,
        resource: dict[str, Any],
        here: str,
        extras: dict[str, str],
        *,
        full_type: str,
        declared: str,
        parent: _Parent | None,
        env: Environment,
        index: Any,
        trace: str,
        symbol: str = "",
    ) -> None:
        trace += "" if index is None else "[*]" if index is UNKNOWN else f"[{index}]"
        origin = f"{self.source}#{trace}"
        markers: dict[str, Any] = dict(parent.markers) if parent is not None else {}
        if index is UNKNOWN:
            markers["copy"] = UNKNOWN
        if "condition" in extras:
            where = join(here, extras["condition"])
            condition = self._evaluate(resource[extras["condition"]], env, where)
            if condition is False:
                return
            if is_opaque(condition):
                markers["condition"] = UNKNOWN
            elif condition is not True:
                raise InputError(self.source, where, f"expected a boolean, got {kind(condition)}")
        if len(self.records) >= MAX_RESOURCES:
            raise InputError(self.source, here, f"the template expands to more than {MAX_RESOURCES} resources")

        if "name" not in extras:
            raise InputError(self.source, join(here, "name"), "resource name missing")
        raw_name = resource[extras["name"]]
        name = self._evaluate(raw_name, env, join(here, extras["name"]))
        names: list[str] | None
        if isinstance(name, str):
            names = name.split("/")
        elif is_opaque(name):
            names = None
        else:
            raise InputError(self.source, join(here, "name"), f"expected a string, got {kind(name)}")
        names = self._compose(
            names, full_type=full_type, declared=declared, parent=parent, shown=name, place=join(here, extras["name"])
        )

        scope = self._optional(resource, extras.get("scope"), env, here)
        subscription = self._optional(resource, extras.get("subscriptionid"), env, here)
        group = self._optional(resource, extras.get("resourcegroup"), env, here)
        identity = self._identity(
            full_type, names, scope=scope, subscription=subscription, group=group, place=join(here, extras["name"])
        )

        body = self._body(resource, full_type, env, here)
        body.update(markers)
        for path in self._unknown_paths(resource, extras.get("metadata"), here):
            mark_unknown(body, path)
        if identity is None:
            record = _Record(f"{origin}#unknown-id", _extension_type(full_type), str(raw_name), body, origin, False)
        else:
            rid, rtype = identity
            record = _Record(rid, rtype, rid.rsplit("/", 1)[1], body, origin, True)
        record.depends = self._depends(resource, extras.get("dependson"), env)
        record.symbol = symbol
        self.records.append(record)
        if full_type.lower() == _DEPLOYMENTS:
            label = name if isinstance(name, str) else show(raw_name)
            target = (subscription, group, resource.get(extras["location"]) if "location" in extras else None)
            self.nested.append(lambda: self._nested(resource, here, env, markers=markers, label=label, target=target))

        children = resource.get(extras["resources"]) if "resources" in extras else None
        if children is not None:
            where = join(here, extras["resources"])
            items = expect_list(self.source, where, children, "an array of child resources")
            self._walk(list(enumerate(items)), where, _Parent(full_type, names, trace, markers), env)

    def _depends(self, resource: dict[str, Any], key: str | None, env: Environment) -> frozenset[str]:
        """The resources ``dependsOn`` names, evaluated where possible (what cannot be is no dependency)."""
        entries = resource.get(key) if key is not None else None
        found: set[str] = set()
        for entry in entries if isinstance(entries, list) else []:
            try:
                value = evaluate_value(entry, env)
            except TemplateError:
                continue  # an unusable entry orders nothing: conflicts it would settle stay UNKNOWN
            if isinstance(value, str) and value:
                found.add(value.strip("/").lower())
        return frozenset(found)

    # --- nested deployments ------------------------------------------------------

    def _gap(self, label: str, place: str, problem: str) -> None:
        """What a nested deployment deploys cannot be known: every ARM type is in doubt."""
        reason = f"the nested deployment {label} at {place} {problem}, so what it deploys cannot be known"
        self.gaps.append(Gap(("*",), self.source, reason, located=True, absent=True))

    def _nested(
        self,
        resource: dict[str, Any],
        here: str,
        env: Environment,
        *,
        markers: dict[str, Any],
        label: str,
        target: tuple[Any, Any, Any],
    ) -> None:
        """Walk an inline nested deployment's template; a linked or unreadable one becomes a gap.

        Scope, as ARM evaluates it (https://learn.microsoft.com/azure/azure-resource-manager/templates/linked-templates#expression-evaluation-scope-in-nested-templates):
        ``outer`` (the default) evaluates the nested template's expressions with the
        parent's parameters and variables (its own are not used); ``inner`` with its
        own, whose values are the deployment's ``parameters``, evaluated in the parent.
        ``resourceGroup``/``subscriptionId`` of the deployment are where its resources go.
        """
        subscription, group, location = target
        props_key = next((k for k in resource if k.lower() == "properties"), "properties")
        place = join(here, props_key)
        properties = resource.get(props_key)
        if not isinstance(properties, dict):
            self._gap(label, place, "has no readable properties")
            return
        keys = {k.lower(): k for k in properties}
        if "templatelink" in keys:
            link = properties[keys["templatelink"]]
            shown = (
                next((link[k] for k in ("uri", "id", "relativePath") if k in link), link)
                if isinstance(link, dict)
                else link
            )
            self._gap(label, join(place, keys["templatelink"]), f"links a template ({show(shown)}) that is not read")
            return
        if "template" not in keys:
            self._gap(label, place, "has no inline template")
            return
        template_place = join(place, keys["template"])
        raw = properties[keys["template"]]
        if isinstance(raw, str):
            raw = self._evaluate(raw, env, template_place)  # "[variables('template')]"
        if not isinstance(raw, dict):
            self._gap(label, template_place, f"has a template that cannot be read ({kind(raw)})")
            return
        if location is not None and group is None:
            self._gap(label, here, "deploys at subscription scope, which this source does not evaluate")
            return
        if is_opaque(subscription) or is_opaque(group):
            self._gap(label, here, "deploys to a subscription or resource group that cannot be evaluated")
            return
        if self.depth + 1 > MAX_NESTING:
            self._gap(label, here, f"is nested more than {MAX_NESTING} deployments deep")
            return
        sub = subscription or self.env.subscription_id
        rg = group or self.env.resource_group
        same_group = sub.lower() == self.env.subscription_id.lower() and rg.lower() == self.env.resource_group.lower()
        located = self.env.location if same_group else None
        options = properties.get(keys.get("expressionevaluationoptions", ""))
        scope = (
            options.get(next((k for k in options if k.lower() == "scope"), "scope"))
            if isinstance(options, dict)
            else None
        )
        inner = isinstance(scope, str) and scope.lower() == "inner"
        if inner:
            values = self._nested_parameters(properties, keys, place, env, raw=raw, label=label)
            if values is None:
                return
            child = _Template(
                self.source,
                raw,
                base=template_place,
                values=values,
                subscription_id=sub,
                resource_group=rg,
                location=located,
                depth=self.depth + 1,
            )
            child.env = replace(child.env, budget=env.budget)  # one budget for the whole file, nested templates too
        else:
            # Outer scope: the nested template's own parameters and variables are not used.
            own = {k: v for k, v in raw.items() if k.lower() not in ("parameters", "variables")}
            child = _Template(
                self.source,
                own,
                base=template_place,
                values={},
                subscription_id=sub,
                resource_group=rg,
                location=located,
                depth=self.depth + 1,
            )
            # The parent's parameters, variables and copy loops, at the deployment's target.
            child.env = replace(env, subscription_id=sub, resource_group=rg, location=located)
        records = child.walk()
        for record in records:
            record.body.update(markers)  # a deployment that may not happen deploys nothing for sure
            record.via = record.via or label
        self.gaps.extend(child.gaps)
        self.records.extend(records)
        if len(self.records) > MAX_RESOURCES:
            raise InputError(self.source, here, f"the template expands to more than {MAX_RESOURCES} resources")

    def _nested_parameters(
        self,
        properties: dict[str, Any],
        keys: dict[str, str],
        place: str,
        env: Environment,
        *,
        raw: dict[str, Any],
        label: str,
    ) -> dict[str, Any] | None:
        """An inner-scope deployment's parameter values, evaluated in the parent (None: a gap was recorded)."""
        if "parameterslink" in keys:
            self._gap(label, join(place, keys["parameterslink"]), "links a parameters file that is not read")
            return None
        if "parameters" not in keys:
            return {}
        where = join(place, keys["parameters"])
        given = self._evaluate(properties[keys["parameters"]], env, where)
        if is_opaque(given):
            declared = raw.get("parameters")
            return {str(name).lower(): UNKNOWN for name in (declared if isinstance(declared, dict) else {})}
        entries = expect_object(self.source, where, given, "an object of parameter values")
        values: dict[str, Any] = {}
        for name, entry in entries.items():
            if is_opaque(entry):
                values[name.lower()] = entry
                continue
            spec = expect_object(self.source, join(where, name), entry, 'an object with "value" or "reference"')
            if "reference" in spec:
                values[name.lower()] = SECRET  # a Key Vault reference
            elif "value" in spec:
                values[name.lower()] = spec["value"]
            else:
                raise InputError(self.source, join(where, name), 'expected "value" or "reference"')
        return values

    def _unknown_paths(self, resource: dict[str, Any], key: str | None, here: str) -> list[list[str | int]]:
        """The paths a resource's ``metadata.unknownBeforeDeployment`` lists (other metadata is ignored, as ARM does)."""
        metadata = resource.get(key) if key is not None else None
        if not isinstance(metadata, dict) or UNKNOWN_PATHS not in metadata:
            return []
        place = join(here, str(key), UNKNOWN_PATHS)
        paths = expect_list(self.source, place, metadata[UNKNOWN_PATHS], "an array of paths")
        found: list[list[str | int]] = []
        for number, path in enumerate(paths):
            if (
                not isinstance(path, list)
                or not path
                or not isinstance(path[0], str)
                or not all(isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) for p in path)
            ):
                problem = "expected a path: an array of property names and indexes, starting with a name"
                raise InputError(self.source, join(place, number), problem)
            found.append(path)
        return found

    def _optional(self, resource: dict[str, Any], key: str | None, env: Environment, here: str) -> Any:
        if key is None:
            return None
        value = self._evaluate(resource[key], env, join(here, key))
        if value is None or isinstance(value, str) or is_opaque(value):
            return value
        raise InputError(self.source, join(here, key), f"expected a string, got {kind(value)}")

    def _compose(
        self,
        names: list[str] | None,
        *,
        full_type: str,
        declared: str,
        parent: _Parent | None,
        shown: Any,
        place: str,
    ) -> list[str] | None:
        if parent is not None and names is not None:
            if parent.names is None:
                return None
            needed = _segments_needed(full_type)
            if "/" not in declared or len(names) != needed:
                names = [*parent.names, *names]
        if names is None:
            return None
        needed = _segments_needed(full_type)
        if len(names) != needed or not all(names):
            raise InputError(
                self.source, place, f"name {show(shown)} has {len(names)} segment(s); type {full_type} needs {needed}"
            )
        return names

    def _identity(
        self,
        full_type: str,
        names: list[str] | None,
        *,
        scope: Any,
        subscription: Any,
        group: Any,
        place: str,
    ) -> tuple[str, str] | None:
        if names is None or is_opaque(scope) or is_opaque(subscription) or is_opaque(group):
            return None
        sub = subscription or self.env.subscription_id
        rg = group or self.env.resource_group
        parts = full_type.split("/")
        lowered = [p.lower() for p in parts]
        try:
            if "providers" in lowered[2:]:
                at = lowered.index("providers", 2)
                base_types, extension_types = parts[1:at], parts[at + 1 :]
                base = build_resource_id(sub, rg, "/".join(parts[:at]), names[: len(base_types)])
                namespace = names[len(base_types)]
                extension = f"{namespace}/{'/'.join(extension_types)}"
                tail = names[len(base_types) + 1 :]
                return base + _provider_path(extension, tail), extension
            if isinstance(scope, str) and scope:
                scope_id = scope if scope.startswith("/") else f"{self.env.resource_group_id}/providers/{scope}"
                return scope_id.rstrip("/") + _provider_path(full_type, names), full_type
            return build_resource_id(sub, rg, full_type, names), full_type
        except ValueError as exc:
            raise InputError(self.source, place, str(exc)) from None

    def _body(self, resource: dict[str, Any], full_type: str, env: Environment, here: str) -> dict[str, Any]:
        source = {key: value for key, value in resource.items() if key.lower() not in _TEMPLATE_KEYS}
        raw_template: Any = None
        inner = False
        props_key = next((key for key in source if key.lower() == "properties"), "properties")
        if full_type.lower() == _DEPLOYMENTS and isinstance(source.get(props_key), dict):
            # Spelled as _nested reads it (any case): an inner-scope template is kept as written, not evaluated here.
            fields = {key.lower(): key for key in source[props_key]}
            options = source[props_key].get(fields.get("expressionevaluationoptions", ""))
            scope = (
                next((v for k, v in options.items() if k.lower() == "scope"), None)
                if isinstance(options, dict)
                else None
            )
            if isinstance(scope, str) and scope.lower() == "inner" and "template" in fields:
                inner = True
                source[props_key] = dict(source[props_key])
                raw_template = source[props_key].pop(fields["template"])
        evaluated = self._evaluate(source, env, here)
        if not isinstance(evaluated, dict):  # a resource-level property name nobody knows: the body is unknown
            evaluated = {"properties": evaluated}
        body: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in evaluated.items():
            lowered = key.lower()
            if lowered == "properties":
                if isinstance(value, dict):
                    properties.update(value)
                elif is_opaque(value):
                    properties["$value"] = value
                elif value is not None:
                    raise InputError(self.source, join(here, key), f"expected an object, got {kind(value)}")
            elif lowered in _TOP_LEVEL:
                body[_TOP_LEVEL[lowered]] = value
            else:
                extra[key] = value
        for key, value in extra.items():
            properties.setdefault(key, value)
        template = None
        if full_type.lower() == _DEPLOYMENTS:
            template = properties.pop(next((k for k in properties if k.lower() == "template"), "template"), None)
        properties = flatten(properties)  # secrets: Resource.create redacts them by schema (redaction.py)
        if inner:
            properties["template"] = raw_template
        elif template is not None:
            properties["template"] = template
        if full_type.lower() == _KV_SECRETS and properties.get("value") is not None:
            properties["value"] = SECRET
        body["properties"] = properties
        return body


@dataclass(frozen=True)
class _VariableLoop:
    spec: dict[str, Any]
    place: str

    def expand(self, template: _Template) -> Any:
        name = self.spec["name"]
        count_place = join(self.place, "count")
        try:
            count = copy_count(template._evaluate(self.spec.get("count"), template.env, count_place), (), template.env)
        except TemplateError as exc:
            raise InputError(template.source, count_place, exc.problem) from None
        if count is UNKNOWN:
            return UNKNOWN
        return [
            template._evaluate(self.spec["input"], template.env.with_loop(name, i), join(self.place, "input"))
            for i in range(count)
        ]


def _child(container: Any, step: str | int) -> str | int | None:
    """The key or index ``step`` names in ``container`` (property names case-insensitively), or None."""
    if isinstance(container, dict) and isinstance(step, str):
        if step in container:
            return step
        return next((k for k in container if isinstance(k, str) and k.lower() == step.lower()), None)
    if isinstance(container, list) and isinstance(step, int) and 0 <= step < len(container):
        return step
    return None


def mark_unknown(body: dict[str, Any], path: list[str | int]) -> None:
    """Make the value at ``path`` UNKNOWN; where the path cannot be followed, what is there becomes UNKNOWN."""
    parent: Any = None
    key: str | int | None = None
    current: Any = body
    for step in path:
        found = _child(current, step)
        if found is None:
            if isinstance(current, dict) and isinstance(step, str):
                current[step] = UNKNOWN  # left out of the template: unknown, not absent
            elif parent is not None and key is not None:
                parent[key] = UNKNOWN  # an index that is not there: the whole array is unknown
            return
        parent, key, current = current, found, current[found]
    if parent is not None and key is not None:
        parent[key] = UNKNOWN


def entra_gap(source: str) -> Gap:
    """The gap every ARM inventory has: no Microsoft Entra (Graph) objects."""
    return Gap((ENTRA_TYPES,), source, ENTRA_REASON, absent=True)


def left_out_gaps(source: str, base: str, template: dict[str, Any]) -> list[Gap]:
    """Gaps for the resources the template's ``metadata.notExported`` lists, one per reason."""
    metadata = template.get("metadata")
    if not isinstance(metadata, dict) or NOT_EXPORTED not in metadata:
        return []
    place = join(base, "metadata", NOT_EXPORTED)
    entries = expect_list(source, place, metadata[NOT_EXPORTED], "an array of left-out resources")
    by_reason: dict[str, tuple[set[str], list[bool]]] = {}
    for number, entry in enumerate(entries):
        item = expect_object(source, join(place, number), entry, 'an object with "type"')
        kind_ = item.get("type")
        if not isinstance(kind_, str) or not kind_:
            raise InputError(source, join(place, number, "type"), "expected the resource type, a non-empty string")
        reason = item.get("reason")
        types, located = by_reason.setdefault(
            reason if isinstance(reason, str) and reason else "not exported", (set(), [])
        )
        types.add(kind_)
        located.append(item.get("located") is not False)  # unless it surely has no location, it might
    return [
        Gap(
            tuple(sorted(types, key=str.lower)),
            source,
            f"the export left out {len(located)} resource(s) of the stack: {reason}",
            located=any(located),
            absent=True,
        )
        for reason, (types, located) in by_reason.items()
    ]


def _segments_needed(full_type: str) -> int:
    parts = [p.lower() for p in full_type.split("/")]
    if "providers" in parts[2:]:
        at = parts.index("providers", 2)
        return (at - 1) + 1 + (len(parts) - at - 1)
    return len(parts) - 1


def _extension_type(full_type: str) -> str:
    parts = full_type.split("/")
    lowered = [p.lower() for p in parts]
    if "providers" in lowered[2:]:
        return "Microsoft.Unknown/" + "/".join(parts[lowered.index("providers", 2) + 1 :])
    return full_type


def _provider_path(resource_type: str, names: list[str]) -> str:
    namespace, *types = resource_type.split("/")
    if not types or len(types) != len(names) or not all(names):
        raise ValueError(f"{len(names)} name segment(s) do not fit type {resource_type}")
    return f"/providers/{namespace}/" + "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))


def _keywords(source: str, place: str, resource: dict[str, Any]) -> dict[str, str]:
    """The resource's keys by lower-cased name; InputError for a key written twice in different cases.

    ARM reads a resource's keywords (``type``, ``name``, ``condition``, ``copy``, ``resources``) whatever
    their case (Newtonsoft.Json's typed reading; Microsoft's ARM-to-Bicep decompiler matches them with
    OrdinalIgnoreCase, Azure/bicep src/Bicep.Decompiler/ArmHelpers/TemplateHelpers.cs). A "Resources" array
    read as a property would drop its child resources; "Condition": false read as one would deploy the resource.
    """
    keys = {key.lower(): key for key in resource}
    if len(keys) != len(resource):
        seen: dict[str, str] = {}
        for key in resource:
            if key.lower() in seen:
                problem = f"{show(seen[key.lower()])} and {show(key)} name one key (ARM ignores the case of keys)"
                raise InputError(source, place, problem)
            seen[key.lower()] = key
    return keys


def _markers(body: dict[str, Any]) -> dict[str, Any]:
    """The resource's may-not-exist markers (``"condition"``/``"copy"``: UNKNOWN), for what it contains."""
    return {key: UNKNOWN for key in _MARKERS if body.get(key) is UNKNOWN}


def _unplaced_gaps(source: str, records: Iterable[_Record]) -> list[Gap]:
    """A child resource whose ID cannot be evaluated belongs to some parent nobody can name: a gap.

    Left in the inventory under ``#unknown-id`` it would belong to no parent, and a firewall rule or NSG rule
    that opens a door would vanish from its server's or NSG's checks. The gap covers the child's type and its
    parents' types: any of them may hold it, so checks over them cannot conclude (ERROR).
    """
    by_types: dict[tuple[str, ...], list[str]] = {}
    for record in records:
        parts = record.type.split("/")
        if record.known or len(parts) < 3:
            continue
        types = tuple("/".join(parts[:end]) for end in range(len(parts), 1, -1))
        by_types.setdefault(types, []).append(record.origin)
    gaps = []
    for types, origins in by_types.items():
        shown = origins[0] if len(origins) == 1 else f"{origins[0]} and {len(origins) - 1} more"
        reason = f"a {types[0]} whose name cannot be evaluated ({shown}) may belong to any {types[1]}"
        gaps.append(Gap(types, source, reason))  # evaluating the template could not place it
    return gaps


def _split_subnets(records: Iterable[_Record]) -> list[_Record]:
    """Each inline subnet of a virtual network also becomes a subnet resource (that may not exist if its network may not)."""
    result: list[_Record] = []
    for record in records:
        result.append(record)
        if record.type.lower() != _VNETS:
            continue
        subnets = record.body["properties"].get("subnets")
        markers = _markers(record.body)
        for number, subnet in enumerate(subnets if isinstance(subnets, list) else []):
            name = subnet.get("name") if isinstance(subnet, dict) else None
            origin = f"{record.origin}/properties/subnets/{number}"
            if not isinstance(name, str) or not name or "/" in name:
                continue
            body = {"properties": {k: v for k, v in subnet.items() if k not in ("name", "id", "type", "etag")}}
            body.update(markers)
            # A subnet of a network whose name is unknown cannot be placed either (a gap, _unplaced_gaps).
            rid, known = (f"{record.id}/subnets/{name}", True) if record.known else (f"{origin}#unknown-id", False)
            result.append(_Record(rid, "Microsoft.Network/virtualNetworks/subnets", name, body, origin, known))
    return result


def _merge_duplicates(records: Iterable[_Record]) -> list[_Record]:
    """One record per ID: later declarations merge into the first (``az group export`` writes some twice)."""
    by_id: dict[str, _Record] = {}
    for record in records:
        key = record.id.lower()
        first = by_id.get(key)
        if first is None:
            by_id[key] = record
        else:
            first.body = merge(first.body, record.body)
            first.depends |= record.depends
            if record.via:
                first.origin += f" (updated by {record.via})"
    return list(by_id.values())


def _dependency_order(records: Iterable[_Record]) -> Callable[[Resource, Resource], bool | None]:
    """Whether a config child is deployed after its site: only when its ``dependsOn`` names the site.

    ``dependsOn`` entries are resource IDs, ``Namespace/type/name`` paths, plain
    names or (languageVersion 2.0) symbolic names
    (https://learn.microsoft.com/azure/azure-resource-manager/templates/resource-dependency#dependson).
    """
    depends = {r.id.lower(): r.depends for r in records}
    symbols = {r.id.lower(): r.symbol.lower() for r in records if r.symbol}

    def order(child: Resource, owner: Resource) -> bool | None:
        wanted = depends.get(child.id_key, frozenset())
        path = owner.id_key.split("/providers/", 1)[-1]
        names = "/".join(path.split("/")[2::2])
        owner_names = {owner.id_key.strip("/"), path, names, symbols.get(owner.id_key, "")} - {""}
        return True if wanted & owner_names else None

    return order


def _merge_rules(records: list[_Record]) -> list[_Record]:
    """NSG security-rule child resources move into their NSG's ``properties.securityRules``."""
    by_id = {r.id.lower(): r for r in records if r.known}
    kept: list[_Record] = []
    for record in records:
        parent = by_id.get(record.id.rsplit("/", 2)[0].lower()) if record.known else None
        if record.type.lower() != _RULES or parent is None or parent.type.lower() != _NSGS:
            kept.append(record)
            continue
        if _markers(record.body):
            # A rule that may not be deployed: whether the NSG holds it is unknown, so its rule set is.
            parent.body["properties"]["securityRules"] = UNKNOWN
            continue
        properties = record.body["properties"]
        rule: Any = properties["$value"] if set(properties) == {"$value"} else {"name": record.name, **properties}
        rules = parent.body["properties"].get("securityRules")
        if rules is None:
            rules = parent.body["properties"]["securityRules"] = []
        if not isinstance(rules, list):
            kept.append(record)  # the NSG's rules are unknown: keep the rule on its own
            continue
        for position, existing in enumerate(rules):
            if isinstance(existing, dict) and str(existing.get("name", "")).lower() == record.name.lower():
                rules[position] = merge(existing, rule) if isinstance(rule, dict) else rule
                break
        else:
            rules.append(rule)
    return kept


def _parameter_values(path: Path, max_bytes: int) -> dict[str, Any]:
    source = str(path)
    document = read_json(path, max_bytes=max_bytes, expected="an ARM parameters file")
    top = expect_object(source, "", document, "an ARM parameters file (a JSON object)")
    if "parameters" in top:
        base, entries = "/parameters", expect_object(source, "/parameters", top["parameters"])
    else:
        base, entries = "", {k: v for k, v in top.items() if k not in ("$schema", "contentVersion")}
    values: dict[str, Any] = {}
    for name, entry in entries.items():
        spec = expect_object(source, join(base, name), entry, 'an object with "value" or "reference"')
        if "reference" in spec:
            values[name.lower()] = SECRET  # a Key Vault reference: a secret by construction
        elif "value" in spec:
            values[name.lower()] = spec["value"]
        else:
            raise InputError(source, join(base, name), 'expected "value" or "reference"')
    return values


def load_arm_template(
    path: Path,
    *,
    parameters: Path | None = None,
    subscription_id: str = ZERO_SUBSCRIPTION,
    resource_group: str = "exported",
    location: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Inventory:
    """Load an ARM template (or ``az group export`` output, bare or wrapped in ``{"template": ...}``).

    ``subscription_id`` and ``resource_group`` are where the template is
    (imagined to be) deployed; ``location`` is the resource group's location
    (``resourceGroup().location``, UNKNOWN when not given). Bad input raises
    InputError naming the file, the JSON pointer and the reason.
    """
    source = str(path)
    document = read_json(path, max_bytes=max_bytes, expected="an ARM template")
    if not isinstance(document, dict):
        raise InputError(source, "", f'expected an ARM template (a JSON object with "resources"), got {kind(document)}')
    base, template = "", document
    if "resources" not in document and isinstance(document.get("template"), dict):
        base, template = "/template", document["template"]  # the REST API's ResourceGroupExportResult
    values = _parameter_values(parameters, max_bytes) if parameters is not None else {}
    try:
        loader = _Template(
            source,
            template,
            base=base,
            values=values,
            subscription_id=subscription_id,
            resource_group=resource_group,
            location=location,
        )
        resources = loader.load()
    except RecursionError:
        raise InputError(source, "", "expressions or values nested too deeply to evaluate") from None
    gaps = [entra_gap(source), *left_out_gaps(source, base, template), *loader.gaps]
    return Inventory(resources, sources=[SOURCE], gaps=gaps)
