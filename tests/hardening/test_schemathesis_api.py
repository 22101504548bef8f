"""Fuzzing the API against its own OpenAPI schema (schemathesis): every operation, as an
investor and as an analyst, must never answer 5xx and never answer anything its schema does not
document (status code, content type, body).

Each operation is one pytest test (per role) running a bounded, derandomised number of examples,
so a CI run is reproducible. The examples run against a database holding two organisations'
objects of every kind (`access_fixtures`). In about two examples of three, generated path
parameters and `*_id` body fields are swapped for those real ids (the caller's own or the other
organisation's), so that requests get past "not found" into the code behind it. Every test runs
in a transaction rolled back afterwards, on a database of its own that is dropped at the end.

A static test also reads the schema itself: every error response it documents must be a
problem-details body, and every authenticated operation must document 401 and, where it takes
parameters or a body, 422.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import Tenant, drop_database, fresh_database_url, make_tenant
from tests.hardening.access_fixtures import World, build_world, load_shared_content

from hrdd import migrations_info
from hrdd.config import PROJECT_ROOT, Settings
from hrdd.db import Database
from hrdd.main import create_app
from hrdd.vocab import Role

# Examples per operation and role (plus schemathesis' deterministic coverage cases): enough to
# reach the validation and error paths of every operation, small enough for CI on two cores.
EXAMPLES_PER_OPERATION = 8
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/ProblemBody"
# The one 5xx that is not an error but a report: a degraded /health answers 503 with the same
# body as when healthy, saying what is wrong, for monitors and load balancers to read.
STATUS_REPORTS = {("GET", "/health", "503"): "#/components/schemas/Health"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The app under test, called in-process; `fuzz_base` points it at this module's own database.
APP = create_app(Settings(database_url="sqlite://"))
OPENAPI = APP.openapi()
# Read from the dict, not over ASGI: fetching /openapi.json would run the app's lifespan (and
# start its report worker thread) while pytest is still collecting.
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(OPENAPI)))
schema.app = APP


@dataclass
class FuzzTarget:
    database: Database
    own: World
    other: World


@pytest.fixture(scope="module")
def fuzz_base(tmp_path_factory: pytest.TempPathFactory, worker_name: str) -> Iterator[FuzzTarget]:
    """A database of this module's own with two organisations' objects committed to it."""
    folder = tmp_path_factory.mktemp("fuzz")
    url = fresh_database_url(folder, f"{worker_name}_fuzz")
    migrations_info.upgrade(url)
    database = Database(url)
    app_settings = Settings(
        database_url=url,
        data_dir=folder / "data",
        questionnaires_dir=PROJECT_ROOT / "questionnaires",
        scoring_dir=PROJECT_ROOT / "scoring",
        evidence_dir=PROJECT_ROOT / "evidence",
        max_body_bytes=1024 * 1024,
    )
    APP.state.db, APP.state.settings = database, app_settings
    try:
        with TestClient(APP, raise_server_exceptions=False) as client:
            aurora = make_tenant(database, "Aurora Pension Fund")
            borealis = make_tenant(database, "Borealis Asset Management")
            shared = load_shared_content(client, database, app_settings, aurora)
            own = build_world(client, aurora, shared, f"AURORA-{uuid.uuid4().hex}")
            other = build_world(client, borealis, shared, f"BOREALIS-{uuid.uuid4().hex}")
        yield FuzzTarget(database=database, own=own, other=other)
    finally:
        database.dispose()
        drop_database(url)


@pytest.fixture
def fuzz_target(fuzz_base: FuzzTarget) -> Iterator[FuzzTarget]:
    """The same database, with everything a test writes rolled back afterwards."""
    connection = fuzz_base.database.engine.connect()
    outer = connection.begin()
    fuzz_base.database.pinned_connection = connection
    try:
        # Every documented answer passes the checks, 401 included: make sure the keys work, or
        # the whole run would test nothing but the authentication.
        me = TestClient(APP).get("/api/v1/me", headers=fuzz_base.own.tenant.investor)
        assert me.status_code == 200, me.text
        yield fuzz_base
    finally:
        fuzz_base.database.pinned_connection = None
        outer.rollback()
        connection.close()


def _with_real_ids(case: schemathesis.Case, target: FuzzTarget) -> None:
    """Swap some generated ids for real ones: the caller's own objects or the other
    organisation's (which must then be 404, never 5xx). The choice is a function of the
    generated case, so a derandomised run makes the same requests every time."""
    real = {
        name: (target.own.path_values()[name], target.other.path_values()[name])
        for name in target.own.path_values()
    }
    seed = repr((case.path_parameters, case.query, case.body))

    def pick(name: str, generated: Any) -> Any:
        digest = hashlib.sha256(f"{seed}|{name}".encode()).digest()
        return (generated, *real[name])[digest[0] % 3]

    for name, value in list((case.path_parameters or {}).items()):
        if name in real:
            case.path_parameters[name] = pick(name, value)
    if isinstance(case.body, dict):
        for name, value in list(case.body.items()):
            if name in real and isinstance(value, str):
                case.body[name] = pick(name, value)


def _run(case: schemathesis.Case, target: FuzzTarget, role: Role) -> None:
    _with_real_ids(case, target)
    response = case.call(headers=target.own.tenant.headers(role))
    case.validate_response(response, checks=CHECKS)


FUZZ_SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_investor(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    _run(case, fuzz_target, Role.investor)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_analyst(case: schemathesis.Case, fuzz_target: FuzzTarget) -> None:
    _run(case, fuzz_target, Role.analyst)


def test_every_error_response_is_documented_as_problem_details() -> None:
    problems = []
    reported: set[tuple[str, str, str]] = set()
    for path, operations in OPENAPI["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            responses = operation["responses"]
            for status, response in responses.items():
                content = response.get("content") or {}
                report = STATUS_REPORTS.get((method.upper(), path, status))
                if report is not None:
                    reported.add((method.upper(), path, status))
                    documented = content.get("application/json", {}).get("schema", {})
                    if set(content) != {"application/json"} or documented.get("$ref") != report:
                        problems.append(f"{label}: {status} is not documented as {report}")
                elif status.startswith(("4", "5")):
                    documented = content.get(PROBLEM_MEDIA_TYPE, {}).get("schema", {})
                    if set(content) != {PROBLEM_MEDIA_TYPE} or (
                        documented.get("$ref") != PROBLEM_SCHEMA_REF
                    ):
                        problems.append(f"{label}: {status} is not documented as problem+json")
                elif status != "204" and not content:
                    problems.append(f"{label}: {status} documents no media type")
            if operation.get("security") and "401" not in responses:
                problems.append(f"{label}: 401 is not documented")
            takes_input = operation.get("parameters") or operation.get("requestBody")
            if takes_input and "422" not in responses:
                problems.append(f"{label}: takes input but documents no 422")
    for method, path, status in STATUS_REPORTS.keys() - reported:
        problems.append(f"{method} {path}: {status} is not documented")
    assert not problems, "\n".join(problems)


def test_degraded_health_answers_what_its_schema_documents() -> None:
    """The fuzzing only sees a healthy database; a database without the migrations must give
    the documented 503 and body."""
    app = create_app(Settings(database_url="sqlite://"))  # empty: no alembic_version table
    response = TestClient(app).get("/health")
    app.state.db.dispose()
    assert response.status_code == 503, response.text
    assert response.json()["database"] == "unreachable"
    conformance = [c for c in CHECKS if c is not not_a_server_error]  # 503 is the point here
    schema["/health"]["GET"].Case().validate_response(response, checks=conformance)


def _long_url(length: int) -> str:
    host = ".".join(["a" * 60] * (length // 61 + 1))
    return f"https://{host}.example/"


def test_values_longer_than_their_column_are_refused_with_422(
    client: TestClient, db: Database, settings: Settings, tenant_a: Tenant
) -> None:
    """PostgreSQL enforces column lengths where SQLite does not: a value the request model let
    through but the column could not hold was a 500 there. The fuzzing found the website; the
    others were found by looking for the same mistake."""
    shared = load_shared_content(client, db, settings, tenant_a)
    analyst = tenant_a.analyst
    draft = client.post(f"/api/v1/rulesets/{shared.ruleset_id}/drafts", headers=analyst)
    assert draft.status_code == 201, draft.text
    questionnaire = client.get(
        f"/api/v1/questionnaires/{shared.questionnaire_key}/versions/"
        f"{shared.questionnaire_version}",
        headers=analyst,
    ).json()["content"]
    attempts = {
        "companies.website": client.post(
            "/api/v1/companies",
            json={"name": "Example", "website": _long_url(500)},
            headers=analyst,
        ),
        "ownership_links.source_url": client.post(
            f"/api/v1/companies/{shared.company_id}/ownership",
            json={"owner_name": "Example", "owner_kind": "other", "source_url": _long_url(2000)},
            headers=analyst,
        ),
        "ruleset_versions.title": client.put(
            f"/api/v1/rulesets/drafts/{draft.json()['id']}",
            json={**draft.json()["content"], "title": "T" * 301},
            headers={**analyst, "If-Match": draft.headers["ETag"]},
        ),
        "questionnaire_versions.version": client.post(
            "/api/v1/questionnaires",
            json={**questionnaire, "version": "2.0.0-" + "a" * 100},
            headers=analyst,
        ),
    }
    statuses = {column: response.status_code for column, response in attempts.items()}
    assert statuses == dict.fromkeys(attempts, 422), statuses
