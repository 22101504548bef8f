"""Evidence dates, in bodies and in the timeline's query, are written YYYY-MM-DD. Numbers were
already refused here (a YAML 2019 must not become 1970), but Unix seconds as text and
datetimes ("2021-12-31T00:00:00") were read as a day."""

from __future__ import annotations

import pytest

HOW = "is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31"
NOT_DATES = {
    "Unix seconds": (1640908800, f"1640908800 {HOW}"),
    "Unix seconds as text": ("1640908800", f"'1640908800' {HOW}"),
    "a datetime at midnight": ("2021-12-31T00:00:00", f"'2021-12-31T00:00:00' {HOW}"),
}


def _timeline(client, company_id, headers, **params):
    return client.get(f"/api/v1/companies/{company_id}/evidence", params=params, headers=headers)


@pytest.mark.parametrize("case", sorted(NOT_DATES))
def test_an_evidence_date_not_written_yyyy_mm_dd_is_refused(
    client, tenant_a, company_id, evidence_body, case
):
    given, message = NOT_DATES[case]
    item = evidence_body(company_id, event_date="2020-06-01", published_date=given)
    response = client.post("/api/v1/evidence", json=item, headers=tenant_a.analyst)
    assert response.status_code == 422, response.text
    assert {"path": "published_date", "message": message} in response.json()["errors"]

    source = evidence_body(company_id)
    source["sources"][0]["date"] = given
    response = client.post("/api/v1/evidence", json=source, headers=tenant_a.analyst)
    assert response.status_code == 422, response.text
    assert {"path": "sources.0.date", "message": message} in response.json()["errors"]
    assert _timeline(client, company_id, tenant_a.analyst).json()["items"] == []


def test_an_evidence_date_written_yyyy_mm_dd_is_saved(client, tenant_a, company_id, evidence_body):
    item = evidence_body(company_id, event_date="2021-12-30", published_date="2021-12-31")
    response = client.post("/api/v1/evidence", json=item, headers=tenant_a.analyst)
    assert response.status_code == 201, response.text
    assert (response.json()["published_date"], response.json()["sources"][0]["date"]) == (
        "2021-12-31",
        "2021-12-31",
    )


@pytest.mark.parametrize("given", ["1640908800", "2021-12-31T00:00:00", "2021-12-31 00:00"])
def test_a_timeline_bound_not_written_yyyy_mm_dd_is_refused(
    client, tenant_a, company_id, evidence_body, given
):
    item = evidence_body(company_id, event_date="2021-12-31", published_date="2021-12-31")
    assert client.post("/api/v1/evidence", json=item, headers=tenant_a.analyst).status_code == 201
    for name in ("from", "to"):
        refused = _timeline(client, company_id, tenant_a.investor, **{name: given})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == [
            {
                "path": f"query.{name}",
                "message": f"'{given}' is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31",
            }
        ]
    ranged = _timeline(client, company_id, tenant_a.investor, **{"from": "2021-12-31"})
    assert [i["event_date"] for i in ranged.json()["items"]] == ["2021-12-31"]
