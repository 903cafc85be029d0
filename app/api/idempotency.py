"""Idempotency-Key on the POSTs of /api/v1: whose key, what was asked, and the answer kept.

Three pieces, each where it sees what it needs (docs/api/retries.md):

- `RequestDigest`, an ASGI middleware, hashes the body of a POST that carries the header as
  the app reads it (JSON, forms and multipart uploads alike, never held in memory).
- `idempotency_key`, a dependency of every POST route, claims the key before anything else
  of the request runs (app/services/idempotency.py), or answers with the stored answer.
- `settled`, around the route's handler (app/api/retries.py), stores the answer in the
  request's transaction before it commits, or, for a refusal, once its work is undone.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from email.message import Message as MimeMessage
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import REPLAYED, credential_caller
from app.clock import ClockDep
from app.db import SessionDep
from app.security import read_token
from app.services import idempotency
from app.services.idempotency import Answer, Claim

log = logging.getLogger("jifen")

API_PREFIX = "/api/v1/"
HEADER = "Idempotency-Key"
MAX_KEY = 255
_DIGEST = "jifen.request_digest"  # the scope's BodyDigest
_CLAIM = "idempotency_claim"  # the request.state attribute holding this request's Claim
# What a replay says again besides the status and body; the rest (dates, the request id,
# security headers) is the replay's own.
KEPT_HEADERS = frozenset({"content-type", "location", "content-disposition", "etag",
                          "content-language", "link"})
# Refusals that ask the client to do something and send the request again: never kept, so
# the request runs when it comes back.
TRY_AGAIN_CODES = frozenset({"password_change_required", "concurrent_change",
                             "invalid_token", "not_authenticated"})


def caller_of(authorization: str | None, now: datetime) -> str | None:
    """Whose key this is: the account of a valid bearer token (the same across its logins);
    for any other credential (an API key), a hash of the whole header, so only the holder of
    the whole secret shares its keys. None without credentials, or with a token that is not
    valid: the key is not used.

    No I/O: a token is only read (signature and expiry); a refused credential is answered 401
    by the route as usual, and a 401 is never kept."""
    if not authorization or not authorization.strip():
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() == "bearer" and credential.count(".") == 2:  # a token (a JWT)
        claims = read_token(credential, now)
        # Expired or forged: the route answers 401, which is never kept.
        return f"account:{claims.account_id}" if claims else None
    return "credential:" + hashlib.sha256(authorization.encode("utf-8", "replace")).hexdigest()


class BodyDigest:
    """SHA-256 of a request: method, path, query, media type and the body as it streams in.

    A multipart body's boundary is random per send in most clients (httpx, requests,
    browsers), so each of its delimiters is hashed as one fixed string: the same form sent
    again has the same digest."""

    def __init__(self, scope: Scope) -> None:
        self._hash = hashlib.sha256()
        self.finished = False
        media, boundary = _media_type(scope)
        self._delimiter = b"--" + boundary if boundary else b""
        self._pending = b""
        for part in (scope["method"].encode(), scope["path"].encode("utf-8", "replace"),
                     bytes(scope.get("query_string", b"")), media):
            self._hash.update(b"%d:%s\n" % (len(part), part))

    def update(self, chunk: bytes, more: bool) -> None:
        if self._delimiter:
            chunk = self._normalised(chunk)
        self._hash.update(chunk)
        if not more:
            self._hash.update(self._pending)
            self._pending = b""
            self.finished = True

    def _normalised(self, chunk: bytes) -> bytes:
        """The chunk with each delimiter replaced; a tail that may begin one is held back
        until the next chunk shows whether it does."""
        parts = (self._pending + chunk).split(self._delimiter)
        keep = len(self._delimiter) - 1
        last = parts[-1]
        self._pending = last[-keep:] if keep and len(last) > keep else last
        parts[-1] = last[:len(last) - len(self._pending)]
        return b"--multipart-boundary".join(parts)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _media_type(scope: Scope) -> tuple[bytes, bytes]:
    """The request's media type (lower case, no parameters) and its multipart boundary."""
    raw = next((v for k, v in scope.get("headers", ()) if k.lower() == b"content-type"), b"")
    parsed = MimeMessage()
    parsed["content-type"] = raw.decode("latin-1")
    boundary = parsed.get_param("boundary") if raw else None
    media = raw.split(b";", 1)[0].strip().lower()
    return media, (str(boundary).encode("latin-1") if isinstance(boundary, str) and
                   media.startswith(b"multipart/") else b"")


class RequestDigest:
    """Hashes the body of each POST under /api/v1 that carries an Idempotency-Key, as the app
    receives it; the digest is in the scope for `idempotency_key`. Other requests pass by."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or \
                not scope["path"].startswith(API_PREFIX) or \
                not any(k.lower() == b"idempotency-key" for k, _ in scope.get("headers", ())):
            await self.app(scope, receive, send)
            return
        digest = scope[_DIGEST] = BodyDigest(scope)

        async def hashing() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not digest.finished:
                digest.update(message.get("body", b""), message.get("more_body", False))
            return message

        await self.app(scope, hashing, send)


class Replay(Exception):
    """Raised by `idempotency_key` to answer the request with its key's stored answer."""

    def __init__(self, answer: Answer) -> None:
        super().__init__("replay")
        self.answer = answer


KEY_DESCRIPTION = (
    "Optional: a unique value (e.g. a UUID) per operation, 1 to 255 printable ASCII "
    "characters. Sent again with the same request within 24 hours, the first answer is "
    "answered again (with `Idempotent-Replayed: true`) and nothing is done again; with "
    "another request, 422 `idempotency_key_reused`; while the first still runs, 409 "
    "`idempotency_in_progress` (Retry-After). See docs/api/retries.md.")


async def idempotency_key(
    request: Request, session: SessionDep, clock: ClockDep,
    key: Annotated[str | None, Header(alias=HEADER, min_length=1, max_length=MAX_KEY,
                                      pattern=r"^[\x20-\x7e]+$",
                                      description=KEY_DESCRIPTION)] = None,
) -> None:
    """Claim the request's Idempotency-Key before the route does anything (a dependency of
    every POST under /api/v1), or answer with the key's stored answer (Replay)."""
    if key is None:
        return
    caller = caller_of(request.headers.get("authorization"), clock.now())
    digest = request.scope.get(_DIGEST)
    if caller is None or not isinstance(digest, BodyDigest):
        return  # no credentials (logging in): nobody to keep the key for
    if not digest.finished:
        await request.body()  # a route that takes no body: read it, for the digest
    found = await run_in_threadpool(idempotency.claim, session, caller, key,
                                    digest.hexdigest(), clock.now())
    if isinstance(found, Answer):
        # Only to a credential still admitted: a revoked key or a logged-out token gets
        # nothing again, as it would get nothing new.
        await run_in_threadpool(_still_admitted, request, session, clock.now())
        raise Replay(found)
    setattr(request.state, _CLAIM, found)


def _still_admitted(request: Request, session: SessionDep, now: datetime) -> None:
    """401 `invalid_token` unless the request's credential is one the routes accept now."""
    _, _, credential = (request.headers.get("authorization") or "").strip().partition(" ")
    credential_caller(session, credential.strip(), now)


def replayed(answer: Answer) -> Response:
    headers = dict(answer.headers) | {REPLAYED: "true"}
    return Response(answer.body, status_code=answer.status, headers=headers)


def _kept(response: Response) -> Answer | None:
    """What is stored of an answer, or None for an answer a retry must not get again: a 5xx
    or 429 (the client may try again), a refusal that asks it to act and try again (a login,
    a password change first, a lost race), an answer holding a secret (no-store), or one
    that streams (a file)."""
    status = response.status_code
    body = getattr(response, "body", None)
    if status >= 500 or status in (401, 429) or not isinstance(body, bytes) or \
            "retry-after" in response.headers or \
            "no-store" in response.headers.get("cache-control", "").lower():
        return None
    if status >= 400 and _code(body) in TRY_AGAIN_CODES:
        return None
    headers = [(k, v) for k, v in response.headers.items() if k.lower() in KEPT_HEADERS]
    return Answer(status, headers, body)


def _code(body: bytes) -> object:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("code") if isinstance(parsed, dict) else None


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


async def _handled(request: Request, error: Exception) -> Response | None:
    """The answer the app's exception handlers give the error (as Starlette would give it
    once the route has raised), or None when none handles it (a 500)."""
    handlers = request.app.exception_handlers
    for kind in type(error).__mro__:
        handler = handlers.get(kind)
        if handler is not None:
            response = handler(request, error)
            if inspect.isawaitable(response):
                response = await response
            assert isinstance(response, Response)
            return response
    return None


def settled(handler: Handler) -> Handler:
    """A POST route's handler that answers a replay, and settles the request's claim on its
    key: the answer stored in the request's transaction (or, refused, once its work is undone:
    the refusal is answered here rather than by the app, so it can be stored)."""

    async def answer(request: Request) -> Response:
        try:
            response = await handler(request)
        except Replay as replay:
            return replayed(replay.answer)
        except Exception as error:
            claim: Claim | None = getattr(request.state, _CLAIM, None)
            if claim is None:
                raise
            refusal = await _handled(request, error)
            if refusal is None:
                await _release(claim)
                raise
            try:
                await run_in_threadpool(idempotency.settle, claim, _kept(refusal),
                                        rolled_back=True)
            except Exception:
                # The database failed (its primary lost): answered as that failure (503), and
                # the key released once the database answers again (only while it is ours).
                idempotency.release_later(claim)
                raise
            return refusal
        claim = getattr(request.state, _CLAIM, None)
        if claim is not None:
            await run_in_threadpool(idempotency.settle, claim, _kept(response))
        return response

    return answer


async def _release(claim: Claim) -> None:
    try:
        await run_in_threadpool(idempotency.release, claim)
    except Exception:  # the database failed too: released once it answers again
        log.exception("could not release an idempotency claim")
        idempotency.release_later(claim)


IdempotencyKeyDep = Depends(idempotency_key)
