"""The points engine: plain functions over plain data, no I/O (scoring.md)."""

from app.points.calendar import QUARTERS, quarter_end, quarter_of, quarter_start
from app.points.rating import (
    GRADE_LABELS,
    Candidate,
    Grade,
    OverrideRefused,
    check_override,
    excellent_limit,
    propose_grades,
    stars,
)
from app.points.rules import (
    ADDING_KINDS,
    ALL_CATEGORIES,
    DEDUCTING_KINDS,
    SELF_REPORT_KINDS,
    Category,
    Kind,
    RatingParams,
    RuleItem,
    RuleSet,
    default_rule_items,
    default_rule_set,
)
from app.points.score import ItemCount, ItemTotal, QuarterScore, YearScore, score_year

__all__ = [
    "ADDING_KINDS",
    "ALL_CATEGORIES",
    "DEDUCTING_KINDS",
    "GRADE_LABELS",
    "QUARTERS",
    "SELF_REPORT_KINDS",
    "Candidate",
    "Category",
    "Grade",
    "ItemCount",
    "ItemTotal",
    "Kind",
    "OverrideRefused",
    "QuarterScore",
    "RatingParams",
    "RuleItem",
    "RuleSet",
    "YearScore",
    "check_override",
    "default_rule_items",
    "default_rule_set",
    "excellent_limit",
    "propose_grades",
    "quarter_end",
    "quarter_of",
    "quarter_start",
    "score_year",
    "stars",
]
