"""Read one large JSON document element by element: the array at a given path is streamed, the rest kept.

``pulumi stack export`` of a large stack is hundreds of MiB of indented JSON. Decoding it whole keeps the
text and every parsed resource alive at once (a 100k-resource export: about 270 MiB of text and well over
a GiB of Python objects); a source only ever needs one resource at a time. :class:`JsonStream` reads the
file in chunks, walks the objects on the way to the array (``deployment`` -> ``resources``) and hands out
its elements one by one, each decoded by the standard library's C scanner, so only the element being
converted is held as raw JSON.

It is as strict as :func:`~compliance_checks.sources.loading.read_json`: the same refusals (``NaN``,
``Infinity``, numbers that overflow, repeated keys, nesting deeper than MAX_DEPTH, more values than
MAX_VALUES, text that is not UTF-8, trailing data) with the same one-line InputError naming the file and the
place (a JSON pointer, or the line and column of a syntax error in the whole file).
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

from compliance_checks.errors import InputError
from compliance_checks.input_files import _not_regular, _os_problem
from compliance_checks.sources.loading import (
    MAX_DEPTH,
    MAX_VALUES,
    STREAM_MAX_VALUES,
    _check_document,
    _Decoder,
    join,
    show,
)

CHUNK: Final = 1 << 20
"""Characters read at a time; an element longer than what is buffered is read on with doubling chunks."""

_SPACE: Final = re.compile(r"[ \t\n\r]*")
_LOOKAHEAD: Final = 3  # "e+5": what may follow a number's digits and extend it
_MARGIN: Final = 64  # characters before the buffer's end within which a syntax error may be the cut, not the text


class JsonStream:
    """The document in ``path``; the array at ``at`` is streamed by :meth:`items`, everything else is kept.

    After :meth:`items` is exhausted, :attr:`skeleton` is the whole document with that array replaced by ``[]``
    (or holding whatever other value sits at ``at``: the caller's own shape checks report it), and
    :attr:`streamed` says whether an array was found there.
    """

    def __init__(self, path: Path, at: tuple[str, ...], *, max_bytes: int, expected: str, chunk: int = CHUNK) -> None:
        self.source = str(path)
        self.at = at
        self.max_bytes = max_bytes
        self.expected = expected
        self.chunk = chunk
        self.skeleton: Any = None
        self.streamed = False
        self._decoder = _Decoder()
        self._scanner = json.JSONDecoder(
            parse_constant=self._decoder.constant,
            parse_int=self._decoder.integer,
            parse_float=self._decoder.real,
            object_pairs_hook=self._decoder.object,
        )
        self._text = ""  # the buffered characters not yet consumed
        self._pos = 0  # the next character to look at in _text
        self._dropped_lines = 0  # line breaks in characters already dropped from _text
        self._dropped_column = 0  # characters since the last dropped line break (the column of _text[0])
        self._eof = False
        self._read_bytes = 0
        self._values = 0
        self._handle: IO[bytes] | None = None
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")("strict")

    # -- reading ---------------------------------------------------------------------------------------

    def _open(self) -> IO[bytes]:
        try:
            info = os.stat(self.source)
            kind = _not_regular(info.st_mode)
            if kind is not None:
                raise InputError(self.source, "", f"is {kind}, not a regular file")
            if info.st_size > self.max_bytes:
                raise InputError(
                    self.source, "", f"file is {info.st_size} bytes, over the limit of {self.max_bytes} bytes"
                )
            descriptor = os.open(self.source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
            handle = os.fdopen(descriptor, "rb")
            kind = _not_regular(os.fstat(handle.fileno()).st_mode)
            if kind is not None:
                handle.close()
                raise InputError(self.source, "", f"is {kind}, not a regular file")
        except OSError as exc:
            raise InputError(self.source, "", _os_problem(exc)) from None
        except ValueError:  # e.g. a NUL byte in the name
            raise InputError(self.source, "", "not a usable file name") from None
        return handle

    def _fill(self, at_least: int = 0) -> bool:
        """Read ``at_least`` more bytes into the buffer (dropping what was consumed); False at the end of the file."""
        if self._eof:
            return False
        assert self._handle is not None
        try:
            data = self._handle.read(at_least or self.chunk)
        except OSError as exc:
            raise InputError(self.source, "", _os_problem(exc)) from None
        start = self._read_bytes
        self._read_bytes += len(data)
        if self._read_bytes > self.max_bytes:
            raise InputError(self.source, "", f"file is over the limit of {self.max_bytes} bytes")
        self._values += data.count(b",") + data.count(b"[") + data.count(b"{")
        if self._values > STREAM_MAX_VALUES:  # counted as read: never fewer than the real count (loading.MAX_VALUES)
            raise InputError(self.source, "", f"holds more than {STREAM_MAX_VALUES} JSON values, over the limit")
        try:
            text = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            # The decoder counts from the bytes it held back from the last read (a character cut by the chunk),
            # and after a BOM at the file's start: the place is the offending byte in the whole file.
            held = self._utf8.getstate()[0]
            begin = start - len(held)
            bom = len(codecs.BOM_UTF8) if begin == 0 and (held + data).startswith(codecs.BOM_UTF8) else 0
            raise InputError(self.source, f"byte {begin + bom + exc.start}", "not UTF-8 text") from None
        if not data:
            self._eof = True  # the buffer stays as it is: positions in it are still what errors refer to
            return False
        consumed = self._text[: self._pos]
        breaks = consumed.count("\n")
        self._dropped_lines += breaks
        self._dropped_column = (
            len(consumed) - consumed.rfind("\n") - 1 if breaks else self._dropped_column + len(consumed)
        )
        self._text = self._text[self._pos :] + text
        self._pos = 0
        return True

    def _skip_space(self) -> None:
        while True:
            end = _SPACE.match(self._text, self._pos)
            self._pos = end.end() if end else self._pos
            if self._pos < len(self._text) or not self._fill():
                return

    def _peek(self) -> str:
        self._skip_space()
        return self._text[self._pos] if self._pos < len(self._text) else ""

    def _where(self, pos: int) -> str:
        """``line L, column C`` of a position in the buffer, counted in the whole file."""
        before = self._text[:pos]
        breaks = before.count("\n")
        line = self._dropped_lines + breaks + 1
        column = pos - before.rfind("\n") if breaks else self._dropped_column + pos + 1
        return f"line {line}, column {column}"

    def _syntax(self, problem: str, pos: int | None = None) -> InputError:
        at = self._pos if pos is None else pos
        if at >= len(self._text.rstrip()) and self._eof:
            return InputError(self.source, self._where(at), "invalid JSON: the document ends early (truncated?)")
        return InputError(self.source, self._where(at), f"invalid JSON: {problem}")

    def _value(self, place: str, depth: int) -> Any:
        """One whole value at the current position (read on until it is complete), checked like read_json."""
        self._skip_space()
        want = self.chunk
        while True:
            self._decoder.problems.clear()  # what an attempt cut short recorded is not in the value decoded now
            try:
                value, end = self._scanner.raw_decode(self._text, self._pos)
            except json.JSONDecodeError as exc:
                # Cut off by the buffer's end (the scanner stops there, or inside a string running up to it):
                # read on, twice as much each time. An error well inside the buffer is the document's own.
                cut = exc.pos >= len(self._text) - _MARGIN or exc.msg.startswith("Unterminated string")
                if cut and self._fill(want):
                    want *= 2
                    self._bounded(place)
                    continue
                raise self._syntax(exc.msg, exc.pos) from None
            except RecursionError:
                raise InputError(self.source, place, f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
            except ValueError as exc:  # e.g. an integer beyond Python's conversion limit
                raise InputError(self.source, place, f"invalid JSON: {show(str(exc))}") from None
            # A number that ends near the buffer's end may go on in the next chunk ("0" of "0.5", "1" of "1e+5"):
            # the scanner has decided only when the characters that could extend it are in the buffer.
            if end + _LOOKAHEAD <= len(self._text) or not self._fill(want):
                break
            want *= 2
        start, self._pos = self._pos, end
        if self._decoder.problems:  # a refused number or constant, a repeated key: named with its place
            found = _check_document(value, self._decoder.problems)
            if found is not None:
                raise InputError(self.source, place + found[0], found[1])
        # Nesting needs an opening bracket per level: a value with fewer in its text cannot be too deep.
        if (
            isinstance(value, (dict, list))
            and self._text.count("{", start, end) + self._text.count("[", start, end) > MAX_DEPTH - depth
            and _deeper_than(value, MAX_DEPTH - depth)
        ):
            raise InputError(self.source, place, f"nested deeper than {MAX_DEPTH} levels")
        return value

    def _bounded(self, place: str) -> None:
        """Refuse one value that would hold more than MAX_VALUES values: what is held at once stays bounded.

        Counted over the buffered text from the value's start, each time the buffer has doubled (linear in all).
        """
        marks = sum(self._text.count(mark, self._pos) for mark in ",[{")
        if marks > MAX_VALUES:
            raise InputError(self.source, place, f"one value holds more than {MAX_VALUES} JSON values, over the limit")

    def _expect(self, char: str, what: str) -> None:
        if self._peek() != char:
            found = self._text[self._pos] if self._pos < len(self._text) else ""
            raise self._syntax(f"expected {what}, found {show(found) if found else 'the end'}")
        self._pos += 1

    def _key(self) -> str:
        self._skip_space()
        value = self._value("", 0)
        if not isinstance(value, str):
            raise self._syntax("Expecting property name enclosed in double quotes")
        return value

    # -- walking ---------------------------------------------------------------------------------------

    def items(self) -> Iterator[tuple[str, Any]]:
        """Each element of the array at ``at`` with its JSON pointer; then the document must end."""
        self._handle = self._open()
        try:
            if not self._fill():
                raise InputError(self.source, "", f"file is empty; expected {self.expected}")
            if not self._peek():
                raise InputError(self.source, "", f"file is empty; expected {self.expected}")
            holder: list[Any] = []
            yield from self._walk(holder, "", 0)
            self.skeleton = holder[0]
            if self._peek():
                raise self._syntax("Extra data")
        finally:
            self._handle.close()

    def _walk(self, holder: list[Any], place: str, depth: int) -> Iterator[tuple[str, Any]]:
        """The value at ``place`` into ``holder``; descend when it lies on the path and is of the right kind."""
        if depth == len(self.at):
            if self._peek() != "[":
                holder.append(self._value(place, depth))
                return
            self.streamed = True
            holder.append([])
            yield from self._elements(place, depth)
            return
        if self._peek() != "{":
            holder.append(self._value(place, depth))
            return
        self._pos += 1
        kept: dict[str, Any] = {}
        holder.append(kept)
        if self._peek() == "}":
            self._pos += 1
            return
        while True:
            key = self._key()
            if key in kept:
                raise InputError(self.source, join(place, key), "duplicate key: an object names it more than once")
            self._expect(":", "':' after a key")
            below: list[Any] = []
            if key == self.at[depth]:
                yield from self._walk(below, join(place, key), depth + 1)
            else:
                below.append(self._value(join(place, key), depth + 1))
            kept[key] = below[0]
            if self._closed("}"):
                return

    def _elements(self, place: str, depth: int) -> Iterator[tuple[str, Any]]:
        self._pos += 1  # the '['
        if self._peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            at = join(place, index)
            yield at, self._value(at, depth + 1)
            index += 1
            if self._closed("]"):
                return

    def _closed(self, close: str) -> bool:
        """After a member: True at the container's ``close``, False after a comma (another member follows)."""
        follow = self._peek()
        if follow == close:
            self._pos += 1
            return True
        if follow != ",":
            raise self._syntax("Expecting ',' delimiter")
        self._pos += 1
        return False


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` containers (level by level, without recursion)."""
    level = [value]
    for _ in range(max(limit, 0)):
        below: list[Any] = []
        for item in level:
            below.extend(c for c in (item.values() if isinstance(item, dict) else item) if isinstance(c, (dict, list)))
        if not below:
            return False
        level = below
    return True


__all__ = ["CHUNK", "JsonStream"]
