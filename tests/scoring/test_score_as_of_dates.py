"""`as_of` on a score is written YYYY-MM-DD. Pydantic's lax date read Unix seconds
(?as_of=1640908800) and datetimes (?as_of=2021-12-31T00:00:00) as a day, and the caller got a
score for a date they may not have meant."""

from __future__ import annotations

import pytest
from test_score_api_support import make_assessment, make_company


def score_url(assessment_id):
    return f"/api/v1/assessments/{assessment_id}/score"


@pytest.mark.parametrize(
    "given", ["1640908800", "1640908800.0", "2021-12-31T00:00:00", "2021-12-31T00:00:00+00:00"]
)
def test_as_of_not_written_yyyy_mm_dd_is_422_naming_it(client, db, tenant_a, questionnaire, given):
    company = make_company(db, "Example Spyware Ltd")
    assessment = make_assessment(db, tenant_a.organisation_id, company, {})
    response = client.get(score_url(assessment), params={"as_of": given}, headers=tenant_a.investor)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {
            "path": "query.as_of",
            "message": f"'{given}' is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31",
        }
    ]
    stored = client.get(f"/api/v1/assessments/{assessment}/scores", headers=tenant_a.investor)
    assert stored.json()["items"] == []


def test_as_of_written_yyyy_mm_dd_scores_that_day(client, db, tenant_a, questionnaire):
    company = make_company(db, "Example Spyware Ltd")
    assessment = make_assessment(db, tenant_a.organisation_id, company, {})
    response = client.get(
        score_url(assessment), params={"as_of": "2021-12-31"}, headers=tenant_a.investor
    )
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["as_of"] == "2021-12-31"
