"""A short exception hierarchy. Every message is one line that names the input and the place."""

from __future__ import annotations


class ComplianceError(Exception):
    """Base class: anything the CLI reports as an error (exit code 2)."""


class InputError(ComplianceError):
    """An input file is missing, malformed or of the wrong shape."""

    def __init__(self, source: str, place: str, problem: str) -> None:
        self.source, self.place, self.problem = source, place, problem
        where = f"{source}: {place}: " if place else f"{source}: "
        super().__init__(f"{where}{problem}")


class CatalogError(ComplianceError):
    """The claims catalogue or the check registry is inconsistent (a bug in this repository)."""


class UsageError(ComplianceError):
    """The command line is wrong (exit code 64)."""
