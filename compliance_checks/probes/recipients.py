"""Undisclosed recipients: the hosts outside the portal's own origins that a visitor's browser contacted.

Every request a page makes hands the visitor's IP address (and often the page
URL as referrer) to the host it goes to; a host that is not the portal's own
and not a recipient the privacy policy discloses is an undisclosed recipient
(Art. 13(1)(e) GDPR; LG München I, judgment of 20 January 2022, 3 O 17493/20,
on Google Fonts). Fonts, scripts and images from CDNs count like any other.

The disclosed recipients and the portal's own hosts come from
``compliance_checks/catalog/recipients.yaml`` (:func:`load_recipients`); the
browser probe calls :func:`undisclosed_recipients` with the hosts its requests
went to. Matching is by host name, exact or ``*.domain`` for subdomains:
a registrable-domain shortcut would make ``evil.azurewebsites.net`` the
portal's own because ``portal.azurewebsites.net`` is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from compliance_checks.errors import InputError
from compliance_checks.yaml_input import parse_yaml

RECIPIENTS_FILE = Path(__file__).resolve().parent.parent / "catalog" / "recipients.yaml"


@dataclass(frozen=True)
class Recipient:
    name: str
    claim: str  # the claim of claims.yaml that discloses it
    hosts: tuple[str, ...]  # exact hosts or "*.domain"


@dataclass(frozen=True)
class Recipients:
    own_hosts: tuple[str, ...]
    recipients: tuple[Recipient, ...]

    def disclosed_by(self, host: str) -> Recipient | None:
        for recipient in self.recipients:
            if any(host_matches(pattern, host) for pattern in recipient.hosts):
                return recipient
        return None


def normalise_host(value: str) -> str:
    """A host from a host name or a URL/origin: lower case, no trailing dot, no brackets, no port."""
    text = value.strip()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    elif text.count(":") == 1:  # host:port (an IPv6 address has several colons)
        text = text.partition(":")[0]
    return text.lower().rstrip(".").strip("[]")


def host_matches(pattern: str, host: str) -> bool:
    """``*.example.org`` matches every subdomain of example.org (not example.org); anything else exactly."""
    host = normalise_host(host)
    pattern = pattern.strip().lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return normalise_host(pattern) == host


def undisclosed_recipients(
    hosts: Iterable[str],
    own_origins: Iterable[str],
    disclosed: Recipients | None = None,
) -> list[str]:
    """Every host of ``hosts`` that is neither one of ``own_origins`` (hosts or URLs, plus the catalogue's
    ``own_hosts``) nor a disclosed recipient's host, sorted and without duplicates.

    ``disclosed``: the catalogue's recipients (default: :func:`load_recipients`). An empty host (a request
    whose URL had none) is returned as ``""``: something was contacted that cannot be named, which is not
    a disclosed recipient either.
    """
    catalogue = disclosed if disclosed is not None else load_recipients()
    own = [normalise_host(origin) for origin in own_origins] + list(catalogue.own_hosts)
    found = set()
    for raw in hosts:
        host = normalise_host(raw)
        if any(host_matches(pattern, host) for pattern in own):
            continue
        if catalogue.disclosed_by(host) is None:
            found.add(host)
    return sorted(found)


def _fail(place: str, problem: str) -> InputError:
    return InputError(RECIPIENTS_FILE.name, place, problem)


def _hosts(value: Any, place: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(place, "expected a list of host names")
    return tuple(v.strip().lower() for v in value)


def parse_recipients(document: Any, claim_ids: Iterable[str] | None = None) -> Recipients:
    """Validate a parsed recipients.yaml; ``claim_ids`` (when given) are the claims a recipient may name."""
    if not isinstance(document, Mapping) or set(document) - {"version", "own_hosts", "recipients"}:
        raise _fail("top level", "expected a mapping with version, own_hosts and recipients")
    own = _hosts(document.get("own_hosts", []), "own_hosts")
    entries = document.get("recipients")
    if not isinstance(entries, list):
        raise _fail("recipients", "expected a list")
    known = set(claim_ids) if claim_ids is not None else None
    recipients = []
    for index, entry in enumerate(entries):
        place = f"recipients[{index}]"
        if not isinstance(entry, Mapping) or set(entry) != {"name", "claim", "hosts"}:
            raise _fail(place, "expected a mapping with name, claim and hosts")
        name, claim = entry["name"], entry["claim"]
        if not isinstance(name, str) or not name.strip():
            raise _fail(f"{place}.name", "expected a non-empty string")
        if not isinstance(claim, str) or (known is not None and claim not in known):
            raise _fail(f"{place}.claim", f"unknown claim {claim!r}")
        recipients.append(Recipient(name.strip(), claim, _hosts(entry["hosts"], f"{place}.hosts")))
    return Recipients(own, tuple(recipients))


@functools.cache
def load_recipients(path: Path = RECIPIENTS_FILE) -> Recipients:
    """The catalogue's recipients, each claim checked against claims.yaml."""
    from compliance_checks.catalog import load_catalog

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail("", f"cannot read: {exc.strerror or exc}") from None
    claims = [claim.id for claim in load_catalog().claims]
    return parse_recipients(parse_yaml(text, path.name), claims)


__all__ = ["Recipient", "Recipients", "load_recipients", "parse_recipients", "undisclosed_recipients"]
