"""The `hrdd` command: db upgrade, org create, key create, help."""

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hrdd.cli import app as cli
from hrdd.config import Settings, get_settings
from hrdd.db import Database
from hrdd.main import create_app
from tests.conftest import drop_database, fresh_database_url

runner = CliRunner()
KEY = re.compile(r"hrdd_[0-9a-f]+_[A-Za-z0-9_\-]+")


@pytest.fixture
def cli_database(tmp_path, monkeypatch):
    url = fresh_database_url(tmp_path, "cli")
    monkeypatch.setenv("HRDD_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    drop_database(url)


def test_help_lists_every_command():
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ["serve", "db", "org", "key", "load", "quickstart"]:
        assert command in result.output


def test_org_and_key_creation_print_working_keys(cli_database, tmp_path):
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    created = runner.invoke(cli, ["org", "create", "Ceres Capital"])
    assert created.exit_code == 0, created.output
    admin_key = KEY.search(created.output).group(0)

    again = runner.invoke(cli, ["org", "create", "Ceres Capital"])
    assert again.exit_code == 1 and "exists" in again.output

    analyst = runner.invoke(
        cli, ["key", "create", "--org", "Ceres Capital", "--role", "analyst", "--name", "research"]
    )
    assert analyst.exit_code == 0, analyst.output
    analyst_key = KEY.search(analyst.output).group(0)
    unknown = runner.invoke(
        cli, ["key", "create", "--org", "Nobody", "--role", "analyst", "--name", "x"]
    )
    assert unknown.exit_code == 1

    database = Database(cli_database)
    app = create_app(Settings(database_url=cli_database, data_dir=tmp_path), database=database)
    with TestClient(app) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {admin_key}"}).json()
        assert me["role"] == "admin" and me["organisation_name"] == "Ceres Capital"
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {analyst_key}"}).json()
        assert me["role"] == "analyst" and me["key_name"] == "research"
    database.dispose()
