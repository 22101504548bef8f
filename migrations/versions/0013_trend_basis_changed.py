"""scores may read "basis_changed" as their trend

A holding's first assessed score follows its score on the evidence alone, which counts no
practice gaps; the rise between the two is what the assessment found, so the engine no longer
reads it as a trend (it stepped the action up the ladder). Such scores record the trend
``basis_changed``. No schema change: the result is a JSON document.

Downgrading rewrites that trend as ``rules_changed``, the nearest one the release before knows
(no trend read), in the score and in its diff; the release before's result model refuses
values it does not know.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
NEW_TREND, KNOWN_BEFORE = "basis_changed", "rules_changed"

scores = sa.table(
    "scores",
    sa.column("id", sa.Uuid()),
    sa.column("result", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)


def _known_before(result: dict[str, Any]) -> dict[str, Any] | None:
    """The result with the new trend rewritten where it is recorded (the score's own trend, and
    its diff's), or None when it holds none."""
    diff = result.get("diff")
    in_diff = isinstance(diff, dict) and diff.get("trend") == NEW_TREND
    if result.get("trend") != NEW_TREND and not in_diff:
        return None
    rewritten = {**result}
    if rewritten.get("trend") == NEW_TREND:
        rewritten["trend"] = KNOWN_BEFORE
    if in_diff:
        rewritten["diff"] = {**diff, "trend": KNOWN_BEFORE}
    return rewritten


def upgrade() -> None:
    """Nothing stored changes: scores made before keep the trend they were given."""


def downgrade() -> None:
    bind = op.get_bind()
    rewrite = (
        scores.update()
        .where(scores.c.id == sa.bindparam("score_id"))
        .values(result=sa.bindparam("new_result"))
    )
    after = None
    while True:
        query = sa.select(scores.c.id, scores.c.result)
        if after is not None:
            query = query.where(scores.c.id > after)
        rows = bind.execute(query.order_by(scores.c.id).limit(BATCH)).all()
        if not rows:
            return
        updates = [
            {"score_id": score_id, "new_result": new}
            for score_id, result in rows
            if (new := _known_before(result)) is not None
        ]
        if updates:
            bind.execute(rewrite, updates)
        after = rows[-1].id
