"""The count under the score (notices.unseen_summary, plain columns) agrees with the notices
list (member_notices) in every case that matters: each kind, a notice not yet due (`at`
after now), one seen or not, one past the 90 days, and the rare kinds (an objection
answered, a disposal case) that the count reads through the list. The clock stands at
2026-01-10 02:00 UTC and moves a minute per step."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.models import Account
from app.services import notices
from app.services.access import load_actor
from tests.api.case_scene import file_case
from tests.api.support import NO_NOTICE, World, ok
from tests.api.test_rating_notices import branch_a_rating

BRANCH_A = ("sec_a", "vice_a", "a1", "a2", "a3", "a4")
# Moments around the clock's: before the first step (nothing due yet), now, and later on
# (a notice 90 days old is gone).
SHIFTS = (timedelta(minutes=-30), timedelta(0), timedelta(days=89, hours=23),
          timedelta(days=91))


def agree(db: Session, world: World, who: str) -> int:
    """The count and the list agree for `who` at each moment around now; the unseen count
    of now."""
    account = db.exec(select(Account).where(Account.username == who)).one()
    actor = load_actor(db, account)
    counts = []
    for shift in SHIFTS:
        now = world.clock.now() + shift
        listed = notices.member_notices(db, actor, now)
        fresh = notices.member_notices(db, actor, now, unseen_only=True)
        summary = notices.unseen_summary(db, actor, now)
        unseen = sum(1 for n in listed.items if n.unseen)
        assert (summary.count, summary.cases) == (unseen, listed.cases), (who, shift)
        assert (fresh.unseen_count, fresh.cases) == (unseen, listed.cases), (who, shift)
        counts.append(summary.count)
    return counts[1]


def step(world: World) -> None:
    world.clock.advance(minutes=1)


def test_entries_and_reviews(world: World, db: Session) -> None:
    assert agree(db, world, "a1") == 0
    study = world.entry("a1", "a1", "P03", "2025-11-05")["id"]
    lesson = world.entry("a1", "a1", "P01", "2025-11-06")["id"]
    step(world)
    ok(world.post("sec_a", f"/entries/{study}/approve"))
    ok(world.post("sec_a", f"/entries/{lesson}/reject", {"reason": "没有签到记录"}))
    world.entry("sec_a", "a1", "N01", "2025-12-02")  # recorded by the committee
    assert agree(db, world, "a1") == 3
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 4}), 201)["id"]
    step(world)
    ok(world.post("sec_a", f"/reviews/{review}/publish", {"notice_days": 5}))
    assert agree(db, world, "a1") == 4
    assert agree(db, world, "a2") == 1
    # Seen; then the approval revoked: the revocation alone is new.
    ok(world.post("a1", "/me/notices/seen"))
    assert agree(db, world, "a1") == 0
    step(world)
    ok(world.post("sec_a", f"/reviews/{review}/reopen"))  # a draft is no news
    ok(world.post("sec_a", f"/entries/{study}/revoke", {"reason": "日期记错了"}))
    assert agree(db, world, "a1") == 1
    assert agree(db, world, "a2") == 0
    # Seen up to a moment between the decisions and the revocation.
    ok(world.post("a1", "/me/notices/seen", {"up_to": "2026-01-10T02:01:00Z"}))
    assert agree(db, world, "a1") == 1
    assert agree(db, world, "b1") == 0


def test_the_ratings_ballot_and_publication(world: World, db: Session) -> None:
    rating = branch_a_rating(world)  # the four quarters' 公示; the draft is no news
    assert {who: agree(db, world, who) for who in BRANCH_A} == dict.fromkeys(BRANCH_A, 4)
    step(world)
    ok(world.post("sec_a", f"/ratings/{rating}/ballot/open"))
    assert agree(db, world, "a1") == 5
    step(world)
    ok(world.post("a1", f"/ratings/{rating}/ballots",
                  {"votes": {str(world.members["a2"]): "qualified"}}), 201)
    assert (agree(db, world, "a1"), agree(db, world, "a2")) == (4, 5)
    for _ in range(5):  # every ballot in: nobody is asked to vote any more
        ok(world.post("sec_a", f"/ratings/{rating}/paper-ballots", {"votes": {}}), 201)
    assert agree(db, world, "a2") == 4
    ok(world.post("sec_a", f"/ratings/{rating}/ballot/close"))
    step(world)
    ok(world.post("sec_a", f"/ratings/{rating}/publish", NO_NOTICE))
    assert {who: agree(db, world, who) for who in BRANCH_A} == dict.fromkeys(BRANCH_A, 5)


def test_an_answered_objection_and_a_disposal_case(world: World, db: Session) -> None:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 4}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{review}/publish", {"notice_days": 5}))
    step(world)
    objection = ok(world.post("a1", f"/reviews/{review}/objections",
                              {"text": "第四季度的评议分有误"}), 201)["id"]
    ok(world.post("a1", "/me/notices/seen"))
    step(world)
    ok(world.post("sec_a", f"/objections/{objection}/resolve", {"response": "已复核"}))
    assert agree(db, world, "a1") == 1
    ok(file_case(world), 201)
    assert agree(db, world, "a4") == 2  # the 公示 and the filing; the case is listed
    assert notices.unseen_summary(db, load_actor(db, db.exec(select(Account).where(
        Account.username == "a4")).one()), world.clock.now()).cases != []
