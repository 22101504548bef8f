"""Automatic matches (an identifier, or the same name but for case, punctuation and legal form)
become evidence at once, are listed with the review queue as `auto_confirmed`, and an analyst's
rejection withdraws their evidence. Near names, however high they score, wait for review."""

from __future__ import annotations

from pathlib import Path

from screening_helpers import ENTITY_LIST, csl_file, new_company, upload_file
from sqlalchemy import delete

from hrdd.db import SYSTEM
from hrdd.screening.models import ScreeningMatch

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"
FIXTURE_ISIN = "XS9999999998"


def csl(*names: str) -> bytes:
    return csl_file(
        ((f"row{number}", name, ENTITY_LIST) for number, name in enumerate(names)), "2024-05-01"
    )


def matches(client, headers, status: str | None = None) -> list[dict]:
    params = {"status": status} if status else {}
    response = client.get("/api/v1/screening/matches", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def live_evidence(client, headers, company_id: str) -> list[dict]:
    response = client.get(f"/api/v1/companies/{company_id}/evidence", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_near_names_wait_for_review_and_only_the_exact_name_is_evidence(client, tenant_a):
    sandvine = new_company(client, tenant_a, "Sandvine Incorporated", aliases=["Sandvine"])
    run = upload_file(client, tenant_a.analyst, csl("Sandvine Holdings ULC", "Sandvyne Inc."))
    assert (run["evidence_created"], run["review_queued"], run["name_matches"]) == (0, 2, 0)
    assert live_evidence(client, tenant_a.analyst, sandvine) == []
    queued = {m["record_name"]: m for m in matches(client, tenant_a.analyst, "pending")}
    assert set(queued) == {"Sandvine Holdings ULC", "Sandvyne Inc."}
    assert queued["Sandvine Holdings ULC"]["score"] == 100

    exact = upload_file(client, tenant_a.analyst, csl("SANDVINE, INC."), "2024-10-02")
    assert (exact["evidence_created"], exact["name_matches"]) == (1, 1)


def test_automatic_matches_are_listed_with_their_evidence(client, tenant_a, tenant_b):
    sandvine = new_company(client, tenant_a, "Sandvine Incorporated")
    coded = new_company(client, tenant_a, "Quiet Harbour Investments plc", isins=[FIXTURE_ISIN])
    upload_file(client, tenant_a.analyst, (DATA / "csl_sample.csv").read_bytes())

    automatic = {m["company_id"]: m for m in matches(client, tenant_a.analyst, "auto_confirmed")}
    assert set(automatic) == {sandvine, coded}
    by_name = automatic[sandvine]
    assert (by_name["record_name"], by_name["matched_name"], by_name["score"]) == (
        "Sandvine Inc.",
        "Sandvine Incorporated",
        100,
    )
    assert by_name["matched_identifier"] is None
    assert by_name["decided_by_name"] and by_name["decided_at"]
    [listing] = [i for i in live_evidence(client, tenant_a.analyst, sandvine)]
    assert by_name["evidence_id"] == listing["id"]
    by_code = automatic[coded]
    assert by_code["matched_identifier"] == f"ISIN {FIXTURE_ISIN}"
    assert by_code["matched_name"] == "Quiet Harbour Investments plc"
    # The default list shows them with the queue; another organisation sees none of them.
    assert {m["id"] for m in matches(client, tenant_a.analyst)} >= {
        by_name["id"],
        by_code["id"],
    }
    assert matches(client, tenant_b.analyst) == []
    # Importing again lists nothing twice.
    upload_file(client, tenant_a.analyst, (DATA / "csl_sample.csv").read_bytes(), "2024-10-02")
    assert len(matches(client, tenant_a.analyst, "auto_confirmed")) == 2


def test_rejecting_an_automatic_match_withdraws_its_evidence_for_good(
    client, tenant_a, rules_loaded
):
    sandvine = new_company(client, tenant_a, "Sandvine Incorporated")
    assessment = client.post(
        "/api/v1/assessments",
        json={"company_id": sandvine, "questionnaire_key": "stap-surveillance"},
        headers=tenant_a.investor,
    )
    assert assessment.status_code == 201, assessment.text
    score_url = f"/api/v1/assessments/{assessment.json()['id']}/score"
    upload_file(client, tenant_a.analyst, csl("Sandvine Inc."))
    overrides = client.get(score_url, headers=tenant_a.investor).json()["result"]["overrides"]
    assert [o["rule_id"] for o in overrides] == ["RF-LISTING"]
    [match] = matches(client, tenant_a.analyst, "auto_confirmed")
    url = f"/api/v1/screening/matches/{match['id']}"

    assert client.post(f"{url}/confirm", headers=tenant_a.analyst).status_code == 409
    assert client.post(f"{url}/reject", headers=tenant_a.investor).status_code == 403
    rejected = client.post(f"{url}/reject", headers=tenant_a.analyst)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert live_evidence(client, tenant_a.analyst, sandvine) == []
    assert client.get(score_url, headers=tenant_a.investor).json()["result"]["overrides"] == []
    assert client.post(f"{url}/reject", headers=tenant_a.analyst).status_code == 409

    again = upload_file(client, tenant_a.analyst, csl("Sandvine Inc."), "2024-10-02")
    assert (again["evidence_created"], again["name_matches"], again["review_queued"]) == (0, 0, 0)
    assert live_evidence(client, tenant_a.analyst, sandvine) == []


def test_rejecting_an_identifier_match_stands_against_later_imports(client, tenant_a):
    coded = new_company(client, tenant_a, "Quiet Harbour Investments plc", isins=[FIXTURE_ISIN])
    sample = (DATA / "csl_sample.csv").read_bytes()
    upload_file(client, tenant_a.analyst, sample)
    [match] = matches(client, tenant_a.analyst, "auto_confirmed")
    assert match["company_id"] == coded
    reject = client.post(
        f"/api/v1/screening/matches/{match['id']}/reject", headers=tenant_a.analyst
    )
    assert reject.status_code == 200, reject.text
    assert live_evidence(client, tenant_a.analyst, coded) == []

    again = upload_file(client, tenant_a.analyst, sample, "2024-10-02")
    assert (again["evidence_created"], again["identifier_matches"]) == (0, 0)
    assert live_evidence(client, tenant_a.analyst, coded) == []


def test_a_listing_matched_before_automatic_matches_were_listed_gets_its_row(client, db, tenant_a):
    sandvine = new_company(client, tenant_a, "Sandvine Incorporated")
    upload_file(client, tenant_a.analyst, csl("Sandvine Inc."))
    [listing] = live_evidence(client, tenant_a.analyst, sandvine)
    with db.session(SYSTEM, write=True) as session:
        session.execute(delete(ScreeningMatch))
    assert matches(client, tenant_a.analyst) == []

    run = upload_file(client, tenant_a.analyst, csl("Sandvine Inc."), "2024-10-02")
    assert run["evidence_created"] == 0
    [match] = matches(client, tenant_a.analyst, "auto_confirmed")
    assert match["evidence_id"] == listing["id"]
