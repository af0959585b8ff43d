"""Apply Alembic migrations from code (the command line, the app's start, the tests)."""

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    command.upgrade(alembic_config(url), "head")


@cache
def head_revision() -> str:
    """The newest schema this code knows."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The schema the database at the other end of ``connection`` is at; None before any."""
    try:
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no alembic_version table: nothing was ever migrated
        connection.rollback()
        return None
    return str(found) if found is not None else None
