"""`jifen check` of the annual rating's steps (appraisal.md §2), beside app/services/integrity.py.

- ballot: each rating's ballot adds up. A rating whose ballot was never opened holds no
  voter, no tally and no ballot cast. Once opened: `voters` is the number of rating_voter
  rows, `cast_online` the number of them marked voted, online plus paper ballots never
  exceed the voters; tally rows exist only for the graded lines (full, not exempt), four of
  them (one per grade, none negative) for each, and no line's counts add up to more than
  the ballots cast; every voter is a line of the rating that is not exempt. The audit log
  holds one rating.ballot_cast row per online ballot, by a voter who is marked voted (and
  one per voter so marked), and one rating.paper_ballot row per paper ballot: a count
  bumped or a voter reset behind the app's back shows. Once closed, the counts, voters and
  ballots cast are still those the rating.ballot_close row recorded (the whole tally is
  audited then, once), so even a vote moved from one grade to another within the sums
  shows.
- rating_steps: a published, submitted or approved rating never has its ballot open, and,
  when its year's rule set requires a ballot (`ballot_required`), went through a closed
  one. Ratings approved before the steps existed (migration 0012 gave them ballot `none`)
  are told apart by their audit trail: they were approved straight from draft, so the log
  has no rating.submit row for them, while every rating approved since was submitted first
  (appraisal.submit writes that row; approve refuses anything not submitted). A status or
  a submitted_at written by hand does not make an old rating new or a new one old: a
  rating submitted without its row is named by audit_missing, and the audit chain shows a
  row deleted. The rule set is read as it is now: ballot_required is procedural and stays
  editable, so a year whose rule was turned on after its ratings were published without a
  ballot is named here too.

STEP_AUDITS lists, for audit_missing, the audit row each step leaves on its object.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from app.models import (
    PUBLIC_RATING_STATES,
    Account,
    AuditLog,
    BallotStatus,
    Rating,
    RatingItem,
    RatingStatus,
    RatingTally,
    RatingVoter,
    RuleSetRow,
    SelfAssessment,
    Standing,
)
from app.services.appraisal import BALLOT_GRADES

Add = Callable[[str, str, int | None, str], None]  # Report.add: check, type, id, message
GRADES = tuple(g.value for g in BALLOT_GRADES)

# (id column, object type, action, the state that needs it, where): as in integrity.py.
STEP_AUDITS: list[tuple[Any, str, str, str, tuple[Any, ...]]] = [
    (Rating.id, "rating", "rating.ballot_open", "opened for a ballot",
     (sa.or_(col(Rating.ballot) != BallotStatus.none, col(Rating.ballot_opened_at).is_not(None)),)),
    (Rating.id, "rating", "rating.ballot_close", "closed to ballots",
     (sa.or_(col(Rating.ballot) == BallotStatus.closed,
             col(Rating.ballot_closed_at).is_not(None)),)),
    (Rating.id, "rating", "rating.publish", "published",
     (sa.or_(col(Rating.published_at).is_not(None),
             col(Rating.status).in_((RatingStatus.published, RatingStatus.submitted))),)),
    (Rating.id, "rating", "rating.submit", "submitted",
     (sa.or_(col(Rating.submitted_at).is_not(None),
             col(Rating.status) == RatingStatus.submitted),)),
    (Rating.id, "rating", "rating.reopen", "reopened", (col(Rating.sent_back) == "reopened",)),
    (Rating.id, "rating", "rating.return", "returned", (col(Rating.sent_back) == "returned",)),
    (SelfAssessment.id, "self_assessment", "self_assessment.write", "", ()),
]


def _audit_counts(session: Session, action: str) -> Counter[int]:
    return Counter(dict(session.execute(
        sa.select(col(AuditLog.object_id), sa.func.count())
        .where(col(AuditLog.action) == action, col(AuditLog.object_type) == "rating")
        .group_by(col(AuditLog.object_id))).all()))


def _voters_audited(session: Session, add: Add, org_name: Callable[[int], str]) -> None:
    """Each voter marked voted has their rating.ballot_cast row, and each such row is by a
    voter so marked."""
    cast = sa.select(col(AuditLog.object_id).label("rating_id"),
                     col(Account.member_id).label("member_id")).join(
        Account, col(Account.id) == col(AuditLog.actor_id)).where(
        col(AuditLog.action) == "rating.ballot_cast").subquery()
    unaudited = sa.select(col(RatingVoter.rating_id), col(RatingVoter.member_id)).where(
        col(RatingVoter.voted), ~sa.exists().where(
            cast.c.rating_id == col(RatingVoter.rating_id),
            cast.c.member_id == col(RatingVoter.member_id)))
    strays = sa.select(cast.c.rating_id, cast.c.member_id).where(~sa.exists().where(
        col(RatingVoter.rating_id) == cast.c.rating_id,
        col(RatingVoter.member_id) == cast.c.member_id, col(RatingVoter.voted)))
    for query, says in (
            (unaudited, "member {m} is marked as having voted online, but the audit log has "
                        "no rating.ballot_cast row of theirs: the mark was set behind the "
                        "app's back"),
            (strays, "the audit log has a ballot cast by member {m}, who is not marked as "
                     "having voted: the mark was reset behind the app's back (a second "
                     "ballot would be let in)")):
        found = query.subquery()
        for rating_id, member_id, org_id, year in session.execute(
                sa.select(found.c.rating_id, found.c.member_id, col(Rating.org_id),
                          col(Rating.year))
                .join(Rating, col(Rating.id) == found.c.rating_id)
                .order_by(found.c.rating_id, found.c.member_id)):
            add("ballot", "rating", rating_id,
                f"rating {rating_id} ({org_name(org_id)} {year}): {says.format(m=member_id)}.")


def check_ballots(session: Session, add: Add, org_name: Callable[[int], str]) -> int:
    """The ballot check; answers how many ratings with a ballot were checked. Sums are
    made in SQL and only the lines that break a rule come back, whatever the size."""
    voter = sa.select(
        col(RatingVoter.rating_id).label("rating_id"), sa.func.count().label("rows"),
        sa.func.sum(sa.case((col(RatingVoter.voted), 1), else_=0)).label("voted"),
        sa.func.sum(sa.case((sa.or_(col(RatingItem.id).is_(None), col(RatingItem.exempt)), 1),
                            else_=0)).label("strays"),
    ).outerjoin(RatingItem, sa.and_(col(RatingItem.rating_id) == RatingVoter.rating_id,
                                    col(RatingItem.member_id) == RatingVoter.member_id)
                ).group_by(col(RatingVoter.rating_id)).subquery()
    tally = sa.select(col(RatingTally.rating_id).label("rating_id"),
                      sa.func.count().label("rows")).group_by(
        col(RatingTally.rating_id)).subquery()
    ratings = session.execute(sa.select(
        col(Rating.id), col(Rating.org_id), col(Rating.year), col(Rating.ballot),
        col(Rating.voters), col(Rating.cast_online), col(Rating.cast_paper),
        sa.func.coalesce(voter.c.rows, 0).label("voter_rows"),
        sa.func.coalesce(voter.c.voted, 0).label("voted"),
        sa.func.coalesce(voter.c.strays, 0).label("strays"),
        sa.func.coalesce(tally.c.rows, 0).label("tally_rows"))
        .outerjoin(voter, voter.c.rating_id == col(Rating.id))
        .outerjoin(tally, tally.c.rating_id == col(Rating.id))
        .order_by(col(Rating.id))).all()
    online_rows = _audit_counts(session, "rating.ballot_cast")
    paper_rows = _audit_counts(session, "rating.paper_ballot")
    lines = _line_problems(session)
    closed = _close_rows(session)
    checked = 0
    for r in ratings:
        wrong: list[str] = []
        if r.ballot == BallotStatus.none:
            held = [f"{n} {what}" for n, what in (
                (r.voter_rows, "voter rows"), (r.tally_rows, "tally rows"),
                (r.cast_online + r.cast_paper, "ballots cast")) if n]
            if held or r.voters is not None:
                wrong.append("its ballot was never opened, yet it holds "
                             + ", ".join(held or [f"voters {r.voters}"]))
        else:
            checked += 1
            wrong += _ballot_problems(r)
        if online_rows[r.id] != r.cast_online:
            wrong.append(f"cast_online is {r.cast_online} but the audit log has "
                         f"{online_rows[r.id]} rating.ballot_cast rows")
        if paper_rows[r.id] != r.cast_paper:
            wrong.append(f"cast_paper is {r.cast_paper} but the audit log has "
                         f"{paper_rows[r.id]} rating.paper_ballot rows")
        if r.ballot != BallotStatus.none:
            wrong += lines.get(r.id, [])
        if r.ballot == BallotStatus.closed and r.id in closed:
            wrong += _against_close(session, r, *closed[r.id])
        where = f"rating {r.id} ({org_name(r.org_id)} {r.year})"
        for problem in wrong:
            add("ballot", "rating", r.id, f"{where}: {problem}.")
    _voters_audited(session, add, org_name)
    return checked


def _close_rows(session: Session) -> dict[int, tuple[int, str | None]]:
    """Each rating's (last) rating.ballot_close audit row: its id and what it recorded."""
    return {rating_id: (row_id, after) for rating_id, row_id, after in session.execute(
        sa.select(col(AuditLog.object_id), col(AuditLog.id), col(AuditLog.after))
        .where(col(AuditLog.object_type) == "rating",
               col(AuditLog.action) == "rating.ballot_close")
        .order_by(col(AuditLog.id)))}


def _against_close(session: Session, r: Any, row_id: int, after: str | None) -> list[str]:
    """A closed ballot's numbers and counts against those its closing recorded."""
    try:
        recorded = json.loads(after or "")
    except ValueError:
        recorded = None
    tally = recorded.get("tally") if isinstance(recorded, dict) else None
    if not isinstance(recorded, dict) or not isinstance(tally, dict):
        return [f"the audit row of its ballot's closing (row {row_id}) holds no tally"]
    wrong = [f"{name} is {getattr(r, name)}, but was {recorded.get(name)} when the ballot "
             f"closed (audit row {row_id})" for name in ("voters", "cast_online", "cast_paper")
             if recorded.get(name) != getattr(r, name)]
    now: dict[int, dict[str, int]] = defaultdict(dict)
    for member_id, grade, count in session.execute(
            sa.select(col(RatingTally.member_id), col(RatingTally.grade),
                      col(RatingTally.count)).where(col(RatingTally.rating_id) == r.id)):
        now[member_id][grade] = count
    then = {int(m): counts for m, counts in tally.items() if str(m).isdigit()
            and isinstance(counts, dict)}
    moved = [m for m in sorted(set(now) | set(then))
             if any(now.get(m, {}).get(g, 0) != then.get(m, {}).get(g, 0) for g in GRADES)]
    if moved:
        wrong.append(f"the counts of members {', '.join(map(str, moved))} are not those the "
                     f"audit log recorded when the ballot closed (row {row_id})")
    return wrong


def _ballot_problems(r: Any) -> list[str]:
    """What is wrong with one opened ballot's numbers."""
    wrong: list[str] = []
    if r.voters != r.voter_rows:
        wrong.append(f"voters is {r.voters} but it has {r.voter_rows} voter rows")
    if r.cast_online != r.voted:
        wrong.append(f"cast_online is {r.cast_online} but {r.voted} voters are marked as "
                     "having voted")
    if r.cast_online < 0 or r.cast_paper < 0:
        wrong.append(f"ballots cast are negative (online {r.cast_online}, paper "
                     f"{r.cast_paper})")
    if r.voters is not None and r.cast_online + r.cast_paper > r.voters:
        wrong.append(f"{r.cast_online} online and {r.cast_paper} paper ballots exceed its "
                     f"{r.voters} voters")
    if r.strays:
        wrong.append(f"{r.strays} of its voters are not a line of it, or are exempt")
    return wrong


def _line_problems(session: Session) -> dict[int, list[str]]:
    """Per rating whose ballot was opened: tally rows of a line that is not graded, a
    graded line without its four counts (or with a negative one), and a line whose counts
    add up to more than the ballots cast."""
    is_graded = sa.and_(col(RatingItem.standing) == Standing.full,
                        sa.not_(col(RatingItem.exempt)))
    known = sa.func.sum(sa.case((col(RatingTally.grade).in_(GRADES), 1), else_=0))
    total = sa.func.sum(col(RatingTally.count))
    per_line = (
        sa.select(col(RatingTally.rating_id), col(RatingTally.member_id),
                  sa.func.count().label("rows"), known.label("known"),
                  sa.func.min(col(RatingTally.count)).label("least"), total.label("total"),
                  sa.func.max(sa.case((is_graded, 1), else_=0)).label("graded"),
                  sa.func.max(col(Rating.cast_online) + col(Rating.cast_paper)).label("cast"))
        .join(Rating, col(Rating.id) == RatingTally.rating_id)
        .outerjoin(RatingItem, sa.and_(col(RatingItem.rating_id) == RatingTally.rating_id,
                                       col(RatingItem.member_id) == RatingTally.member_id))
        .group_by(col(RatingTally.rating_id), col(RatingTally.member_id))
        .having(sa.or_(sa.func.max(sa.case((is_graded, 1), else_=0)) == 0,
                       sa.func.count() != len(GRADES), known != len(GRADES),
                       sa.func.min(col(RatingTally.count)) < 0,
                       total > sa.func.max(col(Rating.cast_online) + col(Rating.cast_paper))))
        .order_by(col(RatingTally.rating_id), col(RatingTally.member_id)))
    found: dict[int, list[str]] = defaultdict(list)
    for line in session.execute(per_line):
        about = f"member {line.member_id}'s tally"
        if not line.graded:
            found[line.rating_id].append(f"{about} exists, but the line is not graded "
                                         "(exempt, probationary or not on the rating)")
            continue
        if line.rows != len(GRADES) or line.known != len(GRADES):
            found[line.rating_id].append(f"{about} has {line.rows} rows, not one for each "
                                         "of the four grades")
        if line.least < 0:
            found[line.rating_id].append(f"{about} has a negative count")
        if line.total > line.cast:
            found[line.rating_id].append(f"{about} adds up to {line.total} votes, more than "
                                         f"the {line.cast} ballots cast")
    untallied = session.execute(
        sa.select(col(RatingItem.rating_id), col(RatingItem.member_id))
        .join(Rating, col(Rating.id) == RatingItem.rating_id)
        .where(col(Rating.ballot) != BallotStatus.none, is_graded,
               ~sa.exists().where(col(RatingTally.rating_id) == RatingItem.rating_id,
                                  col(RatingTally.member_id) == RatingItem.member_id))
        .order_by(col(RatingItem.rating_id), col(RatingItem.member_id))).all()
    for rating_id, member_id in untallied:
        found[rating_id].append(f"the graded line of member {member_id} has no tally rows")
    return found


def check_rating_steps(session: Session, add: Add, org_name: Callable[[int], str]) -> int:
    """The rating_steps check; answers how many ratings past their draft were checked."""
    submitted = sa.exists().where(col(AuditLog.object_type) == "rating",
                                  col(AuditLog.action) == "rating.submit",
                                  col(AuditLog.object_id) == Rating.id)
    rows = session.execute(sa.select(
        col(Rating.id), col(Rating.org_id), col(Rating.year), col(Rating.status),
        col(Rating.ballot), submitted.label("submitted"),
        col(RuleSetRow.ballot_required))
        .outerjoin(RuleSetRow, col(RuleSetRow.year) == col(Rating.year))
        .where(col(Rating.status).in_(PUBLIC_RATING_STATES))
        .order_by(col(Rating.id))).all()
    for r in rows:
        where = f"rating {r.id} ({org_name(r.org_id)} {r.year})"
        if r.status == RatingStatus.approved and not r.submitted:
            continue  # approved before the steps existed, straight from draft
        if r.ballot == BallotStatus.open:
            add("rating_steps", "rating", r.id,
                f"{where}: it is {r.status} while its ballot is still open.")
        elif r.ballot_required and r.ballot != BallotStatus.closed:
            add("rating_steps", "rating", r.id,
                f"{where}: it is {r.status} without a closed ballot (民主测评), which the "
                f"{r.year} rules require (ballot_required).")
    return len(rows)
