"""A real server killed with SIGKILL in the middle of an import, on the backend under test.

Each test uploads a large generated file, waits until the import is writing to the database
and has not committed, kills the server process, and then checks that the database holds
either all of that import or none of it, that it is sound (`PRAGMA integrity_check` on
SQLite; on PostgreSQL no transaction of the dead server is left open), that a new server
process starts and reports healthy, and that the same import then runs to completion.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.hardening.served import (
    API,
    PreparedDatabase,
    ServedApp,
    prepared_database,
    wait_for,
)

from hrdd.screening.parsers import CSL_COLUMNS
from hrdd.vocab import Role

pytestmark = pytest.mark.slow

ROWS = 40_000
# Room for the generated files (a few MB) above the default limits.
LIMITS = {"HRDD_MAX_UPLOAD_BYTES": str(64 << 20), "HRDD_MAX_BODY_BYTES": str(64 << 20)}
WAIT = 120.0
ENTITY_LIST = "Entity List (EL) - Bureau of Industry and Security"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreparedDatabase]:
    with prepared_database(tmp_path_factory.mktemp("crash"), "crash") as database:
        yield database


@pytest.fixture
def server(prepared: PreparedDatabase, tmp_path: Path) -> Iterator[ServedApp]:
    app = ServedApp(prepared, tmp_path / "server.log", LIMITS)
    app.start()
    try:
        yield app
    finally:
        app.stop()


def send_in_background(
    app: ServedApp, path: str, file_name: str, data: bytes
) -> tuple[ThreadPoolExecutor, Future[httpx.Response]]:
    """POST a multipart upload from another thread; the future holds the response, or the
    transport error when the server dies first."""
    pool = ThreadPoolExecutor(max_workers=1)

    def send() -> httpx.Response:
        with app.client(Role.analyst, timeout=WAIT) as client:
            return client.post(path, files={"file": (file_name, data, "text/csv")})

    return pool, pool.submit(send)


def already_answered(future: Future[httpx.Response]) -> str | None:
    if not future.done():
        return None
    try:
        response = future.result()
    except httpx.TransportError as error:
        return f"the request failed before the import wrote anything: {error!r}"
    return f"the import ended before it could be killed: {response.status_code} {response.text}"


def kill_mid_import(
    app: ServedApp, prepared: PreparedDatabase, table: str, path: str, data: bytes
) -> httpx.Response | None:
    """Upload, kill the server while the import writes to ``table``, and return the response
    if one still got out (None when the server died first)."""
    prepared.empty_wal()
    pool, future = send_in_background(app, path, "upload.csv", data)
    try:
        prepared.wait_until_writing(table, timeout=WAIT, gave_up=lambda: already_answered(future))
        app.kill()
        try:
            return future.result(timeout=WAIT)
        except httpx.TransportError:
            return None
    finally:
        pool.shutdown(wait=True)


def assert_database_sound(prepared: PreparedDatabase) -> None:
    if prepared.is_sqlite:
        assert prepared.sqlite_integrity() == ["ok"]
    else:
        # PostgreSQL ends a dead client's transaction (rolling it back) once it notices.
        wait_for(
            lambda: not prepared.open_transactions(),
            timeout=WAIT,
            what="the killed server's transactions to end",
        )


def restart_healthy(app: ServedApp) -> None:
    app.start()  # a new process; start() waits for /health to say ok
    health = app.health()
    assert health["status"] == "ok" and health["database"] == "ok", health
    assert health["migration"] == health["migration_head"], health


# --- screening imports ------------------------------------------------------------------------


def generated_csl(rows: int, company_names: list[str]) -> bytes:
    """A US Consolidated Screening List file of fictional parties, where every 500th row names
    a registry company with another legal form (a name match: evidence) and every 500th,
    offset, is one letter off (a grey-zone match: the review queue)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(CSL_COLUMNS)
    for number in range(rows):
        fields = dict.fromkeys(CSL_COLUMNS, "")
        fields["_id"] = f"hardening-{number:08d}"
        fields["source"] = ENTITY_LIST
        fields["type"] = "Entity"
        fields["start_date"] = "2020-01-01"
        company = company_names[(number // 500) % len(company_names)]
        if number % 500 == 0:
            fields["name"] = f"{company} Ltd"
        elif number % 500 == 250:
            fields["name"] = company[:-1] + ("x" if company[-1] != "x" else "y")
        else:
            fields["name"] = f"Fictional Trading {number} Co"
        writer.writerow(fields.values())
    return out.getvalue().encode()


def screening_imports(prepared: PreparedDatabase) -> list[dict[str, Any]]:
    """Each import with what it says it wrote next to what the database holds for it."""
    rows = prepared.rows(
        "SELECT i.id, i.rows_total, i.evidence_created + i.delistings_created, i.review_queued,"
        " (SELECT count(*) FROM screening_list_entries e WHERE e.import_id = i.id),"
        " (SELECT count(*) FROM evidence_items v WHERE v.screening_import_id = i.id),"
        " (SELECT count(*) FROM screening_matches m"
        "  WHERE m.import_id = i.id AND m.status = 'pending'),"
        # Automatic matches are recorded too (auto_confirmed), beside the evidence they made.
        " (SELECT count(*) FROM screening_matches m WHERE m.import_id = i.id)"
        " FROM screening_imports i"
    )
    keys = (
        "id",
        "rows",
        "evidence",
        "queued",
        "entries_held",
        "evidence_held",
        "queued_held",
        "matches_held",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


def screening_totals(prepared: PreparedDatabase) -> tuple[int, int, int]:
    return (
        prepared.scalar("SELECT count(*) FROM screening_list_entries"),
        prepared.scalar(
            "SELECT count(*) FROM evidence_items WHERE screening_import_id IS NOT NULL"
        ),
        prepared.scalar("SELECT count(*) FROM screening_matches"),
    )


def assert_only_complete_imports(prepared: PreparedDatabase, expected_imports: int) -> None:
    imports = screening_imports(prepared)
    assert len(imports) == expected_imports, imports
    for run in imports:
        assert run["rows"] == run["entries_held"] == ROWS, run
        assert run["evidence"] == run["evidence_held"], run
        assert run["queued"] == run["queued_held"], run
    # Nothing that belongs to no import (a half-written one) is anywhere.
    assert screening_totals(prepared) == (
        sum(run["entries_held"] for run in imports),
        sum(run["evidence_held"] for run in imports),
        sum(run["matches_held"] for run in imports),
    )


def test_a_screening_import_killed_mid_way_leaves_all_or_nothing(
    server: ServedApp, prepared: PreparedDatabase
) -> None:
    with server.client() as client:
        companies = client.get(f"{API}/companies", params={"limit": 50})
        assert companies.status_code == 200, companies.text
    names = [item["name"] for item in companies.json()["items"]]
    data = generated_csl(ROWS, names)
    assert screening_imports(prepared) == []

    response = kill_mid_import(
        server, prepared, "screening_list_entries", f"{API}/screening/imports", data
    )

    assert_database_sound(prepared)
    kept = len(screening_imports(prepared))
    if response is None or response.status_code != 201:
        assert kept == 0, "an import the client never saw succeed was kept"
    assert_only_complete_imports(prepared, expected_imports=kept)

    restart_healthy(server)
    with server.client(Role.analyst) as client:
        again = client.post(
            f"{API}/screening/imports", files={"file": ("upload.csv", data, "text/csv")}
        )
    assert again.status_code == 201, again.text
    assert again.json()["rows_total"] == ROWS
    assert again.json()["evidence_created"] + again.json()["review_queued"] > 0
    assert_only_complete_imports(prepared, expected_imports=kept + 1)
    assert_database_sound(prepared)


# --- portfolio holdings imports ---------------------------------------------------------------

EARLIER_HOLDINGS = "name,market_value\nNSO Group,1000\nCellebrite,500\nQuixotic Widgets,250\n"


def generated_holdings(rows: int) -> bytes:
    lines = ["name,market_value"]
    lines += [f"Fictional Holding {number} plc,{1000 + number}" for number in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def holdings(prepared: PreparedDatabase, portfolio_id: str) -> tuple[int, int, set[str]]:
    """How many holdings, how many distinct file lines, and the names when there are few."""
    param = prepared.id_param(portfolio_id)
    count, lines = prepared.rows(
        "SELECT count(*), count(DISTINCT line) FROM holdings WHERE portfolio_id = :id", id=param
    )[0]
    names = set()
    if count <= 10:
        found = prepared.rows("SELECT name FROM holdings WHERE portfolio_id = :id", id=param)
        names = {name for (name,) in found}
    return count, lines, names


def test_a_holdings_import_killed_mid_way_leaves_all_or_nothing(
    server: ServedApp, prepared: PreparedDatabase
) -> None:
    with server.client() as client:
        created = client.post(f"{API}/portfolios", json={"name": "Crash", "base_currency": "EUR"})
        assert created.status_code == 201, created.text
        portfolio_id = created.json()["id"]
        earlier = client.post(
            f"{API}/portfolios/{portfolio_id}/holdings/import",
            files={"file": ("earlier.csv", EARLIER_HOLDINGS.encode(), "text/csv")},
        )
        assert earlier.status_code == 200, earlier.text
    before = holdings(prepared, portfolio_id)
    assert before == (3, 3, {"NSO Group", "Cellebrite", "Quixotic Widgets"})
    data = generated_holdings(ROWS)
    path = f"{API}/portfolios/{portfolio_id}/holdings/import"

    response = kill_mid_import(server, prepared, "holdings", path, data)

    assert_database_sound(prepared)
    after = holdings(prepared, portfolio_id)
    if response is not None and response.status_code == 200:
        assert after == (ROWS, ROWS, set())
    else:
        # The import replaces the holdings: the earlier ones must still be there, whole.
        assert after == before

    restart_healthy(server)
    with server.client() as client:
        shown = client.get(f"{API}/portfolios/{portfolio_id}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["holdings_count"] == after[0]
        again = client.post(path, files={"file": ("upload.csv", data, "text/csv")})
    assert again.status_code == 200, again.text
    assert again.json()["imported"] == ROWS
    assert again.json()["replaced"] == after[0]
    assert holdings(prepared, portfolio_id) == (ROWS, ROWS, set())
    assert_database_sound(prepared)
