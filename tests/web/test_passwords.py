"""修改密码 (/password) and 重置密码 (/members/{id}/password-reset) through the pages."""

from __future__ import annotations

import base64
import re

from fastapi.testclient import TestClient

from app.main import app
from tests.api.support import PASSWORD, World, login, ok, refused
from tests.web.support import csrf_of, form_post, web_login
from tests.web.test_i18n import CJK, visible

NEW = "plum-blossom-77"


def change_form(current: str = PASSWORD, new: str = NEW,
                again: str | None = None) -> dict[str, str]:
    return {"current_password": current, "new_password": new,
            "new_password_again": new if again is None else again}


def test_change_keeps_this_session_and_logs_out_the_others(world: World,
                                                           client: TestClient) -> None:
    phone = TestClient(app, raise_server_exceptions=False)  # a1's other device
    web_login(phone, "a1")
    api_token = login(client, "a1")
    token = web_login(client, "a1")
    page = client.get("/password")
    assert page.status_code == 200 and "修改密码" in page.text
    assert 'autocomplete="current-password"' in page.text

    answer = form_post(client, "/password", token, change_form())
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    me = client.get("/me")
    assert me.status_code == 200 and "密码已修改" in me.text  # this session stays

    away = phone.get("/me", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/login")
    refused(client.get("/api/v1/me", headers=api_token), 401, "invalid_token")
    web_login(phone, "a1", NEW)
    assert phone.get("/me").status_code == 200


def test_refusals_show_on_the_form(world: World, client: TestClient) -> None:
    world.add_member("farmer_li", world.branch_a)
    token = web_login(client, "farmer_li")
    for form, status, message in (
            (change_form(again="plum-blossom-78"), 422, "两次输入的新密码不一样"),
            (change_form(new="short"), 422, "密码至少8位"),
            (change_form(new="Farmer_Li"), 422, "密码不能与用户名相同"),
            (change_form(new="66666666"), 422, "密码太简单：不能全是同一个字符"),
            (change_form(new=PASSWORD), 422, "新密码不能与当前密码相同")):
        answer = form_post(client, "/password", token, form)
        assert answer.status_code == status and message in answer.text, message
        assert 'name="current_password"' in answer.text  # the form again, filled in afresh
    assert client.get("/me").status_code == 200  # still logged in: nothing changed


def test_wrong_current_password_is_throttled(world: World, client: TestClient) -> None:
    token = web_login(client, "a1")
    for _ in range(5):
        answer = form_post(client, "/password", token, change_form(current="wrong-one-1"))
        assert answer.status_code == 403 and "当前密码不正确" in answer.text
    answer = form_post(client, "/password", token, change_form())
    assert answer.status_code == 429 and "15分钟" in answer.text
    # The failures were this browser's (a known device): its login is locked too...
    device = client.cookies.get("jifen_device")
    client.cookies.clear()
    client.cookies.set("jifen_device", device or "")
    login_page = client.post("/login", data={"username": "a1", "password": PASSWORD,
                                             "csrf_token": csrf_of(client)})
    assert login_page.status_code == 429
    # ...but not the other devices' (tests/api/test_login_devices.py).
    client.cookies.clear()
    login_page = client.post("/login", data={"username": "a1", "password": PASSWORD,
                                             "csrf_token": csrf_of(client)},
                             follow_redirects=False)
    assert login_page.status_code == 303


def test_links_to_the_change_page(world: World, client: TestClient) -> None:
    web_login(client, "a1")
    assert 'href="/password"' in client.get("/me").text
    web_login(client, "admin")
    assert 'href="/password"' in client.get("/admin").text  # the footer, for everyone
    assert client.get("/password").status_code == 200  # an account without a member too


def test_admin_reset_shows_the_new_password_once(world: World, client: TestClient) -> None:
    a1 = world.members["a1"]
    member_token = login(client, "a1")
    token = web_login(client, "admin")
    row = client.get(f"/admin/members?org_id={world.branch_a}").text
    assert f'href="/members/{a1}/password-reset?next=' in row
    back = f"/admin/members?org_id={world.branch_a}#member-{a1}"
    ask = client.get(f"/members/{a1}/password-reset", params={"next": back})
    assert ask.status_code == 200 and "重置密码" in ask.text and "a1" in ask.text

    done = form_post(client, f"/members/{a1}/password-reset", token, {"next": back})
    assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
    shown = re.findall(r'<p class="secret">(\d{8})</p>', done.text)
    assert len(shown) == 1 and "只显示这一次" in done.text
    assert f'href="{back}"' in done.text.replace("&amp;", "&")
    generated = shown[0]

    refused(client.get("/api/v1/me", headers=member_token), 401, "invalid_token")
    ok(client.get("/api/v1/me", headers=login(client, "a1", generated)))
    # Shown once: no later page has it, and it never went into the session cookie.
    for path in (f"/admin/members?org_id={world.branch_a}", f"/members/{a1}/password-reset"):
        assert generated not in client.get(path).text
    session = (client.cookies.get("jifen_session") or "").split(".")[0]
    assert session and generated.encode() not in base64.b64decode(session + "==")


def test_committee_resets_from_the_member_page(world: World, client: TestClient) -> None:
    a1 = world.members["a1"]
    token = web_login(client, "sec_a")
    page = client.get(f"/committee/members/{a1}").text
    assert f'href="/members/{a1}/password-reset?next=/committee/members/{a1}"' in page
    done = form_post(client, f"/members/{a1}/password-reset", token,
                     {"password": NEW, "next": f"/committee/members/{a1}"})
    assert done.status_code == 200 and "密码已改为您设定的密码" in done.text
    assert NEW not in done.text
    web_login(client, "a1", NEW)

    # A weak given password: the form again with the reason.
    token = web_login(client, "sec_a")
    weak = form_post(client, f"/members/{a1}/password-reset", token, {"password": "1234"})
    assert weak.status_code == 422 and "密码至少8位" in weak.text


def test_committee_may_not_reset_a_colleague_or_itself(world: World,
                                                       client: TestClient) -> None:
    web_login(client, "sec_a")
    colleague = client.get(f"/members/{world.members['vice_a']}/password-reset")
    assert colleague.status_code == 403 and "上级党组织" in colleague.text
    own = client.get(f"/members/{world.members['sec_a']}/password-reset")
    assert own.status_code == 403 and "修改密码" in own.text
    assert client.get(f"/members/{world.members['b1']}/password-reset").status_code == 404
    own_page = client.get(f"/committee/members/{world.members['sec_a']}").text
    assert "password-reset" not in own_page
    web_login(client, "a1")
    assert client.get(f"/members/{world.members['a1']}/password-reset").status_code == 403


def test_reset_result_in_english(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    form_post(client, "/language", token, {"language": "en", "next": "/"})
    a1 = world.members["a1"]
    for answer in (client.get(f"/members/{a1}/password-reset"),
                   form_post(client, f"/members/{a1}/password-reset", token)):
        assert answer.status_code == 200
        left = [p for p in visible(answer.text) if p != "中文" and CJK.search(p)]
        assert not left, left
    assert "Password reset" in answer.text and "shown only this once" in answer.text
