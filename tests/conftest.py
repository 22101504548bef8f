"""Test harness: one database per test run (per xdist worker) built by the Alembic migrations,
and one rolled-back transaction per test.

The backend comes from HRDD_TEST_DATABASE_URL: unset means a SQLite file in a temp folder;
`postgresql+psycopg://postgres@127.0.0.1:5432/test` runs the same suite on PostgreSQL (each
worker gets its own database named after the given one).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hrdd import migrations_info
from hrdd.auth import service as auth_service
from hrdd.companies import service as companies_service
from hrdd.companies.schemas import CompanyIn
from hrdd.config import PROJECT_ROOT, Settings
from hrdd.db import SYSTEM, Database, TenantContext, utcnow
from hrdd.main import create_app
from hrdd.vocab import Role

TEST_DATABASE_URL_ENV = "HRDD_TEST_DATABASE_URL"


def backend_url() -> str | None:
    return os.environ.get(TEST_DATABASE_URL_ENV) or None


def is_postgres() -> bool:
    url = backend_url()
    return bool(url and url.startswith("postgresql"))


def fresh_database_url(tmp_dir: Path, name: str) -> str:
    """A brand-new empty database on the backend under test."""
    base = backend_url()
    if not base or base.startswith("sqlite"):
        return f"sqlite:///{tmp_dir / (name + '.db')}"
    url = make_url(base)
    target = f"{url.database}_{name}".lower()
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target}"'))
    admin.dispose()
    return url.set(database=target).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    parsed = make_url(url)
    admin_url = make_url(backend_url() or url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def worker_name(request: pytest.FixtureRequest) -> str:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return f"t{os.getpid()}_{worker}"


@pytest.fixture(scope="session")
def migrated_url(tmp_path_factory: pytest.TempPathFactory, worker_name: str) -> Iterator[str]:
    url = fresh_database_url(tmp_path_factory.mktemp("db"), worker_name)
    migrations_info.upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def session_database(migrated_url: str) -> Iterator[Database]:
    database = Database(migrated_url)
    yield database
    database.dispose()


@pytest.fixture
def db(session_database: Database) -> Iterator[Database]:
    """The shared database, with everything this test writes rolled back afterwards."""
    connection = session_database.engine.connect()
    outer = connection.begin()
    session_database.pinned_connection = connection
    try:
        yield session_database
    finally:
        session_database.pinned_connection = None
        outer.rollback()
        connection.close()


@pytest.fixture
def settings(tmp_path: Path, migrated_url: str) -> Settings:
    return Settings(
        database_url=migrated_url,
        data_dir=tmp_path / "data",
        questionnaires_dir=PROJECT_ROOT / "questionnaires",
        scoring_dir=PROJECT_ROOT / "scoring",
        evidence_dir=PROJECT_ROOT / "evidence",
        log_level="INFO",
        max_body_bytes=1024 * 1024,
    )


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, database=db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class Tenant:
    """An organisation with one key per role, as ready-made request headers."""

    organisation_id: uuid.UUID
    name: str
    keys: dict[Role, str]
    key_ids: dict[Role, uuid.UUID]

    def headers(self, role: Role = Role.investor) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    @property
    def investor(self) -> dict[str, str]:
        return self.headers(Role.investor)

    @property
    def analyst(self) -> dict[str, str]:
        return self.headers(Role.analyst)

    @property
    def admin(self) -> dict[str, str]:
        return self.headers(Role.admin)


def make_tenant(database: Database, name: str) -> Tenant:
    with database.session(SYSTEM, write=True) as session:
        org = auth_service.create_organisation(session, name)
        keys, key_ids = {}, {}
        for role in Role:
            key, secret = auth_service.create_key(session, org.id, f"{name} {role.value}", role)
            keys[role], key_ids[role] = secret, key.id
    return Tenant(organisation_id=org.id, name=name, keys=keys, key_ids=key_ids)


@pytest.fixture
def tenant_a(db: Database) -> Tenant:
    return make_tenant(db, "Aurora Pension Fund")


@pytest.fixture
def tenant_b(db: Database) -> Tenant:
    return make_tenant(db, "Borealis Asset Management")


def shared_company(database: Database, name: str, **fields: Any) -> str:
    """A company every organisation sees (made by the system, as the loader makes the bundled
    ones but without a slug); one made through the API is private to its maker."""
    with database.session(SYSTEM, write=True) as session:
        return str(companies_service.create_company(session, CompanyIn(name=name, **fields)).id)


def recent_evidence_body(company_id: Any, **overrides: Any) -> dict[str, Any]:
    """An evidence item as `POST /api/v1/evidence` takes it: a forensic finding of 30 days ago,
    published the day after, severity 5, caused by the company. ``overrides`` replace fields."""
    published = (utcnow().date() - dt.timedelta(days=29)).isoformat()
    body = {
        "company_id": str(company_id),
        "event_date": (utcnow().date() - dt.timedelta(days=30)).isoformat(),
        "published_date": published,
        "type": "forensic_finding",
        "title": "Spyware found on a reporter's phone",
        "summary": "A lab found the company's product on a journalist's phone.",
        "affected_groups": ["journalists"],
        "countries": ["MX"],
        "severity": 5,
        "company_role": "caused",
        "sources": [
            {
                "publisher": "Example Lab",
                "title": "Forensic report",
                "date": published,
                "url": "https://example.org/report",
                "source_class": "forensic_lab",
            }
        ],
    }
    return body | overrides


@pytest.fixture
def write_sessions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every write session made from here on: a test checks none has begun while an upload is
    read (on SQLite a write's first query takes the database's one write lock)."""
    made: list[Any] = []
    original = Database.new_session

    def recording(self: Database, tenant: TenantContext, *, write: bool = False) -> Any:
        session = original(self, tenant, write=write)
        if write:
            made.append(session)
        return session

    monkeypatch.setattr(Database, "new_session", recording)
    return made


@pytest.fixture
def hrdd_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    """hrdd's log records, as caplog's: hrdd's loggers do not pass records up to the root
    logger, where caplog listens (attached after the app is made, which sets the handlers)."""
    logger = logging.getLogger("hrdd")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)
