"""evidence, commitments and screening imports

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commitments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("date_precision", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("claim", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("made_by", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column(
            "source", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "question_ids", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("fulfilment", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "fulfilment_rationale", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False
        ),
        sa.Column(
            "fulfilment_sources",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "contradicted_by",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_commitments_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_commitments_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
        sa.UniqueConstraint("slug", name=op.f("uq_commitments_slug")),
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commitments_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_commitments_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "screening_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("imported_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("imported_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("list_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("snapshot_date", sa.Date(), nullable=False),
        sa.Column("previous_import_id", sa.Uuid(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_added", sa.Integer(), nullable=False),
        sa.Column("rows_removed", sa.Integer(), nullable=False),
        sa.Column("identifier_matches", sa.Integer(), nullable=False),
        sa.Column("name_matches", sa.Integer(), nullable=False),
        sa.Column("review_queued", sa.Integer(), nullable=False),
        sa.Column("evidence_created", sa.Integer(), nullable=False),
        sa.Column("delistings_created", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_screening_imports_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["previous_import_id"],
            ["screening_imports.id"],
            name=op.f("fk_screening_imports_previous_import_id_screening_imports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_imports")),
    )
    with op.batch_alter_table("screening_imports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_screening_imports_list_snapshot",
            ["organisation_id", "list_key", "snapshot_date"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_screening_imports_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "screening_rejections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("record_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("rejected_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("rejected_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_screening_rejections_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_screening_rejections_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_rejections")),
        sa.UniqueConstraint(
            "organisation_id",
            "record_key",
            "company_id",
            name=op.f("uq_screening_rejections_organisation_id_record_key_company_id"),
        ),
    )
    with op.batch_alter_table("screening_rejections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_screening_rejections_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_screening_rejections_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "evidence_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column(
            "event_date_precision", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
        ),
        sa.Column("published_date", sa.Date(), nullable=True),
        sa.Column(
            "published_date_precision", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False
        ),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column(
            "affected_groups",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "countries", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("severity", sa.Integer(), nullable=True),
        sa.Column(
            "severity_rationale", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True
        ),
        sa.Column("company_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("role_rationale", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("remediated_date", sa.Date(), nullable=True),
        sa.Column("status_note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column(
            "sources", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "date_disagreements",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "company_responses",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "related_listing",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column(
            "screening_record_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("screening_import_id", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_evidence_items_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_evidence_items_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["screening_import_id"],
            ["screening_imports.id"],
            name=op.f("fk_evidence_items_screening_import_id_screening_imports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
        sa.UniqueConstraint(
            "organisation_id",
            "screening_record_key",
            "company_id",
            "type",
            "event_date",
            name="uq_evidence_items_screening_key",
        ),
        sa.UniqueConstraint("slug", name=op.f("uq_evidence_items_slug")),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_items_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_items_event_date"), ["event_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_items_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_items_screening_import_id"),
            ["screening_import_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_items_screening_record_key"),
            ["screening_record_key"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_evidence_items_type"), ["type"], unique=False)

    op.create_table(
        "screening_list_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("record_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("list_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["screening_imports.id"],
            name=op.f("fk_screening_list_entries_import_id_screening_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_screening_list_entries_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_list_entries")),
        sa.UniqueConstraint(
            "import_id", "record_key", name=op.f("uq_screening_list_entries_import_id_record_key")
        ),
    )
    with op.batch_alter_table("screening_list_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_screening_list_entries_import_id"), ["import_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_screening_list_entries_organisation_id"),
            ["organisation_id"],
            unique=False,
        )

    op.create_table(
        "screening_matches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("record_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("record_name", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("list_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("matched_name", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "record", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("evidence_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_screening_matches_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_screening_matches_evidence_id_evidence_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["screening_imports.id"],
            name=op.f("fk_screening_matches_import_id_screening_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_screening_matches_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_matches")),
        sa.UniqueConstraint(
            "organisation_id",
            "record_key",
            "company_id",
            name=op.f("uq_screening_matches_organisation_id_record_key_company_id"),
        ),
    )
    with op.batch_alter_table("screening_matches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_screening_matches_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_screening_matches_import_id"), ["import_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_screening_matches_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_screening_matches_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screening_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_matches_status"))
        batch_op.drop_index(batch_op.f("ix_screening_matches_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_screening_matches_import_id"))
        batch_op.drop_index(batch_op.f("ix_screening_matches_company_id"))

    op.drop_table("screening_matches")
    with op.batch_alter_table("screening_list_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_list_entries_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_screening_list_entries_import_id"))

    op.drop_table("screening_list_entries")
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_items_type"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_screening_record_key"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_screening_import_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_event_date"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_company_id"))

    op.drop_table("evidence_items")
    with op.batch_alter_table("screening_rejections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_rejections_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_screening_rejections_company_id"))

    op.drop_table("screening_rejections")
    with op.batch_alter_table("screening_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_imports_organisation_id"))
        batch_op.drop_index("ix_screening_imports_list_snapshot")

    op.drop_table("screening_imports")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitments_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_commitments_company_id"))

    op.drop_table("commitments")
