"""Request body limits: a body over its limit is refused with 413 before anything keeps it.

One pure ASGI middleware for every request. The limit is small (JIFEN_MAX_BODY_KB) for JSON,
forms and everything else, and the photo limit (JIFEN_MAX_UPLOAD_MB plus room for the form
around the photo) for a multipart post to an upload page. A declared Content-Length over the
limit is refused before the app runs; a body without one (chunked) is counted as it arrives
and refused the moment it passes the limit, so nothing is parsed, spooled or written beyond it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import get_settings

KIB = 1024
MIB = 1024 * KIB
# Room for the self-report's text fields and the multipart framing around the photo.
FORM_SLACK = 256 * KIB
# A refused body is still read (and dropped) up to this much, so a browser gets to show the
# answer instead of a reset connection; beyond it the connection is simply cut.
DRAIN_LIMIT = 64 * MIB


class BodyTooLarge(HTTPException):
    """Raised while the body is read; an HTTPException, so FastAPI's body parsing lets it by."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the limit of {limit // KIB} KB; "
                              "send less.")
        self.limit = limit


# Turns the refusal into the answer: JSON for /api/, a page (or a partial) for people.
Refusal = Callable[[Request, Exception], Awaitable[Response]]


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return b""


def body_limit(scope: Scope, upload_paths: Collection[str]) -> int:
    """The most this request may send, in bytes."""
    settings = get_settings()
    multipart = _header(scope, b"content-type").lower().startswith(b"multipart/form-data")
    if multipart and scope["path"] in upload_paths:
        return settings.max_upload_mb * MIB + FORM_SLACK
    return settings.max_body_kb * KIB


class _Body:
    """What one request has sent so far."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self.upstream = receive
        self.limit = limit
        self.received = 0
        self.finished = False  # the client has sent its last byte: nothing left to drain
        self.refused = False

    async def receive(self) -> Message:
        message = await self.upstream()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.finished = not message.get("more_body", False)
            if self.received > self.limit and not self.refused:
                self.refused = True
                raise BodyTooLarge(self.limit)
        elif message["type"] == "http.disconnect":
            self.finished = True
        return message

    async def drain(self) -> None:
        """Read and drop the rest of the body (up to DRAIN_LIMIT)."""
        while not self.finished and self.received <= DRAIN_LIMIT:
            message = await self.upstream()
            if message["type"] != "http.request":
                return
            self.received += len(message.get("body", b""))
            self.finished = not message.get("more_body", False)


class BodyLimitMiddleware:
    """413 for a body over its limit: up front by Content-Length, or while it streams in.

    Up front the middleware answers itself through `refuse`; while streaming, BodyTooLarge
    goes up from the app's receive() to the app's exception handler, which should call the
    same `refuse`. Either way the rest of the body is drained before the answer goes out.
    """

    def __init__(self, app: ASGIApp, refuse: Refusal,
                 upload_paths: Collection[str] = ()) -> None:
        self.app = app
        self.refuse = refuse
        self.upload_paths = frozenset(upload_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _Body(receive, body_limit(scope, self.upload_paths))
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > body.limit:
            if int(declared) <= DRAIN_LIMIT:
                await body.drain()
            response = await self.refuse(Request(scope), BodyTooLarge(body.limit))
            await response(scope, receive, send)
            return

        async def send_after_draining(message: Message) -> None:
            if message["type"] == "http.response.start" and body.refused:
                await body.drain()
            await send(message)

        await self.app(scope, body.receive, send_after_draining)


class RequestSlots:
    """At most `slots` requests in the app at once per process; the rest wait their turn.

    `slots` is the smaller of the database pool (size plus overflow) and the worker
    threads. A request takes things in one worker-thread hop and gives them back in a later
    one: a pooled connection (taken when it first asks who is calling, given back at the
    commit), SQLite's write lock (BEGIN IMMEDIATE), PostgreSQL row locks. In between it
    waits for a thread again. Were more requests inside than connections, or than threads,
    every thread could be held by a request waiting for a connection or a lock that a
    request waiting for a thread holds: a stall until the pool's or the lock's timeout
    (seen: 40 requests, a pool of 1 and one thread; 20 simultaneous approvals on SQLite
    with 8 threads, 12 answered 503 after 30 s). With no more requests inside than
    either, the holder always gets a thread. Static files and /healthz skip it.
    """

    SKIP = ("/static/", "/docs-assets/", "/healthz")

    def __init__(self, app: ASGIApp, slots: int) -> None:
        self.app = app
        self.slots = slots
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.SKIP):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # made in the server's event loop
            self._semaphore = asyncio.Semaphore(self.slots)
        async with self._semaphore:
            await self.app(scope, receive, send)
