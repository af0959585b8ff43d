"""Cursor pagination: a stable order, and a cursor that says where the last page ended.

A page is read with keyset pagination: the query is ordered by some columns ending in the
row's id, and the next page starts after the last row's values of those columns. The cursor is
those values, base64-encoded JSON; it means nothing else, so a caller passes it back as it got
it. Rows added while someone pages appear in their place; none is skipped or repeated.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import literal, tuple_
from sqlmodel import Session

from paydraw.domain.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Item = TypeVar("Item")


def encode(values: Sequence[Any]) -> str:
    plain = [value.isoformat() if isinstance(value, date) else value for value in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode(cursor: str, keys: Sequence[Any]) -> list[Any]:
    """The values a cursor holds, typed as the columns they continue from."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong shape")
        return [typed(value, key) for value, key in zip(values, keys, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor", "not a cursor this list gave out") from None


def typed(value: Any, key: Any) -> Any:
    """`value` as the Python type of the column `key` (an ORM attribute)."""
    column_type = key.property.columns[0].type
    kind = getattr(column_type, "impl", column_type).python_type  # a TypeDecorator's own type
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if not isinstance(value, kind):
        raise TypeError(f"{value!r} is not {kind.__name__}")
    return value


def read_page(
    session: Session,
    query: Any,
    keys: Sequence[Any],
    cursor: str | None,
    limit: int,
    key_of: Callable[[Any], Sequence[Any]],
    item_of: Callable[[Any], Item],
) -> tuple[list[Item], str | None]:
    """One page of `query`'s rows in the order of `keys` (the last one unique), as items, and
    the cursor of the next page (None after the last)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
    if cursor:
        # Each value bound as its column's type, so the database compares like with like.
        after = [
            literal(value, key.type) for value, key in zip(decode(cursor, keys), keys, strict=True)
        ]
        query = query.where(tuple_(*keys) > tuple_(*after))
    rows: list[Any] = list(session.exec(query.order_by(*keys).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode(key_of(rows[-1])) if more else None
    return [item_of(row) for row in rows], next_cursor
