"""Request dependencies: who is calling, and a database session scoped to their organisation.

Every route that touches tenant data takes ``DbSession``; the session it gets is filtered by the
caller's organisation in ``hrdd.db``, so no route filters by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hrdd.auth import service as auth_service
from hrdd.auth.cache import VerifiedKey, key_cache
from hrdd.auth.service import Principal
from hrdd.db import SYSTEM, Database, TenantContext, utcnow
from hrdd.errors import Forbidden, Unauthenticated
from hrdd.response_cache import VERSION_STATE, response_cache
from hrdd.vocab import Role

_bearer = HTTPBearer(
    auto_error=False, description="An hrdd API key: `Authorization: Bearer hrdd_...`"
)
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
T = TypeVar("T")


def get_database(request: Request) -> Database:
    return request.app.state.db


def _look_up_key(db: Database, presented: str) -> tuple[Principal, datetime | None] | None:
    with db.session(SYSTEM, write=False) as session:
        return auth_service.authenticate(session, presented)


def _record_key_use(db: Database, key_id: uuid.UUID, now: datetime) -> None:
    with db.session(SYSTEM, write=True) as session:
        auth_service.record_key_use(session, key_id, now)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's key, verified. async: a key verified in the last few seconds
    (``hrdd.auth.cache``) costs no database query and no worker-thread hop."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'", headers=challenge)
    db = get_database(request)
    cache = key_cache(request.app)
    presented = credentials.credentials
    verified = cache.get(presented)
    if verified is None:
        generation = cache.generation
        found = await run_in_threadpool(_look_up_key, db, presented)
        if found is None:
            raise Unauthenticated("the API key is unknown or revoked", headers=challenge)
        verified = VerifiedKey(*found)
        cache.put(presented, verified, generation)
    now = utcnow()
    if verified.touch_due(now):
        # Set first, so that concurrent requests of the key do not all write it.
        verified.last_used_at = now
        await run_in_threadpool(_record_key_use, db, verified.principal.key_id, now)
    request.state.principal = verified.principal
    return verified.principal


def require_role(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    # async: a pure check runs on the event loop instead of costing a worker-thread hop.
    async def _check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_role(role):
            raise Forbidden(f"this needs the {role.value} role; the key has {principal.role.value}")
        return principal

    _check.__name__ = f"require_{role.value}"
    return _check


async def tenant_session(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> AsyncIterator[Session]:
    """One unit of work per request, committed before the response is sent.

    async: the session is made on the event loop (that does no I/O) and only its end, commit
    or rollback, takes a worker thread; a route that ends the unit of work itself
    (``in_worker_thread``) leaves nothing to do here.
    """
    db = get_database(request)
    tenant = TenantContext(organisation_id=principal.organisation_id)
    session = db.new_session(tenant, write=request.method not in _SAFE_METHODS)
    try:
        yield session
    except BaseException:
        await _finish(session, commit=False)
        raise
    await _finish(session, commit=True)


async def _finish(session: Session, *, commit: bool) -> None:
    if not session.in_transaction():
        session.close()  # nothing began, or the route committed: no I/O left
        return
    # As FastAPI ends sync dependencies: shielded from cancellation, and on a limiter of its
    # own so that it never waits for a worker thread while holding a connection.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(
            _commit_or_roll_back, session, commit, limiter=anyio.CapacityLimiter(1)
        )


def _commit_or_roll_back(session: Session, commit: bool) -> None:
    with session:
        if not commit:
            session.rollback()
            return
        try:
            session.commit()
        except BaseException:
            session.rollback()
            raise


def reading_session(request: Request, principal: Principal) -> AbstractContextManager[Session]:
    """A short read-only unit of work for the caller's organisation, beside the request's own:
    for what a write must read before long work that needs no lock (reading an upload), since
    on SQLite the request's write session takes the database's write lock at its first query."""
    tenant = TenantContext(organisation_id=principal.organisation_id)
    return get_database(request).session(tenant, write=False)


async def in_worker_thread(session: Session, work: Callable[[], T]) -> T:
    """Run a route's database work and commit it in one worker thread, for the busiest
    routes: an ``async def`` route that hands its work here makes one thread hop where a sync
    route makes three (its body, its response check, the session's end)."""

    def run() -> T:
        result = work()
        session.commit()
        return result

    return await run_in_threadpool(run)


async def cached_read(request: Request) -> None:
    """Lets the response be served again while the database is unchanged
    (``hrdd.response_cache``). A route dependency, so it runs before the route reads any data:
    the version it notes is never newer than what the response was made from."""
    cache = response_cache(request.app)
    if cache is not None:
        version = await cache.data_version.read()
        if version is not None:
            setattr(request.state, VERSION_STATE, version)


CachedRead = Depends(cached_read)
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Investor = Annotated[Principal, Depends(require_role(Role.investor))]
Analyst = Annotated[Principal, Depends(require_role(Role.analyst))]
Admin = Annotated[Principal, Depends(require_role(Role.admin))]
DbSession = Annotated[Session, Depends(tenant_session, scope="function")]
