"""The `hrdd` command: db upgrade and downgrade, org create, key create, quickstart, help."""

import re
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from hrdd import cli as cli_module
from hrdd import migrations_info
from hrdd.assessments.models import Assessment
from hrdd.auth.models import Organisation
from hrdd.cli import app as cli
from hrdd.companies.models import Company
from hrdd.config import Settings, get_settings
from hrdd.db import SYSTEM, Database
from hrdd.main import create_app
from hrdd.portfolios.models import Holding, Portfolio
from tests.conftest import drop_database, fresh_database_url

runner = CliRunner()
KEY = re.compile(r"hrdd_[0-9a-f]+_[A-Za-z0-9_\-]+")


@pytest.fixture
def cli_database(tmp_path, monkeypatch):
    # Unique, so tests on PostgreSQL under xdist never share (and drop) each other's database.
    url = fresh_database_url(tmp_path, f"cli_{uuid.uuid4().hex[:8]}")
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


def test_db_upgrade_and_downgrade_say_where_the_database_is(cli_database):
    head = migrations_info.head_revision()
    upgraded = runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"database at {head}" in upgraded.output
    # Upgrading to an older revision changes nothing, and says so instead of claiming it.
    stayed = runner.invoke(cli, ["db", "upgrade", "0009"])
    assert f"database at {head}" in stayed.output and "hrdd db downgrade 0009" in stayed.output
    down = runner.invoke(cli, ["db", "downgrade", "0009"])
    assert down.exit_code == 0, down.output
    assert "database at 0009" in down.output
    assert migrations_info.current_revision(cli_database) == "0009"
    bare = runner.invoke(cli, ["db", "downgrade", "base"])
    assert "database at base (no migration applied)" in bare.output, bare.output
    assert f"database at {head}" in runner.invoke(cli, ["db", "upgrade"]).output


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


def printed_path(output: str, label: str) -> Path:
    match = re.search(rf"^{label}: (.+)$", output, re.MULTILINE)
    assert match, output
    return Path(match.group(1))


def row_counts(database: Database) -> tuple[int, ...]:
    with database.session(SYSTEM) as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Organisation, Portfolio, Holding, Assessment)
        )


def test_quickstart_builds_the_demo_for_its_key_and_can_run_again(
    cli_database, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HRDD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HRDD_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    served: list[dict] = []
    monkeypatch.setattr(cli_module, "serve", lambda **options: served.append(options))

    first = runner.invoke(cli, ["quickstart", "--port", "8123"])
    assert first.exit_code == 0, first.output
    assert served == [{"host": "127.0.0.1", "port": 8123, "workers": 1, "log_level": "warning"}]
    assert "http://127.0.0.1:8123/docs" in first.output
    for label in ("company report", "portfolio report"):
        report = printed_path(first.output, label)
        assert report.parent == (tmp_path / "hrdd-demo").resolve()
        assert report.read_bytes().startswith(b"%PDF")
    first_key = KEY.search(first.output).group(0)
    database = Database(cli_database)
    counts = row_counts(database)

    again = runner.invoke(cli, ["quickstart", "--out", "elsewhere"])
    assert again.exit_code == 0, again.output
    assert printed_path(again.output, "company report").parent == (tmp_path / "elsewhere").resolve()
    second_key = KEY.search(again.output).group(0)
    assert second_key != first_key
    assert row_counts(database) == counts

    with database.session(SYSTEM) as session:
        bundled_companies = session.scalars(select(Company).where(Company.slug.is_not(None))).all()
        bundled = [company.id for company in bundled_companies]
        controls = {str(company.id) for company in bundled_companies if not company.categories}
    app = create_app(Settings(database_url=cli_database, data_dir=tmp_path), database=database)
    with TestClient(app) as client:
        for key in (first_key, second_key):
            headers = {"Authorization": f"Bearer {key}"}
            me = client.get("/api/v1/me", headers=headers).json()
            assert (me["role"], me["organisation_name"]) == ("admin", "Demo investor")
        [portfolio] = client.get("/api/v1/portfolios", headers=headers).json()["items"]
        risk = client.get(f"/api/v1/portfolios/{portfolio['id']}/risk", headers=headers)
        assert risk.status_code == 200, risk.text
        holdings = risk.json()["holdings"]
        assert {h["company_id"] for h in holdings} == {str(company_id) for company_id in bundled}
        # The demo's drafts stand for nothing: the curated companies are scored on their
        # evidence, the controls (no evidence) are unassessed.
        assert controls and all(h["assessment_id"] is None for h in holdings)
        assert {h["company_id"] for h in holdings if not h["assessed"]} == controls
        assert all(h["band"] for h in holdings if h["company_id"] not in controls)
    database.dispose()
