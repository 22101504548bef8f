"""engine.compare: what a rule-set preview says changed between a company's score under the
current rules and under a draft, on the same inputs and day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from test_engine_support import (
    best_answers,
    commitment,
    incident,
    request,
    ruleset,
    scored_disclosure_ids,
)

from hrdd.scoring.engine import compare, score
from hrdd.scoring.inputs import DiffEntry, ScoreResult
from hrdd.scoring.rules import RuleSet, parse_ruleset
from hrdd.vocab import (
    AffectedGroup,
    CompanyRole,
    Confidence,
    EvidenceType,
    FulfilmentStatus,
    InvestorAction,
    RiskBand,
    SourceClass,
)

AS_OF = dt.date(2024, 6, 1)


def draft(edit: Callable[[dict[str, Any]], None]) -> RuleSet:
    """The default rules with ``edit`` applied to their content, as an analyst's draft."""
    content = ruleset().model_dump(mode="json")
    edit(content)
    return parse_ruleset(content, "draft.yaml")


def red_flag(content: dict[str, Any], rule_id: str) -> dict[str, Any]:
    [rule] = [rule for rule in content["overrides"] if rule["id"] == rule_id]
    return rule


def both(rules: RuleSet, *args: Any) -> tuple[ScoreResult, ScoreResult]:
    """The score under the default rules and under ``rules``, on the same inputs."""
    return score(request(AS_OF, *args)), score(request(AS_OF, *args, ruleset=rules))


def said(entries: tuple[DiffEntry, ...]) -> list[tuple[str, str, str]]:
    return [(entry.kind, entry.ref, entry.reason) for entry in entries]


def points_of(result: ScoreResult, ref: str) -> Decimal:
    return next(c.points for c in result.contributions if c.ref == ref)


def listed_and_targeting() -> list[Any]:
    """A trade-restriction listing (RF-LISTING) and a forensic finding about journalists
    (RF-HRD-TARGETING): both floors are 75, and RF-LISTING, first, sets the score."""
    return [
        incident(
            "listed",
            dt.date(2024, 2, 26),
            type=EvidenceType.trade_restriction_listing,
            severity=3,
            source=SourceClass.court_or_government_record,
            list_name="US Entity List",
        ),
        incident(
            "hack",
            dt.date(2024, 5, 1),
            role=CompanyRole.contributed,
            groups=(AffectedGroup.journalists,),
        ),
    ]


def test_a_band_and_action_moved_at_the_same_risk_are_changes() -> None:
    """The user test moved the severe band's lower bound to 55: six scores went from high to
    severe and from escalating to voting, and the preview said nothing had changed."""

    def severe_from_55(content: dict[str, Any]) -> None:
        content["bands"][2]["upper"] = 55
        content["bands"][3]["lower"] = 55

    before, after = both(draft(severe_from_55))  # nothing answered: the practice gap is 60
    assert before.overall == after.overall and 55 <= before.overall < 75
    assert (before.band, after.band) == (RiskBand.high, RiskBand.severe)
    assert compare(before, after) == (
        DiffEntry(
            kind="band", ref="band", before="high", after="severe", reason="band high to severe"
        ),
        DiffEntry(
            kind="action",
            ref="action",
            before=InvestorAction.escalate_collectively.value,
            after=InvestorAction.vote_or_file_resolution.value,
            reason="action escalate_collectively to vote_or_file_resolution",
        ),
    )
    assert compare(before, before) == ()  # the same score twice: nothing to say


def test_a_red_flag_that_fired_under_a_higher_floor_is_not_new() -> None:
    """With RF-LISTING's floor at 60, the preview said RF-HRD-TARGETING was "new: adds 53.3
    points" for Candiru, though it had fired under the current rules too."""

    def listing_floor_60(content: dict[str, Any]) -> None:
        red_flag(content, "RF-LISTING")["floor"] = 60

    before, after = both(draft(listing_floor_60), best_answers(), listed_and_targeting())
    assert {o.rule_id for o in before.overrides} == {o.rule_id for o in after.overrides}
    assert before.overall == after.overall == 75
    reasons = said(compare(before, after))
    assert ("override", "RF-LISTING", "RF-LISTING floor 75.0 to 60.0") in reasons
    assert (
        "override",
        "RF-HRD-TARGETING",
        f"up from 0.0 to {points_of(after, 'RF-HRD-TARGETING')} points: it fired before too, "
        "but RF-LISTING's floor set the score; now its floor lifts the score",
    ) in reasons
    assert (
        "override",
        "RF-LISTING",
        f"no longer contributes (was {points_of(before, 'RF-LISTING')} points): it still "
        "fires, but RF-HRD-TARGETING's floor now sets the score",
    ) in reasons


def test_a_red_flag_that_did_not_fire_before_is_new() -> None:
    def listing_flag_for_sanctions_only(content: dict[str, Any]) -> None:
        red_flag(content, "RF-LISTING")["evidence_types"] = ["sanction"]

    listed = listed_and_targeting()[:1]
    # Compared from the draft's score to the default's: RF-LISTING fires only in the latter.
    default, drafted = both(draft(listing_flag_for_sanctions_only), best_answers(), listed)
    reasons = said(compare(drafted, default))
    assert ("override", "RF-LISTING", "RF-LISTING now fires") in reasons
    assert (
        "override",
        "RF-LISTING",
        f"new: adds {points_of(default, 'RF-LISTING')} points",
    ) in reasons
    assert (
        "override",
        "RF-LISTING",
        f"no longer contributes (was {points_of(default, 'RF-LISTING')} points): it no longer "
        "fires",
    ) in said(compare(default, drafted))


def test_a_part_of_the_practice_gap_that_now_sets_the_overall_is_not_new() -> None:
    """Raising policy_gap.max_risk to 80 made NSO's practice gap outweigh its evidence risk, and
    the preview said "commitment nso-customer-vetting-claims new" of a commitment long on
    record: it was part of the practice gap before too, which did not set the overall."""

    def max_risk_80(content: dict[str, Any]) -> None:
        content["policy_gap"]["max_risk"] = 80

    claims = [
        commitment(f"claim-{qid}", dt.date(2020, 1, 1), (qid,), FulfilmentStatus.not_implemented)
        for qid in scored_disclosure_ids(reverse=False)
    ]
    hack = incident("hack", dt.date(2024, 5, 1), role=CompanyRole.contributed)
    before, after = both(draft(max_risk_80), best_answers(), [hack], claims)
    assert before.evidence_risk_current > before.policy_gap_risk
    assert after.policy_gap_risk > after.evidence_risk_current
    reasons = said(compare(before, after))
    commitments = [(ref, reason) for kind, ref, reason in reasons if kind == "commitment"]
    assert len(commitments) == len(claims)
    for ref, reason in commitments:
        assert reason == (
            f"up from 0.0 to {points_of(after, ref)} points: the practice gap is now the higher "
            "of the two and sets the overall, where the evidence risk did before"
        )
    assert (
        "incident",
        "hack",
        f"no longer decides the overall (was {points_of(before, 'hack')} points): the practice "
        "gap is now the higher of the two and sets it",
    ) in reasons


def test_a_red_flag_firing_on_other_items_or_another_confidence_is_a_change() -> None:
    """Dropping a kind of evidence from a red flag that still fires on another item, or
    raising the confidence thresholds, leaves the overall where it was."""
    sanction = incident(
        "sanctioned",
        dt.date(2024, 3, 1),
        type=EvidenceType.sanction,
        severity=3,
        source=SourceClass.court_or_government_record,
        list_name="OFAC SDN",
    )

    def sanctions_only(content: dict[str, Any]) -> None:
        red_flag(content, "RF-LISTING")["evidence_types"] = ["sanction"]
        content["confidence"]["coverage"]["high_at_least"] = 1
        content["confidence"]["coverage"]["medium_at_least"] = 1

    answers = [a for a in best_answers() if a.question_id != "P1"]
    items = [*listed_and_targeting()[:1], sanction]
    before, after = both(draft(sanctions_only), answers, items)
    assert before.overall == after.overall and before.band is after.band
    assert before.confidence is not Confidence.low
    assert said(compare(before, after)) == [
        (
            "override",
            "RF-LISTING",
            "RF-LISTING now fires on sanctioned (was listed, sanctioned)",
        ),
        ("confidence", "confidence", f"confidence {before.confidence} to low"),
    ]


def test_a_stored_diff_keeps_to_the_kinds_older_code_reads() -> None:
    """The action is in a preview's changes only: a stored score's diff with an entry of a
    kind older code does not know would not parse after a downgrade."""
    listed = listed_and_targeting()[:1]
    hack = incident("hack", dt.date(2024, 5, 1), severity=5, groups=(AffectedGroup.journalists,))
    previous = score(request(dt.date(2024, 4, 15), best_answers(), listed))
    current = score(request(AS_OF, best_answers(), [*listed, hack], previous=previous))
    assert current.action is not previous.action
    assert current.diff is not None
    assert not {e.kind for e in current.diff.entries} & {"action", "confidence"}
    assert "action" in {e.kind for e in compare(previous, current)}


def test_an_action_held_for_another_reason_is_a_change() -> None:
    """The same action, band, score and red flags, but another red flag now requires the
    action: the reason investors are given for it changes, and is the one thing said."""

    def requires_divesting(rule_id: str) -> RuleSet:
        def edit(content: dict[str, Any]) -> None:
            red_flag(content, rule_id)["min_action"] = InvestorAction.divest_or_exclude.value

        return draft(edit)

    items = listed_and_targeting()
    listing_requires = score(
        request(AS_OF, best_answers(), items, ruleset=requires_divesting("RF-LISTING"))
    )
    targeting_requires = score(
        request(AS_OF, best_answers(), items, ruleset=requires_divesting("RF-HRD-TARGETING"))
    )
    assert listing_requires.action is targeting_requires.action
    assert listing_requires.action is InvestorAction.divest_or_exclude
    [entry] = compare(listing_requires, targeting_requires)
    assert (entry.kind, entry.ref) == ("action", "action_reason")
    assert entry.after == targeting_requires.action_reason
    assert entry.reason == (
        f"action stays divest_or_exclude, for another reason: {targeting_requires.action_reason}"
    )


def test_a_part_whose_reason_alone_changes_is_a_change() -> None:
    """A draft that trades a source's reliability against a role's factor weighs the item the
    same, but the reason it is weighed so is not what investors were shown."""

    def swap_factors(content: dict[str, Any]) -> None:
        content["reliability"]["forensic_lab"]["factor"] = 0.8
        content["roles"]["contributed"]["factor"] = 1.0

    hack = incident("hack", dt.date(2024, 5, 1), role=CompanyRole.contributed)
    before, after = both(draft(swap_factors), best_answers(), [hack])
    [was], [now] = before.contributions, after.contributions
    assert (was.ref, was.points) == (now.ref, now.points) == ("hack", before.overall)
    assert "forensic_lab x0.8, contributed x1," in now.reason
    assert compare(before, after) == (
        DiffEntry(
            kind="incident",
            ref="hack",
            before=was.reason,
            after=now.reason,
            reason=f"still {now.points} points, now: {now.reason}",
        ),
    )


def test_the_term_that_does_not_set_the_overall_moving_is_a_change() -> None:
    """The reviewer's case: lowering policy_gap.max_risk while the evidence risk sets the
    overall moved the practice-gap risk the company report prints, and the preview counted the
    score unchanged (no contribution explains the term that does not set the overall)."""

    def max_risk_45(content: dict[str, Any]) -> None:
        content["policy_gap"]["max_risk"] = 45

    answers = [a for a in best_answers() if a.question_id != "P1"]
    hack = incident("hack", dt.date(2024, 5, 1), role=CompanyRole.contributed)
    before, after = both(draft(max_risk_45), answers, [hack])
    assert before.evidence_risk_current > before.policy_gap_risk > 0
    assert before.overall == after.overall and before.band is after.band
    assert after.policy_gap_risk < before.policy_gap_risk
    assert said(compare(before, after)) == [
        (
            "figure",
            "policy_gap_risk",
            f"practice-gap risk {before.policy_gap_risk} to {after.policy_gap_risk}",
        )
    ]
