"""evidence items name the items they close

A remediation (or a lifted listing) lists the evidence items of the same company whose harm it
ends, as ``commitments.contradicted_by`` lists the items that contradict a claim. Items stored
before this revision close nothing.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default fills the existing rows; the models write the value themselves.
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "closes",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=False,
                server_default=sa.text("'[]'"),
            )
        )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.alter_column("closes", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_column("closes")
