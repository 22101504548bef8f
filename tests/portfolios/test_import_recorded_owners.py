"""Holdings in an owner the registry records by name only (the bundled evidence gives Sun
Corporation, Novalpina Capital and Francisco Partners no company of their own): the import
says whose owner the holding is; once an analyst adds the owner as a company and links it,
the owner's recorded name offers that company and the holding carries what it owns."""

from __future__ import annotations

import datetime as dt

from portfolio_helpers import (
    API,
    by_name,
    company_id,
    create_company,
    create_portfolio,
    holdings,
    resolve,
    risk,
    upload,
)
from sqlalchemy import select

from hrdd.companies import service as companies
from hrdd.companies.models import OwnershipLink
from hrdd.db import SYSTEM

OWNERS = (
    "name,isin\n"
    "Sun Corporation,JP3336400001\n"
    "Novalpina Capital Partners I SCSp,\n"
    "Francisco Partners V LP,\n"
    "Quixotic Widgets,\n"
)


def test_holdings_in_owners_without_a_company_are_reported_with_what_they_own(
    client, tenant_a, db, content
):
    portfolio = create_portfolio(client, tenant_a.investor)
    response = upload(client, tenant_a.investor, portfolio, OWNERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unresolved"] == 4
    found = [
        (o["line"], o["owner_name"], o["company_id"], o["current"], o["end_date"])
        for o in body["recorded_owners"]
    ]
    assert found == [
        (2, "Sun Corporation", company_id(db, "cellebrite"), True, None),
        (3, "Novalpina Capital", company_id(db, "nso-group"), False, "2021-08-01"),
        (4, "Francisco Partners", company_id(db, "nso-group"), False, "2019-02-01"),
        (4, "Francisco Partners", company_id(db, "sandvine"), False, "2024-08-01"),
    ]
    first = body["recorded_owners"][0]
    assert (first["holding_name"], first["company_name"]) == (
        "Sun Corporation",
        "Cellebrite DI Ltd.",
    )


def test_an_owner_linked_as_a_company_is_offered_by_its_recorded_name(
    client, tenant_a, tenant_b, db, content
):
    cellebrite = company_id(db, "cellebrite")
    # The analyst's name for the owner differs from the one the link records.
    sun = create_company(client, tenant_a, "Sun Corp. (Tokyo)", country="JP")
    linked = client.post(
        f"{API}/companies/{cellebrite}/ownership",
        json={"owner_name": "Sun Corporation", "owner_kind": "company", "owner_company_id": sun},
        headers=tenant_a.analyst,
    )
    assert linked.status_code == 201, linked.text

    portfolio = create_portfolio(client, tenant_a.investor)
    response = upload(client, tenant_a.investor, portfolio, OWNERS)
    assert response.status_code == 200, response.text
    assert 2 not in {o["line"] for o in response.json()["recorded_owners"]}
    holding = by_name(holdings(client, tenant_a.investor, portfolio), "Sun Corporation")
    assert holding["resolution"] == "candidates"
    assert [c["company_id"] for c in holding["candidates"]] == [sun]
    confirmed = resolve(client, tenant_a.investor, portfolio, holding["id"], sun)
    assert confirmed.status_code == 200, confirmed.text
    view = by_name(risk(client, tenant_a.investor, portfolio)["holdings"], "Sun Corporation")
    assert [(e["company_id"], e["current"]) for e in view["exposure_via"]] == [(cellebrite, True)]

    # Another organisation sees neither the private link nor the company made for it.
    other = create_portfolio(client, tenant_b.investor)
    response = upload(client, tenant_b.investor, other, OWNERS)
    assert response.status_code == 200, response.text
    assert 2 in {o["line"] for o in response.json()["recorded_owners"]}
    assert (
        by_name(holdings(client, tenant_b.investor, other), "Sun Corporation")["candidates"] == []
    )


def test_the_risk_view_names_the_recorded_stakes_of_an_unmatched_holding(
    client, tenant_a, tenant_b, db, content
):
    """After the import, nothing the investor read said that a holding matched to nothing
    owns a vendor (the investor review: AE Industrial Partners, Paragon's owner, read 'not
    matched'). The risk view says it wherever the holding is read, and follows new links."""
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = "name\nSun Corporation\nQuixotic Widgets\nAE Industrial Partners\n"
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    held = risk(client, tenant_a.investor, portfolio)["holdings"]
    sun = by_name(held, "Sun Corporation")
    assert [(o["owner_name"], o["company_id"], o["current"]) for o in sun["recorded_owner_of"]] == [
        ("Sun Corporation", company_id(db, "cellebrite"), True)
    ]
    assert sun["unassessed_reason"].startswith(
        "not matched to any company of the registry, but its name resembles Sun Corporation, "
        "recorded as owner of Cellebrite DI Ltd. (stake undated, counted as current)"
    )
    assert by_name(held, "AE Industrial Partners")["recorded_owner_of"][0]["company_id"] == (
        company_id(db, "paragon")
    )
    widgets = by_name(held, "Quixotic Widgets")
    assert widgets["recorded_owner_of"] == []
    assert widgets["unassessed_reason"] == "not matched to any company of the registry"

    # A stake an analyst records later is in the next read (the cached view follows links);
    # a dated one that has not ended is called current.
    nestle = company_id(db, "nestle")
    linked = client.post(
        f"{API}/companies/{nestle}/ownership",
        json={
            "owner_name": "Quixotic Widgets",
            "owner_kind": "company",
            "start_date": "2020-01-01",
        },
        headers=tenant_a.analyst,
    )
    assert linked.status_code == 201, linked.text
    again = by_name(risk(client, tenant_a.investor, portfolio)["holdings"], "Quixotic Widgets")
    assert [o["company_id"] for o in again["recorded_owner_of"]] == [nestle]
    assert again["unassessed_reason"].endswith(
        "(current stake): an analyst can add the owner "
        "as a company and link the stake, and the holding is then scored through what it owns"
    )
    # ... in that organisation only.
    other = create_portfolio(client, tenant_b.investor)
    assert upload(client, tenant_b.investor, other, csv).status_code == 200
    theirs = by_name(risk(client, tenant_b.investor, other)["holdings"], "Quixotic Widgets")
    assert theirs["recorded_owner_of"] == []


def test_a_bundled_owner_link_changed_in_place_is_in_the_next_read(client, tenant_a, db, content):
    """The content loader edits a bundled link in place and touches its companies; a holding
    matched to nothing read the cached 'current stake' on (the code review)."""
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = "name\nAE Industrial Partners\n"
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    first = by_name(
        risk(client, tenant_a.investor, portfolio)["holdings"], "AE Industrial Partners"
    )
    assert first["recorded_owner_of"][0]["current"] is True
    with db.session(SYSTEM, write=True) as session:
        link = session.scalars(
            select(OwnershipLink).where(OwnershipLink.owner_name == "AE Industrial Partners")
        ).one()
        # What the loader's ownership sync does when a bundled link's dates change.
        link.start_date, link.end_date = dt.date(2019, 1, 1), dt.date(2020, 1, 1)
        companies.touch_companies(session, [link.company_id, link.owner_company_id])
    again = by_name(
        risk(client, tenant_a.investor, portfolio)["holdings"], "AE Industrial Partners"
    )
    assert again["recorded_owner_of"][0]["current"] is False
    assert "stake not current" in again["unassessed_reason"]
