"""Helpers of the portfolio and report tests: bundled content, portfolios, CSV uploads.

Plain functions, so that the report tests (another folder) can use them too.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from hrdd.companies.models import Company
from hrdd.config import Settings
from hrdd.content import load_bundled_content
from hrdd.db import SYSTEM, Database

API = "/api/v1"
# Real, check-digit-valid ISINs of companies that are not in the registry; tests use them for
# fictional parents and fillers.
SPARE_ISINS = ("US0378331005", "US5949181045", "DE0007164600", "FR0000120271")


def load_content(db: Database, settings: Settings) -> None:
    """Questionnaire, curated companies and evidence, and scoring rules, as `hrdd load`."""
    load_bundled_content(db, settings)


def company_id(db: Database, slug: str) -> str:
    with db.session(SYSTEM) as session:
        found = session.scalar(select(Company.id).where(Company.slug == slug))
    assert found is not None, f"no bundled company {slug}"
    return str(found)


def create_company(client: TestClient, tenant: Any, name: str, **fields: Any) -> str:
    """A company made through the API by the tenant's analyst; its id."""
    body = {"name": name, **fields}
    response = client.post(f"{API}/companies", json=body, headers=tenant.analyst)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def create_portfolio(
    client: TestClient, headers: dict[str, str], name: str = "Global equity", currency: str = "EUR"
) -> str:
    response = client.post(
        f"{API}/portfolios", json={"name": name, "base_currency": currency}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(
    client: TestClient,
    headers: dict[str, str],
    portfolio_id: str,
    content: bytes | str,
    *,
    keep_good_rows: bool | None = None,
    decimal_separator: str | None = None,
    sheet: str | None = None,
    dry_run: bool | None = None,
) -> Response:
    data = content.encode("utf-8") if isinstance(content, str) else content
    params = {} if keep_good_rows is None else {"keep_good_rows": str(keep_good_rows).lower()}
    if decimal_separator is not None:
        params["decimal_separator"] = decimal_separator
    if sheet is not None:
        params["sheet"] = sheet
    if dry_run is not None:
        params["dry_run"] = str(dry_run).lower()
    return client.post(
        f"{API}/portfolios/{portfolio_id}/holdings/import",
        files={"file": ("holdings.csv", data, "text/csv")},
        params=params,
        headers=headers,
    )


def holdings(client: TestClient, headers: dict[str, str], portfolio_id: str) -> list[Any]:
    response = client.get(
        f"{API}/portfolios/{portfolio_id}/holdings", params={"limit": 500}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def risk(client: TestClient, headers: dict[str, str], portfolio_id: str) -> Any:
    response = client.get(f"{API}/portfolios/{portfolio_id}/risk", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def resolve(
    client: TestClient,
    headers: dict[str, str],
    portfolio_id: str,
    holding_id: str,
    company: str | None,
) -> Response:
    return client.post(
        f"{API}/portfolios/{portfolio_id}/holdings/{holding_id}/resolve",
        json={"company_id": company},
        headers=headers,
    )


def confirm_first_candidates(
    client: TestClient, headers: dict[str, str], portfolio_id: str
) -> None:
    """Confirm the best candidate of every holding that has candidates."""
    for holding in holdings(client, headers, portfolio_id):
        if holding["resolution"] == "candidates":
            best = holding["candidates"][0]["company_id"]
            response = resolve(client, headers, portfolio_id, holding["id"], best)
            assert response.status_code == 200, response.text


def by_name(items: list[Any], name: str) -> Any:
    found = [item for item in items if item["name"] == name]
    assert len(found) == 1, f"{len(found)} items named {name!r}"
    return found[0]


def new_uuid() -> str:
    return str(uuid.uuid4())
