"""Statements that both databases spell the same way but SQLAlchemy builds per dialect."""

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session


def insert_unless_taken(session: Session, table: Table, key: list[str]) -> Insert:
    """An insert that does nothing when a row already holds its ``key`` (a unique index); add
    ``.returning(...)`` to learn whether it went in, since PostgreSQL's driver reports no row
    count for it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement: Insert = dialect.insert(table).on_conflict_do_nothing(index_elements=key)
    return statement
