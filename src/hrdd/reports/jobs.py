"""Background report jobs: portfolio reports too large to render within a request.

A job is a row (``ReportJob``): queued by the API, claimed by a worker thread of a server
process with a conditional UPDATE (so two processes never run the same job), rendered to
``data_dir/reports/<job id>.pdf``, then marked done, or failed with the reason.

While a job runs its ``heartbeat_at`` is refreshed with every step of progress. A job whose
heartbeat went stale, or whose runner is a process of this host that no longer exists, was
interrupted: it is queued again once, and failed with a reason after MAX_ATTEMPTS. The
server calls ``start_report_jobs`` at startup (which recovers such jobs first) and
``stop_report_jobs`` at shutdown; the worker also sweeps for interrupted jobs as it polls.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hrdd.auth.service import Principal
from hrdd.config import Settings
from hrdd.db import SYSTEM, Database, TenantContext, utcnow
from hrdd.errors import Conflict, NotFound, Problem, database_busy
from hrdd.portfolios import service as portfolios
from hrdd.portfolios.models import Portfolio
from hrdd.reports import service as reports
from hrdd.reports.models import JobStatus, ReportJob
from hrdd.reports.portfolio_pdf import render_portfolio_report
from hrdd.reports.schemas import PageSize

log = logging.getLogger("hrdd.reports.jobs")

MAX_ATTEMPTS = 2
# Progress is written at most this often; each write is also the heartbeat.
PROGRESS_INTERVAL = timedelta(seconds=1)
# No heartbeat for this long: the process running the job is gone.
STALE_AFTER = timedelta(minutes=5)
POLL_SECONDS = 5.0
REPORTS_FOLDER = "reports"
MAX_ERROR_LENGTH = 2000


class ReportJobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page_size: PageSize = PageSize.a4


class ReportJobOut(BaseModel):
    id: uuid.UUID
    portfolio_id: uuid.UUID
    status: JobStatus
    progress: float = Field(description="Fraction done, 0 to 1")
    error: str | None = Field(description="Why the job failed")
    attempts: int
    page_size: PageSize
    requested_by_name: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    url: str = Field(description="This job")
    file_url: str | None = Field(description="The PDF, once the job is done")
    file_name: str | None


def job_url(job_id: uuid.UUID) -> str:
    return f"/api/v1/report-jobs/{job_id}"


def job_out(job: ReportJob) -> ReportJobOut:
    return ReportJobOut(
        id=job.id,
        portfolio_id=job.portfolio_id,
        status=JobStatus(job.status),
        progress=job.progress,
        error=job.error,
        attempts=job.attempts,
        page_size=PageSize(job.page_size),
        requested_by_name=job.requested_by_name,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        url=job_url(job.id),
        file_url=f"{job_url(job.id)}/file" if job.status == JobStatus.done else None,
        file_name=job.file_name,
    )


def enqueue_portfolio_report(
    session: Session, actor: Principal, portfolio: Portfolio, page_size: PageSize
) -> ReportJob:
    job = ReportJob(
        organisation_id=portfolio.organisation_id,
        portfolio_id=portfolio.id,
        page_size=page_size.value,
        status=JobStatus.queued.value,
        requested_by_key_id=actor.key_id,
        requested_by_name=actor.key_name,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: uuid.UUID) -> ReportJob:
    job = session.get(ReportJob, job_id)
    if job is None:
        raise NotFound(f"no report job {job_id}")
    return job


def job_file(job: ReportJob, data_dir: Path) -> Path:
    """The finished PDF; 409 while the job is not done, 404 if the file was removed."""
    if job.status != JobStatus.done or job.file_path is None:
        if job.status == JobStatus.failed:
            raise Conflict(f"report job {job.id} failed, so it has no file: {job.error}")
        raise Conflict(
            f"report job {job.id} is {job.status} ({job.progress:.0%} done); poll "
            f"{job_url(job.id)} until its status is done"
        )
    path = data_dir / job.file_path
    if not path.is_file():
        raise NotFound(f"the file of report job {job.id} is missing from the data folder")
    return path


# --- running jobs ----------------------------------------------------------------------------


def this_runner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim_next(database: Database) -> uuid.UUID | None:
    """The oldest queued job, now marked running by this process; None when none is left."""
    oldest_queued = (
        select(ReportJob.id)
        .where(ReportJob.status == JobStatus.queued.value)
        .order_by(ReportJob.created_at, ReportJob.id)
        .limit(1)
    )
    while True:
        # Look before taking the write lock; the update below re-checks the status.
        with database.session(SYSTEM) as session:
            if session.scalar(oldest_queued) is None:
                return None
        with database.session(SYSTEM, write=True) as session:
            candidate = session.scalar(oldest_queued)
            if candidate is None:
                return None
            now = utcnow()
            claimed = session.execute(
                update(ReportJob)
                .where(ReportJob.id == candidate, ReportJob.status == JobStatus.queued.value)
                .values(
                    status=JobStatus.running.value,
                    attempts=ReportJob.attempts + 1,
                    runner=this_runner(),
                    started_at=now,
                    heartbeat_at=now,
                    progress=0.0,
                    error=None,
                )
            )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            return candidate


def _set(database: Database, job_id: uuid.UUID, **values: Any) -> None:
    with database.session(SYSTEM, write=True) as session:
        session.execute(update(ReportJob).where(ReportJob.id == job_id).values(**values))


class _ProgressWriter:
    """Stores the renderer's progress (and so the heartbeat), at most once a PROGRESS_INTERVAL."""

    def __init__(self, database: Database, job_id: uuid.UUID) -> None:
        self.database = database
        self.job_id = job_id
        self.last_written = utcnow()

    def __call__(self, fraction: float) -> None:
        now = utcnow()
        if now - self.last_written < PROGRESS_INTERVAL and fraction < 1.0:
            return
        self.last_written = now
        # The last percent is kept for the file being moved into place and the job marked done.
        _set(self.database, self.job_id, progress=min(fraction, 0.99), heartbeat_at=now)


def _failure_reason(exc: Exception) -> str:
    if isinstance(exc, Problem):
        reason = exc.detail
    elif isinstance(exc, OSError):
        # The path stays in the log: it describes the server, not the report.
        reason = f"the report file could not be written ({exc.strerror or type(exc).__name__})"
    elif database_busy(exc):
        reason = "the database was busy with other writes for too long: ask for the report again"
    else:
        # The error's own text stays in the log (it may quote SQL or paths of the server);
        # the job's id finds it there.
        reason = (
            f"the report could not be generated: an unexpected error ({type(exc).__name__}); "
            "the server's log has it under this job's id"
        )
    return reason[:MAX_ERROR_LENGTH]


def run_job(database: Database, settings: Settings, job_id: uuid.UUID) -> None:
    """Render one claimed job; it ends done, or failed with the reason."""
    try:
        with database.session(SYSTEM) as session:
            job = get_job(session, job_id)
            organisation_id, portfolio_id = job.organisation_id, job.portfolio_id
            page_size = PageSize(job.page_size)
        # Scores are brought up to date while the model is built, so the session writes.
        with database.session(TenantContext(organisation_id), write=True) as session:
            portfolio = portfolios.get_portfolio(session, portfolio_id)
            report = reports.portfolio_report(session, portfolio, page_size)
            file_name = reports.portfolio_file_name(portfolio, report.report_date)
        _set(database, job_id, heartbeat_at=utcnow())
        folder = settings.data_dir / REPORTS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{job_id}.pdf"
        partial = folder / f"{job_id}.pdf.part"
        with partial.open("wb") as out:
            render_portfolio_report(report, out, progress=_ProgressWriter(database, job_id))
        partial.replace(target)
        _set(
            database,
            job_id,
            status=JobStatus.done.value,
            progress=1.0,
            file_path=f"{REPORTS_FOLDER}/{target.name}",
            file_name=file_name,
            heartbeat_at=utcnow(),
            finished_at=utcnow(),
        )
    except Exception as exc:  # a job must end failed with its reason, whatever went wrong
        log.exception("report job failed", extra={"job_id": str(job_id)})
        _set(
            database,
            job_id,
            status=JobStatus.failed.value,
            error=_failure_reason(exc),
            finished_at=utcnow(),
        )


def run_next_job(database: Database, settings: Settings) -> uuid.UUID | None:
    """Claim and run the oldest queued job; its id, or None when the queue is empty."""
    job_id = _claim_next(database)
    if job_id is not None:
        run_job(database, settings, job_id)
    return job_id


def _runner_is_dead(runner: str | None) -> bool:
    """True only when the runner was a process of this host that no longer exists."""
    if not runner or ":" not in runner:
        return False
    host, _, pid_text = runner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def recover_interrupted_jobs(
    database: Database, *, now: datetime | None = None, stale_after: timedelta = STALE_AFTER
) -> list[str]:
    """Queue again (once) or fail the jobs whose process died while running them. Returns a
    line per job recovered, for the log."""
    now = now or utcnow()
    lines: list[str] = []
    # The worker asks at every poll: look before taking the (SQLite-wide) write lock.
    with database.session(SYSTEM) as session:
        any_running = session.scalar(
            select(ReportJob.id).where(ReportJob.status == JobStatus.running.value).limit(1)
        )
    if any_running is None:
        return lines
    with database.session(SYSTEM, write=True) as session:
        running = session.scalars(
            select(ReportJob).where(ReportJob.status == JobStatus.running.value)
        ).all()
        for job in running:
            heartbeat = job.heartbeat_at or job.started_at or job.created_at
            if now - heartbeat < stale_after and not _runner_is_dead(job.runner):
                continue
            if job.attempts < MAX_ATTEMPTS:
                job.status = JobStatus.queued.value
                job.progress = 0.0
                job.runner = None
                lines.append(f"report job {job.id} was interrupted; queued again")
            else:
                job.status = JobStatus.failed.value
                job.error = (
                    f"the service stopped while generating this report, {job.attempts} times; "
                    "it is not tried again. Start a new report job; if it fails the same way, "
                    "the portfolio may be too large for the memory of the server"
                )
                job.finished_at = now
                lines.append(f"report job {job.id} was interrupted {job.attempts} times; failed")
    for line in lines:
        log.warning(line)
    return lines


class ReportWorker:
    """A daemon thread of the server process that runs queued jobs one at a time."""

    def __init__(
        self, database: Database, settings: Settings, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self.database = database
        self.settings = settings
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hrdd-report-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current job; a job cut short is recovered at the next start."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                recover_interrupted_jobs(self.database)
                while not self._stop.is_set() and run_next_job(self.database, self.settings):
                    pass
            except Exception:  # the database may be briefly away; try again at the next poll
                log.exception("report worker: polling failed")
                time.sleep(1.0)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()


def start_report_jobs(app: FastAPI) -> ReportWorker | None:
    """At server startup: recover jobs a dead process left running, then start the worker
    (kept in ``app.state.report_worker``). Tests pin every session to one connection, which
    two threads cannot share; there no thread is started and tests run jobs with
    ``run_next_job``."""
    running: ReportWorker | None = getattr(app.state, "report_worker", None)
    if running is not None:
        return running
    database: Database = app.state.db
    settings: Settings = app.state.settings
    try:
        recover_interrupted_jobs(database)
    except SQLAlchemyError:  # not migrated yet, or away: /health says so; the worker retries
        log.exception("report jobs: could not recover interrupted jobs at startup")
    if database.pinned_connection is not None:
        return None
    worker = ReportWorker(database, settings)
    worker.start()
    app.state.report_worker = worker
    return worker


def stop_report_jobs(app: FastAPI) -> None:
    worker: ReportWorker | None = getattr(app.state, "report_worker", None)
    if worker is not None:
        worker.stop()
        app.state.report_worker = None


def wake_worker(app: FastAPI) -> None:
    worker: ReportWorker | None = getattr(app.state, "report_worker", None)
    if worker is not None:
        worker.wake()
