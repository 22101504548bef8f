"""Conditional questions: visibility in chains, progress, submission and hidden answers."""

from __future__ import annotations

from typing import Any

import pytest
from questionnaire_samples import build, question

from hrdd.config import PROJECT_ROOT
from hrdd.questionnaires.answers import (
    AnswerErrorCode,
    AnswerPayload,
    apply_answer_changes,
    hidden_reasons,
    parse_answer_payload,
    progress,
    submission_problems,
    visible_questions,
)
from hrdd.questionnaires.loader import load_questionnaire_file
from hrdd.questionnaires.schemas import Questionnaire

YES_NO = "{type: single_choice, options: [{id: 'yes', label: 'Yes'}, {id: 'no', label: 'No'}]}"


def answers(**data: dict[str, Any]) -> dict[str, AnswerPayload]:
    return {question_id: parse_answer_payload(item) for question_id, item in data.items()}


def choice(value: str) -> dict[str, Any]:
    return {"type": "single_choice", "value": value}


def number(value: float | str) -> dict[str, Any]:
    return {"type": "number", "value": value}


@pytest.fixture(scope="module")
def chain() -> Questionnaire:
    """GATE -> COUNT (if yes) -> DETAIL (if COUNT > 0) -> WHEN (if DETAIL is b); plus OPT."""
    return build(
        question("GATE", YES_NO),
        question(
            "COUNT",
            "{type: number, unit: cases, min: 0, integer: true}",
            show_if="{question: GATE, equals: 'yes'}",
        ),
        question(
            "DETAIL",
            "{type: single_choice, options: [{id: a, label: A}, {id: b, label: B}]}",
            show_if="{question: COUNT, gt: 0}",
        ),
        question("WHEN", "{type: date}", show_if="{question: DETAIL, in: [b]}"),
        question("OPT", "{type: text}", required=False),
    )


def test_only_unconditional_questions_show_at_first(chain: Questionnaire) -> None:
    assert visible_questions(chain, {}) == {"GATE", "OPT"}


def test_chain_opens_step_by_step(chain: Questionnaire) -> None:
    given = answers(GATE=choice("yes"))
    assert visible_questions(chain, given) == {"GATE", "COUNT", "OPT"}
    given = answers(GATE=choice("yes"), COUNT=number(2))
    assert visible_questions(chain, given) == {"GATE", "COUNT", "DETAIL", "OPT"}
    given = answers(GATE=choice("yes"), COUNT=number(2), DETAIL=choice("b"))
    assert visible_questions(chain, given) == {"GATE", "COUNT", "DETAIL", "WHEN", "OPT"}
    given = answers(GATE=choice("yes"), COUNT=number(0), DETAIL=choice("b"))
    assert visible_questions(chain, given) == {"GATE", "COUNT", "OPT"}


def test_closing_the_gate_hides_the_whole_chain(chain: Questionnaire) -> None:
    given = answers(
        GATE=choice("no"),
        COUNT=number(2),
        DETAIL=choice("b"),
        WHEN={"type": "date", "value": "2020-05-01"},
    )
    # DETAIL and WHEN have matching answers, but they depend on hidden questions.
    assert visible_questions(chain, given) == {"GATE", "OPT"}


def test_progress_counts_visible_questions_only(chain: Questionnaire) -> None:
    given = answers(GATE=choice("yes"), COUNT=number(2))
    state = progress(chain, given)
    assert (state.visible, state.answered, state.required, state.required_answered) == (
        4,
        2,
        3,
        2,
    )
    assert state.missing_required == ["DETAIL"]
    assert state.hidden_answered == []


def test_hidden_answers_are_kept_but_excluded(chain: Questionnaire) -> None:
    given = answers(
        GATE=choice("no"), COUNT=number(2), DETAIL=choice("a"), OPT={"type": "text", "value": "x"}
    )
    state = progress(chain, given)
    assert (state.visible, state.answered, state.required, state.required_answered) == (
        2,
        2,
        1,
        1,
    )
    assert state.missing_required == []
    assert state.hidden_answered == ["COUNT", "DETAIL"]
    assert submission_problems(chain, given) == []


def test_submission_lists_missing_required_answers_in_order(chain: Questionnaire) -> None:
    problems = submission_problems(chain, answers(GATE=choice("yes"), COUNT=number(1)))
    assert [(p.question_id, p.code) for p in problems] == [("DETAIL", AnswerErrorCode.required)]
    problems = submission_problems(chain, {})
    assert [(p.question_id, p.code) for p in problems] == [("GATE", AnswerErrorCode.required)]


def test_submission_reports_evidence_invalid_and_unknown_answers() -> None:
    sample = build(
        question(
            "POLICY",
            "{type: disclosure}",
            guidance="{full: A., partial: B., 'no': C.}",
            evidence_required=True,
        ),
        question("SHARE", "{type: number, unit: percent, max: 100}", required=False),
    )
    given = answers(
        POLICY={"type": "disclosure", "level": "full"},
        SHARE=number(150),
        GHOST={"type": "text", "value": "left over"},
    )
    problems = {(p.question_id, p.path, p.code) for p in submission_problems(sample, given)}
    assert problems == {
        ("GHOST", "", AnswerErrorCode.unknown_question),
        ("POLICY", "evidence", AnswerErrorCode.evidence_required),
        ("SHARE", "value", AnswerErrorCode.above_maximum),
    }


def test_writing_to_a_hidden_question_is_refused(chain: Questionnaire) -> None:
    current = answers(GATE=choice("no"))
    updated, errors = apply_answer_changes(chain, current, {"COUNT": number(3)})
    assert updated == current
    assert [(e.question_id, e.code) for e in errors] == [("COUNT", AnswerErrorCode.hidden_question)]


def test_a_hidden_answer_sent_back_unchanged_is_no_write(chain: Questionnaire) -> None:
    """A client writing back every answer it read (an assessment's template imported as it
    came, a PATCH of the whole map) was refused for answers a later change had hidden."""
    current = answers(GATE=choice("no"), COUNT=number(3))
    updated, errors = apply_answer_changes(chain, current, {"COUNT": number(3)})
    assert (updated, errors) == (current, [])
    # Changing it is still refused.
    _, errors = apply_answer_changes(chain, current, {"COUNT": number(4)})
    assert [(e.question_id, e.code) for e in errors] == [("COUNT", AnswerErrorCode.hidden_question)]


def test_a_batch_reports_hidden_and_invalid_items_together(chain: Questionnaire) -> None:
    current = answers(GATE=choice("no"))
    updated, errors = apply_answer_changes(
        chain, current, {"COUNT": number(3), "OPT": {"type": "text", "value": ""}}
    )
    assert updated == current
    assert {(e.question_id, e.code) for e in errors} == {
        ("COUNT", AnswerErrorCode.hidden_question),
        ("OPT", AnswerErrorCode.empty),
    }


def test_a_batch_may_open_the_gate_and_answer_behind_it(chain: Questionnaire) -> None:
    current = answers(GATE=choice("no"))
    updated, errors = apply_answer_changes(
        chain, current, {"GATE": choice("yes"), "COUNT": number(3), "DETAIL": choice("a")}
    )
    assert errors == []
    assert progress(chain, updated).missing_required == []


def test_hiding_by_a_later_change_keeps_the_answers(chain: Questionnaire) -> None:
    current = answers(GATE=choice("yes"), COUNT=number(3), DETAIL=choice("a"))
    updated, errors = apply_answer_changes(chain, current, {"GATE": choice("no")})
    assert errors == []
    assert set(updated) == {"GATE", "COUNT", "DETAIL"}
    assert progress(chain, updated).hidden_answered == ["COUNT", "DETAIL"]


@pytest.fixture(scope="module")
def operators() -> Questionnaire:
    return build(
        question("LEVEL", "{type: disclosure}", guidance="{full: A., partial: B., 'no': C.}"),
        question(
            "TECH",
            "{type: multiple_choice, min_selected: 0, options: "
            "[{id: spyware, label: S}, {id: dpi, label: D}, {id: other, label: O}]}",
        ),
        question("SHARE", "{type: number, unit: percent}"),
        question("SINCE", "{type: date}"),
        question(
            "ANY",
            "{type: text}",
            show_if="{any_of: [{question: LEVEL, in: [full, partial]}, "
            "{question: TECH, in: [spyware]}]}",
        ),
        question(
            "ALL",
            "{type: text}",
            show_if="{all_of: [{question: SHARE, gte: 10}, {question: SHARE, lt: 50}]}",
        ),
        question("NOT", "{type: text}", show_if="{question: TECH, not_in: [spyware, dpi]}"),
        question("RANGE", "{type: text}", show_if="{question: SHARE, gt: 0, lte: 100}"),
        question("LATE", "{type: text}", show_if="{question: SINCE, gte: 2021-11-03}"),
        question(
            "NOT_LEVEL", "{type: text}", show_if="{question: LEVEL, not_in: [no_information]}"
        ),
    )


@pytest.mark.parametrize(
    ("given", "shown", "hidden"),
    [
        ({}, set(), {"ANY", "ALL", "NOT", "RANGE", "LATE", "NOT_LEVEL"}),
        ({"LEVEL": {"type": "disclosure", "level": "partial"}}, {"ANY", "NOT_LEVEL"}, set()),
        ({"LEVEL": {"type": "disclosure", "level": "no_information"}}, set(), {"ANY", "NOT_LEVEL"}),
        ({"TECH": {"type": "multiple_choice", "values": ["dpi", "spyware"]}}, {"ANY"}, {"NOT"}),
        ({"TECH": {"type": "multiple_choice", "values": ["other"]}}, {"NOT"}, {"ANY"}),
        ({"TECH": {"type": "multiple_choice", "values": []}}, {"NOT"}, {"ANY"}),
        ({"SHARE": {"type": "number", "value": "10"}}, {"ALL", "RANGE"}, set()),
        ({"SHARE": {"type": "number", "value": "50"}}, {"RANGE"}, {"ALL"}),
        ({"SHARE": {"type": "number", "value": "9.99"}}, {"RANGE"}, {"ALL"}),
        ({"SHARE": {"type": "number", "value": 0}}, set(), {"ALL", "RANGE"}),
        ({"SINCE": {"type": "date", "value": "2021-11-03"}}, {"LATE"}, set()),
        ({"SINCE": {"type": "date", "value": "2021-11-02"}}, set(), {"LATE"}),
    ],
)
def test_condition_operators(
    operators: Questionnaire, given: dict[str, dict[str, Any]], shown: set[str], hidden: set[str]
) -> None:
    visible = visible_questions(operators, answers(**given))
    assert shown <= visible
    assert not hidden & visible


def test_an_answer_of_the_wrong_type_never_matches(operators: Questionnaire) -> None:
    given = answers(SHARE={"type": "text", "value": "20"})
    assert "RANGE" not in visible_questions(operators, given)


def test_hidden_questions_say_why_and_shown_ones_say_nothing(chain: Questionnaire) -> None:
    """What the XLSX template of an assessment prints in its Shown now column."""
    assert hidden_reasons(chain, {}) == {
        "COUNT": "GATE is not answered",
        "DETAIL": "COUNT is hidden (GATE is not answered)",
        "WHEN": "DETAIL is hidden (GATE is not answered)",
    }
    given = answers(GATE=choice("no"), COUNT=number(2))
    assert hidden_reasons(chain, given)["COUNT"] == "GATE is 'no'"
    given = answers(GATE=choice("yes"), COUNT=number(0), DETAIL=choice("b"))
    assert hidden_reasons(chain, given) == {
        "DETAIL": "COUNT is 0",
        "WHEN": "DETAIL is hidden (COUNT is 0)",
    }
    given = answers(GATE=choice("yes"), COUNT=number(2), DETAIL=choice("a"))
    assert hidden_reasons(chain, given) == {"WHEN": "DETAIL is 'a'"}


def test_a_combined_condition_names_the_branches_that_fail() -> None:
    questionnaire = build(
        question("A", YES_NO),
        question("B", YES_NO),
        question(
            "EITHER",
            "{type: text}",
            show_if="{any_of: [{question: A, equals: 'yes'}, {question: B, equals: 'yes'}]}",
        ),
        question(
            "BOTH",
            "{type: text}",
            show_if="{all_of: [{question: A, equals: 'yes'}, {question: B, equals: 'yes'}]}",
        ),
    )
    given = answers(A=choice("yes"), B=choice("no"))
    assert hidden_reasons(questionnaire, given) == {"BOTH": "B is 'no'"}
    given = answers(A=choice("no"))
    assert hidden_reasons(questionnaire, given) == {
        "EITHER": "A is 'no' and B is not answered",
        "BOTH": "A is 'no' and B is not answered",
    }


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"GATE": choice("no")},
        {"GATE": choice("yes")},
        {"GATE": choice("yes"), "COUNT": number(0), "DETAIL": choice("b")},
        {"GATE": choice("yes"), "COUNT": number(3)},
        {"GATE": choice("yes"), "COUNT": number(3), "DETAIL": choice("a")},
        {"GATE": choice("yes"), "COUNT": number(3), "DETAIL": choice("b")},
        {
            "GATE": choice("no"),
            "COUNT": number(3),
            "DETAIL": choice("b"),
            "OPT": {"type": "text", "value": "x"},
        },
    ],
)
def test_reasons_are_given_for_exactly_the_hidden_questions(
    chain: Questionnaire, given: dict[str, dict[str, Any]]
) -> None:
    """A write is refused by visible_questions and its reason worded by hidden_reasons: the
    two walks must agree on which questions are hidden."""
    payloads = answers(**given)
    all_ids = {q.id for q in chain.questions}
    assert set(hidden_reasons(chain, payloads)) == all_ids - visible_questions(chain, payloads)


@pytest.mark.parametrize("level", [None, "no", "yes", "unknown"])
def test_the_bundled_questionnaire_agrees_on_hidden_questions(level: str | None) -> None:
    questionnaire = load_questionnaire_file(
        PROJECT_ROOT / "questionnaires" / "stap-surveillance-v1.yaml"
    )
    question = next(q for q in questionnaire.questions if q.id == "EX5")
    assert question.show_if is None
    payloads = {} if level is None else answers(EX5=choice(level))
    all_ids = {q.id for q in questionnaire.questions}
    hidden = all_ids - visible_questions(questionnaire, payloads)
    assert set(hidden_reasons(questionnaire, payloads)) == hidden
    # The questions shown on EX5's answer hide unless it is "yes" or "unknown".
    behind_ex5 = {
        q.id
        for q in questionnaire.questions
        if q.show_if is not None and getattr(q.show_if, "question", None) == "EX5"
    }
    assert behind_ex5
    assert (behind_ex5 <= hidden) == (level in (None, "no"))
    assert (behind_ex5 & hidden == set()) == (level in ("yes", "unknown"))
