"""Organisations (tenants) and their API keys."""

import uuid
from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from hrdd.db import TenantOwned, UTCDateTime, new_id, organisation_fk, utcnow
from hrdd.vocab import Role


class Organisation(SQLModel, table=True):
    __tablename__ = "organisations"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Which published scoring rule-set version this organisation scores with (issue 5);
    # None means the bundled default.
    ruleset_version_id: uuid.UUID | None = Field(default=None)


class ApiKey(TenantOwned, SQLModel, table=True):
    """A bearer key. Only its SHA-256 hash is stored; ``prefix`` finds the row."""

    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    name: str = Field(max_length=200)
    role: Role = Field(sa_column=Column(String(20), nullable=False))
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_key_id: uuid.UUID | None = Field(default=None)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
