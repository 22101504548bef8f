"""holdings stop suggesting companies their organisation cannot see

Before 0007 every company was shared, so the matcher could suggest (``candidates``) a company
another organisation had made. 0007 made such companies private and 0010 repointed the
suggestions of organisations that used the company elsewhere at their own copy; a suggestion
in an organisation that used the company nowhere else still named the other organisation's
private company: its holding showed that company's name and id, and confirming it answered
422. Such suggestions are dropped here; a holding left with none is unresolved (it stays
unassessed exposure until someone confirms a company, as after any import that matched
nothing). Suggestions of shared companies and of the organisation's own are kept.

Downgrading leaves the holdings as they are: the dropped suggestions named companies their
organisation may not see.

Revision ID: 0012
Revises: 0011
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUGGESTED = "candidates"
NONE_MATCHED = "unresolved"


def _same_id(value: Any) -> uuid.UUID:
    """Ids as read (SQLite keeps hex text, suggestions hyphenated text) made comparable."""
    return uuid.UUID(str(value))


def upgrade() -> None:
    bind = op.get_bind()
    metadata = sa.MetaData()
    companies = sa.Table("companies", metadata, autoload_with=bind)
    holdings = sa.Table("holdings", metadata, autoload_with=bind)
    owner_of = {
        _same_id(company_id): organisation_id
        for company_id, organisation_id in bind.execute(
            sa.select(companies.c.id, companies.c.organisation_id)
        )
    }
    rows = bind.execute(
        sa.select(
            holdings.c.id, holdings.c.organisation_id, holdings.c.resolution, holdings.c.candidates
        )
    ).all()
    for holding_id, organisation_id, resolution, candidates in rows:
        if not candidates:
            continue
        visible = [
            entry
            for entry in candidates
            if (company_id := _same_id(entry["company_id"])) in owner_of
            and owner_of[company_id] in (None, organisation_id)
        ]
        if len(visible) == len(candidates):
            continue
        values: dict[str, Any] = {"candidates": visible}
        if not visible and resolution == SUGGESTED:
            values["resolution"] = NONE_MATCHED
        bind.execute(holdings.update().where(holdings.c.id == holding_id).values(**values))


def downgrade() -> None:
    """The dropped suggestions are not restored (see above)."""
