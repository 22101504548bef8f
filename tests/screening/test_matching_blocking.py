"""The batched, length-blocked matcher finds exactly what comparing every pair would find."""

from __future__ import annotations

import random

import pytest
from rapidfuzz import fuzz

from hrdd.screening import matching
from hrdd.screening.matching import (
    CompanyCandidate,
    Matcher,
    MatchOutcome,
    MatchThresholds,
    normalise_name,
)
from hrdd.screening.parsers import (
    EntityType,
    Identifiers,
    ListKind,
    ScreeningRecord,
)

SYLLABLES = ("ka", "ro", "ve", "na", "tel", "mor", "zi", "an", "dex", "ul", "pra", "so")
WORDS = ("Trading", "Systems", "Group", "Ltd", "S.A.", "Holdings", "Networks", "International")


def random_name(rng: random.Random) -> str:
    coined = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))).capitalize()
    return " ".join([coined, *rng.sample(WORDS, rng.randint(0, 3))])


def listed(key: str, names: list[str]) -> ScreeningRecord:
    return ScreeningRecord(
        list_kind=ListKind.csl,
        record_key=key,
        source_list="Entity List (EL) - Bureau of Industry and Security",
        entity_type=EntityType.unspecified,
        name=names[0],
        aliases=tuple(names[1:]),
        countries=(),
        addresses=(),
        programs=(),
        federal_register_notice=None,
        start_date=None,
        end_date=None,
        first_seen=None,
        last_seen=None,
        identifiers=Identifiers(),
        source_list_url=None,
        line_number=1,
        evidence_type=None,
    )


def match_key(name: str) -> str:
    return " ".join(sorted(normalise_name(name).split()))


def brute_force_best(
    record_keys: list[str], company_keys: dict[int, list[str]], cutoff: float
) -> dict[int, float]:
    """Best score per company over every pair of names, computed one pair at a time."""
    best: dict[int, float] = {}
    for company, keys in company_keys.items():
        score = max(fuzz.ratio(mine, theirs) for mine in record_keys for theirs in keys)
        if score >= cutoff:
            best[company] = round(score, 2)
    return best


@pytest.mark.parametrize("review", [50.0, 70.0, 85.0])
@pytest.mark.parametrize(("batch", "group"), [(8192, 256), (13, 5)])
def test_blocked_batches_equal_an_exhaustive_comparison(
    review: float, batch: int, group: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small sizes force many batches and many length groups through the same data.
    monkeypatch.setattr(matching, "_NAMES_PER_BATCH", batch)
    monkeypatch.setattr(matching, "_NAMES_PER_GROUP", group)
    rng = random.Random(review)
    companies = [
        CompanyCandidate(index, tuple(random_name(rng) for _ in range(rng.randint(1, 3))))
        for index in range(200)
    ]
    records = [
        listed(f"r{index}", [random_name(rng) for _ in range(rng.randint(1, 3))])
        for index in range(200)
    ]
    # Company ids are their positions.
    company_keys = {
        index: [match_key(name) for name in company.names]
        for index, company in enumerate(companies)
    }
    matcher = Matcher(companies, thresholds=MatchThresholds(review=review))
    found_pairs = 0
    for record, decisions in matcher.match_many(records):
        got = {
            decision.candidate.company_id: decision.score
            for decision in decisions
            if decision.candidate and decision.outcome is not MatchOutcome.identifier
        }
        expected = brute_force_best(
            [match_key(name) for name in record.names], company_keys, review
        )
        assert got.keys() == expected.keys(), record.names
        for company, score in expected.items():
            assert got[company] == pytest.approx(score, abs=0.01)
        found_pairs += len(got)
    assert found_pairs > 20  # the comparison is not vacuous
