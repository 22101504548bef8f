"""What the screening API tests share: CSL and OpenSanctions files built from rows, uploads and
companies."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from hrdd.screening.parsers import CSL_COLUMNS, OPENSANCTIONS_COLUMNS

ENTITY_LIST = "Entity List (EL) - Bureau of Industry and Security"


def csl_file(rows: Iterable[tuple[str, str, str]], start_date: str) -> bytes:
    """A CSL file with one row per (record id, name, list), all starting on ``start_date``."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(CSL_COLUMNS)
    for key, name, source in rows:
        values = dict.fromkeys(CSL_COLUMNS, "")
        values.update(_id=key, name=name, source=source, start_date=start_date)
        writer.writerow(values[column] for column in CSL_COLUMNS)
    return out.getvalue().encode()


def opensanctions_file(rows: Iterable[tuple[str, str, str]]) -> bytes:
    """A targets.simple.csv of companies, one row per (id, name, datasets joined by ';')."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(OPENSANCTIONS_COLUMNS)
    for key, name, datasets in rows:
        values = dict.fromkeys(OPENSANCTIONS_COLUMNS, "")
        values.update(id=key, schema="Company", name=name, dataset=datasets)
        writer.writerow(values[column] for column in OPENSANCTIONS_COLUMNS)
    return out.getvalue().encode()


def upload_file(
    client: Any, headers: dict[str, str], content: bytes, snapshot_date: str = "2024-10-01", **form
) -> dict[str, Any]:
    """A screening import of ``content`` as a CSV upload, which must succeed."""
    response = client.post(
        "/api/v1/screening/imports",
        files={"file": ("consolidated.csv", content, "text/csv")},
        data={"snapshot_date": snapshot_date, **form},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def new_company(client: Any, tenant: Any, name: str, **fields: Any) -> str:
    """A company made through the API by the tenant's analyst; returns its id."""
    response = client.post(
        "/api/v1/companies", json={"name": name, **fields}, headers=tenant.analyst
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def assessed_company(client: Any, tenant: Any, name: str, **fields: Any) -> tuple[str, str]:
    """A new company and a draft assessment of it: (company id, assessment id)."""
    company_id = new_company(client, tenant, name, **fields)
    assessment = client.post(
        "/api/v1/assessments",
        json={"company_id": company_id, "questionnaire_key": "stap-surveillance"},
        headers=tenant.investor,
    )
    assert assessment.status_code == 201, assessment.text
    return company_id, assessment.json()["id"]
