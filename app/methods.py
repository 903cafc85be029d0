"""What each path answers to: OPTIONS says it, and so does every 405 (the Allow header).

Starlette answers a wrong method with the Allow of the first route it found for the path,
so /api/v1/entries (two routes: GET the list, POST a new one) said `Allow: POST`, and
OPTIONS, routed nowhere, got that same wrong 405. Here the router itself is asked, method by
method, which ones it would hand to an endpoint (through the routes' `matches`, the question
it asks when it dispatches), so the answer cannot drift from the routes.

OPTIONS on a path that has routes is answered 204 with Allow (RFC 9110, 9.3.7), before any
login: it says only what the OpenAPI document says too. A browser's CORS preflight to
/api/v1 from an origin JIFEN_CORS_ORIGINS lists is answered before this (app/cors.py); the
pages are served from one origin and never answer one. HEAD is answered
wherever GET is (RFC 9110, 9.1: FastAPI's GET routes take no HEAD): the GET, without its
body.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PROBED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_STATIC = frozenset({"GET", "HEAD"})  # what StaticFiles serves; it answers 405 to the rest


def allowed_methods(router: Router, scope: Scope) -> set[str]:
    """The methods the router dispatches to an endpoint for this scope's path (empty: no
    route has the path); OPTIONS among them, answered here."""
    allowed: set[str] = set()
    for method in _PROBED:
        if method == "HEAD" and "GET" in allowed:
            allowed.add("HEAD")  # answered here, as the GET without its body
            continue
        route = _route_for(router, scope, method)
        if route is not None and (not (isinstance(route, Mount)
                                       and isinstance(route.app, StaticFiles))
                                  or method in _STATIC):
            allowed.add(method)
    return (allowed | {"OPTIONS"}) if allowed else allowed


def _route_for(router: Router, scope: Scope, method: str) -> BaseRoute | None:
    """The route the router would hand this path and method to, as it picks it: the first
    that matches fully."""
    probe = {**scope, "method": method}
    return next((r for r in router.routes if r.matches(probe)[0] is Match.FULL), None)


def allow_header(methods: set[str]) -> str:
    return ", ".join(sorted(methods))


class AllowedMethods:
    """OPTIONS answered with the path's Allow, HEAD as the GET without its body, and every
    405 given the path's whole Allow."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            allowed = allowed_methods(self.router, scope)
            if allowed:
                await Response(status_code=204, headers={"Allow": allow_header(allowed)})(
                    scope, receive, send)
                return  # else no route has the path: the app's 404
        if scope["method"] == "HEAD" and _get_only(self.router, scope):
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
            return

        asked = dict(scope)  # as it came: routing updates the scope (a mount's root_path)

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = allowed_methods(self.router, asked)
                if allowed:
                    MutableHeaders(scope=message)["Allow"] = allow_header(allowed)
            await send(message)

        await self.app(scope, receive, send_with_allow)


def _get_only(router: Router, scope: Scope) -> bool:
    """A route takes GET for this path but none takes HEAD."""
    return _route_for(router, scope, "GET") is not None and \
        _route_for(router, scope, "HEAD") is None


def _without_body(send: Send) -> Send:
    """The answer's status and headers (its Content-Length too), no body: a HEAD's."""
    async def send_head(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
        elif not message.get("more_body", False):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    return send_head
