"""Portfolios, their holdings (CSV or XLSX import, resolution to companies) and the risk view."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile, status

from hrdd.assessments.files import read_limited
from hrdd.companies.service import company_names
from hrdd.config import Settings
from hrdd.deps import CachedRead, DbSession, Investor, in_worker_thread, reading_session
from hrdd.errors import problem_responses
from hrdd.http import PageParams, attachment, page_params
from hrdd.portfolios import exports, service
from hrdd.portfolios.csv_import import HEADER_SEARCH_ROWS
from hrdd.portfolios.schemas import (
    DecimalSeparator,
    HoldingList,
    HoldingOut,
    ImportResult,
    PortfolioIn,
    PortfolioList,
    PortfolioOut,
    PortfolioRisk,
    ResolveIn,
)
from hrdd.workbooks import XLSX_MEDIA_TYPE

router = APIRouter(prefix="/portfolios", tags=["portfolios"])

_READ_ERRORS = problem_responses(401, 403, 404, 422)
# The holdings file's media types, for the OpenAPI (the content decides, not the declared type).
_ACCEPTED = f"text/csv, {XLSX_MEDIA_TYPE}"
Page = Annotated[PageParams, Depends(page_params)]


@router.post(
    "",
    summary="Create a portfolio",
    status_code=status.HTTP_201_CREATED,
    response_model=PortfolioOut,
    responses=problem_responses(401, 403, 413, 422),
)
def create_portfolio(
    data: PortfolioIn, session: DbSession, principal: Investor, response: Response
) -> PortfolioOut:
    portfolio = service.create_portfolio(session, principal, data)
    response.headers["Location"] = f"/api/v1/portfolios/{portfolio.id}"
    return service.portfolio_out(portfolio, 0)


@router.get(
    "",
    summary="Your organisation's portfolios, oldest first",
    response_model=PortfolioList,
    responses=problem_responses(401, 403, 422),
)
def list_portfolios(session: DbSession, _: Investor, page: Page) -> PortfolioList:
    portfolios, next_cursor = service.list_portfolios(session, page)
    counts = service.holding_counts(session, [p.id for p in portfolios])
    return PortfolioList(
        items=[service.portfolio_out(p, counts.get(p.id, 0)) for p in portfolios],
        next_cursor=next_cursor,
    )


@router.get(
    "/{portfolio_id}",
    summary="Read a portfolio",
    response_model=PortfolioOut,
    responses=_READ_ERRORS,
)
def read_portfolio(portfolio_id: uuid.UUID, session: DbSession, _: Investor) -> PortfolioOut:
    portfolio = service.get_portfolio(session, portfolio_id)
    counts = service.holding_counts(session, [portfolio.id])
    return service.portfolio_out(portfolio, counts.get(portfolio.id, 0))


@router.post(
    "/{portfolio_id}/holdings/import",
    summary="Replace the holdings with those of a CSV or XLSX file",
    response_model=ImportResult,
    responses=problem_responses(401, 403, 404, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "content": {"multipart/form-data": {"encoding": {"file": {"contentType": _ACCEPTED}}}}
        }
    },
    description=(
        "Multipart `file`: a UTF-8 CSV (with or without a byte-order mark; other encodings get "
        "a 422 saying so) or an XLSX workbook, told apart by content, not by name or declared "
        f"type. The header row is the first of the first {HEADER_SEARCH_ROWS} rows that names "
        "a holding column (`name` or another heading of it, `isin`, `lei`, `ticker`), passing "
        "over a key-value line of two cells (e.g. 'Name,Pension Fund A') when a later row "
        "naming one is no such line; a title "
        "block above it (e.g. 'Holdings as of 30 Sep 2026', 'Account: 12345') is left out, "
        "and lines keep their numbers in the file. A workbook's sheet is the one `sheet` "
        "names, else the one named Holdings, else the visible sheet whose header row names the "
        "most columns read (a summary sheet in front is passed over), else its first visible "
        "sheet, read as the CSV's lines would be: problems name the sheet and cell (the path's "
        "line is the row number). `source` says which sheet and header row were read, how many "
        "title rows were left out, which other sheets have a table's header, and how numbers "
        "were read; `dry_run=true` returns all this and saves nothing. Numbers are read to "
        "Excel's 15 significant digits and "
        "formulas by the values they were saved with; a formula saved without one (as "
        "programs that do not calculate write them), a date, TRUE/FALSE or an "
        "error value is a bad cell in a column read. A legacy XLS, a password-protected "
        "workbook or another kind of ZIP archive gets a 415; a workbook that unpacks to "
        "more than 50 MB a 413. "
        "The header names any of the columns `name`, `isin`, `lei`, "
        "`ticker`, `market_value`, `currency`, `weight` (case-insensitive; at least one of the "
        "first four, and each row must fill one of them), or headings custodians give them "
        "(e.g. Issuer Name, ISIN Code, MV, Market Value (EUR), Ccy, Weight (%), % of "
        "Portfolio). Market values are in the portfolio's base currency (a heading naming "
        "another is refused); `weight` is a fraction (0.05) or a percentage (5%), or a "
        "percentage without the sign under a heading with one. Rows whose name opens with a "
        "total word (Total, Subtotal, Summe, Gesamt, Sous-total, Totaal...) and give no "
        "identifier or legal form are left out as totals. Numbers may use a decimal point or "
        "comma (`decimal_separator`, else the file's numbers decide). ISINs and LEIs are "
        "checked (check digits). A cell holding a control character other than tab or a line "
        "break is bad; a NUL byte refuses the whole file. The file replaces the portfolio's "
        "holdings. All or nothing: "
        "bad rows get a 422 listing each problem as `file.line.<n>.<column>` and nothing "
        "changes, unless `keep_good_rows=true`, which imports the good rows and lists the bad "
        "ones under `rejected`. Holdings resolve to companies by ISIN, LEI or ticker; others "
        "get name `candidates` to confirm (`POST .../holdings/{id}/resolve`); a company "
        "confirmed for a holding of the previous import with the same identifiers and name, "
        "spelling aside ('Inc.' for 'Incorporated'), is kept, and `lost_matches` lists the "
        "previous import's matches no holding of this one keeps. Unmatched holdings stay as "
        "unassessed exposure."
    ),
)
def import_holdings(
    portfolio_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: Investor,
    file: Annotated[UploadFile, File(description="The holdings, CSV UTF-8 or XLSX")],
    keep_good_rows: Annotated[
        bool, Query(description="Import the good rows and report the bad ones")
    ] = False,
    sheet: Annotated[
        str | None,
        Query(
            max_length=31,
            description="A workbook's sheet to read, by name (case-insensitive); left out, the "
            "sheet named Holdings, else the visible sheet whose header names the most columns "
            "read. A CSV has no sheets (422)",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        Query(
            description="Read and match the file and return what the import would do, saving "
            "nothing: to check `source` (the sheet, rows and number format read) before the "
            "file replaces the holdings"
        ),
    ] = False,
    decimal_separator: Annotated[
        DecimalSeparator | None,
        Query(
            description="The decimal separator of numbers written as text: `.` (12,345.67) or "
            "`,` (12.345,67). Left out, the file's numbers decide; `source` says how they were "
            "read"
        ),
    ] = None,
) -> ImportResult:
    settings: Settings = request.app.state.settings
    # The file is read before the write begins: on SQLite the write's first query takes the
    # database's one write lock, which a long read would hold from every organisation's writes.
    with reading_session(request, principal) as reading:
        currency = service.get_portfolio(reading, portfolio_id).base_currency
    holdings_file = service.HoldingsFile.read(
        read_limited(file.file, settings.max_upload_bytes),
        currency,
        max_rows=settings.max_csv_rows,
        decimal_separator=decimal_separator.value if decimal_separator else None,
        sheet=sheet,
    )
    return service.import_holdings(
        session,
        principal.key_name,
        service.get_portfolio(session, portfolio_id),
        holdings_file,
        keep_good_rows=keep_good_rows,
        dry_run=dry_run,
    )


@router.get(
    "/{portfolio_id}/holdings",
    summary="The holdings, in the order of the imported file",
    response_model=HoldingList,
    responses=_READ_ERRORS,
)
def list_holdings(
    portfolio_id: uuid.UUID, session: DbSession, _: Investor, page: Page
) -> HoldingList:
    portfolio = service.get_portfolio(session, portfolio_id)
    holdings, next_cursor = service.list_holdings(session, portfolio, page)
    names = company_names(session, [h.company_id for h in holdings if h.company_id])
    return HoldingList(
        items=[service.holding_out(h, names) for h in holdings], next_cursor=next_cursor
    )


@router.post(
    "/{portfolio_id}/holdings/{holding_id}/resolve",
    summary="Confirm which company a holding is",
    response_model=HoldingOut,
    responses=problem_responses(401, 403, 404, 413, 422),
    description=(
        "Usually one of the holding's `candidates`, but any company of the registry may be "
        "given. `company_id: null` says none is right; the holding stays unassessed exposure."
    ),
)
def resolve_holding(
    portfolio_id: uuid.UUID,
    holding_id: uuid.UUID,
    data: ResolveIn,
    session: DbSession,
    principal: Investor,
) -> HoldingOut:
    portfolio = service.get_portfolio(session, portfolio_id)
    holding = service.get_holding(session, portfolio, holding_id)
    service.resolve_holding(session, principal, portfolio, holding, data.company_id)
    names = company_names(session, [holding.company_id] if holding.company_id else [])
    return service.holding_out(holding, names)


@router.get(
    "/{portfolio_id}/risk",
    summary="Risk of every holding and of the whole portfolio",
    response_model=PortfolioRisk,
    responses=problem_responses(401, 403, 404, 409, 422),
    description=(
        "Per holding: the latest score of its company (or of the riskiest company it owns now, "
        "see `basis` and `exposure_via`), band, confidence, overrides fired, recommended action "
        "and why. Totals by band, unassessed, with an active override and needing escalation, "
        "each by number and by value; the top risks. 409 when no scoring rule set is loaded."
    ),
    dependencies=[CachedRead],
)
async def portfolio_risk(
    portfolio_id: uuid.UUID, session: DbSession, principal: Investor
) -> Response:
    def work() -> bytes:
        return service.portfolio_risk_json(session, principal.organisation_id, portfolio_id)

    # Already JSON of a PortfolioRisk (response_model documents it): not validated again.
    body = await in_worker_thread(session, work)
    return Response(body, media_type="application/json")


@router.get(
    "/{portfolio_id}/risk.{export_format}",
    summary="Download the risk view as CSV, XLSX or JSON",
    response_class=Response,
    responses={
        200: {
            "content": {media: {} for media in exports.MEDIA_TYPES.values()},
            "description": "The file",
        },
        **problem_responses(401, 403, 404, 409, 422),
    },
    description=(
        "One row per holding. Text cells that a spreadsheet would run as a formula (starting "
        "with = + - @, tab or carriage return) are prefixed with an apostrophe."
    ),
)
def export_risk(
    portfolio_id: uuid.UUID,
    export_format: exports.ExportFormat,
    session: DbSession,
    _: Investor,
) -> Response:
    portfolio = service.get_portfolio(session, portfolio_id)
    risk = service.portfolio_risk(session, portfolio)
    name = exports.download_name(portfolio.name, "risk", risk.as_of, export_format.value)
    return attachment(
        exports.export_risk(risk, export_format), exports.MEDIA_TYPES[export_format], name
    )
