"""Questionnaire versions stored in the database: bundled ones are shared reference data (no
organisation); versions published through the API are private to their organisation."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hrdd.db import JsonType, SharedOrTenantOwned, UTCDateTime, new_id, organisation_fk, utcnow


class QuestionnaireSource(StrEnum):
    bundled = "bundled"  # loaded from the questionnaires/ folder of the checkout
    api = "api"  # uploaded by an analyst


_SHARED = text("organisation_id IS NULL")


class QuestionnaireVersion(SharedOrTenantOwned, SQLModel, table=True):
    """One published version of a questionnaire, its whole validated document in ``content``.

    ``frozen`` is set when the first assessment uses the version; from then on its content never
    changes (a bundled file that differs is refused), so answers always keep their meaning.
    A key and number are unique among the shared versions and within each organisation's own;
    an organisation that has one of the same number as a shared version uses its own.
    """

    __tablename__ = "questionnaire_versions"
    __table_args__ = (
        UniqueConstraint("key", "version", "organisation_id"),
        Index(
            "uq_questionnaire_versions_key_version_shared",
            "key",
            "version",
            unique=True,
            sqlite_where=_SHARED,
            postgresql_where=_SHARED,
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # None: bundled, shared by every organisation.
    organisation_id: uuid.UUID | None = organisation_fk(nullable=True)
    key: str = Field(max_length=64, index=True)
    version: str = Field(max_length=100)
    title: str = Field(max_length=300)
    content: dict[str, Any] = Field(sa_type=JsonType)
    # SHA-256 of the canonical JSON form (Questionnaire.digest): equal content, equal hash.
    content_hash: str = Field(max_length=64)
    source: str = Field(max_length=10)  # a QuestionnaireSource value
    frozen: bool = Field(default=False)
    created_by_key_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
