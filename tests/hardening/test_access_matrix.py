"""The access matrix: every route of the API, read from the router, against every way a caller
may be refused (issue 2: no or bad key 401, wrong role 403, another organisation's object 404).

`ROUTES` classifies each (method, path): the least role that may call it, which of its path
parameters name objects private to an organisation (the others name shared reference data or
nothing), and a valid request body, so that a 404 comes from the ownership check and not from
validation. A route added to the app without a line here fails `test_every_route_is_classified`.

Two organisations are built through the API (`access_fixtures`): Aurora (A, the caller) and
Borealis (B, whose data must stay hidden). Every check also searches A's responses, headers and
the text inside PDFs and spreadsheets included, for B's marker, name and private object ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response
from tests.hardening.access_fixtures import (
    API,
    EXPORT_FORMATS,
    PATH_PARAMETERS,
    TEXT_QUESTION,
    World,
    answer_payloads,
    build_world,
    commitment_body,
    evidence_body,
    load_shared_content,
    screening_upload,
    searchable_text,
)

from hrdd.reports import jobs
from hrdd.vocab import Role

INVESTOR, ANALYST, ADMIN = Role.investor, Role.analyst, Role.admin
PROBLEM_MEDIA_TYPE = "application/problem+json"
# A well-formed but outdated ETag: the owner's own request then stops at 412 and changes nothing.
STALE = {"If-Match": '"stale"'}
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

RequestArguments = dict[str, Any]
BodyBuilder = Callable[[World], RequestArguments]


@dataclass(frozen=True)
class Access:
    """Who may call a route, and what it names."""

    role: Role
    private: tuple[str, ...] = ()
    """Path parameters naming objects private to an organisation."""
    body: BodyBuilder | None = None
    """Valid request arguments (json, files, data, headers) naming the world's objects."""
    private_in_body: bool = False
    """The body names a private object of the world (so another organisation gets 404)."""
    own: Callable[[World], dict[str, str]] | None = None
    """Path values naming what the world made itself where the route's parameter otherwise
    names shared data (a company made through the API, private to its maker): the maker's
    request uses these, another organisation's names the shared one and is refused (403)."""

    def path_values(self, world: World) -> dict[str, str]:
        return {**world.path_values(), **(self.own(world) if self.own else {})}


def _evidence_update(world: World) -> RequestArguments:
    body = evidence_body(world)
    del body["company_id"]
    return {"json": body, "headers": STALE}


def _commitment_update(world: World) -> RequestArguments:
    body = commitment_body(world)
    del body["company_id"]
    return {"json": body, "headers": STALE}


def _answers_document(world: World) -> RequestArguments:
    document = {
        "questionnaire_key": world.shared.questionnaire_key,
        "questionnaire_version": world.shared.questionnaire_version,
        "answers": answer_payloads(world, with_file=False),
    }
    return {"json": document, "headers": STALE}


ROUTES: dict[tuple[str, str], Access] = {
    # auth
    ("GET", "/me"): Access(INVESTOR),
    ("GET", "/api-keys"): Access(ADMIN),
    ("POST", "/api-keys"): Access(
        ADMIN, body=lambda w: {"json": {"name": f"Key {w.marker}", "role": "investor"}}
    ),
    ("DELETE", "/api-keys/{key_id}"): Access(ADMIN, ("key_id",)),
    # companies (bundled ones shared, those made through the API private to their maker)
    ("GET", "/companies"): Access(INVESTOR),
    ("POST", "/companies"): Access(ANALYST, body=lambda w: {"json": {"name": "Example Optics"}}),
    ("GET", "/companies/{company_id}"): Access(INVESTOR),
    # Bundled companies are read-only (403); another organisation's company is not found
    # (404, tests/portfolios/test_shared_registry_edits.py): the maker edits its own.
    ("PUT", "/companies/{company_id}"): Access(
        ANALYST,
        body=lambda w: {"json": {"name": "Example Optics Holdings"}, "headers": STALE},
        own=lambda w: {"company_id": w.company_id},
    ),
    ("POST", "/companies/{company_id}/ownership"): Access(
        ANALYST, body=lambda w: {"json": {"owner_name": "Example Holdings", "owner_kind": "other"}}
    ),
    # A link an analyst adds is private to its organisation, though on a shared company.
    ("DELETE", "/companies/{company_id}/ownership/{link_id}"): Access(ANALYST, ("link_id",)),
    # questionnaires (shared)
    ("GET", "/questionnaires"): Access(INVESTOR),
    ("POST", "/questionnaires"): Access(ANALYST),
    ("GET", "/questionnaires/{key}/versions/{version}"): Access(INVESTOR),
    ("GET", "/questionnaires/{key}/versions/{version}/template.xlsx"): Access(INVESTOR),
    # assessments (private)
    ("POST", "/assessments"): Access(
        INVESTOR,
        body=lambda w: {
            "json": {
                "company_id": w.shared.company_id,
                "questionnaire_key": w.shared.questionnaire_key,
            }
        },
    ),
    ("GET", "/assessments"): Access(INVESTOR),
    ("GET", "/assessments/{assessment_id}"): Access(INVESTOR, ("assessment_id",)),
    ("PUT", "/assessments/{assessment_id}/answers/{question_id}"): Access(
        INVESTOR,
        ("assessment_id",),
        body=lambda w: {"json": answer_payloads(w)[TEXT_QUESTION], "headers": STALE},
    ),
    ("PATCH", "/assessments/{assessment_id}/answers"): Access(
        INVESTOR,
        ("assessment_id",),
        body=lambda w: {"json": {"answers": answer_payloads(w)}, "headers": STALE},
    ),
    ("DELETE", "/assessments/{assessment_id}/answers/{question_id}"): Access(
        INVESTOR, ("assessment_id",), body=lambda w: {"headers": STALE}
    ),
    ("POST", "/assessments/{assessment_id}/submit"): Access(
        INVESTOR, ("assessment_id",), body=lambda w: {"headers": STALE}
    ),
    ("POST", "/assessments/{assessment_id}/review"): Access(
        ANALYST, ("assessment_id",), body=lambda w: {"json": {"decision": "approve"}}
    ),
    ("POST", "/assessments/{assessment_id}/reopen"): Access(INVESTOR, ("assessment_id",)),
    ("GET", "/assessments/{assessment_id}/history"): Access(INVESTOR, ("assessment_id",)),
    ("GET", "/assessments/{assessment_id}/export"): Access(INVESTOR, ("assessment_id",)),
    ("GET", "/assessments/{assessment_id}/template.xlsx"): Access(INVESTOR, ("assessment_id",)),
    ("POST", "/assessments/{assessment_id}/import"): Access(
        INVESTOR, ("assessment_id",), body=_answers_document
    ),
    ("POST", "/assessments/{assessment_id}/import.xlsx"): Access(
        INVESTOR,
        ("assessment_id",),
        body=lambda w: {
            "files": {"file": ("answers.xlsx", b"PK\x03\x04 not a workbook", XLSX_MEDIA_TYPE)},
            "headers": STALE,
        },
    ),
    ("POST", "/assessments/{assessment_id}/files"): Access(
        INVESTOR,
        ("assessment_id",),
        body=lambda w: {"files": {"file": ("note.txt", b"Meeting minutes", "text/plain")}},
    ),
    ("GET", "/assessments/{assessment_id}/files/{file_id}"): Access(
        INVESTOR, ("assessment_id", "file_id")
    ),
    # evidence and commitments (shared bundled items, private analyst items)
    ("GET", "/companies/{company_id}/evidence"): Access(INVESTOR),
    ("POST", "/evidence"): Access(ANALYST, body=lambda w: {"json": evidence_body(w)}),
    ("GET", "/evidence/{evidence_id}"): Access(INVESTOR, ("evidence_id",)),
    ("PUT", "/evidence/{evidence_id}"): Access(ANALYST, ("evidence_id",), body=_evidence_update),
    ("DELETE", "/evidence/{evidence_id}"): Access(
        ANALYST, ("evidence_id",), body=lambda w: {"headers": STALE}
    ),
    ("GET", "/evidence/{evidence_id}/history"): Access(ANALYST, ("evidence_id",)),
    ("GET", "/companies/{company_id}/commitments"): Access(INVESTOR),
    ("POST", "/commitments"): Access(ANALYST, body=lambda w: {"json": commitment_body(w)}),
    ("GET", "/commitments/{commitment_id}"): Access(INVESTOR, ("commitment_id",)),
    ("PUT", "/commitments/{commitment_id}"): Access(
        ANALYST, ("commitment_id",), body=_commitment_update
    ),
    ("DELETE", "/commitments/{commitment_id}"): Access(
        ANALYST, ("commitment_id",), body=lambda w: {"headers": STALE}
    ),
    ("GET", "/commitments/{commitment_id}/history"): Access(ANALYST, ("commitment_id",)),
    # screening (private)
    ("POST", "/screening/imports"): Access(ANALYST, body=screening_upload),
    ("GET", "/screening/imports"): Access(ANALYST),
    ("GET", "/screening/imports/{import_id}"): Access(ANALYST, ("import_id",)),
    ("GET", "/screening/matches"): Access(ANALYST),
    ("POST", "/screening/matches/{match_id}/confirm"): Access(ANALYST, ("match_id",)),
    ("POST", "/screening/matches/{match_id}/reject"): Access(ANALYST, ("match_id",)),
    # scoring rules (a bundled shared version, private drafts and published versions)
    ("GET", "/rulesets"): Access(INVESTOR),
    ("GET", "/rulesets/current"): Access(INVESTOR),
    ("PUT", "/rulesets/current"): Access(
        ANALYST,
        body=lambda w: {"json": {"version_id": w.published_ruleset_id}},
        private_in_body=True,
    ),
    ("DELETE", "/rulesets/current"): Access(ANALYST),
    ("GET", "/rulesets/current/history"): Access(INVESTOR),
    ("GET", "/rulesets/{version_id}"): Access(INVESTOR, ("version_id",)),
    ("GET", "/rulesets/{version_id}/history"): Access(INVESTOR, ("version_id",)),
    ("POST", "/rulesets/{version_id}/drafts"): Access(ANALYST, ("version_id",)),
    ("PUT", "/rulesets/drafts/{draft_id}"): Access(
        ANALYST, ("draft_id",), body=lambda w: {"json": {}, "headers": STALE}
    ),
    ("DELETE", "/rulesets/drafts/{draft_id}"): Access(
        ANALYST, ("draft_id",), body=lambda w: {"headers": STALE}
    ),
    ("POST", "/rulesets/drafts/{draft_id}/preview"): Access(ANALYST, ("draft_id",)),
    ("POST", "/rulesets/drafts/{draft_id}/publish"): Access(
        ANALYST, ("draft_id",), body=lambda w: {"json": {"make_current": False}, "headers": STALE}
    ),
    ("GET", "/assessments/{assessment_id}/score"): Access(INVESTOR, ("assessment_id",)),
    ("GET", "/assessments/{assessment_id}/scores"): Access(INVESTOR, ("assessment_id",)),
    # portfolios (private)
    ("POST", "/portfolios"): Access(
        INVESTOR, body=lambda w: {"json": {"name": "Second fund", "base_currency": "USD"}}
    ),
    ("GET", "/portfolios"): Access(INVESTOR),
    ("GET", "/portfolios/{portfolio_id}"): Access(INVESTOR, ("portfolio_id",)),
    ("POST", "/portfolios/{portfolio_id}/holdings/import"): Access(
        INVESTOR,
        ("portfolio_id",),
        # A file the owner's import refuses (no known column), so its holdings stay.
        body=lambda w: {"files": {"file": ("holdings.csv", b"colour\nblue\n", "text/csv")}},
    ),
    ("GET", "/portfolios/{portfolio_id}/holdings"): Access(INVESTOR, ("portfolio_id",)),
    ("POST", "/portfolios/{portfolio_id}/holdings/{holding_id}/resolve"): Access(
        INVESTOR,
        ("portfolio_id", "holding_id"),
        body=lambda w: {"json": {"company_id": w.shared.company_id}},
    ),
    ("GET", "/portfolios/{portfolio_id}/risk"): Access(INVESTOR, ("portfolio_id",)),
    ("GET", "/portfolios/{portfolio_id}/risk.{export_format}"): Access(INVESTOR, ("portfolio_id",)),
    # reports (private)
    ("GET", "/assessments/{assessment_id}/report.pdf"): Access(INVESTOR, ("assessment_id",)),
    ("GET", "/portfolios/{portfolio_id}/report.pdf"): Access(INVESTOR, ("portfolio_id",)),
    ("POST", "/portfolios/{portfolio_id}/reports"): Access(
        INVESTOR, ("portfolio_id",), body=lambda w: {"json": {"page_size": "A4"}}
    ),
    ("GET", "/report-jobs/{job_id}"): Access(INVESTOR, ("job_id",)),
    ("GET", "/report-jobs/{job_id}/file"): Access(INVESTOR, ("job_id",)),
    ("GET", "/assessment-scores.{export_format}"): Access(INVESTOR),
}

ROLES_BELOW = {INVESTOR: (), ANALYST: (INVESTOR,), ADMIN: (INVESTOR, ANALYST)}


def api_routes(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    """Every (method, path under /api/v1) the app serves, read from its router."""
    # FastAPI 0.16x includes routers lazily (app.routes holds the included routers, not their
    # routes); iter_route_contexts walks into them. Older versions list the routes themselves.
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    entries = (
        [(context.path, context.methods, context.original_route) for context in walk(app.routes)]
        if walk is not None
        else [(route.path, route.methods, route) for route in app.routes]
    )
    found: dict[tuple[str, str], APIRoute] = {}
    for path, methods, route in entries:
        if isinstance(route, APIRoute) and path.startswith(f"{API}/"):
            for method in methods or ():
                found[(method, path.removeprefix(API))] = route
    return found


# --- fixtures ------------------------------------------------------------------------------------


@dataclass
class Worlds:
    a: World
    b: World


@pytest.fixture
def worlds(client, db, settings, tenant_a, tenant_b) -> Worlds:  # type: ignore[no-untyped-def]
    shared = load_shared_content(client, db, settings, tenant_a)
    a = build_world(client, tenant_a, shared, f"AURORA-{uuid.uuid4().hex}")
    b = build_world(client, tenant_b, shared, f"BOREALIS-{uuid.uuid4().hex}")
    return Worlds(a=a, b=b)


@pytest.fixture
def routes(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    return api_routes(app)


# --- helpers -------------------------------------------------------------------------------------


def send(
    client: TestClient,
    method: str,
    path: str,
    values: dict[str, str],
    headers: dict[str, str],
    arguments: RequestArguments,
) -> Response:
    extra = {name: value for name, value in arguments.items() if name != "headers"}
    return client.request(
        method,
        f"{API}{path.format(**values)}",
        headers={**arguments.get("headers", {}), **headers},
        **extra,
    )


def request_arguments(access: Access, world: World) -> RequestArguments:
    return access.body(world) if access.body else {}


def leaked(response: Response, secrets: list[str]) -> list[str]:
    """The secrets a response reveals, leaving out what the caller itself put in the request."""
    sent = str(response.request.url) + response.request.content.decode("utf-8", "replace")
    text = searchable_text(response)
    return [secret for secret in secrets if secret in text and secret not in sent]


def is_problem(response: Response, status: int) -> bool:
    return (
        response.status_code == status
        and response.headers.get("content-type", "").startswith(PROBLEM_MEDIA_TYPE)
        and response.json().get("status") == status
    )


def classified(routes: dict[tuple[str, str], APIRoute]) -> list[tuple[str, str]]:
    """The routes ROUTES classifies (test_every_route_is_classified fails for the others)."""
    return [key for key in routes if key in ROUTES]


def ordered(keys: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Reads first and deletions last, so that an owner's own request does not remove what a
    later route needs."""
    rank = {"GET": 0, "DELETE": 2}
    yield from sorted(keys, key=lambda key: rank.get(key[0], 1))


# --- tests ---------------------------------------------------------------------------------------


def test_every_route_is_classified(routes: dict[tuple[str, str], APIRoute]) -> None:
    unclassified = sorted(set(routes) - set(ROUTES))
    gone = sorted(set(ROUTES) - set(routes))
    assert not unclassified and not gone, (
        f"classify these routes in ROUTES: {unclassified}; "
        f"these ROUTES entries match no route any more: {gone}"
    )
    problems = []
    for key, route in sorted(routes.items()):
        names = {param.name for param in route.dependant.path_params}
        unknown = names - set(PATH_PARAMETERS)
        if unknown:
            problems.append(f"{key}: no test value for path parameters {sorted(unknown)}")
        if key in ROUTES and not set(ROUTES[key].private) <= names:
            problems.append(f"{key}: ROUTES names private parameters the path does not have")
    assert not problems, "\n".join(problems)


def test_no_key_a_bad_key_and_a_revoked_key_get_401(
    client: TestClient, worlds: Worlds, routes: dict[tuple[str, str], APIRoute]
) -> None:
    a = worlds.a
    revoked = client.delete(f"{API}/api-keys/{a.spare_key_id}", headers=a.tenant.admin)
    assert revoked.status_code == 204, revoked.text
    credentials = {
        "no key": {},
        "unknown key": {"Authorization": f"Bearer hrdd_{uuid.uuid4().hex}"},
        "not a bearer key": {"Authorization": f"Basic {a.tenant.keys[ADMIN]}"},
        "revoked key": {"Authorization": f"Bearer {a.spare_key_secret}"},
    }
    failures = []
    for method, path in sorted(routes):
        access = ROUTES.get((method, path), Access(INVESTOR))
        for label, headers in credentials.items():
            response = send(
                client, method, path, a.path_values(), headers, request_arguments(access, a)
            )
            if not is_problem(response, 401) or "WWW-Authenticate" not in response.headers:
                failures.append(f"{method} {path} with {label}: {response.status_code}")
    assert not failures, "expected 401 problem responses:\n" + "\n".join(failures)


def test_roles_below_the_routes_role_get_403(
    client: TestClient, worlds: Worlds, routes: dict[tuple[str, str], APIRoute]
) -> None:
    a = worlds.a
    failures = []
    for method, path in ordered(classified(routes)):
        access = ROUTES[(method, path)]
        for role in ROLES_BELOW[access.role]:
            response = send(
                client,
                method,
                path,
                a.path_values(),
                a.tenant.headers(role),
                request_arguments(access, a),
            )
            if not is_problem(response, 403):
                failures.append(f"{method} {path} as {role.value}: {response.status_code}")
    assert not failures, "expected 403 problem responses:\n" + "\n".join(failures)


def test_another_organisations_objects_are_not_found_and_not_changed(
    client: TestClient, worlds: Worlds, routes: dict[tuple[str, str], APIRoute]
) -> None:
    """A's keys, of the route's role, on B's objects: 404 with nothing of B in it, and B's
    objects read the same afterwards. B's own keys on the same requests find the objects
    (anything but 401/403/404), so each 404 is about ownership, not a malformed request."""
    a, b = worlds.a, worlds.b
    private = [
        key for key in classified(routes) if ROUTES[key].private or ROUTES[key].private_in_body
    ]
    _owner_view(client, b, routes)  # the first read of a score stores it
    before = _owner_view(client, b, routes)
    failures = []
    for method, path in ordered(private):
        access = ROUTES[(method, path)]
        headers = a.tenant.headers(access.role)
        # Bodies name B's objects but carry A's own marker: what B's data shows is B's alone.
        arguments = request_arguments(access, replace(b, marker=a.marker))
        for values in _mixes(access, a, b):
            response = send(client, method, path, values, headers, arguments)
            shown = leaked(response, b.secrets())
            if not is_problem(response, 404) or shown:
                owners = {
                    name: "A" if values[name] == a.path_values()[name] else "B"
                    for name in access.private
                }
                failures.append(f"{method} {path} {owners}: {response.status_code}, {shown}")
    assert _owner_view(client, b, routes) == before, "another organisation changed B's objects"
    for method, path in ordered(private):
        access = ROUTES[(method, path)]
        response = send(
            client,
            method,
            path,
            b.path_values(),
            b.tenant.headers(access.role),
            request_arguments(access, b),
        )
        if response.status_code in (401, 403, 404) or response.status_code >= 500:
            failures.append(f"{method} {path} by the owner: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_own_views_and_lists_show_nothing_of_another_organisation(
    client: TestClient,
    db,
    settings,
    worlds: Worlds,
    routes,  # type: ignore[no-untyped-def]
) -> None:
    """Every read of A's own and shared objects (lists, timelines, exports, PDFs) answers 200
    and shows nothing of B, whose private evidence, commitment and screening results concern
    the very companies A assesses and holds. Writes that name no private object accept the
    route's role and reveal nothing of B either."""
    a, b = worlds.a, worlds.b
    while jobs.run_next_job(db, settings) is not None:
        pass  # finish both organisations' report jobs, so A's job file can be read
    failures = []
    for method, path in ordered(classified(routes)):
        access = ROUTES[(method, path)]
        if method != "GET" and (access.private or access.private_in_body):
            continue
        for values in _export_variants(path, access.path_values(a)):
            response = send(
                client,
                method,
                path,
                values,
                a.tenant.headers(access.role),
                request_arguments(access, a),
            )
            shown = leaked(response, b.secrets())
            refused = response.status_code in (401, 403) or response.status_code >= 500
            if shown or refused or (method == "GET" and response.status_code != 200):
                failures.append(
                    f"{method} {path} {response.request.url.path}: "
                    f"{response.status_code}, reveals {shown}"
                )
    assert not failures, "\n".join(failures)


def test_bodies_naming_another_organisations_objects_are_refused(
    client: TestClient, worlds: Worlds
) -> None:
    """A's own objects, with a body that names one of B's: refused with nothing of B shown and
    nothing of A's changed (the cited file, the contradicting item, the rule set chosen)."""
    a, b = worlds.a, worlds.b
    assessment = f"{API}/assessments/{a.assessment_id}"
    cite_b_file = {"answers": {"P1": answer_payloads(a)["P1"]}}
    cite_b_file["answers"]["P1"]["evidence"][0]["file_id"] = b.file_id
    contradicted = {
        **commitment_body(a),
        "fulfilment": "contradicted",
        "contradicted_by": [b.evidence_id],
    }
    etag = client.get(assessment, headers=a.tenant.investor).headers["ETag"]
    current = client.get(f"{API}/rulesets/current", headers=a.tenant.investor).json()
    attempts = [
        client.patch(
            f"{assessment}/answers",
            json=cite_b_file,
            headers={**a.tenant.investor, "If-Match": etag},
        ),
        client.post(f"{API}/commitments", json=contradicted, headers=a.tenant.analyst),
        client.put(
            f"{API}/rulesets/current",
            json={"version_id": b.published_ruleset_id},
            headers=a.tenant.analyst,
        ),
    ]
    for response in attempts:
        label = f"{response.request.method} {response.request.url.path}"
        assert response.status_code in (404, 422), f"{label}: {response.status_code}"
        assert not leaked(response, b.secrets()), label
    assert client.get(assessment, headers=a.tenant.investor).headers["ETag"] == etag
    assert client.get(f"{API}/rulesets/current", headers=a.tenant.investor).json() == current


def _mixes(access: Access, a: World, b: World) -> list[dict[str, str]]:
    """B's objects in every private parameter, then each private parameter alone B's with the
    others A's (A's assessment with B's file, A's portfolio with B's holding)."""
    mixes = [b.path_values()]
    if len(access.private) > 1:
        for name in access.private:
            mixes.append({**a.path_values(), name: b.path_values()[name]})
    return mixes


def _export_variants(path: str, values: dict[str, str]) -> list[dict[str, str]]:
    if "{export_format}" not in path:
        return [values]
    return [{**values, "export_format": export_format} for export_format in EXPORT_FORMATS]


def _owner_view(
    client: TestClient, world: World, routes: dict[tuple[str, str], APIRoute]
) -> dict[str, Any]:
    """What the owner reads of its private objects: status, ETag and JSON body of every read."""
    view = {}
    for method, path in classified(routes):
        access = ROUTES[(method, path)]
        if method != "GET" or not access.private:
            continue
        response = send(
            client, method, path, world.path_values(), world.tenant.headers(access.role), {}
        )
        is_json = response.headers.get("content-type", "").startswith("application/json")
        view[path] = (
            response.status_code,
            response.headers.get("ETag"),
            _without_timestamps(response.json()) if is_json else None,
        )
    return view


def _without_timestamps(value: Any) -> Any:
    """The body without `*_at` fields: an export stamps the moment it was made."""
    if isinstance(value, dict):
        return {k: _without_timestamps(v) for k, v in value.items() if not k.endswith("_at")}
    if isinstance(value, list):
        return [_without_timestamps(item) for item in value]
    return value
