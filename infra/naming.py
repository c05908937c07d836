"""Deterministic resource names (Cloud Adoption Framework abbreviations).

Names are explicit rather than auto-named so that stack outputs, checks and
probes can refer to the same resource across `pulumi up`, exports and the live
tenant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Namespace for deterministic GUIDs (role assignment names must be GUIDs).
_GUID_NAMESPACE = uuid.UUID("5b0f3c1e-6a51-4e8e-9a3c-2f7d1c9e4b10")


@dataclass(frozen=True)
class Naming:
    stack: str
    region_short: str
    workload: str = "smartportal"

    def name(self, abbreviation: str) -> str:
        return f"{abbreviation}-{self.workload}-{self.stack}-{self.region_short}"

    def key_vault(self) -> str:
        # Key Vault names are 3 to 24 characters and globally unique.
        return self.name("kv")[:24].rstrip("-")

    def action_group_short(self) -> str:
        return f"sp{self.stack}"[:12]

    def guid(self, label: str) -> str:
        """A stable GUID for resources whose name must be one, e.g. role assignments."""
        return str(uuid.uuid5(_GUID_NAMESPACE, f"{self.workload}/{self.stack}/{self.region_short}/{label}"))
