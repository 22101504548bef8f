"""Screening imports rescore the organisation's assessments of the companies they list: a list
entry carries no severity of its own and counts through the rule set's listing red flag."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from screening_helpers import ENTITY_LIST, assessed_company

from hrdd.scoring.rules import load_ruleset_file

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"


@pytest.fixture
def listing_floor(settings, rules_loaded) -> Decimal:
    rules = load_ruleset_file(settings.scoring_dir / "default-v1.yaml")
    return Decimal(str(next(rule.floor for rule in rules.overrides if rule.id == "RF-LISTING")))


def upload(client, headers, file_name: str, snapshot_date: str):
    with (DATA / file_name).open("rb") as stream:
        return client.post(
            "/api/v1/screening/imports",
            files={"file": (file_name, stream, "text/csv")},
            data={"snapshot_date": snapshot_date},
            headers=headers,
        )


def score(client, tenant, assessment_id: str) -> dict:
    response = client.get(f"/api/v1/assessments/{assessment_id}/score", headers=tenant.investor)
    assert response.status_code == 200, response.text
    return response.json()


def test_import_listing_a_scored_company_rescores_it_with_the_listing_floor(
    client, tenant_a, listing_floor
):
    company_id, assessment_id = assessed_company(client, tenant_a, "NSO Group Technologies Limited")
    before = score(client, tenant_a, assessment_id)
    assert before["result"]["overrides"] == []
    assert Decimal(str(before["result"]["overall"])) < listing_floor

    response = upload(client, tenant_a.analyst, "csl_sample.csv", "2024-10-01")
    assert response.status_code == 201, response.text
    assert response.json()["evidence_created"] >= 1
    evidence = client.get(
        f"/api/v1/companies/{company_id}/evidence", headers=tenant_a.investor
    ).json()["items"]
    assert [(item["type"], item["severity"]) for item in evidence] == [
        ("trade_restriction_listing", None)
    ]
    listing_id = evidence[0]["id"]

    history = client.get(f"/api/v1/assessments/{assessment_id}/scores", headers=tenant_a.investor)
    latest = history.json()["items"][-1]
    assert latest["diff"] is not None
    assert any(entry["ref"] == "RF-LISTING" for entry in latest["diff"]["entries"])

    result = score(client, tenant_a, assessment_id)["result"]
    assert Decimal(str(result["overall"])) == listing_floor
    assert result["band"] == "severe"
    [fired] = result["overrides"]
    assert (fired["rule_id"], fired["incident_ids"]) == ("RF-LISTING", [listing_id])
    assert ENTITY_LIST in fired["reason"]
    # The explanation names the red flag's lift and says why the entry adds no risk itself.
    lift = next(c for c in result["contributions"] if c["kind"] == "override")
    assert lift["ref"] == "RF-LISTING"
    assert sum(Decimal(str(c["points"])) for c in result["contributions"]) == listing_floor
    assert Decimal(str(result["evidence_risk_current"])) == 0
    assert any(note.startswith(f"incident {listing_id}:") for note in result["notes"])


def test_confirming_a_queued_match_rescores_the_listed_company(client, tenant_a, listing_floor):
    _, assessment_id = assessed_company(client, tenant_a, "Sandvine")
    score(client, tenant_a, assessment_id)
    assert upload(client, tenant_a.analyst, "csl_sample.csv", "2024-10-01").status_code == 201
    queued = client.get(
        "/api/v1/screening/matches", params={"status": "pending"}, headers=tenant_a.analyst
    ).json()["items"]
    [match] = [m for m in queued if m["record_name"] == "Sandvyne Ltd"]

    confirmed = client.post(
        f"/api/v1/screening/matches/{match['id']}/confirm", headers=tenant_a.analyst
    )
    assert confirmed.status_code == 200, confirmed.text
    result = score(client, tenant_a, assessment_id)["result"]
    assert [o["rule_id"] for o in result["overrides"]] == ["RF-LISTING"]
    assert Decimal(str(result["overall"])) >= listing_floor
