"""Request and response models of the evidence API.

Requests reuse the sub-models of the curated files (``hrdd.evidence.content``) for sources,
date disagreements, company responses and list entries, so an item added through the API has
the same shape as a bundled one. Responses use looser models of their own: items created by a
screening import carry list data that need not meet the curators' rules (a list record may have
no URL).
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from hrdd.evidence.content import (
    CompanyResponse,
    CountryCode,
    DateClaim,
    IncidentSource,
    PastCalendarDate,
    QuestionId,
    RelatedListing,
    SourceRef,
)
from hrdd.vocab import (
    AffectedGroup,
    CompanyRole,
    DatePrecision,
    EvidenceStatus,
    EvidenceType,
    FulfilmentStatus,
    ResponseKind,
    SourceClass,
)


class EvidenceOrigin(StrEnum):
    """Where an evidence item or commitment came from."""

    bundled = "bundled"  # the curated evidence/ files, shared and read-only
    analyst = "analyst"  # added through the API, private to the analyst's organisation
    screening = "screening"  # created by a screening-list import, private likewise


Rationale = Annotated[str, Field(min_length=1, max_length=2000)]


class EvidenceIn(BaseModel):
    """An evidence item as an analyst writes it (PUT sends the whole item)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_date: PastCalendarDate
    event_date_precision: DatePrecision = DatePrecision.day
    published_date: PastCalendarDate | None = None
    published_date_precision: DatePrecision = DatePrecision.day
    type: EvidenceType
    title: str = Field(min_length=1, max_length=300)
    summary: str = Field(min_length=1, max_length=5000, description="In your own words.")
    affected_groups: list[AffectedGroup] = Field(default_factory=list, max_length=10)
    countries: list[CountryCode] = Field(default_factory=list, max_length=50)
    severity: int = Field(ge=1, le=5, description="1-5: scale, scope and irremediability")
    severity_rationale: Rationale | None = None
    company_role: CompanyRole
    role_rationale: Rationale | None = None
    status: EvidenceStatus = EvidenceStatus.ongoing
    remediated_date: PastCalendarDate | None = None
    status_note: Rationale | None = None
    sources: list[IncidentSource] = Field(min_length=1, max_length=50)
    date_disagreements: list[DateClaim] = Field(default_factory=list, max_length=20)
    company_responses: list[CompanyResponse] = Field(default_factory=list, max_length=50)
    related_listing: RelatedListing | None = None
    closes: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=50,
        description="Evidence items of the same company whose harm this item ends, each once; "
        "only remediation, delisting and sanction_lifted items close others",
    )
    note: Rationale | None = None


class EvidenceCreate(EvidenceIn):
    company_id: uuid.UUID


class SourceOut(BaseModel):
    publisher: str
    title: str
    date: dt.date | None = None
    date_precision: DatePrecision = DatePrecision.day
    url: str | None = None
    note: str | None = None
    source_class: SourceClass | None = None


class DateClaimOut(BaseModel):
    date: dt.date
    date_precision: DatePrecision
    what: str
    source: SourceOut


class CompanyResponseOut(BaseModel):
    kind: ResponseKind
    date: dt.date
    date_precision: DatePrecision
    summary: str
    source: SourceOut


class ListingOut(BaseModel):
    list_name: str
    program: str | None = None
    federal_register_notice: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    note: str | None = None


class EvidenceOut(BaseModel):
    id: uuid.UUID
    company_id: uuid.UUID
    slug: str | None = Field(description="Stable key of bundled items")
    origin: EvidenceOrigin
    shared: bool = Field(description="True for bundled reference items every organisation sees")
    event_date: dt.date
    event_date_precision: DatePrecision
    published_date: dt.date | None
    published_date_precision: DatePrecision
    type: EvidenceType
    title: str
    summary: str
    affected_groups: list[AffectedGroup]
    countries: list[str]
    severity: int | None
    severity_rationale: str | None
    company_role: CompanyRole
    role_rationale: str | None
    status: EvidenceStatus
    remediated_date: dt.date | None
    status_note: str | None
    sources: list[SourceOut]
    date_disagreements: list[DateClaimOut]
    company_responses: list[CompanyResponseOut]
    related_listing: ListingOut | None
    closes: list[uuid.UUID]
    note: str | None
    screening_record_key: str | None
    screening_import_id: uuid.UUID | None
    deleted_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class EvidenceList(BaseModel):
    items: list[EvidenceOut]
    next_cursor: str | None = None


class TimelineOrder(StrEnum):
    newest = "newest"
    oldest = "oldest"


class CommitmentIn(BaseModel):
    """A commitment as an analyst writes it (PUT sends the whole commitment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: PastCalendarDate
    date_precision: DatePrecision = DatePrecision.day
    title: str = Field(min_length=1, max_length=300)
    claim: str = Field(min_length=1, max_length=2000, description="What was promised.")
    made_by: str | None = Field(default=None, min_length=1, max_length=300)
    source: SourceRef
    question_ids: list[QuestionId] = Field(
        min_length=1,
        max_length=50,
        description="The questions the claim speaks to, each once; only questions the rule set "
        "in use scores (not information-only ones such as IN1 or EX1)",
    )
    fulfilment: FulfilmentStatus
    fulfilment_rationale: Rationale
    fulfilment_sources: list[SourceRef] = Field(default_factory=list, max_length=50)
    contradicted_by: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=50,
        description="Evidence items of the same company that contradict the claim",
    )
    note: Rationale | None = None


class CommitmentCreate(CommitmentIn):
    company_id: uuid.UUID


class CommitmentOut(BaseModel):
    id: uuid.UUID
    company_id: uuid.UUID
    slug: str | None
    origin: EvidenceOrigin
    shared: bool
    date: dt.date
    date_precision: DatePrecision
    title: str
    claim: str
    made_by: str | None
    source: SourceOut
    question_ids: list[str]
    fulfilment: FulfilmentStatus
    fulfilment_rationale: str
    fulfilment_sources: list[SourceOut]
    contradicted_by: list[uuid.UUID]
    note: str | None
    deleted_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CommitmentList(BaseModel):
    items: list[CommitmentOut]
    next_cursor: str | None = None
