"""Assessments of a company against a questionnaire version, their answers and evidence files.

All three tables are private to an organisation (TenantOwned), answers and files too, so the
tenant filter covers them even when they are queried without their assessment.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hrdd.db import JsonType, TenantOwned, UTCDateTime, new_id, organisation_fk, utcnow

_OPEN = text("status IN ('draft', 'submitted')")


class Assessment(TenantOwned, SQLModel, table=True):
    __tablename__ = "assessments"
    # One assessment in progress per company (assessments.service refuses a second with a
    # 409; this holds when two requests race past that check).
    __table_args__ = (
        Index(
            "uq_assessments_one_open",
            "organisation_id",
            "company_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    company_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("companies.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    questionnaire_version_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("questionnaire_versions.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    status: str = Field(max_length=20, index=True)  # hrdd.vocab.AssessmentStatus
    # Bumped by every write; the ETag is (id, version).
    version: int = Field(default=1)
    # The final assessment this one reopened; answers were copied from it.
    # Unique: a final assessment is reopened at most once (two racing reopens: one wins).
    previous_assessment_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            ForeignKey("assessments.id", ondelete="SET NULL"), index=True, unique=True
        ),
    )
    created_by_key_id: uuid.UUID | None = Field(default=None)
    created_by_name: str = Field(max_length=200)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by_key_id: uuid.UUID | None = Field(default=None)
    submitted_by_name: str | None = Field(default=None, max_length=200)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by_key_id: uuid.UUID | None = Field(default=None)
    reviewed_by_name: str | None = Field(default=None, max_length=200)
    # The last review's comment; kept when an assessment is returned to draft.
    review_comment: str | None = Field(default=None, max_length=5000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AssessmentAnswer(TenantOwned, SQLModel, table=True):
    """One question's answer: the validated payload (hrdd.questionnaires.answers) as JSON."""

    __tablename__ = "assessment_answers"
    __table_args__ = (UniqueConstraint("assessment_id", "question_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    assessment_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("assessments.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    question_id: str = Field(max_length=32)
    payload: dict[str, Any] = Field(sa_type=JsonType)
    updated_by_key_id: uuid.UUID | None = Field(default=None)
    updated_by_name: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AssessmentFile(TenantOwned, SQLModel, table=True):
    """An uploaded evidence file. The bytes live under ``data_dir/files/<sha256>``, outside the
    database; identical uploads share one stored file."""

    __tablename__ = "assessment_files"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    assessment_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("assessments.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    sha256: str = Field(max_length=64, index=True)
    size: int
    media_type: str = Field(max_length=100)
    filename: str = Field(max_length=255)
    uploaded_by_key_id: uuid.UUID | None = Field(default=None)
    uploaded_by_name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
