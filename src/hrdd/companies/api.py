import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from hrdd.companies import service
from hrdd.companies.schemas import (
    CompanyIn,
    CompanyList,
    CompanyMatch,
    CompanyOut,
    CompanySuggestion,
    OwnershipIn,
    OwnershipOut,
)
from hrdd.deps import Analyst, DbSession, Investor
from hrdd.errors import problem_responses
from hrdd.http import IfMatch, PageParams, check_if_match, etag_for, page_params
from hrdd.vocab import TechnologyCategory

router = APIRouter(prefix="/companies", tags=["companies"])

_READ_ERRORS = problem_responses(401, 403, 404, 422)
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 413, 422, 428)
# Writes that take no If-Match (creating, choosing): no 412 or 428.
_NO_ETAG_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 413, 422)
MAX_RECORDED_OWNERS = 20


@router.get("", summary="Search companies", response_model=CompanyList, responses=_READ_ERRORS)
def list_companies(
    session: DbSession,
    _: Investor,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[
        str | None,
        Query(max_length=200, description="Name, alias, product, ISIN, LEI or ticker"),
    ] = None,
    category: TechnologyCategory | None = None,
) -> CompanyList:
    """`q` finds a company by its name, an alias or a product from the start of a word (any
    case), or by a whole ISIN, LEI or ticker; a company found by a product alone names it in
    `matched_products` (`Pegasus` finds NSO Group). When it finds none, `suggestions` lists the
    companies whose names resemble it, as a holdings import would match them: a misspelt name
    is not a dead end. Products are never compared there, as the import never matches a
    holding by them. An owner the registry knows only from an ownership link (a fund, a
    sponsor) is no company, so it is listed apart, under `recorded_owners`, with what it owns
    or owned."""
    companies, next_cursor = service.search_companies(
        session, q, category.value if category else None, page
    )
    suggested = (
        service.suggest_companies(session, q, category.value if category else None, 5)
        if q and not companies and page.cursor is None
        else []
    )
    owners = (
        service.owners_named(session, q, resembling=not companies, limit=MAX_RECORDED_OWNERS)
        if q and page.cursor is None
        else []
    )
    idents = service.identifiers_of(session, [c.id for c in companies + [s for s, _ in suggested]])
    return CompanyList(
        items=[
            CompanyMatch(
                **service.to_summary(c, idents[c.id]).model_dump(),
                matched_products=service.matched_products(c, q, idents[c.id]) if q else [],
            )
            for c in companies
        ],
        next_cursor=next_cursor,
        suggestions=[
            CompanySuggestion(
                **service.to_summary(c, idents[c.id]).model_dump(), similarity=similarity
            )
            for c, similarity in suggested
        ],
        recorded_owners=[service.ownership_out(session, link) for link in owners],
    )


@router.post(
    "",
    summary="Create a company",
    status_code=status.HTTP_201_CREATED,
    response_model=CompanyOut,
    responses=_NO_ETAG_WRITE_ERRORS,
)
def create_company(
    data: CompanyIn, session: DbSession, principal: Analyst, response: Response
) -> CompanyOut:
    """The company is private to your organisation: no other sees it, finds it or can assess
    it. LEIs, ISINs and tickers must be free among the shared companies and your own."""
    company = service.create_company(session, data, organisation_id=principal.organisation_id)
    response.headers["Location"] = f"/api/v1/companies/{company.id}"
    response.headers["ETag"] = etag_for(company.id, company.version)
    return service.to_out(session, company, principal.organisation_id)


@router.get(
    "/{company_id}", summary="Read a company", response_model=CompanyOut, responses=_READ_ERRORS
)
def read_company(
    company_id: uuid.UUID, session: DbSession, principal: Investor, response: Response
) -> CompanyOut:
    """Owners and holdings list the bundled links and your organisation's own."""
    company = service.get_company(session, company_id)
    response.headers["ETag"] = etag_for(company.id, company.version)
    return service.to_out(session, company, principal.organisation_id)


@router.put(
    "/{company_id}",
    summary="Replace a company (send If-Match)",
    response_model=CompanyOut,
    responses=_WRITE_ERRORS,
)
def replace_company(
    company_id: uuid.UUID,
    data: CompanyIn,
    session: DbSession,
    principal: Analyst,
    response: Response,
    if_match: IfMatch = None,
) -> CompanyOut:
    """403 for a shared company (bundled, or made before companies became private): an edit
    would change what every organisation sees."""
    company = service.get_company(session, company_id)
    service.require_editable(company, principal.organisation_id)
    check_if_match(if_match, etag_for(company.id, company.version), required=True)
    service.replace_company(session, company, data)
    response.headers["ETag"] = etag_for(company.id, company.version)
    return service.to_out(session, company, principal.organisation_id)


@router.post(
    "/{company_id}/ownership",
    summary="Record an owner of the company",
    status_code=status.HTTP_201_CREATED,
    response_model=OwnershipOut,
    responses=_NO_ETAG_WRITE_ERRORS,
)
def add_ownership(
    company_id: uuid.UUID,
    data: OwnershipIn,
    session: DbSession,
    principal: Analyst,
    response: Response,
) -> OwnershipOut:
    """The link is private to your organisation: it counts in your portfolios' exposure
    through ownership, and no other organisation sees it."""
    company = service.get_company(session, company_id)
    link = service.add_ownership(session, company, data, principal.organisation_id)
    response.headers["Location"] = f"/api/v1/companies/{company.id}"
    return service.ownership_out(session, link)


@router.delete(
    "/{company_id}/ownership/{link_id}",
    summary="Remove an ownership link",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
def remove_ownership(
    company_id: uuid.UUID, link_id: uuid.UUID, session: DbSession, _: Analyst
) -> None:
    """Your organisation's own links only: bundled links are read-only (403)."""
    company = service.get_company(session, company_id)
    service.remove_ownership(session, company, link_id)
