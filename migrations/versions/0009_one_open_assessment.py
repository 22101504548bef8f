"""one assessment in progress per company and organisation

A second draft (or a draft beside a submitted one) split the work, and which one stood for the
company depended on which was started last. The service refuses to start one (409); this
index makes two requests racing past that check impossible too. Parallel open assessments
made before it are resolved here: the newest stays open and the older ones are marked
superseded (kept, with their answers and history, but no longer in progress).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('draft', 'submitted')")


def upgrade() -> None:
    op.execute(
        "UPDATE assessments SET status = 'superseded' WHERE status IN ('draft', 'submitted')"
        " AND EXISTS (SELECT 1 FROM assessments newer"
        "  WHERE newer.organisation_id = assessments.organisation_id"
        "  AND newer.company_id = assessments.company_id"
        "  AND newer.status IN ('draft', 'submitted')"
        "  AND (newer.created_at > assessments.created_at"
        "   OR (newer.created_at = assessments.created_at AND newer.id > assessments.id)))"
    )
    op.create_index(
        "uq_assessments_one_open",
        "assessments",
        ["organisation_id", "company_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("uq_assessments_one_open", table_name="assessments")
