"""Fixtures shared by every test: real databases (SQLite and PostgreSQL) and the API client."""

import itertools
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from paydraw.db.engine import make_engine
from paydraw.db.migrate import upgrade
from paydraw.settings import Settings
from paydraw.users.service import ensure_user, issue_key
from tests.support.postgres import admin_connection, postgres_server

_database_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        with admin_connection(url) as connection:
            connection.execute("DROP DATABASE IF EXISTS paydraw_template")
            connection.execute("CREATE DATABASE paydraw_template")
        upgrade(url.rsplit("/", 1)[0] + "/paydraw_template")
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "paydraw.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database for one test, on SQLite and again on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "paydraw.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"paydraw_test_{next(_database_numbers)}"
    with admin_connection(server_url) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE paydraw_template")
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, secret_key="test-secret")


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as client:
        yield client


def new_user_headers(engine: Engine, email: str) -> dict[str, str]:
    with Session(engine) as session:
        key = issue_key(session, ensure_user(session, email))
        session.commit()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def admin(engine: Engine) -> dict[str, str]:
    """Headers of a staff user who will create (and so administer) projects."""
    return new_user_headers(engine, "ap@gc.example")


# The Temporal SDK's native threads can crash the interpreter while it finalizes, after every test
# has passed (temporalio/sdk-python#300). Leave with pytest's own exit status once it has printed
# its summary, so a finished run never turns into a failure at exit.
_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _exit_status and not hasattr(config, "workerinput"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
