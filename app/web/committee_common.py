"""What the committee pages share: who may open them, Beijing times, where to go back to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from app.clock import CHINA
from app.schemas import MAX_ID
from app.services.access import Actor, require_committee
from app.web.deps import WebActor
from app.web.i18n import N_
from app.web.render import render

# Chinese msgids: shown through _().
QUARTER_NAMES = {1: N_("第一季度"), 2: N_("第二季度"), 3: N_("第三季度"), 4: N_("第四季度")}
STYLES = "/static/parts/committee.css"


async def committee_actor(actor: WebActor) -> Actor:
    """A committee member (of any organisation) or an administrator."""
    require_committee(actor, "open the committee pages")
    return actor


CommitteeActor = Annotated[Actor, Depends(committee_actor)]


async def form_data(request: Request) -> FormData:
    """The posted form, for fields whose names carry data (score_<member id>)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


def beijing(moment: datetime | None) -> str:
    """A stored UTC moment as Beijing wall-clock time, the way branches read it."""
    if moment is None:
        return ""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(target: str | None, fallback: str) -> str:
    """Only paths on this site, never an open redirect ("/\\x" is "//x" to a browser)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return fallback


def signed(points: int) -> str:
    return f"+{points}" if points > 0 else (f"−{-points}" if points < 0 else "0")


def page(request: Request, template: str, context: dict[str, Any], *,
         partial: str | None = None, status_code: int = 200,
         trigger: str | None = None) -> HTMLResponse:
    """render() with what every committee template uses."""
    base: dict[str, Any] = {"bj": beijing, "signed": signed, "here": here(request),
                            "quarter_names": QUARTER_NAMES, "styles": STYLES}
    return render(request, template, base | context, partial=partial,
                  status_code=status_code, trigger=trigger)


def parse_int(value: str | None) -> int | None:
    """A whole number typed into a form, or None when blank or not a number."""
    text = (value or "").strip()
    if not text or not text.lstrip("-").isdigit() or len(text) > 9:
        return None
    return int(text)


def parse_id(value: str | None) -> int | None:
    """An id sent by a form (1 to MAX_ID), or None when blank or not one."""
    text = (value or "").strip()
    if not text.isdigit() or len(text) > len(str(MAX_ID)) or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)
