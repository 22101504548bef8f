"""Request and response models of the assessments API.

Answer payloads travel as plain JSON objects and are validated against their question by
`hrdd.questionnaires.answers.parse_answer`, so every problem is reported with the question id
(`answers.EU4.level`) instead of pydantic's union-member paths. The payload shapes are the
discriminated union `hrdd.questionnaires.answers.AnswerPayload`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hrdd.errors import json_kind
from hrdd.questionnaires.answers import PAYLOAD_SCHEMA_REF
from hrdd.questionnaires.schemas import (
    QUESTION_ID_PATTERN,
    QUESTIONNAIRE_KEY_PATTERN,
    SEMVER_PATTERN,
)
from hrdd.vocab import AssessmentStatus

EXPORT_FORMAT = "hrdd-assessment-answers/1"
_QUESTION_ID = re.compile(QUESTION_ID_PATTERN)
MAX_BATCH = 500

QuestionIdKey = Annotated[str, StringConstraints(pattern=QUESTION_ID_PATTERN)]
# Taken as it comes and parsed against its question (see above), so that even an answer that
# is not an object (a list, a string) is told what its question takes; documented as the
# payload union.
RawPayload = Annotated[Any, WithJsonSchema(PAYLOAD_SCHEMA_REF)]
ANSWER_EXAMPLE = '{"EU4": {"type": "disclosure", "level": "full"}}'


def _not_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError(
            "answer_null",
            "an import sets answers and deletes none: leave the question out to keep its "
            "answer, or delete it with PATCH .../answers and null",
        )
    return value


# An imported answer: null deletes nothing there (PATCH deletes).
ImportedPayload = Annotated[RawPayload, BeforeValidator(_not_null)]


def _body_object(data: Any, what: str) -> Any:
    """A body that is not a JSON object, told what it must be (pydantic says only "a valid
    dictionary or object to extract fields from")."""
    if not isinstance(data, Mapping):
        raise PydanticCustomError(
            "body_not_object",
            "the body must be a JSON object {what}, not {kind}",
            {"what": what, "kind": json_kind(data)},
        )
    return data


def _answers_object(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise PydanticCustomError(
            "answers_not_object",
            '"answers" must be a JSON object of answers by question id, e.g. '
            '{"answers": {example}}, not {kind}',
            {"example": ANSWER_EXAMPLE, "kind": json_kind(value)},
        )
    return value


class _AnswersAtTheTop:
    """Stands for the answers of a body that sent them without "answers" around them."""

    def __init__(self, question_ids: list[str]) -> None:
        self.question_ids = question_ids


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_id: uuid.UUID
    questionnaire_key: (
        Annotated[str, StringConstraints(pattern=QUESTIONNAIRE_KEY_PATTERN)] | None
    ) = Field(
        default=None,
        description="Which questionnaire; may be left out while there is only one (a 422 "
        "names them when there are several)",
    )
    version: Annotated[str, StringConstraints(pattern=SEMVER_PATTERN)] | None = Field(
        default=None, description="Questionnaire version; default the latest release"
    )


class AnswerBatch(BaseModel):
    """Several answers at once, all or nothing. `null` deletes that question's answer."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[QuestionIdKey, RawPayload | None] = Field(max_length=MAX_BATCH)

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        data = _body_object(
            data, f'with the answers under "answers": {{"answers": {ANSWER_EXAMPLE}}}'
        )
        # Answers sent at the top of the body are one mistake, said at `answers`, rather than
        # "answers" missing and each question id an unknown field.
        question_ids = [key for key in data if isinstance(key, str) and _QUESTION_ID.match(key)]
        if "answers" not in data and question_ids:
            return {"answers": _AnswersAtTheTop(question_ids)}
        return data

    @field_validator("answers", mode="before")
    @classmethod
    def _answers(cls, value: Any) -> Any:
        if isinstance(value, _AnswersAtTheTop):
            shown = ", ".join(value.question_ids[:3]) + (
                ", ..." if len(value.question_ids) > 3 else ""
            )
            raise PydanticCustomError(
                "answers_at_the_top",
                '"answers" is missing: the answers go under "answers", as {"answers": {"{first}": '
                '{"type": ...}}}, not at the top of the body ({shown})',
                {"first": value.question_ids[0], "shown": shown},
            )
        return _answers_object(value)


class AnswersDocument(BaseModel):
    """An assessment's answers as exported, and as imported (all or nothing). Questions the
    document leaves out keep their current answers."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(default=EXPORT_FORMAT, pattern=f"^{EXPORT_FORMAT}$")
    questionnaire_key: Annotated[str, StringConstraints(pattern=QUESTIONNAIRE_KEY_PATTERN)]
    questionnaire_version: Annotated[str, StringConstraints(pattern=SEMVER_PATTERN)]
    answers: dict[QuestionIdKey, ImportedPayload] = Field(max_length=MAX_BATCH)
    # Where an export came from: an export imports unchanged, and these are not applied.
    assessment_id: uuid.UUID | None = Field(
        default=None, description="Export only: the assessment exported (ignored on import)"
    )
    company_id: uuid.UUID | None = Field(
        default=None,
        description="Its company; an import into an assessment of another company is refused "
        "(422) unless this is left out",
    )
    company_name: str | None = Field(
        default=None, max_length=300, description="Export only (ignored on import)"
    )

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        return _body_object(data, 'in the export format, with the answers under "answers"')

    @field_validator("answers", mode="before")
    @classmethod
    def _answers(cls, value: Any) -> Any:
        return _answers_object(value)

    status: AssessmentStatus | None = Field(
        default=None, description="Export only: its status then (ignored on import)"
    )
    exported_at: datetime | None = Field(
        default=None, description="Export only: when it was exported (ignored on import)"
    )


class ExportedAnswers(AnswersDocument):
    assessment_id: uuid.UUID
    company_id: uuid.UUID
    company_name: str
    status: AssessmentStatus
    exported_at: datetime


class ReviewDecision(StrEnum):
    approve = "approve"
    return_ = "return"


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None = (
        Field(default=None, description="Required when returning: what needs to change")
    )


class QuestionnaireRef(BaseModel):
    id: uuid.UUID
    key: str
    version: str
    title: str


class AnswerOut(BaseModel):
    question_id: str
    payload: dict[str, Any]
    excluded: bool = Field(
        description="True when the question is hidden by later answers: the answer is kept "
        "but counts nowhere (progress, submission, scoring)"
    )
    updated_by: str
    updated_at: datetime


class ProgressOut(BaseModel):
    answered: int = Field(description="Visible questions with an answer")
    visible: int
    required: int = Field(description="Visible required questions")
    required_answered: int
    missing_required: list[str]


class ValidationProblem(BaseModel):
    path: str = Field(examples=["answers.EU4.evidence"])
    question_id: str
    code: str
    message: str


class ValidationState(BaseModel):
    ready_to_submit: bool
    problems: list[ValidationProblem] = Field(
        description="What a submit would refuse now: missing required answers, missing "
        "required evidence, answers no longer valid"
    )


class AssessmentSummary(BaseModel):
    id: uuid.UUID
    company_id: uuid.UUID
    company_name: str
    questionnaire: QuestionnaireRef
    status: AssessmentStatus
    version: int
    previous_assessment_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    reviewed_at: datetime | None


class AssessmentOut(AssessmentSummary):
    next_assessment_id: uuid.UUID | None = Field(
        description="The assessment that reopened this one, if any"
    )
    submitted_by: str | None
    reviewed_by: str | None
    review_comment: str | None
    answers: dict[str, AnswerOut]
    visible_question_ids: list[str] = Field(description="In questionnaire order")
    excluded_question_ids: list[str] = Field(
        description="Answered questions that are hidden now; their answers are kept"
    )
    progress: ProgressOut
    validation: ValidationState


class AssessmentList(BaseModel):
    items: list[AssessmentSummary]
    next_cursor: str | None = None


class FileOut(BaseModel):
    id: uuid.UUID = Field(description="Use as `file_id` in an answer's evidence")
    assessment_id: uuid.UUID
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class ImportResult(BaseModel):
    assessment_id: uuid.UUID
    imported: list[str] = Field(
        description="Question ids whose answers the import set or changed; an answer given "
        "again as it is stored is not listed (nor recorded in the history)"
    )
    removed: list[str] = Field(
        default_factory=list,
        description="Question ids whose answers were deleted (XLSX rows marked `remove`); an "
        "answer that was not there is not listed",
    )
    version: int
