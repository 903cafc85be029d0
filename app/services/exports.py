"""Tables for the branch's files and for the level above: a quarter's review (公示), an annual
rating (评星定级) and an organisation's summary of the year, as app.services.sheets sheets.

Every number comes from the function the API answers with (reviews.review_lines,
ratings.rating_items, worklist.roster); who may export what is who may read it there.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.clock import beijing_wall
from app.models import Entry, Member, Org, Rating, RatingItem, Review
from app.points import GRADE_LABELS, QUARTERS, Grade, stars
from app.services import ratings, reviews, worklist
from app.services.access import Actor, get_org, managed_org_filter
from app.services.errors import Forbidden
from app.services.rules import load_rule_set
from app.services.sheets import Cell, Column, Sheet

# The labels the pages show (app/web/render.py STATUS_LABELS), in Chinese like the headings.
REVIEW_STATES = {"draft": "草稿", "published": "公示中", "finalized": "已定稿"}
RATING_STATES = {"draft": "草稿", "approved": "已审定"}
ENTRY_STATES = (("pending", "待审核"), ("approved", "已通过"), ("rejected", "未通过"),
                ("revoked", "已撤销"))
QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
NOT_OPENED = "未开始"
NOT_RATED = "未评定"
PROVISIONAL = "暂计"
STAR_LEVELS = (5, 4, 3, 2, 1, 0)


@dataclass(frozen=True)
class Export:
    """One download: its sheets (CSV takes one) and its file name without the extension."""

    sheets: tuple[Sheet, ...]
    name: str        # for people: "第一支部-2025年第一季度评议"
    ascii_name: str  # the fallback for old clients: "review-12-2025-q1"


def _grade(value: str | None) -> str | None:
    return GRADE_LABELS[Grade(value)] if value else None


REVIEW_COLUMNS = (
    Column("branch", "支部", 16), Column("year", "年度", 8), Column("quarter", "季度", 8),
    Column("member_id", "党员编号", 10), Column("name", "姓名", 12),
    Column("review_score", "评议分", 8), Column("delta", "本季得分", 10),
    Column("ytd", "累计得分", 10), Column("objections", "异议数", 8),
    Column("status", "评议状态", 10), Column("notice_until", "公示截止（北京时间）", 20),
)


def review_export(session: Session, actor: Actor, review_id: int, now: datetime) -> Export:
    """The review sheet as GET /reviews/{id} shows it, one line per member.

    A member (who sees only their own objections) gets their own count and blanks for
    the others; the committee gets everyone's.
    """
    review, org = reviews.get_review(session, actor, review_id)
    lines = reviews.review_lines(session, review, now)
    objections = Counter(o.member_id for o in reviews.list_objections(session, actor,
                                                                       review_id))
    everyone = actor.manages(org)
    rows: list[list[Cell]] = [
        [org.name, review.year, review.quarter, line.member_id, line.name, line.review_score,
         line.delta, line.ytd,
         objections[line.member_id] if everyone or line.member_id == actor.member_id else None,
         REVIEW_STATES[review.status], beijing_wall(review.notice_until)]
        for line in lines]
    quarter = QUARTER_NAMES[review.quarter]
    return Export((Sheet("评议公示", REVIEW_COLUMNS, rows),),
                  f"{org.name}-{review.year}年{quarter}评议",
                  f"review-{review.id}-{review.year}-q{review.quarter}")


RATING_COLUMNS = (
    Column("branch", "支部", 16), Column("year", "年度", 8),
    Column("member_id", "党员编号", 10), Column("name", "姓名", 12),
    Column("score", "年度得分", 10), Column("stars", "星级", 8),
    Column("vetoed", "一票否决", 10), Column("exempt", "免评", 8),
    Column("deducted", "全年扣分", 10), Column("proposed_grade", "拟定等次", 10),
    Column("grade", "等次", 10), Column("changed", "调整等次", 10),
    Column("reason", "调整理由", 30), Column("changed_at", "调整时间（北京时间）", 20),
    Column("status", "评定状态", 10), Column("approved_at", "审定时间（北京时间）", 20),
)


def rating_export(session: Session, actor: Actor, rating_id: int) -> Export:
    """The rating as GET /ratings/{id} shows it: scores, stars, grades and any change."""
    rating, org = ratings.get_rating(session, actor, rating_id)
    rows: list[list[Cell]] = [
        [org.name, rating.year, item.member_id, item.name, item.score, item.stars,
         item.vetoed, item.exempt, item.deducted, _grade(item.proposed_grade),
         _grade(item.grade), item.grade != item.proposed_grade, item.reason,
         beijing_wall(item.changed_at), RATING_STATES[rating.status],
         beijing_wall(rating.approved_at)]
        for item in ratings.rating_items(session, rating.id or 0)]
    return Export((Sheet("评星定级", RATING_COLUMNS, rows),),
                  f"{org.name}-{rating.year}年度评星定级", f"rating-{rating.id}-{rating.year}")


SUMMARY_COLUMNS = (
    Column("org_id", "支部编号", 10), Column("branch", "支部", 16),
    Column("parent", "上级组织", 16), Column("members", "党员数", 8),
    *(Column(f"entries_{status}", f"{label}记录", 10) for status, label in ENTRY_STATES),
    *(Column(f"q{q}", f"{name}评议", 12) for q, name in QUARTER_NAMES.items()),
    Column("finalized", "已定稿季度数", 12), Column("rating", "评定状态", 10),
    *(Column(grade.value, label, 8) for grade, label in GRADE_LABELS.items()),
    *(Column(f"stars_{n}", f"{n}星", 6) for n in STAR_LEVELS),
)
MEMBER_COLUMNS = (
    Column("org_id", "支部编号", 10), Column("branch", "支部", 16),
    Column("member_id", "党员编号", 10), Column("name", "姓名", 12),
    Column("score", "年度得分", 10), Column("stars", "星级", 8),
    Column("vetoed", "一票否决", 10), Column("exempt", "免评", 8),
    Column("grade", "等次", 10), Column("source", "得分来源", 10),
)


def _branch_filter(actor: Actor, org: Org) -> tuple[sa.ColumnElement[bool], ...]:
    return (col(Org.kind) == "branch", managed_org_filter(actor),
            col(Org.path).startswith(org.path, autoescape=True))


def summary_branches(session: Session, actor: Actor, org_id: int) -> tuple[Org, list[Org]]:
    """The organisation (404 outside the caller's view) and the branches in it the caller
    manages, in tree order: a party secretary gets the subtree, a branch committee its own
    branch, an administrator all; someone who manages none of them is refused (403)."""
    org = get_org(session, actor, org_id)
    branches = list(session.exec(select(Org).where(*_branch_filter(actor, org))
                                 .order_by(col(Org.path))).all())
    if not branches and not actor.manages(org):
        raise Forbidden(f"Only the committees of {org.name} or of a branch in it (or an "
                        "administrator) may export its summary.", "committee_only")
    return org, branches


def summary_export(session: Session, actor: Actor, org_id: int, year: int,
                   now: datetime) -> Export:
    """For the level above: one line per branch (members, the year's entries by state, the
    quarters' reviews, the rating and its grades and stars), then every member's year."""
    org, branches = summary_branches(session, actor, org_id)
    # The branches again as a subquery: a city's thousands of ids are no bound list.
    ids = sa.select(col(Org.id)).where(*_branch_filter(actor, org))
    parents = dict(session.exec(select(Org.id, Org.name).where(
        col(Org.id).in_({b.parent_id for b in branches if b.parent_id}))).all())
    members = dict(session.exec(select(col(Member.org_id), func.count()).select_from(Member)
                                .where(col(Member.org_id).in_(ids))
                                .group_by(col(Member.org_id))).all())
    entries: dict[tuple[int, str], int] = {
        (org_id_, status): count for org_id_, status, count in session.exec(
            select(col(Entry.org_id), col(Entry.status), func.count()).select_from(Entry)
            .where(col(Entry.org_id).in_(ids), Entry.year == year)
            .group_by(col(Entry.org_id), col(Entry.status))).all()}
    quarters = {(r.org_id, r.quarter): r.status for r in session.exec(
        select(Review).where(col(Review.org_id).in_(ids), Review.year == year)).all()}
    rated = {r.org_id: r for r in session.exec(
        select(Rating).where(col(Rating.org_id).in_(ids), Rating.year == year)).all()}
    grades: dict[int, Counter[str]] = defaultdict(Counter)
    star_counts: dict[int, Counter[int]] = defaultdict(Counter)
    for org_id_, grade, stars_, count in session.exec(
            select(col(Rating.org_id), col(RatingItem.grade), col(RatingItem.stars),
                   func.count())
            .join(Rating, col(Rating.id) == RatingItem.rating_id)
            .where(col(Rating.org_id).in_(ids), Rating.year == year)
            .group_by(col(Rating.org_id), col(RatingItem.grade), col(RatingItem.stars))).all():
        grades[org_id_][grade] += count
        star_counts[org_id_][stars_] += count
    rows: list[list[Cell]] = []
    for branch in branches:
        b = branch.id or 0
        rating = rated.get(b)
        states = [quarters.get((b, q)) for q in QUARTERS]
        rows.append([
            b, branch.name, parents.get(branch.parent_id) if branch.parent_id else None,
            int(members.get(b, 0)),
            *(int(entries.get((b, status), 0)) for status, _ in ENTRY_STATES),
            *(REVIEW_STATES[s] if s else NOT_OPENED for s in states),
            sum(1 for s in states if s == "finalized"),
            RATING_STATES[rating.status] if rating else NOT_RATED,
            *((grades[b][g.value] if rating else None) for g in GRADE_LABELS),
            *((star_counts[b][n] if rating else None) for n in STAR_LEVELS),
        ])
    return Export(
        (Sheet("支部汇总", SUMMARY_COLUMNS, rows),
         Sheet("党员年度得分", MEMBER_COLUMNS, _member_rows(session, actor, branches, rated,
                                                     year, now))),
        f"{org.name}-{year}年度汇总", f"summary-{org.id}-{year}")


def _member_rows(session: Session, actor: Actor, branches: list[Org], rated: dict[int, Rating],
                 year: int, now: datetime) -> list[list[Cell]]:
    """Each member's year: the rating's line where the branch has a rating, else the
    provisional score of the committee's member list (worklist.roster), stars as the
    member's score answer gives them."""
    params = load_rule_set(session, year, now).params
    rows: list[list[Cell]] = []
    for branch in branches:
        b = branch.id or 0
        rating = rated.get(b)
        if rating is not None:
            source = "评定" + RATING_STATES[rating.status]
            rows += [[b, branch.name, i.member_id, i.name, i.score, i.stars, i.vetoed, i.exempt,
                      _grade(i.grade), source]
                     for i in ratings.rating_items(session, rating.id or 0)]
            continue
        rows += [[b, branch.name, line.member.id, line.member.name, line.score,
                  stars(line.score, line.vetoed, params), line.vetoed, line.member.exempt,
                  None, PROVISIONAL]
                 for line in worklist.roster(session, actor, branch, year, now)]
    return rows

