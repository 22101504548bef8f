"""Bad questionnaire files are refused with the file, the question id and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from questionnaire_samples import (
    CONTEXT_HEADER,
    COUNT,
    EXPORTS,
    HEADER,
    POLICY,
    VALID_MINI,
    mini,
    question,
)

from hrdd.questionnaires.loader import (
    QuestionnaireError,
    QuestionnaireProblem,
    load_questionnaire_dir,
    load_questionnaire_file,
    parse_questionnaire,
)
from hrdd.questionnaires.schemas import Questionnaire


def problems_of(text: str) -> list[QuestionnaireProblem]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, source_name="bad.yaml")
    assert all(problem.source == "bad.yaml" for problem in caught.value.problems)
    return caught.value.problems


def the_problem(text: str) -> QuestionnaireProblem:
    problems = problems_of(text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_the_valid_sample_loads() -> None:
    questionnaire = parse_questionnaire(VALID_MINI, source_name="mini.yaml")
    assert questionnaire.question_ids == ["Q1", "Q2", "Q3"]
    assert questionnaire.question("Q1").option_ids == ["yes", "no"]


def test_yaml_syntax_error_reports_the_line() -> None:
    text = VALID_MINI.replace("    text: How many deals were declined?", "    text: [unclosed")
    problem = the_problem(text)
    assert "YAML syntax error" in problem.message
    expected_line = VALID_MINI.splitlines().index("    text: How many deals were declined?") + 1
    assert problem.line is not None and problem.line >= expected_line
    assert str(problem).startswith(f"bad.yaml:{problem.line}:")


@pytest.mark.parametrize("character", ["\x00", "\x15", "\x7f"])
def test_a_control_character_is_refused_with_its_line_and_column(character: str) -> None:
    line_text = "    text: How many deals were declined?"
    text = VALID_MINI.replace(line_text, line_text.replace("deals", f"de{character}als"))
    problem = the_problem(text)
    expected_line = VALID_MINI.splitlines().index(line_text) + 1
    column = line_text.index("deals") + 3
    assert problem.line == expected_line
    assert problem.message == (
        f"the file contains U+{ord(character):04X}, a character YAML does not allow "
        f"(line {expected_line}, column {column})"
    )


def test_duplicate_yaml_key_is_an_error() -> None:
    text = VALID_MINI.replace(
        "    required: false\n", "    required: false\n    required: true\n", 1
    )
    problem = the_problem(text)
    assert "duplicate key 'required'" in problem.message
    assert problem.line == text.splitlines().index("    required: false") + 2


def test_aliases_are_refused() -> None:
    plain = "    source_basis: [guide]\n"
    text = VALID_MINI.replace(plain, "    source_basis: &basis [guide]\n", 1)
    text = text.replace(plain, "    source_basis: *basis\n", 1)
    problem = the_problem(text)
    assert "aliases are not allowed" in problem.message
    assert problem.line == text.splitlines().index("    source_basis: *basis") + 1


def test_yes_and_no_stay_text() -> None:
    text = VALID_MINI.replace('{id: "yes", label: "Yes"}', "{id: yes, label: Yes}").replace(
        '{id: "no", label: "No"}', "{id: no, label: No}"
    )
    assert parse_questionnaire(text, "mini.yaml").question("Q1").option_ids == ["yes", "no"]


def test_duplicate_question_id() -> None:
    problem = the_problem(mini(EXPORTS, POLICY, COUNT.replace("id: Q3", "id: Q2")))
    assert (problem.question_id, problem.path) == ("Q2", "id")
    assert "duplicate question id 'Q2'" in problem.message
    assert problem.location == "questions[2].id"


def test_duplicate_option_id() -> None:
    text = VALID_MINI.replace('{id: "no", label: "No"}', '{id: "yes", label: "Also yes"}')
    problem = the_problem(text)
    assert (problem.question_id, problem.path) == ("Q1", "answer_type.options[1].id")
    assert "duplicate option id 'yes'" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        (
            "theme: context\n    text: How many",
            "theme: contxt\n    text: How many",
            "theme",
            "unknown theme 'contxt'",
        ),
        ("section: second", "section: third", "section", "unknown section 'third'"),
        (
            "source_basis: [guide]\n",
            "source_basis: [guide, unknown-report]\n",
            "source_basis[1]",
            "unknown source 'unknown-report'",
        ),
    ],
)
def test_unknown_references(old: str, new: str, field: str, fragment: str) -> None:
    text = mini(EXPORTS, POLICY, COUNT.replace(old, new))
    problem = next(p for p in problems_of(text) if p.path == field)
    assert problem.question_id == "Q3"
    assert fragment in problem.message


@pytest.mark.parametrize(
    ("show_if", "fragment"),
    [
        ("{question: Q9, equals: 'yes'}", "unknown question 'Q9'"),
        ("{question: Q3, gt: 0}", "later question 'Q3'"),
        ("{question: Q2, equals: full}", "its own answer"),
    ],
)
def test_dangling_forward_and_self_conditions(show_if: str, fragment: str) -> None:
    policy = POLICY.replace('{question: Q1, equals: "yes"}', show_if)
    problem = the_problem(mini(EXPORTS, policy, COUNT))
    assert (problem.question_id, problem.path) == ("Q2", "show_if.question")
    assert fragment in problem.message


def test_nested_condition_path() -> None:
    condition = "{any_of: [{question: Q1, equals: 'yes'}, {question: Q7, equals: 'no'}]}"
    policy = POLICY.replace('{question: Q1, equals: "yes"}', condition)
    problem = the_problem(mini(EXPORTS, policy, COUNT))
    assert (problem.question_id, problem.path) == ("Q2", "show_if.any_of[1].question")


@pytest.mark.parametrize(
    ("referenced", "show_if", "path", "fragment"),
    [
        (EXPORTS, "{question: Q1, equals: maybe}", "show_if.equals", "not an option"),
        (EXPORTS, "{question: Q1, in: ['yes', perhaps]}", "show_if.in[1]", "not an option"),
        (EXPORTS, "{question: Q1, gt: 1}", "show_if.gt", "does not fit single_choice"),
        (
            question("Q1", "{type: number, unit: days}"),
            "{question: Q1, gte: many}",
            "show_if.gte",
            "not a number",
        ),
        (
            question(
                "Q1", "{type: disclosure, allow_partial: false}", guidance="{full: Yes., 'no': No.}"
            ),
            "{question: Q1, equals: partial}",
            "show_if.equals",
            "can never match",
        ),
        (
            question("Q1", "{type: disclosure}", guidance="{full: A., partial: B., 'no': C.}"),
            "{question: Q1, equals: yes}",
            "show_if.equals",
            "not a disclosure level",
        ),
        (
            question(
                "Q1", "{type: multiple_choice, options: [{id: a, label: A}, {id: b, label: B}]}"
            ),
            "{question: Q1, equals: a}",
            "show_if.equals",
            "does not fit multiple_choice",
        ),
        (
            question("Q1", "{type: text}"),
            "{question: Q1, equals: x}",
            "show_if.equals",
            "conditions cannot use it",
        ),
        (question("Q1", "{type: date}"), "{question: Q1, lt: soon}", "show_if.lt", "not a date"),
    ],
)
def test_condition_operand_must_fit_the_referenced_question(
    referenced: str, show_if: str, path: str, fragment: str
) -> None:
    dependent = question("Q2", "{type: text}", show_if=show_if)
    problem = the_problem(mini(referenced, dependent, header=CONTEXT_HEADER))
    assert (problem.question_id, problem.path) == ("Q2", path)
    assert fragment in problem.message


def test_boolean_operand_is_refused() -> None:
    dependent = question("Q2", "{type: text}", show_if="{question: Q1, equals: true}")
    problems = problems_of(mini(EXPORTS, dependent, header=CONTEXT_HEADER))
    assert any(p.question_id == "Q2" and p.path.startswith("show_if") for p in problems)
    assert any("quote option ids" in p.message for p in problems)


def test_condition_needs_one_kind_of_operator() -> None:
    dependent = question("Q2", "{type: text}", show_if="{question: Q1, equals: 'yes', in: ['no']}")
    problem = the_problem(mini(EXPORTS, dependent, header=CONTEXT_HEADER))
    assert problem.question_id == "Q2"
    assert problem.path.startswith("show_if")
    assert "cannot be combined" in problem.message


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "1.0.0.0", "01.0.0"])
def test_version_must_be_semver(version: str) -> None:
    problem = the_problem(VALID_MINI.replace("version: 1.0.0", f"version: '{version}'"))
    assert (problem.question_id, problem.path) == (None, "version")


def test_prerelease_version_is_semver() -> None:
    text = VALID_MINI.replace("version: 1.0.0", "version: 2.1.0-rc.1")
    assert parse_questionnaire(text, "mini.yaml").version == "2.1.0-rc.1"


def test_missing_and_unknown_fields_are_all_reported() -> None:
    problems = problems_of(
        VALID_MINI.replace("    required: false\n", "    requird: false\n").replace(
            "    text: Is there an export policy?\n", ""
        )
    )
    located = {(p.question_id, p.path) for p in problems}
    assert {("Q3", "required"), ("Q3", "requird"), ("Q2", "text")} <= located


def test_bad_field_inside_an_answer_type_names_the_option() -> None:
    text = VALID_MINI.replace('{id: "no", label: "No"}', '{id: "no", label: "No", points: 400}')
    problems = problems_of(text)
    located = {(p.question_id, p.path) for p in problems}
    assert ("Q1", "answer_type.options[1].points") in located


def test_unknown_answer_type() -> None:
    problem = the_problem(VALID_MINI.replace("type: number", "type: slider"))
    assert (problem.question_id, problem.path) == ("Q3", "answer_type")
    assert "slider" in problem.message


def test_number_bounds_must_be_ordered() -> None:
    problem = the_problem(VALID_MINI.replace("min: 0, max: 1000", "min: 10, max: 5"))
    assert (problem.question_id, problem.path) == ("Q3", "answer_type")
    assert "min is larger than max" in problem.message


def test_scored_choice_needs_points_and_context_choice_refuses_them() -> None:
    scored = EXPORTS.replace("theme: context", "theme: scored_theme")
    problems = problems_of(mini(scored, POLICY, COUNT))
    assert {(p.question_id, p.path) for p in problems} == {
        ("Q1", "answer_type.options[0].points"),
        ("Q1", "answer_type.options[1].points"),
    }
    with_points = EXPORTS.replace('label: "Yes"}', 'label: "Yes", points: 100}')
    problem = the_problem(mini(with_points, POLICY, COUNT))
    assert (problem.question_id, problem.path) == ("Q1", "answer_type.options[0].points")
    assert "not scored" in problem.message


def test_reverse_scoring_only_on_scored_disclosure() -> None:
    count = COUNT + "    reverse_scored: true\n"
    problem = the_problem(mini(EXPORTS, POLICY, count))
    assert (problem.question_id, problem.path) == ("Q3", "reverse_scored")


def test_disclosure_guidance_must_cover_the_levels() -> None:
    policy = POLICY.replace(', "no": None of it.', "")
    problem = the_problem(mini(EXPORTS, policy, COUNT))
    assert (problem.question_id, problem.path) == ("Q2", "guidance.no")
    policy = POLICY.replace(
        '{full: All of it., partial: Some of it., "no": None of it.}', "{note: Just answer.}"
    )
    located = {(p.question_id, p.path) for p in problems_of(mini(EXPORTS, policy, COUNT))}
    assert {("Q2", "guidance.full"), ("Q2", "guidance.partial"), ("Q2", "guidance.no")} <= located


def test_sections_must_not_interleave() -> None:
    problems = problems_of(mini(COUNT, EXPORTS, POLICY.replace("show_if", "# show_if")))
    assert {(p.question_id, p.path) for p in problems} == {("Q1", "section"), ("Q2", "section")}


def test_unused_theme_and_section_are_reported() -> None:
    problems = problems_of(mini(EXPORTS, POLICY))
    assert {(p.question_id, p.path) for p in problems} == {(None, "sections[1].id")}
    problems = problems_of(mini(EXPORTS, COUNT))
    assert {(p.question_id, p.path) for p in problems} == {(None, "themes[0].id")}


def test_indicator_cannot_span_themes() -> None:
    count = COUNT + "    indicator: Q2\n"
    problem = the_problem(mini(EXPORTS, POLICY, count))
    assert (problem.question_id, problem.path) == ("Q3", "indicator")


def test_every_problem_is_reported_at_once() -> None:
    text = mini(
        EXPORTS.replace('{id: "no", label: "No"}', '{id: "yes", label: "Again"}'),
        POLICY.replace('{question: Q1, equals: "yes"}', "{question: Q8, equals: full}"),
        COUNT.replace("theme: context", "theme: nowhere").replace("type: number", "type: numbr"),
    ).replace("version: 1.0.0", "version: one")
    problems = problems_of(text)
    located = {(p.question_id, p.path) for p in problems}
    assert {
        (None, "version"),
        ("Q1", "answer_type.options[1].id"),
        ("Q2", "show_if.question"),
        ("Q3", "theme"),
        ("Q3", "answer_type"),
    } <= located
    lines = [p.line for p in problems]
    assert lines == sorted(lines)
    message = str(QuestionnaireError(problems))
    assert message.startswith(f"{len(problems)} problems in questionnaire")


def test_top_level_must_be_a_mapping() -> None:
    problem = the_problem("- just\n- a list\n")
    assert "must be a mapping" in problem.message


def test_parsed_data_without_yaml_has_locations_not_lines() -> None:
    import yaml

    data = yaml.safe_load(
        VALID_MINI.replace("theme: context\n    text: How many", "theme: gone\n    text: How many")
    )
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(data, source_name="upload")
    problem = caught.value.problems[0]
    assert problem.line is None
    assert (problem.question_id, problem.location) == ("Q3", "questions[2].theme")
    assert str(problem).startswith("upload at questions[2].theme: question Q3: theme:")


def test_model_validation_alone_enforces_consistency() -> None:
    questionnaire = parse_questionnaire(VALID_MINI, "mini.yaml")
    data = questionnaire.model_dump(by_alias=True)
    data["questions"][1]["show_if"] = {"question": "Q3", "gt": 1}
    with pytest.raises(ValueError, match="later question 'Q3'"):
        Questionnaire.model_validate(data)


def test_file_and_folder_loading(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(VALID_MINI, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a questionnaire", encoding="utf-8")
    assert load_questionnaire_file(tmp_path / "good.yaml").key == "mini"
    newer = VALID_MINI.replace("version: 1.0.0", "version: 1.10.0")
    older = VALID_MINI.replace("version: 1.0.0", "version: 1.2.0")
    (tmp_path / "newer.yml").write_text(newer, encoding="utf-8")
    (tmp_path / "older.yaml").write_text(older, encoding="utf-8")
    loaded = load_questionnaire_dir(tmp_path)
    assert [q.version for q in loaded] == ["1.0.0", "1.2.0", "1.10.0"]


def test_folder_problems_are_gathered_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID_MINI, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(VALID_MINI, encoding="utf-8")
    (tmp_path / "c.yaml").write_text(HEADER + "  - [broken\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire_dir(tmp_path)
    sources = {Path(problem.source).name for problem in caught.value.problems}
    assert sources == {"b.yaml", "c.yaml"}
    duplicate = next(p for p in caught.value.problems if p.source.endswith("b.yaml"))
    assert "also defined in" in duplicate.message


def test_unreadable_file_is_a_questionnaire_error(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("title: caf\xe9".encode("latin-1"))
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire_file(tmp_path / "latin1.yaml")
    assert "cannot read" in caught.value.problems[0].message
    with pytest.raises(QuestionnaireError):
        load_questionnaire_dir(tmp_path / "missing")
