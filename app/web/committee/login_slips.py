"""登录条: a slip per member whose password someone else has just set (a members import, a
password reset), printed on A4, cut apart and handed over.

The generated passwords are kept nowhere (app/services/member_import.py): they exist only in
the answer that shows them. So that answer carries them to this page itself, the way a
preview carries its rows to the confirm (app/web/committee/imports.py): the slips as a
hidden field, with an HMAC (the app's secret key) over the account, the purpose, the time
and the slips. Only the same account, with the field unchanged, within CARRY_HOURS of the
result, gets the slips; anything else is 404. Nothing is stored: not in the database, not in
the session cookie, and the answer is not cached (no-store). A member who has set their own
password since gets a slip without the old one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.headers import NO_STORE
from app.present.i18n import _
from app.services import passwords
from app.services.access import Actor
from app.services.sheets import Row
from app.settings import get_settings
from app.web.committee.common import CommitteeActor
from app.web.committee.imports import PAYLOAD_MAX, carry, uncarry
from app.web.errors import web_error
from app.web.render import render

router = APIRouter()

SLIPS_PATH = "/committee/login-slips"
PURPOSE = "login-slips"
# An A4 sheet holds two columns of four (static/print-slips.css).
PER_SHEET = 8


@dataclass(frozen=True)
class Slip:
    name: str
    branch: str
    username: str
    password: str | None  # None: not shown on the result (given in the file or typed)
    replaced: bool = False  # the member has set their own password since


def slip_fields(actor: Actor, slips: Iterable[Slip], now: float) -> dict[str, str]:
    """The hidden fields (payload, token) the result page posts to print its slips."""
    rows = [Row(n, {"name": s.name, "branch": s.branch, "username": s.username,
                    "password": s.password or ""}) for n, s in enumerate(slips, start=1)]
    return carry(actor, PURPOSE, rows, now)


@router.post(SLIPS_PATH)
def login_slips(request: Request, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
                payload: Annotated[str, Form(max_length=PAYLOAD_MAX)] = "",
                token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """The slips of the result this account was just shown, ready to print."""
    rows = uncarry(actor, PURPOSE, payload, token, clock.now().timestamp())
    if not rows:
        return web_error(request, 404, _("没有找到这些登录条：只有刚做完导入或重置的人，"
                                         "在结果页上才能打印。"), back=False)
    waiting = passwords.awaiting_change(session, [r.values.get("username", "") for r in rows])
    slips = [Slip(name=r.values.get("name", ""), branch=r.values.get("branch", ""),
                  username=(username := r.values.get("username", "")),
                  password=r.values.get("password") or None,
                  replaced=username not in waiting) for r in rows]
    sheets = [slips[i:i + PER_SHEET] for i in range(0, len(slips), PER_SHEET)]
    site = get_settings().public_url or str(request.base_url)
    response = render(request, "print/login_slips.html", {
        "sheets": sheets, "count": len(slips), "site": site.rstrip("/"),
        "title": _("打印登录条")})
    response.headers.update(NO_STORE)
    return response
