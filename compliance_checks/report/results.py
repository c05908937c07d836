"""The canonical results document (schema version 1.0): every renderer reads only this.

Deterministic: claims, checks and findings are sorted by ID; the same audit
of the same inputs gives the same document except for the timestamps.

:func:`read_results` reads one back (``compliance-checks claims --results``):
anything but a document that validates against the results schema is an
InputError naming the file and the place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import math
import platform
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from compliance_checks import __version__
from compliance_checks.engine import AuditResult
from compliance_checks.errors import InputError
from compliance_checks.findings import Finding, Verdict
from compliance_checks.inventory import MISSING, UNKNOWN, Inventory, Resource, SecretValue
from compliance_checks.redaction import scrub_document
from compliance_checks.render_values import jsonable
from compliance_checks.report.baseline import compare_with_file
from compliance_checks.report.frameworks import framework_views

SCHEMA_VERSION = "1.0"
VERDICTS = [v.value for v in Verdict]
# The results of an audit of MAX_RESOURCES resources: about 150 MiB at 100,000 (compact), so twice that at the cap.
_MAX_RESULTS_BYTES = 512 * 1024 * 1024
_COMPONENT = re.compile(r"smartportal:[a-z]+:([A-Za-z]+)")
_PLAIN = frozenset({str, int, bool, type(None)})


def read_results(path: Path) -> dict[str, Any]:
    """A results.json written by an audit, validated against the results schema, or InputError (file, place)."""
    from jsonschema import ValidationError

    from compliance_checks.report.validation import validate_results
    from compliance_checks.sources.loading import read_json

    # Decoded whole (--baseline, claims --results): a 100k-resource audit's 150 MiB and 4.1 million values pass.
    document = read_json(path, max_bytes=_MAX_RESULTS_BYTES, expected="the results.json of an audit")
    if not isinstance(document, dict):
        raise InputError(str(path), "", "expected the results.json of an audit (a JSON object)")
    try:
        validate_results(document)
    except ValidationError as error:
        problem = " ".join(error.message.split())
        cut = problem if len(problem) <= 160 else problem[:157] + "..."
        raise InputError(
            str(path), error.json_path, f"not a results document of schema {SCHEMA_VERSION}: {cut}"
        ) from None
    except RecursionError:
        raise InputError(str(path), "", "values nested too deeply") from None
    return document


_BATCH = 1000
"""Items of a long list encoded per call when results.json is streamed: the C encoder's speed,
without the whole document (150 MB at 100,000 resources) ever being one string."""
_COMPACT = json.JSONEncoder(separators=(",", ":"))
_PRETTY = json.JSONEncoder(indent=2)


def results_json_chunks(document: Mapping[str, Any]) -> Iterator[str]:
    """results.json as written: compact (no indentation, no space after ``,`` and ``:``), in pieces.

    The pieces joined are exactly ``json.dumps(document, separators=(",", ":"))`` and a newline. Each
    object is opened by hand down to the long lists (findings, inventory resources and relations), whose
    items are encoded :data:`_BATCH` at a time; everything else is one call to the C encoder.
    """
    yield from _chunks(document, depth=0)
    yield "\n"


def _chunks(value: Any, depth: int) -> Iterator[str]:
    if isinstance(value, dict) and depth < 2 and value:
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield ("," if index else "") + _COMPACT.encode(str(key)) + ":"
            yield from _chunks(item, depth + 1)
        yield "}"
    elif isinstance(value, list) and len(value) > _BATCH:
        for start in range(0, len(value), _BATCH):
            batch = _COMPACT.encode(value[start : start + _BATCH])
            # Each batch is a JSON list: its brackets go, the lists join with a comma.
            yield ("[" if start == 0 else ",") + batch[1:-1]
        yield "]"
    else:
        yield _COMPACT.encode(value)


def write_results_json(document: Mapping[str, Any], path: Path, *, pretty: bool = False) -> None:
    """Write results.json (compact) to ``path``; with ``pretty``, the indented copy (2 spaces) instead.

    Streamed: the file is written piece by piece (compact: :func:`results_json_chunks`; indented: the
    encoder's own pieces), so memory grows with the largest piece, not with the document.
    """
    pieces = _PRETTY.iterencode(document) if pretty else results_json_chunks(document)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(pieces)
        if pretty:
            handle.write("\n")


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a report is built or written, then as it was.

    Building the document of 90,000 findings allocates millions of dicts, lists and strings, none in a
    reference cycle (reference counting frees them all); left on, the collector walks every object of the
    process (the inventory too) again and again meanwhile, which at that size costs more than the building.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tool_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "compliance-checks": __version__}
    for package in ("pulumi", "pulumi-azure-native", "pulumi-azuread", "pulumi-random"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _stamp(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def source_location(resource: Resource | None, inputs: Sequence[Mapping[str, str]]) -> dict[str, Any] | None:
    """Where a finding can be fixed: the component file for synth, else the input file."""
    if resource is not None and resource.origin.startswith("urn:pulumi:"):
        match = _COMPONENT.search(resource.origin)
        if match:
            name = re.sub(r"(?<!^)(?=[A-Z])", "_", match.group(1)).lower()
            return {"uri": f"infra/components/{name}.py", "line": None}
        return {"uri": "infra/program.py", "line": None}
    if inputs:
        return {"uri": inputs[0]["path"], "line": None}
    return None


def _observed(value: Any) -> Any:
    """An observed value as it goes into the canonical JSON: :func:`jsonable`'s tagged sentinels and whole
    floats as integers, and, where jsonable would leave a value JSON cannot write (a set, bytes, NaN, an
    object of another type), a form it can: no evidence a check gives stops results.json from being
    written. Bytes become text (UTF-8, undecodable bytes replaced), so the redaction's second line still
    finds a secret's text in them. One walk (jsonable and then a check of its result were two, +0.2 s at
    100,000 resources); exact types first, as most values are plain.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(key): _observed(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_observed(item) for item in value]
    if kind is float:
        if value.is_integer():
            return int(value)
        return value if math.isfinite(value) else str(value)  # JSON has no NaN or Infinity (RFC 8259, 6)
    if value is MISSING or value is UNKNOWN or isinstance(value, SecretValue):
        return jsonable(value)
    if isinstance(value, Mapping):
        return {str(key): _observed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_observed(item) for item in value]
    if isinstance(value, (set, frozenset)):  # no order of its own: sorted by its JSON text, to be deterministic
        return sorted((_observed(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (str, int, float)):  # a subclass (an enum member): as its plain value
        return _observed((str if isinstance(value, str) else int if isinstance(value, int) else float)(value))
    return repr(value)


class _FindingFields:
    """What the findings of one audit share, worked out once per check, resource or origin, not per finding:
    at 90,000 findings the per-finding cost of build_results is what the report stage spends."""

    def __init__(
        self, result: AuditResult, claims_of: Mapping[str, list[str]], inputs: Sequence[Mapping[str, str]]
    ) -> None:
        self.result = result
        self.claims_of = claims_of
        self.inputs = inputs
        self.default_source = result.inventory.sources[0] if result.inventory.sources else "synth"
        self.started = _stamp(result.started_at)
        self.severity: dict[str, str] = {}
        self.remediation: dict[str, dict[str, str]] = {}
        self.location: dict[str, dict[str, Any] | None] = {}
        self.location_of_none = source_location(None, inputs)

    def of(self, finding: Finding, number: int) -> dict[str, Any]:
        check_id = finding.check_id
        severity = self.severity.get(check_id)
        if severity is None:
            severity = self.severity[check_id] = self.result.severity_of(finding).value
        resource = self.result.inventory.peek(finding.resource_id)
        return {
            "id": f"{check_id}/{number:04d}",
            "checkId": check_id,
            "verdict": finding.verdict.value,
            "severity": severity,
            "claims": self.claims_of.get(check_id, []),
            "resourceId": finding.resource_id,
            "resourceType": finding.resource_type,
            "message": finding.message,
            "warnings": list(finding.warnings),
            "excluded": finding.excluded or None,
            "evidence": [
                {
                    "path": e.path,
                    # A plain scalar is its own JSON (jsonable returns it unchanged): no call per value.
                    "observed": e.observed if type(e.observed) in _PLAIN else _observed(e.observed),
                    "expected": e.expected,
                }
                for e in finding.evidence
            ],
            "source": finding.source or self.default_source,
            "observedAt": finding.observed_at or self.started,
            "location": self._location(resource),
            "waiver": None
            if finding.waiver is None
            else {
                "justification": finding.waiver.justification,
                "expires": finding.waiver.expires,
                "owner": finding.waiver.owner,
            },
            **self._remediation(finding),
        }

    def _location(self, resource: Resource | None) -> dict[str, Any] | None:
        """source_location, once per component (the findings share the dict, as they share their claims list)."""
        if resource is None or not resource.origin.startswith("urn:pulumi:"):
            return self.location_of_none  # the input file (or nothing), whichever the resource
        if resource.origin not in self.location:
            self.location[resource.origin] = source_location(resource, self.inputs)
        return self.location[resource.origin]

    def _remediation(self, finding: Finding) -> dict[str, str]:
        if finding.verdict not in (Verdict.FAIL, Verdict.ERROR):
            return {}
        known = self.remediation.get(finding.check_id)
        if known is None:
            known = self.remediation[finding.check_id] = _remediation(finding, self.result)
        return known


def _remediation(finding: Finding, result: AuditResult) -> dict[str, str]:
    """What to do about a FAIL or an ERROR: the check's own CheckMeta.remediation (a checkov check's
    guideline when checkov gave one); nothing for other verdicts, or when no remediation is known."""
    if finding.verdict not in (Verdict.FAIL, Verdict.ERROR):
        return {}
    check = result.checks.get(finding.check_id)
    meta = check.meta if check is not None else result.extra_checks.get(finding.check_id)
    return {"remediation": meta.remediation} if meta is not None and meta.remediation else {}


def _counts(verdicts: Iterable[Verdict]) -> dict[str, int]:
    tally = Counter(v.value for v in verdicts)
    return {v: tally.get(v, 0) for v in VERDICTS}


def _check_verdicts(result: AuditResult) -> dict[str, Verdict]:
    """AuditResult.check_verdict of every check, each asked of its own findings only: asked of all
    findings it is a pass over every finding per check, 40 passes over 90,000 at scale."""
    by_check: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_check.setdefault(finding.check_id, []).append(finding)
    wanted = [*result.checks, *(i for i in result.extra_checks if i not in result.checks)]
    return {
        check_id: dataclasses.replace(result, findings=tuple(by_check.get(check_id, ()))).check_verdict(check_id)
        for check_id in wanted
    }


def inventory_section(inventory: Inventory) -> dict[str, Any]:
    resources = sorted(inventory, key=lambda r: r.id.lower())
    # Each resource's references, from the inventory's index of who points at whom (built once, and
    # usually already by the checks), instead of walking every body again.
    relations = sorted(
        {(source.id, r.id) for r in resources for source in inventory.refs_to(r)}
        | {(parent.id, r.id) for r in resources if (parent := inventory.parent(r)) is not None}
    )
    return {
        "resources": [
            {"id": r.id, "type": r.type, "name": r.name, "location": r.location, "source": r.source} for r in resources
        ],
        "relations": [{"from": a, "to": b} for a, b in relations],
    }


@collection_paused()  # a context manager is a decorator too: paused for the whole call
def build_results(
    result: AuditResult,
    *,
    source: str,
    stack: str | None,
    inputs: Sequence[Mapping[str, str]] = (),
    versions: Mapping[str, str] | None = None,
    collection: Mapping[str, Any] | None = None,
    drift: Mapping[str, Any] | None = None,
    baseline: Path | None = None,
    scope: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The canonical results document of ``result`` (every report renders only this), secrets scrubbed."""
    claims_of: dict[str, list[str]] = {}
    for claim_result in result.claims:
        for check_id in claim_result.claim.checks:
            claims_of.setdefault(check_id, []).append(claim_result.claim.id)
    findings = []
    counters: dict[str, int] = {}
    fields = _FindingFields(result, claims_of, inputs)
    for finding in result.findings:
        counters[finding.check_id] = counters.get(finding.check_id, 0) + 1
        findings.append(fields.of(finding, counters[finding.check_id]))
    verdict_of = _check_verdicts(result)
    params = result.params
    # Every report renders only this document: a string that was ever secret goes nowhere (redaction.py).
    document: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "compliance-checks", "version": __version__},
        "run": {
            "startedAt": _stamp(result.started_at),
            "finishedAt": _stamp(result.finished_at),
            "source": source,
            "stack": stack,
            "inputs": [dict(i) for i in inputs],
            "parameters": {
                "allowedLocations": sorted(params.allowed_locations),
                "minTlsVersion": params.min_tls_version,
                "maxLogRetentionDays": params.max_log_retention_days,
                "databasePort": params.database_port,
                "failOn": result.fail_on.value,
            },
            "versions": dict(versions if versions is not None else tool_versions()),
            **({"collection": dict(collection)} if collection is not None else {}),
        },
        "summary": {
            "claims": _counts([c.verdict for c in result.claims]),
            "findings": _counts([f.verdict for f in result.findings]),
            "waived": sum(1 for f in result.findings if f.waiver is not None),
            "excluded": sum(1 for f in result.findings if f.excluded),
            "documentFindings": len(result.document),
            "failOnDocument": result.fail_on_document,
            "layer": result.layer,
            "exitCode": result.exit_code,
        },
        "scope": None if scope is None else dict(scope),
        "claims": [
            {
                "id": c.claim.id,
                "title": c.claim.title,
                "kind": c.claim.kind,
                "text": {"de": list(c.claim.text_de), "en": list(c.claim.text_en)},
                "verdict": c.verdict.value,
                "layers": [
                    {
                        "layer": layer.layer,
                        "verdict": layer.verdict.value,
                        "checks": list(layer.checks),
                        "notRun": [n.check_id for n in layer.not_run],
                        "hint": layer.hint,
                        "summary": layer.describe(),
                    }
                    for layer in c.layers
                ],
                "controls": [
                    {"id": cid, "title": ctl.title if (ctl := _control(result, cid)) else cid}
                    for cid in c.claim.controls
                ],
                "checks": list(c.claim.checks),
                "mappings": {k: list(v) for k, v in sorted(c.claim.mappings.items())},
                "attestation": None
                if c.attestation_status is None
                else {
                    "owner": c.attestation.owner if c.attestation else "",
                    "date": c.attestation.date.isoformat() if c.attestation else "",
                    "document": c.attestation.document if c.attestation else "",
                    "expires": c.attestation.expires.isoformat() if c.attestation else "",
                    "sha256": c.attestation.sha256 if c.attestation else "",
                    "evidenceChecked": c.attestation is not None and c.attestation.evidence_file is not None,
                    "status": c.attestation_status,
                },
            }
            for c in result.claims
        ],
        "checks": [
            {
                "id": check.meta.id,
                "title": check.meta.title,
                "severity": check.meta.severity.value,
                "claims": claims_of.get(check.meta.id, []),
                "rationale": check.meta.rationale,
                "remediation": check.meta.remediation,
                "references": list(check.meta.references),
                "verdict": verdict_of[check.meta.id].value,
            }
            for check in result.checks.values()
        ]
        + [
            {
                "id": meta.id,
                "title": meta.title,
                "severity": meta.severity.value,
                "claims": list(meta.claims),
                "rationale": meta.rationale,
                "remediation": meta.remediation,
                "references": list(meta.references),
                "verdict": verdict_of[meta.id].value,
            }
            for meta in result.extra_checks.values()
            if meta.id not in result.checks
        ],
        "findings": findings,
        "document": [
            {
                "claimId": f.resource_id.rsplit("#", 1)[-1],
                "verdict": f.verdict.value,
                "aspect": f.evidence[0].path.removesuffix(" (de)") if f.evidence else "",
                "message": f.message,
                "de": str(f.evidence[0].observed) if f.evidence else "",
                "en": str(f.evidence[1].observed) if len(f.evidence) > 1 else "",
                "suggestion": _suggestion(f),
                "waiver": None
                if f.waiver is None
                else {"justification": f.waiver.justification, "expires": f.waiver.expires, "owner": f.waiver.owner},
            }
            for f in result.document
        ],
        "inventory": inventory_section(result.inventory),
        "drift": None if drift is None else dict(drift),
    }
    # Per framework, from the claims as reported (verdicts final): compliance_checks/report/frameworks.py.
    document["frameworks"] = framework_views(document["claims"], _framework_titles(result))
    if baseline is not None:  # audit --baseline FILE: compliance_checks/report/baseline.py
        document["comparison"] = compare_with_file(document["findings"], baseline)
    return dict(scrub_document(document))


def _framework_titles(result: AuditResult) -> Mapping[str, str]:
    """Each framework's edition, as claims.yaml names it (the audited catalogue, else the shipped one)."""
    from compliance_checks.catalog import Catalog, load_catalog

    catalog = result.context.get("catalog")
    return (catalog if isinstance(catalog, Catalog) else load_catalog()).frameworks


def _suggestion(finding: Finding) -> dict[str, Any] | None:
    """The suggested corrected sentences of a policy-text disagreement (German, English, the decision it needs)."""
    from compliance_checks.engine import SUGGESTION_DE, SUGGESTION_EN

    by_path = {e.path: e for e in finding.evidence}
    de, en = by_path.get(SUGGESTION_DE), by_path.get(SUGGESTION_EN)
    if de is None or en is None:
        return None
    return {
        "de": de.observed if isinstance(de.observed, str) else None,
        "en": en.observed if isinstance(en.observed, str) else None,
        "note": de.expected,
    }


def _control(result: AuditResult, control_id: str) -> Any:
    catalog = result.context.get("catalog")
    controls = getattr(catalog, "controls", {})
    return controls.get(control_id) if isinstance(controls, Mapping) else None
