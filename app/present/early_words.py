"""A step taken early in words (app/services/early_steps.py): what a page says before the
button, and what a refusal without a reason says. The same sentences for both, so a person
reads why the reason is asked for before they are refused for leaving it out."""

from __future__ import annotations

from datetime import date, datetime

from app.models import Rating, Review
from app.points import quarter_end
from app.present import i18n
from app.present.i18n import N_, _
from app.present.labels import day_text, quarter_name
from app.services.early_steps import Earliness, unended

# What taking the step before the period ends means, by (a review or a rating, the step).
EFFECTS = {
    ("review", "publish"): N_("现在发布公示，季度结束前还可能有新的积分记录。"),
    ("review", "finalize"): N_("现在确认，本季度剩下的日子就不能再记积分了。"),
    ("rating", "publish"): N_("现在公示，年度结束前本支部党员就会看到评定结果。"),
    ("rating", "submit"): N_("现在上报，年度结束前就交上级党委审批。"),
}


def period_text(earliness: Earliness) -> str:
    """第四季度, or 2026年 for a rating's year."""
    if earliness.quarter:
        return quarter_name(earliness.quarter)
    return _("{year}年").format(year=earliness.year)


def early_warning(earliness: Earliness) -> str:
    """Why its step needs a reason now, and that one is asked for; empty when it needs none.
    E.g. 第四季度到12月31日才结束。现在确认，本季度剩下的日子就不能再记积分了。
    如确需提前，请写明理由。"""
    said = []
    if earliness.ends_on is not None:
        said.append(_("{period}到{day}才结束。").format(period=period_text(earliness),
                                                   day=day_text(earliness.ends_on)))
        kind = "review" if earliness.quarter else "rating"
        said.append(_(EFFECTS[(kind, earliness.step)]))
    if earliness.short:
        said.append(_("公示{n}天，少于本年度规定的最短公示期{min}天。").format(
            n=earliness.notice_days, min=earliness.min_notice_days))
    if not said:
        return ""
    if earliness.ends_on is not None and earliness.short:
        said.append(_("如确需这样做，请写明理由。"))
    elif earliness.short:
        said.append(_("如确需缩短公示期，请写明理由。"))
    else:
        said.append(_("如确需提前，请写明理由。"))
    # Chinese sentences follow each other without a space; English ones need one.
    return (" " if i18n.current_language() == "en" else "").join(said)




# The label of a stored reason, by (step, whether it was taken before the period ended):
# 提前确认理由 for an early one; 确认理由 for a short notice, or a reason given unasked.
REASON_LABELS = {
    ("publish", True): N_("提前发布公示理由："), ("publish", False): N_("发布公示理由："),
    ("finalize", True): N_("提前确认理由："), ("finalize", False): N_("确认理由："),
    ("submit", True): N_("提前上报理由："), ("submit", False): N_("上报理由："),
}
Taken = tuple[str, datetime | None, str | None]  # a step, when it was taken, its reason


def _reason_lines(last_day: date, steps: list[Taken]) -> list[tuple[str, str]]:
    return [(_(REASON_LABELS[(step, unended(last_day, moment) is not None)]), reason)
            for step, moment, reason in steps if reason and moment is not None]


def review_reasons(review: Review) -> list[tuple[str, str]]:
    """The reasons stored for the review's publication and finalization, labelled."""
    return _reason_lines(quarter_end(review.year, review.quarter), [
        ("publish", review.published_at, review.publish_reason),
        ("finalize", review.finalized_at, review.finalize_reason)])


def rating_reasons(rating: Rating) -> list[tuple[str, str]]:
    """The reasons stored for the rating's last publication and its submission, labelled."""
    return _reason_lines(date(rating.year, 12, 31), [
        ("publish", rating.published_at, rating.publish_reason),
        ("submit", rating.submitted_at, rating.submit_reason)])
