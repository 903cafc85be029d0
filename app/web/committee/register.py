"""签到登记 (the attendance register, issue 17): one rule item on one day for a branch's
members at once, ticked on one list; what it writes is said and confirmed once; then one
entry per member present, N01 for the unexcused absent when asked (app/services/attendance.py).
Works without JavaScript; static/register.js only ticks 全选/全不选 in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import Clock, ClockDep
from app.db import SessionDep
from app.models import Member
from app.points import Kind, RuleItem, RuleSet
from app.present.i18n import N_, _, ngettext, rule_item_name
from app.present.labels import beijing, points_text
from app.present.messages import message_for
from app.services import attendance, worklist
from app.services.access import Actor
from app.services.attendance import MemberProblem, Plan, Register, RegisterRefused, Roster
from app.services.errors import DomainError
from app.services.rules import load_rule_set
from app.web.committee.common import CommitteeActor, page
from app.web.committee.record import Typo, item_groups, item_label, reason_needed, typed_amount
from app.web.forms import id_or_none
from app.web.render import flash, redirect

router = APIRouter()

PATH = "/committee/register"
STYLES = "/static/parts/register.css"
Field = Annotated[str, Form(max_length=2000)]
Marks = Annotated[list[str] | None, Form()]
MARK_LABELS = {"present": N_("到会"), "excused": N_("请假"), "absent": N_("缺席")}


def register_groups(rules: RuleSet) -> list[tuple[str, list[tuple[RuleItem, str, str]]]]:
    """The record form's items less those always recorded one member at a time (a veto, a
    deduction that always reaches the grade line): a list is no place for them."""
    groups = [(kind, [i for i in items if i[2] != "always"])
              for kind, items in item_groups(rules)]
    return [(kind, items) for kind, items in groups if items]


@dataclass(frozen=True)
class Line:
    """One member's line of the register as shown: ticked, excused, and any refusal."""

    member: Member
    present: bool
    excused: bool
    already: int
    problem: str | None


def _default_org(branches: list[Any], actor: Actor) -> str:
    """The one branch the actor manages, or their own branch among several."""
    if len(branches) == 1:
        return str(branches[0].id)
    own = next((b for b in branches if b.id == actor.member_org_id), None)
    return str(own.id) if own is not None else ""


def _day(text: str, today: date) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


def _query(values: dict[str, str], anchor: str = "rg-list", **extra: str) -> str:
    """The register of this branch, item and day, at its list."""
    keys = ("org_id", "rule_code", "occurred_on")
    return f"{PATH}?{urlencode({k: values[k] for k in keys} | extra)}#{anchor}"


def _problem_text(problem: MemberProblem) -> str:
    name = problem.name or _("编号 {id}").format(id=problem.member_id)
    return _("{name}（{mark}）：{why}").format(name=name, mark=_(MARK_LABELS[problem.mark]),
                                             why=message_for(problem.error))


def _page(request: Request, session: SessionDep, actor: Actor, clock: Clock,
          values: dict[str, str], *, present: set[int] | None = None,
          excused: frozenset[int] = frozenset(), absences: bool = False,
          error: str | None = None, problems: list[MemberProblem] | None = None,
          status_code: int = 200) -> Response:
    """The picker, and once a branch, an item and a day are chosen, the branch's list;
    `present` None ticks everyone (a fresh list)."""
    today, now = clock.today(), clock.now()
    branches = worklist.managed_branches(session, actor)
    day = _day(values["occurred_on"], today)
    rules = load_rule_set(session, day.year if day else today.year, now)
    context: dict[str, Any] = {
        "branches": branches, "groups": register_groups(rules), "values": values,
        "today": today.isoformat(), "rules_year": rules.year, "error": error,
        "problems": [_problem_text(p) for p in problems or []], "roster": None,
        "extra_styles": STYLES}
    org_id = id_or_none(values["org_id"])
    if org_id is not None and values["rule_code"] and day is None and not error:
        context["error"] = _("请填写正确的日期，例如 2025-11-14。")
    elif org_id is not None and values["rule_code"] and day is not None:
        try:
            roster = attendance.roster(session, actor, org_id, values["rule_code"], day, now)
        except DomainError as refused:
            context["error"] = error or message_for(refused)
            status_code = max(status_code, refused.status_code)
        else:
            context |= _list_context(session, roster, values, present, excused, absences,
                                     problems or [])
    return page(request, "pages/committee/register.html", context, status_code=status_code)


def _list_context(session: SessionDep, roster: Roster, values: dict[str, str],
                  present: set[int] | None, excused: frozenset[int], absences: bool,
                  problems: list[MemberProblem]) -> dict[str, Any]:
    why = {p.member_id: message_for(p.error) for p in problems}
    # A fresh list ticks everyone but those who already have the item that day (a second
    # register of the same meeting would count them twice); a list sent back keeps its ticks.
    lines = [Line(m, ((m.id or 0) not in roster.already if present is None
                      else (m.id or 0) in present) and m.id not in excused,
                  m.id in excused, roster.already.get(m.id or 0, 0), why.get(m.id or 0))
             for m in roster.members]
    absence = roster.absence_item
    return {
        "roster": roster, "lines": lines, "absences": absences,
        "item_label": item_label(roster.item),
        "reason": reason_needed(roster.item, roster.rules.params),
        "reason_from": roster.rules.params.basic_single_deduction,
        "absence_label": f"{absence.code} {rule_item_name(absence.name)}" if absence else "",
        "absence_points": ngettext("{points}分", "{points}分", absence.points or 0).format(
            points=absence.points or 0) if absence else "",
        "tick_all": _query(values, tick="all"), "tick_none": _query(values, tick="none"),
        "item_names": {i.code: i.name for i in (roster.item, absence) if i is not None},
        "day": attendance.day_entries(session, roster)}


@router.get(PATH)
def register_page(request: Request, session: SessionDep, actor: CommitteeActor,
                  clock: ClockDep, org_id: str = "", rule_code: str = "", occurred_on: str = "",
                  tick: str = "") -> Response:
    """The register: pick the branch, the item and the day; then tick the list."""
    branches = worklist.managed_branches(session, actor)
    values = {"org_id": org_id.strip() or _default_org(branches, actor),
              "rule_code": rule_code.strip(),
              "occurred_on": occurred_on.strip() or clock.today().isoformat(),
              "quantity": "1", "points": "", "note": ""}
    return _page(request, session, actor, clock, values,
                 present=set() if tick == "none" else None)


def _ids(marked: list[str] | None) -> list[int]:
    ids = [id_or_none(v) for v in marked or []]
    if any(i is None for i in ids):
        raise Typo(_("名单有误，请重新打开签到登记。"))
    return [i for i in ids if i is not None]


def _register(session: SessionDep, values: dict[str, str], present: list[int],
              excused: list[int], absences: bool, clock: Clock) -> Register:
    org_id = id_or_none(values["org_id"])
    if org_id is None:
        raise Typo(_("请选择支部。"))
    if not values["rule_code"]:
        raise Typo(_("请选择积分项目。"))
    day = _day(values["occurred_on"], clock.today())
    if day is None:
        raise Typo(_("请填写正确的日期，例如 2025-11-14。"))
    if len(values["note"].strip()) > 1000:
        raise Typo(_("说明不能超过1000字。"))
    quantity, points = typed_amount(session, values, day, clock.now())
    return Register(org_id=org_id, rule_code=values["rule_code"], occurred_on=day,
                    present=present, excused=excused, record_absences=absences,
                    quantity=quantity, points=points, note=values["note"])


def _summary(plan: Plan) -> str:
    """将为 12 名党员各记 +2分；2 名缺席党员各扣 2分；1 名请假党员不记分。确定吗？"""
    parts = []
    if plan.present:
        n = len(plan.present)
        if plan.roster.item.kind is Kind.veto:
            parts.append(ngettext("将对 {n} 名党员记一票否决", "将对 {n} 名党员记一票否决",
                                  n).format(n=n))
        else:
            parts.append(ngettext("将为 {n} 名党员各记 {points}", "将为 {n} 名党员各记 {points}",
                                  n).format(n=n, points=points_text(plan.present[0].points)))
    if plan.absent:
        n, lost = len(plan.absent), abs(plan.absent[0].points)
        parts.append(ngettext("{n} 名缺席党员各扣 {points}", "{n} 名缺席党员各扣 {points}",
                              n).format(n=n, points=ngettext("{points}分", "{points}分",
                                                             lost).format(points=lost)))
    if plan.excused:
        n = len(plan.excused)
        parts.append(ngettext("{n} 名请假党员不记分", "{n} 名请假党员不记分", n).format(n=n))
    if plan.unmarked:
        n = len(plan.unmarked)
        parts.append(ngettext("{n} 名未到会党员不记分", "{n} 名未到会党员不记分", n).format(n=n))
    return _("；").join(parts) + _("。确定吗？")


def _warnings(plan: Plan) -> list[str]:
    item = plan.roster.item
    name = rule_item_name(item.name)
    sep = _("、")
    found = []
    if plan.capped:
        capped = sep.join(_("{name}（{points}）").format(
            name=c.member.name, points=points_text(plan.gains.get(c.member.id or 0, 0)))
            for c in plan.capped)
        found.append(_("以下党员本年度“{item}”已达全年上限（{cap}分），这次记录不再加分或只加一部分："
                       "{names}").format(item=name, cap=item.cap, names=capped))
    already = [c.member.name for c in plan.present if plan.roster.already.get(c.member.id or 0)]
    if already:
        found.append(_("以下党员当日已有“{item}”的记录，请核对是否重复登记：{names}").format(
            item=name, names=sep.join(already)))
    if plan.waiting:
        n = len(plan.waiting)
        found.append(ngettext("其中 {n} 条关于您本人的记录，须经其他支委审核通过后才计入积分。",
                              "其中 {n} 条关于您本人的记录，须经其他支委审核通过后才计入积分。",
                              n).format(n=n))
    return found


def _confirmation(request: Request, plan: Plan, values: dict[str, str]) -> Response:
    """What the register will write, asked once; the marks go back as hidden fields."""
    sep = _("、")
    roster = plan.roster
    return page(request, "pages/committee/register_confirm.html", {
        "plan": plan, "values": values, "sentence": _summary(plan),
        "warnings": _warnings(plan), "extra_styles": STYLES,
        "item_label": f"{roster.item.code} {rule_item_name(roster.item.name)}",
        "amount": points_text(plan.present[0].points) if plan.present
        and roster.item.kind is not Kind.veto else "",
        "back": _query(values),
        "groups": [(_("到会"), sep.join(c.member.name for c in plan.present)),
                   (_("缺席，扣分"), sep.join(c.member.name for c in plan.absent)),
                   (_("请假"), sep.join(m.name for m in plan.excused)),
                   (_("未到会，不记分"), sep.join(m.name for m in plan.unmarked))],
        "present_ids": [c.member.id for c in plan.present],
        "excused_ids": [m.id for m in plan.excused]})


@router.post(PATH)
def record_register(request: Request, session: SessionDep, actor: CommitteeActor,
                    clock: ClockDep, org_id: Field = "", rule_code: Field = "",
                    occurred_on: Field = "", quantity: Field = "", points: Field = "",
                    note: Field = "", present: Marks = None, excused: Marks = None,
                    record_absences: Field = "", confirmed: Field = "",
                    edit: Field = "") -> Response:
    """The ticked list: shown with what it will write (nothing written), and recorded when
    `confirmed`; `edit` goes back to the list as ticked. A 请假 mark wins over a tick. On a
    refusal the list comes back as ticked, with every member's reason."""
    values = {"org_id": org_id.strip(), "rule_code": rule_code.strip(),
              "occurred_on": occurred_on.strip(), "quantity": quantity.strip(),
              "points": points.strip(), "note": note,
              "record_absences": "1" if record_absences else ""}
    absences = bool(record_absences)
    try:
        away = _ids(excused)
        here_ids = [i for i in _ids(present) if i not in set(away)]
    except Typo as typo:
        return _page(request, session, actor, clock, values, error=str(typo), status_code=422)
    ticked, off = set(here_ids), frozenset(away)
    if edit:
        return _page(request, session, actor, clock, values, present=ticked, excused=off,
                     absences=absences)
    try:
        register = _register(session, values, here_ids, away, absences, clock)
        if not confirmed:
            plan = attendance.plan_register(session, actor, register, clock.now(),
                                            clock.today())
            return _confirmation(request, plan, values)
        recorded = attendance.record_register(session, actor, register, clock.now(),
                                              clock.today())
    except RegisterRefused as refused:
        return _page(request, session, actor, clock, values, present=ticked, excused=off,
                     absences=absences, problems=refused.problems, status_code=422)
    except (Typo, DomainError) as error:
        message = message_for(error) if isinstance(error, DomainError) else str(error)
        status = error.status_code if isinstance(error, DomainError) else 422
        return _page(request, session, actor, clock, values, present=ticked, excused=off,
                     absences=absences, error=message, status_code=status)
    what = f"{register.rule_code} {register.occurred_on.isoformat()}"
    if recorded.again:
        flash(request, _("这份签到已于 {at} 登记过，这次没有重复记录。如是当天另一次活动，"
                         "请在说明中注明以示区别。").format(at=beijing(recorded.recorded_at)),
              "warn")
    else:
        n = len(recorded.entries)
        flash(request, ngettext("签到已登记：{what}，共记录 {n} 条。",
                                "签到已登记：{what}，共记录 {n} 条。", n).format(what=what, n=n))
    return redirect(request, _query(values, "done"), trigger="scoresChanged")
