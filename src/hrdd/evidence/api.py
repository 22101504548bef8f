"""Evidence items and commitments: investors read, analysts write their organisation's own."""

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from hrdd.audit.models import AuditEvent
from hrdd.audit.schemas import AuditEventList, AuditEventOut
from hrdd.auth.service import Principal
from hrdd.dates import PlausibleDate
from hrdd.deps import Analyst, DbSession, Investor
from hrdd.errors import Forbidden, problem_responses
from hrdd.evidence import service
from hrdd.evidence.schemas import (
    CommitmentCreate,
    CommitmentIn,
    CommitmentList,
    CommitmentOut,
    EvidenceCreate,
    EvidenceIn,
    EvidenceList,
    EvidenceOut,
    TimelineOrder,
)
from hrdd.http import PageParams, RequiredIfMatch, check_if_match, etag_for, page_params
from hrdd.vocab import EvidenceType, Role

router = APIRouter(tags=["evidence"])

_READ_ERRORS = problem_responses(401, 403, 404, 422)
_CREATE_ERRORS = problem_responses(401, 403, 404, 413, 422)
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 413, 422, 428)
_DELETE_ERRORS = problem_responses(401, 403, 404, 409, 412, 422, 428)

IncludeDeleted = Annotated[bool, Query(description="Also list soft-deleted items (analysts only)")]
Page = Annotated[PageParams, Depends(page_params)]


def _may_see_deleted(principal: Principal, include_deleted: bool) -> bool:
    if include_deleted and not principal.has_role(Role.analyst):
        raise Forbidden("include_deleted needs the analyst role")
    return include_deleted


def _audit_list(events: Sequence[AuditEvent], next_cursor: str | None) -> AuditEventList:
    return AuditEventList(
        items=[AuditEventOut.model_validate(event, from_attributes=True) for event in events],
        next_cursor=next_cursor,
    )


# --- evidence items -----------------------------------------------------------------------------


@router.get(
    "/companies/{company_id}/evidence",
    summary="A company's evidence timeline",
    response_model=EvidenceList,
    responses=_READ_ERRORS,
)
def company_evidence(
    company_id: uuid.UUID,
    session: DbSession,
    principal: Investor,
    page: Page,
    type: Annotated[
        list[EvidenceType] | None, Query(description="Only these types (repeat to give several)")
    ] = None,
    date_from: Annotated[
        PlausibleDate | None,
        Query(alias="from", description="Events on or after this day (1900-01-01 to 2100-12-31)"),
    ] = None,
    date_to: Annotated[
        PlausibleDate | None,
        Query(alias="to", description="Events on or before this day (1900-01-01 to 2100-12-31)"),
    ] = None,
    order: Annotated[TimelineOrder, Query(description="By event date")] = TimelineOrder.newest,
    include_deleted: IncludeDeleted = False,
) -> EvidenceList:
    items, next_cursor = service.company_timeline(
        session,
        company_id,
        page,
        types=type or (),
        date_from=date_from,
        date_to=date_to,
        include_deleted=_may_see_deleted(principal, include_deleted),
        newest_first=order is TimelineOrder.newest,
    )
    return EvidenceList(items=[service.evidence_out(i) for i in items], next_cursor=next_cursor)


@router.post(
    "/evidence",
    summary="Add an evidence item private to your organisation",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidenceOut,
    responses=_CREATE_ERRORS,
)
def create_evidence(
    data: EvidenceCreate, session: DbSession, principal: Analyst, response: Response
) -> EvidenceOut:
    item = service.create_evidence(session, principal, data)
    response.headers["Location"] = f"/api/v1/evidence/{item.id}"
    response.headers["ETag"] = etag_for(item.id, item.version)
    return service.evidence_out(item)


@router.get(
    "/evidence/{evidence_id}",
    summary="Read an evidence item",
    response_model=EvidenceOut,
    responses=_READ_ERRORS,
)
def read_evidence(
    evidence_id: uuid.UUID, session: DbSession, principal: Investor, response: Response
) -> EvidenceOut:
    # Analysts can still open a deleted item (to see what was there); investors cannot.
    item = service.get_evidence(
        session, evidence_id, include_deleted=principal.has_role(Role.analyst)
    )
    response.headers["ETag"] = etag_for(item.id, item.version)
    return service.evidence_out(item)


@router.put(
    "/evidence/{evidence_id}",
    summary="Replace one of your organisation's evidence items (If-Match required)",
    response_model=EvidenceOut,
    responses=_WRITE_ERRORS,
)
def replace_evidence(
    evidence_id: uuid.UUID,
    data: EvidenceIn,
    session: DbSession,
    principal: Analyst,
    response: Response,
    if_match: RequiredIfMatch,
) -> EvidenceOut:
    item = service.get_evidence(session, evidence_id, include_deleted=True)
    service.check_writable(item, "evidence item")
    check_if_match(if_match, etag_for(item.id, item.version), required=True)
    service.replace_evidence(session, principal, item, data)
    response.headers["ETag"] = etag_for(item.id, item.version)
    return service.evidence_out(item)


@router.delete(
    "/evidence/{evidence_id}",
    summary="Delete one of your organisation's evidence items (soft; If-Match required)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_DELETE_ERRORS,
)
def delete_evidence(
    evidence_id: uuid.UUID, session: DbSession, principal: Analyst, if_match: RequiredIfMatch
) -> None:
    item = service.get_evidence(session, evidence_id, include_deleted=True)
    service.check_writable(item, "evidence item")
    check_if_match(if_match, etag_for(item.id, item.version), required=True)
    service.delete_evidence(session, principal, item)


@router.get(
    "/evidence/{evidence_id}/history",
    summary="Who changed an evidence item, when, from what to what",
    response_model=AuditEventList,
    responses=_READ_ERRORS,
)
def evidence_history(
    evidence_id: uuid.UUID, session: DbSession, _: Analyst, page: Page
) -> AuditEventList:
    item = service.get_evidence(session, evidence_id, include_deleted=True)
    return _audit_list(*service.history(session, service.EVIDENCE_ENTITY, item.id, page))


# --- commitments --------------------------------------------------------------------------------


@router.get(
    "/companies/{company_id}/commitments",
    summary="A company's commitments, oldest first",
    response_model=CommitmentList,
    responses=_READ_ERRORS,
)
def company_commitments(
    company_id: uuid.UUID,
    session: DbSession,
    principal: Investor,
    page: Page,
    include_deleted: IncludeDeleted = False,
) -> CommitmentList:
    commitments, next_cursor = service.company_commitments(
        session,
        company_id,
        page,
        include_deleted=_may_see_deleted(principal, include_deleted),
    )
    return CommitmentList(
        items=[service.commitment_out(c) for c in commitments], next_cursor=next_cursor
    )


@router.post(
    "/commitments",
    summary="Record a commitment, private to your organisation",
    status_code=status.HTTP_201_CREATED,
    response_model=CommitmentOut,
    responses=_CREATE_ERRORS,
)
def create_commitment(
    data: CommitmentCreate, session: DbSession, principal: Analyst, response: Response
) -> CommitmentOut:
    commitment = service.create_commitment(session, principal, data)
    response.headers["Location"] = f"/api/v1/commitments/{commitment.id}"
    response.headers["ETag"] = etag_for(commitment.id, commitment.version)
    return service.commitment_out(commitment)


@router.get(
    "/commitments/{commitment_id}",
    summary="Read a commitment",
    response_model=CommitmentOut,
    responses=_READ_ERRORS,
)
def read_commitment(
    commitment_id: uuid.UUID, session: DbSession, principal: Investor, response: Response
) -> CommitmentOut:
    commitment = service.get_commitment(
        session, commitment_id, include_deleted=principal.has_role(Role.analyst)
    )
    response.headers["ETag"] = etag_for(commitment.id, commitment.version)
    return service.commitment_out(commitment)


@router.put(
    "/commitments/{commitment_id}",
    summary="Replace one of your organisation's commitments (If-Match required)",
    response_model=CommitmentOut,
    responses=_WRITE_ERRORS,
)
def replace_commitment(
    commitment_id: uuid.UUID,
    data: CommitmentIn,
    session: DbSession,
    principal: Analyst,
    response: Response,
    if_match: RequiredIfMatch,
) -> CommitmentOut:
    commitment = service.get_commitment(session, commitment_id, include_deleted=True)
    service.check_writable(commitment, "commitment")
    check_if_match(if_match, etag_for(commitment.id, commitment.version), required=True)
    service.replace_commitment(session, principal, commitment, data)
    response.headers["ETag"] = etag_for(commitment.id, commitment.version)
    return service.commitment_out(commitment)


@router.delete(
    "/commitments/{commitment_id}",
    summary="Delete one of your organisation's commitments (soft; If-Match required)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_DELETE_ERRORS,
)
def delete_commitment(
    commitment_id: uuid.UUID, session: DbSession, principal: Analyst, if_match: RequiredIfMatch
) -> None:
    commitment = service.get_commitment(session, commitment_id, include_deleted=True)
    service.check_writable(commitment, "commitment")
    check_if_match(if_match, etag_for(commitment.id, commitment.version), required=True)
    service.delete_commitment(session, principal, commitment)


@router.get(
    "/commitments/{commitment_id}/history",
    summary="Who changed a commitment, when, from what to what",
    response_model=AuditEventList,
    responses=_READ_ERRORS,
)
def commitment_history(
    commitment_id: uuid.UUID, session: DbSession, _: Analyst, page: Page
) -> AuditEventList:
    commitment = service.get_commitment(session, commitment_id, include_deleted=True)
    return _audit_list(*service.history(session, service.COMMITMENT_ENTITY, commitment.id, page))
