"""Database work of an async endpoint: the checks it makes before it asks a workflow to act,
and the few writes it makes itself.

Reads and writes go to a thread, off the event loop. A lookup (a key, a role, a status: a few
rows found by their keys) on a SQLite file runs on the event loop itself, on a connection of that
thread's own: under WAL it never waits for a writer, and it takes a fraction of a millisecond,
less than handing it to a thread and back. On PostgreSQL a lookup is a round trip to the server,
and it goes to a thread too.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

import anyio
from sqlalchemy import Engine
from sqlmodel import Session

from paydraw.db.engine import loop_reader, read_scope, session_scope

T = TypeVar("T")


async def in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run database work in one transaction on a worker thread, off the event loop."""
    return await _on_thread(session_scope, engine, work)


async def reading(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run database reads on a worker thread without taking a write lock."""
    return await _on_thread(read_scope, engine, work)


async def looking_up(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run a lookup of a few rows by their keys without taking a write lock: here on a SQLite
    file, on a thread otherwise. Anything that reads more belongs in `reading`."""
    reader = loop_reader(engine)
    if reader is None:
        return await _on_thread(read_scope, engine, work)
    with read_scope(reader) as session:
        return work(session)


async def _on_thread(
    scope: Callable[[Engine], AbstractContextManager[Session]],
    engine: Engine,
    work: Callable[[Session], T],
) -> T:
    def run() -> T:
        with scope(engine) as session:
            return work(session)

    return await anyio.to_thread.run_sync(run)
