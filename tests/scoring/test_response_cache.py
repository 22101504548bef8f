"""The response cache (hrdd.response_cache): a repeated score or risk read is served without a
query, and never after anything was committed since it was made, from this process or another;
never to another organisation, a revoked key or on another day.

These tests need real commits, which the rolled-back test transaction (tests/conftest.py)
hides: they run on a database of their own on the backend under test, made once for the
module, and each test makes the tenants and rows it reads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from test_score_api_support import (
    add_incident,
    answer_payloads,
    bundled_questionnaire,
    make_assessment,
    make_company,
)
from tests.conftest import Tenant, make_tenant, recent_evidence_body
from tests.hardening.served import PreparedDatabase, discard_database, prepare_database

from hrdd import response_cache as response_cache_module
from hrdd.config import Settings
from hrdd.db import Database
from hrdd.deps import Analyst, CachedRead
from hrdd.main import create_app
from hrdd.response_cache import (
    CacheKey,
    DataVersion,
    ResponseCache,
    StoredResponse,
    _SharedReads,
    response_cache,
)
from hrdd.vocab import AssessmentStatus, DisclosureLevel, Role

API = "/api/v1"


def read_now(version: DataVersion) -> Hashable | None:
    return asyncio.run(version.read())


def cached(cache: ResponseCache, key: CacheKey) -> StoredResponse | None:
    return asyncio.run(cache.get(key))


def steady_version(version: DataVersion, tries: int = 50) -> Hashable | None:
    """A value two reads in a row agree on (see ``served_from_cache`` for why PostgreSQL may
    take a few)."""
    previous = read_now(version)
    for _ in range(tries):
        current = read_now(version)
        if current == previous:
            return current
        previous = current
    pytest.fail(f"the data version moved on each of {tries} reads")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreparedDatabase]:
    prepared = prepare_database(tmp_path_factory.mktemp("cache"), "response_cache")
    yield prepared
    discard_database(prepared)


@pytest.fixture(scope="module")
def database(prepared: PreparedDatabase) -> Iterator[Database]:
    database = Database(prepared.url)
    yield database
    database.dispose()


@pytest.fixture
def other_process(prepared: PreparedDatabase) -> Iterator[Database]:
    """Connections of their own, as another worker process would have."""
    database = Database(prepared.url)
    yield database
    database.dispose()


def app_settings(prepared: PreparedDatabase, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(database_url=prepared.url, data_dir=tmp_path / "data", **overrides)


@pytest.fixture
def client(prepared: PreparedDatabase, database: Database, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(app_settings(prepared, tmp_path), database=database)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


class Statements:
    """Counts the statements the app's own connections run (the cache's version check has a
    connection of its own and is not counted)."""

    def __init__(self, database: Database) -> None:
        self.count = 0
        self._engine = database.engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def during(self, action: Any) -> tuple[Any, int]:
        before = self.count
        result = action()
        return result, self.count - before

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


@pytest.fixture
def statements(database: Database) -> Iterator[Statements]:
    counter = Statements(database)
    yield counter
    counter.close()


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return make_tenant(database, f"Cache fund {uuid.uuid4().hex[:8]}")


@pytest.fixture
def scored(database: Database, tenant: Tenant) -> tuple[uuid.UUID, uuid.UUID]:
    """(company id, final assessment id) of a company only this test knows."""
    _, questionnaire = bundled_questionnaire(database)
    company = make_company(database, f"Cache Example {uuid.uuid4().hex[:8]} Ltd")
    answers = answer_payloads(questionnaire, DisclosureLevel.partial)
    assessment = make_assessment(
        database, tenant.organisation_id, company, answers, AssessmentStatus.final
    )
    return company, assessment


def score_url(assessment_id: uuid.UUID) -> str:
    return f"{API}/assessments/{assessment_id}/score"


def get_ok(client: TestClient, url: str, headers: dict[str, str]) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response


def served_from_cache(statements: Statements, read: Callable[[], Any], tries: int = 50) -> Any:
    """The response of a read that ran no query: one served from the cache.

    On PostgreSQL the data version is the server's snapshot, which any transaction moves, the
    other test workers' in other databases included: a needless miss, after which the read
    stores its response again. So the read is repeated until one finds the server quiet; on
    SQLite the first one does."""
    for _ in range(tries):
        response, ran = statements.during(read)
        if ran == 0:
            return response
    pytest.fail(f"none of {tries} reads was served from the cache")


def test_a_repeated_score_read_runs_no_query_and_gets_the_same_response(
    client: TestClient, tenant: Tenant, scored: tuple[uuid.UUID, uuid.UUID], statements: Statements
) -> None:
    url = score_url(scored[1])
    # The first read stores the score: that commit retires what it would have stored.
    _, ran_storing = statements.during(lambda: get_ok(client, url, tenant.investor))
    first, ran_first = statements.during(lambda: get_ok(client, url, tenant.investor))
    again = served_from_cache(statements, lambda: get_ok(client, url, tenant.investor))

    assert ran_storing > 0
    assert ran_first > 0
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["content-length"] == first.headers["content-length"]
    # The request id is the request's own, not the stored response's.
    assert again.headers["x-request-id"] != first.headers["x-request-id"]


def test_a_repeated_risk_read_runs_no_query_and_an_import_is_seen(
    client: TestClient, tenant: Tenant, statements: Statements
) -> None:
    created = client.post(
        f"{API}/portfolios",
        json={"name": "Cached equity", "base_currency": "EUR"},
        headers=tenant.investor,
    )
    assert created.status_code == 201, created.text
    portfolio = created.json()["id"]
    url = f"{API}/portfolios/{portfolio}/risk"

    def import_holdings(*rows: str) -> None:
        csv = "name,isin,market_value\n" + "".join(f"{row},1000\n" for row in rows)
        imported = client.post(
            f"{API}/portfolios/{portfolio}/holdings/import",
            files={"file": ("holdings.csv", csv, "text/csv")},
            headers=tenant.investor,
        )
        assert imported.status_code == 200, imported.text

    nestle, unilever = "Nestlé S.A.,CH0038863350", "Unilever PLC,GB00B10RZP78"
    import_holdings(nestle)
    get_ok(client, url, tenant.investor)
    first = get_ok(client, url, tenant.investor)
    again = served_from_cache(statements, lambda: get_ok(client, url, tenant.investor))
    import_holdings(nestle, unilever)  # an import replaces the holdings
    after = get_ok(client, url, tenant.investor).json()

    assert again.content == first.content
    assert len(first.json()["holdings"]) == 1
    assert len(after["holdings"]) == 2


def test_a_commit_by_another_process_that_changes_the_score_is_seen(
    client: TestClient,
    tenant: Tenant,
    scored: tuple[uuid.UUID, uuid.UUID],
    other_process: Database,
    statements: Statements,
) -> None:
    company, assessment = scored
    get_ok(client, score_url(assessment), tenant.investor)
    before = get_ok(client, score_url(assessment), tenant.investor).json()
    add_incident(other_process, company, event_date=dt.date.today() - dt.timedelta(days=30))
    after, ran = statements.during(
        lambda: get_ok(client, score_url(assessment), tenant.investor).json()
    )

    assert ran > 0
    assert float(before["result"]["evidence_risk_current"]) == 0
    assert float(after["result"]["evidence_risk_current"]) > 0
    assert after["score_id"] != before["score_id"]


def test_any_commit_retires_stored_responses_even_one_that_changes_nothing_read(
    client: TestClient,
    tenant: Tenant,
    scored: tuple[uuid.UUID, uuid.UUID],
    other_process: Database,
    statements: Statements,
) -> None:
    url = score_url(scored[1])
    get_ok(client, url, tenant.investor)
    first = get_ok(client, url, tenant.investor)
    make_company(other_process, f"Unrelated {uuid.uuid4().hex[:8]} plc")
    again, ran = statements.during(lambda: get_ok(client, url, tenant.investor))

    assert ran > 0  # checked against the database again
    assert again.content == first.content
    # and stored again under the new version
    assert served_from_cache(statements, lambda: get_ok(client, url, tenant.investor))


def test_a_write_through_the_api_is_seen_by_the_next_read(
    client: TestClient, tenant: Tenant, scored: tuple[uuid.UUID, uuid.UUID]
) -> None:
    company, assessment = scored
    before = get_ok(client, score_url(assessment), tenant.investor).json()
    evidence = client.post(
        f"{API}/evidence",
        json=recent_evidence_body(company),
        headers=tenant.analyst,
    )
    assert evidence.status_code == 201, evidence.text
    after = get_ok(client, score_url(assessment), tenant.investor).json()

    assert after["result"]["inputs_hash"] != before["result"]["inputs_hash"]
    assert float(after["result"]["evidence_risk_current"]) > float(
        before["result"]["evidence_risk_current"]
    )


def test_another_organisation_never_gets_a_stored_response(
    client: TestClient,
    tenant: Tenant,
    scored: tuple[uuid.UUID, uuid.UUID],
    database: Database,
    statements: Statements,
) -> None:
    url = score_url(scored[1])
    stranger = make_tenant(database, f"Stranger fund {uuid.uuid4().hex[:8]}")
    # Their key verified and cached first, as a busy client's would be.
    assert client.get(f"{API}/me", headers=stranger.investor).status_code == 200
    get_ok(client, url, tenant.investor)
    mine = get_ok(client, url, tenant.investor)
    stored = served_from_cache(statements, lambda: get_ok(client, url, tenant.investor))
    assert stored.content == mine.content
    theirs = client.get(url, headers=stranger.investor)

    assert theirs.status_code == 404
    assert mine.json()["score_id"] not in theirs.text


def test_a_response_made_for_one_role_is_not_served_to_a_lesser_one(
    prepared: PreparedDatabase, database: Database, tmp_path: Path, tenant: Tenant
) -> None:
    app = create_app(app_settings(prepared, tmp_path), database=database)

    handled: list[Role] = []

    @app.get("/analysts-only", dependencies=[CachedRead])
    async def analysts_only(principal: Analyst) -> dict[str, str]:
        handled.append(principal.role)
        return {"for": principal.role.value}

    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert test_client.get(f"{API}/me", headers=tenant.investor).status_code == 200
        # Read until a read is served without reaching the route: the response is stored.
        for _ in range(50):
            before = len(handled)
            assert get_ok(test_client, "/analysts-only", tenant.analyst).json() == {
                "for": "analyst"
            }
            if len(handled) == before:
                break
        else:
            pytest.fail("the analyst's read was never served from the cache")
        refused = test_client.get("/analysts-only", headers=tenant.investor)

    assert refused.status_code == 403


def test_a_revoked_key_is_refused_although_its_read_was_stored(
    client: TestClient,
    tenant: Tenant,
    scored: tuple[uuid.UUID, uuid.UUID],
    statements: Statements,
) -> None:
    url = score_url(scored[1])
    get_ok(client, url, tenant.investor)
    served_from_cache(statements, lambda: get_ok(client, url, tenant.investor))
    revoked = client.delete(f"{API}/api-keys/{tenant.key_ids[Role.investor]}", headers=tenant.admin)
    assert revoked.status_code == 204, revoked.text

    assert client.get(url, headers=tenant.investor).status_code == 401


def test_a_stored_response_is_not_served_the_next_day(
    client: TestClient,
    tenant: Tenant,
    scored: tuple[uuid.UUID, uuid.UUID],
    statements: Statements,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = score_url(scored[1])
    get_ok(client, url, tenant.investor)
    served_from_cache(statements, lambda: get_ok(client, url, tenant.investor))
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    monkeypatch.setattr(response_cache_module, "scoring_day", lambda: tomorrow)
    _, ran = statements.during(lambda: get_ok(client, url, tenant.investor))

    assert ran > 0


def test_error_responses_are_not_stored(
    client: TestClient, tenant: Tenant, statements: Statements
) -> None:
    url = score_url(uuid.uuid4())
    assert client.get(url, headers=tenant.investor).status_code == 404
    response, ran = statements.during(lambda: client.get(url, headers=tenant.investor))

    assert response.status_code == 404
    assert ran > 0


def test_off_when_set_to_zero_bytes(
    prepared: PreparedDatabase,
    database: Database,
    tmp_path: Path,
    tenant: Tenant,
    scored: tuple[uuid.UUID, uuid.UUID],
    statements: Statements,
) -> None:
    app = create_app(app_settings(prepared, tmp_path, response_cache_bytes=0), database=database)
    with TestClient(app, raise_server_exceptions=False) as plain:
        get_ok(plain, score_url(scored[1]), tenant.investor)
        _, ran = statements.during(lambda: get_ok(plain, score_url(scored[1]), tenant.investor))

    assert response_cache(app) is None
    assert ran > 0


def test_off_while_every_session_shares_one_rolled_back_connection(
    database: Database,
) -> None:
    version = DataVersion(database)
    connection = database.engine.connect()
    database.pinned_connection = connection
    try:
        assert read_now(version) is None
    finally:
        database.pinned_connection = None
        connection.close()
        version.close()
    assert read_now(DataVersion(Database("sqlite://"))) is None  # in memory: nothing to watch


def test_the_data_version_moves_with_every_commit_and_only_then(
    database: Database, other_process: Database
) -> None:
    version = DataVersion(database)
    try:
        first = steady_version(version)  # two reads with no commit between agree
        assert first is not None
        make_company(other_process, f"Version probe {uuid.uuid4().hex[:8]} AG")
        assert read_now(version) != first
        assert steady_version(version) != first
    finally:
        version.close()


class UnchangingVersion(DataVersion):
    """A database where nothing is ever committed: only the cache's own rules drop entries."""

    async def read(self) -> Hashable | None:
        return "unchanged"


def test_the_cache_keeps_to_its_memory_budget(database: Database) -> None:
    version = UnchangingVersion(database)
    cache = ResponseCache(version, max_bytes=400)
    today = dt.date.today()
    try:
        current = read_now(version)

        def put(name: str, size: int) -> tuple[Any, ...]:
            key = (uuid.UUID(int=1), Role.investor, f"/{name}", b"", b"", today)
            cache.put(key, StoredResponse(current, 200, (), b"x" * size))
            return key

        first, second = put("first", 90), put("second", 90)
        assert cached(cache, first) is not None  # now the most recently used
        third, fourth, fifth = put("third", 90), put("fourth", 90), put("fifth", 90)
        too_large = put("large", 101)  # over a quarter of the budget: not kept

        assert cached(cache, second) is None  # least recently used, dropped
        assert all(cached(cache, key) is not None for key in (first, third, fourth, fifth))
        assert cached(cache, too_large) is None
    finally:
        cache.close()


def test_a_database_that_cannot_be_reached_turns_the_cache_off_for_a_while(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    version = DataVersion(database, clock=lambda: now[0])
    attempts = []
    dbapi_error = database.engine.dialect.loaded_dbapi.Error

    def unreachable() -> None:
        attempts.append(now[0])
        raise dbapi_error("connection refused")

    monkeypatch.setattr(version, "_connect", unreachable)
    try:
        assert read_now(version) is None
        now[0] += DataVersion.RETRY_SECONDS / 2
        assert read_now(version) is None  # not tried again yet
        assert attempts == [1000.0]
        now[0] += DataVersion.RETRY_SECONDS
        monkeypatch.undo()
        assert read_now(version) is not None  # reachable again
    finally:
        version.close()


class ControlledRead:
    """A read that waits until the test lets it finish, and says which read it was."""

    def __init__(self) -> None:
        self.started: list[threading.Event] = []
        self.release: list[threading.Event] = []
        self.answer_at_once = False
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self._count += 1
            number = self._count
            started, release = threading.Event(), threading.Event()
            self.started.append(started)
            self.release.append(release)
        started.set()
        assert self.answer_at_once or release.wait(10)
        return f"read {number}"

    def wait_started(self, number: int) -> None:
        deadline = time.monotonic() + 10
        while len(self.started) < number and time.monotonic() < deadline:
            time.sleep(0.001)
        assert self.started[number - 1].wait(10)

    def release_all(self) -> None:
        for release in self.release:
            release.set()


@pytest.fixture
def read() -> Iterator[ControlledRead]:
    controlled = ControlledRead()
    yield controlled
    controlled.release_all()  # no read is left waiting in its thread


@pytest.fixture
def shared(read: ControlledRead) -> Iterator[_SharedReads]:
    """Reads shared by the callers that wait for them, made by ``read``."""
    reads = _SharedReads(read)
    yield reads
    reads.close()


def slow_version(database: Database, shared: _SharedReads, **options: Any) -> DataVersion:
    """A data version whose checks go through ``shared``: a database as slow as the test
    makes it."""
    version = DataVersion(database, **options)
    version._shared = shared
    return version


def test_a_caller_never_gets_a_read_that_began_before_it_asked(
    read: ControlledRead, shared: _SharedReads
) -> None:
    first = shared.next_result()
    read.wait_started(1)
    # Asked while read 1 is under way: read 1 may predate a commit this caller knows of.
    second, third = shared.next_result(), shared.next_result()
    read.release[0].set()
    assert first.result(10) == "read 1"
    read.wait_started(2)
    read.release[1].set()
    assert second.result(10) == "read 2"
    assert third.result(10) == "read 2"
    assert len(read.started) == 2  # the two late callers shared one read


def test_a_slow_version_read_does_not_hold_up_the_event_loop(
    database: Database, read: ControlledRead, shared: _SharedReads
) -> None:
    version = slow_version(database, shared)

    async def scenario() -> Hashable | None:
        reading = asyncio.ensure_future(version.read())
        # The loop goes on serving while the read waits for the database.
        while not (read.started and read.started[0].is_set()):
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        assert not reading.done()
        read.release[0].set()
        return await reading

    try:
        assert asyncio.run(scenario()) == "read 1"
    finally:
        version.close()


def test_a_caller_that_gives_up_takes_no_one_else_with_it(
    read: ControlledRead, shared: _SharedReads
) -> None:
    first = shared.next_result()
    read.wait_started(1)
    leaving, staying = shared.next_result(), shared.next_result()
    assert leaving.cancel()  # its request was cancelled while it waited
    read.release[0].set()
    read.wait_started(2)
    read.release[1].set()
    assert first.result(10) == "read 1"
    assert staying.result(10) == "read 2"
    later = shared.next_result()  # the thread is still serving
    read.wait_started(3)
    read.release[2].set()
    assert later.result(10) == "read 3"


class CountedReads(_SharedReads):
    def __init__(self, read: ControlledRead) -> None:
        super().__init__(read)
        self.asked = 0

    def next_result(self) -> Future[Hashable | None]:
        self.asked += 1
        return super().next_result()


def test_a_check_that_does_not_answer_turns_the_cache_off_for_a_while(
    database: Database, read: ControlledRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    shared = CountedReads(read)  # read 1 is not released: a database that stopped answering
    version = slow_version(database, shared, clock=lambda: now[0])
    monkeypatch.setattr(DataVersion, "WAIT_SECONDS", 0.05)
    try:
        assert read_now(version) is None  # gave up waiting
        assert read_now(version) is None  # backing off: not even asked
        assert shared.asked == 1
        now[0] += DataVersion.RETRY_SECONDS + 1
        read.answer_at_once = True  # the database answers again
        read.release[0].set()
        assert read_now(version) == "read 2"
    finally:
        version.close()
