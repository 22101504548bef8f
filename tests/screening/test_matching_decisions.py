"""What the matcher decides for the shipped screening files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hrdd.screening.matching import (
    CompanyCandidate,
    MatchDecision,
    Matcher,
    MatchOutcome,
    MatchThresholds,
)
from hrdd.screening.parsers import EntityType, ScreeningReader, ScreeningRecord

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"

COMPANIES = (
    CompanyCandidate("nso", ("NSO Group Technologies Limited", "NSO Group")),
    CompanyCandidate("candiru", ("Candiru Ltd",)),
    CompanyCandidate("intellexa", ("Intellexa", "Cytrox")),
    CompanyCandidate("sandvine", ("Sandvine",)),
    CompanyCandidate("cellebrite", ("Cellebrite DI Ltd", "Cellebrite")),
    # Names unlike anything listed: only its codes can match.
    CompanyCandidate(
        "coded",
        ("Quiet Harbour Investments plc",),
        isins=frozenset({"xs 9999999998"}),
        leis=frozenset({"HRDDFIXTURE000000131"}),
    ),
)


def records(name: str) -> list[ScreeningRecord]:
    with (DATA / name).open("rb") as stream:
        return list(ScreeningReader(stream))


def record_named(name: str, file: str = "csl_sample.csv") -> ScreeningRecord:
    return next(record for record in records(file) if record.name == name)


def decisions_by_name(matcher: Matcher, file: str) -> dict[str, MatchDecision]:
    return {
        f"{record.name}|{record.source_list}": matcher.match(record) for record in records(file)
    }


@pytest.mark.parametrize(
    ("listed", "company"),
    [
        ("NSO Group Technologies Ltd.", "nso"),
        ("Candiru", "candiru"),
        ("Intellexa S.A.", "intellexa"),
        ("Intellexa Limited", "intellexa"),
        ("Cytrox AD", "intellexa"),
        ("Sandvine Inc.", "sandvine"),
    ],
)
def test_listed_spyware_vendors_match_automatically(listed: str, company: str) -> None:
    decision = Matcher(COMPANIES).match(record_named(listed))
    assert decision.outcome is MatchOutcome.name_auto
    assert decision.candidate is not None and decision.candidate.company_id == company
    assert decision.score == 100
    assert decision.record_name == listed


REGISTRY = (
    CompanyCandidate("finfisher", ("FinFisher GmbH", "FinFisher")),
    CompanyCandidate("sandvine", ("Sandvine Incorporated", "Sandvine", "Sandvine Corporation")),
    CompanyCandidate("cellebrite", ("Cellebrite DI Ltd.", "Cellebrite")),
    CompanyCandidate("paragon", ("Paragon Solutions Ltd.", "Paragon Solutions")),
    CompanyCandidate("memento", ("Memento Labs", "Hacking Team")),
    CompanyCandidate("nso", ("NSO Group Technologies Limited", "NSO Group")),
    CompanyCandidate("cytrox", ("Cytrox AD", "Cytrox")),
)


@pytest.mark.parametrize(
    ("listed", "company"),
    [
        # Another legal entity of the group: Holding(s) and Group name other entities.
        ("Finfisher Holding GmbH", "finfisher"),
        ("Sandvine Holdings ULC", "sandvine"),
        ("Cytrox Holdings Zrt.", "cytrox"),
        # Typos.
        ("Celebrite DI", "cellebrite"),
        ("Paragon Solution", "paragon"),
        ("Memento Lab S.r.l.", "memento"),
        # A variant of the name that is no legal form.
        ("NSO Group Technology", "nso"),
    ],
)
def test_near_names_go_to_review_however_high_they_score(listed: str, company: str) -> None:
    record = dataclasses.replace(record_named("Candiru"), name=listed)
    [decision] = Matcher(REGISTRY).match_all(record)
    assert decision.outcome is MatchOutcome.review, decision
    assert decision.candidate is not None and decision.candidate.company_id == company
    assert decision.score >= MatchThresholds().review


@pytest.mark.parametrize(
    ("listed", "company"),
    [
        ("FINFISHER GMBH", "finfisher"),
        ("FinFisher G.m.b.H.", "finfisher"),
        ("Sandvine Inc.", "sandvine"),
        ("Cellebrite D.I. Limited", "cellebrite"),
        ("Paragon Solutions, Ltd", "paragon"),
        ("Memento Labs S.r.l.", "memento"),
        ("NSO Group Technologies Ltd.", "nso"),
    ],
)
def test_the_same_name_but_for_case_punctuation_and_legal_form_is_automatic(
    listed: str, company: str
) -> None:
    record = dataclasses.replace(record_named("Candiru"), name=listed)
    [decision] = Matcher(REGISTRY).match_all(record)
    assert decision.outcome is MatchOutcome.name_auto, decision
    assert decision.candidate is not None and decision.candidate.company_id == company


def test_identifier_match_wins_over_unrelated_names() -> None:
    matcher = Matcher(COMPANIES)
    by_isin = matcher.match(record_named("Fixture Screening Trading FZE"))
    assert by_isin.outcome is MatchOutcome.identifier
    assert by_isin.candidate is not None and by_isin.candidate.company_id == "coded"
    assert by_isin.matched_identifier == "ISIN XS9999999998"
    by_lei = matcher.match(
        record_named("Fixture Screening Holdings Trading", "opensanctions_sample.csv")
    )
    assert by_lei.outcome is MatchOutcome.identifier
    assert by_lei.matched_identifier == "LEI HRDDFIXTURE000000131"


def test_near_name_goes_to_review() -> None:
    decision = Matcher(COMPANIES).match(record_named("Sandvyne Ltd"))
    assert decision.outcome is MatchOutcome.review
    assert decision.candidate is not None and decision.candidate.company_id == "sandvine"
    assert 85 <= decision.score < 95
    assert (decision.record_name, decision.matched_name) == ("Sandvyne Ltd", "Sandvine")


def test_the_threshold_moves_the_grey_zone_but_never_makes_a_near_name_automatic() -> None:
    near = record_named("Sandvyne Ltd")
    strict = Matcher(COMPANIES, thresholds=MatchThresholds(review=90))
    assert strict.match(near).outcome is MatchOutcome.none
    lenient = Matcher(COMPANIES, thresholds=MatchThresholds(review=60))
    assert lenient.match(near).outcome is MatchOutcome.review


def test_rejected_pair_is_not_asked_again_but_other_records_still_are() -> None:
    near = record_named("Sandvyne Ltd")
    matcher = Matcher(COMPANIES, rejected_pairs={(near.record_key, "sandvine")})
    assert matcher.match(near).outcome is MatchOutcome.none
    assert matcher.match(record_named("Sandvine Inc.")).outcome is MatchOutcome.name_auto
    renamed = dataclasses.replace(near, record_key="another-entry")
    assert matcher.match(renamed).outcome is MatchOutcome.review


def test_rejected_pair_does_not_hide_an_exact_identifier() -> None:
    listed = record_named("Fixture Screening Trading FZE")
    matcher = Matcher(COMPANIES, rejected_pairs={(listed.record_key, "coded")})
    assert matcher.match(listed).outcome is MatchOutcome.identifier


def test_individuals_vessels_never_match_even_with_a_company_name() -> None:
    person = record_named("Tal Dilian", "opensanctions_sample.csv")
    vessel = record_named("ADRIAN DARYA 1")
    namesakes = Matcher(
        [
            *COMPANIES,
            CompanyCandidate("td", ("Tal Dilian",)),
            CompanyCandidate("ad", ("Adrian Darya 1",)),
        ]
    )
    assert namesakes.match(person).outcome is MatchOutcome.none
    assert namesakes.match(vessel).outcome is MatchOutcome.none
    # The same name listed as an entity would match: it is the type that keeps them out.
    as_entity = dataclasses.replace(person, entity_type=EntityType.entity)
    assert namesakes.match(as_entity).outcome is MatchOutcome.name_auto


def test_unrelated_listed_parties_do_not_match() -> None:
    matcher = Matcher(COMPANIES)
    for name in (
        "TNK Trading International S.A.",
        "China Electronics Technology Group Corporation 13th Research Institute (CETC 13)",
        "I. ASH",
        "RIM, Ryong Nam",
    ):
        assert matcher.match(record_named(name)).outcome is MatchOutcome.none, name


def test_a_name_merely_contained_in_a_longer_listed_name_is_not_queued() -> None:
    listed = dataclasses.replace(record_named("Candiru"), name="Candiru Ventures Trading Hub")
    assert Matcher(COMPANIES).match(listed).outcome is MatchOutcome.none


def test_word_order_does_not_change_the_score_but_a_reordered_name_is_reviewed() -> None:
    listed = dataclasses.replace(record_named("Candiru"), name="Harbour Quiet Investments")
    decision = Matcher(COMPANIES).match(listed)
    assert (decision.outcome, decision.score) == (MatchOutcome.review, 100)
    assert decision.candidate is not None and decision.candidate.company_id == "coded"


def test_aliases_are_matched_too() -> None:
    listed = dataclasses.replace(
        record_named("Candiru"), name="Unrelated Name", aliases=("Cellebrite Ltd",)
    )
    decision = Matcher(COMPANIES).match(listed)
    assert decision.outcome is MatchOutcome.name_auto
    assert decision.record_name == "Cellebrite Ltd"


def test_two_companies_of_the_exact_name_both_go_to_review() -> None:
    twins = Matcher([*COMPANIES, CompanyCandidate("nso-2", ("NSO Group Technologies SA",))])
    decisions = twins.match_all(record_named("NSO Group Technologies Ltd."))
    assert {decision.candidate.company_id for decision in decisions if decision.candidate} == {
        "nso",
        "nso-2",
    }
    assert {decision.outcome for decision in decisions} == {MatchOutcome.review}


def test_identifier_elsewhere_turns_a_name_match_into_review() -> None:
    listed = dataclasses.replace(
        record_named("Fixture Screening Trading FZE"), name="Sandvine Incorporated"
    )
    decisions = Matcher(COMPANIES).match_all(listed)
    assert [(d.candidate.company_id, d.outcome) for d in decisions if d.candidate] == [
        ("coded", MatchOutcome.identifier),
        ("sandvine", MatchOutcome.review),
    ]


def test_batch_matching_equals_one_by_one() -> None:
    matcher = Matcher(COMPANIES)
    listed = records("csl_sample.csv") + records("opensanctions_sample.csv")
    batched = [(record.record_key, decisions) for record, decisions in matcher.match_many(listed)]
    singles = [(record.record_key, matcher.match_all(record)) for record in listed]
    assert batched == singles
    assert sum(1 for _, decisions in batched if decisions) >= 10


def test_delisted_company_is_absent_from_the_later_snapshot_matches() -> None:
    matcher = Matcher(COMPANIES)

    def auto_matched(file: str) -> set[tuple[str, object]]:
        return {
            (record.record_key, decision.candidate.company_id)
            for record, decisions in matcher.match_many(records(file))
            for decision in decisions
            if decision.outcome is MatchOutcome.name_auto and decision.candidate
        }

    dropped = auto_matched("csl_sample.csv") - auto_matched("csl_sample_later.csv")
    assert {company for _, company in dropped} == {"sandvine"}


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="review threshold"):
        MatchThresholds(review=0)
    with pytest.raises(ValueError, match="at least one name"):
        CompanyCandidate("empty", ("  ",))
    with pytest.raises(ValueError, match="given twice"):
        Matcher([CompanyCandidate("x", ("X",)), CompanyCandidate("x", ("Y",))])


def test_no_companies_means_no_matches() -> None:
    decision = Matcher([]).match(record_named("Candiru"))
    assert (decision.outcome, decision.candidate) == (MatchOutcome.none, None)
