"""SQLite writers of one process take turns on a lock (hrdd.db) instead of sleeping through
SQLite's busy timeout; every end of a write transaction hands the turn on: commit, rollback,
a failed statement, and a session closed with its transaction open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hrdd.db import SYSTEM, Database, sqlite_write_turn


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    with database.session(SYSTEM, write=True) as session:
        session.execute(text("CREATE TABLE notes (n INTEGER NOT NULL)"))
    yield database
    database.dispose()


def count(database: Database) -> int:
    with database.session(SYSTEM) as session:
        return int(session.execute(text("SELECT count(*) FROM notes")).scalar_one())


def test_a_write_holds_the_turn_until_it_commits(database):
    turn = sqlite_write_turn(database.engine)
    assert turn is not None and not turn.locked()
    with database.session(SYSTEM, write=True) as session:
        session.execute(text("INSERT INTO notes VALUES (1)"))
        assert turn.locked()
    assert not turn.locked()
    assert count(database) == 1


def test_reads_do_not_take_the_turn(database):
    turn = sqlite_write_turn(database.engine)
    with database.session(SYSTEM) as session:
        session.execute(text("SELECT count(*) FROM notes"))
        assert not turn.locked()


def test_a_rolled_back_write_hands_the_turn_on(database):
    turn = sqlite_write_turn(database.engine)
    with pytest.raises(RuntimeError), database.session(SYSTEM, write=True) as session:
        session.execute(text("INSERT INTO notes VALUES (1)"))
        raise RuntimeError("the request failed")
    assert not turn.locked()
    with pytest.raises(OperationalError), database.session(SYSTEM, write=True) as session:
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))
    assert not turn.locked()
    assert count(database) == 0


def test_a_session_closed_with_its_transaction_open_hands_the_turn_on(database):
    turn = sqlite_write_turn(database.engine)
    session = database.new_session(SYSTEM, write=True)
    session.execute(text("INSERT INTO notes VALUES (1)"))
    assert turn.locked()
    session.close()
    assert not turn.locked()
    assert count(database) == 0


def test_concurrent_writers_all_land(database):
    failures: list[BaseException] = []

    def write(first: int) -> None:
        try:
            for n in range(first, first + 20):
                with database.session(SYSTEM, write=True) as session:
                    session.execute(text("INSERT INTO notes VALUES (:n)"), {"n": n})
        except BaseException as error:  # collected: an exception in a thread fails nothing
            failures.append(error)

    threads = [threading.Thread(target=write, args=(100 * i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert count(database) == 120
    assert not sqlite_write_turn(database.engine).locked()


def test_other_databases_have_no_turns():
    database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert sqlite_write_turn(database.engine) is None
    database.dispose()
