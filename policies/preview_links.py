"""Links between resources at a first preview, from what the engine says a value flows from.

At a first ``pulumi preview`` nothing exists yet: every ID, object ID and name
that Azure or Microsoft Graph assigns is unknown, so a subnet's NSG, a server
parameter's server or a Conditional Access policy's group cannot be matched by
value. The engine does send, for every input, the URNs of the resources its
value flows from (``propertyDependencies`` in ``AnalyzeStack``; pulumi's
analyzer.proto, ``AnalyzerResource.propertyDependencies``). This module gives
each resource a consistent placeholder identity and fills each unknown
reference with the identity of the one resource it flows from.

What that inference knows and what it does not: the engine names the resource a
value flows from, not the output read nor how it was transformed (``server.id``
and ``server.id + "/databases/x"`` have the same dependency). So a reference is
filled only where the place says what it must be (an ARM path parameter, a key
ending in ``Id``/``Ids``/``Uri``/``Audience``, a Conditional Access
``included``/``excluded`` list) and exactly one candidate resource fits it. And
a verdict that rests on an inferred link is never a PASS: the pack takes only
the FAILs of the inferred view (a break the stack would have however the
values turn out), and the "unknown until apply" findings of the view without
inference (``policies/pack.py``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compliance_checks.inventory import UNKNOWN, is_arm_id
from compliance_checks.sources.azure_native import GRAPH_TYPES
from infra.azure_types import ARM_ID_TEMPLATES, arm_type, placeholders

# Placeholder object IDs: stable per URN within and across runs, well-formed GUIDs (the checks' domains want GUIDs).
# The namespace is derived from this module's name, not written out: it is ours, not an ID of Microsoft's.
_PLACEHOLDER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:smart-portal:policies/preview_links")
# An ID-shaped ARM path parameter spans several segments ({scope}, {resourceUri}); a name follows its type segment.
_NAME_PARAM = re.compile(r"/([A-Za-z]+)/\{(\w+)\}")
# Keys whose value is a reference to another resource (an ID, a list of IDs, an audience).
_REFERENCE_KEY = re.compile(r"(Id|Ids|ID|Uri|Audience|Scope|Scopes|^id|^scope)$|^(in|ex)clude(d)?[A-Z]")
# Output keys under which a Graph object is named: its object ID, and an application's client ID.
GRAPH_IDENTIFIERS = ("objectId", "clientId")


def placeholder_object_id(urn: str) -> str:
    return str(uuid.uuid5(_PLACEHOLDER_NAMESPACE, urn))


@dataclass
class Node:
    """One resource as the engine sent it: its type, its (unwrapped) values, and what each input flows from."""

    urn: str
    token: str
    values: dict[str, Any]
    property_dependencies: Mapping[str, Sequence[str]]
    filled: dict[str, Any] = field(default_factory=dict)  # inferred values, by input path


def _short(kind: str) -> str:
    """The singular of a type's last segment, lower case: ``subnets`` -> ``subnet``, ``namedLocations`` -> ``location``."""
    last = kind.rsplit("/", 1)[-1]
    last = re.split(r"(?=[A-Z])", last)[-1] if kind.startswith("Microsoft.Graph/") else last
    last = last.lower()
    if last.endswith("sses") or last.endswith("xes"):
        return last[:-2]
    if last.endswith("ies"):
        return last[:-3] + "y"
    return last[:-1] if last.endswith("s") else last


class PreviewLinks:
    """Placeholder identities for every resource, and unknown references filled from property dependencies."""

    def __init__(self, nodes: Sequence[Node], subscription: str) -> None:
        self.nodes = {node.urn: node for node in nodes}
        self.subscription = subscription
        self._ids: dict[str, str | None] = {}
        self._resolving: set[str] = set()

    # --- identities ----------------------------------------------------------------

    def kind(self, node: Node) -> str | None:
        if node.token in GRAPH_TYPES:
            return GRAPH_TYPES[node.token][0]
        if node.token in ARM_ID_TEMPLATES:
            return arm_type(node.token)
        return None

    def identity(self, urn: str) -> str | None:
        """The resource's ARM ID or Graph object ID: known, built from (inferred) path parameters, or a placeholder."""
        if urn in self._ids:
            return self._ids[urn]
        node = self.nodes.get(urn)
        if node is None or urn in self._resolving:
            return None  # a provider, the stack, or a dependency cycle: nothing to link to
        self._resolving.add(urn)
        try:
            found = self._identity(node)
        finally:
            self._resolving.discard(urn)
        self._ids[urn] = found
        return found

    def _identity(self, node: Node) -> str | None:
        if node.token in GRAPH_TYPES:
            object_id = node.values.get("objectId")
            if isinstance(object_id, str) and object_id:
                return object_id
            # Named locations and CA policies are named by ``id`` after apply; at a first preview by a placeholder.
            known = node.values.get("id")
            if isinstance(known, str) and known and node.token.endswith(("NamedLocation", "ConditionalAccessPolicy")):
                return known
            return placeholder_object_id(node.urn)
        if node.token not in ARM_ID_TEMPLATES:
            return None
        known = node.values.get("id")
        if is_arm_id(known):
            return str(known)
        params: dict[str, str] = {"subscriptionId": self.subscription}
        segment_of = {param: segment for segment, param in _NAME_PARAM.findall(ARM_ID_TEMPLATES[node.token])}
        for param in placeholders(node.token):
            if param == "subscriptionId":
                continue
            value = node.values.get(param)
            if value is UNKNOWN:
                value = self._infer(node, param, segment_of.get(param))
                if value is not None:
                    node.filled[param] = value
            if not isinstance(value, str) or not value:
                return None
            params[param] = value
        return ARM_ID_TEMPLATES[node.token].format(**params)

    def _candidates(self, node: Node, key: str) -> list[tuple[Node, str]]:
        found = []
        for urn in node.property_dependencies.get(key, ()):
            dependency = self.nodes.get(urn)
            if dependency is None or dependency is node:
                continue
            identity = self.identity(urn)
            if identity is not None:
                found.append((dependency, identity))
        return found

    def _infer(self, node: Node, param: str, segment: str | None) -> str | None:
        """A path parameter from the one resource it flows from: its ID, or the name it holds under ``segment``."""
        values: set[str] = set()
        for _, identity in self._candidates(node, param):
            if not identity.startswith("/"):
                values.add(identity)  # a Graph object: the parameter is its object ID (an Entra administrator)
                continue
            if segment is None:
                values.add(identity)
                continue
            parts = identity.strip("/").split("/")
            for index in range(len(parts) - 1):
                if parts[index].lower() == segment.lower():
                    values.add(parts[index + 1])
        return values.pop() if len(values) == 1 else None

    # --- references in the body ------------------------------------------------------

    def fill(self, node: Node) -> dict[str, Any]:
        """The node's values with inferred path parameters, identifiers and references; unknown where none fits."""
        self.identity(node.urn)
        values = dict(node.values)
        values.update({k: v for k, v in node.filled.items() if "." not in k})
        if node.token in GRAPH_TYPES:
            placeholder = self.identity(node.urn)
            for key in GRAPH_IDENTIFIERS:
                if key == "clientId" and not node.token.endswith("Application"):
                    continue
                if values.get(key) in (None, UNKNOWN) and placeholder is not None:
                    values[key] = placeholder
        for key, value in list(values.items()):
            if key in placeholders_of(node.token):
                continue
            values[key] = self._fill(node, key, value, (key,))
        return values

    def _fill(self, node: Node, key: str, value: Any, path: tuple[str, ...]) -> Any:
        if value is UNKNOWN:
            return self._reference(node, key, path)
        if isinstance(value, Mapping):
            return {k: self._fill(node, key, v, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [self._fill(node, key, v, path) for v in value]
        return value

    def _reference(self, node: Node, key: str, path: tuple[str, ...]) -> Any:
        if not _REFERENCE_KEY.search(path[-1]):
            return UNKNOWN  # not a place that names another resource (a host name, a setting's value...)
        candidates = self._candidates(node, key)
        where = " ".join(path).lower()
        fitting = [(dep, identity) for dep, identity in candidates if (k := self.kind(dep)) and _short(k) in where]
        chosen = fitting if fitting else candidates
        if len({identity for _, identity in chosen}) != 1:
            return UNKNOWN  # none, or several resources it might name: not inferred
        return chosen[0][1]


def placeholders_of(token: str) -> set[str]:
    return set(placeholders(token)) if token in ARM_ID_TEMPLATES else set()


def unknown_paths(value: Any, path: str = "") -> Iterator[str]:
    """Where ``value`` still holds an unknown (for messages and tests)."""
    if value is UNKNOWN:
        yield path or "(value)"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from unknown_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unknown_paths(item, f"{path}[{index}]")
