"""Where the language switch comes back to (app/web/render.py language_next)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from app.web.render import NEXT_MAX, language_next


def request(method: str, path: str, query: str = "", referer: str | None = None) -> Request:
    headers = [(b"host", b"jifen.example")]
    if referer is not None:
        headers.append((b"referer", referer.encode()))
    return Request({"type": "http", "method": method, "path": path,
                    "query_string": query.encode(), "headers": headers, "scheme": "https",
                    "server": ("jifen.example", 443)})


@pytest.mark.parametrize(("method", "path", "query", "referer", "expected"), [
    ("GET", "/me", "", None, "/me"),
    ("GET", "/committee/appraisal/3", "year=2025", None, "/committee/appraisal/3?year=2025"),
    ("GET", "/me", "year=2025&x=" + "y" * 600, None, "/me"),  # too long: the path alone
    ("POST", "/me/ratings/4/ballot/check", "", "https://jifen.example/me/ratings/4/ballot",
     "/me/ratings/4/ballot"),
    ("POST", "/x", "", "https://jifen.example/committee?year=2025", "/committee?year=2025"),
    ("POST", "/x", "", "https://evil.example/me", "/"),    # another site: home
    ("POST", "/x", "", "https://jifen.example//evil.example/", "/"),
    ("POST", "/x", "", None, "/"),
    ("POST", "/x", "", "not a url", "/"),
])
def test_language_next(method: str, path: str, query: str, referer: str | None,
                       expected: str) -> None:
    target = language_next(request(method, path, query, referer))
    assert target == expected and len(target) <= NEXT_MAX
