"""Queries for users and their API keys."""

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from paydraw.db.tables import ApiKey, User


def by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.lower())).first()


def by_id(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


BY_KEY_HASH = (
    select(User)
    .join(ApiKey, col(ApiKey.user_id) == col(User.id))
    .where(ApiKey.key_hash == bindparam("key_hash"), col(ApiKey.revoked_at).is_(None))
)


def by_key_hash(session: Session, key_hash: str) -> User | None:
    return session.exec(BY_KEY_HASH, params={"key_hash": key_hash}).first()


def keys_of(session: Session, user_id: str) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.user_id == user_id)
    return list(session.exec(query.order_by(col(ApiKey.created_at).desc())))
