"""Publishing or finalizing a quarterly review before its quarter has ended, or publishing it
with a notice below the year's min_notice_days, needs a reason (issue 17): 422
`reason_required` saying why, else the reason is stored on the review and in its audit row.

The clock stands at 2026-01-10 10:00 in Beijing: 2025 Q4 has ended, 2026 Q1 runs to 31 March.
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


def draft(world: World, year: int, quarter: int) -> int:
    review: int = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                                {"year": year, "quarter": quarter}), 201)["id"]
    return review


def body_with(reason: Any, **fields: Any) -> dict[str, Any]:
    return fields if reason is MISSING else fields | {"reason": reason}


def audited(db: Session, action: str, review: int) -> dict[str, Any]:
    row = db.exec(select(AuditLog).where(AuditLog.action == action,
                                         AuditLog.object_id == review)
                  .order_by(col(AuditLog.id).desc())).first()
    assert row is not None and row.after is not None
    after: dict[str, Any] = json.loads(row.after)
    return after


PUBLISH = [
    # (id, year, quarter, notice_days, reason, 422 detail or None, the reason stored)
    ("ended-enough-none", 2025, 4, 5, MISSING, None, None),
    ("ended-enough-null", 2025, 4, 5, None, None, None),
    ("ended-enough-blank", 2025, 4, 7, "   ", None, None),
    ("ended-enough-given", 2025, 4, 5, "  支委会议定  ", None, "支委会议定"),
    ("ended-short-none", 2025, 4, 4, MISSING,
     "a notice of 4 days is below the year's minimum of 5 days", None),
    ("ended-short-blank", 2025, 4, 0, "", "a notice of 0 days is below", None),
    ("ended-short-whitespace", 2025, 4, 3, " \n\t ", "a notice of 3 days is below", None),
    ("ended-short-given", 2025, 4, 0, "春节前须确认", None, "春节前须确认"),
    ("ended-short-500", 2025, 4, 1, "理" * 500, None, "理" * 500),
    ("unended-enough-none", 2026, 1, 5, MISSING,
     "2026 Q1 has not ended (it ends on 2026-03-31)", None),
    ("unended-enough-null", 2026, 1, 5, None, "2026 Q1 has not ended", None),
    ("unended-enough-whitespace", 2026, 1, 30, "  ", "2026 Q1 has not ended", None),
    # Nothing a reader would see: a zero-width space, an ideographic space, a word joiner.
    ("unended-invisible", 2026, 1, 5, "\u200b", "2026 Q1 has not ended", None),
    ("ended-short-invisible", 2025, 4, 0, "\u200b\u3000\u2060", "a notice of 0 days", None),
    ("unended-short-none", 2026, 1, 2, MISSING,
     "2026 Q1 has not ended (it ends on 2026-03-31) and a notice of 2 days is below", None),
    ("unended-enough-given", 2026, 1, 5, "换届前完成", None, "换届前完成"),
    ("unended-short-given", 2026, 1, 0, "换届前完成", None, "换届前完成"),
]


@pytest.mark.parametrize(("year", "quarter", "days", "reason", "why", "stored"),
                         [case[1:] for case in PUBLISH], ids=[case[0] for case in PUBLISH])
def test_publish_needs_a_reason_only_early_or_short(
        world: World, db: Session, year: int, quarter: int, days: int, reason: Any,
        why: str | None, stored: str | None) -> None:
    review = draft(world, year, quarter)
    answer = world.post("sec_a", f"/reviews/{review}/publish", body_with(reason,
                                                                        notice_days=days))
    if why is not None:
        assert why in refused(answer, 422, "reason_required")["detail"]
        assert ok(world.get("sec_a", f"/reviews/{review}"))["status"] == "draft"
        return
    published = ok(answer)
    assert (published["status"], published["publish_reason"]) == ("published", stored)
    assert audited(db, "review.publish", review)["publish_reason"] == stored


def test_a_bodiless_publish_of_an_ended_quarter_needs_none(world: World) -> None:
    review = draft(world, 2025, 4)
    published = ok(world.post("sec_a", f"/reviews/{review}/publish"))
    assert (published["status"], published["publish_reason"]) == ("published", None)


def test_a_reason_over_500_characters_is_refused(world: World) -> None:
    review = draft(world, 2026, 1)
    for path, body in (("publish", {"notice_days": 5}), ("finalize", {})):
        answer = refused(world.post("sec_a", f"/reviews/{review}/{path}",
                                    body | {"reason": "长" * 501}), 422, "validation_error")
        assert "reason" in answer["detail"]
        if path == "publish":
            ok(world.post("sec_a", f"/reviews/{review}/publish",
                          {"notice_days": 5, "reason": EARLY_REASON}))


FINALIZE = [
    # (id, year, quarter, body, 422 detail or None, the reason stored)
    ("ended-bodiless", 2025, 1, MISSING, None, None),
    ("ended-empty", 2025, 1, {}, None, None),
    ("ended-blank", 2025, 1, {"reason": " "}, None, None),
    ("ended-given", 2025, 1, {"reason": "按时确认"}, None, "按时确认"),
    ("unended-bodiless", 2026, 1, MISSING, "2026 Q1 has not ended (it ends on 2026-03-31)",
     None),
    ("unended-empty", 2026, 1, {}, "2026 Q1 has not ended", None),
    ("unended-null", 2026, 1, {"reason": None}, "2026 Q1 has not ended", None),
    ("unended-blank", 2026, 1, {"reason": ""}, "2026 Q1 has not ended", None),
    ("unended-whitespace", 2026, 1, {"reason": "\n  "}, "2026 Q1 has not ended", None),
    ("unended-given", 2026, 1, {"reason": " 党员外出务工，提前确认 "}, None,
     "党员外出务工，提前确认"),
]


@pytest.mark.parametrize(("year", "quarter", "body", "why", "stored"),
                         [case[1:] for case in FINALIZE], ids=[case[0] for case in FINALIZE])
def test_finalize_needs_a_reason_only_before_the_quarter_ends(
        world: World, db: Session, year: int, quarter: int, body: Any, why: str | None,
        stored: str | None) -> None:
    review = draft(world, year, quarter)
    ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
    path = f"/reviews/{review}/finalize"
    answer = world.post("sec_a", path) if body is MISSING else world.post("sec_a", path, body)
    if why is not None:
        assert why in refused(answer, 422, "reason_required")["detail"]
        assert ok(world.get("sec_a", f"/reviews/{review}"))["status"] == "published"
        # Nothing was locked: the year's rules are still open.
        assert ok(world.get("a1", "/rules", year=year))["frozen"] is False
        return
    final = ok(answer)
    assert (final["status"], final["finalize_reason"]) == ("finalized", stored)
    assert final["publish_reason"] == EARLY_REASON  # the publication's, kept
    assert audited(db, "review.finalize", review)["finalize_reason"] == stored


@pytest.mark.parametrize(("moment", "ended"), [
    (datetime(2026, 3, 31, 15, 59, tzinfo=UTC), False),  # 23:59 on 31 March in Beijing
    (datetime(2026, 3, 31, 16, 0, tzinfo=UTC), True),  # 00:00 on 1 April in Beijing
], ids=["last-minute-in-beijing", "first-minute-after"])
def test_the_quarter_ends_at_midnight_in_beijing(world: World, moment: datetime,
                                                 ended: bool) -> None:
    review = draft(world, 2026, 1)
    ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
    world.clock.at = moment
    answer = world.post("sec_a", f"/reviews/{review}/finalize")
    if ended:
        assert ok(answer)["status"] == "finalized"
    else:
        refused(answer, 422, "reason_required")


def test_the_minimum_is_the_years_own(world: World) -> None:
    ok(world.put("admin", "/rules/2025/procedure", {"min_notice_days": 0}))
    ok(world.put("admin", "/rules/2026/procedure", {"min_notice_days": 10}))
    ended = draft(world, 2025, 4)
    assert ok(world.post("sec_a", f"/reviews/{ended}/publish",
                         {"notice_days": 0}))["publish_reason"] is None
    running = draft(world, 2026, 1)
    detail = refused(world.post("sec_a", f"/reviews/{running}/publish", {"notice_days": 7}),
                     422, "reason_required")["detail"]
    assert "a notice of 7 days is below the year's minimum of 10 days" in detail


def test_other_refusals_come_first_and_members_see_no_reason(world: World) -> None:
    entry = world.entry("a1", "a1", "P03", "2026-01-05")["id"]
    review = draft(world, 2026, 1)
    # Pending entries refuse the step whatever the reason: it is no reason's business.
    refused(world.post("sec_a", f"/reviews/{review}/publish", {"notice_days": 0}), 409,
            "pending_entries")
    ok(world.post("sec_a", f"/entries/{entry}/approve"))
    published = ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
    assert published["publish_reason"] == EARLY_REASON
    seen = ok(world.get("a1", f"/reviews/{review}"))
    assert (seen["publish_reason"], seen["finalize_reason"]) == (None, None)
