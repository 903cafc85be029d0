"""The pages of the annual appraisal for the level above and the paper forms (appraisal.md
§3): the summary page (汇总) with its downloads, the A4 汇总表 and its PDF, and the blank
测评表 and 年度积分登记表 of a branch meeting held on paper.

The scene (tests/api/appraisal_scene.py): branch B rated, balloted and published; A not.
"""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.appraisal_scene import B_GRADED, B_LINES, Scene, play_b
from tests.api.support import World
from tests.web.support import web_login
from tests.web.test_print import pdf_pages


@pytest.fixture
def scene(world: World) -> Scene:
    return play_b(world)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def cells(html: str) -> list[list[str]]:
    """Each body row's cells (th and td), as text."""
    body = html[html.index("<tbody>"):html.rindex("</tbody>")]
    return [[text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_committee_home_links_the_summary_of_a_party_committee(world: World,
                                                                    client: TestClient) -> None:
    link = f'href="/committee/appraisal/{world.party}?year=2026"'
    web_login(client, "party_sec")
    assert link in client.get("/committee").text
    web_login(client, "sec_a")
    assert "/committee/appraisal/" not in client.get("/committee").text


def test_the_summary_page(world: World, scene: Scene, client: TestClient) -> None:
    web_login(client, "party_sec")
    page = client.get(f"/committee/appraisal/{world.party}?year=2025")
    assert page.status_code == 200, page.text
    html = page.text
    rows = cells(html)
    assert [r[0] for r in rows] == ["第一支部", "第二支部", "合计"]
    assert rows[0][1:] == ["未评定", "—"]
    assert rows[1][1:] == ["公示中", "5", "3", "1", "1", "3/4 75.0%", "1", "1", "1", "0", "1", "1"]
    assert rows[2][1:] == ["1/2 个已评定", "5", "3", "1", "1", "3/4 75.0%", "1", "1", "1", "0", "1",
                           "1"]
    assert f'href="/committee/ratings/{scene.rating_id}"' in html
    for link in (f"/committee/appraisal/{world.party}/export?year=2025",
                 f"/committee/appraisal/{world.party}/export?year=2025&amp;format=csv",
                 f"/committee/appraisal/{world.party}/print?year=2025",
                 f"/committee/appraisal/{world.party}/summary.pdf?year=2025"):
        assert f'href="{link}"' in html
    assert "党支部 2 个，已评定 1 个（已审定 0 个，待审批 0 个）。" in html

    book = load_workbook(io.BytesIO(client.get(
        f"/committee/appraisal/{world.party}/export?year=2025").content))
    assert [c.value for c in book.worksheets[0][3]][:5] == [
        world.branch_b, "第二支部", "某镇党委", "公示中", "测评结束"]
    text = client.get(f"/committee/appraisal/{world.party}/export?year=2025&format=csv")
    assert text.headers["content-type"] == "text/csv; charset=utf-8"


@pytest.mark.parametrize(("who", "status"), [
    pytest.param("b1", 403, id="a_member"),
    pytest.param("sec_a", 404, id="another_branch_committee_on_b"),
])
def test_the_summary_page_refuses(world: World, scene: Scene, client: TestClient, who: str,
                                  status: int) -> None:
    web_login(client, who)
    for suffix in ("", "/export", "/print"):
        assert client.get(f"/committee/appraisal/{world.branch_b}{suffix}?year=2025"
                          ).status_code == status


def test_the_summary_print_page_and_pdf(world: World, scene: Scene, client: TestClient) -> None:
    web_login(client, "party_sec")
    html = client.get(f"/committee/appraisal/{world.party}/print?year=2025").text
    assert "2025年度民主评议党员汇总表" in html and "某镇党委" in html
    assert "/static/print-landscape.css" in html
    rows = cells(html)
    assert rows[0][:4] == ["1", "第一支部", "未评定", "—"]
    assert rows[1] == ["2", "第二支部", "公示中", "5", "3", "1", "1", "4", "2", "1", "75.0%",
                       "1", "1", "1", "0", "1", "1"]
    assert rows[2][1:4] == ["合计", "1/2 个已评定", "5"]
    pdf = client.get(f"/committee/appraisal/{world.party}/summary.pdf?year=2025")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    text = "".join(pdf_pages(pdf.content))
    assert "民主评议党员汇总表" in text and "第二支部" in text


def test_the_rating_page_links_the_paper_forms(world: World, scene: Scene,
                                               client: TestClient) -> None:
    web_login(client, "sec_b")
    html = client.get(f"/committee/ratings/{scene.rating_id}").text
    assert f'href="/committee/ratings/{scene.rating_id}/ballot-form"' in html
    assert f'href="/committee/ratings/{scene.rating_id}/ballot-form.pdf"' in html
    for name in B_LINES:
        assert (f'href="/committee/members/{world.members[name]}/register?year=2025"'
                f'>{name}</a>') in html


def test_the_ballot_form_lists_exactly_the_graded_members(world: World, scene: Scene,
                                                          client: TestClient) -> None:
    web_login(client, "sec_b")
    html = client.get(f"/committee/ratings/{scene.rating_id}/ballot-form").text
    assert "2025年度民主评议党员测评表" in html
    assert "每名投票人只填写一张测评表。测评表不记名，请勿署名" in html
    rows = cells(html)
    assert [r[1] for r in rows] == B_GRADED  # in the rating sheet's order, b2 and b3 left out
    assert all(r == [str(i + 1), r[1], "", "", "", ""] for i, r in enumerate(rows))
    assert html.count('class="tick"') == 4 * len(B_GRADED)
    # No score, no grade, no signature line on a secret ballot.
    for absent in ("100", "优秀</td>", "签字"):
        assert absent not in html[html.index("<tbody>"):]
    pdf = client.get(f"/committee/ratings/{scene.rating_id}/ballot-form.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    text = "".join(pdf_pages(pdf.content))
    assert all(name in text for name in B_GRADED)
    assert "b2" not in text and "b3" not in text


@pytest.mark.parametrize(("who", "status"), [
    pytest.param("party_sec", 200, id="committee_above"),
    pytest.param("admin", 200, id="admin"),
    pytest.param("sec_a", 404, id="other_branch_committee"),
    pytest.param("b1", 403, id="member"),
])
def test_who_may_print_the_forms(world: World, scene: Scene, client: TestClient, who: str,
                                 status: int) -> None:
    web_login(client, who)
    b1 = world.members["b1"]
    for path in (f"/committee/ratings/{scene.rating_id}/ballot-form",
                 f"/committee/members/{b1}/register?year=2025"):
        assert client.get(path).status_code == status, path
    api = world.client.get(f"/api/v1/members/{b1}/register.pdf?year=2025",
                           headers=world.as_(who))
    assert api.status_code == (403 if who == "b1" else status)


def test_the_register_of_a_member(world: World, scene: Scene, client: TestClient) -> None:
    """b1's 2025: the records of the scene by quarter, each quarter's review of 5."""
    web_login(client, "sec_b")
    b1 = world.members["b1"]
    html = client.get(f"/committee/members/{b1}/register?year=2025").text
    assert "2025年度党员积分登记表" in html and "第二支部" in html
    got = cells(html)
    assert got[:8] == [
        ["第一季度（已确认）"],
        ["2025-02-14", "P01", "参加集中学习", "4", "+8"],
        ["2025-02-14", "P02", "参加“三会一课”", "8", "+8"],
        ["2025-02-14", "P03", "参加主题党日", "4", "+8"],
        ["2025-02-14", "P04", "按时足额交纳党费", "4", "+8"],
        ["本季记录小计", "+32"], ["季度评议分", "5"], ["本季得分 / 累计得分", "+37 / 37"]]
    quarters = [r for r in got if r[0] == "本季得分 / 累计得分"]
    assert [q[1] for q in quarters] == ["+37 / 37", "+21 / 58", "+21 / 79", "+21 / 100"]
    assert "年度积分：<strong>100</strong>" in html and "★★★★★" in html
    assert "年度评星定级尚未审定，以上为暂计积分。" in html
    # A member with no records: each quarter says so, and counts its review.
    quiet = cells(client.get(f"/committee/members/{world.members['sec_b']}/register"
                             "?year=2025").text)
    assert quiet.count(["本季度没有记录。"]) == 4
    pdf = client.get(f"/committee/members/{b1}/register.pdf?year=2025")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert "党员积分登记表" in "".join(pdf_pages(pdf.content))


@pytest.mark.parametrize("path", [
    "/committee/members/{b1}/register?year=1999",
    "/committee/members/{b1}/register?year=x",
    "/committee/members/987654/register?year=2025",
    "/committee/ratings/987654/ballot-form",
    "/committee/appraisal/987654",
    "/committee/appraisal/99999999999999999999999",
    "/committee/ratings/99999999999999999999999/ballot-form.pdf",
])
def test_bad_form_requests_are_refused(world: World, client: TestClient, path: str) -> None:
    web_login(client, "party_sec")
    answer = client.get(path.format(b1=world.members["b1"]))
    assert answer.status_code in (404, 422), answer.status_code
