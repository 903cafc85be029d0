"""Text that may be stored (issue 14: a pasted vertical tab in one note made every .xlsx
export of the 党委 a 500; NUL in a name through the API; a \\x01 from another program's CSV).

Each door refuses such text with a clear 422 that names the field and the character and
writes nothing; the before-flush guard (app/services/text.py) refuses it on any other path;
what was stored before the rule stays readable, exports leave it out, `jifen check` names it.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Entry, Member
from app.services.errors import Invalid
from app.services.integrity import run_checks
from app.services.text import bad_character
from tests.api.support import World, ok, refused
from tests.api.test_entry_import import sheet_csv, upload
from tests.api.test_member_import import csv_bytes, problems, send
from tests.web.support import csrf_of, form_post, web_login

# --- the rule itself, worked out by hand ---------------------------------------------------

RULE = [
    # (text, one line?, what is named or None)
    ("会议记录", False, None),
    ("第一行\n第二行\r\n\t缩进", False, None),            # tab and line breaks in a note
    ("👨\u200d👩\u200d👧 全家", False, None),                  # an emoji's joiners in a note
    ("会议\x0b记录", False, "U+000B VERTICAL TAB at character 3"),
    ("\x00", False, "U+0000 NUL at character 1"),
    ("a\x7fb", False, "U+007F DELETE at character 2"),
    ("a\x85b", False, "U+0085 a control character at character 2"),
    ("x\u202egnp.exe", False, "U+202E RIGHT-TO-LEFT OVERRIDE at character 2"),
    ("x\u2066y", False, "U+2066 LEFT-TO-RIGHT ISOLATE at character 2"),
    ("a\ud800b", False, "U+D800 half of a surrogate pair at character 2"),
    ("张伟", True, None),
    ("张\u200b伟", True, "U+200B ZERO WIDTH SPACE at character 2"),
    ("\ufeff张伟", True, "U+FEFF ZERO WIDTH NO-BREAK SPACE at character 1"),
    ("张\t伟", True, "U+0009 TAB at character 2"),
    ("张伟\n", True, "U+000A LINE FEED at character 3"),
    ("张\u00ad伟", True, "U+00AD SOFT HYPHEN at character 2"),
    ("张伟\u2028", True, "U+2028 LINE SEPARATOR at character 3"),
    ("张\U000e0041伟", True, "U+E0041 TAG LATIN CAPITAL LETTER A at character 2"),
    ("第一行\u2028第二行", False, None),
]


@pytest.mark.parametrize(("text", "one_line", "named"), RULE)
def test_what_text_may_not_hold(text: str, one_line: bool, named: str | None) -> None:
    assert bad_character(text, one_line) == named


# --- the API: 422 naming the field, nothing written ----------------------------------------

REFUSED: list[Any] = [
    # (who, method, path, body, field)
    pytest.param("sec_a", "POST", "/entries", {"member_id": "{a1}", "rule_code": "P01",
                                               "occurred_on": "2025-08-06",
                                               "note": "会议\x0b记录"}, "note", id="note-vt"),
    pytest.param("admin", "PATCH", "/members/{a2}", {"name": "刘\x00芳"}, "name",
                 id="name-nul"),
    pytest.param("admin", "PATCH", "/members/{a2}", {"name": "刘\u200b芳"}, "name",
                 id="name-zero-width"),
    pytest.param("admin", "PATCH", "/members/{a2}", {"name": "\u202e芳刘"}, "name",
                 id="name-rtl-override"),
    pytest.param("admin", "PATCH", "/members/{a2}", {"name": "刘\t芳"}, "name",
                 id="name-tab"),
    pytest.param("admin", "PATCH", "/members/{a2}", {"exempt": True,
                                                     "exempt_reason": "病\x0c休"},
                 "exempt_reason", id="exempt-reason-ff"),
    pytest.param("admin", "POST", "/orgs", {"name": "新支部\x01", "kind": "branch",
                                            "parent_id": "{P}"}, "name", id="org-soh"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"name": "学习\x1b"}, "name",
                 id="rule-name-esc"),
]


def _placed(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _placed(v, ids) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


@pytest.mark.parametrize(("who", "method", "path", "body", "field"), REFUSED)
def test_the_api_refuses_control_characters_by_field(world: World, who: str, method: str,
                                                     path: str, body: Any,
                                                     field: str) -> None:
    ids = dict(world.members, P=world.party)
    before = [ok(world.get("admin", p, limit=500)) for p in ("/orgs", "/members", "/entries")]
    rules_before = ok(world.get("admin", "/rules", year=2025))
    answer = world.client.request(method, "/api/v1" + path.format(**ids),
                                  json=_placed(body, ids), headers=world.as_(who))
    body_out = refused(answer, 422, "validation_error")
    assert [e["loc"][-1] for e in body_out["errors"]] == [field]
    assert body_out["errors"][0]["type"] == "text_control_character"
    assert "U+" in body_out["detail"] and field in body_out["detail"]
    assert [ok(world.get("admin", p, limit=500)) for p in ("/orgs", "/members", "/entries")] \
        == before
    assert ok(world.get("admin", "/rules", year=2025)) == rules_before


def test_half_a_surrogate_pair_is_refused(world: World) -> None:
    """JSON may write "\\ud800" (no encoder emits it; a fuzzer does): 422, not a 500 when
    the database cannot encode it."""
    a1 = world.members["a1"]
    text = ('{"member_id": ' + str(a1) + ', "rule_code": "P01", "occurred_on": "2025-08-06", '
            '"note": "a\\ud800"}')
    answer = world.client.post("/api/v1/entries", content=text,
                               headers={**world.as_("a1"), "Content-Type": "application/json"})
    assert refused(answer, 422, "validation_error")["errors"][0]["loc"] == ["body", "note"]


def test_notes_keep_their_tabs_line_breaks_and_emoji(world: World) -> None:
    note = "第一行\n第二行\t缩进 👨\u200d👩\u200d👧"
    made = ok(world.post("sec_a", "/entries", {"member_id": world.members["a1"],
                                               "rule_code": "P01", "occurred_on": "2025-08-06",
                                               "note": note}), 201)
    assert made["note"] == note


# --- every other path: the guard as rows are written ---------------------------------------

def test_the_guard_refuses_what_a_path_forgot_to_check(world: World, db: Session) -> None:
    member = db.exec(select(Member).where(Member.id == world.members["a2"])).one()
    member.name = "刘\x0b芳"
    with pytest.raises(Invalid) as refusal:
        db.flush()
    assert refusal.value.code == "text_control_character"
    assert "member.name" in refusal.value.detail and "U+000B" in refusal.value.detail
    db.rollback()


def test_a_row_stored_before_the_rule_can_still_be_decided(world: World, db: Session) -> None:
    """Only new and changed text is checked: approving an entry whose old note holds a
    vertical tab works, and the note is kept as it was."""
    entry = ok(world.post("a1", "/entries", {"member_id": world.members["a1"],
                                             "rule_code": "P01", "occurred_on": "2025-08-06",
                                             "note": "旧"}), 201)
    db.execute(sa.update(Entry).where(col(Entry.id) == entry["id"]).values(note="旧\x0b"))
    approved = ok(world.post("sec_a", f"/entries/{entry['id']}/approve"))
    assert (approved["status"], approved["note"]) == ("approved", "旧\x0b")


@pytest.mark.parametrize("old", ["旧\u202e注", "旧\x7f", "旧\x85"])
def test_a_row_stored_before_the_rule_stays_correctable(world: World, db: Session,
                                                        old: str) -> None:
    """Characters JSON does not escape (an override, DEL, C1) reach the audit snapshot of a
    decision on the row as they are: the snapshot is a record, not text, and is not refused
    (the reviewer of issue 14 found such an entry could be neither approved nor revoked)."""
    entry = ok(world.post("a1", "/entries", {"member_id": world.members["a1"],
                                             "rule_code": "P01", "occurred_on": "2025-08-06",
                                             "note": "旧"}), 201)
    db.execute(sa.update(Entry).where(col(Entry.id) == entry["id"]).values(note=old))
    assert ok(world.post("sec_a", f"/entries/{entry['id']}/approve"))["note"] == old
    a2 = world.members["a2"]
    db.execute(sa.update(Member).where(col(Member.id) == a2).values(name="刘\u202e芳"))
    changed = ok(world.patch("admin", f"/members/{a2}", {"category": "retired"}))
    assert (changed["name"], changed["category"]) == ("刘\u202e芳", "retired")
    assert ok(world.patch("admin", f"/members/{a2}", {"name": "刘芳"}))["name"] == "刘芳"


def test_the_self_report_page_refuses_it_with_a_message(world: World, db: Session) -> None:
    client = world.client
    token = web_login(client, "a1")
    csrf_of(client, "/me/report")
    before = db.execute(sa.select(sa.func.count(col(Entry.id)))).scalar_one()
    answer = form_post(client, "/me/report", token, {
        "rule_code": "P01", "occurred_on": "2026-01-05", "quantity": "1",
        "note": "参加学习\x0b（从Word复制）"}, htmx=True)
    assert answer.status_code == 422
    assert "看不见的控制字符" in answer.text
    assert db.execute(sa.select(sa.func.count(col(Entry.id)))).scalar_one() == before


# --- imports: named by row and column in the check, nothing written ------------------------

def test_an_entries_sheet_names_the_cell(world: World, db: Session) -> None:
    before = db.execute(sa.select(sa.func.count(col(Entry.id)))).scalar_one()
    data = sheet_csv(["a1", "", "", "2025-05-01", "P01", "1", "", "好\x01"],
                     ["a1", "", "", "2025-05-01", "P01", "1", "", "第一行\n第二行"],
                     ["a1\u200b", "", "", "2025-05-01", "P01", "1", "", ""])
    preview = ok(upload(world, "sec_a", data, dry_run=True))
    found = {(e["row"], e["column"], e["code"]) for e in preview["errors"]}
    assert (2, "note", "text_control_character") in found
    # The cell as shown to the person: the character named where it is, never acting.
    assert {e["value"] for e in preview["errors"]
            if e["code"] == "text_control_character"} == {"好[U+0001]", "a1[U+200B]"}
    assert (4, "username", "text_control_character") in found
    assert not any(row == 3 for row, _, _ in found)
    refused(upload(world, "sec_a", data), 422, "import_invalid")
    assert db.execute(sa.select(sa.func.count(col(Entry.id)))).scalar_one() == before


def test_a_members_sheet_names_the_cell(world: World) -> None:
    data = csv_bytes([["王\x0b五", "第一支部", "在职", "2010-07-01", "wang5", ""]])
    answer = send(world, "sec_a", data, name="members.csv", dry_run=True)
    assert (2, "name", "text_control_character") in problems(answer)


# --- what is already stored: jifen check names it -----------------------------------------

def test_jifen_check_names_stored_control_characters(world: World, db: Session) -> None:
    assert not [p for p in run_checks(db, world.clock.now()).problems if p.check == "text"]
    entry = world.entry("sec_a", "a1", "P01", "2025-02-14", note="会议记录")
    a2 = world.members["a2"]
    db.execute(sa.update(Entry).where(col(Entry.id) == entry["id"]).values(note="会议\x0b记录"))
    db.execute(sa.update(Member).where(col(Member.id) == a2).values(name="刘\u200b芳"))
    report = run_checks(db, world.clock.now())
    found = sorted((p.object_type, p.object_id, p.message) for p in report.problems
                   if p.check == "text")
    assert found == sorted([
        ("entry", entry["id"], f"entry {entry['id']}, note: U+000B VERTICAL TAB at character 3"),
        ("member", a2, f"member {a2}, name: U+200B ZERO WIDTH SPACE at character 2"),
    ])
    assert report.checked["text values"] > 0


@pytest.mark.parametrize("username", ["admin\x00", "a1\x0b", "a\u202e1"])
def test_a_username_with_a_control_character_is_a_wrong_login(world: World,
                                                              username: str) -> None:
    """Not a 422 naming an internal table (the review of issue 14): no account has it."""
    answer = world.client.post("/api/v1/auth/token",
                               data={"username": username, "password": "whatever-1"})
    assert refused(answer, 401)["code"] != "validation_error"
    assert "login_attempt" not in answer.text
