"""A rejected self-report corrected and sent again from the member's pages (issue 17), without
JavaScript: 修改后重新提交 opens the report form filled in from the rejected entry; sent, the
new entry waits for the committee, the rejected one says 已重新提交 and links to it, and the
committee's lines show the history both ways."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import Entry, EntryStatus
from tests.api.support import NO_NOTICE, World, ok
from tests.web.support import web_login
from tests.web.test_member import jpeg, uploads
from tests.web.test_rating_steps_pages import flashes, landed, text_of

__all__ = ["uploads"]  # the fixture, used by name below

REASON = "签到表上没有您的名字，请补充签到照片"
NOTE = "1月5日参加支部集中学习"


def rejected(world: World, day: str = "2026-01-05", code: str = "P01",
             **extra: Any) -> dict[str, Any]:
    entry = world.entry("a1", "a1", code, day, **{"note": NOTE, "quantity": 2, **extra})
    return ok(world.post("sec_a", f"/entries/{entry['id']}/reject", {"reason": REASON}))


def send(client: TestClient, token: str, data: dict[str, str],
         photo: tuple[str, bytes, str] | None = None, htmx: bool = False) -> Any:
    """The report form as a browser posts it: both photo inputs, the empty one as ''."""
    body = dict(data)
    headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else {}
    if not htmx:
        body["csrf_token"] = token
    files = [("photo", ("", b"", "application/octet-stream"))]
    if photo:
        files.append(("photo", photo))
    return client.post("/me/report", data=body, files=files, headers=headers,
                       follow_redirects=False)


def form_fields(page: str) -> dict[str, str]:
    """What the form sends as it stands: inputs' values, the checked radio, the textarea."""
    start = page.index('<form class="report')
    page = page[start:page.index("</form>", start)]
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or name.group(1) in ("csrf_token", "photo"):
            continue
        if kind and kind.group(1) in ("radio", "checkbox") and " checked" not in tag:
            continue
        fields[name.group(1)] = html_lib.unescape(value.group(1) if value else "")
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', page):
        fields[name] = html_lib.unescape(text)
    return fields


def entry_item(page: str, entry_id: int) -> str:
    start = page.index(f'id="entry-{entry_id}"')
    return page[start:page.index("</li>", start)]


def entries_of(db: Session, world: World) -> list[Entry]:
    return list(db.exec(select(Entry).where(Entry.member_id == world.members["a1"])
                        .order_by(col(Entry.id))).all())


def test_the_form_is_filled_in_from_the_rejected_entry(world: World, client: TestClient) -> None:
    old = rejected(world)
    web_login(client, "a1")
    page = client.get("/me/entries").text
    item = entry_item(page, old["id"])
    assert f'href="/me/report?resubmit={old["id"]}"' in item
    assert "修改后重新提交" in text_of(item) and REASON in text_of(item)

    form = client.get(f"/me/report?resubmit={old['id']}")
    assert form.status_code == 200
    words = text_of(form.text)
    assert "修改后重新提交" in words and f"未通过原因：{REASON}" in words
    fields = form_fields(form.text)
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", fields.pop("form_key"))  # app/web/once.py
    assert fields == {
        "resubmit": str(old["id"]), "rule_code": "P01", "occurred_on": "2026-01-05",
        "quantity": "2", "points": "", "note": NOTE}
    assert ">重新提交</button>" in form.text
    # No photo to keep: no box to tick.
    assert 'name="keep_photo"' not in form.text


def test_a_chosen_points_item_is_filled_in_with_its_points(world: World,
                                                           client: TestClient) -> None:
    old = rejected(world, code="B01", quantity=None, points=3)
    web_login(client, "a1")
    fields = form_fields(client.get(f"/me/report?resubmit={old['id']}").text)
    assert (fields["rule_code"], fields["points"]) == ("B01", "3")


def test_resubmitting_links_both_ways_and_the_committee_sees_the_history(
        world: World, client: TestClient, db: Session) -> None:
    old = rejected(world)
    other = rejected(world, day="2026-01-06")
    token = web_login(client, "a1")
    fields = form_fields(client.get(f"/me/report?resubmit={old['id']}").text)
    answer = send(client, token, fields | {"occurred_on": "2026-01-07",
                                           "note": "1月7日参加集中学习（补签到）"})
    assert landed(answer) == "/me/entries?year=2026"
    assert "已重新提交，等待支委审核" in flashes(client, "/me")

    *_, new = entries_of(db, world)
    assert (new.resubmits_id, new.status, new.occurred_on.isoformat(), new.quantity,
            new.note) == (old["id"], EntryStatus.pending, "2026-01-07", 2,
                          "1月7日参加集中学习（补签到）")
    assert ok(world.get("a1", f"/entries/{old['id']}")) == old | {"resubmitted_by": new.id}

    page = client.get("/me/entries").text
    was = entry_item(page, old["id"])
    assert "已重新提交，看新的记录" in text_of(was) and REASON in text_of(was)
    assert f'href="/me/entries?year=2026#entry-{new.id}"' in was
    assert "/me/report?resubmit=" not in was  # sent again once only
    now = entry_item(page, new.id or 0)
    assert f"重新提交（原记录被退回：{REASON}）" in text_of(now)
    assert f'href="/me/entries?year=2026#entry-{old["id"]}"' in now
    # The other rejected entry still offers its correction.
    assert f'href="/me/report?resubmit={other["id"]}"' in entry_item(page, other["id"])

    web_login(client, "sec_a")
    pending = client.get("/committee/entries").text
    line = entry_item(pending, new.id or 0)
    assert f"重新提交（原记录被退回：{REASON}）" in text_of(line)
    member = world.members["a1"]
    assert f'href="/committee/members/{member}?year=2026#entry-{old["id"]}"' in line
    history = entry_item(client.get(f"/committee/members/{member}").text, old["id"])
    assert "已重新提交，看新的记录" in text_of(history)
    assert f'href="/committee/members/{member}?year=2026#entry-{new.id}"' in history


def test_sent_twice_the_second_lands_on_my_entries_with_why(
        world: World, client: TestClient, db: Session) -> None:
    old = rejected(world)
    token = web_login(client, "a1")
    fields = form_fields(client.get(f"/me/report?resubmit={old['id']}").text)
    landed(send(client, token, fields))
    assert "已重新提交，等待支委审核" in flashes(client, "/me/entries")  # as a browser follows
    count = len(entries_of(db, world))
    # The same form again (its one-time key too): answered as the first was, nothing more.
    again = send(client, token, fields)
    assert landed(again) == "/me/entries?year=2026", again.text
    assert "这条申报刚才已经提交了，没有重复提交。" in flashes(client, "/me")
    assert len(entries_of(db, world)) == count
    # Sent from another page (another key, or none from a page older than the keys).
    second = send(client, token, {**fields, "form_key": ""})
    assert landed(second) == "/me/entries", second.text
    assert "这条记录已经重新提交过了" in flashes(client, "/me")
    assert len(entries_of(db, world)) == count
    # The form's address (an old link) leads to my entries too, saying so.
    form = client.get(f"/me/report?resubmit={old['id']}", follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == "/me/entries"
    assert "这条记录已经重新提交过了" in flashes(client, "/me/entries")


def test_a_refused_correction_keeps_the_form_as_typed(world: World, client: TestClient,
                                                      db: Session) -> None:
    old = rejected(world)
    token = web_login(client, "a1")
    fields = form_fields(client.get(f"/me/report?resubmit={old['id']}").text)
    count = len(entries_of(db, world))
    answer = send(client, token, fields | {"occurred_on": "2026-01-11", "note": "改过的说明"})
    assert answer.status_code == 422
    assert "日期不能晚于今天" in text_of(answer.text)
    assert form_fields(answer.text) == fields | {"occurred_on": "2026-01-11",
                                                 "note": "改过的说明"}
    assert f"未通过原因：{REASON}" in text_of(answer.text)
    assert len(entries_of(db, world)) == count
    # With HTMX the message goes by the button and the form stays.
    partial = send(client, token, fields | {"occurred_on": "2026-01-11"}, htmx=True)
    assert partial.status_code == 422 and partial.headers["HX-Retarget"] == "#report-error"
    landed_htmx = send(client, token, fields, htmx=True)
    assert landed_htmx.headers["HX-Redirect"] == "/me/entries?year=2026"


# (case id, who, the entry's state, status of the form page): another's entry is not
# found; one the caller can see but not send again leads to my entries, saying why.
NOT_MINE = [
    ("another-member", "a2", "rejected", 404),
    ("the-committee", "sec_a", "rejected", 303),
    ("pending", "a1", "pending", 303),
    ("approved", "a1", "approved", 303),
]


@pytest.mark.parametrize(("who", "state", "status"),
                         [pytest.param(*c[1:], id=c[0]) for c in NOT_MINE])
def test_only_my_rejected_entries_open_the_form(world: World, client: TestClient,
                                                db: Session, who: str, state: str,
                                                status: int) -> None:
    entry = world.entry("a1", "a1", "P01", "2026-01-05", note=NOTE)
    if state == "rejected":
        entry = ok(world.post("sec_a", f"/entries/{entry['id']}/reject", {"reason": REASON}))
    elif state == "approved":
        entry = ok(world.post("sec_a", f"/entries/{entry['id']}/approve"))
    token = web_login(client, who)
    form = client.get(f"/me/report?resubmit={entry['id']}", follow_redirects=False)
    assert form.status_code == status
    if status == 303:
        assert form.headers["location"] == "/me/entries"
    count = len(db.exec(select(Entry)).all())
    answer = send(client, token, {"resubmit": str(entry["id"]), "rule_code": "P01",
                                  "occurred_on": "2026-01-05", "quantity": "1", "note": "x"})
    assert answer.status_code in (303, status)
    assert len(db.exec(select(Entry)).all()) == count
    if answer.status_code == 303:
        assert answer.headers["location"] in ("/me/entries", "/")


@pytest.mark.parametrize("value", ["abc", "0", "-3", "99999999999999999999", "987654"])
def test_an_id_that_names_no_entry_of_mine_is_not_found(world: World, client: TestClient,
                                                        value: str) -> None:
    web_login(client, "a1")
    assert client.get(f"/me/report?resubmit={value}").status_code == 404


def test_a_rejected_entry_in_a_confirmed_quarter_says_so(world: World,
                                                         client: TestClient) -> None:
    old = rejected(world, day="2025-02-10")
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    web_login(client, "a1")
    item = entry_item(client.get("/me/entries?year=2025").text, old["id"])
    assert "这个季度已确认，不能再修改后重新提交。" in text_of(item)
    assert "/me/report?resubmit=" not in item
    # The form opened by its address (an old link) is not offered, and a post is refused.
    form = client.get(f"/me/report?resubmit={old['id']}", follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == "/me/entries"
    assert "这个季度已确认，不能再修改后重新提交。" in text_of(client.get("/me/entries").text)


def test_the_photo_is_kept_unless_untucked_or_replaced(world: World, client: TestClient,
                                                       db: Session, uploads: Path) -> None:
    token = web_login(client, "a1")
    picture = ("IMG_0001.jpg", jpeg(64, 48), "image/jpeg")
    landed(send(client, token, {"rule_code": "P01", "occurred_on": "2026-01-05",
                                "quantity": "1", "note": NOTE}, photo=picture))
    first = entries_of(db, world)[-1]
    assert first.evidence
    ok(world.post("sec_a", f"/entries/{first.id}/reject", {"reason": REASON}))
    form = client.get(f"/me/report?resubmit={first.id}").text
    fields = form_fields(form)
    assert fields["keep_photo"] == "1" and f'src="/evidence/{first.id}?size=thumb"' in form

    landed(send(client, token, fields))
    kept = entries_of(db, world)[-1]
    assert kept.resubmits_id == first.id and kept.evidence == first.evidence
    # Rejected again: sent without the box ticked, it has no photo; with a new one, that.
    ok(world.post("sec_a", f"/entries/{kept.id}/reject", {"reason": REASON}))
    landed(send(client, token, {k: v for k, v in form_fields(
        client.get(f"/me/report?resubmit={kept.id}").text).items() if k != "keep_photo"}))
    dropped = entries_of(db, world)[-1]
    assert dropped.resubmits_id == kept.id and dropped.evidence is None
    ok(world.post("sec_a", f"/entries/{dropped.id}/reject", {"reason": REASON}))
    landed(send(client, token, form_fields(
        client.get(f"/me/report?resubmit={dropped.id}").text),
        photo=("IMG_0002.jpg", jpeg(48, 64), "image/jpeg")))
    replaced = entries_of(db, world)[-1]
    assert replaced.evidence and replaced.evidence != first.evidence
