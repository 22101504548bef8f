"""Shared pieces of the limits and hostile-input tests: a client with chosen limits, a small
world built through the API, CSV builders, and the checks every hostile request must pass
(a problem body, no 5xx, nothing written)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select, table

from hrdd.config import Settings
from hrdd.content import load_bundled_content
from hrdd.db import SYSTEM, Database
from hrdd.errors import PROBLEM_MEDIA_TYPE
from hrdd.main import create_app
from hrdd.models_registry import metadata
from hrdd.questionnaires.service import load_bundled_questionnaires
from hrdd.scoring.service import load_bundled_rulesets
from hrdd.screening.parsers import CSL_COLUMNS

API = "/api/v1"
QUESTIONNAIRE = "stap-surveillance"
ENTITY_LIST = "Entity List (EL) - Bureau of Industry and Security"
# Limits small enough to cross cheaply; the defaults are the same code with larger numbers.
SMALL_LIMITS = {"max_body_bytes": 256 * 1024, "max_upload_bytes": 64 * 1024, "max_csv_rows": 20}


@contextmanager
def client_with(settings: Settings, db: Database, **limits: int) -> Iterator[TestClient]:
    """A client of an app whose settings differ from the test settings by ``limits``."""
    app = create_app(settings.model_copy(update=limits), database=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def table_counts(db: Database) -> dict[str, int]:
    """Rows in every table: equal before and after a refused request means nothing written."""
    with db.session(SYSTEM) as session:
        return {
            name: session.scalar(select(func.count()).select_from(table(name))) or 0
            for name in sorted(metadata.tables)
        }


def stored_files(data_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file())


def problem(response: Response, *statuses: int) -> dict[str, Any]:
    """The problem body of a refused request, checked for shape and status."""
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), response.headers
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("/problems/")
    assert body["detail"]
    return body


def error_paths(body: dict[str, Any]) -> list[str]:
    return [error["path"] for error in body["errors"]]


@dataclass
class World:
    """One organisation's objects, made through the API: the targets of hostile writes."""

    company_id: str
    assessment_id: str
    assessment_etag: str
    portfolio_id: str

    def assessment(self, suffix: str = "") -> str:
        return f"{API}/assessments/{self.assessment_id}{suffix}"

    def portfolio(self, suffix: str = "") -> str:
        return f"{API}/portfolios/{self.portfolio_id}{suffix}"


def build_world(
    client: TestClient, db: Database, settings: Settings, tenant: Any, *, scoring: bool = False
) -> World:
    """A company with a draft assessment and a portfolio, on the bundled questionnaire and
    rules; with ``scoring`` the bundled evidence too, for scores, risk and reports."""
    if scoring:
        load_bundled_content(db, settings)
    else:
        load_bundled_questionnaires(db, settings)
        load_bundled_rulesets(db, settings)
    company = client.post(
        f"{API}/companies", json={"name": "Example Intrusion Ltd"}, headers=tenant.analyst
    )
    assert company.status_code == 201, company.text
    assessment = client.post(
        f"{API}/assessments",
        json={"company_id": company.json()["id"], "questionnaire_key": QUESTIONNAIRE},
        headers=tenant.investor,
    )
    assert assessment.status_code == 201, assessment.text
    portfolio = client.post(
        f"{API}/portfolios",
        json={"name": "Core equity", "base_currency": "EUR"},
        headers=tenant.investor,
    )
    assert portfolio.status_code == 201, portfolio.text
    return World(
        company_id=company.json()["id"],
        assessment_id=assessment.json()["id"],
        assessment_etag=assessment.headers["ETag"],
        portfolio_id=portfolio.json()["id"],
    )


def csl_file(*rows: dict[str, str]) -> bytes:
    """A US Consolidated Screening List CSV with the given cells (others empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(CSL_COLUMNS)
    for row in rows:
        writer.writerow([row.get(column, "") for column in CSL_COLUMNS])
    return buffer.getvalue().encode()


def csl_row(key: str, name: str, **cells: str) -> dict[str, str]:
    return {"_id": key, "source": ENTITY_LIST, "name": name, "start_date": "2021-11-03", **cells}


def import_screening(
    client: TestClient, headers: dict[str, str], content: bytes, **form: str
) -> Response:
    return client.post(
        f"{API}/screening/imports",
        files={"file": ("list.csv", content, "text/csv")},
        data=form,
        headers=headers,
    )


def import_holdings(
    client: TestClient, headers: dict[str, str], world: World, content: bytes
) -> Response:
    return client.post(
        world.portfolio("/holdings/import"),
        files={"file": ("holdings.csv", content, "text/csv")},
        headers=headers,
    )


def upload_file(
    client: TestClient,
    headers: dict[str, str],
    world: World,
    content: bytes,
    content_type: str = "text/plain",
    filename: str = "note.txt",
) -> Response:
    return client.post(
        world.assessment("/files"),
        files={"file": (filename, content, content_type)},
        headers=headers,
    )
