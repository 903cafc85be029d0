"""My score of the year and my entries: the member's two everyday pages."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import EntryStatus, ReviewStatus
from app.points import QUARTERS, counted_by_entry, quarter_start
from app.present.downloads import Format, member_year_response
from app.present.i18n import _
from app.present.labels import quarter_name, signed
from app.present.rule_words import next_star_text, qualifying_line
from app.services import member_view
from app.services.entries import quarter_is_finalized, resubmitted_as, resubmitted_entries
from app.services.errors import NotFound
from app.services.member_score import member_score
from app.services.rules import load_rule_set
from app.web import page_cache
from app.web.deps import WebActor, web_actor
from app.web.forms import year_or
from app.web.member.chart import progress_chart
from app.web.member.shared import entry_view, no_review_text, pick_year, review_text
from app.web.render import render

router = APIRouter()


@dataclass(frozen=True)
class QuarterLine:
    quarter: int
    name: str
    review_score: int | None
    delta: str
    ytd: int
    # open, draft, published, finalized, or future (not begun yet)
    status: str
    # 3/5; "—" not published yet; 不计 when there is, and will be, none (no_review says why)
    review: str = "—"
    no_review: str | None = None

    @property
    def unpublished(self) -> bool:
        """"—": the branch has not published this quarter's review scores yet."""
        return self.status != "future" and self.review_score is None \
            and self.no_review is None


@router.get("/me")
def my_score(request: Request, session: SessionDep, clock: ClockDep,
             year: int | None = None) -> Response:
    """My score of the year: big number, stars, the quarters and their picture.

    Kept while nothing on it changes (app/web/page_cache.py): one statement answers again.
    """
    if year is None or 2000 <= year <= clock.today().year:
        kept = page_cache.lookup(request, session, clock, "me", year or clock.today().year)
        if kept is not None:
            return kept
    actor = web_actor(request, session, clock)
    if actor.member_id is None:  # as member_view.me refuses
        raise NotFound("This account is not a member; it has no score pages.")
    year = pick_year(year, clock)
    today = clock.today()
    # The member as the login check read them (no ORM objects on this page).
    score = member_score(session, actor, actor.member_id, year, clock.now())
    member = score.member
    params = score.rules.params
    quarters = []
    for q in score.engine.quarters:
        begun = quarter_start(year, q.quarter) <= today
        why = score.no_review(q.quarter) if begun else None
        quarters.append(QuarterLine(
            quarter=q.quarter, name=quarter_name(q.quarter), review_score=q.review_score,
            delta=signed(q.delta), ytd=q.ytd,
            status=score.state(q.quarter) if begun else "future",
            review=review_text(q.review_score, params) if why is None else _("不计"),
            no_review=no_review_text(why) if why else None))
    chart = progress_chart(year, [
        (q.quarter, q.name, q.ytd if q.status != "future" else None,
         q.status in ("open", ReviewStatus.draft)) for q in quarters],
        qualifying_line(params))
    # This year's rating and, in the new year, last year's: one query.
    ratings = member_view.my_ratings(session, member.id, year, year - 1)
    rating = ratings.get(year)
    # Pending self-reports, the year's exemption, the notices, the rating under way: one
    # statement.
    facts = member_view.home_facts(session, actor, year, clock.now())
    # Exempt (免评) members are not rated: no stars, rather than a row of empty ones.
    # Exempt (免评) this year: the rating's line once there is one, else the year's exemption.
    exempt = rating.item.exempt if rating else facts.exempt
    # In the new year, last year's approved grade is news worth a line on this page.
    last_rating = ratings.get(year - 1) if year == today.year else None
    # 再得7分升为三星: while the score may still change, for a member who gets stars.
    final = rating is not None or (year < today.year and all(
        score.state(q) == ReviewStatus.finalized for q in QUARTERS))
    next_star = None if final or exempt else next_star_text(score.annual, score.vetoed,
                                                              params)
    context = {
        "year": year, "this_year": today.year, "member": member,
        "score": score, "quarters": quarters, "chart": chart, "rating": rating,
        "next_star": next_star, "review_max": params.review_max,
        "unpublished": any(q.unpublished for q in quarters),
        "last_rating": last_rating,
        "exempt": exempt, "veto_quarter": score.engine.veto_quarter,
        "max_stars": len(params.star_thresholds),
        "pending": facts.pending,
        # The branch's annual rating under way, and what it asks of me (one tap to it).
        "rating_task": facts.rating_task,
    }
    # 消息: one line under the score, "3条新消息 ›", to the notices page (keyed in the page
    # cache by "seen up to"); the score comes first on a phone's first screen (issue 17).
    # My own disposal cases (appraisal.md §5), shown to me only, read with the notices.
    context |= {"unseen_notices": facts.notices.count, "my_cases": facts.notices.cases}
    return page_cache.keep(request, render(request, "pages/member/score.html", context,
                                           partial="partials/member/score.html"))


@router.get("/me/entries")
def my_entries(request: Request, session: SessionDep, actor: WebActor, clock: ClockDep,
               year: int | None = None) -> Response:
    """Everything recorded about me in the year, with its state and the committee's reason."""
    member, _org = member_view.me(session, actor)
    year = pick_year(year, clock)
    rules = load_rule_set(session, year, clock.now())
    rows = member_view.my_entries(session, member.id or 0, year)
    # Which rejected entries were sent again, and what each resubmission corrects.
    again = resubmitted_as(session, [e.id or 0 for e in rows if e.status == EntryStatus.rejected])
    originals = resubmitted_entries(session, rows)
    # A rejected entry whose quarter is confirmed is not offered for correction.
    closed = {q for q in {(e.year, e.quarter) for e in rows if e.status == EntryStatus.rejected
                          and e.id not in again}
              if quarter_is_finalized(session, member.org_id, *q)}
    # What each approved entry adds once its item's annual cap is applied, oldest first.
    counted = counted_by_entry(rules, [(e.id or 0, e.rule_code, e.points) for e in reversed(rows)
                                       if e.status == EntryStatus.approved])
    entries = [entry_view(e, rules, again.get(e.id or 0), originals.get(e.resubmits_id or 0),
                          (e.year, e.quarter) in closed, counted.get(e.id or 0))
               for e in rows]
    context = {"year": year, "this_year": clock.today().year, "entries": entries,
               "pending": sum(1 for e in entries if e.status == EntryStatus.pending)}
    return render(request, "pages/member/entries.html", context,
                  partial="partials/member/entries.html")


@router.get("/me/entries/export")
def my_export(session: SessionDep, actor: WebActor, clock: ClockDep, year: str = "",
              format: Format = "xlsx") -> Response:
    """My entries of a year as a spreadsheet (the import's columns, and what became of them)."""
    if actor.member_id is None:
        raise NotFound("Only members have entries to export.")
    this_year = clock.today().year
    return member_year_response(session, actor, actor.member_id,
                                year_or(year, 2000, this_year, this_year), format, clock.now())
