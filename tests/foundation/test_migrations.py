"""The migrations build exactly the models' schema, on SQLite and PostgreSQL, and unwind."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hrdd import migrations_info
from hrdd.db import make_engine
from hrdd.models_registry import metadata
from tests.conftest import drop_database, fresh_database_url


def _schema_differences(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    return differences


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_upgrade_matches_models_and_downgrade_unwinds(tmp_path):
    url = fresh_database_url(tmp_path, "migrations_check")
    try:
        migrations_info.upgrade(url)
        assert _schema_differences(url) == []
        assert set(metadata.tables) <= _tables(url)

        migrations_info.downgrade(url, "base")
        assert _tables(url) <= {"alembic_version"}

        migrations_info.upgrade(url)
        assert _schema_differences(url) == []
    finally:
        drop_database(url)
