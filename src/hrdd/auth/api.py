import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy import select

from hrdd.auth import service
from hrdd.auth.cache import key_cache
from hrdd.auth.models import ApiKey
from hrdd.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyOut, Me
from hrdd.db import utcnow
from hrdd.deps import Admin, CurrentPrincipal, DbSession
from hrdd.errors import problem_responses
from hrdd.http import PageParams, page_params, paginate

router = APIRouter(tags=["auth"])


# 422 although it takes no input: the NUL guard (hrdd.middleware) refuses a NUL in any query.
@router.get("/me", summary="Who am I", response_model=Me, responses=problem_responses(401, 422))
async def me(principal: CurrentPrincipal) -> Me:  # no I/O: no worker-thread hop
    return Me(
        key_id=principal.key_id,
        key_name=principal.key_name,
        role=principal.role,
        organisation_id=principal.organisation_id,
        organisation_name=principal.organisation_name,
    )


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


@router.get(
    "/api-keys",
    summary="List the organisation's API keys",
    response_model=ApiKeyList,
    responses=problem_responses(401, 403, 422),
)
def list_keys(
    session: DbSession, _: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> ApiKeyList:
    keys, next_cursor = paginate(session, select(ApiKey), [ApiKey.created_at, ApiKey.id], page)
    return ApiKeyList(items=[_key_out(k) for k in keys], next_cursor=next_cursor)


@router.post(
    "/api-keys",
    summary="Create an API key (the secret is shown once)",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=problem_responses(401, 403, 413, 422),
)
def create_key(
    data: ApiKeyCreate, session: DbSession, principal: Admin, response: Response
) -> ApiKeyCreated:
    key, secret = service.create_key(
        session, principal.organisation_id, data.name, data.role, created_by=principal.key_id
    )
    response.headers["Location"] = f"/api/v1/api-keys/{key.id}"
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreated(**_key_out(key).model_dump(), key=secret)


@router.delete(
    "/api-keys/{key_id}",
    summary="Revoke an API key",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
    description="409 for the organisation's last admin key: create another admin key first.",
)
def revoke_key(key_id: uuid.UUID, session: DbSession, _: Admin, request: Request) -> None:
    service.revoke_key(session, key_id, utcnow())
    # Keys verified earlier stay cached for a few seconds: this process forgets them at once.
    key_cache(request.app).forget_on_commit(session)
