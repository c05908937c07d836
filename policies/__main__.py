"""Entry point Pulumi runs for ``--policy-pack policies``.

The repository root goes on the path so the pack imports the checks exactly as
the tests and the CLI do.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Smart Portal privacy promises as deployment gates; one policy per technical promise.",
)
