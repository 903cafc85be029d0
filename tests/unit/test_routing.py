"""Routing by the first path segments (app/routing.py): every route of the app is still found
as FastAPI finds it without the gate, and a router the gate cannot narrow is tried for all."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import _IncludedRouter
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Match

from app.main import create_app
from app.routing import ALL, _GatedRouter, gate_routers, head, heads


def _found(routes: list[BaseRoute], path: str, method: str) -> tuple[str, str]:
    """What the app's router picks for the request, down to the route in the included
    router: the first full match, else the first partial one (a known path, another
    method), as starlette's Router does."""
    scope = {"type": "http", "path": path, "method": method, "root_path": "",
             "path_params": {}, "headers": []}
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return "full", _leaf(route, scope)
        if match == Match.PARTIAL and partial is None:
            partial = _leaf(route, scope)
    return ("partial", partial) if partial else ("none", "")


def _leaf(route: BaseRoute, scope: dict[str, Any]) -> str:
    while isinstance(route, _IncludedRouter):
        _, child_scope, inner, _ = route._match(scope)
        assert inner is not None
        route = inner
        scope = {**scope, **child_scope}
    return f"{getattr(route, 'name', None) or type(route).__name__} {scope['path_params']}"


def _request_paths(app: FastAPI) -> list[tuple[str, str]]:
    """A request for every route of the app (a parameter filled with 1), and some that
    match none or only with another method."""
    paths = []
    for route in app.router.routes:
        contexts = (route.effective_route_contexts() if isinstance(route, _IncludedRouter)
                    else [route])
        for context in contexts:
            path = re.sub(r"\{[^}]+\}", "1", getattr(context, "path_format", "/static/x"))
            for method in sorted(getattr(context, "methods", None) or {"GET"}):
                paths.append((path, method))
    return [*paths, ("/nowhere", "GET"), ("/api/v1/nowhere", "GET"), ("/me", "DELETE"),
            ("/", "PUT"), ("/api/v1/members/1/score", "POST"), ("/me/", "GET")]


def test_every_route_is_found_as_without_the_gate() -> None:
    gated = create_app()
    plain = create_app()
    for route in plain.router.routes:
        if isinstance(route, _GatedRouter):
            route.__class__ = _IncludedRouter
    assert sum(isinstance(r, _GatedRouter) for r in gated.router.routes) == 2
    assert not any(isinstance(r, _GatedRouter) for r in plain.router.routes)
    requests = _request_paths(plain)
    assert len(requests) > 200
    found = {(path, method): _found(gated.router.routes, path, method)
             for path, method in requests}
    expected = {(path, method): _found(plain.router.routes, path, method)
                for path, method in requests}
    assert found == expected
    # The gate decided something: the pages' router is not tried for an API path, and
    # within the API, a score is not tried against the entries' routes.
    api, web = [r for r in gated.router.routes if isinstance(r, _GatedRouter)]
    assert ("api",) not in web._heads and ("me",) in web._heads
    assert api._heads == {("api", "v1")} or api._depth == 3
    inner = [c for c in api.effective_candidates() if isinstance(c, _IncludedRouter)]
    assert inner and all(isinstance(c, _GatedRouter) for c in inner)
    skipped = [c for c in inner if ("api", "v1", "members") not in heads(c)[1]]
    assert len(skipped) > len(inner) // 2
    assert any(heads(c) == (3, {("api", "v1", "entries")}) for c in skipped)
    assert found[("/nowhere", "GET")] == ("none", "")
    assert found[("/me", "DELETE")][0] == "partial"


@pytest.mark.parametrize(("path", "depth", "expected"), [
    ("/api/v1/members", 1, ("api",)), ("/api/v1/members/7/score", 3, ("api", "v1", "members")),
    ("/api/v1", 3, ("api", "v1")), ("/me", 1, ("me",)), ("/", 1, ("",)), ("/me/", 1, ("me",)),
    ("", 1, ("",)), ("/me/", 2, ("me", ""))])
def test_head(path: str, depth: int, expected: tuple[str, ...]) -> None:
    assert head(path, depth) == expected


def test_heads_stop_at_the_first_parameter_and_the_shallowest_route() -> None:
    router = APIRouter(prefix="/api/v1")

    @router.get("/members/{member_id}/score")
    def score(member_id: int) -> dict[str, int]:
        return {"member": member_id}

    @router.get("/members")
    def members() -> list[int]:
        return []

    @router.get("/orgs/{org_id}")
    def org(org_id: int) -> dict[str, int]:
        return {"org": org_id}

    app = _toy(router)
    gate = next(r for r in app.router.routes if isinstance(r, _GatedRouter))
    assert heads(gate) == (3, {("api", "v1", "members"), ("api", "v1", "orgs")})
    with TestClient(app) as client:
        assert client.get("/api/v1/members/4/score").json() == {"member": 4}
        assert client.get("/api/v1/orgs/2").json() == {"org": 2}
        assert client.get("/api/v1/ranks/2").status_code == 404
        assert client.get("/api/v1").status_code == 404


def _toy(*routers: APIRouter) -> FastAPI:
    app = FastAPI()
    for router in routers:
        app.include_router(router)
    assert gate_routers(app) == len(routers)
    return app


def test_a_router_starting_with_a_parameter_is_tried_for_every_path() -> None:
    anything = APIRouter()

    @anything.get("/{page}/about")
    def about(page: str) -> dict[str, str]:
        return {"page": page}

    app = _toy(anything)
    with TestClient(app) as client:
        assert client.get("/whatever/about").json() == {"page": "whatever"}
        assert client.get("/other/about").json() == {"page": "other"}
    gate = next(r for r in app.router.routes if isinstance(r, _GatedRouter))
    assert gate._heads is ALL


def test_a_route_added_after_the_gate_is_found() -> None:
    pages, api = APIRouter(), APIRouter(prefix="/api")

    @pages.get("/home")
    def home() -> dict[str, str]:
        return {"at": "home"}

    @api.get("/ping")
    def ping() -> dict[str, str]:
        return {"at": "ping"}

    app = _toy(api, pages)
    with TestClient(app) as client:
        assert client.get("/home").json() == {"at": "home"}
        assert client.get("/api/ping").json() == {"at": "ping"}
        assert client.get("/later").status_code == 404

        @pages.get("/later")
        def later() -> dict[str, str]:
            return {"at": "later"}

        assert client.get("/later").json() == {"at": "later"}
        assert client.get("/api/home").status_code == 404
