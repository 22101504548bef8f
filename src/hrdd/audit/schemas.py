import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventOut(BaseModel):
    id: uuid.UUID
    entity_type: str
    entity_id: uuid.UUID
    action: str
    field: str | None
    old_value: Any
    new_value: Any
    comment: str | None
    actor_key_id: uuid.UUID | None
    actor_name: str | None
    at: datetime


class AuditEventList(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None = None
