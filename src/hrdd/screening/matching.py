"""Matching screening-list records to the companies the service follows.

Order of evidence, strongest first:

1. Identifiers. An ISIN or LEI the list gives for a party that equals one of a company's is an
   exact match (`identifier`), whatever the names say.
2. Names. A name or alias of the record that is the same as a name or alias of a company once
   case, accents, punctuation and legal forms (Ltd, GmbH, S.r.l., Inc...) are set aside
   (`exact_name`) is an automatic match (`name_auto`): a false positive puts a severe floor on
   an investor's holding, so nothing looser is accepted unseen. Every other pair is scored
   after `normalise_name`, which also sets aside Group, Holding(s) and Technolog(y/ies); at or
   above the review threshold (default 85) it goes to an analyst (`review`), below, nothing.
   So "Sandvine Holdings ULC" (another legal entity than Sandvine Inc.), "Celebrite DI" (a
   typo) and "NSO Group Technology" all wait for an analyst, at scores up to 100.

Choices, and why:

- Scorer: rapidfuzz `ratio` on token-sorted normalised names, which is `token_sort_ratio`.
  It ignores word order ("DILIAN, Tal" / "Tal Dilian") but, unlike `token_set_ratio`, an extra
  word costs points, so a company whose name is merely contained in a longer listed name
  ("Acme" in "Acme Trading Hong Kong") is not even queued. `WRatio` was rejected: its
  partial matching queues every short company name found inside a longer listed name, and
  scoring 30,000 random names against 15,000 took it about a hundred times longer than `ratio`
  (200 s against 1.6 s on this 2-core machine).
- Speed: the matcher is built once; company names are normalised, token-sorted and ordered
  by length up front. Records are compared in batches with `rapidfuzz.process.cdist` (all
  cores, `score_cutoff` at the review threshold), each group of similar-length names only
  against the company names whose length still allows the review score (a blocking step
  that loses nothing), so memory stays flat however long the list is.
- Only parties that can be companies are matched: CSL `Entity` rows, CSL rows whose type is
  left empty (the Entity List and the other Commerce lists leave it empty) and OpenSanctions
  Company/Organization/LegalEntity/PublicBody. Individuals, vessels and aircraft never match.
- Ambiguity: if the names of two different companies are both exact, or an identifier points
  at another company, no name match is automatic; they all go to review.
- Rejected pairs: a (record key, company id) pair an analyst already rejected produces no
  name-based decision again, automatic or review. Identifier matches are not suppressed here:
  an exact ISIN/LEI is the list's own statement, not a guess (the import service honours an
  analyst's rejection of one).
"""

from __future__ import annotations

import copy
import math
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from rapidfuzz import fuzz, process

from hrdd.screening.parsers import EntityType, ScreeningRecord

# Parties that may be a company. `unspecified` is how the CSL lists Entity List parties.
MATCHABLE_TYPES = frozenset({EntityType.entity, EntityType.unspecified})

# Records are matched in batches of about this many names, so a streamed file is never
# held whole; within a batch, names are scored in groups of similar length (see _score).
_NAMES_PER_BATCH = 8192
_NAMES_PER_GROUP = 256

# Letters that Unicode decomposition leaves alone but readers treat as plain Latin letters.
_LETTER_FOLDS = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "\u0131": "i",  # dotless i
        "ß": "ss",
    }
)
# Dots and apostrophes join their neighbours ("S.A." -> "sa", "Moody's" -> "moodys");
# every other non-word character separates words.
_JOINING_MARKS = re.compile(r"[.'\u2019`\u00b4]")
_SEPARATORS = re.compile(r"[\W_]+")

# Legal forms, as token sequences after the steps above. Stripped from the end of a name.
_SINGLE_WORD_LEGAL_FORMS = (
    "ltd", "limited", "inc", "incorporated", "corp", "corporation", "co", "company",
    "llc", "llp", "lp", "plc", "gmbh", "mbh", "ag", "kg", "kgaa", "se", "sa", "sas", "sasu",
    "sarl", "srl", "spa", "sl", "slu", "bv", "nv", "cv", "ad", "ead", "ood", "eood", "zrt",
    "kft", "nyrt", "rt", "as", "asa", "ab", "oy", "oyj", "aps", "pte", "pty", "pvt", "kk",
    "ulc", "ooo", "oao", "zao", "pao", "ao", "jsc", "pjsc", "ojsc", "cjsc", "sro", "doo",
    "dd", "fze", "fzco", "fzc", "fzllc", "lda", "ltda", "bhd", "tbk", "coltd",
)  # fmt: skip
_LEGAL_SUFFIXES: frozenset[tuple[str, ...]] = frozenset(
    {
        *((form,) for form in _SINGLE_WORD_LEGAL_FORMS),
        ("sa", "rl"),
        ("s", "a"),
        ("s", "a", "r", "l"),
        ("s", "a", "s"),
        ("a", "s"),
        ("s", "r", "l"),
        ("s", "p", "a"),
        ("s", "l"),
        ("n", "v"),
        ("b", "v"),
        ("a", "g"),
        ("sdn", "bhd"),
        ("sa", "de", "cv"),
        ("de", "cv"),
        ("and", "co"),
        ("private", "limited"),
        ("public", "limited", "company"),
        ("limited", "liability", "company"),
        ("joint", "stock", "company"),
        ("public", "joint", "stock", "company"),
        ("societe", "anonyme"),
        ("aktiengesellschaft",),
    }
)
# Legal forms some registers and transliterations put first ("OOO Romashka", "PT Bank X").
_LEGAL_PREFIXES: frozenset[tuple[str, ...]] = frozenset(
    {
        *(
            (form,)
            for form in ("the", "ooo", "oao", "zao", "pao", "ao", "jsc", "pjsc", "ojsc", "cjsc")
        ),
        ("llc",),
        ("pt",),
        ("limited", "liability", "company"),
        ("joint", "stock", "company"),
        ("public", "joint", "stock", "company"),
    }
)
# Words that describe how a business is organised rather than which business it is. For the
# fuzzy score only (they often name another entity of a group: "Sandvine Holdings ULC" is not
# Sandvine Inc.), and like legal forms stripped only from the end and never down to an empty
# name, so "NSO Group Technologies Ltd" and "NSO Group" both become "nso", while "Group"
# alone, or "Group" at the start or in the middle of a name, is kept as the distinctive word.
_ORGANISATIONAL_SUFFIXES: frozenset[tuple[str, ...]] = frozenset(
    {("group",), ("holding",), ("holdings",), ("technologies",), ("technology",)}
)
_ALL_SUFFIXES = _LEGAL_SUFFIXES | _ORGANISATIONAL_SUFFIXES
_LONGEST_FORM = max(len(form) for form in _ALL_SUFFIXES | _LEGAL_PREFIXES)


def exact_name(name: str) -> str:
    """A company name as compared for an automatic match: casefolded, accents stripped, "&"
    made "and", punctuation dropped, and legal forms (Ltd, Limited, S.A., AD, Inc, Corp, GmbH,
    S.à r.l., LLC, plc, N.V., AG, Co., Zrt...) removed from the end and a few from the start,
    never the last remaining word. Words and their order are otherwise kept.

    Names that differ only in legal form compare equal ("Intellexa S.A." and "Intellexa
    Limited" both give "intellexa"): the list's party and the company share their name.
    """
    return " ".join(_exact_tokens(name))


def normalise_name(name: str) -> str:
    """A company name reduced to the words that identify it, for the fuzzy score: `exact_name`
    less the organisational words Group, Holding(s) and Technolog(y/ies) at its end, so that a
    listed subsidiary or a variant of a group's name reaches the review queue."""
    return " ".join(_fuzzy_tokens(_exact_tokens(name)))


def _fuzzy_tokens(exact_tokens: list[str]) -> list[str]:
    tokens = list(exact_tokens)
    while (length := _affix_length(tokens, _ALL_SUFFIXES, leading=False)) is not None:
        del tokens[-length:]
    return tokens


def _exact_tokens(name: str) -> list[str]:
    if name.isascii():  # most names: nothing to decompose
        text = name.casefold()
    else:
        text = unicodedata.normalize("NFKD", name.translate(_LETTER_FOLDS))
        text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    text = _JOINING_MARKS.sub("", text.replace("&", " and "))
    tokens = _SEPARATORS.sub(" ", text).split()
    # Leading forms first, so "The Group SA" keeps "group" rather than "the".
    while (length := _affix_length(tokens, _LEGAL_PREFIXES, leading=True)) is not None:
        del tokens[:length]
    while (length := _affix_length(tokens, _LEGAL_SUFFIXES, leading=False)) is not None:
        del tokens[-length:]
    return tokens


def _affix_length(
    tokens: list[str], forms: frozenset[tuple[str, ...]], *, leading: bool
) -> int | None:
    """Length of the longest form at the start (or end) of `tokens` that leaves a word."""
    for length in range(min(_LONGEST_FORM, len(tokens) - 1), 0, -1):
        affix = tokens[:length] if leading else tokens[-length:]
        if tuple(affix) in forms:
            return length
    return None


def _keys(name: str) -> tuple[str, str]:
    """The name's `exact_name`, and its normalised words in sorted order (the fuzzy key:
    `ratio` on these keys is `token_sort_ratio`)."""
    tokens = _exact_tokens(name)
    return " ".join(tokens), " ".join(sorted(_fuzzy_tokens(tokens)))


class MatchOutcome(StrEnum):
    identifier = "identifier"
    name_auto = "name_auto"
    review = "review"
    none = "none"


_OUTCOME_RANK = {
    MatchOutcome.identifier: 0,
    MatchOutcome.name_auto: 1,
    MatchOutcome.review: 2,
    MatchOutcome.none: 3,
}


@dataclass(frozen=True, slots=True)
class MatchThresholds:
    """Fuzzy name scores (0-100) at or above `review` go to the review queue; only exact names
    (`exact_name`) match automatically, whatever the score."""

    review: float = 85.0

    def __post_init__(self) -> None:
        if not 0 < self.review <= 100:
            raise ValueError(f"the review threshold must be in (0, 100]; got {self.review}")


@dataclass(frozen=True, slots=True)
class CompanyCandidate:
    """A company as the matcher sees it: its names (primary first, then aliases) and codes."""

    company_id: Hashable
    names: tuple[str, ...]
    isins: frozenset[str] = field(default_factory=frozenset)
    leis: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        names = tuple(name.strip() for name in self.names if name and name.strip())
        if not names:
            raise ValueError(f"company {self.company_id!r}: at least one name is required")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "isins", frozenset(_code(value) for value in self.isins))
        object.__setattr__(self, "leis", frozenset(_code(value) for value in self.leis))


def _code(value: str) -> str:
    return value.replace(" ", "").upper()


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """What the matcher concluded about one record and one company (or no company)."""

    record_key: str
    outcome: MatchOutcome
    score: float
    candidate: CompanyCandidate | None
    # The company's name or alias that matched, and the list's name or alias it matched.
    matched_name: str | None = None
    record_name: str | None = None
    # "ISIN <code>" or "LEI <code>" for identifier matches.
    matched_identifier: str | None = None


@dataclass(slots=True)
class _NameHit:
    score: float
    record_name: str
    matched_name: str
    exact: bool = False


class Matcher:
    """Built once from the companies; then matches any number of records against them."""

    def __init__(
        self,
        candidates: Iterable[CompanyCandidate],
        *,
        thresholds: MatchThresholds | None = None,
        rejected_pairs: Iterable[tuple[str, Hashable]] = (),
    ) -> None:
        self.thresholds = thresholds or MatchThresholds()
        self.rejected_pairs = frozenset(rejected_pairs)
        self._candidates: list[CompanyCandidate] = []
        self._by_isin: dict[str, list[int]] = {}
        self._by_lei: dict[str, list[int]] = {}
        choices: list[tuple[str, int, str]] = []  # (match key, candidate index, name)
        # Exact name -> (candidate index, the name or alias that gives it), one per candidate.
        self._exact: dict[str, list[tuple[int, str]]] = {}
        seen_ids: set[Hashable] = set()
        for candidate in candidates:
            if candidate.company_id in seen_ids:
                raise ValueError(f"company {candidate.company_id!r} is given twice")
            seen_ids.add(candidate.company_id)
            index = len(self._candidates)
            self._candidates.append(candidate)
            for isin in candidate.isins:
                self._by_isin.setdefault(isin, []).append(index)
            for lei in candidate.leis:
                self._by_lei.setdefault(lei, []).append(index)
            keys_of_candidate: set[str] = set()
            for name in candidate.names:
                exact, key = _keys(name)
                if key and key not in keys_of_candidate:
                    keys_of_candidate.add(key)
                    choices.append((key, index, name))
                owners = self._exact.setdefault(exact, []) if exact else []
                if exact and all(owner != index for owner, _ in owners):
                    owners.append((index, name))
        # Sorted by length, so the names that could reach a score form one slice.
        choices.sort(key=lambda choice: len(choice[0]))
        self._choice_keys = [key for key, _, _ in choices]
        self._choice_lengths = [len(key) for key in self._choice_keys]
        self._choice_owners = [owner for _, owner, _ in choices]
        self._choice_names = [name for _, _, name in choices]

    def rejecting(self, pairs: Iterable[tuple[str, Hashable]]) -> Matcher:
        """This matcher with these pairs rejected too (rejected since it was built): it shares
        the companies, so an import can decide a few records again without building them."""
        other = copy.copy(self)
        other.rejected_pairs = self.rejected_pairs | frozenset(pairs)
        return other

    def match(self, record: ScreeningRecord) -> MatchDecision:
        """The strongest decision for a record (a `none` decision if nothing matched)."""
        decisions = self.match_all(record)
        if decisions:
            return decisions[0]
        return MatchDecision(record.record_key, MatchOutcome.none, 0.0, None)

    def match_all(self, record: ScreeningRecord) -> tuple[MatchDecision, ...]:
        """Every company the record matches or may match, strongest first."""
        for _, decisions in self.match_many([record]):
            return decisions
        return ()

    def match_many(
        self, records: Iterable[ScreeningRecord]
    ) -> Iterator[tuple[ScreeningRecord, tuple[MatchDecision, ...]]]:
        """Each record with its decisions (empty when nothing matched), in input order.

        Consumes `records` lazily in batches, so a streamed file is never held whole.
        """
        batch: list[ScreeningRecord] = []
        names = 0
        for record in records:
            batch.append(record)
            if record.entity_type in MATCHABLE_TYPES:
                names += len(record.names)
            if names >= _NAMES_PER_BATCH:
                yield from self._match_batch(batch)
                batch, names = [], 0
        if batch:
            yield from self._match_batch(batch)

    def _match_batch(
        self, batch: list[ScreeningRecord]
    ) -> Iterator[tuple[ScreeningRecord, tuple[MatchDecision, ...]]]:
        query_keys: list[str] = []
        query_names: list[str] = []
        query_owners: list[int] = []
        # Per record, the companies one of its names names exactly: (record's name, company's).
        exact_hits: list[dict[int, tuple[str, str]]] = [{} for _ in batch]
        for position, record in enumerate(batch):
            if record.entity_type not in MATCHABLE_TYPES:
                continue
            keys_of_record: set[str] = set()
            for name in record.names:
                exact, key = _keys(name)
                for company, matched_name in self._exact.get(exact, ()) if exact else ():
                    exact_hits[position].setdefault(company, (name, matched_name))
                if key and key not in keys_of_record:
                    keys_of_record.add(key)
                    query_keys.append(key)
                    query_names.append(name)
                    query_owners.append(position)
        name_hits: list[dict[int, _NameHit]] = [{} for _ in batch]
        for query, choice, score in self._score(query_keys):
            hits = name_hits[query_owners[query]]
            company = self._choice_owners[choice]
            best = hits.get(company)
            if best is None or score > best.score:
                hits[company] = _NameHit(score, query_names[query], self._choice_names[choice])
        for record, hits, exact in zip(batch, name_hits, exact_hits, strict=True):
            if record.entity_type not in MATCHABLE_TYPES:
                yield record, ()
                continue
            # An exact name has the same fuzzy key (score 100): it names the pair shown.
            for company, (record_name, matched_name) in exact.items():
                hits[company] = _NameHit(100.0, record_name, matched_name, exact=True)
            yield record, self._decide(record, hits)

    def _score(self, query_keys: list[str]) -> Iterator[tuple[int, int, float]]:
        """(query, choice, score) for every pair at or above the review threshold.

        Blocking without loss: `ratio` can never exceed 200 * shorter / (both lengths), so a
        group of queries of similar length is scored only against the slice of (length-sorted)
        choices whose length leaves the review threshold reachable.
        """
        if not query_keys or not self._choice_keys:
            return
        cutoff = self.thresholds.review
        by_length = sorted(range(len(query_keys)), key=lambda query: len(query_keys[query]))
        for start in range(0, len(by_length), _NAMES_PER_GROUP):
            group = by_length[start : start + _NAMES_PER_GROUP]
            shortest, longest = len(query_keys[group[0]]), len(query_keys[group[-1]])
            low = bisect_left(self._choice_lengths, math.floor(shortest * cutoff / (200 - cutoff)))
            high = bisect_right(self._choice_lengths, math.ceil(longest * (200 - cutoff) / cutoff))
            if low >= high:
                continue
            scores = process.cdist(
                [query_keys[query] for query in group],
                self._choice_keys[low:high],
                scorer=fuzz.ratio,
                score_cutoff=cutoff,
                dtype=np.float32,
                workers=-1,
            )
            rows, columns = np.nonzero(scores)
            found = scores[rows, columns].tolist()
            for row, column, score in zip(rows.tolist(), columns.tolist(), found, strict=True):
                yield group[row], low + column, score

    def _decide(
        self, record: ScreeningRecord, name_hits: dict[int, _NameHit]
    ) -> tuple[MatchDecision, ...]:
        decisions: list[MatchDecision] = []
        by_identifier: set[int] = set()
        for label, codes, index in (
            ("ISIN", record.identifiers.isins, self._by_isin),
            ("LEI", record.identifiers.leis, self._by_lei),
        ):
            for code in codes:
                for company in index.get(code, ()):
                    if company in by_identifier:
                        continue
                    by_identifier.add(company)
                    decisions.append(
                        MatchDecision(
                            record.record_key,
                            MatchOutcome.identifier,
                            100.0,
                            self._candidates[company],
                            record_name=record.name,
                            matched_identifier=f"{label} {code}",
                        )
                    )
        usable = {
            company: hit
            for company, hit in name_hits.items()
            if company not in by_identifier
            and (record.record_key, self._candidates[company].company_id) not in self.rejected_pairs
        }
        exact_companies = [company for company, hit in usable.items() if hit.exact]
        # One exact name may be automatic; several, or a code pointing elsewhere, may not.
        automatic = len(exact_companies) == 1 and not by_identifier
        for company, hit in usable.items():
            outcome = MatchOutcome.name_auto if automatic and hit.exact else MatchOutcome.review
            decisions.append(
                MatchDecision(
                    record.record_key,
                    outcome,
                    round(hit.score, 2),
                    self._candidates[company],
                    matched_name=hit.matched_name,
                    record_name=hit.record_name,
                )
            )
        decisions.sort(key=lambda decision: (_OUTCOME_RANK[decision.outcome], -decision.score))
        return tuple(decisions)
