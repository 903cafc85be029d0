"""The first login of an imported (or reset) member on the pages, and the login slips.

Someone else set the password, so every page sends the person to 设置新密码 (303; htmx gets
HX-Redirect) until they set their own; logging out still works, and after the change they
land on their home. The import's and the reset's result pages print 登录条: carried signed
in the result page, for the account that made it only (404 for anyone else, a changed
field or an old page), and no password is stored anywhere new.
"""

from __future__ import annotations

import base64
import html
import json
import re
import zlib
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel

from app.settings import get_settings
from tests.api.support import World
from tests.api.test_member_import import xlsx
from tests.web.support import csrf_of, form_post, web_login
from tests.web.test_member_import_page import confirm, hidden, upload
from tests.web.test_rating_steps_pages import text_of

ROWS = [["张三", "第一支部", "在职", "2012-03-05", "zhangsan", ""],
        ["李四", "第一支部", "流动", "2015-07-01", "lisi", "lisi-pass-1"],
        ["王五", "第一支部", "离退休", "1960-07-01", "wangwu", ""]]
NEW = "my-own-choice-8"
SLIPS = "/committee/login-slips"


def import_rows(client: TestClient, rows: list[list[str]] = ROWS) -> tuple[str, dict[str, str]]:
    """sec_a imports the rows on the pages: the result page and the generated passwords."""
    token = web_login(client, "sec_a")
    checked = upload(client, token, xlsx(rows)).text
    done = confirm(client, token, hidden(checked, "payload"), hidden(checked, "token"))
    assert done.status_code == 200 and "导入完成" in done.text
    shown = dict(re.findall(r'data-label="用户名">([^<]+)</td>\s*<td data-label="初始密码">'
                            r'<strong class="cm-code">(\d{8})</strong>', done.text))
    return done.text, shown


def slip_form(page: str) -> dict[str, str]:
    """The hidden fields of the result page's 打印登录条 form."""
    form = page[page.index(f'action="{SLIPS}"'):]
    form = form[:form.index("</form>")]
    return {name: html.unescape(value)
            for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', form)}


def print_slips(client: TestClient, fields: dict[str, str], token: str | None = None) -> Any:
    data = dict(fields)
    if token is not None:
        data["csrf_token"] = token
    return client.post(SLIPS, data=data, follow_redirects=False)


def slips_of(page: str) -> list[str]:
    return [text_of(s) for s in re.findall(r'<article class="slip">(.*?)</article>', page,
                                           re.S)]


# --------------------------------------------------------------------------- first login
PAGES = ["/", "/me", "/me/entries", "/me/results", "/me/notices", "/committee",
         "/committee/import", "/admin", "/members/1/standing"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_the_member_to_set_a_new_password(world: World, client: TestClient,
                                                           path: str) -> None:
    _page, shown = import_rows(client)
    web_login(client, "zhangsan", shown["zhangsan"])
    answer = client.get(path, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/password")
    htmx = client.get(path, headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == "/password"


def test_forms_are_sent_there_too(world: World, client: TestClient) -> None:
    _page, shown = import_rows(client)
    token = web_login(client, "zhangsan", shown["zhangsan"])
    answer = form_post(client, "/me/notices/seen", token)
    assert (answer.status_code, answer.headers["location"]) == (303, "/password")
    htmx = form_post(client, "/me/notices/seen", token, htmx=True)
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == "/password"


def test_the_page_asks_for_a_new_password_without_the_menu(world: World,
                                                           client: TestClient) -> None:
    import_rows(client)
    web_login(client, "lisi", "lisi-pass-1")  # a password given in the file counts too
    page = client.get("/password")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "设置新密码" in words and "替您设置" in words
    assert 'aria-label="主菜单"' not in page.text  # no menu of pages it cannot open
    assert 'action="/logout"' in page.text and 'href="/">取消' not in page.text
    assert 'action="/logout-everywhere"' not in page.text


def test_after_the_change_the_member_lands_on_their_home(world: World,
                                                         client: TestClient) -> None:
    _page, shown = import_rows(client)
    token = web_login(client, "zhangsan", shown["zhangsan"])
    wrong = form_post(client, "/password", token, {
        "current_password": "00000000", "new_password": NEW, "new_password_again": NEW})
    assert wrong.status_code == 403 and "当前密码不正确" in wrong.text
    assert client.get("/me", follow_redirects=False).headers["location"] == "/password"

    done = form_post(client, "/password", token, {
        "current_password": shown["zhangsan"], "new_password": NEW,
        "new_password_again": NEW})
    assert (done.status_code, done.headers["location"]) == (303, "/")
    home = client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/me")
    me = client.get("/me")
    assert me.status_code == 200 and "新密码已设置好" in me.text
    assert 'aria-label="主菜单"' in me.text
    page = client.get("/password")
    assert "设置新密码" not in text_of(page.text) and 'action="/logout-everywhere"' in page.text


def test_logging_out_still_works(world: World, client: TestClient) -> None:
    _page, shown = import_rows(client)
    token = web_login(client, "zhangsan", shown["zhangsan"])
    out = form_post(client, "/logout", token)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    again = client.get("/me", follow_redirects=False)
    assert again.headers["location"].startswith("/login")


def test_a_reset_on_the_pages_sends_the_member_there_again(world: World,
                                                           client: TestClient) -> None:
    member = world.members["a1"]
    token = web_login(client, "sec_a")
    done = form_post(client, f"/members/{member}/password-reset", token, {"next": "/"})
    assert done.status_code == 200
    generated = re.search(r'<p class="secret">(\d{8})</p>', done.text)
    assert generated
    assert "要先换成自己的新密码" in text_of(done.text)
    web_login(client, "a1", generated.group(1))
    assert client.get("/me", follow_redirects=False).headers["location"] == "/password"


# --------------------------------------------------------------------------- login slips
def test_the_import_result_prints_one_slip_per_member(world: World, client: TestClient) -> None:
    page, shown = import_rows(client)
    assert set(shown) == {"zhangsan", "wangwu"}
    assert "打印登录条" in page and 'target="_blank"' in page
    token = csrf_of(client, "/committee")
    answer = print_slips(client, slip_form(page), token)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    slips = slips_of(answer.text)
    assert len(slips) == 3
    by_user = {next(u for u in ("zhangsan", "lisi", "wangwu") if u in s): s for s in slips}
    for username, name in (("zhangsan", "张三"), ("lisi", "李四"), ("wangwu", "王五")):
        slip = by_user[username]
        assert name in slip and "第一支部" in slip and "http://testserver" in slip
        assert "首次登录后请修改密码" in slip
    assert shown["zhangsan"] in by_user["zhangsan"]
    assert shown["wangwu"] in by_user["wangwu"]
    assert "lisi-pass-1" not in answer.text  # given in the file: a line to write it on
    assert re.search(r'<span class="slip-blank"', answer.text)
    assert answer.text.count('class="slip-sheet"') == 1  # 3 slips: one A4 sheet
    assert "/static/print-slips.css" in answer.text


def test_nine_slips_take_two_sheets(world: World, client: TestClient) -> None:
    rows = [[f"党员{n}", "第一支部", "在职", "2012-03-05", f"member{n}", ""] for n in range(9)]
    page, _shown = import_rows(client, rows)
    answer = print_slips(client, slip_form(page), csrf_of(client, "/committee"))
    assert answer.text.count('class="slip-sheet"') == 2
    assert len(slips_of(answer.text)) == 9


def test_slips_are_for_the_importer_only(world: World, client: TestClient) -> None:
    page, _shown = import_rows(client)
    fields = slip_form(page)
    for who in ("vice_a", "admin"):  # the same branch's committee, the admin
        token = web_login(client, who)
        answer = print_slips(client, fields, token)
        assert answer.status_code == 404, who
        assert "<article" not in answer.text and "没有找到这些登录条" in answer.text
    token = web_login(client, "a1")  # a member: not a committee page of theirs
    answer = print_slips(client, fields, token)
    assert answer.status_code in (303, 403) and "<article" not in answer.text

    token = web_login(client, "sec_a")
    payload = json.dumps([[2, {"name": "X", "branch": "Y", "username": "zhangsan",
                                "password": "12345678"}]])
    forged = base64.urlsafe_b64encode(zlib.compress(payload.encode())).decode()
    # The token's last hex digit changed (to 1 if it was 0, else to 0): a forged signature.
    other = "1" if fields["token"].endswith("0") else "0"
    for changed in ({"payload": forged}, {"token": fields["token"][:-1] + other},
                    {"payload": ""}, {"token": "x.y"}):
        assert print_slips(client, fields | changed, token).status_code == 404, changed
    assert print_slips(client, fields, token).status_code == 200

    client.cookies.clear()
    away = client.post(SLIPS, data=fields, follow_redirects=False)
    assert away.status_code in (303, 403)  # logged out: no CSRF token, no session


def test_slips_are_gone_once_the_importer_leaves_the_committee(world: World,
                                                               client: TestClient) -> None:
    page, _shown = import_rows(client)
    fields = slip_form(page)
    token = csrf_of(client, "/committee")
    assert print_slips(client, fields, token).status_code == 200
    answer = world.client.delete(
        f"/api/v1/orgs/{world.branch_a}/committee/{world.members['sec_a']}",
        headers=world.as_("admin"))
    assert answer.status_code in (200, 204), answer.text
    replay = print_slips(client, fields, token)
    assert replay.status_code in (303, 403) and "<article" not in replay.text


def test_slips_are_gone_once_the_result_is_old(world: World, client: TestClient) -> None:
    page, _shown = import_rows(client)
    world.clock.advance(hours=2, minutes=1)
    token = web_login(client, "sec_a")
    assert print_slips(client, slip_form(page), token).status_code == 404


def test_a_member_who_changed_already_gets_no_old_password(world: World,
                                                          client: TestClient) -> None:
    page, shown = import_rows(client)
    member = TestClient(client.app, raise_server_exceptions=False)
    token = web_login(member, "zhangsan", shown["zhangsan"])
    form_post(member, "/password", token, {"current_password": shown["zhangsan"],
                                           "new_password": NEW, "new_password_again": NEW})
    answer = print_slips(client, slip_form(page), csrf_of(client, "/committee"))
    zhang = next(s for s in slips_of(answer.text) if "张三" in s)
    assert shown["zhangsan"] not in answer.text and "本人已设置新密码" in zhang
    assert shown["wangwu"] in answer.text


def test_no_plain_password_is_stored(world: World, client: TestClient, db: Session) -> None:
    page, shown = import_rows(client)
    answer = print_slips(client, slip_form(page), csrf_of(client, "/committee"))
    assert answer.status_code == 200
    secrets = [*shown.values(), "lisi-pass-1"]
    db.expire_all()
    for table in SQLModel.metadata.sorted_tables:
        for row in db.execute(sa.select(table)).all():
            text = json.dumps([str(v) for v in row], ensure_ascii=False)
            for secret in secrets:
                assert secret not in text, (table.name, secret)
    cookie = client.cookies.get("jifen_session") or ""
    padded = cookie.split(".")[0] + "=" * (-len(cookie.split(".")[0]) % 4)
    session = base64.urlsafe_b64decode(padded).decode()
    assert "zhangsan" not in session and all(s not in session for s in secrets)


def test_the_reset_result_prints_its_slip(world: World, client: TestClient) -> None:
    member = world.members["a2"]
    token = web_login(client, "sec_a")
    done = form_post(client, f"/members/{member}/password-reset", token, {"next": "/"})
    generated = re.search(r'<p class="secret">(\d{8})</p>', done.text)
    assert generated and "打印登录条" in done.text
    answer = print_slips(client, slip_form(done.text), token)
    slips = slips_of(answer.text)
    assert len(slips) == 1
    assert "a2" in slips[0] and "第一支部" in slips[0] and generated.group(1) in slips[0]
    web_login(client, "vice_a")
    assert print_slips(client, slip_form(done.text),
                       csrf_of(client, "/committee")).status_code == 404


def test_the_repeated_import_offers_no_slips(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    checked = upload(client, token, xlsx(ROWS)).text
    carried = hidden(checked, "payload"), hidden(checked, "token")
    assert "打印登录条" in confirm(client, token, *carried).text
    again = confirm(client, token, *carried)
    assert "导入完成" in again.text and f'action="{SLIPS}"' not in again.text


def test_the_password_table_is_cards_on_a_phone(world: World, client: TestClient) -> None:
    page, _shown = import_rows(client)
    table = page[page.index('id="import-passwords"'):page.index("</table>")]
    assert "cm-cards" in page[page.rindex("<table", 0, page.index('id="import-passwords"')):
                              page.index('id="import-passwords"')]
    for label in ("用户名", "初始密码"):
        assert table.count(f'data-label="{label}"') == 3


def test_slips_print_the_public_address_when_set(world: World, client: TestClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIFEN_PUBLIC_URL", "https://jifen.example.gov.cn/")
    get_settings.cache_clear()
    try:
        page, _shown = import_rows(client)
        answer = print_slips(client, slip_form(page), csrf_of(client, "/committee"))
        assert "https://jifen.example.gov.cn" in answer.text
        assert "http://testserver" not in answer.text
    finally:
        monkeypatch.delenv("JIFEN_PUBLIC_URL")
        get_settings.cache_clear()
