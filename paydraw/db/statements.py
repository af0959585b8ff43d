"""Statements that both databases spell the same way but SQLAlchemy builds per dialect."""

from functools import cache

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import Session


def insert_unless_taken(
    session: Session, table: Table, key: tuple[str, ...], id: Column[str]
) -> ReturningInsert[str]:
    """An insert, of the row given as the parameters of its execution, that does nothing when a
    row already holds its ``key`` (a unique index); it returns ``id`` when it went in, since
    PostgreSQL's driver reports no row count for it. Built once per database and table: a
    statement built afresh costs more Python than its execution."""
    return _insert_unless_taken(session.get_bind().dialect.name, table, key, id)


@cache
def _insert_unless_taken(
    dialect_name: str, table: Table, key: tuple[str, ...], id: Column[str]
) -> ReturningInsert[str]:
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=key).returning(id)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=key).returning(id)
