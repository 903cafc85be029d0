"""The administrator's page of service accounts: create one (its key shown once, never
again, not cached), add a key, revoke one after being asked once; nobody else opens it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.support import World, ok, refused
from tests.web.support import form_post, web_login

PAGE = "/admin/service-accounts"
KEY = re.compile(r"jfk_[a-z2-9]{8}_[A-Za-z0-9_-]{43}")


def create(client: TestClient, token: str, world: World, **form: str) -> object:
    data = {"name": "city-platform", "org_id": str(world.branch_a), "access": "read",
            "note": "市大数据平台"} | form
    # Its own path: the page showing the key is not the list's, so "back" loads the list.
    return form_post(client, f"{PAGE}/new", token, data)


def test_a_new_key_is_shown_once_and_works(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    page = client.get(PAGE)
    assert page.status_code == 200 and "还没有服务账号" in page.text
    made = create(client, token, world)
    assert made.status_code == 201  # type: ignore[attr-defined]
    text = made.text  # type: ignore[attr-defined]
    keys = KEY.findall(text)
    assert len(set(keys)) == 1, text
    key = keys[0]
    assert "离开本页后它不会再显示" in text
    assert made.headers["Cache-Control"] == "no-store"  # type: ignore[attr-defined]
    assert made.headers["Pragma"] == "no-cache"  # type: ignore[attr-defined]
    listed = client.get(PAGE)
    assert key not in listed.text and f"jfk_{key[4:12]}_…" in listed.text
    assert "第一支部及下级组织" in listed.text and "只读" in listed.text
    assert "市大数据平台" in listed.text and "从未使用" in listed.text
    me = ok(client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}))
    assert me["roles"] == [{"org_id": world.branch_a, "role": "service"}]
    assert key not in str(client.cookies.get("jifen_session"))  # not kept in the session


@pytest.mark.parametrize(("form", "says"), [
    ({"name": "城市"}, "名称只能用字母"),
    ({"name": "a1"}, "用户名已被使用"),
    ({"access": "write"}, "请选择只读或读写"),
    ({"org_id": ""}, "请选择一个组织"),
    ({"note": "line\nbreak"}, "备注只能写一行"),
])
def test_a_bad_form_says_why_and_keeps_what_was_typed(world: World, client: TestClient,
                                                      form: dict[str, str], says: str) -> None:
    token = web_login(client, "admin")
    answer = create(client, token, world, **form)
    assert answer.status_code in (409, 422), answer.text  # type: ignore[attr-defined]
    assert says in answer.text  # type: ignore[attr-defined]
    assert not KEY.search(answer.text)  # type: ignore[attr-defined]
    typed = {"name": "city-platform"} | form
    assert f'value="{typed["name"]}"' in answer.text  # type: ignore[attr-defined]
    assert "还没有服务账号" in client.get(PAGE).text


def test_a_note_longer_than_the_form_takes_is_refused(world: World,
                                                       client: TestClient) -> None:
    token = web_login(client, "admin")
    answer = create(client, token, world, note="x" * 201)
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert "填写的内容有误" in client.get(PAGE).text
    assert "还没有服务账号" in client.get(PAGE).text


def test_the_form_sent_again_says_the_account_is_made(world: World,
                                                      client: TestClient) -> None:
    """A reload of the key page sends the form again: the answer says the account is there
    already (and how to get a key it missed), not only that the name is taken."""
    token = web_login(client, "admin")
    assert create(client, token, world).status_code == 201  # type: ignore[attr-defined]
    again = create(client, token, world)
    assert again.status_code == 409  # type: ignore[attr-defined]
    text = again.text  # type: ignore[attr-defined]
    assert "服务账号「city-platform」已经建好了" in text and "新增密钥" in text
    assert not KEY.search(text)
    assert len(ok(world.get("admin", "/service-accounts"))) == 1


def _none_made(world: World) -> bool:
    return ok(world.get("admin", "/service-accounts")) == []


def test_rotate_and_revoke(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    first = KEY.findall(create(client, token, world).text)[0]  # type: ignore[attr-defined]
    account_id = ok(world.get("admin", "/service-accounts"))[0]["id"]
    newest = re.search(r'name="newest" value="(\d+)"', client.get(PAGE).text)
    assert newest is not None
    added = form_post(client, f"{PAGE}/{account_id}/keys", token, {"newest": newest[1]})
    assert added.status_code == 201 and "已新增密钥" in added.text
    # The key page reloaded: the same form again makes no key nobody would see.
    reloaded = form_post(client, f"{PAGE}/{account_id}/keys", token, {"newest": newest[1]})
    assert reloaded.status_code == 303
    listed = client.get(PAGE).text
    assert "刷新页面不会再生成" in listed and not KEY.findall(listed)
    assert len(ok(world.get("admin", f"/service-accounts/{account_id}"))["keys"]) == 2
    second = KEY.findall(added.text)[0]
    assert second != first
    keys = ok(world.get("admin", f"/service-accounts/{account_id}"))["keys"]
    old = keys[0]["id"]
    ask = client.get(f"{PAGE}/{account_id}/keys/{old}/revoke")
    assert ask.status_code == 200 and "不能恢复" in ask.text and f"jfk_{first[4:12]}" in ask.text
    done = form_post(client, f"{PAGE}/{account_id}/keys/{old}/revoke", token)
    assert done.status_code == 303
    listed = client.get(PAGE).text
    assert f"密钥 jfk_{first[4:12]} 已吊销" in listed and "已吊销 2026-01-10" in listed
    refused(client.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"}), 401,
            "invalid_token")
    assert ok(client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}))
    # Asked again (a second tab): the key is gone already, back to the list, nothing done.
    again = client.get(f"{PAGE}/{account_id}/keys/{old}/revoke", follow_redirects=False)
    assert again.status_code == 303
    twice = form_post(client, f"{PAGE}/{account_id}/keys/{old}/revoke", token)
    assert twice.status_code == 303 and "已经吊销" in client.get(PAGE).text


@pytest.mark.parametrize("who", ["sec_a", "party_sec", "a1"])
def test_nobody_else_opens_it(world: World, client: TestClient, who: str) -> None:
    token = web_login(client, who)
    assert client.get(PAGE).status_code == 403
    refusal = create(client, token, world)
    assert refusal.status_code == 303  # type: ignore[attr-defined]  # back, with the message
    assert "只有管理员可以进行此操作" in client.get("/").text or \
        "只有管理员可以进行此操作" in client.get("/", follow_redirects=True).text
    assert _none_made(world)
    assert 'href="/admin/service-accounts"' not in client.get("/admin").text


def test_the_admin_menu_links_to_it(world: World, client: TestClient) -> None:
    web_login(client, "admin")
    assert 'href="/admin/service-accounts"' in client.get("/admin").text
