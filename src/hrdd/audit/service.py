"""Recording and reading audit events. Callers pass who acted; the session's tenant filter
decides who can read them back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol, TypedDict, Unpack

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hrdd.audit.models import AuditEvent
from hrdd.db import new_id, utcnow
from hrdd.http import PageParams, paginate


class Actor(Protocol):
    """Who made a change: an API key's holder (``Principal``), or a job acting for an
    organisation with or without a key (a screening import from the command line)."""

    @property
    def organisation_id(self) -> uuid.UUID: ...

    @property
    def key_id(self) -> uuid.UUID | None: ...

    @property
    def key_name(self) -> str: ...


class Details(TypedDict, total=False):
    """What an event may say besides who did what to which entity. ``shared=True`` for
    changes to reference data everyone reads (the event then belongs to no organisation)."""

    field: str | None
    old: Any
    new: Any
    comment: str | None
    shared: bool


def record(
    session: Session,
    actor: Actor | None,
    entity_type: str,
    entity_id: uuid.UUID,
    action: str,
    **details: Unpack[Details],
) -> None:
    """Write one event by ``actor`` (None: the system)."""
    write(session, [event(actor, entity_type, entity_id, action, **details)])


def event(
    actor: Actor | None,
    entity_type: str,
    entity_id: uuid.UUID,
    action: str,
    **details: Unpack[Details],
) -> dict[str, Any]:
    """One event as the row ``write`` inserts: every column, so that a batch is one
    statement."""
    shared = details.get("shared", False)
    return {
        "id": new_id(),
        "organisation_id": None if shared or actor is None else actor.organisation_id,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action": action,
        "field": details.get("field"),
        "old_value": details.get("old"),
        "new_value": details.get("new"),
        "comment": details.get("comment"),
        "actor_key_id": actor.key_id if actor else None,
        "actor_name": actor.key_name if actor else "system",
        "at": utcnow(),
    }


# None is written as NULL (not left out), so every row has the same columns and a batch is one
# executemany; in the JSON columns it is the JSON null that objects were stored with.
_INSERT = insert(AuditEvent).execution_options(render_nulls=True)


def write(session: Session, events: Sequence[dict[str, Any]]) -> None:
    """Insert events in one statement, as rows rather than objects: making an ORM object of
    each cost more than inserting it. The session's tenant check (``hrdd.db``) applies to the
    rows as to objects."""
    if events:
        session.execute(_INSERT, list(events))


def history(
    session: Session, entity_type: str, entity_ids: list[uuid.UUID], page: PageParams
) -> tuple[list[AuditEvent], str | None]:
    statement = select(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_(entity_ids)
    )
    return paginate(session, statement, [AuditEvent.at, AuditEvent.id], page)
