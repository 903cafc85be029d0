"""The quarterly results of my branch (公示), and my objections (异议) to my own line; the
list of my branch's annual ratings (their pages are in rating.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import Clock, ClockDep
from app.db import SessionDep
from app.models import Objection, Rating, RatingStatus, Review, ReviewStatus
from app.present.i18n import N_, _
from app.present.labels import moment_text, quarter_name, signed
from app.present.messages import member_message_for
from app.services import member_view, objections, rating_view, reviews
from app.services.access import Actor
from app.services.errors import DomainError, attempt
from app.services.member_score import no_review
from app.services.rules import load_rule_set
from app.web.deps import WebActor
from app.web.forms import FormKey
from app.web.member.shared import no_review_text, review_text
from app.web.once import Outcome, fingerprint, save_once
from app.web.render import flash, is_htmx, redirect, render

router = APIRouter()


@dataclass(frozen=True)
class ResultSummary:
    id: int
    title: str
    status: str
    notice: str
    open_objections: int


# An annual rating's state as a member reads it (appraisal.md §2).
RATING_STATES = {RatingStatus.draft: N_("民主评议中"), RatingStatus.published: N_("公示中"),
                 RatingStatus.submitted: N_("已上报"), RatingStatus.approved: N_("已审定")}


@dataclass(frozen=True)
class RatingSummary:
    id: int
    title: str
    status: str
    state: str
    line: str


def rating_line(rating: Rating, now: datetime) -> str:
    """Where an annual rating stands, in one line."""
    if rating.status == RatingStatus.draft:
        return _("个人自评和民主测评")
    if rating.status == RatingStatus.published:
        if rating.notice_until is not None and now < rating.notice_until:
            return _("公示期至 {at}").format(at=moment_text(rating.notice_until))
        return _("公示期已结束，等待上报")
    if rating.status == RatingStatus.submitted:
        return _("等待上级党委审批")
    return _("最终结果")


@dataclass(frozen=True)
class SheetLine:
    member_id: int
    name: str
    review_score: int | None
    delta: str
    ytd: int
    mine: bool
    review: str = "—"  # 3/5


@dataclass(frozen=True)
class ObjectionView:
    id: int
    text: str
    status: str
    raised: str
    response: str | None
    answered: str | None


def _title(review: Review) -> str:
    return _("{year}年{quarter}").format(year=review.year, quarter=quarter_name(review.quarter))


def _notice(review: Review, now: datetime) -> str:
    """Where the review stands in time, in one line."""
    if review.status == ReviewStatus.finalized and review.finalized_at is not None:
        return _("确认时间：{at}").format(at=moment_text(review.finalized_at))
    if review.notice_until is not None and now < review.notice_until:
        return _("公示期至 {at}").format(at=moment_text(review.notice_until))
    return _("公示期已结束，等待确认")


def objection_view(objection: Objection) -> ObjectionView:
    return ObjectionView(
        id=objection.id or 0, text=objection.text, status=objection.status,
        raised=moment_text(objection.created_at), response=objection.response,
        answered=moment_text(objection.resolved_at) if objection.resolved_at else None)


@router.get("/me/results")
def results(request: Request, session: SessionDep, actor: WebActor,
            clock: ClockDep) -> Response:
    """Published and finalized reviews of my branch, newest first."""
    member, org = member_view.me(session, actor)
    rows = member_view.branch_results(session, actor)
    waiting = member_view.my_open_objections(session, member.id or 0,
                                             [r.id for r in rows if r.id is not None])
    summaries = [ResultSummary(id=r.id or 0, title=_title(r), status=r.status,
                               notice=_notice(r, clock.now()),
                               open_objections=waiting.get(r.id or 0, 0)) for r in rows]
    annual = [RatingSummary(id=r.id or 0, title=_("{y}年度评星定级").format(y=r.year),
                            status=r.status, state=_(RATING_STATES[r.status]),
                            line=rating_line(r, clock.now()))
              for r in rating_view.branch_ratings(session, actor)]
    return render(request, "pages/member/results.html", {"org": org, "results": summaries,
                                                          "ratings": annual})


def _sheet_context(session: SessionDep, actor: Actor, clock: Clock,
                   review_id: int) -> dict[str, Any]:
    review = member_view.branch_review(session, actor, review_id)
    params = load_rule_set(session, review.year, clock.now()).params
    lines = [SheetLine(member_id=x.member_id, name=x.name, review_score=x.review_score,
                       delta=signed(x.delta), ytd=x.ytd, mine=x.member_id == actor.member_id,
                       review=review_text(x.review_score, params))
             for x in reviews.review_lines(session, review, clock.now())]
    mine = next((line for line in lines if line.mine), None)
    # Not on the sheet: say why (joined or recorded in the branch after the quarter).
    why = None
    if mine is None:
        member, _org = member_view.me(session, actor)
        reason = no_review(member, review.year, review.quarter, review.status, listed=False)
        why = no_review_text(reason) if reason else None
    objections = [objection_view(o) for o in member_view.my_objections(session, actor,
                                                                        review_id)]
    return {"review": review, "title": _title(review), "notice": _notice(review, clock.now()),
            "lines": lines, "mine": mine, "not_listed": why, "objections": objections,
            "can_object": review.status == ReviewStatus.published and mine is not None,
            "objection_action": f"/me/results/{review_id}/objections",
            "closed_note": _("本季度已确认，不能再提出异议。")
            if review.status == ReviewStatus.finalized else None,
            "text": "", "error": None, "done": False}


@router.get("/me/results/{review_id}")
def result_sheet(review_id: int, request: Request, session: SessionDep, actor: WebActor,
                 clock: ClockDep) -> Response:
    """The sheet: every member's review score, change and running total; my line marked."""
    member_view.me(session, actor)
    context = _sheet_context(session, actor, clock, review_id)
    return render(request, "pages/member/sheet.html", context,
                  partial="partials/member/objections.html")


@router.post("/me/results/{review_id}/objections")
def object_to_result(
    review_id: int, request: Request, session: SessionDep, actor: WebActor, clock: ClockDep,
    text: Annotated[str, Form(max_length=2000)] = "", form_key: FormKey = "",
) -> Response:
    """Raise an objection to my own line while the results are published (once per form:
    app/web/once.py)."""
    member_view.me(session, actor)
    member_view.branch_review(session, actor, review_id)
    return save_once(request, session, actor, clock, form_key,
                     fingerprint(request.url.path, {"text": text}),
                     lambda: _object(request, session, actor, clock, review_id, text),
                     _("这条异议刚才已经提交了，没有重复提交。"))


def _object(request: Request, session: SessionDep, actor: Actor, clock: Clock, review_id: int,
            text: str) -> Outcome:
    # In a savepoint: a refusal met as the row is written (text the objection may not
    # hold) is shown in the form like any other, not in the page's banner.
    error = attempt(session, lambda: objections.raise_objection(session, actor, review_id,
                                                                  text, clock.now()))
    if isinstance(error, DomainError):
        context = _sheet_context(session, actor, clock, review_id)
        context |= {"text": text, "error": member_message_for(error)}
        return Outcome(render(request, "pages/member/sheet.html", context,
                              partial="partials/member/objections.html",
                              status_code=error.status_code))
    message = _("异议已提交，等待支委答复。")
    at = f"/me/results/{review_id}"
    if not is_htmx(request):
        flash(request, message)
        return Outcome(redirect(request, at), at)
    # HTMX: the section comes back with my objections, the new one included, and an empty form.
    context = _sheet_context(session, actor, clock, review_id) | {"done": message}
    return Outcome(render(request, "pages/member/sheet.html", context,
                          partial="partials/member/objections.html", status_code=201), at)
