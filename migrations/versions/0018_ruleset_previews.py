"""rule-set drafts record their previews

Each preview of a draft is recorded: the draft's revision and content hash previewed, the rules
in use it was compared with (version id and content hash), the counts it showed, who previewed
it and when. Publishing a draft now needs the publisher's own preview of it as it stands,
against the rules in use at that moment. Nothing was recorded before this revision, so a draft
previewed before it is previewed again before it is published.

Downgrading drops the previews: the release before neither records nor reads them.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ruleset_previews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("draft_id", sa.Uuid(), nullable=False),
        sa.Column("draft_revision", sa.Integer(), nullable=False),
        sa.Column("draft_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("compared_id", sa.Uuid(), nullable=False),
        sa.Column("compared_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "summary", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("previewed_by_key_id", sa.Uuid(), nullable=False),
        sa.Column(
            "previewed_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False
        ),
        sa.Column("previewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["ruleset_versions.id"],
            name=op.f("fk_ruleset_previews_draft_id_ruleset_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ruleset_previews_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_previews")),
    )
    with op.batch_alter_table("ruleset_previews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ruleset_previews_draft_at", ["draft_id", "previewed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ruleset_previews_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ruleset_previews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ruleset_previews_organisation_id"))
        batch_op.drop_index("ix_ruleset_previews_draft_at")

    op.drop_table("ruleset_previews")
