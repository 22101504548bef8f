"""Properties every score must have, whatever the answers, evidence and commitments."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_support import (
    commitment,
    incident,
    request,
    scored_disclosure_ids,
)

from hrdd.scoring.engine import score
from hrdd.scoring.inputs import AnswerInput, IncidentInput, ScoreRequest
from hrdd.vocab import (
    AffectedGroup,
    CompanyRole,
    DisclosureLevel,
    EvidenceType,
    FulfilmentStatus,
    ResponseKind,
    SourceClass,
)

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Types that add risk. Requests may also hold closing and remediation items, which are meant
# to lower risk, so they are never the item added in the monotonicity property.
HARM_TYPES = [
    EvidenceType.forensic_finding,
    EvidenceType.investigative_journalism,
    EvidenceType.lawsuit_filed,
    EvidenceType.court_ruling,
    EvidenceType.regulatory_action,
    EvidenceType.export_licence_revoked,
    EvidenceType.trade_restriction_listing,
    EvidenceType.sanction,
]
START, END = dt.date(2015, 1, 1), dt.date(2026, 12, 31)
days = st.dates(min_value=START, max_value=END)
LEVELS = list(DisclosureLevel)


def answers_strategy() -> st.SearchStrategy[list[AnswerInput]]:
    def build(levels: list[DisclosureLevel | None], hidden: list[bool]) -> list[AnswerInput]:
        return [
            AnswerInput(question_id=qid, disclosure=level, visible=not hide)
            for qid, level, hide in zip(scored_disclosure_ids(), levels, hidden, strict=True)
            if level is not None or hide
        ]

    count = len(scored_disclosure_ids())
    return st.builds(
        build,
        st.lists(st.sampled_from([*LEVELS, None]), min_size=count, max_size=count),
        st.lists(st.booleans(), min_size=count, max_size=count),
    )


@st.composite
def harm_incident(draw: st.DrawFn, incident_id: str) -> IncidentInput:
    event = draw(days)
    remediated = draw(st.one_of(st.none(), days.filter(lambda d: d >= event)))
    responses = draw(st.lists(st.tuples(st.sampled_from(list(ResponseKind)), days), max_size=3))
    return incident(
        incident_id,
        event,
        type=draw(st.sampled_from(HARM_TYPES)),
        severity=draw(st.integers(1, 5)),
        source=draw(st.sampled_from(list(SourceClass))),
        role=draw(st.sampled_from(list(CompanyRole))),
        groups=tuple(draw(st.lists(st.sampled_from(list(AffectedGroup)), max_size=3))),
        remediated_on=remediated,
        responses=tuple(responses),
        list_name=draw(st.sampled_from([None, "US Entity List", "EU sanctions"])),
        published=draw(st.one_of(st.none(), days)),
    )


@st.composite
def score_requests(draw: st.DrawFn) -> ScoreRequest:
    count = draw(st.integers(0, 6))
    incidents = [draw(harm_incident(f"inc-{n}")) for n in range(count)]
    if incidents and draw(st.booleans()):
        incidents.append(
            incident(
                "remedy",
                draw(days),
                type=EvidenceType.remediation,
                severity=None,
                closes=(draw(st.sampled_from(incidents)).id,),
            )
        )
    if draw(st.booleans()):
        incidents.append(
            incident(
                "delisted",
                draw(days),
                type=EvidenceType.delisting,
                severity=None,
                source=SourceClass.court_or_government_record,
                list_name=draw(st.sampled_from(["US Entity List", "EU sanctions"])),
            )
        )
    commitments = []
    for n in range(draw(st.integers(0, 3))):
        status = draw(st.sampled_from(list(FulfilmentStatus)))
        contradicted_by: tuple[str, ...] = ()
        if status is FulfilmentStatus.contradicted:
            if not incidents:
                status = FulfilmentStatus.self_reported
            else:
                contradicted_by = (draw(st.sampled_from(incidents)).id,)
        questions = tuple(
            draw(st.lists(st.sampled_from(scored_disclosure_ids()), min_size=1, max_size=3))
        )
        commitments.append(commitment(f"com-{n}", draw(days), questions, status, contradicted_by))
    return request(draw(days), draw(answers_strategy()), incidents, commitments)


def rebuilt(score_request: ScoreRequest, **changes: object) -> ScoreRequest:
    """A validated copy (model_copy would skip the sorting that makes inputs canonical)."""
    return ScoreRequest(**{**dict(score_request), **changes})


def _all_scores(result) -> list[Decimal]:
    values = [
        result.overall,
        result.evidence_risk_current,
        result.evidence_risk_peak,
        result.policy_gap_risk,
        result.commitment_score,
        result.verified_commitment_score,
        result.say_do_gap,
        result.sensitivity.low,
        result.sensitivity.high,
    ]
    for theme in result.themes:
        values += [theme.claimed, theme.verified]
    return values


@PROPERTY_SETTINGS
@given(score_requests())
def test_every_score_stays_within_0_and_100(score_request: ScoreRequest) -> None:
    result = score(score_request)
    for value in _all_scores(result):
        assert Decimal(0) <= value <= Decimal(100)
    assert result.evidence_risk_peak >= result.evidence_risk_current
    assert result.sensitivity.low <= result.overall <= result.sensitivity.high
    assert result.band is score_request.ruleset.band_for(float(result.overall))


@PROPERTY_SETTINGS
@given(score_requests())
def test_contributions_add_up_exactly_to_the_overall_score(score_request: ScoreRequest) -> None:
    result = score(score_request)
    assert sum((c.points for c in result.contributions), Decimal(0)) == result.overall
    assert all(c.points >= 0 for c in result.contributions)


@PROPERTY_SETTINGS
@given(score_requests(), harm_incident("inc-added"))
def test_adding_an_incident_never_lowers_risk(
    score_request: ScoreRequest, added: IncidentInput
) -> None:
    before = score(score_request)
    after = score(rebuilt(score_request, incidents=(*score_request.incidents, added)))
    assert after.overall >= before.overall
    assert after.evidence_risk_current >= before.evidence_risk_current
    assert after.evidence_risk_peak >= before.evidence_risk_peak


IMPROVEMENT = {
    None: DisclosureLevel.partial,
    DisclosureLevel.no: DisclosureLevel.partial,
    DisclosureLevel.no_information: DisclosureLevel.partial,
    DisclosureLevel.partial: DisclosureLevel.full,
}


@PROPERTY_SETTINGS
@given(score_requests(), st.sampled_from(scored_disclosure_ids(reverse=False)))
def test_improving_an_answer_never_raises_risk(
    score_request: ScoreRequest, question_id: str
) -> None:
    answers = {a.question_id: a for a in score_request.answers}
    current = answers.get(question_id)
    if current is not None and (not current.visible or current.disclosure not in IMPROVEMENT):
        return
    level = None if current is None else current.disclosure
    improved = AnswerInput(question_id=question_id, disclosure=IMPROVEMENT[level])
    answers[question_id] = improved
    before = score(score_request)
    after = score(rebuilt(score_request, answers=tuple(answers.values())))
    assert after.overall <= before.overall
    assert after.policy_gap_risk <= before.policy_gap_risk
    assert after.commitment_score >= before.commitment_score


@PROPERTY_SETTINGS
@given(score_requests(), st.randoms(use_true_random=False))
def test_same_inputs_in_any_order_give_the_same_hash_and_score(
    score_request: ScoreRequest, shuffler: random.Random
) -> None:
    def shuffled(items: tuple) -> list:
        items = list(items)
        shuffler.shuffle(items)
        return items

    reordered = ScoreRequest(
        questions=shuffled(score_request.questions),
        answers=shuffled(score_request.answers),
        incidents=[
            IncidentInput(**{**dict(i), "affected_groups": tuple(reversed(i.affected_groups))})
            for i in shuffled(score_request.incidents)
        ],
        commitments=shuffled(score_request.commitments),
        ruleset=score_request.ruleset,
        as_of=score_request.as_of,
    )
    first, again, other_order = score(score_request), score(score_request), score(reordered)
    assert first == again
    assert other_order.inputs_hash == first.inputs_hash
    assert other_order == first


@PROPERTY_SETTINGS
@given(score_requests())
def test_the_hash_changes_with_the_as_of_date_and_the_answers(
    score_request: ScoreRequest,
) -> None:
    result = score(score_request)
    later = score(rebuilt(score_request, as_of=score_request.as_of + dt.timedelta(1)))
    answers = {a.question_id: a for a in score_request.answers}
    answers["P1"] = AnswerInput(
        question_id="P1",
        disclosure=DisclosureLevel.partial
        if answers.get("P1", AnswerInput(question_id="P1")).disclosure is DisclosureLevel.full
        else DisclosureLevel.full,
    )
    changed = score(rebuilt(score_request, answers=tuple(answers.values())))
    assert later.inputs_hash != result.inputs_hash
    assert changed.inputs_hash != result.inputs_hash
