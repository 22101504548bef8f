"""Tables of the reports domain: report jobs, generated in the background.

A job's state lives here, not in memory, so that a restart of the service neither loses a
queued job nor leaves one marked running forever (see ``hrdd.reports.jobs``). The PDF itself
is a file under ``data_dir/reports``.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey
from sqlmodel import Field, SQLModel

from hrdd.db import TenantOwned, UTCDateTime, new_id, organisation_fk, utcnow


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ReportJob(TenantOwned, SQLModel, table=True):
    __tablename__ = "report_jobs"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = organisation_fk()
    portfolio_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("portfolios.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    page_size: str = Field(max_length=10)  # hrdd.reports.schemas.PageSize
    status: str = Field(max_length=20, index=True)  # JobStatus
    progress: float = Field(default=0.0)
    error: str | None = Field(default=None, max_length=2000)
    # Relative to ``data_dir``; set once the file is complete.
    file_path: str | None = Field(default=None, max_length=500)
    file_name: str | None = Field(default=None, max_length=300)
    attempts: int = Field(default=0)
    # "<host>:<pid>" of the process running it: lets a restart spot jobs of a dead process.
    runner: str | None = Field(default=None, max_length=300)
    requested_by_key_id: uuid.UUID | None = Field(default=None)
    requested_by_name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Written while the job runs; a stale heartbeat means the process running it died.
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
