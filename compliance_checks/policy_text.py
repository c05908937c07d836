"""The privacy policy as text: loading, sentence splitting, coverage and the DE/EN lint.

The policy is one plain-text file, German first, then English after a line that
reads ``English:``. :func:`load_policy` reads it and splits each part into
sentences; :func:`classify` and :func:`coverage` tell which sentences the claims
catalogue covers (or lists as making no promise); :func:`lint_translations`
compares each claim's German and English fragments fact by fact.

All comparison happens after :func:`normalize`, which collapses every run of
whitespace (line breaks and non-breaking spaces included) to one space.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance_checks.catalog import CATALOG_DIR, POLICY_FILE, Catalog, Claim, NonPromise
from compliance_checks.errors import InputError

LANGUAGES = ("de", "en")
SPLIT_MARKER = "English:"

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
SHARED_POLICY = REPOSITORY_ROOT.parent / "shared" / POLICY_FILE
VENDORED_POLICY = CATALOG_DIR / POLICY_FILE


def normalize(text: str) -> str:
    """Collapse every run of whitespace (NBSP and line breaks included) to one space; strip the ends."""
    return " ".join(text.split())


# ---------------------------------------------------------------------------
# Sentences

_TERMINAL = (".", "!", "?", "…")
_CLOSERS = "\"'”“»«)]’"
_OPENERS = "\"'„“«»(["
# Tokens ending in a period that do not end a sentence (compared in lower case).
ABBREVIATIONS = frozenset(
    {
        "abs.",
        "approx.",
        "art.",
        "bzw.",
        "ca.",
        "d.h.",
        "dr.",
        "e.g.",
        "e.v.",
        "etc.",
        "evtl.",
        "ggf.",
        "i.e.",
        "inkl.",
        "mr.",
        "mrs.",
        "ms.",
        "nr.",
        "no.",
        "prof.",
        "str.",
        "u.a.",
        "usw.",
        "vgl.",
        "vs.",
        "z.b.",
    }
)
# Punctuation followed by whitespace: a candidate sentence end.
_CANDIDATE = re.compile(r"[.!?…]+[" + re.escape(_CLOSERS) + r"]*(?=\s)")
_SENTENCE_START = re.compile(r"\s+[" + re.escape(_OPENERS) + r"]*[A-ZÄÖÜ0-9]")


def _ends_sentence(paragraph: str, end: int) -> bool:
    """Whether the punctuation ending at ``end`` closes a sentence."""
    if not _SENTENCE_START.match(paragraph, end):
        return False
    start = paragraph.rfind(" ", 0, end) + 1
    token = paragraph[start:end].rstrip(_CLOSERS).lstrip(_OPENERS).lower()
    if token in ABBREVIATIONS:
        return False
    # A single letter ("z. B.", initials) or an ordinal number ("1. Januar").
    return not re.fullmatch(r"[^\W\d_]\.|\d+\.", token)


def _split_paragraph(paragraph: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(paragraph):
        if _ends_sentence(paragraph, match.end()):
            sentences.append(paragraph[start : match.end()].strip())
            start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def paragraphs(text: str) -> list[str]:
    """Blocks of text separated by blank lines (lines of only whitespace or NBSP), each normalized."""
    blocks: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(normalize(" ".join(current)))
            current = []
    if current:
        blocks.append(normalize(" ".join(current)))
    return blocks


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, normalized.

    Paragraphs (separated by blank lines) never share a sentence, so a heading
    without final punctuation is its own sentence. Within a paragraph a
    sentence ends at ``.``, ``!``, ``?`` or ``…`` followed by whitespace and a
    capital letter or digit, except after an abbreviation (``e.V.``, ``etc.``,
    ``z. B.``, ``Nr.``...), a single letter or an ordinal number. Periods inside
    URLs and e-mail addresses are never followed by whitespace, so they never
    split.
    """
    return [sentence for block in paragraphs(text) for sentence in _split_paragraph(block)]


def is_heading(sentence: str) -> bool:
    """A "sentence" without final punctuation: a heading, a title or a bare link."""
    return not sentence.rstrip(_CLOSERS).endswith(_TERMINAL)


@dataclass(frozen=True)
class PolicyText:
    """The privacy policy, split into its German and English parts and into sentences."""

    path: Path
    german: str
    english: str
    sentences_de: tuple[str, ...]
    sentences_en: tuple[str, ...]

    def part(self, language: str) -> str:
        """The raw text of one language."""
        return {"de": self.german, "en": self.english}[_language(language)]

    def normalized(self, language: str) -> str:
        return normalize(self.part(language))

    def sentences(self, language: str) -> tuple[str, ...]:
        return {"de": self.sentences_de, "en": self.sentences_en}[_language(language)]


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r} (expected de or en)")
    return language


def default_policy_path() -> Path:
    """``../shared/privacy-policy.txt`` beside the repository when it exists, else the vendored copy."""
    return SHARED_POLICY if SHARED_POLICY.is_file() else VENDORED_POLICY


def load_policy(path: Path | None = None) -> PolicyText:
    """Read the policy and split it at the line ``English:``.

    Raises :class:`~compliance_checks.errors.InputError` when the file cannot be
    read, is not UTF-8, or does not have exactly one ``English:`` line with text
    on both sides.
    """
    path = default_policy_path() if path is None else Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(source, "", "file not found") from None
    except IsADirectoryError:
        raise InputError(source, "", "is a directory, not a file") from None
    except OSError as exc:
        raise InputError(source, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(source, f"byte {exc.start}", "not valid UTF-8") from None
    text = text.removeprefix("\ufeff")

    lines = text.splitlines()
    markers = [number for number, line in enumerate(lines) if line.strip() == SPLIT_MARKER]
    if not markers:
        raise InputError(source, "", f"no line {SPLIT_MARKER!r} separating the German and the English text")
    if len(markers) > 1:
        raise InputError(source, f"line {markers[1] + 1}", f"a second line {SPLIT_MARKER!r}")
    marker = markers[0]
    german = "\n".join(lines[:marker])
    english = "\n".join(lines[marker + 1 :])
    if not german.strip():
        raise InputError(source, f"line {marker + 1}", f"no German text before {SPLIT_MARKER!r}")
    if not english.strip():
        raise InputError(source, f"line {marker + 1}", f"no English text after {SPLIT_MARKER!r}")
    return PolicyText(
        path=path,
        german=german,
        english=english,
        sentences_de=tuple(split_sentences(german)),
        sentences_en=tuple(split_sentences(english)),
    )


# ---------------------------------------------------------------------------
# Coverage

# Words that may join two claim fragments inside one sentence without adding a promise.
CONNECTIVES = {
    "de": frozenset({"und", "oder", "sowie", "aber"}),
    "en": frozenset({"and", "or", "but"}),
}


@dataclass(frozen=True)
class SentenceStatus:
    """How the catalogue accounts for one sentence of the policy."""

    language: str
    sentence: str
    claims: tuple[str, ...]  # claims with a fragment inside this sentence
    non_promise: bool
    residue: tuple[str, ...]  # words no fragment covers (connectives left out)

    @property
    def covered(self) -> bool:
        """Every word belongs to a claim fragment (or is a connective between two)."""
        return bool(self.claims) and not self.residue

    @property
    def accounted_for(self) -> bool:
        return self.covered or (self.non_promise and not self.claims)


def classify(catalog: Catalog, policy: PolicyText) -> list[SentenceStatus]:
    """One status per sentence of the policy, German first."""
    statuses: list[SentenceStatus] = []
    for language in LANGUAGES:
        fragments = [(claim.id, normalize(text)) for claim in catalog.claims for text in claim.text(language)]
        listed = {np.text for np in catalog.non_promises if np.language == language}
        for sentence in policy.sentences(language):
            found = [(claim_id, fragment) for claim_id, fragment in fragments if fragment in sentence]
            rest = sentence
            for _, fragment in sorted(found, key=lambda item: -len(item[1])):
                rest = rest.replace(fragment, " ")
            residue = tuple(word for word in re.findall(r"\w+", rest) if word.lower() not in CONNECTIVES[language])
            statuses.append(
                SentenceStatus(
                    language=language,
                    sentence=sentence,
                    claims=tuple(dict.fromkeys(claim_id for claim_id, _ in found)),
                    non_promise=sentence in listed,
                    residue=residue if found else (),
                )
            )
    return statuses


def coverage(catalog: Catalog, policy: PolicyText) -> list[str]:
    """Sentences that no claim covers completely and that are not listed as making no promise."""
    return [status.sentence for status in classify(catalog, policy) if not status.covered and not status.non_promise]


def conflicts(catalog: Catalog, policy: PolicyText) -> list[str]:
    """Sentences listed as making no promise that nonetheless hold a claim fragment."""
    return [
        f"{status.sentence} (claims: {', '.join(status.claims)})"
        for status in classify(catalog, policy)
        if status.non_promise and status.claims
    ]


def missing_fragments(catalog: Catalog, policy: PolicyText) -> list[str]:
    """Claim fragments that do not occur verbatim (after :func:`normalize`) in their language's text."""
    missing: list[str] = []
    for language in LANGUAGES:
        text = policy.normalized(language)
        for claim in catalog.claims:
            missing.extend(
                f"{claim.id} [{language}]: {fragment}"
                for fragment in claim.text(language)
                if normalize(fragment) not in text
            )
    return missing


def stale_non_promises(catalog: Catalog, policy: PolicyText) -> list[NonPromise]:
    """Non-promise entries that are no longer a sentence of the policy."""
    return [np for np in catalog.non_promises if np.text not in policy.sentences(np.language)]


# ---------------------------------------------------------------------------
# Translation lint

# A lexicon entry: (canonical value, [(lemma, pattern), ...]) per language. The
# canonical value is what the two languages are compared on; the lemma is what
# a disagreement reports. Patterns are matched case-insensitively unless they
# start with (?-i). Within an aspect, earlier and longer matches win.
_Entry = tuple[str, Sequence[tuple[str, str]]]

COUNTRIES: dict[str, list[_Entry]] = {
    "de": [
        ("Germany", [("Deutschland", r"Deutschlands?")]),
        ("Austria", [("Österreich", r"Österreichs?")]),
        ("Switzerland", [("Schweiz", r"Schweiz")]),
        ("France", [("Frankreich", r"Frankreichs?")]),
        ("Netherlands", [("Niederlande", r"Niederlanden?")]),
        ("Ireland", [("Irland", r"Irlands?")]),
        ("Sweden", [("Schweden", r"Schwedens?")]),
        ("Norway", [("Norwegen", r"Norwegens?")]),
        ("Italy", [("Italien", r"Italiens?")]),
        ("Spain", [("Spanien", r"Spaniens?")]),
        ("Poland", [("Polen", r"(?-i:Polens?)")]),
        ("Belgium", [("Belgien", r"Belgiens?")]),
        ("Luxembourg", [("Luxemburg", r"Luxemburgs?")]),
        ("Denmark", [("Dänemark", r"Dänemarks?")]),
        (
            "United Kingdom",
            [("Vereinigtes Königreich", r"Vereinigte[ns]? Königreichs?"), ("Großbritannien", r"Großbritanniens?")],
        ),
        ("United States", [("USA", r"(?-i:USA)"), ("Vereinigte Staaten", r"Vereinigten? Staaten")]),
        ("European Union", [("Europäische Union", r"Europäischen? Union"), ("EU", r"(?-i:EU)")]),
    ],
    "en": [
        ("Germany", [("Germany", r"Germany")]),
        ("Austria", [("Austria", r"Austria")]),
        ("Switzerland", [("Switzerland", r"Switzerland")]),
        ("France", [("France", r"France")]),
        ("Netherlands", [("Netherlands", r"(?:the )?Netherlands")]),
        ("Ireland", [("Ireland", r"Ireland")]),
        ("Sweden", [("Sweden", r"Sweden")]),
        ("Norway", [("Norway", r"Norway")]),
        ("Italy", [("Italy", r"Italy")]),
        ("Spain", [("Spain", r"Spain")]),
        ("Poland", [("Poland", r"Poland")]),
        ("Belgium", [("Belgium", r"Belgium")]),
        ("Luxembourg", [("Luxembourg", r"Luxembourg")]),
        ("Denmark", [("Denmark", r"Denmark")]),
        (
            "United Kingdom",
            [("United Kingdom", r"United Kingdom"), ("UK", r"(?-i:UK)"), ("Great Britain", r"Great Britain")],
        ),
        ("United States", [("United States", r"United States"), ("USA", r"(?-i:USA|US)")]),
        ("European Union", [("European Union", r"European Union"), ("EU", r"(?-i:EU)")]),
    ],
}

FREQUENCIES: dict[str, list[_Entry]] = {
    "de": [
        ("semi-annual", [("halbjährlich", r"halbjährlich\w*")]),
        ("quarterly", [("vierteljährlich", r"vierteljährlich\w*"), ("quartalsweise", r"quartalsweise\w*")]),
        ("biennial", [("zweijährlich", r"zweijährlich\w*"), ("alle zwei Jahre", r"alle zwei Jahre")]),
        (
            "annual",
            [
                ("jährlich", r"(?:all)?jährlich\w*"),
                ("einmal im Jahr", r"einmal im Jahr"),
                ("jedes Jahr", r"jedes Jahr"),
            ],
        ),
        ("monthly", [("monatlich", r"monatlich\w*")]),
        ("weekly", [("wöchentlich", r"wöchentlich\w*")]),
        ("daily", [("täglich", r"täglich\w*")]),
        ("regular", [("regelmäßig", r"regelmäßig\w*"), ("periodisch", r"periodisch\w*")]),
        (
            "continuous",
            [("laufend", r"laufend\w*"), ("kontinuierlich", r"kontinuierlich\w*"), ("ständig", r"ständig\w*")],
        ),
    ],
    "en": [
        (
            "semi-annual",
            [
                ("semi-annual", r"semi-?annual(?:ly)?"),
                ("half-yearly", r"half-yearly"),
                ("twice a year", r"twice a year"),
            ],
        ),
        ("quarterly", [("quarterly", r"quarterly")]),
        ("biennial", [("biennial", r"biennial(?:ly)?"), ("every two years", r"every (?:two|2) years")]),
        (
            "annual",
            [
                ("annual", r"annual(?:ly)?"),
                ("yearly", r"yearly"),
                ("every year", r"every year"),
                ("once a year", r"once a year"),
            ],
        ),
        ("monthly", [("monthly", r"monthly")]),
        ("weekly", [("weekly", r"weekly")]),
        ("daily", [("daily", r"daily")]),
        ("regular", [("regular", r"regular(?:ly)?"), ("periodic", r"periodic(?:al)?(?:ly)?")]),
        ("continuous", [("continuous", r"continuous(?:ly)?"), ("ongoing", r"ongoing")]),
    ],
}

_NUMBER_WORDS = {
    "de": {"einzig": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "zehn": 10, "zwölf": 12},
    "en": {
        "single": 1,
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "ten": 10,
        "twelve": 12,
    },
}
NUMBERS: dict[str, list[_Entry]] = {
    language: [
        (str(value), [(word, word + (r"\w*" if word == "einzig" else "")) for word, v in words.items() if v == value])
        for value in sorted(set(words.values()))
    ]
    for language, words in _NUMBER_WORDS.items()
}

# Proper names, written the same (or nearly) in both languages.
_ENTITIES: list[_Entry] = [
    (
        "Alpenländischer Kreditorenverband",
        [("Alpenländischer Kreditorenverband", r"Alpenländisch\w*\s+Kreditorenverband\w*")],
    ),
    ("Prüfungsverband", [("Prüfungsverband", r"Prüfungsverband\w*")]),
    ("Henck GmbH", [("Henck GmbH", r"(?-i:Henck)(?:\s+GmbH)?")]),
    ("SMartDe eG", [("SMartDe eG", r"(?-i:SMartDe)(?:\s+eG)?")]),
    ("Smart Portal", [("Smart Portal", r"(?-i:Smart)[\s-]Portal\w*")]),
    ("Smart Services", [("Smart Services", r"(?-i:Smart)\s+Services")]),
    ("Local Storage", [("Local Storage", r"local\s?storage")]),
    ("Datenschutzbehörde", [("Datenschutzbehörde", r"Datenschutzbehörde")]),
    ("Azure", [("Azure", r"(?-i:Azure)")]),
    ("Stotax", [("Stotax", r"(?-i:Stotax)")]),
    ("PkmG", [("PkmG", r"(?-i:PkmG)")]),
    ("Microsoft", [("Microsoft", r"(?-i:Microsoft)")]),
    ("Entra ID", [("Entra ID", r"(?-i:Entra)(?:\s+ID)?")]),
]
ENTITIES: dict[str, list[_Entry]] = {
    "de": [
        *_ENTITIES,
        ("GDPR", [("DSGVO", r"(?-i:DSGVO)"), ("Datenschutz-Grundverordnung", r"Datenschutz-Grundverordnung")]),
    ],
    "en": [
        *_ENTITIES,
        (
            "GDPR",
            [("GDPR", r"(?-i:GDPR)"), ("General Data Protection Regulation", r"General Data Protection Regulation")],
        ),
    ],
}
# Acronyms not listed above count as names in their own right (AKV, VPN, SSL, IP...).
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,5}\b")
_NOT_ACRONYMS = frozenset({"EU", "US", "UK", "USA"})  # countries, see COUNTRIES

RIGHTS: dict[str, list[_Entry]] = {
    "de": [
        ("access", [("Auskunft", r"Auskunft\w*")]),
        ("rectification", [("Berichtigung", r"Berichtigung\w*")]),
        ("erasure", [("Löschung", r"Löschung\w*")]),
        ("restriction", [("Einschränkung", r"Einschränkung\w*")]),
        ("portability", [("Datenübertragbarkeit", r"(?:Daten)?übertragbarkeit")]),
        ("withdrawal of consent", [("Widerruf", r"Widerruf\w*")]),
        ("objection", [("Widerspruch", r"Widerspruch\w*")]),
        ("complaint", [("Beschwerde", r"Beschwerde\w*")]),
    ],
    "en": [
        ("access", [("information", r"information"), ("access", r"access")]),
        ("rectification", [("correction", r"correction"), ("rectification", r"rectification")]),
        ("erasure", [("deletion", r"deletion"), ("erasure", r"erasure"), ("be forgotten", r"be forgotten")]),
        ("restriction", [("restriction", r"restriction")]),
        ("portability", [("data portability", r"(?:data )?portability")]),
        ("withdrawal of consent", [("revocation", r"revocation"), ("withdrawal", r"withdraw\w*")]),
        ("objection", [("objection", r"object(?:ion)?")]),
        ("complaint", [("complaint", r"(?:lodge a )?complaint")]),
    ],
}
# Where a list of rights starts, and how its items are separated.
_RIGHTS_LIST = {
    "de": re.compile(r"\bRechte?\s+auf\s+(?P<items>[^.;:]+)"),
    "en": re.compile(r"\brights?\s+to\s+(?P<items>[^.;:]+)", re.IGNORECASE),
}
_LIST_SEPARATOR = {
    "de": re.compile(r"\s*,\s*(?:und\s+|oder\s+)?|\s+(?:und|oder|sowie)\s+"),
    "en": re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", re.IGNORECASE),
}
_COMPLAINT = {"de": re.compile(r"\bbeschwer\w*", re.IGNORECASE), "en": re.compile(r"\bcomplain\w*", re.IGNORECASE)}

NEGATIONS: dict[str, list[_Entry]] = {
    "de": [
        # "nicht einzutreibend", "nicht erreichbar": a negated attribute, like English un-...-able.
        ("negation", [("nicht (Attribut)", r"nicht\s+\w+(?:end|bar)(?:e|en|er|es|em)?")]),
        (
            "negation",
            [
                ("kein", r"kein\w*"),
                ("nicht", r"nicht"),
                ("nie", r"nie(?:mals)?"),
                ("ohne", r"ohne"),
                ("weder", r"weder"),
            ],
        ),
    ],
    "en": [
        ("negation", [("un-...-able", r"(?:un|in|im|ir|non-?)\w+(?:able|ible)")]),
        (
            "negation",
            [
                ("no", r"no"),
                ("not", r"not|\w+n't"),
                ("cannot", r"cannot"),
                ("never", r"never"),
                ("none", r"none|nothing|nobody"),
                ("without", r"without"),
                ("neither", r"neither|nor"),
            ],
        ),
    ],
}

EXCLUSIVITY: dict[str, list[_Entry]] = {
    "de": [
        (
            "only",
            [
                ("nur", r"nur"),
                ("ausschließlich", r"ausschließlich\w*"),
                ("lediglich", r"lediglich"),
                ("allein", r"allein\w*"),
            ],
        )
    ],
    "en": [("only", [("only", r"only"), ("exclusively", r"exclusive(?:ly)?"), ("solely", r"sole(?:ly)?")])],
}

QUALIFIERS: dict[str, list[_Entry]] = {
    "de": [
        (
            "hedge",
            [
                ("grundsätzlich", r"grundsätzlich\w*"),
                ("in der Regel", r"in der Regel"),
                ("gegebenenfalls", r"gegebenenfalls|ggf\."),
                ("unter Umständen", r"unter Umständen"),
                ("möglichst", r"möglichst"),
                ("soweit möglich", r"soweit (?:technisch )?möglich"),
                ("weitgehend", r"weitgehend\w*"),
            ],
        )
    ],
    "en": [
        (
            "hedge",
            [
                ("in principle", r"in principle"),
                ("generally", r"generally"),
                ("as a rule", r"as a rule"),
                ("where applicable", r"where (?:applicable|appropriate)|if applicable"),
                ("if necessary", r"if necessary"),
                ("possibly", r"possibly"),
                ("as far as possible", r"as far as (?:technically )?possible"),
                ("largely", r"largely"),
            ],
        )
    ],
}

_URL = re.compile(r"https?://[^\s<>\"]+|www\.[^\s<>\"]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?![\w])")

ASPECTS = ("country", "frequency", "number", "contact", "entity", "rights", "negation", "exclusivity", "qualifier")
_COUNTED = frozenset({"negation"})  # compared as counts; every other aspect as a set
_LABELS = {
    "country": "the country",
    "frequency": "the frequency",
    "number": "the number",
    "contact": "the address",
    "entity": "the name",
    "rights": "the data-subject right",
    "negation": "the negation",
    "exclusivity": "the restriction",
    "qualifier": "the qualifier",
}


@dataclass(frozen=True)
class Fact:
    """Something comparable a text says: its aspect, canonical value, and how it was written."""

    aspect: str
    value: str
    lemma: str
    surface: str


@dataclass(frozen=True)
class Disagreement:
    claim_id: str
    aspect: str
    de: str  # the German fact(s), "" when the German text has none
    en: str  # the English fact(s), "" when the English text has none
    message: str
    # The sentence(s) holding the fact as they would read once both texts agree (see _suggest for the rule);
    # both None when no safe suggestion can be derived.
    suggestion_de: str | None = None
    suggestion_en: str | None = None
    # Which value the suggestion chose and what the organisation must decide, or why there is no suggestion.
    suggestion_note: str = ""


class _Matcher:
    """Finds lexicon entries in a text; a character belongs to at most one match per aspect."""

    def __init__(self, entries: Iterable[_Entry]) -> None:
        self.patterns: list[tuple[str, str, re.Pattern[str]]] = []
        for value, variants in entries:
            for lemma, pattern in variants:
                self.patterns.append((value, lemma, re.compile(r"\b(?:" + pattern + r")(?!\w)", re.IGNORECASE)))

    def find(self, aspect: str, text: str) -> list[Fact]:
        taken: list[tuple[int, int]] = []
        found: list[tuple[int, Fact]] = []
        for value, lemma, pattern in self.patterns:
            for match in pattern.finditer(text):
                span = match.span()
                if any(span[0] < end and start < span[1] for start, end in taken):
                    continue
                taken.append(span)
                found.append((span[0], Fact(aspect, value, lemma, match.group(0))))
        return [fact for _, fact in sorted(found, key=lambda item: item[0])]


_MATCHERS: dict[tuple[str, str], _Matcher] = {}


def _matcher(aspect: str, language: str, lexicon: dict[str, list[_Entry]]) -> _Matcher:
    key = (aspect, language)
    if key not in _MATCHERS:
        _MATCHERS[key] = _Matcher(lexicon[language])
    return _MATCHERS[key]


def _strip_addresses(text: str) -> tuple[str, list[Fact]]:
    facts: list[Fact] = []

    def keep(match: re.Match[str]) -> str:
        address = match.group(0).rstrip(".,;:)!?").rstrip("/")
        facts.append(Fact("contact", address.lower(), address, match.group(0)))
        return " " * len(match.group(0))

    text = _URL.sub(keep, text)
    text = _EMAIL.sub(keep, text)
    return text, facts


def _rights(text: str, language: str) -> list[Fact]:
    matcher = _matcher("rights", language, RIGHTS)
    facts: list[Fact] = []
    for listing in _RIGHTS_LIST[language].finditer(text):
        for item in _LIST_SEPARATOR[language].split(listing.group("items")):
            head = item.strip()
            if not head:
                continue
            found = matcher.find("rights", head)
            if found and head.lower().startswith(found[0].surface.lower()):
                facts.append(found[0])
    if _COMPLAINT[language].search(text) and not any(fact.value == "complaint" for fact in facts):
        complaint = _COMPLAINT[language].search(text)
        assert complaint is not None
        lemma = "Beschwerde" if language == "de" else "complaint"
        facts.append(Fact("rights", "complaint", lemma, complaint.group(0)))
    return facts


def extract_facts(text: str, language: str) -> list[Fact]:
    """The comparable facts of one language's text: countries, frequencies, numbers, addresses,
    names, data-subject rights, negations, restrictions ("only") and qualifiers ("in principle")."""
    language = _language(language)
    text = normalize(text)
    rest, facts = _strip_addresses(text)
    facts += _matcher("country", language, COUNTRIES).find("country", rest)
    facts += _matcher("frequency", language, FREQUENCIES).find("frequency", rest)
    facts += [Fact("number", match.group(0), match.group(0), match.group(0)) for match in _DIGITS.finditer(rest)]
    facts += _matcher("number", language, NUMBERS).find("number", rest)
    entities = _matcher("entity", language, ENTITIES).find("entity", rest)
    facts += entities
    named = rest
    for fact in entities:
        named = named.replace(fact.surface, " ")
    facts += [
        Fact("entity", match.group(0), match.group(0), match.group(0))
        for match in _ACRONYM.finditer(named)
        if match.group(0) not in _NOT_ACRONYMS
    ]
    facts += _rights(rest, language)
    facts += _matcher("negation", language, NEGATIONS).find("negation", rest)
    facts += _matcher("exclusivity", language, EXCLUSIVITY).find("exclusivity", rest)
    facts += _matcher("qualifier", language, QUALIFIERS).find("qualifier", rest)
    return facts


def _only(mine: list[Fact], theirs: list[Fact], counted: bool) -> list[Fact]:
    """The facts of ``mine`` the other side does not have (by canonical value)."""
    if counted:
        budget = Counter(fact.value for fact in theirs)
        extra: list[Fact] = []
        for fact in mine:
            if budget[fact.value] > 0:
                budget[fact.value] -= 1
            else:
                extra.append(fact)
        return extra
    values = {fact.value for fact in theirs}
    seen: set[str] = set()
    result: list[Fact] = []
    for fact in mine:
        if fact.value not in values and fact.value not in seen:
            seen.add(fact.value)
            result.append(fact)
    return result


# ---------------------------------------------------------------------------
# Suggested corrections
#
# One rule, the same for every disagreement, so the suggestions never pull the
# two texts in different directions:
# * a conflict (each text states one value, and they differ): the German value
#   is kept, it is the original the English translates; the English sentence
#   gets the English form of that value in place of its own. The note gives the
#   other choice (the German sentence with the English value), for the
#   organisation to decide.
# * a word only one text has that can go without touching the grammar (a
#   hedge such as "grundsätzlich", a restriction such as "only"): it is dropped,
#   so both state what they already share; the note says the other choice needs
#   a translator.
# * anything else (several values, a negation, a name or country only one text
#   mentions): no suggestion, and the note says why; nothing is invented.

# Facts whose value is written the same in both languages: the replacement is the other text's own spelling.
_VERBATIM_ASPECTS = frozenset({"contact", "entity"})
# Lexicons that give each canonical value a word per language.
_LEXICONS: dict[str, dict[str, list[_Entry]]] = {
    "country": COUNTRIES,
    "frequency": FREQUENCIES,
    "number": NUMBERS,
    "rights": RIGHTS,
    "entity": ENTITIES,
}
# Inflections carried over to the replacement ("regelmäßigen" -> "jährlichen", "annually" -> "regularly").
_INFLECTED = {"de": frozenset({"country", "frequency", "number"}), "en": frozenset({"frequency"})}
_DROPPABLE = frozenset({"qualifier", "exclusivity"})
_SuggestionParts = tuple[str | None, str | None, str]


def _word(language: str, aspect: str, value: str) -> str | None:
    """The lexicon's first word for ``value`` in ``language``, or None."""
    for entry_value, variants in _LEXICONS.get(aspect, {}).get(language, []):
        if entry_value == value and variants:
            return variants[0][0]
    return None


def _replacement(language: str, fact: Fact, target: Fact) -> str | None:
    """How ``target``'s value is written in ``language`` where ``fact`` stands now, or None if not derivable."""
    if target.aspect in _VERBATIM_ASPECTS or (target.aspect == "number" and target.value == target.surface):
        word: str | None = target.surface  # a name, an address or digits: the same in both languages
        if target.aspect == "entity" and _word(language, "entity", target.value) is not None:
            word = target.lemma if target.lemma.lower() == target.surface.lower() else target.surface
    else:
        word = _word(language, target.aspect, target.value)
    if word is None:
        return None
    suffix = ""
    if fact.aspect in _INFLECTED[language] and fact.surface.lower() != fact.lemma.lower():
        if not fact.surface.lower().startswith(fact.lemma.lower()):
            return None  # an inflection this rule cannot read ("alljährlich")
        suffix = fact.surface[len(fact.lemma) :]
    elif fact.surface.lower() != fact.lemma.lower() and fact.aspect not in _VERBATIM_ASPECTS:
        if language == "en" or not fact.surface.lower().startswith(fact.lemma.lower()):
            return None  # "the Netherlands", "Vereinigten Staaten": the words around it would change too
        suffix = fact.surface[len(fact.lemma) :]
    word += suffix
    if fact.surface[:1].isupper() and word[:1].islower():
        word = word[:1].upper() + word[1:]
    return word


def _occurrences(text: str, surface: str) -> list[re.Match[str]]:
    return list(re.finditer(r"(?<!\w)" + re.escape(surface) + r"(?!\w)", text))


def _substitute(language: str, text: str, surface: str, word: str, *, frequency: bool = False) -> str:
    """``text`` with every ``surface`` replaced by ``word``; an English "a"/"an" before it follows the new word.

    With ``frequency``, an English "-ly" word that ends a clause ("we check monthly.") is an adverb: the
    replacement becomes one too ("annually"), where "annual" would not be English.
    """
    pieces: list[str] = []
    last = 0
    for match in _occurrences(text, surface):
        before = text[last : match.start()]
        written = word
        adverb = surface.lower().endswith("ly") and not re.match(r"\s*\w", text[match.end() :])
        if language == "en" and frequency and adverb and not word.lower().endswith("ly") and " " not in word:
            written = word + "ly"
        if language == "en":
            article = re.search(r"(?<!\w)(an?|An?) $", before)
            if article is not None:
                vowel = written[:1].lower() in "aeiou"
                wanted = ("an" if vowel else "a") if article.group(1).islower() else ("An" if vowel else "A")
                before = before[: article.start(1)] + wanted + " "
        pieces += [before, written]
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def _holding(fragments: Sequence[str], language: str, fact: Fact) -> list[int]:
    """Indices of the fragments in which ``fact`` (its aspect and value) is stated."""
    return [
        index
        for index, fragment in enumerate(fragments)
        if any(f.aspect == fact.aspect and f.value == fact.value for f in extract_facts(fragment, language))
        and _occurrences(fragment, fact.surface)
    ]


def _drop(text: str, surface: str, language: str) -> str | None:
    """``text`` without the word ``surface``, or None when dropping it would break the sentence."""
    matches = _occurrences(text, surface)
    if not matches:
        return None
    for match in reversed(matches):
        start, end = match.span()
        if not text[:start].strip():
            if language == "de":
                return None  # "Grundsätzlich stehen Ihnen ..." without it is a question (verb first)
            rest = re.sub(r"^\s*,?\s*", "", text[end:])
            text = rest[:1].upper() + rest[1:]
            continue
        before, after = text[:start].rstrip(), text[end:].lstrip()
        if before.endswith(",") and after.startswith(","):  # ", in principle, " -> ", " -> " "
            before, after = before[:-1], after[1:].lstrip()
        text = f"{before} {after}" if after[:1].isalnum() or after[:1] in "„“\"'(" else before + after
    return normalize(text)


def _suggest(
    aspect: str, de_only: list[Fact], en_only: list[Fact], fragments_de: Sequence[str], fragments_en: Sequence[str]
) -> _SuggestionParts:
    """Suggested German and English sentences that agree on ``aspect``, and a note (the rule is above)."""
    label = _LABELS[aspect]
    if len(de_only) == 1 and len(en_only) == 1:
        return _suggest_conflict(de_only[0], en_only[0], fragments_de, fragments_en)
    if aspect in _DROPPABLE and bool(de_only) != bool(en_only):
        language, facts = ("de", de_only) if de_only else ("en", en_only)
        return _suggest_drop(language, facts, fragments_de, fragments_en, label)
    if aspect == "negation":
        why = "a negation changes what is promised; which text is right, and its translation, is not derivable"
    elif de_only and en_only:
        why = f"the texts differ in more than one {aspect} value"
    else:
        which = "German" if de_only else "English"
        why = f"{label} appears only in the {which} text, and adding it to the other needs a translator's wording"
    return None, None, f"No safe suggestion: {why}. The organisation must decide which text is right."


def _suggest_conflict(de: Fact, en: Fact, fragments_de: Sequence[str], fragments_en: Sequence[str]) -> _SuggestionParts:
    in_de, in_en = _holding(fragments_de, "de", de), _holding(fragments_en, "en", en)
    english_word = _replacement("en", en, de)
    if not in_de or not in_en or english_word is None:
        return None, None, f'No safe suggestion: the English form of "{de.lemma}" cannot be derived here.'
    suggestion_de = " ".join(fragments_de[i] for i in in_de)
    frequency = de.aspect == "frequency"
    suggestion_en = " ".join(
        _substitute("en", fragments_en[i], en.surface, english_word, frequency=frequency) for i in in_en
    )
    note = (
        f'Keeps the German "{de.lemma}" (the German text is the original) and writes it "{english_word}" in the'
        f' English text. The organisation must confirm "{de.lemma}" is true.'
    )
    german_word = _replacement("de", de, en)
    if german_word is not None:
        other = " ".join(_substitute("de", fragments_de[i], de.surface, german_word) for i in in_de)
        note += f' If "{en.lemma}" is what holds, the German text should read instead: "{other}"'
    return suggestion_de, suggestion_en, note


def _suggest_drop(
    language: str, facts: list[Fact], fragments_de: Sequence[str], fragments_en: Sequence[str], label: str
) -> _SuggestionParts:
    mine, theirs = (fragments_de, fragments_en) if language == "de" else (fragments_en, fragments_de)
    indices = sorted({i for fact in facts for i in _holding(mine, language, fact)})
    dropped: list[str] = []
    for index in indices:
        text: str | None = mine[index]
        for fact in facts:
            text = _drop(text, fact.surface, language) if text is not None else None
        if text is None:
            return None, None, f"No safe suggestion: dropping {label} would break the sentence's grammar."
        dropped.append(text)
    if not indices:
        return None, None, f"No safe suggestion: {label} could not be located in the text."
    # The other text is unchanged: the sentence at the same place when both have as many sentences.
    counterpart = " ".join(theirs[i] for i in indices) if len(theirs) == len(mine) else " ".join(theirs)
    words = ", ".join(dict.fromkeys(fact.lemma for fact in facts))
    other = "English" if language == "de" else "German"
    which = "German" if language == "de" else "English"
    note = (
        f'Drops "{words}", which only the {which} text has, so both texts state what they already share.'
        f" The organisation must decide: if {label} is meant, the {other} text needs it too (a translator's wording,"
        " not derived here)."
    )
    suggestion = " ".join(dropped)
    return (suggestion, counterpart, note) if language == "de" else (counterpart, suggestion, note)


def _describe(facts: list[Fact]) -> str:
    return ", ".join(dict.fromkeys(fact.lemma for fact in facts))


def compare_texts(
    claim_id: str,
    german: str,
    english: str,
    *,
    fragments_de: Sequence[str] | None = None,
    fragments_en: Sequence[str] | None = None,
) -> list[Disagreement]:
    """Facts of the German and the English text that differ, one disagreement per aspect.

    Each disagreement carries a suggested correction (:func:`_suggest`), made
    on ``fragments_de``/``fragments_en`` (the sentences the texts consist of;
    default: each text as one).
    """
    de_facts = extract_facts(german, "de")
    en_facts = extract_facts(english, "en")
    disagreements: list[Disagreement] = []
    for aspect in ASPECTS:
        de_aspect = [fact for fact in de_facts if fact.aspect == aspect]
        en_aspect = [fact for fact in en_facts if fact.aspect == aspect]
        de_only = _only(de_aspect, en_aspect, aspect in _COUNTED)
        en_only = _only(en_aspect, de_aspect, aspect in _COUNTED)
        if not de_only and not en_only:
            continue
        de, en = _describe(de_only), _describe(en_only)
        label = _LABELS[aspect]
        if de and en:
            message = f'{claim_id}: {label} differs: the German text says "{de}" where the English says "{en}".'
        elif de:
            message = f'{claim_id}: the German text has {label} "{de}", which the English text does not.'
        else:
            message = f'{claim_id}: the English text has {label} "{en}", which the German text does not.'
        suggestion = _suggest(
            aspect,
            de_only,
            en_only,
            [normalize(f) for f in (fragments_de if fragments_de is not None else [german])],
            [normalize(f) for f in (fragments_en if fragments_en is not None else [english])],
        )
        disagreements.append(Disagreement(claim_id, aspect, de, en, message, *suggestion))
    return disagreements


def lint_claim(claim: Claim) -> list[Disagreement]:
    return compare_texts(
        claim.id,
        " ".join(claim.text_de),
        " ".join(claim.text_en),
        fragments_de=claim.text_de,
        fragments_en=claim.text_en,
    )


def lint_translations(catalog: Catalog) -> list[Disagreement]:
    """Compare every claim's German and English fragments; report the facts that differ."""
    return [disagreement for claim in catalog.claims for disagreement in lint_claim(claim)]


# ---------------------------------------------------------------------------
# Rendering the data-security section from the verified claims
#
# The section's sentences are the policy's own; which claims they hold comes
# from the catalogue's fragments. With the results of an audit, a sentence is
# printed only when every claim in it is PASS; of a sentence that also holds a
# claim that is not, the verified fragments that read as sentences on their own
# are printed and the rest is withheld. Nothing is reworded, so the rendered
# text can only say less than the policy, never more.

SECTION_HEADINGS = {"de": "Datensicherheit", "en": "Data security:"}
"""The headings of the data-security section in privacy-policy.txt (sentences of their own, no promise)."""
PROMISED = "PASS"


@dataclass(frozen=True)
class Withheld:
    """A claim of the section not printed as a promise, and why."""

    claim_id: str
    verdict: str  # the audit's verdict, or "NOT_AUDITED" when the results do not have the claim
    reason: str


@dataclass(frozen=True)
class RenderedSection:
    language: str
    heading: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class SectionRender:
    sections: tuple[RenderedSection, ...]
    promised: tuple[str, ...]  # claims printed as promises, in the order they appear
    withheld: tuple[Withheld, ...]
    verified: bool  # False: rendered from the catalogue alone, nothing was checked against an audit

    def text(self) -> str:
        blocks: list[str] = []
        for section in self.sections:
            blocks.append(section.heading)
            blocks.extend(section.paragraphs or ("",))
        return "\n\n".join(block for block in blocks if block) + "\n"


def _heading_like(catalog: Catalog, language: str, sentences: Sequence[str]) -> bool:
    headings = {np.text for np in catalog.non_promises if np.language == language and np.kind == "heading"}
    return len(sentences) == 1 and (sentences[0] in headings or is_heading(sentences[0]))


def section_paragraphs(catalog: Catalog, policy: PolicyText, language: str) -> list[list[str]]:
    """The sentences of the data-security section, by paragraph, from its heading to the next heading."""
    heading = SECTION_HEADINGS[_language(language)]
    blocks = [_split_paragraph(block) for block in paragraphs(policy.part(language))]
    starts = [index for index, block in enumerate(blocks) if block == [heading]]
    if len(starts) != 1:
        found = "no" if not starts else "more than one"
        raise InputError(str(policy.path), language, f"{found} section heading {heading!r} (a paragraph of its own)")
    section: list[list[str]] = []
    for block in blocks[starts[0] + 1 :]:
        if _heading_like(catalog, language, block):
            break
        section.append(block)
    return section


def _claims_in(sentence: str, catalog: Catalog, language: str) -> list[tuple[str, str]]:
    """(claim ID, fragment) of every fragment inside ``sentence``, in the order they occur."""
    found = [
        (sentence.find(fragment), claim.id, fragment)
        for claim in catalog.claims
        for fragment in (normalize(text) for text in claim.text(language))
        if fragment in sentence
    ]
    return [(claim_id, fragment) for _, claim_id, fragment in sorted(found)]


def _stands_alone(fragment: str) -> bool:
    """A fragment that starts like a sentence (a capital letter or a digit, maybe after a quote)."""
    first = fragment.lstrip(_OPENERS)[:1]
    return first.isupper() or first.isdigit()


def section_claims(catalog: Catalog, policy: PolicyText) -> list[str]:
    """The claims the data-security section states, in order (German first, then any only the English has)."""
    ordered: dict[str, None] = {}
    for language in LANGUAGES:
        for block in section_paragraphs(catalog, policy, language):
            for sentence in block:
                ordered.update(dict.fromkeys(claim_id for claim_id, _ in _claims_in(sentence, catalog, language)))
    return list(ordered)


def render_section(
    catalog: Catalog,
    policy: PolicyText,
    verdicts: Mapping[str, tuple[str, str]] | None,
    languages: Sequence[str] = LANGUAGES,
) -> SectionRender:
    """The data-security section in ``languages``, printing as promises only the claims ``verdicts`` has PASS.

    ``verdicts`` maps a claim ID to (verdict, reason); a claim it lacks is not
    verified. None: render everything from the catalogue (``verified`` False).
    """
    withheld: dict[str, Withheld] = {}
    promised: dict[str, None] = {}

    def verdict_of(claim_id: str) -> tuple[str, str]:
        if verdicts is None:
            return PROMISED, ""
        return verdicts.get(claim_id, ("NOT_AUDITED", "the results have no verdict for this claim"))

    sections: list[RenderedSection] = []
    for language in languages:
        rendered: list[str] = []
        for block in section_paragraphs(catalog, policy, language):
            sentences: list[str] = []
            for sentence in block:
                found = _claims_in(sentence, catalog, language)
                bad = {claim_id for claim_id, _ in found if verdict_of(claim_id)[0] != PROMISED}
                for claim_id in bad:
                    verdict, reason = verdict_of(claim_id)
                    withheld.setdefault(claim_id, Withheld(claim_id, verdict, reason))
                if not bad:
                    sentences.append(sentence)  # verbatim; a sentence without a claim makes no promise
                    promised.update(dict.fromkeys(claim_id for claim_id, _ in found))
                    continue
                for claim_id, fragment in found:
                    if claim_id in bad:
                        continue
                    if _stands_alone(fragment):
                        text = fragment.rstrip(" ,;")
                        sentences.append(text if text.endswith(_TERMINAL) else text + ".")
                        promised[claim_id] = None
                    else:
                        partner = ", ".join(sorted(bad))
                        withheld.setdefault(
                            claim_id,
                            Withheld(
                                claim_id,
                                verdict_of(claim_id)[0],
                                f"verified, but its words do not form a sentence without those of {partner}"
                                " (withheld) in the same sentence; the text is not reworded here",
                            ),
                        )
            if sentences:
                rendered.append(" ".join(sentences))
        sections.append(RenderedSection(language, SECTION_HEADINGS[language], tuple(rendered)))
    # A claim printed in one language but withheld in the other is withheld: both languages must say the same.
    for claim_id in withheld:
        promised.pop(claim_id, None)
    if any(w.verdict == PROMISED for w in withheld.values()):
        sections = [
            RenderedSection(s.language, s.heading, _without(s.paragraphs, catalog, s.language, withheld))
            for s in sections
        ]
    return SectionRender(tuple(sections), tuple(promised), tuple(withheld.values()), verdicts is not None)


def _without(
    paragraphs_: Sequence[str], catalog: Catalog, language: str, withheld: Mapping[str, Withheld]
) -> tuple[str, ...]:
    """Paragraphs without the sentences of claims withheld in the other language."""
    kept: list[str] = []
    for paragraph in paragraphs_:
        sentences = [
            sentence
            for sentence in _split_paragraph(paragraph)
            if not any(claim_id in withheld for claim_id, _ in _claims_in(sentence, catalog, language))
        ]
        if sentences:
            kept.append(" ".join(sentences))
    return tuple(kept)


def verdicts_from_results(document: Mapping[str, Any], catalog: Catalog, source: str) -> dict[str, tuple[str, str]]:
    """Claim ID -> (verdict, reason) from a schema-valid results.json.

    A claim whose text in the results differs from the catalogue's is
    ``TEXT_CHANGED``: the audit verified other words than the ones printed.
    """
    findings: list[Mapping[str, Any]] = list(document.get("findings") or [])
    result: dict[str, tuple[str, str]] = {}
    for claim in document.get("claims") or []:
        claim_id = str(claim["id"])
        try:
            mine = catalog.claim(claim_id)
        except KeyError:
            continue
        text = claim.get("text") or {}
        same = all(
            [normalize(t) for t in text.get(language) or []] == [normalize(t) for t in mine.text(language)]
            for language in LANGUAGES
        )
        if not same:
            result[claim_id] = ("TEXT_CHANGED", f"{source} verified a different wording of this claim")
            continue
        verdict = str(claim["verdict"])
        result[claim_id] = (verdict, "" if verdict == PROMISED else _reason(claim, findings, verdict, source))
    return result


def _reason(claim: Mapping[str, Any], findings: Sequence[Mapping[str, Any]], verdict: str, source: str) -> str:
    claim_id = claim["id"]
    parts = [f"{verdict} in {source}"]
    for layer in claim.get("layers") or []:
        if layer.get("verdict") not in (PROMISED, None):
            hint = f" ({layer['hint']})" if layer.get("hint") else ""
            parts.append(f"{layer.get('layer')} layer {layer.get('verdict')}{hint}")
    bad = [f for f in findings if claim_id in (f.get("claims") or []) and f.get("verdict") in ("FAIL", "ERROR")]
    parts += [f"{f.get('checkId')} {f.get('verdict')}: {normalize(str(f.get('message', '')))}" for f in bad[:3]]
    if len(bad) > 3:
        parts.append(f"and {len(bad) - 3} more finding(s)")
    attestation = claim.get("attestation")
    if isinstance(attestation, Mapping) and attestation.get("status") in ("missing", "expired"):
        parts.append(f"attestation {attestation['status']}")
    return "; ".join(parts)


def render_exit_code(render: SectionRender) -> int:
    """0 every claim of the section printed; 1 one withheld as FAIL; 2 one withheld as not verified (or worse)."""
    verdicts = {w.verdict for w in render.withheld} - {PROMISED}
    if not verdicts:
        return 0
    return 1 if verdicts == {"FAIL"} else 2


def cmd_policy_text(args: Any) -> int:
    """``compliance-checks policy-text``: print (or write) the data-security section from the verified claims."""
    import sys

    from compliance_checks.catalog import load_catalog
    from compliance_checks.cli import _input_file, terminal_safe
    from compliance_checks.errors import UsageError

    catalog = load_catalog()
    policy = load_policy(catalog.policy_path)
    verdicts: dict[str, tuple[str, str]] | None = None
    not_run: dict[str, list[str]] = {}
    results_file = _input_file("--results", args.results)
    if results_file is not None:
        from compliance_checks.report.results import read_results

        document = read_results(results_file)
        verdicts = verdicts_from_results(document, catalog, str(results_file))
        # A claim passes on the layers that ran (compliance_checks/layers.py): say which did not, for each one printed.
        for claim in document.get("claims") or []:
            skipped = [
                str(layer.get("summary")) for layer in claim.get("layers") or [] if layer.get("verdict") == "NOT_RUN"
            ]
            if skipped:
                not_run[str(claim["id"])] = skipped
    languages = LANGUAGES if args.lang == "both" else (args.lang,)
    render = render_section(catalog, policy, verdicts, languages)
    text = render.text()
    if args.out is not None and not args.out:
        raise UsageError("--out: expected a file name, got an empty string")
    if args.out in (None, "-"):
        sys.stdout.write(text)
    else:
        from compliance_checks.input_files import write_atomically

        write_atomically(args.out, text, "the section")  # never half a section
    if not render.verified:
        print(
            "policy-text: rendered from the catalogue alone; nothing was verified"
            " (pass --results results.json of an audit to print only what holds)",
            file=sys.stderr,
        )
    for item in render.withheld:
        print(terminal_safe(f"withheld {item.claim_id} ({item.verdict}): {item.reason}"), file=sys.stderr)
    for claim_id in dict.fromkeys(render.promised):
        if claim_id in not_run:
            layers = "; ".join(not_run[claim_id])
            print(terminal_safe(f"printed {claim_id}, verified on the layers that ran; {layers}"), file=sys.stderr)
    return render_exit_code(render)


def add_cli(commands: Any) -> None:
    """Register ``policy-text`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "policy-text",
        help="render the data-security section of the privacy policy from the verified claims",
        description=(
            "Print the data-security section of the privacy policy (German and English) from the claims"
            " catalogue. With --results, only claims the audit found PASS are printed as promises; the others"
            " are withheld and listed on standard error. Exit codes: 0 all printed, 1 a claim withheld as FAIL,"
            " 2 a claim withheld as not verified."
        ),
    )
    parser.add_argument("--lang", choices=("de", "en", "both"), default="both", help="language(s) (default: both)")
    parser.add_argument("--results", metavar="FILE", help="results.json of an audit: print only PASS claims")
    parser.add_argument("--out", metavar="FILE", help="write the section here (default: standard output)")
    parser.set_defaults(handler=cmd_policy_text)


__all__ = [
    "LANGUAGES",
    "SECTION_HEADINGS",
    "Disagreement",
    "Fact",
    "PolicyText",
    "RenderedSection",
    "SectionRender",
    "SentenceStatus",
    "Withheld",
    "add_cli",
    "classify",
    "compare_texts",
    "conflicts",
    "coverage",
    "default_policy_path",
    "extract_facts",
    "is_heading",
    "lint_claim",
    "lint_translations",
    "load_policy",
    "missing_fragments",
    "normalize",
    "render_exit_code",
    "render_section",
    "section_claims",
    "section_paragraphs",
    "split_sentences",
    "stale_non_promises",
    "verdicts_from_results",
]
