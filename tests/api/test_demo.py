"""`jifen demo`: loaded through the services, then read back through the real API; its
ratings and its disposal case in the states the story leaves them in, and `jifen check`
clean on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.clock import FixedClock
from app.demo import DEMO_PASSWORD, load_demo
from app.demo.texts import (
    CASE_DECISION,
    CASE_DEFENCE,
    CASE_NOTE,
    EXEMPT_NOTE,
    REGRADE_REASON,
    REOPEN_REASON,
)
from app.models import Account, DisposalCase, Rating
from app.points.disposal import add_months
from app.services.errors import WorkflowConflict
from app.services.integrity import run_checks
from tests.api.support import Headers, login, ok
from tests.web.support import web_login

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 2026 Q4; all of 2025 is past


def _get(client: TestClient, who: Headers, path: str, **params: Any) -> Any:
    return ok(client.get(f"/api/v1{path}", params=params, headers=who))


def test_demo_loads_a_realistic_world_through_the_services(
    client: TestClient, db: Session, clock: FixedClock
) -> None:
    logins = load_demo(db, NOW)
    db.commit()
    clock.at = NOW
    users = dict(logins.accounts)
    assert logins.password == DEMO_PASSWORD
    assert {"admin", "dangwei", "shuji1", "zhiwei1", "shuji2", "shuji3"} <= users.keys()
    assert all(u.isascii() for u in users)
    admin = login(client, "admin", logins.password)
    # Passwords are stamped when the demo is loaded, not at a date worked out from the year
    # (a guessable stamp and a known key made a token anyone could forge: issue 14).
    stamps = set(db.exec(select(Account.password_changed_at)).all())
    assert stamps == {NOW}

    orgs = _get(client, admin, "/orgs")["items"]
    assert [o["kind"] for o in orgs].count("committee") == 1
    branches = sorted(o["id"] for o in orgs if o["kind"] == "branch")
    assert len(branches) == 3
    assert 35 <= _get(client, admin, "/members", limit=500)["total"] <= 45

    for branch in branches:
        reviews = _get(client, admin, "/reviews", org_id=branch, year=2025)["items"]
        assert sorted((r["quarter"], r["status"]) for r in reviews) == [
            (q, "finalized") for q in (1, 2, 3, 4)]
    rated = {r["org_id"]: r for r in _get(client, admin, "/ratings", year=2025)["items"]}
    assert rated.keys() == {branches[0], branches[1]}
    assert rated[branches[1]]["status"] == "submitted"

    # Branch 1: approved, one grade changed by the committee with a reason, within ⌊n/3⌋.
    rating = _get(client, admin, f"/ratings/{rated[branches[0]]['id']}")
    items = rating["items"]
    assert rating["status"] == "approved"
    changed = [i for i in items if i["grade"] != i["proposed_grade"]]
    assert changed and all(i["reason"] for i in changed)
    graded = [i for i in items if i["grade"] != "exempt"]
    assert 0 < [i["grade"] for i in items].count("excellent") <= len(graded) // 3
    [vetoed] = [i for i in items if i["vetoed"]]
    assert (vetoed["grade"], vetoed["stars"], vetoed["score"]) == ("unqualified", 0, 0)
    [exempt] = [i for i in items if i["grade"] == "exempt"]
    exemptions = _get(client, admin, f"/members/{exempt['member_id']}/exemptions")["items"]
    # 免评 in both years, for a kind 中组部 allows, with the meeting and the 党委's consent.
    assert [(e["year"], e["reason_kind"], e["note"], e["meeting_on"], e["parent_consent_on"],
             e["status"]) for e in exemptions] == [
        (2026, "bedridden", EXEMPT_NOTE, "2026-03-12", "2026-03-18", "active"),
        (2025, "bedridden", EXEMPT_NOTE, "2025-11-08", "2025-11-14", "active")]
    # Realistic scores: most members between 70 and 100+, a few lower.
    scores = [i["score"] for i in graded if not i["vetoed"]]
    assert sum(70 <= s <= 110 for s in scores) >= 0.75 * len(scores)

    # A member reads their own score; it matches the approved rating.
    vetoed_member = _get(client, admin, f"/members/{vetoed['member_id']}")
    someone = next(i for i in items if i["member_id"] not in (
        vetoed["member_id"], exempt["member_id"]) and i["grade"] == "qualified")
    username = _get(client, admin, f"/members/{someone['member_id']}")["username"]
    mine = login(client, username, logins.password)
    me = _get(client, mine, "/me")
    score = _get(client, mine, f"/members/{me['member_id']}/score", year=2025)
    assert me["member_id"] == someone["member_id"] and score["score"] == someone["score"]
    assert [q["status"] for q in score["quarters"]] == ["finalized"] * 4
    theirs = login(client, vetoed_member["username"], logins.password)
    assert _get(client, theirs, f"/members/{vetoed['member_id']}/score", year=2025)["vetoed"]

    # The approval queue: pending self-reports only in the current quarter.
    secretary = login(client, "shuji1", logins.password)
    assert _get(client, secretary, "/me")["roles"]
    pending = _get(client, admin, "/entries", status="pending", limit=500)["items"]
    assert pending and {(e["occurred_on"][:4], e["status"]) for e in pending} == {
        ("2026", "pending")}
    assert _get(client, admin, "/entries", status="pending", year=2026, quarter=4)["total"] \
        == len(pending)
    assert _get(client, admin, "/entries", status="revoked")["total"] == 1
    assert _get(client, admin, "/entries", status="rejected")["total"] >= 3

    with pytest.raises(WorkflowConflict) as refused:
        load_demo(db, NOW)
    assert refused.value.code == "demo_loaded"
    # One load serves all three (a load takes most of a minute).
    the_ratings_went_through_their_steps(client, db, logins.password)
    the_case_went_through_its_steps(client, logins.password, users["dangyuan32"])


def _ballot_adds_up(rating: dict[str, Any], voters: int) -> None:
    """Most vote online, the rest on paper (every voter's ballot is in); each graded line's
    tally and abstentions add up to the ballots cast, and the votes are spread."""
    ballot = rating["ballot"]
    assert (ballot["status"], ballot["voters"]) == ("closed", voters)
    assert ballot["cast_online"] + ballot["cast_paper"] == voters
    assert ballot["cast_online"] > 3 * ballot["cast_paper"] > 0
    tallies = [i["tally"] for i in rating["items"] if i["tally"] is not None]
    assert len(tallies) == rating["rated"]
    assert all(sum(t.values()) == voters for t in tallies)
    given = {g for t in tallies for g, n in t.items() if n and g != "abstain"}
    assert given == {"excellent", "qualified", "basically_qualified", "unqualified"}
    assert any(t["abstain"] for t in tallies)


def the_ratings_went_through_their_steps(client: TestClient, db: Session,
                                         password: str) -> None:
    """机关党支部: self-assessments, ballot (online and paper), 组织评定, 公示, an objection
    answered, reopened with its reason, a grade changed, published again, submitted and
    approved by dangwei (the 党委). 东村党支部: the same up to its submission, waiting for
    the 党委 (with a 预备党员's line). This year: a 预备党员, an exemption. `jifen check` is
    clean."""
    admin = login(client, "admin", password)
    orgs = {o["name"]: o["id"] for o in _get(client, admin, "/orgs")["items"]}
    rated = {r["org_id"]: r["id"] for r in _get(client, admin, "/ratings", year=2025)["items"]}
    first, village = rated[orgs["机关党支部"]], rated[orgs["东村党支部"]]

    rating = _get(client, admin, f"/ratings/{first}")
    assert rating["status"] == "approved"
    exempt = sum(1 for i in rating["items"] if i["exempt"])
    _ballot_adds_up(rating, voters=len(rating["items"]) - exempt)
    assert (rating["sent_back"], rating["sent_back_reason"]) == ("reopened", REOPEN_REASON)
    assert _get(client, admin, f"/ratings/{first}/self-assessments")["total"] == 5
    [objection] = _get(client, admin, f"/ratings/{first}/objections")["items"]
    assert objection["status"] == "resolved" and objection["response"]
    [line] = [i for i in rating["items"] if i["member_id"] == objection["member_id"]]
    assert (line["proposed_grade"], line["grade"], line["reason"]) == (
        "qualified", "qualified", REGRADE_REASON)
    steps = [a["action"] for a in reversed(_get(
        client, admin, "/audit", object_type="rating", object_id=first, limit=500)["items"])
        if a["action"] not in ("rating.ballot_cast", "rating.paper_ballot")]
    assert steps == ["rating.create", "rating.ballot_open", "rating.ballot_close",
                     "rating.publish", "rating.reopen", "rating.publish", "rating.submit",
                     "rating.approve"]
    approver = db.get(Account, db.get(Rating, first).approved_by)  # type: ignore[union-attr]
    assert approver is not None and approver.username == "dangwei"

    waiting = _get(client, admin, f"/ratings/{village}")
    assert (waiting["status"], waiting["approved_at"]) == ("submitted", None)
    _ballot_adds_up(waiting, voters=len(waiting["items"]))
    [probationary] = [i for i in waiting["items"] if i["standing"] == "probationary"]
    assert probationary["grade"] == "probationary" and probationary["tally"] is None
    web_login(client, "dangwei", password)
    assert 'href="/committee/approvals">支部已上报、待审批的评星定级 <strong ' \
        'class="cm-count">1</strong>' in client.get("/committee").text

    # This year: the recruit is a 预备党员, last year's became full in April.
    people = _get(client, admin, "/members", limit=500)["items"]
    assert [(m["standing"], m["joined_on"], m["full_since"]) for m in people
            if m["joined_on"] >= "2025-01-01"] == [
        ("full", "2025-04-15", "2026-04-15"), ("probationary", "2026-06-28", None)]

    report = run_checks(db, NOW)
    assert report.ok, report.problems
    assert (report.checked["ballots"], report.checked["ratings past draft"],
            report.checked["disposal cases"]) == (2, 2, 1)


CASE_STEPS = ["file", "investigation", "talk", "proposal", "prereview", "defence", "vote",
              "decision"]


def the_case_went_through_its_steps(client: TestClient, password: str, listed: str) -> None:
    """社区党支部: one 流动党员's disposal case (ground other), filed about three months ago
    by shuji3, every step by its party in §5's order, the branch meeting's vote passed
    with its quorum, approved by dangwei about two months ago: 限期改正 for six months, the
    deadline about four months ahead. The member and the secretary read it; another member
    of the branch does not see it; `jifen demo` names the member's case."""
    admin = login(client, "admin", password)
    [case] = _get(client, admin, "/cases")["items"]
    member = _get(client, admin, f"/members/{case['member_id']}")
    orgs = {o["id"]: o["name"] for o in _get(client, admin, "/orgs")["items"]}
    assert (member["username"], orgs[case["org_id"]], member["category"],
            member["standing"]) == ("dangyuan32", "社区党支部", "mobile", "full")
    assert "不合格党员处置" in listed and "rectifying" in listed
    assert (case["status"], case["outcome"], case["ground"], case["measure"],
            case["months"], case["note"]) == ("rectifying", None, "other", "rectify", 6,
                                              CASE_NOTE)
    assert (case["next_step"], case["next_by"], case["appeal_open"]) == (
        "followup", "branch_committee", False)
    steps = case["steps"]
    assert [s["kind"] for s in steps] == CASE_STEPS
    moments = [datetime.fromisoformat(s["at"]) for s in steps]
    assert moments == sorted(moments) and moments[-1] < NOW
    assert timedelta(days=88) <= NOW - moments[0] <= timedelta(days=95)
    [file, investigation, talk, proposal, prereview, defence, vote, decision] = steps
    assert case["year"] == file["year"] == 2026
    assert (proposal["measure"], proposal["months"]) == ("rectify", 6)
    decided = date.fromisoformat(decision["decided_on"])
    assert timedelta(days=58) <= NOW.date() - decided <= timedelta(days=65)
    assert case["deadline"] == add_months(decided, 6).isoformat()
    assert 115 <= case["days_left"] <= 125
    assert (decision["decision"], decision["note"]) == ("approve", CASE_DECISION)
    assert talk["held_on"] <= vote["held_on"] <= decision["decided_on"]
    # The branch meeting: more than half of the members with a vote there, and for.
    assert vote["passed"] and vote["present"] * 2 > vote["eligible"] == 12
    assert vote["for"] * 2 > vote["eligible"]
    assert vote["for"] + vote["against"] + vote["abstain"] == vote["present"]
    # Each step by its party: the branch's secretary and deputy, the member, the 党委.
    ids = {who: _get(client, login(client, who, password), "/me")["member_id"]
           for who in ("shuji3", "zhiwei3", "dangwei")}
    assert [s["by"] for s in steps] == [s["by_member_id"] for s in steps] == [
        ids["shuji3"], ids["zhiwei3"], ids["shuji3"], ids["shuji3"], ids["dangwei"],
        case["member_id"], ids["shuji3"], ids["dangwei"]]
    assert talk["talker_ids"] == [ids["shuji3"], ids["zhiwei3"]]
    assert prereview["decision"] == "approve" and investigation["findings"]
    assert defence["text"] == CASE_DEFENCE
    # Who sees it: the member and the branch's secretary; another member of the branch not.
    mine, secretary = login(client, "dangyuan32", password), login(client, "shuji3", password)
    assert _get(client, mine, f"/cases/{case['id']}")["steps"] == steps
    assert _get(client, secretary, f"/cases/{case['id']}")["steps"] == steps
    other = login(client, "dangyuan31", password)
    assert client.get(f"/api/v1/cases/{case['id']}", headers=other).status_code == 404


def test_on_3_january_last_years_ratings_are_through_already(db: Session) -> None:
    """Loaded two days into the year, the whole of last year's appraisal is squeezed before
    now (the pace fits it): the objection still falls inside the first 公示 (five days,
    ended by the reopen), the second has none left, and the 党委 has approved. The disposal
    case, filed last autumn, is 限期改正 with its deadline in the spring."""
    now = datetime(2026, 1, 3, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    load_demo(db, now)
    states = dict(db.exec(select(Rating.org_id, Rating.status).where(Rating.year == 2025)).all())
    assert sorted(states.values()) == ["approved", "submitted"]
    rating = db.exec(select(Rating).where(Rating.status == "approved")).one()
    assert rating.sent_back == "reopened" and rating.approved_at is not None
    assert rating.approved_at < now
    case = db.exec(select(DisposalCase)).one()
    assert (case.status, case.year, case.created_at < case.updated_at < now) == (
        "rectifying", 2025, True)
    assert case.deadline is not None and date(2026, 4, 1) <= case.deadline <= date(2026, 5, 31)
    report = run_checks(db, now)
    assert report.ok, report.problems
