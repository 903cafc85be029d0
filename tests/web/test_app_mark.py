"""The app's own answers are marked (X-Jifen: 1, app/ops.py) and only those are swapped into
a page (static/htmx-guard.js, loaded by every page with its words in the page's language);
nginx's page for a full page it could not get stands alone (static/unavailable.html)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.support import World
from tests.web.support import web_login
from tests.web.test_form_once import report
from tests.web.test_member import SELF_REPORT


@pytest.mark.parametrize("path", ["/login", "/me", "/no-such-page", "/static/htmx-guard.js",
                                  "/api/v1/entries", "/healthz"])
def test_every_answer_of_the_app_carries_its_mark(client: TestClient, path: str) -> None:
    assert client.get(path, follow_redirects=False).headers["X-Jifen"] == "1"


def test_a_refused_form_carries_the_mark_too(world: World, client: TestClient) -> None:
    token = web_login(client, "a1")
    answer = report(client, token, {**SELF_REPORT, "rule_code": ""}, htmx=True)
    assert answer.status_code == 422 and answer.headers["X-Jifen"] == "1"


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_page_loads_the_guard_with_its_words(world: World, client: TestClient,
                                                   language: str) -> None:
    token = web_login(client, "a1")
    client.post("/language", data={"language": language, "csrf_token": token, "next": "/me"})
    page = client.get("/me").text
    assert page.count('<script src="/static/htmx-guard.js" defer></script>') == 1
    body = re.search(r"<body[^>]*>", page)
    assert body
    said = dict(re.findall(r'data-(unsaved|unsent|unreachable|offline)="([^"]+)"', body.group(0)))
    assert set(said) == {"unsaved", "unsent", "unreachable", "offline"}
    if language == "en":
        assert said["unsaved"].startswith("The system cannot be reached just now")
    else:
        assert said["unsaved"].startswith("系统暂时无法访问，刚才提交的内容没有保存。")


def test_the_unavailable_page_stands_alone_in_both_languages() -> None:
    page = (Path(__file__).resolve().parents[2] / "static" / "unavailable.html").read_text()
    assert not re.search(r"""\b(src|srcset|action)=|<link|<script|url\(|@import|https?://""",
                         page)
    assert page.index("系统暂时无法访问") < page.index("temporarily unavailable", 200)
    assert "可能没有保存" in page and "may not have been saved" in page
    assert 'href=""' in page  # reload


def test_the_guard_is_small_and_builds_no_html(client: TestClient) -> None:
    answer = client.get("/static/htmx-guard.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(("text/javascript",
                                                      "application/javascript"))
    # On a cheap phone's slow network: what crosses it is gzipped (GZipMiddleware).
    assert len(answer.content) < 6 * 1024 and len(gzip.compress(answer.content)) < 2 * 1024
    assert "innerHTML" not in answer.text and "eval(" not in answer.text
    assert 'getResponseHeader("X-Jifen")' in answer.text
