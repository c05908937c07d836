"""Compliance checks for the Smart Portal's privacy promises.

Data flows one way: sources collect and normalise an :class:`Inventory`,
checks evaluate it into findings, the engine rolls findings up into claims,
and reports render the canonical results.
"""

__version__ = "0.1.0"
