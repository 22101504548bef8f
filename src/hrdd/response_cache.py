"""Whole responses of the busiest reads (a score, a portfolio's risk view), kept in the process
and served again, with no routing, no dependencies and no query of the data, for as long as the
database has committed nothing since they were made.

Freshness: ``DataVersion`` reads one value that changes whenever a transaction commits in the
database, from any connection of any process: SQLite's ``PRAGMA data_version`` on a connection
of its own that never writes, PostgreSQL's ``pg_current_snapshot()``. A route that opts in
(``hrdd.deps.CachedRead``) reads that value before it reads any data, and its response is
stored under it. A later request gets the stored response only while the value is unchanged,
so a commit made in between (an answer, an evidence item, a rule set, a holding, another
worker's write, this request's own stored score) is never hidden. It is coarse on purpose:
every commit retires every entry, and no write path has to remember to invalidate anything.

Who is served: a caller whose key this process verified in the last few seconds
(``hrdd.auth.cache``, with the same revocation rules as every other route), of the same
organisation and role as the caller the response was made for, asking for the same path, query
and Accept header on the same day (scores decay by date). Anything else goes the normal way.

Off where commits cannot be seen: an in-memory SQLite database, and tests that pin every session
to one connection inside a transaction they roll back.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hrdd.auth.cache import key_cache
from hrdd.auth.service import Principal
from hrdd.caching import BoundedCache
from hrdd.db import Database, utcnow
from hrdd.vocab import Role

# Where a route that opts in leaves the data version it read before its queries.
VERSION_STATE = "response_cache_version"
_VERSION_QUERIES = {
    "sqlite": "PRAGMA data_version",
    "postgresql": "SELECT pg_current_snapshot()::text",
}


class DataVersion:
    """One value that changes whenever anything is committed to the database.

    SQLite: ``PRAGMA data_version`` changes when another connection commits, so this keeps a
    connection of its own that never writes. PostgreSQL: the current snapshot names the
    transactions still running and the next id to be given out; any commit changes it
    (transactions of other databases of the same server do too: a needless miss, never a stale
    hit).

    On SQLite the query takes microseconds and runs on the event loop: a worker thread would
    cost more than the query. On PostgreSQL it is a round trip over the network, which must not
    hold up the event loop; it runs in a thread of its own, and one query answers every request
    that asked before it was sent (``_SharedReads``).
    """

    # After a failed check, how long to go without the cache before connecting again: a
    # database that is down must not cost every request a connection attempt.
    RETRY_SECONDS = 5.0
    # How long a request waits for the PostgreSQL check; past it, the check counts as failed
    # and the request goes the normal way. A database that stopped answering holds up the
    # check's thread, not the requests.
    WAIT_SECONDS = 2.0

    def __init__(self, database: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self._database = database
        self._clock = clock
        self._retry_at = 0.0
        engine = database.engine
        self._dialect = engine.dialect
        self._query = _VERSION_QUERIES.get(engine.dialect.name)
        in_memory = engine.dialect.name == "sqlite" and engine.url.database in (
            None,
            "",
            ":memory:",
        )
        self._usable = self._query is not None and not in_memory
        self._lock = threading.Lock()
        self._connection: Any = None
        self._shared = _SharedReads(self._query_now) if engine.dialect.name != "sqlite" else None

    async def read(self) -> Hashable | None:
        """The current value, read after this call began, or None when it cannot be known
        (then nothing is cached)."""
        if not self._usable or self._database.pinned_connection is not None:
            return None
        if self._shared is None:
            return self._query_now()
        if self._clock() < self._retry_at:
            return None  # still backing off: no need to wake the thread
        try:
            return await asyncio.wait_for(
                asyncio.wrap_future(self._shared.next_result()), self.WAIT_SECONDS
            )
        except TimeoutError:
            self._retry_at = self._clock() + self.RETRY_SECONDS
            return None

    def _query_now(self) -> Hashable | None:
        with self._lock:
            if self._connection is None and self._clock() < self._retry_at:
                return None
            try:
                if self._connection is None:
                    self._connection = self._connect()
                cursor = self._connection.cursor()
                try:
                    cursor.execute(self._query)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            except self._dialect.loaded_dbapi.Error:
                # Unreachable or lost: nothing is cached until a later request reconnects.
                self._close_connection()
                self._retry_at = self._clock() + self.RETRY_SECONDS
                return None
        return row[0] if row else None

    def _connect(self) -> Any:
        engine = self._database.engine
        args, params = engine.dialect.create_connect_args(engine.url)
        if engine.dialect.name == "sqlite":
            params = {**params, "check_same_thread": False}
            connection = engine.dialect.loaded_dbapi.connect(*args, **params)
            connection.isolation_level = None  # no transaction held: each read sees the latest
            return connection
        connection = engine.dialect.loaded_dbapi.connect(*args, **{"connect_timeout": 2, **params})
        connection.autocommit = True
        return connection

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(self._dialect.loaded_dbapi.Error):  # already gone
                connection.close()

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
        with self._lock:
            self._close_connection()


class _SharedReads:
    """Runs a slow read in a thread of its own, one at a time, and gives each result to every
    caller that asked before that read began (and after the previous one began). A caller
    never gets the result of a read that started before it asked, so a commit it knows of is
    always seen; callers who ask while a read is under way share the next one. Each caller has
    a future of its own: one that gives up (its request cancelled) takes no one else with it."""

    def __init__(self, read: Callable[[], Hashable | None]) -> None:
        self._read = read
        self._changed = threading.Condition()
        self._waiting: list[Future[Hashable | None]] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    def next_result(self) -> Future[Hashable | None]:
        result: Future[Hashable | None] = Future()
        with self._changed:
            if self._closed:
                result.set_result(None)
                return result
            self._waiting.append(result)
            self._changed.notify()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="hrdd-data-version", daemon=True
                )
                self._thread.start()
        return result

    def _serve(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if not self._waiting:
                    return  # closed, and nobody left waiting
                waiting, self._waiting = self._waiting, []
            # Callers that gave up are dropped; the others can no longer be cancelled.
            waiting = [future for future in waiting if future.set_running_or_notify_cancel()]
            if not waiting:
                continue
            try:
                value = self._read()
            except Exception as error:  # handed to the callers, who see it raised
                for future in waiting:
                    future.set_exception(error)
            else:
                for future in waiting:
                    future.set_result(value)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()


CacheKey = tuple[uuid.UUID, Role, str, bytes, bytes, date]


@dataclass(frozen=True)
class StoredResponse:
    version: Hashable
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


class ResponseCache:
    """Stored responses, least recently used dropped first once their bodies pass
    ``max_bytes``; a response larger than a quarter of that is not stored."""

    # The byte budget is the real bound; this one only caps the bookkeeping of tiny bodies.
    MAX_RESPONSES = 65_536

    def __init__(self, data_version: DataVersion, max_bytes: int) -> None:
        self.data_version = data_version
        self.max_bytes = max_bytes
        self._entries: BoundedCache[CacheKey, StoredResponse] = BoundedCache(
            self.MAX_RESPONSES, max_weight=max_bytes, weigh=lambda stored: len(stored.body)
        )

    async def get(self, key: CacheKey) -> StoredResponse | None:
        stored = self._entries.get(key)
        if stored is None:
            return None
        if await self.data_version.read() != stored.version:
            self._entries.pop(key)
            return None
        return stored

    def put(self, key: CacheKey, stored: StoredResponse) -> None:
        if len(stored.body) <= self.max_bytes // 4:
            self._entries.put(key, stored)

    def __len__(self) -> int:
        return len(self._entries)

    def close(self) -> None:
        self._entries.clear()
        self.data_version.close()


def install_response_cache(app: FastAPI, database: Database, max_bytes: int) -> None:
    app.state.response_cache = (
        ResponseCache(DataVersion(database), max_bytes) if max_bytes > 0 else None
    )


def response_cache(app: FastAPI) -> ResponseCache | None:
    return getattr(app.state, "response_cache", None)


class ResponseCacheMiddleware:
    """Serves a stored response to a GET that has one (see the module's docstring), and stores
    the 200 responses of routes that opted in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = response_cache(scope["app"]) if scope["type"] == "http" else None
        if cache is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        today = scoring_day()  # before the route runs: an entry is never newer than its day
        state = scope.setdefault("state", {})
        principal = _recently_verified(scope["app"], headers.get(b"authorization"))
        if principal is not None:
            stored = await cache.get(_key(principal, scope, headers, today))
            if stored is not None:
                state["principal"] = principal  # for the access log
                await send(
                    {
                        "type": "http.response.start",
                        "status": stored.status,
                        "headers": list(stored.headers),
                    }
                )
                await send({"type": "http.response.body", "body": stored.body})
                return

        start: Message | None = None
        chunks: list[bytes] = []

        async def keep_copy(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep_copy)
        version = state.get(VERSION_STATE)
        made_for = state.get("principal")
        if version is None or not isinstance(made_for, Principal) or start is None:
            return
        if start["status"] != 200:
            return
        cache.put(
            _key(made_for, scope, headers, today),
            StoredResponse(
                version=version,
                status=start["status"],
                headers=tuple(start.get("headers", ())),
                body=b"".join(chunks),
            ),
        )


def scoring_day() -> date:
    """The day scores are computed for when no date is asked (``hrdd.scoring.service``)."""
    return utcnow().date()


def _recently_verified(app: FastAPI, authorization: bytes | None) -> Principal | None:
    """The caller, when its key is in this process's key cache and its use need not be
    recorded now; otherwise None and the request goes the normal way."""
    if not authorization:
        return None
    scheme, presented = get_authorization_scheme_param(authorization.decode("latin-1"))
    if scheme.lower() != "bearer" or not presented:
        return None
    verified = key_cache(app).get(presented)
    if verified is None or verified.touch_due(utcnow()):
        return None
    return verified.principal


def _key(principal: Principal, scope: Scope, headers: dict[bytes, bytes], today: date) -> CacheKey:
    return (
        principal.organisation_id,
        principal.role,
        scope["path"],
        scope.get("query_string", b""),
        headers.get(b"accept", b""),
        today,
    )
