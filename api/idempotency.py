"""``Idempotency-Key`` on every POST: a repeat returns the first answer and changes nothing.

The key is reserved in the database before the request runs (a unique row per caller and key), so
two racing copies of one request cannot both run: the second waits for the first and replays its
answer. A key reused for a different request is refused; a request that failed with a 5xx frees its
key so the client can retry.

The records share no transaction with what the request does, so on SQLite they live in a file of
their own next to the database (``paydraw-requests.db``): their writes, two per POST, then never
queue behind the worker's for the database's one write lock.
"""

import asyncio
import hashlib
import json
from typing import Any

import anyio
from sqlalchemy import Engine, Table, and_, bindparam, delete, insert, inspect, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paydraw.db.engine import companion_engine
from paydraw.db.tables import IdempotencyRecord, new_id, utcnow

HEADER = b"idempotency-key"
WAIT_FOR_FIRST_SECONDS = 30.0

# Every POST runs these two writes: built once, as plain table statements, they cost the
# database's time and little of SQLAlchemy's.
RECORDS: Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
RESERVE = insert(RECORDS)
MINE = and_(
    RECORDS.c.principal == bindparam("mine_principal"), RECORDS.c.key == bindparam("mine_key")
)
KEEP = (
    update(RECORDS)
    .where(MINE)
    .values(state="done", status_code=bindparam("answer_status"), response_body=bindparam("answer"))
)
FREE = delete(RECORDS).where(MINE)
record_id = new_id("idm")


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = companion_engine(engine, "requests")
        if self.engine is not engine:
            create_records_table(self.engine)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        if scope["type"] != "http" or scope["method"] != "POST" or HEADER not in headers:
            await self.app(scope, receive, send)
            return
        key = headers[HEADER].decode("latin-1").strip()
        if not 0 < len(key) <= 200:
            await send_json(send, 422, invalid_key("must be 1 to 200 characters"))
            return
        body = await read_body(receive)
        principal = hashlib.sha256(headers.get(b"authorization", b"")).hexdigest()
        fingerprint = hashlib.sha256(
            b"\n".join([scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()

        reserved = await anyio.to_thread.run_sync(self.reserve, principal, key, fingerprint)
        if not reserved:
            await self.replay(send, principal, key, fingerprint)
            return
        try:
            status, response_headers, response_body = await run_captured(self.app, scope, body)
        except BaseException:
            await anyio.to_thread.run_sync(self.settle, principal, key, 500, b"", False)
            raise
        keep = status < 500 and status != 401
        await anyio.to_thread.run_sync(self.settle, principal, key, status, response_body, keep)
        await send_raw(send, status, response_headers, response_body)

    def reserve(self, principal: str, key: str, fingerprint: str) -> bool:
        record = {
            "id": record_id(),
            "principal": principal,
            "key": key,
            "fingerprint": fingerprint,
            "state": "in_progress",
            "created_at": utcnow(),
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(RESERVE, record)
        except IntegrityError:
            return False
        return True

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

    async def replay(self, send: Send, principal: str, key: str, fingerprint: str) -> None:
        """Answer a repeat with the first answer, waiting while the first is still running."""
        deadline = anyio.current_time() + WAIT_FOR_FIRST_SECONDS
        while True:
            record = await anyio.to_thread.run_sync(self.load, principal, key)
            if record is not None and record.fingerprint != fingerprint:
                await send_json(send, 422, invalid_key("was already used for a different request"))
                return
            if record is not None and record.state == "done":
                assert record.status_code is not None and record.response_body is not None
                headers = [
                    (b"content-type", b"application/json"),
                    (b"idempotent-replayed", b"true"),
                ]
                await send_raw(send, record.status_code, headers, record.response_body.encode())
                return
            if anyio.current_time() > deadline:
                await send_json(
                    send,
                    409,
                    {
                        "error": "in_progress",
                        "message": "a request with this Idempotency-Key is still running",
                    },
                )
                return
            await asyncio.sleep(0.05)


def create_records_table(engine: Engine) -> None:
    """The table in a file of its own; another API process starting at the same time may win."""
    try:
        RECORDS.create(engine, checkfirst=True)
    except OperationalError:
        if not inspect(engine).has_table(RECORDS.name):
            raise


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
