"""Shared by the member pages: the year asked for, rule items and entries as people read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from app.clock import CHINA, Clock
from app.models import Entry
from app.points import Kind, RuleItem, RuleSet
from app.services.errors import NotFound
from app.web.i18n import _

QUARTER_NAMES = {1: "一季度", 2: "二季度", 3: "三季度", 4: "四季度"}
# "参加志愿服务(每小时)": the unit is in the name; it is said once, next to the points.
_HOURLY = re.compile(r"\s*[(（]每小时[)）]\s*$")


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
        return f"{self.name}（{self.per_unit}）"

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.counted >= self.cap


def rule_name(item: RuleItem) -> str:
    return _HOURLY.sub("", item.name)


def rule_choice(item: RuleItem, counted: int = 0) -> RuleChoice:
    hourly = bool(_HOURLY.search(item.name))
    unit = _("小时") if hourly else _("次")
    if item.chosen_points:
        low, high = item.min_points or 1, item.max_points or 1
        per_unit = _("{low}–{high}分").format(low=low, high=high)
    else:
        low = high = item.points or 0
        per_unit = _("每{unit}{points}分").format(unit=unit, points=item.points)
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
        amount = _("{n}{unit}").format(n=entry.quantity, unit=rule_choice(item).unit)
    reason = entry.reason if entry.status in ("rejected", "revoked") else None
    return EntryView(id=entry.id or 0, name=name, kind=entry.kind,
                     points=signed(entry.points), amount=amount,
                     day=day_text(entry.occurred_on), note=entry.note, status=entry.status,
                     reason=reason, has_photo=bool(entry.evidence))
