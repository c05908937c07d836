"""Probe whether a TCP port can be reached from where the audit runs.

``probe_port`` resolves the host and tries a TCP connection to every address
it resolves to. The result is ``open`` if any address accepts, else
``refused`` or ``timeout`` if every address refused or stayed silent
(``timeout`` if any did). ``vantageIsAllowed`` says
whether the probe ran from the one allowed IP (then the
``probe_database_port_unreachable`` check does not apply). A DNS failure or
any other fault on some address (no route, network unreachable: that
address was not tested) gives a record with ``error`` set: an ERROR finding, never a PASS.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from compliance_checks.inventory import Resource


def probe_port(host: str, port: int, *, vantage_is_allowed: bool, timeout: float = 5) -> Resource:
    """Try ``host:port`` over TCP and return one ``Probe/reachability`` record."""
    body: dict[str, Any] = {"host": host, "port": port, "vantageIsAllowed": vantage_is_allowed}
    started = time.monotonic()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        body["elapsedMs"] = _elapsed(started)
        body["error"] = f"cannot resolve {host}: {' '.join(str(exc).split())}"
        return _record(host, port, body)

    attempts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for family, kind, proto, _, address in infos:
        ip = str(address[0])
        if ip in seen:
            continue
        seen.add(ip)
        attempts.append({"address": ip, "result": _connect(family, kind, proto, address, timeout)})
        if attempts[-1]["result"] == "open":
            break
    body["attempts"] = attempts
    body["elapsedMs"] = _elapsed(started)

    results = {a["result"] for a in attempts}
    if "open" in results:
        body["result"] = "open"
        return _record(host, port, body)
    if results and results <= {"refused", "timeout"}:
        body["result"] = "timeout" if "timeout" in results else "refused"
        return _record(host, port, body)
    faults = "; ".join(f"{a['address']}: {a['result']}" for a in attempts) or "no address"
    body["error"] = f"cannot tell whether {host}:{port} is reachable ({faults})"
    return _record(host, port, body)


def _connect(family: int, kind: int, proto: int, address: Any, timeout: float) -> str:
    with socket.socket(family, kind, proto) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except ConnectionRefusedError:
            return "refused"
        except TimeoutError:
            return "timeout"
        except OSError as exc:
            return " ".join(str(exc).split()) or type(exc).__name__
    return "open"


def _elapsed(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _record(host: str, port: int, body: dict[str, Any]) -> Resource:
    return Resource.create(
        id=f"probe:reachability/{host}:{port}",
        type="Probe/reachability",
        name=f"{host}:{port}",
        body=body,
        source="probe",
    )
