"""A questionnaire's dates (a date question's min and max, a condition's operand on a date
question) are written YYYY-MM-DD: quoted, or unquoted as YAML reads a date. Pydantic's lax date
took Unix seconds (1640908800, or the text) and YAML timestamps (2021-12-31T00:00:00) as a
day; an unquoted day no calendar has (2021-02-30) stopped the YAML reader with an error it
did not catch."""

from __future__ import annotations

import pytest
from questionnaire_samples import CONTEXT_HEADER, mini, question

from hrdd.questionnaires.loader import QuestionnaireError, parse_questionnaire

HOW = "is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31"


def problems_of(text: str) -> list[tuple[str | None, str, str]]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, source_name="dates.yaml")
    return [(p.question_id, p.path, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("1640908800", f"1640908800 {HOW}"),
        ("'1640908800'", f"'1640908800' {HOW}"),
        ("2021-12-31T00:00:00", f"'2021-12-31T00:00:00' {HOW}"),
        ("'2021-12-31T00:00:00'", f"'2021-12-31T00:00:00' {HOW}"),
        ("'2021-12-31 00:00'", f"'2021-12-31 00:00' {HOW}"),
    ],
)
def test_a_date_bound_not_written_yyyy_mm_dd_is_refused(written: str, message: str) -> None:
    text = mini(question("Q1", f"{{type: date, min: {written}}}"), header=CONTEXT_HEADER)
    assert problems_of(text) == [("Q1", "answer_type.min", message)]


@pytest.mark.parametrize("written", ["2021-12-31", "'2021-12-31'"])
def test_a_date_bound_written_yyyy_mm_dd_is_read(written: str) -> None:
    text = mini(question("Q1", f"{{type: date, max: {written}}}"), header=CONTEXT_HEADER)
    questionnaire = parse_questionnaire(text, source_name="dates.yaml")
    assert str(questionnaire.question("Q1").answer_type.max) == "2021-12-31"  # type: ignore[union-attr]


def test_an_unquoted_day_no_calendar_has_is_a_problem_at_its_line() -> None:
    text = mini(question("Q1", "{type: date, min: 2021-02-30}"), header=CONTEXT_HEADER)
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, source_name="dates.yaml")
    [problem] = caught.value.problems
    assert "'2021-02-30' is not a valid date: day is out of range for month" in problem.message
    assert (
        problem.line
        == text.splitlines().index("    answer_type: {type: date, min: 2021-02-30}") + 1
    )


def test_a_condition_on_a_date_question_takes_only_yyyy_mm_dd() -> None:
    """date.fromisoformat reads an ISO week date (2021-W52-5) too, and it is as long as
    YYYY-MM-DD: the operand check took it."""
    dependent = question("Q2", "{type: text}", show_if="{question: Q1, gte: 2021-W52-5}")
    text = mini(question("Q1", "{type: date}"), dependent, header=CONTEXT_HEADER)
    [(question_id, path, message)] = problems_of(text)
    assert (question_id, path) == ("Q2", "show_if.gte")
    assert "not a date (YYYY-MM-DD)" in message
