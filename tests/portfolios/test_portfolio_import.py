"""Holdings CSV import: encodings, headers, bad rows, all or nothing, resolution."""

from __future__ import annotations

from decimal import Decimal

import pytest
from portfolio_helpers import (
    API,
    SPARE_ISINS,
    by_name,
    company_id,
    create_portfolio,
    holdings,
    resolve,
    risk,
    upload,
)

from hrdd.errors import Invalid, PayloadTooLarge
from hrdd.portfolios.csv_import import parse_holdings

NESTLE_ISIN = "CH0038863350"


@pytest.fixture
def portfolio(client, tenant_a):
    return create_portfolio(client, tenant_a.investor)


# What a file's numbers were read with when none of them reads only one way.
NO_NUMBER_DECIDES = (
    "no number in the columns read reads only one way, and a file is read with a decimal point "
    "unless "
    "it says otherwise"
)


def error_paths(response) -> set[str]:
    return {error["path"] for error in response.json()["errors"]}


def test_bom_and_case_insensitive_headers_resolve_by_identifier(
    client, tenant_a, db, content, portfolio
):
    csv = (
        "\ufeffNAME;Isin;TICKER;Market Value;currency;Weight\n"
        f"Nestle;{NESTLE_ISIN};;1000000;eur;\n"
        "Cellebrite;;CLBT;250000;;\n"
        "Unilever;;LSE:ULVR;250000;EUR;\n"
    )
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 3
    assert response.json()["resolved_by_identifier"] == 3
    items = holdings(client, tenant_a.investor, portfolio)
    assert [h["line"] for h in items] == [2, 3, 4]
    resolved = {h["name"]: h["company_id"] for h in items}
    assert resolved == {
        "Nestle": company_id(db, "nestle"),
        "Cellebrite": company_id(db, "cellebrite"),
        "Unilever": company_id(db, "unilever"),
    }
    assert all(h["resolution"] == "identifier" for h in items)
    assert by_name(items, "Nestle")["market_value"] == "1000000.0000"
    assert by_name(items, "Nestle")["currency"] == "EUR"
    read = client.get(f"{API}/portfolios/{portfolio}", headers=tenant_a.investor).json()
    assert read["holdings_count"] == 3
    assert read["holdings_imported_by"] == "Aurora Pension Fund investor"


def test_other_encoding_is_refused_naming_the_line(client, tenant_a, portfolio):
    csv = "name,isin\nAcme,\nSoci\u00e9t\u00e9 G\u00e9n\u00e9rale,\n".encode("cp1252")
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 422
    body = response.json()
    assert "UTF-8" in body["detail"]
    assert error_paths(response) == {"file.line.3"}
    assert holdings(client, tenant_a.investor, portfolio) == []


def test_utf16_is_refused(client, tenant_a, portfolio):
    response = upload(client, tenant_a.investor, portfolio, "name\nAcme\n".encode("utf-16"))
    assert response.status_code == 422
    assert "UTF-16" in response.json()["detail"]


def test_bad_isin_row_rejects_the_whole_file_and_keeps_the_old_holdings(
    client, tenant_a, content, portfolio
):
    first = upload(client, tenant_a.investor, portfolio, f"name,isin\nNestle,{NESTLE_ISIN}\n")
    assert first.status_code == 200, first.text
    bad = f"name,isin,market_value\nApple,{SPARE_ISINS[0]},10\nBroken,US0378331006,20\n"
    response = upload(client, tenant_a.investor, portfolio, bad)
    assert response.status_code == 422
    problems = response.json()["errors"]
    assert [p["path"] for p in problems] == ["file.line.3.isin"]
    assert "US0378331006" in problems[0]["message"]
    assert "ISIN" in problems[0]["message"]
    assert "line 3" in response.json()["detail"]
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Nestle"]


def test_every_bad_cell_of_every_row_is_reported(client, tenant_a, portfolio):
    csv = (
        "name,isin,lei,market_value,currency,weight\n"
        "Good,,,100,EUR,5%\n"
        "Two problems,XX123,,-5,,\n"
        ",,,100,,\n"
        "Wrong money,,,100,USD,1.5\n"
        "Bad LEI,,5493001KJTIIGC8Y1R13,abc,,\n"
        "Unknown money,,,100,XXQ,\n"
    )
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 422
    assert error_paths(response) == {
        "file.line.3.isin",
        "file.line.3.market_value",
        "file.line.4",
        "file.line.5.currency",
        "file.line.5.weight",
        "file.line.6.lei",
        "file.line.6.market_value",
        "file.line.7.currency",
    }
    messages = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert "base currency EUR" in messages["file.line.5.currency"]
    assert "not an ISO 4217 currency code" in messages["file.line.7.currency"]
    assert "negative" in messages["file.line.3.market_value"]


def test_keep_good_rows_imports_the_rest_and_lists_the_bad(client, tenant_a, portfolio):
    csv = "name,isin,weight\nAcme Robotics,,0.5\nBroken,US0378331006,0.25\nZeta Foods,,25%\n"
    response = upload(client, tenant_a.investor, portfolio, csv, keep_good_rows=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["imported"] == 2
    assert [p["path"] for p in body["rejected"]] == ["file.line.3.isin"]
    items = holdings(client, tenant_a.investor, portfolio)
    assert [(h["name"], h["weight"]) for h in items] == [
        ("Acme Robotics", "0.5000000000"),
        ("Zeta Foods", "0.2500000000"),
    ]


def test_a_file_of_only_bad_rows_imports_nothing_even_when_keeping_good_rows(
    client, tenant_a, portfolio
):
    response = upload(
        client, tenant_a.investor, portfolio, "name,isin\nX,US0378331006\n", keep_good_rows=True
    )
    assert response.status_code == 422
    assert error_paths(response) == {"file.line.2.isin"}


def test_header_must_name_a_holding_column(client, tenant_a, portfolio):
    response = upload(client, tenant_a.investor, portfolio, "market_value,weight\n10,0.1\n")
    assert response.status_code == 422
    assert error_paths(response) == {"file.line.1"}
    assert "name, isin, lei, ticker" in response.json()["errors"][0]["message"]
    assert "none of rows 1 to 2 names" in response.json()["errors"][0]["message"]


def test_unknown_columns_are_ignored_and_reported_and_quoted_names_kept_whole(
    client, tenant_a, portfolio
):
    csv = 'Name,Sector,ISIN\n"Acme, ""Robotics""\nHoldings",Industrials,\n'
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    assert response.json()["ignored_columns"] == ["Sector"]
    items = holdings(client, tenant_a.investor, portfolio)
    assert [(h["line"], h["name"]) for h in items] == [(2, 'Acme, "Robotics" Holdings')]


def test_a_nul_byte_refuses_the_whole_file_naming_the_cell(client, tenant_a, portfolio):
    """As the screening import does: a NUL means this is no text file, so even
    keep_good_rows imports nothing."""
    first = upload(client, tenant_a.investor, portfolio, "name\nAcme Robotics\n")
    assert first.status_code == 200, first.text
    csv = b"name,isin\nZeta Foods,\nExample\x00Vendor,\n"
    for keep_good_rows in (False, True):
        response = upload(client, tenant_a.investor, portfolio, csv, keep_good_rows=keep_good_rows)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert error_paths(response) == {"file.line.3.name"}
        assert "NUL" in response.json()["errors"][0]["message"]
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Acme Robotics"]


def test_control_characters_in_a_cell_make_it_a_bad_cell(client, tenant_a, portfolio):
    first = upload(client, tenant_a.investor, portfolio, "name\nAcme Robotics\n")
    assert first.status_code == 200, first.text
    # Tabs and line breaks inside a quoted cell are white space, not control characters.
    csv = 'name,ticker\n"Zeta\tFoods\r\nHoldings",\nBell\x07 Labs,\nOmega,CL\x1bBT\n'
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 422, response.text
    assert error_paths(response) == {"file.line.4.name", "file.line.5.ticker"}
    messages = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert "U+0007" in messages["file.line.4.name"]
    assert "U+001B" in messages["file.line.5.ticker"]
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Acme Robotics"]

    kept = upload(client, tenant_a.investor, portfolio, csv, keep_good_rows=True)
    assert kept.status_code == 200, kept.text
    assert {p["path"] for p in kept.json()["rejected"]} == {
        "file.line.4.name",
        "file.line.5.ticker",
    }
    names = [h["name"] for h in holdings(client, tenant_a.investor, portfolio)]
    assert names == ["Zeta Foods Holdings"]


def test_row_limit_is_enforced():
    rows = "".join(f"Company {n}\n" for n in range(4))
    with pytest.raises(PayloadTooLarge):
        parse_holdings(f"name\n{rows}".encode(), "EUR", max_rows=3)
    assert len(parse_holdings(f"name\n{rows}".encode(), "EUR", max_rows=4).rows) == 4


def test_unresolved_holdings_are_kept_as_unassessed_exposure(client, tenant_a, content, portfolio):
    csv = f"name,isin,market_value\nNestle,{NESTLE_ISIN},600\nQuixotic Widgets,,400\n"
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.json()["unresolved"] == 1
    unknown = by_name(holdings(client, tenant_a.investor, portfolio), "Quixotic Widgets")
    assert unknown["resolution"] == "unresolved"
    assert unknown["company_id"] is None
    view = risk(client, tenant_a.investor, portfolio)
    row = by_name(view["holdings"], "Quixotic Widgets")
    assert row["assessed"] is False
    assert "not matched" in row["unassessed_reason"]
    unassessed = view["totals"]["unassessed"]
    assert unassessed["holdings"] >= 1
    assert float(unassessed["value"]) >= 400


def test_name_candidates_are_confirmed_and_remembered_on_reimport(
    client, tenant_a, db, content, portfolio
):
    nso = company_id(db, "nso-group")
    csv = "name,market_value\nNSO Group,100\n"
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.json()["with_candidates"] == 1
    holding = holdings(client, tenant_a.investor, portfolio)[0]
    assert holding["resolution"] == "candidates"
    assert holding["company_id"] is None
    assert nso in [c["company_id"] for c in holding["candidates"]]
    waiting = risk(client, tenant_a.investor, portfolio)["holdings"][0]
    assert not waiting["assessed"]
    # The reason names the companies it may be: one may be a vendor rated severe.
    assert waiting["unassessed_reason"].startswith("its name resembles ")
    assert "NSO Group Technologies Limited" in waiting["unassessed_reason"]

    confirmed = resolve(client, tenant_a.investor, portfolio, holding["id"], nso)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["resolution"] == "name_confirmed"
    assert confirmed.json()["company_id"] == nso
    assert confirmed.json()["resolved_by_name"]
    assert risk(client, tenant_a.investor, portfolio)["holdings"][0]["scored_company_id"] == nso

    again = upload(client, tenant_a.investor, portfolio, csv)
    assert again.json()["confirmed_before"] == 1
    assert again.json()["replaced"] == 1
    assert holdings(client, tenant_a.investor, portfolio)[0]["company_id"] == nso


def _confirm(client, tenant, portfolio, name: str, company: str) -> None:
    holding = by_name(holdings(client, tenant.investor, portfolio), name)
    assert company in [c["company_id"] for c in holding["candidates"]]
    assert resolve(client, tenant.investor, portfolio, holding["id"], company).status_code == 200


def test_a_confirmation_carries_over_to_the_same_name_spelled_differently(
    client, tenant_a, db, content, portfolio
):
    """The user test: 'Sandvine Inc.' confirmed, the next file says 'Sandvine Incorporated'
    (one legal name, spelled out): the holding kept its company. A name only alike
    ('Sandvine GmbH', another legal form) is no carry-over: it may be another entity."""
    sandvine = company_id(db, "sandvine")
    upload(client, tenant_a.investor, portfolio, "name,market_value\nSandvine Inc.,100\n")
    _confirm(client, tenant_a, portfolio, "Sandvine Inc.", sandvine)

    csv = 'name,market_value\n"SANDVINE, Incorporated",100\nSandvine GmbH,5\n'
    again = upload(client, tenant_a.investor, portfolio, csv)
    assert again.status_code == 200, again.text
    assert (again.json()["confirmed_before"], again.json()["lost_matches"]) == (1, [])
    now = holdings(client, tenant_a.investor, portfolio)
    assert [(h["name"], h["company_id"], h["resolution"]) for h in now] == [
        ("SANDVINE, Incorporated", sandvine, "name_confirmed"),
        ("Sandvine GmbH", None, "candidates"),
    ]


def test_an_import_lists_the_matches_it_loses(client, tenant_a, db, content, portfolio):
    """A holding matched before (confirmed by someone, or by its identifier) whose company no
    holding of the new file is matched to is listed, with the lines offering the company as
    a candidate: the investor sees the holding dropped to unassessed, and where to confirm
    it again (dry_run says so before anything is replaced)."""
    sandvine, nestle = company_id(db, "sandvine"), company_id(db, "nestle")
    first = f"name,isin,market_value\nSandvine Inc.,,100\nNestle,{NESTLE_ISIN},50\n"
    upload(client, tenant_a.investor, portfolio, first)
    _confirm(client, tenant_a, portfolio, "Sandvine Inc.", sandvine)
    before = holdings(client, tenant_a.investor, portfolio)
    confirmed, by_isin = by_name(before, "Sandvine Inc."), by_name(before, "Nestle")

    second = "name,isin,market_value\nQuixotic Widgets,,7\nSandvine,,100\n"
    for dry_run in (True, False):
        result = upload(client, tenant_a.investor, portfolio, second, dry_run=dry_run)
        assert result.status_code == 200, result.text
        assert result.json()["lost_matches_count"] == 2
        assert result.json()["lost_matches"] == [
            {
                "company_id": sandvine,
                "company_name": "Sandvine Incorporated",
                "line": 2,
                "holding_name": "Sandvine Inc.",
                "resolution": "name_confirmed",
                "resolved_by_name": confirmed["resolved_by_name"],
                "candidate_lines": [3],
            },
            {
                "company_id": nestle,
                "company_name": by_isin["company_name"],
                "line": 3,
                "holding_name": "Nestle",
                "resolution": "identifier",
                "resolved_by_name": None,
                "candidate_lines": [],
            },
        ]
    again = upload(client, tenant_a.investor, portfolio, second)
    assert (again.json()["lost_matches"], again.json()["lost_matches_count"]) == ([], 0)


def test_resolve_refuses_an_unknown_company_and_can_mark_none(client, tenant_a, portfolio):
    upload(client, tenant_a.investor, portfolio, "name\nAcme Robotics\n")
    holding = holdings(client, tenant_a.investor, portfolio)[0]
    unknown = resolve(
        client, tenant_a.investor, portfolio, holding["id"], "00000000-0000-4000-8000-000000000000"
    )
    assert unknown.status_code == 422
    assert {e["path"] for e in unknown.json()["errors"]} == {"company_id"}
    none = resolve(client, tenant_a.investor, portfolio, holding["id"], None)
    assert none.status_code == 200
    assert none.json()["resolution"] == "unresolved"


def test_another_organisation_sees_nothing(client, tenant_a, tenant_b, portfolio):
    upload(client, tenant_a.investor, portfolio, "name\nAcme Robotics\n")
    holding = holdings(client, tenant_a.investor, portfolio)[0]
    other = tenant_b.admin
    base = f"{API}/portfolios/{portfolio}"
    assert client.get(base, headers=other).status_code == 404
    assert client.get(f"{base}/holdings", headers=other).status_code == 404
    assert client.get(f"{base}/risk", headers=other).status_code == 404
    assert client.get(f"{base}/risk.csv", headers=other).status_code == 404
    assert upload(client, other, portfolio, "name\nX\n").status_code == 404
    assert resolve(client, other, portfolio, holding["id"], None).status_code == 404
    listed = client.get(f"{API}/portfolios", headers=other).json()["items"]
    assert portfolio not in [p["id"] for p in listed]
    assert holdings(client, tenant_a.investor, portfolio)[0]["resolution"] == "unresolved"


def test_portfolio_create_validates_and_lists(client, tenant_a):
    bad = client.post(
        f"{API}/portfolios", json={"name": "", "base_currency": "EURO"}, headers=tenant_a.investor
    )
    assert bad.status_code == 422
    assert {e["path"] for e in bad.json()["errors"]} == {"name", "base_currency"}
    # Three letters are not enough: reports print the code beside every amount.
    for code in ("XXQ", "XXX"):  # not a code; the code for "no currency"
        unknown = client.post(
            f"{API}/portfolios",
            json={"name": "Fund Q", "base_currency": code},
            headers=tenant_a.investor,
        )
        assert unknown.status_code == 422, code
        [error] = unknown.json()["errors"]
        assert error["path"] == "base_currency" and "ISO 4217" in error["message"]
    created = client.post(
        f"{API}/portfolios",
        json={"name": "Fund A", "base_currency": "usd"},
        headers=tenant_a.investor,
    )
    assert created.status_code == 201
    assert created.headers["Location"] == f"{API}/portfolios/{created.json()['id']}"
    assert created.json()["base_currency"] == "USD"
    listed = client.get(f"{API}/portfolios", headers=tenant_a.investor).json()["items"]
    assert [p["name"] for p in listed] == ["Fund A"]


def test_custodian_headers_name_the_holding(client, tenant_a, portfolio):
    csv = (
        "Security Name,ISIN,LEI,Ticker,Market Value,Sector\n"
        "Acme Robotics,,,,100,Industrials\n"
        "Zeta Foods,,,,200,Staples\n"
    )
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    assert response.json()["ignored_columns"] == ["Sector"]
    items = holdings(client, tenant_a.investor, portfolio)
    assert [h["name"] for h in items] == ["Acme Robotics", "Zeta Foods"]

    # Both an issuer's name and a security description: the issuer's is read.
    csv = "Security Description,Issuer Name\nNESTLE SA-REG,Nestle SA\n"
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    assert response.json()["ignored_columns"] == ["Security Description"]
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Nestle SA"]

    twice = upload(client, tenant_a.investor, portfolio, "Issuer Name,issuer-name\nA,B\n")
    assert twice.status_code == 422
    assert error_paths(twice) == {"file.line.1"}


def test_rows_naming_no_holding_name_the_columns_not_recognised(client, tenant_a, portfolio):
    csv = "Sec Nm,ISIN,Market Value\nAcme Robotics,,100\nZeta Foods,,200\n"
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["path"] for e in errors] == ["file.line.1", "file.line.2", "file.line.3"]
    assert "'Sec Nm'" in errors[0]["message"]
    assert "Security Name" in errors[0]["message"]
    assert "2 row(s)" in errors[0]["message"]

    header_only = upload(client, tenant_a.investor, portfolio, "Sec Nm,Market Value\nAcme,1\n")
    assert header_only.status_code == 422
    [error] = header_only.json()["errors"]
    assert error["path"] == "file.line.1"
    assert "'Sec Nm'" in error["message"] and "Security Name" in error["message"]


def test_rows_of_one_security_are_merged_into_one_holding(client, tenant_a, content, portfolio):
    """A custodian file lists a security once per account: one holding, values added up."""
    csv = (
        "name,isin,lei,market_value,weight\n"
        f"Nestle SA,{NESTLE_ISIN},,100,10%\n"
        "Acme Robotics,,5493001KJTIIGC8Y1R12,50,5%\n"
        f"Nestlé S.A.,{NESTLE_ISIN},,200.5,20%\n"
        "Acme Robotics Inc,,5493001KJTIIGC8Y1R12,25,2.5%\n"
    )
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["imported"] == 2
    assert body["resolved_by_identifier"] == 1
    assert [m["path"] for m in body["merged"]] == ["file.line.4", "file.line.5"]
    assert "line 2" in body["merged"][0]["message"]
    assert NESTLE_ISIN in body["merged"][0]["message"]
    items = holdings(client, tenant_a.investor, portfolio)
    assert [(h["line"], h["name"], h["market_value"], h["weight"]) for h in items] == [
        (2, "Nestle SA", "300.5000", "0.3000000000"),
        (3, "Acme Robotics", "75.0000", "0.0750000000"),
    ]
    totals = risk(client, tenant_a.investor, portfolio)["totals"]
    assert (totals["holdings"], totals["total_value"]) == (2, "375.5000")


def test_rows_of_one_security_that_disagree_are_bad_rows(client, tenant_a, portfolio):
    csv = (
        "name,isin,lei,market_value\n"
        f"Nestle SA,{NESTLE_ISIN},5493001KJTIIGC8Y1R12,100\n"
        f"Nestle SA,{NESTLE_ISIN},529900T8BM49AURSDO55,100\n"
        f"Nestle SA,{NESTLE_ISIN},,\n"
        "Zeta Foods,,,10\n"
    )
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 422
    messages = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert set(messages) == {"file.line.3.lei", "file.line.4.market_value"}
    assert "line 2" in messages["file.line.3.lei"]
    assert "line 2" in messages["file.line.4.market_value"]
    assert holdings(client, tenant_a.investor, portfolio) == []

    kept = upload(client, tenant_a.investor, portfolio, csv, keep_good_rows=True)
    assert kept.status_code == 200, kept.text
    assert kept.json()["merged"] == []
    items = holdings(client, tenant_a.investor, portfolio)
    assert [(h["line"], h["market_value"]) for h in items] == [(2, "100.0000"), (5, "10.0000")]


def test_a_custodians_total_rows_are_left_out_and_reported(client, tenant_a, portfolio):
    """Counted as a holding, a Total row doubled the portfolio's value (the user test). Only
    total names with no identifier are left out: a company named Total has an ISIN."""
    csv_text = (
        "name,isin,market_value,weight\n"
        f"Apple Inc.,{SPARE_ISINS[0]},600,0.6\n"
        "Acme Robotics,,400,0.4\n"
        "Subtotal:,,1000,1\n"
        f"Total,{SPARE_ISINS[1]},50,\n"
        "GRAND TOTAL,,1000,1\n"
    )
    # Counted, the totals' weights would add up to 300% and refuse the file.
    response = upload(client, tenant_a.investor, portfolio, csv_text)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["imported"] == 3
    assert [item["path"] for item in result["totals"]] == ["file.line.4.name", "file.line.6.name"]
    assert "'Subtotal:'" in result["totals"][0]["message"]
    names = [h["name"] for h in holdings(client, tenant_a.investor, portfolio)]
    assert names == ["Apple Inc.", "Acme Robotics", "Total"]


def test_a_title_block_above_the_header_is_left_out_and_lines_keep_their_numbers(
    client, tenant_a, portfolio
):
    """Custodian exports open with a title block: it is neither holdings nor problems, and a
    problem names the line as the file numbers it."""
    first = upload(client, tenant_a.investor, portfolio, "name\nAcme Robotics\n")
    assert first.status_code == 200, first.text
    csv = (
        "Holdings as of 30 Sep 2026\n"
        "Account: 12345\n"
        "\n"
        "Name,ISIN,Market Value\n"
        f"Apple Inc.,{SPARE_ISINS[0]},600\n"
        "Broken,US0378331006,20\n"
        "Zeta Foods,,400\n"
    )
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 422
    assert error_paths(response) == {"file.line.6.isin"}
    assert "first at line 6" in response.json()["detail"]
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Acme Robotics"]

    kept = upload(client, tenant_a.investor, portfolio, csv, keep_good_rows=True)
    assert kept.status_code == 200, kept.text
    assert [p["path"] for p in kept.json()["rejected"]] == ["file.line.6.isin"]
    assert kept.json()["source"] == {
        "format": "csv",
        "sheet": None,
        "other_sheets": [],
        "header_row": 4,
        "preamble_rows": 2,
        "decimal_separator": ".",
        "decimal_separator_from": NO_NUMBER_DECIDES,
    }
    items = holdings(client, tenant_a.investor, portfolio)
    assert [(h["line"], h["name"]) for h in items] == [(5, "Apple Inc."), (7, "Zeta Foods")]

    # The note on rows naming no holding is at the header's line, not line 1.
    unnamed = upload(client, tenant_a.investor, portfolio, "Fund A\nSec Nm,ISIN\nAcme,\n")
    assert unnamed.status_code == 422
    assert [e["path"] for e in unnamed.json()["errors"]] == ["file.line.2", "file.line.3"]
    assert "'Sec Nm'" in unnamed.json()["errors"][0]["message"]


def test_the_header_is_looked_for_in_the_first_20_rows():
    def header_at(row: int) -> bytes:
        title = "".join(f"Statement line {n}\n" for n in range(1, row))
        return f"{title}name,isin\nAcme Robotics,\n".encode()

    read = parse_holdings(header_at(20), "EUR", 10)
    assert (read.header_line, read.preamble_rows) == (20, 19)
    assert [(r.line, r.name) for r in read.rows] == [(21, "Acme Robotics")]

    with pytest.raises(Invalid) as refused:
        parse_holdings(header_at(21), "EUR", 10)
    [error] = refused.value.errors
    assert error.path == "file.line.1"
    assert error.message.startswith("no header row found: none of rows 1 to 20 names any of")
    assert "within its first 20 rows" in error.message

    with pytest.raises(Invalid) as blank:
        parse_holdings(b"\n\n\n", "EUR", 10)
    assert blank.value.errors[0].message == "the file has no header row (nothing in rows 1 to 3)"


def test_a_title_line_with_delimiters_does_not_decide_the_delimiter():
    """The header row found decides it: a title's semicolons or commas do not."""
    semicolon_title = (
        "Custodian statement;Account 12345;EUR\n\nName,ISIN,Market Value\nAcme Robotics,,1234.5\n"
    )
    read = parse_holdings(semicolon_title.encode(), "EUR", 10)
    assert [(r.line, r.name, r.market_value) for r in read.rows] == [
        (4, "Acme Robotics", Decimal("1234.5"))
    ]
    comma_title = (
        "Holdings as of 30 Sep 2026, Fund A, Account 12345\n"
        "Name;ISIN;Market Value\n"
        f"Nestle, S.A.;{NESTLE_ISIN};100\n"
    )
    read = parse_holdings(comma_title.encode(), "EUR", 10)
    assert [(r.line, r.name, r.isin) for r in read.rows] == [(3, "Nestle, S.A.", NESTLE_ISIN)]
    # Excel saves a title cell above a wider table padded with delimiters.
    padded_title = "Holdings as of 30 Sep 2026;;;\nName;Weight\nAcme Robotics;5%\n"
    read = parse_holdings(padded_title.encode(), "EUR", 10)
    assert [(r.line, r.weight) for r in read.rows] == [(3, Decimal("0.05"))]
    assert read.ignored_columns == []


def test_a_key_value_title_line_naming_a_column_is_not_the_header():
    """Custodian exports open with lines such as "Name,Pension Fund A": it names the name
    column, yet a table's header names more of the columns read, so that one is taken."""
    statement = (
        "Name,Pension Fund A\n"
        "Date,2026-09-30\n"
        "\n"
        "Name,ISIN,Market Value\n"
        f"Nestle S.A.,{NESTLE_ISIN},100\n"
        "Acme Robotics,,50\n"
    )
    read = parse_holdings(statement.encode(), "EUR", 10)
    assert (read.header_line, read.preamble_rows) == (4, 2)
    assert [(r.line, r.name, r.isin) for r in read.rows] == [
        (5, "Nestle S.A.", NESTLE_ISIN),
        (6, "Acme Robotics", None),
    ]
    # A header naming one column only is still found when nothing names more.
    read = parse_holdings(b"Statement for Fund A\nISIN\n" + NESTLE_ISIN.encode() + b"\n", "EUR", 10)
    assert [(r.line, r.isin) for r in read.rows] == [(3, NESTLE_ISIN)]
    # The reviewer: an ISIN-only header below the key-value line was passed over for it.
    under_a_name_line = f"Name,Pension Fund A\nISIN\n{NESTLE_ISIN}\n"
    read = parse_holdings(under_a_name_line.encode(), "EUR", 10)
    assert (read.header_line, [(r.line, r.isin) for r in read.rows]) == (2, [(3, NESTLE_ISIN)])


def test_a_real_header_is_never_passed_over_for_a_later_one():
    """The reviewer: a header naming one column read (Security Name, with Shares and Price)
    was passed over for a second section's "Name,Weight", and the three holdings above it
    became a title block, replaced without a word."""
    two_sections = (
        "Security Name,Shares,Price\n"
        "Apple,10,190\n"
        "Microsoft,5,410\n"
        "Nvidia,3,120\n"
        "\n"
        "Other positions\n"
        "Name,Weight\n"
        "Acme Robotics,5%\n"
    )
    read = parse_holdings(two_sections.encode(), "EUR", 10)
    assert (read.header_line, read.preamble_rows) == (1, 0)
    assert [r.name for r in read.rows][:3] == ["Apple", "Microsoft", "Nvidia"]
    # The second header is no holding named "Name" (the second user test): a bad row that
    # says what it is, so the whole file is refused unless good rows are kept.
    assert "Name" not in [r.name for r in read.rows]
    [second] = [p for p in read.problems if p.path == "file.line.7"]
    assert "looks like another header (Name, Weight) below the header at row 1" in second.message
    # Nor are the second table's rows read under the first table's columns (Acme Robotics's
    # weight as a number of shares): each is a bad row saying so.
    assert [r.line for r in read.rows] == [2, 3, 4, 6]
    [below] = [p for p in read.problems if p.path == "file.line.8"]
    assert below.message == (
        "the row is below another table's header (row 7), so it would be read under the "
        "columns of the header at row 1: import each table apart"
    )


def test_the_openapi_documents_what_of_the_file_was_read(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    result = schemas["hrdd__portfolios__schemas__ImportResult"]
    assert result["properties"]["source"]["$ref"] == "#/components/schemas/ImportSource"
    assert "source" in result["required"]
    fields = schemas["ImportSource"]["properties"]
    assert set(fields) == {
        *("format", "sheet", "header_row", "preamble_rows"),
        *("decimal_separator", "decimal_separator_from", "other_sheets"),
    }
    assert all(field["description"] for field in fields.values())
    assert "first 20 rows" in fields["header_row"]["description"]
