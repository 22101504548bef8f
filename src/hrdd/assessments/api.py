"""Assessments API: create, answer, submit, review, reopen, history, export and import.

Concurrency: every response that shows an assessment carries its `ETag`. Writes to answers,
submit and imports REQUIRE `If-Match` with that ETag (428 without it, 412 when stale), so two
investors editing one assessment never silently overwrite each other. Review and reopen accept
`If-Match` and check it when given (their state checks already refuse a second reviewer).
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Request, Response, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session

from hrdd.assessments import service
from hrdd.assessments import xlsx as xlsx_template
from hrdd.assessments.files import ALLOWED_MEDIA_TYPES, read_limited
from hrdd.assessments.models import Assessment
from hrdd.assessments.schemas import (
    AnswerBatch,
    AnswersDocument,
    AssessmentCreate,
    AssessmentList,
    AssessmentOut,
    ExportedAnswers,
    FileOut,
    ImportResult,
    RawPayload,
    ReviewIn,
)
from hrdd.audit.schemas import AuditEventList, AuditEventOut
from hrdd.config import Settings
from hrdd.db import utcnow
from hrdd.deps import Analyst, DbSession, Investor, in_worker_thread, reading_session
from hrdd.errors import ProblemDetail, problem_responses
from hrdd.http import IfMatch, PageParams, RequiredIfMatch, attachment, page_params
from hrdd.portfolios.exports import download_name
from hrdd.questionnaires.answers import AnswerError
from hrdd.scoring import service as scoring
from hrdd.vocab import AssessmentStatus
from hrdd.workbooks import XLSX_MEDIA_TYPE

router = APIRouter(prefix="/assessments", tags=["assessments"])

_READ_ERRORS = problem_responses(401, 403, 404, 422)
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 413, 422, 428)
# Writes that check If-Match only when it is given: no 428.
_OPTIONAL_ETAG_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 413, 422)
# Writes that take no If-Match (creating, choosing): no 412 or 428.
_NO_ETAG_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 413, 422)
_IF_MATCH_REQUIRED = (
    " Send the assessment's ETag as `If-Match`: it is required (428 without it) and a stale "
    "one gets 412 with nothing changed."
)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _with_etag(response: Response, assessment: Assessment) -> None:
    response.headers["ETag"] = service.etag_of(assessment)


def _view(
    session: Session,
    assessment: Assessment,
    response: Response,
    state: service.AnswersState | None = None,
) -> AssessmentOut:
    _with_etag(response, assessment)
    return service.to_out(session, assessment, state)


@router.post(
    "",
    summary="Start an assessment of a company (draft)",
    status_code=status.HTTP_201_CREATED,
    response_model=AssessmentOut,
    responses=_NO_ETAG_WRITE_ERRORS,
)
def create_assessment(
    data: AssessmentCreate, session: DbSession, principal: Investor, response: Response
) -> AssessmentOut:
    """Creates a draft for the company with the questionnaire version given, or the latest
    release of the key. 404 for an unknown company or questionnaire. The questionnaire version
    is frozen from now on."""
    assessment = service.create_assessment(session, principal, data)
    response.headers["Location"] = f"/api/v1/assessments/{assessment.id}"
    return _view(session, assessment, response)


@router.get(
    "",
    summary="List the organisation's assessments",
    response_model=AssessmentList,
    responses=_READ_ERRORS,
)
def list_assessments(
    session: DbSession,
    _: Investor,
    page: Annotated[PageParams, Depends(page_params)],
    company_id: uuid.UUID | None = None,
    status: AssessmentStatus | None = None,
) -> AssessmentList:
    assessments, next_cursor = service.list_assessments(session, page, company_id, status)
    return AssessmentList(items=service.summaries(session, assessments), next_cursor=next_cursor)


@router.get(
    "/{assessment_id}",
    summary="Read an assessment: answers, visible questions, progress, validation",
    response_model=AssessmentOut,
    responses=_READ_ERRORS,
)
def read_assessment(
    assessment_id: uuid.UUID, session: DbSession, _: Investor, response: Response
) -> AssessmentOut:
    """Answers to questions that later answers hid are kept, flagged `excluded`, and count
    nowhere. `validation.problems` lists what a submit would refuse now."""
    return _view(session, service.get_assessment(session, assessment_id), response)


@router.put(
    "/{assessment_id}/answers/{question_id}",
    summary="Replace one answer with the body, sources and comment included (If-Match required)",
    response_model=AssessmentOut,
    responses=_WRITE_ERRORS,
    description="The body becomes the question's whole answer, exactly as sent: what it "
    "leaves out is not kept from the answer it replaces, its `evidence` sources and `comment` "
    "included (the history keeps the old answer). To change only the value and keep them, "
    "send them again (read the answer, change it, PUT it back). Validated against the "
    "question's answer type; a 422's paths name the body's fields as they are (`level`, "
    "`evidence[0].url`; `body` for the answer as a whole, `path.question_id` for a question "
    "the questionnaire does not have), and nothing is saved. Only drafts take answers (409 "
    "otherwise)." + _IF_MATCH_REQUIRED,
)
async def put_answer(
    assessment_id: uuid.UUID,
    question_id: str,
    payload: Annotated[RawPayload, Body()],
    session: DbSession,
    principal: Investor,
    response: Response,
    if_match: RequiredIfMatch,
) -> AssessmentOut:
    def work() -> AssessmentOut:
        assessment = service.get_assessment(session, assessment_id)
        written = service.write_answers(
            session,
            principal,
            assessment,
            {question_id: payload},
            if_match,
            locate=service.body_problem,
            in_body=True,
        )
        return _view(session, assessment, response, written.state)

    return await in_worker_thread(session, work)


@router.patch(
    "/{assessment_id}/answers",
    summary="Set or delete several answers, all or nothing (If-Match required)",
    response_model=AssessmentOut,
    responses=_WRITE_ERRORS,
    description="`answers` maps question ids to payloads, or to null to delete the answer. "
    "Each answer sent replaces that question's answer whole, as PUT does (sources and comment "
    "left out are not kept); questions the batch does not name keep theirs. Every bad item is "
    "reported (`answers.<QID>.<field>`) and then nothing is saved. A batch may answer a "
    "question and the questions it reveals together." + _IF_MATCH_REQUIRED,
)
async def patch_answers(
    assessment_id: uuid.UUID,
    batch: AnswerBatch,
    session: DbSession,
    principal: Investor,
    response: Response,
    if_match: RequiredIfMatch,
) -> AssessmentOut:
    def work() -> AssessmentOut:
        assessment = service.get_assessment(session, assessment_id)
        written = service.write_answers(session, principal, assessment, batch.answers, if_match)
        return _view(session, assessment, response, written.state)

    return await in_worker_thread(session, work)


@router.delete(
    "/{assessment_id}/answers/{question_id}",
    summary="Delete one answer (If-Match required)",
    response_model=AssessmentOut,
    responses=_WRITE_ERRORS,
    description="404 when the question has no answer." + _IF_MATCH_REQUIRED,
)
def delete_answer(
    assessment_id: uuid.UUID,
    question_id: str,
    session: DbSession,
    principal: Investor,
    response: Response,
    if_match: RequiredIfMatch,
) -> AssessmentOut:
    assessment = service.get_assessment(session, assessment_id)
    service.delete_answer(session, principal, assessment, question_id, if_match)
    return _view(session, assessment, response)


@router.post(
    "/{assessment_id}/submit",
    summary="Submit a draft for review (If-Match required)",
    response_model=AssessmentOut,
    responses=_WRITE_ERRORS,
    description="409 unless the assessment is a draft. 422 lists every missing required "
    "answer and missing required evidence; otherwise the assessment is `submitted` and its "
    "answers locked." + _IF_MATCH_REQUIRED,
)
def submit_assessment(
    assessment_id: uuid.UUID,
    session: DbSession,
    principal: Investor,
    response: Response,
    if_match: RequiredIfMatch,
) -> AssessmentOut:
    assessment = service.get_assessment(session, assessment_id)
    service.submit(session, principal, assessment, if_match)
    return _view(session, assessment, response)


@router.post(
    "/{assessment_id}/review",
    summary="Approve or return a submitted assessment (analyst)",
    response_model=AssessmentOut,
    responses=_OPTIONAL_ETAG_WRITE_ERRORS,
    description="`approve` makes it `final`; `return` sends it back to `draft` with the "
    "comment kept (a comment is required then). 409 unless it is `submitted`; 403 for the key "
    "that submitted it (four eyes). `If-Match` is checked when given.",
)
def review_assessment(
    assessment_id: uuid.UUID,
    data: ReviewIn,
    session: DbSession,
    principal: Analyst,
    response: Response,
    if_match: IfMatch = None,
) -> AssessmentOut:
    assessment = service.get_assessment(session, assessment_id)
    service.review(session, principal, assessment, data, if_match)
    return _view(session, assessment, response)


@router.post(
    "/{assessment_id}/reopen",
    summary="Reopen a final assessment as a new draft version",
    status_code=status.HTTP_201_CREATED,
    response_model=AssessmentOut,
    responses=_OPTIONAL_ETAG_WRITE_ERRORS,
    description="Creates a new draft that copies the answers and links back to this one "
    "(`previous_assessment_id`); this one stays unchanged and final until the new one is "
    "approved, when it becomes `superseded`. 409 unless final or when already reopened.",
)
def reopen_assessment(
    assessment_id: uuid.UUID,
    session: DbSession,
    principal: Investor,
    response: Response,
    if_match: IfMatch = None,
) -> AssessmentOut:
    assessment = service.get_assessment(session, assessment_id)
    reopened = service.reopen(session, principal, assessment, if_match)
    response.headers["Location"] = f"/api/v1/assessments/{reopened.id}"
    return _view(session, reopened, response)


@router.get(
    "/{assessment_id}/history",
    summary="Audit trail: every answer change and status change",
    response_model=AuditEventList,
    responses=_READ_ERRORS,
)
def assessment_history(
    assessment_id: uuid.UUID,
    session: DbSession,
    _: Investor,
    page: Annotated[PageParams, Depends(page_params)],
) -> AuditEventList:
    """Oldest first. Answer changes have `field` `answers.<QID>` with old and new payloads;
    status changes have `field` `status`; review comments are in `comment`."""
    assessment = service.get_assessment(session, assessment_id)
    events, next_cursor = service.assessment_history(session, assessment, page)
    return AuditEventList(
        items=[AuditEventOut.model_validate(event, from_attributes=True) for event in events],
        next_cursor=next_cursor,
    )


@router.get(
    "/{assessment_id}/export",
    summary="Export the answers as JSON",
    response_model=ExportedAnswers,
    responses=_READ_ERRORS,
)
def export_answers(assessment_id: uuid.UUID, session: DbSession, _: Investor) -> JSONResponse:
    """The answers that count (answers kept for hidden questions are left out). The body can
    be imported into another draft of the same questionnaire version."""
    assessment = service.get_assessment(session, assessment_id)
    now = utcnow()
    exported = service.export_answers(session, assessment, now)
    filename = f"assessment-{assessment.id}-{now.date().isoformat()}.json"
    return JSONResponse(
        exported.model_dump(mode="json"),
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "ETag": service.etag_of(assessment),
        },
    )


@router.post(
    "/{assessment_id}/import",
    summary="Import answers from JSON, all or nothing (If-Match required)",
    response_model=ImportResult,
    responses=_WRITE_ERRORS,
    description="The body is the export format. Answers it holds replace the same questions' "
    "answers; questions it leaves out keep theirs. It must be for this assessment's "
    "questionnaire key and version. Every bad answer is reported and then nothing is saved."
    + _IF_MATCH_REQUIRED,
)
def import_answers(
    assessment_id: uuid.UUID,
    document: AnswersDocument,
    session: DbSession,
    principal: Investor,
    response: Response,
    if_match: RequiredIfMatch,
) -> ImportResult:
    assessment = service.get_assessment(session, assessment_id)
    written = service.import_answers(session, principal, assessment, document, if_match)
    _with_etag(response, assessment)
    return ImportResult(assessment_id=assessment.id, imported=written, version=assessment.version)


@router.get(
    "/{assessment_id}/template.xlsx",
    summary="Download this assessment's XLSX template, with its company and answers",
    response_class=Response,
    responses={
        200: xlsx_template.TEMPLATE_DOWNLOAD,
        **problem_responses(401, 403, 404, 422),
    },
    description="The template of the assessment's questionnaire version, as GET "
    "/api/v1/questionnaires/{key}/versions/{version}/template.xlsx gives it, with the "
    "company named on the About sheet and the answers so far (pre-filled ones included) in "
    "the Answer, Not-applicable reason and Comment columns; sources are not repeated, and an "
    "import keeps them. Its Shown now column says of each question whether the answers so far "
    "show it, or why they hide it (`No: hidden because EX5 is 'no'`), and a hidden question's "
    "row is grey: an answer to it is refused unless the same import changes the answer that "
    "hides it. Importing it into an assessment of another company is refused.",
)
def download_template(assessment_id: uuid.UUID, session: DbSession, _: Investor) -> Response:
    assessment = service.get_assessment(session, assessment_id)
    questionnaire = service.questionnaire_for(session, assessment)
    subject = service.template_subject(session, assessment)
    content = xlsx_template.template_bytes(
        questionnaire, scoring.scored_questions(session, questionnaire), subject
    )
    filename = download_name(
        f"{subject.company_name} {questionnaire.key} {questionnaire.version}",
        "template",
        utcnow().date(),
        "xlsx",
    )
    return attachment(content, XLSX_MEDIA_TYPE, filename)


@router.post(
    "/{assessment_id}/import.xlsx",
    summary="Import a filled XLSX template, all or nothing (If-Match required)",
    response_model=ImportResult,
    responses=_WRITE_ERRORS,
    description="Multipart `file`: this assessment's template (GET "
    "/api/v1/assessments/{id}/template.xlsx), or the blank template of its questionnaire "
    "version (GET /api/v1/questionnaires/{key}/versions/{version}/template.xlsx), with answers "
    "filled in. A template made for an assessment of another company is a 422 at `file`. "
    "Rows with an empty answer are skipped: clearing a row deletes nothing. A row sets its "
    "answer and keeps what the answer already holds: its evidence sources (the row's source "
    "is added unless already cited) and its comment unless the row gives one; remove those "
    "through the API. A row whose `Remove answer` column says `remove` (its drop-down's only "
    "value) deletes the question's answer as PATCH .../answers with null does (recorded in "
    "the history; a question the removal hides keeps its answer: its row left as it is "
    "changes nothing, a changed answer to it is refused as a hidden question); its other "
    "answer cells must be empty (otherwise a 422 at `rows.<row number>.remove_answer`), any "
    "other value there is refused the same way, and an answer that is not there is left "
    "alone, so importing the same workbook again changes nothing. `removed` lists the "
    "answers deleted. Templates made before the Shown now column (format 3), the Remove "
    "answer column (format 2) or the evidence source column (format 1) are still read. A "
    "workbook that is not that template is a 422 at `file`; problems in rows are reported "
    "as `rows.<row number>.<column>`, and then nothing is saved." + _IF_MATCH_REQUIRED,
)
def import_xlsx(
    assessment_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="The filled XLSX template")],
    request: Request,
    session: DbSession,
    principal: Investor,
    response: Response,
    if_match: RequiredIfMatch,
) -> ImportResult:
    # The workbook is read before the write begins: on SQLite the write's first query takes
    # the database's one write lock, which a long read would hold from every organisation.
    with reading_session(request, principal) as reading:
        read_for = service.get_assessment(reading, assessment_id)
        version_id, questionnaire = (
            read_for.questionnaire_version_id,
            service.questionnaire_for(reading, read_for),
        )
    data = read_limited(file.file, _settings(request).max_upload_bytes)
    filled = xlsx_template.read_template(data, questionnaire)
    assessment = service.get_assessment(session, assessment_id)
    if assessment.questionnaire_version_id != version_id:  # moved meanwhile: read it again
        filled = xlsx_template.read_template(data, service.questionnaire_for(session, assessment))
    service.check_template_company(assessment, filled)

    def locate(error: AnswerError) -> ProblemDetail:
        row = filled.rows[error.question_id]
        return ProblemDetail(
            path=f"rows.{row}.{xlsx_template.column_for(error.path)}",
            message=f"row {row}, question {error.question_id}: {error.message}",
        )

    # None deletes, as in PATCH: the same call keeps the rules and the history the same.
    changes: dict[str, dict[str, Any] | None] = {
        **service.kept_on_import(session, assessment, filled.answers),
        **dict.fromkeys(filled.removed),
    }
    written = service.write_answers(
        session,
        principal,
        assessment,
        changes,
        if_match,
        locate=locate,
        earlier_problems=filled.problems,
        in_file=True,
    )
    _with_etag(response, assessment)
    return ImportResult(
        assessment_id=assessment.id,
        imported=written.written,
        removed=written.deleted,
        version=assessment.version,
    )


@router.post(
    "/{assessment_id}/files",
    summary="Upload an evidence file",
    status_code=status.HTTP_201_CREATED,
    response_model=FileOut,
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422),
    description="Multipart `file`: PDF, PNG, JPEG, plain text, CSV, DOCX or XLSX, up to the "
    "upload limit (413 above it). The content is checked, not only the declared type (415 when "
    "it is not an accepted kind or does not match). Use the returned `id` as `file_id` in an "
    "answer's evidence. Only drafts take files (409). An upload does not change the "
    "assessment's version: a file counts only once an answer cites it.",
)
def upload_file(
    assessment_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="The evidence file")],
    request: Request,
    session: DbSession,
    principal: Investor,
    response: Response,
) -> FileOut:
    assessment = service.get_assessment(session, assessment_id)
    settings = _settings(request)
    data = read_limited(file.file, settings.max_upload_bytes)
    stored = service.store_file(
        session, principal, assessment, data, file.content_type, file.filename, settings.data_dir
    )
    response.headers["Location"] = f"/api/v1/assessments/{assessment.id}/files/{stored.id}"
    return service.file_out(stored)


@router.get(
    "/{assessment_id}/files/{file_id}",
    summary="Download an evidence file",
    response_class=FileResponse,
    responses={
        200: {
            "content": {media_type: {} for media_type in sorted(ALLOWED_MEDIA_TYPES)},
            "description": "The file, with the media type it was stored with",
        },
        **problem_responses(401, 403, 404, 422),
    },
)
def download_file(
    assessment_id: uuid.UUID,
    file_id: uuid.UUID,
    request: Request,
    session: DbSession,
    _: Investor,
) -> FileResponse:
    assessment = service.get_assessment(session, assessment_id)
    stored = service.get_file(session, assessment, file_id)
    return FileResponse(
        service.file_path(_settings(request).data_dir, stored),
        media_type=stored.media_type,
        filename=stored.filename,
    )
