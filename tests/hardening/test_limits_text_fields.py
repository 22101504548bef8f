"""Text and list lengths: one character (or item) over a field's limit is a 422 naming that
field, with nothing written; exactly at the limit is accepted. The table below is the list of
limits the README documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hostile_support import (
    API,
    SMALL_LIMITS,
    World,
    build_world,
    client_with,
    error_paths,
    import_holdings,
    problem,
    table_counts,
)

Body = dict[str, Any]
SOURCE = {
    "publisher": "Example Research Lab",
    "title": "Findings on the example implant",
    "date": "2020-06-15",
    "url": "https://example.org/report",
}


def _evidence(world: World, **fields: Any) -> Body:
    return {
        "company_id": world.company_id,
        "event_date": "2020-06-01",
        "published_date": "2020-06-15",
        "type": "forensic_finding",
        "title": "Implant found on a reporter's phone",
        "summary": "A lab found the implant on a reporter's phone.",
        "severity": 4,
        "company_role": "contributed",
        "sources": [SOURCE | {"source_class": "forensic_lab"}],
        **fields,
    }


def _commitment(world: World, **fields: Any) -> Body:
    return {
        "company_id": world.company_id,
        "date": "2019-09-10",
        "title": "Human rights policy",
        "claim": "The company said it investigates every credible allegation.",
        "source": SOURCE,
        "question_ids": ["P1"],
        "fulfilment": "self_reported",
        "fulfilment_rationale": "Only the company's own word supports it.",
        **fields,
    }


@dataclass(frozen=True)
class Limit:
    """A bounded field: where it is sent, and the path a 422 names."""

    role: str
    method: str
    url: Callable[[World], str]
    body: Callable[[World, Any], Body]
    path: str
    limit: int
    is_list: bool = False
    needs_if_match: bool = False


def _text(limit: Limit, size: int) -> Any:
    return ["alias"] * size if limit.is_list else "x" * size


LIMITS: dict[str, Limit] = {
    "company name": Limit(
        "analyst", "POST", lambda w: f"{API}/companies", lambda w, v: {"name": v}, "name", 300
    ),
    "company notes": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/companies",
        lambda w, v: {"name": "Notes Ltd", "notes": v},
        "notes",
        5000,
    ),
    "company alias": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/companies",
        lambda w, v: {"name": "Alias Ltd", "aliases": [v]},
        "aliases.0",
        300,
    ),
    "company aliases (items)": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/companies",
        lambda w, v: {"name": "Many Aliases Ltd", "aliases": v},
        "aliases",
        50,
        is_list=True,
    ),
    "company product": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/companies",
        lambda w, v: {"name": "Product Ltd", "products": [v]},
        "products.0",
        200,
    ),
    "company products (items)": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/companies",
        lambda w, v: {"name": "Many Products Ltd", "products": v},
        "products",
        50,
        is_list=True,
    ),
    "ownership owner_name": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/companies/{w.company_id}/ownership",
        lambda w, v: {"owner_name": v, "owner_kind": "fund"},
        "owner_name",
        300,
    ),
    "ownership note": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/companies/{w.company_id}/ownership",
        lambda w, v: {"owner_name": "Example Fund", "owner_kind": "fund", "note": v},
        "note",
        2000,
    ),
    "portfolio name": Limit(
        "investor",
        "POST",
        lambda w: f"{API}/portfolios",
        lambda w, v: {"name": v, "base_currency": "EUR"},
        "name",
        300,
    ),
    "portfolio description": Limit(
        "investor",
        "POST",
        lambda w: f"{API}/portfolios",
        lambda w, v: {"name": "Described", "base_currency": "EUR", "description": v},
        "description",
        2000,
    ),
    "API key name": Limit(
        "admin",
        "POST",
        lambda w: f"{API}/api-keys",
        lambda w, v: {"name": v, "role": "investor"},
        "name",
        200,
    ),
    "evidence title": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/evidence",
        lambda w, v: _evidence(w, title=v),
        "title",
        300,
    ),
    "evidence summary": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/evidence",
        lambda w, v: _evidence(w, summary=v),
        "summary",
        5000,
    ),
    "evidence severity rationale": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/evidence",
        lambda w, v: _evidence(w, severity_rationale=v),
        "severity_rationale",
        2000,
    ),
    "commitment claim": Limit(
        "analyst",
        "POST",
        lambda w: f"{API}/commitments",
        lambda w, v: _commitment(w, claim=v),
        "claim",
        2000,
    ),
    "text answer (P3, max_length 2000)": Limit(
        "investor",
        "PUT",
        lambda w: w.assessment("/answers/P3"),
        lambda w, v: {"type": "text", "value": v},
        "value",
        2000,
        needs_if_match=True,
    ),
    "answer comment": Limit(
        "investor",
        "PUT",
        lambda w: w.assessment("/answers/P1"),
        lambda w, v: {"type": "disclosure", "level": "no", "comment": v},
        "comment",
        20000,
        needs_if_match=True,
    ),
    "answer evidence title": Limit(
        "investor",
        "PUT",
        lambda w: w.assessment("/answers/P1"),
        lambda w, v: {
            "type": "disclosure",
            "level": "partial",
            "evidence": [{"title": v, "url": "https://example.org/policy"}],
        },
        "evidence[0].title",
        500,
        needs_if_match=True,
    ),
}


def _send(client: Any, tenant: Any, world: World, limit: Limit, value: Any) -> Any:
    headers = dict(tenant.headers(limit.role))
    if limit.needs_if_match:
        headers["If-Match"] = client.get(world.assessment(), headers=headers).headers["ETag"]
    return client.request(
        limit.method, limit.url(world), json=limit.body(world, value), headers=headers
    )


@pytest.mark.parametrize("name", list(LIMITS))
def test_one_over_the_limit_is_named_and_the_limit_itself_is_accepted(name, settings, db, tenant_a):
    limit = LIMITS[name]
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a)
        before = table_counts(db)
        refused = problem(_send(client, tenant_a, world, limit, _text(limit, limit.limit + 1)), 422)
        assert error_paths(refused) == [limit.path], refused
        assert str(limit.limit) in refused["errors"][0]["message"]
        assert table_counts(db) == before
        accepted = _send(client, tenant_a, world, limit, _text(limit, limit.limit))
    assert accepted.status_code in (200, 201), accepted.text


def test_a_company_name_of_ten_thousand_characters_is_refused(settings, db, tenant_a):
    with client_with(settings, db, **SMALL_LIMITS) as client:
        before = table_counts(db)
        response = client.post(
            f"{API}/companies", json={"name": "N" * 10_000}, headers=tenant_a.analyst
        )
        body = problem(response, 422)
    assert error_paths(body) == ["name"]
    assert "N" * 50 not in response.text  # the value is not echoed back
    assert table_counts(db) == before


def test_bounded_query_form_and_csv_fields(settings, db, tenant_a):
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a)
        before = table_counts(db)
        search = client.get(f"{API}/companies", params={"q": "q" * 201}, headers=tenant_a.investor)
        assert error_paths(problem(search, 422)) == ["query.q"]
        page = client.get(f"{API}/companies", params={"limit": 501}, headers=tenant_a.investor)
        assert error_paths(problem(page, 422)) == ["query.limit"]
        list_key = client.post(
            f"{API}/screening/imports",
            files={"file": ("list.csv", b"_id\n", "text/csv")},
            data={"list_key": "k" * 101},
            headers=tenant_a.analyst,
        )
        assert error_paths(problem(list_key, 422)) == ["list_key"]
        review = client.post(
            world.assessment("/review"),
            json={"decision": "return", "comment": "c" * 5001},
            headers=tenant_a.analyst,
        )
        assert error_paths(problem(review, 422)) == ["comment"]
        holdings = import_holdings(
            client, tenant_a.investor, world, b"name,ticker\n" + b"H" * 301 + b",AB\n"
        )
        assert error_paths(problem(holdings, 422)) == ["file.line.2.name"]
        assert table_counts(db) == before
