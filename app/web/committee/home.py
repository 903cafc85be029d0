"""The committee's home: every branch in scope, what waits, the year's reviews and rating."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.notice_texts import rating_news_text
from app.services import appraisal_summary, case_view, rating_view, waiting, worklist
from app.web.committee.common import CommitteeActor, page

router = APIRouter()


@router.get("/committee")
def committee_home(request: Request, session: SessionDep, actor: CommitteeActor,
                   clock: ClockDep, year: int | None = None) -> Response:
    """Every branch in my scope: what waits, the year's reviews, the rating."""
    today = clock.today()
    year = year if year is not None and 2000 <= year <= today.year else today.year
    work = worklist.branch_worklist(session, actor, year, today)
    # The level above (a 党委's committee, an administrator): ratings to approve.
    awaiting = rating_view.awaiting_approval(session, actor) \
        if rating_view.approves_any(session, actor) else None
    # Disposal cases (appraisal.md §5): the branch's open ones, and the level above's queue.
    branch_cases = case_view.branch_cases(session, actor)
    return page(request, "pages/committee/home.html", {
        "case_queue": len(case_view.queue_above(session, actor)),
        "open_cases": sum(1 for r in branch_cases if r.case.status != "closed")
        if branch_cases else None,
        "work": work, "year": year, "this_year": today.year,
        "pending_total": sum(b.pending for b in work),
        "waiting": waiting.committee_waiting(session, actor, work, clock.now(),
                                             awaiting or ()),
        "news_text": rating_news_text,
        "appraisal_orgs": appraisal_summary.summary_orgs(session, actor),
        "approvals": len(awaiting) if awaiting is not None else None})

