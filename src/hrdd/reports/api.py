"""PDF reports (company and portfolio), background report jobs and the scores export."""

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Query, Request, Response, status
from fastapi.responses import FileResponse

from hrdd.config import Settings
from hrdd.db import utcnow
from hrdd.deps import DbSession, Investor
from hrdd.errors import problem_responses
from hrdd.http import attachment
from hrdd.portfolios import exports
from hrdd.portfolios import service as portfolios
from hrdd.reports import jobs, service
from hrdd.reports.schemas import PageSize

router = APIRouter(tags=["reports"])

_PDF_RESPONSE = {200: {"content": {"application/pdf": {}}, "description": "The PDF"}}
PageSizeQuery = Annotated[PageSize, Query(description="A4 or LETTER (US Letter)")]


def _pdf(data: bytes, file_name: str) -> Response:
    return attachment(data, "application/pdf", file_name)


@router.get(
    "/assessments/{assessment_id}/report.pdf",
    summary="The company report of an assessment (PDF)",
    response_class=Response,
    responses={**_PDF_RESPONSE, **problem_responses(401, 403, 404, 409, 422)},
    description=(
        "Cover, score summary, theme and evidence-risk charts, say-do gaps, the evidence "
        "timeline with its sources, overrides fired, the answers and the rule set in words. "
        "The score is brought up to date first. 409 when no scoring rule set is loaded."
    ),
)
def company_report_pdf(
    assessment_id: uuid.UUID,
    session: DbSession,
    _: Investor,
    page_size: PageSizeQuery = PageSize.a4,
) -> Response:
    data, file_name = service.render_company_pdf(session, assessment_id, page_size)
    return _pdf(data, file_name)


@router.get(
    "/portfolios/{portfolio_id}/report.pdf",
    summary="The portfolio report (PDF), for portfolios up to 500 holdings",
    response_class=Response,
    responses={**_PDF_RESPONSE, **problem_responses(401, 403, 404, 409, 422)},
    description=(
        "Key figures, risk distribution and exposure by band, flagged holdings in detail, "
        "every holding, unassessed exposure and the methodology. Larger portfolios get a 409: "
        "start a job with `POST /api/v1/portfolios/{id}/reports` instead."
    ),
)
def portfolio_report_pdf(
    portfolio_id: uuid.UUID,
    session: DbSession,
    _: Investor,
    page_size: PageSizeQuery = PageSize.a4,
) -> Response:
    portfolio = portfolios.get_portfolio(session, portfolio_id)
    service.check_inline_size(session, portfolio)
    data, file_name = service.render_portfolio_pdf(session, portfolio, page_size)
    return _pdf(data, file_name)


@router.post(
    "/portfolios/{portfolio_id}/reports",
    summary="Start a background job that makes the portfolio report",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=jobs.ReportJobOut,
    responses=problem_responses(401, 403, 404, 413, 422),
    description=(
        "202 with the job; its `url` (also the Location header) gives status and progress, "
        "and `file_url` the PDF once the status is `done`. A failed job says why in `error`. "
        "Jobs are kept in the database and survive a restart of the service."
    ),
)
def start_portfolio_report(
    portfolio_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: Investor,
    response: Response,
    background: BackgroundTasks,
    data: Annotated[jobs.ReportJobIn | None, Body()] = None,
) -> jobs.ReportJobOut:
    portfolio = portfolios.get_portfolio(session, portfolio_id)
    page_size = data.page_size if data is not None else PageSize.a4
    job = jobs.enqueue_portfolio_report(session, principal, portfolio, page_size)
    # Background tasks run after the response, so after the request's commit: the worker
    # woken then sees the job.
    background.add_task(jobs.wake_worker, request.app)
    response.headers["Location"] = jobs.job_url(job.id)
    return jobs.job_out(job)


@router.get(
    "/report-jobs/{job_id}",
    summary="Status and progress of a report job",
    response_model=jobs.ReportJobOut,
    responses=problem_responses(401, 403, 404, 422),
)
def read_report_job(job_id: uuid.UUID, session: DbSession, _: Investor) -> jobs.ReportJobOut:
    return jobs.job_out(jobs.get_job(session, job_id))


@router.get(
    "/report-jobs/{job_id}/file",
    summary="The PDF a finished report job made",
    response_class=FileResponse,
    responses={**_PDF_RESPONSE, **problem_responses(401, 403, 404, 409, 422)},
    description="409 while the job is queued or running, or when it failed (with the reason).",
)
def download_report_job(
    job_id: uuid.UUID, request: Request, session: DbSession, _: Investor
) -> FileResponse:
    settings: Settings = request.app.state.settings
    job = jobs.get_job(session, job_id)
    path = jobs.job_file(job, settings.data_dir)
    return FileResponse(path, media_type="application/pdf", filename=job.file_name)


@router.get(
    "/assessment-scores.{export_format}",
    summary="Current scores of every company you assessed, as CSV, XLSX or JSON",
    response_class=Response,
    responses={
        200: {
            "content": {media: {} for media in exports.MEDIA_TYPES.values()},
            "description": "The file",
        },
        **problem_responses(401, 403, 409, 422),
    },
    description=(
        "One row per company you have an assessment of (a draft included): the score of its "
        "newest final (else submitted) assessment, with theme scores, overrides and the "
        "recommended action; a company with drafts only is scored on its evidence alone (no "
        "assessment id or status) until one is submitted, as portfolio risk does. Holdings of "
        "companies you have not assessed are in each portfolio's risk export. Text cells a "
        "spreadsheet would run as a formula are prefixed with an apostrophe."
    ),
)
def export_assessment_scores(
    export_format: exports.ExportFormat, session: DbSession, principal: Investor
) -> Response:
    rows = service.assessment_score_rows(session)
    name = exports.download_name(
        principal.organisation_name, "assessment-scores", utcnow().date(), export_format.value
    )
    return attachment(
        exports.export_scores(rows, export_format), exports.MEDIA_TYPES[export_format], name
    )
