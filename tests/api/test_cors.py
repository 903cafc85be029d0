"""CORS for /api/v1, for the origins JIFEN_CORS_ORIGINS lists (issue 18): off by default,
bearer tokens only (no credentials), never on the pages; a bad setting stops the start."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session

from app.clock import FixedClock
from app.main import create_app
from app.settings import Settings, cors_origins, get_settings
from tests.api.support import World, login
from tests.conftest import serving

LISTED = "https://h5.example.gov.cn"
OTHER = "https://evil.example.com"


def preflight(client: TestClient, path: str, origin: str, method: str = "POST",
              headers: str = "authorization, content-type, idempotency-key") -> Any:
    return client.options(path, headers={"Origin": origin,
                                         "Access-Control-Request-Method": method,
                                         "Access-Control-Request-Headers": headers})


def allowed_origin(answer: Any) -> str | None:
    return answer.headers.get("access-control-allow-origin")


@pytest.fixture
def cors_app(db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch,
             request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The app made with JIFEN_CORS_ORIGINS set (the test's parameter, else LISTED), on the
    test's session and clock."""
    monkeypatch.setenv("JIFEN_CORS_ORIGINS", getattr(request, "param", LISTED))
    get_settings.cache_clear()
    with serving(db, clock, create_app()) as client:
        yield client
    monkeypatch.undo()
    get_settings.cache_clear()


def test_off_by_default_no_cors_headers(world: World, client: TestClient) -> None:
    assert get_settings().cors_origins == ""
    answer = preflight(client, "/api/v1/entries", LISTED)
    assert allowed_origin(answer) is None
    assert answer.status_code == 204 and "POST" in answer.headers["allow"]  # plain OPTIONS
    read = client.get("/api/v1/me", headers=world.as_("a1") | {"Origin": LISTED})
    assert read.status_code == 200 and allowed_origin(read) is None
    assert not any(h.startswith("access-control-") for h in read.headers)


def test_a_listed_origin_is_allowed(world: World, cors_app: TestClient) -> None:
    answer = preflight(cors_app, "/api/v1/entries", LISTED)
    assert answer.status_code == 200
    assert allowed_origin(answer) == LISTED
    assert "access-control-allow-credentials" not in answer.headers
    methods = answer.headers["access-control-allow-methods"]
    assert {"GET", "POST", "PATCH", "PUT", "DELETE"} <= set(methods.split(", "))
    headers = {h.lower() for h in answer.headers["access-control-allow-headers"].split(", ")}
    assert {"authorization", "content-type", "idempotency-key", "if-match",
            "if-none-match"} <= headers
    assert "Origin" in answer.headers["vary"]

    token = login(cors_app, "a1")
    read = cors_app.get("/api/v1/me", headers=token | {"Origin": LISTED})
    assert read.status_code == 200 and read.json()["username"] == "a1"
    assert allowed_origin(read) == LISTED
    exposed = {h.strip() for h in read.headers["access-control-expose-headers"].split(",")}
    assert exposed == {"ETag", "Retry-After", "Idempotent-Replayed", "Location"}
    assert "access-control-allow-credentials" not in read.headers
    # A refusal is readable too: the script can show the API's reason.
    failed = cors_app.get("/api/v1/me", headers={"Origin": LISTED})
    assert failed.status_code == 401 and allowed_origin(failed) == LISTED


@pytest.mark.parametrize(("origin", "method", "headers"), [
    pytest.param(OTHER, "POST", "authorization", id="an-origin-not-listed"),
    pytest.param(LISTED + ":8443", "GET", "authorization", id="another-port"),
    pytest.param("http://h5.example.gov.cn", "GET", "authorization", id="plain-http"),
    pytest.param("null", "GET", "authorization", id="a-sandboxed-page"),
    pytest.param(LISTED, "TRACE", "authorization", id="a-method-not-allowed"),
    pytest.param(LISTED, "POST", "x-forwarded-for", id="a-header-not-allowed"),
    pytest.param(LISTED, "POST", "cookie", id="the-cookie-header"),
])
def test_anything_else_is_refused(cors_app: TestClient, origin: str, method: str,
                                  headers: str) -> None:
    answer = preflight(cors_app, "/api/v1/entries", origin, method, headers)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "cors_refused" and "Disallowed CORS" in body["detail"]
    if origin != LISTED:
        assert allowed_origin(answer) is None


def test_an_origin_not_listed_reads_nothing(world: World, cors_app: TestClient) -> None:
    token = login(cors_app, "a1")
    read = cors_app.get("/api/v1/me", headers=token | {"Origin": OTHER})
    # The server answers (a browser then hides it from the page): no allowing header.
    assert allowed_origin(read) is None


@pytest.mark.parametrize("path", ["/login", "/me", "/committee/entries", "/static/app.css",
                                  "/healthz", "/docs", "/openapi.json"])
def test_pages_never_get_cors_headers(cors_app: TestClient, path: str) -> None:
    for answer in (preflight(cors_app, path, LISTED, "GET"),
                   cors_app.get(path, headers={"Origin": LISTED})):
        assert not any(h.startswith("access-control-") for h in answer.headers), \
            (path, answer.headers)


@pytest.mark.parametrize("cors_app", ["*"], indirect=True)
def test_any_origin_with_a_star_alone(world: World, cors_app: TestClient) -> None:
    answer = preflight(cors_app, "/api/v1/entries", OTHER)
    assert answer.status_code == 200 and allowed_origin(answer) == "*"
    assert "access-control-allow-credentials" not in answer.headers
    read = cors_app.get("/api/v1/me", headers=login(cors_app, "a1") | {"Origin": OTHER})
    assert allowed_origin(read) == "*"


@pytest.mark.parametrize(("value", "says"), [
    pytest.param("*, https://h5.example.gov.cn", "give it alone", id="star-mixed-in"),
    pytest.param("https://*.example.gov.cn", "wildcard", id="a-wildcard-host"),
    pytest.param("h5.example.gov.cn", "scheme://host", id="no-scheme"),
    pytest.param("https://h5.example.gov.cn/", "trailing /", id="a-trailing-slash"),
    pytest.param("https://h5.example.gov.cn/app", "no path", id="a-path"),
    pytest.param("https://h5.example.gov.cn:443", "leave out :443", id="the-default-port"),
    pytest.param("https://h5.example.gov.cn:70000", "1 to 65535", id="no-such-port"),
    pytest.param("ftp://h5.example.gov.cn", "scheme://host", id="not-http"),
    pytest.param("https://user@h5.example.gov.cn", "scheme://host", id="a-user"),
])
def test_a_bad_setting_stops_the_start_saying_why(value: str, says: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(cors_origins=value)
    assert "JIFEN_CORS_ORIGINS" in str(refused.value) and says in str(refused.value)


def test_origins_are_read_as_browsers_send_them() -> None:
    assert cors_origins("") == ()
    assert cors_origins(" https://H5.Example.gov.cn , http://localhost:5173,,") == \
        ("https://h5.example.gov.cn", "http://localhost:5173")
    assert cors_origins("*") == ("*",)
