"""``Idempotency-Key`` on every POST, PUT, PATCH and DELETE: a repeat returns the first answer
and changes nothing.

A key belongs to its caller (the ``Authorization`` header) and its request (method, path, query
and body). It is reserved in the database before the request runs (a unique row per caller and
key), so two racing copies of one request cannot both run: the second waits for the first and
replays its answer. The same caller reusing the key for a different request is refused with a 422;
another caller's use of the same key is a request of its own. A request that failed with a 5xx
frees its key so the client can retry.

A reservation is a lease that the running request renews: if its process dies, the lease lapses
within ``LEASE_SECONDS`` and a resend takes the request over and runs it again. A workflow update
is sent under an id derived from the caller, the key and the request (``request_update_id``), so
the rerun reattaches to the update the dead process started and answers with its result.

The records share no transaction with what the request does, so on SQLite they live in a file of
their own next to the database (``paydraw-requests.db``): their writes, two per request, then never
queue behind the worker's for the database's one write lock.
"""

import asyncio
import contextlib
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import Engine, Table, and_, bindparam, delete, insert, inspect, or_, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paydraw.db.engine import companion_engine
from paydraw.db.tables import IdempotencyRecord, new_id, utcnow

HEADER = b"idempotency-key"
METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WAIT_FOR_FIRST_SECONDS = 30.0
# A running request renews its lease every RENEW_SECONDS; one not renewed for LEASE_SECONDS was
# held by a process that died, and a resend takes it over.
LEASE_SECONDS = 15.0
RENEW_SECONDS = 5.0
# Reservations made before leases existed lapse this long after they were made: longer than any
# request waits for its answer (api.process.ANSWER_WAIT_SECONDS).
UNLEASED_LAPSE = timedelta(seconds=120)

# Every request with a key runs these writes: built once, as plain table statements, they cost
# the database's time and little of SQLAlchemy's.
RECORDS: Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
RESERVE = insert(RECORDS)
MINE = and_(
    RECORDS.c.principal == bindparam("mine_principal"), RECORDS.c.key == bindparam("mine_key")
)
HELD = and_(MINE, RECORDS.c.state == "in_progress")
KEEP = (
    update(RECORDS)
    .where(MINE)
    .values(state="done", status_code=bindparam("answer_status"), response_body=bindparam("answer"))
)
FREE = delete(RECORDS).where(MINE)
RENEW = update(RECORDS).where(HELD).values(held_until=bindparam("lease_end"))
TAKE_OVER = (
    update(RECORDS)
    .where(
        HELD,
        or_(
            RECORDS.c.held_until < bindparam("now"),
            and_(RECORDS.c.held_until.is_(None), RECORDS.c.created_at < bindparam("unleased")),
        ),
    )
    .values(held_until=bindparam("lease_end"))
)
record_id = new_id("idm")


def caller_of(authorization: bytes) -> str:
    """Who sends a request, as far as its keys go: a digest of its credentials."""
    return hashlib.sha256(authorization).hexdigest()


def request_fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), query, body])).hexdigest()


def without_boundary(content_type: bytes, body: bytes) -> bytes:
    """A multipart body (an upload) with its boundary replaced by a fixed one: a client picks a
    new random boundary for every send, and a resend of the same file is the same request."""
    kind, _, parameters = content_type.partition(b";")
    if kind.strip().lower() != b"multipart/form-data":
        return body
    for parameter in parameters.split(b";"):
        name, _, value = parameter.strip().partition(b"=")
        if name.lower() == b"boundary" and value.strip(b'"'):
            return body.replace(b"--" + value.strip(b'"'), b"--boundary")
    return body


def request_update_id(principal: str, key: str, fingerprint: str) -> str:
    """The workflow update id of a caller's request sent with ``key``: Temporal deduplicates
    update ids per workflow, across callers and verbs, so the id carries all three."""
    digest = hashlib.sha256("\n".join([principal, key, fingerprint]).encode()).hexdigest()
    return f"request-{digest[:40]}"


def lease_end() -> datetime:
    return utcnow() + timedelta(seconds=LEASE_SECONDS)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = companion_engine(engine, "requests")
        if self.engine is not engine:
            create_records_table(self.engine)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        if scope["type"] != "http" or scope["method"] not in METHODS or HEADER not in headers:
            await self.app(scope, receive, send)
            return
        key = headers[HEADER].decode("latin-1").strip()
        if not 0 < len(key) <= 200:
            await send_json(send, 422, invalid_key("must be 1 to 200 characters"))
            return
        body = await read_body(receive)
        principal = caller_of(headers.get(b"authorization", b""))
        fingerprint = request_fingerprint(
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            without_boundary(headers.get(b"content-type", b""), body),
        )
        scope.setdefault("state", {})["update_id"] = request_update_id(principal, key, fingerprint)

        reserved = await anyio.to_thread.run_sync(self.reserve, principal, key, fingerprint)
        if reserved or await self.wait_for_first(send, principal, key, fingerprint):
            await self.run_holding(scope, body, send, principal, key)

    async def run_holding(
        self, scope: Scope, body: bytes, send: Send, principal: str, key: str
    ) -> None:
        """Run the request while renewing its reservation, then keep its answer or free the key."""
        renewing = asyncio.ensure_future(self.keep_renewing(principal, key))
        try:
            status, response_headers, response_body = await run_captured(self.app, scope, body)
        except BaseException:
            renewing.cancel()
            await anyio.to_thread.run_sync(self.settle, principal, key, 500, b"", False)
            raise
        renewing.cancel()
        keep = status < 500 and status != 401
        await anyio.to_thread.run_sync(self.settle, principal, key, status, response_body, keep)
        await send_raw(send, status, response_headers, response_body)

    def reserve(self, principal: str, key: str, fingerprint: str) -> bool:
        now = utcnow()
        record = {
            "id": record_id(),
            "principal": principal,
            "key": key,
            "fingerprint": fingerprint,
            "state": "in_progress",
            "created_at": now,
            "held_until": now + timedelta(seconds=LEASE_SECONDS),
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(RESERVE, record)
        except IntegrityError:
            return False
        return True

    async def keep_renewing(self, principal: str, key: str) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            renewal = {"mine_principal": principal, "mine_key": key, "lease_end": lease_end()}
            # A renewal that fails (the database busy) is tried again at the next turn; the lease
            # outlasts two of them.
            with contextlib.suppress(OperationalError):
                await anyio.to_thread.run_sync(self.write, RENEW, renewal)

    def take_over(self, principal: str, key: str) -> bool:
        """Take a reservation whose lease lapsed; of racing resends, one wins."""
        now = utcnow()
        values = {
            "mine_principal": principal,
            "mine_key": key,
            "now": now,
            "unleased": now - UNLEASED_LAPSE,
            "lease_end": now + timedelta(seconds=LEASE_SECONDS),
        }
        return self.write(TAKE_OVER, values) == 1

    def write(self, statement: Any, values: dict[str, Any]) -> int:
        with self.engine.begin() as connection:
            return int(connection.execute(statement, values).rowcount)

    def settle(self, principal: str, key: str, status: int, body: bytes, keep: bool) -> None:
        """Keep the answer for repeats, or free the key; one statement either way."""
        mine = {"mine_principal": principal, "mine_key": key}
        with self.engine.begin() as connection:
            if keep:
                connection.execute(KEEP, {**mine, "answer_status": status, "answer": body.decode()})
            else:
                connection.execute(FREE, mine)

    @staticmethod
    def find(session: Session, principal: str, key: str) -> IdempotencyRecord | None:
        query = select(IdempotencyRecord).where(
            IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
        )
        return session.exec(query).first()

    def load(self, principal: str, key: str) -> IdempotencyRecord | None:
        with Session(self.engine) as session:
            return self.find(session, principal, key)

    async def wait_for_first(self, send: Send, principal: str, key: str, fingerprint: str) -> bool:
        """Answer a repeat with the first answer, waiting while the first is still running;
        True when the first's process died and this request takes its place."""
        deadline = anyio.current_time() + WAIT_FOR_FIRST_SECONDS
        while True:
            record = await anyio.to_thread.run_sync(self.load, principal, key)
            if record is not None and record.fingerprint != fingerprint:
                await send_json(send, 422, invalid_key("was already used for a different request"))
                return False
            if record is None:
                # The first failed and freed the key meanwhile: this one runs in its place.
                if await anyio.to_thread.run_sync(self.reserve, principal, key, fingerprint):
                    return True
                continue
            if record.state == "done":
                assert record.status_code is not None and record.response_body is not None
                headers = [
                    (b"content-type", b"application/json"),
                    (b"idempotent-replayed", b"true"),
                ]
                await send_raw(send, record.status_code, headers, record.response_body.encode())
                return False
            if await anyio.to_thread.run_sync(self.take_over, principal, key):
                return True
            if anyio.current_time() > deadline:
                await send_json(
                    send,
                    409,
                    {
                        "error": "in_progress",
                        "message": "a request with this Idempotency-Key is still running",
                    },
                )
                return False
            await asyncio.sleep(0.05)


def create_records_table(engine: Engine) -> None:
    """The table in a file of its own; another API process starting at the same time may win.
    A file made before reservations had leases gets the lease's column."""
    try:
        RECORDS.create(engine, checkfirst=True)
    except OperationalError:
        if not inspect(engine).has_table(RECORDS.name):
            raise
    columns = {column["name"] for column in inspect(engine).get_columns(RECORDS.name)}
    if "held_until" not in columns:
        with contextlib.suppress(OperationalError), engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {RECORDS.name} ADD COLUMN held_until DATETIME"))


def invalid_key(reason: str) -> dict[str, Any]:
    return {
        "error": "invalid_input",
        "message": f"Idempotency-Key: {reason}",
        "errors": [{"field": "Idempotency-Key", "reason": reason}],
    }


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def run_captured(
    app: ASGIApp, scope: Scope, body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the request with its buffered body and collect the whole response."""
    sent = False
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await anyio.sleep_forever()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return status, headers, b"".join(chunks)


async def send_raw(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    headers = [(name, value) for name, value in headers if name.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send_raw(send, status, [(b"content-type", b"application/json")], body)
