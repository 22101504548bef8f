"""RFC 9457 problem details: the one error shape of the whole API.

Services raise ``Problem`` subclasses; the handlers here turn them, validation errors, unknown
routes and unexpected exceptions into ``application/problem+json`` bodies. Nothing else in the
code base builds an error response by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hrdd.logs import redact_secrets

log = logging.getLogger("hrdd.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> (status, title, when it happens). Served at /problems/{slug} and listed in the README.
PROBLEM_TYPES: dict[str, tuple[int, str, str]] = {
    "unauthenticated": (401, "Authentication required", "No API key, or a bad or revoked one."),
    "forbidden": (403, "Not allowed", "The key's role may not do this."),
    "not-found": (404, "Not found", "No such resource, or not your organisation's."),
    "method-not-allowed": (405, "Method not allowed", "The route exists without this method."),
    "request-timeout": (408, "Request timeout", "The request body did not arrive in time."),
    "conflict": (409, "Conflict", "The resource is in a state that forbids this change."),
    "preview-required": (
        409,
        "Preview required",
        "A rule-set draft is published only after the publisher previewed it as it stands, "
        "against the rules in use now: preview it again.",
    ),
    "precondition-failed": (412, "Stale version", "If-Match names an older version."),
    "payload-too-large": (413, "Payload too large", "The body or upload is over the limit."),
    "unsupported-media-type": (415, "Unsupported media type", "Wrong content type."),
    "validation": (422, "Invalid request", "The content is not valid; see errors."),
    "precondition-required": (428, "If-Match required", "This write needs an If-Match header."),
    "internal": (500, "Internal error", "Unexpected failure; the request id helps find it."),
    "busy": (
        503,
        "Busy",
        "The database stayed locked by other writes longer than a request waits; nothing was "
        "changed: send it again shortly.",
    ),
}


class ProblemDetail(BaseModel):
    """One invalid field: a dotted path into the request and what is wrong with it."""

    path: str
    message: str


class ProblemBody(BaseModel):
    type: str = Field(examples=["/problems/validation"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemDetail] = Field(default_factory=list)


class Problem(Exception):
    slug = "internal"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[ProblemDetail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return PROBLEM_TYPES[self.slug][0]


class Unauthenticated(Problem):
    slug = "unauthenticated"


class Forbidden(Problem):
    slug = "forbidden"


class NotFound(Problem):
    slug = "not-found"


class Conflict(Problem):
    slug = "conflict"


class PreviewRequired(Conflict):
    """Publishing a rule-set draft its publisher has not previewed as it stands, against the
    rules in use now (409: the draft's state forbids it; the If-Match may be right)."""

    slug = "preview-required"


class PreconditionFailed(Problem):
    slug = "precondition-failed"


class PreconditionRequired(Problem):
    slug = "precondition-required"


class PayloadTooLarge(Problem):
    slug = "payload-too-large"


class UnsupportedMediaType(Problem):
    slug = "unsupported-media-type"


class Invalid(Problem):
    slug = "validation"

    @classmethod
    def at(cls, path: str, message: str, detail: str | None = None) -> Invalid:
        return cls(
            detail or f"{path}: {message}", errors=[ProblemDetail(path=path, message=message)]
        )


def problem_response(
    slug: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[ProblemDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    status, title, _ = PROBLEM_TYPES[slug]
    # Bodies echo paths and values the caller sent; an API key pasted there is not echoed.
    body = ProblemBody(
        type=f"/problems/{slug}",
        title=title,
        status=status,
        detail=redact_secrets(detail),
        instance=redact_secrets(instance) if instance else instance,
        errors=[
            ProblemDetail(path=redact_secrets(e.path), message=redact_secrets(e.message))
            for e in errors or []
        ],
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def location_to_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'answers', 0, 'value') -> 'answers.0.value'; query and path keep their prefix."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    # pydantic adds the union member's tag to the location; it names no field of the request.
    return ".".join(str(p) for p in parts if not str(p).startswith("function-")) or "body"


def plain_error_message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message in plain words, for people who never met pydantic: "`weight`
    is missing" for "Field required", "must be 0.001 or more, not 0" for "Input should be
    greater than or equal to 0.001", and for an item of several kinds (told by a field such as
    `kind`), what is wrong with that field rather than pydantic's "discriminator" and "tag".
    Messages the project words itself pass unchanged, without pydantic's "Value error, "."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    given = error.get("input")
    loc = error.get("loc") or ()
    name = next((part for part in reversed(loc) if isinstance(part, str)), None)
    field = str(context.get("discriminator", "")).strip("'")
    if kind == "union_tag_not_found" and field:
        return (
            f'"{field}" is missing: it says which kind of item this is, and so which fields '
            "it takes"
        )
    if kind == "union_tag_invalid" and field:
        return (
            f"{context.get('tag')!r} is not a {field} this takes; give one of "
            f"{context.get('expected_tags')}"
        )
    if kind == "missing":
        return f'"{name}" is missing' if name else "a value is missing here"
    if kind == "extra_forbidden":
        return f'"{name}" is not a field this takes' if name else "this field is not taken here"
    if kind in _BOUNDS and set(context) & {"ge", "gt", "le", "lt"}:
        words, key = _BOUNDS[kind]
        # A number in a URL or header arrives as text: "not 0", not "not '0'".
        from_text = bool(loc) and loc[0] in ("query", "path", "header") and isinstance(given, str)
        return f"must be {words.format(context[key])}, not {given if from_text else _shown(given)}"
    if kind == "int_from_float":
        return f"{_shown(given)} is not a whole number"
    if kind in _SHAPES and kind.endswith("_parsing") and isinstance(given, str):
        return f"{_shown(given)} is not {_SHAPES[kind]}"
    if kind in _SHAPES:
        return f"must be {_SHAPES[kind]}, not {json_kind(given)}"
    if kind in ("uuid_parsing", "uuid_type"):
        return (
            f"{_shown(given)} is not an id: ids are UUIDs such as "
            "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        )
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    # pydantic's other messages read well once they say what the value must be ("Input should
    # be 'low', 'high' or 'severe'", "String should have at most 2000 characters").
    for opening in ("Input should ", "String should ", "List should ", "Dictionary should "):
        if message.startswith(opening):
            return "must " + message.removeprefix(opening)
    return message


# pydantic's bound errors -> how the bound reads, and its key in the error's context.
_BOUNDS = {
    "greater_than_equal": ("{} or more", "ge"),
    "greater_than": ("more than {}", "gt"),
    "less_than_equal": ("{} or less", "le"),
    "less_than": ("less than {}", "lt"),
}
# pydantic's errors for a value of the wrong JSON kind -> the kind wanted.
_SHAPES = {
    "dict_type": "an object ({...})",
    "model_type": "an object ({...})",
    "model_attributes_type": "an object ({...})",
    "list_type": "a list ([...])",
    "string_type": "text in quotes",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
}


def json_kind(value: Any) -> str:
    """What a JSON value is, in words: a string, a list, null, true or false, a number, an
    object."""
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true or false"
    if isinstance(value, int | float | Decimal):
        return "a number"
    # A YAML file's unquoted 2021-01-01 is read as a date before the checks see it.
    return "a date" if isinstance(value, date) else "an object"


def _shown(value: Any) -> str:
    """A value as the caller wrote it, cut short."""
    return clipped(repr(value) if isinstance(value, str) else str(value), 60)


def clipped(text: str, limit: int = 40) -> str:
    """Text quoted back in a message, cut short: a pasted document is no help there."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_value_words(value: Any) -> str:
    """A JSON value that is not text as a message shows it: null, true, false, the number
    itself (cut short), a list, an object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return clipped(str(value))
    return "a list" if isinstance(value, list) else "an object"


def _validation_errors(exc: RequestValidationError) -> list[ProblemDetail]:
    return [_validation_error(err) for err in exc.errors()]


def _validation_error(err: dict[str, Any]) -> ProblemDetail:
    loc = err.get("loc", ())
    if err.get("type") == "json_invalid":
        # FastAPI puts the character position where a field name goes: ('body', 34).
        position = loc[-1] if loc and isinstance(loc[-1], int) else None
        reason = (err.get("ctx") or {}).get("error") or err.get("msg", "")
        where = f" at character {position}" if position is not None else ""
        return ProblemDetail(path="body", message=f"malformed JSON{where}: {reason}")
    if err.get("type") == "missing" and tuple(loc) == ("body",):
        # No body, or JSON null: pydantic's "Field required" names no field here.
        return ProblemDetail(path="body", message="the body is missing: this takes a JSON object")
    return ProblemDetail(path=location_to_path(loc), message=plain_error_message(err))


def _unreadable_body(cause: BaseException | None) -> str | None:
    if isinstance(cause, RecursionError):
        return "the JSON body is nested too deeply to read"
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not valid UTF-8"
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return "a number in the JSON body has too many digits"
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.slug, exc.detail, instance=request.url.path, errors=exc.errors, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e.path}: {e.message}" for e in errors[:5])
        return problem_response("validation", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not-found",
            405: "method-not-allowed",
            413: "payload-too-large",
            415: "unsupported-media-type",
            422: "validation",
        }.get(exc.status_code, "internal" if exc.status_code >= 500 else "validation")
        detail = exc.detail if isinstance(exc.detail, str) else PROBLEM_TYPES[slug][1]
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.method} {request.url.path}"
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        errors = []
        if exc.status_code == 400:
            # The body could not be parsed (JSON or multipart); say why where the cause tells.
            detail = _unreadable_body(exc.__cause__) or detail
            errors = [ProblemDetail(path="body", message=detail)]
        return problem_response(
            slug,
            detail,
            instance=request.url.path,
            errors=errors,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only errors of the request middleware itself get here: it answers all others
        # (hrdd.middleware), with the request id this one no longer knows.
        log.exception("unhandled error", extra={"path": redact_secrets(request.url.path)})
        return internal_error(request.url.path, request_id=None)


def internal_error(path: str, request_id: str | None) -> JSONResponse:
    """The problem 500 for an unexpected error: nothing of the error itself, only how to
    find it in the log."""
    detail = "An unexpected error occurred"
    if request_id is not None:
        detail += f"; quote request id {request_id} when reporting it"
    return problem_response("internal", detail + ".", instance=redact_secrets(path))


# How long a client is told to wait before sending a request the database was too busy for.
BUSY_RETRY_AFTER_SECONDS = 5


def database_busy(error: BaseException) -> bool:
    """Whether an error is the database's lock wait running out (SQLite's busy timeout):
    a 503 to retry, not a fault."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def busy_error(path: str) -> JSONResponse:
    return problem_response(
        "busy",
        "the database is busy with other writes and this request waited too long for its turn; "
        f"nothing was changed: send it again in {BUSY_RETRY_AFTER_SECONDS} seconds",
        instance=redact_secrets(path),
        headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error responses a route can give, all with the problem body."""
    by_status: dict[int, tuple[str, str]] = {}
    for slug, (status, title, _) in PROBLEM_TYPES.items():
        # The general kind of a status (listed first) names it: 409 is "Conflict", of which a
        # missing preview is one case.
        by_status.setdefault(status, (slug, title))
    return {
        status: {
            "description": by_status[status][1],
            "content": {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemBody"}}
            },
        }
        for status in statuses
    }
