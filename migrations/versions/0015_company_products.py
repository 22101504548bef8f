"""companies record their products

A company lists the products it makes or sells under their own names (NSO Group's Pegasus,
Cellebrite's UFED), and a search by q finds it by them: they join the name and aliases in
``search_text``. Companies stored before this revision have no products, so their
``search_text`` (name and aliases) is already what the release builds; ``hrdd load`` then adds
the bundled companies' products.

Downgrading drops the products and rebuilds ``search_text`` from the name and aliases alone, as
the release before builds it: the products left in it would still be found.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
SHARED = sa.text("organisation_id IS NULL")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

companies = sa.table(
    "companies",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("aliases", JSON),
    sa.column("products", JSON),
    sa.column("search_text", sa.String()),
)


def _search_text(name: str, aliases: list[str]) -> str:
    """As hrdd.companies.service.build_search_text built it before this revision."""
    return " | ".join(n.casefold() for n in [name, *aliases])[:4000]


def _create_lei_index() -> None:
    # Outside batch mode, and dropped before it: SQLite's table copy would not keep the WHERE.
    op.create_index(
        "uq_companies_lei_shared",
        "companies",
        ["lei"],
        unique=True,
        sqlite_where=SHARED,
        postgresql_where=SHARED,
    )


def upgrade() -> None:
    op.drop_index("uq_companies_lei_shared", table_name="companies")
    # The server default fills the existing rows; the models write the value themselves.
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("products", JSON, nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.alter_column("products", server_default=None)
    _create_lei_index()


def downgrade() -> None:
    bind = op.get_bind()
    rewrite = (
        companies.update()
        .where(companies.c.id == sa.bindparam("company_id"))
        .values(search_text=sa.bindparam("new_text"))
    )
    after = None
    while True:
        query = sa.select(
            companies.c.id, companies.c.name, companies.c.aliases, companies.c.products
        )
        if after is not None:
            query = query.where(companies.c.id > after)
        rows = bind.execute(query.order_by(companies.c.id).limit(BATCH)).all()
        if not rows:
            break
        updates = [
            {"company_id": row.id, "new_text": _search_text(row.name, row.aliases or [])}
            for row in rows
            if row.products
        ]
        if updates:
            bind.execute(rewrite, updates)
        after = rows[-1].id
    op.drop_index("uq_companies_lei_shared", table_name="companies")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("products")
    _create_lei_index()
