"""an organisation's own copy of another organisation's private company it used

Before 0007 a company made through the API was visible to every organisation, so one could
assess it, hold it, record evidence about it or link it. 0007 made it private to its maker:
the other organisation's rows then named a company it could not see (a blank name, a holding
without its company). Here each such organisation gets its own copy of the company (name,
identifiers and details, but not the maker's notes, which may say what the maker holds and
plans) and its rows are pointed at the copy, as are the matcher's suggestions (`candidates`)
of its unresolved holdings. The maker's company and rows are left as they are.

An identifier or LEI the organisation already gave a company of its own is left off the copy
(it is unique per organisation). Downgrading keeps the copies: they are ordinary companies.

Revision ID: 0010
Revises: 0009
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every (table, column) that names a company in a row belonging to an organisation.
REFERRING = (
    ("assessments", "company_id"),
    ("evidence_items", "company_id"),
    ("commitments", "company_id"),
    ("holdings", "company_id"),
    ("scores", "company_id"),
    ("screening_matches", "company_id"),
    ("screening_rejections", "company_id"),
    ("ownership_links", "company_id"),
    ("ownership_links", "owner_company_id"),
)


def upgrade() -> None:
    bind = op.get_bind()
    metadata = sa.MetaData()
    tables = {
        name: sa.Table(name, metadata, autoload_with=bind)
        for name in {"companies", "company_identifiers", *(name for name, _ in REFERRING)}
    }
    companies, identifiers = tables["companies"], tables["company_identifiers"]
    private = {
        row.id: row
        for row in bind.execute(
            sa.select(companies).where(companies.c.organisation_id.is_not(None))
        )
    }
    if not private:
        return
    # Values as the database keeps them (SQLite: hex text), so they compare and insert as read.
    new_id = (lambda: uuid.uuid4().hex) if bind.dialect.name == "sqlite" else uuid.uuid4

    users: set[tuple[Any, Any]] = set()
    for name, column in REFERRING:
        table = tables[name]
        rows = bind.execute(
            sa.select(table.c[column], table.c.organisation_id)
            .where(table.c[column].in_(list(private)), table.c.organisation_id.is_not(None))
            .distinct()
        )
        users |= {
            (company_id, organisation_id)
            for company_id, organisation_id in rows
            if organisation_id != private[company_id].organisation_id
        }

    for company_id, organisation_id in sorted(users, key=str):
        original = private[company_id]
        copy = dict(original._mapping)
        copy.update(id=new_id(), organisation_id=organisation_id, notes=None, version=1)
        if "slug" in copy:
            copy["slug"] = None
        if original.lei is not None and bind.scalar(
            sa.select(sa.func.count())
            .select_from(companies)
            .where(companies.c.lei == original.lei, companies.c.organisation_id == organisation_id)
        ):
            copy["lei"] = None
        bind.execute(companies.insert().values(**copy))
        for identifier in bind.execute(
            sa.select(identifiers).where(identifiers.c.company_id == company_id)
        ):
            taken = bind.scalar(
                sa.select(sa.func.count())
                .select_from(identifiers)
                .where(
                    identifiers.c.scheme == identifier.scheme,
                    identifiers.c.value == identifier.value,
                    identifiers.c.organisation_id == organisation_id,
                )
            )
            if not taken:
                bind.execute(
                    identifiers.insert().values(
                        **{
                            **identifier._mapping,
                            "id": new_id(),
                            "company_id": copy["id"],
                            "organisation_id": organisation_id,
                        }
                    )
                )
        for name, column in REFERRING:
            table = tables[name]
            bind.execute(
                table.update()
                .where(table.c[column] == company_id, table.c.organisation_id == organisation_id)
                .values({column: copy["id"]})
            )
        _repoint_candidates(bind, tables["holdings"], organisation_id, company_id, copy["id"])


def _repoint_candidates(
    bind: sa.Connection, holdings: sa.Table, organisation_id: Any, old: Any, new: Any
) -> None:
    """Suggestions are JSON ({company_id, name, score}) with ids written as text."""
    old_id, new_id = str(uuid.UUID(str(old))), str(uuid.UUID(str(new)))
    rows = bind.execute(
        sa.select(holdings.c.id, holdings.c.candidates).where(
            holdings.c.organisation_id == organisation_id
        )
    )
    for holding_id, candidates in rows.all():
        if not any(entry.get("company_id") == old_id for entry in candidates or ()):
            continue
        repointed = [
            {**entry, "company_id": new_id} if entry.get("company_id") == old_id else entry
            for entry in candidates
        ]
        bind.execute(
            holdings.update().where(holdings.c.id == holding_id).values(candidates=repointed)
        )


def downgrade() -> None:
    """The copies stay: they are companies of the organisations that use them."""
