"""My ballot in the 民主测评 (appraisal.md §2.3), on one phone screen: every graded member of
my branch but me, four large choices each and their self-assessment a tap away; then a
check of the choices that says the ballot cannot be changed; then cast, once.

The choices travel only in the posted forms (never a URL), and no answer that holds them is
kept by the browser (Cache-Control: no-store). After voting I see that I voted, never what.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.points import Grade
from app.present.i18n import _
from app.present.messages import message_for
from app.services import appraisal, member_view, rating_view
from app.services.access import Actor
from app.services.errors import DomainError, Invalid, attempt
from app.web.deps import WebActor
from app.web.forms import FormDep, id_or_none
from app.web.member.rating import RATING_STYLES, rating_title
from app.web.render import flash, redirect, render

router = APIRouter()

GRADES = [g.value for g in appraisal.BALLOT_GRADES]
# Refusals the ballot form itself can show; any other (voted already, closed, full) is
# the rating page's to explain.
FORM_REFUSALS = ("own_line", "not_a_graded_line", "unknown_grade")


def read_votes(form: FormDep) -> dict[int, Grade]:
    """g_<member id> = grade; an empty or missing choice is an abstention."""
    votes: dict[int, Grade] = {}
    for key, value in form.multi_items():
        if not key.startswith("g_") or not isinstance(value, str) or not value:
            continue
        member_id = id_or_none(key.removeprefix("g_"))
        if member_id is None:
            raise Invalid("A vote names a line that is not on this ballot.",
                          "not_a_graded_line")
        if value not in GRADES:
            raise Invalid("Each vote is one of the four grades.", "unknown_grade")
        votes[member_id] = Grade(value)
    return votes


def _may_vote(session: SessionDep, actor: Actor, rating_id: int) -> bool:
    """Whether I may vote on it now (else the rating page says why not)."""
    rating, _org = rating_view.branch_rating(session, actor, rating_id)
    return rating_view.may_vote_now(rating, appraisal.has_voted(session, rating_id,
                                                                actor.member_id))


def _render(request: Request, session: SessionDep, actor: Actor, template: str,
            rating_id: int, status_code: int = 200, **extra: Any) -> Response:
    rating, org = rating_view.branch_rating(session, actor, rating_id)
    context = {"rating": rating, "org": org, "title": rating_title(rating),
               "lines": rating_view.ballot_lines(session, rating_id, actor.member_id),
               "chosen": {}, "error": None, "rating_styles": RATING_STYLES} | extra
    response = render(request, template, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/me/ratings/{rating_id}/ballot")
def ballot(rating_id: int, request: Request, session: SessionDep, actor: WebActor) -> Response:
    member_view.me(session, actor)
    if not _may_vote(session, actor, rating_id):
        return redirect(request, f"/me/ratings/{rating_id}")
    return _render(request, session, actor, "pages/member/ballot.html", rating_id)


@router.post("/me/ratings/{rating_id}/ballot/check")
def check_ballot(rating_id: int, request: Request, session: SessionDep, actor: WebActor,
                 form: FormDep) -> Response:
    """The choices read back, with the warning, before they are cast; or back to the
    ballot to change them (`edit`)."""
    member_view.me(session, actor)
    if not _may_vote(session, actor, rating_id):
        return redirect(request, f"/me/ratings/{rating_id}")
    try:
        votes = read_votes(form)
    except Invalid as error:
        return _render(request, session, actor, "pages/member/ballot.html", rating_id,
                       error.status_code, error=message_for(error))
    chosen = {member_id: grade.value for member_id, grade in votes.items()}
    template = "pages/member/ballot.html" if form.get("edit") else \
        "pages/member/ballot_check.html"
    return _render(request, session, actor, template, rating_id, chosen=chosen)


@router.post("/me/ratings/{rating_id}/ballot")
def cast_ballot(rating_id: int, request: Request, session: SessionDep, actor: WebActor,
                clock: ClockDep, form: FormDep) -> Response:
    """Cast my ballot, once."""
    member_view.me(session, actor)
    rating_view.branch_rating(session, actor, rating_id)

    def cast() -> object:
        return appraisal.cast_ballot(session, actor, rating_id, read_votes(form), clock.now())

    result = attempt(session, cast)
    if isinstance(result, DomainError):
        if result.code in FORM_REFUSALS:
            return _render(request, session, actor, "pages/member/ballot.html", rating_id,
                           result.status_code, error=message_for(result))
        flash(request, message_for(result), "error")
        return redirect(request, f"/me/ratings/{rating_id}")
    flash(request, _("投票成功。选票不记名，谁投了什么任何人都看不到。"))
    return redirect(request, f"/me/ratings/{rating_id}")
