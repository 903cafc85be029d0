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
    probationary = "probationary"


# The grades of lines that are not graded (appraisal.md §1): never proposed by the rules
# below, never given by a committee, left out of n.
NOT_GRADED = frozenset({Grade.exempt, Grade.probationary})


GRADE_LABELS = {
    Grade.excellent: "优秀",
    Grade.qualified: "合格",
    Grade.basically_qualified: "基本合格",
    Grade.unqualified: "不合格",
    Grade.exempt: "免评",
    Grade.probationary: "预备党员",
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
    probationary: bool = False

    @property
    def not_graded(self) -> Grade | None:
        """`exempt` or `probationary` for a line that is not graded, in rule 1's order."""
        if self.exempt:
            return Grade.exempt
        return Grade.probationary if self.probationary else None


def stars(score: int, vetoed: bool, params: RatingParams) -> int:
    if vetoed:
        return 0
    return sum(1 for threshold in params.star_thresholds if score >= threshold)


def next_star(score: int, vetoed: bool, params: RatingParams) -> tuple[int, int] | None:
    """(points still needed, stars then) for the next star band above `score`, or None at
    the top band or when vetoed (docs/scoring.md, Stars): "再得7分升为三星"."""
    if vetoed:
        return None
    for band, threshold in enumerate(sorted(params.star_thresholds), start=1):
        if score < threshold:
            return threshold - score, band
    return None


def excellent_limit(rated: int, params: RatingParams) -> int:
    """At most ⌊n/3⌋ excellent members, n being the graded lines (appraisal.md §1)."""
    return rated // params.excellent_divisor


def propose_grades(candidates: Iterable[Candidate], params: RatingParams) -> dict[int, Grade]:
    """The engine's proposal, in the order the grades are tried (docs/scoring.md, Grades)."""
    grades: dict[int, Grade] = {}
    excellent_pool: list[Candidate] = []
    rated = 0
    for c in candidates:
        if (ungraded := c.not_graded) is not None:
            grades[c.member_id] = ungraded
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
    if candidate.not_graded is not None:
        if new_grade is candidate.not_graded:
            return
        raise OverrideRefused(
            "not_graded", "This line is not graded (exempt or probationary) and keeps its grade."
        )
    if new_grade in NOT_GRADED:
        raise OverrideRefused(
            "exempt_not_marked" if new_grade is Grade.exempt else "not_probationary",
            "Record the member's exemption for the year, or their probationary standing, "
            "before the rating is created; a grade change cannot make a line ungraded.",
        )
    if candidate.vetoed and new_grade is not Grade.unqualified:
        raise OverrideRefused(
            "vetoed_member", "A vetoed member (一票否决) can only be graded unqualified."
        )
    if new_grade is Grade.excellent:
        rated = sum(1 for g in grades.values() if g not in NOT_GRADED)
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
