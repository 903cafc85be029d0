"""Tables for the branch's files and for the level above: a quarter's review (公示), an annual
rating (评星定级), an organisation's summary of the year and of its annual appraisal (汇总表),
as app.services.sheets sheets.

Every number comes from the function the API answers with (reviews.review_lines,
ratings.rating_items, worklist.roster, summary.year_summary,
appraisal_summary.appraisal_summary); who may export what is who may read it there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.clock import beijing_wall
from app.models import (
    BallotStatus,
    EntryStatus,
    Org,
    Rating,
    RatingItem,
    RatingStatus,
    ReviewStatus,
)
from app.points import GRADE_LABELS, QUARTERS, Grade, stars
from app.present.i18n import N_
from app.present.labels import QUARTER_NAMES, STATUS_LABELS
from app.services import appraisal_summary, objections, ratings, reviews, summary, worklist
from app.services.access import Actor
from app.services.rules import load_rule_set
from app.services.sheets import Cell, Column, Sheet

# The labels the pages show, untranslated: a file's words are Chinese like its headings.
REVIEW_STATES = {s: STATUS_LABELS[s] for s in ReviewStatus}
RATING_STATES = {RatingStatus.draft: STATUS_LABELS["draft"],
                 RatingStatus.published: STATUS_LABELS["published"],
                 RatingStatus.submitted: STATUS_LABELS["submitted_rating"],
                 RatingStatus.approved: STATUS_LABELS["approved_rating"]}
BALLOT_STATES = {BallotStatus.none: N_("未测评"), BallotStatus.open: N_("测评中"),
                 BallotStatus.closed: N_("测评结束")}
ENTRY_STATES = tuple(EntryStatus)
NOT_OPENED = "未开始"
NOT_RATED = N_("未评定")
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
    raised = Counter(o.member_id for o in objections.list_objections(session, actor,
                                                                     review_id))
    everyone = actor.manages(org)
    rows: list[list[Cell]] = [
        [org.name, review.year, review.quarter, line.member_id, line.name, line.review_score,
         line.delta, line.ytd,
         raised[line.member_id] if everyone or line.member_id == actor.member_id else None,
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
    """The rating as GET /ratings/{id} shows it: scores, stars, grades and any change; to a
    member (once published) without deduction details, and with their own line's proposed
    grade and reason only, as the API answers them (appraisal.md §2.5)."""
    rating, org = ratings.get_rating(session, actor, rating_id)
    committee = actor.manages(org)

    def told(item: RatingItem) -> bool:
        return committee or item.member_id == actor.member_id

    rows: list[list[Cell]] = [
        [org.name, rating.year, item.member_id, item.name, item.score, item.stars,
         item.vetoed if committee else None, item.exempt,
         item.deducted if committee else None,
         _grade(item.proposed_grade) if told(item) else None,
         _grade(item.grade), item.grade != item.proposed_grade if told(item) else None,
         item.reason if told(item) else None,
         beijing_wall(item.changed_at) if told(item) else None, RATING_STATES[rating.status],
         beijing_wall(rating.approved_at)]
        for item in ratings.rating_items(session, rating.id or 0)]
    return Export((Sheet("评星定级", RATING_COLUMNS, rows),),
                  f"{org.name}-{rating.year}年度评星定级", f"rating-{rating.id}-{rating.year}")


SUMMARY_COLUMNS = (
    Column("org_id", "支部编号", 10), Column("branch", "支部", 16),
    Column("parent", "上级组织", 16), Column("members", "党员数", 8),
    *(Column(f"entries_{status}", f"{STATUS_LABELS[status]}记录", 10) for status in ENTRY_STATES),
    *(Column(f"q{q}", f"{name}评议", 12) for q, name in QUARTER_NAMES.items()),
    Column("finalized", "已确认季度数", 12), Column("rating", "评定状态", 10),
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


def summary_export(session: Session, actor: Actor, org_id: int, year: int,
                   now: datetime) -> Export:
    """For the level above: one line per branch (members, the year's entries by state, the
    quarters' reviews, the rating and its grades and stars), then every member's year."""
    year_ = summary.year_summary(session, actor, org_id, year)
    org, branches, rated = year_.org, year_.branches, year_.ratings
    rows: list[list[Cell]] = []
    for branch in branches:
        b = branch.id or 0
        rating = rated.get(b)
        states = [year_.quarters.get((b, q)) for q in QUARTERS]
        rows.append([
            b, branch.name, year_.parents.get(branch.parent_id) if branch.parent_id else None,
            year_.members.get(b, 0),
            *(year_.entries.get((b, status), 0) for status in ENTRY_STATES),
            *(REVIEW_STATES[s] if s else NOT_OPENED for s in states),
            sum(1 for s in states if s == ReviewStatus.finalized),
            RATING_STATES[rating.status] if rating else NOT_RATED,
            *((year_.grades[b][g.value] if rating else None) for g in GRADE_LABELS),
            *((year_.stars[b][n] if rating else None) for n in STAR_LEVELS),
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
                  stars(line.score, line.vetoed, params), line.vetoed, line.exempt,
                  None, PROVISIONAL]
                 for line in worklist.roster(session, actor, branch, year, now)]
    return rows



APPRAISAL_COLUMNS = (
    Column("org_id", "支部编号", 10), Column("branch", "支部", 16),
    Column("parent", "上级组织", 16), Column("status", "评定状态", 10),
    Column("ballot", "民主测评", 10), Column("members", "名单人数", 8),
    Column("graded", "参评人数", 8), Column("exempt", "免评", 6),
    Column("probationary", "预备党员", 8), Column("voters", "应投票人数", 10),
    Column("cast_online", "网上投票", 8), Column("cast_paper", "纸质投票", 8),
    Column("turnout", "投票率（%）", 10),
    *(Column(grade.value, GRADE_LABELS[grade], 8) for grade in appraisal_summary.GRADES),
    Column("excellent_limit", "优秀上限", 8), Column("open_objections", "未答复异议", 10),
)
TOTAL = "合计"


def percent(ratio: float | None) -> float | None:
    """A turnout as a percentage to one place: 0.8333 → 83.3."""
    return None if ratio is None else round(ratio * 100, 1)


def appraisal_export(session: Session, actor: Actor, org_id: int, year: int,
                     now: datetime) -> Export:
    """The annual appraisal for the level above (汇总表): a line per branch in tree order,
    then the totals."""
    found = appraisal_summary.appraisal_summary(session, actor, org_id, year, now)
    rows: list[list[Cell]] = []
    for b in found.branches:
        grades = b.grades or {}
        rows.append([
            b.org_id, b.name, b.parent_name, RATING_STATES[b.status] if b.status else NOT_RATED,
            BALLOT_STATES[b.ballot] if b.ballot else None, b.members, b.graded, b.exempt,
            b.probationary, b.voters, b.cast_online, b.cast_paper, percent(b.turnout),
            *(grades.get(g.value) for g in appraisal_summary.GRADES),
            b.excellent_limit, b.open_objections])
    t = found.totals
    rows.append([None, TOTAL, None, None, None, t.members, t.graded, t.exempt, t.probationary,
                 t.voters, t.cast_online, t.cast_paper, percent(t.turnout),
                 *(t.grades[g.value] for g in appraisal_summary.GRADES),
                 t.excellent_limit, t.open_objections])
    return Export((Sheet("民主评议汇总", APPRAISAL_COLUMNS, rows),),
                  f"{found.org.name}-{year}年度民主评议汇总表",
                  f"appraisal-{found.org.id}-{year}")
