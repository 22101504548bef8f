"""who made a company, and ownership links private to an organisation

Companies made through the API record the organisation that made them (only it may edit them);
ownership links get an organisation: NULL for bundled links, shared by all, and the adding
organisation's id for links made through the API from now on. Links made through the API
before this revision cannot be told from bundled ones and stay shared.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_organisation_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_companies_created_by_organisation_id"),
            ["created_by_organisation_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_companies_created_by_organisation_id_organisations"),
            "organisations",
            ["created_by_organisation_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("ownership_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_ownership_links_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ownership_links_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("ownership_links", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ownership_links_organisation_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_ownership_links_organisation_id"))
        batch_op.drop_column("organisation_id")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_companies_created_by_organisation_id_organisations"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_companies_created_by_organisation_id"))
        batch_op.drop_column("created_by_organisation_id")
