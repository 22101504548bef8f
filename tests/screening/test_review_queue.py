"""The review queue: grey-zone name matches an analyst confirms or rejects."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrdd.companies.models import Company
from hrdd.companies.service import build_search_text
from hrdd.db import SYSTEM

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"
# "Sandvyne Ltd" on the sample list resembles "Sandvine" without reaching the automatic
# threshold: the sample's grey-zone row.
GREY_ZONE_RECORD = "Sandvyne Ltd"


@pytest.fixture
def sandvine(db) -> str:
    """A shared company, as the bundled registry's are: every organisation's imports match it
    (a company one organisation made through the API is matched by its own imports only)."""
    with db.session(SYSTEM, write=True) as session:
        company = Company(name="Sandvine", search_text=build_search_text("Sandvine", [], []))
        session.add(company)
        session.flush()
        return str(company.id)


def upload(client, headers, snapshot_date="2024-10-01"):
    with (DATA / "csl_sample.csv").open("rb") as stream:
        response = client.post(
            "/api/v1/screening/imports",
            files={"file": ("csl_sample.csv", stream, "text/csv")},
            data={"snapshot_date": snapshot_date},
            headers=headers,
        )
    assert response.status_code == 201, response.text
    return response.json()


def pending(client, headers):
    response = client.get(
        "/api/v1/screening/matches", params={"status": "pending"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def sandvine_items(client, headers, company_id):
    return client.get(f"/api/v1/companies/{company_id}/evidence", headers=headers).json()["items"]


def test_grey_zone_match_waits_for_review(client, tenant_a, tenant_b, sandvine):
    run = upload(client, tenant_a.analyst)
    assert (run["review_queued"], run["status"]) == (1, "review_pending")
    queue = pending(client, tenant_a.analyst)
    assert [(m["record_name"], m["company_id"], m["matched_name"]) for m in queue] == [
        (GREY_ZONE_RECORD, sandvine, "Sandvine")
    ]
    assert 85 <= queue[0]["score"] < 95
    # Only the real Sandvine Inc. row became evidence; the look-alike waits.
    assert len(sandvine_items(client, tenant_a.analyst, sandvine)) == 1
    assert pending(client, tenant_b.analyst) == []
    assert client.get("/api/v1/screening/matches", headers=tenant_a.investor).status_code == 403


def test_confirming_creates_the_evidence_once(client, tenant_a, tenant_b, sandvine):
    run = upload(client, tenant_a.analyst)
    match = pending(client, tenant_a.analyst)[0]
    url = f"/api/v1/screening/matches/{match['id']}"
    assert client.post(f"{url}/confirm", headers=tenant_b.analyst).status_code == 404
    assert client.post(f"{url}/confirm", headers=tenant_a.investor).status_code == 403

    confirmed = client.post(f"{url}/confirm", headers=tenant_a.analyst)
    assert confirmed.status_code == 200, confirmed.text
    decided = confirmed.json()
    assert decided["status"] == "confirmed" and decided["decided_by_name"]
    items = sandvine_items(client, tenant_a.analyst, sandvine)
    created = [i for i in items if i["id"] == decided["evidence_id"]]
    assert created and created[0]["type"] == "trade_restriction_listing"
    assert created[0]["event_date"] == "2024-05-01"
    assert GREY_ZONE_RECORD in created[0]["summary"]

    assert client.post(f"{url}/confirm", headers=tenant_a.analyst).status_code == 409
    assert client.post(f"{url}/reject", headers=tenant_a.analyst).status_code == 409
    refreshed = client.get(
        f"/api/v1/screening/imports/{run['id']}", headers=tenant_a.analyst
    ).json()
    assert (refreshed["status"], refreshed["evidence_created"]) == (
        "completed",
        run["evidence_created"] + 1,
    )

    again = upload(client, tenant_a.analyst)
    assert (again["evidence_created"], again["review_queued"]) == (0, 0)
    assert len(sandvine_items(client, tenant_a.analyst, sandvine)) == len(items)


def test_rejection_is_remembered_by_later_imports(client, tenant_a, tenant_b, sandvine):
    upload(client, tenant_a.analyst)
    match = pending(client, tenant_a.analyst)[0]
    rejected = client.post(
        f"/api/v1/screening/matches/{match['id']}/reject", headers=tenant_a.analyst
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["evidence_id"]) == ("rejected", None)
    assert len(sandvine_items(client, tenant_a.analyst, sandvine)) == 1

    later = upload(client, tenant_a.analyst, "2024-10-02")
    assert later["review_queued"] == 0
    assert pending(client, tenant_a.analyst) == []
    all_matches = client.get("/api/v1/screening/matches", headers=tenant_a.analyst).json()["items"]
    assert sorted((m["record_name"], m["status"]) for m in all_matches) == [
        ("Sandvine Inc.", "auto_confirmed"),
        (GREY_ZONE_RECORD, "rejected"),
    ]

    # The rejection belongs to tenant_a: tenant_b's own import still asks.
    assert upload(client, tenant_b.analyst)["review_queued"] == 1


def test_unknown_match_is_404(client, tenant_a):
    url = "/api/v1/screening/matches/8d3c4c55-43c7-4d2f-9d69-0a6f9b8f1a77/confirm"
    assert client.post(url, headers=tenant_a.analyst).status_code == 404
