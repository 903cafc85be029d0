"""The annual rating's steps from its sheet (appraisal.md §2): the ballot opened and closed,
publication (公示) with its notice days, reopening and submission by the branch; approval
or return by the level above (上级审批). Each is a plain form post: the browser gets a
redirect to the sheet with what happened, a refusal comes back to the sheet in #flash; a
reason missing for a step taken early (app/services/early_steps.py) or a bad number comes
back in its form, with what was typed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import Rating
from app.present.i18n import _
from app.present.labels import beijing
from app.present.messages import message_for
from app.services import appraisal, ratings
from app.services.access import Actor
from app.services.errors import DomainError, attempt
from app.services.rules import MAX_NOTICE_DAYS
from app.web.committee.common import CommitteeActor
from app.web.committee.ratings import rating_url, sheet
from app.web.errors import web_error
from app.web.forms import parse_int
from app.web.render import flash, redirect, reload

router = APIRouter()

Reason = Annotated[str, Form(max_length=1000)]
# The service refuses an early step's reason over 500 characters in words; this only stops
# a flood.
EarlyReason = Annotated[str, Form(max_length=5000)]
Number = Annotated[str, Form(max_length=20)]
Step = Annotated[str, Form(max_length=10)]
# Refusals shown in the publish or submit form with what was typed, not in #flash.
IN_THE_FORM = {"reason_required", "reason_too_long", "notice_out_of_range"}


def _in_the_form(request: Request, session: SessionDep, actor: Actor, rating_id: int,
                 clock: ClockDep, form: dict[str, str], error: DomainError) -> Response:
    """A refusal the form answers, shown in it with everything typed kept; any other, as
    every refusal is shown."""
    if error.code not in IN_THE_FORM:
        raise error
    return sheet(request, session, actor, rating_id, clock, form=form,
                 status_code=error.status_code,
                 panel={"error": message_for(error), "error_code": error.code})


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
            clock: ClockDep, notice_days: Number = "", reason: EarlyReason = "",
            step: Step = "") -> Response:
    """Publish to the branch for the notice days typed (blank: the rule set's default), in
    two posts, with JavaScript or without: the first (`step` empty) checks and says what
    will happen (N days, until when) and asks once; `confirm` publishes; `edit` goes back
    to the form. Nothing typed is lost on the way."""
    form = {"notice_days": notice_days, "reason": reason}
    if step == "edit":
        return sheet(request, session, actor, rating_id, clock, form=form,
                     panel={"edit": True})

    def check() -> tuple[int, datetime] | Rating:
        days = parse_int(notice_days, "notice_out_of_range", 0, MAX_NOTICE_DAYS) \
            if notice_days.strip() else None
        if step == "confirm":
            return appraisal.publish(session, actor, rating_id, days, clock.now(),
                                     reason=reason)
        return appraisal.check_publish(session, actor, rating_id, days, reason, clock.now())

    result = attempt(session, check)
    if isinstance(result, DomainError):
        return _in_the_form(request, session, actor, rating_id, clock, form, result)
    if isinstance(result, tuple):
        days, until = result
        return sheet(request, session, actor, rating_id, clock, form=form | {
            "notice_days": str(days)}, panel={"confirm_days": days, "confirm_until": until})
    flash(request, _("已公示，公示期至 {until}。").format(until=beijing(result.notice_until)))
    return reload(request, f"{rating_url(result)}#step-notice")


@router.post("/committee/ratings/{rating_id}/reopen")
def reopen(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
           clock: ClockDep, reason: Reason = "") -> Response:
    rating = appraisal.reopen(session, actor, rating_id, reason, clock.now())
    flash(request, _("已撤回公示，评定表回到草稿。修改等次后请重新公示。"))
    return reload(request, rating_url(rating))


@router.post("/committee/ratings/{rating_id}/submit")
def submit(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
           clock: ClockDep, reason: EarlyReason = "") -> Response:
    """Submit (上报); before the year ends, with the reason the step asks for."""
    result = attempt(session, lambda: appraisal.submit(session, actor, rating_id, clock.now(),
                                                       reason=reason))
    if isinstance(result, DomainError):
        if result.code == "notice_running":
            # Its message says 确认, as a quarterly review is; a rating is submitted (上报).
            return web_error(request, result.status_code, _("公示期尚未结束，结束后才能上报。"))
        return _in_the_form(request, session, actor, rating_id, clock, {"reason": reason},
                            result)
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
