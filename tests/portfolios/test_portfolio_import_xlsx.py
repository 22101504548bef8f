"""Holdings XLSX import: a workbook means what the same CSV means (columns, checks, merging,
limits, all or nothing); its problems name the sheet and cell; hostile files are refused and
change nothing."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook
from portfolio_helpers import API, SPARE_ISINS, create_portfolio, holdings, upload

from hrdd.errors import Invalid, PayloadTooLarge
from hrdd.portfolios import xlsx_import
from hrdd.portfolios.csv_import import HEADER_SEARCH_ROWS
from hrdd.workbooks import MAX_UNPACKED_BYTES

NESTLE_ISIN = "CH0038863350"
# The fields of a holding that the file decides (ids and times differ between imports).
FROM_THE_FILE = (
    "line",
    "name",
    "isin",
    "lei",
    "ticker",
    "market_value",
    "currency",
    "weight",
    "company_id",
    "resolution",
    "candidates",
)

# What a file's numbers were read with when none of them reads only one way.
NO_NUMBER_DECIDES = (
    "no number in the columns read is written as text, and a file is read with a decimal point "
    "unless "
    "it says otherwise"
)


def workbook_bytes(
    rows: list[list[Any]], *, title: str = "Positions", before: list[tuple[str, str]] = ()
) -> bytes:
    """A workbook whose sheet ``title`` holds ``rows``; ``before``: (title, state) sheets
    placed ahead of it, each with a decoy header."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for index, (decoy, state) in enumerate(before):
        other = workbook.create_sheet(decoy, index)
        other.append(["name", "isin"])
        other.append(["Decoy Holding", ""])
        other.sheet_state = state
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite_sheet(data: bytes, change: Any) -> bytes:
    """The workbook with its first sheet's XML changed by ``change`` (text -> text)."""
    return rewrite_part(data, "xl/worksheets/sheet1.xml", change)


def rewrite_part(data: bytes, name: str, change: Any) -> bytes:
    """The workbook with its part ``name`` changed by ``change`` (text -> text)."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as rebuilt:
        for member in source.infolist():
            content = source.read(member)
            if member.filename == name:
                content = change(content.decode()).encode()
            rebuilt.writestr(member.filename, content)
    return target.getvalue()


def upload_xlsx(client, headers, portfolio: str, data: bytes, **params: Any):
    """Sent under a CSV name and type: the content decides how it is read."""
    return upload(client, headers, portfolio, data, **params)


def file_fields(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: item[key] for key in FROM_THE_FILE} for item in items]


def messages(response) -> dict[str, str]:
    return {error["path"]: error["message"] for error in response.json()["errors"]}


@pytest.fixture
def portfolio(client, tenant_a):
    return create_portfolio(client, tenant_a.investor)


def test_a_workbook_imports_as_the_same_csv_does(client, tenant_a, content):
    """Alias header, identifiers, numbers typed as numbers, a percentage weight cell, a
    security on two rows (merged), a blank row, trailing formatted rows and a hidden decoy
    sheet ahead of the holdings: the holdings, matches and report equal the CSV's."""
    csv = (
        "Security Name,ISIN,Ticker,Market Value,Weight,Sector\n"
        f"Nestle,{NESTLE_ISIN},,600000.25,0.25,Food\n"
        "Cellebrite,,CLBT,250000,0.125,Tech\n"
        "\n"
        f"Nestle (account 2),{NESTLE_ISIN},,100000.5,0.05,Food\n"
        "Quixotic Widgets,,,1234.5,0.07,\n"
    )
    rows = [
        ["Security Name", "ISIN", "Ticker", "Market Value", "Weight", "Sector"],
        ["Nestle", NESTLE_ISIN, None, 600000.25, 0.25, "Food"],
        ["Cellebrite", None, "CLBT", 250000, 0.125, "Tech"],
        [],
        ["Nestle (account 2)", NESTLE_ISIN, None, 100000.5, 0.05, "Food"],
        ["Quixotic Widgets", None, None, 1234.5, 0.07],
    ]
    data = workbook_bytes(rows, before=[("Lookup", "hidden")])
    headers = tenant_a.investor
    from_csv, from_xlsx = (create_portfolio(client, headers, name) for name in ("csv", "xlsx"))
    csv_result = upload(client, headers, from_csv, csv)
    xlsx_result = upload_xlsx(client, headers, from_xlsx, data)
    assert csv_result.status_code == xlsx_result.status_code == 200, xlsx_result.text
    [merged] = xlsx_result.json()["merged"]
    assert merged["path"] == "file.line.5"
    assert merged["message"].startswith("sheet 'Positions', row 5: same ISIN")
    merged["message"] = merged["message"].removeprefix("sheet 'Positions', row 5: ")
    assert xlsx_result.json()["source"] == {
        "format": "xlsx",
        "sheet": "Positions",
        "other_sheets": [],
        "header_row": 1,
        "preamble_rows": 0,
        "decimal_separator": ".",
        "decimal_separator_from": NO_NUMBER_DECIDES,
    }
    assert csv_result.json()["source"] == {
        "format": "csv",
        "sheet": None,
        "other_sheets": [],
        "header_row": 1,
        "preamble_rows": 0,
        "decimal_separator": ".",
        "decimal_separator_from": "line 2's '600000.25' and 6 more read only with it",
    }
    assert {**xlsx_result.json(), "merged": [merged], "portfolio_id": None, "source": None} == {
        **csv_result.json(),
        "portfolio_id": None,
        "source": None,
    }
    assert xlsx_result.json()["imported"] == 3
    assert xlsx_result.json()["ignored_columns"] == ["Sector"]
    imported = file_fields(holdings(client, headers, from_xlsx))
    assert imported == file_fields(holdings(client, headers, from_csv))
    assert [(h["name"], h["market_value"], h["weight"]) for h in imported] == [
        ("Nestle", "700000.7500", "0.3000000000"),
        ("Cellebrite", "250000.0000", "0.1250000000"),
        ("Quixotic Widgets", "1234.5000", "0.0700000000"),
    ]
    assert imported[0]["resolution"] == imported[1]["resolution"] == "identifier"


def test_the_sheet_named_holdings_is_read_else_the_first_visible_one():
    rows = [["name", "isin"], ["Acme Robotics", SPARE_ISINS[0]]]
    named = workbook_bytes(rows, title=" HOLDINGS ", before=[("Summary", "visible")])
    assert [r.name for r in xlsx_import.parse_holdings(named, "EUR", 10).rows] == ["Acme Robotics"]
    behind_a_hidden_sheet = workbook_bytes(rows, before=[("Lookup", "hidden")])
    read = xlsx_import.parse_holdings(behind_a_hidden_sheet, "EUR", 10)
    assert [r.name for r in read.rows] == ["Acme Robotics"]
    behind_a_visible_sheet = workbook_bytes(rows, before=[("Summary", "visible")])
    read = xlsx_import.parse_holdings(behind_a_visible_sheet, "EUR", 10)
    assert [r.name for r in read.rows] == ["Decoy Holding"]


def test_a_summary_sheet_without_holding_columns_is_passed_over():
    """Custodian workbooks often open with a summary sheet (the user test got a 422 on it):
    the first visible sheet whose row 1 names a holding column is read."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    summary.append(["Statement date", "Account"])
    summary.append(["2026-11-30", "Pension Fund A"])
    positions = workbook.create_sheet("Positions")
    positions.append(["Security Name", "ISIN"])
    positions.append(["Acme Robotics", SPARE_ISINS[0]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    read = xlsx_import.parse_holdings(buffer.getvalue(), "EUR", 10)
    assert [r.name for r in read.rows] == ["Acme Robotics"]
    assert read.locate(2, None).startswith("sheet 'Positions'")


def test_a_summary_sheet_under_a_title_is_passed_over_for_holdings_under_a_title(
    client, tenant_a, portfolio
):
    """Both sheets open with a title block: the summary's header, below its title, names no
    holding column; the positions' header, below its title, does, and that sheet is read."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    for row in (["Portfolio summary"], [], ["Asset class", "Market Value"], ["Equity", 1000]):
        summary.append(row)
    positions = workbook.create_sheet("Positions")
    for row in (["Holdings as of 30 Sep 2026"], [], ["Security Name", "ISIN"]):
        positions.append(row)
    positions.append(["Acme Robotics", SPARE_ISINS[0]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    read = xlsx_import.parse_holdings(buffer.getvalue(), "EUR", 10)
    assert [(r.line, r.name) for r in read.rows] == [(4, "Acme Robotics")]
    response = upload_xlsx(client, tenant_a.investor, portfolio, buffer.getvalue())
    assert response.status_code == 200, response.text
    assert response.json()["source"] == {
        "format": "xlsx",
        "sheet": "Positions",
        "other_sheets": [],
        "header_row": 3,
        "preamble_rows": 1,
        "decimal_separator": ".",
        "decimal_separator_from": NO_NUMBER_DECIDES,
    }


def test_a_summary_sheet_naming_the_fund_is_passed_over_for_the_positions(
    client, tenant_a, portfolio
):
    """The user test: a Summary sheet of key-value lines ("Name | Pension Fund A") came first,
    was read, and replaced the portfolio's holdings with one named 'As of'. A sheet whose
    header names a holding column and another column read is preferred; the summary would
    be read only if no sheet had one."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    for row in (
        ["Portfolio summary"],
        ["Name", "Pension Fund A"],
        ["Total market value", 1834.5],
        ["As of", "30 Sep 2026"],
    ):
        summary.append(row)
    positions = workbook.create_sheet("Positions")
    for row in (["Holdings as of 30 Sep 2026"], [], ["Issuer Name", "ISIN", "Market Value"]):
        positions.append(row)
    positions.append(["Acme Robotics", SPARE_ISINS[0], 1234.5])
    positions.append(["Zeta Foods", SPARE_ISINS[1], 600])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload_xlsx(client, tenant_a.investor, portfolio, buffer.getvalue())
    assert response.status_code == 200, response.text
    assert response.json()["source"]["sheet"] == "Positions"
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == [
        "Acme Robotics",
        "Zeta Foods",
    ]
    # The second user test: a third cell on the summary's name line made it a header.
    summary["C2"] = "as reported"
    noted = io.BytesIO()
    workbook.save(noted)
    assert xlsx_import.parse_holdings(noted.getvalue(), "EUR", 10).sheet == "Positions"
    # Alone, the summary is read as the best there is (and its one row is plain to see).
    del workbook["Positions"]
    alone = io.BytesIO()
    workbook.save(alone)
    assert xlsx_import.parse_holdings(alone.getvalue(), "EUR", 10).sheet == "Summary"


def test_a_title_block_above_the_header_keeps_the_sheets_row_numbers(client, tenant_a, portfolio):
    """The title block, a date in it included, is neither holdings nor problems; problems name
    the cells where the sheet has them."""
    first = upload(client, tenant_a.investor, portfolio, "name\nAcme Robotics\n")
    assert first.status_code == 200, first.text
    rows = [
        ["Holdings as of", date(2026, 9, 30)],
        ["Account:", 12345],
        [],
        ["Security Name", "ISIN", "Market Value"],
        ["Apple Inc.", SPARE_ISINS[0], 600],
        ["Broken", "US0378331006", 20],
        ["Zeta Foods", None, date(2024, 1, 5)],
        ["Omega Labs", None, 400],
    ]
    data = workbook_bytes(rows)
    response = upload_xlsx(client, tenant_a.investor, portfolio, data)
    assert response.status_code == 422, response.text
    found = messages(response)
    assert set(found) == {"file.line.6.isin", "file.line.7.market_value"}
    assert found["file.line.6.isin"].startswith("sheet 'Positions', cell B6: ")
    assert found["file.line.7.market_value"].startswith("sheet 'Positions', cell C7: ")
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Acme Robotics"]

    kept = upload_xlsx(client, tenant_a.investor, portfolio, data, keep_good_rows=True)
    assert kept.status_code == 200, kept.text
    assert {p["path"] for p in kept.json()["rejected"]} == set(found)
    assert kept.json()["source"] == {
        "format": "xlsx",
        "sheet": "Positions",
        "other_sheets": [],
        "header_row": 4,
        "preamble_rows": 2,
        "decimal_separator": ".",
        "decimal_separator_from": NO_NUMBER_DECIDES,
    }
    items = holdings(client, tenant_a.investor, portfolio)
    assert [(h["line"], h["name"]) for h in items] == [(5, "Apple Inc."), (8, "Omega Labs")]


def test_the_header_is_looked_for_in_the_first_20_rows_of_a_sheet():
    """Empty rows count: the sheet's row numbers decide, as Excel shows them."""
    title = [["Holdings as of 30 Sep 2026"]]
    at_20 = workbook_bytes([*title, *([[]] * 18), ["name"], ["Acme Robotics"]])
    read = xlsx_import.parse_holdings(at_20, "EUR", 10)
    assert (read.sheet, read.header_line, read.preamble_rows) == ("Positions", 20, 1)
    assert [(r.line, r.name) for r in read.rows] == [(21, "Acme Robotics")]

    at_21 = workbook_bytes([*title, *([[]] * 19), ["name"], ["Acme Robotics"]])
    with pytest.raises(Invalid) as refused:
        xlsx_import.parse_holdings(at_21, "EUR", 10)
    [error] = refused.value.errors
    assert error.path == "file.line.1"
    assert error.message.startswith(
        "sheet 'Positions': no header row found: none of rows 1 to 20 names any of"
    )


def test_numbers_are_read_as_excel_shows_them_without_float_noise():
    rows = [
        ["name", "market_value", "weight", "ticker"],
        ["Half", 1234.5, 0.05, 700],
        ["Noisy sum", 0.1 + 0.2, 0.1 + 0.7, None],
        ["Stored noise", 1234.4999999999998, None, None],
        ["Large", 12345678901234, 1e-05, None],
        ["Huge float", 1.5e19, None, None],
    ]
    read = xlsx_import.parse_holdings(workbook_bytes(rows), "EUR", 10).rows
    assert [(r.market_value, r.weight) for r in read] == [
        (Decimal("1234.5"), Decimal("0.05")),
        (Decimal("0.3"), Decimal("0.8")),
        (Decimal("1234.5"), None),
        (Decimal("12345678901234"), Decimal("0.00001")),
        (Decimal("15000000000000000000"), None),
    ]
    assert str(read[0].market_value) == "1234.5"
    assert read[0].ticker == "700"


def test_bad_cells_name_the_sheet_row_and_column_and_nothing_changes(client, tenant_a, portfolio):
    first = upload(client, tenant_a.investor, portfolio, "name\nAcme Robotics\n")
    assert first.status_code == 200, first.text
    rows = [
        ["Name", "ISIN", "Market Value", "Weight", "Notes"],
        ["Good Holding", SPARE_ISINS[0], 100, 0.1, date(2024, 1, 5)],
        ["Bad ISIN", "US0378331006", 100, None, True],
        ["Dated", date(2024, 1, 5), 100, True],
        ["#N/A", None, "=1/0", None],
        ["Long " + "n" * 300, None, -5],
    ]
    data = workbook_bytes(rows)
    response = upload_xlsx(client, tenant_a.investor, portfolio, data)
    assert response.status_code == 422, response.text
    found = messages(response)
    assert set(found) == {
        "file.line.3.isin",
        "file.line.4.isin",
        "file.line.4.weight",
        "file.line.5.name",
        # openpyxl saves =1/0 without a result: a value the file states, unread.
        "file.line.5.market_value",
        "file.line.6.name",
        "file.line.6.market_value",
    }
    assert found["file.line.3.isin"].startswith("sheet 'Positions', cell B3: ")
    assert "not a valid ISIN" in found["file.line.3.isin"]
    assert "date or time (2024-01-05)" in found["file.line.4.isin"]
    assert found["file.line.4.weight"].startswith("sheet 'Positions', cell D4: ")
    assert "logical value TRUE" in found["file.line.4.weight"]
    assert "error #N/A" in found["file.line.5.name"]
    assert "longer than 300" in found["file.line.6.name"]
    assert "negative" in found["file.line.6.market_value"]
    assert "line 3" in response.json()["detail"]
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Acme Robotics"]

    kept = upload_xlsx(client, tenant_a.investor, portfolio, data, keep_good_rows=True)
    assert kept.status_code == 200, kept.text
    assert {p["path"] for p in kept.json()["rejected"]} == set(found)
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Good Holding"]


def test_rows_that_look_blank_in_excel_are_blank():
    """A formula (saved without a value, as openpyxl writes one) and a date in a column no
    holding reads are nothing a person sees as a holding: such rows are skipped, not refused
    as naming no holding."""
    rows = [
        ["Name", "Market Value", "Check", "Notes"],
        ["Acme Robotics", 100, '=IF(A2="","","ok")', None],
        [None, None, '=IF(A3="","","ok")', None],
        [None, None, None, date(2024, 1, 5)],
    ]
    read = xlsx_import.parse_holdings(workbook_bytes(rows), "EUR", 10)
    assert read.problems == []
    assert [(r.line, r.name, r.market_value) for r in read.rows] == [
        (2, "Acme Robotics", Decimal(100))
    ]


def test_a_formula_saved_without_its_value_is_refused_naming_the_cell(client, tenant_a, portfolio):
    """The user test: a market value typed as =40000+5000 in a file written by a program that
    does not calculate (openpyxl, as here) has no saved result; read as empty, the holding
    lost its value and the risk view its basis, without a word. The file states a number, so
    the cell is refused where it is; nothing is saved."""
    upload(client, tenant_a.investor, portfolio, "name,market_value\nKept Holding,1\n")
    rows = [
        ["Name", "Market Value", "Weight", "ISIN"],
        ["Acme Robotics", 100, 0.5, None],
        ["Zeta Foods", "=40000+5000", "=1/2", None],
        # A formula in a column no holding reads is not read, saved value or not.
    ]
    data = workbook_bytes(rows)
    response = upload_xlsx(client, tenant_a.investor, portfolio, data)
    assert response.status_code == 422, response.text
    found = messages(response)
    assert set(found) == {"file.line.3.market_value", "file.line.3.weight"}
    assert found["file.line.3.market_value"] == (
        "sheet 'Positions', cell B3: the cell holds a formula (=40000+5000) with no saved "
        "result, as programs that do not calculate write them: open the file in Excel or "
        "LibreOffice and save it, or type the value"
    )
    assert found["file.line.3.weight"].startswith("sheet 'Positions', cell C3: the cell holds")
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Kept Holding"]

    kept = upload_xlsx(client, tenant_a.investor, portfolio, data, keep_good_rows=True)
    assert kept.status_code == 200, kept.text
    assert {p["path"] for p in kept.json()["rejected"]} == set(found)
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Acme Robotics"]


def test_a_formula_with_its_saved_value_or_showing_empty_text_reads_as_saved():
    """Excel and LibreOffice save each formula's result: a number reads as that number, and
    a formula showing empty text (saved as text, type str) as an empty cell, as it shows."""
    rows = [
        ["Name", "Market Value", "Weight"],
        ["Acme Robotics", "=40000+5000", 0.25],
        ["Zeta Foods", 7, '=IF(B3>10,0.5,"")'],
    ]

    def calculated(xml: str) -> str:
        xml = re.sub(r"<f>40000\+5000</f><v\s*/>", "<f>40000+5000</f><v>45000</v>", xml)
        return re.sub(
            r'<c r="C3"([^>]*)><f>(.*?)</f><v\s*/>', r'<c r="C3"\1 t="str"><f>\2</f><v></v>', xml
        )

    data = as_excel_saves_it(rewrite_sheet(workbook_bytes(rows), calculated))
    assert b't="str"' in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    read = xlsx_import.parse_holdings(data, "EUR", 10)
    assert read.problems == []
    assert [(r.name, r.market_value, r.weight) for r in read.rows] == [
        ("Acme Robotics", Decimal(45000), Decimal("0.25")),
        ("Zeta Foods", Decimal(7), None),
    ]


def as_excel_saves_it(data: bytes) -> bytes:
    """Without openpyxl's mark that the workbook be calculated on loading: Excel and
    LibreOffice save the results themselves."""
    return rewrite_part(data, "xl/workbook.xml", lambda xml: xml.replace(' fullCalcOnLoad="1"', ""))


def test_a_placeholder_result_of_a_workbook_calculated_on_loading_is_refused():
    """The review: XlsxWriter (which pandas uses) saves every formula with a result of 0 and
    marks the workbook to be calculated on loading; read as saved, =40000+5000 became a market
    value of 0 without a word."""
    rows = [["Name", "Market Value"], ["Zeta Foods", "=40000+5000"]]

    def placeholder(xml: str) -> str:
        return re.sub(r"<f>40000\+5000</f><v\s*/>", "<f>40000+5000</f><v>0</v>", xml)

    marked = rewrite_sheet(workbook_bytes(rows), placeholder)
    assert b'fullCalcOnLoad="1"' in zipfile.ZipFile(io.BytesIO(marked)).read("xl/workbook.xml")
    read = xlsx_import.parse_holdings(marked, "EUR", 10)
    assert [(p.path, p.message.split(":")[0]) for p in read.problems] == [
        ("file.line.2.market_value", "sheet 'Positions', cell B2")
    ]
    # Saved by Excel (no such mark), the same 0 is a result like any other.
    saved = xlsx_import.parse_holdings(as_excel_saves_it(marked), "EUR", 10)
    assert saved.problems == []
    assert [(r.name, r.market_value) for r in saved.rows] == [("Zeta Foods", Decimal(0))]


def test_a_total_row_at_the_foot_of_a_sheet_is_left_out():
    rows = [
        ["Security Name", "Market Value"],
        ["Acme Robotics", 600],
        ["Zeta Foods", 400],
        ["Total", "=SUM(B2:B3)"],
    ]
    read = xlsx_import.parse_holdings(workbook_bytes(rows), "EUR", 10)
    assert [r.name for r in read.rows] == ["Acme Robotics", "Zeta Foods"]
    assert [(t.path, t.message.split(":")[0]) for t in read.totals] == [
        ("file.line.4.name", "sheet 'Positions', cell A4")
    ]


def test_a_million_missing_rows_are_read_past_as_blank():
    rows = [["name"], ["Acme Robotics"], ["Zeta Foods"]]
    far = rewrite_sheet(
        workbook_bytes(rows),
        lambda xml: xml.replace('r="3"', 'r="1048576"').replace('r="A3"', 'r="A1048576"'),
    )
    read = xlsx_import.parse_holdings(far, "EUR", 10)
    assert [(r.line, r.name) for r in read.rows] == [(2, "Acme Robotics"), (1048576, "Zeta Foods")]


def test_header_problems_name_the_sheet(client, tenant_a, portfolio):
    response = upload_xlsx(
        client, tenant_a.investor, portfolio, workbook_bytes([["Value", "Weight"], [1, 0.5]])
    )
    assert response.status_code == 422
    assert messages(response)["file.line.1"].startswith(
        "sheet 'Positions': no header row found: none of rows 1 to 2 names"
    )
    empty_sheet = upload_xlsx(client, tenant_a.investor, portfolio, workbook_bytes([]))
    assert empty_sheet.status_code == 422
    assert messages(empty_sheet)["file.line.1"] == "sheet 'Positions': the file has no header row"
    only_header = upload_xlsx(client, tenant_a.investor, portfolio, workbook_bytes([["name"]]))
    assert only_header.status_code == 422
    assert (
        messages(only_header)["file"] == "sheet 'Positions': the file has a header but no holdings"
    )


def test_a_cell_beyond_the_header_is_a_bad_row_as_in_a_csv():
    rows = [["name", "isin"], ["Acme Robotics", None, None, "stray"], ["Zeta Foods"]]
    read = xlsx_import.parse_holdings(workbook_bytes(rows), "EUR", 10)
    assert [r.name for r in read.rows] == ["Zeta Foods"]
    assert [(p.path, p.message) for p in read.problems] == [
        ("file.line.2", "sheet 'Positions', row 2: the row has 4 cells, the header (row 1) only 2")
    ]


def test_the_row_limit_stops_reading_the_sheet(monkeypatch):
    rows = [["name"], *([f"Company {n}"] for n in range(4))]
    with pytest.raises(PayloadTooLarge) as refused:
        xlsx_import.parse_holdings(workbook_bytes(rows), "EUR", max_rows=3)
    assert [e.path for e in refused.value.errors] == ["file"]
    assert "sheet 'Positions'" in refused.value.detail and "more than 3" in refused.value.detail
    assert len(xlsx_import.parse_holdings(workbook_bytes(rows), "EUR", max_rows=4).rows) == 4

    read_rows: list[int] = []
    record = xlsx_import._record

    def counting(number: int, *cells: Any) -> Any:
        read_rows.append(number)
        return record(number, *cells)

    monkeypatch.setattr(xlsx_import, "_record", counting)
    many = workbook_bytes([["name"], *([f"Company {n}"] for n in range(2000))])
    with pytest.raises(PayloadTooLarge):
        xlsx_import.parse_holdings(many, "EUR", max_rows=10)
    # The header, ten holdings and the one over the limit; a header naming one column only
    # reads on to the end of the rows looked at for one naming more.
    assert max(read_rows) <= max(12, HEADER_SEARCH_ROWS + 1)


def test_rows_beyond_a_wrong_stated_size_are_read_and_beyond_excel_refused():
    rows = [["name"], ["Acme Robotics"], ["Zeta Foods"], ["Omega Labs"]]
    understated = rewrite_sheet(
        workbook_bytes(rows),
        lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:A2"', xml),
    )
    assert (
        '<dimension ref="A1:A2"'
        in zipfile.ZipFile(io.BytesIO(understated)).read("xl/worksheets/sheet1.xml").decode()
    )
    read = xlsx_import.parse_holdings(understated, "EUR", 10)
    assert [r.name for r in read.rows] == ["Acme Robotics", "Zeta Foods", "Omega Labs"]

    far = rewrite_sheet(
        workbook_bytes(rows),
        lambda xml: xml.replace('r="4"', 'r="900000000"').replace('r="A4"', 'r="A900000000"'),
    )
    with pytest.raises(Invalid) as refused:
        xlsx_import.parse_holdings(far, "EUR", 10)
    assert [e.path for e in refused.value.errors] == ["file"]
    assert "beyond row 1,048,576" in refused.value.detail


def _zip(*members: tuple[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def hostile_files() -> dict[str, tuple[bytes, int, str]]:
    """label -> (content, status, words the message must hold)."""
    good = workbook_bytes([["name"], ["Acme Robotics"]])
    padded = _zip(
        *(
            (m.filename, zipfile.ZipFile(io.BytesIO(good)).read(m))
            for m in zipfile.ZipFile(io.BytesIO(good)).infolist()
        ),
        ("xl/media/padding.bin", b"\x00" * (MAX_UNPACKED_BYTES + 1)),
    )
    return {
        # A few kilobytes zipped that openpyxl would build into gigabytes (the security test's
        # 56 KB file: 4 GB and 100 s, holding the database's write lock meanwhile).
        "style sheet of millions of formats": (
            rewrite_part(
                good,
                "xl/styles.xml",
                lambda xml: xml.replace(
                    '<cellXfs count="1">', '<cellXfs count="1">' + "<xf/>" * 700_000
                ),
            ),
            422,
            "XML tags, more than the 600,000",
        ),
        "a row wider than a worksheet": (
            rewrite_sheet(
                good,
                lambda xml: xml.replace("</row>", "<c/>" * 20_000 + "</row>", 1),
            ),
            422,
            "holds 20,001 cells, more than the 16,384 columns",
        ),
        "zip magic then garbage": (b"PK\x03\x04" + b"\x00garbage" * 50, 422, "damaged"),
        "workbook cut short": (good[: len(good) // 2], 422, "damaged"),
        "zip of text": (_zip(("notes.txt", b"name\nAcme\n")), 415, "ZIP archive"),
        "ods": (
            _zip(("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")),
            415,
            "OpenDocument",
        ),
        "xlsx parts that are no workbook": (
            _zip(("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>")),
            422,
            "cannot be read",
        ),
        "bzip2 part": (
            _zip(
                ("[Content_Types].xml", b"<Types/>"),
                ("xl/workbook.xml", b"x"),
                compression=zipfile.ZIP_BZIP2,
            ),
            422,
            "compressed",
        ),
        "unpacks too far": (padded, 413, "unpacks to"),
        # A bomb in the part an OpenDocument file names its type in: refused before it is read.
        "ods type part that unpacks too far": (
            _zip(("mimetype", b"\x00" * (MAX_UNPACKED_BYTES + 1))),
            413,
            "unpacks to",
        ),
        "password-protected": (
            OLE_MAGIC + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64,
            415,
            "password",
        ),
        "legacy xls": (
            OLE_MAGIC + b"\x00" * 504 + "Workbook".encode("utf-16-le") + b"\x00" * 64,
            415,
            ".xlsx",
        ),
    }


def test_hostile_workbooks_are_refused_at_file_and_change_nothing(client, tenant_a, portfolio):
    first = upload(client, tenant_a.investor, portfolio, "name\nAcme Robotics\n")
    assert first.status_code == 200, first.text
    before = client.get(f"{API}/portfolios/{portfolio}", headers=tenant_a.investor).json()
    for label, (content, status, words) in hostile_files().items():
        for keep_good_rows in (False, True):
            response = upload_xlsx(
                client, tenant_a.investor, portfolio, content, keep_good_rows=keep_good_rows
            )
            assert response.status_code == status, (label, response.text)
            assert response.headers["content-type"] == "application/problem+json", label
            assert [e["path"] for e in response.json()["errors"]] == ["file"], label
            assert words in response.json()["detail"], (label, response.json()["detail"])
    after = client.get(f"{API}/portfolios/{portfolio}", headers=tenant_a.investor).json()
    assert after == before
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Acme Robotics"]


def test_the_file_is_read_before_the_write_begins(
    client, tenant_a, portfolio, write_sessions, monkeypatch
):
    """The security test: on SQLite a write's first query takes the database's one write lock,
    and the import read the portfolio (beginning its write) before reading the file, so a
    workbook that took a minute to read kept every other organisation's writes waiting (500s
    after 64 s). The file is now read with no write begun; the import then writes as before."""
    from hrdd.portfolios import service

    begun_while_reading: list[bool] = []
    read = service._parse_holdings

    def reading(*args: Any, **kwargs: Any) -> Any:
        begun_while_reading.append(any(s.in_transaction() for s in write_sessions))
        return read(*args, **kwargs)

    monkeypatch.setattr(service, "_parse_holdings", reading)
    for data in (b"name\nAcme Robotics\n", workbook_bytes([["name"], ["Acme Robotics"]])):
        response = upload_xlsx(client, tenant_a.investor, portfolio, data)
        assert response.status_code == 200, response.text
    assert begun_while_reading == [False, False]
    assert write_sessions, "the imports wrote through a write session"
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Acme Robotics"]


def test_parts_openpyxl_never_builds_are_not_counted(client, tenant_a, portfolio):
    """The reviewer: a formula-heavy custodian file's calculation chain (a tag per formula
    cell: 260,000 for 10,000 holdings of 26 computed columns) was refused by the tag limit,
    although openpyxl never builds it when it reads a workbook."""
    good = workbook_bytes([["name", "market_value"], ["Acme Robotics", 100]])
    chain = b'<calcChain xmlns="x">' + b'<c r="B2" i="1"/>' * 300_000 + b"</calcChain>"
    source, target = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as rebuilt:
        for member in source.infolist():
            rebuilt.writestr(member.filename, source.read(member))
        rebuilt.writestr("xl/calcChain.xml", chain)
    response = upload_xlsx(client, tenant_a.investor, portfolio, target.getvalue())
    assert response.status_code == 200, response.text
    assert [h["name"] for h in holdings(client, tenant_a.investor, portfolio)] == ["Acme Robotics"]
