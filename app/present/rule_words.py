"""A year's rule set in plain words: what each item is worth, the star bands, the grades
and how far the next star is (docs/scoring.md). Every number comes from the rule set, so a
year whose rules an administrator changed reads as changed; nothing here is a constant of
the default rules."""

from __future__ import annotations

from dataclasses import dataclass

from app.points import (
    ADDING_KINDS,
    ALL_CATEGORIES,
    GRADE_LABELS,
    QUARTERS,
    Grade,
    Kind,
    RatingParams,
    RuleItem,
    RuleSet,
    next_star,
)
from app.present.i18n import N_, _, ngettext
from app.present.labels import CATEGORY_LABELS, HOURLY, rule_name

# Star bands as people say them: 一星 … 五星 (a rule set has five, rules.py checks it).
STAR_NAMES = {1: N_("一星"), 2: N_("二星"), 3: N_("三星"), 4: N_("四星"), 5: N_("五星")}


def star_name(stars: int) -> str:
    """三星; 没有星 for none."""
    if stars <= 0:
        return _("没有星")
    return _(STAR_NAMES[stars]) if stars in STAR_NAMES else _("{n}星").format(n=stars)


def points_words(points: int) -> str:
    """8分 (the unit after a number, as every score on the member pages)."""
    return ngettext("{n}分", "{n}分", points).format(n=points)


def next_star_text(score: int, vetoed: bool, params: RatingParams) -> str | None:
    """再得7分升为三星; None at the top band or when vetoed (no star to reach)."""
    found = next_star(score, vetoed, params)
    if found is None:
        return None
    needed, stars = found
    return ngettext("再得{n}分升为{stars}", "再得{n}分升为{stars}", needed).format(
        n=needed, stars=star_name(stars))


def qualifying_line(params: RatingParams) -> int | None:
    """The annual score from which a member is 合格 (docs/scoring.md, Grades); below
    `basic_below` is at best 基本合格. None when the rules set none (every score qualifies)."""
    return params.basic_below if params.basic_below > 0 else None


@dataclass(frozen=True)
class Band:
    """One line of a table of bands: the scores it takes, and what they give."""

    scores: str
    result: str
    stars: int = 0


def _range(low: int, high: int | None) -> str:
    """96分及以上, 90–95分, 不到60分."""
    if high is None:
        return _("{n}分及以上").format(n=low)
    if low <= 0:
        return _("不到{n}分").format(n=high + 1)
    if low == high:
        return points_words(low)
    return _("{low}–{high}分").format(low=low, high=high)


def star_bands(params: RatingParams) -> list[Band]:
    """From the top band down to no star (docs/scoring.md, Stars)."""
    thresholds = sorted(params.star_thresholds)
    bands = []
    for stars in range(len(thresholds), 0, -1):
        low = thresholds[stars - 1]
        high = thresholds[stars] - 1 if stars < len(thresholds) else None
        bands.append(Band(_range(low, high), star_name(stars), stars))
    if thresholds and thresholds[0] > 0:
        bands.append(Band(_range(0, thresholds[0] - 1), star_name(0), 0))
    return bands


def grade_bands(params: RatingParams) -> list[Band]:
    """The four grades from the top, each with the scores and the events that give it
    (docs/scoring.md, Grades)."""
    def label(grade: Grade) -> str:
        return _(GRADE_LABELS[grade])  # marked for translation in present/labels.py

    divisor = params.excellent_divisor
    excellent = _("{n}分及以上，按得分从高到低评定；每{d}名参评党员最多评1名优秀").format(
        n=params.excellent_min, d=divisor) if divisor > 1 else \
        _("{n}分及以上").format(n=params.excellent_min)
    qualified = _("{n}分及以上，没有评为优秀的").format(n=params.basic_below)
    big = params.basic_single_deduction
    if params.unqualified_below < params.basic_below:
        basic = _("{scores}，或者有一次扣{n}分及以上").format(
            scores=_range(params.unqualified_below, params.basic_below - 1), n=big)
    else:
        basic = _("有一次扣{n}分及以上").format(n=big)
    unqualified = _("{scores}，或者有一票否决").format(
        scores=_range(0, params.unqualified_below - 1)) if params.unqualified_below > 0 \
        else _("有一票否决")
    return [Band(excellent, label(Grade.excellent)), Band(qualified, label(Grade.qualified)),
            Band(basic, label(Grade.basically_qualified)),
            Band(unqualified, label(Grade.unqualified))]


@dataclass(frozen=True)
class ItemLine:
    """One rule item as a member reads it: its name, and what it is worth."""

    code: str
    name: str
    worth: str
    only_for: str | None


def _worth(item: RuleItem) -> str:
    adds = item.kind in ADDING_KINDS
    if item.chosen_points:
        low, high = item.min_points or 1, item.max_points or 1
        each = (_("每次加{low}–{high}分") if adds else _("每次扣{low}–{high}分")).format(
            low=low, high=high)
    elif HOURLY.search(item.name):
        each = (ngettext("每小时加{n}分", "每小时加{n}分", item.points or 0) if adds
                else ngettext("每小时扣{n}分", "每小时扣{n}分", item.points or 0)).format(
            n=item.points or 0)
    else:
        each = (ngettext("每次加{n}分", "每次加{n}分", item.points or 0) if adds
                else ngettext("每次扣{n}分", "每次扣{n}分", item.points or 0)).format(
            n=item.points or 0)
    if item.cap is None:
        return each
    most = (ngettext("全年最多加{n}分", "全年最多加{n}分", item.cap) if adds
            else ngettext("全年最多扣{n}分", "全年最多扣{n}分", item.cap)).format(n=item.cap)
    return _("{each}，{most}").format(each=each, most=most)


def item_line(item: RuleItem) -> ItemLine:
    only = None
    if item.categories != ALL_CATEGORIES:
        only = _("只适用于：{who}").format(who=_("、").join(
            _(CATEGORY_LABELS[c.value]) for c in sorted(item.categories)))
    return ItemLine(code=item.code, name=rule_name(item),
                    worth="" if item.kind is Kind.veto else _worth(item), only_for=only)


@dataclass(frozen=True)
class RulesInWords:
    """The year's rules for the member's page 积分怎么算."""

    year: int
    params: RatingParams
    positive: list[ItemLine]
    bonus: list[ItemLine]
    negative: list[ItemLine]
    deduction: list[ItemLine]
    veto: list[ItemLine]
    any_cap: bool  # some adding item stops at a yearly cap
    review_year_max: int  # four quarters of the best review score
    highest: int | None  # the best annual score the rules allow; None: no upper bound
    stars: list[Band]
    grades: list[Band]


def rules_in_words(rules: RuleSet) -> RulesInWords:
    by_kind: dict[Kind, list[RuleItem]] = {kind: [] for kind in Kind}
    for item in rules.items:
        by_kind[item.kind].append(item)
    adding = by_kind[Kind.positive] + by_kind[Kind.bonus]
    params = rules.params
    review_year_max = params.review_max * len(QUARTERS)
    highest = None if any(i.cap is None for i in adding) else \
        sum(i.cap or 0 for i in adding) + review_year_max

    def lines(kind: Kind) -> list[ItemLine]:
        return [item_line(i) for i in by_kind[kind]]

    return RulesInWords(
        year=rules.year, params=params, positive=lines(Kind.positive), bonus=lines(Kind.bonus),
        negative=lines(Kind.negative), deduction=lines(Kind.deduction), veto=lines(Kind.veto),
        any_cap=any(i.cap is not None for i in adding), review_year_max=review_year_max,
        highest=highest, stars=star_bands(params), grades=grade_bands(params))
