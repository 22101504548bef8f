"""Tables of the screening domain: list imports, the snapshot each import saw, the review queue
of uncertain matches and the pairs an analyst has rejected. All private to one organisation."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hrdd.db import JsonType, TenantOwned, UTCDateTime, new_id, organisation_fk, utcnow


class ScreeningImport(TenantOwned, SQLModel, table=True):
    """One uploaded list file: who imported it, what it held and what the import did."""

    __tablename__ = "screening_imports"
    __table_args__ = (
        Index("ix_screening_imports_list_snapshot", "organisation_id", "list_key", "snapshot_date"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    imported_by_key_id: uuid.UUID | None = None
    imported_by_name: str = Field(max_length=200)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    file_name: str = Field(max_length=300)
    sha256: str = Field(max_length=64)
    size_bytes: int
    format: str = Field(max_length=20)  # "csl" | "opensanctions"
    # Which list this file is a snapshot of; delistings compare snapshots of one list only.
    list_key: str = Field(max_length=100)
    snapshot_date: date
    previous_import_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("screening_imports.id", ondelete="SET NULL")),
    )
    # "review_pending" while matches of this import wait in the queue, else "completed".
    status: str = Field(max_length=20)
    rows_total: int = 0
    rows_added: int = 0
    rows_removed: int = 0
    identifier_matches: int = 0
    name_matches: int = 0
    review_queued: int = 0
    evidence_created: int = 0
    delistings_created: int = 0
    # Lists of the previous snapshot (or of records still listed) this file has no row of: its
    # absent records of those lists were not judged removed. Kept, as it depends on that moment.
    lists_not_covered: list[str] = Field(default_factory=list, sa_type=JsonType)


class ScreeningListEntry(TenantOwned, SQLModel, table=True):
    """A record as one import saw it, so the next snapshot of the list can be compared."""

    __tablename__ = "screening_list_entries"
    __table_args__ = (UniqueConstraint("import_id", "record_key"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    import_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("screening_imports.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    record_key: str = Field(max_length=200)
    list_name: str = Field(max_length=300)
    name: str = Field(max_length=1000)
    entity_type: str | None = Field(default=None, max_length=50)
    line: int


class ScreeningMatch(TenantOwned, SQLModel, table=True):
    """A grey-zone match waiting for (or given) an analyst's decision. ``record`` keeps the
    list details needed to create the evidence item when the match is confirmed."""

    __tablename__ = "screening_matches"
    __table_args__ = (UniqueConstraint("organisation_id", "record_key", "company_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    import_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("screening_imports.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    record_key: str = Field(max_length=200)
    record_name: str = Field(max_length=1000)
    list_name: str = Field(max_length=300)
    company_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    matched_name: str = Field(max_length=1000)
    score: float
    status: str = Field(default="pending", max_length=20, index=True)
    record: dict[str, Any] = Field(sa_type=JsonType)
    evidence_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("evidence_items.id", ondelete="SET NULL")),
    )
    decided_by_key_id: uuid.UUID | None = None
    decided_by_name: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScreeningRejection(TenantOwned, SQLModel, table=True):
    """A (list record, company) pair an analyst said is not a match: never proposed again."""

    __tablename__ = "screening_rejections"
    __table_args__ = (UniqueConstraint("organisation_id", "record_key", "company_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    record_key: str = Field(max_length=200)
    company_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    rejected_by_key_id: uuid.UUID | None = None
    rejected_by_name: str = Field(max_length=200)
    rejected_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
