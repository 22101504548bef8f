"""Companies (shared reference data), their market identifiers and ownership links.

Companies are read by every organisation. Bundled companies (with a slug) come from the curated
files and are read-only through the API; a company made through the API is edited only by the
organisation that made it, so no tenant can rename another's holdings. Ownership links move
scores (exposure through ownership), so they follow the evidence model: bundled links are
shared and read-only, links an analyst adds are private to the analyst's organisation.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from hrdd.db import JsonType, SharedOrTenantOwned, UTCDateTime, new_id, organisation_fk, utcnow


class Company(SQLModel, table=True):
    __tablename__ = "companies"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # Stable key of bundled companies (the evidence file name); None for companies made by API.
    slug: str | None = Field(default=None, max_length=100, unique=True)
    name: str = Field(max_length=300, index=True)
    aliases: list[str] = Field(default_factory=list, sa_type=JsonType)
    # Name and aliases, case-folded and joined: one LIKE searches both, the same on every backend.
    search_text: str = Field(default="", sa_type=String(4000))
    country: str | None = Field(default=None, max_length=2)
    website: str | None = Field(default=None, max_length=500)
    categories: list[str] = Field(default_factory=list, sa_type=JsonType)
    listing_status: str = Field(default="private", max_length=20)
    lei: str | None = Field(default=None, max_length=20, unique=True)
    notes: str | None = Field(default=None, max_length=5000)
    # The organisation that made it through the API, the only one that may edit it; None for
    # bundled companies (and for companies made before this was recorded).
    created_by_organisation_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("organisations.id", ondelete="SET NULL"), index=True),
    )
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CompanyIdentifier(SQLModel, table=True):
    """ISINs and exchange tickers; a company can have several of each."""

    __tablename__ = "company_identifiers"
    __table_args__ = (UniqueConstraint("scheme", "value"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    company_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    scheme: str = Field(max_length=10)  # "isin" | "ticker"
    value: str = Field(max_length=40, index=True)


class OwnershipLink(SharedOrTenantOwned, SQLModel, table=True):
    """Who owns (part of) a company, when, and says who. Private-equity stakes rarely appear
    in registries, so each link keeps its own source. Bundled links (``organisation_id`` None)
    are shared; a link an analyst adds is private to the analyst's organisation."""

    __tablename__ = "ownership_links"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID | None = organisation_fk(nullable=True)
    company_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    owner_company_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("companies.id", ondelete="SET NULL"), index=True),
    )
    owner_name: str = Field(max_length=300)
    owner_kind: str = Field(max_length=20)
    percentage: Decimal | None = Field(default=None, sa_type=Numeric(7, 4))
    start_date: date | None = None
    end_date: date | None = None
    date_precision: str = Field(default="day", max_length=10)
    source_publisher: str | None = Field(default=None, max_length=300)
    source_title: str | None = Field(default=None, max_length=500)
    source_date: date | None = None
    source_url: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
