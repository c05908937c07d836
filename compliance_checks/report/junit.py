"""Canonical results -> JUnit XML, for CI systems that show test reports.

One ``<testsuite>`` per claim, named by the claim's ID and title. It has one
``<testcase>`` per finding of the claim's checks: the classname is the check
ID, the name is the resource ID.

======================  =======================================================
verdict                 element
======================  =======================================================
PASS                    none (the testcase passes)
FAIL                    ``<failure message=… type=severity>``, evidence as text
FAIL, waived            ``<skipped message="waived: …">``
ERROR                   ``<error message=… type=severity>``
MANUAL, NOT_APPLICABLE  ``<skipped message=…>``
NOT_RUN                 ``<skipped message="not run: …">``
any other               ``<error>`` (never a pass)
======================  =======================================================

A claim without findings (an organisational claim, resting on an attestation)
gets one testcase for its attestation: valid passes, expired fails and missing
is skipped. A finding's WARN cautions (a certificate about to expire) go to its
testcase's ``<system-out>`` as ``WARN: …`` lines, whatever the verdict. A final ``<testsuite name="policy-text">`` holds the policy-text
findings. Every suite and the ``<testsuites>`` root carry correct tests,
failures, errors and skipped counts. Timestamps are ``run.startedAt`` in UTC,
written without a zone as the JUnit schema wants.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from compliance_checks.redaction import scrub_text

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
POLICY_SUITE = "policy-text"
DOCUMENT_CLASSNAME = "policy_text_consistency"
ATTESTATION_CLASSNAME = "attestation"
COUNTED = ("failure", "error", "skipped")

# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class _Outcome:
    kind: str  # failure | error | skipped
    message: str
    type: str = ""
    text: str = ""


@dataclass(frozen=True)
class _Case:
    classname: str
    name: str
    outcome: _Outcome | None = None
    warnings: tuple[str, ...] = ()  # WARN cautions, in <system-out> (a passing testcase has no other text)


def render_junit(results: Mapping[str, Any]) -> str:
    """The JUnit XML report (with its UTF-8 declaration) of one audit."""
    return "".join(junit_chunks(results))


def write_junit(results: Mapping[str, Any], path: Path) -> None:
    """junit.xml written piece by piece (:func:`junit_chunks`): memory grows with one suite's cases, not the file."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(junit_chunks(results))


def junit_chunks(results: Mapping[str, Any]) -> Iterator[str]:
    """The JUnit XML report in pieces: the text ElementTree writes after ``ET.indent(root, space="  ")``,
    written directly (an element tree of 90,000 test cases costs more to build and indent than to write)."""
    run = results["run"]
    stamp = _junit_timestamp(run["startedAt"])
    checks = {check["id"]: check for check in results["checks"]}
    by_check: dict[str, list[Mapping[str, Any]]] = {}
    for finding in results["findings"]:
        by_check.setdefault(finding["checkId"], []).append(finding)

    suites: list[_Suite] = []
    for claim in results["claims"]:
        cases = [
            _finding_case(finding, checks.get(check_id))
            for check_id in dict.fromkeys(claim["checks"])
            for finding in by_check.get(check_id, [])
        ]
        if not cases:
            cases = [_attestation_case(claim)]
        suites.append(_suite(f"{claim['id']}: {claim['title']}", stamp, cases, _claim_properties(claim)))
    claimed = {check_id for claim in results["claims"] for check_id in claim["checks"]}
    unclaimed = [f for f in results["findings"] if f["checkId"] not in claimed]
    if unclaimed:
        # checkov's built-in and custom checks belong to no claim of the policy: their own suite.
        suites.append(_suite("checkov", stamp, [_finding_case(f, checks.get(f["checkId"])) for f in unclaimed]))
    gated = bool(results["summary"].get("failOnDocument", True))
    suites.append(_suite(POLICY_SUITE, stamp, [_document_case(item, gated) for item in results["document"]]))

    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.attributes.get(key, "0"))
    root_attributes = {"name": _root_name(results), **{k: str(v) for k, v in totals.items()}, "timestamp": stamp}
    duration = _seconds(run["startedAt"], run["finishedAt"])
    if duration is not None:
        root_attributes["time"] = f"{duration:.3f}"
    yield XML_DECLARATION + "<testsuites" + _attributes(root_attributes) + ">"
    for suite in suites:
        # Characters XML cannot carry went from each value before it was escaped (_attribute, _x).
        yield from _suite_xml(suite)
    yield "\n</testsuites>\n"


# --- suites and cases ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Suite:
    attributes: Mapping[str, str]
    properties: Sequence[tuple[str, str]]
    cases: Sequence[_Case]


def _suite(name: str, stamp: str, cases: Sequence[_Case], properties: Sequence[tuple[str, str]] = ()) -> _Suite:
    counts = dict.fromkeys(COUNTED, 0)
    for case in cases:
        if case.outcome is not None and case.outcome.kind in counts:
            counts[case.outcome.kind] += 1
    attributes = {
        "name": _x(name),
        "tests": str(len(cases)),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "timestamp": stamp,
    }
    return _Suite(attributes, [(_x(key), _x(value)) for key, value in properties], cases)


def _suite_xml(suite: _Suite) -> Iterator[str]:
    """One ``<testsuite>`` at depth 1, indented as ET.indent does: each child on its own line, two spaces a level."""
    head = "\n  <testsuite" + _attributes(suite.attributes)
    if not suite.properties and not suite.cases:
        yield head + " />"
        return
    parts = [head + ">"]
    if suite.properties:
        parts.append("\n    <properties>")
        parts.extend(
            f'\n      <property name="{_attribute(key)}" value="{_attribute(value)}" />'
            for key, value in suite.properties
        )
        parts.append("\n    </properties>")
    for number, case in enumerate(suite.cases, start=1):
        parts.append(_case_xml(case))
        if number % 1000 == 0:  # a suite of 90,000 cases goes out in pieces
            yield "".join(parts)
            parts = []
    parts.append("\n  </testsuite>")
    yield "".join(parts)


def _case_xml(case: _Case) -> str:
    head = f'\n    <testcase classname="{_attribute(case.classname)}" name="{_attribute(case.name)}"'
    if case.outcome is None and not case.warnings:
        return head + " />"
    children = []
    if case.outcome is not None:
        attributes = {"message": case.outcome.message}
        if case.outcome.type:
            attributes["type"] = case.outcome.type
        element = f"\n      <{case.outcome.kind}{_attributes(attributes)}"
        text = _x(case.outcome.text) if case.outcome.text else ""
        children.append(f"{element}>{_text(text)}</{case.outcome.kind}>" if text else element + " />")
    if case.warnings:
        text = _x("\n".join(f"WARN: {text}" for text in case.warnings))
        children.append(f"\n      <system-out>{_text(text)}</system-out>" if text else "\n      <system-out />")
    return head + ">" + "".join(children) + "\n    </testcase>"


def _attributes(attributes: Mapping[str, str]) -> str:
    return "".join(f' {key}="{_attribute(value)}"' for key, value in attributes.items())


# As ElementTree escapes: "&" first, so that no reference written here is escaped again.
_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ATTRIBUTE_ESCAPES = (*_TEXT_ESCAPES, ('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;"))


def _escaped(text: str, escapes: tuple[tuple[str, str], ...]) -> str:
    for char, reference in escapes:
        if char in text:  # most texts hold none: a test is cheaper than a copy
            text = text.replace(char, reference)
    return text


def _attribute(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it (line breaks and tabs as character references),
    without the characters XML cannot carry: dropped before escaping, so that a secret they split is
    scrubbed whole (_x), not after, when "&" or "<" in it would already be a reference the scrub misses.
    ``isprintable`` first: true for nearly every value and only for text none of whose characters is dropped."""
    return _escaped(text if text.isprintable() else _x(text), _ATTRIBUTE_ESCAPES)


def _text(text: str) -> str:
    """Element text escaped as ElementTree escapes it (the callers dropped what XML cannot carry: _x)."""
    return _escaped(text, _TEXT_ESCAPES)


def _claim_properties(claim: Mapping[str, Any]) -> list[tuple[str, str]]:
    properties = [("claim", claim["id"]), ("kind", claim["kind"]), ("verdict", claim["verdict"])]
    if claim["controls"]:
        properties.append(("controls", ", ".join(c["id"] for c in claim["controls"])))
    for framework, references in claim["mappings"].items():
        if references:
            properties.append((f"mapping.{framework}", "; ".join(references)))
    return properties


def _finding_case(finding: Mapping[str, Any], check: Mapping[str, Any] | None) -> _Case:
    case = _verdict_case(finding, check)
    warnings = tuple(finding.get("warnings") or ())
    return replace(case, warnings=warnings) if warnings else case


def _verdict_case(finding: Mapping[str, Any], check: Mapping[str, Any] | None) -> _Case:
    return _Case(finding["checkId"], finding["resourceId"], _verdict_outcome(finding, check))


def _verdict_outcome(finding: Mapping[str, Any], check: Mapping[str, Any] | None) -> _Outcome | None:
    verdict = finding["verdict"]
    if verdict == "PASS" and not finding.get("excluded"):
        return None  # the common case first: a passing testcase
    message = finding["message"]
    if finding.get("excluded"):  # a probe of a host outside the audited stack: reported, never counted
        return _Outcome("skipped", f"not counted: {finding['excluded']}")
    if verdict == "FAIL":
        waiver = finding["waiver"]
        if waiver:
            return _Outcome("skipped", _waived(waiver))
        return _Outcome("failure", message, finding["severity"], _details(finding, check))
    if verdict == "ERROR":
        return _Outcome("error", message, finding["severity"], _details(finding, check))
    if verdict == "MANUAL":
        return _Outcome("skipped", f"manual: {message}")
    if verdict == "NOT_APPLICABLE":
        return _Outcome("skipped", f"not applicable: {message}")
    if verdict == "NOT_RUN":  # the schema allows it on a finding: nothing was verified, so never a pass
        return _Outcome("skipped", f"not run: {message}")
    # A verdict this writer does not know (a newer document): not a pass, which a CI gate would trust.
    return _Outcome("error", f"verdict {verdict}: {message}", finding["severity"], _details(finding, check))


def _waived(waiver: Mapping[str, Any]) -> str:
    extra = [f"owner {waiver['owner']}"] if waiver.get("owner") else []
    extra.append(f"expires {waiver['expires']}")
    return f"waived: {waiver['justification']} ({', '.join(extra)})"


def _attestation_case(claim: Mapping[str, Any]) -> _Case:
    name = f"{claim['id']} attestation"
    attestation = claim["attestation"]
    if attestation is None:
        # Nothing to attest and nothing checked: report what the claim's verdict says.
        verdict = claim["verdict"]
        message = f"no finding and no attestation (claim verdict {verdict})"
        kinds = {
            "FAIL": "failure",
            "ERROR": "error",
            "MANUAL": "skipped",
            "NOT_APPLICABLE": "skipped",
            "NOT_RUN": "skipped",
        }
        return _Case(ATTESTATION_CLASSNAME, name, _Outcome(kinds[verdict], message) if verdict in kinds else None)
    status = attestation["status"]
    described = _attestation_text(attestation)
    if status == "valid":
        return _Case(ATTESTATION_CLASSNAME, name)
    if status == "expired":
        message = f"attestation expired on {attestation['expires']}"
        return _Case(ATTESTATION_CLASSNAME, name, _Outcome("failure", message, "attestation-expired", described))
    return _Case(ATTESTATION_CLASSNAME, name, _Outcome("skipped", "attestation missing: no signed statement on record"))


def _attestation_text(attestation: Mapping[str, Any]) -> str:
    lines = [
        f"Document: {attestation['document'] or '(none)'}",
        f"Owner: {attestation['owner'] or '(none)'}",
        f"Signed: {attestation['date'] or '(unknown)'}",
        f"Expires: {attestation['expires'] or '(unknown)'}",
    ]
    return "\n".join(lines)


def _document_case(item: Mapping[str, Any], gated: bool = True) -> _Case:
    name = f"{item['claimId']}/{item['aspect']}" if item["aspect"] else item["claimId"]
    text = f"German: {item['de'] or ''}\nEnglish: {item['en'] or ''}"
    verdict, message = item["verdict"], item["message"]
    # The outcome follows the document's own gate: decided by a waiver, or not gated without --fail-on-document.
    if item.get("waiver"):
        return _Case(DOCUMENT_CLASSNAME, name, _Outcome("skipped", _waived(item["waiver"])))
    if not gated:
        return _Case(DOCUMENT_CLASSNAME, name, _Outcome("skipped", f"not gated (--fail-on-document): {message}"))
    outcome = {
        "FAIL": _Outcome("failure", message, POLICY_SUITE, text),
        "ERROR": _Outcome("error", message, POLICY_SUITE, text),
        "MANUAL": _Outcome("skipped", f"manual: {message}"),
        "NOT_APPLICABLE": _Outcome("skipped", f"not applicable: {message}"),
        "NOT_RUN": _Outcome("skipped", f"not run: {message}"),
        "PASS": None,
    }.get(verdict, _Outcome("error", f"verdict {verdict}: {message}", POLICY_SUITE, text))  # never a pass
    return _Case(DOCUMENT_CLASSNAME, name, outcome)


def _details(finding: Mapping[str, Any], check: Mapping[str, Any] | None) -> str:
    resource = finding["resourceId"] + (f" ({finding['resourceType']})" if finding["resourceType"] else "")
    lines = [
        f"Finding: {finding['id']}",
        f"Resource: {resource}",
        f"Severity: {finding['severity']}; claims: {', '.join(finding['claims']) or '(none)'}",
    ]
    if finding["evidence"]:
        lines.append("Evidence:")
        lines.extend(
            f"  {item['path']}: observed {show_observed(item['observed'])}, expected {item['expected']}"
            for item in finding["evidence"]
        )
    where = finding["location"]
    if where:
        lines.append(f"Location: {where['uri']}" + (f":{where['line']}" if where.get("line") else ""))
    if check is not None and check["remediation"]:
        lines.append(f"Remediation: {check['remediation']}")
    lines.append(f"Observed at {finding['observedAt']} from {finding['source']}")
    return "\n".join(lines)


# --- values --------------------------------------------------------------------------------------

_TAGS = {"$missing": "(not set)", "$unknown": "(unknown)", "$secret": "[secret]"}


def show_observed(value: Any) -> str:
    """An observed value from the canonical JSON, shown as every report shows it."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, flag),) = value.items()
        if key in _TAGS and flag is True:
            return _TAGS[key]
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _x(text: str) -> str:
    """Text XML 1.0 can carry: characters it cannot are dropped.

    Dropping joins what was around them: a secret with such a character inside ("pass\x00word...") would
    come out whole, where results.json (scrubbed before) holds it split. So text that lost a character is
    scrubbed again (rarely: most text has none to drop, and then costs only the search).
    """
    kept, dropped = _NOT_XML.subn("", text)
    return scrub_text(kept) if dropped else kept


def _parse(stamp: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _junit_timestamp(stamp: str) -> str:
    moment = _parse(stamp)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment is not None else _x(stamp)


def _seconds(started: str, finished: str) -> float | None:
    start, end = _parse(started), _parse(finished)
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


def _root_name(results: Mapping[str, Any]) -> str:
    run = results["run"]
    parts: Iterable[str] = (results["tool"]["name"], run["source"], run["stack"] or "")
    return _x(" ".join(p for p in parts if p))
