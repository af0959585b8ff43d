"""Engines and sessions for SQLite (the default) and PostgreSQL."""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

READ_ONLY = "paydraw_read_only"
BUSY_TIMEOUT_SECONDS = 30

# One lock per SQLite file for the writers of this process (see _sqlite_begin).
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS}
        )
        lock = _write_lock(database)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda connection: _sqlite_begin(connection, lock))
        event.listen(engine, "commit", lambda connection: _sqlite_end(connection, lock))
        event.listen(engine, "rollback", lambda connection: _sqlite_end(connection, lock))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


def _write_lock(database: str) -> threading.Lock:
    key = str(Path(database).resolve()) if database and database != ":memory:" else database
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


def _sqlite_begin(connection: Any, lock: threading.Lock) -> None:
    # A writer takes SQLite's write lock at BEGIN: two deferred transactions that both upgrade
    # to writing would fail at once with "database is locked" instead of waiting out the busy
    # timeout. A reader begins deferred, and under WAL it never waits for a writer.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
        return
    # The writers of this process first queue on a lock of their own, and each wakes the moment
    # the one before it ends. Waiting in SQLite's busy handler instead means sleeping in steps of
    # up to 100 ms, whatever the writer ahead is doing: at 32 writers that wait dominated every
    # transaction. Other processes (the API next to the worker) still meet in the busy handler.
    if not lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
        raise sqlite3.OperationalError("database is locked")
    connection.info["holds_write_lock"] = True
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _sqlite_end(connection, lock)
        raise


def _sqlite_end(connection: Any, lock: threading.Lock) -> None:
    if connection.info.pop("holds_write_lock", False):
        lock.release()


@lru_cache
def engine_for(url: str) -> Engine:
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """One transaction that only reads. Whatever it did is rolled back when the session closes
    (the pool resets the connection), and the objects it loaded stay readable afterwards."""
    with Session(engine.execution_options(**{READ_ONLY: True})) as session:
        yield session
