"""Staff users and their API keys. Keys are shown once and stored only as a SHA-256 hash."""

import hashlib
import secrets

from sqlmodel import Session

from paydraw import actors
from paydraw.audit import record
from paydraw.db.tables import ApiKey, User, utcnow
from paydraw.domain.errors import NotFound
from paydraw.users import repository

KEY_PREFIX = "pd_"


def hash_key(key: str) -> str:
    # API keys carry 256 random bits, so a fast hash is enough; no password stretching needed.
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_user(session: Session, email: str, name: str = "") -> User:
    """The user with this email, created if new."""
    user = repository.by_email(session, email)
    if user is None:
        user = User(email=email.lower(), name=name)
        session.add(user)
        session.flush()
        record(
            session,
            actors.user(user.id, user.email),
            entity_type="user",
            entity_id=user.id,
            action="create",
            project_id=None,
        )
    return user


def issue_key(session: Session, user: User) -> str:
    """A new API key for ``user``; the plain key is returned once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(user_id=user.id, key_hash=hash_key(key), prefix=key[:10]))
    record(
        session,
        actors.user(user.id, user.email),
        entity_type="user",
        entity_id=user.id,
        action="issue_api_key",
        project_id=None,
        detail={"prefix": key[:10]},
    )
    return key


def authenticate(session: Session, key: str) -> User | None:
    return repository.by_key_hash(session, hash_key(key))


def keys_of(session: Session, user_id: str) -> list[ApiKey]:
    """The user's API keys, newest first, revoked ones too (shown by their prefix only)."""
    return repository.keys_of(session, user_id)


def revoke_key(session: Session, user: User, key_id: str) -> None:
    """Revoke one of the user's own keys (audited); someone else's key is not found."""
    key = session.get(ApiKey, key_id)
    if key is None or key.user_id != user.id:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    session.add(key)
    record(
        session,
        actors.user(user.id, user.email),
        entity_type="user",
        entity_id=user.id,
        action="revoke_api_key",
        project_id=None,
        detail={"prefix": key.prefix},
    )
