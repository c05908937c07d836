"""Results documents of real audits for the report tests (tests/test_report_i18n.py, tests/test_report_pdf.py).

Two audits run through the CLI: the committed dev stack offline (synth: no
FAIL, placeholder IDs) and the recorded Pulumi stack export
(tests/fixtures/sources/pulumi-stack-export.json: FAILs and ERRORs), the second
with ``--baseline`` of the first, so its ``comparison`` lists new findings and
the first compared with the second lists fixed ones. Whatever the audit writes
(scope, layers, frameworks, remediation, comparison) is used as written; only
a field it does not write yet is added here, per the results.json contract of
issue 14, and :data:`ADDED` says which, so a test can tell real from filled in.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from compliance_checks.cli import main
from infra.synth import REPO_ROOT

CATALOG = REPO_ROOT / "compliance_checks" / "catalog"
STACK_EXPORT = REPO_ROOT / "tests" / "fixtures" / "sources" / "pulumi-stack-export.json"
# The corrected sentence a document finding suggests (not yet written by the audit): German and English.
SUGGESTION = {
    "de": "Wir lassen die Einhaltung jährlich durch den Prüfungsverband prüfen.",
    "en": "We have compliance audited annually by the auditing association.",
}
ADDED: set[str] = set()


def audit(out: Path, *argv: str) -> dict[str, Any]:
    code = main(["audit", *argv, "--format", "json", "--out", str(out), "--quiet"])
    assert code in (0, 1, 2), code
    document: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return document


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _scope(document: dict[str, Any]) -> dict[str, Any]:
    run = document["run"]
    return {
        "sources": [run["source"]],
        "stack": run["stack"],
        "subscriptions": [],
        "probedHosts": [],
        "commit": None,
        "policySha256": _sha256(CATALOG / "privacy-policy.txt"),
        "catalogSha256": _sha256(CATALOG / "claims.yaml"),
        "toolVersion": document["tool"]["version"],
        "runBy": "tests",
        "host": "localhost",
        "ciRunUrl": None,
        "startedAt": run["startedAt"],
        "finishedAt": run["finishedAt"],
        "placeholderIds": run["source"] == "synth",  # the offline synthesis invents the IDs
    }


def _layers(claim: dict[str, Any], document: dict[str, Any]) -> list[dict[str, Any]]:
    if claim["kind"] != "technical":
        return [{"layer": "attested", "verdict": "MANUAL", "checks": [], "hint": "add an attestation"}]
    probes = [c for c in claim["checks"] if c.startswith("probe_")]
    config = [c for c in claim["checks"] if not c.startswith("probe_")]
    offline = document["run"]["source"] in ("synth", "pulumi-preview")
    layers = []
    if config:
        layers.append({"layer": "declared" if offline else "deployed", "verdict": claim["verdict"], "checks": config})
        layers[-1]["hint"] = ""
    if probes:
        layers.append({"layer": "observed", "verdict": "NOT_RUN", "checks": probes, "hint": "add --probe URL"})
    return layers


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the issue-14 fields the audit does not write yet, filled in per the contract."""
    document = copy.deepcopy(document)
    if "scope" not in document:
        ADDED.add("scope")
        document["scope"] = _scope(document)
    for claim in document["claims"]:
        if "layers" not in claim:
            ADDED.add("claims[].layers")
            claim["layers"] = _layers(claim, document)
    remediation = {c["id"]: c["remediation"] for c in document["checks"]}
    for finding in document["findings"]:
        if finding["verdict"] in ("FAIL", "ERROR") and "remediation" not in finding:
            ADDED.add("findings[].remediation")
            finding["remediation"] = remediation.get(finding["checkId"], "")
    for item in document["document"]:
        if "suggestion" not in item:
            ADDED.add("document[].suggestion")
            item["suggestion"] = dict(SUGGESTION)
    return document


def real_documents(directory: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(dev synth, the stack export against dev as baseline, dev against the stack export as baseline)."""
    dev = audit(directory / "dev")
    export = audit(
        directory / "export",
        "--source",
        "pulumi-state",
        "--input",
        str(STACK_EXPORT),
        "--baseline",
        str(directory / "dev" / "results.json"),
    )
    dev_again = audit(directory / "dev-again", "--baseline", str(directory / "export" / "results.json"))
    return complete(dev), complete(export), complete(dev_again)
