"""Understanding the score (issue 17), on the member's pages: the score before the notices,
积分怎么算 from the year's rule set, how far the next star is, the 合格线, review scores
out of the year's best, why a quarter has no review score, and a refused self-report in
the member's words. The clock stands at 2026-01-10 (moved to December where it says so)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models import Member
from app.points import Category, Kind, RatingParams, RuleItem, default_rule_set
from app.present.rule_words import next_star_text
from app.services.member_score import no_review
from app.services.rules_file import dump_rule_set
from tests.api.support import NO_NOTICE, World, approve_rating, ok
from tests.web.support import web_login
from tests.web.test_member import SELF_REPORT, quarter_text, report, text_of


def notices_line(page: str) -> str:
    match = re.search(r'<a class="card notices-line" href="/me/notices">(.*?)</a>', page, re.S)
    return match.group(1).strip() if match else ""


# The score first ---------------------------------------------------------------------------

def test_the_score_comes_before_many_notices_folded_into_one_line(world: World,
                                                                  client: TestClient) -> None:
    for day in ("2025-10-06", "2025-10-13", "2025-10-20", "2025-11-03", "2025-11-10",
                "2025-11-17"):
        world.entry("sec_a", "a1", "P01", day)
    web_login(client, "a1")
    page = client.get("/me").text
    assert notices_line(page) == "6条新消息 ›"
    # In the page's order: the title, the number, the stars, then the one line.
    order = [page.index(marker) for marker in (
        "<h1>2026年我的积分</h1>", 'class="big score-number"', 'class="stars"',
        'class="card notices-line"')]
    assert order == sorted(order)
    # The notices themselves are on their page, not here.
    assert "支委给您记了" not in page and 'class="notice-list' not in page
    assert "支委给您记了11月17日的「参加集中学习」，加2分" in client.get("/me/notices").text


def test_no_new_notices_no_line(world: World, client: TestClient) -> None:
    web_login(client, "a2")
    page = client.get("/me").text
    assert notices_line(page) == "" and "条新消息" not in page
    assert 'href="/me/notices">查看消息' in page


# 积分怎么算 ----------------------------------------------------------------------------------

def changed_rules(year: int) -> str:
    """The default rules with other numbers everywhere a member reads one."""
    rules = default_rule_set(year)
    items = []
    for item in rules.items:
        if item.code == "P01":
            item = replace(item, points=3, cap=9)
        elif item.code == "P02":
            item = replace(item, categories=frozenset({Category.retired}))
        elif item.code == "N06":
            item = replace(item, points=7)
        elif item.code == "B01":
            item = replace(item, min_points=2, max_points=6, cap=12)
        elif item.code == "V04":
            continue
        items.append(item)
    items.append(RuleItem("N11", Kind.negative, "酒后驾驶", 6))
    params = RatingParams(review_max=10, review_default=8,
                          star_thresholds=(50, 62, 75, 85, 94), unqualified_below=55,
                          basic_below=66, basic_single_deduction=8, excellent_min=88,
                          excellent_divisor=4)
    return dump_rule_set(replace(rules, items=tuple(items), params=params))


def import_rules(world: World, year: int, text: str) -> None:
    answer = world.client.post(f"/api/v1/rules/{year}/import", content=text.encode(),
                               headers={**world.as_("admin"),
                                        "Content-Type": "application/yaml"})
    assert answer.status_code in (200, 201), answer.text


def section(page: str, name: str) -> str:
    match = re.search(rf'<div class="card" id="how-{name}">(.*?)</div>', page, re.S)
    assert match, f"no section {name}"
    return text_of(match.group(1))


def rule_line(page: str, code: str) -> str:
    match = re.search(rf'<li data-rule="{code}">(.*?)</li>', page, re.S)
    assert match, f"no line for {code}"
    return text_of(match.group(1))


def test_how_scores_work_reads_the_default_rules(world: World, client: TestClient) -> None:
    web_login(client, "a1")
    me = client.get("/me").text
    assert 'href="/me/rules">积分怎么算 ›</a>' in me
    page = client.get("/me/rules").text
    assert "<h1>积分怎么算</h1>" in page and "2026年的规则" in page
    assert "全年得分最低0分，最高110分。" in section(page, "total")
    assert section(page, "positive").startswith("10项基本要求（加分）")
    assert rule_line(page, "P01") == "参加集中学习 每次加2分，全年最多加8分"
    assert rule_line(page, "P07") == "参加志愿服务 每小时加1分，全年最多加8分"
    assert rule_line(page, "N06") == "发表不当言论 每次扣10分"
    assert rule_line(page, "D01") == "现实表现扣分 每次扣1–10分"
    assert rule_line(page, "B01") == "现实表现加分 每次加1–5分，全年最多加10分"
    assert rule_line(page, "V04") == "严重违背社会公德造成恶劣影响"
    assert section(page, "negative").startswith("10个行为底线（扣分）")
    review = section(page, "review")
    assert "满分5分" in review and "“4/5”" in review and "按5分算" in review \
        and "评议分最多20分" in review
    stars = section(page, "stars")
    for band in ("96分及以上 五星", "90–95分 四星", "80–89分 三星", "70–79分 二星",
                 "60–69分 一星", "不到60分 没有星"):
        assert band in stars
    grades = section(page, "grades")
    for grade in ("优秀 90分及以上，按得分从高到低评定；每3名参评党员最多评1名优秀",
                  "合格 70分及以上", "基本合格 60–69分，或者有一次扣10分及以上",
                  "不合格 不到60分，或者有一票否决"):
        assert grade in grades
    assert "全年得分计为0分" in section(page, "veto")


def test_how_scores_work_follows_a_changed_rule_set(world: World, client: TestClient) -> None:
    import_rules(world, 2025, changed_rules(2025))
    web_login(client, "a1")
    page = client.get("/me/rules?year=2025").text
    assert "2025年的规则" in page and "看2026年的规则" in page
    # 9 positive caps of 8 and one of 9, a bonus of 12, four reviews of 10: 72 + 9 + 12 + 40.
    assert "全年得分最低0分，最高133分。" in section(page, "total")
    assert rule_line(page, "P01") == "参加集中学习 每次加3分，全年最多加9分"
    assert rule_line(page, "P02") == "参加“三会一课” 每次加1分，全年最多加8分 只适用于：离退休"
    assert rule_line(page, "N06") == "发表不当言论 每次扣7分"
    assert rule_line(page, "N11") == "酒后驾驶 每次扣6分"
    assert rule_line(page, "B01") == "现实表现加分 每次加2–6分，全年最多加12分"
    assert "V04" not in page and "严重违背社会公德" not in page
    assert section(page, "negative").startswith("11个行为底线（扣分）")
    review = section(page, "review")
    assert "满分10分" in review and "按8分算" in review and "评议分最多40分" in review
    stars = section(page, "stars")
    for band in ("94分及以上 五星", "85–93分 四星", "75–84分 三星", "62–74分 二星",
                 "50–61分 一星", "不到50分 没有星"):
        assert band in stars
    grades = section(page, "grades")
    for grade in ("优秀 88分及以上，按得分从高到低评定；每4名参评党员最多评1名优秀",
                  "合格 66分及以上", "基本合格 55–65分，或者有一次扣8分及以上",
                  "不合格 不到55分，或者有一票否决"):
        assert grade in grades
    # 2026 has no rules of its own yet: it reads 2025's, the rules it would start from.
    assert "最高133分" in client.get("/me/rules").text
    # An uncapped adding item: no highest score to promise.
    rules = default_rule_set(2025)
    uncapped = replace(rules, items=tuple(replace(i, cap=None) if i.code == "P07" else i
                                          for i in rules.items))
    import_rules(world, 2025, dump_rule_set(uncapped))
    page = client.get("/me/rules?year=2025").text
    assert "全年得分最低0分。" in section(page, "total") and "最高" not in section(page, "total")
    assert rule_line(page, "P07") == "参加志愿服务 每小时加1分"


def test_how_scores_work_is_for_members_and_years_that_are(world: World,
                                                           client: TestClient) -> None:
    assert client.get("/me/rules", follow_redirects=False).status_code in (303, 401)
    web_login(client, "admin")
    assert client.get("/me/rules").status_code == 404
    web_login(client, "a1")
    assert client.get("/me/rules?year=2027").status_code == 404
    assert client.get("/me/rules?year=abc").status_code == 422


def test_the_admin_rules_page_shows_the_star_and_grade_thresholds(
        world: World, client: TestClient) -> None:
    import_rules(world, 2025, changed_rules(2025))
    web_login(client, "admin")
    page = client.get("/admin/rules?year=2025").text
    stars = text_of(re.search(r'<table class="bands" id="star-bands">(.*?)</table>', page,
                              re.S).group(1))  # type: ignore[union-attr]
    assert stars == ("评星 全年得分 星级 94分及以上 五星 85–93分 四星 75–84分 三星 "
                     "62–74分 二星 50–61分 一星 不到50分 没有星")
    grades = text_of(re.search(r'<table class="bands" id="grade-bands">(.*?)</table>', page,
                               re.S).group(1))  # type: ignore[union-attr]
    assert "优秀 88分及以上" in grades and "基本合格 55–65分，或者有一次扣8分及以上" in grades
    assert "评议分：每季度0到10分，公示时没有打分的按8分算。" in page
    web_login(client, "sec_a")  # the committee reads the page too
    assert "不到50分 没有星" in text_of(client.get("/admin/rules?year=2025").text)


# The next star -----------------------------------------------------------------------------

DEFAULT = RatingParams()
OTHER = RatingParams(star_thresholds=(50, 62, 75, 85, 94))


@pytest.mark.parametrize(("score", "vetoed", "params", "expected"), [
    (0, False, DEFAULT, "再得60分升为一星"),
    (59, False, DEFAULT, "再得1分升为一星"),
    (60, False, DEFAULT, "再得10分升为二星"),
    (73, False, DEFAULT, "再得7分升为三星"),
    (86, False, DEFAULT, "再得4分升为四星"),
    (95, False, DEFAULT, "再得1分升为五星"),
    (96, False, DEFAULT, None),
    (110, False, DEFAULT, None),
    (40, True, DEFAULT, None),
    (73, False, OTHER, "再得2分升为三星"),
    (93, False, OTHER, "再得1分升为五星"),
    (94, False, OTHER, None),
])
def test_points_to_the_next_star(score: int, vetoed: bool, params: RatingParams,
                                 expected: str | None) -> None:
    assert next_star_text(score, vetoed, params) == expected


def next_star_on(page: str) -> str | None:
    match = re.search(r'<p class="next-star">(.*?)</p>', page)
    return match.group(1) if match else None


def test_my_page_says_how_far_the_next_star_is_by_the_years_bands(world: World,
                                                                 client: TestClient) -> None:
    world.entry("sec_a", "a1", "P01", "2025-02-10", quantity=3)  # 6 points
    web_login(client, "a1")
    assert next_star_on(client.get("/me?year=2025").text) == "再得54分升为一星"
    # 2026: nothing yet.
    assert next_star_on(client.get("/me").text) == "再得60分升为一星"
    import_rules(world, 2025, changed_rules(2025))
    assert next_star_on(client.get("/me?year=2025").text) == "再得44分升为一星"


def test_no_next_star_once_vetoed_or_exempt(world: World, client: TestClient) -> None:
    world.entry("sec_a", "a2", "P01", "2026-01-05", quantity=2)
    world.entry("sec_a", "a2", "V01", "2026-01-06", note="受到党内警告处分")
    web_login(client, "a2")
    assert next_star_on(client.get("/me").text) is None
    ok(world.put("admin", f"/members/{world.members['a3']}/exemptions/2026", {
        "reason_kind": "bedridden", "note": "长期卧床",
        "parent_consent_on": "2026-01-05", "meeting_on": "2026-01-06"}))
    web_login(client, "a3")
    page = client.get("/me").text
    assert "免评" in page and next_star_on(page) is None


def finalize_year(world: World, year: int, scores: dict[str, int] | None = None) -> None:
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": year, "quarter": quarter}), 201)["id"]
        if scores:
            ok(world.put("sec_a", f"/reviews/{review}/scores", {"scores": {
                str(world.members[m]): s for m, s in scores.items()}}))
        ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review}/finalize"))


def test_no_next_star_once_the_rating_is_approved(world: World, client: TestClient) -> None:
    finalize_year(world, 2025)
    rating = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025}), 201)
    web_login(client, "a1")
    # Four quarters confirmed, the rating not yet approved: the score is what it will be.
    assert next_star_on(client.get("/me?year=2025").text) is None
    approve_rating(world, rating["id"])
    page = client.get("/me?year=2025").text
    assert "年度等次" in page and next_star_on(page) is None


# The 合格线 and review scores out of the year's best --------------------------------------------

def test_the_chart_names_its_line_from_the_rules(world: World, client: TestClient) -> None:
    web_login(client, "a1")
    page = client.get("/me?year=2025").text
    assert '<text class="ref-name"' in page and ">合格线</text>" in page
    assert re.search(r'<text class="ref-label"[^>]*>70</text>', page)
    assert "合格线70分" in page  # in the words a screen reader reads
    import_rules(world, 2025, changed_rules(2025))
    page = client.get("/me?year=2025").text
    assert re.search(r'<text class="ref-label"[^>]*>66</text>', page) and "合格线66分" in page


def test_review_scores_are_out_of_the_years_best(world: World, client: TestClient) -> None:
    finalize_year(world, 2025, {"a1": 3})
    web_login(client, "a1")
    page = client.get("/me?year=2025").text
    assert quarter_text(page, 1).startswith("第一季度 已确认 评议分 3/5 ")
    assert "评议分每季度满分5分，支部公示后计入。" in page
    assert "“—”" not in page  # every quarter has its score: nothing to explain
    reviews = ok(world.get("sec_a", "/reviews", org_id=world.branch_a, year=2025))["items"]
    sheet_id = next(r["id"] for r in reviews if r["quarter"] == 1)
    sheet = client.get(f"/me/results/{sheet_id}").text
    mine = re.search(r'<div class="card mine-card">(.*?)</dl>', sheet, re.S)
    assert mine and "评议分 3/5" in text_of(mine.group(1))
    assert "3/5" in client.get(f"/me/results/{sheet_id}/print").text
    # This year's first quarter: not published yet, and said so.
    page = client.get("/me").text
    assert quarter_text(page, 1) == "第一季度 进行中 评议分 — 本季变化 0 累计 0"
    assert "“—”表示支部还没有公示这个季度的评议分。" in page


# A member recorded in December -----------------------------------------------------------------

def december_with_three_quarters_confirmed(world: World) -> None:
    """2025-12-10 (the clock set back a month: a token is refused whose issue is later than
    the real time): branch A's 2025 Q1 to Q3 confirmed, Q4 not reviewed yet."""
    world.clock.advance(days=-31)
    for quarter in (1, 2, 3):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)["id"]
        ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review}/finalize"))


RECORDED = "这个季度在您录入本支部之前，不计评议分。"
NOT_JOINED = "这个季度您还没有入党，不计评议分。"
NOT_PUBLISHED = "“—”表示支部还没有公示这个季度的评议分。"


@pytest.mark.parametrize(("joined_on", "why"), [
    # Joined long ago, recorded in December: every confirmed quarter was before the record.
    ("2010-07-01", {1: RECORDED, 2: RECORDED, 3: RECORDED}),
    # Joined in August: before that not a member; Q3 was reviewed before the record.
    ("2025-08-15", {1: NOT_JOINED, 2: NOT_JOINED, 3: RECORDED}),
])
def test_a_member_recorded_in_december_is_told_why_earlier_quarters_have_no_score(
        world: World, client: TestClient, joined_on: str, why: dict[int, str]) -> None:
    december_with_three_quarters_confirmed(world)
    world.add_member("newbie", world.branch_a, joined_on=joined_on)
    web_login(client, "newbie")
    page = client.get("/me").text
    for quarter, reason in why.items():
        assert quarter_text(page, quarter) == \
            f"{('第一季度', '第二季度', '第三季度')[quarter - 1]} 已确认 评议分 不计 " \
            f"本季变化 0 累计 0 {reason}"
    # Q4 is still open: its "—" is not published yet, and only it is said to be.
    assert quarter_text(page, 4) == "第四季度 进行中 评议分 — 本季变化 0 累计 0"
    assert NOT_PUBLISHED in page
    assert page.count("—") - page.count("“—”") == 1
    # The results sheet of a confirmed quarter says why my line is not on it.
    reviews = ok(world.get("sec_a", "/reviews", org_id=world.branch_a, year=2025))["items"]
    q1 = next(r["id"] for r in reviews if r["quarter"] == 1)
    sheet = client.get(f"/me/results/{q1}").text
    assert why[1] in sheet and 'id="my-line"' not in sheet


def test_a_member_on_the_sheet_gets_no_explanation(world: World, client: TestClient) -> None:
    december_with_three_quarters_confirmed(world)
    web_login(client, "a1")
    page = client.get("/me").text
    assert "不计" not in page and quarter_text(page, 1).startswith("第一季度 已确认 评议分 5/5")


# A refused self-report in the member's words --------------------------------------------------

COMMITTEE_WORDS = "更正请在未确认季度新增一条记录"


def test_a_member_reporting_into_a_confirmed_quarter_is_told_what_they_can_do(
        world: World, client: TestClient) -> None:
    finalize_year(world, 2025)
    token = web_login(client, "a1")
    answer = report(client, token, {**SELF_REPORT, "occurred_on": "2025-11-20"})
    assert answer.status_code == 409
    said = text_of(answer.text)
    assert "2025年第四季度已经确认，不能再申报这个季度的事情。" in said
    assert "现在可以申报2026年1月1日及以后的事情；如果日期填错了，请改正后再提交。" in said
    assert "如果有漏记或记错，请找支部委员更正。" in said
    assert COMMITTEE_WORDS not in said
    # The form keeps what was typed.
    assert 'value="2025-11-20"' in answer.text
    # HTMX: the same words by the button.
    htmx = report(client, token, {**SELF_REPORT, "occurred_on": "2025-11-20"}, htmx=True)
    assert htmx.status_code == 409 and htmx.headers["HX-Retarget"] == "#report-error"
    assert "现在可以申报2026年1月1日及以后的事情" in htmx.text
    # The API's code is the same.
    api = world.post("a1", "/entries", {"member_id": world.members["a1"], "rule_code": "P01",
                                        "occurred_on": "2025-11-20"})
    assert api.status_code == 409 and api.json()["code"] == "quarter_locked"


def test_when_every_quarter_so_far_is_confirmed_the_member_is_not_sent_to_one(
        world: World, client: TestClient) -> None:
    december_with_three_quarters_confirmed(world)
    # Q4 confirmed early, in December, with the reason the early step needs.
    q4 = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                       {"year": 2025, "quarter": 4}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{q4}/publish", {**NO_NOTICE, "reason": EARLY}))
    ok(world.post("sec_a", f"/reviews/{q4}/finalize", {"reason": EARLY}))
    token = web_login(client, "a1")
    answer = report(client, token, {**SELF_REPORT, "occurred_on": "2025-12-05"})
    said = text_of(answer.text)
    assert answer.status_code == 409
    assert "2025年第四季度已经确认" in said
    assert "今年到现在的各个季度都已经确认，现在不能申报。" in said
    assert "现在可以申报" not in said and COMMITTEE_WORDS not in said


EARLY = "年底集中评议，全体党员到会"


def test_the_committee_keeps_its_own_words(world: World, client: TestClient) -> None:
    finalize_year(world, 2025)
    token = web_login(client, "sec_a")
    answer = client.post("/committee/record", data=record_form(world, token),
                         follow_redirects=False)
    assert answer.status_code == 409, answer.text[:500]
    assert COMMITTEE_WORDS in answer.text and "现在可以申报" not in answer.text


def record_form(world: World, token: str) -> dict[str, Any]:
    return {"csrf_token": token, "member_id": str(world.members["a2"]), "rule_code": "P01",
            "occurred_on": "2025-11-20", "quantity": "1", "note": ""}


@pytest.mark.parametrize(("joined_on", "recorded", "state", "listed", "expected"), [
    ("2010-07-01", "2025-03-15", "finalized", True, None),  # on the sheet
    ("2010-07-01", "2025-03-15", "draft", False, None),  # may still be: not published yet
    ("2010-07-01", "2025-03-15", "open", False, None),
    ("2010-07-01", "2025-03-15", "published", False, "not_listed"),  # came after the sheet
    ("2010-07-01", "2025-04-01", "finalized", False, "not_recorded"),
    ("2025-04-01", "2025-04-01", "open", False, "not_joined"),  # whatever the state
    ("2025-04-01", "2025-04-01", "finalized", False, "not_joined"),
    ("2025-03-31", "2025-04-02", "finalized", False, "not_recorded"),
])
def test_why_a_quarter_has_no_review_score(joined_on: str, recorded: str, state: str,
                                           listed: bool, expected: str | None) -> None:
    """Q1 2025, by the member's joining and recording days (recorded at 10:00 Beijing)."""
    member = Member(name="x", org_id=1, category="active", joined_on=date.fromisoformat(joined_on),
                    created_at=datetime.fromisoformat(f"{recorded}T02:00:00+00:00"))
    assert no_review(member, 2025, 1, state, listed) == expected


def test_my_entries_say_which_entry_the_cap_stopped(world: World, client: TestClient) -> None:
    """P01 is 2 points an entry, 8 a year: of five approved, the fifth counts nothing and
    says so; with a quantity of 3 (6 points) after three (6), only 2 count."""
    for day in ("2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05", "2026-01-06"):
        world.entry("sec_a", "a1", "P01", day)
    world.entry("sec_a", "a2", "P01", "2026-01-02", quantity=3)
    world.entry("sec_a", "a2", "P01", "2026-01-03", quantity=3)
    web_login(client, "a1")
    html = client.get("/me/entries").text
    assert html.count("已达全年上限") == 1
    newest = html.index('class="entry-cap"')
    assert newest < html.index("1月5日") and "这一条不再计分" in html
    web_login(client, "a2")
    html = client.get("/me/entries").text
    assert "已达全年上限，这一条只计2分" in html and html.count("已达全年上限") == 1
