"""The committee's home: every branch in scope, what waits, the year's reviews and rating."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.notice_texts import rating_news_text
from app.services import appraisal_summary, rating_view, waiting, worklist
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
    return page(request, "pages/committee/home.html", {
        "work": work, "year": year, "this_year": today.year,
        "pending_total": sum(b.pending for b in work),
        "waiting": waiting.committee_waiting(session, actor, work, clock.now(),
                                             awaiting or ()),
        "news_text": rating_news_text,
        "appraisal_orgs": appraisal_summary.summary_orgs(session, actor),
        "approvals": len(awaiting) if awaiting is not None else None})

