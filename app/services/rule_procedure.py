"""The procedural parameters of a year's rule set (appraisal.md §6): `ballot_required`,
`rating_notice_days`, `rectify_months` and `min_notice_days` say how the appraisal and the
reviews are run, not how anything is scored, so they stay editable after the year's rules
freeze (docs/scoring.md, Workflow 5)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.models import RuleSetRow
from app.points import RatingParams, RuleSet
from app.services import audit
from app.services.errors import Invalid
from app.services.locking import Precondition
from app.services.rules import (
    bump_revision,
    check_year,
    ensure_rule_set,
    load_rule_set,
    lock_rule_set,
    rating_params_problems,
    read_params,
    write_params,
)

PROCEDURAL = ("ballot_required", "rating_notice_days", "rectify_months", "min_notice_days")
# The code a null value is refused with: each parameter's own, as for a bad value.
_NULL_CODES = {"ballot_required": "not_a_boolean", "rating_notice_days": "notice_out_of_range",
               "rectify_months": "months_out_of_range",
               "min_notice_days": "min_notice_out_of_range"}


def procedural(params: RatingParams) -> dict[str, Any]:
    return {name: getattr(params, name) for name in PROCEDURAL}


def frozen_changes(current: RuleSet, new: RuleSet) -> list[str]:
    """What going from `current` to `new` changes that a frozen year keeps: item codes
    (added, removed or changed), `items` for a new order, `params.<name>` for a number."""
    old = {i.code: i for i in current.items}
    codes = {i.code: i for i in new.items}
    changed = [c for c in codes if old.get(c) != codes[c]] + [c for c in old if c not in codes]
    if not changed and current.items != new.items:
        changed.append("items")
    kept = replace(new.params, **procedural(current.params))
    changed += [f"params.{f.name}" for f in fields(kept)
                if getattr(current.params, f.name) != getattr(kept, f.name)]
    return changed


def set_procedure(session: Session, actor_id: int, year: int, changes: dict[str, Any],
                  now: datetime, precondition: Precondition | None = None) -> RatingParams:
    """Set any of the year's procedural parameters, frozen or not; the year's parameters.
    Unchanged values write nothing."""
    check_year(year)
    if precondition is not None:
        ensure_rule_set(session, year, now)
        lock_rule_set(session, year)
        precondition()
    assert set(changes) <= set(PROCEDURAL), changes
    for name, value in changes.items():
        if value is None:
            raise Invalid(f"{name} cannot be null; leave it out to keep it unchanged.",
                          _NULL_CODES[name])
    current = load_rule_set(session, year, now).params
    candidate = replace(current, **changes)
    for field, problem, text in rating_params_problems(candidate):
        raise Invalid(f"{field}: {text}.", problem)
    if candidate == current:
        return current
    ensure_rule_set(session, year, now)
    # Under the row's lock: another edit of the year may have landed since the read above.
    row = session.get(RuleSetRow, year, with_for_update=True)
    assert row is not None
    before = audit.snapshot(row)
    params = replace(read_params(row), **changes)
    write_params(row, params)
    bump_revision(session, row)
    session.flush()
    audit.record(session, actor_id=actor_id, action="rules.procedure", object_type="rule_set",
                 object_id=year, at=now, before=before, after=audit.snapshot(row))
    return params
