"""The risk view: scores per holding, exposure through ownership, totals both ways."""

from __future__ import annotations

import io
import re
import uuid
from csv import DictReader
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from portfolio_helpers import (
    API,
    SPARE_ISINS,
    by_name,
    company_id,
    confirm_first_candidates,
    create_company,
    create_portfolio,
    risk,
    upload,
)

from hrdd.assessments.models import Assessment
from hrdd.db import TenantContext
from hrdd.scoring import service as scoring

ESCALATION = {"escalate_collectively", "vote_or_file_resolution", "divest_or_exclude"}


def add_owner(client, tenant, owned: str, owner: str, owner_name: str, **fields) -> None:
    response = client.post(
        f"{API}/companies/{owned}/ownership",
        json={
            "owner_name": owner_name,
            "owner_kind": "private_equity",
            "owner_company_id": owner,
            **fields,
        },
        headers=tenant.analyst,
    )
    assert response.status_code == 201, response.text


def test_a_holding_in_a_parent_carries_what_it_owns_with_dates(client, tenant_a, db, content):
    nso, candiru, paragon = (company_id(db, s) for s in ("nso-group", "candiru", "paragon"))
    parent_isins = [SPARE_ISINS[1]]
    parent = create_company(client, tenant_a, "Example Capital Partners plc", isins=parent_isins)
    midco = create_company(client, tenant_a, "Example Midco Ltd")
    add_owner(
        client, tenant_a, nso, parent, "Example Capital", percentage="70", start_date="2021-08-01"
    )
    add_owner(
        client,
        tenant_a,
        candiru,
        parent,
        "Example Capital",
        start_date="2015-01-01",
        end_date="2018-12-31",
    )
    add_owner(client, tenant_a, midco, parent, "Example Capital", start_date="2020-01-01")
    add_owner(client, tenant_a, paragon, midco, "Example Midco", start_date="2021-01-01")

    portfolio = create_portfolio(client, tenant_a.investor)
    csv = f"name,isin,market_value\nExample Capital,{SPARE_ISINS[1]},900\nNSO Group,,100\n"
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    view = risk(client, tenant_a.investor, portfolio)
    holding = by_name(view["holdings"], "Example Capital")
    direct = by_name(view["holdings"], "NSO Group")

    exposures = {e["company_id"]: e for e in holding["exposure_via"]}
    assert set(exposures) == {nso, candiru, midco, paragon}
    assert exposures[nso]["current"] is True
    assert exposures[nso]["start_date"] == "2021-08-01"
    assert Decimal(exposures[nso]["percentage"]) == 70
    assert exposures[nso]["band"] == direct["band"]
    assert exposures[candiru]["current"] is False
    assert exposures[candiru]["end_date"] == "2018-12-31"
    assert exposures[paragon]["via"] == ["Example Midco Ltd"]
    assert exposures[paragon]["current"] is True

    # The parent has no score of its own: it carries the worst company it owns now.
    current = [e for e in holding["exposure_via"] if e["current"] and e["overall"] is not None]
    worst = max(current, key=lambda e: e["overall"])
    assert holding["assessed"] is True
    assert holding["basis"] == "ownership"
    assert holding["scored_company_id"] == worst["company_id"]
    assert holding["overall"] == worst["overall"]
    assert holding["company_id"] == parent
    assert direct["basis"] == "own"
    # The red flags in the reason are the owned company's: the reason says whose they are.
    assert worst["company_id"] == nso and worst["via"] == []
    assert holding["action_reason"] == (
        f"Scored as its stake in {worst['company_name']}: {direct['action_reason']}"
    )
    assert not direct["action_reason"].startswith("Scored as its stake")


def test_a_link_back_to_an_owner_is_refused(client, tenant_a, db, content):
    """Two companies owning each other, directly or through a third, is a loop, not a stake."""
    top = create_company(client, tenant_a, "Example Top Holdings plc")
    middle = create_company(client, tenant_a, "Example Middle Ltd")
    bottom = create_company(client, tenant_a, "Example Bottom Ltd")
    add_owner(client, tenant_a, middle, top, "Example Top")
    add_owner(client, tenant_a, bottom, middle, "Example Middle")
    for owned, owner, how in (
        (top, middle, "directly"),
        (top, bottom, "through Example Middle Ltd"),
    ):
        response = client.post(
            f"{API}/companies/{owned}/ownership",
            json={"owner_name": "Loop", "owner_kind": "company", "owner_company_id": owner},
            headers=tenant_a.analyst,
        )
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["path"] == "owner_company_id"
        assert f"is owned by this company ({how})" in error["message"]


def test_a_stake_that_ended_does_not_count(client, tenant_a, db, content):
    candiru = company_id(db, "candiru")
    parent = create_company(client, tenant_a, "Former Owner AG", isins=[SPARE_ISINS[2]])
    add_owner(client, tenant_a, candiru, parent, "Former Owner", end_date="2018-12-31")
    portfolio = create_portfolio(client, tenant_a.investor)
    upload(client, tenant_a.investor, portfolio, f"isin,market_value\n{SPARE_ISINS[2]},50\n")
    holding = risk(client, tenant_a.investor, portfolio)["holdings"][0]
    assert holding["name"] == "Former Owner AG"
    assert [(e["current"], e["ended"]) for e in holding["exposure_via"]] == [(False, True)]
    assert holding["assessed"] is False
    assert "no submitted or final assessment and no evidence" in holding["unassessed_reason"]


def test_a_stake_ended_anywhere_on_its_chain_has_ended_and_a_future_one_has_not_started(
    client, tenant_a, db, content
):
    """Through a company sold in 2019, a stake whose own link has no end date ended too; one
    that starts after today has not started. Neither counts, and the export tells them apart."""
    candiru, paragon = company_id(db, "candiru"), company_id(db, "paragon")
    parent = create_company(client, tenant_a, "Example Holdings AG", isins=[SPARE_ISINS[2]])
    midco = create_company(client, tenant_a, "Example Sold Midco Ltd")
    add_owner(client, tenant_a, midco, parent, "Example Holdings", end_date="2019-06-30")
    add_owner(client, tenant_a, candiru, midco, "Example Sold Midco", start_date="2015-01-01")
    add_owner(client, tenant_a, paragon, parent, "Example Holdings", start_date="2099-01-01")
    portfolio = create_portfolio(client, tenant_a.investor)
    upload(client, tenant_a.investor, portfolio, f"isin,market_value\n{SPARE_ISINS[2]},50\n")
    holding = risk(client, tenant_a.investor, portfolio)["holdings"][0]
    stakes = {e["company_id"]: (e["current"], e["ended"]) for e in holding["exposure_via"]}
    assert stakes == {midco: (False, True), candiru: (False, True), paragon: (False, False)}
    assert holding["assessed"] is False
    exported = client.get(f"{API}/portfolios/{portfolio}/risk.csv", headers=tenant_a.investor)
    candiru_stake = exported.text.split("Candiru")[1].split(";")[0]
    assert "via Example Sold Midco Ltd" in candiru_stake
    assert "ended, no longer counts" in candiru_stake
    paragon_stake = exported.text.split("Paragon")[1].split(";")[0]
    assert "not current, does not count" in paragon_stake


def test_holding_scores_are_the_current_scores(client, tenant_a, db, content):
    portfolio = create_portfolio(client, tenant_a.investor)
    upload(client, tenant_a.investor, portfolio, "name,ticker\nCellebrite,NASDAQ:CLBT\n")
    holding = risk(client, tenant_a.investor, portfolio)["holdings"][0]
    cellebrite = company_id(db, "cellebrite")
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        scores = scoring.current_scores(session, [uuid.UUID(cellebrite)])
    expected = scores[uuid.UUID(holding["scored_company_id"])]
    assert holding["company_id"] == cellebrite
    assert holding["overall"] == expected.overall
    assert holding["band"] == expected.band
    assert holding["confidence"] == expected.confidence
    assert holding["action"] == expected.action
    assert holding["action_reason"] == expected.action_reason
    assert [o["rule_id"] for o in holding["overrides"]] == [o.rule_id for o in expected.overrides]
    assert holding["assessment_id"] is None and holding["assessment_status"] is None


def test_a_draft_does_not_stand_for_the_holding_until_it_is_submitted(
    client, tenant_a, db, content
):
    """A draft is work in progress (its unanswered questions count as gaps): starting one must
    not move the holding (an empty draft scored 60, high, escalate). Until an assessment is
    submitted the holding rests on the evidence, and the least it asks for is engagement."""
    portfolio = create_portfolio(client, tenant_a.investor)
    upload(client, tenant_a.investor, portfolio, "name,ticker\nCellebrite,NASDAQ:CLBT\n")
    before = risk(client, tenant_a.investor, portfolio)["holdings"][0]
    started = client.post(
        f"{API}/assessments",
        json={"company_id": company_id(db, "cellebrite"), "questionnaire_key": "stap-surveillance"},
        headers=tenant_a.investor,
    )
    assert started.status_code == 201, started.text
    holding = risk(client, tenant_a.investor, portfolio)["holdings"][0]
    assert holding["assessment_id"] is None and holding["assessment_status"] is None
    assert (holding["overall"], holding["band"]) == (before["overall"], before["band"])
    assert holding["action"] != "monitor"
    assert "No submitted assessment yet" in holding["action_reason"]
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        session.get(Assessment, uuid.UUID(started.json()["id"])).status = "submitted"
    holding = risk(client, tenant_a.investor, portfolio)["holdings"][0]
    assert holding["assessment_id"] == started.json()["id"]
    assert holding["assessment_status"] == "submitted"


def test_a_holding_whose_only_evidence_is_not_in_effect_yet_stays_unassessed(
    client, tenant_a, content
):
    """Evidence dated tomorrow (accepted, for places ahead of UTC) is not in effect today: a
    score made of nothing in effect would read 0, low, monitor, a clean bill of health."""
    company = create_company(client, tenant_a, "Example Tomorrow Ltd")
    portfolio = create_portfolio(client, tenant_a.investor)
    upload(client, tenant_a.investor, portfolio, "name\nExample Tomorrow Ltd\n")
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    finding = {
        "company_id": company,
        "event_date": tomorrow,
        "type": "forensic_finding",
        "title": "Implant found on a reporter's phone",
        "summary": "A lab found the implant.",
        "severity": 5,
        "company_role": "contributed",
        "affected_groups": ["journalists"],
        "sources": [
            {
                "publisher": "Example Lab",
                "title": "Report",
                "date": tomorrow,
                "url": "https://example.org/report",
                "source_class": "forensic_lab",
            }
        ],
    }
    added = client.post(f"{API}/evidence", json=finding, headers=tenant_a.analyst)
    assert added.status_code == 201, added.text
    view = risk(client, tenant_a.investor, portfolio)
    holding = by_name(view["holdings"], "Example Tomorrow Ltd")
    assert holding["assessed"] is False
    assert (holding["overall"], holding["band"], holding["action"]) == (None, None, None)
    assert "none dated on or before today" in holding["unassessed_reason"]


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(Decimal("0.000001"))


def test_totals_by_number_and_by_value(client, tenant_a, content):
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = (
        "name,isin,ticker,market_value\n"
        "NSO Group,,,250000\n"
        "Cellebrite,,CLBT,100000.50\n"
        "Sandvine,,,75000\n"
        "Nestle,CH0038863350,,1000000\n"
        "Quixotic Widgets,,,25000\n"
    )
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    view = risk(client, tenant_a.investor, portfolio)
    items, totals = view["holdings"], view["totals"]
    values = {h["name"]: Decimal(h["market_value"]) for h in items}
    total = sum(values.values())
    assert Decimal(totals["total_value"]) == total
    assert totals["holdings"] == len(items) == 5

    bands = {b["band"]: b for b in totals["by_band"]}
    assert list(bands) == ["low", "medium", "high", "severe"]
    populated = 0
    for band, figures in bands.items():
        members = [h for h in items if h["band"] == band]
        populated += bool(members)
        value = sum((values[h["name"]] for h in members), Decimal(0))
        assert figures["holdings"] == len(members)
        assert Decimal(figures["value"]) == value
        # Money reads to its 4 places, also where no holding adds any ("0.0000", not "0").
        assert re.fullmatch(r"\d+\.\d{4}", figures["value"]), figures["value"]
        assert Decimal(figures["share_of_value"]) == _share(value, total)
        assert Decimal(figures["share_of_holdings"]) == _share(Decimal(len(members)), Decimal(5))
    assert populated >= 2, "the fixture should spread holdings over several bands"

    groups = {
        "unassessed": [h for h in items if not h["assessed"]],
        "active_override": [h for h in items if h["overrides"]],
        "needing_escalation": [h for h in items if h["action"] in ESCALATION],
    }
    assert {h["name"] for h in groups["unassessed"]} >= {"Quixotic Widgets", "Nestle"}
    for key, members in groups.items():
        value = sum((values[h["name"]] for h in members), Decimal(0))
        assert totals[key]["holdings"] == len(members), key
        assert Decimal(totals[key]["value"]) == value, key
        assert Decimal(totals[key]["share_of_value"]) == _share(value, total), key

    assessed = [h for h in items if h["assessed"]]
    mean = sum(h["overall"] for h in assessed) / len(assessed)
    weighted = sum(Decimal(str(h["overall"])) * values[h["name"]] for h in assessed) / sum(
        values[h["name"]] for h in assessed
    )
    assert totals["mean_score"] == pytest.approx(mean, abs=0.05)
    assert totals["value_weighted_score"] == pytest.approx(float(weighted), abs=0.05)
    expected_top = sorted(assessed, key=lambda h: (-h["overall"], -values[h["name"]]))
    assert [t["name"] for t in totals["top_risks"]] == [h["name"] for h in expected_top]


def test_without_market_values_shares_come_from_weights(client, tenant_a, content):
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = "name,weight\nQuixotic Widgets,60%\nNSO Group,0.1\nUnheard Of Ltd,\n"
    upload(client, tenant_a.investor, portfolio, csv)
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    totals = risk(client, tenant_a.investor, portfolio)["totals"]
    assert Decimal(totals["total_value"]) == 0
    assert totals["share_basis"] == "weights"
    # The file gives no market values: none adds to total_value; one has no weight either.
    assert (totals["holdings_without_value"], totals["holdings_without_share"]) == (3, 1)
    # The file covers 70% of the portfolio: shares are of that, and the view says so.
    assert Decimal(totals["weights_total"]) == Decimal("0.7")
    assert Decimal(totals["unassessed"]["share_of_value"]) == _share(Decimal("0.6"), Decimal("0.7"))
    assert Decimal(totals["unassessed"]["share_of_holdings"]) == _share(Decimal(2), Decimal(3))


def test_a_holding_with_a_weight_and_no_market_value_is_counted_without_value(
    client, tenant_a, content
):
    """The user test: every row weighted, one without a market value. Shares come from the
    weights, and total_value leaves that holding out: 'holdings_without_value' counted the
    holdings without a weight (0) and said nothing of the one missing from the value."""
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = (
        "name,market_value,weight\nNSO Group,40000,0.04\nQuixotic Widgets,,0.045\n"
        "Unheard Of Ltd,10000,0.01\n"
    )
    upload(client, tenant_a.investor, portfolio, csv)
    totals = risk(client, tenant_a.investor, portfolio)["totals"]
    assert totals["share_basis"] == "weights"
    assert Decimal(totals["total_value"]) == 50000
    assert (totals["holdings_without_value"], totals["holdings_without_share"]) == (1, 0)


def test_the_view_names_its_share_of_value_apart_from_the_files_weight(client, tenant_a, content):
    """The user test: a part of a fund loaded with its market values and the custodian's
    weights. The view's `weight` is each holding's share of what was imported (market values
    are the basis), not the file's 3.2%: the file's own weight rides beside it, and the
    exports head the two apart."""
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = "name,market_value,weight\nNSO Group,45000,0.032\nUnheard Of Ltd,15000,0.011\n"
    upload(client, tenant_a.investor, portfolio, csv)
    view = risk(client, tenant_a.investor, portfolio)
    assert view["totals"]["share_basis"] == "market_values"
    nso = by_name(view["holdings"], "NSO Group")
    assert Decimal(nso["weight"]) == Decimal("0.75")
    assert Decimal(nso["file_weight"]) == Decimal("0.032")
    response = client.get(f"{API}/portfolios/{portfolio}/risk.csv", headers=tenant_a.investor)
    header = response.content.decode("utf-8-sig").split("\r\n")[0]
    assert '"share_of_value","file_weight"' in header
    assert '"weight"' not in header
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    risk_weight = schemas["HoldingRisk"]["properties"]["weight"]["description"]
    assert "not the whole fund" in risk_weight and "file_weight" in risk_weight
    assert "whole fund" in schemas["HoldingOut"]["properties"]["weight"]["description"]


def test_zero_and_tiny_decimals_read_in_fixed_point(client, tenant_a, content):
    """The user test: a line of 0.00 weight read back as "0E-10" (stored to 10 places);
    every Decimal the API and the CSV export write is plain fixed-point text."""
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = "name,market_value,weight\nNSO Group,0.00,0\nUnheard Of Ltd,100,0.0000001\n"
    upload(client, tenant_a.investor, portfolio, csv)
    listed = client.get(f"{API}/portfolios/{portfolio}/holdings", headers=tenant_a.investor)
    weights = {h["name"]: h["weight"] for h in listed.json()["items"]}
    assert weights == {"NSO Group": "0.0000000000", "Unheard Of Ltd": "0.0000001000"}
    view = risk(client, tenant_a.investor, portfolio)
    nso = by_name(view["holdings"], "NSO Group")
    assert (nso["market_value"], nso["weight"], nso["file_weight"]) == (
        "0.0000",
        "0.000000",
        "0.0000000000",
    )
    exported = client.get(f"{API}/portfolios/{portfolio}/risk.csv", headers=tenant_a.investor)
    rows = list(DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["market_value"], r["share_of_value"], r["file_weight"]) for r in rows] == [
        ("0.0000", "0.000000", "0.0000000000"),
        ("100.0000", "1.000000", "0.0000001000"),
    ]


def test_with_some_market_values_shares_are_of_the_value_known(client, tenant_a, content):
    """A blank market value must not cost every other holding its share of value."""
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = "name,market_value\nNSO Group,100\nQuixotic Widgets,\nUnheard Of Ltd,300\n"
    upload(client, tenant_a.investor, portfolio, csv)
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    view = risk(client, tenant_a.investor, portfolio)
    totals = view["totals"]
    assert totals["share_basis"] == "known_market_values"
    assert (totals["holdings_without_value"], totals["holdings_without_share"]) == (1, 1)
    assert Decimal(totals["total_value"]) == 400
    weights = {h["name"]: h["weight"] for h in view["holdings"]}
    assert Decimal(weights["NSO Group"]) == _share(Decimal(100), Decimal(400))
    assert weights["Quixotic Widgets"] is None
    nso = by_name(view["holdings"], "NSO Group")
    assert totals["value_weighted_score"] == pytest.approx(nso["overall"], abs=0.05)
    assert Decimal(totals["active_override"]["share_of_value"]) == _share(
        Decimal(100), Decimal(400)
    )
    assert Decimal(totals["unassessed"]["share_of_value"]) == _share(Decimal(300), Decimal(400))


def test_weights_adding_to_more_than_a_whole_portfolio_are_refused(client, tenant_a, content):
    portfolio = create_portfolio(client, tenant_a.investor)
    response = upload(client, tenant_a.investor, portfolio, "name,weight\nA,60%\nB,70%\n")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == "file.weight"
    assert "130.00%" in error["message"]
    assert risk(client, tenant_a.investor, portfolio)["totals"]["holdings"] == 0
    rounded = "name,weight\nA,33.4%\nB,33.4%\nC,33.4%\n"  # 100.2%: rounding, accepted
    assert upload(client, tenant_a.investor, portfolio, rounded).status_code == 200


def test_a_weight_total_error_comes_with_the_rows_that_could_not_be_read(client, tenant_a, content):
    """150% is refused on its line; the other two add up to 110%. The line's error was hidden
    behind a total no weight in the file seemed to add up to."""
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = "Name,Weight\nCellebrite DI Ltd,1.5\nNSO Group,0.8\nSandvine,0.3\n"
    for keep in (False, True):
        response = upload(client, tenant_a.investor, portfolio, csv, keep_good_rows=keep)
        assert response.status_code == 422, response.text
        errors = {error["path"]: error["message"] for error in response.json()["errors"]}
        assert set(errors) == {"file.line.2.weight", "file.weight"}
        assert errors["file.weight"].startswith(
            "the weights of the rows that could be read add up to 110.00%"
        )
    assert risk(client, tenant_a.investor, portfolio)["totals"]["holdings"] == 0


def test_an_empty_portfolio_has_zero_totals(client, tenant_a, content):
    portfolio = create_portfolio(client, tenant_a.investor)
    totals = risk(client, tenant_a.investor, portfolio)["totals"]
    assert totals["holdings"] == 0
    assert totals["mean_score"] is None
    assert totals["value_weighted_score"] is None
    assert totals["top_risks"] == []
