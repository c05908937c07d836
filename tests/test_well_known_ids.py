"""Every well-known Azure/Entra ID lives once, in infra/data/well_known_ids.json, and every use agrees with it.

(a) The data file: each entry sourced, IDs and names unique, the loader fails closed.
(b) A scan of the whole repository: a GUID used as a role or an app (by where it
    stands: ``roleDefinitions/<guid>``, ``roleDefinitionId``, ``appId``,
    ``aadAudience``, ``includeApplications``, ``clientId``, ``resourceAppId``,
    ``--api``, a constant named ``ROLE_*``/``*_APP_ID``/after a role, a line that
    names a known role or app, ...) must be in the data file, as that kind.
    Subscription, tenant and object IDs stand elsewhere and are left alone.
(c) Where a line pairs a known GUID with a known name, the name is the data
    file's name for that GUID.
(d) Pulumi's unknown sentinels are kept as kind ``pulumiSentinel``; they must be
    exactly the constants of the installed Pulumi SDKs.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi.runtime.rpc
import pulumi_policy.proxy
import pytest

import policies.pack
from compliance_checks.checks.network_helpers import BROAD_SOURCES
from compliance_checks.inventory import UNKNOWN
from compliance_checks.live.settings import CLOUDS
from compliance_checks.sources import azure_native
from infra import well_known
from infra.well_known import UnknownWellKnownName, WellKnownDataError

from .conftest import VARIANTS, synth_cached

REPO = Path(__file__).resolve().parents[1]
SCAN_ROOTS = ("infra", "compliance_checks", "policies", "docs", "tests", "README.md", ".github")
SKIP_DIRS = frozenset({".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"})
# The data file is the reference the scan compares against; (a) validates it as a whole.
SKIP_FILES = frozenset({Path(well_known.DATA_FILE)})

# Written in two halves so that this file does not itself hold the invented ID.
INVENTED_READER = "acdd72a7-3385-48ef-bd42-" + "f6fba2bd64bf"
SUBSCRIPTION = "6f1c8e4a-0c1b-4a55-9d5e-0a5b7f3e9c21"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
APPLICATION = "azuread:index/application:Application"

ROLE, APP, APP_ROLE, SENTINEL, NAMED = "role", "app", "app role", "Pulumi sentinel", "named"
CONTEXT_KINDS = {
    ROLE: {well_known.BUILT_IN_ROLE},
    APP: {well_known.FIRST_PARTY_APP, well_known.AZURE_VPN_CLIENT_APP},
    APP_ROLE: {well_known.GRAPH_APP_ROLE, well_known.GRAPH_DEFAULT_APP_ROLE},
    SENTINEL: {well_known.PULUMI_SENTINEL},
}
# Kinds whose names a line can pair with a GUID.
NAMED_KINDS = CONTEXT_KINDS[ROLE] | CONTEXT_KINDS[APP] | CONTEXT_KINDS[APP_ROLE]


# --- the scanner ------------------------------------------------------------------------------

_HEX_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
GUID = re.compile(rf"(?<![0-9A-Za-z-]){_HEX_GUID}(?![0-9A-Za-z])")
_GUID_AT_END = re.compile(rf"{_HEX_GUID}(?:=(?:Role|Scope))?")
_FILLER = " \t\r\n\"'`:=,[](){}"
_IDENTIFIER_AT_END = re.compile(r"(--[A-Za-z][\w-]*|[A-Za-z_$][\w.$/-]*)$")
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_TYPE_ROLE_AFTER = re.compile(r"""["']?\s*,\s*["']?type["']?\s*[:=]\s*["'](?:Role|Scope)["']""")
# A GUID right after these is a subscription, tenant or management group, whatever the line says.
_SCOPE_BEFORE = re.compile(
    r"(?:subscriptions|tenants|managementGroups|microsoftonline\.[a-z.]+|sts\.windows\.net)/$", re.IGNORECASE
)
_ASSIGNED = re.compile(r"""["']?\s*[:=]\s*[\[({]?\s*["'`]?""")
_CLI_FLAGS = {"--role": ROLE, "--api": APP, "--api-permissions": APP_ROLE}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    guid: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.guid} {self.problem}"


def _norm(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def _named_entries() -> list[well_known.Entry]:
    return [e for e in well_known.entries() if e.kind in NAMED_KINDS]


def _names_pattern() -> re.Pattern[str]:
    names = sorted({e.name for e in _named_entries()}, key=len, reverse=True)
    return re.compile(r"(?<![\w.-])(?:" + "|".join(map(re.escape, names)) + r")(?![\w-])(?!\.\w)")


def _identifier_names() -> dict[str, str]:
    """Constant-style spelling of each role and Graph permission name -> the name (``KEY_VAULT_SECRETS_USER``).

    App names are left out: ``AZURE_VPN_APP_ID`` names the kind of thing, not the app called "Azure VPN".
    """
    kinds = CONTEXT_KINDS[ROLE] | {well_known.GRAPH_APP_ROLE}
    return {_norm(e.name): e.name for e in well_known.entries() if e.kind in kinds}


def _strip_filler(prefix: str) -> str:
    """Drop what may stand between a key and its value(s): quotes, brackets, separators, other GUIDs."""
    while True:
        stripped = prefix.rstrip(_FILLER)
        for size in (42, 41, 36):  # GUID=Scope, GUID=Role, GUID
            if len(stripped) >= size and _GUID_AT_END.fullmatch(stripped[-size:]):
                stripped = stripped[:-size]
                break
        else:
            return stripped
        prefix = stripped


def _context(prefix: str, after: str) -> tuple[str | None, str | None]:
    """(context, name implied by the key) for a GUID preceded by ``prefix`` and followed by ``after``."""
    rest = _strip_filler(prefix)
    if rest.lower().endswith("roledefinitions/"):
        return ROLE, None
    if rest.endswith("/") and after[:1] in ("", '"', "'", "`"):
        # The last segment of a path-valued string: the key the string belongs to decides.
        opening = max(rest.rfind('"'), rest.rfind("'"))
        if opening >= 0 and not _SCOPE_BEFORE.search(rest[-40:]) and _context(rest[:opening], "")[0] == ROLE:
            return ROLE, None
        return None, None
    match = _IDENTIFIER_AT_END.search(rest[-200:])
    if match is None:
        return None, None
    token = match.group(1)
    if token in _CLI_FLAGS:
        return _CLI_FLAGS[token], None
    last = re.split(r"[./]", token)[-1]
    words = [w.lower() for w in _WORDS.findall(last)]
    if not words:
        return None, None
    # A name in the identifier counts only where the identifier is assigned or keyed: ``READER = "<guid>"``,
    # ``"reader": "<guid>"``; not a value of the previous line, nor ``f("Reader") == "<guid>"``.
    assigned = _ASSIGNED.fullmatch(prefix[len(rest) :])
    normalised = "_".join(words).upper()
    for affix in ("ROLE_", "_ROLE_ID", "_ROLE", "_ID", ""):
        core = normalised.removeprefix(affix) if affix.endswith("_") else normalised.removesuffix(affix)
        if assigned and core in _identifier_names():
            return NAMED, _identifier_names()[core]
    if "sentinel" in words or words[0] == "unknown":
        return SENTINEL, None
    if words[-2:] == ["app", "role"] or words[-3:] == ["app", "role", "id"]:
        return APP_ROLE, None
    if words == ["id"] and _TYPE_ROLE_AFTER.match(after):
        return APP_ROLE, None
    if words[-1:] == ["role"] or words[-2:] in (["role", "id"], ["role", "definitions"], ["definition", "id"]):
        return ROLE, None
    if words[0] == "role" and not {"assignment", "assignments", "name", "names"} & set(words):
        return ROLE, None
    if words[-1:] in (["app"], ["audience"], ["applications"]) or words[-2:] in (
        ["app", "id"],
        ["app", "ids"],
        ["client", "id"],
        ["application", "id"],
    ):
        return APP, None
    return None, None


def scan_text(path: str, text: str, own: frozenset[str] = frozenset()) -> list[Finding]:
    """Findings for one file's text: unknown or mis-kinded role/app GUIDs, and names that do not match.

    ``own``: IDs of the estate's own roles and apps (see :func:`estate_own_ids`), allowed as a role or an app.
    """
    names = _names_pattern()
    findings: list[Finding] = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        guids = list(GUID.finditer(line))
        if not guids:
            continue
        mentioned = {m.group(0) for m in names.finditer(line)}
        before = "\n".join(lines[max(0, number - 3) : number - 1])
        for match in guids:
            guid = match.group(0).lower()
            entry = well_known.lookup(guid)
            context, implied = _context(f"{before}\n{line[: match.start()]}", line[match.end() :])
            paired = set(mentioned)
            if implied is not None:
                paired.add(implied)
            if (
                paired
                and context in (None, NAMED)
                and _SCOPE_BEFORE.search(line[max(0, match.start() - 40) : match.start()])
            ):
                continue  # a subscription or tenant that happens to share a line with a role name
            if context is None and paired:
                context = NAMED
            if context is None:
                continue
            if entry is None and guid in own and context in (ROLE, APP):
                continue
            if entry is None:
                use = f"is paired with {', '.join(sorted(paired))}" if context == NAMED else f"is used as a {context}"
                findings.append(Finding(path, number, guid, f"{use} but is not in {well_known.DATA_FILE}"))
                continue
            if context in CONTEXT_KINDS and entry.kind not in CONTEXT_KINDS[context]:
                findings.append(
                    Finding(path, number, guid, f"is used as a {context} but is {entry.kind} {entry.name!r}")
                )
                continue
            if paired and entry.name not in paired:
                findings.append(
                    Finding(path, number, guid, f"is {entry.name!r} but the line names {', '.join(sorted(paired))}")
                )
    return findings


def repository_files(root: Path = REPO) -> Iterator[Path]:
    for name in SCAN_ROOTS:
        top = root / name
        candidates = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in candidates:
            relative = path.relative_to(root)
            if relative in SKIP_FILES or any(
                part in SKIP_DIRS or part.startswith(".venv") or part.endswith(".egg-info") for part in relative.parts
            ):
                continue
            yield path


def scan_repository(root: Path = REPO, own: frozenset[str] = frozenset()) -> list[Finding]:
    findings: list[Finding] = []
    for path in repository_files(root):
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        found = scan_text(str(path.relative_to(root)), text, own)
        declared = published_placeholders(path, text)
        findings.extend(f for f in found if f.guid not in declared)
    return findings


def published_placeholders(path: Path, text: str) -> frozenset[str]:
    """GUIDs a corpus of published examples declares as the examples' own placeholders.

    Microsoft's published example bodies name roles and apps by placeholder
    GUIDs (``0b5fe924-...`` in the role assignment examples of the REST API
    specifications) that are not built-in roles. A corpus copies them verbatim
    and says so in a top-level ``"placeholders"`` object (GUID -> why); only
    files under tests/corpus may, and each declared GUID must really appear in
    the file's cited examples.
    """
    if path.suffix != ".json" or "corpus" not in path.parts:
        return frozenset()
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return frozenset()
    declared = document.get("placeholders") if isinstance(document, dict) else None
    if not isinstance(declared, dict):
        return frozenset()
    return frozenset(str(guid).lower() for guid, why in declared.items() if isinstance(why, str) and why)


# --- (b) and (c): the repository --------------------------------------------------------------


def estate_own_ids() -> frozenset[str]:
    """IDs of the estate's own custom roles and app registrations, as the synthesis of every variant gives them.

    They stand where role and app IDs stand (test data copies them) but are not Microsoft's: nothing to source.
    An invented built-in ID cannot be among them, for they are computed, not written.
    """
    ids: set[str] = set()
    for stack, overrides in VARIANTS.values():
        synthesis = synth_cached(stack, overrides)
        ids.update(str(r.inputs["roleDefinitionId"]).lower() for r in synthesis.of_type(ROLE_DEFINITION))
        ids.update(str(r.outputs["clientId"]).lower() for r in synthesis.of_type(APPLICATION))
    return frozenset(ids)


def test_the_estates_own_roles_and_apps_are_not_taken_for_microsofts() -> None:
    own = estate_own_ids()
    assert own, "the synthesis defines no custom role or app registration any more: drop estate_own_ids"
    assert all(GUID.fullmatch(guid) and well_known.lookup(guid) is None for guid in own)


def test_every_role_and_app_guid_in_the_repository_is_known_and_named_right() -> None:
    files = list(repository_files())
    assert {p.relative_to(REPO).parts[0] for p in files} >= {"infra", "compliance_checks", "policies", "docs", "tests"}
    findings = scan_repository(own=estate_own_ids())
    assert not findings, "\n".join(map(str, findings))


# --- (b): what counts as a role or app use -----------------------------------------------------

ROLE_USES = [
    f'ROLE_READER = "{INVENTED_READER}"',
    f'READER = "{INVENTED_READER}"',
    f'reader_role_id = "{INVENTED_READER}"',
    f'    "/providers/Microsoft.Authorization/roleDefinitions/{INVENTED_READER}",',
    f"\"roleDefinitionId\": \"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{INVENTED_READER}')]\",",
    f'{{"properties": {{"roleDefinitionId": "/subscriptions/{SUBSCRIPTION}/providers/x/{INVENTED_READER}"}}}}',
    f'role_definition_id="{INVENTED_READER}",',
    f"| **Reader** (built-in role `{INVENTED_READER}`) | each audited subscription | everything |",
    f"| Reader | {INVENTED_READER} |",
    f'    "{INVENTED_READER}": "Reader",',
    f'x = "{INVENTED_READER}"  # Reader',
    f"az role assignment create --role {INVENTED_READER} --assignee x",
    'f"/providers/Microsoft.Authorization/roleDefinitions/"\n' + f'    "{INVENTED_READER}"',
]


@pytest.mark.parametrize("text", ROLE_USES)
def test_the_invented_reader_id_is_caught_wherever_it_stands_as_a_role(tmp_path: Path, text: str) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "copy.py").write_text(text + "\n", encoding="utf-8")
    (finding,) = scan_repository(tmp_path)
    assert (finding.path, finding.guid) == ("infra/copy.py", INVENTED_READER)
    assert well_known.DATA_FILE in finding.problem


FAKE_APP = "11111111-2222-4333-" + "8444-555555555555"
APP_USES = [
    f'AZURE_VPN_APP_ID = "{FAKE_APP}"',
    f'"appId": "{FAKE_APP}"',
    f'"resourceAppId": "{FAKE_APP}",',
    f'"aadAudience": "{FAKE_APP}",',
    f'aad_audience="{FAKE_APP}",',
    f'"includeApplications": ["797f4846-ba00-4fd7-ba43-dac1f8f63013", "{FAKE_APP}"],',
    f'"applications": {{"included_applications": ["{FAKE_APP}"]}},',
    f'"conditions.applications.includeApplications",\n    ["{FAKE_APP}"],',
    f'client_id="{FAKE_APP}"',
    f'az ad app permission add --id "$APP_ID" --api {FAKE_APP} \\',
    f"--api-permissions {FAKE_APP}=Role",
    f'"appRoleId": "{FAKE_APP}"',
    f'{{"id": "{FAKE_APP}", "type": "Role"}}',
    f'UNKNOWN_SENTINEL = "{FAKE_APP}"',
]


@pytest.mark.parametrize("text", APP_USES)
def test_an_unknown_guid_in_an_app_context_is_caught(text: str) -> None:
    (finding,) = scan_text("x", text)
    assert finding.guid == FAKE_APP


NOT_ROLES_OR_APPS = [
    f'SUBSCRIPTION_ID = "{SUBSCRIPTION}"',
    f'MOCK_TENANT_ID = "{SUBSCRIPTION}"',
    f'{{"principalId": "{SUBSCRIPTION}", "tenantId": "{SUBSCRIPTION}", "type": "SystemAssigned"}}',
    f'"resourceId": "/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Web/sites/app-x",',
    f'name="{SUBSCRIPTION}",',
    f'    "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments/{FAKE_APP}",',
    f'role_assignment_name="{FAKE_APP}",',
    f'ids = ["{SUBSCRIPTION}", "{FAKE_APP}"]',
    f'_NAMESPACE = uuid.UUID("{SUBSCRIPTION}")',
    f'self.send_header("x-ms-request-id", "{SUBSCRIPTION}")',
    f"    --subscription {SUBSCRIPTION} \\",
    f'GROUP_ID = "{SUBSCRIPTION}"',
    f"| Reader | /subscriptions/{SUBSCRIPTION} | everything |",
    f'"appOwnerOrganizationId": "{SUBSCRIPTION}"',
]


@pytest.mark.parametrize("text", NOT_ROLES_OR_APPS)
def test_subscription_tenant_and_object_ids_are_not_taken_for_roles_or_apps(text: str) -> None:
    assert scan_text("x", text) == []


def test_the_estates_own_ids_pass_only_as_roles_or_apps_and_never_paired_with_a_microsoft_name() -> None:
    own = frozenset({FAKE_APP})
    assert scan_text("x", f'DEPLOYER_ROLE = "{FAKE_APP}"', own) == []
    assert scan_text("x", f'VPN_CLIENT_ID = "{FAKE_APP}"', own) == []
    assert len(scan_text("x", f'READER = "{FAKE_APP}"', own)) == 1
    assert len(scan_text("x", f'"appRoleId": "{FAKE_APP}"', own)) == 1
    assert len(scan_text("x", f'ROLE_READER = "{INVENTED_READER}"', own)) == 1


def test_known_ids_in_their_contexts_pass() -> None:
    reader, owner = well_known.role_id("Reader"), well_known.role_id("Owner")
    policy, members = (
        well_known.graph_app_role_id("Policy.Read.All"),
        well_known.graph_app_role_id("GroupMember.Read.All"),
    )
    graph = well_known.app_id("Microsoft Graph")
    text = "\n".join(
        [
            f'ROLE_READER = "{reader}"',
            f"| **Reader** (built-in role `{reader}`) | scope | why |",
            f'    "{owner}": "Owner",',
            f"az ad app permission add --id x --api {graph} \\",
            f"    --api-permissions {policy}=Role {members}=Role  # Policy.Read.All, GroupMember.Read.All",
            f'"aadAudience": "{well_known.azure_vpn_client_app_ids()["AzureCloud"]}",',
            f'UNKNOWN_STRING = "{next(iter(well_known.pulumi_unknown_sentinels()))}"',
        ]
    )
    assert scan_text("x", text) == []


# --- (c): a name paired with a GUID is that GUID's name ---------------------------------------

MISNAMED = [
    (f'    "{well_known.role_id("Contributor")}": "Owner",', "Owner"),
    (f'    "{well_known.role_id("Contributor")}": "Website Contributor",', "Website Contributor"),
    (f"| Website Contributor | {well_known.role_id('Reader')} |", "Website Contributor"),
    (f'READER = "{well_known.role_id("Website Contributor")}"', "Reader"),
    (f'KEY_VAULT_SECRETS_USER = "{well_known.role_id("Reader")}"', "Key Vault Secrets User"),
    (
        f"--api-permissions {well_known.graph_app_role_id('Policy.Read.All')}=Role  # GroupMember.Read.All",
        "GroupMember.Read.All",
    ),
    (
        f'x = "{well_known.app_id("Microsoft Graph")}"  # Windows Azure Service Management API',
        "Windows Azure Service Management API",
    ),
]


@pytest.mark.parametrize(("text", "wrong_name"), MISNAMED)
def test_a_known_guid_with_another_known_name_is_caught(text: str, wrong_name: str) -> None:
    (finding,) = scan_text("x", text)
    assert f"but the line names {wrong_name}" in finding.problem


def test_a_role_id_used_as_an_app_is_caught() -> None:
    (finding,) = scan_text("x", f'"aadAudience": "{well_known.role_id("Reader")}"')
    assert "is builtInRole 'Reader'" in finding.problem


# --- (a): the data file ------------------------------------------------------------------------


def _document() -> dict[str, Any]:
    document = json.loads((REPO / well_known.DATA_FILE).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_every_entry_is_sourced_and_unique_per_kind() -> None:
    entries = well_known.entries()
    assert entries == well_known.parse(_document())
    for entry in entries:
        assert set(entry.source) in ({"url", "repo", "path", "commit"}, {"package", "version", "path"}), entry
        if "url" in entry.source:
            assert entry.source["url"].startswith("https://learn.microsoft.com/"), entry
    for kind in well_known.KINDS:
        of_kind = [e for e in entries if e.kind == kind]
        assert of_kind, f"no {kind} entry"
        ids = [e.id for e in of_kind if e.id is not None]
        assert len(ids) == len(set(ids)), kind
        keys = [(e.name, tuple(sorted(e.cloud))) for e in of_kind]
        assert len(keys) == len(set(keys)), kind


def test_the_real_reader_role_is_known_and_the_invented_one_is_not() -> None:
    assert well_known.role_id("Reader") == "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    assert well_known.lookup(INVENTED_READER) is None


CONTRIBUTOR = well_known.role_id("Contributor")


def _with(entry_change: dict[str, Any], index: int = 0) -> dict[str, Any]:
    document = _document()
    document["entries"][index] = {**document["entries"][index], **entry_change}
    return document


def _without(key: str, index: int = 0) -> dict[str, Any]:
    document = _document()
    document["entries"][index] = {k: v for k, v in document["entries"][index].items() if k != key}
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_without("source"), "'source' must have exactly one of"),
        (
            _with({"source": {"url": "https://learn.microsoft.com/x", "repo": "a/b"}}),
            "'source' must have exactly one of",
        ),
        (_with({"source": {"repo": "a/b", "path": "p.md", "commit": "main"}}), "40-digit commit"),
        (_with({"source": {"url": "http://example.com/roles"}}), "https URL"),
        (_with({"id": INVENTED_READER.upper()}), "not a lower-case GUID"),
        (_with({"id": "acdd72a7"}), "not a lower-case GUID"),
        (_with({"kind": "builtinRole"}), "kind 'builtinRole' is not one of"),
        (_with({"souce": "typo"}), "unknown key(s) souce"),
        (_with({"name": " Reader"}), "without surrounding blanks"),
        (_with({"id": CONTRIBUTOR}), f"{CONTRIBUTOR} already belongs to builtInRole 'Owner'"),  # entry 0 is Owner
        (_with({"name": "Contributor"}), "a second builtInRole named 'Contributor'"),
        (_with({"cloud": {"AzureCloud": "Azure Public"}}), "belong to azureVpnClientApp entries only"),
        ({"entries": {}}, "expected an object with an 'entries' list"),
    ],
)
def test_a_malformed_data_file_is_refused_as_a_whole(document: dict[str, Any], message: str) -> None:
    with pytest.raises(WellKnownDataError, match=re.escape(message)) as raised:
        well_known.parse(document)
    assert well_known.DATA_FILE in str(raised.value)


def test_a_service_tag_has_no_id_and_a_vpn_client_needs_its_clouds() -> None:
    tag = next(i for i, e in enumerate(_document()["entries"]) if e["kind"] == "serviceTag")
    with pytest.raises(WellKnownDataError, match="has no 'id'"):
        well_known.parse(_with({"id": SUBSCRIPTION}, tag))
    vpn = next(i for i, e in enumerate(_document()["entries"]) if e["kind"] == "azureVpnClientApp")
    with pytest.raises(WellKnownDataError, match="'cloud' must map"):
        well_known.parse(_with({"cloud": {}}, vpn))
    with pytest.raises(WellKnownDataError, match="registration 'Microsoft' is not one of"):
        well_known.parse(_with({"registration": "Microsoft"}, vpn))


# --- the module's API ---------------------------------------------------------------------------


def test_names_resolve_to_the_sourced_ids() -> None:
    assert well_known.role_id("Website Contributor") == "de139f84-1756-47ae-9be6-808fbbe84772"
    assert well_known.role_id("Key Vault Secrets User") == "4633458b-17de-408a-b874-0445c86b69e6"
    assert well_known.app_id("Windows Azure Service Management API") == "797f4846-ba00-4fd7-ba43-dac1f8f63013"
    assert well_known.graph_app_role_id("Application.Read.All") == "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
    assert well_known.graph_default_app_role_id() == "00000000-0000-0000-0000-000000000000"
    reader = well_known.lookup(" ACDD72A7-3385-48EF-BD42-F606FBA81AE7 ")
    assert reader is not None
    assert (reader.kind, reader.name) == ("builtInRole", "Reader")
    assert well_known.lookup("not a guid") is None


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (well_known.role_id, "Readers"),
        (well_known.role_id, "Windows Azure Service Management API"),  # an app, not a role
        (well_known.app_id, "Reader"),
        (well_known.app_id, "Azure VPN Client"),  # per cloud: azure_vpn_client_app_ids()
        (well_known.graph_app_role_id, "Policy.Read.all"),
    ],
)
def test_an_unknown_name_is_a_lookup_error_naming_the_file(call: Any, name: str) -> None:
    with pytest.raises(UnknownWellKnownName) as raised:
        call(name)
    assert not isinstance(raised.value, KeyError)
    assert well_known.DATA_FILE in str(raised.value)
    assert repr(name) in str(raised.value)


def test_azure_vpn_client_apps_are_per_project_cloud() -> None:
    registered = well_known.azure_vpn_client_app_ids()
    manual = well_known.azure_vpn_client_app_ids("Manually registered")
    assert set(registered) == set(manual) == set(CLOUDS)
    assert set(registered.values()) == {"c632b3df-fb67-4d84-bdcf-b95ad541b5c8"}
    assert manual["AzureCloud"] == "41b23e61-6c1e-4545-b367-cd054e0ed4b4"
    assert len(set(manual.values())) == len(manual)
    with pytest.raises(UnknownWellKnownName):
        well_known.azure_vpn_client_app_ids("Custom")  # type: ignore[arg-type]


def test_the_service_tags_the_checks_treat_as_broad_are_real_tags() -> None:
    tags = {tag.lower() for tag in well_known.service_tags()}
    assert {"virtualnetwork", "azureloadbalancer", "internet", "azurecloud", "storage", "sql"} <= tags
    spelled = set()
    for source in BROAD_SOURCES:
        if source in ("*", "any"):
            continue
        try:
            ipaddress.ip_network(source)
        except ValueError:
            spelled.add(source)
    assert spelled <= tags


# --- (d): Pulumi's sentinels ---------------------------------------------------------------------


def test_pulumi_sentinels_are_the_installed_sdks_constants() -> None:
    sentinels = {e.name: e for e in well_known.entries() if e.kind == well_known.PULUMI_SENTINEL}
    assert set(sentinels) == {name for name in vars(pulumi_policy.proxy) if re.fullmatch(r"UNKNOWN_[A-Z]+_VALUE", name)}
    for name, entry in sentinels.items():
        assert entry.id == getattr(pulumi_policy.proxy, name)
        spec = importlib.util.find_spec(entry.source["path"].removesuffix(".py").replace("/", "."))
        assert spec is not None and spec.origin is not None and spec.origin.endswith(entry.source["path"])
    assert sentinels["UNKNOWN_STRING_VALUE"].id == pulumi.runtime.rpc.UNKNOWN
    assert well_known.pulumi_unknown_sentinels() == {e.id for e in sentinels.values()}


def test_the_sources_and_the_policy_pack_use_the_same_sentinels() -> None:
    for sentinel in well_known.pulumi_unknown_sentinels():
        assert policies.pack._unwrap(sentinel) is UNKNOWN
    assert policies.pack._unwrap(pulumi.runtime.rpc.UNKNOWN) is UNKNOWN
    assert policies.pack._unwrap("not-a-sentinel") == "not-a-sentinel"
    assert azure_native.UNKNOWN_SENTINEL == pulumi_policy.proxy.UNKNOWN_STRING_VALUE


# --- built-in role permissions ------------------------------------------------------------------


def test_recorded_permissions_decide_what_the_least_privilege_check_judges() -> None:
    from compliance_checks.checks.rbac_developers_least_privilege import PROMISE_BEARING, allows

    reader = well_known.role_permissions(well_known.role_id("Reader"))
    website = well_known.role_permissions(well_known.role_id("Website Contributor"))
    assert reader is not None and reader.actions == ("*/read",)
    assert website is not None and "Microsoft.Web/sites/*" in website.actions
    assert not any(allows(reader.actions, reader.not_actions, op) for op in PROMISE_BEARING)
    assert allows(website.actions, website.not_actions, "Microsoft.Web/sites/config/write")
    # Wildcards match any characters, case-insensitively; notActions subtract.
    assert allows(["microsoft.network/*"], [], "Microsoft.Network/networkSecurityGroups/securityRules/delete")
    assert not allows(["Microsoft.Web/sites/*"], ["Microsoft.Web/sites/*/write"], "Microsoft.Web/sites/config/write")
    assert not allows(["Microsoft.Web/sites/*/read"], [], "Microsoft.Web/sites/config/write")
    assert well_known.role_permissions(well_known.app_id("Windows Azure Service Management API")) is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"permissions": {"actions": ["*"]}}, "exactly 'actions' and 'notActions'"),
        ({"permissions": {"actions": "*", "notActions": []}}, "lists of operation names"),
    ],
)
def test_malformed_permissions_fail_every_lookup(extra: dict[str, Any], message: str) -> None:
    entry = {
        "kind": "builtInRole",
        "name": "Reader",
        "id": well_known.role_id("Reader"),
        "source": {"url": "https://x"},
    }
    with pytest.raises(WellKnownDataError, match=message):
        well_known.parse({"entries": [{**entry, **extra}]})


def test_permissions_belong_to_built_in_roles_only() -> None:
    entry = {
        "kind": "firstPartyApp",
        "name": "x",
        "id": well_known.app_id("Windows Azure Service Management API"),
        "source": {"url": "https://x"},
        "permissions": {"actions": [], "notActions": []},
    }
    with pytest.raises(WellKnownDataError, match="builtInRole entries only"):
        well_known.parse({"entries": [entry]})


def test_a_declared_placeholder_appears_in_the_corpus_it_is_declared_for() -> None:
    """A corpus may not declare a GUID it does not copy from a published example (that would hide an invention)."""
    checked = 0
    for path in sorted((REPO / "tests" / "corpus").rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        declared = published_placeholders(path, text)
        if not declared:
            continue
        document = json.loads(text)
        rest = json.dumps({k: v for k, v in document.items() if k != "placeholders"}).lower()
        for guid in declared:
            checked += 1
            assert guid in rest, f"{path.relative_to(REPO)}: placeholder {guid} appears in no example"
    assert checked, "no corpus declares placeholders: drop published_placeholders"


def test_only_a_corpus_can_declare_placeholders(tmp_path: Path) -> None:
    text = json.dumps({"placeholders": {INVENTED_READER: "why"}, "x": {"roleDefinitionId": INVENTED_READER}})
    assert published_placeholders(tmp_path / "infra" / "x.json", text) == frozenset()
    assert published_placeholders(tmp_path / "corpus" / "x.json", text) == {INVENTED_READER}


def test_the_evaluator_counts_exactly_the_sourced_built_in_strengths_as_mfa() -> None:
    from compliance_checks.evaluate import conditional_access as ca

    names = {e.name for e in well_known.entries() if e.kind == well_known.BUILT_IN_AUTHENTICATION_STRENGTH}
    assert names == {"Multifactor authentication", "Passwordless MFA", "Phishing resistant MFA"}
    assert well_known.built_in_authentication_strength_ids() == ca.BUILT_IN_MFA_STRENGTHS
    assert len(ca.BUILT_IN_MFA_STRENGTHS) == 3
