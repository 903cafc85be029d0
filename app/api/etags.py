"""ETags of /api/v1's JSON answers: If-None-Match (304) on reads, If-Match (412) on changes.

An ETag is a strong validator of the JSON value answered: the SHA-256 of the value written
canonically (keys sorted, no spaces), so it is the same whichever way a route serialized it,
and the same for a PATCH/PUT's check, which computes the current representation with the
GET's own shaping function (`IfMatch.guard`), as for an answer (`tagged`). The value may
differ by caller (a committee sees more): so may its ETag.

If-Match is checked by the service, under the lock that its change takes
(app/services/locking.py), before anything is checked or changed: no change can land
between the check and the write. Without If-Match a change is made as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from starlette.responses import Response

from app.services.errors import PreconditionFailed
from app.services.locking import Precondition

# Bodies larger than this are hashed in a worker thread, off the event loop.
_INLINE_BYTES = 64 * 1024
# What a 304 keeps of the 200 it stands for (RFC 9110, 15.4.5).
_NOT_MODIFIED_KEEPS = ("cache-control", "content-location", "vary", "expires")


def etag_of(value: object) -> str:
    """The strong ETag of a JSON value (128 bits of its canonical form's SHA-256)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def etag_of_model(model: BaseModel) -> str:
    """The ETag of a model as a route answers it (by alias, as FastAPI serializes)."""
    return etag_of(model.model_dump(mode="json", by_alias=True))


def etag_of_body(body: bytes) -> str | None:
    try:
        return etag_of(json.loads(body))
    except ValueError:
        return None


def _listed(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _opaque(tag: str) -> str:
    """The tag's opaque part; an unquoted one is taken as if quoted (a lenient read)."""
    tag = tag.removeprefix("W/")
    return tag if tag.startswith('"') else f'"{tag}"'


def none_match(header: str | None, etag: str) -> bool:
    """If-None-Match names the current ETag (weak comparison, RFC 9110 13.1.2), or is *."""
    if header is None:
        return False
    tags = _listed(header)
    return "*" in tags or any(_opaque(tag) == etag for tag in tags)


def strong_match(header: str, etag: str | None) -> bool:
    """If-Match holds (RFC 9110 13.1.1): * and a current representation, or a strong tag
    equal to its ETag. A weak tag never matches."""
    tags = _listed(header)
    if etag is None:
        return False
    return "*" in tags or any(not tag.startswith("W/") and _opaque(tag) == etag
                              for tag in tags)


IF_MATCH_DESCRIPTION = (
    "Optional, and recommended: the ETag of the resource as last read (its GET, or the answer "
    "of the last change). When it is no longer the current one (someone changed it since), "
    "412 `precondition_failed` and nothing is changed; `*` asks only that it exists. Without "
    "it the change is made whatever happened since.")


@dataclass(frozen=True)
class IfMatch:
    """A PATCH/PUT's If-Match, for the service to check under its lock."""

    header: str | None

    def guard(self, current: Callable[[], BaseModel | None]) -> Precondition | None:
        """The check to run under the lock (None without If-Match): `current` shapes the
        resource as its GET answers it now (None: it does not exist)."""
        header = self.header
        if header is None:
            return None

        def unchanged() -> None:
            now = current()
            if not strong_match(header, None if now is None else etag_of_model(now)):
                raise PreconditionFailed(
                    "The resource changed since you read it (If-Match names another ETag) "
                    "or does not exist: nothing was changed. Read it again (GET), then send "
                    "the change with its new ETag.")

        return unchanged


async def if_match(value: Annotated[str | None, Header(
        alias="If-Match", description=IF_MATCH_DESCRIPTION)] = None) -> IfMatch:
    return IfMatch(value)


IfMatchDep = Annotated[IfMatch, Depends(if_match)]

IF_NONE_MATCH_DESCRIPTION = (
    "Optional: the ETag of the answer already held; when it is still the current one, 304 "
    "Not Modified without a body.")


async def if_none_match(value: Annotated[str | None, Header(
        alias="If-None-Match", description=IF_NONE_MATCH_DESCRIPTION)] = None) -> None:
    """Declares If-None-Match on a read (the answer is compared by `tagged`)."""


IfNoneMatchDep = Depends(if_none_match)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def tagged(handler: Handler) -> Handler:
    """A GET, PATCH or PUT route's handler whose JSON answer (2xx) carries its ETag; a GET's
    is 304 when If-None-Match names it."""

    async def answer(request: Request) -> Response:
        response = await handler(request)
        body = getattr(response, "body", None)
        if not 200 <= response.status_code < 300 or not isinstance(body, bytes) or not body \
                or "json" not in response.headers.get("content-type", ""):
            return response
        etag = etag_of_body(body) if len(body) <= _INLINE_BYTES else \
            await run_in_threadpool(etag_of_body, body)
        if etag is None:
            return response
        response.headers["ETag"] = etag
        if request.method == "GET" and response.status_code == 200 and \
                none_match(request.headers.get("if-none-match"), etag):
            kept = {k: v for k, v in response.headers.items()
                    if k.lower() in _NOT_MODIFIED_KEEPS}
            return Response(status_code=304, headers={**kept, "ETag": etag})
        return response

    return answer
