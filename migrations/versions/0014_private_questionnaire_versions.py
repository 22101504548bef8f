"""questionnaire versions published through the API are private to their organisation

Until now every version was shared: one organisation's analyst who published a higher version
number changed the questionnaire every other organisation's new assessments took by default,
printed its text in their reports and templates, and could take the number of the next bundled
version so that `hrdd load` refused it. Versions get an organisation: NULL for bundled ones,
shared by all, and the publisher's for versions published through the API. A version published
before this revision becomes its publisher's unless another organisation's assessment already
uses it; such a version stays shared, as those assessments need it.

Downgrading makes every version shared again; it stops if two versions then share a key and
number.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARED = sa.text("organisation_id IS NULL")
PUBLISHER = (
    "(SELECT api_keys.organisation_id FROM api_keys"
    " WHERE api_keys.id = questionnaire_versions.created_by_key_id)"
)


def upgrade() -> None:
    with op.batch_alter_table("questionnaire_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Uuid(), nullable=True))
        batch_op.drop_constraint(
            batch_op.f("uq_questionnaire_versions_key_version"), type_="unique"
        )
        batch_op.create_index(
            batch_op.f("ix_questionnaire_versions_organisation_id"),
            ["organisation_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_questionnaire_versions_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_questionnaire_versions_key_version_organisation_id"),
            ["key", "version", "organisation_id"],
        )
    op.execute(
        f"UPDATE questionnaire_versions SET organisation_id = {PUBLISHER}"
        " WHERE source = 'api' AND created_by_key_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM assessments"
        "  WHERE assessments.questionnaire_version_id = questionnaire_versions.id"
        f"  AND assessments.organisation_id <> {PUBLISHER})"
    )
    # Outside batch mode: SQLite's table copy would not keep the index's WHERE.
    op.create_index(
        "uq_questionnaire_versions_key_version_shared",
        "questionnaire_versions",
        ["key", "version"],
        unique=True,
        sqlite_where=SHARED,
        postgresql_where=SHARED,
    )


def downgrade() -> None:
    duplicated = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM (SELECT key FROM questionnaire_versions"
            " GROUP BY key, version HAVING count(*) > 1) AS repeated"
        )
    )
    if duplicated:
        raise RuntimeError(
            f"{duplicated} questionnaire version number(s) are published by more than one "
            "organisation (or also bundled); revision 0013 allows each once: remove the "
            "duplicates before downgrading"
        )
    op.drop_index(
        "uq_questionnaire_versions_key_version_shared", table_name="questionnaire_versions"
    )
    with op.batch_alter_table("questionnaire_versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_questionnaire_versions_key_version_organisation_id"), type_="unique"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_questionnaire_versions_organisation_id_organisations"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_questionnaire_versions_organisation_id"))
        batch_op.drop_column("organisation_id")
        batch_op.create_unique_constraint(
            batch_op.f("uq_questionnaire_versions_key_version"), ["key", "version"]
        )
