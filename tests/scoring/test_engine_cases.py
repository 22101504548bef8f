"""Worked cases: overrides that fire and lift, the say-do gap, as-of dates, diffs and errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import yaml
from pydantic import ValidationError
from test_engine_support import (
    RULESET_PATH,
    SCORING_DIR,
    answer,
    best_answers,
    commitment,
    incident,
    request,
    ruleset,
    scored_disclosure_ids,
)

from hrdd.scoring.engine import ScoringInputError, score
from hrdd.scoring.inputs import AnswerInput, QuestionSpec, ScoreRequest
from hrdd.scoring.rules import RISK_BAND_ORDER, load_ruleset_file, parse_ruleset
from hrdd.vocab import (
    AffectedGroup,
    Confidence,
    DisclosureLevel,
    EvidenceType,
    FulfilmentStatus,
    InvestorAction,
    ResponseKind,
    RiskBand,
    SourceClass,
)

ENTITY_LIST = "US Entity List"
LISTING_FLOOR = Decimal(str(next(o.floor for o in ruleset().overrides if o.id == "RF-LISTING")))
HRD_FLOOR = Decimal(str(next(o.floor for o in ruleset().overrides if o.id == "RF-HRD-TARGETING")))


def listing(incident_id: str, day: dt.date, list_name: str = ENTITY_LIST, severity: int | None = 3):
    return incident(
        incident_id,
        day,
        type=EvidenceType.trade_restriction_listing,
        severity=severity,
        source=SourceClass.court_or_government_record,
        list_name=list_name,
    )


def delisting(incident_id: str, day: dt.date, list_name: str | None = ENTITY_LIST, **kwargs):
    kwargs.setdefault("source", SourceClass.court_or_government_record)
    return incident(
        incident_id, day, type=EvidenceType.delisting, severity=None, list_name=list_name, **kwargs
    )


def remedy_of(
    harm_id: str, day: dt.date, source: SourceClass = SourceClass.court_or_government_record
):
    """A documented remediation, on the record, of the harm it names."""
    return incident(
        "remedy",
        day,
        type=EvidenceType.remediation,
        severity=None,
        source=source,
        closes=(harm_id,),
    )


def targeting(incident_id: str, day: dt.date, **kwargs):
    kwargs.setdefault("groups", (AffectedGroup.journalists,))
    kwargs.setdefault("source", SourceClass.forensic_lab)
    return incident(incident_id, day, severity=4, **kwargs)


def fired(result) -> set[str]:
    return {override.rule_id for override in result.overrides}


# --- bands and the good case -----------------------------------------------------------------


def test_good_verified_answers_and_no_evidence_land_low_with_high_confidence() -> None:
    result = score(request(dt.date(2025, 6, 1), best_answers(on=dt.date(2025, 3, 1))))
    assert result.band is RiskBand.low
    assert result.commitment_score == Decimal(100)
    assert result.say_do_gap == 0
    assert result.action is InvestorAction.monitor
    assert result.confidence is Confidence.high
    assert not result.overrides


def test_an_unanswered_questionnaire_is_a_policy_gap_with_low_confidence() -> None:
    result = score(request(dt.date(2025, 6, 1)))
    assert result.commitment_score == 0
    assert result.policy_gap_risk == Decimal(str(ruleset().policy_gap.max_risk))
    assert result.confidence is Confidence.low
    assert {c.kind for c in result.contributions} == {"answer"}
    coverage = next(d for d in result.confidence_drivers if d.name == "coverage")
    assert coverage.value == 0


def test_a_questionnaire_with_nothing_applicable_still_explains_its_score() -> None:
    hidden = [AnswerInput(question_id=qid, visible=False) for qid in ("DD6", "C3", "DS2", "R2")] + [
        answer(qid, DisclosureLevel.not_applicable) for qid in scored_disclosure_ids()
    ]
    result = score(request(dt.date(2025, 6, 1), hidden))
    assert result.themes == ()
    assert result.overall == Decimal(str(ruleset().policy_gap.max_risk))
    assert [(c.kind, c.ref, c.points) for c in result.contributions] == [
        ("theme", "all", result.overall)
    ]


def test_policy_gap_alone_never_reaches_severe() -> None:
    answers = [answer(qid, DisclosureLevel.no) for qid in scored_disclosure_ids()]
    result = score(request(dt.date(2025, 6, 1), answers))
    assert result.band is not RiskBand.severe


def test_reverse_scored_question_rewards_no() -> None:
    base = best_answers()
    listed = [a for a in base if a.question_id != "EU4"] + [answer("EU4", DisclosureLevel.full)]
    clean = score(request(dt.date(2025, 6, 1), base))
    admitted = score(request(dt.date(2025, 6, 1), listed))
    assert admitted.commitment_score < clean.commitment_score
    assert any(c.ref == "EU4" for c in admitted.contributions)


def test_not_applicable_and_hidden_answers_are_excluded_not_zero() -> None:
    base = [a for a in best_answers() if a.question_id != "DD3"]
    na = score(request(dt.date(2025, 6, 1), [*base, answer("DD3", DisclosureLevel.not_applicable)]))
    hidden = score(
        request(
            dt.date(2025, 6, 1),
            [*base, AnswerInput(question_id="DD3", visible=False, disclosure=DisclosureLevel.no)],
        )
    )
    unanswered = score(request(dt.date(2025, 6, 1), base))
    assert na.commitment_score == hidden.commitment_score == Decimal(100)
    assert unanswered.commitment_score < na.commitment_score


def test_number_rule_scores_a_disclosed_count() -> None:
    base = [a for a in best_answers() if a.question_id != "DD6"]
    zero = score(request(dt.date(2025, 6, 1), [*base, AnswerInput(question_id="DD6", number=0)]))
    some = score(request(dt.date(2025, 6, 1), [*base, AnswerInput(question_id="DD6", number=3)]))
    dd = {t.theme: t for t in zero.themes}["due_diligence"]
    assert some.commitment_score > zero.commitment_score
    assert dd.claimed < 100


def test_a_theme_none_of_whose_disclosure_questions_apply_is_left_out_whole() -> None:
    """A count or choice cannot be answered N/A; where every disclosure question of its theme
    is N/A it is left out with them, instead of scoring the theme on its own."""
    contracts = ["C1", "C2", "C4", "C5"]
    base = [a for a in best_answers() if a.question_id not in {*contracts, "C3"}]
    na = [answer(qid, DisclosureLevel.not_applicable) for qid in contracts]
    unanswered = score(request(dt.date(2025, 6, 1), [*base, *na]))
    disclosed_zero = score(
        request(dt.date(2025, 6, 1), [*base, *na, AnswerInput(question_id="C3", number=0)])
    )
    for result in (unanswered, disclosed_zero):
        assert "contracts" not in {theme.theme for theme in result.themes}
        assert result.commitment_score == Decimal(100)
        assert not any(c.ref == "C3" for c in result.contributions)
    coverage = next(d for d in unanswered.confidence_drivers if d.name == "coverage")
    assert coverage.value == 1

    # One contract question that applies brings the count back in.
    one_applies = [answer("C1", DisclosureLevel.full), *na[1:]]
    counted = score(request(dt.date(2025, 6, 1), [*base, *one_applies]))
    assert {theme.theme: theme for theme in counted.themes}["contracts"].claimed < 100
    assert any(c.kind == "answer" and c.ref == "C3" for c in counted.contributions)


# --- listing override (Sandvine-like: listed 2024-02-26, delisted 2024-10-21) ---------------


def sandvine_like() -> list:
    return [
        listing("listed", dt.date(2024, 2, 26)),
        delisting("delisted", dt.date(2024, 10, 21)),
        incident(
            "dpi-report",
            dt.date(2023, 9, 1),
            type=EvidenceType.investigative_journalism,
            severity=4,
            source=SourceClass.major_investigative_outlet,
        ),
    ]


def test_listing_override_fires_while_listed_and_lifts_on_delisting() -> None:
    listed = score(request(dt.date(2024, 7, 1), best_answers(), sandvine_like()))
    delisted = score(request(dt.date(2025, 6, 1), best_answers(), sandvine_like()))
    assert fired(listed) == {"RF-LISTING"}
    assert listed.overall >= LISTING_FLOOR
    assert listed.overrides[0].incident_ids == ("listed",)
    assert any(c.kind == "override" and c.ref == "RF-LISTING" for c in listed.contributions)
    assert "RF-LISTING" not in fired(delisted)
    assert delisted.overall < listed.overall
    assert delisted.evidence_risk_peak >= delisted.evidence_risk_current


def test_delisting_only_ends_listings_made_before_it() -> None:
    items = [
        listing("first", dt.date(2021, 11, 3)),
        delisting("out", dt.date(2022, 6, 1)),
        listing("again", dt.date(2023, 1, 10)),
    ]
    between = score(request(dt.date(2022, 12, 1), best_answers(), items))
    after = score(request(dt.date(2023, 6, 1), best_answers(), items))
    assert "RF-LISTING" not in fired(between)
    assert fired(after) == {"RF-LISTING"}
    assert after.overrides[0].incident_ids == ("again",)


def test_a_delisting_from_another_list_lifts_nothing() -> None:
    items = [
        listing("listed", dt.date(2021, 11, 3)),
        delisting("other", dt.date(2022, 1, 1), "EU list"),
    ]
    assert fired(score(request(dt.date(2023, 1, 1), best_answers(), items))) == {"RF-LISTING"}


def test_closing_item_may_name_the_listing_it_ends() -> None:
    items = [
        listing("listed", dt.date(2021, 11, 3)),
        delisting("lifted", dt.date(2022, 1, 1), list_name=None, closes=("listed",)),
    ]
    assert not fired(score(request(dt.date(2023, 1, 1), best_answers(), items)))


def test_a_closing_item_that_names_listings_ends_those_alone() -> None:
    """A screening delisting names its list and, in closes, the listing of its record: it ends
    that one, not the curated entry of the same list beside it. One naming no item still ends
    every earlier listing of its list (a curated delisting)."""
    items = [
        listing("curated", dt.date(2021, 11, 3)),
        listing("screened", dt.date(2022, 3, 1), severity=None),
        delisting("record-gone", dt.date(2023, 1, 1), closes=("screened",)),
    ]
    result = score(request(dt.date(2023, 6, 1), best_answers(), items))
    assert fired(result) == {"RF-LISTING"}
    assert result.overrides[0].incident_ids == ("curated",)
    by_list = [*items, delisting("curated-delisting", dt.date(2023, 3, 1))]
    assert not fired(score(request(dt.date(2023, 6, 1), best_answers(), by_list)))


def test_an_unrated_listing_note_says_when_it_ended() -> None:
    items = [
        listing("screened", dt.date(2022, 3, 1), severity=None),
        delisting("record-gone", dt.date(2023, 1, 1), list_name=None, closes=("screened",)),
    ]
    before = score(request(dt.date(2022, 12, 1), best_answers(), items))
    after = score(request(dt.date(2023, 6, 1), best_answers(), items))
    active = "it counts through RF-LISTING while the listing is active"
    ended = "the listing ended on 2023-01-01, so it no longer counts through RF-LISTING"
    [note_before] = [n for n in before.notes if n.startswith("incident screened:")]
    [note_after] = [n for n in after.notes if n.startswith("incident screened:")]
    assert active in note_before and ended not in note_before
    assert ended in note_after and active not in note_after


def test_the_end_of_a_listing_never_clears_harm_nor_a_remedy_a_listing() -> None:
    """Validation refuses such pairs; ones stored before it did stay as they are, with a note,
    rather than a delisting lifting the targeting red flag."""
    items = [
        targeting("hack", dt.date(2021, 7, 18)),
        listing("listed", dt.date(2021, 11, 3)),
        delisting("lifted", dt.date(2022, 1, 1), list_name=None, closes=("hack",)),
        remedy_of("listed", dt.date(2022, 2, 1)),
    ]
    result = score(request(dt.date(2023, 1, 1), best_answers(), items))
    assert fired(result) == {"RF-HRD-TARGETING", "RF-LISTING"}
    assert (
        "incident lifted: a delisting cannot close hack, a forensic_finding, so that item "
        "stays as it is" in result.notes
    )
    assert any(
        n.startswith("incident remedy: a remediation cannot close listed") for n in result.notes
    )


def test_an_unrated_listing_weighs_only_through_the_listing_floor() -> None:
    # Screening imports record list entries without a severity; none is guessed for them.
    unrated = [listing("screened", dt.date(2024, 2, 26), severity=None)]
    listed = score(request(dt.date(2024, 7, 1), best_answers(), unrated))
    assert fired(listed) == {"RF-LISTING"}
    assert listed.overrides[0].incident_ids == ("screened",)
    assert ENTITY_LIST in listed.overrides[0].reason
    assert listed.overall == LISTING_FLOOR
    assert listed.evidence_risk_current == listed.evidence_risk_peak == 0
    assert [(c.kind, c.ref) for c in listed.contributions if c.points] == [
        ("override", "RF-LISTING")
    ]
    assert any(
        n.startswith("incident screened: this trade_restriction_listing has no severity")
        for n in listed.notes
    )
    reliability = next(d for d in listed.confidence_drivers if d.name == "reliability")
    assert (reliability.value, reliability.level) == (1.0, Confidence.high)

    rated = score(
        request(dt.date(2024, 7, 1), best_answers(), [listing("rated", dt.date(2024, 2, 26))])
    )
    assert rated.evidence_risk_current > 0

    delisted = [*unrated, delisting("out", dt.date(2024, 10, 21))]
    after = score(request(dt.date(2025, 6, 1), best_answers(), delisted))
    assert not fired(after)
    assert after.overall < LISTING_FLOOR


def test_an_unrated_listing_never_meets_a_harm_red_flags_minimum_severity() -> None:
    data = yaml.safe_load(RULESET_PATH.read_text(encoding="utf-8"))
    data["overrides"].append(
        {
            "kind": "unremediated_harm",
            "id": "RF-LISTED-FOR-TARGETING",
            "floor": 90,
            "evidence_types": ["trade_restriction_listing"],
            "source_classes": ["court_or_government_record"],
            "affected_groups": ["journalists"],
            "min_severity": 1,
            "min_action": "divest_or_exclude",
            "lifted_when": "Documented remediation.",
            "why": "A test rule: a listing for targeting journalists.",
        }
    )
    rules = parse_ruleset(data, "test")
    unrated = incident(
        "screened",
        dt.date(2024, 2, 26),
        type=EvidenceType.trade_restriction_listing,
        severity=None,
        source=SourceClass.court_or_government_record,
        groups=(AffectedGroup.journalists,),
        list_name=ENTITY_LIST,
    )
    result = score(
        request(dt.date(2024, 7, 1), best_answers(), [unrated]).model_copy(
            update={"ruleset": rules}
        )
    )
    assert fired(result) == {"RF-LISTING"}


# --- targeting of journalists and HRDs -------------------------------------------------------


def test_hrd_targeting_override_lifts_on_documented_remediation() -> None:
    ongoing = [targeting("hack", dt.date(2021, 7, 18))]
    remedied = [
        *ongoing,
        remedy_of("hack", dt.date(2023, 3, 1)),
    ]
    as_of = dt.date(2024, 1, 1)
    before = score(request(as_of, best_answers(), ongoing))
    after = score(request(as_of, best_answers(), remedied))
    earlier = score(request(dt.date(2022, 1, 1), best_answers(), remedied))
    assert fired(before) == {"RF-HRD-TARGETING"}
    assert before.overall >= HRD_FLOOR
    assert not fired(after)
    assert after.overall < before.overall
    assert fired(earlier) == {"RF-HRD-TARGETING"}


def test_the_action_reason_says_what_fired_each_red_flag() -> None:
    """A rule id alone told an investor nothing: the reason names the listing or the harm and
    the floor, and reads the overall as risk out of 100."""
    items = [targeting("hack", dt.date(2021, 7, 18)), listing("listed", dt.date(2021, 11, 3))]
    result = score(request(dt.date(2022, 1, 1), best_answers(), items))
    reason = result.action_reason
    assert f"(overall risk {result.overall} of 100)" in reason
    assert f"Red flag RF-LISTING fired: active listing on {ENTITY_LIST}: risk floor " in reason
    assert (
        "Red flag RF-HRD-TARGETING fired: unremediated forensic finding affecting journalists: "
        "risk floor "
    ) in reason


def test_hrd_targeting_needs_a_finding_of_targeting_severity() -> None:
    """Severity 1 and 2 mean no sign of targeting: naming journalists does not make such an
    item set the floor of 75 (it did up to v3). Severity 3, targeted surveillance, does."""
    as_of = dt.date(2022, 1, 1)
    v3 = load_ruleset_file(SCORING_DIR / "default-v3.yaml")

    def minor(severity: int):
        return [targeting("hack", dt.date(2021, 7, 18)).model_copy(update={"severity": severity})]

    assert not fired(score(request(as_of, best_answers(), minor(2))))
    assert fired(score(request(as_of, best_answers(), minor(2), ruleset=v3))) == {
        "RF-HRD-TARGETING"
    }
    assert fired(score(request(as_of, best_answers(), minor(3)))) == {"RF-HRD-TARGETING"}


def test_no_information_found_is_no_coverage_from_v5() -> None:
    """An answer that nothing was found is a gap in the score and, from v5, no coverage either:
    a company that discloses nothing must not read as well known. Up to v4 it counted as an
    answer, and those versions still score so. The score itself is the same under both."""
    as_of = dt.date(2025, 6, 1)
    v4 = load_ruleset_file(SCORING_DIR / "default-v4.yaml")
    v5 = load_ruleset_file(SCORING_DIR / "default-v5.yaml")
    blanks = scored_disclosure_ids()[: len(scored_disclosure_ids()) // 2]
    answers = [
        answer(a.question_id, DisclosureLevel.no_information) if a.question_id in blanks else a
        for a in best_answers()
    ]

    def coverage(result):
        return next(d for d in result.confidence_drivers if d.name == "coverage")

    under_v5 = score(request(as_of, answers, ruleset=v5))
    under_v4 = score(request(as_of, answers, ruleset=v4))
    assert coverage(under_v4).value == 1
    applicable = int(coverage(under_v4).reason.split()[2])
    assert coverage(under_v5).value == pytest.approx((applicable - len(blanks)) / applicable, 1e-3)
    assert coverage(under_v5).reason == (
        f"{applicable - len(blanks)} of {applicable} scored questions answered with information "
        f"found ({len(blanks)} more say none was found)"
    )
    assert under_v4.confidence is Confidence.high
    assert under_v5.confidence is not Confidence.high
    assert (under_v5.overall, under_v5.band) == (under_v4.overall, under_v4.band)
    # Without such answers the two agree.
    full = score(request(as_of, best_answers(), ruleset=v5))
    assert coverage(full).value == 1 and full.confidence is Confidence.high


def test_a_remedy_or_delisting_on_the_companys_word_alone_closes_nothing() -> None:
    """Promises are not evidence: under rules with say_do.company_sourced_closures a
    remediation or delisting whose only source is the company (or unverifiable) lifts no red
    flag and halves no harm; one independent source closes what it names. Rules without the
    rule (v2 and before) close whatever the source, as they always did."""
    as_of = dt.date(2024, 1, 1)
    harm = targeting("hack", dt.date(2021, 7, 18))
    listed = listing("listed", dt.date(2022, 2, 26))
    rules = ruleset()
    assert rules.say_do.company_sourced_closures is not None
    older = rules.model_copy(
        update={"say_do": rules.say_do.model_copy(update={"company_sourced_closures": None})}
    )
    for word_only in (SourceClass.company_statement, SourceClass.unverified):
        claimed = [
            harm,
            remedy_of("hack", dt.date(2023, 3, 1), source=word_only),
            listed,
            delisting("delisted", dt.date(2023, 3, 1), source=word_only),
        ]
        unclosed = score(request(as_of, best_answers(), [harm, listed]))
        result = score(request(as_of, best_answers(), claimed))
        assert fired(result) == {"RF-HRD-TARGETING", "RF-LISTING"}
        assert result.overall == unclosed.overall
        assert sum("rests on the company's own word" in note for note in result.notes) == 2
        before_the_rule = score(request(as_of, best_answers(), claimed, ruleset=older))
        assert not fired(before_the_rule)
    independent = [
        harm,
        remedy_of("hack", dt.date(2023, 3, 1), source=SourceClass.ngo_report),
        listed,
        delisting("delisted", dt.date(2023, 3, 1)),
    ]
    assert not fired(score(request(as_of, best_answers(), independent)))


def test_hrd_targeting_lifts_on_remediated_status_from_its_date_only() -> None:
    items = [targeting("hack", dt.date(2021, 7, 18), remediated_on=dt.date(2023, 5, 1))]
    assert fired(score(request(dt.date(2023, 1, 1), best_answers(), items))) == {"RF-HRD-TARGETING"}
    assert not fired(score(request(dt.date(2023, 6, 1), best_answers(), items)))


def test_hrd_targeting_needs_forensic_confirmation_and_an_at_risk_group() -> None:
    media = [targeting("story", dt.date(2024, 1, 1), source=SourceClass.media_report)]
    public = [targeting("bulk", dt.date(2024, 1, 1), groups=(AffectedGroup.general_public,))]
    for items in (media, public):
        assert not fired(score(request(dt.date(2024, 6, 1), best_answers(), items)))


def test_a_company_response_reduces_an_incident_but_does_not_lift_the_floor() -> None:
    plain = [targeting("hack", dt.date(2024, 1, 1), groups=())]
    answered = [
        targeting(
            "hack",
            dt.date(2024, 1, 1),
            groups=(),
            responses=((ResponseKind.remedy, dt.date(2024, 2, 1)),),
        )
    ]
    as_of = dt.date(2024, 6, 1)
    assert (
        score(request(as_of, best_answers(), answered)).evidence_risk_current
        < score(request(as_of, best_answers(), plain)).evidence_risk_current
    )
    responded = [
        targeting(
            "hack", dt.date(2024, 1, 1), responses=((ResponseKind.remedy, dt.date(2024, 2, 1)),)
        )
    ]
    assert fired(score(request(as_of, best_answers(), responded))) == {"RF-HRD-TARGETING"}


# --- evidence over time ----------------------------------------------------------------------


def test_evidence_after_as_of_is_ignored_entirely() -> None:
    as_of = dt.date(2021, 1, 1)
    known = [targeting("old", dt.date(2020, 6, 1), groups=())]
    future = [
        *known,
        targeting("new", dt.date(2022, 1, 1)),
        listing("listed", dt.date(2021, 11, 3)),
        incident("late", dt.date(2020, 12, 1), published=dt.date(2021, 5, 1)),
    ]
    without = score(request(as_of, best_answers(), known))
    with_future = score(request(as_of, best_answers(), future))
    assert with_future.overall == without.overall
    assert with_future.contributions == without.contributions
    assert with_future.evidence_risk_peak == without.evidence_risk_peak
    assert set(with_future.ignored_incident_ids) == {"new", "listed", "late"}
    assert not with_future.overrides


def test_unremediated_harm_decays_to_its_floor_and_remediated_harm_below_it() -> None:
    floor = ruleset().decay[4].floor_while_unremediated
    points = ruleset().severity[4].points
    ongoing = [incident("old", dt.date(2010, 1, 1), severity=4)]
    remedied = [incident("old", dt.date(2010, 1, 1), severity=4, remediated_on=dt.date(2011, 1, 1))]
    fresh = score(request(dt.date(2010, 1, 2), best_answers(), ongoing))
    stale = score(request(dt.date(2025, 1, 1), best_answers(), ongoing))
    stale_remedied = score(request(dt.date(2025, 1, 1), best_answers(), remedied))
    assert stale.evidence_risk_current < fresh.evidence_risk_current
    assert float(stale.evidence_risk_current) == pytest.approx(points * floor, abs=0.05)
    assert stale_remedied.evidence_risk_current < stale.evidence_risk_current
    assert stale.evidence_risk_peak == stale.evidence_risk_current


def test_peak_reports_the_worst_moment_in_the_window() -> None:
    items = [
        incident("hit", dt.date(2024, 1, 1), severity=5, remediated_on=dt.date(2024, 3, 1)),
    ]
    result = score(request(dt.date(2025, 6, 1), best_answers(), items))
    assert result.evidence_risk_peak > result.evidence_risk_current
    assert result.evidence_risk_peak_date == dt.date(2024, 1, 1)


def test_harm_outweighs_perfect_policies() -> None:
    items = [incident("grave", dt.date(2024, 1, 1), severity=5)]
    result = score(request(dt.date(2024, 2, 1), best_answers(), items))
    assert result.commitment_score == 100
    assert result.band is RiskBand.severe
    assert [c.kind for c in result.contributions] == ["incident"]


# --- commitments and the say-do gap ----------------------------------------------------------


def test_contradicted_commitment_raises_the_gap_and_caps_its_theme() -> None:
    # A minor report contradicts the vetting claim, so policy risk, not evidence, drives.
    report = incident("report", dt.date(2019, 10, 10), severity=1, source=SourceClass.media_report)
    vetting = ("DD1", "DD3")
    claimed = [commitment("vetting", dt.date(2019, 9, 10), vetting, FulfilmentStatus.verified)]
    contradicted = [
        commitment(
            "vetting", dt.date(2019, 9, 10), vetting, FulfilmentStatus.contradicted, ("report",)
        )
    ]
    as_of = dt.date(2020, 1, 1)
    honest = score(request(as_of, best_answers(), [report], claimed))
    caught = score(request(as_of, best_answers(), [report], contradicted))
    cap = Decimal(str(ruleset().say_do.contradicted_theme_cap))
    theme = {t.theme: t for t in caught.themes}["due_diligence"]
    assert honest.say_do_gap == 0
    assert caught.say_do_gap > honest.say_do_gap
    assert caught.verified_commitment_score < honest.verified_commitment_score
    assert caught.commitment_score == honest.commitment_score
    assert theme.capped and theme.capped_by == ("vetting",)
    assert theme.verified == cap
    assert caught.overall > honest.overall
    kinds = {(c.kind, c.ref) for c in caught.contributions}
    assert {("theme", "due_diligence"), ("commitment", "vetting")} <= kinds
    assert sum(c.points for c in caught.contributions) == caught.overall


def test_contradiction_counts_only_once_its_evidence_is_known() -> None:
    hack = targeting("hack", dt.date(2019, 10, 10))
    contradicted = [
        commitment(
            "hr-policy", dt.date(2019, 9, 10), ("P1",), FulfilmentStatus.contradicted, ("hack",)
        )
    ]
    self_reported = [
        commitment("hr-policy", dt.date(2019, 9, 10), ("P1",), FulfilmentStatus.self_reported)
    ]
    as_of = dt.date(2019, 9, 30)
    before = score(request(as_of, best_answers(), [hack], contradicted))
    assert (
        before.say_do_gap == score(request(as_of, best_answers(), [hack], self_reported)).say_do_gap
    )
    assert not any(t.capped for t in before.themes)


def test_a_claims_part_is_worded_by_its_status() -> None:
    """A contradicted claim read "claim on DD3 verified at -1: scores -100.0 instead of 50.0"
    (Cellebrite in the user test)."""
    report = incident("report", dt.date(2019, 10, 10), severity=1, source=SourceClass.media_report)
    claims = [
        commitment(
            "vetting",
            dt.date(2019, 9, 10),
            ("DD1",),
            FulfilmentStatus.contradicted,
            ("report",),
        ),
        commitment("policy", dt.date(2019, 9, 10), ("P1",), FulfilmentStatus.self_reported),
        commitment("oversight", dt.date(2019, 9, 10), ("P2",), FulfilmentStatus.not_implemented),
    ]
    result = score(request(dt.date(2020, 1, 1), best_answers(), [report], claims))
    reasons = {c.ref: c.reason for c in result.contributions if c.kind == "commitment"}
    assert reasons["vetting"].startswith(
        "claim on DD1 contradicted: scores -100.0 instead of 100.0; "
    )
    assert reasons["policy"] == (
        "claim on P1 self reported, counts at 0.5: scores 50.0 instead of 100.0"
    )
    assert reasons["oversight"] == (
        "claim on P2 not implemented, counts at 0: scores 0.0 instead of 100.0"
    )
    assert not any("verified at" in reason for reason in reasons.values())


def test_an_answers_part_names_its_level_in_the_reports_words() -> None:
    """'no_information: 0.0 of 100 points' read as code to the user tester."""
    base = [a for a in best_answers() if a.question_id not in ("DD1", "DD3", "P1")]
    answers = [
        *base,
        answer("DD1", DisclosureLevel.no_information),
        answer("DD3", DisclosureLevel.partial),
    ]
    result = score(request(dt.date(2025, 6, 1), answers))
    reasons = {c.ref: c.reason for c in result.contributions if c.kind == "answer"}
    assert reasons["DD1"].startswith('answered "No information found": 0.0 of 100 points')
    assert reasons["DD3"].startswith('answered "Partial": ')
    assert reasons["P1"].startswith("unanswered: 0.0 of 100 points")
    assert not any("_" in reason.split(":")[0] for reason in reasons.values())


def test_say_do_gap_drives_policy_risk_with_commitment_contributions() -> None:
    answers = best_answers()
    commitments = [
        commitment(f"claim-{qid}", dt.date(2020, 1, 1), (qid,), FulfilmentStatus.not_implemented)
        for qid in scored_disclosure_ids(reverse=False)
    ]
    result = score(request(dt.date(2021, 1, 1), answers, (), commitments))
    assert result.say_do_gap > 50
    assert result.policy_gap_risk > 0
    assert {c.kind for c in result.contributions} == {"commitment"}
    assert sum(c.points for c in result.contributions) == result.overall


def test_commitments_made_after_as_of_are_ignored() -> None:
    later = [commitment("promise", dt.date(2024, 1, 1), ("P1",), FulfilmentStatus.not_implemented)]
    result = score(request(dt.date(2023, 1, 1), best_answers(), (), later))
    assert result.say_do_gap == 0


# --- diff, trend and action ------------------------------------------------------------------


def test_diff_explains_a_new_incident_and_the_action_steps_up() -> None:
    as_of = dt.date(2024, 6, 1)
    # Scored before the hack became known (2024-05-01): the hack is news since.
    previous = score(
        request(dt.date(2024, 4, 15), best_answers(), [listing("listed", dt.date(2024, 2, 26))])
    )
    items = [
        listing("listed", dt.date(2024, 2, 26)),
        incident("hack", dt.date(2024, 5, 1), severity=5, groups=(AffectedGroup.journalists,)),
    ]
    current = score(request(as_of, best_answers(), items, previous=previous))
    assert current.trend == "worsening"
    assert current.diff is not None
    entries = {(e.kind, e.ref): e for e in current.diff.entries}
    assert ("incident", "hack") in entries
    assert ("override", "RF-HRD-TARGETING") in entries
    assert ("inputs", "inputs") in entries
    assert current.diff.change == current.overall - previous.overall
    assert current.action is InvestorAction.divest_or_exclude
    assert "rose" in current.action_reason


def test_first_score_has_no_diff_and_stable_rescore_keeps_the_action() -> None:
    as_of = dt.date(2024, 6, 1)
    first = score(request(as_of, best_answers(), sandvine_like()))
    again = score(request(as_of, best_answers(), sandvine_like(), previous=first))
    assert first.trend == "first" and first.diff is None
    assert again.trend == "stable"
    assert again.action is first.action
    assert again.diff is not None and again.diff.entries == ()


def test_a_step_up_stands_until_risk_falls() -> None:
    """A rescore with nothing better to show (the same inputs again, a redundant listing
    match) must not take back the rung a rise in risk added; a fall in risk does."""
    as_of = dt.date(2024, 6, 1)
    previous = score(
        request(dt.date(2024, 4, 15), best_answers(), [listing("listed", dt.date(2024, 2, 26))])
    )
    items = [
        listing("listed", dt.date(2024, 2, 26)),
        incident("hack", dt.date(2024, 5, 1), severity=5, groups=(AffectedGroup.journalists,)),
    ]
    stepped = score(request(as_of, best_answers(), items, previous=previous))
    assert stepped.action is InvestorAction.divest_or_exclude
    again = score(request(as_of, best_answers(), items, previous=stepped))
    assert again.trend == "stable"
    assert again.action is InvestorAction.divest_or_exclude
    assert "step up the ladder stands" in again.action_reason
    # The hack is remedied, on the record after that score: risk fell, the step goes.
    later = dt.date(2024, 9, 1)
    remedied = [*items, remedy_of("hack", dt.date(2024, 8, 1), source=SourceClass.ngo_report)]
    fallen = score(request(later, best_answers(), remedied, previous=again))
    assert fallen.trend == "improving"
    assert fallen.action is previous.action


def test_evidence_recorded_late_about_the_past_is_no_trend() -> None:
    """A trend is what happened since the previous score. A report published before it but
    recorded only now (or a severity corrected, a company-only remedy no longer counted)
    re-rates the past: the investor's record caught up, engagement did not fail. The upgrade
    helper saw a content correction step an action up ("Risk rose 8.7 points ... one rung
    up") with nothing new at the company."""
    as_of = dt.date(2024, 6, 1)
    listed = listing("listed", dt.date(2024, 2, 26))
    hack = incident("hack", dt.date(2024, 5, 1), severity=5, groups=(AffectedGroup.journalists,))
    previous = score(request(as_of, best_answers(), [listed]))
    late = score(request(as_of, best_answers(), [listed, hack], previous=previous))
    assert late.overall > previous.overall
    assert late.trend == "stable"
    assert late.action is score(request(as_of, best_answers(), [listed, hack])).action
    assert "rose" not in late.action_reason
    assert f"rates the previous score's date ({as_of}) {late.overall}" in late.action_reason
    # Not "stable" on the day the band moved: it says where the move comes from.
    assert "stable" not in late.action_reason
    assert (
        f"Nothing new happened since the previous score: the move from {previous.overall} "
        f"({previous.band}) to {late.overall} ({late.band}) comes from what is now known about "
        "the time before it."
    ) in late.action_reason
    assert late.diff is not None and late.diff.change == late.overall - previous.overall

    # Withdrawn again (it was wrong): the record is corrected down, no "risk fell", and no
    # step up stands on a rise that never happened.
    stepped = late.model_copy(update={"action": InvestorAction.divest_or_exclude})
    withdrawn = score(request(as_of, best_answers(), [listed], previous=stepped))
    assert withdrawn.trend == "stable"
    assert withdrawn.action is previous.action
    assert "stands" not in withdrawn.action_reason

    # What became known after the previous score is a trend as before: see
    # test_diff_explains_a_new_incident_and_the_action_steps_up.


def test_the_diff_says_an_item_still_weighed_no_longer_decides_the_overall() -> None:
    """The overall is the higher of evidence risk and practice gap, and only the higher one's
    parts add up to it: an incident still on record read "no longer contributes" once the
    answers set the overall."""
    as_of = dt.date(2024, 6, 1)
    items = [incident("hack", dt.date(2024, 5, 1), severity=3)]
    previous = score(request(as_of, best_answers(), items))
    assert [c.kind for c in previous.contributions if c.points] == ["incident"]
    current = score(request(as_of, (), items, previous=previous))
    assert current.evidence_risk_current == previous.evidence_risk_current
    [entry] = [e for e in current.diff.entries if e.kind == "incident"]
    assert entry.reason == (
        f"no longer decides the overall (was {entry.before} points): the practice gap is now "
        "the higher of the two and sets it"
    )


def test_a_change_of_rules_is_not_read_as_a_trend() -> None:
    """The same rise in risk as above, but the previous score used another rule-set version:
    the ladder must not step up because analysts changed the rules."""
    as_of = dt.date(2024, 6, 1)
    old_rules = score(request(as_of, best_answers(), [listing("listed", dt.date(2024, 2, 26))]))
    previous = old_rules.model_copy(update={"ruleset_version": old_rules.ruleset_version + 1})
    items = [
        listing("listed", dt.date(2024, 2, 26)),
        incident("hack", dt.date(2024, 5, 1), severity=5, groups=(AffectedGroup.journalists,)),
    ]
    current = score(request(as_of, best_answers(), items, previous=previous))
    assert current.trend == "rules_changed"
    assert current.overall > previous.overall
    without_history = score(request(as_of, best_answers(), items))
    assert current.action is without_history.action  # band and red flags alone
    assert "rule set changed" in current.action_reason
    assert "rose" not in current.action_reason
    assert current.diff is not None  # the diff still explains what moved, rules included
    assert "ruleset" in {e.kind for e in current.diff.entries}


def test_a_first_assessed_score_is_not_read_against_the_evidence_alone() -> None:
    """A holding scored on its evidence alone counts no practice gaps; its first assessed
    score adds what the assessment found. That rise is no change in the company: the ladder
    must not step up for it (the reviewer saw "Risk rose 47.7 points ... one rung up")."""
    as_of = dt.date(2024, 6, 1)
    items = [incident("hack", dt.date(2024, 5, 1), severity=3)]
    evidence_only = score(request(as_of, (), items, assessed=False))
    first = score(request(as_of, (), items, previous=evidence_only, previous_assessed=False))
    assert first.overall > evidence_only.overall
    assert RISK_BAND_ORDER.index(first.band) > RISK_BAND_ORDER.index(evidence_only.band)
    assert first.trend == "basis_changed"
    assert first.action is score(request(as_of, (), items)).action  # band and red flags alone
    assert "rose" not in first.action_reason
    assert "counted the evidence alone" in first.action_reason
    [inputs] = [e for e in first.diff.entries if e.kind == "inputs"]
    assert "basis" in inputs.reason
    # Read against the assessed score before it, the same rise is a trend.
    again = score(request(as_of, (), items, previous=evidence_only))
    assert again.trend == "worsening"
    assert "rose" in again.action_reason


def test_rules_under_the_same_key_and_number_are_told_apart_by_their_content() -> None:
    """A bundled default v2 and an organisation's own default v2 share a label: switching
    between them is a change of rules, which the content hash shows."""
    as_of = dt.date(2024, 6, 1)
    items = [listing("listed", dt.date(2024, 2, 26))]
    bundled = ruleset()
    own = parse_ruleset(
        {**bundled.model_dump(mode="json"), "title": "Our own default rules"}, "own.yaml"
    )
    assert (own.id, own.version) == (bundled.id, bundled.version)
    assert own.content_hash != bundled.content_hash

    previous = score(request(as_of, best_answers(), items))
    assert previous.ruleset_hash == bundled.content_hash
    switched = score(request(as_of, best_answers(), items, previous=previous, ruleset=own))
    assert switched.trend == "rules_changed"
    [entry] = [e for e in switched.diff.entries if e.kind == "ruleset"]
    assert (entry.before, entry.after) == (
        f"default v{bundled.version} ({bundled.content_hash[:12]})",
        f"default v{own.version} ({own.content_hash[:12]})",
    )
    assert "another default" in switched.action_reason

    # The same rules again: no change of rules; nor against a score stored before the
    # content hash was recorded (its label is all it has).
    again = score(request(as_of, best_answers(), items, previous=previous))
    assert again.trend != "rules_changed"
    unrecorded = previous.model_copy(update={"ruleset_hash": None})
    assert score(request(as_of, best_answers(), items, previous=unrecorded)).trend != (
        "rules_changed"
    )


def test_listing_override_sets_a_minimum_action() -> None:
    result = score(request(dt.date(2024, 7, 1), best_answers(), sandvine_like()))
    minimum = next(o.min_action for o in ruleset().overrides if o.id == "RF-LISTING")
    ladder = list(InvestorAction)
    assert ladder.index(result.action) >= ladder.index(minimum)
    assert "RF-LISTING" in result.action_reason


# --- bad inputs ------------------------------------------------------------------------------


def test_result_round_trips_through_json_for_the_next_diff() -> None:
    first = score(request(dt.date(2024, 7, 1), best_answers(), sandvine_like()))
    stored = type(first).model_validate_json(first.model_dump_json())
    assert stored == first
    again = score(request(dt.date(2024, 7, 1), best_answers(), sandvine_like(), previous=stored))
    assert again.trend == "stable"
    later = score(request(dt.date(2025, 6, 1), best_answers(), sandvine_like(), previous=again))
    assert later.diff is not None and later.diff.entries
    assert type(later).model_validate_json(later.model_dump_json()) == later


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: request(dt.date(2024, 1, 1), [answer("ZZ9", DisclosureLevel.full)]), "ZZ9"),
        (
            lambda: request(dt.date(2024, 1, 1), [AnswerInput(question_id="P1", number=3)]),
            "answer P1: number",
        ),
        (
            lambda: request(dt.date(2024, 1, 1), [AnswerInput(question_id="DS2", options=("x",))]),
            "option 'x'",
        ),
        (
            lambda: request(
                dt.date(2024, 1, 1),
                [answer("P1", DisclosureLevel.full), answer("P1", DisclosureLevel.no)],
            ),
            "duplicate answer question ids: P1",
        ),
        (
            lambda: request(
                dt.date(2024, 1, 1),
                commitments=[
                    commitment("c", dt.date(2020, 1, 1), ("P1",), FulfilmentStatus.contradicted)
                ],
            ),
            "commitment c: contradicted needs",
        ),
        (
            lambda: request(
                dt.date(2024, 1, 1),
                commitments=[
                    commitment(
                        "c", dt.date(2020, 1, 1), ("P1",), FulfilmentStatus.contradicted, ("nope",)
                    )
                ],
            ),
            "contradicted_by unknown incident nope",
        ),
        (
            lambda: incident("x", dt.date(2020, 1, 1)).model_validate(
                {**incident("x", dt.date(2020, 1, 1)).model_dump(), "status": "remediated"}
            ),
            "incident x: status remediated needs remediated_date",
        ),
    ],
)
def test_bad_inputs_are_refused_with_the_item_named(build, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build()


def test_scored_question_of_an_unweighted_theme_is_refused() -> None:
    odd = QuestionSpec(id="X1", theme="astrology", answer_type="disclosure")
    bad = ScoreRequest(questions=[odd], answers=[], ruleset=ruleset(), as_of=dt.date(2024, 1, 1))
    with pytest.raises(ScoringInputError, match="question X1: theme 'astrology'"):
        score(bad)


@pytest.mark.parametrize(
    ("item", "note"),
    [
        (
            incident(
                "out",
                dt.date(2022, 1, 1),
                type=EvidenceType.delisting,
                severity=None,
                source=SourceClass.court_or_government_record,
            ),
            "incident out: this delisting names no list",
        ),
        (
            incident("fix", dt.date(2022, 1, 1), type=EvidenceType.remediation, severity=None),
            "incident fix: this remediation names no item",
        ),
    ],
)
def test_unlinked_closing_items_lift_nothing_and_say_so(item, note: str) -> None:
    items = [listing("listed", dt.date(2021, 11, 3)), targeting("hack", dt.date(2021, 6, 1))]
    result = score(request(dt.date(2024, 1, 1), best_answers(), [*items, item]))
    assert fired(result) == {"RF-LISTING", "RF-HRD-TARGETING"}
    assert any(n.startswith(note) for n in result.notes)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            incident("nosev", dt.date(2022, 1, 1), severity=None),
            "incident nosev: a forensic_finding",
        ),
    ],
)
def test_evidence_the_engine_cannot_interpret_is_refused(item, message: str) -> None:
    with pytest.raises(ScoringInputError, match=message):
        score(request(dt.date(2024, 1, 1), best_answers(), [item]))


def test_closes_count_only_on_types_the_rule_set_treats_as_closing() -> None:
    """Stored evidence says what an item closes; a rule set that counts remediation as
    neutral lifts nothing with it, and says so, rather than making the company unscorable."""
    data = yaml.safe_load(RULESET_PATH.read_text(encoding="utf-8"))
    data["evidence_types"]["remediation"]["treatment"] = "neutral"
    neutral = parse_ruleset(data, "test")
    items = [
        targeting("hack", dt.date(2021, 7, 18)),
        remedy_of("hack", dt.date(2023, 3, 1)),
    ]
    default = score(request(dt.date(2024, 1, 1), best_answers(), items))
    result = score(
        request(dt.date(2024, 1, 1), best_answers(), items).model_copy(update={"ruleset": neutral})
    )
    assert not fired(default)
    assert fired(result) == {"RF-HRD-TARGETING"}
    assert any(
        n.startswith("incident remedy: this rule set treats remediation as neutral")
        for n in result.notes
    )
