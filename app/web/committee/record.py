"""Recording an entry for a member (any kind of item); it starts approved. A veto or a big
deduction needs a reason and is confirmed once, with what the member's score becomes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import Clock, ClockDep
from app.db import SessionDep
from app.models import EntryStatus
from app.points import DEDUCTING_KINDS, Kind, RatingParams, RuleItem, RuleSet, needs_reason
from app.present.i18n import _, ngettext, rule_item_name
from app.present.labels import HOURLY, KIND_LABELS, points_text, rule_name
from app.present.messages import message_for
from app.services import entries, worklist
from app.services.access import Actor
from app.services.entries import CheckedEntry, NewEntry, NoteRequired
from app.services.errors import DomainError
from app.services.rules import load_rule_set
from app.web.committee.common import CommitteeActor, page
from app.web.forms import FormKey, id_or_none, int_or_none, new_form_key
from app.web.once import Outcome, fingerprint, save_once
from app.web.render import flash, redirect

router = APIRouter()

KIND_ORDER = (Kind.positive, Kind.negative, Kind.bonus, Kind.deduction, Kind.veto)
Field = Annotated[str, Form(max_length=2000)]


def item_label(item: RuleItem) -> str:
    """P07 参加志愿服务（每小时1分，全年上限8分）: the unit said once, with the points."""
    name = rule_name(item)
    if item.kind is Kind.veto:
        return f"{item.code} {name}"
    if item.chosen_points:
        span = _("{low}–{high}分").format(low=item.min_points, high=item.max_points)
    else:
        points = item.points or 0
        span = (ngettext("每小时{points}分", "每小时{points}分", points) if HOURLY.search(item.name)
                else ngettext("每次{points}分", "每次{points}分", points)).format(points=points)
    cap = _("，全年上限{cap}分").format(cap=item.cap) if item.cap else ""
    return _("{code} {name}（{span}{cap}）").format(code=item.code, name=name, span=span,
                                                    cap=cap)


def reason_needed(item: RuleItem, params: RatingParams) -> str:
    """When the note is a reason that must be given (issue 17): "always" (a veto, or an item
    whose least amount already deducts enough), "amount" (a deduction that may: it depends
    on the points or the quantity typed), or "" (never). The page says so by the note."""
    least = item.min_points if item.chosen_points else item.points
    if needs_reason(item.kind, -(least or 0), params):
        return "always"
    return "amount" if item.kind in DEDUCTING_KINDS else ""


def item_groups(rules: RuleSet) -> list[tuple[str, list[tuple[RuleItem, str, str]]]]:
    """The year's items grouped by kind, each with its label and when it needs a reason."""
    return [(kind.value, [(i, item_label(i), reason_needed(i, rules.params))
                          for i in rules.items if i.kind is kind])
            for kind in KIND_ORDER]


def _form_context(session: SessionDep, actor: Actor, values: dict[str, str], today: date,
                  now: datetime) -> dict[str, Any]:
    """The picker: members of my branches, and the year's items grouped by kind."""
    typed = values.get("occurred_on", "")
    year = today.year
    if len(typed) == 10 and typed[:4].isdigit() and 2000 <= int(typed[:4]) <= today.year:
        year = int(typed[:4])
    rules = load_rule_set(session, year, now)
    return {"members": worklist.scope_members(session, actor), "groups": item_groups(rules),
            "values": values, "today": today.isoformat(), "rules_year": year,
            "reason_from": rules.params.basic_single_deduction}


@router.get("/committee/record")
def record_page(request: Request, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
                member_id: str = "", rule_code: str = "", occurred_on: str = "") -> Response:
    values = {"member_id": member_id, "rule_code": rule_code,
              "occurred_on": occurred_on or clock.today().isoformat(), "quantity": "1"}
    return page(request, "pages/committee/record.html",
                _form_context(session, actor, values, clock.today(), clock.now()))


class Typo(Exception):
    """Something typed that cannot be sent to the service as it is."""


def typed_amount(session: SessionDep, values: dict[str, str], occurred_on: date,
                 now: datetime) -> tuple[int | None, int | None]:
    """The quantity or the points typed, whichever the item takes (Typo when it is not a
    number); only that one is sent, so a leftover in the other field does no harm."""
    item = None
    if 2000 <= occurred_on.year <= 2100:
        item = load_rule_set(session, occurred_on.year, now).item(values["rule_code"])
    quantity = points = None
    if item is not None and item.chosen_points:
        points = int_or_none(values["points"])
        if points is None:
            raise Typo(_("该项目须填写分值（{low}–{high}分）。").format(
                low=item.min_points, high=item.max_points))
    elif item is not None and item.kind is not Kind.veto:
        quantity = int_or_none(values["quantity"] or "1")
        if quantity is None:
            raise Typo(_("次数须为1到100之间的整数。"))
    return quantity, points


def _new_entry(session: SessionDep, values: dict[str, str], now: datetime) -> NewEntry:
    member_id = id_or_none(values["member_id"])
    if member_id is None:
        raise Typo(_("请选择党员。"))
    if not values["rule_code"]:
        raise Typo(_("请选择积分项目。"))
    try:
        occurred_on = date.fromisoformat(values["occurred_on"])
    except ValueError:
        raise Typo(_("请填写正确的日期，例如 2025-11-14。")) from None
    if len(values["note"]) > 1000:
        raise Typo(_("说明不能超过1000字。"))
    quantity, points = typed_amount(session, values, occurred_on, now)
    return NewEntry(member_id=member_id, rule_code=values["rule_code"], occurred_on=occurred_on,
                    quantity=quantity, points=points, note=values["note"].strip())


def _form(request: Request, session: SessionDep, actor: Actor, values: dict[str, str],
          clock: Clock, error: Typo | DomainError | None = None) -> Response:
    """The form as typed; with the reason it was refused, if it was."""
    context = _form_context(session, actor, values, clock.today(), clock.now())
    if error is None:
        return page(request, "pages/committee/record.html", context)
    status = error.status_code if isinstance(error, DomainError) else 422
    message = message_for(error) if isinstance(error, DomainError) else str(error)
    return page(request, "pages/committee/record.html",
                context | {"error": message, "note_missing": isinstance(error, NoteRequired)},
                status_code=status)


def _change_sentence(name: str, year: int, before: int, after: int, veto: bool) -> str:
    """记录后，张三 2026 年的积分将由 84 分变为 0 分（一票否决）。确定吗？"""
    if veto:
        text = ngettext("记录后，{name} {year} 年的积分将由 {before} 分变为 {after} 分"
                        "（一票否决）。确定吗？",
                        "记录后，{name} {year} 年的积分将由 {before} 分变为 {after} 分"
                        "（一票否决）。确定吗？", after)
    else:
        text = ngettext("记录后，{name} {year} 年的积分将由 {before} 分变为 {after} 分。确定吗？",
                        "记录后，{name} {year} 年的积分将由 {before} 分变为 {after} 分。确定吗？",
                        after)
    return text.format(name=name, year=year, before=before, after=after)


def _confirmation(request: Request, session: SessionDep, checked: CheckedEntry,
                  values: dict[str, str]) -> Response:
    """A veto or a big deduction: what it does to the member's score, asked once; the
    values go back as hidden fields (no JavaScript needed)."""
    before, after = entries.score_change(session, checked)
    veto = checked.item.kind is Kind.veto
    return page(request, "pages/committee/record_confirm.html", {
        "values": values, "checked": checked, "before": before, "after": after,
        "sentence": _change_sentence(checked.member.name, checked.new.occurred_on.year,
                                    before, after, veto),
        "item_label": f"{checked.item.code} {rule_item_name(checked.item.name)}",
        "amount": _(KIND_LABELS["veto"]) if veto else points_text(checked.points)})


@router.post("/committee/record")
def record_entry(request: Request, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
                 member_id: Field = "", rule_code: Field = "", occurred_on: Field = "",
                 quantity: Field = "", points: Field = "", note: Field = "",
                 confirmed: Field = "", edit: Field = "", form_key: FormKey = "") -> Response:
    """Record it; on a refusal the form comes back as typed, with the reason. A veto or a
    deduction of 10 points or more is first shown with what the member's score becomes,
    and recorded when confirmed (`confirmed`); `edit` goes back to the form as typed. The
    form, its confirmation too, is recorded once however often it is sent (app/web/once.py)."""
    values = {"member_id": member_id.strip(), "rule_code": rule_code.strip(),
              "occurred_on": occurred_on.strip(), "quantity": quantity.strip(),
              "points": points.strip(), "note": note}
    if edit:
        return _form(request, session, actor, values | {"form_key": form_key}, clock)
    asked = fingerprint(request.url.path, values | {"confirmed": confirmed})
    return save_once(request, session, actor, clock, form_key, asked,
                     lambda: _record(request, session, actor, clock, values, confirmed,
                                     form_key),
                     _("这条记录刚才已经保存了，没有重复记录。"))


def _record(request: Request, session: SessionDep, actor: Actor, clock: Clock,
            values: dict[str, str], confirmed: str, form_key: str) -> Outcome:
    # The key goes back with the form or its confirmation: released (nothing was saved),
    # it is the one that saves the form once.
    shown = values | {"form_key": form_key or new_form_key()}
    try:
        new = _new_entry(session, values, clock.now())
        if not confirmed:
            checked = entries.check_entry(session, actor, new, clock.now(), clock.today())
            if checked.needs_reason:
                return Outcome(_confirmation(request, session, checked, shown))
        with session.begin_nested():
            entry = entries.create_entry(session, actor, new, clock.now(), clock.today())
    except (Typo, DomainError) as error:
        return Outcome(_form(request, session, actor, shown, clock, error))
    row = worklist.entry_views(session, [entry], clock.now())[0]
    what = f"{row.member_name} {entry.rule_code} {rule_item_name(row.item_name)}"
    if entry.status == EntryStatus.approved:
        flash(request, _("已记录：{what}").format(what=what))
    else:
        flash(request, _("已提交：{what}。关于您本人的记录需其他支委审核。").format(what=what),
              "warn")
    again = urlencode({"member_id": entry.member_id, "occurred_on": entry.occurred_on})
    at = f"/committee/record?{again}"
    return Outcome(redirect(request, at, trigger="scoresChanged"), at)
