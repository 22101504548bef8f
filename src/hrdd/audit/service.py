"""Recording and reading audit events. Callers pass the principal; the session's tenant
filter decides who can read them back."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdd.audit.models import AuditEvent
from hrdd.auth.service import Principal
from hrdd.http import PageParams, paginate


def record(
    session: Session,
    actor: Principal | None,
    entity_type: str,
    entity_id: uuid.UUID,
    action: str,
    *,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    comment: str | None = None,
    shared: bool = False,
) -> AuditEvent:
    """Add one event. ``shared=True`` for changes to reference data everyone reads."""
    event = AuditEvent(
        organisation_id=None if shared or actor is None else actor.organisation_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        field=field,
        old_value=old,
        new_value=new,
        comment=comment,
        actor_key_id=actor.key_id if actor else None,
        actor_name=actor.key_name if actor else "system",
    )
    session.add(event)
    return event


def history(
    session: Session, entity_type: str, entity_ids: list[uuid.UUID], page: PageParams
) -> tuple[list[AuditEvent], str | None]:
    statement = select(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_(entity_ids)
    )
    return paginate(session, statement, [AuditEvent.at, AuditEvent.id], page)
