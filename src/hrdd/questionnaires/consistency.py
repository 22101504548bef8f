"""Whole-document rules of a questionnaire, checked on plain data.

These are the rules a single field cannot check: unique ids, references to declared themes,
sections and sources, section order, indicators, option points on scored questions, guidance
that fits the answer type, and conditions that look back at an earlier question with operands
that fit it. They run on the raw document (dicts and lists, as parsed from YAML or JSON) so that
the loader can report them together with the field errors of a document that is otherwise
broken; anything malformed is skipped here because field validation reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hrdd.dates import is_iso_date_text
from hrdd.questionnaires.schemas import (
    COMPARISON_OPERATORS,
    INFERRED_SOURCE,
    LIST_OPERATORS,
    OPERATORS_BY_ANSWER_TYPE,
    SCORABLE_ANSWER_TYPES,
)
from hrdd.vocab import DisclosureLevel

Path = tuple[str | int, ...]
CONDITION_OPERATORS = ("equals", *LIST_OPERATORS, *COMPARISON_OPERATORS)
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice"})


@dataclass(frozen=True)
class ConsistencyProblem:
    path: Path
    message: str


def format_path(path: Path) -> str:
    """`("questions", 3, "show_if", "in", 0)` -> `questions[3].show_if.in[0]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class _Checker:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.problems: list[ConsistencyProblem] = []
        self.questions = [_as_dict(item) for item in _as_list(document.get("questions"))]
        self.themes = self._index("themes", "theme")
        self.sections = self._index("sections", "section")
        self.sources = self._index("source_basis", "source document")
        self.question_index = self._index("questions", "question")

    def add(self, path: Path, message: str) -> None:
        self.problems.append(ConsistencyProblem(path, message))

    def _index(self, collection: str, noun: str) -> dict[str, int]:
        """Map id -> position of its first occurrence, reporting duplicates."""
        first_seen: dict[str, int] = {}
        for position, item in enumerate(_as_list(self.document.get(collection))):
            item_id = _as_dict(item).get("id")
            if not isinstance(item_id, str):
                continue
            if item_id in first_seen:
                self.add(
                    (collection, position, "id"),
                    f"duplicate {noun} id '{item_id}' (first used at "
                    f"{collection}[{first_seen[item_id]}])",
                )
            else:
                first_seen[item_id] = position
        return first_seen

    def theme_is_scored(self, theme_id: Any) -> bool:
        if not isinstance(theme_id, str) or theme_id not in self.themes:
            return False
        theme = _as_dict(_as_list(self.document.get("themes"))[self.themes[theme_id]])
        return theme.get("scored") is True

    # --- the checks ---------------------------------------------------------------------

    def run(self) -> list[ConsistencyProblem]:
        if INFERRED_SOURCE in self.sources:
            self.add(
                ("source_basis", self.sources[INFERRED_SOURCE], "id"),
                f"'{INFERRED_SOURCE}' is reserved for questions that extend the guidance",
            )
        indicator_themes: dict[str, tuple[str, str]] = {}
        last_section_position = -1
        for position, question in enumerate(self.questions):
            path: Path = ("questions", position)
            last_section_position = self.check_section(question, path, last_section_position)
            self.check_theme(question, path)
            self.check_sources(question, path)
            self.check_options(question, path)
            self.check_scoring(question, path)
            self.check_guidance(question, path)
            self.check_indicator(question, path, indicator_themes)
            if question.get("show_if") is not None:
                self.check_condition(question["show_if"], (*path, "show_if"), position)
        self.check_coverage()
        return self.problems

    def check_section(self, question: Mapping[str, Any], path: Path, last_position: int) -> int:
        section_id = question.get("section")
        if not isinstance(section_id, str):
            return last_position
        if section_id not in self.sections:
            self.add(
                (*path, "section"),
                f"unknown section '{section_id}'; declared sections: {sorted(self.sections)}",
            )
            return last_position
        position = self.sections[section_id]
        if position < last_position:
            self.add(
                (*path, "section"),
                f"question of section '{section_id}' comes after questions of a later section; "
                "keep each section's questions together, in the order of `sections`",
            )
            return last_position
        return position

    def check_theme(self, question: Mapping[str, Any], path: Path) -> None:
        theme_id = question.get("theme")
        if isinstance(theme_id, str) and theme_id not in self.themes:
            self.add(
                (*path, "theme"),
                f"unknown theme '{theme_id}'; declared themes: {sorted(self.themes)}",
            )

    def check_sources(self, question: Mapping[str, Any], path: Path) -> None:
        seen: set[str] = set()
        for position, source_id in enumerate(_as_list(question.get("source_basis"))):
            if not isinstance(source_id, str):
                continue
            if source_id in seen:
                self.add((*path, "source_basis", position), f"source '{source_id}' listed twice")
            seen.add(source_id)
            if source_id != INFERRED_SOURCE and source_id not in self.sources:
                self.add(
                    (*path, "source_basis", position),
                    f"unknown source '{source_id}'; declare it in the top-level source_basis "
                    f"or write '{INFERRED_SOURCE}'",
                )

    def check_options(self, question: Mapping[str, Any], path: Path) -> None:
        answer_type = _as_dict(question.get("answer_type"))
        seen: dict[str, int] = {}
        for position, option in enumerate(_as_list(answer_type.get("options"))):
            option_id = _as_dict(option).get("id")
            if not isinstance(option_id, str):
                continue
            if option_id in seen:
                self.add(
                    (*path, "answer_type", "options", position, "id"),
                    f"duplicate option id '{option_id}' (first used at options[{seen[option_id]}])",
                )
            else:
                seen[option_id] = position

    def check_scoring(self, question: Mapping[str, Any], path: Path) -> None:
        answer_type = _as_dict(question.get("answer_type"))
        kind = answer_type.get("type")
        theme_scored = self.theme_is_scored(question.get("theme"))
        scored = theme_scored and kind in SCORABLE_ANSWER_TYPES
        if kind in CHOICE_TYPES:
            for position, option in enumerate(_as_list(answer_type.get("options"))):
                has_points = _as_dict(option).get("points") is not None
                option_path = (*path, "answer_type", "options", position, "points")
                if scored and not has_points:
                    self.add(
                        option_path,
                        f"required: the question is scored (theme '{question.get('theme')}' is "
                        "scored), so every option needs points 0..100",
                    )
                elif not scored and has_points:
                    reason = (
                        "multiple-choice questions are never scored"
                        if kind == "multiple_choice"
                        else f"theme '{question.get('theme')}' is not scored"
                    )
                    self.add(option_path, f"points given but the question is not scored: {reason}")
        if question.get("reverse_scored") is True and not (scored and kind == "disclosure"):
            self.add(
                (*path, "reverse_scored"),
                "only a scored disclosure question can be reverse-scored "
                "(single-choice options carry their own points)",
            )

    def check_guidance(self, question: Mapping[str, Any], path: Path) -> None:
        guidance = question.get("guidance")
        answer_type = _as_dict(question.get("answer_type"))
        kind = answer_type.get("type")
        if not isinstance(guidance, Mapping) or not isinstance(kind, str):
            return
        guidance_path = (*path, "guidance")
        given = {key for key in ("full", "partial", "no", "note") if guidance.get(key)}
        if kind == "disclosure":
            partial_allowed = answer_type.get("allow_partial", True) is not False
            needed = {"full", "no"} | ({"partial"} if partial_allowed else set())
            for level in sorted(needed - given):
                self.add(
                    (*guidance_path, level),
                    f"required: say what counts as '{level}' for this disclosure question",
                )
            if not partial_allowed and "partial" in given:
                self.add(
                    (*guidance_path, "partial"),
                    "partial answers are not allowed (allow_partial is false), so give no "
                    "partial guidance",
                )
        else:
            if "note" not in given:
                self.add((*guidance_path, "note"), f"required: a note for this {kind} question")
            for level in sorted(given & {"full", "partial", "no"}):
                self.add(
                    (*guidance_path, level),
                    f"'{level}' guidance is only for disclosure questions; use 'note'",
                )

    def check_indicator(
        self,
        question: Mapping[str, Any],
        path: Path,
        indicator_themes: dict[str, tuple[str, str]],
    ) -> None:
        question_id, theme_id = question.get("id"), question.get("theme")
        indicator = question.get("indicator") or question_id
        if (
            not isinstance(indicator, str)
            or theme_id not in self.themes
            or self.question_index.get(question_id) != path[1]
        ):
            return  # unknown themes and duplicate ids are reported already
        if indicator not in indicator_themes:
            indicator_themes[indicator] = (theme_id, str(question_id))
            return
        first_theme, first_question = indicator_themes[indicator]
        if first_theme != theme_id:
            field = "indicator" if question.get("indicator") else "id"
            self.add(
                (*path, field),
                f"indicator '{indicator}' is in theme '{first_theme}' (question "
                f"{first_question}) but this question is in theme '{theme_id}'; an indicator "
                "belongs to one theme",
            )

    def check_coverage(self) -> None:
        used_sections = {q.get("section") for q in self.questions}
        used_themes = {q.get("theme") for q in self.questions}
        # A question whose answer type is malformed might be scorable once fixed: field
        # validation reports it, so do not also call its theme empty.
        scored_themes = {
            q.get("theme")
            for q in self.questions
            if _as_dict(q.get("answer_type")).get("type") in SCORABLE_ANSWER_TYPES
            or _as_dict(q.get("answer_type")).get("type") not in OPERATORS_BY_ANSWER_TYPE
        }
        for section_id, position in self.sections.items():
            if section_id not in used_sections:
                self.add(("sections", position, "id"), f"section '{section_id}' has no questions")
        for theme_id, position in self.themes.items():
            if theme_id not in used_themes:
                self.add(("themes", position, "id"), f"theme '{theme_id}' has no questions")
            elif self.theme_is_scored(theme_id) and theme_id not in scored_themes:
                self.add(
                    ("themes", position, "scored"),
                    f"theme '{theme_id}' is scored but has no disclosure or single-choice "
                    "question to score",
                )

    # --- conditions ---------------------------------------------------------------------

    def check_condition(self, condition: Any, path: Path, own_position: int) -> None:
        condition = _as_dict(condition)
        for combinator in ("any_of", "all_of"):
            if combinator in condition:
                for position, child in enumerate(_as_list(condition[combinator])):
                    self.check_condition(child, (*path, combinator, position), own_position)
                return
        referenced = condition.get("question")
        if not isinstance(referenced, str):
            return
        referenced_position = self.question_index.get(referenced)
        if referenced_position is None:
            self.add((*path, "question"), f"refers to unknown question '{referenced}'")
            return
        if referenced_position == own_position:
            self.add((*path, "question"), "a question cannot depend on its own answer")
            return
        if referenced_position > own_position:
            self.add(
                (*path, "question"),
                f"refers to later question '{referenced}'; a condition may only depend on an "
                "earlier question",
            )
            return
        self.check_operands(condition, path, self.questions[referenced_position])

    def check_operands(
        self, condition: Mapping[str, Any], path: Path, referenced: Mapping[str, Any]
    ) -> None:
        answer_type = _as_dict(referenced.get("answer_type"))
        kind = answer_type.get("type")
        if kind not in OPERATORS_BY_ANSWER_TYPE:
            return
        allowed = OPERATORS_BY_ANSWER_TYPE[kind]
        referenced_id = referenced.get("id")
        for operator in CONDITION_OPERATORS:
            operand = condition.get(operator)
            if operand is None:
                continue
            if operator not in allowed:
                hint = f"use one of {sorted(allowed)}" if allowed else "conditions cannot use it"
                self.add(
                    (*path, operator),
                    f"operator '{operator}' does not fit {kind} question '{referenced_id}'; {hint}",
                )
                continue
            if operator in LIST_OPERATORS:
                for position, item in enumerate(_as_list(operand)):
                    item_path = (*path, operator, position)
                    self.check_operand(item, item_path, kind, answer_type, referenced_id)
            else:
                self.check_operand(operand, (*path, operator), kind, answer_type, referenced_id)

    def check_operand(
        self,
        operand: Any,
        path: Path,
        kind: str,
        answer_type: Mapping[str, Any],
        referenced_id: Any,
    ) -> None:
        problem: str | None = None
        if kind == "disclosure":
            problem = _disclosure_operand_problem(operand, answer_type)
        elif kind in CHOICE_TYPES:
            option_ids = [_as_dict(o).get("id") for o in _as_list(answer_type.get("options"))]
            if operand not in option_ids:
                problem = f"'{operand}' is not an option; options: {option_ids}"
        elif kind == "number":
            if isinstance(operand, bool) or not isinstance(operand, int | float):
                problem = f"{operand!r} is not a number"
        elif kind == "date" and not _is_date_operand(operand):
            problem = f"{operand!r} is not a date (YYYY-MM-DD)"
        if problem:
            self.add(path, f"{problem} (question '{referenced_id}' is {kind})")


def _disclosure_operand_problem(operand: Any, answer_type: Mapping[str, Any]) -> str | None:
    levels = [level.value for level in DisclosureLevel]
    if operand not in levels:
        return f"{operand!r} is not a disclosure level; levels: {levels}"
    if operand == DisclosureLevel.partial and answer_type.get("allow_partial") is False:
        return "'partial' can never match: the question does not allow partial answers"
    if (
        operand == DisclosureLevel.not_applicable
        and answer_type.get("allow_not_applicable") is False
    ):
        return "'not_applicable' can never match: the question does not allow it"
    return None


def _is_date_operand(operand: Any) -> bool:
    if isinstance(operand, datetime):
        return False
    if isinstance(operand, date):
        return True
    return isinstance(operand, str) and is_iso_date_text(operand)


def find_consistency_problems(document: Mapping[str, Any]) -> list[ConsistencyProblem]:
    """Every whole-document problem of a questionnaire document, with its path from the root."""
    return _Checker(document).run()
