"""Many committee members acting at once, against a running server (two worker processes).

Nothing may be counted twice or lost: of simultaneous decisions on one entry exactly one
lands; entries recorded while the quarter is being finalized either land before the lock
(and are in the final snapshot) or are refused after it; a publish that lands saw no
pending entry. Each test ends with `jifen check` (app/services/integrity.py) finding
nothing wrong. The same tests run on SQLite and, in CI, on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import cycle

import httpx2 as httpx
import pytest

from app.db import make_engine
from app.services.integrity import check_database
from tests.api.support import NO_NOTICE
from tests.live.support import (
    COMMITTEE_A,
    LAST_YEAR,
    PASSWORD,
    Api,
    LiveServer,
    at_once,
    build_world,
)

DECIDERS = (*COMMITTEE_A, "admin")


@pytest.fixture
def api(live_server: LiveServer) -> Api:
    return build_world(live_server)


def assert_consistent(server: LiveServer) -> None:
    engine = make_engine(server.database_url)
    try:
        report = check_database(engine, datetime.now(UTC))
    finally:
        engine.dispose()
    assert report.ok, [p.message for p in report.problems]


def codes(answers: list[httpx.Response]) -> Counter[tuple[int, str]]:
    """(status, code) of each answer; code "" for successes."""
    return Counter((a.status_code, a.json().get("code", "") if a.status_code >= 400 else "")
                   for a in answers)


def audit_rows(api: Api, **filters: object) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    while True:
        page = api.ok("admin", "GET", "/audit", limit=200, offset=len(rows), **filters)
        rows += page["items"]
        if len(rows) >= page["total"]:
            return rows


def test_twenty_simultaneous_decisions_on_one_entry_exactly_one_lands(
        api: Api, live_server: LiveServer) -> None:
    """10 pending entries × 20 simultaneous approvals or rejections from 5 committee
    members: for each entry one 200 and nineteen 409 not_pending; its one decision audited."""
    entries = [api.entry(member, member, "P01", f"{LAST_YEAR}-03-{day:02d}")
               for day in range(1, 6) for member in ("a1", "a2")]
    assert {e["status"] for e in entries} == {"pending"}
    for round_, entry in enumerate(entries):
        people = cycle(DECIDERS)
        calls = []
        for i in range(20):
            who = next(people)
            if (i + round_) % 2:
                calls.append(lambda who=who, e=entry: api.call(
                    who, "POST", f"/entries/{e['id']}/approve"))
            else:
                calls.append(lambda who=who, e=entry: api.call(
                    who, "POST", f"/entries/{e['id']}/reject", {"reason": "证据不足"}))
        answers = at_once(calls)
        winners = [a for a in answers if a.status_code == 200]
        assert len(winners) == 1, codes(answers)
        assert codes(answers)[(409, "not_pending")] == 19, codes(answers)
        stored = api.ok("admin", "GET", f"/entries/{entry['id']}")
        assert stored["status"] == winners[0].json()["status"] in {"approved", "rejected"}
        decisions = [r for r in audit_rows(api, object_type="entry", object_id=entry["id"])
                     if r["action"] in {"entry.approved", "entry.rejected"}]
        assert len(decisions) == 1, decisions
        assert decisions[0]["action"] == f"entry.{stored['status']}"
    assert_consistent(live_server)


def test_entries_recorded_while_finalizing_land_before_the_lock_or_are_refused(
        api: Api, live_server: LiveServer) -> None:
    """For Q1–Q3: 40 entries recorded by the committee at once with 4 finalize requests.
    Exactly one finalize lands; every entry is 201 (stored, in the final snapshot) or
    409 quarter_locked (not stored); nothing in between."""
    branch = api.members["branch_a"]
    members = ("a1", "a2", "a3", "a4")
    tally: Counter[tuple[int, str]] = Counter()
    for quarter in (1, 2, 3):
        month = 3 * quarter - 1
        review = api.ok("sec_a", "POST", f"/orgs/{branch}/reviews",
                        {"year": LAST_YEAR, "quarter": quarter}, status=201)
        api.ok("sec_a", "POST", f"/reviews/{review['id']}/publish", NO_NOTICE)
        recorders = cycle(COMMITTEE_A)
        records = [
            lambda who=next(recorders), m=members[i % 4], on=f"{LAST_YEAR}-{month:02d}-"
            f"{1 + i % 28:02d}": api.call(who, "POST", "/entries", {
                "member_id": api.members[m], "rule_code": "P07", "occurred_on": on})
            for i in range(40)
        ]
        finalizes = [lambda who=who, path=f"/reviews/{review['id']}/finalize": api.call(
            who, "POST", path) for who in COMMITTEE_A]
        # Finalizes in the middle of the burst, so some records land on each side.
        answers = at_once(records[:20] + finalizes + records[20:])
        finals, recorded = answers[20:24], answers[:20] + answers[24:]
        assert sum(a.status_code == 200 for a in finals) == 1, codes(finals)
        assert all(a.status_code == 409 for a in finals if a.status_code != 200), \
            codes(finals)
        outcome = codes(recorded)
        assert set(outcome) <= {(201, ""), (409, "quarter_locked")}, outcome
        stored = api.ok("admin", "GET", "/entries", org_id=branch, year=LAST_YEAR,
                        quarter=quarter, limit=200)
        created = sorted(a.json()["id"] for a in recorded if a.status_code == 201)
        assert sorted(e["id"] for e in stored["items"]) == created
        # Every stored entry took effect before the finalisation (audit order = commit order).
        [finalized] = audit_rows(api, action="review.finalize", object_id=review["id"])
        creates = {r["object_id"]: r["id"] for r in audit_rows(api, action="entry.create")}
        assert all(creates[e] < finalized["id"] for e in created)
        tally.update(outcome)
    print(f"records during finalize: {dict(tally)}")
    assert_consistent(live_server)


def test_publish_lands_only_when_no_entry_is_pending(api: Api, live_server: LiveServer) -> None:
    """Q4: 20 self-reports pending; all 20 approved at once with 4 publish requests among
    them. A publish that lands comes after every approval in the audit log; the others are
    refused (pending_entries, or the review already published)."""
    branch = api.members["branch_a"]
    entries = [api.entry(m, m, "P03", f"{LAST_YEAR}-11-{1 + i:02d}")
               for i, m in enumerate(["a1", "a2", "a3", "a4"] * 5)]
    review = api.ok("sec_a", "POST", f"/orgs/{branch}/reviews",
                    {"year": LAST_YEAR, "quarter": 4}, status=201)
    deciders = cycle(COMMITTEE_A)
    approvals = [lambda who=next(deciders), e=e: api.call(who, "POST",
                                                          f"/entries/{e['id']}/approve")
                 for e in entries]
    publishes = [lambda who=who: api.call(who, "POST", f"/reviews/{review['id']}/publish",
                                          NO_NOTICE) for who in COMMITTEE_A]
    answers = at_once(approvals[:10] + publishes + approvals[10:])
    published = [a for a in answers[10:14] if a.status_code == 200]
    approved = answers[:10] + answers[14:]
    assert all(a.status_code == 200 for a in approved), codes(approved)
    assert len(published) <= 1
    assert set(codes(answers[10:14])) <= {(200, ""), (409, "pending_entries"),
                                          (409, "review_not_draft"), (409, "review_changed")}
    if not published:  # every attempt came too early: publishing now works
        api.ok("sec_a", "POST", f"/reviews/{review['id']}/publish", NO_NOTICE)
    log = audit_rows(api, action="entry.approved") + audit_rows(api, action="review.publish")
    publish_row = max(r["id"] for r in log if r["action"] == "review.publish")
    ids = {e["id"] for e in entries}
    assert all(r["id"] < publish_row for r in log
               if r["action"] == "entry.approved" and r["object_id"] in ids)
    assert_consistent(live_server)


def test_login_throttling_holds_against_a_parallel_burst_across_processes(
        live_server: LiveServer) -> None:
    """20 wrong passwords for one username at once, spread over both worker processes:
    at most 5 are checked (401), the rest are refused (429); then so is the right one."""
    api = build_world(live_server)
    form = {"username": "a1", "password": "wrong-password-1"}
    answers = at_once([lambda: api.client.post("/auth/token", data=form) for _ in range(20)])
    outcome = codes(answers)
    assert outcome == Counter({(401, "bad_credentials"): 5, (429, "too_many_attempts"): 15}), \
        outcome
    right = api.client.post("/auth/token", data={"username": "a1", "password": PASSWORD})
    assert right.status_code == 429, right.text
