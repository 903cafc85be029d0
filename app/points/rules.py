"""The rule set of one year as plain data: items, caps and the rating thresholds
(docs/scoring.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    positive = "positive"
    negative = "negative"
    bonus = "bonus"
    deduction = "deduction"
    veto = "veto"


class Category(StrEnum):
    active = "active"
    mobile = "mobile"
    retired = "retired"
    rural = "rural"


ALL_CATEGORIES: frozenset[Category] = frozenset(Category)
# Kinds that add to the score; the others take away (veto takes everything).
# A rule item's code: 1 to 10 capital letters and digits, a letter first (P01, V01, B01).
RULE_CODE_PATTERN = r"^[A-Z][A-Z0-9]{0,9}$"

ADDING_KINDS = frozenset({Kind.positive, Kind.bonus})
DEDUCTING_KINDS = frozenset({Kind.negative, Kind.deduction})
# Kinds a member may self-report (docs/scoring.md, Workflow 1).
SELF_REPORT_KINDS = ADDING_KINDS


@dataclass(frozen=True)
class RuleItem:
    """One line of the rule table. `points` is None where the recorder chooses them."""

    code: str
    kind: Kind
    name: str
    points: int | None
    cap: int | None = None
    min_points: int | None = None
    max_points: int | None = None
    categories: frozenset[Category] = ALL_CATEGORIES

    @property
    def chosen_points(self) -> bool:
        return self.points is None and self.kind is not Kind.veto

    def applies_to(self, category: Category | str) -> bool:
        return Category(category) in self.categories


@dataclass(frozen=True)
class RatingParams:
    """Numbers of the Stars and Grades sections; data per year like the items."""

    review_max: int = 5
    review_default: int = 5
    # Minimum annual score for 1, 2, 3, 4 and 5 stars.
    star_thresholds: tuple[int, ...] = (60, 70, 80, 90, 96)
    unqualified_below: int = 60
    basic_below: int = 70
    basic_single_deduction: int = 10
    excellent_min: int = 90
    excellent_divisor: int = 3
    # Procedural (appraisal.md §6): editable after the year's rules freeze.
    ballot_required: bool = True
    rating_notice_days: int = 5
    rectify_months: int = 6
    # A notice (公示) shorter than this needs a reason, for reviews and ratings alike.
    min_notice_days: int = 5


@dataclass(frozen=True)
class RuleSet:
    year: int
    items: tuple[RuleItem, ...]
    params: RatingParams = field(default_factory=RatingParams)
    # Looked up once per entry row when a year is scored: a dict, not a scan.
    _by_code: dict[str, RuleItem] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {i.code: i for i in self.items})

    def item(self, code: str) -> RuleItem | None:
        return self._by_code.get(code)


def needs_reason(kind: Kind, points: int, params: RatingParams) -> bool:
    """A veto, or one entry deducting `basic_single_deduction` points or more (signed
    `points` at most its minus): each alone caps the member's grade (docs/scoring.md,
    Grades), so the member must be told why, in the entry's note (issue 17)."""
    return kind is Kind.veto or -points >= params.basic_single_deduction


def _fixed(code: str, kind: Kind, name: str, points: int, cap: int | None = None) -> RuleItem:
    return RuleItem(code=code, kind=kind, name=name, points=points, cap=cap)


def default_rule_items() -> tuple[RuleItem, ...]:
    """The default rule set (docs/scoring.md, Rule items)."""
    p, n = Kind.positive, Kind.negative
    return (
        _fixed("P01", p, "参加集中学习", 2, 8),
        _fixed("P02", p, "参加“三会一课”", 1, 8),
        _fixed("P03", p, "参加主题党日", 2, 8),
        _fixed("P04", p, "按时足额交纳党费", 2, 8),
        _fixed("P05", p, "完成组织交办任务", 2, 8),
        _fixed("P06", p, "公开承诺并践诺", 4, 8),
        _fixed("P07", p, "参加志愿服务（每小时）", 1, 8),
        _fixed("P08", p, "联系服务群众", 2, 8),
        _fixed("P09", p, "提交思想汇报或心得", 2, 8),
        _fixed("P10", p, "急难险重任务中发挥先锋作用", 4, 8),
        _fixed("N01", n, "无故缺席组织生活", 2),
        _fixed("N02", n, "不参加学习或无学习记录", 3),
        _fixed("N03", n, "经催缴仍未交纳党费", 2),
        _fixed("N04", n, "不完成或推诿组织任务", 3),
        _fixed("N05", n, "不作承诺或承诺未兑现", 3),
        _fixed("N06", n, "发表不当言论", 10),
        _fixed("N07", n, "违反中央八项规定精神", 10),
        _fixed("N08", n, "违反法律法规或单位规章", 5),
        _fixed("N09", n, "损害群众利益", 5),
        _fixed("N10", n, "参与不良风气（赌博、大操大办等）", 5),
        RuleItem("B01", Kind.bonus, "现实表现加分", None, cap=10, min_points=1, max_points=5),
        RuleItem("D01", Kind.deduction, "现实表现扣分", None, min_points=1, max_points=10),
        RuleItem("V01", Kind.veto, "受到党纪处分或被纪委通报", None),
        RuleItem("V02", Kind.veto, "违法犯罪", None),
        RuleItem("V03", Kind.veto, "参加邪教或非法组织", None),
        RuleItem("V04", Kind.veto, "严重违背社会公德造成恶劣影响", None),
    )


def default_rule_set(year: int) -> RuleSet:
    return RuleSet(year=year, items=default_rule_items())
