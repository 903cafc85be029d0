"""Stars and proposed grades of the annual rating (docs/scoring.md, Stars and Grades)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from app.points.rules import RatingParams


class Grade(StrEnum):
    excellent = "excellent"
    qualified = "qualified"
    basically_qualified = "basically_qualified"
    unqualified = "unqualified"
    exempt = "exempt"


GRADE_LABELS = {
    Grade.excellent: "优秀",
    Grade.qualified: "合格",
    Grade.basically_qualified: "基本合格",
    Grade.unqualified: "不合格",
    Grade.exempt: "免评",
}


class OverrideRefused(Exception):
    """A committee change of grade that the rules forbid."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Candidate:
    """What the grade rules need to know of one member's year."""

    member_id: int
    score: int
    vetoed: bool = False
    exempt: bool = False
    deducted: int = 0
    largest_deduction: int = 0


def stars(score: int, vetoed: bool, params: RatingParams) -> int:
    if vetoed:
        return 0
    return sum(1 for threshold in params.star_thresholds if score >= threshold)


def excellent_limit(rated: int, params: RatingParams) -> int:
    """At most ⌊n/3⌋ excellent members, n being the non-exempt members rated."""
    return rated // params.excellent_divisor


def propose_grades(candidates: Iterable[Candidate], params: RatingParams) -> dict[int, Grade]:
    """The engine's proposal, in the order the grades are tried (docs/scoring.md, Grades)."""
    grades: dict[int, Grade] = {}
    excellent_pool: list[Candidate] = []
    rated = 0
    for c in candidates:
        if c.exempt:
            grades[c.member_id] = Grade.exempt
            continue
        rated += 1
        if c.vetoed or c.score < params.unqualified_below:
            grades[c.member_id] = Grade.unqualified
        elif c.score < params.basic_below or c.largest_deduction >= params.basic_single_deduction:
            grades[c.member_id] = Grade.basically_qualified
        elif c.score >= params.excellent_min:
            excellent_pool.append(c)
        else:
            grades[c.member_id] = Grade.qualified
    excellent_pool.sort(key=lambda c: (-c.score, c.deducted, c.member_id))
    limit = excellent_limit(rated, params)
    for rank, c in enumerate(excellent_pool):
        grades[c.member_id] = Grade.excellent if rank < limit else Grade.qualified
    return grades


def check_override(
    grades: Mapping[int, Grade], candidate: Candidate, new_grade: Grade, params: RatingParams
) -> None:
    """Refuse a committee change the rules forbid; `grades` are the current grades."""
    if candidate.exempt and new_grade is not Grade.exempt:
        raise OverrideRefused(
            "exempt_member", "This member is exempt (免评) for the year and is not graded."
        )
    if not candidate.exempt and new_grade is Grade.exempt:
        raise OverrideRefused(
            "exempt_not_marked",
            "Mark the member exempt (with a reason) before the rating is created; "
            "a rating cannot make a member exempt.",
        )
    if candidate.vetoed and new_grade is not Grade.unqualified:
        raise OverrideRefused(
            "vetoed_member", "A vetoed member (一票否决) can only be graded unqualified."
        )
    if new_grade is Grade.excellent:
        rated = sum(1 for g in grades.values() if g is not Grade.exempt)
        others = sum(
            1 for m, g in grades.items() if g is Grade.excellent and m != candidate.member_id
        )
        limit = excellent_limit(rated, params)
        if others + 1 > limit:
            raise OverrideRefused(
                "excellent_cap",
                f"At most {limit} of {rated} members may be excellent; "
                "lower another member's grade first.",
            )
