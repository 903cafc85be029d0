"""PUT /rules/{year}/procedure: the rule set's procedural parameters (appraisal.md §6),
editable after the year's rules freeze, checked, admin only, audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.models import Account, AuditLog, RuleSetRow
from tests.api.support import World, ok, refused
from tests.api.test_bad_input import GARBAGE, finalize_year, not_500

DEFAULTS = {"ballot_required": True, "rating_notice_days": 5, "rectify_months": 6,
            "min_notice_days": 5}


def put(world: World, year: int, body: Any, who: str = "admin") -> Any:
    return world.put(who, f"/rules/{year}/procedure", body)


def procedure(world: World, year: int) -> dict[str, Any]:
    params = ok(world.get("a1", "/rules", year=year))["params"]
    return {k: params[k] for k in DEFAULTS}


def revision(db: Session, year: int) -> str | None:
    db.expire_all()
    row = db.get(RuleSetRow, year)
    return row.revision if row else None


def audit_rows(db: Session, year: int) -> list[AuditLog]:
    return list(db.exec(select(AuditLog).where(AuditLog.action == "rules.procedure",
                                               AuditLog.object_id == year)
                        .order_by(col(AuditLog.id))).all())


def test_set_them_one_or_all_and_each_change_is_audited(world: World, db: Session) -> None:
    assert procedure(world, 2026) == DEFAULTS
    assert revision(db, 2026) is None  # read as the defaults, not stored yet
    answer = ok(put(world, 2026, {"rating_notice_days": 7}))
    # The whole of the year's parameters; the scoring numbers as they were.
    assert answer == ok(world.get("a1", "/rules", year=2026))["params"]
    assert (answer["rating_notice_days"], answer["ballot_required"], answer["rectify_months"],
            answer["star_thresholds"], answer["excellent_divisor"]) == \
        (7, True, 6, [60, 70, 80, 90, 96], 3)
    first = revision(db, 2026)
    assert first is not None  # stored by its first write, as an item edit would store it
    ok(put(world, 2026, {"ballot_required": False, "rating_notice_days": 0,
                         "rectify_months": 12, "min_notice_days": 0}))
    assert procedure(world, 2026) == {"ballot_required": False, "rating_notice_days": 0,
                                      "rectify_months": 12, "min_notice_days": 0}
    assert revision(db, 2026) not in (None, first)
    # 2027 has no rules of its own: it reads 2026's, procedure included.
    assert procedure(world, 2027)["rating_notice_days"] == 0
    admin = db.exec(select(Account).where(Account.username == "admin")).one()
    rows = audit_rows(db, 2026)
    assert [(r.actor_id, r.object_type) for r in rows] == [(admin.id, "rule_set")] * 2
    changes = [({k: json.loads(r.before or "{}")[k] for k in DEFAULTS},
                {k: json.loads(r.after or "{}")[k] for k in DEFAULTS}) for r in rows]
    assert changes == [
        (DEFAULTS, DEFAULTS | {"rating_notice_days": 7}),
        (DEFAULTS | {"rating_notice_days": 7},
         {"ballot_required": False, "rating_notice_days": 0, "rectify_months": 12,
          "min_notice_days": 0}),
    ]
    # Nothing new (an empty body, or the values it has): answered, nothing written.
    last = revision(db, 2026)
    assert ok(put(world, 2026, {}))["rectify_months"] == 12
    assert ok(put(world, 2026, {"rectify_months": 12}))["rectify_months"] == 12
    assert revision(db, 2026) == last and len(audit_rows(db, 2026)) == 2


BAD: list[tuple[str, Any, str]] = [
    ("notice -1", {"rating_notice_days": -1}, "notice_out_of_range"),
    ("notice 61", {"rating_notice_days": 61}, "notice_out_of_range"),
    ("notice null", {"rating_notice_days": None}, "notice_out_of_range"),
    ("notice huge", {"rating_notice_days": 2**63}, "notice_out_of_range"),
    ("notice text", {"rating_notice_days": "5"}, "validation_error"),
    ("notice fraction", {"rating_notice_days": 5.5}, "validation_error"),
    ("notice true", {"rating_notice_days": True}, "validation_error"),
    ("months 0", {"rectify_months": 0}, "months_out_of_range"),
    ("months 13", {"rectify_months": 13}, "months_out_of_range"),
    ("months null", {"rectify_months": None}, "months_out_of_range"),
    ("months text", {"rectify_months": "six"}, "validation_error"),
    ("minimum -1", {"min_notice_days": -1}, "min_notice_out_of_range"),
    ("minimum 61", {"min_notice_days": 61}, "min_notice_out_of_range"),
    ("minimum null", {"min_notice_days": None}, "min_notice_out_of_range"),
    ("minimum text", {"min_notice_days": "5"}, "validation_error"),
    ("ballot null", {"ballot_required": None}, "not_a_boolean"),
    ("ballot text", {"ballot_required": "yes"}, "validation_error"),
    ("ballot 1", {"ballot_required": 1}, "validation_error"),
    ("unknown field", {"notice_days": 3}, "validation_error"),
    ("scoring number", {"excellent_divisor": 4}, "validation_error"),
    ("not an object", [5], "validation_error"),
    # One bad value refuses the others with it.
    ("good and bad", {"rating_notice_days": 9, "rectify_months": 13}, "months_out_of_range"),
]


@pytest.mark.parametrize(("body", "code"), [(b, c) for _, b, c in BAD],
                         ids=[name for name, _, _ in BAD])
def test_each_bad_value_is_refused_with_its_code(world: World, db: Session, body: Any,
                                                 code: str) -> None:
    ok(put(world, 2026, {"rating_notice_days": 4}))
    before = revision(db, 2026)
    answer = refused(put(world, 2026, body), 422, code)
    assert any(name in answer["detail"] for name in DEFAULTS) or code == "validation_error"
    assert procedure(world, 2026) == DEFAULTS | {"rating_notice_days": 4}
    assert revision(db, 2026) == before and len(audit_rows(db, 2026)) == 1


def test_a_year_out_of_range_is_refused(world: World) -> None:
    for year in (1999, 2101):
        refused(put(world, year, {"rectify_months": 3}), 422, "validation_error")


def test_only_an_administrator_sets_them(world: World, db: Session) -> None:
    for who in ("a1", "sec_a", "party_sec"):
        refused(put(world, 2026, {"rating_notice_days": 9}, who=who), 403, "admin_only")
    anonymous = world.client.put("/api/v1/rules/2026/procedure",
                                 json={"rating_notice_days": 9})
    refused(anonymous, 401)
    assert procedure(world, 2026) == DEFAULTS and revision(db, 2026) is None


def test_a_frozen_year_takes_them_and_the_rating_follows(world: World, db: Session) -> None:
    finalize_year(world, world.branch_a)
    rating = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025}),
                201)["id"]
    assert ok(world.get("a1", "/rules", year=2025))["frozen"] is True
    refused(world.put("admin", "/rules/P01", {"cap": 9}, year=2025), 409, "rules_frozen")
    refused(world.post("sec_a", f"/ratings/{rating}/publish"), 409, "ballot_required")
    before = revision(db, 2025)
    ok(put(world, 2025, {"ballot_required": False, "rating_notice_days": 0}))
    assert revision(db, 2025) != before
    # A default notice below the minimum needs a reason (issue 17) until the minimum goes.
    refused(world.post("sec_a", f"/ratings/{rating}/publish"), 422, "reason_required")
    ok(put(world, 2025, {"min_notice_days": 0}))
    # The very next request reads the new parameters (the kept rule sets moved on): no
    # ballot needed, and the notice of 0 days has ended as it starts.
    published = ok(world.post("sec_a", f"/ratings/{rating}/publish"))
    assert published["status"] == "published"
    assert published["notice_until"] == published["published_at"]


def test_no_value_of_any_field_is_a_500(world: World, db: Session) -> None:
    failures = []
    for field in DEFAULTS:
        for value in GARBAGE:
            answer = put(world, 2026, {field: value})
            if (why := not_500(answer)) is not None:
                failures.append(f"{field}={value!r:.30}: {why}")
    assert not failures, failures
