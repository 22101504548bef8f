"""Writing evidence through the API rescores the organisation's holdings of that company."""

from __future__ import annotations

import pytest
from test_score_api_support import (
    answer_payloads,
    bundled_questionnaire,
    load_rules,
    make_assessment,
    make_company,
    stored_score_count,
)
from tests.conftest import recent_evidence_body

from hrdd.db import TenantContext
from hrdd.scoring import service
from hrdd.vocab import AssessmentStatus, DisclosureLevel


@pytest.fixture
def assessed_company(db, settings, tenant_a):
    load_rules(db, settings)
    _, questionnaire = bundled_questionnaire(db)
    company = make_company(db, "Rescored Systems Ltd")
    good = answer_payloads(questionnaire, DisclosureLevel.full)
    make_assessment(db, tenant_a.organisation_id, company, good, AssessmentStatus.final)
    return company


def test_new_private_evidence_rescores_and_keeps_history(client, db, tenant_a, assessed_company):
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        before = service.current_scores(session, [assessed_company])[assessed_company]
    scores_before = stored_score_count(db, tenant_a.organisation_id)

    body = recent_evidence_body(
        assessed_company,
        severity_rationale="Targeting of a journalist; irremediable exposure of sources.",
        status="ongoing",
    )
    created = client.post(
        "/api/v1/evidence",
        json=body,
        headers=tenant_a.analyst,
    )
    assert created.status_code == 201, created.text

    assert stored_score_count(db, tenant_a.organisation_id) > scores_before
    with db.session(TenantContext(tenant_a.organisation_id)) as session:
        after = service.current_scores(session, [assessed_company])[assessed_company]
    assert after.overall > before.overall
    assert after.evidence_risk_current > before.evidence_risk_current
