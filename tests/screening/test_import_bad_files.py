"""Bad screening files: refused with the line named, and nothing of them kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from hrdd.db import SYSTEM
from hrdd.evidence.models import EvidenceItem
from hrdd.screening import service
from hrdd.screening.models import ScreeningImport, ScreeningListEntry, ScreeningMatch

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"


@pytest.fixture
def candiru(client, tenant_a) -> str:
    response = client.post("/api/v1/companies", json={"name": "Candiru"}, headers=tenant_a.analyst)
    return response.json()["id"]


def post(client, headers, name: str, content: bytes):
    return client.post(
        "/api/v1/screening/imports",
        files={"file": (name, content, "text/csv")},
        data={"snapshot_date": "2024-10-01"},
        headers=headers,
    )


def stored_rows(db) -> dict[str, int]:
    with db.session(SYSTEM) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (ScreeningImport, ScreeningListEntry, ScreeningMatch, EvidenceItem)
        }


def test_failure_mid_file_names_the_line_and_keeps_nothing(
    client, db, tenant_a, candiru, monkeypatch
):
    # Write list entries one at a time, so rows before the bad line did reach the database.
    monkeypatch.setattr(service, "ENTRY_BATCH", 1)
    before = stored_rows(db)
    response = post(
        client, tenant_a.analyst, "csl_bad_date.csv", (DATA / "csl_bad_date.csv").read_bytes()
    )
    assert response.status_code == 422
    body = response.json()
    assert "line 5" in body["detail"] and "start_date" in body["detail"]
    assert body["errors"][0]["path"] == "file.line.5.start_date"
    assert stored_rows(db) == before
    # Candiru, on line 4 of the file, was matched before the failure; nothing of it is kept.
    evidence = client.get(f"/api/v1/companies/{candiru}/evidence", headers=tenant_a.analyst)
    assert evidence.json()["items"] == []


@pytest.mark.parametrize(
    ("file_name", "path", "words"),
    [
        ("csl_bad_header.csv", "file.line.1", "missing columns"),
        ("csl_short_row.csv", "file.line.3", "expected 29 columns"),
        ("csl_invalid_utf8.csv", "file.line.4", "invalid UTF-8"),
    ],
)
def test_malformed_files_are_422_naming_the_line(
    client, db, tenant_a, candiru, file_name, path, words
):
    before = stored_rows(db)
    response = post(client, tenant_a.analyst, file_name, (DATA / file_name).read_bytes())
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["path"] == path
    assert words in error["message"] and file_name in error["message"]
    assert stored_rows(db) == before


def test_empty_file_and_header_only_file_are_refused(client, tenant_a):
    assert post(client, tenant_a.analyst, "empty.csv", b"").status_code == 422
    header = (DATA / "csl_sample.csv").read_bytes().splitlines(keepends=True)[0]
    response = post(client, tenant_a.analyst, "header.csv", header)
    assert response.status_code == 422
    assert "no records" in response.json()["detail"]


def test_upload_and_row_limits_are_413(client, db, tenant_a, settings):
    sample = (DATA / "csl_sample.csv").read_bytes()
    settings.max_upload_bytes = len(sample) - 1
    assert post(client, tenant_a.analyst, "csl_sample.csv", sample).status_code == 413
    settings.max_upload_bytes = len(sample)
    settings.max_csv_rows = 3
    before = stored_rows(db)
    assert post(client, tenant_a.analyst, "csl_sample.csv", sample).status_code == 413
    assert stored_rows(db) == before


def test_missing_file_part_is_422(client, tenant_a):
    response = client.post(
        "/api/v1/screening/imports", data={"snapshot_date": "2024-10-01"}, headers=tenant_a.analyst
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "file"


def test_overlong_record_key_names_its_line(client, db, tenant_a):
    header, first, *_ = (DATA / "csl_sample.csv").read_bytes().splitlines(keepends=True)
    key = first.split(b",", 1)[0].strip(b'"')
    content = header + first + first.replace(key, b"k" * 201, 1)
    before = stored_rows(db)
    response = post(client, tenant_a.analyst, "long_key.csv", content)
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "file.line.3"
    assert stored_rows(db) == before


CSL_JSON = (
    b'{"total": 1, "sources_used": [], "results": [{"_id": "json-record-secret", '
    b'"source": "Entity List (EL) - Bureau of Industry and Security", "name": "NSO Group", '
    b'"addresses": [], "alt_names": ["NSO Group", "NSO Group"]}]}'
)


@pytest.mark.parametrize(
    ("file_name", "content"),
    [
        ("consolidated.json", CSL_JSON),
        ("consolidated.csv", CSL_JSON),
        (
            "pretty.json",
            b'\xef\xbb\xbf  {\n  "results": [\n    {"_id": "json-record-secret"}\n  ]\n}\n',
        ),
        ("array.csv", b'[{"_id": "json-record-secret", "name": "a"}, {"name": "b"}]\n'),
    ],
)
def test_json_file_is_refused_as_json_without_echoing_it(client, db, tenant_a, file_name, content):
    before = stored_rows(db)
    response = post(client, tenant_a.analyst, file_name, content)
    assert response.status_code == 422
    body = response.json()
    [error] = body["errors"]
    assert error["path"] == "file"
    assert "JSON" in error["message"] and "download the list as CSV" in error["message"]
    assert "json-record-secret" not in response.text and "duplicate" not in response.text
    assert stored_rows(db) == before


def test_a_header_that_is_no_list_header_is_not_echoed(client, tenant_a):
    cells = ",".join(f"cell {n} " + "x" * 200 for n in range(40))
    response = post(client, tenant_a.analyst, "notes.csv", f"{cells}\n{cells}\n".encode())
    assert response.status_code == 422
    assert "x" * 100 not in response.text and "cell 10" not in response.text
