"""The words people read for the app's states and numbers: one set for pages, print and API.

Values are Chinese msgids marked with N_() and translated with _() where they are shown.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from babel.dates import format_date

from app.clock import CHINA
from app.points import RuleItem
from app.present import i18n
from app.present.i18n import N_, _, ngettext, rule_item_name

QUARTER_NAMES = {1: N_("第一季度"), 2: N_("第二季度"), 3: N_("第三季度"), 4: N_("第四季度")}
KIND_LABELS = {"positive": N_("正向得分"), "negative": N_("反向扣分"),
               "bonus": N_("现实表现加分"), "deduction": N_("现实表现扣分"),
               "veto": N_("一票否决")}
STATUS_LABELS = {"pending": N_("待审核"), "approved": N_("已通过"), "rejected": N_("未通过"),
                 "revoked": N_("已撤销"), "draft": N_("草稿"), "published": N_("公示中"),
                 "finalized": N_("已确认"), "open": N_("进行中"), "resolved": N_("已答复"),
                 "approved_rating": N_("已审定"), "submitted_rating": N_("已上报待审批"),
                 "submitted": N_("已上报")}
CATEGORY_LABELS = {"active": N_("在职"), "mobile": N_("流动"), "retired": N_("离退休"),
                   "rural": N_("农村无职")}
ORG_KIND_LABELS = {"committee": N_("党委"), "general_branch": N_("党总支"), "branch": N_("党支部")}
# A member's standing and what goes with it (appraisal.md §1), by the models' enum values.
STANDING_LABELS = {"full": N_("正式党员"), "probationary": N_("预备党员"), "left": N_("已离开")}
LEAVE_KIND_LABELS = {"discipline": N_("开除党籍"), "withdrew": N_("退党"), "died": N_("去世"),
                     "transferred": N_("组织关系转出")}
# Every kind a member may have left by: those above, and those of a disposal case.
LEFT_KIND_LABELS = {**LEAVE_KIND_LABELS, "expelled": N_("除名"), "persuaded": N_("劝退")}
SUSPENSION_KIND_LABELS = {"party_probation": N_("留党察看"),
                          "detained": N_("中止党员权利（被留置或逮捕）")}
EXEMPTION_REASON_LABELS = {
    "unable_to_express": N_("不能表达本人意志"),
    "abroad_self_funded": N_("自费出国半年以上"),
    "serving_sentence": N_("未受留党察看以上处分但正在服刑"),
    "bedridden": N_("年老体弱卧床不起和长期生病生活不能自理"),
    "away_unregistered": N_("应转未转组织关系外出半年以上"),
    "other": N_("其他"),
}
EXEMPTION_STATUS_LABELS = {"active": N_("有效"), "withdrawn": N_("已撤回")}
# app.points.GRADE_LABELS (the engine knows no gettext), marked here for extraction; a test
# keeps the two the same.
GRADE_MSGIDS = (N_("优秀"), N_("合格"), N_("基本合格"), N_("不合格"), N_("免评"), N_("预备党员"))

# "参加志愿服务（每小时）": the unit is in the name; it is said once, next to the points.
HOURLY = re.compile(r"\s*[(（]每小时[)）]\s*$")
# The same unit in the shown (perhaps translated) name.
_HOURLY_SHOWN = re.compile(r"\s*[(（](?:每小时|per hour)[)）]\s*$", re.IGNORECASE)


def quarter_name(quarter: int) -> str:
    return _(QUARTER_NAMES[quarter])


def signed(points: int) -> str:
    """+2, −3 (a real minus sign, easier to see than a hyphen), 0."""
    return f"+{points}" if points > 0 else (f"−{-points}" if points < 0 else "0")


def points_text(points: int) -> str:
    """+2分, −3分, 0分: a signed number of points."""
    return ngettext("{points}分", "{points}分", abs(points)).format(points=signed(points))


def beijing(moment: datetime | None) -> str:
    """A stored UTC moment as Beijing wall-clock time, the way branches read it."""
    if moment is None:
        return ""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def day_text(day: date) -> str:
    return _("{m}月{d}日").format(m=day.month, d=day.day)


def full_day_text(day: date) -> str:
    """A day with its year, as people write it: 2026年1月5日, in English 5 January 2026."""
    if i18n.current_language() == "en":
        return format_date(day, "d MMMM y", locale="en")
    return _("{y}年{m}月{d}日").format(y=day.year, m=day.month, d=day.day)


def signed_on_text(moment: datetime | None) -> str | None:
    """The day a stored moment falls on, on the branch's (Beijing) clock: 2026年1月5日."""
    if moment is None:
        return None
    return full_day_text(moment.astimezone(CHINA).date())


def moment_text(moment: datetime) -> str:
    """A stored moment on the branch's (Beijing) clock, as people write it."""
    local = moment.astimezone(CHINA)
    return _("{y}年{m}月{d}日 {hm}").format(y=local.year, m=local.month, d=local.day,
                                           hm=local.strftime("%H:%M"))


def quantity_text(item_name: str, quantity: int) -> str:
    """3小时 of volunteer service (an hourly item), 3次 of anything else: the same words for
    the member and the committee."""
    return (ngettext("{n}小时", "{n}小时", quantity) if HOURLY.search(item_name)
            else ngettext("{n}次", "{n}次", quantity)).format(n=quantity)


def rule_name(item: RuleItem) -> str:
    """A rule item's name as shown, without the "（每小时）" its points already say."""
    return _HOURLY_SHOWN.sub("", rule_item_name(item.name))
