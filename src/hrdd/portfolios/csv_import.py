"""Reading a holdings file: decoding a CSV, header matching and row validation, with no
database. An XLSX workbook's rows come here as the same records (``xlsx_import``), so both
kinds of file are read by the one set of rules below.

Columns (any subset that identifies a holding): name, isin, lei, ticker, market_value,
currency, weight, or the headings custodians and data vendors give them, some with a unit
(``hrdd.portfolios.headers``). Other columns are ignored and reported. The file must be
UTF-8, with or without a byte-order mark; the delimiter is a comma, or a semicolon or tab
when the header row uses one (whatever a title line above it holds).

The header is the first of the file's first ``HEADER_SEARCH_ROWS`` rows that names a column
identifying a holding, passing over key-value lines (two cells, one naming a column read)
while a later row names one: custodian exports open with a title block ("Holdings as of 30
Sep 2026", "Account: 12345", "Name,Pension Fund A", an empty line), which is left out,
neither holdings nor problems. Lines keep their numbers in the file.

Numbers may be written with a decimal point or a decimal comma; the file's numbers decide
which, unless the caller says (``hrdd.portfolios.numbers``). Rows are checked once all are
read, as a number at the end may decide how one at the start reads.

Rows giving the same ISIN (or, with no ISIN, the same LEI) are one security, as when a
custodian file lists it once per account: they become one holding at the first row's line,
with market values and weights added up, and are reported as merged.

Every bad row is collected with its line number (a workbook's row number), column and reason,
so a caller can refuse the whole file or keep the good rows. A control character in a cell (tab
and line breaks are white space) makes the cell bad; a NUL byte refuses the whole file, as the
screening import does: it is no text file.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from stdnum import isin as stdnum_isin
from stdnum import lei as stdnum_lei
from stdnum.exceptions import ValidationError as StdnumError

from hrdd.companies.names import name_words
from hrdd.csv_files import refuse_workbook
from hrdd.errors import Invalid, PayloadTooLarge, ProblemDetail
from hrdd.portfolios.headers import (
    ACCEPTED_NAMES,
    IDENTIFYING_COLUMNS,
    PERCENT,
    Heading,
    heading_column,
    read_heading,
)
from hrdd.portfolios.numbers import (
    COMMA,
    POINT,
    Convention,
    number_text,
    readings,
    separator_name,
)
from hrdd.vocab import CURRENCY_CODES

# How far down a file the header row is looked for, below a custodian's title block.
HEADER_SEARCH_ROWS = 20
MAX_NAME_LENGTH = 300
MAX_TICKER_LENGTH = 40
# Matches the Numeric(24, 4) column: 20 digits before the point, 4 after.
MAX_VALUE_DIGITS = 20
MAX_VALUE_DECIMALS = 4
MAX_WEIGHT_DECIMALS = 10
# A response listing more problems than this is no more useful and may be huge.
MAX_REPORTED_PROBLEMS = 1000
# Weights may be rounded; above this total they cannot be shares of one portfolio.
MAX_TOTAL_WEIGHT = Decimal("1.005")
# The words custodian and fund files, in English, German, French, Dutch, Italian and
# Spanish, open their total and subtotal rows with ("Total EUR", "Subtotal Equities",
# "Summe Aktien", "Sous-total", "Totaal"), compared without case, accents or punctuation.
TOTAL_ROW_WORDS = (
    *("total", "totals", "grand total", "subtotal", "sub total", "sum", "sum total"),
    *("summe", "gesamt", "gesamtsumme", "zwischensumme", "sous total", "soustotal", "totaux"),
    *("totaal", "subtotaal", "totale", "subtotale"),
)
# Total rows that do not open with one of those words.
TOTAL_ROW_NAMES = frozenset({"portfolio total", "fund total", "account total"})
# What may follow a total word in a total row ("Total in EUR", "Subtotal Equities", "Summe
# Aktien", "Total général"): anything else makes it a name ("Total Produce", "Sum Up").
_TOTAL_ROW_REST = frozenset(
    {
        *("in", "of", "the", "all", "for", "de", "des", "der", "du", "van", "general", "generale"),
        *("value", "market", "net", "gross", "assets", "holdings", "positions", "portfolio"),
        *("fund", "funds", "account", "securities", "investments", "equities", "equity"),
        *("shares", "stocks", "bonds", "bond", "fixed", "income", "cash", "other", "aktien"),
        *("anleihen", "renten", "fonds", "depot", "wertpapiere", "portefeuille", "actions"),
        *("obligations", "aandelen", "obligaties", "azioni", "obbligazioni", "acciones", "bonos"),
    }
)

# The asset-class headings custodian files put on a row of their own above a group of
# holdings ("Equities", "Fixed Income", "Cash & Equivalents", "Aktien", "Obligations"), in
# the languages of TOTAL_ROW_WORDS, compared without case, accents or punctuation. A row is a
# heading only when its name is made of these words (and currency codes) and it has nothing
# else: no identifier, no number, no currency.
SECTION_ROW_WORDS = frozenset(
    {
        *("equities", "equity", "shares", "stocks", "stock", "bonds", "bond", "fixed", "income"),
        *("cash", "equivalents", "funds", "fund", "securities", "investments", "derivatives"),
        *("money", "market", "alternatives", "listed", "unlisted", "liquidity", "aktien"),
        *("anleihen", "renten", "fonds", "wertpapiere", "liquiditat", "actions", "obligations"),
        *("liquidites", "aandelen", "obligaties", "liquiditeit", "azioni", "obbligazioni"),
        *("liquidita", "acciones", "bonos", "renta", "fija", "variable", "liquidez"),
    }
)
# Words that join a heading's words ("Cash and Equivalents", "Renta Fija y Variable") and
# may not make one alone.
_SECTION_CONNECTORS = frozenset({"and", "und", "et", "en", "e", "y", "other", "others"})

_DELIMITERS = (",", ";", "\t")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TICKER = re.compile(r"^[A-Za-z0-9.:\-/ ]+$")
# C0 controls and DEL, except tab, line feed and carriage return (line breaks inside quotes).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The start of a message saying where in the file a problem is, given its line (None: the
# whole file) and the index of its cell in the row (None: the whole line). A CSV's problem
# path says it all; a workbook's messages name its sheet and cell.
Locate = Callable[[int | None, int | None], str]


def _path_is_enough(line: int | None, index: int | None) -> str:
    return ""


@dataclass(frozen=True)
class Record:
    """One row of a holdings file, as text. A workbook cell that no text stands for (a date,
    TRUE, an error value) is given as "" with why in ``unreadable``, by the cell's index; it is
    a bad cell only in a column that is read. ``labels``: the row read as a header, where that
    differs from ``cells`` (a date or TRUE heading a column is a name not recognised)."""

    line: int
    cells: list[str]
    unreadable: dict[int, str] = field(default_factory=dict)
    labels: list[str] | None = None
    # The cells holding numbers rather than text (a workbook's number cells), by index: given
    # with a decimal point, whatever separator the file's text uses.
    numbers: frozenset[int] = frozenset()

    @property
    def header_cells(self) -> list[str]:
        return self.cells if self.labels is None else self.labels

    @property
    def filled(self) -> int:
        """Cells with something in them (a CSV saved from Excel pads rows with delimiters)."""
        return sum(1 for cell in self.header_cells if cell.strip())


@dataclass(frozen=True)
class HeaderSearch:
    """The rows looked at for the header: the header ``search_header`` chose, with the rows
    above it that are not blank (all those looked at when none names a holding column)."""

    header: Record | None
    preamble: list[Record]
    # The last row looked at: HEADER_SEARCH_ROWS, or the file's last row when it ends before.
    last_line: int
    # Rows read past the header while looking for a better one: the first rows after it.
    after: list[Record] = field(default_factory=list)

    @property
    def columns_named(self) -> int:
        """How many of the columns read the header names (0 without one)."""
        return _columns_named(self.header) if self.header is not None else 0

    @property
    def heads_a_table(self) -> bool:
        """Whether a header was found that is no key-value line ("Name,Pension Fund A")."""
        return self.header is not None and not _key_value_line(self.header)

    @property
    def widest(self) -> Record | None:
        """Of rows naming no holding column, the likeliest header: the first of the widest."""
        return max(self.preamble, key=lambda record: record.filled, default=None)


@dataclass(frozen=True)
class HoldingRow:
    """One valid row, normalised: identifiers upper-case, money as Decimal, weight 0..1."""

    line: int
    name: str | None
    isin: str | None
    lei: str | None
    ticker: str | None
    market_value: Decimal | None
    currency: str
    weight: Decimal | None


@dataclass
class ParsedFile:
    rows: list[HoldingRow] = field(default_factory=list)
    # Where the header was, so an investor can check the right rows were read.
    header_line: int = 1
    preamble_rows: int = 0
    # The workbook's sheet read; None for a CSV.
    sheet: str | None = None
    # The workbook's other visible sheets with a table's header, not read.
    other_sheets: list[str] = field(default_factory=list)
    # How the file's numbers written as text were read (``hrdd.portfolios.numbers``).
    decimal_separator: str = POINT
    decimal_separator_from: str = ""
    problems: list[ProblemDetail] = field(default_factory=list)
    bad_lines: set[int] = field(default_factory=set)
    ignored_columns: list[str] = field(default_factory=list)
    # Rows merged into an earlier row of the same security, by the merged row's line.
    merged: list[ProblemDetail] = field(default_factory=list)
    # Total and subtotal rows, as custodian files end with: left out, by their line.
    totals: list[ProblemDetail] = field(default_factory=list)
    # Asset-class headings on a row of their own ("Equities"): left out, by their line.
    sections: list[ProblemDetail] = field(default_factory=list)
    locate: Locate = _path_is_enough
    # Each column read -> its index in the row, for ``locate``.
    positions: dict[str, int] = field(default_factory=dict)

    @property
    def left_out(self) -> int:
        """Rows read and left out as no holding (totals, headings): they count toward the
        row limit as the holdings do."""
        return len(self.totals) + len(self.sections)

    def problem(self, line: int, column: str | None, message: str) -> ProblemDetail:
        path = f"file.line.{line}" + (f".{column}" if column else "")
        index = self.positions.get(column) if column else None
        return ProblemDetail(path=path, message=self.locate(line, index) + message)


class _RowProblem(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def decode(data: bytes) -> str:
    """The text of a UTF-8 file; 415 for a workbook, a 422 naming the line for other bytes."""
    refuse_workbook(data)
    if data.startswith(_UTF16_BOMS):
        raise Invalid.at(
            "file", "the file is UTF-16; save it as CSV UTF-8 (with or without a byte-order mark)"
        )
    data = data.removeprefix(_UTF8_BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise Invalid.at(
            f"file.line.{line}",
            f"byte 0x{data[exc.start]:02x} is not UTF-8: the file seems to use another "
            "encoding (e.g. Latin-1 or Windows-1252); save it as CSV UTF-8 and upload it again",
            detail="the file is not UTF-8 text; save it as CSV UTF-8 and upload it again",
        ) from None


def _delimiter(text: str) -> str:
    """The delimiter with which the header row is found first; a title line above it may hold
    commas or semicolons of its own, so it is not the first line that decides. Two finding it
    on one line: the one splitting it into more cells. None finding it: the one splitting a
    row looked at into the most cells, so the header error lists that row's columns."""

    def rank(delimiter: str) -> tuple[bool, int, int]:
        try:
            search = search_header(_records(text, delimiter))
        except Invalid:  # a line this delimiter cannot read; the file's parse will say so
            return False, 0, 0
        if search.header is None:
            widest = search.widest
            return False, 0, widest.filled if widest else 0
        return True, -search.header.line, search.header.filled

    # max keeps the first of equals: the comma, as a one-column header has no delimiter.
    return max(_DELIMITERS, key=rank)


@dataclass(frozen=True)
class HeaderColumns:
    """What a header says: each column read, by index, with its heading; the header's cells
    not read."""

    positions: dict[str, int]
    headings: dict[str, Heading]
    ignored: list[str]

    def unit(self, column: str) -> str | None:
        heading = self.headings.get(column)
        return heading.unit if heading is not None else None


def _header_columns(header: Record, locate: Locate, base_currency: str = "") -> HeaderColumns:
    """The columns the header names. Of two headings of one column, the lower rank is read; a
    market value in the portfolio's currency ("Market Value (EUR)") before one with no
    currency, and that before one in another."""

    def preference(heading: Heading) -> tuple[int, int]:
        if heading.column != "market_value" or heading.unit is None:
            return 1, heading.rank
        return (0 if heading.unit == base_currency else 2), heading.rank

    found: dict[str, tuple[Heading, int]] = {}  # column -> (heading, index)
    cells = header.header_cells
    for index, cell in enumerate(cells):
        heading = read_heading(cell)
        if heading is None:
            continue
        earlier = found.get(heading.column)
        if earlier is not None and preference(earlier[0]) == preference(heading):
            first = cells[earlier[1]].strip()
            raise Invalid.at(
                f"file.line.{header.line}",
                locate(header.line, None) + f"columns {earlier[1] + 1} ({first!r}) and "
                f"{index + 1} ({cell.strip()!r}) both give the {heading.column}; keep one",
            )
        if earlier is None or preference(heading) < preference(earlier[0]):
            found[heading.column] = (heading, index)
    positions = {column: index for column, (_, index) in found.items()}
    read = set(positions.values())
    ignored = [
        cell.strip() for index, cell in enumerate(cells) if index not in read and cell.strip()
    ]
    return HeaderColumns(positions, {column: h for column, (h, _) in found.items()}, ignored)


def search_header(records: Iterator[Record]) -> HeaderSearch:
    """Read ``records`` through the rows looked at for the header: the first that names a
    holding column, passing over key-value lines (``_key_value_line``: "Name,Pension Fund
    A" in a custodian's title block) while a later row naming a holding column is none. A
    real header is never passed over for a later one, which would turn the holdings above
    that one into a title block. The records read past the header are in ``after``, the rest
    are left to be read."""
    looked_at: list[Record] = []
    last_line = 0
    for record in records:
        looked_at.append(record)
        if record.line > HEADER_SEARCH_ROWS:
            last_line = HEADER_SEARCH_ROWS
            break
        last_line = record.line
        if names_a_holding_column(record.header_cells) and not _key_value_line(record):
            break
    candidates = [
        record
        for record in looked_at
        if record.line <= HEADER_SEARCH_ROWS and names_a_holding_column(record.header_cells)
    ]
    header = next(
        (record for record in candidates if not _key_value_line(record)),
        candidates[0] if candidates else None,
    )
    if header is None:
        preamble = [r for r in looked_at if r.line <= HEADER_SEARCH_ROWS and r.filled]
        return HeaderSearch(None, preamble, last_line)
    position = looked_at.index(header)
    preamble = [record for record in looked_at[:position] if record.filled]
    return HeaderSearch(header, preamble, last_line, after=looked_at[position + 1 :])


def _key_value_line(record: Record) -> bool:
    """Two filled cells of which one names a column read and the other none: a title
    block's "Name,Pension Fund A", or "ISIN,IE00B4L5Y983" naming a fund's own code."""
    return record.filled == 2 and _columns_named(record) == 1


def _columns_named(record: Record) -> int:
    """How many of the columns read a row names, were it the header."""
    named = {heading_column(cell) for cell in record.header_cells}
    return len(named - {None})


def _no_header(search: HeaderSearch, locate: Locate) -> Invalid:
    """The file's first rows name no holding column: say which rows were looked at, and the
    columns of the one likeliest meant as the header."""
    looked_at = "row 1" if search.last_line == 1 else f"rows 1 to {search.last_line}"
    widest = search.widest
    if widest is None:
        nothing = f" (nothing in {looked_at})" if search.last_line else ""
        return Invalid.at(
            "file.line.1", locate(None, None) + "the file has no header row" + nothing
        )
    ignored = _header_columns(widest, locate).ignored
    not_read = f"row {widest.line} has {_not_read(ignored)}" if ignored else ""
    return Invalid.at(
        "file.line.1",
        locate(None, None)
        + f"no header row found: none of {looked_at} names any of the columns name, isin, lei, "
        f"ticker; the file needs a header row naming at least one of them within its first "
        f"{HEADER_SEARCH_ROWS} rows ({not_read}columns read: {ACCEPTED_NAMES}, "
        "market_value, currency, weight)",
    )


def names_a_holding_column(header: Sequence[str]) -> bool:
    """Whether a header row names a column that identifies a holding (name, ISIN, LEI, ticker
    or one of the name column's other headings)."""
    return any(heading_column(cell) in IDENTIFYING_COLUMNS for cell in header)


def _not_read(ignored: list[str]) -> str:
    return f"columns not recognised: {', '.join(map(repr, ignored))}; " if ignored else ""


def _clean(value: str) -> str:
    """Runs of white space (line breaks too) made one space."""
    return " ".join(value.split())


def _refuse_nul(line: int, raw: list[str], columns: dict[int, str], locate: Locate) -> None:
    for index, cell in enumerate(raw):
        if "\x00" in cell:
            column = columns.get(index)
            where = "the cell" if column else f"column {index + 1}"
            path = f"file.line.{line}" + (f".{column}" if column else "")
            raise Invalid.at(
                path, locate(line, index) + f"NUL byte in {where}; this is not a text file"
            )


def _name(value: str) -> str | None:
    if not value:
        return None
    if len(value) > MAX_NAME_LENGTH:
        raise _RowProblem("name", f"is longer than {MAX_NAME_LENGTH} characters")
    return value


def _isin(value: str) -> str | None:
    if not value:
        return None
    try:
        return stdnum_isin.validate(value)
    except StdnumError as exc:
        raise _RowProblem("isin", f"{value!r} is not a valid ISIN ({exc.message})") from None


def _lei(value: str) -> str | None:
    if not value:
        return None
    try:
        return stdnum_lei.validate(value)
    except StdnumError as exc:
        raise _RowProblem("lei", f"{value!r} is not a valid LEI ({exc.message})") from None


def _ticker(value: str) -> str | None:
    if not value:
        return None
    if len(value) > MAX_TICKER_LENGTH or not _TICKER.match(value):
        raise _RowProblem(
            "ticker",
            f"{value!r} is not a ticker (letters, digits and . : - / or spaces, at most "
            f"{MAX_TICKER_LENGTH} characters; e.g. NASDAQ:CLBT)",
        )
    return value.upper()


@dataclass(frozen=True)
class _Reading:
    """What a row's cells are read against: the portfolio's currency, and the decimal separator
    of the file's numbers with what decided it."""

    base_currency: str
    separator: str = POINT
    separator_from: str = ""
    given: bool = False
    # A header such as "Weight (%)" gives weights in percent: 5.2 is 5.2%.
    weight_in_percent: bool = False

    def of(self, column: str, numbers: frozenset[str]) -> _Reading:
        """How a row reads ``column``: a number cell (``numbers``) has a decimal point."""
        return replace(self, separator=POINT, separator_from="") if column in numbers else self


def _decimal(column: str, value: str, reading: _Reading, *, shown: str | None = None) -> Decimal:
    """``value`` as a number; messages quote ``shown``, the cell as written (default
    ``value``)."""
    text = number_text(value)
    value = value if shown is None else shown
    ways = readings(text)
    if ways and reading.separator not in ways:
        (other,) = ways
        advice = (
            f"write it with {separator_name(reading.separator)}"
            if reading.given
            else "write every number of the file one way, or give decimal_separator with the upload"
        )
        raise _RowProblem(
            column,
            f"{value!r} reads only with {separator_name(other)}, but the file's numbers are "
            f"read with {separator_name(reading.separator)} ({reading.separator_from}); {advice}",
        )
    try:
        number = Decimal(ways.get(reading.separator, text))
    except InvalidOperation:
        raise _RowProblem(
            column, f"{value!r} is not a number (write e.g. {_example(column, reading)})"
        ) from None
    if not number.is_finite():
        raise _RowProblem(column, f"{value!r} is not a finite number")
    return number


def _example(column: str, reading: _Reading) -> str:
    if column == "weight":
        examples = ("5.2", "5.2%") if reading.weight_in_percent else ("0.052", "5.2%")
    else:
        examples = ("1234567.89",)
    if reading.separator == COMMA:
        examples = tuple(example.replace(".", ",") for example in examples)
    return " or ".join(examples)


def _decimal_places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _market_value(value: str, reading: _Reading) -> Decimal | None:
    if not value:
        return None
    number = _decimal("market_value", value, reading)
    if number < 0:
        raise _RowProblem("market_value", f"{value} is negative; short positions are not supported")
    if _decimal_places(number) > MAX_VALUE_DECIMALS:
        raise _RowProblem(
            "market_value", f"{value} has more than {MAX_VALUE_DECIMALS} decimal places"
        )
    if number >= Decimal(10) ** MAX_VALUE_DIGITS:
        raise _RowProblem("market_value", f"{value} is too large")
    return number


def _weight(value: str, reading: _Reading) -> Decimal | None:
    if not value:
        return None
    is_percent = value.endswith("%")
    number = _decimal("weight", value.removesuffix("%"), reading, shown=value)
    if is_percent or reading.weight_in_percent:
        number = number / 100
    if number < 0 or number > 1:
        if reading.weight_in_percent and not is_percent:
            raise _RowProblem(
                "weight", f"{value} is outside 0..100, and the header gives weights in percent"
            )
        raise _RowProblem(
            "weight",
            f"{value} is outside 0..1; write a fraction (0.05) or a percentage (5%)",
        )
    if _decimal_places(number) > MAX_WEIGHT_DECIMALS:
        raise _RowProblem("weight", f"{value} has more than {MAX_WEIGHT_DECIMALS} decimal places")
    return number


def _currency(value: str, reading: _Reading) -> str:
    base_currency = reading.base_currency
    if not value:
        return base_currency
    code = value.upper()
    if code not in CURRENCY_CODES:
        raise _RowProblem("currency", f"{value!r} is not an ISO 4217 currency code such as EUR")
    if code != base_currency:
        raise _RowProblem(
            "currency",
            f"{code} differs from the portfolio's base currency {base_currency}; hrdd keeps "
            "no exchange rates, so convert market values to the base currency first",
        )
    return code


def _row(
    line: int, cells: dict[str, str], reading: _Reading, numbers: frozenset[str]
) -> HoldingRow:
    """A row that ``_row_problems`` found nothing wrong with."""
    return HoldingRow(
        line=line,
        name=_name(cells.get("name", "")),
        isin=_isin(cells.get("isin", "")),
        lei=_lei(cells.get("lei", "")),
        ticker=_ticker(cells.get("ticker", "")),
        market_value=_market_value(
            cells.get("market_value", ""), reading.of("market_value", numbers)
        ),
        currency=_currency(cells.get("currency", ""), reading),
        weight=_weight(cells.get("weight", ""), reading.of("weight", numbers)),
    )


_CHECKS: dict[str, Callable[[str, _Reading], object]] = {
    "name": lambda value, _: _name(value),
    "isin": lambda value, _: _isin(value),
    "lei": lambda value, _: _lei(value),
    "ticker": lambda value, _: _ticker(value),
    "market_value": _market_value,
    "currency": _currency,
    "weight": _weight,
}
# The columns holding numbers, whose decimal separator the file decides.
_NUMBER_COLUMNS = ("market_value", "weight")


def _row_problems(
    parsed: ParsedFile,
    line: int,
    raw: dict[str, str],
    unreadable: dict[str, str],
    reading: _Reading,
    numbers: frozenset[str],
) -> list[ProblemDetail]:
    """Every bad cell of a row, not only the first, so one upload fixes them all."""
    problems = []
    for column, check in _CHECKS.items():
        if column in unreadable:
            problems.append(parsed.problem(line, column, unreadable[column]))
            continue
        control = _CONTROL_CHARACTERS.search(raw.get(column, ""))
        if control is not None:
            # Refused, not dropped: the cell may not say what the sender thinks it says.
            message = f"contains the control character U+{ord(control.group()):04X}; remove it"
            problems.append(parsed.problem(line, column, message))
            continue
        try:
            check(_clean(raw.get(column, "")), reading.of(column, numbers))
        except _RowProblem as problem:
            problems.append(parsed.problem(line, problem.column, problem.message))
    if not _names_holding(raw, unreadable):
        problems.append(
            parsed.problem(line, None, "the row names no holding: give a name, ISIN, LEI or ticker")
        )
    return problems


def _names_holding(cells: dict[str, str], unreadable: dict[str, str]) -> bool:
    # An unreadable identifier cell was meant to name one: its own problem says what is wrong.
    return any(
        _clean(cells.get(column, "")) or column in unreadable for column in IDENTIFYING_COLUMNS
    )


def _records(text: str, delimiter: str) -> Iterator[Record]:
    """Each CSV record at its first line number; quoted cells may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield Record(start, cells)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise Invalid.at(f"file.line.{start}", f"the CSV cannot be read here: {exc}") from None


def parse_holdings(
    data: bytes, base_currency: str, max_rows: int, decimal_separator: str | None = None
) -> ParsedFile:
    """Validate a whole CSV file (``parse_records`` says what raises and what is collected).
    A semicolon-delimited file's numbers are read with a decimal comma unless they say
    otherwise (``hrdd.portfolios.numbers``)."""
    text = decode(data)
    delimiter = _delimiter(text)
    convention = Convention(decimal_separator, COMMA if delimiter == ";" else POINT)
    return parse_records(_records(text, delimiter), base_currency, max_rows, convention)


@dataclass(frozen=True)
class _Candidate:
    """A row that is no title, header or total, its cells to be checked once the file's
    numbers have decided their decimal separator."""

    line: int
    cells: dict[str, str]
    unreadable: dict[str, str]
    numbers: frozenset[str]


def parse_records(
    records: Iterator[Record],
    base_currency: str,
    max_rows: int,
    convention: Convention,
    locate: Locate = _path_is_enough,
) -> ParsedFile:
    """Validate the records of a file, the rows above its header (``search_header``) left out.
    Problems with the file itself (header, size) raise; bad rows are collected in ``problems``
    with ``bad_lines``. Records are read one at a time and no further than ``max_rows``
    holdings; their cells are checked once all are read, as the file's numbers decide how
    they are all read (``convention``)."""
    search = search_header(records)
    # A NUL byte refuses the whole file, in its title block too: it is no text file.
    for record in search.preamble:
        _refuse_nul(record.line, record.cells, {}, locate)
    header = search.header
    if header is None:
        raise _no_header(search, locate)
    _refuse_nul(header.line, header.cells, {}, locate)
    header_columns = _header_columns(header, locate, base_currency)
    positions, ignored = header_columns.positions, header_columns.ignored
    value_currency = header_columns.unit("market_value")
    if value_currency is not None:
        cell = header.header_cells[positions["market_value"]].strip()
        if value_currency != base_currency:
            raise Invalid.at(
                f"file.line.{header.line}.market_value",
                locate(header.line, positions["market_value"])
                + f"the header {cell!r} gives market values in {value_currency}, but the "
                f"portfolio's base currency is {base_currency}; hrdd keeps no exchange rates, "
                f"so give market values in {base_currency}",
            )
        if "currency" in positions:
            # The market values' currency is the header's: a currency column then gives each
            # security's own, which nothing here reads.
            ignored.append(header.header_cells[positions.pop("currency")].strip())
    columns = {index: column for column, index in positions.items()}
    parsed = ParsedFile(
        header_line=header.line,
        preamble_rows=len(search.preamble),
        ignored_columns=ignored,
        locate=locate,
        positions=positions,
    )
    width = len(header.cells)
    problems_at: dict[int, list[ProblemDetail]] = {}
    candidates: list[_Candidate] = []
    second_header: int | None = None
    for record in itertools.chain(search.after, records):
        line, raw = record.line, record.cells
        _refuse_nul(line, raw, columns, locate)
        if not any(cell.strip() for cell in raw) and not any(
            i in columns for i in record.unreadable
        ):
            continue  # blank lines, often at the end of spreadsheet exports
        if len(candidates) + len(parsed.bad_lines) + parsed.left_out >= max_rows:
            message = (
                f"the file has more than {max_rows} holdings; split it or raise HRDD_MAX_CSV_ROWS"
            )
            raise PayloadTooLarge(
                locate(None, None) + message,
                errors=[ProblemDetail(path="file", message=locate(None, None) + message)],
            )
        if len(raw) > width:
            parsed.bad_lines.add(line)
            problems_at[line] = [
                parsed.problem(
                    line,
                    None,
                    f"the row has {len(raw)} cells, the header (row {header.line}) only {width}",
                )
            ]
            continue
        if second_header is None and (
            names_a_holding_column(record.header_cells) and not _key_value_line(record)
        ):
            # A second table's header: read as a holding it would be one named "Name".
            second_header = line
            parsed.bad_lines.add(line)
            named = ", ".join(cell.strip() for cell in record.header_cells if cell.strip())
            problems_at[line] = [
                parsed.problem(
                    line,
                    None,
                    f"the row looks like another header ({named}) below the header at row "
                    f"{header.line}: a file holds one table; import each table apart",
                )
            ]
            continue
        if second_header is not None:
            # Its rows would fall under the first header's columns: a weight read as a number
            # of shares, a name as a ticker.
            parsed.bad_lines.add(line)
            problems_at[line] = [
                parsed.problem(
                    line,
                    None,
                    f"the row is below another table's header (row {second_header}), so it "
                    f"would be read under the columns of the header at row {header.line}: "
                    "import each table apart",
                )
            ]
            continue
        cells = {
            column: raw[index] if index < len(raw) else "" for column, index in positions.items()
        }
        unreadable = {columns[i]: why for i, why in record.unreadable.items() if i in columns}
        if _is_total(cells):
            parsed.totals.append(
                parsed.problem(
                    line,
                    "name",
                    f"{_clean(cells['name'])!r} with no ISIN, LEI or ticker is read as a total "
                    "of the rows above, not a holding: left out",
                )
            )
            continue
        # In a file of names alone every row has nothing else: "Money Market Fund" is a
        # holding there.
        if len(positions) > 1 and _is_section_heading(cells, unreadable):
            parsed.sections.append(
                parsed.problem(
                    line,
                    "name",
                    f"{_clean(cells['name'])!r} with nothing else on its row is read as a "
                    "heading of the holdings below it (an asset class), not a holding: left out",
                )
            )
            continue
        numbers = frozenset(columns[i] for i in record.numbers if i in columns)
        for column in _NUMBER_COLUMNS:
            if column in cells and column not in numbers and column not in unreadable:
                convention.observe(line, _clean(cells[column]))
        candidates.append(_Candidate(line, cells, unreadable, numbers))

    separator, separator_from = convention.decide()
    parsed.decimal_separator, parsed.decimal_separator_from = separator, separator_from
    reading = _Reading(
        base_currency,
        separator,
        separator_from,
        given=convention.given is not None,
        weight_in_percent=header_columns.unit("weight") == PERCENT,
    )
    unnamed = 0
    for candidate in candidates:
        line, cells, unreadable = candidate.line, candidate.cells, candidate.unreadable
        problems = _row_problems(parsed, line, cells, unreadable, reading, candidate.numbers)
        if problems:
            unnamed += not _names_holding(cells, unreadable)
            parsed.bad_lines.add(line)
            problems_at[line] = problems
            continue
        parsed.rows.append(
            _row(line, {c: _clean(v) for c, v in cells.items()}, reading, candidate.numbers)
        )
    parsed.problems = [problem for line in sorted(problems_at) for problem in problems_at[line]]
    if not parsed.rows and not parsed.bad_lines:
        raise Invalid.at("file", locate(None, None) + "the file has a header but no holdings")
    if unnamed and ignored:
        # First, so the cause is read before the rows it explains (and never cut off).
        parsed.problems.insert(
            0,
            parsed.problem(
                header.line,
                None,
                f"{unnamed} row(s) name no holding, and the header has {_not_read(ignored)}"
                f"a holding is named by a column headed {ACCEPTED_NAMES}",
            ),
        )
    _merge_same_securities(parsed)
    total_weight = sum((row.weight for row in parsed.rows if row.weight is not None), Decimal(0))
    if total_weight > MAX_TOTAL_WEIGHT:
        # With the rows that could not be read, which may be why the sum is off (a weight of
        # 150% refused on its line leaves the rest adding up to more than it should).
        read = "of the rows that could be read " if parsed.bad_lines else ""
        total = ProblemDetail(
            path="file.weight",
            message=locate(None, None)
            + f"the weights {read}add up to {total_weight * 100:.2f}%, more than 100%: "
            "they must be each holding's share of the portfolio",
        )
        problems = [*parsed.problems, total]
        raise Invalid("; ".join(p.message for p in problems), errors=problems)
    return parsed


def _is_total(cells: dict[str, str]) -> bool:
    """A total or subtotal row of a custodian's file: counted as a holding it would double the
    portfolio's value. Only a name opening with a total word (``TOTAL_ROW_WORDS``) followed by
    nothing, a currency, or the words of an asset class or portfolio (``_TOTAL_ROW_REST``),
    and only with no identifier: a company may be named Total ("Total SE", "Total Produce"),
    and then it has an identifier or other words."""
    if any(_clean(cells.get(column, "")) for column in ("isin", "lei", "ticker")):
        return False
    name = _clean(cells.get("name", ""))
    if not name[:1].isalpha():
        return False  # "+SUM(1,2)" is a formula, not a total row
    words = name_words(name)
    if " ".join(words) in TOTAL_ROW_NAMES:
        return True
    for total in _TOTAL_WORDS:
        if tuple(words[: len(total)]) == total:
            return all(
                word in _TOTAL_ROW_REST or word.upper() in CURRENCY_CODES
                for word in words[len(total) :]
            )
    return False


def _is_section_heading(cells: dict[str, str], unreadable: dict[str, str]) -> bool:
    """An asset-class heading on a row of its own ("Equities", "Fixed Income EUR"), as
    custodian files group their holdings: a name of ``SECTION_ROW_WORDS`` (with connectors
    and currency codes) and no other cell read. A holding has an identifier or a number, and
    a company named "Cash" would have one."""
    if unreadable or any(_clean(text) for column, text in cells.items() if column != "name"):
        return False
    words = name_words(_clean(cells.get("name", "")))
    if not any(word in SECTION_ROW_WORDS for word in words):
        return False
    return all(
        word in SECTION_ROW_WORDS or word in _SECTION_CONNECTORS or word.upper() in CURRENCY_CODES
        for word in words
    )


# Longest first: "sub total" is read as one, not as "sub".
_TOTAL_WORDS = sorted((tuple(words.split()) for words in TOTAL_ROW_WORDS), key=len, reverse=True)


def _security_key(row: HoldingRow) -> tuple[str, str] | None:
    if row.isin:
        return "ISIN", row.isin
    return ("LEI", row.lei) if row.lei else None


def _sum(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    return None if first is None or second is None else first + second


def _merge_problem(
    parsed: ParsedFile, key: tuple[str, str], kept: HoldingRow, row: HoldingRow
) -> ProblemDetail | None:
    """Why ``row`` cannot be added to ``kept``, the earlier row of the same security."""
    label, value = key
    same = f"{label} {value} is also on line {kept.line}"
    if kept.lei and row.lei and kept.lei != row.lei:
        return parsed.problem(
            row.line,
            "lei",
            f"{same}, with LEI {kept.lei}: one security has one issuer; correct one of the lines",
        )
    for column in ("market_value", "weight"):
        if (getattr(kept, column) is None) != (getattr(row, column) is None):
            return parsed.problem(
                row.line,
                column,
                f"{same}, and one of the two has no {column}: rows of one security are added "
                f"up, so give a {column} on both lines or on neither",
            )
    total = _sum(kept.market_value, row.market_value)
    if total is not None and total >= Decimal(10) ** MAX_VALUE_DIGITS:
        return parsed.problem(row.line, "market_value", f"{same}; together they are too large")
    return None


def _merge_same_securities(parsed: ParsedFile) -> None:
    """Rows of one security (``_security_key``), e.g. held in two accounts, become one
    holding at the first row's line: counted once, with market values and weights added up.
    A row that contradicts the first (another LEI) or cannot be added to it is a bad row."""
    kept: list[HoldingRow] = []
    first: dict[tuple[str, str], int] = {}  # security -> index in kept
    for row in parsed.rows:
        key = _security_key(row)
        if key is None or key not in first:
            if key is not None:
                first[key] = len(kept)
            kept.append(row)
            continue
        earlier = kept[first[key]]
        problem = _merge_problem(parsed, key, earlier, row)
        if problem is not None:
            parsed.bad_lines.add(row.line)
            parsed.problems.append(problem)
            continue
        kept[first[key]] = replace(
            earlier,
            name=earlier.name or row.name,
            lei=earlier.lei or row.lei,
            ticker=earlier.ticker or row.ticker,
            market_value=_sum(earlier.market_value, row.market_value),
            weight=_sum(earlier.weight, row.weight),
        )
        label, value = key
        parsed.merged.append(
            parsed.problem(
                row.line,
                None,
                f"same {label} {value} as line {earlier.line}: merged into that holding "
                "(market values and weights added up)",
            )
        )
    parsed.rows = kept


def problems_invalid(parsed: ParsedFile) -> Invalid:
    shown = parsed.problems[:MAX_REPORTED_PROBLEMS]
    more = len(parsed.problems) - len(shown)
    detail = (
        f"{len(parsed.bad_lines)} bad row(s) (first at line {min(parsed.bad_lines)}); nothing "
        "was imported. Fix them, or send keep_good_rows=true to import the other rows"
    )
    if more:
        detail += f"; {more} more problem(s) not listed"
    return Invalid(detail, errors=shown)
