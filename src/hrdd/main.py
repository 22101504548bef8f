"""The application factory: routers, error handlers, middleware, offline docs, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text

from hrdd import __version__
from hrdd.assessments.api import router as assessments_router
from hrdd.auth.api import router as auth_router
from hrdd.auth.cache import KeyCache
from hrdd.companies.api import router as companies_router
from hrdd.config import Settings, get_settings
from hrdd.db import Database
from hrdd.errors import (
    PROBLEM_TYPES,
    NotFound,
    ProblemBody,
    install_error_handlers,
    problem_responses,
)
from hrdd.evidence.api import router as evidence_router
from hrdd.http import body_media_type
from hrdd.logs import configure_logging
from hrdd.middleware import RequestContextMiddleware
from hrdd.migrations_info import head_revision
from hrdd.models_registry import metadata as _all_tables  # noqa: F401  (mappers before queries)
from hrdd.portfolios.api import router as portfolios_router
from hrdd.questionnaires.answers import payload_component_schemas
from hrdd.questionnaires.api import router as questionnaires_router
from hrdd.reports.api import router as reports_router
from hrdd.reports.jobs import start_report_jobs, stop_report_jobs
from hrdd.response_cache import (
    ResponseCacheMiddleware,
    install_response_cache,
    response_cache,
)
from hrdd.scoring.api import router as scoring_router
from hrdd.screening.api import router as screening_router

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
API_PREFIX = "/api/v1"

DESCRIPTION = """
hrdd helps investors run human-rights due diligence on the surveillance-technology companies
they hold: questionnaires modelled on the STAP investor guide, a registry of evidence of abuse,
a transparent scoring engine and PDF risk reports.

Authenticate with `Authorization: Bearer <API key>`. Errors are RFC 9457 problem details.
"""


class Health(BaseModel):
    status: str
    database: str
    migration: str | None
    migration_head: str | None
    version: str


def api_routers() -> list[APIRouter]:
    return [
        auth_router,
        companies_router,
        questionnaires_router,
        assessments_router,
        evidence_router,
        screening_router,
        scoring_router,
        portfolios_router,
        reports_router,
    ]


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start_report_jobs(app)
        try:
            yield
        finally:
            stop_report_jobs(app)
            cache = response_cache(app)
            if cache is not None:
                cache.close()
            if database is None:
                app.state.db.dispose()

    app = FastAPI(
        title="hrdd",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(body_media_type)],
    )
    app.state.settings = settings
    app.state.db = database or Database(settings.database_url)
    app.state.key_cache = KeyCache()
    install_response_cache(app, app.state.db, settings.response_cache_bytes)

    install_error_handlers(app)
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    _install_meta_routes(app)

    # Innermost of ours: a stored response still passes the NUL guard, the body limit, CORS,
    # the request id and the access log.
    app.add_middleware(ResponseCacheMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "Location", "X-Request-ID"],
        )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout_seconds,
    )
    _document_problem_body(app)
    return app


def _install_meta_routes(app: FastAPI) -> None:
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="hrdd API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )

    # 422 although it takes no input: the NUL guard (hrdd.middleware) refuses a NUL in any query.
    @app.get(
        "/health",
        tags=["meta"],
        summary="Liveness, database and migration version",
        response_model=Health,
        responses={
            503: {
                "model": Health,
                "description": "Degraded: the database is unreachable or not at the latest "
                "migration (the body says which)",
            },
            **problem_responses(422),
        },
    )
    def health(request: Request) -> JSONResponse:
        db: Database = request.app.state.db
        try:
            with db.engine.connect() as connection:
                current = connection.execute(
                    text("SELECT version_num FROM alembic_version")
                ).scalar()
            database_state = "ok"
        except Exception:  # any failure here means the database is not usable
            current, database_state = None, "unreachable"
        head = head_revision()
        healthy = database_state == "ok" and current == head
        body = Health(
            status="ok" if healthy else "degraded",
            database=database_state,
            migration=current,
            migration_head=head,
            version=__version__,
        )
        return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)

    @app.get(
        "/problems/{slug}",
        tags=["meta"],
        summary="What an error type means",
        responses=problem_responses(404, 422),
    )
    def problem_type(slug: str) -> dict[str, str | int]:
        if slug not in PROBLEM_TYPES:
            raise NotFound(f"no problem type {slug!r}")
        status, title, meaning = PROBLEM_TYPES[slug]
        return {"type": f"/problems/{slug}", "status": status, "title": title, "meaning": meaning}


def _document_problem_body(app: FastAPI) -> None:
    """Add the problem-details schema to OpenAPI so every route's error responses resolve, and
    the answer payload's, which the answer routes take as plain objects."""
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(
            ProblemBody.model_json_schema(ref_template="#/components/schemas/{model}").pop(
                "$defs", {}
            )
        )
        components["ProblemBody"] = ProblemBody.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components["ProblemBody"].pop("$defs", None)
        for name, payload_schema in payload_component_schemas().items():
            # A name taken by another model's schema would document the wrong fields.
            if components.setdefault(name, payload_schema) != payload_schema:
                raise RuntimeError(f"two OpenAPI schemas are named {name}")
        # Every route with a body refuses another media type (hrdd.http.body_media_type) and
        # a body that does not arrive in time (hrdd.middleware.WorkerThreadAdmission).
        body_problems = problem_responses(408, 415)
        # Any route may find the database locked by other writes past its wait (SQLite; a
        # read may store a score): 503 to retry (hrdd.errors.busy_error).
        busy = problem_responses(503)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                for status_code, response in busy.items():
                    responses.setdefault(str(status_code), response)
                if "requestBody" in operation:
                    for status_code, response in body_problems.items():
                        responses.setdefault(str(status_code), response)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
