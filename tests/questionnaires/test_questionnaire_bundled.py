"""The bundled STAP questionnaire loads and has the promised shape."""

from __future__ import annotations

import json

import pytest
from questionnaire_samples import BUNDLED_FILE

from hrdd.questionnaires.answers import (
    NumberAnswer,
    SingleChoiceAnswer,
    visible_questions,
)
from hrdd.questionnaires.loader import (
    load_questionnaire_dir,
    load_questionnaire_file,
    parse_questionnaire,
)
from hrdd.questionnaires.schemas import (
    INFERRED_SOURCE,
    DisclosureAnswerType,
    Questionnaire,
    SingleChoiceAnswerType,
    condition_question_ids,
)
from hrdd.vocab import DisclosureLevel, TechnologyCategory

SECTION_IDS = [
    "exposure",
    "policy",
    "governance",
    "due_diligence",
    "end_user_controls",
    "design_safeguards",
    "contracts",
    "transparency",
    "grievance_remedy",
    "allegation_response",
    "investor_position",
]
SCORED_THEMES = {
    "policy",
    "governance",
    "due_diligence",
    "end_user_controls",
    "design_safeguards",
    "contracts",
    "transparency",
    "grievance_remedy",
    "allegation_response",
}
CONTEXT_THEMES = {"exposure", "investor_position"}
# Items the basis marks "(inferred)": they must say so.
INFERRED_IN_BASIS = ["EX2", "P3", "G3", "T3", "IN5", "IN6"]
SOURCES_IN_BRIEF = {
    "stap-2022",
    "us-state-2020",
    "rdr-indicators",
    "un-sr-2019",
    "oecd-2023",
    "ungp-19",
    "shadows-2021",
}


@pytest.fixture(scope="module")
def stap() -> Questionnaire:
    return load_questionnaire_file(BUNDLED_FILE)


def test_identity_and_sources(stap: Questionnaire) -> None:
    assert stap.key == "stap-surveillance"
    assert stap.version == "1.0.0"
    assert {source.id for source in stap.source_basis} == SOURCES_IN_BRIEF
    dated = {source.id: source.date for source in stap.source_basis}
    assert dated["stap-2022"].startswith("2022-03")
    assert dated["us-state-2020"] == "2020-09-30"
    assert dated["shadows-2021"] == "2021-05"
    assert next(s for s in stap.source_basis if s.id == "un-sr-2019").reference == "A/HRC/41/35"


def test_sections_and_themes(stap: Questionnaire) -> None:
    assert [section.id for section in stap.sections] == SECTION_IDS
    assert {theme.id for theme in stap.themes if theme.scored} == SCORED_THEMES
    assert {theme.id for theme in stap.themes if not theme.scored} == CONTEXT_THEMES
    for section_id in SECTION_IDS:
        assert any(question.section == section_id for question in stap.questions), section_id


def test_question_count_and_unique_ids(stap: Questionnaire) -> None:
    ids = stap.question_ids
    assert 40 <= len(ids) <= 60
    assert len(set(ids)) == len(ids)


def test_every_scored_theme_has_scored_questions(stap: Questionnaire) -> None:
    scored_by_theme = {theme: 0 for theme in SCORED_THEMES}
    for question in stap.questions:
        if stap.is_scored(question):
            scored_by_theme[question.theme] += 1
    assert all(count > 0 for count in scored_by_theme.values()), scored_by_theme
    assert not any(stap.is_scored(q) for q in stap.questions if q.theme in CONTEXT_THEMES)


def test_scored_choices_carry_points_and_context_choices_do_not(stap: Questionnaire) -> None:
    for question in stap.questions:
        points = [option.points for option in question.options]
        if stap.is_scored(question) and isinstance(question.answer_type, SingleChoiceAnswerType):
            assert all(p is not None and 0 <= p <= 100 for p in points), question.id
        else:
            assert all(p is None for p in points), question.id


def test_disclosure_guidance_says_what_counts(stap: Questionnaire) -> None:
    for question in stap.questions:
        guidance = question.guidance
        if isinstance(question.answer_type, DisclosureAnswerType):
            assert guidance.full and guidance.no, question.id
            assert bool(guidance.partial) == question.answer_type.allow_partial, question.id
        else:
            assert guidance.note, question.id


def test_inferred_items_are_marked(stap: Questionnaire) -> None:
    for question_id in INFERRED_IN_BASIS:
        assert INFERRED_SOURCE in stap.question(question_id).source_basis, question_id
    assert INFERRED_SOURCE not in stap.question("P1").source_basis
    for question in stap.questions:
        named = [ref for ref in question.source_basis if ref != INFERRED_SOURCE]
        assert named, f"{question.id} cites no guidance document"


def test_technology_options_match_the_shared_vocabulary(stap: Questionnaire) -> None:
    assert stap.question("EX1").option_ids == [category.value for category in TechnologyCategory]


def test_reverse_scored_items(stap: Questionnaire) -> None:
    reverse = {question.id for question in stap.questions if question.reverse_scored}
    assert reverse == {"EU4", "R4"}
    assert stap.question("EU4").prefill_from_evidence


def test_export_questions_depend_on_the_gate(stap: Questionnaire) -> None:
    gated = {
        question.id
        for question in stap.questions
        if question.show_if is not None and "EX5" in condition_question_ids(question.show_if)
    }
    assert {"DD7", "EU3", "EU3a", "EU6"} <= gated
    no_exports = {"EX5": SingleChoiceAnswer(type="single_choice", value="no")}
    exports = {"EX5": SingleChoiceAnswer(type="single_choice", value="yes")}
    assert not gated & visible_questions(stap, no_exports)
    assert gated <= visible_questions(stap, exports)


def test_allegation_follow_ups_need_allegations(stap: Questionnaire) -> None:
    none_found = {"R1": NumberAnswer(type="number", value=0)}
    some_found = {"R1": NumberAnswer(type="number", value=3)}
    assert {"R2", "R3"}.isdisjoint(visible_questions(stap, none_found))
    assert {"R2", "R3"} <= visible_questions(stap, some_found)
    assert "R4" in visible_questions(stap, none_found)


def test_licence_revocation_date_needs_a_revocation(stap: Questionnaire) -> None:
    answers = {
        "EX5": SingleChoiceAnswer(type="single_choice", value="yes"),
        "EU3a": SingleChoiceAnswer(type="single_choice", value="yes"),
    }
    assert "EU3b" in visible_questions(stap, answers)
    answers["EX5"] = SingleChoiceAnswer(type="single_choice", value="no")
    assert "EU3b" not in visible_questions(stap, answers)


def test_round_trip_through_json_keeps_content(stap: Questionnaire) -> None:
    dumped = json.dumps(stap.model_dump(mode="json", by_alias=True))
    again = parse_questionnaire(dumped, source_name="round-trip.json")
    assert again == stap
    assert again.digest() == stap.digest()
    assert Questionnaire.model_validate(json.loads(dumped)).digest() == stap.digest()


def test_digest_changes_with_content(stap: Questionnaire) -> None:
    data = stap.model_dump(mode="json", by_alias=True)
    data["questions"][0]["text"] = "A different wording?"
    assert parse_questionnaire(data, source_name="edited").digest() != stap.digest()


def test_folder_loader_finds_the_bundled_file() -> None:
    loaded = load_questionnaire_dir(BUNDLED_FILE.parent)
    assert [(q.key, q.version) for q in loaded] == [("stap-surveillance", "1.0.0")]


def test_not_applicable_is_barred_where_it_never_applies(stap: Questionnaire) -> None:
    for question_id in ("P1", "EU4", "R4"):
        answer_type = stap.question(question_id).answer_type
        assert isinstance(answer_type, DisclosureAnswerType)
        assert DisclosureLevel.not_applicable not in answer_type.allowed_levels
