"""A screening import's `snapshot_date` (a form field) is written YYYY-MM-DD. Pydantic's lax
date read Unix seconds ("1640908800") and datetimes ("2021-12-31T00:00:00") as a day, and
snapshots of a list must come in date order: a wrong day would block the next import."""

from __future__ import annotations

import pytest
from screening_helpers import ENTITY_LIST, csl_file


def _import(client, headers, snapshot_date):
    return client.post(
        "/api/v1/screening/imports",
        files={
            "file": (
                "consolidated.csv",
                csl_file([("k1", "Listed Party", ENTITY_LIST)], "2021-11-03"),
                "text/csv",
            )
        },
        data={"snapshot_date": snapshot_date},
        headers=headers,
    )


@pytest.mark.parametrize("given", ["1640908800", "2021-12-31T00:00:00", "2021-12-31 00:00:00"])
def test_a_snapshot_date_not_written_yyyy_mm_dd_is_refused(client, tenant_a, given):
    response = _import(client, tenant_a.analyst, given)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {
            "path": "snapshot_date",
            "message": f"'{given}' is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31",
        }
    ]
    runs = client.get("/api/v1/screening/imports", headers=tenant_a.analyst)
    assert runs.json()["items"] == []


def test_a_snapshot_date_written_yyyy_mm_dd_is_taken(client, tenant_a):
    response = _import(client, tenant_a.analyst, "2021-12-31")
    assert response.status_code == 201, response.text
    assert response.json()["snapshot_date"] == "2021-12-31"
