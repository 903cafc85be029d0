"""The annual rating's steps from its sheet (appraisal.md §2): the ballot opened and closed,
publication (公示) with its notice days, reopening and submission by the branch; approval
or return by the level above (上级审批). Each is a plain form post: the browser gets a
redirect to the sheet with what happened, a refusal comes back to the sheet in #flash."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.i18n import _
from app.present.labels import beijing
from app.services import appraisal, ratings
from app.services.access import Actor
from app.services.errors import DomainError, Invalid, attempt
from app.web.committee.common import CommitteeActor
from app.web.committee.ratings import rating_url
from app.web.errors import web_error
from app.web.forms import int_or_none
from app.web.render import flash, redirect, reload

router = APIRouter()

Reason = Annotated[str, Form(max_length=1000)]
Number = Annotated[str, Form(max_length=20)]


@router.post("/committee/ratings/{rating_id}/ballot/open")
def open_ballot(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
                clock: ClockDep) -> Response:
    """Open the 民主测评 ballot, once: who may vote is fixed now."""
    rating = appraisal.open_ballot(session, actor, rating_id, clock.now(), clock.today())
    flash(request, _("民主测评已开启，{n}名党员可以投票。").format(n=rating.voters))
    return reload(request, f"{rating_url(rating)}#step-ballot")


@router.post("/committee/ratings/{rating_id}/ballot/close")
def close_ballot(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
                 clock: ClockDep) -> Response:
    rating = appraisal.close_ballot(session, actor, rating_id, clock.now())
    flash(request, _("民主测评已结束，共收回{n}张选票。每人的测评结果已列在评定表中。").format(
        n=rating.cast_online + rating.cast_paper))
    return reload(request, f"{rating_url(rating)}#lines")


@router.post("/committee/ratings/{rating_id}/publish")
def publish(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
            clock: ClockDep, notice_days: Number = "") -> Response:
    """Publish to the branch for the notice days typed (blank: the rule set's default)."""
    days = int_or_none(notice_days)
    if notice_days.strip() and days is None:
        raise Invalid("notice_days must be a whole number.", "notice_out_of_range")
    rating = appraisal.publish(session, actor, rating_id, days, clock.now())
    flash(request, _("已公示，公示期至 {until}。").format(until=beijing(rating.notice_until)))
    return reload(request, f"{rating_url(rating)}#step-notice")


@router.post("/committee/ratings/{rating_id}/reopen")
def reopen(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
           clock: ClockDep, reason: Reason = "") -> Response:
    rating = appraisal.reopen(session, actor, rating_id, reason, clock.now())
    flash(request, _("已撤回公示，评定表回到草稿。修改等次后请重新公示。"))
    return reload(request, rating_url(rating))


@router.post("/committee/ratings/{rating_id}/submit")
def submit(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
           clock: ClockDep) -> Response:
    result = attempt(session, lambda: appraisal.submit(session, actor, rating_id, clock.now()))
    if isinstance(result, DomainError):
        if result.code == "notice_running":
            # Its message says 定稿, as a quarterly review is; a rating is submitted (上报).
            return web_error(request, result.status_code, _("公示期尚未结束，结束后才能上报。"))
        raise result
    flash(request, _("已上报上级党委审批。"))
    return reload(request, f"{rating_url(result)}#step-approval")


@router.post("/committee/ratings/{rating_id}/approve")
def approve(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
            clock: ClockDep) -> Response:
    """The level above approves: final."""
    rating = appraisal.approve(session, actor, rating_id, clock.now())
    flash(request, _("已审批{org}{y}年度评星定级，结果为最终结果。").format(
        org=_branch_name(session, actor, rating_id), y=rating.year))
    return redirect(request, "/committee/approvals")


@router.post("/committee/ratings/{rating_id}/return")
def return_rating(rating_id: int, request: Request, session: SessionDep,
                  actor: CommitteeActor, clock: ClockDep, reason: Reason = "") -> Response:
    """The level above returns it to the branch, with a reason the branch sees."""
    rating = appraisal.return_rating(session, actor, rating_id, reason, clock.now())
    flash(request, _("已将{org}{y}年度评星定级退回支部，退回理由会显示在评定表上。").format(
        org=_branch_name(session, actor, rating_id), y=rating.year))
    return redirect(request, "/committee/approvals")


def _branch_name(session: SessionDep, actor: Actor, rating_id: int) -> str:
    return ratings.get_rating(session, actor, rating_id)[1].name
