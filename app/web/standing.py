"""A member's standing on the pages (appraisal.md §1): 转正, suspended rights, exemptions per
year, leaving the membership.

One panel, shown on /committee/members/{id} and in the administrator's member edit; each of
its forms posts here. HTMX gets the panel back; a plain form goes back where it came from,
or, refused or asking to confirm, gets /members/{id}/standing with the panel in that state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import (
    ExemptionReason,
    ExemptionStatus,
    LeaveKind,
    Member,
    MemberExemption,
    MemberSuspension,
    Org,
    Standing,
    SuspensionKind,
)
from app.present.i18n import _
from app.present.labels import EXEMPTION_REASON_LABELS, LEAVE_KIND_LABELS, SUSPENSION_KIND_LABELS
from app.present.messages import message_for
from app.services import members, standing
from app.services.access import Actor, get_member, require_committee, require_manages
from app.services.errors import DomainError, WorkflowConflict, attempt
from app.web.deps import WebActor
from app.web.forms import (
    optional_date,
    parse_choice,
    parse_date,
    parse_int,
    parse_note,
    required_date,
    safe_next,
)
from app.web.render import flash, is_htmx, redirect, render

router = APIRouter()

Text = Annotated[str, Form(max_length=4000)]
Next = Annotated[str, Form(max_length=500)]
PAGE = "pages/standing.html"
PANEL = "partials/standing/panel.html"
STYLES = "/static/parts/standing.css"
EXEMPTIONS_SHOWN = 50
CONFIRMED = "yes"
# The panel's state: which form is open ("full", "suspension", "end-<id>", "exemption",
# "withdraw-<year>", "leave"), what was typed into it, its refusal, a confirm step, a notice.
State = dict[str, Any]
# A form's change: the notice to show when done, or None when it only asked to confirm.
Change = Callable[[Member, Org], str | None]


def panel(session: SessionDep, actor: Actor, member: Member, org: Org, today: date, back: str,
          state: State | None = None) -> dict[str, Any]:
    """What the panel shows, and whether this person may record that the member left (the
    committee above the branch, an administrator)."""
    assert member.id is not None
    listing = standing.list_exemptions(session, actor, member.id, EXEMPTIONS_SHOWN, 0)
    exemptions, total = listing.rows, listing.total
    suspensions = standing.list_suspensions(session, actor, member.id)
    facts = standing.member_facts(session, [member.id], today)[member.id]
    state = state or {}
    offered = _offered(member, org, actor, today, suspensions, exemptions)
    # A refusal of a form the panel no longer offers (ended meanwhile, or never this
    # person's to use) is shown at its top.
    if state.get("error") and state.get("form") not in offered:
        state = state | {"form": None, "refused": state["error"]}
    years = standing.exemption_years(session, member, today)
    if not years:
        offered.discard("exemption")
    # This year, else the nearest year before it still open, else the first.
    default_year = next((y for y in years if y <= today.year), years[0] if years else None)
    return {"member": member, "org": org, "today": today, "years": years,
            "default_year": default_year,
            "rights_suspended": facts.rights_suspended, "suspensions": suspensions,
            "exemptions": exemptions, "exemptions_total": total, "offered": offered,
            "back": back, "state": state}


def _offered(member: Member, org: Org, actor: Actor, today: date,
             suspensions: list[MemberSuspension], exemptions: list[MemberExemption]
             ) -> set[str]:
    """The forms the panel shows: none but the lists once the member has left."""
    if member.standing == Standing.left:
        return set()
    offered = {"suspension", "exemption"}
    if member.standing == Standing.probationary:
        offered.add("full")
    if actor.manages_above(org):
        offered.add("leave")
    offered.update(f"end-{s.id}" for s in suspensions
                   if s.ends_on is None or s.ends_on > today)
    offered.update(f"withdraw-{e.year}" for e in exemptions
                   if e.status == ExemptionStatus.active)
    return offered


def managed_member(session: SessionDep, actor: Actor, member_id: int) -> tuple[Member, Org]:
    """A member whose records this committee member or administrator keeps, with the branch."""
    require_committee(actor, "open this page")
    member, org = get_member(session, actor, member_id)
    require_manages(actor, org)
    return member, org


def _show(request: Request, session: SessionDep, actor: Actor, today: date, member: Member,
          org: Org, back: str, state: State | None = None, status_code: int = 200) -> Response:
    context = {"panel": panel(session, actor, member, org, today, back, state),
               "styles": STYLES}
    return render(request, PAGE, context, partial=PANEL, status_code=status_code)


@router.get("/members/{member_id}/standing")
def standing_page(member_id: int, request: Request, session: SessionDep, actor: WebActor,
                  clock: ClockDep, next: str | None = None) -> Response:
    """The panel alone (HTMX: a form's 取消), or as a page."""
    member, org = managed_member(session, actor, member_id)
    back = safe_next(next, f"/committee/members/{member_id}")
    return _show(request, session, actor, clock.today(), member, org, back)


def _act(request: Request, session: SessionDep, actor: Actor, clock: ClockDep, member_id: int,
         next_: str, form: str, typed: dict[str, str], change: Change) -> Response:
    """Run one form's change in a savepoint; a refusal or a confirm step comes back in the
    panel with what was typed, and a change done is said where the person is."""
    member, org = managed_member(session, actor, member_id)
    back = safe_next(next_, f"/committee/members/{member_id}")
    today = clock.today()
    result = attempt(session, lambda: change(member, org))
    if isinstance(result, DomainError):
        state: State = {"form": form, "typed": typed, "error": message_for(result)}
        return _show(request, session, actor, today, member, org, back, state,
                     result.status_code)
    if result is None:
        state = {"form": form, "typed": typed, "confirm": True}
        return _show(request, session, actor, today, member, org, back, state)
    if is_htmx(request):
        return _show(request, session, actor, today, member, org, back, {"notice": result})
    flash(request, result)
    return redirect(request, back if "#" in back else f"{back}#standing-{member_id}")


def _try(session: SessionDep, change: Callable[[], object]) -> None:
    """The change tried and undone: its refusal shows before the person is asked to confirm."""
    savepoint = session.begin_nested()
    try:
        change()
    finally:
        savepoint.rollback()


@router.post("/members/{member_id}/standing/full")
def make_full(member_id: int, request: Request, session: SessionDep, actor: WebActor,
              clock: ClockDep, full_since: Text = "", confirm: Text = "",
              next: Next = "") -> Response:
    """转正: probationary → full on a date, after a confirm step."""
    def change(member: Member, org: Org) -> str | None:
        if member.standing == Standing.full:
            raise WorkflowConflict(f"{member.name} is a full member already.", "already_full")
        on = parse_date(full_since, "full_since_invalid")

        def to_full() -> None:
            members.update_member(session, actor, member_id,
                                  {"standing": Standing.full, "full_since": on}, clock.now())
        if confirm != CONFIRMED:
            _try(session, to_full)
            return None
        to_full()
        return _("{name}已转为正式党员，转正日期 {on}。").format(name=member.name, on=on)

    return _act(request, session, actor, clock, member_id, next, "full",
                {"full_since": full_since}, change)


@router.post("/members/{member_id}/suspensions")
def add_suspension(member_id: int, request: Request, session: SessionDep, actor: WebActor,
                   clock: ClockDep, kind: Text = "", starts_on: Text = "", ends_on: Text = "",
                   note: Text = "", next: Next = "") -> Response:
    """留党察看 or 中止党员权利 from a date, open or with the day the rights come back."""
    def change(member: Member, org: Org) -> str:
        chosen = parse_choice(kind, SuspensionKind, "suspension_kind_invalid")
        start = parse_date(starts_on, "starts_on_invalid")
        standing.add_suspension(session, actor, member_id, chosen, start,
                                optional_date(ends_on, "ends_on_invalid"), parse_note(note),
                                clock.now())
        return _("已登记{name}的{kind}，自 {on} 起。").format(
            name=member.name, kind=_(SUSPENSION_KIND_LABELS[chosen]), on=start)

    typed = {"kind": kind, "starts_on": starts_on, "ends_on": ends_on, "note": note}
    return _act(request, session, actor, clock, member_id, next, "suspension", typed, change)


@router.post("/members/{member_id}/suspensions/{suspension_id}/end")
def end_suspension(member_id: int, suspension_id: int, request: Request, session: SessionDep,
                   actor: WebActor, clock: ClockDep, ends_on: Text = "", note: Text = "",
                   next: Next = "") -> Response:
    """A suspension ends: `ends_on` is the first day with the rights back."""
    def change(member: Member, org: Org) -> str:
        on = parse_date(ends_on, "ends_on_invalid")
        ended = standing.end_suspension(session, actor, member_id, suspension_id, on,
                                        parse_note(note), clock.now(), clock.today())
        return _("已登记：{name}的{kind}结束，{on} 起恢复党员权利。").format(
            name=member.name, kind=_(SUSPENSION_KIND_LABELS[ended.kind]), on=on)

    return _act(request, session, actor, clock, member_id, next, f"end-{suspension_id}",
                {"ends_on": ends_on, "note": note}, change)


@router.post("/members/{member_id}/exemptions")
def record_exemption(member_id: int, request: Request, session: SessionDep, actor: WebActor,
                     clock: ClockDep, year: Text = "", reason_kind: Text = "", note: Text = "",
                     parent_consent_on: Text = "", meeting_on: Text = "",
                     next: Next = "") -> Response:
    """免评 of a year, with its reason kind, the level above's consent and the meeting."""
    def change(member: Member, org: Org) -> str:
        chosen_year = parse_int(year, "year_out_of_range", 2000, 2100)
        reason = parse_choice(reason_kind, ExemptionReason, "exemption_reason_invalid")
        given = standing.ExemptionIn(
            reason, parse_note(note),
            required_date(parent_consent_on, "consent_on_required", "consent_on_invalid"),
            required_date(meeting_on, "meeting_on_required", "meeting_on_invalid"))
        standing.record_exemption(session, actor, member_id, chosen_year, given, clock.now(),
                                  clock.today())
        return _("已登记{name}的{year}年度免评（{reason}）。").format(
            name=member.name, year=chosen_year, reason=_(EXEMPTION_REASON_LABELS[reason]))

    typed = {"year": year, "reason_kind": reason_kind, "note": note,
             "parent_consent_on": parent_consent_on, "meeting_on": meeting_on}
    return _act(request, session, actor, clock, member_id, next, "exemption", typed, change)


@router.post("/members/{member_id}/exemptions/{year}/withdraw")
def withdraw_exemption(member_id: int, year: int, request: Request, session: SessionDep,
                       actor: WebActor, clock: ClockDep, reason: Text = "",
                       next: Next = "") -> Response:
    """The year's exemption withdrawn with a reason; it stays on the list."""
    def change(member: Member, org: Org) -> str:
        standing.withdraw_exemption(session, actor, member_id, year,
                                    parse_note(reason, "text_too_long"), clock.now())
        return _("已撤回{name}的{year}年度免评。").format(name=member.name, year=year)

    return _act(request, session, actor, clock, member_id, next, f"withdraw-{year}",
                {"reason": reason}, change)


@router.post("/members/{member_id}/leave")
def leave(member_id: int, request: Request, session: SessionDep, actor: WebActor,
          clock: ClockDep, kind: Text = "", on: Text = "", note: Text = "", confirm: Text = "",
          next: Next = "") -> Response:
    """离开党组织, by the committee above the branch or an administrator, after a confirm step
    that says what follows; it cannot be undone."""
    def change(member: Member, org: Org) -> str | None:
        chosen = parse_choice(kind, LeaveKind, "leave_kind_invalid")
        left_on = parse_date(on, "left_on_invalid")

        def record() -> None:
            standing.leave(session, actor, member_id, chosen, left_on, parse_note(note),
                           clock.now(), clock.today())
        if confirm != CONFIRMED:
            _try(session, record)
            return None
        record()
        return _("已登记{name}离开党组织（{kind}，{on}）。其登录已停止，记录全部保留。").format(
            name=member.name, kind=_(LEAVE_KIND_LABELS[chosen]), on=left_on)

    typed = {"kind": kind, "on": on, "note": note}
    return _act(request, session, actor, clock, member_id, next, "leave", typed, change)
