"""Database engine, sessions, shared column types and the tenant filter.

Tenant isolation lives here, in one place: every ORM query run through a session is filtered by
the organisation stored in ``session.info`` (see ``_apply_tenant_filter``), and every new
tenant-owned row is stamped with it before flush. A session that names no tenant cannot read
tenant-owned tables at all, so a forgotten filter fails closed instead of leaking. Writes are
narrower than reads: an organisation's session reads the shared rows but adds, changes and
deletes only its own (``shared_write`` marks the one statement that may change shared rows);
the system session writes anything.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import JSON, DateTime, bindparam, event, or_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel, create_engine

from hrdd.caching import BoundedCache

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


# Large IN lists are split so no backend hits its bound-parameter limit.
IN_LIST_CHUNK = 500
T = TypeVar("T")


def in_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in slices small enough for one IN list."""
    for start in range(0, len(values), IN_LIST_CHUNK):
        yield values[start : start + IN_LIST_CHUNK]


# The list of ids a statement run by ``rows_for_ids`` takes: ``Company.id.in_(IDS)``.
IDS = bindparam("ids", expanding=True)


def rows_for_ids(session: Session, statement: Executable, ids: Sequence[Any]) -> Iterator[Any]:
    """Rows of a statement that takes its ids as ``IDS``, a query per chunk of them."""
    for chunk in in_chunks(ids):
        yield from session.execute(statement, {"ids": list(chunk)})


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


# (mapper generation, (owned, shared)); the generation counts classes mapped so far.
_classes_cache: tuple[int, tuple[list[type], list[type]]] | None = None
_mapper_generation = 0


def _tenant_classes() -> tuple[list[type], list[type]]:
    """Every mapped class that is tenant-owned, and every shared-or-tenant-owned one. Worked
    out again only after a class was mapped: walking the registry on every query costs more
    than the query."""
    global _classes_cache
    generation = _mapper_generation
    cached = _classes_cache
    if cached is not None and cached[0] == generation:
        return cached[1]
    owned, shared = [], []
    for mapper in SQLModel._sa_registry.mappers:  # every mapped table class
        cls = mapper.class_
        if issubclass(cls, TenantOwned):
            owned.append(cls)
        elif issubclass(cls, SharedOrTenantOwned):
            shared.append(cls)
    # Tagged with the generation read before the walk: a class mapped meanwhile makes the
    # next call walk again.
    _classes_cache = (generation, (owned, shared))
    return owned, shared


@event.listens_for(Mapper, "after_mapper_constructed")
def _count_mapped_class(mapper: Mapper[Any], class_: type) -> None:
    global _mapper_generation
    _mapper_generation += 1


@event.listens_for(Session, "do_orm_execute")
def _apply_tenant_filter(state: ORMExecuteState) -> None:
    if state.is_insert:
        _check_inserted_rows(state)
        return
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
    org_id = tenant.organisation_id
    options = _tenant_criteria(org_id, tuple(owned), tuple(shared))
    statement = state.statement
    # The rows an UPDATE or DELETE writes are held to the organisation's own by a WHERE of
    # their own: the loader criteria let shared rows through (as they must for the subqueries
    # that read them), and an UPDATE by primary key (a list of rows) ignores them altogether.
    target = None
    if state.is_update or state.is_delete:
        cls = state.bind_mapper.class_ if state.bind_mapper is not None else None
        if cls in owned or cls in shared:
            target = cls
        if target is not None and state.is_update:
            _check_no_owner_change(state, target)
            if cls in shared and statement.get_execution_options().get(_SHARED_WRITE):
                target = None
    if not statement.get_execution_options().get(_REUSABLE):
        state.statement = _filtered_statement(statement, options, target, org_id)
        return
    # The entry holds the statement itself, so its id cannot be reused while it is cached; a
    # statement is a select or a write for good, so each is only ever served its own filter.
    key = (id(statement), org_id, _mapper_generation)
    found = _filtered.get(key)
    if found is None or found[0] is not statement:
        found = (statement, _filtered_statement(statement, options, target, org_id))
        _filtered.put(key, found)
    state.statement = found[1]


def _filtered_statement(
    statement: Any,
    options: tuple[Any, ...],
    target: type[TenantOwned | SharedOrTenantOwned] | None,
    org_id: uuid.UUID,
) -> Any:
    filtered = statement.options(*options)
    if target is not None:
        filtered = filtered.where(target.organisation_id == org_id)
    return filtered


def _check_no_owner_change(state: ORMExecuteState, cls: type) -> None:
    """An organisation's UPDATE may not set ``organisation_id``: that would give its rows to
    another organisation or make them shared, which the filter on the target cannot see."""
    values = getattr(state.statement, "_values", None) or {}
    parameters = state.parameters
    rows = [parameters] if isinstance(parameters, Mapping) else list(parameters or [])
    assigned = {getattr(column, "key", column) for column in values}
    if "organisation_id" in assigned or any("organisation_id" in row for row in rows):
        raise TenantScopeError(f"{cls.__name__}.organisation_id changed by a tenant session")


_REUSABLE = "hrdd_reusable"
_SHARED_WRITE = "hrdd_shared_write"
# (statement, organisation, mapper generation) -> (statement, statement with its criteria).
_filtered: BoundedCache[tuple[int, uuid.UUID, int], tuple[Any, Any]] = BoundedCache(1024)
S = TypeVar("S", bound=Executable)


def reusable(statement: S) -> S:
    """Mark a statement that is built once (module level, its values as bound parameters) and
    run again and again: the tenant filter is then added to it once per organisation. Adding
    it on every execution copies the statement and works out its cache key afresh, which for
    a statement of a dozen subqueries costs more than running it."""
    return statement.execution_options(**{_REUSABLE: True})


def shared_write(statement: S) -> S:
    """Mark an UPDATE an organisation's session may run on shared rows as well as its own (the
    rows it reads): one organisation's use that every organisation's use makes the same, such
    as freezing a shared questionnaire version an assessment starts using. Unmarked, an
    organisation's UPDATE touches only its own rows; a DELETE always does."""
    return statement.execution_options(**{_SHARED_WRITE: True})


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


def _check_inserted_rows(state: ORMExecuteState) -> None:
    """Rows of an ORM bulk insert (``session.execute(insert(Model), rows)``) get the checks the
    flush gives new objects (``_stamp_tenant``): a tenant-owned row without an organisation is
    stamped with the session's, and one naming another organisation is refused, as is a shared
    row (no organisation): only the system session adds those. The rows must come as
    parameters, where they can be checked, not as values built into the statement."""
    mapper = state.bind_mapper
    cls = mapper.class_ if mapper is not None else None
    if not isinstance(cls, type) or not issubclass(cls, TenantOwned | SharedOrTenantOwned):
        return
    tenant = get_tenant(state.session)
    if tenant is None or (tenant.organisation_id is None and not tenant.system):
        raise TenantScopeError(f"{cls.__name__} inserted from a session without a tenant")
    if tenant.system:
        return
    parameters = state.parameters
    rows = [parameters] if isinstance(parameters, Mapping) else list(parameters or [])
    if not rows:
        raise TenantScopeError(f"{cls.__name__} rows must be passed as parameters to be checked")
    owned = issubclass(cls, TenantOwned)
    checked = []
    for row in rows:
        organisation_id = row.get("organisation_id")
        if organisation_id is None and owned:
            row = {**row, "organisation_id": tenant.organisation_id}
        elif organisation_id is None:
            raise TenantScopeError(f"shared {cls.__name__} added by a tenant session")
        elif organisation_id != tenant.organisation_id:
            raise TenantScopeError(f"{cls.__name__} belongs to another organisation")
        checked.append(row)
    state.parameters = checked[0] if isinstance(parameters, Mapping) else checked


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    """New, changed and deleted rows of an organisation's session must be its own: a new
    tenant-owned row is stamped with it; a shared row (no organisation) is neither added,
    changed nor deleted, nor is a row given another organisation."""
    tenant = get_tenant(session)
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if not isinstance(obj, TenantOwned | SharedOrTenantOwned):
            continue
        name = type(obj).__name__
        if tenant is None or (tenant.organisation_id is None and not tenant.system):
            raise TenantScopeError(f"{name} written from a session without a tenant")
        if tenant.system:
            continue
        if obj in session.new:
            if obj.organisation_id is None and isinstance(obj, TenantOwned):
                obj.organisation_id = tenant.organisation_id
            if obj.organisation_id is None:
                raise TenantScopeError(f"shared {name} added by a tenant session")
        elif get_history(obj, "organisation_id").added:
            # Checked against the stored owner, not the new one: a shared row or another
            # organisation's taken over would pass a check of the new value alone.
            raise TenantScopeError(f"{name}.organisation_id changed by a tenant session")
        elif obj.organisation_id is None:
            verb = "deleted" if obj in session.deleted else "changed"
            raise TenantScopeError(f"shared {name} {verb} by a tenant session")
        if obj.organisation_id != tenant.organisation_id:
            raise TenantScopeError(f"{name} belongs to another organisation")


# --- engine and sessions ---------------------------------------------------------------------


# Connections kept open: a request holds one only while it is in a worker thread (40 of them,
# hrdd.middleware admits no more requests), and one returned to a full pool is closed, so a
# pool smaller than the busy moments' need makes connections (a PostgreSQL login, SQLite's
# PRAGMAs) over and over under load. The pool only grows as far as the load takes it.
POOL_SIZE = 20
POOL_OVERFLOW = 20


def make_engine(url: str, **kwargs: Any) -> Engine:
    in_memory = url.startswith("sqlite") and make_url(url).database in (None, "", ":memory:")
    if "poolclass" not in kwargs and not in_memory:
        kwargs = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, **kwargs}
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
    so concurrent writers queue (on a lock in this process, on the busy timeout between
    processes) instead of failing.
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

    # Writers of this process take turns here before BEGIN IMMEDIATE. SQLite's own wait for
    # its write lock (the busy timeout) sleeps in steps of up to 100 ms, so writers racing for
    # it sit idle long after it is free; a lock wakes the next writer as soon as the turn
    # ends. Other processes still wait through the busy timeout. The turn ends with the
    # transaction, however it ends: commit, rollback, or the connection returned or dropped.
    write_turn = _write_turns[engine] = threading.Lock()

    def end_turn(info: dict[str, Any] | None) -> None:
        if info is not None and info.pop(_WRITE_TURN, False):
            write_turn.release()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        # Past the timeout (a turn never ended: a bug), go on and let SQLite's timeout decide.
        if mode == "IMMEDIATE" and write_turn.acquire(timeout=_WRITE_TURN_WAIT_SECONDS):
            connection.info[_WRITE_TURN] = True
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            end_turn(connection.info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection: Any) -> None:
        end_turn(connection.info)

    @event.listens_for(engine, "checkin")
    @event.listens_for(engine, "invalidate")
    @event.listens_for(engine, "close")
    def _on_release(dbapi_connection: Any, connection_record: Any, *_: Any) -> None:
        end_turn(connection_record.info if connection_record is not None else None)


_WRITE_TURN = "hrdd_write_turn"
_WRITE_TURN_WAIT_SECONDS = 30.0
_write_turns: WeakKeyDictionary[Engine, threading.Lock] = WeakKeyDictionary()


def sqlite_write_turn(engine: Engine) -> threading.Lock | None:
    """The lock SQLite writers of this engine take turns on (None for other databases)."""
    return _write_turns.get(engine)


class Database:
    """The engine and how sessions are made; the app keeps one in ``app.state.db``."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Made once: every execution_options() call builds a new engine proxy.
        self._immediate_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        # Tests pin every session to one connection inside an outer transaction that they roll
        # back; sessions then work in SAVEPOINTs so a request's commit does not end the test's.
        self.pinned_connection: Connection | None = None

    def new_session(self, tenant: TenantContext, *, write: bool = False) -> Session:
        """A session for ``tenant``, not yet connected: making one does no I/O. The caller
        commits or rolls back and closes it (``session`` does all that)."""
        if self.pinned_connection is not None:
            session = Session(
                bind=self.pinned_connection,
                expire_on_commit=False,
                join_transaction_mode="create_savepoint",
            )
        else:
            bind = self.engine
            if write and self.is_sqlite:
                bind = self._immediate_engine
            session = Session(bind, expire_on_commit=False)
        set_tenant(session, tenant)
        return session

    @contextmanager
    def session(self, tenant: TenantContext, *, write: bool = False) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        with self.new_session(tenant, write=write) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
