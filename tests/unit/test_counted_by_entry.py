"""Which entry an item's annual cap stops (docs/scoring.md, The score), worked out by
hand from the default rule set: P01 is 2 points an entry, capped at 8 a year; B01 is 1–5,
capped at 10; N01 has no cap."""

from __future__ import annotations

import pytest

from app.points import counted_by_entry, default_rule_set

CASES = [
    # (id, entries (id, code, signed points) oldest first, id → what counts)
    ("under the cap", [(1, "P01", 2), (2, "P01", 2)], {1: 2, 2: 2}),
    ("the fourth reaches 8, the fifth adds nothing",
     [(1, "P01", 2), (2, "P01", 2), (3, "P01", 2), (4, "P01", 2), (5, "P01", 2)],
     {1: 2, 2: 2, 3: 2, 4: 2, 5: 0}),
    ("a quantity of 3 (6) then 2 (4): the second counts 2 of its 4",
     [(1, "P01", 6), (2, "P01", 4), (3, "P01", 2)], {1: 6, 2: 2, 3: 0}),
    ("bonus capped at 10", [(1, "B01", 5), (2, "B01", 4), (3, "B01", 3)],
     {1: 5, 2: 4, 3: 1}),
    ("items capped apart", [(1, "P01", 8), (2, "B01", 5), (3, "P01", 2)],
     {1: 8, 2: 5, 3: 0}),
    ("no cap: left out", [(1, "N01", -2), (2, "N01", -2)], {}),
    ("an unknown code: left out", [(1, "Z99", 3)], {}),
]


@pytest.mark.parametrize(("entries", "counted"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_what_each_entry_adds_under_the_cap(entries: list[tuple[int, str, int]],
                                            counted: dict[int, int]) -> None:
    assert counted_by_entry(default_rule_set(2026), entries) == counted
