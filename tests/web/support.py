"""Driving the pages as a browser would: a session cookie and the CSRF token from the page."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    match = _TOKEN.search(page.text)
    assert match, f"no CSRF token on {path}: {page.status_code}"
    return match.group(1)


def web_login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log the client in through the form; the CSRF token of the new session."""
    client.cookies.clear()
    token = csrf_of(client)
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": token, "next": "/"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return csrf_of(client, "/me" if username != "admin" else "/admin")


def form_post(client: TestClient, path: str, token: str, data: dict[str, Any] | None = None,
              htmx: bool = False, **kwargs: Any) -> Any:
    headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else {}
    body = dict(data or {})
    if not htmx:
        body["csrf_token"] = token
    return client.post(path, data=body, headers=headers, follow_redirects=False, **kwargs)
