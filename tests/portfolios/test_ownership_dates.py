"""An ownership link's dates are written YYYY-MM-DD: the start of a stake decides whether a
holding carries it, so Unix seconds (a number or its text) or a datetime read as some day
would silently change a portfolio's exposure. Each is a 422 naming the field; nothing is
recorded."""

from __future__ import annotations

import pytest
from portfolio_helpers import API, create_company

HOW = "is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31"
NOT_DATES = {
    "Unix seconds": (1640908800, f"1640908800 {HOW}"),
    "Unix seconds as text": ("1640908800", f"'1640908800' {HOW}"),
    "a datetime at midnight": ("2021-12-31T00:00:00", f"'2021-12-31T00:00:00' {HOW}"),
    "a date and time": ("2021-12-31 00:00", f"'2021-12-31 00:00' {HOW}"),
}


def _owners(client, tenant, company: str) -> list:
    response = client.get(f"{API}/companies/{company}", headers=tenant.analyst)
    assert response.status_code == 200, response.text
    return response.json()["owners"]


@pytest.mark.parametrize("field", ["start_date", "end_date", "source_date"])
@pytest.mark.parametrize("case", sorted(NOT_DATES))
def test_an_ownership_date_not_written_yyyy_mm_dd_is_refused(client, tenant_a, field, case):
    owned = create_company(client, tenant_a, "Example Intercept Ltd")
    given, message = NOT_DATES[case]
    response = client.post(
        f"{API}/companies/{owned}/ownership",
        json={"owner_name": "Example Capital", "owner_kind": "private_equity", field: given},
        headers=tenant_a.analyst,
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"path": field, "message": message}]
    assert _owners(client, tenant_a, owned) == []


def test_ownership_dates_written_yyyy_mm_dd_are_recorded(client, tenant_a):
    owned = create_company(client, tenant_a, "Example Intercept Ltd")
    dates = {"start_date": "2020-01-01", "end_date": "2021-12-31", "source_date": "2021-12-31"}
    response = client.post(
        f"{API}/companies/{owned}/ownership",
        json={"owner_name": "Example Capital", "owner_kind": "private_equity", **dates},
        headers=tenant_a.analyst,
    )
    assert response.status_code == 201, response.text
    [owner] = _owners(client, tenant_a, owned)
    assert {name: owner[name] for name in dates} == dates
