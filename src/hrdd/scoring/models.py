"""Tables of the scoring domain: rule-set versions and stored scores.

Rule-set versions are shared-or-private: the bundled versions (``organisation_id`` None) are
read by every organisation; an organisation's drafts, and the versions it publishes from them,
are its own. A published version never changes again. Each preview of a draft is recorded
(which revision, against which rules in use, by whom): publishing needs the publisher's own
preview of the draft as it stands against the rules in use then. Scores are private and
append-only: a new score is a new row, so every holding keeps its history.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index
from sqlmodel import Field, SQLModel

from hrdd.db import (
    JsonType,
    SharedOrTenantOwned,
    TenantOwned,
    UTCDateTime,
    new_id,
    organisation_fk,
    utcnow,
)


class RuleSetStatus(StrEnum):
    draft = "draft"
    published = "published"


class RuleSetVersion(SharedOrTenantOwned, SQLModel, table=True):
    """One version of a scoring rule set, its whole validated document in ``content``.

    ``version`` is the rule set's own version number (the one scores cite); ``revision`` counts
    edits of a draft and makes its ETag, so the two never get confused.
    """

    __tablename__ = "ruleset_versions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID | None = organisation_fk(nullable=True)
    key: str = Field(max_length=64, index=True)
    version: int
    title: str = Field(max_length=300)
    status: str = Field(max_length=20, index=True)  # RuleSetStatus
    content: dict[str, Any] = Field(sa_type=JsonType)
    # SHA-256 of the canonical JSON of ``content``: equal rules, equal hash.
    content_hash: str = Field(max_length=64)
    parent_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("ruleset_versions.id", ondelete="SET NULL"), index=True),
    )
    revision: int = Field(default=1)
    # "<scope>:<key>:<version>" once published, None for drafts: unique, so two publications
    # racing for one version number cannot both succeed.
    published_slot: str | None = Field(default=None, max_length=200, unique=True)
    created_by_key_id: uuid.UUID | None = Field(default=None)
    created_by_name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by_key_id: uuid.UUID | None = Field(default=None)
    published_by_name: str | None = Field(default=None, max_length=200)


class RuleSetPreview(TenantOwned, SQLModel, table=True):
    """One preview of a draft: the revision previewed (``draft_revision``, ``draft_hash``), the
    rules in use it was compared with (``compared_id``, ``compared_hash``), by whom and when.

    Kept apart from the draft so that previewing never changes the draft's ETag (GET the
    draft, preview, publish with the preview's ``draft_etag``). A publish reads the publisher's
    latest preview of the draft and refuses unless it is of the draft as it stands, against the
    rules in use now. The figures seen are kept in ``summary`` (counts, not every score).
    ``compared_id`` has no foreign key: it names a published version, which is never deleted,
    and a key there would make every deletion of a draft look through this table."""

    __tablename__ = "ruleset_previews"
    __table_args__ = (Index("ix_ruleset_previews_draft_at", "draft_id", "previewed_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    draft_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("ruleset_versions.id", ondelete="CASCADE"), nullable=False)
    )
    draft_revision: int
    draft_hash: str = Field(max_length=64)
    compared_id: uuid.UUID
    compared_hash: str = Field(max_length=64)
    summary: dict[str, Any] = Field(sa_type=JsonType)
    previewed_by_key_id: uuid.UUID
    previewed_by_name: str = Field(max_length=200)
    previewed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StoredScore(TenantOwned, SQLModel, table=True):
    """A score as computed at ``computed_at``: never updated, never overwritten.

    ``assessment_id`` is None for an evidence-only score of a company no one has assessed yet.
    ``inputs_key`` is the inputs hash without the as-of date: it tells a change of answers,
    evidence, commitments or rules from the mere passing of time.
    """

    __tablename__ = "scores"
    __table_args__ = (
        Index("ix_scores_company_computed", "organisation_id", "company_id", "computed_at"),
        Index("ix_scores_assessment_computed", "assessment_id", "computed_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    assessment_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("assessments.id", ondelete="CASCADE"), nullable=True),
    )
    company_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("companies.id", ondelete="CASCADE"), nullable=False)
    )
    ruleset_version_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("ruleset_versions.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    as_of: date
    inputs_hash: str = Field(max_length=64)
    inputs_key: str = Field(max_length=64)
    result: dict[str, Any] = Field(sa_type=JsonType)
    overall: float
    band: str = Field(max_length=20)  # hrdd.vocab.RiskBand
    reason: str = Field(max_length=300)
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
