"""Pending entries: approve, reject, bulk approve; a member's entries and revocation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import Entry, EntryStatus, Org
from app.present.case_words import GROUND_LABELS, case_state
from app.present.i18n import _, rule_item_name
from app.present.messages import message_for
from app.services import bulk_approval, case_view, cases, entries, standing, worklist
from app.services.access import Actor, get_managed_org, get_member, require_manages
from app.services.entries import EntryFilter
from app.services.errors import DomainError
from app.web import standing as standing_panel
from app.web.committee.common import CommitteeActor, page
from app.web.forms import here, safe_next
from app.web.render import flash, is_htmx, redirect

router = APIRouter()

LIMIT = 500
SCORES_CHANGED = "scoresChanged"
Text = Annotated[str, Form(max_length=2000)]


def _filter_query(org_id: int | None, year: int | None, quarter: int | None) -> str:
    parts = [f"{k}={v}" for k, v in (("org_id", org_id), ("year", year), ("quarter", quarter))
             if v is not None]
    return "&".join(parts)


def _pending(session: SessionDep, actor: Actor, org_id: int | None, year: int | None,
             quarter: int | None, now: datetime) -> list[worklist.EntryView]:
    """Pending entries in scope (of one branch when org_id is given), oldest first."""
    if org_id is not None:
        get_managed_org(session, actor, org_id)
    rows = entries.list_entries(session, actor, EntryFilter(
        org_id=org_id, status=EntryStatus.pending, year=year, quarter=quarter), LIMIT, 0).rows
    return worklist.entry_views(session, list(reversed(rows)), now)


def _pending_context(session: SessionDep, actor: Actor, org_id: int | None, year: int | None,
                     quarter: int | None, now: datetime) -> dict[str, Any]:
    rows = _pending(session, actor, org_id, year, quarter, now)
    decidable = [r for r in rows if r.entry.member_id != actor.member_id and not r.locked]
    return {"rows": rows, "decidable": decidable, "org_id": org_id, "year": year,
            "quarter": quarter, "query": _filter_query(org_id, year, quarter),
            "count": len(decidable), "view": "pending", "limit": LIMIT}


@router.get("/committee/entries")
def pending_page(request: Request, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
                 org_id: int | None = None, year: int | None = None,
                 quarter: int | None = None) -> Response:
    """Entries waiting for a decision, with approve and reject on each line."""
    context = _pending_context(session, actor, org_id, year, quarter, clock.now())
    branches = worklist.managed_branches(session, actor)
    return page(request, "pages/committee/entries.html", context | {
        "branches": branches, "org": next((b for b in branches if b.id == org_id), None),
        "members": worklist.scope_members(session, actor)})


@router.get("/committee/entries/count")
def pending_counter(request: Request, session: SessionDep, actor: CommitteeActor,
                    clock: ClockDep, org_id: int | None = None, year: int | None = None,
                    quarter: int | None = None) -> Response:
    """The counter on the pending page, refreshed when scores change, with the bulk bar."""
    query = _filter_query(org_id, year, quarter)
    if not is_htmx(request):
        return RedirectResponse("/committee/entries" + (f"?{query}" if query else ""),
                                status_code=303)
    context = _pending_context(session, actor, org_id, year, quarter, clock.now())
    # The bulk form sends the user back to the page they are on, not to this URL.
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    back = current.path + (f"?{current.query}" if current.query else "")
    return page(request, "partials/committee/pending_refresh.html",
                context | {"here": safe_next(back, "/committee/entries")})


def _row(request: Request, session: SessionDep, actor: Actor, entry: Entry, now: datetime, *,
         view: str, next_: str, error: str | None = None, open_: str | None = None,
         status_code: int = 200, trigger: str | None = None) -> Response:
    row = worklist.entry_views(session, [entry], now)[0]
    return page(request, "partials/committee/entry_row.html", {
        "row": row, "view": view, "here": next_, "error": error, "open": open_,
        "clear_flash": True},
        status_code=status_code, trigger=trigger)


def _decide(request: Request, session: SessionDep, actor: Actor, entry_id: int, now: datetime,
            action: Callable[[], Entry], *, done: str, view: str, next_: str,
            open_: str | None = None) -> Response:
    """Run one decision; HTMX gets the line back (with the refusal in it), forms a redirect."""
    back = safe_next(next_, "/committee/entries")
    try:
        with session.begin_nested():
            entry = action()
    except DomainError as error:
        if not is_htmx(request):
            raise
        current, _member, _org = entries.get_entry(session, actor, entry_id)
        return _row(request, session, actor, current, now, view=view, next_=back,
                    error=message_for(error), open_=open_, status_code=error.status_code)
    if is_htmx(request):
        return _row(request, session, actor, entry, now, view=view, next_=back,
                    trigger=SCORES_CHANGED)
    row = worklist.entry_views(session, [entry], now)[0]
    flash(request, _("{done}：{member} {code} {item}").format(
        done=done, member=row.member_name, code=row.entry.rule_code,
        item=rule_item_name(row.item_name)))
    return redirect(request, back, trigger=SCORES_CHANGED)


@router.post("/committee/entries/{entry_id}/approve")
def approve(entry_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
            clock: ClockDep, next: Text = "", view: Text = "pending") -> Response:
    return _decide(request, session, actor, entry_id, clock.now(),
                   lambda: entries.approve_entry(session, actor, entry_id, clock.now()),
                   done=_("已通过"), view=view, next_=next)


@router.post("/committee/entries/{entry_id}/reject")
def reject(entry_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
           clock: ClockDep, reason: Text = "", next: Text = "",
           view: Text = "pending") -> Response:
    return _decide(request, session, actor, entry_id, clock.now(),
                   lambda: entries.reject_entry(session, actor, entry_id, reason, clock.now()),
                   done=_("已退回"), view=view, next_=next, open_="reject")


@router.post("/committee/entries/{entry_id}/revoke")
def revoke(entry_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
           clock: ClockDep, reason: Text = "", next: Text = "",
           view: Text = "member") -> Response:
    return _decide(request, session, actor, entry_id, clock.now(),
                   lambda: entries.revoke_entry(session, actor, entry_id, reason, clock.now()),
                   done=_("已撤销"), view=view, next_=next, open_="revoke")


@router.post("/committee/entries/bulk-approve")
def bulk_approve(
    request: Request, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
    entry_ids: Annotated[list[int] | None, Form()] = None,
    shown: Annotated[list[int] | None, Form()] = None,
    scope: Text = "selected", next: Text = "",
    org_id: Annotated[int | None, Form()] = None, year: Annotated[int | None, Form()] = None,
    quarter: Annotated[int | None, Form()] = None,
) -> Response:
    """Approve the ticked entries (or every one shown) one by one; list what was refused."""
    now = clock.now()
    chosen = list(dict.fromkeys((shown if scope == "all" else entry_ids) or []))
    # Each one approved or refused on its own (the API's batch is all or nothing).
    done, refusals = bulk_approval.approve_each(session, actor, chosen, now)
    approved = worklist.entry_views(session, done, now)
    refused = [(_describe(session, actor, r.entry_id, now), message_for(r.error))
               for r in refusals]
    back = safe_next(next, "/committee/entries")
    trigger = SCORES_CHANGED if approved else None
    if is_htmx(request):
        context = _pending_context(session, actor, org_id, year, quarter, now)
        return page(request, "partials/committee/pending_list.html", context | {
            "here": back, "bulk": {"chosen": len(chosen), "approved": approved,
                                   "refused": refused}}, trigger=trigger)
    if not chosen:
        flash(request, _("请先勾选要通过的记录。"), "error")
    if approved:
        flash(request, _("已通过 {n} 条记录。").format(n=len(approved)))
    for who, message in refused:
        flash(request, _("{who}：{message}").format(who=who, message=message), "error")
    return redirect(request, back, trigger=trigger)


def _describe(session: SessionDep, actor: Actor, entry_id: int, now: datetime) -> str:
    """Who and what an entry is about, for a refusal in a list."""
    try:
        entry = entries.get_entry(session, actor, entry_id)[0]
    except DomainError:
        return _("记录 {id}").format(id=entry_id)
    row = worklist.entry_views(session, [entry], now)[0]
    return f"{row.member_name} {row.entry.rule_code} {rule_item_name(row.item_name)}"


@router.get("/committee/members")
def roster_page(request: Request, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
                org_id: int | None = None, member_id: int | None = None,
                year: int | None = None) -> Response:
    """The members of my branches with their score so far; or jump to one member."""
    if member_id is not None:
        suffix = f"?year={year}" if year else ""
        return RedirectResponse(f"/committee/members/{member_id}{suffix}", status_code=303)
    year = year or clock.today().year
    if org_id is not None:
        branches: list[Org] = [get_managed_org(session, actor, org_id)]
    else:
        branches = worklist.managed_branches(session, actor)
    rosters = [(b, worklist.roster(session, actor, b, year, clock.now())) for b in branches]
    return page(request, "pages/committee/roster.html", {
        "rosters": rosters, "year": year, "org_id": org_id})


@router.get("/committee/members/{member_id}")
def member_page(member_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
                clock: ClockDep, year: int | None = None) -> Response:
    """One member's entries of a year, with revocation of approved ones."""
    member, org = get_member(session, actor, member_id)
    require_manages(actor, org)
    this_year = clock.today().year
    year = year if year is not None and 2000 <= year <= this_year else this_year
    listing = entries.list_entries(session, actor, EntryFilter(member_id=member_id, year=year),
                                   LIMIT, 0)
    rows, total = listing.rows, listing.total
    score, vetoed = worklist.member_score(session, member_id, year, clock.now())
    exemption = standing.active_exemptions(session, [member_id], year).get(member_id)
    panel = standing_panel.panel(session, actor, member, org, clock.today(), here(request))
    member_cases = cases.cases_of_member(session, actor, member_id)
    return page(request, "pages/committee/member.html", {
        "member": member, "org": org, "year": year, "this_year": this_year,
        "exemption": exemption, "rights_suspended": panel["rights_suspended"], "panel": panel,
        "standing_styles": standing_panel.STYLES,
        "rows": worklist.entry_views(session, rows, clock.now()), "total": total,
        "today": clock.today(),
        "score": score, "vetoed": vetoed, "view": "member", "member_cases": member_cases,
        "may_file": case_view.may_file(actor, member, org, member_cases),
        "case_state": case_state, "ground_labels": GROUND_LABELS})
