"""Request dependencies: who is calling, and a database session scoped to their organisation.

Every route that touches tenant data takes ``DbSession``; the session it gets is filtered by the
caller's organisation in ``hrdd.db``, so no route filters by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from hrdd.auth import service as auth_service
from hrdd.auth.service import Principal
from hrdd.db import SYSTEM, Database, TenantContext, utcnow
from hrdd.errors import Forbidden, Unauthenticated
from hrdd.vocab import Role

_bearer = HTTPBearer(
    auto_error=False, description="An hrdd API key: `Authorization: Bearer hrdd_...`"
)
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_database(request: Request) -> Database:
    return request.app.state.db


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'", headers=challenge)
    db = get_database(request)
    now = utcnow()
    with db.session(SYSTEM, write=False) as session:
        found = auth_service.authenticate(session, credentials.credentials, now)
    if found is None:
        raise Unauthenticated("the API key is unknown or revoked", headers=challenge)
    principal, touch_due = found
    if touch_due:
        with db.session(SYSTEM, write=True) as session:
            auth_service.record_key_use(session, principal.key_id, now)
    request.state.principal = principal
    return principal


def require_role(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    # async: a pure check runs on the event loop instead of costing a worker-thread hop.
    async def _check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_role(role):
            raise Forbidden(f"this needs the {role.value} role; the key has {principal.role.value}")
        return principal

    _check.__name__ = f"require_{role.value}"
    return _check


def tenant_session(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Iterator[Session]:
    """One unit of work per request, committed before the response is sent."""
    db = get_database(request)
    tenant = TenantContext(organisation_id=principal.organisation_id)
    with db.session(tenant, write=request.method not in _SAFE_METHODS) as session:
        yield session


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Investor = Annotated[Principal, Depends(require_role(Role.investor))]
Analyst = Annotated[Principal, Depends(require_role(Role.analyst))]
Admin = Annotated[Principal, Depends(require_role(Role.admin))]
DbSession = Annotated[Session, Depends(tenant_session, scope="function")]
