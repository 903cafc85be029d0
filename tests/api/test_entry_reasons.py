"""A veto, or a deduction of 10 points or more, needs a note the member will see (issue 17):
POST /api/v1/entries, the entries import, approval, and the member's notice."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col

from app.models import Entry
from tests.api.support import World, ok, refused
from tests.api.test_entry_import import entry_count, sheet_csv, upload

DAY = "2025-11-14"
DETAIL = "A veto or a deduction of 10 points or more needs a note the member will see."

# (case id, rule code, amount sent, note, 201 or the refusal's code). Default rules.
CASES = [
    *[(f"{code}-{how}", code, {}, note, answer)
      for code in ("V01", "V02", "V03", "V04")
      for how, note, answer in (("blank", "", "note_required"),
                                ("spaces", "   \n ", "note_required"),
                                ("given", "受到党内警告处分（县纪委通报）", 201))],
    ("N06-blank", "N06", {}, "", "note_required"),
    ("N06-given", "N06", {}, "在微信群发表不当言论", 201),
    ("N07-blank", "N07", {"quantity": 1}, "", "note_required"),
    ("N07-given", "N07", {"quantity": 1}, "违规公款吃喝", 201),
    ("D01-9-blank", "D01", {"points": 9}, "", 201),
    ("D01-10-blank", "D01", {"points": 10}, "", "note_required"),
    ("D01-10-spaces", "D01", {"points": 10}, "  ", "note_required"),
    ("D01-10-invisible", "D01", {"points": 10}, "\u200b\u3000\ufeff", "note_required"),
    ("D01-10-given", "D01", {"points": 10}, "防汛值守期间擅自离岗", 201),
    ("N01-small", "N01", {}, "", 201),
    ("N01-4-times", "N01", {"quantity": 4}, "", 201),                # −8
    ("N01-5-times", "N01", {"quantity": 5}, "", "note_required"),    # −10
    ("N08-2-times", "N08", {"quantity": 2}, "", "note_required"),    # −10
    ("P01", "P01", {"quantity": 4}, "", 201),
    ("P10", "P10", {}, "", 201),
    ("B01-5", "B01", {"points": 5}, "", 201),
]


@pytest.mark.parametrize(("code", "amount", "note", "answer"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_a_veto_or_a_big_deduction_needs_a_note(world: World, code: str, amount: dict[str, Any],
                                                note: str, answer: int | str) -> None:
    body = {"member_id": world.members["a1"], "rule_code": code, "occurred_on": DAY,
            "note": note, **amount}
    sent = world.post("sec_a", "/entries", body)
    if answer == 201:
        entry = ok(sent, 201)
        assert (entry["status"], entry["note"]) == ("approved", note.strip())
        return
    assert refused(sent, 422, "note_required")["detail"] == DETAIL
    assert ok(world.get("sec_a", "/entries", member_id=world.members["a1"]))["total"] == 0


def test_that_years_rules_say_what_is_big(world: World) -> None:
    """An item the administrator made worth 10 points in 2025 needs a note in 2025; 2024
    keeps the default 5 (a later year starts from the rules of the year before it)."""
    ok(world.put("admin", "/rules/N09", {"points": 10}, year=2025))
    refused(world.post("sec_a", "/entries", {"member_id": world.members["a1"],
                                             "rule_code": "N09", "occurred_on": DAY}),
            422, "note_required")
    world.entry("sec_a", "a1", "N09", "2024-11-14")
    world.entry("sec_a", "a1", "N09", DAY, note="损害群众利益，经核实")


def test_the_schema_lists_note_required(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    for path in ("/api/v1/entries", "/api/v1/entries/{entry_id}/approve"):
        description = schema["paths"][path]["post"]["responses"]["422"]["description"]
        assert "`note_required`" in description, path


def test_approving_a_committee_members_own_veto(world: World, db: Session) -> None:
    """Recorded about oneself it waits for another committee member, with its note; one
    left from before notes were required is refused, to be rejected and recorded anew."""
    own = world.entry("sec_a", "sec_a", "V02", DAY, note="本人违法被处理")
    assert own["status"] == "pending"
    refused(world.post("sec_a", "/entries", {"member_id": world.members["sec_a"],
                                             "rule_code": "N07", "occurred_on": DAY}),
            422, "note_required")
    old = world.entry("sec_a", "sec_a", "N06", DAY, note="x")
    db.execute(sa.update(Entry).where(col(Entry.id) == old["id"]).values(note=""))
    refused(world.post("vice_a", f"/entries/{old['id']}/approve"), 422, "note_required")
    assert ok(world.post("vice_a", f"/entries/{own['id']}/approve"))["status"] == "approved"
    ok(world.post("vice_a", f"/entries/{old['id']}/reject", {"reason": "没有写明理由，请重新记录"}))


def test_an_import_row_without_a_note_is_a_row_error(world: World, db: Session) -> None:
    before = entry_count(db)
    data = sheet_csv(
        ["a1", "", "", "2025-05-01", "P01", "1", "", ""],            # 2: fine
        ["a2", "", "", "2025-05-02", "V01", "", "", ""],             # 3: veto, no note
        ["a3", "", "", "2025-05-03", "D01", "", "10", " "],          # 4: −10, blank note
        ["a3", "", "", "2025-05-03", "D01", "", "9", ""],            # 5: −9, fine
        ["a4", "", "", "2025-05-04", "N07", "", "", "违规收受礼金"],   # 6: fine
    )
    preview = ok(upload(world, "sec_a", data, dry_run=True))
    assert [(e["row"], e["column"], e["code"]) for e in preview["errors"]] == [
        (3, "note", "note_required"), (4, "note", "note_required")]
    body = refused(upload(world, "sec_a", data), 422, "import_invalid")
    assert [(e["row"], e["column"], e["heading"], e["code"], e["message"])
            for e in body["errors"]] == [(3, "note", "说明", "note_required", DETAIL),
                                         (4, "note", "说明", "note_required", DETAIL)]
    assert entry_count(db) == before  # nothing imported


def test_the_members_notice_says_why(world: World) -> None:
    world.entry("sec_a", "a1", "V01", DAY, note="受到党内警告处分")
    world.clock.advance(minutes=1)
    world.entry("sec_a", "a1", "D01", DAY, points=10, note="防汛值守期间擅自离岗")
    world.clock.advance(minutes=1)
    world.entry("sec_a", "a1", "N01", DAY, note="无故缺席11月主题党日")
    world.clock.advance(minutes=1)
    world.entry("sec_a", "a1", "P01", DAY, note="集中学习")
    texts = [n["text"] for n in ok(world.get("a1", "/me/notices"))["items"]]
    assert texts == [
        "支委给您记了11月14日的「参加集中学习」，加2分",
        "支委给您记了11月14日的「无故缺席组织生活」，扣2分，理由：无故缺席11月主题党日",
        "支委给您记了11月14日的「现实表现扣分」，扣10分，理由：防汛值守期间擅自离岗",
        "支委给您记了11月14日的「受到党纪处分或被纪委通报」，记为一票否决，理由：受到党内警告处分",
    ]
