"""A company made through the API is private to the organisation that made it: its notes may
say what the organisation holds and plans. Another organisation finds it nowhere (404 on every
route naming it, absent from lists and searches), cannot assess it, write evidence about it or
link it, and learns nothing of it from identifier checks. Bundled companies stay shared."""

from __future__ import annotations

from portfolio_helpers import (
    API,
    company_id,
    create_portfolio,
    holdings,
    resolve,
    risk,
    upload,
)
from tests.conftest import recent_evidence_body

from hrdd.companies.models import Company, CompanyIdentifier
from hrdd.db import SYSTEM

ISIN = "DE0007164600"
LEI = "5493001KJTIIGC8Y1R12"
TICKER = "XETRA:ACMI"
NOTES = "INTERNAL: we hold 2.5m via Fund III, considering divestment"
ACME = {
    "name": "Acme Intercept Ltd",
    "aliases": ["Acme Intercept"],
    "isins": [ISIN],
    "lei": LEI,
    "tickers": [TICKER],
    "notes": NOTES,
}


def make(client, tenant, **fields):
    return client.post(f"{API}/companies", json={**ACME, **fields}, headers=tenant.analyst)


def found(client, headers, q: str | None = None) -> set[str]:
    params = {"limit": 200, **({"q": q} if q else {})}
    response = client.get(f"{API}/companies", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def is_not_found(response, *secrets: str) -> bool:
    return (
        response.status_code == 404
        and response.headers["content-type"].startswith("application/problem+json")
        and not any(secret in response.text for secret in secrets)
    )


def commitment(company: str) -> dict:
    return {
        "company_id": company,
        "date": "2019-09-10",
        "title": "Human rights policy",
        "claim": "The company said it investigates every credible allegation of misuse.",
        "source": {
            "publisher": "Acme Intercept Ltd",
            "title": "Our policy",
            "date": "2019-09-10",
            "url": "https://example.org/policy",
        },
        "question_ids": ["P1"],
        "fulfilment": "self_reported",
        "fulfilment_rationale": "Only the company's own word supports it.",
    }


def test_another_organisation_finds_reads_and_touches_nothing_of_our_company(
    client, tenant_a, tenant_b, db, content
):
    made = make(client, tenant_a)
    assert made.status_code == 201, made.text
    acme, etag = made.json()["id"], made.headers["ETag"]
    url = f"{API}/companies/{acme}"
    nso = company_id(db, "nso-group")
    secrets = (ACME["name"], NOTES)

    for q in (None, "Acme", "acme intercept", ISIN, LEI, TICKER, "ACMI"):
        assert acme not in found(client, tenant_b.investor, q), q
        assert acme in found(client, tenant_a.investor, q), q
    assert is_not_found(client.get(url, headers=tenant_b.investor), *secrets)
    for route in ("/evidence", "/commitments"):
        assert is_not_found(client.get(f"{url}{route}", headers=tenant_b.investor), *secrets)
    refused = client.put(
        url, json={"name": "Acme (sanctioned)"}, headers={**tenant_b.analyst, "If-Match": etag}
    )
    assert is_not_found(refused, *secrets)
    owner = {"owner_name": "Example Fund", "owner_kind": "fund"}
    linked = client.post(f"{url}/ownership", json=owner, headers=tenant_b.analyst)
    assert is_not_found(linked, *secrets)
    as_owner = {"owner_name": "Acme", "owner_kind": "company", "owner_company_id": acme}
    linked = client.post(
        f"{API}/companies/{nso}/ownership", json=as_owner, headers=tenant_b.analyst
    )
    assert is_not_found(linked, *secrets)
    started = client.post(
        f"{API}/assessments",
        json={"company_id": acme, "questionnaire_key": "stap-surveillance"},
        headers=tenant_b.investor,
    )
    assert is_not_found(started, *secrets)
    evidence = client.post(
        f"{API}/evidence", json=recent_evidence_body(acme), headers=tenant_b.analyst
    )
    assert is_not_found(evidence, *secrets)
    promised = client.post(f"{API}/commitments", json=commitment(acme), headers=tenant_b.analyst)
    assert is_not_found(promised, *secrets)

    # B's holdings never resolve to it, by identifier or by choice.
    portfolio = create_portfolio(client, tenant_b.investor)
    uploaded = upload(client, tenant_b.investor, portfolio, f"name,isin\nAcme Intercept,{ISIN}\n")
    assert uploaded.status_code == 200, uploaded.text
    [holding] = holdings(client, tenant_b.investor, portfolio)
    assert holding["company_id"] is None
    assert acme not in {c["company_id"] for c in holding.get("candidates", [])}
    chosen = resolve(client, tenant_b.investor, portfolio, holding["id"], acme)
    assert chosen.status_code == 422 and ACME["name"] not in chosen.text

    # A renames it: nothing B reads changes.
    seen_by_b = found(client, tenant_b.investor)
    renamed = client.put(
        url,
        json={**ACME, "name": "Acme Intercept Ltd (DO NOT INVEST - Fund A)"},
        headers={**tenant_a.analyst, "If-Match": etag},
    )
    assert renamed.status_code == 200, renamed.text
    assert found(client, tenant_b.investor) == seen_by_b
    assert found(client, tenant_b.investor, "DO NOT INVEST") == set()
    assert client.get(f"{API}/assessments", headers=tenant_b.investor).json()["items"] == []
    assert risk(client, tenant_b.investor, portfolio)["holdings"][0]["company_id"] is None


def test_the_maker_reads_assesses_and_writes_evidence_about_its_company(client, tenant_a, content):
    acme = make(client, tenant_a).json()["id"]
    read = client.get(f"{API}/companies/{acme}", headers=tenant_a.investor)
    assert read.status_code == 200, read.text
    assert (read.json()["notes"], read.json()["editable"]) == (NOTES, True)
    started = client.post(
        f"{API}/assessments",
        json={"company_id": acme, "questionnaire_key": "stap-surveillance"},
        headers=tenant_a.investor,
    )
    assert started.status_code == 201, started.text
    assert started.json()["company_name"] == ACME["name"]
    added = client.post(
        f"{API}/evidence", json=recent_evidence_body(acme), headers=tenant_a.analyst
    )
    assert added.status_code == 201, added.text
    timeline = client.get(f"{API}/companies/{acme}/evidence", headers=tenant_a.investor)
    assert [item["id"] for item in timeline.json()["items"]] == [added.json()["id"]]


def test_bundled_companies_stay_visible_to_every_organisation(
    client, tenant_a, tenant_b, db, content
):
    nso = company_id(db, "nso-group")
    for tenant in (tenant_a, tenant_b):
        assert client.get(f"{API}/companies/{nso}", headers=tenant.investor).status_code == 200
        assert nso in found(client, tenant.investor, "NSO")


def test_identifiers_are_unique_among_what_an_organisation_sees(
    client, tenant_a, tenant_b, db, content
):
    """Another organisation's private company neither blocks nor reveals itself: B records
    the same entity with the same identifiers, and each sees its own. Within what one
    organisation sees (the shared companies and its own) an identifier is taken once."""
    acme = make(client, tenant_a).json()["id"]
    theirs = make(client, tenant_b, notes="Our own notes")
    assert theirs.status_code == 201, theirs.text
    assert acme not in theirs.text and NOTES not in theirs.text
    assert found(client, tenant_b.investor, LEI) == {theirs.json()["id"]}
    assert found(client, tenant_a.investor, LEI) == {acme}

    again = make(client, tenant_a, name="Acme Intercept Holdings")
    assert again.status_code == 422, again.text
    paths = {error["path"]: error["message"] for error in again.json()["errors"]}
    assert set(paths) == {"isins.0", "tickers.0", "lei"}
    assert all(acme in message for message in paths.values())
    assert theirs.json()["id"] not in again.text

    unilever = client.get(
        f"{API}/companies/{company_id(db, 'unilever')}", headers=tenant_a.investor
    ).json()
    taken = make(
        client, tenant_b, name="Unilever copy", isins=unilever["isins"], lei=None, tickers=[]
    )
    assert taken.status_code == 422, taken.text
    assert [error["path"] for error in taken.json()["errors"]] == ["isins.0"]


def test_a_bundled_company_loaded_later_with_your_identifiers_never_takes_your_holdings(
    client, db, tenant_a
):
    """Identifiers are unique among shared companies and among an organisation's own, so a
    bundled company added after the organisation made its own may carry the same ISIN, LEI
    and ticker: the organisation's own company is the one its holdings resolve to."""
    made = make(client, tenant_a)
    assert made.status_code == 201, made.text
    own = made.json()["id"]
    with db.session(SYSTEM, write=True) as session:
        bundled = Company(name="Acme Intercept", search_text="acme intercept", lei=LEI)
        session.add(bundled)
        session.flush()
        session.add_all(
            CompanyIdentifier(company_id=bundled.id, scheme=scheme, value=value)
            for scheme, value in (("isin", ISIN), ("ticker", TICKER))
        )
    portfolio = create_portfolio(client, tenant_a.investor)
    uploaded = upload(
        client,
        tenant_a.investor,
        portfolio,
        f"name,isin,lei,ticker,weight\nBy ISIN,{ISIN},,,0.3\nBy LEI,,{LEI},,0.3\n"
        f"By ticker,,,{TICKER},0.2\nBy symbol,,,{TICKER.rsplit(':', 1)[1]},0.2\n",
    )
    assert uploaded.status_code == 200, uploaded.text
    assert {h["company_id"] for h in holdings(client, tenant_a.investor, portfolio)} == {own}
