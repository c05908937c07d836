"""The synthesis cache (compliance_checks/sources/synth_cache.py): keyed by every input, never trusted, never a secret.

The key tests edit a copy of the repository's key files one at a time; the
entry tests use a small inventory made here; the audit tests run the real
program in a subprocess (as `make run` does) against a cache directory of
their own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance_checks import redaction
from compliance_checks.inventory import MISSING, SECRET, UNKNOWN, Gap, Inventory, Resource
from compliance_checks.sources import synth_cache
from compliance_checks.sources.synth_cache import (
    CorruptEntry,
    Uncacheable,
    cache_key,
    cached,
    entry_path,
    key_files,
    read_entry,
    same_inventory,
    write_entry,
)

REPO = Path(__file__).resolve().parent.parent
STACK_FILE = REPO / "infra" / "stacks" / "Pulumi.dev.yaml"
KEY_FILES = sorted(p.relative_to(REPO).as_posix() for p in key_files(REPO) if p.is_file())


# --- the key -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of every file the key reads (what the program, the config, the lock and the normaliser are)."""
    root = tmp_path_factory.mktemp("repo")
    for relative in KEY_FILES:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / relative, target)
    return root


def _key(root: Path, stack_file: Path | None = None, stack: str = "dev") -> str:
    return cache_key(stack, stack_file or root / "infra" / "stacks" / "Pulumi.dev.yaml", root=root)


def test_the_key_covers_the_program_the_config_the_lock_and_the_normaliser() -> None:
    assert "Pulumi.yaml" in KEY_FILES and "requirements.lock" in KEY_FILES
    assert "infra/stacks/Pulumi.dev.yaml" in KEY_FILES and "infra/__main__.py" in KEY_FILES
    assert any(name.startswith("infra/data/") for name in KEY_FILES)
    assert any(name.startswith("infra/components/") for name in KEY_FILES)
    assert "compliance_checks/data/secret_paths.json" in KEY_FILES
    assert "compliance_checks/sources/azure_native.py" in KEY_FILES
    assert not any("__pycache__" in name for name in KEY_FILES)


@pytest.mark.parametrize("relative", KEY_FILES)
def test_a_change_to_any_key_file_is_another_key(tree: Path, relative: str) -> None:
    path = tree / relative
    original = path.read_bytes()
    before = _key(tree)
    try:
        path.write_bytes(original + b"\n")
        changed = _key(tree)
    finally:
        path.write_bytes(original)
    assert changed != before, relative
    assert _key(tree) == before, "the content, not the time of the edit, is the key"


def test_a_stack_file_outside_the_repository_is_keyed_by_content(tree: Path, tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.mine.yaml"
    stack_file.write_bytes(STACK_FILE.read_bytes())
    before = _key(tree, stack_file)
    stack_file.write_bytes(STACK_FILE.read_bytes().replace(b"appServiceCapacity: 1", b"appServiceCapacity: 2"))
    assert _key(tree, stack_file) != before
    stack_file.unlink()
    assert _key(tree, stack_file) not in (before, _key(tree))


def test_a_file_added_or_removed_under_infra_is_another_key(tree: Path) -> None:
    before = _key(tree)
    extra = tree / "infra" / "components" / "extra.py"
    extra.write_text("X = 1\n", encoding="utf-8")
    try:
        assert _key(tree) != before
    finally:
        extra.unlink()
    assert _key(tree) == before
    data = tree / "infra" / "data" / "well_known_ids.json"
    kept = data.read_bytes()
    data.unlink()
    try:
        assert _key(tree) != before
    finally:
        data.write_bytes(kept)


def test_a_linked_directory_in_the_program_is_uncacheable(tree: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    link = tree / "infra" / "linked"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    try:
        with pytest.raises(Uncacheable, match="symbolic link to a directory"):
            _key(tree)
    finally:
        link.unlink()


def test_bytecode_caches_are_not_part_of_the_key(tree: Path) -> None:
    before = _key(tree)
    cache = tree / "infra" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "program.cpython-311.pyc").write_bytes(b"\x00" * 16)
    assert _key(tree) == before


def test_the_stack_the_sdk_versions_python_and_pulumi_config_variables_are_part_of_the_key(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _key(tree)
    assert _key(tree, stack="prod") != before
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"smart-portal:appServiceSku": "P1v3"}))
    assert _key(tree) != before
    monkeypatch.delenv("PULUMI_CONFIG")
    assert _key(tree) == before
    for name in synth_cache.DISTRIBUTIONS:
        with monkeypatch.context() as patch:
            patch.setattr(
                synth_cache,
                "_installed",
                lambda dist, n=name, real=synth_cache._installed: "0" if dist == n else real(dist),
            )
            assert _key(tree) != before, name
    with monkeypatch.context() as patch:
        patch.setattr(sys, "version", sys.version + " (another build)")
        assert _key(tree) != before
    with monkeypatch.context() as patch:
        patch.setattr(synth_cache, "FORMAT_VERSION", synth_cache.FORMAT_VERSION + 1)
        assert _key(tree) != before


def test_an_unreadable_or_special_key_file_is_uncacheable(tree: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "Pulumi.fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(Uncacheable, match="not a regular file"):
        _key(tree, fifo)  # and it did not block on the pipe
    built: list[Inventory] = []

    def build() -> Inventory:
        built.append(_inventory())
        return built[-1]

    assert cached(tmp_path / "cache", lambda: _key(tree, fifo), build) is built[0]
    assert not (tmp_path / "cache").exists()


# --- entries -------------------------------------------------------------------------------


def _inventory(**extra: Any) -> Inventory:
    body = {
        "properties": {
            "administratorLoginPassword": SECRET,
            "fullyQualifiedDomainName": UNKNOWN,
            "absent": MISSING,
            "ratio": 0.5,
            "count": 3,
            "enabled": True,
            "none": None,
            "rules": [{"name": "a", "$": "a key that looks like the tag"}, ["nested", 1.0]],
            "ünïcode": "zone.ü",
        },
        "tags": {"env": "dev"},
        **extra,
    }
    resource = Resource.create(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/db",
        type="Microsoft.DBforPostgreSQL/flexibleServers",
        name="db",
        body=body,
        location="germanywestcentral",
        source="synth",
        origin="urn:pulumi:dev::smart-portal::db",
    )
    gap = Gap(("Microsoft.Graph/*",), "the test", "not read", located=False, absent=True)
    return Inventory([resource], sources=["synth"], gaps=[gap])


def test_an_entry_gives_back_the_very_inventory(tmp_path: Path) -> None:
    inventory = _inventory()
    path = write_entry(tmp_path, "k" * 64, inventory)
    back = read_entry(tmp_path, "k" * 64)
    assert same_inventory(back, inventory)
    body = back.resources[0].body
    assert body["properties"]["administratorLoginPassword"] is SECRET
    assert body["properties"]["fullyQualifiedDomainName"] is UNKNOWN and body["properties"]["absent"] is MISSING
    assert back.resources[0].get("properties.rules[0].$") == "a key that looks like the tag"
    assert back.gaps == inventory.gaps
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file is left behind"


def test_same_inventory_tells_types_apart() -> None:
    assert same_inventory(_inventory(), _inventory())
    assert not same_inventory(_inventory(x=1), _inventory(x=1.0))
    assert not same_inventory(_inventory(x=1), _inventory(x=True))
    assert not same_inventory(_inventory(x=UNKNOWN), _inventory(x=MISSING))
    assert not same_inventory(_inventory(x="[secret]"), _inventory(x=SECRET))


def _flip_payload(data: bytes) -> bytes:
    at = data.index(b"germanywestcentral")
    return data[:at] + b"G" + data[at + 1 :]


def _forged(payload_edit: Callable[[dict[str, Any]], None], deep: int = 0) -> Callable[[bytes], bytes]:
    """A well-formed entry with a valid checksum whose payload is not an inventory this version writes.

    ``deep``: the string "DEEP" in the payload becomes that many nested lists (too deep for json to build).
    """

    def forge(data: bytes) -> bytes:
        header_line, _, body = data.partition(b"\n")
        header, payload = json.loads(header_line), json.loads(body)
        payload_edit(payload)
        new_body = json.dumps(payload).encode().replace(b'"DEEP"', b"[" * deep + b"]" * deep)
        header.update(size=len(new_body), sha256=hashlib.sha256(new_body).hexdigest())
        return json.dumps(header).encode() + b"\n" + new_body

    return forge


def _header(**changes: Any) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        header_line, _, body = data.partition(b"\n")
        header = json.loads(header_line)
        header.update(changes)
        return json.dumps(header).encode() + b"\n" + body

    return edit


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "header only": lambda data: data.partition(b"\n")[0] + b"\n",
    "one byte flipped": _flip_payload,
    "garbage": lambda data: b"\x80\x81 not json at all",
    "a pickle": lambda data: b"\x80\x04\x95" + data,
    "another key": _header(key="0" * 64),
    "another version": _header(version=0),
    "another format": _header(format="something/else"),
    "a header field more": _header(extra=True),
    "an unknown tag": _forged(lambda p: p["resources"][0]["body"].update(x={"$": "pickle"})),
    "a resource field more": _forged(lambda p: p["resources"][0].update(extra="x")),
    "a body that is not an object": _forged(lambda p: p["resources"][0].update(body=[1])),
    "a name that is not a string": _forged(lambda p: p["resources"][0].update(name=7)),
    "a gap flag that is not a boolean": _forged(lambda p: p["gaps"][0].update(located="no")),
    "not an inventory": _forged(lambda p: p.clear()),
    "nested too deeply": _forged(lambda p: p["resources"][0]["body"].update(x="DEEP"), deep=100_000),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_an_untrustworthy_entry_is_rebuilt(tmp_path: Path, corruption: str) -> None:
    key = "a" * 64
    write_entry(tmp_path, key, _inventory())
    path = entry_path(tmp_path, key)
    path.write_bytes(CORRUPTIONS[corruption](path.read_bytes()))
    with pytest.raises(CorruptEntry):
        read_entry(tmp_path, key)
    events: list[str] = []
    built: list[Inventory] = []

    def build() -> Inventory:
        built.append(_inventory())
        return built[-1]

    inventory = cached(tmp_path, lambda: key, build, on_event=events.append)
    assert events == ["rebuild", "stored"] and len(built) == 1 and inventory is built[0]
    assert same_inventory(read_entry(tmp_path, key), _inventory()), "the rebuilt entry replaced the bad one"


def test_an_entry_reached_through_a_symbolic_link_or_a_directory_is_not_read(tmp_path: Path) -> None:
    key = "b" * 64
    elsewhere = tmp_path / "elsewhere"
    write_entry(elsewhere, key, _inventory(planted=True))
    cache = tmp_path / "cache"
    cache.mkdir()
    entry_path(cache, key).symlink_to(entry_path(elsewhere, key))
    events: list[str] = []
    inventory = cached(cache, lambda: key, _inventory, on_event=events.append)
    assert events == ["rebuild", "stored"] and "planted" not in inventory.resources[0].body
    assert not entry_path(cache, key).is_symlink()

    other = "c" * 64
    entry_path(cache, other).mkdir()
    events.clear()
    cached(cache, lambda: other, _inventory, on_event=events.append)
    assert events == ["rebuild", "not-stored"]  # the directory stays; the audit goes on without the cache


def test_a_hit_does_not_build(tmp_path: Path) -> None:
    events: list[str] = []
    cached(tmp_path, lambda: "d" * 64, _inventory, on_event=events.append)

    def fail() -> Inventory:
        raise AssertionError("built on a hit")

    inventory = cached(tmp_path, lambda: "d" * 64, fail, on_event=events.append)
    assert events == ["miss", "stored", "hit"] and same_inventory(inventory, _inventory())


def test_a_cache_that_cannot_be_written_costs_only_the_build(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    events: list[str] = []
    inventory = cached(blocker / "cache", lambda: "e" * 64, _inventory, on_event=events.append)
    assert events == ["rebuild", "not-stored"]  # a path through a file is unreadable (not absent) and unwritable
    assert same_inventory(inventory, _inventory())


def test_an_input_edited_while_the_program_ran_is_not_stored(tmp_path: Path) -> None:
    keys = iter(["f" * 64, "0" * 64])
    events: list[str] = []
    cached(tmp_path, lambda: next(keys), _inventory, on_event=events.append)
    assert events == ["miss", "not-stored"] and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "value", [("a", "tuple"), float("nan"), float("inf"), b"bytes", {1: "a key that is not a string"}]
)
def test_an_inventory_the_cache_cannot_hold_exactly_is_not_stored(tmp_path: Path, value: Any) -> None:
    events: list[str] = []
    inventory = cached(tmp_path, lambda: "1" * 64, lambda: _inventory(odd=value), on_event=events.append)
    assert events == ["miss", "not-stored"] and not list(tmp_path.iterdir())
    assert inventory.resources[0].body["odd"] is not None


@pytest.fixture
def fresh_redaction_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The redaction's process-wide memory of secret strings, empty and private to the test."""
    monkeypatch.setattr(redaction, "_SEEN", redaction._Seen())


@pytest.mark.usefixtures("fresh_redaction_memory")
def test_an_inventory_holding_a_string_redacted_elsewhere_is_not_stored(tmp_path: Path) -> None:
    # The same string is secret in one place (a connection string) and plain in another: a hit could not scrub it.
    copied = "Server=db;Password=hunter2-canary"
    leaky = _inventory(properties={"connectionStrings": [{"name": "db", "value": copied}], "note": copied})
    assert copied in redaction._SEEN.strings
    events: list[str] = []
    cached(tmp_path, lambda: "2" * 64, lambda: leaky, on_event=events.append)
    assert events == ["miss", "not-stored"] and not list(tmp_path.iterdir())
    with pytest.raises(Uncacheable, match="remembered as secret"):
        write_entry(tmp_path, "2" * 64, leaky)


def test_a_directory_or_entry_others_could_write_is_not_trusted(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    write_entry(shared, "3" * 64, _inventory(planted=True))
    shared.chmod(0o777)
    events: list[str] = []
    inventory = cached(shared, lambda: "3" * 64, _inventory, on_event=events.append)
    assert events == ["not-private"] and "planted" not in inventory.resources[0].body
    assert [p.name for p in shared.iterdir()] == [entry_path(shared, "3" * 64).name], "nothing written there"

    shared.chmod(0o700)
    entry_path(shared, "3" * 64).chmod(0o666)
    with pytest.raises(CorruptEntry, match="another user"):
        read_entry(shared, "3" * 64)
    events.clear()
    inventory = cached(shared, lambda: "3" * 64, _inventory, on_event=events.append)
    assert events == ["rebuild", "stored"] and "planted" not in inventory.resources[0].body
    assert entry_path(shared, "3" * 64).stat().st_mode & 0o777 == 0o600


def test_a_dead_writers_temporary_file_is_pruned(tmp_path: Path) -> None:
    stale, fresh = tmp_path / ".synth-stale.tmp", tmp_path / ".synth-fresh.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half an entry")
    os.utime(stale, (0, 0))
    write_entry(tmp_path, "4" * 64, _inventory())
    assert not stale.exists() and fresh.exists(), "a write in progress elsewhere is left alone"


def test_prune_keeps_the_newest_entries(tmp_path: Path) -> None:
    for number in range(synth_cache.KEEP_ENTRIES + 3):
        path = write_entry(tmp_path, f"{number:064x}", _inventory())
        os.utime(path, (number, number))
    kept = sorted(p.name for p in synth_cache.entries(tmp_path))
    assert len(kept) == synth_cache.KEEP_ENTRIES
    assert entry_path(tmp_path, f"{0:064x}").name not in kept
    assert entry_path(tmp_path, f"{synth_cache.KEEP_ENTRIES + 2:064x}").name in kept


def test_the_cache_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(synth_cache.ENV_DIR, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert synth_cache.default_dir(REPO) == REPO / ".cache" / "compliance-checks"
    assert synth_cache.default_dir(tmp_path) == Path.home() / ".cache" / "compliance-checks"  # not a checkout
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert synth_cache.default_dir(REPO) == REPO / ".cache" / "compliance-checks"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert synth_cache.default_dir(REPO) == tmp_path / "compliance-checks"
    monkeypatch.setenv(synth_cache.ENV_DIR, str(tmp_path / "mine"))
    assert synth_cache.default_dir(REPO) == tmp_path / "mine"
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/.cache/" in ignored


# --- the audit, as `make run` runs it --------------------------------------------------------

_AUDIT = """
import json, sys
from compliance_checks.cli import main
code = main(sys.argv[2:])
loaded = sorted(m for m in sys.modules if m == "pulumi" or m.startswith(("pulumi.", "pulumi_")))
with open(sys.argv[1], "w") as handle:
    json.dump({"code": code, "pulumi": loaded, "modules_from": sys.modules["compliance_checks"].__path__[0]}, handle)
"""

TIMESTAMPS = {"startedAt", "finishedAt", "observedAt", "generatedAt"}


def _snapshot(root: Path) -> Path:
    """A copy of the program and the tool, run from there: edits to the working tree meanwhile change no key."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("infra", "compliance_checks"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    for name in ("Pulumi.yaml", "requirements.lock", "pyproject.toml"):
        shutil.copyfile(REPO / name, root / name)
    return root


def _audit(cache: Path, out: Path, *extra: str, repo: Path) -> dict[str, Any]:
    status = out.parent / f"{out.name}.status.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG")} | {
        synth_cache.ENV_DIR: str(cache),
        "NO_COLOR": "1",
        "PYTHONPATH": str(repo),  # ahead of the editable install's finder: the snapshot's modules are imported
    }
    argv = ["audit", "--stack", "dev", "--out", str(out), "-q", *extra]
    result = subprocess.run(
        [sys.executable, "-c", _AUDIT, str(status), *argv],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0 and status.exists(), result.stderr[-3000:]
    report: dict[str, Any] = json.loads(status.read_text(encoding="utf-8"))
    assert report["modules_from"] == str(repo / "compliance_checks"), "the snapshot ran, not the working tree"
    report["results"] = _without_timestamps(json.loads((out / "results.json").read_text(encoding="utf-8")))
    return report


def _without_timestamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timestamps(v) for k, v in value.items() if k not in TIMESTAMPS}
    if isinstance(value, list):
        return [_without_timestamps(v) for v in value]
    return value


def _own_copy(cold: tuple[Path, dict[str, Any]], tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The cold run's cache directory, copied for one test (the tests may run in any order)."""
    cache = tmp_path / "cache"
    shutil.copytree(cold[0], cache)
    return cache, cold[1]


def _only_entry(cache: Path) -> Path:
    found = synth_cache.entries(cache)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _snapshot(tmp_path_factory.mktemp("snapshot"))


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory, snapshot: Path) -> tuple[Path, dict[str, Any]]:
    cache = tmp_path_factory.mktemp("cache")
    return cache, _audit(cache, tmp_path_factory.mktemp("cold") / "report", repo=snapshot)


def test_a_hit_gives_the_same_results_without_importing_pulumi(
    cold: tuple[Path, dict[str, Any]], tmp_path: Path, snapshot: Path
) -> None:
    cache, first = _own_copy(cold, tmp_path)
    assert first["pulumi"], "the cold run ran the program"
    entry = _only_entry(cache)
    written = entry.stat()
    warm = _audit(cache, tmp_path / "warm", repo=snapshot)
    assert warm["code"] == first["code"]
    assert warm["results"] == first["results"]
    assert warm["pulumi"] == [], "a hit needs no Pulumi SDK"
    again = entry.stat()
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns), "a hit writes nothing"


def test_no_cache_neither_reads_nor_writes_and_a_corrupt_entry_is_rebuilt(
    cold: tuple[Path, dict[str, Any]], tmp_path: Path, snapshot: Path
) -> None:
    cache, first = _own_copy(cold, tmp_path)
    entry = _only_entry(cache)
    good = entry.read_bytes()
    entry.write_bytes(_flip_payload(good))
    bypassed = _audit(cache, tmp_path / "no-cache", "--no-cache", repo=snapshot)
    assert bypassed["pulumi"], "--no-cache runs the program"
    assert bypassed["results"] == first["results"]
    assert entry.read_bytes() == _flip_payload(good), "--no-cache neither read (and rebuilt) nor wrote the entry"
    rebuilt = _audit(cache, tmp_path / "rebuilt", repo=snapshot)
    assert rebuilt["pulumi"] and rebuilt["results"] == first["results"]
    # The program registers resources concurrently, so a rebuild may list them in another order: a valid entry.
    rebuilt_entry = _only_entry(cache)
    assert rebuilt_entry == entry and rebuilt_entry.read_bytes() != _flip_payload(good), "the corrupt entry was rebuilt"
    assert len(read_entry(cache, entry.name.removeprefix("synth-").removesuffix(".json"))) == len(
        read_entry(cold[0], entry.name.removeprefix("synth-").removesuffix(".json"))
    )


def test_a_changed_stack_config_is_synthesized_again(
    cold: tuple[Path, dict[str, Any]], tmp_path: Path, snapshot: Path
) -> None:
    cache, _ = _own_copy(cold, tmp_path)
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_bytes(STACK_FILE.read_bytes().replace(b"appServiceCapacity: 1", b"appServiceCapacity: 2"))
    changed = _audit(cache, tmp_path / "changed", "--input", str(stack_file), repo=snapshot)
    assert changed["pulumi"], "another config is another key: the program ran"
    assert len(synth_cache.entries(cache)) == 2


# --- secrets -------------------------------------------------------------------------------


def _secrets(value: Any) -> Iterator[str]:
    """The plaintext of every secret in a recorded value (the mock engine's Secret wraps it)."""
    from infra.synth import Secret

    if isinstance(value, Secret):
        yield from (text for text in _strings(value.reveal()) if len(text) >= 8)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secrets(item)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.usefixtures("fresh_redaction_memory")  # as in a process of its own: no string an earlier test hid
@pytest.mark.parametrize("db_password", [False, True], ids=["s2s", "s2s-and-db-password"])
def test_no_generated_secret_reaches_the_cache(tmp_path: Path, db_password: bool) -> None:
    """The stack's generated secrets (S2S shared key; database admin password) are the canaries (as test_secret_canary).

    With the database password, an app setting's value ("password") is also part of a resource name: the
    redaction scrubs it from every report of a cold run, a hit could not, so that inventory is not cached at all.
    """
    from compliance_checks.sources.synth import inventory_from_synthesis
    from infra.synth import synthesize

    original = STACK_FILE.read_text(encoding="utf-8")
    assert "smart-portal:vpnMode: p2s" in original
    stack_file = tmp_path / "Pulumi.canary.yaml"
    stack_file.write_text(
        original.replace("smart-portal:vpnMode: p2s", "smart-portal:vpnMode: s2s").replace(
            "  smart-portal:vpnClientAddressPool: 172.16.201.0/28\n", ""
        )
        + ("\n  smart-portal:dbPasswordAuth: true\n" if db_password else ""),
        encoding="utf-8",
    )
    synthesis = synthesize("dev", stack_file=stack_file)
    secrets = {
        text
        for resource in synthesis.resources
        for value in (resource.inputs, resource.outputs)
        for text in _secrets(value)
    }
    assert len(secrets) >= 2, "the stack generates the shared key (and its hash) and maybe the database password"
    # The key is fixed here: files of the working tree edited meanwhile (other work) must not make this a no-op.
    cache, events = tmp_path / "cache", list[str]()
    cached(cache, lambda: "5" * 64, lambda: inventory_from_synthesis(synthesis), on_event=events.append)
    assert events == ["miss", "not-stored" if db_password else "stored"]
    written = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    for path in written:
        stored = path.read_bytes()
        assert [s for s in secrets if s.encode() in stored or json.dumps(s)[1:-1].encode() in stored] == []
    if db_password:
        assert written == [], "an inventory whose secrets the warm run could not scrub is not cached"
    else:
        assert b'{"$":"secret"}' in _only_entry(cache).read_bytes(), "stored, the secrets as the fact they are set"
