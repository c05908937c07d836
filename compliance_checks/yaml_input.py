"""Reading YAML inputs (stack config, waivers, attestations, suppressions) strictly and within bounds.

Every YAML file the project reads goes through :func:`read_yaml` (or
:func:`parse_yaml` for text already read). Bad input is an
:class:`~compliance_checks.errors.InputError` with a one-line message naming
the file and the place (``line 3, column 5`` for syntax, a key path such as
``waivers[0].expires`` for values), never a traceback:

* the file must be a regular file of at most :data:`MAX_BYTES` (checked
  before reading; see :mod:`compliance_checks.input_files`);
* at most :data:`MAX_NODES` nodes, nested at most :data:`MAX_DEPTH` deep,
  at most :data:`MAX_ALIASES` aliases (``*name``), and the document with
  every alias expanded at most :data:`MAX_NODES` nodes too: an alias bomb
  ("billion laughs") is refused while it is composed, before anything walks it;
  an alias to the node that contains it (a cycle) is refused;
* a mapping must not repeat a key (YAML says keys are unique; PyYAML keeps
  the last one silently);
* dates must exist (``2027-02-30`` is refused), numbers must be finite
  (``.inf``, ``.nan`` and overflowing floats are refused) and integers short.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from compliance_checks.errors import InputError
from compliance_checks.input_files import read_input_bytes

MAX_BYTES: Final = 1024 * 1024
"""YAML inputs are a few dozen lines; anything past 1 MiB is refused before it is read."""
MAX_DEPTH: Final = 64
"""Collections nested deeper than this are refused (no real config comes close)."""
MAX_ALIASES: Final = 100
"""Aliases (``*name``) a document may use."""
MAX_NODES: Final = 100_000
"""Nodes a document may have, counted once as written and once with every alias expanded."""
_MAX_NUMBER_LENGTH: Final = 100

_TIMESTAMP: Final = "tag:yaml.org,2002:timestamp"
_INT: Final = "tag:yaml.org,2002:int"
_FLOAT: Final = "tag:yaml.org,2002:float"
_MERGE: Final = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    """A bound or rule broken while composing: where (a mark) and why."""

    def __init__(self, mark: Any, problem: str) -> None:
        super().__init__(problem)
        self.mark, self.problem = mark, problem


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, counting nodes, depth and aliases while it composes (so a bomb stops early)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.nodes = 0
        self.aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = cast(Any, self).peek_event()  # untyped in the stubs
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(event.start_mark, f"more than {MAX_ALIASES} aliases (*name)")
            return super().compose_node(parent, index)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Refused(event.start_mark, f"more than {MAX_NODES} values")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(event.start_mark, f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _child_path(path: str, key: Node | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key.value) if isinstance(key, ScalarNode) else "?"
    text = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
    return f"{path}.{text}" if path else text


def _expanded_size(root: Node) -> int | None:
    """Nodes of the document with every alias expanded (memoised: linear in the nodes written), None on a cycle."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_NODES:
                return sizes[key]
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            return None
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_scalar(loader: _BoundedLoader, node: ScalarNode) -> str | None:
    """Why a scalar cannot be used, or None."""
    if node.tag in (_INT, _FLOAT) and len(node.value) > _MAX_NUMBER_LENGTH:
        return f"a number of {len(node.value)} characters is too long"
    try:
        if node.tag == _TIMESTAMP:
            loader.construct_yaml_timestamp(node)
        elif node.tag == _INT:
            loader.construct_yaml_int(node)
        elif node.tag == _FLOAT and not math.isfinite(loader.construct_yaml_float(node)):
            return f"{node.value!r} is not a finite number"
    except ValueError as exc:
        what = "date" if node.tag == _TIMESTAMP else "number"
        return f"{node.value!r} is not a valid {what} ({exc})"
    return None


def _check_values(source: str, loader: _BoundedLoader, root: Node) -> None:
    """Duplicate keys, impossible dates, non-finite or huge numbers: each node once (aliases are not re-walked)."""
    seen: set[int] = set()
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            problem = _check_scalar(loader, node)
            if problem is not None:
                raise InputError(source, path or _at(node.start_mark), problem)
        elif isinstance(node, SequenceNode):
            stack.extend((child, _child_path(path, index)) for index, child in enumerate(node.value))
        elif isinstance(node, MappingNode):
            keys: set[tuple[str, str]] = set()
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != _MERGE:
                    if (key.tag, key.value) in keys:
                        raise InputError(source, _child_path(path, key), "duplicate key (each key may appear once)")
                    keys.add((key.tag, key.value))
                stack.append((key, path))
                stack.append((value, _child_path(path, key)))


def parse_yaml(text: str, source: str) -> Any:
    """One YAML document from ``text``, within the bounds above; InputError(source, place, reason) otherwise."""
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters (a NUL) already here
    except yaml.reader.ReaderError as exc:
        problem = f"invalid YAML: character #x{exc.character:04x} is not allowed"
        raise InputError(source, f"character {exc.position + 1}", problem) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        size = _expanded_size(root)
        if size is None:
            raise InputError(source, _at(root.start_mark), "an alias refers to a node that contains it (a cycle)")
        if size > MAX_NODES:
            problem = f"with its aliases expanded the document has more than {MAX_NODES} values (an alias bomb?)"
            raise InputError(source, "", problem)
        _check_values(source, loader, root)
        return loader.construct_document(root)
    except _Refused as exc:
        raise InputError(source, _at(exc.mark), exc.problem) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise InputError(source, _at(mark), problem) from None
    except yaml.YAMLError as exc:
        raise InputError(source, "", f"invalid YAML ({' '.join(str(exc).split())})") from None
    except RecursionError:  # defence in depth: the depth bound should make this unreachable
        raise InputError(source, "", f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def read_yaml_text(path: Any, *, source: str | None = None, max_bytes: int = MAX_BYTES) -> str:
    """The text of a YAML file: a regular file of at most ``max_bytes``, UTF-8."""
    shown = str(path) if source is None else source
    data = read_input_bytes(path, max_bytes, source=shown)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(shown, f"byte {exc.start}", "not UTF-8 text") from None


def read_yaml(path: Any, *, source: str | None = None, max_bytes: int = MAX_BYTES) -> Any:
    """Read and parse one YAML file; ``source`` is how messages name it (default: the path as given)."""
    shown = str(path) if source is None else source
    return parse_yaml(read_yaml_text(path, source=shown, max_bytes=max_bytes), shown)


def load_yaml_list(path: Any, key: str) -> list[dict[str, Any]]:
    """The list under ``key`` of a YAML file; each item must be a mapping."""
    source = str(path)
    document = read_yaml(path)
    if document is None:
        raise InputError(source, "", f"the file is empty; expected a '{key}:' list")
    if not isinstance(document, dict) or key not in document:
        raise InputError(source, "", f"expected a mapping with a '{key}:' list at the top level")
    return mapping_items(source, document[key], key)


def mapping_items(source: str, items: Any, key: str) -> list[dict[str, Any]]:
    """The list under ``key`` (None: empty), each item a mapping, or an InputError naming the place."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError(source, key, f"expected a list, got {type(items).__name__}")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(source, f"{key}[{index}]", f"expected a mapping, got {type(item).__name__}")
    return items


def text_field(source: str, place: str, item: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = item.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(source, f"{place}.{name}", "is required and must not be empty")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise InputError(source, f"{place}.{name}", f"expected text, got {type(value).__name__}")
    return str(value).strip()


def date_field(source: str, place: str, item: dict[str, Any], name: str) -> dt.date:
    value = item.get(name)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(source, f"{place}.{name}", f"expected a date like 2027-01-31, got {value!r}")


__all__ = [
    "MAX_ALIASES",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "date_field",
    "load_yaml_list",
    "parse_yaml",
    "read_yaml",
    "read_yaml_text",
    "text_field",
]
