"""A real hrdd server for the concurrency and crash tests: a fresh migrated database with the
bundled content and one organisation, and `uvicorn hrdd.asgi:app` run as a child process
against it, which the tests talk to over HTTP, kill with SIGKILL and start again.

The database is on the backend under test (HRDD_TEST_DATABASE_URL, see tests/conftest.py), so
the same tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from tests.conftest import drop_database, fresh_database_url

from hrdd import migrations_info
from hrdd.auth import service as auth_service
from hrdd.config import PROJECT_ROOT, Settings
from hrdd.content import load_bundled_content
from hrdd.db import SYSTEM, Database
from hrdd.vocab import Role

API = "/api/v1"
# Generous: a cold interpreter importing the app on a loaded two-core machine.
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
PORT_TRIES = 3
# Bytes of write-ahead log a SQLite transaction must have written before it commits to count
# as a large write (an import); SQLite spills pages there once its page cache (2 MB) is full.
UNCOMMITTED_SPILL = 1 << 20


def wait_for(
    condition: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str
) -> Any:
    """Poll until ``condition()`` is truthy and return its value; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class PreparedDatabase:
    """A migrated database holding the bundled content and one organisation with a key per
    role, plus the data folder the server stores files in."""

    url: str
    data_dir: Path
    keys: dict[Role, str]
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        database = make_url(self.url).database
        assert self.is_sqlite and database, "not a SQLite file database"
        return Path(database)

    def headers(self, role: Role = Role.investor) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    @property
    def engine(self) -> Engine:
        """A plain engine for checks from outside the service (no tenant filter)."""
        if self._engine is None:
            self._engine = create_engine(self.url)
        return self._engine

    def id_param(self, value: str | uuid.UUID) -> Any:
        """An id as a query parameter: SQLite keeps UUIDs as 32 hex digits."""
        parsed = uuid.UUID(str(value))
        return parsed.hex if self.is_sqlite else parsed

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]

    def sqlite_integrity(self) -> list[str]:
        """SQLite's own consistency check of the file (pages, indexes, constraints) and of
        its foreign keys: ["ok"] when the file is sound."""
        connection = sqlite3.connect(self.sqlite_path, timeout=30)
        try:
            results = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            results += [
                f"foreign key broken: {row}"
                for row in connection.execute("PRAGMA foreign_key_check")
            ]
        finally:
            connection.close()
        return results

    def open_transactions(self) -> list[tuple[Any, ...]]:
        """PostgreSQL: transactions of other client connections still open in this database
        (a dead server's are ended by the database once it notices the closed socket)."""
        return self.rows(
            "SELECT pid, state, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' AND xact_start IS NOT NULL"
        )

    def _sqlite_write_locked(self) -> bool:
        probe = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                return True
            raise
        finally:
            probe.close()

    def _wal_bytes(self) -> int:
        wal = self.sqlite_path.with_name(self.sqlite_path.name + "-wal")
        return wal.stat().st_size if wal.exists() else 0

    def empty_wal(self) -> None:
        """SQLite: fold the write-ahead log into the database and cut it to zero bytes, so
        that what the next transaction writes to it can be measured."""
        if self.is_sqlite:
            connection = sqlite3.connect(self.sqlite_path, timeout=30)
            try:
                busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                connection.close()
            assert busy == 0 and self._wal_bytes() == 0, "the write-ahead log was not emptied"

    def writing_uncommitted(self, table: str) -> bool:
        """True while a transaction that has not committed has written rows of ``table``.

        PostgreSQL: a backend holds the write lock (RowExclusiveLock) an INSERT, UPDATE or
        DELETE takes on the table until its transaction ends. SQLite: the database's write
        lock is held (hrdd takes it at a write request's first statement and keeps it until
        the commit) and the write-ahead log, emptied beforehand with ``empty_wal``, has grown
        by UNCOMMITTED_SPILL: only a large transaction spills that much of its pages before
        committing, so it is the import's own rows, not an API key's last-used time.
        """
        if self.is_sqlite:
            return self._sqlite_write_locked() and self._wal_bytes() >= UNCOMMITTED_SPILL
        return bool(
            self.scalar(
                "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation "
                "WHERE pg_class.relname = :table AND pg_locks.mode = 'RowExclusiveLock' "
                "AND pg_locks.granted AND pg_locks.pid <> pg_backend_pid()",
                table=table,
            )
        )

    def wait_until_writing(
        self, table: str, *, timeout: float, gave_up: Callable[[], str | None] = lambda: None
    ) -> None:
        """Return once an uncommitted transaction is writing ``table``: the moment to kill the
        server mid-way. ``gave_up`` names a reason to stop waiting (the request already
        ended), or None."""
        deadline = time.monotonic() + timeout
        while not self.writing_uncommitted(table):
            reason = gave_up()
            if reason:
                raise AssertionError(f"no uncommitted write to {table} seen: {reason}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no uncommitted write to {table} within {timeout:.0f} s")
            time.sleep(0.02)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def prepare_database(tmp_dir: Path, name: str) -> PreparedDatabase:
    """A brand-new database on the backend under test, migrated, with the bundled content
    (questionnaire, companies, evidence, scoring rules) and one organisation."""
    url = fresh_database_url(tmp_dir, f"{name}_{os.getpid()}")
    migrations_info.upgrade(url)
    data_dir = tmp_dir / f"{name}-data"
    database = Database(url)
    try:
        settings = Settings(database_url=url, data_dir=data_dir)
        load_bundled_content(database, settings)
        with database.session(SYSTEM, write=True) as session:
            organisation = auth_service.create_organisation(session, f"Hardening fund {name}")
            keys = {
                role: auth_service.create_key(
                    session, organisation.id, f"{name} {role.value}", role
                )[1]
                for role in Role
            }
    finally:
        database.dispose()
    return PreparedDatabase(url=url, data_dir=data_dir, keys=keys)


def discard_database(prepared: PreparedDatabase) -> None:
    prepared.dispose()
    drop_database(prepared.url)


@contextmanager
def prepared_database(tmp_dir: Path, name: str) -> Iterator[PreparedDatabase]:
    prepared = prepare_database(tmp_dir, name)
    try:
        yield prepared
    finally:
        discard_database(prepared)


class PortTaken(Exception):
    """The server could not bind the port chosen for it."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServedApp:
    """One `uvicorn hrdd.asgi:app` process serving a prepared database.

    Its output goes to ``log_path``, which failures quote. ``extra_env`` adds HRDD_ settings
    (e.g. larger upload limits). The process runs in its own session, so a SIGKILL hits the
    server alone.
    """

    ASGI_APP = "hrdd.asgi:app"  # what `hrdd serve` runs

    def __init__(
        self, prepared: PreparedDatabase, log_path: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.prepared = prepared
        self.log_path = log_path
        self.extra_env = extra_env or {}
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _environment(self) -> dict[str, str]:
        # The server reads only what we set here, never a developer's HRDD_* variables or .env.
        env = {key: value for key, value in os.environ.items() if not key.startswith("HRDD_")}
        env.update(
            HRDD_DATABASE_URL=self.prepared.url,
            HRDD_DATA_DIR=str(self.prepared.data_dir),
            HRDD_LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(PROJECT_ROOT / "src"), os.environ.get("PYTHONPATH")])
            ),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        """Start a new server process (a new port each time) and wait until /health is ok.
        A port taken by someone else between choosing and binding it means another try."""
        for _ in range(PORT_TRIES):
            try:
                self._start_on(free_port())
                return
            except PortTaken:
                continue
        raise AssertionError(f"no free port found in {PORT_TRIES} tries:\n{self.log()}")

    def _start_on(self, port: int) -> None:
        assert self.process is None, "the server is already running"
        self.port = port
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- starting on port {port}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    self.ASGI_APP,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    # The concurrency tests open every writer's connection, then hold it idle
                    # until all are open. On a loaded machine that can take longer than
                    # uvicorn's 5 s, and a connection closed as a write goes out fails with
                    # "Server disconnected without sending a response".
                    "--timeout-keep-alive",
                    "120",
                ],
                cwd=self.log_path.parent,
                env=self._environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._healthy, timeout=START_TIMEOUT, interval=0.2, what="the server to start")

    def _healthy(self) -> bool:
        process = self.process
        assert process is not None
        if process.poll() is not None:
            self.process = None
            if "address already in use" in self.log(last=500):
                raise PortTaken
            raise AssertionError(
                f"the server exited with code {process.returncode} while starting:\n{self.log()}"
            )
        return self.health().get("status") == "ok"

    def health(self) -> dict[str, Any]:
        """The /health body, or {} when the server does not answer."""
        try:
            response = httpx.get(f"{self.base_url}/health", timeout=5.0)
        except httpx.TransportError:
            return {}
        return dict(response.json()) if response.status_code in (200, 503) else {}

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no rollback, no flush; as a power cut for the
        process (the operating system and the database server stay up)."""
        process = self.process
        assert process is not None, "the server is not running"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)
        self.process = None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), a SIGKILL if it does not end in time."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)

    def client(self, role: Role = Role.investor, *, timeout: float = 120.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers=self.prepared.headers(role), timeout=timeout
        )

    def log(self, last: int = 4000) -> str:
        """The end of the server's output, for failure messages."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-last:].decode("utf-8", "replace")


@contextmanager
def served(
    prepared: PreparedDatabase, log_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[ServedApp]:
    app = ServedApp(prepared, log_path, extra_env)
    app.start()
    try:
        yield app
    finally:
        app.stop()
