"""Exports as .xlsx and CSV: a review sheet (公示), a rating, an organisation's summary.

Branch A's 2025, recorded through the API (points per unit: P01 2, P02 1, P03 2, P04 2,
P05 2, P06 4, P07 1, P08 2, P09 2, P10 4, each capped at 8; N01 −2):
  a1      Q1 P01×4 P02×8 P03×4 P04×4 (32) | Q2 P05×4 P06×2 (16) | Q3 P07×8 P08×4 (16) |
          Q4 P09×4 P10×2 (16); reviews 5 5 5 5 -> ytd 37, 58, 79, 100: 5 stars, excellent
  a2      Q1 P01×2 (4), review 4 | Q2 N01 (−2) -> ytd 8, 11, 16, 21: unqualified
  a3      Q2 V01 -> ytd 5, 0, 0, 0, vetoed: unqualified
  sec_a, vice_a, a4: reviews only (5 each) -> 5, 10, 15, 20: unqualified; sec_a's grade
          changed to basically qualified with a reason.
One wrong entry of a1 is revoked. a2 objects to Q1 (resolved). n = 6, at most 2 excellent.
Branch B: b1 self-reports P01 in Q1 (pending); Q1's review stays a draft; no rating.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session, col

from app.clock import CHINA
from app.models import Entry
from tests.api.support import World, approve_rating, ok, refused
from tests.web.support import web_login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Q_DATES = {1: "2025-02-14", 2: "2025-05-14", 3: "2025-08-14", 4: "2025-11-14"}
RECORDS = {
    1: [("a1", "P01", 4), ("a1", "P02", 8), ("a1", "P03", 4), ("a1", "P04", 4),
        ("a2", "P01", 2)],
    2: [("a1", "P05", 4), ("a1", "P06", 2), ("a2", "N01", 1), ("a3", "V01", 0)],
    3: [("a1", "P07", 8), ("a1", "P08", 4)],
    4: [("a1", "P09", 4), ("a1", "P10", 2)],
}
BRANCH_A = ["sec_a", "vice_a", "a1", "a2", "a3", "a4"]
REVIEW_HEADINGS = ["支部", "年度", "季度", "党员编号", "姓名", "评议分", "本季得分", "累计得分",
                   "异议数", "评议状态", "公示截止（北京时间）"]


def record(world: World, quarter: int, member: str, code: str, quantity: int) -> Any:
    # A veto says why (issue 17).
    extra = {"note": "受到党纪处分"} if code.startswith("V") else {"quantity": quantity}
    return world.entry("sec_a", member, code, Q_DATES[quarter], **extra)


def play_year(world: World) -> dict[str, Any]:
    """Branch A's four quarters and its rating; B's pending entry and draft review."""
    a = world.branch_a
    wrong = record(world, 1, "a1", "P05", 3)
    ok(world.post("sec_a", f"/entries/{wrong['id']}/revoke", {"reason": "录错"}))
    world.entry("b1", "b1", "P01", Q_DATES[1])
    draft_b = ok(world.post("sec_b", f"/orgs/{world.branch_b}/reviews",
                            {"year": 2025, "quarter": 1}), 201)
    reviews: dict[int, dict[str, Any]] = {}
    published_at: dict[int, datetime] = {}
    for quarter in (1, 2, 3, 4):
        for member, code, quantity in RECORDS[quarter]:
            record(world, quarter, member, code, quantity)
        review = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": quarter}),
                    201)
        if quarter == 1:
            ok(world.put("sec_a", f"/reviews/{review['id']}/scores",
                         {"scores": {str(world.members["a2"]): 4}}))
        ok(world.post("sec_a", f"/reviews/{review['id']}/publish", {"notice_days": 5}))
        published_at[quarter] = world.clock.now()
        if quarter == 1:
            objection = ok(world.post("a2", f"/reviews/{review['id']}/objections",
                                      {"text": "评议分偏低"}), 201)
            ok(world.post("sec_a", f"/objections/{objection['id']}/resolve",
                          {"response": "经核实, 维持4分"}))
        world.clock.advance(days=6)
        reviews[quarter] = ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    rating = ok(world.post("sec_a", f"/orgs/{a}/ratings", {"year": 2025}), 201)
    ok(world.patch("sec_a", f"/ratings/{rating['id']}/items/{world.members['sec_a']}",
                   {"grade": "basically_qualified", "reason": "全年坚持值班, 酌情调整"}))
    changed_at = world.clock.now()
    return {"reviews": reviews, "published_at": published_at, "draft_b": draft_b,
            "rating": rating, "changed_at": changed_at}


@pytest.fixture
def year(world: World) -> dict[str, Any]:
    return play_year(world)


def beijing(moment: datetime) -> datetime:
    return moment.astimezone(CHINA).replace(tzinfo=None)


def sheet_of(answer: Any, index: int = 0) -> Worksheet:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(answer.content))
    return book.worksheets[index]


def rows_of(ws: Worksheet) -> list[list[Any]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def csv_of(answer: Any) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def test_review_sheet_as_xlsx_and_csv(world: World, year: dict[str, Any]) -> None:
    q1 = year["reviews"][1]
    notice = beijing(year["published_at"][1] + timedelta(days=5))
    answer = world.get("sec_a", f"/reviews/{q1['id']}/export")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert f'filename="review-{q1["id"]}-2025-q1.xlsx"' in disposition
    assert "filename*=UTF-8''" + quote("第一支部-2025年第一季度评议.xlsx") in disposition
    ws = sheet_of(answer)
    assert ws.title == "评议公示" and ws.freeze_panes == "A2"
    rows = rows_of(ws)
    assert rows[0] == REVIEW_HEADINGS
    m = world.members
    expected = {  # name: (review score, delta, ytd, objections)
        "sec_a": (5, 5, 5, 0), "vice_a": (5, 5, 5, 0), "a1": (5, 37, 37, 0),
        "a2": (4, 8, 8, 1), "a3": (5, 5, 5, 0), "a4": (5, 5, 5, 0)}
    assert rows[1:] == [["第一支部", 2025, 1, m[n], n, *expected[n][:3], expected[n][3], "已确认",
                         notice] for n in BRANCH_A]
    # Real cell types: numbers are numbers, the notice's end a date and time.
    line = ws[3]
    assert [c.data_type for c in line[:9]] == ["s", "n", "n", "n", "s", "n", "n", "n", "n"]
    assert line[10].is_date and line[10].number_format == "yyyy-mm-dd hh:mm"

    # The same numbers in Q4, and as CSV.
    q4 = year["reviews"][4]
    table = csv_of(world.get("sec_a", f"/reviews/{q4['id']}/export", format="csv"))
    assert table[0] == REVIEW_HEADINGS
    a1 = next(r for r in table if r[4] == "a1")
    notice4 = beijing(year["published_at"][4] + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    assert a1 == ["第一支部", "2025", "4", str(m["a1"]), "a1", "5", "21", "100", "0", "已确认",
                  notice4]
    a3 = next(r for r in table if r[4] == "a3")
    assert a3[5:8] == ["5", "0", "0"]
    assert len(table) == 7


def test_review_export_follows_who_may_read_the_review(world: World,
                                                       year: dict[str, Any]) -> None:
    q1, draft_b = year["reviews"][1], year["draft_b"]
    # A member of A reads the published sheet: their own objections only.
    table = csv_of(world.get("a2", f"/reviews/{q1['id']}/export", format="csv"))
    counts = {r[4]: r[8] for r in table[1:]}
    assert counts == {"sec_a": "", "vice_a": "", "a1": "", "a2": "1", "a3": "", "a4": ""}
    assert {r[4]: r[8] for r in csv_of(world.get(
        "a1", f"/reviews/{q1['id']}/export", format="csv"))[1:]}["a1"] == "0"
    # Branch B's member, committee and the other branch's secretary cannot see A's review.
    for who in ("b1", "sec_b"):
        refused(world.get(who, f"/reviews/{q1['id']}/export"), 404, "not_found")
    # B's draft: hidden from its own member and from A's committee; B's committee and the
    # party secretary above both branches may export it.
    for who in ("b1", "sec_a", "a1"):
        refused(world.get(who, f"/reviews/{draft_b['id']}/export", format="csv"), 404)
    for who in ("sec_b", "party_sec", "admin"):
        table = csv_of(world.get(who, f"/reviews/{draft_b['id']}/export", format="csv"))
        # Draft: score unset (blank) but counted as 5 in the running total.
        assert [r[4:10] for r in table[1:]] == [
            [n, "", "5", "5", "0", "草稿"] for n in ("sec_b", "b1", "party_sec")]
    refused(world.get("sec_a", "/reviews/987654/export"), 404)
    refused(world.get("sec_a", f"/reviews/{q1['id']}/export", format="pdf"), 422)
    refused(world.get("sec_a", "/reviews/0/export"), 422)
    assert world.client.get(f"/api/v1/reviews/{q1['id']}/export").status_code == 401


RATING_HEADINGS = ["支部", "年度", "党员编号", "姓名", "年度得分", "星级", "一票否决", "免评",
                   "全年扣分", "拟定等次", "等次", "调整等次", "调整理由", "调整时间（北京时间）",
                   "评定状态", "审定时间（北京时间）"]


def test_rating_as_xlsx_and_csv_and_who_may_export_it(world: World,
                                                      year: dict[str, Any]) -> None:
    rid, m = year["rating"]["id"], world.members
    changed = beijing(year["changed_at"])
    ws = sheet_of(world.get("sec_a", f"/ratings/{rid}/export", format="xlsx"))
    assert ws.title == "评星定级" and ws.freeze_panes == "A2"
    rows = rows_of(ws)
    assert rows[0] == RATING_HEADINGS
    unqualified = ["不合格", "不合格", False, None, None, "草稿", None]
    assert rows[1:] == [
        ["第一支部", 2025, m["sec_a"], "sec_a", 20, 0, False, False, 0,
         "不合格", "基本合格", True, "全年坚持值班, 酌情调整", changed, "草稿", None],
        ["第一支部", 2025, m["vice_a"], "vice_a", 20, 0, False, False, 0, *unqualified],
        ["第一支部", 2025, m["a1"], "a1", 100, 5, False, False, 0,
         "优秀", "优秀", False, None, None, "草稿", None],
        ["第一支部", 2025, m["a2"], "a2", 21, 0, False, False, 2, *unqualified],
        ["第一支部", 2025, m["a3"], "a3", 0, 0, True, False, 0, *unqualified],
        ["第一支部", 2025, m["a4"], "a4", 20, 0, False, False, 0, *unqualified],
    ]
    assert ws["G2"].data_type == "b" and ws["E4"].data_type == "n" and ws["N2"].is_date

    # Members see it once published, never another branch; without deduction details and
    # with no reason but their own line's (appraisal.md §2.5).
    refused(world.get("a1", f"/ratings/{rid}/export"), 404)
    approve_rating(world, rid)
    approved = beijing(world.clock.now()).strftime("%Y-%m-%d %H:%M")
    answer = world.get("a1", f"/ratings/{rid}/export", format="csv")
    assert f'filename="rating-{rid}-2025.csv"' in answer.headers["content-disposition"]
    assert quote("第一支部-2025年度评星定级.csv") in answer.headers["content-disposition"]
    table = csv_of(answer)
    assert table[0] == RATING_HEADINGS
    # sec_a's proposal (不合格) and the committee's change are not a1's to see: the API
    # answers proposed_grade null to a member for another's line, and so does the export.
    assert table[1] == ["第一支部", "2025", str(m["sec_a"]), "sec_a", "20", "0", "", "否", "",
                        "", "基本合格", "", "", "", "已审定", approved]
    assert table[3][4:6] == ["100", "5"] and table[5][6] == ""
    assert table[3][9:12] == ["优秀", "优秀", "否"]  # a1's own line: proposal and grade
    assert {row[9] for row in table[1:] if row[3] != "a1"} == {""}
    lines = {i["name"]: i for i in ok(world.get("a1", f"/ratings/{rid}"))["items"]}
    assert lines["a1"]["proposed_grade"] == "excellent"
    assert {lines[n]["proposed_grade"] for n in lines if n != "a1"} == {None}
    for who in ("b1", "sec_b"):
        refused(world.get(who, f"/ratings/{rid}/export"), 404)
    party = csv_of(world.get("party_sec", f"/ratings/{rid}/export", format="csv"))
    assert party[1] == ["第一支部", "2025", str(m["sec_a"]), "sec_a", "20", "0", "否", "否", "0",
                        "不合格", "基本合格", "是", "全年坚持值班, 酌情调整",
                        changed.strftime("%Y-%m-%d %H:%M"), "已审定", approved]
    assert party[5][6] == "是"
    refused(world.get("sec_a", "/ratings/987654/export"), 404)
    refused(world.get("sec_a", f"/ratings/{rid}/export", format="XLSX"), 422)


SUMMARY_HEADINGS = ["支部编号", "支部", "上级组织", "党员数", "待审核记录", "已通过记录",
                    "未通过记录", "已撤销记录", "第一季度评议", "第二季度评议", "第三季度评议",
                    "第四季度评议", "已确认季度数", "评定状态", "优秀", "合格", "基本合格",
                    "不合格", "免评", "预备党员", "5星", "4星", "3星", "2星", "1星", "0星"]
MEMBER_HEADINGS = ["支部编号", "支部", "党员编号", "姓名", "年度得分", "星级", "一票否决", "免评",
                   "等次", "得分来源"]


def test_summary_of_the_party_committee(world: World, year: dict[str, Any]) -> None:
    a, b, m = world.branch_a, world.branch_b, world.members
    answer = world.get("party_sec", f"/orgs/{world.party}/summary/export", year=2025)
    assert f'filename="summary-{world.party}-2025.xlsx"' in answer.headers["content-disposition"]
    assert quote("某镇党委-2025年度汇总.xlsx") in answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["支部汇总", "党员年度得分"]
    branches, people = book.worksheets
    assert branches.freeze_panes == "A2" and people.freeze_panes == "A2"
    # A: 13 approved entries and the revoked one; four finalized quarters; the draft rating.
    row_a = [a, "第一支部", "某镇党委", 6, 0, 13, 0, 1, "已确认", "已确认", "已确认", "已确认", 4,
             "草稿", 1, 0, 1, 4, 0, 0, 1, 0, 0, 0, 0, 5]
    row_b = [b, "第二支部", "某镇党委", 3, 1, 0, 0, 0, "草稿", "未开始", "未开始", "未开始", 0,
             "未评定", *[None] * 12]
    assert rows_of(branches) == [SUMMARY_HEADINGS, row_a, row_b]
    assert all(c.data_type == "n" for c in branches[2][3:8])
    member_rows = rows_of(people)
    assert member_rows[0] == MEMBER_HEADINGS
    assert member_rows[3] == [a, "第一支部", m["a1"], "a1", 100, 5, False, False, "优秀",
                              "评定草稿"]
    assert member_rows[1][8] == "基本合格"
    # B has no rating: the provisional score (b1's pending entry and the draft review do
    # not count yet).
    assert member_rows[7:] == [[b, "第二支部", m[n], n, 0, 0, False, False, None, "暂计"]
                               for n in ("sec_b", "b1", "party_sec")]

    # CSV: one sheet, the branches unless the members are asked for.
    table = csv_of(world.get("admin", f"/orgs/{world.party}/summary/export", year=2025,
                             format="csv"))
    assert table[0] == SUMMARY_HEADINGS
    assert table[2] == [str(v) if v is not None else "" for v in row_b]
    members_csv = csv_of(world.get("admin", f"/orgs/{world.party}/summary/export", year=2025,
                                   format="csv", sheet="members"))
    assert members_csv[0] == MEMBER_HEADINGS and len(members_csv) == 10
    assert members_csv[3][4:10] == ["100", "5", "否", "否", "优秀", "评定草稿"]
    only = load_workbook(io.BytesIO(world.get(
        "admin", f"/orgs/{world.party}/summary/export", year=2025, sheet="members").content))
    assert only.sheetnames == ["党员年度得分"]


def test_summary_follows_each_callers_scope(world: World, year: dict[str, Any]) -> None:
    a = world.branch_a
    # A branch secretary exporting the 党委 gets their own branch only.
    ws = sheet_of(world.get("sec_a", f"/orgs/{world.party}/summary/export", year=2025))
    assert [r[1] for r in rows_of(ws)[1:]] == ["第一支部"]
    ws = sheet_of(world.get("sec_b", f"/orgs/{world.branch_b}/summary/export", year=2025))
    assert [r[1] for r in rows_of(ws)[1:]] == ["第二支部"]
    # A member sees the 党委 exists, but manages nothing in it; another branch is unknown.
    refused(world.get("b1", f"/orgs/{world.party}/summary/export"), 403, "committee_only")
    refused(world.get("b1", f"/orgs/{a}/summary/export"), 404)
    refused(world.get("sec_b", f"/orgs/{a}/summary/export"), 404)
    refused(world.get("admin", "/orgs/987654/summary/export"), 404)
    refused(world.get("admin", f"/orgs/{a}/summary/export", year=1999), 422)
    refused(world.get("admin", f"/orgs/{a}/summary/export", sheet="all"), 422)
    # The default year is the clock's (2026: nothing yet, the quarters not opened).
    ws = sheet_of(world.get("admin", f"/orgs/{a}/summary/export"))
    assert rows_of(ws)[1][4:14] == [0, 0, 0, 0, "未开始", "未开始", "未开始", "未开始", 0,
                                    "未评定"]


def test_pages_link_to_the_downloads(world: World, year: dict[str, Any]) -> None:
    client, q1, rid = world.client, year["reviews"][1], year["rating"]["id"]
    web_login(client, "sec_a")
    page = client.get(f"/committee/reviews/{q1['id']}")
    assert f'href="/committee/reviews/{q1["id"]}/export"' in page.text
    answer = client.get(f"/committee/reviews/{q1['id']}/export")
    assert rows_of(sheet_of(answer))[3][4:8] == ["a1", 5, 37, 37]
    assert f'href="/committee/ratings/{rid}/export?format=csv"' in client.get(
        f"/committee/ratings/{rid}").text
    assert csv_of(client.get(f"/committee/ratings/{rid}/export", params={"format": "csv"}))[3][
        4:6] == ["100", "5"]
    assert client.get(f"/committee/reviews/{year['draft_b']['id']}/export").status_code == 404
    assert client.get(f"/committee/reviews/{q1['id']}/export",
                      params={"format": "ods"}).status_code == 422
    web_login(client, "party_sec")
    assert f'href="/admin/orgs/{world.party}/summary/export"' in client.get("/admin").text
    ws = sheet_of(client.get(f"/admin/orgs/{world.party}/summary/export",
                             params={"year": 2025}))
    assert [r[1] for r in rows_of(ws)[1:]] == ["第一支部", "第二支部"]
    client.cookies.clear()
    answer = client.get(f"/admin/orgs/{world.party}/summary/export", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_text_is_never_a_formula(world: World) -> None:
    world.add_member("evil", world.branch_a, name="=HYPERLINK(\"http://x\",\"y\")")
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ws = sheet_of(world.get("sec_a", f"/reviews/{review['id']}/export"))
    cell = next(r[4] for r in ws.iter_rows(min_row=2) if str(r[4].value).startswith("="))
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"http://x\",\"y\")"


def test_the_csv_review_sheet_keeps_a_formula_as_text(world: World) -> None:
    world.add_member("evil", world.branch_a, name="=HYPERLINK(\"http://x\",\"y\")")
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    answer = world.get("sec_a", f"/reviews/{review['id']}/export", format="csv")
    names = [row[4] for row in csv.reader(io.StringIO(answer.content.decode("utf-8-sig")))]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


def test_a_control_character_already_stored_does_not_break_the_xlsx(world: World,
                                                                     db: Session) -> None:
    # Stored before the rule that refuses it (app/services/text.py): written as SQL would.
    entry = world.entry("sec_a", "a1", "P01", "2025-02-14", note="会议记录")
    db.execute(sa.update(Entry).where(col(Entry.id) == entry["id"]).values(note="会议\x0b记录"))
    entry = ok(world.get("sec_a", f"/entries/{entry['id']}"))
    answer = world.get("sec_a", f"/members/{world.members['a1']}/entries/export", year=2025)
    ws = sheet_of(answer)
    note = [c.value for c in ws[1]].index("说明")
    notes = [row[note] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert entry["note"] == "会议\x0b记录" and notes == ["会议记录"]


FORMULAS = ("=HYPERLINK(\"http://x\",\"y\")", "@SUM(1)", "+1+1", "-2+3")


def test_no_csv_export_starts_a_cell_with_a_formula(world: World) -> None:
    """All five CSV downloads (OWASP's rule: = + - @ tab CR), and the entries importer reads
    the member's own export back with the notes as they were written."""
    a = world.branch_a
    evil = world.add_member("evil", a, name=FORMULAS[0])
    for note in FORMULAS[1:]:
        world.entry("sec_a", "evil", "P01", "2025-02-14", note=note)
    played = play_year(world)
    answers = {
        "review": world.get("sec_a", f"/reviews/{played['reviews'][1]['id']}/export",
                            format="csv"),
        "rating": world.get("sec_a", f"/ratings/{played['rating']['id']}/export",
                            format="csv"),
        "summary": world.get("admin", f"/orgs/{world.party}/summary/export", year=2025,
                             format="csv"),
        "members": world.get("sec_a", "/members/export", org_id=a, format="csv"),
        "entries": world.get("sec_a", f"/members/{evil}/entries/export", year=2025,
                             format="csv"),
    }
    for name, answer in answers.items():
        cells = [cell for row in csv_of(answer) for cell in row]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], name
    member_cells = [c for row in csv_of(answers["members"]) for c in row]
    assert "'" + FORMULAS[0] in member_cells
    entry_cells = [c for row in csv_of(answers["entries"]) for c in row]
    assert {"'" + f for f in FORMULAS[1:]} <= set(entry_cells)
    back = world.client.post("/api/v1/entries/import", headers=world.as_("sec_a"),
                             files={"file": ("evil.csv", answers["entries"].content)},
                             data={"dry_run": "true", "year": "2025"})
    assert sorted(r["note"] for r in ok(back)["rows"]) == sorted(FORMULAS[1:])
