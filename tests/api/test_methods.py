"""What each path answers to (issue 14, finding 9): OPTIONS lists it in Allow, every 405 says
the same Allow, and HEAD answers wherever GET does (app/methods.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import app

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def anyone() -> Iterator[TestClient]:
    """No login and no database: routing answers these before anything else runs."""
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def allow(answer: Any) -> list[str]:
    return [m.strip() for m in answer.headers["allow"].split(",")]


@pytest.mark.parametrize(("path", "methods"), [
    ("/api/v1/entries", ["GET", "HEAD", "OPTIONS", "POST"]),
    ("/api/v1/entries/17", ["GET", "HEAD", "OPTIONS"]),
    ("/api/v1/entries/17/approve", ["OPTIONS", "POST"]),
    ("/api/v1/reviews/17/scores", ["OPTIONS", "PUT"]),
    ("/api/v1/rules/P01", ["GET", "HEAD", "OPTIONS", "PUT"]),
    ("/login", ["GET", "HEAD", "OPTIONS", "POST"]),
    ("/committee/entries", ["GET", "HEAD", "OPTIONS"]),
    ("/static/jifen.css", ["GET", "HEAD", "OPTIONS"]),
])
def test_options_and_every_405_list_exactly_the_paths_methods(anyone: TestClient, path: str,
                                                               methods: list[str]) -> None:
    answer = anyone.options(path)
    assert answer.status_code == 204 and answer.content == b""
    assert allow(answer) == methods
    for method in set(METHODS) - set(methods):
        refused = anyone.request(method, path)
        assert refused.status_code == 405, (method, path)
        assert allow(refused) == methods, (method, path)
        if path.startswith("/api/"):
            assert refused.json()["code"] == "method_not_allowed"


def test_a_path_nobody_serves_is_404_to_options_too(anyone: TestClient) -> None:
    answer = anyone.options("/api/v1/nothing-here")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert "allow" not in answer.headers
    assert anyone.options("/nothing-here").status_code == 404


def test_every_path_of_the_openapi_document_allows_its_methods(anyone: TestClient) -> None:
    """Allow agrees with the routes for every path, and a method outside it is a 405."""
    for template, operations in app.openapi()["paths"].items():
        path = re.sub(r"\{[^}]+\}", "17", template)
        documented = {m.upper() for m in operations}
        answer = anyone.options(path)
        assert answer.status_code == 204, path
        allowed = set(allow(answer))
        assert documented | {"OPTIONS"} <= allowed, (path, allowed)
        assert ("HEAD" in allowed) == ("GET" in allowed), path
        for method in set(METHODS) - allowed:
            refused = anyone.request(method, path)
            assert (refused.status_code, set(allow(refused))) == (405, allowed), (method, path)


def test_head_is_the_get_without_its_body(anyone: TestClient) -> None:
    got, head = anyone.get("/login"), anyone.head("/login")
    assert (head.status_code, head.content) == (200, b"")
    for name in ("content-type", "content-length", "cache-control"):
        assert head.headers.get(name) == got.headers.get(name), name
    api = anyone.head("/api/v1/entries")
    assert (api.status_code, api.content) == (401, b"")
