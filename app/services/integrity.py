"""`jifen check`: the invariants the data must keep, verified from the database alone.

- audit_chain: every audit row's hash recomputes from its content and the previous row's
  hash, and every prev_hash is the hash of the row before it, so a row edited, inserted
  or deleted behind the app's back shows, with the first bad row named. (Someone who
  rewrites the whole tail with recomputed hashes is caught only by comparing the head
  hash, printed by the check, with one noted down earlier.)
- audit_missing: every entry, review, objection, rating, member, organisation and
  committee grant has the audit row of its creation, and every decision on it (an entry
  approved later, rejected or revoked; a review published or finalized; an objection
  resolved; a rating approved or a grade changed; a rating's ballot opened or closed, the
  rating published, reopened, submitted or returned; a self-assessment written) has its
  row: a log cut short at its end, or a status changed directly in the database, shows
  here.
- finalized_totals: every finalized review's score rows still give the ytd and delta
  stored at finalisation when recomputed now (the quarter did not move since).
- late_change: nothing dated in a finalized quarter of a member's branch was created,
  decided or revoked after the finalisation, no objection to it was raised or answered
  after it, and no grade of an approved rating was changed after the approval.
- entry: year and quarter match occurred_on, the kind is the rule item's kind of that
  year, points have the kind's sign, the status is one of the four and its fields agree,
  its branch is its member's (the annual rating reads entries by branch), and its
  evidence, if any, is a photo stored for its member; an entry resubmitting another names
  a rejected entry of its member, and no entry is resubmitted twice.
- rating: every approved rating's items match score, stars, vetoed, deductions and the
  proposed grade recomputed from the finalized data, and its grades obey the rules.
- ballot and rating_steps (app/services/integrity_ratings.py): each rating's ballot adds up
  (tallies, voters, ballots cast, the audit rows of each ballot), and every rating past
  its draft went through a closed ballot when its year's rules require one.
- text: no stored text holds a character app/services/text.py refuses (stored before the
  rule, or written behind the app's back): each is named by table, row and column, so it
  can be corrected. Exports leave such characters out meanwhile.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.sqltypes import AutoString

from app.models import (
    AuditLog,
    Entry,
    EntryStatus,
    EvidencePhoto,
    Member,
    Objection,
    ObjectionStatus,
    Org,
    Rating,
    RatingItem,
    RatingStatus,
    Review,
    ReviewScore,
    ReviewStatus,
    RoleGrant,
    RuleItemRow,
    RuleSetRow,
    Standing,
)
from app.points import (
    NOT_GRADED,
    Candidate,
    Grade,
    Kind,
    RuleSet,
    excellent_limit,
    propose_grades,
    quarter_of,
)
from app.points import stars as stars_for
from app.services import audit
from app.services.integrity_cases import check_cases
from app.services.integrity_ratings import STEP_AUDITS, check_ballots, check_rating_steps
from app.services.rules import load_rule_set
from app.services.scoring import recorded_review_scores, year_scores
from app.services.text import ONE_LINE, UNCHECKED_TABLES, bad_character

CHECKS = ("audit_chain", "audit_missing", "finalized_totals", "late_change", "entry", "rating",
          "ballot", "rating_steps", "cases", "text")

STATUSES = tuple(EntryStatus)
BATCH = 2000


@dataclass(frozen=True)
class Problem:
    check: str
    object_type: str
    object_id: int | None
    message: str


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    audit_head: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, check: str, object_type: str, object_id: int | None, message: str) -> None:
        self.problems.append(Problem(check, object_type, object_id, message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "audit_head": self.audit_head,
            "problems": [{"check": p.check, "object_type": p.object_type,
                          "object_id": p.object_id, "message": p.message}
                         for p in self.problems],
        }


def format_report(report: Report, shown_per_check: int = 20) -> str:
    """The report for a person: what was checked, then the problems grouped by check."""
    checked = ", ".join(f"{n} {what}" for what, n in report.checked.items())
    head = report.audit_head[:16] if report.audit_head else "(empty log)"
    lines = [f"Checked {checked}; audit log head {head}."]
    if report.ok:
        lines.append("All is well: no problems found.")
        return "\n".join(lines)
    lines.append(f"{len(report.problems)} problem(s) found:")
    by_check: dict[str, list[Problem]] = defaultdict(list)
    for problem in report.problems:
        by_check[problem.check].append(problem)
    for check in (*CHECKS, *sorted(set(by_check) - set(CHECKS))):
        found = by_check.get(check, [])
        if not found:
            continue
        lines.append(f"[{check}] {len(found)}")
        lines.extend(f"  - {p.message}" for p in found[:shown_per_check])
        if len(found) > shown_per_check:
            lines.append(f"  ... and {len(found) - shown_per_check} more (--json lists all)")
    return "\n".join(lines)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "?"


class _Names:
    """Names for messages, loaded once."""

    def __init__(self, session: Session) -> None:
        self.members = {i: n for i, n in session.exec(select(Member.id, Member.name)).all()}
        self.orgs = {i: n for i, n in session.exec(select(Org.id, Org.name)).all()}

    def member(self, member_id: int) -> str:
        return f"member {member_id} ({self.members.get(member_id, '?')})"

    def org(self, org_id: int) -> str:
        return self.orgs.get(org_id, f"organisation {org_id}")


# --- (a) the audit log ---------------------------------------------------------------


def _audit_rows(session: Session) -> Iterator[sa.Row[Any]]:
    """Every audit row in id order, a batch at a time (plain tuples, nothing kept)."""
    columns = (col(AuditLog.id), col(AuditLog.at), col(AuditLog.actor_id),
               col(AuditLog.action), col(AuditLog.object_type), col(AuditLog.object_id),
               col(AuditLog.before), col(AuditLog.after), col(AuditLog.prev_hash),
               col(AuditLog.hash))
    after_id = -1
    while True:
        rows = session.execute(sa.select(*columns).where(col(AuditLog.id) > after_id)
                               .order_by(col(AuditLog.id)).limit(BATCH)).all()
        yield from rows
        if len(rows) < BATCH:
            return
        after_id = rows[-1].id


def check_audit_chain(session: Session, report: Report) -> None:
    prev_hash, prev_id, count = "", None, 0
    for row in _audit_rows(session):
        count += 1
        what = f"audit row {row.id} ({row.action} {row.object_type} {row.object_id})"
        if row.prev_hash != prev_hash:
            if prev_id is None:
                link = "it is the first row, yet it points at an earlier one"
            else:
                link = f"it does not point at row {prev_id}, the row before it"
                if row.id == prev_id + 2:
                    link += f" (id {prev_id + 1} is absent)"
                elif row.id > prev_id + 2:
                    link += f" (ids {prev_id + 1} to {row.id - 1} are absent)"
            report.add("audit_chain", "audit_log", row.id,
                       f"{what}: the chain is broken, {link}: a row was deleted, inserted "
                       "or rewritten before it.")
        recomputed = audit.chain_hash(row.prev_hash, row.at, row.actor_id, row.action,
                                      row.object_type, row.object_id, row.before, row.after)
        if recomputed != row.hash:
            report.add("audit_chain", "audit_log", row.id,
                       f"{what}: its content does not match its hash: it was changed after "
                       "it was written.")
        prev_hash, prev_id = row.hash, row.id
    report.checked["audit rows"] = count
    report.audit_head = prev_hash


def _unaudited(session: Session, id_column: Any, object_type: str, action: str,
               *where: Any) -> list[int]:
    """Ids of rows (matching `where`) that have no audit row of `action`."""
    audited = sa.exists().where(col(AuditLog.object_type) == object_type,
                                col(AuditLog.action) == action,
                                col(AuditLog.object_id) == id_column)
    return list(session.execute(sa.select(id_column).where(*where, ~audited)
                                .order_by(id_column)).scalars())


def check_audit_coverage(session: Session, report: Report) -> None:
    created_later = sa.or_(col(Entry.decided_at) != col(Entry.created_at),
                           col(Entry.decided_by) != col(Entry.created_by))
    expected: list[tuple[Any, str, str, str, tuple[Any, ...]]] = [
        (Org.id, "org", "org.create", "", ()),
        (Member.id, "member", "member.create", "", ()),
        (RoleGrant.id, "role_grant", "committee.grant", "", ()),
        (Entry.id, "entry", "entry.create", "", ()),
        (Entry.id, "entry", "entry.approved", "approved after it was recorded",
         (col(Entry.status).in_((EntryStatus.approved, EntryStatus.revoked)),
          col(Entry.decided_at).is_not(None), created_later)),
        (Entry.id, "entry", "entry.rejected", "rejected",
         (col(Entry.status) == EntryStatus.rejected,)),
        (Entry.id, "entry", "entry.revoked", "revoked",
         (col(Entry.status) == EntryStatus.revoked,)),
        (Review.id, "review", "review.create", "", ()),
        (Review.id, "review", "review.publish", "published",
         (col(Review.status).in_((ReviewStatus.published, ReviewStatus.finalized)),)),
        (Review.id, "review", "review.finalize", "finalized",
         (col(Review.status) == ReviewStatus.finalized,)),
        (Objection.id, "objection", "objection.create", "", ()),
        (Objection.id, "objection", "objection.resolve", "resolved",
         (col(Objection.status) == ObjectionStatus.resolved,)),
        (Rating.id, "rating", "rating.create", "", ()),
        (Rating.id, "rating", "rating.approve", "approved",
         (col(Rating.status) == RatingStatus.approved,)),
        (RatingItem.id, "rating_item", "rating.override", "changed by the committee",
         (col(RatingItem.changed_by).is_not(None),)),
        *STEP_AUDITS,
    ]
    for id_column, object_type, action, state, where in expected:
        for object_id in _unaudited(session, col(id_column), object_type, action, *where):
            is_ = f"is {state} but" if state else "exists but"
            report.add("audit_missing", object_type, object_id,
                       f"{object_type} {object_id} {is_} the audit log has no {action} row "
                       "for it: the log was cut short, or the row was written behind the "
                       "app's back.")


# --- (b) finalized quarters still add up -----------------------------------------------


def _rules(session: Session, year: int, now: datetime) -> RuleSet | None:
    """The year's rule set, never seeding one (a check does not write)."""
    if session.get(RuleSetRow, year) is None:
        return None
    return load_rule_set(session, year, now)


def check_finalized_totals(session: Session, report: Report, names: _Names,
                           now: datetime) -> None:
    finalized = session.exec(select(Review).where(Review.status == ReviewStatus.finalized)
                             .order_by(col(Review.org_id), col(Review.year),
                                       col(Review.quarter))).all()
    report.checked["finalized reviews"] = len(finalized)
    groups: dict[tuple[int, int], list[Review]] = defaultdict(list)
    for review in finalized:
        groups[(review.org_id, review.year)].append(review)
    for (org_id, year), group in groups.items():
        rules = _rules(session, year, now)
        if rules is None:
            report.add("finalized_totals", "review", group[0].id,
                       f"{names.org(org_id)} has finalized {year} reviews but there is no "
                       f"{year} rule set.")
            continue
        rows = session.exec(select(ReviewScore).where(
            col(ReviewScore.review_id).in_([r.id for r in group]))).all()
        by_review: dict[int, list[ReviewScore]] = defaultdict(list)
        for row in rows:
            by_review[row.review_id].append(row)
        ids = sorted({row.member_id for row in rows})
        scores = year_scores(session, rules, ids, recorded_review_scores(
            session, ids, year, (ReviewStatus.finalized,)))
        for review in group:
            where = f"{names.org(org_id)} {year} Q{review.quarter} (review {review.id})"
            for row in sorted(by_review.get(review.id or 0, []), key=lambda r: r.member_id):
                now_q = scores[row.member_id].quarter(review.quarter)
                if row.final_ytd is None or row.final_delta is None:
                    report.add("finalized_totals", "review", review.id,
                               f"{where}, {names.member(row.member_id)}: finalized without "
                               "the totals stored at finalisation.")
                elif (row.final_ytd, row.final_delta) != (now_q.ytd, now_q.delta):
                    report.add("finalized_totals", "review", review.id,
                               f"{where}, {names.member(row.member_id)}: finalized with ytd "
                               f"{row.final_ytd} (delta {row.final_delta}), recomputed now "
                               f"ytd {now_q.ytd} (delta {now_q.delta}): the data of a "
                               "finalized quarter changed.")


# --- (c) nothing changed in a finalized quarter after its finalisation ------------------


# A request stamps its changes with the moment it began, then may wait for the branch's lock
# (app/services/locking.py) while a finalisation that began a moment later commits first; so
# stamps alone can invert by the length of a lock wait. The audit log's order is the order
# in which changes took effect, and is checked exactly. A stamp later than the finalisation
# by more than CLOCK_SLACK cannot come from a lock wait: it was edited behind the app's back.
CLOCK_SLACK = timedelta(minutes=2)


def _late_in_audit_order(base: Any, object_type: str, object_id: Any,
                         lock_type: str, lock_action: str, lock_id: Any) -> sa.Select[Any]:
    """``base`` (rows of some object) with the audit rows about each object that were
    written after the ``lock_action`` row of its parent: the object's id, the late row's
    action and id (change_row), and the parent's row id (lock_row)."""
    lock: Any = sa.orm.aliased(AuditLog)
    change: Any = sa.orm.aliased(AuditLog)
    query: sa.Select[Any] = (
        base.add_columns(object_id.label("id"), change.action, change.id.label("change_row"),
                         lock.id.label("lock_row"))
        .join(lock, sa.and_(lock.object_type == lock_type, lock.object_id == lock_id,
                            lock.action == lock_action))
        .join(change, sa.and_(change.object_type == object_type,
                              change.object_id == object_id, change.id > lock.id))
        .order_by(object_id, change.id))
    return query


def check_late_changes(session: Session, report: Report, names: _Names) -> None:
    in_finalized_quarter = sa.and_(col(Review.org_id) == col(Member.org_id),
                                   col(Review.year) == col(Entry.year),
                                   col(Review.quarter) == col(Entry.quarter),
                                   col(Review.status) == ReviewStatus.finalized)
    late: dict[int, list[str]] = defaultdict(list)
    about: dict[int, str] = {}
    ordered = session.execute(_late_in_audit_order(
        sa.select(col(Entry.member_id), col(Entry.year), col(Entry.quarter),
                  col(Review.org_id))
        .join(Member, col(Member.id) == col(Entry.member_id)).join(Review, in_finalized_quarter),
        "entry", col(Entry.id), "review", "review.finalize", col(Review.id))).all()
    for row in ordered:
        about[row.id] = f"{names.member(row.member_id)}, {row.year} Q{row.quarter}"
        late[row.id].append(f"took effect as {row.action} after {names.org(row.org_id)} "
                            f"finalized that quarter (audit row {row.change_row} follows the "
                            f"finalisation's row {row.lock_row})")
    stamped = session.execute(
        sa.select(col(Entry.id), col(Entry.member_id), col(Entry.year), col(Entry.quarter),
                  col(Entry.created_at), col(Entry.decided_at), col(Entry.revoked_at),
                  col(Review.org_id), col(Review.finalized_at))
        .join(Member, col(Member.id) == col(Entry.member_id))
        .join(Review, in_finalized_quarter)
        .where(sa.or_(col(Entry.created_at) > col(Review.finalized_at),
                      col(Entry.decided_at) > col(Review.finalized_at),
                      col(Entry.revoked_at) > col(Review.finalized_at)))
        .order_by(col(Entry.id))
    ).all()
    for row in stamped:
        done = [f"{what} {_iso(moment)}" for what, moment in (
            ("created", row.created_at), ("decided", row.decided_at),
            ("revoked", row.revoked_at))
            if moment is not None and moment > row.finalized_at + CLOCK_SLACK]
        if done:
            about[row.id] = f"{names.member(row.member_id)}, {row.year} Q{row.quarter}"
            late[row.id].append(f"was {' and '.join(done)}, after {names.org(row.org_id)} "
                                f"finalized that quarter at {_iso(row.finalized_at)}")
    for entry_id in sorted(late):
        report.add("late_change", "entry", entry_id,
                   f"entry {entry_id} ({about[entry_id]}) {'; '.join(late[entry_id])}.")

    objections = session.execute(_late_in_audit_order(
        sa.select(col(Objection.review_id)), "objection", col(Objection.id), "review",
        "review.finalize", col(Objection.review_id))).all()
    for row in objections:
        report.add("late_change", "objection", row.id,
                   f"objection {row.id} to review {row.review_id}: {row.action} (audit row "
                   f"{row.change_row}) after the review was finalized (row {row.lock_row}).")
    stamped_objections = session.execute(
        sa.select(col(Objection.id), col(Objection.review_id), col(Objection.created_at),
                  col(Objection.resolved_at), col(Review.finalized_at))
        .join(Review, col(Review.id) == col(Objection.review_id))
        .where(col(Review.status) == ReviewStatus.finalized,
               sa.or_(col(Objection.created_at) > col(Review.finalized_at),
                      col(Objection.resolved_at) > col(Review.finalized_at)))
        .order_by(col(Objection.id))
    ).all()
    for row in stamped_objections:
        if any(m is not None and m > row.finalized_at + CLOCK_SLACK
               for m in (row.created_at, row.resolved_at)):
            report.add("late_change", "objection", row.id,
                       f"objection {row.id} to review {row.review_id} was raised or answered "
                       f"after the review was finalized at {_iso(row.finalized_at)}.")

    grades = session.execute(_late_in_audit_order(
        sa.select(col(RatingItem.rating_id), col(RatingItem.member_id)), "rating_item",
        col(RatingItem.id), "rating", "rating.approve", col(RatingItem.rating_id))).all()
    for row in grades:
        report.add("late_change", "rating", row.rating_id,
                   f"rating {row.rating_id}: the grade of {names.member(row.member_id)} was "
                   f"changed (audit row {row.change_row}) after the rating was approved "
                   f"(row {row.lock_row}).")
    stamped_grades = session.execute(
        sa.select(col(RatingItem.rating_id), col(RatingItem.member_id),
                  col(RatingItem.changed_at), col(Rating.approved_at))
        .join(Rating, col(Rating.id) == col(RatingItem.rating_id))
        .where(col(Rating.status) == RatingStatus.approved,
               col(RatingItem.changed_at) > col(Rating.approved_at))
        .order_by(col(RatingItem.id))
    ).all()
    for row in stamped_grades:
        if row.changed_at > row.approved_at + CLOCK_SLACK:
            report.add("late_change", "rating", row.rating_id,
                       f"rating {row.rating_id}: the grade of {names.member(row.member_id)} "
                       f"was changed at {_iso(row.changed_at)}, after the rating was approved "
                       f"at {_iso(row.approved_at)}.")


# --- (d) each entry is well formed ---------------------------------------------------------


def _sign_ok(kind: str, points: int) -> bool:
    if kind in (Kind.positive, Kind.bonus):
        return points > 0
    if kind in (Kind.negative, Kind.deduction):
        return points < 0
    return points == 0  # a veto


def _status_fields_ok(status: str, decided: bool, revoked: bool, reason: bool) -> bool:
    return {
        "pending": not decided and not revoked,
        "approved": decided and not revoked,
        "rejected": decided and not revoked and reason,
        "revoked": decided and revoked and reason,
    }[status]


def check_entries(session: Session, report: Report) -> None:
    kinds = {(y, c): k for y, c, k in session.exec(
        select(RuleItemRow.year, RuleItemRow.code, RuleItemRow.kind)).all()}
    columns: tuple[Any, ...] = (
        col(Entry.id), col(Entry.rule_code), col(Entry.kind), col(Entry.occurred_on),
        col(Entry.year), col(Entry.quarter), col(Entry.quantity), col(Entry.points),
        col(Entry.status), col(Entry.decided_at), col(Entry.revoked_at), col(Entry.reason),
        col(Entry.org_id), col(Member.org_id).label("member_org"), col(Entry.evidence),
        col(EvidencePhoto.member_id).label("photo_member"), col(Entry.member_id))
    count, after_id = 0, -1
    while True:
        rows = session.execute(sa.select(*columns).join(Member, col(Member.id) == Entry.member_id)
                               .outerjoin(EvidencePhoto,
                                          col(EvidencePhoto.path) == Entry.evidence)
                               .where(col(Entry.id) > after_id)
                               .order_by(col(Entry.id)).limit(BATCH)).all()
        for e in rows:
            count += 1
            wrong: list[str] = []
            day = e.occurred_on
            if (e.year, e.quarter) != (day.year, quarter_of(day)):
                wrong.append(f"it is filed under {e.year} Q{e.quarter} but occurred on {day} "
                             f"({day.year} Q{quarter_of(day)})")
            item_kind = kinds.get((day.year, e.rule_code))
            if item_kind is None:
                wrong.append(f"{day.year} has no rule item {e.rule_code}")
            elif item_kind != e.kind:
                wrong.append(f"its kind is {e.kind} but {e.rule_code} is {item_kind} in "
                             f"{day.year}")
            if e.kind not in tuple(Kind):
                wrong.append(f"its kind {e.kind!r} is unknown")
            elif not _sign_ok(e.kind, e.points):
                wrong.append(f"a {e.kind} entry cannot carry {e.points} points")
            if not 1 <= e.quantity <= 100:
                wrong.append(f"quantity {e.quantity} is not from 1 to 100")
            if e.status not in STATUSES:
                wrong.append(f"status {e.status!r} is not one of {', '.join(STATUSES)}")
            elif not _status_fields_ok(e.status, e.decided_at is not None,
                                       e.revoked_at is not None, bool(e.reason)):
                wrong.append(f"it is {e.status} but its decision fields say otherwise")
            if e.org_id != e.member_org:
                wrong.append(f"it is filed under organisation {e.org_id} but its member is in "
                             f"{e.member_org}")
            if e.evidence and e.photo_member != e.member_id:
                # Named before uploads were recorded per member (issue 14): served to nobody.
                wrong.append("its evidence is not a photo stored for its member")
            if wrong:
                report.add("entry", "entry", e.id, f"entry {e.id}: {'; '.join(wrong)}.")
        if len(rows) < BATCH:
            break
        after_id = rows[-1].id
    report.checked["entries"] = count
    check_resubmits(session, report)


def check_resubmits(session: Session, report: Report) -> None:
    """Each resubmission names a rejected entry of its own member, resubmitted once (a soft
    reference, no foreign key: migration 0015)."""
    rejected = sa.orm.aliased(Entry)
    for e in session.execute(
            sa.select(col(Entry.id), col(Entry.resubmits_id), col(Entry.member_id),
                      col(rejected.member_id).label("named_member"),
                      col(rejected.status).label("named_status"))
            .outerjoin(rejected, col(rejected.id) == col(Entry.resubmits_id))
            .where(col(Entry.resubmits_id).is_not(None))).all():
        if e.named_member is None:
            problem = "names no entry"
        elif e.named_member != e.member_id or e.named_status != EntryStatus.rejected:
            problem = f"is {e.named_status}, or of another member, not a rejected entry of " \
                      "its member"
        else:
            continue
        report.add("entry", "entry", e.id, f"entry {e.id} resubmits entry {e.resubmits_id}, "
                   f"which {problem}.")
    for named, ids in session.execute(
            sa.select(col(Entry.resubmits_id), sa.func.count())
            .where(col(Entry.resubmits_id).is_not(None))
            .group_by(col(Entry.resubmits_id)).having(sa.func.count() > 1)).all():
        report.add("entry", "entry", named, f"entry {named} is resubmitted by {ids} entries, "
                   "not once.")


# --- (e) approved ratings match the finalized data -------------------------------------------


def check_ratings(session: Session, report: Report, names: _Names, now: datetime) -> None:
    approved = session.exec(select(Rating).where(Rating.status == RatingStatus.approved)
                            .order_by(col(Rating.id))).all()
    report.checked["approved ratings"] = len(approved)
    for rating in approved:
        where = f"rating {rating.id} ({names.org(rating.org_id)} {rating.year})"
        rules = _rules(session, rating.year, now)
        if rules is None:
            report.add("rating", "rating", rating.id,
                       f"{where}: there is no {rating.year} rule set.")
            continue
        quarters = set(session.exec(select(Review.quarter).where(
            Review.org_id == rating.org_id, Review.year == rating.year,
            Review.status == ReviewStatus.finalized)).all())
        if quarters != {1, 2, 3, 4}:
            report.add("rating", "rating", rating.id,
                       f"{where}: approved, but not all four quarters are finalized.")
        items = session.exec(select(RatingItem).where(RatingItem.rating_id == rating.id)
                             .order_by(col(RatingItem.member_id))).all()
        ids = [i.member_id for i in items]
        scores = year_scores(session, rules, ids, recorded_review_scores(
            session, ids, rating.year, (ReviewStatus.finalized,)))
        candidates = [Candidate(member_id=i.member_id, score=scores[i.member_id].annual,
                                vetoed=scores[i.member_id].vetoed, exempt=i.exempt,
                                deducted=scores[i.member_id].deducted,
                                largest_deduction=scores[i.member_id].largest_deduction,
                                probationary=i.standing == Standing.probationary)
                      for i in items]
        proposed = propose_grades(candidates, rules.params)
        for item, c in zip(items, candidates, strict=True):
            stored = (item.score, item.stars, item.vetoed, item.deducted,
                      item.largest_deduction, item.proposed_grade)
            now_values = (c.score, stars_for(c.score, c.vetoed, rules.params), c.vetoed,
                          c.deducted, c.largest_deduction, proposed[c.member_id].value)
            labels = ("score", "stars", "vetoed", "deducted", "largest deduction",
                      "proposed grade")
            differ = [f"{label} {a} (now {b})" for label, a, b in
                      zip(labels, stored, now_values, strict=True) if a != b]
            if differ:
                report.add("rating", "rating", rating.id,
                           f"{where}, {names.member(item.member_id)}: stored "
                           f"{', '.join(differ)}: the finalized data changed after the "
                           "rating.")
            if item.vetoed and item.grade != Grade.unqualified and \
                    proposed[c.member_id] not in NOT_GRADED:
                report.add("rating", "rating", rating.id,
                           f"{where}, {names.member(item.member_id)}: vetoed but graded "
                           f"{item.grade}.")
            if item.exempt != (item.grade == Grade.exempt):
                report.add("rating", "rating", rating.id,
                           f"{where}, {names.member(item.member_id)}: exempt is {item.exempt} "
                           f"but the grade is {item.grade}.")
        rated = sum(1 for c in candidates if c.not_graded is None)
        limit = excellent_limit(rated, rules.params)
        excellent = sum(1 for i in items if i.grade == Grade.excellent)
        if excellent > limit:
            report.add("rating", "rating", rating.id,
                       f"{where}: {excellent} members are excellent, at most {limit} of "
                       f"{rated} may be.")


def check_text(session: Session, report: Report) -> None:
    """Every text column of every table, a batch at a time."""
    count = 0
    for table in SQLModel.metadata.sorted_tables:
        # Long texts (self-assessments) are TEXT, the rest VARCHAR (AutoString).
        columns = [c for c in table.columns if isinstance(c.type, AutoString | sa.Text)]
        if table.name in UNCHECKED_TABLES or not columns:
            continue
        key = next(iter(table.primary_key.columns))
        rows = session.execute(sa.select(key, *columns).order_by(key)
                               .execution_options(yield_per=BATCH))
        for row in rows:
            for column, value in zip(columns, row[1:], strict=True):
                count += value is not None
                found = value and bad_character(value, (table.name, column.name) in ONE_LINE)
                if found:
                    report.add("text", table.name, row[0],
                               f"{table.name} {row[0]}, {column.name}: {found}")
    report.checked["text values"] = count


def run_checks(session: Session, now: datetime) -> Report:
    """Every check, in the session's transaction; writes nothing."""
    report = Report()
    names = _Names(session)
    check_audit_chain(session, report)
    check_audit_coverage(session, report)
    check_finalized_totals(session, report, names, now)
    check_late_changes(session, report, names)
    check_entries(session, report)
    check_ratings(session, report, names, now)
    report.checked["ballots"] = check_ballots(session, report.add, names.org)
    report.checked["ratings past draft"] = check_rating_steps(session, report.add, names.org)
    report.checked["disposal cases"] = check_cases(session, report.add, names.member)
    check_text(session, report)
    return report


def check_database(engine: sa.Engine, now: datetime) -> Report:
    """run_checks on one consistent snapshot of the database, then rolled back."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(engine) as session:
        try:
            return run_checks(session, now)
        finally:
            session.rollback()
