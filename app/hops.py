"""A request's blocking work in one hop to a worker thread, not three or four.

FastAPI runs every plain (`def`) endpoint in a worker thread, and then, in another hop, the
validation of what it returned against its response model; the request's session
(app/db.py) takes a third to end its transaction. Each hop wakes a thread, hands it the
GIL and wakes the event loop again: the score API made four, and the server's CPU for it
fell by 7 %, `/healthz`'s by a third, when they went (docs/performance.md, round two, part
five). `one_hop` makes each plain endpoint a coroutine that runs the
endpoint in one worker thread and, for a request that only reads (its session on the
read-only engine: GET, HEAD), ends that transaction there too, right after the endpoint
returns; the response model is then checked on the event loop, as for any coroutine
endpoint (no I/O: pydantic on the values the endpoint returned).

What is unchanged: the endpoint's signature (so its parameters, dependencies and OpenAPI
entry), where an error goes, and every write: a request that may write keeps its commit at
the session's end, after the route's answer is known, so an Idempotency-Key's answer is
stored in the same transaction as the work (app/api/idempotency.py). A read's commit only
releases its snapshot; the answer is made from values already read (the session does not
expire them on commit), and a read that fails is rolled back in the thread, as before.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute, _IncludedRouter
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.db import READ_ONLY


def one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A coroutine doing `endpoint`'s work in one worker thread (the endpoint itself if it
    is a coroutine already, or anything but a plain function)."""
    if not inspect.isfunction(endpoint) or inspect.iscoroutinefunction(endpoint) \
            or inspect.isgeneratorfunction(endpoint) or inspect.isasyncgenfunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)  # the signature FastAPI reads is the endpoint's
    async def hopping(**values: Any) -> Any:
        return await run_in_threadpool(_run, endpoint, values)

    return hopping


def _run(endpoint: Callable[..., Any], values: dict[str, Any]) -> Any:
    reading = [value for value in values.values()
               if isinstance(value, Session) and _reads_only(value)]
    try:
        answer = endpoint(**values)
    except BaseException:
        for session in reading:
            # The endpoint's error is the one to answer; a rollback that fails too (the
            # database gone) is tried again, and the session closed, at the session's end.
            with contextlib.suppress(Exception):
                session.rollback()
        raise
    # Ended, not closed: the answer's check may still read an attribute not yet loaded,
    # which begins a new transaction, which the session's end then commits (in a hop).
    for session in reading:
        session.commit()
    return answer


def _reads_only(session: Session) -> bool:
    bind = session.bind
    return bind is not None and bool(bind.get_execution_options().get(READ_ONLY, False))


def in_one_hop(router: APIRouter) -> int:
    """Make every plain endpoint of `router`, and of the routers it includes, one hop; how
    many. Call it before the router is included in the app (which builds each route's
    handler from its endpoint); calling it again changes nothing."""
    changed = 0
    for route in _api_routes(router):
        wrapped = one_hop(route.endpoint)
        if wrapped is not route.endpoint:
            route.endpoint = wrapped
            route.dependant.call = wrapped
            changed += 1
    return changed


def _api_routes(router: APIRouter) -> Iterator[APIRoute]:
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        elif isinstance(route, _IncludedRouter):
            yield from _api_routes(route.original_router)
