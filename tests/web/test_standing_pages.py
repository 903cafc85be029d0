"""The standing pages (appraisal.md §1): 转正, suspended rights, exemptions per year and
leaving, on the committee's member page and the administrator's member edit; each form
posted as a plain form (no JavaScript) and through htmx, done and refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import PASSWORD, World, ok
from tests.api.test_bad_input import finalize_year
from tests.web.support import form_post, web_login

PANEL = '<section class="card st-panel" id="standing-'


def location(answer: Any) -> str:
    assert answer.status_code == 303, f"{answer.status_code}: {answer.text[:800]}"
    return str(answer.headers["location"])


def probationary(world: World, username: str = "yubei") -> int:
    body = {"name": "预备甲", "org_id": world.branch_a, "category": "active",
            "joined_on": "2025-01-05", "username": username, "password": PASSWORD,
            "standing": "probationary"}
    member_id: int = ok(world.post("admin", "/members", body), 201)["id"]
    world.members[username] = member_id
    return member_id


def test_the_member_page_shows_the_standing_panel(world: World, client: TestClient) -> None:
    a1 = world.members["a1"]
    web_login(client, "sec_a")
    page = client.get(f"/committee/members/{a1}")
    assert page.status_code == 200
    assert f'{PANEL}{a1}"' in page.text and "正式党员" in page.text
    for offered in ("登记权利中止", "登记免评", "没有免评记录"):
        assert offered in page.text
    # The branch's own committee does not record leaving; the committee above does.
    assert "登记离开党组织" not in page.text
    web_login(client, "party_sec")
    assert "登记离开党组织" in client.get(f"/committee/members/{a1}").text


def test_full_membership_asks_first_then_records_the_date(world: World,
                                                          client: TestClient) -> None:
    member = probationary(world)
    token = web_login(client, "sec_a")
    page = client.get(f"/committee/members/{member}")
    assert "预备党员" in page.text and "办理转正" in page.text
    asked = form_post(client, f"/members/{member}/standing/full", token,
                      {"full_since": "2026-01-05", "next": f"/committee/members/{member}"})
    assert asked.status_code == 200 and "确定为预备甲办理转正" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert ok(world.get("admin", f"/members/{member}"))["standing"] == "probationary"
    done = form_post(client, f"/members/{member}/standing/full", token,
                     {"full_since": "2026-01-05", "confirm": "yes",
                      "next": f"/committee/members/{member}"})
    assert location(done) == f"/committee/members/{member}#standing-{member}"
    body = ok(world.get("admin", f"/members/{member}"))
    assert (body["standing"], body["full_since"]) == ("full", "2026-01-05")
    after = client.get(location(done)).text
    assert "预备甲已转为正式党员，转正日期 2026-01-05" in after and "转正日期 2026-01-05" in after
    # A full member is not made full again.
    again = form_post(client, f"/members/{member}/standing/full", token,
                      {"full_since": "2026-01-06", "confirm": "yes"}, htmx=True)
    assert again.status_code == 409 and "该党员已是正式党员" in again.text


def test_full_membership_refused_in_the_form_as_typed(world: World, client: TestClient) -> None:
    member = probationary(world)
    token = web_login(client, "sec_a")
    future = form_post(client, f"/members/{member}/standing/full", token,
                       {"full_since": "2026-02-01"}, htmx=True)
    assert future.status_code == 422 and future.text.lstrip().startswith(f"{PANEL}{member}")
    assert "日期不能晚于今天" in future.text and 'value="2026-02-01"' in future.text
    plain = form_post(client, f"/members/{member}/standing/full", token,
                      {"full_since": "2024-12-31", "confirm": "yes"})
    assert plain.status_code == 422 and "<html" in plain.text
    assert "日期早于入党（转入）日期" in plain.text and 'value="2024-12-31"' in plain.text
    assert ok(world.get("admin", f"/members/{member}"))["standing"] == "probationary"


def test_a_suspension_added_and_ended(world: World, client: TestClient) -> None:
    a2 = world.members["a2"]
    token = web_login(client, "sec_a")
    added = form_post(client, f"/members/{a2}/suspensions", token, {
        "kind": "party_probation", "starts_on": "2026-01-02", "ends_on": "",
        "note": "党纪处分决定", "next": f"/committee/members/{a2}"}, htmx=True)
    assert added.status_code == 200 and added.text.lstrip().startswith(f"{PANEL}{a2}")
    assert "已登记a2的留党察看，自 2026-01-02 起" in added.text and "中止中" in added.text
    assert "党员权利中止中" in added.text and "党纪处分决定" in added.text
    assert ok(world.get("admin", f"/members/{a2}"))["rights_suspended"] is True
    suspension = ok(world.get("admin", f"/members/{a2}/suspensions"))["items"][0]["id"]

    ended = form_post(client, f"/members/{a2}/suspensions/{suspension}/end", token,
                      {"ends_on": "2026-01-09", "note": "处分期满",
                       "next": f"/committee/members/{a2}"})
    assert location(ended) == f"/committee/members/{a2}#standing-{a2}"
    page = client.get(location(ended)).text
    assert "a2的留党察看结束，2026-01-09 起恢复党员权利" in page and "已结束" in page
    assert ok(world.get("admin", f"/members/{a2}"))["rights_suspended"] is False
    twice = form_post(client, f"/members/{a2}/suspensions/{suspension}/end", token,
                      {"ends_on": "2026-01-10"}, htmx=True)
    assert twice.status_code == 409 and "该权利中止已经结束" in twice.text


def test_a_suspension_refused_keeps_what_was_typed(world: World, client: TestClient) -> None:
    a2 = world.members["a2"]
    token = web_login(client, "sec_a")
    reversed_dates = {"kind": "detained", "starts_on": "2026-01-05", "ends_on": "2026-01-03",
                      "note": "被依法留置"}
    plain = form_post(client, f"/members/{a2}/suspensions", token, reversed_dates)
    assert plain.status_code == 422 and "结束日期须晚于开始日期" in plain.text
    for value in ('value="2026-01-05"', 'value="2026-01-03"', "被依法留置",
                  'value="detained" selected'):
        assert value in plain.text
    unknown = form_post(client, f"/members/{a2}/suspensions", token,
                        {"kind": "holiday", "starts_on": "2026-01-05"}, htmx=True)
    assert unknown.status_code == 422 and "请选择权利中止的类别" in unknown.text
    assert ok(world.get("admin", f"/members/{a2}/suspensions"))["total"] == 0


def test_an_exemption_recorded_for_a_year_and_withdrawn(world: World,
                                                        client: TestClient) -> None:
    a3 = world.members["a3"]
    token = web_login(client, "sec_a")
    recorded = form_post(client, f"/members/{a3}/exemptions", token, {
        "year": "2026", "reason_kind": "bedridden", "note": "", "parent_consent_on": "2026-01-06",
        "meeting_on": "2026-01-08", "next": f"/committee/members/{a3}"})
    assert location(recorded) == f"/committee/members/{a3}#standing-{a3}"
    page = client.get(location(recorded)).text
    assert "已登记a3的2026年度免评（年老体弱卧床不起和长期生病生活不能自理）" in page
    assert "年老体弱卧床不起和长期生病生活不能自理" in page and "有效" in page
    assert "上级党组织同意：2026-01-06" in page and "支部党员大会：2026-01-08" in page
    exemption = ok(world.get("admin", f"/members/{a3}/exemptions"))["items"][0]
    assert (exemption["year"], exemption["reason_kind"], exemption["status"]) == (
        2026, "bedridden", "active")

    empty = form_post(client, f"/members/{a3}/exemptions/2026/withdraw", token,
                      {"reason": " "}, htmx=True)
    assert empty.status_code == 422 and "请填写理由" in empty.text
    withdrawn = form_post(client, f"/members/{a3}/exemptions/2026/withdraw", token,
                          {"reason": "本人已康复"}, htmx=True)
    assert withdrawn.status_code == 200 and "已撤回a3的2026年度免评" in withdrawn.text
    assert "已撤回" in withdrawn.text and "撤回原因：本人已康复" in withdrawn.text
    assert ok(world.get("admin", f"/members/{a3}/exemptions"))["items"][0]["status"] == \
        "withdrawn"


def offered_years(client: TestClient, member_id: int) -> tuple[list[int], int | None]:
    """The exemption form's years, and the one selected."""
    page = client.get(f"/committee/members/{member_id}").text
    form = page[page.index('name="year"'):]
    form = form[:form.index("</select>")]
    years = [int(y) for y in re.findall(r'<option value="(\d+)"', form)]
    chosen = re.search(r'<option value="(\d+)" selected', form)
    return years, int(chosen.group(1)) if chosen else None


def test_the_exemption_form_offers_the_years_still_open(world: World,
                                                        client: TestClient) -> None:
    """Next year back to the year of joining (at most nine years back), this year chosen;
    a year whose rating has opened its ballot is no longer offered. The clock: 2026-01-10;
    a1 joined 2010-07-01, the probationary member 2025-01-05."""
    web_login(client, "sec_a")
    assert offered_years(client, world.members["a1"]) == (list(range(2027, 2016, -1)), 2026)
    assert offered_years(client, probationary(world)) == ([2027, 2026, 2025], 2026)
    finalize_year(world, world.branch_a)
    rating = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025}), 201)
    assert 2025 in offered_years(client, world.members["a1"])[0]  # a draft: still open
    ok(world.post("sec_a", f"/ratings/{rating['id']}/ballot/open"))
    assert offered_years(client, world.members["yubei"]) == ([2027, 2026], 2026)


def test_an_exemption_of_other_needs_a_note_and_keeps_the_dates(world: World,
                                                                client: TestClient) -> None:
    a3 = world.members["a3"]
    token = web_login(client, "sec_a")
    typed = {"year": "2025", "reason_kind": "other", "note": "",
             "parent_consent_on": "2025-12-01", "meeting_on": "2025-12-05"}
    refused = form_post(client, f"/members/{a3}/exemptions", token, typed)
    assert refused.status_code == 422 and "选择“其他”原因须写明说明" in refused.text
    for value in ('value="2025-12-01"', 'value="2025-12-05"', 'value="2025" selected',
                  'value="other" selected'):
        assert value in refused.text
    assert ok(world.get("admin", f"/members/{a3}/exemptions"))["total"] == 0


@pytest.mark.parametrize(("consent", "meeting", "message"), [
    ("", "2025-12-05", "请填写上级党组织同意免评的日期"),
    ("2025-12-01", "", "请填写支部党员大会决定免评的日期"),
    ("2025-12-01", "5.12.2025", "支部党员大会日期格式不对"),
])
def test_an_exemption_needs_the_consent_and_the_meeting(world: World, client: TestClient,
                                                        consent: str, meeting: str,
                                                        message: str) -> None:
    """As the API: no exemption without the level above's consent and the branch meeting
    (appraisal.md §1); what was typed comes back, nothing is recorded."""
    a3 = world.members["a3"]
    token = web_login(client, "sec_a")
    typed = {"year": "2025", "reason_kind": "abroad_self_funded", "note": "",
             "parent_consent_on": consent, "meeting_on": meeting}
    refused = form_post(client, f"/members/{a3}/exemptions", token, typed)
    assert refused.status_code == 422 and message in refused.text
    assert 'value="abroad_self_funded" selected' in refused.text
    assert ok(world.get("admin", f"/members/{a3}/exemptions"))["total"] == 0


def test_leaving_is_the_committee_above_s_and_asks_once(world: World,
                                                        client: TestClient) -> None:
    a4 = world.members["a4"]
    typed = {"kind": "transferred", "on": "2026-01-08", "note": "转往外省",
             "next": f"/committee/members/{a4}"}
    token = web_login(client, "sec_a")
    refused = form_post(client, f"/members/{a4}/leave", token, typed | {"confirm": "yes"})
    assert refused.status_code == 403 and "只有上级党组织的委员或管理员" in refused.text
    assert ok(world.get("admin", f"/members/{a4}"))["standing"] == "full"

    token = web_login(client, "party_sec")
    asked = form_post(client, f"/members/{a4}/leave", token, typed, htmx=True)
    assert asked.status_code == 200 and "确定登记a4离开党组织" in asked.text
    assert "登录立即停止" in asked.text and "登记后不能撤销" in asked.text
    assert ok(world.get("admin", f"/members/{a4}"))["standing"] == "full"
    future = form_post(client, f"/members/{a4}/leave", token, typed | {"on": "2026-03-01"},
                       htmx=True)
    assert future.status_code == 422 and "日期不能晚于今天" in future.text
    assert "确定离开" not in future.text and "转往外省" in future.text

    done = form_post(client, f"/members/{a4}/leave", token, typed | {"confirm": "yes"})
    assert location(done) == f"/committee/members/{a4}#standing-{a4}"
    body = ok(world.get("admin", f"/members/{a4}"))
    assert (body["standing"], body["left_kind"], body["left_on"]) == (
        "left", "transferred", "2026-01-08")
    page = client.get(location(done)).text
    assert "已离开" in page and "组织关系转出" in page and "登记离开党组织" not in page
    assert client.post("/api/v1/auth/token", data={"username": "a4", "password": PASSWORD}
                       ).status_code == 401


def test_a_plain_member_cannot_post_the_forms(world: World, client: TestClient) -> None:
    a2 = world.members["a2"]
    token = web_login(client, "a1")
    answer = form_post(client, f"/members/{a2}/suspensions", token,
                       {"kind": "detained", "starts_on": "2026-01-05"}, htmx=True)
    assert answer.status_code == 403
    assert ok(world.get("admin", f"/members/{a2}/suspensions"))["total"] == 0


def test_the_admin_creates_a_probationary_member(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    form = client.get(f"/admin/members?org_id={world.branch_a}").text
    assert 'name="standing"' in form and "预备党员" in form
    typed = {"name": "李预备", "org_id": str(world.branch_a), "category": "active",
             "standing": "probationary", "joined_on": "2025-07-01", "username": "liyubei",
             "password": "first-pass-1"}
    created = form_post(client, f"/admin/members?page_org={world.branch_a}", token, typed)
    member = int(location(created).rsplit("-", 1)[1])
    assert ok(world.get("admin", f"/members/{member}"))["standing"] == "probationary"
    assert "预备党员" in client.get(location(created)).text
    left = form_post(client, "/admin/members", token, typed | {"standing": "left",
                                                               "username": "liyubei2"},
                     htmx=True)
    assert left.status_code == 422 and "请选择正式党员或预备党员" in left.text
    assert 'value="李预备"' in left.text


def test_the_admin_member_edit_holds_the_panel(world: World, client: TestClient) -> None:
    a2 = world.members["a2"]
    token = web_login(client, "admin")
    edit = client.get(f"/admin/members/{a2}/edit", headers={"HX-Request": "true"})
    assert edit.status_code == 200 and f'id="standing-{a2}"' in edit.text
    assert "登记离开党组织" in edit.text  # an administrator may
    back = f"/admin/members?org_id={world.branch_a}&edit={a2}#member-{a2}"
    assert f'name="next" value="{back.replace("&", "&amp;")}"' in edit.text
    plain = client.get(f"/admin/members?org_id={world.branch_a}&edit={a2}")
    assert f'id="standing-{a2}"' in plain.text
    added = form_post(client, f"/members/{a2}/exemptions", token, {
        "year": "2026", "reason_kind": "abroad_self_funded", "note": "赴海外探亲",
        "parent_consent_on": "2026-01-05", "meeting_on": "2026-01-08", "next": back})
    assert location(added) == back
    assert "自费出国半年以上" in client.get(location(added)).text
    # The old routes of the row still record and clear this year's exemption.
    cleared = form_post(client, f"/admin/members/{a2}/unexempt", token)
    assert location(cleared).endswith(f"#member-{a2}")
    assert ok(world.get("admin", f"/members/{a2}/exemptions"))["items"][0]["status"] == \
        "withdrawn"
