"""Safe retries on every /api/v1 route (docs/api/retries.md): Idempotency-Key on the POSTs,
ETag and If-None-Match on the reads, ETag and If-Match on the PATCH/PUTs.

`prepare` readies a module's router before it is included: each route answers through
`ApiRoute` (its handler wrapped, FastAPI's documented way to see a route's response), the
POSTs take the key's dependency, the reads declare If-None-Match, and every route's OpenAPI
entry says the headers and answers this adds. The PATCH/PUT routes declare If-Match
themselves (app/api/etags.IfMatchDep): each hands it to its service, which checks it under
its lock.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from app.api.deps import REPLAYED, errors
from app.api.etags import IfNoneMatchDep, tagged
from app.api.idempotency import IdempotencyKeyDep, settled


class ApiRoute(APIRoute):
    """A route of /api/v1: a POST settles its Idempotency-Key, a GET, PATCH or PUT answers
    its ETag."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        methods = self.methods or set()
        if "POST" in methods:
            return settled(handler)
        if methods & {"GET", "PATCH", "PUT"}:
            return tagged(handler)
        return handler


_ETAG_HEADER = {"ETag": {"description": "The strong validator of the answered resource, for "
                         "If-None-Match on its GET and If-Match on its PATCH/PUT.",
                         "schema": {"type": "string"}}}
_REPLAYED_HEADER = {REPLAYED: {
    "description": "`true` on an answer sent again: an Idempotency-Key's stored answer, or an "
                   "import confirmed again; nothing was done for this request.",
    "schema": {"type": "string", "examples": ["true"]}}}
_IN_PROGRESS = ("`idempotency_in_progress`: a request with this Idempotency-Key is still "
                "running; send it again after Retry-After seconds.")
_REUSED = ("`idempotency_key_reused`: this Idempotency-Key was first sent with another "
           "request; an Idempotency-Key header that is empty or longer than 255 characters "
           "is `validation_error`.")


def _success(route: APIRoute) -> int:
    return route.status_code or 200


def _with_headers(responses: dict[int | str, dict[str, Any]], status: int,
                  headers: dict[str, Any]) -> None:
    given = responses.get(status, {})
    responses[status] = {**given, "headers": {**given.get("headers", {}), **headers}}


def _also(responses: dict[int | str, dict[str, Any]], status: int, said: str) -> None:
    """The status's documented answer, saying one more code it may carry."""
    given = responses.get(status) or errors(status)[status]
    before = str(given.get("description", "")).rstrip(".")
    responses[status] = {**given, "description": f"{before}. Also {said}"}


def prepare(router: APIRouter) -> None:
    """Ready a module's routes before inclusion (which builds their handlers and schemas)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        route.__class__ = ApiRoute
        methods = route.methods or set()
        # A new dict: a route's responses may be shared with others (one constant).
        responses = dict(route.responses)
        if "POST" in methods:
            route.dependencies.append(IdempotencyKeyDep)
            _with_headers(responses, _success(route), _REPLAYED_HEADER)
            _also(responses, 409, _IN_PROGRESS)
            _also(responses, 422, _REUSED)
        elif "GET" in methods and route.response_model is not None:
            route.dependencies.append(IfNoneMatchDep)
            _with_headers(responses, 200, _ETAG_HEADER)
            # 304 is said by If-None-Match's description, not as an answer: a generator
            # types an answer without a body as Any, and every read would return Any.
            # A route with a parameter may answer 422 (FastAPI documents it so): ours.
            responses.setdefault(422, errors(422)[422])
        elif methods & {"PATCH", "PUT"}:
            _with_headers(responses, _success(route), _ETAG_HEADER)
            responses.update(errors(412, codes={412: ("precondition_failed",)}))
        route.responses = responses
