"""screening imports record the lists a file does not cover

A record absent from a new snapshot of a list is judged removed (a delisting) only when the file
has a row of the list the record was on; the import records the lists of the previous snapshot
(or of records still listed) the file has no row of, whose records were left listed. It is kept
because it depends on what was listed when the file was imported, which later imports change,
and on the full list names, which the snapshot entries keep cut to 300 characters. Imports
before this revision judged every absent record, so they cover everything: an empty list.

Downgrading drops the column; the delistings imports made are evidence and stay.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # The server default fills the existing rows; the model writes the value itself.
    with op.batch_alter_table("screening_imports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lists_not_covered", JSON, nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("screening_imports", schema=None) as batch_op:
        batch_op.alter_column("lists_not_covered", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("screening_imports", schema=None) as batch_op:
        batch_op.drop_column("lists_not_covered")
