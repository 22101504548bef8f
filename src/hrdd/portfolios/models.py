"""Tables of the portfolios domain: an organisation's portfolios and their holdings.

Both are private to the organisation (holdings carry ``organisation_id`` too, so the tenant
filter covers them even when they are queried without their portfolio).
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ForeignKey, Numeric
from sqlmodel import Field, SQLModel

from hrdd.db import JsonType, TenantOwned, UTCDateTime, new_id, organisation_fk, utcnow


class Portfolio(TenantOwned, SQLModel, table=True):
    __tablename__ = "portfolios"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    name: str = Field(max_length=300)
    # ISO 4217; every market value of the portfolio is in this currency (no rates are kept).
    base_currency: str = Field(max_length=3)
    description: str | None = Field(default=None, max_length=2000)
    created_by_name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set by every holdings import: the holdings are a snapshot as of this moment.
    holdings_imported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    holdings_imported_by: str | None = Field(default=None, max_length=200)


class Holding(TenantOwned, SQLModel, table=True):
    """One line of a portfolio, as imported, and the company it was resolved to.

    ``resolution`` is a ``HoldingResolution``; ``candidates`` lists the companies a name
    matched ({company_id, name, score}) while it waits for someone to confirm one.
    """

    __tablename__ = "holdings"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    portfolio_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    # Line of the imported file the holding came from: keeps the file's order.
    line: int
    name: str | None = Field(default=None, max_length=300)
    isin: str | None = Field(default=None, max_length=12)
    lei: str | None = Field(default=None, max_length=20)
    ticker: str | None = Field(default=None, max_length=40)
    market_value: Decimal | None = Field(default=None, sa_type=Numeric(24, 4))
    currency: str = Field(max_length=3)
    # Fraction of the portfolio (0..1) as given in the file.
    weight: Decimal | None = Field(default=None, sa_type=Numeric(12, 10))
    company_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("companies.id", ondelete="SET NULL"), index=True),
    )
    resolution: str = Field(max_length=20)
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_type=JsonType)
    resolved_by_name: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
