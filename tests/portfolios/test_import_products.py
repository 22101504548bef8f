"""Products in the bundled content (NSO Group's Pegasus, Intellexa's Predator): the company
search finds the companies by them, and the holdings import never does. "Pegasus Airlines" is
an airline, not NSO Group: a holding named like a product gets no candidate from it."""

from __future__ import annotations

from portfolio_helpers import API, company_id, create_portfolio, holdings, upload

BUNDLED_PRODUCTS = {
    "Pegasus": "nso-group",
    "Predator": "intellexa",
    "DevilsTongue": "candiru",
    "UFED": "cellebrite",
    "FinSpy": "finfisher",
    "Graphite": "paragon",
    "PacketLogic": "sandvine",
    "Galileo": "memento-labs",
}


def test_the_bundled_companies_are_found_by_their_products(client, tenant_a, db, content):
    for product, slug in BUNDLED_PRODUCTS.items():
        for query in (product, product.casefold()):
            response = client.get(
                f"{API}/companies", params={"q": query}, headers=tenant_a.investor
            )
            assert response.status_code == 200, response.text
            found = [(i["id"], i["matched_products"]) for i in response.json()["items"]]
            assert found == [(company_id(db, slug), [product])], query


def test_a_holding_named_like_a_product_gets_no_candidate_from_it(client, tenant_a, db, content):
    vendors = {company_id(db, slug) for slug in BUNDLED_PRODUCTS.values()}
    portfolio = create_portfolio(client, tenant_a.investor)
    names = ["Pegasus Airlines", "Pegasus", "Predator Capital", "Predator Ltd", "UFED", "FinSpy"]
    response = upload(client, tenant_a.investor, portfolio, "name\n" + "\n".join(names) + "\n")
    assert response.status_code in (200, 201), response.text
    imported = holdings(client, tenant_a.investor, portfolio)
    assert sorted(h["name"] for h in imported) == sorted(names)
    for holding in imported:
        assert holding["company_id"] is None, holding["name"]
        offered = {c["company_id"] for c in holding["candidates"]}
        assert not offered & vendors, holding["name"]
    # Nor does the company search suggest a vendor for a misspelt product.
    for misspelt in ["Pegasuss", "Predater", "FinnSpy"]:
        found = client.get(f"{API}/companies", params={"q": misspelt}, headers=tenant_a.investor)
        assert found.json()["items"] == [] and found.json()["suggestions"] == [], misspelt
