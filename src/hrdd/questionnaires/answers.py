"""Answers to a questionnaire: the payloads an investor sends, and pure checks on them.

Payloads are a discriminated union on `type`, one kind per answer type of `schemas`:

    {"type": "disclosure", "level": "partial", "comment": "...", "evidence": [...]}
    {"type": "disclosure", "level": "not_applicable", "not_applicable_reason": "..."}
    {"type": "single_choice", "value": "engages"}
    {"type": "multiple_choice", "values": ["spyware_intrusion", "interception"]}
    {"type": "number", "value": "12", "unit": "percent"}
    {"type": "date", "value": "2016-04-01"}
    {"type": "text", "value": "..."}

Every payload may carry a `comment` and `evidence` (a list of `EvidenceRef`).

Decisions worth knowing:
- Not applicable exists only on disclosure questions (level `not_applicable`), and always needs
  `not_applicable_reason`. Other answer types have no N/A: a question that may not apply is
  made conditional (`show_if`) or optional, and a choice question that may be unknowable offers
  an option for that. This keeps scoring unambiguous: only disclosure answers are excluded
  from averages.
- Evidence missing on an `evidence_required` question never blocks a save; it is a submit-time
  problem (`missing_evidence`, `submission_problems`). Answers that report an absence need no
  evidence, since absence cannot be cited: disclosure `no`, `no_information` and
  `not_applicable`, the number 0, and options marked `reports_absence`.
- Visibility: questions are evaluated in order and a condition only sees answers to questions
  already found visible. An unanswered or hidden question never matches a condition (not even
  `not_in`), so a question whose condition refers to a hidden question is hidden; inside
  `any_of` another branch may still show it. Answers to hidden questions are kept by the
  caller but excluded from progress and submission.

Everything here is pure: no database, no clock, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from hrdd.dates import (
    DATE_FORMAT_ERROR,
    PastDate,
    PlausibleDate,
    date_text_problem,
    precision_problem,
)
from hrdd.errors import clipped, json_value_words, plain_error_message
from hrdd.questionnaires.schemas import (
    AllOfCondition,
    AnswerCondition,
    AnyOfCondition,
    Condition,
    DateAnswerType,
    DisclosureAnswerType,
    MultipleChoiceAnswerType,
    NumberAnswerType,
    Question,
    Questionnaire,
    SingleChoiceAnswerType,
    TextAnswerType,
)
from hrdd.vocab import AnswerSource, DatePrecision, DisclosureLevel

MAX_URL_LENGTH = 2048
MAX_EVIDENCE_ITEMS = 50
# Hard cap on any text in a payload; a question's own max_length is usually lower.
MAX_PAYLOAD_TEXT = 20000
ABSENCE_LEVELS = frozenset(
    {DisclosureLevel.no, DisclosureLevel.no_information, DisclosureLevel.not_applicable}
)

PayloadText = Annotated[str, StringConstraints(max_length=MAX_PAYLOAD_TEXT)]
ShortPayloadText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
ChoiceValue = Annotated[str, StringConstraints(max_length=100)]


class PayloadModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_PARTIAL_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_PARTIAL_YEAR = re.compile(r"\d{4}")


class EvidenceRef(PayloadModel):
    """A source backing an answer: a web page (http/https `url`), an uploaded file (`file_id`),
    or both. The service stores it and never fetches the URL. `source` says who stands
    behind it: `company` (the company's own pages, reports, statements or replies) or
    `independent` (anyone else); left out, a publisher that is the company's name or an alias,
    or a URL on the company's website, counts as `company`, and a file naming neither a
    publisher nor a URL as unchecked (self-reported under the default rules since v7)."""

    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    publisher: ShortPayloadText | None = None
    source_date: PastDate | None = None
    # A source dated only to the month or year: its first day in source_date, and this says so,
    # so that reports never print a day the source does not give. Left out: a whole date.
    source_date_precision: DatePrecision | None = None
    excerpt: Annotated[str, StringConstraints(max_length=4000)] | None = None
    file_id: UUID | None = None
    source: AnswerSource | None = None

    @model_validator(mode="before")
    @classmethod
    def _partial_date(cls, data: Any) -> Any:
        """A source dated "2019-09" or "2019" (as sources often are) is taken as its first day
        with the precision it is known to, as the XLSX template takes it; reports print no
        finer. A precision given alongside is left for the check below."""
        if not isinstance(data, Mapping) or data.get("source_date_precision") is not None:
            return data
        text = data.get("source_date")
        if not isinstance(text, str):
            return data
        text = text.strip()
        if _PARTIAL_MONTH.fullmatch(text):
            return {**data, "source_date": f"{text}-01", "source_date_precision": "month"}
        if _PARTIAL_YEAR.fullmatch(text):
            return {**data, "source_date": f"{text}-01-01", "source_date_precision": "year"}
        return data

    @model_validator(mode="after")
    def _date_as_precise_as_said(self) -> EvidenceRef:
        if self.source_date_precision is None:
            return self
        if self.source_date is None:
            raise ValueError("source_date_precision needs a source_date")
        problem = precision_problem(self.source_date, self.source_date_precision)
        if problem:
            raise ValueError(f"source_date: {problem}")
        return self

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if any(character.isspace() or ord(character) < 32 for character in url):
            raise ValueError("the URL contains spaces or control characters")
        parts = urlsplit(url)
        if parts.scheme.lower() not in {"http", "https"}:
            raise ValueError("only http and https URLs are accepted")
        if not parts.hostname:
            raise ValueError("the URL has no host")
        return url

    @model_validator(mode="after")
    def _locatable(self) -> EvidenceRef:
        if self.url is None and self.file_id is None:
            raise ValueError("give a url, a file_id of an uploaded file, or both")
        return self


class _AnswerBase(PayloadModel):
    comment: PayloadText | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=MAX_EVIDENCE_ITEMS)


class DisclosureAnswer(_AnswerBase):
    type: Literal["disclosure"]
    level: DisclosureLevel
    not_applicable_reason: PayloadText | None = None


class SingleChoiceAnswer(_AnswerBase):
    type: Literal["single_choice"]
    value: ChoiceValue


class MultipleChoiceAnswer(_AnswerBase):
    type: Literal["multiple_choice"]
    values: list[ChoiceValue] = Field(max_length=200)


class NumberAnswer(_AnswerBase):
    type: Literal["number"]
    # Decimal keeps what was typed (12.5 stays 12.5); NaN and infinity are refused.
    value: Decimal = Field(allow_inf_nan=False, max_digits=30)
    unit: ShortPayloadText | None = None


class DateAnswer(_AnswerBase):
    type: Literal["date"]
    value: PlausibleDate


class TextAnswer(_AnswerBase):
    type: Literal["text"]
    value: PayloadText


AnswerPayload = Annotated[
    DisclosureAnswer
    | SingleChoiceAnswer
    | MultipleChoiceAnswer
    | NumberAnswer
    | DateAnswer
    | TextAnswer,
    Field(discriminator="type"),
]
_PAYLOAD_ADAPTER: TypeAdapter[AnswerPayload] = TypeAdapter(AnswerPayload)
# Payloads reach the API as plain objects, parsed here against their question (so problems
# are named by question and field); the OpenAPI still documents their shape, by this name.
PAYLOAD_SCHEMA_NAME = "AnswerPayload"
PAYLOAD_SCHEMA_REF = {"$ref": f"#/components/schemas/{PAYLOAD_SCHEMA_NAME}"}


def payload_component_schemas() -> dict[str, Any]:
    """The OpenAPI component schemas of an answer payload: the union and its members."""
    schema = _PAYLOAD_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
    members = schema.pop("$defs")
    schema["description"] = (
        "An answer: `type` names the question's answer type, and the other fields are that "
        "type's. Every type takes an optional `comment` and `evidence` (sources: a URL, an "
        "uploaded file's id, or both)."
    )
    schema["examples"] = [
        {
            "type": "disclosure",
            "level": "partial",
            "evidence": [{"url": "https://example.org/policy", "title": "Policy"}],
        },
        {"type": "disclosure", "level": "not_applicable", "not_applicable_reason": "..."},
        {"type": "single_choice", "value": "engages"},
        {"type": "multiple_choice", "values": ["spyware_intrusion"]},
        {"type": "number", "value": "12", "unit": "percent"},
        {"type": "date", "value": "2021-11-03"},
        {"type": "text", "value": "..."},
    ]
    return members | {PAYLOAD_SCHEMA_NAME: schema}


class AnswerErrorCode(StrEnum):
    """One stable code per kind of answer problem (for API clients and tests)."""

    invalid = "invalid"
    unknown_question = "unknown_question"
    hidden_question = "hidden_question"
    type_mismatch = "type_mismatch"
    partial_not_allowed = "partial_not_allowed"
    not_applicable_not_allowed = "not_applicable_not_allowed"
    reason_required = "reason_required"
    reason_not_allowed = "reason_not_allowed"
    not_an_option = "not_an_option"
    duplicate_choice = "duplicate_choice"
    too_few_choices = "too_few_choices"
    too_many_choices = "too_many_choices"
    below_minimum = "below_minimum"
    above_maximum = "above_maximum"
    not_integer = "not_integer"
    unit_mismatch = "unit_mismatch"
    empty = "empty"
    too_long = "too_long"
    required = "required"
    evidence_required = "evidence_required"


class AnswerError(BaseModel):
    """One problem with one answer. `path` is the field inside the answer payload (`value`,
    `values[1]`, `evidence[0].url`; empty for the answer as a whole)."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    path: str
    code: AnswerErrorCode
    message: str


class Progress(BaseModel):
    """Completion of an assessment, counting visible questions only.

    `hidden_answered` lists answers kept for questions a later change hid: they are excluded
    from every count here and from submission.
    """

    model_config = ConfigDict(frozen=True)

    visible: int
    answered: int
    required: int
    required_answered: int
    missing_required: list[str]
    hidden_answered: list[str]


# --- parsing ---------------------------------------------------------------------------------


def parse_answer_payload(data: Any) -> AnswerPayload:
    """Validate raw data (e.g. decoded JSON) into a payload; raises pydantic ValidationError.

    Use `parse_answer` to get `AnswerError`s instead, checked against the question too.
    """
    return _PAYLOAD_ADAPTER.validate_python(data)


def _format_loc(loc: Iterable[int | str], tag: str | None) -> str:
    text = ""
    for part in loc:
        if part == tag and not text:
            continue  # the union member pydantic names first, not a field of the payload
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_answer(
    question: Question, data: Any, *, in_body: bool = False
) -> tuple[AnswerPayload | None, list[AnswerError]]:
    """Validate raw data against the payload models and then against `question`.

    Returns the payload (None if it could not be parsed) and every problem found. A payload
    with problems must not be saved. ``in_body``: the payload is a request's whole body (PUT
    of one answer), not a value under its question id; messages say where it goes.
    """
    if not isinstance(data, Mapping):
        return None, [_not_an_object(question, data, in_body)]
    tag = data.get("type")
    if isinstance(tag, str) and tag in ANSWER_TYPES and tag != question.answer_type.type:
        # Another type's fields would be reported against that type's model: say the one
        # thing wrong.
        return None, [_type_mismatch(question, tag)]
    try:
        payload = parse_answer_payload(data)
    except ValidationError as exc:
        raw = exc.errors(include_url=False)
        # A value field sent under another type's name ("value" on a disclosure answer) is
        # one mistake: said once, where it was sent, rather than also as the field missing.
        misnamed = any(_misnamed_value_field(question, error, tag) for error in raw)
        errors = [
            AnswerError(
                question_id=question.id,
                path=_format_loc(error["loc"], tag if isinstance(tag, str) else None),
                code=AnswerErrorCode.invalid,
                message=_tag_message(question, data, error, in_body)
                or _field_message(question, error, tag)
                or plain_error_message(error),
            )
            for error in raw
            if not (misnamed and _missing_value_field(question, error, tag))
        ]
        return None, errors
    return payload, validate_answer(question, payload)


# The value fields of each answer type, as a message shows how an answer is sent.
_VALUE_FIELDS = {
    "disclosure": '"level": ...',
    "single_choice": '"value": ...',
    "multiple_choice": '"values": [...]',
    "number": '"value": ...',
    "date": '"value": "YYYY-MM-DD"',
    "text": '"value": ...',
}
ANSWER_TYPES = frozenset(_VALUE_FIELDS)


def _takes(question: Question) -> str:
    """'question P3 takes a text answer': the start of every message about an answer's type."""
    return f"question {question.id} takes a {question.answer_type.type} answer"


def _answer_shape(question: Question) -> str:
    """How the question's answer is sent: {"type": "text", "value": ...}."""
    answer_type = question.answer_type.type
    return f'{{"type": "{answer_type}", {_VALUE_FIELDS[answer_type]}}}'


def _type_mismatch(question: Question, given: str) -> AnswerError:
    return AnswerError(
        question_id=question.id,
        path="type",
        code=AnswerErrorCode.type_mismatch,
        message=f"{_takes(question)}, not {given}",
    )


def _tag_message(
    question: Question, data: Any, error: Mapping[str, Any], in_body: bool
) -> str | None:
    """Plain words for pydantic's errors about `type` (the union's tag), which name its
    discriminator and tags: what is wrong, and what the question takes. None for others."""
    if error["type"] == "union_tag_not_found" and isinstance(data, Mapping):
        wrapper = next((key for key, value in data.items() if isinstance(value, Mapping)), None)
        message = f'"type" is missing: {_takes(question)}, sent as {_answer_shape(question)}'
        if wrapper is not None:
            where = "in the body" if in_body else f'under "{question.id}"'
            message += f' directly {where}, not inside "{clipped(str(wrapper))}"'
        return message
    if error["type"] == "union_tag_invalid" and isinstance(data, Mapping):
        given = data.get("type")
        shown = f"'{clipped(given)}'" if isinstance(given, str) else json_value_words(given)
        answer_type = question.answer_type.type
        return f'{shown} is not an answer type; {_takes(question)} (type "{answer_type}")'
    return None


# The fields that hold an answer, whichever its type.
_VALUE_FIELD_NAMES = ("level", "value", "values")
_PAYLOAD_MODELS: dict[str, type[_AnswerBase]] = {
    "disclosure": DisclosureAnswer,
    "single_choice": SingleChoiceAnswer,
    "multiple_choice": MultipleChoiceAnswer,
    "number": NumberAnswer,
    "date": DateAnswer,
    "text": TextAnswer,
}
_DATE_ERRORS = frozenset(
    {
        DATE_FORMAT_ERROR,
        "date_type",
        "date_parsing",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
    }
)


def _value_field(question: Question) -> str:
    return (
        "level"
        if question.answer_type.type == "disclosure"
        else ("values" if question.answer_type.type == "multiple_choice" else "value")
    )


def _value_field_words(question: Question) -> str:
    """What the question's answer is given in: 'a disclosure answer takes "level" (full, no,
    no_information or not_applicable)'."""
    answer_type = question.answer_type
    field = _value_field(question)
    match answer_type:
        case DisclosureAnswerType():
            levels = [
                level.value
                for level in DisclosureLevel
                if (level != DisclosureLevel.partial or answer_type.allow_partial)
                and (level != DisclosureLevel.not_applicable or answer_type.allow_not_applicable)
            ]
            what = ", ".join(levels[:-1]) + f" or {levels[-1]}"
        case MultipleChoiceAnswerType():
            what = f'a list of option ids, e.g. ["{question.option_ids[0]}"]'
        case SingleChoiceAnswerType():
            what = f'one option id, e.g. "{question.option_ids[0]}"'
        case NumberAnswerType():
            what = "a number, e.g. 12.5"
        case DateAnswerType():
            what = 'a date written YYYY-MM-DD, e.g. "2021-12-31"'
        case _:
            what = "the text"
    return f'a {answer_type.type} answer takes "{field}" ({what})'


def _field_loc(error: Mapping[str, Any], tag: Any) -> tuple[Any, ...]:
    """Where in the payload an error is, without the union member pydantic names first."""
    loc = tuple(error["loc"])
    return loc[1:] if loc and loc[0] == tag else loc


def _misnamed_value_field(question: Question, error: Mapping[str, Any], tag: Any) -> bool:
    loc = _field_loc(error, tag)
    return (
        error["type"] == "extra_forbidden"
        and len(loc) == 1
        and loc[0] in _VALUE_FIELD_NAMES
        and loc[0] != _value_field(question)
    )


def _missing_value_field(question: Question, error: Mapping[str, Any], tag: Any) -> bool:
    return error["type"] == "missing" and _field_loc(error, tag) == (_value_field(question),)


def _field_message(question: Question, error: Mapping[str, Any], tag: Any) -> str | None:
    """Plain words for pydantic's errors about an answer's fields, in the question's terms:
    a field of another answer type or none, a missing field, a number or date that does not
    read. None for others (plain_error_message words those)."""
    loc = _field_loc(error, tag)
    kind = error["type"]
    name = loc[-1] if loc else None
    if _misnamed_value_field(question, error, tag):
        return f'{_value_field_words(question)}, not "{name}"'
    if _missing_value_field(question, error, tag):
        return f'"{name}" is missing: {_value_field_words(question)}'
    if kind == "missing" and isinstance(name, str):
        return f'"{name}" is missing'
    if kind == "extra_forbidden" and isinstance(name, str):
        in_evidence = len(loc) > 1 and loc[0] == "evidence"
        model: type[BaseModel] = (
            EvidenceRef if in_evidence else _PAYLOAD_MODELS[question.answer_type.type]
        )
        owner = "a source" if in_evidence else f"a {question.answer_type.type} answer"
        return f'"{clipped(name)}" is not a field of {owner}; it takes {_listed(model)}'
    if kind == "decimal_parsing":
        unit = getattr(question.answer_type, "unit", None)
        return number_text_problem(str(error.get("input", "")), unit)
    if kind == "decimal_type":
        return f'{json_value_words(error.get("input"))} is not a number; write it as 12.5 or "12.5"'
    if kind in _DATE_ERRORS:
        partial = name == "source_date"
        return date_text_problem(error.get("input"), partial=partial)
    return None


def _listed(model: type[BaseModel]) -> str:
    # Its own fields first (type, level...), then those every answer takes (comment, evidence).
    names = sorted(model.model_fields, key=lambda name: name in _AnswerBase.model_fields)
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def number_text_problem(text: str, unit: str | None = None) -> str:
    """Why a text is not a number, and how to write it: "'12,5' is not a number: write it
    with a decimal point, e.g. 12.5". Answers take a decimal point only (a comma could be a
    thousands separator)."""
    shown = f"'{clipped(text)}' is not a number"
    stripped = text.strip()
    if re.fullmatch(r"[+-]?\d{1,3},\d{3}", stripped):
        # A decimal comma or a thousands separator: both readings, the writer knows which.
        whole, fraction = stripped.split(",")
        return (
            f"{shown}: write it with a decimal point and no thousands separator, "
            f"{whole}.{fraction} or {whole}{fraction}"
        )
    if re.fullmatch(r"[+-]?\d+,\d+", stripped):
        return f"{shown}: write it with a decimal point, e.g. {stripped.replace(',', '.')}"
    if re.fullmatch(r"[+-]?[\d.,]*\d[\d.,]*", stripped):
        return f"{shown}: write it with digits and a decimal point only, e.g. 1234.5"
    number = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)\s*(\S.*)", stripped)
    if number:
        words = f"{shown}: write the number alone, e.g. {number.group(1)}"
        return words + (f": the unit ({unit}) is the question's" if unit else "")
    return f"{shown}: write it in digits with a decimal point, e.g. 12.5"


def _not_an_object(question: Question, data: Any, in_body: bool) -> AnswerError:
    where = (
        "the body must be the answer," if in_body else f'the answer under "{question.id}" must be'
    )
    return AnswerError(
        question_id=question.id,
        path="",
        code=AnswerErrorCode.invalid,
        message=f"{where} a JSON object: {_takes(question)}, sent as {_answer_shape(question)}"
        f", not {_json_value_kind(data)}",
    )


def _json_value_kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return json_value_words(value)
    if isinstance(value, int | float):
        return "a number"
    return json_value_words(value)


# --- checks on one answer ---------------------------------------------------------------------


def validate_answer(question: Question, payload: AnswerPayload) -> list[AnswerError]:
    """Save-time problems of one answer: type, options, bounds, N/A reason, lengths.

    Missing evidence is not among them (see `missing_evidence`).
    """
    answer_type = question.answer_type
    if payload.type != answer_type.type:
        return [_type_mismatch(question, payload.type)]
    problems: list[tuple[str, AnswerErrorCode, str]]
    match answer_type, payload:
        case DisclosureAnswerType(), DisclosureAnswer():
            problems = _disclosure_problems(answer_type, payload)
        case SingleChoiceAnswerType(), SingleChoiceAnswer():
            problems = _single_choice_problems(answer_type, payload)
        case MultipleChoiceAnswerType(), MultipleChoiceAnswer():
            problems = _multiple_choice_problems(answer_type, payload)
        case NumberAnswerType(), NumberAnswer():
            problems = _number_problems(answer_type, payload)
        case DateAnswerType(), DateAnswer():
            problems = _date_problems(answer_type, payload)
        case TextAnswerType(), TextAnswer():
            problems = _text_problems(answer_type, payload)
    return [
        AnswerError(question_id=question.id, path=path, code=code, message=message)
        for path, code, message in problems
    ]


def _disclosure_problems(
    answer_type: DisclosureAnswerType, payload: DisclosureAnswer
) -> list[tuple[str, AnswerErrorCode, str]]:
    problems = []
    level = payload.level
    if level == DisclosureLevel.partial and not answer_type.allow_partial:
        problems.append(
            (
                "level",
                AnswerErrorCode.partial_not_allowed,
                "this is a yes/no question: answer full, no or no_information"
                + (", or not_applicable with a reason" if answer_type.allow_not_applicable else ""),
            )
        )
    if level == DisclosureLevel.not_applicable and not answer_type.allow_not_applicable:
        problems.append(
            (
                "level",
                AnswerErrorCode.not_applicable_not_allowed,
                "this question always applies; answer no_information if nothing was found",
            )
        )
    has_reason = bool(payload.not_applicable_reason and payload.not_applicable_reason.strip())
    if level == DisclosureLevel.not_applicable and not has_reason:
        problems.append(
            (
                "not_applicable_reason",
                AnswerErrorCode.reason_required,
                "not applicable needs a reason",
            )
        )
    if level != DisclosureLevel.not_applicable and payload.not_applicable_reason is not None:
        problems.append(
            (
                "not_applicable_reason",
                AnswerErrorCode.reason_not_allowed,
                f"a not-applicable reason was given but the level is {level.value}",
            )
        )
    return problems


def _single_choice_problems(
    answer_type: SingleChoiceAnswerType, payload: SingleChoiceAnswer
) -> list[tuple[str, AnswerErrorCode, str]]:
    option_ids = [option.id for option in answer_type.options]
    if payload.value not in option_ids:
        return [
            (
                "value",
                AnswerErrorCode.not_an_option,
                f"'{payload.value}' is not an option; options: {option_ids}",
            )
        ]
    return []


def _multiple_choice_problems(
    answer_type: MultipleChoiceAnswerType, payload: MultipleChoiceAnswer
) -> list[tuple[str, AnswerErrorCode, str]]:
    option_ids = [option.id for option in answer_type.options]
    problems = []
    seen: set[str] = set()
    for position, value in enumerate(payload.values):
        if value not in option_ids:
            problems.append(
                (
                    f"values[{position}]",
                    AnswerErrorCode.not_an_option,
                    f"'{value}' is not an option; options: {option_ids}",
                )
            )
        elif value in seen:
            problems.append(
                (
                    f"values[{position}]",
                    AnswerErrorCode.duplicate_choice,
                    f"'{value}' is chosen twice",
                )
            )
        seen.add(value)
    if len(seen) < answer_type.min_selected:
        problems.append(
            (
                "values",
                AnswerErrorCode.too_few_choices,
                f"choose at least {answer_type.min_selected}",
            )
        )
    if answer_type.max_selected is not None and len(seen) > answer_type.max_selected:
        problems.append(
            (
                "values",
                AnswerErrorCode.too_many_choices,
                f"choose at most {answer_type.max_selected}",
            )
        )
    return problems


def _number_problems(
    answer_type: NumberAnswerType, payload: NumberAnswer
) -> list[tuple[str, AnswerErrorCode, str]]:
    problems = []
    value = payload.value
    if answer_type.integer and value != value.to_integral_value():
        problems.append(("value", AnswerErrorCode.not_integer, f"{value} is not a whole number"))
    if answer_type.min is not None and value < answer_type.min:
        problems.append(
            (
                "value",
                AnswerErrorCode.below_minimum,
                f"{value} is below the minimum {answer_type.min} {answer_type.unit}",
            )
        )
    if answer_type.max is not None and value > answer_type.max:
        problems.append(
            (
                "value",
                AnswerErrorCode.above_maximum,
                f"{value} is above the maximum {answer_type.max} {answer_type.unit}",
            )
        )
    if payload.unit is not None and payload.unit != answer_type.unit:
        problems.append(
            (
                "unit",
                AnswerErrorCode.unit_mismatch,
                f"the unit is {answer_type.unit}, not {payload.unit}",
            )
        )
    return problems


def _date_problems(
    answer_type: DateAnswerType, payload: DateAnswer
) -> list[tuple[str, AnswerErrorCode, str]]:
    problems = []
    if answer_type.min is not None and payload.value < answer_type.min:
        problems.append(
            (
                "value",
                AnswerErrorCode.below_minimum,
                f"{payload.value.isoformat()} is before {answer_type.min.isoformat()}",
            )
        )
    if answer_type.max is not None and payload.value > answer_type.max:
        problems.append(
            (
                "value",
                AnswerErrorCode.above_maximum,
                f"{payload.value.isoformat()} is after {answer_type.max.isoformat()}",
            )
        )
    return problems


def _text_problems(
    answer_type: TextAnswerType, payload: TextAnswer
) -> list[tuple[str, AnswerErrorCode, str]]:
    if not payload.value.strip():
        return [("value", AnswerErrorCode.empty, "the text is empty; delete the answer instead")]
    if len(payload.value) > answer_type.max_length:
        return [
            (
                "value",
                AnswerErrorCode.too_long,
                f"{len(payload.value)} characters; at most {answer_type.max_length}",
            )
        ]
    return []


def reports_absence(question: Question, payload: AnswerPayload) -> bool:
    """True when the answer says something is absent or unknown (no evidence can back it)."""
    if isinstance(payload, DisclosureAnswer):
        return absence_reported(question, level=payload.level)
    if isinstance(payload, NumberAnswer):
        return absence_reported(question, number=payload.value)
    if isinstance(payload, SingleChoiceAnswer):
        return absence_reported(question, options=(payload.value,))
    if isinstance(payload, MultipleChoiceAnswer):
        return absence_reported(question, options=tuple(payload.values))
    return False


def absence_reported(
    question: Question,
    *,
    level: DisclosureLevel | None = None,
    number: Decimal | float | None = None,
    options: tuple[str, ...] = (),
) -> bool:
    """``reports_absence`` of an answer's values, however they were read: a level of no
    information (or no, or not applicable), a count of 0, or only options that report an
    absence."""
    if level is not None:
        return level in ABSENCE_LEVELS
    if number is not None:
        return number == 0
    if options:
        absent = {option.id for option in question.options if option.reports_absence}
        return set(options) <= absent
    return False


def missing_evidence(question: Question, payload: AnswerPayload) -> AnswerError | None:
    """The submit-time problem of an `evidence_required` answer without evidence, if any."""
    if not question.evidence_required or payload.evidence or reports_absence(question, payload):
        return None
    return AnswerError(
        question_id=question.id,
        path="evidence",
        code=AnswerErrorCode.evidence_required,
        message="this answer needs at least one evidence item (a source URL or uploaded file)",
    )


# --- conditions, visibility and progress ----------------------------------------------------


def condition_holds(
    condition: Condition,
    questionnaire: Questionnaire,
    visible_answers: Mapping[str, AnswerPayload],
) -> bool:
    """Evaluate a `show_if` condition against the answers of visible questions.

    Pure data evaluation, never `eval`. A referenced question missing from `visible_answers`
    (unanswered or hidden) makes its leaf false.
    """
    if isinstance(condition, AnyOfCondition):
        return any(condition_holds(c, questionnaire, visible_answers) for c in condition.any_of)
    if isinstance(condition, AllOfCondition):
        return all(condition_holds(c, questionnaire, visible_answers) for c in condition.all_of)
    payload = visible_answers.get(condition.question)
    if payload is None or not questionnaire.has_question(condition.question):
        return False
    referenced = questionnaire.question(condition.question)
    if payload.type != referenced.answer_type.type:
        return False
    return _leaf_holds(condition, payload)


def _leaf_holds(condition: AnswerCondition, payload: AnswerPayload) -> bool:
    if isinstance(payload, MultipleChoiceAnswer):
        chosen = set(payload.values)
        if condition.in_ is not None:
            return bool(chosen & {str(item) for item in condition.in_})
        if condition.not_in is not None:
            return not chosen & {str(item) for item in condition.not_in}
        return False
    if isinstance(payload, TextAnswer):
        return False  # text answers never drive conditions
    actual: Any = payload.level.value if isinstance(payload, DisclosureAnswer) else payload.value
    return all(
        _operator_holds(name, actual, operand) for name, operand in condition.operators.items()
    )


def _comparable(actual: Any, operand: Any) -> Any:
    """Bring an operand to the answer's type: Decimal for numbers, date for dates."""
    if isinstance(actual, Decimal):
        return Decimal(str(operand))
    if isinstance(actual, date):
        return operand if isinstance(operand, date) else date.fromisoformat(str(operand))
    return operand


def _operator_holds(name: str, actual: Any, operand: Any) -> bool:
    if name in ("in", "not_in"):
        found = any(actual == _comparable(actual, item) for item in operand)
        return found if name == "in" else not found
    expected = _comparable(actual, operand)
    if name == "equals":
        return bool(actual == expected)
    if name == "gt":
        return bool(actual > expected)
    if name == "gte":
        return bool(actual >= expected)
    if name == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)  # lte


def visible_questions(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerPayload]
) -> set[str]:
    """Ids of the questions shown given these answers (keyed by question id).

    Questions are taken in order; each condition sees only answers to questions already
    found visible, so answers to hidden questions never show anything.
    """
    visible: set[str] = set()
    visible_answers: dict[str, AnswerPayload] = {}
    for question in questionnaire.questions:
        if question.show_if is not None and not condition_holds(
            question.show_if, questionnaire, visible_answers
        ):
            continue
        visible.add(question.id)
        if question.id in answers:
            visible_answers[question.id] = answers[question.id]
    return visible


def hidden_reasons(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerPayload]
) -> dict[str, str]:
    """Why each question these answers hide is hidden, by question id, in words: "EX5 is
    'no'", "C3 is not answered", and for one whose condition reads a hidden question, that
    question and what hides it in the end: "EU3b: EU3a is hidden (EX5 is 'no')". Visible
    questions are left out. The same walk as `visible_questions`."""
    return {
        question_id: reason for question_id, (reason, _) in _hidden(questionnaire, answers).items()
    }


def _hidden(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerPayload]
) -> dict[str, tuple[str, list[str]]]:
    """For each hidden question: why, in words (`hidden_reasons`), and the visible questions
    whose answers (or lack of one) hide it in the end, which an investor changes to show it."""
    hidden: dict[str, tuple[str, list[str]]] = {}
    # What hides each hidden question in the end: its reason with the hidden questions it
    # reads replaced by what hides them, so a long chain names one link and its root.
    roots: dict[str, str] = {}
    causes: dict[str, list[str]] = {}
    visible_answers: dict[str, AnswerPayload] = {}
    for question in questionnaire.questions:
        condition = question.show_if
        if condition is not None and not condition_holds(condition, questionnaire, visible_answers):
            reason = _why_not(condition, questionnaire, visible_answers, roots)
            roots[question.id] = _why_not(
                condition, questionnaire, visible_answers, roots, root=True
            )
            causes[question.id] = _causes(condition, questionnaire, visible_answers, causes)
            hidden[question.id] = (reason, causes[question.id])
            continue
        if question.id in answers:
            visible_answers[question.id] = answers[question.id]
    return hidden


def _causes(
    condition: Condition,
    questionnaire: Questionnaire,
    visible_answers: Mapping[str, AnswerPayload],
    causes: Mapping[str, list[str]],
) -> list[str]:
    """The questions a condition that does not hold reads and fails on (a hidden one replaced
    by what hides it), in order, once each."""
    if isinstance(condition, AnyOfCondition | AllOfCondition):
        branches = condition.any_of if isinstance(condition, AnyOfCondition) else condition.all_of
        found = [
            question_id
            for branch in branches
            if not condition_holds(branch, questionnaire, visible_answers)
            for question_id in _causes(branch, questionnaire, visible_answers, causes)
        ]
        return list(dict.fromkeys(found))
    return list(causes.get(condition.question, [condition.question]))


def hidden_question_message(
    question_id: str,
    reason: str,
    causes: Iterable[str],
    answers: Mapping[str, AnswerPayload],
    *,
    in_body: bool = False,
    in_file: bool = False,
) -> str:
    """Why an answer to a hidden question is refused, and the two ways out: "EU6 is hidden
    because EX5 is 'no': change EX5 (in the same request if you like) or leave EU6 out".
    ``in_body``: a PUT of that one answer, which cannot change another; ``in_file``: a row of
    an XLSX template."""
    actions = " or ".join(
        f"{'change' if cause in answers else 'answer'} {cause}" for cause in causes
    )
    if in_body:
        return (
            f"{question_id} is hidden because {reason}: {actions} first (or send both in one "
            f"PATCH .../answers), or leave {question_id} out"
        )
    if in_file:
        return (
            f"{question_id} is hidden because {reason}: {actions} (in the same file if you "
            f"like), or empty {question_id}'s answer cell"
        )
    return (
        f"{question_id} is hidden because {reason}: {actions} (in the same request if you "
        f"like), or leave {question_id} out"
    )


def _why_not(
    condition: Condition,
    questionnaire: Questionnaire,
    visible_answers: Mapping[str, AnswerPayload],
    roots: Mapping[str, str],
    *,
    root: bool = False,
) -> str:
    """What makes a condition that does not hold false: for any_of every branch, for all_of
    the branches that fail, for a leaf the answer it sees (or that it sees none, or that the
    question is hidden, and by what; ``root``: only by what)."""
    if isinstance(condition, AnyOfCondition | AllOfCondition):
        branches = condition.any_of if isinstance(condition, AnyOfCondition) else condition.all_of
        parts = [
            _why_not(branch, questionnaire, visible_answers, roots, root=root)
            for branch in branches
            if not condition_holds(branch, questionnaire, visible_answers)
        ]
        return " and ".join(dict.fromkeys(parts))
    question_id = condition.question
    if question_id in roots:
        return roots[question_id] if root else f"{question_id} is hidden ({roots[question_id]})"
    payload = visible_answers.get(question_id)
    if payload is None:
        return f"{question_id} is not answered"
    return f"{question_id} is {_answer_words(payload)}"


def _answer_words(payload: AnswerPayload) -> str:
    """An answer as a condition reads it: 'no', 'interception, forensic_extraction', 0."""
    match payload:
        case DisclosureAnswer():
            return f"'{payload.level.value}'"
        case MultipleChoiceAnswer():
            return f"'{', '.join(payload.values)}'" if payload.values else "none of its options"
        case NumberAnswer():
            return f"{payload.value}" + (f" {payload.unit}" if payload.unit else "")
        case DateAnswer():
            return payload.value.isoformat()
        case _:
            return f"'{payload.value}'"


def progress(questionnaire: Questionnaire, answers: Mapping[str, AnswerPayload]) -> Progress:
    """Answered / visible / required counts; missing required ids in question order."""
    visible = visible_questions(questionnaire, answers)
    shown = [question for question in questionnaire.questions if question.id in visible]
    required = [question for question in shown if question.required]
    return Progress(
        visible=len(shown),
        answered=sum(1 for question in shown if question.id in answers),
        required=len(required),
        required_answered=sum(1 for question in required if question.id in answers),
        missing_required=[question.id for question in required if question.id not in answers],
        hidden_answered=[
            question.id
            for question in questionnaire.questions
            if question.id in answers and question.id not in visible
        ],
    )


def submission_problems(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerPayload]
) -> list[AnswerError]:
    """Everything that stops a submit: answers to unknown questions, missing required answers,
    invalid answers and missing required evidence, for visible questions in question order.
    Answers to hidden questions are kept and ignored. An empty list means it can be submitted.
    """
    problems = [
        AnswerError(
            question_id=question_id,
            path="",
            code=AnswerErrorCode.unknown_question,
            message=f"questionnaire {questionnaire.key} {questionnaire.version} has no "
            f"question '{question_id}'",
        )
        for question_id in answers
        if not questionnaire.has_question(question_id)
    ]
    visible = visible_questions(questionnaire, answers)
    for question in questionnaire.questions:
        if question.id not in visible:
            continue
        payload = answers.get(question.id)
        if payload is None:
            if question.required:
                problems.append(
                    AnswerError(
                        question_id=question.id,
                        path="",
                        code=AnswerErrorCode.required,
                        message="a required question is not answered",
                    )
                )
            continue
        problems.extend(validate_answer(question, payload))
        evidence_problem = missing_evidence(question, payload)
        if evidence_problem is not None:
            problems.append(evidence_problem)
    return problems


def apply_answer_changes(
    questionnaire: Questionnaire,
    current: Mapping[str, AnswerPayload],
    changes: Mapping[str, Any],
    *,
    in_body: bool = False,
    in_file: bool = False,
) -> tuple[dict[str, AnswerPayload], list[AnswerError]]:
    """Apply a batch of answer changes all or nothing.

    `changes` maps question id to raw payload data (e.g. decoded JSON) or None to delete the
    answer. Each item is parsed and validated against its question; then every question
    written to must be visible given the answers after the whole batch (a batch may answer a
    gating question and the questions it reveals together). Deleting is always allowed, and
    so is sending a hidden question's stored answer again unchanged.

    ``in_body``: the one change is a request's whole body (PUT of one answer), which messages
    about a wrapped payload or a hidden question say; ``in_file``: the changes are an XLSX
    template's rows, which a hidden question's message says.

    Returns (new answers, []) on success, or (a copy of `current` unchanged, every problem).
    Answers to questions the batch hid are kept, as `progress` reports.
    """
    errors: list[AnswerError] = []
    updated: dict[str, AnswerPayload] = dict(current)
    changed: list[str] = []
    for question_id, data in changes.items():
        if not questionnaire.has_question(question_id):
            errors.append(
                AnswerError(
                    question_id=question_id,
                    path="",
                    code=AnswerErrorCode.unknown_question,
                    message=f"questionnaire {questionnaire.key} {questionnaire.version} has no "
                    f"question '{question_id}'",
                )
            )
            continue
        if data is None:
            updated.pop(question_id, None)
            continue
        payload, problems = parse_answer(questionnaire.question(question_id), data, in_body=in_body)
        errors.extend(problems)
        if payload is not None and not problems:
            updated[question_id] = payload
            # The stored answer sent back as it is changes nothing, hidden or not: a client
            # that writes back all it read (an assessment's template imported unchanged, a
            # PATCH of every answer) must not be refused for answers it did not touch.
            if payload != current.get(question_id):
                changed.append(question_id)
    # Judged on the valid part of the batch, so every bad item is reported in one go. Why a
    # question is hidden is worked out only when one is written to: every write checks this.
    visible = visible_questions(questionnaire, updated)
    refused = [question_id for question_id in changed if question_id not in visible]
    if refused:
        hidden = _hidden(questionnaire, updated)
        errors.extend(
            AnswerError(
                question_id=question_id,
                path="",
                code=AnswerErrorCode.hidden_question,
                message=hidden_question_message(
                    question_id, *hidden[question_id], updated, in_body=in_body, in_file=in_file
                ),
            )
            for question_id in refused
        )
    if errors:
        return dict(current), errors
    return updated, []
