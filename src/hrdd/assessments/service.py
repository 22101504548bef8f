"""The assessment lifecycle: draft -> submitted -> final (or back to draft), reopen, answers.

    draft --submit--> submitted --review: approve--> final --reopen--> (new draft, linked)
                          |                            |
                          +--review: return--> draft   +--(successor approved)--> superseded

Every write to an assessment bumps its ``version`` with a compare-and-swap UPDATE, so the
ETag check holds even when two requests race: the loser matches no row and gets 412, and its
transaction (answers and all) is rolled back. Only drafts take answers. Every answer change
and every status change is written to the audit trail with old and new value.

Other domains read an assessment's answers through ``get_assessment_for_scoring`` (the
company report does) and never parse stored payloads themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hrdd.assessments import files as file_store
from hrdd.assessments.models import Assessment, AssessmentAnswer, AssessmentFile
from hrdd.assessments.schemas import (
    EXPORT_FORMAT,
    AnswerOut,
    AnswersDocument,
    AssessmentCreate,
    AssessmentOut,
    AssessmentSummary,
    ExportedAnswers,
    FileOut,
    ProgressOut,
    QuestionnaireRef,
    ReviewDecision,
    ReviewIn,
    ValidationProblem,
    ValidationState,
)
from hrdd.assessments.xlsx import FilledTemplate, TemplateSubject
from hrdd.audit import service as audit
from hrdd.audit.models import AuditEvent
from hrdd.auth.service import Principal
from hrdd.companies import service as companies
from hrdd.db import reusable, utcnow
from hrdd.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    ProblemDetail,
)
from hrdd.evidence.content import items_ended, known_on
from hrdd.evidence.models import EvidenceItem
from hrdd.http import PageParams, check_if_match, etag_for, paginate, tagged_versions
from hrdd.questionnaires import service as questionnaires
from hrdd.questionnaires.answers import (
    MAX_EVIDENCE_ITEMS,
    AnswerError,
    AnswerErrorCode,
    AnswerPayload,
    apply_answer_changes,
    hidden_reasons,
    parse_answer_payload,
    progress,
    submission_problems,
    visible_questions,
)
from hrdd.questionnaires.schemas import (
    DisclosureAnswerType,
    NumberAnswerType,
    Question,
    Questionnaire,
)
from hrdd.questionnaires.service import VersionHeader
from hrdd.vocab import AssessmentStatus

AUDIT_ENTITY = "assessment"
LOCKED_STATUSES = frozenset(
    {AssessmentStatus.submitted, AssessmentStatus.final, AssessmentStatus.superseded}
)

# Turns one answer problem into what the client is told (where: the path; what: the message).
Locator = Callable[[AnswerError], ProblemDetail]


def answer_path(error: AnswerError) -> str:
    """`answers.EU4.level`, `answers.EX1.values[1]`, or `answers.EU4` for the whole answer."""
    return f"answers.{error.question_id}" + (f".{error.path}" if error.path else "")


def answer_problem(error: AnswerError) -> ProblemDetail:
    return ProblemDetail(path=answer_path(error), message=error.message)


def body_problem(error: AnswerError) -> ProblemDetail:
    """A problem with the one answer a PUT sends as its whole body: its path names the body's
    field as it is (`level`, `evidence[0].url`), `body` for the answer as a whole, and
    `path.question_id` for a question the questionnaire does not have."""
    if error.code == AnswerErrorCode.unknown_question:
        return ProblemDetail(path="path.question_id", message=error.message)
    return ProblemDetail(path=error.path or "body", message=error.message)


# --- reading ---------------------------------------------------------------------------------


# Built once, run on every request that reads or writes an assessment (hrdd.db.reusable).
_BY_ID = reusable(select(Assessment).where(Assessment.id == bindparam("assessment_id")))
_ANSWERS = reusable(
    select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == bindparam("assessment_id"))
)
_TAKE_VERSION = reusable(
    update(Assessment)
    .where(Assessment.id == bindparam("assessment_id"), Assessment.version == bindparam("seen"))
    .values(version=bindparam("next_version"), updated_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def get_assessment(session: Session, assessment_id: uuid.UUID) -> Assessment:
    """The caller's assessment; another organisation's is as unknown as a missing one (404)."""
    assessment = session.scalars(_BY_ID, {"assessment_id": assessment_id}).first()
    if assessment is None:
        raise NotFound(f"no assessment {assessment_id}")
    return assessment


def etag_of(assessment: Assessment) -> str:
    return etag_for(assessment.id, assessment.version)


def changed_since(session: Session, assessment: Assessment, if_match: str | None) -> str:
    """The 412 of a stale If-Match: the version the caller read and the one it is now, who
    changed it last, when and what, and what to do (the investor review: the 412 named only
    the current ETag, so two colleagues filling in one questionnaire could not tell who had
    changed what)."""
    read = tagged_versions(if_match, assessment.id)
    weak = any(is_weak for _, is_weak in read)
    # Of several versions sent, the latest the caller could have read.
    sent = max((version for version, _ in read if version < assessment.version), default=None)
    if weak and sent is None:
        first = (
            f"a weak ETag (W/...) never matches: send the ETag as the ETag header gave it (it "
            f"is now {etag_of(assessment)})"
        )
    elif sent is None:
        first = (
            f"the ETag you sent is not one of assessment {assessment.id}'s (it is now "
            f"{etag_of(assessment)})"
        )
    else:
        first = (
            f"assessment {assessment.id} was changed since the version you read (version "
            f"{sent}; it is now at version {assessment.version}{_last_change(session, assessment)})"
        )
    return (
        f"{first}: nothing was written; read it again (GET /api/v1/assessments/{assessment.id}) "
        "and reapply your change with its ETag"
    )


# Recorded on the assessment without changing its version: not what made a copy stale.
_UNVERSIONED_ACTIONS = ("file_uploaded",)


def _last_change(session: Session, assessment: Assessment) -> str:
    """The last change recorded on the assessment, as a 412 names it. Recorded, not
    necessarily the last write: saving an answer as it was changes the version alone."""
    last = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == AUDIT_ENTITY,
            AuditEvent.entity_id == assessment.id,
            AuditEvent.action.not_in(_UNVERSIONED_ACTIONS),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return ""
    what = last.action.replace("_", " ")
    if last.field:
        what += f" ({last.field.removeprefix('answers.')})"
    return (
        f"; the last change recorded: {what}, by {last.actor_name} on {last.at:%Y-%m-%d %H:%M} UTC"
    )


def questionnaire_row(session: Session, assessment: Assessment) -> VersionHeader:
    return questionnaires.version_header(session, assessment.questionnaire_version_id)


def questionnaire_for(session: Session, assessment: Assessment) -> Questionnaire:
    return questionnaires.questionnaire_by_id(session, assessment.questionnaire_version_id)


def answer_rows(session: Session, assessment_id: uuid.UUID) -> dict[str, AssessmentAnswer]:
    rows = session.scalars(_ANSWERS, {"assessment_id": assessment_id})
    return {row.question_id: row for row in rows}


def payloads_of(rows: Mapping[str, AssessmentAnswer]) -> dict[str, AnswerPayload]:
    """Stored answers as payload models (they were validated when written)."""
    return {question_id: parse_answer_payload(row.payload) for question_id, row in rows.items()}


def list_assessments(
    session: Session,
    page: PageParams,
    company_id: uuid.UUID | None = None,
    status: AssessmentStatus | None = None,
) -> tuple[list[Assessment], str | None]:
    statement = select(Assessment)
    if company_id is not None:
        statement = statement.where(Assessment.company_id == company_id)
    if status is not None:
        statement = statement.where(Assessment.status == status.value)
    return paginate(session, statement, [Assessment.created_at, Assessment.id], page)


def _questionnaire_ref(row: VersionHeader) -> QuestionnaireRef:
    return QuestionnaireRef(id=row.id, key=row.key, version=row.version, title=row.title)


def summaries(session: Session, assessments: list[Assessment]) -> list[AssessmentSummary]:
    company_names = companies.company_names(session, {a.company_id for a in assessments})
    versions = {
        header.id: header
        for header in questionnaires.version_headers(
            session, {a.questionnaire_version_id for a in assessments}
        )
    }
    return [
        _summary(a, company_names.get(a.company_id, ""), versions[a.questionnaire_version_id])
        for a in assessments
    ]


def _summary(
    assessment: Assessment, company_name: str, version_row: VersionHeader
) -> AssessmentSummary:
    return AssessmentSummary(
        id=assessment.id,
        company_id=assessment.company_id,
        company_name=company_name,
        questionnaire=_questionnaire_ref(version_row),
        status=AssessmentStatus(assessment.status),
        version=assessment.version,
        previous_assessment_id=assessment.previous_assessment_id,
        created_by=assessment.created_by_name,
        created_at=assessment.created_at,
        updated_at=assessment.updated_at,
        submitted_at=assessment.submitted_at,
        reviewed_at=assessment.reviewed_at,
    )


@dataclass
class AnswersState:
    """An assessment's questionnaire and answers as a request last read or wrote them."""

    version_row: VersionHeader
    questionnaire: Questionnaire
    rows: dict[str, AssessmentAnswer]
    payloads: dict[str, AnswerPayload]


def answers_state(session: Session, assessment: Assessment) -> AnswersState:
    version_row = questionnaire_row(session, assessment)
    rows = answer_rows(session, assessment.id)
    return AnswersState(
        version_row,
        questionnaires.questionnaire_at(session, version_row),
        rows,
        payloads_of(rows),
    )


def _successor(session: Session, assessment: Assessment) -> uuid.UUID | None:
    # Only a final assessment can be reopened, and a final one never returns to draft or
    # submitted: those have no successor, and the query is skipped on every answer write.
    if assessment.status not in (AssessmentStatus.final, AssessmentStatus.superseded):
        return None
    return session.scalar(
        select(Assessment.id).where(Assessment.previous_assessment_id == assessment.id)
    )


def to_out(
    session: Session, assessment: Assessment, state: AnswersState | None = None
) -> AssessmentOut:
    """The full view: answers (hidden ones flagged as excluded), visibility, progress and what
    a submit would refuse right now. ``state``: the answers as the request just wrote them,
    so they are not read again."""
    if state is None:
        state = answers_state(session, assessment)
    questionnaire, rows, payloads = state.questionnaire, state.rows, state.payloads
    visible = visible_questions(questionnaire, payloads)
    counts = progress(questionnaire, payloads)
    problems = submission_problems(questionnaire, payloads)
    order = {question_id: index for index, question_id in enumerate(questionnaire.question_ids)}
    successor = _successor(session, assessment)
    company_name = companies.company_name(session, assessment.company_id)
    return AssessmentOut(
        **_summary(assessment, company_name, state.version_row).model_dump(),
        next_assessment_id=successor,
        submitted_by=assessment.submitted_by_name,
        reviewed_by=assessment.reviewed_by_name,
        review_comment=assessment.review_comment,
        answers={
            question_id: AnswerOut(
                question_id=question_id,
                payload=rows[question_id].payload,
                excluded=question_id not in visible,
                updated_by=rows[question_id].updated_by_name,
                updated_at=rows[question_id].updated_at,
            )
            for question_id in sorted(rows, key=lambda qid: order.get(qid, len(order)))
        },
        visible_question_ids=[qid for qid in questionnaire.question_ids if qid in visible],
        excluded_question_ids=counts.hidden_answered,
        progress=ProgressOut(
            answered=counts.answered,
            visible=counts.visible,
            required=counts.required,
            required_answered=counts.required_answered,
            missing_required=counts.missing_required,
        ),
        validation=ValidationState(
            ready_to_submit=not problems,
            problems=[_validation_problem(problem) for problem in problems],
        ),
    )


def _validation_problem(error: AnswerError) -> ValidationProblem:
    return ValidationProblem(
        path=answer_path(error),
        question_id=error.question_id,
        code=error.code.value,
        message=error.message,
    )


def assessment_history(
    session: Session, assessment: Assessment, page: PageParams
) -> tuple[list[Any], str | None]:
    """Every answer change and status change of the assessment, oldest first."""
    return audit.history(session, AUDIT_ENTITY, [assessment.id], page)


# --- writing: the shared guard ---------------------------------------------------------------


def _require_status(assessment: Assessment, wanted: AssessmentStatus, action: str) -> None:
    if assessment.status != wanted.value:
        raise Conflict(
            f"cannot {action}: assessment {assessment.id} is {assessment.status}, "
            f"not {wanted.value}"
        )


def _require_draft_for_answers(assessment: Assessment) -> None:
    if assessment.status in LOCKED_STATUSES:
        raise Conflict(
            f"assessment {assessment.id} is {assessment.status} and locked; answers can only "
            "change while it is a draft (an analyst can return it, a final one can be reopened)"
        )


def begin_write(
    session: Session, assessment: Assessment, if_match: str | None, *, required: bool
) -> None:
    """Check If-Match (428 when required and missing, 412 when stale) and take the next
    version with a compare-and-swap, so a concurrent writer that got there first makes this
    one fail with 412 instead of overwriting it."""
    check_if_match(
        if_match,
        etag_of(assessment),
        required=required,
        stale=lambda: changed_since(session, assessment, if_match),
    )
    expected = assessment.version
    now = utcnow()
    taken = {"assessment_id": assessment.id, "seen": expected, "next_version": expected + 1}
    result = session.execute(_TAKE_VERSION, {**taken, "now": now})
    if result.rowcount != 1:
        # Like a stale If-Match, name the version that won, so the caller can retry on it.
        session.refresh(assessment)
        raise PreconditionFailed(
            changed_since(session, assessment, etag_for(assessment.id, expected)),
            headers={"ETag": etag_of(assessment)},
        )
    # The row now holds exactly these values: no need to read it back.
    set_committed_value(assessment, "version", expected + 1)
    set_committed_value(assessment, "updated_at", now)


# --- creating --------------------------------------------------------------------------------


def create_assessment(session: Session, actor: Principal, data: AssessmentCreate) -> Assessment:
    company = companies.get_company(session, data.company_id)
    key = data.questionnaire_key or questionnaires.only_key(session)
    if data.version is None:
        version_row = questionnaires.latest_version(session, key)
    else:
        version_row = questionnaires.get_version(session, key, data.version)
    _require_none_open(session, company.id, company.name)
    questionnaires.freeze(session, version_row)
    assessment = Assessment(
        organisation_id=actor.organisation_id,
        company_id=company.id,
        questionnaire_version_id=version_row.id,
        status=AssessmentStatus.draft.value,
        created_by_key_id=actor.key_id,
        created_by_name=actor.key_name,
    )
    session.add(assessment)
    company_name = company.name  # a failed flush leaves the session unable to load it
    try:
        session.flush()
    except IntegrityError as exc:  # uq_assessments_one_open: a racing request won
        raise Conflict(
            f"{company_name} already has an assessment in progress: one was just started"
        ) from exc
    audit.record(
        session,
        actor,
        AUDIT_ENTITY,
        assessment.id,
        "created",
        field="status",
        new=AssessmentStatus.draft.value,
        comment=f"{company.name}; questionnaire {version_row.key} {version_row.version}",
    )
    prefilled = prefilled_answers(session, assessment, questionnaire_for(session, assessment))
    if prefilled:
        write_answers(session, _prefill_actor(actor), assessment, prefilled, etag_of(assessment))
    return assessment


def _prefill_actor(actor: Principal) -> Principal:
    """Who pre-filled answers, as the answers and the history name it: the registry, on the
    key that started the draft (so its id stays the key's), never the investor's own word."""
    prefix = "evidence registry pre-fill, on starting the draft by "
    # The name must fit the answer's and the audit's columns; the key's name gives way.
    room = min(
        _column_length(AssessmentAnswer.updated_by_name), _column_length(AuditEvent.actor_name)
    )
    key_name = actor.key_name
    if len(prefix) + len(key_name) > room:
        key_name = key_name[: room - len(prefix) - 1] + "…"
    return replace(actor, key_name=prefix + key_name)


def _column_length(column: Any) -> int:
    return int(column.property.columns[0].type.length)


# --- answers the evidence registry gives ------------------------------------------------------

# Sources only the company stands behind are cited as its own (hrdd.vocab.AnswerSource).
_COMPANY_SOURCE_CLASSES = frozenset({"company_statement"})


def prefilled_answers(
    session: Session, assessment: Assessment, questionnaire: Questionnaire
) -> dict[str, dict[str, Any]]:
    """Answers to the questions the questionnaire pre-fills from the evidence registry
    (``prefill_from_evidence``), from the items of the company the organisation sees and that
    are known today: a disclosure question is answered 'full' when such an item is in force
    (EU4: a listing not ended), a number question with how many are on record (R1: forensic
    findings, remedied or not), each citing the items' sources. Nothing is pre-filled where
    the registry holds nothing: 'no listing' or '0' needs the investor's own check, as the
    guidance says."""
    questions = [q for q in questionnaire.questions if q.prefill_from_evidence]
    if not questions:
        return {}
    today = utcnow().date()
    items = [
        item
        for item in session.scalars(
            select(EvidenceItem)
            .where(
                EvidenceItem.company_id == assessment.company_id,
                EvidenceItem.deleted_at.is_(None),
            )
            .order_by(EvidenceItem.event_date, EvidenceItem.id)
        )
        if known_on(item) <= today
    ]
    ended = items_ended(items)
    answers: dict[str, dict[str, Any]] = {}
    for question in questions:
        types = {kind.value for kind in question.prefill_from_evidence}
        # A disclosure asks what is in force (EU4: a listing not ended); a count asks what is
        # on record (R1: a finding the company later remedied was still an allegation, and
        # its response to it is what R2 and R3 ask about).
        in_force_only = isinstance(question.answer_type, DisclosureAnswerType)
        found = [
            item
            for item in items
            if item.type in types and not (in_force_only and item.id in ended)
        ]
        payload = _prefill_payload(question, found, today)
        if payload is not None:
            answers[question.id] = payload
    # A pre-filled answer the questionnaire would refuse (a source the answer rules do not
    # take, a question not shown yet) is left for the investor rather than failing the draft.
    _, errors = apply_answer_changes(questionnaire, {}, answers)
    refused = {error.question_id for error in errors}
    return {question_id: p for question_id, p in answers.items() if question_id not in refused}


def _prefill_payload(
    question: Question, found: list[EvidenceItem], today: date
) -> dict[str, Any] | None:
    if not found:
        return None
    answer_type = question.answer_type
    noun = "item" if len(found) == 1 else "items"
    comment = (
        f"Pre-filled on {today.isoformat()} from {len(found)} {noun} of the evidence registry: "
        "check it against your own research before submitting."
    )
    payload: dict[str, Any] = {"comment": comment, "evidence": _cited_sources(found)}
    if isinstance(answer_type, DisclosureAnswerType):
        return payload | {"type": "disclosure", "level": "full"}
    if isinstance(answer_type, NumberAnswerType):
        return payload | {"type": "number", "value": str(len(found)), "unit": answer_type.unit}
    return None


def _cited_sources(found: list[EvidenceItem]) -> list[dict[str, Any]]:
    """The first web source of each item, as answer evidence."""
    cited: list[dict[str, Any]] = []
    for item in found:
        source = next((s for s in item.sources if s.get("url")), None)
        if source is None:
            continue
        reference: dict[str, Any] = {
            "title": source["title"],
            "url": source["url"],
            "source": "company"
            if source.get("source_class") in _COMPANY_SOURCE_CLASSES
            else "independent",
        }
        if source.get("publisher"):
            reference["publisher"] = source["publisher"]
        if source.get("date"):
            reference["source_date"] = source["date"]
            precision = source.get("date_precision", "day")
            if precision != "day":
                reference["source_date_precision"] = precision
        cited.append(reference)
    return cited[:MAX_EVIDENCE_ITEMS]


def _require_none_open(session: Session, company_id: uuid.UUID, company_name: str) -> None:
    """One assessment per company at a time: a second draft would split the work, and which
    one stands for the company would depend on which was started last. A final one is carried
    on by reopening it (which copies its answers)."""
    live = session.execute(
        select(Assessment.id, Assessment.status)
        .where(
            Assessment.company_id == company_id,
            Assessment.status != AssessmentStatus.superseded.value,
        )
        .order_by(Assessment.created_at.desc())
    ).all()
    open_ = next((row for row in live if row.status != AssessmentStatus.final.value), None)
    if open_ is not None:
        raise Conflict(
            f"{company_name} already has a {open_.status} assessment, {open_.id}: "
            + (
                "continue it"
                if open_.status == AssessmentStatus.draft.value
                else "review it (approve or return it) first"
            )
        )
    if live:
        raise Conflict(
            f"{company_name} has a final assessment, {live[0].id}: reopen it "
            f"(POST /api/v1/assessments/{live[0].id}/reopen) to start the next version"
        )


# --- answers ---------------------------------------------------------------------------------


def kept_on_import(
    session: Session, assessment: Assessment, imported: Mapping[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Answers read from a filled XLSX template, merged with what the answers already hold.
    A row carries one evidence source and cannot clear a comment, and a template shows no
    sources (the questionnaire's comes out blank, an assessment's shows answers and comments):
    replacing whole answers silently dropped the sources an answer already cited. So a
    row sets the answer, keeps its sources and adds its own (unless already cited), keeps
    the comment unless it gives one, and keeps a number's unit. Removing a source or a
    comment is done through the API."""
    rows = answer_rows(session, assessment.id)
    merged: dict[str, dict[str, Any]] = {}
    for question_id, payload in imported.items():
        current = rows[question_id].payload if question_id in rows else {}
        result = dict(payload)
        if not result.get("comment") and current.get("comment"):
            result["comment"] = current["comment"]
        # A row's unit is always the question's, the only one allowed: an answer stored
        # without it (meaning the same) keeps that form, or an unchanged template would
        # rewrite it in the investor's name.
        if result.get("type") == "number" and current.get("type") == "number":
            result["unit"] = current.get("unit")
        sources = list(current.get("evidence") or [])
        for source in payload.get("evidence") or []:
            if not any(_same_source(source, cited) for cited in sources):
                sources.append(source)
        if sources:
            result["evidence"] = sources
        merged[question_id] = result
    return merged


def template_subject(session: Session, assessment: Assessment) -> TemplateSubject:
    """What a template made for ``assessment`` names and shows: its company, its answers, and
    why the questions its answers hide are hidden."""
    state = answers_state(session, assessment)
    return TemplateSubject(
        assessment_id=assessment.id,
        company_id=assessment.company_id,
        company_name=companies.company_name(session, assessment.company_id),
        answers={qid: row.payload for qid, row in state.rows.items()},
        hidden=hidden_reasons(state.questionnaire, state.payloads),
    )


def check_template_company(assessment: Assessment, filled: FilledTemplate) -> None:
    """A template made for one company's assessment is not evidence about another: 422 at
    `file` (a blank questionnaire template names no company and fits any). One that names its
    assessment but no longer its company must be this assessment's."""
    other_company = filled.company_id is not None and filled.company_id != str(
        assessment.company_id
    )
    other_assessment = (
        filled.company_id is None
        and filled.assessment_id is not None
        and filled.assessment_id != str(assessment.id)
    )
    if other_company or other_assessment:
        raise Invalid.at(
            "file",
            f"the template was made for an assessment of {filled.company_name or 'another company'}"
            f" (company {filled.company_id or 'not named'}, assessment "
            f"{filled.assessment_id or 'not named'}), and this assessment is of company "
            f"{assessment.company_id}; download this assessment's template "
            f"(GET /api/v1/assessments/{assessment.id}/template.xlsx)",
        )


def _same_source(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """The same web page or the same uploaded file (a trailing slash aside)."""

    def url(source: Mapping[str, Any]) -> str | None:
        return str(source["url"]).rstrip("/") if source.get("url") else None

    same_url = url(one) is not None and url(one) == url(other)
    same_file = one.get("file_id") is not None and str(one["file_id"]) == str(other.get("file_id"))
    return same_url or same_file


@dataclass
class AnswersWritten:
    # The question ids whose answers were set or changed (the same answer again is not).
    written: list[str]
    # The question ids whose stored answers were deleted (a deletion of none is not listed).
    deleted: list[str]
    # The answers after the write, for the response (``to_out``) without reading them again.
    state: AnswersState


def write_answers(
    session: Session,
    actor: Principal,
    assessment: Assessment,
    changes: Mapping[str, Any],
    if_match: str | None,
    *,
    locate: Locator = answer_problem,
    earlier_problems: Iterable[ProblemDetail] = (),
    in_body: bool = False,
    in_file: bool = False,
) -> AnswersWritten:
    """Set (raw payload) or delete (None) answers, all or nothing; returns the question ids
    written and the answers as they now are. Every bad item is reported (422), located by
    ``locate``, together with any ``earlier_problems`` the caller found while reading its
    input; nothing changes then. ``in_body``: the one change is the request's whole body
    (PUT of one answer), as messages about a wrongly shaped payload say; ``in_file``: the
    changes are an XLSX template's rows."""
    _require_draft_for_answers(assessment)
    begin_write(session, assessment, if_match, required=True)
    state = answers_state(session, assessment)
    questionnaire, rows = state.questionnaire, state.rows
    updated, errors = apply_answer_changes(
        questionnaire, state.payloads, changes, in_body=in_body, in_file=in_file
    )
    if not errors:
        errors = _unknown_files(
            session, assessment, {qid: updated[qid] for qid in changes if qid in updated}
        )
    problems = [*earlier_problems, *(locate(error) for error in errors)]
    if problems:
        raise _answers_invalid(problems)
    now = utcnow()
    written: list[str] = []
    deleted: list[str] = []
    events: list[dict[str, Any]] = []
    for question_id in changes:
        row = rows.get(question_id)
        payload = updated.get(question_id)
        old = row.payload if row is not None else None
        if payload is None:
            if row is not None:
                session.delete(row)
                del rows[question_id]
                deleted.append(question_id)
                events.append(
                    _answer_event(actor, assessment, question_id, old, None, "answer_deleted")
                )
            continue
        new = stored_form(payload)
        if row is None:
            row = rows[question_id] = AssessmentAnswer(
                organisation_id=assessment.organisation_id,
                assessment_id=assessment.id,
                question_id=question_id,
                payload=new,
                updated_by_key_id=actor.key_id,
                updated_by_name=actor.key_name,
                updated_at=now,
            )
            session.add(row)
        elif row.payload != new:
            row.payload = new
            row.updated_by_key_id = actor.key_id
            row.updated_by_name = actor.key_name
            row.updated_at = now
        else:
            continue  # the same answer again: nothing to record or report
        written.append(question_id)
        events.append(_answer_event(actor, assessment, question_id, old, new, "answer_set"))
    audit.write(session, events)
    session.flush()
    state.payloads = updated
    return AnswersWritten(written, deleted, state)


def delete_answer(
    session: Session,
    actor: Principal,
    assessment: Assessment,
    question_id: str,
    if_match: str | None,
) -> None:
    _require_draft_for_answers(assessment)
    questionnaire = questionnaire_for(session, assessment)
    if not questionnaire.has_question(question_id):
        raise Invalid.at(
            f"answers.{question_id}",
            f"questionnaire {questionnaire.key} {questionnaire.version} has no question "
            f"'{question_id}'",
        )
    exists = session.scalar(
        select(AssessmentAnswer.id).where(
            AssessmentAnswer.assessment_id == assessment.id,
            AssessmentAnswer.question_id == question_id,
        )
    )
    if exists is None:
        raise NotFound(f"question {question_id} has no answer in assessment {assessment.id}")
    write_answers(session, actor, assessment, {question_id: None}, if_match)


def stored_form(payload: AnswerPayload) -> dict[str, Any]:
    """How a payload is kept in the database: JSON types, unset optional fields left out."""
    return payload.model_dump(mode="json", exclude_none=True)


def _answer_event(
    actor: Principal,
    assessment: Assessment,
    question_id: str,
    old: Any,
    new: Any,
    action: str,
) -> dict[str, Any]:
    return audit.event(
        actor,
        AUDIT_ENTITY,
        assessment.id,
        action,
        field=f"answers.{question_id}",
        old=old,
        new=new,
    )


def _unknown_files(
    session: Session, assessment: Assessment, payloads: Mapping[str, AnswerPayload]
) -> list[AnswerError]:
    """Evidence that names an uploaded file must name a file of this assessment or of the
    final assessments it was reopened from (whose answers it copied)."""
    wanted = {
        evidence.file_id
        for payload in payloads.values()
        for evidence in payload.evidence
        if evidence.file_id is not None
    }
    if not wanted:
        return []
    known = set(
        session.scalars(
            select(AssessmentFile.id).where(
                AssessmentFile.id.in_(wanted),
                AssessmentFile.assessment_id.in_(lineage(session, assessment)),
            )
        )
    )
    return [
        AnswerError(
            question_id=question_id,
            path=f"evidence[{position}].file_id",
            code=AnswerErrorCode.invalid,
            message=f"no uploaded file {evidence.file_id} in this assessment; upload it to "
            f"/api/v1/assessments/{assessment.id}/files first",
        )
        for question_id, payload in payloads.items()
        for position, evidence in enumerate(payload.evidence)
        if evidence.file_id is not None and evidence.file_id not in known
    ]


def lineage(session: Session, assessment: Assessment) -> list[uuid.UUID]:
    """This assessment and the ones it was reopened from, newest first."""
    ids = [assessment.id]
    previous = assessment.previous_assessment_id
    while previous is not None and previous not in ids:
        ids.append(previous)
        previous = session.scalar(
            select(Assessment.previous_assessment_id).where(Assessment.id == previous)
        )
    return ids


def _answers_invalid(problems: list[ProblemDetail]) -> Invalid:
    count = len(problems)
    return Invalid(
        f"{count} problem{'s' if count != 1 else ''} with the answers, nothing was saved; "
        f"first: {problems[0].path}: {problems[0].message}",
        errors=problems,
    )


# --- submit, review, reopen -------------------------------------------------------------------


def _set_status(
    session: Session,
    actor: Principal,
    assessment: Assessment,
    status: AssessmentStatus,
    *,
    comment: str | None = None,
) -> None:
    old = assessment.status
    assessment.status = status.value
    audit.record(
        session,
        actor,
        AUDIT_ENTITY,
        assessment.id,
        "status_changed",
        field="status",
        old=old,
        new=status.value,
        comment=comment,
    )


def submit(
    session: Session, actor: Principal, assessment: Assessment, if_match: str | None
) -> None:
    """Lock a complete draft for review; 422 lists every missing required answer and every
    missing required evidence item (and answers no longer valid)."""
    _require_status(assessment, AssessmentStatus.draft, "submit")
    begin_write(session, assessment, if_match, required=True)
    questionnaire = questionnaire_for(session, assessment)
    problems = submission_problems(questionnaire, payloads_of(answer_rows(session, assessment.id)))
    if problems:
        raise Invalid(
            f"the assessment cannot be submitted yet: {len(problems)} problem(s) "
            "(missing required answers or evidence)",
            errors=[answer_problem(problem) for problem in problems],
        )
    assessment.submitted_at = utcnow()
    assessment.submitted_by_key_id = actor.key_id
    assessment.submitted_by_name = actor.key_name
    _set_status(session, actor, assessment, AssessmentStatus.submitted)
    session.flush()


def review(
    session: Session,
    actor: Principal,
    assessment: Assessment,
    data: ReviewIn,
    if_match: str | None,
) -> None:
    """Approve (final) or return (draft, with the comment kept) a submitted assessment.

    Four eyes: the key that submitted cannot review its own submission. Approving a reopened
    assessment marks the final one it replaced as superseded.
    """
    _require_status(assessment, AssessmentStatus.submitted, "review")
    if data.decision == ReviewDecision.return_ and not data.comment:
        raise Invalid.at("comment", "say what must change when returning an assessment")
    if assessment.submitted_by_key_id == actor.key_id:
        raise Forbidden("the key that submitted this assessment cannot review it; ask another")
    begin_write(session, assessment, if_match, required=False)
    assessment.reviewed_at = utcnow()
    assessment.reviewed_by_key_id = actor.key_id
    assessment.reviewed_by_name = actor.key_name
    assessment.review_comment = data.comment
    if data.decision == ReviewDecision.approve:
        _set_status(session, actor, assessment, AssessmentStatus.final, comment=data.comment)
        _supersede_previous(session, actor, assessment)
    else:
        _set_status(session, actor, assessment, AssessmentStatus.draft, comment=data.comment)
    session.flush()


def _supersede_previous(session: Session, actor: Principal, assessment: Assessment) -> None:
    if assessment.previous_assessment_id is None:
        return
    previous = session.get(Assessment, assessment.previous_assessment_id)
    if previous is None or previous.status != AssessmentStatus.final.value:
        return
    begin_write(session, previous, None, required=False)
    _set_status(
        session,
        actor,
        previous,
        AssessmentStatus.superseded,
        comment=f"replaced by assessment {assessment.id}",
    )


def reopen(
    session: Session, actor: Principal, assessment: Assessment, if_match: str | None
) -> Assessment:
    """Start a new draft from a final assessment, copying its answers. The final one is left
    exactly as it is (it stays final until the new one is approved)."""
    _require_status(assessment, AssessmentStatus.final, "reopen")
    check_if_match(
        if_match,
        etag_of(assessment),
        required=False,
        stale=lambda: changed_since(session, assessment, if_match),
    )
    successor = session.scalar(
        select(Assessment.id).where(Assessment.previous_assessment_id == assessment.id)
    )
    if successor is not None:
        raise Conflict(f"assessment {assessment.id} was already reopened as {successor}")
    reopened = Assessment(
        organisation_id=assessment.organisation_id,
        company_id=assessment.company_id,
        questionnaire_version_id=assessment.questionnaire_version_id,
        status=AssessmentStatus.draft.value,
        previous_assessment_id=assessment.id,
        created_by_key_id=actor.key_id,
        created_by_name=actor.key_name,
    )
    session.add(reopened)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"assessment {assessment.id} was just reopened by someone else") from exc
    now = utcnow()
    rows = answer_rows(session, assessment.id)
    for question_id, row in rows.items():
        session.add(
            AssessmentAnswer(
                organisation_id=assessment.organisation_id,
                assessment_id=reopened.id,
                question_id=question_id,
                payload=row.payload,
                updated_by_key_id=actor.key_id,
                updated_by_name=actor.key_name,
                updated_at=now,
            )
        )
    audit.record(
        session,
        actor,
        AUDIT_ENTITY,
        reopened.id,
        "created",
        field="status",
        new=AssessmentStatus.draft.value,
        comment=f"reopened from final assessment {assessment.id}; {len(rows)} answers copied",
    )
    audit.record(
        session,
        actor,
        AUDIT_ENTITY,
        assessment.id,
        "reopened",
        new=str(reopened.id),
        comment="a new draft copies this assessment's answers; this one is unchanged",
    )
    session.flush()
    return reopened


# --- export and import -------------------------------------------------------------------------


def export_answers(session: Session, assessment: Assessment, now: datetime) -> ExportedAnswers:
    """The answers that count (hidden questions' answers are left out, as they are ignored)."""
    version_row = questionnaire_row(session, assessment)
    questionnaire = questionnaires.questionnaire_at(session, version_row)
    rows = answer_rows(session, assessment.id)
    visible = visible_questions(questionnaire, payloads_of(rows))
    company_name = companies.company_name(session, assessment.company_id)
    return ExportedAnswers(
        format=EXPORT_FORMAT,
        questionnaire_key=version_row.key,
        questionnaire_version=version_row.version,
        answers={
            question_id: rows[question_id].payload
            for question_id in questionnaire.question_ids
            if question_id in rows and question_id in visible
        },
        assessment_id=assessment.id,
        company_id=assessment.company_id,
        company_name=company_name,
        status=AssessmentStatus(assessment.status),
        exported_at=now,
    )


def import_answers(
    session: Session,
    actor: Principal,
    assessment: Assessment,
    document: AnswersDocument,
    if_match: str | None,
) -> list[str]:
    """Set every answer of the document, all or nothing. The document must be for this
    assessment's questionnaire key and version, so question ids mean the same thing."""
    version_row = questionnaire_row(session, assessment)
    mismatches = [
        ProblemDetail(path=field, message=f"the assessment uses {expected}, not {given}")
        for field, given, expected in (
            ("questionnaire_key", document.questionnaire_key, version_row.key),
            ("questionnaire_version", document.questionnaire_version, version_row.version),
        )
        if given != expected
    ]
    if mismatches:
        raise Invalid("the answers are for another questionnaire", errors=mismatches)
    if document.company_id is not None and document.company_id != assessment.company_id:
        # An export of one company's answers is not evidence about another; a document meant
        # as a template for several companies leaves company_id out.
        raise Invalid.at(
            "company_id",
            f"the answers were exported from an assessment of company {document.company_id}, "
            f"and this assessment is of {assessment.company_id}; leave company_id out to "
            "import them anyway",
        )
    return write_answers(session, actor, assessment, document.answers, if_match).written


# --- files ------------------------------------------------------------------------------------


def store_file(
    session: Session,
    actor: Principal,
    assessment: Assessment,
    data: bytes,
    declared_type: str | None,
    filename: str | None,
    data_dir: Path,
) -> AssessmentFile:
    """Keep an evidence file for this assessment (its bytes outside the database)."""
    _require_draft_for_answers(assessment)
    media_type = file_store.accepted_media_type(declared_type, data)
    digest = file_store.store_bytes(data_dir / "files", data)
    stored = AssessmentFile(
        organisation_id=assessment.organisation_id,
        assessment_id=assessment.id,
        sha256=digest,
        size=len(data),
        media_type=media_type,
        filename=file_store.safe_filename(filename),
        uploaded_by_key_id=actor.key_id,
        uploaded_by_name=actor.key_name,
    )
    session.add(stored)
    session.flush()
    audit.record(
        session,
        actor,
        AUDIT_ENTITY,
        assessment.id,
        "file_uploaded",
        new={"file_id": str(stored.id), "sha256": digest, "filename": stored.filename},
    )
    return stored


def get_file(session: Session, assessment: Assessment, file_id: uuid.UUID) -> AssessmentFile:
    stored = session.get(AssessmentFile, file_id)
    if stored is None or stored.assessment_id not in lineage(session, assessment):
        raise NotFound(f"no file {file_id} in assessment {assessment.id}")
    return stored


def file_path(data_dir: Path, stored: AssessmentFile) -> Path:
    """Where the bytes are; 404 when they were removed from the data folder."""
    path = data_dir / "files" / stored.sha256
    if not path.is_file():
        raise NotFound(f"the stored bytes of file {stored.id} are missing from the data folder")
    return path


def file_out(stored: AssessmentFile) -> FileOut:
    return FileOut(
        id=stored.id,
        assessment_id=stored.assessment_id,
        filename=stored.filename,
        media_type=stored.media_type,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by=stored.uploaded_by_name,
        created_at=stored.created_at,
    )


# --- for scoring and reports ------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentForScoring:
    """What the scoring engine needs of one assessment, parsed and ready.

    ``answers`` holds only answers that count (visible questions); answers kept for questions
    a later change hid are in ``excluded_answers`` and must not be scored.
    """

    assessment_id: uuid.UUID
    organisation_id: uuid.UUID
    company_id: uuid.UUID
    status: AssessmentStatus
    version: int
    questionnaire_version_id: uuid.UUID
    questionnaire: Questionnaire
    answers: dict[str, AnswerPayload]
    excluded_answers: dict[str, AnswerPayload]
    visible_question_ids: frozenset[str]
    updated_at: datetime
    reviewed_at: datetime | None


def get_assessment_for_scoring(session: Session, assessment_id: uuid.UUID) -> AssessmentForScoring:
    """One assessment of the session's organisation (404 otherwise), any status."""
    assessment = get_assessment(session, assessment_id)
    questionnaire = questionnaire_for(session, assessment)
    payloads = payloads_of(answer_rows(session, assessment.id))
    visible = visible_questions(questionnaire, payloads)
    return AssessmentForScoring(
        assessment_id=assessment.id,
        organisation_id=assessment.organisation_id,
        company_id=assessment.company_id,
        status=AssessmentStatus(assessment.status),
        version=assessment.version,
        questionnaire_version_id=assessment.questionnaire_version_id,
        questionnaire=questionnaire,
        answers={qid: p for qid, p in payloads.items() if qid in visible},
        excluded_answers={qid: p for qid, p in payloads.items() if qid not in visible},
        visible_question_ids=frozenset(visible),
        updated_at=assessment.updated_at,
        reviewed_at=assessment.reviewed_at,
    )
