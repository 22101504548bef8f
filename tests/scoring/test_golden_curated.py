"""Golden cases on the curated evidence: the scores the methodology promises for real
companies, computed through the API from the bundled questionnaire, evidence and rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_score_api_support import answer_payloads, bundled_questionnaire, make_assessment

from hrdd.companies.models import Company
from hrdd.content import load_bundled_content
from hrdd.db import SYSTEM, TenantContext
from hrdd.reports.demo import PRODUCT_QUESTIONS
from hrdd.scoring import service
from hrdd.scoring.rules import ACTION_LADDER
from hrdd.vocab import DisclosureLevel, InvestorAction

CONTROL_COMPANIES = ["nestle", "unilever"]


@pytest.fixture
def curated(db, settings):
    load_bundled_content(db, settings)
    with db.session(SYSTEM) as session:
        return {company.slug: company.id for company in session.scalars(select(Company))}


@pytest.fixture
def good_answers(db, curated):
    return answer_payloads(bundled_questionnaire(db)[1], DisclosureLevel.full)


def score(client, tenant, assessment_id, as_of=None):
    params = {"as_of": as_of} if as_of else {}
    response = client.get(
        f"/api/v1/assessments/{assessment_id}/score", params=params, headers=tenant.investor
    )
    assert response.status_code == 200, response.text
    return response.json()["summary"]


def test_nso_group_is_severe_with_the_listing_override_whatever_it_answers(
    client, db, tenant_a, curated, good_answers
):
    nso = curated["nso-group"]
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        evidence_only = service.current_scores(session, [nso])[nso]
    assessment = make_assessment(db, tenant_a.organisation_id, nso, good_answers)
    assessed = score(client, tenant_a, assessment)
    for summary in (evidence_only, assessed):
        summary = summary if isinstance(summary, dict) else summary.model_dump(mode="json")
        assert summary["band"] == "severe"
        assert "RF-LISTING" in [o["rule_id"] for o in summary["overrides"]]
        assert summary["overall"] >= 75
        assert ACTION_LADDER.index(InvestorAction(summary["action"])) >= ACTION_LADDER.index(
            InvestorAction.vote_or_file_resolution
        )
    # its claims are contradicted by the evidence: perfect answers still leave a say-do gap
    assert assessed["say_do_gap"] > 0


def test_sandvine_scores_lower_after_its_delisting(client, db, tenant_a, curated, good_answers):
    assessment = make_assessment(db, tenant_a.organisation_id, curated["sandvine"], good_answers)
    listed = score(client, tenant_a, assessment, "2024-07-01")
    delisted = score(client, tenant_a, assessment, "2025-06-01")
    assert "RF-LISTING" in [o["rule_id"] for o in listed["overrides"]]
    assert "RF-LISTING" not in [o["rule_id"] for o in delisted["overrides"]]
    assert delisted["overall"] < listed["overall"]


@pytest.mark.parametrize("slug", CONTROL_COMPANIES)
def test_control_company_with_good_answers_is_low(
    client, db, tenant_a, curated, good_answers, slug
):
    assessment = make_assessment(db, tenant_a.organisation_id, curated[slug], good_answers)
    summary = score(client, tenant_a, assessment)
    assert summary["band"] == "low"
    assert summary["overrides"] == []
    assert summary["commitment_score"] == 100
    assert summary["action"] == "monitor"


@pytest.mark.parametrize("slug", CONTROL_COMPANIES)
def test_control_company_answered_in_good_faith_is_low(
    client, db, tenant_a, curated, good_answers, slug
):
    """Good governance (hypothetical answers: the curated record holds none for the controls),
    with what a firm that makes no surveillance product can honestly say about the rest: the
    product questions do not apply, it publishes no count of deals declined or customers
    suspended, names no body that vetoes surveillance sales and has no product-use records."""
    answers = dict(good_answers)
    for question_id in PRODUCT_QUESTIONS:
        answers[question_id] = {
            "type": "disclosure",
            "level": "not_applicable",
            "not_applicable_reason": "sells no surveillance technology",
        }
    for question_id in ("DD6", "C3"):
        del answers[question_id]
    answers["G3"] = {"type": "single_choice", "value": "none_identified"}
    answers["DS2"] = {"type": "single_choice", "value": "not_disclosed"}
    answers["EX5"] = {"type": "single_choice", "value": "no"}
    answers["R1"] = {"type": "number", "value": "0"}
    assessment = make_assessment(db, tenant_a.organisation_id, curated[slug], answers)
    response = client.get(f"/api/v1/assessments/{assessment}/score", headers=tenant_a.investor)
    assert response.status_code == 200, response.text
    summary, result = response.json()["summary"], response.json()["result"]
    assert summary["band"] == "low"
    assert summary["overrides"] == []
    assert summary["action"] == "monitor"
    # Themes whose every question is N/A are left out, their counts and choices with them.
    assert {"contracts", "design_safeguards"}.isdisjoint(summary["theme_scores"])
    moved = {c["ref"] for c in result["contributions"] if c["kind"] == "answer"}
    assert moved.isdisjoint({*PRODUCT_QUESTIONS, "C3", "DS2"})


def test_contradicted_commitment_raises_the_gap(client, db, tenant_a, curated, good_answers):
    """Paragon's claim that its tool cannot be abused (2025-02) was contradicted by Citizen Lab
    findings from 2025-03: before them the claim stood as self-reported; after, it counts
    against the company."""
    assessment = make_assessment(db, tenant_a.organisation_id, curated["paragon"], good_answers)
    claimed_only = score(client, tenant_a, assessment, "2025-02-15")
    contradicted = score(client, tenant_a, assessment, "2025-07-01")
    assert contradicted["say_do_gap"] > claimed_only["say_do_gap"]
    assert contradicted["verified_commitment_score"] < claimed_only["verified_commitment_score"]
    assert contradicted["commitment_score"] == claimed_only["commitment_score"] == 100
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        detail = service.score_detail(session, assessment)
    [row] = [row for row in detail.say_do if row.ref == "paragon-abuse-proof-claims"]
    assert row.fulfilment_as_of == "contradicted"
    assert "paragon-2025-03-citizen-lab-first-look" in row.contradicted_by
    capped = {theme.theme for theme in detail.result.themes if theme.capped_by}
    assert "end_user_controls" in capped


def test_cellebrites_remediation_closes_the_serbia_finding(client, db, tenant_a, curated):
    cellebrite = curated["cellebrite"]
    assessment = make_assessment(db, tenant_a.organisation_id, cellebrite, {})
    response = client.get(f"/api/v1/assessments/{assessment}/score", headers=tenant_a.investor)
    assert response.status_code == 200, response.text
    notes = response.json()["result"]["notes"]
    assert not any("remediates nothing" in note for note in notes), notes
