"""Database work of an async endpoint: the checks it makes before it asks a workflow to act,
and the few writes it makes itself.

A write goes to a thread, off the event loop: it may wait for the write lock. A read on SQLite
runs on the event loop itself: under WAL it never waits for a writer, and these reads (a key,
a role, a status) take a fraction of a millisecond, less than handing them to a thread and back.
On PostgreSQL a read is a round trip to the server, and it goes to a thread too.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

import anyio
from sqlalchemy import Engine
from sqlmodel import Session

from paydraw.db.engine import read_scope, session_scope

T = TypeVar("T")


async def in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run database work in one transaction on a worker thread, off the event loop."""
    return await _on_thread(session_scope, engine, work)


async def reading(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run a few small reads without taking a write lock: here on SQLite, on a thread otherwise."""
    if engine.dialect.name == "sqlite":
        with read_scope(engine) as session:
            return work(session)
    return await _on_thread(read_scope, engine, work)


async def _on_thread(
    scope: Callable[[Engine], AbstractContextManager[Session]],
    engine: Engine,
    work: Callable[[Session], T],
) -> T:
    def run() -> T:
        with scope(engine) as session:
            return work(session)

    return await anyio.to_thread.run_sync(run)
