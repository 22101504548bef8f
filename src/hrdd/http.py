"""HTTP conventions shared by every router: list pages, ETags, body media types."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request, Response
from fastapi.params import Form
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, WithJsonSchema, model_validator
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from hrdd.errors import Invalid, PreconditionFailed, PreconditionRequired, UnsupportedMediaType

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=500, description="Opaque cursor from next_cursor")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def _encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def _decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid.at("query.cursor", "not a cursor this API issued") from exc
    if not isinstance(values, list) or len(values) != width:
        raise Invalid.at("query.cursor", "not a cursor this API issued")
    return values


def paginate(
    session: Session,
    statement: Select[Any],
    order_by: Sequence[InstrumentedAttribute[Any]],
    page: PageParams,
) -> tuple[list[Any], str | None]:
    """Keyset pagination: stable under inserts, no OFFSET scans. ``order_by`` must end with a
    unique column (the id) and hold values that survive a JSON round trip as strings."""
    if page.cursor:
        values = _decode_cursor(page.cursor, len(order_by))
        # (a, b, id) > (va, vb, vid), spelled out because not every database has row values.
        clauses = []
        for i, column in enumerate(order_by):
            equal_before = [order_by[j] == _coerce(order_by[j], values[j]) for j in range(i)]
            clauses.append(and_(*equal_before, column > _coerce(column, values[i])))
        statement = statement.where(or_(*clauses))
    rows = list(session.scalars(statement.order_by(*order_by).limit(page.limit + 1)))
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        next_cursor = _encode_cursor([getattr(last, column.key) for column in order_by])
    return rows, next_cursor


def _coerce(column: InstrumentedAttribute[Any], value: Any) -> Any:
    """A cursor value as the column's type. Cursors hold JSON: numbers for integer columns,
    strings for everything else; anything else (a cursor of another list, or made up) is a
    422, never a value handed to the database."""
    python_type = column.property.columns[0].type.python_type
    refused = Invalid.at("query.cursor", "not a cursor this API issued")
    if python_type is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise refused
    if not isinstance(value, str):
        raise refused
    try:
        if python_type is datetime:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:  # every stored moment is in UTC, with its offset
                raise refused
            return moment
        if python_type is date:
            return date.fromisoformat(value)
        return python_type(value)
    except (TypeError, ValueError, AttributeError) as exc:
        raise refused from exc


def etag_for(resource_id: Any, version: int) -> str:
    return f'"{resource_id}-{version}"'


_VERSION_TAG = re.compile(r'^(W/)?"([0-9a-fA-F-]{36})-(\d{1,18})"$')


def tagged_versions(if_match: str | None, resource_id: Any) -> list[tuple[int, bool]]:
    """The versions of ``resource_id`` an If-Match names in ``etag_for``'s tags, in the order
    sent, each with whether its tag was weak: for a 412 that says which version was read."""
    found = []
    for tag in (if_match or "").split(","):
        parts = _VERSION_TAG.match(tag.strip())
        if parts is not None and parts[2].lower() == str(resource_id):
            found.append((int(parts[3]), parts[1] is not None))
    return found


def check_if_match(
    if_match: str | None,
    current_etag: str,
    *,
    required: bool,
    stale: Callable[[], str] | None = None,
) -> None:
    """412 when the caller's copy is stale; 428 when a write needs If-Match and has none.
    ``stale`` words the 412 for a well-formed tag that is out of date, where the resource can
    say what changed and what to do (called only then)."""
    if if_match is None:
        if required:
            raise PreconditionRequired(
                "send the ETag of the version you read as If-Match, so edits are not lost"
            )
        return
    candidates = [tag.strip() for tag in if_match.split(",")]
    if "*" in candidates:
        return
    if not any(tag.startswith(('"', 'W/"')) for tag in candidates):
        raise PreconditionFailed(
            f"If-Match {if_match!r} is not an ETag: send it exactly as the ETag header gave it, "
            f"quotes included (current ETag {current_etag})",
            headers={"ETag": current_etag},
        )
    # If-Match compares strongly: a weak tag (W/"...") never matches (RFC 9110, 13.1.1).
    if current_etag not in candidates:
        raise PreconditionFailed(
            stale()
            if stale is not None
            else f"the resource changed since you read it (current ETag {current_etag}); "
            "read it again and reapply your change",
            headers={"ETag": current_etag},
        )


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="ETag of the version you read; a stale one gets 412 and changes nothing",
    ),
]


class _RequiredIfMatchHeader(BaseModel):
    """If-Match, documented as required. A missing header still gets through (as None) so
    that ``check_if_match(..., required=True)`` answers 428, not FastAPI's 422."""

    if_match: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        alias="If-Match",
        description="ETag of the version you read: required (428 without it); a stale one "
        "gets 412 and changes nothing",
    )

    @model_validator(mode="before")
    @classmethod
    def _absent_is_none(cls, headers: Any) -> Any:
        return {"If-Match": None, **headers} if isinstance(headers, dict) else headers


def _required_if_match(header: Annotated[_RequiredIfMatchHeader, Header()]) -> str | None:
    return header.if_match


# For writes that call check_if_match(..., required=True): the OpenAPI says so.
RequiredIfMatch = Annotated[str | None, Depends(_required_if_match)]


_FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:[\w.\-]+\+)?json$")
_CHARSET = re.compile(r"charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)


def _takes_form(route: APIRoute) -> bool:
    # File() is a kind of Form(): uploads are multipart.
    return any(isinstance(param.field_info, Form) for param in route.dependant.body_params)


async def body_media_type(request: Request) -> None:
    """415 for a body of the wrong media type: JSON routes take application/json, upload
    routes multipart/form-data. Without it a form or text body reached JSON validation and got
    a puzzling 422 ('Input should be a valid dictionary'). A request with no body goes on, to
    be refused for the missing body where one is required."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return
    headers = request.headers
    if headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
        return
    media_type, _, parameters = headers.get("content-type", "").partition(";")
    media_type = media_type.strip().lower()
    if _takes_form(route):
        if media_type not in _FORM_MEDIA_TYPES:
            raise UnsupportedMediaType(
                f"send this upload as multipart/form-data, not {media_type or 'no content type'}"
            )
        return
    # What FastAPI reads as JSON: application/json and application/...+json (not text/json).
    if not _JSON_MEDIA_TYPE.match(media_type):
        raise UnsupportedMediaType(
            f"send the body as application/json, not {media_type or 'no content type'}"
        )
    charset = _CHARSET.search(parameters)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(
            f"JSON bodies are read as UTF-8; charset={charset.group(1)} is not accepted"
        )


def attachment(content: bytes, media_type: str, filename: str) -> Response:
    """A file to download under ``filename`` (an ASCII name, as ``download_name`` makes)."""
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
