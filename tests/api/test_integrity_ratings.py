"""`jifen check` of the annual rating's steps: a rating taken through every step through the
API checks clean; each count, voter mark, tally row or step changed by hand is named (the
`ballot`, `rating_steps` and `audit_missing` checks); ratings approved before the steps
existed are told apart by their audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.services import audit
from app.services.integrity import Report, run_checks
from tests.api.support import NO_NOTICE, PASSWORD, World, ok


@dataclass
class Flow:
    world: World
    db: Session
    rating: int  # branch A's 2025, through every step, approved by the 党委
    draft: int  # branch B's 2025, a draft without a ballot
    m: dict[str, int]

    def check(self) -> Report:
        return run_checks(self.db, self.world.clock.now())

    def sql(self, statement: str, **params: Any) -> Any:
        return self.db.execute(sa.text(statement), params)


def finalize_2025(world: World, who: str, branch: int) -> None:
    for quarter in (1, 2, 3, 4):
        review = ok(world.post(who, f"/orgs/{branch}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)["id"]
        ok(world.post(who, f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post(who, f"/reviews/{review}/finalize"))


def ballot(world: World, **grades: str) -> dict[str, Any]:
    return {"votes": {str(world.members[who]): grade for who, grade in grades.items()}}


@pytest.fixture
def flow(world: World, db: Session) -> Flow:
    """Branch A (voters sec_a, vice_a, a1, a2, a3 and the probationary p1; a4 exempt; graded
    lines sec_a, vice_a, a1, a2, a3): self-assessments, three online and two paper ballots,
    closed, a grade changed, 公示, an objection answered, reopened, a grade changed again,
    published, submitted, approved by the 党委. Branch B: a draft, no ballot."""
    w = world
    body = {"name": "p1", "org_id": w.branch_a, "category": "active",
            "joined_on": "2025-07-01", "username": "p1", "password": PASSWORD,
            "standing": "probationary"}
    w.members["p1"] = ok(w.post("admin", "/members", body), 201)["id"]
    ok(w.put("sec_a", f"/members/{w.members['a4']}/exemptions/2025",
             {"reason_kind": "bedridden", "note": "长期卧床", "parent_consent_on": "2025-12-20",
              "meeting_on": "2025-12-28"}))
    finalize_2025(w, "sec_a", w.branch_a)
    finalize_2025(w, "sec_b", w.branch_b)
    rating = ok(w.post("sec_a", f"/orgs/{w.branch_a}/ratings", {"year": 2025}), 201)["id"]
    draft = ok(w.post("sec_b", f"/orgs/{w.branch_b}/ratings", {"year": 2025}), 201)["id"]
    for who in ("a1", "a2", "p1"):
        ok(w.put(who, f"/ratings/{rating}/self-assessment", {"text": f"{who}的个人自评"}))
    ok(w.post("sec_a", f"/ratings/{rating}/ballot/open"))
    for who, votes in (("a1", ballot(w, a2="excellent", a3="qualified", sec_a="qualified")),
                       ("a2", ballot(w, a1="qualified", a3="qualified")),
                       ("p1", ballot(w, a1="qualified", a2="excellent",
                                     a3="basically_qualified", sec_a="qualified",
                                     vice_a="qualified"))):
        ok(w.post(who, f"/ratings/{rating}/ballots", votes), 201)
    for votes in (ballot(w, a1="qualified", a2="qualified"), ballot(w)):
        ok(w.post("sec_a", f"/ratings/{rating}/paper-ballots", votes), 201)
    ok(w.post("sec_a", f"/ratings/{rating}/ballot/close"))
    ok(w.patch("sec_a", f"/ratings/{rating}/items/{w.members['a3']}",
               {"grade": "basically_qualified", "reason": "测评意见较多"}))
    ok(w.post("sec_a", f"/ratings/{rating}/publish", {"notice_days": 5}))
    objection = ok(w.post("a3", f"/ratings/{rating}/objections", {"text": "有请假记录"}),
                   201)["id"]
    ok(w.post("sec_a", f"/objections/{objection}/resolve", {"response": "属实，改为合格"}))
    ok(w.post("sec_a", f"/ratings/{rating}/reopen", {"reason": "按异议调整"}))
    ok(w.patch("sec_a", f"/ratings/{rating}/items/{w.members['a3']}",
               {"grade": "qualified", "reason": "请假属实"}))
    ok(w.post("sec_a", f"/ratings/{rating}/publish", NO_NOTICE))
    ok(w.post("sec_a", f"/ratings/{rating}/submit"))
    ok(w.post("party_sec", f"/ratings/{rating}/approve"))
    return Flow(world=w, db=db, rating=rating, draft=draft, m=w.members)


def test_a_rating_through_every_step_checks_clean(flow: Flow) -> None:
    rating = ok(flow.world.get("sec_a", f"/ratings/{flow.rating}"))
    assert rating["status"] == "approved"
    assert {k: rating["ballot"][k] for k in ("status", "voters", "cast_online",
                                             "cast_paper")} == {
        "status": "closed", "voters": 6, "cast_online": 3, "cast_paper": 2}
    report = flow.check()
    assert report.ok, report.problems
    assert report.checked["ballots"] == 1
    assert report.checked["ratings past draft"] == 1


# (what is done by hand, its statement, the problems found: (check, message ending)).
# {r}: the approved rating, {d}: branch B's draft, {<username>}: a member id; {R} and {D}
# begin a message about either. Hand-worked:
# 5 ballots cast (3 online, 2 paper) of 6 voters; a2 got excellent 2, qualified 1; a3
# qualified 2, basically_qualified 1; a1 qualified 3; sec_a qualified 2; vice_a qualified 1.
CLOSE = "when the ballot closed"
TAMPERING: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("a vote moved to another grade, the sums unchanged",
     "UPDATE rating_tally SET count = count + (CASE grade WHEN 'unqualified' THEN 1 ELSE -1 "
     "END) WHERE rating_id = {r} AND member_id = {a3} AND grade IN ('qualified', "
     "'unqualified')",
     [("ballot", f"{{R}}the counts of members {{a3}} are not those the audit log recorded {CLOSE} "
                 "(row {close}).")]),
    ("a tally count bumped past the ballots cast",
     "UPDATE rating_tally SET count = count + 3 WHERE rating_id = {r} AND member_id = {a2} "
     "AND grade = 'excellent'",
     [("ballot", "{R}member {a2}'s tally adds up to 6 votes, more than the 5 ballots cast."),
      ("ballot", f"{{R}}the counts of members {{a2}} are not those the audit log recorded {CLOSE} "
                 "(row {close}).")]),
    ("a negative count",
     "UPDATE rating_tally SET count = -1 WHERE rating_id = {r} AND member_id = {a1} "
     "AND grade = 'excellent'",
     [("ballot", "{R}member {a1}'s tally has a negative count."),
      ("ballot", f"{{R}}the counts of members {{a1}} are not those the audit log recorded {CLOSE} "
                 "(row {close}).")]),
    ("a tally row deleted",
     "DELETE FROM rating_tally WHERE rating_id = {r} AND member_id = {a1} "
     "AND grade = 'unqualified'",
     [("ballot", "{R}member {a1}'s tally has 3 rows, not one for each of the four grades.")]),
    ("a tally row for an exempt line",
     "INSERT INTO rating_tally (rating_id, member_id, grade, count) "
     "VALUES ({r}, {a4}, 'qualified', 0)",
     [("ballot", "{R}member {a4}'s tally exists, but the line is not graded (exempt, "
                 "probationary or not on the rating).")]),
    ("a tally row for a probationary line",
     "INSERT INTO rating_tally (rating_id, member_id, grade, count) "
     "VALUES ({r}, {p1}, 'qualified', 1)",
     [("ballot", "{R}member {p1}'s tally exists, but the line is not graded (exempt, "
                 "probationary or not on the rating)."),
      ("ballot", f"{{R}}the counts of members {{p1}} are not those the audit log recorded {CLOSE} "
                 "(row {close}).")]),
    ("cast_online bumped",
     "UPDATE rating SET cast_online = cast_online + 1 WHERE id = {r}",
     [("ballot", "{R}cast_online is 4 but 3 voters are marked as having voted."),
      ("ballot", "{R}cast_online is 4 but the audit log has 3 rating.ballot_cast rows."),
      ("ballot", f"{{R}}cast_online is 4, but was 3 {CLOSE} (audit row {{close}}).")]),
    ("paper ballots past the voters",
     "UPDATE rating SET cast_paper = 4 WHERE id = {r}",
     [("ballot", "{R}3 online and 4 paper ballots exceed its 6 voters."),
      ("ballot", "{R}cast_paper is 4 but the audit log has 2 rating.paper_ballot rows."),
      ("ballot", f"{{R}}cast_paper is 4, but was 2 {CLOSE} (audit row {{close}}).")]),
    ("voters lowered",
     "UPDATE rating SET voters = 5 WHERE id = {r}",
     [("ballot", "{R}voters is 5 but it has 6 voter rows."),
      ("ballot", f"{{R}}voters is 5, but was 6 {CLOSE} (audit row {{close}}).")]),
    ("a voter's mark reset (a second ballot would be let in)",
     "UPDATE rating_voter SET voted = false WHERE rating_id = {r} AND member_id = {a1}",
     [("ballot", "{R}cast_online is 3 but 2 voters are marked as having voted."),
      ("ballot", "{R}the audit log has a ballot cast by member {a1}, who is not marked as having "
                 "voted: the mark was reset behind the app's back (a second ballot would be "
                 "let in).")]),
    ("a voter marked who never voted",
     "UPDATE rating_voter SET voted = true WHERE rating_id = {r} AND member_id = {sec_a}",
     [("ballot", "{R}cast_online is 3 but 4 voters are marked as having voted."),
      ("ballot", "{R}member {sec_a} is marked as having voted online, but the audit log has no "
                 "rating.ballot_cast row of theirs: the mark was set behind the app's back.")]),
    ("an exempt member made a voter",
     "INSERT INTO rating_voter (rating_id, member_id, voted) VALUES ({r}, {a4}, false)",
     [("ballot", "{R}voters is 6 but it has 7 voter rows."),
      ("ballot", "{R}1 of its voters are not a line of it, or are exempt.")]),
    ("the ballot said never opened",
     "UPDATE rating SET ballot = 'none' WHERE id = {r}",
     [("ballot", "{R}its ballot was never opened, yet it holds 6 voter rows, 20 tally rows, 5 "
                 "ballots cast."),
      ("rating_steps", "{R}it is approved without a closed ballot (民主测评), which the 2025 "
                       "rules require (ballot_required).")]),
    ("the ballot said still open",
     "UPDATE rating SET ballot = 'open' WHERE id = {r}",
     [("rating_steps", "{R}it is approved while its ballot is still open.")]),
    ("a tally on a rating that never had a ballot",
     "INSERT INTO rating_tally (rating_id, member_id, grade, count) "
     "VALUES ({d}, {b1}, 'qualified', 0)",
     [("ballot", "{D}its ballot was never opened, yet it holds 1 tally rows.")]),
    ("a return written by hand",
     "UPDATE rating SET sent_back = 'returned' WHERE id = {r}",
     [("audit_missing", "rating {r} is returned but the audit log has no rating.return row "
                        "for it: the log was cut short, or the row was written behind the "
                        "app's back.")]),
    ("a submission written by hand",
     "UPDATE rating SET status = 'submitted' WHERE id = {d}",
     [("audit_missing", "rating {d} is published but the audit log has no rating.publish row "
                        "for it: the log was cut short, or the row was written behind the "
                        "app's back."),
      ("audit_missing", "rating {d} is submitted but the audit log has no rating.submit row "
                        "for it: the log was cut short, or the row was written behind the "
                        "app's back."),
      ("rating_steps", "{D}it is submitted without a closed ballot (民主测评), which the 2025 "
                       "rules require (ballot_required).")]),
    ("a self-assessment's text given an override character",
     "UPDATE self_assessment SET text = '自\u202e评' WHERE member_id = {a1}",
     [("text", "self_assessment {sa_a1}, text: U+202E RIGHT-TO-LEFT OVERRIDE at character 2")]),
    ("a self-assessment written by hand",
     "INSERT INTO self_assessment (rating_id, member_id, text, updated_at) "
     "VALUES ({d}, {b1}, '自评', '2026-01-10 02:00:00')",
     [("audit_missing", "self_assessment {sa} exists but the audit log has no "
                        "self_assessment.write row for it: the log was cut short, or the row "
                        "was written behind the app's back.")]),
]


def test_each_change_by_hand_is_named(flow: Flow) -> None:
    """Each case of TAMPERING on the same database, undone after it (a savepoint)."""
    close = flow.sql("SELECT id FROM audit_log WHERE action = 'rating.ballot_close' "
                     "AND object_id = :r", r=flow.rating).scalar_one()
    ids = {"r": flow.rating, "d": flow.draft, "close": close, **flow.m,
           "sa_a1": flow.sql("SELECT id FROM self_assessment WHERE member_id = :m",
                             m=flow.m["a1"]).scalar_one(),
           "R": f"rating {flow.rating} (第一支部 2025): ",
           "D": f"rating {flow.draft} (第二支部 2025): "}
    unexpected = []
    for what, statement, expected in TAMPERING:
        savepoint = flow.db.begin_nested()
        try:
            flow.sql(statement.format(**ids))
            made = ids | {"sa": flow.sql("SELECT max(id) FROM self_assessment").scalar_one()}
            found = sorted((p.check, p.message) for p in flow.check().problems)
            wanted = sorted((check, message.format(**made)) for check, message in expected)
            if found != wanted:
                unexpected.append((what, found, wanted))
        finally:
            savepoint.rollback()
    assert unexpected == []
    assert flow.check().ok


def approve_by_hand(flow: Flow, *, submitted: bool) -> None:
    """Branch B's draft approved as before the steps existed: straight from draft by its
    committee, audited as then (with `submitted`, a rating.submit row as well)."""
    now = flow.world.clock.now()
    committee = flow.sql("SELECT id FROM account WHERE username = 'sec_b'").scalar_one()
    flow.sql("UPDATE rating SET status = 'approved', approved_by = :by, approved_at = :now "
             "WHERE id = :d", by=committee, now=now.replace(tzinfo=None), d=flow.draft)
    for action in ("rating.submit",) * submitted + ("rating.approve",):
        audit.record(flow.db, actor_id=committee, action=action, object_type="rating",
                     object_id=flow.draft, at=now)
    flow.db.flush()


def test_a_rating_approved_before_the_steps_needs_no_ballot(flow: Flow) -> None:
    approve_by_hand(flow, submitted=False)
    report = flow.check()
    assert report.ok, report.problems
    assert report.checked["ratings past draft"] == 2


def test_a_rating_approved_after_a_submission_needs_its_ballot(flow: Flow) -> None:
    approve_by_hand(flow, submitted=True)
    assert [(p.check, p.object_id, p.message) for p in flow.check().problems] == [
        ("rating_steps", flow.draft,
         f"rating {flow.draft} (第二支部 2025): it is approved without a closed ballot "
         "(民主测评), which the 2025 rules require (ballot_required).")]


def test_without_ballot_required_a_rating_goes_on_without_one(flow: Flow) -> None:
    """ballot_required off for 2025: branch B publishes, submits and is approved without a
    ballot, and checks clean; turned on again afterwards, the check names the rating (it
    reads the rules as they are now)."""
    w = flow.world
    flow.sql("UPDATE rule_set SET ballot_required = false, revision = 'no-ballot' "
             "WHERE year = 2025")
    ok(w.post("sec_b", f"/ratings/{flow.draft}/publish", NO_NOTICE))
    ok(w.post("sec_b", f"/ratings/{flow.draft}/submit"))
    ok(w.post("party_sec", f"/ratings/{flow.draft}/approve"))
    report = flow.check()
    assert report.ok, report.problems
    flow.sql("UPDATE rule_set SET ballot_required = true, revision = 'ballot' WHERE year = 2025")
    assert [p.check for p in flow.check().problems] == ["rating_steps"]
