"""`hrdd screening import FILE`: the same import from the command line, on its own database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import drop_database, fresh_database_url
from typer.testing import CliRunner

from hrdd import migrations_info
from hrdd.auth import service as auth_service
from hrdd.cli import app
from hrdd.companies import service as companies
from hrdd.companies.schemas import CompanyIn
from hrdd.config import get_settings
from hrdd.db import SYSTEM, Database
from hrdd.evidence.models import EvidenceItem
from hrdd.screening.models import ScreeningImport

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"


@pytest.fixture
def cli_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker_name: str
) -> Iterator[Database]:
    url = fresh_database_url(tmp_path, f"{worker_name}_screening_cli")
    migrations_info.upgrade(url)
    monkeypatch.setenv("HRDD_DATABASE_URL", url)
    monkeypatch.setenv("HRDD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    database = Database(url)
    with database.session(SYSTEM, write=True) as session:
        auth_service.create_organisation(session, "Command Line Fund")
        # The listed name but for its legal form: an automatic match.
        companies.create_company(
            session, CompanyIn(name="NSO Group Technologies Limited", aliases=["NSO Group"])
        )
    yield database
    database.dispose()
    get_settings.cache_clear()
    drop_database(url)


def _counts(database: Database) -> tuple[int, int]:
    with database.session(SYSTEM) as session:
        return (
            session.scalar(select(func.count()).select_from(ScreeningImport)),
            session.scalar(select(func.count()).select_from(EvidenceItem)),
        )


def test_cli_import_writes_evidence_for_the_organisation(cli_database: Database) -> None:
    result = CliRunner().invoke(
        app,
        [
            "screening",
            "import",
            str(DATA / "csl_sample.csv"),
            "--org",
            "Command Line Fund",
            "--snapshot-date",
            "2024-10-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "16 records" in result.output
    with cli_database.session(SYSTEM) as session:
        run = session.scalars(select(ScreeningImport)).one()
        item = session.scalars(select(EvidenceItem)).one()
    assert (run.imported_by_name, str(run.snapshot_date)) == ("command line", "2024-10-01")
    assert (item.organisation_id, item.type) == (run.organisation_id, "trade_restriction_listing")


def test_cli_reads_the_file_before_its_write_begins(
    cli_database: Database, write_sessions: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the API does: the file is parsed and matched with no write begun, which on SQLite
    would hold every other writer back for the whole file."""
    from hrdd.screening.parsers import ScreeningReader

    begun: list[bool] = []
    parse = ScreeningReader.__iter__

    def parsing(self: ScreeningReader) -> Iterator[Any]:
        for record in parse(self):
            begun.append(any(session.in_transaction() for session in write_sessions))
            yield record

    monkeypatch.setattr(ScreeningReader, "__iter__", parsing)
    result = CliRunner().invoke(
        app,
        [
            *("screening", "import", str(DATA / "csl_sample.csv")),
            *("--org", "Command Line Fund", "--snapshot-date", "2024-10-01"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(begun) == 16 and not any(begun)
    assert write_sessions, "the import wrote through a write session"
    assert _counts(cli_database) == (1, 1)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("2024-1-1", "is not a date: write it as YYYY-MM-DD"),
        ("1727740800", "is not a date: write it as YYYY-MM-DD"),
        ("2999-01-01", "is outside the accepted dates"),
        ("2100-01-01", "is in the future"),
    ],
)
def test_cli_snapshot_date_is_checked_as_the_api_checks_it(
    cli_database: Database, given: str, said: str
) -> None:
    """The option took any '%Y-%m-%d' parse ('2024-1-1') and had no window or future check."""
    result = CliRunner().invoke(
        app,
        [
            *("screening", "import", str(DATA / "csl_sample.csv")),
            *("--org", "Command Line Fund", "--snapshot-date", given),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "--snapshot-date" in result.output and said in result.output
    assert _counts(cli_database) == (0, 0)


def test_cli_bad_file_fails_naming_the_line_and_writes_nothing(cli_database: Database) -> None:
    result = CliRunner().invoke(
        app, ["screening", "import", str(DATA / "csl_bad_date.csv"), "--org", "Command Line Fund"]
    )
    assert result.exit_code == 1
    assert "line 5" in result.output
    assert _counts(cli_database) == (0, 0)


def test_cli_import_rescores_the_organisations_assessment_of_a_listed_company(
    cli_database: Database,
) -> None:
    """Like the API route, the command stores the new score: the listing's red flag is in the
    score history without anyone reading the score first."""
    from fastapi.testclient import TestClient

    from hrdd.main import create_app
    from hrdd.questionnaires import service as questionnaires
    from hrdd.scoring import service as scoring
    from hrdd.vocab import Role

    settings = get_settings()
    questionnaires.load_bundled_questionnaires(cli_database, settings)
    scoring.load_bundled_rulesets(cli_database, settings)
    with cli_database.session(SYSTEM, write=True) as session:
        organisation = auth_service.find_organisation(session, "Command Line Fund")
        _, secret = auth_service.create_key(session, organisation.id, "test", Role.investor)
    headers = {"Authorization": f"Bearer {secret}"}
    client = TestClient(create_app(settings, cli_database))
    company = client.get("/api/v1/companies", params={"q": "NSO Group"}, headers=headers)
    assessment = client.post(
        "/api/v1/assessments",
        json={
            "company_id": company.json()["items"][0]["id"],
            "questionnaire_key": "stap-surveillance",
        },
        headers=headers,
    )
    assert assessment.status_code == 201, assessment.text
    scores_url = f"/api/v1/assessments/{assessment.json()['id']}/scores"
    before = client.get(scores_url.removesuffix("s"), headers=headers)
    assert before.status_code == 200, before.text
    assert before.json()["result"]["overrides"] == []

    result = CliRunner().invoke(
        app,
        ["screening", "import", str(DATA / "csl_sample.csv"), "--org", "Command Line Fund"],
    )
    assert result.exit_code == 0, result.output
    history = client.get(scores_url, headers=headers).json()["items"]
    assert history, "the import stored no score"
    assert any(entry["ref"] == "RF-LISTING" for entry in history[-1]["diff"]["entries"])
