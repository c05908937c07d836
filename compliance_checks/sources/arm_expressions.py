"""A small evaluator for ARM template expressions.

A JSON string that starts with ``[`` and ends with ``]`` is an expression
(``[[`` escapes a literal ``[``). Expressions are tokenised, parsed by
recursive descent into a tiny syntax tree and evaluated against an
:class:`Environment` that supplies parameters, variables, copy indexes, the
subscription and the resource group.

Supported: ``parameters``, ``variables``, ``concat``, ``format``, ``toLower``,
``toUpper``, ``replace``, ``substring``, ``trim``, ``split``, ``join``,
``startsWith``, ``endsWith``, ``resourceGroup()``, ``subscription()``,
``resourceId``, ``subscriptionResourceId``, ``tenantResourceId``,
``extensionResourceId``, ``if``, ``equals``, ``not``, ``and``, ``or``,
``empty``, ``string``, ``int``, ``bool``, ``json``, ``array``, ``createArray``,
``createObject``, ``length``, ``union``, ``contains``, ``coalesce``, ``first``,
``last``, ``range``, ``min``, ``max``, ``add``, ``sub``, ``mul``, ``div``,
``mod``, ``greater``, ``less``, ``greaterOrEquals``, ``lessOrEquals``,
``copyIndex``, ``true``, ``false``, ``null``, plus ``.property`` and
``[index]`` on any result.

Everything else is :data:`~compliance_checks.inventory.UNKNOWN`, never an
error and never a guess: ``reference``, ``list*``, ``uniqueString``,
``guid``, ``newGuid``, ``utcNow``, ``deployment``, ``environment``,
user-defined (namespaced) functions, unknown functions, and runtime failures
(a missing property, an index out of range, a wrong argument type) that would
fail the deployment. A property name that is an expression is evaluated; an
object with a property name that is unknown, secret or no text, two names for
one property after evaluation, or a property ``copy`` loop written in another
case (``Copy``, ``Name``) is UNKNOWN as a whole. A ``securestring`` parameter is
:data:`~compliance_checks.inventory.SECRET`; string functions of a secret
stay secret, predicates on a secret are UNKNOWN. Only syntax errors raise
(:class:`ExpressionError`, an empty ``[]`` included): ARM rejects such a template too.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from compliance_checks.inventory import SECRET, UNKNOWN, SecretValue

ZERO_SUBSCRIPTION: Final = "00000000-0000-0000-0000-000000000000"
MAX_EXPRESSION_LENGTH: Final = 100_000
MAX_NESTING: Final = 64
# ARM's own limit for one copy loop (Microsoft Learn, "Resource iteration in ARM templates", Copy limits:
# https://learn.microsoft.com/azure/azure-resource-manager/templates/copy-resources#copy-limits).
MAX_COPY: Final = 800
# Bounds on what evaluation may build, so that a small template cannot amplify into minutes and gigabytes
# (createArray/concat/union of large arrays, replace() repeating a string, nested copy loops). A template
# that would exceed one is refused (LimitError, which the loader reports with the place), never cut short.
MAX_STRING: Final = 1_000_000
"""Characters of one expression result, all its strings (and object keys) together."""
MAX_ITEMS: Final = 100_000
"""Array elements and object members of one expression result, nested ones included, each alias counted."""
MAX_RESULT_DEPTH: Final = 128
"""Nesting of one expression result (the same bound as for the JSON inputs)."""
MAX_TEMPLATE_ITEMS: Final = 2_000_000
"""Elements built or handed over by all expressions and values of one template together."""
MAX_TEMPLATE_STRING: Final = 50_000_000
"""Characters of all expression results of one template together."""
MAX_COPY_TOTAL: Final = 20_000
"""Iterations of all copy loops of one template together: resource, property and variable loops, nested ones
once per iteration of the loop around them."""


class TemplateError(Exception):
    """A template that ARM would reject. ``path`` is where, relative to the evaluated value.

    Deliberately not a ValueError: runtime failures inside expressions become
    UNKNOWN, but a syntax error found while resolving a variable must surface.
    """

    def __init__(self, problem: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path = path


class ExpressionError(TemplateError):
    """An expression that is not valid syntax."""


class LimitError(TemplateError):
    """Evaluating the template would go past one of the documented bounds (MAX_ITEMS, MAX_COPY_TOTAL, ...)."""


@dataclass
class Budget:
    """What one template's evaluation has used so far; every Environment derived from one shares it."""

    items: int = 0
    characters: int = 0
    copies: int = 0

    def charge(self, items: int, characters: int = 0) -> None:
        self.items += items
        self.characters += characters
        if self.items > MAX_TEMPLATE_ITEMS:
            raise LimitError(f"evaluating the template builds more than {MAX_TEMPLATE_ITEMS} values")
        if self.characters > MAX_TEMPLATE_STRING:
            raise LimitError(f"evaluating the template builds more than {MAX_TEMPLATE_STRING} characters")

    def copy(self, count: int) -> None:
        self.copies += count
        if self.copies > MAX_COPY_TOTAL:
            raise LimitError(f"copy loops together repeat more than {MAX_COPY_TOTAL} times")


class _EvalError(Exception):
    """A runtime failure inside an expression: the result is UNKNOWN."""


# --- syntax ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | bool | None


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # lower case
    args: tuple[Node, ...]
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    target: Node
    name: str


@dataclass(frozen=True, slots=True)
class Index:
    target: Node
    index: Node


Node = Literal | Call | Member | Index


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "ident", "string", "int", "(", ")", ",", ".", "[", "]", "end"
    text: str
    position: int  # 1-based column inside the expression
    value: str | int | None = None


def _quote(text: str) -> str:
    shown = json.dumps(text[:40], ensure_ascii=True)
    return shown if len(text) <= 40 else shown[:-1] + '..."'


_TOKEN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|(?P<punct>[(),.\[\]])"
    r"|(?P<string>'(?:[^']|'')*+')"  # possessive: an unterminated string is an error, not a shorter one
    r"|(?P<int>-?[0-9]+)"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
)


def tokenize(text: str) -> list[Token]:
    """Split an expression (without its outer brackets) into tokens.

    One regular expression over the text (a template of 100,000 resources holds hundreds of thousands of
    expressions; a character-by-character loop was a large part of reading it). ``-`` starts a number only
    when a digit follows; a quote inside a string is written twice.
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    match = _TOKEN.match
    while i < n:
        found = match(text, i)
        if found is None:
            if text[i] == "'":
                raise ExpressionError(f"unterminated string starting at column {i + 1}")
            raise ExpressionError(f"unexpected character {_quote(text[i])} at column {i + 1}")
        kind, literal, end = found.lastgroup, found.group(), found.end()
        if kind == "punct":
            tokens.append(Token(literal, literal, i + 1))
        elif kind == "string":
            tokens.append(Token("string", literal, i + 1, literal[1:-1].replace("''", "'")))
        elif kind == "int":
            if len(literal) > 19:
                raise ExpressionError(f"number {_quote(literal)} at column {i + 1} is too long")
            tokens.append(Token("int", literal, i + 1, int(literal)))
        elif kind == "ident":
            tokens.append(Token("ident", literal, i + 1, literal))
        i = end
    tokens.append(Token("end", "", n + 1))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.at + offset, len(self.tokens) - 1)]

    def take(self, kind: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            expected = _describe_kind(kind)
            raise ExpressionError(f"expected {expected} at column {token.position}, found {_describe(token)}")
        self.at += 1
        return token

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(f"expression nested deeper than {MAX_NESTING} levels")
        node = self.primary()
        while True:
            token = self.peek()
            if token.kind == ".":
                self.at += 1
                node = Member(node, self.take("ident").text)
            elif token.kind == "[":
                self.at += 1
                index = self.expression()
                self.take("]")
                node = Index(node, index)
            else:
                break
        self.depth -= 1
        return node

    def primary(self) -> Node:
        token = self.peek()
        if token.kind in ("string", "int"):
            self.at += 1
            return Literal(token.value)
        if token.kind != "ident":
            raise ExpressionError(f"unexpected {_describe(token)} at column {token.position}")
        self.at += 1
        name, namespace = token.text, None
        if self.peek().kind == "." and self.peek(1).kind == "ident" and self.peek(2).kind == "(":
            self.at += 1
            namespace, name = name, self.take("ident").text
        if self.peek().kind == "(":
            return Call(name.lower(), self.arguments(), namespace)
        keyword = name.lower()
        if keyword in ("true", "false", "null"):
            return Literal(None if keyword == "null" else keyword == "true")
        raise ExpressionError(f"expected '(' after {_quote(name)} at column {self.peek().position}")

    def arguments(self) -> tuple[Node, ...]:
        self.take("(")
        args: list[Node] = []
        if self.peek().kind == ")":
            self.at += 1
            return ()
        while True:
            args.append(self.expression())
            token = self.peek()
            if token.kind == ",":
                self.at += 1
            elif token.kind == ")":
                self.at += 1
                return tuple(args)
            else:
                raise ExpressionError(f"expected ',' or ')' at column {token.position}, found {_describe(token)}")


def _describe_kind(kind: str) -> str:
    return {"ident": "a name", "string": "a string", "int": "a number", "end": "the end"}.get(kind, f"'{kind}'")


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "end of the expression"
    return _quote(token.text) if token.kind in ("ident", "string", "int") else f"'{token.kind}'"


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> Node:
    """Parse an expression without its outer brackets, e.g. ``concat('a', parameters('b'))``."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    parser = _Parser(tokenize(text))
    node = parser.expression()
    token = parser.peek()
    if token.kind != "end":
        raise ExpressionError(f"unexpected {_describe(token)} at column {token.position} after the expression")
    return node


def is_expression(text: str) -> bool:
    return len(text) >= 2 and text[0] == "[" and text[-1] == "]" and text[1] != "["


# --- environment -------------------------------------------------------------------


def _unknown_lookup(name: str) -> Any:
    return UNKNOWN


@dataclass(frozen=True)
class Environment:
    """What an expression can see. ``loops`` maps copy-loop names (lower case; "" for the resource loop) to indexes."""

    subscription_id: str = ZERO_SUBSCRIPTION
    resource_group: str = "exported"
    location: str | None = None
    parameter: Callable[[str], Any] = _unknown_lookup
    variable: Callable[[str], Any] = _unknown_lookup
    loops: Mapping[str, Any] = field(default_factory=dict)
    budget: Budget = field(default_factory=Budget, compare=False, repr=False)

    def with_loop(self, name: str, index: Any) -> Environment:
        return replace(self, loops={**self.loops, name.lower(): index})

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"


def build_resource_id(subscription_id: str, resource_group: str, resource_type: str, names: Sequence[str]) -> str:
    """The ARM ID ``resourceId()`` and the inventory both use. ValueError if the names do not fit the type."""
    namespace, *types = resource_type.split("/")
    segments = "/".join(names).split("/")
    if not namespace or not types or len(types) != len(segments) or not all(segments) or not all(types):
        raise ValueError(f"{len(segments)} name segment(s) do not fit type {resource_type}")
    if resource_type.lower() == "microsoft.resources/resourcegroups":
        return f"/subscriptions/{subscription_id}/resourceGroups/{segments[0]}"
    path = "/".join(f"{kind}/{name}" for kind, name in zip(types, segments, strict=True))
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/{namespace}/{path}"


def _provider_path(resource_type: str, names: Sequence[str]) -> str:
    namespace, *types = resource_type.split("/")
    segments = "/".join(names).split("/")
    if not namespace or not types or len(types) != len(segments) or not all(segments) or not all(types):
        raise _EvalError("name segments do not fit the type")
    return f"/providers/{namespace}/" + "/".join(f"{k}/{n}" for k, n in zip(types, segments, strict=True))


# --- evaluation ---------------------------------------------------------------------


def _opaque(values: Iterable[Any]) -> Any:
    """UNKNOWN if any value is UNKNOWN, else SECRET if any is SECRET, else None."""
    found = None
    for value in values:
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(value, SecretValue):
            found = SECRET
    return found


def _deep_opaque(value: Any) -> Any:
    """Like _opaque, but looks inside arrays and objects (iteratively)."""
    found = None
    stack = [value]
    while stack:
        item = stack.pop()
        if item is UNKNOWN:
            return UNKNOWN
        if isinstance(item, SecretValue):
            found = SECRET
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            if {k.lower() for k in a} == {k.lower() for k in b}:
                raise _EvalError("keys differ only in case")
            return False
        return all(_equal(a[k], b[k]) for k in a)
    return a is None and b is None


def _arity(args: Sequence[Any], low: int, high: int | None = None) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        raise _EvalError("wrong number of arguments")


def _text(value: Any) -> str:
    """A value as format()/concat() write it (.NET conventions), only where that is certain."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if _is_int(value):
        return str(value)
    raise _EvalError("cannot write this value as text")


def _within(items: int, characters: int = 0) -> None:
    """Refuse a result before it is built when its size is already known to be too large."""
    if items > MAX_ITEMS:
        raise LimitError(f"an expression result would have more than {MAX_ITEMS} elements")
    if characters > MAX_STRING:
        raise LimitError(f"an expression result would have more than {MAX_STRING} characters")


def measure(value: Any) -> tuple[int, int]:
    """Elements and characters of a value, shared parts counted each time they appear; LimitError past the bounds.

    Stops as soon as a bound is passed, so its cost is at most MAX_ITEMS steps whatever the value.
    """
    items = characters = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            characters += len(item)
        elif isinstance(item, (Mapping, list)):
            if depth >= MAX_RESULT_DEPTH:
                raise LimitError(f"an expression result is nested deeper than {MAX_RESULT_DEPTH} levels")
            items += len(item)
            _within(items, characters)
            if isinstance(item, Mapping):
                characters += sum(len(key) for key in item if isinstance(key, str))
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
        _within(items, characters)
    return items, characters


def _checked(value: Any, env: Environment) -> Any:
    """A function's result, measured and charged to the template's budget (one more for the call itself)."""
    items, characters = measure(value)
    env.budget.charge(items + 1, characters)
    return value


Function = Callable[[Environment, list[Any]], Any]
LazyFunction = Callable[[Environment, tuple[Node, ...]], Any]


def _parameters(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    return env.parameter(args[0]) if isinstance(args[0], str) else UNKNOWN


def _variables(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    return env.variable(args[0]) if isinstance(args[0], str) else UNKNOWN


def _concat(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1)
    opaque = _opaque(args)
    if opaque is not None:
        return opaque
    if all(isinstance(a, list) for a in args):
        _within(sum(len(a) for a in args))
        return [item for a in args for item in a]
    if any(isinstance(a, list) for a in args):
        raise _EvalError("concat mixes arrays and strings")
    texts = [_text(a) for a in args]
    _within(0, sum(len(t) for t in texts))
    return "".join(texts)


_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def _format(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1)
    opaque = _opaque(args)
    if opaque is not None:
        return opaque
    template = args[0]
    if not isinstance(template, str):
        raise _EvalError("format string must be a string")
    values = args[1:]
    out: list[str] = []
    position = written = 0
    for match in _FORMAT_ITEM.finditer(template):
        written += match.start() - position
        out.append(template[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token == "{{":
            out.append("{")
        elif token == "}}":
            out.append("}")
        elif match.group(1) is not None and match.group(1).strip().isdigit() and match.group(1).strip().isascii():
            index = int(match.group(1))
            if index >= len(values):
                raise _EvalError("format index out of range")
            value = values[index]
            out.append("" if value is None else _text(value))
            written += len(out[-1])
            _within(0, written)  # format('{0}{0}{0}...', big) repeats a value: refuse before joining
        else:  # alignment or format specifiers, or a stray brace
            raise _EvalError("unsupported format item")
    out.append(template[position:])
    return "".join(out)


def _string_function(method: Callable[[str], str]) -> Function:
    def apply(env: Environment, args: list[Any]) -> Any:
        _arity(args, 1, 1)
        opaque = _opaque(args)
        if opaque is not None:
            return opaque
        if not isinstance(args[0], str):
            raise _EvalError("expected a string")
        return method(args[0])

    return apply


def _replace(env: Environment, args: list[Any]) -> Any:
    _arity(args, 3, 3)
    opaque = _opaque(args)
    if opaque is not None:
        return opaque
    text, old, new = args
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)) or not old:
        raise _EvalError("replace needs three strings and a non-empty old value")
    _within(0, len(text) + text.count(old) * (len(new) - len(old)))  # the result's length, before building it
    return text.replace(old, new)


def _substring(env: Environment, args: list[Any]) -> Any:
    _arity(args, 2, 3)
    if _opaque(args[1:]) is not None:
        return UNKNOWN
    if not all(_is_int(a) for a in args[1:]):
        raise _EvalError("substring positions must be integers")
    opaque = _opaque(args[:1])
    if opaque is not None:
        return opaque
    text = args[0]
    if not isinstance(text, str):
        raise _EvalError("expected a string")
    start = args[1]
    length = args[2] if len(args) == 3 else len(text) - start
    if start < 0 or length < 0 or start + length > len(text):
        raise _EvalError("substring out of range")
    return text[start : start + length]


def _split(env: Environment, args: list[Any]) -> Any:
    _arity(args, 2, 2)
    if _opaque(args[1:]) is not None:
        return UNKNOWN
    opaque = _opaque(args[:1])
    if opaque is not None:
        return opaque
    text, delimiters = args
    if isinstance(delimiters, str):
        delimiters = [delimiters]
    if not isinstance(text, str) or not isinstance(delimiters, list) or not delimiters:
        raise _EvalError("split needs a string and a delimiter")
    if not all(isinstance(d, str) and d for d in delimiters):
        raise _EvalError("delimiters must be non-empty strings")
    return re.split("|".join(re.escape(d) for d in delimiters), text)


def _join(env: Environment, args: list[Any]) -> Any:
    _arity(args, 2, 2)
    items, delimiter = args
    if items is UNKNOWN or delimiter is UNKNOWN:
        return UNKNOWN
    if not isinstance(items, list) or not isinstance(delimiter, str):
        raise _EvalError("join needs an array and a string")
    opaque = _opaque(items)
    if opaque is not None:
        return opaque
    texts = [_text(item) for item in items]
    _within(0, sum(len(t) for t in texts) + len(delimiter) * max(len(texts) - 1, 0))
    return delimiter.join(texts)


def _affix(check: Callable[[str, str], bool]) -> Function:
    def apply(env: Environment, args: list[Any]) -> Any:
        _arity(args, 2, 2)
        if _opaque(args) is not None:
            return UNKNOWN
        if not all(isinstance(a, str) for a in args):
            raise _EvalError("expected strings")
        return check(args[0].lower(), args[1].lower())  # ARM compares these case-insensitively

    return apply


def _resource_group(env: Environment, args: list[Any]) -> Any:
    _arity(args, 0, 0)
    return {
        "id": env.resource_group_id,
        "name": env.resource_group,
        "type": "Microsoft.Resources/resourceGroups",
        "location": env.location if env.location is not None else UNKNOWN,
        "tags": UNKNOWN,
        "managedBy": UNKNOWN,
        "properties": {"provisioningState": "Succeeded"},
    }


def _subscription(env: Environment, args: list[Any]) -> Any:
    _arity(args, 0, 0)
    return {
        "id": f"/subscriptions/{env.subscription_id}",
        "subscriptionId": env.subscription_id,
        "tenantId": UNKNOWN,
        "displayName": UNKNOWN,
    }


def _type_position(args: list[Any], most: int) -> int:
    if _opaque(args) is not None:
        raise _EvalError("unknown argument")  # turned into UNKNOWN by the caller
    if not all(isinstance(a, str) for a in args):
        raise _EvalError("resource ID parts must be strings")
    for position, arg in enumerate(args):
        if "/" in arg:
            if position > most:
                break
            return position
    raise _EvalError("no resource type among the arguments")


def _resource_id(env: Environment, args: list[Any]) -> Any:
    _arity(args, 2)
    at = _type_position(args, 2)
    subscription = args[0] if at == 2 else env.subscription_id
    group = args[at - 1] if at >= 1 else env.resource_group
    try:
        return build_resource_id(subscription, group, args[at], args[at + 1 :])
    except ValueError:
        raise _EvalError("names do not fit the type") from None


def _subscription_resource_id(env: Environment, args: list[Any]) -> Any:
    _arity(args, 2)
    at = _type_position(args, 1)
    subscription = args[0] if at == 1 else env.subscription_id
    return f"/subscriptions/{subscription}" + _provider_path(args[at], args[at + 1 :])


def _tenant_resource_id(env: Environment, args: list[Any]) -> Any:
    _arity(args, 2)
    at = _type_position(args, 0)
    return _provider_path(args[at], args[at + 1 :])


def _extension_resource_id(env: Environment, args: list[Any]) -> Any:
    _arity(args, 3)
    _type_position(args[1:], 0)
    scope = args[0]
    if not isinstance(scope, str) or not scope.startswith("/"):
        raise _EvalError("the scope must be a resource ID")
    return scope.rstrip("/") + _provider_path(args[1], args[2:])


def _if(env: Environment, nodes: tuple[Node, ...]) -> Any:
    _arity(nodes, 3, 3)
    condition = evaluate(nodes[0], env)
    if condition is True:
        return evaluate(nodes[1], env)
    if condition is False:
        return evaluate(nodes[2], env)
    return UNKNOWN


def _logic(is_and: bool) -> Function:
    def apply(env: Environment, args: list[Any]) -> Any:
        _arity(args, 2)
        if any(not isinstance(a, bool) and _opaque([a]) is None for a in args):
            raise _EvalError("expected booleans")
        decisive = not is_and  # False decides `and`, True decides `or`
        if any(a is decisive for a in args):
            return decisive
        if all(isinstance(a, bool) for a in args):
            return not decisive
        return UNKNOWN

    return apply


def _not(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    if isinstance(args[0], bool):
        return not args[0]
    if _opaque(args) is not None:
        return UNKNOWN
    raise _EvalError("expected a boolean")


def _equals(env: Environment, args: list[Any]) -> Any:
    _arity(args, 2, 2)
    if _deep_opaque(args) is not None:
        return UNKNOWN
    return _equal(args[0], args[1])


def _empty(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    value = args[0]
    if _opaque([value]) is not None:
        return UNKNOWN
    if value is None:
        return True
    if isinstance(value, (str, list, Mapping)):
        return len(value) == 0
    raise _EvalError("empty() needs a string, array or object")


def _string(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    value = args[0]
    opaque = _deep_opaque(value)
    if opaque is not None:
        return opaque
    if isinstance(value, (list, Mapping)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _text(value)


_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


def _int(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    value = args[0]
    if _opaque([value]) is not None:
        return UNKNOWN
    if _is_int(value):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise _EvalError("not an integer")


def _bool(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    value = args[0]
    if _opaque([value]) is not None:
        return UNKNOWN
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if _is_int(value) and value in (0, 1):
        return value == 1
    raise _EvalError("not a boolean")


def _json(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    opaque = _opaque(args)
    if opaque is not None:
        return opaque
    if not isinstance(args[0], str) or len(args[0]) > MAX_STRING:
        raise _EvalError("json() needs a string")

    def reject(name: str) -> Any:
        raise _EvalError(name)

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # As strict as the file readers (sources/loading.py): a repeated key is refused, not "last one wins".
        built = dict(pairs)
        if len(built) != len(pairs):
            raise _EvalError("a JSON object names a key more than once")
        return built

    def real(text: str) -> float:
        number = float(text)
        if number in (float("inf"), float("-inf")):
            raise _EvalError(f"number {text[:40]} overflows")
        return number

    try:
        value = json.loads(args[0], parse_constant=reject, object_pairs_hook=unique, parse_float=real)
    except (ValueError, RecursionError):
        raise _EvalError("not JSON") from None
    if _depth(value) > MAX_NESTING:
        raise _EvalError("too deep")
    return value


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _array(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    value = args[0]
    if value is UNKNOWN:
        return UNKNOWN
    return value if isinstance(value, list) else [value]


def _create_array(env: Environment, args: list[Any]) -> Any:
    return list(args)


def _create_object(env: Environment, args: list[Any]) -> Any:
    if len(args) % 2:
        raise _EvalError("createObject needs name/value pairs")
    result: dict[str, Any] = {}
    for key, value in zip(args[0::2], args[1::2], strict=True):
        if _opaque([key]) is not None:
            return UNKNOWN
        if not isinstance(key, str):
            raise _EvalError("property names must be strings")
        result[key] = value
    return result


def _length(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1, 1)
    value = args[0]
    if _opaque([value]) is not None:
        return UNKNOWN
    if isinstance(value, (str, list, Mapping)):
        return len(value)
    raise _EvalError("length() needs a string, array or object")


def _deep_union(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = _deep_union(current, value)
        else:
            merged[key] = value
    return merged


def _union(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1)
    if _opaque(args) is not None:
        return UNKNOWN
    if all(isinstance(a, Mapping) for a in args):
        result: dict[str, Any] = {}
        for arg in args:
            result = _deep_union(result, arg)
        return result
    if all(isinstance(a, list) for a in args):
        items: list[Any] = []
        for arg in args:
            for item in arg:
                env.budget.charge(len(items))  # the comparisons below: quadratic in the arrays' lengths
                if _deep_opaque(item) is not None:
                    return UNKNOWN
                if not any(_equal(item, seen) for seen in items):
                    items.append(item)
        return items
    raise _EvalError("union() needs all arrays or all objects")


def _contains(env: Environment, args: list[Any]) -> Any:
    _arity(args, 2, 2)
    container, item = args
    if _opaque(args) is not None or _deep_opaque(item) is not None:
        return UNKNOWN
    if isinstance(container, str):
        if not isinstance(item, str):
            item = _text(item)
        return item in container
    if isinstance(container, list):
        unsure = False
        for element in container:
            if _deep_opaque(element) is not None:
                unsure = True
            elif _equal(element, item):
                return True
        return UNKNOWN if unsure else False
    if isinstance(container, Mapping):
        if not isinstance(item, str):
            raise _EvalError("an object contains names only")
        return any(key.lower() == item.lower() for key in container)
    raise _EvalError("contains() needs a string, array or object")


def _coalesce(env: Environment, args: list[Any]) -> Any:
    _arity(args, 1)
    for arg in args:
        if arg is not None:
            return arg
    return None


def _end(last: bool) -> Function:
    def apply(env: Environment, args: list[Any]) -> Any:
        _arity(args, 1, 1)
        value = args[0]
        opaque = _opaque([value])
        if opaque is not None:
            return opaque
        if not isinstance(value, (str, list)) or not value:
            raise _EvalError("needs a non-empty string or array")
        return value[-1] if last else value[0]

    return apply


def _range(env: Environment, args: list[Any]) -> Any:
    _arity(args, 2, 2)
    if _opaque(args) is not None:
        return UNKNOWN
    start, count = args
    if not (_is_int(start) and _is_int(count)) or not 0 <= count <= MAX_ITEMS:
        raise _EvalError("range() needs integers")
    return list(range(start, start + count))


def _extreme(pick: Callable[[Iterable[int]], int]) -> Function:
    def apply(env: Environment, args: list[Any]) -> Any:
        _arity(args, 1)
        values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        if _opaque(values) is not None:
            return UNKNOWN
        if not values or not all(_is_int(v) for v in values):
            raise _EvalError("needs integers")
        return pick(values)

    return apply


def _truncated_division(a: int, b: int) -> int:
    if b == 0:
        raise _EvalError("division by zero")
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


_ARITHMETIC: Mapping[str, Callable[[int, int], int]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": _truncated_division,
    "mod": lambda a, b: a - b * _truncated_division(a, b),
}
_COMPARISON: Mapping[str, Callable[[int, int], bool]] = {
    "greater": lambda a, b: a > b,
    "less": lambda a, b: a < b,
    "greaterorequals": lambda a, b: a >= b,
    "lessorequals": lambda a, b: a <= b,
}


def _binary(operation: Callable[[int, int], Any]) -> Function:
    def apply(env: Environment, args: list[Any]) -> Any:
        _arity(args, 2, 2)
        if _opaque(args) is not None:
            return UNKNOWN
        if not all(_is_int(a) for a in args):
            raise _EvalError("expected integers")
        result = operation(args[0], args[1])
        if _is_int(result) and abs(result) >= 2**63:
            raise _EvalError("integer overflow")
        return result

    return apply


def _copy_index(env: Environment, args: list[Any]) -> Any:
    _arity(args, 0, 2)
    if _opaque(args) is not None:
        return UNKNOWN
    loop, offset = "", 0
    if len(args) == 2:
        loop, offset = args
    elif len(args) == 1:
        if isinstance(args[0], str):
            loop = args[0]
        else:
            offset = args[0]
    if not isinstance(loop, str) or not _is_int(offset):
        raise _EvalError("copyIndex() takes a loop name and an integer offset")
    key = loop.lower()
    if key not in env.loops:
        raise _EvalError("not inside that copy loop")
    index = env.loops[key]
    return index + offset if _is_int(index) else UNKNOWN


def _constant(value: Any) -> Function:
    def apply(env: Environment, args: list[Any]) -> Any:
        _arity(args, 0, 0)
        return value

    return apply


FUNCTIONS: Mapping[str, Function] = {
    "parameters": _parameters,
    "variables": _variables,
    "concat": _concat,
    "format": _format,
    "tolower": _string_function(str.lower),
    "toupper": _string_function(str.upper),
    "trim": _string_function(str.strip),
    "replace": _replace,
    "substring": _substring,
    "split": _split,
    "join": _join,
    "startswith": _affix(str.startswith),
    "endswith": _affix(str.endswith),
    "resourcegroup": _resource_group,
    "subscription": _subscription,
    "resourceid": _resource_id,
    "subscriptionresourceid": _subscription_resource_id,
    "tenantresourceid": _tenant_resource_id,
    "extensionresourceid": _extension_resource_id,
    "and": _logic(True),
    "or": _logic(False),
    "not": _not,
    "equals": _equals,
    "empty": _empty,
    "string": _string,
    "int": _int,
    "bool": _bool,
    "json": _json,
    "array": _array,
    "createarray": _create_array,
    "createobject": _create_object,
    "length": _length,
    "union": _union,
    "contains": _contains,
    "coalesce": _coalesce,
    "first": _end(False),
    "last": _end(True),
    "range": _range,
    "min": _extreme(min),
    "max": _extreme(max),
    **{name: _binary(operation) for name, operation in _ARITHMETIC.items()},
    **{name: _binary(operation) for name, operation in _COMPARISON.items()},
    "copyindex": _copy_index,
    "true": _constant(True),
    "false": _constant(False),
    "null": _constant(None),
}
LAZY_FUNCTIONS: Mapping[str, LazyFunction] = {"if": _if}


def _member(target: Any, name: str) -> Any:
    if target is UNKNOWN or isinstance(target, SecretValue):
        return target
    if isinstance(target, Mapping):
        if name in target:
            return target[name]
        folded = name.lower()
        for key, value in target.items():
            if isinstance(key, str) and key.lower() == folded:
                return value
    return UNKNOWN


def _index(target: Any, index: Any) -> Any:
    if target is UNKNOWN or isinstance(target, SecretValue):
        return target
    if _opaque([index]) is not None:
        return UNKNOWN
    if isinstance(target, list) and _is_int(index) and 0 <= index < len(target):
        return target[index]
    if isinstance(target, Mapping) and isinstance(index, str):
        return _member(target, index)
    return UNKNOWN


def evaluate(node: Node, env: Environment) -> Any:
    """The value of a parsed expression; UNKNOWN for whatever cannot be known offline."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Member):
        return _member(evaluate(node.target, env), node.name)
    if isinstance(node, Index):
        return _index(evaluate(node.target, env), evaluate(node.index, env))
    if node.namespace is not None:
        return UNKNOWN  # a user-defined function
    try:
        lazy = LAZY_FUNCTIONS.get(node.name)
        if lazy is not None:
            return _checked(lazy(env, node.args), env)
        function = FUNCTIONS.get(node.name)
        if function is None:
            return UNKNOWN  # reference(), listKeys(), uniqueString(), guid(), utcNow(), ...
        return _checked(function(env, [evaluate(arg, env) for arg in node.args]), env)
    except (_EvalError, TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError):
        return UNKNOWN


def evaluate_string(text: str, env: Environment) -> Any:
    """A template string's value: an expression's result, or the literal (``[[`` unescaped)."""
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        if text[1] == "[":
            return text[1:]
        # "[]" and "[ ]" are expressions too, and empty ones: ARM's parser refuses them (it expects a function
        # name), so the template would not deploy (ExpressionParser.ParseLanguageExpression, Azure/bicep
        # src/Arm.Expression/Parsers/ExpressionParser.cs). parse() says so.
        return evaluate(parse(text[1:-1]), env)
    return text


def _is_property_copy(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(i, Mapping) and isinstance(i.get("name"), str) and "input" in i for i in value)
    )


def copy_count(value: Any, path: tuple[str | int, ...], env: Environment | None = None) -> Any:
    """A copy loop's evaluated count: an int in 0..MAX_COPY, or UNKNOWN; TemplateError otherwise.

    With ``env`` the count is also charged to the template's MAX_COPY_TOTAL (LimitError past it).
    """
    if _opaque([value]) is not None:
        return UNKNOWN
    if not _is_int(value) or not 0 <= value <= MAX_COPY:
        raise TemplateError(f"copy count must be an integer from 0 to {MAX_COPY}, got {_quote(str(value))}", path)
    if env is not None:
        _copies(env, value, path)
    return value


def _charge(env: Environment, items: int, path: tuple[str | int, ...]) -> None:
    try:
        env.budget.charge(items)
    except LimitError as exc:
        raise LimitError(exc.problem, path) from None


def _copies(env: Environment, count: int, path: tuple[str | int, ...]) -> None:
    try:
        env.budget.copy(count)
    except LimitError as exc:
        raise LimitError(exc.problem, path) from None


def evaluate_value(value: Any, env: Environment, path: tuple[str | int, ...] = ()) -> Any:
    """Evaluate every expression in a JSON value, including property ``copy`` loops.

    Raises TemplateError (with the path of the offending string) for syntax
    errors and impossible copy counts.
    """
    if isinstance(value, str):
        try:
            return evaluate_string(value, env)
        except TemplateError as exc:
            raise type(exc)(exc.problem, path) from None
    if isinstance(value, list):
        _charge(env, len(value), path)
        return [
            item if _literal(item) else evaluate_value(item, env, (*path, index)) for index, item in enumerate(value)
        ]
    if isinstance(value, Mapping):
        _charge(env, len(value), path)
        result: dict[str, Any] = {}
        computed = False  # a property name was an expression: names may now collide
        written = 0
        for key, item in value.items():
            if len(key) == 4 and key.lower() == "copy":
                if key == "copy" and _is_property_copy(item):
                    for number, loop in enumerate(item):
                        where = (*path, "copy", number)
                        name = loop["name"]
                        counted = evaluate_value(loop.get("count"), env, (*where, "count"))
                        count = copy_count(counted, (*where, "count"), env)
                        written += 1
                        if count is UNKNOWN:
                            result[name] = UNKNOWN
                        else:
                            result[name] = [
                                evaluate_value(loop["input"], env.with_loop(name, i), (*where, "input"))
                                for i in range(count)
                            ]
                    computed = True
                    continue
                if _looks_like_property_copy(item):
                    # A property loop spelled in another case ("Copy", "Name"): whether ARM expands it is not
                    # documented, and either answer changes the object. Neither is guessed.
                    return UNKNOWN
            if key[:1] == "[":
                name = evaluate_value(key, env, (*path, key))
                if not isinstance(name, str):
                    # A property name that is unknown, secret or no text may be any property ("access"): what
                    # the object holds is unknown, not the rest of it with one odd key.
                    return UNKNOWN
                computed = True
            else:
                name = key
            written += 1
            result[name] = item if _literal(item) else evaluate_value(item, env, (*path, key))
        if computed and len({name.lower() for name in result}) != written:
            return UNKNOWN  # two names for one property (ARM's are case-insensitive): which value wins is unknown
        return result
    return value


def _looks_like_property_copy(value: Any) -> bool:
    """A property ``copy`` loop whatever the case of its member names (``Name``, ``Input``)."""
    if not isinstance(value, list) or not value:
        return False
    for loop in value:
        if not isinstance(loop, Mapping):
            return False
        names = {str(k).lower() for k in loop}
        if "name" not in names or "input" not in names:
            return False
    return True


def _literal(value: Any) -> bool:
    """A value ``evaluate_value`` returns as it is: no expression in it (most of a template's leaves).

    Checked before recursing, so the leaves of a large template cost no call and no path of their own.
    """
    if isinstance(value, str):
        return value[:1] != "["
    return value is None or isinstance(value, (bool, int, float))
