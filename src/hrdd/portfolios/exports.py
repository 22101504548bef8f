"""Tabular exports: the portfolio risk view and the organisation's assessment scores as CSV,
XLSX and JSON.

Spreadsheets execute cells that start with = + - @ (and some read a leading tab or carriage
return the same way), so every text cell starting with one of them gets a leading apostrophe:
a company called "=HYPERLINK(...)" is shown as text, never run. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from hrdd.companies.names import DIRECTION_CONTROLS
from hrdd.dates import iso_date
from hrdd.portfolios.figures import fixed_point
from hrdd.portfolios.schemas import HoldingRisk, OwnedExposure, PortfolioRisk
from hrdd.scoring.schemas import ScoreSummary
from hrdd.workbooks import FORMULA_TRIGGERS, XLSX_MEDIA_TYPE


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: XLSX_MEDIA_TYPE,
    ExportFormat.json: "application/json",
}


class Kind(StrEnum):
    """How a column is formatted in XLSX."""

    text = "text"
    integer = "integer"
    money = "money"
    share = "share"
    score = "score"
    day = "day"


_NUMBER_FORMATS = {
    Kind.integer: "0",
    Kind.money: "#,##0.00",
    Kind.share: "0.00%",
    Kind.score: "0.0",
    Kind.day: "yyyy-mm-dd",
}
_WIDTHS = {Kind.text: 28, Kind.integer: 8, Kind.money: 16, Kind.share: 10, Kind.score: 8}


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind
    value: Callable[[Any], Any]


def download_name(subject: str, kind: str, day: date, extension: str) -> str:
    """An ASCII file name naming the subject and the date, e.g.
    'nso-group-technologies-limited-company-report-2025-03-01.pdf'."""
    ascii_text = unicodedata.normalize("NFKD", subject).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.casefold()).strip("-")[:80] or "export"
    return f"{slug}-{kind}-{day.isoformat()}.{extension}"


# A cell shows text in the order it is stored, as the PDFs do (``DIRECTION_CONTROLS``).
_DIRECTION_CONTROLS = str.maketrans("", "", DIRECTION_CONTROLS)


def neutralise(text: str) -> str:
    """A text cell made safe to open in a spreadsheet, shown in the order it is stored."""
    text = text.translate(_DIRECTION_CONTROLS)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return fixed_point(value)
    if isinstance(value, int | float):
        return str(value)
    return neutralise(str(value))


def write_csv(columns: Sequence[Column], rows: Sequence[Any]) -> bytes:
    """UTF-8 with a byte-order mark, which Excel needs to read the file as UTF-8. Every cell
    is quoted: Excel splits a line at its locale's list separator, often ';', and a ';' inside
    an unquoted cell would open a cell of its own ("Acme;=cmd|..." was a live formula in the
    security test); inside quotes it is text."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([column.title for column in columns])
    for row in rows:
        writer.writerow([_cell_text(column.value(row)) for column in columns])
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind in (Kind.money, Kind.share) and isinstance(value, Decimal):
        return value
    if kind in (Kind.integer, Kind.score) and isinstance(value, int | float | Decimal):
        return value
    if kind is Kind.day and isinstance(value, date):
        return value
    return _cell_text(value)


def write_xlsx(columns: Sequence[Column], rows: Sequence[Any], sheet_title: str) -> bytes:
    """One sheet: a bold header row, frozen below the header, number formats per column."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        width = max(_WIDTHS.get(column.kind, 12), len(column.title) + 2)
        sheet.column_dimensions[get_column_letter(index)].width = width
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=neutralise(column.title))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=_xlsx_value(column.value(row), column.kind))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            elif column.kind in _NUMBER_FORMATS:
                cell.number_format = _NUMBER_FORMATS[column.kind]
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- portfolio risk --------------------------------------------------------------------------


def _exposure_text(exposure: OwnedExposure) -> str:
    stake = f"{exposure.percentage}%" if exposure.percentage is not None else "stake unknown"
    precision = exposure.date_precision
    since = iso_date(exposure.start_date, precision) if exposure.start_date else "?"
    if exposure.end_date:
        until = iso_date(exposure.end_date, precision)
    else:
        # A stake with no end date that does not count has not started yet.
        until = "now" if exposure.current else "?"
    band = exposure.band.value if exposure.band else "unassessed"
    via = f" via {' > '.join(exposure.via)}" if exposure.via else ""
    text = f"{exposure.company_name}{via} ({stake}, {since} to {until}, {band})"
    if exposure.current:
        return text
    return (
        f"{text}: {'ended, no longer counts' if exposure.ended else 'not current, does not count'}"
    )


def _scored_company(holding: HoldingRisk) -> str | None:
    if holding.scored_company_id is None or holding.scored_company_id == holding.company_id:
        return holding.company_name
    for exposure in holding.exposure_via:
        if exposure.company_id == holding.scored_company_id:
            return exposure.company_name
    return None


RISK_COLUMNS: tuple[Column, ...] = (
    Column("line", Kind.integer, lambda h: h.line),
    Column("holding", Kind.text, lambda h: h.name),
    Column("isin", Kind.text, lambda h: h.isin),
    Column("lei", Kind.text, lambda h: h.lei),
    Column("ticker", Kind.text, lambda h: h.ticker),
    Column("market_value", Kind.money, lambda h: h.market_value),
    Column("currency", Kind.text, lambda h: h.currency),
    # Two weights, named apart: the view's share of this portfolio's value (recomputed from
    # the market values of the holdings imported, when they are the basis) and the file's own
    # weight, the custodian's share of the whole fund; an investor loading part of a fund
    # quoting the first as the second would be wrong.
    Column("share_of_value", Kind.share, lambda h: h.weight),
    Column("file_weight", Kind.share, lambda h: h.file_weight),
    Column("company", Kind.text, lambda h: h.company_name),
    Column("resolution", Kind.text, lambda h: h.resolution.value),
    Column("assessed", Kind.text, lambda h: h.assessed),
    Column("score_basis", Kind.text, lambda h: h.basis.value if h.basis else None),
    Column("scored_company", Kind.text, _scored_company),
    # Empty for a score on evidence alone: its band says nothing about the company's practice.
    Column(
        "assessment_status",
        Kind.text,
        lambda h: h.assessment_status.value if h.assessment_status else None,
    ),
    Column("overall", Kind.score, lambda h: h.overall),
    Column("band", Kind.text, lambda h: h.band.value if h.band else None),
    Column("confidence", Kind.text, lambda h: h.confidence.value if h.confidence else None),
    Column("range_low", Kind.score, lambda h: h.sensitivity_low),
    Column("range_high", Kind.score, lambda h: h.sensitivity_high),
    Column("overrides", Kind.text, lambda h: "; ".join(o.rule_id for o in h.overrides) or None),
    Column("action", Kind.text, lambda h: h.action.value if h.action else None),
    Column("action_reason", Kind.text, lambda h: h.action_reason),
    Column("trend", Kind.text, lambda h: h.trend),
    Column("as_of", Kind.day, lambda h: h.as_of),
    Column(
        "exposure_via",
        Kind.text,
        lambda h: "; ".join(_exposure_text(e) for e in h.exposure_via) or None,
    ),
    Column("unassessed_reason", Kind.text, lambda h: h.unassessed_reason),
)


def rules_named(key: str, version: int, *, bundled: bool) -> str:
    """A version as a file read on its own names it: "default v7 (bundled)", "default v7 (own
    edit)"; an organisation's own edit and a bundled version may share key and number."""
    return f"{key} v{version} ({'bundled' if bundled else 'own edit'})"


def _rules_columns(risk: PortfolioRisk) -> tuple[Column, ...]:
    """The rules every row was scored with, on each row: a file read on its own names them."""
    label = rules_named(risk.ruleset_id, risk.ruleset_version, bundled=risk.ruleset_bundled)
    return (
        Column("ruleset", Kind.text, lambda _: label),
        Column("ruleset_hash", Kind.text, lambda _: risk.ruleset_hash),
    )


def export_risk(risk: PortfolioRisk, export_format: ExportFormat) -> bytes:
    if export_format is ExportFormat.json:
        return risk.model_dump_json(indent=2).encode()
    columns = (*RISK_COLUMNS, *_rules_columns(risk))
    if export_format is ExportFormat.csv:
        return write_csv(columns, risk.holdings)
    return write_xlsx(columns, risk.holdings, "Portfolio risk")


# --- assessment scores -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreRow:
    company_name: str
    assessment_status: str | None
    score: ScoreSummary
    ruleset: str  # the rules the score used, named by ``rules_named``


def _theme_column(theme: str) -> Column:
    return Column(f"theme_{theme}", Kind.score, lambda r: r.score.theme_scores.get(theme))


def score_columns(themes: Sequence[str]) -> list[Column]:
    return [
        Column("company", Kind.text, lambda r: r.company_name),
        Column("company_id", Kind.text, lambda r: str(r.score.company_id)),
        Column(
            "assessment_id",
            Kind.text,
            lambda r: str(r.score.assessment_id) if r.score.assessment_id else None,
        ),
        Column("assessment_status", Kind.text, lambda r: r.assessment_status or "evidence only"),
        Column("overall", Kind.score, lambda r: r.score.overall),
        Column("band", Kind.text, lambda r: r.score.band.value),
        Column("confidence", Kind.text, lambda r: r.score.confidence.value),
        Column("range_low", Kind.score, lambda r: r.score.sensitivity_low),
        Column("range_high", Kind.score, lambda r: r.score.sensitivity_high),
        Column("commitment_score", Kind.score, lambda r: r.score.commitment_score),
        Column(
            "verified_commitment_score", Kind.score, lambda r: r.score.verified_commitment_score
        ),
        Column("say_do_gap", Kind.score, lambda r: r.score.say_do_gap),
        Column("evidence_risk_current", Kind.score, lambda r: r.score.evidence_risk_current),
        Column("evidence_risk_peak", Kind.score, lambda r: r.score.evidence_risk_peak),
        *(_theme_column(theme) for theme in themes),
        Column("overrides", Kind.text, lambda r: "; ".join(o.rule_id for o in r.score.overrides)),
        Column("action", Kind.text, lambda r: r.score.action.value),
        Column("action_reason", Kind.text, lambda r: r.score.action_reason),
        Column("trend", Kind.text, lambda r: r.score.trend),
        Column("ruleset", Kind.text, lambda r: r.ruleset),
        Column("ruleset_hash", Kind.text, lambda r: r.score.ruleset_hash),
        Column("inputs_hash", Kind.text, lambda r: r.score.inputs_hash),
        Column("as_of", Kind.day, lambda r: r.score.as_of),
    ]


def export_scores(rows: Sequence[ScoreRow], export_format: ExportFormat) -> bytes:
    if export_format is ExportFormat.json:
        items = [
            {
                "company_name": row.company_name,
                "assessment_status": row.assessment_status,
                **row.score.model_dump(mode="json"),
            }
            for row in rows
        ]
        return json.dumps({"items": items}, indent=2, ensure_ascii=False).encode()
    themes = sorted({theme for row in rows for theme in row.score.theme_scores})
    columns = score_columns(themes)
    if export_format is ExportFormat.csv:
        return write_csv(columns, rows)
    return write_xlsx(columns, rows, "Assessment scores")
