"""checkov as a second opinion: run it on the stack exported as an ARM template and fold its results into the audit.

checkov reads ARM templates, not Pulumi programs, and its dependency pins
conflict with pulumi's, so it lives in its own virtualenv (``make
checkov-env``, ``.venv-checkov``) and runs as a subprocess, offline
(``BC_SKIP_MAPPING=TRUE``, ``--skip-download``, no update check). Data flows:

1. ``export_template`` (``compliance-checks export-arm``) writes the inventory
   as an ARM template;
2. :func:`run_checkov` scans it with checkov's built-in ARM checks plus this
   repository's custom checks (``policies/checkov/checks``, IDs ``CKV_SMART_<n>``);
3. :func:`checkov_findings` turns every passed and failed check into a
   :class:`~compliance_checks.findings.Finding` (source ``checkov``); a
   failure that ``policies/checkov/suppressions.yaml`` justifies for the
   stack gets a waiver, so it stays visible as a waived FAIL and does not
   count towards the exit code.

Custom checks verify promises of the privacy policy and cannot be suppressed.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance_checks.checks.base import CheckMeta
from compliance_checks.errors import ComplianceError, InputError
from compliance_checks.findings import Evidence, Finding, Severity, Verdict, Waiver
from compliance_checks.inventory import Inventory
from compliance_checks.yaml_input import date_field, load_yaml_list, text_field

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
EXTERNAL_CHECKS = REPO_ROOT / "policies" / "checkov" / "checks"
SUPPRESSIONS = REPO_ROOT / "policies" / "checkov" / "suppressions.yaml"
SOURCE = "checkov"
CUSTOM_PREFIX = "CKV_SMART_"
NO_CLAIM = "none"
ALL_STACKS = "*"
NEVER_EXPIRES = dt.date(9999, 12, 31)
TIMEOUT_SECONDS = 600.0
MIN_JUSTIFICATION = 20
SUPPRESSION_KEYS = frozenset({"check", "resource", "claim", "justification", "stacks", "expires", "owner"})
_CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_[0-9]+$")
_CLAIM_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
# The environment that keeps checkov offline: no policy metadata download, no PyPI update check.
OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}


@dataclass(frozen=True)
class Suppression:
    """A justified exception for one built-in checkov check on matching resources of some stacks."""

    check: str
    resource: str  # glob on checkov's resource string ("<type>.<name>"), case-insensitive
    claim: str  # the privacy-policy claim the justification rests on, or "none"
    justification: str
    stacks: tuple[str, ...]
    expires: dt.date = NEVER_EXPIRES
    owner: str = ""

    def applies_to(self, stack: str | None) -> bool:
        return ALL_STACKS in self.stacks or (stack is not None and stack in self.stacks)

    def matches(self, check_id: str, resource: str) -> bool:
        return check_id == self.check and fnmatch.fnmatch(resource.lower(), self.resource.lower())

    def as_waiver(self) -> Waiver:
        return Waiver(
            check=self.check,
            resource=self.resource,
            justification=f"{self.justification} (claim: {self.claim})",
            expires=self.expires.isoformat(),
            owner=self.owner or "policies/checkov/suppressions.yaml",
        )


# --- running checkov ---------------------------------------------------------------------------


POLICY_INDEX = "https://www.checkov.io/5.Policy%20Index/arm.html"


def find_checkov() -> Path:
    """The checkov executable: ``$CHECKOV``, else ``<repo>/.venv-checkov/bin/checkov``."""
    configured = os.environ.get("CHECKOV")
    path = Path(configured) if configured else DEFAULT_CHECKOV
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ComplianceError(f"checkov not found: run `make checkov-env` (looked for {path})")
    return path


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run_checkov(
    template: Path,
    *,
    external_checks: Path | None = EXTERNAL_CHECKS,
    checkov: Path | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """checkov's JSON report on an ARM template: ``{"check_type": "arm", "results": {...}, "summary": {...}}``.

    Built-in ARM checks plus the custom checks in ``external_checks`` (``None``: none). A crash,
    a timeout, unparsable output, a template checkov cannot parse or a custom
    check it cannot load raise :class:`ComplianceError` with one line.
    """
    executable = checkov or find_checkov()
    if not template.is_file():
        raise ComplianceError(f"checkov: template {template} not found")
    command = [str(executable), "-f", str(template), "--framework", "arm", "-o", "json", "--compact", "--skip-download"]
    if external_checks is not None:
        if not external_checks.is_dir():
            raise ComplianceError(f"checkov: custom checks directory {external_checks} not found")
        command += ["--external-checks-dir", str(external_checks)]
    # No --quiet: with it checkov's JSON leaves out the passed checks, and a PASS is evidence too.
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **OFFLINE_ENV},
            cwd=template.parent,
        )
    except subprocess.TimeoutExpired:
        raise ComplianceError(f"checkov: no result after {timeout:g} s on {template}") from None
    except OSError as exc:
        raise ComplianceError(f"checkov: cannot run {executable}: {exc.strerror or exc}") from None
    if "Cannot load external check" in completed.stderr:
        line = next(x for x in completed.stderr.splitlines() if "Cannot load external check" in x)
        raise ComplianceError(f"checkov: {line.split('[ERROR]', 1)[-1].strip()}")
    # Exit code 1 means "some check failed"; anything else but 0 is a crash.
    if completed.returncode not in (0, 1):
        raise ComplianceError(f"checkov crashed (exit code {completed.returncode}): {_last_line(completed.stderr)}")
    try:
        document = json.loads(completed.stdout)
    except json.JSONDecodeError as exc:
        detail = _last_line(completed.stderr) if completed.stderr.strip() else f"{exc.msg} at line {exc.lineno}"
        raise ComplianceError(f"checkov: output is not JSON (exit code {completed.returncode}): {detail}") from None
    return _normalised(document)


def _normalised(document: Any) -> dict[str, Any]:
    if isinstance(document, list):  # one report per framework; --framework arm gives one
        document = next((d for d in document if isinstance(d, dict) and d.get("check_type") == "arm"), None)
    if not isinstance(document, dict):
        raise ComplianceError("checkov: unexpected output: no ARM report in its JSON")
    if "results" not in document and "summary" not in document and "passed" in document:
        document = {"check_type": "arm", "results": {}, "summary": document}  # nothing scanned: summary only
    if "results" not in document:
        raise ComplianceError("checkov: unexpected output: no 'results' in its JSON")
    results = document.get("results", {})
    if not isinstance(results, dict):
        raise ComplianceError("checkov: unexpected output: 'results' is not an object")
    for key in ("passed_checks", "failed_checks", "skipped_checks", "parsing_errors"):
        value = results.setdefault(key, [])
        if not isinstance(value, list):
            raise ComplianceError(f"checkov: unexpected output: results.{key} is not a list")
    if results["parsing_errors"]:
        raise ComplianceError(f"checkov could not parse {', '.join(map(str, results['parsing_errors']))}")
    report: dict[str, Any] = {**document, "results": results}
    return report


# --- suppressions ------------------------------------------------------------------------------


def load_suppressions(path: Path = SUPPRESSIONS, *, claims: Iterable[str] | None = None) -> list[Suppression]:
    """Read ``suppressions.yaml``; a wrong shape is an :class:`InputError` naming the file and the place.

    ``claims``: the known claim IDs (default: the catalogue's); ``claim`` must be one of them or ``none``.
    """
    if claims is None:
        from compliance_checks.catalog import load_catalog

        claims = [c.id for c in load_catalog().claims]
    known_claims, source = set(claims), str(path)
    suppressions = []
    for index, item in enumerate(load_yaml_list(path, "suppressions")):
        place = f"suppressions[{index}]"
        unknown = sorted(set(map(str, item)) - SUPPRESSION_KEYS)
        if unknown:
            raise InputError(
                source, f"{place}.{unknown[0]}", f"unknown key (expected {', '.join(sorted(SUPPRESSION_KEYS))})"
            )
        check = text_field(source, place, item, "check")
        if not _CHECK_ID.match(check):
            raise InputError(source, f"{place}.check", f"{check!r} is not a checkov check ID like CKV_AZURE_13")
        if check.startswith(CUSTOM_PREFIX):
            raise InputError(
                source,
                f"{place}.check",
                f"{check} is a custom check for a privacy promise: fix the stack, do not suppress it",
            )
        claim = text_field(source, place, item, "claim")
        if claim != NO_CLAIM and (not _CLAIM_ID.match(claim) or claim not in known_claims):
            raise InputError(
                source, f"{place}.claim", f"unknown claim {claim!r} (a claim ID of claims.yaml, or 'none')"
            )
        justification = text_field(source, place, item, "justification")
        if len(justification) < MIN_JUSTIFICATION or " " not in justification:
            raise InputError(source, f"{place}.justification", "must be a sentence saying why the check does not apply")
        stacks = item.get("stacks")
        if (
            not isinstance(stacks, list)
            or not stacks
            or not all(isinstance(s, str) and s.strip() and s == s.strip() for s in stacks)
        ):
            raise InputError(source, f"{place}.stacks", "expected a non-empty list of stack names (or '*')")
        suppressions.append(
            Suppression(
                check=check,
                resource=text_field(source, place, item, "resource"),
                claim=claim,
                justification=justification,
                stacks=tuple(stacks),
                expires=date_field(source, place, item, "expires") if "expires" in item else NEVER_EXPIRES,
                owner=text_field(source, place, item, "owner", required=False),
            )
        )
    return suppressions


# --- findings ----------------------------------------------------------------------------------


def resource_type_of(resource: str) -> str:
    """``Microsoft.Web/sites/config`` of checkov's ``Microsoft.Web/sites/config.app/authsettingsV2``.

    The namespace has dots (``Microsoft.DBforPostgreSQL``), the type segments after it none; the name may.
    """
    slash = resource.find("/")
    dot = resource.find(".", slash) if slash >= 0 else -1
    return resource[:dot] if dot > 0 else resource


def _items(report: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    results = report.get("results", {})
    items = results.get(key, []) if isinstance(results, Mapping) else []
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("check_id"), str)]


def _severity(value: Any) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        return Severity.MEDIUM


def _guideline(item: Mapping[str, Any]) -> str:
    guideline = item.get("guideline")
    return guideline if isinstance(guideline, str) and re.match(r"^https?://\S+$", guideline) else ""


def checkov_checks(report: Mapping[str, Any]) -> dict[str, CheckMeta]:
    """Metadata of every check that produced a result, for the report's "checks" section."""
    metas: dict[str, CheckMeta] = {}
    for item in _items(report, "failed_checks") + _items(report, "passed_checks"):
        check_id = item["check_id"]
        if check_id in metas:
            continue
        name = str(item.get("check_name") or check_id)
        # Offline (BC_SKIP_MAPPING) checkov gives no guideline URL; its public policy index lists every ARM check.
        guideline = _guideline(item) or ("" if check_id.startswith(CUSTOM_PREFIX) else POLICY_INDEX)
        metas[check_id] = CheckMeta(
            id=check_id,
            title=name,
            severity=_severity(item.get("severity")),
            claims=(),
            rationale=name if check_id.startswith(CUSTOM_PREFIX) else "checkov built-in check",
            remediation=guideline,
            references=(guideline,) if guideline else (),
        )
    return dict(sorted(metas.items()))


def checkov_findings(
    report: Mapping[str, Any],
    suppressions: Sequence[Suppression],
    stack: str | None,
    *,
    today: dt.date | None = None,
) -> list[Finding]:
    """Every passed and failed check as a finding; failures a suppression justifies for ``stack`` are waived."""
    today = today or dt.datetime.now(dt.UTC).date()
    active = [s for s in suppressions if s.applies_to(stack) and s.expires >= today]
    findings = []
    for key, verdict in (("passed_checks", Verdict.PASS), ("failed_checks", Verdict.FAIL)):
        for item in _items(report, key):
            check_id, resource = item["check_id"], str(item.get("resource") or "(template)")
            result = item.get("check_result")
            keys = result.get("evaluated_keys") if isinstance(result, Mapping) else None
            lines = item.get("file_line_range")
            path = ", ".join(map(str, keys)) if isinstance(keys, list) and keys else "(resource)"
            if isinstance(lines, list) and len(lines) == 2:
                path += f" (export-arm template lines {lines[0]}-{lines[1]})"
            finding = Finding(
                check_id=check_id,
                verdict=verdict,
                resource_id=resource,
                resource_type=resource_type_of(resource),
                message=str(item.get("check_name") or check_id),
                evidence=(Evidence(path, "PASSED" if verdict == Verdict.PASS else "FAILED", "checkov: PASSED"),),
                source=SOURCE,
            )
            if verdict == Verdict.FAIL:
                rule = next((s for s in active if s.matches(check_id, resource)), None)
                if rule is not None:
                    finding = finding.with_waiver(rule.as_waiver())
            findings.append(finding)
    return findings


def unused_suppressions(
    report: Mapping[str, Any], suppressions: Sequence[Suppression], stack: str | None
) -> list[Suppression]:
    """Suppressions for ``stack`` that match no failed check: stale, remove them."""
    failed = [(i["check_id"], str(i.get("resource") or "")) for i in _items(report, "failed_checks")]
    return [s for s in suppressions if s.applies_to(stack) and not any(s.matches(c, r) for c, r in failed)]


def checkov_audit(
    inventory: Inventory,
    stack: str | None,
    *,
    suppressions: Path = SUPPRESSIONS,
    external_checks: Path = EXTERNAL_CHECKS,
    today: dt.date | None = None,
) -> tuple[list[Finding], dict[str, CheckMeta]]:
    """Export ``inventory`` as an ARM template, scan it with checkov, return its findings and check metadata."""
    from compliance_checks.export_arm import export_template

    rules = load_suppressions(suppressions)
    with tempfile.TemporaryDirectory(prefix="checkov-") as workdir:
        template = Path(workdir) / "template.json"
        template.write_text(json.dumps(export_template(inventory), indent=2) + "\n", encoding="utf-8")
        report = run_checkov(template, external_checks=external_checks)
    return checkov_findings(report, rules, stack, today=today), checkov_checks(report)
