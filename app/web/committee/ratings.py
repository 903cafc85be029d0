"""Annual rating 评星定级: create, the sheet with its steps (appraisal.md §2), grade
changes with reasons (组织评定). The steps' buttons are in rating_steps.py, the paper
ballots in paper_ballots.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import Org, Rating, RatingItem
from app.points import Grade
from app.present.early_words import rating_reasons
from app.present.i18n import _
from app.present.messages import message_for
from app.services import access, appraisal, objections, rating_view, ratings, worklist
from app.services.access import Actor, require_manages
from app.services.errors import DomainError, Invalid
from app.services.rules import MAX_NOTICE_DAYS
from app.web.committee.common import CommitteeActor, page
from app.web.forms import int_within
from app.web.render import flash, is_htmx, redirect

router = APIRouter()

RATING_CHANGED = "ratingChanged"
GRADE_CHOICES = (Grade.excellent, Grade.qualified, Grade.basically_qualified, Grade.unqualified)
Text = Annotated[str, Form(max_length=1000)]
# The rating pages' own styles, beside the committee's.
RATING_STYLES = "/static/parts/rating.css"


def managed_rating(session: SessionDep, actor: Actor, rating_id: int) -> tuple[Rating, Org]:
    rating, org = ratings.get_rating(session, actor, rating_id)
    require_manages(actor, org)
    return rating, org


def _cap_context(session: SessionDep, actor: Actor, rating: Rating, org: Org,
                 now: datetime) -> dict[str, Any]:
    """The excellent cap: ⌊n/3⌋ of the graded lines; each line's tally once closed;
    `runs_steps`: whether this actor is offered the branch's steps (a committee above only
    reads them, and approves or returns)."""
    items = ratings.rating_items(session, rating.id or 0)
    rated, limit = ratings.rating_limit(items, session, rating.year, now)
    excellent = sum(1 for i in items if i.grade == Grade.excellent.value)
    return {"rating": rating, "org": org, "runs_steps": access.takes_branch_steps(actor, org),
            "items": items, "rated": rated, "limit": limit,
            "excellent": excellent, "grade_choices": [g.value for g in GRADE_CHOICES],
            "tallies": appraisal.tallies(session, rating), "rating_styles": RATING_STYLES}


def rating_url(rating: Rating) -> str:
    return f"/committee/ratings/{rating.id}"


@router.post("/committee/ratings")
def create_rating(request: Request, session: SessionDep, actor: CommitteeActor,
                  clock: ClockDep, org_id: Annotated[int, Form()],
                  year: Annotated[int, Form()]) -> Response:
    """Create the year's rating with the proposed grades (all four quarters finalized)."""
    rating = ratings.create_rating(session, actor, org_id, year, clock.now())
    flash(request, _("已生成{year}年度评星定级。请按下面的步骤进行：个人自评、民主测评、"
                     "组织评定、公示、上报。").format(year=year))
    return redirect(request, rating_url(rating))


@router.get("/committee/ratings/{rating_id}")
def rating_sheet(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
                 clock: ClockDep) -> Response:
    """The steps with the current one highlighted, the lines with their tallies, the
    objections and the self-assessments."""
    return sheet(request, session, actor, rating_id, clock)


def sheet(request: Request, session: SessionDep, actor: Actor, rating_id: int,
          clock: ClockDep, *, form: dict[str, str] | None = None,
          panel: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """The sheet; with `form` and `panel` (a refusal, a confirmation), the steps as the
    person left them (rating_steps.py): only the steps for HTMX."""
    rating, org = managed_rating(session, actor, rating_id)
    now = clock.now()
    raised = appraisal.objections(session, actor, rating_id)
    context = _cap_context(session, actor, rating, org, now)
    steps = rating_view.steps(session, rating, now)
    return page(request, "pages/committee/rating.html", context | {
        "steps": steps, "form": form or {},
        "publish_early": steps.publish_earliness(
            int_within((form or {}).get("notice_days"), 0, MAX_NOTICE_DAYS)),
        "reasons": rating_reasons(rating),
        "objections": raised, "names": worklist.objection_names(session, raised),
        "own_objections": {o.id for o in raised if objections.is_own(actor, o)},
        "self_assessments": appraisal.self_assessments(session, actor, rating_id),
        "approver": appraisal.approves(session, actor, org),
        "own_submission": actor.account_id in (rating.published_by, rating.submitted_by)}
        | (panel or {}), partial="partials/committee/rating_steps.html" if panel else None,
        status_code=status_code)


@router.get("/committee/ratings/{rating_id}/cap")
def rating_cap(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
               clock: ClockDep) -> Response:
    """The “优秀 x / 上限 y” line; it refreshes itself after a grade change."""
    if not is_htmx(request):
        return rating_sheet(rating_id, request, session, actor, clock)
    rating, org = managed_rating(session, actor, rating_id)
    return page(request, "partials/committee/rating_cap.html",
                _cap_context(session, actor, rating, org, clock.now()))


def _line(request: Request, session: SessionDep, actor: Actor, rating: Rating, org: Org,
          member_id: int, now: datetime, **extra: Any) -> Response:
    context = _cap_context(session, actor, rating, org, now)
    item: RatingItem = next(i for i in context["items"] if i.member_id == member_id)
    status_code = extra.pop("status_code", 200)
    trigger = extra.pop("trigger", None)
    return page(request, "partials/committee/rating_line.html",
                context | {"item": item, "clear_flash": True} | extra,
                status_code=status_code, trigger=trigger)


@router.post("/committee/ratings/{rating_id}/items/{member_id}")
def change_grade(rating_id: int, member_id: int, request: Request, session: SessionDep,
                 actor: CommitteeActor, clock: ClockDep, grade: Text = "",
                 reason: Text = "") -> Response:
    """Change one proposed grade with a reason; a refusal is shown on that line."""
    now = clock.now()
    try:
        with session.begin_nested():
            try:
                chosen = Grade(grade)
            except ValueError:
                raise Invalid(f"Unknown grade {grade!r}.", "invalid_grade") from None
            rating = ratings.override_grade(session, actor, rating_id, member_id, chosen,
                                            reason, now)
    except DomainError as error:
        if not is_htmx(request):
            raise
        rating, org = managed_rating(session, actor, rating_id)
        if not any(i.member_id == member_id for i in ratings.rating_items(session, rating_id)):
            raise
        return _line(request, session, actor, rating, org, member_id, now, error=message_for(error),
                     typed={"grade": grade, "reason": reason}, status_code=error.status_code)
    if is_htmx(request):
        org = ratings.get_rating(session, actor, rating_id)[1]
        return _line(request, session, actor, rating, org, member_id, now, saved=True,
                     trigger=RATING_CHANGED)
    flash(request, _("等次已调整。"))
    return redirect(request, f"{rating_url(rating)}#rating-{member_id}")
