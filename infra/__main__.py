"""Pulumi entry point (``main: infra/`` in Pulumi.yaml).

Pulumi runs this directory as a script; the repository root goes on the path so
the program is imported as the ``infra`` package, exactly as tests import it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.program import main

main()
