"""Every answer carries the security headers; the API docs need no CDN."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("path", ["/login", "/api/v1/me", "/static/jifen.css", "/nope"])
def test_security_headers_on_every_answer(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_the_api_docs_are_served_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    script = "/static/vendor/swagger-ui-5.36.0/swagger-ui-bundle.js"
    assert script in page.text and "cdn" not in page.text.lower()
    assert client.get(script).status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "Jifen"
