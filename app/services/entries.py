"""Entries: self-reports, records, approval, rejection, revocation (docs/scoring.md,
Workflow 1, 3)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import core
from app.models import (
    Entry,
    EntryStatus,
    Member,
    Org,
    Review,
    ReviewStatus,
    Standing,
)
from app.points import (
    SELF_REPORT_KINDS,
    ItemTotal,
    Kind,
    RatingParams,
    RuleItem,
    RuleSet,
    needs_reason,
    quarter_of,
    quarter_start,
)
from app.services import audit, stamps, uploads
from app.services.access import (
    Actor,
    get_member,
    get_org,
    own_or_managed,
    require_manages,
    under_org,
)
from app.services.errors import Forbidden, Invalid, NotFound, WorkflowConflict
from app.services.locking import lock_branch
from app.services.paging import Feed, Listing, page
from app.services.rules import ensure_rule_set, load_rule_set
from app.services.scoring import member_year_scores
from app.services.sync import SyncRead
from app.services.text import says_nothing
from app.services.uploads import Upload

MAX_QUANTITY = 100


@dataclass(frozen=True)
class NewEntry:
    member_id: int
    rule_code: str
    occurred_on: date
    quantity: int | None = None
    points: int | None = None
    note: str = ""
    evidence: str | None = None


class MemberLeft(WorkflowConflict):
    """An entry dated on or after the day its member left (appraisal.md §1: they keep every
    record, but nothing of theirs happens after it); says who and since when."""

    def __init__(self, member: Member) -> None:
        self.name, self.left_on = member.name, member.left_on
        super().__init__(f"{member.name} left the membership on {member.left_on}: nothing "
                         "dated on or after that day is recorded for them.", "member_left")


def left_by(member: Member, day: date) -> bool:
    """The member had left by `day` (the day they left included)."""
    return member.standing == Standing.left and (member.left_on is None
                                                 or day >= member.left_on)


# Built once: every entry written asks it (a statement built per call cost as much as
# running it).
_FINALIZED = sa.select(col(Review.id)).where(
    col(Review.org_id) == sa.bindparam("org"), col(Review.year) == sa.bindparam("year"),
    col(Review.quarter) == sa.bindparam("quarter"),
    col(Review.status) == ReviewStatus.finalized.value).limit(1)


def quarter_is_finalized(session: Session, org_id: int, year: int, quarter: int) -> bool:
    return core(session, _FINALIZED, {"org": org_id, "year": year,
                                      "quarter": quarter}).first() is not None


class QuarterLocked(WorkflowConflict):
    """Something dated in a finalized quarter (docs/scoring.md, Workflow 3); says which
    quarter, so a page can tell a member what they can do instead."""

    def __init__(self, org: Org, year: int, quarter: int) -> None:
        self.org_id, self.year, self.quarter = org.id or 0, year, quarter
        super().__init__(
            f"{year} Q{quarter} is finalized for {org.name}; nothing dated in it can change. "
            "Record a correction in an open quarter, naming the original entry in its note.",
            "quarter_locked")


def refuse_if_locked(session: Session, org: Org, year: int, quarter: int) -> None:
    if quarter_is_finalized(session, org.id or 0, year, quarter):
        raise QuarterLocked(org, year, quarter)


def open_since(session: Session, org_id: int, today: date) -> date | None:
    """The first day of this year's first quarter so far not finalized for the branch:
    anything dated from then to today can still be recorded (a year's quarters are
    finalized in order, docs/scoring.md, Workflow 2). None: every quarter begun is final."""
    finalized = set(session.exec(select(Review.quarter).where(
        Review.org_id == org_id, Review.year == today.year,
        Review.status == ReviewStatus.finalized)).all())
    return next((quarter_start(today.year, q) for q in range(1, quarter_of(today) + 1)
                 if q not in finalized), None)


def signed_points(item: RuleItem, new: NewEntry) -> tuple[int, int]:
    """Quantity and signed points of a new entry, or Invalid saying what to send instead."""
    if item.kind is Kind.veto:
        if new.points is not None or (new.quantity or 1) != 1:
            raise Invalid(f"{item.code} is a veto: send neither points nor a quantity.",
                          "veto_has_no_points")
        return 1, 0
    if item.chosen_points:
        low, high = item.min_points or 1, item.max_points or 1
        if new.points is None:
            raise Invalid(f"{item.code} needs points from {low} to {high}.", "points_required")
        if not low <= new.points <= high:
            raise Invalid(f"{item.code} points must be from {low} to {high}, not {new.points}.",
                          "points_out_of_range")
        if (new.quantity or 1) != 1:
            raise Invalid(f"{item.code} takes points, not a quantity.", "quantity_not_allowed")
        magnitude, quantity = new.points, 1
    else:
        if new.points is not None:
            raise Invalid(f"{item.code} is worth {item.points} per unit; send a quantity, "
                          "not points.", "points_not_allowed")
        quantity = 1 if new.quantity is None else new.quantity
        if not 1 <= quantity <= MAX_QUANTITY:
            raise Invalid(f"quantity must be a whole number from 1 to {MAX_QUANTITY}.",
                          "quantity_out_of_range")
        magnitude = (item.points or 0) * quantity
    sign = 1 if item.kind in SELF_REPORT_KINDS else -1
    return quantity, sign * magnitude


class NoteRequired(Invalid):
    """A veto or a big deduction with a blank note: the member would not be told why."""

    default_code = "note_required"

    def __init__(self, threshold: int) -> None:
        super().__init__(f"A veto or a deduction of {threshold} points or more needs a note "
                         "the member will see.")
        self.threshold = threshold


def require_reason(kind: Kind, points: int, note: str | None, params: RatingParams) -> None:
    """NoteRequired for a veto or a deduction of basic_single_deduction points or more
    whose note is blank (issue 17)."""
    if needs_reason(kind, points, params) and says_nothing(note):
        raise NoteRequired(params.basic_single_deduction)


@dataclass(frozen=True)
class CheckedEntry:
    """A new entry that passed every check create_entry makes: what it would record."""

    new: NewEntry
    member: Member
    org: Org
    rules: RuleSet
    item: RuleItem
    quantity: int
    points: int  # signed
    quarter: int
    approved: bool  # at once; else it waits for another committee member

    @property
    def needs_reason(self) -> bool:
        return needs_reason(self.item.kind, self.points, self.rules.params)


def _check_date(member: Member, new: NewEntry, today: date) -> None:
    """Before the year's rules are read: a date in the future has none to read."""
    if new.occurred_on > today:
        raise Invalid(f"occurred_on {new.occurred_on} is in the future.", "future_date")
    if new.occurred_on < member.joined_on:
        raise Invalid(f"occurred_on {new.occurred_on} is before {member.name} joined "
                      f"({member.joined_on}).", "before_joined")
    if left_by(member, new.occurred_on):
        raise MemberLeft(member)


def _check(session: Session, actor: Actor, member: Member, org: Org, new: NewEntry,
           rules: RuleSet) -> CheckedEntry:
    item = rules.item(new.rule_code)
    if item is None:
        raise Invalid(f"Unknown rule code {new.rule_code!r} for {rules.year}; "
                      "see GET /api/v1/rules.", "unknown_rule")
    by_committee = actor.manages(org)
    if not by_committee and item.kind not in SELF_REPORT_KINDS:
        raise Forbidden("Members may self-report only positive and bonus items.",
                        "self_report_kind")
    if not item.applies_to(member.category):
        raise Invalid(f"{item.code} does not apply to members of category {member.category}.",
                      "category_not_applicable")
    quantity, points = signed_points(item, new)
    require_reason(item.kind, points, new.note, rules.params)
    quarter = quarter_of(new.occurred_on)
    refuse_if_locked(session, org, new.occurred_on.year, quarter)
    # A committee member's entry about themself waits for another's approval.
    approved = by_committee and actor.member_id != member.id
    return CheckedEntry(new=new, member=member, org=org, rules=rules, item=item,
                        quantity=quantity, points=points, quarter=quarter, approved=approved)


def check_entry(session: Session, actor: Actor, new: NewEntry, now: datetime,
                today: date) -> CheckedEntry:
    """Every check create_entry makes, reading only (no lock, no rule set stored): the
    record page asks for a confirmation of a veto or a big deduction before recording."""
    member, org = get_member(session, actor, new.member_id)
    _check_date(member, new, today)
    return _check(session, actor, member, org, new,
                  load_rule_set(session, new.occurred_on.year, now))


def score_change(session: Session, checked: CheckedEntry) -> tuple[int, int]:
    """The member's current score of the entry's year (as their score page shows it), and
    what it would be with the entry approved: scored by the engine, nothing written."""
    rules, member_id = checked.rules, checked.member.id or 0
    magnitude = abs(checked.points)
    extra = ItemTotal(checked.item.code, checked.quarter, magnitude, 1, magnitude)
    before, after = member_year_scores(session, rules, member_id, extra)
    return before.annual, after.annual


def create_entry(session: Session, actor: Actor, new: NewEntry, now: datetime,
                 today: date, photo: Upload | None = None) -> Entry:
    """A new entry; its evidence is `photo`, stored now, or `new.evidence`, a photo already
    stored for the member (app/services/uploads.py)."""
    member, org = get_member(session, actor, new.member_id)
    lock_branch(session, org.id or 0)
    return _create(session, actor, member, org, new, now, today, photo)


def _create(session: Session, actor: Actor, member: Member, org: Org, new: NewEntry,
            now: datetime, today: date, photo: Upload | None,
            resubmits: Entry | None = None) -> Entry:
    """create_entry once the branch is locked (resubmit_entry's too)."""
    _check_date(member, new, today)
    checked = _check(session, actor, member, org, new,
                     ensure_rule_set(session, new.occurred_on.year, now))
    evidence = uploads.own_photo(session, member, new.evidence)
    if photo is not None:
        # Decoded only now that the entry passed every check (issue 14).
        evidence = uploads.store_photo(session, actor, member, photo, today, now)
    approved = checked.approved
    entry = Entry(
        member_id=new.member_id,
        org_id=member.org_id,
        rule_code=checked.item.code,
        kind=checked.item.kind.value,
        occurred_on=new.occurred_on,
        year=new.occurred_on.year,
        quarter=checked.quarter,
        quantity=checked.quantity,
        points=checked.points,
        status=EntryStatus.approved if approved else EntryStatus.pending,
        note=new.note,
        evidence=evidence,
        created_by=actor.account_id,
        created_at=now,
        decided_by=actor.account_id if approved else None,
        decided_at=now if approved else None,
        resubmits_id=resubmits.id if resubmits else None,
    )
    session.add(entry)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="entry.create", object_type="entry",
                 object_id=entry.id, at=now, after=audit.snapshot(entry))
    return entry


@dataclass(frozen=True)
class Resubmission:
    """What a member changes in a rejected entry before sending it again; None keeps the
    rejected one's. Its photo is kept unless `evidence` names another or `keep_photo` is
    False (a new photo uploaded replaces it)."""

    rule_code: str | None = None
    occurred_on: date | None = None
    quantity: int | None = None
    points: int | None = None
    note: str | None = None
    evidence: str | None = None
    keep_photo: bool = True


def resubmitted_as(session: Session, entry_ids: Collection[int]) -> dict[int, Entry]:
    """Of these entries, those resubmitted: the entry that corrects each (issue 17)."""
    if not entry_ids:
        return {}
    return {e.resubmits_id or 0: e for e in session.exec(
        select(Entry).where(col(Entry.resubmits_id).in_(set(entry_ids))))}


def resubmitted_entries(session: Session, entries: Iterable[Entry]) -> dict[int, Entry]:
    """The rejected entries these entries resubmit, by id (with their reasons)."""
    ids = {e.resubmits_id for e in entries if e.resubmits_id is not None}
    if not ids:
        return {}
    return {e.id or 0: e for e in session.exec(select(Entry).where(col(Entry.id).in_(ids)))}


def _resubmitted(session: Session, rejected: Entry, change: Resubmission,
                 now: datetime) -> NewEntry:
    """The new entry: the rejected one's values where the member changed nothing. Its
    quantity or points stay only with its item (they mean nothing for another)."""
    quantity = points = None
    if change.rule_code in (None, rejected.rule_code):
        item = load_rule_set(session, rejected.year, now).item(rejected.rule_code)
        if item is not None and item.kind is not Kind.veto:
            if item.chosen_points:
                points = abs(rejected.points)
            else:
                quantity = rejected.quantity
    # Kept only if it is the member's stored photo, the one their pages show.
    kept = rejected.evidence if change.keep_photo and uploads.is_members_photo(
        session, rejected.member_id, rejected.evidence) else None
    return NewEntry(
        member_id=rejected.member_id,
        rule_code=change.rule_code or rejected.rule_code,
        occurred_on=change.occurred_on or rejected.occurred_on,
        quantity=change.quantity if change.quantity is not None else quantity,
        points=change.points if change.points is not None else points,
        note=rejected.note if change.note is None else change.note,
        evidence=change.evidence or kept)


def resubmit_entry(session: Session, actor: Actor, entry_id: int, change: Resubmission,
                   now: datetime, today: date, photo: Upload | None = None) -> Entry:
    """A rejected entry, corrected and sent again by its member (issue 17): a new entry,
    checked as any of theirs is, that names the rejected one; that one stays as it was,
    with its reason. Once per rejected entry.

    Only the member: a self-report is their own claim. The committee, which rejected it,
    records a correct entry for them instead (approved at once, POST /entries)."""
    rejected, member, org = _resubmittable(session, actor, entry_id, lock=True)
    return _create(session, actor, member, org, _resubmitted(session, rejected, change, now),
                   now, today, photo, resubmits=rejected)


def resubmittable(session: Session, actor: Actor, entry_id: int) -> Entry:
    """The rejected entry the actor may correct and send again (the form shows it filled
    in), or the refusal resubmit_entry would give now."""
    return _resubmittable(session, actor, entry_id, lock=False)[0]


def _resubmittable(session: Session, actor: Actor, entry_id: int,
                   lock: bool) -> tuple[Entry, Member, Org]:
    rejected, member, org = get_entry(session, actor, entry_id)
    if member.id != actor.member_id:
        raise Forbidden(f"Entry {entry_id} is about {member.name}: only they may resubmit "
                        "it. A committee member records a correct entry for them instead.",
                        "not_own_entry")
    if lock:
        lock_branch(session, org.id or 0, rejected)
    if rejected.status != EntryStatus.rejected:
        raise WorkflowConflict(f"Entry {entry_id} is {rejected.status}: only a rejected "
                               "entry is resubmitted.", "not_rejected")
    again = resubmitted_as(session, [entry_id]).get(entry_id)
    if again is not None:
        raise WorkflowConflict(f"Entry {entry_id} was resubmitted already, as entry "
                               f"{again.id}.", "already_resubmitted")
    # Its quarter confirmed, the claim is closed: a new date would only move it out of
    # the quarter the committee confirmed (the committee can still record a correction).
    refuse_if_locked(session, org, rejected.occurred_on.year,
                     quarter_of(rejected.occurred_on))
    return rejected, member, org


def entry_photo(session: Session, actor: Actor, entry_id: int) -> str:
    """The path of an entry's photo, if the caller may see the entry and the photo was
    stored for the entry's member; NotFound otherwise."""
    entry, _member, _org = get_entry(session, actor, entry_id)
    if entry.evidence is None or not uploads.is_members_photo(session, entry.member_id,
                                                               entry.evidence):
        raise NotFound(f"Entry {entry_id} has no photo.", "no_photo")
    return entry.evidence


def get_entry(session: Session, actor: Actor, entry_id: int) -> tuple[Entry, Member, Org]:
    entry = session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(f"Entry {entry_id} does not exist or is outside your scope.")
    try:
        member, org = get_member(session, actor, entry.member_id)
    except NotFound:
        raise NotFound(f"Entry {entry_id} does not exist or is outside your scope.") from None
    return entry, member, org


def _decide(session: Session, actor: Actor, entry_id: int, *, to: EntryStatus,
            from_: EntryStatus,
            reason: str | None, now: datetime) -> Entry:
    entry, member, org = get_entry(session, actor, entry_id)
    require_manages(actor, org)
    lock_branch(session, org.id or 0, entry)
    if member.id == actor.member_id:
        raise Forbidden("You cannot decide on an entry about yourself; another committee "
                        "member must.", "own_entry")
    if to != EntryStatus.approved and says_nothing(reason):
        raise Invalid("A reason is required.", "reason_required")
    if entry.status != from_:
        raise WorkflowConflict(f"Entry {entry_id} is {entry.status}, not {from_}.",
                               f"not_{from_}")
    refuse_if_locked(session, org, entry.year, entry.quarter)
    if to == EntryStatus.approved and (entry.kind == Kind.veto or entry.points < 0):
        # A committee member's own entry, recorded before notes were required (issue 17):
        # it is rejected, and recorded again with a note.
        require_reason(Kind(entry.kind), entry.points, entry.note,
                       load_rule_set(session, entry.year, now).params)
    before = audit.snapshot(entry)
    values: dict[str, object] = {"status": to}
    if to == EntryStatus.revoked:
        values |= {"revoked_by": actor.account_id, "revoked_at": now, "reason": reason}
    else:
        values |= {"decided_by": actor.account_id, "decided_at": now, "reason": reason}
    # Conditional update: of two committee members deciding at once, exactly one wins.
    result = session.execute(
        # year too: with entry partitioned by year (docs/scaling.md) it touches one partition
        sa.update(Entry).where(col(Entry.id) == entry_id, col(Entry.year) == entry.year,
                               col(Entry.status) == from_)
        .values(**values).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise WorkflowConflict(f"Entry {entry_id} was decided by someone else just now.",
                               f"not_{from_}")
    session.refresh(entry)
    stamps.changed(session, entry)  # the branch's review sheets count it
    audit.record(session, actor_id=actor.account_id, action=f"entry.{to}", object_type="entry",
                 object_id=entry.id, at=now, before=before, after=audit.snapshot(entry))
    return entry


def approve_entry(session: Session, actor: Actor, entry_id: int, now: datetime) -> Entry:
    return _decide(session, actor, entry_id, to=EntryStatus.approved,
                   from_=EntryStatus.pending, reason=None, now=now)


def reject_entry(session: Session, actor: Actor, entry_id: int, reason: str,
                 now: datetime) -> Entry:
    return _decide(session, actor, entry_id, to=EntryStatus.rejected,
                   from_=EntryStatus.pending,
                   reason=reason.strip(), now=now)


def revoke_entry(session: Session, actor: Actor, entry_id: int, reason: str,
                 now: datetime) -> Entry:
    return _decide(session, actor, entry_id, to=EntryStatus.revoked,
                   from_=EntryStatus.approved,
                   reason=reason.strip(), now=now)


@dataclass(frozen=True)
class EntryFilter:
    member_id: int | None = None
    org_id: int | None = None
    status: str | None = None
    year: int | None = None
    quarter: int | None = None


FEED = Feed("entries", col(Entry.updated_at), col(Entry.id))


def list_entries(session: Session, actor: Actor, f: EntryFilter, limit: int,
                 offset: int, sync: SyncRead | None = None) -> Listing[Entry]:
    """Entries the actor may see, newest first, or by (updated_at, id) for a sync read; an
    organisation outside the actor's view is 404, as its export is."""
    # By the entry's own org_id (its member's branch, which never changes: `jifen check`
    # verifies it), not through member and org: a committee's read goes branch by branch.
    query = select(Entry).where(own_or_managed(actor, col(Entry.member_id), col(Entry.org_id)))
    if f.member_id is not None:
        get_member(session, actor, f.member_id)  # 404 outside the caller's view, not []
        query = query.where(Entry.member_id == f.member_id)
    if f.org_id is not None:
        org = get_org(session, actor, f.org_id)
        query = query.where(under_org(org, col(Entry.org_id)))
    for column, value in ((Entry.status, f.status), (Entry.year, f.year),
                          (Entry.quarter, f.quarter)):
        if value is not None:
            query = query.where(column == value)
    return page(session, query, col(Entry.occurred_on).desc(), col(Entry.id).desc(),
                limit=limit, offset=offset, sync=sync, feed=FEED)
