"""Publishing or submitting a year's rating before the year has ended, or publishing it with a
notice below the year's min_notice_days, needs a reason (issue 17): 422 `reason_required`
saying why, else the reason is stored on the rating and in its audit row.

2025's rating is made at the clock's 2026-01-10 (its year has ended); 2026's at 5 October
2026, its fourth quarter finalized early with a reason, while 2026 runs to 31 December. (The
clock stays before the real one: a token issued "in the future" is refused.)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.models import AuditLog
from tests.api.support import EARLY_REASON, NO_NOTICE, World, ok, refused

MISSING = object()  # no reason field in the body
# Beijing's 5 October 2026 at 10:00: 2026 Q4 has begun, the year has not ended.
OCTOBER = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)


def closed_rating(world: World, year: int, at: datetime | None = None) -> int:
    """Branch A's rating of `year`, its four quarters finalized (early ones with a reason)
    and its ballot opened and closed, `at` a moment (by default 5 October for 2026): ready
    to publish."""
    if at is not None or year == 2026:
        world.clock.at = at or OCTOBER
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": year, "quarter": quarter}), 201)["id"]
        ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review}/finalize", {"reason": EARLY_REASON}))
    rating: int = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": year}),
                     201)["id"]
    for step in ("ballot/open", "ballot/close"):
        ok(world.post("sec_a", f"/ratings/{rating}/{step}"))
    return rating


def body_with(reason: Any, **fields: Any) -> dict[str, Any]:
    return fields if reason is MISSING else fields | {"reason": reason}


def audited(db: Session, action: str, rating: int) -> dict[str, Any]:
    row = db.exec(select(AuditLog).where(AuditLog.action == action,
                                         AuditLog.object_id == rating)
                  .order_by(col(AuditLog.id).desc())).first()
    assert row is not None and row.after is not None
    after: dict[str, Any] = json.loads(row.after)
    return after


PUBLISH = [
    # (id, year, the body's notice_days (None: left out), reason, 422 detail, stored)
    ("ended-default-none", 2025, None, MISSING, None, None),
    ("ended-enough-blank", 2025, 5, "  ", None, None),
    ("ended-enough-given", 2025, 9, " 按期公示 ", None, "按期公示"),
    ("ended-short-none", 2025, 3, MISSING,
     "a notice of 3 days is below the year's minimum of 5 days", None),
    ("ended-short-null", 2025, 0, None, "a notice of 0 days is below", None),
    ("ended-short-whitespace", 2025, 0, "\t", "a notice of 0 days is below", None),
    ("ended-short-given", 2025, 0, "春节前上报", None, "春节前上报"),
    ("unended-default-none", 2026, None, MISSING,
     "2026 has not ended (it ends on 2026-12-31)", None),
    ("unended-enough-blank", 2026, 5, "", "2026 has not ended", None),
    ("unended-short-none", 2026, 1, MISSING,
     "2026 has not ended (it ends on 2026-12-31) and a notice of 1 days is below", None),
    ("unended-enough-given", 2026, 5, "换届提前", None, "换届提前"),
    ("unended-short-given", 2026, 0, "换届提前", None, "换届提前"),
]


@pytest.mark.parametrize(("year", "days", "reason", "why", "stored"),
                         [case[1:] for case in PUBLISH], ids=[case[0] for case in PUBLISH])
def test_publish_needs_a_reason_only_early_or_short(
        world: World, db: Session, year: int, days: int | None, reason: Any, why: str | None,
        stored: str | None) -> None:
    rating = closed_rating(world, year)
    fields = {} if days is None else {"notice_days": days}
    answer = world.post("sec_a", f"/ratings/{rating}/publish", body_with(reason, **fields))
    if why is not None:
        assert why in refused(answer, 422, "reason_required")["detail"]
        assert ok(world.get("sec_a", f"/ratings/{rating}"))["status"] == "draft"
        return
    published = ok(answer)
    assert (published["status"], published["publish_reason"]) == ("published", stored)
    assert audited(db, "rating.publish", rating)["publish_reason"] == stored


def test_the_default_notice_below_the_minimum_needs_a_reason(world: World) -> None:
    rating = closed_rating(world, 2025)
    ok(world.put("admin", "/rules/2025/procedure", {"min_notice_days": 7}))
    detail = refused(world.post("sec_a", f"/ratings/{rating}/publish"), 422,
                     "reason_required")["detail"]
    assert "a notice of 5 days is below the year's minimum of 7 days" in detail
    ok(world.put("admin", "/rules/2025/procedure", {"rating_notice_days": 7}))
    assert ok(world.post("sec_a", f"/ratings/{rating}/publish"))["status"] == "published"


SUBMIT = [
    # (id, year, body, 422 detail, stored)
    ("ended-bodiless", 2025, MISSING, None, None),
    ("ended-empty", 2025, {}, None, None),
    ("ended-given", 2025, {"reason": "如期上报"}, None, "如期上报"),
    ("unended-bodiless", 2026, MISSING, "2026 has not ended (it ends on 2026-12-31)", None),
    ("unended-null", 2026, {"reason": None}, "2026 has not ended", None),
    ("unended-whitespace", 2026, {"reason": "  "}, "2026 has not ended", None),
    ("unended-given", 2026, {"reason": " 党委要求年底前报齐 "}, None, "党委要求年底前报齐"),
]


@pytest.mark.parametrize(("year", "body", "why", "stored"), [case[1:] for case in SUBMIT],
                         ids=[case[0] for case in SUBMIT])
def test_submit_needs_a_reason_only_before_the_year_ends(
        world: World, db: Session, year: int, body: Any, why: str | None,
        stored: str | None) -> None:
    rating = closed_rating(world, year)
    ok(world.post("sec_a", f"/ratings/{rating}/publish", NO_NOTICE))
    path = f"/ratings/{rating}/submit"
    answer = world.post("sec_a", path) if body is MISSING else world.post("sec_a", path, body)
    if why is not None:
        assert why in refused(answer, 422, "reason_required")["detail"]
        assert ok(world.get("sec_a", f"/ratings/{rating}"))["status"] == "published"
        return
    submitted = ok(answer)
    assert (submitted["status"], submitted["submit_reason"]) == ("submitted", stored)
    assert submitted["publish_reason"] == EARLY_REASON
    assert audited(db, "rating.submit", rating)["submit_reason"] == stored


def test_a_reason_over_500_characters_is_refused(world: World) -> None:
    rating = closed_rating(world, 2026)
    refused(world.post("sec_a", f"/ratings/{rating}/publish", {"reason": "长" * 501}), 422,
            "validation_error")
    ok(world.post("sec_a", f"/ratings/{rating}/publish", {"reason": "长" * 500}))
    refused(world.post("sec_a", f"/ratings/{rating}/submit", {"reason": "长" * 501}), 422,
            "validation_error")


def test_the_year_ends_at_midnight_in_beijing_and_a_return_clears_the_submission(
        world: World) -> None:
    rating = closed_rating(world, 2025, at=datetime(2025, 12, 20, 2, 0, tzinfo=UTC))
    ok(world.post("sec_a", f"/ratings/{rating}/publish", NO_NOTICE))
    world.clock.at = datetime(2025, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
    detail = refused(world.post("sec_a", f"/ratings/{rating}/submit"), 422,
                     "reason_required")["detail"]
    assert "2025 has not ended (it ends on 2025-12-31)" in detail
    submitted = ok(world.post("sec_a", f"/ratings/{rating}/submit", {"reason": "年底会议"}))
    assert submitted["submit_reason"] == "年底会议"
    returned = ok(world.post("party_sec", f"/ratings/{rating}/return", {"reason": "请补充"}))
    assert (returned["status"], returned["submit_reason"]) == ("draft", None)
    world.clock.at = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # 1 January 2026, 00:00
    again = ok(world.post("sec_a", f"/ratings/{rating}/publish"))
    assert again["publish_reason"] is None  # a new publication, on time: none
    world.clock.advance(days=5)
    assert ok(world.post("sec_a", f"/ratings/{rating}/submit"))["submit_reason"] is None


def test_members_do_not_see_the_reasons(world: World) -> None:
    rating = closed_rating(world, 2025)
    ok(world.post("sec_a", f"/ratings/{rating}/publish", NO_NOTICE))
    seen = ok(world.get("a1", f"/ratings/{rating}"))
    assert (seen["publish_reason"], seen["submit_reason"]) == (None, None)
    assert ok(world.get("party_sec", f"/ratings/{rating}"))["publish_reason"] == EARLY_REASON
