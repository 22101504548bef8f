"""Promises are not evidence: an answer whose sources are all the company's own counts as a
self-reported claim under the default rules since v2, as a recorded self-reported commitment
does; under v1 it kept all its points."""

from __future__ import annotations

import datetime as dt

from test_engine_support import (
    SCORING_DIR,
    best_answers,
    commitment,
    request,
    ruleset,
)

from hrdd.scoring.engine import score
from hrdd.scoring.inputs import AnswerInput
from hrdd.scoring.rules import load_ruleset_file
from hrdd.vocab import DisclosureLevel, FulfilmentStatus

AS_OF = dt.date(2024, 6, 1)
POLICY = "P1"


def answers_citing_the_company(*question_ids: str) -> list[AnswerInput]:
    return [
        answer.model_copy(update={"company_sources_only": True})
        if answer.question_id in question_ids
        else answer
        for answer in best_answers()
    ]


def policy_theme(result):
    return {theme.theme: theme for theme in result.themes}["policy"]


def test_an_answer_on_company_sources_only_counts_as_self_reported() -> None:
    independent = score(request(AS_OF, best_answers()))
    company_only = score(request(AS_OF, answers_citing_the_company(POLICY)))

    assert company_only.commitment_score == independent.commitment_score == 100
    assert company_only.verified_commitment_score < independent.verified_commitment_score
    assert company_only.say_do_gap > 0 == independent.say_do_gap
    assert company_only.overall > independent.overall
    assert (company_only.company_sourced_answers, independent.company_sourced_answers) == (
        ("P1",),
        (),
    )
    self_reported = ruleset().say_do.fulfilment[FulfilmentStatus.self_reported].value
    # P1 is one of the policy theme's two disclosure indicators (P3 is unscored text).
    assert float(policy_theme(company_only).verified) == 100 - 100 * (1 - self_reported) / 2


def test_the_discount_is_explained_and_contributions_still_add_up() -> None:
    result = score(request(AS_OF, answers_citing_the_company(POLICY)))

    [explained] = [c for c in result.contributions if c.ref == POLICY]
    assert explained.kind == "answer"
    assert "company's own" in explained.reason and "counts at 0.5" in explained.reason
    assert sum(c.points for c in result.contributions) == result.overall


def test_recording_a_self_reported_promise_no_longer_lowers_the_score() -> None:
    """Under v1, citing a promise as an answer's only source kept all its points while
    recording the same promise as a self-reported commitment halved them."""
    promise = [
        commitment("hr-policy", dt.date(2019, 9, 1), (POLICY,), FulfilmentStatus.self_reported)
    ]
    cited = score(request(AS_OF, answers_citing_the_company(POLICY)))
    recorded = score(request(AS_OF, answers_citing_the_company(POLICY), (), promise))

    assert recorded.verified_commitment_score == cited.verified_commitment_score
    assert recorded.overall == cited.overall


def test_a_recorded_commitment_status_stands_over_the_answers_sources() -> None:
    confirmed = [commitment("hr-policy", dt.date(2019, 9, 1), (POLICY,), FulfilmentStatus.verified)]
    result = score(request(AS_OF, answers_citing_the_company(POLICY), (), confirmed))

    assert result.say_do_gap == 0
    assert result.verified_commitment_score == 100
    assert result.company_sourced_answers == ()


def test_version_one_keeps_all_points_for_company_sourced_answers() -> None:
    v1 = load_ruleset_file(SCORING_DIR / "default-v1.yaml")
    assert v1.say_do.company_sourced_answers is None
    independent = score(request(AS_OF, best_answers(), ruleset=v1))
    company_only = score(request(AS_OF, answers_citing_the_company(POLICY), ruleset=v1))

    assert company_only.verified_commitment_score == independent.verified_commitment_score
    assert company_only.overall == independent.overall
    assert company_only.company_sourced_answers == ()


def test_answers_that_claim_nothing_lose_nothing_to_their_sources() -> None:
    """A "no" earns no points, so whose page says it changes nothing."""
    nothing_claimed = [
        answer.model_copy(update={"disclosure": DisclosureLevel.no})
        if answer.question_id == POLICY
        else answer
        for answer in best_answers()
    ]
    plain = score(request(AS_OF, nothing_claimed))
    cited = score(
        request(
            AS_OF,
            [
                answer.model_copy(update={"company_sources_only": True})
                if answer.question_id == POLICY
                else answer
                for answer in nothing_claimed
            ],
        )
    )
    assert cited.verified_commitment_score == plain.verified_commitment_score
    assert cited.inputs_hash != plain.inputs_hash
