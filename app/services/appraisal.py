"""The annual rating's steps after it is made (appraisal.md §2): self-assessments, the
ballot (民主测评), publication (公示), objections, reopening, submission (上报) and the level
above's approval or return (上级审批).

The ballot keeps no link from a voter to their choices. Who may vote is fixed when it opens
(rating_voter, with a flag once they voted online); the choices are only counts per line
and grade (rating_tally), every row made at 0 when the ballot opens and only ever
incremented, with no time or author. Casting audits the voter and the rating, never a
choice; the tally is audited once, when the ballot closes. While it is open, nobody is
shown any count but the ballots cast.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import bulk_insert
from app.models import (
    BallotStatus,
    Member,
    MemberSuspension,
    Objection,
    ObjectionStatus,
    Org,
    OrgKind,
    Rating,
    RatingItem,
    RatingStatus,
    RatingTally,
    RatingVoter,
    SelfAssessment,
    Standing,
)
from app.points import Grade
from app.services import audit
from app.services.access import Actor, require_branch_committee, require_person
from app.services.early_steps import checked_reason, year_earliness
from app.services.errors import Forbidden, Invalid, NotFound, WorkflowConflict
from app.services.locking import Precondition, lock_branch
from app.services.objections import record_objection
from app.services.ratings import get_rating, require_draft
from app.services.rules import MAX_NOTICE_DAYS, load_rule_set
from app.services.standing import running

# The four grades a ballot may give a line (appraisal.md §2.3).
BALLOT_GRADES = (Grade.excellent, Grade.qualified, Grade.basically_qualified,
                 Grade.unqualified)
MAX_SELF_ASSESSMENT = 2000


def graded(item: RatingItem) -> bool:
    """A line the committee grades and the ballot votes on: full, not exempt that year."""
    return item.standing == Standing.full and not item.exempt


# --- who may do what -------------------------------------------------------------------


def nearest_committee(session: Session, org: Org) -> Org | None:
    """The nearest organisation above `org` whose kind is committee (the 基层党委)."""
    ancestor_ids = [int(p) for p in org.path.strip("/").split("/")[:-1] if p]
    if not ancestor_ids:
        return None
    return session.exec(select(Org).where(col(Org.id).in_(ancestor_ids),
                                          Org.kind == OrgKind.committee)
                        .order_by(sa.func.length(col(Org.path)).desc()).limit(1)).first()


def approves(session: Session, actor: Actor, org: Org) -> bool:
    """Admin, or a committee member of the nearest 党委 above the branch (appraisal.md §2.8)."""
    if actor.is_admin:
        return True
    above = nearest_committee(session, org)
    return above is not None and above.id in actor.committee_org_ids


def _managed(session: Session, actor: Actor, rating_id: int) -> tuple[Rating, Org]:
    """The rating for a step of the branch committee, under the branch lock."""
    rating, org = get_rating(session, actor, rating_id)
    require_branch_committee(actor, org)
    lock_branch(session, org.id or 0, rating)
    return rating, org


def _items(session: Session, rating_id: int) -> list[RatingItem]:
    return list(session.exec(select(RatingItem).where(RatingItem.rating_id == rating_id)
                             .order_by(col(RatingItem.member_id))).all())


def _line(session: Session, rating_id: int, member_id: int | None) -> RatingItem | None:
    if member_id is None:
        return None
    return session.exec(select(RatingItem).where(RatingItem.rating_id == rating_id,
                                                 RatingItem.member_id == member_id)).first()


def _transition(session: Session, rating: Rating, from_: RatingStatus,
                values: dict[str, object]) -> None:
    """Move the rating on from `from_`, or refuse if someone else moved it first."""
    result = session.execute(
        sa.update(Rating).where(col(Rating.id) == rating.id, col(Rating.status) == from_)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise WorkflowConflict(f"Rating {rating.id} was changed by someone else just now.",
                               "rating_changed")
    session.refresh(rating)


def _audit(session: Session, actor: Actor, action: str, rating: Rating, now: datetime,
           before: dict[str, object] | None = None, **extra: object) -> None:
    after = audit.snapshot(rating) | extra if before is not None else extra or None
    audit.record(session, actor_id=actor.account_id, action=action, object_type="rating",
                 object_id=rating.id, at=now, before=before, after=after)


# --- self-assessment (个人自评) ------------------------------------------------------------


def write_self_assessment(session: Session, actor: Actor, rating_id: int, text: str,
                          now: datetime, precondition: Precondition | None = None
                          ) -> SelfAssessment:
    rating = session.get(Rating, rating_id)
    org = session.get(Org, rating.org_id) if rating else None
    if rating is None or org is None or not (actor.manages(org)
                                             or actor.member_org_id == org.id):
        raise NotFound(f"Rating {rating_id} does not exist or is outside your scope.")
    line = _line(session, rating_id, actor.member_id)
    if line is None or line.exempt:
        raise Forbidden("Only the members on the rating (graded or probationary) write a "
                        "self-assessment on it.", "not_on_rating")
    lock_branch(session, org.id or 0, rating)
    if precondition is not None:
        precondition()
    require_draft(rating)
    text = text.strip()
    if not 1 <= len(text) <= MAX_SELF_ASSESSMENT:
        raise Invalid(f"A self-assessment is 1 to {MAX_SELF_ASSESSMENT} characters.",
                      "text_required")
    own = session.exec(select(SelfAssessment).where(
        SelfAssessment.rating_id == rating_id,
        SelfAssessment.member_id == line.member_id)).first()
    before = audit.snapshot(own) if own else None
    if own is None:
        own = SelfAssessment(rating_id=rating_id, member_id=line.member_id, text=text,
                             updated_at=now)
    own.text, own.updated_at = text, now
    session.add(own)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="self_assessment.write",
                 object_type="self_assessment", object_id=own.id, at=now, before=before,
                 after=audit.snapshot(own))
    return own


def own_self_assessment(session: Session, actor: Actor, rating_id: int
                        ) -> SelfAssessment | None:
    """The caller's own self-assessment on the rating, if written (404: no such rating in
    the caller's scope)."""
    rating = session.get(Rating, rating_id)
    org = session.get(Org, rating.org_id) if rating else None
    if rating is None or org is None or not (actor.manages(org)
                                             or actor.member_org_id == org.id):
        raise NotFound(f"Rating {rating_id} does not exist or is outside your scope.")
    if actor.member_id is None:
        return None
    return session.exec(select(SelfAssessment).where(
        SelfAssessment.rating_id == rating_id,
        SelfAssessment.member_id == actor.member_id)).first()


def self_assessments(session: Session, actor: Actor, rating_id: int
                     ) -> list[tuple[SelfAssessment, str]]:
    """(text, name) in line order. Committees: always. The branch's members: while the
    rating is a draft (read out at the branch meeting), and their own at any time."""
    rating = session.get(Rating, rating_id)
    org = session.get(Org, rating.org_id) if rating else None
    if rating is None or org is None or not (actor.manages(org)
                                             or actor.member_org_id == org.id):
        raise NotFound(f"Rating {rating_id} does not exist or is outside your scope.")
    query = (select(SelfAssessment, RatingItem.name)
             .join(RatingItem, sa.and_(col(RatingItem.rating_id) == SelfAssessment.rating_id,
                                       col(RatingItem.member_id) == SelfAssessment.member_id))
             .where(SelfAssessment.rating_id == rating_id))
    if not actor.manages(org) and rating.status != RatingStatus.draft:
        query = query.where(SelfAssessment.member_id == actor.member_id)
    return [(a, name) for a, name in
            session.exec(query.order_by(col(SelfAssessment.member_id))).all()]


# --- the ballot (民主测评) ------------------------------------------------------------------

# A ballot is the members' and their committee's, at the branch meeting: a service account
# sees the tally as a committee does, and takes no step of it.
BALLOT = "open, cast, type in or close a ballot"


def open_ballot(session: Session, actor: Actor, rating_id: int, now: datetime,
                today: date) -> Rating:
    """Fix who may vote (full or probationary lines, not exempt, not left, no suspension
    running today) and make every (graded line, grade) count, at 0."""
    require_person(actor, BALLOT)
    rating, _org = _managed(session, actor, rating_id)
    require_draft(rating)
    if rating.ballot != BallotStatus.none:
        raise WorkflowConflict("The ballot of this rating has already been opened; it opens "
                               "once.", "ballot_opened")
    items = _items(session, rating_id)
    suspended = set(session.exec(select(MemberSuspension.member_id).where(
        col(MemberSuspension.member_id).in_([i.member_id for i in items]),
        running(today))).all())
    still_in = set(session.exec(select(Member.id).where(
        col(Member.id).in_([i.member_id for i in items]),
        col(Member.standing) != Standing.left)).all())
    voters = [i.member_id for i in items if not i.exempt and i.member_id in still_in
              and i.member_id not in suspended]
    if not voters:
        raise WorkflowConflict("Nobody on this rating may vote (all exempt, left or with "
                               "rights suspended).", "no_voters")
    bulk_insert(session, RatingVoter.__table__,  # type: ignore[attr-defined]
                [{"rating_id": rating_id, "member_id": m, "voted": False} for m in voters])
    bulk_insert(session, RatingTally.__table__,  # type: ignore[attr-defined]
                [{"rating_id": rating_id, "member_id": i.member_id, "grade": g.value,
                  "count": 0} for i in items if graded(i) for g in BALLOT_GRADES])
    before = audit.snapshot(rating)
    _transition(session, rating, RatingStatus.draft, {
        "ballot": BallotStatus.open, "voters": len(voters), "ballot_opened_by":
        actor.account_id, "ballot_opened_at": now})
    _audit(session, actor, "rating.ballot_open", rating, now, before)
    return rating


def _checked_votes(session: Session, rating_id: int, votes: Mapping[int, Grade],
                   own: int | None) -> None:
    if own is not None and own in votes:
        raise Invalid("A voter does not vote on their own line.", "own_line")
    graded_ids = {i.member_id for i in _items(session, rating_id) if graded(i)}
    stray = sorted(m for m in votes if m not in graded_ids)
    if stray:
        raise Invalid(f"Not a graded line of this rating: member {stray[0]}.",
                      "not_a_graded_line")
    wrong = [m for m, g in votes.items() if g not in BALLOT_GRADES]
    if wrong:
        raise Invalid("Each vote is one of excellent, qualified, basically_qualified, "
                      "unqualified.", "unknown_grade")


def ballots_left(voters: int | None, cast_online: int, cast_paper: int) -> bool:
    """Whether a ballot can still be cast: online and paper ballots are fewer than the
    voters (past them, ballot_full)."""
    return cast_online + cast_paper < (voters or 0)


def _count(session: Session, rating: Rating, votes: Mapping[int, Grade], column: str) -> None:
    """One more ballot, refused past the voters; its votes added to the counts."""
    spent = col(Rating.cast_online) + col(Rating.cast_paper)
    result = session.execute(
        sa.update(Rating).where(col(Rating.id) == rating.id,
                                col(Rating.ballot) == BallotStatus.open,
                                spent < col(Rating.voters))
        .values({column: getattr(Rating, column) + 1})
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise WorkflowConflict(f"All {rating.voters} ballots have been cast.", "ballot_full")
    by_grade: dict[Grade, list[int]] = defaultdict(list)
    for member_id, grade in votes.items():
        by_grade[grade].append(member_id)
    for grade, member_ids in by_grade.items():
        session.execute(sa.update(RatingTally).where(
            col(RatingTally.rating_id) == rating.id, col(RatingTally.grade) == grade.value,
            col(RatingTally.member_id).in_(member_ids))
            .values(count=col(RatingTally.count) + 1)
            .execution_options(synchronize_session=False))
    # Counts loaded before (a committee's read in the same session) are stale now.
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, RatingTally) and loaded.rating_id == rating.id:
            session.expire(loaded)
    session.refresh(rating)


def _ballot_open(rating: Rating) -> None:
    if rating.ballot != BallotStatus.open or rating.status != RatingStatus.draft:
        raise WorkflowConflict("The ballot is not open.", "ballot_not_open")


def cast_ballot(session: Session, actor: Actor, rating_id: int, votes: Mapping[int, Grade],
                now: datetime) -> Rating:
    """One voter's one ballot. The audit row names the voter and the rating, nothing else;
    no error repeats a choice."""
    require_person(actor, BALLOT)
    rating = session.get(Rating, rating_id)
    org = session.get(Org, rating.org_id) if rating else None
    if rating is None or org is None or not (actor.manages(org)
                                             or actor.member_org_id == org.id):
        raise NotFound(f"Rating {rating_id} does not exist or is outside your scope.")
    lock_branch(session, org.id or 0, rating)
    voter = session.get(RatingVoter, (rating_id, actor.member_id)) \
        if actor.member_id is not None else None
    if voter is None:
        if rating.ballot == BallotStatus.none:
            raise WorkflowConflict("The ballot is not open.", "ballot_not_open")
        raise Forbidden("You are not among this ballot's voters (full or probationary "
                        "members on the rating, not exempt, with their rights, when it "
                        "opened).", "not_a_voter")
    _ballot_open(rating)
    if voter.voted:
        raise WorkflowConflict("You have already voted; a ballot cannot be changed.",
                               "already_voted")
    _checked_votes(session, rating_id, votes, actor.member_id)
    result = session.execute(
        sa.update(RatingVoter).where(col(RatingVoter.rating_id) == rating_id,
                                     col(RatingVoter.member_id) == actor.member_id,
                                     sa.not_(col(RatingVoter.voted)))
        .values(voted=True).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise WorkflowConflict("You have already voted; a ballot cannot be changed.",
                               "already_voted")
    # The UPDATE went past the ORM: the loaded row would still say "not voted" to a later
    # read in this session (the tests' one session saw it so, when it was still alive).
    session.expire(voter)
    _count(session, rating, votes, "cast_online")
    audit.record(session, actor_id=actor.account_id, action="rating.ballot_cast",
                 object_type="rating", object_id=rating_id, at=now)
    return rating


def cast_paper_ballot(session: Session, actor: Actor, rating_id: int,
                      votes: Mapping[int, Grade], now: datetime) -> Rating:
    """A paper ballot typed in by the committee: no voter named, the same shape."""
    require_person(actor, BALLOT)
    rating, _org = _managed(session, actor, rating_id)
    _ballot_open(rating)
    _checked_votes(session, rating_id, votes, None)
    _count(session, rating, votes, "cast_paper")
    audit.record(session, actor_id=actor.account_id, action="rating.paper_ballot",
                 object_type="rating", object_id=rating_id, at=now)
    return rating


def close_ballot(session: Session, actor: Actor, rating_id: int, now: datetime) -> Rating:
    """Close it; the tally is recorded in the audit log now, once, whole."""
    require_person(actor, BALLOT)
    rating, _org = _managed(session, actor, rating_id)
    _ballot_open(rating)
    before = audit.snapshot(rating)
    _transition(session, rating, RatingStatus.draft, {
        "ballot": BallotStatus.closed, "ballot_closed_by": actor.account_id,
        "ballot_closed_at": now})
    _audit(session, actor, "rating.ballot_close", rating, now, before,
           tally={str(m): t for m, t in tallies(session, rating).items()})
    return rating


@dataclass(frozen=True)
class Tally:
    excellent: int
    qualified: int
    basically_qualified: int
    unqualified: int
    abstain: int

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def tallies(session: Session, rating: Rating) -> dict[int, dict[str, int]]:
    """Each graded line's counts and abstentions, once the ballot is closed (else empty)."""
    if rating.ballot != BallotStatus.closed:
        return {}
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {g.value: 0 for g in BALLOT_GRADES})
    for member_id, grade, count in session.execute(
            sa.select(col(RatingTally.member_id), col(RatingTally.grade),
                      col(RatingTally.count)).where(col(RatingTally.rating_id) == rating.id)):
        counts[member_id][grade] = count
    cast = rating.cast_online + rating.cast_paper
    return {m: Tally(**c, abstain=cast - sum(c.values())).as_dict()
            for m, c in sorted(counts.items())}


def voted_online(session: Session, rating_id: int) -> list[int]:
    """Who has voted online (for the committee's reminders), never what they chose."""
    return list(session.exec(select(RatingVoter.member_id).where(
        RatingVoter.rating_id == rating_id, RatingVoter.voted)
        .order_by(col(RatingVoter.member_id))).all())


def voter_ids(session: Session, rating_id: int) -> list[int]:
    return list(session.exec(select(RatingVoter.member_id).where(
        RatingVoter.rating_id == rating_id).order_by(col(RatingVoter.member_id))).all())


def has_voted(session: Session, rating_id: int, member_id: int | None) -> bool | None:
    """None: not a voter of this rating; else whether they voted."""
    if member_id is None:
        return None
    voter = session.get(RatingVoter, (rating_id, member_id))
    return None if voter is None else voter.voted


# --- publish, objections, reopen, submit, approve, return --------------------------------


def open_objection_count(session: Session, rating_id: int) -> int:
    count: int = session.execute(sa.select(sa.func.count()).select_from(Objection).where(
        col(Objection.rating_id) == rating_id,
        col(Objection.status) == ObjectionStatus.open)).scalar_one()
    return count


def _publishable(session: Session, actor: Actor, rating_id: int, notice_days: int | None,
                 reason: str | None, now: datetime) -> tuple[Rating, int, str | None]:
    """The rating under the branch lock, its notice days and the reason to store; or the
    refusal publishing it now would meet."""
    rating, _org = _managed(session, actor, rating_id)
    require_draft(rating)
    params = load_rule_set(session, rating.year, now).params
    days = params.rating_notice_days if notice_days is None else notice_days
    if not 0 <= days <= MAX_NOTICE_DAYS:
        raise Invalid(f"notice_days must be from 0 to {MAX_NOTICE_DAYS}.",
                      "notice_out_of_range")
    if rating.ballot == BallotStatus.open:
        raise WorkflowConflict("Close the ballot before publishing.", "ballot_open")
    if params.ballot_required and rating.ballot != BallotStatus.closed:
        raise WorkflowConflict(f"The {rating.year} rules require a ballot (民主测评) before "
                               "the rating is published; open it and close it first.",
                               "ballot_required")
    early = year_earliness(rating.year, "publish", now, days, params.min_notice_days)
    return rating, days, checked_reason(reason, early)


def check_publish(session: Session, actor: Actor, rating_id: int, notice_days: int | None,
                  reason: str | None, now: datetime) -> tuple[int, datetime]:
    """The notice days and when the notice would end if the rating were published now;
    refused as publishing would be, and nothing written (the page's confirmation)."""
    _rating, days, _reason = _publishable(session, actor, rating_id, notice_days, reason, now)
    return days, now + timedelta(days=days)


def publish(session: Session, actor: Actor, rating_id: int, notice_days: int | None,
            now: datetime, reason: str | None = None) -> Rating:
    """Publish (公示); before the year ends or with a notice below the year's minimum, only
    with a reason (app/services/early_steps.py)."""
    rating, days, stored_reason = _publishable(session, actor, rating_id, notice_days, reason,
                                               now)
    before = audit.snapshot(rating)
    _transition(session, rating, RatingStatus.draft, {
        "status": RatingStatus.published, "published_by": actor.account_id,
        "published_at": now, "notice_until": now + timedelta(days=days),
        "publish_reason": stored_reason})
    _audit(session, actor, "rating.publish", rating, now, before)
    return rating


def _published(session: Session, actor: Actor, rating_id: int) -> Rating:
    rating, _org = _managed(session, actor, rating_id)
    if rating.status != RatingStatus.published:
        raise WorkflowConflict(f"Rating {rating_id} is {rating.status}, not published.",
                               "rating_not_published")
    return rating


def raise_objection(session: Session, actor: Actor, rating_id: int, text: str,
                    now: datetime) -> Objection:
    rating, org = get_rating(session, actor, rating_id)
    if _line(session, rating_id, actor.member_id) is None or actor.member_org_id != org.id:
        raise Forbidden("Only a member on the rating objects, on their own line.",
                        "not_on_rating")
    lock_branch(session, org.id or 0, rating)
    if rating.status != RatingStatus.published or (
            rating.notice_until is not None and now > rating.notice_until):
        raise WorkflowConflict("Objections are raised while the rating's notice (公示) runs.",
                               "notice_not_running")
    return record_objection(session, actor, text, now, rating_id=rating_id)


def objections(session: Session, actor: Actor, rating_id: int) -> list[Objection]:
    """Committees: all of the rating's; a member: their own."""
    _rating, org = get_rating(session, actor, rating_id)
    query = select(Objection).where(Objection.rating_id == rating_id)
    if not actor.manages(org):
        query = query.where(Objection.member_id == actor.member_id)
    return list(session.exec(query.order_by(col(Objection.id))).all())


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise Invalid("Give the reason; it is stored and shown to the branch committee.",
                      "reason_required")
    return reason


def reopen(session: Session, actor: Actor, rating_id: int, reason: str,
           now: datetime) -> Rating:
    """Back to draft (to change a grade after an objection); the tally is kept, the ballot
    not opened again; publishing starts a new notice."""
    rating = _published(session, actor, rating_id)
    before = audit.snapshot(rating)
    _transition(session, rating, RatingStatus.published, {
        "status": RatingStatus.draft, "notice_until": None, "sent_back": "reopened",
        "sent_back_reason": _reason(reason), "sent_back_by": actor.account_id,
        "sent_back_at": now})
    _audit(session, actor, "rating.reopen", rating, now, before)
    return rating


def submit(session: Session, actor: Actor, rating_id: int, now: datetime,
           reason: str | None = None) -> Rating:
    """Submit (上报), the branch's last step; before the year ends, only with a reason
    (app/services/early_steps.py)."""
    rating = _published(session, actor, rating_id)
    if rating.notice_until is not None and now < rating.notice_until:
        raise WorkflowConflict("The notice (公示) runs until "
                               f"{rating.notice_until:%Y-%m-%d %H:%M} UTC; submit after it.",
                               "notice_running")
    if open_objection_count(session, rating_id):
        raise WorkflowConflict("Answer the open objections first.", "objections_open")
    stored_reason = checked_reason(reason, year_earliness(rating.year, "submit", now))
    before = audit.snapshot(rating)
    _transition(session, rating, RatingStatus.published, {
        "status": RatingStatus.submitted, "submitted_by": actor.account_id,
        "submitted_at": now, "submit_reason": stored_reason})
    _audit(session, actor, "rating.submit", rating, now, before)
    return rating


def _submitted(session: Session, actor: Actor, rating_id: int) -> Rating:
    """A submitted rating, for the nearest 党委 above (or an administrator), never for the
    account that published or submitted it."""
    rating, org = get_rating(session, actor, rating_id)
    if not approves(session, actor, org):
        raise Forbidden("A rating is approved or returned by the committee of the nearest "
                        "党委 above the branch, or an administrator.", "committee_above_only")
    lock_branch(session, org.id or 0, rating)
    if rating.status != RatingStatus.submitted:
        raise WorkflowConflict(f"Rating {rating_id} is {rating.status}, not submitted.",
                               "rating_not_submitted")
    if actor.account_id in (rating.published_by, rating.submitted_by):
        raise Forbidden("You published or submitted this rating; another member of the "
                        "committee above decides on it.", "own_submission")
    return rating


def approve(session: Session, actor: Actor, rating_id: int, now: datetime) -> Rating:
    rating = _submitted(session, actor, rating_id)
    before = audit.snapshot(rating)
    _transition(session, rating, RatingStatus.submitted, {
        "status": RatingStatus.approved, "approved_by": actor.account_id, "approved_at": now})
    _audit(session, actor, "rating.approve", rating, now, before)
    return rating


def return_rating(session: Session, actor: Actor, rating_id: int, reason: str,
                  now: datetime) -> Rating:
    rating = _submitted(session, actor, rating_id)
    before = audit.snapshot(rating)
    _transition(session, rating, RatingStatus.submitted, {
        "status": RatingStatus.draft, "notice_until": None, "submitted_by": None,
        "submitted_at": None, "submit_reason": None, "sent_back": "returned",
        "sent_back_reason": _reason(reason), "sent_back_by": actor.account_id,
        "sent_back_at": now})
    _audit(session, actor, "rating.return", rating, now, before)
    return rating
