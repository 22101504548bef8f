"""Background report jobs: 202, progress, the file, failures with reasons, recovery after a
restart, and the worker thread of a real (unpinned) database."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from tests.conftest import drop_database, fresh_database_url, make_tenant
from tests.portfolios.portfolio_helpers import (
    API,
    confirm_first_candidates,
    create_portfolio,
    load_content,
    upload,
)

from hrdd import migrations_info
from hrdd.db import SYSTEM, Database, TenantContext, utcnow
from hrdd.main import create_app
from hrdd.reports import jobs
from hrdd.reports.models import JobStatus, ReportJob

HOLDINGS = "name,market_value\nNSO Group,1000\nCellebrite,500\nQuixotic Widgets,250\n"


@pytest.fixture
def content(db, settings):
    load_content(db, settings)


@pytest.fixture
def portfolio(client, tenant_a, content):
    portfolio = create_portfolio(client, tenant_a.investor, name="Jobs Fund")
    assert upload(client, tenant_a.investor, portfolio, HOLDINGS).status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    return portfolio


def start(client, tenant, portfolio: str, **body):
    return client.post(
        f"{API}/portfolios/{portfolio}/reports", json=body or None, headers=tenant.investor
    )


def test_job_goes_from_queued_to_done_with_progress_and_a_file(
    client, tenant_a, db, settings, portfolio, monkeypatch
):
    response = start(client, tenant_a, portfolio, page_size="LETTER")
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"] == job["url"] == f"{API}/report-jobs/{job['id']}"
    assert job["status"] == "queued"
    assert job["file_url"] is None
    early = client.get(f"{job['url']}/file", headers=tenant_a.investor)
    assert early.status_code == 409
    assert "queued" in early.json()["detail"]

    written: list[float] = []
    original = jobs._set

    def recording(database, job_id, **values):  # type: ignore[no-untyped-def]
        if "progress" in values:
            written.append(values["progress"])
        original(database, job_id, **values)

    monkeypatch.setattr(jobs, "_set", recording)
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", timedelta(0))
    assert jobs.run_next_job(db, settings) == uuid.UUID(job["id"])
    assert jobs.run_next_job(db, settings) is None

    assert len(written) >= 3
    assert written == sorted(written)
    assert written[-1] == 1.0
    assert all(0 <= value <= 1 for value in written)

    done = client.get(job["url"], headers=tenant_a.investor).json()
    assert done["status"] == "done"
    assert done["progress"] == 1.0
    assert done["attempts"] == 1
    assert done["file_url"] == f"{job['url']}/file"
    pdf = client.get(done["file_url"], headers=tenant_a.investor)
    assert pdf.status_code == 200
    assert "jobs-fund-portfolio-report-" in pdf.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(pdf.content))
    assert reader.metadata.title == "Portfolio risk report: Jobs Fund"
    assert round(float(reader.pages[0].mediabox.width)) == 612
    assert (settings.data_dir / "reports" / f"{job['id']}.pdf").is_file()


def test_a_failing_job_says_why(client, tenant_a, db, settings, portfolio, tmp_path):
    job = start(client, tenant_a, portfolio).json()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data folder should be")
    jobs.run_next_job(db, settings.model_copy(update={"data_dir": blocked}))
    failed = client.get(job["url"], headers=tenant_a.investor).json()
    assert failed["status"] == "failed"
    assert "could not be written" in failed["error"]
    assert str(tmp_path) not in failed["error"]
    download = client.get(f"{job['url']}/file", headers=tenant_a.investor)
    assert download.status_code == 409
    assert failed["error"] in download.json()["detail"]


def test_an_unexpected_error_is_named_without_its_text(
    client, tenant_a, db, settings, portfolio, monkeypatch, hrdd_logs
):
    """The security test: a job failed by an unexpected error stored and showed the error's
    own text, which for a database error quotes its SQL. The job says what kind of error it
    was and that the log has it; the log keeps the text, under the job's id."""
    from hrdd.reports import service as reports

    def broken(*args, **kwargs):
        raise RuntimeError('SELECT secret FROM "organisations" WHERE id = 42')

    monkeypatch.setattr(reports, "portfolio_report", broken)
    job = start(client, tenant_a, portfolio).json()
    jobs.run_next_job(db, settings)
    failed = client.get(job["url"], headers=tenant_a.investor).json()
    assert failed["status"] == "failed"
    assert failed["error"] == (
        "the report could not be generated: an unexpected error (RuntimeError); the server's "
        "log has it under this job's id"
    )
    [logged] = [r for r in hrdd_logs.records if r.getMessage() == "report job failed"]
    assert logged.job_id == job["id"]
    assert "SELECT secret" in str(logged.exc_info[1])


def test_a_job_without_scoring_rules_fails_with_the_reason(client, tenant_a, db, settings):
    portfolio = create_portfolio(client, tenant_a.investor)
    job = start(client, tenant_a, portfolio).json()
    jobs.run_next_job(db, settings)
    failed = client.get(job["url"], headers=tenant_a.investor).json()
    assert failed["status"] == "failed"
    assert "hrdd load" in failed["error"]


def test_report_jobs_are_private_and_validated(client, tenant_a, tenant_b, portfolio):
    job = start(client, tenant_a, portfolio).json()
    assert client.get(job["url"], headers=tenant_b.admin).status_code == 404
    assert client.get(f"{job['url']}/file", headers=tenant_b.admin).status_code == 404
    bad = start(client, tenant_a, portfolio, page_size="A5")
    assert bad.status_code == 422
    extra = start(client, tenant_a, portfolio, colour="red")
    assert extra.status_code == 422


def running_job(db, organisation_id, portfolio: str, *, attempts: int, runner: str, age: timedelta):
    with db.session(SYSTEM, write=True) as session:
        job = ReportJob(
            organisation_id=organisation_id,
            portfolio_id=uuid.UUID(portfolio),
            page_size="A4",
            status=JobStatus.running.value,
            attempts=attempts,
            runner=runner,
            requested_by_name="test",
            started_at=utcnow() - age,
            heartbeat_at=utcnow() - age,
        )
        session.add(job)
    return job.id


def job_state(db, job_id) -> ReportJob:
    with db.session(SYSTEM) as session:
        job = session.get(ReportJob, job_id)
        session.expunge(job)
        return job


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_jobs_of_a_dead_process_are_requeued_once_then_failed(db, tenant_a, client, portfolio):
    stale = jobs.STALE_AFTER + timedelta(minutes=1)
    elsewhere = "another-host:4242"
    first = running_job(
        db, tenant_a.organisation_id, portfolio, attempts=1, runner=elsewhere, age=stale
    )
    last = running_job(
        db, tenant_a.organisation_id, portfolio, attempts=2, runner=elsewhere, age=stale
    )
    here_dead = running_job(
        db,
        tenant_a.organisation_id,
        portfolio,
        attempts=1,
        runner=f"{socket.gethostname()}:{dead_pid()}",
        age=timedelta(seconds=1),
    )
    alive = running_job(
        db, tenant_a.organisation_id, portfolio, attempts=1, runner=elsewhere, age=timedelta(0)
    )

    lines = jobs.recover_interrupted_jobs(db)

    assert len(lines) == 3
    assert job_state(db, first).status == "queued"
    assert job_state(db, here_dead).status == "queued"
    failed = job_state(db, last)
    assert failed.status == "failed"
    assert "stopped while generating this report, 2 times" in failed.error
    assert failed.finished_at is not None
    assert job_state(db, alive).status == "running"


def test_startup_recovers_interrupted_jobs(db, settings, tenant_a, client, portfolio):
    stale = jobs.STALE_AFTER + timedelta(seconds=5)
    job_id = running_job(
        db, tenant_a.organisation_id, portfolio, attempts=1, runner="gone:1", age=stale
    )
    app = create_app(settings, database=db)
    assert jobs.start_report_jobs(app) is None  # pinned test connection: no thread
    assert job_state(db, job_id).status == "queued"
    assert jobs.run_next_job(db, settings) == job_id
    resumed = job_state(db, job_id)
    assert resumed.status == "done"
    assert resumed.attempts == 2


@pytest.fixture
def real_database(tmp_path):
    """A database of its own, not pinned to one connection, so a worker thread can use it."""
    url = fresh_database_url(tmp_path, f"jobs_{uuid.uuid4().hex[:8]}")
    migrations_info.upgrade(url)
    database = Database(url)
    yield database
    database.dispose()
    drop_database(url)


def test_the_worker_thread_runs_queued_jobs(real_database, settings):
    settings = settings.model_copy(update={"database_url": real_database.url})
    load_content(real_database, settings)
    tenant = make_tenant(real_database, "Worker Test Fund")
    app = create_app(settings, database=real_database)
    with TestClient(app) as client:  # the app's startup starts the worker
        worker = app.state.report_worker
        assert worker is not None
        assert jobs.start_report_jobs(app) is worker, "a second start must not add a thread"
        portfolio = create_portfolio(client, tenant.investor)
        assert upload(client, tenant.investor, portfolio, HOLDINGS).status_code == 200
        job = start(client, tenant, portfolio).json()
        deadline = time.monotonic() + 120
        status = job["status"]
        while status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
            status = client.get(job["url"], headers=tenant.investor).json()["status"]
    # Shutting the app down stops the worker.
    assert app.state.report_worker is None
    assert not worker._thread.is_alive()
    assert status == "done"
    with real_database.session(TenantContext(tenant.organisation_id)) as session:
        assert session.get(ReportJob, uuid.UUID(job["id"])).status == "done"
