"""A form sent twice is saved once (issue 19, app/web/once.py): the self-report, the two
objections and the committee's record carry a one-time key, the same key again answers as
the first did, another member's use of a key is theirs alone, and a refused form keeps
its key until it is saved."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, select

from app.clock import FixedClock
from app.models import Account, Entry, IdempotencyRecord, Objection
from app.services import idempotency
from app.web.once import fingerprint
from tests.api.support import World
from tests.web.support import form_post, web_login
from tests.web.test_committee import flashes
from tests.web.test_member import SELF_REPORT, publish_review, uploads

__all__ = ["uploads"]  # the fixture, used by name below

KEY = re.compile(r'name="form_key" value="([A-Za-z0-9_-]{24})"')


def key_on(client: TestClient, path: str) -> str:
    match = KEY.search(client.get(path).text)
    assert match, f"no form key on {path}"
    return match.group(1)


def photo() -> bytes:
    out = BytesIO()
    Image.new("RGB", (1200, 900), (180, 30, 30)).save(out, "JPEG", quality=90)
    return out.getvalue()


def report(client: TestClient, token: str, data: dict[str, str], htmx: bool = False,
           picture: bytes | None = None) -> Any:
    """The self-report as a browser posts it: both photo inputs, the empty one as ''."""
    files = [("photo", ("", b"", "application/octet-stream"))]
    if picture is not None:
        files.append(("photo", ("IMG_0001.jpg", picture, "image/jpeg")))
    headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else {}
    body = data if htmx else {**data, "csrf_token": token}
    return client.post("/me/report", data=body, files=files, headers=headers,
                       follow_redirects=False)


def entries_of(db: Session, world: World, member: str) -> list[Entry]:
    db.expire_all()
    return list(db.exec(select(Entry).where(Entry.member_id == world.members[member])))


def caller(db: Session, username: str) -> str:
    """Whose keys the forms of a logged-in account are (app/web/once.py)."""
    return f"web:{db.exec(select(Account).where(Account.username == username)).one().id}"


def keys(db: Session) -> list[IdempotencyRecord]:
    db.expire_all()
    return list(db.exec(select(IdempotencyRecord)))


# --------------------------------------------------------------------------- the self-report
def test_each_form_gets_a_fresh_key(world: World, client: TestClient) -> None:
    web_login(client, "a1")
    first, second = key_on(client, "/me/report"), key_on(client, "/me/report")
    assert first != second


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_same_report_sent_twice_is_saved_once(world: World, client: TestClient,
                                                  db: Session, htmx: bool) -> None:
    token = web_login(client, "a1")
    form = {**SELF_REPORT, "form_key": key_on(client, "/me/report")}
    first = report(client, token, form, htmx)
    second = report(client, token, form, htmx)
    assert len(entries_of(db, world, "a1")) == 1
    if htmx:
        assert (first.status_code, second.status_code) == (204, 204)
        assert first.headers["HX-Redirect"] == second.headers["HX-Redirect"] == "/me/entries"
    else:
        assert (first.status_code, second.status_code) == (303, 303)
        assert first.headers["location"] == second.headers["location"] == "/me/entries"
    # The second answer is no error: it says the report was received already.
    said = flashes(client, "/me/entries")
    assert "已提交，等待支委审核" in said and "这条申报刚才已经提交了，没有重复提交。" in said
    # A third time, too; and a new form (a new key) is a new report.
    report(client, token, form, htmx)
    assert len(entries_of(db, world, "a1")) == 1
    report(client, token, {**SELF_REPORT, "form_key": key_on(client, "/me/report")}, htmx)
    assert len(entries_of(db, world, "a1")) == 2


def test_a_report_with_a_photo_sent_twice_stores_one_photo(world: World, client: TestClient,
                                                           db: Session, uploads: Path) -> None:
    token = web_login(client, "a1")
    form = {**SELF_REPORT, "form_key": key_on(client, "/me/report")}
    picture = photo()
    assert report(client, token, form, True, picture).status_code == 204
    assert report(client, token, form, False, picture).status_code == 303  # as sent again
    [entry] = entries_of(db, world, "a1")
    assert entry.evidence
    stored = sorted(p.name for p in uploads.rglob("*") if p.is_file())
    assert len(stored) == 2  # the one photo and its thumbnail


def test_another_members_key_is_theirs_alone(world: World, client: TestClient,
                                             db: Session) -> None:
    token = web_login(client, "a1")
    key = key_on(client, "/me/report")
    assert report(client, token, {**SELF_REPORT, "form_key": key}).status_code == 303
    # a2 sends the same form with the same key (copied, guessed): a2's own report is
    # saved, and a2 is not answered with a1's.
    token = web_login(client, "a2")
    answer = report(client, token, {**SELF_REPORT, "form_key": key})
    assert answer.status_code == 303
    said = flashes(client, answer.headers["location"])
    assert "已提交，等待支委审核" in said and "已经提交了" not in said
    assert len(entries_of(db, world, "a2")) == 1 and len(entries_of(db, world, "a1")) == 1
    assert sorted(record.caller for record in keys(db)) == [caller(db, "a1"),
                                                            caller(db, "a2")]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_refused_report_keeps_its_key_and_the_corrected_one_is_saved(
        world: World, client: TestClient, db: Session, htmx: bool) -> None:
    token = web_login(client, "a1")
    key = key_on(client, "/me/report")
    wrong = report(client, token, {**SELF_REPORT, "occurred_on": "5 January",
                                   "form_key": key}, htmx)
    assert wrong.status_code == 422 and "请填写正确的日期" in wrong.text
    assert entries_of(db, world, "a1") == [] and keys(db) == []  # refused: the key released
    if not htmx:
        # The form comes back as typed, with the same key: it was not saved.
        assert KEY.findall(wrong.text) == [key]
        assert 'value="5 January"' in wrong.text
    fixed = report(client, token, {**SELF_REPORT, "form_key": key}, htmx)
    assert fixed.status_code == (204 if htmx else 303)
    assert len(entries_of(db, world, "a1")) == 1
    # The corrected one sent again is received already; the wrong one again is refused
    # (this key was saved with other values), nothing saved by either.
    again = report(client, token, {**SELF_REPORT, "form_key": key}, htmx)
    assert again.status_code == (204 if htmx else 303)
    stale = report(client, token, {**SELF_REPORT, "occurred_on": "5 January",
                                   "form_key": key}, htmx)
    if htmx:  # in the page's message area
        assert stale.status_code == 422 and stale.headers["HX-Retarget"] == "#flash"
    assert stale.status_code == (422 if htmx else 303)
    said = stale.text if htmx else flashes(client, stale.headers["location"])
    assert "这张表刚才已经提交过了，这次没有再保存。" in said
    assert len(entries_of(db, world, "a1")) == 1


def test_a_report_still_being_saved_is_said_so(world: World, client: TestClient,
                                               db: Session, clock: FixedClock) -> None:
    token = web_login(client, "a1")
    key = key_on(client, "/me/report")
    # Another server took the key a moment ago and is still saving the report: what the
    # route reads of the form (app/web/member/report.py), as it fingerprints it.
    values = {"rule_code": "P01", "occurred_on": "2026-01-05", "quantity": "2", "points": "",
              "note": SELF_REPORT["note"], "resubmit": "None", "keep_photo": "False"}
    idempotency.claim(db, caller(db, "a1"), key, fingerprint("/me/report", values),
                      clock.now())
    answer = report(client, token, {**SELF_REPORT, "form_key": key}, htmx=True)
    assert answer.status_code == 409 and answer.headers["Retry-After"] == "2"
    assert "刚才提交的内容正在保存，请稍等几秒再看。" in answer.text
    assert entries_of(db, world, "a1") == []


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_tampered_key_is_taken_as_none_and_the_report_is_saved(
        world: World, client: TestClient, db: Session, htmx: bool) -> None:
    """A page tampered with (or mangled on its way): the key the member cannot see is no
    reason to lose what they typed. The report is saved, as from a page older than keys."""
    token = web_login(client, "a1")
    keys = ("<script>", "x" * 65, "钥匙", "../../etc", "a b")
    for key in keys:
        answer = report(client, token, {**SELF_REPORT, "form_key": key}, htmx)
        assert answer.status_code in (204, 303), answer.text[:300]  # saved: to the list
        assert "form_key" not in answer.text
    assert len(entries_of(db, world, "a1")) == len(keys)


# --------------------------------------------------------------------------- objections
def test_an_objection_sent_twice_is_raised_once(world: World, client: TestClient,
                                                db: Session) -> None:
    review = publish_review(world, 2025, 4, {"a1": 3})
    token = web_login(client, "a1")
    key = key_on(client, f"/me/results/{review}")
    path = f"/me/results/{review}/objections"
    first = form_post(client, path, token, {"text": "评议分偏低", "form_key": key}, htmx=True)
    assert first.status_code == 201 and "异议已提交" in first.text
    # The section that came back holds a new form, with a new key.
    assert KEY.findall(first.text) and KEY.findall(first.text) != [key]
    again = form_post(client, path, token, {"text": "评议分偏低", "form_key": key}, htmx=True)
    assert again.status_code == 204 and again.headers["HX-Redirect"] == f"/me/results/{review}"
    assert "这条异议刚才已经提交了，没有重复提交。" in flashes(client, f"/me/results/{review}")
    db.expire_all()
    assert len(list(db.exec(select(Objection)))) == 1


# --------------------------------------------------------------------------- the record form
def test_a_confirmed_record_sent_twice_is_recorded_once(world: World, client: TestClient,
                                                        db: Session) -> None:
    token = web_login(client, "sec_a")
    key = key_on(client, "/committee/record")
    veto = {"member_id": str(world.members["a1"]), "rule_code": "V01",
            "occurred_on": "2025-11-14", "quantity": "", "points": "",
            "note": "受到党内警告处分", "form_key": key}
    asked = form_post(client, "/committee/record", token, veto)
    assert asked.status_code == 200 and KEY.findall(asked.text) == [key]
    assert keys(db) == []  # asked, nothing saved: the key stays free
    confirmed = veto | {"confirmed": "1"}
    first = form_post(client, "/committee/record", token, confirmed)
    second = form_post(client, "/committee/record", token, confirmed)
    assert first.headers["location"] == second.headers["location"]
    assert "这条记录刚才已经保存了，没有重复记录。" in flashes(client, second.headers["location"])
    assert [e.rule_code for e in entries_of(db, world, "a1")] == ["V01"]
