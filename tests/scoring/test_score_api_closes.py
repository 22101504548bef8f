"""A remediation recorded through the API lifts the red flags of the items it closes, for the
organisation that recorded it only, and a closed item a score cannot see never fails it."""

from __future__ import annotations

import datetime as dt

from test_score_api_support import (
    add_incident,
    answer_payloads,
    make_assessment,
    make_company,
    stored_score_count,
)

from hrdd.db import SYSTEM, utcnow
from hrdd.evidence.models import EvidenceItem
from hrdd.vocab import DisclosureLevel

TARGETING = "RF-HRD-TARGETING"


def score(client, headers, assessment_id) -> dict:
    response = client.get(f"/api/v1/assessments/{assessment_id}/score", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def fired(body: dict) -> list[str]:
    return [override["rule_id"] for override in body["summary"]["overrides"]]


def remediation(company_id, closes: list[str]) -> dict:
    return {
        "company_id": str(company_id),
        "event_date": "2023-03-01",
        "published_date": "2023-03-01",
        "type": "remediation",
        "title": "The company cut the customer off",
        "summary": "The company stopped the customer that targeted the reporter from using it.",
        "severity": 1,
        "company_role": "contributed",
        "sources": [
            {
                "publisher": "Example Lab",
                "title": "The customer is cut off",
                "date": "2023-03-01",
                "url": "https://example.org/cut-off",
                "source_class": "media_report",
            }
        ],
        "closes": closes,
    }


def test_a_remediation_lifts_the_red_flag_of_the_shared_item_it_closes(
    client, db, tenant_a, tenant_b, questionnaire
):
    company = make_company(db, "Example Spyware Ltd")
    good = answer_payloads(questionnaire, DisclosureLevel.full)
    mine = make_assessment(db, tenant_a.organisation_id, company, good)
    theirs = make_assessment(db, tenant_b.organisation_id, company, good)
    harm = add_incident(db, company, event_date=dt.date(2021, 7, 18), severity=5)
    before = score(client, tenant_a.investor, mine)
    assert fired(before) == [TARGETING]

    created = client.post(
        "/api/v1/evidence", json=remediation(company, [str(harm)]), headers=tenant_a.analyst
    )
    assert created.status_code == 201, created.text

    after = score(client, tenant_a.investor, mine)
    assert fired(after) == []
    assert after["summary"]["overall"] < before["summary"]["overall"]
    assert not any("remediates nothing" in note for note in after["result"]["notes"])
    # The remediation is the recording organisation's own: another's score is unmoved.
    assert fired(score(client, tenant_b.investor, theirs)) == [TARGETING]

    # Taking the item out of closes is an evidence change like any other: rescored at once.
    stored = stored_score_count(db, tenant_a.organisation_id)
    body = remediation(company, [])
    del body["company_id"]
    replaced = client.put(
        f"/api/v1/evidence/{created.json()['id']}",
        json=body,
        headers=tenant_a.analyst | {"If-Match": created.headers["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    assert stored_score_count(db, tenant_a.organisation_id) > stored
    again = score(client, tenant_a.investor, mine)
    assert fired(again) == [TARGETING]
    assert any("remediates nothing" in note for note in again["result"]["notes"])


def test_a_closed_item_the_score_cannot_see_is_left_out(client, db, tenant_a, questionnaire):
    company = make_company(db, "Example Spyware Ltd")
    good = answer_payloads(questionnaire, DisclosureLevel.full)
    mine = make_assessment(db, tenant_a.organisation_id, company, good)
    withdrawn = add_incident(db, company, event_date=dt.date(2021, 7, 18), severity=5)
    created = client.post(
        "/api/v1/evidence", json=remediation(company, [str(withdrawn)]), headers=tenant_a.analyst
    )
    assert created.status_code == 201, created.text
    # The curators withdraw the shared item (as `hrdd load` does when a file drops it).
    with db.session(SYSTEM, write=True) as session:
        session.get_one(EvidenceItem, withdrawn).deleted_at = utcnow()

    # Scored without it (a ScoreRequest naming it would be refused as "closes unknown").
    assert fired(score(client, tenant_a.investor, mine)) == []
