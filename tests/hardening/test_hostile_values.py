"""Numbers and dates at the edge of what a parser returns: 1e400 (infinity to Python's JSON),
10**100, 5,000-digit integers, years 1, 9999 and 10000. Each write endpoint answers a 422 naming
the field, never a 5xx, and writes nothing; dates are accepted from 1900-01-01 to 2100-12-31."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hostile_support import (
    API,
    SMALL_LIMITS,
    World,
    build_world,
    client_with,
    csl_file,
    csl_row,
    error_paths,
    import_holdings,
    import_screening,
    problem,
    table_counts,
)

HUGE_NUMBERS = ("1e400", "-1e400", "1" + "0" * 100, "-" + "9" * 100)
RAW = "__RAW_VALUE__"
FAR_DATES = ("0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31", "10000-01-01", "-0001-01-01")
SOURCE = {
    "publisher": "Example Research Lab",
    "title": "Findings",
    "date": "2020-06-15",
    "url": "https://example.org/report",
}
INCIDENT_SOURCE = SOURCE | {"source_class": "forensic_lab"}


@pytest.fixture
def world_client(settings, db, tenant_a):  # type: ignore[no-untyped-def]
    with client_with(settings, db, **SMALL_LIMITS) as client:
        yield client, build_world(client, db, settings, tenant_a)


def _raw_json(
    client: Any, method: str, url: str, headers: dict[str, str], body: Any, value: str
) -> Any:
    """Send ``body`` with ``value`` spliced in where it holds RAW, unquoted: JSON numbers no
    Python client would write."""
    content = json.dumps(body).replace(f'"{RAW}"', value)
    return client.request(
        method,
        url,
        content=content.encode(),
        headers=headers | {"Content-Type": "application/json"},
    )


def test_huge_numbers_in_json_are_422_naming_the_field(world_client, db, tenant_a):
    client, world = world_client
    answer_headers = tenant_a.investor | {"If-Match": world.assessment_etag}
    targets = [
        (
            "PUT",
            world.assessment("/answers/EX2"),
            answer_headers,
            {"type": "number", "value": RAW, "unit": "percent"},
            "value",  # PUT's body is the answer: its paths name the body's fields
        ),
        (
            "POST",
            f"{API}/companies/{world.company_id}/ownership",
            tenant_a.analyst,
            {"owner_name": "Example Fund", "owner_kind": "fund", "percentage": RAW},
            "percentage",
        ),
        (
            "POST",
            f"{API}/evidence",
            tenant_a.analyst,
            _evidence(world) | {"severity": RAW},
            "severity",
        ),
    ]
    before = table_counts(db)
    for method, url, headers, template, path in targets:
        for value in HUGE_NUMBERS:
            body = problem(_raw_json(client, method, url, headers, template, value), 422)
            assert error_paths(body) == [path], (url, value, body)
            as_text = _raw_json(client, method, url, headers, template, f'"{value}"')
            assert error_paths(problem(as_text, 422)) == [path], (url, value)
        digits = _raw_json(client, method, url, headers, template, "9" * 5000)
        assert error_paths(problem(digits, 422)) in (["body"], [path])
    assert table_counts(db) == before
    for value in ("1" + "0" * 100, "1e400"):
        page = client.get(f"{API}/companies", params={"limit": value}, headers=tenant_a.investor)
        assert error_paths(problem(page, 422)) == ["query.limit"]


def test_a_cursor_with_values_of_the_wrong_kind_is_a_422(world_client, tenant_a):
    """Cursors hold the sort values of the list that issued them; values of the wrong kind
    (another list's date where a time is sorted, numbers, booleans, times without an offset)
    must be refused, not reach the database (they used to answer 500)."""
    client, world = world_client

    def cursor(values: list[Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()

    made_up = [
        cursor([1, 2]),
        cursor([True, False]),
        cursor(["2021-07-18", "00000000-0000-0000-0000-000000000000"]),
        cursor(["2021-07-18T10:00:00", "00000000-0000-0000-0000-000000000000"]),
        cursor([None, None]),
    ]
    lists = [
        f"{API}/portfolios",
        f"{API}/assessments",
        f"{API}/api-keys",
        f"{API}/screening/imports",
        world.portfolio("/holdings"),
    ]
    for url in lists:
        for value in made_up:
            response = client.get(url, params={"cursor": value}, headers=tenant_a.admin)
            assert error_paths(problem(response, 422)) == ["query.cursor"], (
                url,
                value,
                response.text,
            )


def test_huge_numbers_in_holdings_files_are_422_naming_the_cell(world_client, db, tenant_a):
    client, world = world_client
    values = [*HUGE_NUMBERS, "9" * 5000, "NaN", "Infinity", "-Infinity", "1e400%"]
    rows = "".join(f'Holding {n},"{value}","{value}"\n' for n, value in enumerate(values))
    before = table_counts(db)
    response = import_holdings(
        client, tenant_a.investor, world, f"name,market_value,weight\n{rows}".encode()
    )
    paths = set(error_paths(problem(response, 422)))
    for line in range(2, 2 + len(values)):
        assert {f"file.line.{line}.market_value", f"file.line.{line}.weight"} <= paths, line
    assert table_counts(db) == before


def _evidence(world: World) -> dict[str, Any]:
    return {
        "company_id": world.company_id,
        "event_date": "2020-06-01",
        "type": "forensic_finding",
        "title": "Implant found",
        "summary": "A lab found the implant.",
        "severity": 4,
        "company_role": "contributed",
        "sources": [INCIDENT_SOURCE],
    }


def _date_targets(world: World, tenant: Any, day: str) -> list[tuple[str, str, dict, Any, str]]:
    answer_headers = tenant.investor | {"If-Match": world.assessment_etag}
    evidence = _evidence(world)
    commitment = {
        "company_id": world.company_id,
        "date": day,
        "title": "Policy",
        "claim": "A claim.",
        "source": SOURCE,
        "question_ids": ["P1"],
        "fulfilment": "self_reported",
        "fulfilment_rationale": "Own word only.",
    }
    ownership = {"owner_name": "Example Fund", "owner_kind": "fund"}
    licence_denied = {
        "EX5": {"type": "single_choice", "value": "yes"},
        "EU3a": {"type": "single_choice", "value": "yes"},
    }
    return [
        (
            "POST",
            f"{API}/companies/{world.company_id}/ownership",
            tenant.analyst,
            ownership | {"start_date": day},
            "start_date",
        ),
        (
            "POST",
            f"{API}/companies/{world.company_id}/ownership",
            tenant.analyst,
            ownership | {"source_date": day},
            "source_date",
        ),
        ("POST", f"{API}/evidence", tenant.analyst, evidence | {"event_date": day}, "event_date"),
        (
            "POST",
            f"{API}/evidence",
            tenant.analyst,
            # The event at the window's start, so that only the source's own date is tried.
            evidence | {"event_date": "1900-01-01", "sources": [INCIDENT_SOURCE | {"date": day}]},
            "sources.0.date",
        ),
        ("POST", f"{API}/commitments", tenant.analyst, commitment, "date"),
        (
            "PATCH",
            world.assessment("/answers"),
            answer_headers,
            {"answers": licence_denied | {"EU3b": {"type": "date", "value": day}}},
            "answers.EU3b.value",
        ),
        (
            "PUT",
            world.assessment("/answers/P1"),
            answer_headers,
            {
                "type": "disclosure",
                "level": "partial",
                "evidence": [{"title": "T", "url": "https://example.org/p", "source_date": day}],
            },
            "evidence[0].source_date",
        ),
    ]


def test_dates_far_in_the_past_or_future_are_422_naming_the_field(world_client, db, tenant_a):
    client, world = world_client
    before = table_counts(db)
    for day in FAR_DATES:
        for method, url, headers, body, path in _date_targets(world, tenant_a, day):
            response = client.request(method, url, json=body, headers=headers)
            assert error_paths(problem(response, 422)) == [path], (url, day, response.text)
        listing = csl_file(csl_row("k1", "Listed Party", start_date=day))
        screening = problem(import_screening(client, tenant_a.analyst, listing), 422)
        assert error_paths(screening) == ["file.line.2.start_date"], (day, screening)
        snapshot = import_screening(
            client, tenant_a.analyst, csl_file(csl_row("k1", "Listed Party")), snapshot_date=day
        )
        assert error_paths(problem(snapshot, 422)) == ["snapshot_date"], day
    assert table_counts(db) == before


# Dates of what has already happened (an event, a source's publication, a claim, a list
# download): the window's far end does not apply to them, today does (next test).
HAPPENED = {
    "event_date",
    "sources.0.date",
    "date",
    "source_date",
    "evidence[0].source_date",
}


@pytest.mark.parametrize("day", ["1900-01-01", "2100-12-31"])
def test_the_first_and_last_accepted_dates(day, world_client, tenant_a):
    client, world = world_client
    future = day > date.today().isoformat()
    for method, url, headers, body, path in _date_targets(world, tenant_a, day):
        if method != "POST" or (future and path in HAPPENED):
            continue  # answer writes change the ETag; the POSTs show the window is shared
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code == 201, (url, response.text)
    listing = csl_file(csl_row("k1", "Listed Party", start_date=day))
    snapshot = None if future else day
    accepted = import_screening(client, tenant_a.analyst, listing, snapshot_date=snapshot)
    assert accepted.status_code == 201, accepted.text


def test_what_has_happened_cannot_be_dated_after_tomorrow(world_client, db, tenant_a):
    """A typo that dates a forensic finding in the future would keep it out of every score
    until that day, with no warning; a snapshot dated in the future would block every real
    snapshot of its list until then. Tomorrow is still accepted, for places ahead of UTC."""
    client, world = world_client
    later = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    before = table_counts(db)
    for method, url, headers, body, path in _date_targets(world, tenant_a, later):
        if path not in HAPPENED:
            continue
        refused = problem(client.request(method, url, json=body, headers=headers), 422)
        assert error_paths(refused) == [path], (url, refused)
        assert "in the future" in json.dumps(refused), refused
    for field in ("published_date", "remediated_date"):
        body = _evidence(world) | {field: later, "status": "remediated"}
        refused = problem(client.post(f"{API}/evidence", json=body, headers=tenant_a.analyst), 422)
        assert error_paths(refused) == [field], refused
    snapshot = import_screening(
        client, tenant_a.analyst, csl_file(csl_row("k1", "Listed Party")), snapshot_date=later
    )
    assert error_paths(problem(snapshot, 422)) == ["snapshot_date"], snapshot
    assert table_counts(db) == before

    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    source = INCIDENT_SOURCE | {"date": tomorrow}
    body = _evidence(world) | {"event_date": tomorrow, "sources": [source]}
    assert client.post(f"{API}/evidence", json=body, headers=tenant_a.analyst).status_code == 201
