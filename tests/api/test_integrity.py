"""`jifen check`: a year played through the API checks clean; each kind of tampering with
the database behind the app's back is found and named."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app import db as app_db
from app import settings
from app.cli import main
from app.models import Account, Entry, Rating, RatingItem
from app.services import audit, entries, members, orgs
from app.services.access import load_actor
from app.services.entries import NewEntry
from app.services.integrity import Problem, Report, format_report, run_checks
from tests.api.support import EARLY_REASON, World, approve_rating, ok

Q_DAY = {1: "2025-02-14", 2: "2025-05-14", 3: "2025-08-14", 4: "2025-11-14"}


@dataclass
class Year:
    world: World
    db: Session
    target: int  # a1's P01 entry, approved, 2 points, in finalized 2025 Q1
    reviews: dict[int, dict[str, Any]]  # quarter → the finalized review
    rating: int

    def check(self) -> Report:
        return run_checks(self.db, self.world.clock.now())

    def sql(self, statement: str, **params: Any) -> Any:
        return self.db.execute(sa.text(statement), params)

    def audit_id(self, action: str, object_id: int) -> int:
        found: int = self.sql("SELECT id FROM audit_log WHERE action = :a AND object_id = :o",
                              a=action, o=object_id).scalar_one()
        return found


@pytest.fixture
def year(world: World, db: Session) -> Year:
    """Branch A's 2025, finalized quarter by quarter and rated, through the API."""
    w = world
    target = w.entry("sec_a", "a1", "P01", Q_DAY[1], quantity=1)["id"]
    w.entry("sec_a", "a2", "P02", Q_DAY[1], quantity=2)
    w.entry("vice_a", "a2", "N01", Q_DAY[1])
    reported = w.entry("a1", "a1", "P03", Q_DAY[1])["id"]
    ok(w.post("sec_a", f"/entries/{reported}/approve"))
    wrong = w.entry("a3", "a3", "P09", Q_DAY[2])["id"]
    ok(w.post("sec_a", f"/entries/{wrong}/reject", {"reason": "未见心得"}))
    w.entry("sec_a", "a3", "B01", Q_DAY[2], points=3)
    revoked = w.entry("sec_a", "a4", "P04", Q_DAY[3])["id"]
    ok(w.post("vice_a", f"/entries/{revoked}/revoke", {"reason": "重复登记"}))
    w.entry("sec_a", "a2", "D01", Q_DAY[4], points=2)
    reviews = {}
    for quarter in (1, 2, 3, 4):
        review = ok(w.post("sec_a", f"/orgs/{w.branch_a}/reviews",
                           {"year": 2025, "quarter": quarter}), 201)["id"]
        ok(w.put("sec_a", f"/reviews/{review}/scores",
                 {"scores": {str(w.members["a2"]): 4}}))
        ok(w.post("sec_a", f"/reviews/{review}/publish",
                  {"notice_days": 2, "reason": EARLY_REASON}))
        if quarter == 1:
            objection = ok(w.post("a2", f"/reviews/{review}/objections", {"text": "偏低"}),
                           201)["id"]
            ok(w.post("sec_a", f"/objections/{objection}/resolve", {"response": "维持"}))
        w.clock.advance(days=3)
        reviews[quarter] = ok(w.post("sec_a", f"/reviews/{review}/finalize"))
    rating = ok(w.post("sec_a", f"/orgs/{w.branch_a}/ratings", {"year": 2025}), 201)["id"]
    ok(w.patch("sec_a", f"/ratings/{rating}/items/{w.members['a1']}",
               {"grade": "basically_qualified", "reason": "年度表现一般"}))
    approve_rating(w, rating, branch="vice_a")
    w.clock.advance(days=1)
    w.entry("sec_a", "a1", "P05", "2026-01-12")  # this year's open quarter
    return Year(world=w, db=db, target=target, reviews=reviews, rating=rating)


def only(report: Report, check: str) -> list[Problem]:
    """The problems found, all of which must be of this one check."""
    assert report.problems, "nothing was found"
    assert {p.check for p in report.problems} == {check}, report.problems
    return report.problems


def test_a_year_played_through_the_api_checks_clean(year: Year) -> None:
    report = year.check()
    assert report.ok, report.problems
    assert report.checked["finalized reviews"] == 4
    assert report.checked["approved ratings"] == 1
    assert report.checked["entries"] == 9
    assert report.checked["audit rows"] > 50
    assert len(report.audit_head) == 64
    assert "All is well" in format_report(report)


def test_an_edited_audit_row_is_named(year: Year) -> None:
    row = year.audit_id("entry.create", year.target)
    year.sql("UPDATE audit_log SET after = replace(after, '\"points\": 2', '\"points\": 20') "
             "WHERE id = :id", id=row)
    [problem] = only(year.check(), "audit_chain")
    assert problem.object_id == row
    assert problem.message == (f"audit row {row} (entry.create entry {year.target}): its "
                               "content does not match its hash: it was changed after it "
                               "was written.")


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(year: Year) -> None:
    row = year.audit_id("entry.create", year.target)
    stored = year.sql("SELECT * FROM audit_log WHERE id = :id", id=row).mappings().one()
    after = stored["after"].replace('"points": 2', '"points": 20')
    at = stored["at"] if isinstance(stored["at"], datetime) else \
        datetime.fromisoformat(stored["at"])
    forged = audit.chain_hash(stored["prev_hash"], at.replace(tzinfo=UTC), stored["actor_id"],
                              stored["action"], stored["object_type"], stored["object_id"],
                              stored["before"], after)
    year.sql("UPDATE audit_log SET after = :after, hash = :hash WHERE id = :id",
             after=after, hash=forged, id=row)
    [problem] = only(year.check(), "audit_chain")
    following = year.sql("SELECT min(id) FROM audit_log WHERE id > :id", id=row).scalar_one()
    assert problem.object_id == following
    assert f"audit row {following} (" in problem.message
    assert f"the chain is broken, it does not point at row {row}, the row before it" \
        in problem.message


def test_a_deleted_audit_row_is_named(year: Year) -> None:
    review = year.reviews[2]["id"]
    row = year.audit_id("review.scores", review)
    before = year.sql("SELECT max(id) FROM audit_log WHERE id < :id", id=row).scalar_one()
    following = year.sql("SELECT min(id) FROM audit_log WHERE id > :id", id=row).scalar_one()
    year.sql("DELETE FROM audit_log WHERE id = :id", id=row)
    [problem] = only(year.check(), "audit_chain")
    assert problem.object_id == following
    assert f"it does not point at row {before}, the row before it (id {row} is absent)" \
        in problem.message


def test_a_log_cut_short_at_its_end_is_found(year: Year) -> None:
    """The chain cannot show rows missing at its end; the objects they were about do."""
    last = year.sql("SELECT max(id) FROM audit_log").scalar_one()
    action = year.sql("SELECT action FROM audit_log WHERE id = :id", id=last).scalar_one()
    assert action == "entry.create"
    entry = year.sql("SELECT max(id) FROM entry").scalar_one()
    year.sql("DELETE FROM audit_log WHERE id = :id", id=last)
    [problem] = only(year.check(), "audit_missing")
    assert (problem.object_type, problem.object_id) == ("entry", entry)
    assert problem.message.startswith(f"entry {entry} exists but the audit log has no "
                                      "entry.create row for it")


def test_a_status_changed_behind_the_apps_back_is_found(year: Year) -> None:
    entry = year.world.entry("a4", "a4", "P01", "2026-01-11")["id"]  # pending
    year.sql("UPDATE entry SET status = 'rejected', decided_at = created_at, decided_by = "
             "created_by, reason = 'x' WHERE id = :id", id=entry)
    [problem] = only(year.check(), "audit_missing")
    assert problem.message.startswith(f"entry {entry} is rejected but the audit log has no "
                                      "entry.rejected row")


def test_points_changed_in_a_finalized_quarter_are_found(year: Year) -> None:
    name = f"member {year.world.members['a1']} (a1)"
    year.sql("UPDATE entry SET points = 4 WHERE id = :id", id=year.target)
    report = year.check()
    assert {p.check for p in report.problems} == {"finalized_totals", "rating"}
    totals = [p for p in report.problems if p.check == "finalized_totals"]
    # a1 had 2 (P01) + 2 (P03) + 5 in Q1; every later ytd moves with it, only Q1's delta.
    q1 = year.reviews[1]["id"]
    assert totals[0].object_id == q1
    assert totals[0].message == (
        f"第一支部 2025 Q1 (review {q1}), {name}: finalized with ytd 9 (delta 9), recomputed "
        "now ytd 11 (delta 11): the data of a finalized quarter changed.")
    assert [p.object_id for p in totals] == [year.reviews[q]["id"] for q in (1, 2, 3, 4)]
    assert "finalized with ytd 14 (delta 5), recomputed now ytd 16 (delta 5)" \
        in totals[1].message
    [rating] = [p for p in report.problems if p.check == "rating"]
    assert rating.object_id == year.rating
    assert rating.message == (f"rating {year.rating} (第一支部 2025), {name}: stored score 24 "
                              "(now 26): the finalized data changed after the rating.")


def test_entries_changed_after_finalisation_are_found(year: Year) -> None:
    finalized_at = datetime.fromisoformat(year.reviews[1]["finalized_at"])
    later = finalized_at + timedelta(days=1)
    reported = year.sql("SELECT id FROM entry WHERE rule_code = 'P03'").scalar_one()
    year.db.execute(sa.update(Entry).where(col(Entry.id) == reported).values(decided_at=later))
    [problem] = only(year.check(), "late_change")
    assert problem.object_id == reported
    assert problem.message == (
        f"entry {reported} (member {year.world.members['a1']} (a1), 2025 Q1) was decided "
        f"{later.isoformat(timespec='seconds')}, after 第一支部 finalized that quarter at "
        f"{finalized_at.isoformat(timespec='seconds')}.")


def test_an_entry_slipped_into_a_finalized_quarter_is_found(year: Year) -> None:
    now = year.world.clock.now()
    admin = year.db.exec(select(Account.id).where(Account.username == "admin")).one()
    year.db.execute(sa.insert(Entry).values(
        member_id=year.world.members["a1"], org_id=year.world.branch_a, rule_code="B01",
        kind="bonus",
        occurred_on=date(2025, 5, 1), year=2025, quarter=2, quantity=1, points=5,
        status="approved", note="", created_by=admin, created_at=now, decided_by=admin,
        decided_at=now))
    report = year.check()
    assert {p.check for p in report.problems} == {
        "audit_missing", "finalized_totals", "late_change", "rating"}
    [late] = [p for p in report.problems if p.check == "late_change"]
    assert "was created " in late.message and " and decided " in late.message


def test_malformed_entries_are_found(year: Year) -> None:
    year.sql("UPDATE entry SET quarter = 3 WHERE id = :id", id=year.target)
    n01 = year.sql("SELECT id FROM entry WHERE rule_code = 'N01'").scalar_one()
    year.sql("UPDATE entry SET points = 2 WHERE id = :id", id=n01)
    b01 = year.sql("SELECT id FROM entry WHERE rule_code = 'B01'").scalar_one()
    year.sql("UPDATE entry SET status = 'deleted', kind = 'negative', points = -3 "
             "WHERE id = :id", id=b01)
    # Filed under the other branch: that branch's rating would count it.
    p02 = year.sql("SELECT id FROM entry WHERE rule_code = 'P02'").scalar_one()
    year.sql("UPDATE entry SET org_id = :b WHERE id = :id", b=year.world.branch_b, id=p02)
    found = {p.object_id: p.message for p in year.check().problems if p.check == "entry"}
    assert found == {
        year.target: f"entry {year.target}: it is filed under 2025 Q3 but occurred on "
                     "2025-02-14 (2025 Q1).",
        n01: f"entry {n01}: a negative entry cannot carry 2 points.",
        b01: f"entry {b01}: its kind is negative but B01 is bonus in 2025; status 'deleted' "
             "is not one of pending, approved, rejected, revoked.",
        p02: f"entry {p02}: it is filed under organisation {year.world.branch_b} but its "
             f"member is in {year.world.branch_a}.",
    }


def test_evidence_that_is_not_the_members_photo_is_found(year: Year) -> None:
    """Before uploads were recorded per member, `evidence` was free text (issue 14): such an
    entry serves its photo to nobody, and the check names it."""
    path = "evidence/2025/02/0b7c2c4e-9a4f-4d2e-8f0e-3c6a1b2d4e5f.jpg"
    n01 = year.sql("SELECT id FROM entry WHERE rule_code = 'N01'").scalar_one()
    year.sql("INSERT INTO evidence_photo (path, member_id, uploaded_by, uploaded_at) "
             "VALUES (:p, :m, 1, '2025-02-14 00:00:00')", p=path, m=year.world.members["a1"])
    year.sql("UPDATE entry SET evidence = :p WHERE id IN (:a, :b)", p=path, a=year.target,
             b=n01)  # a1's entry names a1's photo; a2's names it too
    year.sql("UPDATE entry SET evidence = 'evidence/../../etc/passwd' WHERE rule_code = 'P02'")
    p02 = year.sql("SELECT id FROM entry WHERE rule_code = 'P02'").scalar_one()
    found = {p.object_id: p.message for p in only(year.check(), "entry")}
    assert found == {
        n01: f"entry {n01}: its evidence is not a photo stored for its member.",
        p02: f"entry {p02}: its evidence is not a photo stored for its member.",
    }


def test_a_rating_changed_behind_the_apps_back_is_found(year: Year) -> None:
    approved_at = year.db.exec(select(Rating.approved_at).where(Rating.id == year.rating)).one()
    assert approved_at is not None
    year.db.execute(sa.update(RatingItem).where(col(RatingItem.rating_id) == year.rating)
                    .values(grade="excellent", changed_at=approved_at + timedelta(hours=1)))
    year.sql("UPDATE rating_item SET stars = 5 WHERE rating_id = :id AND member_id = :m",
             id=year.rating, m=year.world.members["a3"])
    report = year.check()
    assert {p.check for p in report.problems} == {"rating", "late_change"}
    messages = [p.message for p in report.problems if p.check == "rating"]
    assert any("stored stars 5 (now 0)" in m for m in messages)
    assert any(m.endswith("6 members are excellent, at most 2 of 6 may be.")
               for m in messages)
    late = [p for p in report.problems if p.check == "late_change"]
    assert len(late) == 6 and all("after the rating was approved" in p.message for p in late)


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "check.db"
    monkeypatch.setenv("JIFEN_DATABASE_URL", f"sqlite:///{path}")
    settings.get_settings.cache_clear()
    app_db.get_engine.cache_clear()
    yield path
    app_db.get_engine().dispose()
    settings.get_settings.cache_clear()
    app_db.get_engine.cache_clear()


def test_the_command_exits_0_when_all_is_well_and_1_listing_problems(
    own_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["create-admin", "--username", "root", "--password", "long-enough-1"]) == 0
    now = datetime.now(UTC)
    with Session(app_db.get_engine()) as session:
        root = load_actor(session, session.exec(select(Account)).one())
        branch = orgs.create_org(session, root, "第一支部", None, "branch", now)
        member, _ = members.create_member(session, root, members.NewMember(
            name="王芳", org_id=branch.id or 0, category="active", joined_on=date(2010, 7, 1),
            username="wangfang", password="long-enough-2"), now, now.date())
        entry = entries.create_entry(session, root, NewEntry(
            member_id=member.id or 0, rule_code="P01", occurred_on=now.date() - timedelta(
                days=1)), now, now.date())
        session.commit()
        entry_id = entry.id
    capsys.readouterr()

    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "All is well" in out and "1 entries" in out
    assert main(["check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True

    with sqlite3.connect(own_database) as connection:
        row = connection.execute("SELECT id FROM audit_log WHERE action = 'entry.create'") \
            .fetchone()[0]
        connection.execute("UPDATE audit_log SET after = replace(after, '\"points\": 2', "
                           "'\"points\": 8') WHERE id = ?", (row,))
        connection.execute("UPDATE entry SET quarter = 5 WHERE id = ?", (entry_id,))
    connection.close()
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "2 problem(s) found:" in out
    assert f"[audit_chain] 1\n  - audit row {row} (entry.create entry {entry_id}): its " \
        "content does not match its hash" in out
    assert f"[entry] 1\n  - entry {entry_id}: it is filed under" in out
    assert main(["check", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert [(p["check"], p["object_id"]) for p in report["problems"]] == [
        ("audit_chain", row), ("entry", entry_id)]


def test_the_command_says_when_it_cannot_read_the_database(
    own_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 2  # nothing migrated: no tables
    assert "jifen migrate" in capsys.readouterr().err


def _record_behind_the_lock(year: Year, action: str, object_id: int, at: datetime) -> None:
    """An audit row written now, as a code path that skipped the branch lock would."""
    admin = year.db.exec(select(Account.id).where(Account.username == "admin")).one()
    audit.record(year.db, actor_id=admin, action=action, object_type="entry",
                 object_id=object_id, at=at, after={"id": object_id})


def test_a_decision_that_took_effect_after_finalisation_is_found_by_audit_order(
        year: Year) -> None:
    """Stamped a second before the finalisation (as a request that began earlier), but its
    audit row follows the finalisation's: it took effect in a locked quarter."""
    finalized_at = datetime.fromisoformat(year.reviews[1]["finalized_at"])
    pending = year.sql("SELECT id FROM entry WHERE rule_code = 'P02'").scalar_one()
    year.db.execute(sa.update(Entry).where(col(Entry.id) == pending)
                    .values(decided_at=finalized_at - timedelta(seconds=1)))
    _record_behind_the_lock(year, "entry.approved", pending, finalized_at)
    [problem] = only(year.check(), "late_change")
    finalize_row = year.audit_id("review.finalize", year.reviews[1]["id"])
    change_row = finalize_row + 1 + year.sql(
        "SELECT count(*) FROM audit_log WHERE id > :f AND NOT (action = 'entry.approved' "
        "AND object_id = :e)", f=finalize_row, e=pending).scalar_one()
    assert problem.object_id == pending
    assert problem.message == (
        f"entry {pending} (member {year.world.members['a2']} (a2), 2025 Q1) took effect as "
        f"entry.approved after 第一支部 finalized that quarter (audit row {change_row} "
        f"follows the finalisation's row {finalize_row}).")


def test_stamps_inverted_by_a_lock_wait_are_not_a_problem(year: Year) -> None:
    """A request that began a moment after the finalize but took effect before it (it won
    the branch lock): its stamp is later, its audit row earlier. That is consistent."""
    finalized_at = datetime.fromisoformat(year.reviews[1]["finalized_at"])
    year.db.execute(sa.update(Entry).where(col(Entry.id) == year.target)
                    .values(created_at=finalized_at + timedelta(seconds=5),
                            decided_at=finalized_at + timedelta(seconds=5)))
    assert not [p for p in year.check().problems if p.check == "late_change"]
