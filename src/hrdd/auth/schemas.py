import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from hrdd.vocab import Role


class Me(BaseModel):
    key_id: uuid.UUID
    key_name: str
    role: Role
    organisation_id: uuid.UUID
    organisation_name: str


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret key. Shown once; store it now.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: str | None = None
