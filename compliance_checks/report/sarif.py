"""Canonical results -> SARIF 2.1.0: one run, for GitHub code scanning and any SARIF viewer.

* Rules are all checks, in the results' order, then ``policy_text_consistency``
  for disagreements between the German and the English policy text.
* Results are the findings that need attention: FAIL (level ``error``), ERROR
  (``warning``: nothing was verified) and MANUAL (``note``). PASS and
  NOT_APPLICABLE are not results, unless they carry WARN cautions (then
  ``note``, the cautions after the message and in ``properties.warnings``). ``kind`` is left at its default ``fail``
  because SARIF requires level ``none`` for every other kind; the verdict is
  in the result's properties.
* A waived finding stays a result, with an accepted external suppression.
* ``partialFingerprints`` hash the check ID and the resource ID (lower-cased,
  as ARM IDs are case-insensitive). They do not depend on the finding's serial
  number or on where it sits in the list, so an alert keeps its identity
  between runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
DOCUMENT_RULE_ID = "policy_text_consistency"
DEFAULT_POLICY_URI = "compliance_checks/catalog/privacy-policy.txt"
FINGERPRINT_KEY = "checkAndResource/v1"

LEVELS: Mapping[str, str] = {"FAIL": "error", "ERROR": "warning", "MANUAL": "note"}
# The level of a PASS (or NOT_APPLICABLE) finding that carries WARN cautions.
WARN_LEVEL = "note"
SECURITY_SEVERITY: Mapping[str, str] = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
DOCUMENT_SEVERITY = "medium"
EXIT_CODES: Mapping[int, str] = {
    0: "every promise verified as kept",
    1: "a promise is broken",
    2: "something could not be verified",
}

_URI_SAFE = "/:@!$&'()*+,;=-._~"


def write_sarif(results: Mapping[str, Any], path: Path) -> None:
    """results.sarif: the log of :func:`render_sarif`, compact like results.json (a tool reads it; one
    result per finding that is not a plain PASS, so its size follows the problems, not the estate)."""
    path.write_text(json.dumps(render_sarif(results), separators=(",", ":")) + "\n", encoding="utf-8")


def render_sarif(results: Mapping[str, Any], *, policy_uri: str = DEFAULT_POLICY_URI) -> dict[str, Any]:
    """The SARIF log (a JSON-ready dict) of one audit. ``policy_uri`` locates policy-text findings."""
    run = results["run"]
    rules, rule_index = _rules(results["checks"], results["findings"], results["document"])
    inputs = _unique_inputs(run["inputs"])
    fallback_uri = _uri(inputs[0]["path"]) if inputs else None

    # A PASS or NOT_APPLICABLE with a WARN is a result too (level "note"): a caution must reach the code-scanning view.
    sarif_results = [
        _finding_result(finding, rule_index, fallback_uri)
        for finding in results["findings"]
        if finding["verdict"] in LEVELS or finding.get("warnings")
    ]
    sarif_results += [
        _document_result(item, rule_index, _uri(policy_uri))
        for item in results["document"]
        if item["verdict"] in LEVELS
    ]

    summary = results["summary"]
    exit_code = int(summary["exitCode"])
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "exitCode": exit_code,
        "startTimeUtc": _utc(run["startedAt"]),
        "endTimeUtc": _utc(run["finishedAt"]),
    }
    if exit_code in EXIT_CODES:
        invocation["exitCodeDescription"] = EXIT_CODES[exit_code]

    sarif_run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": results["tool"]["name"],
                "version": results["tool"]["version"],
                "rules": rules,
            }
        },
        "invocations": [invocation],
        "automationDetails": {"id": f"{results['tool']['name']}/{run['stack'] or 'no-stack'}/{run['source']}/"},
    }
    if inputs:
        sarif_run["artifacts"] = [
            {
                "location": {"uri": _uri(item["path"])},
                "roles": ["analysisTarget"],
                "hashes": {"sha-256": item["sha256"]},
            }
            for item in inputs
        ]
    sarif_run["results"] = sarif_results
    sarif_run["properties"] = {
        "schemaVersion": results["schemaVersion"],
        "source": run["source"],
        "stack": run["stack"],
        "parameters": dict(run["parameters"]),
        "versions": dict(run["versions"]),
        "summary": dict(summary),
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [sarif_run]}


# --- rules ------------------------------------------------------------------------------------


def _rule_name(rule_id: str) -> str:
    """``webapp_https_only`` -> ``WebappHttpsOnly`` (SARIF wants an identifier-like name)."""
    return "".join(part[:1].upper() + part[1:] for part in rule_id.split("_") if part)


def _tags(claims: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(["compliance", "security", "privacy", *claims]))


def _rule(
    rule_id: str,
    *,
    title: str,
    rationale: str,
    remediation: str,
    severity: str,
    claims: Sequence[str],
    references: Sequence[str] = (),
) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": _rule_name(rule_id),
        "shortDescription": {"text": title or rule_id},
        "fullDescription": {"text": rationale or title or rule_id},
        "help": {"text": remediation or "No remediation recorded."},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "severity": severity,
            "claims": list(claims),
            "security-severity": SECURITY_SEVERITY.get(severity, SECURITY_SEVERITY["medium"]),
            "tags": _tags(claims),
        },
    }
    if references:
        rule["helpUri"] = references[0]
    return rule


def _rules(
    checks: Sequence[Mapping[str, Any]],
    findings: Sequence[Mapping[str, Any]],
    document: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for check in checks:
        if check["id"] in index:
            continue
        index[check["id"]] = len(rules)
        rules.append(
            _rule(
                check["id"],
                title=check["title"],
                rationale=check["rationale"],
                remediation=check["remediation"],
                severity=check["severity"],
                claims=check["claims"],
                references=check["references"],
            )
        )
    # A finding of a check the document does not describe still needs a rule to point at.
    for finding in findings:
        if finding["checkId"] not in index:
            index[finding["checkId"]] = len(rules)
            rules.append(
                _rule(
                    finding["checkId"],
                    title=finding["checkId"],
                    rationale="",
                    remediation="",
                    severity=finding["severity"],
                    claims=finding["claims"],
                )
            )
    if DOCUMENT_RULE_ID not in index:
        index[DOCUMENT_RULE_ID] = len(rules)
        rules.append(
            _rule(
                DOCUMENT_RULE_ID,
                title="The German and the English privacy policy make the same promises",
                rationale=(
                    "Both language versions of the privacy policy are published and binding for their readers. "
                    "Where they disagree about a fact (a country, a period, a recipient), at least one of them "
                    "misinforms the data subject."
                ),
                remediation="Correct the policy text so that both languages state the same fact, then audit again.",
                severity=DOCUMENT_SEVERITY,
                claims=list(dict.fromkeys(item["claimId"] for item in document)),
            )
        )
    return rules, index


# --- results ----------------------------------------------------------------------------------


def _fingerprint(*parts: str) -> str:
    # surrogatepass: an ID with a lone surrogate (a file name that is not UTF-8, PEP 383) still has a hash.
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _with_claims(message: str, claims: Sequence[str]) -> str:
    text = message.strip()
    if claims:
        label = "claim" if len(claims) == 1 else "claims"
        text += f" ({label}: {', '.join(claims)})"
    return text


def _with_warnings(finding: Mapping[str, Any]) -> str:
    """The message, with each WARN caution after it (the verdict stays in properties.verdict)."""
    warnings = finding.get("warnings") or []
    text = str(finding["message"]).strip()
    if not warnings:
        return text
    return f"{text} " + " ".join(f"WARN: {w.strip()}" for w in warnings)


def _resource_name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or resource_id


def _finding_result(
    finding: Mapping[str, Any], rule_index: Mapping[str, int], fallback_uri: str | None
) -> dict[str, Any]:
    check_id = finding["checkId"]
    resource_id = finding["resourceId"]

    location: dict[str, Any] = {}
    where = finding["location"]
    if where:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(where["uri"])}}
        if where.get("line"):
            physical["region"] = {"startLine": int(where["line"])}
        location["physicalLocation"] = physical
    elif fallback_uri is not None:
        location["physicalLocation"] = {"artifactLocation": {"uri": fallback_uri}}
    logical: dict[str, Any] = {
        "name": _resource_name(resource_id),
        "fullyQualifiedName": resource_id,
        "kind": "resource",
    }
    if finding["resourceType"]:
        logical["properties"] = {"resourceType": finding["resourceType"]}
    location["logicalLocations"] = [logical]

    result: dict[str, Any] = {
        "ruleId": check_id,
        "ruleIndex": rule_index[check_id],
        "level": LEVELS.get(finding["verdict"], WARN_LEVEL),
        "message": {"text": _with_claims(_with_warnings(finding), finding["claims"])},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(check_id, resource_id.lower())},
    }
    waiver = finding["waiver"]
    if waiver:
        result["suppressions"] = [
            {
                "kind": "external",
                "state": "accepted",
                "justification": waiver["justification"],
                "properties": {"owner": waiver["owner"], "expires": waiver["expires"]},
            }
        ]
    result["properties"] = {
        "findingId": finding["id"],
        "verdict": finding["verdict"],
        "severity": finding["severity"],
        "claims": list(finding["claims"]),
        "resourceId": resource_id,
        "resourceType": finding["resourceType"],
        "source": finding["source"],
        "observedAt": finding["observedAt"],
        "evidence": [dict(item) for item in finding["evidence"]],
    }
    if finding.get("warnings"):
        result["properties"]["warnings"] = list(finding["warnings"])
    if finding.get("excluded"):  # a probe of a host outside the audited stack: shown, but no alert for this estate
        result["level"] = "note"
        result["properties"]["excluded"] = finding["excluded"]
    return result


def _document_result(item: Mapping[str, Any], rule_index: Mapping[str, int], policy_uri: str) -> dict[str, Any]:
    aspect = item["aspect"]
    detail = f'{aspect or "text"}: German "{item["de"] or ""}", English "{item["en"] or ""}"'
    result = _document_body(item, rule_index, policy_uri, detail)
    waiver = item.get("waiver")
    if waiver:  # the organisation's recorded decision on this disagreement (waivers file, document section)
        result["suppressions"] = [
            {
                "kind": "external",
                "state": "accepted",
                "justification": waiver["justification"],
                "properties": {"owner": waiver["owner"], "expires": waiver["expires"]},
            }
        ]
    return result


def _document_body(
    item: Mapping[str, Any], rule_index: Mapping[str, int], policy_uri: str, detail: str
) -> dict[str, Any]:
    claim_id, aspect = item["claimId"], item["aspect"]
    return {
        "ruleId": DOCUMENT_RULE_ID,
        "ruleIndex": rule_index[DOCUMENT_RULE_ID],
        "level": LEVELS[item["verdict"]],
        "message": {"text": _with_claims(f"{item['message'].strip()} [{detail}]", [claim_id])},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": policy_uri}}}],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(DOCUMENT_RULE_ID, claim_id, aspect)},
        "properties": {
            "verdict": item["verdict"],
            "severity": DOCUMENT_SEVERITY,
            "claims": [claim_id],
            "aspect": aspect,
            "de": item["de"],
            "en": item["en"],
        },
    }


# --- helpers ------------------------------------------------------------------------------------


def _uri(path: str) -> str:
    """A repository path as a relative URI reference (forward slashes, percent-encoded where needed)."""
    # surrogateescape: a file name that is not UTF-8 (PEP 383) is percent-encoded as the bytes it was.
    return quote(path.replace("\\", "/"), safe=_URI_SAFE, errors="surrogateescape")


def _unique_inputs(inputs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    seen: dict[tuple[str, str], Mapping[str, Any]] = {}
    for item in inputs:
        seen.setdefault((item["path"], item["sha256"]), item)
    return list(seen.values())


def _utc(stamp: str) -> str:
    """An RFC 3339 timestamp in UTC with a Z, as SARIF asks; unparsable text is passed through."""
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"
