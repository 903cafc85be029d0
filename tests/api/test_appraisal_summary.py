"""The summary of the annual appraisal for the level above (appraisal.md §3, §6): GET
/orgs/{id}/appraisal, its .xlsx and CSV, its PDF, and who may read it.

The scene (tests/api/appraisal_scene.py): branch B rated, balloted and published with one
open objection; branch A not rated.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from app.models import Org
from tests.api.appraisal_scene import Scene, play_b
from tests.api.support import World, ok, refused

GRADES_B = {"excellent": 1, "qualified": 1, "basically_qualified": 1, "unqualified": 0}
NOT_RATED = {"rating_id": None, "status": None, "ballot": None, "members": None,
             "graded": None, "exempt": None, "probationary": None, "voters": None,
             "cast_online": None, "cast_paper": None, "turnout": None, "grades": None,
             "excellent_limit": None, "open_objections": None}
# B's line of the table, and the totals' (A has none): members 5, graded 3, exempt 1,
# probationary 1; voters 4, online 2, paper 1, 75.0 %; grades 1 1 1 0; limit 1; 1 open.
B_NUMBERS = [5, 3, 1, 1, 4, 2, 1, 75.0, 1, 1, 1, 0, 1, 1]
HEADINGS = ["支部编号", "支部", "上级组织", "评定状态", "民主测评", "名单人数", "参评人数", "免评",
            "预备党员", "应投票人数", "网上投票", "纸质投票", "投票率（%）", "优秀", "合格",
            "基本合格", "不合格", "优秀上限", "未答复异议"]


@pytest.fixture
def scene(world: World) -> Scene:
    return play_b(world)


def branch_b(world: World, scene: Scene) -> dict[str, Any]:
    return {"org_id": world.branch_b, "name": "第二支部", "rating_id": scene.rating_id,
            "status": "published", "ballot": "closed", "members": 5, "graded": 3,
            "exempt": 1, "probationary": 1, "voters": 4, "cast_online": 2, "cast_paper": 1,
            "turnout": 0.75, "grades": GRADES_B, "excellent_limit": 1, "open_objections": 1}


def test_the_summary_by_hand(world: World, scene: Scene) -> None:
    answer = ok(world.get("party_sec", f"/orgs/{world.party}/appraisal", year=2025))
    assert answer == {
        "org_id": world.party, "year": 2025,
        "branches": [{"org_id": world.branch_a, "name": "第一支部", **NOT_RATED},
                     branch_b(world, scene)],
        "totals": {"branches": 2, "rated": 1,
                   "statuses": {"not_rated": 1, "draft": 0, "published": 1, "submitted": 0,
                                "approved": 0},
                   "members": 5, "graded": 3, "exempt": 1, "probationary": 1, "voters": 4,
                   "cast_online": 2, "cast_paper": 1, "turnout": 0.75, "grades": GRADES_B,
                   "excellent_limit": 1, "open_objections": 1}}
    # Another year: nothing rated; the turnout of no ballot is null.
    other = ok(world.get("party_sec", f"/orgs/{world.party}/appraisal", year=2024))
    assert [b["rating_id"] for b in other["branches"]] == [None, None]
    assert other["totals"]["turnout"] is None and other["totals"]["members"] == 0


def test_a_ballot_not_yet_opened_and_one_still_open(world: World) -> None:
    from tests.api.appraisal_scene import rate_b

    rid = rate_b(world)
    b = ok(world.get("admin", f"/orgs/{world.party}/appraisal", year=2025))["branches"][1]
    assert (b["status"], b["ballot"], b["voters"], b["cast_online"], b["turnout"]) == (
        "draft", "none", None, 0, None)
    ok(world.post("sec_b", f"/ratings/{rid}/ballot/open"))
    ok(world.post("b2", f"/ratings/{rid}/ballots",
                  {"votes": {str(world.members["b1"]): "unqualified"}}), 201)
    b = ok(world.get("admin", f"/orgs/{world.party}/appraisal", year=2025))["branches"][1]
    # While it is open only the ballots cast show; the grades are the committee's.
    assert (b["ballot"], b["voters"], b["cast_online"], b["cast_paper"], b["turnout"]) == (
        "open", 4, 1, 0, 0.25)
    assert b["grades"] == GRADES_B and "tally" not in str(b)


def test_branches_in_tree_order_never_by_name_or_score(world: World, scene: Scene,
                                                       db: Session) -> None:
    """A 总支 holding two more branches, named to sort first; B, the only one with an
    excellent grade, stays second."""
    general = ok(world.post("admin", "/orgs", {"name": "机关总支", "parent_id": world.party,
                                               "kind": "general_branch"}), 201)["id"]
    made = [ok(world.post("admin", "/orgs", {"name": name, "parent_id": general,
                                             "kind": "branch"}), 201)["id"]
            for name in ("Z支部", "A支部")]
    answer = ok(world.get("admin", f"/orgs/{world.party}/appraisal", year=2025))
    got = [b["org_id"] for b in answer["branches"]]
    paths = dict(db.exec(select(Org.id, Org.path).where(col(Org.id).in_(got))).all())
    assert got == sorted(got, key=lambda i: paths[i])
    assert set(got) == {world.branch_a, world.branch_b, *made}
    assert got[:2] == [world.branch_a, world.branch_b]
    names = [b["name"] for b in answer["branches"]]
    assert names != sorted(names)
    excellent = [(b["grades"] or {}).get("excellent", 0) for b in answer["branches"]]
    assert excellent != sorted(excellent, reverse=True)
    # The 总支's own summary: its two branches, to its committee (a1, granted here) too; a
    # committee below the 党委 does not read the 党委's.
    ok(world.post("admin", f"/orgs/{general}/committee", {"member_id": world.members["a1"]}),
       201)
    for who, org in (("admin", general), ("a1", general)):
        inner = ok(world.get(who, f"/orgs/{org}/appraisal", year=2025))
        assert [b["org_id"] for b in inner["branches"]] == [i for i in got if i in made]
        assert inner["totals"]["statuses"]["not_rated"] == 2
    refused(world.get("a1", f"/orgs/{world.party}/appraisal", year=2025), 403,
            "committee_only")


@pytest.mark.parametrize(("who", "org", "status", "branches"), [
    pytest.param("admin", "party", 200, ["branch_a", "branch_b"], id="admin"),
    pytest.param("party_sec", "party", 200, ["branch_a", "branch_b"], id="party_committee"),
    pytest.param("sec_b", "party", 403, None, id="b_committee_on_the_party"),
    pytest.param("sec_a", "party", 403, None, id="a_committee_on_the_party"),
    pytest.param("sec_b", "branch_b", 200, ["branch_b"], id="b_committee_on_b"),
    pytest.param("sec_a", "branch_b", 404, None, id="a_committee_on_b"),
    pytest.param("b1", "party", 403, None, id="member_on_party"),
    pytest.param("b1", "branch_b", 403, None, id="member_on_own_branch"),
    pytest.param("a1", "branch_b", 404, None, id="member_on_other_branch"),
])
def test_who_may_read_it(world: World, scene: Scene, who: str, org: str, status: int,
                         branches: list[str] | None) -> None:
    org_id = getattr(world, org)
    paths = (f"/orgs/{org_id}/appraisal", f"/orgs/{org_id}/appraisal/export")
    for path in paths:
        answer = world.get(who, path, year=2025)
        if branches is None:
            refused(answer, status, "committee_only" if status == 403 else "not_found")
    if branches is not None:
        got = ok(world.get(who, paths[0], year=2025))["branches"]
        assert [b["org_id"] for b in got] == [getattr(world, b) for b in branches]


@pytest.mark.parametrize(("path", "params", "status"), [
    pytest.param("/orgs/{party}/appraisal", {"year": 1999}, 422, id="year_too_early"),
    pytest.param("/orgs/{party}/appraisal", {"year": "2025x"}, 422, id="year_not_a_number"),
    pytest.param("/orgs/0/appraisal", {}, 422, id="org_zero"),
    pytest.param("/orgs/987654/appraisal", {}, 404, id="org_unknown"),
    pytest.param("/orgs/{party}/appraisal/export", {"format": "pdf"}, 422, id="format_unknown"),
    pytest.param("/orgs/987654/appraisal.pdf", {}, 404, id="pdf_org_unknown"),
    pytest.param("/orgs/99999999999999999999/appraisal", {}, 422, id="org_too_big"),
    pytest.param("/ratings/987654/ballot-form.pdf", {}, 404, id="ballot_form_unknown"),
    pytest.param("/members/987654/register.pdf", {"year": 2025}, 404, id="register_unknown"),
    pytest.param("/members/1/register.pdf", {"year": 2101}, 422, id="register_year"),
])
def test_bad_requests(world: World, path: str, params: dict[str, Any], status: int) -> None:
    refused(world.get("admin", path.format(party=world.party), **params), status)


def test_needs_a_login(world: World) -> None:
    for path in ("appraisal", "appraisal/export", "appraisal.pdf"):
        assert world.client.get(f"/api/v1/orgs/{world.party}/{path}").status_code == 401


def test_export_as_xlsx_and_csv(world: World, scene: Scene) -> None:
    a, b = world.branch_a, world.branch_b
    answer = world.get("party_sec", f"/orgs/{world.party}/appraisal/export", year=2025)
    assert answer.status_code == 200, answer.text
    assert f'filename="appraisal-{world.party}-2025.xlsx"' in answer.headers[
        "content-disposition"]
    ws = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    assert ws.title == "民主评议汇总" and ws.freeze_panes == "A2"
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows == [
        HEADINGS,
        [a, "第一支部", "某镇党委", "未评定", *[None] * 15],
        [b, "第二支部", "某镇党委", "公示中", "测评结束", *B_NUMBERS],
        [None, "合计", None, None, None, *B_NUMBERS],
    ]
    table = list(csv.reader(io.StringIO(world.get(
        "party_sec", f"/orgs/{world.party}/appraisal/export", year=2025,
        format="csv").content.decode("utf-8-sig"))))
    assert table[0] == HEADINGS
    assert table[2] == [str(b), "第二支部", "某镇党委", "公示中", "测评结束",
                        *(str(n) for n in B_NUMBERS)]
    assert table[1][3:5] == ["未评定", ""] and table[3][1] == "合计"


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\",\"点我\")", "+1+2", "-3", "@SUM(A1)"])
def test_csv_neutralises_a_hostile_branch_name(world: World, name: str) -> None:
    ok(world.post("admin", "/orgs", {"name": name, "parent_id": world.party, "kind": "branch"}),
       201)
    answer = world.get("admin", f"/orgs/{world.party}/appraisal/export", year=2025,
                       format="csv")
    table = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert ["'" + name] == [row[1] for row in table if name in row[1]]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)


def test_the_pdf(world: World, scene: Scene) -> None:
    answer = world.get("party_sec", f"/orgs/{world.party}/appraisal.pdf", year=2025)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    refused(world.get("b1", f"/orgs/{world.party}/appraisal.pdf", year=2025), 403)
