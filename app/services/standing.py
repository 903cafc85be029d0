"""Standing, suspended rights and exemptions per year (appraisal.md §1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.clock import CHINA
from app.models import (
    CASE_LEAVE_KINDS,
    BallotStatus,
    ExemptionReason,
    ExemptionStatus,
    LeaveKind,
    Member,
    MemberExemption,
    MemberSuspension,
    Org,
    Rating,
    RatingStatus,
    Standing,
    SuspensionKind,
)
from app.services import audit, ratings
from app.services.access import Actor, get_member, require_manages
from app.services.errors import Forbidden, Invalid, NotFound, WorkflowConflict
from app.services.locking import Precondition, lock_branch
from app.services.paging import Feed, Listing, page
from app.services.sync import SyncRead


def beijing_year(now: datetime) -> int:
    return now.astimezone(CHINA).year


@dataclass(frozen=True)
class MemberFacts:
    """What a member's answer says besides the row: rights today, this year's exemption."""

    rights_suspended: bool = False
    exemption: MemberExemption | None = None


def running(today: date) -> sa.ColumnElement[bool]:
    """Suspensions running on `today`: started, and not ended (ends_on is the first day
    with the rights back)."""
    return sa.and_(col(MemberSuspension.starts_on) <= today,
                   sa.or_(col(MemberSuspension.ends_on).is_(None),
                          col(MemberSuspension.ends_on) > today))


def member_facts(session: Session, member_ids: Iterable[int], today: date
                 ) -> dict[int, MemberFacts]:
    """Each member's facts, in two queries whatever the number of members."""
    ids = list(member_ids)
    if not ids:
        return {}
    suspended = set(session.exec(select(MemberSuspension.member_id).where(
        col(MemberSuspension.member_id).in_(ids), running(today))).all())
    exemptions = active_exemptions(session, ids, today.year)
    return {m: MemberFacts(m in suspended, exemptions.get(m)) for m in ids}


# Built once (the member's score page asks on every look).
_ACTIVE_EXEMPTIONS = sa.select(MemberExemption).where(
    col(MemberExemption.member_id).in_(sa.bindparam("members", expanding=True)),
    col(MemberExemption.year) == sa.bindparam("year"),
    col(MemberExemption.status) == ExemptionStatus.active)


def active_exemptions(session: Session, member_ids: list[int], year: int
                      ) -> dict[int, MemberExemption]:
    rows = session.execute(_ACTIVE_EXEMPTIONS, {"members": list(member_ids), "year": year}
                           ).scalars().all()
    return {e.member_id: e for e in rows}


# Whether :member has an active exemption of :year (a column of the member page's facts).
EXEMPT = sa.exists().where(
    col(MemberExemption.member_id) == sa.bindparam("member"),
    col(MemberExemption.year) == sa.bindparam("year"),
    col(MemberExemption.status) == ExemptionStatus.active)


def _managed_member(session: Session, actor: Actor, member_id: int) -> tuple[Member, Org]:
    member, org = get_member(session, actor, member_id)
    require_manages(actor, org)
    lock_branch(session, org.id or 0, member)
    return member, org


def _not_left(member: Member) -> None:
    if member.standing == Standing.left:
        raise WorkflowConflict(f"{member.name} has left the membership ({member.left_on}); "
                               "their records are kept as they are.", "member_left")


def _not_future(on: date, today: date, field: str) -> None:
    if on > today:
        raise Invalid(f"{field} {on} is in the future.", "future_date")


# 预备期为一年，可延长一次、不超过一年 (党章第七条): nobody is probationary two years
# after joining.
PROBATION_MAX_YEARS = 2


def check_probation(joined_on: date, today: date) -> None:
    """A probationary member joined less than PROBATION_MAX_YEARS years ago."""
    year = today.year - PROBATION_MAX_YEARS
    limit = today.replace(year=year, day=min(today.day, 28)) if (today.month, today.day) == \
        (2, 29) else today.replace(year=year)
    if joined_on <= limit:
        raise Invalid(f"A member who joined on {joined_on} is past any probation (one year, "
                      f"extended by a year at most); they are a full member.",
                      "probation_too_long")


def change_standing(member: Member, standing: Standing, full_since: date | None,
                    today: date) -> None:
    """full ↔ probationary on the row (the caller holds the branch lock and audits).
    Becoming full (转正) records the date, today unless given; `left` only by leave().
    Back to probationary only as the correction of a member entered as full by mistake: a
    recorded 转正 is not undone."""
    if standing == Standing.left:
        raise Invalid("standing left is set by POST /members/{id}/leave, with its kind.",
                      "leave_required")
    _not_left(member)
    if full_since is not None:
        _not_future(full_since, today, "full_since")
        if standing != Standing.full:
            raise Invalid("full_since goes with standing full (转正).", "full_since_not_full")
        if full_since < member.joined_on:
            raise Invalid(f"full_since {full_since} is before joined_on {member.joined_on}.",
                          "before_joined")
    if standing == member.standing and full_since is None:
        return
    if standing == Standing.probationary and member.full_since is not None:
        raise WorkflowConflict(f"{member.name} became a full member on {member.full_since}; "
                               "a 转正 is not undone.", "full_not_undone")
    if standing == Standing.full:
        member.full_since = full_since or (member.full_since if member.standing == standing
                                           else today)
    else:
        member.full_since = None
    member.standing = standing


def leave(session: Session, actor: Actor, member_id: int, kind: LeaveKind, on: date,
          note: str, now: datetime, today: date) -> Member:
    """The member leaves the membership: their logins stop at once, their records stay."""
    member, org = get_member(session, actor, member_id)
    if not actor.manages_above(org):
        raise Forbidden(f"Only the committee above {org.name} (or an administrator) records "
                        "that a member has left.", "committee_above_only")
    if kind in CASE_LEAVE_KINDS:
        raise Invalid(f"{kind} is recorded by an approved disposal case (POST /cases), not "
                      "by hand.", "case_required")
    lock_branch(session, org.id or 0, member)
    _not_left(member)
    _not_future(on, today, "on")
    if on < member.joined_on:
        raise Invalid(f"on {on} is before joined_on {member.joined_on}.", "before_joined")
    mark_left(session, actor.account_id, member, kind, on, note, now)
    return member


def mark_left(session: Session, account_id: int, member: Member, kind: LeaveKind, on: date,
              note: str, now: datetime) -> None:
    """Standing `left` on the row, audited (the caller holds the branch lock): from the
    commit on the member's logins and tokens are refused (access.session_actor), and
    every record of theirs stays."""
    before = audit.snapshot(member)
    member.standing, member.left_kind, member.left_on = Standing.left, kind, on
    member.left_note = note.strip() or None
    session.add(member)
    audit.record(session, actor_id=account_id, action="member.leave",
                 object_type="member", object_id=member.id, at=now, before=before,
                 after=audit.snapshot(member))


def add_suspension(session: Session, actor: Actor, member_id: int, kind: SuspensionKind,
                   starts_on: date, ends_on: date | None, note: str,
                   now: datetime) -> MemberSuspension:
    member, _ = _managed_member(session, actor, member_id)
    _not_left(member)
    if ends_on is not None and ends_on <= starts_on:
        raise Invalid(f"ends_on {ends_on} is not after starts_on {starts_on}.",
                      "dates_reversed")
    suspension = MemberSuspension(member_id=member_id, kind=kind, starts_on=starts_on,
                                  ends_on=ends_on, note=note.strip(),
                                  created_by=actor.account_id, created_at=now)
    session.add(suspension)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="suspension.create",
                 object_type="suspension", object_id=suspension.id, at=now,
                 after=audit.snapshot(suspension))
    return suspension


def end_suspension(session: Session, actor: Actor, member_id: int, suspension_id: int,
                   ends_on: date, note: str, now: datetime, today: date) -> MemberSuspension:
    _managed_member(session, actor, member_id)
    suspension = session.get(MemberSuspension, suspension_id)
    if suspension is None or suspension.member_id != member_id:
        raise NotFound(f"Member {member_id} has no suspension {suspension_id}.")
    if suspension.ends_on is not None and suspension.ends_on <= today:
        raise WorkflowConflict(f"Suspension {suspension_id} ended on {suspension.ends_on}.",
                               "suspension_ended")
    if ends_on <= suspension.starts_on:
        raise Invalid(f"ends_on {ends_on} is not after starts_on {suspension.starts_on}.",
                      "dates_reversed")
    before = audit.snapshot(suspension)
    suspension.ends_on, suspension.end_note = ends_on, note.strip() or None
    session.add(suspension)
    audit.record(session, actor_id=actor.account_id, action="suspension.end",
                 object_type="suspension", object_id=suspension.id, at=now, before=before,
                 after=audit.snapshot(suspension))
    return suspension


def list_suspensions(session: Session, actor: Actor, member_id: int) -> list[MemberSuspension]:
    get_member(session, actor, member_id)
    return list(session.exec(select(MemberSuspension).where(
        MemberSuspension.member_id == member_id).order_by(col(MemberSuspension.id))).all())


@dataclass(frozen=True)
class ExemptionIn:
    reason_kind: ExemptionReason
    note: str
    parent_consent_on: date | None
    meeting_on: date | None


def _rating_open(session: Session, member: Member, year: int) -> Rating | None:
    """The branch's rating of the year, refused once final; None if not made yet."""
    rating = session.exec(select(Rating).where(Rating.org_id == member.org_id,
                                               Rating.year == year)).first()
    if rating is None:
        return None
    if rating.status == RatingStatus.approved:
        raise WorkflowConflict(f"The {year} rating of the branch is approved and final; its "
                               "exemptions no longer change.", "rating_final")
    if rating.ballot != BallotStatus.none:
        raise WorkflowConflict(f"The ballot of the {year} rating has been opened; its "
                               "exemptions no longer change.", "ballot_opened")
    if rating.status != RatingStatus.draft:
        raise WorkflowConflict(f"The {year} rating of the branch is {rating.status}; "
                               "exemptions change only while it is a draft.",
                               "rating_not_draft")
    return rating


# How far back the exemption form reaches (a branch entering its records late).
EXEMPTION_YEARS_BACK = 9


def exemption_years(session: Session, member: Member, today: date) -> list[int]:
    """The years an exemption can still be recorded for, newest first: next year back to the
    year the member joined (at most EXEMPTION_YEARS_BACK years back), leaving out those whose
    rating is past its draft or has opened its ballot (_rating_open refuses them)."""
    first = max(member.joined_on.year, today.year - EXEMPTION_YEARS_BACK)
    closed = set(session.exec(select(Rating.year).where(
        Rating.org_id == member.org_id, Rating.year >= first,
        sa.or_(col(Rating.status) != RatingStatus.draft,
               col(Rating.ballot) != BallotStatus.none))).all())
    return [y for y in range(today.year + 1, first - 1, -1) if y not in closed]


def record_exemption(session: Session, actor: Actor, member_id: int, year: int,
                     given: ExemptionIn, now: datetime, today: date,
                     precondition: Precondition | None = None) -> MemberExemption:
    """This year's (or another year's) 免评: a new one, or the active one changed."""
    member, _ = _managed_member(session, actor, member_id)
    if precondition is not None:
        precondition()
    _not_left(member)
    note = given.note.strip()
    if given.reason_kind == ExemptionReason.other and not note:
        raise Invalid("An exemption of reason_kind other needs a note saying why.",
                      "note_required")
    for field, on in (("parent_consent_on", given.parent_consent_on),
                      ("meeting_on", given.meeting_on)):
        if on is not None:
            _not_future(on, today, field)
    rating = _rating_open(session, member, year)
    exemption = active_exemptions(session, [member_id], year).get(member_id)
    before = audit.snapshot(exemption) if exemption else None
    if exemption is None:
        exemption = MemberExemption(member_id=member_id, year=year, created_by=actor.account_id,
                                    created_at=now, reason_kind=given.reason_kind)
    exemption.reason_kind, exemption.note = given.reason_kind, note
    exemption.parent_consent_on, exemption.meeting_on = given.parent_consent_on, given.meeting_on
    session.add(exemption)
    session.flush()
    audit.record(session, actor_id=actor.account_id,
                 action="exemption.update" if before else "exemption.create",
                 object_type="exemption", object_id=exemption.id, at=now, before=before,
                 after=audit.snapshot(exemption))
    if rating is not None and before is None:
        _recompute(session, actor, rating, member_id, True, now)
    return exemption


def withdraw_exemption(session: Session, actor: Actor, member_id: int, year: int, reason: str,
                       now: datetime) -> MemberExemption:
    member, _ = _managed_member(session, actor, member_id)
    if not reason.strip():
        raise Invalid("Give the reason for withdrawing the exemption.", "reason_required")
    exemption = active_exemptions(session, [member_id], year).get(member_id)
    if exemption is None:
        raise NotFound(f"Member {member_id} has no active exemption for {year}.")
    rating = _rating_open(session, member, year)
    before = audit.snapshot(exemption)
    exemption.status = ExemptionStatus.withdrawn
    exemption.withdrawn_reason, exemption.withdrawn_by = reason.strip(), actor.account_id
    exemption.withdrawn_at = now
    session.add(exemption)
    audit.record(session, actor_id=actor.account_id, action="exemption.withdraw",
                 object_type="exemption", object_id=exemption.id, at=now, before=before,
                 after=audit.snapshot(exemption))
    if rating is not None:
        _recompute(session, actor, rating, member_id, False, now)
    return exemption


def active_exemption(session: Session, actor: Actor, member_id: int,
                     year: int) -> MemberExemption | None:
    """The member's active exemption of a year, if any (as PUT .../exemptions/{year} sets it)."""
    get_member(session, actor, member_id)
    return active_exemptions(session, [member_id], year).get(member_id)


EXEMPTIONS = Feed("exemptions", col(MemberExemption.updated_at), col(MemberExemption.id))


def list_exemptions(session: Session, actor: Actor, member_id: int, limit: int, offset: int,
                    sync: SyncRead | None = None) -> Listing[MemberExemption]:
    """The member's exemptions, newest year first, or by (updated_at, id) for a sync read."""
    get_member(session, actor, member_id)
    query = select(MemberExemption).where(MemberExemption.member_id == member_id)
    return page(session, query, col(MemberExemption.year).desc(),
                col(MemberExemption.id).desc(), limit=limit, offset=offset, sync=sync,
                feed=EXEMPTIONS)


def _recompute(session: Session, actor: Actor, rating: Rating, member_id: int, exempt: bool,
               now: datetime) -> None:
    ratings.set_line_exempt(session, actor, rating, member_id, exempt, now)
