"""The questionnaire as data: the models a questionnaire file is validated into.

A questionnaire has a `key` and a semantic `version`; it declares the guidance documents it is
based on, the scoring `themes`, the display `sections` and an ordered list of `questions`.
Question order is display order, and conditions (`show_if`) may only look back at earlier
questions, so visibility can be decided in one pass.

Every model forbids unknown fields. The structural rules live on the models; the rules that
need the whole document (unique ids, references to themes, sections, sources and earlier
questions, option points on scored questions) live in `hrdd.questionnaires.consistency` and
run from `Questionnaire`'s validator, so a `Questionnaire` that exists is always consistent.
Use `hrdd.questionnaires.loader.parse_questionnaire` to build one from a file or upload: it
reports every problem at once with the question id and field path.

Scoring: a question is scored when its theme is scored and its answer type is `disclosure` or
`single_choice` (see `Questionnaire.is_scored`), or `number` with a number rule in the rule set
(`hrdd.scoring.service.scored_questions` tells both). Disclosure levels map to points in the
rule set; single-choice options carry their own `points` 0..100. Date, text and
multiple-choice questions, and numbers without a rule, are context for the analyst.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hrdd.dates import IsoDate
from hrdd.vocab import DisclosureLevel, EvidenceType

QUESTION_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,31}$"
SLUG_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
SOURCE_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
QUESTIONNAIRE_KEY_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"
# semver.org 2.0.0, the official regular expression.
SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
PARTIAL_DATE_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"

# A question's source_basis may name this instead of a document: the item is a reasonable
# extension of the guidance, not taken from a published text.
INFERRED_SOURCE = "inferred"
SCORABLE_ANSWER_TYPES = frozenset({"disclosure", "single_choice"})
# Validation context flag: the loader runs the consistency checks itself (with better paths).
SKIP_CONSISTENCY_CONTEXT = "skip_consistency_checks"

QuestionId = Annotated[str, StringConstraints(pattern=QUESTION_ID_PATTERN)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
SourceRef = Annotated[str, StringConstraints(pattern=SOURCE_ID_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def semver_sort_key(version: str) -> tuple[Any, ...]:
    """Sort key giving semver precedence: 1.0.0-rc.1 < 1.0.0 < 1.0.1 < 1.10.0.

    Build metadata (`+...`) is ignored, as semver requires. Raises ValueError for a
    version that is not semver.
    """
    match = re.match(SEMVER_PATTERN, version)
    if match is None:
        raise ValueError(f"'{version}' is not a semantic version (MAJOR.MINOR.PATCH)")
    major, minor, patch, prerelease = (match.group(i) for i in range(1, 5))
    core = (int(major), int(minor), int(patch))
    if prerelease is None:
        return (*core, 1, ())
    identifiers = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in prerelease.split(".")
    )
    return (*core, 0, identifiers)


# --- content metadata --------------------------------------------------------------------


class SourceDocument(StrictModel):
    """A published guidance document the questionnaire is based on."""

    id: SourceRef
    publisher: ShortText
    title: Text
    date: str | None = Field(
        default=None,
        description="Publication date as precise as known: YYYY, YYYY-MM or YYYY-MM-DD.",
    )
    reference: ShortText | None = Field(default=None, description="Document symbol or number.")
    note: Text | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date_as_text(cls, value: Any) -> Any:
        # YAML reads 2022-03-09 as a date and 2019 as an int; both mean the same partial date.
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("date")
    @classmethod
    def _partial_date(cls, value: str | None) -> str | None:
        if value is not None and not re.match(PARTIAL_DATE_PATTERN, value):
            raise ValueError("use YYYY, YYYY-MM or YYYY-MM-DD")
        return value


class Theme(StrictModel):
    """A scoring theme. Scored themes are weighted by the scoring rule set; unscored themes
    (context) are shown to the analyst but never enter the commitment score."""

    id: Slug
    title: ShortText
    scored: bool
    description: Text


class Section(StrictModel):
    """A display group of questions; questions of a section are contiguous, in section order."""

    id: Slug
    title: ShortText
    description: Text


class Guidance(StrictModel):
    """Help for the person answering.

    Disclosure questions say what counts as `full`, `partial` (when partial is allowed) and
    `no`; every other question gives a general `note`. A disclosure question may add a note.
    """

    full: Text | None = None
    partial: Text | None = None
    no: Text | None = None
    note: Text | None = None


# --- answer types ---------------------------------------------------------------------------


class Option(StrictModel):
    """One choice of a single- or multiple-choice question, with a stable id."""

    id: Slug
    label: ShortText
    description: Text | None = None
    points: int | None = Field(
        default=None, ge=0, le=100, description="Required on scored questions, else forbidden."
    )
    reports_absence: bool = Field(
        default=False,
        description="Choosing it reports that something is absent or unknown; no evidence needed.",
    )


class DisclosureAnswerType(StrictModel):
    """Answered with a `hrdd.vocab.DisclosureLevel`: full / partial / no / no_information /
    not_applicable (the last always with a reason). A yes/no question sets allow_partial false."""

    type: Literal["disclosure"]
    allow_partial: bool = True
    allow_not_applicable: bool = True

    @property
    def allowed_levels(self) -> list[DisclosureLevel]:
        return [
            level
            for level in DisclosureLevel
            if (level != DisclosureLevel.partial or self.allow_partial)
            and (level != DisclosureLevel.not_applicable or self.allow_not_applicable)
        ]


class SingleChoiceAnswerType(StrictModel):
    type: Literal["single_choice"]
    options: list[Option] = Field(min_length=2)


class MultipleChoiceAnswerType(StrictModel):
    type: Literal["multiple_choice"]
    options: list[Option] = Field(min_length=2)
    min_selected: int = Field(default=1, ge=0)
    max_selected: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _selection_bounds(self) -> MultipleChoiceAnswerType:
        if self.max_selected is not None and self.max_selected < self.min_selected:
            raise ValueError("max_selected is smaller than min_selected")
        if self.min_selected > len(self.options):
            raise ValueError("min_selected is larger than the number of options")
        return self


class NumberAnswerType(StrictModel):
    type: Literal["number"]
    unit: ShortText
    min: Decimal | None = None
    max: Decimal | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _bounds_ordered(self) -> NumberAnswerType:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is larger than max")
        return self


class DateAnswerType(StrictModel):
    type: Literal["date"]
    min: IsoDate | None = None
    max: IsoDate | None = None

    @model_validator(mode="after")
    def _bounds_ordered(self) -> DateAnswerType:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is later than max")
        return self


class TextAnswerType(StrictModel):
    type: Literal["text"]
    max_length: int = Field(default=2000, ge=1, le=20000)


AnswerType = Annotated[
    DisclosureAnswerType
    | SingleChoiceAnswerType
    | MultipleChoiceAnswerType
    | NumberAnswerType
    | DateAnswerType
    | TextAnswerType,
    Field(discriminator="type"),
]
ChoiceAnswerType = SingleChoiceAnswerType | MultipleChoiceAnswerType


# --- conditions -------------------------------------------------------------------------------

# Operands: an option id or disclosure level (str), a number, or a date (a date or ISO string).
ConditionOperand = str | int | float | date
LIST_OPERATORS = ("in", "not_in")
COMPARISON_OPERATORS = ("gt", "gte", "lt", "lte")
OPERATORS_BY_ANSWER_TYPE: dict[str, frozenset[str]] = {
    "disclosure": frozenset({"equals", "in", "not_in"}),
    "single_choice": frozenset({"equals", "in", "not_in"}),
    # A selection is a set: `in` = at least one of these chosen, `not_in` = none of them.
    "multiple_choice": frozenset({"in", "not_in"}),
    "number": frozenset({"equals", "in", "not_in", *COMPARISON_OPERATORS}),
    "date": frozenset({"equals", "in", "not_in", *COMPARISON_OPERATORS}),
    "text": frozenset(),
}


def _reject_bool(value: Any) -> Any:
    values = value if isinstance(value, list) else [value]
    if any(isinstance(item, bool) for item in values):
        raise ValueError("true/false is not an operand; quote option ids such as 'yes' or 'no'")
    return value


class AnswerCondition(StrictModel):
    """True when the earlier question `question` is visible, answered, and its answer matches.

    Use one of `equals`, `in`, `not_in`, or one or more of `gt`, `gte`, `lt`, `lte` (all must
    hold, so `gte` with `lte` is a range). Which operators fit depends on the referenced
    question's answer type, see OPERATORS_BY_ANSWER_TYPE. An unanswered or hidden question
    never matches, not even `not_in`.
    """

    question: QuestionId
    equals: ConditionOperand | None = None
    in_: list[ConditionOperand] | None = Field(default=None, alias="in", min_length=1)
    not_in: list[ConditionOperand] | None = Field(default=None, min_length=1)
    gt: ConditionOperand | None = None
    gte: ConditionOperand | None = None
    lt: ConditionOperand | None = None
    lte: ConditionOperand | None = None

    _reject_bool_operands = field_validator(
        "equals", "in_", "not_in", "gt", "gte", "lt", "lte", mode="before"
    )(_reject_bool)

    @property
    def operators(self) -> dict[str, Any]:
        """The operators in use, by their file names (`in`, not `in_`)."""
        candidates = {
            "equals": self.equals,
            "in": self.in_,
            "not_in": self.not_in,
            "gt": self.gt,
            "gte": self.gte,
            "lt": self.lt,
            "lte": self.lte,
        }
        return {name: operand for name, operand in candidates.items() if operand is not None}

    @model_validator(mode="after")
    def _one_kind_of_operator(self) -> AnswerCondition:
        used = self.operators
        if not used:
            raise ValueError("give one operator: equals, in, not_in, gt, gte, lt or lte")
        matching = [name for name in used if name not in COMPARISON_OPERATORS]
        if len(matching) > 1 or (matching and len(used) > 1):
            raise ValueError(
                f"operators {sorted(used)} cannot be combined; "
                "use one of equals / in / not_in, or comparisons gt/gte/lt/lte together"
            )
        return self


class AnyOfCondition(StrictModel):
    any_of: list[Condition] = Field(min_length=1)


class AllOfCondition(StrictModel):
    all_of: list[Condition] = Field(min_length=1)


def _condition_kind(value: Any) -> str:
    if isinstance(value, AnyOfCondition) or (isinstance(value, dict) and "any_of" in value):
        return "any-of"
    if isinstance(value, AllOfCondition) or (isinstance(value, dict) and "all_of" in value):
        return "all-of"
    return "answer-condition"


# Tags use hyphens so they never collide with field names in error locations.
Condition = Annotated[
    Annotated[AnswerCondition, Tag("answer-condition")]
    | Annotated[AnyOfCondition, Tag("any-of")]
    | Annotated[AllOfCondition, Tag("all-of")],
    Discriminator(_condition_kind),
]
AnyOfCondition.model_rebuild()
AllOfCondition.model_rebuild()


def condition_question_ids(condition: Condition) -> list[str]:
    """Every question id a condition refers to, in order of appearance."""
    if isinstance(condition, AnswerCondition):
        return [condition.question]
    children = condition.any_of if isinstance(condition, AnyOfCondition) else condition.all_of
    return [question_id for child in children for question_id in condition_question_ids(child)]


# --- questions and the questionnaire -------------------------------------------------------


class Question(StrictModel):
    id: QuestionId
    section: Slug
    theme: Slug
    indicator: QuestionId | None = Field(
        default=None, description="Grouping inside the theme; defaults to the question id."
    )
    text: Text
    guidance: Guidance
    answer_type: AnswerType
    required: bool
    evidence_required: bool
    reverse_scored: bool = Field(
        default=False,
        description="Doing the thing is bad (e.g. intimidating researchers): the rule set "
        "inverts the disclosure points.",
    )
    source_basis: list[SourceRef] = Field(min_length=1)
    show_if: Condition | None = None
    prefill_from_evidence: list[EvidenceType] = Field(
        default_factory=list,
        description="Evidence types from the registry that can pre-fill the answer.",
    )

    @property
    def indicator_id(self) -> str:
        return self.indicator or self.id

    @property
    def options(self) -> list[Option]:
        """The options of a choice question; empty for other answer types."""
        if isinstance(self.answer_type, ChoiceAnswerType):
            return list(self.answer_type.options)
        return []

    @property
    def option_ids(self) -> list[str]:
        return [option.id for option in self.options]


class Questionnaire(StrictModel):
    key: Annotated[str, StringConstraints(pattern=QUESTIONNAIRE_KEY_PATTERN)]
    # At most what questionnaire_versions.version holds: PostgreSQL refuses longer values.
    version: Annotated[str, StringConstraints(pattern=SEMVER_PATTERN, max_length=100)]
    title: ShortText
    description: Text
    source_basis: list[SourceDocument] = Field(min_length=1)
    themes: list[Theme] = Field(min_length=1)
    sections: list[Section] = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Questionnaire:
        if info.context and info.context.get(SKIP_CONSISTENCY_CONTEXT):
            return self
        # Imported here: consistency works on plain data and knows nothing of these models.
        from hrdd.questionnaires.consistency import find_consistency_problems, format_path

        problems = find_consistency_problems(self.model_dump(by_alias=True))
        if problems:
            raise ValueError("; ".join(f"{format_path(p.path)}: {p.message}" for p in problems))
        return self

    @cached_property
    def questions_by_id(self) -> dict[str, Question]:
        return {question.id: question for question in self.questions}

    @cached_property
    def question_positions(self) -> dict[str, int]:
        return {question.id: index for index, question in enumerate(self.questions)}

    @property
    def question_ids(self) -> list[str]:
        """Question ids in display (and condition evaluation) order."""
        return [question.id for question in self.questions]

    def has_question(self, question_id: str) -> bool:
        return question_id in self.questions_by_id

    def question(self, question_id: str) -> Question:
        """The question with this id; KeyError naming the id if there is none."""
        try:
            return self.questions_by_id[question_id]
        except KeyError:
            raise KeyError(
                f"questionnaire {self.key} {self.version} has no question '{question_id}'"
            ) from None

    def position(self, question_id: str) -> int:
        """Index of the question in display order."""
        return self.question_positions[question_id]

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(f"questionnaire {self.key} {self.version} has no theme '{theme_id}'")

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(f"questionnaire {self.key} {self.version} has no section '{section_id}'")

    def is_scored(self, question: Question | str) -> bool:
        """True when the question feeds the commitment score (scored theme, scorable type)."""
        if isinstance(question, str):
            question = self.question(question)
        return (
            self.theme(question.theme).scored and question.answer_type.type in SCORABLE_ANSWER_TYPES
        )

    @property
    def scored_theme_ids(self) -> list[str]:
        return [theme.id for theme in self.themes if theme.scored]

    def digest(self) -> str:
        """SHA-256 of the canonical JSON form: equal content gives an equal digest, so a
        published (frozen) version can be checked for silent changes."""
        canonical = json.dumps(
            self.model_dump(mode="json", by_alias=True),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ScoredQuestions:
    """Which questions of a questionnaire move the score under the rules an organisation
    uses, and those rules' label ("default v4"); no label while no rule set is loaded."""

    question_ids: frozenset[str]
    rules_label: str | None
