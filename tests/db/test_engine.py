"""Transactions: writers follow each other through the one write lock, readers never wait."""

import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from paydraw.db.engine import companion_engine, make_engine, read_scope, session_scope
from paydraw.db.tables import User
from tests.api.helpers import create_project


@contextmanager
def writer_holding_the_lock(engine: Engine) -> Iterator[None]:
    """Another request in the middle of a write transaction, holding it open meanwhile."""
    holding, release = threading.Event(), threading.Event()

    def write() -> None:
        with session_scope(engine) as session:
            session.add(User(email="written-meanwhile@gc.example"))
            session.flush()
            holding.set()
            release.wait(timeout=60)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert holding.wait(timeout=10)
        yield
    finally:
        release.set()
        writer.join()


class TestReaders:
    def test_a_read_does_not_wait_for_a_writer(self, engine: Engine) -> None:
        with writer_holding_the_lock(engine):
            started = time.monotonic()
            with read_scope(engine) as session:
                emails = session.exec(select(User.email)).all()

        assert time.monotonic() - started < 5  # a reader that queued would wait 30 s
        assert "written-meanwhile@gc.example" not in emails

    def test_a_get_request_answers_while_a_writer_holds_the_lock(
        self, client: TestClient, admin: dict[str, str], engine: Engine
    ) -> None:
        project = create_project(client, admin)
        with writer_holding_the_lock(engine):
            started = time.monotonic()
            response = client.get(f"/api/v1/projects/{project['id']}", headers=admin)
            waited = time.monotonic() - started

        assert response.status_code == 200, response.text
        assert response.json()["name"] == "Harbor View Tower"
        assert waited < 5

    def test_whatever_a_read_scope_writes_is_rolled_back(self, engine: Engine) -> None:
        with read_scope(engine) as session:
            session.add(User(email="never-kept@gc.example"))
            session.flush()

        with read_scope(engine) as session:
            assert (
                session.exec(select(User).where(User.email == "never-kept@gc.example")).all() == []
            )


class TestWriters:
    def test_concurrent_writers_all_commit_and_a_failed_one_leaves_nothing(
        self, engine: Engine
    ) -> None:
        errors: list[BaseException] = []

        def write(number: int) -> None:
            try:
                with session_scope(engine) as session:
                    session.add(User(email=f"writer-{number}@gc.example"))
                    session.flush()
                    if number % 4 == 0:
                        raise LookupError(f"writer {number} gave up")
            except LookupError:
                pass
            except BaseException as error:  # a writer left waiting would fail here
                errors.append(error)

        writers = [threading.Thread(target=write, args=(number,)) for number in range(16)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()

        assert errors == []
        with read_scope(engine) as session:
            written = set(session.exec(select(User.email).where(User.email.startswith("writer-"))))
        assert written == {f"writer-{n}@gc.example" for n in range(16) if n % 4 != 0}

    def test_a_rolled_back_writer_does_not_keep_the_next_one_waiting(self, engine: Engine) -> None:
        try:
            with session_scope(engine) as session:
                session.add(User(email="rolled-back@gc.example"))
                raise LookupError("the request failed")
        except LookupError:
            pass

        started = time.monotonic()
        finished = threading.Event()

        def write() -> None:
            with session_scope(engine) as session:
                session.add(User(email="next@gc.example"))
            finished.set()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=40)

        assert finished.is_set()
        assert time.monotonic() - started < 5  # a writer kept waiting would wait 30 s


HOLDER = """
import sys, time
from paydraw.db.engine import make_engine, session_scope
from paydraw.db.tables import User
engine = make_engine(sys.argv[1])
for n in range(int(sys.argv[2])):
    with session_scope(engine) as session:
        session.add(User(email=f"holder-{n}@gc.example"))
        session.flush()
        print("holding", flush=True)
        time.sleep(0.3)
    print(time.monotonic(), flush=True)
    sys.stdin.readline()
"""


class TestWritersOfTwoProcesses:
    def test_a_writer_goes_the_moment_the_other_process_commits(
        self, sqlite_template: Path, tmp_path: Path
    ) -> None:
        """The API and the worker write one SQLite file; one waiting for the other must not
        sleep in SQLite's busy handler, whose steps grow to 100 ms."""
        path = tmp_path / "paydraw.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        rounds = 5
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, url, str(rounds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdin is not None and holder.stdout is not None
        delays = []
        try:
            for n in range(rounds):
                assert holder.stdout.readline().strip() == "holding"
                with session_scope(engine) as session:
                    session.add(User(email=f"waiter-{n}@gc.example"))
                done = time.monotonic()
                committed = float(holder.stdout.readline())
                delays.append(done - committed)
                holder.stdin.write("\n")
                holder.stdin.flush()
        finally:
            holder.kill()
            holder.wait()
            engine.dispose()

        assert statistics.median(delays) < 0.025, delays
        with Session(make_engine(url)) as session:
            emails = set(session.exec(select(User.email)))
        assert {f"waiter-{n}@gc.example" for n in range(rounds)} <= emails
        assert {f"holder-{n}@gc.example" for n in range(rounds)} <= emails

    def test_an_in_memory_database_leaves_no_file_behind(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        engine = make_engine("sqlite://")
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        engine.dispose()

        assert list(tmp_path.iterdir()) == []


class TestSyncing:
    def test_the_business_data_is_synced_at_every_commit_and_the_request_log_is_not(
        self, tmp_path: Path
    ) -> None:
        """Every commit of the database survives a power cut; the Idempotency-Key records,
        which share no transaction with it, are synced at checkpoints only."""
        engine = make_engine(f"sqlite:///{tmp_path / 'paydraw.db'}")
        companion = companion_engine(engine, "requests")

        def synchronous(of: Engine) -> int:
            with of.connect() as connection:
                return int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())

        assert Path(str(companion.url.database)).name == "paydraw-requests.db"
        assert (synchronous(engine), synchronous(companion)) == (2, 1)  # FULL, NORMAL
        engine.dispose()
        companion.dispose()
