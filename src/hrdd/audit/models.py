"""The audit trail: who changed what, when, from which value to which."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from hrdd.db import JsonType, SharedOrTenantOwned, UTCDateTime, new_id, utcnow


class AuditEvent(SharedOrTenantOwned, SQLModel, table=True):
    """One change. ``organisation_id`` is None for changes to shared reference data (companies,
    bundled evidence), which every tenant may read."""

    __tablename__ = "audit_events"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID | None = Field(
        default=None, foreign_key="organisations.id", index=True, ondelete="CASCADE"
    )
    entity_type: str = Field(max_length=50)
    entity_id: uuid.UUID = Field(index=True)
    action: str = Field(max_length=50)
    field: str | None = Field(default=None, max_length=200)
    old_value: Any = Field(default=None, sa_type=JsonType)
    new_value: Any = Field(default=None, sa_type=JsonType)
    comment: str | None = Field(default=None, max_length=5000)
    actor_key_id: uuid.UUID | None = None
    actor_name: str | None = Field(default=None, max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
