"""Questionnaire versions stored in the database: shared reference data, no organisation."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hrdd.db import JsonType, UTCDateTime, new_id, utcnow


class QuestionnaireSource(StrEnum):
    bundled = "bundled"  # loaded from the questionnaires/ folder of the checkout
    api = "api"  # uploaded by an analyst


class QuestionnaireVersion(SQLModel, table=True):
    """One published version of a questionnaire, its whole validated document in ``content``.

    ``frozen`` is set when the first assessment uses the version; from then on its content never
    changes (a bundled file that differs is refused), so answers always keep their meaning.
    """

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
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
