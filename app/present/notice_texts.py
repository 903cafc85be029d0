"""A member's notices as people read them: one plain sentence each, in the request's language.

Used by the pages (app/web/member/notices.py, the 消息 block of /me) and by the JSON API's `text`
(app/api/notices.py), so both say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.clock import CHINA
from app.models import Rating, RatingStatus, ReviewStatus
from app.present import case_words
from app.present.i18n import _, ngettext
from app.present.labels import day_text, quarter_name, rule_name
from app.services import notices as service
from app.services.notices import Notice
from app.services.waiting import RETURNED, RatingNews


@dataclass(frozen=True)
class NoticeLine:
    """One notice as shown: the sentence, when, where to look, and the link's words."""

    key: str
    kind: str
    text: str
    when: str
    link: str
    link_text: str
    unseen: bool
    good: bool | None  # True: points added; False: refused, deducted or revoked; None: news


def _points(points: int, kind: str) -> str:
    if kind == "veto":
        return _("记为一票否决")
    if points >= 0:
        return ngettext("加{n}分", "加{n}分", points).format(n=points)
    return ngettext("扣{n}分", "扣{n}分", -points).format(n=-points)


def short_moment(moment: datetime) -> str:
    """3月5日 14:30, on the branch's (Beijing) clock."""
    local = moment.astimezone(CHINA)
    return _("{m}月{d}日 {hm}").format(m=local.month, d=local.day, hm=local.strftime("%H:%M"))


def _review_title(year: int, quarter: int) -> str:
    return _("{year}年{quarter}").format(year=year, quarter=quarter_name(quarter))


def notice_text(notice: Notice) -> str:
    """The sentence, e.g. 您3月5日报的「参加主题党日」已通过，加2分."""
    entry, review, rating = notice.entry, notice.review, notice.rating
    if notice.case is not None:
        return _case_text(notice)
    if rating is not None:
        return _rating_text(notice.kind, rating.year, notice)
    if entry is not None:
        item = rule_name(notice.item) if notice.item else entry.rule_code
        day = day_text(entry.occurred_on)
        if notice.kind == service.ENTRY_APPROVED:
            return _("您{day}报的「{item}」已通过，{points}").format(
                day=day, item=item, points=_points(entry.points, entry.kind))
        if notice.kind == service.ENTRY_REJECTED:
            return _("您{day}报的「{item}」没有通过，原因：{reason}").format(
                day=day, item=item, reason=entry.reason or "")
        if notice.kind == service.ENTRY_RECORDED:
            points = _points(entry.points, entry.kind)
            if (entry.kind == "veto" or entry.points < 0) and entry.note.strip():
                # Points taken away: the member is told why (issue 17).
                return _("支委给您记了{day}的「{item}」，{points}，理由：{note}").format(
                    day=day, item=item, points=points, note=entry.note.strip())
            return _("支委给您记了{day}的「{item}」，{points}").format(
                day=day, item=item, points=points)
        return _("您{day}的「{item}」已被撤销，原因：{reason}").format(
            day=day, item=item, reason=entry.reason or "")
    if review is not None and notice.objection is not None:
        return _("您对{title}评议结果的异议，支委已答复：{response}").format(
            title=_review_title(review.year, review.quarter),
            response=notice.objection.response or "")
    if review is not None:
        title = _review_title(review.year, review.quarter)
        if review.notice_until is None or review.status == ReviewStatus.finalized:
            return _("{title}评议结果已公示").format(title=title)
        return _("{title}评议结果已公示，公示期到{until}，有异议请在此前提出").format(
            title=title, until=short_moment(review.notice_until))
    return ""


def _rating_text(kind: str, year: int, notice: Notice) -> str:
    """The annual rating's notices; never a count of votes."""
    rating = notice.rating
    assert rating is not None
    if kind == service.BALLOT_OPEN:
        return _("{year}年度民主评议党员测评已开始，请您投票（每人一票，投出后不能修改）").format(
            year=year)
    if kind == service.OBJECTION_ANSWERED and notice.objection is not None:
        return _("您对{year}年度评星定级结果的异议，支委已答复：{response}").format(
            year=year, response=notice.objection.response or "")
    if _objections_invited(rating) and rating.notice_until is not None:
        return _("{year}年度评星定级结果已公示，公示期到{until}，有异议请在此前提出").format(
            year=year, until=short_moment(rating.notice_until))
    return _("{year}年度评星定级结果已公示").format(year=year)


def _case_text(notice: Notice) -> str:
    """The member's own disposal case: what happened and what it means for them."""
    case = notice.case
    assert case is not None
    if notice.kind == service.CASE_FILED:
        return _("支部委员会启动了关于您的组织处置（理由：{ground}）。每一步都会记录在案；"
                 "支部大会表决前，您可以提出申辩。").format(
            ground=_(case_words.GROUND_LABELS[case.ground]))
    if notice.kind == service.CASE_DEADLINE and notice.deadline is not None:
        return _("您的限期改正将于{day}期满，还有一个月。期满后，支部委员会将对您的改正情况"
                 "进行考察。").format(day=case_words.day_text(notice.deadline))
    step = notice.step
    if step is not None and step.result == "refuse":
        return _("上级党委没有批准对您的处置意见，案件已办结，不对您作处置。")
    if notice.measure == "rectify" and notice.deadline is not None:
        return _("上级党委批准对您{measure}，改正期限至{day}。请在期限内改正；期满后，支部"
                 "委员会将考察您的改正情况。").format(
            measure=case_words.measure_text(notice.measure, notice.months),
            day=case_words.day_text(notice.deadline))
    if notice.measure == "persuade":
        return _("上级党委批准劝您退党。请向支部委员会表明您是否同意退党；如不同意，"
                 "支部可以按程序予以除名。")
    return _("上级党委批准对您予以除名。您对处置不服的，可以提出申诉。")


def _objections_invited(rating: Rating) -> bool:
    """Published with a notice period (not 0 days): members may object until it ends."""
    return rating.status == RatingStatus.published and rating.notice_until is not None \
        and rating.published_at is not None and rating.notice_until > rating.published_at


def _link_text(notice: Notice) -> str:
    if notice.case is not None:
        return _("查看案件")
    if notice.kind == service.BALLOT_OPEN:
        return _("去投票")
    published = (notice.review is not None
                 and notice.review.status == ReviewStatus.published) or (
        notice.rating is not None and _objections_invited(notice.rating))
    if notice.kind in (service.REVIEW_PUBLISHED, service.RATING_PUBLISHED) and published:
        return _("看结果、提异议")
    if notice.kind in (service.REVIEW_PUBLISHED, service.RATING_PUBLISHED,
                       service.OBJECTION_ANSWERED):
        return _("看结果")
    return _("看记录")


def _good(notice: Notice) -> bool | None:
    if notice.case is not None:
        return None
    if notice.kind in (service.ENTRY_REJECTED, service.ENTRY_REVOKED):
        return False
    if notice.entry is not None:
        return notice.entry.points > 0
    return None


def notice_line(notice: Notice) -> NoticeLine:
    return NoticeLine(key=notice.key, kind=notice.kind, text=notice_text(notice),
                      when=short_moment(notice.at), link=notice.link,
                      link_text=_link_text(notice), unseen=notice.unseen, good=_good(notice))


def rating_news_text(news: RatingNews) -> str:
    """For the branch's committee: the level above returned (why) or approved a rating."""
    if news.kind == RETURNED:
        return _("{branch}{year}年度评星定级被上级退回，原因：{reason}").format(
            branch=news.org_name, year=news.year, reason=news.reason or "")
    return _("{branch}{year}年度评星定级已经上级审批同意").format(
        branch=news.org_name, year=news.year)
