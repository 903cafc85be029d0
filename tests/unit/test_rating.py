"""Stars, proposed grades and committee overrides (docs/scoring.md, Stars and Grades).

Every expected value is worked out by hand from docs/scoring.md; the comment on each
case gives the reasoning.
"""

from __future__ import annotations

import pytest

from app.points import (
    Candidate,
    Grade,
    OverrideRefused,
    RatingParams,
    check_override,
    excellent_limit,
    propose_grades,
    stars,
)

PARAMS = RatingParams()
E, Q, B, U, X = (
    Grade.excellent,
    Grade.qualified,
    Grade.basically_qualified,
    Grade.unqualified,
    Grade.exempt,
)


@pytest.mark.parametrize(
    ("score", "vetoed", "expected"),
    [
        pytest.param(0, False, 0, id="0"),
        pytest.param(59, False, 0, id="59_below_60"),
        pytest.param(60, False, 1, id="60"),
        pytest.param(69, False, 1, id="69"),
        pytest.param(70, False, 2, id="70"),
        pytest.param(79, False, 2, id="79"),
        pytest.param(80, False, 3, id="80"),
        pytest.param(89, False, 3, id="89"),
        pytest.param(90, False, 4, id="90"),
        pytest.param(95, False, 4, id="95"),
        pytest.param(96, False, 5, id="96"),
        pytest.param(110, False, 5, id="110_max"),
        pytest.param(96, True, 0, id="vetoed_96"),
        pytest.param(110, True, 0, id="vetoed_110"),
        pytest.param(0, True, 0, id="vetoed_0"),
    ],
)
def test_stars(score: int, vetoed: bool, expected: int) -> None:
    assert stars(score, vetoed, PARAMS) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        pytest.param(0, 0, id="n0"),
        pytest.param(1, 0, id="n1"),
        pytest.param(2, 0, id="n2"),
        pytest.param(3, 1, id="n3"),
        pytest.param(5, 1, id="n5"),  # ⌊5/3⌋ = 1
        pytest.param(6, 2, id="n6"),
        pytest.param(8, 2, id="n8"),  # ⌊8/3⌋ = 2
        pytest.param(9, 3, id="n9"),
        pytest.param(31, 10, id="n31"),  # ⌊31/3⌋ = 10
    ],
)
def test_excellent_limit(n: int, expected: int) -> None:
    assert excellent_limit(n, PARAMS) == expected


def test_excellent_limit_divisor_is_data() -> None:
    # The divisor is part of the year's rule set: ⌊5/2⌋ = 2.
    assert excellent_limit(5, RatingParams(excellent_divisor=2)) == 2


# One member (id 1) rated with two fillers at 75 (qualified), so n = 3 and at most
# ⌊3/3⌋ = 1 excellent unless member 1 is exempt.
@pytest.mark.parametrize(
    ("member", "expected"),
    [
        pytest.param(Candidate(1, 0), U, id="0_unqualified"),
        pytest.param(Candidate(1, 59), U, id="59_unqualified"),
        pytest.param(Candidate(1, 60), B, id="60_basically_qualified"),
        pytest.param(Candidate(1, 69), B, id="69_basically_qualified"),
        pytest.param(Candidate(1, 70), Q, id="70_qualified"),
        pytest.param(Candidate(1, 89), Q, id="89_qualified"),
        pytest.param(Candidate(1, 90), E, id="90_excellent"),
        pytest.param(Candidate(1, 95), E, id="95_excellent"),
        pytest.param(Candidate(1, 110), E, id="110_excellent"),
        # one entry deducting exactly 10 → basically qualified whatever the score
        pytest.param(Candidate(1, 95, deducted=10, largest_deduction=10), B, id="95_single_10"),
        pytest.param(Candidate(1, 75, deducted=10, largest_deduction=10), B, id="75_single_10"),
        pytest.param(Candidate(1, 80, deducted=12, largest_deduction=12), B, id="80_single_12"),
        # largest single entry 9 (even 18 in total) does not trigger the rule
        pytest.param(Candidate(1, 95, deducted=18, largest_deduction=9), E, id="95_single_9"),
        pytest.param(Candidate(1, 75, deducted=9, largest_deduction=9), Q, id="75_single_9"),
        # rule 2 comes before rule 3
        pytest.param(Candidate(1, 59, deducted=10, largest_deduction=10), U, id="59_single_10"),
        pytest.param(Candidate(1, 100, vetoed=True), U, id="vetoed_100"),
        pytest.param(Candidate(1, 75, vetoed=True), U, id="vetoed_75"),
        # rule 1 comes first: exempt beats veto, low score and high score
        pytest.param(Candidate(1, 100, vetoed=True, exempt=True), X, id="exempt_vetoed"),
        pytest.param(Candidate(1, 30, exempt=True), X, id="exempt_30"),
        pytest.param(Candidate(1, 95, exempt=True), X, id="exempt_95"),
    ],
)
def test_grade_of_one_member(member: Candidate, expected: Grade) -> None:
    grades = propose_grades([member, Candidate(2, 75), Candidate(3, 75)], PARAMS)
    assert grades == {1: expected, 2: Q, 3: Q}


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        pytest.param([], {}, id="empty_branch"),
        pytest.param(
            # n=1 → ⌊1/3⌋ = 0 excellent
            [Candidate(1, 100)],
            {1: Q},
            id="n1_no_excellent",
        ),
        pytest.param(
            # n=2 → 0 excellent
            [Candidate(1, 100), Candidate(2, 99)],
            {1: Q, 2: Q},
            id="n2_no_excellent",
        ),
        pytest.param(
            # n=3 → 1: highest score 96 (member 2)
            [Candidate(1, 92), Candidate(2, 96), Candidate(3, 91)],
            {1: Q, 2: E, 3: Q},
            id="n3_one_excellent",
        ),
        pytest.param(
            # n=6 → 2: 93 (4) and 92 (3); 91, 90 qualified; 50 unqualified; 65 basic
            [
                Candidate(1, 90),
                Candidate(2, 91),
                Candidate(3, 92),
                Candidate(4, 93),
                Candidate(5, 50),
                Candidate(6, 65),
            ],
            {1: Q, 2: Q, 3: E, 4: E, 5: U, 6: B},
            id="n6_two_excellent",
        ),
        pytest.param(
            # n=6 → 2 places, only one candidate ≥ 90
            [
                Candidate(1, 90),
                Candidate(2, 89),
                Candidate(3, 80),
                Candidate(4, 75),
                Candidate(5, 70),
                Candidate(6, 70),
            ],
            {1: E, 2: Q, 3: Q, 4: Q, 5: Q, 6: Q},
            id="fewer_candidates_than_places",
        ),
        pytest.param(
            # 6 members, 1 exempt → n=5 → 1 place (counting the exempt would give 2)
            [
                Candidate(1, 100, exempt=True),
                Candidate(2, 95),
                Candidate(3, 94),
                Candidate(4, 75),
                Candidate(5, 75),
                Candidate(6, 75),
            ],
            {1: X, 2: E, 3: Q, 4: Q, 5: Q, 6: Q},
            id="exempt_left_out_of_n",
        ),
        pytest.param(
            # 4 members, 2 exempt → n=2 → 0 excellent
            [
                Candidate(1, 98, exempt=True),
                Candidate(2, 50, exempt=True),
                Candidate(3, 95),
                Candidate(4, 92),
            ],
            {1: X, 2: X, 3: Q, 4: Q},
            id="four_members_two_exempt_no_excellent",
        ),
        pytest.param(
            # vetoed and unqualified members are still in n: n=3 → 1 place for member 3
            [Candidate(1, 100, vetoed=True), Candidate(2, 20), Candidate(3, 92)],
            {1: U, 2: U, 3: E},
            id="vetoed_and_unqualified_count_in_n",
        ),
        pytest.param(
            # a 98 with a single 10-point deduction is basic and takes no place: 91 gets it
            [
                Candidate(1, 98, deducted=10, largest_deduction=10),
                Candidate(2, 91),
                Candidate(3, 50),
            ],
            {1: B, 2: E, 3: U},
            id="single_deduction_leaves_the_pool",
        ),
        pytest.param(
            # tie at 95: deducted 2 (member 2) before deducted 5 (member 1)
            [Candidate(1, 95, deducted=5), Candidate(2, 95, deducted=2), Candidate(3, 70)],
            {1: Q, 2: E, 3: Q},
            id="tie_broken_by_deducted",
        ),
        pytest.param(
            # tie at 95 and deducted 2: member 4 before member 7, whatever the input order
            [Candidate(7, 95, deducted=2), Candidate(4, 95, deducted=2), Candidate(9, 70)],
            {4: E, 7: Q, 9: Q},
            id="tie_broken_by_member_id",
        ),
        pytest.param(
            # score first: 96 with 8 deducted beats 95 with 0
            [Candidate(1, 96, deducted=8), Candidate(2, 95), Candidate(3, 70)],
            {1: E, 2: Q, 3: Q},
            id="score_before_deducted",
        ),
        pytest.param(
            # n=6 → 2 places for five at 95, ordered 5 (deducted 1), then deducted 3 by id:
            # 2, 3, 6, then 4 (deducted 4) → members 5 and 2
            [
                Candidate(6, 95, deducted=3),
                Candidate(4, 95, deducted=4),
                Candidate(3, 95, deducted=3),
                Candidate(5, 95, deducted=1),
                Candidate(2, 95, deducted=3),
                Candidate(1, 70),
            ],
            {1: Q, 2: E, 3: Q, 4: Q, 5: E, 6: Q},
            id="tie_at_the_cutoff",
        ),
    ],
)
def test_propose_grades(members: list[Candidate], expected: dict[int, Grade]) -> None:
    assert propose_grades(members, PARAMS) == expected


# A branch of 6 with member 6 exempt: n = 5 → at most 1 excellent, held by member 1.
BRANCH = {1: E, 2: Q, 3: Q, 4: B, 5: U, 6: X}
# n = 6 → at most 2 excellent, held by members 1 and 2.
BRANCH_OF_6 = {1: E, 2: E, 3: Q, 4: Q, 5: Q, 6: Q}


@pytest.mark.parametrize(
    ("grades", "member", "new_grade", "refused"),
    [
        pytest.param(BRANCH, Candidate(1, 95), Q, None, id="lower_excellent_ok"),
        pytest.param(BRANCH, Candidate(1, 95), E, None, id="excellent_again_ok"),
        # others excellent = 1 (member 1), 1 + 1 = 2 > 1
        pytest.param(BRANCH, Candidate(2, 95), E, "excellent_cap", id="raise_when_cap_full"),
        pytest.param(BRANCH, Candidate(3, 80), B, None, id="lower_qualified_ok"),
        pytest.param(BRANCH, Candidate(4, 65), Q, None, id="raise_basic_to_qualified_ok"),
        pytest.param(BRANCH, Candidate(3, 80), U, None, id="lower_to_unqualified_ok"),
        # n=3 → 1 place, free
        pytest.param({1: Q, 2: Q, 3: Q}, Candidate(2, 85), E, None, id="raise_when_place_free"),
        # n=2 → 0 places
        pytest.param({1: Q, 2: Q}, Candidate(1, 95), E, "excellent_cap", id="n2_no_place"),
        # 3 members of which 1 exempt → n=2 → 0 places (counting the exempt would give 1)
        pytest.param(
            {1: Q, 2: Q, 3: X}, Candidate(1, 95), E, "excellent_cap", id="exempt_not_in_n"
        ),
        # n=6 → 2 places; members 1 and 2 hold them
        pytest.param(BRANCH_OF_6, Candidate(2, 95), E, None, id="n6_holder_again_ok"),
        pytest.param(BRANCH_OF_6, Candidate(3, 95), E, "excellent_cap", id="n6_third_refused"),
        pytest.param({**BRANCH_OF_6, 2: Q}, Candidate(3, 95), E, None, id="n6_place_freed_ok"),
        # vetoed: only unqualified
        pytest.param(BRANCH, Candidate(5, 0, vetoed=True), U, None, id="vetoed_stays_unq"),
        pytest.param(
            BRANCH, Candidate(5, 0, vetoed=True), B, "vetoed_member", id="vetoed_to_basic"
        ),
        pytest.param(
            BRANCH, Candidate(5, 0, vetoed=True), Q, "vetoed_member", id="vetoed_to_qualified"
        ),
        pytest.param(
            {1: Q, 2: Q, 3: U},
            Candidate(3, 100, vetoed=True),
            E,
            "vetoed_member",
            id="vetoed_to_excellent_with_place_free",
        ),
        # exempt is fixed before the rating: neither leaves nor enters it
        pytest.param(BRANCH, Candidate(6, 80, exempt=True), X, None, id="exempt_stays"),
        pytest.param(
            BRANCH, Candidate(6, 80, exempt=True), Q, "not_graded", id="exempt_to_qualified"
        ),
        pytest.param(BRANCH, Candidate(6, 80, exempt=True), U, "not_graded", id="exempt_to_unq"),
        pytest.param(BRANCH, Candidate(3, 80), X, "exempt_not_marked", id="mark_exempt"),
        # probationary lines (预备党员) are not graded either (appraisal.md §1)
        pytest.param(BRANCH, Candidate(7, 95, probationary=True), Grade.probationary, None,
                     id="probationary_stays"),
        pytest.param(BRANCH, Candidate(7, 95, probationary=True), E, "not_graded",
                     id="probationary_to_excellent"),
        pytest.param(BRANCH, Candidate(3, 80), Grade.probationary, "not_probationary",
                     id="mark_probationary"),
        pytest.param(
            BRANCH,
            Candidate(5, 0, vetoed=True),
            X,
            "exempt_not_marked",
            id="vetoed_to_exempt",
        ),
    ],
)
def test_check_override(
    grades: dict[int, Grade], member: Candidate, new_grade: Grade, refused: str | None
) -> None:
    if refused is None:
        check_override(grades, member, new_grade, PARAMS)
        return
    with pytest.raises(OverrideRefused) as caught:
        check_override(grades, member, new_grade, PARAMS)
    assert caught.value.code == refused
    assert caught.value.message


def test_n_counts_graded_lines_only() -> None:
    """docs/scoring.md Example E: 6 full members, 7 full but exempt, 8 probationary with 99.
    n = 6, so ⌊6/3⌋ = 2 excellent: 1 (98) and 2 (95, nothing deducted); 3 (95, 3 deducted)
    is the third candidate and qualified; 8 would top the list but is not graded."""
    candidates = [
        Candidate(1, 98, deducted=2, largest_deduction=2),
        Candidate(2, 95),
        Candidate(3, 95, deducted=3, largest_deduction=3),
        Candidate(4, 92, deducted=10, largest_deduction=10),
        Candidate(5, 65),
        Candidate(6, 0, vetoed=True),
        Candidate(7, 40, exempt=True),
        Candidate(8, 99, probationary=True),
    ]
    assert propose_grades(candidates, PARAMS) == {
        1: E, 2: E, 3: Q, 4: B, 5: B, 6: U, 7: X, 8: Grade.probationary}
    # With 8 counted in n the limit would still be 2; with five full members it is 1.
    five = [c for c in candidates if c.member_id != 6]
    assert propose_grades(five, PARAMS)[2] == Q
