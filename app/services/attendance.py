"""The attendance register (签到簿, issue 17): one rule item on one day for a branch's members
at once, instead of one record form per member.

The committee marks each member of the branch present (到会), excused (请假) or neither. One
register records, through `entries.create_entry` (the same checks, locks, audit rows and
notices as a single entry):

- for each member present, one entry of the item (approved; pending when it is about the
  recorder themself, docs/scoring.md Workflow 1);
- with `record_absences`, for each member neither present nor excused, one N01 entry
  (无故缺席组织生活, docs/scoring.md Rule items), quantity 1;
- for an excused member, nothing: no rule item is worth zero points (an entry's quantity is at
  least 1, docs/scoring.md), so 请假 is no entry. Who was excused is kept in the register's
  audit row (`attendance.record`) and its receipt, not in the member's record.

All or nothing: every row is checked before anything is written. A problem of the register
itself (a day in the future, a finalized quarter, a note a veto needs, an unknown item) is
the error a single entry would get; problems of some members (left by that day, not yet
joined, a category the item does not apply to, not of this branch) are listed together in
RegisterRefused, and nothing is recorded.

The same register confirmed again by the same account (a double click, a resubmitted form, a
client's retry) records nothing: the first one answers it (app/services/import_receipts.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.models import Entry, EntryStatus, ImportKind, ImportReceipt, Member, Org
from app.points import (
    ADDING_KINDS,
    ItemTotal,
    Kind,
    RuleItem,
    RuleSet,
    needs_reason,
    score_year,
)
from app.services import audit, import_receipts
from app.services.access import Actor, get_managed_org
from app.services.entries import (
    CheckedEntry,
    NewEntry,
    check_entry,
    create_entry,
    left_by,
    signed_points,
)
from app.services.entry_rows import chunks
from app.services.errors import DomainError, Invalid
from app.services.import_receipts import Earlier
from app.services.locking import lock_branch
from app.services.rules import load_rule_set
from app.services.scoring import item_totals

# 无故缺席组织生活: what an unexcused absence is recorded as (docs/scoring.md, Rule items).
ABSENCE_CODE = "N01"
# The most members one register may mark (a branch is far smaller).
MAX_MARKED = 1000

Mark = Literal["present", "excused", "absent"]
LIVE = (EntryStatus.pending, EntryStatus.approved)

# The refusals of one member's row; any other refusal is the register's own (the same for
# every row: the day, the item, the amount, the note, the quarter) and answers as it would
# for a single entry.
MEMBER_CODES = frozenset({"member_left", "before_joined", "category_not_applicable",
                          "not_in_branch", "listed_twice", "present_and_excused"})


@dataclass(frozen=True)
class Register:
    """What the committee marked: the item and day, and who was present or excused."""

    org_id: int
    rule_code: str
    occurred_on: date
    present: Sequence[int] = ()
    excused: Sequence[int] = ()
    record_absences: bool = False
    quantity: int | None = None
    points: int | None = None
    note: str = ""

    def entry(self, member_id: int) -> NewEntry:
        return NewEntry(member_id=member_id, rule_code=self.rule_code,
                        occurred_on=self.occurred_on, quantity=self.quantity,
                        points=self.points, note=self.note.strip())

    def absence(self, member_id: int) -> NewEntry:
        return NewEntry(member_id=member_id, rule_code=ABSENCE_CODE,
                        occurred_on=self.occurred_on, quantity=1, note=self.note.strip())

    def digest(self) -> str:
        """What identifies the register: the same marks give the same digest, whether they
        come from the API or from the confirmation page."""
        text = json.dumps({
            "org": self.org_id, "rule_code": self.rule_code,
            "occurred_on": self.occurred_on.isoformat(),
            "present": sorted(set(self.present)), "excused": sorted(set(self.excused)),
            "absences": self.record_absences, "quantity": self.quantity,
            "points": self.points, "note": self.note.strip()},
            ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class MemberProblem:
    """Why one member's row cannot be recorded. `name` is None for an id that is not a
    member of the branch (another branch's names are not told)."""

    member_id: int
    name: str | None
    mark: Mark
    error: DomainError

    @property
    def code(self) -> str:
        return self.error.code


class RegisterRefused(Invalid):
    """Some members' rows cannot be recorded; nothing was. `problems` lists every one."""

    default_code = "register_invalid"

    def __init__(self, problems: Sequence[MemberProblem]) -> None:
        ids = ", ".join(str(p.member_id) for p in problems[:20])
        super().__init__(f"{len(problems)} row(s) of the register cannot be recorded "
                         f"(member {ids}{' …' if len(problems) > 20 else ''}); nothing was "
                         "recorded. Fix or unmark them and send the register again.")
        self.problems = list(problems)


@dataclass(frozen=True)
class Roster:
    """The branch's members a register of this item on this day lists: members on that day
    (joined by then, not left by then: whoever the record form would accept) to whom the
    item applies, in the branch's order. `already`: how many pending or approved entries of
    the item each already has on that day."""

    org: Org
    item: RuleItem
    rules: RuleSet
    occurred_on: date
    members: list[Member]
    not_applicable: int
    already: dict[int, int]

    @property
    def absence_item(self) -> RuleItem | None:
        return self.rules.item(ABSENCE_CODE)

    @property
    def absences_possible(self) -> bool:
        """Absences are recorded only from a register of a positive item (a meeting, a
        study): the absence of a deduction or a bonus means nothing."""
        return self.item.kind is Kind.positive and self.absence_item is not None


@dataclass(frozen=True)
class Plan:
    """A register checked row by row (nothing written): what it would record."""

    roster: Roster
    present: list[CheckedEntry]
    absent: list[CheckedEntry]
    excused: list[Member]
    unmarked: list[Member]  # neither present nor excused, and no absence recorded
    # What each present row adds to its member's count of the item, after the item's
    # annual cap (docs/scoring.md, The score): less than its points once the cap is reached.
    gains: dict[int, int] = field(default_factory=dict)

    @property
    def capped(self) -> list[CheckedEntry]:
        return [c for c in self.present if self.gains.get(c.member.id or 0, abs(c.points))
                < abs(c.points)]

    @property
    def waiting(self) -> list[CheckedEntry]:
        """Rows about the recorder themself: they start pending."""
        return [c for c in (*self.present, *self.absent) if not c.approved]


@dataclass(frozen=True)
class Recorded:
    """A register recorded: the entries it created. `again`: this was the same register
    confirmed again, answered by the first (nothing created now)."""

    org: Org
    entries: list[Entry]
    excused: list[int]
    capped: list[int]
    recorded_at: datetime
    again: bool = False


def roster(session: Session, actor: Actor, org_id: int, rule_code: str, occurred_on: date,
           now: datetime) -> Roster:
    """The members a register lists; NotFound or Forbidden as for the branch's committee."""
    org = get_managed_org(session, actor, org_id)
    rules = load_rule_set(session, occurred_on.year, now)
    item = rules.item(rule_code)
    if item is None:
        raise Invalid(f"Unknown rule code {rule_code!r} for {rules.year}; "
                      "see GET /api/v1/rules.", "unknown_rule")
    on_the_day = [m for m in session.exec(select(Member).where(Member.org_id == org.id)
                                          .order_by(col(Member.id))).all()
                  if m.joined_on <= occurred_on and not left_by(m, occurred_on)]
    members = [m for m in on_the_day if item.applies_to(m.category)]
    return Roster(org=org, item=item, rules=rules, occurred_on=occurred_on, members=members,
                  not_applicable=len(on_the_day) - len(members),
                  already=_already(session, [m.id or 0 for m in members], item.code,
                                   occurred_on))


def _already(session: Session, member_ids: list[int], code: str, day: date) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in chunks(member_ids):
        for member_id, count in session.execute(
                sa.select(col(Entry.member_id), func.count(col(Entry.id)))
                .where(col(Entry.member_id).in_(chunk), col(Entry.year) == day.year,
                       col(Entry.occurred_on) == day, col(Entry.rule_code) == code,
                       col(Entry.status).in_(LIVE))
                .group_by(col(Entry.member_id))).all():
            found[member_id] = int(count)
    return found


def day_entries(session: Session, roster: Roster) -> list[tuple[Entry, Member]]:
    """The branch's pending and approved entries of the register's item, and of absences,
    on its day: what has been recorded for that meeting so far."""
    codes = [roster.item.code, *([ABSENCE_CODE] if roster.absences_possible else [])]
    day = roster.occurred_on
    rows = session.exec(
        select(Entry, Member).join(Member, col(Member.id) == Entry.member_id)
        .where(col(Entry.org_id) == roster.org.id, col(Entry.year) == day.year,
               col(Entry.occurred_on) == day, col(Entry.rule_code).in_(codes),
               col(Entry.status).in_(LIVE))
        .order_by(col(Entry.rule_code) != roster.item.code, col(Member.id), col(Entry.id))
    ).all()
    return [(e, m) for e, m in rows]


def _problem(member_id: int, member: Member | None, mark: Mark, code: str,
             detail: str) -> MemberProblem:
    return MemberProblem(member_id, member.name if member else None, mark,
                         Invalid(detail, code))


def _marked(session: Session, org: Org, register: Register
            ) -> tuple[list[Member], list[Member], list[MemberProblem]]:
    """The members marked present and excused, and the problems of the marks themselves."""
    ids = [*register.present, *register.excused]
    if len(ids) > MAX_MARKED:
        raise Invalid(f"A register marks at most {MAX_MARKED} members.", "too_many_members")
    found = {m.id: m for chunk in chunks(set(ids))
             for m in session.exec(select(Member).where(col(Member.id).in_(chunk))).all()}
    problems: list[MemberProblem] = []
    lists: dict[Mark, list[Member]] = {"present": [], "excused": []}
    seen: set[int] = set()
    present = set(register.present)
    marks: tuple[tuple[Mark, Sequence[int]], ...] = (("present", register.present),
                                                     ("excused", register.excused))
    for mark, marked in marks:
        for member_id in marked:
            member = found.get(member_id)
            if member is None or member.org_id != org.id:
                problems.append(_problem(member_id, None, mark, "not_in_branch",
                                         f"Member {member_id} is not a member of {org.name}."))
            elif mark == "excused" and member_id in present:
                problems.append(_problem(member_id, member, mark, "present_and_excused",
                                         f"{member.name} is marked both present and excused."))
            elif member_id in seen:
                problems.append(_problem(member_id, member, mark, "listed_twice",
                                         f"{member.name} is listed twice."))
            else:
                lists[mark].append(member)
            seen.add(member_id)
    return lists["present"], lists["excused"], problems


def plan_register(session: Session, actor: Actor, register: Register, now: datetime,
                  today: date) -> Plan:
    """Check every row as create_entry would (reads only): what the register would record,
    or RegisterRefused listing every member's problem, or the register's own refusal."""
    listed = roster(session, actor, register.org_id, register.rule_code, register.occurred_on,
                    now)
    if register.record_absences and not listed.absences_possible:
        if listed.absence_item is None:
            raise Invalid(f"The {listed.rules.year} rules have no {ABSENCE_CODE} item to "
                          "record absences with.", "absence_item_missing")
        raise Invalid(f"Absences are recorded only from a register of a positive item, not "
                      f"{listed.item.code}.", "absences_not_for_item")
    _, points = signed_points(listed.item, register.entry(0))
    if needs_reason(listed.item.kind, points, listed.rules.params):
        # Each takes the member's grade down: recorded one at a time, the page showing
        # that member's score before and after (issue 17's guard), never for a list.
        raise Invalid(f"{listed.item.code} with these points is a veto or a deduction of "
                      f"{listed.rules.params.basic_single_deduction} points or more: record "
                      "it for each member with POST /entries.", "one_at_a_time")
    present, excused, problems = _marked(session, listed.org, register)
    marked = {m.id for m in (*present, *excused)}
    others = [m for m in listed.members if m.id not in marked]
    absentees = others if register.record_absences else []
    if not present and not absentees:
        raise Invalid("Nobody is marked present and no absence is to be recorded: there is "
                      "nothing to record.", "nothing_to_record")
    checked: dict[Mark, list[CheckedEntry]] = {"present": [], "absent": []}
    rows: tuple[tuple[Mark, list[Member], Callable[[int], NewEntry]], ...] = (
        ("present", present, register.entry), ("absent", absentees, register.absence))
    for mark, members, new in rows:
        for member in members:
            try:
                checked[mark].append(check_entry(session, actor, new(member.id or 0), now,
                                                 today))
            except DomainError as error:
                if error.code not in MEMBER_CODES:
                    raise  # the register's own: the same for every row
                problems.append(MemberProblem(member.id or 0, member.name, mark, error))
    if problems:
        raise RegisterRefused(problems)
    return Plan(roster=listed, present=checked["present"], absent=checked["absent"],
                excused=excused, unmarked=[] if register.record_absences else others,
                gains=_gains(session, listed.rules, listed.item, checked["present"]))


def _gains(session: Session, rules: RuleSet, item: RuleItem,
           rows: list[CheckedEntry]) -> dict[int, int]:
    """What each row adds to its member's count of an item with an annual cap, scored by
    the engine with and without it (nothing written)."""
    if item.cap is None or item.kind not in ADDING_KINDS or not rows:
        return {}
    totals = item_totals(session, [c.member.id or 0 for c in rows], rules.year)
    gains = {}
    for c in rows:
        mine = [t for t in totals.get(c.member.id or 0, []) if t.code == item.code]
        magnitude = abs(c.points)
        extra = ItemTotal(item.code, c.quarter, magnitude, 1, magnitude)
        gains[c.member.id or 0] = (_counted(rules, [*mine, extra], item.code)
                                   - _counted(rules, mine, item.code))
    return gains


def _counted(rules: RuleSet, totals: Iterable[ItemTotal], code: str) -> int:
    year = score_year(rules, totals, {})
    return next((abs(i.counted) for i in year.items if i.code == code), 0)


def record_register(session: Session, actor: Actor, register: Register, now: datetime,
                    today: date) -> Recorded:
    """Record every row of the register, or nothing (RegisterRefused, or the register's own
    refusal). The same register confirmed again by the same account is answered by the
    first, while anything it recorded stands."""
    org = get_managed_org(session, actor, register.org_id)
    # Any refusal below undoes the receipt, the lock and the rows before it.
    with session.begin_nested():
        claimed = import_receipts.claim(session, actor, ImportKind.attendance,
                                        register.digest(), register.occurred_on.year, now,
                                        _still_stands)
        if isinstance(claimed, Earlier):
            return _answered(session, org, claimed)
        lock_branch(session, org.id or 0)
        # Checked under the lock: a quarter may have been finalized since the confirmation.
        plan = plan_register(session, actor, register, now, today)
        created: list[Entry] = []
        marked: tuple[tuple[Mark, list[CheckedEntry]], ...] = (("present", plan.present),
                                                                ("absent", plan.absent))
        for mark, rows in marked:
            for c in rows:
                try:
                    created.append(create_entry(session, actor, c.new, now, today))
                except DomainError as error:
                    if error.code not in MEMBER_CODES:
                        raise
                    raise RegisterRefused([MemberProblem(c.member.id or 0, c.member.name,
                                                         mark, error)]) from error
        excused = [m.id or 0 for m in plan.excused]
        capped = [c.member.id or 0 for c in plan.capped]
        entry_ids = [e.id or 0 for e in created]
        audit.record(session, actor_id=actor.account_id, action="attendance.record",
                     object_type="org", object_id=org.id, at=now, after={
                         "rule_code": register.rule_code,
                         "occurred_on": register.occurred_on.isoformat(),
                         "present": [c.member.id for c in plan.present],
                         "excused": excused,
                         "absent": [c.member.id for c in plan.absent],
                         "unmarked": [m.id for m in plan.unmarked],
                         "entry_ids": entry_ids, "note": register.note.strip()})
        import_receipts.settle(session, claimed, len(entry_ids), {
            "org_id": org.id, "entry_ids": entry_ids, "excused": excused, "capped": capped})
    return Recorded(org, created, excused, capped, now)


def _answered(session: Session, org: Org, earlier: Earlier) -> Recorded:
    """The first register's answer, its entries as they stand now."""
    stored = earlier.result
    ids = [int(i) for i in stored.get("entry_ids", [])]
    found = {e.id: e for chunk in chunks(ids)
             for e in session.exec(select(Entry).where(col(Entry.id).in_(chunk))).all()}
    return Recorded(org, [found[i] for i in ids if i in found],
                    [int(i) for i in stored.get("excused", [])],
                    [int(i) for i in stored.get("capped", [])],
                    earlier.receipt.imported_at, again=True)


def _still_stands(session: Session, receipt: ImportReceipt) -> bool:
    """Some entry the register created is still pending or approved: recording the same
    register again would repeat it. Once all are revoked or rejected, it may be again."""
    ids = [int(i) for i in json.loads(receipt.result or "{}").get("entry_ids", [])]
    return any(session.exec(select(Entry.id).where(
        col(Entry.id).in_(chunk), col(Entry.status).in_(LIVE)).limit(1)).first()
        for chunk in chunks(ids))
