"""My branch's annual rating on the phone (appraisal.md §2): while a draft, my
self-assessment (个人自评), the others' and the ballot's state; once published (公示),
every line's name, score, stars and grade, my own reason, and my objections (异议).

A member never sees a draft's scores or grades, any tally, or another line's reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import Clock, ClockDep
from app.db import SessionDep
from app.models import PUBLIC_RATING_STATES, Org, Rating, RatingStatus
from app.present.i18n import _
from app.present.labels import moment_text
from app.present.messages import message_for
from app.services import appraisal, member_view, rating_view, ratings
from app.services.access import Actor
from app.services.errors import DomainError, attempt
from app.services.rules import load_rule_set
from app.web.deps import WebActor
from app.web.forms import FormKey
from app.web.member.results import RATING_STATES, ObjectionView, objection_view
from app.web.once import Outcome, fingerprint, save_once
from app.web.render import flash, is_htmx, redirect, render

router = APIRouter()

RATING_STYLES = "/static/parts/rating.css"
OBJECTIONS = "partials/member/objections.html"
# Generous: the service says "1 to 2,000 characters" in the page, not a validation error.
LongText = Annotated[str, Form(max_length=20_000)]


@dataclass(frozen=True)
class PublicLine:
    """A line of the published rating as the branch's members read it."""

    name: str
    score: int
    stars: int
    grade: str
    graded: bool
    mine: bool
    reason: str | None  # my own line's only


@dataclass(frozen=True)
class SelfText:
    name: str
    text: str
    updated: str
    mine: bool


def rating_title(rating: Rating) -> str:
    return _("{y}年度评星定级").format(y=rating.year)


def _self_texts(session: SessionDep, actor: Actor, rating: Rating) -> list[SelfText]:
    """While a draft everyone's; afterwards my own only (also for a committee member)."""
    rows = appraisal.self_assessments(session, actor, rating.id or 0)
    return [SelfText(name, a.text, moment_text(a.updated_at), a.member_id == actor.member_id)
            for a, name in rows
            if rating.status == RatingStatus.draft or a.member_id == actor.member_id]


def _objections(session: SessionDep, actor: Actor, rating: Rating) -> list[ObjectionView]:
    if rating.status not in PUBLIC_RATING_STATES:
        return []
    return [objection_view(o) for o in appraisal.objections(session, actor, rating.id or 0)
            if o.member_id == actor.member_id]


def rating_context(session: SessionDep, actor: Actor, clock: Clock, rating: Rating,
                   org: Org) -> dict[str, Any]:
    now = clock.now()
    line = rating_view.my_line(session, rating.id or 0, actor.member_id)
    public = rating.status in PUBLIC_RATING_STATES
    lines = [PublicLine(name=i.name, score=i.score, stars=i.stars, grade=i.grade,
                        graded=appraisal.graded(i), mine=i.member_id == actor.member_id,
                        reason=i.reason if i.member_id == actor.member_id else None)
             for i in ratings.rating_items(session, rating.id or 0)] if public else []
    texts = _self_texts(session, actor, rating)
    running = rating.status == RatingStatus.published and rating.notice_until is not None \
        and now < rating.notice_until
    return {
        "rating": rating, "org": org, "title": rating_title(rating), "line": line,
        "state_label": _(RATING_STATES[rating.status]),
        "lines": lines, "mine": next((x for x in lines if x.mine), None),
        "max_stars": len(load_rule_set(session, rating.year, now).params.star_thresholds),
        "voted": (voted := appraisal.has_voted(session, rating.id or 0, actor.member_id)),
        "may_vote": rating_view.may_vote_now(rating, voted),
        "own_text": next((t for t in texts if t.mine), None),
        "others": [t for t in texts if not t.mine],
        "notice_until": moment_text(rating.notice_until) if rating.notice_until else None,
        "notice_running": running, "can_object": running and line is not None,
        "objections": _objections(session, actor, rating),
        "objection_action": f"/me/ratings/{rating.id}/objections",
        "objection_prompt": _("对本人的等次有不同意见？请写明原因："),
        "closed_note": _("公示期已结束，不能再提出异议。") if public and not running else None,
        "rating_styles": RATING_STYLES, "text": "", "error": None, "done": False, "typed": None,
        "self_error": None}


def _page(request: Request, session: SessionDep, actor: Actor, clock: Clock, rating_id: int,
          status_code: int = 200, partial: str | None = None, **extra: Any) -> Response:
    rating, org = rating_view.branch_rating(session, actor, rating_id)
    context = rating_context(session, actor, clock, rating, org) | extra
    return render(request, "pages/member/rating.html", context, partial=partial,
                  status_code=status_code)


@router.get("/me/ratings/{rating_id}")
def rating_page(rating_id: int, request: Request, session: SessionDep, actor: WebActor,
                clock: ClockDep) -> Response:
    member_view.me(session, actor)
    return _page(request, session, actor, clock, rating_id)


@router.post("/me/ratings/{rating_id}/self-assessment")
def write_self_assessment(rating_id: int, request: Request, session: SessionDep,
                          actor: WebActor, clock: ClockDep, text: LongText = "") -> Response:
    """Write or rewrite my self-assessment while the rating is a draft."""
    member_view.me(session, actor)
    rating_view.branch_rating(session, actor, rating_id)
    result = attempt(session, lambda: appraisal.write_self_assessment(
        session, actor, rating_id, text, clock.now()))
    if isinstance(result, DomainError):
        message = _("个人自评须写1到2000字。") if result.code == "text_required" \
            else message_for(result)
        return _page(request, session, actor, clock, rating_id, result.status_code,
                     typed=text, self_error=message)
    flash(request, _("个人自评已保存。草稿期间还可以修改。"))
    return redirect(request, f"/me/ratings/{rating_id}#self")


@router.post("/me/ratings/{rating_id}/objections")
def object_to_rating(rating_id: int, request: Request, session: SessionDep, actor: WebActor,
                     clock: ClockDep, text: Annotated[str, Form(max_length=2000)] = "",
                     form_key: FormKey = "") -> Response:
    """Object to my own line while the notice (公示) runs (once per form: app/web/once.py)."""
    member_view.me(session, actor)
    rating_view.branch_rating(session, actor, rating_id)
    return save_once(request, session, actor, clock, form_key,
                     fingerprint(request.url.path, {"text": text}),
                     lambda: _object(request, session, actor, clock, rating_id, text),
                     _("这条异议刚才已经提交了，没有重复提交。"))


def _object(request: Request, session: SessionDep, actor: Actor, clock: Clock, rating_id: int,
            text: str) -> Outcome:
    result = attempt(session, lambda: appraisal.raise_objection(session, actor, rating_id,
                                                                  text, clock.now()))
    if isinstance(result, DomainError):
        return Outcome(_page(request, session, actor, clock, rating_id, result.status_code,
                             OBJECTIONS, text=text, error=message_for(result)))
    message = _("异议已提交，等待支委答复。")
    at = f"/me/ratings/{rating_id}#objections"
    if not is_htmx(request):
        flash(request, message)
        return Outcome(redirect(request, at), at)
    # HTMX: the section comes back with my objections, the new one included.
    return Outcome(_page(request, session, actor, clock, rating_id, 201, OBJECTIONS,
                         done=message), at)
