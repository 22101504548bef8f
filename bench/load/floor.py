"""The write floor of the load benchmark: hrdd's own app (its middleware, access log, key check
and tenant session) with one extra route that takes exactly what an answer write takes (the
path, an If-Match header and a JSON body, for an investor key) and does none of its work: it
takes a worker thread, runs no query and commits nothing. Served as hrdd is, it tells what the
framework alone costs a write, and so how much of the ceiling is left for the write itself."""

import uuid
from typing import Annotated

from fastapi import Body, Response

from hrdd.assessments.schemas import RawPayload
from hrdd.deps import DbSession, Investor, in_worker_thread
from hrdd.http import RequiredIfMatch
from hrdd.main import create_app

app = create_app()


@app.put("/floor/assessments/{assessment_id}/answers/{question_id}")
async def write_floor(
    assessment_id: uuid.UUID,
    question_id: str,
    payload: Annotated[RawPayload, Body()],
    session: DbSession,
    principal: Investor,
    response: Response,
    if_match: RequiredIfMatch,
) -> dict[str, str]:
    def work() -> dict[str, str]:
        response.headers["ETag"] = if_match or ""
        kind = payload.get("type") if isinstance(payload, dict) else None
        return {"question_id": question_id, "type": str(kind)}

    return await in_worker_thread(session, work)


def _match_where_answer_writes_match() -> None:
    """Move the floor route to just before the assessments routes. FastAPI tries routes in
    order, so a route added last pays for trying every other route first (about a fifth of
    this route's cost, measured with py-spy), which a real answer write does not."""
    routes = app.router.routes
    floor = routes.pop()
    position = next(
        index
        for index, route in enumerate(routes)
        if getattr(getattr(route, "original_router", None), "prefix", None) == "/assessments"
    )
    routes.insert(position, floor)


_match_where_answer_writes_match()
