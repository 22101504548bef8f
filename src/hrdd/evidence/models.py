"""Tables of the evidence domain: dated evidence items (incidents) and company commitments.

Both are shared-or-private: bundled rows (``organisation_id`` None) come from the curated
``evidence/`` files and every organisation reads them; analysts add rows private to their own
organisation. Nothing is ever hard-deleted through the API: ``deleted_at`` marks a soft delete
and the audit trail keeps what was there.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, UniqueConstraint
from sqlmodel import Field, SQLModel

from hrdd.db import JsonType, SharedOrTenantOwned, UTCDateTime, new_id, organisation_fk, utcnow


class EvidenceItem(SharedOrTenantOwned, SQLModel, table=True):
    """One dated event about a company: a forensic finding, a list entry, a ruling...

    Sources, date disagreements, company responses and the related list entry are JSON
    documents shaped like the curated files (see ``hrdd.evidence.content``): they are always
    read and written whole with their item, never queried on their own.
    """

    __tablename__ = "evidence_items"
    __table_args__ = (
        # One screening list entry yields at most one item of a kind per company and date,
        # which keeps a repeated import from creating anything twice.
        UniqueConstraint(
            "organisation_id",
            "screening_record_key",
            "company_id",
            "type",
            "event_date",
            name="uq_evidence_items_screening_key",
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID | None = organisation_fk(nullable=True)
    company_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # Stable key of bundled items (the incident id in the curated file); None otherwise.
    slug: str | None = Field(default=None, max_length=100, unique=True)
    origin: str = Field(max_length=20)  # EvidenceOrigin
    event_date: date = Field(index=True)
    event_date_precision: str = Field(default="day", max_length=10)
    published_date: date | None = None
    published_date_precision: str = Field(default="day", max_length=10)
    type: str = Field(max_length=40, index=True)  # EvidenceType
    title: str = Field(max_length=300)
    summary: str = Field(max_length=5000)
    affected_groups: list[str] = Field(default_factory=list, sa_type=JsonType)
    countries: list[str] = Field(default_factory=list, sa_type=JsonType)
    severity: int | None = None
    severity_rationale: str | None = Field(default=None, max_length=2000)
    company_role: str = Field(max_length=20)  # CompanyRole
    role_rationale: str | None = Field(default=None, max_length=2000)
    status: str = Field(default="ongoing", max_length=20)  # EvidenceStatus
    remediated_date: date | None = None
    status_note: str | None = Field(default=None, max_length=2000)
    sources: list[dict[str, Any]] = Field(default_factory=list, sa_type=JsonType)
    date_disagreements: list[dict[str, Any]] = Field(default_factory=list, sa_type=JsonType)
    company_responses: list[dict[str, Any]] = Field(default_factory=list, sa_type=JsonType)
    related_listing: dict[str, Any] | None = Field(default=None, sa_type=JsonType)
    # Ids of evidence items of the same company that this one ends (a remediation, a lifted
    # listing): the engine counts them remediated from the day this item became known.
    closes: list[str] = Field(default_factory=list, sa_type=JsonType)
    note: str | None = Field(default=None, max_length=2000)
    # Set on items a screening-list import created: the list's record key and the import.
    screening_record_key: str | None = Field(default=None, max_length=200, index=True)
    screening_import_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("screening_imports.id", ondelete="SET NULL"), index=True),
    )
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Commitment(SharedOrTenantOwned, SQLModel, table=True):
    """Something a company claimed, the questionnaire questions it speaks to, and whether it
    held. ``contradicted_by`` lists the ids of evidence items of the same company that show it
    did not."""

    __tablename__ = "commitments"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID | None = organisation_fk(nullable=True)
    company_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    slug: str | None = Field(default=None, max_length=100, unique=True)
    origin: str = Field(max_length=20)  # EvidenceOrigin (never "screening")
    date: date
    date_precision: str = Field(default="day", max_length=10)
    title: str = Field(max_length=300)
    claim: str = Field(max_length=2000)
    made_by: str | None = Field(default=None, max_length=300)
    source: dict[str, Any] = Field(sa_type=JsonType)
    question_ids: list[str] = Field(default_factory=list, sa_type=JsonType)
    fulfilment: str = Field(max_length=20)  # FulfilmentStatus
    fulfilment_rationale: str = Field(max_length=2000)
    fulfilment_sources: list[dict[str, Any]] = Field(default_factory=list, sa_type=JsonType)
    contradicted_by: list[str] = Field(default_factory=list, sa_type=JsonType)
    note: str | None = Field(default=None, max_length=2000)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
