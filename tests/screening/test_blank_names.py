"""A company name of only spaces matched nothing and made every screening import of its
organisation fail with a 500: names are checked where they come in, and one stored before
that no longer stops an import."""

from __future__ import annotations

import pytest
from screening_helpers import ENTITY_LIST, csl_file, new_company, upload_file

from hrdd.companies.models import Company
from hrdd.db import TenantContext

COMPANIES = "/api/v1/companies"


def _error_paths(response) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["path"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"name": "   "}, "name"),
        ({"name": "\t"}, "name"),
        ({"name": "Example Ltd", "aliases": ["Example", "  "]}, "aliases.1"),
        ({"name": "Example Ltd", "country": "UK"}, "country"),
        ({"name": "Example Ltd", "country": "XX"}, "country"),
    ],
)
def test_blank_names_and_unknown_countries_are_refused(client, tenant_a, fields, path):
    assert _error_paths(client.post(COMPANIES, json=fields, headers=tenant_a.analyst)) == [path]
    owner = {"owner_name": "  ", "owner_kind": "fund"}
    company = new_company(client, tenant_a, "Example Owned Ltd")
    link = client.post(f"{COMPANIES}/{company}/ownership", json=owner, headers=tenant_a.analyst)
    assert _error_paths(link) == ["owner_name"]


def test_names_are_kept_without_the_spaces_around_them(client, tenant_a):
    made = client.post(
        COMPANIES,
        json={"name": "  Example Ltd ", "aliases": [" Example "], "country": "gb"},
        headers=tenant_a.analyst,
    )
    assert made.status_code == 201, made.text
    assert (made.json()["name"], made.json()["aliases"], made.json()["country"]) == (
        "Example Ltd",
        ["Example"],
        "GB",
    )


def test_a_blank_name_stored_before_the_check_does_not_stop_an_import(client, db, tenant_a):
    listed = new_company(client, tenant_a, "Example Listed Intrusion Ltd")
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        session.add(Company(organisation_id=tenant_a.organisation_id, name=" ", search_text=""))
    content = csl_file([("k1", "Example Listed Intrusion Ltd", ENTITY_LIST)], "2024-01-01")
    upload_file(client, tenant_a.analyst, content)  # 201, where it answered 500
    evidence = client.get(f"{COMPANIES}/{listed}/evidence", headers=tenant_a.analyst).json()
    assert [item["type"] for item in evidence["items"]] == ["trade_restriction_listing"]
