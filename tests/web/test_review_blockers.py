"""One list of what blocks a review (reviews.blockers): finalize raises its first, the page
lists them all, and the two never disagree."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.clock import FixedClock
from app.models import Review
from app.services import reviews
from tests.api.support import NO_NOTICE, World, ok, refused
from tests.web.support import web_login

PANEL = {
    "objections_open": "还有 1 条异议未答复",
    "notice_running": "公示期尚未结束",
    "previous_quarter_open": "第一季度尚未确认",
    "pending_entries": "还有 1 条待审核的积分记录",
}


def refusal_codes(db: Session, review_id: int, clock: FixedClock) -> list[str]:
    review = db.get(Review, review_id)
    assert review is not None
    db.refresh(review)
    return [r.code for r in reviews.blockers(db, review, clock.now()).refusals("finalize")]


def test_finalize_raises_the_first_blocker_the_page_lists_them_all(
        world: World, client: TestClient, db: Session, clock: FixedClock) -> None:
    # Q2 published with 5 days' notice while Q1 has no review; then an objection and a
    # self-report waiting for approval: four blockers at once.
    q2 = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                       {"year": 2025, "quarter": 2}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{q2}/publish", {"notice_days": 5}))
    objection = ok(world.post("a2", f"/reviews/{q2}/objections", {"text": "有误"}), 201)
    pending = world.entry("a1", "a1", "P03", "2025-05-14")
    assert pending["status"] == "pending"
    expected = ["objections_open", "notice_running", "previous_quarter_open",
                "pending_entries"]
    assert refusal_codes(db, q2, clock) == expected
    web_login(client, "sec_a")
    panel = client.get(f"/committee/reviews/{q2}").text
    assert all(PANEL[code] in panel for code in expected)

    # Each finalize is refused for the first that is left; the page lists what is left.
    for code, clear in (
        ("objections_open", lambda: ok(world.post(
            "sec_a", f"/objections/{objection['id']}/resolve", {"response": "已核实"}))),
        ("notice_running", lambda: clock.advance(days=6)),
        ("previous_quarter_open", lambda: finalize_q1(world)),
        ("pending_entries", lambda: ok(world.post(
            "sec_a", f"/entries/{pending['id']}/approve"))),
    ):
        left = refusal_codes(db, q2, clock)
        assert left == expected[expected.index(code):]
        refused(world.post("sec_a", f"/reviews/{q2}/finalize"), 409, code)
        web_login(client, "sec_a")
        panel = client.get(f"/committee/reviews/{q2}").text
        assert [c for c in expected if PANEL[c] in panel] == left
        clear()
    assert refusal_codes(db, q2, clock) == []
    assert ok(world.post("sec_a", f"/reviews/{q2}/finalize"))["status"] == "finalized"


def finalize_q1(world: World) -> None:
    q1 = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                       {"year": 2025, "quarter": 1}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{q1}/publish", NO_NOTICE))
    ok(world.post("sec_a", f"/reviews/{q1}/finalize"))


@pytest.mark.parametrize(
    ("blockers", "publish", "finalize"),
    [
        pytest.param(reviews.ReviewBlockers(2025, 2, 0, 0, None, False, None), [], [],
                     id="nothing_blocks"),
        pytest.param(reviews.ReviewBlockers(2025, 2, 2, 0, None, False, None),
                     ["Cannot publish: 2 entries of 2025 Q2 still pending; approve or "
                      "reject them first."],
                     ["Cannot finalize: 2 entries of 2025 Q2 still pending; approve or "
                      "reject them first."], id="pending_blocks_both"),
        pytest.param(reviews.ReviewBlockers(2025, 3, 0, 1, None, False, 2), [],
                     ["1 objection(s) still open; respond to them first.",
                      "Finalize 2025 Q2 first."], id="only_finalize_waits_for_the_rest"),
    ],
)
def test_refusals_keep_their_codes_order_and_messages(
        blockers: reviews.ReviewBlockers, publish: list[str], finalize: list[str]) -> None:
    assert [r.detail for r in blockers.refusals("publish")] == publish
    assert [r.detail for r in blockers.refusals("finalize")] == finalize
    assert (blockers.can_publish, blockers.can_finalize) == (not publish, not finalize)
