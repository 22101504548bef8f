"""Holdings files as custodians and fund administrators write them (the third user test): total
rows in several languages, headings with units, a workbook whose positions are not the sheet
read first, and a dry run to check what would be read before the holdings are replaced."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook
from portfolio_helpers import SPARE_ISINS, create_portfolio, holdings, upload

from hrdd.portfolios.csv_import import parse_holdings
from hrdd.portfolios.headers import PERCENT, Heading, read_heading


def values(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            h["name"],
            None if h["market_value"] is None else Decimal(h["market_value"]),
            None if h["weight"] is None else Decimal(h["weight"]),
        )
        for h in items
    ]


@pytest.mark.parametrize(
    "name",
    [
        *("Total EUR", "Total in EUR", "Total (EUR)", "Total Equities", "Total Bonds"),
        *("Subtotal Equities", "Sous-total", "Zwischensumme", "Summe", "Summe Aktien"),
        *("Gesamt", "Total général", "Totaal", "Totale", "Grand total:", "Portfolio total"),
    ],
)
def test_total_rows_in_several_languages_are_left_out(name: str) -> None:
    csv = f"name;isin;market_value\nNestlé S.A.;CH0038863350;1.000,00\n{name};;1.000,00\n"
    parsed = parse_holdings(csv.encode(), "EUR", 10)
    assert [row.name for row in parsed.rows] == ["Nestlé S.A."]
    assert [total.path for total in parsed.totals] == ["file.line.3.name"]


@pytest.mark.parametrize(
    "name",
    [
        *("Total SE", "Total S.A.", "Sum Holdings Ltd", "TotalEnergies"),
        # The reviewer: names with no legal form after the total word are companies too.
        *("Total System Services", "Total Produce", "Sum Up Holding"),
    ],
)
def test_a_company_named_like_a_total_is_a_holding(name: str) -> None:
    parsed = parse_holdings(f"name\n{name}\n".encode(), "EUR", 10)
    assert [row.name for row in parsed.rows] == [name]
    assert parsed.totals == []


def test_custodian_total_rows_no_longer_inflate_the_portfolio(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = (
        "Name;ISIN;Market Value\n"
        "Nestlé S.A.;CH0038863350;1.000.000,00\n"
        "Unilever PLC;GB00B10RZP78;500.000,00\n"
        "Subtotal Equities;;1.500.000,00\n"
        "Summe;;1.500.000,00\n"
        "Total général;;1.500.000,00\n"
    )
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 2
    assert len(response.json()["totals"]) == 3
    stored = values(holdings(client, tenant_a.investor, portfolio))
    assert sum(value for _, value, _ in stored) == Decimal("1500000")


@pytest.mark.parametrize(
    "heading",
    [
        *("Equities", "EQUITIES:", "Fixed Income", "Cash & Equivalents", "Bonds EUR"),
        *("Aktien", "Obligations", "Liquidität", "Renta Fija y Variable", "Other Investments"),
    ],
)
def test_asset_class_headings_are_left_out(heading: str) -> None:
    csv = (
        "name;isin;market_value\n"
        f"{heading};;\n"
        "Nestlé S.A.;CH0038863350;1.000,00\n"
        "Unilever PLC;GB00B10RZP78;500,00\n"
    )
    parsed = parse_holdings(csv.encode(), "EUR", 10)
    assert [row.name for row in parsed.rows] == ["Nestlé S.A.", "Unilever PLC"]
    assert [section.path for section in parsed.sections] == ["file.line.2.name"]
    assert "heading" in parsed.sections[0].message
    assert parsed.problems == []


@pytest.mark.parametrize(
    "row",
    [
        "Cash;;1.000,00",  # a number: a holding (of cash) the investor gave a value
        "Equities;US0000000001;",  # an identifier
        "Equity Residential;;",  # a name with a word that is no asset class
        "Other;;",  # connectors alone
        "Pegasus;;",
    ],
)
def test_a_row_with_more_than_an_asset_class_is_no_heading(row: str) -> None:
    csv = f"name;isin;market_value\n{row}\nNestlé S.A.;CH0038863350;1.000,00\n"
    parsed = parse_holdings(csv.encode(), "EUR", 10)
    assert parsed.sections == []
    assert len(parsed.rows) + len(parsed.problems) == 2


def test_a_file_of_names_alone_has_no_headings() -> None:
    """The reviewer: with the name the only column read, every row has nothing else on it, and
    "Money Market Fund" is a holding."""
    parsed = parse_holdings(b"name\nMoney Market Fund\nEquities\n", "EUR", 10)
    assert [row.name for row in parsed.rows] == ["Money Market Fund", "Equities"]
    assert parsed.sections == []


def test_headings_are_listed_by_the_import_and_count_toward_the_row_limit(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = (
        "Name;ISIN;Market Value\n"
        "Equities;;\n"
        "Nestlé S.A.;CH0038863350;1.000.000,00\n"
        "Bonds;;\n"
        "Unilever PLC;GB00B10RZP78;500.000,00\n"
    )
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 2
    assert [s["path"] for s in response.json()["sections"]] == [
        "file.line.2.name",
        "file.line.4.name",
    ]
    assert [name for name, _, _ in values(holdings(client, tenant_a.investor, portfolio))] == [
        "Nestlé S.A.",
        "Unilever PLC",
    ]
    with pytest.raises(Exception, match="more than 3 holdings"):
        parse_holdings(csv.encode(), "EUR", 3)


@pytest.mark.parametrize(
    ("cell", "heading"),
    [
        ("Market Value (EUR)", Heading("market_value", 0, "EUR")),
        ("Market value in EUR", Heading("market_value", 0, "EUR")),
        ("MV USD", Heading("market_value", 2, "USD")),
        ("Mkt Value", Heading("market_value", 3)),
        ("Position Value", Heading("market_value", 6)),
        ("Weight (%)", Heading("weight", 0, PERCENT)),
        ("% of Portfolio", Heading("weight", 3, PERCENT)),
        ("% Weight", Heading("weight", 0, PERCENT)),
        ("Portfolio Weight", Heading("weight", 1)),
        ("Ccy", Heading("currency", 1)),
        ("ISIN Code", Heading("isin", 1)),
        ("Security ISIN", Heading("isin", 2)),
        ("Of Portfolio", None),  # a share of the portfolio only with its percent sign
        ("Market Value (Local)", None),
        ("Price", None),
    ],
)
def test_custodian_headings_and_their_units(cell: str, heading: Heading | None) -> None:
    assert read_heading(cell) == heading


def test_a_weight_heading_in_percent_reads_plain_numbers_as_percentages(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    csv = "Issuer Name;ISIN Code;Market Value (EUR);Ccy;% of Portfolio\n"
    csv += "Nestlé S.A.;CH0038863350;1.000,50;CHF;62,5\nUnilever PLC;GB00B10RZP78;600;GBP;37,5%\n"
    response = upload(client, tenant_a.investor, portfolio, csv)
    assert response.status_code == 200, response.text
    # The market values are in EUR, as their heading says; Ccy is each security's own.
    assert response.json()["ignored_columns"] == ["Ccy"]
    assert values(holdings(client, tenant_a.investor, portfolio)) == [
        ("Nestlé S.A.", Decimal("1000.5"), Decimal("0.625")),
        ("Unilever PLC", Decimal("600"), Decimal("0.375")),
    ]
    over = upload(client, tenant_a.investor, portfolio, "name;Weight (%)\nAcme;150\n")
    assert over.status_code == 422
    assert over.json()["errors"][0]["message"] == (
        "150 is outside 0..100, and the header gives weights in percent"
    )


def test_market_values_in_another_currency_are_refused_at_the_header(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    kept = upload(client, tenant_a.investor, portfolio, "name\nKept\n")
    assert kept.status_code == 200, kept.text
    response = upload(client, tenant_a.investor, portfolio, "name,Market Value (USD)\nAcme,10\n")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == "file.line.1.market_value"
    assert error["message"] == (
        "the header 'Market Value (USD)' gives market values in USD, but the portfolio's base "
        "currency is EUR; hrdd keeps no exchange rates, so give market values in EUR"
    )
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Kept"]


def test_the_base_currency_heading_is_read_before_a_local_one() -> None:
    csv = "name,Market Value,Market Value (EUR)\nAcme,12,10\n"
    parsed = parse_holdings(csv.encode(), "EUR", 10)
    assert [row.market_value for row in parsed.rows] == [Decimal("10")]
    assert parsed.ignored_columns == ["Market Value"]


def test_number_messages_quote_the_cell_and_give_the_columns_example() -> None:
    parsed = parse_holdings(b"name,weight,market_value\nAcme,12.5 %x,abc\n", "EUR", 10)
    messages = {problem.path: problem.message for problem in parsed.problems}
    assert messages == {
        "file.line.2.weight": "'12.5 %x' is not a number (write e.g. 0.052 or 5.2%)",
        "file.line.2.market_value": "'abc' is not a number (write e.g. 1234567.89)",
    }


def test_a_fraction_without_its_whole_part_follows_the_files_separator() -> None:
    """'.5' was read as 0.5 in a file of decimal commas, where ',5' was refused."""
    parsed = parse_holdings(b"name;market_value\nA;12,5\nB;,5\nC;.5\n", "EUR", 10)
    assert [(row.name, row.market_value) for row in parsed.rows] == [
        ("A", Decimal("12.5")),
        ("B", Decimal("0.5")),
    ]
    [problem] = parsed.problems
    assert problem.path == "file.line.4.market_value"
    assert problem.message.startswith("'.5' reads only with a decimal point")


def test_numbers_read_both_ways_are_named_when_another_column_decides() -> None:
    """The reviewer: the weights' '0.5' decided a decimal point, and the market value
    '12.500' was read as 12.5 with nothing said of it."""
    parsed = parse_holdings(b"name;market_value;weight\nA;12.500;0.5\n", "EUR", 10)
    assert [row.market_value for row in parsed.rows] == [Decimal("12.500")]
    assert parsed.decimal_separator_from == (
        "line 2's '0.5' read only with it; line 2's '12.500' could be read either way, and are "
        "read so"
    )


def test_numbers_read_both_ways_by_default_are_named() -> None:
    parsed = parse_holdings(b"name;market_value\nA;12,500\nB;1,234\nC;7\n", "EUR", 10)
    assert parsed.decimal_separator_from == (
        "no number in the columns read reads only one way, and a semicolon-delimited file is "
        "read with a decimal comma; line 2's '12,500' and 1 more could be read either way"
    )


def workbook(*sheets: tuple[str, list[list[Any]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


POSITIONS = ("Positions", [["Name", "ISIN", "Market Value"], ["Apple", SPARE_ISINS[0], 10]])
BY_ASSET_CLASS = (
    "By asset class",
    [
        ["Name", "ISIN", "LEI", "Ticker", "Market Value", "Currency", "Weight"],
        ["Equities", None, None, None, 1000, "EUR", 1],
    ],
)


def test_a_dry_run_says_what_would_be_read_and_saves_nothing(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    first = upload(client, tenant_a.investor, portfolio, "name\nKept\n")
    assert first.status_code == 200, first.text
    url = f"/api/v1/portfolios/{portfolio}"
    before = client.get(url, headers=tenant_a.investor)
    data = workbook(POSITIONS, BY_ASSET_CLASS)
    dry = upload(client, tenant_a.investor, portfolio, data, dry_run=True)
    assert dry.status_code == 200, dry.text
    result = dry.json()
    assert (result["dry_run"], result["imported"], result["replaced"]) == (True, 1, 1)
    # The summary names more columns, so it is read; the positions are named as not read.
    assert result["source"]["sheet"] == "By asset class"
    assert result["source"]["other_sheets"] == ["Positions"]
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Kept"]
    after = client.get(url, headers=tenant_a.investor)
    assert after.json() == before.json()  # holdings_imported_at and _by too
    assert after.headers.get("ETag") == before.headers.get("ETag")

    chosen = upload(client, tenant_a.investor, portfolio, data, sheet="positions")
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["dry_run"] is False
    assert (chosen.json()["source"]["sheet"], chosen.json()["source"]["other_sheets"]) == (
        "Positions",
        [],
    )
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Apple"]


def test_a_sheet_that_is_not_there_or_a_sheet_of_a_csv_is_refused(client, tenant_a) -> None:
    portfolio = create_portfolio(client, tenant_a.investor)
    missing = upload(client, tenant_a.investor, portfolio, workbook(POSITIONS), sheet="Holdings")
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {"path": "query.sheet", "message": "the workbook has no sheet 'Holdings' ('Positions')"}
    ]
    csv = upload(client, tenant_a.investor, portfolio, b"name\nAcme\n", sheet="Positions")
    assert csv.status_code == 422
    assert csv.json()["errors"][0]["path"] == "query.sheet"
    assert holdings(client, tenant_a.investor, portfolio) == []


def test_a_workbooks_percentage_cells_are_read_as_the_percentages_they_show(
    client, tenant_a
) -> None:
    """The reviewer: cells formatted 0.00% hold 0.6 for 60%; under '% of Portfolio' they were
    divided by 100 again and stored as 0.006, with no error."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "% of Portfolio", "Weight"])
    sheet.append(["Acme", 0.6, 0.6])
    sheet.append(["Zeta", 40, 0.4])  # typed as 40 in a General cell: 40%
    for row in (2, 3):
        sheet.cell(row=row, column=3).number_format = "0.00%"
    sheet.cell(row=2, column=2).number_format = "0.00%"
    buffer = io.BytesIO()
    book.save(buffer)
    portfolio = create_portfolio(client, tenant_a.investor)
    response = upload(client, tenant_a.investor, portfolio, buffer.getvalue())
    assert response.status_code == 200, response.text
    # Both give the weight and the column's own name ranks first: Weight is read, its cells
    # formatted as percentages as before.
    stored = values(holdings(client, tenant_a.investor, portfolio))
    assert stored == [("Acme", None, Decimal("0.6")), ("Zeta", None, Decimal("0.4"))]
    only_percent = Workbook()
    sheet = only_percent.active
    sheet.append(["Name", "% of Portfolio"])
    sheet.append(["Acme", 0.6])
    sheet.append(["Zeta", 40])
    sheet.cell(row=2, column=2).number_format = "0.00%"
    buffer = io.BytesIO()
    only_percent.save(buffer)
    response = upload(client, tenant_a.investor, portfolio, buffer.getvalue())
    assert response.status_code == 200, response.text
    stored = values(holdings(client, tenant_a.investor, portfolio))
    assert stored == [("Acme", None, Decimal("0.6")), ("Zeta", None, Decimal("0.4"))]
