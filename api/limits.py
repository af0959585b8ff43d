"""A cap on the size of a request's body: a larger one is refused with 413 before any of it is
kept, whether it says its length up front or streams it. An upload of a backup document (a POST
to a path ending in ``/attachments``) may be as large as the per-file cap allows, plus room for
the form around it; the attachments service then refuses a file over the cap by name."""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
UPLOAD_SUFFIX = "/attachments"


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, upload_max_bytes: int = 0
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = max(max_bytes, upload_max_bytes + MAX_BODY_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes
        if scope["method"] == "POST" and scope["path"].endswith(UPLOAD_SUFFIX):
            max_bytes = self.upload_max_bytes
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self.refuse(send, max_bytes)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise BodyTooLarge
            return message

        async def noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, noting_start)
        except BodyTooLarge:
            if not started:
                await self.refuse(send, max_bytes)

    async def refuse(self, send: Send, max_bytes: int) -> None:
        limit = f"{max_bytes // 1024} KiB"
        body = json.dumps(
            {
                "error": "too_large",
                "message": f"the request body is larger than {limit}",
                "errors": [{"field": "body", "reason": f"at most {limit}"}],
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
