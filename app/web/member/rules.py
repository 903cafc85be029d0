"""积分怎么算: the year's rule set in plain words, for members (docs/scoring.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.rule_words import rules_in_words
from app.services import member_view
from app.services.rules import load_rule_set
from app.web.deps import WebActor
from app.web.member.shared import pick_year
from app.web.render import render

router = APIRouter()


@router.get("/me/rules")
def how_scores_work(request: Request, session: SessionDep, actor: WebActor, clock: ClockDep,
                    year: int | None = None) -> Response:
    """What each item is worth, the review score, the caps, the stars and the grades, from
    the rules of the year asked for (this year by default)."""
    member_view.me(session, actor)
    year = pick_year(year, clock)
    words = rules_in_words(load_rule_set(session, year, clock.now()))
    return render(request, "pages/member/rules.html", {
        "year": year, "this_year": clock.today().year, "rules": words})
