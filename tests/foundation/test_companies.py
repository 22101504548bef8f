"""Company registry: identifier validation, search, roles, ETags, ownership."""

import uuid

import pytest

from hrdd.companies.names import CompanyNames
from hrdd.db import TenantContext
from tests.conftest import shared_company

# Real, check-digit-valid identifiers of well-known issuers (Apple Inc.'s ISIN; a syntactically
# valid LEI made for tests) and deliberately broken ones.
APPLE_ISIN = "US0378331005"
VALID_LEI = "5493001KJTIIGC8Y1R12"


def create(client, headers, **fields):
    body = {"name": "Example Surveillance Ltd"} | fields
    return client.post("/api/v1/companies", json=body, headers=headers)


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("isins", ["US0378331006"], "isins.0"),
        ("isins", ["XX123"], "isins.0"),
        ("lei", "5493001KJTIIGC8Y1R13", "lei"),
        ("lei", "not-a-lei", "lei"),
    ],
)
def test_bad_identifiers_are_422_naming_field_and_value(client, tenant_a, field, value, path):
    response = create(client, tenant_a.analyst, **{field: value})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[0]["path"] == path
    shown = value[0] if isinstance(value, list) else value
    assert shown in errors[0]["message"]
    assert client.get("/api/v1/companies", headers=tenant_a.investor).json()["items"] == []


def test_search_by_name_alias_isin_lei_and_ticker(client, tenant_a):
    created = create(
        client,
        tenant_a.analyst,
        name="Cellebrite DI Ltd",
        aliases=["Cellebrite"],
        isins=[APPLE_ISIN],  # any valid ISIN serves the search test
        lei=VALID_LEI,
        tickers=["NASDAQ:CLBT"],
        categories=["forensic_extraction"],
        country="IL",
        listing_status="listed",
    )
    assert created.status_code == 201, created.text
    company_id = created.json()["id"]
    create(client, tenant_a.analyst, name="Unrelated Utilities plc")
    for query in ["cellebrite di", "CELLEBRITE", APPLE_ISIN, VALID_LEI, "CLBT", "nasdaq:clbt"]:
        items = client.get(
            "/api/v1/companies", params={"q": query}, headers=tenant_a.investor
        ).json()["items"]
        assert [i["id"] for i in items] == [company_id], query
    by_category = client.get(
        "/api/v1/companies", params={"category": "forensic_extraction"}, headers=tenant_a.investor
    ).json()["items"]
    assert [i["id"] for i in by_category] == [company_id]
    assert (
        client.get("/api/v1/companies", params={"q": "%"}, headers=tenant_a.investor).json()[
            "items"
        ]
        == []
    )


def search(client, headers, **params):
    response = client.get("/api/v1/companies", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_search_matches_where_words_start(client, tenant_a):
    """ "NSO" listed the Intellexa Consortium first (inside "consortium"), in name order, in
    the user test. A search matches the start of a word of a name or alias."""
    nso = create(client, tenant_a.analyst, name="NSO Group Technologies Limited").json()["id"]
    create(client, tenant_a.analyst, name="Intellexa Consortium")
    saito = create(client, tenant_a.analyst, name="Saito-Tech Ltd", aliases=["(Candiru)"]).json()[
        "id"
    ]
    found = [item["id"] for item in search(client, tenant_a.investor, q="NSO")["items"]]
    assert found == [nso]
    assert [i["id"] for i in search(client, tenant_a.investor, q="tech")["items"]] == [nso, saito]
    assert [i["id"] for i in search(client, tenant_a.investor, q="candiru")["items"]] == [saito]
    assert search(client, tenant_a.investor, q="sortium")["items"] == []


def test_a_misspelt_name_finds_suggestions_not_nothing(client, tenant_a):
    intellexa = create(
        client, tenant_a.analyst, name="Intellexa S.A.", categories=["spyware_intrusion"]
    ).json()["id"]
    create(
        client, tenant_a.analyst, name="Unrelated Utilities plc", categories=["spyware_intrusion"]
    )
    found = search(client, tenant_a.investor, q="Intelexa")
    assert found["items"] == []
    assert [(s["id"], s["name"]) for s in found["suggestions"]] == [(intellexa, "Intellexa S.A.")]
    assert 85 <= found["suggestions"][0]["similarity"] < 100
    # The category filter holds for suggestions too.
    assert (
        search(client, tenant_a.investor, q="Intelexa", category="deep_packet_inspection")[
            "suggestions"
        ]
        == []
    )
    # A name the search finds gets no suggestions, and neither does an unlike one.
    assert search(client, tenant_a.investor, q="Intellexa")["suggestions"] == []
    assert search(client, tenant_a.investor, q="Zzyzx Holdings")["suggestions"] == []


def test_suggestions_never_show_another_organisations_company(client, db, tenant_a, tenant_b):
    theirs = create(client, tenant_b.analyst, name="Intellexa S.A.", aliases=["Intelexa SA"])
    assert theirs.status_code == 201
    found = search(client, tenant_a.investor, q="Intelexa")
    assert found["items"] == [] and found["suggestions"] == []
    # The names matched are the caller's own and the shared ones only, not merely filtered
    # afterwards: another organisation's names never rank or crowd out the caller's.
    with db.session(TenantContext(tenant_a.organisation_id)) as session:
        assert uuid.UUID(theirs.json()["id"]) not in CompanyNames(session).names
    with db.session(TenantContext(tenant_b.organisation_id)) as session:
        assert uuid.UUID(theirs.json()["id"]) in CompanyNames(session).names


def record_owner(client, headers, company_id, owner_name, **fields):
    """A link whose owner the registry knows by name only (no company of its own)."""
    body = {"owner_name": owner_name, "owner_kind": "private_equity"} | fields
    response = client.post(f"/api/v1/companies/{company_id}/ownership", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_owner_known_only_by_name_is_found_with_what_it_owns(client, tenant_a, tenant_b):
    """The user test searched for Francisco Partners, a sponsor the registry records only in
    ownership links, and found nothing."""
    dpi = create(client, tenant_a.analyst, name="Example Packet Ltd").json()["id"]
    extraction = create(client, tenant_a.analyst, name="Example Extraction Ltd").json()["id"]
    record_owner(
        client,
        tenant_a.analyst,
        dpi,
        "Example Partners",
        start_date="2017-10-01",
        end_date="2020-06-30",
        percentage="100",
    )
    later = record_owner(
        client, tenant_a.analyst, extraction, "Example Partners", start_date="2021-01-01"
    )
    sponsor = create(client, tenant_a.analyst, name="Linked Capital").json()["id"]
    record_owner(client, tenant_a.analyst, dpi, "Linked Capital", owner_company_id=sponsor)

    found = search(client, tenant_a.investor, q="partners")
    assert found["items"] == []
    owned = [(o["owner_name"], o["company_name"], o["end_date"]) for o in found["recorded_owners"]]
    assert owned == [
        ("Example Partners", "Example Packet Ltd", "2020-06-30"),
        ("Example Partners", "Example Extraction Ltd", None),
    ]
    assert found["recorded_owners"][1]["id"] == later["id"]
    assert found["suggestions"] == []  # an owner named is not a misspelt company

    # From the start of a word, as names match; a misspelling gets the owners it resembles.
    assert search(client, tenant_a.investor, q="artners")["recorded_owners"] == []
    assert {
        o["owner_name"]
        for o in search(client, tenant_a.investor, q="Exampel Partners")["recorded_owners"]
    } == {"Example Partners"}
    # An owner with a company of its own is found as that company, not listed again.
    linked = search(client, tenant_a.investor, q="Linked")
    assert [i["id"] for i in linked["items"]] == [sponsor]
    assert linked["recorded_owners"] == []
    # Another organisation's links are never found.
    assert search(client, tenant_b.investor, q="partners")["recorded_owners"] == []
    # Listed for a search by q only.
    assert search(client, tenant_a.investor)["recorded_owners"] == []


def test_identifier_owned_by_another_company_is_refused(client, tenant_a):
    assert create(client, tenant_a.analyst, name="First", isins=[APPLE_ISIN]).status_code == 201
    second = create(client, tenant_a.analyst, name="Second", isins=[APPLE_ISIN])
    assert second.status_code == 422
    assert second.json()["errors"][0]["path"] == "isins.0"


def test_investors_read_analysts_write(client, tenant_a, tenant_b):
    assert create(client, tenant_a.investor).status_code == 403
    company = create(client, tenant_a.analyst).json()
    # A company made through the API is private to its maker's organisation.
    ours = client.get(f"/api/v1/companies/{company['id']}", headers=tenant_a.investor)
    assert ours.status_code == 200
    theirs = client.get(f"/api/v1/companies/{company['id']}", headers=tenant_b.investor)
    assert theirs.status_code == 404
    assert (
        client.get(
            "/api/v1/companies/8d3c4c55-43c7-4d2f-9d69-0a6f9b8f1a77", headers=tenant_b.investor
        ).status_code
        == 404
    )


def test_replace_needs_current_etag(client, tenant_a):
    created = create(client, tenant_a.analyst, name="Versioned SA")
    etag = created.headers["etag"]
    url = f"/api/v1/companies/{created.json()['id']}"
    body = {"name": "Versioned S.A.", "aliases": ["Versioned"]}
    assert client.put(url, json=body, headers=tenant_a.analyst).status_code == 428
    updated = client.put(url, json=body, headers=tenant_a.analyst | {"If-Match": etag})
    assert updated.status_code == 200 and updated.json()["version"] == 2
    stale = client.put(
        url, json={"name": "Lost update"}, headers=tenant_a.analyst | {"If-Match": etag}
    )
    assert stale.status_code == 412
    assert client.get(url, headers=tenant_a.investor).json()["name"] == "Versioned S.A."
    current = updated.headers["etag"]
    # If-Match compares strongly: the current tag marked weak does not match; a tag without
    # its quotes is named as not an ETag rather than as a change by someone else.
    weak = client.put(url, json=body, headers=tenant_a.analyst | {"If-Match": f"W/{current}"})
    assert weak.status_code == 412
    bare = client.put(url, json=body, headers=tenant_a.analyst | {"If-Match": current.strip('"')})
    assert bare.status_code == 412 and "not an ETag" in bare.json()["detail"]
    assert client.get(url, headers=tenant_a.investor).json()["version"] == 2


def test_ownership_links_show_on_both_sides(client, tenant_a):
    sponsor = create(client, tenant_a.analyst, name="Example Capital LLP").json()
    target = create(client, tenant_a.analyst, name="Example Spyware Ltd").json()
    link = client.post(
        f"/api/v1/companies/{target['id']}/ownership",
        json={
            "owner_name": "Example Capital LLP",
            "owner_kind": "private_equity",
            "owner_company_id": sponsor["id"],
            "percentage": "70.0",
            "start_date": "2019-02-14",
            "source_publisher": "Example Times",
            "source_url": "https://example.org/story",
        },
        headers=tenant_a.analyst,
    )
    assert link.status_code == 201, link.text
    owners = client.get(f"/api/v1/companies/{target['id']}", headers=tenant_a.investor).json()[
        "owners"
    ]
    assert owners[0]["owner_company_id"] == sponsor["id"] and owners[0]["percentage"] == "70.0000"
    holdings = client.get(f"/api/v1/companies/{sponsor['id']}", headers=tenant_a.investor).json()[
        "holdings"
    ]
    assert holdings[0]["company_name"] == "Example Spyware Ltd"
    backwards = client.post(
        f"/api/v1/companies/{target['id']}/ownership",
        json={
            "owner_name": "X",
            "owner_kind": "fund",
            "start_date": "2020-01-01",
            "end_date": "2019-01-01",
        },
        headers=tenant_a.analyst,
    )
    assert backwards.status_code == 422
    removed = client.delete(
        f"/api/v1/companies/{target['id']}/ownership/{link.json()['id']}", headers=tenant_a.analyst
    )
    assert removed.status_code == 204


# --- products --------------------------------------------------------------------------------


def test_a_search_finds_a_company_by_its_products_and_says_which(client, tenant_a):
    """An analyst searching for Pegasus found nothing: products were prose in the notes. A
    product matches from the start of a word, in any case, and the result names it."""
    nso = create(
        client,
        tenant_a.analyst,
        name="Example Intrusion Ltd",
        aliases=["Example Group"],
        products=["Pegasus", "Remote Control System"],
    ).json()["id"]
    create(client, tenant_a.analyst, name="Unrelated Utilities plc")
    for query, matched in [
        ("Pegasus", "Pegasus"),
        ("PEGASUS", "Pegasus"),
        ("peg", "Pegasus"),
        ("control", "Remote Control System"),
        ("Remote Control", "Remote Control System"),
    ]:
        found = search(client, tenant_a.investor, q=query)
        assert [i["id"] for i in found["items"]] == [nso], query
        assert found["items"][0]["matched_products"] == [matched], query
        assert found["items"][0]["products"] == ["Pegasus", "Remote Control System"]
    assert search(client, tenant_a.investor, q="egasus")["items"] == []
    # Found by its name or an alias, it matched no product.
    for query in ["Example", "example group"]:
        [item] = search(client, tenant_a.investor, q=query)["items"]
        assert item["matched_products"] == [], query
    # Misspelt, a product suggests nothing: suggestions compare names, as holdings do.
    misspelt = search(client, tenant_a.investor, q="Pegasuss")
    assert misspelt["items"] == [] and misspelt["suggestions"] == []


def test_products_are_created_replaced_and_checked_like_aliases(client, tenant_a):
    created = create(
        client, tenant_a.analyst, name="Example Vendor SA", products=["  Pegasus ", "Pegasus"]
    )
    assert created.status_code == 201, created.text
    assert created.json()["products"] == ["Pegasus"]
    url = f"/api/v1/companies/{created.json()['id']}"
    assert client.get(url, headers=tenant_a.investor).json()["products"] == ["Pegasus"]

    replaced = client.put(
        url,
        json={"name": "Example Vendor SA", "products": ["Graphite"]},
        headers=tenant_a.analyst | {"If-Match": created.headers["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["products"] == ["Graphite"]
    assert search(client, tenant_a.investor, q="Pegasus")["items"] == []
    [found] = search(client, tenant_a.investor, q="graphite")["items"]
    assert found["matched_products"] == ["Graphite"]

    for products, path in [
        (["Galileo", "   "], "products.1"),
        (["x" * 201], "products.0"),
        (["FinSpy", 7], "products.1"),
    ]:
        bad = create(client, tenant_a.analyst, name="Bad Products Ltd", products=products)
        assert bad.status_code == 422, products
        assert [e["path"] for e in bad.json()["errors"]] == [path]
    assert create(client, tenant_a.analyst, products=["x" * 200]).status_code == 201
    assert search(client, tenant_a.investor, q="Bad Products")["items"] == []


def test_another_organisations_products_are_never_found(client, tenant_a, tenant_b):
    theirs = create(client, tenant_b.analyst, name="Borealis Spyware Ltd", products=["Predator"])
    assert theirs.status_code == 201
    assert [i["id"] for i in search(client, tenant_b.investor, q="predator")["items"]] == [
        theirs.json()["id"]
    ]
    found = search(client, tenant_a.investor, q="predator")
    assert found["items"] == [] and found["suggestions"] == []


def test_a_company_may_be_named_as_another_companys_product(client, db, tenant_a):
    """A product is no name of its company: a company named Pegasus Airlines is no second
    NSO Group (the 409 for a shared company's name), and a holding named so is not NSO."""
    nso = shared_company(db, "Example Intrusion Ltd", products=["Pegasus"])
    airline = create(client, tenant_a.analyst, name="Pegasus")
    assert airline.status_code == 201, airline.text
    found = search(client, tenant_a.investor, q="Pegasus")["items"]
    assert [(i["id"], i["matched_products"]) for i in found] == [
        (nso, ["Pegasus"]),
        (airline.json()["id"], []),
    ]
    with db.session(TenantContext(tenant_a.organisation_id)) as session:
        ranked = CompanyNames(session).ranked("Pegasus Ltd", limit=None)
    assert [str(company_id) for company_id, _ in ranked] == [airline.json()["id"]]
