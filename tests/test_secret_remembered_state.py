"""A Pulumi secret's plaintext (``pulumi stack export --show-secrets``) is remembered when the source hides it.

The state source replaces Pulumi's secret wrapper by SECRET itself, before the redaction walks the values. The
redaction's second line -- every secret string seen is scrubbed from every output, wherever a copy of it
turns up -- must still learn the plaintext: a value kept secret in one field and written plainly in another
(a password that is also a tag, a name, a location typed in the wrong box) would otherwise reach the reports.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from compliance_checks.cli import main
from compliance_checks.inventory import SECRET
from compliance_checks.redaction import scrub_text
from compliance_checks.sources.azure_native import SECRET_SIGNATURE, SECRET_SIGNATURE_KEY, clean

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SUB = "6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-smartportal-dev-gwc"
REPORTS = ("report.html", "report.md", "results.json", "results.sarif", "junit.xml", "manifest.json")


def _shown(value: Any) -> dict[str, str]:
    """Pulumi's secret wrapper as `pulumi stack export --show-secrets` writes it: the value JSON-encoded."""
    return {SECRET_SIGNATURE_KEY: SECRET_SIGNATURE, "plaintext": json.dumps(value)}


def test_clean_hides_the_wrapper_and_remembers_its_plaintext() -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    assert clean({"password": _shown(canary)}) == {"password": SECRET}
    assert canary not in scrub_text(f"copied elsewhere: {canary}.")


def test_a_structured_secret_remembers_the_strings_under_secret_names() -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    assert clean(_shown({"password": canary})) is SECRET
    assert canary not in scrub_text(f"copied elsewhere: {canary}.")


def test_a_wrapper_without_plaintext_is_hidden_and_remembers_nothing_new() -> None:
    before = scrub_text("nothing secret here at all")
    assert clean({SECRET_SIGNATURE_KEY: SECRET_SIGNATURE, "ciphertext": "AAEAAQ=="}) is SECRET
    assert scrub_text("nothing secret here at all") == before == "nothing secret here at all"


@pytest.mark.parametrize("where", ["outputs", "inputs only"])
def test_a_shown_secret_copied_into_a_reported_field_never_reaches_a_report(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``inputs only``: Azure never returns the administrator password, so with ``--show-secrets`` its plaintext
    is in the server's inputs alone; the source reads inputs only when outputs are missing, yet must learn it."""
    canary = f"canary{uuid.uuid4().hex}"
    document: dict[str, Any] = json.loads((FIXTURES / "pulumi-stack-export.json").read_text())
    server = f"{RG_ID}/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-canary"
    site = f"{RG_ID}/providers/Microsoft.Web/sites/app-canary"
    secret: dict[str, Any] = {"administratorLoginPassword": _shown(canary)}
    server_values: dict[str, Any] = {"location": "germanywestcentral", "administratorLogin": "admin"}
    planted: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
        (
            "azure-native:dbforpostgresql:Server",
            "psql-canary",
            server,
            {**server_values, **secret},
            {**server_values, **(secret if where == "outputs" else {})},
        ),
        # The same string, unmarked, where a check reports it: the region check names a location it rejects.
        ("azure-native:web:WebApp", "app-canary", site, {"location": canary}, {"location": canary}),
    ]
    for token, name, arm_id, inputs, outputs in planted:
        document["deployment"]["resources"].append(
            {
                "urn": f"urn:pulumi:dev::smart-portal::{token}::{name}",
                "custom": True,
                "type": token,
                "id": arm_id,
                "inputs": {"resourceGroupName": "rg-smartportal-dev-gwc", **inputs},
                "outputs": {"id": arm_id, "name": name, **outputs},
            }
        )
    state = tmp_path / "state.json"
    state.write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "out"
    main(["audit", "--source", "pulumi-state", "--input", str(state), "--out", str(out), "-q", "--pretty"])
    captured = capsys.readouterr()
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    # The site was read and its location judged (a dropped resource would prove nothing).
    located = [f for f in results["findings"] if f["resourceId"].lower() == site.lower()]
    assert any(f["checkId"] == "location_in_allowed_regions" and f["verdict"] == "FAIL" for f in located)
    texts = [(name, (out / name).read_text(encoding="utf-8")) for name in (*REPORTS, "results.pretty.json")]
    texts += [("stdout", captured.out), ("stderr", captured.err)]
    leaked = [name for name, text in texts if canary in text]
    assert not leaked, f"the shown secret leaked into {leaked}"
