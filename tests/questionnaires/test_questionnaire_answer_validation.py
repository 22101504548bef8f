"""Answer payloads: parsing, validation against the question, and evidence rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from questionnaire_samples import build, question

from hrdd.questionnaires.answers import (
    ANSWER_TYPES,
    AnswerErrorCode,
    DisclosureAnswer,
    NumberAnswer,
    apply_answer_changes,
    date_text_problem,
    missing_evidence,
    number_text_problem,
    parse_answer,
    parse_answer_payload,
    payload_component_schemas,
    validate_answer,
)
from hrdd.questionnaires.schemas import Questionnaire

EVIDENCE = {
    "url": "https://example.org/report",
    "title": "A report",
    "publisher": "A lab",
    "source_date": "2021-07-18",
    "excerpt": "What the report says.",
}


@pytest.fixture(scope="module")
def sample() -> Questionnaire:
    return build(
        question(
            "D",
            "{type: disclosure}",
            guidance="{full: A., partial: B., 'no': C.}",
            evidence_required=True,
        ),
        question(
            "YN",
            "{type: disclosure, allow_partial: false, allow_not_applicable: false}",
            guidance="{full: A., 'no': C.}",
        ),
        question(
            "S",
            "{type: single_choice, options: [{id: a, label: A}, "
            "{id: unknown, label: Unknown, reports_absence: true}]}",
            evidence_required=True,
        ),
        question(
            "M",
            "{type: multiple_choice, min_selected: 1, max_selected: 2, options: "
            "[{id: a, label: A}, {id: b, label: B}, {id: c, label: C}]}",
        ),
        question("N", "{type: number, unit: percent, min: 0, max: 100}", evidence_required=True),
        question("I", "{type: number, unit: deals, min: 0, integer: true}"),
        question("DT", "{type: date, min: 2000-01-01, max: 2030-12-31}"),
        question("T", "{type: text, max_length: 20}", evidence_required=True),
    )


def codes(sample: Questionnaire, question_id: str, data: dict[str, Any]) -> set[tuple[str, str]]:
    payload, errors = parse_answer(sample.question(question_id), data)
    assert all(error.question_id == question_id for error in errors)
    if not errors:
        assert payload is not None
    return {(error.path, error.code.value) for error in errors}


@pytest.mark.parametrize(
    ("question_id", "data"),
    [
        ("D", {"type": "disclosure", "level": "partial", "comment": "Generic policy."}),
        (
            "D",
            {
                "type": "disclosure",
                "level": "not_applicable",
                "not_applicable_reason": "The company sells no such product.",
            },
        ),
        ("YN", {"type": "disclosure", "level": "no_information"}),
        ("S", {"type": "single_choice", "value": "a", "evidence": [EVIDENCE]}),
        ("M", {"type": "multiple_choice", "values": ["a", "c"]}),
        ("N", {"type": "number", "value": "12.5", "unit": "percent"}),
        ("N", {"type": "number", "value": 100}),
        ("I", {"type": "number", "value": 3}),
        ("DT", {"type": "date", "value": "2016-04-01"}),
        ("T", {"type": "text", "value": "Licence revoked."}),
    ],
)
def test_good_answers_have_no_errors(
    sample: Questionnaire, question_id: str, data: dict[str, Any]
) -> None:
    assert codes(sample, question_id, data) == set()


@pytest.mark.parametrize(
    ("question_id", "data", "expected"),
    [
        ("D", {"type": "number", "value": 1}, {("type", "type_mismatch")}),
        (
            "D",
            {"type": "disclosure", "level": "not_applicable"},
            {("not_applicable_reason", "reason_required")},
        ),
        (
            "D",
            {"type": "disclosure", "level": "not_applicable", "not_applicable_reason": "  "},
            {("not_applicable_reason", "reason_required")},
        ),
        (
            "D",
            {"type": "disclosure", "level": "full", "not_applicable_reason": "why"},
            {("not_applicable_reason", "reason_not_allowed")},
        ),
        ("YN", {"type": "disclosure", "level": "partial"}, {("level", "partial_not_allowed")}),
        (
            "YN",
            {"type": "disclosure", "level": "not_applicable", "not_applicable_reason": "x"},
            {("level", "not_applicable_not_allowed")},
        ),
        ("S", {"type": "single_choice", "value": "b"}, {("value", "not_an_option")}),
        ("M", {"type": "multiple_choice", "values": ["a", "z"]}, {("values[1]", "not_an_option")}),
        (
            "M",
            {"type": "multiple_choice", "values": ["a", "a"]},
            {("values[1]", "duplicate_choice")},
        ),
        ("M", {"type": "multiple_choice", "values": []}, {("values", "too_few_choices")}),
        (
            "M",
            {"type": "multiple_choice", "values": ["a", "b", "c"]},
            {("values", "too_many_choices")},
        ),
        ("N", {"type": "number", "value": "100.01"}, {("value", "above_maximum")}),
        ("N", {"type": "number", "value": -1}, {("value", "below_minimum")}),
        ("N", {"type": "number", "value": 5, "unit": "days"}, {("unit", "unit_mismatch")}),
        ("I", {"type": "number", "value": "2.5"}, {("value", "not_integer")}),
        ("DT", {"type": "date", "value": "1999-12-31"}, {("value", "below_minimum")}),
        ("DT", {"type": "date", "value": "2031-01-01"}, {("value", "above_maximum")}),
        ("T", {"type": "text", "value": "x" * 21}, {("value", "too_long")}),
        ("T", {"type": "text", "value": "   "}, {("value", "empty")}),
    ],
)
def test_bad_answers_name_the_field(
    sample: Questionnaire, question_id: str, data: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    assert codes(sample, question_id, data) == expected


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"type": "disclosure"}, "level"),
        ({"type": "disclosure", "level": "yes"}, "level"),
        ({"type": "disclosure", "level": "full", "colour": "red"}, "colour"),
        ({"type": "number", "value": "NaN"}, "value"),
        ({"type": "number", "value": "Infinity"}, "value"),
        ({"type": "date", "value": "31/12/2020"}, "value"),
        ({"type": "single_choice", "value": 3}, "value"),
        (
            {
                "type": "disclosure",
                "level": "full",
                "evidence": [{**EVIDENCE, "url": "ftp://example.org/x"}],
            },
            "evidence[0].url",
        ),
        (
            {
                "type": "disclosure",
                "level": "full",
                "evidence": [{**EVIDENCE, "url": "javascript:alert(1)"}],
            },
            "evidence[0].url",
        ),
        (
            {
                "type": "disclosure",
                "level": "full",
                "evidence": [{**EVIDENCE, "url": "https://exa mple.org"}],
            },
            "evidence[0].url",
        ),
        (
            {
                "type": "disclosure",
                "level": "full",
                "evidence": [{"title": "Notes with nothing to find them by"}],
            },
            "evidence[0]",
        ),
        (
            {
                "type": "disclosure",
                "level": "full",
                "evidence": [{**EVIDENCE, "file_id": "not-a-uuid"}],
            },
            "evidence[0].file_id",
        ),
        ({"type": "slider", "value": 3}, ""),
    ],
)
def test_malformed_payloads_are_reported_with_paths(
    sample: Questionnaire, data: dict[str, Any], path: str
) -> None:
    # Each against a question of its type: another type's answer is refused for its type.
    question_id = {"number": "N", "date": "DT", "single_choice": "S"}.get(data["type"], "D")
    payload, errors = parse_answer(sample.question(question_id), data)
    assert payload is None
    assert path in {error.path for error in errors}
    assert all(error.code == AnswerErrorCode.invalid for error in errors)


def test_evidence_may_be_an_uploaded_file_only(sample: Questionnaire) -> None:
    file_only = {"title": "Meeting notes", "file_id": "0b9c6c0e-9d5e-4f38-8f7c-3c8f1f2f6a11"}
    payload, errors = parse_answer(
        sample.question("D"), {"type": "disclosure", "level": "full", "evidence": [file_only]}
    )
    assert errors == [] and payload is not None
    assert payload.evidence[0].url is None


def test_number_keeps_its_decimal_value() -> None:
    payload = parse_answer_payload({"type": "number", "value": 0.1})
    assert isinstance(payload, NumberAnswer)
    assert payload.value == Decimal("0.1")


def test_missing_evidence_is_not_a_save_error(sample: Questionnaire) -> None:
    payload = parse_answer_payload({"type": "disclosure", "level": "full"})
    assert validate_answer(sample.question("D"), payload) == []
    problem = missing_evidence(sample.question("D"), payload)
    assert problem is not None
    assert (problem.question_id, problem.path, problem.code) == (
        "D",
        "evidence",
        AnswerErrorCode.evidence_required,
    )


@pytest.mark.parametrize(
    ("question_id", "data"),
    [
        ("D", {"type": "disclosure", "level": "no"}),
        ("D", {"type": "disclosure", "level": "no_information"}),
        ("D", {"type": "disclosure", "level": "not_applicable", "not_applicable_reason": "x"}),
        ("N", {"type": "number", "value": 0}),
        ("S", {"type": "single_choice", "value": "unknown"}),
    ],
)
def test_answers_reporting_absence_need_no_evidence(
    sample: Questionnaire, question_id: str, data: dict[str, Any]
) -> None:
    assert missing_evidence(sample.question(question_id), parse_answer_payload(data)) is None


@pytest.mark.parametrize(
    ("question_id", "data"),
    [
        ("D", {"type": "disclosure", "level": "partial"}),
        ("N", {"type": "number", "value": 4}),
        ("S", {"type": "single_choice", "value": "a"}),
        ("T", {"type": "text", "value": "Claimed."}),
    ],
)
def test_claims_need_evidence(
    sample: Questionnaire, question_id: str, data: dict[str, Any]
) -> None:
    assert missing_evidence(sample.question(question_id), parse_answer_payload(data)) is not None


def test_evidence_not_required_means_never_missing(sample: Questionnaire) -> None:
    payload = parse_answer_payload({"type": "multiple_choice", "values": ["a"]})
    assert missing_evidence(sample.question("M"), payload) is None


def test_batch_is_all_or_nothing_and_reports_every_bad_item(sample: Questionnaire) -> None:
    current = {"D": DisclosureAnswer(type="disclosure", level="no")}
    changes = {
        "D": {"type": "disclosure", "level": "full"},
        "S": {"type": "single_choice", "value": "zzz"},
        "N": {"type": "number", "value": 500},
        "NOPE": {"type": "text", "value": "x"},
    }
    answers, errors = apply_answer_changes(sample, current, changes)
    assert answers == current
    assert {(error.question_id, error.code.value) for error in errors} == {
        ("S", "not_an_option"),
        ("N", "above_maximum"),
        ("NOPE", "unknown_question"),
    }


def test_batch_applies_and_deletes(sample: Questionnaire) -> None:
    current = {"D": DisclosureAnswer(type="disclosure", level="no")}
    answers, errors = apply_answer_changes(
        sample, current, {"D": None, "I": {"type": "number", "value": 2}}
    )
    assert errors == []
    assert set(answers) == {"I"}
    assert current == {"D": DisclosureAnswer(type="disclosure", level="no")}


@pytest.mark.parametrize(
    ("question_id", "data", "in_body", "message"),
    [
        (
            "M",
            {"values": ["a"]},
            False,
            '"type" is missing: question M takes a multiple_choice answer, sent as '
            '{"type": "multiple_choice", "values": [...]}',
        ),
        (
            "D",
            {"answer": {"type": "disclosure", "level": "full"}},
            True,
            '"type" is missing: question D takes a disclosure answer, sent as '
            '{"type": "disclosure", "level": ...} directly in the body, not inside "answer"',
        ),
        (
            "DT",
            {"answer": {"value": "2020-01-01"}},
            False,
            '"type" is missing: question DT takes a date answer, sent as '
            '{"type": "date", "value": "YYYY-MM-DD"} directly under "DT", not inside "answer"',
        ),
        (
            "N",
            {"type": "numbr", "value": 3},
            False,
            "'numbr' is not an answer type; question N takes a number answer (type \"number\")",
        ),
        (
            "N",
            {"type": 3, "value": 3},
            False,
            '3 is not an answer type; question N takes a number answer (type "number")',
        ),
    ],
)
def test_a_missing_or_unknown_type_is_said_plainly(
    sample: Questionnaire, question_id: str, data: dict[str, Any], in_body: bool, message: str
) -> None:
    payload, errors = parse_answer(sample.question(question_id), data, in_body=in_body)
    assert payload is None
    assert [(error.path, error.code, error.message) for error in errors] == [
        ("", AnswerErrorCode.invalid, message)
    ]


def test_a_payload_of_another_type_is_refused_for_its_type_alone(sample: Questionnaire) -> None:
    payload, errors = parse_answer(sample.question("T"), {"type": "number", "value": "words"})
    assert payload is None
    assert [(error.path, error.code, error.message) for error in errors] == [
        ("type", AnswerErrorCode.type_mismatch, "question T takes a text answer, not number")
    ]


def test_every_payload_type_has_a_shape_to_show() -> None:
    examples = payload_component_schemas()["AnswerPayload"]["examples"]
    assert {example["type"] for example in examples} == ANSWER_TYPES


@pytest.mark.parametrize(
    ("text", "unit", "message"),
    [
        ("12,5", None, "'12,5' is not a number: write it with a decimal point, e.g. 12.5"),
        (
            "1,250",
            None,
            "'1,250' is not a number: write it with a decimal point and no thousands "
            "separator, 1.250 or 1250",
        ),
        (
            "1.234,56",
            None,
            "'1.234,56' is not a number: write it with digits and a decimal point only, "
            "e.g. 1234.5",
        ),
        (
            "40 %",
            "percent",
            "'40 %' is not a number: write the number alone, e.g. 40: the unit (percent) is "
            "the question's",
        ),
        (
            "forty",
            None,
            "'forty' is not a number: write it in digits with a decimal point, e.g. 12.5",
        ),
    ],
)
def test_a_number_that_does_not_read_says_how_to_write_it(
    text: str, unit: str | None, message: str
) -> None:
    assert number_text_problem(text, unit) == message


@pytest.mark.parametrize(
    ("given", "example"),
    [
        ("31.12.2021", "2021-12-31"),  # dots: day first
        ("12/31/2021", "2021-12-31"),  # month first, without doubt
        ("31/12/2021", "2021-12-31"),  # day first, without doubt
        ("05/06/2021", "2021-12-31"),  # either way round: a general example
        ("31.02.2021", "2021-12-31"),  # no such day
        ("20211231", "2021-12-31"),
    ],
)
def test_a_date_that_does_not_read_says_write_it_as_yyyy_mm_dd(given: str, example: str) -> None:
    assert date_text_problem(given) == (
        f"'{given}' is not a date: write it as YYYY-MM-DD, e.g. {example}"
    )
