"""The administrator's pages: the organisation tree, members, the rules of a year."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import NO_NOTICE, World, ok
from tests.web.support import form_post, web_login

HTMX = {"HX-Request": "true"}


def block(html: str, element_id: str) -> str:
    """The markup from the element with this id up to the next element with an id of the
    same family (good enough to read one org, row or committee block)."""
    start = html.index(f'id="{element_id}"')
    family = element_id.rsplit("-", 1)[0]
    following = re.search(rf'id="{family}-', html[start + len(element_id) + 5:])
    end = start + len(element_id) + 5 + following.start() if following else len(html)
    return html[start:end]


def location(answer: Any) -> str:
    assert answer.status_code == 303, f"{answer.status_code}: {answer.text[:500]}"
    return str(answer.headers["location"])


# The organisation tree

def test_tree_shows_orgs_member_counts_and_committees(world: World, client: TestClient) -> None:
    web_login(client, "admin")
    page = client.get("/admin")
    assert page.status_code == 200
    html = page.text
    party = block(html, f"org-{world.party}")
    assert "某镇党委" in party and "党员 9 名" in party and "party_sec" in party
    branch_a = block(html, f"org-{world.branch_a}")
    assert "第一支部" in branch_a and "党员 6 名" in branch_a
    committee_a = block(html, f"committee-{world.branch_a}")
    assert "sec_a" in committee_a and "vice_a" in committee_a and "a1" not in committee_a
    assert f'href="/admin/members?org_id={world.branch_a}"' in branch_a
    branch_b = block(html, f"org-{world.branch_b}")
    assert "第二支部" in branch_b and "党员 3 名" in branch_b
    assert '<link rel="stylesheet" href="/static/parts/admin.css">' in html


def test_create_an_org_and_refusals_in_place(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    answer = form_post(client, "/admin/orgs", token,
                       {"name": "第三支部", "kind": "branch", "parent_id": str(world.party)})
    assert location(answer).startswith("/admin#org-")
    page = client.get(location(answer))
    assert "已新建：第三支部" in page.text
    new_id = int(location(answer).rsplit("-", 1)[1])
    assert "党员 0 名" in block(page.text, f"org-{new_id}")
    orgs = ok(world.get("admin", "/orgs"))["items"]
    assert {"id": new_id, "name": "第三支部", "parent_id": world.party,
            "kind": "branch"} in [{k: o[k] for k in ("id", "name", "parent_id", "kind")}
                                  for o in orgs]

    # Refusals re-show the form with what was typed and the message; nothing is written.
    empty = form_post(client, "/admin/orgs", token,
                      {"name": "  ", "kind": "branch", "parent_id": str(world.party)}, htmx=True)
    assert empty.status_code == 422 and "请填写名称" in empty.text
    assert 'id="org-form"' in empty.text and "<html" not in empty.text
    under_branch = form_post(client, "/admin/orgs", token, {
        "name": "小组", "kind": "branch", "parent_id": str(world.branch_a)})
    assert under_branch.status_code == 422
    assert "党支部下面不能再设组织" in under_branch.text and 'value="小组"' in under_branch.text
    bad_kind = form_post(client, "/admin/orgs", token,
                         {"name": "某组", "kind": "club", "parent_id": ""}, htmx=True)
    assert bad_kind.status_code == 422 and "请选择组织类型" in bad_kind.text
    assert ok(world.get("admin", "/orgs"))["total"] == 4


def test_grant_and_revoke_the_committee_role(world: World, client: TestClient) -> None:
    b = world.branch_b
    web_login(client, "b1")
    assert client.get(f"/admin/members?org_id={b}").status_code == 403

    token = web_login(client, "admin")
    found = client.get(f"/admin/orgs/{b}/candidates", params={"q": "b"}, headers=HTMX)
    assert found.status_code == 200 and "<html" not in found.text
    assert "b1" in found.text and "设为支委" in found.text
    assert "sec_b" not in found.text  # already on the committee
    elsewhere = client.get(f"/admin/orgs/{b}/candidates", params={"q": "a1"}, headers=HTMX)
    assert "设为支委" not in elsewhere.text and "没有姓名或用户名含" in elsewhere.text
    # Without JavaScript the search is the tree page with that org's picker open.
    plain = client.get("/admin", params={"grant_org": b, "q": "b1"})
    assert "设为支委" in block(plain.text, f"committee-{b}")

    granted = form_post(client, f"/admin/orgs/{b}/committee", token,
                        {"member_id": world.members["b1"]}, htmx=True)
    assert granted.status_code == 200, granted.text
    assert granted.text.lstrip().startswith(f'<div class="committee" id="committee-{b}"')
    assert "已将b1设为第二支部的支委" in granted.text
    assert {g["member_id"] for g in ok(world.get("admin", f"/orgs/{b}/committee"))} == {
        world.members["sec_b"], world.members["b1"]}
    again = form_post(client, f"/admin/orgs/{b}/committee", token,
                      {"member_id": world.members["b1"]}, htmx=True)
    assert again.status_code == 409 and "已经是这个组织的支委" in again.text

    web_login(client, "b1")
    members_page = client.get(f"/admin/members?org_id={b}")
    assert members_page.status_code == 200 and "href=\"/committee\"" in members_page.text

    token = web_login(client, "admin")
    member = world.members["b1"]
    confirm = client.get(f"/admin/orgs/{b}/committee/{member}/revoke")
    assert confirm.status_code == 200 and "确定免去b1在第二支部的支委职务" in confirm.text
    revoked = form_post(client, f"/admin/orgs/{b}/committee/{member}/revoke", token)
    assert location(revoked) == f"/admin#org-{b}"
    assert "已免去b1在第二支部的支委职务" in client.get("/admin").text
    missing = form_post(client, f"/admin/orgs/{b}/committee/{member}/revoke", token,
                        htmx=True)
    assert missing.status_code == 404 and "没有找到" in missing.text

    web_login(client, "b1")
    assert client.get(f"/admin/members?org_id={b}").status_code == 403
    assert 'href="/committee"' not in client.get(f"/admin/members?org_id={b}").text


# Members

def new_member(world: World, **changes: str) -> dict[str, str]:
    return {"name": "张新", "org_id": str(world.branch_a), "category": "rural",
            "joined_on": "2015-07-01", "username": "zhangxin", "password": "first-pass-1",
            **changes}


def test_members_of_a_branch(world: World, client: TestClient) -> None:
    ok(world.post("admin", f"/orgs/{world.branch_b}/committee",
                  {"member_id": world.members["sec_a"]}), 201)
    web_login(client, "admin")
    page = client.get(f"/admin/members?org_id={world.branch_a}")
    assert page.status_code == 200
    row = block(page.text, f"member-{world.members['sec_a']}")
    assert "sec_a" in row and "在职" in row and "2010-07-01" in row
    assert "第一支部支委" in row and "第二支部支委" in row
    assert "第一支部支委" not in block(page.text, f"member-{world.members['a1']}")
    # The other branch's member is not listed (a bare "b1" could be part of a token).
    assert f"member-{world.members['b1']}\"" not in page.text and ">b1<" not in page.text
    chooser = client.get("/admin/members")
    assert "请选择支部" in chooser.text and f"org_id={world.branch_b}" in chooser.text


def test_create_a_member_who_can_then_log_in(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    answer = form_post(client, f"/admin/members?page_org={world.branch_a}", token,
                       new_member(world))
    assert location(answer).startswith(f"/admin/members?org_id={world.branch_a}&saved=")
    page = client.get(location(answer))
    assert "已添加党员张新，登录用户名 zhangxin" in page.text
    member_id = int(location(answer).rsplit("-", 1)[1])
    row = block(page.text, f"member-{member_id}")
    assert "张新" in row and "zhangxin" in row and "农村无职" in row
    web_login(client, "zhangxin", "first-pass-1")
    assert client.get("/", follow_redirects=False).headers["location"] == "/me"


def test_a_taken_username_reshows_the_form_and_writes_nothing(world: World,
                                                              client: TestClient) -> None:
    token = web_login(client, "admin")
    before = ok(world.get("admin", "/members"))["total"]
    typed = new_member(world, username="a1", name="李重名")
    answer = form_post(client, f"/admin/members?page_org={world.branch_a}", token, typed)
    assert answer.status_code == 409
    assert "用户名已被使用" in answer.text and "<html" in answer.text
    for value in ('value="李重名"', 'value="a1"', 'value="2015-07-01"'):
        assert value in answer.text
    assert 'value="rural" selected' in answer.text
    assert 'first-pass-1' not in answer.text  # the password is typed again, never echoed
    htmx = form_post(client, "/admin/members", token, typed, htmx=True)
    assert htmx.status_code == 409 and 'id="member-form"' in htmx.text
    assert "<html" not in htmx.text and "用户名已被使用" in htmx.text
    for bad, message in ((new_member(world, username="x y"), "用户名须为"),
                         (new_member(world, password="short"), "密码至少8位"),
                         (new_member(world, joined_on="2026-02-01"), "日期不能晚于今天"),
                         (new_member(world, joined_on=""), "入党（转入）日期"),
                         (new_member(world, org_id=str(world.party)), "只有党支部"),
                         (new_member(world, category="vip"), "请选择党员类别")):
        refused = form_post(client, "/admin/members", token, bad, htmx=True)
        assert refused.status_code == 422 and message in refused.text, (bad, refused.text)
    assert ok(world.get("admin", "/members"))["total"] == before


def test_a_committee_member_manages_members_of_their_branch_only(world: World,
                                                                 client: TestClient) -> None:
    token = web_login(client, "sec_a")
    assert client.get(f"/admin/members?org_id={world.branch_a}").status_code == 200
    assert client.get(f"/admin/members?org_id={world.branch_b}").status_code == 404
    answer = form_post(client, f"/admin/members?page_org={world.branch_a}", token,
                       new_member(world, org_id=str(world.branch_b)))
    assert answer.status_code == 404 and "不在您的权限范围内" in answer.text
    created = form_post(client, "/admin/members", token, new_member(world))
    assert location(created).startswith(f"/admin/members?org_id={world.branch_a}")
    # The tree shows their own part, without the administrator's controls.
    tree = client.get("/admin")
    assert tree.status_code == 200 and "第一支部" in tree.text and "第二支部" not in tree.text
    assert "设置支委" not in tree.text and 'id="org-form"' not in tree.text
    assert form_post(client, "/admin/orgs", token, {"name": "x", "kind": "branch"},
                     htmx=True).status_code == 403


def test_edit_a_member_inline(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    a1 = world.members["a1"]
    edit = client.get(f"/admin/members/{a1}/edit", headers=HTMX)
    assert edit.status_code == 200 and edit.headers["Vary"].startswith("HX-Request")
    assert edit.text.lstrip().startswith(f'<tr id="member-{a1}" class="editing">')
    assert 'name="name" value="a1"' in edit.text
    saved = form_post(client, f"/admin/members/{a1}", token,
                      {"name": "王小明", "category": "retired"}, htmx=True)
    assert saved.status_code == 200 and saved.headers["Vary"].startswith("HX-Request")
    assert saved.text.lstrip().startswith(f'<tr id="member-{a1}"')
    assert "<html" not in saved.text and "王小明" in saved.text and "离退休" in saved.text
    assert ok(world.get("admin", f"/members/{a1}"))["category"] == "retired"

    empty = form_post(client, f"/admin/members/{a1}", token,
                      {"name": "", "category": "active"}, htmx=True)
    assert empty.status_code == 422 and "请填写姓名" in empty.text and "editing" in empty.text
    assert ok(world.get("admin", f"/members/{a1}"))["name"] == "王小明"

    # Without JavaScript: the page with the row open, then a 303 back to it.
    plain = client.get(f"/admin/members/{a1}/edit", follow_redirects=False)
    assert location(plain) == f"/admin/members?org_id={world.branch_a}&edit={a1}#member-{a1}"
    assert 'class="editing"' in client.get(location(plain)).text
    back = form_post(client, f"/admin/members/{a1}", token, {"name": "王明", "category": "active"})
    assert location(back) == f"/admin/members?org_id={world.branch_a}&saved={a1}#member-{a1}"
    after = client.get(location(back)).text
    assert "已保存" in after and f'<tr id="member-{a1}" class="saved">' in after


def test_mark_exempt_needs_a_reason_and_can_be_cleared(world: World,
                                                       client: TestClient) -> None:
    token = web_login(client, "admin")
    a4 = world.members["a4"]
    refused = form_post(client, f"/admin/members/{a4}/exempt", token, {"exempt_reason": " "},
                        htmx=True)
    assert refused.status_code == 422 and "标注免评须写明原因" in refused.text
    assert refused.text.lstrip().startswith(f'<tr id="member-{a4}"')
    assert ok(world.get("admin", f"/members/{a4}"))["exempt"] is False
    plain = form_post(client, f"/admin/members/{a4}/exempt", token, {"exempt_reason": ""})
    assert plain.status_code == 422 and "标注免评须写明原因" in plain.text

    marked = form_post(client, f"/admin/members/{a4}/exempt", token,
                       {"exempt_reason": "长期患病"}, htmx=True)
    assert marked.status_code == 200 and "长期患病" in marked.text and "取消免评" in marked.text
    body = ok(world.get("admin", f"/members/{a4}"))
    assert (body["exempt"], body["exempt_reason"]) == (True, "长期患病")
    page = client.get(f"/admin/members?org_id={world.branch_a}")
    assert "长期患病" in block(page.text, f"member-{a4}")

    cleared = form_post(client, f"/admin/members/{a4}/unexempt", token)
    assert location(cleared) == f"/admin/members?org_id={world.branch_a}&saved={a4}#member-{a4}"
    assert ok(world.get("admin", f"/members/{a4}"))["exempt"] is False


def test_a_plain_member_gets_the_no_permission_page(world: World, client: TestClient) -> None:
    token = web_login(client, "a1")
    a2 = world.members["a2"]
    for path in ("/admin", f"/admin/members?org_id={world.branch_a}", "/admin/rules",
                 f"/admin/members/{a2}/edit"):
        page = client.get(path)
        assert page.status_code == 403 and "<html" in page.text, path
    refusal = client.get("/admin").text
    assert "没有权限" in refusal and "只有支委或管理员可以进行此操作" in refusal
    for path, data in (("/admin/orgs", {"name": "x", "kind": "branch"}),
                       (f"/admin/orgs/{world.branch_a}/committee",
                        {"member_id": world.members["a1"]}),
                       ("/admin/members", new_member(world)),
                       (f"/admin/members/{world.members['a1']}", {"name": "我自己",
                                                                   "category": "active"}),
                       ("/admin/rules/P01?year=2026", {"name": "x"})):
        answer = form_post(client, path, token, data, htmx=True)
        assert answer.status_code == 403, (path, answer.status_code)
        assert "flash-error" in answer.text and answer.headers["HX-Retarget"] == "#flash"
    assert ok(world.get("admin", f"/members/{world.members['a1']}"))["name"] == "a1"


# Rules

def rule_form(name: str, points: str | None = None, cap: str | None = None,
              categories: tuple[str, ...] = ("active", "mobile", "retired", "rural"),
              ) -> dict[str, Any]:
    form: dict[str, Any] = {"name": name, "categories": list(categories),
                            "shown": "points,cap,categories"}
    if points is not None:
        form["points"] = points
    if cap is not None:
        form["cap"] = cap
    return form


def api_rule(world: World, code: str, year: int = 2026) -> dict[str, Any]:
    items = ok(world.get("admin", "/rules", year=year))["items"]
    return next(i for i in items if i["code"] == code)  # type: ignore[no-any-return]


def test_rules_grouped_by_kind_and_edited_inline(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    page = client.get("/admin/rules?year=2026")
    assert page.status_code == 200 and "2026年度积分规则" in page.text
    for label in ("正向得分", "反向扣分", "现实表现加分", "现实表现扣分", "一票否决"):
        assert label in page.text
    assert "参加集中学习" in block(page.text, "rule-P01")
    assert "1–5" in block(page.text, "rule-B01")
    assert "规则已锁定" not in page.text

    edit = client.get("/admin/rules/P01/edit?year=2026", headers=HTMX)
    assert edit.status_code == 200 and 'name="points"' in edit.text
    assert 'name="points"' not in client.get("/admin/rules/B01/edit?year=2026",
                                             headers=HTMX).text
    saved = form_post(client, "/admin/rules/P01?year=2026", token,
                      rule_form("参加集中学习教育", "3", "12", ("active", "retired")), htmx=True)
    assert saved.status_code == 200 and saved.headers["Vary"].startswith("HX-Request")
    assert saved.text.lstrip().startswith('<tr id="rule-P01"') and "<html" not in saved.text
    assert "参加集中学习教育" in saved.text and "在职、离退休" in saved.text
    rule = api_rule(world, "P01")
    assert (rule["name"], rule["points"], rule["cap"], sorted(rule["categories"])) == (
        "参加集中学习教育", 3, 12, ["active", "retired"])
    no_cap = form_post(client, "/admin/rules/P02?year=2026", token,
                       rule_form("参加三会一课", "1", ""))
    assert location(no_cap) == "/admin/rules?year=2026&saved=P02#rule-P02"
    assert '<tr id="rule-P02" class="saved">' in client.get(location(no_cap)).text
    assert api_rule(world, "P02")["cap"] is None

    # Refusals in the row, with what was typed.
    fixed = form_post(client, "/admin/rules/B01?year=2026", token,
                      rule_form("现实表现加分", "3", "10"), htmx=True)
    assert fixed.status_code == 422 and "没有固定分值" in fixed.text
    assert 'class="editing"' in fixed.text
    no_category = form_post(client, "/admin/rules/P03?year=2026", token,
                            rule_form("主题党日改名", "2", "8", ()), htmx=True)
    assert no_category.status_code == 422 and "请至少选择一个适用类别" in no_category.text
    assert 'value="主题党日改名"' in no_category.text
    too_many = form_post(client, "/admin/rules/P03?year=2026", token,
                         rule_form("参加主题党日", "500", "8"))
    assert too_many.status_code == 422 and "每次分值须为1到100" in too_many.text
    assert api_rule(world, "P03")["points"] == 2 and api_rule(world, "B01")["points"] is None
    assert client.get("/admin/rules/X99/edit?year=2026", headers=HTMX).status_code == 404


def finalize_a_quarter(world: World, year: int = 2025, quarter: int = 1) -> None:
    """Freezes the year's rules: one branch's quarter reviewed, published and finalized."""
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": year, "quarter": quarter}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    assert ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))["status"] == "finalized"


def test_a_frozen_year_shows_the_lock_and_refuses_edits(world: World,
                                                        client: TestClient) -> None:
    finalize_a_quarter(world)
    token = web_login(client, "admin")
    page = client.get("/admin/rules?year=2025")
    assert page.status_code == 200 and "该年度已有季度确认，规则已锁定" in page.text
    assert "/edit" not in page.text and "编辑" not in page.text
    assert "/admin/rules/P01/edit" in client.get("/admin/rules?year=2026").text

    answer = form_post(client, "/admin/rules/P01?year=2025", token,
                       rule_form("改名", "3", "8"))
    assert location(answer) == "/"  # no Referer in the test: back to the start
    htmx = form_post(client, "/admin/rules/P01?year=2025", token, rule_form("改名", "3", "8"),
                     htmx=True)
    assert htmx.status_code == 409 and "积分规则已锁定" in htmx.text
    assert 'class="editing"' not in htmx.text and "/edit" not in htmx.text
    assert api_rule(world, "P01", 2025)["name"] == "参加集中学习"
    refused = client.post("/admin/rules/P01?year=2025", data={**rule_form("改名", "3", "8"),
                                                              "csrf_token": token},
                          headers={"Referer": "http://testserver/admin/rules?year=2025"},
                          follow_redirects=True)
    assert "积分规则已锁定" in refused.text and "规则已锁定" in refused.text
    locked_edit = client.get("/admin/rules/P01/edit?year=2025", headers=HTMX)
    assert "积分规则已锁定" in locked_edit.text and 'name="points"' not in locked_edit.text


def test_pages_work_without_javascript(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    for path in ("/admin", f"/admin/members?org_id={world.branch_a}", "/admin/rules"):
        page = client.get(path)
        assert page.status_code == 200 and page.headers["Vary"].startswith("HX-Request")
        # Every form that changes something posts with the CSRF token by itself.
        for form in re.findall(r'<form[^>]*method="post".*?</form>', page.text, re.S):
            assert 'name="csrf_token"' in form
    edit = client.get("/admin/rules/P04/edit?year=2026", follow_redirects=False)
    assert location(edit) == "/admin/rules?year=2026&edit=P04#rule-P04"
    assert 'name="points"' in client.get(location(edit)).text
    grant = form_post(client, f"/admin/orgs/{world.branch_a}/committee", token,
                      {"member_id": world.members["a2"]})
    assert location(grant) == f"/admin#org-{world.branch_a}"
