"""Company names compared loosely, for people's spellings of them: a holdings file's name
column, an owner recorded by name only, a search box. The screening import has its own,
stricter comparison (``hrdd.screening.matching``): a sanctions list must never match loosely.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Sequence

from confusable_homoglyphs import confusables
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdd.companies.models import Company, OwnershipLink

NAME_MATCH_CUTOFF = 85.0
LEGAL_FORMS = frozenset(
    {
        *("ab", "ag", "as", "asa", "bv", "co", "corp", "corporation", "gmbh", "inc"),
        *("incorporated", "kk", "limited", "llc", "lp", "ltd", "nv", "oyj", "plc", "sa"),
        *("sarl", "se", "spa", "srl"),
    }
)


def name_words(name: str) -> list[str]:
    """A name's words, without case, accents or punctuation: 'Nestlé S.A.' -> nestle, sa."""
    decomposed = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ").replace(".", "").replace("'", "")
    return re.sub(r"[^\w]+", " ", text).split()


# The direction overrides, embeddings and isolates: they show text in an order other than its
# own ("Acme <RLO>xslx.exe" reads "Acme exe.xlsx").
DIRECTION_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Characters a name never needs, which hide or reorder what it shows: the zero-width space and
# no-break space (a byte-order mark), and the direction controls. The joiners (Sinhala's "Sri"
# needs one, Persian names the non-joiner) and the direction marks (pasted with Arabic or
# Hebrew text) are letters' business, and pass.
_HIDING = frozenset("\u200b\ufeff" + DIRECTION_CONTROLS)


def hiding_characters(text: str) -> list[str]:
    """The characters of ``text`` a name never needs (``_HIDING``), as code points ("U+200B")."""
    return [f"U+{ord(c):04X}" for c in text if c in _HIDING]


@functools.lru_cache(maxsize=4096)
def _latin_twin(character: str) -> str:
    """The basic Latin letter a character is drawn like (Cyrillic o, Greek Alpha), per
    Unicode's confusables (UTS #39); the character itself when it has none."""
    for twin in confusables.confusables_data.get(character, ()):
        if twin["c"].isascii():
            return str(twin["c"])
    return character


def look_alike_key(name: str) -> str:
    """A name as it looks on screen: ``plain_key``, with letters drawn like basic Latin ones
    read as those (a Cyrillic o as an o). Two names of one key look the same."""
    shown = "".join(c if c.isascii() else _latin_twin(c) for c in _visible(name))
    return _folded(shown)


def plain_key(name: str) -> str:
    """A name with compatibility forms folded (full-width "NSO" is "NSO"), invisible
    characters dropped, case and spacing ignored: what a registry name's own search text
    holds (``look_alike_key`` also reads letters as their Latin twins, which a Cyrillic
    registry name's search text does not)."""
    return _folded(_visible(name))


def _visible(name: str) -> str:
    """The name's compatibility forms folded and its invisible (format) characters dropped."""
    text = unicodedata.normalize("NFKC", name)
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


# Remembered: the company-name index normalises every name and alias the caller sees on each
# search miss and import, and the same names come back each time (about 40% of its build).
@functools.lru_cache(maxsize=65_536)
def normalise_name(name: str) -> str:
    """Case, accents, punctuation and trailing legal forms removed: 'Nestlé S.A.' -> 'nestle'."""
    tokens = name_words(name)
    while len(tokens) > 1 and tokens[-1] in LEGAL_FORMS:
        tokens.pop()
    return " ".join(tokens)


# A legal form spelled out and its abbreviation: one form, two spellings.
_LEGAL_FORM_SPELLINGS = {"incorporated": "inc", "corporation": "corp", "limited": "ltd"}


def spelling_key(name: str) -> str:
    """A name with its spelling set aside, not its words: case, accents, punctuation, spacing
    and how a trailing legal form is spelled ('Sandvine Inc.' and 'SANDVINE, Incorporated'
    share a key; 'Sandvine GmbH' and 'Sandvine' have keys of their own, since a legal form
    can tell two entities of a group apart). Two names of one key are one legal name."""
    words = name_words(name)
    end = len(words)
    while end > 1 and words[end - 1] in LEGAL_FORMS:
        end -= 1
    return " ".join([*words[:end], *(_LEGAL_FORM_SPELLINGS.get(w, w) for w in words[end:])])


def similar_names(
    queries: Sequence[str], choices: Sequence[str], tokens: Sequence[int]
) -> list[dict[int, float]]:
    """Per normalised query, the best similarity of each normalised choice (``tokens``: its
    word counts) it resembles, computed for all queries at once: the words in any order, or
    one name's words all within the other's ("NSO Group" in "NSO Group Technologies"), the
    latter only for two words or more on both sides, or single common words would match
    all."""
    found: list[dict[int, float]] = [{} for _ in queries]
    if not queries or not choices:
        return found
    by_order = process.cdist(
        queries, choices, scorer=fuzz.token_sort_ratio, score_cutoff=NAME_MATCH_CUTOFF
    )
    by_set = process.cdist(queries, choices, scorer=fuzz.token_set_ratio, score_cutoff=95.0)
    several_words = [count >= 2 for count in tokens]
    for row, query in enumerate(queries):
        if not query:
            continue
        best = found[row]
        for column in by_order[row].nonzero()[0]:
            best[int(column)] = float(by_order[row][column])
        if len(query.split()) >= 2:
            for column in by_set[row].nonzero()[0]:
                if several_words[column]:
                    score = float(by_set[row][column])
                    best[int(column)] = max(best.get(int(column), 0.0), score)
    return found


class CompanyNames:
    """Every name the caller's session sees a company by (its name, its aliases, and what
    ownership links call it as an owner), read once, to rank companies by a name."""

    def __init__(self, session: Session) -> None:
        self.names: dict[uuid.UUID, str] = {}
        labels: dict[uuid.UUID, list[str]] = defaultdict(list)
        for company_id, name, aliases in session.execute(
            select(Company.id, Company.name, Company.aliases)
        ):
            self.names[company_id] = name
            labels[company_id] += [name, *(aliases or [])]
        # A fund or parent is named in holdings files as its ownership links name it
        # ("Novalpina Capital"), which need not be the name the registry gives it. The join
        # keeps owners this organisation sees.
        for company_id, owner_name in session.execute(
            select(OwnershipLink.owner_company_id, OwnershipLink.owner_name).join(
                Company, Company.id == OwnershipLink.owner_company_id
            )
        ):
            labels[company_id].append(owner_name)
        self._choices: list[str] = []
        self._companies: list[uuid.UUID] = []
        self._tokens: list[int] = []
        for company_id, names in labels.items():
            for label in dict.fromkeys(names):
                normalised = normalise_name(label)
                if normalised:
                    self._choices.append(normalised)
                    self._companies.append(company_id)
                    self._tokens.append(len(normalised.split()))

    def ranked(self, name: str, limit: int | None) -> list[tuple[uuid.UUID, float]]:
        """The companies a name resembles, best first (ties by name), with their similarity
        (0 to 100, one decimal); all of them when ``limit`` is None."""
        query = normalise_name(name)
        if not query:
            return []
        best: dict[uuid.UUID, float] = {}
        for index, score in similar_names([query], self._choices, self._tokens)[0].items():
            company_id = self._companies[index]
            best[company_id] = max(best.get(company_id, 0.0), score)
        ranked = sorted(best.items(), key=lambda item: (-item[1], self.names[item[0]]))
        return [(company_id, round(score, 1)) for company_id, score in ranked[:limit]]
