"""Routing by the path's first segments, so a request tries only the routes that could match.

FastAPI tries an included router's routes one by one, twice (once to find the router, once
to pick its route), so `/me` was matched against every API route first, `/healthz`
against every route of both routers (two thirds of its CPU: 1.0 → 0.3 ms), and a score
against every API route before its own (docs/performance.md). `gate_routers` gives each
router the app includes, and each router those include, its heads: the literal segments
its routes start with, as deep as the shallowest route's (`(api,)` beside `(me,)`,
`(committee,)`... for the pages; `(api, v1, members)` for the members' API routes). A
request whose path does not start with one of a router's heads skips it without trying a
route. The order of the routes and what each matches are unchanged: a route whose path
starts with a parameter would match any first segment, so a router holding one is tried
for every path.

It subclasses FastAPI's `_IncludedRouter` (FastAPI 0.165 and later, pyproject.toml):
tests/unit/test_routing.py resolves every route of the app with and without the gate and
fails if a FastAPI upgrade changes what that class does.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import _EffectiveRouteContext, _IncludedRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope


class _GatedRouter(_IncludedRouter):
    """An included router tried only for paths that start as one of its routes does: with
    one of its heads, the literal segments its routes begin with (as many as the route
    with the fewest has, at most MAX_DEPTH). The routers it includes are gated too, each by
    its own heads (`/api/v1/members/...` tries the members' routes, not every API route).
    The heads are made again when routes are added to the router (FastAPI's routes
    version)."""

    _heads: frozenset[tuple[str, ...]] = frozenset()
    _depth: int = 1
    _heads_version: int | None = None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        if head(path, self._depth) not in self._heads:
            version = self.original_router._get_routes_version()
            if version != self._heads_version:  # routes added since the heads were made
                self._depth, self._heads = heads(self)
                self._heads_version = version
            if head(path, self._depth) not in self._heads:
                return Match.NONE, {}
        return super().matches(scope)

    def effective_candidates(self) -> list[_EffectiveRouteContext | _IncludedRouter]:
        candidates = super().effective_candidates()
        for candidate in candidates:  # made again by FastAPI when routes are added
            if type(candidate) is _IncludedRouter:
                candidate.__class__ = _GatedRouter
        return candidates


class _All(frozenset[tuple[str, ...]]):
    """Every head: a route starts with a parameter."""

    def __contains__(self, _head: object) -> bool:
        return True


ALL = _All()
# Three segments tell the API's resources apart (/api/v1/members); deeper heads would gain
# little and cost a longer split on every path.
MAX_DEPTH = 3


def head(path: str, depth: int) -> tuple[str, ...]:
    """The path's first `depth` segments: `/api/v1/members/7`, 3 → (api, v1, members)."""
    return tuple(path[1:].split("/", depth)[:depth])


def _literal_segments(path_format: str) -> list[str]:
    """The segments a route's path starts with before its first parameter."""
    literal = []
    for segment in path_format[1:].split("/"):
        if "{" in segment:
            break
        literal.append(segment)
    return literal


def heads(router: _IncludedRouter) -> tuple[int, frozenset[tuple[str, ...]]]:
    """(depth, the heads of the router's routes at that depth); ALL if a route starts with
    a parameter (it matches any path)."""
    literals = [_literal_segments(context.path_format)
                for context in router.effective_route_contexts()]
    if not literals:
        return 1, frozenset()
    depth = min(MAX_DEPTH, *(len(literal) for literal in literals))
    if depth == 0:
        return 1, ALL
    return depth, frozenset(tuple(literal[:depth]) for literal in literals)


def gate_routers(app: FastAPI) -> int:
    """Gate every router `app` includes; how many. Call it once the app's routers are
    included."""
    gated = 0
    for route in app.router.routes:
        if type(route) is _IncludedRouter:
            route.__class__ = _GatedRouter
            gated += 1
    return gated
