"""Members of a branch: create (正式 or 预备党员), edit inline (name, category, and the standing
panel of app/web/standing.py), mark this year's exempt (免评) or clear it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import Member, Org, Standing
from app.points import Category
from app.present.i18n import _
from app.present.messages import message_for
from app.schemas import MAX_ID
from app.services import directory, members
from app.services.access import (
    Actor,
    get_managed_org,
    require_committee,
)
from app.services.errors import DomainError, Invalid, attempt
from app.services.member_import import USERNAME
from app.web import standing as standing_panel
from app.web.deps import WebActor
from app.web.forms import parse_category, parse_choice, parse_date, parse_int, parse_name
from app.web.render import flash, is_htmx, redirect, render

router = APIRouter()

Text = Annotated[str, Form(max_length=1000)]
# What a row shows besides its data: "edit" or "exempt" mode, a refusal, a confirmation,
# and the values typed into its form; in edit mode, the standing panel ("panel").
RowState = dict[str, Any]
NEW_STANDINGS = (Standing.full, Standing.probationary)


def _page_url(org_id: int, member_id: int | None = None) -> str:
    """The branch's page; after a change, scrolled to the member's row, which is marked."""
    if member_id is None:
        return f"/admin/members?org_id={org_id}"
    return f"/admin/members?org_id={org_id}&saved={member_id}#member-{member_id}"


def _with_panel(session: SessionDep, actor: Actor, member: Member, org: Org, today: date,
                state: RowState) -> RowState:
    """An open edit row holds the standing panel; its forms come back to the row open."""
    if state.get("mode") != "edit":
        return state
    back = f"/admin/members?org_id={org.id}&edit={member.id}#member-{member.id}"
    return state | {"panel": standing_panel.panel(session, actor, member, org, today, back)}


def _blank_form(org: Org | None) -> dict[str, str]:
    return {"name": "", "org_id": str(org.id) if org else "", "category": Category.active.value,
            "standing": Standing.full.value, "joined_on": "", "username": ""}


def _members_page(request: Request, session: SessionDep, actor: Actor, org_id: int | None,
                  today: date, *, rows: dict[int, RowState] | None = None,
                  form: dict[str, str] | None = None,
                  form_error: str | None = None, status_code: int = 200) -> Response:
    require_committee(actor, "open this page")
    org = get_managed_org(session, actor, org_id) if org_id is not None else None
    branches = directory.managed_branches(session, actor)
    is_branch = org is not None and org.kind == "branch"
    lines = []
    shown: dict[int, RowState] = {}
    if org is not None and is_branch and org_id:
        lines = directory.branch_members(session, actor, org_id, today.year)
        shown = {line.id: _with_panel(session, actor, line.member, org, today, rows[line.id])
                 for line in lines if rows and line.id in rows}
    context = {
        "org": org, "is_branch": is_branch, "branches": branches,
        "branches_below": directory.managed_branches(session, actor, under=org)
        if org is not None and not is_branch else branches,
        "lines": lines, "rows": shown, "standing_styles": standing_panel.STYLES,
        "member_form": form or _blank_form(org), "member_error": form_error,
    }
    return render(request, "pages/admin/members.html", context, status_code=status_code)


@router.get("/admin/members")
def members_page(request: Request, session: SessionDep, actor: WebActor,
                 clock: ClockDep, org_id: int | None = None, edit: int | None = None,
                 saved: int | None = None) -> Response:
    """Members of a branch; `edit` opens one row for editing and `saved` marks the row just
    changed (the pages without JavaScript)."""
    rows: dict[int, RowState] = {}
    if saved is not None:
        rows[saved] = {"saved": True}
    if edit is not None:
        rows[edit] = {"mode": "edit"}
    return _members_page(request, session, actor, org_id, clock.today(), rows=rows)


@router.post("/admin/members")
def create_member(request: Request, session: SessionDep, actor: WebActor, clock: ClockDep,
                  name: Text = "", org_id: Text = "", category: Text = "",
                  standing: Text = Standing.full.value, joined_on: Text = "",
                  username: Text = "", password: Text = "",
                  page_org: int | None = None) -> Response:
    require_committee(actor, "open this page")
    form = {"name": name, "org_id": org_id, "category": category, "standing": standing,
            "joined_on": joined_on, "username": username}

    def create() -> tuple[Member, str]:
        login = username.strip()
        if not USERNAME.fullmatch(login):
            raise Invalid("username: 2 to 64 letters, digits or _ . @ -.", "username_invalid")
        new = members.NewMember(
            name=parse_name(name, 50, "member_name_required"),
            org_id=parse_int(org_id, "branch_required", 1, MAX_ID),
            category=parse_category(category),
            joined_on=parse_date(joined_on, "joined_on_invalid"),
            username=login, password=password,
            standing=parse_choice(standing, Standing, "standing_invalid", NEW_STANDINGS))
        member, _account = members.create_member(session, actor, new, clock.now(), clock.today())
        return member, login

    result = attempt(session, create)
    if isinstance(result, DomainError):
        message = message_for(result)
        if is_htmx(request):
            context = {"member_form": form, "member_error": message,
                       "branches": directory.managed_branches(session, actor)}
            return render(request, "partials/admin/member_form.html", context,
                          status_code=result.status_code)
        return _members_page(request, session, actor, page_org, clock.today(), form=form,
                             form_error=message,
                             status_code=result.status_code)
    member, login = result
    flash(request, _("已添加党员{name}，登录用户名 {username}。").format(name=member.name,
                                                                 username=login))
    return redirect(request, _page_url(member.org_id, member.id))


def _row(request: Request, session: SessionDep, actor: Actor, member: Member, org: Org,
         today: date, state: RowState, status_code: int = 200) -> Response:
    """The member's row for HTMX; without it, the whole page with the row in that state."""
    assert member.id is not None
    if not is_htmx(request):
        return _members_page(request, session, actor, org.id, today, rows={member.id: state},
                             status_code=status_code)
    context = {"line": directory.member_line(session, member, today.year),
               "state": _with_panel(session, actor, member, org, today, state)}
    return render(request, "partials/admin/member_row.html", context, status_code=status_code)


@router.get("/admin/members/{member_id}/edit")
def edit_row(request: Request, member_id: int, session: SessionDep,
             actor: WebActor, clock: ClockDep) -> Response:
    member, org = standing_panel.managed_member(session, actor, member_id)
    if not is_htmx(request):
        return RedirectResponse(f"/admin/members?org_id={org.id}&edit={member_id}"
                                f"#member-{member_id}", status_code=303)
    return _row(request, session, actor, member, org, clock.today(), {"mode": "edit"})


@router.get("/admin/members/{member_id}/row")
def view_row(request: Request, member_id: int, session: SessionDep,
             actor: WebActor, clock: ClockDep) -> Response:
    member, org = standing_panel.managed_member(session, actor, member_id)
    if not is_htmx(request):
        return RedirectResponse(_page_url(org.id or 0, member_id), status_code=303)
    return _row(request, session, actor, member, org, clock.today(), {})


def _change(request: Request, session: SessionDep, actor: Actor, member_id: int,
            changes: dict[str, Any] | DomainError, clock: ClockDep, failed: RowState,
            done: str) -> Response:
    member, org = standing_panel.managed_member(session, actor, member_id)

    def change() -> Member:
        if isinstance(changes, DomainError):
            raise changes
        return members.update_member(session, actor, member_id, changes, clock.now())

    result = attempt(session, change)
    if isinstance(result, DomainError):
        state = {**failed, "error": message_for(result)}
        return _row(request, session, actor, member, org, clock.today(), state,
                    result.status_code)
    if is_htmx(request):
        return _row(request, session, actor, result, org, clock.today(), {"notice": done})
    flash(request, done)
    return redirect(request, _page_url(org.id or 0, member_id))


@router.post("/admin/members/{member_id}")
def update_member(request: Request, member_id: int, session: SessionDep, actor: WebActor,
                  clock: ClockDep, name: Text = "", category: Text = "") -> Response:
    changes: dict[str, Any] | DomainError
    try:
        changes = {"name": parse_name(name, 50, "member_name_required"),
                   "category": parse_category(category)}
    except DomainError as error:
        changes = error
    failed = {"mode": "edit", "form": {"name": name, "category": category}}
    return _change(request, session, actor, member_id, changes, clock, failed, _("已保存。"))


@router.post("/admin/members/{member_id}/exempt")
def mark_exempt(request: Request, member_id: int, session: SessionDep, actor: WebActor,
                clock: ClockDep, exempt_reason: Text = "") -> Response:
    reason = exempt_reason.strip()
    changes: dict[str, Any] | DomainError = {"exempt": True, "exempt_reason": reason}
    if len(reason) > 500:
        changes = Invalid("exempt_reason is longer than 500 characters.", "reason_too_long")
    failed = {"mode": "exempt", "form": {"exempt_reason": exempt_reason}}
    return _change(request, session, actor, member_id, changes, clock, failed,
                   _("已标注免评。"))


@router.post("/admin/members/{member_id}/unexempt")
def clear_exempt(request: Request, member_id: int, session: SessionDep, actor: WebActor,
                 clock: ClockDep) -> Response:
    return _change(request, session, actor, member_id, {"exempt": False}, clock, {},
                   _("已取消免评。"))
