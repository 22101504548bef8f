"""Content dates print only as far as they are known; dates callers write are YYYY-MM-DD."""

import datetime as dt
import json
from datetime import date
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

from hrdd.dates import IsoDate, PastDate, PlausibleDate, calendar_date, iso_date
from hrdd.errors import plain_error_message
from hrdd.evidence.content import EvidenceDocument
from hrdd.main import api_routers
from hrdd.questionnaires.answers import AnswerPayload
from hrdd.questionnaires.schemas import Questionnaire
from hrdd.vocab import DatePrecision


@pytest.mark.parametrize(
    ("precision", "printed"),
    [
        (DatePrecision.day, "2017-05-01"),
        (DatePrecision.month, "2017-05"),
        (DatePrecision.year, "2017"),
        ("month", "2017-05"),  # as stored in the database
    ],
)
def test_iso_date_stops_at_the_known_precision(precision, printed):
    assert iso_date(date(2017, 5, 1), precision) == printed


def test_iso_date_refuses_an_unknown_precision():
    with pytest.raises(ValueError):
        iso_date(date(2017, 5, 1), "week")


# --- dates written by callers ----------------------------------------------------------------

HOW = "is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31"


class Dated(BaseModel):
    day: PlausibleDate | None = None
    since: PastDate | None = None
    any_year: IsoDate | None = None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (1640908800, f"1640908800 {HOW}"),
        (1640908800.0, f"1640908800.0 {HOW}"),
        ("1640908800", f"'1640908800' {HOW}"),
        (True, f"true {HOW}"),
        ("2021-12-31T00:00:00", f"'2021-12-31T00:00:00' {HOW}"),
        ("2021-12-31T00:00:00Z", f"'2021-12-31T00:00:00Z' {HOW}"),
        ("2021-12-31 00:00", f"'2021-12-31 00:00' {HOW}"),
        ("20211231", f"'20211231' {HOW}"),
        ("2021-W52-5", f"'2021-W52-5' {HOW}"),
        (" 2021-12-31", f"' 2021-12-31' {HOW}"),
        ("31.12.2021", f"'31.12.2021' {HOW}"),
        ("2021-02-30", "'2021-02-30' is not a valid date: day is out of range for month"),
    ],
)
@pytest.mark.parametrize("field", ["day", "since", "any_year"])
def test_a_caller_date_is_yyyy_mm_dd_only_in_json_and_python(
    field: str, given: object, message: str
) -> None:
    for validate in (Dated.model_validate, lambda d: Dated.model_validate_json(json.dumps(d))):
        with pytest.raises(ValidationError) as caught:
            validate({field: given})
        [error] = caught.value.errors()
        assert (error["loc"], plain_error_message(error)) == ((field,), message)


def test_a_datetime_handed_on_by_code_is_refused_a_date_is_taken() -> None:
    """A YAML timestamp or a workbook cell is a datetime: the code that reads it takes the
    day (a workbook's date cell), or hands it on to be refused."""
    with pytest.raises(ValidationError) as caught:
        Dated(day=dt.datetime(2021, 12, 31))  # type: ignore[arg-type]
    assert plain_error_message(caught.value.errors()[0]) == f"'2021-12-31T00:00:00' {HOW}"
    taken = Dated(day=dt.date(2021, 12, 31), since="2021-12-31", any_year="0999-01-01")  # type: ignore[arg-type]
    assert (taken.day, taken.since, taken.any_year) == (
        dt.date(2021, 12, 31),
        dt.date(2021, 12, 31),
        dt.date(999, 1, 1),
    )


def test_the_schema_still_says_format_date() -> None:
    """Clients and the schemathesis tests read `format: date` from the OpenAPI document."""
    properties = Dated.model_json_schema()["properties"]
    for field in ("day", "since", "any_year"):
        assert {"type": "string", "format": "date"} in properties[field]["anyOf"]


def _plain_dates(schema: Any) -> list[str]:
    """The lax date and datetime schemas a core schema validates with, outside calendar_date."""
    definitions: dict[str, Any] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "ref" in node and "type" in node:
                definitions[node["ref"]] = node
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schema)
    found: list[str] = []
    followed: set[str] = set()

    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for value in node:
                walk(value, where)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind == "function-before" and node["function"]["function"] is calendar_date:
            return
        if kind in ("date", "datetime"):
            found.append(f"{where} ({kind})")
            return
        if kind == "definitions":  # each is walked where it is referenced
            walk(node["schema"], where)
            return
        if kind == "definition-ref":
            if node["schema_ref"] not in followed:
                followed.add(node["schema_ref"])
                walk(definitions[node["schema_ref"]], where)
            return
        for key, value in node.items():
            if key not in ("serialization", "metadata"):
                walk(value, f"{where}.{key}" if key not in ("schema", "fields") else where)

    walk(schema, "")
    return found


def test_the_guard_finds_a_plain_date() -> None:
    class Lax(BaseModel):
        day: dt.date | None = None

    assert _plain_dates(Lax.__pydantic_core_schema__)


def test_every_date_a_caller_sends_goes_through_calendar_date() -> None:
    """Every parameter and body of every route, the answer payloads (parsed from a body the
    route takes as it is), questionnaires and evidence files: no date is read by pydantic's lax
    date, which takes Unix seconds and datetimes. Left to it: AnswersDocument.exported_at, a
    moment (a datetime), not a date; and a questionnaire condition's operands (`str | int |
    float | date`), which questionnaires.consistency checks first, refusing any operand of a
    date question that is not a date or YYYY-MM-DD text."""
    lax: list[str] = []
    for router in api_routers():
        for route in router.routes:
            assert isinstance(route, APIRoute)
            dependant = route.dependant
            for param in (
                *dependant.path_params,
                *dependant.query_params,
                *dependant.header_params,
                *dependant.cookie_params,
                *dependant.body_params,
            ):
                schema = TypeAdapter(param.field_info.annotation).core_schema
                lax += [f"{route.path} {param.name}{where}" for where in _plain_dates(schema)]
    for name, schema in (
        ("answer payload", TypeAdapter(AnswerPayload).core_schema),
        ("questionnaire", Questionnaire.__pydantic_core_schema__),
        ("evidence file", EvidenceDocument.__pydantic_core_schema__),
    ):
        lax += [
            f"{name}{where}" for where in _plain_dates(schema) if "answer-condition" not in where
        ]
    assert lax == ["/assessments/{assessment_id}/import document.exported_at (datetime)"]
