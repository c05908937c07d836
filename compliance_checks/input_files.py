"""Reading an input file's bytes, bounded, from regular files only.

Every input (stack config, waivers, attestations, state, preview, template,
parameters) is read through :func:`read_input_bytes` before it is parsed:

* the path is resolved (a symlink loop is a one-line error);
* anything but a regular file is refused up front: a FIFO or a character
  device would block the reader forever or never end, a directory or a socket
  cannot be read as a document;
* a file larger than the caller's limit is refused before a byte is read, and
  the read itself stops one byte past the limit (a file that grows while it is
  read cannot slip through);
* missing and unreadable files are one-line errors, never tracebacks.

The file is opened with ``O_NONBLOCK`` and checked again with ``fstat`` on the
open descriptor, so a path swapped for a FIFO between the check and the open
is refused as well instead of blocking.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from compliance_checks.errors import InputError

FILE_NOT_FOUND = "file not found"
"""The problem of an InputError for a path that does not exist (callers may word it their own way)."""

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return FILE_NOT_FOUND
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop?)"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is not a directory"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    reason = exc.strerror or exc.__class__.__name__
    return f"cannot read the file ({reason})"


def read_input_bytes(path: Path | str, max_bytes: int, *, source: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; InputError(source, "", reason) otherwise."""
    shown = str(path) if source is None else source
    try:
        info = os.stat(path)  # follows symlinks: a loop raises ELOOP here
        kind = _not_regular(info.st_mode)
        if kind is not None:
            raise InputError(shown, "", f"is {kind}, not a regular file")
        if info.st_size > max_bytes:
            raise InputError(shown, "", f"file is {info.st_size} bytes, over the limit of {max_bytes} bytes")
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(descriptor, "rb") as handle:
            kind = _not_regular(os.fstat(handle.fileno()).st_mode)
            if kind is not None:
                raise InputError(shown, "", f"is {kind}, not a regular file")
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(shown, "", _os_problem(exc)) from None
    except ValueError:  # e.g. a NUL byte in the name
        raise InputError(shown, "", "not a usable file name") from None
    if len(data) > max_bytes:
        raise InputError(shown, "", f"file is over the limit of {max_bytes} bytes")
    return data


__all__ = ["FILE_NOT_FOUND", "read_input_bytes"]


def write_atomically(shown: str, text: str, what: str) -> None:
    """Write ``text`` to the file ``shown`` names: beside it first, then moved into place, so a failure never
    leaves half a file; an OSError is an InputError naming the file ("cannot write ``what``")."""
    import tempfile

    out = Path(shown)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{out.name}-", dir=out.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, out)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(shown, "", f"cannot write {what} ({exc.strerror or exc})") from None
