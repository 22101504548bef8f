import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, StringConstraints
from stdnum import isin as stdnum_isin
from stdnum import lei as stdnum_lei
from stdnum.exceptions import ValidationError as StdnumError

from hrdd.companies.names import hiding_characters
from hrdd.dates import PastDate, PlausibleDate
from hrdd.vocab import (
    COUNTRY_CODES,
    DatePrecision,
    ListingStatus,
    OwnerKind,
    TechnologyCategory,
)


def _valid_isin(value: str) -> str:
    try:
        return stdnum_isin.validate(value)
    except StdnumError as exc:
        raise ValueError(f"{value!r} is not a valid ISIN ({exc.message})") from exc


def _valid_lei(value: str) -> str:
    try:
        return stdnum_lei.validate(value)
    except StdnumError as exc:
        raise ValueError(f"{value!r} is not a valid LEI ({exc.message})") from exc


def _country(value: str) -> str:
    # Two letters are not enough: "UK" and "XX" name no country (the evidence checks the same).
    if value.upper() not in COUNTRY_CODES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value.upper()


def _at_most(limit: int) -> AfterValidator:
    """A URL no longer than its database column (checked after normalisation, which may
    lengthen it), so an over-long one is a 422 and not a database error."""

    def check(url: HttpUrl) -> HttpUrl:
        if len(str(url)) > limit:
            raise ValueError(f"the URL is longer than {limit} characters")
        return url

    return AfterValidator(check)


Isin = Annotated[str, AfterValidator(_valid_isin)]
Lei = Annotated[str, AfterValidator(_valid_lei)]
Country = Annotated[str, AfterValidator(_country)]


# A name with something in it: spaces around it are dropped, and one of only spaces (which
# matches nothing and once made every screening import fail) is refused.
def _plain_name(value: str) -> str:
    """A name that shows what it is: none of the characters that hide or reorder it (the
    security test's "NSO<zero-width space> Group" decoy)."""
    hiding = hiding_characters(value)
    if hiding:
        raise ValueError(
            f"it holds characters that hide or reorder what it shows "
            f"({', '.join(dict.fromkeys(hiding))}): type the name without them"
        )
    return value


CompanyName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_plain_name),
]
Ticker = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9.:\-/ ]+$")]
ProductName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
_PRODUCTS = (
    "The names its products are known by: its own or a predecessor's product names (Pegasus, "
    "UFED), or the name researchers gave one its sources know it by (Microsoft's "
    "DevilsTongue for Candiru's spyware). A search by q finds the company by them; they are "
    "no names of it, so holdings and screening lists never match by them"
)


class CompanyIn(BaseModel):
    """Create or replace a company (PUT sends the whole company)."""

    model_config = ConfigDict(extra="forbid")

    name: CompanyName
    aliases: list[CompanyName] = Field(default_factory=list, max_length=50)
    products: list[ProductName] = Field(
        default_factory=list,
        max_length=50,
        description=_PRODUCTS + " (a repeated one is kept once)",
    )
    country: Country | None = None
    website: Annotated[HttpUrl, _at_most(500)] | None = None
    categories: list[TechnologyCategory] = Field(default_factory=list)
    listing_status: ListingStatus = ListingStatus.private
    isins: list[Isin] = Field(default_factory=list, max_length=50)
    lei: Lei | None = None
    tickers: list[Ticker] = Field(default_factory=list, max_length=50)
    notes: str | None = Field(default=None, max_length=5000)


class OwnershipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_name: CompanyName
    owner_kind: OwnerKind
    owner_company_id: uuid.UUID | None = None
    percentage: Decimal | None = Field(default=None, ge=0, le=100, max_digits=7, decimal_places=4)
    start_date: PlausibleDate | None = None
    end_date: PlausibleDate | None = None
    date_precision: DatePrecision = Field(
        default=DatePrecision.day,
        description="How much of start_date and end_date the sources give (a date known to the "
        "month or year is sent as its first day); reports print them no finer",
    )
    source_publisher: str | None = Field(default=None, max_length=300)
    source_title: str | None = Field(default=None, max_length=500)
    source_date: PastDate | None = None
    source_url: Annotated[HttpUrl, _at_most(2000)] | None = None
    note: str | None = Field(default=None, max_length=2000)


class OwnershipOut(BaseModel):
    id: uuid.UUID
    company_id: uuid.UUID
    company_name: str
    owner_name: str
    owner_kind: OwnerKind
    owner_company_id: uuid.UUID | None
    percentage: Decimal | None
    start_date: date | None
    end_date: date | None
    date_precision: str
    source_publisher: str | None
    source_title: str | None
    source_date: date | None
    source_url: str | None
    note: str | None
    shared: bool = Field(
        description="A bundled link, shared by every organisation and read-only; false for a "
        "link your organisation added, which only it sees"
    )


class CompanyOut(BaseModel):
    id: uuid.UUID
    slug: str | None
    name: str
    aliases: list[str]
    products: list[str] = Field(description=_PRODUCTS)
    country: str | None
    website: str | None
    categories: list[TechnologyCategory]
    listing_status: ListingStatus
    isins: list[str]
    lei: str | None
    tickers: list[str]
    notes: str | None
    editable: bool = Field(
        description="Whether your organisation may edit it: true for the companies it made "
        "(private to it); shared ones (bundled, or made before companies became private) are "
        "read-only"
    )
    version: int
    created_at: datetime
    updated_at: datetime
    owners: list[OwnershipOut] = Field(description="Who owns or owned this company")
    holdings: list[OwnershipOut] = Field(description="Companies this company owns or owned")


class CompanySummary(BaseModel):
    id: uuid.UUID
    slug: str | None
    name: str
    products: list[str] = Field(description=_PRODUCTS)
    country: str | None
    categories: list[TechnologyCategory]
    listing_status: ListingStatus
    isins: list[str]
    lei: str | None
    tickers: list[str]


class CompanyMatch(CompanySummary):
    matched_products: list[str] = Field(
        description="The products q names from the start of a word when it found the company by "
        "them alone ('Pegasus' finds NSO Group); empty when q matches its name, an alias or an "
        "identifier"
    )


class CompanySuggestion(CompanySummary):
    similarity: float = Field(
        description="How closely the company's name, an alias or an owner name it is known by "
        "resembles q, 0 to 100 (the portfolio import's name score)"
    )


class CompanyList(BaseModel):
    items: list[CompanyMatch]
    next_cursor: str | None = None
    suggestions: list[CompanySuggestion] = Field(
        default_factory=list,
        description="Only when q matches no company by name, alias, product or identifier: the "
        "companies whose names or aliases resemble it (a misspelling such as 'Intelexa'), best "
        "first, at most 5; products are never compared, as the holdings import never compares "
        "them. Empty otherwise",
    )
    recorded_owners: list[OwnershipOut] = Field(
        default_factory=list,
        description="On the first page of a search by q: the ownership links whose owner the "
        "registry records by name only, with no company of its own (a fund or private-equity "
        "sponsor such as Francisco Partners), named by q from the start of a word; when "
        "neither a company nor such an owner is named so, the owners whose names resemble q. "
        "Each link says what the owner owns or owned, since when, how much and who says so. "
        "At most 20; `category` does not filter them (an owner has none)",
    )
