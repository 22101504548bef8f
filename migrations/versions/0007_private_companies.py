"""companies made through the API are private to the organisation that made them

The maker column becomes the tenant column (``organisation_id``, as on every shared-or-owned
table), and its foreign key cascades like theirs: SET NULL would publish a removed
organisation's companies to all. Identifiers carry their company's organisation, so the tenant
filter hides them with it. LEIs, ISINs and tickers are unique among the shared companies and
among one organisation's own instead of across all: another organisation's private company
must neither block nor reveal itself to one recording the same entity.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARED = sa.text("organisation_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_companies_created_by_organisation_id_organisations"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_companies_created_by_organisation_id"))
        batch_op.drop_constraint(batch_op.f("uq_companies_lei"), type_="unique")
        batch_op.alter_column("created_by_organisation_id", new_column_name="organisation_id")
    # A second batch: the first one knows the column by its old name only.
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_companies_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_companies_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_companies_lei_organisation_id"), ["lei", "organisation_id"]
        )
    with op.batch_alter_table("company_identifiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Uuid(), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_company_identifiers_scheme_value"), type_="unique")
        batch_op.create_index(
            batch_op.f("ix_company_identifiers_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_company_identifiers_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_company_identifiers_scheme_value_organisation_id"),
            ["scheme", "value", "organisation_id"],
        )
    op.execute(
        "UPDATE company_identifiers SET organisation_id = (SELECT companies.organisation_id"
        " FROM companies WHERE companies.id = company_identifiers.company_id)"
    )
    # Partial indexes outside batch mode: SQLite's table copy would not keep their WHERE.
    op.create_index(
        "uq_companies_lei_shared",
        "companies",
        ["lei"],
        unique=True,
        sqlite_where=SHARED,
        postgresql_where=SHARED,
    )
    op.create_index(
        "uq_company_identifiers_scheme_value_shared",
        "company_identifiers",
        ["scheme", "value"],
        unique=True,
        sqlite_where=SHARED,
        postgresql_where=SHARED,
    )


def downgrade() -> None:
    # The global uniqueness of 0006 cannot hold two organisations' records of one entity.
    duplicated = op.get_bind().scalar(
        sa.text(
            "SELECT (SELECT count(*) FROM (SELECT lei FROM companies WHERE lei IS NOT NULL"
            " GROUP BY lei HAVING count(*) > 1) AS l) + (SELECT count(*) FROM (SELECT scheme"
            " FROM company_identifiers GROUP BY scheme, value HAVING count(*) > 1) AS i)"
        )
    )
    if duplicated:
        raise RuntimeError(
            f"{duplicated} LEI(s)/identifier(s) are recorded by more than one organisation; "
            "revision 0006 allows each once: remove the duplicates before downgrading"
        )
    op.drop_index("uq_company_identifiers_scheme_value_shared", table_name="company_identifiers")
    op.drop_index("uq_companies_lei_shared", table_name="companies")
    with op.batch_alter_table("company_identifiers", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_company_identifiers_scheme_value_organisation_id"), type_="unique"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_company_identifiers_organisation_id_organisations"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_company_identifiers_organisation_id"))
        batch_op.drop_column("organisation_id")
        batch_op.create_unique_constraint(
            batch_op.f("uq_company_identifiers_scheme_value"), ["scheme", "value"]
        )
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_companies_lei_organisation_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_companies_organisation_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_companies_organisation_id"))
        batch_op.alter_column("organisation_id", new_column_name="created_by_organisation_id")
    with op.batch_alter_table("companies", schema=None) as batch_op:
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
        batch_op.create_unique_constraint(batch_op.f("uq_companies_lei"), ["lei"])
