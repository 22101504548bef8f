"""screening delistings name the listing they end in closes

A delisting (or sanction lifted) that a screening import wrote used to end every listing of
its list for the company, curated and analysts' entries included; it now names the listing of
its record in ``closes`` and ends that alone, and only a closing item naming no item ends
listings by list. Delistings stored before this revision name none, so they would go on ending
every listing of their list: each is given the listing it was written for. That listing is
known: the import wrote a delisting for a (record key, company) pair whose latest item was a
live listing from a snapshot of the list, so it is the pair's latest item, by date and then
creation, among those created before the delisting, when that item is a listing of the kind
the delisting ends. A delisting whose listing cannot be told so is left as it was (it keeps
ending by list). Each changed row's version is bumped, so stored scores are computed again.

Downgrading empties the closes of screening delistings again: the release before deletes a
rejected match's listing before its delisting, which a delisting naming it would refuse.

Revision ID: 0017
Revises: 0016
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ENDS = {"delisting": "trade_restriction_listing", "sanction_lifted": "sanction"}

items = sa.table(
    "evidence_items",
    sa.column("id"),
    sa.column("organisation_id"),
    sa.column("company_id"),
    sa.column("origin", sa.String),
    sa.column("type", sa.String),
    sa.column("event_date", sa.Date),
    sa.column("created_at", sa.DateTime),
    sa.column("screening_record_key", sa.String),
    sa.column("closes", JSON),
    sa.column("version", sa.Integer),
)


def _screening_items(connection: sa.Connection) -> list[Any]:
    return list(
        connection.execute(
            sa.select(items)
            .where(items.c.origin == "screening", items.c.screening_record_key.is_not(None))
            .order_by(items.c.event_date, items.c.created_at)
        )
    )


def upgrade() -> None:
    connection = op.get_bind()
    by_pair: dict[tuple[Any, ...], list[Any]] = {}
    for row in _screening_items(connection):
        pair = (str(row.organisation_id), str(row.company_id), row.screening_record_key)
        by_pair.setdefault(pair, []).append(row)
    for rows in by_pair.values():
        for delisting in rows:
            if delisting.type not in ENDS or delisting.closes:
                continue
            before = [row for row in rows if row.created_at < delisting.created_at]
            if not before or before[-1].type != ENDS[delisting.type]:
                continue
            # Stored as the API stores ids in closes: the UUID's canonical text.
            listing_id = str(uuid.UUID(str(before[-1].id)))
            connection.execute(
                items.update()
                .where(items.c.id == delisting.id)
                .values(closes=[listing_id], version=items.c.version + 1)
            )


def downgrade() -> None:
    connection = op.get_bind()
    for row in _screening_items(connection):
        if row.type in ENDS and row.closes:
            connection.execute(
                items.update()
                .where(items.c.id == row.id)
                .values(closes=[], version=items.c.version + 1)
            )
