"""Response models of the screening API."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel, Field


class MatchStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    rejected = "rejected"
    # Matched by the import itself (an identifier, or the same name): evidence at once, and
    # open to an analyst's rejection.
    auto_confirmed = "auto_confirmed"


class ImportStatus(StrEnum):
    completed = "completed"
    review_pending = "review_pending"


class ScreeningImportOut(BaseModel):
    id: uuid.UUID
    imported_by_name: str
    imported_at: dt.datetime
    file_name: str
    sha256: str
    size_bytes: int
    format: str = Field(description="csl (US Consolidated Screening List) or opensanctions")
    list_key: str = Field(description="Which list the file is a snapshot of")
    snapshot_date: dt.date
    previous_import_id: uuid.UUID | None = Field(
        description="The earlier snapshot of the same list this one was compared with"
    )
    status: ImportStatus
    rows_total: int
    rows_added: int = Field(
        description="Records not in the previous snapshot (all of them in a list's first)"
    )
    rows_removed: int = Field(description="Records of the previous snapshot missing here")
    identifier_matches: int
    name_matches: int = Field(
        description="Automatic name matches (the same name but for case, punctuation and "
        "legal form)"
    )
    review_queued: int = Field(description="Grey-zone matches added to the review queue")
    evidence_created: int
    delistings_created: int
    lists_not_covered: list[str] = Field(
        description="Lists of the previous snapshot of this list_key (or of records still "
        "listed from an earlier one) that this file has no row of: a file of other lists says "
        "nothing about them, so their records missing here were not judged removed and no "
        "delisting was recorded for them. A CSL list is named by its `source`, an OpenSanctions "
        "one by its `dataset`."
    )


class ScreeningImportList(BaseModel):
    items: list[ScreeningImportOut]
    next_cursor: str | None = None


class ScreeningMatchOut(BaseModel):
    id: uuid.UUID
    import_id: uuid.UUID
    record_key: str
    record_name: str
    list_name: str
    company_id: uuid.UUID
    matched_name: str
    matched_identifier: str | None = Field(
        default=None, description="The ISIN or LEI of an identifier match, e.g. 'LEI ...'"
    )
    score: float = Field(
        description="Similarity of the names, 0 to 100, after case, accents, punctuation, "
        "legal forms and the words Group, Holding(s) and Technolog(y/ies) are set aside. 100 "
        "on a name match waiting for review is not an exact match: the names differ only in "
        "such words, which can name another entity of a group (Sandvine Holdings ULC is not "
        "Sandvine Inc.), or the same name fits more than one company, or an identifier of "
        "the record points at another one; an analyst decides. 100 on an identifier match: "
        "the ISIN or LEI is the same."
    )
    status: MatchStatus
    evidence_id: uuid.UUID | None
    decided_by_name: str | None
    decided_at: dt.datetime | None
    created_at: dt.datetime


class ScreeningMatchList(BaseModel):
    items: list[ScreeningMatchOut]
    next_cursor: str | None = None
