"""One normalised model of an App Service web app, the same from every source.

A web app is a site (``Microsoft.Web/sites``) and each of its deployment
slots (``Microsoft.Web/sites/slots``, judged like a site). Its configuration
can be written in several places; after :func:`normalise_webapps` it is in
exactly one: the owner's ``properties.siteConfig``.

* ``siteConfig`` inline in the site (or slot) body: the base.
* A ``config/web`` child (``Microsoft.Web/sites/config`` named ``web``, or
  ``Microsoft.Web/sites/slots/config``; as ``az group export`` writes it, as a
  top-level ``site/web`` resource or nested in the site's ``resources``): its
  properties are a SiteConfig and are applied over the base key by key.
  Keys the child does not name keep the site's value (a partial SiteConfig in
  a PUT of ``config/web`` leaves the properties it omits as they are, as the
  site's own PUT does; this is assumed, not documented -- see the report).
  Lists and objects are replaced whole.
* An ``appsettings`` child: its properties are an object name -> value, and a
  PUT of it *replaces* every app setting ("Replaces the application settings
  of an app.", operation WebApps_UpdateApplicationSettings, Azure REST API
  specs, specification/web/resource-manager/Microsoft.Web/stable/2024-04-01/WebApps.json).
  So it replaces ``siteConfig.appSettings`` as a whole.

App settings have one shape: ``siteConfig.appSettings`` is a list of
``{"name": ..., "value": ...}`` sorted by name (case-insensitively), whether
the source wrote a list of name/value pairs or an object name -> value.
Values are kept as the source gave them (SECRET where it hid them); the
checks decide on names.

Conflicts. Which value wins depends on the order the writes are applied in:

* ARM: resources without a dependency between them are deployed in parallel
  ("When resources aren't dependent on each other, Resource Manager deploys
  them in parallel", https://learn.microsoft.com/azure/azure-resource-manager/templates/resource-dependency),
  and a child nested in its parent's ``resources`` gets no implicit
  dependency on it (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-parent-resource).
  A child whose ``dependsOn`` names its site is applied after it and wins;
  otherwise the order is unknown.
* Pulumi (synth, state, preview): the sources carry no order; unknown.
* Live: the ``config/web`` and app settings read are what is deployed; they win.

Where the order is unknown, a value the child sets that differs from the
site's becomes UNKNOWN -- never the better of the two. A key the site does not
state at all (``az group export`` writes a sparse inline ``siteConfig``) is no
conflict: the child's value is taken. Two children that set
the same key differently (no order between siblings is known) give UNKNOWN.
A child that may not be deployed (an ARM ``condition`` that cannot be
evaluated, a copy loop of unknown count: the ``"condition"``/``"copy"``
UNKNOWN markers) makes every value it would change UNKNOWN, so the site does
not inherit a verdict from a child that may not exist. A child whose
properties are unknown or secret as a whole makes ``siteConfig`` UNKNOWN.

The folded ``web`` and ``appsettings`` children leave the inventory (the live
source never had them): their content is in the site. Other config children
(``authsettingsV2``, ``connectionstrings``, ``metadata``, ``logs`` ...) stay
resources of their own; the checks that need them look them up by ID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from compliance_checks.inventory import MISSING, OPAQUE_KEY, UNKNOWN, Resource, SecretValue

SITES: Final = "Microsoft.Web/sites"
SLOTS: Final = "Microsoft.Web/sites/slots"
WEB_APP_TYPES: Final = (SITES, SLOTS)
CONFIG_TYPES: Final = ("Microsoft.Web/sites/config", "Microsoft.Web/sites/slots/config")
FOLDED: Final = ("web", "appsettings")  # config children whose content moves into the owner

_OWNERS: Final = frozenset(t.lower() for t in WEB_APP_TYPES)
_CONFIGS: Final = frozenset(t.lower() for t in CONFIG_TYPES)
_MARKERS: Final = ("condition", "copy")

Order = Callable[[Resource, Resource], bool | None]
"""(child, owner) -> True when the child is surely applied after its owner, None when the order is unknown."""


def order_unknown(child: Resource, owner: Resource) -> bool | None:
    """Pulumi sources: no order between a site and its config resources is recorded."""
    return None


def child_applied_last(child: Resource, owner: Resource) -> bool | None:
    """Live: what was read from config/web and config/appsettings is what is deployed."""
    return True


def _key(mapping: Mapping[str, Any], name: str) -> str | None:
    """The key of ``mapping`` that is ``name`` case-insensitively (ARM property names are)."""
    if name in mapping:
        return name
    lowered = name.lower()
    return next((k for k in mapping if isinstance(k, str) and k.lower() == lowered), None)


def _opaque(value: Any) -> bool:
    return value is UNKNOWN or isinstance(value, SecretValue)


def settings_list(value: Any) -> Any:
    """App settings in the one shape: ``[{"name", "value"}]`` sorted by name; anything else as it is.

    An object name -> value (the ``appsettings`` child) becomes the list; a
    list keeps its items, reduced to name and value. An item that is not a
    name/value object (UNKNOWN, a wrong type) is kept as it is, after the
    named ones, for the checks to refuse.
    """
    if isinstance(value, Mapping):
        if set(value) == {"$value"}:
            return value["$value"]  # a whole secret or unknown object
        pairs: list[Any] = [{"name": str(k), "value": v} for k, v in value.items()]
    elif isinstance(value, list):
        pairs = []
        for item in value:
            if isinstance(item, Mapping) and isinstance(item.get(_key(item, "name") or "name"), str):
                name_key = _key(item, "name") or "name"
                value_key = _key(item, "value")
                pairs.append({"name": item[name_key], "value": item[value_key] if value_key else None})
            else:
                pairs.append(item)
    else:
        return value
    named = [p for p in pairs if isinstance(p, dict) and isinstance(p.get("name"), str) and set(p) == {"name", "value"}]
    others = [p for p in pairs if not any(p is n for n in named)]
    return sorted(named, key=lambda p: (p["name"].casefold(), p["name"])) + others


def _same(a: Any, b: Any) -> bool:
    """Known to be equal: two unknown or secret values (anywhere inside) are not known to be."""
    if _opaque(a) or _opaque(b) or type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def may_not_exist(resource: Resource) -> bool:
    return any(resource.folded.get(marker) is UNKNOWN for marker in _MARKERS)


class _Site:
    """The owner's siteConfig while children are applied, and which keys a child already set."""

    def __init__(self, owner: Resource) -> None:
        self.owner = owner
        properties = owner.body.get("properties")
        self.properties: dict[str, Any] | None = dict(properties) if isinstance(properties, Mapping) else None
        key = _key(self.properties, "siteConfig") if self.properties is not None else None
        self.config_key = key or "siteConfig"
        base = self.properties.get(key, MISSING) if self.properties is not None and key else MISSING
        if base is MISSING and self.properties is not None and OPAQUE_KEY in self.properties:
            # The site's properties could not be read as an object (inventory.member): its siteConfig is not
            # known to be absent, and a child's settings merged into an empty one would look like all of it.
            hidden = self.properties[OPAQUE_KEY]
            base = hidden if isinstance(hidden, SecretValue) else UNKNOWN
        self.config: Any = dict(base) if isinstance(base, Mapping) else base
        settings = _key(self.config, "appSettings") if isinstance(self.config, dict) else None
        if isinstance(self.config, dict) and settings is not None:
            self.config[settings] = settings_list(self.config[settings])
        self.set_by_child: set[str] = set()
        self.changed = settings is not None

    def apply(self, child: Resource, values: Any, order: bool | None, *, replace_key: str | None = None) -> None:
        """Apply a child's values: a SiteConfig object, or (``replace_key``) the whole value of one key."""
        self.changed = True
        if self.config is MISSING:
            self.config = {}
        if not isinstance(self.config, dict):
            return  # the site's configuration is unknown already: it stays so
        if replace_key is not None:
            updates = {replace_key: values}
        elif isinstance(values, Mapping) and set(values) != {"$value"}:
            updates = dict(values)
        else:
            self.config = UNKNOWN  # the child's properties are unknown or secret as a whole
            return
        maybe = may_not_exist(child)
        for name, given in updates.items():
            new = settings_list(given) if name.lower() == "appsettings" else given
            existing_key = _key(self.config, name) or name
            current = self.config.get(existing_key, MISSING)
            if _same(current, new):
                continue
            settled = order is True or current is MISSING  # a key the owner does not state is no conflict
            if maybe or existing_key.lower() in self.set_by_child or not settled:
                self.config[existing_key] = UNKNOWN
            else:
                self.config[existing_key] = new
            self.set_by_child.add(existing_key.lower())

    def unstated_settings(self, value: Any) -> None:
        """Give app settings no source stated the value ``value``."""
        if self.properties is None:
            return
        if self.config is MISSING:
            self.config = {}
        if isinstance(self.config, dict) and _key(self.config, "appSettings") is None:
            self.config["appSettings"] = value
            self.changed = True

    def resource(self) -> Resource:
        if not self.changed or self.properties is None or self.config is MISSING:
            return self.owner
        properties = {k: v for k, v in self.properties.items() if k != self.config_key}
        properties[self.config_key] = self.config
        owner = self.owner
        return owner.with_body({**owner.body, "properties": properties})


def config_owner(resource: Resource) -> tuple[str, str] | None:
    """(owner ID lower-cased, config name lower-cased) of a site or slot config child, else None."""
    if resource.type_key not in _CONFIGS:
        return None
    owner, sep, name = resource.id_key.rpartition("/config/")
    return (owner, name) if sep and name and "/" not in name else None


def normalise_webapps(
    resources: Iterable[Resource], *, order: Order, unstated_settings: Any = MISSING
) -> list[Resource]:
    """Fold every ``config/web`` and ``config/appsettings`` child into its site or slot (see the module).

    ``unstated_settings``: what a site whose source states no app settings at all holds. MISSING (none) for
    the Pulumi sources, where the program declares every setting; UNKNOWN for ARM, because ``az group
    export`` never writes app settings (they are read by a separate action, POST .../config/appsettings/list),
    so a template without them does not show what the site holds.
    """
    result = list(resources)
    owners = {r.id_key: _Site(r) for r in result if r.type_key in _OWNERS}
    if not owners:
        return result
    folded: set[int] = set()
    children = sorted(
        (
            (FOLDED.index(found[1]), position, found[0])
            for position, r in enumerate(result)
            if (found := config_owner(r)) is not None and found[1] in FOLDED and found[0] in owners
        ),
    )  # web before appsettings: app settings are one value, set by whichever writes them
    for rank, position, owner_key in children:
        child, site = result[position], owners[owner_key]
        values = child.body.get("properties", MISSING)
        if FOLDED[rank] == "web":
            site.apply(child, values, order(child, site.owner))
        else:
            site.apply(child, settings_list(values), order(child, site.owner), replace_key="appSettings")
        folded.add(position)
    if unstated_settings is not MISSING:
        for site in owners.values():
            site.unstated_settings(unstated_settings)
    return [owners[r.id_key].resource() if r.id_key in owners else r for i, r in enumerate(result) if i not in folded]


def webapp_model(resources: Iterable[Resource]) -> dict[str, dict[str, Any]]:
    """What the checks see of every site and slot, by lower-cased ID: for comparing sources."""
    model: dict[str, dict[str, Any]] = {}
    for resource in resources:
        if resource.type_key in _OWNERS:
            properties = resource.folded.get("properties")
            model[resource.id_key] = {
                "type": resource.type_key,
                "properties": properties if not isinstance(properties, Mapping) else dict(properties),
            }
    return model


__all__ = [
    "CONFIG_TYPES",
    "SITES",
    "SLOTS",
    "WEB_APP_TYPES",
    "child_applied_last",
    "normalise_webapps",
    "order_unknown",
    "settings_list",
    "webapp_model",
]
