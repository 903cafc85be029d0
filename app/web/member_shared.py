"""Shared by the member pages: the year asked for, rule items and entries as people read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from app.clock import CHINA, Clock
from app.models import Entry
from app.points import Kind, RuleItem, RuleSet
from app.services.errors import NotFound
from app.web.i18n import N_, _, ngettext, rule_item_name

QUARTER_NAMES = {1: N_("一季度"), 2: N_("二季度"), 3: N_("三季度"), 4: N_("四季度")}
# "参加志愿服务(每小时)": the unit is in the name; it is said once, next to the points.
_HOURLY = re.compile(r"\s*[(（]每小时[)）]\s*$")
# The same unit in the shown (perhaps translated) name.
_HOURLY_SHOWN = re.compile(r"\s*[(（](?:每小时|per hour)[)）]\s*$", re.IGNORECASE)


def pick_year(year: int | None, clock: Clock) -> int:
    """This year by default; an earlier year on request; no future years."""
    today = clock.today()
    if year is None:
        return today.year
    if not 2000 <= year <= today.year:
        raise NotFound(f"No score for {year}.")
    return year


def quarter_name(quarter: int) -> str:
    return _(QUARTER_NAMES[quarter])


def day_text(day: date) -> str:
    return _("{m}月{d}日").format(m=day.month, d=day.day)


def moment_text(moment: datetime) -> str:
    """A stored moment on the branch's (Beijing) clock, as people write it."""
    local = moment.astimezone(CHINA)
    return _("{y}年{m}月{d}日 {hm}").format(y=local.year, m=local.month, d=local.day,
                                           hm=local.strftime("%H:%M"))


def signed(points: int) -> str:
    """+2, −3 (a real minus sign, easier to see than a hyphen), 0."""
    return f"+{points}" if points > 0 else (f"−{-points}" if points < 0 else "0")


@dataclass(frozen=True)
class RuleChoice:
    """One item of the self-report picker, as a member reads it."""

    code: str
    name: str
    per_unit: str
    unit: str
    chosen_points: bool
    min_points: int
    max_points: int
    cap: int | None
    counted: int

    @property
    def label(self) -> str:
        return _("{name}（{per_unit}）").format(name=self.name, per_unit=self.per_unit)

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.counted >= self.cap


def rule_name(item: RuleItem) -> str:
    return _HOURLY_SHOWN.sub("", rule_item_name(item.name))


def points_text(points: int) -> str:
    """+2分, −3分, 0分: a signed number of points."""
    return ngettext("{points}分", "{points}分", abs(points)).format(points=signed(points))


def rule_choice(item: RuleItem, counted: int = 0) -> RuleChoice:
    hourly = bool(_HOURLY.search(item.name))
    unit = _("小时") if hourly else _("次")
    if item.chosen_points:
        low, high = item.min_points or 1, item.max_points or 1
        per_unit = _("{low}–{high}分").format(low=low, high=high)
    else:
        low = high = item.points or 0
        per_unit = (ngettext("每小时{points}分", "每小时{points}分", low) if hourly
                    else ngettext("每次{points}分", "每次{points}分", low)).format(points=low)
    return RuleChoice(code=item.code, name=rule_name(item), per_unit=per_unit, unit=unit,
                      chosen_points=item.chosen_points, min_points=low, max_points=high,
                      cap=item.cap, counted=counted)


@dataclass(frozen=True)
class EntryView:
    """One of my entries as the list shows it."""

    id: int
    name: str
    kind: str
    points: str
    amount: str
    day: str
    note: str
    status: str
    reason: str | None
    has_photo: bool


def entry_view(entry: Entry, rules: RuleSet) -> EntryView:
    item = rules.item(entry.rule_code)
    name = rule_name(item) if item else entry.rule_code
    amount = ""
    if item is not None and not item.chosen_points and item.kind is not Kind.veto \
            and entry.quantity > 1:
        amount = (ngettext("{n}小时", "{n}小时", entry.quantity) if _HOURLY.search(item.name)
                  else ngettext("{n}次", "{n}次", entry.quantity)).format(n=entry.quantity)
    reason = entry.reason if entry.status in ("rejected", "revoked") else None
    return EntryView(id=entry.id or 0, name=name, kind=entry.kind,
                     points=points_text(entry.points), amount=amount,
                     day=day_text(entry.occurred_on), note=entry.note, status=entry.status,
                     reason=reason, has_photo=bool(entry.evidence))
