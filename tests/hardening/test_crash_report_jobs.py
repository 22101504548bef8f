"""Background report jobs across server crashes: a real server killed with SIGKILL while it
renders a portfolio report, then started again, on the backend under test.

A job cut short by a dead process must not stay `running` forever: the next process queues it
again and runs it to the end, and a job that keeps being interrupted ends `failed` with a
reason (hrdd.reports.jobs.MAX_ATTEMPTS runs at most).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.hardening.served import API, PreparedDatabase, ServedApp, prepared_database, wait_for

from hrdd.reports.jobs import MAX_ATTEMPTS

pytestmark = pytest.mark.slow

# Rendering this many holdings takes many seconds: the job is certainly running when killed.
LONG_REPORT_HOLDINGS = 30_000
# This many render in a second or two, so a resumed job can be waited for.
SHORT_REPORT_HOLDINGS = 2_000
LIMITS = {"HRDD_MAX_UPLOAD_BYTES": str(64 << 20), "HRDD_MAX_BODY_BYTES": str(64 << 20)}
WAIT = 120.0
# A queued job is claimed at once by a running worker; this only bounds a missing one.
START_WAIT = 60.0


@pytest.fixture
def prepared(tmp_path: Path) -> Iterator[PreparedDatabase]:
    with prepared_database(tmp_path, "jobs") as database:
        yield database


@pytest.fixture
def server(prepared: PreparedDatabase, tmp_path: Path) -> Iterator[ServedApp]:
    app = ServedApp(prepared, tmp_path / "server.log", LIMITS)
    app.start()
    try:
        yield app
    finally:
        app.stop()


def portfolio_with_holdings(client: httpx.Client, name: str, rows: int) -> str:
    created = client.post(f"{API}/portfolios", json={"name": name, "base_currency": "EUR"})
    assert created.status_code == 201, created.text
    portfolio_id = str(created.json()["id"])
    lines = ["name,market_value", *(f"Fictional Holding {n} plc,{1000 + n}" for n in range(rows))]
    imported = client.post(
        f"{API}/portfolios/{portfolio_id}/holdings/import",
        files={"file": ("holdings.csv", ("\n".join(lines) + "\n").encode(), "text/csv")},
    )
    assert imported.status_code == 200, imported.text
    return portfolio_id


def start_job(client: httpx.Client, portfolio_id: str) -> str:
    response = client.post(f"{API}/portfolios/{portfolio_id}/reports")
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def read_job(app: ServedApp, job_id: str) -> dict[str, Any]:
    with app.client() as client:
        response = client.get(f"{API}/report-jobs/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_until_running(app: ServedApp, job_id: str, attempt: int) -> None:
    def running() -> bool:
        job = read_job(app, job_id)
        return job["status"] == "running" and job["attempts"] == attempt

    try:
        wait_for(running, timeout=START_WAIT, what=f"job {job_id} to run (attempt {attempt})")
    except AssertionError as error:
        status = read_job(app, job_id)["status"]
        raise AssertionError(
            f"{error}; it is {status}: does the served app start the report worker "
            "(hrdd.reports.jobs.start_report_jobs) when it starts?"
        ) from None


def wait_until_ended(app: ServedApp, job_id: str) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        job = read_job(app, job_id)
        return job if job["status"] in ("done", "failed") else None

    return dict(wait_for(ended, timeout=WAIT, interval=0.2, what=f"report job {job_id} to end"))


def test_a_report_job_cut_short_by_a_crash_is_run_again_or_failed_with_a_reason(
    server: ServedApp, prepared: PreparedDatabase
) -> None:
    with server.client() as client:
        long_portfolio = portfolio_with_holdings(client, "Long report", LONG_REPORT_HOLDINGS)
        short_portfolio = portfolio_with_holdings(client, "Short report", SHORT_REPORT_HOLDINGS)
        interrupted = start_job(client, long_portfolio)

    # Killed while running, every time it is tried: queued again, then failed with a reason.
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait_until_running(server, interrupted, attempt)
        server.kill()
        server.start()
    failed = read_job(server, interrupted)
    assert failed["status"] == "failed", failed
    assert failed["attempts"] == MAX_ATTEMPTS
    assert failed["error"], "a failed job must say why"
    assert failed["finished_at"] is not None and failed["file_url"] is None
    with server.client() as client:
        no_file = client.get(f"{API}/report-jobs/{interrupted}/file")
    assert no_file.status_code == 409, no_file.text
    assert failed["error"] in no_file.json()["detail"]

    # Killed once: the next process runs it again, to the end.
    with server.client() as client:
        resumed = start_job(client, short_portfolio)
    wait_until_running(server, resumed, 1)
    server.kill()
    server.start()
    done = wait_until_ended(server, resumed)
    assert done["status"] == "done", done
    assert done["attempts"] == 2 and done["error"] is None
    with server.client() as client:
        pdf = client.get(done["file_url"])
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    # Nothing is left marked running by a process that is gone.
    assert prepared.scalar("SELECT count(*) FROM report_jobs WHERE status = 'running'") == 0
