"""Questionnaires API: list versions, read one, publish a new one, download its XLSX template.

Questionnaires are shared by every organisation. Analysts publish new versions (YAML file or
JSON body), validated exactly as the bundled files are; a published key and version is never
overwritten. (The response models live here: questionnaires/schemas.py holds the questionnaire
document itself.)
"""

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from hrdd.assessments import xlsx as xlsx_template
from hrdd.assessments.files import read_limited
from hrdd.db import utcnow
from hrdd.deps import Analyst, DbSession, Investor
from hrdd.errors import Invalid, UnsupportedMediaType, problem_responses
from hrdd.http import PageParams, attachment, page_params
from hrdd.questionnaires import service
from hrdd.questionnaires.models import QuestionnaireVersion
from hrdd.questionnaires.schemas import QUESTIONNAIRE_KEY_PATTERN, Questionnaire
from hrdd.scoring import service as scoring
from hrdd.workbooks import XLSX_MEDIA_TYPE

router = APIRouter(prefix="/questionnaires", tags=["questionnaires"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The questionnaire as a YAML (or JSON) file",
                        }
                    },
                    "required": ["file"],
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "The questionnaire document: the same fields as the YAML "
                    "files (key, version, title, description, source_basis, themes, sections, "
                    "questions)",
                }
            },
        },
    }
}


class QuestionnaireVersionSummary(BaseModel):
    id: uuid.UUID
    key: str
    version: str
    title: str
    source: str = Field(description="bundled (from the questionnaires folder) or api")
    shared: bool = Field(
        description="True for a version every organisation sees (a bundled one, or one "
        "published before versions became private that several organisations had used); "
        "false for one your organisation published, which only it sees"
    )
    frozen: bool = Field(description="An assessment uses it: its content can never change")
    content_hash: str
    question_count: int
    created_at: datetime


class QuestionnaireVersionOut(QuestionnaireVersionSummary):
    content: Questionnaire


class QuestionnaireVersionList(BaseModel):
    items: list[QuestionnaireVersionSummary]
    next_cursor: str | None = None


def _summary(row: QuestionnaireVersion) -> QuestionnaireVersionSummary:
    return QuestionnaireVersionSummary(
        id=row.id,
        key=row.key,
        version=row.version,
        title=row.title,
        source=row.source,
        shared=row.organisation_id is None,
        frozen=row.frozen,
        content_hash=row.content_hash,
        question_count=len(row.content.get("questions", [])),
        created_at=row.created_at,
    )


def _out(row: QuestionnaireVersion) -> QuestionnaireVersionOut:
    return QuestionnaireVersionOut(
        **_summary(row).model_dump(), content=service.questionnaire_of(row)
    )


@router.get(
    "",
    summary="List questionnaire versions",
    response_model=QuestionnaireVersionList,
    responses=problem_responses(401, 422),
)
def list_questionnaires(
    session: DbSession,
    _: Investor,
    page: Annotated[PageParams, Depends(page_params)],
    key: Annotated[str | None, Query(pattern=QUESTIONNAIRE_KEY_PATTERN)] = None,
) -> QuestionnaireVersionList:
    rows, next_cursor = service.list_versions(session, key, page)
    return QuestionnaireVersionList(items=[_summary(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "",
    summary="Publish a new questionnaire version (analyst)",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionnaireVersionOut,
    responses=problem_responses(401, 403, 409, 413, 415, 422),
    openapi_extra=_UPLOAD_BODY,
    description="Send the questionnaire as a multipart `file` (YAML or JSON) or as a JSON "
    "body. It is validated exactly as bundled files are; 422 lists every problem with the "
    "question id and field (`questions.EU4.answer_type.options`). The version is your "
    "organisation's: no other organisation sees it or gets it by default. 409 when your "
    "organisation or the bundled set has the key and version already: versions are never "
    "overwritten.",
)
async def publish_questionnaire(
    request: Request, session: DbSession, principal: Analyst, response: Response
) -> QuestionnaireVersionOut:
    document = await _read_document(request)
    questionnaire = await run_in_threadpool(service.parse_upload, *document)
    row = await run_in_threadpool(service.publish_version, session, questionnaire, principal)
    response.headers["Location"] = f"/api/v1/questionnaires/{row.key}/versions/{row.version}"
    response.headers["ETag"] = f'"{row.content_hash}"'
    return _out(row)


async def _read_document(request: Request) -> tuple[dict[str, Any] | str, str, str]:
    """(document, source name, request part) from a multipart `file` or a JSON body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid.at("file", "send the questionnaire as a multipart part named 'file'")
        data = read_limited(upload.file, request.app.state.settings.max_upload_bytes)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Invalid.at("file", "the file is not UTF-8 text") from exc
        return text, upload.filename or "upload", "file"
    if content_type == "application/json":
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise Invalid.at("body", f"malformed JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise Invalid.at("body", "the questionnaire must be a JSON object")
        return body, "request body", "body"
    raise UnsupportedMediaType(
        "send multipart/form-data with a 'file' part or an application/json body"
    )


@router.get(
    "/{key}/versions/{version}",
    summary="Read a questionnaire version (full content)",
    response_model=QuestionnaireVersionOut,
    responses=problem_responses(401, 404, 422),
)
def read_questionnaire(
    key: str, version: str, session: DbSession, _: Investor, response: Response
) -> QuestionnaireVersionOut:
    row = service.get_version(session, key, version)
    response.headers["ETag"] = f'"{row.content_hash}"'
    return _out(row)


@router.get(
    "/{key}/versions/{version}/template.xlsx",
    summary="Download the XLSX template for offline completion",
    response_class=Response,
    responses={
        200: xlsx_template.TEMPLATE_DOWNLOAD,
        **problem_responses(401, 404, 422),
    },
    description="One row per question (id, section, text, guidance, answer type and whether "
    "the organisation's rules in use score it, allowed values, conditions) and columns for "
    "the answer, a not-applicable reason, a comment and one evidence source; drop-down "
    "lists for disclosure levels and options. Fill it in and "
    "POST it to /api/v1/assessments/{id}/import.xlsx.",
)
def download_template(key: str, version: str, session: DbSession, _: Investor) -> Response:
    row = service.get_version(session, key, version)
    questionnaire = service.questionnaire_of(row)
    content = xlsx_template.template_bytes(
        questionnaire, scoring.scored_questions(session, questionnaire)
    )
    filename = f"{row.key}-{row.version}-template-{utcnow().date().isoformat()}.xlsx"
    return attachment(content, XLSX_MEDIA_TYPE, filename)
