"""Request and response models of the portfolios API, and the risk view that the exports and
the portfolio report are built from.

Money is ``Decimal`` and travels as a string in JSON, always next to its ISO 4217 currency.
Shares and weights are fractions between 0 and 1, strings in JSON too; every such string is
plain fixed-point text (``DecimalText``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hrdd.errors import ProblemDetail
from hrdd.portfolios.csv_import import HEADER_SEARCH_ROWS
from hrdd.portfolios.figures import BandSlice, DecimalText, ShareBasis, Slice
from hrdd.scoring.schemas import OverrideView
from hrdd.vocab import (
    CURRENCY_CODES,
    AssessmentStatus,
    Confidence,
    DatePrecision,
    InvestorAction,
    ListingStatus,
    RiskBand,
)

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]


class HoldingResolution(StrEnum):
    """How a holding was matched to a company of the registry."""

    identifier = "identifier"  # its ISIN, LEI or ticker belongs to one company
    name_confirmed = "name_confirmed"  # a person confirmed the company
    candidates = "candidates"  # its name resembles companies; someone must pick one
    unresolved = "unresolved"  # nothing matched: unassessed exposure, kept in the portfolio


class RiskBasis(StrEnum):
    """Where a holding's score comes from."""

    own = "own"  # the company's own score
    ownership = "ownership"  # a company it owns scores worse than it does (or it has none)


# --- portfolios ------------------------------------------------------------------------------


def _currency_code(value: str) -> str:
    code = value.upper()
    if code not in CURRENCY_CODES:
        raise ValueError(f"'{value}' is not an ISO 4217 currency code such as EUR")
    return code


class PortfolioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    base_currency: Annotated[str, AfterValidator(_currency_code)] = Field(
        pattern=r"^[A-Za-z]{3}$",
        description="ISO 4217 code; every market value of the portfolio is in this currency",
        examples=["EUR"],
    )
    description: str | None = Field(default=None, max_length=2000)


class PortfolioOut(BaseModel):
    id: uuid.UUID
    name: str
    base_currency: str
    description: str | None
    holdings_count: int
    created_by_name: str
    created_at: datetime
    holdings_imported_at: datetime | None
    holdings_imported_by: str | None = Field(description="Who imported the current holdings")


class PortfolioList(BaseModel):
    items: list[PortfolioOut]
    next_cursor: str | None = None


# --- holdings --------------------------------------------------------------------------------


class Candidate(BaseModel):
    company_id: uuid.UUID
    name: str
    score: float = Field(description="Name similarity, 0-100")


class HoldingOut(BaseModel):
    id: uuid.UUID
    portfolio_id: uuid.UUID
    line: int = Field(description="Line of the imported file")
    name: str | None
    isin: str | None
    lei: str | None
    ticker: str | None
    market_value: DecimalText | None
    currency: str
    weight: DecimalText | None = Field(
        description="The weight the imported file gave, as a fraction (0.032 for 3.2%): the "
        "custodian's share of the whole fund, whatever part of it was imported. The risk "
        "view's `weight` is another figure (this portfolio's share of value)"
    )
    company_id: uuid.UUID | None
    company_name: str | None
    resolution: HoldingResolution
    candidates: list[Candidate]
    resolved_by_name: str | None
    resolved_at: datetime | None


class HoldingList(BaseModel):
    items: list[HoldingOut]
    next_cursor: str | None = None


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_id: uuid.UUID | None = Field(
        description="The company the holding is; null when none of the candidates is right "
        "(the holding stays as unassessed exposure)"
    )


class RecordedOwner(BaseModel):
    """A holding whose name resembles a recorded owner of a registry company."""

    line: int = Field(description="Line of the holding in the imported file")
    holding_name: str
    owner_name: str = Field(description="The owner as the ownership link records it")
    score: float = Field(description="Name similarity, 0-100")
    company_id: uuid.UUID = Field(description="The company it owns or owned")
    company_name: str
    start_date: date | None
    end_date: date | None
    current: bool = Field(description="False for a stake that ended or has not started")


class LostMatch(BaseModel):
    """A holding of the previous import matched to a company that no holding of this import
    is matched to."""

    company_id: uuid.UUID
    company_name: str
    line: int = Field(description="Line of the holding in the previous import")
    holding_name: str | None = Field(description="The holding's name in the previous import")
    resolution: HoldingResolution = Field(
        description="How it was matched then: `identifier` or `name_confirmed`"
    )
    resolved_by_name: str | None = Field(description="Who confirmed the match, if someone did")
    candidate_lines: list[int] = Field(
        description="Lines of this import that offer the company as a candidate (e.g. the "
        "same holding, named differently): confirm it there to match it again. Empty: no "
        "holding of this import names it; perhaps the position is gone, or its line was "
        "refused (see `rejected`)"
    )


class HoldingsFileFormat(StrEnum):
    """How an uploaded holdings file was read, told by its content."""

    csv = "csv"
    xlsx = "xlsx"


class DecimalSeparator(StrEnum):
    point = "."
    comma = ","


class ImportSource(BaseModel):
    """What of the uploaded file was read as the holdings, to check it is the sheet and the
    table meant."""

    format: HoldingsFileFormat = Field(
        description="`csv` or `xlsx`, told by the file's content, not its name or declared type"
    )
    sheet: str | None = Field(
        description="The workbook's sheet read: the one `sheet` named, else the one named "
        "Holdings, else the visible sheet whose header row names the most columns read, else "
        "the first visible sheet; null for a CSV"
    )
    other_sheets: list[str] = Field(
        description="The workbook's other visible sheets whose first rows hold a table's "
        "header, not read: name one with `sheet` if it holds the positions"
    )
    header_row: int = Field(
        description="The row read as the header (a CSV's line, a sheet's row number): the "
        f"first of the first {HEADER_SEARCH_ROWS} rows that names a holding column (name, "
        "isin, lei, ticker or another heading of the name). Holdings and problems keep the "
        "file's own row numbers"
    )
    preamble_rows: int = Field(
        description="Rows above the header with something in them, left out as the file's "
        "title block (e.g. 'Holdings as of 30 Sep 2026', 'Account: 12345'): neither holdings "
        "nor problems"
    )
    decimal_separator: DecimalSeparator = Field(
        description="The decimal separator numbers written as text were read with (a "
        "workbook's number cells need none): the one given, else the one more of the file's "
        "numbers can only be read with ('12,5' and '1.234,56' only with a comma, '12.5' and "
        "'1,234,567' only with a point), else a comma for a semicolon-delimited CSV and a point "
        "for any other file. A number such as '1,234' is read with it"
    )
    decimal_separator_from: str = Field(description="What decided `decimal_separator`")


class ImportResult(BaseModel):
    portfolio_id: uuid.UUID
    dry_run: bool = Field(description="True: nothing was saved; the holdings are as they were")
    source: ImportSource = Field(description="The sheet and rows of the file read")
    imported: int = Field(
        description="Holdings now in the portfolio (the file replaced any before); with "
        "dry_run, the holdings the file would give"
    )
    replaced: int = Field(description="Holdings the import replaced (with dry_run, would replace)")
    resolved_by_identifier: int
    confirmed_before: int = Field(
        description="Holdings matched to the company someone had confirmed for a holding of "
        "the previous import with the same identifiers and the same name, spelling aside "
        "(case, punctuation, accents, 'Inc.' for 'Incorporated')"
    )
    with_candidates: int
    unresolved: int
    rejected: list[ProblemDetail] = Field(
        description="Bad rows left out (only with keep_good_rows=true), by "
        "`file.line.<n>.<column>`; an entry at the header's line names the header's "
        "unrecognised columns when rows name no holding"
    )
    ignored_columns: list[str] = Field(description="Columns of the file that hrdd does not read")
    merged: list[ProblemDetail] = Field(
        description="Rows that repeat the ISIN (or, with no ISIN, the LEI) of an earlier row: "
        "one security, e.g. held in two accounts, imported as one holding at the earlier "
        "row's line with market values and weights added up; by `file.line.<n>` of the row "
        "merged away",
    )
    totals: list[ProblemDetail] = Field(
        default_factory=list,
        description="Rows left out as the file's totals: a name opening with a total word "
        "(Total, Subtotal, Sum, Summe, Gesamt, Sous-total, Totaal, Totale...; 'Total EUR', "
        "'Subtotal Equities') and no ISIN, LEI, ticker or legal form, as custodian files end "
        "their tables; by `file.line.<n>.name`. Counted as holdings they would double the "
        "portfolio's value",
    )
    sections: list[ProblemDetail] = Field(
        default_factory=list,
        description="Rows left out as headings of the holdings below them: an asset class "
        "(Equities, Fixed Income, Cash & Equivalents, Aktien, Obligations...) alone on its "
        "row, with no identifier, number or currency; by `file.line.<n>.name`",
    )
    recorded_owners: list[RecordedOwner] = Field(
        description="Holdings matched to no company whose name is that of an owner recorded "
        "in the registry's ownership links but not itself a registry company: they carry no "
        "exposure through what that owner owns until an analyst adds the owner as a company "
        "and links it as the owner (`POST /companies`, then "
        "`POST /companies/{company_id}/ownership` with `owner_company_id`)",
    )
    lost_matches: list[LostMatch] = Field(
        default_factory=list,
        description="Holdings of the previous import matched to a company (by identifier or "
        "by someone's confirmation) that no holding of this import is matched to: a position "
        "gone, or one the file names differently (a confirmation carries over only to the "
        "same name and identifiers), now waiting as candidates or unassessed; with dry_run, "
        "those it would lose. By the previous line",
    )
    lost_matches_count: int = Field(
        default=0, description="How many `lost_matches` there are, listed or not"
    )


# --- the risk view ---------------------------------------------------------------------------


class OwnedExposure(BaseModel):
    """A company the holding's company owns (directly or through others), and its risk."""

    company_id: uuid.UUID
    company_name: str
    via: list[str] = Field(description="Owners between the holding's company and this one")
    percentage: DecimalText | None
    start_date: date | None
    end_date: date | None
    date_precision: DatePrecision = Field(
        description="How much of start_date and end_date the sources give: a date known to "
        "the month or year is stored as its first day"
    )
    current: bool = Field(
        description="False for a stake that ended or has not started; only current ones count"
    )
    ended: bool = Field(
        description="True for a stake that ended before the as-of date (any link of the "
        "chain); one neither current nor ended has not started yet"
    )
    overall: float | None
    band: RiskBand | None
    action: InvestorAction | None


class HoldingRisk(BaseModel):
    holding_id: uuid.UUID
    line: int
    name: str
    isin: str | None
    lei: str | None
    ticker: str | None
    market_value: DecimalText | None
    currency: str
    weight: DecimalText | None = Field(
        description="The holding's share of this portfolio's value, as the totals use it (see "
        "`share_basis`): with market values, its market value over the imported holdings' "
        "(valued holdings only, not the whole fund a partial file comes from); with weights, "
        "the file's weight; null when it has no share. Not the file's own weight when market "
        "values are the basis: that is `file_weight`"
    )
    file_weight: DecimalText | None = Field(
        description="The weight the imported file gave (as `GET /portfolios/{id}/holdings` "
        "shows it): the custodian's share of the whole fund; null when the file gave none"
    )
    company_id: uuid.UUID | None
    company_name: str | None
    listing_status: ListingStatus | None = Field(
        description="Whether the holding's company has listed shares (only then is there a "
        "shareholder vote to use); None while the holding has no company"
    )
    resolution: HoldingResolution
    assessed: bool = Field(description="False: unassessed exposure")
    unassessed_reason: str | None
    basis: RiskBasis | None
    scored_company_id: uuid.UUID | None = Field(
        description="The company whose score the holding carries (itself or one it owns)"
    )
    assessment_id: uuid.UUID | None
    assessment_status: AssessmentStatus | None = Field(
        description="Status of the assessment the score comes from: submitted or final (a "
        "draft never stands for a holding); None for a score on evidence alone and for an "
        "unassessed holding"
    )
    overall: float | None
    band: RiskBand | None
    confidence: Confidence | None
    sensitivity_low: float | None
    sensitivity_high: float | None
    overrides: list[OverrideView]
    action: InvestorAction | None
    action_reason: str | None
    trend: str | None
    as_of: date | None
    exposure_via: list[OwnedExposure]
    same_company_lines: list[int] = Field(
        default_factory=list,
        description="Lines of the other holdings of the same company (rows the import did not "
        "merge: no shared ISIN or LEI, e.g. one by ticker and one by name); each is counted "
        "as a holding of its own in the totals",
    )
    recorded_owner_of: list[RecordedOwner] = Field(
        description="For a holding matched to no company: the ownership links whose owner, "
        "recorded by name only, its name resembles. The stake is exposure the view cannot "
        "score until an analyst adds the owner as a company and links it."
    )

    @property
    def on_evidence_alone(self) -> bool:
        """Scored, but with no submitted or final assessment behind the score: its band counts
        documented harm only and says nothing about the company's practice."""
        return self.assessed and self.assessment_status is None


class TopRisk(BaseModel):
    holding_id: uuid.UUID
    name: str
    overall: float
    band: RiskBand
    action: InvestorAction
    market_value: DecimalText | None


class RiskTotals(BaseModel):
    currency: str
    total_value: DecimalText = Field(
        description="The market values known, added up, in the portfolio's currency"
    )
    holdings: int
    holdings_without_value: int = Field(
        description="Holdings with no market value: they add nothing to `total_value` or to "
        "any `value` (with `share_basis` weights they may still have a share of value)"
    )
    holdings_without_share: int = Field(
        description="Holdings with no share of value on `share_basis` (no market value, or no "
        "weight when shares come from weights; all of them with `share_basis` none): they "
        "count by number only"
    )
    share_basis: ShareBasis = Field(description="Where the shares of value come from")
    weights_total: DecimalText | None = Field(
        default=None,
        description="When shares come from weights: what the file's weights add up to (1 is "
        "the whole portfolio); shares of value are of this total",
    )
    by_band: list[BandSlice]
    unassessed: Slice
    on_evidence_alone: Slice = Field(
        description="Scored on evidence alone (no submitted or final assessment): their bands "
        "count documented harm only and say nothing about the company's practice"
    )
    active_override: Slice
    needing_escalation: Slice = Field(
        description="Recommended action escalate_collectively or more severe"
    )
    mean_score: float | None = Field(description="Mean overall risk of assessed holdings")
    value_weighted_score: float | None = Field(
        description="Overall risk of assessed holdings weighted by their share of value"
    )
    top_risks: list[TopRisk]


class PortfolioRisk(BaseModel):
    portfolio_id: uuid.UUID
    portfolio_name: str
    as_of: date
    ruleset_id: str
    ruleset_version: int
    ruleset_hash: str = Field(
        description="The rule set's content hash (as GET /rulesets shows it): it tells apart "
        "a bundled version and your organisation's own of the same key and number"
    )
    ruleset_bundled: bool = Field(
        description="True for a version bundled with hrdd, false for your organisation's own "
        "edit of the rules (published through the API): the two may share a key and a number"
    )
    totals: RiskTotals
    holdings: list[HoldingRisk]
