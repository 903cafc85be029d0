"""The front door: send each person to where their work is."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from app.web.deps import WebActor

router = APIRouter()


@router.get("/")
def home(request: Request, actor: WebActor) -> RedirectResponse:
    """A committee member's work is on /committee (their own score is one tap away, in the
    top bar); a member's is their score; an administrator without either, /admin."""
    if actor.is_committee:
        return RedirectResponse("/committee", status_code=303)
    if actor.member_id is not None:
        return RedirectResponse("/me", status_code=303)
    return RedirectResponse("/admin", status_code=303)
