"""The XLSX template of a questionnaire for offline completion, and reading a filled one.

The template has an `Answers` sheet with one row per question (id, section, text, guidance,
answer type and whether it is scored, allowed values, conditions and, in a template made for
an assessment, whether its answers show the question now) and the columns to fill in
(an answer, or the marker that removes one); an `About` sheet naming the questionnaire key and
version and the template format (and, for a template made for one assessment, its company,
whose answers the Answers sheet shows); and a hidden `Lists` sheet that feeds the drop-down
lists of disclosure and single-choice answers, evidence sources and the removal marker.

Reading checks that the workbook is this template (format marker, questionnaire, header row)
before looking at any row, and reports row-level problems with the row number and column.
Pure: no database, no clock; the workbook comes in and goes out as bytes or a stream.
"""

from __future__ import annotations

import io
import uuid
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from hrdd.dates import is_iso_date_text
from hrdd.errors import Invalid, PayloadTooLarge, ProblemDetail
from hrdd.questionnaires.answers import number_text_problem
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
    ScoredQuestions,
    SingleChoiceAnswerType,
    TextAnswerType,
)
from hrdd.vocab import AnswerSource
from hrdd.workbooks import (
    FORMULA_TRIGGERS,
    MAX_UNPACKED_BYTES,
    XLSX_MEDIA_TYPE,
    UnsafeArchive,
    calculated_on_load,
    check_part_content,
    check_parts,
    unsaved_formula,
    unsaved_formula_problem,
)

TEMPLATE_FORMAT = "hrdd-assessment-template/4"
# The OpenAPI description of a route's 200 answer that downloads a template.
TEMPLATE_DOWNLOAD = {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The template workbook"}
ANSWERS_SHEET = "Answers"
ABOUT_SHEET = "About"
LISTS_SHEET = "Lists"
# Typed in the Answer cell of a multiple-choice question that may have no option ticked.
NONE_SELECTED = "none"
# The only value of the Remove answer column: a blank cell must never delete, so deleting
# takes a word picked on purpose (the drop-down offers it).
REMOVE_MARKER = "remove"
HEADER_ROW = 1
FIRST_ROW = 2
# Room for notes a person may add below the questions; anything longer is not this template.
EXTRA_ROWS_ALLOWED = 200
# Empty but formatted rows are skipped; scanning stops here so a huge sheet cannot stall us.
MAX_SCANNED_ROWS = 10_000

# (column key, header label). The first ten describe the question; the rest are filled in.
COLUMNS: list[tuple[str, str]] = [
    ("question_id", "Question id"),
    ("section", "Section"),
    ("question", "Question"),
    ("guidance", "Guidance"),
    ("answer_type", "Answer type"),
    ("allowed_values", "Allowed values"),
    ("required", "Required"),
    ("evidence_required", "Evidence required"),
    ("shown_when", "Shown only when"),
    # Format 4: beside the condition it reads, in a template made for an assessment.
    ("shown_now", "Shown now"),
    ("answer", "Answer"),
    ("not_applicable_reason", "Not-applicable reason"),
    ("comment", "Comment"),
    ("evidence_url", "Evidence URL"),
    ("evidence_title", "Evidence title"),
    ("evidence_publisher", "Evidence publisher"),
    ("evidence_date", "Evidence date (YYYY-MM-DD)"),
    ("evidence_excerpt", "Evidence excerpt"),
    # Added after the first templates went out, at the end (formats 2 and 3): a workbook of
    # an earlier format is read without the columns it lacks.
    ("evidence_source", "Evidence source (company or independent)"),
    ("remove_answer", "Remove answer"),
]
COLUMN_KEYS = [key for key, _ in COLUMNS]


def _without(*dropped: str) -> list[str]:
    return [key for key in COLUMN_KEYS if key not in dropped]


# The columns of each template format, in order. Format 1 was made before the evidence-source
# column, format 2 before the remove-answer column, format 3 before the shown-now column: each
# is read without the columns it lacks (its later columns where they were then), and whatever
# the user put where a missing column now is, is not read.
_COLUMNS_OF_FORMAT: dict[str, list[str]] = {
    "hrdd-assessment-template/1": _without("shown_now", "evidence_source", "remove_answer"),
    "hrdd-assessment-template/2": _without("shown_now", "remove_answer"),
    "hrdd-assessment-template/3": _without("shown_now"),
    TEMPLATE_FORMAT: COLUMN_KEYS,
}
INPUT_COLUMNS = COLUMN_KEYS[COLUMN_KEYS.index("answer") :]
# The cells that make up an answer; a row marked for removal must leave them all empty.
ANSWER_COLUMNS = [key for key in INPUT_COLUMNS if key != "remove_answer"]
_LABELS = dict(COLUMNS)
EVIDENCE_COLUMNS = {
    "evidence_url": "url",
    "evidence_title": "title",
    "evidence_publisher": "publisher",
    "evidence_date": "source_date",
    "evidence_excerpt": "excerpt",
    "evidence_source": "source",
}
_WIDTHS = {
    "question": 60,
    "guidance": 70,
    "allowed_values": 40,
    "shown_when": 28,
    "shown_now": 28,
}
_INPUT_FILL = PatternFill("solid", fgColor="FFF7D6")
# A row the assessment's answers hide: grey across, its input cells too.
_HIDDEN_FILL = PatternFill("solid", fgColor="D9D9D9")
SHOWN = "Yes"
HIDDEN_PREFIX = "No: hidden because "


def column_letter(key: str) -> str:
    return get_column_letter(COLUMN_KEYS.index(key) + 1)


# --- writing the template -------------------------------------------------------------------


def describe_guidance(question: Question) -> str:
    parts = [
        (label, text)
        for label, text in (
            ("Full", question.guidance.full),
            ("Partial", question.guidance.partial),
            ("No", question.guidance.no),
            ("Note", question.guidance.note),
        )
        if text
    ]
    return "\n".join(f"{label}: {text}" for label, text in parts)


def describe_allowed(question: Question) -> str:
    answer_type = question.answer_type
    match answer_type:
        case DisclosureAnswerType():
            levels = [level.value for level in answer_type.allowed_levels]
            text = "One of: " + ", ".join(levels)
            if "not_applicable" in levels:
                text += " (not_applicable needs a reason)"
            return text
        case SingleChoiceAnswerType():
            return "One option id:\n" + _option_lines(question)
        case MultipleChoiceAnswerType():
            bounds = f"at least {answer_type.min_selected}"
            if answer_type.max_selected is not None:
                bounds += f", at most {answer_type.max_selected}"
            text = f"Option ids separated by commas ({bounds}):\n" + _option_lines(question)
            if answer_type.min_selected == 0:
                # An empty cell skips the question, so "none of them" needs a word of its own.
                text += f"\nor {NONE_SELECTED} when none applies"
            return text
        case NumberAnswerType():
            kind = "A whole number" if answer_type.integer else "A number"
            return f"{kind} in {answer_type.unit}" + _bounds(answer_type.min, answer_type.max)
        case DateAnswerType():
            return "A date, YYYY-MM-DD" + _bounds(answer_type.min, answer_type.max)
        case TextAnswerType():
            return f"Text, at most {answer_type.max_length} characters"
    return ""


def _option_lines(question: Question) -> str:
    return "\n".join(f"{option.id} = {option.label}" for option in question.options)


def _bounds(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f", from {low} to {high}"
    if low is not None:
        return f", at least {low}"
    if high is not None:
        return f", at most {high}"
    return ""


def describe_condition(condition: Condition | None) -> str:
    if condition is None:
        return ""
    if isinstance(condition, AnyOfCondition):
        return " or ".join(f"({describe_condition(c)})" for c in condition.any_of)
    if isinstance(condition, AllOfCondition):
        return " and ".join(f"({describe_condition(c)})" for c in condition.all_of)
    assert isinstance(condition, AnswerCondition)
    return " and ".join(
        f"{condition.question} {name.replace('_', ' ')} {_operand_text(operand)}"
        for name, operand in condition.operators.items()
    )


def _operand_text(operand: Any) -> str:
    if isinstance(operand, list):
        return "[" + ", ".join(str(item) for item in operand) + "]"
    return str(operand)


def describe_scoring(
    questionnaire: Questionnaire, question: Question, scoring: ScoredQuestions
) -> str:
    if question.id in scoring.question_ids:
        return f"Scored (theme: {questionnaire.theme(question.theme).title})"
    return "Not scored: context for the analyst and the reports"


@dataclass(frozen=True)
class TemplateSubject:
    """The assessment a template is made for: the About sheet names its company (an import
    into another company's assessment is refused) and the Answers sheet shows its answers."""

    assessment_id: uuid.UUID
    company_id: uuid.UUID
    company_name: str
    answers: Mapping[str, Mapping[str, Any]]  # stored payloads by question id
    # Why the questions the answers hide are hidden, by question id (answers.hidden_reasons).
    hidden: Mapping[str, str] = field(default_factory=dict)


def write_template(
    questionnaire: Questionnaire,
    scoring: ScoredQuestions,
    stream: BinaryIO,
    subject: TemplateSubject | None = None,
) -> None:
    """Write the XLSX template of ``questionnaire`` to ``stream``, saying of each question
    whether ``scoring``'s rules score it; for ``subject``, naming its company and showing its
    answers."""
    workbook = Workbook()
    answers = workbook.active
    answers.title = ANSWERS_SHEET
    _write_about(workbook.create_sheet(ABOUT_SHEET), questionnaire, scoring, subject)
    lists_sheet = workbook.create_sheet(LISTS_SHEET)
    lists_sheet.sheet_state = "hidden"
    lists = _ListSheet(lists_sheet)

    answers.append([label for _, label in COLUMNS])
    for cell in answers[HEADER_ROW]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for offset, question in enumerate(questionnaire.questions):
        row = FIRST_ROW + offset
        answers.append(
            [
                question.id,
                questionnaire.section(question.section).title,
                question.text,
                describe_guidance(question),
                "\n".join(
                    (question.answer_type.type, describe_scoring(questionnaire, question, scoring))
                ),
                describe_allowed(question),
                "yes" if question.required else "no",
                "yes" if question.evidence_required else "no",
                describe_condition(question.show_if),
                _shown_now(question, subject),
            ]
        )
        if subject is not None and question.id in subject.answers:
            for key, value in _answer_cells(question, subject.answers[question.id]).items():
                answers[f"{column_letter(key)}{row}"] = value
        for cell in answers[row]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        if subject is not None and question.id in subject.hidden:
            for key in COLUMN_KEYS:
                answers[f"{column_letter(key)}{row}"].fill = _HIDDEN_FILL
        else:
            for key in INPUT_COLUMNS:
                answers[f"{column_letter(key)}{row}"].fill = _INPUT_FILL
        _add_validation(answers, lists, question, row)
    last_row = FIRST_ROW + len(questionnaire.questions) - 1
    _add_source_validation(answers, lists, FIRST_ROW, last_row)
    _add_remove_validation(answers, lists, FIRST_ROW, last_row)
    for index, key in enumerate(COLUMN_KEYS, start=1):
        answers.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(key, 18)
    answers.freeze_panes = f"B{FIRST_ROW}"
    for sheet in workbook.worksheets:
        _keep_formulas_as_text(sheet)
    workbook.save(stream)


def _shown_now(question: Question, subject: TemplateSubject | None) -> str | None:
    """The Shown now cell: in a template of an assessment, whether its answers show the
    question and, when they hide it, why; empty in a blank template, which has no answers."""
    if subject is None:
        return None
    reason = subject.hidden.get(question.id)
    return SHOWN if reason is None else f"{HIDDEN_PREFIX}{reason}"


def _keep_formulas_as_text(sheet: Worksheet) -> None:
    """openpyxl writes any text starting with '=' as a formula. The template prints text an
    analyst of any organisation may have published (question, guidance, option labels) and
    answers as they were saved: it is written as the text it is, so a spreadsheet never runs
    it, in the Text number format, so that editing such a cell (an answer is an input cell)
    does not turn it into a formula either (the security test)."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
                cell.number_format = "@"


def _answer_cells(question: Question, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A stored answer as the template's Answer, Not-applicable reason and Comment cells read
    it back (sources are not written: an import keeps the sources an answer cites)."""
    answer_type = question.answer_type
    cells: dict[str, Any] = {}
    match answer_type:
        case DisclosureAnswerType():
            cells["answer"] = payload["level"]
            cells["not_applicable_reason"] = payload.get("not_applicable_reason")
        case MultipleChoiceAnswerType():
            cells["answer"] = ", ".join(payload["values"]) or NONE_SELECTED
        case NumberAnswerType():
            number = Decimal(str(payload["value"]))
            cells["answer"] = int(number) if number == number.to_integral_value() else number
        case DateAnswerType():
            cells["answer"] = date.fromisoformat(str(payload["value"]))
        case _:
            cells["answer"] = payload["value"]
    cells["comment"] = payload.get("comment")
    return {key: value for key, value in cells.items() if value is not None}


def _write_about(
    sheet: Worksheet,
    questionnaire: Questionnaire,
    scoring: ScoredQuestions,
    subject: TemplateSubject | None,
) -> None:
    rules = (
        f"under the rules your organisation uses ({scoring.rules_label})"
        if scoring.rules_label
        else "by the questionnaire alone (no rule set is loaded)"
    )
    rows: list[tuple[str, str]] = [
        ("format", TEMPLATE_FORMAT),
        ("questionnaire_key", questionnaire.key),
        ("questionnaire_version", questionnaire.version),
        ("title", questionnaire.title),
        (
            "how to fill in",
            "Answer in the yellow columns of the Answers sheet, one row per question. Leave a "
            "row's Answer empty to skip it. Do not change the question ids, the header row or "
            "this sheet: the import checks them. One evidence source per row; add more through "
            "the API. A row keeps the sources and the comment its answer already has (its "
            "source is added; an empty comment keeps the old one), and clearing a row deletes "
            f"nothing. To delete a question's answer, pick {REMOVE_MARKER} in its Remove "
            "answer column and empty the row's other yellow cells (a row that both answers "
            "and removes is refused); removing an answer that is not there changes nothing. "
            "A question a removal hides keeps its answer, which no longer counts: leave its "
            "row as it is, or remove it as well; a changed answer to it is refused. In a "
            "template of an assessment, a grey row is a question its answers hide now (Shown "
            "now says why): an answer to it is refused unless the same import changes the "
            "answer that hides it. Delete a "
            "source or a comment through the API. Evidence "
            "source: company for the company's own pages, reports or replies, independent "
            "for anyone else's; left empty, a source the company published (its name as "
            "publisher) or a page on its website counts as the company's, and one with "
            "neither a publisher nor a URL, like an answer with no source, as unchecked.",
        ),
        (
            "scoring",
            f"The Answer type column says which questions are scored, {rules} when this "
            "template was made. Answers to the others do not move the score: they are kept as "
            "context, shown in the reports, and some decide which questions follow. The "
            "evidence registry (forensic findings, listings, lawsuits) is scored on its own, "
            "whatever is answered here.",
        ),
    ]
    if subject is not None:
        rows[4:4] = [
            ("company", subject.company_name),
            ("company_id", str(subject.company_id)),
            ("assessment_id", str(subject.assessment_id)),
        ]
    for key, value in rows:
        sheet.append([key, value])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 100


class _ListSheet:
    """The hidden sheet of drop-down values: one column per list (an inline list is limited to
    255 characters, which long option lists exceed)."""

    def __init__(self, sheet: Worksheet) -> None:
        self.sheet = sheet
        self.columns = 0

    def add(self, values: list[str]) -> str:
        self.columns += 1
        column = get_column_letter(self.columns)
        for index, value in enumerate(values, start=1):
            self.sheet[f"{column}{index}"] = value
        return f"{quote_sheetname(self.sheet.title)}!${column}$1:${column}${len(values)}"


def _add_source_validation(sheet: Worksheet, lists: _ListSheet, first: int, last: int) -> None:
    validation = DataValidation(
        type="list",
        formula1=lists.add([source.value for source in AnswerSource]),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not a source kind",
        error="company: the company's own pages, reports or replies; independent: anyone else.",
    )
    sheet.add_data_validation(validation)
    column = column_letter("evidence_source")
    validation.add(f"{column}{first}:{column}{last}")


def _add_remove_validation(sheet: Worksheet, lists: _ListSheet, first: int, last: int) -> None:
    validation = DataValidation(
        type="list",
        formula1=lists.add([REMOVE_MARKER]),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not the removal marker",
        error=f"Pick {REMOVE_MARKER} to delete this question's answer, or leave the cell empty.",
    )
    sheet.add_data_validation(validation)
    column = column_letter("remove_answer")
    validation.add(f"{column}{first}:{column}{last}")


def _add_validation(sheet: Worksheet, lists: _ListSheet, question: Question, row: int) -> None:
    """Drop-down lists for disclosure and single-choice answers, bounds for numbers."""
    answer_type = question.answer_type
    values: list[str] = []
    if isinstance(answer_type, DisclosureAnswerType):
        values = [level.value for level in answer_type.allowed_levels]
    elif isinstance(answer_type, SingleChoiceAnswerType):
        values = [option.id for option in answer_type.options]
    if values:
        validation = DataValidation(
            type="list",
            formula1=lists.add(values),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"{question.id}: not an allowed value",
            error="Pick one of the listed values.",
        )
    elif isinstance(answer_type, NumberAnswerType) and (
        answer_type.min is not None or answer_type.max is not None
    ):
        low = answer_type.min if answer_type.min is not None else Decimal("-1e15")
        high = answer_type.max if answer_type.max is not None else Decimal("1e15")
        validation = DataValidation(
            type="whole" if answer_type.integer else "decimal",
            operator="between",
            formula1=str(low),
            formula2=str(high),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"{question.id}: out of bounds",
            error=f"Enter a number from {low} to {high} ({answer_type.unit}).",
        )
    else:
        return
    sheet.add_data_validation(validation)
    validation.add(f"{column_letter('answer')}{row}")


def template_bytes(
    questionnaire: Questionnaire,
    scoring: ScoredQuestions,
    subject: TemplateSubject | None = None,
) -> bytes:
    buffer = io.BytesIO()
    write_template(questionnaire, scoring, buffer, subject)
    return buffer.getvalue()


# --- reading a filled template --------------------------------------------------------------


@dataclass
class FilledTemplate:
    """Answers read from a workbook: raw payloads by question id, the questions whose answers
    are to be removed, the row each came from, and problems found while reading cells
    (answers are validated against questions later)."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Question ids whose rows are marked for removal (their answers are to be deleted).
    removed: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[ProblemDetail] = field(default_factory=list)
    # Set when the template was made for one assessment (GET /assessments/{id}/template.xlsx).
    company_id: str | None = None
    company_name: str | None = None
    assessment_id: str | None = None

    def problem(self, row: int, column: str, question_id: str | None, message: str) -> None:
        who = f"row {row}" + (f", question {question_id}" if question_id else "")
        self.problems.append(
            ProblemDetail(path=f"rows.{row}.{column}", message=f"{who}: {message}")
        )


def _not_the_template(message: str) -> Invalid:
    return Invalid.at(
        "file", f"{message}; download the template of this questionnaire and fill it in"
    )


_UNPACK_STEP = 64 * 1024


def _too_large(unpacked: int) -> PayloadTooLarge:
    message = (
        f"the workbook unpacks to more than {MAX_UNPACKED_BYTES:,} bytes ({unpacked:,} at "
        "least); a filled template unpacks to well under a megabyte"
    )
    return PayloadTooLarge(f"file: {message}", errors=[ProblemDetail(path="file", message=message)])


def _unpacked_copy(data: bytes) -> bytes:
    """The workbook rebuilt from what its members really hold, for openpyxl to read.

    An XLSX file is a zip, and a small upload can unpack to gigabytes, which openpyxl would
    hold in memory: a member may also declare a size far below what it holds. So each member
    is unpacked here in small steps (a deflate step never makes more than it is asked for, and
    a member stops at its declared size), counting the bytes, and the copy holds only those."""
    copy = io.BytesIO()
    unpacked = 0
    try:
        with (
            zipfile.ZipFile(io.BytesIO(data)) as archive,
            zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as rebuilt,
        ):
            members = archive.infolist()
            try:
                check_parts(members)
            except UnsafeArchive as unsafe:
                if unsafe.too_large:
                    raise _too_large(sum(member.file_size for member in members)) from None
                raise _not_the_template(
                    f"the file is not an XLSX workbook: {unsafe.message}"
                ) from None
            # Counted as unpacked too: a second guard against a part holding more than it says.
            for member in members:
                if member.is_dir():
                    continue
                parts = []
                with archive.open(member) as source:
                    while step := source.read(_UNPACK_STEP):
                        unpacked += len(step)
                        if unpacked > MAX_UNPACKED_BYTES:
                            raise _too_large(unpacked)
                        parts.append(step)
                content = b"".join(parts)
                try:
                    check_part_content(member.filename, content)
                except UnsafeArchive as unsafe:
                    raise _not_the_template(
                        f"the workbook cannot be read: {unsafe.message}"
                    ) from None
                rebuilt.writestr(member.filename, content)
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError) as exc:
        raise _not_the_template("the file is not an XLSX workbook") from exc
    return copy.getvalue()


def read_template(data: bytes, questionnaire: Questionnaire) -> FilledTemplate:
    """Read a filled template of ``questionnaire``. A workbook that is not this template is a
    422 at `file`, one that unpacks to more than ``MAX_UNPACKED_BYTES`` a 413; problems in rows
    are returned in ``problems`` (path `rows.<n>.<column>`)."""
    honest = _unpacked_copy(data)
    # Read twice: for the values formulas were saved with, and for the formulas themselves, to
    # tell a formula saved without its value (read as empty, the answer would be skipped
    # without a word) from an empty cell. A template is small.
    try:
        workbook = load_workbook(io.BytesIO(honest), read_only=True, data_only=True)
        formulas = load_workbook(io.BytesIO(honest), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) for bad files
        raise _not_the_template("the file is not an XLSX workbook") from exc
    try:
        return _read_workbook(workbook, formulas, questionnaire, calculated_on_load(honest))
    finally:
        workbook.close()
        formulas.close()


def _read_workbook(
    workbook: Any, formulas: Any, questionnaire: Questionnaire, placeholders: bool
) -> FilledTemplate:
    if ABOUT_SHEET not in workbook.sheetnames or ANSWERS_SHEET not in workbook.sheetnames:
        raise _not_the_template(f"the workbook has no {ANSWERS_SHEET} and {ABOUT_SHEET} sheets")
    about: dict[str, Any] = {}
    for row in workbook[ABOUT_SHEET].iter_rows(min_row=1, max_row=20, max_col=2, values_only=True):
        if row and isinstance(row[0], str):
            about[row[0]] = row[1] if len(row) > 1 else None
    if about.get("format") not in _COLUMNS_OF_FORMAT:
        raise _not_the_template(
            f"the {ABOUT_SHEET} sheet does not name the format {TEMPLATE_FORMAT}"
        )
    columns = _COLUMNS_OF_FORMAT[about["format"]]
    key, version = about.get("questionnaire_key"), about.get("questionnaire_version")
    if key != questionnaire.key or version != questionnaire.version:
        raise _not_the_template(
            f"the template is for questionnaire {key} {version}, but the assessment uses "
            f"{questionnaire.key} {questionnaire.version}"
        )
    sheet = workbook[ANSWERS_SHEET]
    header = next(sheet.iter_rows(min_row=HEADER_ROW, max_row=HEADER_ROW, values_only=True), ())
    expected = [_LABELS[key] for key in columns]
    if [_text(cell) for cell in list(header)[: len(columns)]] != expected:
        raise _not_the_template(f"the header row of {ANSWERS_SHEET} was changed")
    filled = FilledTemplate(
        company_id=_text(about.get("company_id")),
        company_name=_text(about.get("company")),
        assessment_id=_text(about.get("assessment_id")),
    )
    row_limit = len(questionnaire.questions) + EXTRA_ROWS_ALLOWED
    rows = _numbered_rows(sheet, formulas[ANSWERS_SHEET], columns, placeholders)
    for number, cells, unsaved in rows:
        if number - FIRST_ROW >= MAX_SCANNED_ROWS:
            raise _not_the_template(f"{ANSWERS_SHEET} has more than {MAX_SCANNED_ROWS} rows")
        # Formatted but empty rows are common in edited workbooks; a formula in a column the
        # import does not read (guidance, section) leaves a row as empty as it was.
        unsaved = {key: formula for key, formula in unsaved.items() if key in _READ_COLUMNS}
        if all(value is None for value in cells.values()) and not unsaved:
            continue
        if number - FIRST_ROW >= row_limit:
            raise _not_the_template(f"{ANSWERS_SHEET} has content beyond row {row_limit + 1}")
        if not _refuse_unsaved(filled, cells, unsaved, number):
            _read_row(filled, questionnaire, number, cells)
    return filled


def _numbered_rows(
    sheet: Any, written: Any, columns: list[str], placeholders: bool
) -> Iterator[tuple[int, dict[str, Any], dict[str, str]]]:
    """Each row's cells by column key, ``columns`` being the keys of the workbook's format in
    order; a column that format lacks reads as empty, and so does anything beyond them. With
    them, the cells holding a formula saved without its value (``written``: the sheet read for
    its formulas, row by row beside it), with the formula, by key."""
    rows = zip(
        sheet.iter_rows(min_row=FIRST_ROW, max_col=len(columns)),
        written.iter_rows(min_row=FIRST_ROW, max_col=len(columns)),
        strict=True,
    )
    for number, (row, formula_row) in enumerate(rows, start=FIRST_ROW):
        cells = dict.fromkeys(COLUMN_KEYS)
        unsaved = {}
        for key, cell, formula_cell in zip(columns, row, formula_row, strict=False):
            cells[key] = _blank_to_none(_shown_value(cell))
            formula = unsaved_formula(cell, formula_cell, calculated_on_load=placeholders)
            if formula is not None:
                unsaved[key] = formula
        yield number, cells, unsaved


# The columns an import reads: a formula in the others (the question's text, its guidance)
# changes nothing.
_READ_COLUMNS = ("question_id", *INPUT_COLUMNS)


def _refuse_unsaved(
    filled: FilledTemplate, cells: dict[str, Any], unsaved: dict[str, str], number: int
) -> bool:
    """Report each read cell of a row that holds a formula saved without its value; whether
    there was one. Read as empty, an answer would be skipped, or its row taken for a cleared
    one, without a word."""
    found = [key for key in _READ_COLUMNS if key in unsaved]
    question_id = None if "question_id" in unsaved else _text(cells["question_id"])
    for key in found:
        filled.problem(number, key, question_id, unsaved_formula_problem(unsaved[key]))
    return bool(found)


def _shown_value(cell: Any) -> Any:
    """The cell's value as the sheet shows it: typing 42% stores 0.42 in a cell formatted as
    a percentage, and the person meant 42 (it came back 100 times too small)."""
    value = cell.value
    number_format = getattr(cell, "number_format", None) or ""
    if "%" in number_format and isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(format((Decimal(str(value)) * 100).normalize(), "f"))
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _read_row(
    filled: FilledTemplate, questionnaire: Questionnaire, number: int, cells: dict[str, Any]
) -> None:
    question_id = _text(cells["question_id"])
    has_input = any(cells[key] is not None for key in INPUT_COLUMNS)
    if not has_input:
        return
    if question_id is None:
        filled.problem(number, "question_id", None, "answers given on a row without a question id")
        return
    if not questionnaire.has_question(question_id):
        filled.problem(
            number,
            "question_id",
            question_id,
            f"questionnaire {questionnaire.key} {questionnaire.version} has no such question",
        )
        return
    if question_id in filled.rows:
        filled.problem(
            number,
            "question_id",
            question_id,
            f"the question is answered twice (also on row {filled.rows[question_id]})",
        )
        return
    filled.rows[question_id] = number
    if cells["remove_answer"] is not None:
        _read_removal(filled, question_id, number, cells)
        return
    if cells["answer"] is None:
        filled.problem(
            number,
            "answer",
            question_id,
            "a comment or evidence is given without an answer; answer it or clear the row",
        )
        return
    question = questionnaire.question(question_id)
    payload = _payload(filled, question, number, cells)
    if payload is not None:
        filled.answers[question_id] = payload


def _read_removal(
    filled: FilledTemplate, question_id: str, number: int, cells: dict[str, Any]
) -> None:
    marker = cells["remove_answer"]
    if str(marker).strip().casefold() != REMOVE_MARKER:
        filled.problem(
            number,
            "remove_answer",
            question_id,
            f"{marker!r} is not the removal marker: pick {REMOVE_MARKER} to delete the answer, "
            "or leave the cell empty",
        )
        return
    # Which one was meant is not ours to guess: deleting an answer the row also gives, or
    # keeping one the row says to remove, would each surprise someone.
    given = [_LABELS[key] for key in ANSWER_COLUMNS if cells[key] is not None]
    if given:
        filled.problem(
            number,
            "remove_answer",
            question_id,
            f"the row is marked {REMOVE_MARKER} but also fills {', '.join(given)}: empty those "
            "cells to delete the answer, or the Remove answer cell to keep it",
        )
        return
    filled.removed.append(question_id)


def _payload(
    filled: FilledTemplate, question: Question, number: int, cells: dict[str, Any]
) -> dict[str, Any] | None:
    answer = cells["answer"]
    answer_type = question.answer_type
    payload: dict[str, Any] = {"type": answer_type.type}
    match answer_type:
        case DisclosureAnswerType():
            payload["level"] = str(answer).strip().lower()
            if cells["not_applicable_reason"] is not None:
                payload["not_applicable_reason"] = str(cells["not_applicable_reason"])
        case SingleChoiceAnswerType():
            payload["value"] = _option_id(question, str(answer))
        case MultipleChoiceAnswerType():
            text = str(answer).strip()
            payload["values"] = (
                []
                if text.casefold() == NONE_SELECTED and answer_type.min_selected == 0
                else [
                    _option_id(question, part)
                    for part in text.replace(";", ",").replace("\n", ",").split(",")
                    if part.strip()
                ]
            )
        case NumberAnswerType():
            number_value = _number(answer)
            if number_value is None:
                filled.problem(
                    number,
                    "answer",
                    question.id,
                    number_text_problem(str(answer), answer_type.unit),
                )
                return None
            payload["value"] = number_value
            payload["unit"] = answer_type.unit  # the template states it in Allowed values
        case DateAnswerType():
            payload["value"] = _date_value(answer)
            if isinstance(payload["value"], datetime):
                filled.problem(number, "answer", question.id, _date_and_time(payload["value"]))
                return None
            if isinstance(payload["value"], str) and not is_iso_date_text(payload["value"]):
                filled.problem(
                    number,
                    "answer",
                    question.id,
                    f"{payload['value']!r} is not a date hrdd can read: write it as YYYY-MM-DD "
                    "(2021-11-03, not 03/11/2021, which reads differently in different "
                    "countries) or format the cell as a date",
                )
                return None
        case TextAnswerType():
            payload["value"] = str(answer)
    if answer_type.type != "disclosure" and cells["not_applicable_reason"] is not None:
        filled.problem(
            number,
            "not_applicable_reason",
            question.id,
            "only disclosure questions take a not-applicable reason",
        )
        return None
    if cells["comment"] is not None:
        payload["comment"] = str(cells["comment"])
    evidence = {
        name: _evidence_value(name, cells[column])
        for column, name in EVIDENCE_COLUMNS.items()
        if cells[column] is not None
    }
    if evidence:
        payload["evidence"] = [evidence]
    return payload


def _option_id(question: Question, text: str) -> str:
    """The option a cell names by its id or its label, in any case ("Yes" is yes), as
    disclosure levels are read; anything else is left for validation to refuse."""
    wanted = text.strip().casefold()
    for option in question.options:
        if wanted in (option.id.casefold(), option.label.strip().casefold()):
            return option.id
    return text.strip()


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _date_value(value: Any) -> Any:
    """A date cell's day; typed text (and numbers, as their text) is left to validation.
    Excel date cells come back as datetimes at midnight: their day is the date. A date with a
    time of day (a cell typed 2021-11-03 14:30, or =NOW()) is handed on as it is, for the
    answer's check to refuse: dates are days, and the time is not silently dropped."""
    if isinstance(value, datetime):
        return value.date() if value.time() == time() else value
    if isinstance(value, date):
        return value
    return str(value).strip()


def _date_and_time(value: datetime) -> str:
    return (
        f"the cell holds a date and a time of day ({value.isoformat(sep=' ')}): a date answer "
        f"is a day; format the cell as a date or write it as YYYY-MM-DD, e.g. "
        f"{value.date().isoformat()}"
    )


def _evidence_value(name: str, value: Any) -> Any:
    if name == "source_date":
        return _date_value(value)
    if name == "source":
        return str(value).strip().casefold()  # "Company" is company
    return str(value).strip()


def column_for(payload_path: str) -> str:
    """The template column an answer-payload path (`level`, `evidence[0].url`) was read from."""
    head = payload_path.split(".")[0].split("[")[0]
    if head == "evidence":
        leaf = payload_path.rsplit(".", 1)[-1]
        for column, name in EVIDENCE_COLUMNS.items():
            if name == leaf:
                return column
        return "evidence_url"
    if head in ("not_applicable_reason", "comment"):
        return head
    return "answer"
