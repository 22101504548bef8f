"""The report models: everything a PDF shows, as plain data.

One service builds these from the database; the renderers only read them. They hold no ORM
objects and no lazy loads, so a renderer cannot run a query, and a model can be stored or
rebuilt to reproduce a report. Money is a non-negative Decimal in the portfolio's reporting
currency (the model builder converts holdings first); shares and weights are fractions between
0 and 1; scores are on the 0-100 scale. Free text is stored as written: the renderers escape it.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hrdd.portfolios.schemas import ShareBasis
from hrdd.vocab import (
    AssessmentStatus,
    CompanyRole,
    Confidence,
    DatePrecision,
    EvidenceStatus,
    EvidenceType,
    FulfilmentStatus,
    InvestorAction,
    ListingStatus,
    OwnerKind,
    ResponseKind,
    RiskBand,
    SourceClass,
)

NonEmptyText = Annotated[str, Field(min_length=1)]
Score = Annotated[float, Field(ge=0, le=100)]
Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class PageSize(StrEnum):
    a4 = "A4"
    letter = "LETTER"


class ReportData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleSetRef(ReportData):
    id: NonEmptyText
    version: NonEmptyText
    # Tells apart two rule sets with one key and number (a bundled and an organisation's own).
    content_hash: str | None = None
    # The organisation that published the version, when it is its own rather than bundled:
    # its analysts' edits, which a reader must not take for the bundled method.
    published_by: str | None = None


class Identifier(ReportData):
    """An identifier as printed, e.g. scheme "ISIN" and value "IL0011234567"."""

    scheme: NonEmptyText
    value: NonEmptyText


class EvidenceLink(ReportData):
    title: NonEmptyText
    url: str | None = None
    publisher: str | None = None
    published_on: date | None = None
    published_precision: DatePrecision = DatePrecision.day
    # The company's own page, report or reply (declared, or on its website): its word only.
    company_source: bool = False
    # Declared independent though it is on the company's website: a reviewer should see it.
    declared_independent_on_company_site: bool = False


class Citation(ReportData):
    publisher: NonEmptyText
    title: NonEmptyText
    published_on: date | None = None
    published_precision: DatePrecision = DatePrecision.day
    url: str | None = None
    source_class: SourceClass


class KeyEvidence(Citation):
    """The first source of one of a holding's weightiest evidence items, and what became of
    the item since (None: in force): a low band beside a listing reads wrongly unless the
    report says the listing ended."""

    no_longer_in_force: str | None = None


class MethodologySection(ReportData):
    title: NonEmptyText
    paragraphs: list[str] = Field(min_length=1)


class OverrideFired(ReportData):
    rule_id: NonEmptyText
    reason: NonEmptyText
    lifts_when: NonEmptyText
    evidence: list[NonEmptyText] = Field(
        default_factory=list, description="Titles of the evidence items that fired it"
    )


# --- company report -------------------------------------------------------------------------


class ScoreSummary(ReportData):
    overall: Score
    band: RiskBand
    confidence: Confidence
    range_low: Score
    range_high: Score
    recommended_action: InvestorAction
    action_reason: NonEmptyText
    # The two risks the overall is the higher of (before red-flag floors); None: not given.
    evidence_risk: Score | None = None
    practice_gap_risk: Score | None = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> Self:
        if self.range_low > self.range_high:
            raise ValueError(
                f"sensitivity range: range_low {self.range_low} is above "
                f"range_high {self.range_high}"
            )
        return self


class ThemeScore(ReportData):
    """A theme's commitment score as the answers claim it and as verified against the
    evidence (claims the evidence contradicts, or only the company reports, are discounted)."""

    theme_id: NonEmptyText
    title: NonEmptyText
    claimed: Score
    verified: Score
    weight: Annotated[float, Field(gt=0)] | None = None


class RiskPoint(ReportData):
    on: date
    value: Score


class SayDoGapRow(ReportData):
    commitment: NonEmptyText
    committed_on: date | None = None
    committed_precision: DatePrecision = DatePrecision.day
    status: FulfilmentStatus
    # Why the commitment was rated so, as its record says.
    rationale: str | None = None
    contradicting_evidence: list[EvidenceLink] = Field(default_factory=list)


class CompanyResponse(ReportData):
    """What the company did about an evidence item (the rules credit it against its weight)."""

    kind: ResponseKind
    on: date
    precision: DatePrecision = DatePrecision.day
    summary: NonEmptyText


class TimelineEntry(ReportData):
    occurred_on: date
    occurred_precision: DatePrecision = DatePrecision.day
    summary: NonEmptyText
    evidence_type: EvidenceType | None = None
    # What the item weighs by: severity 1-5 (None: a list entry no one has rated), the
    # company's role in the harm, whether it is ongoing or remediated, and the responses.
    severity: Annotated[int, Field(ge=1, le=5)] | None = None
    # Why the curator rated it so: a rating below the scale's anchor for the people harmed
    # (failed attempts on defenders rated 3, say) reads as an error without it.
    severity_rationale: str | None = None
    company_role: CompanyRole | None = None
    status: EvidenceStatus | None = None
    remediated_on: date | None = None
    status_note: str | None = None
    responses: list[CompanyResponse] = Field(default_factory=list)
    # For a closing item (remediation, delisting, lifted sanction), which weighs nothing
    # itself: what it claims to close, as "title (date)" or the list it ends.
    closes: list[NonEmptyText] = Field(default_factory=list)
    citations: list[Citation] = Field(min_length=1)


class InputNote(ReportData):
    """A note the score makes on one evidence item it used as given (a closure that closes
    nothing, say), naming the item as the timeline does."""

    item_title: NonEmptyText
    item_date: date
    item_precision: DatePrecision = DatePrecision.day
    text: NonEmptyText


class OwnerRow(ReportData):
    """Who owns (part of) the company, as the registry records it, with its source."""

    owner_name: NonEmptyText
    owner_kind: OwnerKind
    stake_percent: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    owned_from: date | None = None
    owned_until: date | None = None
    dates_precision: DatePrecision = DatePrecision.day
    # False for a stake that ended or has not started.
    current: bool = True
    source: EvidenceLink | None = None
    note: str | None = None


class AnswerRow(ReportData):
    question_id: NonEmptyText
    question: NonEmptyText
    answer: str
    evidence: list[EvidenceLink] = Field(default_factory=list)


class CompanyReport(ReportData):
    company_name: NonEmptyText
    aliases: list[str] = Field(default_factory=list)
    # The names its products are known by (Pegasus for NSO Group), as the registry has them.
    products: list[str] = Field(default_factory=list)
    identifiers: list[Identifier] = Field(default_factory=list)
    report_date: date
    prepared_for: str | None = None
    rule_set: RuleSetRef
    inputs_hash: NonEmptyText
    assessment_status: AssessmentStatus
    # Scored questions answered, of those that apply: a draft's unanswered ones count as gaps.
    questions_answered: Annotated[int, Field(ge=0)] = 0
    questions_applicable: Annotated[int, Field(ge=0)] = 0
    # Of the answered ones, how many say no information was found: answered, so they do not
    # lower confidence, but they are gaps in what is known, not findings of practice.
    questions_without_information: Annotated[int, Field(ge=0)] = 0
    # False for a private company: no shareholder vote, so the actions name governance rights.
    company_listed: bool = True
    # As the registry records it (None: not given); delisted and defunct are printed.
    listing_status: ListingStatus | None = None
    summary: ScoreSummary
    # Owners on record (current and former) and the registry's notes on the company, which
    # say what is not known (an unconfirmed sale, an owner no source names).
    owners: list[OwnerRow] = Field(default_factory=list)
    company_notes: str | None = None
    theme_scores: list[ThemeScore] = Field(default_factory=list)
    evidence_risk_series: list[RiskPoint] = Field(default_factory=list)
    say_do_gaps: list[SayDoGapRow] = Field(default_factory=list)
    # How the rules count an answer resting on the company's own sources (None: as given).
    company_sources_count_as: FulfilmentStatus | None = None
    # How they count an answer citing no named source (None: as given).
    unsourced_answers_count_as: FulfilmentStatus | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    overrides: list[OverrideFired] = Field(default_factory=list)
    input_notes: list[InputNote] = Field(default_factory=list)
    answers: list[AnswerRow] = Field(default_factory=list)
    methodology: list[MethodologySection] = Field(default_factory=list)
    page_size: PageSize = PageSize.a4

    @model_validator(mode="after")
    def _series_in_date_order(self) -> Self:
        for index in range(1, len(self.evidence_risk_series)):
            previous = self.evidence_risk_series[index - 1].on
            current = self.evidence_risk_series[index].on
            if current <= previous:
                raise ValueError(
                    f"evidence_risk_series[{index}].on: {current} is not after "
                    f"{previous}; points must be in strictly increasing date order"
                )
        return self


# --- portfolio report -----------------------------------------------------------------------


class BandExposure(ReportData):
    """Holdings in one band: the count (risk distribution) and the money (exposure)."""

    band: RiskBand
    holdings: Annotated[int, Field(ge=0)]
    value: Money
    share_of_value: Fraction


class KeyFigures(ReportData):
    """Portfolio totals. Shares of value come from where ``share_basis`` says; money figures
    mean something only when market values were given."""

    total_value: Money
    currency: CurrencyCode
    holdings_count: Annotated[int, Field(ge=0)]
    share_basis: ShareBasis
    # What the file's weights add up to, when shares come from them (1 = the whole portfolio).
    weights_total: Annotated[Decimal, Field(ge=0)] | None = None
    # No market value: they add nothing to total_value.
    holdings_without_value: Annotated[int, Field(ge=0)]
    # No share of value on share_basis: they count by number only.
    holdings_without_share: Annotated[int, Field(ge=0)]
    by_band: list[BandExposure]
    value_with_active_override: Money
    share_with_active_override: Fraction
    holdings_with_active_override: Annotated[int, Field(ge=0)]
    value_unassessed: Money
    share_unassessed: Fraction
    unassessed_count: Annotated[int, Field(ge=0)]
    # Scored on evidence alone: their bands say nothing about practice.
    value_on_evidence_alone: Money = Decimal(0)
    share_on_evidence_alone: Fraction = Decimal(0)
    on_evidence_alone_count: Annotated[int, Field(ge=0)] = 0
    needing_escalation: Annotated[int, Field(ge=0)]

    @property
    def money_known(self) -> bool:
        return self.share_basis in (ShareBasis.market_values, ShareBasis.known_market_values)

    @property
    def money_given(self) -> bool:
        """Market values were given for some holdings, whatever the shares come from (a
        file with weights may carry values for some rows too)."""
        return self.money_known or self.total_value > 0

    @model_validator(mode="after")
    def _each_band_once(self) -> Self:
        seen: set[RiskBand] = set()
        for index, exposure in enumerate(self.by_band):
            if exposure.band in seen:
                raise ValueError(f"by_band[{index}].band: {exposure.band} appears twice")
            seen.add(exposure.band)
        return self


class OwnedCompany(ReportData):
    """A surveillance company the holding is exposed to through ownership."""

    company_name: NonEmptyText
    stake_percent: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    owned_from: date | None = None
    owned_until: date | None = None
    # How much of both dates the sources give (one precision per ownership link).
    dates_precision: DatePrecision = DatePrecision.day
    # False for a stake that ended (or has not started): listed, but it does not count.
    current: bool = True
    # True for a stake that ended (a stake neither current nor ended has not started yet).
    ended: bool = False


class HoldingNamed(ReportData):
    """How a holding is named wherever the portfolio report lists it."""

    name: NonEmptyText
    # The registry company it was matched to, and how, when its name differs from the
    # holding's own ("NSO Group Technologies Limited, by a confirmed name").
    matched_to: str | None = None
    # Lines of the portfolio file holding the same company on rows of their own.
    same_company_lines: list[int] = Field(default_factory=list)


class FlaggedHolding(HoldingNamed):
    identifiers: list[Identifier] = Field(default_factory=list)
    # The names the products of the holding's company are known by, as in CompanyReport.
    products: list[str] = Field(default_factory=list)
    value: Money | None = None
    weight: Fraction | None = None
    band: RiskBand
    score: Score
    # What the score rests on: an assessment of this status, or (None) evidence alone; of the
    # company named here when the holding carries the score of a company it owns.
    assessment_status: AssessmentStatus | None = None
    scored_through: str | None = None
    # A draft assessment of the scored company is being written; drafts do not count.
    draft_in_progress: bool = False
    confidence: Confidence
    action: InvestorAction
    action_reason: NonEmptyText
    company_listed: bool = True
    # Of the holding's company, as in CompanyReport.
    listing_status: ListingStatus | None = None
    overrides: list[OverrideFired] = Field(default_factory=list)
    exposure_via: list[OwnedCompany] = Field(default_factory=list)
    key_evidence: list[KeyEvidence] = Field(default_factory=list)


class HoldingRow(HoldingNamed):
    """One line of the full holdings table; assessment fields are None while unassessed."""

    identifiers: list[Identifier] = Field(default_factory=list)
    value: Money | None = None
    weight: Fraction | None = None
    band: RiskBand | None = None
    score: Score | None = None
    # What the score rests on, as in FlaggedHolding: None with a band is evidence alone.
    assessment_status: AssessmentStatus | None = None
    confidence: Confidence | None = None
    action: InvestorAction | None = None
    company_listed: bool = True
    # Of the holding's company, as in CompanyReport (None: not matched to one).
    listing_status: ListingStatus | None = None
    # The owned company whose score it takes, as in FlaggedHolding.
    scored_through: str | None = None
    # Stakes of the holding's company that are not current, with their dates.
    stakes_not_counted: list[OwnedCompany] = Field(default_factory=list)

    @property
    def evidence_only(self) -> bool:
        return self.band is not None and self.assessment_status is None


class UnassessedHolding(HoldingNamed):
    identifiers: list[Identifier] = Field(default_factory=list)
    value: Money | None = None
    weight: Fraction | None = None
    reason: NonEmptyText
    # Of the holding's company, as in CompanyReport (None: not matched to one).
    listing_status: ListingStatus | None = None
    # As in HoldingRow: what it owned may be all an investor knows of it.
    stakes_not_counted: list[OwnedCompany] = Field(default_factory=list)


class PortfolioReport(ReportData):
    portfolio_name: NonEmptyText
    owner_organisation: NonEmptyText
    report_date: date
    # When the holdings reported on were imported: positions change, and a reader must know
    # how old the ones in the report are.
    holdings_imported_at: datetime | None = None
    rule_set: RuleSetRef
    key_figures: KeyFigures
    flagged: list[FlaggedHolding] = Field(default_factory=list)
    # Medium-band holdings no red flag or escalation flags: what the score rests on, why the
    # action, the key evidence, so engaging them starts from the record.
    medium: list[FlaggedHolding] = Field(default_factory=list)
    # The other holdings scored on evidence alone (low band): their band says nothing about
    # practice, which no one has assessed, so each is detailed with why it is to be engaged.
    evidence_only: list[FlaggedHolding] = Field(default_factory=list)
    holdings: list[HoldingRow] = Field(default_factory=list)
    unassessed: list[UnassessedHolding] = Field(default_factory=list)
    methodology: list[MethodologySection] = Field(default_factory=list)
    page_size: PageSize = PageSize.a4
