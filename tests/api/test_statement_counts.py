"""The lean paths keep their number of statements (docs/performance.md): the score API, the
member's page made afresh and kept, a review's answer, finalizing and rating a branch.

The bounds are what each made before the rules of a year moved into one place (a year
with no rule set read without being stored); more would be a slower page for everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.web.page_cache import PageCache
from tests.api.support import NO_NOTICE, World, ok, statements_sent
from tests.api.test_year_workflow import RECORDS, REVIEW_SCORES, record, run_quarter
from tests.web.support import web_login

# SAVEPOINTs are the test's own (each request's commit is one), not the request's work.
NOT_COUNTED = ("SAVEPOINT", "RELEASE", "ROLLBACK")


def statements(db: Session, call: Callable[[], Any]) -> int:
    """How many statements `call` sends to the database."""
    return sum(not statement.lstrip().upper().startswith(NOT_COUNTED)
               for statement in statements_sent(db, call))


def test_the_lean_paths_send_no_more_statements(world: World, client: TestClient,
                                                db: Session) -> None:
    a, a1 = world.branch_a, world.members["a1"]
    for quarter in (1, 2, 3):
        run_quarter(world, quarter)
    for q, member, code, amount in RECORDS:
        if q == 4:
            record(world, q, member, code, amount)
    q4 = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": 4}), 201)["id"]
    ok(world.put("sec_a", f"/reviews/{q4}/scores", {"scores": {
        str(world.members[m]): s for m, s in REVIEW_SCORES[4].items()}}))
    ok(world.post("sec_a", f"/reviews/{q4}/publish", NO_NOTICE))

    counts: dict[str, int] = {}
    for year in (2025, 2026):  # a year with its rule set, and this year without one
        world.get("a1", f"/members/{a1}/score", year=year)  # the process has the rules
        counts[f"score {year}"] = statements(db, lambda y=year: ok(
            world.get("a1", f"/members/{a1}/score", year=y)))
    counts["review"] = statements(db, lambda: ok(world.get("sec_a", f"/reviews/{q4}")))
    counts["finalize"] = statements(db, lambda: ok(world.post("sec_a",
                                                              f"/reviews/{q4}/finalize")))
    counts["rating"] = statements(db, lambda: ok(world.post(
        "sec_a", f"/orgs/{a}/ratings", {"year": 2025}), 201))
    web_login(client, "a1")
    cache: PageCache = client.app.state.page_cache  # type: ignore[attr-defined]
    for year in (2025, 2026):
        client.get(f"/me?year={year}")
        cache._pages.clear()
        counts[f"page {year}"] = statements(db, lambda y=year: client.get(
            f"/me?year={y}"))
        counts[f"kept page {year}"] = statements(db, lambda y=year: client.get(
            f"/me?year={y}"))
    # The score: the login check, the member's facts (the rule set's source, the quarters'
    # states, the approved grade: one statement, member_score._facts), review scores and
    # item totals.
    bounds = {"score 2025": 4, "score 2026": 4, "review": 10, "finalize": 26, "rating": 19,
              # The page: the login check and the score's four; my approved ratings; the
              # pending count, the exemption (appraisal.md §1), "seen up to" and the rare
              # notices, the rating under way in one (member_view.home_facts); the notices'
              # entries, reviews and the branch's ratings (ballot open, 公示), one each.
              "page 2025": 10, "kept page 2025": 1, "page 2026": 10, "kept page 2026": 1}
    assert {k: v for k, v in counts.items() if v > bounds[k]} == {}, counts
