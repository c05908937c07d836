"""Two audits of the dev estate for the results-data tests: as synthesized (clean), and as an ARM template
that breaks the no-cookies promise (the web app's ARR affinity cookie switched on).

The template is the stack exported by ``compliance-checks export-arm``, deployed (as a nested deployment,
https://learn.microsoft.com/azure/azure-resource-manager/templates/deploy-to-resource-group#deploy-to-target-resource-group)
into the subscription and resource group the synthesized stack uses, so both audits name every resource
with the same ARM ID and a comparison can match them.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cli import run_cli

WEBAPP_TYPE = "Microsoft.Web/sites"
BROKEN_CHECK = "webapp_client_affinity_disabled"


@dataclass(frozen=True)
class Audit:
    out: Path
    run: subprocess.CompletedProcess[str]

    @property
    def results_file(self) -> Path:
        return self.out / "results.json"

    @property
    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.results_file.read_text(encoding="utf-8"))
        return loaded


def audit(out: Path, *args: str) -> Audit:
    run = run_cli("audit", *args, "--format", "json", "--out", str(out))
    assert run.returncode in (0, 1, 2) and "Traceback" not in run.stderr, run.stderr
    assert (out / "results.json").is_file(), run.stderr
    return Audit(out, run)


def clean_synth(out: Path) -> Audit:
    return audit(out, "--stack", "dev")


def webapp_id(document: dict[str, Any]) -> str:
    (found,) = [r["id"] for r in document["inventory"]["resources"] if r["type"] == WEBAPP_TYPE]
    return str(found)


def broken_template(directory: Path, synth: dict[str, Any]) -> Path:
    """The dev stack as an ARM template, ARR affinity on, deployed where the synthesized stack is."""
    exported = directory / "exported.json"
    run = run_cli("export-arm", "--stack", "dev", "--out", str(exported))
    assert run.returncode == 0, run.stderr
    template = json.loads(exported.read_text(encoding="utf-8"))
    sites = [r for r in template["resources"] if r["type"] == WEBAPP_TYPE]
    assert len(sites) == 1 and sites[0]["properties"]["clientAffinityEnabled"] is False
    sites[0]["properties"]["clientAffinityEnabled"] = True
    # /subscriptions/<sub>/resourceGroups/<rg>/providers/...
    parts = webapp_id(synth).split("/")
    subscription, group = parts[2], parts[4]
    wrapped = {key: value for key, value in template.items() if key != "resources"}
    wrapped["resources"] = [
        {
            "type": "Microsoft.Resources/deployments",
            "apiVersion": "2022-09-01",
            "name": "estate",
            "subscriptionId": subscription,
            "resourceGroup": group,
            "properties": {
                "mode": "Incremental",
                "template": {
                    "$schema": template["$schema"],
                    "contentVersion": "1.0.0.0",
                    "resources": template["resources"],
                },
            },
        }
    ]
    path = directory / "broken.json"
    path.write_text(json.dumps(wrapped, indent=1), encoding="utf-8")
    return path
