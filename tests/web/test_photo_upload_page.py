"""The self-report page loads static/photo-upload.js (issue 17) the way the CSP allows: one
deferred file of this server, on the pages with a photo input only; the form itself still
posts as a plain form, for a browser without JavaScript."""

from __future__ import annotations

import gzip
import re

import pytest
from fastapi.testclient import TestClient

from tests.api.support import World
from tests.web.support import web_login

SCRIPT = '<script src="/static/photo-upload.js" defer></script>'


def test_the_report_page_loads_the_script_deferred_and_keeps_a_plain_form(
        world: World, client: TestClient) -> None:
    web_login(client, "a1")
    page = client.get("/me/report")
    assert page.status_code == 200
    html = page.text
    assert html.count(SCRIPT) == 1
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script: the CSP refuses it"
    form = re.search(r"<form class=\"report[^>]*>", html)
    assert form is not None
    for attribute in ('method="post"', 'action="/me/report"',
                      'enctype="multipart/form-data"', "data-photo-form"):
        assert attribute in form.group(0)
    assert html.count('type="file" name="photo"') == 2
    # The texts the script shows come from the page, in its language.
    for text in ("正在压缩照片，请稍等…", "正在上传 {percent}", "照片已送到，正在保存…",
                 "网络不通，申报没有送出去。"):
        assert text in html
    assert 'role="status" data-upload-said' in html


@pytest.mark.parametrize("path", ["/me", "/me/entries", "/password"])
def test_pages_without_a_photo_input_do_not_load_it(world: World, client: TestClient,
                                                     path: str) -> None:
    web_login(client, "a1")
    page = client.get(path)
    assert page.status_code == 200 and 'type="file"' not in page.text
    assert "photo-upload.js" not in page.text


def test_the_script_is_small_and_served_as_javascript(client: TestClient) -> None:
    answer = client.get("/static/photo-upload.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(("text/javascript",
                                                      "application/javascript"))
    assert len(gzip.compress(answer.content)) < 5 * 1024
    assert "eval(" not in answer.text and "innerHTML" not in answer.text
