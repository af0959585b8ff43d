"""Passwordless sign-in for staff: a one-time link by email, then a browser session.

The link's token is signed with the server's secret and a purpose of its own, expires after
``sign_in_link_max_age_minutes`` and names a row that its first use spends, so it works once.
The session cookie holds 256 random bits; the database keeps only their SHA-256, with the
session's expiry and its end (sign-out). A form that changes something carries a CSRF token
derived from the session: a page of another site cannot know it.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from sqlmodel import Session, col

from emails.outbox import enqueue
from paydraw import actors
from paydraw.audit import record
from paydraw.db.tables import SignInLink, User, WebSession, utcnow
from paydraw.domain.errors import DomainError
from paydraw.domain.terminology import Terminology
from paydraw.settings import Settings
from paydraw.users import repository

SIGN_IN_PURPOSE = "paydraw.staff-sign-in.v1"
CSRF_PURPOSE = b"paydraw.csrf.v1"


class SignInRefused(DomainError):
    """The sign-in link is not valid, has expired or was used already."""

    http_status = 401
    code = "unauthorized"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=SIGN_IN_PURPOSE)


def sign_in_link(session: Session, settings: Settings, user: User, next_path: str = "/") -> str:
    """A new one-time link that signs ``user`` in and lands on ``next_path``."""
    row = SignInLink(user_id=user.id)
    session.add(row)
    session.flush()
    token = _serializer(settings).dumps({"l": row.id, "n": safe_next(next_path)})
    return f"{settings.resolved_public_url}/sign-in/{token}"


def email_sign_in_link(
    session: Session, settings: Settings, email: str, next_path: str = "/"
) -> str | None:
    """Queue a sign-in email to a staff user with this address; the outbox id, or None when no
    user has it (the page says the same either way, so it tells nobody who has an account)."""
    user = repository.by_email(session, email)
    if user is None:
        return None
    link = sign_in_link(session, settings, user, next_path)
    row = enqueue(
        session,
        kind="sign_in",
        dedupe_key=f"sign_in:{link.rsplit('/', 1)[1][:40]}",
        to_address=user.email,
        context={
            "terminology": Terminology.GENERAL_CONTRACTOR,
            "link": link,
            "minutes": f"{settings.sign_in_link_max_age_minutes:g}",
            "name": user.name,
        },
    )
    return row.id


def spend(session: Session, settings: Settings, token: str) -> tuple[User, str]:
    """The user a sign-in link signs in, and where to land; the link is spent."""
    max_age = round(settings.sign_in_link_max_age_minutes * 60)
    try:
        payload = _serializer(settings).loads(token, max_age=max_age)
    except SignatureExpired:
        raise SignInRefused("this sign-in link has expired; ask for a new one") from None
    except BadSignature:
        raise SignInRefused("this sign-in link is not valid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("l"), str):
        raise SignInRefused("this sign-in link is not valid")
    # One statement: of two uses at once, only one finds the link unused.
    spent = session.execute(
        update(SignInLink)
        .where(col(SignInLink.id) == payload["l"], col(SignInLink.used_at).is_(None))
        .values(used_at=utcnow())
        .returning(col(SignInLink.user_id))
    ).first()
    if spent is None:
        raise SignInRefused("this sign-in link was used already; ask for a new one")
    user = repository.by_id(session, spent[0])
    assert user is not None
    record(
        session,
        actors.user(user.id, user.email),
        entity_type="user",
        entity_id=user.id,
        action="sign_in",
        project_id=None,
    )
    return user, safe_next(str(payload.get("n") or "/"))


def safe_next(path: str) -> str:
    """Only a path of this site: never another host (``//evil.example``, ``https://…``)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, settings: Settings, user: User) -> str:
    """A new session for ``user``; the token for the cookie (stored only as its hash)."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(hours=settings.session_max_age_hours)
    session.add(WebSession(id=_hash(token), user_id=user.id, expires_at=expires_at))
    return token


def user_of_session(session: Session, token: str) -> User | None:
    """The signed-in user, while the session lasts (not expired, not signed out)."""
    row = session.get(WebSession, _hash(token))
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    return repository.by_id(session, row.user_id)


def end_session(session: Session, token: str) -> None:
    row = session.get(WebSession, _hash(token))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.add(row)


def csrf_token(settings: Settings, session_token: str) -> str:
    """The token every form of this session carries."""
    key = hmac.new(settings.secret_key.encode(), CSRF_PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, session_token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(settings: Settings, session_token: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(settings, session_token), given)
