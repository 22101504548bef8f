"""Dates in answers are written YYYY-MM-DD, on every way in (PUT, PATCH, the JSON import and
the XLSX template). Pydantic's lax date took Unix seconds (1640908800, as a number or as text)
and datetimes ("2021-12-31T00:00:00") and saved them as some day: each is a 422 naming the
field and saying how to write the date, and nothing is saved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from assessment_helpers import BUNDLED_KEY, disclosure, evidence, patch_answers, put_answer, read
from fastapi.testclient import TestClient
from test_assessment_exchange import fill, import_json, import_xlsx, saved_bytes, template

from hrdd.questionnaires.schemas import Questionnaire
from hrdd.questionnaires.service import content_of

Start = Callable[..., tuple[dict[str, Any], str]]
QUESTIONNAIRES = "/api/v1/questionnaires"

# EU3b (a date question) is shown once EX5 and EU3a are yes.
SHOWN = {
    "EX5": {"type": "single_choice", "value": "yes"},
    "EU3a": {"type": "single_choice", "value": "yes"},
}
HOW = "is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31"
PARTIAL = " (or YYYY-MM, or YYYY, for a source dated only so)"
# What pydantic's lax date read as 2021-12-31, and what each is told now.
NOT_DATES = {
    "Unix seconds": (1640908800, f"1640908800 {HOW}"),
    "Unix seconds as text": ("1640908800", f"'1640908800' {HOW}"),
    "a datetime at midnight": ("2021-12-31T00:00:00", f"'2021-12-31T00:00:00' {HOW}"),
    "a datetime with a zone": ("2021-12-31T00:00:00Z", f"'2021-12-31T00:00:00Z' {HOW}"),
}


@pytest.fixture
def shown_draft(client: TestClient, tenant_a: Any, start_assessment: Start) -> tuple[str, str]:
    body, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, body["id"], SHOWN, etag)
    assert saved.status_code == 200, saved.text
    return body["id"], saved.headers["ETag"]


def _import_body(before: Any, answers: Any) -> dict[str, Any]:
    return {
        "questionnaire_key": BUNDLED_KEY,
        "questionnaire_version": before["questionnaire"]["version"],
        "answers": answers,
    }


@pytest.mark.parametrize("case", sorted(NOT_DATES))
def test_a_date_answer_not_written_yyyy_mm_dd_is_refused_on_every_way_in(
    client: TestClient, tenant_a: Any, shown_draft: tuple[str, str], case: str
) -> None:
    assessment_id, etag = shown_draft
    before, _ = read(client, tenant_a.investor, assessment_id)
    given, message = NOT_DATES[case]
    payload = {"type": "date", "value": given}

    put = put_answer(client, tenant_a.investor, assessment_id, "EU3b", payload, etag)
    patched = patch_answers(client, tenant_a.investor, assessment_id, {"EU3b": payload}, etag)
    imported = import_json(
        client, tenant_a.investor, assessment_id, _import_body(before, {"EU3b": payload}), etag
    )
    assert put.status_code == 422, put.text
    assert put.json()["errors"] == [{"path": "value", "message": message}]
    for response in (patched, imported):
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [{"path": "answers.EU3b.value", "message": message}]
    assert read(client, tenant_a.investor, assessment_id) == (before, etag)


@pytest.mark.parametrize("case", sorted(NOT_DATES))
def test_a_source_date_not_written_yyyy_mm_dd_is_refused(
    client: TestClient, tenant_a: Any, shown_draft: tuple[str, str], case: str
) -> None:
    assessment_id, etag = shown_draft
    before, _ = read(client, tenant_a.investor, assessment_id)
    given, message = NOT_DATES[case]
    source = evidence("Policy", "Vendor", link="https://vendor.example/policy")
    payload = disclosure("full", source | {"source_date": given})

    put = put_answer(client, tenant_a.investor, assessment_id, "P1", payload, etag)
    patched = patch_answers(client, tenant_a.investor, assessment_id, {"P1": payload}, etag)
    assert put.status_code == 422, put.text
    assert put.json()["errors"] == [
        {"path": "evidence[0].source_date", "message": message + PARTIAL}
    ]
    assert patched.status_code == 422, patched.text
    assert patched.json()["errors"] == [
        {"path": "answers.P1.evidence[0].source_date", "message": message + PARTIAL}
    ]
    assert read(client, tenant_a.investor, assessment_id) == (before, etag)


def test_dates_written_yyyy_mm_dd_are_saved(
    client: TestClient, tenant_a: Any, shown_draft: tuple[str, str]
) -> None:
    assessment_id, etag = shown_draft
    put = put_answer(
        client,
        tenant_a.investor,
        assessment_id,
        "EU3b",
        {"type": "date", "value": "2021-12-31"},
        etag,
    )
    assert put.status_code == 200, put.text
    source = evidence("Policy", "Vendor", "2021-12-31", link="https://vendor.example/policy")
    patched = patch_answers(
        client,
        tenant_a.investor,
        assessment_id,
        {"P1": disclosure("full", source)},
        put.headers["ETag"],
    )
    assert patched.status_code == 200, patched.text
    answers = read(client, tenant_a.investor, assessment_id)[0]["answers"]
    assert answers["EU3b"]["payload"]["value"] == "2021-12-31"
    assert answers["P1"]["payload"]["evidence"][0]["source_date"] == "2021-12-31"


def test_an_impossible_day_says_why(
    client: TestClient, tenant_a: Any, shown_draft: tuple[str, str]
) -> None:
    assessment_id, etag = shown_draft
    payload = {"type": "date", "value": "2021-02-30"}
    put = put_answer(client, tenant_a.investor, assessment_id, "EU3b", payload, etag)
    assert put.status_code == 422, put.text
    assert put.json()["errors"] == [
        {
            "path": "value",
            "message": "'2021-02-30' is not a valid date: day is out of range for month",
        }
    ]


def test_xlsx_date_cells_are_read_as_their_day_and_text_or_times_are_refused(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """A workbook's date cell (a datetime at midnight to openpyxl) is its day, as before. A
    cell with a time of day was cut to its day without a word, and Unix seconds typed in the
    evidence date column were read as a date: both are refused now, naming the cell."""
    draft, etag = start_assessment()
    before, _ = read(client, tenant_a.investor, draft["id"])
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "EX5", Answer="yes")
    fill(workbook, "EU3a", Answer="yes")
    timed = fill(workbook, "EU3b", Answer=dt.datetime(2021, 12, 31, 14, 30))
    source = {"Evidence URL": "https://vendor.example/policy", "Evidence title": "Policy"}
    seconds = fill(
        workbook, "P1", Answer="full", **source, **{"Evidence date (YYYY-MM-DD)": "1640908800"}
    )
    stamped = fill(
        workbook,
        "G1",
        Answer="full",
        **source,
        **{"Evidence date (YYYY-MM-DD)": "2021-12-31T00:00:00"},
    )
    refused = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert refused.status_code == 422, refused.text
    problems = {e["path"]: e["message"] for e in refused.json()["errors"]}
    assert set(problems) == {
        f"rows.{timed}.answer",
        f"rows.{seconds}.evidence_date",
        f"rows.{stamped}.evidence_date",
    }
    assert "date and a time of day (2021-12-31 14:30:00)" in problems[f"rows.{timed}.answer"]
    assert f"'1640908800' {HOW}" in problems[f"rows.{seconds}.evidence_date"]
    assert f"'2021-12-31T00:00:00' {HOW}" in problems[f"rows.{stamped}.evidence_date"]
    assert read(client, tenant_a.investor, draft["id"]) == (before, etag)

    fill(workbook, "EU3b", Answer=dt.datetime(2021, 12, 31))  # a date cell
    fill(workbook, "P1", **{"Evidence date (YYYY-MM-DD)": dt.datetime(2020, 5, 4)})
    fill(workbook, "G1", **{"Evidence date (YYYY-MM-DD)": "2020-05-04"})
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 200, response.text
    answers = read(client, tenant_a.investor, draft["id"])[0]["answers"]
    assert answers["EU3b"]["payload"]["value"] == "2021-12-31"
    assert [answers[q]["payload"]["evidence"][0]["source_date"] for q in ("P1", "G1")] == [
        "2020-05-04",
        "2020-05-04",
    ]


@pytest.mark.parametrize("given", [1640908800, "1640908800", "2021-12-31T00:00:00"])
def test_a_published_questionnaire_takes_its_date_bounds_written_yyyy_mm_dd(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, given: Any
) -> None:
    document = content_of(bundled) | {"version": "3.0.0"}
    questions = [dict(q) for q in document["questions"]]
    position = bundled.position("EU3b")
    questions[position]["answer_type"] = {"type": "date", "min": given}
    refused = client.post(
        QUESTIONNAIRES, json=document | {"questions": questions}, headers=tenant_a.analyst
    )
    assert refused.status_code == 422, refused.text
    shown = f"'{given}'" if isinstance(given, str) else str(given)
    assert refused.json()["errors"] == [
        {"path": "questions.EU3b.answer_type.min", "message": f"request body: {shown} {HOW}"}
    ]
    missing = client.get(f"{QUESTIONNAIRES}/{BUNDLED_KEY}/versions/3.0.0", headers=tenant_a.analyst)
    assert missing.status_code == 404

    questions[position]["answer_type"] = {"type": "date", "min": "2000-01-01"}
    published = client.post(
        QUESTIONNAIRES, json=document | {"questions": questions}, headers=tenant_a.analyst
    )
    assert published.status_code == 201, published.text


def test_a_published_yaml_questionnaire_with_a_day_no_calendar_has_is_422(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, settings: Any
) -> None:
    """PyYAML stops on an unquoted 2021-02-30 with a ValueError the reader did not catch: the
    upload was a 500."""
    text = (settings.questionnaires_dir / "stap-surveillance-v1.yaml").read_text()
    text = text.replace(f"\nversion: {bundled.version}\n", "\nversion: 3.0.0\n", 1)
    text = text.replace(
        "    answer_type:\n      type: date\n",
        "    answer_type:\n      type: date\n      min: 2021-02-30\n",
        1,
    )
    assert "min: 2021-02-30" in text
    response = client.post(
        QUESTIONNAIRES,
        files={"file": ("questionnaire.yaml", text.encode(), "application/x-yaml")},
        headers=tenant_a.analyst,
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert "'2021-02-30' is not a valid date: day is out of range for month" in error["message"]
    assert "line" in error["message"]
