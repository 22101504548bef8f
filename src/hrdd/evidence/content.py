"""The curated evidence files: their strict schema and the functions that load them.

`evidence/` holds one YAML file per company, named after the company's slug. Each file says who
the company is (identifiers, listing history, owners), what it was found doing (dated incidents,
each with its sources) and what it has promised (commitments, with a fulfilment status and the
incidents that contradict them). The models below are the whole contract of that format: the
`hrdd load` loader and the database tables are built on them.

Validation is strict (unknown keys are errors) and complete: every problem in a file is collected
and reported at once as one `EvidenceFileError`, each problem naming the file, the item id, the
field path and, where known, the line. The module is pure apart from reading the files it is
asked to read: no database, no clock, no network.

Dates that sources give only to the month or year are written as the first day of that month or
year, with a `*_precision` of `month` or `year` beside them; the validators insist on it, so a
reader never mistakes 2019-10-01 (month) for a known day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Self
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from stdnum import isin as stdnum_isin
from stdnum import lei as stdnum_lei
from stdnum.exceptions import ValidationError as StdnumValidationError

from hrdd.dates import PastDate, PlausibleDate, iso_date, last_day
from hrdd.errors import plain_error_message
from hrdd.vocab import (
    COUNTRY_CODES,
    THE_COMPANYS_WORD,
    AffectedGroup,
    CompanyRole,
    DatePrecision,
    EvidenceStatus,
    EvidenceType,
    FulfilmentStatus,
    ListingStatus,
    OwnerKind,
    ResponseKind,
    SourceClass,
    TechnologyCategory,
)
from hrdd.yaml_text import CalendarSafeLoader, refused_character

if TYPE_CHECKING:
    import uuid

    from hrdd.evidence.models import EvidenceItem

__all__ = [
    "CLOSING_EVIDENCE_TYPES",
    "LISTING_EVIDENCE_TYPES",
    "QUESTION_IDS",
    "CalendarDate",
    "Commitment",
    "CompanyInfo",
    "CompanyResponse",
    "CountryCode",
    "DateClaim",
    "DatePrecision",
    "EvidenceDataset",
    "EvidenceDocument",
    "EvidenceFileError",
    "EvidenceProblem",
    "Identifiers",
    "Incident",
    "IncidentSource",
    "ListingEvent",
    "Ownership",
    "PastCalendarDate",
    "QuestionId",
    "RelatedListing",
    "SourceRef",
    "load_evidence_dir",
    "load_evidence_file",
    "parse_evidence_document",
]

# Questionnaire question ids by theme prefix and count (the catalogue in questionnaire-basis.md).
_QUESTION_CATALOGUE: Final = {
    "EX": 4,
    "P": 3,
    "G": 4,
    "DD": 7,
    "EU": 6,
    "DS": 3,
    "C": 5,
    "T": 4,
    "GR": 4,
    "R": 4,
    "IN": 6,
}
QUESTION_IDS: Final[frozenset[str]] = frozenset(
    f"{prefix}{number}"
    for prefix, count in _QUESTION_CATALOGUE.items()
    for number in range(1, count + 1)
)

# Types of evidence that are entries on (or removals from) a trade-restriction or sanctions list.
LISTING_EVIDENCE_TYPES: Final = frozenset(
    {
        EvidenceType.trade_restriction_listing,
        EvidenceType.delisting,
        EvidenceType.sanction,
        EvidenceType.sanction_lifted,
    }
)
# Types that end the harm of other items (`closes`): a remedy, or the end of a listing.
CLOSING_EVIDENCE_TYPES: Final = frozenset(
    {EvidenceType.remediation, EvidenceType.delisting, EvidenceType.sanction_lifted}
)


def closing_problem(
    closing_type: EvidenceType | str,
    closing_date: dt.date,
    closing_precision: DatePrecision | str,
    closed_type: EvidenceType | str,
    closed_date: dt.date,
) -> str | None:
    """Why an item of ``closing_type`` cannot close one of ``closed_type``, or None. A remedy
    ends harm and the end of a listing ends that kind of listing; neither closes the other's
    kind, another closing item, or anything that happened after it (a remedy dated before the
    harm would count the harm as remedied from the day it happened)."""
    closing, closed = EvidenceType(closing_type), EvidenceType(closed_type)
    if closed in CLOSING_EVIDENCE_TYPES:
        return f"is a {closed.value} itself: only harm or a list entry can be closed"
    ends = LISTING_ENDED_BY.get(closing)
    if ends is not None and closed is not ends:
        return (
            f"is a {closed.value}; a {closing.value} ends a {ends.value} only (record what "
            "remedies harm as a remediation)"
        )
    if closing is EvidenceType.remediation and closed in LISTING_EVIDENCE_TYPES:
        return (
            f"is a {closed.value}; a remediation closes harm, not a list entry (record the end "
            "of a listing as a delisting or sanction_lifted)"
        )
    if last_day(closing_date, closing_precision) < closed_date:
        return (
            f"happened on {iso_date(closed_date)}, after this item's "
            f"{iso_date(closing_date, closing_precision)}: nothing closes what had not happened"
        )
    return None


def list_key(list_name: str) -> str:
    """A list's name as compared: an entry and its removal name the same list whatever their
    case and spacing."""
    return " ".join(list_name.casefold().split())


def known_on(item: EvidenceItem) -> dt.date:
    """The day an item had both happened and become known, as the score counts it."""
    return max(item.event_date, item.published_date or item.event_date)


def items_ended(items: Sequence[EvidenceItem]) -> dict[uuid.UUID, EvidenceItem | None]:
    """The items among ``items`` no longer in force, each with the item that ended it (the
    first, when several did; None when it is only marked remediated): harm a remediation names
    in ``closes``, a list entry a removal names in ``closes`` (or, when the removal names
    none, any entry of the same list), and any item marked remediated. A closing item ends
    only what it may (``closing_problem``) and only what was known by then; one that rests on
    the company's word alone ends nothing, as in the default rules' score (v3 on)."""
    ended: dict[uuid.UUID, EvidenceItem | None] = {
        item.id: None for item in items if item.status == EvidenceStatus.remediated.value
    }
    for closing in items:
        closing_type = EvidenceType(closing.type)
        if (
            closing_type not in CLOSING_EVIDENCE_TYPES
            or item_source_class(closing_type, closing.sources or ()) in THE_COMPANYS_WORD
        ):
            continue
        listed_type = LISTING_ENDED_BY.get(closing_type)
        list_name = (closing.related_listing or {}).get("list_name")
        for item in items:
            item_type = EvidenceType(item.type)
            may_end = (
                item_type is listed_type
                if listed_type is not None
                else item_type not in LISTING_EVIDENCE_TYPES | CLOSING_EVIDENCE_TYPES
            )
            if not may_end or known_on(item) > known_on(closing):
                continue
            named = str(item.id) in closing.closes
            same_list = (
                not closing.closes
                and list_name is not None
                and list_key((item.related_listing or {}).get("list_name") or "")
                == list_key(list_name)
            )
            if not (named or same_list):
                continue
            earlier = ended.get(item.id)
            if earlier is None or known_on(closing) < known_on(earlier):
                ended[item.id] = closing
    return ended


def item_source_class(
    evidence_type: EvidenceType, sources: Iterable[Mapping[str, Any]]
) -> SourceClass:
    """The most reliable class among an item's sources (``SourceClass`` lists them most
    reliable first): one forensic lab's confirmation is what makes an item forensically
    confirmed, however many news reports repeat it."""
    classes = [
        _SOURCE_ORDER[source["source_class"]]
        for source in sources
        if source.get("source_class") in _SOURCE_ORDER
    ]
    if classes:
        return _SOURCE_CLASSES[min(classes)]
    if evidence_type in _OFFICIAL_LIST_TYPES:
        return SourceClass.court_or_government_record
    return SourceClass.unverified


def source_date_problem(
    source_date: dt.date | None,
    source_precision: DatePrecision | str,
    event_date: dt.date,
    event_precision: DatePrecision | str,
) -> str | None:
    """Why a source cannot report an event, by their dates: it was published before the event
    could have begun (the source's date read as the widest span its precision allows)."""
    if source_date is None or last_day(source_date, source_precision) >= event_date:
        return None
    return (
        f"{iso_date(source_date, source_precision)} is before the event it reports "
        f"({iso_date(event_date, event_precision)})"
    )


# A commitment rated verified rests on a source other than the company's claim.
VERIFIED_NEEDS_SOURCES: Final = "name the sources that verify it when fulfilment is 'verified'"
# Which kind of list entry each end of a listing ends.
LISTING_ENDED_BY: Final = {
    EvidenceType.delisting: EvidenceType.trade_restriction_listing,
    EvidenceType.sanction_lifted: EvidenceType.sanction,
}
# A screening-list entry without a classed source is itself an official government record.
_OFFICIAL_LIST_TYPES: Final = frozenset(
    {
        EvidenceType.trade_restriction_listing,
        EvidenceType.sanction,
        EvidenceType.delisting,
        EvidenceType.sanction_lifted,
    }
)
_SOURCE_CLASSES: Final = tuple(SourceClass)
_SOURCE_ORDER: Final = {source.value: index for index, source in enumerate(_SOURCE_CLASSES)}
_SLUG_RE: Final = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TICKER_RE: Final = re.compile(r"^[A-Z][A-Z0-9]*:[A-Z0-9][A-Z0-9.\-]*$")
_DEFER_CONSISTENCY: Final = "defer_consistency"


# ---------------------------------------------------------------------------------------------
# Field types


def _check_slug(value: str) -> str:
    if not _SLUG_RE.match(value):
        raise ValueError("must be a lower-case slug such as 'nso-2021-11-entity-list'")
    return value


def _check_http_url(value: str) -> str:
    if any(character.isspace() for character in value):
        raise ValueError("URL must not contain spaces")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _check_country(value: str) -> str:
    if value not in COUNTRY_CODES:
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code")
    return value


def _check_isin(value: str) -> str:
    try:
        compact = stdnum_isin.validate(value)
    except StdnumValidationError as error:
        raise ValueError(f"'{value}' is not a valid ISIN: {error}") from None
    if compact != value:
        raise ValueError(f"write the ISIN without spaces, in capitals: {compact}")
    return value


def _check_lei(value: str) -> str:
    try:
        compact = stdnum_lei.validate(value)
    except StdnumValidationError as error:
        raise ValueError(f"'{value}' is not a valid LEI: {error}") from None
    if compact != value:
        raise ValueError(f"write the LEI without spaces, in capitals: {compact}")
    return value


def _check_ticker(value: str) -> str:
    if not _TICKER_RE.match(value):
        raise ValueError("write tickers as EXCHANGE:SYMBOL, e.g. NASDAQ:CLBT")
    return value


def _check_question_id(value: str) -> str:
    if value not in QUESTION_IDS:
        raise ValueError(f"'{value}' is not a questionnaire question id (e.g. P1, DD3, EU4)")
    return value


# Written YYYY-MM-DD (or an unquoted YAML date); a YAML `2019` must not become 1970-01-01.
CalendarDate = PlausibleDate
# Dates of things that have happened: events, publications, claims, responses.
PastCalendarDate = PastDate
Slug = Annotated[str, Field(max_length=100), AfterValidator(_check_slug)]
Text = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]
# As long as the registry takes a product name (hrdd.companies.schemas.ProductName).
ProductText = Annotated[str, Field(min_length=1, max_length=200)]
HttpUrl = Annotated[str, Field(max_length=2000), AfterValidator(_check_http_url)]
CountryCode = Annotated[str, AfterValidator(_check_country)]
Isin = Annotated[str, AfterValidator(_check_isin)]
Lei = Annotated[str, AfterValidator(_check_lei)]
Ticker = Annotated[str, AfterValidator(_check_ticker)]
QuestionId = Annotated[str, AfterValidator(_check_question_id)]
Severity = Annotated[int, Field(strict=True, ge=1, le=5)]

# A consistency issue found by a model: (field path relative to the model, message).
Issue = tuple[str, str]


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def _nested(prefix: str, children: ContentModel | Sequence[ContentModel] | None) -> list[Issue]:
    """Issues of child models, with their paths placed under `prefix`."""
    if children is None:
        return []
    if isinstance(children, ContentModel):
        return [(_join(prefix, path), message) for path, message in children.consistency_issues()]
    issues: list[Issue] = []
    for index, child in enumerate(children):
        issues.extend(_nested(f"{prefix}[{index}]", child))
    return issues


def _precision_issue(field: str, value: dt.date | None, precision: DatePrecision) -> list[Issue]:
    if value is None:
        return []
    if precision is DatePrecision.month and value.day != 1:
        first = value.replace(day=1).isoformat()
        return [(field, f"precision is 'month': write the first day of the month ({first})")]
    if precision is DatePrecision.year and (value.month, value.day) != (1, 1):
        first = value.replace(month=1, day=1).isoformat()
        return [(field, f"precision is 'year': write the first day of the year ({first})")]
    return []


def _duplicates(field: str, values: Sequence[object]) -> list[Issue]:
    seen: set[object] = set()
    issues: list[Issue] = []
    for index, value in enumerate(values):
        if value in seen:
            issues.append((f"{field}[{index}]", f"'{value}' is listed twice"))
        seen.add(value)
    return issues


class ContentModel(BaseModel):
    """Base of every evidence model: unknown keys are errors, text is stripped, and the
    cross-field rules in `consistency_issues` are enforced after field validation.

    The loader validates with the `defer_consistency` context so that it can collect those
    issues itself, with exact field paths, next to the field errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    def consistency_issues(self) -> list[Issue]:
        """Cross-field problems of this model and of the models inside it."""
        return []

    @model_validator(mode="after")
    def _enforce_consistency(self, info: ValidationInfo) -> Self:
        if info.context and info.context.get(_DEFER_CONSISTENCY):
            return self
        issues = self.consistency_issues()
        if issues:
            raise ValueError(
                "; ".join(f"{path or '(item)'}: {message}" for path, message in issues)
            )
        return self


# ---------------------------------------------------------------------------------------------
# Sources and dates


class SourceRef(ContentModel):
    """A published document: who published it, its title, its date and where to read it."""

    publisher: Text
    title: Text
    date: PastCalendarDate
    date_precision: DatePrecision = DatePrecision.day
    url: HttpUrl = Field(
        description="The article itself where verified; otherwise the publisher's page for the "
        "report, and `note` says so."
    )
    note: LongText | None = None

    def consistency_issues(self) -> list[Issue]:
        return _precision_issue("date", self.date, self.date_precision)


class IncidentSource(SourceRef):
    """A source of an incident, with its reliability class (scoring weighs it)."""

    source_class: SourceClass


class DateClaim(ContentModel):
    """One source's date for an event when sources disagree (announcement vs publication)."""

    date: PastCalendarDate
    date_precision: DatePrecision = DatePrecision.day
    what: Text = Field(description="What this date is, e.g. 'Federal Register publication'.")
    source: SourceRef

    def consistency_issues(self) -> list[Issue]:
        return _precision_issue("date", self.date, self.date_precision) + _nested(
            "source", self.source
        )


class CompanyResponse(ContentModel):
    """What the company did about an incident (CHRB theme E: respond, engage, remedy)."""

    kind: ResponseKind
    date: PastCalendarDate
    date_precision: DatePrecision = DatePrecision.day
    summary: LongText
    source: SourceRef

    def consistency_issues(self) -> list[Issue]:
        return _precision_issue("date", self.date, self.date_precision) + _nested(
            "source", self.source
        )


class RelatedListing(ContentModel):
    """The list entry behind a trade-restriction, sanction or delisting incident, in the terms
    the screening lists use (the CSL `source`, `programs`, `federal_register_notice`)."""

    list_name: Text = Field(
        description="As the US Consolidated Screening List names it, e.g. "
        "'Entity List (EL) - Bureau of Industry and Security'."
    )
    program: Text | None = None
    federal_register_notice: Text | None = None
    start_date: CalendarDate | None = Field(
        default=None, description="First day the listing applied, where a source gives it."
    )
    end_date: CalendarDate | None = Field(
        default=None, description="Day the removal took effect, for delistings."
    )
    note: LongText | None = None

    def consistency_issues(self) -> list[Issue]:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            return [("end_date", "is before start_date")]
        return []


# ---------------------------------------------------------------------------------------------
# Incidents and commitments


class Incident(ContentModel):
    """A dated piece of evidence about the company: a forensic finding, a listing, a lawsuit,
    a ruling, a remediation... Summaries are the curator's own words."""

    id: Slug = Field(description="Stable slug, unique across the whole evidence directory.")
    event_date: PastCalendarDate
    event_date_precision: DatePrecision
    published_date: PastCalendarDate
    published_date_precision: DatePrecision = DatePrecision.day
    type: EvidenceType
    title: Annotated[str, Field(min_length=1, max_length=150)]
    summary: Annotated[str, Field(min_length=20, max_length=2000)]
    affected_groups: list[AffectedGroup] = Field(default_factory=list)
    countries: list[CountryCode] = Field(
        default_factory=list,
        description="Countries the sources tie the incident to (where targets were, or the "
        "state said to operate the tool).",
    )
    severity: Severity
    severity_rationale: LongText = Field(description="Scale, scope, irremediability.")
    company_role: CompanyRole
    role_rationale: LongText
    status: EvidenceStatus
    remediated_date: PastCalendarDate | None = None
    status_note: LongText | None = Field(
        default=None, description="What 'remediated' covers and what it does not."
    )
    sources: Annotated[list[IncidentSource], Field(min_length=1)]
    date_disagreement: list[DateClaim] = Field(default_factory=list)
    company_responses: list[CompanyResponse] = Field(default_factory=list)
    related_listing: RelatedListing | None = None
    closes: list[Slug] = Field(
        default_factory=list,
        description="Ids of incidents in the same file whose harm this one ends (remediation, "
        "delisting and sanction_lifted items only).",
    )
    note: LongText | None = None

    def consistency_issues(self) -> list[Issue]:
        issues = _precision_issue("event_date", self.event_date, self.event_date_precision)
        issues += _precision_issue(
            "published_date", self.published_date, self.published_date_precision
        )
        if self.published_date < self.event_date:
            issues.append(("published_date", "is before event_date"))
        if self.status is EvidenceStatus.remediated and self.remediated_date is None:
            issues.append(("remediated_date", "is required when status is 'remediated'"))
        if self.status is EvidenceStatus.ongoing and self.remediated_date is not None:
            issues.append(("remediated_date", "must be empty while status is 'ongoing'"))
        if self.remediated_date is not None and self.remediated_date < self.event_date:
            issues.append(("remediated_date", "is before event_date"))
        if self.type in LISTING_EVIDENCE_TYPES and self.related_listing is None:
            issues.append(("related_listing", f"is required for type '{self.type}'"))
        if self.type not in LISTING_EVIDENCE_TYPES and self.related_listing is not None:
            issues.append(("related_listing", f"applies only to list entries, not '{self.type}'"))
        if self.closes and self.type not in CLOSING_EVIDENCE_TYPES:
            issues.append(
                (
                    "closes",
                    "only remediation, delisting and sanction_lifted items close others, "
                    f"not '{self.type}'",
                )
            )
        if self.id in self.closes:
            issues.append((f"closes[{self.closes.index(self.id)}]", "names the incident itself"))
        issues += _duplicates("affected_groups", self.affected_groups)
        issues += _duplicates("countries", self.countries)
        issues += _duplicates("closes", self.closes)
        for index, source in enumerate(self.sources):
            problem = source_date_problem(
                source.date, source.date_precision, self.event_date, self.event_date_precision
            )
            if problem:
                issues.append((f"sources[{index}].date", problem))
        issues += _nested("sources", self.sources)
        issues += _nested("date_disagreement", self.date_disagreement)
        issues += _nested("company_responses", self.company_responses)
        issues += _nested("related_listing", self.related_listing)
        return issues


class Commitment(ContentModel):
    """Something the company (or its owner, see `made_by`) claimed, and whether it held."""

    id: Slug
    date: PastCalendarDate
    date_precision: DatePrecision = DatePrecision.day
    title: Annotated[str, Field(min_length=1, max_length=150)]
    claim: LongText = Field(description="What was promised, in the curator's words.")
    made_by: Text | None = Field(
        default=None, description="Who made the claim when it was not the company itself."
    )
    source: SourceRef
    question_ids: Annotated[list[QuestionId], Field(min_length=1)]
    fulfilment: FulfilmentStatus
    fulfilment_rationale: LongText
    fulfilment_sources: list[SourceRef] = Field(default_factory=list)
    contradicted_by: list[Slug] = Field(
        default_factory=list, description="Ids of incidents in the same file."
    )
    note: LongText | None = None

    def consistency_issues(self) -> list[Issue]:
        issues = _precision_issue("date", self.date, self.date_precision)
        if self.fulfilment is FulfilmentStatus.contradicted and not self.contradicted_by:
            issues.append(
                ("contradicted_by", "name the incidents when fulfilment is 'contradicted'")
            )
        if self.fulfilment is not FulfilmentStatus.contradicted and self.contradicted_by:
            issues.append(("fulfilment", "must be 'contradicted' when contradicted_by is set"))
        if self.fulfilment is FulfilmentStatus.verified and not self.fulfilment_sources:
            issues.append(("fulfilment_sources", VERIFIED_NEEDS_SOURCES))
        issues += _duplicates("question_ids", self.question_ids)
        issues += _duplicates("contradicted_by", self.contradicted_by)
        issues += _nested("source", self.source)
        issues += _nested("fulfilment_sources", self.fulfilment_sources)
        return issues


# ---------------------------------------------------------------------------------------------
# The company


class Ownership(ContentModel):
    """Who owned (part of) the company, when, according to whom. Private-equity stakes seldom
    reach registries, so each link carries its own sources."""

    owner_name: Text
    owner_kind: OwnerKind
    owner_company_slug: Slug | None = Field(
        default=None, description="Set when the owner has its own file in the dataset."
    )
    percentage: Annotated[Decimal, Field(gt=0, le=100)] | None = Field(
        default=None, description="Empty when the stake is not public."
    )
    percentage_is_approximate: bool = False
    start: CalendarDate | None = None
    start_precision: DatePrecision = DatePrecision.day
    end: CalendarDate | None = None
    end_precision: DatePrecision = DatePrecision.day
    sources: Annotated[list[SourceRef], Field(min_length=1)]
    note: LongText | None = None

    @property
    def date_precision(self) -> DatePrecision:
        """The coarser of the two precisions, for stores that keep one per link."""
        order = list(DatePrecision)
        known = [
            precision
            for value, precision in (
                (self.start, self.start_precision),
                (self.end, self.end_precision),
            )
            if value is not None
        ]
        return max(known, key=order.index, default=DatePrecision.day)

    def consistency_issues(self) -> list[Issue]:
        issues = _precision_issue("start", self.start, self.start_precision)
        issues += _precision_issue("end", self.end, self.end_precision)
        if self.start and self.end and self.end < self.start:
            issues.append(("end", "is before start"))
        if self.percentage_is_approximate and self.percentage is None:
            issues.append(("percentage_is_approximate", "is set but percentage is empty"))
        issues += _nested("sources", self.sources)
        return issues


class ListingEvent(ContentModel):
    """A change of the company's market status: listed, taken private, delisted, defunct."""

    status: ListingStatus
    date: PastCalendarDate
    date_precision: DatePrecision = DatePrecision.day
    sources: Annotated[list[SourceRef], Field(min_length=1)]
    date_disagreement: list[DateClaim] = Field(default_factory=list)
    note: LongText | None = None

    def consistency_issues(self) -> list[Issue]:
        issues = _precision_issue("date", self.date, self.date_precision)
        issues += _nested("sources", self.sources)
        issues += _nested("date_disagreement", self.date_disagreement)
        return issues


class Identifiers(ContentModel):
    """Market identifiers, checked with python-stdnum (ISO 6166 ISIN, ISO 17442 LEI)."""

    isins: list[Isin] = Field(default_factory=list)
    lei: Lei | None = None
    tickers: list[Ticker] = Field(default_factory=list, description="EXCHANGE:SYMBOL")

    def consistency_issues(self) -> list[Issue]:
        return _duplicates("isins", self.isins) + _duplicates("tickers", self.tickers)


class CompanyInfo(ContentModel):
    """Who the company is. `slug` is the stable key and the file's name."""

    slug: Slug
    name: Text
    aliases: list[Text] = Field(
        default_factory=list, description="Other names, legal entities and former names."
    )
    products: list[ProductText] = Field(
        default_factory=list,
        description="The names its products are known by, as this file's sourced text names "
        "them: its own or a predecessor's product names (Pegasus), or the name researchers "
        "gave one (a comment then names the item that says so). Searchable; never matched as "
        "a name of the company.",
    )
    country: CountryCode
    website: HttpUrl | None = None
    categories: list[TechnologyCategory] = Field(default_factory=list)
    listing_status: ListingStatus
    control: bool = Field(
        default=False,
        description="A listed firm outside surveillance with no known abuse evidence, kept as "
        "a baseline for scoring.",
    )
    identifiers: Identifiers = Field(default_factory=Identifiers)
    listing_history: list[ListingEvent] = Field(default_factory=list)
    notes: LongText | None = None

    def consistency_issues(self) -> list[Issue]:
        issues = (
            _duplicates("aliases", self.aliases)
            + _duplicates("products", self.products)
            + _duplicates("categories", self.categories)
        )
        if self.name in self.aliases:
            issues.append(("aliases", "repeats the company name"))
        if self.listing_status is ListingStatus.listed and not (
            self.identifiers.isins or self.identifiers.tickers
        ):
            issues.append(("identifiers", "a listed company needs an ISIN or a ticker"))
        if self.control and self.categories:
            issues.append(("categories", "a control company has no surveillance categories"))
        dates = [event.date for event in self.listing_history]
        if dates != sorted(dates):
            issues.append(("listing_history", "events must be in date order"))
        if self.listing_history and self.listing_history[-1].status is not self.listing_status:
            issues.append(("listing_status", "differs from the last event in listing_history"))
        issues += _nested("identifiers", self.identifiers)
        issues += _nested("listing_history", self.listing_history)
        return issues


def _cross_item_issues(
    incidents: Sequence[tuple[object, Sequence[object]]],
    commitments: Sequence[tuple[object, Sequence[object]]],
) -> list[Issue]:
    """Ids unique within the file; an incident's closes and a commitment's contradicted_by
    name incidents of this file. Takes (id, references) pairs of raw values too, so the loader
    can report these next to field errors."""
    issues: list[Issue] = []
    first_seen: dict[str, str] = {}
    keyed = [(f"incidents[{index}]", item_id) for index, (item_id, _) in enumerate(incidents)]
    keyed += [(f"commitments[{index}]", item_id) for index, (item_id, _) in enumerate(commitments)]
    for path, item_id in keyed:
        if not isinstance(item_id, str):
            continue
        if item_id in first_seen:
            issues.append((f"{path}.id", f"duplicate id '{item_id}' (also {first_seen[item_id]})"))
        else:
            first_seen[item_id] = path
    known_incidents = {item_id for item_id, _ in incidents if isinstance(item_id, str)}
    for section, field, items in (
        ("incidents", "closes", incidents),
        ("commitments", "contradicted_by", commitments),
    ):
        for index, (_, references) in enumerate(items):
            for position, reference in enumerate(references):
                if isinstance(reference, str) and reference not in known_incidents:
                    issues.append(
                        (
                            f"{section}[{index}].{field}[{position}]",
                            f"no incident with id '{reference}' in this file",
                        )
                    )
    return issues


class EvidenceDocument(ContentModel):
    """One company's evidence file."""

    company: CompanyInfo
    ownership: list[Ownership] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)
    commitments: list[Commitment] = Field(default_factory=list)

    def consistency_issues(self) -> list[Issue]:
        issues = _nested("company", self.company)
        issues += _nested("ownership", self.ownership)
        issues += _nested("incidents", self.incidents)
        issues += _nested("commitments", self.commitments)
        issues += _cross_item_issues(
            [(incident.id, incident.closes) for incident in self.incidents],
            [(commitment.id, commitment.contradicted_by) for commitment in self.commitments],
        )
        by_id = {incident.id: incident for incident in self.incidents}
        for index, incident in enumerate(self.incidents):
            for position, closed_id in enumerate(incident.closes):
                closed = by_id.get(closed_id) if closed_id != incident.id else None
                problem = closed and closing_problem(
                    incident.type,
                    incident.event_date,
                    incident.event_date_precision,
                    closed.type,
                    closed.event_date,
                )
                if problem:
                    issues.append((f"incidents[{index}].closes[{position}]", problem))
        for index, link in enumerate(self.ownership):
            if link.owner_company_slug == self.company.slug:
                issues.append(
                    (f"ownership[{index}].owner_company_slug", "names the company itself")
                )
        if self.company.control and (self.incidents or self.commitments):
            issues.append(
                ("company.control", "a control company carries no incidents or commitments")
            )
        return issues

    def incident(self, incident_id: str) -> Incident:
        """The incident with this id (KeyError if absent)."""
        for incident in self.incidents:
            if incident.id == incident_id:
                return incident
        raise KeyError(incident_id)


@dataclass(frozen=True)
class EvidenceDataset:
    """Every evidence file of a directory, validated together (ids unique across files)."""

    documents: tuple[EvidenceDocument, ...]

    @property
    def slugs(self) -> list[str]:
        return [document.company.slug for document in self.documents]

    def company(self, slug: str) -> EvidenceDocument:
        """The document of the company with this slug (KeyError if absent)."""
        for document in self.documents:
            if document.company.slug == slug:
                return document
        raise KeyError(slug)


# ---------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class EvidenceProblem:
    """One problem in an evidence file: where it is and what is wrong."""

    file: str
    item_id: str | None
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        item = f" [{self.item_id}]" if self.item_id else ""
        field = f" {self.path}:" if self.path else ""
        return f"{where}{item}{field} {self.message}"


class EvidenceFileError(ValueError):
    """One or more evidence files are invalid; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[EvidenceProblem]) -> None:
        self.problems: tuple[EvidenceProblem, ...] = tuple(problems)
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} in evidence files:"
        super().__init__("\n".join([heading, *(f"  {problem}" for problem in self.problems)]))


# ---------------------------------------------------------------------------------------------
# Loading

_Location = tuple[str | int, ...]
_SECTION_MODELS: Final[dict[str, type[ContentModel]]] = {
    "ownership": Ownership,
    "incidents": Incident,
    "commitments": Commitment,
}


@dataclass
class _ParsedYaml:
    data: object
    lines: dict[_Location, int]


class _ProblemSink:
    """Collects problems of one file, adding the item id and line number from the raw data."""

    def __init__(self, source_name: str, data: object, lines: Mapping[_Location, int]) -> None:
        self.source_name = source_name
        self.data = data
        self.lines = lines
        self.problems: list[EvidenceProblem] = []

    def add(self, location: _Location, message: str) -> None:
        self.problems.append(
            EvidenceProblem(
                file=self.source_name,
                item_id=self._item_id(location),
                path=_format_location(location),
                message=message,
                line=self._line(location),
            )
        )

    def _line(self, location: _Location) -> int | None:
        for end in range(len(location), -1, -1):
            line = self.lines.get(location[:end])
            if line is not None:
                return line
        return None

    def _item_id(self, location: _Location) -> str | None:
        data = self.data if isinstance(self.data, Mapping) else {}
        if location[:1] == ("company",):
            company = data.get("company")
            slug = company.get("slug") if isinstance(company, Mapping) else None
            return slug if isinstance(slug, str) else "company"
        if len(location) >= 2 and isinstance(location[1], int):
            section, index = location[0], location[1]
            items = data.get(section)
            item = items[index] if isinstance(items, list) and index < len(items) else None
            key = "owner_name" if section == "ownership" else "id"
            value = item.get(key) if isinstance(item, Mapping) else None
            return value if isinstance(value, str) else f"{section}[{index}]"
        return None


def _format_location(location: Sequence[str | int]) -> str:
    text = ""
    for part in location:
        text = f"{text}[{part}]" if isinstance(part, int) else (f"{text}.{part}" if text else part)
    return text


def _parse_location(path: str) -> _Location:
    """'incidents[2].sources[0].url' -> ('incidents', 2, 'sources', 0, 'url')."""
    location: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        location.append(int(index) if index else name)
    return tuple(location)


def _pydantic_location(location: Sequence[str | int]) -> _Location:
    # Drop the validator labels pydantic inserts, such as 'function-after[...]'.
    return tuple(
        part for part in location if isinstance(part, int) or not re.search(r"[\[\(]", part)
    )


def _load_yaml(text: str, sink_name: str) -> _ParsedYaml | list[EvidenceProblem]:
    try:
        loader = CalendarSafeLoader(text)  # refuses control characters at once
    except yaml.reader.ReaderError as error:
        message, line = refused_character(text, error)
        return [EvidenceProblem(sink_name, None, "", message, line)]
    try:
        node = loader.get_single_node()
        if node is None:
            return [EvidenceProblem(sink_name, None, "", "the file is empty")]
        duplicate_keys = list(_duplicate_keys(node, ()))
        if duplicate_keys:
            return [
                EvidenceProblem(
                    sink_name,
                    None,
                    _format_location(location),
                    f"key '{key}' appears twice in the same mapping",
                    line,
                )
                for location, key, line in duplicate_keys
            ]
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        detail = " ".join(part for part in (error.context, error.problem) if part)
        return [EvidenceProblem(sink_name, None, "", f"YAML syntax error: {detail}", line)]
    except yaml.YAMLError as error:
        return [EvidenceProblem(sink_name, None, "", f"YAML error: {error}")]
    finally:
        loader.dispose()
    lines: dict[_Location, int] = {}
    _index_lines(node, (), lines)
    return _ParsedYaml(data, lines)


def _duplicate_keys(node: yaml.Node, location: _Location) -> Iterable[tuple[_Location, str, int]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                yield location, key, key_node.start_mark.line + 1
            seen.add(key)
            yield from _duplicate_keys(value_node, (*location, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*location, index))


def _index_lines(node: yaml.Node, location: _Location, lines: dict[_Location, int]) -> None:
    lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*location, str(key_node.value))
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*location, index), lines)


def _validate_document(sink: _ProblemSink) -> EvidenceDocument | None:
    context = {_DEFER_CONSISTENCY: True}
    try:
        document = EvidenceDocument.model_validate(sink.data, context=context)
    except ValidationError as error:
        for detail in error.errors():
            sink.add(_pydantic_location(detail["loc"]), plain_error_message(detail))
        _collect_partial_issues(sink, context)
        return None
    for path, message in document.consistency_issues():
        sink.add(_parse_location(path), message)
    return document if not sink.problems else None


def _collect_partial_issues(sink: _ProblemSink, context: dict[str, bool]) -> None:
    """After field errors, still report the cross-field issues of every item that is valid on
    its own, and the id checks on the raw data, so one run lists everything."""
    data = sink.data
    if not isinstance(data, Mapping):
        return
    company = data.get("company")
    if isinstance(company, Mapping):
        try:
            info = CompanyInfo.model_validate(company, context=context)
        except ValidationError:
            pass
        else:
            for path, message in info.consistency_issues():
                sink.add(("company", *_parse_location(path)), message)
    for section, model in _SECTION_MODELS.items():
        items = data.get(section)
        if not isinstance(items, list):
            continue
        for index, raw in enumerate(items):
            try:
                item = model.model_validate(raw, context=context)
            except ValidationError:
                continue
            for path, message in item.consistency_issues():
                sink.add((section, index, *_parse_location(path)), message)
    incident_refs = _raw_references(data.get("incidents"), "closes")
    commitment_refs = _raw_references(data.get("commitments"), "contradicted_by")
    for path, message in _cross_item_issues(incident_refs, commitment_refs):
        sink.add(_parse_location(path), message)


def _raw_references(items: object, field: str) -> list[tuple[object, Sequence[object]]]:
    """(id, the list under `field`) of each raw item of a section, whatever their shape."""
    pairs: list[tuple[object, Sequence[object]]] = []
    for raw in items if isinstance(items, list) else []:
        references = raw.get(field) if isinstance(raw, Mapping) else None
        pairs.append(
            (
                raw.get("id") if isinstance(raw, Mapping) else None,
                references if isinstance(references, list) else [],
            )
        )
    return pairs


def _document_or_problems(
    text: str, source_name: str
) -> tuple[EvidenceDocument | None, list[EvidenceProblem]]:
    parsed = _load_yaml(text, source_name)
    if isinstance(parsed, list):
        return None, parsed
    return _checked_data(parsed.data, source_name, parsed.lines)


def _checked_data(
    data: object, source_name: str, lines: Mapping[_Location, int]
) -> tuple[EvidenceDocument | None, list[EvidenceProblem]]:
    sink = _ProblemSink(source_name, data, lines)
    if not isinstance(data, Mapping):
        sink.add((), "the file must be a mapping with company, ownership, incidents, commitments")
        return None, sink.problems
    document = _validate_document(sink)
    return document, sink.problems


def parse_evidence_document(data: str | Mapping[str, Any], source_name: str) -> EvidenceDocument:
    """Validate one evidence document given as YAML text or as already-parsed data.

    `source_name` names it in error messages (a file name, or e.g. 'request body').
    Raises EvidenceFileError listing every problem."""
    if isinstance(data, str):
        document, problems = _document_or_problems(data, source_name)
    else:
        document, problems = _checked_data(data, source_name, {})
    if problems or document is None:
        raise EvidenceFileError(problems)
    return document


def load_evidence_file(path: str | Path) -> EvidenceDocument:
    """Read and validate one evidence file; its name must be the company slug + '.yaml'."""
    file_path = Path(path)
    document, problems = _read_file(file_path)
    if problems or document is None:
        raise EvidenceFileError(problems)
    return document


def _read_file(file_path: Path) -> tuple[EvidenceDocument | None, list[EvidenceProblem]]:
    name = file_path.name
    try:
        text = file_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [EvidenceProblem(name, None, "", f"cannot read the file: {error}")]
    document, problems = _document_or_problems(text, name)
    if document is not None and document.company.slug != file_path.stem:
        problems = [
            EvidenceProblem(
                name,
                document.company.slug,
                "company.slug",
                f"must match the file name '{file_path.stem}'",
            )
        ]
        document = None
    return document, problems


def load_evidence_dir(path: str | Path) -> EvidenceDataset:
    """Validate every *.yaml file of a directory together: each file on its own, then company
    slugs and item ids unique across files and ownership links that name a company present.

    Raises EvidenceFileError listing every problem in every file."""
    directory = Path(path)
    if not directory.is_dir():
        raise EvidenceFileError([EvidenceProblem(str(directory), None, "", "is not a directory")])
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise EvidenceFileError([EvidenceProblem(str(directory), None, "", "holds no YAML files")])
    problems: list[EvidenceProblem] = []
    loaded: list[tuple[Path, EvidenceDocument]] = []
    for file_path in files:
        document, file_problems = _read_file(file_path)
        problems.extend(file_problems)
        if document is not None:
            loaded.append((file_path, document))
    problems.extend(_cross_file_problems(loaded))
    if problems:
        raise EvidenceFileError(problems)
    return EvidenceDataset(tuple(document for _, document in loaded))


def _cross_file_problems(loaded: Sequence[tuple[Path, EvidenceDocument]]) -> list[EvidenceProblem]:
    problems: list[EvidenceProblem] = []
    slug_files: dict[str, str] = {}
    item_files: dict[str, str] = {}
    for file_path, document in loaded:
        slug = document.company.slug
        if slug in slug_files:
            problems.append(
                EvidenceProblem(
                    file_path.name, slug, "company.slug", f"also used by {slug_files[slug]}"
                )
            )
        slug_files.setdefault(slug, file_path.name)
        items: list[tuple[str, str]] = [
            (f"incidents[{index}].id", incident.id)
            for index, incident in enumerate(document.incidents)
        ]
        items += [
            (f"commitments[{index}].id", commitment.id)
            for index, commitment in enumerate(document.commitments)
        ]
        for item_path, item_id in items:
            if item_id in item_files:
                problems.append(
                    EvidenceProblem(
                        file_path.name, item_id, item_path, f"id also used in {item_files[item_id]}"
                    )
                )
            item_files.setdefault(item_id, file_path.name)
    problems.extend(_shared_identifier_problems(loaded))
    for file_path, document in loaded:
        for index, link in enumerate(document.ownership):
            if link.owner_company_slug and link.owner_company_slug not in slug_files:
                problems.append(
                    EvidenceProblem(
                        file_path.name,
                        link.owner_name,
                        f"ownership[{index}].owner_company_slug",
                        f"no evidence file for company '{link.owner_company_slug}'",
                    )
                )
    return problems


def _shared_identifier_problems(
    loaded: Sequence[tuple[Path, EvidenceDocument]],
) -> list[EvidenceProblem]:
    """An ISIN, LEI or ticker identifies one company: two files may not claim the same one."""
    problems: list[EvidenceProblem] = []
    owners: dict[tuple[str, str], str] = {}
    for file_path, document in loaded:
        identifiers = document.company.identifiers
        claimed = [
            (f"isins[{index}]", "ISIN", value) for index, value in enumerate(identifiers.isins)
        ]
        claimed += [
            (f"tickers[{index}]", "ticker", value)
            for index, value in enumerate(identifiers.tickers)
        ]
        if identifiers.lei:
            claimed.append(("lei", "LEI", identifiers.lei))
        for field, scheme, value in claimed:
            key = (scheme, value)
            if key in owners:
                problems.append(
                    EvidenceProblem(
                        file_path.name,
                        document.company.slug,
                        f"company.identifiers.{field}",
                        f"{scheme} {value} is also claimed by {owners[key]}",
                    )
                )
            owners.setdefault(key, file_path.name)
    return problems
