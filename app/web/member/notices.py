"""My notices (消息): the page of the last 90 days, and "知道了" (mark them seen)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.notice_texts import notice_line
from app.services import member_view, notices
from app.services.errors import Invalid
from app.web.deps import WebActor
from app.web.forms import safe_next
from app.web.render import redirect, render

router = APIRouter()


@router.get("/me/notices")
def my_notices(request: Request, session: SessionDep, actor: WebActor,
               clock: ClockDep) -> Response:
    """Everything that happened to me in the last 90 days; the new ones marked."""
    member_view.me(session, actor)
    found = notices.member_notices(session, actor, clock.now())
    return render(request, "pages/member/notices.html", {
        "lines": [notice_line(n) for n in found.items],
        "unseen_notices": found.unseen_count,
        "up_to": found.newest_at.isoformat() if found.newest_at else "",
        "days": notices.NOTICE_DAYS, "has_cases": bool(found.cases)})


def _moment(text: str) -> datetime | None:
    """The newest notice the page showed (a hidden field), or None for "now"."""
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid("up_to is not a time.", "bad_time") from None
    if moment.tzinfo is None:
        raise Invalid("up_to needs a time zone.", "bad_time")
    return moment


@router.post("/me/notices/seen")
def mark_seen(request: Request, session: SessionDep, actor: WebActor, clock: ClockDep,
              up_to: Annotated[str, Form(max_length=64)] = "",
              next: Annotated[str, Form(max_length=200)] = "/me") -> Response:
    """知道了: the notices shown are seen; one that came meanwhile stays new."""
    member_view.me(session, actor)
    notices.mark_seen(session, actor, clock.now(), _moment(up_to))
    return redirect(request, safe_next(next, "/me"))
