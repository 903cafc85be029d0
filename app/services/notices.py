"""Notices inside the app, derived from the records that already exist.

A member is told when one of their entries was decided (approved, rejected, recorded by
the committee, revoked), when a quarter's review of their branch was published (公示) and
when their objection was answered. Nothing is written for a notice: each is read from the
row it is about (entry.decided_at / revoked_at, review.published_at,
objection.resolved_at). Per account only "seen up to" is kept (account.notices_seen_at),
which the member's kept page is keyed on too (app/web/page_cache.py).

A committee member is shown what waits for them: counts over the branches they manage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.models import (
    PUBLIC_REVIEW_STATES,
    Account,
    Entry,
    EntryStatus,
    Objection,
    ObjectionStatus,
    Rating,
    RatingStatus,
    Review,
    ReviewStatus,
)
from app.points import RuleItem
from app.services.access import Actor
from app.services.errors import Invalid
from app.services.rules import load_rule_set
from app.services.worklist import BranchWork

# How far back notices go: a quarter and a bit, so the last 公示 is always there.
NOTICE_DAYS = 90
# Unseen notices on the member's home page; the rest are on the notices page.
HOME_NOTICES = 3

ENTRY_APPROVED = "entry_approved"  # my self-report was approved
ENTRY_REJECTED = "entry_rejected"  # my self-report was rejected, with the reason
ENTRY_RECORDED = "entry_recorded"  # the committee recorded an entry about me
ENTRY_REVOKED = "entry_revoked"  # an approved entry of mine was revoked, with the reason
REVIEW_PUBLISHED = "review_published"  # my branch's quarter results are published (公示)
OBJECTION_ANSWERED = "objection_answered"  # the committee answered my objection
KINDS = (ENTRY_APPROVED, ENTRY_REJECTED, ENTRY_RECORDED, ENTRY_REVOKED, REVIEW_PUBLISHED,
         OBJECTION_ANSWERED)


@dataclass(frozen=True)
class Notice:
    """One thing that happened to the member, with the row it is about."""

    kind: str
    at: datetime
    unseen: bool
    entry: Entry | None = None
    item: RuleItem | None = None  # the entry's rule item in its year's rules
    review: Review | None = None
    objection: Objection | None = None

    @property
    def key(self) -> str:
        """Stable per notice: the kind and the id of its row."""
        row = self.entry or self.objection or self.review
        return f"{self.kind}:{row.id if row else 0}"

    @property
    def link(self) -> str:
        """The member page that shows what the notice is about."""
        if self.entry is not None:
            return f"/me/entries?year={self.entry.year}"
        if self.objection is not None:
            return f"/me/results/{self.objection.review_id}"
        if self.review is not None:
            return f"/me/results/{self.review.id}"
        return "/me"


@dataclass(frozen=True)
class Notices:
    """A member's notices of the last NOTICE_DAYS days, newest first."""

    items: list[Notice]
    seen_at: datetime | None

    @property
    def unseen(self) -> list[Notice]:
        return [n for n in self.items if n.unseen]

    @property
    def unseen_count(self) -> int:
        return sum(1 for n in self.items if n.unseen)

    @property
    def newest_at(self) -> datetime | None:
        return self.items[0].at if self.items else None


def seen_at(session: Session, actor: Actor) -> datetime | None:
    """When the account last marked its notices seen (None: never)."""
    value: datetime | None = session.exec(
        select(Account.notices_seen_at).where(Account.id == actor.account_id)).first()
    return value


def _entry_notices(session: Session, actor: Actor, since: datetime,
                   now: datetime) -> list[tuple[str, datetime, Entry]]:
    entries = session.exec(select(Entry).where(
        Entry.member_id == actor.member_id,
        col(Entry.status).in_((EntryStatus.approved, EntryStatus.rejected, EntryStatus.revoked)),
        sa.or_(col(Entry.decided_at) >= since, col(Entry.revoked_at) >= since))).all()
    found: list[tuple[str, datetime, Entry]] = []
    for entry in entries:
        decided, revoked = entry.decided_at, entry.revoked_at
        if decided is not None and since <= decided <= now:
            if entry.status == EntryStatus.rejected:
                kind = ENTRY_REJECTED
            else:  # approved, perhaps revoked since: it was approved then
                kind = ENTRY_APPROVED if entry.created_by == actor.account_id \
                    else ENTRY_RECORDED
            found.append((kind, decided, entry))
        if entry.status == EntryStatus.revoked and revoked is not None and since <= revoked <= now:
            found.append((ENTRY_REVOKED, revoked, entry))
    return found


def member_notices(session: Session, actor: Actor, now: datetime) -> Notices:
    """Everything that happened to the actor as a member in the last NOTICE_DAYS days."""
    if actor.member_id is None or actor.member_org_id is None:
        return Notices(items=[], seen_at=None)
    seen = seen_at(session, actor)
    since = now - timedelta(days=NOTICE_DAYS)

    def unseen(at: datetime) -> bool:
        return seen is None or at > seen

    items: list[Notice] = []
    entry_rows = _entry_notices(session, actor, since, now)
    rules = {year: load_rule_set(session, year, now) for year in {e.year for _k, _at, e
                                                                  in entry_rows}}
    for kind, at, entry in entry_rows:
        items.append(Notice(kind=kind, at=at, unseen=unseen(at), entry=entry,
                            item=rules[entry.year].item(entry.rule_code)))
    # A review taken back to draft (reopened) is not news until it is published again.
    for review in session.exec(select(Review).where(
            Review.org_id == actor.member_org_id,
            col(Review.status).in_(PUBLIC_REVIEW_STATES),
            col(Review.published_at) >= since)).all():
        if review.published_at is not None and review.published_at <= now:
            items.append(Notice(kind=REVIEW_PUBLISHED, at=review.published_at,
                                unseen=unseen(review.published_at), review=review))
    answered = session.exec(
        select(Objection, Review).join(Review, col(Review.id) == Objection.review_id)
        .where(Objection.member_id == actor.member_id, Objection.status == ObjectionStatus.resolved,
               col(Objection.resolved_at) >= since)).all()
    for objection, review in answered:
        if objection.resolved_at is not None and objection.resolved_at <= now:
            items.append(Notice(kind=OBJECTION_ANSWERED, at=objection.resolved_at,
                                unseen=unseen(objection.resolved_at), review=review,
                                objection=objection))
    items.sort(key=lambda n: (n.at, KINDS.index(n.kind), n.key), reverse=True)
    return Notices(items=items, seen_at=seen)


def mark_seen(session: Session, actor: Actor, now: datetime,
              up_to: datetime | None = None) -> datetime | None:
    """Mark the notices seen up to ``up_to`` (the newest one the member was shown; now by
    default), so one that arrived meanwhile stays new. Never moves back."""
    if up_to is not None and up_to.tzinfo is None:
        raise Invalid("up_to needs a time zone (for example 2026-03-05T08:00:00+08:00).",
                      "naive_time")
    moment = min(up_to, now) if up_to is not None else now
    account = session.get(Account, actor.account_id)
    if account is None:  # the actor was loaded from it in this request
        return None
    if account.notices_seen_at is None or moment > account.notices_seen_at:
        account.notices_seen_at = moment
        session.add(account)
        session.flush()
    return account.notices_seen_at


@dataclass(frozen=True)
class Waiting:
    """What waits for a committee member in the branches they manage, with where to go."""

    entries: int
    objections: int
    to_publish: int
    to_finalize: int
    ratings: int
    objection_review_id: int | None = None
    publish_review_id: int | None = None
    finalize_review_id: int | None = None
    rating_id: int | None = None

    @property
    def total(self) -> int:
        return self.entries + self.objections + self.to_publish + self.to_finalize \
            + self.ratings


def _first_and_count(session: Session,
                     query: SelectOfScalar[Any]) -> tuple[int, int | None]:
    ids = [int(i) for i in session.exec(query).all() if i is not None]
    return len(ids), (ids[0] if ids else None)


def committee_waiting(session: Session, actor: Actor, work: list[BranchWork],
                      now: datetime) -> Waiting:
    """Entries to decide, objections to answer, reviews to publish or finalize, ratings to
    approve (all years: old work still waits), in the branches of the committee's worklist
    (worklist.branch_worklist, which has counted the entries the actor may decide). The
    actor's own objections wait for another committee member, as their own entries do."""
    branch_ids = [b.org.id for b in work if b.org.id is not None]
    if not branch_ids:
        return Waiting(0, 0, 0, 0, 0)
    in_scope = col(Review.org_id).in_(branch_ids)
    by_quarter = (col(Review.year), col(Review.quarter), col(Review.id))
    to_answer = select(Objection.review_id).join(
        Review, col(Review.id) == Objection.review_id).where(
        in_scope, col(Objection.status) == ObjectionStatus.open)
    if actor.member_id is not None:
        to_answer = to_answer.where(col(Objection.member_id) != actor.member_id)
    objections, objection_review = _first_and_count(session,
                                                    to_answer.order_by(col(Objection.id)))
    to_publish, publish_id = _first_and_count(session, select(Review.id).where(
        in_scope, col(Review.status) == ReviewStatus.draft).order_by(*by_quarter))
    # Published, the notice period over and no objection open: next is to finalize.
    open_objection = sa.exists().where(col(Objection.review_id) == Review.id,
                                       col(Objection.status) == ObjectionStatus.open)
    to_finalize, finalize_id = _first_and_count(session, select(Review.id).where(
        in_scope, col(Review.status) == ReviewStatus.published,
        sa.or_(col(Review.notice_until).is_(None), col(Review.notice_until) <= now),
        ~open_objection).order_by(*by_quarter))
    ratings, rating_id = _first_and_count(session, select(Rating.id).where(
        col(Rating.org_id).in_(branch_ids), col(Rating.status) == RatingStatus.draft)
        .order_by(col(Rating.year), col(Rating.id)))
    return Waiting(
        entries=sum(b.pending for b in work), objections=objections,
        to_publish=to_publish, to_finalize=to_finalize, ratings=ratings,
        objection_review_id=objection_review, publish_review_id=publish_id,
        finalize_review_id=finalize_id, rating_id=rating_id)

