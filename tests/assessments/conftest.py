"""Fixtures of the assessment tests: the bundled questionnaire loaded, companies made through
the companies API, assessments started through the assessments API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from assessment_helpers import BUNDLED_KEY
from fastapi.testclient import TestClient

from hrdd.config import PROJECT_ROOT
from hrdd.db import Database
from hrdd.questionnaires.loader import load_questionnaire_file
from hrdd.questionnaires.schemas import Questionnaire
from hrdd.questionnaires.service import store_bundled_questionnaires


@pytest.fixture(scope="session")
def bundled_file() -> Questionnaire:
    """The bundled questionnaire file, parsed once per run."""
    return load_questionnaire_file(PROJECT_ROOT / "questionnaires" / "stap-surveillance-v1.yaml")


@pytest.fixture
def bundled(db: Database, bundled_file: Questionnaire) -> Questionnaire:
    """The bundled questionnaire, stored in the test database as `hrdd load` stores it."""
    store_bundled_questionnaires(db, [bundled_file], "questionnaires/")
    return bundled_file


@pytest.fixture
def make_company(client: TestClient, tenant_a: Any) -> Callable[..., dict[str, Any]]:
    """A company private to the organisation whose analyst makes it (A's unless ``analyst``)."""

    def _make(
        name: str = "Example Vendor Ltd", analyst: dict[str, str] | None = None, **fields: Any
    ) -> dict[str, Any]:
        response = client.post(
            "/api/v1/companies", json={"name": name, **fields}, headers=analyst or tenant_a.analyst
        )
        assert response.status_code == 201, response.text
        return response.json()

    return _make


@pytest.fixture
def start_assessment(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, make_company: Callable[..., Any]
) -> Callable[..., tuple[dict[str, Any], str]]:
    """Start a draft (for a new company unless one is given); returns (body, ETag)."""

    def _start(company_id: str | None = None, headers: dict[str, str] | None = None) -> Any:
        company_id = company_id or make_company()["id"]
        response = client.post(
            "/api/v1/assessments",
            json={"company_id": company_id, "questionnaire_key": BUNDLED_KEY},
            headers=headers or tenant_a.investor,
        )
        assert response.status_code == 201, response.text
        return response.json(), response.headers["ETag"]

    return _start
