"""CORS for the JSON API, for the web origins JIFEN_CORS_ORIGINS names (none by default).

A page served from another origin (a city platform's H5 page, a mini-program's web-view) may
call /api/v1 from a browser with a bearer token. Never the pages (/login, /me, ...): they
run on the session cookie, which no other origin may use; and no cookie is allowed across
origins on /api/v1 either (no Access-Control-Allow-Credentials), so a listed origin gets
nothing a bearer token does not already give it.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import problem

API_PREFIX = "/api/v1/"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# What a client sends beyond the safelisted headers: its token, a JSON body's type, and the
# safe-retry headers (Idempotency-Key on a POST, If-Match and If-None-Match on a resource).
REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match",
                   "If-None-Match")
# What a script may read of an answer beyond the safelisted ones.
EXPOSED_HEADERS = ("ETag", "Retry-After", "Idempotent-Replayed", "Location")
PREFLIGHT_SECONDS = 600
# The path of the preflight being answered: a refusal's `instance`.
_path: ContextVar[str] = ContextVar("cors_path", default=API_PREFIX)


class _ApiCors(CORSMiddleware):
    """Starlette's CORS, a refused preflight answered as the API's errors are (problem
    details with a code) rather than plain text."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _path.set(scope["path"])
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        refused = bytes(response.body).decode()  # "Disallowed CORS origin, headers"
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() not in ("content-type", "content-length")}
        # Which origins are open is the operator's to know (JIFEN_CORS_ORIGINS), not told
        # to whichever page asks.
        return problem(_path.get(), 400,
                       f"{refused}: this API answers pages of the origins its operator "
                       f"configured, with methods {', '.join(METHODS)} and request headers "
                       f"{', '.join(REQUEST_HEADERS)}.", "cors_refused", headers)


class ApiCors:
    """CORS on /api/v1/ only; every other path passes untouched (no CORS header ever)."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = _ApiCors(app, allow_origins=origins, allow_methods=METHODS,
                             allow_headers=REQUEST_HEADERS, expose_headers=EXPOSED_HEADERS,
                             allow_credentials=False, max_age=PREFLIGHT_SECONDS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
