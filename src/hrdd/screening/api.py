"""Screening-list imports and the review queue of uncertain matches (analysts only)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status

from hrdd.config import Settings
from hrdd.csv_files import refuse_workbook
from hrdd.dates import PastDate
from hrdd.db import utcnow
from hrdd.deps import Analyst, DbSession, reading_session
from hrdd.errors import Invalid, PayloadTooLarge, problem_responses
from hrdd.http import PageParams, page_params
from hrdd.scoring import service as scoring
from hrdd.screening import service
from hrdd.screening.models import ScreeningImport, ScreeningMatch
from hrdd.screening.schemas import (
    MatchStatus,
    ScreeningImportList,
    ScreeningImportOut,
    ScreeningMatchList,
    ScreeningMatchOut,
)

router = APIRouter(prefix="/screening", tags=["screening"])

_READ_ERRORS = problem_responses(401, 403, 404, 422)
_DECIDE_ERRORS = problem_responses(401, 403, 404, 409, 422)
Page = Annotated[PageParams, Depends(page_params)]


def _import_out(run: ScreeningImport) -> ScreeningImportOut:
    return ScreeningImportOut.model_validate(run, from_attributes=True)


def _match_out(match: ScreeningMatch) -> ScreeningMatchOut:
    out = ScreeningMatchOut.model_validate(match, from_attributes=True)
    out.matched_identifier = match.record.get("matched_identifier")
    return out


@router.post(
    "/imports",
    summary="Import a screening-list file (US CSL or OpenSanctions targets.simple.csv)",
    status_code=status.HTTP_201_CREATED,
    response_model=ScreeningImportOut,
    responses=problem_responses(401, 403, 409, 413, 422),
    description=(
        "Multipart `file`: the US Consolidated Screening List CSV or an OpenSanctions "
        "`targets.simple.csv` (the header tells which). All or nothing: a bad line is a 422 "
        "naming it (`file.line.<n>.<column>`) and nothing is kept. Identifier matches and "
        "exact name matches (the same name but for case, punctuation and legal form such as "
        "Ltd or GmbH) become evidence private to your organisation at once, listed in "
        "`/screening/matches` as `auto_confirmed`; near names join the review queue. A record "
        "matched in an earlier snapshot of the same list (`list_key`, default the format) and "
        "missing from this one is recorded as a delisting dated `snapshot_date` (default "
        "today), which ends that record's listing alone (named in its `closes`; other entries "
        "of the list, curated ones included, stay in force and its summary names them), once "
        "no record of that list in this one still matches the company, and only if "
        "this file has a row of the list the record was on: the lists it has none of are "
        "returned in `lists_not_covered`, their records left listed. Snapshots "
        "of a list must come in date order (409). Importing the same file again creates "
        "nothing new."
    ),
)
def import_list(
    request: Request,
    session: DbSession,
    principal: Analyst,
    response: Response,
    file: Annotated[UploadFile, File(description="The list file, UTF-8 CSV")],
    snapshot_date: Annotated[
        PastDate | None,
        Form(description="The day the list file was downloaded (not in the future)"),
    ] = None,
    list_key: Annotated[
        str | None,
        Form(
            min_length=1,
            max_length=100,
            pattern=r"^[a-z0-9_\-]+$",
            description="Which list this is a snapshot of, e.g. us_ofac_sdn",
        ),
    ] = None,
) -> ScreeningImportOut:
    settings: Settings = request.app.state.settings
    size = file.size
    if size is None:
        size = file.file.seek(0, 2)
        file.file.seek(0)
    limit = settings.max_upload_bytes
    if size > limit:
        raise PayloadTooLarge(f"the file is over the upload limit of {limit} bytes")
    if size == 0:
        raise Invalid.at("file", "the file is empty")
    refuse_workbook(file.file.read(8))
    file.file.seek(0)
    # The file is parsed and matched before the write begins: on SQLite the write's first query
    # takes the database's one write lock, which a long read would hold from every
    # organisation's writes.
    with service.read_screening_file(
        reading_session(request, principal),
        file.file,
        file_name=file.filename or "upload.csv",
        snapshot_date=snapshot_date or utcnow().date(),
        list_key=list_key,
        max_rows=settings.max_csv_rows,
    ) as screening_file:
        run = service.import_screening_file(session, service.Importer.of(principal), screening_file)
    service.store_file(settings.data_dir, file.file, run.sha256)
    scoring.rescore_companies(session, service.companies_touched(session, run))
    response.headers["Location"] = f"/api/v1/screening/imports/{run.id}"
    return _import_out(run)


@router.get(
    "/imports",
    summary="Screening imports of your organisation, oldest first",
    response_model=ScreeningImportList,
    responses=_READ_ERRORS,
)
def list_imports(session: DbSession, _: Analyst, page: Page) -> ScreeningImportList:
    runs, next_cursor = service.list_imports(session, page)
    return ScreeningImportList(items=[_import_out(r) for r in runs], next_cursor=next_cursor)


@router.get(
    "/imports/{import_id}",
    summary="Read a screening import",
    response_model=ScreeningImportOut,
    responses=_READ_ERRORS,
)
def read_import(import_id: uuid.UUID, session: DbSession, _: Analyst) -> ScreeningImportOut:
    return _import_out(service.get_import(session, import_id))


@router.get(
    "/matches",
    summary="The review queue: near matches waiting for (or given) a decision, and the "
    "automatic matches (auto_confirmed)",
    response_model=ScreeningMatchList,
    responses=_READ_ERRORS,
)
def list_matches(
    session: DbSession,
    _: Analyst,
    page: Page,
    status: Annotated[MatchStatus | None, Query(description="Only matches in this state")] = None,
) -> ScreeningMatchList:
    matches, next_cursor = service.list_matches(session, status, page)
    return ScreeningMatchList(items=[_match_out(m) for m in matches], next_cursor=next_cursor)


@router.post(
    "/matches/{match_id}/confirm",
    summary="Confirm a match: the listing becomes evidence about the company",
    response_model=ScreeningMatchOut,
    responses=_DECIDE_ERRORS,
)
def confirm_match(match_id: uuid.UUID, session: DbSession, principal: Analyst) -> ScreeningMatchOut:
    match = service.get_match(session, match_id)
    confirmed = service.confirm_match(session, principal, match)
    scoring.rescore_companies(session, [confirmed.company_id])
    return _match_out(confirmed)


@router.post(
    "/matches/{match_id}/reject",
    summary="Reject a match, queued or automatic: the pair is remembered and not matched again, "
    "and screening evidence it created is withdrawn",
    response_model=ScreeningMatchOut,
    responses=_DECIDE_ERRORS,
)
def reject_match(match_id: uuid.UUID, session: DbSession, principal: Analyst) -> ScreeningMatchOut:
    match = service.get_match(session, match_id)
    return _match_out(service.reject_match(session, principal, match))
