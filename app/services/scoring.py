"""Load what the engine needs with SQL aggregates, then let app/points score it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Entry, Review, ReviewScore
from app.points import ItemTotal, RuleSet, YearScore, score_year

COUNTED_REVIEW_STATES = ("published", "finalized")


def item_totals(
    session: Session, member_ids: Collection[int], year: int
) -> dict[int, list[ItemTotal]]:
    """Approved entries summed per member, item and quarter: the work SQL must do anyway."""
    if not member_ids:
        return {}
    magnitude = sa.func.abs(col(Entry.points))
    rows = session.execute(
        sa.select(
            col(Entry.member_id),
            col(Entry.rule_code),
            col(Entry.quarter),
            sa.func.sum(magnitude),
            sa.func.count(),
            sa.func.max(magnitude),
        )
        .where(
            col(Entry.member_id).in_(member_ids),
            col(Entry.year) == year,
            col(Entry.status) == "approved",
        )
        .group_by(col(Entry.member_id), col(Entry.rule_code), col(Entry.quarter))
    ).all()
    totals: dict[int, list[ItemTotal]] = defaultdict(list)
    for member_id, code, quarter, points, count, largest in rows:
        totals[member_id].append(ItemTotal(code, quarter, int(points), int(count), int(largest)))
    return totals


def recorded_review_scores(
    session: Session,
    member_ids: Collection[int],
    year: int,
    states: Iterable[str] = COUNTED_REVIEW_STATES,
) -> dict[int, dict[int, int | None]]:
    """Review scores per member and quarter from reviews in the given states."""
    if not member_ids:
        return {}
    rows = session.exec(
        select(col(ReviewScore.member_id), col(Review.quarter), col(ReviewScore.score))
        .join(Review, col(Review.id) == ReviewScore.review_id)
        .where(
            col(ReviewScore.member_id).in_(member_ids),
            Review.year == year,
            col(Review.status).in_(tuple(states)),
        )
    ).all()
    scores: dict[int, dict[int, int | None]] = defaultdict(dict)
    for member_id, quarter, score in rows:
        scores[member_id][quarter] = score
    return scores


def year_scores(
    session: Session,
    rules: RuleSet,
    member_ids: Collection[int],
    reviews: dict[int, dict[int, int | None]],
) -> dict[int, YearScore]:
    totals = item_totals(session, member_ids, rules.year)
    return {
        m: score_year(rules, totals.get(m, ()), reviews.get(m, {})) for m in member_ids
    }


def member_year_score(session: Session, rules: RuleSet, member_id: int) -> YearScore:
    """The provisional score: approved entries and published or finalized review scores."""
    reviews = recorded_review_scores(session, [member_id], rules.year)
    return year_scores(session, rules, [member_id], reviews)[member_id]
