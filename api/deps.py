"""Request dependencies: the database session, the settings, the attachments' storage and the
calling staff user or invoice contact.

FastAPI runs a plain ``def`` dependency on a thread of its pool, and a thread and back costs
more than these take, so they are ``async def``; the API key is found as an endpoint's other
lookups are (``api.reads.looking_up``). A session for a whole request stays a plain ``def``.
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from api.reads import looking_up
from paydraw import actors
from paydraw.actors import Actor
from paydraw.attachments.service import Limits
from paydraw.attachments.storage import Storage
from paydraw.db.engine import read_scope, session_scope
from paydraw.invitations.tokens import ContactClaim, InvalidToken, verify
from paydraw.logs import note
from paydraw.settings import Settings
from paydraw.users.service import authenticate

bearer = HTTPBearer(auto_error=False, description="A staff API key from `paydraw create-user`")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(
    request: Request, engine: Annotated[Engine, Depends(get_engine)]
) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error.
    A GET only reads, so it takes no write lock and never waits for a writer."""
    scope = read_scope if request.method in ("GET", "HEAD") else session_scope
    with scope(engine) as session:
        yield session


async def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def get_attachment_limits(request: Request) -> Limits:
    limits: Limits = request.app.state.attachment_limits
    return limits


SessionDep = Annotated[Session, Depends(get_session)]
StorageDep = Annotated[Storage, Depends(get_storage)]
LimitsDep = Annotated[Limits, Depends(get_attachment_limits)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def current_user(
    engine: Annotated[Engine, Depends(get_engine)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    if credentials is None:
        raise unauthorized("missing bearer API key")
    key = credentials.credentials
    user = await looking_up(engine, lambda session: authenticate(session, key))
    if user is None:
        raise unauthorized("unknown or revoked API key")
    actor = actors.user(user.id, user.email)
    note(actor=actor.label)
    return actor


CurrentUser = Annotated[Actor, Depends(current_user)]


async def current_contact(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ContactClaim:
    """The invoice contact of the signed link sent as the bearer token."""
    if credentials is None:
        raise unauthorized("missing bearer token: use the link from your invite email")
    try:
        claim = verify(settings, credentials.credentials)
    except InvalidToken as error:
        raise unauthorized(str(error)) from None
    note(actor=f"contact:{claim.email}")
    return claim


CurrentContact = Annotated[ContactClaim, Depends(current_contact)]
