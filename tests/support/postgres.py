"""A throwaway PostgreSQL server for the test session, started from the server binaries.

Set PAYDRAW_TEST_POSTGRES_URL (e.g. postgresql+psycopg://user:pw@host:5432/postgres) to use a
running server instead.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries not found: run scripts/ensure-postgres.sh (make test does)"
    )


def as_server_user(command: list[str]) -> list[str]:
    # initdb refuses to run as root, so a root test run hands the server to the postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a server URL (connecting to the ``postgres`` database)."""
    if url := os.environ.get("PAYDRAW_TEST_POSTGRES_URL"):
        yield url
        return
    with PostgresServer.started() as server:
        yield server.url


class PostgresServer:
    """A server of the test's own, in a temporary folder, that a test may stop and start again
    on the same port."""

    def __init__(self) -> None:
        self.binaries = server_binaries()
        self.workdir = Path(tempfile.mkdtemp(prefix="paydraw-pg-"))
        self.data = self.workdir / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    @contextmanager
    def started(cls) -> Iterator["PostgresServer"]:
        server = cls()
        try:
            server.initialize()
            server.start()
            yield server
        finally:
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)

    def initialize(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.workdir, owner.pw_uid, owner.pw_gid)
        initdb = [str(self.binaries / "initdb"), "-D", str(self.data), "-A", "trust", "-U"]
        subprocess.run(as_server_user([*initdb, "postgres"]), check=True, capture_output=True)

    def start(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.workdir} -c fsync=off -c max_connections=200"
        )
        log = str(self.workdir / "log")
        start = ["-D", str(self.data), "-o", options, "-l", log, "-w", "start"]
        command = as_server_user([str(self.binaries / "pg_ctl"), *start])
        subprocess.run(command, check=True, capture_output=True)
        wait_until_ready(self.port)

    def stop(self) -> None:
        stop = ["-D", str(self.data), "-m", "immediate", "stop"]
        subprocess.run(as_server_user([str(self.binaries / "pg_ctl"), *stop]), capture_output=True)


def wait_until_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def admin_connection(server_url: str) -> psycopg.Connection[tuple[object, ...]]:
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(plain, autocommit=True)
