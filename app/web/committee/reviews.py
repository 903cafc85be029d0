"""Quarterly review: create, the sheet with review scores, publish, reopen, finalize, objections."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import Org, Review
from app.present.early_words import review_reasons
from app.present.i18n import _
from app.present.labels import QUARTER_NAMES, beijing
from app.present.messages import message_for
from app.services import objections, reviews, worklist
from app.services.access import Actor, require_manages
from app.services.errors import DomainError, Invalid, attempt
from app.services.rules import MAX_NOTICE_DAYS, load_rule_set
from app.web.committee.common import CommitteeActor, page
from app.web.forms import FormDep, id_or_none, int_or_none, int_within, parse_int
from app.web.render import flash, is_htmx, redirect, reload

router = APIRouter()

REVIEW_CHANGED = "reviewChanged"
Number = Annotated[str, Form(max_length=20)]
# The service refuses a reason over 500 characters in words; this only stops a flood.
Reason = Annotated[str, Form(max_length=5000)]
Step = Annotated[str, Form(max_length=10)]
# Refusals shown in the publish or finalize form with what was typed, not in #flash.
IN_THE_FORM = {"reason_required", "reason_too_long", "notice_out_of_range"}
# What a review is published for when the page is first shown: 5 days, or the year's
# minimum if longer, so that only a shorter notice typed in needs a reason.
DEFAULT_NOTICE_DAYS = 5


def _review(session: SessionDep, actor: Actor, review_id: int) -> tuple[Review, Org]:
    review, org = reviews.get_review(session, actor, review_id)
    require_manages(actor, org)
    return review, org


def _sheet_context(session: SessionDep, review: Review, org: Org, now: datetime,
                   form: dict[str, str] | None = None) -> dict[str, Any]:
    """What the sheet and its publish / finalize panel show; `form`: what was typed in the
    panel (its notice days decide whether publishing needs a reason)."""
    params = load_rule_set(session, review.year, now).params
    found = reviews.blockers(session, review, now)
    default_days = max(DEFAULT_NOTICE_DAYS, found.min_notice_days)
    typed = int_within((form or {}).get("notice_days"), 0, MAX_NOTICE_DAYS)
    return {"review": review, "org": org, "blockers": found,
            "review_max": params.review_max, "review_default": params.review_default,
            "default_days": default_days, "form": form or {},
            "publish_early": found.earliness("publish",
                                             default_days if typed is None else typed),
            "finalize_early": found.earliness("finalize"),
            "reasons": review_reasons(review),
            "title": _("{org} {year}年{quarter}评议").format(
                org=org.name, year=review.year, quarter=_(QUARTER_NAMES[review.quarter]))}


def _url(review: Review) -> str:
    return f"/committee/reviews/{review.id}"


@router.post("/committee/reviews")
def create_review(request: Request, session: SessionDep, actor: CommitteeActor,
                  clock: ClockDep, org_id: Annotated[int, Form()],
                  year: Annotated[int, Form()], quarter: Annotated[int, Form(ge=1, le=4)]
                  ) -> Response:
    """Open the quarter's review in draft and go to its sheet."""
    review = reviews.create_review(session, actor, org_id, year, quarter, clock.now(),
                                   clock.today())
    flash(request, _("已创建{year}年{quarter}评议。").format(
        year=year, quarter=_(QUARTER_NAMES[quarter])))
    return redirect(request, _url(review))


@router.get("/committee/reviews/{review_id}")
def review_sheet(review_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
                 clock: ClockDep) -> Response:
    """One line per member: review score, change and running total; what blocks the next step."""
    return _sheet(request, session, actor, review_id, clock)


def _sheet(request: Request, session: SessionDep, actor: Actor, review_id: int,
           clock: ClockDep, *, form: dict[str, str] | None = None,
           panel: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """The sheet; with `form` and `panel` (a refusal, a confirmation), the publish or
    finalize panel as the person left it: only that panel for HTMX."""
    review, org = _review(session, actor, review_id)
    raised = objections.list_objections(session, actor, review_id)
    return page(request, "pages/committee/review.html", _sheet_context(
        session, review, org, clock.now(), form) | (panel or {}) | {
        "lines": reviews.review_lines(session, review, clock.now()),
        "objections": raised, "names": worklist.objection_names(session, raised),
        "own_objections": {o.id for o in raised if objections.is_own(actor, o)}},
        partial="partials/committee/review_actions.html" if panel else None,
        status_code=status_code)


def _in_the_form(request: Request, session: SessionDep, actor: Actor, review_id: int,
                 clock: ClockDep, form: dict[str, str], error: DomainError) -> Response:
    """A refusal the form answers (a reason missing or too long, a bad number): shown in
    it, with everything typed kept; any other, as every refusal is shown."""
    if error.code not in IN_THE_FORM:
        raise error
    return _sheet(request, session, actor, review_id, clock, form=form,
                  status_code=error.status_code,
                  panel={"error": message_for(error), "error_code": error.code})


@router.get("/committee/reviews/{review_id}/actions")
def review_actions(review_id: int, request: Request, session: SessionDep,
                   actor: CommitteeActor, clock: ClockDep) -> Response:
    """The publish / finalize panel, refreshed when an objection is answered."""
    if not is_htmx(request):
        return review_sheet(review_id, request, session, actor, clock)
    review, org = _review(session, actor, review_id)
    return page(request, "partials/committee/review_actions.html",
                _sheet_context(session, review, org, clock.now()))


@router.post("/committee/reviews/{review_id}/scores")
def set_scores(review_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
               clock: ClockDep, form: FormDep) -> Response:
    """One score from the sheet's select (HTMX: the line comes back), or all of them."""
    scores: dict[int, int | None] = {}
    for key, value in form.multi_items():
        if not key.startswith("score_") or not isinstance(value, str):
            continue
        member_id = id_or_none(key.removeprefix("score_"))
        score = int_or_none(value)
        if member_id is None or (value.strip() and score is None):
            raise Invalid(f"{key}={value!r} is not a whole number.", "review_score_out_of_range")
        scores[member_id] = score
    review = reviews.set_scores(session, actor, review_id, scores, clock.now())
    if is_htmx(request) and len(scores) == 1:
        member_id = next(iter(scores))
        _review_row, org = _review(session, actor, review_id)
        line = next(x for x in reviews.review_lines(session, review, clock.now())
                    if x.member_id == member_id)
        return page(request, "partials/committee/review_line.html", _sheet_context(
            session, review, org, clock.now()) | {"line": line, "saved": True})
    flash(request, _("评议分已保存。"))
    return redirect(request, _url(review))


@router.post("/committee/reviews/{review_id}/publish")
def publish(review_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
            clock: ClockDep, notice_days: Number = "5", reason: Reason = "",
            step: Step = "") -> Response:
    """Publish (公示) in two posts, with JavaScript or without: the first (`step` empty)
    checks and says what will happen (N days, until when) and asks once; `confirm`
    publishes; `edit` goes back to the form. Nothing typed is lost on the way."""
    form = {"notice_days": notice_days, "reason": reason}
    if step == "edit":
        return _sheet(request, session, actor, review_id, clock, form=form, panel={"edit": True})

    def check() -> datetime | Review:
        days = parse_int(notice_days, "notice_out_of_range", 0, MAX_NOTICE_DAYS)
        if step == "confirm":
            return reviews.publish_review(session, actor, review_id, days, clock.now(),
                                          reason=reason)
        return reviews.check_publish(session, actor, review_id, days, reason, clock.now())

    result = attempt(session, check)
    if isinstance(result, DomainError):
        return _in_the_form(request, session, actor, review_id, clock, form, result)
    if isinstance(result, datetime):
        return _sheet(request, session, actor, review_id, clock, form=form,
                      panel={"confirm_until": result, "confirm_days": int_or_none(notice_days)})
    flash(request, _("已发布公示，公示期至 {until}。").format(until=beijing(result.notice_until)))
    return redirect(request, _url(result))


@router.post("/committee/reviews/{review_id}/reopen")
def reopen(review_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
           clock: ClockDep) -> Response:
    review = reviews.reopen_review(session, actor, review_id, clock.now())
    flash(request, _("已退回草稿。修改评议分后请重新发布公示。"))
    return redirect(request, _url(review))


@router.post("/committee/reviews/{review_id}/finalize")
def finalize(review_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
             clock: ClockDep, reason: Reason = "") -> Response:
    """Finalize; before the quarter ends, with the reason the panel asks for."""
    result = attempt(session, lambda: reviews.finalize_review(session, actor, review_id,
                                                              clock.now(), reason=reason))
    if isinstance(result, DomainError):
        return _in_the_form(request, session, actor, review_id, clock, {"reason": reason},
                            result)
    flash(request, _("已确认，本季度已锁定。"))
    return redirect(request, _url(result))


@router.post("/committee/objections/{objection_id}/resolve")
def resolve_objection(objection_id: int, request: Request, session: SessionDep,
                      actor: CommitteeActor, clock: ClockDep,
                      response: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Answer an objection (异议); HTMX gets the answered objection back."""
    objection = objections.resolve_objection(session, actor, objection_id, response, clock.now())
    if objection.review_id is None:
        flash(request, _("已答复异议。"))
        return reload(request, f"/committee/ratings/{objection.rating_id}#objections")
    review, _org = _review(session, actor, objection.review_id)
    if is_htmx(request):
        return page(request, "partials/committee/objection.html", {
            "o": objection, "review": review,
            "names": worklist.objection_names(session, [objection]), "clear_flash": True},
            trigger=REVIEW_CHANGED)
    flash(request, _("已答复异议。"))
    return redirect(request, f"{_url(review)}#objections")
