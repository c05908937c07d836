"""A tamper-evident manifest for a report directory, and its verifier.

``manifest.json`` records what produced the reports: the tool, the run's source,
stack and start time, the input files with their SHA-256 and the versions in
use. It also lists every artefact's path (the probes' evidence under
``evidence/`` included: the browser's HAR and one screenshot per page) (relative to the directory, with
forward slashes), its size and its SHA-256. ``manifest.sha256`` beside it holds
the SHA-256 of ``manifest.json`` in ``sha256sum`` format, so
``sha256sum -c manifest.sha256`` works in that directory.

:func:`verify_manifest` reports, one line each and naming the file, any
artefact that is missing, has a different size or has different content, any
file the manifest does not list, and a manifest that is missing, malformed or
edited since it was written.

An audit that fails after it has started (bad input, an interruption, a
crash) leaves no report that looks finished: :func:`invalidate` removes the
report files of the previous run from the output directory and leaves an
``INVALID`` file saying why, and :func:`check_report_directory` (which
``verify-report`` runs first) refuses such a directory, a missing one, a file
and an unreadable manifest as input errors (exit 2), not as tampering.

The manifest shows changes; it does not prove who wrote it. Anyone who can
rewrite the directory can also rewrite the manifest and its hash. Authenticity
needs a signature: ``audit --sign-key`` writes ``manifest.sig``, an Ed25519
signature over the exact bytes of ``manifest.json`` (:mod:`.signing`), and the
manifest then names the signer's public key (``signature.publicKeySha256``);
``verify-report --public-key`` checks it before the hashes. A report file, or a
manifest file, that is a symbolic link is refused: the bytes it points at are
not the report's own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from compliance_checks.errors import InputError

MANIFEST_NAME = "manifest.json"
CHECKSUM_NAME = "manifest.sha256"
SIGNATURE_NAME = "manifest.sig"
"""The detached Ed25519 signature over ``manifest.json`` (:mod:`.signing`); only in a signed report."""
MANIFEST_VERSION = "1.0"
HASH_ALGORITHM = "sha256"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHECKSUM_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *]manifest\.json$")
_OWN_FILES = frozenset({MANIFEST_NAME, CHECKSUM_NAME, SIGNATURE_NAME})
INVALID_NAME = "INVALID"
"""Left in an output directory by an audit that failed: why, in one line; never beside a valid report."""
REPORT_FILES = frozenset({"results.json", "report.html", "report.md", "results.sarif", "junit.xml", "report.pdf"})
"""The artefacts an audit writes (compliance_checks/cli.py FILE_NAMES); :func:`invalidate` removes only these
(and :data:`PRETTY_RESULTS_NAME`)."""
PRETTY_RESULTS_NAME = "results.pretty.json"
"""The indented copy of results.json that ``audit --pretty`` adds (report/results.py write_results_json)."""
EVIDENCE_DIR = "evidence"
"""The folder of probe evidence in a report (the browser's HAR and screenshots); each file is an artefact."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- writing --------------------------------------------------------------------------------------


def write_manifest(
    out_dir: Path,
    artefacts: Sequence[Path],
    *,
    results: Mapping[str, Any],
    signature: Mapping[str, str] | None = None,
) -> Path:
    """Write ``out_dir/manifest.json`` and ``out_dir/manifest.sha256``; return the manifest's path.

    Each artefact must be a file inside ``out_dir``. Give it as a path (absolute,
    or relative to the working directory) or relative to ``out_dir``. A file
    listed twice is recorded once. The manifest files themselves cannot be
    artefacts. ``signature`` (:func:`.signing.SigningKey.record`) names the key
    that will sign the manifest; the signature itself is written afterwards,
    over these bytes.
    """
    if not out_dir.is_dir():
        raise ValueError(f"{out_dir}: not a directory")
    root = out_dir.resolve()
    entries: dict[str, dict[str, Any]] = {}
    for artefact in artefacts:
        path = _locate(root, out_dir, artefact)
        relative = path.relative_to(root).as_posix()
        if relative in _OWN_FILES:
            raise ValueError(f"{artefact}: the manifest cannot list itself")
        entries[relative] = {"path": relative, "size": path.stat().st_size, "sha256": sha256_file(path)}

    run = results["run"]
    manifest = {
        "manifestVersion": MANIFEST_VERSION,
        "schemaVersion": results["schemaVersion"],
        "tool": {"name": results["tool"]["name"], "version": results["tool"]["version"]},
        "run": {"source": run["source"], "stack": run["stack"], "startedAt": run["startedAt"]},
        "inputs": [{"path": item["path"], "sha256": item["sha256"]} for item in run["inputs"]],
        "versions": dict(run["versions"]),
        "hashAlgorithm": HASH_ALGORITHM,
        "artefacts": [entries[key] for key in sorted(entries)],
    }
    if signature is not None:
        manifest["signature"] = dict(signature)
    try:
        data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (an input file name that is not UTF-8, PEP 383): escaped
        data = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    manifest_path = out_dir / MANIFEST_NAME
    _write_atomically(manifest_path, data)
    _write_atomically(out_dir / CHECKSUM_NAME, f"{sha256_bytes(data)}  {MANIFEST_NAME}\n".encode())
    return manifest_path


def _locate(root: Path, out_dir: Path, artefact: Path) -> Path:
    candidates = [artefact] if artefact.is_absolute() else [artefact, out_dir / artefact]
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and resolved.is_relative_to(root):
            return resolved
    raise ValueError(f"{artefact}: not a file inside {out_dir}")


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# --- verifying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    path: str
    size: int
    sha256: str


def verify_manifest(
    out_dir: Path, *, inputs_root: Path | None = None, manifest_bytes: bytes | None = None
) -> list[str]:
    """The problems found in ``out_dir`` against its manifest, one line each; empty when all is intact.

    With ``inputs_root``, also check that the input files recorded in the
    manifest (relative paths are taken from there) still have their recorded
    SHA-256, i.e. that the audited configuration has not changed since.
    ``manifest_bytes`` are the manifest as already read (and its signature
    verified), so the hashes checked are the ones that were signed.
    """
    if not out_dir.is_dir():
        return [f"{out_dir}: not a directory"]
    manifest_path = out_dir / MANIFEST_NAME
    linked = [name for name in sorted(_OWN_FILES) if (out_dir / name).is_symlink()]
    if linked:  # a link can point anywhere: the bytes it shows are not this report's own
        return [f"{name}: a symbolic link, not the report's own file" for name in linked]
    if not manifest_path.is_file():
        return [f"{MANIFEST_NAME}: missing, nothing can be verified"]

    data = _read_bytes(manifest_path) if manifest_bytes is None else manifest_bytes
    problems = _verify_checksum(out_dir, data)
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return [*problems, f"{MANIFEST_NAME}: malformed, not JSON ({_one_line(error)})"]
    entries, structural = _entries(manifest)
    if structural:
        return [*problems, *(f"{MANIFEST_NAME}: malformed, {problem}" for problem in structural)]

    root = out_dir.resolve()
    for entry in entries:
        path = root / entry.path
        if _symlink_on_the_way(root, entry.path):
            problems.append(f"{entry.path}: a symbolic link (or inside one), not the report's own file")
            continue
        if not path.is_file():
            problems.append(f"{entry.path}: missing")
            continue
        size = path.stat().st_size
        if size != entry.size:
            problems.append(f"{entry.path}: size changed ({entry.size} bytes in the manifest, {size} on disk)")
        elif _sha256_readable(path) != entry.sha256:
            problems.append(f"{entry.path}: content changed (SHA-256 differs from the manifest)")

    listed = {entry.path for entry in entries} | _OWN_FILES
    problems.extend(f"{extra}: unexpected file, not in the manifest" for extra in _files(root) if extra not in listed)

    if inputs_root is not None:
        problems.extend(_verify_inputs(manifest, inputs_root))
    return problems


def _verify_checksum(out_dir: Path, data: bytes) -> list[str]:
    path = out_dir / CHECKSUM_NAME
    if not path.is_file():
        return [f"{CHECKSUM_NAME}: missing, so edits to {MANIFEST_NAME} cannot be detected"]
    match = _CHECKSUM_LINE.match(_read_bytes(path).decode("utf-8", errors="replace").strip())
    if match is None:
        return [f"{CHECKSUM_NAME}: malformed, expected one line '<sha256>  {MANIFEST_NAME}'"]
    if match.group(1).lower() != sha256_bytes(data):
        return [f"{MANIFEST_NAME}: changed since it was written (SHA-256 does not match {CHECKSUM_NAME})"]
    return []


def _entries(manifest: Any) -> tuple[list[_Entry], list[str]]:
    if not isinstance(manifest, dict):
        return [], ["the top level is not an object"]
    if manifest.get("manifestVersion") != MANIFEST_VERSION:
        return [], [f"manifestVersion is {manifest.get('manifestVersion')!r}, expected {MANIFEST_VERSION!r}"]
    if manifest.get("hashAlgorithm", HASH_ALGORITHM) != HASH_ALGORITHM:
        return [], [f"hashAlgorithm is {manifest.get('hashAlgorithm')!r}, expected {HASH_ALGORITHM!r}"]
    artefacts = manifest.get("artefacts")
    if not isinstance(artefacts, list):
        return [], ["artefacts is not a list"]
    entries: list[_Entry] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, item in enumerate(artefacts):
        where = f"artefacts[{number}]"
        if not isinstance(item, dict):
            problems.append(f"{where} is not an object")
            continue
        path, size, digest = item.get("path"), item.get("size"), item.get("sha256")
        if not isinstance(path, str) or not _safe_relative(path):
            problems.append(f"{where}.path {path!r} is not a relative path inside the directory")
        elif path in seen or path in _OWN_FILES:
            problems.append(f"{where}.path {path!r} is listed twice or names the manifest itself")
        elif not isinstance(size, int) or isinstance(size, bool) or size < 0:
            problems.append(f"{where}.size {size!r} is not a byte count")
        elif not isinstance(digest, str) or not _HEX64.match(digest):
            problems.append(f"{where}.sha256 {digest!r} is not a SHA-256 in lower-case hex")
        else:
            seen.add(path)
            entries.append(_Entry(path, size, digest))
    return entries, problems


def _symlink_on_the_way(root: Path, relative: str) -> bool:
    """Whether the file at ``relative`` or a folder on the way to it is a symbolic link (not followed)."""
    here = root
    for part in PurePosixPath(relative).parts:
        here = here / part
        if here.is_symlink():
            return True
    return False


def _safe_relative(path: str) -> bool:
    pure = PurePosixPath(path)
    return bool(path) and "\\" not in path and not pure.is_absolute() and ".." not in pure.parts and path == str(pure)


def _files(root: Path) -> Iterator[str]:
    """Every file below ``root`` (symbolic links included, not followed), as sorted relative POSIX paths."""
    found: list[str] = []

    def unreadable(error: OSError) -> None:
        # A directory that cannot be listed could hide an unlisted file: the check cannot be done.
        raise InputError(str(error.filename or root), "", f"cannot list the directory ({error.strerror or error})")

    for directory, dirnames, filenames in os.walk(root, onerror=unreadable):
        here = Path(directory)
        linked_dirs = [name for name in dirnames if (here / name).is_symlink()]
        for name in (*filenames, *linked_dirs):
            found.append((here / name).relative_to(root).as_posix())
    yield from sorted(found)


def _verify_inputs(manifest: Mapping[str, Any], inputs_root: Path) -> list[str]:
    problems: list[str] = []
    inputs = manifest.get("inputs")
    if not isinstance(inputs, list):
        return [f"{MANIFEST_NAME}: malformed, inputs is not a list"]
    for item in inputs:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("path"), str)
            or not isinstance(item.get("sha256"), str)
        ):
            problems.append(f"{MANIFEST_NAME}: malformed input entry {item!r}")
            continue
        path = Path(item["path"])
        path = path if path.is_absolute() else inputs_root / path
        if not path.is_file():
            problems.append(f"input {item['path']}: missing")
        elif sha256_file(path) != item["sha256"]:
            problems.append(f"input {item['path']}: changed since the audit (SHA-256 differs from the manifest)")
    return problems


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(str(path), "", f"cannot read the file ({error.strerror or error})") from None


def _sha256_readable(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError as error:
        raise InputError(str(path), "", f"cannot read the file ({error.strerror or error})") from None


def check_report_directory(out_dir: Path) -> None:
    """Raise InputError unless ``out_dir`` is a directory holding a report whose manifest can be read.

    These are not signs of tampering but of the wrong argument, or of an audit
    that failed (its ``INVALID`` file says why): there is nothing to verify.
    """
    source = str(out_dir)
    try:
        if out_dir.is_symlink() and not out_dir.exists():
            raise InputError(source, "", "a symbolic link to nothing (or a loop), not a report directory")
        if not out_dir.exists():
            raise InputError(source, "", "no such directory")
        if not out_dir.is_dir():
            raise InputError(source, "", "not a directory; give the report directory")
        invalid = out_dir / INVALID_NAME
        if invalid.exists() or invalid.is_symlink():
            reason = _read_bytes(invalid).decode("utf-8", errors="replace") if invalid.is_file() else ""
            first = " ".join(reason.split())[:300] or "no reason recorded"
            raise InputError(source, INVALID_NAME, f"holds no valid report: {first}")
        manifest = out_dir / MANIFEST_NAME
        if manifest.exists() and not manifest.is_file():
            raise InputError(str(manifest), "", "not a regular file")
        if manifest.is_file():
            _read_bytes(manifest)
    except OSError as error:
        raise InputError(source, "", f"cannot read ({error.strerror or error})") from None


def invalidate(out_dir: Path, reason: str) -> None:
    """Remove the report files of a previous audit from ``out_dir`` and leave ``INVALID`` saying why.

    Only files an audit writes are removed (:data:`REPORT_FILES`, :data:`PRETTY_RESULTS_NAME`, the
    manifest, its checksum and signature, the :data:`EVIDENCE_DIR` folder); a directory that does not exist stays absent.
    """
    if not out_dir.is_dir() or out_dir.is_symlink():
        return
    line = " ".join(reason.split())
    _write_atomically(out_dir / INVALID_NAME, f"{line}\n".encode())
    for name in (MANIFEST_NAME, CHECKSUM_NAME, SIGNATURE_NAME, PRETTY_RESULTS_NAME, *sorted(REPORT_FILES)):
        (out_dir / name).unlink(missing_ok=True)
    evidence = out_dir / EVIDENCE_DIR
    if evidence.is_dir() and not evidence.is_symlink():  # the previous run's HAR and screenshots
        shutil.rmtree(evidence)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
