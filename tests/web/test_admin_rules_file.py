"""The rule file on the administrator's rules page: download, check, import, refusals."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.clock import FixedClock
from app.models import RuleSetRow
from app.services.rules import ensure_rule_set
from tests.api.support import NO_NOTICE, World, ok
from tests.web.support import web_login


def upload(client: TestClient, token: str, year: int, text: str | bytes,
           dry_run: bool = False) -> Any:
    data = {"csrf_token": token, **({"dry_run": "1"} if dry_run else {})}
    body = text.encode() if isinstance(text, str) else text
    return client.post(f"/admin/rules/import?year={year}", data=data,
                       files={"file": ("city.yaml", body, "application/yaml")},
                       follow_redirects=False)


def download(client: TestClient, year: int) -> str:
    answer = client.get(f"/admin/rules/export.yaml?year={year}")
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-disposition"] == \
        f'attachment; filename="jifen-rules-{year}.yaml"'
    return answer.text


def test_the_page_offers_the_file_and_imports_one(world: World, client: TestClient,
                                                  db: Session) -> None:
    token = web_login(client, "admin")
    page = client.get("/admin/rules?year=2026").text
    assert 'href="/admin/rules/export.yaml?year=2026"' in page
    assert 'action="/admin/rules/import?year=2026"' in page and "只检查，不导入" in page
    text = download(client, 2026)
    assert text == world.client.get("/api/v1/rules/2026/export.yaml",
                                    headers=world.as_("admin")).text
    checked = upload(client, token, 2026, text.replace("points: 4\n", "points: 6\n"),
                     dry_run=True)
    assert checked.status_code == 200
    assert "文件检查无误，共26条，尚未导入。新增：无；删除：无；修改：P06、P10。" in checked.text
    assert ok(world.get("admin", "/rules", year=2026))["items"][5]["points"] == 4
    done = upload(client, token, 2027, text.replace("points: 4\n", "points: 5\n"))
    assert done.status_code == 303 and done.headers["location"] == "/admin/rules?year=2027"
    page = client.get("/admin/rules?year=2027").text
    assert "已导入2027年度积分规则，共26条。" in page
    items = {i["code"]: i for i in ok(world.get("admin", "/rules", year=2027))["items"]}
    assert items["P06"]["points"] == 5 and items["P01"]["points"] == 2


def test_a_bad_file_lists_its_problems_in_chinese(world: World, client: TestClient,
                                                  db: Session, clock: FixedClock) -> None:
    token = web_login(client, "admin")
    ensure_rule_set(db, 2026, clock.now())  # stored, as its first entry would store it
    text = download(client, 2026)
    db.expire_all()
    before = db.get(RuleSetRow, 2026).revision  # type: ignore[union-attr]
    bad = (text.replace("name: 无故缺席组织生活\n  points: 2",
                        "name: 无故缺席组织生活\n  points: -2")
           .replace("code: P02", "code: P01")
           .replace("name: 无故缺席组织生活", "name: \"无故\\u202e缺席\""))
    answer = upload(client, token, 2026, bad)
    assert answer.status_code == 422
    assert "规则文件有误，没有导入。" in answer.text
    assert "<code>items[1].code</code>：编号 P01 重复了。" in answer.text
    assert "<code>items[10].points</code>：分值不要写负号（写 2）：扣分还是加分由类别决定。" \
        in answer.text
    assert "<code>items[10].name</code>：含有看不见的控制字符" in answer.text
    assert "<details open>" in answer.text
    not_yaml = upload(client, token, 2026, "{{{")
    assert not_yaml.status_code == 422 and "不是有效的 YAML 格式" in not_yaml.text
    huge = upload(client, token, 2026, "#" * 300_000)
    assert huge.status_code == 413 and "规则文件太大" in huge.text
    db.expire_all()
    assert db.get(RuleSetRow, 2026).revision == before  # type: ignore[union-attr]


def test_who_sees_what(world: World, client: TestClient) -> None:
    web_login(client, "sec_a")
    page = client.get("/admin/rules?year=2026").text
    assert 'href="/admin/rules/export.yaml?year=2026"' in page
    assert "/admin/rules/import" not in page
    assert download(client, 2026).startswith("# Jifen 积分规则文件")
    web_login(client, "a1")
    assert client.get("/admin/rules/export.yaml?year=2026").status_code == 403


def test_a_frozen_year_takes_a_file_that_changes_only_the_procedure(
        world: World, client: TestClient) -> None:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    token = web_login(client, "admin")
    page = client.get("/admin/rules?year=2025").text
    assert "/admin/rules/import?year=2025" in page
    assert "该年度规则已锁定：导入的文件只能修改评定程序参数，其余内容须与现行规则相同。" in page
    text = download(client, 2025)
    answer = upload(client, token, 2025, text.replace("points: 4\n", "points: 5\n"))
    assert answer.status_code == 409 and "积分规则已锁定" in answer.text
    done = upload(client, token, 2025, text.replace("rectify_months: 6", "rectify_months: 9"))
    assert done.status_code == 303 and done.headers["location"] == "/admin/rules?year=2025"
    assert ok(world.get("admin", "/rules", year=2025))["params"]["rectify_months"] == 9
    bad = upload(client, token, 2025, text.replace("rectify_months: 6", "rectify_months: 0"))
    assert bad.status_code == 422
    assert "<code>params.rectify_months</code>：限期改正月数须为1到12之间的整数。" in bad.text
    done = upload(client, token, 2025, text.replace("min_notice_days: 5", "min_notice_days: 3"))
    assert done.status_code == 303
    assert ok(world.get("admin", "/rules", year=2025))["params"]["min_notice_days"] == 3
    bad = upload(client, token, 2025, text.replace("min_notice_days: 5", "min_notice_days: 61"))
    assert bad.status_code == 422
    assert "<code>params.min_notice_days</code>：最短公示天数须为0到60之间的整数。" in bad.text
    web_login(client, "sec_a")
    page = client.get("/admin/rules?year=2025").text
    assert "该年度规则已锁定，不能导入。" in page and "/admin/rules/import" not in page


def test_an_import_moves_the_kept_member_pages_on(world: World, client: TestClient) -> None:
    world.entry("sec_a", "a1", "P01", "2026-01-05", quantity=2)
    text = world.client.get("/api/v1/rules/2026/export.yaml", headers=world.as_("admin")).text
    web_login(client, "a1")
    cache = client.app.state.page_cache  # type: ignore[attr-defined]
    first = client.get("/me?year=2026")
    hits = cache.hits
    assert client.get("/me?year=2026").text == first.text and cache.hits == hits + 1
    # P01 is now worth 3 a time: no kept page is answered, the rules changed under it.
    variant = text.replace("name: 参加集中学习\n  points: 2", "name: 参加集中学习\n  points: 3")
    ok(world.client.post("/api/v1/rules/2026/import", content=variant.encode(),
                         headers={**world.as_("admin"), "Content-Type": "application/yaml"}))
    hits = cache.hits
    assert client.get("/me?year=2026").status_code == 200 and cache.hits == hits
    assert client.get("/me?year=2026").status_code == 200 and cache.hits == hits + 1
