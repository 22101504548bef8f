"""Reading a holdings workbook (XLSX): its rows become the records a CSV's lines become, and
``csv_import`` reads them: the same columns, header names, row checks, limits and merging.

The sheet read is the worksheet named Holdings (in any case), or else the first visible
worksheet with a header row, or else the first visible worksheet. The header row is found as
in a CSV: the first of the first ``HEADER_SEARCH_ROWS`` rows that names a holding column, the
title block above it left out. A problem's path is ``file.line.<row>.<column>`` as for a CSV
(the line is the sheet's row number) and its message names the sheet and the cell.

Cells: text as it is; numbers to Excel's 15 significant digits, whatever the cell's format
(so a market value of 1234.5 is 1234.5, not the 1234.4999999999998 a binary float may carry);
a formula by the value it was saved with (one whose value is empty text reads as an empty
cell). A formula saved without a value, as programs that do not calculate write them, a date
or time, TRUE or FALSE and an error value such as #N/A are bad cells in a column that is
read, and ignored in other columns: the number such a formula stands for is never read as a
missing one. Hidden rows and columns are read like the others; a merged cell's
value is its first cell's. Only the first ``MAX_COLUMNS`` columns are read.

Refused before any row is read: a legacy XLS or a password-protected workbook (both OLE2
files), a ZIP archive that holds no workbook (415); a damaged one (422); one that would
unpack to more than ``MAX_UNPACKED_BYTES`` (413).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from hrdd.errors import Invalid, PayloadTooLarge, ProblemDetail, UnsupportedMediaType
from hrdd.portfolios.csv_import import (
    HEADER_SEARCH_ROWS,
    HeaderSearch,
    Locate,
    ParsedFile,
    Record,
    parse_records,
    search_header,
)
from hrdd.portfolios.numbers import POINT, Convention
from hrdd.workbooks import (
    PART_HEAD_BYTES,
    UnsafeArchive,
    calculated_on_load,
    check_part_content,
    check_parts,
    holds_formulas,
    part_is_checked,
    unsaved_formula,
    unsaved_formula_problem,
)

HOLDINGS_SHEET = "holdings"
# Far more than any holdings file has. Bounding the row width keeps a sheet with a cell in its
# last column (XFD) on every row from costing 16,384 cells a row.
MAX_COLUMNS = 256
# The last row of an Excel sheet. openpyxl makes up an empty row for every row number skipped,
# so a row numbered 10^9 would cost 10^9 empty rows: reading stops at this one.
MAX_SHEET_ROWS = 1_048_576

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A stream of every password-protected Office file (an encrypted XLSX is an OLE2 file holding
# it), named in UTF-16 in the file's directory; an XLS has a "Workbook" stream instead.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_ODS_MEDIA_TYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_SAVE_AS = "save the holdings as an Excel Workbook (.xlsx) or as CSV UTF-8 and upload that"
# What Excel shows in a cell whose formula failed (openpyxl gives error cells as this text).
_ERROR_VALUES = frozenset(
    ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA")
)
# Excel keeps 15 significant digits of a number; a float read back may carry binary noise
# beyond them.
_EXCEL_DIGITS = ".15g"


def is_office_file(data: bytes) -> bool:
    """Whether ``data`` starts as a ZIP archive (an XLSX) or an OLE2 file (an XLS) does: it is
    read here, not as CSV text, whatever its name or declared type."""
    return data.startswith((_ZIP_MAGIC, _OLE_MAGIC))


def parse_holdings(
    data: bytes,
    base_currency: str,
    max_rows: int,
    decimal_separator: str | None = None,
    sheet_name: str | None = None,
) -> ParsedFile:
    """Validate a whole holdings workbook as ``csv_import.parse_records`` validates a CSV's
    records; the file itself is refused with 413, 415 or 422 at ``file``."""
    if data.startswith(_OLE_MAGIC) and _ENCRYPTED_PACKAGE in data:
        raise _unsupported(
            "the file is a password-protected (encrypted) workbook, which hrdd cannot open; "
            f"remove the password in Excel (File > Info > Protect Workbook), {_SAVE_AS}"
        )
    if data.startswith(_OLE_MAGIC):
        raise _unsupported(
            f"the file is a legacy Excel workbook (.xls) or another Office binary file; {_SAVE_AS}"
        )
    formulas = _check_archive(data)
    with _workbook(data, formulas=formulas) as workbook:
        sheet, others = _holdings_sheet(workbook, sheet_name)
        records = workbook.records(sheet)
        try:
            # Number cells are numbers; only numbers typed as text need a separator.
            convention = Convention(decimal_separator, POINT)
            parsed = parse_records(
                records, base_currency, max_rows, convention, _locate_in(sheet.title)
            )
        finally:
            records.close()
    parsed.sheet = sheet.title
    parsed.other_sheets = others
    return parsed


def _unsupported(message: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(message, errors=[ProblemDetail(path="file", message=message)])


def _damaged(message: str) -> Invalid:
    return Invalid.at("file", f"{message}; {_SAVE_AS}")


def _check_archive(data: bytes) -> bool:
    """Refuse what is no workbook, or would unpack to too much, before openpyxl reads it;
    whether any sheet holds a formula. Python's zipfile never unpacks a deflated member beyond
    the size it declares (a member holding more fails its checksum), so the declared sizes
    bound what is read."""
    formulas = False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            # Sizes and compressions first: nothing is unpacked before they are known safe.
            _check_members(members)
            names = {member.filename for member in members}
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
                kind = "an OpenDocument spreadsheet (ODS)" if _is_ods(archive) else "a ZIP archive"
                raise _unsupported(f"the file is {kind}, not an XLSX workbook; {_SAVE_AS}")
            # What each part openpyxl would build holds, counted before it does (the sizes
            # bound what is read here).
            for member in members:
                if member.is_dir():
                    continue
                with archive.open(member) as part:
                    head = part.read(PART_HEAD_BYTES)
                if part_is_checked(head):
                    content = archive.read(member)
                    _check_content(member.filename, content)
                    formulas = formulas or holds_formulas(content)
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError):
        raise _damaged(
            "the file starts as an XLSX workbook does (a ZIP archive) but cannot be opened: it "
            "is damaged or cut short"
        ) from None
    return formulas


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    try:
        check_parts(members)
    except UnsafeArchive as unsafe:
        if unsafe.too_large:
            message = f"{unsafe.message}; split the holdings into smaller files"
            raise PayloadTooLarge(
                message, errors=[ProblemDetail(path="file", message=message)]
            ) from None
        raise _damaged(f"the workbook cannot be read: {unsafe.message}") from None


def _check_content(name: str, xml: bytes) -> None:
    try:
        check_part_content(name, xml)
    except UnsafeArchive as unsafe:
        raise _damaged(f"the workbook cannot be read: {unsafe.message}") from None


def _is_ods(archive: zipfile.ZipFile) -> bool:
    """An OpenDocument file names its type in its first part; only that much is read."""
    if "mimetype" not in archive.namelist():
        return False
    with archive.open("mimetype") as part:
        return part.read(len(_ODS_MEDIA_TYPE)) == _ODS_MEDIA_TYPE


@dataclass(frozen=True)
class _Workbook:
    """A workbook opened read-only (rows are read as they are asked for): ``shown`` with
    formula cells holding the values they were saved with, ``written`` (None when no sheet
    holds a formula) with formula cells holding their formulas, to tell a formula saved
    without its value from an empty cell."""

    shown: Any
    written: Any | None
    # The workbook's saved results are placeholders (``calculated_on_load``).
    placeholders: bool

    @property
    def worksheets(self) -> list[Any]:
        return list(self.shown.worksheets)

    def records(self, sheet: Any, last_row: int | None = None) -> Iterator[Record]:
        written = self.written[sheet.title] if self.written is not None else None
        return _records(sheet, written, last_row, self.placeholders)


def _open(data: bytes, *, data_only: bool) -> Any:
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors)
        raise _damaged(f"the workbook cannot be read ({type(exc).__name__})") from None


@contextmanager
def _workbook(data: bytes, *, formulas: bool) -> Iterator[_Workbook]:
    """The workbook, read a second time for its formulas only when a sheet holds any (most
    custodian files hold none, and the second read costs a fifth of the import)."""
    shown = _open(data, data_only=True)
    written = None
    try:
        if formulas:
            written = _open(data, data_only=False)
        yield _Workbook(shown, written, calculated_on_load(data))
    finally:
        shown.close()
        if written is not None:
            written.close()


def _holdings_sheet(workbook: _Workbook, sheet_name: str | None) -> tuple[Any, list[str]]:
    """The sheet to read, and the other visible sheets whose first rows hold a table's header
    (a caller may have meant one of them). The sheet named ``sheet_name`` if given; else the
    one named Holdings; else, of the visible sheets with a header row found as the import
    finds it, the one whose header names the most columns read (then a table's header before
    a key-value line, then the first); else the first visible one. Custodian files often open
    with a summary sheet, under a title of its own, whose "Name | Pension Fund A" line names
    the name column only: the positions after it must not be passed over for it (the user
    tests lost a portfolio's holdings to such a sheet's one "holding")."""
    sheets = workbook.worksheets
    if not sheets:
        raise _damaged("the workbook has no worksheet")
    if sheet_name is not None:
        chosen = [s for s in sheets if s.title.strip().casefold() == sheet_name.strip().casefold()]
        if not chosen:
            titles = ", ".join(repr(s.title) for s in sheets)
            raise Invalid.at("query.sheet", f"the workbook has no sheet {sheet_name!r} ({titles})")
        return chosen[0], []
    visible = [s for s in sheets if s.sheet_state == "visible"]
    headed = [
        (sheet, search)
        for sheet in visible
        if (search := _header_search(workbook, sheet)) is not None and search.header is not None
    ]
    named = [s for s in sheets if s.title.strip().casefold() == HOLDINGS_SHEET]
    if named:
        sheet = named[0]
    elif headed:
        # The positions name more of the columns read than a summary's "Name | Pension Fund A
        # | as reported"; among equals, a table's header beats a key-value line, then order.
        sheet = max(headed, key=lambda pair: (pair[1].columns_named, pair[1].heads_a_table))[0]
    else:
        sheet = (visible or sheets)[0]
    others = [
        other.title for other, search in headed if other is not sheet and search.heads_a_table
    ]
    return sheet, others


def _header_search(workbook: _Workbook, sheet: Any) -> HeaderSearch | None:
    """The header search of a sheet's first rows; None when they cannot be read (no holdings
    sheet then)."""
    # No further than the rows looked at: a sheet's next row may be a million rows down.
    records = workbook.records(sheet, last_row=HEADER_SEARCH_ROWS)
    try:
        return search_header(records)
    except Invalid:
        return None
    finally:
        records.close()


def _locate_in(title: str) -> Locate:
    def locate(line: int | None, index: int | None) -> str:
        if line is None:
            return f"sheet {title!r}: "
        if index is None:
            return f"sheet {title!r}, row {line}: "
        return f"sheet {title!r}, cell {get_column_letter(index + 1)}{line}: "

    return locate


def _records(
    sheet: Any, written: Any | None, last_row: int | None, placeholders: bool
) -> Iterator[Record]:
    """Every row with something in it, up to ``last_row`` (None: the sheet's last), as text;
    rows are read one at a time, so a caller that stops at the row limit reads no further.
    ``written``: the same sheet read for its formulas (None: it holds none), row by row beside
    it."""
    # Cells, not values: a number's format says whether it is a percentage.
    rows = _rows(sheet, last_row)
    formula_rows = _rows(written, last_row) if written is not None else None
    missing: tuple[Any, ...] | None = None
    for number in range(1, MAX_SHEET_ROWS + 2):
        try:
            cells = next(rows, None)
            formulas = next(formula_rows, None) if formula_rows is not None else None
        except Exception:  # openpyxl raises many kinds (XML, key, value errors)
            raise _damaged(f"the sheet {sheet.title!r} cannot be read at row {number}") from None
        if cells is None:
            return
        if number > MAX_SHEET_ROWS:
            raise _damaged(
                f"the sheet {sheet.title!r} has rows beyond row {MAX_SHEET_ROWS:,}, the last "
                "an Excel sheet has"
            )
        # openpyxl gives every row number the file skips as one shared empty tuple: a sheet
        # with a cell at its last row costs a million of them, each told by identity.
        if cells is missing:
            continue
        values = tuple(cell.value for cell in cells)
        unsaved = _unsaved_formulas(cells, formulas, placeholders)
        if values.count(None) == len(values) and not unsaved:
            missing = cells
            continue
        yield _record(number, values, _percentages(cells), unsaved)


def _rows(sheet: Any, last_row: int | None) -> Iterator[tuple[Any, ...]]:
    # A sheet's stated size may be wrong (openpyxl would stop at its last row): read all.
    sheet.reset_dimensions()
    return iter(sheet.iter_rows(min_row=1, max_row=last_row, max_col=MAX_COLUMNS))


def _unsaved_formulas(
    cells: tuple[Any, ...], formulas: tuple[Any, ...] | None, placeholders: bool
) -> dict[int, str]:
    """The cells holding a formula saved without its value, with the formula, by index
    (``placeholders``: the workbook's saved results are placeholders, ``calculated_on_load``)."""
    if not formulas:
        return {}
    found = {}
    for index, (shown, written) in enumerate(zip(cells, formulas, strict=True)):
        formula = unsaved_formula(shown, written, calculated_on_load=placeholders)
        if formula is not None:
            found[index] = formula
    return found


def _percentages(cells: tuple[Any, ...]) -> frozenset[int]:
    """The number cells formatted as percentages (0.6 shown as 60%), by index."""
    return frozenset(
        index
        for index, cell in enumerate(cells)
        if isinstance(cell.value, int | float)
        and not isinstance(cell.value, bool)
        and "%" in (cell.number_format or "")
    )


def _record(
    number: int, cells: tuple[Any, ...], percentages: frozenset[int], unsaved: dict[int, str]
) -> Record:
    """A row as text, as a CSV saved from Excel would give it: a number formatted as a
    percentage is written with its sign ("60%" for 0.6), so a weight heading in percent does
    not read it a hundred times too small. ``unsaved``: the formulas saved without a value,
    by index, each a bad cell in a column read."""
    # Trailing empty cells (padding up to MAX_COLUMNS) are no cells a CSV would have.
    width = len(cells)
    while width and cells[width - 1] is None and width - 1 not in unsaved:
        width -= 1
    texts: list[str] = []
    unreadable: dict[int, str] = {}
    numbers: set[int] = set()
    for index in range(width):
        text, why = _cell_text(cells[index], header=False)
        if index in unsaved:
            unreadable[index] = unsaved_formula_problem(unsaved[index])
        elif why is not None:
            unreadable[index] = why
        elif isinstance(cells[index], int | float) and not isinstance(cells[index], bool):
            numbers.add(index)
            if index in percentages:
                text = format((Decimal(text) * 100).normalize(), "f") + "%"
        texts.append(text)
    # Any of the first rows may be the header, where a date or TRUE is a column's name.
    labels = None
    if unreadable and number <= HEADER_SEARCH_ROWS:
        labels = [_cell_text(cell, header=True)[0] for cell in cells[:width]]
    return Record(number, texts, unreadable, labels, frozenset(numbers))


def _cell_text(value: Any, *, header: bool) -> tuple[str, str | None]:
    """The cell as CSV text, or "" and why no text stands for it. A header cell is always
    text: one that names no column is reported as not recognised."""
    if value is None:
        return "", None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value), None
    if header or (isinstance(value, str) and value not in _ERROR_VALUES):
        return str(value), None
    if isinstance(value, str):
        why = f"the cell shows the error {value}; correct the formula or type the value"
    elif isinstance(value, bool):
        why = f"the cell holds the logical value {str(value).upper()}, not text or a number"
    elif isinstance(value, date | time | timedelta):
        shown = value.date() if isinstance(value, datetime) and value.time() == time() else value
        why = (
            f"the cell holds a date or time ({shown}), which no holding column takes; format "
            "the cell as text or a number and type the value again"
        )
    else:
        why = f"the cell holds {value!r}, not text or a number"
    return "", why


def _number_text(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    return format(Decimal(format(value, _EXCEL_DIGITS)), "f")
