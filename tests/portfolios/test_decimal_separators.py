"""Holdings files written with a decimal comma (12.345,67), as European custodians and
semicolon-delimited CSV files write them, and with a decimal point (12,345.67): each read as
it is written, never a thousand times too large or too small."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook
from portfolio_helpers import create_portfolio, holdings, upload

from hrdd.portfolios.csv_import import parse_holdings
from hrdd.portfolios.numbers import COMMA, POINT, readings


def values(client: Any, headers: dict[str, str], portfolio: str) -> list[tuple[Any, ...]]:
    return [
        (
            h["line"],
            h["name"],
            Decimal(h["market_value"]),
            None if h["weight"] is None else Decimal(h["weight"]),
        )
        for h in holdings(client, headers, portfolio)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,5", {COMMA: "12.5"}),
        ("0,125", {COMMA: "0.125"}),  # a thousands group never starts with 0
        ("1.234,56", {COMMA: "1234.56"}),
        ("1.234.567", {COMMA: "1234567"}),
        ("12.5", {POINT: "12.5"}),
        ("0.125", {POINT: "0.125"}),
        ("1,234,567", {POINT: "1234567"}),
        ("1,234.56", {POINT: "1234.56"}),
        ("1,234", {POINT: "1234", COMMA: "1.234"}),
        ("1.234", {POINT: "1.234", COMMA: "1234"}),
        ("1234", {POINT: "1234", COMMA: "1234"}),
        ("1,2,3", {}),
        ("1E+3", {}),
    ],
)
def test_a_number_reads_one_way_both_ways_or_neither(text: str, expected: dict[str, str]) -> None:
    assert readings(text) == expected


def test_a_european_semicolon_file_reads_its_decimal_commas(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = (
        "name;market_value;weight\n"
        "Acme Robotics;1.234.567,89;12,5%\n"
        "Zeta Foods;12,500;0,125\n"
        "Omega Labs;3.250;0,5\n"
    )
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    source = response.json()["source"]
    assert source["decimal_separator"] == ","
    assert source["decimal_separator_from"] == (
        "line 2's '1.234.567,89' and 3 more read only with it; line 3's '12,500' and 1 more "
        "could be read either way, and are read so"
    )
    # '12,500' and '3.250' read both ways: with the file's comma, 12.5 and 3250.
    assert values(client, tenant_a.investor, portfolio) == [
        (2, "Acme Robotics", Decimal("1234567.89"), Decimal("0.125")),
        (3, "Zeta Foods", Decimal("12.5"), Decimal("0.125")),
        (4, "Omega Labs", Decimal("3250"), Decimal("0.5")),
    ]


def test_a_semicolon_file_whose_numbers_read_both_ways_is_read_with_a_comma(
    client, tenant_a
) -> None:
    # Before, '12,500' in such a file was read as 12500: a thousand times its value.
    parsed = parse_holdings(b"name;market_value\nAcme;12,500\nZeta;7\n", "EUR", 100)
    assert [row.market_value for row in parsed.rows] == [Decimal("12.500"), Decimal("7")]
    assert parsed.decimal_separator == COMMA
    assert parsed.decimal_separator_from == (
        "no number in the columns read reads only one way, and a semicolon-delimited file is read "
        "with a decimal comma; line 2's '12,500' could be read either way"
    )
    comma_delimited = parse_holdings(b'name,market_value\nAcme,"12,500"\n', "EUR", 100)
    assert [row.market_value for row in comma_delimited.rows] == [Decimal("12500")]
    assert comma_delimited.decimal_separator == POINT


def test_a_decimal_point_file_keeps_its_thousands_commas(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = 'name,market_value,weight\nAcme,"1,234",0.25\nZeta,"2,500,000.5",5%\n'
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    assert response.json()["source"]["decimal_separator"] == "."
    assert values(client, tenant_a.investor, portfolio) == [
        (2, "Acme", Decimal("1234"), Decimal("0.25")),
        (3, "Zeta", Decimal("2500000.5"), Decimal("0.05")),
    ]


def test_a_number_written_the_other_way_is_a_bad_cell_and_nothing_is_saved(
    client, tenant_a
) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    first = upload(client, tenant_a.investor, portfolio, "name,market_value\nKept,10\n")
    assert first.status_code == 200, first.text
    csv = 'name,market_value\nAcme,12.5\nZeta,"7,25"\nOmega,1.5\n'
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == "file.line.3.market_value"
    assert error["message"] == (
        "'7,25' reads only with a decimal comma, but the file's numbers are read with a decimal "
        "point (line 2's '12.5' and 1 more read only with it); write every number of the file "
        "one way, or give decimal_separator with the upload"
    )
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Kept"]


def test_the_separator_given_with_the_upload_decides(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = 'name,market_value\nAcme,"1,234"\nZeta,"12.5"\n'
    given = upload(client, tenant_a.investor, portfolio, csv, decimal_separator=",")
    assert given.status_code == 422
    [error] = given.json()["errors"]
    assert error["path"] == "file.line.3.market_value"
    assert error["message"].endswith(
        "read with a decimal comma (the decimal_separator given with the upload); write it with "
        "a decimal comma"
    )
    fixed = upload(
        client,
        tenant_a.investor,
        portfolio,
        'name,market_value\nAcme,"1,234"\n',
        decimal_separator=",",
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["source"]["decimal_separator_from"] == (
        "the decimal_separator given with the upload"
    )
    assert values(client, tenant_a.investor, portfolio) == [(2, "Acme", Decimal("1.234"), None)]


def test_an_unknown_separator_is_refused_at_the_query(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    response = upload(client, tenant_a.investor, portfolio, "name\nAcme\n", decimal_separator=";")
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["query.decimal_separator"]


def test_a_workbooks_number_cells_need_no_separator(client, tenant_a) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "market_value"])
    sheet.append(["Acme", 1234.5])  # a number cell
    sheet.append(["Zeta", "12,5"])  # a number typed as text, with a decimal comma
    buffer = io.BytesIO()
    workbook.save(buffer)
    portfolio = create_portfolio(client, tenant_a.investor)
    response = upload(client, tenant_a.investor, portfolio, buffer.getvalue())
    assert response.status_code == 200, response.text
    assert response.json()["source"]["decimal_separator"] == ","
    assert values(client, tenant_a.investor, portfolio) == [
        (2, "Acme", Decimal("1234.5"), None),
        (3, "Zeta", Decimal("12.5"), None),
    ]
