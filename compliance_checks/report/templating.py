"""The Jinja2 templates and message catalogues of the human-readable reports (HTML, PDF, Markdown).

``templates/report.html.j2`` and ``templates/report.md.j2`` hold the layout;
``templates/messages.<lang>.yaml`` hold every fixed text in one language, so a
translator edits one YAML file and no code. The HTML environment escapes
every value (autoescape); the Markdown one escapes table cells itself
(markdown.py's ``cell`` filter).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compliance_checks.errors import CatalogError, UsageError
from compliance_checks.redaction import scrub_text

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"


def check_language(lang: str) -> str:
    """``lang`` if a report can be written in it, else a UsageError naming the choices."""
    if lang not in LANGUAGES:
        raise UsageError(f"--lang: unknown language {lang!r} (choose from {', '.join(LANGUAGES)})")
    return lang


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a message (what the report fills in)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


@functools.cache
def messages(lang: str) -> Mapping[str, str]:
    """The texts of one language; a catalogue that is not a mapping of strings is a CatalogError (a bug here)."""
    import yaml

    path = TEMPLATES / f"messages.{check_language(lang)}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise CatalogError(f"{path}: expected a mapping of message keys to strings")
    if lang != DEFAULT_LANGUAGE:  # a key missing in a translation would fail only when that text is rendered
        reference = messages(DEFAULT_LANGUAGE)
        if set(data) != set(reference):
            differing = sorted(set(data) ^ set(reference))
            raise CatalogError(f"{path}: keys differ from messages.{DEFAULT_LANGUAGE}.yaml: {', '.join(differing)}")
        for key, text in data.items():
            if placeholders(text) != placeholders(reference[key]):
                raise CatalogError(f"{path}: {key}: placeholders differ from messages.{DEFAULT_LANGUAGE}.yaml")
    return data


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **fields)``: the message in ``lang`` with its fields filled in (escaped on output by the template)."""
    catalogue = messages(lang)

    def t(key: str, **fields: Any) -> str:
        return catalogue[key].format_map(fields)

    return t


def suggestion_of(item: Mapping[str, Any]) -> dict[str, str] | None:
    """The corrected sentences a policy-text finding suggests (``{"de", "en", "note"}``), or None.

    Read as ``suggestion: {de, en, note}`` or as ``suggestionDe``/``suggestionEn``/``suggestionNote``
    (compliance_checks/policy_text.py keeps them as suggestion_de, suggestion_en, suggestion_note).
    """
    nested = item.get("suggestion")
    if isinstance(nested, str):
        nested = {"en": nested} if nested else None
    source: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
    found = {
        "de": source.get("de") or item.get("suggestionDe") or "",
        "en": source.get("en") or item.get("suggestionEn") or "",
        "note": source.get("note") or item.get("suggestionNote") or "",
    }
    return {k: str(v) for k, v in found.items()} if any(found.values()) else None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def finished(text: str) -> str:
    """A rendered report as it may be written: UTF-8 encodable, and no secret formed by the rendering.

    A lone surrogate (a file name that is not UTF-8 reaches Python as one, PEP 383) cannot be written as
    UTF-8: it becomes U+FFFD. A template joins, clips and re-spells values (a Markdown cell's line breaks
    become spaces), which can form a remembered secret out of parts that were none (redaction.py): the
    whole text is scrubbed once more.
    """
    if _LONE_SURROGATE.search(text) is not None:
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return scrub_text(text)


@functools.cache
def environment(*, autoescape: bool) -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # only when a report is rendered

    # StrictUndefined: a misspelt field in a template is an error in the tests, not an empty cell in a report.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
