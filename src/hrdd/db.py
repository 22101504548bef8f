"""Database engine, sessions, shared column types and the tenant filter.

Tenant isolation lives here, in one place: every ORM query run through a session is filtered by
the organisation stored in ``session.info`` (see ``_apply_tenant_filter``), and every new
tenant-owned row is stamped with it before flush. A session that names no tenant cannot read
tenant-owned tables at all, so a forgotten filter fails closed instead of leaking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, DateTime, event, or_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel, create_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class TenantOwned:
    """Mixin marker: rows visible only to the organisation that owns them."""

    organisation_id: uuid.UUID


class SharedOrTenantOwned:
    """Mixin marker: rows with no organisation are shared reference data, visible to all;
    rows with one are private to it (e.g. evidence an organisation adds itself)."""

    organisation_id: uuid.UUID | None


def organisation_fk(nullable: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        foreign_key="organisations.id",
        index=True,
        nullable=nullable,
        ondelete="CASCADE",
    )


# --- tenancy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantContext:
    """Who the session works for. ``organisation_id=None`` with ``system=True`` is the loader,
    the CLI and background jobs, which may see every row."""

    organisation_id: uuid.UUID | None
    system: bool = False


SYSTEM = TenantContext(organisation_id=None, system=True)
_TENANT_KEY = "hrdd_tenant"


class TenantScopeError(RuntimeError):
    """A tenant-owned table was queried or written without a tenant: a programming error."""


def set_tenant(session: Session, tenant: TenantContext) -> None:
    session.info[_TENANT_KEY] = tenant


def get_tenant(session: Session) -> TenantContext | None:
    return session.info.get(_TENANT_KEY)


def _tenant_classes() -> tuple[list[type], list[type]]:
    owned, shared = [], []
    for mapper in SQLModel._sa_registry.mappers:  # every mapped table class
        cls = mapper.class_
        if issubclass(cls, TenantOwned):
            owned.append(cls)
        elif issubclass(cls, SharedOrTenantOwned):
            shared.append(cls)
    return owned, shared


@event.listens_for(Session, "do_orm_execute")
def _apply_tenant_filter(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tenant = get_tenant(state.session)
    if tenant is not None and tenant.system:
        return
    owned, shared = _tenant_classes()
    if tenant is None or tenant.organisation_id is None:
        touched = {d.get("entity") for d in _described_entities(state)}
        if any(cls in touched for cls in owned + shared):
            raise TenantScopeError("tenant-owned table queried from a session without a tenant")
        return
    options = _tenant_criteria(tenant.organisation_id, tuple(owned), tuple(shared))
    state.statement = state.statement.options(*options)


@lru_cache(maxsize=1024)
def _tenant_criteria(
    org_id: uuid.UUID, owned: tuple[type, ...], shared: tuple[type, ...]
) -> tuple[Any, ...]:
    """The loader criteria of one organisation, built once: making them analyses each lambda,
    which under load cost more than the query they filter. The options are immutable, so one
    organisation's set serves all its queries, on any thread."""
    # The criteria must reference org_id as a closure variable: SQLAlchemy caches the lambda's
    # SQL and turns tracked closure variables into bound parameters. A default argument would
    # be baked into the cached statement and leak the first tenant's filter to the next one.
    options = [
        with_loader_criteria(cls, lambda c: c.organisation_id == org_id, include_aliases=True)
        for cls in owned
    ]
    options += [
        with_loader_criteria(
            cls,
            lambda c: or_(c.organisation_id.is_(None), c.organisation_id == org_id),
            include_aliases=True,
        )
        for cls in shared
    ]
    return tuple(options)


def _described_entities(state: ORMExecuteState) -> list[dict[str, Any]]:
    statement = state.statement
    described = getattr(statement, "column_descriptions", None)
    if described is None:
        entity = getattr(statement, "entity_description", None)
        return [entity] if entity else []
    return list(described)


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    tenant = get_tenant(session)
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantOwned | SharedOrTenantOwned):
            continue
        if tenant is None:
            raise TenantScopeError(f"{type(obj).__name__} written from a session without a tenant")
        if tenant.system:
            continue
        if obj in session.new and obj.organisation_id is None and isinstance(obj, TenantOwned):
            obj.organisation_id = tenant.organisation_id
        if obj.organisation_id is not None and obj.organisation_id != tenant.organisation_id:
            raise TenantScopeError(f"{type(obj).__name__} belongs to another organisation")
        if obj.organisation_id is None and obj not in session.new:
            raise TenantScopeError(f"shared {type(obj).__name__} changed by a tenant session")


# --- engine and sessions ---------------------------------------------------------------------


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    """WAL and foreign keys on every connection, and transactions that SQLAlchemy controls.

    pysqlite's own implicit BEGIN breaks SAVEPOINTs and lets two readers deadlock when both try
    to write; we turn it off and emit BEGIN ourselves: IMMEDIATE for sessions that will write,
    so concurrent writers queue on the busy timeout instead of failing.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The engine and how sessions are made; the app keeps one in ``app.state.db``."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Tests pin every session to one connection inside an outer transaction that they roll
        # back; sessions then work in SAVEPOINTs so a request's commit does not end the test's.
        self.pinned_connection: Connection | None = None

    @contextmanager
    def session(self, tenant: TenantContext, *, write: bool = False) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        if self.pinned_connection is not None:
            session = Session(
                bind=self.pinned_connection,
                expire_on_commit=False,
                join_transaction_mode="create_savepoint",
            )
        else:
            bind = self.engine
            if write and self.is_sqlite:
                bind = self.engine.execution_options(sqlite_begin="IMMEDIATE")
            session = Session(bind, expire_on_commit=False)
        with session:
            set_tenant(session, tenant)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
