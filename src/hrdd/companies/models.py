"""Companies, their market identifiers and ownership links.

Companies follow the evidence model: bundled companies (with a slug, from the curated files)
and those made before makers were recorded (migration 0006) are shared and read-only through
the API; a company made through the API is private to the organisation that made it, which
alone sees and edits it (its notes may say what it holds and plans). Ownership links move
scores (exposure through ownership), so they too are shared when bundled and private to the
analyst's organisation when added through the API.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Index, Numeric, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hrdd.db import JsonType, SharedOrTenantOwned, UTCDateTime, new_id, organisation_fk, utcnow

# Unique among the shared rows: a second index, as both backends treat NULLs as distinct.
_SHARED = text("organisation_id IS NULL")


class Company(SharedOrTenantOwned, SQLModel, table=True):
    __tablename__ = "companies"
    # An LEI is unique among the shared companies and among one organisation's own, not across
    # organisations: one organisation's private company must not block, or reveal itself to,
    # another recording the same entity. companies.service also keeps an organisation's own
    # companies from taking a shared company's identifier.
    __table_args__ = (
        UniqueConstraint("lei", "organisation_id"),
        Index(
            "uq_companies_lei_shared",
            "lei",
            unique=True,
            sqlite_where=_SHARED,
            postgresql_where=_SHARED,
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # The organisation that made it through the API, the only one that sees it; None for
    # shared companies: bundled ones and those made before their maker was recorded.
    organisation_id: uuid.UUID | None = organisation_fk(nullable=True)
    # Stable key of bundled companies (the evidence file name); None for companies made by API.
    slug: str | None = Field(default=None, max_length=100, unique=True)
    name: str = Field(max_length=300, index=True)
    aliases: list[str] = Field(default_factory=list, sa_type=JsonType)
    # What it makes or sells under its own name (Pegasus, UFED): searchable, but never a name of
    # the company, so holdings and screening lists do not match by them.
    products: list[str] = Field(default_factory=list, sa_type=JsonType)
    # Name, aliases and products, case-folded and joined: one LIKE searches them all, the same
    # on every backend.
    search_text: str = Field(default="", sa_type=String(4000))
    country: str | None = Field(default=None, max_length=2)
    website: str | None = Field(default=None, max_length=500)
    categories: list[str] = Field(default_factory=list, sa_type=JsonType)
    listing_status: str = Field(default="private", max_length=20)
    lei: str | None = Field(default=None, max_length=20)
    notes: str | None = Field(default=None, max_length=5000)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CompanyIdentifier(SharedOrTenantOwned, SQLModel, table=True):
    """ISINs and exchange tickers; a company can have several of each. Each carries its
    company's organisation, so the tenant filter hides it with its company and it is unique
    in the same scope as the LEI."""

    __tablename__ = "company_identifiers"
    __table_args__ = (
        UniqueConstraint("scheme", "value", "organisation_id"),
        Index(
            "uq_company_identifiers_scheme_value_shared",
            "scheme",
            "value",
            unique=True,
            sqlite_where=_SHARED,
            postgresql_where=_SHARED,
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID | None = organisation_fk(nullable=True)
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
