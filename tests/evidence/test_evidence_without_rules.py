"""Evidence writes before any scoring rule set is loaded: there is nothing to rescore yet, so
the writes succeed, and loading the rules afterwards scores what was written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hrdd.db import TenantContext
from hrdd.evidence.service import load_bundled_evidence
from hrdd.questionnaires import service as questionnaires
from hrdd.scoring import service as scoring
from hrdd.scoring.models import StoredScore


@pytest.fixture
def questionnaire_only(db, settings) -> None:
    questionnaires.load_bundled_questionnaires(db, settings)


def _assess(client, tenant, company_id: str) -> str:
    response = client.post(
        "/api/v1/assessments",
        json={"company_id": company_id, "questionnaire_key": "stap-surveillance"},
        headers=tenant.investor,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _stored_scores(db, tenant) -> list[StoredScore]:
    with db.session(TenantContext(tenant.organisation_id)) as session:
        return list(session.scalars(select(StoredScore).order_by(StoredScore.computed_at)))


def test_evidence_and_commitment_writes_succeed_with_no_rule_set_loaded(
    client, db, settings, tenant_a, company_id, evidence_body, commitment_body, questionnaire_only
):
    _assess(client, tenant_a, company_id)
    headers = tenant_a.analyst

    created = client.post("/api/v1/evidence", json=evidence_body(company_id), headers=headers)
    assert created.status_code == 201, created.text
    item_url = f"/api/v1/evidence/{created.json()['id']}"
    body = evidence_body(company_id, severity=5)
    del body["company_id"]
    replaced = client.put(
        item_url, json=body, headers=headers | {"If-Match": created.headers["etag"]}
    )
    assert replaced.status_code == 200, replaced.text

    claim = client.post("/api/v1/commitments", json=commitment_body(company_id), headers=headers)
    assert claim.status_code == 201, claim.text
    claim_url = f"/api/v1/commitments/{claim.json()['id']}"
    body = commitment_body(company_id, fulfilment="verified")
    del body["company_id"]
    changed = client.put(
        claim_url, json=body, headers=headers | {"If-Match": claim.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text
    current = headers | {"If-Match": changed.headers["etag"]}
    assert client.delete(claim_url, headers=current).status_code == 204

    assert _stored_scores(db, tenant_a) == []
    # Loading the rules scores the assessment with the evidence written meanwhile.
    report = scoring.load_bundled_rulesets(db, settings)
    assert "rescored 1 organisation(s)" in report
    [stored] = _stored_scores(db, tenant_a)
    assert float(stored.result["evidence_risk_current"]) > 0

    current = headers | {"If-Match": replaced.headers["etag"]}
    assert client.delete(item_url, headers=current).status_code == 204
    assert len(_stored_scores(db, tenant_a)) == 2


def test_bundled_evidence_loads_before_the_rules_and_the_rules_then_score_it(
    client, db, settings, tenant_a, example_dataset, write_dataset, questionnaire_only
):
    settings.evidence_dir = write_dataset(example_dataset)
    load_bundled_evidence(db, settings)
    companies = client.get(
        "/api/v1/companies", params={"q": "Example Spyware"}, headers=tenant_a.investor
    ).json()["items"]
    _assess(client, tenant_a, companies[0]["id"])

    example_dataset["example-spyware"]["incidents"][0]["severity"] = 5
    settings.evidence_dir = write_dataset(example_dataset)
    report = load_bundled_evidence(db, settings)
    assert not any(line.startswith("rescored") for line in report)
    assert _stored_scores(db, tenant_a) == []

    assert "rescored 1 organisation(s)" in scoring.load_bundled_rulesets(db, settings)
    [stored] = _stored_scores(db, tenant_a)
    assert {o["rule_id"] for o in stored.result["overrides"]} >= {"RF-LISTING"}
    # Loading the same rules again adds no version, so nothing is rescored.
    again = scoring.load_bundled_rulesets(db, settings)
    assert not any(line.startswith("rescored") for line in again)
