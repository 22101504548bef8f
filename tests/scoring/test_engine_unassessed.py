"""A company nobody has assessed is rated on its evidence and red flags alone."""

import datetime as dt

from test_engine_support import incident, request

from hrdd.scoring import engine
from hrdd.vocab import AffectedGroup, Confidence, EvidenceType, RiskBand, SourceClass

AS_OF = dt.date(2025, 6, 1)


def test_unassessed_company_without_evidence_is_low_not_high():
    unassessed = engine.score(request(AS_OF, assessed=False))
    blank_assessment = engine.score(request(AS_OF))
    assert unassessed.band == RiskBand.low and float(unassessed.overall) == 0
    assert unassessed.policy_gap_risk == 0
    assert unassessed.confidence == Confidence.low  # nothing answered: say so beside the score
    # An assessment left blank still counts every gap: the investor asked and found nothing.
    assert float(blank_assessment.overall) > float(unassessed.overall)
    assert unassessed.inputs_hash != blank_assessment.inputs_hash


def test_unassessed_company_keeps_its_red_flags_and_evidence_risk():
    listing = incident(
        "listing",
        dt.date(2021, 11, 3),
        type=EvidenceType.trade_restriction_listing,
        severity=4,
        source=SourceClass.court_or_government_record,
        list_name="Entity List",
    )
    targeting = incident(
        "targeting", dt.date(2021, 7, 18), groups=(AffectedGroup.journalists,), severity=5
    )
    result = engine.score(request(AS_OF, incidents=[listing, targeting], assessed=False))
    assert {o.rule_id for o in result.overrides} >= {"RF-LISTING"}
    assert result.band in (RiskBand.high, RiskBand.severe)
    assert sum(c.points for c in result.contributions) == result.overall
    assert result.sensitivity.low <= result.overall <= result.sensitivity.high
