"""updated_at: when what the API answers of a row last changed (docs/api/sync.md).

One listener stamps it, not each service: before every flush, a new or changed row of a
STAMPED table gets the time, and so does the row whose answer lists it (PARENTS: a
review's scores, a rating's lines, a member's exemptions) and the reviews whose lines are
worked out from it (an entry, a member, a quarter's scores: _touch_reviews). ORM UPDATE
statements of a stamped table get the time too (do_orm_execute). Core writes that bypass
both are the services' to stamp (`changed`, `stamp_for`), and there are only a few.

The time is the injectable clock's (app/clock.py), as every other time the services store:
the one a test or the demo stands in, so updated_at is never before created_at, and the
sync read's settle window (app/services/sync.py) measures against the same clock. A
request binds its clock (`use_clock`, from the doors' caller dependencies); elsewhere (the
command line) it is the process's clock.

Rows committed late with an earlier stamp: a sync read serves only rows stamped at least
SETTLE ago. A transaction still open SETTLE / 2 after its first stamp is stamped again,
with the commit's time, just before it commits (`_restamp_late`), so no row becomes
visible with a stamp older than SETTLE / 2 plus its final flush and COMMIT.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.orm.attributes import set_committed_value

from app.clock import Clock, current_clock
from app.models import (
    Account,
    CaseStep,
    DisposalCase,
    Entry,
    Member,
    MemberExemption,
    MemberSuspension,
    Objection,
    Org,
    Rating,
    RatingItem,
    RatingTally,
    RatingVoter,
    Review,
    ReviewScore,
    ReviewStatus,
    RoleGrant,
    RuleItemRow,
    RuleSetRow,
    SelfAssessment,
)

# A sync read serves rows stamped at least this long ago (docs/api/sync.md, Settle window).
SETTLE = timedelta(seconds=60)

# Tables with updated_at, and the columns whose change is no change to the answer.
STAMPED: dict[type[Any], frozenset[str]] = {
    Org: frozenset({"revision"}),  # the branch lock's counter (app/services/locking.py)
    Member: frozenset(), MemberSuspension: frozenset(), MemberExemption: frozenset(),
    Entry: frozenset(), Review: frozenset(), Objection: frozenset(), Rating: frozenset(),
    SelfAssessment: frozenset(), DisposalCase: frozenset(),
    # Moves with every change of the year's rules, and only then (app/services/rules.py).
    RuleSetRow: frozenset({"revision"}),
}


@dataclass(frozen=True)
class Parent:
    """A row listed in (or counted by) the answer of the row its `key` names."""

    model: type[Any]
    key: str
    # Only a change of these columns counts (None: any); a new or deleted row always does.
    shown: frozenset[str] | None = None


PARENTS: dict[type[Any], tuple[Parent, ...]] = {
    ReviewScore: (Parent(Review, "review_id"),),
    Objection: (Parent(Review, "review_id"), Parent(Rating, "rating_id")),
    RatingItem: (Parent(Rating, "rating_id"),),
    # Ballot rows change by Core UPDATEs that always come with one of the rating's own
    # (app/services/appraisal.py): stamped there. New ones come here.
    RatingVoter: (Parent(Rating, "rating_id"),),
    RatingTally: (Parent(Rating, "rating_id"),),
    SelfAssessment: (Parent(Rating, "rating_id"),),
    MemberExemption: (Parent(Member, "member_id"),),
    MemberSuspension: (Parent(Member, "member_id"),),
    Account: (Parent(Member, "member_id", frozenset({"username", "member_id"})),),
    RoleGrant: (Parent(Org, "org_id"),),  # GET /orgs/{id}/committee
    CaseStep: (Parent(DisposalCase, "case_id"),),
    Entry: (Parent(Entry, "resubmits_id"),),  # the rejected entry's resubmitted_by
    # An item is answered with its year's set (GET /rules), and carries the set's time.
    RuleItemRow: (Parent(RuleSetRow, "year"),),
}

_CLOCK = "jifen_stamp_clock"
_REPLAY = "jifen_stamp_replay"
_STAMPS = "jifen_stamps"  # the transaction's stamps, and the tables that took them


def use_clock(session: orm.Session, clock: Clock, *, replay: bool = False) -> None:
    """Stamp this session's rows with `clock` (a request's). `replay`: the clock replays
    past moments (the demo), so a long transaction is no late commit to stamp again."""
    session.info[_CLOCK] = clock
    session.info[_REPLAY] = replay


@dataclass
class _Transaction:
    stamps: set[datetime]
    tables: set[sa.Table]


def _now(session: orm.Session) -> datetime:
    clock: Clock = session.info.get(_CLOCK) or current_clock()
    return clock.now()


def _stamp(session: orm.Session, *tables: sa.Table) -> datetime:
    """This flush's time, noted with the tables it is written to."""
    now = _now(session)
    state: _Transaction = session.info.setdefault(_STAMPS, _Transaction(set(), set()))
    state.stamps.add(now)
    state.tables.update(tables)
    return now


def stamp_for(session: orm.Session, model: type[Any]) -> datetime:
    """The time to write as updated_at in a Core INSERT of `model` rows (bulk_insert)."""
    return _stamp(session, model.__table__)


def _changed(instance: Any, ignored: Iterable[str] = (), only: frozenset[str] | None = None
             ) -> bool:
    """A column other than updated_at (and `ignored`; of `only`, if given) holds a new value.
    Only an attribute set since the last flush has its old value in committed_state, and
    only such a one can have changed (SQLAlchemy's own history reads it from there): the
    others are not looked at (a quarter's close flushes a branch's score rows four times)."""
    state = sa.inspect(instance)
    columns = state.mapper.column_attrs
    return any(key in columns and state.attrs[key].history.has_changes()
               for key in state.committed_state
               if key != "updated_at" and key not in ignored and (only is None or key in only))


def _loaded(instance: Any, key: str) -> Any:
    """An attribute as the session holds it, never loaded for the asking (inside a flush)."""
    return sa.inspect(instance).dict.get(key)


def _held(session: orm.Session, model: type[Any], id_: int) -> Any:
    return session.identity_map.get(sa.inspect(model).identity_key_from_primary_key((id_,)))


def _touch(session: orm.Session, now: datetime, model: type[Any], ids: set[int],
           stamped: set[int]) -> None:
    """updated_at = now on these rows (by primary key), but those stamped in this flush (ids
    of `stamped` objects) or already at now: one UPDATE, and the same on the session's copies."""
    due = set()
    for id_ in ids:
        held = _held(session, model, id_)
        if held is not None and (id(held) in stamped or _loaded(held, "updated_at") == now):
            continue
        due.add(id_)
        if held is not None:
            set_committed_value(held, "updated_at", now)
    if due:
        table = model.__table__
        key = sa.inspect(model).primary_key[0]  # id, or a rule set's year
        session.connection().execute(sa.update(table).where(key.in_(sorted(due)))
                                     .values(updated_at=now))
        _stamp(session, table)


# The reviews whose lines are worked out from what changed, by branch: {year: quarter}
# touches that year's unfinalized reviews from that quarter on (running totals, a draft's
# pending entries); _EVERY_YEAR every review of the branch (a member's name) and
# _UNFINALIZED every unfinalized one (a draft sheet lists the branch's members).
_EVERY_YEAR, _UNFINALIZED = 0, -1
ReviewKeys = dict[int, dict[int, int]]


def _review_keys(session: orm.Session, rows: Iterable[tuple[Any, bool]]) -> ReviewKeys:
    keys: ReviewKeys = defaultdict(dict)
    reviews: dict[int, Review | None] = {}  # a quarter's close flushes a branch's rows at once

    def add(org: int | None, year: int, quarter: int) -> None:
        if org is not None and quarter <= 4:
            keys[org][year] = min(quarter, keys[org].get(year, quarter))

    for instance, whole in rows:
        if isinstance(instance, Entry) and (whole or _changed(instance)):
            add(instance.org_id, instance.year, instance.quarter)
        elif isinstance(instance, Member):
            if not whole and _changed(instance, only=frozenset({"name"})):
                add(instance.org_id, _EVERY_YEAR, 1)
            elif whole or _changed(instance):
                add(instance.org_id, _UNFINALIZED, 1)
        elif isinstance(instance, Review) and instance.id is not None:
            # Its scores count in the later quarters' running totals once published.
            add(instance.org_id, instance.year, instance.quarter + 1)
        elif isinstance(instance, ReviewScore) and (whole or _changed(instance)):
            if instance.review_id not in reviews:
                with session.no_autoflush:
                    reviews[instance.review_id] = session.get(Review, instance.review_id)
            review = reviews[instance.review_id]
            if review is not None:
                add(review.org_id, review.year, review.quarter + 1)
    return keys


_REVIEWS = Review.__table__  # type: ignore[attr-defined]
_UNFINALIZED_REVIEW = _REVIEWS.c.status != ReviewStatus.finalized.value
# The common case, built once: one branch's year from a quarter on (an entry written).
_TOUCH_QUARTERS = (
    sa.update(_REVIEWS).where(_REVIEWS.c.org_id == sa.bindparam("b_org"),
                              _REVIEWS.c.year == sa.bindparam("b_year"),
                              _REVIEWS.c.quarter >= sa.bindparam("b_quarter"),
                              _UNFINALIZED_REVIEW)
    .values(updated_at=sa.bindparam("b_now")).returning(_REVIEWS.c.id))


def _touch_reviews(session: orm.Session, now: datetime, keys: ReviewKeys) -> None:
    if not keys:
        return
    table = _REVIEWS
    only = next(iter(keys.items())) if len(keys) == 1 else None
    if only is not None and len(only[1]) == 1 and min(only[1]) > 0:  # one branch, one year
        [(year, quarter)] = only[1].items()
        touched = session.connection().execute(_TOUCH_QUARTERS, {
            "b_org": only[0], "b_year": year, "b_quarter": quarter, "b_now": now}
        ).scalars().all()
    else:
        matches = []
        for org, years in sorted(keys.items()):
            for year, quarter in sorted(years.items()):
                if year == _EVERY_YEAR:
                    matches.append(table.c.org_id == org)
                elif year == _UNFINALIZED:
                    matches.append(sa.and_(table.c.org_id == org, _UNFINALIZED_REVIEW))
                else:
                    matches.append(sa.and_(table.c.org_id == org, table.c.year == year,
                                           table.c.quarter >= quarter, _UNFINALIZED_REVIEW))
        touched = session.connection().execute(
            sa.update(table).where(sa.or_(*matches)).values(updated_at=now)
            .returning(table.c.id)).scalars().all()
    _stamp(session, table)
    for id_ in touched:
        held = _held(session, Review, id_)
        if held is not None:
            set_committed_value(held, "updated_at", now)


def _dependents(session: orm.Session, now: datetime, rows: list[tuple[Any, bool]],
                stamped: set[int]) -> None:
    """Touch the parents of these rows and the reviews worked out from them: `rows` are
    (instance, whole), whole meaning new or deleted; `stamped` the ids of the objects
    stamped in this flush."""
    parents: dict[type[Any], set[int]] = defaultdict(set)
    for instance, whole in rows:
        for parent in PARENTS.get(type(instance), ()):
            if not whole and not _changed(instance, only=parent.shown):
                continue
            parent_id = getattr(instance, parent.key, None)
            if parent_id is not None:
                parents[parent.model].add(parent_id)
    for model, ids in parents.items():
        _touch(session, now, model, ids, stamped)
    _touch_reviews(session, now, _review_keys(session, rows))


def _stamp_flush(session: orm.Session, _context: Any, _instances: Any) -> None:
    """Before a flush: stamp the new and changed rows, their parents and their reviews."""
    rows: list[tuple[Any, bool]] = []
    stamped: list[Any] = []
    for instances, whole in ((session.new, True), (session.dirty, False),
                             (session.deleted, True)):
        for instance in instances:
            kind = type(instance)
            if kind not in STAMPED and kind not in PARENTS:
                continue
            rows.append((instance, whole))
            if kind in STAMPED and instance not in session.deleted and (
                    whole or _changed(instance, STAMPED[kind])):
                stamped.append(instance)
    if not rows:
        return
    now = _stamp(session, *{type(i).__table__ for i in stamped})
    for instance in stamped:
        instance.updated_at = now
    _dependents(session, now, rows, {id(i) for i in stamped})


def changed(session: orm.Session, *instances: Any) -> None:
    """After a Core UPDATE of these rows (a conditional state change): stamp what depends on
    them as a flush would (the rows themselves took the time in the UPDATE)."""
    _dependents(session, _now(session), [(i, True) for i in instances], set())


def _set_columns(statement: Any) -> set[str] | None:
    values = getattr(statement, "_values", None)
    if not values:
        return None  # given at execution, or as multi-values: count it as a change
    return {getattr(key, "key", key) for key in values}


def _stamp_update(state: orm.ORMExecuteState) -> None:
    """An UPDATE statement of a stamped table, run through the session, sets updated_at."""
    if not state.is_update:
        return
    table = getattr(state.statement, "table", None)
    model = _MODELS.get(getattr(table, "name", ""))
    if model is None:
        return
    columns = _set_columns(state.statement)
    if columns is not None and not columns - STAMPED[model] - {"updated_at"}:
        return
    now = _stamp(state.session, model.__table__)
    state.statement = state.statement.values(updated_at=now)  # type: ignore[attr-defined]


_MODELS = {model.__tablename__: model for model in STAMPED}


def _restamp_late(session: orm.Session) -> None:
    """Before a commit: a transaction whose first stamp is SETTLE / 2 old or more stamps its
    rows again with the time now, so a sync read that already passed the old time still
    finds them (docs/api/sync.md)."""
    state: _Transaction | None = session.info.get(_STAMPS)
    if state is None or not state.stamps or session.info.get(_REPLAY):
        return
    now = _now(session)
    if now - min(state.stamps) < SETTLE / 2:
        return
    old = sorted(state.stamps)
    connection = session.connection()
    for table in sorted(state.tables, key=lambda t: t.name):
        connection.execute(sa.update(table).where(table.c.updated_at.in_(old))
                           .values(updated_at=now))
    for held in list(session.identity_map.values()):
        if type(held) in STAMPED and _loaded(held, "updated_at") in state.stamps:
            set_committed_value(held, "updated_at", now)
    state.stamps = {now}


def _transaction_ended(session: orm.Session, *_: Any) -> None:
    session.info.pop(_STAMPS, None)


sa.event.listen(orm.Session, "before_flush", _stamp_flush)
sa.event.listen(orm.Session, "do_orm_execute", _stamp_update)
sa.event.listen(orm.Session, "before_commit", _restamp_late)
sa.event.listen(orm.Session, "after_commit", _transaction_ended)
sa.event.listen(orm.Session, "after_rollback", _transaction_ended)
