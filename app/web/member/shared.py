"""Shared by the member pages: the year asked for, rule items and entries as people read them."""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock
from app.models import Entry, EntryStatus
from app.points import SELF_REPORT_KINDS, Kind, RatingParams, RuleItem, RuleSet
from app.present.i18n import N_, _, ngettext
from app.present.labels import HOURLY, day_text, points_text, quantity_text, rule_name
from app.services.errors import NotFound
from app.services.member_score import NoReview


def pick_year(year: int | None, clock: Clock) -> int:
    """This year by default; an earlier year on request; no future years."""
    today = clock.today()
    if year is None:
        return today.year
    if not 2000 <= year <= today.year:
        raise NotFound(f"No score for {year}.")
    return year


def review_text(score: int | None, params: RatingParams) -> str:
    """A review score (评议分) as a member reads it: 3/5, out of the year's best; "—" for one
    not published yet."""
    return "—" if score is None else f"{score}/{params.review_max}"


# Why a quarter has, and will have, no review score of mine (app/services/member_score.py).
NO_REVIEW_TEXTS: dict[NoReview, str] = {
    "not_joined": N_("这个季度您还没有入党，不计评议分。"),
    "not_recorded": N_("这个季度在您录入本支部之前，不计评议分。"),
    "not_listed": N_("这个季度评议时您还不在本支部，不计评议分。"),
}


def no_review_text(why: NoReview) -> str:
    return _(NO_REVIEW_TEXTS[why])


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


def rule_choice(item: RuleItem, counted: int = 0) -> RuleChoice:
    hourly = bool(HOURLY.search(item.name))
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
    year: int = 0
    # Its correction sent again, or the rejected entry it corrects (issue 17).
    resubmitted_by: Entry | None = None
    resubmits: Entry | None = None
    # Rejected, not sent again yet, of an item members report themselves: it may be
    # corrected and sent again, unless its quarter is confirmed (then it says so).
    may_resubmit: bool = False
    quarter_closed: bool = False
    # An approved entry its item's annual cap stopped, wholly or in part: what counted.
    cap_note: str = ""


def cap_note(entry: Entry, counted: int | None) -> str:
    """已达全年上限，不再计分 (or 只计1分) beside an approved entry the cap stopped."""
    if counted is None or entry.status != EntryStatus.approved or counted >= abs(entry.points):
        return ""
    if counted == 0:
        return _("已达全年上限，这一条不再计分")
    return ngettext("已达全年上限，这一条只计{n}分", "已达全年上限，这一条只计{n}分",
                    counted).format(n=counted)


def entry_view(entry: Entry, rules: RuleSet, resubmitted_by: Entry | None = None,
               resubmits: Entry | None = None, quarter_closed: bool = False,
               counted: int | None = None) -> EntryView:
    item = rules.item(entry.rule_code)
    name = rule_name(item) if item else entry.rule_code
    amount = ""
    if item is not None and not item.chosen_points and item.kind is not Kind.veto \
            and entry.quantity > 1:
        amount = quantity_text(item.name, entry.quantity)
    reason = entry.reason if entry.status in (EntryStatus.rejected, EntryStatus.revoked) else None
    return EntryView(id=entry.id or 0, name=name, kind=entry.kind,
                     points=points_text(entry.points), amount=amount,
                     day=day_text(entry.occurred_on), note=entry.note, status=entry.status,
                     reason=reason, has_photo=bool(entry.evidence), year=entry.year,
                     resubmitted_by=resubmitted_by, resubmits=resubmits,
                     may_resubmit=entry.status == EntryStatus.rejected and resubmitted_by is None
                     and Kind(entry.kind) in SELF_REPORT_KINDS,
                     quarter_closed=quarter_closed, cap_note=cap_note(entry, counted))
