"""Notices inside the app, derived from the records that already exist.

A member is told when one of their entries was decided (approved, rejected, recorded by
the committee, revoked), when a quarter's review or the annual rating of their branch was
published (公示), when their objection to either was answered, and, while the rating's
ballot (民主测评) is open and they have not voted, that it is. A member a disposal case
(不合格党员处置, appraisal.md §5) is about is told when it was filed, when the level above
decided it, and a month before the end of a 限期改正 while it runs; no one else is told of
it. Nothing is written for a
notice: each is read from the row it is about (entry.decided_at / revoked_at,
review.published_at, rating.published_at / ballot_opened_at, objection.resolved_at, a case's
file and decision steps, its deadline). Per
account only "seen up to" is kept (account.notices_seen_at), which the member's kept page is
keyed on too (app/web/page_cache.py).

A notice never tells a member of a rating they cannot see (a draft, reopened or returned,
is the committee's until it is published again), and never a count of votes.

A committee member is shown what waits for them: counts over the branches they manage
(app/services/waiting.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session, col

from app.clock import CHINA
from app.db import core
from app.models import (
    PUBLIC_RATING_STATES,
    PUBLIC_REVIEW_STATES,
    Account,
    BallotStatus,
    CaseStatus,
    CaseStep,
    DisposalCase,
    Entry,
    EntryStatus,
    Objection,
    ObjectionStatus,
    Rating,
    RatingStatus,
    RatingVoter,
    Review,
    StepKind,
)
from app.points import RuleItem
from app.points.disposal import add_months
from app.services.access import Actor
from app.services.appraisal import ballots_left
from app.services.errors import Invalid
from app.services.rules import load_rule_set

# How far back notices go: a quarter and a bit, so the last 公示 is always there.
NOTICE_DAYS = 90
ENTRY_APPROVED = "entry_approved"  # my self-report was approved
ENTRY_REJECTED = "entry_rejected"  # my self-report was rejected, with the reason
ENTRY_RECORDED = "entry_recorded"  # the committee recorded an entry about me
ENTRY_REVOKED = "entry_revoked"  # an approved entry of mine was revoked, with the reason
REVIEW_PUBLISHED = "review_published"  # my branch's quarter results are published (公示)
OBJECTION_ANSWERED = "objection_answered"  # the committee answered my objection
BALLOT_OPEN = "ballot_open"  # my branch's 民主测评 is open and I have not voted yet
RATING_PUBLISHED = "rating_published"  # my branch's annual rating is published (公示)
CASE_FILED = "case_filed"  # the branch committee filed a disposal case about me
CASE_DECIDED = "case_decided"  # the level above approved or refused the measure
CASE_DEADLINE = "case_deadline"  # my 限期改正 ends in a month
KINDS = (ENTRY_APPROVED, ENTRY_REJECTED, ENTRY_RECORDED, ENTRY_REVOKED, REVIEW_PUBLISHED,
         OBJECTION_ANSWERED, BALLOT_OPEN, RATING_PUBLISHED, CASE_FILED, CASE_DECIDED,
         CASE_DEADLINE)


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
    rating: Rating | None = None  # the objection's rating, or the rating itself
    case: DisposalCase | None = None  # the member's disposal case
    step: CaseStep | None = None  # its file or decision step
    measure: str | None = None  # a decision's measure (the proposal it decided)
    months: int | None = None  # and for 限期改正 its months
    deadline: date | None = None  # 限期改正: the deadline it set or that nears

    @property
    def key(self) -> str:
        """Stable per notice: the kind and the id of its row (a case's step, or for its
        deadline the case)."""
        row = self.entry or self.objection or self.review or self.rating or self.step \
            or self.case
        return f"{self.kind}:{row.id if row else 0}"

    @property
    def link(self) -> str:
        """The member page that shows what the notice is about."""
        if self.case is not None:
            return f"/me/cases/{self.case.id}"
        if self.entry is not None:
            return f"/me/entries?year={self.entry.year}"
        if self.rating is not None:
            return f"/me/ratings/{self.rating.id}"
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
    # The member's own disposal cases, (id, status) newest first: read by the statement
    # that finds their notices, for the home page's links to them.
    cases: list[tuple[int, str]] = field(default_factory=list)

    @property
    def unseen(self) -> list[Notice]:
        return [n for n in self.items if n.unseen]

    @property
    def unseen_count(self) -> int:
        return sum(1 for n in self.items if n.unseen)

    @property
    def newest_at(self) -> datetime | None:
        return self.items[0].at if self.items else None


# The statements below are built once, with bound parameters: the member's score page reads
# the notices on every look, and building a statement cost about as much as running it.
_SEEN_AT = sa.select(col(Account.notices_seen_at)).where(
    col(Account.id) == sa.bindparam("account"))
# What a notice is read from, shared by the list (ORM objects, for the notices pages) and
# the count under the score (plain columns, unseen_summary): one WHERE and one rule each.
_ENTRY_ROWS = (
    col(Entry.member_id) == sa.bindparam("member"),
    col(Entry.status).in_((EntryStatus.approved, EntryStatus.rejected, EntryStatus.revoked)),
    sa.or_(col(Entry.decided_at) >= sa.bindparam("since"),
           col(Entry.revoked_at) >= sa.bindparam("since")))
_ENTRIES = sa.select(Entry).where(*_ENTRY_ROWS)
_ENTRY_FACTS = sa.select(col(Entry.status), col(Entry.created_by), col(Entry.decided_at),
                         col(Entry.revoked_at)).where(*_ENTRY_ROWS)
# A review taken back to draft (reopened) is not news until it is published again.
_REVIEW_ROWS = (
    col(Review.org_id) == sa.bindparam("org"), col(Review.status).in_(PUBLIC_REVIEW_STATES),
    col(Review.published_at) >= sa.bindparam("since"))
_REVIEWS = sa.select(Review).where(*_REVIEW_ROWS)
_REVIEW_FACTS = sa.select(col(Review.published_at)).where(*_REVIEW_ROWS)
_ANSWERS = (
    sa.select(Objection, Review, Rating)
    .outerjoin(Review, col(Review.id) == Objection.review_id)
    .outerjoin(Rating, col(Rating.id) == Objection.rating_id)
    .where(col(Objection.member_id) == sa.bindparam("member"),
           col(Objection.status) == ObjectionStatus.resolved,
           col(Objection.resolved_at) >= sa.bindparam("since")))
_RATING_VOTER = sa.and_(col(RatingVoter.rating_id) == Rating.id,
                        col(RatingVoter.member_id) == sa.bindparam("member"))
_RATING_ROWS = (
    col(Rating.org_id) == sa.bindparam("org"), sa.or_(
        # a ballot open (to them while they have not voted) ...
        sa.and_(col(Rating.status) == RatingStatus.draft,
                col(Rating.ballot) == BallotStatus.open),
        # ... or a 公示 (while public)
        sa.and_(col(Rating.status).in_(PUBLIC_RATING_STATES),
                col(Rating.published_at) >= sa.bindparam("since"))))
_RATINGS = sa.select(Rating, col(RatingVoter.voted)).outerjoin(RatingVoter, _RATING_VOTER) \
    .where(*_RATING_ROWS)
_RATING_FACTS = sa.select(
    col(Rating.status), col(Rating.ballot_opened_at), col(Rating.published_at),
    col(Rating.voters), col(Rating.cast_online), col(Rating.cast_paper),
    col(RatingVoter.voted)).outerjoin(RatingVoter, _RATING_VOTER).where(*_RATING_ROWS)
_CASES = (
    sa.select(DisposalCase, CaseStep).join(CaseStep, col(CaseStep.case_id) == DisposalCase.id)
    .where(col(DisposalCase.member_id) == sa.bindparam("member"),
           col(CaseStep.kind).in_((StepKind.file, StepKind.proposal, StepKind.decision)))
    .order_by(col(CaseStep.case_id), col(CaseStep.id)))

# Whether the member has an objection answered since, and any disposal case (of any time: the
# page links to each of their cases).
_ANSWERED = sa.exists().where(col(Objection.member_id) == sa.bindparam("member"),
                              col(Objection.status) == ObjectionStatus.resolved,
                              col(Objection.resolved_at) >= sa.bindparam("since"))
_ANY_CASE = sa.exists().where(col(DisposalCase.member_id) == sa.bindparam("member"))
_RARE = sa.select(_ANSWERED, _ANY_CASE)
# The count's first read, as columns of another statement (:account, :member, :since the
# window's widest start, window_start): "seen up to" and whether the rare kinds are there.
FIRST_READ = (_SEEN_AT.scalar_subquery(), _ANSWERED, _ANY_CASE)
_SEEN_AND_RARE = sa.select(*FIRST_READ)


class _EntryFacts(Protocol):
    """What the entry rule reads: an Entry, or a row of _ENTRY_FACTS."""

    @property
    def status(self) -> str: ...
    @property
    def created_by(self) -> int | None: ...
    @property
    def decided_at(self) -> datetime | None: ...
    @property
    def revoked_at(self) -> datetime | None: ...


class _RatingFacts(Protocol):
    """What the rating rule reads: a Rating, or a row of _RATING_FACTS."""

    @property
    def status(self) -> str: ...
    @property
    def ballot_opened_at(self) -> datetime | None: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def voters(self) -> int | None: ...
    @property
    def cast_online(self) -> int: ...
    @property
    def cast_paper(self) -> int: ...


def _entry_kinds(entry: _EntryFacts, account_id: int, since: datetime,
                 now: datetime) -> list[tuple[str, datetime]]:
    """An entry's notices (kind, when): its decision, and its revocation."""
    found: list[tuple[str, datetime]] = []
    decided, revoked = entry.decided_at, entry.revoked_at
    if decided is not None and since <= decided <= now:
        if entry.status == EntryStatus.rejected:
            kind = ENTRY_REJECTED
        else:  # approved, perhaps revoked since: it was approved then
            kind = ENTRY_APPROVED if entry.created_by == account_id else ENTRY_RECORDED
        found.append((kind, decided))
    if entry.status == EntryStatus.revoked and revoked is not None and since <= revoked <= now:
        found.append((ENTRY_REVOKED, revoked))
    return found


def _review_at(published: datetime | None, now: datetime) -> datetime | None:
    """When a review of _REVIEW_ROWS is news: its publication, once not in the future."""
    return published if published is not None and published <= now else None


def _rating_kind(rating: _RatingFacts, voted: bool | None,
                 now: datetime) -> tuple[str, datetime] | None:
    """A rating's notice (kind, when), if any: a ballot open to a member who has not voted
    (while ballots are left), or its 公示."""
    opened, published = rating.ballot_opened_at, rating.published_at
    if rating.status == RatingStatus.draft:
        left = ballots_left(rating.voters, rating.cast_online, rating.cast_paper)
        if voted is False and left and opened is not None and opened <= now:
            return BALLOT_OPEN, opened
    elif published is not None and published <= now:
        return RATING_PUBLISHED, published
    return None


def _window(seen: datetime | None, now: datetime,
            unseen_only: bool) -> tuple[datetime, Callable[[datetime], bool]]:
    """Since when notices are read, and which are unseen."""
    since = window_start(now)
    if unseen_only and seen is not None:
        since = max(since, seen)  # what happened at `seen` itself is read, and seen

    def unseen(at: datetime) -> bool:
        return seen is None or at > seen

    return since, unseen


def seen_at(session: Session, actor: Actor) -> datetime | None:
    """When the account last marked its notices seen (None: never)."""
    value: datetime | None = core(session, _SEEN_AT, {"account": actor.account_id}).scalar()
    return value


def member_notices(session: Session, actor: Actor, now: datetime, *,
                   unseen_only: bool = False) -> Notices:
    """Everything that happened to the actor as a member in the last NOTICE_DAYS days; with
    `unseen_only`, what happened since they last marked their notices seen (the count under
    the score, 3条新消息: a look that follows a visit to the notices reads next to nothing).
    The member's cases are listed either way."""
    if actor.member_id is None or actor.member_org_id is None:
        return Notices(items=[], seen_at=None)
    return _notices(session, actor, now, seen_at(session, actor), unseen_only)


def _notices(session: Session, actor: Actor, now: datetime, seen: datetime | None,
             unseen_only: bool) -> Notices:
    since, unseen = _window(seen, now, unseen_only)
    items: list[Notice] = []
    entries = session.execute(_ENTRIES, {"member": actor.member_id, "since": since}
                              ).scalars().all()
    rules = {year: load_rule_set(session, year, now) for year in {e.year for e in entries}}
    for entry in entries:
        for kind, at in _entry_kinds(entry, actor.account_id, since, now):
            items.append(Notice(kind=kind, at=at, unseen=unseen(at), entry=entry,
                                item=rules[entry.year].item(entry.rule_code)))
    for review in session.execute(_REVIEWS, {"org": actor.member_org_id, "since": since}
                                  ).scalars().all():
        if (published := _review_at(review.published_at, now)) is not None:
            items.append(Notice(kind=REVIEW_PUBLISHED, at=published,
                                unseen=unseen(published), review=review))
    # Answered objections and disposal cases are rare: one plain statement says whether the
    # member has any before their rows are loaded.
    answered, any_case = core(session, _RARE, {"member": actor.member_id, "since": since}).one()
    if answered:
        items += _answers(session, actor, since, now, unseen)
    for rating, voted in session.execute(_RATINGS, {
            "member": actor.member_id, "org": actor.member_org_id, "since": since}).all():
        found = _rating_kind(rating, voted, now)
        if found is not None:
            items.append(Notice(kind=found[0], at=found[1], unseen=unseen(found[1]),
                                rating=rating))
    cases: list[tuple[int, str]] = []
    if any_case:
        case_items, cases = _case_notices(session, actor, since, now, unseen)
        items += case_items
    items.sort(key=lambda n: (n.at, KINDS.index(n.kind), n.key), reverse=True)
    return Notices(items=items, seen_at=seen, cases=cases)


@dataclass(frozen=True)
class UnseenNotices:
    """What the member's score page shows of the notices: how many are unseen, and the
    member's own disposal cases, (id, status) newest first."""

    count: int
    cases: list[tuple[int, str]]


def window_start(now: datetime) -> datetime:
    """The earliest a notice can be from."""
    return now - timedelta(days=NOTICE_DAYS)


def unseen_summary(session: Session, actor: Actor, now: datetime,
                   first: tuple[datetime | None, bool, bool] | None = None) -> UnseenNotices:
    """member_notices(unseen_only=True)'s unseen count and cases, by the same statements'
    conditions and the same rules, read as plain columns (no ORM objects; the score page
    reads it on every look). A member with an objection answered or a disposal case (both
    rare) is read by member_notices itself. `first`: FIRST_READ's values, when another
    statement read them."""
    if actor.member_id is None or actor.member_org_id is None:
        return UnseenNotices(0, [])
    seen, answered, any_case = first if first is not None else core(session, _SEEN_AND_RARE, {
        "account": actor.account_id, "member": actor.member_id,
        "since": window_start(now)}).one()
    if answered or any_case:  # asked since the window's widest start: never one missed
        found = _notices(session, actor, now, seen, unseen_only=True)
        return UnseenNotices(found.unseen_count, found.cases)
    since, unseen = _window(seen, now, unseen_only=True)
    count = sum(unseen(at) for entry in core(session, _ENTRY_FACTS, {
        "member": actor.member_id, "since": since})
        for _kind, at in _entry_kinds(entry, actor.account_id, since, now))
    count += sum(unseen(at) for published in core(session, _REVIEW_FACTS, {
        "org": actor.member_org_id, "since": since}).scalars()
        if (at := _review_at(published, now)) is not None)
    count += sum(unseen(news[1]) for rating in core(session, _RATING_FACTS, {
        "member": actor.member_id, "org": actor.member_org_id, "since": since})
        if (news := _rating_kind(rating, rating.voted, now)) is not None)
    return UnseenNotices(count, [])


def _answers(session: Session, actor: Actor, since: datetime, now: datetime,
             unseen: Callable[[datetime], bool]) -> list[Notice]:
    """Answers to the member's objections, to a quarterly review or to an annual rating
    (one statement). A rating's only while the member can see it: published, submitted or
    approved, not a draft it was reopened or returned to."""
    answered = session.execute(_ANSWERS, {"member": actor.member_id, "since": since}).all()
    return [Notice(kind=OBJECTION_ANSWERED, at=objection.resolved_at,
                   unseen=unseen(objection.resolved_at), review=review, rating=rating,
                   objection=objection)
            for objection, review, rating in answered
            if objection.resolved_at is not None and objection.resolved_at <= now
            and (review is not None or (rating is not None
                                        and rating.org_id == actor.member_org_id
                                        and rating.status in PUBLIC_RATING_STATES))]


def deadline_notice_at(deadline: date) -> datetime:
    """When the member is told their 限期改正 nears its end: a calendar month before the
    deadline, at the start of that (Beijing) day."""
    return datetime.combine(add_months(deadline, -1), time(0), CHINA)


def _case_notices(session: Session, actor: Actor, since: datetime, now: datetime,
                  unseen: Callable[[datetime], bool]
                  ) -> tuple[list[Notice], list[tuple[int, str]]]:
    """The member's own disposal cases (appraisal.md §5), in one statement: the filing, each
    decision of the level above (with the measure of the proposal it decided) and, while a
    限期改正 runs, a month before its deadline (unless the decision came later: a term of
    a month or less); and the cases themselves, (id, status) newest first (every case has
    its filing step, so each is in the rows). Only ever the member's own cases."""
    rows = session.execute(_CASES, {"member": actor.member_id}).all()
    items: list[Notice] = []
    proposal: dict[int, CaseStep] = {}
    for case, step in rows:
        case_id = case.id or 0
        if step.kind == StepKind.proposal:
            proposal[case_id] = step
            continue
        if not since <= step.at <= now:
            continue
        if step.kind == StepKind.file:
            items.append(Notice(kind=CASE_FILED, at=step.at, unseen=unseen(step.at),
                                case=case, step=step))
            continue
        proposed = proposal.get(case_id)
        measure = proposed.measure if proposed is not None else case.measure
        months = proposed.months if proposed is not None else case.months
        deadline = add_months(step.on, months or 0) if step.result == "approve" \
            and measure == "rectify" and step.on is not None else None
        items.append(Notice(kind=CASE_DECIDED, at=step.at, unseen=unseen(step.at), case=case,
                            step=step, measure=measure, months=months, deadline=deadline))
    cases = {c.id or 0: c for c, _s in rows}
    decided = {c.id or 0: s.at for c, s in rows if s.kind == StepKind.decision}
    for case in cases.values():
        if case.status == CaseStatus.rectifying and case.deadline is not None:
            at = deadline_notice_at(case.deadline)
            # A term of a month or less: the decision itself said the deadline.
            if since <= at <= now and at > decided.get(case.id or 0, at):
                items.append(Notice(kind=CASE_DEADLINE, at=at, unseen=unseen(at), case=case,
                                    deadline=case.deadline))
    return items, [(i, str(cases[i].status)) for i in sorted(cases, reverse=True)]


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
