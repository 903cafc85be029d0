"""A confirmed import takes effect once (issue 14): the same confirm sent again (a double
click, a resubmitted form, a client's retry) creates nothing and is answered with the first
import's result; a new file, or the same one once nothing of its import stands, imports."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from tests.api.support import World, ok, refused
from tests.api.test_entry_import import created_audits, entries_of, entry_count, sheet_csv, upload
from tests.api.test_member_import import csv_bytes, member_count, send

REPLAYED = "idempotent-replayed"


def test_the_same_import_sent_three_times_creates_once(world: World, db: Session) -> None:
    data = sheet_csv(["a1", "", "", "2025-05-06", "N02", "", "", "缺学"],    # −3
                     ["a2", "", "", "2025-05-07", "P01", "2", "", ""])
    before, audits = entry_count(db), created_audits(db)
    answers = [upload(world, "sec_a", data)]
    answers.append(upload(world, "sec_a", data))
    world.clock.advance(days=1)
    answers.append(upload(world, "sec_a", data))
    first = ok(answers[0], 201)
    assert first["created"] == 2 and len(first["entry_ids"]) == 2
    assert first["imported_at"] == "2026-01-10T02:00:00Z" and REPLAYED not in answers[0].headers
    for again in answers[1:]:
        assert again.status_code == 201 and again.json() == first
        assert again.headers[REPLAYED] == "true"
    assert entry_count(db) == before + 2 and created_audits(db) == audits + 2
    assert [e["points"] for e in entries_of(world, "sec_a", "a1")] == [-3]
    # A preview of the file says so before anyone confirms it again.
    preview = ok(upload(world, "sec_a", data, dry_run=True))
    notice = preview["warnings"][0]
    assert (notice["row"], notice["column"], notice["code"]) == \
        (1, None, "entries_already_imported")
    assert "2026-01-10 10:00" in notice["message"] and "2 entries" in notice["message"]


def test_a_new_file_imports_and_so_does_the_same_one_once_undone(world: World,
                                                                 db: Session) -> None:
    data = sheet_csv(["a1", "", "", "2025-05-06", "P02", "", "", ""])
    first = ok(upload(world, "sec_a", data), 201)
    new = upload(world, "sec_a", sheet_csv(["a1", "", "", "2025-05-07", "P02", "", "", ""]))
    assert ok(new, 201)["created"] == 1 and REPLAYED not in new.headers
    # Every entry of the first import revoked: the same rows are imported anew...
    ok(world.post("sec_a", f"/entries/{first['entry_ids'][0]}/revoke", {"reason": "重录"}))
    assert ok(upload(world, "sec_a", data, dry_run=True))["warnings"] == []
    anew = upload(world, "sec_a", data)
    assert ok(anew, 201)["entry_ids"] != first["entry_ids"] and REPLAYED not in anew.headers
    # ... and that import answers the next confirm of them.
    again = upload(world, "sec_a", data)
    assert again.json() == anew.json() and again.headers[REPLAYED] == "true"
    assert [e["status"] for e in entries_of(world, "sec_a", "a1")] == \
        ["revoked", "approved", "approved"]


def test_a_refused_import_answers_no_later_confirm(world: World, db: Session) -> None:
    data = sheet_csv(["newcomer", "", "", "2025-05-06", "P02", "", "", ""])
    before = entry_count(db)
    refused(upload(world, "sec_a", data), 422, "import_invalid")
    refused(upload(world, "sec_a", data), 422, "import_invalid")
    world.add_member("newcomer", world.branch_a)
    answer = upload(world, "sec_a", data)
    assert ok(answer, 201)["created"] == 1 and REPLAYED not in answer.headers
    assert entry_count(db) == before + 1


def _without_passwords(body: dict[str, Any]) -> dict[str, Any]:
    return body | {"members": [m | {"password": None} for m in body["members"]]}


def test_the_same_members_file_sent_again_answers_the_first_import(world: World) -> None:
    data = csv_bytes([["张三", "第一支部", "在职", "2012-03-05", "zhangsan", ""],
                      ["李四", "第一支部", "流动", "2015-07-01", "lisi", "lisi-pass-1"]])
    before = member_count(world)
    first = send(world, "sec_a", data, "members.csv")
    body = ok(first, 201)
    assert body["created"] == 2 and body["members"][0]["password"]
    again = send(world, "sec_a", data, "members.csv")
    # The first answer, but no generated password: it was shown once and is kept nowhere.
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.json() == _without_passwords(body)
    assert again.headers["cache-control"] == "no-store"
    assert member_count(world) == before + 2
    # Its preview says why every username is taken.
    preview = ok(send(world, "sec_a", data, "members.csv", dry_run=True))
    assert [(e["row"], e["code"]) for e in preview["errors"]][:2] == \
        [(1, "members_already_imported"), (2, "username_taken")]
