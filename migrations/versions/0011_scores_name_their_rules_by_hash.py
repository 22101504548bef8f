"""stored scores name their rules by content hash

Scores now record the content hash of the rule set they were made with (``ruleset_hash`` in
the stored result): a bundled version loaded later may share its key and number with one an
organisation published, and only the hash tells them apart. Scores stored before get the hash
of the version they name, so their reads, exports and reports show it and the next score
compares its rules with theirs exactly. No column changes: the result is a JSON document.

Downgrading takes out the fields this release added to results (``ruleset_hash`` and
``company_sourced_answers``), so the code of the release before can read every stored score,
including those made since (its result model refuses fields it does not know).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
KEY = "ruleset_hash"
ADDED_IN_THIS_RELEASE = (KEY, "company_sourced_answers")

scores = sa.table(
    "scores",
    sa.column("id", sa.Uuid()),
    sa.column("ruleset_version_id", sa.Uuid()),
    sa.column("result", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)
versions = sa.table(
    "ruleset_versions", sa.column("id", sa.Uuid()), sa.column("content_hash", sa.String())
)
_REWRITE = (
    scores.update()
    .where(scores.c.id == sa.bindparam("score_id"))
    .values(result=sa.bindparam("new_result"))
)


def _rewrite(change: Any) -> None:
    """Applies ``change(result, version_id)`` (a new result, or None to leave it) to every
    stored score, a batch at a time, in id order."""
    bind = op.get_bind()
    after = None
    while True:
        query = sa.select(scores.c.id, scores.c.ruleset_version_id, scores.c.result)
        if after is not None:
            query = query.where(scores.c.id > after)
        rows = bind.execute(query.order_by(scores.c.id).limit(BATCH)).all()
        if not rows:
            return
        updates = [
            {"score_id": score_id, "new_result": new}
            for score_id, version_id, result in rows
            if (new := change(result, version_id)) is not None
        ]
        if updates:
            bind.execute(_REWRITE, updates)
        after = rows[-1].id


def upgrade() -> None:
    hashes = dict(op.get_bind().execute(sa.select(versions.c.id, versions.c.content_hash)).all())

    def add_hash(result: dict[str, Any], version_id: Any) -> dict[str, Any] | None:
        if result.get(KEY) is not None or version_id not in hashes:
            return None
        return {**result, KEY: hashes[version_id]}

    _rewrite(add_hash)


def downgrade() -> None:
    def drop_added(result: dict[str, Any], _: Any) -> dict[str, Any] | None:
        if not any(key in result for key in ADDED_IN_THIS_RELEASE):
            return None
        return {key: value for key, value in result.items() if key not in ADDED_IN_THIS_RELEASE}

    _rewrite(drop_added)
