"""Ids typed or sent in committee forms: every id the API accepts, nothing else."""

from __future__ import annotations

import pytest

from app.schemas import MAX_ID
from app.web.committee_common import parse_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1), (" 42 ", 42), ("2147483648", 2**31), (str(MAX_ID), MAX_ID),
        (None, None), ("", None), ("0", None), ("-5", None), ("1.5", None), ("1e3", None),
        (str(MAX_ID + 1), None), ("9" * 400, None), ("12a", None),
    ],
)
def test_parse_id(text: str | None, expected: int | None) -> None:
    assert parse_id(text) == expected
