"""Routing by the path's first segment, so a request tries only the routes that could match.

FastAPI tries an included router's routes one by one, twice (once to find the router, once
to pick its route), so `/me` was matched against every API route first and `/healthz`
against every route of both routers: two thirds of `/healthz`'s CPU (1.0 → 0.3 ms) and a
few per cent of a member page's or a score's (bench/cpu.py, docs/performance.md). `gate_routers`
gives each router the app includes the set of first path segments its routes start with
(`api` for /api/v1/..., `me`, `committee`, `login`... for the pages); a request whose
first segment is not in the set skips that router without trying a route. The order of
the routes and what each matches are unchanged: a route whose path starts with a
parameter would match any first segment, so a router holding one is tried for every path.

It subclasses FastAPI's `_IncludedRouter` (FastAPI 0.165 and later, pyproject.toml):
tests/unit/test_routing.py resolves every route of the app with and without the gate and
fails if a FastAPI upgrade changes what that class does.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import _IncludedRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope


class _GatedRouter(_IncludedRouter):
    """An included router tried only for paths whose first segment one of its routes has.
    The set is made again when routes are added to the router (FastAPI's routes version)."""

    _first_segments: frozenset[str] = frozenset()
    _segments_version: int | None = None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        segment = first_segment(get_route_path(scope))
        if segment not in self._first_segments:
            version = self.original_router._get_routes_version()
            if version != self._segments_version:  # routes added since the set was made
                self._first_segments, self._segments_version = first_segments(self), version
            if segment not in self._first_segments:
                return Match.NONE, {}
        return super().matches(scope)


class _All(frozenset[str]):
    """Every first segment: a route starts with a parameter."""

    def __contains__(self, _segment: object) -> bool:
        return True


ALL = _All()


def first_segment(path: str) -> str:
    """`/api/v1/members` → `api`; `/me` → `me`; `/` → ``."""
    return path[1:].split("/", 1)[0]


def first_segments(router: _IncludedRouter) -> frozenset[str]:
    """The first segments the router's routes start with; ALL if one starts with a
    parameter (it matches any)."""
    segments = frozenset(first_segment(context.path_format)
                         for context in router.effective_route_contexts())
    return ALL if any("{" in segment for segment in segments) else segments


def gate_routers(app: FastAPI) -> int:
    """Gate every router `app` includes; how many. Call it once the app's routers are
    included."""
    gated = 0
    for route in app.router.routes:
        if type(route) is _IncludedRouter:
            route.__class__ = _GatedRouter
            gated += 1
    return gated
