"""Engines and sessions for SQLite (the default) and PostgreSQL."""

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, make_url
from sqlalchemy.pool import SingletonThreadPool
from sqlmodel import Session, create_engine

READ_ONLY = "paydraw_read_only"
BUSY_TIMEOUT_SECONDS = 30

# Between two tries for another process's hold on the writers' lock file.
PROCESS_LOCK_POLL_SECONDS = 0.001


@dataclass(frozen=True)
class WriteLock:
    """Who may write one SQLite file: a lock for this process's threads, then an OS lock on a
    file next to the database for the processes (the worker and the API); see _sqlite_begin."""

    threads: threading.Lock
    process_fd: int | None  # None for an in-memory database


_write_locks: dict[str, WriteLock] = {}
_write_locks_guard = threading.Lock()
_loop_readers: dict[str, Engine] = {}
_loop_readers_guard = threading.Lock()


def make_engine(
    url: str, *, connection_per_thread: bool = False, synchronous: str = "FULL"
) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout, and with
    ``connection_per_thread`` a connection of its own for each thread instead of a shared pool.

    ``synchronous`` is SQLite's: FULL (the default) syncs every commit to disk, so a commit
    survives a power cut; NORMAL syncs at checkpoints only, so a commit survives the process
    and the operating system's crashes but maybe not a power cut, for a fraction of the time."""
    if url.startswith("sqlite"):
        database = make_url(url).database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        pool: dict[str, Any] = {"poolclass": SingletonThreadPool} if connection_per_thread else {}
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS},
            **pool,
        )
        lock = _write_lock(database)
        event.listen(
            engine,
            "connect",
            lambda connection, _record: _sqlite_pragmas(connection, synchronous),
        )
        event.listen(engine, "begin", lambda connection: _sqlite_begin(connection, lock))
        event.listen(engine, "commit", lambda connection: _sqlite_commit(connection, lock))
        event.listen(engine, "rollback", lambda connection: _sqlite_end(connection, lock))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: Any, synchronous: str) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


def _write_lock(database: str) -> WriteLock:
    in_memory = not database or database == ":memory:"
    key = database if in_memory else str(Path(database).resolve())
    with _write_locks_guard:
        if key not in _write_locks:
            fd = None if in_memory else os.open(f"{key}.writers", os.O_RDWR | os.O_CREAT, 0o644)
            _write_locks[key] = WriteLock(threading.Lock(), fd)
        return _write_locks[key]


def _sqlite_begin(connection: Any, lock: WriteLock) -> None:
    # A writer takes SQLite's write lock at BEGIN: two deferred transactions that both upgrade
    # to writing would fail at once with "database is locked" instead of waiting out the busy
    # timeout. A reader begins deferred, and under WAL it never waits for a writer.
    if connection.get_execution_options().get(READ_ONLY):
        _execute(connection, "BEGIN")
        return
    # Writers queue on locks of their own, and each goes the moment the one before it ends:
    # first the threads of this process, then one thread per process on the lock file. Waiting
    # in SQLite's busy handler instead means sleeping in steps of up to 100 ms whatever the writer
    # ahead is doing; at 32 writers that wait dominated every transaction, and the API, polling
    # that way, waited for the worker's whole queue.
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    if not lock.threads.acquire(timeout=BUSY_TIMEOUT_SECONDS):
        raise sqlite3.OperationalError("database is locked")
    try:
        _lock_process(lock, deadline)
    except BaseException:
        lock.threads.release()
        raise
    connection.info["holds_write_lock"] = True
    try:
        _execute(connection, "BEGIN IMMEDIATE")
    except BaseException:
        _sqlite_end(connection, lock)
        raise


def _execute(connection: Any, statement: str) -> None:
    # Straight to the driver: the statement needs none of what SQLAlchemy's execution adds (events,
    # compiled caches, result objects), which cost more than the statement itself.
    connection.connection.dbapi_connection.execute(statement)


def _lock_process(lock: WriteLock, deadline: float) -> None:
    """Hold the lock file; the OS lets go of it if this process dies."""
    if lock.process_fd is None:
        return
    while True:
        try:
            fcntl.flock(lock.process_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise sqlite3.OperationalError("database is locked") from None
            time.sleep(PROCESS_LOCK_POLL_SECONDS)


def _sqlite_commit(connection: Any, lock: WriteLock) -> None:
    # SQLAlchemy calls this before it commits. A writer commits here first, so the next one,
    # let in below, finds the database free instead of sleeping in SQLite's busy handler while
    # the commit is written; the commit SQLAlchemy then asks for has nothing left to do.
    if connection.info.get("holds_write_lock"):
        connection.connection.dbapi_connection.commit()
    _sqlite_end(connection, lock)


def _sqlite_end(connection: Any, lock: WriteLock) -> None:
    if connection.info.pop("holds_write_lock", False):
        if lock.process_fd is not None:
            fcntl.flock(lock.process_fd, fcntl.LOCK_UN)
        lock.threads.release()


@lru_cache
def engine_for(url: str) -> Engine:
    return make_engine(url)


def loop_reader(engine: Engine) -> Engine | None:
    """For a SQLite file, an engine for the small reads an event loop makes on its own thread: a
    connection per thread, so such a read never waits for the connections the engine's other
    users hold (which some of them give back only through that same loop). None for another
    database, and for an in-memory one, which another engine cannot see."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    key = url.render_as_string(hide_password=False)
    with _loop_readers_guard:
        if key not in _loop_readers:
            _loop_readers[key] = make_engine(key, connection_per_thread=True)
        return _loop_readers[key]


def companion_engine(engine: Engine, name: str) -> Engine:
    """Where bookkeeping that shares no transaction with the business data can live: for a SQLite
    file, a new engine on a file of its own next to it (``paydraw.db`` → ``paydraw-{name}.db``),
    with its own write lock, so its writes never queue behind the database's; otherwise
    ``engine`` itself. Its commits are not synced one by one (``synchronous=NORMAL``): what it
    keeps may be lost, the last few records at most and only in a power cut, without harm to
    the business data."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return engine
    path = Path(url.database)
    companion = url.set(database=str(path.with_stem(f"{path.stem}-{name}")))
    return make_engine(companion.render_as_string(hide_password=False), synchronous="NORMAL")


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
